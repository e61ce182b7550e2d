// Property and unit tests of the database-independent analysis core (src/analysis).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyseConcurrency, inFlightSteps, schedLookup } from '../src/analysis/concurrency.js';
import {
  latencyStats,
  log2Bucket,
  log2Histogram,
  nearestRank,
  nesting,
  sortedFinite,
} from '../src/analysis/latency.js';
import {
  assignSlots,
  defaults,
  instanceMemory,
  missCurve,
  missCurveBruteForce,
  missesAt,
  recommendMaxactive,
  simulatePool,
  KRETPROBE_INSTANCE_SIZE_I386_2_6_13,
} from '../src/analysis/misscurve.js';
import {
  argsort,
  asCallTable,
  callOrder,
  eventsOf,
  sortNumbers,
  type CallRec,
} from '../src/analysis/model.js';
import { buildReport } from '../src/analysis/summary.js';
import { serverRun } from './support/report-synthetic.js';

// ---------------------------------------------------------------------------------------------
// random call sets: per task a well-nested sequence of calls (recursion and nesting of several
// probes), tasks interleaved at random; seq = global position, ts = non-decreasing.

interface Shape {
  tasks: number[][]; // per task: ops (0 = return if possible, 1..3 = enter probe op)
  interleave: number[];
  ties: boolean[]; // whether an event shares the previous event's ts
  openEnded: boolean; // leave calls open at the end (returnSeq = Infinity)
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  tasks: fc.array(fc.array(fc.nat(3), { maxLength: 24 }), { minLength: 1, maxLength: 7 }),
  interleave: fc.array(fc.nat(), { maxLength: 200 }),
  ties: fc.array(fc.boolean(), { maxLength: 200 }),
  openEnded: fc.boolean(),
});

function buildCalls(shape: Shape, onlyProbe?: number): CallRec[] {
  // per task event lists: 'e' enter (probe), 'r' return
  const perTask: { kind: 'e' | 'r'; probe: number }[][] = shape.tasks.map((ops) => {
    const out: { kind: 'e' | 'r'; probe: number }[] = [];
    let depth = 0;
    for (const op of ops) {
      if (op === 0 && depth > 0) {
        out.push({ kind: 'r', probe: 0 });
        depth--;
      } else if (op > 0 && depth < 5) {
        out.push({ kind: 'e', probe: onlyProbe ?? op });
        depth++;
      }
    }
    if (!shape.openEnded) while (depth-- > 0) out.push({ kind: 'r', probe: 0 });
    return out;
  });
  const pos = perTask.map(() => 0);
  const stacks: CallRec[][] = perTask.map(() => []);
  const calls: CallRec[] = [];
  let seq = 0;
  let ts = 0;
  let k = 0;
  const remaining = (): number[] =>
    perTask.map((l, i) => (pos[i]! < l.length ? i : -1)).filter((i) => i >= 0);
  for (let live = remaining(); live.length > 0; live = remaining()) {
    const pick = live[(shape.interleave[k] ?? k) % live.length] as number;
    if (!(shape.ties[k] ?? false)) ts += 1 + ((shape.interleave[k] ?? 0) % 5);
    k++;
    const ev = perTask[pick]![pos[pick]!++]!;
    const tid = 100 + pick;
    if (ev.kind === 'e') {
      const c: CallRec = {
        probeId: ev.probe,
        tid,
        entryTs: ts,
        returnTs: Infinity,
        entrySeq: seq++,
        returnSeq: Infinity,
        entryCpu: pick % 3,
        returnCpu: pick % 3,
        depth: stacks[pick]!.filter((x) => x.probeId === ev.probe).length,
        retval: null,
        args: null,
        hooked: true,
      };
      stacks[pick]!.push(c);
      calls.push(c);
    } else {
      const c = stacks[pick]!.pop()!;
      c.returnTs = ts;
      c.returnSeq = seq++;
    }
  }
  return calls;
}

function probeStream(
  calls: CallRec[],
  probe: number,
): { n: number; events: Int32Array; table: ReturnType<typeof asCallTable> } {
  const sub = calls.filter((c) => c.probeId === probe);
  const { table, events } = eventsOf(sub);
  return { n: table.length, events, table };
}

/** reference: simultaneous calls after each entry, by brute force over intervals */
function bruteForcePeak(calls: CallRec[]): number {
  let peak = 0;
  for (const c of calls) {
    const s = c.entrySeq;
    const inFlight = calls.filter((d) => d.entrySeq <= s && d.returnSeq > s).length;
    peak = Math.max(peak, inFlight);
  }
  return peak;
}

// ---------------------------------------------------------------------------------------------

describe('latency statistics', () => {
  const valuesArb = fc.array(fc.oneof(fc.nat(1_000_000), fc.double({ min: 0, max: 1e9, noNaN: true })), {
    minLength: 1,
    maxLength: 300,
  });

  it('percentiles are nearest-rank values of the exact sorted data', () => {
    fc.assert(
      fc.property(valuesArb, (vals) => {
        const s = latencyStats(vals)!;
        const sorted = [...vals].sort((a, b) => a - b);
        const n = sorted.length;
        expect(s.count).toBe(n);
        expect(s.min).toBe(sorted[0]);
        expect(s.max).toBe(sorted[n - 1]);
        const naiveMean = sorted.reduce((a, b) => a + b, 0) / n;
        expect(Math.abs(s.mean - naiveMean)).toBeLessThanOrEqual(1e-9 * Math.max(1, naiveMean));
        const pts: [number, number][] = [
          [500, s.p50],
          [900, s.p90],
          [990, s.p99],
          [999, s.p999],
        ];
        for (const [perMille, v] of pts) {
          // exact rank in BigInt: ceil(perMille * n / 1000)
          const rank = Number((BigInt(perMille) * BigInt(n) + 999n) / 1000n);
          expect(v).toBe(sorted[Math.max(1, rank) - 1]);
          // and the defining property of the nearest-rank percentile
          const le = sorted.filter((x) => x <= v).length;
          const lt = sorted.filter((x) => x < v).length;
          expect(le * 1000).toBeGreaterThanOrEqual(perMille * n);
          expect(lt * 1000).toBeLessThan(perMille * n);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('p99.9 of 1000 values is the 999th value (no float rounding accident)', () => {
    const vals = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(nearestRank(vals, 99.9)).toBe(999);
    expect(nearestRank(vals, 50)).toBe(500);
    expect(nearestRank([7], 99.9)).toBe(7);
    expect(latencyStats([])).toBeNull();
    expect(latencyStats([Infinity, 3])!.count).toBe(1);
  });

  it('radix sorting equals a comparison sort (large integer inputs, Infinity keys, fallbacks)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(70000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), {
          minLength: 4096,
          maxLength: 5000,
        }),
        (vals) => {
          const a = Float64Array.from(vals);
          const expected = [...vals].sort((x, y) => x - y);
          expect(Array.from(sortNumbers(a.slice()))).toEqual(expected);
          const withInf = Float64Array.from([...vals, Infinity, 5]);
          const idx = Array.from(argsort(withInf));
          const ref = Array.from(withInf.keys()).sort((x, y) => withInf[x]! - withInf[y]! || x - y);
          expect(idx).toEqual(ref);
        },
      ),
      { numRuns: 8 },
    );
    const mixed = Float64Array.from([3.5, -1, 2, 2, 0.25]);
    expect(Array.from(argsort(mixed))).toEqual([1, 4, 2, 3, 0]);
    expect(Array.from(sortedFinite([5, NaN, 1, Infinity]))).toEqual([1, 5]);
  });

  it('log2 histogram counts sum to the count and every value lies in its bucket', () => {
    fc.assert(
      fc.property(valuesArb, (vals) => {
        const h = log2Histogram(vals);
        expect(h.total).toBe(vals.length);
        expect(h.buckets.reduce((a, b) => a + b.count, 0)).toBe(vals.length);
        for (const v of vals) {
          const b = log2Bucket(v);
          const lo = b === 0 ? 0 : 2 ** (b - 1);
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThan(2 ** b);
        }
        for (let i = 1; i < h.buckets.length; i++) expect(h.buckets[i]!.lo).toBe(h.buckets[i - 1]!.hi);
      }),
      { numRuns: 200 },
    );
    expect(log2Bucket(2 ** 40)).toBe(41);
    expect(log2Bucket(2 ** 40 - 1)).toBe(40);
  });

  it('self time = duration minus directly nested calls (brute force over intervals)', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const calls = buildCalls({ ...shape, openEnded: false });
        const t = asCallTable(calls);
        const nest = nesting(t, callOrder(t).entryOrder);
        expect(nest.crossing).toBe(0);
        calls.forEach((c, i) => {
          const inside = calls.filter(
            (d) => d !== c && d.tid === c.tid && d.entrySeq > c.entrySeq && d.returnSeq < c.returnSeq,
          );
          // direct children: not inside any other call that is inside c
          const direct = inside.filter(
            (d) => !inside.some((e) => e !== d && e.entrySeq < d.entrySeq && e.returnSeq > d.returnSeq),
          );
          const expected = c.returnTs - c.entryTs - direct.reduce((a, d) => a + d.returnTs - d.entryTs, 0);
          expect(nest.self[i]).toBe(expected);
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe('miss curve', () => {
  it('equals the brute-force simulation of every pool size over random call sets', () => {
    fc.assert(
      fc.property(shapeArb, fc.nat(3), (shape, probePick) => {
        const calls = buildCalls(shape);
        const probe = 1 + (probePick % 3);
        const { n, events } = probeStream(calls, probe);
        const fast = missCurve(events, n);
        const peak = fast.length;
        const slow = missCurveBruteForce(events, n, peak + 2);
        for (let k = 1; k <= peak + 2; k++) expect(missesAt(fast, k)).toBe(slow[k - 1]?.missed ?? 0);
        if (n > 0) expect(fast[peak - 1]!.missed).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('the hooked set of a pool of k is exactly the calls with slot <= k', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const calls = buildCalls(shape, 1);
        const { n, events } = probeStream(calls, 1);
        const a = assignSlots(events, n);
        for (let k = 1; k <= a.peak; k++) {
          const { hooked } = simulatePool(events, n, k);
          for (let i = 0; i < n; i++) expect(hooked[i]).toBe(a.slots[i]! <= k ? 1 : 0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('misses never decrease when maxactive is lowered (SystemTap maxactive.exp, check 16)', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const calls = buildCalls(shape, 1);
        const { n, events } = probeStream(calls, 1);
        const curve = missCurveBruteForce(events, n, 8);
        for (let k = 1; k < curve.length; k++)
          expect(curve[k - 1]!.missed).toBeGreaterThanOrEqual(curve[k]!.missed);
      }),
      { numRuns: 200 },
    );
  });

  it('m mutually overlapping calls: a pool of k misses exactly max(0, m - k) (check 16)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 80 }), (m, perm) => {
        // all entries (in tid order) before any return (in a random order)
        const calls: CallRec[] = [];
        for (let i = 0; i < m; i++) {
          calls.push({
            probeId: 1,
            tid: i + 1,
            entryTs: i,
            returnTs: 0,
            entrySeq: i,
            returnSeq: 0,
            entryCpu: 0,
            returnCpu: 0,
            depth: 0,
            retval: null,
            args: null,
            hooked: true,
          });
        }
        const order = calls.map((_, i) => i).sort((a, b) => (perm[a] ?? a) - (perm[b] ?? b) || a - b);
        order.forEach((ci, j) => {
          calls[ci]!.returnSeq = m + j;
          calls[ci]!.returnTs = m + j;
        });
        const { table, events } = eventsOf(calls);
        const curve = missCurve(events, table.length);
        expect(curve.length).toBe(m);
        for (let k = 1; k <= m + 1; k++) {
          expect(missesAt(curve, k)).toBe(Math.max(0, m - k));
          expect(simulatePool(events, table.length, k).missed).toBe(Math.max(0, m - k));
        }
        // with k = 1 the misses are exactly the entries that overlapped the first call
        expect(missesAt(curve, 1)).toBe(m - 1);
      }),
      { numRuns: 150 },
    );
  });

  it('kprobes.md check 7: maxactive 2 on a function recursing to depth 3 misses 1 call', () => {
    const mk = (e: number, r: number): CallRec => ({
      probeId: 1,
      tid: 1,
      entryTs: e,
      returnTs: r,
      entrySeq: e,
      returnSeq: r,
      entryCpu: 0,
      returnCpu: 0,
      depth: 0,
      retval: null,
      args: null,
      hooked: true,
    });
    const { table, events } = eventsOf([mk(0, 5), mk(1, 4), mk(2, 3)]);
    expect(missesAt(missCurve(events, table.length), 2)).toBe(1);
    expect(simulatePool(events, table.length, 2).missed).toBe(1);
  });

  it('recommendation = peak concurrency (step function and brute force), over one or several runs', () => {
    fc.assert(
      fc.property(fc.array(shapeArb, { minLength: 1, maxLength: 3 }), (shapes) => {
        const curves = [];
        let maxPeak = 0;
        for (const shape of shapes) {
          const calls = buildCalls(shape, 1);
          const { n, events, table } = probeStream(calls, 1);
          const curve = missCurve(events, n);
          curves.push(curve);
          const conc = analyseConcurrency(table, events);
          const steps = inFlightSteps(table, events);
          const stepPeak = steps.inFlight.reduce((a, b) => Math.max(a, b), 0);
          expect(conc.peak).toBe(stepPeak);
          expect(conc.peak).toBe(bruteForcePeak(calls));
          expect(recommendMaxactive([curve])).toBe(Math.max(1, conc.peak));
          maxPeak = Math.max(maxPeak, conc.peak);
        }
        expect(recommendMaxactive(curves)).toBe(Math.max(1, maxPeak));
      }),
      { numRuns: 200 },
    );
  });

  it('defaults and instance memory', () => {
    expect(defaults(4, true)).toEqual({ linux_2_6_13: 10, linux_6_2: 10, systemtap: 24 });
    expect(defaults(8, true)).toEqual({ linux_2_6_13: 16, linux_6_2: 16, systemtap: 48 });
    expect(defaults(4, false)).toEqual({ linux_2_6_13: 4, linux_6_2: 10, systemtap: 24 });
    expect(defaults(1, false)).toEqual({ linux_2_6_13: 1, linux_6_2: 10, systemtap: 15 });
    expect(KRETPROBE_INSTANCE_SIZE_I386_2_6_13).toBe(28);
    expect(instanceMemory(12)).toMatchObject({
      totalBytes: 336,
      slabBytesPerInstance: 32,
      slabTotalBytes: 384,
    });
    expect(instanceMemory(2, 8)).toMatchObject({
      bytesPerInstance: 36,
      totalBytes: 72,
      slabBytesPerInstance: 64,
    });
  });
});

describe('concurrency explanation', () => {
  it('counts tasks, recursion, and sleeping vs preempted holders from the scheduler timeline', () => {
    const mk = (tid: number, e: number, r: number, cpu: number): CallRec => ({
      probeId: 1,
      tid,
      entryTs: e,
      returnTs: r,
      entrySeq: e,
      returnSeq: r,
      entryCpu: cpu,
      returnCpu: cpu,
      depth: 0,
      retval: null,
      args: null,
      hooked: true,
    });
    // tid 1 enters twice (recursion) on cpu 0; tid 2 enters on cpu 1 and sleeps; tid 3 is preempted
    const calls = [
      mk(1, 10, 100, 0),
      mk(1, 11, 90, 0),
      mk(2, 20, 110, 1),
      mk(3, 30, 120, 1),
      mk(4, 40, 130, 1),
    ];
    const { table, events } = eventsOf(calls);
    const sched = schedLookup([
      { ts: 0, cpu: 0, prevTid: 0, nextTid: 1, seq: 0 },
      { ts: 5, cpu: 1, prevTid: 0, nextTid: 2, seq: 5 },
      { ts: 25, cpu: 1, prevTid: 2, nextTid: 3, seq: 25, reason: 'sleep' },
      { ts: 35, cpu: 1, prevTid: 3, nextTid: 4, seq: 35, reason: 'preempt' },
    ]);
    const c = analyseConcurrency(table, events, sched);
    expect(c.peak).toBe(5);
    expect(c.peakSeq).toBe(40);
    expect(c.maxDepth).toBe(1);
    const w = c.why!;
    expect(w.tasks).toBe(4);
    expect(w.maxPerTask).toBe(2);
    expect(w.running).toBe(2);
    expect(w.notRunning).toBe(2);
    expect(w.sleeping).toBe(1);
    expect(w.preempted).toBe(1);
    expect(w.cpusInFunction).toEqual([0, 1]);
    expect(w.enteringTid).toBe(4);
    // without a timeline nothing about running/sleeping is guessed
    const bare = analyseConcurrency(table, events).why!;
    expect(bare.running).toBeNull();
    expect(bare.sleeping).toBeNull();
    expect(bare.cpusInFunction).toBeNull();
    expect(bare.entryCpus).toEqual([0, 1]);
  });
});

describe('report model', () => {
  it('single run: recommendation, exact curve, cross-check against the recorded pool', () => {
    const rd = serverRun({ maxactive: 10, tasks: 16, cpus: 4 });
    const m = buildReport({ runs: [rd] });
    const p = m.json.probes.find((q) => q.event === 'probes/handle_request')!;
    const x = m.extras.probes[m.json.probes.indexOf(p)]!;
    expect(p.kind).toBe('kretprobe');
    expect(p.missed).toBeGreaterThan(0);
    expect(p.recommended_maxactive).toBe(p.peak_concurrency);
    expect(p.miss_curve.length).toBe(p.peak_concurrency);
    expect(p.miss_curve[p.miss_curve.length - 1]!.missed).toBe(0);
    // the simulation at the recorded pool size reproduces the recording exactly
    expect(missesAt(p.miss_curve, 10)).toBe(p.missed);
    expect(x.crossCheck).toEqual({ predicted: p.missed, recorded: p.missed, mismatchedCalls: 0 });
    expect(x.complete_from_replay).toBe(true);
    expect(p.calls + p.missed).toBe(p.hits);
    expect(p.latency.count).toBe(p.hits);
    expect(x.defaultMisses!.linux_2_6_13).toBe(p.missed);
    expect(x.peak!.why.running! + x.peak!.why.notRunning!).toBe(x.peak!.why.tasks);
    expect(p.max_depth).toBe(1);
    const k = m.json.probes.find((q) => q.kind === 'kprobe')!;
    expect(k.peak_concurrency).toBeNull();
    expect(k.latency.count).toBe(0);
  });

  it('several runs: counters add up, curves add up, recommendation = largest peak', () => {
    const a = serverRun({ runId: 1, seed: 1, tasks: 12 });
    const b = serverRun({ runId: 2, seed: 2, tasks: 20, cpus: 2 });
    const ma = buildReport({ runs: [a] });
    const mb = buildReport({ runs: [b] });
    const m = buildReport({ runs: [a, b] });
    const get = (r: typeof m) => r.json.probes.find((q) => q.event === 'probes/handle_request')!;
    const [pa, pb, p] = [get(ma), get(mb), get(m)];
    expect(p.hits).toBe(pa.hits + pb.hits);
    expect(p.missed).toBe(pa.missed + pb.missed);
    expect(p.peak_concurrency).toBe(Math.max(pa.peak_concurrency!, pb.peak_concurrency!));
    expect(p.recommended_maxactive).toBe(p.peak_concurrency);
    for (let k = 1; k <= p.miss_curve.length; k++) {
      expect(missesAt(p.miss_curve, k)).toBe(missesAt(pa.miss_curve, k) + missesAt(pb.miss_curve, k));
    }
    expect(p.latency.count).toBe(pa.latency.count + pb.latency.count);
    expect(m.json.runs.map((r) => r.run_id)).toEqual([1, 2]);
    expect(p.defaults).toEqual(defaults(4, true));
  });

  it('a recording with misses and no complete call set gives no exact figures', () => {
    const rd = serverRun({ complete: false });
    const m = buildReport({ runs: [rd] });
    const i = m.json.probes.findIndex((q) => q.event === 'probes/handle_request');
    const p = m.json.probes[i]!;
    const x = m.extras.probes[i]!;
    expect(p.recommended_maxactive).toBeNull();
    expect(p.peak_concurrency).toBeNull();
    expect(p.miss_curve).toEqual([]);
    expect(x.exact).toBe(false);
    expect(x.peakLowerBound).toBe(10);
    expect(x.note).toMatch(/no complete call set/);
    // probes without misses stay exact even without a replay
    const q = m.json.probes.find((r) => r.event === 'probes/parse_request')!;
    expect(q.recommended_maxactive).toBe(q.peak_concurrency);
  });

  it('calls that never returned keep holding an instance', () => {
    const calls: CallRec[] = [
      {
        probeId: 1,
        tid: 1,
        entryTs: 0,
        returnTs: Infinity,
        entrySeq: 0,
        returnSeq: Infinity,
        entryCpu: 0,
        returnCpu: 0,
        depth: 0,
        retval: null,
        args: null,
        hooked: true,
      },
      {
        probeId: 1,
        tid: 2,
        entryTs: 5,
        returnTs: 8,
        entrySeq: 1,
        returnSeq: 2,
        entryCpu: 1,
        returnCpu: 1,
        depth: 0,
        retval: null,
        args: null,
        hooked: true,
      },
      {
        probeId: 1,
        tid: 3,
        entryTs: 9,
        returnTs: 12,
        entrySeq: 3,
        returnSeq: 4,
        entryCpu: 1,
        returnCpu: 1,
        depth: 0,
        retval: null,
        args: null,
        hooked: true,
      },
    ];
    const { table, events } = eventsOf(calls);
    expect(missCurve(events, table.length)).toEqual([
      { maxactive: 1, missed: 2 },
      { maxactive: 2, missed: 0 },
    ]);
    expect(latencyStats([8 - 5, 12 - 9, Infinity])!.count).toBe(2);
  });

  it('rejects a call that returns before it enters', () => {
    const bad: CallRec = {
      probeId: 1,
      tid: 1,
      entryTs: 5,
      returnTs: 4,
      entrySeq: 5,
      returnSeq: 4,
      entryCpu: 0,
      returnCpu: 0,
      depth: 0,
      retval: null,
      args: null,
      hooked: true,
    };
    expect(() => eventsOf([bad])).toThrow(/returnSeq 4 must be > entrySeq 5/);
  });
});
