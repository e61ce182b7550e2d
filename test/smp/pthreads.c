/* Static glibc pthreads exercise for the SMP machine: every primitive the issue lists, with output
 * that does not depend on the interleaving (sums, counts, a final ordered report). */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define T 6
#define N 2000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static pthread_spinlock_t spin;
static sem_t sem;
static long counter, spun, produced, consumed;
static int queue[64], qhead, qtail, done_producers;
static __thread long tls_sum;
static long tls_report[T];

static void *worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < N; i++) {
    pthread_mutex_lock(&mu);
    counter += i % 7;
    pthread_mutex_unlock(&mu);
    pthread_spin_lock(&spin);
    spun++;
    pthread_spin_unlock(&spin);
    tls_sum += id;
  }
  tls_report[id] = tls_sum;
  pthread_barrier_wait(&bar);
  sem_post(&sem);
  return (void *)(id * 10);
}

static void *producer(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&mu);
    while ((qtail + 1) % 64 == qhead) pthread_cond_wait(&cv, &mu);
    queue[qtail] = (int)(id * 1000 + i);
    qtail = (qtail + 1) % 64;
    produced++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (i % 50 == 0) {
      struct timespec ts = {0, 1000};
      nanosleep(&ts, 0);
    }
  }
  pthread_mutex_lock(&mu);
  done_producers++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return 0;
}

static void *consumer(void *arg) {
  long sum = 0;
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (qhead == qtail && done_producers < 2) pthread_cond_wait(&cv, &mu);
    if (qhead == qtail && done_producers == 2) {
      pthread_mutex_unlock(&mu);
      break;
    }
    sum += queue[qhead];
    qhead = (qhead + 1) % 64;
    consumed++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
  }
  return (void *)sum;
}

int main(void) {
  pthread_t th[T], pc[4];
  pthread_barrier_init(&bar, 0, T);
  pthread_spin_init(&spin, 0);
  sem_init(&sem, 0, 0);
  for (long i = 0; i < T; i++) pthread_create(&th[i], 0, worker, (void *)i);
  for (int i = 0; i < T; i++) sem_wait(&sem);
  long joined = 0;
  for (int i = 0; i < T; i++) {
    void *r;
    pthread_join(th[i], &r);
    joined += (long)r;
  }
  printf("counter=%ld spun=%ld joined=%ld\n", counter, spun, joined);
  for (int i = 0; i < T; i++) printf("tls[%d]=%ld\n", i, tls_report[i]);
  pthread_create(&pc[0], 0, producer, (void *)1);
  pthread_create(&pc[1], 0, producer, (void *)2);
  pthread_create(&pc[2], 0, consumer, 0);
  pthread_create(&pc[3], 0, consumer, 0);
  long total = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(pc[i], &r);
    if (i >= 2) total += (long)r;
  }
  printf("produced=%ld consumed=%ld total=%ld\n", produced, consumed, total);
  return 0;
}
