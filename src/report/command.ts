// probe-report's own options on the way from the trace to the report model: loading a run with what
// reports need beyond the analysis model (annotate.ts), and `--by EVENT=ARG` / `--syscalls`.
// src/cli/probe-report.ts parses options and writes outputs; this module holds the report logic.
//
// Guarantees:
// - Runs from several files are labelled by file ("a.db#1"), so two runs with the same id stay
//   distinguishable, and every run knows its file (the commands reports print name it).
// - Call arguments are loaded only when an output needs them or a return probe fetches some.
// - A `--by` that is malformed is a usage error (exit 2); one that names no probe or no argument of
//   it is a one-line error with a "did you mean" (exit 1).

import { annotateRun, argDeclsOf, BinarySymbols, readSyscalls } from '../analysis/annotate.js';
import { loadRun, type CompleteCallSetProvider } from '../analysis/load.js';
import { CallTableBuilder, type AnalysisInput, type RunData, type RunSyscalls } from '../analysis/model.js';
import { buildReport, byMatches, type ReportModel } from '../analysis/summary.js';
import { CliError } from '../cli/common.js';
import { storedCompleteCalls } from '../replay/complete.js';
import type { TraceReader } from '../trace/reader.js';

export { BinarySymbols, readSyscalls };

/** Parses `EVENT=ARG` (usage error when malformed). */
export function parseBy(items: readonly string[]): { event: string; arg: string }[] {
  return items.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1)
      throw new CliError(`--by takes EVENT=ARG (e.g. --by work=n), not '${s}'`, 2);
    return { event: s.slice(0, eq), arg: s.slice(eq + 1) };
  });
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

function didYouMean(want: string, names: readonly string[]): string {
  const best = [...names].sort((x, y) => distance(want, x) - distance(want, y))[0];
  return best !== undefined && distance(want, best) <= Math.max(2, Math.floor(want.length / 3))
    ? ` (did you mean '${best}'?)`
    : '';
}

/** Checks every `--by` entry against the analysed probes and their arguments. */
function checkBy(by: readonly { event: string; arg: string }[], runs: readonly RunData[]): void {
  const probes = new Map<string, Set<string>>();
  for (const rd of runs)
    for (const p of rd.probes) {
      const s = probes.get(p.event) ?? new Set<string>();
      for (const a of p.args ?? []) s.add(a.name);
      probes.set(p.event, s);
    }
  for (const b of by) {
    const hit = [...probes.entries()].filter(([e]) => byMatches(e, b.event));
    if (hit.length === 0) {
      const names = [...probes.keys()].flatMap((e) => [e, e.slice(e.indexOf('/') + 1)]);
      throw new CliError(`--by ${b.event}=${b.arg}: no probe ${b.event}${didYouMean(b.event, names)}`);
    }
    for (const [event, args] of hit) {
      if (!args.has(b.arg)) {
        const list = [...args];
        throw new CliError(
          `--by ${b.event}=${b.arg}: ${event} fetches no argument ${b.arg}` +
            (list.length > 0
              ? `${didYouMean(b.arg, list)}; it fetches ${list.join(', ')}`
              : '; it fetches none'),
        );
      }
    }
  }
}

/** Whether a run's return probes fetch arguments (their calls' arguments are then worth loading). */
export function fetchesArgs(reader: TraceReader, runId: number): boolean {
  return reader.probes(runId).some((p) => p.kind === 'kretprobe' && (argDeclsOf(p.spec)?.length ?? 1) > 0);
}

/**
 * The complete call set with each call's fetched arguments, read back from the trace once the
 * provider has computed and stored it: the calls the recording missed then carry their values too,
 * so `--by` can count misses per value. Without a stored set (a read-only trace) it stays as given.
 */
function withArguments(reader: TraceReader, provider: CompleteCallSetProvider): CompleteCallSetProvider {
  return (runId) => {
    const t = provider(runId);
    if (t === null || !reader.hasCompleteCalls(runId)) return t;
    // The stored set passed the provider's check, or could not be replaced (read-only file):
    // anything that fails the check now keeps the set without arguments.
    const stored = storedCompleteCalls(reader, runId);
    if (typeof stored === 'string') return t;
    const b = new CallTableBuilder(t.length, true);
    for (const c of stored)
      b.push({ ...c, args: c.args === null ? null : (JSON.parse(c.args) as Record<string, unknown>) });
    return b.length === t.length ? b.build() : t;
  };
}

/** Loads one run for a report: the analysis model plus specs, locations, arguments and the file label. */
export function loadReportRun(
  reader: TraceReader,
  runId: number,
  o: {
    file: string;
    several: boolean;
    keepArgs: boolean;
    complete?: CompleteCallSetProvider;
    symbols: BinarySymbols;
  },
): RunData {
  const args = fetchesArgs(reader, runId);
  const rd = loadRun(reader, runId, {
    keepArgs: o.keepArgs || args,
    complete: o.complete && args ? withArguments(reader, o.complete) : o.complete,
  });
  return annotateRun(reader, rd, {
    file: o.file,
    source: o.several ? o.file : undefined,
    symbols: o.symbols,
  });
}

/** The report model with `--by` groups (checked against the runs' probes) and `--syscalls` tables. */
export function buildWithOptions(
  input: AnalysisInput,
  o: { by: readonly string[]; syscalls: RunSyscalls[] | null },
): ReportModel {
  const by = parseBy(o.by);
  checkBy(by, input.runs);
  const model = buildReport(input, { by });
  if (o.syscalls) model.extras.syscalls = o.syscalls;
  return model;
}
