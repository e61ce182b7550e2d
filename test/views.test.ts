// #15 "store each fact once": the public views keep their columns and their exact contents.
// - A format-3, a format-4 and a format-6 trace recorded by the last build of each format
//   (test/fixtures/trace-format{3,4,6}.db, made by test/fixtures/make-trace-fixture.mjs) are
//   migrated; every public view, read by the file's own views before the migration, is compared row
//   for row with the migrated file's, and every migrated run replays identically (verify).
// - The same runs recorded twice by this build, once storing every event as a row (the layout of
//   formats 1-3) and once storing each fact once (events implied by calls and kprobe hits), give
//   the same rows in every public view; the second stores far fewer event rows, and its runs
//   verify (the reader's merged stream is what verify compares).
// - Format 7 stores each missed call once (its event's row; format 6 also kept a raw_missed copy):
//   the format-6 fixture's runs recorded again by this build (the server demo and fib with r4:fib
//   among them, both missing calls) give the same rows in every view as the format-6 file read by
//   its own views, and the reader's missed stream is the missed view.
// #16 inputs logged once: a content logged many times is stored once; the output limit.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../src/recorder/record.js';
import type { SessionOptions } from '../src/recorder/session.js';
import { replayRun } from '../src/replay/replay.js';
import { makeRunConfig } from '../src/trace/config.js';
import { migrateTrace } from '../src/trace/migrate.js';
import { TraceReader } from '../src/trace/reader.js';
import type * as ReaderModule from '../src/trace/reader.js';
import { TraceWriter } from '../src/trace/writer.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-views-'));
let n = 0;
const tmp = () => path.join(dir, `${++n}.db`);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every public view with a total order (its key columns, then every column). */
const VIEWS: Record<string, string> = {
  runs: 'run_id',
  probes: 'run_id, probe_id',
  events: 'run_id, seq',
  calls: 'run_id, return_seq',
  missed: 'run_id, ts, probe_id, tid, cpu, reason',
  tasks: 'run_id, tid',
  sched: 'run_id, ts, cpu, prev_tid, next_tid',
  syscalls: 'run_id, tid, nr',
  inputs: 'run_id, seq',
  complete_calls: 'run_id, entry_seq',
};

type Dump = Record<string, unknown[][]>;

/** The rows of every public view (columns given, or all), in a total order. */
function dump(db: Database.Database, columns?: Record<string, string[]>): Dump {
  const out: Dump = {};
  for (const [v, order] of Object.entries(VIEWS)) {
    const cols = columns?.[v] ?? ['*'];
    out[v] = db
      .prepare(`SELECT ${cols.join(', ')} FROM ${v} ORDER BY ${order}`)
      .raw(true)
      .all() as unknown[][];
  }
  return out;
}

function columnsOf(db: Database.Database): Record<string, string[]> {
  return Object.fromEntries(
    Object.keys(VIEWS).map((v) => [
      v,
      (db.prepare(`PRAGMA table_info(${v})`).all() as { name: string }[]).map((c) => c.name),
    ]),
  );
}

describe('#15 the public views keep their exact contents', () => {
  // Format 3 (every event a row) and format 4 (trampoline hits, returns and steps after hits
  // implied), recorded by their own builds; migration to format 5 keeps every view row.
  it.each([3, 4, 6])('a format-%i trace migrates with every view row unchanged, and its runs verify', (v) => {
    const file = tmp();
    fs.copyFileSync(path.join(ROOT, `test/fixtures/trace-format${v}.db`), file);
    const old = new Database(file, { readonly: true });
    const cols = columnsOf(old);
    const before = dump(old, cols);
    old.close();
    expect(before.events!.length).toBeGreaterThan(1500);
    expect(before.missed!.length).toBeGreaterThan(0);
    expect(before.inputs!.length).toBeGreaterThan(0);
    migrateTrace(file);
    const db = new Database(file, { readonly: true });
    expect(dump(db, cols)).toEqual(before);
    // (format 6's fib run with r4:fib misses most of its calls)
    if (v === 6) expect(before.missed!.filter((m) => m[0] === 6).length).toBeGreaterThan(100);
    db.close();
    const r = TraceReader.open(file);
    for (const run of r.runs()) {
      const o = replayRun(r, run.runId);
      expect(o.divergence?.message ?? null, `run ${run.runId}`).toBeNull();
      expect(o.matched).toBe(true);
    }
    r.close();
  });

  const wl = (name: string) => new Uint8Array(fs.readFileSync(path.join(ROOT, 'workloads/bin', name)));
  const RUNS: { workload: string; session: SessionOptions }[] = [
    {
      // kretprobe and kprobe on one function: an aggregate (two hits, one single step)
      workload: 'recursive',
      session: {
        argv: ['recursive', '4', '1', '3', '1'],
        cpus: 2,
        probes: ['r:walk walk depth=$arg2:s32 ret=$retval', 'p:walkp walk d=$arg2:s32'],
      },
    },
    {
      // a small pool on 4 CPUs with chaos: missed calls between hits
      workload: 'server',
      session: {
        argv: ['server', '4', '6', '3', '100'],
        cpus: 4,
        seed: 3,
        chaos: true,
        probes: [
          'r2:handle_request handle_request id=+0($arg1):u32 ret=$retval',
          'r:lookup lookup key=$arg1:u32',
        ],
      },
    },
    {
      workload: 'jprobe',
      session: {
        argv: ['jprobe', '2', '1'],
        cpus: 1,
        probes: [
          'p:jp_target jp_target a=$arg1:s32 b=$arg2:s32 s=+0($arg3):string',
          'r:whoami whoami ret=$retval',
        ],
      },
    },
    {
      // deeper nesting with the pair: batches end while entry hits are held back for their calls
      workload: 'recursive',
      session: {
        argv: ['recursive', '6', '1', '20', '1'],
        cpus: 1,
        maxInstructions: 60000,
        probes: ['r:walk walk', 'p:walkp walk'],
      },
    },
    {
      // stopped with calls in flight: their entries have no call row
      workload: 'recursive',
      session: {
        argv: ['recursive', '6', '1', '20', '1'],
        cpus: 2,
        maxInstructions: 20000,
        probes: ['r:walk walk ret=$retval'],
      },
    },
  ];
  // The last run of the format-6 fixture: fib(12) with a pool of 4 on 1 CPU (misses).
  const fibRun = (binary: Uint8Array) => ({
    workload: 'fib',
    binary,
    session: { argv: ['fib'], cpus: 1, probes: ['r4:fib fib ret=$retval'] },
  });
  const record = (storeEveryEvent: boolean, fib: Uint8Array): string => {
    const file = tmp();
    const w = TraceWriter.create(file, { storeEveryEvent, thread: 'inline', batchRows: 97 });
    for (const r of [...RUNS.map((x) => ({ ...x, binary: wl(x.workload) })), fibRun(fib)])
      recordRun(w, {
        workload: r.workload,
        binary: r.binary,
        session: { captureOutput: false, cwd: ROOT, ...r.session },
      });
    w.close();
    return file;
  };
  let every = '';
  let once = '';
  beforeAll(() => {
    // bench/guests/calls.c as make-trace-fixture.mjs builds it for the format-6 fixture
    const fib = path.join(dir, 'fib');
    execFileSync('gcc', [
      ...['-m32', '-static', '-nostdlib', '-ffreestanding', '-O2', '-fno-pic', '-fno-stack-protector'],
      ...['-fno-builtin', '-fcf-protection=none', '-fno-asynchronous-unwind-tables', '-DN=12'],
      ...['-o', fib, path.join(ROOT, 'bench/guests/calls.c')],
    ]);
    const bin = new Uint8Array(fs.readFileSync(fib));
    every = record(true, bin);
    once = record(false, bin);
  });

  it('format 6 (misses stored twice) vs format 7 (once), the same runs: the same rows in every view', () => {
    // Runs 1-3, 5 and 6 of the fixture are runs 1-3, 5 and 6 here (4 differs: the fixture's reads a file).
    const same = new Set([1, 2, 3, 5, 6]);
    const pick = (d: Dump): Dump =>
      Object.fromEntries(
        Object.entries(d).map(([v, rows]) => [v, rows.filter((r) => same.has(r[0] as number))]),
      );
    const old = new Database(path.join(ROOT, 'test/fixtures/trace-format6.db'), { readonly: true });
    const cols = columnsOf(old);
    const before = pick(dump(old, cols));
    old.close();
    const db = new Database(once, { readonly: true });
    const after = pick(dump(db, cols));
    expect(after).toEqual(before);
    // the server demo and fib miss calls; each miss is one row now, its event's
    const perRun = (rows: unknown[][], run: number) => rows.filter((r) => r[0] === run).length;
    expect(perRun(after.missed!, 2)).toBeGreaterThan(0);
    expect(perRun(after.missed!, 6)).toBeGreaterThan(100);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'raw_missed'").pluck().get()).toBe(0);
    db.close();
  });

  it('every event stored vs each fact once: the same rows in every view', () => {
    const a = new Database(every, { readonly: true });
    const b = new Database(once, { readonly: true });
    const da = dump(a);
    expect(dump(b)).toEqual(da);
    expect(da.events!.length).toBeGreaterThan(1500);
    const one = (db: Database.Database, sql: string) => db.prepare(sql).pluck().get() as number;
    const rows = (db: Database.Database) => one(db, 'SELECT count(*) FROM raw_events');
    expect(rows(a)).toBe(da.events!.length);
    // Each fact once: every event is a row or implied by exactly one row, never both.
    const implied =
      one(b, 'SELECT count(*) FROM raw_events WHERE step IS NOT NULL') +
      one(b, 'SELECT count(*) FROM raw_calls WHERE step IS NOT NULL') +
      one(b, 'SELECT count(*) FROM raw_calls WHERE step >= 0') +
      one(b, 'SELECT count(*) FROM raw_calls WHERE info & 16384') +
      one(b, 'SELECT count(*) FROM raw_calls WHERE info & 32768');
    expect(rows(b) + implied).toBe(da.events!.length);
    // A kretprobed call is one row: its entry hit and single step (format 5), trampoline hit and
    // return are implied by the call row, except for entries stored at a batch's end (97 rows
    // here) and calls that missed.
    const calls = da.calls!.length;
    const entries = one(b, 'SELECT count(*) FROM raw_calls WHERE step IS NOT NULL');
    expect(entries).toBeGreaterThan(0.8 * calls);
    // A kprobe and a kretprobe on one function: the aggregate's second hit comes between the
    // first hit and the single step, which is implied two events after its hit (step & 1), and
    // the run stores no single step at all.
    expect(one(b, 'SELECT count(*) FROM raw_events WHERE run_id = 1 AND step & 1')).toBeGreaterThan(0);
    expect(one(b, 'SELECT count(*) FROM raw_events WHERE run_id = 1 AND info & 15 = 1')).toBe(0);
    a.close();
    b.close();
  });

  it('the reader streams the implied events in order (ranges too) and the runs verify', () => {
    const r = TraceReader.open(once, { pageRows: 3 });
    const db = new Database(once, { readonly: true });
    for (const run of r.runs()) {
      const view = db
        .prepare(
          'SELECT seq, ts, cpu, tid, kind, probe_id, addr, args FROM events WHERE run_id = ? ORDER BY seq',
        )
        .raw(true)
        .all(run.runId) as unknown[][];
      const streamed = [...r.streams(run.runId).events()].map((e) => [
        e.seq,
        e.ts,
        e.cpu,
        e.tid,
        e.kind,
        e.probeId,
        e.addr,
        e.args,
      ]);
      expect(streamed).toEqual(view);
      expect(r.eventCount(run.runId)).toBe(view.length);
      const mid = Math.floor(view.length / 2);
      const part = [...r.streams(run.runId).events({ fromSeq: mid, toSeq: mid + 7 })].map((e) => e.seq);
      expect(part).toEqual(
        view.filter((v) => (v[0] as number) >= mid && (v[0] as number) < mid + 7).map((v) => v[0]),
      );
      // The missed stream (read through raw_events_missed) is the missed view, in event order.
      const missed = db
        .prepare('SELECT probe_id, tid, cpu, ts, reason FROM missed WHERE run_id = ?')
        .raw(true)
        .all(run.runId) as unknown[][];
      expect(
        [...r.streams(run.runId).missed()].map((m) => [m.probeId, m.tid, m.cpu, m.ts, m.reason]),
      ).toEqual(missed);
      const o = replayRun(r, run.runId);
      expect(o.divergence?.message ?? null, `run ${run.runId}`).toBeNull();
    }
    db.close();
    r.close();
  });

  it('read ahead on a worker thread (compiled reader) gives the same streams as reading inline', async () => {
    // The worker script exists only in dist/ (npm test builds it before the tests run).
    const dist = path.join(ROOT, 'dist/src/trace/reader.js');
    const { TraceReader: Compiled } = (await import(pathToFileURL(dist).href)) as typeof ReaderModule;
    // Small pages, so every stream crosses many page boundaries.
    const ahead = Compiled.open(once, { pageRows: 7 });
    // (readAhead: false: the tests import dist/ too, where reading ahead is the default)
    const inline = TraceReader.open(once, { pageRows: 5, readAhead: false });
    for (const run of inline.runs()) {
      const a = ahead.streams(run.runId);
      const b = inline.streams(run.runId);
      // eventsAndCalls reuses its records: copy each as it comes.
      const copies = (g: Iterable<object>) => Array.from(g, (x) => ({ ...x }));
      const both = copies(b.eventsAndCalls());
      expect(copies(a.eventsAndCalls())).toEqual(both);
      expect(both.filter((x) => 'returnSeq' in x)).toEqual([...b.calls()]);
      expect(both.filter((x) => !('returnSeq' in x))).toEqual([...b.events()]);
      expect([...a.events()]).toEqual([...b.events()]);
      expect([...a.calls()]).toEqual([...b.calls()]);
      expect([...a.sched()]).toEqual([...b.sched()]);
      expect([...a.missed()]).toEqual([...b.missed()]);
      // A stream left early is dropped in the worker; the next one still reads.
      const it = a.events();
      it.next();
      it.return();
      expect([...a.events({ fromSeq: 3, toSeq: 9 })]).toEqual([...b.events({ fromSeq: 3, toSeq: 9 })]);
    }
    expect([...inline.streams(2).missed()].length).toBeGreaterThan(0);
    ahead.close();
    inline.close();
  });
});

describe('#16 inputs logged once, output limit', () => {
  const config = makeRunConfig({ argv: ['demo'], cwd: '/' });
  it('a content logged many times (and by two runs) is stored once; the inputs view shows every row', () => {
    const file = tmp();
    const w = TraceWriter.create(file, { thread: 'inline' });
    const big = new Uint8Array(1 << 16).map((_, i) => (i * 7) & 255);
    for (let run = 0; run < 2; run++) {
      w.beginRun({ workload: 'demo', binary: new Uint8Array(8), config });
      for (let i = 0; i < 40; i++)
        w.input({ kind: 'file', key: `{"n":${i}}`, data: i % 2 ? big : big.slice() });
      w.input({ kind: 'stdin', key: null, data: new Uint8Array([1, 2, 3]) });
    }
    w.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*), sum(size) FROM input_data').raw(true).get()).toEqual([
      2,
      (1 << 16) + 3,
    ]);
    const rows = db.prepare('SELECT run_id, seq, kind, key, data FROM inputs ORDER BY run_id, seq').all() as {
      data: Buffer;
    }[];
    expect(rows.length).toBe(82);
    expect(
      rows.every(
        (x, i) => Buffer.compare(x.data, i % 41 === 40 ? Buffer.from([1, 2, 3]) : Buffer.from(big)) === 0,
      ),
    ).toBe(true);
    db.close();
    // The reader hands out one buffer per content.
    const r = TraceReader.open(file);
    const ins = [...r.streams(1).inputs()];
    expect(new Set(ins.map((i) => i.data)).size).toBe(2);
    r.close();
  });

  it('output beyond the limit is not stored, the run is marked, and it still verifies', () => {
    const file = tmp();
    const w = TraceWriter.create(file, { thread: 'inline' });
    const o = recordRun(w, {
      workload: 'hello',
      binary: wl0('hello'),
      session: { argv: ['hello'], cpus: 1, probes: [], captureOutput: false, cwd: ROOT },
      outputLimit: 5,
    });
    w.close();
    expect(o.status).toBe('complete');
    const r = TraceReader.open(file);
    const out = Buffer.concat(r.outputs(1).map((x) => x.data)).toString();
    expect(out).toBe('hello');
    expect(r.run(1).outputTruncated).toBe(true);
    expect(r.query('SELECT output_truncated FROM runs').rows).toEqual([[1]]);
    expect(replayRun(r, 1).matched).toBe(true);
    r.close();
  });
});

function wl0(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(ROOT, 'workloads/bin', name)));
}
