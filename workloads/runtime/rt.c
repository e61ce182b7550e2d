/*
 * rt.c - the freestanding runtime of the probelab guest workloads.
 * See rt.h for the interface.  No C library: everything below is built on
 * the raw system call gate in start.S.
 */
#include "rt.h"

int main(int argc, char **argv, char **envp);

/* Called from _start with a pointer to the initial stack block. */
NORETURN void rt_start_c(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  exit(main(argc, argv, envp));
}

/* ---- system call wrappers ----------------------------------------------- */

ssize_t sys_write(int fd, const void *buf, size_t n) {
  return rt_syscall(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
}
ssize_t sys_read(int fd, void *buf, size_t n) {
  return rt_syscall(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);
}
int sys_open(const char *path, int flags, int mode) {
  return rt_syscall(SYS_open, (long)path, flags, mode, 0, 0, 0);
}
int sys_close(int fd) { return rt_syscall(SYS_close, fd, 0, 0, 0, 0, 0); }
void sys_exit(int code) {
  for (;;) rt_syscall(SYS_exit, code, 0, 0, 0, 0, 0);
}
void sys_exit_group(int code) {
  for (;;) rt_syscall(SYS_exit_group, code, 0, 0, 0, 0, 0);
}
int sys_nanosleep(const struct timespec *req, struct timespec *rem) {
  return rt_syscall(SYS_nanosleep, (long)req, (long)rem, 0, 0, 0, 0);
}
int sys_clock_gettime(int clk, struct timespec *ts) {
  return rt_syscall(SYS_clock_gettime, clk, (long)ts, 0, 0, 0, 0);
}
int sys_sched_yield(void) { return rt_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0); }
int sys_gettid(void) { return rt_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0); }
int sys_getpid(void) { return rt_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0); }
int sys_futex(volatile int *uaddr, int op, int val, const struct timespec *timeout) {
  return rt_syscall(SYS_futex, (long)uaddr, op, val, (long)timeout, 0, 0);
}
void *sys_mmap2(void *addr, size_t len, int prot, int flags, int fd, long pgoff) {
  return (void *)rt_syscall(SYS_mmap2, (long)addr, (long)len, prot, flags, fd, pgoff);
}
int sys_munmap(void *addr, size_t len) { return rt_syscall(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0); }

void exit(int code) { sys_exit_group(code); }

/* ---- memory --------------------------------------------------------------- */

static size_t page_round(size_t n) { return (n + 4095u) & ~4095u; }

void *rt_alloc(size_t bytes) {
  void *p = sys_mmap2(NULL, page_round(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rt_is_err((long)p)) die("rt_alloc: mmap2 of %u bytes failed (%d)\n", bytes, (int)(long)p);
  return p;
}

void rt_free(void *p, size_t bytes) {
  if (p) sys_munmap(p, page_round(bytes));
}

/* ---- threads ------------------------------------------------------------- */

#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000

int thread_create(rt_thread_t *t, rt_thread_fn fn, void *arg) {
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
              CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  t->stack_size = RT_THREAD_STACK;
  t->stack = rt_alloc(t->stack_size);
  /* Top of stack, 16-byte aligned; below it the two words rt_clone's child
   * pops: fn, then arg (which stays as fn's argument).  After the pop %esp is
   * top - 16, aligned as the i386 ABI expects at a call. */
  uintptr_t top = ((uintptr_t)t->stack + t->stack_size) & ~(uintptr_t)15;
  void **sp = (void **)(top - 20);
  sp[0] = (void *)fn;
  sp[1] = arg;
  t->tid = 0;
  int r = rt_clone(flags, sp, &t->tid, &t->tid);
  if (r < 0) {
    rt_free(t->stack, t->stack_size);
    t->stack = NULL;
    return r;
  }
  return 0;
}

void thread_join(rt_thread_t *t) {
  /* CLONE_CHILD_CLEARTID: at thread exit the kernel stores 0 into t->tid and
   * does FUTEX_WAKE on it.  Sleep until then. */
  for (;;) {
    int tid = t->tid;
    if (tid == 0) break;
    sys_futex(&t->tid, FUTEX_WAIT, tid, NULL);
  }
  rt_free(t->stack, t->stack_size);
  t->stack = NULL;
}

/* ---- spinlock --------------------------------------------------------------- */

void spin_lock(spinlock_t *l) {
  while (atomic_xchg(&l->locked, 1) != 0) {
    int spins = 0;
    while (l->locked) {
      cpu_relax();
      if (++spins == 256) {
        sys_sched_yield();
        spins = 0;
      }
    }
  }
}

void spin_unlock(spinlock_t *l) {
  barrier();
  l->locked = 0; /* x86 stores are not reordered with older loads or stores */
}

/* ---- mutex -------------------------------------------------------------------- */

void mutex_lock(mutex_t *m) {
  int c = atomic_cmpxchg(&m->state, 0, 1);
  if (c == 0) return; /* fast path: it was free */
  if (c != 2) c = atomic_xchg(&m->state, 2);
  while (c != 0) {
    sys_futex(&m->state, FUTEX_WAIT, 2, NULL);
    c = atomic_xchg(&m->state, 2);
  }
}

void mutex_unlock(mutex_t *m) {
  if (atomic_fetch_add(&m->state, -1) != 1) { /* it was 2: somebody may sleep */
    m->state = 0;
    sys_futex(&m->state, FUTEX_WAKE, 1, NULL);
  }
}

/* ---- counting semaphore --------------------------------------------------------- */

void sem_init(sem_t *s, int count) {
  s->count = count;
  s->waiters = 0;
}

void sem_wait(sem_t *s) {
  for (;;) {
    int c = s->count;
    if (c > 0) {
      if (atomic_cmpxchg(&s->count, c, c - 1) == c) return;
      continue;
    }
    /* Announce ourselves before sleeping; FUTEX_WAIT re-checks count == 0
     * atomically, so a post between our check and the sleep is not lost. */
    atomic_fetch_add(&s->waiters, 1);
    sys_futex(&s->count, FUTEX_WAIT, 0, NULL);
    atomic_fetch_add(&s->waiters, -1);
  }
}

void sem_post(sem_t *s) {
  atomic_fetch_add(&s->count, 1);
  if (s->waiters) sys_futex(&s->count, FUTEX_WAKE, 1, NULL);
}

/* ---- time -------------------------------------------------------------------------- */

void sleep_ns(long ns) {
  struct timespec req, rem;
  req.tv_sec = ns / 1000000000L;
  req.tv_nsec = ns % 1000000000L;
  while (sys_nanosleep(&req, &rem) == -4 /* EINTR */) req = rem;
}

/* ---- strings ----------------------------------------------------------------------- */

/* String instructions instead of C loops, so the compiler can never turn
 * these bodies into calls to themselves. */
void *memset(void *d, int c, size_t n) {
  void *dd = d;
  __asm__ __volatile__("cld; rep stosb" : "+D"(dd), "+c"(n) : "a"(c) : "memory", "cc");
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  void *dd = d;
  __asm__ __volatile__("cld; rep movsb" : "+D"(dd), "+S"(s), "+c"(n) : : "memory", "cc");
  return d;
}

void *memmove(void *d, const void *s, size_t n) {
  if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) return memcpy(d, s, n);
  /* Overlap with d above s: copy backwards. */
  void *dd = (char *)d + n - 1;
  const void *ss = (const char *)s + n - 1;
  __asm__ __volatile__("std; rep movsb; cld" : "+D"(dd), "+S"(ss), "+c"(n) : : "memory", "cc");
  return d;
}

int memcmp(const void *a, const void *b, size_t n) {
  const u8 *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (int)(u8)*a - (int)(u8)*b;
}

int atoi(const char *s) {
  int neg = 0, v = 0;
  while (*s == ' ' || *s == '\t') s++;
  if (*s == '-' || *s == '+') neg = (*s++ == '-');
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}

int arg_int(int argc, char **argv, int idx, int def, int min, int max, const char *usage) {
  if (idx >= argc) return def;
  const char *s = argv[idx];
  const char *p = s;
  if (*p == '-' || *p == '+') p++;
  if (!*p) goto bad;
  for (; *p; p++)
    if (*p < '0' || *p > '9' || p - s > 9) goto bad;
  int v = atoi(s);
  if (v < min || v > max) goto bad;
  return v;
bad:
  eprintf("%s: bad argument %d '%s' (want %d..%d)\nusage: %s\n", argv[0], idx, s, min, max, usage);
  exit(2);
}

/* ---- printf ------------------------------------------------------------------------- */

struct out {
  char *buf;
  size_t size; /* capacity including the final NUL */
  size_t len;  /* characters produced (may exceed size) */
};

static void out_c(struct out *o, char c) {
  if (o->len + 1 < o->size) o->buf[o->len] = c;
  o->len++;
}

/* Divide a 64-bit number by 10 with 32-bit divisions only, so that no libgcc
 * helper (__udivdi3) is needed.  Returns the remainder. */
static u32 divmod10(u64 *n) {
  u32 hi = (u32)(*n >> 32), lo = (u32)*n;
  u32 qhi = hi / 10, r = hi % 10;
  u32 x = (r << 16) | (lo >> 16); /* r < 10, so x < 2^20 */
  u32 q1 = x / 10;
  r = x % 10;
  x = (r << 16) | (lo & 0xffff);
  u32 q0 = x / 10;
  r = x % 10;
  *n = ((u64)qhi << 32) | (q1 << 16) | q0;
  return r;
}

static void out_num(struct out *o, u64 v, int neg, int base, int upper, int width, int zero, int left) {
  char tmp[24];
  int n = 0;
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    if (base == 10) {
      tmp[n++] = digits[divmod10(&v)];
    } else {
      tmp[n++] = digits[v & 15];
      v >>= 4;
    }
  } while (v);
  int len = n + (neg ? 1 : 0);
  int pad = width > len ? width - len : 0;
  if (!left && !zero)
    while (pad-- > 0) out_c(o, ' ');
  if (neg) out_c(o, '-');
  if (!left && zero)
    while (pad-- > 0) out_c(o, '0');
  while (n) out_c(o, tmp[--n]);
  if (left)
    while (pad-- > 0) out_c(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      out_c(&o, *f);
      continue;
    }
    f++;
    int left = 0, zero = 0, width = 0, lng = 0;
    for (;; f++) {
      if (*f == '-')
        left = 1;
      else if (*f == '0')
        zero = 1;
      else
        break;
    }
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    while (*f == 'l') lng++, f++;
    switch (*f) {
      case 'd':
      case 'i': {
        s64 v = lng >= 2 ? va_arg(ap, s64) : (s64)va_arg(ap, long);
        u64 m = v < 0 ? (u64)0 - (u64)v : (u64)v;
        out_num(&o, m, v < 0, 10, 0, width, zero, left);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        u64 v = lng >= 2 ? va_arg(ap, u64) : (u64)va_arg(ap, unsigned long);
        out_num(&o, v, 0, *f == 'u' ? 10 : 16, *f == 'X', width, zero, left);
        break;
      }
      case 'p':
        out_c(&o, '0');
        out_c(&o, 'x');
        out_num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, 8, 1, 0);
        break;
      case 'c': {
        char c = (char)va_arg(ap, int);
        for (int i = 1; !left && i < width; i++) out_c(&o, ' ');
        out_c(&o, c);
        for (int i = 1; left && i < width; i++) out_c(&o, ' ');
        break;
      }
      case 's': {
        const char *s = va_arg(ap, const char *);
        if (!s) s = "(null)";
        int len = (int)strlen(s);
        for (int i = len; !left && i < width; i++) out_c(&o, ' ');
        while (*s) out_c(&o, *s++);
        for (int i = len; left && i < width; i++) out_c(&o, ' ');
        break;
      }
      case '%':
        out_c(&o, '%');
        break;
      case '\0':
        f--; /* a lone '%' at the end */
        break;
      default: /* unknown: print it as is */
        out_c(&o, '%');
        out_c(&o, *f);
        break;
    }
  }
  if (size) buf[o.len < size ? o.len : size - 1] = '\0';
  return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

static int vdprintf_(int fd, const char *fmt, va_list ap) {
  char buf[512];
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
  const char *p = buf;
  int left = n;
  while (left > 0) {
    ssize_t w = sys_write(fd, p, (size_t)left);
    if (w <= 0) break;
    p += w;
    left -= w;
  }
  return n;
}

int printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vdprintf_(1, fmt, ap);
  va_end(ap);
  return n;
}

int eprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vdprintf_(2, fmt, ap);
  va_end(ap);
  return n;
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdprintf_(2, fmt, ap);
  va_end(ap);
  exit(1);
}

/* ---- PRNG ---------------------------------------------------------------------------- */

void rng_seed(rng_t *r, u32 seed) {
  /* xorshift must not start at 0; run the seed through the mixer first. */
  r->s = mix32(seed ^ 0x9e3779b9u);
  if (r->s == 0) r->s = 0x2545f491u;
}

u32 rng_next(rng_t *r) {
  u32 x = r->s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  r->s = x;
  return x;
}

u32 rng_below(rng_t *r, u32 n) { return n ? rng_next(r) % n : 0; }
