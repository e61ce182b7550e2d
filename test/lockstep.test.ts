// Lockstep: every guest program (both builds) runs instruction by instruction in the emulator and on
// the reference trace (qemu-i386 + test/native/tracer.c), comparing EIP, the 8 GPRs and EFLAGS after
// every instruction (undefined flags masked). See test/helpers/lockstep.ts for the resync policy.
// The SSE2 guest (test/guests/sse2.c) also runs on the pentium4 model with XMM0-7 and MXCSR compared.
// Each program is compared from its first instruction, up to PROBELAB_LOCKSTEP_MAX instructions
// (default 400k) or its exit; at least 5 million instructions are compared in all, with no mismatch.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest } from './helpers/gcc.js';
import { lockstep } from './helpers/lockstep.js';
import {
  buildGuestProgram,
  buildTracer,
  GUEST_ENV,
  GUESTS,
  GUESTS_DIR,
  REPO_ROOT,
  requireTools,
} from './helpers/native.js';

const MAX = Number(process.env.PROBELAB_LOCKSTEP_MAX ?? 400_000);
const MIN_TOTAL = 5_000_000;
const SSE_BUILDS: Array<[string, string[]]> = [
  ['sse2-vec', ['-static', '-O3', '-msse2', '-mfpmath=sse', '-ftree-vectorize']],
  ['sse2-p4', ['-static', '-O3', '-march=pentium4', '-mfpmath=sse']],
];

describe('lockstep against the reference CPU trace', () => {
  let total = 0;
  const perProgram: string[] = [];
  beforeAll(() => {
    requireTools();
    buildTracer();
  });
  afterAll(() => {
    console.log(`lockstep: ${total} instructions compared\n  ${perProgram.join('\n  ')}`);
  });

  for (const g of GUESTS)
    for (const mode of g.modes)
      it(`${g.name} (${mode})`, async () => {
        const bin = buildGuestProgram(g.name, mode);
        const argv = [`${g.name}.${mode}`, ...(g.args ?? [])];
        const r = await lockstep(bin, argv, { cwd: REPO_ROOT, env: GUEST_ENV, maxInstructions: MAX });
        total += r.compared;
        perProgram.push(
          `${g.name} (${mode}): ${r.compared} instructions, ${r.syscalls} syscalls, end=${r.end}`,
        );
        expect(r.mismatches.join('\n\n'), `${g.name} (${mode})`).toBe('');
        expect(r.end).not.toBe('eof');
        expect(r.compared).toBeGreaterThan(1000);
      });

  // SSE2 code (vectorized loops, -mfpmath=sse, glibc's SSE2 string functions) on the pentium4 model,
  // with XMM0-7 and MXCSR compared after every instruction (policy 7).
  for (const [name, flags] of SSE_BUILDS)
    it(`${name} (pentium4, XMM compared)`, async () => {
      const bin = buildGuest(fs.readFileSync(`${GUESTS_DIR}/sse2.c`, 'utf8'), flags, name, { libs: ['-lm'] });
      const r = await lockstep(bin, [name], {
        cwd: REPO_ROOT,
        env: GUEST_ENV,
        maxInstructions: MAX,
        cpuModel: 'pentium4',
      });
      total += r.compared;
      perProgram.push(`${name} (pentium4): ${r.compared} instructions, ${r.syscalls} syscalls, end=${r.end}`);
      expect(r.mismatches.join('\n\n'), name).toBe('');
      expect(r.end).not.toBe('eof');
      expect(r.compared).toBeGreaterThan(1000);
    });

  it('compared at least 5 million instructions in total', () => {
    if (MAX < 400_000) return; // a reduced run was asked for
    expect(total).toBeGreaterThanOrEqual(MIN_TOTAL);
  });
});
