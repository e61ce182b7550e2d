/*
 * stress.c - non-trivial functions for the "a kprobe on every instruction" stress test: loops, a
 * switch compiled to a jump table, direct and indirect calls, recursion, divisions, string
 * instructions, setcc/cmov-style code, 64-bit arithmetic through libgcc, pushf. Prints checksums.
 */
#include "prt.h"

static u32 st_buf[64];
static unsigned char bytes_a[97], bytes_b[97];

NOINLINE u32 mix(u32 h, u32 v) {
  h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
  return h;
}

NOINLINE int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

NOINLINE void isort(u32 *a, int n) {
  for (int i = 1; i < n; i++) {
    u32 x = a[i];
    int j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

NOINLINE u32 op(int k, u32 a, u32 b) {
  switch (k & 15) {
  case 0: return a + b;
  case 1: return a - b;
  case 2: return a * b;
  case 3: return b ? a / b : 0;
  case 4: return b ? a % b : 1;
  case 5: return a ^ (b << 3);
  case 6: return (a >> (b & 31)) | 1;
  case 7: return a < b ? a : b;
  case 8: return (int)a < (int)b;
  case 9: return ~a & b;
  case 10: return (u32)((unsigned long long)a * b >> 32);
  case 11: return (u32)(((unsigned long long)a << 20 | b) / (b | 1));
  case 12: return (u32)((long long)(int)a * (int)b % 1000003);
  default: return a + 7 * b;
  }
}

typedef u32 (*binop)(u32, u32);
NOINLINE u32 add2(u32 a, u32 b) { return a + b; }
NOINLINE u32 rot2(u32 a, u32 b) { return (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)); }
static binop ops[2] = {add2, rot2};

NOINLINE u32 flags_now(void) {
  u32 f;
  __asm__ volatile("pushfl; popl %0" : "=r"(f));
  return f & 0x8d5; /* arithmetic flags only */
}

NOINLINE u32 strops(int n) {
  for (int i = 0; i < 97; i++) bytes_a[i] = (unsigned char)(i * 7 + n);
  void *d = bytes_b, *s = bytes_a;
  int c = 97;
  __asm__ volatile("cld; rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
  u32 h = 0;
  for (int i = 0; i < 97; i++) h = h * 31 + bytes_b[i];
  return h;
}

NOINLINE u32 crunch(int n) {
  u32 h = 2166136261u;
  for (int i = 0; i < 64; i++) st_buf[i] = mix(h, (u32)(i * 2654435761u + n));
  isort(st_buf, 64);
  for (int i = 0; i < 64; i++) {
    u32 v = op(i + n, st_buf[i], st_buf[63 - i]);
    h = mix(h, v);
    h = ops[(v >> 3) & 1](h, v);
    if ((h & 3) == 0) h += flags_now();
  }
  h = mix(h, (u32)fib(n % 13));
  h = mix(h, strops(n));
  return h;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? prt_atoi(argv[1]) : 3;
  u32 total = 0;
  for (int r = 0; r < rounds; r++) {
    u32 h = crunch(r * 5 + 3);
    say_hex("crunch", h);
    total = mix(total, h);
  }
  say_hex("total", total);
  return (int)(total & 0x3f);
}
