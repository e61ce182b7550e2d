// Records one run into a trace database: stores the binary and configuration first (so a killed
// recording leaves an 'incomplete' run that still opens), streams the session's events through the
// batched TraceWriter, and finishes the run with its status, counters and indexes.

import type { RunResult } from '../emulator/machine.js';
import { EventKind, MissReason, type TraceWriter } from '../trace/writer.js';
import { ProbeSession, type RunSink, type SessionOptions } from './session.js';

export interface RecordRequest {
  workload: string;
  binary: Uint8Array;
  session: SessionOptions;
  /** Stored in run_config (paths given on the command line, for the record). */
  extraConfig?: Record<string, unknown>;
  replayOf?: number | null;
  /** Called periodically with instructions retired so far (progress bars). */
  onProgress?: (instructions: number) => void;
  /** The caller has already built a session from this binary and these probes without error. */
  validated?: boolean;
}

export interface RecordOutcome {
  runId: number;
  result: RunResult;
  session: ProbeSession;
  status: 'complete' | 'crashed' | 'truncated';
  events: number;
}

/** A RunSink that appends to a TraceWriter under one run id. */
export function writerSink(w: TraceWriter, runId: number): RunSink {
  return {
    event: (seq, ts, cpu, tid, kind, probeId, addr, args) =>
      w.event(runId, seq, ts, cpu, tid, EventKind[kind], probeId, addr, args),
    call: (probeId, tid, ts, dur, ec, rc, depth, retval, args, es, rs) =>
      w.call(runId, probeId, tid, ts, dur, ec, rc, depth, retval, args, es, rs),
    missed: (probeId, tid, cpu, ts, reason) => w.missed(runId, probeId, tid, cpu, ts, MissReason[reason]),
    sched: (ts, cpu, prev, next, reason) => w.sched(runId, ts, cpu, prev || null, next || null, reason),
    taskStart: (tid, parent, name, ts) => w.taskStart(runId, tid, parent || null, name, ts),
    taskEnd: (tid, ts, code) => w.taskEnd(runId, tid, ts, code),
    input: (kind, key, data) => void w.input(runId, kind, key, data),
    output: (fd, ts, data) => void w.output(runId, fd, ts, data),
  };
}

export function statusOf(r: RunResult): 'complete' | 'crashed' | 'truncated' {
  if (r.status === 'exited') return 'complete';
  if (r.status === 'truncated') return 'truncated';
  return 'crashed';
}

/** Session options → the JSON configuration stored with the run (everything replay needs). */
export function configOf(req: RecordRequest): Parameters<TraceWriter['beginRun']>[0]['config'] {
  const s = req.session;
  return {
    argv: s.argv,
    env: s.env ?? [],
    cpus: s.cpus ?? 1,
    preempt: s.preempt ?? true,
    seed: s.seed ?? 1,
    chaos: s.chaos ?? false,
    mhz: s.mhz ?? 1000,
    maxInstructions: s.maxInstructions ?? null,
    maxRounds: s.maxRounds ?? null,
    probes: s.probes,
    maxactive: s.maxactive ?? {},
    detectReturnAddressReads: s.detectReturnAddressReads ?? false,
    allowRead: s.allowRead ?? [],
    cwd: s.cwd ?? process.cwd(),
    quantum: s.quantum ?? null,
    tick: s.tick ?? null,
    ...(req.extraConfig ?? {}),
  };
}

/**
 * Runs the workload and writes it as one run. Probe-spec errors (ProbeSpecError) are thrown before
 * anything is written; everything after beginRun is flushed in batches as it happens.
 */
export function recordRun(w: TraceWriter, req: RecordRequest): RecordOutcome {
  const rec = beginRecording(w, req);
  return finishRecording(w, rec, rec.session.run());
}

/** How often recordRunAsync lets the event loop run (guest instructions; a few ms of host time). */
const YIELD_EVERY = 2_000_000;

/**
 * recordRun that yields to the event loop every few million guest instructions, so signal handlers
 * can run. When `stopRequested()` turns true the run ends between two scheduling rounds as
 * 'truncated'; its round count goes into the stored configuration (maxRounds), so a replay
 * re-executes exactly the recorded part. Yield points depend only on the guest, never on time.
 */
export async function recordRunAsync(
  w: TraceWriter,
  req: RecordRequest,
  stopRequested: () => boolean,
): Promise<RecordOutcome & { interrupted: boolean }> {
  const rec = beginRecording(w, req);
  const m = rec.session.machine;
  for (;;) {
    const done = m.runFor(YIELD_EVERY);
    if (done) return { ...finishRecording(w, rec, done), interrupted: false };
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stopRequested()) {
      const result = m.interrupt();
      return { ...finishRecording(w, rec, result, { maxRounds: m.roundsRun }), interrupted: true };
    }
  }
}

interface Recording {
  runId: number;
  session: ProbeSession;
}

/** Progress comes from the machine's progress hook (between scheduling rounds). */
function beginRecording(w: TraceWriter, req: RecordRequest): Recording {
  // Validate the probes on a throwaway session first, so a bad spec never leaves a half-made run.
  if (!req.validated)
    new ProbeSession(
      req.binary,
      { ...req.session, captureOutput: false, onStdout: undefined, onStderr: undefined },
      nullSink(),
    );
  const runId = w.beginRun({
    workload: req.workload,
    binary: req.binary,
    config: configOf(req),
    replayOf: req.replayOf ?? null,
  });
  const session = new ProbeSession(
    req.binary,
    { ...req.session, captureOutput: false },
    writerSink(w, runId),
  );
  for (const p of session.probes)
    w.addProbe(runId, {
      probeId: p.probeId,
      event: p.event,
      kind: p.kind,
      spec: p.spec,
      symbol: p.symbol,
      offset: p.offset,
      addr: p.addr,
      maxactive: p.maxactive,
    });
  const m = session.machine;
  if (req.onProgress) m.hooks.progress.add(req.onProgress);
  return { runId, session };
}

function finishRecording(
  w: TraceWriter,
  { runId, session }: Recording,
  result: RunResult,
  configPatch?: Record<string, unknown>,
): RecordOutcome {
  const status = statusOf(result);
  w.finishRun(runId, {
    status,
    exitCode: result.exitCode,
    signal: result.signal,
    instructions: result.instructions,
    cycles: result.cycles,
    probeCounters: session.counters(),
    configPatch,
  });
  return { runId, result, session, status, events: session.eventCount };
}

export function nullSink(): RunSink {
  const nop = () => {};
  return {
    event: nop,
    call: nop,
    missed: nop,
    sched: nop,
    taskStart: nop,
    taskEnd: nop,
    input: nop,
    output: nop,
  };
}
