// Typed, read-only access to a trace file for replay, analysis, report and probe-query.
// Guarantees:
// - TraceReader opens the file read-only (SQLITE_OPEN_READONLY + PRAGMA query_only) after the
//   version gate; nothing done through it can change the file.
// - query() (probe-query's user SQL) additionally accepts only single statements that return rows
//   and that SQLite reports as read-only, so INSERT/UPDATE/DELETE/DROP/CREATE, ATTACH/DETACH,
//   VACUUM INTO, BEGIN and state-changing PRAGMAs (writable_schema=1, query_only=0, journal_mode=..)
//   are refused with a one-line TraceError before they run.
// - streams(runId) is the only place with the SQL of a run's record streams (records.ts): each
//   stream yields fresh records in recorded order (the order the writer appended them), backed by
//   statement.iterate() so memory stays flat; every call starts a new iterator.
// - The only write a report path needs, the complete call set (raw_complete_calls), goes through
//   CompleteCallCache: a separate, explicitly writable open.
// - Missing runs, probes or binaries are one-line TraceErrors.

import type { Statement } from 'better-sqlite3';
import { CHECK_WORKER_AVAILABLE, CheckStore, CheckWorker } from './check-store.js';
import { PREFETCH_AVAILABLE, Prefetcher } from './prefetch.js';
import { CALL_COLUMNS, EventOrder, STORED_EVENT_COLUMNS } from './event-order.js';
import { MISS_REASONS, PROBE_KINDS, type RunStatus } from './codes.js';
import { parseRunConfig, type RunConfig } from './config.js';
import { type Db, TraceError, closeWritable, integrityCheck, openTrace, reason } from './db.js';
import { checkSchema } from './validate.js';
import type {
  CallRecord,
  CompleteCallRecord,
  EventRecord,
  InputRecord,
  MissRecord,
  OutputRecord,
  ProbeCounters,
  ProbeRecord,
  SchedRecord,
  SyscallCountRecord,
  TaskRecord,
} from './records.js';

/** A row of the runs view. */
export interface RunRow {
  runId: number;
  workload: string;
  binarySha256: string;
  argv: string[];
  cpus: number;
  preempt: boolean;
  seed: number;
  chaos: boolean;
  status: RunStatus;
  exitCode: number | null;
  signal: number | null;
  instructions: number | null;
  cycles: number | null;
  replayOf: number | null;
  mhz: number;
  /** Guest output bytes the trace stores for the run (null: no limit). */
  outputLimit: number | null;
  /** The guest wrote more than outputLimit bytes (the rest is not stored). */
  outputTruncated: boolean;
  /** Recorded before format 4: the tasks' pid, ppid and exe are placeholders. */
  legacyTasks: boolean;
}

/** A row of the probes view: the probe and its counters (null until the run is finished). */
export interface ProbeRow extends ProbeRecord {
  runId: number;
  hits: ProbeCounters['hits'] | null;
  nmissed: ProbeCounters['nmissed'] | null;
  nmissedReentry: ProbeCounters['nmissedReentry'] | null;
}

/** A task as stored: its start record and how it ended (end null while running). */
export interface TaskRow extends TaskRecord {
  endTs: number | null;
  exitCode: number | null;
}

export interface InputRow extends InputRecord {
  seq: number;
  /** The same Buffer for every row of one content within one iteration. */
  data: Buffer;
  sha256: string;
}

export interface OutputRow extends OutputRecord {
  seq: number;
  data: Buffer;
}

/** The record streams of one run, each in recorded order; every call starts a new iterator. */
export interface RunStreams {
  events(range?: EventRange): Generator<EventRecord, void, undefined>;
  /** Calls in return order; `args: false` leaves args null (cheaper when they are not needed). */
  calls(opts?: { args?: boolean }): Generator<CallRecord, void, undefined>;
  /**
   * Every event and every call in the order a session produces them (a call right after its
   * return event), reading each stored row once: what verify compares. The records are reused
   * (overwritten as the stream advances): copy one to keep it.
   */
  eventsAndCalls(): Generator<EventRecord | CallRecord, void, undefined>;
  /** eventsAndCalls as a cursor (next() until undefined, then close()), without a generator. */
  eventOrder(): EventOrder;
  missed(): Generator<MissRecord, void, undefined>;
  sched(): Generator<SchedRecord, void, undefined>;
  tasks(): TaskRow[];
  inputs(): Generator<InputRow, void, undefined>;
  outputs(): Generator<OutputRow, void, undefined>;
  syscalls(): SyscallCountRecord[];
  /** The stored complete call set (empty when none was computed), in entry order. */
  completeCalls(): Generator<CompleteCallRecord, void, undefined>;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

export interface EventRange {
  /** First seq (inclusive, default 0). */
  fromSeq?: number;
  /** Last seq (exclusive, default all). */
  toSeq?: number;
}

type Raw = unknown[];

function num(v: unknown): number {
  return v as number;
}
function numOrNull(v: unknown): number | null {
  return v === null ? null : (v as number);
}
function strOrNull(v: unknown): string | null {
  return v === null ? null : (v as string);
}

export class TraceReader {
  readonly path: string;
  private readonly db: Db;
  private readonly stmts = new Map<string, Statement>();
  private prefetch: Prefetcher | undefined;
  private checker: CheckWorker | undefined;
  private readAhead = false;
  /** Rows per page of the paged streams (tests make it small to cross page boundaries). */
  private pageRows = PAGE_ROWS;

  /**
   * Opens `path` read-only after the version gate and the schema check (validate.ts).
   * `readAhead` (default true; compiled builds only): the big streams (events, calls, missed,
   * sched) are read by a worker thread, started at the first such stream, ahead of their consumer.
   */
  static open(path: string, opts: { readAhead?: boolean; pageRows?: number } = {}): TraceReader {
    const db = openTrace(path, { readonly: true });
    try {
      checkSchema(db, path);
    } catch (e) {
      db.close();
      throw e;
    }
    const r = new TraceReader(db, path);
    r.readAhead = opts.readAhead !== false && PREFETCH_AVAILABLE;
    r.pageRows = Math.max(1, Math.floor(opts.pageRows ?? PAGE_ROWS));
    return r;
  }

  /** `db` must come from openTrace(path, { readonly: true }). */
  constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
  }

  close(): void {
    this.prefetch?.close();
    this.checker?.close();
    if (this.db.open) this.db.close();
  }

  /**
   * A store that checks a TraceWriter's batches against run `runId`'s stored rows (verify by rows,
   * check-store.ts): on a worker thread when the reader reads ahead (one for all the runs it
   * checks, ended by close()), else in this thread.
   */
  /**
   * Starts the checking worker now (verify by rows), so it loads SQLite and opens the file while the
   * caller prepares the replay; checkStore() then finds it running. Nothing else changes.
   */
  prestartCheck(): void {
    if (this.readAhead && CHECK_WORKER_AVAILABLE) this.checker ??= new CheckWorker(this.path);
  }

  checkStore(runId: number): CheckStore {
    this.run(runId);
    if (!(this.readAhead && CHECK_WORKER_AVAILABLE)) return new CheckStore(this.path, runId, this.db);
    return new CheckStore(this.path, runId, (this.checker ??= new CheckWorker(this.path)));
  }

  /** The meta table as an object (format_version, created_by, ...). */
  meta(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const r of this.raw('SELECT key, value FROM meta ORDER BY key').all()) out[r[0] as string] = r[1];
    return out;
  }

  /** 'ok' or the problems PRAGMA integrity_check found. */
  integrityCheck(): string {
    return integrityCheck(this.db);
  }

  runs(): RunRow[] {
    return this.raw(`${RUN_SELECT} ORDER BY run_id`)
      .all()
      .map((r) => runRow(r));
  }

  /** One run; TraceError if absent. */
  run(runId: number): RunRow {
    const r = this.raw(`${RUN_SELECT} WHERE run_id = ?`).get(runId) as Raw | undefined;
    if (!r) throw this.noRun(runId);
    return runRow(r);
  }

  /** The run's stored configuration (format-2 configurations are filled with the defaults). */
  runConfig(runId: number): RunConfig {
    const text = this.raw('SELECT config FROM raw_runs WHERE run_id = ?').get(runId) as Raw | undefined;
    if (!text) throw this.noRun(runId);
    try {
      return parseRunConfig(text[0] as string);
    } catch (e) {
      throw new TraceError(`run ${runId} of ${this.path}: ${(e as Error).message}`);
    }
  }

  /** A stored executable by sha256. */
  binary(sha256: string): Buffer {
    const r = this.raw('SELECT bytes FROM binaries WHERE sha256 = ?').get(sha256) as Raw | undefined;
    if (!r) throw new TraceError(`${this.path} has no binary ${sha256}`);
    return r[0] as Buffer;
  }

  /** The executable a run ran. */
  runBinary(runId: number): Buffer {
    return this.binary(this.run(runId).binarySha256);
  }

  probes(runId: number): ProbeRow[] {
    return this.raw(
      `SELECT run_id, probe_id, event, kind, spec, symbol, offset, addr, maxactive, hits, nmissed,
              nmissed_reentry
       FROM raw_probes WHERE run_id = ? ORDER BY probe_id`,
    )
      .all(runId)
      .map((r) => ({
        runId: num(r[0]),
        probeId: num(r[1]),
        event: r[2] as string,
        kind: PROBE_KINDS[num(r[3])] ?? 'kprobe',
        spec: r[4] as string,
        symbol: strOrNull(r[5]),
        offset: num(r[6]),
        addr: num(r[7]),
        maxactive: numOrNull(r[8]),
        hits: numOrNull(r[9]),
        nmissed: numOrNull(r[10]),
        nmissedReentry: numOrNull(r[11]),
      }));
  }

  /** Number of events of a run (stored and implied). */
  eventCount(runId: number): number {
    return num(this.raw('SELECT count(*) FROM _event_rows WHERE run_id = ?').get(runId)![0]);
  }

  /** The record streams of a run (see RunStreams); TraceError if the run is absent. */
  streams(runId: number): RunStreams {
    this.run(runId);
    const rows = (sql: string, ...params: unknown[]) =>
      this.fresh(sql).iterate(runId, ...params) as IterableIterator<Raw>;
    // Big streams are read a page at a time (one native call per page, not per row: verify reads
    // every row of a run). `sql` takes run_id, from, to (exclusive) and the page size, and orders
    // by the column at `key`.
    const pages = (sql: string, key: number, from = 0, to = Number.MAX_SAFE_INTEGER, text: number[] = []) =>
      this.readAhead
        ? (this.prefetch ??= new Prefetcher(this.path)).rows(sql, runId, key, from, to, text, this.pageRows)
        : paged(this.fresh(sql), runId, key, from, to, this.pageRows);
    const probeAddr = (): Map<number, number> =>
      new Map(
        (
          this.raw('SELECT probe_id, addr FROM raw_probes WHERE run_id = ?').all(runId) as [number, number][]
        ).map(([id, addr]) => [id, addr]),
      );
    return {
      *events(range: EventRange = {}) {
        // The stored rows (from two before `from`, whose single step may be at `from`) and the
        // call rows from `from` on (an implied entry at or after `from` has a later return),
        // merged into seq order (event-order.ts).
        const from = range.fromSeq ?? 0;
        const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
        const order = new EventOrder(
          pages(
            `SELECT ${STORED_EVENT_COLUMNS} FROM raw_events e
             WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT ?`,
            0,
            from - 2,
            to,
            [7],
          ),
          pages(
            `SELECT ${CALL_COLUMNS} FROM raw_calls c
             WHERE run_id = ? AND return_seq >= ? AND return_seq < ? ORDER BY return_seq LIMIT ?`,
            0,
            from,
            Number.MAX_SAFE_INTEGER,
            [7],
          ),
          probeAddr(),
          false,
          false,
          from,
        );
        try {
          for (let e = order.next(); e !== undefined; e = order.next()) {
            const ev = e as EventRecord;
            if (ev.seq >= to) break;
            if (ev.seq >= from) yield ev;
          }
        } finally {
          // Ends both statements' iterations, also when the consumer stops early.
          order.close();
        }
      },
      *eventsAndCalls() {
        const order = this.eventOrder();
        try {
          for (let x = order.next(); x !== undefined; x = order.next()) yield x;
        } finally {
          order.close();
        }
      },
      eventOrder() {
        return new EventOrder(
          pages(
            `SELECT ${STORED_EVENT_COLUMNS} FROM raw_events e
             WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT ?`,
            0,
            0,
            Number.MAX_SAFE_INTEGER,
            [7],
          ),
          pages(
            `SELECT ${CALL_COLUMNS} FROM raw_calls c
             WHERE run_id = ? AND return_seq >= ? AND return_seq < ? ORDER BY return_seq LIMIT ?`,
            0,
            0,
            Number.MAX_SAFE_INTEGER,
            [7],
          ),
          probeAddr(),
          true,
          true,
        );
      },
      *calls(opts: { args?: boolean } = {}) {
        for (const r of pages(
          `SELECT probe_id, tid, ts, dur, entry_cpu, return_cpu, depth, retval,
                  ${opts.args === false ? 'NULL' : '(SELECT s FROM strings WHERE id = c.args)'},
                  entry_seq, return_seq
           FROM _call_rows c WHERE run_id = ? AND return_seq >= ? AND return_seq < ?
           ORDER BY return_seq LIMIT ?`,
          10,
          0,
          Number.MAX_SAFE_INTEGER,
          [8],
        ))
          yield {
            probeId: num(r[0]),
            tid: num(r[1]),
            ts: num(r[2]),
            dur: num(r[3]),
            entryCpu: num(r[4]),
            returnCpu: num(r[5]),
            depth: num(r[6]),
            retval: numOrNull(r[7]),
            args: strOrNull(r[8]),
            entrySeq: numOrNull(r[9]),
            returnSeq: num(r[10]),
          };
      },
      // `+run_id` keeps SQLite on the rowid range: with the (run_id, ...) index it read the whole
      // run and sorted it again for every page (quadratic in the run's rows).
      // A missed call is its event's row (format 7), found through the partial index
      // raw_events_missed: its WHERE term must be written exactly as the index's.
      *missed() {
        for (const r of pages(
          `SELECT seq, (info >> 33) - 1, (info >> 11) & 4194303, (info >> 4) & 127, ts, (info & 15) - 5
           FROM raw_events WHERE run_id = ? AND seq >= ? AND seq < ? AND info & 15 IN (5, 6)
           AND info >> 33 > 0 ORDER BY seq LIMIT ?`,
          0,
        ))
          yield {
            probeId: num(r[1]),
            tid: num(r[2]),
            cpu: num(r[3]),
            ts: num(r[4]),
            reason: MISS_REASONS[num(r[5])] ?? 'no_instance',
          };
      },
      *sched() {
        for (const r of pages(
          `SELECT rowid, ts, cpu, prev_tid, next_tid, (SELECT s FROM strings WHERE id = x.reason)
           FROM raw_sched x WHERE +run_id = ? AND rowid >= ? AND rowid < ? ORDER BY rowid LIMIT ?`,
          0,
          0,
          Number.MAX_SAFE_INTEGER,
          [5],
        ))
          yield {
            ts: num(r[1]),
            cpu: num(r[2]),
            prevTid: numOrNull(r[3]),
            nextTid: numOrNull(r[4]),
            reason: (r[5] as string | null) ?? '',
          };
      },
      tasks: () =>
        [
          ...rows(
            `SELECT tid, pid, ppid, parent_tid, name, exe, start_ts, end_ts, exit_code FROM raw_tasks
             WHERE run_id = ? ORDER BY id`,
          ),
        ].map((r) => ({
          tid: num(r[0]),
          pid: (r[1] as number | null) ?? num(r[0]),
          ppid: (r[2] as number | null) ?? 0,
          parentTid: numOrNull(r[3]),
          name: r[4] as string,
          exe: (r[5] as string | null) ?? '',
          startTs: numOrNull(r[6]),
          endTs: numOrNull(r[7]),
          exitCode: numOrNull(r[8]),
        })),
      inputs: () => {
        const content = this.fresh('SELECT data FROM input_data WHERE sha256 = ?');
        const path = this.path;
        return (function* () {
          // Each distinct content is read (and held) once, however many rows refer to it.
          const seen = new Map<string, Buffer>();
          for (const r of rows(
            'SELECT seq, kind, key, sha256 FROM raw_inputs WHERE run_id = ? ORDER BY seq',
          )) {
            const sha = r[3] as string;
            let data = seen.get(sha);
            if (!data) {
              const row = content.get(sha) as Raw | undefined;
              if (!row)
                throw new TraceError(`${path}: input ${String(r[0])} refers to missing content ${sha}`);
              data = toBytes(row[0]);
              seen.set(sha, data);
            }
            yield { seq: num(r[0]), kind: r[1] as string, key: strOrNull(r[2]), data, sha256: sha };
          }
        })();
      },
      *outputs() {
        for (const r of rows('SELECT seq, fd, ts, data FROM output WHERE run_id = ? ORDER BY seq'))
          yield { seq: num(r[0]), fd: num(r[1]), ts: num(r[2]), data: toBytes(r[3]) };
      },
      syscalls: () =>
        [
          ...rows(
            `SELECT tid, nr, name, calls, errors, enosys FROM raw_syscalls WHERE run_id = ?
             ORDER BY rowid`,
          ),
        ].map((r) => ({
          tid: num(r[0]),
          nr: num(r[1]),
          name: strOrNull(r[2]),
          calls: num(r[3]),
          errors: num(r[4]),
          enosys: num(r[5]),
        })),
      *completeCalls() {
        for (const r of rows(
          `SELECT probe_id, tid, ts, dur, entry_cpu, return_cpu, depth, retval, args, entry_seq,
                  return_seq, release_seq, hooked
           FROM raw_complete_calls WHERE run_id = ? ORDER BY entry_seq`,
        )) {
          const dur = numOrNull(r[3]);
          const returnSeq = numOrNull(r[10]);
          const release = numOrNull(r[11]);
          yield {
            probeId: num(r[0]),
            tid: num(r[1]),
            entryTs: num(r[2]),
            returnTs: dur === null ? Infinity : num(r[2]) + dur,
            entryCpu: num(r[4]),
            returnCpu: num(r[5]),
            depth: num(r[6]),
            retval: numOrNull(r[7]),
            args: strOrNull(r[8]),
            entrySeq: num(r[9]),
            returnSeq: returnSeq ?? (release === null ? Infinity : release + 0.5),
            hooked: r[12] === 1,
          };
        }
      },
    };
  }

  /** Guest stdout/stderr of a run in write order (streams(runId).outputs() as an array). */
  outputs(runId: number): OutputRow[] {
    return [...this.streams(runId).outputs()];
  }

  /** Whether the run has a stored complete call set. */
  hasCompleteCalls(runId: number): boolean {
    return this.raw('SELECT 1 FROM raw_complete_calls WHERE run_id = ? LIMIT 1').get(runId) !== undefined;
  }

  /** Rows of a read-only SQL statement with bound parameters, as objects (for src/analysis). */
  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    return this.safePrepare(sql).all(...params) as T[];
  }

  /** First row or undefined. */
  get<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T | undefined {
    return this.safePrepare(sql).get(...params) as T | undefined;
  }

  /** Rows streamed. */
  iterate<T = Record<string, unknown>>(sql: string, ...params: unknown[]): IterableIterator<T> {
    return this.safePrepare(sql).iterate(...params) as IterableIterator<T>;
  }

  /** Rows streamed as arrays (column order of the statement): the compact form for big scans. */
  iterateRaw(sql: string, ...params: unknown[]): IterableIterator<unknown[]> {
    return this.safePrepare(sql)
      .raw(true)
      .iterate(...params) as IterableIterator<unknown[]>;
  }

  /** probe-query: runs one read-only statement; column names plus rows as arrays. */
  query(sql: string): QueryResult {
    const stmt = this.safePrepare(sql);
    try {
      const columns = stmt.columns().map((c) => c.name);
      const rows = stmt.raw(true).all() as unknown[][];
      return { columns, rows };
    } catch (err) {
      throw new TraceError(`query failed: ${reason(err)}`);
    }
  }

  private safePrepare(sql: string): Statement {
    let stmt: Statement;
    try {
      stmt = this.db.prepare(sql);
    } catch (err) {
      const msg = reason(err);
      throw new TraceError(
        `bad query: ${/more than one statement/.test(msg) ? 'only one statement is allowed' : msg}`,
      );
    }
    if (!stmt.readonly || !stmt.reader)
      throw new TraceError(
        'queries are read-only: only a single SELECT, WITH, VALUES or row-returning PRAGMA is allowed',
      );
    return stmt;
  }

  private raw(sql: string): Statement<unknown[], Raw> {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql).raw(true);
      this.stmts.set(sql, s);
    }
    return s as Statement<unknown[], Raw>;
  }

  /** Iterators get their own statement, so two of them can be open at once. */
  private fresh(sql: string): Statement<unknown[], Raw> {
    return this.db.prepare(sql).raw(true) as Statement<unknown[], Raw>;
  }

  private noRun(runId: number): TraceError {
    return new TraceError(`${this.path} has no run ${runId}`);
  }
}

const RUN_SELECT = `SELECT * FROM (SELECT v.run_id, v.workload, v.binary_sha256, v.argv, v.cpus,
  v.preempt, v.seed, v.chaos, v.status, v.exit_code, v.signal, v.instructions, v.cycles, v.replay_of,
  v.mhz, r.output_limit, r.output_truncated, r.legacy_tasks
  FROM runs v JOIN raw_runs r ON r.run_id = v.run_id)`;

/** Rows a paged stream reads per statement execution (default). */
const PAGE_ROWS = 4096;

/**
 * The rows of `stmt` (parameters run_id, from, to, limit; ordered by column `key`, an integer
 * unique within the run) in pages of PAGE_ROWS: all() per page rather than a native step per row.
 */
function* paged(
  stmt: Statement,
  runId: number,
  key: number,
  from: number,
  to: number,
  pageRows: number,
): Generator<Raw> {
  let at = from;
  for (;;) {
    const page = stmt.all(runId, at, to, pageRows) as Raw[];
    for (let i = 0; i < page.length; i++) yield page[i]!;
    if (page.length < pageRows) return;
    at = num(page[page.length - 1]![key]) + 1;
  }
}

function runRow(r: Raw): RunRow {
  return {
    runId: num(r[0]),
    workload: r[1] as string,
    binarySha256: r[2] as string,
    argv: argvOf(r[3], num(r[0])),
    cpus: num(r[4]),
    preempt: r[5] === 1,
    seed: num(r[6]),
    chaos: r[7] === 1,
    status: r[8] as RunStatus,
    exitCode: numOrNull(r[9]),
    signal: numOrNull(r[10]),
    instructions: numOrNull(r[11]),
    cycles: numOrNull(r[12]),
    replayOf: numOrNull(r[13]),
    mhz: num(r[14]),
    outputLimit: numOrNull(r[15]),
    outputTruncated: r[16] === 1,
    legacyTasks: r[17] === 1,
  };
}

/** runs.argv (JSON text); a value that is not a JSON array of strings is a TraceError (issue 16). */
function argvOf(v: unknown, runId: number): string[] {
  try {
    const a = JSON.parse(v as string) as unknown;
    if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a as string[];
  } catch {
    // reported below
  }
  throw new TraceError(`run ${runId}: runs.argv is not a JSON array of strings`);
}

function toBytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  return v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(String(v), 'utf8');
}

/**
 * The complete call sets (table raw_complete_calls), opened WRITABLE on purpose: the one write a
 * report path performs. Keep its lifetime short; it does not hold a TraceReader's guarantees.
 */
export class CompleteCallCache {
  readonly path: string;
  private readonly db: Db;

  static open(path: string): CompleteCallCache {
    return new CompleteCallCache(openTrace(path, { readonly: false }), path);
  }

  constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
  }

  /** Replaces the run's complete call set with `calls`, in one transaction. */
  put(runId: number, calls: Iterable<CompleteCallRecord>): void {
    const del = this.db.prepare('DELETE FROM raw_complete_calls WHERE run_id = ?');
    const ins = this.db.prepare(
      `INSERT INTO raw_complete_calls (run_id, probe_id, tid, ts, dur, entry_cpu, return_cpu, depth,
         retval, args, entry_seq, return_seq, release_seq, hooked)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    try {
      this.db.transaction(() => {
        del.run(runId);
        for (const c of calls) {
          const returned = Number.isFinite(c.returnTs);
          const released = !returned && Number.isFinite(c.returnSeq);
          ins.run(
            runId,
            c.probeId,
            c.tid,
            c.entryTs,
            returned ? c.returnTs - c.entryTs : null,
            c.entryCpu,
            c.returnCpu,
            c.depth,
            c.retval,
            c.args,
            c.entrySeq,
            returned ? c.returnSeq : null,
            released ? Math.floor(c.returnSeq) : null,
            c.hooked ? 1 : 0,
          );
        }
      })();
    } catch (err) {
      throw new TraceError(`writing the complete call set of ${this.path} failed: ${reason(err)}`);
    }
  }

  close(): void {
    closeWritable(this.db);
  }
}
