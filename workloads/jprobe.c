/*
 * jprobe - a jprobe target with its guest handler, and a function that reads
 * its own return address (the kretprobe limitation of the seed, 3.2).
 *
 * Usage:   jprobe [N [SEED]]
 * Defaults:       N = 3 calls of jp_target, SEED = 1
 *
 * 1. jp_target(int a, int b, const char *s) is an ordinary function; its
 *    jprobe handler jp_handler(int a, int b, const char *s) has the same
 *    signature.  When a jprobe on jp_target fires, the probe engine saves the
 *    registers and the top of the stack and jumps to jp_handler, which sees
 *    jp_target's arguments, records them in `jp_seen`, and ends with
 *    jprobe_return() (an int3 the engine catches, kprobes.md K7): the engine
 *    restores the registers and stack and jp_target then runs normally.
 *    main prints what the handler saw after every call: natively (and with no
 *    jprobe attached) it saw nothing.  NEVER call jp_handler directly: its
 *    jprobe_return() is an int3, which kills the process with SIGTRAP.
 *
 * 2. whoami() returns __builtin_return_address(0), its own return address.
 *    main checks that it points just after a `call whoami` in the program
 *    text.  With a return probe on whoami the return address on the stack is
 *    the kretprobe trampoline while whoami runs (seed 3.2, kprobes.md K20),
 *    and main prints that the check failed: a faithful emulator must show it.
 *
 * Probed functions: jp_target (jprobe, handler jp_handler; or p/r probes),
 *                   whoami (r:whoami whoami shows the K20 effect).
 * CORRECT ANSWER:   peak calls in flight: jp_target 1, whoami 1 (single
 *                   thread, no recursion).
 *
 * Output: the results of jp_target, what the handler saw, and the verdict
 * of the whoami check.  Deterministic: one thread.
 */
#include "rt.h"

/* What the jprobe handler saw, for main to print. */
struct jp_seen {
  int calls;
  int a, b;
  char s[24];
};
struct jp_seen jp_seen;

/* The jprobe target: an ordinary function with stack (cdecl) arguments. */
PROBE_TARGET int jp_target(int a, int b, const char *s) { return a * b + (int)strlen(s); }

/* The jprobe handler: same signature as jp_target, ends in jprobe_return().
 * Only ever entered by the probe engine, never called. */
PROBE_TARGET int jp_handler(int a, int b, const char *s) {
  jp_seen.calls++;
  jp_seen.a = a;
  jp_seen.b = b;
  size_t n = 0;
  while (s[n] && n < sizeof jp_seen.s - 1) {
    jp_seen.s[n] = s[n];
    n++;
  }
  jp_seen.s[n] = '\0';
  jprobe_return();
  return 0; /* not reached */
}

/* Reads its own return address (the K20 limitation when return-probed). */
PROBE_TARGET uintptr_t whoami(void) { return (uintptr_t)__builtin_return_address(0); }

/* Defined by the default GNU ld script: the bounds of the program text. */
extern const u8 __executable_start[], etext[];

/* Is `ra` the address just after a `call rel32` (E8 xx xx xx xx) to fn? */
static int is_call_site_of(uintptr_t ra, uintptr_t fn) {
  if (ra < (uintptr_t)__executable_start + 5 || ra > (uintptr_t)etext) return 0; /* not in our text */
  const u8 *p = (const u8 *)ra - 5;
  s32 rel = (s32)((u32)p[1] | (u32)p[2] << 8 | (u32)p[3] << 16 | (u32)p[4] << 24);
  return p[0] == 0xE8 && ra + (uintptr_t)rel == fn;
}

int main(int argc, char **argv) {
  const char *usage = "jprobe [CALLS=3 [SEED=1]]";
  int n = arg_int(argc, argv, 1, 3, 0, 1000, usage);
  u32 seed = (u32)arg_int(argc, argv, 2, 1, 0, 1000000000, usage);
  static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};

  rng_t rng;
  rng_seed(&rng, seed);
  printf("jprobe: calls=%d seed=%u\n", n, seed);
  int sum = 0;
  for (int i = 0; i < n; i++) {
    int a = (int)rng_below(&rng, 100), b = (int)rng_below(&rng, 100);
    const char *s = words[rng_below(&rng, ARRAY_SIZE(words))];
    int before = jp_seen.calls;
    int r = jp_target(a, b, s);
    sum += r;
    printf("jp_target(%d, %d, \"%s\") = %d; ", a, b, s, r);
    if (jp_seen.calls == before)
      printf("jprobe handler saw: nothing (no jprobe attached)\n");
    else
      printf("jprobe handler saw: (%d, %d, \"%s\")\n", jp_seen.a, jp_seen.b, jp_seen.s);
  }
  printf("jp_target sum=%d handler_calls=%d\n", sum, jp_seen.calls);

  uintptr_t ra = whoami();
  if (is_call_site_of(ra, (uintptr_t)whoami))
    printf("whoami: return address is a call site of whoami: ok\n");
  else
    printf("whoami: return address %p is not a call site of whoami (kretprobe trampoline? see K20)\n",
           (void *)ra);
  return 0;
}
