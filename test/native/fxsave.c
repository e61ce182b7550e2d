/*
 * FXSAVE/FXRSTOR with the x87 and SSE state: sets ST(0..3), XMM0-7 and MXCSR, saves, restores a modified
 * image and saves again, printing the architectural fields (FCW, FSW, abridged FTW, MXCSR, ST0-7, XMM0-7;
 * not FOP/FIP/FDP, which hold addresses and differ between a -m64 and a -m32 build). Built -m64 it runs
 * on the real CPU, built -m32 in the emulator and qemu-i386: test/sse.test.ts compares the outputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
static uint8_t img[512] __attribute__((aligned(16)));
static uint8_t img2[512] __attribute__((aligned(16)));
static void dump(const char *tag, const uint8_t *p) {
  /* FCW FSW FTW(abridged) | MXCSR | ST0-7 (10 bytes) | XMM0-7 */
  printf("%s %02x%02x %02x%02x %02x |", tag, p[1], p[0], p[3], p[2], p[4]);
  printf(" %02x%02x%02x%02x |", p[27], p[26], p[25], p[24]);
  for (int i = 0; i < 8; i++) { printf(" "); for (int k = 9; k >= 0; k--) printf("%02x", p[32 + 16 * i + k]); }
  printf(" |");
  for (int i = 0; i < 8; i++) { printf(" "); for (int k = 15; k >= 0; k--) printf("%02x", p[160 + 16 * i + k]); }
  printf("\n");
}
int main(void) {
  static const uint32_t x[4] __attribute__((aligned(16))) = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
  unsigned mx = 0x9fc0 | 0x2000 | 0x5; /* FZ, DAZ, RC down, sticky IE|ZE */
  __asm__ volatile("fninit\n fld1\n fldpi\n fldl2e\n fldz\n fchs\n"
                   "movdqa %0,%%xmm0\n pcmpeqd %%xmm1,%%xmm1\n pxor %%xmm2,%%xmm2\n movdqa %%xmm0,%%xmm7\n psllq $3,%%xmm7\n"
                   "pxor %%xmm3,%%xmm3\n pxor %%xmm4,%%xmm4\n pxor %%xmm5,%%xmm5\n pxor %%xmm6,%%xmm6\n"
                   "ldmxcsr %1\n fxsave %2" : : "m"(x), "m"(mx), "m"(img) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory");
  dump("save1", img);
  /* change everything, then restore the first image and save again */
  memcpy(img2, img, 512);
  img2[0] = 0x7f; img2[1] = 0x0c; /* FCW: RC toward zero, PC 24 */
  img2[160] ^= 0xff; /* XMM0 low byte */
  img2[24] = 0x80; img2[25] = 0x1f; img2[26] = 0; img2[27] = 0; /* MXCSR default */
  img2[4] = 0x0f; /* ST regs 0-3 physical valid only */
  __asm__ volatile("fninit\n pxor %%xmm0,%%xmm0\n fxrstor %0\n fxsave %1" : : "m"(img2), "m"(img) : "xmm0", "memory");
  dump("save2", img);
  unsigned cw; __asm__ volatile("fnstcw %0" : "=m"(cw));
  unsigned m2; __asm__ volatile("stmxcsr %0" : "=m"(m2));
  printf("cw %04x mxcsr %08x\n", cw & 0xffff, m2);
  return 0;
}
