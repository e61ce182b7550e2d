/* Memory and string heavy: rep movs/stos copies, byte scans and a checksum over a 256 KiB buffer. */
#include "common.h"
static unsigned char a[1 << 18], b[1 << 18];
void _start(void) {
  unsigned sum = 0;
  for (int round = 0; round < 60; round++) {
    void *d = a;
    unsigned n = sizeof a;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(round) : "memory");
    for (unsigned i = 0; i < sizeof a; i += 64) a[i] = (unsigned char)(i * 7 + round);
    const void *src = a;
    void *dst = b;
    unsigned words = sizeof a / 4;
    __asm__ volatile("rep movsl" : "+S"(src), "+D"(dst), "+c"(words) : : "memory");
    for (unsigned i = 0; i < sizeof b; i += 16) sum += b[i] ^ (sum >> 3);
  }
  putu(sum);
  bye(0);
}
