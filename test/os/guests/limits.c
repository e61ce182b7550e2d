/* Issue 16 items (descriptor limits and transfers as Linux answers them): RLIMIT_NOFILE through
 * setrlimit/getrlimit/prlimit64 and the old getrlimit, EMFILE for open/dup/pipe at the soft limit,
 * EBADF/EINVAL for dup2/F_DUPFD at or above it; _llseek to an offset beyond 4 GiB and 32-bit lseek's
 * EOVERFLOW; read/write/pread64/pwrite64 with a count that runs past the end of user space (EFAULT),
 * readv/writev with a negative length (EINVAL) or a vector outside user space (EFAULT). Lines with
 * "L:" are where qemu-user differs from an i386 Linux kernel (3 GiB user space) and an unprivileged
 * caller: qemu runs as root here, truncates a 64-bit lseek result to 32 bits instead of EOVERFLOW,
 * checks a buffer before the descriptor, and moves part of a vector list whose later vector is bad. */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Prints a call's result and errno; L_SHOW marks the line as Linux's value where qemu differs. */
#define SHOW_(prefix, what, expr)                                                                                      \
  do {                                                                                                                 \
    errno = 0;                                                                                                         \
    long r_ = (long)(expr);                                                                                            \
    printf("%s%s: %ld errno %d\n", prefix, what, r_, r_ < 0 ? errno : 0);                                              \
  } while (0)
#define SHOW(what, expr) SHOW_("", what, expr)
#define L_SHOW(what, expr) SHOW_("L: ", what, expr)

static char buf[256];

static void limits(void) {
  struct rlimit rl, orig;
  getrlimit(RLIMIT_NOFILE, &orig);
  rl.rlim_cur = 64;
  rl.rlim_max = orig.rlim_max;
  SHOW("setrlimit NOFILE 64", setrlimit(RLIMIT_NOFILE, &rl));
  getrlimit(RLIMIT_NOFILE, &rl);
  printf("getrlimit NOFILE: cur %lu max kept %d\n", (unsigned long)rl.rlim_cur, rl.rlim_max == orig.rlim_max);
  uint32_t old32[2];
  SHOW("old getrlimit NOFILE", syscall(76, RLIMIT_NOFILE, old32));
  printf("  old getrlimit cur %u\n", old32[0]);
  rl.rlim_cur = orig.rlim_max == RLIM_INFINITY ? 5000 : orig.rlim_max + 1;
  rl.rlim_max = rl.rlim_cur - 1;
  SHOW("setrlimit soft above hard", setrlimit(RLIMIT_NOFILE, &rl));
  rl.rlim_cur = 64;
  rl.rlim_max = 2000000;
  SHOW("setrlimit NOFILE above nr_open", setrlimit(RLIMIT_NOFILE, &rl));
  SHOW("getrlimit resource 99", syscall(SYS_ugetrlimit, 99, old32));
  struct rlimit nl = {32, orig.rlim_max}, ol;
  SHOW("prlimit NOFILE 32", prlimit(0, RLIMIT_NOFILE, &nl, &ol));
  printf("  prlimit old cur %lu\n", (unsigned long)ol.rlim_cur);
  getrlimit(RLIMIT_CORE, &rl);
  printf("RLIMIT_CORE cur %lu\n", (unsigned long)rl.rlim_cur);

  int last = -1, fd;
  errno = 0;
  while ((fd = open("/dev/null", O_RDONLY)) >= 0) last = fd;
  printf("opened up to fd %d, then errno %d\n", last, errno);
  SHOW("dup at the limit", dup(0));
  int p[2];
  SHOW("pipe at the limit", pipe(p));
  close(last);
  SHOW("pipe with one free slot", pipe(p));
  SHOW("open with one free slot", open("/dev/null", O_RDONLY));
  SHOW("dup2 to the limit", dup2(0, 32));
  SHOW("dup2 below it", dup2(0, 31));
  SHOW("F_DUPFD at the limit", fcntl(0, F_DUPFD, 32));
  for (int i = 3; i <= last; i++) close(i);
  rl.rlim_cur = 64;
  rl.rlim_max = orig.rlim_max;
  SHOW("setrlimit NOFILE back to 64", setrlimit(RLIMIT_NOFILE, &rl));
  SHOW("dup2 to 40 now", dup2(0, 40));
  close(40);
  /* Raising a hard limit needs CAP_SYS_RESOURCE (qemu runs as root here). */
  rl.rlim_cur = 16;
  rl.rlim_max = 100;
  setrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_max = 200;
  errno = 0;
  int r = setrlimit(RLIMIT_NOFILE, &rl);
  printf("L: raise the hard limit: %d errno %d\n", r, r < 0 ? errno : 0);
}

static void seeks(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/probelab-limits-%d", getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(fd, "hello", 5);
  int64_t res = -1;
  SHOW("_llseek to 4 GiB + 16", syscall(SYS__llseek, fd, 1, 16, &res, SEEK_SET));
  printf("  result %#llx\n", (unsigned long long)res);
  res = -1;
  SHOW("_llseek SEEK_CUR 0", syscall(SYS__llseek, fd, 0, 0, &res, SEEK_CUR));
  printf("  result %#llx\n", (unsigned long long)res);
  SHOW("read there", read(fd, buf, 8));
  /* fs/read_write.c ksys_lseek: a result that does not fit off_t is EOVERFLOW (75). */
  L_SHOW("32-bit lseek SEEK_CUR there", syscall(SYS_lseek, fd, 0, SEEK_CUR));
  SHOW("_llseek SEEK_END -2", syscall(SYS__llseek, fd, 0xffffffff, 0xfffffffe, &res, SEEK_END));
  printf("  result %lld\n", (long long)res);
  SHOW("_llseek before the start", syscall(SYS__llseek, fd, 0xffffffff, 0xfffffff0, &res, SEEK_SET));
  SHOW("32-bit lseek to 2 GiB - 1", syscall(SYS_lseek, fd, 0x7fffffff, SEEK_SET));
  L_SHOW("32-bit lseek SEEK_CUR +1", syscall(SYS_lseek, fd, 1, SEEK_CUR));
  res = -1;
  syscall(SYS__llseek, fd, 0, 0, &res, SEEK_CUR);
  printf("  position after it %#llx\n", (unsigned long long)res);
  close(fd);
  unlink(path);
}

static void transfers(void) {
  static char bss[64];
  char stack[64];
  int fd = open("/dev/zero", O_RDONLY);
  int p[2];
  pipe(p);
  write(p[1], "abc", 3);
  SHOW("read 0xffffffff into bss", read(fd, bss, 0xffffffff));
  SHOW("read 0xffffffff into the stack", read(fd, stack, 0xffffffff));
  SHOW("read 0xffffffff from a pipe", read(p[0], bss, 0xffffffff));
  SHOW("the pipe still has", read(p[0], bss, 64));
  SHOW("write 0xffffffff", write(1, bss, 0xffffffff));
  SHOW("pread64 0xffffffff", pread(fd, bss, 0xffffffff, 0));
  SHOW("pwrite64 0xffffffff", pwrite(p[1], bss, 0xffffffff, 0));
  SHOW("read at the top of memory", read(fd, (void *)0xffffff00, 16));
  SHOW("read of 0 bytes to NULL", read(fd, NULL, 0));
  /* fs/read_write.c: fdget (EBADF 9) and vfs_read/vfs_write's FMODE check come before access_ok. */
  L_SHOW("read bad fd, bad buffer", read(99, (void *)0xffffff00, 16));
  L_SHOW("write to a read-only fd, bad buffer", write(fd, (void *)0xffffff00, 16));
  struct iovec iov[2] = {{bss, 4}, {stack, 0xffffffff}};
  SHOW("readv with a negative length", readv(fd, iov, 2));
  iov[1].iov_base = (void *)0xfffff000;
  iov[1].iov_len = 16;
  /* lib/iov_iter.c __import_iovec: every vector must pass access_ok before any transfer (EFAULT 14). */
  L_SHOW("readv outside user space", readv(fd, iov, 2));
  L_SHOW("writev outside user space", writev(p[1], iov, 2));
  SHOW("readv 1025 vectors", readv(fd, iov, 1025));
  SHOW("readv nothing", readv(fd, iov, 0));
  iov[1].iov_base = stack;
  iov[1].iov_len = 8;
  SHOW("readv fine", readv(fd, iov, 2));
  close(fd);
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  printf("== RLIMIT_NOFILE\n");
  limits();
  printf("== offsets\n");
  seeks();
  printf("== transfers\n");
  transfers();
  return 0;
}
