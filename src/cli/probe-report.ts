#!/usr/bin/env node
// probe-report: latencies, calls in flight, exact miss curves and maxactive recommendations for one or
// more runs of one or more traces, as text (default), --json, --html, --chrome and --folded. When a
// recording missed calls, the complete call set comes from a replay with unbounded pools, computed
// once and cached in the trace (the report's only write).

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadRun, type CompleteCallSetProvider } from '../analysis/load.js';
import type { AnalysisInput, RunData } from '../analysis/model.js';
import { buildReport } from '../analysis/summary.js';
import { writeChromeTrace } from '../report/chrome.js';
import { renderFolded } from '../report/folded.js';
import { renderHtml } from '../report/html.js';
import { renderJson } from '../report/json.js';
import { renderText } from '../report/text.js';
import { TraceError } from '../trace/db.js';
import { TraceReader } from '../trace/reader.js';
import { CliError, isMainModule, runMain } from './common.js';
import { completeCallSetProvider } from '../replay/complete.js';

interface ReportArgs {
  traces: string[];
  run: string;
  html?: string;
  json: boolean;
  chrome?: string;
  folded?: string;
  failOnMiss: boolean;
  replay: boolean;
}

function parse(argv: string[]): ReportArgs {
  const a = yargs(argv)
    .scriptName('probe-report')
    .usage(
      '$0 TRACE [TRACE...] [--run ID|all] [--html FILE] [--json] [--chrome FILE] [--folded FILE] [--fail-on-miss]',
    )
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
    .option('replay', {
      type: 'boolean',
      default: true,
      describe: 'replay runs that missed calls to get exact miss curves (--no-replay to skip)',
    })
    .demandCommand(1, 'give a trace file')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new CliError(err ? err.message : msg, 2);
    })
    .parseSync();
  return {
    traces: a._.map(String),
    run: a.run,
    html: a.html,
    json: a.json,
    chrome: a.chrome,
    folded: a.folded,
    failOnMiss: a['fail-on-miss'],
    replay: a.replay,
  };
}

function openReader(path: string): TraceReader {
  try {
    return TraceReader.open(resolve(path));
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  }
}

export async function main(argv: string[]): Promise<number> {
  const a = parse(argv);
  const runs: RunData[] = [];
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
      for (const id of ids)
        runs.push(loadRun(reader, id, { keepArgs: !!(a.chrome || a.folded), complete: provider }));
    } finally {
      reader.close();
    }
  }
  const input: AnalysisInput = { runs };
  const model = buildReport(input);
  if (a.json) process.stdout.write(renderJson(model.json));
  else process.stdout.write(renderText(model));
  try {
    if (a.html) writeFileSync(a.html, renderHtml(model));
    if (a.folded) writeFileSync(a.folded, renderFolded(input));
    if (a.chrome) {
      const chunks: string[] = [];
      writeChromeTrace(input, (c) => chunks.push(c));
      writeFileSync(a.chrome, chunks.join(''));
    }
  } catch (e) {
    throw new CliError(`cannot write report: ${(e as NodeJS.ErrnoException).message.split('\n')[0]}`);
  }
  if (a.failOnMiss) {
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

if (isMainModule(import.meta.url)) void runMain('probe-report', () => main(hideBin(process.argv)));
