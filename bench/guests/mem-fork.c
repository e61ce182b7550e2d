/* fork + exit + waitpid, FORKS times, from a process with 8 MiB of written memory (2048 pages).
   With -DCHILD_WRITES=n each child first writes one word in each of n pages (copy-on-write copies).
   Freestanding i386 (common.h); prints the number of children reaped. */
#include "common.h"
#ifndef FORKS
#define FORKS 200
#endif
#ifndef CHILD_WRITES
#define CHILD_WRITES 0
#endif
static volatile unsigned big[8 << 20 >> 2];
void _start(void) {
  for (unsigned i = 0; i < sizeof big / 4; i += 1024) big[i] = i;
  unsigned reaped = 0;
  for (int k = 0; k < FORKS; k++) {
    int pid = sys3(2, 0, 0, 0); /* fork */
    if (pid == 0) {
      for (unsigned i = 0; i < CHILD_WRITES; i++) big[i * 1024] = k;
      bye(0);
    }
    int st = -1;
    if (sys3(7, pid, (int)&st, 0) == pid && st == 0) reaped++; /* waitpid */
  }
  putu(reaped);
  bye(0);
}
