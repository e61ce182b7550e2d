/*
 * calls.c - call-shaped probe targets: the Linux KUnit kprobe tests' targets (v/3, v/3+1), a
 * recursive function, a jprobe target and its guest handler, threads calling one function on several
 * CPUs, overlapping calls behind a barrier, functions a thread exits inside, and a slow function to
 * unregister a kretprobe under (kprobes.md K7, K12, K14-K20, checks 6-11, 13, 14, 16).
 *
 * argv[1] names the case; the rest are decimal numbers. Output: "key=value" lines.
 */
#include "prt.h"

#define TRAMP 0xfff00000u

/* ---- KUnit lib/tests/test_kprobes.c targets ---- */
NOINLINE u32 kprobe_target(u32 value) { return value / 3; }
NOINLINE u32 kprobe_target2(u32 value) { return value / 3 + 1; }
NOINLINE u32 kprobe_recursed_target(u32 value) { return value / 3; }

/* ---- stack-trace targets: caller -> driver -> target ---- */
NOINLINE u32 st_target(u32 v) { return v * 2 + 1; }
NOINLINE u32 st_driver(u32 v) { return st_target(v) + 1; }
NOINLINE u32 st_caller(u32 v) { return st_driver(v) + 1; }

/* ---- jprobe target and its guest handler (same signature) ---- */
volatile int jp_seen_a, jp_seen_b, jp_seen_c, jp_calls;
NOINLINE int jp_target(int a, int b, int c) { return a * 100 + b * 10 + c; }
NOINLINE void jp_handler(int a, int b, int c) {
  jp_seen_a = a;
  jp_seen_b = b;
  jp_seen_c = c;
  jp_calls++;
  /* Scribble over the argument slots and the words below: the engine restores 64 bytes of stack. */
  *(volatile int *)&a = 901;
  *(volatile int *)&b = 902;
  *(volatile int *)&c = 903;
  jprobe_return();
}

/* ---- recursion (check 7) ---- */
u32 rec_ra[8];
NOINLINE int rec(int n) {
  rec_ra[n] = (u32)__builtin_return_address(0);
  if (n == 0) return 100;
  return rec(n - 1) + n;
}

/* ---- K20 ---- */
NOINLINE u32 ra_fn(void) { return (u32)__builtin_return_address(0); }

/* ---- threads (checks 9, 16, K17, K19) ---- */
NOINLINE int work2(int x) { return x + 1; }
NOINLINE int work(int who, int i) {
  if (i % 3 == who % 3) sys_sched_yield();
  return who * 1000 + work2(i) - 1;
}
struct targ {
  int who, n, sum;
};
static int thread_work(void *p) {
  struct targ *a = p;
  for (int i = 0; i < a->n; i++) a->sum += work(a->who, i);
  return 0;
}

volatile int barrier_count;
NOINLINE int overlap(int k) {
  __atomic_add_fetch(&barrier_count, 1, __ATOMIC_SEQ_CST);
  while (barrier_count < k) sys_sched_yield();
  return k;
}
static int thread_overlap(void *p) {
  overlap(*(int *)p);
  return 0;
}
NOINLINE int solo(int i) { return i * 2; }

NOINLINE int die_in(int depth) {
  if (depth == 0) sys_exit_thread(0);
  return die_in(depth - 1) + 1;
}
NOINLINE int die_group_in(int depth) {
  if (depth == 0) {
    say("exiting");
    sys_exit_group(3);
  }
  return die_group_in(depth - 1) + 1;
}
static int thread_die(void *p) { return die_in(*(int *)p); }

/* ---- K18: a function with a labelled instruction in its body ---- */
int slow(int v);
__asm__(".text\n.globl slow\n.type slow,@function\nslow:\n"
        "  pushl %ebp\n"
        "  movl %esp, %ebp\n"
        "  movl 8(%ebp), %eax\n"
        ".globl l_slow_mid\nl_slow_mid:\n"
        "  addl %eax, %eax\n"
        "  addl $1, %eax\n"
        "  popl %ebp\n"
        "  ret\n"
        ".size slow,.-slow\n");
NOINLINE int slow_caller(int v) {
  int r = slow(v);
  return r + 1000;
}

static int arg(int argc, char **argv, int i, int def) { return i < argc ? prt_atoi(argv[i]) : def; }

int main(int argc, char **argv) {
  const char *c = argc > 1 ? argv[1] : "";
  if (prt_streq(c, "kunit")) {
    u32 rand1 = (u32)arg(argc, argv, 2, 12345);
    say_dec("target", (int)kprobe_target(rand1));
    say_dec("target2", (int)kprobe_target2(rand1));
    say_dec("recursed", (int)kprobe_recursed_target(rand1));
  } else if (prt_streq(c, "stack")) {
    say_dec("stack", (int)st_caller(5));
  } else if (prt_streq(c, "jprobe")) {
    int r1 = jp_target(1, 2, 3);
    say_dec("jp1", r1);
    say_dec("seen", jp_seen_a * 100 + jp_seen_b * 10 + jp_seen_c);
    int r2 = jp_target(4, 5, 6);
    say_dec("jp2", r2);
    say_dec("seen", jp_seen_a * 100 + jp_seen_b * 10 + jp_seen_c);
    say_dec("calls", jp_calls);
  } else if (prt_streq(c, "rec")) {
    int n = arg(argc, argv, 2, 2);
    say_dec("rec", rec(n));
    for (int i = n; i >= 0; i--) {
      struct line l = {.n = 0};
      l_str(&l, "ra");
      l_dec(&l, i);
      l_str(&l, rec_ra[i] == TRAMP ? "=tramp" : "=real");
      l_end(&l);
    }
  } else if (prt_streq(c, "ra")) {
    say_hex("ra", ra_fn());
  } else if (prt_streq(c, "threads")) {
    static struct prt_thread th[PRT_MAX_THREADS];
    static struct targ ta[PRT_MAX_THREADS];
    int t = arg(argc, argv, 2, 3), n = arg(argc, argv, 3, 10);
    for (int i = 0; i < t; i++) {
      ta[i].who = i + 1;
      ta[i].n = n;
      thread_create(&th[i], thread_work, &ta[i]);
    }
    for (int i = 0; i < t; i++) thread_join(&th[i]);
    for (int i = 0; i < t; i++) say_dec("sum", ta[i].sum);
  } else if (prt_streq(c, "overlap")) {
    static struct prt_thread th[PRT_MAX_THREADS];
    int k = arg(argc, argv, 2, 4), seq = arg(argc, argv, 3, 0);
    for (int i = 0; i < seq; i++) solo(i);
    for (int i = 0; i < k; i++) thread_create(&th[i], thread_overlap, &k);
    for (int i = 0; i < k; i++) thread_join(&th[i]);
    for (int i = 0; i < seq; i++) solo(i);
    say_dec("overlap", barrier_count);
  } else if (prt_streq(c, "exitin")) {
    static struct prt_thread th;
    int depth = arg(argc, argv, 2, 3);
    thread_create(&th, thread_die, &depth);
    thread_join(&th);
    say("joined");
    say_dec("after", die_group_in(depth));
  } else if (prt_streq(c, "slow")) {
    say_dec("slow", slow_caller(arg(argc, argv, 2, 5)));
    say_dec("slow", slow_caller(arg(argc, argv, 2, 5) + 1));
  }
  say("done");
  return 0;
}
