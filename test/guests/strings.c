/* String and memory functions over many alignments and lengths (glibc's i686 versions in the glibc
 * build, the mini.h loops plus gcc's inline expansions in the freestanding build). */
#include "mini.h"

static unsigned char a[600], b[600];

static size_t my_strnlen(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && s[i]) i++;
  return i;
}
static char *my_strchr(const char *s, int c) {
  for (;; s++) {
    if (*s == (char)c) return (char *)s;
    if (!*s) return 0;
  }
}
static int my_strcmp(const char *x, const char *y) {
  while (*x && *x == *y) x++, y++;
  return (unsigned char)*x - (unsigned char)*y;
}
static int sgn(int v) { return (v > 0) - (v < 0); }

int main(void) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < sizeof a; i++) a[i] = (unsigned char)(rng() % 251 + 1);
  /* memcpy / memmove / memset at every alignment */
  for (size_t so = 0; so < 8; so++)
    for (size_t dof = 0; dof < 8; dof++)
      for (size_t n = 0; n < 70; n += 5) {
        memset(b, 0xee, sizeof b);
        memcpy(b + dof, a + so, n);
        h = fnv(b, 100, h);
        memmove(b + dof + 5, b + dof, n);
        h = fnv(b, 100, h);
        memmove(b + dof, b + dof + 3, n);
        h = fnv(b, 100, h);
        memset(b + so, (int)n, n);
        h = fnv(b, 100, h);
      }
  kv_hex("mem", h);
  /* strlen / strchr / strcmp / memcmp */
  uint32_t acc = 0;
  for (size_t off = 0; off < 16; off++)
    for (size_t len = 0; len < 90; len += 7) {
      memcpy(b, a, sizeof b);
      b[off + len] = 0;
      const char *s = (const char *)b + off;
      acc = acc * 31 + (uint32_t)strlen(s);
      acc = acc * 31 + (uint32_t)my_strnlen(s, 40);
      char *p = my_strchr(s, a[off + len / 2]);
      acc = acc * 31 + (uint32_t)(p ? p - s : -1);
      memcpy(a + 300, b, sizeof a - 300);
      b[off + len / 3] ^= 1;
      acc = acc * 31 + (uint32_t)sgn(my_strcmp(s, (const char *)b + off));
      acc = acc * 31 + (uint32_t)sgn(memcmp(b + off, a + 300 + off, len));
    }
  kv_hex("str", acc);
#ifndef FREESTANDING
  /* glibc's own string functions */
  char buf[256], buf2[256];
  uint32_t g = 0;
  for (int i = 0; i < 200; i++) {
    int n = (int)(rng() % 200);
    for (int j = 0; j < n; j++) buf[j] = (char)('a' + rng() % 26);
    buf[n] = 0;
    strcpy(buf2, buf);
    g = g * 33 + (uint32_t)strlen(buf2) + (uint32_t)sgn(strcmp(buf, buf2));
    char *c = strchr(buf, 'q');
    char *r = strrchr(buf, 'e');
    g = g * 33 + (uint32_t)(c ? c - buf : -1) + (uint32_t)(r ? r - buf : -1) * 7;
    char *st = strstr(buf, "ab");
    g = g * 33 + (uint32_t)(st ? st - buf : -1);
    strncpy(buf2, buf + n / 2, 10);
    buf2[10] = 0;
    g = g * 33 + fnv(buf2, strlen(buf2), 0);
    g = g * 33 + (uint32_t)sgn(strncmp(buf, buf2, 5)) + (uint32_t)strspn(buf, "abcdef") +
        (uint32_t)strcspn(buf, "xyz");
    void *m = memchr(buf, 'z', (size_t)n);
    g = g * 33 + (uint32_t)(m ? (char *)m - buf : -1);
    strcat(buf2, "tail");
    g = g * 33 + fnv(buf2, strlen(buf2), 1);
  }
  kv_hex("glibc", g);
  out_str(strerror(2));
  out_nl();
#endif
  return 0;
}
