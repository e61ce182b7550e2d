/* String instructions through inline asm: rep movs/stos (b/w/l), repe cmps, repne scas, lods, with DF=0
 * and DF=1 (std ... cld), overlapping moves and zero counts. */
#include "mini.h"

static unsigned char src[512], dst[512];

static void rep_movs(void *d, const void *s, uint32_t n, int size, int down) {
  uint32_t c = n;
  if (down) {
    /* DF=1: start at the last element */
    d = (char *)d + (n ? (n - 1) * (uint32_t)size : 0);
    s = (const char *)s + (n ? (n - 1) * (uint32_t)size : 0);
    if (size == 1) __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(c) : : "memory", "cc");
    if (size == 2) __asm__ volatile("std; rep movsw; cld" : "+D"(d), "+S"(s), "+c"(c) : : "memory", "cc");
    if (size == 4) __asm__ volatile("std; rep movsl; cld" : "+D"(d), "+S"(s), "+c"(c) : : "memory", "cc");
  } else {
    if (size == 1) __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
    if (size == 2) __asm__ volatile("rep movsw" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
    if (size == 4) __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
  }
}
static void rep_stos(void *d, uint32_t v, uint32_t n, int size, int down) {
  uint32_t c = n;
  if (down) {
    d = (char *)d + (n ? (n - 1) * (uint32_t)size : 0);
    if (size == 1) __asm__ volatile("std; rep stosb; cld" : "+D"(d), "+c"(c) : "a"(v) : "memory", "cc");
    if (size == 2) __asm__ volatile("std; rep stosw; cld" : "+D"(d), "+c"(c) : "a"(v) : "memory", "cc");
    if (size == 4) __asm__ volatile("std; rep stosl; cld" : "+D"(d), "+c"(c) : "a"(v) : "memory", "cc");
  } else {
    if (size == 1) __asm__ volatile("rep stosb" : "+D"(d), "+c"(c) : "a"(v) : "memory");
    if (size == 2) __asm__ volatile("rep stosw" : "+D"(d), "+c"(c) : "a"(v) : "memory");
    if (size == 4) __asm__ volatile("rep stosl" : "+D"(d), "+c"(c) : "a"(v) : "memory");
  }
}
/* repe cmpsb: returns remaining count and flags */
static uint32_t repe_cmps(const void *a, const void *b, uint32_t n, int down, uint32_t *flags) {
  uint32_t c = n, fl;
  if (down)
    __asm__ volatile("std; repe cmpsb; pushf; popl %3; cld" : "+S"(a), "+D"(b), "+c"(c), "=r"(fl) : : "memory", "cc");
  else
    __asm__ volatile("cmp %%eax, %%eax; repe cmpsb; pushf; popl %3" : "+S"(a), "+D"(b), "+c"(c), "=r"(fl) : : "memory", "cc", "eax");
  *flags = fl & 0x8d5;
  return c;
}
static uint32_t repne_scas(const void *d, uint32_t v, uint32_t n, int size, int down, uint32_t *flags) {
  uint32_t c = n, fl;
  if (size == 1 && !down)
    __asm__ volatile("test %%ecx, %%ecx; repne scasb; pushf; popl %2" : "+D"(d), "+c"(c), "=r"(fl) : "a"(v) : "memory", "cc");
  else if (size == 1)
    __asm__ volatile("std; repne scasb; pushf; popl %2; cld" : "+D"(d), "+c"(c), "=r"(fl) : "a"(v) : "memory", "cc");
  else if (size == 2)
    __asm__ volatile("test %%ecx, %%ecx; repne scasw; pushf; popl %2" : "+D"(d), "+c"(c), "=r"(fl) : "a"(v) : "memory", "cc");
  else
    __asm__ volatile("test %%ecx, %%ecx; repne scasl; pushf; popl %2" : "+D"(d), "+c"(c), "=r"(fl) : "a"(v) : "memory", "cc");
  *flags = fl & 0x8d5;
  return c;
}

int main(void) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < sizeof src; i++) src[i] = (unsigned char)rng();
  for (int down = 0; down < 2; down++)
    for (int size = 1; size <= 4; size *= 2)
      for (uint32_t n = 0; n < 40; n += 3)
        for (uint32_t off = 0; off < 4; off++) {
          memset(dst, 0x5a, sizeof dst);
          rep_movs(dst + off, src + 3 * off, n, size, down);
          h = fnv(dst, 200, h);
          rep_stos(dst + 7 + off, rng(), n, size, down);
          h = fnv(dst, 200, h);
          /* overlapping move inside dst */
          rep_movs(dst + off + 2, dst + off, n, size, down);
          h = fnv(dst, 200, h);
        }
  kv_hex("movs-stos", h);
  uint32_t acc = 0;
  for (int down = 0; down < 2; down++)
    for (uint32_t n = 0; n < 64; n += 5) {
      memcpy(dst, src, sizeof dst);
      dst[rng() % 64] ^= 0x10;
      uint32_t fl;
      uint32_t left;
      if (down) left = repe_cmps(src + 63, dst + 63, n, 1, &fl);
      else left = repe_cmps(src, dst, n, 0, &fl);
      acc = acc * 131 + left * 7 + fl;
      left = repne_scas(down ? src + 200 : src, src[n % 50], n, 1, down, &fl);
      acc = acc * 131 + left * 7 + fl;
      if (!down) {
        left = repne_scas(src, *(uint16_t *)(src + 2 * (n % 20)), n, 2, 0, &fl);
        acc = acc * 131 + left * 7 + fl;
        left = repne_scas(src, *(uint32_t *)(src + 4 * (n % 12)), n, 4, 0, &fl);
        acc = acc * 131 + left * 7 + fl;
      }
    }
  kv_hex("cmps-scas", acc);
  /* lodsb / lodsl forward and backward */
  uint32_t lsum = 0;
  const unsigned char *p = src;
  for (int i = 0; i < 100; i++) {
    uint32_t v = 0;
    __asm__ volatile("lodsb" : "+S"(p), "+a"(v) : : "memory");
    lsum = lsum * 3 + v;
  }
  for (int i = 0; i < 20; i++) {
    uint32_t v;
    __asm__ volatile("std; lodsl; cld" : "+S"(p), "=a"(v) : : "memory", "cc");
    lsum = lsum * 3 + v;
  }
  kv_hex("lods", lsum);
  /* movs without rep, and rep with ecx = 0 leaves everything alone */
  uint32_t z = 0;
  void *d = dst, *s = src;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(z) : : "memory");
  kv_u32("zero-count-moved", (uint32_t)((char *)d - (char *)dst));
  return 0;
}
