/* Issue 12, this round's item 4: threads that spin on sched_yield. The main thread yields until a
 * 4 ms ITIMER_REAL fires; a second thread yields until a third, sleeping 0.2 ms, sets a flag. With
 * nothing else queued a yield now goes on in the same slice (it used to leave the slice every
 * time): the output and the recorded schedule must be what they were, and replay identical. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile int fired, flag;
static void on_alarm(int s) {
  (void)s;
  fired = 1;
}
static void *sleeper(void *a) {
  (void)a;
  struct timespec ts = {0, 200000};
  nanosleep(&ts, NULL);
  flag = 1;
  return NULL;
}
static void *yielder(void *a) {
  (void)a;
  while (!flag) sched_yield();
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  pthread_t s, y;
  pthread_create(&s, NULL, sleeper, NULL);
  pthread_create(&y, NULL, yielder, NULL);
  struct itimerval it = {{0, 0}, {0, 4000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (!fired) sched_yield();
  pthread_join(s, NULL);
  pthread_join(y, NULL);
  printf("yielded until the timer: %d, flag seen: %d\n", fired, flag);
  return 0;
}
