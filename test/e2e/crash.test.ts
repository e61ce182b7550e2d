// Crash safety (design.md, "Write path"): a recording killed at any point leaves a database that opens,
// with every flushed batch intact and the run marked 'incomplete'. The test starts a long recording
// (percpu with 8 x 200000 calls: minutes of guest time), waits until probe-query sees events in the
// file, SIGKILLs probe-record mid-run and then inspects the file with the real commands only.
// Nothing here sleeps for a fixed time: every wait is for something observable (a file changing, a
// line on stderr, events visible to probe-query), see waitFor() in helpers.ts.

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTmp,
  cli,
  ensureBuilt,
  expectCleanError,
  query,
  queryOne,
  startCli,
  tmpDir,
  waitFor,
} from './helpers.js';

beforeAll(ensureBuilt);
afterAll(cleanupTmp);

/** Events probe-query can see in the file so far (0 while the file is not a readable trace yet). */
async function eventsSoFar(trace: string): Promise<number> {
  const r = await cli('probe-query', [trace, 'SELECT count(*) AS n FROM events', '--format', 'json']);
  if (r.code !== 0) return 0;
  return (JSON.parse(r.stdout) as Array<{ n: number }>)[0]?.n ?? 0;
}

/**
 * Starts a long recording (percpu, 8 x 200000 calls: minutes of guest time) and waits until
 * probe-query sees events in the file; the caller stops it.
 */
async function longRecording(trace: string, extra: string[] = []) {
  const { child, exited } = startCli('probe-record', [
    '-w',
    'percpu',
    '-o',
    trace,
    ...extra,
    '--',
    '8',
    '200000',
    '100',
    '1',
  ]);
  try {
    const seen = await moreEventsThan(trace, 0, child);
    return { child, exited, seen };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

/** Waits (on changes to the trace's directory) until probe-query sees more than `n` events. */
function moreEventsThan(trace: string, n: number, child: ChildProcess): Promise<number> {
  return waitFor(
    `more than ${n} events visible to probe-query in ${trace}`,
    async () => {
      const seen = await eventsSoFar(trace);
      return seen > n ? seen : undefined;
    },
    { dirs: () => [path.dirname(trace)], child },
  );
}

/** Checks the trace's events are numbered 1..n without gaps and n >= `seen`; returns n. */
async function denseEvents(trace: string, seen: number): Promise<number> {
  const ev = await queryOne<{ n: number; lo: number; hi: number }>(
    trace,
    'SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM events',
  );
  expect(ev.n).toBeGreaterThanOrEqual(seen);
  expect(ev).toEqual({ n: ev.n, lo: 1, hi: ev.n });
  return ev.n;
}

describe('a recording killed with SIGKILL', () => {
  it('leaves a readable, intact trace with an incomplete run', async () => {
    const trace = path.join(tmpDir('crash'), 'killed.db');
    const { child, exited, seen } = await longRecording(trace, ['-q']);
    try {
      // Wait for the next batch too, so the kill lands in the middle of a recording that is writing.
      await moreEventsThan(trace, seen, child);
      expect(child.exitCode, 'the recording must still be running when it is killed').toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
    const end = await exited;
    expect(end.signal).toBe('SIGKILL');

    // The file opens and passes SQLite's own check.
    expect(await query(trace, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    // The run is there, marked incomplete, with no exit status.
    expect(await query(trace, 'SELECT run_id, workload, status, exit_code, signal FROM runs')).toEqual([
      { run_id: 1, workload: 'percpu', status: 'incomplete', exit_code: null, signal: null },
    ]);
    expect(await query(trace, 'SELECT event, kind, symbol, maxactive FROM probes')).toEqual([
      { event: 'probes/crunch', kind: 'kretprobe', symbol: 'crunch', maxactive: 10 },
    ]);
    // Every batch flushed before the kill is intact: at least what we saw, numbered 1..n without gaps.
    await denseEvents(trace, seen);
    const calls = await queryOne<{ n: number; bad: number }>(
      trace,
      `SELECT count(*) AS n, coalesce(sum(json_extract(args, '$.ret') IS NULL OR dur < 0), 0) AS bad FROM calls`,
    );
    expect(calls.n).toBeGreaterThan(0);
    expect(calls.bad).toBe(0);

    // probe-report has no complete run to analyse: it says so in one line and fails.
    const rep = await cli('probe-report', [trace]);
    expectCleanError(rep, 'probe-report', 1, /no complete run/);
    // Asked for the run explicitly, it reports it as what it is.
    const one = await cli('probe-report', [trace, '--run', '1']);
    if (one.code === 0) expect(one.stdout).toMatch(/incomplete/);
    else expectCleanError(one, 'probe-report', 1, /incomplete|no complete run/);
  });
});

describe('a recording stopped with SIGINT or SIGTERM (Ctrl-C)', () => {
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig}: everything recorded is written, the run is 'truncated' and replays to the same point`, async () => {
      const trace = path.join(tmpDir('interrupt'), `${sig}.db`);
      const { child, exited, seen } = await longRecording(trace);
      expect(child.exitCode, 'the recording must still be running when it is stopped').toBeNull();
      child.kill(sig);
      const end = await exited;
      expect(end.code, end.stderr).toBe(code);
      expect(end.stderr).toMatch(
        new RegExp(
          `^probe-record: ${sig}: stopped after \\d+ instructions; run 1 is kept as 'truncated' \\(\\d+ events\\)$`,
          'm',
        ),
      );
      expect(end.stderr.split('\n').filter((l) => /^\s{4}at /.test(l))).toEqual([]);

      expect(await query(trace, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      const run = await queryOne<{ status: string; instructions: number }>(
        trace,
        'SELECT status, instructions FROM runs',
      );
      expect(run.status).toBe('truncated');
      // Nothing recorded is lost: events 1..n without gaps, at least what was visible, and the
      // probe's counters agree with the rows (every hit has its kprobe event).
      const n = await denseEvents(trace, seen);
      const hits = await queryOne<{ hits: number; kprobes: number }>(
        trace,
        "SELECT (SELECT hits FROM probes) AS hits, (SELECT count(*) FROM events WHERE kind = 'kprobe') AS kprobes",
      );
      expect(hits.hits).toBe(hits.kprobes);
      // The stored configuration says where the run stopped, so replay re-executes exactly that.
      const rep = await cli('probe-replay', [trace]);
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.stdout + rep.stderr).toMatch(
        new RegExp(`verified run 1: ${n} events, ${run.instructions} instructions`),
      );
    });
  }
});

describe('a parallel sweep stopped with SIGINT', () => {
  it('passes the signal to its workers once and merges what each recorded', async () => {
    const trace = path.join(tmpDir('interrupt'), 'sweep.db');
    const { child, exited, stderrSoFar } = startCli('probe-record', [
      '-w',
      'percpu',
      '--runs',
      '4',
      '-o',
      trace,
      '--',
      '8',
      '200000',
      '100',
      '1',
    ]);
    // The sweep names its worker count and the directory of their partial traces; wait until every
    // worker has committed events there, so each is mid-run when the signal comes.
    const plan = await waitFor(
      'the sweep plan on stderr',
      () => {
        const m = /in (\d+) worker processes \(parts in (.+)\)$/m.exec(stderrSoFar());
        return m ? { workers: Number(m[1]), parts: m[2]! } : undefined;
      },
      { child },
    );
    expect(plan.workers, 'a parallel sweep on this machine').toBeGreaterThan(1);
    await waitFor(
      `events in all ${plan.workers} partial traces`,
      async () => {
        const files = fs.existsSync(plan.parts)
          ? fs.readdirSync(plan.parts).filter((f) => f.endsWith('.db'))
          : [];
        if (files.length < plan.workers) return undefined;
        for (const f of files) if ((await eventsSoFar(path.join(plan.parts, f))) === 0) return undefined;
        return true;
      },
      { dirs: () => [path.dirname(trace), plan.parts], child },
    );
    expect(child.exitCode, 'the sweep must still be running when it is stopped').toBeNull();
    child.kill('SIGINT');
    const end = await exited;
    expect(end.code, end.stderr).toBe(130);
    const workers = plan.workers;
    const runs = await query<{ run_id: number; status: string }>(trace, 'SELECT run_id, status FROM runs');
    expect(runs.map((r) => r.status)).toEqual(Array<string>(workers).fill('truncated'));
    for (const r of runs) {
      const rep = await cli('probe-replay', [trace, '--run', String(r.run_id)]);
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.stdout + rep.stderr).toMatch(new RegExp(`verified run ${r.run_id}: `));
    }
  });
});
