/* Call-heavy recursion: fib(N), N = 30 by default (about 1.35 million calls) and returns. */
#include "common.h"
#ifndef N
#define N 30
#endif
__attribute__((noinline)) static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void _start(void) {
  putu(fib(N));
  bye(0);
}
