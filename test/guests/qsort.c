/* Sorting pseudo-random data: glibc qsort (its merge sort with an allocated buffer) or, freestanding,
 * a recursive quicksort plus an in-place heap sort. */
#include "mini.h"

#define N 4000
static int32_t data[N], copy[N];

static int cmp_i32(const void *x, const void *y) {
  int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
  return (a > b) - (a < b);
}

static void quick(int32_t *v, int lo, int hi) {
  while (lo < hi) {
    int32_t p = v[(lo + hi) >> 1];
    int i = lo, j = hi;
    while (i <= j) {
      while (v[i] < p) i++;
      while (v[j] > p) j--;
      if (i <= j) {
        int32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++, j--;
      }
    }
    if (j - lo < hi - i) {
      quick(v, lo, j);
      lo = i;
    } else {
      quick(v, i, hi);
      hi = j;
    }
  }
}

static void sift(int32_t *v, int i, int n) {
  for (;;) {
    int c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && v[c + 1] > v[c]) c++;
    if (v[i] >= v[c]) return;
    int32_t t = v[i];
    v[i] = v[c];
    v[c] = t;
    i = c;
  }
}
static void heapsort_(int32_t *v, int n) {
  for (int i = n / 2 - 1; i >= 0; i--) sift(v, i, n);
  for (int e = n - 1; e > 0; e--) {
    int32_t t = v[0];
    v[0] = v[e];
    v[e] = t;
    sift(v, 0, e);
  }
}

int main(void) {
  for (int i = 0; i < N; i++) data[i] = (int32_t)rng() >> (i % 7);
  memcpy(copy, data, sizeof data);
#ifdef FREESTANDING
  quick(data, 0, N - 1);
#else
  qsort(data, N, sizeof data[0], cmp_i32);
#endif
  heapsort_(copy, N);
  int ok = 1;
  for (int i = 1; i < N; i++)
    if (data[i - 1] > data[i] || data[i] != copy[i]) ok = 0;
  kv_u32("sorted", (uint32_t)ok);
  out_str("min=");
  out_i32(data[0]);
  out_str(" median=");
  out_i32(data[N / 2]);
  out_str(" max=");
  out_i32(data[N - 1]);
  out_nl();
  kv_hex("sum", fnv(data, sizeof data, 2166136261u));
  (void)cmp_i32;
  return 0;
}
