/* The FPU and SSE state in the signal frame on a CPU with FXSR (built -msse2, run as pentium4): the
 * frame holds the interrupted x87 control word, MXCSR and XMM0 (struct _fpstate_32: the fsave-format
 * header, magic 0 = FXSR data follows, then the fxsave image); the handler starts with the initial
 * state; what the handler writes into the frame is what the interrupted code gets back. */
#include "common.h"
#include <stdint.h>

/* Byte offsets in struct _fpstate_32 (uapi asm/sigcontext.h). */
#define FP_CW 0
#define FP_MAGIC 110
#define FP_MXCSR (112 + 24)
#define FP_XMM0 (112 + 160)

static uint32_t frame_magic, frame_mxcsr, frame_cw, frame_xmm0[4];
static uint32_t handler_mxcsr, handler_xmm0[4];
static uint16_t handler_cw;

/* qemu-user aligns signal frames to 8 bytes only (Linux: 16): realign, SSE code needs it. */
__attribute__((force_align_arg_pointer)) static void on_usr1(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)si;
  /* First, before any compiled code can use XMM0 (memcpy does). */
  __asm__ volatile("movdqu %%xmm0, %0" : "=m"(handler_xmm0));
  ucontext_t *uc = ctx;
  unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
  frame_magic = *(uint16_t *)(fp + FP_MAGIC);
  frame_cw = *(uint16_t *)(fp + FP_CW);
  frame_mxcsr = *(uint32_t *)(fp + FP_MXCSR);
  memcpy(frame_xmm0, fp + FP_XMM0, 16);
  __asm__ volatile("stmxcsr %0" : "=m"(handler_mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(handler_cw));
  /* Changes for the interrupted code: XMM0, MXCSR (round up) and the x87 control word (through the
   * fsave-format header, which sigreturn applies over the fxsave image). */
  uint32_t nx[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
  memcpy(fp + FP_XMM0, nx, 16);
  *(uint32_t *)(fp + FP_MXCSR) = 0x5f80;
  *(uint16_t *)(fp + FP_CW) = 0x0f7f;
}

int main(void) {
  install(SIGUSR1, on_usr1, SA_SIGINFO, 0);
  uint32_t x[4] = {0xdeadbeef, 0x01234567, 0x89abcdef, 0xcafef00d}, back[4];
  uint32_t mx = 0x3f80, mxback;
  uint16_t cw = 0x0c7f, cwback;
  __asm__ volatile("ldmxcsr %0" ::"m"(mx));
  __asm__ volatile("fldcw %0" ::"m"(cw));
  /* raise() and everything between here and the kill must leave XMM0 alone: load it right before. */
  __asm__ volatile("movdqu %0, %%xmm0" ::"m"(x));
  syscall(SYS_tgkill, getpid(), gettid_(), SIGUSR1);
  __asm__ volatile("movdqu %%xmm0, %0" : "=m"(back));
  __asm__ volatile("stmxcsr %0" : "=m"(mxback));
  __asm__ volatile("fnstcw %0" : "=m"(cwback));
  printf("frame: magic=%#x cw=%#x mxcsr=%#x xmm0=%08x %08x %08x %08x\n", frame_magic, frame_cw, frame_mxcsr,
         frame_xmm0[0], frame_xmm0[1], frame_xmm0[2], frame_xmm0[3]);
  /* Linux gives the handler the initial FPU/SSE state (fpu__clear_user_states) and applies the fsave
   * header's x87 state on sigreturn; qemu-user 7.2 does neither, hence "L:". */
  printf("L: handler: cw=%#x mxcsr=%#x xmm0=%08x %08x %08x %08x\n", handler_cw, handler_mxcsr, handler_xmm0[0],
         handler_xmm0[1], handler_xmm0[2], handler_xmm0[3]);
  printf("after: mxcsr=%#x xmm0=%08x %08x %08x %08x\n", mxback, back[0], back[1], back[2], back[3]);
  printf("L: after: cw=%#x\n", cwback);
  return 0;
}
