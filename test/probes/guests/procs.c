/*
 * procs.c - probes across processes (#12, uprobe semantics). argv[1] names the case, argv[2] is
 * the other probed executable (other.c). Every process prints "proc PID FUNC COUNT" for the probed
 * functions it called itself, which is the oracle the test compares the recorded events with.
 *   tree:   the first process calls work() 3 times, forks inside forker() (both sides return
 *           through it), the child (counting afresh) calls work() twice and execs this file again as "again" (work()
 *           4 times); a second child execs the other file (bwork() 5 times); the parent waits for
 *           both, then calls work() once more.
 *   disarm: the parent calls work() once and forks; the child execs "spin": work() once, getppid()
 *           (the test disarms there), work() once more; the parent waits, then work() once more.
 */
#include "prt.h"

static inline long sys_fork(void) { return sys3(2, 0, 0, 0); }
static inline long sys_execve(const char *p, char **argv) { return sys3(11, (long)p, (long)argv, 0); }
static inline long sys_wait4(long pid) { return sys3(114, pid, 0, 0); }
static inline long sys_getpid(void) { return sys3(20, 0, 0, 0); }
static inline long sys_getppid(void) { return sys3(64, 0, 0, 0); }

static volatile int sink;
static int nwork, nforker;

NOINLINE int work(int k) {
  nwork++;
  sink += k;
  return k * 2;
}

NOINLINE long forker(void) {
  nforker++;
  return sys_fork();
}

static void report(const char *fn, int n) {
  struct line l = {.n = 0};
  l_str(&l, "proc ");
  l_dec(&l, (int)sys_getpid());
  l_str(&l, " ");
  l_str(&l, fn);
  l_str(&l, " ");
  l_dec(&l, n);
  l_end(&l);
}

static void calls(int n) {
  for (int i = 0; i < n; i++) work(i);
}

static void run(char *path, char *arg, char *other) {
  char *av[] = {path, arg, other, 0};
  sys_execve(path, av);
  say("execve failed");
  sys_exit_group(127);
}

int main(int argc, char **argv) {
  const char *c = argc > 1 ? argv[1] : "";
  char *other = argc > 2 ? argv[2] : "";
  if (prt_streq(c, "tree")) {
    calls(3);
    long a = forker();
    if (a == 0) {
      nwork = nforker = 0; /* the child counts its own calls */
      calls(2);
      report("work", nwork);
      report("forker", nforker);
      run(argv[0], "again", other);
    }
    long b = sys_fork();
    if (b == 0) run(other, "b", other);
    sys_wait4(a);
    sys_wait4(b);
    calls(1);
    report("work", nwork);
    report("forker", nforker);
  } else if (prt_streq(c, "again")) {
    calls(4);
    report("work", nwork);
  } else if (prt_streq(c, "disarm")) {
    calls(1);
    long a = sys_fork();
    if (a == 0) run(argv[0], "spin", other);
    sys_wait4(a);
    calls(1);
    report("work", nwork);
  } else if (prt_streq(c, "spin")) {
    calls(1);
    sys_getppid();
    calls(1);
    report("work", nwork);
  }
  return 0;
}
