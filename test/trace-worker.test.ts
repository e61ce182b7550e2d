// The trace writer with SQLite on a worker thread (what the compiled commands use) against the same
// writer with SQLite in the calling thread: the same appends must give the same file contents,
// view by view. Also: a failed batch breaks the writer loudly, backpressure bounds the queue, and
// a writer that is never closed does not keep the process alive.
//
// The worker script exists only in the compiled tree, so this file drives dist/ (npm test builds it
// before vitest runs).

import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EventKind, MissReason, type EventKindCode } from '../src/trace/codes.js';
import type * as WriterModule from '../src/trace/writer.js';
import * as R from './helpers/records.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist/src/trace/writer.js');
if (!fs.existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` first');
const { TraceWriter } = (await import(pathToFileURL(DIST).href)) as typeof WriterModule;
type Writer = WriterModule.TraceWriter;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-worker-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => path.join(dir, `t${n++}.db`);

const BINARY = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
const CONFIG = R.config({ argv: ['demo'], cpus: 4, preempt: true, seed: 7, chaos: false });

/** A deterministic stream of every kind of append, in several batches and two runs. */
function fill(w: Writer): void {
  for (const seed of [1, 2]) {
    const run = w.beginRun({ workload: 'demo', binary: BINARY, config: { ...CONFIG, seed } });
    w.addProbe(run, {
      probeId: 1,
      event: 'probes/f',
      kind: 'kretprobe',
      spec: 'r:probes/f f',
      symbol: 'f',
      offset: 0,
      addr: 0x8048000,
      maxactive: 4,
    });
    w.taskStart(R.task(100, null, 'main', 0));
    for (let i = 1; i <= 20_000; i++) {
      w.event(
        R.ev(
          i,
          i * 13 + seed,
          i % 4,
          100 + (i % 3),
          (i % 10) as EventKindCode,
          i % 5 === 0 ? null : i % 7,
          i % 11 === 0 ? null : 0x8048000 + i,
          i % 3 === 0 ? `{"n":${i % 17},"s":"a\\"b"}` : null,
        ),
      );
      if (i % 4 === 0)
        w.call(
          R.call(1, 100, i * 13, 40 + (i % 9), i % 4, (i + 1) % 4, i % 6, i % 8 ? i : null, null, i - 3, i),
        );
      if (i % 97 === 0)
        w.missed(R.miss(1, 100, i % 4, i * 13, i % 2 ? MissReason.reentry : MissReason.no_instance));
      if (i % 50 === 0) w.sched(R.sched(i * 13, i % 4, i % 3 ? 100 : null, 101, i % 2 ? 'tick' : 'yield'));
      if (i === 5000) w.taskStart(R.task(101, 100, 'worker', i));
      if (i === 15000) w.taskEnd(R.taskEnd(101, i * 13, 0));
      if (i % 4000 === 0) w.output(R.output(1, i, new TextEncoder().encode(`line ${i}\n`)));
      if (i % 9000 === 0) w.input(R.input('file', `/etc/f${i}`, new Uint8Array([i & 255, 0, 1])));
    }
    w.finishRun(run, {
      status: 'complete',
      exitCode: 0,
      signal: null,
      instructions: 123456,
      cycles: 654321,
      probeCounters: [{ probeId: 1, hits: 5000, nmissed: 3, nmissedReentry: 1 }],
    });
  }
}

function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  const out: Record<string, unknown[]> = {};
  for (const v of ['runs', 'probes', 'events', 'calls', 'missed', 'tasks', 'sched', 'inputs', 'output'])
    out[v] = db.prepare(`SELECT * FROM ${v}`).all();
  db.close();
  return out;
}

describe('trace writer on a worker thread', () => {
  it('writes exactly what the in-thread writer writes (all views, two runs, many batches)', () => {
    const a = tmp();
    const b = tmp();
    const inline = TraceWriter.create(a, { thread: 'inline', batchRows: 3000 });
    fill(inline);
    inline.close();
    const worker = TraceWriter.create(b, { thread: 'worker', batchRows: 3000, maxBatchesInFlight: 2 });
    fill(worker);
    expect(worker.counts().flushes).toBeGreaterThan(10);
    worker.close();
    const da = dump(a);
    expect(da.events!.length).toBe(40_000);
    expect(da.calls!.length).toBe(10_000);
    expect(dump(b)).toEqual(da);
    // close() leaves one self-contained file
    expect(fs.existsSync(b + '-wal')).toBe(false);
  });

  it('a failed batch breaks the writer: the next operation throws it, nothing later lands', () => {
    const file = tmp();
    const w = TraceWriter.create(file, { thread: 'worker', batchRows: 10 });
    const run = w.beginRun({ workload: 'demo', binary: BINARY, config: CONFIG });
    for (let i = 0; i < 10; i++) w.event(R.ev(i, i, 0, 1, EventKind.kprobe, null, null, null));
    // not an integer: the STRICT table refuses the second batch
    w.event(R.ev(10, 1.5, 0, 1, EventKind.kprobe, null, null, null));
    let msg = '';
    try {
      w.flush();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(new RegExp(`^writing ${file} failed: `));
    expect(() =>
      w.finishRun(run, { status: 'complete', exitCode: 0, signal: null, instructions: 0, cycles: 0 }),
    ).toThrow(msg);
    w.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 10 });
    expect(db.prepare('SELECT status FROM runs').get()).toEqual({ status: 'incomplete' });
    db.close();
  });

  it('#15: addProbe does not wait for the worker; a failure there is reported by the next waiting operation, nothing later lands', () => {
    const file = tmp();
    const w = TraceWriter.create(file, { thread: 'worker', batchRows: 10 });
    // the file exists as soon as create() returns (made in this thread)
    expect(fs.statSync(file).isFile()).toBe(true);
    const run = w.beginRun({ workload: 'demo', binary: BINARY, config: CONFIG });
    expect(run).toBe(1);
    const probe = {
      probeId: 1,
      event: 'probes/f',
      kind: 'kretprobe' as const,
      spec: 'r:probes/f f',
      symbol: 'f',
      offset: 0,
      addr: 0x8048000,
      maxactive: 4,
    };
    w.addProbe(run, probe);
    // the same probe id again: raw_probes' primary key refuses it inside the worker
    w.addProbe(run, { ...probe, event: 'probes/g' });
    for (let i = 1; i <= 10; i++) w.event(R.ev(i, i, 0, 1, EventKind.kprobe, null, null, null));
    let msg = '';
    try {
      w.flush();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^adding probe probes\/g .* failed: .*UNIQUE/);
    w.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM probes').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 });
    db.close();
  });

  it("#15: run ids of runs appended to an existing file equal the in-thread writer's (the first is asked for)", () => {
    const ids: number[][] = [];
    for (const thread of ['inline', 'worker'] as const) {
      const file = tmp();
      const first = TraceWriter.create(file, { thread: 'inline' });
      first.beginRun({ workload: 'demo', binary: BINARY, config: CONFIG });
      first.close();
      const w = TraceWriter.append(file, { thread });
      ids.push(
        [1, 2, 3].map((seed) =>
          w.beginRun({ workload: 'demo', binary: BINARY, config: { ...CONFIG, seed } }),
        ),
      );
      w.close();
      const db = new Database(file, { readonly: true });
      const stored = db
        .prepare("SELECT run_id, json_extract(config, '$.seed') AS seed FROM raw_runs ORDER BY run_id")
        .all();
      db.close();
      expect(stored).toEqual([
        { run_id: 1, seed: 7 },
        ...ids.at(-1)!.map((run_id, i) => ({ run_id, seed: i + 1 })),
      ]);
    }
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[0]).toEqual([2, 3, 4]);
  });

  it('#15: at most maxBatchesInFlight batches wait for the worker (4 times as many before it has opened the file)', async () => {
    const { WorkerStore } = (await import(
      pathToFileURL(DIST.replace(/writer\.js$/, 'worker-store.js')).href
    )) as typeof import('../src/trace/worker-store.js');
    const { NO_ROWS } = (await import(
      pathToFileURL(DIST.replace(/writer\.js$/, 'batch.js')).href
    )) as typeof import('../src/trace/batch.js');
    const store = new WorkerStore('create', tmp(), {}, 128, 2);
    const run = store.beginRun({ workload: 'demo', binary: BINARY, config: CONFIG });
    const rows = { strings: [], raw_tasks: [], input_data: [], raw_inputs: [], output: [], raw_syscalls: [] };
    let most = 0;
    let opened = false;
    for (let b = 0; b < 40; b++) {
      const n = 2000;
      const data = new Float64Array(n * 11);
      for (let i = 0; i < n; i++) {
        const seq = b * n + i + 1;
        data.set([run, 1, 100, seq, 1, 0, NaN, NaN, NaN, seq, NaN], i * 11);
      }
      store.write({
        numeric: {
          raw_events: { data: NO_ROWS, n: 0 },
          raw_calls: { data, n },
          raw_sched: { data: NO_ROWS, n: 0 },
        },
        rows: { ...rows },
        taskUpdates: [],
      });
      const waiting = store.batchesInFlight();
      most = Math.max(most, waiting);
      expect(waiting).toBeLessThanOrEqual(8);
      if (opened) expect(waiting).toBeLessThanOrEqual(2);
      opened ||= store.batchesInFlight() < b + 1;
    }
    store.sync();
    expect(store.batchesInFlight()).toBe(0);
    store.close();
    expect(most).toBeGreaterThan(0);
  });

  it('open errors surface synchronously as one line', () => {
    const file = tmp();
    fs.writeFileSync(file, 'x');
    expect(() => TraceWriter.create(file, { thread: 'worker' })).toThrow(
      `${file} exists; use --force to overwrite`,
    );
    expect(() => TraceWriter.append(file, { thread: 'worker' })).toThrow(
      `${file} is not a probelab trace file`,
    );
  });

  it('a writer that is never closed does not keep the process alive', () => {
    const file = tmp();
    const script = `
      const { TraceWriter } = await import(${JSON.stringify(pathToFileURL(DIST).href)});
      const { makeRunConfig } = await import(${JSON.stringify(pathToFileURL(DIST.replace(/writer\.js$/, 'config.js')).href)});
      const w = TraceWriter.create(${JSON.stringify(file)}, { thread: 'worker' });
      const run = w.beginRun({ workload: 'demo', binary: new Uint8Array([1]), config: makeRunConfig({ argv: ['x'], cwd: '/', cpus: 1, preempt: false, seed: 1, chaos: false }) });
      w.event({ seq: 1, ts: 1, cpu: 0, tid: 1, kind: 'kprobe', probeId: null, addr: null, args: null });
      w.flush();
      console.log('flushed');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('flushed');
    expect(r.status).toBe(0);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 });
    db.close();
  });
});

describe('a worker of another module that imports the trace layer', () => {
  it('is not taken for the trace store worker (its own workerData is left alone)', async () => {
    const { Worker } = await import('node:worker_threads');
    const storeWorker = pathToFileURL(path.join(ROOT, 'dist/src/trace/store-worker.js')).href;
    const src =
      `import { parentPort, workerData } from 'node:worker_threads';\n` +
      `await import(${JSON.stringify(storeWorker)});\n` +
      `parentPort.postMessage({ echoed: workerData.job });\n`;
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), {
      workerData: { job: 'fuzz case 7' },
    });
    const got = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(got).toEqual({ echoed: 'fuzz case 7' });
  });
});
