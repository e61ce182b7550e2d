/* Bit tricks: popcount, clz/ctz through bsr/bsf (builtins and inline asm), bswap, rotates, bt/bts/btr/btc,
 * shld/shrd, setcc and cmov. */
#include "mini.h"

static uint32_t asm_bsf(uint32_t v, uint32_t *zf) {
  uint32_t r = 0xdeadbeef;
  uint8_t z;
  __asm__("bsf %2, %0; setz %1" : "+r"(r), "=q"(z) : "rm"(v) : "cc");
  *zf = z;
  return r;
}
static uint32_t asm_bsr(uint32_t v, uint32_t *zf) {
  uint32_t r = 0xdeadbeef;
  uint8_t z;
  __asm__("bsr %2, %0; setz %1" : "+r"(r), "=q"(z) : "rm"(v) : "cc");
  *zf = z;
  return r;
}
static uint32_t asm_bt(uint32_t v, uint32_t bit, uint32_t *out) {
  uint8_t c1, c2, c3, c4;
  uint32_t a = v, b = v, c = v;
  __asm__("bt %1, %2; setc %0" : "=q"(c1) : "r"(bit), "r"(v) : "cc");
  __asm__("bts %2, %0; setc %1" : "+r"(a), "=q"(c2) : "r"(bit) : "cc");
  __asm__("btr %2, %0; setc %1" : "+r"(b), "=q"(c3) : "r"(bit) : "cc");
  __asm__("btc %2, %0; setc %1" : "+r"(c), "=q"(c4) : "r"(bit) : "cc");
  out[0] = a, out[1] = b, out[2] = c;
  return (uint32_t)c1 | (uint32_t)c2 << 1 | (uint32_t)c3 << 2 | (uint32_t)c4 << 3;
}
static uint32_t rol(uint32_t v, unsigned n) { return (v << (n & 31)) | (v >> ((32 - n) & 31)); }
static uint32_t ror(uint32_t v, unsigned n) { return (v >> (n & 31)) | (v << ((32 - n) & 31)); }
static uint32_t pop_slow(uint32_t v) {
  uint32_t c = 0;
  while (v) v &= v - 1, c++;
  return c;
}

int main(void) {
  uint32_t h = 0;
  for (int i = 0; i < 3000; i++) {
    uint32_t v = rng() >> (rng() % 32);
    if (i < 40) v = i < 32 ? 1u << i : (uint32_t)(i - 32) * 0x11111111u;
    uint32_t zf1, zf2, bt[3];
    uint32_t f = asm_bsf(v, &zf1), r = asm_bsr(v, &zf2);
    h = h * 31 + (v ? f : 99) + (v ? r : 77) + zf1 * 3 + zf2 * 5;
    h = h * 31 + (uint32_t)__builtin_popcount(v) + pop_slow(v) * 64;
    if (v) h = h * 31 + (uint32_t)__builtin_clz(v) + (uint32_t)__builtin_ctz(v) * 64;
    h = h * 31 + __builtin_bswap32(v) + (uint32_t)__builtin_bswap16((uint16_t)v);
    h = h * 31 + rol(v, (unsigned)i) + ror(v, (unsigned)i * 3);
    h = h * 31 + asm_bt(v, (uint32_t)i & 31, bt) + bt[0] + bt[1] * 3 + bt[2] * 5;
    h = h * 31 + (uint32_t)__builtin_parity(v) + (uint32_t)__builtin_clrsb((int32_t)v) * 2;
    uint64_t w = (uint64_t)v << 32 | rng();
    unsigned s = (unsigned)i % 64;
    h = h * 31 + (uint32_t)(w << s) + (uint32_t)((w << s) >> 32) + (uint32_t)(w >> s) + (uint32_t)((int64_t)w >> s);
    h = h * 31 + (uint32_t)__builtin_popcountll(w) + (uint32_t)(w ? __builtin_ctzll(w) : 0);
    h += (int32_t)v < 0 ? 7 : 11; /* setcc / cmov */
    h = (v & 1) ? h + v : h ^ v;
  }
  kv_hex("bits", h);
  uint32_t zf;
  kv_u32("bsf(0x80000000)", asm_bsf(0x80000000u, &zf));
  kv_u32("bsr(1)", asm_bsr(1, &zf));
  kv_hex("bswap", __builtin_bswap32(0x11223344));
  return 0;
}
