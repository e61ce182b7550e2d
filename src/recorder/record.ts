// Records one run into a trace database: stores the binary and configuration first (so a killed
// recording leaves an 'incomplete' run that still opens), streams the session's records into the
// batched TraceWriter (a RunSink), and finishes the run with its status, counters and indexes.
// The session runs from the stored configuration (config.ts), so the replay of a recording gets
// the same machine.

import type { RunResult } from '../emulator/machine.js';
import type { RunConfig } from '../trace/config.js';
import { nullSink } from '../trace/records.js';
import type { TraceWriter } from '../trace/writer.js';
import { runConfigOf, sessionOptionsOf } from './config.js';
import { ProbeSession, probeRecord, type SessionOptions } from './session.js';

export { nullSink };

export interface RecordRequest {
  workload: string;
  binary: Uint8Array;
  /** Undefined machine options take RunConfig's defaults (src/trace/config.ts). */
  session: SessionOptions;
  /** Stored in the run's configuration besides what the session options give (e.g. stdinPath). */
  extraConfig?: Partial<RunConfig>;
  replayOf?: number | null;
  /** Called periodically with instructions retired so far (progress bars). */
  onProgress?: (instructions: number) => void;
  /** The caller has already built a session from this binary and these probes without error. */
  validated?: boolean;
  /**
   * Guest output bytes the trace stores (default DEFAULT_OUTPUT_LIMIT, null: no limit). Beyond it
   * the guest's writes still succeed, as on Linux; the run is marked output_truncated.
   */
  outputLimit?: number | null;
}

/** Guest output a recording stores by default: 64 MiB. */
export const DEFAULT_OUTPUT_LIMIT = 64 << 20;

export interface RecordOutcome {
  runId: number;
  result: RunResult;
  session: ProbeSession;
  status: 'complete' | 'crashed' | 'truncated';
  events: number;
}

export function statusOf(r: RunResult): 'complete' | 'crashed' | 'truncated' {
  if (r.status === 'exited') return 'complete';
  if (r.status === 'truncated') return 'truncated';
  return 'crashed';
}

/**
 * Runs the workload and writes it as one run. Probe-spec errors (ProbeSpecError) are thrown before
 * anything is written; everything after beginRun is flushed in batches as it happens.
 */
export function recordRun(w: TraceWriter, req: RecordRequest): RecordOutcome {
  const rec = beginRecording(w, req);
  const result = rec.session.machine.run();
  return finishRecording(w, rec, result);
}

/** recordRunAsync runs at most this many guest instructions between two looks at the host clock. */
const SLICE_INSTRUCTIONS = 2_000_000;
/** ... and at most this many scheduling rounds (idle or blocking guests retire few instructions). */
const SLICE_ROUNDS = 256;
/** It lets the event loop run at least this often (host milliseconds). */
const YIELD_MS = 50;

/**
 * recordRun that lets the event loop run every YIELD_MS of host time, whatever the guest does
 * (busy, idle, blocking), so signal handlers run within a fraction of a second. When
 * `stopRequested()` turns true the run ends between two scheduling rounds as 'truncated'; its
 * round count goes into the stored configuration (maxRounds), so a replay re-executes exactly the
 * recorded part. The host clock decides only where the loop pauses (always between rounds):
 * nothing the guest sees or the trace stores depends on it, apart from where a stop request
 * lands, which maxRounds records.
 */
export async function recordRunAsync(
  w: TraceWriter,
  req: RecordRequest,
  stopRequested: () => boolean,
): Promise<RecordOutcome & { interrupted: boolean }> {
  const rec = beginRecording(w, req);
  const m = rec.session.machine;
  let yielded = performance.now();
  for (;;) {
    const done = m.runFor(SLICE_INSTRUCTIONS, SLICE_ROUNDS);
    if (done) return { ...finishRecording(w, rec, done), interrupted: false };
    if (performance.now() - yielded < YIELD_MS) continue;
    await new Promise<void>((resolve) => setImmediate(resolve));
    yielded = performance.now();
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

/** The session options a request runs with: its callbacks, the machine its stored config says. */
function runOptions(req: RecordRequest, config: RunConfig): SessionOptions {
  return {
    ...req.session,
    ...sessionOptionsOf(config, { files: req.session.files, stdin: req.session.stdin }),
    captureOutput: false,
  };
}

/** Progress comes from the machine's progress hook (between scheduling rounds). */
function beginRecording(w: TraceWriter, req: RecordRequest): Recording {
  const config = runConfigOf(req.session, req.extraConfig);
  const opts = runOptions(req, config);
  // Validate the probes on a throwaway session first, so a bad spec never leaves a half-made run.
  if (!req.validated)
    new ProbeSession(req.binary, { ...opts, onStdout: undefined, onStderr: undefined }, nullSink());
  const runId = w.beginRun({
    workload: req.workload,
    binary: req.binary,
    config,
    replayOf: req.replayOf ?? null,
    outputLimit: req.outputLimit === undefined ? DEFAULT_OUTPUT_LIMIT : req.outputLimit,
  });
  const session = new ProbeSession(req.binary, opts, w);
  for (const p of session.probes) w.addProbe(runId, probeRecord(p));
  if (req.onProgress) session.machine.hooks.progress.add(req.onProgress);
  return { runId, session };
}

function finishRecording(
  w: TraceWriter,
  { runId, session }: Recording,
  result: RunResult,
  configPatch?: Partial<RunConfig>,
): RecordOutcome {
  session.finish(result);
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
