#!/usr/bin/env node
// probe-report: latencies, calls in flight, exact miss curves and maxactive recommendations for one or
// more runs of one or more traces, as text (default), --json, --html, --chrome and --folded. When a
// recording missed calls, the complete call set comes from a replay with unbounded pools, computed
// once and cached in the trace (the report's only write).

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runReport, type ReportCommand } from '../report/command.js';
import { CliError, isMainModule, runMain } from './common.js';

function parse(argv: string[]): ReportCommand {
  const a = yargs(argv)
    .scriptName('probe-report')
    .usage(
      '$0 TRACE [TRACE...] [--run ID|all] [--html FILE] [--json] [--by EVENT=ARG] [--syscalls] [--chrome FILE] [--folded FILE] [--fail-on-miss]',
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
    by: ([] as unknown[]).concat(a.by ?? []).map(String), // repeated --by gives an array
    syscalls: a.syscalls,
  };
}

export function main(argv: string[]): Promise<number> {
  return Promise.resolve(runReport(parse(argv)));
}

if (isMainModule(import.meta.url)) void runMain('probe-report', () => main(hideBin(process.argv)));
