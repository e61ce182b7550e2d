/* Issue 12, this round's item 2: a new thread starts with the x87 and SSE state of the thread that
 * created it (Linux fpu_clone copies it; the emulator used to reset the x87 part). The parent sets a
 * control word (rounding up, 53-bit precision), raises a sticky exception flag (divide by zero,
 * masked) and an MXCSR (rounding up); the thread prints what it finds and rounds with it. Built
 * -msse2 and run on the pentium4 model (qemu: a CPU with SSE2). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static void *worker(void *arg) {
  (void)arg;
  uint16_t cw, sw;
  uint32_t mx;
  volatile double one = 1.0, three = 3.0;
  long double q = (long double)one / three; /* x87, rounded by the inherited control word */
  volatile float f1 = 1.0f, f3 = 3.0f;
  float fq;
  __asm__ volatile("fnstcw %0\n\tfnstsw %1\n\tstmxcsr %2" : "=m"(cw), "=m"(sw), "=m"(mx));
  __asm__ volatile("movss %1, %%xmm0\n\tdivss %2, %%xmm0\n\tmovss %%xmm0, %0" : "=m"(fq) : "m"(f1), "m"(f3) : "xmm0");
  printf("thread: cw=%#x zero-divide flag=%d mxcsr=%#x x87 1/3=%.20Lg sse 1/3=%.9g\n", cw, (sw >> 2) & 1,
         mx & ~0x3fu, q, (double)fq);
  return NULL;
}

int main(void) {
  uint16_t cw = 0x0e7f; /* rounding up, 53-bit precision, all exceptions masked */
  uint32_t mx = 0x5f80; /* rounding up, all masked */
  volatile double z = 0.0, one = 1.0;
  __asm__ volatile("fldcw %0\n\tldmxcsr %1" : : "m"(cw), "m"(mx));
  __asm__ volatile("fldl %0\n\tfdivl %1\n\tfstp %%st(0)" : : "m"(one), "m"(z)); /* sets ZE, masked */
  pthread_t th;
  pthread_create(&th, NULL, worker, NULL);
  pthread_join(th, NULL);
  worker(NULL);
  return 0;
}
