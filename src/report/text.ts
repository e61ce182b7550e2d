// Plain-text report (what `probe-report` prints on a terminal) and the wording shared with the
// HTML page.
//
// Guarantees:
// - Reads only the report model (`buildReport`), never the raw data; deterministic output.
// - Misses cannot be overlooked: when any call was missed the report starts with a "!!! MISSED"
//   banner, every missed count carries a "MISSED" marker, and each kretprobe ends with exactly one
//   recommendation sentence (`recommendationSentence`) saying which maxactive would have missed
//   none and what the Linux 2.6.13 default did.
// - Text from the guest or the trace (symbols, event, task and workload names, argument values,
//   file names) goes through escapeControls (src/cli/terminal.ts, `\x1b` style), so a hostile name
//   cannot move the cursor; this output is not markup.

import type { PeakDetail, ProbeExtras, ReportModel, ReportProbeJson } from '../analysis/summary.js';
import type { LatencyStats } from '../analysis/latency.js';
import { formatArgValue, type ArgGroupsJson, type ArgSummaryJson } from '../analysis/args.js';
import type { RunSyscalls } from '../analysis/model.js';
import type { ReportProcessJson } from '../analysis/processes.js';
import { missesAt, MAXACTIVE_LIMIT } from '../analysis/misscurve.js';
import { escapeControls } from '../cli/terminal.js';

/** 1234567 → "1,234,567" (non-integers keep up to 1 decimal). */
export function fmtInt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const r = Number.isInteger(v) ? v : Math.round(v * 10) / 10;
  return r.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** Compact count: 1234 → "1.2K", 5300000 → "5.3M". */
export function fmtCompact(v: number): string {
  const a = Math.abs(v);
  if (a < 1000) return fmtInt(Math.round(v * 10) / 10);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [d, u] of units) {
    if (a >= d) {
      const x = v / d;
      return `${x >= 100 ? Math.round(x) : Math.round(x * 10) / 10}${u}`;
    }
  }
  return String(v);
}

/** A duration in ns with a readable unit: "850 ns", "12.3 µs", "4.56 ms", "1.20 s". */
export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const a = Math.abs(ns);
  const three = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  if (a < 1000) return `${Number.isInteger(ns) ? ns : three(ns)} ns`;
  if (a < 1e6) return `${three(ns / 1e3)} µs`;
  if (a < 1e9) return `${three(ns / 1e6)} ms`;
  return `${three(ns / 1e9)} s`;
}

/** Cycles to a readable duration at `mhz`. */
export function fmtCyclesAsTime(cycles: number, mhz: number): string {
  return fmtNs((cycles * 1000) / mhz);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmtInt(n)} ${n === 1 ? one : many}`;
}

/** The name a sentence uses for a probe: its symbol, or the event when several probes share it. */
export function probeLabel(model: ReportModel, i: number): string {
  const p = model.json.probes[i] as ReportProbeJson;
  const same = model.json.probes.filter((q) => q.symbol === p.symbol).length;
  return same > 1 || p.symbol === '' ? p.event : p.symbol;
}

/** "12 tasks, 8 of them sleeping" (what is known at the peak). */
export function whyPhrase(peak: PeakDetail): string {
  const w = peak.why;
  const parts: string[] = [
    plural(w.tasks, 'task') +
      (peak.processes !== undefined ? ` in ${plural(peak.processes, 'process', 'processes')}` : ''),
  ];
  if (w.maxPerTask > 1) parts.push(`up to ${w.maxPerTask} deep in one task`);
  if (w.notRunning !== null) {
    if (w.notRunning === 0) parts.push(w.tasks === 1 ? 'running' : 'all of them running');
    else if (w.sleeping !== null && w.preempted !== null) {
      if (w.preempted === 0) parts.push(`${fmtInt(w.sleeping)} of them sleeping`);
      else if (w.sleeping === 0) parts.push(`${fmtInt(w.preempted)} of them preempted`);
      else parts.push(`${fmtInt(w.sleeping)} of them sleeping and ${fmtInt(w.preempted)} preempted`);
    } else parts.push(`${fmtInt(w.notRunning)} of them off CPU`);
  }
  return parts.join(', ');
}

/** How reports name a run: its id, or "FILE#ID" when several files are reported. */
export function runLabel(model: ReportModel, runIndex: number): string {
  return model.extras.runs[runIndex]?.label ?? String(model.json.runs[runIndex]?.run_id ?? runIndex);
}

/** "kprobe on work" at a function entry, "kprobe at work+0x15" inside one. */
export function probeWhere(p: ReportProbeJson, x: ProbeExtras): string {
  return `${p.kind} ${x.location === p.symbol ? 'on' : 'at'} ${x.location}`;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The spec to type for a return probe with `k` instances: the recorded spec with its maxactive
 * (and its full GRP/EVENT name) in the first word, e.g. `r15:probes/work work n=$arg1`.
 */
export function specWithMaxactive(spec: string | null, event: string, location: string, k: number): string {
  const body = (spec ?? '').replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
  const head = `r${k}:${event}`;
  if (body.length < 2 || !/^r\d*(:|$)/.test(body[0] as string)) return `${head} ${location}`;
  return [head, ...body.slice(1)].join(' ');
}

/** What to type for kretprobe i: the spec with the recommended pool and the replay that checks it. */
export function recommendationCommands(
  model: ReportModel,
  i: number,
): { spec: string; replay: string | null } | null {
  const p = model.json.probes[i];
  const x = model.extras.probes[i];
  if (!p || !x || p.kind !== 'kretprobe' || p.recommended_maxactive === null || !x.peak) return null;
  const k = p.recommended_maxactive;
  const run = model.extras.runs[x.peak.runIndex];
  const replay =
    run?.file !== null && run?.file !== undefined
      ? `probe-replay ${shellWord(run.file)} --run ${run.runId} --maxactive ${shellWord(`${p.event}=${k}`)}`
      : null;
  return { spec: specWithMaxactive(x.spec, p.event, x.location, k), replay };
}

/** "12 in flight at cycle 123456: 12 tasks, 8 of them sleeping" */
export function peakSummary(model: ReportModel, peak: PeakDetail): string {
  const inRun = model.json.runs.length > 1 ? ` in run ${runLabel(model, peak.runIndex)}` : '';
  return `${peak.why.inFlight} in flight${inRun} at cycle ${peak.ts}: ${whyPhrase(peak)}`;
}

/** "peak 12 in flight at cycle 123456: 12 tasks, 8 of them sleeping" */
export function peakPhrase(model: ReportModel, peak: PeakDetail): string {
  return `peak ${peakSummary(model, peak)}`;
}

/** The one recommendation sentence of kretprobe i (null for other kinds). */
export function recommendationSentence(model: ReportModel, i: number): string | null {
  const p = model.json.probes[i];
  const x = model.extras.probes[i];
  if (!p || !x || p.kind !== 'kretprobe') return null;
  const name = escapeControls(probeLabel(model, i));
  if (p.recommended_maxactive === null) {
    const rec = Math.max(...x.recordedMaxactive, 0);
    return (
      `${name}: the recording missed ${plural(p.missed, 'call')} and no complete call set is available, ` +
      `so set maxactive above ${rec} and replay with an unbounded pool ` +
      `(probe-replay --maxactive ${escapeControls(p.event)}=${MAXACTIVE_LIMIT}) to get the exact number.`
    );
  }
  if (x.analysedCalls === 0 || !x.peak) {
    return `${name}: no calls were observed, so any maxactive (even 1) would have missed none.`;
  }
  const k = p.recommended_maxactive;
  const limit = k > MAXACTIVE_LIMIT ? ` (more than the ${MAXACTIVE_LIMIT} the text interface accepts)` : '';
  const d = p.defaults;
  let dflt = '';
  if (d && x.defaultMisses) {
    const m = x.defaultMisses.linux_2_6_13;
    const recordedWithDefault = x.recordedMaxactive.length === 1 && x.recordedMaxactive[0] === d.linux_2_6_13;
    const verb = recordedWithDefault ? 'missed' : 'would have missed';
    dflt =
      m > 0
        ? `; the Linux 2.6.13 default ${d.linux_2_6_13} ${verb} ${plural(m, 'call')}`
        : `; the Linux 2.6.13 default ${d.linux_2_6_13} ${recordedWithDefault ? 'missed none' : 'would have missed none'}`;
  }
  return `${name}: set maxactive to at least ${k}${limit} (${peakPhrase(model, x.peak)})${dflt}.`;
}

function table(rows: string[][], rightAlign: boolean[] = []): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, j) => (widths[j] = Math.max(widths[j] ?? 0, [...c].length)));
  return rows.map((r) =>
    r
      .map((c, j) => {
        const pad = ' '.repeat((widths[j] ?? 0) - [...c].length);
        return rightAlign[j] ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

function statRow(label: string, s: LatencyStats | null, f: (v: number) => string): string[] {
  if (!s) return [label, '0', '-', '-', '-', '-', '-', '-', '-'];
  return [label, fmtInt(s.count), f(s.min), f(s.mean), f(s.p50), f(s.p90), f(s.p99), f(s.p999), f(s.max)];
}

/** Miss curve as "k: missed" pairs, abbreviated around the interesting points. */
export function curvePairs(p: ReportProbeJson, x: ProbeExtras): string {
  const c = p.miss_curve;
  if (c.length === 0) return '';
  const keep = new Set<number>();
  const n = c.length;
  for (let k = 1; k <= Math.min(n, 6); k++) keep.add(k);
  for (let k = Math.max(1, n - 3); k <= n; k++) keep.add(k);
  for (const m of x.recordedMaxactive) if (m >= 1 && m <= n) keep.add(m);
  if (p.defaults) for (const v of Object.values(p.defaults)) if (v <= n) keep.add(v);
  const ks = [...keep].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const k of ks) {
    if (k > prev + 1) out.push('…');
    out.push(`${k}: ${fmtInt(missesAt(c, k))}`);
    prev = k;
  }
  return out.join(', ');
}

/** An argument value in its display type (0x… for x types, quoted strings), terminal-safe. */
function argText(v: number | string | null, type: string): string {
  return v === null ? '-' : escapeControls(formatArgValue(v, type));
}

/** One row per fetch argument: count, min, p50, p99, max, distinct, and the top values. */
export function argsTable(args: readonly ArgSummaryJson[], withLatency: boolean, mhz: number): string[] {
  const top = (a: ArgSummaryJson): string => {
    if (a.count > 1 && a.distinct === a.count) return 'all distinct';
    return a.top
      .map(
        (t) =>
          `${argText(t.value, a.type)} ×${fmtInt(t.count)}` +
          (withLatency && t.p50_latency !== null ? ` (p50 ${fmtNs((t.p50_latency * 1000) / mhz)})` : ''),
      )
      .join(', ');
  };
  return table(
    [
      [
        '  argument',
        'type',
        'count',
        'min',
        'p50',
        'p99',
        'max',
        'distinct',
        `top values${withLatency ? ' (p50 latency)' : ''}`,
      ],
      ...args.map((a) => [
        `  ${escapeControls(a.name)}`,
        escapeControls(a.type),
        fmtInt(a.count),
        argText(a.min, a.type),
        argText(a.p50, a.type),
        argText(a.p99, a.type),
        argText(a.max, a.type),
        fmtInt(a.distinct),
        top(a),
      ]),
    ],
    [false, false, true, true, true, true, true, true, false],
  );
}

/** At most this many `--by` groups in the text report (all of them are in --json). */
export const TEXT_GROUPS = 50;

/** The `--by` table: one row per value with calls, misses and latency. */
export function groupsTable(g: ArgGroupsJson, withLatency: boolean, mhz: number): string[] {
  const rows = g.rows.slice(0, TEXT_GROUPS);
  const f = (v: number | null): string => (v === null ? '-' : fmtInt(v));
  const head = withLatency
    ? [`  by ${escapeControls(g.arg)}`, 'calls', 'missed', 'p50', 'p99', 'max', 'p50 time']
    : [`  by ${escapeControls(g.arg)}`, 'hits'];
  const out = table(
    [
      head,
      ...rows.map((r) =>
        withLatency
          ? [
              `  ${argText(r.value, g.type)}`,
              fmtInt(r.calls),
              r.missed === null ? '?' : r.missed > 0 ? `${fmtInt(r.missed)} MISSED` : '0',
              f(r.latency.p50),
              f(r.latency.p99),
              f(r.latency.max),
              r.latency.p50 === null ? '-' : fmtNs((r.latency.p50 * 1000) / mhz),
            ]
          : [`  ${argText(r.value, g.type)}`, fmtInt(r.calls)],
      ),
    ],
    [false, true, true, true, true, true, true],
  );
  const more = g.distinct - rows.length;
  if (more > 0)
    out.push(`  … ${fmtInt(more)} more values (--json lists the ${fmtInt(g.rows.length)} most frequent)`);
  if (withLatency && g.rows.some((r) => r.missed === null))
    out.push(
      '  (missed per value unknown: the recording missed calls whose arguments no replay has recorded)',
    );
  return out;
}

/** Peaks over the seeds of a sweep, and the command that replays the worst one. */
function sweepLines(model: ReportModel, x: ProbeExtras): string[] {
  const sw = x.sweep;
  if (!sw) return [];
  const hist = sw.histogram.map((h) => `${h.peak}: ${plural(h.runs, 'run')}`).join(', ');
  const w = sw.worst;
  const run = model.extras.runs[w.runIndex];
  const out = [
    `  peaks over ${fmtInt(sw.runs)} runs: min ${sw.min}, p50 ${sw.p50}, p90 ${sw.p90}, max ${sw.max}` +
      `${sw.lowerBounds ? ' (some are lower bounds)' : ''}; ${hist}`,
  ];
  const replay = run?.file ? `probe-replay ${shellWord(run.file)} --run ${w.runId}` : null;
  out.push(
    `  worst seed: ${run?.seed ?? '?'} (run ${escapeControls(runLabel(model, w.runIndex))}, peak ${w.peak}` +
      `${w.missed + w.missedReentry > 0 ? `, ${fmtInt(w.missed + w.missedReentry)} missed` : ''})` +
      (replay ? `; replay it: ${escapeControls(replay)}` : ''),
  );
  return out;
}

/** `--syscalls`: the guest's system calls per run, like strace -c. */
export function syscallLines(tables: readonly RunSyscalls[]): string[] {
  const L: string[] = [];
  tables.forEach((t) => {
    const label = t.source !== undefined ? `${t.source}#${t.runId}` : String(t.runId);
    L.push(`System calls of run ${escapeControls(label)}`);
    if (t.rows === null) {
      L.push('  (this trace has no syscall table: it was recorded before probelab kept one)');
    } else if (t.rows.length === 0) L.push('  (none)');
    else {
      L.push(
        ...table(
          [
            ['  calls', 'errors', 'enosys', 'nr', 'syscall'],
            ...t.rows.map((r) => [
              `  ${fmtInt(r.calls)}`,
              fmtInt(r.errors),
              r.enosys > 0 ? `${fmtInt(r.enosys)} UNIMPLEMENTED` : '0',
              String(r.nr),
              escapeControls(r.name),
            ]),
          ],
          [true, true, false, true, false],
        ),
      );
    }
    L.push('');
  });
  return L;
}

/** How the per-process sections name a run: its id, or "FILE#ID" when several files are reported. */
export function processRunLabel(p: Pick<ReportProcessJson, 'run_id' | 'source'>): string {
  return p.source !== undefined ? `${p.source}#${p.run_id}` : String(p.run_id);
}

/** At most this many processes per run in the text and HTML reports (all of them are in --json). */
export const TEXT_PROCESSES = 50;

/** The processes of one run as the text and HTML reports show them. */
export interface RunProcesses {
  label: string;
  /** how many processes the run has */
  total: number;
  /** at most TEXT_PROCESSES of them: the most active (hits and misses), in pid order */
  shown: ReportProcessJson[];
}

/** The processes of each run that has several, by run (in report order). */
export function processesByRun(model: ReportModel): RunProcesses[] {
  const byRun = new Map<string, ReportProcessJson[]>();
  for (const p of model.json.processes ?? []) {
    const k = processRunLabel(p);
    const list = byRun.get(k);
    if (list) list.push(p);
    else byRun.set(k, [p]);
  }
  const activity = (p: ReportProcessJson): number =>
    p.probes.reduce((a, q) => a + q.hits + q.missed + q.missed_reentry, 0);
  return [...byRun].map(([label, all]) => ({
    label,
    total: all.length,
    shown:
      all.length <= TEXT_PROCESSES
        ? all
        : [...all]
            .sort((a, b) => activity(b) - activity(a) || a.pid - b.pid)
            .slice(0, TEXT_PROCESSES)
            .sort((a, b) => a.pid - b.pid),
  }));
}

/** "(61; the 50 most active shown, --json lists all)" or "(3)". */
export function processCount(r: RunProcesses): string {
  return r.shown.length < r.total
    ? `${fmtInt(r.total)}; the ${r.shown.length} with the most hits and misses shown, --json lists all`
    : fmtInt(r.total);
}

/** The executable a process started with, and whether it exec'd another file (not in the trace). */
export function exeLabel(p: Pick<ReportProcessJson, 'exe' | 'execs'>): string {
  return p.execs > 0 ? `${p.exe} (then ${p.execs} exec${p.execs === 1 ? '' : 's'})` : p.exe;
}

/** What the per-process columns mean (text and HTML say the same). */
export const PROCESS_NOTE =
  'peak: calls in flight in that process alone; at peak: its calls in flight when the run reached its peak; ' +
  'alone: the maxactive that process alone would need. The pool is shared by every process: set the overall recommendation.';

/** `processes`: per run with several processes, its processes and each probe's figures in them. */
export function processLines(model: ReportModel): string[] {
  const L: string[] = [];
  const f = (v: number | null): string => (v === null ? '-' : fmtInt(v));
  for (const r of processesByRun(model)) {
    const procs = r.shown;
    L.push(`Processes of run ${escapeControls(r.label)} (${processCount(r)})`);
    L.push(
      ...table(
        [
          ['  pid', 'ppid', 'threads', 'name', 'exe'],
          ...procs.map((p) => [
            `  ${p.pid}`,
            String(p.ppid),
            fmtInt(p.threads),
            escapeControls(p.name),
            escapeControls(exeLabel(p)),
          ]),
        ],
        [true, true, true, false, false],
      ),
    );
    L.push('');
    const rows = procs.flatMap((p) =>
      p.probes.map((q) => {
        const ret = q.kind === 'kretprobe';
        return [
          `  ${p.pid}`,
          escapeControls(q.event),
          fmtInt(q.hits),
          ret ? fmtInt(q.calls) : '-',
          q.missed > 0 ? `${fmtInt(q.missed)} MISSED` : '0',
          q.missed_reentry > 0 ? `${fmtInt(q.missed_reentry)} MISSED` : '0',
          f(q.latency.p50),
          f(q.latency.p99),
          f(q.latency.max),
          f(q.peak_concurrency),
          f(q.max_depth),
          f(q.held_at_peak),
          f(q.recommended_maxactive),
        ];
      }),
    );
    if (rows.length > 0) {
      L.push(
        ...table(
          [
            [
              '  pid',
              'probe',
              'hits',
              'calls',
              'missed',
              'reentry',
              'p50',
              'p99',
              'max',
              'peak',
              'depth',
              'at peak',
              'alone',
            ],
            ...rows,
          ],
          [true, false, true, true, true, true, true, true, true, true, true, true, true],
        ),
      );
      L.push('');
    }
  }
  if (L.length > 0) L.push(`  (latency in cycles; ${PROCESS_NOTE})`, '');
  return L;
}

/** The whole text report. */
export function renderText(model: ReportModel): string {
  const { json, extras } = model;
  const L: string[] = [];
  const mhz = extras.mhz;
  L.push('probelab report');
  L.push('===============');
  const workloads = [...new Set(json.runs.map((r) => escapeControls(r.workload)))].join(', ');
  L.push(
    `${plural(json.runs.length, 'run')} of ${workloads || '(no runs)'}; clock ${fmtInt(mhz)} MHz ` +
      `(1 cycle = ${fmtNs(1000 / mhz)})${extras.mhzMixed ? ' (runs use different clocks; ns use this one)' : ''}`,
  );
  L.push('');
  const t = extras.totals;
  if (t.missed + t.missedReentry > 0) {
    L.push(
      `!!! MISSED: ${plural(t.missed + t.missedReentry, 'call')} never reached their return probe handlers ` +
        `(${fmtInt(t.missed)} for lack of a free instance, ${fmtInt(t.missedReentry)} by reentry) in ` +
        `${t.probesWithMisses.map(escapeControls).join(', ')}.`,
    );
    L.push('!!! See "Recommendations" at the end for the maxactive that would have missed none.');
    L.push('');
  }

  L.push('Runs');
  L.push(
    ...table(
      [
        ['  run', 'workload', 'cpus', 'preempt', 'seed', 'chaos', 'status', 'instructions', 'cycles', 'time'],
        ...json.runs.map((r, i) => [
          `  ${escapeControls(runLabel(model, i))}`,
          escapeControls(r.workload),
          String(r.cpus),
          r.preempt ? 'yes' : 'no',
          String(r.seed),
          extras.runs[i]?.chaos ? 'yes' : 'no',
          r.status,
          fmtInt(r.instructions),
          fmtInt(r.cycles),
          fmtCyclesAsTime(r.cycles, extras.runs[i]?.mhz ?? mhz),
        ]),
      ],
      [false, false, true, false, true, false, false, true, true, true],
    ),
  );
  L.push('');

  json.probes.forEach((p, i) => {
    const x = extras.probes[i] as ProbeExtras;
    const isRet = p.kind === 'kretprobe';
    const head = `${escapeControls(p.event)}  (${escapeControls(probeWhere(p, x))}${isRet ? `, maxactive ${x.recordedMaxactive.join('/')}` : ''})`;
    L.push(head);
    L.push('-'.repeat(Math.min(100, [...head].length)));
    const missCell = p.missed > 0 ? `${fmtInt(p.missed)}  <-- MISSED` : '0';
    const reCell = p.missed_reentry > 0 ? `${fmtInt(p.missed_reentry)}  <-- MISSED` : '0';
    // only return probes have instances to run out of, and calls
    L.push(
      ...table(
        isRet
          ? [
              ['  hits', 'calls', 'missed (no instance)', 'missed (reentry)'],
              [`  ${fmtInt(p.hits)}`, fmtInt(p.calls), missCell, reCell],
            ]
          : [
              ['  hits', 'missed (reentry)'],
              [
                `  ${fmtInt(p.hits)}`,
                p.missed + p.missed_reentry > 0 ? `${fmtInt(p.missed + p.missed_reentry)}  <-- MISSED` : '0',
              ],
            ],
        [true, true, false, false],
      ),
    );
    if (p.args.length > 0) {
      L.push('');
      L.push(...argsTable(p.args, isRet, mhz));
    }
    if (p.groups) {
      L.push('');
      L.push(...groupsTable(p.groups, isRet, mhz));
    }
    if (isRet) {
      L.push('');
      const fc = (v: number): string => fmtInt(v);
      const fn = (v: number): string => fmtNs((v * 1000) / mhz);
      L.push(
        ...table(
          [
            ['  latency', 'count', 'min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'],
            statRow('  cycles', x.latency, fc),
            statRow('  time', x.latency, fn),
            statRow('  self cycles', x.self, fc),
          ],
          [false, true, true, true, true, true, true, true, true],
        ),
      );
      if (x.complete_from_replay) {
        L.push(
          `  (latency, concurrency and miss curve use the complete call set from a replay with an unbounded pool: ` +
            `${fmtInt(x.analysedCalls)} calls, ${fmtInt(x.unhookedCalls)} of them missed by the recording)`,
        );
      }
      L.push('');
      if (x.peak) {
        const w = x.peak.why;
        const cpus =
          w.cpusInFunction !== null
            ? `; CPUs executing in it: ${w.cpusInFunction.length > 0 ? w.cpusInFunction.join(', ') : 'none'}`
            : `; entered on CPUs ${w.entryCpus.join(', ')} (no scheduler timeline: running/sleeping unknown)`;
        L.push(`  peak concurrency: ${peakSummary(model, x.peak)}${cpus}; max depth ${p.max_depth ?? '?'}`);
      } else if (x.peakLowerBound !== null) {
        L.push(`  peak concurrency: at least ${x.peakLowerBound} (lower bound: the recording missed calls)`);
      } else L.push('  peak concurrency: 0 (no calls)');
      if (p.miss_curve.length > 0) L.push(`  miss curve (maxactive: missed calls): ${curvePairs(p, x)}`);
      if (p.defaults && x.defaultMisses) {
        const d = p.defaults;
        const m = x.defaultMisses;
        const f = (k: number, v: number): string => `${k} (${v > 0 ? `${fmtInt(v)} MISSED` : 'no misses'})`;
        L.push(
          `  defaults here: Linux 2.6.13 ${f(d.linux_2_6_13, m.linux_2_6_13)}, Linux >= 6.2 ${f(d.linux_6_2, m.linux_6_2)}, ` +
            `SystemTap ${f(d.systemtap, m.systemtap)}`,
        );
      }
      if (x.memory) {
        const mem = x.memory;
        L.push(
          `  memory at maxactive ${mem.instances}: ${fmtInt(mem.totalBytes)} bytes ` +
            `(${mem.instances} × ${mem.bytesPerInstance} B struct kretprobe_instance on i386${mem.dataSize ? ` incl. ${mem.dataSize} B data` : ''}; ` +
            `${fmtInt(mem.slabTotalBytes)} B in kmalloc-${mem.slabBytesPerInstance} slabs)`,
        );
      }
      if (
        x.crossCheck &&
        (x.crossCheck.predicted !== x.crossCheck.recorded || x.crossCheck.mismatchedCalls > 0)
      ) {
        L.push(
          `  WARNING: simulating the recorded pool predicts ${fmtInt(x.crossCheck.predicted)} misses but the recording ` +
            `counted ${fmtInt(x.crossCheck.recorded)} (${fmtInt(x.crossCheck.mismatchedCalls)} calls disagree)`,
        );
      }
      if (x.crossing > 0)
        L.push(`  WARNING: ${fmtInt(x.crossing)} calls overlapped a call of the same task without nesting`);
      if (x.note) L.push(`  note: ${escapeControls(x.note)}`);
      if (x.sweep) L.push(...sweepLines(model, x));
    }
    L.push('');
  });
  L.push(...processLines(model));
  if (extras.syscalls) L.push(...syscallLines(extras.syscalls));

  const sentences = json.probes
    .map((_, i) => recommendationSentence(model, i))
    .filter((s): s is string => s !== null);
  if (sentences.length > 0) {
    L.push('Recommendations');
    json.probes.forEach((_, i) => {
      const s = recommendationSentence(model, i);
      if (s === null) return;
      L.push(`  ${s}`);
      const c = recommendationCommands(model, i);
      if (c) {
        L.push(`      spec:    ${escapeControls(c.spec)}`);
        if (c.replay) L.push(`      confirm: ${escapeControls(c.replay)}   (its missed column shows 0)`);
      }
    });
    L.push('');
  }
  L.push(
    'Percentiles are nearest-rank (p = the value at rank ceil(p/100 × count)); self time excludes nested probed calls.',
  );
  return L.join('\n') + '\n';
}
