/*
 * percpu - a CPU-bound, non-recursive probed function that never sleeps,
 * never blocks and never yields.
 *
 * maxactive guidance (seed, 2.1): "if the function is non-recursive and can
 * never relinquish the CPU (e.g., via a semaphore or preemption), NR_CPUS
 * should be enough."  The catch is the word "preemption": with CONFIG_PREEMPT
 * a timer tick can switch tasks in the middle of crunch(), and a preempted
 * task keeps its return-probe instance while another task enters crunch().
 *
 * Usage:   percpu [T [CALLS [ROUNDS [SEED]]]]
 * Defaults:       T = 8 threads, CALLS = 200 per thread, ROUNDS = 100, SEED = 1
 *
 * Each of T threads calls crunch(x, ROUNDS) CALLS times; crunch() is pure
 * arithmetic (ROUNDS rounds of a hash mix, ~10 instructions each), about 99%
 * of each thread's instructions.
 *
 * Probed function:  crunch(u32 x, int rounds)
 * CORRECT ANSWER:   peak calls of crunch in flight
 *   - without preemption: <= min(T, NR_CPUS).  A task inside crunch() keeps
 *     its CPU until the call returns, so only tasks that are running can be
 *     inside it.  With the defaults (8 threads) it reaches min(8, NR_CPUS):
 *     the threads overlap for most of the run and spend ~99% of it inside.
 *   - with preemption: <= T (every thread at most one call deep).  How close
 *     a run comes to T depends on how many timer ticks land inside crunch()
 *     while other threads are waiting for a CPU; with T > NR_CPUS and a run
 *     spanning many ticks it reaches T.
 *   So maxactive = NR_CPUS is right only without preemption; the 2.6.13
 *   default with preemption, max(10, 2*NR_CPUS), covers T = 8 on any machine.
 *
 * Output: the sum and xor of all results (independent of thread order).
 */
#include "rt.h"

#define MAX_THREADS 64

static int nthreads, ncalls, nrounds;
static u32 seed;
static u32 result_sum[MAX_THREADS], result_xor[MAX_THREADS];

/* The probe target: pure computation, no calls, no memory but the stack. */
PROBE_TARGET u32 crunch(u32 x, int rounds) {
  u32 a = x, b = x ^ 0x5bd1e995u;
  for (int i = 0; i < rounds; i++) {
    a = (a ^ (a >> 15)) * 0x2c1b3c6du + b;
    b = (b << 7 | b >> 25) ^ a;
  }
  return a ^ b;
}

static int worker(void *arg) {
  int id = (int)(uintptr_t)arg;
  u32 x = mix32(seed * 7919u + (u32)id), s = 0, xr = 0;
  for (int i = 0; i < ncalls; i++) {
    x = crunch(x + (u32)i, nrounds);
    s += x;
    xr ^= x;
  }
  result_sum[id] = s;
  result_xor[id] = xr;
  return 0;
}

int main(int argc, char **argv) {
  const char *usage = "percpu [THREADS=8 [CALLS_PER_THREAD=200 [ROUNDS=100 [SEED=1]]]]";
  nthreads = arg_int(argc, argv, 1, 8, 1, MAX_THREADS, usage);
  ncalls = arg_int(argc, argv, 2, 200, 1, 10000000, usage);
  nrounds = arg_int(argc, argv, 3, 100, 0, 10000000, usage);
  seed = (u32)arg_int(argc, argv, 4, 1, 0, 1000000000, usage);

  static rt_thread_t th[MAX_THREADS];
  for (int i = 0; i < nthreads; i++)
    if (thread_create(&th[i], worker, (void *)(uintptr_t)i) < 0) die("percpu: thread_create failed\n");
  for (int i = 0; i < nthreads; i++) thread_join(&th[i]);

  u32 s = 0, xr = 0;
  for (int i = 0; i < nthreads; i++) {
    s += result_sum[i];
    xr ^= result_xor[i];
  }
  printf("percpu: threads=%d calls_per_thread=%d rounds=%d seed=%u\n", nthreads, ncalls, nrounds, seed);
  printf("crunch calls=%u sum=%08x xor=%08x\n", (u32)nthreads * (u32)ncalls, s, xr);
  printf("ok: peak crunch in flight <= min(T, NR_CPUS) without preemption, <= T with it\n");
  return 0;
}
