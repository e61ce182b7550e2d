// Replay: re-executes a recorded run from the trace database alone (stored binary, configuration,
// probes and logged inputs; no host file is read), in one of two modes.
//
// - verify (default): the recorded probes; every record the session produces is compared, as it is
//   produced, with the recorded stream (compare.ts); then the final state (status, exit code,
//   signal, instructions, cycles, probe counters). The first difference stops the replay and is
//   returned as a Divergence (event number, recorded vs replayed, instruction count).
//   By rows first (when nothing but the verdict is asked for: no observer, no output callbacks):
//   the replay's records are packed by a TraceWriter as a recording packs them and the batches
//   are checked against the stored rows on the second core (compare.ts, check-store.ts), so the
//   replay's thread does what the recording's did. Any difference, there or in the streams still
//   compared here, makes it replay again record by record (deterministic: the same execution),
//   which names the first divergence exactly as before; traces whose rows were batched otherwise
//   (older builds, merged or migrated files) take that path too.
// - what-if: other probes (added, or removed with '-:EVENT') and/or other pool sizes; optionally
//   written as a new run (replay_of set) through a TraceWriter. Probes cost no guest time (see
//   ProbeSession), so added probes see the recorded execution; what the probes cannot change is
//   still compared with the recording as it is produced, and a difference stops the replay: the
//   probes changed the guest's behaviour (e.g. a guest that reads its own return address,
//   kprobes.md K20), so the replay's data would not describe the recorded execution.
//
// Guarantees: nothing here reads host files or host time; the recorded streams are iterated, never
// loaded whole (except the task list and the logged file contents the guest is served); iterators
// are closed on every exit path.

import { createHash } from 'node:crypto';
import type { RunResult } from '../emulator/machine.js';
import { probeKind } from '../probes/kinds.js';
import { statusOf } from '../recorder/record.js';
import {
  ProbeSession,
  ProbeSpecError,
  probeRecord,
  type SessionOptions,
  type SessionProbe,
} from '../recorder/session.js';
import { RowMismatch } from '../trace/check-store.js';
import { UNBOUNDED } from '../trace/config.js';
import { TraceError } from '../trace/db.js';
import type { ProbeRow, TraceReader } from '../trace/reader.js';
import { nullSink, type RunSink } from '../trace/records.js';
import { TraceWriter } from '../trace/writer.js';
import {
  Comparator,
  ReplayStop,
  hex,
  type Divergence,
  type PackedCheck,
  type ReplayMode,
} from './compare.js';
import { ReplayError } from './errors.js';
import { loadReplayPlan } from './inputs.js';

export { ReplayError } from './errors.js';
export { ReplayFileSource } from './inputs.js';
export type { Divergence, ReplayMode } from './compare.js';

export interface ReplayOptions {
  /** Default: 'whatif' when probes, maxactive or writer are given, else 'verify'. */
  mode?: ReplayMode;
  /** what-if: probe specs appended to the recorded ones ('-:[GRP/]EVENT' removes one). */
  probes?: string[];
  /** what-if: pool sizes by event ('GRP/EVENT' or 'EVENT'); UNBOUNDED = unbounded. */
  maxactive?: Record<string, number>;
  /**
   * what-if: write the replay as a new run (replay_of = runId) with this writer; a function is
   * called only once the probes and pools have been checked (so a bad spec opens no output).
   */
  writer?: TraceWriter | (() => TraceWriter);
  /** Guest output as it is replayed (default: dropped; it is compared with the recording). */
  onStdout?: (b: Uint8Array) => void;
  onStderr?: (b: Uint8Array) => void;
  /** Called now and then with the instructions retired so far (progress bars). */
  onProgress?: (instructions: number) => void;
  /** Sees everything the session produces, after the comparison (analysis collectors, tests). */
  observer?: RunSink;
  /** verify: check the stored rows first (default true; false: record by record only). */
  byRows?: boolean;
}

export interface ProbeProfile {
  probeId: number;
  event: string;
  kind: SessionProbe['kind'];
  maxactive: number | null;
  hits: number;
  /** K21: a kretprobe's nmissed + its entry kprobe's nmissed; a kprobe's nmissed. */
  misses: number;
  nmissed: number;
  nmissedReentry: number;
}

export interface ReplayOutcome {
  mode: ReplayMode;
  /** The replayed run (in the reader's trace). */
  runId: number;
  /** True when everything compared matched (verify: the whole recording; what-if: behaviour). */
  matched: boolean;
  divergence: Divergence | null;
  /** Events produced by the replay (all of them when it matched). */
  events: number;
  /** Guest instructions retired (the run's count when it finished). */
  instructions: number;
  /** The emulator's result; null when the replay was stopped at a divergence. */
  result: RunResult | null;
  /** The guest's output matched the recording, byte for byte, with the same write times. */
  outputIdentical: boolean;
  /** The stored binary still has the sha256 the run recorded. */
  binaryIntact: boolean;
  /** The new run written by a what-if replay (null without a writer); 'incomplete' if it diverged. */
  newRunId: number | null;
  /** The probes of the replay that are installed (removed ones are left out), with counters. */
  profile: ProbeProfile[];
  /** Things worth telling the user that are not divergences (one line each). */
  notes: string[];
  /**
   * How the verdict was reached: 'rows' (verify: the stored rows are exactly the rows the replay
   * packs), else 'records' (record by record; what-if, or a verify whose rows differed).
   */
  comparedBy: 'rows' | 'records';
}

/** Finds the probe a `--maxactive`/event name means: exact 'GRP/EVENT', else a unique 'EVENT'. */
export function resolveEvent<T extends { event: string }>(probes: readonly T[], name: string): T | undefined {
  const exact = probes.find((p) => p.event === name);
  if (exact) return exact;
  const short = probes.filter((p) => p.event.endsWith('/' + name));
  return short.length === 1 ? short[0] : undefined;
}

function installed(session: ProbeSession): SessionProbe[] {
  return session.probes.filter((p) => session.engine.addressOf(p.kp) !== undefined);
}

/**
 * Replays run `runId` of `reader`'s trace. Verify mode compares everything with the recording;
 * what-if mode runs other probes or pools (optionally writing a new run) and checks that the guest
 * behaved as recorded. Never throws for a divergence (see `matched`/`divergence`); throws
 * ReplayError for runs it cannot replay or bad options, TraceError for database problems.
 */
export function replayRun(reader: TraceReader, runId: number, opts: ReplayOptions = {}): ReplayOutcome {
  const asked = (opts.probes?.length ?? 0) > 0 || Object.keys(opts.maxactive ?? {}).length > 0 || opts.writer;
  if (
    opts.byRows !== false &&
    (opts.mode ?? (asked ? 'whatif' : 'verify')) === 'verify' &&
    !asked &&
    !opts.observer &&
    !opts.onStdout &&
    !opts.onStderr
  )
    try {
      return replayOnce(reader, runId, opts, true);
    } catch (e) {
      // (a difference: replayed again below, record by record, to name it)
      if (!(e instanceof RowMismatch) && !(e instanceof ReplayStop)) throw e;
    }
  return replayOnce(reader, runId, opts, false);
}

function replayOnce(reader: TraceReader, runId: number, opts: ReplayOptions, byRows: boolean): ReplayOutcome {
  const whatifAsked =
    (opts.probes?.length ?? 0) > 0 ||
    Object.keys(opts.maxactive ?? {}).length > 0 ||
    opts.writer !== undefined;
  const mode: ReplayMode = opts.mode ?? (whatifAsked ? 'whatif' : 'verify');
  if (mode === 'verify' && whatifAsked)
    throw new ReplayError(
      'verify replays the recorded probes and pools: probes, maxactive and an output need what-if mode',
      true,
    );
  const plan = loadReplayPlan(reader, runId);
  const recordedProbes = reader.probes(runId);
  const probes = mode === 'verify' ? plan.config.probes : [...plan.config.probes, ...(opts.probes ?? [])];
  const maxactive: Record<string, number> = { ...plan.config.maxactive };
  const notes: string[] = [];
  if (!plan.binaryIntact)
    notes.push(
      `the stored binary of run ${runId} no longer has the sha256 the run recorded (${plan.run.binarySha256.slice(0, 12)}...): it was modified`,
    );

  const sessionOpts = (mo: Record<string, number>): SessionOptions => ({
    ...plan.session,
    probes,
    maxactive: mo,
    onStdout: opts.onStdout,
    onStderr: opts.onStderr,
  });
  /** What a session that cannot be built means for this replay. */
  const sessionError = (e: unknown): ReplayError => {
    if (e instanceof ProbeSpecError)
      return new ReplayError(
        mode === 'verify' ? `cannot install the recorded probes of run ${runId}: ${e.message}` : e.message,
        mode === 'whatif',
      );
    const msg = e instanceof Error ? e.message : String(e);
    return new ReplayError(`run ${runId}: the stored binary cannot be loaded: ${msg.split('\n')[0]}`);
  };
  // What-if: probe specs and pool overrides are checked on a throwaway session, before anything is
  // written. A verify writes nothing, so its own session reports the same errors (one session
  // fewer to build: about as much work as the recording's check of its probes).
  let trial: ProbeSession | null = null;
  if (mode === 'whatif')
    try {
      trial = new ProbeSession(
        plan.binary,
        // Its own copy of the file log: probe specs may read files (PATH: probes) as the real session will.
        { ...sessionOpts(maxactive), files: plan.files.copy(), onStdout: undefined, onStderr: undefined },
        nullSink(),
      );
    } catch (e) {
      throw sessionError(e);
    }
  if (trial) {
    const live = installed(trial);
    for (const [name, n] of Object.entries(opts.maxactive ?? {})) {
      const p = resolveEvent(live, name);
      if (!p)
        throw new ReplayError(
          `--maxactive ${name}: no such probe in the replay (probes: ${live.map((x) => x.event).join(', ') || 'none'})`,
          true,
        );
      if (!probeKind(p.kind).pool)
        throw new ReplayError(
          `--maxactive ${name}: ${p.event} is a ${p.kind}, only kretprobes have a pool`,
          true,
        );
      if (!(Number.isSafeInteger(n) && n >= 1 && n <= UNBOUNDED))
        throw new ReplayError(
          `--maxactive ${name}: the pool size must be a positive integer or unbounded (UNBOUNDED), got ${n}`,
          true,
        );
      for (const k of Object.keys(maxactive)) if (resolveEvent([p], k)) delete maxactive[k];
      maxactive[p.event] = n;
    }
  }

  let newRunId: number | null = null;
  const next: RunSink[] = [];
  const w = typeof opts.writer === 'function' ? opts.writer() : opts.writer;
  if (w && mode === 'whatif') {
    const config = { ...plan.config, probes, maxactive, replayOf: { trace: reader.path, runId } };
    newRunId = w.beginRun({
      workload: plan.run.workload,
      binary: plan.binary,
      config,
      replayOf: runId,
      outputLimit: plan.run.outputLimit,
    });
    next.push(w);
  }
  if (opts.observer) next.push(opts.observer);
  let packed: PackedCheck | null = null;
  if (byRows) {
    const store = reader.checkStore(runId);
    const writer = TraceWriter.over(store, reader.path);
    writer.beginRun({
      workload: plan.run.workload,
      binary: plan.binary,
      config: plan.config,
      outputLimit: plan.run.outputLimit,
    });
    packed = { writer, store };
  }
  const cmp = new Comparator(reader, runId, mode, next, recordedProbes, packed);
  let session: ProbeSession | null = null;
  let result: RunResult | null;
  let divergence: Divergence | null = null;
  try {
    try {
      try {
        session = new ProbeSession(plan.binary, sessionOpts(maxactive), cmp);
      } catch (e) {
        // (a verify's probes and binary are checked here; a difference or a trace error stays one)
        if (!trial && !(e instanceof ReplayStop) && !(e instanceof TraceError)) throw sessionError(e);
        throw e;
      }
      cmp.session = session;
      // (as a recording registers them: the writer holds back the entry hits of kretprobes)
      if (packed) for (const p of session.probes) packed.writer.addProbe(runId, probeRecord(p));
      const live = installed(session);
      if (newRunId !== null && w) for (const p of live) w.addProbe(newRunId, probeRecord(p));
      if (mode === 'verify') checkProbes(cmp, live, recordedProbes);
      if (opts.onProgress) session.machine.hooks.progress.add(opts.onProgress);
      result = session.run();
      cmp.finish(result, session, plan.run, recordedProbes);
      if (mode === 'verify' && !plan.binaryIntact)
        cmp.fail(
          'binary',
          `sha256 ${plan.run.binarySha256}`,
          `sha256 ${createHash('sha256').update(plan.binary).digest('hex')} (every event matched, but the binary is not the one recorded)`,
          result.cycles,
        );
    } catch (e) {
      if (!(e instanceof ReplayStop) || byRows) throw e;
      divergence = e.divergence;
      result = null;
    }
  } finally {
    cmp.close();
  }
  if (w && newRunId !== null && result && !divergence) {
    const counters = new Set(installed(session!).map((p) => p.probeId));
    w.finishRun(newRunId, {
      status: statusOf(result),
      exitCode: result.exitCode,
      signal: result.signal,
      instructions: result.instructions,
      cycles: result.cycles,
      probeCounters: session!.counters().filter((c) => counters.has(c.probeId)),
    });
  } else if (w && newRunId !== null) w.flush();
  if (!session) throw new ReplayError(`run ${runId}: the replay could not start`);
  const unlogged = plan.files.unlogged;
  if (unlogged > 0) notes.push(`the guest opened files ${unlogged} time(s) beyond the recorded log`);
  const byId = new Map(session.counters().map((c) => [c.probeId, c]));
  const profile: ProbeProfile[] = installed(session).map((p) => {
    const c = byId.get(p.probeId) ?? { hits: 0, nmissed: 0, nmissedReentry: 0 };
    return {
      probeId: p.probeId,
      event: p.event,
      kind: p.kind,
      maxactive: p.maxactive,
      hits: c.hits,
      misses: probeKind(p.kind).misses(c),
      nmissed: c.nmissed,
      nmissedReentry: c.nmissedReentry,
    };
  });
  return {
    mode,
    runId,
    matched: divergence === null,
    divergence,
    events: divergence ? cmp.eventCount : session.eventCount,
    instructions: result ? result.instructions : (divergence?.instructions ?? 0),
    result,
    outputIdentical: divergence === null && !cmp.outputMismatch,
    binaryIntact: plan.binaryIntact,
    newRunId,
    profile,
    notes,
    comparedBy: byRows ? 'rows' : 'records',
  };
}

/** Verify: the replay must install the probes the recording had, at the same addresses and pools. */
function checkProbes(cmp: Comparator, live: SessionProbe[], recorded: ProbeRow[]): void {
  const d = (p: { probeId: number; event: string; kind: string; addr: number; maxactive: number | null }) =>
    `probe ${p.probeId} ${p.event} (${p.kind}) at ${hex(p.addr)}${p.maxactive !== null ? `, maxactive ${p.maxactive}` : ''}`;
  const n = Math.max(live.length, recorded.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i];
    const b = live[i];
    if (!a || !b) cmp.fail('probe', a ? d(a) : '(none)', b ? d(b) : '(none)', 0);
    if (
      a.probeId !== b.probeId ||
      a.event !== b.event ||
      a.kind !== b.kind ||
      a.addr >>> 0 !== b.addr >>> 0 ||
      a.maxactive !== b.maxactive
    )
      cmp.fail('probe', d(a), d(b), 0);
  }
}
