/* Non-local exits: setjmp/longjmp (glibc: also sigsetjmp/siglongjmp, which save and restore the signal
 * mask with rt_sigprocmask) or, freestanding, gcc's __builtin_setjmp/__builtin_longjmp. */
#include "mini.h"
#ifndef FREESTANDING
#include <setjmp.h>
#include <signal.h>
static jmp_buf jb, jb2;
static sigjmp_buf sjb;
#define SETJMP(b) setjmp(b)
#define LONGJMP(b, v) longjmp(b, v)
#else
static void *jb[5], *jb2[5];
#define SETJMP(b) (__builtin_setjmp(b) ? jmp_val : 0)
#define LONGJMP(b, v) (jmp_val = (v), __builtin_longjmp(b, 1))
static volatile int jmp_val;
#endif

static volatile int depth_reached;
__attribute__((noinline)) static void dive(int n, int target) {
  volatile char pad[64];
  pad[n & 63] = (char)n;
  depth_reached = n + pad[n & 63] - n;
  if (n == target) LONGJMP(jb, n);
  dive(n + 1, target);
}

__attribute__((noinline)) static void bounce(int v) { LONGJMP(jb2, v); }
__attribute__((noinline)) static int inner(int k) {
  if (SETJMP(jb2) == 0) {
    if (k & 1) bounce(5);
    return 1;
  }
  return 2;
}

int main(void) {
  volatile uint32_t total = 0;
  for (int t = 1; t <= 200; t += 7) {
    int r = SETJMP(jb);
    if (r == 0) {
      dive(0, t);
      out_str("not reached\n");
    } else {
      total = total * 3 + (uint32_t)r + (uint32_t)depth_reached;
    }
  }
  kv_u32("total", total);
  uint32_t s = 0;
  for (int k = 0; k < 10; k++) s = s * 10 + (uint32_t)inner(k);
  kv_u32("inner", s);
#ifndef FREESTANDING
  volatile int count = 0;
  if (sigsetjmp(sjb, 1) < 3) {
    count++;
    siglongjmp(sjb, count);
  }
  kv_u32("sig", (uint32_t)count);
  sigset_t set;
  sigprocmask(SIG_BLOCK, 0, &set);
  kv_u32("usr1-blocked", (uint32_t)sigismember(&set, SIGUSR1));
#endif
  return 0;
}
