// The probe-report pipeline behind the command line: open each trace read-only, load and annotate
// the chosen runs, build the report model, and write what was asked for. src/cli/probe-report.ts only
// parses options and calls `runReport`, so the command stays thin and this stays testable in-process.
//
// Guarantees:
// - Output: `--json` prints the JSON document; otherwise, when a file output is asked for (--html,
//   --chrome, --folded), one line per file written says where it went; otherwise the text report.
// - Runs from several files are labelled by file ("a.db#1"), so two runs with the same id stay
//   distinguishable.
// - Bad input is one line: an unknown run, a `--by` that names no probe or no argument (with a
//   "did you mean"), a trace without a syscall table for `--syscalls`.
// - The only write to a trace is the complete-call-set cache (see complete-calls.ts).

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { annotateRun, argDeclsOf, BinarySymbols, readSyscalls } from '../analysis/annotate.js';
import { loadRun, type CompleteCallSetProvider } from '../analysis/load.js';
import type { AnalysisInput, RunData, RunSyscalls } from '../analysis/model.js';
import { buildReport, byMatches } from '../analysis/summary.js';
import { completeCallSetProvider } from '../cli/complete-calls.js';
import { CliError } from '../cli/common.js';
import { TraceError } from '../trace/db.js';
import { TraceReader } from '../trace/reader.js';
import { writeChromeTrace } from './chrome.js';
import { renderFolded } from './folded.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderText } from './text.js';

export interface ReportCommand {
  traces: string[];
  /** run id, or 'all' */
  run: string;
  html?: string;
  json: boolean;
  chrome?: string;
  folded?: string;
  failOnMiss: boolean;
  replay: boolean;
  /** `--by EVENT=ARG` entries as given */
  by: string[];
  syscalls: boolean;
}

export interface ReportIo {
  out(s: string): void;
  err(s: string): void;
}

const stdio: ReportIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

function openReader(path: string): TraceReader {
  try {
    return TraceReader.open(resolve(path));
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  }
}

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

/** Runs probe-report; returns the exit status. */
export function runReport(a: ReportCommand, io: ReportIo = stdio): number {
  const by = parseBy(a.by);
  const runs: RunData[] = [];
  const syscalls: RunSyscalls[] = [];
  const symbols = new BinarySymbols();
  const several = a.traces.length > 1;
  for (const t of a.traces) {
    const reader = openReader(t);
    try {
      const all = reader.runs();
      let ids: number[];
      if (a.run === 'all') ids = all.filter((r) => r.status !== 'incomplete').map((r) => r.runId);
      else {
        const id = Number(a.run);
        if (!Number.isInteger(id) || !all.some((r) => r.runId === id))
          throw new CliError(`${t} has no run ${a.run}`);
        ids = [id];
      }
      if (ids.length === 0) throw new CliError(`${t} has no complete run to report`);
      const provider: CompleteCallSetProvider | undefined = a.replay
        ? completeCallSetProvider(reader, resolve(t))
        : undefined;
      for (const id of ids) {
        // return probes carry their arguments on their calls: keep them only when some are fetched
        const keepArgs =
          !!(a.chrome || a.folded) ||
          reader.probes(id).some((p) => p.kind === 'kretprobe' && (argDeclsOf(p.spec)?.length ?? 1) > 0);
        const rd = loadRun(reader, id, { keepArgs, complete: provider });
        runs.push(annotateRun(reader, rd, { file: t, source: several ? t : undefined, symbols }));
        if (a.syscalls) syscalls.push(readSyscalls(reader, id, several ? t : undefined));
      }
    } finally {
      reader.close();
    }
  }
  checkBy(by, runs);
  const input: AnalysisInput = { runs };
  const model = buildReport(input, { by });
  if (a.syscalls) model.extras.syscalls = syscalls;
  const files: string[] = [];
  try {
    if (a.html) {
      writeFileSync(a.html, renderHtml(model));
      files.push(`HTML report written to ${a.html}`);
    }
    if (a.folded) {
      writeFileSync(a.folded, renderFolded(input));
      files.push(`folded stacks written to ${a.folded}`);
    }
    if (a.chrome) {
      const chunks: string[] = [];
      writeChromeTrace(input, (c) => chunks.push(c));
      writeFileSync(a.chrome, chunks.join(''));
      files.push(`Chrome trace written to ${a.chrome} (open it in ui.perfetto.dev)`);
    }
  } catch (e) {
    throw new CliError(`cannot write report: ${(e as NodeJS.ErrnoException).message.split('\n')[0]}`);
  }
  if (a.json) {
    io.out(renderJson(model.json));
    for (const f of files) io.err(`probe-report: ${f}\n`);
  } else if (files.length > 0) for (const f of files) io.out(`probe-report: ${f}\n`);
  else io.out(renderText(model));
  if (a.failOnMiss) {
    const missed = model.json.probes.some(
      (p) => p.kind === 'kretprobe' && (p.missed ?? 0) + (p.missed_reentry ?? 0) > 0,
    );
    if (missed) {
      io.err('probe-report: return probes missed calls (--fail-on-miss)\n');
      return 1;
    }
  }
  return 0;
}
