/* File reading: argv[1] (a fixture under test/fixtures/) and argv[2] (this program's own source),
 * opened relative to the working directory. Counts lines, words and bytes, prints a checksum and the
 * first line; the glibc build also goes through stdio (fopen/fgets/fread/fseek/ftell) and fstat. */
#include "mini.h"
#ifndef FREESTANDING
#include <sys/stat.h>
#endif

static char buf[65536];

static void summarize(const char *path) {
  long fd = sys_open(path, 0);
  if (fd < 0) {
    out_str("open failed: ");
    out_str(path);
    out_nl();
    return;
  }
  size_t total = 0;
  for (;;) {
    long n = sys_read((int)fd, buf + total, 100 < sizeof buf - total ? 100 : sizeof buf - total);
    if (n <= 0) break;
    total += (size_t)n;
  }
  uint32_t lines = 0, words = 0, inword = 0;
  for (size_t i = 0; i < total; i++) {
    char c = buf[i];
    if (c == '\n') lines++;
    int sp = c == ' ' || c == '\n' || c == '\t';
    if (!sp && !inword) words++;
    inword = !sp;
  }
  out_str(path);
  out_str(": bytes=");
  out_u32((uint32_t)total);
  out_str(" lines=");
  out_u32(lines);
  out_str(" words=");
  out_u32(words);
  out_str(" fnv=");
  out_hex(fnv(buf, total, 2166136261u));
  out_nl();
  size_t e = 0;
  while (e < total && buf[e] != '\n') e++;
  out_str("first: ");
  out_bytes(buf, e);
  out_nl();
  long end = sys_lseek((int)fd, 0, 2);
  long mid = sys_lseek((int)fd, end / 2, 0);
  long n = sys_read((int)fd, buf, 16);
  out_str("seek end=");
  out_i32((int32_t)end);
  out_str(" mid=");
  out_i32((int32_t)mid);
  out_str(" read=");
  out_bytes(buf, n > 0 ? (size_t)n : 0);
  out_nl();
  sys_close((int)fd);
#ifndef FREESTANDING
  FILE *f = fopen(path, "r");
  char line[256];
  uint32_t lens = 0, count = 0;
  while (fgets(line, sizeof line, f)) lens = lens * 3 + (uint32_t)strlen(line), count++;
  fseek(f, 10, SEEK_SET);
  size_t got = fread(line, 1, 20, f);
  printf("stdio lines=%u lens=%08x pos=%ld got=%zu '%.20s'\n", count, lens, ftell(f), got, line);
  struct stat st;
  fstat(fileno(f), &st);
  printf("fstat size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  fclose(f);
#endif
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) summarize(argv[i]);
  if (sys_open("test/fixtures/does-not-exist", 0) < 0) out_str("missing: ok\n");
  return 0;
}
