// Replay: re-executes a recorded run from the trace database alone (stored binary, configuration,
// probes and logged inputs; no host file is read), in one of two modes.
//
// - verify (default): the recorded probes; every item the session produces (events, calls, misses,
//   scheduling decisions, task starts and ends, inputs consumed, guest output) is compared, as it is
//   produced, with the recorded stream read incrementally from the database; then the final state
//   (status, exit code, signal, instructions, cycles, probe counters). The first difference stops
//   the replay and is returned as a Divergence (event number, recorded vs replayed, instruction
//   count).
// - what-if: other probes (added, or removed with '-:EVENT') and/or other pool sizes; optionally
//   written as a new run (replay_of set) through a TraceWriter. Probes cost no guest time (see
//   ProbeSession), so added probes see the recorded execution; what the probes cannot change (the
//   schedule, task lifecycle, inputs consumed, guest output, final state) is still compared with
//   the recording as it is produced, and a difference stops the replay: the probes changed the
//   guest's behaviour (e.g. a guest that reads its own return address, kprobes.md K20), so the
//   replay's data would not describe the recorded execution.
//
// Guarantees: nothing here reads host files or host time; the recorded streams are iterated, never
// loaded whole (except the task list and the logged file contents the guest is served); iterators
// are closed on every exit path. `completeCallSet` is the analysis entry point: the complete call set
// of given kretprobes from a replay with unbounded pools, marked with what the recording hooked.

import { createHash } from 'node:crypto';
import type { CallRec } from '../analysis/model.js';
import type { RunResult } from '../emulator/machine.js';
import type { FileSource, HostFileResult } from '../emulator/types.js';
import { nullSink, statusOf, writerSink } from '../recorder/record.js';
import {
  ProbeSession,
  ProbeSpecError,
  type EventKindName,
  type RunSink,
  type SessionOptions,
  type SessionProbe,
} from '../recorder/session.js';
import { EVENT_KINDS, MISS_REASONS } from '../trace/codes.js';
import type { ProbeRow, RunRow, TaskRowOut, TraceReader } from '../trace/reader.js';
import type { RunConfig, TraceWriter } from '../trace/writer.js';

const ENOENT = 2;

/** A run that cannot be replayed, or bad replay options: the message is one line, ready to print. */
export class ReplayError extends Error {
  constructor(
    message: string,
    /** true when the caller's options are wrong (the CLI exits 2), false when the trace is. */
    readonly usage = false,
  ) {
    super(message);
    this.name = 'ReplayError';
  }
}

export type ReplayMode = 'verify' | 'whatif';

export type DivergenceStream =
  'event' | 'call' | 'missed' | 'sched' | 'task' | 'input' | 'output' | 'probe' | 'final' | 'binary';

/** The first difference between a replay and its recording. */
export interface Divergence {
  /** Which recorded stream differs first. */
  stream: DivergenceStream;
  /** Number (seq) of the first divergent event; for the other streams, the event that comes next. */
  event: number;
  /** Events produced (and, in verify mode, matched) before the divergence. */
  eventsMatched: number;
  /** What the recording holds there ('(nothing)' when the replay produced more). */
  recorded: string;
  /** What the replay produced there ('(nothing: ...)' when the replay produced less). */
  replayed: string;
  /** Guest instructions retired when the divergence happened. */
  instructions: number;
  /** Virtual time (cycles) of the divergence. */
  ts: number;
  /** Multi-line human description (first line: the summary). */
  message: string;
}

export interface ReplayOptions {
  /** Default: 'whatif' when probes, maxactive or writer are given, else 'verify'. */
  mode?: ReplayMode;
  /** what-if: probe specs appended to the recorded ones ('-:[GRP/]EVENT' removes one). */
  probes?: string[];
  /** what-if: pool sizes by event ('GRP/EVENT' or 'EVENT'); Infinity = unbounded. */
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
}

// ---------------------------------------------------------------------------------------------
// Logged inputs

interface FileMeta {
  path: string;
  kind: 'file' | 'dir' | 'error';
  errno?: number;
  mode?: number;
  mtimeSec?: number;
  ino?: number;
  entries?: string[];
}

/**
 * Serves the guest's file opens from the logged 'file' inputs (key = JSON meta, data = contents),
 * in the order they were logged, per path. No host file is ever read. An open beyond the log
 * (only possible when a what-if replay changed the guest's behaviour) gets the path's last logged
 * result again (files are read-only) or ENOENT for a path never logged; `unlogged` counts them.
 */
export class ReplayFileSource implements FileSource {
  private readonly queues = new Map<string, HostFileResult[]>();
  private readonly last = new Map<string, HostFileResult>();
  unlogged = 0;

  /** Adds one logged 'file' input. Throws ReplayError on a key that is not the recorder's meta. */
  add(key: string, data: Uint8Array): void {
    let meta: FileMeta;
    try {
      meta = JSON.parse(key) as FileMeta;
    } catch {
      throw new ReplayError(`logged file input has a malformed key: ${key.slice(0, 80)}`);
    }
    if (typeof meta.path !== 'string')
      throw new ReplayError(`logged file input without a path: ${key.slice(0, 80)}`);
    let r: HostFileResult;
    if (meta.kind === 'file')
      r = {
        kind: 'file',
        data,
        mode: meta.mode ?? 0o100444,
        mtimeSec: meta.mtimeSec ?? 0,
        ino: meta.ino ?? 0,
      };
    else if (meta.kind === 'dir')
      r = {
        kind: 'dir',
        entries: meta.entries ?? [],
        mode: meta.mode ?? 0o40555,
        mtimeSec: meta.mtimeSec ?? 0,
        ino: meta.ino ?? 0,
      };
    else r = { kind: 'error', errno: meta.errno ?? ENOENT };
    let q = this.queues.get(meta.path);
    if (!q) {
      q = [];
      this.queues.set(meta.path, q);
    }
    q.push(r);
  }

  open(path: string): HostFileResult {
    const r = this.queues.get(path)?.shift();
    if (r) {
      this.last.set(path, r);
      return r;
    }
    this.unlogged++;
    return this.last.get(path) ?? { kind: 'error', errno: ENOENT };
  }
}

// ---------------------------------------------------------------------------------------------
// What a run needs to be replayed

/** Everything replay takes from the database for one run. */
export interface ReplayPlan {
  run: RunRow;
  config: RunConfig;
  binary: Uint8Array;
  binaryIntact: boolean;
  /** The recorded probe specs (the run's configuration, in definition order). */
  probes: string[];
  maxactive: Record<string, number>;
  files: ReplayFileSource;
  stdin: Uint8Array;
  /** Session options reproducing the recording (probes/maxactive as recorded). */
  session: SessionOptions;
}

/**
 * Reads what replaying `runId` needs. Throws ReplayError for a run that cannot be replayed
 * (incomplete) and TraceError for a missing run or binary.
 */
export function loadReplayPlan(reader: TraceReader, runId: number): ReplayPlan {
  const run = reader.run(runId);
  if (run.status === 'incomplete')
    throw new ReplayError(
      `run ${runId} of ${reader.path} is incomplete (its recording was interrupted before it finished), so it cannot be replayed: record it again`,
    );
  const config = reader.runConfig(runId);
  if (!Array.isArray(config.argv))
    throw new ReplayError(
      `run ${runId} of ${reader.path} has no argv in its configuration: it cannot be replayed`,
    );
  const binary = new Uint8Array(reader.runBinary(runId));
  const binaryIntact = createHash('sha256').update(binary).digest('hex') === run.binarySha256;
  const files = new ReplayFileSource();
  const stdinParts: Uint8Array[] = [];
  let stdinLen = 0;
  for (const r of reader.iterate<{ kind: string; key: string | null; data: Buffer }>(
    'SELECT kind, key, data FROM inputs WHERE run_id = ? ORDER BY seq',
    runId,
  )) {
    if (r.kind === 'file') files.add(r.key ?? '', toBytes(r.data));
    else if (r.kind === 'stdin') {
      stdinParts.push(toBytes(r.data));
      stdinLen += r.data.length;
    }
    // 'random' inputs come from the seed; verification compares them as they are produced.
  }
  const stdin = new Uint8Array(stdinLen);
  let at = 0;
  for (const p of stdinParts) {
    stdin.set(p, at);
    at += p.length;
  }
  const probes = (config.probes ?? []).map(String);
  const maxactive = decodeMaxactive(config.maxactive);
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  const session: SessionOptions = {
    argv: config.argv,
    env: Array.isArray(config.env) ? config.env.map(String) : [],
    cwd: typeof config.cwd === 'string' ? config.cwd : '/',
    files,
    stdin,
    cpus: config.cpus,
    preempt: config.preempt,
    seed: config.seed,
    chaos: config.chaos,
    mhz: num(config.mhz),
    maxInstructions: num(config.maxInstructions),
    maxRounds: num(config.maxRounds),
    quantum: num(config.quantum),
    tick: num(config.tick),
    captureOutput: false,
    detectReturnAddressReads: config.detectReturnAddressReads === true,
    probes,
    maxactive,
  };
  return { run, config, binary, binaryIntact, probes, maxactive, files, stdin, session };
}

function toBytes(b: Buffer | Uint8Array | string): Uint8Array {
  if (typeof b === 'string') return new TextEncoder().encode(b);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Stored pool overrides: numbers; 'unbounded' / null / huge values mean an unbounded pool. */
function decodeMaxactive(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!v || typeof v !== 'object') return out;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === 'number' && Number.isFinite(x) && x < Number.MAX_SAFE_INTEGER) out[k] = x;
    else out[k] = Infinity;
  }
  return out;
}

/** Pool overrides as stored in a run's configuration (JSON has no Infinity). */
function encodeMaxactive(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(m)) out[k] = x === Infinity ? Number.MAX_SAFE_INTEGER : x;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison with the recorded streams

class ReplayStop extends Error {
  constructor(readonly divergence: Divergence) {
    super(divergence.message);
  }
}

type Row = Record<string, unknown>;

/** A recorded stream read incrementally, in the order it was recorded. */
class Stream {
  private readonly it: IterableIterator<Row>;
  private done = false;
  consumed = 0;
  constructor(reader: TraceReader, sql: string, runId: number) {
    this.it = reader.iterate<Row>(sql, runId);
  }
  next(): Row | undefined {
    if (this.done) return undefined;
    const r = this.it.next();
    if (r.done) {
      this.done = true;
      return undefined;
    }
    this.consumed++;
    return r.value;
  }
  close(): void {
    if (!this.done) {
      this.done = true;
      this.it.return?.();
    }
  }
}

const SQL = {
  events: `SELECT seq, ts, cpu, tid, kind, probe_id AS probeId, addr,
             (SELECT s FROM strings WHERE id = e.args) AS args
           FROM event_rows e WHERE run_id = ? ORDER BY seq`,
  calls: `SELECT probe_id AS probeId, tid, ts, dur, entry_cpu AS entryCpu, return_cpu AS returnCpu, depth,
            retval, (SELECT s FROM strings WHERE id = c.args) AS args, entry_seq AS entrySeq,
            return_seq AS returnSeq
          FROM call_rows c WHERE run_id = ? ORDER BY return_seq`,
  missed: `SELECT probe_id AS probeId, tid, cpu, ts, reason FROM raw_missed WHERE run_id = ? ORDER BY rowid`,
  sched: `SELECT ts, cpu, prev_tid AS prevTid, next_tid AS nextTid,
            (SELECT s FROM strings WHERE id = x.reason) AS reason
          FROM raw_sched x WHERE run_id = ? ORDER BY rowid`,
  inputs: 'SELECT seq, kind, key, data FROM inputs WHERE run_id = ? ORDER BY seq',
  output: 'SELECT seq, fd, ts, data FROM output WHERE run_id = ? ORDER BY seq',
} as const;

function hex(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : '0x' + (n >>> 0).toString(16);
}

function bytesPreview(b: Uint8Array): string {
  const s = Buffer.from(b.subarray(0, 60)).toString('utf8');
  return JSON.stringify(s) + (b.length > 60 ? `... (${b.length} bytes)` : ` (${b.length} bytes)`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * The RunSink a replay runs with: compares each produced item with the recording (verify: all of
 * them; what-if: the probe-independent ones), then passes it on to `next` (writer, observer).
 */
class Comparator implements RunSink {
  session: ProbeSession | null = null;
  private readonly events: Stream | null;
  private readonly calls: Stream | null;
  private readonly missedS: Stream | null;
  private readonly schedS: Stream;
  private readonly inputs: Stream;
  private readonly outputs: Stream;
  private readonly tasks: TaskRowOut[];
  private taskAt = 0;
  private readonly taskByTid = new Map<number, TaskRowOut>();
  private readonly ended = new Set<number>();
  private eventsSeen = 0;
  private readonly probeNames = new Map<number, string>();
  outputMismatch = false;

  constructor(
    private readonly reader: TraceReader,
    private readonly runId: number,
    private readonly mode: ReplayMode,
    private readonly next: RunSink[],
    probes: ProbeRow[],
  ) {
    const full = mode === 'verify';
    this.events = full ? new Stream(reader, SQL.events, runId) : null;
    this.calls = full ? new Stream(reader, SQL.calls, runId) : null;
    this.missedS = full ? new Stream(reader, SQL.missed, runId) : null;
    this.schedS = new Stream(reader, SQL.sched, runId);
    this.inputs = new Stream(reader, SQL.inputs, runId);
    this.outputs = new Stream(reader, SQL.output, runId);
    this.tasks = reader.tasks(runId);
    for (const t of this.tasks) this.taskByTid.set(t.tid, t);
    for (const p of probes) this.probeNames.set(p.probeId, p.event);
  }

  close(): void {
    for (const s of [this.events, this.calls, this.missedS, this.schedS, this.inputs, this.outputs])
      s?.close();
  }

  get eventCount(): number {
    return this.eventsSeen;
  }

  /** Instructions retired so far, exact to the instruction inside a slice. */
  instructionsNow(): number {
    return this.session?.machine.instructionsNow() ?? 0;
  }

  private nowTs(): number {
    return this.session ? this.session.machine.now() : 0;
  }

  fail(stream: DivergenceStream, recorded: string, replayed: string, ts = this.nowTs(), seq?: number): never {
    throw new ReplayStop(this.divergence(stream, recorded, replayed, ts, seq));
  }

  divergence(
    stream: DivergenceStream,
    recorded: string,
    replayed: string,
    ts: number,
    seq?: number,
  ): Divergence {
    const instructions = this.instructionsNow();
    const matched = seq !== undefined ? seq - 1 : this.eventsSeen;
    const event = seq ?? this.eventsSeen + 1;
    const where =
      stream === 'event'
        ? `event ${event}`
        : stream === 'final' || stream === 'binary' || stream === 'probe'
          ? `the ${stream === 'final' ? 'final state' : stream === 'probe' ? 'probes' : 'stored binary'}`
          : `${STREAM_NAMES[stream]} before event ${event}`;
    const why =
      this.mode === 'whatif'
        ? `the probes changed the guest's behaviour: ${where} differs from the recording`
        : `replay diverged from the recording at ${where}`;
    const message =
      `${why} (after ${matched} matching events, ${instructions} instructions, cycle ${ts})\n` +
      `  recorded: ${recorded}\n` +
      `  replayed: ${replayed}`;
    return { stream, event, eventsMatched: matched, recorded, replayed, instructions, ts, message };
  }

  private probeName(id: number | null): string {
    if (id === null) return '';
    const n = this.probeNames.get(id) ?? this.session?.probes[id - 1]?.event;
    return n ? ` (${n})` : '';
  }

  private describeEvent(e: {
    seq: number;
    ts: number;
    cpu: number;
    tid: number;
    kind: string;
    probeId: number | null;
    addr: number | null;
    args: string | null;
  }): string {
    return (
      `#${e.seq} ${e.kind} ts=${e.ts} cpu=${e.cpu} tid=${e.tid}` +
      (e.probeId !== null ? ` probe=${e.probeId}${this.probeName(e.probeId)}` : '') +
      ` addr=${hex(e.addr)}` +
      (e.args !== null ? ` args=${e.args}` : '')
    );
  }

  event(
    seq: number,
    ts: number,
    cpu: number,
    tid: number,
    kind: EventKindName,
    probeId: number | null,
    addr: number | null,
    args: string | null,
  ): void {
    this.eventsSeen = seq;
    if (this.events) {
      const r = this.events.next();
      const mine = { seq, ts, cpu, tid, kind, probeId, addr: addr === null ? null : addr >>> 0, args };
      if (!r)
        this.fail('event', '(nothing: the recording has no more events)', this.describeEvent(mine), ts, seq);
      const rec = {
        seq: r.seq as number,
        ts: r.ts as number,
        cpu: r.cpu as number,
        tid: r.tid as number,
        kind: EVENT_KINDS[r.kind as number] ?? `kind ${String(r.kind)}`,
        probeId: (r.probeId as number | null) ?? null,
        addr: r.addr === null ? null : (r.addr as number) >>> 0,
        args: (r.args as string | null) ?? null,
      };
      if (
        rec.seq !== seq ||
        rec.ts !== ts ||
        rec.cpu !== cpu ||
        rec.tid !== tid ||
        rec.kind !== kind ||
        rec.probeId !== probeId ||
        rec.addr !== mine.addr ||
        rec.args !== args
      )
        this.fail('event', this.describeEvent(rec), this.describeEvent(mine), ts, seq);
    }
    for (const n of this.next) n.event(seq, ts, cpu, tid, kind, probeId, addr, args);
  }

  call(
    probeId: number,
    tid: number,
    ts: number,
    dur: number,
    entryCpu: number,
    returnCpu: number,
    depth: number,
    retval: number | null,
    args: string | null,
    entrySeq: number,
    returnSeq: number,
  ): void {
    if (this.calls) {
      const d = (c: Row) =>
        `call probe=${String(c.probeId)}${this.probeName(c.probeId as number)} tid=${String(c.tid)} ts=${String(c.ts)} dur=${String(c.dur)} ` +
        `entry_cpu=${String(c.entryCpu)} return_cpu=${String(c.returnCpu)} depth=${String(c.depth)} retval=${hex(c.retval as number | null)}` +
        (c.args !== null && c.args !== undefined ? ` args=${String(c.args)}` : '') +
        (c.entrySeq !== null && c.entrySeq !== undefined
          ? ` events #${String(c.entrySeq)}..#${String(c.returnSeq)}`
          : '');
      const mine: Row = {
        probeId,
        tid,
        ts,
        dur,
        entryCpu,
        returnCpu,
        depth,
        retval: retval === null ? null : retval,
        args,
        entrySeq,
        returnSeq,
      };
      const r = this.calls.next();
      if (!r) this.fail('call', '(nothing: the recording has no more calls)', d(mine), ts + dur);
      if (
        r.probeId !== probeId ||
        r.tid !== tid ||
        r.ts !== ts ||
        r.dur !== dur ||
        r.entryCpu !== entryCpu ||
        r.returnCpu !== returnCpu ||
        r.depth !== depth ||
        (r.retval === null ? null : (r.retval as number) >>> 0) !== (retval === null ? null : retval >>> 0) ||
        ((r.args as string | null) ?? null) !== args ||
        // (older recordings of this format may lack the event numbers of a call)
        (r.entrySeq !== null && r.entrySeq !== undefined && r.entrySeq !== entrySeq) ||
        (r.returnSeq !== null && r.returnSeq !== undefined && r.returnSeq !== returnSeq)
      )
        this.fail('call', d(r), d(mine), ts + dur);
    }
    for (const n of this.next)
      n.call(probeId, tid, ts, dur, entryCpu, returnCpu, depth, retval, args, entrySeq, returnSeq);
  }

  missed(probeId: number, tid: number, cpu: number, ts: number, reason: 'no_instance' | 'reentry'): void {
    if (this.missedS) {
      const d = (m: Row) =>
        `missed probe=${String(m.probeId)}${this.probeName(m.probeId as number)} tid=${String(m.tid)} cpu=${String(m.cpu)} ts=${String(m.ts)} reason=${String(m.reason)}`;
      const mine: Row = { probeId, tid, cpu, ts, reason };
      const r = this.missedS.next();
      if (!r) this.fail('missed', '(nothing: the recording has no more missed calls)', d(mine), ts);
      const rec: Row = { ...r, reason: MISS_REASONS[r.reason as number] ?? String(r.reason) };
      if (
        rec.probeId !== probeId ||
        rec.tid !== tid ||
        rec.cpu !== cpu ||
        rec.ts !== ts ||
        rec.reason !== reason
      )
        this.fail('missed', d(rec), d(mine), ts);
    }
    for (const n of this.next) n.missed(probeId, tid, cpu, ts, reason);
  }

  sched(
    ts: number,
    cpu: number,
    prevTid: number,
    nextTid: number,
    reason: Parameters<RunSink['sched']>[4],
  ): void {
    const d = (s: Row) =>
      `context switch ts=${String(s.ts)} cpu=${String(s.cpu)} ${String(s.prevTid || 'idle')} -> ${String(s.nextTid || 'idle')} (${String(s.reason)})`;
    const mine: Row = { ts, cpu, prevTid, nextTid, reason };
    const r = this.schedS.next();
    if (!r) this.fail('sched', '(nothing: the recording has no more context switches)', d(mine), ts);
    if (
      r.ts !== ts ||
      r.cpu !== cpu ||
      ((r.prevTid as number | null) ?? 0) !== prevTid ||
      ((r.nextTid as number | null) ?? 0) !== nextTid ||
      r.reason !== reason
    )
      this.fail('sched', d(r), d(mine), ts);
    for (const n of this.next) n.sched(ts, cpu, prevTid, nextTid, reason);
  }

  taskStart(tid: number, parentTid: number, name: string, ts: number): void {
    const d = (t: { tid: number; parentTid: number | null; name: string; startTs: number | null }) =>
      `task ${t.tid} '${t.name}' started by ${t.parentTid || '-'} at ts=${String(t.startTs)}`;
    const mine = { tid, parentTid, name, startTs: ts };
    const r = this.tasks[this.taskAt++];
    if (!r) this.fail('task', '(nothing: the recording has no more tasks)', d(mine), ts);
    if (r.tid !== tid || (r.parentTid ?? 0) !== parentTid || r.name !== name || r.startTs !== ts)
      this.fail('task', d(r), d(mine), ts);
    for (const n of this.next) n.taskStart(tid, parentTid, name, ts);
  }

  taskEnd(tid: number, ts: number, exitCode: number | null): void {
    const d = (endTs: number | null, code: number | null) =>
      endTs === null
        ? `task ${tid} still running`
        : `task ${tid} ends at ts=${endTs} with exit code ${code ?? '-'}`;
    const r = this.taskByTid.get(tid);
    if (!r) this.fail('task', `(no task ${tid})`, d(ts, exitCode), ts);
    if (r.endTs !== ts || r.exitCode !== exitCode)
      this.fail('task', d(r.endTs, r.exitCode), d(ts, exitCode), ts);
    this.ended.add(tid);
    for (const n of this.next) n.taskEnd(tid, ts, exitCode);
  }

  input(kind: string, key: string, data: Uint8Array): void {
    const d = (k: string, ky: string | null, b: Uint8Array) =>
      `input ${k}${ky ? ' ' + ky : ''}: ${bytesPreview(b)}`;
    const r = this.inputs.next();
    if (!r) this.fail('input', '(nothing: the recording has no more inputs)', d(kind, key, data));
    const rdata = toBytes(r.data as Buffer);
    if (r.kind !== kind || ((r.key as string | null) ?? '') !== key || !sameBytes(rdata, data))
      this.fail('input', d(r.kind as string, r.key as string | null, rdata), d(kind, key, data));
    for (const n of this.next) n.input(kind, key, data);
  }

  output(fd: number, ts: number, data: Uint8Array): void {
    const d = (f: number, t: number, b: Uint8Array) => `write to fd ${f} at ts=${t}: ${bytesPreview(b)}`;
    const r = this.outputs.next();
    if (!r) {
      this.outputMismatch = true;
      this.fail('output', '(nothing: the recording has no more output)', d(fd, ts, data), ts);
    }
    const rdata = toBytes(r.data as Buffer);
    if (r.fd !== fd || r.ts !== ts || !sameBytes(rdata, data)) {
      this.outputMismatch = true;
      const at = firstDiff(rdata, data);
      const tail = (b: Uint8Array) => bytesPreview(b.subarray(Math.max(0, at - 20)));
      if (r.fd === fd && r.ts === ts && at > 20)
        this.fail(
          'output',
          `write to fd ${fd} at ts=${ts}, from byte ${at - 20}: ${tail(rdata)}`,
          `from byte ${at - 20}: ${tail(data)}`,
          ts,
        );
      this.fail('output', d(r.fd as number, r.ts as number, rdata), d(fd, ts, data), ts);
    }
    for (const n of this.next) n.output(fd, ts, data);
  }

  /** After the run: nothing recorded may be left over, and the final state must agree. */
  finish(result: RunResult, session: ProbeSession, recordedRun: RunRow, probes: ProbeRow[]): void {
    const ts = result.cycles;
    const left = (s: Stream | null, stream: DivergenceStream, what: (r: Row) => string): void => {
      const r = s?.next();
      if (r) this.fail(stream, what(r), '(nothing: the replay ended)', ts);
    };
    left(this.events, 'event', (r) =>
      this.describeEvent({
        seq: r.seq as number,
        ts: r.ts as number,
        cpu: r.cpu as number,
        tid: r.tid as number,
        kind: EVENT_KINDS[r.kind as number] ?? String(r.kind),
        probeId: (r.probeId as number | null) ?? null,
        addr: (r.addr as number | null) ?? null,
        args: (r.args as string | null) ?? null,
      }),
    );
    left(
      this.calls,
      'call',
      (r) => `call probe=${String(r.probeId)} tid=${String(r.tid)} ts=${String(r.ts)}`,
    );
    left(
      this.missedS,
      'missed',
      (r) => `missed probe=${String(r.probeId)} tid=${String(r.tid)} ts=${String(r.ts)}`,
    );
    left(this.schedS, 'sched', (r) => `context switch ts=${String(r.ts)} cpu=${String(r.cpu)}`);
    left(this.inputs, 'input', (r) => `input ${String(r.kind)} ${String(r.key ?? '')}`);
    const out = this.outputs.next();
    if (out) {
      this.outputMismatch = true;
      this.fail(
        'output',
        `write to fd ${String(out.fd)} at ts=${String(out.ts)}: ${bytesPreview(toBytes(out.data as Buffer))}`,
        '(nothing: the replay ended)',
        ts,
      );
    }
    const t = this.tasks[this.taskAt];
    if (t)
      this.fail(
        'task',
        `task ${t.tid} '${t.name}' starts at ts=${String(t.startTs)}`,
        '(nothing: the replay ended)',
        ts,
      );
    for (const r of this.tasks)
      if (r.endTs !== null && !this.ended.has(r.tid))
        this.fail('task', `task ${r.tid} ends at ts=${r.endTs}`, `task ${r.tid} never ended`, ts);
    const status = statusOf(result);
    const fin = (
      s: string,
      code: number | null,
      sig: number | null,
      ins: number | null,
      cyc: number | null,
    ) =>
      `${s}, exit code ${code ?? '-'}, signal ${sig ?? '-'}, ${ins ?? '?'} instructions, ${cyc ?? '?'} cycles`;
    if (
      recordedRun.status !== status ||
      recordedRun.exitCode !== result.exitCode ||
      recordedRun.signal !== result.signal ||
      recordedRun.instructions !== result.instructions ||
      recordedRun.cycles !== result.cycles
    )
      this.fail(
        'final',
        fin(
          recordedRun.status,
          recordedRun.exitCode,
          recordedRun.signal,
          recordedRun.instructions,
          recordedRun.cycles,
        ),
        fin(status, result.exitCode, result.signal, result.instructions, result.cycles),
        ts,
      );
    if (this.mode === 'verify') {
      const counters = new Map(session.counters().map((c) => [c.probeId, c]));
      for (const p of probes) {
        const c = counters.get(p.probeId);
        const got = c
          ? `hits ${c.hits}, nmissed ${c.nmissed}, nmissed_reentry ${c.nmissedReentry}`
          : '(no such probe)';
        const want = `hits ${p.hits ?? '?'}, nmissed ${p.nmissed ?? '?'}, nmissed_reentry ${p.nmissedReentry ?? '?'}`;
        if (got !== want) this.fail('final', `${p.event}: ${want}`, `${p.event}: ${got}`, ts);
      }
    }
  }
}

const STREAM_NAMES: Record<DivergenceStream, string> = {
  event: 'event',
  call: 'a call',
  missed: 'a missed call',
  sched: 'the schedule (context switches)',
  task: 'the task lifecycle',
  input: 'the inputs consumed',
  output: 'the guest output',
  probe: 'the probes',
  final: 'the final state',
  binary: 'the stored binary',
};

// ---------------------------------------------------------------------------------------------
// Replay

/** Finds the probe a `--maxactive`/event name means: exact 'GRP/EVENT', else a unique 'EVENT'. */
function resolveEvent<T extends { event: string }>(probes: readonly T[], name: string): T | undefined {
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
  const probes = mode === 'verify' ? plan.probes : [...plan.probes, ...(opts.probes ?? [])];
  const maxactive: Record<string, number> = mode === 'verify' ? plan.maxactive : { ...plan.maxactive };
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
  // Probe specs and pool overrides are checked on a throwaway session, before anything is written.
  let trial: ProbeSession;
  try {
    trial = new ProbeSession(
      plan.binary,
      { ...sessionOpts(maxactive), onStdout: undefined, onStderr: undefined },
      nullSink(),
    );
  } catch (e) {
    if (e instanceof ProbeSpecError)
      throw new ReplayError(
        mode === 'verify' ? `cannot install the recorded probes of run ${runId}: ${e.message}` : e.message,
        mode === 'whatif',
      );
    const msg = e instanceof Error ? e.message : String(e);
    throw new ReplayError(`run ${runId}: the stored binary cannot be loaded: ${msg.split('\n')[0]}`);
  }
  if (mode === 'whatif') {
    const live = installed(trial);
    for (const [name, n] of Object.entries(opts.maxactive ?? {})) {
      const p = resolveEvent(live, name);
      if (!p)
        throw new ReplayError(
          `--maxactive ${name}: no such probe in the replay (probes: ${live.map((x) => x.event).join(', ') || 'none'})`,
          true,
        );
      if (p.kind !== 'kretprobe')
        throw new ReplayError(
          `--maxactive ${name}: ${p.event} is a ${p.kind}, only kretprobes have a pool`,
          true,
        );
      if (!(n === Infinity || (Number.isInteger(n) && n >= 1)))
        throw new ReplayError(
          `--maxactive ${name}: the pool size must be a positive integer or unbounded, got ${n}`,
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
    const config: RunConfig = {
      ...plan.config,
      probes,
      maxactive: encodeMaxactive(maxactive),
      replayOf: { trace: reader.path, runId },
    };
    newRunId = w.beginRun({ workload: plan.run.workload, binary: plan.binary, config, replayOf: runId });
    next.push(writerSink(w, newRunId));
  }
  if (opts.observer) next.push(opts.observer);
  const cmp = new Comparator(reader, runId, mode, next, recordedProbes);
  let session: ProbeSession | null = null;
  let result: RunResult | null;
  let divergence: Divergence | null = null;
  try {
    try {
      session = new ProbeSession(plan.binary, sessionOpts(maxactive), cmp);
      cmp.session = session;
      const live = installed(session);
      if (newRunId !== null && w)
        for (const p of live)
          w.addProbe(newRunId, {
            probeId: p.probeId,
            event: p.event,
            kind: p.kind,
            spec: p.spec,
            symbol: p.symbol,
            offset: p.offset,
            addr: p.addr,
            maxactive: p.maxactive,
          });
      if (mode === 'verify') checkProbes(cmp, live, recordedProbes);
      if (opts.onProgress) {
        session.machine.hooks.progress.add(opts.onProgress);
      }
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
      if (!(e instanceof ReplayStop)) throw e;
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
      misses: p.rp ? c.nmissed + c.nmissedReentry : c.nmissedReentry,
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

// ---------------------------------------------------------------------------------------------
// Analysis: the complete call set

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
    maxactive[p.event] = Infinity;
  }
  const missedKeys = new Set<string>();
  for (const m of reader.missed(runId))
    if (m.reason === 'no_instance' && want.has(m.probeId)) missedKeys.add(`${m.probeId}:${m.tid}:${m.ts}`);

  const out: CallRec[] = [];
  const open = new Map<string, CallRec[]>(); // `${tid}:${probeId}` → entries waiting for their return
  let lastSeq = 0;
  const collector: RunSink = {
    ...nullSink(),
    event: (seq, ts, cpu, tid, kind, probeId) => {
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
    call: (probeId, tid, ts, dur, _ec, returnCpu, depth, retval, args, entrySeq, returnSeq) => {
      if (!want.has(probeId)) return;
      const c = open.get(`${tid}:${probeId}`)?.pop();
      if (!c || c.entryTs !== ts || c.depth !== depth || c.entrySeq !== entrySeq || returnSeq !== lastSeq)
        throw new Error(
          `complete call set: return of probe ${probeId} in task ${tid} does not match an entry`,
        );
      c.returnTs = ts + dur;
      c.returnSeq = lastSeq;
      c.returnCpu = returnCpu;
      c.retval = retval;
      c.args = args === null ? null : (JSON.parse(args) as Record<string, unknown>);
    },
    taskEnd: (tid) => {
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
