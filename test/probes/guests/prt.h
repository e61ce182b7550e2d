/*
 * prt.h - the tiny freestanding runtime shared by the probe-engine guests (test/probes/guests/*.c).
 *
 * Build: gcc -m32 -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -O1 ... -lgcc
 * (test/probes/helpers.ts inlines this header so the build cache key covers it).
 *
 * What it gives: _start → main(argc, argv) → exit_group(main's value); int $0x80 wrappers (write,
 * exit, exit_group, clone, futex, sched_yield, gettid); unbuffered line output (each line is ONE
 * write(2), so lines of several threads never mix); jprobe_return (a bare int3 outside any probe,
 * kprobes.md K7); raw-clone threads with static stacks and a futex join (the approach of
 * workloads/runtime/rt.c, without malloc).
 */
#ifndef PRT_H
#define PRT_H

typedef unsigned int u32;
typedef unsigned long size_t;

#define NOINLINE __attribute__((noinline, noclone, used))

static inline long sys3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
static inline long sys_write(int fd, const void *buf, size_t n) { return sys3(4, fd, (long)buf, (long)n); }
static inline long sys_sched_yield(void) { return sys3(158, 0, 0, 0); }
static inline long sys_gettid(void) { return sys3(224, 0, 0, 0); }
static inline long sys_futex_wait(volatile int *addr, int val) {
  long r;
  /* futex(addr, FUTEX_WAIT, val, timeout = NULL): esi must be 0 */
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(240), "b"(addr), "c"(0), "d"(val), "S"(0) : "memory");
  return r;
}
__attribute__((noreturn)) static inline void sys_exit_group(int code) {
  for (;;) __asm__ volatile("int $0x80" : : "a"(252), "b"(code) : "memory");
}
__attribute__((noreturn)) static inline void sys_exit_thread(int code) {
  for (;;) __asm__ volatile("int $0x80" : : "a"(1), "b"(code) : "memory");
}

void *memcpy(void *d, const void *s, size_t n) {
  char *dp = d;
  const char *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}
void *memset(void *d, int c, size_t n) {
  char *dp = d;
  while (n--) *dp++ = (char)c;
  return d;
}

static size_t prt_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
static int prt_streq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}
static int prt_atoi(const char *s) {
  int neg = 0, v = 0;
  if (*s == '-') neg = 1, s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}

/* ---- line output: build a line, then one write(2) ---- */
struct line {
  char b[240];
  int n;
};
static void l_str(struct line *l, const char *s) {
  while (*s && l->n < (int)sizeof l->b - 1) l->b[l->n++] = *s++;
}
static void l_hex(struct line *l, u32 v) {
  char t[9];
  for (int i = 7; i >= 0; i--, v >>= 4) t[i] = "0123456789abcdef"[v & 15];
  t[8] = 0;
  l_str(l, t);
}
static void l_dec(struct line *l, int v) {
  char t[12];
  int i = 11;
  u32 u = v < 0 ? (u32)0 - (u32)v : (u32)v;
  t[i] = 0;
  do t[--i] = (char)('0' + u % 10), u /= 10;
  while (u);
  if (v < 0) t[--i] = '-';
  l_str(l, t + i);
}
static void l_end(struct line *l) {
  l->b[l->n++] = '\n';
  sys_write(1, l->b, (size_t)l->n);
  l->n = 0;
}
/* "key=hex\n" and "key=dec\n" */
static void say_hex(const char *k, u32 v) {
  struct line l = {.n = 0};
  l_str(&l, k);
  l_str(&l, "=");
  l_hex(&l, v);
  l_end(&l);
}
static void say_dec(const char *k, int v) {
  struct line l = {.n = 0};
  l_str(&l, k);
  l_str(&l, "=");
  l_dec(&l, v);
  l_end(&l);
}
static void say(const char *s) {
  struct line l = {.n = 0};
  l_str(&l, s);
  l_end(&l);
}

/* ---- entry ---- */
int main(int argc, char **argv);
__attribute__((noreturn, used)) void prt_start_c(int *sp) { sys_exit_group(main(sp[0], (char **)(sp + 1))); }
__asm__(".text\n.globl _start\n.type _start,@function\n_start:\n"
        "  xorl %ebp, %ebp\n"
        "  movl %esp, %eax\n"
        "  andl $-16, %esp\n"
        "  subl $12, %esp\n"
        "  pushl %eax\n"
        "  call prt_start_c\n"
        "  hlt\n"
        ".size _start, .-_start\n"
        /* jprobe_return (K7): a bare int3 outside any probe; the engine's break handler takes it. */
        ".globl jprobe_return\n.type jprobe_return,@function\njprobe_return:\n"
        "  int3\n"
        "  ret\n"
        ".size jprobe_return, .-jprobe_return\n");
void jprobe_return(void);

/* ---- threads: raw clone(2), static stacks, futex join ---- */
#define PRT_MAX_THREADS 8
#define PRT_STACK 16384
static char prt_stacks[PRT_MAX_THREADS][PRT_STACK] __attribute__((aligned(16)));
struct prt_thread {
  volatile int tid;
  int idx;
};
typedef int (*prt_fn)(void *);
/* prt_clone(flags, child_sp, ptid, ctid): in the child, pop fn, call fn(arg), exit(2) the thread. */
int prt_clone(int flags, void *child_sp, volatile int *ptid, volatile int *ctid);
__asm__(".text\n.globl prt_clone\n.type prt_clone,@function\nprt_clone:\n"
        "  pushl %ebp\n pushl %ebx\n pushl %esi\n pushl %edi\n"
        "  movl 20(%esp), %ebx\n"
        "  movl 24(%esp), %ecx\n"
        "  movl 28(%esp), %edx\n"
        "  xorl %esi, %esi\n"
        "  movl 32(%esp), %edi\n"
        "  movl $120, %eax\n"
        "  int $0x80\n"
        "  testl %eax, %eax\n"
        "  jz 1f\n"
        "  popl %edi\n popl %esi\n popl %ebx\n popl %ebp\n"
        "  ret\n"
        "1: xorl %ebp, %ebp\n"
        "  popl %eax\n"
        "  call *%eax\n"
        "  movl %eax, %ebx\n"
        "  movl $1, %eax\n"
        "  int $0x80\n"
        "  hlt\n"
        ".size prt_clone, .-prt_clone\n");
static int prt_nthreads;
static int thread_create(struct prt_thread *t, prt_fn fn, void *arg) {
  int flags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x100000 | 0x200000;
  t->idx = prt_nthreads++;
  char *top = prt_stacks[t->idx] + PRT_STACK;
  void **sp = (void **)(top - 20);
  sp[0] = (void *)fn;
  sp[1] = arg;
  t->tid = 0;
  return prt_clone(flags, sp, &t->tid, &t->tid);
}
static void thread_join(struct prt_thread *t) {
  for (;;) {
    int tid = t->tid;
    if (tid == 0) break;
    sys_futex_wait(&t->tid, tid);
  }
}

#endif
