// End-to-end: the maxactive story of the default demo and of percpu, through probe-record, probe-query
// and probe-report --json:
// - `server` on 4 CPUs with preemption gets the Linux 2.6.13 default pool max(10, 2 * NR_CPUS) = 10 for
//   every return probe, 48 hits each, and misses handle_request and wait_io calls; the report
//   recommends 12 (= W, the documented answer) however large the recorded pool was (default, r12:, r3:);
// - `percpu --no-preempt -c 2`: the pool is NR_CPUS = 2 and the report's peak for crunch is 2.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTmp,
  ensureBuilt,
  ok,
  query,
  queryOne,
  reportJson,
  tmpDir,
  workloads,
  type ReportJson,
} from './helpers.js';

let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('server');
});
afterAll(cleanupTmp);

const server = workloads().find((w) => w.name === 'server')!;
const documented = (fn: string) => Number(server.answers.find((a) => a.function === fn)!.peak.default_args);

async function recordServer(name: string, extra: string[]): Promise<string> {
  const out = path.join(dir, `${name}.db`);
  await ok('probe-record', ['-w', 'server', '-o', out, '-q', ...extra]);
  return out;
}

interface ProbeRow {
  event: string;
  symbol: string;
  maxactive: number;
  hits: number;
  nmissed: number;
  nmissed_reentry: number;
}

function reportProbe(rep: ReportJson, symbol: string) {
  const p = rep.probes.find((x) => x.symbol === symbol);
  expect(p, `report has a probe on ${symbol}`).toBeDefined();
  return p!;
}

describe('server on 4 CPUs with preemption', () => {
  it('default probes: pool 10 (2.6.13 default), 48 hits, missed calls; the report recommends 12', async () => {
    const trace = await recordServer('default', []);
    const run = await queryOne(trace, 'SELECT cpus, preempt, status, exit_code FROM runs');
    expect(run).toEqual({ cpus: 4, preempt: 1, status: 'complete', exit_code: 0 });
    const probes = await query<ProbeRow>(trace, 'SELECT * FROM probes ORDER BY probe_id');
    expect(probes.map((p) => p.symbol)).toEqual(['handle_request', 'parse_request', 'lookup', 'wait_io']);
    for (const p of probes) {
      expect(p.maxactive, p.event).toBe(10);
      expect(p.hits, p.event).toBe(48);
      expect(p.nmissed_reentry, p.event).toBe(0);
    }
    const byName = (s: string) => probes.find((p) => p.symbol === s)!;
    expect(byName('handle_request').nmissed).toBeGreaterThan(0);
    expect(byName('wait_io').nmissed).toBeGreaterThan(0);
    expect(byName('lookup').nmissed, 'lookup runs under a spinlock: never more than 1 in flight').toBe(0);

    const rep = await reportJson(trace);
    expect(rep.schema).toBe('probelab-report/1');
    for (const fn of ['handle_request', 'wait_io']) {
      const p = reportProbe(rep, fn);
      expect(p.maxactive).toBe(10);
      expect(p.hits).toBe(48);
      expect(p.missed).toBe(byName(fn).nmissed);
      expect(p.calls + (p.missed ?? 0)).toBe(48);
      expect(p.peak_concurrency, `${fn} peak`).toBe(documented(fn));
      expect(p.recommended_maxactive, `${fn} recommendation`).toBe(12);
      expect(p.defaults).toMatchObject({ linux_2_6_13: 10 });
      // The miss curve is exact: the recorded pool size reproduces the recorded misses, 12 misses none.
      expect(p.miss_curve?.find((m) => m.maxactive === 10)?.missed).toBe(byName(fn).nmissed);
      expect(p.miss_curve?.at(-1)).toEqual({ maxactive: 12, missed: 0 });
    }
    expect(reportProbe(rep, 'lookup')).toMatchObject({ peak_concurrency: 1, recommended_maxactive: 1 });
    expect(reportProbe(rep, 'parse_request').recommended_maxactive).toBeLessThanOrEqual(12);
  });

  it('r12: misses nothing and the report still recommends 12', async () => {
    const trace = await recordServer('r12', ['-p', 'r12:handle_request handle_request']);
    expect(await query(trace, 'SELECT event, maxactive, hits, nmissed FROM probes')).toEqual([
      { event: 'probes/handle_request', maxactive: 12, hits: 48, nmissed: 0 },
    ]);
    expect(await queryOne(trace, 'SELECT count(*) AS calls FROM calls')).toEqual({ calls: 48 });
    const p = reportProbe(await reportJson(trace), 'handle_request');
    expect(p).toMatchObject({ calls: 48, missed: 0, peak_concurrency: 12, recommended_maxactive: 12 });
  });

  it('r3: misses most calls and the report (from a replay) still recommends 12', async () => {
    const trace = await recordServer('r3', ['-p', 'r3:handle_request handle_request']);
    const row = await queryOne<ProbeRow>(trace, 'SELECT * FROM probes');
    expect(row).toMatchObject({ maxactive: 3, hits: 48 });
    // 4 disjoint batches of 12 requests, each with all 12 calls in flight at once while the disk
    // collects them: at most 3 of each batch hold an instance, so at least 4 x 9 calls are missed.
    expect(row.nmissed).toBeGreaterThanOrEqual(36);
    const calls = await queryOne<{ n: number }>(trace, 'SELECT count(*) AS n FROM calls');
    expect(calls.n + row.nmissed).toBe(48);
    const p = reportProbe(await reportJson(trace), 'handle_request');
    expect(p).toMatchObject({ maxactive: 3, calls: calls.n, missed: row.nmissed });
    expect(p).toMatchObject({ peak_concurrency: 12, recommended_maxactive: 12 });
    expect(p.miss_curve?.find((m) => m.maxactive === 3)?.missed).toBe(row.nmissed);
  });
});

describe('percpu without preemption on 2 CPUs', () => {
  it('pool = NR_CPUS = 2, no misses, peak concurrency of crunch = 2', async () => {
    const out = path.join(dir, 'percpu.db');
    await ok('probe-record', ['-w', 'percpu', '-o', out, '-q', '--no-preempt', '-c', '2']);
    expect(await queryOne(out, 'SELECT cpus, preempt, status FROM runs')).toEqual({
      cpus: 2,
      preempt: 0,
      status: 'complete',
    });
    expect(await queryOne(out, 'SELECT maxactive, hits, nmissed FROM probes')).toEqual({
      maxactive: 2,
      hits: 1600,
      nmissed: 0,
    });
    const p = reportProbe(await reportJson(out), 'crunch');
    expect(p.peak_concurrency).toBe(2);
    expect(p.recommended_maxactive).toBe(2);
    expect(p.max_depth).toBe(0);
  });
});
