/*
 * forks.c - a small forking guest for the per-process report tests (#12). argv[1] becomes the
 * processes' name (prctl PR_SET_NAME, so a test can give a hostile one); argv[2] is the number of
 * children. Child i (1-based) calls work() with recursion depth i, i + 2 times, so each process has
 * its own call count, latencies and nesting; the parent calls work(0) once before and once after
 * waiting for them. The last child then prints "exec PID" and execs this file again with no
 * children (its process keeps its pid and runs work(0) twice more). tick() is a plain kprobe target
 * called once per work() call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int sink;

__attribute__((noinline)) void tick(int v) { sink += v; }

__attribute__((noinline)) int work(int depth) {
  tick(depth);
  for (int i = 0; i < 200 * (depth + 1); i++) sink += i;
  return depth > 0 ? work(depth - 1) + 1 : 0;
}

int main(int argc, char **argv) {
  if (argc > 1) prctl(PR_SET_NAME, argv[1], 0, 0, 0);
  int n = argc > 2 ? atoi(argv[2]) : 3;
  work(0);
  for (int i = 1; i <= n; i++) {
    if (fork() == 0) {
      for (int k = 0; k < i + 2; k++) work(i);
      if (i == n) {
        printf("exec %d\n", (int)getpid());
        fflush(stdout);
        char *av[] = {argv[0], argv[1], "0", 0};
        execv(argv[0], av);
        _exit(127);
      }
      _exit(0);
    }
  }
  while (wait(NULL) > 0) {
  }
  work(0);
  return 0;
}
