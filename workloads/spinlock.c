/*
 * spinlock - a probed function that only ever runs with a spinlock held.
 *
 * maxactive guidance (seed, 2.1): "if the function is non-recursive and is
 * called with a spinlock or mutex held, maxactive = 1 should be enough."
 *
 * Usage:   spinlock [T [N [SEED]]]
 * Defaults:         T = 4 threads, N = 500 calls per thread, SEED = 1
 *
 * Each of T threads makes N calls of locked_update(), each one between
 * spin_lock(&table_lock) and spin_unlock(&table_lock) taken by the caller,
 * so the whole body of locked_update() is inside the critical section.  The
 * value passed in comes from the thread's own PRNG (seeded from SEED and the
 * thread number) and some unlocked "think" work happens between calls.
 *
 * Probed function:  locked_update(struct table *t, u32 value)
 * CORRECT ANSWER:   peak calls of locked_update in flight = 1, exactly, for
 *                   any T >= 1, N >= 1, NR_CPUS, with or without preemption.
 *                   (A preempted lock holder keeps its instance, but nobody
 *                   else can enter locked_update until it releases the lock.)
 *                   maxactive = 1 never misses; every default is enough.
 *
 * Output: the totals of the shared table, which do not depend on the order in
 * which threads got the lock (sums, xors and per-bucket counts commute).
 */
#include "rt.h"

#define MAX_THREADS 64
#define BUCKETS 64

struct table {
  u32 calls;
  u32 sum;
  u32 xor;
  u32 bucket[BUCKETS];
};

static struct table table;
static spinlock_t table_lock = SPINLOCK_INIT;
static int nthreads, ncalls;
static u32 seed;

/* The probe target: called only with table_lock held.  A little real work
 * (a histogram update and a short mixing loop) so a call has some length. */
PROBE_TARGET u32 locked_update(struct table *t, u32 value) {
  u32 h = value;
  for (int i = 0; i < 4; i++) h = mix32(h + (u32)i);
  t->calls++;
  t->sum += value;
  t->xor ^= h;
  t->bucket[h % BUCKETS]++;
  return h;
}

/* Unlocked work between two calls (about 4 times as long as a call, so the
 * threads do not just queue on the lock): derive the next value. */
static u32 think(rng_t *r) {
  u32 v = 0;
  for (int i = 0; i < 16; i++) v = v * 31u + rng_next(r);
  return v;
}

static int worker(void *arg) {
  int id = (int)(uintptr_t)arg;
  rng_t r;
  rng_seed(&r, seed * 1000003u + (u32)id);
  for (int i = 0; i < ncalls; i++) {
    u32 v = think(&r);
    spin_lock(&table_lock);
    locked_update(&table, v);
    spin_unlock(&table_lock);
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *usage = "spinlock [THREADS=4 [CALLS_PER_THREAD=500 [SEED=1]]]";
  nthreads = arg_int(argc, argv, 1, 4, 1, MAX_THREADS, usage);
  ncalls = arg_int(argc, argv, 2, 500, 1, 1000000, usage);
  seed = (u32)arg_int(argc, argv, 3, 1, 0, 1000000000, usage);

  static rt_thread_t th[MAX_THREADS];
  for (int i = 0; i < nthreads; i++)
    if (thread_create(&th[i], worker, (void *)(uintptr_t)i) < 0) die("spinlock: thread_create failed\n");
  for (int i = 0; i < nthreads; i++) thread_join(&th[i]);

  u32 bh = 0;
  for (int b = 0; b < BUCKETS; b++) bh = mix32(bh ^ table.bucket[b]) + (u32)b;
  printf("spinlock: threads=%d calls_per_thread=%d seed=%u\n", nthreads, ncalls, seed);
  printf("locked_update calls=%u sum=%08x xor=%08x buckets=%08x\n", table.calls, table.sum, table.xor, bh);
  if (table.calls != (u32)nthreads * (u32)ncalls) die("spinlock: lost updates: %u\n", table.calls);
  printf("ok: peak locked_update in flight must be 1\n");
  return 0;
}
