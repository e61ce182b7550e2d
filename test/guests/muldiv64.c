/* 64-bit multiply, divide, modulo and shifts (libgcc __udivdi3, __divdi3, __umoddi3, __moddi3 and the
 * inline mul/imul/shld/shrd sequences gcc emits for long long on i386). */
#include "mini.h"

static const uint64_t edge[] = {0,
                                1,
                                2,
                                3,
                                7,
                                10,
                                0x7f,
                                0xff,
                                0x7fffffff,
                                0x80000000u,
                                0xffffffffu,
                                0x100000000ull,
                                0x123456789abcdefull,
                                0x7fffffffffffffffull,
                                0x8000000000000000ull,
                                0xfffffffffffffffeull,
                                0xffffffffffffffffull,
                                1000000007ull,
                                0xdeadbeefcafef00dull};

static volatile uint64_t sink;

int main(void) {
  size_t ne = sizeof edge / sizeof edge[0];
  uint64_t h = 0;
  for (size_t i = 0; i < ne + 120; i++) {
    for (size_t j = 0; j < ne + 20; j++) {
      uint64_t a = i < ne ? edge[i] : ((uint64_t)rng() << 32 | rng()) >> (rng() % 64);
      uint64_t b = j < ne ? edge[j] : ((uint64_t)rng() << 32 | rng()) >> (rng() % 64);
      int64_t sa = (int64_t)a, sb = (int64_t)b;
      h = h * 1099511628211ull + a * b;
      h ^= (uint64_t)(sa * sb) >> 7;
      if (b) {
        h = h * 31 + a / b;
        h = h * 31 + a % b;
        if (!(sa == INT64_MIN && sb == -1)) {
          h = h * 31 + (uint64_t)(sa / sb);
          h = h * 31 + (uint64_t)(sa % sb);
        }
      }
      unsigned s = (unsigned)(b & 63);
      h = h * 31 + (a << s) + (a >> s) + (uint64_t)(sa >> s);
      h += (uint64_t)((uint32_t)a) * (uint32_t)b; /* 32x32->64 mul */
      h += (uint64_t)((int64_t)(int32_t)a * (int32_t)b);
      h += a < b ? 1 : 0;
      h += sa < sb ? 2 : 0;
    }
    if (i % 32 == 0) {
      out_hex64(h);
      out_nl();
    }
  }
  out_str("final ");
  out_hex64(h);
  out_nl();
  out_i64(-1234567890123456789ll);
  out_nl();
  out_u64(18446744073709551615ull);
  out_nl();
  sink = h;
  return 0;
}
