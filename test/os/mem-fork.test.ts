// #12 copy-on-write fork: children that read and write private (.data, .bss, heap, anonymous mmap),
// MAP_SHARED, mprotected and file-mapped pages, ordered by pipes, against qemu-i386 running the same
// binary (which forks real host processes, so Linux decides what each side sees); then the same run
// recorded and replayed (verify: identical) on 2 CPUs with chaos.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, REPO_ROOT, STATIC } from '../helpers/gcc.js';
import { cleanup, onEmulator, onQemu, outcomeOf, recordAndVerify } from './core-helpers.js';

let bin = '';
beforeAll(() => {
  bin = buildGuest(
    fs.readFileSync(`${REPO_ROOT}/test/os/mem-guests/memfork.c`, 'utf8'),
    [...STATIC, '-O1'],
    'mem-fork',
  );
});
afterAll(cleanup);

describe('#12 fork shares memory copy-on-write', () => {
  it('private, shared, mprotected and file-mapped pages: same as qemu-i386', () => {
    // The guest maps its own executable privately (any readable file of 16 KiB or more will do).
    const q = onQemu(bin, ['memfork', bin]);
    expect(q.stdout).toMatch(/many: 12 of 12 shared slots/);
    const e = outcomeOf(onEmulator(bin, ['memfork', bin]));
    expect(e).toEqual(q);
  });

  it('recorded and replayed identically (2 CPUs, chaos)', () => {
    const r = recordAndVerify(bin, ['memfork', bin], 2, true);
    expect(r.divergence).toBeNull();
  });
});
