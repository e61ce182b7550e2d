// Seed sweeps for `probe-record --runs N [--shard I/K]`. Run i of a sweep (0-based) always has seed
// `seed + i` and run id i + 1, however the sweep is split:
// - a shard I/K is the I-th of K contiguous, disjoint slices of the runs (together they are the whole
//   sweep), so shard files hold exactly the runs, ids and seeds of the unsharded sweep;
// - on a multi-core host the slice is split again across worker processes (this same command with
//   its own --seed/--runs/-o, in its own process group), each recording into a partial trace in a
//   directory beside the output; the parts are then appended to the output under their run ids.
// Guest output is printed per worker, in seed order, after it finishes. Ctrl-C / SIGTERM is passed to
// the workers once: each keeps what it recorded (a truncated run) and the parts are merged as usual.

import { profileRows } from '../probes/profile.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TraceReader } from '../trace/reader.js';
import { TraceWriter } from '../trace/writer.js';
import { CliError } from './common.js';
import { profileTable } from './profile-table.js';
import { catchStopSignal } from './stop-signal.js';

/** A contiguous range of a sweep's runs: run indexes first .. first + count - 1 (0-based). */
export interface Slice {
  first: number;
  count: number;
}

/** The slice `--shard I/K` selects out of `runs` runs (the whole sweep without --shard). */
export function shardSlice(shard: string | undefined, runs: number): Slice {
  if (shard === undefined) return { first: 0, count: runs };
  const m = /^(\d+)\/(\d+)$/.exec(shard.trim());
  const i = m ? Number(m[1]) : NaN;
  const k = m ? Number(m[2]) : NaN;
  if (!(k >= 1 && i >= 1 && i <= k))
    throw new CliError(`--shard ${shard}: expected I/K with 1 <= I <= K (e.g. --shard 1/4)`, 2);
  if (k > runs) throw new CliError(`--shard ${shard}: ${k} shards of ${runs} runs would leave some empty`, 2);
  const first = Math.floor(((i - 1) * runs) / k);
  return { first, count: Math.floor((i * runs) / k) - first };
}

/** Splits a slice into at most `parts` contiguous, non-empty slices of near-equal size. */
export function splitSlice(s: Slice, parts: number): Slice[] {
  const n = Math.max(1, Math.min(parts, s.count));
  const out: Slice[] = [];
  for (let j = 0; j < n; j++) {
    const a = Math.floor((j * s.count) / n);
    const b = Math.floor(((j + 1) * s.count) / n);
    out.push({ first: s.first + a, count: b - a });
  }
  return out;
}

/** The exit status of a recorded run, as the guest would give it (128 + signal; 1 for a failure). */
function runExitCode(r: { exitCode: number | null; signal: number | null; status: string }): number {
  if (r.exitCode !== null) return r.exitCode;
  if (r.signal !== null) return 128 + r.signal;
  return r.status === 'complete' ? 0 : 1;
}

/** Options a worker gets its own values for (valued ones take the next argument unless `=`). */
const WORKER_VALUED = new Set(['--runs', '--seed', '-s', '-o', '--output', '--shard', '--stdin']);
const WORKER_FLAGS = new Set(['--force', '-q', '--quiet']);

/** The command line minus the options a sweep worker gets its own values for. */
export function withoutWorkerOptions(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const x = args[i]!;
    const name = x.split('=')[0]!;
    if (WORKER_VALUED.has(name)) {
      if (!x.includes('=')) i++;
      continue;
    }
    if (WORKER_FLAGS.has(name)) continue;
    out.push(x);
  }
  return out;
}

export interface SweepRequest {
  /** probe-record's own command line (the workers re-run it). */
  argv: readonly string[];
  /** The sweep's first seed (run i has seed + i). */
  seed: number;
  slice: Slice;
  workers: number;
  /** Resolved output path, and the name to print for it. */
  out: string;
  outName: string;
  force: boolean;
  quiet: boolean;
  /** Standard input for every run (given to the workers as a file). */
  stdin?: Uint8Array;
}

interface Job extends Slice {
  file: string;
}

function runWorker(
  args: string[],
  register: (c: ReturnType<typeof spawn>) => void,
): Promise<{ code: number; stdout: Buffer; stderr: Buffer }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [process.argv[1]!, ...args], {
      env: { ...process.env, PROBELAB_SWEEP_WORKER: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    register(child);
    const o: Buffer[] = [];
    const e: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => o.push(b));
    child.stderr.on('data', (b: Buffer) => e.push(b));
    child.on('close', (code) => res({ code: code ?? 1, stdout: Buffer.concat(o), stderr: Buffer.concat(e) }));
  });
}

/** Records the slice in worker processes and merges their parts into `out`; returns the exit status. */
export async function sweepInParallel(req: SweepRequest): Promise<number> {
  const partsDir = mkdtempSync(`${req.out}.parts-`);
  const jobs: Job[] = splitSlice(req.slice, req.workers).map((s) => ({
    ...s,
    file: join(partsDir, `runs-${s.first + 1}.db`),
  }));
  const dd = req.argv.indexOf('--');
  const head = withoutWorkerOptions(dd >= 0 ? req.argv.slice(0, dd) : req.argv);
  const tail = dd >= 0 ? req.argv.slice(dd) : [];
  let stdinArgs: string[] = [];
  if (req.stdin) {
    const f = join(partsDir, 'stdin');
    writeFileSync(f, req.stdin);
    stdinArgs = ['--stdin', f];
  }
  if (!req.quiet)
    process.stderr.write(
      `probe-record: runs ${req.slice.first + 1}..${req.slice.first + req.slice.count} in ${jobs.length} worker processes (parts in ${partsDir})\n`,
    );
  // Workers run in their own process groups, so a terminal's Ctrl-C reaches only this process, which
  // passes it on exactly once: each worker then stops between rounds and keeps what it recorded
  // (a second signal to a worker would kill it), and the runs are merged as usual.
  const children: ReturnType<typeof spawn>[] = [];
  const stop = catchStopSignal((sig) => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  });
  const results = await Promise.all(
    jobs.map((j) =>
      runWorker(
        [
          ...head,
          '--seed',
          String(req.seed + j.first),
          '--runs',
          String(j.count),
          '-o',
          j.file,
          '--force',
          '-q',
          ...stdinArgs,
          ...tail,
        ],
        (c) => children.push(c),
      ),
    ),
  );
  stop.release();
  try {
    for (const [k, r] of results.entries()) {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (!existsSync(jobs[k]!.file))
        throw new CliError(`worker for runs ${jobs[k]!.first + 1}.. failed (exit ${r.code})`);
    }
    const writer = TraceWriter.create(req.out, { force: req.force });
    try {
      // A part's runs are numbered from 1: shift them to their place in the sweep.
      for (const j of jobs) writer.appendTrace(j.file, j.first);
    } finally {
      writer.close();
    }
  } finally {
    rmSync(partsDir, { recursive: true, force: true });
  }
  const exit = summarize(req);
  // Interrupted: the workers kept what they recorded; say so in the exit status as a single run would.
  return stop.signal !== null ? stop.exitCode() : exit;
}

/** Prints one line per merged run and the last run's profile table; returns the first failure's status. */
function summarize(req: SweepRequest): number {
  const reader = TraceReader.open(req.out);
  let exit = 0;
  try {
    const runs = reader.runs();
    for (const r of runs) {
      if (exit === 0) exit = runExitCode(r);
      if (!req.quiet)
        process.stderr.write(
          `run ${r.runId} (seed ${r.seed}): ${r.status}, ${r.instructions} instructions\n`,
        );
    }
    const last = runs[runs.length - 1];
    if (!req.quiet && last) {
      const rows = profileRows(reader.probes(last.runId));
      process.stderr.write(profileTable(rows));
      process.stderr.write(
        `trace written to ${req.outName}; run \`probe-report ${req.outName}\` for latencies and the maxactive recommendation\n`,
      );
    }
  } finally {
    reader.close();
  }
  return exit;
}
