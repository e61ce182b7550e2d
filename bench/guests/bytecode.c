/* A bytecode interpreter loop (a stack machine with a switch dispatch) running a program that counts
   primes by trial division and sums a series: the shape of a scripting language's inner loop. */
#include "common.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, DUP, POP, HALT };

static int prog[128];
static int plen;
static void emit1(int op) { prog[plen++] = op; }
static void emit2(int op, int arg) { prog[plen++] = op; prog[plen++] = arg; }
static int here(void) { return plen; }
static void patch(int at, int target) { prog[at] = target; }

/* vars: 0 n, 1 count, 2 d, 3 limit. Counts the primes below limit by trial division. */
static void assemble(void) {
  emit2(PUSH, 2); emit2(STORE, 0);
  emit2(PUSH, 0); emit2(STORE, 1);
  int outer = here();
  emit2(LOAD, 0); emit2(LOAD, 3); emit1(LT); emit2(JZ, 0);
  int to_done = here() - 1;
  emit2(PUSH, 2); emit2(STORE, 2);
  int inner = here();
  emit2(LOAD, 0); emit2(LOAD, 2); emit2(LOAD, 2); emit1(MUL); emit1(LT); emit2(JZ, 0); /* d*d <= n ? */
  int to_check = here() - 1;
  emit2(JMP, 0); /* d*d > n: prime */
  int to_prime = here() - 1;
  patch(to_check, here());
  emit2(LOAD, 0); emit2(LOAD, 2); emit1(MOD); emit2(JZ, 0); /* divisible: composite */
  int to_next = here() - 1;
  emit2(LOAD, 2); emit2(PUSH, 1); emit1(ADD); emit2(STORE, 2); emit2(JMP, inner);
  patch(to_prime, here());
  emit2(LOAD, 1); emit2(PUSH, 1); emit1(ADD); emit2(STORE, 1);
  patch(to_next, here());
  emit2(LOAD, 0); emit2(PUSH, 1); emit1(ADD); emit2(STORE, 0); emit2(JMP, outer);
  patch(to_done, here());
  emit1(HALT);
}

static int run(int limit) {
  int vars[4] = {0, 0, 0, limit};
  int stack[64];
  int sp = 0, pc = 0;
  for (;;) {
    int op = prog[pc++];
    switch (op) {
      case PUSH: stack[sp++] = prog[pc++]; break;
      case LOAD: stack[sp++] = vars[prog[pc++]]; break;
      case STORE: vars[prog[pc++]] = stack[--sp]; break;
      case ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
      case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
      case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
      case JZ: { int t = prog[pc++]; if (stack[--sp] == 0) pc = t; break; }
      case JMP: pc = prog[pc]; break;
      case DUP: stack[sp] = stack[sp - 1]; sp++; break;
      case POP: sp--; break;
      default: return vars[1];
    }
  }
}

void _start(void) {
  assemble();
  putu((unsigned)run(60000));
  bye(0);
}
