// Tests of src/trace: schema contract (view columns, codes), creation/overwrite refusal, the
// version gate, read-only guarantees, probe-query's refusal of writes, batched multi-row writes
// round-tripping exactly (tails included), interning, and crash safety under SIGKILL.
//
// The crash test runs the compiled writer (dist/, SQLite on its worker thread, as probe-record
// does) in a child `node` process it can SIGKILL; like every test it runs what `npm test` has just
// built (vitest.config.ts rebuilds a stale dist/).

import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPLICATION_ID,
  CompleteCallCache,
  EVENT_KINDS,
  EventKind,
  type CompleteCallRecord,
  type EventKindCode,
  FORMAT_VERSION,
  MISS_REASONS,
  MissReason,
  PROBE_KINDS,
  TraceError,
  TraceReader,
  TraceWriter,
  checkFormatVersion,
  createTrace,
  MIGRATIONS,
  migrateTrace,
  migrationPath,
  openTrace,
  schemaSql,
} from '../src/trace/index.js';
import { replayRun } from '../src/replay/replay.js';
import * as R from './helpers/records.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-trace-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function tmp(name = 'trace.db'): string {
  return path.join(dir, `${++counter}-${name}`);
}

const BINARY = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]);
const CONFIG = R.config({
  argv: ['demo', '-n', '3'],
  cpus: 4,
  preempt: true,
  seed: 42,
  chaos: false,
  mhz: 1000,
});

function newRun(w: TraceWriter, over: Partial<typeof CONFIG> = {}): number {
  return w.beginRun({ workload: 'demo', binary: BINARY, config: { ...CONFIG, ...over } });
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function errorOf(f: () => unknown): TraceError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(TraceError);
    const e = err as TraceError;
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected a TraceError');
}

/** A finished trace with one run, for the read-side tests. */
function smallTrace(): string {
  const file = tmp();
  const w = TraceWriter.create(file);
  const run = newRun(w);
  w.addProbe(run, {
    probeId: 0,
    event: 'probes/f',
    kind: 'kretprobe',
    spec: 'r2:probes/f f',
    symbol: 'f',
    offset: 0,
    addr: 0x8049000,
    maxactive: 2,
  });
  w.event(R.ev(0, 10, 0, 1, EventKind.kprobe, 0, 0x8049000, '{"a":1}'));
  w.event(R.ev(1, 11, 0, 1, EventKind.singlestep, 0, 0x8049001, null));
  w.finishRun(run, {
    status: 'complete',
    exitCode: 0,
    signal: null,
    instructions: 100,
    cycles: 120,
    probeCounters: [{ probeId: 0, hits: 1, nmissed: 0, nmissedReentry: 0 }],
  });
  w.close();
  return file;
}

describe('schema contract', () => {
  const DESIGN: Record<string, string[]> = {
    runs: [
      'run_id',
      'workload',
      'binary_sha256',
      'argv',
      'cpus',
      'preempt',
      'seed',
      'chaos',
      'status',
      'exit_code',
      'signal',
      'instructions',
      'cycles',
      'replay_of',
    ],
    probes: [
      'run_id',
      'probe_id',
      'event',
      'kind',
      'spec',
      'symbol',
      'offset',
      'addr',
      'maxactive',
      'hits',
      'nmissed',
      'nmissed_reentry',
    ],
    events: ['run_id', 'seq', 'ts', 'cpu', 'tid', 'kind', 'probe_id', 'addr', 'args'],
    calls: ['run_id', 'probe_id', 'tid', 'ts', 'dur', 'entry_cpu', 'return_cpu', 'depth', 'retval', 'args'],
    missed: ['run_id', 'probe_id', 'tid', 'cpu', 'ts', 'reason'],
    tasks: ['run_id', 'tid', 'pid', 'ppid', 'parent_tid', 'name', 'exe', 'start_ts', 'end_ts', 'exit_code'],
    sched: ['run_id', 'ts', 'cpu', 'prev_tid', 'next_tid', 'reason'],
    syscalls: ['run_id', 'tid', 'nr', 'name', 'calls', 'errors', 'enosys'],
    inputs: ['run_id', 'seq', 'kind', 'key', 'data'],
    complete_calls: [
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
    ],
  };
  // Extra columns, appended after the design's list and documented in schemas/trace.sql.
  const EXTRA: Record<string, string[]> = {
    runs: ['mhz', 'output_truncated'],
    events: ['pid'],
    inputs: ['sha256'],
    calls: ['end_ts', 'entry_seq', 'return_seq'],
    complete_calls: ['end_ts', 'entry_seq', 'return_seq', 'hooked'],
  };

  it('the public views are exactly the documented ones; private views carry a _ prefix', () => {
    const r = TraceReader.open(smallTrace());
    const views = r
      .all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")
      .map((v) => v.name);
    expect(views.filter((v) => !v.startsWith('_')).sort()).toEqual(Object.keys(DESIGN).sort());
    r.close();
  });

  it('every public view has exactly the documented columns, in order', () => {
    const r = TraceReader.open(smallTrace());
    for (const [view, cols] of Object.entries(DESIGN)) {
      const info = r.query(`PRAGMA table_info(${view})`);
      const names = info.rows.map((row) => row[info.columns.indexOf('name')]);
      expect(names, view).toEqual([...cols, ...(EXTRA[view] ?? [])]);
      const types = r.get<{ type: string }>('SELECT type FROM sqlite_schema WHERE name = ?', view);
      expect(types?.type, view).toBe('view');
      expect(r.query(`SELECT * FROM ${view} LIMIT 0`).columns).toEqual([...cols, ...(EXTRA[view] ?? [])]);
    }
    r.close();
  });

  it('integer codes agree with the lookup tables and the views decode every code', () => {
    const r = TraceReader.open(smallTrace());
    const table = (t: string): string[] =>
      r.all<{ name: string }>(`SELECT name FROM ${t} ORDER BY code`).map((x) => x.name);
    expect(table('event_kinds')).toEqual([...EVENT_KINDS]);
    expect(table('probe_kinds')).toEqual([...PROBE_KINDS]);
    expect(table('miss_reasons')).toEqual([...MISS_REASONS]);
    for (const [name, code] of Object.entries(EventKind)) expect(EVENT_KINDS[code]).toBe(name);
    for (const [name, code] of Object.entries(MissReason)) expect(MISS_REASONS[code]).toBe(name);
    r.close();

    const file = tmp();
    const w = TraceWriter.create(file);
    const run = newRun(w);
    EVENT_KINDS.forEach((_, code) =>
      w.event(R.ev(code, code, 0, 1, code as EventKindCode, null, null, null)),
    );
    // A missed call is its 'missed' or 'reentry' event with a probe (format 7): the two events
    // above have none, so the view shows these two; the writer's missed() stores nothing more.
    const n = EVENT_KINDS.length;
    w.event(R.ev(n, n, 0, 1, EventKind.missed, 0, null, null));
    w.missed(R.miss(0, 1, 0, n, MissReason.no_instance));
    w.event(R.ev(n + 1, n + 1, 0, 1, EventKind.reentry, 0, null, null));
    w.missed(R.miss(0, 1, 0, n + 1, MissReason.reentry));
    PROBE_KINDS.forEach((kind, i) =>
      w.addProbe(run, {
        probeId: i,
        event: `probes/p${i}`,
        kind,
        spec: 'x',
        symbol: null,
        offset: 0,
        addr: 0,
        maxactive: null,
      }),
    );
    w.close();
    const r2 = TraceReader.open(file);
    expect(r2.all<{ kind: string }>('SELECT kind FROM events ORDER BY seq').map((x) => x.kind)).toEqual([
      ...EVENT_KINDS,
      'missed',
      'reentry',
    ]);
    expect(r2.all<{ reason: string }>('SELECT reason FROM missed ORDER BY ts').map((x) => x.reason)).toEqual([
      ...MISS_REASONS,
    ]);
    expect(r2.all<{ kind: string }>('SELECT kind FROM probes ORDER BY probe_id').map((x) => x.kind)).toEqual([
      ...PROBE_KINDS,
    ]);
    r2.close();
  });

  it('meta carries the format version and creator; the header carries the application id', () => {
    const file = smallTrace();
    const r = TraceReader.open(file);
    const meta = r.meta();
    expect(meta.format_version).toBe(FORMAT_VERSION);
    expect(String(meta.created_by)).toMatch(/^probelab/);
    expect(r.query('PRAGMA application_id').rows[0]?.[0]).toBe(APPLICATION_ID);
    expect(r.query('PRAGMA user_version').rows[0]?.[0]).toBe(FORMAT_VERSION);
    r.close();
  });

  it('the index part of trace.sql is only applied when a run finishes', () => {
    // (but for raw_events_missed, partial: only a missed call's event row is added to it)
    expect(schemaSql().create.match(/^\s*CREATE\s+(UNIQUE\s+)?INDEX.*$/gim)).toEqual([
      'CREATE INDEX raw_events_missed ON raw_events (run_id, seq, ts, info) WHERE info & 15 IN (5, 6);',
    ]);
    expect(schemaSql().indexes).toMatch(/CREATE INDEX IF NOT EXISTS/);
    const file = tmp();
    const w = TraceWriter.create(file);
    const run = newRun(w);
    const indexes = (): string[] => {
      const r = TraceReader.open(file);
      const names = r
        .all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
        .map((x) => x.name);
      r.close();
      return names;
    };
    w.event(R.ev(0, 0, 0, 1, EventKind.kprobe, null, null, null));
    w.flush();
    expect(indexes()).toEqual(['raw_events_missed']);
    w.finishRun(run, { status: 'complete', exitCode: 0, signal: null, instructions: 1, cycles: 1 });
    expect(indexes()).toContain('raw_sched_run_ts');
    w.close();
    // raw_events and raw_calls need no index: their primary keys give a run's stored events and
    // its calls in seq order without a sort (the reader merges the two streams, #15), and a
    // lookup of an event by seq lands on the stored rows' key.
    const r = TraceReader.open(file);
    const plan = (sql: string): string =>
      r
        .query(`EXPLAIN QUERY PLAN ${sql}`)
        .rows.map((x) => String(x[3]))
        .join(' | ');
    for (const sql of [
      'SELECT * FROM raw_events WHERE run_id = 1 AND seq >= 0 AND seq < 9 ORDER BY seq',
      'SELECT * FROM raw_calls WHERE run_id = 1 AND info & 49152 AND return_seq >= 0 ORDER BY return_seq',
    ]) {
      expect(plan(sql)).toContain('USING PRIMARY KEY');
      expect(plan(sql)).not.toContain('TEMP B-TREE');
    }
    // A run's misses (format 7: event rows) are read from the partial index alone.
    expect(plan('SELECT * FROM missed WHERE run_id = 1')).toContain('USING COVERING INDEX raw_events_missed');
    expect(plan('SELECT * FROM events WHERE run_id = 1 AND seq = 5')).toContain('USING PRIMARY KEY');
    const calls = plan('SELECT * FROM calls WHERE run_id = 1 ORDER BY return_seq');
    expect(calls).toContain('USING PRIMARY KEY');
    expect(calls).not.toContain('TEMP B-TREE');
    r.close();
  });
});

describe('creating and opening', () => {
  it('refuses to overwrite an existing file unless forced', () => {
    const file = smallTrace();
    const before = sha(file);
    const e = errorOf(() => TraceWriter.create(file));
    expect(e.message).toBe(`${file} exists; use --force to overwrite`);
    expect(sha(file)).toBe(before);
    const w = TraceWriter.create(file, { force: true });
    w.close();
    const r = TraceReader.open(file);
    expect(r.runs()).toEqual([]);
    r.close();
  });

  it('force also removes stale WAL side files of the old database', () => {
    const file = tmp();
    fs.writeFileSync(`${file}-wal`, 'stale');
    fs.writeFileSync(`${file}-shm`, 'stale');
    const w = TraceWriter.create(file);
    w.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const r = TraceReader.open(file);
    expect(r.integrityCheck()).toBe('ok');
    r.close();
  });

  it('unwritable or impossible paths give a one-line error', () => {
    const missingDir = path.join(dir, 'no', 'such', 'dir', 'trace.db');
    expect(errorOf(() => createTrace(missingDir)).message).toBe(
      `cannot create ${missingDir}: no such file or directory`,
    );
    expect(errorOf(() => createTrace(dir)).message).toBe(`cannot create ${dir}: is a directory`);
    expect(errorOf(() => createTrace(dir, { force: true })).message).toBe(
      `cannot create ${dir}: is a directory`,
    );
    if (process.getuid?.() !== 0) {
      const ro = fs.mkdtempSync(path.join(dir, 'ro-'));
      fs.chmodSync(ro, 0o500);
      expect(errorOf(() => createTrace(path.join(ro, 't.db'))).message).toMatch(/permission denied$/);
    }
  });

  it('a file that is not a probelab trace is refused', () => {
    const text = tmp('notes.txt');
    fs.writeFileSync(text, 'hello, this is not SQLite at all\n'.repeat(100));
    const before = sha(text);
    expect(errorOf(() => TraceReader.open(text)).message).toBe(`${text} is not a probelab trace file`);
    expect(errorOf(() => TraceWriter.append(text)).message).toBe(`${text} is not a probelab trace file`);
    expect(sha(text)).toBe(before);

    const empty = tmp('empty.db');
    fs.writeFileSync(empty, '');
    expect(errorOf(() => TraceReader.open(empty)).message).toBe(`${empty} is not a probelab trace file`);
    expect(errorOf(() => TraceWriter.append(empty)).message).toBe(`${empty} is not a probelab trace file`);
    expect(fs.statSync(empty).size).toBe(0);

    const other = tmp('other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE people (name TEXT)');
    db.close();
    expect(errorOf(() => openTrace(other, { readonly: true })).message).toBe(
      `${other} is not a probelab trace file`,
    );

    const noVersion = tmp('noversion.db');
    const db2 = new Database(noVersion);
    db2.exec("CREATE TABLE meta (key TEXT, value); INSERT INTO meta VALUES ('created_by', 'x')");
    db2.close();
    expect(errorOf(() => openTrace(noVersion, { readonly: false })).message).toBe(
      `${noVersion} is not a probelab trace file`,
    );

    const missing = path.join(dir, 'missing.db');
    expect(errorOf(() => TraceReader.open(missing)).message).toBe(
      `cannot open ${missing}: no such file or directory`,
    );
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('the version gate refuses newer and older formats with what to do', () => {
    const file = smallTrace();
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'format_version'").run(FORMAT_VERSION + 1);
    db.close();
    const msg = `${file} was written by a newer probelab (format ${FORMAT_VERSION + 1}, this build reads ${FORMAT_VERSION}): upgrade probelab`;
    expect(errorOf(() => TraceReader.open(file)).message).toBe(msg);
    expect(errorOf(() => TraceWriter.append(file)).message).toBe(msg);
    expect(errorOf(() => CompleteCallCache.open(file)).message).toBe(msg);
    expect(errorOf(() => migrateTrace(file)).message).toBe(msg);

    expect(errorOf(() => checkFormatVersion('old.db', FORMAT_VERSION - 1)).message).toBe(
      `old.db was written by an older probelab (format ${FORMAT_VERSION - 1}, this build reads ${FORMAT_VERSION}): run probe-migrate on it or re-record it`,
    );
    expect(() => checkFormatVersion('cur.db', FORMAT_VERSION)).not.toThrow();
  });

  it('migrations: current files are left alone; chains are found or refused', () => {
    const file = smallTrace();
    const before = sha(file);
    expect(migrateTrace(file)).toEqual([]);
    expect(sha(file)).toBe(before);
    const step = (from: number) => ({
      from,
      to: from + 1,
      description: `${from}->${from + 1}`,
      up: () => {},
    });
    expect(migrationPath(1, 3, [step(1), step(2)])?.map((m) => m.description)).toEqual(['1->2', '2->3']);
    expect(migrationPath(1, 3, [step(2)])).toBeUndefined();
    expect(migrationPath(3, 3, [])).toEqual([]);
  });

  it('migrates a format-1 recording to the current format with every view row unchanged', () => {
    // test/fixtures/trace-format1.db was recorded by the format-1 build (commit 62a0cdb):
    // `probe-record --cpus 2 --runs 2 --chaos -w recursive -p 'r4:walk walk node=$arg1 depth=$arg2
    // ret=$retval' -p 'p:wk worker arg=$arg1:x32' -- 2 5`. The oracle is the file's own views,
    // read with plain SQLite before the migration.
    const file = tmp();
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/trace-format1.db'), file);
    const views = ['runs', 'probes', 'events', 'calls', 'missed', 'tasks', 'sched'];
    const order: Record<string, string> = {
      runs: 'run_id',
      probes: 'run_id, probe_id',
      events: 'run_id, seq',
      calls: 'run_id, probe_id, ts, return_seq',
      missed: 'run_id, probe_id, ts, tid',
      tasks: 'run_id, tid',
      sched: 'run_id, ts, cpu',
    };
    // The columns format 1 had (later formats add columns at the end or, for tasks, the design's
    // pid/ppid/exe, checked below).
    const old = new Database(file, { readonly: true });
    const columns = Object.fromEntries(
      views.map((v) => [
        v,
        // Format 3 stores x-typed arguments as numbers: args are checked by replaying the migrated
        // runs below (verify compares every event's and call's args).
        (old.prepare(`PRAGMA table_info(${v})`).all() as { name: string }[])
          .map((c) => c.name)
          .filter((c) => !((v === 'events' || v === 'calls') && c === 'args')),
      ]),
    );
    const dump = (db: { prepare(sql: string): { all(): unknown[] } }) =>
      Object.fromEntries(
        views.map((v) => [
          v,
          db.prepare(`SELECT ${columns[v]!.join(', ')} FROM ${v} ORDER BY ${order[v]}`).all(),
        ]),
      );
    const before = dump(old);
    old.close();
    expect((before.events as unknown[]).length).toBeGreaterThan(2000);
    expect((before.calls as unknown[]).length).toBeGreaterThan(400);
    expect(errorOf(() => TraceReader.open(file)).message).toMatch(/older probelab \(format 1/);
    expect(migrateTrace(file)).toEqual(MIGRATIONS.map((m) => m.description));
    const r = TraceReader.open(file);
    expect(r.integrityCheck()).toBe('ok');
    // One process per run until format 3: pid = the first task, ppid 0, exe = the workload.
    expect(
      r
        .streams(1)
        .tasks()
        .every((t) => t.pid === 1000 && t.ppid === 0 && t.exe === 'recursive'),
    ).toBe(true);
    expect(r.runConfig(2)).toMatchObject({
      version: 1,
      seed: 2,
      cpus: 2,
      chaos: true,
      probes: expect.any(Array),
    });
    for (const run of r.runs()) {
      const o = replayRun(r, run.runId);
      expect(o.divergence?.message ?? null, `run ${run.runId}`).toBeNull();
    }
    // The walk probe's default-typed (x32) arguments are numbers now, in SQL too.
    expect(r.query("SELECT typeof(json_extract(args, '$.node')) FROM calls LIMIT 1").rows).toEqual([
      ['integer'],
    ]);
    r.close();
    const now = new Database(file, { readonly: true });
    expect(dump(now)).toEqual(before);
    now.close();
    expect(migrateTrace(file)).toEqual([]);
  });

  it('read-only opens cannot write and leave the file and directory untouched', () => {
    const file = smallTrace();
    const before = sha(file);
    const db = openTrace(file, { readonly: true });
    expect(() => db.exec("INSERT INTO meta VALUES ('x', 1)")).toThrow(
      /readonly|read-only|query_only|attempt to write/i,
    );
    expect(db.pragma('query_only', { simple: true })).toBe(1);
    db.close();
    const r = TraceReader.open(file);
    expect(r.runs().length).toBe(1);
    expect([...r.streams(1).events()].length).toBe(2);
    r.close();
    expect(sha(file)).toBe(before);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(fs.existsSync(`${file}-shm`)).toBe(false);
  });

  it('a closed writer leaves one self-contained file (no -wal/-shm)', () => {
    const file = smallTrace();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(fs.existsSync(`${file}-shm`)).toBe(false);
    const copy = tmp();
    fs.copyFileSync(file, copy);
    const r = TraceReader.open(copy);
    expect(r.eventCount(1)).toBe(2);
    r.close();
  });
});

describe('probe-query (TraceReader.query)', () => {
  const REFUSED = [
    "INSERT INTO meta VALUES ('x', 1)",
    "UPDATE raw_runs SET status = 'complete'",
    'DELETE FROM raw_events',
    'DROP TABLE raw_events',
    'DROP VIEW events',
    'CREATE TABLE t (a)',
    'CREATE TEMP TABLE t (a)',
    "ATTACH DATABASE ':memory:' AS m",
    'DETACH DATABASE main',
    'PRAGMA writable_schema = 1',
    'PRAGMA writable_schema = ON',
    'PRAGMA query_only = 0',
    'PRAGMA journal_mode = DELETE',
    'VACUUM',
    "VACUUM INTO '/tmp/probelab-should-not-exist.db'",
    'BEGIN',
    'REINDEX',
    'ANALYZE',
    "WITH x AS (SELECT 1) INSERT INTO meta SELECT 'y', 2 FROM x",
    "REPLACE INTO meta VALUES ('format_version', 99)",
  ];

  it.each(REFUSED)('refuses %s with a one-line error and changes nothing', (sql) => {
    const file = smallTrace();
    const before = sha(file);
    const r = TraceReader.open(file);
    const e = errorOf(() => r.query(sql));
    expect(e.message).toMatch(/read-only|bad query/);
    expect(r.query('SELECT count(*) AS n FROM events').rows).toEqual([[2]]);
    r.close();
    expect(sha(file)).toBe(before);
    expect(fs.existsSync('/tmp/probelab-should-not-exist.db')).toBe(false);
  });

  it('runs reads: SELECT, WITH, VALUES, row-returning PRAGMAs', () => {
    const r = TraceReader.open(smallTrace());
    expect(r.query('SELECT seq, kind, args FROM events ORDER BY seq')).toEqual({
      columns: ['seq', 'kind', 'args'],
      rows: [
        [0, 'kprobe', '{"a":1}'],
        [1, 'singlestep', null],
      ],
    });
    expect(r.query('WITH t(x) AS (VALUES (1), (2)) SELECT sum(x) AS s FROM t').rows).toEqual([[3]]);
    expect(r.query('VALUES (1, 2)').rows).toEqual([[1, 2]]);
    expect(r.query('PRAGMA writable_schema').rows).toEqual([[0]]);
    expect(r.query("SELECT json_extract(args, '$.a') AS a FROM events WHERE seq = 0").rows).toEqual([[1]]);
    expect(errorOf(() => r.query('SELECT 1; SELECT 2')).message).toBe(
      'bad query: only one statement is allowed',
    );
    expect(errorOf(() => r.query('SELEC 1')).message).toMatch(/^bad query: .*syntax error/);
    expect(errorOf(() => r.query("SELECT load_extension('/nonexistent')")).message).toMatch(/^query failed/);
    r.close();
  });
});

describe('writer', () => {
  it('multi-row inserts with tails round-trip every table exactly', () => {
    const file = tmp();
    // 1000 rows per flush = 15 statements of 64 rows + a 40-row tail; 2777 events = 2 full
    // flushes + 777 in the final one.
    const w = TraceWriter.create(file, { batchRows: 1000, rowsPerStatement: 64 });
    const run = newRun(w);
    type Ev = [number, number, number, number, EventKindCode, number | null, number | null, string | null];
    const want: Ev[] = [];
    for (let i = 0; i < 2777; i++) {
      const ev: Ev = [
        i,
        i === 2776 ? Number.MAX_SAFE_INTEGER : i * 1_000_003 + 2 ** 33,
        i % 64,
        1 + (i % 9),
        (i % EVENT_KINDS.length) as EventKindCode,
        i % 3 === 0 ? null : i % 7,
        i % 5 === 0 ? null : i === 1 ? -1 : 0xffff_fff0 + (i & 15),
        i % 4 === 0 ? JSON.stringify({ i: i % 10, s: 'x"y\\z\u00e9' }) : null,
      ];
      want.push(ev);
      w.event(R.ev(...ev));
    }
    type Call = [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number | null,
      string | null,
      number | null,
      number,
    ];
    const calls: Call[] = [];
    for (let i = 0; i < 1234; i++) {
      const c: Call = [
        i % 3,
        100 + (i % 4),
        i * 10,
        5 + i,
        i % 2,
        (i + 1) % 2,
        i % 5,
        i % 6 === 0 ? null : i % 2 ? -1 : 0xffffffff,
        i % 2 ? null : `{"n":${i % 13}}`,
        i % 7 === 0 ? null : 3 * i,
        3 * i + 2,
      ];
      calls.push(c);
      w.call(R.call(...c));
    }
    for (let i = 0; i < 1001; i++)
      w.missed(R.miss(i % 3, 1, 0, i, i % 2 ? MissReason.reentry : MissReason.no_instance));
    for (let i = 0; i < 999; i++)
      w.sched(
        R.sched(
          i,
          i % 4,
          i % 5 === 0 ? null : i,
          i % 7 === 0 ? null : i + 1,
          ['tick', 'yield', 'block'][i % 3]!,
        ),
      );
    w.taskStart(R.task(1, null, 'main', 0));
    w.taskStart(R.task(2, 1, 'worker', 5));
    w.taskEnd(R.taskEnd(2, 50, 3)); // still buffered: patched in place
    w.taskStart(R.task(3, 1, 'worker', 6));
    w.flush();
    w.taskEnd(R.taskEnd(3, 60, null)); // already stored: UPDATE
    w.taskEnd(R.taskEnd(9, 70, 0)); // never started: still recorded
    const blobs = [new Uint8Array(0), new Uint8Array([0, 255, 1]), new Uint8Array(70_000).fill(7)];
    blobs.forEach((b, i) =>
      expect(w.input(R.input(i ? 'file' : 'stdin', i ? `/etc/f${i}` : null, b))).toBe(i),
    );
    const reused = new Uint8Array([9, 9]);
    expect(w.output(R.output(1, 10, reused))).toBe(0);
    reused.fill(1); // the writer copied it
    expect(w.output(R.output(2, 20, new TextEncoder().encode('err\n')))).toBe(1);
    w.addProbe(run, {
      probeId: 0,
      event: 'probes/a',
      kind: 'kretprobe',
      spec: 'r:probes/a a',
      symbol: 'a',
      offset: 0,
      addr: 0x8048100,
      maxactive: 8,
    });
    w.finishRun(run, {
      status: 'truncated',
      exitCode: null,
      signal: 9,
      instructions: 2 ** 40,
      cycles: 2 ** 41,
      probeCounters: [{ probeId: 0, hits: 10, nmissed: 2, nmissedReentry: 1 }],
    });
    const n = w.counts();
    expect(n).toMatchObject({
      events: 2777,
      calls: 1234,
      missed: 1001,
      sched: 999,
      tasks: 4,
      inputs: 3,
      outputs: 2,
    });
    w.close();

    const r = TraceReader.open(file);
    expect(r.integrityCheck()).toBe('ok');
    const streams = r.streams(run);
    const got = [...streams.events()].map((e) => [
      e.seq,
      e.ts,
      e.cpu,
      e.tid,
      EVENT_KINDS.indexOf(e.kind),
      e.probeId,
      e.addr,
      e.args,
    ]);
    const norm = want.map((e) => {
      const c = [...e];
      if (c[6] !== null) c[6] = (c[6] as number) >>> 0;
      return c;
    });
    expect(got).toEqual(norm);
    expect([...streams.events({ fromSeq: 1000, toSeq: 1003 })].map((e) => e.seq)).toEqual([1000, 1001, 1002]);
    // The view agrees with the reader.
    const viaView = r.all<Record<string, unknown>>('SELECT * FROM events WHERE run_id = ? ORDER BY seq', run);
    expect(viaView.length).toBe(2777);
    expect(viaView[4]).toEqual({
      run_id: run,
      seq: 4,
      ts: 4 * 1_000_003 + 2 ** 33,
      cpu: 4,
      tid: 5,
      kind: EVENT_KINDS[4],
      probe_id: 4,
      addr: 0xffff_fff4,
      args: JSON.stringify({ i: 4, s: 'x"y\\z\u00e9' }),
      pid: null, // this synthetic run has no task row for tid 5
    });
    // Calls come back in recorded (return) order; per probe, as written.
    for (let p = 0; p < 3; p++) {
      const cs = [...streams.calls()].filter((c) => c.probeId === p);
      const exp = calls.filter((c) => c[0] === p);
      expect(
        cs.map((c) => [
          c.probeId,
          c.tid,
          c.ts,
          c.dur,
          c.entryCpu,
          c.returnCpu,
          c.depth,
          c.retval,
          c.args,
          c.entrySeq,
          c.returnSeq,
        ]),
      ).toEqual(exp);
    }
    expect(r.get('SELECT end_ts - ts - dur AS z FROM calls LIMIT 1')).toEqual({ z: 0 });
    // The misses are the 'missed' and 'reentry' events with a probe (format 7), whatever
    // missed() was handed: it stores no second copy.
    const ms = [...streams.missed()];
    const wantMissed = want
      .filter(
        ([, , , , kind, probeId]) =>
          (kind === EventKind.missed || kind === EventKind.reentry) && probeId !== null,
      )
      .map(([, ts, cpu, tid, kind, probeId]) => ({
        probeId,
        tid,
        cpu,
        ts,
        reason: kind === EventKind.missed ? 'no_instance' : 'reentry',
      }));
    expect(wantMissed.length).toBeGreaterThan(200);
    expect(ms).toEqual(wantMissed);
    const sc = [...streams.sched()];
    expect(sc.length).toBe(999);
    expect(sc[0]).toEqual({ ts: 0, cpu: 0, prevTid: null, nextTid: null, reason: 'tick' });
    expect(sc[8]).toEqual({ ts: 8, cpu: 0, prevTid: 8, nextTid: 9, reason: 'block' });
    const p1 = { pid: 1, ppid: 0, exe: 'demo' };
    expect(streams.tasks()).toEqual([
      { tid: 1, ...p1, parentTid: null, name: 'main', startTs: 0, endTs: null, exitCode: null },
      { tid: 2, ...p1, parentTid: 1, name: 'worker', startTs: 5, endTs: 50, exitCode: 3 },
      { tid: 3, ...p1, parentTid: 1, name: 'worker', startTs: 6, endTs: 60, exitCode: null },
      // never started: its own process, names unknown
      { tid: 9, pid: 9, ppid: 0, exe: '', parentTid: null, name: '', startTs: null, endTs: 70, exitCode: 0 },
    ]);
    const ins = [...streams.inputs()];
    expect(ins.map((x) => [x.seq, x.kind, x.key])).toEqual([
      [0, 'stdin', null],
      [1, 'file', '/etc/f1'],
      [2, 'file', '/etc/f2'],
    ]);
    ins.forEach((x, i) => expect(Buffer.compare(x.data, Buffer.from(blobs[i]!))).toBe(0));
    expect([...streams.outputs()].map((o) => [o.seq, o.fd, o.ts, [...o.data]])).toEqual([
      [0, 1, 10, [9, 9]],
      [1, 2, 20, [...new TextEncoder().encode('err\n')]],
    ]);
    expect(r.run(run)).toEqual({
      runId: run,
      workload: 'demo',
      binarySha256: createHash('sha256').update(BINARY).digest('hex'),
      argv: CONFIG.argv,
      cpus: 4,
      preempt: true,
      seed: 42,
      chaos: false,
      status: 'truncated',
      exitCode: null,
      signal: 9,
      instructions: 2 ** 40,
      cycles: 2 ** 41,
      replayOf: null,
      mhz: 1000,
      outputLimit: null,
      outputTruncated: false,
      legacyTasks: false,
    });
    expect(r.runConfig(run)).toEqual(CONFIG);
    expect([...r.runBinary(run)]).toEqual([...BINARY]);
    expect(r.probes(run)).toEqual([
      {
        runId: run,
        probeId: 0,
        event: 'probes/a',
        kind: 'kretprobe',
        spec: 'r:probes/a a',
        symbol: 'a',
        offset: 0,
        addr: 0x8048100,
        maxactive: 8,
        hits: 10,
        nmissed: 2,
        nmissedReentry: 1,
      },
    ]);
    expect(errorOf(() => r.run(99)).message).toBe(`${file} has no run 99`);
    r.close();
  });

  it('interns argument strings and scheduling reasons', () => {
    const file = tmp();
    const w = TraceWriter.create(file, { batchRows: 100 });
    newRun(w);
    for (let i = 0; i < 1000; i++) {
      w.event(R.ev(i, i, 0, 1, EventKind.kprobe, 0, 0, `{"k":${i % 3}}`));
      w.sched(R.sched(i, 0, 1, 2, i % 2 ? 'tick' : 'yield'));
    }
    w.close();
    const r = TraceReader.open(file);
    expect(r.get('SELECT count(*) AS n FROM strings')).toEqual({ n: 5 });
    expect(r.all('SELECT args, count(*) AS n FROM events GROUP BY args ORDER BY args')).toEqual([
      { args: '{"k":0}', n: 334 },
      { args: '{"k":1}', n: 333 },
      { args: '{"k":2}', n: 333 },
    ]);
    r.close();

    // A tiny intern cache only costs duplicates, never wrong text; a later writer continues ids.
    const w2 = TraceWriter.append(file, { internCacheSize: 2 });
    const run2 = newRun(w2);
    for (let i = 0; i < 30; i++) w2.event(R.ev(i, i, 0, 1, EventKind.return, 0, 0, `{"k":${i % 3}}`));
    w2.close();
    const r2 = TraceReader.open(file);
    expect([...r2.streams(run2).events()].map((e) => e.args)).toEqual(
      Array.from({ length: 30 }, (_, i) => `{"k":${i % 3}}`),
    );
    expect([...r2.streams(1).events()].length).toBe(1000);
    r2.close();
  });

  // design.md: a recording killed at any point leaves a file that opens, its run 'incomplete'; so
  // beginRun commits before returning, also when SQLite runs on the writer's worker thread (what
  // probe-record uses; the thread may still be starting when beginRun is called).
  it.each(['worker', 'inline'] as const)(
    'beginRun commits at once (%s thread): another reader sees an incomplete run before any flush',
    (thread) => {
      const file = tmp();
      const w = TraceWriter.create(file, { thread });
      const run = newRun(w);
      const run2 = newRun(w, { seed: 43 });
      w.event(R.ev(0, 0, 0, 1, EventKind.kprobe, null, null, null)); // buffered only, into run2
      const r = TraceReader.open(file);
      expect(r.runs().map((x) => [x.runId, x.status])).toEqual([
        [run, 'incomplete'],
        [run2, 'incomplete'],
      ]);
      expect(r.eventCount(run2)).toBe(0);
      expect(r.get('SELECT count(*) AS n FROM binaries')).toEqual({ n: 1 }); // deduplicated
      expect(r.runConfig(run2).seed).toBe(43);
      w.finishRun(run, { status: 'crashed', exitCode: null, signal: 11, instructions: 5, cycles: 5 });
      expect(r.run(run).status).toBe('crashed');
      expect(r.run(run2).status).toBe('incomplete');
      expect(r.eventCount(run2)).toBe(1);
      r.close();
      w.close();
    },
  );

  it('a failed flush breaks the writer loudly instead of dropping rows', () => {
    const file = tmp();
    const w = TraceWriter.create(file, { batchRows: 10 });
    const run = newRun(w);
    w.event(R.ev(0, 1.5, 0, 1, EventKind.kprobe, null, null, null)); // not an integer: STRICT refuses
    const e = errorOf(() => w.flush());
    expect(e.message).toMatch(new RegExp(`^writing ${file} failed: `));
    expect(() => w.event(R.ev(1, 2, 0, 1, EventKind.kprobe, null, null, null))).not.toThrow();
    expect(errorOf(() => w.flush())).toBe(e);
    expect(
      errorOf(() =>
        w.finishRun(run, { status: 'complete', exitCode: 0, signal: null, instructions: 0, cycles: 0 }),
      ),
    ).toBe(e);
    w.close();
    const r = TraceReader.open(file);
    expect(r.run(run).status).toBe('incomplete');
    expect(r.eventCount(run)).toBe(0);
    r.close();
  });

  it('refuses events whose cpu, tid or probe id do not fit raw_events.info, instead of corrupting it', () => {
    const w = TraceWriter.create(tmp());
    newRun(w);
    const ok = (cpu: number, tid: number, probe: number | null) =>
      w.event(R.ev(1, 1, cpu, tid, EventKind.kprobe, probe, null, null));
    expect(() => ok(127, 2 ** 22 - 1, 2 ** 20 - 2)).not.toThrow();
    for (const [cpu, tid, probe] of [
      [128, 1, 1],
      [0, 2 ** 22, 1],
      [0, -1, 1],
      [0, 1, 2 ** 20 - 1],
    ] as const)
      expect(errorOf(() => ok(cpu, tid, probe)).message).toMatch(/beyond what a trace stores/);
    w.close();
  });

  it('rejects counters for unknown probes and records when no run is being recorded', () => {
    const w = TraceWriter.create(tmp());
    expect(errorOf(() => w.output(R.output(1, 0, new Uint8Array(1)))).message).toBe(
      'no run is being recorded by this writer',
    );
    const run = newRun(w);
    expect(
      errorOf(() =>
        w.finishRun(run, {
          status: 'complete',
          exitCode: 0,
          signal: null,
          instructions: 0,
          cycles: 0,
          probeCounters: [{ probeId: 5, hits: 1, nmissed: 0, nmissedReentry: 0 }],
        }),
      ).message,
    ).toBe(`run ${run} has no probe 5`);
    w.close();
  });
});

describe('complete call sets', () => {
  it('are written through an explicit writable open, replaced per run, and read back exactly', () => {
    const file = smallTrace();
    const call = (entrySeq: number, over: Partial<CompleteCallRecord> = {}): CompleteCallRecord => ({
      probeId: 0,
      tid: 1,
      entryTs: 10 * entrySeq,
      returnTs: 10 * entrySeq + 7,
      entrySeq,
      returnSeq: entrySeq + 3,
      entryCpu: 1,
      returnCpu: 2,
      depth: 0,
      retval: 0xffffffff,
      args: '{"n":1}',
      hooked: true,
      ...over,
    });
    const set = [
      call(1),
      call(2, { hooked: false, args: null, retval: null }),
      call(5, { returnTs: Infinity, returnSeq: 9.5 }), // its task ended inside it, released after event 9
      call(6, { returnTs: Infinity, returnSeq: Infinity }), // never released
    ];
    const r0 = TraceReader.open(file);
    expect(r0.hasCompleteCalls(1)).toBe(false);
    // The run missed nothing: the view falls back to its recorded calls (none here).
    expect(r0.query('SELECT count(*) FROM complete_calls').rows).toEqual([[0]]);
    r0.close();
    const c = CompleteCallCache.open(file);
    c.put(1, [call(3)]);
    c.put(1, set);
    c.close();
    const r = TraceReader.open(file);
    expect(r.hasCompleteCalls(1)).toBe(true);
    expect([...r.streams(1).completeCalls()]).toEqual(set);
    expect(
      r.query('SELECT entry_seq, dur, end_ts, return_seq, hooked FROM complete_calls ORDER BY entry_seq')
        .rows,
    ).toEqual([
      [1, 7, 17, 4, 1],
      [2, 7, 27, 5, 0],
      [5, null, null, null, 1],
      [6, null, null, null, 1],
    ]);
    r.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });
});

describe('syscall counts', () => {
  it('are stored per run through the sink and read back in the syscalls view', () => {
    const file = tmp();
    const w = TraceWriter.create(file);
    const run = newRun(w);
    w.syscall({ tid: 0, nr: 999, name: null, calls: 3, errors: 3, enosys: 3 });
    w.syscall({ tid: 1, nr: 4, name: 'write', calls: 12, errors: 1, enosys: 0 });
    w.finishRun(run, { status: 'complete', exitCode: 0, signal: null, instructions: 1, cycles: 1 });
    w.close();
    const r = TraceReader.open(file);
    expect(r.query('SELECT * FROM syscalls ORDER BY nr DESC').rows).toEqual([
      [run, 0, 999, null, 3, 3, 3],
      [run, 1, 4, 'write', 12, 1, 0],
    ]);
    expect(r.streams(run).syscalls()).toEqual([
      { tid: 0, nr: 999, name: null, calls: 3, errors: 3, enosys: 3 },
      { tid: 1, nr: 4, name: 'write', calls: 12, errors: 1, enosys: 0 },
    ]);
    r.close();
  });
});

describe('crash safety', () => {
  it('a writer SIGKILLed mid-recording leaves an intact file with whole batches and an incomplete run', async () => {
    const BATCH = 5000;
    for (let attempt = 0; attempt < 3; attempt++) {
      const file = tmp('killed.db');
      const child = spawn(process.execPath, ['./test/fixtures/kill-writer.mjs', file, String(BATCH)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, sig) => resolve(sig)),
      );
      // Kill after a few flushes, at a point that varies with the attempt (mid-batch or mid-commit).
      const flushesBeforeKill = 3 + attempt;
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = [...out.matchAll(/flushed (\d+)/g)];
          if (m.length >= flushesBeforeKill) {
            setTimeout(() => child.kill('SIGKILL'), attempt * 7);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`child exited early: ${err}`)));
      });
      expect(await exited).toBe('SIGKILL');
      const reported = Math.max(...[...out.matchAll(/flushed (\d+)/g)].map((m) => Number(m[1])));
      expect(fs.existsSync(`${file}-wal`)).toBe(true); // the kill left the WAL to recover

      // Read-only first (the WAL is still there), then a writable open that recovers it.
      for (const mode of ['readonly', 'writable'] as const) {
        const r =
          mode === 'readonly'
            ? TraceReader.open(file)
            : new TraceReader(openTrace(file, { readonly: false }), file);
        expect(r.integrityCheck(), mode).toBe('ok');
        const runs = r.runs();
        expect(runs.map((x) => x.status)).toEqual(['incomplete']);
        const n = r.eventCount(1);
        expect(n % BATCH, `${n} events`).toBe(0);
        expect(n).toBeGreaterThanOrEqual(reported * BATCH);
        expect(n).toBeGreaterThan(0);
        // Every kept batch is whole and consistent across tables (same transaction).
        expect(r.get('SELECT min(seq) AS lo, max(seq) AS hi FROM raw_events')).toEqual({ lo: 0, hi: n - 1 });
        const st = r.streams(1);
        expect([...st.outputs()].length).toBe(n / BATCH);
        expect([...st.inputs()].length).toBe(n / BATCH);
        expect([...st.sched()].length).toBe(n / BATCH);
        expect(st.tasks()).toEqual([
          {
            tid: 1,
            pid: 1,
            ppid: 0,
            exe: 'demo',
            parentTid: null,
            name: 'main',
            startTs: 0,
            endTs: null,
            exitCode: null,
          },
        ]);
        expect(r.probes(1).map((p) => [p.event, p.hits])).toEqual([['probes/k', null]]);
        r.close();
      }
    }
  });
});
