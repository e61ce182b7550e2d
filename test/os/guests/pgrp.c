/* Process groups and sessions (vs qemu-i386). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t me = getpid();
  /* (Whether the first process leads a group or session depends on who started it: not compared.) */
  int r;
  errno = 0;
  r = getpgid(999999);
  printf("getpgid(nonexistent) %d errno %d\n", r, errno);
  printf("getpgrp is getpgid(0) %d\n", getpgrp() == getpgid(0));
  fflush(stdout);
  int p[2];
  pipe(p);
  pid_t c = fork();
  if (c == 0) {
    char go;
    read(p[0], &go, 1);
    printf("child: in new group %d, session same %d\n", getpgrp() == getpid(), getsid(0) == getsid(me));
    pid_t s = setsid();
    pid_t sid = getsid(0), grp = getpgrp();
    printf("child: setsid gave own pid %d sid %d pgrp %d\n", s == getpid(), sid == getpid(), grp == getpid());
    errno = 0;
    r = setsid();
    printf("child: setsid again %d errno %d\n", r, errno);
    fflush(stdout);
    _exit(0);
  }
  r = setpgid(c, 0);
  printf("setpgid(child, 0) %d\n", r);
  printf("child's group is its pid %d\n", getpgid(c) == c);
  write(p[1], "g", 1);
  int st;
  waitpid(c, &st, 0);

  /* kill(-pgid) reaches every member of a group and nobody else. */
  fflush(stdout);
  pid_t g1 = fork();
  if (g1 == 0) { setpgid(0, 0); for (;;) pause(); }
  setpgid(g1, g1);
  pid_t g2 = fork();
  if (g2 == 0) { for (;;) pause(); }
  setpgid(g2, g1);
  pid_t other = fork();
  if (other == 0) { usleep(100000); _exit(11); }
  fflush(stdout);
  r = kill(-g1, SIGTERM);
  printf("kill group %d\n", r);
  int killed = 0;
  for (int i = 0; i < 3; i++) {
    pid_t w = wait(&st);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM && (w == g1 || w == g2)) killed++;
    if (w == other) printf("other exited %d\n", WEXITSTATUS(st));
  }
  printf("killed in group %d\n", killed);
  errno = 0;
  r = kill(-999999, SIGTERM);
  printf("kill(-999999) %d errno %d\n", r, errno);
  fflush(stdout);
  /* A group leader cannot start a session. */
  c = fork();
  if (c == 0) {
    setpgid(0, 0);
    errno = 0;
    r = setsid();
    printf("setsid as group leader %d errno %d\n", r, errno);
    fflush(stdout);
    _exit(0);
  }
  waitpid(c, &st, 0);
  return 0;
}
