/*
 * hello - the smallest workload, for quick tests of the loader, the system
 * calls and the output path.  Prints one line and exits with status 0.
 *
 * Usage: hello            (no parameters)
 * Probed function: greet(const char *who), if you want a first probe to play
 *                  with (`r:greet greet ret=$retval`).
 * CORRECT ANSWER:  peak calls of greet in flight = 1 (it is called once).
 */
#include "rt.h"

PROBE_TARGET int greet(const char *who) { return printf("hello, %s\n", who); }

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  greet("world");
  return 0;
}
