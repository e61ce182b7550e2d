/* Issue 12 item "missing syscalls": sendfile/sendfile64 (with and without an offset, into a pipe and
 * a file, Linux's errors), signalfd4/signalfd (records for kill, sigqueue, tgkill and SIGCHLD, mask
 * updates, several records per read, a blocking read woken by another process, poll), unshare and
 * ptrace as an unprivileged caller gets them, and restart_syscall with nothing to restart. Lines
 * with "L:" are where qemu (run as root, and without ptrace) differs from an unprivileged Linux
 * caller; the test checks them against Linux's values. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Prints a call's result and errno; L_SHOW marks the line as Linux's value where qemu differs. */
#define SHOW_(prefix, what, expr)                                                                                      \
  do {                                                                                                                 \
    errno = 0;                                                                                                         \
    long r_ = (long)(expr);                                                                                            \
    printf("%s%s: %ld errno %d\n", prefix, what, r_, r_ < 0 ? errno : 0);                                              \
  } while (0)
#define SHOW(what, expr) SHOW_("", what, expr)
#define L_SHOW(what, expr) SHOW_("L: ", what, expr)

static void drain(int fd, const char *what) {
  char b[64];
  int n = read(fd, b, sizeof b);
  printf("  %s: %.*s\n", what, n > 0 ? n : 0, b);
}

static void sendfiles(void) {
  char path[64], path2[64];
  snprintf(path, sizeof path, "/tmp/probelab-sf-%d", getpid());
  snprintf(path2, sizeof path2, "/tmp/probelab-sf2-%d", getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(fd, "0123456789abcdef", 16);
  lseek(fd, 0, SEEK_SET);
  int p[2];
  pipe(p);
  SHOW("sendfile 10 from the position", sendfile(p[1], fd, NULL, 10));
  drain(p[0], "pipe got");
  SHOW("  position now", lseek(fd, 0, SEEK_CUR));
  off_t off = 4;
  SHOW("sendfile from offset 4, count 100", sendfile(p[1], fd, &off, 100));
  drain(p[0], "pipe got");
  printf("  offset now %ld, position still %ld\n", (long)off, (long)lseek(fd, 0, SEEK_CUR));
  off64_t off64 = 2;
  SHOW("sendfile64 from offset 2, count 3", sendfile64(p[1], fd, &off64, 3));
  drain(p[0], "pipe got");
  printf("  offset64 now %lld\n", (long long)off64);
  off = 16;
  SHOW("sendfile at the end", sendfile(p[1], fd, &off, 5));
  SHOW("sendfile count 0", sendfile(p[1], fd, NULL, 0));
  int out = open(path2, O_RDWR | O_CREAT | O_TRUNC, 0600);
  off = 10;
  SHOW("sendfile into a file", sendfile(out, fd, &off, 6));
  lseek(out, 0, SEEK_SET);
  drain(out, "file got");
  close(out);
  out = open(path2, O_WRONLY | O_APPEND);
  SHOW("sendfile to O_APPEND", sendfile(out, fd, NULL, 1));
  close(out);
  SHOW("sendfile from a bad fd", sendfile(p[1], 99, NULL, 1));
  SHOW("sendfile to a read-only fd", sendfile(p[0], fd, NULL, 1));
  int wo = open(path, O_WRONLY);
  SHOW("sendfile from a write-only fd", sendfile(p[1], wo, NULL, 1));
  close(wo);
  int sp[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
  write(sp[1], "xy", 2);
  SHOW("sendfile from a socket", sendfile(p[1], sp[0], NULL, 2));
  close(sp[0]);
  close(sp[1]);
  close(fd);
  close(p[0]);
  close(p[1]);
  unlink(path);
  unlink(path2);
}

static void show_rec(const char *what, struct signalfd_siginfo *s, pid_t pid) {
  printf("  %s: signo %u code %d pid ok %d uid ok %d status %d int %d\n", what, s->ssi_signo, s->ssi_code,
         (pid_t)s->ssi_pid == pid, s->ssi_uid == getuid(), s->ssi_status, s->ssi_int);
}

static void signalfds(void) {
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGUSR2);
  sigaddset(&m, SIGCHLD);
  sigprocmask(SIG_BLOCK, &m, 0);
  sigset_t want;
  sigemptyset(&want);
  sigaddset(&want, SIGUSR1);
  sigaddset(&want, SIGCHLD);
  int sfd = signalfd(-1, &want, SFD_NONBLOCK | SFD_CLOEXEC);
  printf("signalfd created %d cloexec %d nonblock %d\n", sfd >= 0, fcntl(sfd, F_GETFD), !!(fcntl(sfd, F_GETFL) & O_NONBLOCK));
  struct signalfd_siginfo rec[4];
  SHOW("read with nothing pending", read(sfd, rec, sizeof rec));
  SHOW("read of 64 bytes", read(sfd, rec, 64));
  struct pollfd pf = {sfd, POLLIN, 0};
  SHOW("poll with nothing pending", poll(&pf, 1, 0));
  kill(getpid(), SIGUSR1);
  pf.revents = 0;
  SHOW("poll after kill", poll(&pf, 1, 0));
  printf("  revents %#x\n", pf.revents);
  SHOW("read after kill", read(sfd, rec, sizeof rec));
  show_rec("kill", &rec[0], getpid());
  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGUSR1, v);
  SHOW("read after sigqueue", read(sfd, rec, sizeof rec));
  show_rec("sigqueue", &rec[0], getpid());
  raise(SIGUSR2);
  SHOW("read with only SIGUSR2 pending", read(sfd, rec, sizeof rec));
  sigset_t pend;
  sigpending(&pend);
  printf("  SIGUSR2 still pending %d\n", sigismember(&pend, SIGUSR2));
  sigaddset(&want, SIGUSR2);
  SHOW("signalfd mask update returns the same fd", signalfd(sfd, &want, 0) == sfd);
  kill(getpid(), SIGUSR1);
  SHOW("read two records", read(sfd, rec, sizeof rec));
  show_rec("first", &rec[0], getpid());
  show_rec("second", &rec[1], getpid());
  /* fs/signalfd.c: a sigset size other than 8 is EINVAL (qemu does not check it). */
  L_SHOW("signalfd with size 4", syscall(SYS_signalfd4, -1, &want, 4, 0));
  SHOW("signalfd on stdin", signalfd(0, &want, 0));
  SHOW("signalfd on a bad fd", signalfd(99, &want, 0));
  SHOW("signalfd4 bad flags", syscall(SYS_signalfd4, -1, &want, 8, 1));

  /* A blocking signalfd: SIGCHLD from a child's exit, then SIGUSR1 from another process. */
  int bfd = signalfd(-1, &want, 0);
  pid_t c = fork();
  if (c == 0) _exit(7);
  SHOW("blocking read: child exit", read(bfd, rec, sizeof rec));
  show_rec("SIGCHLD", &rec[0], c);
  waitpid(c, 0, 0);
  pid_t me = getpid();
  c = fork();
  if (c == 0) {
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, 0);
    kill(me, SIGUSR1);
    _exit(0);
  }
  SHOW("blocking read: kill from a child", read(bfd, rec, sizeof rec[0]));
  show_rec("SIGUSR1", &rec[0], c);
  waitpid(c, 0, 0);
  read(sfd, rec, sizeof rec); /* the second child's SIGCHLD */
  close(bfd);
  close(sfd);
  sigprocmask(SIG_UNBLOCK, &m, 0);
}

static void privileged(void) {
  SHOW("unshare(0)", unshare(0));
  SHOW("unshare(CLONE_FILES)", unshare(CLONE_FILES));
  SHOW("unshare(bad flag)", unshare(1));
  /* kernel/nsproxy.c unshare_nsproxy_namespaces: a new namespace needs CAP_SYS_ADMIN (EPERM). */
  L_SHOW("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
  L_SHOW("unshare(CLONE_NEWNET)", unshare(CLONE_NEWNET));
  /* Without unprivileged user namespaces (kernel.unprivileged_userns_clone=0 or a policy), EPERM. */
  L_SHOW("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
  /* security/yama (ptrace_scope 3): nobody may trace, TRACEME and ATTACH are EPERM; requests on a
   * process the caller does not trace are ESRCH (kernel/ptrace.c ptrace_check_attach). */
  L_SHOW("ptrace(PTRACE_TRACEME)", ptrace(PTRACE_TRACEME, 0, 0, 0));
  pid_t c = fork();
  if (c == 0) {
    pause();
    _exit(0);
  }
  L_SHOW("ptrace(PTRACE_ATTACH, child)", ptrace(PTRACE_ATTACH, c, 0, 0));
  L_SHOW("ptrace(PTRACE_PEEKDATA, child)", syscall(SYS_ptrace, PTRACE_PEEKDATA, c, 0x08048000, 0));
  L_SHOW("ptrace(PTRACE_ATTACH, no such pid)", ptrace(PTRACE_ATTACH, 99999, 0, 0));
  kill(c, SIGKILL);
  waitpid(c, 0, 0);
  /* kernel/signal.c do_no_restart_syscall: with no interrupted sleep to resume, EINTR. */
  L_SHOW("restart_syscall with nothing to restart", syscall(SYS_restart_syscall));
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  printf("== sendfile\n");
  sendfiles();
  printf("== signalfd\n");
  signalfds();
  printf("== privileged calls\n");
  privileged();
  return 0;
}
