// Fetch-argument summaries and --by groups (src/analysis/args.ts), property-tested against an exact
// brute-force computation written independently here (BigInt ranks, plain counting), and through
// buildReport across several runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArgCollector,
  compareArgValues,
  formatArgValue,
  MAX_GROUPS,
  normalizeArgValue,
  TOP_VALUES,
  type ArgValue,
} from '../src/analysis/args.js';
import type { CallRec, RunData } from '../src/analysis/model.js';
import { buildReport, sweepPeaks, type ProbeRunFigures } from '../src/analysis/summary.js';

/** Nearest-rank percentile (perMille/1000) of ascending numbers, by its BigInt rank. */
function exactRank(sorted: number[], perMille: number): number {
  const rank = Number((BigInt(perMille) * BigInt(sorted.length) + 999n) / 1000n);
  return sorted[Math.max(1, rank) - 1]!;
}

function exactP50(lat: number[]): number | null {
  const f = lat.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return f.length === 0 ? null : exactRank(f, 500);
}

const key = (v: ArgValue): string => `${typeof v}:${String(v)}`;

/** One hit: a value that may be a number, hex text, decimal text, or a string; a latency or none. */
const hitArb = fc.record({
  v: fc.oneof(
    fc.integer({ min: -5, max: 40 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 300 }).map((n) => `0x${n.toString(16)}`),
    fc.constantFrom('(fault)', 'alpha', 'bravo'),
  ),
  lat: fc.oneof(fc.nat(5000), fc.constant(NaN), fc.constant(Infinity)),
  hooked: fc.boolean(),
});

describe('argument summaries', () => {
  it('equal an exact computation: count, min/max/p50/p99 of the numbers, distinct, top with p50 latency', () => {
    fc.assert(
      fc.property(fc.array(hitArb, { minLength: 0, maxLength: 200 }), (hits) => {
        const c = new ArgCollector([{ name: 'n', type: 'x32' }]);
        for (const h of hits) c.add({ n: h.v }, h.lat, h.hooked);
        const [s] = c.summaries();
        // the oracle: normalise as documented, by hand
        const vals: ArgValue[] = hits.map((h) =>
          typeof h.v === 'number' ? h.v : /^0x/.test(h.v) ? parseInt(h.v, 16) : h.v,
        );
        const nums = vals.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
        expect(s!.count).toBe(hits.length);
        expect(s!.min).toBe(nums.length ? nums[0] : null);
        expect(s!.max).toBe(nums.length ? nums[nums.length - 1] : null);
        expect(s!.p50).toBe(nums.length ? exactRank(nums, 500) : null);
        expect(s!.p99).toBe(nums.length ? exactRank(nums, 990) : null);
        const byKey = new Map<string, { v: ArgValue; n: number; lat: number[] }>();
        vals.forEach((v, i) => {
          const e = byKey.get(key(v)) ?? { v, n: 0, lat: [] };
          e.n++;
          e.lat.push(hits[i]!.lat);
          byKey.set(key(v), e);
        });
        expect(s!.distinct).toBe(byKey.size);
        const want = [...byKey.values()]
          .sort((a, b) => b.n - a.n || compareArgValues(a.v, b.v))
          .slice(0, TOP_VALUES)
          .map((e) => ({ value: e.v, count: e.n, p50_latency: exactP50(e.lat) }));
        expect(s!.top).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('groups: calls, misses and exact latency per value, in value order', () => {
    fc.assert(
      fc.property(fc.array(hitArb, { minLength: 1, maxLength: 150 }), fc.boolean(), (hits, known) => {
        const c = new ArgCollector([{ name: 'n', type: 'u32' }]);
        for (const h of hits) c.add({ n: h.v }, h.lat, h.hooked);
        c.missesKnown = known;
        const g = c.groups('n')!;
        expect(c.groups('nope')).toBeNull();
        const vals = hits.map((h) => normalizeArgValue(h.v, 'u32')!);
        const keys = [...new Set(vals.map(key))];
        expect(g.distinct).toBe(keys.length);
        expect(g.rows.length).toBe(Math.min(MAX_GROUPS, keys.length));
        for (let i = 1; i < g.rows.length; i++)
          expect(compareArgValues(g.rows[i - 1]!.value, g.rows[i]!.value)).toBeLessThan(0);
        for (const r of g.rows) {
          const idx = vals.map((v, i) => (key(v) === key(r.value) ? i : -1)).filter((i) => i >= 0);
          expect(r.calls).toBe(idx.length);
          expect(r.missed).toBe(known ? idx.filter((i) => !hits[i]!.hooked).length : null);
          const lat = idx
            .map((i) => hits[i]!.lat)
            .filter((v) => Number.isFinite(v))
            .sort((a, b) => a - b);
          expect(r.latency.count).toBe(lat.length);
          expect(r.latency.p50).toBe(lat.length ? exactRank(lat, 500) : null);
          expect(r.latency.p99).toBe(lat.length ? exactRank(lat, 990) : null);
          expect(r.latency.max).toBe(lat.length ? lat[lat.length - 1] : null);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('normalises what traces store and prints what Linux prints', () => {
    expect(normalizeArgValue('0x1f', 'x32')).toBe(31);
    expect(normalizeArgValue(31, 'x32')).toBe(31);
    expect(normalizeArgValue('-7', 's64')).toBe(-7);
    expect(normalizeArgValue('18446744073709551615', 'u64')).toBe('18446744073709551615');
    expect(normalizeArgValue('0x10', 'string')).toBe('0x10');
    expect(normalizeArgValue('(fault)', 'u32')).toBe('(fault)');
    expect(normalizeArgValue(null, 'u32')).toBeNull();
    expect(formatArgValue(31, 'x32')).toBe('0x1f');
    expect(formatArgValue(-1, 'x32')).toBe('0xffffffff');
    expect(formatArgValue(31, 'u32')).toBe('31');
    expect(formatArgValue('alpha', 'string')).toBe('"alpha"');
    expect(formatArgValue('main+0x4', 'symbol')).toBe('main+0x4');
    expect(formatArgValue('(fault)', 'string')).toBe('(fault)');
  });
});

describe('arguments in the report model', () => {
  const run = (runId: number, ns: number[], missedCall: boolean): RunData => {
    const calls: CallRec[] = ns.map((n, i) => ({
      probeId: 7,
      tid: 100 + i,
      entryTs: i * 100,
      returnTs: i * 100 + 10 * (n + 1),
      entrySeq: 2 * i,
      returnSeq: 2 * i + 1,
      entryCpu: 0,
      returnCpu: 0,
      depth: 0,
      retval: 0,
      args: { n: `0x${n.toString(16)}`, s: `w${n % 2}` },
      hooked: true,
    }));
    return {
      run: {
        runId,
        workload: 'w',
        cpus: 1,
        preempt: false,
        seed: runId,
        chaos: false,
        status: 'complete',
        instructions: 1,
        cycles: 10_000,
        mhz: 1000,
      },
      probes: [
        {
          probeId: 7,
          event: 'probes/work',
          kind: 'kretprobe',
          symbol: 'work',
          maxactive: 4,
          hits: ns.length + (missedCall ? 1 : 0),
          nmissed: missedCall ? 1 : 0,
          nmissedReentry: 0,
          args: [
            { name: 'n', type: 'x32' },
            { name: 's', type: 'string' },
          ],
        },
        {
          probeId: 8,
          event: 'probes/hit',
          kind: 'kprobe',
          symbol: 'work',
          offset: 0x15,
          maxactive: 0,
          hits: 2,
          nmissed: 0,
          nmissedReentry: 0,
          args: [{ name: 'x', type: 's32' }],
        },
      ],
      calls,
      misses: missedCall ? [{ probeId: 7, tid: 1, cpu: 0, ts: 5, reason: 'no_instance' }] : [],
      argHits: [
        { probeId: 8, args: { x: -3 } },
        { probeId: 8, args: { x: runId } },
      ],
    };
  };

  it('sums over runs, keeps spec order, and groups with --by (misses unknown when a run missed calls)', () => {
    const a = [1, 2, 2, 3];
    const b = [2, 5];
    const m = buildReport(
      { runs: [run(1, a, false), run(2, b, false)] },
      { by: [{ event: 'work', arg: 'n' }] },
    );
    const p = m.json.probes.find((q) => q.event === 'probes/work')!;
    expect(p.args.map((x) => [x.name, x.type])).toEqual([
      ['n', 'x32'],
      ['s', 'string'],
    ]);
    const n = p.args[0]!;
    expect([n.count, n.min, n.max, n.distinct]).toEqual([6, 1, 5, 4]);
    expect(n.top[0]).toEqual({ value: 2, count: 3, p50_latency: 30 });
    expect(p.args[1]!.min).toBeNull();
    expect(p.groups!.rows.map((r) => [r.value, r.calls, r.missed, r.latency.max])).toEqual([
      [1, 1, 0, 20],
      [2, 3, 0, 30],
      [3, 1, 0, 40],
      [5, 1, 0, 60],
    ]);
    const k = m.json.probes.find((q) => q.event === 'probes/hit')!;
    expect(k.offset).toBe(0x15);
    expect(k.args[0]).toMatchObject({ count: 4, min: -3, max: 2, distinct: 3 });
    expect(k.args[0]!.top[0]).toEqual({ value: -3, count: 2, p50_latency: null });
    expect(m.extras.probes.find((x) => x.event === 'probes/hit')!.location).toBe('work+0x15');
    // a run that missed calls without a complete set that carries their arguments: misses unknown
    const m2 = buildReport(
      { runs: [run(1, a, true), run(2, b, false)] },
      { by: [{ event: 'probes/work', arg: 'n' }] },
    );
    expect(m2.json.probes[0]!.groups!.rows.every((r) => r.missed === null)).toBe(true);
  });
});

describe('peaks over the seeds of a sweep', () => {
  it('equal an exact computation: nearest-rank stats, the histogram, the worst run', () => {
    const runArb = fc.record({ peak: fc.nat(40), missed: fc.nat(5), exact: fc.boolean() });
    fc.assert(
      fc.property(fc.array(runArb, { minLength: 0, maxLength: 60 }), (rs) => {
        const perRun: ProbeRunFigures[] = rs.map((r, i) => ({
          runId: i + 1,
          runIndex: i,
          maxactive: 4,
          hits: 0,
          calls: 0,
          missed: r.missed,
          missedReentry: 0,
          peak: r.peak,
          exact: r.exact,
          completeFromReplay: false,
        }));
        const sw = sweepPeaks(perRun);
        if (rs.length < 2) {
          expect(sw).toBeNull();
          return;
        }
        const sorted = rs.map((r) => r.peak).sort((a, b) => a - b);
        expect([sw!.min, sw!.p50, sw!.p90, sw!.max]).toEqual([
          sorted[0],
          exactRank(sorted, 500),
          exactRank(sorted, 900),
          sorted[sorted.length - 1],
        ]);
        const hist = [...new Set(sorted)]
          .sort((a, b) => b - a)
          .map((peak) => ({ peak, runs: sorted.filter((x) => x === peak).length }));
        expect(sw!.histogram).toEqual(hist);
        // worst: highest peak, then most misses, then the first such run
        const best = Math.max(...rs.map((r) => r.peak));
        const most = Math.max(...rs.filter((r) => r.peak === best).map((r) => r.missed));
        expect(sw!.worst.runIndex).toBe(rs.findIndex((r) => r.peak === best && r.missed === most));
        expect(sw!.lowerBounds).toBe(rs.some((r) => !r.exact));
      }),
      { numRuns: 300 },
    );
  });
});
