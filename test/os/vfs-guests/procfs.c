/* What a program learns from /proc, /sys and /dev about itself and the machine. The emulator's
 * answers are checked against values the test computes from the run's configuration (qemu-i386
 * shows the host's /proc, so it cannot be the reference here). */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static void first_line(const char *path, const char *prefix) {
  FILE *f = fopen(path, "r");
  if (!f) { printf("%s: cannot open\n", path); return; }
  char line[256];
  while (fgets(line, sizeof line, f))
    if (!prefix || strncmp(line, prefix, strlen(prefix)) == 0) { printf("%s: %s", path, line); break; }
  fclose(f);
}

static int count_prefix(const char *path, const char *prefix) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[256]; int n = 0;
  while (fgets(line, sizeof line, f)) if (strncmp(line, prefix, strlen(prefix)) == 0) n++;
  fclose(f);
  return n;
}

int main(int argc, char **argv) {
  (void)argc;
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("exe: %s\n", buf);
  n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  char cwd[PATH_MAX];
  getcwd(cwd, sizeof cwd);
  printf("cwd link matches getcwd: %d\n", strcmp(buf, cwd) == 0);
  char self[32];
  n = readlink("/proc/self", self, sizeof self - 1);
  self[n < 0 ? 0 : n] = 0;
  printf("self is getpid: %d\n", atoi(self) == getpid());
  int fd = open(argv[0], O_RDONLY);
  snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  n = readlink(buf, target, sizeof target - 1);
  target[n < 0 ? 0 : n] = 0;
  printf("fd %d -> %s\n", fd, target);
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e; int fds = 0;
  while ((e = readdir(d))) if (e->d_name[0] != '.') fds++;
  closedir(d);
  printf("open descriptors listed: %d\n", fds);
  printf("nprocs %d conf %d onln %ld\n", get_nprocs(), get_nprocs_conf(), sysconf(_SC_NPROCESSORS_ONLN));
  first_line("/sys/devices/system/cpu/online", NULL);
  printf("cpuinfo processors: %d\n", count_prefix("/proc/cpuinfo", "processor"));
  first_line("/proc/self/status", "Name:");
  first_line("/proc/self/status", "Threads:");
  printf("maps has an executable mapping: %d\n", count_prefix("/proc/self/maps", "08") > 0);
  FILE *f = fopen("/proc/self/cmdline", "r");
  size_t k = fread(buf, 1, sizeof buf, f);
  fclose(f);
  printf("cmdline bytes %zu, first [%s], second [%s]\n", k, buf, buf + strlen(buf) + 1);
  struct stat st;
  stat("/proc/meminfo", &st);
  first_line("/proc/meminfo", "MemTotal:");
  printf("write /proc/meminfo: %d\n", open("/proc/meminfo", O_WRONLY) < 0);
  printf("tmp is a sticky dir: %d\n", stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 01000));
  FILE *t = fopen("/tmp/kept.txt", "w");
  fputs("written in the machine\n", t);
  fclose(t);
  d = opendir("/tmp");
  int seen = 0;
  while ((e = readdir(d))) if (strcmp(e->d_name, "kept.txt") == 0) seen = 1;
  closedir(d);
  printf("/tmp/kept.txt listed: %d\n", seen);
  printf("/etc/passwd readable: %d\n", access("/etc/passwd", R_OK) == 0);
  printf("create outside: %d\n", open("/etc/probelab-test", O_CREAT | O_WRONLY, 0644) < 0);
  return 0;
}
