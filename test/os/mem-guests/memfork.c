/* Guest for test/os/mem-fork.test.ts (#12: fork shares memory copy-on-write). The parent fills
   private pages (.data, .bss, heap, anonymous mmap), MAP_SHARED anonymous pages, a page it made
   read-only, and a private writable mapping of a file; then children read and write them in an
   order fixed by pipes, and every side prints what it sees. Linux (and qemu-i386) semantics: a
   child's writes to private pages stay in the child, the parent's writes after the fork stay in
   the parent, MAP_SHARED pages are one memory, a file's private mapping never writes the file.
   usage: memfork FILE   (FILE: any readable file of at least 16 KiB, mapped privately) */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define NP 4 /* pages per region */

static unsigned bss[NP * PAGE / 4];
static unsigned data[NP * PAGE / 4] = {1, 2, 3};
static unsigned *heap, *anon, *shared, *ro, *filemap;
static int fd;

static unsigned sum(const unsigned *p, unsigned words) {
  unsigned s = 0;
  for (unsigned i = 0; i < words; i++) s = s * 31u + p[i];
  return s;
}

static void fill(unsigned *p, unsigned words, unsigned seed) {
  for (unsigned i = 0; i < words; i += 97) p[i] = seed * 2654435761u + i;
}

static void show(const char *who) {
  const unsigned w = NP * PAGE / 4;
  printf("%s: data %08x bss %08x heap %08x anon %08x shared %08x ro %08x file %08x\n", who, sum(data, w),
         sum(bss, w), sum(heap, w), sum(anon, w), sum(shared, w), sum(ro, PAGE / 4), sum(filemap, w));
}

static void privates(unsigned seed) {
  const unsigned w = NP * PAGE / 4;
  fill(data, w, seed);
  fill(bss, w, seed + 1);
  fill(heap, w, seed + 2);
  fill(anon, w, seed + 3);
}

static void put(int fd, char c) {
  if (write(fd, &c, 1) != 1) _exit(90);
}
static void get(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(91);
}

/* Child A: the parent writes first; the child must still see the memory as it was at the fork. */
static int child_a(int to_parent, int from_parent) {
  get(from_parent);
  show("A sees fork-time memory");
  privates(200);
  fill(shared, NP * PAGE / 4, 201);
  if (mprotect(ro, PAGE, PROT_READ | PROT_WRITE) != 0) return 92;
  fill(ro, PAGE / 4, 202);
  fill(filemap, NP * PAGE / 4, 203);
  show("A after its writes");
  put(to_parent, 'a');
  get(from_parent);
  show("A after the parent's second writes");
  return 7;
}

/* Many short children: each writes its slot of the shared pages and scribbles on private ones. */
static void many(void) {
  for (int i = 0; i < 12; i++) {
    pid_t p = fork();
    if (p == 0) {
      shared[i * 64] = 1000 + i;
      privates(300 + i);
      _exit(i);
    }
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != i) printf("child %d: bad status %x\n", i, st);
  }
  unsigned ok = 0;
  for (int i = 0; i < 12; i++) ok += shared[i * 64] == 1000u + i;
  printf("many: %u of 12 shared slots written by children\n", ok);
  show("parent after many children");
}

/* A grandchild writes; its parent (a fork child) and the first process see nothing of it. */
static void chain(void) {
  pid_t c = fork();
  if (c == 0) {
    privates(400);
    pid_t g = fork();
    if (g == 0) {
      privates(500);
      fill(shared, NP * PAGE / 4, 501);
      show("grandchild");
      _exit(3);
    }
    int st;
    waitpid(g, &st, 0);
    show("child after grandchild");
    _exit(WEXITSTATUS(st) + 1);
  }
  int st;
  waitpid(c, &st, 0);
  printf("chain: exit %d\n", WEXITSTATUS(st));
  show("parent after chain");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  fd = open(argv[1], O_RDONLY);
  if (fd < 0) return 3;
  const size_t len = NP * PAGE;
  heap = malloc(len + PAGE);
  anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  filemap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (anon == MAP_FAILED || shared == MAP_FAILED || ro == MAP_FAILED || filemap == MAP_FAILED) return 4;
  privates(100);
  fill(shared, len / 4, 101);
  fill(ro, PAGE / 4, 102);
  mprotect(ro, PAGE, PROT_READ);
  show("parent before fork");

  int up[2], down[2];
  if (pipe(up) || pipe(down)) return 5;
  pid_t a = fork();
  if (a == 0) _exit(child_a(up[1], down[0]));
  privates(110); /* before the child reads anything */
  show("parent after its own writes");
  put(down[1], 'x');
  get(up[0]);
  show("parent after A's writes");
  privates(120);
  fill(shared, len / 4, 121);
  put(down[1], 'y');
  int st;
  waitpid(a, &st, 0);
  printf("A: exit %d\n", WEXITSTATUS(st));
  /* The file itself never changed: read it back through the descriptor. */
  unsigned *back = malloc(len);
  if (pread(fd, back, len, 0) != (ssize_t)len) return 6;
  mprotect(ro, PAGE, PROT_READ | PROT_WRITE);
  unsigned *orig = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("file unchanged: %s, parent's file mapping still the file: %s\n",
         sum(back, len / 4) == sum(orig, len / 4) ? "yes" : "no",
         sum(filemap, len / 4) == sum(orig, len / 4) ? "yes" : "no");
  many();
  chain();
  return 0;
}
