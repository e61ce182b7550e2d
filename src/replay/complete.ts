// Complete call sets: every call of a run's kretprobes, from a replay with unbounded pools, marked
// with whether the recording's own pool hooked it. The miss curves of analysis are exact only over
// this set when the recording missed calls. It is computed once and stored in the trace
// (raw_complete_calls, the `complete_calls` view; the trace layer owns the encoding), by
// probe-report through completeCallSetProvider() or by `probe-replay --complete`.
// Guarantees: the set is the one the unbounded replay produced, only when that replay reproduced the
// recorded execution (what-if comparison); otherwise ReplayError. A stored set is read back as it
// was computed, after a check (storedCompleteCalls): one that fails it (a damaged or edited cache)
// is computed again and replaced, with a one-line note (issue 16).

import { CallTableBuilder, type CallRec, type CallTable } from '../analysis/model.js';
import type { CompleteCallSetProvider } from '../analysis/load.js';
import { UNBOUNDED } from '../trace/config.js';
import { CompleteCallCache, type ProbeRow, type TraceReader } from '../trace/reader.js';
import { nullSink, type CompleteCallRecord, type RunSink } from '../trace/records.js';
import { RowChecker } from '../trace/validate.js';
import { escapeControls } from '../cli/terminal.js';
import { ReplayError } from './errors.js';
import { replayRun, resolveEvent } from './replay.js';

/**
 * Replays run `runId` with unbounded pools on the given kretprobes (names 'GRP/EVENT' or 'EVENT')
 * and returns every call of them in entry order, with the recorded run's probe ids: `hooked` tells
 * whether the recording's own pool hooked the call. A call whose task ended inside it (its instance
 * recycled, K19) has returnTs = Infinity and returnSeq = just after the last event before the
 * release (Infinity if never released). The other probes keep their recorded pools. Throws
 * ReplayError when the unbounded replay does not reproduce the recorded execution (a guest that
 * reads its own return address, K20) or an event is not a kretprobe of the run.
 */
export function completeCallSet(reader: TraceReader, runId: number, events: string[]): CallRec[] {
  const recorded = reader.probes(runId);
  const want = new Map<number, ProbeRow>();
  const maxactive: Record<string, number> = {};
  for (const name of events) {
    const p = resolveEvent(recorded, name);
    if (!p) throw new ReplayError(`run ${runId} has no probe ${name}`, true);
    if (p.kind !== 'kretprobe')
      throw new ReplayError(`${p.event} is a ${p.kind}: only kretprobes have calls`, true);
    want.set(p.probeId, p);
    maxactive[p.event] = UNBOUNDED;
  }
  const missedKeys = new Set<string>();
  for (const m of reader.streams(runId).missed())
    if (m.reason === 'no_instance' && want.has(m.probeId)) missedKeys.add(`${m.probeId}:${m.tid}:${m.ts}`);

  const out: CallRec[] = [];
  const open = new Map<string, CallRec[]>(); // `${tid}:${probeId}` → entries waiting for their return
  let lastSeq = 0;
  const collector: RunSink = {
    ...nullSink(),
    event: ({ seq, ts, cpu, tid, kind, probeId }) => {
      lastSeq = seq;
      if (kind === 'kprobe' && probeId !== null && want.has(probeId)) {
        const k = `${tid}:${probeId}`;
        let q = open.get(k);
        if (!q) open.set(k, (q = []));
        const c: CallRec = {
          probeId,
          tid,
          entryTs: ts,
          returnTs: Infinity,
          entrySeq: seq,
          returnSeq: Infinity,
          entryCpu: cpu,
          returnCpu: cpu,
          depth: q.length,
          retval: null,
          args: null,
          hooked: !missedKeys.has(`${probeId}:${tid}:${ts}`),
        };
        q.push(c);
        out.push(c);
      } else if (kind === 'missed' && probeId !== null && want.has(probeId))
        throw new Error(`complete call set: an unbounded pool of probe ${probeId} missed a call`);
    },
    call: (r) => {
      if (!want.has(r.probeId)) return;
      const c = open.get(`${r.tid}:${r.probeId}`)?.pop();
      if (
        !c ||
        c.entryTs !== r.ts ||
        c.depth !== r.depth ||
        c.entrySeq !== r.entrySeq ||
        r.returnSeq !== lastSeq
      )
        throw new Error(
          `complete call set: return of probe ${r.probeId} in task ${r.tid} does not match an entry`,
        );
      c.returnTs = r.ts + r.dur;
      c.returnSeq = lastSeq;
      c.returnCpu = r.returnCpu;
      c.retval = r.retval;
      c.args = r.args === null ? null : (JSON.parse(r.args) as Record<string, unknown>);
    },
    taskEnd: ({ tid }) => {
      for (const [k, q] of open) {
        if (!k.startsWith(`${tid}:`)) continue;
        for (const c of q) c.returnSeq = lastSeq + 0.5;
        open.delete(k);
      }
    },
  };
  const r = replayRun(reader, runId, { mode: 'whatif', maxactive, observer: collector });
  if (!r.matched)
    throw new ReplayError(
      `run ${runId}: the replay with unbounded pools did not reproduce the recorded execution, so it has no exact call set: ${r.divergence!.message.split('\n')[0]}`,
    );
  return out;
}

function toRecord(c: CallRec): CompleteCallRecord {
  return { ...c, args: c.args === null ? null : JSON.stringify(c.args) };
}

function toTable(calls: Iterable<CompleteCallRecord>): CallTable {
  const b = new CallTableBuilder(1024);
  for (const c of calls) b.push({ ...c, args: null }); // analysis needs no arguments here
  return b.build();
}

function kretprobeEvents(reader: TraceReader, runId: number): string[] {
  return reader
    .probes(runId)
    .filter((p) => p.kind === 'kretprobe')
    .map((p) => p.event);
}

function save(path: string, runId: number, calls: CompleteCallRecord[]): void {
  const cache = CompleteCallCache.open(path);
  try {
    cache.put(runId, calls);
  } finally {
    cache.close();
  }
}

/**
 * Computes the complete call set of every kretprobe of a run and stores it in the trace file at
 * `path` (replacing any stored one). Returns the calls, or null when the run has no kretprobes.
 * Throws ReplayError when there is no exact set, TraceError when the file cannot be written.
 */
export function storeCompleteCallSet(
  reader: TraceReader,
  path: string,
  runId: number,
): CompleteCallRecord[] | null {
  const events = kretprobeEvents(reader, runId);
  if (events.length === 0) return null;
  const calls = completeCallSet(reader, runId, events).map(toRecord);
  save(path, runId, calls);
  return calls;
}

/**
 * The run's stored complete call set, or what is wrong with it: a row out of range (validate.ts),
 * arguments that are not a JSON object, a probe that is not one of the run's kretprobes, or hooked
 * calls that do not match the recorded calls in number (the hooked, returned calls of the set are
 * the recording's `calls` rows). A cache that fails is rebuilt by the caller, never trusted.
 */
export function storedCompleteCalls(reader: TraceReader, runId: number): CompleteCallRecord[] | string {
  const kret = new Set(
    reader
      .probes(runId)
      .filter((p) => p.kind === 'kretprobe')
      .map((p) => p.probeId),
  );
  const check = new RowChecker(reader.path, runId, kret, reader.run(runId).cpus);
  const out: CompleteCallRecord[] = [];
  const returned = new Map<number, number>();
  for (const c of reader.streams(runId).completeCalls()) {
    const problem = check.completeCallProblem(c);
    if (problem) return `row ${out.length + 1}: ${problem}`;
    try {
      check.args('complete_calls', out.length + 1, c.args);
    } catch (e) {
      return (e as Error).message;
    }
    if (c.hooked && Number.isFinite(c.returnTs)) returned.set(c.probeId, (returned.get(c.probeId) ?? 0) + 1);
    out.push(c);
  }
  const recorded = reader.all<{ probe_id: number; n: number }>(
    'SELECT probe_id, count(*) AS n FROM calls WHERE run_id = ? GROUP BY probe_id',
    runId,
  );
  for (const r of recorded)
    if (kret.has(r.probe_id) && (returned.get(r.probe_id) ?? 0) !== r.n)
      return `probe ${r.probe_id}: ${returned.get(r.probe_id) ?? 0} hooked calls returned, the recording has ${r.n}`;
  return out;
}

/**
 * The provider probe-report gives analysis: the stored complete call set, or one computed now and
 * stored (a file that cannot be written still gets an exact report, just not a cached one). A run
 * whose set cannot be computed exactly gets null and a one-line note on stderr.
 */
export function completeCallSetProvider(reader: TraceReader, path: string): CompleteCallSetProvider {
  return (runId) => {
    if (reader.hasCompleteCalls(runId)) {
      const stored = storedCompleteCalls(reader, runId);
      if (typeof stored !== 'string') return toTable(stored);
      process.stderr.write(
        `probe-report: run ${runId}: the stored complete call set is not valid (${escapeControls(stored)}): computing it again\n`,
      );
    }
    const events = kretprobeEvents(reader, runId);
    if (events.length === 0) return null;
    let calls: CompleteCallRecord[];
    try {
      calls = completeCallSet(reader, runId, events).map(toRecord);
    } catch (e) {
      if (e instanceof ReplayError) {
        process.stderr.write(
          `probe-report: run ${runId}: exact miss curves unavailable: ${escapeControls(e.message)}\n`,
        );
        return null;
      }
      throw e;
    }
    try {
      save(path, runId, calls);
    } catch {
      // Read-only file or directory: the report is still exact, just not cached.
    }
    return toTable(calls);
  };
}
