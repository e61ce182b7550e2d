/* other.c - the second probed executable of procs.c: bwork() 5 times, then "proc PID bwork 5". */
#include "prt.h"

static volatile int sink;
static int nb;

NOINLINE int bwork(int k) {
  nb++;
  sink += k;
  return k + 1;
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  for (int i = 0; i < 5; i++) bwork(i);
  struct line l = {.n = 0};
  l_str(&l, "proc ");
  l_dec(&l, (int)sys3(20, 0, 0, 0));
  l_str(&l, " bwork ");
  l_dec(&l, nb);
  l_end(&l);
  return 0;
}
