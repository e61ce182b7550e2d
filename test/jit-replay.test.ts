// A recording made with the block compiler verifies with the pure interpreter: `probe-record` runs
// with PROBELAB_JIT=1 (threshold 2, so nearly all guest code runs compiled), then
// `PROBELAB_JIT=0 probe-replay --verify` re-executes the run in the interpreter and compares every
// event, the schedule, inputs, output and final state. Built-in server workload, 4 vCPUs, chaos.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, ensureBuilt, show } from './e2e/helpers.js';
import { saveJitEnv } from './helpers/jitenv.js';

const restoreEnv = saveJitEnv();
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-jit-replay-'));
  await ensureBuilt();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  restoreEnv();
});

// #13 wasm tier: the same with units compiled to WebAssembly (frames on a WebAssembly.Memory).
it.each(['1', 'wasm'])(
  'a recording made with PROBELAB_JIT=%s verifies with PROBELAB_JIT=0 probe-replay --verify',
  async (mode) => {
    const db = path.join(dir, `jit-${mode}.db`);
    process.env.PROBELAB_JIT = mode;
    process.env.PROBELAB_JIT_HOT = '2';
    const rec = await cli('probe-record', ['-q', '--force', '-c', '4', '--chaos', '-s', '3', '-o', db]);
    expect(rec.code, show(rec)).toBe(0);
    process.env.PROBELAB_JIT = '0';
    delete process.env.PROBELAB_JIT_HOT;
    const ver = await cli('probe-replay', [db, '--verify']);
    expect(ver.code, show(ver)).toBe(0);
  },
);
