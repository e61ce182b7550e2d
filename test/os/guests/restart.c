/* Issue 12 item "no -512 (ERESTARTSYS) reaches the guest": a process-wide SIGALRM (SA_RESTART)
 * interrupts the main thread's blocking pipe read, while a second thread keeps returning to user
 * mode. Whichever thread runs the handler, the read is restarted and returns the byte written later;
 * the interrupted call's restart code must never be its result. Recorded with a kprobe on the `ret`
 * after glibc's `int $0x80` (where the interrupted call returns to), the guest sees the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int got;
static int p[2];

static void on_alrm(int s) {
  (void)s;
  got++;
}

static void *spin(void *a) {
  (void)a;
  while (!got) sched_yield();
  struct timespec ts = {0, 10000000};
  nanosleep(&ts, 0);
  write(p[1], "z", 1);
  return 0;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, 0);
  pipe(p);
  pthread_t th;
  pthread_create(&th, 0, spin, 0);
  /* Soon: the other thread spins (yielding) until the handler has run. */
  struct itimerval it = {{0, 0}, {0, 5000}};
  setitimer(ITIMER_REAL, &it, 0);
  char b = 0;
  errno = 0;
  int r = read(p[0], &b, 1);
  printf("read %d errno %d handled %d byte %c\n", r, errno, got, b ? b : '-');
  pthread_join(th, 0);
  return 0;
}
