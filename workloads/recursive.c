/*
 * recursive - a recursive probed function: a walk over a complete binary tree.
 *
 * maxactive guidance (seed, 2.1): the "NR_CPUS is enough" rule only holds for
 * a NON-recursive function.  A recursive one holds one return-probe instance
 * per nested call, even on a single CPU without preemption.
 *
 * Usage:   recursive [D [P [REPEAT [SEED]]]]
 * Defaults:          D = 6 levels, P = 1 thread, REPEAT = 20 walks per thread, SEED = 1
 *
 * The tree has D levels (2^D - 1 nodes; the root is level 1, the leaves
 * level D).  walk(node, depth) is entered exactly once per node and calls
 * itself only on children that exist (never on NULL), so at a leaf the
 * nested calls are exactly one per level of the root-to-leaf path.
 *
 * Probed function:  walk(const struct node *n, int depth, struct walker *w)
 *                   ($arg2 is the depth: 1 at the root, D at the leaves)
 * CORRECT ANSWER:   peak calls of walk in flight
 *   - per task: exactly D (6 with the defaults), on any machine;
 *   - total, P = 1 (the default): exactly D = 6;
 *   - total, P > 1: <= D * P with preemption, <= D * min(P, NR_CPUS) without
 *     (walk never blocks, so without preemption only running tasks can be
 *     inside it); how many tasks are at their deepest point at the same time
 *     depends on the interleaving.
 *   With the defaults the Linux 2.6.13 default pool misses calls without
 *   preemption whenever NR_CPUS < 6 (it is NR_CPUS), and never with
 *   preemption (max(10, 2*NR_CPUS) >= 10 > 6).  Calls per walk: 2^D - 1.
 *
 * Output: the walk result and the deepest nesting the program itself saw
 * (both the same in every thread and every run).
 */
#include "rt.h"

#define MAX_DEPTH 16
#define MAX_THREADS 64

struct node {
  struct node *left, *right;
  u32 value;
};

static int levels, nthreads, repeat;
static u32 seed;
static struct node *tree;
static u32 results[MAX_THREADS];
static int deepest[MAX_THREADS];

struct walker {
  int id;
  int max_depth; /* deepest `depth` argument seen, i.e. the nesting level */
};

/* Build the complete tree in one array: node i has children 2i+1 and 2i+2. */
static struct node *build_tree(int d, rng_t *r) {
  u32 n = (1u << d) - 1;
  struct node *nodes = rt_alloc(n * sizeof *nodes);
  for (u32 i = 0; i < n; i++) {
    nodes[i].value = rng_next(r);
    nodes[i].left = 2 * i + 1 < n ? &nodes[2 * i + 1] : NULL;
    nodes[i].right = 2 * i + 2 < n ? &nodes[2 * i + 2] : NULL;
  }
  return nodes;
}

/* The probe target.  depth = 1 at the root; it equals the number of walk()
 * calls in flight in this task while this call runs. */
PROBE_TARGET u32 walk(const struct node *n, int depth, struct walker *w) {
  if (depth > w->max_depth) w->max_depth = depth;
  u32 l = n->left ? walk(n->left, depth + 1, w) : 0;
  u32 r = n->right ? walk(n->right, depth + 1, w) : 0;
  /* Combine after both calls return: the calls above are not tail calls. */
  return mix32(n->value + (u32)depth) ^ (l * 3u + r);
}

static int worker(void *arg) {
  struct walker w = {(int)(uintptr_t)arg, 0};
  u32 acc = 0;
  for (int i = 0; i < repeat; i++) acc = mix32(acc ^ walk(tree, 1, &w));
  results[w.id] = acc;
  deepest[w.id] = w.max_depth;
  return 0;
}

int main(int argc, char **argv) {
  const char *usage = "recursive [LEVELS=6 [THREADS=1 [REPEAT=20 [SEED=1]]]]";
  levels = arg_int(argc, argv, 1, 6, 1, MAX_DEPTH, usage);
  nthreads = arg_int(argc, argv, 2, 1, 1, MAX_THREADS, usage);
  repeat = arg_int(argc, argv, 3, 20, 1, 1000000, usage);
  seed = (u32)arg_int(argc, argv, 4, 1, 0, 1000000000, usage);

  rng_t r;
  rng_seed(&r, seed);
  tree = build_tree(levels, &r);

  static rt_thread_t th[MAX_THREADS];
  for (int i = 0; i < nthreads; i++)
    if (thread_create(&th[i], worker, (void *)(uintptr_t)i) < 0) die("recursive: thread_create failed\n");
  for (int i = 0; i < nthreads; i++) thread_join(&th[i]);

  for (int i = 1; i < nthreads; i++)
    if (results[i] != results[0] || deepest[i] != deepest[0]) die("recursive: threads disagree\n");
  u32 nodes = (1u << levels) - 1;
  printf("recursive: levels=%d threads=%d repeat=%d seed=%u\n", levels, nthreads, repeat, seed);
  printf("walk calls=%u (%u per walk) result=%08x deepest_nesting=%d\n", nodes * (u32)repeat * (u32)nthreads,
         nodes, results[0], deepest[0]);
  printf("ok: peak walk in flight must be %d per task\n", levels);
  return 0;
}
