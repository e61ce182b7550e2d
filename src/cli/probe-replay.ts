#!/usr/bin/env node
// probe-replay: re-executes recorded runs from the trace database alone. Verify (the default)
// compares every event, the schedule, the inputs, the guest output and the final state with the
// recording and exits 0 only when all of it matched; on a difference it prints the first divergent
// event (number, recorded, replayed, instruction count) and exits 1. What-if (-p, --maxactive,
// -o) replays with other probes or pool sizes, writes the replay as a new run (replay_of set) and
// prints the profile table; it exits 1 if the probes changed the guest's behaviour.

import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAXACTIVE_MAX } from '../probes/kinds.js';
import { storeCompleteCallSet } from '../replay/complete.js';
import { ReplayError, replayRun, type ReplayOutcome } from '../replay/replay.js';
import { UNBOUNDED } from '../trace/config.js';
import { TraceError } from '../trace/db.js';
import { TraceReader, type RunRow } from '../trace/reader.js';
import { TraceWriter } from '../trace/writer.js';
import { glueDashValues, list, parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError, openCheckedTrace, traceFailure } from './common.js';
import { profileTable } from './profile-table.js';
import { Progress } from './progress.js';
import { specHint } from './spec-hints.js';
import { parseElf } from '../emulator/elf.js';
import { escapeLines } from './terminal.js';

export interface ReplayArgs {
  trace: string;
  run?: number;
  verify: boolean;
  complete: boolean;
  output?: string;
  probe: string[];
  maxactive: string[];
  quiet: boolean;
  force: boolean;
}

export const spec = {
  name: 'probe-replay',
  usage:
    '$0 TRACE [--run ID] [--verify] [-o OUT] [-p SPEC...] [--maxactive EVENT=N...]\n\n' +
    'Re-execute recorded runs from the trace alone. Default: verify every event against the recording.\n' +
    'With -p/--maxactive/-o: a what-if replay with other probes or pool sizes, written as a new run.',
  options: (y) =>
    y
      .option('run', {
        type: 'number',
        describe: 'run to replay (default: every run for verify; the only run for what-if)',
      })
      .option('verify', {
        type: 'boolean',
        default: false,
        describe: 'compare everything with the recording (the default without -p/--maxactive/-o)',
      })
      .option('complete', {
        type: 'boolean',
        default: false,
        describe:
          'store the complete call set of each run (a replay with unbounded pools) in TRACE: the complete_calls view',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        describe: 'what-if: trace database to write the replay into',
      })
      .option('probe', {
        alias: 'p',
        type: 'string',
        describe: "what-if: add a probe (kprobe_events syntax) or remove one ('-:EVENT'), repeatable",
      })
      .option('maxactive', {
        type: 'string',
        describe: `what-if: pool size of a kretprobe, EVENT=N (1..${MAXACTIVE_MAX} or 'unbounded'), repeatable`,
      })
      .option('quiet', {
        alias: 'q',
        type: 'boolean',
        default: false,
        describe: 'only failures; no profile table or progress',
      })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'write into an existing OUT (append to a trace; replace any other file)',
      }),
  strict: 'options',
} satisfies CommandSpec<unknown>;

function parseArgs(argv: string[]): ReplayArgs | null {
  const a = parseCommand(spec, glueDashValues(argv, ['-p', '--probe']));
  if (!a) return null;
  const positional = a._;
  if (positional.length === 0) throw new CliError('missing TRACE (the trace database to replay)', 2);
  if (positional.length > 1) throw new CliError(`unexpected argument '${positional[1]}'`, 2);
  return {
    trace: positional[0]!,
    run: a.run,
    verify: a.verify,
    complete: a.complete,
    output: a.output,
    probe: list(a.probe),
    maxactive: list(a.maxactive),
    quiet: a.quiet,
    force: a.force,
  };
}

/** `EVENT=N` options → overrides (N = 1..4096, or 'unbounded'/'inf' for an unbounded pool). */
export function parseMaxactive(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^([^=\s]+)=(\S+)$/.exec(item.trim());
    if (!m) throw new CliError(`--maxactive ${item}: expected EVENT=N`, 2);
    const v = m[2]!.toLowerCase();
    let n: number;
    if (v === 'unbounded' || v === 'inf' || v === 'infinity') n = UNBOUNDED;
    else if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= MAXACTIVE_MAX) n = Number(v);
    else throw new CliError(`--maxactive ${item}: N must be 1..${MAXACTIVE_MAX} or 'unbounded'`, 2);
    out[m[1]!] = n;
  }
  return out;
}

function pickRuns(reader: TraceReader, run: number | undefined, whatif: boolean): RunRow[] {
  if (run !== undefined) {
    if (!Number.isInteger(run) || run < 1)
      throw new CliError(`--run must be a positive integer, got ${run}`, 2);
    return [reader.run(run)];
  }
  const runs = reader.runs();
  if (runs.length === 0) throw new CliError(`${reader.path} holds no runs`);
  if (whatif && runs.length > 1)
    throw new CliError(
      `${reader.path} holds ${runs.length} runs (${runs.map((r) => r.runId).join(', ')}); choose one with --run`,
      2,
    );
  return runs;
}

/** The function names of a stored binary ([] when it cannot be parsed). */
function functionNamesOf(binary: Uint8Array): string[] {
  return parseElf(new Uint8Array(binary))
    .symbols.functions()
    .map((s) => s.name);
}

function safeNames(f: () => string[]): string[] {
  try {
    return f();
  } catch {
    return [];
  }
}

function divergenceText(o: ReplayOutcome): string {
  return o.divergence ? o.divergence.message : '';
}

/** Opens OUT for a what-if replay: a new trace, or (with --force) an existing one appended to. */
function openOutput(path: string, force: boolean): { writer: TraceWriter; created: boolean } {
  if (existsSync(path)) {
    if (!force) throw new CliError(`${path} exists; use --force to add the replay to it`);
    try {
      return { writer: TraceWriter.append(path), created: false };
    } catch (e) {
      if (!(e instanceof TraceError) || !/is not a probelab trace file/.test(e.message)) throw e;
      return { writer: TraceWriter.create(path, { force: true }), created: true };
    }
  }
  return { writer: TraceWriter.create(path), created: true };
}

function removeTrace(path: string): void {
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(path + s, { force: true });
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (!a) return 0;
  const maxactive = parseMaxactive(a.maxactive);
  const whatif = a.output !== undefined || a.probe.length > 0 || a.maxactive.length > 0;
  if (a.verify && whatif)
    throw new CliError(
      '--verify replays the recorded probes and pools; -o, -p and --maxactive make a what-if replay (drop --verify)',
      2,
    );
  if (a.complete && (a.verify || whatif))
    throw new CliError(
      '--complete stores the complete call sets; it does not combine with --verify, -o, -p or --maxactive',
      2,
    );
  // Everything written here is the tool's own text quoting names and values from the trace: escaped.
  const err = (s: string) => process.stderr.write(escapeLines(s));
  const reader = openCheckedTrace(a.trace);
  // The names are read while the trace is open (a what-if replay closes it before it rethrows).
  let names: (() => string[]) | undefined;
  const progress = new Progress(!a.quiet && process.stderr.isTTY === true);
  try {
    // A verify checks rows on a worker thread: start it before the replay is prepared (inside the
    // try, so the reader and its worker are closed whatever happens).
    if (!whatif && !a.complete) reader.prestartCheck();
    const runs = pickRuns(reader, a.run, whatif);
    if (a.complete) {
      for (const run of runs) {
        const calls = storeCompleteCallSet(reader, resolve(a.trace), run.runId);
        if (!a.quiet)
          err(
            calls === null
              ? `run ${run.runId} has no return probes: no complete call set\n`
              : `complete call set of run ${run.runId}: ${calls.length} calls stored in ${a.trace} (view complete_calls)\n`,
          );
      }
      return 0;
    }
    if (!whatif) {
      let ok = true;
      for (const run of runs) {
        let o: ReplayOutcome;
        try {
          o = replayRun(reader, run.runId, {
            mode: 'verify',
            onProgress: (n) => progress.update(n, `verifying run ${run.runId}`),
          });
        } catch (e) {
          progress.done();
          // With several runs, one that cannot be replayed is reported and the others still verified.
          if (!(e instanceof ReplayError) || e.usage || runs.length === 1) throw e;
          err(`probe-replay: ${e.message}\n`);
          ok = false;
          continue;
        }
        progress.done();
        for (const n of o.notes) err(`probe-replay: note: ${n}\n`);
        if (o.matched) {
          if (!a.quiet)
            err(
              `verified run ${run.runId}: ${o.events} events, ${o.instructions} instructions, output identical\n`,
            );
        } else {
          ok = false;
          err(`probe-replay: run ${run.runId}: ${divergenceText(o)}\n`);
        }
      }
      return ok ? 0 : 1;
    }

    const run = runs[0]!;
    // For a "did you mean" under a -p spec naming a symbol the binary does not have.
    if (a.probe.length > 0) {
      const list = safeNames(() => functionNamesOf(reader.runBinary(run.runId)));
      names = () => list;
    }
    const out = a.output !== undefined ? resolve(a.output) : undefined;
    let opened: { writer: TraceWriter; created: boolean } | undefined;
    const finishOutput = (): void => {
      // The reader first: when OUT is TRACE, the writer can then leave one self-contained file.
      reader.close();
      opened?.writer.close();
    };
    let o: ReplayOutcome;
    try {
      o = replayRun(reader, run.runId, {
        mode: 'whatif',
        probes: a.probe,
        maxactive,
        writer: out
          ? () => {
              opened = openOutput(out, a.force);
              return opened.writer;
            }
          : undefined,
        onProgress: (n) => progress.update(n, `replaying run ${run.runId}`),
      });
    } catch (e) {
      progress.done();
      finishOutput();
      if (opened?.created && out) removeTrace(out);
      throw e;
    }
    progress.done();
    finishOutput();
    for (const n of o.notes) err(`probe-replay: note: ${n}\n`);
    if (!o.matched) {
      let where = '';
      if (opened && out) {
        if (opened.created) {
          removeTrace(out);
          where = `; nothing was written to ${a.output}`;
        } else where = `; run ${o.newRunId} of ${a.output} is left 'incomplete'`;
      }
      err(
        `probe-replay: run ${run.runId}: ${divergenceText(o)}\n` +
          `probe-replay: its events would not describe the recorded execution (e.g. a guest that reads its own return address sees the kretprobe trampoline, kprobes.md K20; a jprobe handler runs guest code)${where}\n`,
      );
      return 1;
    }
    if (!a.quiet) {
      const rows = o.profile.map((p) => ({ event: p.event, hits: p.hits, misses: p.misses }));
      err(profileTable(rows));
      err(
        out
          ? `what-if replay of run ${run.runId} written to ${a.output} as run ${o.newRunId} (replay_of ${run.runId}): ${o.events} events, ${o.instructions} instructions, guest behaviour unchanged\n`
          : `what-if replay of run ${run.runId}: ${o.events} events, ${o.instructions} instructions, guest behaviour unchanged (nothing written: give -o OUT to keep it)\n`,
      );
    }
    return 0;
  } catch (e) {
    progress.done();
    if (e instanceof ReplayError) {
      // A rejected -p spec carries Linux's error name (trace_kprobe: error: NAME: ...).
      const code = /error: ([A-Z_]+):/.exec(e.message)?.[1];
      const hint = e.usage && code !== undefined && names ? specHint(code, e.message, names) : null;
      throw new CliError(hint ? `${e.message}\n  ${hint}` : e.message, e.usage ? 2 : 1);
    }
    throw traceFailure(e, a.trace);
  } finally {
    reader.close();
  }
}

runCommand('probe-replay', import.meta.url, main);
