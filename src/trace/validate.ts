// Validation of trace files that may have been crafted or damaged (issue 16): every value replay or
// analysis takes from a trace is checked before it is used, and a bad one is a one-line TraceError
// naming the trace file, the run, the table or field and the value.
// Guarantees:
// - checkSchema(): the file's views are exactly this build's (schemas/trace.sql, comments and
//   white space aside) and the tables they read have the columns this build reads. A view is code
//   that runs on every read, so an edited one could return anything or never finish (a recursive
//   CTE); one that differs is refused before any query runs.
// - validateRuns(): each run's row (status, counts, binary) and configuration (config.ts
//   checkRunConfig: tick, quantum, cpus, clock, budgets, maxactive, argv, ...) and each probe row
//   are in range; a 'truncated' run has the budget that stopped it (maxInstructions or maxRounds),
//   so its replay stops too.
// - RowChecker checks the rows analysis streams (calls, misses, scheduling, tasks, complete calls)
//   as they are read: types, ranges and references to the run's probes; cheap enough for a
//   million calls (a few comparisons per row, no allocation when the row is good).

import Database from 'better-sqlite3';
import { MISS_REASONS, PROBE_KINDS, RUN_STATUSES } from './codes.js';
import { UNBOUNDED } from './config.js';
import { type Db, TraceError, schemaSql } from './db.js';
import type {
  CallRecord,
  CompleteCallRecord,
  MissRecord,
  SchedRecord,
  SyscallCountRecord,
} from './records.js';
import type { RunRow, TaskRow, TraceReader } from './reader.js';

/** CPUs an event or call row may name (the packed `info` columns hold 7 bits). */
const CPU_LIMIT = 128;
/** Linux's PID_MAX_LIMIT: tids are below it (the packed event column holds 22 bits). */
const TID_LIMIT = 1 << 22;
/** Nesting depth a call row may claim (a guest stack cannot hold more frames than this). */
const DEPTH_LIMIT = 1 << 24;

function normalize(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\s*;\s*$/, '')
    .trim();
}

interface ExpectedSchema {
  views: Map<string, string>;
  tables: Map<string, string[]>;
}
let expectedCache: ExpectedSchema | undefined;

/** This build's views (normalized SQL) and tables (column names): trace.sql run in a scratch database. */
function expected(): ExpectedSchema {
  if (expectedCache) return expectedCache;
  const mem = new Database(':memory:');
  try {
    mem.exec(schemaSql().create);
    const objs = mem
      .prepare("SELECT type, name, sql FROM sqlite_schema WHERE type IN ('view', 'table')")
      .all() as {
      type: string;
      name: string;
      sql: string;
    }[];
    const views = new Map<string, string>();
    const tables = new Map<string, string[]>();
    for (const o of objs)
      if (o.type === 'view') views.set(o.name, normalize(o.sql));
      else
        tables.set(
          o.name,
          mem.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(o.name) as string[],
        );
    expectedCache = { views, tables };
    return expectedCache;
  } finally {
    mem.close();
  }
}

/**
 * Refuses a trace whose views differ from this build's or whose tables lack a column this build
 * reads (see the header). Nothing is written to `db`.
 */
export function checkSchema(db: Db, path: string): void {
  let exp: ExpectedSchema;
  let have: Map<string, string>;
  try {
    exp = expected();
    have = new Map(
      (
        db.prepare("SELECT name, sql FROM main.sqlite_schema WHERE type = 'view'").raw().all() as [
          string,
          string,
        ][]
      ).map(([n, s]) => [n, normalize(s ?? '')]),
    );
  } catch (e) {
    if (e instanceof TraceError) throw e;
    throw new TraceError(`${path}: cannot read its schema: ${(e as Error).message}`);
  }
  for (const [name, sql] of exp.views) {
    const got = have.get(name);
    if (got === undefined)
      throw new TraceError(`${path}: the view ${name} is missing: the file was edited or damaged`);
    if (got !== sql)
      throw new TraceError(
        `${path}: the view ${name} is not this format's definition: the file was edited (probe-migrate rebuilds the views of an older format)`,
      );
  }
  for (const [name, cols] of exp.tables) {
    const got = new Set(
      db.prepare('SELECT name FROM main.pragma_table_info(?)').pluck().all(name) as string[],
    );
    if (got.size === 0)
      throw new TraceError(`${path}: the table ${name} is missing: the file was edited or damaged`);
    const lacking = cols.find((c) => !got.has(c));
    if (lacking)
      throw new TraceError(
        `${path}: the table ${name} has no column ${lacking}: the file was edited or damaged`,
      );
  }
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v instanceof Uint8Array) return `a ${v.length}-byte blob`;
  return String(v);
};
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;

/** Builds the one-line error for a bad field. */
function fieldError(path: string, where: string, field: string, v: unknown, want: string): TraceError {
  return new TraceError(`${path}: ${where}: ${field} is ${show(v)}, expected ${want}`);
}

/**
 * Checks every run of the trace (row, configuration, binary, probes); throws a one-line TraceError
 * at the first bad value. Costs one pass over raw_runs and raw_probes (no event or call rows).
 */
export function validateRuns(reader: TraceReader): void {
  const path = reader.path;
  const rows = reader.all<Record<string, unknown>>(
    `SELECT r.run_id, r.workload, r.binary_sha256, r.status, r.exit_code, r.signal, r.instructions,
            r.cycles, r.replay_of, b.size AS bsize, length(b.bytes) AS blen
     FROM raw_runs r LEFT JOIN binaries b ON b.sha256 = r.binary_sha256 ORDER BY r.run_id`,
  );
  for (const r of rows) {
    const id = r.run_id;
    if (!isCount(id)) throw fieldError(path, 'raw_runs', 'run_id', id, 'a non-negative integer');
    const where = `run ${id}`;
    const need = (field: string, ok: boolean, want: string): void => {
      if (!ok) throw fieldError(path, where, field, r[field], want);
    };
    need('workload', typeof r.workload === 'string', 'text');
    need('status', (RUN_STATUSES as readonly unknown[]).includes(r.status), RUN_STATUSES.join(', '));
    need('exit_code', r.exit_code === null || isInt(r.exit_code), 'an integer or NULL');
    need(
      'signal',
      r.signal === null || (isInt(r.signal) && r.signal >= 1 && r.signal <= 64),
      '1..64 or NULL',
    );
    need('instructions', r.instructions === null || isCount(r.instructions), 'a count or NULL');
    need('cycles', r.cycles === null || isCount(r.cycles), 'a count or NULL');
    need('replay_of', r.replay_of === null || isCount(r.replay_of), 'a run id or NULL');
    need(
      'binary_sha256',
      typeof r.binary_sha256 === 'string' && r.blen !== null,
      'a binary stored in the trace',
    );
    if (r.bsize !== r.blen)
      throw fieldError(path, `${where}: its binary`, 'size', r.bsize, `its length ${String(r.blen)}`);
    // One line naming the run, the file and the field (reader.runConfig wraps checkRunConfig's).
    const c = reader.runConfig(id);
    // The runs view reads its columns from the same JSON with SQLite's parser: they must agree
    // (a crafted config with duplicate keys could show one value to SQL and another to replay).
    let v: RunRow;
    try {
      v = reader.run(id);
    } catch (e) {
      throw new TraceError(`${path}: ${(e as Error).message}`);
    }
    const same =
      v.cpus === c.cpus &&
      v.seed === c.seed &&
      v.mhz === c.mhz &&
      v.preempt === c.preempt &&
      v.chaos === c.chaos &&
      JSON.stringify(v.argv) === JSON.stringify(c.argv);
    if (!same)
      throw new TraceError(
        `${path}: ${where}: the runs view and the stored configuration disagree (argv, cpus, seed, mhz, preempt or chaos): the file was edited`,
      );
    if (r.status === 'truncated' && c.maxInstructions === null && c.maxRounds === null)
      throw new TraceError(
        `${path}: ${where} is 'truncated' but its configuration has neither maxInstructions nor maxRounds: a replay would not stop where the recording did`,
      );
    validateProbes(reader, id);
  }
}

function validateProbes(reader: TraceReader, runId: number): void {
  const path = reader.path;
  const rows = reader.all<Record<string, unknown>>(
    `SELECT probe_id, event, kind, spec, symbol, offset, addr, maxactive, hits, nmissed, nmissed_reentry
     FROM raw_probes WHERE run_id = ?`,
    runId,
  );
  for (const p of rows) {
    const where = `run ${runId}: probe ${show(p.probe_id)}`;
    const need = (field: string, ok: boolean, want: string): void => {
      if (!ok) throw fieldError(path, where, field, p[field], want);
    };
    need('probe_id', isInt(p.probe_id) && p.probe_id >= 0 && p.probe_id < 1 << 20, '0..2^20-1');
    need('event', typeof p.event === 'string', 'text');
    need(
      'kind',
      isInt(p.kind) && p.kind >= 0 && p.kind < PROBE_KINDS.length,
      `a code 0..${PROBE_KINDS.length - 1}`,
    );
    need('spec', typeof p.spec === 'string', 'text');
    need('symbol', p.symbol === null || typeof p.symbol === 'string', 'text or NULL');
    need('offset', isInt(p.offset), 'an integer');
    need('addr', isInt(p.addr) && p.addr >= -(2 ** 31) && p.addr < 2 ** 32, 'a 32-bit address');
    need(
      'maxactive',
      p.maxactive === null || (isInt(p.maxactive) && p.maxactive >= 1 && p.maxactive <= UNBOUNDED),
      '1..2^53-1 or NULL',
    );
    for (const f of ['hits', 'nmissed', 'nmissed_reentry'])
      need(f, p[f] === null || isCount(p[f]), 'a count or NULL');
  }
}

/**
 * Checks the rows of one run's streams as analysis reads them. Create one per run with the ids of
 * the run's probes; each check returns its record (so it can wrap a map) or throws a TraceError.
 */
export class RowChecker {
  /** `cpus`: the run's CPU count (rows name CPUs below it); default: what the row format can hold. */
  constructor(
    private readonly path: string,
    private readonly runId: number,
    private readonly probeIds: ReadonlySet<number>,
    private readonly cpus = CPU_LIMIT,
  ) {}

  private fail(table: string, n: number, field: string, v: unknown, want: string): never {
    throw fieldError(this.path, `run ${this.runId}: ${table} row ${n}`, field, v, want);
  }

  private probe(table: string, n: number, id: unknown): void {
    if (!this.probeIds.has(id as number)) this.fail(table, n, 'probe_id', id, "one of the run's probes");
  }

  private common(table: string, n: number, r: { tid: unknown; ts: unknown }): void {
    if (!(isInt(r.tid) && r.tid >= 0 && r.tid < TID_LIMIT))
      this.fail(table, n, 'tid', r.tid, `0..${TID_LIMIT - 1}`);
    if (!isCount(r.ts)) this.fail(table, n, 'ts', r.ts, 'a cycle count');
  }

  private cpu(table: string, n: number, field: string, v: unknown): void {
    if (!(isInt(v) && v >= 0 && v < this.cpus)) this.fail(table, n, field, v, `a CPU 0..${this.cpus - 1}`);
  }

  /** A row's args JSON text parsed (null stays null); anything but a JSON object is an error. */
  args(table: string, n: number, args: string | null): Record<string, unknown> | null {
    if (args === null) return null;
    let o: unknown;
    try {
      o = JSON.parse(args);
    } catch {
      o = undefined;
    }
    if (!o || typeof o !== 'object' || Array.isArray(o))
      this.fail(table, n, 'args', args, 'a JSON object or NULL');
    return o as Record<string, unknown>;
  }

  /** A `calls` row (n counts rows from 1). */
  call(c: CallRecord, n: number): CallRecord {
    this.probe('calls', n, c.probeId);
    this.common('calls', n, c);
    if (!isCount(c.dur) || !Number.isSafeInteger(c.ts + c.dur))
      this.fail('calls', n, 'dur', c.dur, 'a cycle count');
    this.cpu('calls', n, 'entry_cpu', c.entryCpu);
    this.cpu('calls', n, 'return_cpu', c.returnCpu);
    if (!(isInt(c.depth) && c.depth >= 0 && c.depth < DEPTH_LIMIT))
      this.fail('calls', n, 'depth', c.depth, `0..${DEPTH_LIMIT - 1}`);
    if (!(c.retval === null || isInt(c.retval)))
      this.fail('calls', n, 'retval', c.retval, 'an integer or NULL');
    if (!isCount(c.returnSeq)) this.fail('calls', n, 'return_seq', c.returnSeq, 'an event number');
    if (!(c.entrySeq === null || (isCount(c.entrySeq) && c.entrySeq <= c.returnSeq)))
      this.fail('calls', n, 'entry_seq', c.entrySeq, 'an event number before return_seq, or NULL');
    return c;
  }

  /** A `missed` row. */
  miss(m: MissRecord, n: number): MissRecord {
    this.probe('missed', n, m.probeId);
    this.common('missed', n, m);
    this.cpu('missed', n, 'cpu', m.cpu);
    if (!(MISS_REASONS as readonly string[]).includes(m.reason))
      this.fail('missed', n, 'reason', m.reason, MISS_REASONS.join(', '));
    return m;
  }

  /** A `sched` row. */
  sched(s: SchedRecord, n: number): SchedRecord {
    if (!isCount(s.ts)) this.fail('sched', n, 'ts', s.ts, 'a cycle count');
    this.cpu('sched', n, 'cpu', s.cpu);
    for (const [f, v] of [
      ['prev_tid', s.prevTid],
      ['next_tid', s.nextTid],
    ] as const)
      if (!(v === null || (isInt(v) && v >= 0 && v < TID_LIMIT)))
        this.fail('sched', n, f, v, `0..${TID_LIMIT - 1} or NULL`);
    if (typeof s.reason !== 'string') this.fail('sched', n, 'reason', s.reason, 'text');
    return s;
  }

  /** A `syscalls` row. */
  syscall(r: SyscallCountRecord, n: number): SyscallCountRecord {
    if (!(isInt(r.nr) && r.nr >= 0 && r.nr < 1 << 16))
      this.fail('syscalls', n, 'nr', r.nr, 'a syscall number');
    if (!(r.name === null || typeof r.name === 'string'))
      this.fail('syscalls', n, 'name', r.name, 'text or NULL');
    for (const [f, v] of [
      ['calls', r.calls],
      ['errors', r.errors],
      ['enosys', r.enosys],
    ] as const)
      if (!isCount(v)) this.fail('syscalls', n, f, v, 'a count');
    return r;
  }

  /** A `tasks` row. */
  task(t: TaskRow, n: number): TaskRow {
    if (!(isInt(t.tid) && t.tid >= 0 && t.tid < TID_LIMIT))
      this.fail('tasks', n, 'tid', t.tid, `0..${TID_LIMIT - 1}`);
    if (typeof t.name !== 'string') this.fail('tasks', n, 'name', t.name, 'text');
    return t;
  }

  /**
   * A stored complete call: the same checks as a call, with an open return (Infinity) allowed.
   * Returns a problem description instead of throwing: a bad cache is rebuilt, not fatal.
   */
  completeCallProblem(c: CompleteCallRecord): string | null {
    if (!this.probeIds.has(c.probeId)) return `probe_id ${show(c.probeId)} is not one of the run's probes`;
    if (!(isInt(c.tid) && c.tid >= 0 && c.tid < TID_LIMIT)) return `tid ${show(c.tid)}`;
    if (!isCount(c.entryTs)) return `ts ${show(c.entryTs)}`;
    if (!(c.returnTs === Infinity || (isCount(c.returnTs) && c.returnTs >= c.entryTs)))
      return `dur ${show(c.returnTs - c.entryTs)}`;
    for (const v of [c.entryCpu, c.returnCpu])
      if (!(isInt(v) && v >= 0 && v < this.cpus)) return `cpu ${show(v)}`;
    if (!(isInt(c.depth) && c.depth >= 0 && c.depth < DEPTH_LIMIT)) return `depth ${show(c.depth)}`;
    if (!isCount(c.entrySeq)) return `entry_seq ${show(c.entrySeq)}`;
    if (!(c.returnSeq === Infinity || (typeof c.returnSeq === 'number' && c.returnSeq >= c.entrySeq)))
      return `return_seq ${show(c.returnSeq)}`;
    if (!(c.retval === null || isInt(c.retval))) return `retval ${show(c.retval)}`;
    return null;
  }
}
