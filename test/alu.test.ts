// ALU tables against the REAL CPU. test/native/alugen.c generates one C program that runs every integer
// ALU, shift/rotate, multiply, divide (non-faulting cases), bit, xadd/cmpxchg, setcc/cmovcc and misc
// instruction at 8/16/32 bits over edge and pseudo-random operands with CF=0 and CF=1 (all arithmetic
// flags set) on input, printing result and flags (undefined flags masked by the generator). The same
// source is built for x86-64 and run natively on the host CPU (32/16/8-bit operations behave the same
// in 64-bit mode), and built as a static i386 binary and run in the emulator: outputs must be identical.
// The i386-only BCD instructions (daa das aaa aas aam aad) cannot run on this host (no IA-32
// emulation); their section is compared against qemu-i386 instead.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/emulator/machine.js';
import { buildGuest } from './helpers/gcc.js';
import { buildHost, NATIVE_DIR, REPO_ROOT, requireTools, runNative } from './helpers/native.js';

const BCD = /^(daa|das|aaa|aas|aam_\d+|aad_\d+) /;

function firstDiffs(a: string[], b: string[], max = 15): string {
  const out: string[] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n && out.length < max; i++)
    if (a[i] !== b[i])
      out.push(`line ${i + 1}:\n  emulator: ${a[i] ?? '(none)'}\n  expected: ${b[i] ?? '(none)'}`);
  return out.join('\n');
}

describe('ALU tables: emulator vs the host CPU', () => {
  let bin32 = '';
  let native: string[] = [];
  let emu: string[] = [];
  let emuBcd: string[] = [];

  beforeAll(() => {
    requireTools();
    const gen = buildHost(path.join(NATIVE_DIR, 'alugen.c'), 'alugen', ['-O2']);
    const src = execFileSync(gen, ['12345'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const inc = `-I${NATIVE_DIR}`;
    // The cache key must cover the runner half of alugen.c, which the generated source #includes.
    const key = `/* alugen.c: ${createHash('sha256')
      .update(fs.readFileSync(path.join(NATIVE_DIR, 'alugen.c')))
      .digest('hex')} */\n`;
    const bin64 = buildGuest(key + src, ['-m64', '-O1', '-mno-red-zone', inc], 'alu64');
    bin32 = buildGuest(key + src, ['-m32', '-static', '-O1', inc], 'alu32');
    native = execFileSync(bin64, { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n');
    const m = Machine.load(new Uint8Array(fs.readFileSync(bin32)), {
      argv: ['alu32'],
      cwd: REPO_ROOT,
      maxInstructions: 2_000_000_000,
    });
    const r = m.run();
    expect(r.status, r.dump).toBe('exited');
    const all = Buffer.from(r.stdout).toString('latin1').split('\n');
    emu = all.filter((l) => !BCD.test(l));
    emuBcd = all.filter((l) => BCD.test(l));
  });

  it('every non-BCD case matches the host CPU', () => {
    // the closing "cases N" line differs (the i386 build has the BCD cases too): compare it apart
    const strip = (ls: string[]) => ls.filter((l) => !l.startsWith('cases '));
    const a = strip(emu);
    const b = strip(native);
    expect(b.length).toBeGreaterThan(50_000);
    console.log(`alu: ${b.length - 1} cases compared with the host CPU`);
    expect(firstDiffs(a, b), 'first differing cases').toBe('');
  });

  it('BCD cases (daa das aaa aas aam aad) match qemu-i386', () => {
    const ref = runNative(bin32, ['alu32'], { cwd: REPO_ROOT })
      .stdout.toString('latin1')
      .split('\n')
      .filter((l) => BCD.test(l));
    expect(ref.length).toBeGreaterThan(5000);
    expect(firstDiffs(emuBcd, ref), 'first differing BCD cases').toBe('');
  });
});
