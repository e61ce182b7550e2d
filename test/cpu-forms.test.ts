// #13, a faster interpreter: the interpreter dispatches on forms chosen at decode time
// (src/emulator/forms.ts), computes a memory form's effective address before dispatching, and stores
// EIP only before the forms that read or set it and when a block ends. The lockstep, ALU-table and
// differential suites hold every form to qemu-i386 instruction by instruction; this file checks the
// two things they do not reach:
// - Budget cuts anywhere. The scheduler runs with a 37-instruction quantum and random tick phases, so
//   slices end after arbitrary instructions in the middle of blocks, and the next slice starts from
//   the EIP the cut block left. Output and exit status must equal qemu-i386's, and the instruction
//   count must equal an uncut run's, with the block compiler off and on.
// - `66 cd 80`: the operand-size prefix on `int` changes nothing (Linux and qemu-i386 make it a system
//   call; the interpreter used to call itself without end on it).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine, type MachineOptions } from '../src/emulator/machine.js';
import { buildGuest, FREESTANDING } from './helpers/gcc.js';
import { saveJitEnv } from './helpers/jitenv.js';
import {
  buildGuestProgram,
  FREESTANDING_FLAGS,
  GUEST_ENV,
  GUESTS_DIR,
  REPO_ROOT,
  requireTools,
  runNative,
} from './helpers/native.js';

interface Outcome {
  stdout: string;
  status: string;
  instructions?: number;
}

function emulated(bin: string, opts: Partial<MachineOptions>): Outcome {
  const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
    argv: [bin],
    env: GUEST_ENV,
    cwd: REPO_ROOT,
    cpus: 1,
    maxInstructions: 50_000_000,
    ...opts,
  });
  const r = m.run();
  return {
    stdout: Buffer.from(r.stdout).toString('latin1'),
    status: r.status === 'exited' ? `exit ${r.exitCode}` : r.status,
    instructions: r.instructions,
  };
}

function native(bin: string): Outcome {
  const r = runNative(bin, [bin], { cwd: REPO_ROOT, env: GUEST_ENV });
  return {
    stdout: r.stdout.toString('latin1'),
    status: r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`,
  };
}

// Freestanding: write(1, msg, 6) and exit(3), both through `66 cd 80`.
const O16_INT = `
.globl _start
_start:
  movl $4, %eax
  movl $1, %ebx
  movl $msg, %ecx
  movl $6, %edx
  .byte 0x66
  int $0x80
  movl $1, %eax
  movl $3, %ebx
  .byte 0x66
  int $0x80
.data
msg: .ascii "hello\\n"
`;

const restoreJit = saveJitEnv();
afterAll(restoreJit);

describe('#13 interpreter forms: budget cuts anywhere give qemu-i386 output and the uncut count', () => {
  // Small guests that together use most forms: memory ALU and moves, byte registers, pushes and
  // pops, calls and returns, shifts, setcc/cmov, imul, string instructions (with rep), x87.
  const names = ['structs', 'strinsn', 'x87'];
  const bins: Record<string, string> = {};
  const refs: Record<string, Outcome> = {};
  beforeAll(() => {
    requireTools();
    for (const n of names) {
      bins[n] = buildGuestProgram(n, 'fs');
      refs[n] = native(bins[n]);
    }
  });

  for (const jit of ['0', '1'])
    for (const n of names)
      it(`${n}, compiler ${jit === '0' ? 'off' : 'on'}`, () => {
        process.env.PROBELAB_JIT = jit;
        const bin = bins[n]!;
        const ref = refs[n]!;
        const uncut = emulated(bin, { preempt: false, quantum: 1_000_000 });
        const cut = emulated(bin, { preempt: true, quantum: 37, tick: 101, chaos: true, seed: 13 });
        expect(uncut.stdout).toBe(ref.stdout);
        expect(uncut.status).toBe(ref.status);
        expect(cut.stdout).toBe(ref.stdout);
        expect(cut.status).toBe(ref.status);
        expect(cut.instructions).toBe(uncut.instructions);
      });
});

describe('#13 interpreter forms: int with an operand-size prefix', () => {
  it('66 cd 80 is a system call, as on qemu-i386', () => {
    requireTools();
    const bin = buildGuest(O16_INT, [...FREESTANDING], 'o16-int', { ext: 's' });
    const ref = native(bin);
    expect(ref).toEqual({ stdout: 'hello\n', status: 'exit 3' });
    for (const jit of ['0', '1']) {
      process.env.PROBELAB_JIT = jit;
      const r = emulated(bin, {});
      expect({ stdout: r.stdout, status: r.status }).toEqual(ref);
    }
  });
});

// The Jcc form (its short encoding here) reads the lazy flags cond() leaves after an ALU op;
// alu.test.ts checks setcc/cmovcc against the host CPU, but not a branch. This guest runs every condition as a branch
// right after cmp, sub, sbb with CF clear and with CF set, and, test, or, xor on edge operand pairs,
// one 16-bit taken-mask per (op, pair); qemu-i386 is the reference. It guards any shortcut in the
// Jcc form (one deciding conditions from the operands was measured and not kept, README).
const JCC_SRC = `#include "mini.h"
#define J(op, pre, cc, bit) \\
  asm volatile(pre op " %2, %1\\n\\tj" #cc " 1f\\n\\tmovl $0, %0\\n\\tjmp 2f\\n1:\\tmovl $1, %0\\n2:" \\
               : "=&r"(t), "+r"(x) : "r"(y) : "cc"); \\
  x = a; m |= t << bit;
#define ALL(op, pre) \\
  J(op, pre, o, 0) J(op, pre, no, 1) J(op, pre, b, 2) J(op, pre, ae, 3) J(op, pre, e, 4) \\
  J(op, pre, ne, 5) J(op, pre, be, 6) J(op, pre, a, 7) J(op, pre, s, 8) J(op, pre, ns, 9) \\
  J(op, pre, p, 10) J(op, pre, np, 11) J(op, pre, l, 12) J(op, pre, ge, 13) J(op, pre, le, 14) \\
  J(op, pre, g, 15)
#define OP(name, op, pre) \\
  static uint32_t name(uint32_t a, uint32_t y) { uint32_t x = a, t, m = 0; ALL(op, pre) return m; }
OP(f_cmp, "cmpl", "") OP(f_sub, "subl", "") OP(f_sbb0, "sbbl", "clc\\n\\t") OP(f_sbb1, "sbbl", "stc\\n\\t")
OP(f_and, "andl", "") OP(f_test, "testl", "") OP(f_or, "orl", "") OP(f_xor, "xorl", "")
static uint32_t (*const fns[])(uint32_t, uint32_t) = {f_cmp, f_sub, f_sbb0, f_sbb1, f_and, f_test, f_or, f_xor};
static const uint32_t v[] = {0, 1, 2, 5, 0x7f, 0x80, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe,
                             0xffffffff, 0x12345678, 0xedcba988};
int main() {
  for (unsigned f = 0; f < 8; f++)
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
      for (unsigned j = 0; j < sizeof v / sizeof v[0]; j++) {
        out_hex(fns[f](v[i], v[j]));
        out_str(" ");
      }
      out_nl();
    }
  return 0;
}
`;

describe('#13 interpreter forms: Jcc after 32-bit cmp/sub/sbb/logic ops', () => {
  it('every condition on edge operands takes the branch as on qemu-i386', () => {
    requireTools();
    const src = JCC_SRC.replace(/^#include "mini.h"$/m, () =>
      fs.readFileSync(path.join(GUESTS_DIR, 'mini.h'), 'utf8'),
    );
    const bin = buildGuest(src, [...FREESTANDING_FLAGS], 'jcc-fast', { libs: ['-lgcc'] });
    const ref = native(bin);
    expect(ref.status).toBe('exit 0');
    for (const jit of ['0', '1']) {
      process.env.PROBELAB_JIT = jit;
      const r = emulated(bin, {});
      expect({ stdout: r.stdout, status: r.status }).toEqual(ref);
    }
  });
});
