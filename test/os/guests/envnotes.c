/* Prints its environment, tries a host file outside the readable directories twice and one
   unimplemented syscall (the end-of-run notes name them). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

extern char **environ;

int main(void) {
  for (char **e = environ; *e; e++) printf("env %s\n", *e);
  int a = open("/etc/hostname", O_RDONLY);
  int b = open("/etc/hostname", O_RDONLY);
  int c = open("/etc/passwd", O_RDONLY);
  printf("opens %d %d %d\n", a >= 0, b >= 0, c >= 0);
  long r = syscall(SYS_acct, 0);
  printf("acct %ld\n", r);
  return 0;
}
