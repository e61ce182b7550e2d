// #13, a stable interpreter: the feedback primer (src/emulator/cpu-primer.ts, its source
// test/cpu-primer.S). V8 compiles every path of the interpreter's loop that has not run yet as a
// deoptimisation; the primer runs every path once so the loop is compiled once (the speed figures are
// benchmarks: README). What this file checks:
// - The primer's bytes are what test/cpu-primer.S assembles to (`as --32`, then objcopy): the listing
//   reviewed there is what runs.
// - It runs to its final int $0x80 without any exception (a fault would end it early and leave the
//   paths after it without feedback).
// - It holds every form of the loop (forms.ts), decoded from its own bytes as the code cache does.
// - It leaves a running guest alone: run between two slices of a guest, the guest's output, status,
//   instruction count and final registers equal those of a run without it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_O16 } from '../src/emulator/codecache.js';
import { primeInterpreter, primerResult } from '../src/emulator/cpu.js';
import { primerBytes } from '../src/emulator/cpu-primer.js';
import { Decoded, decodeInsn, PFX_O16 } from '../src/emulator/decoder.js';
import { Form, formOf } from '../src/emulator/forms.js';
import { Machine } from '../src/emulator/machine.js';
import { buildGuest, FREESTANDING } from './helpers/gcc.js';
import { GUEST_ENV, REPO_ROOT, requireTools } from './helpers/native.js';

describe('interpreter feedback primer (#13)', () => {
  it('is test/cpu-primer.S assembled', () => {
    requireTools();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'primer-'));
    try {
      const obj = path.join(dir, 'p.o');
      const bin = path.join(dir, 'p.bin');
      execFileSync('as', ['--32', path.join(REPO_ROOT, 'test', 'cpu-primer.S'), '-o', obj]);
      execFileSync('objcopy', ['-O', 'binary', '-j', '.text', obj, bin]);
      expect(Buffer.from(primerBytes()).equals(fs.readFileSync(bin))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs to its end without an exception', () => {
    primeInterpreter();
    expect(primerResult.exceptions).toBe(0);
    expect(primerResult.completed).toBe(1);
  });

  it('holds every form of the interpreter loop', () => {
    const code = primerBytes();
    const d = new Decoded();
    const seen = new Set<number>();
    for (let at = 0; at < code.length; at += d.len) {
      decodeInsn((a) => code[a] ?? 0, at, d);
      const op = d.pfx & PFX_O16 && d.op < 0x200 ? d.op | OP_O16 : d.op;
      seen.add(formOf(op, d.modrm));
    }
    const missing: number[] = [];
    for (let f = 0; f <= Form.Generic; f++) if (!seen.has(f)) missing.push(f);
    expect(missing).toEqual([]);
  });

  it('leaves a running guest alone', () => {
    requireTools();
    // A freestanding loop that keeps state in registers, memory and the flags across slices, then
    // prints a checksum and exits with part of it.
    const bin = buildGuest(
      `
.globl _start
_start:
  movl $1000, %ecx
  xorl %esi, %esi
  movl $buf, %edi
1:
  movl %ecx, %eax
  imull $2654435761, %eax, %eax
  addl %eax, %esi
  roll $5, %esi
  movl %esi, (%edi)
  adcl (%edi), %esi
  loop 1b
  movl %esi, buf
  movl $4, %eax
  movl $1, %ebx
  movl $buf, %ecx
  movl $4, %edx
  int $0x80
  movl $1, %eax
  movl %esi, %ebx
  andl $0x7f, %ebx
  int $0x80
.bss
buf: .space 4
`,
      FREESTANDING,
      'primer-guest',
      { ext: 's' },
    );
    const run = (primeAfter: number | null) => {
      const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
        argv: [bin],
        env: GUEST_ENV,
        cpus: 1,
      });
      if (primeAfter !== null) {
        expect(m.runFor(primeAfter, 10)).toBeNull();
        primeInterpreter();
      }
      const r = m.run();
      return {
        stdout: Buffer.from(r.stdout).toString('hex'),
        status: r.status,
        code: r.exitCode,
        instructions: r.instructions,
        regs: Array.from(m.mainTask.cpu.regs),
      };
    };
    const plain = run(null);
    expect(plain.status).toBe('exited');
    expect(run(1)).toEqual(plain);
    expect(run(2500)).toEqual(plain);
  });
});
