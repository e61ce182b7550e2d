// The report model: one pass over the analysis input producing (a) exactly the `probe-report
// --json` shape of design.md and (b) a separate `extras` object with everything the text and HTML
// renderers need beyond it (ns conversions, peak explanations, histograms, binned timelines,
// cross-checks). Extras never leak into the JSON.
//
// Guarantees and conventions:
// - Several runs are aggregated; probes are matched by event name ('GRP/EVENT') and listed in
//   order of first appearance. Counters (hits, calls, missed, missed_reentry) are sums; latency is
//   over the union of the runs' calls; peak_concurrency and max_depth are maxima over runs (calls
//   of different runs never overlap); miss_curve[k] is the sum over runs of each run's exact
//   misses with k instances, for k = 1..max peak; recommended_maxactive is the smallest k with zero
//   misses in every run (= the largest per-run peak).
// - `calls` counts the calls the recording hooked. Latency, concurrency and miss curves use the
//   analysed call set of each run: the complete set (`RunData.complete`, from a replay with
//   unbounded pools) when given, else the hooked calls. For a kretprobe whose recording missed
//   calls (nmissed > 0) and for which no complete set exists, the hooked set is only a lower
//   bound: peak_concurrency, max_depth and recommended_maxactive are then null and miss_curve is
//   empty (extras carry the lower bounds and say so). latency.count may therefore exceed `calls`.
// - `max_depth` uses the `calls.depth` convention: instances of the probe the task already held at
//   an entry, 0 = never recursed.
// - `defaults` are those of the largest machine analysed (most CPUs; preemption if any run had it);
//   extras.defaultMisses applies each run's own defaults to that run.
// - Runs with several processes also get a per-process breakdown (`processes`, see processes.ts);
//   the per-probe figures above stay the overall ones.
// - Non-kretprobes (kprobe, jprobe) have no calls: maxactive, peak_concurrency, max_depth,
//   recommended_maxactive and defaults are null, miss_curve is empty, latency.count is 0 with null
//   values; `missed` is their nmissed as recorded.

import {
  ArgCollector,
  latencyJson,
  type ArgGroupsJson,
  type ArgSummaryJson,
  type LatencyJson,
} from './args.js';
import { analyseConcurrency, binInFlight, cpuCoverage, schedLookup, type PeakWhy } from './concurrency.js';
import {
  durationsOf,
  log2Histogram,
  nearestRank,
  nesting,
  sortedFinite,
  statsOfSorted,
  statsToNs,
  type LatencyStats,
} from './latency.js';
import type { Log2Histogram } from './latency.js';
import {
  assignSlots,
  defaults,
  hookedMismatches,
  instanceMemory,
  missCurveFromSlots,
  missesAt,
  recommendMaxactive,
  sumCurves,
  type InstanceMemory,
  type MaxactiveDefaults,
  type MissCurvePoint,
} from './misscurve.js';
import { processFigures, type ReportProcessJson } from './processes.js';
import {
  asCallTable,
  callOrder,
  probeEvents,
  sortNumbers,
  type AnalysisInput,
  type CallTable,
  type MissRec,
  type ProbeInfo,
  type ProbeKind,
  type RunData,
  type RunStatus,
  type RunSyscalls,
} from './model.js';

/** `runs[]` of the JSON report. */
export interface ReportRunJson {
  run_id: number;
  workload: string;
  cpus: number;
  preempt: boolean;
  seed: number;
  status: RunStatus;
  instructions: number;
  cycles: number;
  /** the trace file, when several files are reported (runs of different files may share ids) */
  source?: string;
}

/** `probes[].latency` of the JSON report (cycles; values null when count is 0). */
export type ReportLatencyJson = LatencyJson;

/** `probes[]` of the JSON report. */
export interface ReportProbeJson {
  event: string;
  kind: ProbeKind;
  symbol: string;
  /** bytes from `symbol` to the probed address (0 at the symbol) */
  offset: number;
  /** the probed address */
  addr: number | null;
  maxactive: number | null;
  hits: number;
  calls: number;
  missed: number;
  missed_reentry: number;
  latency: ReportLatencyJson;
  peak_concurrency: number | null;
  max_depth: number | null;
  recommended_maxactive: number | null;
  defaults: MaxactiveDefaults | null;
  miss_curve: MissCurvePoint[];
  /** one summary per fetch argument, in spec order (empty when the probe fetches none) */
  args: ArgSummaryJson[];
  /** the calls grouped by one argument's value (only for probes named by `--by`) */
  groups?: ArgGroupsJson;
}

/** The `probe-report --json` document (design.md). */
export interface ReportJson {
  schema: 'probelab-report/1';
  runs: ReportRunJson[];
  probes: ReportProbeJson[];
  /** `--syscalls`: each run's system-call table. */
  syscalls?: ReportSyscallsJson[];
  /** Per process, for runs with several processes (absent when no analysed run has several). */
  processes?: ReportProcessJson[];
}

/** One run's system-call table in the JSON report. */
export interface ReportSyscallsJson {
  run_id: number;
  source?: string;
  rows: { nr: number; name: string; calls: number; errors: number; enosys: number }[] | null;
}

/** Where and why the peak happened (the run with the largest peak). */
export interface PeakDetail {
  runId: number;
  /** index of the run in the analysis input (runs of several files may share ids) */
  runIndex: number;
  ts: number;
  seq: number;
  why: PeakWhy;
  /** processes holding instances at the peak (runs of several processes only) */
  processes?: number;
}

/** Binned in-flight timeline of one probe in one run (chart data). */
export interface ProbeTimeline {
  runId: number;
  /** index of the run in the analysis input (runs of several files may share ids) */
  runIndex: number;
  t0: number;
  t1: number;
  /** max calls in flight per bin (analysed set) */
  maxAll: number[];
  /** max instances held per bin (calls the recording hooked) */
  maxHooked: number[];
  /** recorded misses per bin */
  missNoInstance: number[];
  missReentry: number[];
  /** the pool size the recording used in that run */
  maxactive: number;
}

/** Per-run figures of one probe. */
export interface ProbeRunFigures {
  runId: number;
  /** index of the run in the analysis input (runs of several files may share ids) */
  runIndex: number;
  maxactive: number;
  hits: number;
  calls: number;
  missed: number;
  missedReentry: number;
  /** peak of the analysed set (lower bound when !exact) */
  peak: number;
  exact: boolean;
  completeFromReplay: boolean;
}

/** Everything renderers need about one probe beyond the JSON. */
export interface ProbeExtras {
  event: string;
  kind: ProbeKind;
  symbol: string;
  /** where the probe sits: "sym", "sym+0x15" or "0x8049000" */
  location: string;
  /** the spec as recorded, when known */
  spec: string | null;
  /** the complete call set of at least one run came from a replay because the recording missed calls */
  complete_from_replay: boolean;
  /** peak, miss curve and recommendation are exact (every run's analysed set is complete) */
  exact: boolean;
  /** why the figures are not exact, when they are not */
  note: string | null;
  /** calls in the analysed sets (complete sets where available) */
  analysedCalls: number;
  /** analysed calls the recording did not hook */
  unhookedCalls: number;
  latency: LatencyStats | null;
  latencyNs: LatencyStats | null;
  self: LatencyStats | null;
  selfNs: LatencyStats | null;
  histogram: Log2Histogram;
  peak: PeakDetail | null;
  /** lower bounds when !exact */
  peakLowerBound: number | null;
  missCurveLowerBound: MissCurvePoint[] | null;
  /** misses each default would have caused, each run with its own machine's default (exact only) */
  defaultMisses: MaxactiveDefaults | null;
  /** the recording's pool sizes (distinct values over runs) */
  recordedMaxactive: number[];
  /** misses the simulation predicts at the recorded pool size vs what the recording counted */
  crossCheck: { predicted: number; recorded: number; mismatchedCalls: number } | null;
  /** memory of the recommended pool */
  memory: InstanceMemory | null;
  /** calls that overlapped a same-task call without nesting (should be 0) */
  crossing: number;
  perRun: ProbeRunFigures[];
  timeline: ProbeTimeline | null;
  /** peaks over the runs (seeds) of a sweep; null for one run or non-kretprobes */
  sweep: SweepPeaks | null;
}

/** How a kretprobe's peak concurrency is distributed over the runs (seeds) of a sweep. */
export interface SweepPeaks {
  runs: number;
  /** nearest-rank statistics of the per-run peaks */
  min: number;
  p50: number;
  p90: number;
  max: number;
  /** peak value → number of runs with that peak, highest peak first */
  histogram: { peak: number; runs: number }[];
  /** the run with the highest peak (then most misses, then first) */
  worst: ProbeRunFigures;
  /** some runs' peaks are lower bounds (the recording missed calls and no complete set exists) */
  lowerBounds: boolean;
}

/** Per-CPU call timeline of the focus run (chart data). */
export interface CpuTimeline {
  runId: number;
  /** index of the run in the analysis input (runs of several files may share ids) */
  runIndex: number;
  t0: number;
  t1: number;
  bins: number;
  cpus: number;
  /** coverage[cpu][bin]: average calls in flight that entered on that CPU */
  coverage: number[][];
  /** recorded misses per CPU and bin */
  misses: number[][];
}

/** Per-run extras. */
export interface RunExtras {
  runId: number;
  /** index of the run in the analysis input (runs of several files may share ids) */
  runIndex: number;
  /** the trace file, when known */
  file: string | null;
  /** "FILE#ID" when several files are reported, else the run id */
  label: string;
  seed: number;
  workload: string;
  chaos: boolean;
  mhz: number;
  tasks: number;
  analysedCalls: number;
  completeFromReplay: boolean;
}

/** Renderer-only data, kept out of the JSON. */
export interface ReportExtras {
  /** clock used for ns figures (the first run's); `mhzMixed` when runs differ */
  mhz: number;
  mhzMixed: boolean;
  runs: RunExtras[];
  /** parallel to json.probes */
  probes: ProbeExtras[];
  /** run shown in per-run charts: most recorded misses, then most calls */
  focusRunId: number | null;
  cpuTimeline: CpuTimeline | null;
  totals: { missed: number; missedReentry: number; probesWithMisses: string[] };
  /** per-run syscall tables, when asked for (`--syscalls`; filled by the command, not by buildReport) */
  syscalls?: RunSyscalls[];
}

/** The report model. */
export interface ReportModel {
  json: ReportJson;
  extras: ReportExtras;
}

/** Chart resolution (how much the charts aggregate). */
export interface ReportOptions {
  /** bins of the in-flight timeline (default 800) */
  timelineBins?: number;
  /** cells of the per-CPU timeline, CPUs × bins (default 6000; at most 600 bins) */
  cpuCells?: number;
  /** `--by EVENT=ARG`: group these probes' calls by that argument (EVENT as 'GRP/EVENT' or 'EVENT') */
  by?: readonly { event: string; arg: string }[];
}

interface ProbeAcc {
  info: ProbeInfo;
  kind: ProbeKind;
  hits: number;
  calls: number;
  missed: number;
  missedReentry: number;
  durations: Float64Array[];
  selfs: Float64Array[];
  curves: MissCurvePoint[][];
  exact: boolean;
  completeFromReplay: boolean;
  peak: PeakDetail | null;
  peakValue: number;
  maxDepth: number;
  analysedCalls: number;
  unhookedCalls: number;
  defaultMisses: MaxactiveDefaults;
  recordedMaxactive: Set<number>;
  predicted: number;
  mismatched: number;
  crossChecked: boolean;
  crossing: number;
  perRun: ProbeRunFigures[];
  timeline: ProbeTimeline | null;
  timelineScore: [number, number];
  dataSize: number;
  notes: string[];
  args: ArgCollector;
}

function emptyEvents(): Int32Array {
  return new Int32Array(0);
}

function countMisses(misses: readonly MissRec[]): Map<number, { noInstance: MissRec[]; reentry: MissRec[] }> {
  const out = new Map<number, { noInstance: MissRec[]; reentry: MissRec[] }>();
  for (const m of misses) {
    let e = out.get(m.probeId);
    if (!e) {
      e = { noInstance: [], reentry: [] };
      out.set(m.probeId, e);
    }
    (m.reason === 'reentry' ? e.reentry : e.noInstance).push(m);
  }
  return out;
}

function binCounts(recs: readonly MissRec[], t0: number, t1: number, bins: number): number[] {
  const out = new Array<number>(bins).fill(0);
  const width = (t1 - t0) / bins || 1;
  for (const m of recs) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((m.ts - t0) / width)));
    out[b]!++;
  }
  return out;
}

function concat(parts: Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function runSpan(t: CallTable, cycles: number, misses: readonly MissRec[]): [number, number] {
  let hi = cycles > 0 ? cycles : 0;
  for (let i = 0; i < t.length; i++) {
    const r = t.returnTs[i] as number;
    const e = t.entryTs[i] as number;
    if (Number.isFinite(r) && r > hi) hi = r;
    if (e > hi) hi = e;
  }
  for (const m of misses) if (m.ts > hi) hi = m.ts;
  return [0, Math.max(1, hi)];
}

/** Feeds one run's fetch arguments to the probes' collectors (see args.ts). */
function collectArgs(
  rd: RunData,
  table: CallTable,
  collectorOf: ReadonlyMap<number, ArgCollector>,
  missedOf: ReadonlyMap<number, number>,
): void {
  if (collectorOf.size === 0) return;
  // the complete call set covers the missed calls too, when it carries their arguments
  const src = table.args ? table : asCallTable(rd.calls, true);
  const fromComplete = src === table && rd.complete !== undefined;
  for (const [probeId, c] of collectorOf)
    if (!fromComplete && (missedOf.get(probeId) ?? 0) > 0) c.missesKnown = false;
  if (src.args) {
    for (let i = 0; i < src.length; i++) {
      const a = src.args[i];
      const c = a ? collectorOf.get(src.probeId[i] as number) : undefined;
      if (c && a) c.add(a, (src.returnTs[i] as number) - (src.entryTs[i] as number), src.hooked[i] === 1);
    }
  }
  for (const h of rd.argHits ?? []) {
    const c = collectorOf.get(h.probeId);
    if (!c) continue;
    c.missesKnown = false; // a kprobe's misses (reentry) carry no arguments
    c.add(h.args, NaN, true);
  }
}

/** Distribution of the per-run peaks (null for fewer than two runs). */
export function sweepPeaks(perRun: readonly ProbeRunFigures[]): SweepPeaks | null {
  if (perRun.length < 2) return null;
  const sorted = sortNumbers(Float64Array.from(perRun, (r) => r.peak));
  const counts = new Map<number, number>();
  for (const r of perRun) counts.set(r.peak, (counts.get(r.peak) ?? 0) + 1);
  let worst = perRun[0] as ProbeRunFigures;
  for (const r of perRun) {
    const m = r.missed + r.missedReentry;
    if (r.peak > worst.peak || (r.peak === worst.peak && m > worst.missed + worst.missedReentry)) worst = r;
  }
  return {
    runs: perRun.length,
    min: sorted[0] as number,
    p50: nearestRank(sorted, 50),
    p90: nearestRank(sorted, 90),
    max: sorted[sorted.length - 1] as number,
    histogram: [...counts.entries()].sort((a, b) => b[0] - a[0]).map(([peak, runs]) => ({ peak, runs })),
    worst,
    lowerBounds: perRun.some((r) => !r.exact),
  };
}

/** "sym", "sym+0x15", or the hex address when the probe has no symbol. */
export function locationOf(p: Pick<ProbeInfo, 'symbol' | 'offset'>): string {
  return p.offset ? `${p.symbol}+0x${p.offset.toString(16)}` : p.symbol;
}

/** The probe a `--by` entry names (exact event, or EVENT without its group). */
export function byMatches(event: string, want: string): boolean {
  return event === want || (!want.includes('/') && event.slice(event.indexOf('/') + 1) === want);
}

/** Per-CPU call timeline of one run (coverage by entry CPU, misses by CPU). */
function cpuTimelineOf(
  rd: RunData,
  runIndex: number,
  table: CallTable,
  t0: number,
  t1: number,
  cpuCells: number,
): CpuTimeline {
  const cpus = Math.max(1, rd.run.cpus);
  const bins = Math.max(10, Math.min(600, Math.floor(cpuCells / cpus)));
  const cov = cpuCoverage(table, cpus, t0, t1, bins);
  const misses: number[][] = [];
  for (let c = 0; c < cpus; c++) misses.push(new Array<number>(bins).fill(0));
  const width = (t1 - t0) / bins || 1;
  for (const m of rd.misses) {
    const row = misses[m.cpu];
    if (!row) continue;
    row[Math.min(bins - 1, Math.max(0, Math.floor((m.ts - t0) / width)))]!++;
  }
  return {
    runId: rd.run.runId,
    runIndex,
    t0,
    t1,
    bins,
    cpus,
    coverage: cov.coverage.map((row) => Array.from(row, (v) => Math.round(v * 1000) / 1000)),
    misses,
  };
}

/** Builds the report model from the analysis input. */
export function buildReport(input: AnalysisInput, options: ReportOptions = {}): ReportModel {
  const timelineBins = Math.max(10, Math.floor(options.timelineBins ?? 800));
  const cpuCells = Math.max(100, Math.floor(options.cpuCells ?? 6000));
  const runs = input.runs;
  const accs = new Map<string, ProbeAcc>();
  const runExtras: RunExtras[] = [];
  const runsJson: ReportRunJson[] = [];
  const processesJson: ReportProcessJson[] = [];
  let maxCpus = 0;
  let anyPreempt = false;
  let focus: { runId: number; score: [number, number] } | null = null;
  let cpuTimeline: CpuTimeline | null = null;

  runs.forEach((rd, runIndex) => {
    const run = rd.run;
    maxCpus = Math.max(maxCpus, run.cpus);
    anyPreempt ||= run.preempt;
    runsJson.push({
      run_id: run.runId,
      workload: run.workload,
      cpus: run.cpus,
      preempt: run.preempt,
      seed: run.seed,
      status: run.status,
      instructions: run.instructions,
      cycles: run.cycles,
      ...(run.source !== undefined ? { source: run.source } : {}),
    });
    const hasComplete = rd.complete !== undefined;
    const table = asCallTable(rd.complete ?? rd.calls, false);
    const hookedCounts = new Map<number, number>();
    if (hasComplete) {
      for (let i = 0; i < table.length; i++) {
        if (table.hooked[i] === 1)
          hookedCounts.set(
            table.probeId[i] as number,
            (hookedCounts.get(table.probeId[i] as number) ?? 0) + 1,
          );
      }
    } else {
      for (let i = 0; i < table.length; i++)
        hookedCounts.set(table.probeId[i] as number, (hookedCounts.get(table.probeId[i] as number) ?? 0) + 1);
    }
    const order = callOrder(table);
    const evMap = probeEvents(table, order);
    const nest = nesting(table, order.entryOrder);
    const missMap = countMisses(rd.misses);
    const sched = rd.sched ? schedLookup(rd.sched) : undefined;
    const [t0, t1] = runSpan(table, run.cycles, rd.misses);
    const runDefaults = defaults(run.cpus, run.preempt);
    let runMissed = 0;
    let anyReplayUsed = false;
    const tids = new Set<number>();
    for (let i = 0; i < table.length; i++) tids.add(table.tid[i] as number);
    const argCollectors = new Map<number, ArgCollector>();
    const recMissedOf = new Map<number, number>();
    const inexact = new Set<number>();

    for (const p of rd.probes) {
      let acc = accs.get(p.event);
      if (!acc) {
        acc = {
          info: p,
          kind: p.kind,
          hits: 0,
          calls: 0,
          missed: 0,
          missedReentry: 0,
          durations: [],
          selfs: [],
          curves: [],
          exact: true,
          completeFromReplay: false,
          peak: null,
          peakValue: 0,
          maxDepth: 0,
          analysedCalls: 0,
          unhookedCalls: 0,
          defaultMisses: { linux_2_6_13: 0, linux_6_2: 0, systemtap: 0 },
          recordedMaxactive: new Set(),
          predicted: 0,
          mismatched: 0,
          crossChecked: false,
          crossing: 0,
          perRun: [],
          timeline: null,
          timelineScore: [-1, -1],
          dataSize: p.dataSize ?? 0,
          notes: [],
          args: new ArgCollector(p.args ?? []),
        };
        accs.set(p.event, acc);
      }
      const mm = missMap.get(p.probeId);
      const recMissed = Math.max(p.nmissed, mm?.noInstance.length ?? 0);
      acc.hits += p.hits;
      acc.missed += p.nmissed;
      acc.missedReentry += p.nmissedReentry;
      runMissed += p.nmissed;
      argCollectors.set(p.probeId, acc.args);
      recMissedOf.set(p.probeId, recMissed + p.nmissedReentry);
      if (p.kind !== 'kretprobe') continue;

      const calls = hookedCounts.get(p.probeId) ?? 0;
      acc.calls += calls;
      acc.recordedMaxactive.add(p.maxactive);
      const events = evMap.get(p.probeId) ?? emptyEvents();
      const exact = hasComplete || recMissed === 0;
      const fromReplay = hasComplete && recMissed > 0;
      if (fromReplay) anyReplayUsed = true;
      acc.exact &&= exact;
      if (!exact) inexact.add(p.probeId);
      acc.completeFromReplay ||= fromReplay;
      if (!exact) {
        acc.notes.push(
          `run ${run.runId}: the recording missed ${recMissed} calls and no complete call set (replay with an unbounded pool) was supplied`,
        );
      }

      const slots = assignSlots(events, table.length);
      const curve = missCurveFromSlots(slots);
      acc.curves.push(curve);
      const conc = analyseConcurrency(table, events, sched);
      if (conc.why && conc.peakTs !== null && conc.peakSeq !== null && conc.peak > acc.peakValue) {
        acc.peak = { runId: run.runId, runIndex, ts: conc.peakTs, seq: conc.peakSeq, why: conc.why };
        acc.peakValue = conc.peak;
      }
      acc.maxDepth = Math.max(acc.maxDepth, conc.maxDepth);
      if (exact) {
        acc.defaultMisses.linux_2_6_13 += missesAt(curve, runDefaults.linux_2_6_13);
        acc.defaultMisses.linux_6_2 += missesAt(curve, runDefaults.linux_6_2);
        acc.defaultMisses.systemtap += missesAt(curve, runDefaults.systemtap);
      }
      if (hasComplete && p.maxactive >= 1) {
        acc.crossChecked = true;
        acc.predicted += missesAt(curve, p.maxactive);
        acc.mismatched += hookedMismatches(table, slots, events, p.maxactive);
      }

      // latency and self time of the analysed calls of this probe
      const idx = new Uint32Array(slots.calls);
      let unhooked = 0;
      for (let e = 0, k = 0; e < events.length; e++) {
        const v = events[e] as number;
        if (v >= 0) {
          idx[k++] = v;
          if (table.hooked[v] !== 1) unhooked++;
        }
      }
      acc.analysedCalls += idx.length;
      acc.unhookedCalls += unhooked;
      acc.durations.push(durationsOf(table, idx));
      const self = new Float64Array(idx.length);
      for (let k = 0; k < idx.length; k++) self[k] = nest.self[idx[k] as number] as number;
      acc.selfs.push(self);
      acc.perRun.push({
        runId: run.runId,
        runIndex,
        maxactive: p.maxactive,
        hits: p.hits,
        calls,
        missed: p.nmissed,
        missedReentry: p.nmissedReentry,
        peak: conc.peak,
        exact,
        completeFromReplay: fromReplay,
      });

      // keep the timeline of the probe's worst run (most misses, then highest peak)
      const score: [number, number] = [recMissed + p.nmissedReentry, conc.peak];
      if (
        score[0] > acc.timelineScore[0] ||
        (score[0] === acc.timelineScore[0] && score[1] > acc.timelineScore[1])
      ) {
        acc.timelineScore = score;
        const b = binInFlight(table, events, t0, t1, timelineBins);
        acc.timeline = {
          runId: run.runId,
          runIndex,
          t0,
          t1,
          maxAll: Array.from(b.maxAll),
          maxHooked: Array.from(b.maxHooked),
          missNoInstance: binCounts(mm?.noInstance ?? [], t0, t1, timelineBins),
          missReentry: binCounts(mm?.reentry ?? [], t0, t1, timelineBins),
          maxactive: p.maxactive,
        };
      }
    }
    collectArgs(rd, table, argCollectors, recMissedOf);
    const procs = processFigures(rd, table, evMap, inexact);
    if (procs) {
      processesJson.push(...procs);
      // a peak found in this run also says how many processes held instances at that moment
      for (const p of rd.probes) {
        const peak = accs.get(p.event)?.peak;
        if (peak?.runIndex === runIndex)
          peak.processes = procs.filter((x) =>
            x.probes.some((q) => q.event === p.event && (q.held_at_peak ?? 0) > 0),
          ).length;
      }
    }
    // crossing calls are attributed to their probe
    for (let i = 0; i < table.length; i++) {
      if (nest.parent[i] !== -2) continue;
      const info = rd.probes.find((p) => p.probeId === table.probeId[i]);
      const acc = info ? accs.get(info.event) : undefined;
      if (acc) acc.crossing++;
    }
    runExtras.push({
      runId: run.runId,
      runIndex,
      file: run.file ?? null,
      label: run.source !== undefined ? `${run.source}#${run.runId}` : String(run.runId),
      seed: run.seed,
      workload: run.workload,
      chaos: run.chaos,
      mhz: run.mhz,
      tasks: rd.tasks?.length ?? tids.size,
      analysedCalls: table.length,
      completeFromReplay: anyReplayUsed,
    });
    const score: [number, number] = [runMissed, table.length];
    if (!focus || score[0] > focus.score[0] || (score[0] === focus.score[0] && score[1] > focus.score[1])) {
      focus = { runId: run.runId, score };
      cpuTimeline = cpuTimelineOf(rd, runIndex, table, t0, t1, cpuCells);
    }
  });

  const machineDefaults = defaults(Math.max(1, maxCpus), anyPreempt);
  const probesJson: ReportProbeJson[] = [];
  const probesExtras: ProbeExtras[] = [];
  const mhz = runs[0]?.run.mhz ?? 1000;
  const mhzMixed = runs.some((r) => r.run.mhz !== mhz);
  let totalMissed = 0;
  let totalReentry = 0;
  const probesWithMisses: string[] = [];

  for (const acc of accs.values()) {
    const isRet = acc.kind === 'kretprobe';
    totalMissed += acc.missed;
    totalReentry += acc.missedReentry;
    if (acc.missed + acc.missedReentry > 0) probesWithMisses.push(acc.info.event);
    const allDur = isRet ? concat(acc.durations) : new Float64Array(0);
    const lat = isRet ? statsOfSorted(sortedFinite(allDur)) : null;
    const self = isRet ? statsOfSorted(sortedFinite(concat(acc.selfs))) : null;
    const curve = sumCurves(acc.curves);
    const recommended = isRet && acc.exact ? recommendMaxactive(acc.curves) : null;
    const maxactives = [...acc.recordedMaxactive].sort((a, b) => a - b);
    const by = options.by?.find((b) => byMatches(acc.info.event, b.event));
    const groups = by ? acc.args.groups(by.arg) : null;
    probesJson.push({
      event: acc.info.event,
      kind: acc.kind,
      symbol: acc.info.symbol,
      offset: acc.info.offset ?? 0,
      addr: acc.info.addr ?? null,
      maxactive: isRet ? (maxactives[0] ?? acc.info.maxactive) : null,
      hits: acc.hits,
      calls: acc.calls,
      missed: acc.missed,
      missed_reentry: acc.missedReentry,
      latency: latencyJson(lat),
      peak_concurrency: isRet && acc.exact ? acc.peakValue : null,
      max_depth: isRet && acc.exact ? acc.maxDepth : null,
      recommended_maxactive: recommended,
      defaults: isRet ? { ...machineDefaults } : null,
      miss_curve: isRet && acc.exact ? curve : [],
      args: acc.args.summaries(),
      ...(groups ? { groups } : {}),
    });
    probesExtras.push({
      event: acc.info.event,
      kind: acc.kind,
      symbol: acc.info.symbol,
      location: acc.info.location ?? locationOf(acc.info),
      spec: acc.info.spec ?? null,
      complete_from_replay: acc.completeFromReplay,
      exact: !isRet || acc.exact,
      note: acc.notes.length > 0 ? acc.notes.join('; ') : null,
      analysedCalls: acc.analysedCalls,
      unhookedCalls: acc.unhookedCalls,
      latency: lat,
      latencyNs: lat ? statsToNs(lat, mhz) : null,
      self,
      selfNs: self ? statsToNs(self, mhz) : null,
      histogram: log2Histogram(allDur),
      peak: isRet ? acc.peak : null,
      peakLowerBound: isRet && !acc.exact ? acc.peakValue : null,
      missCurveLowerBound: isRet && !acc.exact ? curve : null,
      defaultMisses: isRet && acc.exact ? acc.defaultMisses : null,
      recordedMaxactive: maxactives,
      crossCheck: acc.crossChecked
        ? { predicted: acc.predicted, recorded: acc.missed, mismatchedCalls: acc.mismatched }
        : null,
      memory: recommended !== null ? instanceMemory(recommended, acc.dataSize) : null,
      crossing: acc.crossing,
      perRun: acc.perRun,
      timeline: acc.timeline,
      sweep: isRet ? sweepPeaks(acc.perRun) : null,
    });
  }

  const f = focus as { runId: number; score: [number, number] } | null;

  return {
    json: {
      schema: 'probelab-report/1',
      runs: runsJson,
      probes: probesJson,
      ...(processesJson.length > 0 ? { processes: processesJson } : {}),
    },
    extras: {
      mhz,
      mhzMixed,
      runs: runExtras,
      probes: probesExtras,
      focusRunId: f ? f.runId : null,
      cpuTimeline,
      totals: { missed: totalMissed, missedReentry: totalReentry, probesWithMisses },
    },
  };
}
