/* Guest for test/os/mem-limit.test.ts (#16: memory that is right or refused).
     memlimit touch MIB     maps MIB MiB in 16 MiB anonymous chunks, writes one word per page (at an
                            offset that walks the page), then reads every word back
     memlimit limit [MIB]   (with MIB: first sets RLIMIT_AS to the current VmSize + MIB MiB, for a
                            native run) maps 4 MiB chunks until mmap fails, then asks for more with
                            sbrk, malloc and mremap, frees one chunk and asks again (the first 4 chunks
                            are written, one word per page, and checked after the moves)
   Lines starting with '#' carry counts that depend on the limit and the layout, not the semantics. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAGE 4096u

static unsigned word(unsigned page) { return page * 2654435761u ^ 0x5bd1e995u; }
static unsigned *at(char *base, unsigned i, unsigned g) { return (unsigned *)(base + (size_t)i * PAGE + ((g * 4u) & (PAGE - 4u))); }

static int touch(unsigned mib) {
  const size_t chunk = 16u << 20;
  unsigned n = mib / 16, per = (unsigned)(chunk / PAGE), g = 0, wrong = 0, sum = 0;
  char **c = malloc(n * sizeof *c);
  for (unsigned k = 0; k < n; k++) {
    c[k] = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c[k] == MAP_FAILED) {
      printf("mmap of chunk %u failed: %s\n", k, strerror(errno));
      return 1;
    }
  }
  for (unsigned k = 0; k < n; k++)
    for (unsigned i = 0; i < per; i++, g++) *at(c[k], i, g) = word(g);
  g = 0;
  for (unsigned k = 0; k < n; k++)
    for (unsigned i = 0; i < per; i++, g++) {
      unsigned v = *at(c[k], i, g);
      if (v != word(g)) wrong++;
      sum = sum * 31u + v;
    }
  printf("touched %u MiB, %u pages, wrong pages %u, sum %08x\n", mib, g, wrong, sum);
  return wrong != 0;
}

/* VmSize from /proc/self/status, read without malloc (the heap may be out of room). */
static long vmsize_kib(void) {
  static char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY);
  long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *v = strstr(buf, "VmSize:");
  return v ? strtol(v + 7, NULL, 10) : -1;
}

static int limit(int native_mib) {
  enum { MAX = 1100, TOUCHED = 4 };
  static char *c[MAX];
  const size_t chunk = 4u << 20;
  if (native_mib > 0) {
    struct rlimit r;
    r.rlim_cur = r.rlim_max = (rlim_t)vmsize_kib() * 1024 + ((rlim_t)native_mib << 20);
    if (setrlimit(RLIMIT_AS, &r) != 0) perror("setrlimit");
  }
  unsigned n = 0;
  while (n < MAX) {
    char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) break;
    c[n] = p;
    if (n < TOUCHED)
      for (unsigned i = 0; i < chunk / PAGE; i++) *at(p, i, n * 1024 + i) = word(n * 1024 + i);
    n++;
  }
  int e = errno;
  /* Fill what is left below 4 MiB with 64 KiB pieces, so any 1 MiB request must fail. */
  while (mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
  }
  long vm = vmsize_kib();
  printf("mmap: %s\n", n == MAX ? "never failed" : strerror(e));
  printf("# chunks %u, VmSize %ld kB\n", n, vm);
  errno = 0;
  void *b = sbrk(1 << 20);
  printf("sbrk 1 MiB: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
  void *m = malloc(16u << 20);
  printf("malloc 16 MiB: %s\n", m ? "ok" : "NULL");
  void *r = mremap(c[0], chunk, 2 * chunk, MREMAP_MAYMOVE);
  printf("mremap grow: %s\n", r == MAP_FAILED ? strerror(errno) : "ok");
  /* Freeing a chunk makes room: the limit is on what is mapped now. */
  munmap(c[n - 1], chunk);
  r = mremap(c[0], chunk, 2 * chunk, MREMAP_MAYMOVE);
  printf("mremap grow after munmap: %s\n", r == MAP_FAILED ? strerror(errno) : "ok");
  if (r != MAP_FAILED) c[0] = r;
  unsigned wrong = 0;
  for (unsigned k = 0; k + 1 < n && k < TOUCHED; k++)
    for (unsigned i = 0; i < chunk / PAGE; i++)
      if (*at(c[k], i, k * 1024 + i) != word(k * 1024 + i)) wrong++;
  printf("wrong pages %u\n", wrong);
  /* The grown part reads zero and is writable. */
  if (r != MAP_FAILED) {
    unsigned nz = 0;
    for (unsigned i = chunk / PAGE; i < 2 * chunk / PAGE; i++) nz += *at(c[0], i, 0) != 0, *at(c[0], i, 0) = 1;
    printf("grown part nonzero words %u\n", nz);
  }
  for (unsigned k = 0; k + 1 < n; k++) munmap(c[k], k == 0 ? 2 * chunk : chunk);
  char *again = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap after freeing all: %s\n", again == MAP_FAILED ? strerror(errno) : "ok");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 3 && !strcmp(argv[1], "touch")) return touch((unsigned)atoi(argv[2]));
  if (argc >= 2 && !strcmp(argv[1], "limit")) return limit(argc >= 3 ? atoi(argv[2]) : 0);
  fprintf(stderr, "usage: memlimit touch MIB | limit [MIB]\n");
  return 2;
}
