#!/usr/bin/env node
// probe-record: runs a static i386 ELF (or a built-in workload) on the emulated SMP machine with
// kprobe_events-style probes and records everything into a trace database. Exits with the guest's
// exit status (128 + signal when it died of one), as strace and rr do. Sweeps (--runs, --shard) are
// planned and split across worker processes by sweep.ts; this module records runs in-process.

import { DEFAULT_CPUS, NR_CPUS_MAX, NR_CPUS_MIN, cpusProblem, mhzProblem } from '../trace/config.js';
import { profileRows } from '../probes/profile.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ElfError, Machine } from '../emulator/machine.js';
import { nullSink, recordRunAsync } from '../recorder/record.js';
import { ProbeSession, ProbeSpecError, type SessionOptions } from '../recorder/session.js';
import { TraceError } from '../trace/db.js';
import { TraceWriter, prestartTraceWriter } from '../trace/writer.js';
import { list, parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError, findWorkload, readInput, workloadBinaryPath, workloads } from './common.js';
import { guestOptions, guestWorld, machineOptionsOf, type GuestWorld } from './guest-options.js';
import { claimOutput } from './output-claim.js';
import { profileTable } from './profile-table.js';
import { Progress } from './progress.js';
import { catchStopSignal } from './stop-signal.js';
import { specHint } from './spec-hints.js';
import { shardSlice, sweepInParallel, type Slice } from './sweep.js';
import { runNotes } from '../emulator/notes.js';
import { parseByteSize } from '../emulator/memory.js';
import { escapeControls, escapeLines } from './terminal.js';

export const spec = {
  name: 'probe-record',
  usage:
    '$0 [OPTIONS] [ELF] [-- ARGS...]\n\n' +
    'Record a run of a static i386 program (default: the built-in server demo) with probes. Options go\n' +
    'before or after the ELF; guest arguments after --.',
  options: (y) =>
    guestOptions(y)
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
      .option('shard', {
        type: 'string',
        describe: 'with --runs: record only the I-th of K disjoint slices of the runs (I/K, 1-based)',
      })
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
      .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing output file' })
      .option('max-output', {
        type: 'string',
        describe:
          "guest stdout+stderr bytes stored per run, e.g. 0, 512K or 1G (default 64M); the guest's writes still succeed, the run is marked output_truncated",
      }),
  strict: 'options',
} satisfies CommandSpec<unknown>;
function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new CliError(`--${name} must be an integer in ${lo}..${hi}, got ${v}`, 2);
}

/** What to run: the binary, its name in the trace, its argv and the probe specs. */
interface Target {
  binary: Uint8Array;
  name: string;
  argv: string[];
  probes: string[];
}

function resolveTarget(a: {
  elf: string | undefined;
  guestArgs: string[];
  workload?: string;
  probe: string[];
  probeFile?: string;
}): Target {
  if (a.elf && a.workload) throw new CliError('give either an ELF or --workload, not both', 2);
  let probes = [...a.probe];
  if (a.probeFile)
    probes.push(
      ...Buffer.from(readInput(a.probeFile, 'probe file'))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#')),
    );
  if (a.elf)
    return { binary: readInput(a.elf, 'ELF'), name: basename(a.elf), argv: [a.elf, ...a.guestArgs], probes };
  const w = findWorkload(a.workload ?? workloads().default);
  if (probes.length === 0 && !a.probeFile) probes = [...w.probes];
  return {
    binary: readInput(workloadBinaryPath(w), 'workload binary'),
    name: w.name,
    argv: [w.name, ...(a.guestArgs.length ? a.guestArgs : w.default_args)],
    probes,
  };
}

/** The target's function names (for hints; none when it cannot be loaded). */
function functionNames(t: Target): string[] {
  try {
    return Machine.load(t.binary, { argv: t.argv })
      .symbols.functions()
      .map((s) => s.name);
  } catch {
    return [];
  }
}

/** Everything a run of the sweep shares; each run adds its seed. */
interface RunPlan {
  target: Target;
  world: GuestWorld;
  session: Omit<SessionOptions, 'seed' | 'probes' | 'argv'>;
  seed: number;
  slice: Slice;
  runs: number;
  quiet: boolean;
  /** --max-output in bytes (undefined: the recorder's default). */
  outputLimit: number | undefined;
}

/**
 * Records the runs of `plan.slice` in this process into `writer` (run ids from 1); returns the exit
 * status. Ctrl-C / SIGTERM end the recording between two scheduling rounds: everything recorded so
 * far is written, the run is kept as 'truncated' (replayable to the same point), and later runs are
 * not started. A second signal is not caught: SIGKILL semantics (run 'incomplete').
 */
async function recordSlice(writer: TraceWriter, plan: RunPlan): Promise<number> {
  const { target, world, slice } = plan;
  let exit = 0;
  const progress = new Progress(!plan.quiet && process.stderr.isTTY === true);
  const stop = catchStopSignal();
  try {
    for (let r = 0; r < slice.count && stop.signal === null; r++) {
      const index = slice.first + r;
      const seed = plan.seed + index;
      const outcome = await recordRunAsync(
        writer,
        {
          workload: target.name,
          binary: target.binary,
          session: { ...plan.session, argv: target.argv, seed, probes: target.probes },
          extraConfig: {
            stdinPath: world.stdinSource,
            ...(world.cpuModel !== undefined ? { cpuModel: world.cpuModel } : {}),
          },
          validated: true,
          ...(plan.outputLimit !== undefined ? { outputLimit: plan.outputLimit } : {}),
          onProgress: (n) => progress.update(n, `run ${index + 1}/${plan.runs}`),
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
      if (plan.quiet) continue;
      if (res.status !== 'exited' && !outcome.interrupted)
        process.stderr.write(
          `probe-record: guest ${escapeControls(res.message)}\n${res.dump ? escapeLines(res.dump) + '\n' : ''}`,
        );
      for (const line of runNotes(res, 'probe-record')) process.stderr.write(`${escapeControls(line)}\n`);
      if (plan.runs > 1)
        process.stderr.write(
          `run ${index + 1} (seed ${seed}): ${outcome.status}, ${res.instructions} instructions, ${outcome.events} events\n`,
        );
      if (r === slice.count - 1 || stop.signal !== null) {
        const rows = profileRows(
          outcome.session.counters().map((c) => ({ ...c, ...outcome.session.probes[c.probeId - 1]! })),
        );
        process.stderr.write(profileTable(rows));
      }
    }
  } catch (e) {
    progress.done();
    if (e instanceof ProbeSpecError) throw new CliError(e.message, 2);
    if (e instanceof ElfError) throw new CliError(escapeControls(e.message));
    throw e;
  } finally {
    stop.release();
  }
  return exit;
}

function createTrace(path: string, force: boolean): TraceWriter {
  try {
    return TraceWriter.create(path, { force });
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  }
}

/**
 * Records the slice in this process. A slice that does not start at the sweep's first run (a shard)
 * is recorded into a temporary trace and appended to the output under its sweep run ids.
 */
async function recordHere(plan: RunPlan, out: string, force: boolean): Promise<number> {
  if (plan.slice.first === 0) {
    const writer = createTrace(out, force);
    try {
      return await recordSlice(writer, plan);
    } finally {
      writer.close();
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'probelab-shard-'));
  try {
    const part = join(dir, 'part.db');
    const writer = createTrace(part, false);
    let exit: number;
    try {
      exit = await recordSlice(writer, plan);
    } finally {
      writer.close();
    }
    const dest = createTrace(out, force);
    try {
      dest.appendTrace(part, plan.slice.first);
    } finally {
      dest.close();
    }
    return exit;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return 0;
  if (a['list-workloads']) {
    const w = workloads();
    for (const x of w.list)
      process.stdout.write(
        `${x.name.padEnd(10)} ${x.description}${x.name === w.default ? ' (default)' : ''}\n`,
      );
    return 0;
  }
  if (a._.length > 1) throw new CliError(`unexpected argument '${a._[1]}' (guest arguments go after --)`, 2);
  const cpus = cpusProblem(a.cpus);
  if (cpus) throw new CliError(`--cpus ${cpus}, got ${a.cpus}`, 2);
  checkInt('runs', a.runs, 1, 100000);
  checkInt('seed', a.seed, 0, 0xffffffff);
  const mhz = mhzProblem(a.mhz);
  if (mhz) throw new CliError(`--mhz ${mhz}, got ${a.mhz}`, 2);
  const slice = shardSlice(a.shard, a.runs);
  const outputLimit = a['max-output'] === undefined ? undefined : parseByteSize(String(a['max-output']));
  if (outputLimit === null)
    throw new CliError(
      `--max-output ${escapeControls(String(a['max-output']))}: expected a byte count such as 0, 512K or 1G`,
      2,
    );
  const elf = a._[0];
  const target = resolveTarget({
    elf,
    guestArgs: a['--'],
    workload: a.workload,
    probe: list(a.probe),
    probeFile: a['probe-file'],
  });

  if (a['list-symbols']) {
    let m: Machine;
    try {
      m = Machine.load(target.binary, { argv: target.argv });
    } catch (e) {
      if (e instanceof ElfError)
        throw new CliError(`${escapeControls(elf ?? target.name)}: ${escapeControls(e.message)}`);
      throw e;
    }
    for (const s of m.symbols.functions())
      process.stdout.write(
        `${(s.addr >>> 0).toString(16).padStart(8, '0')} ${String(s.size).padStart(6)} ${escapeControls(s.name)}\n`,
      );
    return 0;
  }

  const workers = Math.min(availableParallelism(), slice.count, 8);
  // The trace store's thread loads SQLite while the guest and the probes are checked below.
  if (workers === 1 || process.env.PROBELAB_SWEEP_WORKER) prestartTraceWriter();
  const world = await guestWorld(a);
  const session: RunPlan['session'] = {
    ...machineOptionsOf(world),
    cpus: a.cpus,
    preempt: a.preempt,
    chaos: a.chaos,
    mhz: a.mhz,
    detectReturnAddressReads: a['watch-retaddr'],
    onStdout: (b) => process.stdout.write(b),
    onStderr: (b) => process.stderr.write(b),
  };
  try {
    // Validate the binary and the probes before touching the output file: a bad ELF is an error,
    // a bad spec a usage error, and neither may create or replace the output.
    new ProbeSession(
      target.binary,
      { ...session, argv: target.argv, seed: a.seed, probes: target.probes, captureOutput: false },
      nullSink(),
    );
  } catch (e) {
    if (e instanceof ElfError)
      throw new CliError(`${escapeControls(elf ?? target.name)}: ${escapeControls(e.message)}`);
    if (e instanceof ProbeSpecError) {
      const hint = specHint(e.code, e.message, () => functionNames(target));
      throw new CliError(hint ? `${e.message}\n  ${hint}` : e.message, 2);
    }
    throw e;
  }
  const out = resolve(a.output);
  // Only a regular file is replaced, and only one writer at a time (output-claim.ts).
  const claim = claimOutput(out, a.output, a.force);
  try {
    const plan: RunPlan = {
      target,
      world,
      session,
      seed: a.seed,
      slice,
      runs: a.runs,
      quiet: a.quiet,
      outputLimit,
    };
    if (workers > 1 && !process.env.PROBELAB_SWEEP_WORKER)
      return await sweepInParallel({
        argv,
        seed: a.seed,
        slice,
        workers,
        out,
        outName: a.output,
        force: a.force,
        quiet: a.quiet,
        stdin: world.stdin,
      });
    const exit = await recordHere(plan, out, a.force);
    if (!a.quiet)
      process.stderr.write(
        `trace written to ${a.output}; run \`probe-report ${a.output}\` for latencies and the maxactive recommendation\n`,
      );
    return exit;
  } finally {
    claim.release();
  }
}

runCommand('probe-record', import.meta.url, main);
