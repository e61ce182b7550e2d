#!/usr/bin/env node
// probe-record: runs a static i386 ELF (or a built-in workload) on the emulated SMP machine with
// kprobe_events-style probes and records everything into a trace database. Exits with the guest's
// exit status (128 + signal when it died of one), as strace and rr do.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ElfError, Machine } from '../emulator/machine.js';
import { formatProfile, profileRows } from '../probes/profile.js';
import { nullSink, recordRunAsync } from '../recorder/record.js';
import { ProbeSession, ProbeSpecError } from '../recorder/session.js';
import { DEFAULT_CPUS, NR_CPUS_MAX, NR_CPUS_MIN, cpusProblem } from '../trace/config.js';
import { TraceWriter } from '../trace/writer.js';
import { TraceError } from '../trace/db.js';
import { TraceReader } from '../trace/reader.js';
import { list, parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError, findWorkload, readInput, workloadBinaryPath, workloads } from './common.js';
import { Progress } from './progress.js';

export interface RecordArgs {
  elf?: string;
  guestArgs: string[];
  workload?: string;
  output: string;
  probe: string[];
  probeFile?: string;
  cpus: number;
  preempt: boolean;
  seed: number;
  chaos: boolean;
  runs: number;
  maxInstructions?: number;
  allowRead: string[];
  stdin?: string;
  mhz: number;
  watchRetaddr: boolean;
  quiet: boolean;
  force: boolean;
  listWorkloads: boolean;
  listSymbols: boolean;
}

export const spec = {
  name: 'probe-record',
  usage:
    '$0 [ELF] [-- ARGS...]\n\nRecord a run of a static i386 program (default: the built-in server demo) with probes.',
  options: (y) =>
    y
      .option('workload', {
        alias: 'w',
        type: 'string',
        describe: 'built-in workload to run instead of an ELF',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        default: 'trace.db',
        describe: 'trace database to write',
      })
      .option('probe', {
        alias: 'p',
        type: 'string',
        describe: 'probe spec (kprobe_events syntax), repeatable',
      })
      .option('probe-file', { alias: 'f', type: 'string', describe: 'file with one probe spec per line' })
      .option('cpus', {
        alias: 'c',
        type: 'number',
        default: DEFAULT_CPUS,
        describe: `virtual CPUs (NR_CPUS), ${NR_CPUS_MIN}..${NR_CPUS_MAX}`,
      })
      .option('preempt', {
        type: 'boolean',
        default: true,
        describe: 'CONFIG_PREEMPT: timer ticks switch tasks (--no-preempt to disable)',
      })
      .option('seed', {
        alias: 's',
        type: 'number',
        default: 1,
        describe: 'seed for chaos scheduling, AT_RANDOM and getrandom',
      })
      .option('chaos', {
        type: 'boolean',
        default: false,
        describe: 'randomize slice lengths and tick phases from the seed',
      })
      .option('runs', {
        type: 'number',
        default: 1,
        describe: 'record N runs with seeds seed..seed+N-1 into one database',
      })
      .option('max-instructions', {
        type: 'number',
        describe: 'stop the guest after this many instructions (status truncated)',
      })
      .option('allow-read', {
        type: 'string',
        describe: 'directory the guest may read (default: the current directory)',
      })
      .option('stdin', { type: 'string', describe: 'file to feed to the guest as standard input' })
      .option('watch-retaddr', {
        type: 'boolean',
        default: false,
        describe: 'record retaddr_read events when guest code reads a hijacked return address (K20)',
      })
      .option('mhz', {
        type: 'number',
        default: 1000,
        describe: 'virtual clock rate for cycle → ns conversion',
      })
      .option('list-workloads', {
        type: 'boolean',
        default: false,
        describe: 'list the built-in workloads and exit',
      })
      .option('list-symbols', {
        type: 'boolean',
        default: false,
        describe: 'list the functions of the ELF (address, size) and exit',
      })
      .option('quiet', {
        alias: 'q',
        type: 'boolean',
        default: false,
        describe: 'no profile table, hints or progress',
      })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing output file' }),
  strict: 'options',
} satisfies CommandSpec<unknown>;

function parseArgs(argv: string[]): RecordArgs | null {
  const a = parseCommand(spec, argv);
  if (!a) return null;
  const positional = a._;
  if (positional.length > 1)
    throw new CliError(`unexpected argument '${positional[1]}' (guest arguments go after --)`, 2);
  return {
    elf: positional[0],
    guestArgs: a['--'],
    workload: a.workload,
    output: a.output,
    probe: list(a.probe),
    probeFile: a['probe-file'],
    cpus: a.cpus,
    preempt: a.preempt,
    seed: a.seed,
    chaos: a.chaos,
    runs: a.runs,
    maxInstructions: a['max-instructions'],
    allowRead: list(a['allow-read']),
    stdin: a.stdin,
    mhz: a.mhz,
    watchRetaddr: a['watch-retaddr'],
    quiet: a.quiet,
    force: a.force,
    listWorkloads: a['list-workloads'],
    listSymbols: a['list-symbols'],
  };
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new CliError(`--${name} must be an integer in ${lo}..${hi}, got ${v}`, 2);
}

/** The command line minus the options a sweep worker gets its own values for. */
function withoutOptions(args: string[]): string[] {
  const valued = new Set(['--runs', '--seed', '-s', '-o', '--output']);
  const flags = new Set(['--force', '-q', '--quiet']);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const x = args[i]!;
    const name = x.split('=')[0]!;
    if (valued.has(name)) {
      if (!x.includes('=')) i++;
      continue;
    }
    if (flags.has(name)) continue;
    out.push(x);
  }
  return out;
}

/**
 * `--runs N` on a multi-core host: worker processes record contiguous seed ranges into temporary
 * traces (this same command, re-run with the range), then the runs are merged into the output in seed
 * order. Guest output is printed per worker, in seed order, after it finishes.
 */
/**
 * Catches the first SIGINT or SIGTERM (a second one gets Node's default: the process dies at once).
 * `signal` is the one caught, or null; `exitCode` is 128 + its number; `release()` stops catching.
 */
function catchStopSignal(onStop: (sig: NodeJS.Signals) => void = () => {}) {
  const state = {
    signal: null as NodeJS.Signals | null,
    exitCode: (): number => 128 + (state.signal === 'SIGTERM' ? 15 : 2),
    release: (): void => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
  const handler = (sig: NodeJS.Signals): void => {
    state.signal = sig;
    state.release();
    onStop(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return state;
}

async function sweepInParallel(a: RecordArgs, argv: string[], out: string, workers: number): Promise<number> {
  const tmpDir = mkdtempSync(join(tmpdir(), 'probelab-sweep-'));
  const per = Math.ceil(a.runs / workers);
  const jobs: Array<{ seed: number; runs: number; file: string }> = [];
  for (let s = 0; s < a.runs; s += per)
    jobs.push({ seed: a.seed + s, runs: Math.min(per, a.runs - s), file: join(tmpDir, `w${s}.db`) });
  const dd = argv.indexOf('--');
  const head = withoutOptions(dd >= 0 ? argv.slice(0, dd) : argv);
  const tail = dd >= 0 ? argv.slice(dd) : [];
  if (!a.quiet) process.stderr.write(`probe-record: ${a.runs} runs in ${jobs.length} worker processes\n`);
  // Workers run in their own process groups, so a terminal's Ctrl-C reaches only this process, which
  // passes it on exactly once: each worker then stops between rounds and keeps what it recorded
  // (a second signal to a worker would kill it), and the runs are merged as usual.
  const children: ReturnType<typeof spawn>[] = [];
  const stop = catchStopSignal((sig) => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  });
  const results = await Promise.all(
    jobs.map(
      (j) =>
        new Promise<{ code: number; stdout: Buffer; stderr: Buffer }>((res) => {
          const child = spawn(
            process.execPath,
            [
              process.argv[1]!,
              ...head,
              '--seed',
              String(j.seed),
              '--runs',
              String(j.runs),
              '-o',
              j.file,
              '--force',
              '-q',
              ...tail,
            ],
            {
              env: { ...process.env, PROBELAB_SWEEP_WORKER: '1' },
              stdio: ['ignore', 'pipe', 'pipe'],
              detached: true,
            },
          );
          children.push(child);
          const o: Buffer[] = [];
          const e: Buffer[] = [];
          child.stdout.on('data', (b: Buffer) => o.push(b));
          child.stderr.on('data', (b: Buffer) => e.push(b));
          child.on('close', (code) =>
            res({ code: code ?? 1, stdout: Buffer.concat(o), stderr: Buffer.concat(e) }),
          );
        }),
    ),
  );
  stop.release();
  try {
    for (const [k, r] of results.entries()) {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (!existsSync(jobs[k]!.file))
        throw new CliError(`worker for seeds ${jobs[k]!.seed}.. failed (exit ${r.code})`);
    }
    const writer = TraceWriter.create(out, { force: a.force });
    try {
      for (const j of jobs) writer.appendTrace(j.file);
    } finally {
      writer.close();
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const reader = TraceReader.open(out);
  let exit = 0;
  try {
    const runs = reader.runs();
    for (const r of runs) {
      const code =
        r.exitCode !== null
          ? r.exitCode
          : r.signal !== null
            ? 128 + r.signal
            : r.status === 'complete'
              ? 0
              : 1;
      if (exit === 0) exit = code;
      if (!a.quiet)
        process.stderr.write(
          `run ${r.runId} (seed ${r.seed}): ${r.status}, ${r.instructions} instructions\n`,
        );
    }
    // Interrupted: the workers kept what they recorded; say so in the exit status as a single run would.
    if (stop.signal !== null) exit = stop.exitCode();
    const last = runs[runs.length - 1];
    if (!a.quiet && last) {
      const rows = profileRows(reader.probes(last.runId));
      if (rows.length) process.stderr.write(formatProfile(rows));
      process.stderr.write(
        `trace written to ${a.output}; run \`probe-report ${a.output}\` for latencies and the maxactive recommendation\n`,
      );
    }
  } finally {
    reader.close();
  }
  return exit;
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (!a) return 0;
  if (a.listWorkloads) {
    const w = workloads();
    for (const x of w.list)
      process.stdout.write(
        `${x.name.padEnd(10)} ${x.description}${x.name === w.default ? ' (default)' : ''}\n`,
      );
    return 0;
  }
  const cpus = cpusProblem(a.cpus);
  if (cpus) throw new CliError(`--cpus ${cpus}, got ${a.cpus}`, 2);
  checkInt('runs', a.runs, 1, 100000);
  checkInt('seed', a.seed, 0, 0xffffffff);
  if (a.maxInstructions !== undefined)
    checkInt('max-instructions', a.maxInstructions, 1, Number.MAX_SAFE_INTEGER);
  if (!(a.mhz > 0)) throw new CliError(`--mhz must be positive, got ${a.mhz}`, 2);
  if (a.elf && a.workload) throw new CliError('give either an ELF or --workload, not both', 2);

  let binary: Uint8Array;
  let workloadName: string;
  let guestArgv: string[];
  let probes: string[] = [...a.probe];
  if (a.probeFile)
    probes.push(
      ...Buffer.from(readInput(a.probeFile, 'probe file'))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#')),
    );
  if (a.elf) {
    binary = readInput(a.elf, 'ELF');
    workloadName = basename(a.elf);
    guestArgv = [a.elf, ...a.guestArgs];
  } else {
    const w = findWorkload(a.workload ?? workloads().default);
    binary = readInput(workloadBinaryPath(w), 'workload binary');
    workloadName = w.name;
    guestArgv = [w.name, ...(a.guestArgs.length ? a.guestArgs : w.default_args)];
    if (probes.length === 0 && !a.probeFile) probes = [...w.probes];
  }

  if (a.listSymbols) {
    let m: Machine;
    try {
      m = Machine.load(binary, { argv: guestArgv });
    } catch (e) {
      if (e instanceof ElfError) throw new CliError(`${a.elf ?? workloadName}: ${e.message}`);
      throw e;
    }
    for (const s of m.symbols.functions())
      process.stdout.write(
        `${(s.addr >>> 0).toString(16).padStart(8, '0')} ${String(s.size).padStart(6)} ${s.name}\n`,
      );
    return 0;
  }

  const stdin = a.stdin ? readInput(a.stdin, '--stdin file') : undefined;
  const out = resolve(a.output);
  let writer: TraceWriter;
  try {
    // Validate the binary and the probes before touching the output file: a bad ELF is an error,
    // a bad spec a usage error, and neither may create or replace the output.
    new ProbeSession(
      binary,
      {
        argv: guestArgv,
        env: [],
        cpus: a.cpus,
        preempt: a.preempt,
        seed: a.seed,
        probes,
        captureOutput: false,
      },
      nullSink(),
    );
  } catch (e) {
    if (e instanceof ElfError) throw new CliError(`${a.elf ?? workloadName}: ${e.message}`);
    if (e instanceof ProbeSpecError) throw new CliError(e.message, 2);
    throw e;
  }
  if (existsSync(out) && !a.force) throw new CliError(`${a.output} exists; use --force to overwrite`);
  const workers = Math.min(availableParallelism(), a.runs, 8);
  if (workers > 1 && !process.env.PROBELAB_SWEEP_WORKER) return sweepInParallel(a, argv, out, workers);
  try {
    writer = TraceWriter.create(out, { force: a.force });
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  }
  let exit = 0;
  const progress = new Progress(!a.quiet && process.stderr.isTTY === true);
  // Ctrl-C / SIGTERM end the recording between two scheduling rounds: everything recorded so far is
  // written, the run is kept as 'truncated' (replayable to the same point), and later runs of a
  // sweep are not started. A second signal is not caught: SIGKILL semantics (run 'incomplete').
  const stop = catchStopSignal();
  try {
    for (let r = 0; r < a.runs && stop.signal === null; r++) {
      const seed = a.seed + r;
      const outcome = await recordRunAsync(
        writer,
        {
          workload: workloadName,
          binary,
          session: {
            argv: guestArgv,
            env: [],
            cpus: a.cpus,
            preempt: a.preempt,
            seed,
            chaos: a.chaos,
            mhz: a.mhz,
            detectReturnAddressReads: a.watchRetaddr,
            maxInstructions: a.maxInstructions,
            allowRead: a.allowRead.length ? a.allowRead.map((d) => resolve(d)) : undefined,
            stdin,
            probes,
            onStdout: (b) => process.stdout.write(b),
            onStderr: (b) => process.stderr.write(b),
          },
          extraConfig: { stdinPath: a.stdin ?? null },
          validated: true,
          onProgress: (n) => progress.update(n, `run ${r + 1}/${a.runs}`),
        },
        () => stop.signal !== null,
      );
      progress.done();
      if (outcome.interrupted) {
        process.stderr.write(
          `probe-record: ${stop.signal ?? 'signal'}: stopped after ${outcome.result.instructions} instructions; run ${outcome.runId} is kept as 'truncated' (${outcome.events} events)\n`,
        );
        exit = stop.exitCode();
      }
      const res = outcome.result;
      const code =
        res.status === 'exited'
          ? (res.exitCode ?? 0)
          : res.status === 'signaled'
            ? 128 + (res.signal ?? 0)
            : 1;
      if (exit === 0) exit = code;
      if (!a.quiet) {
        if (res.status !== 'exited' && !outcome.interrupted)
          process.stderr.write(`probe-record: guest ${res.message}\n${res.dump ? res.dump + '\n' : ''}`);
        const rows = profileRows(
          outcome.session.counters().map((c) => ({ ...c, ...outcome.session.probes[c.probeId - 1]! })),
        );
        if (a.runs > 1)
          process.stderr.write(
            `run ${outcome.runId} (seed ${seed}): ${outcome.status}, ${res.instructions} instructions, ${outcome.events} events\n`,
          );
        if (rows.length && (a.runs === 1 || r === a.runs - 1)) process.stderr.write(formatProfile(rows));
      }
    }
  } catch (e) {
    progress.done();
    writer.close();
    if (e instanceof ProbeSpecError) throw new CliError(e.message, 2);
    if (e instanceof ElfError) throw new CliError(e.message);
    throw e;
  } finally {
    stop.release();
  }
  writer.close();
  if (!a.quiet)
    process.stderr.write(
      `trace written to ${a.output}; run \`probe-report ${a.output}\` for latencies and the maxactive recommendation\n`,
    );
  return exit;
}

runCommand('probe-record', import.meta.url, main);
