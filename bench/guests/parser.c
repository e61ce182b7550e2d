/* A string-heavy parser: generates a "key=value;" record text, then tokenizes it, parses decimal and
   hex numbers, compares keys against a keyword table with strcmp-like loops, and hashes the results. */
#include "common.h"

static char text[1 << 16];
static const char *const keys[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};

static int slen(const char *s) { int n = 0; while (s[n]) n++; return n; }
static int scmp(const char *a, const char *b, int n) {
  for (int i = 0; i < n; i++) {
    if (a[i] != b[i]) return (unsigned char)a[i] - (unsigned char)b[i];
    if (!b[i]) return 0;
  }
  return b[n] ? -1 : 0;
}

static int generate(unsigned seed) {
  int p = 0;
  while (p < (int)sizeof text - 64) {
    seed = seed * 1103515245u + 12345u;
    const char *k = keys[(seed >> 16) & 7];
    for (int i = 0; k[i]; i++) text[p++] = k[i];
    text[p++] = '=';
    unsigned v = seed >> 9;
    if (seed & 0x100) {
      text[p++] = '0'; text[p++] = 'x';
      char buf[8]; int n = 0;
      do { buf[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
      while (n) text[p++] = buf[--n];
    } else {
      char buf[12]; int n = 0;
      do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
      while (n) text[p++] = buf[--n];
    }
    text[p++] = ';';
  }
  text[p] = 0;
  return p;
}

static unsigned parse(int len) {
  unsigned sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int p = 0;
  while (p < len) {
    int ks = p;
    while (text[p] != '=') p++;
    int kl = p - ks;
    int which = -1;
    for (int k = 0; k < 8; k++)
      if (slen(keys[k]) == kl && scmp(text + ks, keys[k], kl) == 0) { which = k; break; }
    p++;
    unsigned v = 0;
    if (text[p] == '0' && text[p + 1] == 'x') {
      p += 2;
      for (;;) {
        char c = text[p];
        if (c >= '0' && c <= '9') v = v * 16 + (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (unsigned)(c - 'a' + 10);
        else break;
        p++;
      }
    } else
      while (text[p] >= '0' && text[p] <= '9') v = v * 10 + (unsigned)(text[p++] - '0');
    p++; /* ';' */
    if (which >= 0) sums[which] = sums[which] * 31 + v;
  }
  unsigned h = 0;
  for (int k = 0; k < 8; k++) h = h * 131 + sums[k];
  return h;
}

void _start(void) {
  unsigned acc = 0;
  for (unsigned r = 0; r < 6; r++) acc ^= parse(generate(r * 2654435761u));
  putu(acc);
  bye(0);
}
