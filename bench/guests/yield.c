/* Two threads ping-pong with sched_yield on one CPU: every yield is a context switch. */
#include "common.h"
#define CLONE_FLAGS 0x50f00 /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM */
static char stack[16384] __attribute__((aligned(16)));
static volatile int done;
static int worker(void) {
  for (int i = 0; i < 100000; i++) sys3(158, 0, 0, 0);
  done = 1;
  sys3(1, 0, 0, 0);
  return 0;
}
void _start(void) {
  int r;
  /* clone(flags, stack): the child starts on the new stack with eax = 0 and jumps to worker */
  __asm__ volatile("int $0x80\n\ttest %%eax, %%eax\n\tjnz 1f\n\tcall *%%esi\n1:"
                   : "=a"(r) : "a"(120), "b"(CLONE_FLAGS), "c"(stack + sizeof stack), "d"(0), "S"(worker), "D"(0)
                   : "memory");
  for (int i = 0; i < 100000; i++) sys3(158, 0, 0, 0);
  while (!done) sys3(158, 0, 0, 0);
  putu(1);
  bye(0);
}
