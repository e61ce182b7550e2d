/*
 * sleepy - a probed function that gives up the CPU: it sleeps (nanosleep)
 * and then waits on a counting semaphore for its "I/O" to complete.
 *
 * maxactive guidance (seed, 2.1): NR_CPUS is enough only for a function that
 * "can never relinquish the CPU (e.g., via a semaphore or preemption)".  This
 * one does relinquish it, so every task can be inside at once, however few
 * CPUs there are.  This is the most common real-world complaint about
 * kretprobes (accept, connect, schedule, nfsd dispatch): the default pool is
 * too small for a function that sleeps, and the missed returns are silent.
 *
 * Usage:   sleepy [T [ROUNDS [SLEEP_US [SEED]]]]
 * Defaults:       T = 6 threads, ROUNDS = 4, SLEEP_US = 200, SEED = 1
 *
 * Each of T threads calls wait_for_io() ROUNDS times.  wait_for_io() sleeps
 * SLEEP_US microseconds, tells the device it is waiting (sem_post) and sleeps
 * on its own completion semaphore.  The "device" is the main thread: in each
 * round it waits until all T threads are waiting, sleeps 2*SLEEP_US ("the
 * transfer"), then completes every request.
 *
 * Probed function:  wait_for_io(int id, int round)
 * CORRECT ANSWER:   peak calls of wait_for_io in flight = T, exactly, for any
 *                   NR_CPUS, with or without preemption: the device completes
 *                   nothing in a round until all T calls are in flight.
 *                   With the defaults: 6.  The Linux 2.6.13 default without
 *                   preemption is NR_CPUS, so on 1..5 CPUs it misses calls;
 *                   with preemption max(10, 2*NR_CPUS) >= 10 covers T = 6.
 *
 * Output: a checksum of the data every thread received (order-independent).
 */
#include "rt.h"

#define MAX_THREADS 64

static int nthreads, nrounds, sleep_us_param;
static u32 seed;
static sem_t arrived;                /* one post per thread waiting for I/O */
static sem_t done[MAX_THREADS];      /* the device posts each thread's completion */
static volatile u32 data[MAX_THREADS]; /* the "transferred" data */
static u32 checksum[MAX_THREADS];

/* The probe target: sleeps, then blocks until the device completes. */
PROBE_TARGET u32 wait_for_io(int id, int round) {
  sleep_us(sleep_us_param);   /* e.g. the request travels to the device */
  sem_post(&arrived);         /* "I am waiting" */
  sem_wait(&done[id]);        /* block until the device completes */
  return data[id] ^ (u32)round;
}

static int worker(void *arg) {
  int id = (int)(uintptr_t)arg;
  u32 c = 0;
  for (int r = 0; r < nrounds; r++) c = mix32(c + wait_for_io(id, r));
  checksum[id] = c;
  return 0;
}

/* The device: round by round, wait for every thread, then complete all. */
static void device(void) {
  for (int r = 0; r < nrounds; r++) {
    for (int i = 0; i < nthreads; i++) sem_wait(&arrived);
    sleep_us(2 * sleep_us_param);
    for (int i = 0; i < nthreads; i++) {
      data[i] = mix32(seed + (u32)(r * MAX_THREADS + i));
      sem_post(&done[i]);
    }
  }
}

int main(int argc, char **argv) {
  const char *usage = "sleepy [THREADS=6 [ROUNDS=4 [SLEEP_US=200 [SEED=1]]]]";
  nthreads = arg_int(argc, argv, 1, 6, 1, MAX_THREADS, usage);
  nrounds = arg_int(argc, argv, 2, 4, 1, 1000000, usage);
  sleep_us_param = arg_int(argc, argv, 3, 200, 0, 1000000, usage);
  seed = (u32)arg_int(argc, argv, 4, 1, 0, 1000000000, usage);

  sem_init(&arrived, 0);
  for (int i = 0; i < nthreads; i++) sem_init(&done[i], 0);
  static rt_thread_t th[MAX_THREADS];
  for (int i = 0; i < nthreads; i++)
    if (thread_create(&th[i], worker, (void *)(uintptr_t)i) < 0) die("sleepy: thread_create failed\n");
  device();
  for (int i = 0; i < nthreads; i++) thread_join(&th[i]);

  u32 s = 0;
  for (int i = 0; i < nthreads; i++) s += checksum[i];
  printf("sleepy: threads=%d rounds=%d sleep_us=%d seed=%u\n", nthreads, nrounds, sleep_us_param, seed);
  printf("wait_for_io calls=%d checksum=%08x\n", nthreads * nrounds, s);
  printf("ok: peak wait_for_io in flight must be T = %d\n", nthreads);
  return 0;
}
