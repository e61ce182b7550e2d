// Block compiler vs interpreter (fast-check): random straight-line and branching i386 instruction
// sequences (encoded by this file's own small assembler) run in a loop often enough for their blocks to
// be compiled, once with the compiler and once with the pure interpreter, under the same random
// sequence of instruction budgets (so blocks are cut short and compiled self-loops stop at exact
// counts). The final states must be identical: registers, EIP, EFLAGS, retired count, data and stack
// memory, and the exception (vector, EIP, registers, flags) when a sequence faults. The interpreter is
// itself held to qemu-i386 instruction by instruction by test/lockstep.test.ts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodeCache } from '../src/emulator/codecache.js';
import { ATTN_CODE, Cpu, type CpuHost } from '../src/emulator/cpu.js';
import { unitSource } from '../src/emulator/jit/compiler.js';
import { FramePool, Memory, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/emulator/memory.js';
import { useWasmStores, wasmStoreOf } from '../src/emulator/jit/wasm-store.js';
import { wasmTranslated } from '../src/emulator/jit/wasm-unit.js';

const CODE = 0x08048000;
const DATA = 0x10000000;
const STACK = 0x20000000;
const STACK_LEN = 0x4000;
const COUNTER = 0x100; // loop counter at [esi+0x100]; random stores stay below 0x80
const RW = PROT_READ | PROT_WRITE;

// ---------------------------------------------------------------- a tiny assembler

/** General registers the sequences write: eax ecx edx ebx ebp edi (esi holds DATA, esp the stack). */
const DST = [0, 1, 2, 3, 5, 7];

const modrmReg = (reg: number, rm: number) => 0xc0 | (reg << 3) | rm;
/** [esi + d8] memory operand. */
const memEsi = (reg: number, d: number) => [0x40 | (reg << 3) | 6, d & 0xff];
const imm32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

const reg = fc.constantFrom(...DST);
const anyReg = fc.integer({ min: 0, max: 7 });
const disp = fc.integer({ min: 0, max: 0x7c });
const i32 = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  fc.constantFrom(0, 1, 2, -1, -2, 0x7fffffff, -0x80000000, 0x80, 0x7f, 0xff, 0xffff, 0x8000),
);
const i8 = fc.integer({ min: -128, max: 127 });
const cc = fc.integer({ min: 0, max: 15 });
const alu = fc.integer({ min: 0, max: 7 });

/** One instruction's bytes. */
const insn: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(alu, anyReg, reg).map(([k, s, d]) => [(k << 3) | 1, modrmReg(s, d)]),
  fc.tuple(alu, reg, disp).map(([k, r, d]) => [(k << 3) | 3, ...memEsi(r, d)]),
  fc.tuple(alu, anyReg, disp).map(([k, r, d]) => [(k << 3) | 1, ...memEsi(r, d)]),
  fc.tuple(alu, reg, i8).map(([k, r, v]) => [0x83, modrmReg(k, r), v & 0xff]),
  fc.tuple(alu, reg, i32).map(([k, r, v]) => [0x81, modrmReg(k, r), ...imm32(v)]),
  fc.tuple(alu, i32).map(([k, v]) => [(k << 3) | 5, ...imm32(v)]),
  fc.tuple(alu, disp, i8).map(([k, d, v]) => [0x83, ...memEsi(k, d), v & 0xff]),
  reg.map((r) => [0x40 + r]),
  reg.map((r) => [0x48 + r]),
  fc.tuple(fc.integer({ min: 0, max: 1 }), reg).map(([k, r]) => [0xff, modrmReg(k, r)]),
  fc.tuple(fc.integer({ min: 0, max: 1 }), disp).map(([k, d]) => [0xff, ...memEsi(k, d)]),
  fc.tuple(anyReg, reg).map(([s, d]) => [0x89, modrmReg(s, d)]),
  fc.tuple(reg, i32).map(([r, v]) => [0xb8 + r, ...imm32(v)]),
  fc.tuple(anyReg, disp).map(([r, d]) => [0x89, ...memEsi(r, d)]),
  fc.tuple(reg, disp).map(([r, d]) => [0x8b, ...memEsi(r, d)]),
  fc.tuple(anyReg, anyReg).map(([s, d]) => [0x88, modrmReg(s, d === 4 || d === 6 ? 0 : d)]),
  fc.tuple(anyReg, disp).map(([r, d]) => [0x88, ...memEsi(r, d)]),
  fc.tuple(reg, disp).map(([r, d]) => [0x8a, ...memEsi(r, d)]),
  fc
    .tuple(fc.constantFrom(0xb6, 0xb7, 0xbe, 0xbf), reg, anyReg)
    .map(([o, r, s]) => [0x0f, o, modrmReg(r, s)]),
  fc.tuple(fc.constantFrom(0xb6, 0xb7, 0xbe, 0xbf), reg, disp).map(([o, r, d]) => [0x0f, o, ...memEsi(r, d)]),
  fc.tuple(anyReg, anyReg).map(([s, d]) => [0x85, modrmReg(s, d)]),
  fc.tuple(anyReg, anyReg).map(([s, d]) => [0x84, modrmReg(s, d)]),
  i8.map((v) => [0xa8, v & 0xff]),
  i32.map((v) => [0xa9, ...imm32(v)]),
  i8.map((v) => [0x3c, v & 0xff]),
  fc.tuple(anyReg, i8).map(([r, v]) => [0x80, modrmReg(7, r), v & 0xff]),
  fc.tuple(disp, i8).map(([d, v]) => [0x80, ...memEsi(7, d), v & 0xff]),
  fc
    .tuple(fc.constantFrom(0, 1, 4, 5, 7), reg, fc.integer({ min: 0, max: 40 }))
    .map(([k, r, n]) => [0xc1, modrmReg(k, r), n]),
  fc.tuple(fc.constantFrom(4, 5, 7), reg).map(([k, r]) => [0xd1, modrmReg(k, r)]),
  fc.tuple(fc.constantFrom(4, 5, 7), reg).map(([k, r]) => [0xd3, modrmReg(k, r)]),
  fc.tuple(fc.constantFrom(4, 5, 7), disp).map(([k, d]) => [0xd3, ...memEsi(k, d)]),
  fc.tuple(reg, anyReg).map(([r, s]) => [0x0f, 0xaf, modrmReg(r, s)]),
  fc.tuple(reg, anyReg, i8).map(([r, s, v]) => [0x6b, modrmReg(r, s), v & 0xff]),
  fc.tuple(reg, anyReg, i32).map(([r, s, v]) => [0x69, modrmReg(r, s), ...imm32(v)]),
  fc
    .tuple(fc.constantFrom(0, 2, 3, 4, 5, 6), reg)
    .map(([k, r]) => [0xf7, modrmReg(k, r), ...(k === 0 ? imm32(r * 77) : [])]),
  // not, neg, mul, imul r/m32 (#13: mul/imul translated)
  fc.tuple(fc.constantFrom(2, 3, 4, 5), disp).map(([k, d]) => [0xf7, ...memEsi(k, d)]),
  fc.tuple(fc.constantFrom(4, 5), i32).map(([k, v]) => [0xb9, ...imm32(v), 0xf7, modrmReg(k, 1)]),
  fc.tuple(cc, anyReg).map(([c, r]) => [0x0f, 0x90 + c, modrmReg(0, r)]),
  fc.tuple(cc, disp).map(([c, d]) => [0x0f, 0x90 + c, ...memEsi(0, d)]),
  fc.tuple(cc, reg, anyReg).map(([c, r, s]) => [0x0f, 0x40 + c, modrmReg(r, s)]),
  fc.tuple(cc, reg, disp).map(([c, r, d]) => [0x0f, 0x40 + c, ...memEsi(r, d)]),
  fc
    .tuple(reg, anyReg, anyReg, fc.integer({ min: 0, max: 3 }), i8)
    .map(([r, b, x, s, d]) => [0x8d, 0x44 | (r << 3), (s << 6) | ((x === 4 ? 0 : x) << 3) | b, d & 0xff]),
  fc.tuple(anyReg, reg).map(([a, b]) => [0x50 + a, 0x58 + b]),
  fc.tuple(anyReg).map(([a]) => [0x50 + a, 0x83, 0xc4, 0x04]),
  i8.map((v) => [0x6a, v & 0xff, 0x58 + 2]),
  fc.tuple(disp, reg).map(([d, r]) => [0xff, ...memEsi(6, d), 0x58 + r]),
  reg.map((r) => [0x9c, 0x58 + r]),
  fc.constantFrom<number[]>(
    [0x99],
    [0x98],
    [0x90],
    [0xf8],
    [0xf9],
    [0xf5],
    [0x9e],
    [0x9f],
    [0x66, 0x40],
    [0x66, 0x05, 1, 0x80],
    [0x66, 0x90],
  ),
  // call to the next instruction, then pop the return address (a call/ret pair through a stub below)
  reg.map((r) => [0xe8, 0, 0, 0, 0, 0x58 + r]),
  fc.tuple(reg, reg).map(([r, s]) => [0x87, modrmReg(s, r)]),
  // a load through a register that is usually not a valid pointer: faults with exact state
  fc.tuple(reg, anyReg).map(([r, s]) => [0x8b, (r << 3) | (s === 4 || s === 5 ? 3 : s)]),
  // div may raise #DE
  reg.map((r) => [0xf7, modrmReg(6, r)]),
  // 8-bit ALU forms, test/not/neg/inc/dec r/m8 (registers 4-7 are ah..bh), 16-bit moves, moffs (#13)
  fc.tuple(alu, anyReg, anyReg).map(([k, s, d]) => [k << 3, modrmReg(s, d)]),
  fc.tuple(alu, anyReg, disp).map(([k, r, d]) => [k << 3, ...memEsi(r, d)]),
  fc.tuple(alu, anyReg, disp).map(([k, r, d]) => [(k << 3) | 2, ...memEsi(r, d)]),
  fc.tuple(alu, anyReg, anyReg).map(([k, s, d]) => [(k << 3) | 2, modrmReg(s, d)]),
  fc.tuple(alu, i8).map(([k, v]) => [(k << 3) | 4, v & 0xff]),
  fc.tuple(alu, anyReg, i8).map(([k, r, v]) => [0x80, modrmReg(k, r), v & 0xff]),
  fc.tuple(alu, disp, i8).map(([k, d, v]) => [0x80, ...memEsi(k, d), v & 0xff]),
  fc
    .tuple(fc.integer({ min: 0, max: 3 }), anyReg, i8)
    .map(([k, r, v]) => [0xf6, modrmReg(k, r), ...(k <= 1 ? [v & 0xff] : [])]),
  fc
    .tuple(fc.integer({ min: 0, max: 3 }), disp, i8)
    .map(([k, d, v]) => [0xf6, ...memEsi(k, d), ...(k <= 1 ? [v & 0xff] : [])]),
  fc.tuple(fc.integer({ min: 0, max: 1 }), anyReg).map(([k, r]) => [0xfe, modrmReg(k, r)]),
  fc.tuple(fc.integer({ min: 0, max: 1 }), disp).map(([k, d]) => [0xfe, ...memEsi(k, d)]),
  fc.tuple(anyReg, reg).map(([s, d]) => [0x66, 0x89, modrmReg(s, d)]),
  fc.tuple(anyReg, disp).map(([s, d]) => [0x66, 0x89, ...memEsi(s, d)]),
  fc.tuple(reg, anyReg).map(([d, s]) => [0x66, 0x8b, modrmReg(d, s)]),
  fc.tuple(reg, disp).map(([r, d]) => [0x66, 0x8b, ...memEsi(r, d)]),
  fc.tuple(reg, i32).map(([r, v]) => [0x66, 0xc7, modrmReg(0, r), v & 0xff, (v >> 8) & 0xff]),
  fc.tuple(disp, i32).map(([d, v]) => [0x66, 0xc7, ...memEsi(0, d), v & 0xff, (v >> 8) & 0xff]),
  fc.tuple(fc.constantFrom(0xa0, 0xa1, 0xa2, 0xa3), disp).map(([o, d]) => [o, ...imm32(DATA + d)]),
  // 16-bit ALU forms and test (destinations among the general registers), cld/std
  fc.tuple(alu, anyReg, reg).map(([k, s, d]) => [0x66, (k << 3) | 1, modrmReg(s, d)]),
  fc.tuple(alu, reg, anyReg).map(([k, d, s]) => [0x66, (k << 3) | 3, modrmReg(d, s)]),
  fc.tuple(alu, anyReg, disp).map(([k, r, d]) => [0x66, (k << 3) | 1, ...memEsi(r, d)]),
  fc.tuple(alu, reg, disp).map(([k, r, d]) => [0x66, (k << 3) | 3, ...memEsi(r, d)]),
  fc.tuple(alu, i32).map(([k, v]) => [0x66, (k << 3) | 5, v & 0xff, (v >> 8) & 0xff]),
  fc.tuple(alu, reg, i8).map(([k, r, v]) => [0x66, 0x83, modrmReg(k, r), v & 0xff]),
  fc.tuple(alu, disp, i32).map(([k, d, v]) => [0x66, 0x81, ...memEsi(k, d), v & 0xff, (v >> 8) & 0xff]),
  fc.tuple(anyReg, anyReg).map(([s, d]) => [0x66, 0x85, modrmReg(s, d)]),
  fc.tuple(disp, i32).map(([d, v]) => [0x66, 0xf7, ...memEsi(0, d), v & 0xff, (v >> 8) & 0xff]),
  fc.constantFrom<number[]>([0xfc], [0xfd, 0xfc], [0xfd, 0x9c, 0x58 + 2, 0xfc]),
  // 16-bit accesses whose second byte is on the unmapped page after DATA: a fault with exact state
  fc.constantFrom<number[]>([0x66, 0x8b, 0x86, ...imm32(0xfff)], [0x66, 0x89, 0x86, ...imm32(0xfff)]),
  // Forms the wasm back end translates on its own (#13 wasm hand-overs): rol/ror, 16-bit shifts and
  // rotates, shld/shrd, bswap, bsf/bsr, jecxz, xchg, not/neg r/m16, endbr32.
  fc
    .tuple(fc.constantFrom(0, 1), reg, fc.integer({ min: 0, max: 40 }))
    .map(([k, r, n]) => [0xc1, modrmReg(k, r), n]),
  fc.tuple(fc.constantFrom(0, 1), disp, i8).map(([k, d, n]) => [0xc1, ...memEsi(k, d), n & 0xff]),
  fc.tuple(fc.constantFrom(0, 1), reg).map(([k, r]) => [0xd1, modrmReg(k, r)]),
  fc
    .tuple(fc.constantFrom(0, 1, 4, 5, 7), reg, fc.integer({ min: 0, max: 40 }))
    .map(([k, r, n]) => [0x66, 0xc1, modrmReg(k, r), n]),
  fc.tuple(fc.constantFrom(0, 1, 4, 5, 7), disp).map(([k, d]) => [0x66, 0xd1, ...memEsi(k, d)]),
  fc
    .tuple(fc.constantFrom(0xa4, 0xac), anyReg, reg, fc.integer({ min: 0, max: 40 }))
    .map(([o, s, d, n]) => [0x0f, o, modrmReg(s, d), n]),
  fc
    .tuple(fc.constantFrom(0xa4, 0xac), anyReg, disp, i8)
    .map(([o, s, d, n]) => [0x0f, o, ...memEsi(s, d), n & 0xff]),
  fc.tuple(fc.constantFrom(0xa5, 0xad), anyReg, reg).map(([o, s, d]) => [0x0f, o, modrmReg(s, d)]),
  fc.tuple(fc.constantFrom(0xa5, 0xad), anyReg, disp).map(([o, s, d]) => [0x0f, o, ...memEsi(s, d)]),
  fc
    .tuple(fc.constantFrom(0, 1, 4, 5, 7), anyReg, fc.integer({ min: 0, max: 40 }))
    .map(([k, r, n]) => [0xc0, modrmReg(k, r), n]),
  fc.tuple(fc.constantFrom(0, 1, 4, 5, 7), disp).map(([k, d]) => [0xd0, ...memEsi(k, d)]),
  reg.map((r) => [0x0f, 0xc8 + r]),
  fc.tuple(fc.constantFrom(0xbc, 0xbd), reg, anyReg).map(([o, r, s]) => [0x0f, o, modrmReg(r, s)]),
  fc.tuple(fc.constantFrom(0xbc, 0xbd), reg, disp).map(([o, r, d]) => [0x0f, o, ...memEsi(r, d)]),
  reg.map((r) => [0xe3, 1, 0x40 + r]), // jecxz over an inc
  fc.tuple(reg, disp).map(([r, d]) => [0x87, ...memEsi(r, d)]),
  reg.map((r) => [0x90 + r]),
  fc.tuple(fc.constantFrom(2, 3), reg).map(([k, r]) => [0x66, 0xf7, modrmReg(k, r)]),
  fc.tuple(fc.constantFrom(2, 3), disp).map(([k, d]) => [0x66, 0xf7, ...memEsi(k, d)]),
  fc.constant<number[]>([0xf3, 0x0f, 0x1e, 0xfb]),
  // div/idiv with a divisor that keeps the quotient in range, and ones that may raise #DE
  fc
    .tuple(reg, i32)
    .map(([r, v]) => [0x81, 0xe2, ...imm32(0x7fff), 0xb9, ...imm32(v | 0x8000), 0xf7, 0xf1, 0x89, 0xd0 + r]),
  fc.tuple(i32).map(([v]) => [0x99, 0xb9, ...imm32(v | 2), 0xf7, 0xf9]),
  fc.tuple(fc.constantFrom(6, 7), disp).map(([k, d]) => [0xf7, ...memEsi(k, d)]),
  // movs/stos, single and rep (ecx small), from [esi] to [esi+d], either direction; esi restored after
  fc
    .tuple(
      fc.constantFrom(0xa4, 0xa5, 0xaa, 0xab),
      fc.constantFrom<number[]>([], [0x66], [0xf3], [0x66, 0xf3]),
      disp,
      fc.integer({ min: 0, max: 9 }),
      fc.boolean(),
    )
    .map(([o, p, d, n, std]) => [
      0x8d,
      0x7e,
      d,
      0xb9,
      ...imm32(n),
      ...(std ? [0xfd] : []),
      ...p,
      o,
      0xfc,
      0xbe,
      ...imm32(DATA),
    ]),
);

/** An instruction that sets flags, for the pairs below. */
const producer: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(alu, reg, reg).map(([k, s, d]) => [(k << 3) | 1, modrmReg(s, d)]),
  fc.tuple(alu, reg, i8).map(([k, r, v]) => [0x83, modrmReg(k, r), v & 0xff]),
  fc.tuple(alu, reg, disp).map(([k, r, d]) => [(k << 3) | 3, ...memEsi(r, d)]),
  fc.tuple(fc.constantFrom(0x40, 0x48), reg).map(([o, r]) => [o + r]),
  fc
    .tuple(fc.constantFrom(3, 0), reg)
    .map(([k, r]) => [0xf7, modrmReg(k, r), ...(k === 0 ? imm32(0x80000001) : [])]),
  fc.tuple(reg, reg).map(([s, d]) => [0x85, modrmReg(s, d)]),
  fc.tuple(reg, reg).map(([s, d]) => [0x84, modrmReg(s, d)]),
  fc.tuple(fc.constantFrom(4, 5), reg).map(([k, r]) => [0xf7, modrmReg(k, r)]),
  fc
    .tuple(fc.constantFrom(4, 5, 7), reg, fc.integer({ min: 0, max: 33 }))
    .map(([k, r, n]) => [0xc1, modrmReg(k, r), n]),
  fc.tuple(fc.constantFrom(4, 5, 7), reg).map(([k, r]) => [0xd1, modrmReg(k, r)]),
  fc.tuple(fc.constantFrom(4, 5, 7), reg).map(([k, r]) => [0xd3, modrmReg(k, r)]),
  fc.tuple(reg, reg).map(([r, s]) => [0x0f, 0xaf, modrmReg(r, s)]),
  fc.tuple(alu, reg, i8).map(([k, r, v]) => [0x80, modrmReg(k, r), v & 0xff]),
  fc.tuple(alu, anyReg, anyReg).map(([k, s, d]) => [k << 3, modrmReg(s, d)]),
  fc.tuple(anyReg, i8).map(([r, v]) => [0xf6, modrmReg(0, r), v & 0xff]),
  fc.tuple(fc.integer({ min: 0, max: 1 }), anyReg).map(([k, r]) => [0xfe, modrmReg(k, r)]),
  fc.tuple(fc.constantFrom(0x11, 0x19), reg, reg).map(([o, s, d]) => [o, modrmReg(s, d)]),
  fc.tuple(alu, reg, reg).map(([k, s, d]) => [0x66, (k << 3) | 1, modrmReg(s, d)]),
  fc.tuple(alu, reg, i8).map(([k, r, v]) => [0x66, 0x83, modrmReg(k, r), v & 0xff]),
);
/** An instruction that reads flags. */
const consumer: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(cc, reg).map(([c, r]) => [0x0f, 0x90 + c, modrmReg(0, r)]),
  fc.tuple(cc, reg, reg).map(([c, r, s]) => [0x0f, 0x40 + c, modrmReg(r, s)]),
  fc.tuple(cc, reg).map(([c, r]) => [0x70 + c, 1, 0x40 + r]), // jcc over an inc
  fc.tuple(fc.constantFrom(0x11, 0x19), reg, reg).map(([o, s, d]) => [o, modrmReg(s, d)]), // adc, sbb
  reg.map((r) => [0x9c, 0x58 + r]), // pushf; pop
);
const flagPair = fc.tuple(producer, consumer).map(([a, b]) => [...a, ...b]);

/**
 * x87 forms the compiler calls the FPU for directly (#13 item 2), mixed with integer flag producers
 * and consumers: the non-flag forms must leave the compiled flag state live, FCMOVcc must see it and
 * FCOMI must replace it; loads and stores go through the FPU's own accesses (one form faults).
 */
const fpuSlot = fc.integer({ min: 0, max: 15 }).map((k) => k * 8);
const sti = fc.integer({ min: 0, max: 7 });
const x87: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>(
    [0xd9, 0xe8],
    [0xd9, 0xee],
    [0xd9, 0xc9],
    [0xd9, 0xe0],
    [0xd9, 0xfa],
    [0xde, 0xc1],
    [0xde, 0xc9],
  ),
  fpuSlot.map((d) => [0xdd, ...memEsi(0, d)]), // fld qword
  fc.tuple(fc.constantFrom(0, 1, 4, 5, 6, 7), fpuSlot).map(([k, d]) => [0xdc, ...memEsi(k, d)]),
  fc.tuple(fc.constantFrom(0, 1, 4, 5, 6, 7), sti).map(([k, i]) => [0xd8, 0xc0 | (k << 3) | i]),
  fpuSlot.map((d) => [0xdd, ...memEsi(3, d)]), // fstp qword
  fpuSlot.map((d) => [0xdb, ...memEsi(3, d)]), // fistp dword
  // other sizes the wasm tier checks in its TLB: fld/fstp dword, fild/fistp word, fld/fstp tbyte, fnstcw
  fc
    .tuple(
      fc.constantFrom<[number, number]>(
        [0xd9, 0],
        [0xd9, 3],
        [0xdf, 0],
        [0xdf, 3],
        [0xdb, 5],
        [0xdb, 7],
        [0xd9, 7],
      ),
      fpuSlot,
    )
    .map(([[o, k], d]) => [o, ...memEsi(k, d)]),
  fc.tuple(fc.constantFrom(0xf0, 0xe8), sti).map(([o, i]) => [0xdb, o + i]), // fcomi, fucomi
  sti.map((i) => [0xdf, 0xe8 + i]), // fucomip
  fc
    .tuple(fc.constantFrom(0xda, 0xdb), fc.integer({ min: 0, max: 3 }), sti)
    .map(([o, k, i]) => [o, 0xc0 | (k << 3) | i]), // fcmovcc
  fc.tuple(producer, fc.constantFrom(0xda, 0xdb), sti).map(([p, o, i]) => [...p, o, 0xc0 | i]),
  fc.tuple(producer, fpuSlot, consumer).map(([p, d, c]) => [...p, 0xdd, ...memEsi(0, d), ...c]),
  fc.tuple(sti, consumer).map(([i, c]) => [0xdb, 0xf0 + i, ...c]),
  // fld qword [esi + 0x3000]: an unmapped page, so a fault with exact state
  fc.constant<number[]>([0xdd, 0x86, ...imm32(0x3000)]),
);

function bodyOf(item: fc.Arbitrary<number[]>): fc.Arbitrary<number[]> {
  return fc
    .array(fc.tuple(item, fc.option(fc.tuple(cc, fc.integer({ min: 1, max: 3 })), { freq: 5 })), {
      minLength: 1,
      maxLength: 40,
    })
    .map((items) => {
      const out: number[] = [];
      for (let k = 0; k < items.length; k++) {
        const [bytes, jump] = items[k]!;
        if (jump) {
          const [c, over] = jump;
          let skip = 0;
          for (let m = k; m < Math.min(items.length, k + over); m++) skip += items[m]![0].length;
          out.push(0x70 + c, skip);
        }
        out.push(...bytes);
      }
      return out;
    });
}

/** A body: instructions, some of them preceded by a forward jcc over the next few. */
const body = bodyOf(fc.oneof(insn, flagPair));
const x87Body = bodyOf(fc.oneof({ arbitrary: x87, weight: 3 }, { arbitrary: insn, weight: 1 }));

/** setup regs; loop: body; dec dword [esi+COUNTER]; jnz loop; int 0x80 */
function program(b: number[], init: number[]): Uint8Array {
  const out: number[] = [];
  for (const r of DST) out.push(0xb8 + r, ...imm32(init[r]!));
  const loop = out.length;
  out.push(...b);
  out.push(0xff, 0x8e, ...imm32(COUNTER)); // dec dword [esi+0x100]
  const rel = loop - (out.length + 6);
  out.push(0x0f, 0x85, ...imm32(rel));
  out.push(0xcd, 0x80);
  return new Uint8Array(out);
}

// ---------------------------------------------------------------- running

interface Outcome {
  regs: number[];
  eip: number;
  flags: number;
  retired: number;
  data: number[];
  stack: number[];
  exception: string | null;
  compiled: number;
  /** Watched reads as host code saw them: word, instructions retired before, instruction address. */
  watchLog: string[];
  /** x87 state: control/status/tag words, FOP/FDP and every register's exact 80-bit value. */
  fpu: string;
  /** With `stopEvery`: the retired count at the end of each slice (where host code stopped the CPU). */
  slices: number[];
}

const memories: Memory[] = [];

/** The pure interpreter, the JavaScript back end or the WebAssembly one (#13 wasm tier). */
type Mode = boolean | 'wasm';

/** A Memory whose frames are on a WebAssembly.Memory, as PROBELAB_JIT=wasm makes them. */
function wasmMemory(): Memory {
  useWasmStores(true);
  const pool = new FramePool();
  useWasmStores(false);
  const m = new Memory({ pool });
  expect(wasmStoreOf(m.ram)).toBeDefined();
  return m;
}

function run(
  code: Uint8Array,
  budgets: number[],
  iterations: number,
  jit: Mode,
  opts: {
    limit?: number;
    hot?: number;
    watch?: number[];
    stopEvery?: number;
    /** Host code between two slices (page-table changes: see PAGE_ACTIONS). */
    between?: (mem: Memory, slice: number) => void;
  } = {},
): Outcome {
  // A Memory costs tens of milliseconds to create: each mode reuses one, remapped (zeroed) per run.
  const mem = (memories[jit === 'wasm' ? 2 : jit ? 1 : 0] ??= jit === 'wasm' ? wasmMemory() : new Memory());
  mem.map(CODE, 0x10000, PROT_READ | PROT_WRITE | PROT_EXEC);
  mem.map(DATA, 0x1000, RW);
  mem.map(STACK, STACK_LEN, RW);
  mem.poke(CODE, code);
  const seed = new Uint8Array(0x80).map((_, k) => (k * 37 + 11) & 0xff);
  mem.poke(DATA, seed);
  mem.poke(DATA + COUNTER, new Uint8Array(imm32(iterations)));
  const cache = new CodeCache(mem);
  cache.setJit(jit !== false);
  if (jit !== false) {
    cache.jit!.wasm = jit === 'wasm';
    // x87-heavy units compile too (the default tier leaves them to the interpreter): their calls
    // into the FPU are what the x87 properties check.
    cache.jit!.interpretX87 = false;
  }
  // Small batches and a short deadline, so that both the batching and the deadline are exercised.
  if (jit === 'wasm') {
    cache.jit!.wasmBatch = 3;
    cache.jit!.wasmBatchTouches = 8;
  }
  if (jit && opts.limit !== undefined) cache.jit!.limit = opts.limit;
  // A low threshold, so that loops of a few dozen passes run mostly compiled. An explicit one is kept
  // for every unit: the compiler raises it after its first units, which would leave most of a long
  // straight-line body (the edge-value tables) interpreted.
  if (jit) {
    cache.jit!.hot = opts.hot ?? 4;
    if (opts.hot !== undefined) cache.jit!.earlyUnits = Infinity;
  }
  let stop = false;
  let exception: string | null = null;
  const host: CpuHost = {
    syscall(c) {
      stop = true;
      c.attention = 1;
    },
    exception(c, vector, code, addr) {
      exception = `vector ${vector} code ${code} addr ${addr >>> 0} eip ${c.eip >>> 0} regs ${[...c.regs].join(',')} flags ${c.getFlags()}`;
      stop = true;
      c.attention = 1;
    },
    rdtsc: () => 0,
    onHook: () => {},
  };
  const cpu = new Cpu(mem, cache, host);
  // As the machine does: dropped code makes the running CPU look its next instruction up again.
  cache.onInvalidate = () => {
    if (cpu.attention === 0) cpu.attention = ATTN_CODE;
  };
  // Host code inside an access (a watched read, as the K20 detector uses): it must see the exact
  // instruction count and address, and may ask for the CPU back after the instruction.
  const watchLog: string[] = [];
  mem.onWatchRead = (word) => {
    watchLog.push(`${word >>> 0} ${cpu.retiredNow()} ${cpu.currentInsnAddr()}`);
    if (opts.stopEvery && watchLog.length % opts.stopEvery === 0) cpu.attention = 1;
  };
  for (const w of opts.watch ?? []) mem.watch(w);
  cpu.eip = CODE;
  cpu.regs[4] = STACK + STACK_LEN / 2;
  cpu.regs[6] = DATA;
  let k = 0;
  let guard = 0;
  // A random body can jump over its loop counter and never stop. Both modes stop at the same slice
  // boundary (retired counts are exact at every slice), so capping the instructions keeps such a case
  // as strong a check as one that stops, while it used to run up to 100,000 slices: 81.6M x87
  // instructions took 41 s in the interpreter alone, and a few such cases made this file's time
  // range from 20 to 150 s from one gate to the next.
  const slices: number[] = [];
  while (!stop && guard++ < 100_000 && cpu.retired < MAX_RETIRED) {
    cpu.run(budgets[k++ % budgets.length]!);
    if (opts.stopEvery) slices.push(cpu.retired);
    opts.between?.(mem, k);
  }
  // The WebAssembly back end compiled every unit itself (none fell back to JavaScript).
  if (jit === 'wasm') expect(cache.jit!.wasmUnits).toBe(cache.jit!.compiled);
  for (const w of opts.watch ?? []) mem.unwatch(w);
  mem.onWatchRead = () => {};
  return {
    regs: [...cpu.regs],
    eip: cpu.eip >>> 0,
    flags: cpu.getFlags(),
    retired: cpu.retired,
    data: [...mem.peek(DATA, 0x104)],
    stack: [...mem.peek(STACK, STACK_LEN)],
    exception,
    compiled: cache.jit?.compiledBlocks ?? 0,
    watchLog,
    fpu: cpu.fpu.describe(),
    slices,
  };
}

/** Instructions after which a run that has not stopped is compared as it stands (see run()). */
const MAX_RETIRED = 1_000_000;

const budgetsArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 1000 })), {
  minLength: 1,
  maxLength: 8,
});
const initArb = fc.array(i32, { minLength: 8, maxLength: 8 });

/**
 * Runs random bodies compiled and interpreted and requires identical outcomes; the property is only
 * worth something if blocks were actually compiled, so the total must pass `minCompiled`.
 */
function compareModes(
  backend: Mode,
  bodies: fc.Arbitrary<number[]>,
  maxIters: number,
  numRuns: number,
  minCompiled: number,
): void {
  let compiledTotal = 0;
  fc.assert(
    fc.property(
      bodies,
      initArb,
      budgetsArb,
      fc.integer({ min: 1, max: maxIters }),
      (b, init, budgets, iters) => {
        const code = program(b, init);
        const interp = run(code, budgets, iters, false);
        const jit = run(code, budgets, iters, backend);
        compiledTotal += jit.compiled;
        expect({ ...jit, compiled: 0 }).toEqual({ ...interp, compiled: 0 });
      },
    ),
    { numRuns },
  );
  expect(compiledTotal).toBeGreaterThan(minCompiled);
}

/**
 * Runs a 40-pass program interpreted and compiled under each budget list, requires identical
 * outcomes with some code compiled, and returns the interpreter's ebx of each run.
 */
function bothModes(code: number[], budgetLists: number[][], backend: Mode): number[] {
  const bytes = new Uint8Array(code);
  return budgetLists.map((budgets) => {
    const a = run(bytes, budgets, 40, false);
    const b = run(bytes, budgets, 40, backend);
    expect(b).toEqual({ ...a, compiled: b.compiled });
    expect(b.compiled).toBeGreaterThan(0);
    return a.regs[3]!;
  });
}

/** Host changes to the page tables between slices (the page-table property below). */
const PAGE_ACTIONS = ['fork', 'remap', 'readonly', 'watch'] as const;

/** Each back end (#13: the WebAssembly tier runs the same properties, on fewer cases to keep the gate short). */
const BACKENDS: [string, Mode, number][] = [
  ['js', true, 1],
  ['wasm', 'wasm', 0.5],
];

describe.each(BACKENDS)('block compiler (%s) vs interpreter', (_name, backend, share) => {
  const runs = (n: number) => Math.ceil(n * share);
  it('random sequences leave identical state (registers, flags, memory, counts, faults)', () => {
    compareModes(backend, body, 60, runs(200), runs(300));
  });

  it('evicting compiled code under a tiny limit changes nothing', () => {
    fc.assert(
      fc.property(body, initArb, budgetsArb, (b, init, budgets) => {
        const code = program(b, init);
        expect(run(code, budgets, 50, backend, { limit: 600 })).toEqual({
          ...run(code, budgets, 50, false),
          compiled: expect.any(Number),
        });
      }),
      { numRuns: runs(30) },
    );
  });

  it('host code inside a slow-path access sees exact counts and addresses, and can stop the CPU (#13 item 1)', () => {
    // Compiled code keeps the retired count and the block start in locals and writes them back only
    // for host code: a watched data word makes every read of it run the Memory's callback.
    let logged = 0;
    fc.assert(
      fc.property(
        body,
        initArb,
        budgetsArb,
        fc.array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 5 }),
        (b, init, budgets, words, stopEvery) => {
          const code = program(b, init);
          // The loop counter is always watched: its dec closes every pass of the compiled loop.
          const opts = { watch: [DATA + COUNTER, ...words.map((w) => DATA + 4 * w)], stopEvery };
          const interp = run(code, budgets, 30, false, opts);
          const jit = run(code, budgets, 30, backend, opts);
          logged += interp.watchLog.length;
          expect({ ...jit, compiled: 0 }).toEqual({ ...interp, compiled: 0 });
        },
      ),
      { numRuns: runs(40) },
    );
    expect(logged).toBeGreaterThan(runs(100));
  });

  it('x87 instructions called directly from compiled blocks leave identical state, flags and faults (#13 item 2)', () => {
    // More than 10 blocks compiled over the 30 random cases: the count varies with fast-check's
    // random seed, and a bound of 30 once failed with 27.
    // The wasm back end calls the FPU through an import of its own (#13 wasm tier): all 30 cases for
    // it too. A stale flag kind after FCOMI is caught by about one run in 300, not reliably here.
    compareModes(backend, x87Body, 30, 30, runs(10));
  });

  /**
   * The WebAssembly back end caches page translations in a TLB: each page-table change must drop it (a
   * stale entry would write a frame now shared with a fork child, read a freed frame, write a
   * read-only page or miss a watched read). The fork child's data must stay as it was at the fork.
   */
  const pageActions = (body: fc.Arbitrary<number[]>, numRuns: number) => {
    const actionArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.constantFrom(...PAGE_ACTIONS)), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(body, initArb, budgetsArb, actionArb, (b, init, budgets, actions) => {
        const code = program(b, init);
        const outcome = (mode: Mode) => {
          const children: Memory[] = [];
          const watched: number[] = [];
          const between = (mem: Memory, slice: number) => {
            for (const [at, what] of actions) {
              if (at !== slice) continue;
              if (what === 'fork') children.push(mem.clone());
              else if (what === 'remap') {
                mem.map(DATA, 0x1000, RW);
                mem.poke(DATA + COUNTER, new Uint8Array(imm32(5)));
              } else if (what === 'readonly') mem.protect(DATA, 0x1000, PROT_READ);
              else {
                mem.watch(DATA + 8);
                watched.push(DATA + 8);
              }
            }
          };
          const o = run(code, budgets, 40, mode, { between });
          const forks = children.map((c) => [...c.peek(DATA, 0x104)]);
          for (const c of children) c.release();
          for (const w of watched) memories[mode === 'wasm' ? 2 : mode ? 1 : 0]!.unwatch(w);
          return { ...o, compiled: 0, forks };
        };
        expect(outcome(backend)).toEqual(outcome(false));
      }),
      { numRuns },
    );
  };

  it('page-table changes between slices (fork, remap, mprotect, watch) are seen by compiled code (#13 wasm TLB)', () => {
    pageActions(body, runs(40));
  });

  it('and by x87 loads and stores, which the wasm tier sends straight to the FPU on a TLB hit (#13)', () => {
    pageActions(x87Body, runs(20));
  });

  it('a page written by compiled code and then run as code: later writes to it are seen (#13 wasm TLB)', () => {
    // Each pass stores `mov eax, pass; ret` at CODE + 0x1000 and calls it. The first store happens
    // before that page holds decoded code; once it does, compiled stores to it must take the slow
    // path that invalidates the decoded block, or a stale `mov eax` would run.
    const stub = CODE + 0x1000;
    const code: number[] = [0xbb, ...imm32(0)];
    const loop = code.length;
    code.push(0x8b, 0x86, ...imm32(COUNTER)); // mov eax, [esi+COUNTER]
    code.push(0xc6, 0x05, ...imm32(stub), 0xb8); // mov byte [stub], 0xb8 (mov eax, imm32)
    code.push(0xa3, ...imm32(stub + 1)); // mov [stub+1], eax
    code.push(0xc6, 0x05, ...imm32(stub + 5), 0xc3); // mov byte [stub+5], ret
    code.push(0xe8, ...imm32(stub - (CODE + code.length + 5))); // call stub
    code.push(0x01, 0xc3); // add ebx, eax
    code.push(0xff, 0x8e, ...imm32(COUNTER));
    code.push(0x0f, 0x85, ...imm32(loop - (code.length + 6)));
    code.push(0xcd, 0x80);
    // The stub returns each pass's counter: 40 + 39 + ... + 1.
    for (const ebx of bothModes(code, [[1000], [5, 100, 3]], backend)) expect(ebx).toBe((40 * 41) / 2);
  });

  it('self-modifying code: a store from a compiled block into its own next instruction is seen', () => {
    // The block is compiled while its store goes to data; from pass 30 on the cmove points the store
    // at the immediate of the `mov edx` right after it, in the same block.
    const code: number[] = [0xb9, ...imm32(0), 0xbf, ...imm32(DATA + 0x40), 0xbd, ...imm32(CODE + 25)];
    const loop = code.length; // 15
    code.push(0x41, 0x83, 0xf9, 30, 0x0f, 0x44, 0xfd, 0x89, 0x0f, 0xba, ...imm32(7), 0x01, 0xd3);
    code.push(0xff, 0x8e, ...imm32(COUNTER));
    code.push(0x0f, 0x85, ...imm32(loop - (code.length + 6)));
    code.push(0xcd, 0x80);
    // 29 passes add the original 7, then each pass adds the counter it has just stored.
    let want = 0;
    for (let k = 1; k <= 40; k++) want += k < 30 ? 7 : k;
    for (const ebx of bothModes(code, [[1000], [7, 100, 3]], backend)) expect(ebx).toBe(want);
  });

  it('host code asking for the CPU in the last instruction of a block stops it there, also when the next block follows in the unit', () => {
    // The loop's first block is cut at 64 instructions, after a read of a watched word, and falls
    // through to the block with the loop's jump; every watched read asks for the CPU back. The slices
    // must end where the interpreter's do.
    const code: number[] = [0xbb, ...imm32(0), 0xeb, 0x00]; // mov ebx, 0; jmp loop (a block of its own)
    const loop = code.length;
    for (let k = 0; k < 63; k++) code.push(0x83, 0xc3, 0x01); // add ebx, 1
    code.push(0x8b, 0x46, 0x08); // mov eax, [esi+8]: watched
    code.push(0x01, 0xc3); // add ebx, eax
    code.push(0xff, 0x8e, ...imm32(COUNTER));
    code.push(0x0f, 0x85, ...imm32(loop - (code.length + 6)));
    code.push(0xcd, 0x80);
    const bytes = new Uint8Array(code);
    for (const budgets of [[1000], [100, 7, 300]]) {
      const opts = { watch: [DATA + 8], stopEvery: 1 };
      const a = run(bytes, budgets, 40, false, opts);
      const b = run(bytes, budgets, 40, backend, opts);
      expect(a.watchLog.length).toBe(40);
      expect(b).toEqual({ ...a, compiled: b.compiled });
      expect(b.compiled).toBeGreaterThan(0);
    }
  });

  it('page 0 and the top of the address space fault from compiled code, reads and writes (#13 wasm TLB)', () => {
    // The pass that brings the counter below 3 points edx at T instead of at data. The WebAssembly
    // TLB tags entries with page addresses: page 0's is 0, so an empty entry must not be 0, and an
    // access running past 0xffffffff must miss too. Each must fault exactly as the interpreter does.
    for (const target of [0, 4, 0xffc, 0xfffffffc, 0xfffffffe, 0xffffffff])
      for (const write of [false, true]) {
        const code: number[] = [0xbb, ...imm32(target)];
        const loop = code.length;
        code.push(0x8b, 0x86, ...imm32(COUNTER)); // mov eax, [esi+COUNTER]
        code.push(0x89, 0xf2, 0x83, 0xf8, 0x03, 0x0f, 0x4c, 0xd3); // mov edx, esi; cmp eax, 3; cmovl edx, ebx
        code.push(...(write ? [0x89, 0x0a] : [0x8b, 0x0a])); // mov [edx], ecx / mov ecx, [edx]
        code.push(0x01, 0xcf); // add edi, ecx
        code.push(0xff, 0x8e, ...imm32(COUNTER));
        code.push(0x0f, 0x85, ...imm32(loop - (code.length + 6)));
        code.push(0xcd, 0x80);
        const bytes = new Uint8Array(code);
        for (const budgets of [[1000], [5, 100, 3]]) {
          const a = run(bytes, budgets, 40, false);
          const b = run(bytes, budgets, 40, backend);
          expect(a.exception).toMatch(/^vector 14 /);
          expect(b).toEqual({ ...a, compiled: b.compiled });
          expect(b.compiled).toBeGreaterThan(0);
        }
      }
  });
});

/** mov ecx, [esi+COUNTER]: the pass number counting down, so a form faults only once compiled. */
const ECX_PASS = [0x8b, 0x8e, ...imm32(COUNTER)];

/**
 * Divisions that raise #DE at pass 20 of 40 (#13 wasm: div/idiv hand #DE to host code): a zero
 * divisor, a quotient past 32 bits, idiv's -2^31 / -1 and -2^63 / -1 (which wasm's own division
 * would trap on), a quotient past 31 bits, and a memory divisor.
 */
const DIV_FAULTS: [string, number[]][] = [
  ['div by 0', [...ECX_PASS, 0x83, 0xe9, 20, 0x31, 0xd2, 0xf7, 0xf1]],
  ['div overflow', [...ECX_PASS, 0xba, ...imm32(20), 0xf7, 0xf1]],
  ['div m overflow', [0xba, ...imm32(20), 0xf7, 0xb6, ...imm32(COUNTER)]],
  // ecx = 20 - counter: -20 at the first pass, -1 at pass 20 (never 0 before)
  [
    'idiv -2^31/-1',
    [0xb9, ...imm32(20), 0x2b, 0x8e, ...imm32(COUNTER), 0xb8, ...imm32(0x80000000), 0x99, 0xf7, 0xf9],
  ],
  // -2^63 only when ecx = -1 (any other divisor would fault at once)
  [
    'idiv -2^63/-1',
    [
      ...[
        0xb9,
        ...imm32(20),
        0x2b,
        0x8e,
        ...imm32(COUNTER),
        0xb8,
        ...imm32(7),
        0x99,
        0x83,
        0xf9,
        0xff,
        0x75,
        0x07,
      ],
      ...[0x31, 0xc0, 0xba, ...imm32(0x80000000), 0xf7, 0xf9],
    ],
  ],
  ['idiv overflow', [...ECX_PASS, 0xc1, 0xe1, 24, 0x31, 0xc0, 0xba, ...imm32(20 << 23), 0xf7, 0xf9]],
  ['idiv m by 0', [...ECX_PASS, 0x83, 0xe9, 20, 0x89, 0x4e, 0x10, 0xb8, ...imm32(7), 0x99, 0xf7, 0x7e, 0x10]],
];

/**
 * movs/stos (#13 wasm: single ones and rep loops run as WebAssembly while both pages hit the TLB):
 * edi, esi and ecx as given, DF set for `std`, then the form; esi is restored for the loop counter.
 * Destinations stay clear of the counter at DATA + 0x100; the page ends at DATA + 0x1000.
 */
const STRINGS: [string, number, number, number, boolean, number[], number?, number?][] = [
  ['rep movsb', 0x40, 0, 37, false, [0xf3, 0xa4]],
  ['rep movsd std', 0x70, 0x60, 9, true, [0xf3, 0xa5]],
  ['rep movsw overlap', 0x21, 0x20, 20, false, [0x66, 0xf3, 0xa5]],
  ['rep movsb overlap', 0x41, 0x40, 30, false, [0xf3, 0xa4]],
  ['rep stosd', 0x40, 0, 17, false, [0xf3, 0xab]],
  ['rep stosb std', 0x7f, 0, 33, true, [0xf3, 0xaa]],
  ['repne stosw', 0x50, 0, 5, false, [0xf2, 0x66, 0xab]],
  ['rep movsd ecx 0', 0x40, 0, 0, false, [0xf3, 0xa5]],
  ['movsd', 0x40, 0x10, 0, false, [0xa5]],
  ['movsb std', 0x40, 0x10, 0, true, [0xa4]],
  ['movsw', 0x41, 0x13, 0, false, [0x66, 0xa5]],
  ['stosb', 0x43, 0, 0, true, [0xaa]],
  ['stosw', 0x45, 0, 0, false, [0x66, 0xab]],
  ['stosd std', 0x47, 0, 0, true, [0xab]],
  // Faults with exact ecx/esi/edi once compiled: a register grows by `scale` times the pass number
  // (the last two fields), so the access first crosses the page end (or start) at pass 17 to 33.
  ['rep movsd off the end', 0xfc0, 0x20, 0, false, [0xf3, 0xa5], 1, 1],
  ['rep stosw off the end', 0xfe0, 0, 0, false, [0xf3, 0x66, 0xab], 1, 1],
  ['rep stosd below', 0x40, 0, 0, true, [0xf3, 0xab], 1, 1],
  ['movsd across the end', 0x40, 0xfbe, 0, false, [0xa5], 6, 2],
  ['rep movsb from the end', 0x40, 0xfe0, 0, false, [0xf3, 0xa4], 1, 1],
];

function stringBody(
  edi: number,
  esi: number,
  ecx: number,
  std: boolean,
  form: number[],
  reg?: number,
  scale = 0,
): number[] {
  // eax = pass number (1..40) * scale, added to `reg` after the setup
  const pass = [0xb8, ...imm32(41), 0x2b, 0x86, ...imm32(COUNTER), 0x6b, 0xc0, scale];
  return [
    ...(reg === undefined ? [] : pass),
    0xbf,
    ...imm32(DATA + edi),
    0xbe,
    ...imm32(DATA + esi),
    0xb9,
    ...imm32(ecx),
    ...(reg === undefined ? [] : [0x01, 0xc0 | reg]),
    ...(std ? [0xfd] : []),
    ...form,
    0xfc,
    0x8d,
    0x1c,
    0x3e, // lea ebx, [esi+edi]: the final pointers survive the esi restore
    0xbe,
    ...imm32(DATA),
  ];
}

describe('block compiler (wasm): divisions and string instructions', () => {
  // The JS back end hands all of these to the interpreter.
  const backend: Mode = 'wasm';
  const init = [1, 2, 3, 4, 5, 6, 7, 8];
  it.each(DIV_FAULTS)('%s raises #DE with exact state', (_n, b) => {
    expect(translatedBytes(b)).toBe(true);
    const code = program(b, init);
    for (const budgets of [[1000], [7, 100, 3]]) {
      const a = run(code, budgets, 40, false);
      const w = run(code, budgets, 40, backend);
      expect(a.exception).toMatch(/^vector 0 /);
      expect(w.compiled).toBeGreaterThan(0);
      expect({ ...w, compiled: 0 }).toEqual({ ...a, compiled: 0 });
    }
  });

  it.each(STRINGS)('%s', (_n, edi, esi, ecx, std, form, reg, scale) => {
    expect(translatedBytes(form)).toBe(true);
    const code = program(stringBody(edi, esi, ecx, std, form, reg, scale), init);
    for (const budgets of [[1000], [7, 100, 3]]) {
      const a = run(code, budgets, 40, false);
      const w = run(code, budgets, 40, backend);
      if (reg !== undefined) expect(a.exception).toMatch(/^vector 14 /);
      expect(w.compiled).toBeGreaterThan(0);
      expect({ ...w, compiled: 0 }).toEqual({ ...a, compiled: 0 });
    }
  });
});

describe('block compiler (js) source', () => {
  it('generated source is plain JavaScript that reads registers from the typed array', () => {
    const mem = new Memory();
    mem.map(CODE, 0x1000, PROT_READ | PROT_EXEC);
    mem.poke(CODE, new Uint8Array([0x01, 0xd8, 0x75, 0xfc]));
    const cache = new CodeCache(mem);
    const src = unitSource(cache, [cache.lookup(CODE)]);
    expect(src).toContain('R[0] = r;');
    expect(src).toContain(`case ${CODE}:`); // the loop goes round the unit's dispatch switch
  });
});

// ---------------------------------------------------------------- every translated form, edge values

const EDGE = [0, 1, 32, 33, 0x7f, 0x80, 0xffff, 0x8000, 0x7fffffff, -0x80000000, -1, -2];
/** For 8- and 16-bit forms: the byte and word boundaries, also in the second byte (ah, ch). */
const EDGE_NARROW = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, -1];
/**
 * For mul/imul r/m32: values whose partial products carry across the 16-bit halves (the compiled code
 * forms the high word from them), besides the sign and overflow boundaries.
 */
const EDGE_MUL = [
  0, 1, -1, 0xffff, 0x1ffff, 0x10001, 0xfffe0001, 0x12345678, -0x65432110, 0x7fffffff, -0x80000000,
  0x8001ffff,
];

/** Forms with eax as destination, ecx or [esi] (holding the same value) as source; ` m` = result in [esi]. */
const FORMS: Array<[string, number[]]> = [];
for (let k = 0; k < 8; k++) {
  FORMS.push([`alu${k} r,r`, [(k << 3) | 1, 0xc8]]);
  FORMS.push([`alu${k} r,m`, [(k << 3) | 3, 0x06]]);
  FORMS.push([`alu${k} m,r m`, [(k << 3) | 1, 0x0e]]);
  FORMS.push([`alu${k} r,imm8`, [0x83, 0xc0 | (k << 3), 0x81]]);
  FORMS.push([`alu${k} r,imm32`, [0x81, 0xc0 | (k << 3), ...imm32(0x80000001)]]);
  FORMS.push([`alu${k} eax,imm32`, [(k << 3) | 5, ...imm32(0x7fffffff)]]);
  FORMS.push([`alu${k} m,imm8 m`, [0x83, 0x06 | (k << 3), 0xff]]);
}
for (const k of [0, 1, 4, 5, 7]) {
  FORMS.push([`shift${k} imm`, [0xc1, 0xc0 | (k << 3), 0x1f]]);
  FORMS.push([`shift${k} 1`, [0xd1, 0xc0 | (k << 3)]]);
  FORMS.push([`shift${k} cl`, [0xd3, 0xc0 | (k << 3)]]);
  FORMS.push([`shift${k} m,cl m`, [0xd3, 0x06 | (k << 3)]]);
}
FORMS.push(
  ['inc', [0x40]],
  ['dec', [0x48]],
  ['inc rm', [0xff, 0xc0]],
  ['dec m m', [0xff, 0x0e]],
  ['inc m m', [0xff, 0x06]],
  ['neg', [0xf7, 0xd8]],
  ['neg m m', [0xf7, 0x1e]],
  ['not', [0xf7, 0xd0]],
  ['test r,r', [0x85, 0xc8]],
  ['test eax,imm', [0xa9, ...imm32(0x80000080)]],
  ['test rm,imm', [0xf7, 0xc0, ...imm32(0x00008001)]],
  ['test8 r,r', [0x84, 0xe8]],
  ['test al,imm8', [0xa8, 0x81]],
  ['cmp al,imm8', [0x3c, 0x80]],
  ['cmp r8,imm8', [0x80, 0xfc, 0x7f]],
  ['cmp m8,imm8', [0x80, 0x3e, 0x01]],
  ['imul r,r', [0x0f, 0xaf, 0xc1]],
  ['imul r,r,imm8', [0x6b, 0xc1, 0x85]],
  ['imul r,r,imm32', [0x69, 0xc1, ...imm32(0x10001)]],
  ['imul r,m', [0x0f, 0xaf, 0x06]],
  ['mul', [0xf7, 0xe1]],
  ['mul [esi]', [0xf7, 0x26]],
  ['imul1', [0xf7, 0xe9]],
  ['imul1 [esi]', [0xf7, 0x2e]],
  ['nop16', [0x66, 0x90]],
  ['movzx8', [0x0f, 0xb6, 0xc5]],
  ['movzx16 m', [0x0f, 0xb7, 0x06]],
  ['movsx8 m', [0x0f, 0xbe, 0x06]],
  ['movsx16', [0x0f, 0xbf, 0xc1]],
  ['mov8 r,r', [0x88, 0xcc]],
  ['mov8 r,m', [0x8a, 0x26]],
  ['mov8 m,imm m', [0xc6, 0x06, 0x99]],
  ['lea', [0x8d, 0x44, 0x48, 0x7f]],
  ['cdq', [0x99]],
  ['xchg', [0x87, 0xc8]],
  ['adc', [0x11, 0xc8]],
  ['sbb', [0x19, 0xc8]],
  ['test8 m,imm8', [0xf6, 0x06, 0x81]],
  ['not8 ah', [0xf6, 0xd4]],
  ['neg8', [0xf6, 0xd8]],
  ['neg8 m m', [0xf6, 0x1e]],
  ['inc8 ah', [0xfe, 0xc4]],
  ['dec8', [0xfe, 0xc8]],
  ['dec8 m m', [0xfe, 0x0e]],
  ['mov16 r,r', [0x66, 0x89, 0xc8]],
  ['mov16 r,m', [0x66, 0x8b, 0x06]],
  ['mov16 m,r m', [0x66, 0x89, 0x0e]],
  ['mov16 m,imm m', [0x66, 0xc7, 0x06, 0x34, 0x92]],
  ['mov eax,moffs', [0xa1, ...imm32(DATA)]],
  ['mov al,moffs', [0xa0, ...imm32(DATA + 1)]],
  ['mov moffs,eax m', [0xa3, ...imm32(DATA)]],
  ['mov moffs,al m', [0xa2, ...imm32(DATA + 1)]],
);
// 16-bit ALU forms and test (#13), cld/std.
// Memory operands share one access path for every operation: add, adc and cmp cover it.
const MEM_K = [0, 2, 7];
for (let k = 0; k < 8; k++) {
  FORMS.push([`alu16_${k} r,r`, [0x66, (k << 3) | 1, 0xc8]]);
  FORMS.push([`alu16_${k} ax,imm16`, [0x66, (k << 3) | 5, 0x01, 0x80]]);
  FORMS.push([`alu16_${k} r,imm8`, [0x66, 0x83, 0xc0 | (k << 3), 0x81]]);
}
for (const k of MEM_K) {
  FORMS.push([`alu16_${k} r,m`, [0x66, (k << 3) | 3, 0x06]]);
  FORMS.push([`alu16_${k} m,r m`, [0x66, (k << 3) | 1, 0x0e]]);
  FORMS.push([`alu16_${k} m,imm16 m`, [0x66, 0x81, 0x06 | (k << 3), 0xff, 0x7f]]);
}
FORMS.push(
  ['test16 r,r', [0x66, 0x85, 0xc8]],
  ['test16 m,imm16', [0x66, 0xf7, 0x06, 0x01, 0x80]],
  ['std', [0xfd]],
  ['cld', [0xfd, 0xfc]],
);
// 8-bit ALU forms (#13): al/cl and ah/ch registers, memory, immediates.
for (let k = 0; k < 8; k++) {
  FORMS.push([`alu8_${k} al,cl`, [k << 3, 0xc8]]);
  FORMS.push([`alu8_${k} ah,ch`, [k << 3, 0xec]]);
  FORMS.push([`alu8_${k} al,imm8`, [(k << 3) | 4, 0x81]]);
  FORMS.push([`alu8_${k} ah,imm8`, [0x80, 0xc4 | (k << 3), 0x7f]]);
}
for (const k of MEM_K) {
  FORMS.push([`alu8_${k} al,m`, [(k << 3) | 2, 0x06]]);
  FORMS.push([`alu8_${k} m,cl m`, [k << 3, 0x0e]]);
  FORMS.push([`alu8_${k} m,imm8 m`, [0x80, 0x06 | (k << 3), 0xff]]);
}

// Forms the wasm back end translates and the JS one hands to the interpreter (#13 wasm hand-overs).
// The divisions first bound their operands so that no pair faults (the faults have a test below).
FORMS.push(
  ['rol imm', [0xc1, 0xc0, 0x05]],
  ['ror imm', [0xc1, 0xc8, 0x1f]],
  ['rol 1', [0xd1, 0xc0]],
  ['ror 1', [0xd1, 0xc8]],
  ['rol m,imm m', [0xc1, 0x06, 0x07]],
  ['ror m,1 m', [0xd1, 0x0e]],
  ['rol16 imm8', [0x66, 0xc1, 0xc0, 0x08]],
  ['rol16 imm16', [0x66, 0xc1, 0xc0, 0x10]],
  ['ror16 imm', [0x66, 0xc1, 0xc8, 0x03]],
  ['ror16 1', [0x66, 0xd1, 0xc8]],
  ['rol16 m,imm m', [0x66, 0xc1, 0x06, 0x09]],
  ['shl16 imm', [0x66, 0xc1, 0xe0, 0x03]],
  ['shl16 imm17', [0x66, 0xc1, 0xe0, 0x11]],
  ['shr16 1', [0x66, 0xd1, 0xe8]],
  ['shr16 imm16', [0x66, 0xc1, 0xe8, 0x10]],
  ['shr16 imm2', [0x66, 0xc1, 0xe8, 0x02]],
  ['shl16 imm16', [0x66, 0xc1, 0xe0, 0x10]],
  ['shr16 m,1 m', [0x66, 0xd1, 0x2e]],
  ['sar16 imm', [0x66, 0xc1, 0xf8, 0x05]],
  ['sar16 imm20', [0x66, 0xc1, 0xf8, 0x14]],
  ['sar16 1', [0x66, 0xd1, 0xf8]],
  ['shld imm', [0x0f, 0xa4, 0xc8, 0x05]],
  ['shld imm0', [0x0f, 0xa4, 0xc8, 0x20]],
  ['shrd imm', [0x0f, 0xac, 0xc8, 0x1f]],
  ['shrd imm1', [0x0f, 0xac, 0xc8, 0x01]],
  ['shrd m,r m', [0x0f, 0xac, 0x0e, 0x08]],
  ['shld m,r m', [0x0f, 0xa4, 0x0e, 0x18]],
  ['shld cl', [0x0f, 0xa5, 0xd0]],
  ['shrd cl', [0x0f, 0xad, 0xd0]],
  ['shrd m,cl m', [0x0f, 0xad, 0x16]],
  ['rol8 imm', [0xc0, 0xc0, 0x03]],
  ['ror8 ah,imm', [0xc0, 0xcc, 0x0b]],
  ['rol8 m,1 m', [0xd0, 0x06]],
  ['shl8 1', [0xd0, 0xe0]],
  ['shl8 imm', [0xc0, 0xe4, 0x09]],
  ['shr8 imm', [0xc0, 0xe8, 0x03]],
  ['shr8 m,1 m', [0xd0, 0x2e]],
  ['sar8 ah,imm', [0xc0, 0xfc, 0x09]],
  ['sar8 imm', [0xc0, 0xf8, 0x02]],
  ['bswap', [0x0f, 0xc8]],
  ['bswap ecx', [0x0f, 0xc9]],
  ['bsf r,r', [0x0f, 0xbc, 0xc1]],
  ['bsr r,r', [0x0f, 0xbd, 0xc1]],
  ['bsf r,m', [0x0f, 0xbc, 0x06]],
  ['bsr r,m', [0x0f, 0xbd, 0x06]],
  ['jecxz', [0xe3, 0x01, 0x40]],
  ['xchg m m', [0x87, 0x0e]],
  ['xchg eax,edx', [0x92]],
  ['endbr32', [0xf3, 0x0f, 0x1e, 0xfb]],
  ['not16', [0x66, 0xf7, 0xd0]],
  ['neg16', [0x66, 0xf7, 0xd8]],
  ['neg16 m m', [0x66, 0xf7, 0x1e]],
  ['not16 m m', [0x66, 0xf7, 0x16]],
  // div: edx <= 0x7fff < divisor, so the quotient fits; idiv: cdq and a divisor kept off 0 and -1
  ['div r', [0x81, 0xe2, ...imm32(0x7fff), 0x81, 0xc9, ...imm32(0x8000), 0xf7, 0xf1]],
  ['div m', [0x81, 0xe2, ...imm32(0x7fff), 0x81, 0x0e, ...imm32(0x8000), 0xf7, 0x36]],
  ['div small', [0x31, 0xd2, 0x83, 0xc9, 0x01, 0xf7, 0xf1]],
  ['idiv r+', [0x99, 0x81, 0xe1, ...imm32(0x7fffffff), 0x83, 0xc9, 0x01, 0xf7, 0xf9]],
  ['idiv r-', [0x99, 0x81, 0xc9, ...imm32(0x80000000), 0x83, 0xe1, 0xfe, 0xf7, 0xf9]],
  ['idiv m', [0x99, 0x83, 0x0e, 0x02, 0xf7, 0x3e]],
  ['idiv wide', [0x81, 0xe2, ...imm32(0x3fff), 0x81, 0xc9, ...imm32(0x40000000), 0xf7, 0xf9]],
  ['idiv wide-', [0x81, 0xca, ...imm32(0xffffc000), 0x81, 0xc9, ...imm32(0x40000000), 0xf7, 0xf9]],
);
let scratch: Memory | undefined;
/** Whether every instruction of `form` runs as WebAssembly (none is handed to the interpreter). */
function translatedBytes(form: number[]): boolean {
  const mem = (scratch ??= new Memory());
  mem.map(CODE, 0x1000, PROT_READ | PROT_EXEC);
  mem.poke(CODE, new Uint8Array([...form, 0xcd, 0x80]));
  const cache = new CodeCache(mem);
  let a = CODE;
  while (a < CODE + form.length) {
    const b = cache.lookup(a);
    for (let i = b; i < b + cache.blockLen[b]! && a < CODE + form.length; i++) {
      if (!wasmTranslated(cache, i)) return false;
      a = cache.next[i]!;
    }
  }
  return true;
}

/** The forms above that wasm-unit.ts must translate itself (checked before running them). */
const WASM_OWN = new Set(FORMS.slice(FORMS.findIndex(([n]) => n === 'rol imm')).map(([n]) => n));

/**
 * For each (a, b): eax = edx = a, ecx = ebx = [esi] = b; the form; then every condition through
 * setcc + lea (which leave flags alone) and pushf, all folded into ebp.
 */
function tableProgram(form: number[], toMem: boolean, edge = EDGE): Uint8Array {
  const out: number[] = [];
  for (const a of edge)
    for (const b of edge) {
      out.push(0xb8, ...imm32(a), 0xba, ...imm32(a), 0xb9, ...imm32(b), 0xbb, ...imm32(b));
      out.push(0x89, 0x0e); // mov [esi], ecx
      out.push(...form);
      if (toMem) out.push(0x8b, 0x06); // mov eax, [esi]
      // Odd codes are the negations of even ones (the same translated test): even ones suffice.
      // ebp = ebp * 3 + ebx: an odd factor, so no pair's conditions are shifted out of ebp by the
      // later ones (with * 2 only the last four pairs counted).
      for (let c = 0; c < 16; c += 2)
        out.push(0x0f, 0x90 + c, 0xc3, 0x8d, 0x6c, 0x6d, 0x00, 0x8d, 0x2c, 0x2b); // setcc bl; lea ebp,[ebp+ebp*2]; lea ebp,[ebx+ebp]
      out.push(0x9c, 0x5f, 0x01, 0xfd, 0x01, 0xc5, 0x01, 0xd5, 0x01, 0xcd); // pushf; pop edi; add ebp, edi/eax/edx/ecx
    }
  out.push(0xff, 0x8e, ...imm32(COUNTER));
  out.push(0x0f, 0x85, ...imm32(-(out.length + 6)));
  out.push(0xcd, 0x80);
  return new Uint8Array(out);
}

const interpreted: Record<string, Outcome> = {};
describe.each(BACKENDS)(
  'block compiler (%s) vs interpreter, every translated form on edge values',
  (_n, backend) => {
    it.each(FORMS)('%s', (_name, form) => {
      const narrow =
        /^(alu8_|alu16_|test8 m|not8|neg8|inc8|dec8|mov16|test16|ro[lr](8|16)|s[ha][lr](8|16)|n[oe][tg]16)/.test(
          _name,
        );
      // The JS back end hands these forms to the interpreter: comparing it with itself costs gate time only.
      if (WASM_OWN.has(_name)) {
        if (backend !== 'wasm') return;
        expect(translatedBytes(form)).toBe(true);
      }
      // Double shifts, bit scans and rotates read bits deep inside the operands: mixed bit patterns.
      const edge = narrow
        ? EDGE_NARROW
        : /^sh[lr]d/.test(_name)
          ? [...EDGE_MUL, 32] // a count of 32 is 0 after masking: nothing changes
          : /^(mul|imul1|bs[fr]|ro[lr] )/.test(_name)
            ? EDGE_MUL
            : EDGE;
      const code = tableProgram(form, _name.endsWith(' m'), edge);
      // The interpreter's outcome is the same for both back ends: it runs once per form.
      const a = (interpreted[_name] ??= run(code, [100_000], 2, false));
      const b = run(code, [100_000], 2, backend, { hot: 1 });
      expect(b.compiled).toBeGreaterThan(0);
      expect({ ...b, compiled: 0 }).toEqual({ ...a, compiled: 0 });
    });
  },
);
