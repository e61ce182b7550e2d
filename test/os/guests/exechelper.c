/* Started by exec.c through execve: prints what it was given. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  printf("helper: argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("helper: argv[%d] = %s\n", i, argv[i]);
  for (char **e = environ; *e; e++) printf("helper: env %s\n", *e);
  printf("helper: fd 5 open %d, fd 6 open %d\n", fcntl(5, F_GETFD) >= 0, fcntl(6, F_GETFD) >= 0);
  char buf[16] = {0};
  if (fcntl(5, F_GETFD) >= 0) {
    read(5, buf, sizeof buf - 1);
    printf("helper: read from inherited pipe: %s\n", buf);
  }
  fflush(stdout);
  return 17;
}
