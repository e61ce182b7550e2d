/* Whole-program SSE2 workload: built with -msse2 -mfpmath=sse -O3 -ftree-vectorize (and -march=pentium4)
 * so gcc emits scalar and packed SSE/SSE2 for the double/float math, vectorized integer loops, and glibc's
 * start-up picks its SSE2 string functions on a CPU that advertises SSE2. Output must match qemu-i386. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1024
static double da[N], db[N];
static float fa[N], fb[N];
static int ia[N], ib[N];
static short sa[N], sb[N];
static unsigned char ua[N], ub[N];
static int64_t la[N];

static uint32_t seed = 12345;
static uint32_t rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 8;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  for (int i = 0; i < N; i++) {
    da[i] = (double)rnd() / 1000.0 - 5000.0;
    db[i] = sqrt((double)(rnd() % 100000) + 0.25);
    fa[i] = (float)(rnd() % 20000) * 0.37f - 3000.0f;
    fb[i] = 1.0f / (float)(i + 1);
    ia[i] = (int)rnd() - (1 << 23);
    ib[i] = (int)(rnd() % 1000) - 500;
    sa[i] = (short)rnd();
    sb[i] = (short)(rnd() % 300);
    ua[i] = (unsigned char)rnd();
    ub[i] = (unsigned char)(rnd() >> 5);
    la[i] = (int64_t)rnd() * 1000003;
  }
  /* vectorizable double/float loops */
  double dsum = 0, dmax = -1e300;
  for (int i = 0; i < N; i++) da[i] = da[i] * db[i] + 0.5 * db[i];
  for (int i = 0; i < N; i++) dsum += da[i] / (db[i] + 1.0);
  for (int i = 0; i < N; i++) dmax = fmax(dmax, da[i]);
  float fsum = 0, fmn = 1e30f;
  for (int i = 0; i < N; i++) fa[i] = fa[i] * fb[i] - sqrtf(fabsf(fa[i]));
  for (int i = 0; i < N; i++) fsum += fa[i];
  for (int i = 0; i < N; i++) fmn = fminf(fmn, fa[i]);
  /* vectorizable integer loops */
  long long isum = 0;
  int imax = 0, imin = 0;
  for (int i = 0; i < N; i++) ia[i] = ia[i] + ib[i] * 3 - (ia[i] >> 4);
  for (int i = 0; i < N; i++) isum += ia[i];
  for (int i = 0; i < N; i++) imax = ia[i] > imax ? ia[i] : imax;
  for (int i = 0; i < N; i++) imin = ia[i] < imin ? ia[i] : imin;
  unsigned usum = 0;
  for (int i = 0; i < N; i++) ua[i] = ua[i] > ub[i] ? ua[i] - ub[i] : ub[i] - ua[i];
  for (int i = 0; i < N; i++) sa[i] = (short)((sa[i] * sb[i]) >> 3);
  for (int i = 0; i < N; i++) usum += ua[i] + (unsigned short)sa[i];
  int64_t lsum = 0;
  for (int i = 0; i < N; i++) la[i] = la[i] * 3 + (la[i] >> 7);
  for (int i = 0; i < N; i++) lsum ^= la[i] + i;
  /* conversions in every direction */
  long long conv = 0;
  for (int i = 0; i < N; i++) conv += (int)(da[i] * 0.01) + (int)fa[i] + (long long)(fb[i] * 1e6f);
  for (int i = 0; i < N; i++) db[i] = (double)ia[i] / 7.0 + (float)da[i];
  for (int i = 0; i < N; i++) fb[i] = (float)db[i] + (float)ib[i];
  double lround_sum = 0;
  for (int i = 0; i < N; i += 7) lround_sum += lrint(da[i] * 1.5) + floor(db[i]) + ceil(fb[i]);
  qsort(da, N, sizeof da[0], cmpd);
  printf("%.17g %.17g %.9g %.9g\n", dsum, dmax, (double)fsum, (double)fmn);
  printf("%lld %d %d %u %lld %lld %.17g\n", isum, imax, imin, usum, (long long)lsum, conv, lround_sum);
  printf("%.17g %.17g %.17g\n", da[0], da[N / 2], da[N - 1]);
  /* libm and printf of doubles */
  double x = argc > 5 ? atof(argv[1]) : 2.718281828459045;
  printf("%.15g %.15g %.15g %.15g %.15g %.15g\n", sin(x), cos(x), exp(x), log(x), pow(x, 1.7), atan2(x, 3.0));
  printf("%g %f %e %.3f %a %.0f %g\n", 1.0 / 3, 2.5e10, 1e-300, -0.0, 0.1, 1e22, 5e-324);
  printf("%.9g %.9g %.9g\n", (double)sinf(1.1f), (double)expf(3.3f), (double)logf(7.7f));
  /* string functions (glibc selects SSE2 versions from CPUID) */
  static char buf[4096], buf2[4096];
  for (int i = 0; i < 4000; i++) buf[i] = (char)('a' + i % 23);
  buf[4000] = 0;
  memcpy(buf2, buf, 4001);
  buf2[3333] = 'Z';
  size_t l1 = strlen(buf), l2 = strlen(buf + 17);
  char *c1 = strchr(buf, 'w'), *c2 = strrchr(buf, 'b'), *c3 = memchr(buf, 'q', 4000);
  int d1 = memcmp(buf, buf2, 4001), d2 = strcmp(buf, buf2), d3 = strncmp(buf + 1, buf2 + 1, 100);
  memset(buf2, 'x', 1000);
  memmove(buf2 + 10, buf2, 2000);
  char *s1 = strstr(buf, "klmn");
  printf("%zu %zu %td %td %td %d %d %d %zu %td %s\n", l1, l2, c1 - buf, c2 - buf, c3 - buf, d1 > 0, d2 > 0, d3,
         strlen(buf2), s1 - buf, argv[0] + strlen(argv[0]) - (strlen(argv[0]) < 4 ? strlen(argv[0]) : 4));
  char num[64];
  snprintf(num, sizeof num, "%.10f", strtod("123.456e-2", NULL));
  printf("%s %ld %lu\n", num, strtol("-98765", NULL, 10), strtoul("ffff", NULL, 16));
  return 0;
}
