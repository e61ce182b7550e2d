/* Issue 12 item "FPU state in the fork child": a fork child starts with its parent's x87 stack,
 * control and status words, XMM registers and MXCSR (Linux fpu_clone copies them). The fork is a raw
 * `int $0x80` inside one asm block, so nothing runs between loading the state and the system call
 * (glibc's fork wrapper would call functions, which must leave the x87 stack empty). Built -msse2 and
 * run on the pentium4 model (qemu: a CPU with SSE2). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  static const uint32_t x3[4] = {0xdeadbeef, 0x01234567, 0x89abcdef, 0xcafef00d};
  static const double a = 2.5, b = -7.25;
  uint32_t mx = 0x5f80; /* all exceptions masked, rounding up: the initial MXCSR is 0x1f80 */
  uint16_t cw = 0x0e7f;          /* rounding up, 53-bit precision: a child that reset it would print 0x37f */
  uint32_t back[4], mxback;
  uint16_t cwback, swback;
  double top, second, third;
  int pid;
  fflush(stdout);
  __asm__ volatile("ldmxcsr %[mx]\n\t"
                   "fldcw %[cw]\n\t"
                   "movdqu %[x3], %%xmm3\n\t"
                   "fldl %[b]\n\t"
                   "fldl %[a]\n\t"
                   "fldpi\n\t"
                   "movl $2, %%eax\n\t" /* fork */
                   "int $0x80\n\t"
                   "fstpl %[top]\n\t"
                   "fstpl %[second]\n\t"
                   "fnstsw %[sw]\n\t"
                   "fstpl %[third]\n\t"
                   "fnstcw %[cwb]\n\t"
                   "stmxcsr %[mxb]\n\t"
                   "movdqu %%xmm3, %[back]\n\t"
                   : "=a"(pid), [top] "=m"(top), [second] "=m"(second), [third] "=m"(third), [sw] "=m"(swback),
                     [cwb] "=m"(cwback), [mxb] "=m"(mxback), [back] "=m"(back)
                   : [mx] "m"(mx), [cw] "m"(cw), [x3] "m"(x3), [a] "m"(a), [b] "m"(b)
                   : "xmm3", "memory", "cc");
  const char *who = pid == 0 ? "child" : "parent";
  int st = -1;
  if (pid > 0) waitpid(pid, &st, 0); /* the child prints first */
  printf("%s: st0=%.17g st1=%.17g st2=%.17g top-after-two=%d cw=%#x mxcsr=%#x xmm3=%08x %08x %08x %08x\n", who, top,
         second, third, (swback >> 11) & 7, cwback, mxback, back[0], back[1], back[2], back[3]);
  fflush(stdout);
  if (pid == 0) _exit(0);
  printf("child status %#x\n", st);
  return 0;
}
