// #16 "memory that is right or refused": guest memory is addressed by frame numbers (right over the
// whole 4 GiB space) and each process may map at most --mem bytes (Linux's RLIMIT_AS answer: ENOMEM).
// Oracles:
// - what a guest reads back after touching memory: qemu-i386 running the same binary;
// - what a guest gets past its limit (mmap/mremap ENOMEM, sbrk ENOMEM, malloc NULL, room again after
//   munmap): the real Linux kernel, running the same source built for x86-64 under a RLIMIT_AS the
//   program sets itself. qemu-i386 cannot be the oracle here: it ignores a guest's RLIMIT_AS (it would
//   limit qemu itself) and reserves the whole 4 GiB guest space up front, so a host `ulimit -v` on
//   qemu never makes a guest mmap fail at a chosen size;
// - where the limit falls: the guest's own VmSize when mmap fails, against the limit the test set.
// The > 2 GiB run (frames past byte offset 2^31, the old corruption) takes about a minute per side
// on these hosts (half a million host page faults for each), so it runs with PROBELAB_BIG_MEM=1 only;
// the gate runs the same program on 32 MiB.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfError, Machine } from '../../src/emulator/machine.js';
import { DEFAULT_MEM_LIMIT, MEM_LIMIT_MAX } from '../../src/emulator/memory.js';
import { recordRun } from '../../src/recorder/record.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { buildGuest, REPO_ROOT, STATIC } from '../helpers/gcc.js';
import { runNative } from '../helpers/native.js';

const SRC = fs.readFileSync(path.join(REPO_ROOT, 'test/os/mem-guests/memlimit.c'), 'utf8');
let i386 = '';
let x64 = '';
let dir = '';

beforeAll(() => {
  i386 = buildGuest(SRC, [...STATIC, '-O1'], 'mem-limit');
  x64 = buildGuest(SRC, ['-m64', '-O1'], 'mem-limit-x64');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-mem-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function emulate(argv: string[], memLimit?: number) {
  const m = Machine.load(new Uint8Array(fs.readFileSync(i386)), {
    argv: ['memlimit', ...argv],
    env: [],
    cwd: REPO_ROOT,
    maxInstructions: 3_000_000_000,
    memLimit,
  });
  const r = m.run();
  return { out: Buffer.from(r.stdout).toString('latin1'), status: r.status, code: r.exitCode };
}

const semantic = (out: string) => out.split('\n').filter((l) => !l.startsWith('#'));

describe('#16 guest memory: right', () => {
  it('touch 32 MiB, one word per page, read back: same as qemu-i386', () => {
    const q = runNative(i386, ['memlimit', 'touch', '32']);
    const e = emulate(['touch', '32']);
    expect(e.out).toMatch(/wrong pages 0,/);
    expect(e.out).toBe(q.stdout.toString('latin1'));
  });

  it.runIf(process.env.PROBELAB_BIG_MEM === '1')(
    'touch 2176 MiB (frames past byte offset 2^31) with --mem 4G: same as qemu-i386',
    () => {
      const q = runNative(i386, ['memlimit', 'touch', '2176'], { timeoutMs: 600_000 });
      const e = emulate(['touch', '2176'], MEM_LIMIT_MAX);
      expect(e.out).toMatch(/557056 pages, wrong pages 0,/);
      expect(e.out).toBe(q.stdout.toString('latin1'));
    },
    900_000,
  );
});

describe('#16 guest memory: refused past --mem, as Linux refuses past RLIMIT_AS', () => {
  it("the guest's own RLIMIT_AS: same answers as the real kernel under the same call", () => {
    const native = execFileSync(x64, ['limit', '64'], { encoding: 'latin1' });
    const e = emulate(['limit', '64']);
    expect(e.status).toBe('exited');
    expect(semantic(e.out)).toEqual(semantic(native));
  });

  it('--mem: mmap, sbrk, malloc and mremap fail as on the real kernel; munmap makes room again', () => {
    const native = execFileSync(x64, ['limit', '64'], { encoding: 'latin1' });
    const limit = 96 << 20;
    const e = emulate(['limit'], limit);
    expect(e.status).toBe('exited');
    expect(semantic(e.out)).toEqual(semantic(native));
    expect(e.out).toMatch(/^mmap: Cannot allocate memory$/m);
    // Where it failed: everything mapped fits the limit, one more 4 MiB chunk would not.
    const m = /^# chunks (\d+), VmSize (\d+) kB$/m.exec(e.out);
    expect(m).not.toBeNull();
    const vm = Number(m![2]) * 1024;
    expect(vm).toBeLessThanOrEqual(limit);
    expect(vm + (4 << 20)).toBeGreaterThan(limit);
  });

  it('a program whose own image needs more than --mem is refused at load with one line (ElfError)', () => {
    const big = buildGuest(
      'static volatile char bss[48 << 20];\nint main(void) { bss[5] = 1; return bss[5] - 1; }\n',
      [...STATIC, '-O1'],
      'mem-bigbss',
    );
    const load = (memLimit: number) =>
      Machine.load(new Uint8Array(fs.readFileSync(big)), { argv: ['big'], env: [], memLimit });
    expect(() => load(32 << 20)).toThrow(ElfError);
    expect(() => load(32 << 20)).toThrow(/needs more than the guest memory limit of 32 MiB \(--mem\)/);
    expect(load(64 << 20).run().exitCode).toBe(0);
  });

  it('the default limit applies when none is given', () => {
    const e = emulate(['limit']);
    const vm = Number(/VmSize (\d+) kB/.exec(e.out)![1]) * 1024;
    expect(vm).toBeLessThanOrEqual(DEFAULT_MEM_LIMIT);
    expect(vm + (4 << 20)).toBeGreaterThan(DEFAULT_MEM_LIMIT);
  });

  // The guest's syscall results (which mmap fails) depend on the limit, so a replay that ran with
  // another limit would diverge from the recording.
  it('the limit is stored in the run configuration and replay runs with it (verify: identical)', () => {
    const db = path.join(dir, 'limit.db');
    const memLimit = 40 << 20;
    const w = TraceWriter.create(db);
    let runId: number;
    try {
      const out = recordRun(w, {
        workload: 'memlimit',
        binary: new Uint8Array(fs.readFileSync(i386)),
        session: {
          argv: ['memlimit', 'limit'],
          cpus: 2,
          seed: 3,
          probes: [],
          env: [],
          cwd: REPO_ROOT,
          memLimit,
        },
      });
      runId = out.runId;
      expect(out.result.status).toBe('exited');
    } finally {
      w.close();
    }
    const r = TraceReader.open(db);
    try {
      expect(r.runConfig(runId).memLimit).toBe(memLimit);
      expect(replayRun(r, runId).divergence).toBeNull();
    } finally {
      r.close();
    }
  });
});
