/*
 * server - the default probelab demo: a small request-handling server whose
 * handler sleeps on I/O, so more calls are in flight than there are CPUs.
 *
 * maxactive guidance (seed, 2.1), all four cases in one program:
 *   handle_request  sleeps (inside wait_io)  -> in flight: one per worker
 *   parse_request   CPU-bound, never sleeps  -> NR_CPUS, more with preemption
 *   lookup          called with a spinlock held -> 1
 *   wait_io         sleeps                   -> one per worker
 *
 * Usage:   server [W [R [SEED [IO_US]]]]
 * Defaults:       W = 12 worker threads, R = 48 requests, SEED = 1, IO_US = 100
 *
 * The main thread queues R requests ("GET /item/<key> HTTP/1.0", keys from
 * the PRNG), starts one disk thread and W workers, and joins them.  A worker
 * takes requests from the queue (a futex mutex) until it is empty and runs
 *
 *   handle_request(req)
 *     -> parse_request(req)        parse the text, checksum it (CPU work)
 *     -> lookup(key)               read the cache, with cache_lock (a
 *                                  spinlock) held by handle_request
 *     -> wait_io(req)              submit to the disk, then sleep on the
 *                                  request's own semaphore until it is done
 *
 * The disk thread works like an elevator scheduler that batches requests: it
 * waits until min(W, requests not yet completed) requests are submitted, then
 * "seeks" (nanosleep IO_US us) and completes them one by one (nanosleep
 * IO_US/4 .. IO_US us each).  So in every batch all busy workers are inside
 * wait_io at the same time, whatever the number of CPUs or the scheduling.
 * (It never deadlocks: a worker holds at most one request and only exits
 * when the queue is empty, so that many submissions always arrive.)
 *
 * Probed functions and CORRECT ANSWERS (peak calls in flight):
 *   handle_request(struct request *req)  min(W, R), exactly.  Defaults: 12.
 *   wait_io(struct request *req)         min(W, R), exactly.  Defaults: 12.
 *   parse_request(struct request *req)   <= min(W, R, NR_CPUS) without
 *                                        preemption (it never gives up the
 *                                        CPU); <= min(W, R) with preemption.
 *   lookup(u32 key)                      1, exactly (cache_lock is held by
 *                                        the caller around every call).
 * With 4 CPUs and preemption the Linux 2.6.13 default maxactive is
 * max(10, 2*4) = 10 < 12, so return probes on handle_request and wait_io miss
 * calls (two or so in every batch), while lookup and parse_request are fine;
 * without preemption the default is NR_CPUS = 4 and misses even more.
 * maxactive = 12 (= W) is the smallest value that never misses.
 *
 * The whole run is about half a million guest instructions with the defaults.
 *
 * Output: counts and checksums over all responses; every response depends
 * only on its request, so the output is the same for every interleaving.
 */
#include "rt.h"

#define MAX_WORKERS 256
#define MAX_REQUESTS 100000
#define CACHE_SIZE 256
#define PARSE_ROUNDS 48

struct request {
  u32 id; /* first field: `+0($arg1):u32` in a probe spec is the request id */
  u32 key;     /* from parse_request() */
  u32 sig;     /* checksum of the text, from parse_request() */
  u32 value;   /* from lookup() */
  u32 io_data; /* from the disk */
  u32 response;
  sem_t done; /* posted by the disk when this request's I/O completes */
  struct request *next_io;
  char text[32];
};

static int nworkers, nrequests, io_us;
static u32 seed;
static struct request *requests;
static volatile int handled; /* requests that handle_request completed */

/* The request queue: the next request to hand out, under a futex mutex. */
static mutex_t queue_lock = MUTEX_INIT;
static int queue_next;

/* The cache that lookup() reads; cache_lock is a spinlock. */
static spinlock_t cache_lock = SPINLOCK_INIT;
static struct {
  u32 value;
  u32 hits;
} cache[CACHE_SIZE];

/* The disk: submitted requests (a list under io_lock) and a semaphore that
 * counts submissions. */
static mutex_t io_lock = MUTEX_INIT;
static struct request *io_list;
static sem_t io_submitted;

/* ---- the probed functions --------------------------------------------------- */

/* Parse "GET /item/<key> HTTP/1.0" and checksum the text a few times (the
 * CPU-bound part of a request).  Returns 0, or -1 for a malformed request. */
PROBE_TARGET int parse_request(struct request *req) {
  const char *p = req->text;
  static const char prefix[] = "GET /item/";
  for (int i = 0; prefix[i]; i++, p++)
    if (*p != prefix[i]) return -1;
  u32 key = 0;
  while (*p >= '0' && *p <= '9') key = key * 10 + (u32)(*p++ - '0');
  if (*p != ' ') return -1;
  u32 h = 2166136261u; /* FNV-1a, PARSE_ROUNDS passes: "validating" the request */
  for (int r = 0; r < PARSE_ROUNDS; r++)
    for (const char *q = req->text; *q; q++) h = (h ^ (u8)*q) * 16777619u;
  req->key = key;
  req->sig = h;
  return 0;
}

/* Read the cache entry of `key`.  Must be called with cache_lock held. */
PROBE_TARGET u32 lookup(u32 key) {
  u32 slot = mix32(key) % CACHE_SIZE;
  cache[slot].hits++;
  return cache[slot].value ^ key;
}

/* Submit the request to the disk and sleep until it completes. */
PROBE_TARGET u32 wait_io(struct request *req) {
  mutex_lock(&io_lock);
  req->next_io = io_list;
  io_list = req;
  mutex_unlock(&io_lock);
  sem_post(&io_submitted);
  sem_wait(&req->done);
  return req->io_data;
}

/* Handle one request; returns the response checksum. */
PROBE_TARGET u32 handle_request(struct request *req) {
  if (parse_request(req) != 0) return 0;
  spin_lock(&cache_lock);
  req->value = lookup(req->key);
  spin_unlock(&cache_lock);
  u32 io = wait_io(req);
  req->response = mix32(req->key ^ req->sig ^ mix32(req->value + io));
  atomic_fetch_add(&handled, 1);
  return req->response;
}

/* ---- threads ------------------------------------------------------------------- */

static struct request *take_request(void) {
  mutex_lock(&queue_lock);
  int i = queue_next < nrequests ? queue_next++ : -1;
  mutex_unlock(&queue_lock);
  return i < 0 ? NULL : &requests[i];
}

static int worker(void *arg) {
  (void)arg;
  struct request *req;
  while ((req = take_request()) != NULL) handle_request(req);
  return 0;
}

static int disk(void *arg) {
  (void)arg;
  int remaining = nrequests;
  while (remaining > 0) {
    int want = remaining < nworkers ? remaining : nworkers;
    for (int i = 0; i < want; i++) sem_wait(&io_submitted);
    mutex_lock(&io_lock);
    struct request *batch = io_list;
    io_list = NULL;
    mutex_unlock(&io_lock);
    sleep_us(io_us); /* seek */
    int n = 0;
    for (struct request *r = batch, *next; r; r = next, n++) {
      next = r->next_io;
      sleep_us(io_us / 4 * (1 + (long)(r->key % 4))); /* transfer */
      r->io_data = mix32(r->key * 2654435761u + seed);
      sem_post(&r->done);
    }
    if (n != want) die("server: disk batch of %d, expected %d\n", n, want);
    remaining -= n;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *usage = "server [WORKERS=12 [REQUESTS=48 [SEED=1 [IO_US=100]]]]";
  nworkers = arg_int(argc, argv, 1, 12, 1, MAX_WORKERS, usage);
  nrequests = arg_int(argc, argv, 2, 48, 0, MAX_REQUESTS, usage);
  seed = (u32)arg_int(argc, argv, 3, 1, 0, 1000000000, usage);
  io_us = arg_int(argc, argv, 4, 100, 0, 1000000, usage);

  rng_t rng;
  rng_seed(&rng, seed);
  for (int i = 0; i < CACHE_SIZE; i++) cache[i].value = rng_next(&rng);
  requests = rt_alloc((size_t)(nrequests ? nrequests : 1) * sizeof *requests);
  for (int i = 0; i < nrequests; i++) {
    struct request *r = &requests[i];
    r->id = (u32)i;
    sem_init(&r->done, 0);
    snprintf(r->text, sizeof r->text, "GET /item/%u HTTP/1.0", rng_below(&rng, 100000));
  }
  sem_init(&io_submitted, 0);

  static rt_thread_t disk_thread, th[MAX_WORKERS];
  if (thread_create(&disk_thread, disk, NULL) < 0) die("server: thread_create failed\n");
  for (int i = 0; i < nworkers; i++)
    if (thread_create(&th[i], worker, NULL) < 0) die("server: thread_create failed\n");
  for (int i = 0; i < nworkers; i++) thread_join(&th[i]);
  thread_join(&disk_thread);

  u32 sum = 0, xr = 0, hits = 0;
  for (int i = 0; i < nrequests; i++) {
    sum += requests[i].response;
    xr ^= mix32(requests[i].response + (u32)i);
  }
  for (int i = 0; i < CACHE_SIZE; i++) hits += cache[i].hits;
  int peak = nworkers < nrequests ? nworkers : nrequests;
  printf("server: workers=%d requests=%d seed=%u io_us=%d\n", nworkers, nrequests, seed, io_us);
  printf("handled=%d lookups=%u checksum=%08x xor=%08x\n", handled, hits, sum, xr);
  if (handled != nrequests || hits != (u32)nrequests) die("server: lost requests\n");
  printf("ok: peak handle_request and wait_io in flight must be min(W, R) = %d\n", peak);
  return 0;
}
