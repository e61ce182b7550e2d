/* A pipeline of three processes over pipes with dup2, like `gen | upper | count` (vs qemu-i386). */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void gen(void) {
  for (int i = 0; i < 3000; i++) printf("line %d of the quick brown fox\n", i);
  fflush(stdout);
}

static void upper(void) {
  char buf[777];
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) buf[i] = toupper((unsigned char)buf[i]);
    for (ssize_t o = 0; o < n;) o += write(1, buf + o, n - o);
  }
}

static void count(void) {
  char buf[4096];
  ssize_t n;
  long bytes = 0, lines = 0;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    bytes += n;
    for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') lines++;
  }
  printf("bytes %ld lines %ld\n", bytes, lines);
}

int main(void) {
  int a[2], b[2];
  if (pipe(a) || pipe(b)) { perror("pipe"); return 1; }
  pid_t p1 = fork();
  if (p1 == 0) { dup2(a[1], 1); close(a[0]); close(a[1]); close(b[0]); close(b[1]); gen(); _exit(0); }
  pid_t p2 = fork();
  if (p2 == 0) { dup2(a[0], 0); dup2(b[1], 1); close(a[0]); close(a[1]); close(b[0]); close(b[1]); upper(); _exit(0); }
  pid_t p3 = fork();
  if (p3 == 0) { dup2(b[0], 0); close(a[0]); close(a[1]); close(b[0]); close(b[1]); count(); fflush(stdout); _exit(0); }
  close(a[0]); close(a[1]); close(b[0]); close(b[1]);
  int st, done = 0;
  for (int i = 0; i < 3; i++) if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) done++;
  printf("%d children ok\n", done);

  /* EOF, EPIPE and SIGPIPE. */
  int c[2];
  pipe(c);
  close(c[1]);
  char x;
  printf("read at eof %zd\n", read(c[0], &x, 1));
  close(c[0]);
  pipe(c);
  close(c[0]);
  /* No reader: SIGPIPE's default action ends the writer. */
  pid_t k = fork();
  if (k == 0) { write(c[1], "x", 1); _exit(0); }
  waitpid(k, &st, 0);
  printf("child killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return 0;
}
