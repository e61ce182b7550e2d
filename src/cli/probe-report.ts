#!/usr/bin/env node
// probe-report: latencies, calls in flight, exact miss curves and maxactive recommendations for one or
// more runs of one or more traces, as text (default), --json, --html, --chrome and --folded. When a
// recording missed calls, the complete call set comes from a replay with unbounded pools, computed
// once and cached in the trace (the report's only write).

import { resolve } from 'node:path';
import type { CompleteCallSetProvider } from '../analysis/load.js';
import type { AnalysisInput, RunData, RunSyscalls } from '../analysis/model.js';
import { BinarySymbols, buildWithOptions, loadReportRun, readSyscalls } from '../report/command.js';
import { parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError, openCheckedTrace, traceFailure } from './common.js';
import { completeCallSetProvider } from '../replay/complete.js';
import { needsArgs, pickOutputs, writeOutputs } from './renderers.js';

export const spec = {
  name: 'probe-report',
  usage:
    '$0 TRACE... [--run ID|all] [--json] [--html FILE] [--by EVENT=ARG] [--syscalls] [--chrome FILE] [--folded FILE] [--fail-on-miss]\n\n' +
    'Latencies, calls in flight, miss curves and maxactive recommendations for the runs of one or more\n' +
    'traces. Prints the text report, or the JSON one with --json; with output files only says where\n' +
    'it wrote them.',
  options: (y) =>
    y
      .option('run', {
        type: 'string',
        default: 'all',
        describe: 'run id to report, or all (several runs are analysed together)',
      })
      .option('html', { type: 'string', describe: 'write a self-contained HTML report' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print the probelab-report/1 JSON instead of text',
      })
      .option('chrome', {
        type: 'string',
        describe: 'write a Chrome trace-event JSON file (opens in Perfetto)',
      })
      .option('folded', { type: 'string', describe: 'write folded stacks (flame-graph input)' })
      .option('fail-on-miss', {
        type: 'boolean',
        default: false,
        describe: 'exit 1 when any return probe missed a call',
      })
      .option('by', {
        type: 'string',
        describe: "group a probe's latency and misses by an argument's value (repeatable), e.g. --by work=n",
      })
      .option('syscalls', { type: 'boolean', default: false, describe: "show each run's system-call table" })
      .option('replay', {
        type: 'boolean',
        default: true,
        describe: 'replay runs that missed calls to get exact miss curves (--no-replay to skip)',
      })
      .demandCommand(1, 'give a trace file'),
} satisfies CommandSpec<unknown>;

export async function main(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return 0;
  const outputs = pickOutputs(a);
  const traces = a._;
  const runs: RunData[] = [];
  const syscalls: RunSyscalls[] = [];
  const symbols = new BinarySymbols();
  for (const t of traces) {
    const reader = openCheckedTrace(resolve(t));
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
        const o = { file: t, several: traces.length > 1, keepArgs: needsArgs(outputs), complete: provider };
        runs.push(loadReportRun(reader, id, { ...o, symbols }));
        if (a.syscalls) syscalls.push(readSyscalls(reader, id, o.several ? t : undefined));
      }
    } catch (e) {
      throw traceFailure(e, t);
    } finally {
      reader.close();
    }
  }
  const input: AnalysisInput = { runs };
  const by = ([] as unknown[]).concat(a.by ?? []).map(String); // repeated --by gives an array
  const model = buildWithOptions(input, { by, syscalls: a.syscalls ? syscalls : null });
  await writeOutputs(outputs, { model, input });
  if (a['fail-on-miss']) {
    const missed = model.json.probes.some(
      (p) => p.kind === 'kretprobe' && (p.missed ?? 0) + (p.missed_reentry ?? 0) > 0,
    );
    if (missed) {
      process.stderr.write('probe-report: return probes missed calls (--fail-on-miss)\n');
      return 1;
    }
  }
  return 0;
}

runCommand('probe-report', import.meta.url, main);
