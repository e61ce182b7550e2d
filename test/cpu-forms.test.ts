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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine, type MachineOptions } from '../src/emulator/machine.js';
import { buildGuest, FREESTANDING } from './helpers/gcc.js';
import { saveJitEnv } from './helpers/jitenv.js';
import { buildGuestProgram, GUEST_ENV, REPO_ROOT, requireTools, runNative } from './helpers/native.js';

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
