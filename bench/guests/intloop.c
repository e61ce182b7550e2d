/* Integer loop: arithmetic, shifts and branches in registers (xorshift + adds). */
#include "common.h"
void _start(void) {
  unsigned x = 2463534242u, acc = 0;
  for (int i = 0; i < 5000000; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    acc += (x & 0xff) + (i & 3);
  }
  putu(acc);
  bye(0);
}
