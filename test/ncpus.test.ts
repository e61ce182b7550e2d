// #11 item 1: one NR_CPUS range (1..64, design.md "SMP") checked by one function for every entry
// point: the Machine refuses what the stored RunConfig and the commands refuse, with the same words,
// and the default a run gets (4) is the one the RunConfig stores. The Machine alone defaults to a
// uniprocessor (src/emulator/ncpus.ts says why).

import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/emulator/machine.js';
import { MACHINE_DEFAULT_CPUS } from '../src/emulator/ncpus.js';
import { makeRunConfig, RUN_CONFIG_DEFAULTS } from '../src/trace/config.js';
import { TraceError } from '../src/trace/db.js';
import { buildGuest } from './helpers/gcc.js';
import { FREESTANDING_FLAGS, requireTools } from './helpers/native.js';

const TINY = `
__asm__(".globl _start\\n_start:\\n movl $1, %eax\\n movl $0, %ebx\\n int $0x80\\n");
`;

describe('#11 NR_CPUS: one range, one check', () => {
  let bin: Uint8Array;
  beforeAll(() => {
    requireTools();
    bin = new Uint8Array(fs.readFileSync(buildGuest(TINY, FREESTANDING_FLAGS, 'ncpus-tiny')));
  });

  it('Machine and RunConfig refuse the same values with the same one-line reason', () => {
    for (const bad of [0, 65, 1.5, -1, Number.NaN]) {
      expect(() => Machine.load(bin, { argv: ['t'], cpus: bad })).toThrow(
        new RangeError(`cpus must be an integer in 1..64, got ${String(bad)}`),
      );
      // (The trace layer shows the stored value as JSON would: NaN as null.)
      expect(() => makeRunConfig({ argv: ['t'], cwd: '/', cpus: bad })).toThrow(TraceError);
      expect(() => makeRunConfig({ argv: ['t'], cwd: '/', cpus: bad })).toThrow(
        /^run config: cpus must be an integer in 1\.\.64, got /,
      );
    }
  });

  it('both ends of the range run', () => {
    for (const cpus of [1, 64]) {
      const m = Machine.load(bin, { argv: ['t'], cpus });
      expect(m.ncpus).toBe(cpus);
      expect(m.vcpus).toHaveLength(cpus);
      expect(m.run().status).toBe('exited');
      expect(makeRunConfig({ argv: ['t'], cwd: '/', cpus }).cpus).toBe(cpus);
    }
  });

  it('defaults: a run (RunConfig) gets 4, a bare Machine a uniprocessor', () => {
    expect(RUN_CONFIG_DEFAULTS.cpus).toBe(4);
    expect(makeRunConfig({ argv: ['t'], cwd: '/' }).cpus).toBe(4);
    expect(MACHINE_DEFAULT_CPUS).toBe(1);
    expect(Machine.load(bin, { argv: ['t'] }).ncpus).toBe(1);
  });
});
