/* printf of integers, doubles and long doubles (glibc only: %d %u %x %o %lld %g %e %f %a %.17g %Lg ...),
 * plus strtod/strtold round trips. Exercises glibc's multi-precision printf_fp and the x87. */
#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  static const int ints[] = {0, 1, -1, 42, -42, 2147483647, -2147483647 - 1, 65535, 1000000};
  for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    int v = ints[i];
    printf("[%d] [%5d] [%-5d|] [%+d] [%05d] [%u] [%x] [%X] [%#o] [%#x] [% d] [%.3d] [%hhd] [%hd]\n", v, v, v,
           v, v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, v, v, (signed char)v,
           (short)v);
  }
  static const long long lls[] = {0, -1, 9223372036854775807LL, -9223372036854775807LL - 1, 1234567890123LL};
  for (unsigned i = 0; i < sizeof lls / sizeof lls[0]; i++)
    printf("%lld %llu %llx %" PRId64 " %20lld|\n", lls[i], (unsigned long long)lls[i],
           (unsigned long long)lls[i], (int64_t)lls[i], lls[i]);
  static const double ds[] = {0.0,     -0.0,   1.0,    -1.5,     0.1,     1.0 / 3.0, 2.0 / 3.0, 1e300,
                              1e-300,  5e-324, DBL_MAX, DBL_MIN, 123456789.125, 3.141592653589793,
                              2.718281828459045, 1e21, 1e-7, 0.5, 2.5, -2.5, 1e15 + 0.3};
  for (unsigned i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    double d = ds[i];
    printf("%g|%e|%f|%.17g|%.3e|%10.4f|%-12g|%a|%.0f|%G|%.20g\n", d, d, d, d, d, d, d, d, d, d, d);
  }
  double inf = 1.0 / ds[0], nan = ds[0] / ds[0];
  printf("%g %g %f %e %5.1f\n", inf, -inf, inf, nan, -nan);
  static const long double lds[] = {0.0L, 1.0L, 0.1L, 1.0L / 3.0L, 3.14159265358979323846264338327950288L,
                                     LDBL_MAX, LDBL_MIN, 1e4000L, -2.5e-4000L, 12345678901234567890.0L};
  for (unsigned i = 0; i < sizeof lds / sizeof lds[0]; i++) {
    long double v = lds[i];
    printf("%Lg|%Le|%.20Lg|%.25Le|%La\n", v, v, v, v, v);
  }
  long double acc = 1.0L;
  for (int i = 1; i <= 30; i++) acc *= (long double)i;
  printf("30! = %.0Lf\n", acc);
  static const char *strs[] = {"3.14159", "1e308", "2.2250738585072014e-308", "0x1.8p1", "-0.0", "123456789012345678901234567890",
                               "4.9406564584124654e-324", "1.7976931348623157e308", "0.1", "nan", "-inf"};
  for (unsigned i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    char *end;
    double d = strtod(strs[i], &end);
    long double ld = strtold(strs[i], NULL);
    float f = strtof(strs[i], NULL);
    printf("%s -> %.17g %.21Lg %.9g (%d)\n", strs[i], d, ld, (double)f, (int)(end - strs[i]));
  }
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%s-%c-%5.2s-%%-%p", "abc", 'x', "hello", (void *)0);
  printf("%d %s\n", n, buf);
  n = snprintf(buf, 8, "%d", 123456789);
  printf("%d %s\n", n, buf);
  fprintf(stderr, "to stderr: %d\n", 7);
  return 3;
}
