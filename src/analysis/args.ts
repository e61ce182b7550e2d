// Fetch-argument summaries of one probe (`probes[].args` of the JSON report) and the `--by EVENT=ARG`
// grouping of its calls by one argument's value (`probes[].groups`, bpftrace's @[arg] habit).
//
// Guarantees:
// - Values are normalised once (`normalizeArgValue`): numeric types give JS numbers whatever way the
//   trace stored them (JSON number, "0x1f" hex text, decimal text), so they sort and compare as
//   numbers; string-like types ('string', 'ustring', 'symstr', 'symbol', '(fault)' and anything that
//   is not an exact safe integer) stay strings. The Linux display format comes back only in
//   `formatArgValue` (x types as 0x…, strings quoted).
// - Statistics are exact, with the same nearest-rank percentile definition as latencies
//   (latency.ts): min, max, p50, p99 over the numeric values; `count` counts every hit or call that
//   carried the argument; `distinct` counts distinct normalised values (numbers and strings).
// - `top` holds the TOP_VALUES most frequent values, ties broken by value order (numbers ascending,
//   then strings in code-unit order), each with the nearest-rank p50 latency of the calls that
//   carried it (null for probes without calls, or when none of them returned).
// - Groups: one row per distinct value (at most MAX_GROUPS, the most frequent; rows in value order)
//   with its calls, exact latency statistics, and its missed calls (calls of the analysed set that
//   the recording's pool did not hook), or null when the analysed set cannot say (the recording
//   missed calls and the complete call set carries no arguments).

import { nearestRank, statsOfSorted, sortedFinite, type LatencyStats } from './latency.js';

/** How many most frequent values each argument summary lists. */
export const TOP_VALUES = 5;
/** At most this many groups per `--by` probe (the most frequent values). */
export const MAX_GROUPS = 1000;

/** A normalised argument value. */
export type ArgValue = number | string;

/** `probes[].args[].top[]` of the JSON report. */
export interface ArgTopJson {
  value: ArgValue;
  count: number;
  /** nearest-rank p50 latency (cycles) of the calls that carried the value; null without calls */
  p50_latency: number | null;
}

/** `probes[].args[]` of the JSON report. */
export interface ArgSummaryJson {
  name: string;
  type: string;
  count: number;
  min: number | null;
  max: number | null;
  p50: number | null;
  p99: number | null;
  distinct: number;
  top: ArgTopJson[];
}

/** Latency statistics as the JSON report prints them (values null when count is 0). */
export interface LatencyJson {
  unit: 'cycles';
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** JSON form of exact latency statistics. */
export function latencyJson(s: LatencyStats | null): LatencyJson {
  return {
    unit: 'cycles',
    count: s?.count ?? 0,
    min: s?.min ?? null,
    mean: s?.mean ?? null,
    p50: s?.p50 ?? null,
    p90: s?.p90 ?? null,
    p99: s?.p99 ?? null,
    p999: s?.p999 ?? null,
    max: s?.max ?? null,
  };
}

/** One group of `probes[].groups.rows`. */
export interface ArgGroupJson {
  value: ArgValue;
  calls: number;
  /** analysed calls with this value that the recording missed; null when unknown */
  missed: number | null;
  latency: LatencyJson;
}

/** `probes[].groups` of the JSON report (only for probes named by `--by`). */
export interface ArgGroupsJson {
  arg: string;
  type: string;
  /** distinct values seen; rows list at most MAX_GROUPS of them */
  distinct: number;
  rows: ArgGroupJson[];
}

const STRING_TYPES = new Set(['string', 'ustring', 'symstr', 'symbol']);

/** Is this display type printed as text (never as a number)? */
export function isStringArgType(type: string): boolean {
  return STRING_TYPES.has(type);
}

/**
 * The value as reports compare it: a number for numeric types, a string otherwise; null when the
 * argument is absent. Text that is not an exact safe integer (a fault, a 64-bit value beyond 2^53)
 * stays text.
 */
export function normalizeArgValue(v: unknown, type: string): ArgValue | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v !== 'string') return JSON.stringify(v);
  if (isStringArgType(type)) return v;
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(v)) n = parseInt(v.slice(2), 16);
  else if (/^-?(0|[1-9][0-9]*)$/.test(v)) n = Number(v);
  else return v;
  return Number.isSafeInteger(n) ? n : v;
}

/** Display form, as Linux's trace output prints the type: 0x… for x types, quoted text for strings. */
export function formatArgValue(v: ArgValue, type: string): string {
  if (typeof v === 'string') return type === 'symbol' || v === '(fault)' ? v : JSON.stringify(v);
  if (/^x\d+$/.test(type) && Number.isInteger(v)) {
    const bits = Number(type.slice(1));
    const u = v < 0 && bits <= 32 ? v >>> 0 : v;
    return u < 0 ? `-0x${(-u).toString(16)}` : `0x${u.toString(16)}`;
  }
  return String(v);
}

/** Value order: numbers ascending, then strings in code-unit order. */
export function compareArgValues(a: ArgValue, b: ArgValue): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The values of one argument over the analysed hits or calls of one probe. */
class ArgColumn {
  readonly values: ArgValue[] = [];
  /** latency of the call (cycles), NaN for hits without calls or calls that never returned */
  readonly lat: number[] = [];
  /** 1 = the recording hooked the call (or a hit), 0 = missed by the pool */
  readonly hooked: number[] = [];
  constructor(
    readonly name: string,
    readonly type: string,
  ) {}
}

/** Exact nearest-rank p50 of the finite values, or null. */
function p50Of(values: number[]): number | null {
  const s = sortedFinite(values);
  return s.length === 0 ? null : nearestRank(s, 50);
}

/** Collects the arguments of one probe over runs, then summarises and groups them. */
export class ArgCollector {
  private readonly cols = new Map<string, ArgColumn>();
  /** false once a run could not tell which values its missed calls carried */
  missesKnown = true;

  constructor(decls: readonly { name: string; type: string }[] = []) {
    for (const d of decls) this.cols.set(d.name, new ArgColumn(d.name, d.type));
  }

  /** One hit or call; `latency` NaN when it has none, `hooked` false for calls the pool missed. */
  add(args: Record<string, unknown>, latency: number, hooked: boolean): void {
    for (const name of Object.keys(args)) {
      let col = this.cols.get(name);
      if (!col) {
        const raw = args[name];
        col = new ArgColumn(name, typeof raw === 'number' ? 'number' : 'string');
        this.cols.set(name, col);
      }
      const v = normalizeArgValue(args[name], col.type);
      if (v === null) continue;
      col.values.push(v);
      col.lat.push(latency);
      col.hooked.push(hooked ? 1 : 0);
    }
  }

  /** Argument names in spec order (then any others in order of appearance). */
  names(): string[] {
    return [...this.cols.keys()];
  }

  /** The declared (or inferred) display type of an argument. */
  typeOf(name: string): string | undefined {
    return this.cols.get(name)?.type;
  }

  /** Per-argument summaries, in spec order; arguments never seen have count 0. */
  summaries(): ArgSummaryJson[] {
    return [...this.cols.values()].map((c) => summarise(c));
  }

  /** Groups of the calls by one argument's value; null when the probe has no such argument. */
  groups(name: string): ArgGroupsJson | null {
    const c = this.cols.get(name);
    if (!c) return null;
    const counts = countValues(c.values);
    const keep = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || compareArgValues(a[0], b[0]))
      .slice(0, MAX_GROUPS)
      .map(([v]) => v)
      .sort(compareArgValues);
    const rowOf = new Map<ArgValue, { lat: number[]; missed: number; calls: number }>();
    for (const v of keep) rowOf.set(v, { lat: [], missed: 0, calls: 0 });
    for (let i = 0; i < c.values.length; i++) {
      const r = rowOf.get(c.values[i] as ArgValue);
      if (!r) continue;
      r.calls++;
      r.lat.push(c.lat[i] as number);
      if (c.hooked[i] === 0) r.missed++;
    }
    return {
      arg: c.name,
      type: c.type,
      distinct: counts.size,
      rows: keep.map((v) => {
        const r = rowOf.get(v)!;
        return {
          value: v,
          calls: r.calls,
          missed: this.missesKnown ? r.missed : null,
          latency: latencyJson(statsOfSorted(sortedFinite(r.lat))),
        };
      }),
    };
  }
}

function countValues(values: readonly ArgValue[]): Map<ArgValue, number> {
  const counts = new Map<ArgValue, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

function summarise(c: ArgColumn): ArgSummaryJson {
  let k = 0;
  const nums = new Float64Array(c.values.length);
  for (const v of c.values) if (typeof v === 'number') nums[k++] = v;
  const sorted = sortedFinite(nums.subarray(0, k));
  const counts = countValues(c.values);
  const top = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || compareArgValues(a[0], b[0]))
    .slice(0, TOP_VALUES);
  const lats = new Map<ArgValue, number[]>(top.map(([v]) => [v, []]));
  for (let i = 0; i < c.values.length; i++) lats.get(c.values[i] as ArgValue)?.push(c.lat[i] as number);
  const n = sorted.length;
  return {
    name: c.name,
    type: c.type,
    count: c.values.length,
    min: n > 0 ? (sorted[0] as number) : null,
    max: n > 0 ? (sorted[n - 1] as number) : null,
    p50: n > 0 ? nearestRank(sorted, 50) : null,
    p99: n > 0 ? nearestRank(sorted, 99) : null,
    distinct: counts.size,
    top: top.map(([value, count]) => ({ value, count, p50_latency: p50Of(lats.get(value)!) })),
  };
}
