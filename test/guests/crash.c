/* Guests that die of a signal. argv[1] picks the fault:
 *   segv  null-pointer store        -> SIGSEGV (11)
 *   trap  int3                      -> SIGTRAP (5)
 *   ill   ud2                       -> SIGILL (4)
 *   fpe   32-bit divide by zero     -> SIGFPE (8)
 *   fpe2  INT_MIN / -1 (idiv)       -> SIGFPE (8)
 *   jump  call into unmapped memory -> SIGSEGV (11)
 * Output written before the fault must still appear (the freestanding build flushes first). */
#include "mini.h"

static volatile int zero = 0, minus1 = -1, intmin = (int)0x80000000u;

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "segv";
  out_str("before fault: ");
  out_str(what);
  out_nl();
  out_flush();
  err_str("stderr before fault\n");
  if (!memcmp(what, "segv", 5)) *(volatile int *)0 = 1;
  if (!memcmp(what, "trap", 5)) __asm__ volatile("int3");
  if (!memcmp(what, "ill", 4)) __asm__ volatile("ud2");
  if (!memcmp(what, "fpe", 4)) kv_u32("q", (uint32_t)(100 / zero));
  if (!memcmp(what, "fpe2", 5)) kv_u32("q", (uint32_t)(intmin / minus1));
  if (!memcmp(what, "jump", 5)) ((void (*)(void))0xdead0000)();
  out_str("survived\n");
  return 0;
}
