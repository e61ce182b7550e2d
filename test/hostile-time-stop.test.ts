// Issue #16, "stop any recording within a second": probe-record lets its event loop run on a
// wall-time basis, so SIGINT stops a recording whatever the guest does. Two guests that used to
// keep the recorder from ever yielding: one that spins without a system call, and one that is idle
// for ever but woken every microsecond by a timer whose signal it ignores (rounds go by, almost no
// instruction retires). Each is recorded through the real command, interrupted once the guest has
// said (on stdout) that it reached that phase, and must exit promptly with 130, leaving a
// 'truncated' run that replays (verify) to the same point. No fixed sleeps: every wait is for
// an observable event (waitFor in e2e/helpers.ts).

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayRun } from '../src/replay/replay.js';
import { TraceReader } from '../src/trace/reader.js';
import { cleanupTmp, ensureBuilt, startCli, tmpDir, waitFor } from './e2e/helpers.js';
import { buildHostileGuest } from './hostile-time-guests/build.js';

let sleepers = '';
beforeAll(() => {
  ensureBuilt();
  sleepers = buildHostileGuest('sleepers');
});
afterAll(cleanupTmp);

/**
 * Generous for a loaded 2-core CI host; the recorder itself yields every 50 ms (a quiet machine
 * exits in about 0.2 s). Before the fix these recordings never stopped.
 */
const STOP_BOUND_MS = 10_000;

describe('#16 SIGINT stops a recording within a bound, whatever the guest does', () => {
  for (const mode of ['busy', 'ticking'] as const) {
    it(`${mode} guest: exit 130 promptly, run kept as 'truncated', replay verifies`, async () => {
      const trace = path.join(tmpDir(`stop-${mode}`), 't.db');
      const { child, exited } = startCli('probe-record', [
        '-q',
        '-c',
        '2',
        '-o',
        trace,
        sleepers,
        '--',
        mode,
      ]);
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
      try {
        await waitFor(`the guest's "${mode}" line`, () => (out.includes(`${mode}\n`) ? true : undefined), {
          child,
        });
      } catch (e) {
        child.kill('SIGKILL');
        throw e;
      }
      const t0 = performance.now();
      child.kill('SIGINT');
      const end = await exited;
      const stopMs = performance.now() - t0;
      expect(end.code, end.stderr).toBe(130);
      expect(stopMs).toBeLessThan(STOP_BOUND_MS);
      expect(end.stderr).toMatch(
        /^probe-record: SIGINT: stopped after \d+ instructions; run 1 is kept as 'truncated'/m,
      );
      // The trace is read and replayed in this process (the recording is the command under test).
      const reader = TraceReader.open(trace);
      try {
        const [run] = reader.runs();
        expect(run!.status).toBe('truncated');
        const o = replayRun(reader, run!.runId);
        expect(o.divergence).toBeNull();
        expect(o.outputIdentical).toBe(true);
        expect(o.instructions).toBe(run!.instructions);
      } finally {
        reader.close();
      }
    });
  }
});
