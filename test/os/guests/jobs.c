/* Issue 12 items "SIGCHLD and wait for stopped/continued children" and "status words exactly as
 * Linux": a parent sees its child stop and continue through wait4/waitpid (WUNTRACED, WCONTINUED),
 * waitid (WSTOPPED, WCONTINUED, WNOWAIT) and SIGCHLD (CLD_STOPPED, CLD_CONTINUED; none with
 * SA_NOCLDSTOP); each state change is reported once. Then the status words of children killed by
 * signals whose default action dumps core (abort, SIGSEGV, SIGQUIT): no core file is written (the
 * test runs qemu under `ulimit -c 0`; the emulator never writes one), so no 0x80 bit and CLD_KILLED,
 * not CLD_DUMPED. Then a nanosleep stopped and continued goes on sleeping (restart_syscall). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int chld_count, chld_code, chld_status, chld_pid;

static void on_chld(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  chld_count++;
  chld_code = si->si_code;
  chld_status = si->si_status;
  chld_pid = si->si_pid;
}

static void install_chld(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, 0);
}

/* SIGCHLD is blocked outside this: waits for the next one, then prints what it carried. */
static void await_chld(const char *what, pid_t child) {
  sigset_t none;
  sigemptyset(&none);
  int before = chld_count;
  while (chld_count == before) sigsuspend(&none);
  printf("  SIGCHLD after %s: code %d status %d pid ok %d\n", what, chld_code, chld_status, chld_pid == child);
}

static int pending_chld(void) {
  sigset_t p;
  sigpending(&p);
  return sigismember(&p, SIGCHLD);
}

static void show(const char *what, pid_t child, pid_t got, int st) {
  printf("%s: pid ok %d status 0x%04x exited %d signaled %d stopped %d continued %d sig %d core %d\n", what,
         got == child, st, WIFEXITED(st), WIFSIGNALED(st), WIFSTOPPED(st), WIFCONTINUED(st),
         WIFSIGNALED(st) ? WTERMSIG(st) : WIFSTOPPED(st) ? WSTOPSIG(st) : -1, WIFSIGNALED(st) ? WCOREDUMP(st) : -1);
}

static void showinfo(const char *what, int r, siginfo_t *si, pid_t child) {
  printf("%s: r %d signo %d code %d status %d pid ok %d\n", what, r, si->si_signo, si->si_code, si->si_status,
         si->si_pid == child);
}

static pid_t sleeper(void) {
  pid_t c = fork();
  if (c == 0) {
    setpgid(0, 0); /* its own group, whose parent is in another: stop signals from a tty set apply */
    for (;;) pause();
  }
  setpgid(c, c);
  return c;
}

static void stop_continue(void) {
  int st;
  siginfo_t si;
  pid_t c = sleeper();
  kill(c, SIGSTOP);
  pid_t w = waitpid(c, &st, WUNTRACED);
  show("waitpid WUNTRACED after SIGSTOP", c, w, st);
  await_chld("SIGSTOP", c);
  printf("reported once: waitpid WUNTRACED|WNOHANG = %d\n", waitpid(c, &st, WUNTRACED | WNOHANG));
  printf("no WUNTRACED: waitpid WNOHANG = %d\n", waitpid(c, &st, WNOHANG));
  kill(c, SIGCONT);
  w = waitpid(c, &st, WCONTINUED);
  show("waitpid WCONTINUED after SIGCONT", c, w, st);
  await_chld("SIGCONT", c);
  printf("reported once: waitpid WCONTINUED|WNOHANG = %d\n", waitpid(c, &st, WCONTINUED | WNOHANG));

  kill(c, SIGTSTP);
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, c, &si, WSTOPPED | WNOWAIT);
  showinfo("waitid WSTOPPED|WNOWAIT after SIGTSTP", r, &si, c);
  await_chld("SIGTSTP", c);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, c, &si, WSTOPPED);
  showinfo("waitid WSTOPPED again", r, &si, c);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, c, &si, WSTOPPED | WNOHANG);
  showinfo("waitid WSTOPPED|WNOHANG then", r, &si, 0);
  kill(c, SIGCONT);
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WCONTINUED);
  showinfo("waitid WCONTINUED", r, &si, c);
  await_chld("second SIGCONT", c);
  /* SIGCONT to a running child: nothing to report. */
  kill(c, SIGCONT);
  printf("SIGCONT to a running child: waitpid WCONTINUED|WNOHANG = %d\n", waitpid(c, &st, WCONTINUED | WNOHANG));
  errno = 0;
  r = waitid(P_PID, c, &si, WNOHANG);
  printf("waitid without a state: %d errno %d\n", r, errno);

  /* SA_NOCLDSTOP: stops and continues queue no SIGCHLD, wait still reports them; the death does.
   * qemu-user 7.2 does not pass SA_NOCLDSTOP to the host and queues the SIGCHLD anyway, so these lines
   * are "L:" (Linux kernel/signal.c do_notify_parent_cldstop: no SIGCHLD when the parent's action has
   * SA_NOCLDSTOP, but __wake_up_parent still wakes its wait). */
  install_chld(SA_NOCLDSTOP);
  kill(c, SIGSTOP);
  w = waitpid(c, &st, WUNTRACED);
  show("SA_NOCLDSTOP: stopped", c, w, st);
  kill(c, SIGCONT);
  w = waitpid(c, &st, WCONTINUED);
  show("SA_NOCLDSTOP: continued", c, w, st);
  printf("L: SA_NOCLDSTOP: SIGCHLD pending %d\n", pending_chld());
  kill(c, SIGSTOP);
  w = waitpid(c, &st, WUNTRACED);
  kill(c, SIGKILL); /* a stopped child still dies of SIGKILL */
  w = waitpid(c, &st, 0);
  show("killed while stopped", c, w, st);
  sigset_t none;
  sigemptyset(&none);
  int before = chld_count;
  while (chld_count == before) sigsuspend(&none);
  printf("L: SIGCHLD after SIGKILL: code %d status %d\n", chld_code, chld_status);
  install_chld(0);
}

static void self_stop(void) {
  int st;
  pid_t c = fork();
  if (c == 0) {
    raise(SIGSTOP);
    printf("  child resumed\n");
    fflush(stdout);
    _exit(4);
  }
  pid_t w = waitpid(c, &st, WUNTRACED);
  show("child stopped itself", c, w, st);
  await_chld("raise(SIGSTOP)", c);
  kill(c, SIGCONT);
  /* Without WCONTINUED, wait goes straight to the exit. */
  w = waitpid(c, &st, 0);
  show("then exited", c, w, st);
  await_chld("exit", c);
}

static void core_bits(void) {
  int st;
  static const int sigs[] = {SIGABRT, SIGSEGV, SIGQUIT, SIGTERM};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    pid_t c = fork();
    if (c == 0) {
      if (sigs[i] == SIGABRT) abort();
      if (sigs[i] == SIGSEGV) *(volatile int *)0 = 1;
      kill(getpid(), sigs[i]);
      _exit(1);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    showinfo("  waitid", r, &si, c);
    pid_t w = waitpid(c, &st, 0);
    show(strsignal(sigs[i]), c, w, st);
    await_chld("death", c);
  }
}

static void sleep_through_stop(void) {
  int fds[2], st;
  pipe(fds);
  pid_t c = fork();
  if (c == 0) {
    struct timespec req = {0, 300000000}, rem = {7, 7};
    write(fds[1], "x", 1);
    errno = 0;
    int r = nanosleep(&req, &rem);
    printf("  nanosleep after stop and continue: %d errno %d rem %ld.%09ld\n", r, errno, (long)rem.tv_sec,
           rem.tv_nsec);
    errno = 0;
    req.tv_nsec = 200000000;
    write(fds[1], "y", 1);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    printf("  clock_nanosleep after stop and continue: %d\n", r);
    fflush(stdout);
    _exit(0);
  }
  char b;
  for (int i = 0; i < 2; i++) {
    read(fds[0], &b, 1);
    /* The child is in (or about to enter) its sleep. */
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    await_chld("stop in sleep", c);
    kill(c, SIGCONT);
    await_chld("continue in sleep", c);
  }
  pid_t w = waitpid(c, &st, 0);
  show("sleeper", c, w, st);
  await_chld("sleeper exit", c);
}

int main(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, 0);
  install_chld(0);
  setvbuf(stdout, 0, _IONBF, 0);
  printf("== stop and continue\n");
  stop_continue();
  printf("== a child stops itself\n");
  self_stop();
  printf("== status words of signals that dump core\n");
  core_bits();
  printf("== a sleep stopped and continued\n");
  sleep_through_stop();
  return 0;
}
