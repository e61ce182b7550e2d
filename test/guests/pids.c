/* #12 tasks view: each process prints its pid and parent pid (getpid/getppid), a child forks a
 * grandchild, and the parent waits for both; a thread-free program so every task is a process. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void say(const char *who) {
  printf("%s pid %d ppid %d\n", who, (int)getpid(), (int)getppid());
  fflush(stdout);
}

int main(void) {
  say("parent");
  pid_t c = fork();
  if (c == 0) {
    say("child");
    pid_t g = fork();
    if (g == 0) {
      say("grandchild");
      _exit(0);
    }
    waitpid(g, NULL, 0);
    _exit(0);
  }
  waitpid(c, NULL, 0);
  return 0;
}
