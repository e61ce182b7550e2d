// Verify by rows (#15, "verify no slower than recording": src/trace/row-check.ts, check-store.ts,
// the byRows path of src/replay). A verify packs the replay's records with a TraceWriter, as a
// recording does, and checks the batches against the stored rows instead of reading the rows back.
// The recording: percpu on 2 CPUs with preemption, a kretprobe with maxactive 1 (misses) and a
// kprobe with args on the same function, so every stored table has rows (events with args
// strings, calls, misses, context switches) and raw_events spans several batches.
// 1. The intact run verifies by rows on the worker thread (the compiled build, as probe-replay
//    runs it; test/replay.test.ts verifies every workload by rows the same way, since the tests
//    import dist/).
// 2. The premise, checked independently: a second recording of the same run packs batches that
//    the row checker finds identical to the stored rows; and one changed value in each stored table
//    (raw_events and its missed-call rows, raw_calls, raw_sched, strings), a stored row too many and one too
//    few, and two rows exchanging a value are each reported as a mismatch by the row checker on
//    those batches (it compares digests of key ranges, test/trace-digest.test.ts).
// 3. A difference found by rows is named exactly as the record-by-record verify (byRows: false,
//    which reads every stored row back and compares records) names it, also from the compiled
//    build; the next run verified by the same reader still verifies by rows, and a check abandoned
//    with batches in flight on the reader's worker thread leaves no reply for the next check.
// 4. A verify builds no throwaway session to check the recorded probes and binary first (a what-if
//    replay does, before it writes anything): its own session's errors say the same.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../src/recorder/record.js';
import { ReplayError, replayRun } from '../src/replay/replay.js';
import type * as ReplayModule from '../src/replay/replay.js';
import type * as ReaderModule from '../src/trace/reader.js';
import type * as CheckStoreModule from '../src/trace/check-store.js';
import { NUMERIC_TABLES, type Batch } from '../src/trace/batch.js';
import { TraceReader } from '../src/trace/reader.js';
import { RowChecker } from '../src/trace/row-check.js';
import type { BeginRunInfo, StoreOps } from '../src/trace/store.js';
import { TraceWriter } from '../src/trace/writer.js';
import { ensureBuilt } from './e2e/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PERCPU = new Uint8Array(fs.readFileSync(path.join(ROOT, 'workloads/bin/percpu')));
const HELLO = new Uint8Array(fs.readFileSync(path.join(ROOT, 'workloads/bin/hello')));
const SESSION = {
  argv: ['percpu', '3', '3000', '10', '1'],
  cpus: 2,
  seed: 1,
  probes: ['r1:crunch crunch x=$arg1 ret=$retval', 'p:crunchp crunch x=$arg1'],
  captureOutput: false,
};

let dir: string;
let db: string;
/** The batches a second recording of the run packs (copies: an inline writer reuses its buffers). */
const packed: Batch[] = [];

/** A store that keeps copies of the batches it is given and stores nothing. */
class Capture implements StoreOps {
  beginRun(_: BeginRunInfo): number {
    return 1;
  }
  addProbe(): void {}
  write(b: Batch): void {
    const numeric = { ...b.numeric };
    for (const t of Object.keys(numeric) as (keyof typeof NUMERIC_TABLES)[]) {
      const { data, n } = numeric[t];
      numeric[t] = { data: data.slice(0, n * NUMERIC_TABLES[t].length), n };
    }
    packed.push({ numeric, rows: { ...b.rows, strings: [...b.rows.strings] }, taskUpdates: [] });
  }
  finishRun(): void {}
  appendTrace(): number[] {
    return [];
  }
  sync(): void {}
  takeBuffer(): undefined {}
  lastIds(): { string: number; task: number } {
    return { string: 0, task: 0 };
  }
  close(): void {}
}

const record = (w: TraceWriter) => recordRun(w, { workload: 'percpu', binary: PERCPU, session: SESSION });

beforeAll(() => {
  ensureBuilt();
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-rows-')));
  db = path.join(dir, 'run.db');
  const w = TraceWriter.create(db);
  record(w);
  // Run 2: a short one, verified after run 1 by the same reader.
  recordRun(w, {
    workload: 'hello',
    binary: HELLO,
    session: { argv: ['hello'], probes: [], captureOutput: false },
  });
  w.close();
  record(TraceWriter.over(new Capture(), 'capture'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

let copies = 0;
/** A copy of the recording changed by `sql`, which changes `rows` rows (tests only). */
function tampered(sql: string, rows = 1): string {
  const file = path.join(dir, `t${++copies}.db`);
  fs.copyFileSync(db, file);
  const c = new Database(file);
  expect(c.prepare(sql).run().changes).toBe(rows);
  c.close();
  return file;
}

/** What the row checker says of the packed batches against `file`'s run 1. */
function checkRows(file: string): string | null {
  const c = new Database(file, { readonly: true });
  try {
    const k = new RowChecker(c, 1);
    for (const b of packed) {
      const m = k.check(b);
      if (m !== null) return m;
    }
    return k.end();
  } finally {
    c.close();
  }
}

async function compiled(): Promise<{ reader: typeof ReaderModule; replay: typeof ReplayModule }> {
  const at = (p: string) => pathToFileURL(path.join(ROOT, 'dist/src', p)).href;
  return {
    reader: (await import(at('trace/reader.js'))) as typeof ReaderModule,
    replay: (await import(at('replay/replay.js'))) as typeof ReplayModule,
  };
}

/** Row `offset` of the run's rows of `table` with `where`, in stored order: its rowid/key clause. */
const row = (table: string, key: string, where = '1') =>
  `${key} = (SELECT ${key} FROM ${table} WHERE run_id = 1 AND ${where} ORDER BY ${key} LIMIT 1 OFFSET`;

describe('verify by rows', () => {
  it('the intact run verifies by rows on the worker thread', async () => {
    const r = TraceReader.open(db);
    const counts = r.query(
      `SELECT (SELECT count(*) FROM raw_events WHERE args IS NOT NULL), (SELECT count(*) FROM raw_calls),
              (SELECT count(*) FROM missed), (SELECT count(*) FROM raw_sched)`,
    ).rows[0] as number[];
    // Every stored table has rows, and the events span several batches (16384 rows each).
    expect(Math.min(...counts)).toBeGreaterThan(100);
    expect(packed.filter((b) => b.numeric.raw_events.n > 0).length).toBeGreaterThan(1);
    const events = r.eventCount(1);
    r.close();
    // (test/replay.test.ts verifies every workload by rows too)
    const { reader, replay } = await compiled();
    const rc = reader.TraceReader.open(db);
    const o = replay.replayRun(rc, 1);
    expect(o.divergence).toBeNull();
    expect([o.matched, o.comparedBy, o.events]).toEqual([true, 'rows', events]);
    rc.close();
  });

  it('a second recording packs the stored rows; each kind of change to them is a mismatch', () => {
    expect(checkRows(db)).toBeNull();
    const changes: [string, string, number?][] = [
      [
        'raw_events',
        // (in the second batch: the first holds 16384 event rows)
        `UPDATE raw_events SET ts = ts + 1 WHERE ${row('raw_events', 'seq')} 20000)`,
      ],
      ['raw_calls', `UPDATE raw_calls SET retval = retval + 1 WHERE ${row('raw_calls', 'return_seq')} 100)`],
      // a missed call is its event's row (format 7)
      [
        'raw_events',
        `UPDATE raw_events SET info = info + 2048 WHERE ${row('raw_events', 'seq', 'info & 15 IN (5, 6)')} 100)`,
      ],
      ['raw_sched', `UPDATE raw_sched SET cpu = 1 - cpu WHERE ${row('raw_sched', 'rowid')} 100)`],
      [
        'strings',
        `UPDATE strings SET s = s || ' ' WHERE id = (SELECT args FROM raw_events WHERE run_id = 1 AND args IS NOT NULL ORDER BY seq LIMIT 1 OFFSET 8000)`,
      ],
      [
        'raw_sched',
        'INSERT INTO raw_sched SELECT * FROM raw_sched WHERE rowid = (SELECT max(rowid) FROM raw_sched WHERE run_id = 1)',
      ],
      ['raw_calls', `DELETE FROM raw_calls WHERE ${row('raw_calls', 'return_seq')} 100)`],
      // Two calls exchange their entry times (a digest that only summed the rows would miss it).
      [
        'raw_calls',
        `UPDATE raw_calls AS c SET ts = o.ts FROM
           (SELECT return_seq, ts FROM raw_calls WHERE run_id = 1 ORDER BY return_seq LIMIT 2 OFFSET 200) o
         WHERE c.run_id = 1 AND c.return_seq IN
           (SELECT return_seq FROM raw_calls WHERE run_id = 1 ORDER BY return_seq LIMIT 2 OFFSET 200)
           AND c.return_seq != o.return_seq AND c.ts != o.ts`,
        2,
      ],
    ];
    for (const [table, sql, rows] of changes) {
      const m = checkRows(tampered(sql, rows));
      expect(m, sql).not.toBeNull();
      if (table !== 'strings') expect(m).toMatch(new RegExp(`^${table}: `));
    }
  });

  it('a difference found by rows is named as the record-by-record verify names it', async () => {
    const file = tampered(
      `UPDATE raw_calls SET retval = retval + 1 WHERE ${row('raw_calls', 'return_seq')} 50)`,
    );
    const r = TraceReader.open(file);
    const byRecords = replayRun(r, 1, { byRows: false });
    expect(byRecords.divergence?.stream).toBe('call');
    r.close();
    // (the fall-back to record by record is exercised by test/replay.test.ts's tampering too)
    const { reader, replay } = await compiled();
    const rc = reader.TraceReader.open(file);
    const o = replay.replayRun(rc, 1);
    expect([o.matched, o.comparedBy]).toEqual([false, 'records']);
    expect(o.divergence).toEqual(byRecords.divergence);
    const next = replay.replayRun(rc, 2);
    expect([next.matched, next.comparedBy]).toEqual([true, 'rows']);
    rc.close();
  });

  it("a check abandoned with batches in flight leaves nothing for the worker's next check", async () => {
    const at = pathToFileURL(path.join(ROOT, 'dist/src/trace/check-store.js')).href;
    const { CheckStore, CheckWorker, RowMismatch } = (await import(at)) as typeof CheckStoreModule;
    // (each write hands its buffers over: every store gets its own copies)
    const copy = (b: Batch): Batch => ({
      ...b,
      numeric: Object.fromEntries(
        Object.entries(b.numeric).map(([t, { data, n }]) => [t, { data: data.slice(), n }]),
      ) as Batch['numeric'],
    });
    const worker = new CheckWorker(db);
    try {
      const i = packed.findIndex((b) => b.numeric.raw_events.n > 0);
      const bad = packed.map(copy);
      const e = bad[i]!.numeric.raw_events;
      e.data[2] = e.data[2]! + 1; // an event's ts
      expect(bad.length).toBeGreaterThan(i + 1);
      const first = new CheckStore(db, 1, worker);
      for (const b of bad.slice(0, i + 1)) first.write(b);
      // Once the worker has answered the changed batch, the next write says so, with that batch
      // still in flight: its reply is the one left behind.
      while (Atomics.load(worker.ctl, 0) < worker.sent)
        Atomics.wait(worker.ctl, 0, Atomics.load(worker.ctl, 0));
      expect(() => first.write(bad[i + 1]!)).toThrow(RowMismatch);
      expect(worker.sent).toBeGreaterThan(worker.read);
      const second = new CheckStore(db, 1, worker);
      for (const b of packed) second.write(copy(b));
      second.end();
    } finally {
      worker.close();
    }
  });

  it('a verify reports recorded probes or a binary it cannot load as one-line replay errors', () => {
    // (the recorded probe's symbol no longer resolves; the stored binary is no ELF)
    const probe = tampered(
      `UPDATE raw_runs SET config = json_set(config, '$.probes[0]', 'r1:crunch no_such_function') WHERE run_id = 1`,
    );
    const elf = tampered(
      `UPDATE binaries SET bytes = x'00010203' WHERE sha256 = (SELECT binary_sha256 FROM raw_runs WHERE run_id = 1)`,
    );
    for (const [file, why] of [
      [probe, /^cannot install the recorded probes of run 1: .*no_such_function/s],
      [elf, /^run 1: the stored binary cannot be loaded: /],
    ] as const) {
      const r = TraceReader.open(file);
      try {
        for (const byRows of [true, false]) {
          let err: unknown;
          try {
            replayRun(r, 1, { byRows });
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(ReplayError);
          expect((err as Error).message).toMatch(why);
        }
      } finally {
        r.close();
      }
    }
  });
});
