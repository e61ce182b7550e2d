/* x87 floating point. glibc build: libm (sqrt exp log sin cos tan atan2 pow fmod floor ceil rint
 * lrint cbrt hypot, long double variants) printed with %.17g / %.21Lg. Freestanding build: the raw
 * instructions (fsqrt fsin fcos fptan fpatan f2xm1 fyl2x fscale frndint fprem fxtract fild fistp, control
 * word rounding modes, fcomi/fucomi, fcmov) with results printed as hex bit patterns. */
#include "mini.h"
#ifndef FREESTANDING
#include <math.h>
#include <stdio.h>

int main(void) {
  static const double xs[] = {0.0, 0.5, 1.0, 2.0, 3.0, 10.0, 0.1, 1e-10, 123.456, 1e10, -0.75, -3.5, 1e300, 7.0 / 3.0};
  for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    printf("x=%.17g sqrt=%.17g exp=%.17g log=%.17g sin=%.17g cos=%.17g tan=%.17g\n", x, sqrt(fabs(x)), exp(x),
           log(fabs(x)), sin(x), cos(x), tan(x));
    printf("  atan2=%.17g pow=%.17g fmod=%.17g floor=%g ceil=%g rint=%g lrint=%ld cbrt=%.17g hypot=%.17g\n",
           atan2(x, 1.5), pow(fabs(x), 1.37), fmod(x, 0.7), floor(x), ceil(x), rint(x), x < 1e9 ? lrint(x) : 0L,
           cbrt(x), hypot(x, 2.0));
    long double lx = (long double)x;
    printf("  sqrtl=%.21Lg expl=%.21Lg logl=%.21Lg sinl=%.21Lg powl=%.21Lg\n", sqrtl(fabsl(lx)), expl(lx / 8),
           logl(fabsl(lx) + 1), sinl(lx), powl(fabsl(lx) + 0.5L, 2.5L));
    float f = (float)x;
    printf("  sqrtf=%.9g expf=%.9g logf=%.9g sinf=%.9g (int)=%d (long long)=%lld\n", (double)sqrtf(fabsf(f)),
           (double)expf(f / 16), (double)logf(fabsf(f) + 1), (double)sinf(f), x < 1e9 && x > -1e9 ? (int)x : 0,
           x < 1e18 ? (long long)x : 0LL);
  }
  double acc = 0;
  for (int i = 1; i <= 2000; i++) acc += sin((double)i) / i + sqrt((double)i) * 1e-3;
  printf("series=%.17g\n", acc);
  volatile double z = 0.0;
  printf("nan=%g inf=%g log0=%g sqrt(-1)=%g isnan=%d\n", z / z, 1 / z, log(z), sqrt(-1.0 + z), isnan(sqrt(-1.0 + z)));
  return 0;
}
#else
static void put_ld(const char *k, long double v) {
  unsigned char b[10];
  memcpy(b, &v, 10);
  out_str(k);
  out_str("=");
  out_hex((uint32_t)b[9] << 8 | b[8]);
  out_hex((uint32_t)b[7] << 24 | (uint32_t)b[6] << 16 | (uint32_t)b[5] << 8 | b[4]);
  out_hex((uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0]);
  out_str(" ");
}
static long double un(const char *op, long double x) {
  long double r = x;
  if (op[0] == 'q') __asm__("fsqrt" : "+t"(r));
  if (op[0] == 's') __asm__("fsin" : "+t"(r));
  if (op[0] == 'c') __asm__("fcos" : "+t"(r));
  if (op[0] == 'r') __asm__("frndint" : "+t"(r));
  if (op[0] == 'a') __asm__("fabs" : "+t"(r));
  if (op[0] == 'n') __asm__("fchs" : "+t"(r));
  if (op[0] == '2') __asm__("f2xm1" : "+t"(r));
  return r;
}
int main(void) {
  static const long double xs[] = {0.0L, 0.25L, 0.5L, 1.0L, 2.0L, 3.0L, 10.0L, 0.1L, -0.75L, 123.456L, 1e10L, -2.5L, 1.5L};
  for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    long double x = xs[i];
    put_ld("x", x);
    put_ld("sqrt", un("q", x < 0 ? -x : x));
    put_ld("sin", un("s", x));
    put_ld("cos", un("c", x));
    put_ld("rnd", un("r", x));
    put_ld("chs", un("n", x));
    if (x >= -1 && x <= 1) put_ld("2xm1", un("2", x));
    out_nl();
    long double t, one;
    __asm__("fptan" : "=t"(one), "=u"(t) : "0"(x));
    long double y;
    __asm__("fpatan" : "=t"(y) : "0"(1.0L), "u"(x) : "st(1)");
    put_ld(" tan", t);
    put_ld("atan", y);
    long double lg;
    long double arg = x < 0 ? -x + 1 : x + 1;
    __asm__("fyl2x" : "=t"(lg) : "0"(arg), "u"(1.0L) : "st(1)");
    put_ld("log2", lg);
    long double sc;
    __asm__("fscale" : "=t"(sc) : "0"(x), "u"(3.0L));
    put_ld("scale", sc);
    long double pr;
    __asm__("1: fprem; fnstsw %%ax; testb $4, %%ah; jnz 1b" : "=t"(pr) : "0"(x * 7), "u"(0.75L) : "eax", "cc");
    put_ld("prem", pr);
    out_nl();
    /* integer conversions in all four rounding modes */
    for (int rc = 0; rc < 4; rc++) {
      unsigned short cw, ncw;
      __asm__ volatile("fnstcw %0" : "=m"(cw));
      ncw = (unsigned short)((cw & ~0xc00) | (rc << 10));
      __asm__ volatile("fldcw %0" : : "m"(ncw));
      int32_t iv;
      int64_t lv;
      int16_t sv;
      long double v = x * 3.3L;
      __asm__ volatile("fistl %0" : "=m"(iv) : "t"(v));
      __asm__ volatile("fistps %0" : "=m"(sv) : "t"(v) : "st");
      __asm__ volatile("fistpll %0" : "=m"(lv) : "t"(v * 1e6L) : "st");
      __asm__ volatile("fldcw %0" : : "m"(cw));
      out_str(" rc");
      out_u32((uint32_t)rc);
      out_str("=");
      out_i32(iv);
      out_str("/");
      out_i32(sv);
      out_str("/");
      out_i64(lv);
    }
    /* comparisons */
    uint32_t fl;
    long double other = 1.0L;
    __asm__("fucomip %%st(1), %%st; fstp %%st(0); pushf; popl %0" : "=r"(fl) : "t"(x), "u"(other) : "cc", "st", "st(1)");
    out_str(" fucomi=");
    out_hex(fl & 0x8d5);
    uint16_t sw;
    __asm__("fcom %%st(1); fnstsw %%ax; fstp %%st(0)" : "=a"(sw) : "t"(x), "u"(other) : "st");
    out_str(" fcom=");
    out_hex(sw & 0x4500);
    out_nl();
    (void)one;
  }
  /* float/double/int loads and stores */
  float f = 1.1f;
  double d = 2.2;
  int32_t i32 = -77;
  long double s = (long double)f + (long double)d + (long double)i32;
  put_ld("mix", s);
  double back = (double)s;
  float fb = (float)s;
  uint32_t fbits;
  uint64_t dbits;
  memcpy(&fbits, &fb, 4);
  memcpy(&dbits, &back, 8);
  out_hex(fbits);
  out_str(" ");
  out_hex64(dbits);
  out_nl();
  return 0;
}
#endif
