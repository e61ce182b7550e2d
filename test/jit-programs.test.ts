// Block compiler on whole programs: every differential guest (freestanding and glibc) and the built-in
// multi-threaded workloads run once with the pure interpreter (PROBELAB_JIT=0) and once with the
// compiler compiling nearly everything (threshold 2), on 1 and 4 vCPUs with chaos scheduling, run to
// the end and cut off at an odd instruction budget. Everything a user can observe must be identical:
// status, exit code, signal and its message, instruction and cycle counts, output, context switches,
// and (at the cut-off) every register, EIP and EFLAGS of every task.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/emulator/machine.js';
import { saveJitEnv } from './helpers/jitenv.js';
import { buildGuestProgram, GUEST_ENV, GUESTS, REPO_ROOT } from './helpers/native.js';

const restoreEnv = saveJitEnv();
afterAll(restoreEnv);

interface Observed {
  result: Record<string, unknown>;
  switches: number;
  tasks: string[];
  compiled: number;
}

function observe(bin: Uint8Array, argv: string[], jit: boolean, o: { cpus: number; max?: number }): Observed {
  process.env.PROBELAB_JIT = jit ? '1' : '0';
  process.env.PROBELAB_JIT_HOT = '2';
  const m = Machine.load(bin, {
    argv,
    env: GUEST_ENV,
    cwd: REPO_ROOT,
    cpus: o.cpus,
    chaos: o.cpus > 1,
    seed: 7,
    maxInstructions: o.max ?? 400_000_000,
  });
  const r = m.run();
  const tasks = [...m.tasks.values()].map(
    (t) => `${t.tid} ${t.cpu.eip >>> 0} ${t.cpu.getFlags()} ${[...t.cpu.regs]}`,
  );
  const compiled = m.initProcess.mm.cache.jit?.compiledBlocks ?? 0;
  return {
    result: {
      ...r,
      stdout: Buffer.from(r.stdout).toString('latin1'),
      stderr: Buffer.from(r.stderr).toString('latin1'),
    },
    switches: m.contextSwitches,
    tasks,
    compiled,
  };
}

function same(bin: Uint8Array, argv: string[], o: { cpus: number; max?: number }): void {
  const a = observe(bin, argv, false, o);
  const b = observe(bin, argv, true, o);
  expect(a.compiled).toBe(0);
  expect(b.compiled).toBeGreaterThan(0);
  expect({ ...b, compiled: 0 }).toEqual(a);
}

describe('compiled vs interpreted: test guests', () => {
  // One build of each guest keeps the file quick: glibc where it has one (more code, SSE-free libc).
  for (const g of GUESTS)
    for (const mode of g.modes.includes('glibc') ? (['glibc'] as const) : g.modes)
      it(`${g.name} (${mode})`, () => {
        const bin = new Uint8Array(fs.readFileSync(buildGuestProgram(g.name, mode)));
        const argv = [g.name, ...(g.args ?? [])];
        same(bin, argv, { cpus: 1 });
        same(bin, argv, { cpus: 1, max: 98_765 });
      });
});

describe('compiled vs interpreted: threaded workloads with chaos scheduling', () => {
  const wl = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workloads', 'workloads.json'), 'utf8')) as {
    workloads: { name: string; binary: string; default_args: string[] }[];
  };
  for (const w of wl.workloads)
    it(w.name, () => {
      const bin = new Uint8Array(fs.readFileSync(path.join(REPO_ROOT, 'workloads', w.binary)));
      const argv = [w.name, ...w.default_args];
      same(bin, argv, { cpus: 4 });
      same(bin, argv, { cpus: 4, max: 54_321 });
    });
});
