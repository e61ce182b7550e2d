// The batched trace writer used by the recorder and by what-if replays.
// Guarantees:
// - beginRun() commits the run row (status 'incomplete'), its configuration and its binary
//   (deduplicated by sha256) before returning, so a recording killed at any later point leaves an
//   'incomplete' run that opens.
// - Appends (event, call, missed, sched, taskStart/taskEnd, input, output) only fill in-memory
//   column buffers. A flush writes ALL buffers in ONE transaction (strings first), with prepared
//   multi-row INSERTs of `rowsPerStatement` rows plus a one-row statement for the tail; there is
//   never a per-row transaction. A flush happens when any buffer reaches `batchRows` rows (or the
//   blobs `maxBufferedBytes`), on flush(), finishRun() and close(). After a SIGKILL the file holds
//   exactly the committed flushes (WAL, synchronous=NORMAL: a process kill loses no commit).
// - The hot path event() does no allocation unless its args string is new to the intern cache: it
//   stores numbers into preallocated Float64Arrays (NaN encodes NULL).
// - finishRun() flushes, stores the status and counters, then builds the indexes
//   (schemas/trace.sql after '-- @indexes') and truncates the WAL; close() leaves one
//   self-contained file (rollback journal mode, no -wal/-shm).
// - After a failed flush (disk full, ...) the writer is broken: every later call throws the same
//   TraceError instead of silently dropping rows.

import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import {
  type EventKindCode,
  type MissReasonCode,
  PROBE_KINDS,
  type ProbeKindName,
  type RunStatus,
} from './codes.js';
import {
  type CreateOptions,
  type Db,
  TraceError,
  closeWritable,
  createTrace,
  openTrace,
  reason,
  schemaSql,
} from './db.js';

import { mergeTraceInto } from './merge.js';

export { EventKind, MissReason } from './codes.js';

/** The whole configuration of a run, stored as JSON in run_config; replay re-runs from it. */
export interface RunConfig {
  argv: string[];
  cpus: number;
  preempt: boolean;
  seed: number;
  chaos: boolean;
  env?: string[];
  /** Cycles per microsecond for reports. */
  mhz?: number;
  maxInstructions?: number | null;
  /** Probe specs in kprobe_events syntax, in definition order. */
  probes?: string[];
  allowRead?: string[];
  /** Path given to --stdin (its bytes are logged as inputs anyway). */
  stdin?: string | null;
  [key: string]: unknown;
}

export interface BeginRunInfo {
  /** Built-in workload name or the ELF's file name. */
  workload: string;
  /** The ELF image; stored once per distinct sha256. */
  binary: Uint8Array;
  config: RunConfig;
  /** run_id (in the source trace) this run replays. */
  replayOf?: number | null;
}

export interface ProbeInfo {
  probeId: number;
  /** 'GRP/EVENT' */
  event: string;
  kind: ProbeKindName;
  /** The kprobe_events line. */
  spec: string;
  symbol: string | null;
  offset: number;
  addr: number;
  /** kretprobes only (null otherwise). */
  maxactive: number | null;
}

export interface ProbeCounters {
  probeId: number;
  hits: number;
  nmissed: number;
  nmissedReentry: number;
}

export interface RunResult {
  status: Exclude<RunStatus, 'incomplete'>;
  exitCode: number | null;
  signal: number | null;
  instructions: number;
  cycles: number;
  probeCounters?: ProbeCounters[];
}

export interface WriterOptions {
  /** Rows per buffer before an automatic flush (default 8192). */
  batchRows?: number;
  /** Rows per prepared multi-row INSERT (default 128). */
  rowsPerStatement?: number;
  /** Buffered input/output bytes before an automatic flush (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Distinct strings remembered for interning before the cache restarts (default 2^20). */
  internCacheSize?: number;
}

export interface WriterCounts {
  events: number;
  calls: number;
  missed: number;
  sched: number;
  tasks: number;
  inputs: number;
  outputs: number;
  strings: number;
  flushes: number;
}

const MAX_SQL_VARIABLES = 32766;

function multiInsertSql(table: string, columns: readonly string[], rows: number): string {
  const tuple = `(${columns.map(() => '?').join(',')})`;
  return `INSERT INTO ${table} (${columns.join(',')}) VALUES ${Array<string>(rows).fill(tuple).join(',')}`;
}

/** Column buffers of numbers (NaN = NULL) with a multi-row and a one-row INSERT. */
class NumericTable {
  readonly cols: Float64Array[];
  n = 0;
  private readonly many: Statement;
  private readonly one: Statement;
  private readonly params: (number | null)[];
  private readonly params1: (number | null)[];

  constructor(
    db: Db,
    table: string,
    readonly columns: readonly string[],
    readonly cap: number,
    private readonly rows: number,
  ) {
    this.cols = columns.map(() => new Float64Array(cap));
    this.many = db.prepare(multiInsertSql(table, columns, rows));
    this.one = db.prepare(multiInsertSql(table, columns, 1));
    this.params = new Array<number | null>(rows * columns.length).fill(0);
    this.params1 = new Array<number | null>(columns.length).fill(0);
  }

  /** Inserts the buffered rows (caller holds the transaction and resets n after commit). */
  write(): void {
    const n = this.n;
    const cols = this.cols;
    const nc = cols.length;
    const R = this.rows;
    let i = 0;
    const p = this.params;
    for (; i + R <= n; i += R) {
      let k = 0;
      for (let r = i; r < i + R; r++) {
        for (let c = 0; c < nc; c++) {
          const v = cols[c]![r]!;
          p[k++] = v !== v ? null : v;
        }
      }
      this.many.run(p);
    }
    const p1 = this.params1;
    for (; i < n; i++) {
      for (let c = 0; c < nc; c++) {
        const v = cols[c]![i]!;
        p1[c] = v !== v ? null : v;
      }
      this.one.run(p1);
    }
  }
}

/** Row buffers of arbitrary values (text, blobs) with a multi-row and a one-row INSERT. */
class RowTable {
  vals: unknown[] = [];
  n = 0;
  bytes = 0;
  private readonly many: Statement;
  private readonly one: Statement;

  constructor(
    db: Db,
    table: string,
    readonly columns: readonly string[],
    private readonly rows: number,
  ) {
    this.many = db.prepare(multiInsertSql(table, columns, rows));
    this.one = db.prepare(multiInsertSql(table, columns, 1));
  }

  write(): void {
    const nc = this.columns.length;
    const R = this.rows;
    const v = this.vals;
    let i = 0;
    for (; i + R <= this.n; i += R) this.many.run(v.slice(i * nc, (i + R) * nc));
    for (; i < this.n; i++) this.one.run(v.slice(i * nc, (i + 1) * nc));
  }

  reset(): void {
    this.vals = [];
    this.n = 0;
    this.bytes = 0;
  }
}

interface TaskRow {
  id: number;
  runId: number;
  tid: number;
  parentTid: number | null;
  name: string;
  startTs: number | null;
  endTs: number | null;
  exitCode: number | null;
  /** Its INSERT has been committed: the end becomes an UPDATE. */
  stored: boolean;
}

interface RunState {
  inputSeq: number;
  outputSeq: number;
}

function checkInt(what: string, v: number): number {
  if (!Number.isSafeInteger(v)) throw new TraceError(`${what} must be an integer, got ${v}`);
  return v;
}

export class TraceWriter {
  readonly path: string;
  private readonly db: Db;
  private readonly cap: number;
  private readonly maxBytes: number;
  private readonly internCap: number;

  private readonly ev: NumericTable;
  private readonly evRun: Float64Array;
  private readonly evSeq: Float64Array;
  private readonly evTs: Float64Array;
  private readonly evCpu: Float64Array;
  private readonly evTid: Float64Array;
  private readonly evKind: Float64Array;
  private readonly evProbe: Float64Array;
  private readonly evAddr: Float64Array;
  private readonly evArgs: Float64Array;
  private readonly calls: NumericTable;
  private readonly miss: NumericTable;
  private readonly schedT: NumericTable;
  private readonly strings: RowTable;
  private readonly taskIns: RowTable;
  private readonly inputs: RowTable;
  private readonly outputs: RowTable;

  private readonly strIds = new Map<string, number>();
  private lastStrId: number;
  private lastTaskId: number;
  private pendingTasks: TaskRow[] = [];
  private taskUpdates: TaskRow[] = [];
  private readonly openTasks = new Map<number, TaskRow>();
  private readonly runs = new Map<number, RunState>();
  private readonly totals: WriterCounts = {
    events: 0,
    calls: 0,
    missed: 0,
    sched: 0,
    tasks: 0,
    inputs: 0,
    outputs: 0,
    strings: 0,
    flushes: 0,
  };
  private broken: TraceError | undefined;
  private closed = false;

  private readonly flushTx: () => void;
  private readonly taskUpdate: Statement;
  private readonly insBinary: Statement;
  private readonly insRun: Statement;
  private readonly insConfig: Statement;
  private readonly insProbe: Statement;
  private readonly updRun: Statement;
  private readonly updProbe: Statement;

  /** Creates a new trace file (refusing to overwrite unless opts.force) and a writer on it. */
  static create(path: string, opts: CreateOptions & WriterOptions = {}): TraceWriter {
    return new TraceWriter(createTrace(path, opts), path, opts);
  }

  /** A writer that adds runs to an existing trace file (after the version gate). */
  static append(path: string, opts: WriterOptions = {}): TraceWriter {
    return new TraceWriter(openTrace(path, { readonly: false }), path, opts);
  }

  /** `db` must come from createTrace() or openTrace(..., { readonly: false }). */
  constructor(db: Db, path: string, opts: WriterOptions = {}) {
    this.db = db;
    this.path = path;
    this.cap = Math.max(1, Math.floor(opts.batchRows ?? 8192));
    this.maxBytes = opts.maxBufferedBytes ?? 16 << 20;
    this.internCap = Math.max(1, opts.internCacheSize ?? 1 << 20);
    const rows = (ncols: number): number =>
      Math.max(1, Math.min(Math.floor(opts.rowsPerStatement ?? 128), Math.floor(MAX_SQL_VARIABLES / ncols)));
    const num = (table: string, cols: string[]): NumericTable =>
      new NumericTable(db, table, cols, this.cap, rows(cols.length));
    const row = (table: string, cols: string[]): RowTable => new RowTable(db, table, cols, rows(cols.length));

    this.ev = num('raw_events', ['run_id', 'seq', 'ts', 'cpu', 'tid', 'kind', 'probe_id', 'addr', 'args']);
    [
      this.evRun,
      this.evSeq,
      this.evTs,
      this.evCpu,
      this.evTid,
      this.evKind,
      this.evProbe,
      this.evAddr,
      this.evArgs,
    ] = this.ev.cols as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    this.calls = num('raw_calls', [
      'run_id',
      'probe_id',
      'tid',
      'ts',
      'dur',
      'entry_cpu',
      'return_cpu',
      'depth',
      'retval',
      'args',
      'entry_seq',
      'return_seq',
    ]);
    this.miss = num('raw_missed', ['run_id', 'probe_id', 'tid', 'cpu', 'ts', 'reason']);
    this.schedT = num('raw_sched', ['run_id', 'ts', 'cpu', 'prev_tid', 'next_tid', 'reason']);
    this.strings = row('strings', ['id', 's']);
    this.taskIns = row('raw_tasks', [
      'id',
      'run_id',
      'tid',
      'parent_tid',
      'name',
      'start_ts',
      'end_ts',
      'exit_code',
    ]);
    this.inputs = row('inputs', ['run_id', 'seq', 'kind', 'key', 'data']);
    this.outputs = row('output', ['run_id', 'seq', 'fd', 'ts', 'data']);

    this.lastStrId = Number(db.prepare('SELECT coalesce(max(id), 0) FROM strings').pluck().get());
    this.lastTaskId = Number(db.prepare('SELECT coalesce(max(id), 0) FROM raw_tasks').pluck().get());

    this.taskUpdate = db.prepare('UPDATE raw_tasks SET end_ts = ?, exit_code = ? WHERE id = ?');
    this.insBinary = db.prepare('INSERT OR IGNORE INTO binaries (sha256, size, bytes) VALUES (?, ?, ?)');
    this.insRun = db.prepare(
      `INSERT INTO raw_runs (workload, binary_sha256, argv, cpus, preempt, seed, chaos, status, replay_of, mhz)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'incomplete', ?, ?)`,
    );
    this.insConfig = db.prepare('INSERT INTO run_config (run_id, config) VALUES (?, ?)');
    this.insProbe = db.prepare(
      `INSERT INTO raw_probes (run_id, probe_id, event, kind, spec, symbol, offset, addr, maxactive)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.updRun = db.prepare(
      `UPDATE raw_runs SET status = ?, exit_code = ?, signal = ?, instructions = ?, cycles = ?
       WHERE run_id = ?`,
    );
    this.updProbe = db.prepare(
      `UPDATE raw_probes SET hits = ?, nmissed = ?, nmissed_reentry = ? WHERE run_id = ? AND probe_id = ?`,
    );
    this.flushTx = db.transaction(() => this.writeAll());
  }

  /** Rows handed to the writer so far (flushed or not) and the number of flushes. */
  counts(): WriterCounts {
    return { ...this.totals };
  }

  /** Inserts the run (status 'incomplete'), its config and binary, and commits. Returns run_id. */
  beginRun(info: BeginRunInfo): number {
    this.usable();
    const c = info.config;
    if (!Array.isArray(c.argv) || !c.argv.every((a) => typeof a === 'string'))
      throw new TraceError('run config: argv must be an array of strings');
    checkInt('run config: cpus', c.cpus);
    checkInt('run config: seed', c.seed);
    const sha = createHash('sha256').update(info.binary).digest('hex');
    this.flush();
    try {
      const runId = this.db.transaction(() => {
        this.insBinary.run(sha, info.binary.byteLength, Buffer.from(info.binary));
        const r = this.insRun.run(
          info.workload,
          sha,
          JSON.stringify(c.argv),
          c.cpus,
          c.preempt ? 1 : 0,
          c.seed,
          c.chaos ? 1 : 0,
          info.replayOf ?? null,
          c.mhz ?? null,
        );
        const id = Number(r.lastInsertRowid);
        this.insConfig.run(id, JSON.stringify(c));
        return id;
      })();
      this.runs.set(runId, { inputSeq: 0, outputSeq: 0 });
      return runId;
    } catch (err) {
      throw this.fail('beginning a run', err, false);
    }
  }

  /** Registers a probe of a run (committed immediately). */
  addProbe(runId: number, p: ProbeInfo): void {
    this.usable();
    const kind = PROBE_KINDS.indexOf(p.kind);
    if (kind < 0) throw new TraceError(`probe ${p.event}: unknown kind ${String(p.kind)}`);
    try {
      this.insProbe.run(
        runId,
        checkInt('probe id', p.probeId),
        p.event,
        kind,
        p.spec,
        p.symbol,
        p.offset,
        p.addr >>> 0,
        p.maxactive,
      );
    } catch (err) {
      throw this.fail(`adding probe ${p.event}`, err, false);
    }
  }

  /**
   * Appends one event. `kind` is an EventKind code; probeId/addr/args may be null; `args` is the
   * JSON text of an object (interned). Allocation-free unless `args` is a string not seen before.
   */
  event(
    runId: number,
    seq: number,
    ts: number,
    cpu: number,
    tid: number,
    kind: EventKindCode,
    probeId: number | null,
    addr: number | null,
    args: string | null,
  ): void {
    const t = this.ev;
    const i = t.n;
    this.evRun[i] = runId;
    this.evSeq[i] = seq;
    this.evTs[i] = ts;
    this.evCpu[i] = cpu;
    this.evTid[i] = tid;
    this.evKind[i] = kind;
    this.evProbe[i] = probeId === null ? NaN : probeId;
    this.evAddr[i] = addr === null ? NaN : addr >>> 0;
    this.evArgs[i] = args === null ? NaN : this.intern(args);
    t.n = i + 1;
    if (i + 1 >= this.cap) this.flush();
  }

  /** Appends one completed call of a return probe (`args` = JSON text of an object, or null). */
  call(
    runId: number,
    probeId: number,
    tid: number,
    ts: number,
    dur: number,
    entryCpu: number,
    returnCpu: number,
    depth: number,
    retval: number | null,
    args: string | null,
    entrySeq: number | null = null,
    returnSeq: number | null = null,
  ): void {
    const t = this.calls;
    const c = t.cols;
    const i = t.n;
    c[0]![i] = runId;
    c[1]![i] = probeId;
    c[2]![i] = tid;
    c[3]![i] = ts;
    c[4]![i] = dur;
    c[5]![i] = entryCpu;
    c[6]![i] = returnCpu;
    c[7]![i] = depth;
    c[8]![i] = retval === null ? NaN : retval;
    c[9]![i] = args === null ? NaN : this.intern(args);
    c[10]![i] = entrySeq === null ? NaN : entrySeq;
    c[11]![i] = returnSeq === null ? NaN : returnSeq;
    t.n = i + 1;
    if (i + 1 >= this.cap) this.flush();
  }

  /** Appends one missed call (`reason` is a MissReason code). */
  missed(runId: number, probeId: number, tid: number, cpu: number, ts: number, reason: MissReasonCode): void {
    const t = this.miss;
    const c = t.cols;
    const i = t.n;
    c[0]![i] = runId;
    c[1]![i] = probeId;
    c[2]![i] = tid;
    c[3]![i] = cpu;
    c[4]![i] = ts;
    c[5]![i] = reason;
    t.n = i + 1;
    if (i + 1 >= this.cap) this.flush();
  }

  /** Appends one context switch; a null tid is the idle CPU; `reason` is free text (interned). */
  sched(
    runId: number,
    ts: number,
    cpu: number,
    prevTid: number | null,
    nextTid: number | null,
    reason: string,
  ): void {
    const t = this.schedT;
    const c = t.cols;
    const i = t.n;
    c[0]![i] = runId;
    c[1]![i] = ts;
    c[2]![i] = cpu;
    c[3]![i] = prevTid === null ? NaN : prevTid;
    c[4]![i] = nextTid === null ? NaN : nextTid;
    c[5]![i] = this.intern(reason);
    t.n = i + 1;
    if (i + 1 >= this.cap) this.flush();
  }

  /** A task (thread) starts. */
  taskStart(
    runId: number,
    tid: number,
    parentTid: number | null,
    name: string,
    startTs: number | null,
  ): void {
    this.usable();
    const row: TaskRow = {
      id: ++this.lastTaskId,
      runId,
      tid,
      parentTid,
      name,
      startTs,
      endTs: null,
      exitCode: null,
      stored: false,
    };
    this.openTasks.set(runId * 0x1_0000_0000 + tid, row);
    this.pendingTasks.push(row);
    this.totals.tasks++;
    if (this.pendingTasks.length >= this.cap) this.flush();
  }

  /**
   * A task ends. A task that was never announced with taskStart() still gets a row (parent_tid
   * and start_ts NULL, name ''), so bookkeeping gaps never abort a recording.
   */
  taskEnd(runId: number, tid: number, endTs: number, exitCode: number | null): void {
    this.usable();
    const key = runId * 0x1_0000_0000 + tid;
    let row = this.openTasks.get(key);
    if (!row) {
      this.taskStart(runId, tid, null, '', null);
      row = this.openTasks.get(key)!;
    }
    this.openTasks.delete(key);
    row.endTs = endTs;
    row.exitCode = exitCode;
    if (row.stored) {
      this.taskUpdates.push(row);
      if (this.taskUpdates.length >= this.cap) this.flush();
    }
  }

  /** Logs one nondeterministic input (copied). Returns its seq within the run. */
  input(runId: number, kind: string, key: string | null, data: Uint8Array): number {
    const st = this.runState(runId);
    const seq = st.inputSeq++;
    const t = this.inputs;
    t.vals.push(runId, seq, kind, key, Buffer.from(data));
    t.n++;
    t.bytes += data.byteLength;
    this.totals.inputs++;
    if (t.n >= this.cap || t.bytes >= this.maxBytes) this.flush();
    return seq;
  }

  /** Stores guest output written to `fd` at cycle `ts` (copied). Returns its seq within the run. */
  output(runId: number, fd: number, ts: number, data: Uint8Array): number {
    const st = this.runState(runId);
    const seq = st.outputSeq++;
    const t = this.outputs;
    t.vals.push(runId, seq, fd, ts, Buffer.from(data));
    t.n++;
    t.bytes += data.byteLength;
    this.totals.outputs++;
    if (t.n >= this.cap || t.bytes >= this.maxBytes) this.flush();
    return seq;
  }

  /** Writes every buffer in one transaction. */
  flush(): void {
    this.usable();
    if (
      this.ev.n === 0 &&
      this.calls.n === 0 &&
      this.miss.n === 0 &&
      this.schedT.n === 0 &&
      this.strings.n === 0 &&
      this.pendingTasks.length === 0 &&
      this.taskUpdates.length === 0 &&
      this.inputs.n === 0 &&
      this.outputs.n === 0
    )
      return;
    try {
      this.flushTx();
    } catch (err) {
      throw this.fail('writing', err, true);
    }
    const tot = this.totals;
    tot.events += this.ev.n;
    tot.calls += this.calls.n;
    tot.missed += this.miss.n;
    tot.sched += this.schedT.n;
    tot.strings += this.strings.n;
    tot.flushes++;
    this.ev.n = 0;
    this.calls.n = 0;
    this.miss.n = 0;
    this.schedT.n = 0;
    this.strings.reset();
    this.taskIns.reset();
    for (const t of this.pendingTasks) t.stored = true;
    this.pendingTasks = [];
    this.taskUpdates = [];
    this.inputs.reset();
    this.outputs.reset();
  }

  /**
   * Flushes, stores the final status and probe counters, builds the indexes and truncates the WAL.
   * Tasks still running keep end_ts NULL.
   */
  /** Appends all runs of another trace file (parallel sweeps); returns their new run ids. */
  appendTrace(path: string): number[] {
    this.usable();
    this.flush();
    return mergeTraceInto(this.db, path);
  }

  finishRun(runId: number, result: RunResult): void {
    this.runState(runId);
    this.flush();
    try {
      this.db.transaction(() => {
        this.updRun.run(
          result.status,
          result.exitCode,
          result.signal,
          checkInt('instructions', result.instructions),
          checkInt('cycles', result.cycles),
          runId,
        );
        for (const p of result.probeCounters ?? []) {
          const r = this.updProbe.run(p.hits, p.nmissed, p.nmissedReentry, runId, p.probeId);
          if (r.changes !== 1) throw new TraceError(`run ${runId} has no probe ${p.probeId}`);
        }
      })();
    } catch (err) {
      if (err instanceof TraceError) throw err;
      throw this.fail(`finishing run ${runId}`, err, false);
    }
    this.runs.delete(runId);
    for (const [key, row] of this.openTasks) if (row.runId === runId) this.openTasks.delete(key);
    try {
      this.db.exec(schemaSql().indexes);
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      throw this.fail(`indexing run ${runId}`, err, false);
    }
  }

  /** Flushes what is buffered and closes. Runs not finished stay 'incomplete'. Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      if (!this.broken) this.flush();
    } finally {
      this.closed = true;
      closeWritable(this.db);
    }
  }

  private writeAll(): void {
    // strings first: rows of every other table refer to them
    if (this.strings.n) this.strings.write();
    if (this.pendingTasks.length) {
      const t = this.taskIns;
      for (const r of this.pendingTasks) {
        t.vals.push(r.id, r.runId, r.tid, r.parentTid, r.name, r.startTs, r.endTs, r.exitCode);
        t.n++;
      }
      t.write();
    }
    for (const r of this.taskUpdates) this.taskUpdate.run(r.endTs, r.exitCode, r.id);
    if (this.ev.n) this.ev.write();
    if (this.calls.n) this.calls.write();
    if (this.miss.n) this.miss.write();
    if (this.schedT.n) this.schedT.write();
    if (this.inputs.n) this.inputs.write();
    if (this.outputs.n) this.outputs.write();
  }

  private intern(s: string): number {
    let id = this.strIds.get(s);
    if (id === undefined) {
      if (this.strIds.size >= this.internCap) this.strIds.clear();
      id = ++this.lastStrId;
      this.strIds.set(s, id);
      const t = this.strings;
      t.vals.push(id, s);
      t.n++;
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

  private fail(what: string, err: unknown, fatal: boolean): TraceError {
    const e = err instanceof TraceError ? err : new TraceError(`${what} ${this.path} failed: ${reason(err)}`);
    if (fatal) this.broken = e;
    return e;
  }
}

/** Convenience for the common case: TraceWriter.create(). */
export function createTraceWriter(path: string, opts: CreateOptions & WriterOptions = {}): TraceWriter {
  return TraceWriter.create(path, opts);
}
