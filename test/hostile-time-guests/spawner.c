/* Thread and process limits (#16): creates threads, then processes, until clone/fork fails, and
 * reports how many it got and the error; then creates and joins threads one at a time (a finished
 * thread must give its slot back). Usage: spawner SEQUENTIAL_THREADS */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX = 100000 };
static pthread_t th[MAX];
static pid_t kids[MAX];
static int gate[2];

static void *blocked(void *arg) {
  char c;
  (void)arg;
  read(gate[0], &c, 1); /* until the main thread closes the write end */
  return NULL;
}

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv) {
  int sequential = argc > 1 ? atoi(argv[1]) : 100;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 65536);
  setvbuf(stdout, NULL, _IONBF, 0);
  pipe(gate);
  struct rlimit rl;
  getrlimit(RLIMIT_NPROC, &rl);
  printf("RLIMIT_NPROC %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
  int n = 0, err = 0;
  while (n < MAX && (err = pthread_create(&th[n], &attr, blocked, NULL)) == 0) n++;
  printf("threads: %d, then %s\n", n, strerror(err));
  close(gate[1]);
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);

  int p = 0;
  for (; p < MAX; p++) {
    pid_t c = fork();
    if (c == 0) {
      pause();
      _exit(0);
    }
    if (c < 0) {
      err = errno;
      break;
    }
    kids[p] = c;
  }
  printf("processes: %d, then %s\n", p, strerror(err));
  for (int i = 0; i < p; i++) kill(kids[i], SIGKILL);
  int reaped = 0;
  while (wait(NULL) > 0) reaped++;
  printf("reaped %d\n", reaped);

  int ok = 0;
  for (int i = 0; i < sequential; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, nothing, NULL) != 0) break;
    pthread_join(t, NULL);
    ok++;
  }
  printf("sequential threads: %d of %d\n", ok, sequential);

  /* A lower soft limit binds too (the count includes this thread). */
  rl.rlim_cur = 4;
  printf("setrlimit NPROC 4: %d\n", setrlimit(RLIMIT_NPROC, &rl));
  gate[0] = -1;
  pipe(gate);
  for (n = 0; n < MAX && (err = pthread_create(&th[n], &attr, blocked, NULL)) == 0; n++) {}
  printf("threads under 4: %d, then %s\n", n, strerror(err));
  close(gate[1]);
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  return 0;
}
