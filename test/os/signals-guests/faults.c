/* Synchronous signals from CPU faults delivered to handlers: SIGSEGV (unmapped and read-only pages,
 * si_addr, si_code, trap number), SIGFPE (divide error at the faulting instruction), SIGILL (ud2),
 * SIGTRAP (the guest's own int3, EIP after it), a SIGSEGV handler that siglongjmps out, a handler
 * that repairs the context and returns so the instruction runs again, the FPU state saved in the frame
 * and restored by sigreturn, and a stack overflow caught on the alternate stack. */
#include "common.h"
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>

static sigjmp_buf env;
static char *expect_addr;

static void on_segv_jump(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  if (expect_addr)
    logf_("segv: sig=%d code=%d addr_ok=%d\n", sig, si->si_code, (char *)si->si_addr == expect_addr);
  else
    logf_("segv: sig=%d code=%d addr=%#lx\n", sig, si->si_code, (unsigned long)si->si_addr);
  /* Lines starting "L:" hold what Linux reports and qemu-user does not (it leaves trapno -1). */
  logf_("L: segv trapno=%d err=%d\n", (int)g[REG_TRAPNO], (int)g[REG_ERR]);
  siglongjmp(env, 1);
}

/* Faulting instructions at known labels. */
extern void do_div0(void);
extern char div_insn[];
extern void do_ud2(void);
extern char ud2_insn[];
extern void do_int3(void);
extern char after_int3[];
extern int load_through(int *p);
extern char load_insn[];
__asm__(".text\n"
        ".globl do_div0\ndo_div0:\n  xorl %ecx, %ecx\n  movl $7, %eax\n  cltd\n"
        ".globl div_insn\ndiv_insn:\n  idivl %ecx\n  ret\n"
        ".globl do_ud2\ndo_ud2:\n.globl ud2_insn\nud2_insn:\n  ud2\n  ret\n"
        ".globl do_int3\ndo_int3:\n  int3\n.globl after_int3\nafter_int3:\n  ret\n"
        ".globl load_through\nload_through:\n  movl 4(%esp), %eax\n"
        ".globl load_insn\nload_insn:\n  movl (%eax), %eax\n  ret\n");

static void on_sync(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  uintptr_t addr = (uintptr_t)si->si_addr, eip = (uintptr_t)g[REG_EIP];
  const char *where = "?";
  if (sig == SIGFPE) where = addr == (uintptr_t)div_insn && eip == (uintptr_t)div_insn ? "div_insn" : "?";
  if (sig == SIGILL) where = addr == (uintptr_t)ud2_insn && eip == (uintptr_t)ud2_insn ? "ud2_insn" : "?";
  if (sig == SIGTRAP) where = eip == (uintptr_t)after_int3 ? "after_int3" : "?";
  logf_("sync: sig=%d code=%d at=%s\n", sig, si->si_code, where);
  logf_("L: sync trapno=%d\n", (int)g[REG_TRAPNO]);
  siglongjmp(env, 1);
}

static int good = 1234;
static void on_repair(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  logf_("repair: sig=%d addr=%#lx eip_is_load=%d eax=%#lx\n", sig, (unsigned long)si->si_addr,
        g[REG_EIP] == (greg_t)load_insn, (unsigned long)g[REG_EAX]);
  g[REG_EAX] = (greg_t)&good; /* the load runs again through a good pointer */
}

static unsigned short cw_in_frame, cw_in_handler;
static void on_fpu(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ctx;
  cw_in_frame = (unsigned short)uc->uc_mcontext.fpregs->cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw_in_handler));
}

static volatile int recursion;
static int overflow(int n) {
  volatile char pad[1024];
  pad[0] = (char)n;
  recursion++;
  return overflow(n + 1) + pad[0];
}
static char altstack[1 << 16];
static void on_overflow(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  char here;
  logf_("overflow: sig=%d on_alt=%d\n", sig, &here >= altstack && &here < altstack + sizeof altstack);
  /* Below the stack nothing is mapped on Linux (SEGV_MAPERR); qemu-user has a PROT_NONE guard (ACCERR). */
  logf_("L: overflow code=%d\n", si->si_code);
  siglongjmp(env, 1);
}

int main(void) {
  printf("== SIGSEGV on an unmapped page, siglongjmp out\n");
  install(SIGSEGV, on_segv_jump, SA_SIGINFO, 0);
  if (!sigsetjmp(env, 1)) {
    *(volatile int *)0x10 = 1;
    printf("not reached\n");
  }
  flushlog();
  /* siglongjmp restored the mask (savesigs=1): SIGSEGV is unblocked again. */
  sigset_t m;
  sigprocmask(SIG_BLOCK, 0, &m);
  printf("after jump: segv blocked=%d\n", sigismember(&m, SIGSEGV));

  printf("== SIGSEGV on a read-only page\n");
  char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_addr = ro + 100;
  if (!sigsetjmp(env, 1)) ro[100] = 1;
  expect_addr = 0;
  flushlog();

  printf("== SIGFPE, SIGILL, SIGTRAP\n");
  install(SIGFPE, on_sync, SA_SIGINFO, 0);
  install(SIGILL, on_sync, SA_SIGINFO, 0);
  install(SIGTRAP, on_sync, SA_SIGINFO, 0);
  if (!sigsetjmp(env, 1)) do_div0();
  if (!sigsetjmp(env, 1)) do_ud2();
  if (!sigsetjmp(env, 1)) do_int3();
  flushlog();

  printf("== a handler repairs the context\n");
  install(SIGSEGV, on_repair, SA_SIGINFO, 0);
  int v = load_through((int *)0x20);
  flushlog();
  printf("load returned %d\n", v);

  printf("== FPU state in the frame\n");
  unsigned short cw = 0x0c7f, back; /* round toward zero, 64-bit precision */
  __asm__ volatile("fldcw %0" ::"m"(cw));
  install(SIGUSR1, on_fpu, SA_SIGINFO, 0);
  raise(SIGUSR1);
  __asm__ volatile("fnstcw %0" : "=m"(back));
  printf("cw in frame=%#x in handler=%#x\n", cw_in_frame, cw_in_handler);
  /* Linux restores the FPU from the frame on sigreturn; qemu-user 7.2 leaves the handler's state. */
  printf("L: cw after sigreturn=%#x\n", back);
  unsigned short def = 0x037f;
  __asm__ volatile("fldcw %0" ::"m"(def));

  printf("== stack overflow on the alternate stack\n");
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, 0);
  install(SIGSEGV, on_overflow, SA_SIGINFO | SA_ONSTACK, 0);
  if (!sigsetjmp(env, 1)) overflow(0);
  flushlog();
  printf("recursed: %s\n", recursion > 1000 ? "deep" : "shallow");

  printf("== a blocked fault signal still kills\n");
  fflush(stdout);
  install(SIGSEGV, on_segv_jump, SA_SIGINFO, 0);
  block(SIG_BLOCK, SIGSEGV);
  *(volatile int *)0x30 = 1;
  printf("not reached\n");
  return 0;
}
