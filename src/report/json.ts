// `probe-report --json`: the report model's JSON part, serialised with a stable key order.
//
// Guarantees:
// - Keys appear exactly in the order design.md lists them, whatever order the model objects were
//   built in, and only those keys (renderer extras never leak in); arrays keep the model's order.
// - Output is `JSON.stringify` with 2-space indentation plus a final newline, so two reports of
//   the same data are byte-identical. It validates against schemas/report.schema.json.

import type { ArgGroupsJson, ArgSummaryJson, LatencyJson } from '../analysis/args.js';
import type { ReportJson, ReportProbeJson, ReportRunJson } from '../analysis/summary.js';

function run(r: ReportRunJson): ReportRunJson {
  return {
    run_id: r.run_id,
    workload: r.workload,
    cpus: r.cpus,
    preempt: r.preempt,
    seed: r.seed,
    status: r.status,
    instructions: r.instructions,
    cycles: r.cycles,
    ...(r.source !== undefined ? { source: r.source } : {}),
  };
}

function latency(l: LatencyJson): LatencyJson {
  return {
    unit: l.unit,
    count: l.count,
    min: l.min,
    mean: l.mean,
    p50: l.p50,
    p90: l.p90,
    p99: l.p99,
    p999: l.p999,
    max: l.max,
  };
}

function arg(a: ArgSummaryJson): ArgSummaryJson {
  return {
    name: a.name,
    type: a.type,
    count: a.count,
    min: a.min,
    max: a.max,
    p50: a.p50,
    p99: a.p99,
    distinct: a.distinct,
    top: a.top.map((t) => ({ value: t.value, count: t.count, p50_latency: t.p50_latency })),
  };
}

function groups(g: ArgGroupsJson): ArgGroupsJson {
  return {
    arg: g.arg,
    type: g.type,
    distinct: g.distinct,
    rows: g.rows.map((r) => ({
      value: r.value,
      calls: r.calls,
      missed: r.missed,
      latency: latency(r.latency),
    })),
  };
}

function probe(p: ReportProbeJson): ReportProbeJson {
  return {
    event: p.event,
    kind: p.kind,
    symbol: p.symbol,
    offset: p.offset,
    addr: p.addr,
    maxactive: p.maxactive,
    hits: p.hits,
    calls: p.calls,
    missed: p.missed,
    missed_reentry: p.missed_reentry,
    latency: latency(p.latency),
    peak_concurrency: p.peak_concurrency,
    max_depth: p.max_depth,
    recommended_maxactive: p.recommended_maxactive,
    defaults: p.defaults
      ? {
          linux_2_6_13: p.defaults.linux_2_6_13,
          linux_6_2: p.defaults.linux_6_2,
          systemtap: p.defaults.systemtap,
        }
      : null,
    miss_curve: p.miss_curve.map((m) => ({ maxactive: m.maxactive, missed: m.missed })),
    args: p.args.map(arg),
    ...(p.groups ? { groups: groups(p.groups) } : {}),
  };
}

/** The JSON document with keys in design order. */
export function orderedReportJson(json: ReportJson): ReportJson {
  return {
    schema: json.schema,
    runs: json.runs.map(run),
    probes: json.probes.map(probe),
    ...(json.syscalls
      ? {
          syscalls: json.syscalls.map((s) => ({
            run_id: s.run_id,
            ...(s.source !== undefined ? { source: s.source } : {}),
            rows:
              s.rows?.map((r) => ({
                nr: r.nr,
                name: r.name,
                calls: r.calls,
                errors: r.errors,
                enosys: r.enosys,
              })) ?? null,
          })),
        }
      : {}),
  };
}

/** Serialised report (stable, 2-space indented, trailing newline). */
export function renderJson(json: ReportJson): string {
  return JSON.stringify(orderedReportJson(json), null, 2) + '\n';
}
