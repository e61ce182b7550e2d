// `probe-report --json`: the report model's JSON part, serialised with a stable key order.
//
// Guarantees:
// - Keys appear exactly in the order design.md lists them, whatever order the model objects were
//   built in, and only those keys (renderer extras never leak in); arrays keep the model's order.
// - Output is `JSON.stringify` with 2-space indentation plus a final newline, so two reports of
//   the same data are byte-identical. It validates against schemas/report.schema.json.

import type { ArgGroupsJson, ArgSummaryJson, LatencyJson } from '../analysis/args.js';
import type { ReportProcessJson, ReportProcessProbeJson } from '../analysis/processes.js';
import type { ReportJson, ReportProbeJson, ReportRunJson } from '../analysis/summary.js';

/**
 * A copy of `o` with exactly `keys`, in that order. An optional key whose value is undefined is
 * left out (as JSON.stringify would), so optional fields need no special case.
 */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Pick<T, K>;
}

const RUN_KEYS = [
  'run_id',
  'workload',
  'cpus',
  'preempt',
  'seed',
  'status',
  'instructions',
  'cycles',
  'source',
] as const satisfies readonly (keyof ReportRunJson)[];

const LATENCY_KEYS = [
  'unit',
  'count',
  'min',
  'mean',
  'p50',
  'p90',
  'p99',
  'p999',
  'max',
] as const satisfies readonly (keyof LatencyJson)[];

const latency = (l: LatencyJson): LatencyJson => pick(l, LATENCY_KEYS);

function arg(a: ArgSummaryJson): ArgSummaryJson {
  return {
    ...pick(a, ['name', 'type', 'count', 'min', 'max', 'p50', 'p99', 'distinct']),
    top: a.top.map((t) => pick(t, ['value', 'count', 'p50_latency'])),
  };
}

function groups(g: ArgGroupsJson): ArgGroupsJson {
  return {
    ...pick(g, ['arg', 'type', 'distinct']),
    rows: g.rows.map((r) => ({ ...pick(r, ['value', 'calls', 'missed']), latency: latency(r.latency) })),
  };
}

function probe(p: ReportProbeJson): ReportProbeJson {
  return {
    ...pick(p, [
      'event',
      'kind',
      'symbol',
      'offset',
      'addr',
      'maxactive',
      'hits',
      'calls',
      'missed',
      'missed_reentry',
    ]),
    latency: latency(p.latency),
    ...pick(p, ['peak_concurrency', 'max_depth', 'recommended_maxactive']),
    defaults: p.defaults ? pick(p.defaults, ['linux_2_6_13', 'linux_6_2', 'systemtap']) : null,
    miss_curve: p.miss_curve.map((m) => pick(m, ['maxactive', 'missed'])),
    args: p.args.map(arg),
    ...(p.groups ? { groups: groups(p.groups) } : {}),
  };
}

function processProbe(p: ReportProcessProbeJson): ReportProcessProbeJson {
  return {
    ...pick(p, ['event', 'kind', 'hits', 'calls', 'missed', 'missed_reentry']),
    latency: latency(p.latency),
    ...pick(p, ['peak_concurrency', 'max_depth', 'recommended_maxactive', 'held_at_peak']),
  };
}

function process(p: ReportProcessJson): ReportProcessJson {
  return {
    ...pick(p, ['run_id', 'source', 'pid', 'ppid', 'exe', 'execs', 'name', 'threads']),
    probes: p.probes.map(processProbe),
  };
}

/** The JSON document with keys in design order. */
export function orderedReportJson(json: ReportJson): ReportJson {
  return {
    schema: json.schema,
    runs: json.runs.map((r) => pick(r, RUN_KEYS)),
    probes: json.probes.map(probe),
    ...(json.syscalls
      ? {
          syscalls: json.syscalls.map((s) => ({
            ...pick(s, ['run_id', 'source']),
            rows: s.rows?.map((r) => pick(r, ['nr', 'name', 'calls', 'errors', 'enosys'])) ?? null,
          })),
        }
      : {}),
    ...(json.processes ? { processes: json.processes.map(process) } : {}),
  };
}

/** Serialised report (stable, 2-space indented, trailing newline). */
export function renderJson(json: ReportJson): string {
  return JSON.stringify(orderedReportJson(json), null, 2) + '\n';
}
