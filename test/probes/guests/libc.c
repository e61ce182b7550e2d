/*
 * libc.c - a static-glibc guest for probing library code: printf (vfprintf's jump tables), qsort
 * calling back into user code through a function pointer, malloc/free, strlen/memcpy (IFUNC-selected
 * variants), and a recursive user function. Prints checksums; deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline, used)) int cmp_u32(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return x < y ? -1 : x > y;
}

__attribute__((noinline, used)) unsigned walk(unsigned n) { return n < 2 ? n + 1 : walk(n - 1) * 3 + walk(n - 2); }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  unsigned *v = malloc(sizeof *v * (size_t)n);
  unsigned s = 12345;
  for (int i = 0; i < n; i++) v[i] = s = s * 1103515245u + 12345u;
  qsort(v, (size_t)n, sizeof *v, cmp_u32);
  unsigned h = 0;
  for (int i = 0; i < n; i++) h = h * 31 + v[i];
  char buf[128];
  snprintf(buf, sizeof buf, "%s-%d-%x-%5.2f", "sorted", n, h, 3.25);
  char *copy = malloc(strlen(buf) + 1);
  memcpy(copy, buf, strlen(buf) + 1);
  printf("%s len=%zu walk=%u\n", copy, strlen(copy), walk(9));
  free(copy);
  free(v);
  return (int)(h & 0x3f);
}
