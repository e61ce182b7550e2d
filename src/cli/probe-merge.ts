#!/usr/bin/env node
// probe-merge: joins trace files into one, keeping every run's id: the shards of a sweep
// (`probe-record --runs N --shard I/K`) become the file the unsharded sweep would have written. Runs
// are copied in run-id order; a run id found in two inputs (overlapping shards, or the same file
// twice) is refused and nothing is written.

import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { TraceError } from '../trace/db.js';
import { TraceWriter } from '../trace/writer.js';
import { parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError, openCheckedTrace } from './common.js';
import { claimOutput } from './output-claim.js';

export const spec = {
  name: 'probe-merge',
  usage:
    '$0 OUT TRACE...\n\n' +
    'Join traces (the shards of a sweep) into OUT, keeping each run its id. Run ids must not repeat.',
  options: (y) =>
    y
      .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing OUT' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing on success' })
      .demandCommand(2, 'give the output file and at least one trace to merge'),
} satisfies CommandSpec<unknown>;

/** The run ids a trace holds. */
function runIds(path: string): number[] {
  const r = openCheckedTrace(path);
  try {
    return r.runs().map((x) => x.runId);
  } finally {
    r.close();
  }
}

export function main(argv: string[]): number {
  const a = parseCommand(spec, argv);
  if (!a) return 0;
  const [outName, ...inputs] = a._ as [string, ...string[]];
  const out = resolve(outName);
  if (inputs.some((t) => resolve(t) === out))
    throw new CliError(`${outName} is both the output and an input`, 2);
  const claim = claimOutput(out, outName, a.force);
  try {
    // Check every input first (readable, run ids disjoint), so a bad one leaves no output behind.
    const owner = new Map<number, string>();
    const files = inputs.map((t) => {
      const ids = runIds(resolve(t));
      for (const id of ids) {
        const other = owner.get(id);
        if (other !== undefined)
          throw new CliError(`run ${id} is in both ${other} and ${t} (overlapping shards?)`);
        owner.set(id, t);
      }
      return { path: resolve(t), first: ids.length ? Math.min(...ids) : Infinity, runs: ids.length };
    });
    files.sort((x, y) => x.first - y.first);
    const writer = TraceWriter.create(out, { force: a.force });
    let done = false;
    try {
      for (const f of files) if (f.runs > 0) writer.appendTrace(f.path, 0);
      done = true;
    } finally {
      writer.close();
      if (!done) for (const s of ['', '-wal', '-shm', '-journal']) rmSync(out + s, { force: true });
    }
    if (!a.quiet)
      process.stderr.write(`merged ${owner.size} runs from ${inputs.length} traces into ${outName}\n`);
    return 0;
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  } finally {
    claim.release();
  }
}

runCommand('probe-merge', import.meta.url, main);
