/*
 * Shared runtime for the guest programs under test/guests/.
 *
 * Built two ways:
 *   freestanding:  gcc -m32 -nostdlib -static -O2 -fno-pic -fno-stack-protector -DFREESTANDING ... -lgcc
 *                  (a tiny _start, system calls through int $0x80, no libc)
 *   static glibc:  gcc -m32 -static -O2 ... -lm
 * Either way the guest gets the same small API: out_str/out_u32/out_i32/out_hex/out_u64/out_i64/out_nl,
 * err_str, sys_open/sys_read/sys_close, and memcpy/memset/memmove/memcmp/strlen (gcc may emit calls
 * to the first four even in freestanding code). Output is buffered and flushed at exit.
 */
#ifndef GUEST_MINI_H
#define GUEST_MINI_H

#include <stddef.h>
#include <stdint.h>

#ifdef FREESTANDING

static inline long sys3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
static inline long sys_write(int fd, const void *buf, size_t n) { return sys3(4, fd, (long)buf, (long)n); }
static inline long sys_read(int fd, void *buf, size_t n) { return sys3(3, fd, (long)buf, (long)n); }
static inline long sys_open(const char *path, int flags) { return sys3(5, (long)path, flags, 0); }
static inline long sys_close(int fd) { return sys3(6, fd, 0, 0); }
static inline long sys_lseek(int fd, long off, int whence) { return sys3(19, fd, off, whence); }
__attribute__((noreturn)) static inline void sys_exit(int code) {
  for (;;) __asm__ volatile("int $0x80" : : "a"(252), "b"(code) : "memory");
}

__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *dp = d;
  const unsigned char *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memmove(void *d, const void *s, size_t n) {
  unsigned char *dp = d;
  const unsigned char *sp = s;
  if (dp < sp)
    while (n--) *dp++ = *sp++;
  else
    while (n--) dp[n] = sp[n];
  return d;
}
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memset(void *d, int c, size_t n) {
  unsigned char *dp = d;
  while (n--) *dp++ = (unsigned char)c;
  return d;
}
__attribute__((optimize("no-tree-loop-distribute-patterns"))) int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}
__attribute__((optimize("no-tree-loop-distribute-patterns"))) size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static char mini_obuf[4096];
static size_t mini_olen;
static void out_flush(void) {
  size_t done = 0;
  while (done < mini_olen) {
    long w = sys_write(1, mini_obuf + done, mini_olen - done);
    if (w <= 0) break;
    done += (size_t)w;
  }
  mini_olen = 0;
}
static void out_bytes(const char *s, size_t n) {
  while (n--) {
    if (mini_olen == sizeof mini_obuf) out_flush();
    mini_obuf[mini_olen++] = *s++;
  }
}
static void err_str(const char *s) { sys_write(2, s, strlen(s)); }

int main();
__attribute__((noreturn, used)) void mini_start_c(int *sp) {
  int rc = ((int (*)(int, char **))main)(sp[0], (char **)(sp + 1));
  out_flush();
  sys_exit(rc);
}
__asm__(".text\n.globl _start\n_start:\n"
        "  xorl %ebp, %ebp\n"
        "  movl %esp, %eax\n"
        "  andl $-16, %esp\n"
        "  subl $12, %esp\n"
        "  pushl %eax\n"
        "  call mini_start_c\n"
        "  hlt\n");
#define guest_exit(code) (out_flush(), sys_exit(code))

#else /* static glibc */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void out_bytes(const char *s, size_t n) { fwrite(s, 1, n, stdout); }
static void out_flush(void) { fflush(stdout); }
static void err_str(const char *s) {
  fflush(stdout);
  fputs(s, stderr);
}
static long sys_open(const char *path, int flags) { return open(path, flags); }
static long sys_read(int fd, void *buf, size_t n) { return read(fd, buf, n); }
static long sys_close(int fd) { return close(fd); }
static long sys_lseek(int fd, long off, int whence) { return lseek(fd, off, whence); }
#define guest_exit(code) (fflush(stdout), exit(code))

#endif

static void out_str(const char *s) { out_bytes(s, strlen(s)); }
static void out_nl(void) { out_bytes("\n", 1); }
static void out_u64(uint64_t v) {
  char b[24];
  int i = 24;
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  out_bytes(b + i, (size_t)(24 - i));
}
static void out_i64(int64_t v) {
  if (v < 0) {
    out_bytes("-", 1);
    out_u64((uint64_t)0 - (uint64_t)v);
  } else
    out_u64((uint64_t)v);
}
static void out_u32(uint32_t v) {
  char b[12];
  int i = 12;
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  out_bytes(b + i, (size_t)(12 - i));
}
static void out_i32(int32_t v) {
  if (v < 0) {
    out_bytes("-", 1);
    out_u32((uint32_t)0 - (uint32_t)v);
  } else
    out_u32((uint32_t)v);
}
static void out_hex(uint32_t v) {
  char b[8];
  for (int i = 7; i >= 0; i--, v >>= 4) b[i] = "0123456789abcdef"[v & 15];
  out_bytes(b, 8);
}
static void out_hex64(uint64_t v) {
  out_hex((uint32_t)(v >> 32));
  out_hex((uint32_t)v);
}
/* "label=value\n" helpers */
static void kv_u32(const char *k, uint32_t v) {
  out_str(k);
  out_str("=");
  out_u32(v);
  out_nl();
}
static void kv_hex(const char *k, uint32_t v) {
  out_str(k);
  out_str("=");
  out_hex(v);
  out_nl();
}

/* xorshift32 pseudo-random numbers: deterministic data for every guest */
static uint32_t rng_state = 2463534242u;
static uint32_t rng(void) {
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

/* FNV-1a over bytes, to print compact checksums */
static uint32_t fnv(const void *p, size_t n, uint32_t h) {
  const unsigned char *b = p;
  while (n--) h = (h ^ *b++) * 16777619u;
  return h;
}

#endif
