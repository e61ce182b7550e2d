// The batched trace writer used by the recorder and by what-if replays: a RunSink (records.ts)
// that stores the records of the run begun last.
// Guarantees:
// - beginRun() commits the run row (status 'incomplete'), its configuration and its binary
//   (deduplicated by sha256) before returning, so a recording killed at any later point leaves an
//   'incomplete' run that opens.
// - Each fact is stored once: a 'singlestep' right after the kprobe hit it completes (same cpu,
//   tid, probe and address, no args) becomes the hit row's `step`, and the 'trampoline' and
//   'return' events of a kretprobed call become flags of the call's row (schemas/trace.sql); any
//   event that does not match its implied form exactly is stored as a row, so the events view
//   shows every event as it was produced.
// - A kretprobe's entry hit (at the probe's address, no args) is held back, with the single step
//   that follows it, until its call record comes: the call row then implies both (raw_calls.step).
//   Held entries are stored as rows at every hand-over (so each committed batch holds every event
//   produced before it, stored or implied), when a 'missed' event says no call will come, and
//   when more than MAX_PENDING are held.
// - Input contents are stored once per sha256 (input_data); the log rows refer to them.
// - Guest output beyond the run's output limit is not stored (the write that crosses it is cut);
//   the run is then marked output_truncated.
// - The RunSink methods (event, call, missed, sched, taskStart/taskEnd, input, output, syscall)
//   append to the run begun last and only fill in-memory buffers (numbers in preallocated row-major Float64Arrays, NaN = NULL; the hot path event()
//   allocates nothing unless its args string is new to the intern cache). When any buffer reaches
//   `batchRows` rows (or the blobs `maxBufferedBytes`), on flush(), finishRun() and close(), ALL
//   buffers become one Batch that the store inserts in ONE transaction (store.ts).
// - The store runs in a worker thread when this module runs compiled (dist/, what the commands
//   use), so SQLite works on one core while the emulator runs on the other; at most
//   `maxBatchesInFlight` batches wait for it (memory stays bounded). flush(), finishRun() and
//   close() return only when everything handed over is committed; beginRun() returns
//   after its commit on either thread. Under the TypeScript sources (the tests run dist/) or with
//   `thread: 'inline'` the store runs in this thread.
// - After a SIGKILL the file holds exactly the committed batches (WAL; a process kill loses no
//   commit; power loss during a recording may).
// - After a failed write (disk full, ...) the writer is broken: every later call throws the same
//   TraceError instead of silently dropping rows.

import { createHash } from 'node:crypto';
import {
  CALL_RETURN_IMPLIED,
  CALL_TRAMPOLINE_IMPLIED,
  IMPLIED_RETURN_ADDR,
  NO_ROWS,
  NUMERIC_TABLES,
  ROW_TABLE_NAMES,
  ROW_TABLES,
  packCallInfo,
  packEventInfo,
  type Batch,
  type NumericTableName,
  type RowTableName,
  type RowValue,
} from './batch.js';
import { EventKind, eventKindCode } from './codes.js';
import { type CreateOptions, TraceError, createTrace, openTrace } from './db.js';
import type {
  CallRecord,
  EventRecord,
  InputRecord,
  MissRecord,
  OutputRecord,
  ProbeRecord,
  RunEnd,
  RunSink,
  SchedRecord,
  SyscallCountRecord,
  TaskEndRecord,
  TaskRecord,
} from './records.js';
import { TraceStore, type BeginRunInfo, type StoreOps } from './store.js';
import { WORKER_AVAILABLE, WorkerStore, prestartStoreWorker } from './worker-store.js';

export type { BeginRunInfo } from './store.js';

/**
 * Starts the thread the next worker-backed writer will use (module loading, SQLite), so that its
 * start-up overlaps the caller's work before TraceWriter.create(); touches no file.
 */
export const prestartTraceWriter = prestartStoreWorker;

export interface WriterOptions {
  /** Rows per buffer before an automatic flush (default 16384, at most 2^18). */
  batchRows?: number;
  /** Rows per prepared multi-row INSERT (default 128). */
  rowsPerStatement?: number;
  /** Buffered input/output bytes before an automatic flush (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Distinct strings remembered for interning before the cache restarts (default 2^20). */
  internCacheSize?: number;
  /** Where SQLite runs: a worker thread (default when compiled) or this thread. */
  thread?: 'worker' | 'inline';
  /** Batches handed to the worker and not yet committed before appends wait (default 4). */
  maxBatchesInFlight?: number;
  /**
   * Store every event as a row, implying none (the layout of formats 1 to 3; the view-equality
   * test compares the two layouts). Default false.
   */
  storeEveryEvent?: boolean;
}

export interface WriterCounts {
  events: number;
  calls: number;
  missed: number;
  sched: number;
  tasks: number;
  inputs: number;
  outputs: number;
  syscalls: number;
  strings: number;
  flushes: number;
}

interface TaskRow extends TaskRecord {
  id: number;
  runId: number;
  endTs: number | null;
  exitCode: number | null;
  /** Its INSERT has been handed to the store: the end becomes an UPDATE. */
  stored: boolean;
}

/** Entry hits held back at once (a deeper nesting stores the oldest ones as rows). */
const MAX_PENDING = 256;
/** Fields of a held entry hit in the pending buffer: seq, ts, info, addr, step (NaN: none yet). */
const PW = 5;

interface RunState {
  inputSeq: number;
  outputSeq: number;
  /** Output bytes the trace may still store for the run (Infinity: no limit). */
  outputLeft: number;
  outputTruncated: boolean;
}

/** What the writer remembers of the event stored last, to fold the single step that follows it. */
interface LastRow {
  /** Row index in the current event buffer, -1 when there is none to fold into. */
  at: number;
  seq: number;
  ts: number;
  info: number;
  addr: number | null;
}

/** A trampoline or return event held back until the call record that implies it arrives. */
interface HeldEvent {
  held: boolean;
  seq: number;
  ts: number;
  cpu: number;
  tid: number;
  probeId: number | null;
  args: string | null;
}

function heldEvent(): HeldEvent {
  return { held: false, seq: 0, ts: 0, cpu: 0, tid: 0, probeId: null, args: null };
}

const WIDTH: Record<NumericTableName, number> = {
  raw_events: NUMERIC_TABLES.raw_events.length,
  raw_calls: NUMERIC_TABLES.raw_calls.length,
  raw_sched: NUMERIC_TABLES.raw_sched.length,
};

function emptyRows(): Record<RowTableName, RowValue[]> {
  return { strings: [], raw_tasks: [], input_data: [], raw_inputs: [], output: [], raw_syscalls: [] };
}

const SINGLESTEP = EventKind.singlestep;
const KPROBE = EventKind.kprobe;
const MISSED = EventKind.missed;

function isEmpty(rows: Record<RowTableName, RowValue[]>): boolean {
  return ROW_TABLE_NAMES.every((t) => rows[t].length === 0);
}

export class TraceWriter implements RunSink {
  readonly path: string;
  private readonly store: StoreOps;
  private readonly cap: number;
  private readonly maxBytes: number;
  private readonly internCap: number;
  private readonly storeAll: boolean;

  // Numeric buffers: row-major, WIDTH[t] columns. Replaced after a hand-over to the worker
  // (transferred buffers are detached), reused when the store is inline.
  private ev: Float64Array;
  private nEv = 0;
  private callBuf: Float64Array;
  private nCalls = 0;
  private schedBuf: Float64Array;
  private nSched = 0;
  private rows = emptyRows();
  private rowBytes = 0;
  private taskUpdates: (number | null)[] = [];

  private readonly last: LastRow = { at: -1, seq: 0, ts: 0, info: 0, addr: null };
  /** Held entry hits, oldest first (PW values each), waiting for the call row that implies them. */
  private readonly pending = new Float64Array(MAX_PENDING * PW);
  private nPending = 0;
  /** handOver() is storing the held events (into the event buffer's spare room). */
  private handingOver = false;
  /** Address of each kretprobe of the current run by probe id (-1: not a kretprobe). */
  private kretAddr: number[] = [];
  private readonly heldTramp = heldEvent();
  private readonly heldRet = heldEvent();
  /** Contents handed to the store (by sha256), and the hash of data objects seen before. */
  private readonly storedData = new Set<string>();
  private readonly hashOf = new WeakMap<Uint8Array, string>();
  private readonly strIds = new Map<string, number>();
  private lastStrId: number;
  private lastTaskId: number;
  private pendingTasks: TaskRow[] = [];
  private readonly openTasks = new Map<number, TaskRow>();
  private readonly runs = new Map<number, RunState>();
  /** The run the RunSink methods append to (the one begun last), -1 when none. */
  private run = -1;
  private readonly totals: WriterCounts = {
    events: 0,
    calls: 0,
    missed: 0,
    sched: 0,
    tasks: 0,
    inputs: 0,
    outputs: 0,
    syscalls: 0,
    strings: 0,
    flushes: 0,
  };
  private broken: TraceError | undefined;
  private closed = false;

  /** Creates a new trace file (refusing to overwrite unless opts.force) and a writer on it. */
  static create(path: string, opts: CreateOptions & WriterOptions = {}): TraceWriter {
    if (useWorker(opts))
      return new TraceWriter(
        new WorkerStore('create', path, opts, rowsPerStatement(opts), inFlight(opts)),
        path,
        opts,
      );
    return new TraceWriter(new TraceStore(createTrace(path, opts), path, rowsPerStatement(opts)), path, opts);
  }

  /** A writer that adds runs to an existing trace file (after the version gate). */
  static append(path: string, opts: WriterOptions = {}): TraceWriter {
    if (useWorker(opts))
      return new TraceWriter(
        new WorkerStore('append', path, {}, rowsPerStatement(opts), inFlight(opts)),
        path,
        opts,
      );
    return new TraceWriter(
      new TraceStore(openTrace(path, { readonly: false }), path, rowsPerStatement(opts)),
      path,
      opts,
    );
  }

  /** A writer over another store (a verify's, which checks the batches instead of inserting them). */
  static over(store: StoreOps, path: string, opts: WriterOptions = {}): TraceWriter {
    return new TraceWriter(store, path, opts);
  }

  private constructor(store: StoreOps, path: string, opts: WriterOptions) {
    this.store = store;
    this.path = path;
    // (at most 2^18: an implied entry's call row is then at most that many calls later, which
    // the reader relies on, schemas/trace.sql)
    this.cap = Math.max(1, Math.min(1 << 18, Math.floor(opts.batchRows ?? 16384)));
    this.maxBytes = opts.maxBufferedBytes ?? 16 << 20;
    this.internCap = Math.max(1, opts.internCacheSize ?? 1 << 20);
    this.storeAll = opts.storeEveryEvent === true;
    this.ev = this.buffer('raw_events');
    this.callBuf = this.buffer('raw_calls');
    this.schedBuf = this.buffer('raw_sched');
    let ids;
    try {
      ids = store.lastIds();
    } catch (err) {
      store.close();
      throw err;
    }
    this.lastStrId = ids.string;
    this.lastTaskId = ids.task;
  }

  private buffer(t: NumericTableName): Float64Array {
    // The event buffer has room beyond `cap` for what a hand-over stores first (the held-back
    // trampoline/return and entry hits), which may find it full.
    const n = (this.cap + (t === 'raw_events' ? MAX_PENDING + 2 : 0)) * WIDTH[t];
    return this.store.takeBuffer(n) ?? new Float64Array(n);
  }

  /** Rows handed to the writer so far (flushed or not) and the number of flushes. */
  counts(): WriterCounts {
    return { ...this.totals };
  }

  /**
   * Inserts the run (status 'incomplete'), its config and binary, and commits. Returns run_id;
   * the RunSink methods append to this run from now on.
   */
  beginRun(info: BeginRunInfo): number {
    this.usable();
    this.handOver();
    const runId = this.store.beginRun(info);
    const limit = info.outputLimit ?? null;
    this.runs.set(runId, {
      inputSeq: 0,
      outputSeq: 0,
      outputLeft: limit === null ? Infinity : limit,
      outputTruncated: false,
    });
    this.run = runId;
    this.kretAddr = [];
    return runId;
  }

  /** Registers a probe of a run (committed immediately). */
  addProbe(runId: number, p: ProbeRecord): void {
    this.usable();
    this.handOver();
    this.store.addProbe(runId, p);
    if (runId === this.run && Number.isSafeInteger(p.probeId) && p.probeId >= 0 && p.probeId < 1 << 20) {
      while (this.kretAddr.length <= p.probeId) this.kretAddr.push(-1);
      this.kretAddr[p.probeId] = p.kind === 'kretprobe' ? p.addr >>> 0 : -1;
    }
  }

  /** The run the sink methods append to; TraceError when no run is being recorded. */
  private current(): number {
    if (this.run < 0) {
      this.usable();
      throw new TraceError('no run is being recorded by this writer');
    }
    return this.run;
  }

  /**
   * Appends one event. Allocation-free unless `args` is a string not seen before (interned). A
   * single step, trampoline hit or return that another row implies is not stored (see the header).
   */
  event(r: EventRecord): void {
    const runId = this.current();
    const code = eventKindCode(r.kind);
    if (this.storeAll)
      return this.storeEvent(runId, r.seq, r.ts, code, r.cpu, r.tid, r.probeId, r.addr, r.args);
    if (this.heldTramp.held || this.heldRet.held) {
      if (
        code === EventKind.return &&
        !this.heldRet.held &&
        r.probeId !== null &&
        r.addr === IMPLIED_RETURN_ADDR
      ) {
        const t = this.heldTramp;
        if (t.seq !== r.seq - 1 || t.ts !== r.ts || t.cpu !== r.cpu || t.tid !== r.tid) this.releaseHeld();
        this.hold(this.heldRet, r);
        return;
      }
      this.releaseHeld();
    }
    if (r.addr === IMPLIED_RETURN_ADDR) {
      if (code === EventKind.return && r.probeId !== null) return this.hold(this.heldRet, r);
      if (code === EventKind.trampoline && r.probeId === null && r.args === null)
        return this.hold(this.heldTramp, r);
    }
    if (code === SINGLESTEP && r.args === null && (this.foldPendingStep(r) || this.foldStep(r))) return;
    if (code === KPROBE && r.args === null && r.probeId !== null && this.kretAddr[r.probeId] === r.addr)
      return this.holdEntry(r);
    if (code === MISSED && this.nPending > 0) this.releaseMissed(r);
    this.storeEvent(runId, r.seq, r.ts, code, r.cpu, r.tid, r.probeId, r.addr, r.args);
  }

  /** Holds a kretprobe's entry hit until its call row (or a hand-over) comes. */
  private holdEntry(r: EventRecord): void {
    const info = packEventInfo(KPROBE, r.cpu, r.tid, r.probeId);
    if (info < 0)
      return this.storeEvent(this.run, r.seq, r.ts, KPROBE, r.cpu, r.tid, r.probeId, r.addr, null);
    if (this.nPending === MAX_PENDING) {
      // The oldest one is stored as a row; the rest move down.
      this.releasePendingAt(0);
    }
    const b = this.nPending++ * PW;
    const p = this.pending;
    p[b] = r.seq;
    p[b + 1] = r.ts;
    p[b + 2] = info;
    p[b + 3] = r.addr!;
    p[b + 4] = NaN;
  }

  /** Folds a single step into the entry hit held last (1 or 2 events before it, same fields). */
  private foldPendingStep(r: EventRecord): boolean {
    if (this.nPending === 0) return false;
    const p = this.pending;
    const b = (this.nPending - 1) * PW;
    const d = r.seq - p[b]!;
    if ((d !== 1 && d !== 2) || p[b + 4] === p[b + 4] || !(r.ts >= p[b + 1]!) || r.addr !== p[b + 3])
      return false;
    if (packEventInfo(KPROBE, r.cpu, r.tid, r.probeId) !== p[b + 2]) return false;
    p[b + 4] = (r.ts - p[b + 1]!) * 2 + (d - 1);
    return true;
  }

  /** A 'missed' event right after a held entry hit of the same task: no call will imply it. */
  private releaseMissed(r: EventRecord): void {
    const b = (this.nPending - 1) * PW;
    const p = this.pending;
    if (p[b] === r.seq - 1 && p[b + 2] === packEventInfo(KPROBE, r.cpu, r.tid, r.probeId))
      this.releasePendingAt(this.nPending - 1);
  }

  /** Stores held entry hit `i` (and its single step) as rows and removes it from the held ones. */
  private releasePendingAt(i: number): void {
    const p = this.pending;
    const b = i * PW;
    const seq = p[b]!;
    const ts = p[b + 1]!;
    const info = p[b + 2]!;
    const addr = p[b + 3]!;
    const step = p[b + 4]!;
    if (i < this.nPending - 1) p.copyWithin(b, b + PW, this.nPending * PW);
    this.nPending--;
    this.storeRow(seq, ts, info, addr, NaN, step);
  }

  /** Stores every held entry hit as rows. */
  private releasePending(): void {
    while (this.nPending > 0) this.releasePendingAt(this.nPending - 1);
  }

  /**
   * Appends one row of raw_events as is (a released entry hit or its step); the fold target
   * (`last`) stays what it was.
   */
  private storeRow(seq: number, ts: number, info: number, addr: number, args: number, step: number): void {
    const d = this.ev;
    const i = this.nEv;
    const b = i * 7;
    d[b] = this.run;
    d[b + 1] = seq;
    d[b + 2] = ts;
    d[b + 3] = info;
    d[b + 4] = addr;
    d[b + 5] = args;
    d[b + 6] = step;
    this.nEv = i + 1;
    if (i + 1 >= this.cap && !this.handingOver) this.handOver();
  }

  /**
   * Folds a single step into the kprobe hit stored last, 1 or 2 events before it (a held entry hit
   * of another probe on the same instruction between), with the same cpu, tid, probe and addr.
   */
  private foldStep(r: EventRecord): boolean {
    const l = this.last;
    const d = r.seq - l.seq;
    if (l.at < 0 || (d !== 1 && d !== 2) || l.addr !== r.addr || !(r.ts >= l.ts)) return false;
    if (l.info !== packEventInfo(KPROBE, r.cpu, r.tid, r.probeId)) return false;
    this.ev[l.at * 7 + 6] = (r.ts - l.ts) * 2 + (d - 1);
    l.at = -1;
    return true;
  }

  private hold(h: HeldEvent, r: EventRecord): void {
    h.held = true;
    h.seq = r.seq;
    h.ts = r.ts;
    h.cpu = r.cpu;
    h.tid = r.tid;
    h.probeId = r.probeId;
    h.args = r.args;
  }

  /** Stores the held-back events as rows (no call record implied them). */
  private releaseHeld(): void {
    const runId = this.run;
    for (const [h, code] of [
      [this.heldTramp, EventKind.trampoline],
      [this.heldRet, EventKind.return],
    ] as const) {
      if (!h.held) continue;
      h.held = false;
      this.storeEvent(runId, h.seq, h.ts, code, h.cpu, h.tid, h.probeId, IMPLIED_RETURN_ADDR, h.args);
    }
  }

  private storeEvent(
    runId: number,
    seq: number,
    ts: number,
    code: number,
    cpu: number,
    tid: number,
    probeId: number | null,
    addr: number | null,
    args: string | null,
  ): void {
    const info = packEventInfo(code, cpu, tid, probeId);
    if (info < 0)
      throw new TraceError(
        `event ${seq}: cpu ${cpu}, tid ${tid} or probe ${probeId} is beyond what a trace stores (cpu < 128, tid < 2^22, probe < 2^20 - 1)`,
      );
    const d = this.ev;
    const i = this.nEv;
    const b = i * 7;
    d[b] = runId;
    d[b + 1] = seq;
    d[b + 2] = ts;
    d[b + 3] = info;
    d[b + 4] = addr === null ? NaN : addr >>> 0;
    d[b + 5] = args === null ? NaN : this.intern(args);
    d[b + 6] = NaN;
    this.nEv = i + 1;
    const l = this.last;
    l.at = code === KPROBE ? i : -1;
    l.seq = seq;
    l.ts = ts;
    l.info = info;
    l.addr = addr;
    if (i + 1 >= this.cap && !this.handingOver) this.handOver();
  }

  /** Appends one completed call of a return probe (implying its held-back return events). */
  call(r: CallRecord): void {
    const runId = this.current();
    let flags = 0;
    const h = this.heldRet;
    if (
      h.held &&
      h.seq === r.returnSeq &&
      h.ts === r.ts + r.dur &&
      h.cpu === r.returnCpu &&
      h.tid === r.tid &&
      h.probeId === r.probeId &&
      h.args === r.args
    ) {
      h.held = false;
      flags = CALL_RETURN_IMPLIED;
      if (this.heldTramp.held) {
        this.heldTramp.held = false;
        flags |= CALL_TRAMPOLINE_IMPLIED;
      }
    } else this.releaseHeld();
    const step = this.nPending > 0 && r.entrySeq !== null ? this.takeEntry(r) : NaN;
    const info = packCallInfo(r.entryCpu, r.returnCpu, r.depth, flags);
    if (info < 0)
      throw new TraceError(
        `call of probe ${r.probeId}: cpu ${r.entryCpu}/${r.returnCpu} or depth ${r.depth} out of range`,
      );
    const d = this.callBuf;
    const i = this.nCalls;
    const b = i * 11;
    d[b] = runId;
    d[b + 1] = r.probeId;
    d[b + 2] = r.tid;
    d[b + 3] = r.ts;
    d[b + 4] = r.dur;
    d[b + 5] = info;
    d[b + 6] = r.retval === null ? NaN : r.retval;
    d[b + 7] = r.args === null ? NaN : this.intern(r.args);
    d[b + 8] = r.entrySeq === null ? NaN : r.entrySeq;
    d[b + 9] = r.returnSeq;
    d[b + 10] = step;
    this.nCalls = i + 1;
    this.last.at = -1;
    if (i + 1 >= this.cap) this.handOver();
  }

  /**
   * The held entry hit the call `r` implies, removed from the held ones: its raw_calls.step (-1:
   * no single step), or NaN when none matches (the entry is, or will be, a row).
   */
  private takeEntry(r: CallRecord): number {
    const p = this.pending;
    for (let i = this.nPending - 1; i >= 0; i--) {
      const b = i * PW;
      if (p[b] !== r.entrySeq) continue;
      if (p[b + 1] !== r.ts || p[b + 2] !== packEventInfo(KPROBE, r.entryCpu, r.tid, r.probeId)) return NaN;
      const step = p[b + 4]!;
      // (nested calls return newest first: usually nothing moves)
      if (i < this.nPending - 1) p.copyWithin(b, b + PW, this.nPending * PW);
      this.nPending--;
      return step === step ? step : -1;
    }
    return NaN;
  }

  /**
   * A missed call stores nothing more: its 'missed' or 'reentry' event, already appended, is its
   * one row (format 7; the missed view reads it from raw_events).
   */
  missed(_r: MissRecord): void {
    this.current();
    this.totals.missed++;
  }

  /** Appends one context switch; a null tid is the idle CPU; `reason` is interned. */
  sched(r: SchedRecord): void {
    const runId = this.current();
    const d = this.schedBuf;
    const i = this.nSched;
    const b = i * 6;
    d[b] = runId;
    d[b + 1] = r.ts;
    d[b + 2] = r.cpu;
    d[b + 3] = r.prevTid === null ? NaN : r.prevTid;
    d[b + 4] = r.nextTid === null ? NaN : r.nextTid;
    d[b + 5] = this.intern(r.reason);
    this.nSched = i + 1;
    if (i + 1 >= this.cap) this.handOver();
  }

  /** A task (thread) starts. */
  taskStart(r: TaskRecord): void {
    const runId = this.current();
    this.usable();
    const row: TaskRow = {
      id: ++this.lastTaskId,
      runId,
      tid: r.tid,
      pid: r.pid,
      ppid: r.ppid,
      parentTid: r.parentTid,
      name: r.name,
      exe: r.exe,
      startTs: r.startTs,
      endTs: null,
      exitCode: null,
      stored: false,
    };
    this.openTasks.set(runId * 0x1_0000_0000 + r.tid, row);
    this.pendingTasks.push(row);
    this.totals.tasks++;
    if (this.pendingTasks.length >= this.cap) this.handOver();
  }

  /**
   * A task ends. A task that was never announced with taskStart() still gets a row (pid = tid,
   * ppid, parent_tid and start_ts NULL, name and exe ''), so bookkeeping gaps never abort a
   * recording.
   */
  taskEnd(r: TaskEndRecord): void {
    const runId = this.current();
    this.usable();
    const key = runId * 0x1_0000_0000 + r.tid;
    let row = this.openTasks.get(key);
    if (!row) {
      this.taskStart({ tid: r.tid, pid: r.tid, ppid: 0, parentTid: null, name: '', exe: '', startTs: null });
      row = this.openTasks.get(key)!;
    }
    this.openTasks.delete(key);
    row.endTs = r.ts;
    row.exitCode = r.exitCode;
    if (row.stored) {
      this.taskUpdates.push(r.ts, r.exitCode, row.id);
      if (this.taskUpdates.length >= 3 * this.cap) this.handOver();
    }
  }

  /**
   * Logs one nondeterministic input. Its content is stored once per sha256 (copied the first
   * time); the same Uint8Array object logged again is not hashed again. Returns its seq within the
   * run.
   */
  input(r: InputRecord): number {
    const runId = this.current();
    const st = this.runState(runId);
    const seq = st.inputSeq++;
    let sha = r.sha256 ?? this.hashOf.get(r.data);
    if (sha === undefined) {
      sha = createHash('sha256').update(r.data).digest('hex');
      this.hashOf.set(r.data, sha);
    }
    let bytes = 0;
    if (!this.storedData.has(sha)) {
      this.storedData.add(sha);
      this.rows.input_data.push(sha, r.data.byteLength, Uint8Array.from(r.data));
      bytes = r.data.byteLength;
    }
    this.rows.raw_inputs.push(runId, seq, r.kind, r.key, sha);
    this.totals.inputs++;
    this.addBytes(bytes, this.rows.raw_inputs.length);
    return seq;
  }

  /**
   * Stores guest output written to `fd` at cycle `ts` (copied), up to the run's output limit: the
   * write that crosses it is stored cut, later ones not at all (the run is marked truncated).
   * Returns its seq within the run, or -1 when nothing was stored.
   */
  output(r: OutputRecord): number {
    const runId = this.current();
    const st = this.runState(runId);
    let data = r.data;
    if (data.byteLength > st.outputLeft) {
      st.outputTruncated = true;
      if (st.outputLeft === 0) return -1;
      data = data.subarray(0, st.outputLeft);
    }
    st.outputLeft -= data.byteLength;
    const seq = st.outputSeq++;
    this.rows.output.push(runId, seq, r.fd, r.ts, Uint8Array.from(data));
    this.totals.outputs++;
    this.addBytes(data.byteLength, this.rows.output.length);
    return seq;
  }

  /** Stores the system call counts of one task and number. */
  syscall(r: SyscallCountRecord): void {
    const runId = this.current();
    this.runState(runId);
    this.rows.raw_syscalls.push(runId, r.tid, r.nr, r.name, r.calls, r.errors, r.enosys);
    this.totals.syscalls++;
    this.addBytes(0, this.rows.raw_syscalls.length);
  }

  private addBytes(n: number, values: number): void {
    this.rowBytes += n;
    if (values >= 5 * this.cap || this.rowBytes >= this.maxBytes) this.handOver();
  }

  /** Hands every buffer to the store as one batch and waits until all batches are committed. */
  flush(): void {
    this.handOver();
    this.guard(() => this.store.sync());
  }

  /** Hands every buffer to the store as one batch (one transaction); does not wait for a worker. */
  private handOver(): void {
    this.usable();
    this.handingOver = true;
    try {
      this.releaseHeld();
      this.releasePending();
    } finally {
      this.handingOver = false;
    }
    this.last.at = -1;
    const rows = this.rows;
    for (const t of this.pendingTasks) {
      rows.raw_tasks.push(
        t.id,
        t.runId,
        t.tid,
        t.pid,
        t.ppid,
        t.parentTid,
        t.name,
        t.exe,
        t.startTs,
        t.endTs,
        t.exitCode,
      );
      t.stored = true;
    }
    this.pendingTasks = [];
    if (
      this.nEv === 0 &&
      this.nCalls === 0 &&
      this.nSched === 0 &&
      this.taskUpdates.length === 0 &&
      isEmpty(rows)
    )
      return;
    const batch: Batch = {
      numeric: {
        raw_events: { data: this.nEv ? this.ev : NO_ROWS, n: this.nEv },
        raw_calls: { data: this.nCalls ? this.callBuf : NO_ROWS, n: this.nCalls },
        raw_sched: { data: this.nSched ? this.schedBuf : NO_ROWS, n: this.nSched },
      },
      rows,
      taskUpdates: this.taskUpdates,
    };
    const tot = this.totals;
    tot.events += this.nEv;
    tot.calls += this.nCalls;
    tot.sched += this.nSched;
    tot.strings += rows.strings.length / ROW_TABLES.strings.length;
    tot.flushes++;
    this.nEv = this.nCalls = this.nSched = 0;
    this.rows = emptyRows();
    this.rowBytes = 0;
    this.taskUpdates = [];
    this.guard(() => this.store.write(batch));
    // A worker took the buffers (detached now); an inline store left them for reuse.
    if (this.ev.byteLength === 0) this.ev = this.buffer('raw_events');
    if (this.callBuf.byteLength === 0) this.callBuf = this.buffer('raw_calls');
    if (this.schedBuf.byteLength === 0) this.schedBuf = this.buffer('raw_sched');
  }

  /**
   * Appends all runs of another trace file (parallel sweeps, shards); returns their new run ids:
   * after this file's last run, or each source run id + `runIdOffset` when that is given.
   */
  appendTrace(path: string, runIdOffset?: number): number[] {
    this.flush();
    return this.store.appendTrace(path, runIdOffset);
  }

  /**
   * Flushes, stores the final status and probe counters, builds the indexes and truncates the WAL.
   * Tasks still running keep end_ts NULL.
   */
  finishRun(runId: number, result: RunEnd): void {
    const st = this.runState(runId);
    this.handOver();
    const end = { ...result, outputTruncated: result.outputTruncated === true || st.outputTruncated };
    this.guard(() => this.store.finishRun(runId, end));
    this.runs.delete(runId);
    if (this.run === runId) this.run = -1;
    for (const [key, row] of this.openTasks) if (row.runId === runId) this.openTasks.delete(key);
  }

  /** Flushes what is buffered and closes. Runs not finished stay 'incomplete'. Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      if (!this.broken) this.handOver();
    } finally {
      this.closed = true;
      this.store.close();
    }
  }

  private intern(s: string): number {
    let id = this.strIds.get(s);
    if (id === undefined) {
      if (this.strIds.size >= this.internCap) this.strIds.clear();
      id = ++this.lastStrId;
      this.strIds.set(s, id);
      this.rows.strings.push(id, s);
    }
    return id;
  }

  private runState(runId: number): RunState {
    this.usable();
    const st = this.runs.get(runId);
    if (!st) throw new TraceError(`run ${runId} is not being recorded by this writer`);
    return st;
  }

  private usable(): void {
    if (this.broken) throw this.broken;
    if (this.closed) throw new TraceError(`${this.path}: trace writer is closed`);
  }

  /** Runs a store operation whose failure leaves the file short of rows: the writer is broken. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.broken =
        err instanceof TraceError ? err : new TraceError(`writing ${this.path} failed: ${String(err)}`);
      throw this.broken;
    }
  }
}

function useWorker(opts: WriterOptions): boolean {
  return (opts.thread ?? (WORKER_AVAILABLE ? 'worker' : 'inline')) === 'worker';
}

function rowsPerStatement(opts: WriterOptions): number {
  return Math.floor(opts.rowsPerStatement ?? 128);
}

function inFlight(opts: WriterOptions): number {
  return Math.max(1, Math.floor(opts.maxBatchesInFlight ?? 4));
}

/** Convenience for the common case: TraceWriter.create(). */
export function createTraceWriter(path: string, opts: CreateOptions & WriterOptions = {}): TraceWriter {
  return TraceWriter.create(path, opts);
}
