/* File-system behaviour a program sees: creation, I/O, names, links, metadata, directories.
 * Prints results and errno names only (no inode numbers or clock times), so the output is the same
 * under qemu-i386 on the host kernel and in the emulator's overlay. Runs in an empty directory. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

static const char *en(int e) {
  switch (e) {
  case 0: return "OK";
  case ENOENT: return "ENOENT";
  case EEXIST: return "EEXIST";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case ENOTEMPTY: return "ENOTEMPTY";
  case ELOOP: return "ELOOP";
  case EBADF: return "EBADF";
  case EACCES: return "EACCES";
  case EXDEV: return "EXDEV";
  case EBUSY: return "EBUSY";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case ERANGE: return "ERANGE";
  case ESPIPE: return "ESPIPE";
  case EPERM: return "EPERM";
  default: return "E?";
  }
}
#define R(call) do { errno = 0; long r_ = (long)(call); printf("%-58s -> %ld %s\n", #call, r_, r_ < 0 ? en(errno) : "OK"); } while (0)

static void show(const char *p) {
  struct stat st;
  if (lstat(p, &st) < 0) { printf("lstat %s: %s\n", p, en(errno)); return; }
  printf("%s: %s mode %o nlink %lu size %lld\n", p,
         S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "lnk" : "other",
         (unsigned)(st.st_mode & 07777), (unsigned long)st.st_nlink, (long long)st.st_size);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *d) {
  DIR *dir = opendir(d);
  if (!dir) { printf("opendir %s: %s\n", d, en(errno)); return; }
  char *names[64]; int n = 0; struct dirent *e;
  while ((e = readdir(dir)) && n < 64) names[n++] = strdup(e->d_name);
  closedir(dir);
  qsort(names, n, sizeof *names, cmp);
  printf("ls %s:", d);
  for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
  printf("\n");
}

static void cat(const char *p) {
  char buf[256]; int fd = open(p, O_RDONLY);
  if (fd < 0) { printf("cat %s: %s\n", p, en(errno)); return; }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  printf("cat %s: [%s]\n", p, buf);
}

int main(void) {
  char base[PATH_MAX], cwd[PATH_MAX];
  umask(022);
  if (!getcwd(base, sizeof base)) return 1;

  /* creation, I/O, offsets */
  int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0666);
  printf("open new: %s\n", fd >= 0 ? "OK" : en(errno));
  R(write(fd, "hello world", 11));
  R(lseek(fd, 0, SEEK_CUR));
  R(lseek(fd, 6, SEEK_SET));
  char b[32] = {0};
  R(read(fd, b, 5)); printf("read: [%s]\n", b);
  R(pwrite(fd, "HELLO", 5, 0));
  memset(b, 0, sizeof b);
  R(pread(fd, b, 11, 0)); printf("pread: [%s]\n", b);
  R(lseek(fd, 20, SEEK_SET));
  R(write(fd, "!", 1));
  R(lseek(fd, 0, SEEK_END));
  R(lseek(fd, -100, SEEK_CUR));
  close(fd);
  show("a.txt");
  R(open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
  R(open("a.txt/x", O_RDONLY));
  R(open("missing/x", O_CREAT | O_WRONLY, 0644));
  R(open("a.txt", O_RDONLY | O_DIRECTORY));
  fd = open("a.txt", O_WRONLY | O_APPEND);
  R(lseek(fd, 0, SEEK_SET));
  R(write(fd, "+tail", 5));
  close(fd);
  show("a.txt");
  fd = open("a.txt", O_WRONLY | O_TRUNC);
  R(write(fd, "new", 3));
  close(fd);
  cat("a.txt");
  R(read(99, b, 1));

  /* directories */
  R(mkdir("d", 0755));
  R(mkdir("d", 0755));
  R(mkdir("d/e/f", 0755));
  R(mkdir("d/e", 0700));
  R(open("d", O_WRONLY));
  R(open("d", O_RDONLY | O_DIRECTORY) >= 0);
  R(rmdir("d"));
  R(unlink("d"));
  R(rmdir("a.txt"));
  R(rmdir("d/e/."));
  show("d");
  show("d/e");
  fd = creat("d/file", 0600);
  close(fd);
  list(".");
  list("d");

  /* names: rename, link, symlink */
  R(rename("d/file", "d/e/moved"));
  R(rename("d", "d/e/inside"));
  R(rename("missing", "x"));
  fd = creat("other", 0644); write(fd, "other", 5); close(fd);
  R(rename("other", "a.txt"));
  cat("a.txt");
  R(syscall(SYS_renameat2, AT_FDCWD, "a.txt", AT_FDCWD, "d/e/moved", 1 /* RENAME_NOREPLACE */));
  R(syscall(SYS_renameat2, AT_FDCWD, "a.txt", AT_FDCWD, "d/e/moved", 2 /* RENAME_EXCHANGE */));
  cat("a.txt");
  cat("d/e/moved");
  R(link("a.txt", "hard"));
  R(link("a.txt", "hard"));
  R(link("d", "dlink"));
  show("a.txt");
  R(unlink("hard"));
  show("a.txt");
  R(symlink("a.txt", "sym"));
  R(symlink("nowhere", "dangling"));
  R(symlink("loop2", "loop1"));
  R(symlink("loop1", "loop2"));
  R(symlink("d/e", "dirsym"));
  char lb[64] = {0};
  R(readlink("sym", lb, sizeof lb)); printf("readlink: [%s]\n", lb);
  R(readlink("a.txt", lb, sizeof lb));
  R(readlink("nothere", lb, sizeof lb));
  memset(lb, 0, sizeof lb);
  R(readlink("sym", lb, 3)); printf("readlink short: [%s]\n", lb);
  show("sym");
  cat("sym");
  R(open("dangling", O_RDONLY));
  R(open("loop1", O_RDONLY));
  R(open("sym", O_RDONLY | O_NOFOLLOW));
  fd = open("dangling", O_CREAT | O_WRONLY, 0644);
  printf("create through dangling: %s\n", fd >= 0 ? "OK" : en(errno));
  close(fd);
  show("nowhere");
  cat("dirsym/moved");
  R(access("dirsym/../moved", F_OK));
  R(access("dirsym/..", F_OK));
  char rp[PATH_MAX];
  if (realpath("dirsym/moved", rp)) printf("realpath: %s\n", rp + strlen(base)); else printf("realpath: %s\n", en(errno));
  R(unlink("dirsym/"));
  R(unlink("sym"));
  R(access("sym", F_OK));

  /* metadata */
  R(truncate("a.txt", 10));
  show("a.txt");
  fd = open("a.txt", O_RDWR);
  R(ftruncate(fd, 2));
  memset(b, 0, sizeof b);
  R(pread(fd, b, 30, 0)); printf("after ftruncate: [%s]\n", b);
  R(ftruncate(fd, 4));
  memset(b, 'x', sizeof b);
  R(pread(fd, b, 30, 0)); printf("zero-filled: %d %d\n", b[2], b[3]);
  R(fsync(fd));
  R(fdatasync(fd));
  close(fd);
  R(chmod("a.txt", 0640));
  show("a.txt");
  umask(077);
  fd = creat("private", 0666); close(fd);
  show("private");
  umask(022);
  struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
  R(utimensat(AT_FDCWD, "a.txt", ts, 0));
  struct stat st;
  stat("a.txt", &st);
  printf("times: atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  ts[0].tv_nsec = UTIME_OMIT; ts[1].tv_sec = 42; ts[1].tv_nsec = 0;
  R(utimensat(AT_FDCWD, "a.txt", ts, 0));
  stat("a.txt", &st);
  printf("times: atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);

  /* cwd */
  R(chdir("d/e"));
  getcwd(cwd, sizeof cwd); printf("cwd: %s\n", cwd + strlen(base));
  R(chdir("../.."));
  R(chdir("a.txt"));
  R(chdir("nothere"));
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  R(fchdir(dfd));
  getcwd(cwd, sizeof cwd); printf("cwd: %s\n", cwd + strlen(base));
  R(getcwd(cwd, 2) == NULL ? -1 : 0);
  chdir(base);
  R(openat(dfd, "e/moved", O_RDONLY) >= 0);
  R(mkdirat(dfd, "sub", 0755));
  R(unlinkat(dfd, "sub", AT_REMOVEDIR));
  R(unlinkat(dfd, "e", 0));
  R(fstatat(dfd, "e", &st, 0));
  printf("fstatat dir: %d\n", S_ISDIR(st.st_mode));
  close(dfd);

  /* unlinked while open */
  fd = open("temp", O_CREAT | O_RDWR, 0600);
  write(fd, "still here", 10);
  R(unlink("temp"));
  R(access("temp", F_OK));
  memset(b, 0, sizeof b);
  R(pread(fd, b, 10, 0)); printf("unlinked read: [%s]\n", b);
  fstat(fd, &st);
  printf("unlinked nlink %lu size %lld\n", (unsigned long)st.st_nlink, (long long)st.st_size);
  close(fd);

  /* devices */
  fd = open("/dev/null", O_RDWR);
  R(write(fd, "gone", 4));
  R(read(fd, b, 4));
  close(fd);
  fd = open("/dev/zero", O_RDONLY);
  memset(b, 7, sizeof b);
  R(read(fd, b, 8)); printf("zero: %d %d\n", b[0], b[7]);
  close(fd);
  fd = open("/dev/urandom", O_RDONLY);
  R(read(fd, b, 16));
  close(fd);
  stat("/dev/null", &st);
  printf("/dev/null: chr %d rdev %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));

  list(".");
  list("d/e");
  return 0;
}
