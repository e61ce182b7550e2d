// Typed, read-only access to a trace file for replay, analysis, report and probe-query.
// Guarantees:
// - TraceReader opens the file read-only (SQLITE_OPEN_READONLY + PRAGMA query_only) after the
//   version gate; nothing done through it can change the file.
// - query() (probe-query's user SQL) additionally accepts only single statements that return rows
//   and that SQLite reports as read-only, so INSERT/UPDATE/DELETE/DROP/CREATE, ATTACH/DETACH,
//   VACUUM INTO, BEGIN and state-changing PRAGMAs (writable_schema=1, query_only=0, journal_mode=..)
//   are refused with a one-line TraceError before they run.
// - Large per-run sets (events, calls, sched) have iterators backed by statement.iterate(), so
//   memory stays flat; the other getters return arrays.
// - The only write a report path needs, the call_sets analysis cache, goes through CallSetCache:
//   a separate, explicitly writable open.
// - Missing runs, probes or binaries are one-line TraceErrors.

import type { Statement } from 'better-sqlite3';
import {
  EVENT_KINDS,
  type EventKindCode,
  type EventKindName,
  MISS_REASONS,
  type MissReasonName,
  PROBE_KINDS,
  type ProbeKindName,
  type RunStatus,
} from './codes.js';
import { type Db, TraceError, closeWritable, integrityCheck, openTrace, reason } from './db.js';
import type { RunConfig } from './writer.js';

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
  mhz: number | null;
}

export interface ProbeRow {
  runId: number;
  probeId: number;
  event: string;
  kind: ProbeKindName;
  spec: string;
  symbol: string | null;
  offset: number;
  addr: number;
  maxactive: number | null;
  /** NULL until the run is finished. */
  hits: number | null;
  nmissed: number | null;
  nmissedReentry: number | null;
}

export interface EventRow {
  seq: number;
  ts: number;
  cpu: number;
  tid: number;
  kind: EventKindName;
  kindCode: EventKindCode;
  probeId: number | null;
  addr: number | null;
  /** JSON text of an object, or null. */
  args: string | null;
}

export interface CallRow {
  probeId: number;
  tid: number;
  ts: number;
  dur: number;
  entryCpu: number;
  returnCpu: number;
  depth: number;
  retval: number | null;
  args: string | null;
  entrySeq: number | null;
  returnSeq: number | null;
}

export interface MissedRow {
  probeId: number;
  tid: number;
  cpu: number;
  ts: number;
  reason: MissReasonName;
}

export interface TaskRowOut {
  tid: number;
  parentTid: number | null;
  name: string;
  startTs: number | null;
  endTs: number | null;
  exitCode: number | null;
}

export interface SchedRow {
  ts: number;
  cpu: number;
  prevTid: number | null;
  nextTid: number | null;
  reason: string;
}

export interface InputRow {
  seq: number;
  kind: string;
  key: string | null;
  data: Buffer;
}

export interface OutputRow {
  seq: number;
  fd: number;
  ts: number;
  data: Buffer;
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

  /** Opens `path` read-only after the version gate. */
  static open(path: string): TraceReader {
    return new TraceReader(openTrace(path, { readonly: true }), path);
  }

  /** `db` must come from openTrace(path, { readonly: true }). */
  constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
  }

  close(): void {
    if (this.db.open) this.db.close();
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

  runConfig(runId: number): RunConfig {
    const text = this.raw('SELECT config FROM run_config WHERE run_id = ?').get(runId) as Raw | undefined;
    if (!text) throw this.noRun(runId);
    return JSON.parse(text[0] as string) as RunConfig;
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

  /** Number of events of a run. */
  eventCount(runId: number): number {
    return num(this.raw('SELECT count(*) FROM raw_events WHERE run_id = ?').get(runId)![0]);
  }

  /** Events of a run in seq order, streamed. */
  *events(runId: number, range: EventRange = {}): Generator<EventRow, void, undefined> {
    const it = this.fresh(
      `SELECT seq, ts, cpu, tid, kind, probe_id, addr,
              (SELECT s FROM strings WHERE id = e.args)
       FROM event_rows e WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq`,
    ).iterate(runId, range.fromSeq ?? 0, range.toSeq ?? Number.MAX_SAFE_INTEGER) as IterableIterator<Raw>;
    for (const r of it) {
      const code = num(r[4]) as EventKindCode;
      yield {
        seq: num(r[0]),
        ts: num(r[1]),
        cpu: num(r[2]),
        tid: num(r[3]),
        kind: EVENT_KINDS[code] ?? 'fault',
        kindCode: code,
        probeId: numOrNull(r[5]),
        addr: numOrNull(r[6]),
        args: strOrNull(r[7]),
      };
    }
  }

  /** Calls of one probe in entry order, streamed. */
  *iterateCalls(runId: number, probeId: number): Generator<CallRow, void, undefined> {
    const it = this.fresh(
      `SELECT probe_id, tid, ts, dur, entry_cpu, return_cpu, depth, retval,
              (SELECT s FROM strings WHERE id = c.args), entry_seq, return_seq
       FROM call_rows c WHERE run_id = ? AND probe_id = ? ORDER BY ts, return_seq`,
    ).iterate(runId, probeId) as IterableIterator<Raw>;
    for (const r of it) {
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
        returnSeq: numOrNull(r[10]),
      };
    }
  }

  /** Calls of one probe in entry order. */
  calls(runId: number, probeId: number): CallRow[] {
    return [...this.iterateCalls(runId, probeId)];
  }

  /** Missed calls of a run (of one probe if given), in time order. */
  missed(runId: number, probeId?: number): MissedRow[] {
    const rows =
      probeId === undefined
        ? this.raw(
            'SELECT probe_id, tid, cpu, ts, reason FROM raw_missed WHERE run_id = ? ORDER BY ts, rowid',
          ).all(runId)
        : this.raw(
            `SELECT probe_id, tid, cpu, ts, reason FROM raw_missed WHERE run_id = ? AND probe_id = ?
             ORDER BY ts, rowid`,
          ).all(runId, probeId);
    return rows.map((r) => ({
      probeId: num(r[0]),
      tid: num(r[1]),
      cpu: num(r[2]),
      ts: num(r[3]),
      reason: MISS_REASONS[num(r[4])] ?? 'no_instance',
    }));
  }

  tasks(runId: number): TaskRowOut[] {
    return this.raw(
      `SELECT tid, parent_tid, name, start_ts, end_ts, exit_code FROM raw_tasks WHERE run_id = ?
       ORDER BY id`,
    )
      .all(runId)
      .map((r) => ({
        tid: num(r[0]),
        parentTid: numOrNull(r[1]),
        name: r[2] as string,
        startTs: numOrNull(r[3]),
        endTs: numOrNull(r[4]),
        exitCode: numOrNull(r[5]),
      }));
  }

  /** Context switches of a run in time order, streamed. */
  *sched(runId: number): Generator<SchedRow, void, undefined> {
    const it = this.fresh(
      `SELECT ts, cpu, prev_tid, next_tid, (SELECT s FROM strings WHERE id = x.reason)
       FROM raw_sched x WHERE run_id = ? ORDER BY ts, rowid`,
    ).iterate(runId) as IterableIterator<Raw>;
    for (const r of it)
      yield {
        ts: num(r[0]),
        cpu: num(r[1]),
        prevTid: numOrNull(r[2]),
        nextTid: numOrNull(r[3]),
        reason: (r[4] as string | null) ?? '',
      };
  }

  /** The logged nondeterministic inputs of a run, in consumption order. */
  inputs(runId: number): InputRow[] {
    return this.raw('SELECT seq, kind, key, data FROM inputs WHERE run_id = ? ORDER BY seq')
      .all(runId)
      .map((r) => ({ seq: num(r[0]), kind: r[1] as string, key: strOrNull(r[2]), data: r[3] as Buffer }));
  }

  /** Guest stdout/stderr of a run, in write order. */
  outputs(runId: number): OutputRow[] {
    return this.raw('SELECT seq, fd, ts, data FROM output WHERE run_id = ? ORDER BY seq')
      .all(runId)
      .map((r) => ({ seq: num(r[0]), fd: num(r[1]), ts: num(r[2]), data: r[3] as Buffer }));
  }

  /** A cached analysis blob, or undefined. */
  callSet(runId: number, probeId: number, key: string): Buffer | undefined {
    const r = this.raw('SELECT data FROM call_sets WHERE run_id = ? AND probe_id = ? AND key = ?').get(
      runId,
      probeId,
      key,
    ) as Raw | undefined;
    return r === undefined ? undefined : toBuffer(r[0]);
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

const RUN_SELECT = `SELECT run_id, workload, binary_sha256, argv, cpus, preempt, seed, chaos, status,
  exit_code, signal, instructions, cycles, replay_of, mhz FROM raw_runs`;

function runRow(r: Raw): RunRow {
  return {
    runId: num(r[0]),
    workload: r[1] as string,
    binarySha256: r[2] as string,
    argv: JSON.parse(r[3] as string) as string[],
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
    mhz: numOrNull(r[14]),
  };
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
}

/**
 * The analysis cache (table call_sets), opened WRITABLE on purpose: the one write a report path
 * performs. Keep its lifetime short; it does not hold a TraceReader's guarantees.
 */
export class CallSetCache {
  readonly path: string;
  private readonly db: Db;
  private readonly getStmt: Statement;
  private readonly putStmt: Statement;
  private readonly delStmt: Statement;

  static open(path: string): CallSetCache {
    return new CallSetCache(openTrace(path, { readonly: false }), path);
  }

  constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
    this.getStmt = db
      .prepare('SELECT data FROM call_sets WHERE run_id = ? AND probe_id = ? AND key = ?')
      .pluck();
    this.putStmt = db.prepare(
      'INSERT OR REPLACE INTO call_sets (run_id, probe_id, key, data) VALUES (?, ?, ?, ?)',
    );
    this.delStmt = db.prepare('DELETE FROM call_sets WHERE run_id = ?');
  }

  get(runId: number, probeId: number, key: string): Buffer | undefined {
    const v = this.getStmt.get(runId, probeId, key);
    return v === undefined ? undefined : toBuffer(v);
  }

  /** Stores (replacing) one entry; committed before returning. */
  put(runId: number, probeId: number, key: string, data: Uint8Array | string): void {
    try {
      this.putStmt.run(
        runId,
        probeId,
        key,
        typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data),
      );
    } catch (err) {
      throw new TraceError(`writing the analysis cache of ${this.path} failed: ${reason(err)}`);
    }
  }

  /** Drops every entry of a run (e.g. after it was re-analysed with other inputs). */
  clearRun(runId: number): void {
    try {
      this.delStmt.run(runId);
    } catch (err) {
      throw new TraceError(`writing the analysis cache of ${this.path} failed: ${reason(err)}`);
    }
  }

  close(): void {
    closeWritable(this.db);
  }
}
