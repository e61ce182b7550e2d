// lea with a segment override (#11: the decoder leaves the fs/gs mark off lea, so the interpreter's one
// effective-address routine serves lea too). Oracle: qemu-i386 runs the same static glibc guest; glibc
// points %gs at its thread block, so an address that wrongly added the gs base would differ by it.
// Run with the interpreter only and with the block compiler (which has its own lea translation).

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/emulator/machine.js';
import { buildGuest, STATIC } from './helpers/gcc.js';
import { saveJitEnv } from './helpers/jitenv.js';
import { GUEST_ENV, REPO_ROOT, requireTools, runNative } from './helpers/native.js';

const SRC = String.raw`
#include <stdio.h>
int main(void) {
  unsigned self, gs = 0, fs = 0, x = 0, i;
  __asm__ volatile("movl %%gs:0, %0" : "=r"(self));
  for (i = 0; i < 3000; i++) {
    __asm__ volatile("leal %%gs:8(%2,%3,4), %0\n\tleal %%fs:-4(%2), %1"
                     : "=r"(gs), "=r"(fs) : "r"(0x1000 + i), "r"(i));
    x ^= gs + fs;
  }
  printf("gs base set %d, last %x %x, fold %x\n", self != 0, gs, fs, x);
  return 0;
}
`;

const restoreEnv = saveJitEnv();

describe('lea ignores segment overrides (issue #11, decoder/cpu ea)', () => {
  let bin = '';
  let want = '';
  beforeAll(() => {
    requireTools();
    bin = buildGuest(SRC, [...STATIC, '-O1'], 'lea-seg');
    const ref = runNative(bin, ['lea-seg'], { cwd: REPO_ROOT, env: GUEST_ENV });
    expect(ref.status).toBe(0);
    want = ref.stdout.toString('latin1');
    // A zero gs base could not tell a wrong address from a right one.
    expect(want).toMatch(/^gs base set 1, /);
  });
  afterAll(() => restoreEnv());

  for (const jit of ['0', '1'])
    it(`matches qemu-i386 with PROBELAB_JIT=${jit}`, () => {
      process.env.PROBELAB_JIT = jit;
      const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
        argv: ['lea-seg'],
        env: GUEST_ENV,
        cwd: REPO_ROOT,
      });
      const r = m.run();
      expect(r.status).toBe('exited');
      expect(Buffer.from(r.stdout).toString('latin1')).toBe(want);
    });
});
