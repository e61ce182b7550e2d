// Issue #16, thread and process limits: clone/fork/vfork beyond MachineOptions.maxTasks (the run
// config's maxTasks, probe-record --max-tasks) fail with EAGAIN, counted as Linux counts
// RLIMIT_NPROC (copy_process: the new task is counted, then refused when the count passes the
// limit; a thread's slot comes back when it exits, a process's when it is reaped). So with a limit
// of N the guest gets N - 1 threads besides its main thread, then N - 1 child processes after those
// threads ended. Expected figures are derived from the limit given, by that rule; qemu-i386 cannot
// check them here (it runs as root, which RLIMIT_NPROC does not bind).
// The guest (test/hostile-time-guests/spawner.c) also starts and joins threads one at a time far
// beyond the limit: an exited thread must give its slot (and its host memory) back. The guest reads
// the limit as RLIMIT_NPROC, and a soft limit it lowers with setrlimit binds as well.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TASKS, Machine } from '../../src/emulator/machine.js';
import { runConfigOf } from '../../src/recorder/config.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { cleanupTmp, cli, ensureBuilt, expectCleanError, tmpDir } from '../e2e/helpers.js';
import { REPO_ROOT } from '../helpers/gcc.js';
import { buildHostileGuest } from '../hostile-time-guests/build.js';

let spawner = '';
beforeAll(() => {
  ensureBuilt();
  spawner = buildHostileGuest('spawner');
});
afterAll(cleanupTmp);

const expected = (limit: number, sequential: number) =>
  [
    `RLIMIT_NPROC ${limit} ${limit}`,
    `threads: ${limit - 1}, then Resource temporarily unavailable`,
    `processes: ${limit - 1}, then Resource temporarily unavailable`,
    `reaped ${limit - 1}`,
    `sequential threads: ${sequential} of ${sequential}`,
    'setrlimit NPROC 4: 0',
    'threads under 4: 3, then Resource temporarily unavailable',
    '',
  ].join('\n');

describe('#16 thread and process limit (RLIMIT_NPROC semantics, EAGAIN)', () => {
  for (const [limit, cpus] of [
    [12, 1],
    [5, 3],
  ] as const) {
    it(`maxTasks ${limit} on ${cpus} CPU(s): ${limit - 1} threads, then ${limit - 1} processes, then EAGAIN; joined threads free their slots`, () => {
      const sequential = 10 * limit;
      const m = Machine.load(new Uint8Array(fs.readFileSync(spawner)), {
        argv: ['spawner', String(sequential)],
        env: [],
        cwd: REPO_ROOT,
        cpus,
        maxTasks: limit,
        maxInstructions: 200_000_000,
      });
      const r = m.run();
      expect(r.status, r.message).toBe('exited');
      expect(Buffer.from(r.stdout).toString('latin1')).toBe(expected(limit, sequential));
      // Exited threads are released (Linux's release_task), not kept until the process ends.
      expect(m.tasks.size).toBeLessThanOrEqual(limit);
    });
  }

  it('the default is stored in every new run config (DEFAULT_MAX_TASKS), so replays keep it', () => {
    expect(runConfigOf({ argv: ['x'], probes: [] }).maxTasks).toBe(DEFAULT_MAX_TASKS);
    expect(runConfigOf({ argv: ['x'], probes: [], maxTasks: 7 }).maxTasks).toBe(7);
  });

  it('probe-record --max-tasks: the guest meets the limit, the config stores it, replay verifies', async () => {
    const trace = path.join(tmpDir('limits'), 't.db');
    const r = await cli('probe-record', [
      '-q',
      '-c',
      '2',
      '--max-tasks',
      '6',
      '-o',
      trace,
      spawner,
      '--',
      '20',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(expected(6, 20));
    const reader = TraceReader.open(trace);
    try {
      expect(reader.runConfig(1).maxTasks).toBe(6);
      const o = replayRun(reader, 1);
      expect(o.divergence).toBeNull();
      expect(o.outputIdentical).toBe(true);
    } finally {
      reader.close();
    }
    const bad = await cli('probe-record', ['--max-tasks', '0', '-o', trace + '2', spawner]);
    expectCleanError(bad, 'probe-record', 2, /--max-tasks must be a positive integer, got 0/);
  });
});
