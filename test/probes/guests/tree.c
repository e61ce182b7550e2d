/*
 * tree.c - random call trees for the kretprobe pool property test (kprobes.md K14-K17, K19).
 *
 * usage: tree SPEC...   one thread per SPEC (raw clone), main joins them all and prints the totals.
 * SPEC is a list of nodes; node := DIGIT ['y'] ['(' node* ')']. DIGIT 0..3 selects f0..f3 (four
 * identical, separately probed functions); 'y' makes that call sched_yield() before its children.
 * Every call returns v = 7*DIGIT + 1 + 3 * (sum of its children's values), mod 2^32.
 */
#include "prt.h"

NOINLINE u32 node(const char **p);

#define BODY(K)                                                                                    \
  {                                                                                                \
    const char *s = *p;                                                                            \
    u32 v = (K) * 7 + 1;                                                                           \
    if (*s == 'y') {                                                                               \
      sys_sched_yield();                                                                           \
      s++;                                                                                         \
    }                                                                                              \
    if (*s == '(') {                                                                               \
      s++;                                                                                         \
      while (*s != ')') {                                                                          \
        *p = s;                                                                                    \
        v += node(p) * 3;                                                                          \
        s = *p;                                                                                    \
      }                                                                                            \
      s++;                                                                                         \
    }                                                                                              \
    *p = s;                                                                                        \
    return v;                                                                                      \
  }

NOINLINE u32 f0(const char **p) BODY(0)
NOINLINE u32 f1(const char **p) BODY(1)
NOINLINE u32 f2(const char **p) BODY(2)
NOINLINE u32 f3(const char **p) BODY(3)

NOINLINE u32 node(const char **p) {
  char c = **p;
  (*p)++;
  switch (c) {
  case '0':
    return f0(p);
  case '1':
    return f1(p);
  case '2':
    return f2(p);
  default:
    return f3(p);
  }
}

struct job {
  const char *spec;
  u32 total;
};

static int runner(void *arg) {
  struct job *j = arg;
  const char *s = j->spec;
  u32 t = 0;
  while (*s) t += node(&s);
  j->total = t;
  return 0;
}

int main(int argc, char **argv) {
  static struct prt_thread th[PRT_MAX_THREADS];
  static struct job jobs[PRT_MAX_THREADS];
  int n = argc - 1;
  if (n > PRT_MAX_THREADS) n = PRT_MAX_THREADS;
  for (int i = 0; i < n; i++) {
    jobs[i].spec = argv[i + 1];
    thread_create(&th[i], runner, &jobs[i]);
  }
  for (int i = 0; i < n; i++) thread_join(&th[i]);
  for (int i = 0; i < n; i++) say_hex("total", jobs[i].total);
  return 0;
}
