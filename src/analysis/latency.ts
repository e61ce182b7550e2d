// Call latencies: exact summary statistics, log2 histograms, cycles→ns, and self time from nesting.
//
// Guarantees:
// - Statistics are exact (no sketches): values are sorted once (Float64Array, numeric sort) and
//   every percentile is read off the sorted array.
// - Percentile definition ("nearest rank"): for n values sorted ascending v[1..n] and p in (0,100],
//   Pp = v[ceil(p/100 * n)], computed in integer arithmetic (p is scaled to parts per million), so
//   p99.9 of 1000 values is v[999], never a rounding accident. P100 = max; any p gives a value
//   that occurs in the data. The mean uses compensated (Neumaier) summation.
// - Histogram buckets are powers of two: bucket 0 is [0, 1), bucket b >= 1 is [2^(b-1), 2^b);
//   the counts sum to the number of values; empty buckets between the first and last non-empty
//   one are kept so charts have a continuous axis.
// - Self time of a call = its duration minus the durations of the calls (of any probe) directly
//   nested in it on the same task. Nesting is read from seqs per task: a call that starts inside
//   another and ends after it ("crossing", impossible with per-task LIFO instances but tolerated)
//   is not treated as a child; it is counted in `crossing` and marked with parent -2.

import { denseTids, sortNumbers, type CallTable } from './model.js';

/** Exact latency summary; all values in the unit of the input (cycles unless converted). */
export interface LatencyStats {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** 1-based nearest rank of percentile p (0 < p <= 100) among n values: ceil(p/100 * n), in 1..n. */
export function nearestRankIndex(n: number, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  const ppm = Math.round(p * 10000); // p/100 in parts per million
  const rank = Math.floor((ppm * n + 999999) / 1000000);
  return Math.min(n, Math.max(1, rank));
}

/** Nearest-rank percentile of an ascending array (see the definition at the top of this file). */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of an empty set');
  return sorted[nearestRankIndex(n, p) - 1] as number;
}

/** Stats of an already sorted (ascending) array; null when empty. */
export function statsOfSorted(sorted: ArrayLike<number>): LatencyStats | null {
  const n = sorted.length;
  if (n === 0) return null;
  let sum = 0;
  let comp = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i] as number;
    const t = sum + v;
    if (Math.abs(sum) >= Math.abs(v)) comp += sum - t + v;
    else comp += v - t + sum;
    sum = t;
  }
  return {
    count: n,
    min: sorted[0] as number,
    mean: (sum + comp) / n,
    p50: nearestRank(sorted, 50),
    p90: nearestRank(sorted, 90),
    p99: nearestRank(sorted, 99),
    p999: nearestRank(sorted, 99.9),
    max: sorted[n - 1] as number,
  };
}

/** Sorted copy of the finite values. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let k = 0;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) out[k++] = v;
  }
  return sortNumbers(out.subarray(0, k));
}

/** Exact stats of the finite values (non-finite ones, e.g. calls that never returned, are ignored). */
export function latencyStats(values: ArrayLike<number>): LatencyStats | null {
  return statsOfSorted(sortedFinite(values));
}

/** ns = cycles * 1000 / mhz. */
export function cyclesToNs(cycles: number, mhz: number): number {
  return (cycles * 1000) / mhz;
}

/** The same stats converted from cycles to ns (count unchanged). */
export function statsToNs(s: LatencyStats, mhz: number): LatencyStats {
  const f = (v: number): number => cyclesToNs(v, mhz);
  return {
    count: s.count,
    min: f(s.min),
    mean: f(s.mean),
    p50: f(s.p50),
    p90: f(s.p90),
    p99: f(s.p99),
    p999: f(s.p999),
    max: f(s.max),
  };
}

/** One histogram bucket [lo, hi). */
export interface HistogramBucket {
  lo: number;
  hi: number;
  count: number;
}

/** Log2-scale histogram; `total` = sum of counts = number of finite values. */
export interface Log2Histogram {
  buckets: HistogramBucket[];
  total: number;
}

/** Bucket index of a non-negative value: 0 for [0,1), b for [2^(b-1), 2^b). */
export function log2Bucket(v: number): number {
  if (!(v >= 1)) return 0;
  const x = Math.floor(v);
  if (x < 2147483648) return 32 - Math.clz32(x);
  let b = Math.floor(Math.log2(x)) + 1;
  while (2 ** (b - 1) > x) b--;
  while (2 ** b <= x) b++;
  return b;
}

/** Lower and upper bound of bucket b. */
export function log2BucketRange(b: number): [number, number] {
  return b === 0 ? [0, 1] : [2 ** (b - 1), 2 ** b];
}

/** Log2 histogram of the finite values (contiguous from the first to the last non-empty bucket). */
export function log2Histogram(values: ArrayLike<number>): Log2Histogram {
  const counts = new Float64Array(1100);
  let lo = Infinity;
  let hi = -1;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    const b = log2Bucket(v);
    counts[b]!++;
    total++;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  const buckets: HistogramBucket[] = [];
  for (let b = lo; b <= hi; b++) {
    const [l, h] = log2BucketRange(b);
    buckets.push({ lo: l, hi: h, count: counts[b] as number });
  }
  return { buckets, total };
}

/** Durations (returnTs - entryTs) of the given calls (Infinity for calls that never returned). */
export function durationsOf(t: CallTable, indices?: ArrayLike<number>): Float64Array {
  const n = indices ? indices.length : t.length;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices ? (indices[k] as number) : k;
    out[k] = (t.returnTs[i] as number) - (t.entryTs[i] as number);
  }
  return out;
}

/** Per-call nesting on the same task. */
export interface Nesting {
  /** index of the innermost enclosing call on the same task; -1 none; -2 crossing (see above) */
  parent: Int32Array;
  /** self time: duration minus directly nested calls' durations (NaN if it never returned) */
  self: Float64Array;
  /** nesting depth over all probes (0 = outermost on its task; crossing calls count as 0) */
  level: Int32Array;
  /** calls that overlapped a same-task call without nesting in it */
  crossing: number;
}

/**
 * Nesting of all calls of a table, per task, from seqs. `entryOrder` = indices sorted by entrySeq
 * (from `callOrder`). O(n) after grouping by task.
 */
export function nesting(t: CallTable, entryOrder: Uint32Array): Nesting {
  const n = t.length;
  const parent = new Int32Array(n).fill(-1);
  const self = new Float64Array(n);
  const level = new Int32Array(n);
  // group entry order by task (stable counting sort on a dense task index)
  const { index: di, tids } = denseTids(t);
  const counts = new Int32Array(tids.length);
  for (let i = 0; i < n; i++) counts[di[i] as number]!++;
  const start = new Int32Array(counts.length + 1);
  for (let d = 0; d < counts.length; d++) start[d + 1] = (start[d] as number) + (counts[d] as number);
  const pos = start.slice(0, counts.length);
  const grouped = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const i = entryOrder[k] as number;
    grouped[pos[di[i] as number]!++] = i;
  }
  for (let i = 0; i < n; i++) self[i] = (t.returnTs[i] as number) - (t.entryTs[i] as number);
  const stack = new Int32Array(n);
  let crossing = 0;
  for (let d = 0; d < counts.length; d++) {
    let sp = 0;
    for (let k = start[d] as number; k < (start[d + 1] as number); k++) {
      const c = grouped[k] as number;
      const es = t.entrySeq[c] as number;
      while (sp > 0 && (t.returnSeq[stack[sp - 1] as number] as number) < es) sp--;
      if (sp > 0) {
        const top = stack[sp - 1] as number;
        const rc = t.returnSeq[c] as number;
        const rt = t.returnSeq[top] as number;
        if (rc < rt || (rc === Infinity && rt === Infinity)) {
          parent[c] = top;
          level[c] = sp;
          self[top] = (self[top] as number) - ((t.returnTs[c] as number) - (t.entryTs[c] as number));
          stack[sp++] = c;
        } else {
          parent[c] = -2;
          crossing++;
        }
      } else {
        stack[sp++] = c;
      }
    }
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(self[i] as number)) self[i] = NaN;
  return { parent, self, level, crossing };
}
