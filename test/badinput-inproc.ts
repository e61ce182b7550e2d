// Test helper: runs a probelab command's main() in this process, as its bin entry would (the same
// failure-to-message mapping, runMain/reportFailure), and captures what it writes to stdout and
// stderr. Far cheaper than spawning node per case; the e2e suite covers the real processes.
// Not safe for commands that never return (use the fuzz worker, test/fuzz-worker.mjs, for that).

import { reportFailure } from '../src/cli/command.js';
import * as merge from '../src/cli/probe-merge.js';
import * as migrate from '../src/cli/probe-migrate.js';
import * as query from '../src/cli/probe-query.js';
import * as record from '../src/cli/probe-record.js';
import * as replay from '../src/cli/probe-replay.js';
import * as report from '../src/cli/probe-report.js';
import * as run from '../src/cli/probe-run.js';

const MAINS = {
  'probe-record': record.main,
  'probe-replay': replay.main,
  'probe-report': report.main,
  'probe-query': query.main,
  'probe-migrate': migrate.main,
  'probe-merge': merge.main,
  'probe-run': run.main,
} as const;

export type CommandName = keyof typeof MAINS;

export interface InProcResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The error main() threw (already turned into `stderr` and `code`), if any. */
  thrown: unknown;
}

/** Runs `cmd argv...` in-process; the command's stdin is treated as empty. */
export async function runInProcess(cmd: CommandName, argv: string[]): Promise<InProcResult> {
  const out: string[] = [];
  const err: string[] = [];
  const so = process.stdout.write.bind(process.stdout);
  const se = process.stderr.write.bind(process.stderr);
  const text = (c: unknown) => (typeof c === 'string' ? c : Buffer.from(c as Uint8Array).toString('utf8'));
  process.stdout.write = ((c: unknown) => (out.push(text(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: unknown) => (err.push(text(c)), true)) as typeof process.stderr.write;
  let code: number;
  let thrown: unknown;
  try {
    code = await MAINS[cmd](argv);
  } catch (e) {
    thrown = e;
    code = reportFailure(cmd, e);
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
  return { code, stdout: out.join(''), stderr: err.join(''), thrown };
}
