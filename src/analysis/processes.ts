// Per-process figures of one run: the run's calls, misses and hits grouped by the process (thread
// group) of the task that made them, for runs with several processes (a shell and its children, a
// forking server). The report's per-probe figures stay the overall ones; these are the breakdown.
//
// Guarantees:
// - A run is split only when its tasks name at least two processes. Traces recorded before format 4
//   (no real pid) and runs of one process give null, so their reports are unchanged.
// - Per process and probe: `hits` (kprobe hits: for a kretprobe its hooked calls plus the entries
//   that found no instance, for other probes the counted hit events), `calls` (hooked calls),
//   `missed`/`missed_reentry` (the run's `missed` rows), latency over the analysed calls (the
//   complete set when the report uses one, as for the overall figures), the peak number of the
//   probe's calls in flight in that process alone, the deepest recursion, `recommended_maxactive` =
//   the pool that process alone would need, and `held_at_peak` = its calls in flight when the
//   run's overall peak was first reached (the pool is shared by every process, so the overall
//   recommendation is the one to set). Peak, depth, recommendation and held_at_peak are null where
//   the overall figures are (the recording missed calls and no complete call set exists).
// - A process is named by its leader task's row (pid, ppid, exe and name when it started); `execs`
//   counts its successful execve/execveat calls, since the file an exec ran is not in the trace.
// - One pass over each probe's event stream; the process of a call is the process of its task
//   (tids are never reused within a run). A tid with no task row counts as a process of its own.

import { latencyJson, type LatencyJson } from './args.js';
import { sortedFinite, statsOfSorted } from './latency.js';
import { denseTids, type CallTable, type ProbeKind, type RunData } from './model.js';

/** One probe's figures in one process (`processes[].probes[]` of the JSON report). */
export interface ReportProcessProbeJson {
  event: string;
  kind: ProbeKind;
  hits: number;
  calls: number;
  missed: number;
  missed_reentry: number;
  latency: LatencyJson;
  peak_concurrency: number | null;
  max_depth: number | null;
  recommended_maxactive: number | null;
  held_at_peak: number | null;
}

/** One process of one run (`processes[]` of the JSON report). */
export interface ReportProcessJson {
  run_id: number;
  /** the trace file, when several files are reported */
  source?: string;
  pid: number;
  /** parent process id (0 for the first process) */
  ppid: number;
  /** the executable when the process started */
  exe: string;
  /** successful execve/execveat calls of its tasks: it ran another file (not in the trace) after `exe` */
  execs: number;
  /** the name (comm) of its first task when that task started */
  name: string;
  threads: number;
  /** the probes with any hit or miss in this process, in the run's probe order */
  probes: ReportProcessProbeJson[];
}

/** Whether a run's tasks belong to at least two known processes. */
export function severalProcesses(rd: Pick<RunData, 'tasks'>): boolean {
  const pids = new Set<number>();
  for (const t of rd.tasks ?? []) {
    if (t.pid === undefined) return false;
    pids.add(t.pid);
  }
  return pids.size > 1;
}

interface Proc {
  json: Omit<ReportProcessJson, 'probes'>;
  tids: Set<number>;
}

/** The run's processes in pid order and a tid → process index lookup. */
function processesOf(rd: RunData): { procs: Proc[]; indexOf: (tid: number) => number } {
  const byPid = new Map<number, Proc>();
  const byTid = new Map<number, number>();
  const base = { run_id: rd.run.runId, ...(rd.run.source !== undefined ? { source: rd.run.source } : {}) };
  for (const t of rd.tasks ?? []) {
    const pid = t.pid ?? t.tid;
    let p = byPid.get(pid);
    if (!p) {
      p = { json: { ...base, pid, ppid: 0, exe: '', execs: 0, name: '', threads: 0 }, tids: new Set() };
      byPid.set(pid, p);
    }
    // the leader's row names the process; the first task stands in when the leader has none
    if (t.tid === pid || p.tids.size === 0)
      p.json = { ...p.json, ppid: t.ppid ?? 0, exe: t.exe ?? '', name: t.name ?? '' };
    p.tids.add(t.tid);
    p.json.threads = p.tids.size;
    p.json.execs += t.execs ?? 0;
  }
  const procs = [...byPid.values()].sort((a, b) => a.json.pid - b.json.pid);
  procs.forEach((p, i) => {
    for (const tid of p.tids) byTid.set(tid, i);
  });
  const indexOf = (tid: number): number => {
    let i = byTid.get(tid);
    if (i === undefined) {
      i = procs.length;
      procs.push({
        json: { ...base, pid: tid, ppid: 0, exe: '', execs: 0, name: '', threads: 1 },
        tids: new Set([tid]),
      });
      byTid.set(tid, i);
    }
    return i;
  };
  return { procs, indexOf };
}

/** Per-process counters of one probe. */
class ProbeCounts {
  readonly hits: Float64Array;
  readonly calls: Float64Array;
  readonly missed: Float64Array;
  readonly reentry: Float64Array;
  readonly peak: Int32Array;
  readonly maxDepth: Int32Array;
  heldAtPeak: Int32Array;
  readonly durations: number[][];
  constructor(n: number) {
    this.hits = new Float64Array(n);
    this.calls = new Float64Array(n);
    this.missed = new Float64Array(n);
    this.reentry = new Float64Array(n);
    this.peak = new Int32Array(n);
    this.maxDepth = new Int32Array(n);
    this.heldAtPeak = new Int32Array(n);
    this.durations = Array.from({ length: n }, () => []);
  }
}

/**
 * Walks one kretprobe's event stream (model.ts probeEvents: v >= 0 entry of call v, v < 0 return of
 * call ~v) and fills the per-process calls, latencies, peaks, depths and holdings at the run's peak.
 */
function walkCalls(t: CallTable, events: Int32Array, procOfTid: Int32Array, c: ProbeCounts): void {
  const { index } = denseTids(t);
  const n = c.peak.length;
  const cur = new Int32Array(n);
  const held = new Int32Array(procOfTid.length); // instances per task (recursion depth)
  let all = 0;
  let allPeak = 0;
  for (let e = 0; e < events.length; e++) {
    const v = events[e] as number;
    const call = v >= 0 ? v : ~v;
    const d = index[call] as number;
    const p = procOfTid[d] as number;
    if (v >= 0) {
      if (t.hooked[v] === 1) c.calls[p]!++;
      c.durations[p]!.push((t.returnTs[v] as number) - (t.entryTs[v] as number));
      const h = held[d] as number;
      if (h > (c.maxDepth[p] as number)) c.maxDepth[p] = h;
      held[d] = h + 1;
      const k = ++cur[p]!;
      if (k > (c.peak[p] as number)) c.peak[p] = k;
      if (++all > allPeak) {
        allPeak = all;
        c.heldAtPeak = cur.slice();
      }
    } else {
      held[d]!--;
      cur[p]!--;
      all--;
    }
  }
}

/**
 * The per-process breakdown of one run, or null when the run has fewer than two processes.
 * `table` and `events` are the analysed call set and its per-probe event streams, as the overall
 * figures use them; `inexact` holds the probes whose peak the overall figures leave unknown.
 */
export function processFigures(
  rd: RunData,
  table: CallTable,
  events: ReadonlyMap<number, Int32Array>,
  inexact: ReadonlySet<number>,
): ReportProcessJson[] | null {
  if (!severalProcesses(rd)) return null;
  const { procs, indexOf } = processesOf(rd);
  const { tids } = denseTids(table);
  const procOfTid = Int32Array.from(tids, (tid) => indexOf(tid));
  // Misses and hits may name tids no call names: every tid is placed before the counters are sized.
  const misses = rd.misses.map((m) => ({ m, p: indexOf(m.tid) }));
  const hits = (rd.taskHits ?? []).map((h) => ({ h, p: indexOf(h.tid) }));
  const counts = new Map<number, ProbeCounts>();
  const countsOf = (probeId: number): ProbeCounts => {
    let c = counts.get(probeId);
    if (!c) {
      c = new ProbeCounts(procs.length);
      counts.set(probeId, c);
    }
    return c;
  };
  const kinds = new Map(rd.probes.map((p) => [p.probeId, p.kind]));
  for (const probe of rd.probes) {
    const ev = events.get(probe.probeId);
    if (probe.kind === 'kretprobe' && ev) walkCalls(table, ev, procOfTid, countsOf(probe.probeId));
  }
  for (const { m, p } of misses) {
    const c = countsOf(m.probeId);
    if (m.reason === 'reentry') c.reentry[p]!++;
    else {
      c.missed[p]!++;
      // an entry without an instance is still a hit of the entry kprobe
      if (kinds.get(m.probeId) === 'kretprobe') c.hits[p]!++;
    }
  }
  for (const { h, p } of hits) countsOf(h.probeId).hits[p]! += h.hits;

  return procs.map((proc, i) => {
    const probes: ReportProcessProbeJson[] = [];
    for (const probe of rd.probes) {
      const c = countsOf(probe.probeId);
      const isRet = probe.kind === 'kretprobe';
      const hitsHere = (c.hits[i] ?? 0) + (isRet ? (c.calls[i] ?? 0) : 0);
      const missed = c.missed[i] ?? 0;
      const reentry = c.reentry[i] ?? 0;
      const analysed = c.durations[i]?.length ?? 0;
      if (hitsHere + missed + reentry + analysed === 0) continue;
      const exact = isRet && !inexact.has(probe.probeId);
      const peak = c.peak[i] ?? 0;
      probes.push({
        event: probe.event,
        kind: probe.kind,
        hits: hitsHere,
        calls: isRet ? (c.calls[i] ?? 0) : 0,
        missed,
        missed_reentry: reentry,
        latency: latencyJson(isRet ? statsOfSorted(sortedFinite(c.durations[i] ?? [])) : null),
        peak_concurrency: exact ? peak : null,
        max_depth: exact ? (c.maxDepth[i] ?? 0) : null,
        recommended_maxactive: exact ? Math.max(1, peak) : null,
        held_at_peak: exact ? (c.heldAtPeak[i] ?? 0) : null,
      });
    }
    return { ...proc.json, probes };
  });
}
