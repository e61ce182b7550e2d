/* Struct copies (gcc emits rep movsl or inline moves), struct arguments and return values, bit-fields
 * and unions. */
#include "mini.h"

struct big {
  uint32_t a[37];
  uint16_t s;
  uint8_t c;
};
struct bits {
  unsigned x : 3;
  unsigned y : 7;
  signed z : 5;
  unsigned w : 17;
};
union pun {
  uint32_t u;
  float f;
  uint8_t b[4];
};
struct small {
  uint8_t a, b;
  uint16_t c;
};

__attribute__((noinline)) static struct big make_big(uint32_t seed) {
  struct big b;
  for (int i = 0; i < 37; i++) b.a[i] = seed * (uint32_t)(i + 1);
  b.s = (uint16_t)seed;
  b.c = (uint8_t)(seed >> 3);
  return b;
}
__attribute__((noinline)) static uint32_t sum_big(struct big b) {
  uint32_t s = b.s + b.c;
  for (int i = 0; i < 37; i++) s = s * 7 + b.a[i];
  return s;
}
__attribute__((noinline)) static struct small swap_small(struct small s) {
  struct small r = {s.b, s.a, (uint16_t)(s.c * 3)};
  return r;
}

static struct big arr[50];

int main(void) {
  uint32_t h = 0;
  for (uint32_t i = 0; i < 50; i++) arr[i] = make_big(i * 2654435761u);
  for (int r = 0; r < 20; r++)
    for (int i = 0; i < 49; i++) {
      struct big t = arr[i];
      arr[i] = arr[i + 1];
      arr[i + 1] = t;
      arr[i].a[r] ^= (uint32_t)i;
      h = h * 31 + sum_big(arr[i]);
    }
  kv_hex("big", h);
  struct bits bf[16];
  memset(bf, 0, sizeof bf);
  uint32_t hb = 0;
  for (int i = 0; i < 1000; i++) {
    struct bits *p = &bf[i & 15];
    p->x += (unsigned)i;
    p->y ^= (unsigned)(i * 7);
    p->z -= i;
    p->w += (unsigned)(i * 1001);
    hb = hb * 17 + p->x + p->y * 8 + (uint32_t)(p->z + 16) * 1024 + p->w;
  }
  kv_hex("bits", hb);
  union pun u;
  u.f = 1.5f;
  kv_hex("pun", u.u);
  u.b[3] = 0xc0;
  kv_hex("pun2", u.u);
  struct small s = {1, 2, 300};
  for (int i = 0; i < 5; i++) s = swap_small(s);
  out_u32(s.a);
  out_str(" ");
  out_u32(s.b);
  out_str(" ");
  out_u32(s.c);
  out_nl();
  return 0;
}
