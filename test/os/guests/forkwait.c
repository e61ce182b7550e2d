/* fork, exit statuses and wait: the status words a parent sees (compared with qemu-i386). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, pid_t child, pid_t got, int st) {
  printf("%s: same pid %d status 0x%04x exited %d code %d signaled %d sig %d\n", what, got == child, st,
         WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

int main(void) {
  int st, r;
  pid_t me = getpid();
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    printf("child: ppid is parent %d\n", getppid() == me);
    fflush(stdout);
    _exit(3);
  }
  pid_t w = waitpid(c, &st, 0);
  show("exit 3", c, w, st);

  c = fork();
  if (c == 0) { for (;;) pause(); }
  printf("wnohang while running %d\n", waitpid(c, &st, WNOHANG));
  kill(c, SIGKILL);
  w = waitpid(c, &st, 0);
  show("killed", c, w, st);

  c = fork();
  if (c == 0) { volatile int *p = 0; *p = 1; _exit(0); }
  w = wait(&st);
  show("segv", c, w, st);

  c = fork();
  if (c == 0) { kill(getpid(), SIGTERM); _exit(9); }
  w = wait4(-1, &st, 0, NULL);
  show("sigterm self", c, w, st);

  /* Many children: reaped one by one, each status seen once. */
  int sum = 0;
  for (int i = 0; i < 5; i++) if (fork() == 0) _exit(10 + i);
  for (int i = 0; i < 5; i++) { w = wait(&st); sum += WEXITSTATUS(st); }
  printf("five children sum %d\n", sum);
  errno = 0;
  r = wait(&st);
  printf("no children: %d errno %d\n", r, errno);

  /* waitid: siginfo fields */
  c = fork();
  if (c == 0) _exit(42);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, c, &si, WEXITED);
  printf("waitid %d signo %d code %d pid %d status %d\n", r, si.si_signo, si.si_code, si.si_pid == c, si.si_status);

  /* Memory is copied, not shared. */
  static int shared = 1;
  c = fork();
  if (c == 0) { shared = 99; _exit(shared); }
  waitpid(c, &st, 0);
  printf("child saw %d parent still %d\n", WEXITSTATUS(st), shared);

  /* vfork: the parent resumes after the child exits. (Whether the child's writes show in the
     parent is not compared: qemu-user implements vfork as fork.) */
  c = vfork();
  if (c == 0) _exit(7);
  waitpid(c, &st, 0);
  printf("vfork code %d\n", WEXITSTATUS(st));
  return 5;
}
