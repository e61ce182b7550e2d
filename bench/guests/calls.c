/* Call-heavy recursion: fib(30), about 1.35 million calls and returns. */
#include "common.h"
__attribute__((noinline)) static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void _start(void) {
  putu(fib(30));
  bye(0);
}
