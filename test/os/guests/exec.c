/* execve: argv/envp passing, close-on-exec, errors, #! scripts, exit status through wait.
   Usage: exec HELPER DYNAMIC SCRIPT DIR TEXTFILE NOEXEC */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *path, char *const argv[], char *const envp[]) {
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    execve(path, argv, envp);
    printf("exec failed: errno %d (%s)\n", errno, strerror(errno));
    fflush(stdout);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
  if (argc < 7) return 2;
  const char *helper = argv[1], *dynamic = argv[2], *script = argv[3], *dir = argv[4], *text = argv[5];
  const char *noexec = argv[6];
  int p[2];
  pipe(p);
  write(p[1], "through exec", 12);
  dup2(p[0], 5);
  dup2(p[0], 6);
  fcntl(6, F_SETFD, FD_CLOEXEC);
  char *hargv[] = {"helper", "one", "two words", "", NULL};
  char *henv[] = {"A=1", "PATH=/nowhere", NULL};
  printf("status %d\n", run(helper, hargv, henv));
  close(5);
  close(6);
  char *none[] = {"x", NULL};
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/missing", dir);
  printf("status %d\n", run(missing, none, henv));
  printf("status %d\n", run(dir, none, henv));
  printf("status %d\n", run(text, none, henv));
  printf("status %d\n", run(dynamic, none, henv));
  printf("status %d\n", run(noexec, none, henv));
  char *sargv[] = {"script", "arg1", NULL};
  printf("status %d\n", run(script, sargv, henv));
  /* vfork + exec, as posix_spawn does. */
  fflush(stdout);
  pid_t c = vfork();
  if (c == 0) {
    char *vargv[] = {"helper", "via vfork", NULL};
    execve(helper, vargv, henv);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  printf("vfork+exec status %d\n", WEXITSTATUS(st));
  return 0;
}
