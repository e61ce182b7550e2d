// Differential tests: every guest program under test/guests/ (freestanding and static-glibc builds) runs
// on the reference (qemu-i386 -cpu pentium2; see test/helpers/native.ts for why not the bare CPU) and
// in the emulator; stdout, stderr and the exit status (or the killing signal) must be identical.
// Crashing guests must end with the same signal: SIGSEGV, SIGTRAP, SIGILL, SIGFPE.

import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/emulator/machine.js';
import {
  buildGuestProgram,
  GUEST_ENV,
  GUESTS,
  REPO_ROOT,
  requireTools,
  runNative,
} from './helpers/native.js';

const CRASHES: Array<[string, number]> = [
  ['segv', 11],
  ['jump', 11],
  ['trap', 5],
  ['ill', 4],
  ['fpe', 8],
  ['fpe2', 8],
];

interface Outcome {
  stdout: string;
  stderr: string;
  status: string;
}

function native(bin: string, argv: string[]): Outcome {
  const r = runNative(bin, argv, { cwd: REPO_ROOT, env: GUEST_ENV });
  return {
    stdout: r.stdout.toString('latin1'),
    stderr: r.stderr.toString('latin1'),
    status: r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`,
  };
}

function emulated(bin: string, argv: string[]): Outcome {
  const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
    argv,
    env: GUEST_ENV,
    cwd: REPO_ROOT,
    maxInstructions: 400_000_000,
  });
  const r = m.run();
  const status =
    r.status === 'signaled' ? `signal ${r.signal}` : r.status === 'exited' ? `exit ${r.exitCode}` : r.status;
  return {
    stdout: Buffer.from(r.stdout).toString('latin1'),
    stderr: Buffer.from(r.stderr).toString('latin1'),
    status,
  };
}

describe('differential: guest programs on qemu-i386 vs the emulator', () => {
  beforeAll(() => requireTools());

  for (const g of GUESTS)
    for (const mode of g.modes)
      it(`${g.name} (${mode})`, () => {
        const bin = buildGuestProgram(g.name, mode);
        const argv = [`${g.name}.${mode}`, ...(g.args ?? [])];
        const ref = native(bin, argv);
        expect(ref.status, `reference run of ${g.name}: ${ref.stderr}`).toMatch(/^exit /);
        expect(ref.stdout.length).toBeGreaterThan(0);
        const emu = emulated(bin, argv);
        expect(emu).toEqual(ref);
      });

  for (const mode of ['fs', 'glibc'] as const)
    for (const [what, sig] of CRASHES)
      it(`crash ${what} (${mode}) ends with signal ${sig}`, () => {
        const bin = buildGuestProgram('crash', mode);
        const argv = ['crash', what];
        const ref = native(bin, argv);
        expect(ref.status).toBe(`signal ${sig}`);
        const emu = emulated(bin, argv);
        expect(emu).toEqual(ref);
      });
});
