/* Dense switch statements (jump tables through jmp *table(,%reg,4)), computed goto and a small
 * bytecode interpreter. */
#include "mini.h"

__attribute__((noinline)) static uint32_t sw(uint32_t x, uint32_t v) {
  switch (x) {
  case 0: return v + 1;
  case 1: return v * 3;
  case 2: return v ^ 0x5555;
  case 3: return v - 17;
  case 4: return v << 3;
  case 5: return v >> 2;
  case 6: return ~v;
  case 7: return v * v;
  case 8: return v + 0x1000;
  case 9: return v | 0x80000000u;
  case 10: return v & 0xffff;
  case 11: return v / 3;
  case 12: return v % 1000;
  case 13: return (v << 7) | (v >> 25);
  case 14: return v + x * 5;
  case 15: return 0;
  case 17: return v - 1;
  case 19: return v * 7;
  default: return v + 2;
  }
}

enum { OP_PUSH, OP_ADD, OP_MUL, OP_DUP, OP_SWAP, OP_JNZ, OP_DEC, OP_POP, OP_HALT, OP_XOR, OP_ROT };
static uint32_t run_vm(const uint8_t *code) {
  static void *const labels[] = {&&push, &&add, &&mul, &&dup, &&swap, &&jnz, &&dec, &&pop, &&halt, &&xor, &&rot};
  uint32_t stack[64];
  int sp = 0;
  const uint8_t *pc = code;
#define NEXT goto *labels[*pc++]
  NEXT;
push:
  stack[sp++] = *pc++;
  NEXT;
add:
  sp--, stack[sp - 1] += stack[sp];
  NEXT;
mul:
  sp--, stack[sp - 1] *= stack[sp];
  NEXT;
dup:
  stack[sp] = stack[sp - 1], sp++;
  NEXT;
swap: {
  uint32_t t = stack[sp - 1];
  stack[sp - 1] = stack[sp - 2];
  stack[sp - 2] = t;
  NEXT;
}
jnz:
  if (stack[--sp]) pc = code + *pc;
  else pc++;
  NEXT;
dec:
  stack[sp - 1]--;
  NEXT;
pop:
  sp--;
  NEXT;
xor:
  sp--, stack[sp - 1] ^= stack[sp] * 2654435761u;
  NEXT;
rot:
  stack[sp - 1] = (stack[sp - 1] << 5) | (stack[sp - 1] >> 27);
  NEXT;
halt:
  return stack[sp - 1];
}

int main(void) {
  uint32_t v = 1;
  for (uint32_t i = 0; i < 20000; i++) v = sw(rng() % 22, v);
  kv_hex("switch", v);
  /* acc=1, n=200; loop: acc = rot(acc*3 ^ n); n--; while n */
  static const uint8_t prog[] = {OP_PUSH, 1,      OP_PUSH, 200,    OP_SWAP, OP_PUSH, 3,      OP_MUL,
                                 OP_SWAP, OP_DUP, OP_PUSH, 0,      OP_ADD,  OP_SWAP, OP_POP, OP_DUP,
                                 OP_PUSH, 0,      OP_ADD,  OP_SWAP, OP_POP,  OP_SWAP, OP_DUP, OP_ROT,
                                 OP_XOR,  OP_SWAP, OP_DEC, OP_DUP,  OP_JNZ,  4,       OP_POP, OP_HALT};
  kv_hex("vm", run_vm(prog));
  return 0;
}
