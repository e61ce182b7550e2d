/* Default actions, one per run (argv[1]): the process ends with the signal's status, or the signal is
 * ignored and the program carries on. */
#include "common.h"
#include <pthread.h>

static void on_once(int sig) { printf("handled %d once\n", sig); }

static void *spin(void *arg) {
  (void)arg;
  for (;;) sched_yield();
  return 0;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "";
  printf("mode %s\n", m);
  fflush(stdout);
  if (!strcmp(m, "term")) raise(SIGTERM);
  if (!strcmp(m, "abort")) abort();
  if (!strcmp(m, "rt")) raise(SIGRTMIN + 2);
  if (!strcmp(m, "alarm")) {
    alarm(1);
    for (;;) pause();
  }
  if (!strcmp(m, "unblock")) {
    block(SIG_BLOCK, SIGUSR2);
    raise(SIGUSR2);
    printf("still alive while blocked\n");
    fflush(stdout);
    block(SIG_UNBLOCK, SIGUSR2);
  }
  if (!strcmp(m, "resethand")) {
    install(SIGUSR1, on_once, SA_RESETHAND, 0);
    raise(SIGUSR1);
    fflush(stdout);
    raise(SIGUSR1);
  }
  if (!strcmp(m, "ignored")) {
    raise(SIGCHLD);
    raise(SIGURG);
    raise(SIGWINCH);
    signal(SIGTERM, SIG_IGN);
    raise(SIGTERM);
    kill(getpid(), SIGCONT);
    printf("all ignored\n");
    return 3;
  }
  if (!strcmp(m, "thread-kill")) {
    pthread_t th;
    pthread_create(&th, 0, spin, 0);
    /* SIGKILL sent to one thread ends the whole process. */
    pthread_kill(th, SIGKILL);
    for (;;) sched_yield();
  }
  if (!strcmp(m, "thread-segv")) {
    /* A fault in the main thread kills the whole process, other threads included. */
    pthread_t th;
    pthread_create(&th, 0, spin, 0);
    *(volatile int *)8 = 0;
  }
  printf("not killed\n");
  return 0;
}
