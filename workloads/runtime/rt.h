/*
 * rt.h - the tiny freestanding runtime of the probelab guest workloads.
 *
 * The workloads are static i386 Linux programs built with
 *     gcc -m32 -nostdlib -nostdinc -ffreestanding -static ...
 * and no C library at all (see ../build.sh).  This header declares
 * everything they use: raw system calls through `int $0x80`, threads made
 * with a raw clone(2), spinlocks, futex mutexes and counting semaphores,
 * sleeping, a small printf, a deterministic PRNG and a few string helpers.
 *
 * Nothing here uses thread-local storage (no %gs, no set_thread_area), so a
 * thread needs nothing but its own stack.
 */
#ifndef PROBELAB_RT_H
#define PROBELAB_RT_H

/* ---- types (no <stdint.h>: we compile with -nostdinc) ------------------ */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed int s32;
typedef signed long long s64;
typedef unsigned int size_t;
typedef int ssize_t;
typedef unsigned int uintptr_t;

#define NULL ((void *)0)

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)

/*
 * PROBE_TARGET marks a function that the probelab documentation tells you to
 * put a kprobe/kretprobe on.  It must stay a real, separately called function
 * with its exact symbol name and the ordinary cdecl convention (arguments on
 * the stack, so `$argN` works): no inlining, no cloning (foo.constprop.0),
 * no IPA-driven register calling convention.  `noipa` (GCC >= 8) implies all
 * of that; `used` keeps it even if nothing calls it (e.g. a jprobe handler).
 */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define PROBE_TARGET __attribute__((noinline, used, noipa))
#else
#define PROBE_TARGET __attribute__((noinline, used, noclone))
#endif

#define NORETURN __attribute__((noreturn))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- raw system calls -------------------------------------------------- */

/* Linux i386 system call numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_getpid 20
#define SYS_munmap 91
#define SYS_clone 120
#define SYS_sched_yield 158
#define SYS_nanosleep 162
#define SYS_mmap2 192
#define SYS_gettid 224
#define SYS_futex 240
#define SYS_exit_group 252
#define SYS_clock_gettime 265

/* Implemented in start.S: eax = nr, ebx..ebp = a1..a6, then `int $0x80`.
 * Returns the raw kernel result (-4095..-1 means -errno). */
long rt_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

struct timespec {
  long tv_sec;
  long tv_nsec;
};

#define O_RDONLY 0
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define CLOCK_MONOTONIC 1
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

ssize_t sys_write(int fd, const void *buf, size_t n);
ssize_t sys_read(int fd, void *buf, size_t n);
int sys_open(const char *path, int flags, int mode);
int sys_close(int fd);
NORETURN void sys_exit(int code);       /* this thread only */
NORETURN void sys_exit_group(int code); /* the whole process */
int sys_nanosleep(const struct timespec *req, struct timespec *rem);
int sys_clock_gettime(int clk, struct timespec *ts); /* never used for results */
int sys_sched_yield(void);
int sys_gettid(void);
int sys_getpid(void);
int sys_futex(volatile int *uaddr, int op, int val, const struct timespec *timeout);
void *sys_mmap2(void *addr, size_t len, int prot, int flags, int fd, long pgoff);
int sys_munmap(void *addr, size_t len);

/* Is a syscall return value an error (-4095..-1)? */
static inline int rt_is_err(long r) { return (unsigned long)r >= (unsigned long)-4095; }

/* ---- process ------------------------------------------------------------ */

NORETURN void exit(int code); /* exit_group */

/* Anonymous zeroed memory straight from mmap2 (rounded up to pages).
 * Dies with a message when the mapping fails. */
void *rt_alloc(size_t bytes);
void rt_free(void *p, size_t bytes);

/* ---- threads ------------------------------------------------------------ */

typedef int (*rt_thread_fn)(void *arg);

typedef struct rt_thread {
  volatile int tid; /* set by CLONE_PARENT_SETTID, cleared (+ futex wake) at exit */
  void *stack;
  size_t stack_size;
} rt_thread_t;

#define RT_THREAD_STACK (64 * 1024)

/* Start fn(arg) in a new thread (raw clone, own mmap'd stack, no TLS).
 * Returns 0 or -errno.  The thread's return value is discarded. */
int thread_create(rt_thread_t *t, rt_thread_fn fn, void *arg);
/* Wait for the thread to exit (futex wait on the CLONE_CHILD_CLEARTID word)
 * and free its stack. */
void thread_join(rt_thread_t *t);

/* Implemented in start.S: clone(flags, child_sp, ptid, 0, ctid); the child
 * pops fn from its new stack, calls fn(arg) and exits with its result. */
int rt_clone(int flags, void *child_sp, volatile int *ptid, volatile int *ctid);

/* ---- atomics (x86: every locked instruction is a full barrier) ---------- */

#define barrier() __asm__ __volatile__("" ::: "memory")
static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }
static inline int atomic_xchg(volatile int *p, int v) {
  __asm__ __volatile__("lock; xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
  return v;
}
static inline int atomic_fetch_add(volatile int *p, int v) {
  __asm__ __volatile__("lock; xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
  return v;
}
/* Returns the value that was in *p; the swap happened iff it equals `expected`. */
static inline int atomic_cmpxchg(volatile int *p, int expected, int desired) {
  int prev;
  __asm__ __volatile__("lock; cmpxchgl %2, %1"
                       : "=a"(prev), "+m"(*p)
                       : "r"(desired), "0"(expected)
                       : "memory", "cc");
  return prev;
}

/* ---- locks ---------------------------------------------------------------- */

/* Spinlock: `lock xchg` to take it, `pause` while it is busy.  After a while
 * of spinning the waiter also calls sched_yield(), so that a lock holder that
 * was preempted (by the emulator's tick, or by the host when these binaries
 * run natively on fewer CPUs than threads) gets the CPU back quickly. */
typedef struct {
  volatile int locked;
} spinlock_t;
#define SPINLOCK_INIT {0}
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/* Mutex: 0 = free, 1 = locked, 2 = locked with waiters; sleeps in
 * FUTEX_WAIT (Drepper, "Futexes Are Tricky", mutex #2). */
typedef struct {
  volatile int state;
} mutex_t;
#define MUTEX_INIT {0}
void mutex_lock(mutex_t *m);
void mutex_unlock(mutex_t *m);

/* Counting semaphore on a futex. */
typedef struct {
  volatile int count;
  volatile int waiters;
} sem_t;
void sem_init(sem_t *s, int count);
void sem_wait(sem_t *s); /* P: sleeps while the count is 0 */
void sem_post(sem_t *s); /* V */

/* ---- time ---------------------------------------------------------------- */

void sleep_ns(long ns); /* nanosleep, restarted on EINTR */
static inline void sleep_us(long us) { sleep_ns(us * 1000L); }

/* ---- output --------------------------------------------------------------- */

/* Formats: %d %i %u %x %X %s %c %p %% with the l / ll length modifiers
 * (%ld %lu %lx %lld %llu %llx), a field width, and the flags '-' and '0'.
 * Each printf call is a single write(2), so lines from different threads
 * never mix (the workloads print only from main anyway). */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* stderr */
NORETURN void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- strings -------------------------------------------------------------- */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int atoi(const char *s);

/* Numeric argument argv[idx] (1-based), or `def` when absent.  A value that
 * is not a decimal number in [min, max] prints `usage` and exits with 2. */
int arg_int(int argc, char **argv, int idx, int def, int min, int max, const char *usage);

/* ---- deterministic pseudo-random numbers ---------------------------------- */

/* xorshift32 (Marsaglia 2003).  Always seeded from the command line, never
 * from time, so every run of a workload does exactly the same work. */
typedef struct {
  u32 s;
} rng_t;
void rng_seed(rng_t *r, u32 seed);
u32 rng_next(rng_t *r);
u32 rng_below(rng_t *r, u32 n); /* 0 .. n-1 */

/* A 32-bit mixing function (the murmur3 finalizer) for checksums. */
static inline u32 mix32(u32 h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* ---- probes ---------------------------------------------------------------- */

/* A jprobe's guest handler must end by calling jprobe_return().  It is a bare
 * `int3` that the probelab probe engine catches (Linux's break handler, K7):
 * it restores the registers and stack saved at the probe hit and resumes the
 * probed function.  Natively nothing catches it and the process gets SIGTRAP,
 * so never call a jprobe handler directly. */
void jprobe_return(void);

#endif /* PROBELAB_RT_H */
