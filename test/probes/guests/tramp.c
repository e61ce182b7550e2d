/*
 * tramp.c - a guest that transfers control to the kretprobe trampoline itself (#16): "jump" calls
 * the trampoline address directly; "reuse" keeps the return address its kretprobed function sees
 * (the trampoline, K20) and calls it after the function has returned, when no return is pending.
 * Output: "r=42" from the probed call, then nothing (the process dies of SIGILL).
 */
#include "prt.h"

#define TRAMP 0xfff00000u

static volatile u32 saved;

NOINLINE int keep_ra(int x) {
  saved = (u32)__builtin_return_address(0);
  return x + 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && prt_streq(argv[1], "jump")) ((void (*)(void))TRAMP)();
  say_dec("r", keep_ra(41));
  if (argc > 1 && prt_streq(argv[1], "reuse")) ((void (*)(void))saved)();
  say("done");
  return 0;
}
