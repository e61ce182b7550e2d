/* Handlers, frames and masks: what a handler sees (siginfo, ucontext registers, the old sigcontext),
 * SA_RESETHAND, SA_NODEFER, sa_mask, blocking and pending sets, several pending signals at once,
 * real-time queueing, sigqueue values, sigsuspend, sigtimedwait, sigaltstack, signal() and kill(). */
#include "common.h"
#include <stdint.h>
#include <time.h>
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* uapi linux/signal.h; glibc does not export it */
#endif

/* tgkill with every register set to a known value, so the handler can check the saved context. */
extern void regs_tgkill(int tgid, int tid, int sig);
extern char regs_tgkill_after[];
uint32_t saved_esp;
__asm__(".text\n.globl regs_tgkill\nregs_tgkill:\n"
        "  pushl %ebx\n  pushl %esi\n  pushl %edi\n  pushl %ebp\n"
        "  movl 20(%esp), %ebx\n  movl 24(%esp), %ecx\n  movl 28(%esp), %edx\n"
        "  movl $0x11111111, %esi\n  movl $0x22222222, %edi\n  movl $0x33333333, %ebp\n"
        "  movl %esp, saved_esp\n  movl $270, %eax\n  stc\n"
        "  int $0x80\n"
        ".globl regs_tgkill_after\nregs_tgkill_after:\n"
        "  popl %ebp\n  popl %edi\n  popl %esi\n  popl %ebx\n  ret\n");

/* The same call made with DF set: Linux clears DF for the handler (the ABI's function-entry state)
 * and sigreturn gives the interrupted code its DF back. qemu-user 7.2 leaves DF set in the handler,
 * where string instructions then run backwards, so this part runs only when asked (argv[1] "df"). */
extern void df_tgkill(int tgid, int tid, int sig);
extern unsigned df_after;
__asm__(".text\n.globl df_tgkill\ndf_tgkill:\n"
        "  pushl %ebx\n  movl 8(%esp), %ebx\n  movl 12(%esp), %ecx\n  movl 16(%esp), %edx\n"
        "  movl $270, %eax\n  std\n  int $0x80\n"
        "  pushfl\n  popl df_after\n  cld\n  popl %ebx\n  ret\n");
unsigned df_after;
static void on_df(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  unsigned long fl;
  (void)si;
  __asm__ volatile("pushfl; popl %0" : "=r"(fl));
  logf_("L: df: sig=%d saved_df=%d handler_df=%d\n", sig, (int)((uc->uc_mcontext.gregs[REG_EFL] >> 10) & 1),
        (int)((fl >> 10) & 1));
}

static void on_regs(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  logf_("regs: sig=%d signo=%d code=%d pid_ok=%d uid_ok=%d\n", sig, si->si_signo, si->si_code,
        si->si_pid == getpid(), si->si_uid == getuid());
  logf_("regs: eip=after%+d esp=saved%+d uesp=saved%+d eax=%d ebx_ok=%d ecx_ok=%d edx=%d\n",
        (int)(g[REG_EIP] - (greg_t)regs_tgkill_after), (int)(g[REG_ESP] - (greg_t)saved_esp),
        (int)(g[REG_UESP] - (greg_t)saved_esp), (int)g[REG_EAX], g[REG_EBX] == getpid(),
        g[REG_ECX] == gettid_(), (int)g[REG_EDX]);
  logf_("regs: esi=%x edi=%x ebp=%x cf=%d df=%d cs_rpl=%d\n", (unsigned)g[REG_ESI], (unsigned)g[REG_EDI],
        (unsigned)g[REG_EBP], (int)(g[REG_EFL] & 1), (int)((g[REG_EFL] >> 10) & 1), (int)(g[REG_CS] & 3));
  /* The handler runs with DF clear (the ABI's function-entry state). */
  unsigned long fl;
  __asm__ volatile("pushfl; popl %0" : "=r"(fl));
  logf_("regs: handler df=%d info_is_arg=%d ctx_in_frame=%d\n", (int)((fl >> 10) & 1),
        (void *)si > (void *)&fl, (void *)uc > (void *)si);
  /* uc_sigmask is the mask before delivery; during the handler the signal itself is blocked. */
  sigset_t now;
  sigprocmask(SIG_BLOCK, 0, &now);
  logf_("regs: saved_mask_has=%d now_blocked=%d\n", sigismember(&uc->uc_sigmask, sig), sigismember(&now, sig));
}

/* A handler without SA_SIGINFO gets the old frame: the sigcontext follows the signal number. */
static void on_old(int sig, struct sigcontext sc) {
  logf_("old: sig=%d esi=%lx edi=%lx ebp=%lx eip=after%+ld eax=%ld oldmask_usr2=%d\n", sig, sc.esi, sc.edi,
        sc.ebp, (long)(sc.eip - (unsigned long)regs_tgkill_after), (long)sc.eax,
        (int)((sc.oldmask >> (SIGUSR2 - 1)) & 1));
}

static int resethand_count;
static void on_reset(int sig) { logf_("resethand: run %d sig=%d\n", ++resethand_count, sig); }

static int depth, maxdepth;
static void on_nodefer(int sig) {
  depth++;
  if (depth > maxdepth) maxdepth = depth;
  logf_("nodefer: enter depth=%d\n", depth);
  if (depth < 3) raise(sig);
  logf_("nodefer: leave depth=%d\n", depth);
  depth--;
}

static void on_defer(int sig) {
  depth++;
  logf_("defer: enter depth=%d\n", depth);
  if (depth == 1 && resethand_count < 100) {
    resethand_count = 100;
    raise(sig); /* stays pending until this handler returns */
    logf_("defer: raised inside, still depth=%d\n", depth);
  }
  depth--;
}

static void on_log(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  logf_("handler: sig=%d code=%d value=%d\n", sig, si->si_code, si->si_value.sival_int);
}

static void on_mask(int sig) {
  logf_("mask: handler %d begins\n", sig);
  if (sig == SIGUSR1) {
    raise(SIGUSR2); /* in sa_mask: waits */
    logf_("mask: raised SIGUSR2 inside\n");
  }
  logf_("mask: handler %d ends\n", sig);
}

static char altstack[65536];
static void on_alt(int sig) {
  char here;
  stack_t cur;
  sigaltstack(0, &cur);
  logf_("alt: sig=%d on_alt=%d flags=%d\n", sig, &here >= altstack && &here < altstack + sizeof altstack,
        cur.ss_flags);
}

static void on_alt_rt(int sig, siginfo_t *si, void *ctx) {
  char here;
  stack_t cur;
  ucontext_t *uc = ctx;
  (void)si;
  sigaltstack(0, &cur);
  logf_("L: alt rt: sig=%d on_alt=%d flags=%d saved_flags=%#x\n", sig,
        &here >= altstack && &here < altstack + sizeof altstack, cur.ss_flags, (unsigned)uc->uc_stack.ss_flags);
}

static void on_plain(int sig) { logf_("plain: sig=%d\n", sig); }

int main(int argc, char **argv) {
  int usr2[] = {SIGUSR2, 0};
  if (argc > 1 && !strcmp(argv[1], "df")) {
    install(SIGUSR1, on_df, SA_SIGINFO, 0);
    df_tgkill(getpid(), gettid_(), SIGUSR1);
    flushlog();
    printf("L: df after sigreturn=%d\n", (int)((df_after >> 10) & 1));
    return 0;
  }

  printf("== registers and siginfo (rt frame)\n");
  install(SIGUSR1, on_regs, SA_SIGINFO, 0);
  regs_tgkill(getpid(), gettid_(), SIGUSR1);
  flushlog();

  printf("== old frame (no SA_SIGINFO)\n");
  install(SIGUSR1, on_old, 0, 0);
  block(SIG_BLOCK, SIGUSR2);
  regs_tgkill(getpid(), gettid_(), SIGUSR1);
  block(SIG_UNBLOCK, SIGUSR2);
  flushlog();

  printf("== SA_RESETHAND\n");
  install(SIGURG, on_reset, SA_RESETHAND, 0);
  raise(SIGURG);
  raise(SIGURG); /* default action of SIGURG: ignore */
  struct sigaction q;
  sigaction(SIGURG, 0, &q);
  flushlog();
  printf("after: count=%d handler_is_default=%d\n", resethand_count, q.sa_handler == SIG_DFL);

  printf("== SA_NODEFER nests, the default defers\n");
  install(SIGUSR1, on_nodefer, SA_NODEFER, 0);
  raise(SIGUSR1);
  flushlog();
  printf("maxdepth=%d\n", maxdepth);
  install(SIGUSR1, on_defer, 0, 0);
  raise(SIGUSR1);
  flushlog();

  printf("== sa_mask\n");
  install(SIGUSR1, on_mask, 0, usr2);
  install(SIGUSR2, on_mask, 0, 0);
  raise(SIGUSR1);
  flushlog();

  printf("== blocked, pending, delivered on unblock\n");
  install(SIGUSR1, on_plain, 0, 0);
  install(SIGUSR2, on_plain, 0, 0);
  block(SIG_BLOCK, SIGUSR1);
  raise(SIGUSR1);
  raise(SIGUSR1); /* a standard signal is pending once */
  sigset_t pend;
  sigpending(&pend);
  printf("pending usr1=%d usr2=%d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2));
  block(SIG_UNBLOCK, SIGUSR1);
  logf_("unblocked\n");
  flushlog();

  printf("== two pending signals at once\n");
  sigset_t both, old;
  sigemptyset(&both);
  sigaddset(&both, SIGUSR1);
  sigaddset(&both, SIGUSR2);
  sigprocmask(SIG_BLOCK, &both, &old);
  raise(SIGUSR2);
  raise(SIGUSR1);
  sigprocmask(SIG_SETMASK, &old, 0);
  flushlog();

  printf("== real-time signals queue, with values\n");
  install(SIGRTMIN, on_log, SA_SIGINFO, 0);
  install(SIGRTMIN + 1, on_log, SA_SIGINFO, 0);
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN);
  sigaddset(&rt, SIGRTMIN + 1);
  sigprocmask(SIG_BLOCK, &rt, &old);
  for (int i = 1; i <= 3; i++) sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i});
  sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 9});
  sigprocmask(SIG_SETMASK, &old, 0);
  flushlog();

  printf("== sigsuspend\n");
  block(SIG_BLOCK, SIGUSR1);
  raise(SIGUSR1);
  sigset_t none;
  sigemptyset(&none);
  int r = sigsuspend(&none);
  int e = errno;
  sigset_t after;
  sigprocmask(SIG_BLOCK, 0, &after);
  flushlog();
  printf("sigsuspend=%d errno=%s mask_restored=%d\n", r, e == EINTR ? "EINTR" : "?", sigismember(&after, SIGUSR1));
  block(SIG_UNBLOCK, SIGUSR1);

  printf("== sigtimedwait\n");
  block(SIG_BLOCK, SIGUSR1);
  raise(SIGUSR1);
  sigset_t w;
  sigemptyset(&w);
  sigaddset(&w, SIGUSR1);
  siginfo_t si;
  struct timespec ts = {0, 1000000};
  r = sigtimedwait(&w, &si, &ts);
  /* glibc folds the kernel's SI_TKILL (raise uses tgkill) into SI_USER here. */
  printf("sigtimedwait=%d signo=%d code=%d\n", r, si.si_signo, si.si_code);
  r = sigtimedwait(&w, &si, &ts);
  printf("sigtimedwait=%d errno=%s\n", r, errno == EAGAIN ? "EAGAIN" : "?");
  block(SIG_UNBLOCK, SIGUSR1);

  printf("== sigaltstack\n");
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  printf("sigaltstack=%d\n", sigaltstack(&ss, 0));
  install(SIGUSR1, on_alt, SA_ONSTACK, 0);
  install(SIGUSR2, on_alt, 0, 0);
  raise(SIGUSR1);
  raise(SIGUSR2);
  stack_t cur;
  sigaltstack(0, &cur);
  flushlog();
  printf("outside: flags=%d size_ok=%d\n", cur.ss_flags, cur.ss_size == sizeof altstack);
  /* SS_AUTODISARM (Linux 4.7; qemu-user 7.2 refuses it, hence "L:"): an rt frame saves the stack in
   * uc_stack and disarms it for the handler; rt_sigreturn re-arms it. */
  ss.ss_flags = SS_AUTODISARM;
  printf("L: autodisarm=%d\n", sigaltstack(&ss, 0));
  install(SIGUSR1, on_alt_rt, SA_SIGINFO | SA_ONSTACK, 0);
  raise(SIGUSR1);
  sigaltstack(0, &cur);
  flushlog();
  printf("L: after: flags=%#x size_ok=%d\n", (unsigned)cur.ss_flags, cur.ss_size == sizeof altstack);
  ss.ss_flags = 0;
  ss.ss_size = 100;
  r = sigaltstack(&ss, 0);
  printf("too small: %d %s\n", r, errno == ENOMEM ? "ENOMEM" : "?");

  printf("== signal(), SIG_IGN, kill(), errors\n");
  signal(SIGUSR1, on_plain);
  kill(getpid(), SIGUSR1);
  flushlog();
  signal(SIGUSR1, SIG_IGN);
  kill(getpid(), SIGUSR1);
  printf("ignored ok\n");
  printf("kill(0)=%d\n", kill(getpid(), 0));
  r = sigaction(SIGKILL, &q, 0);
  printf("sigaction(SIGKILL)=%d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
  r = kill(getpid(), 99);
  printf("kill(99)=%d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
  r = (int)syscall(SYS_rt_sigaction, SIGUSR1, 0, 0, 4);
  printf("rt_sigaction(size 4)=%d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
  return 0;
}
