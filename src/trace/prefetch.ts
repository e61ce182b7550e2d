// Read-ahead of a trace's big record streams on a worker thread (prefetch-worker.ts), for the
// reader's paged streams: SQLite steps through the rows on the second core and hands over packed
// pages, so the consuming thread (a verify, which emulates at the same time) only unpacks them.
// Guarantees: rows(...) yields exactly the values the same paged statement gives in this thread, in
// the same order; at most a few pages per open stream are in memory; a stream closed early (the
// consumer stopped) is dropped in the worker. SQLite failing in the worker (a damaged page met
// mid-read) is thrown here as the SqliteError, same message and code, that the statement throws in
// this thread, so callers report a damaged file alike on both paths (cli/common.ts traceFailure);
// any other failure in the worker is a TraceError. Only used compiled (dist/), where the worker
// script exists.

import Database from 'better-sqlite3';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { TraceError } from './db.js';
import type { PrefetchPage, PrefetchRequest, PrefetchWorkerData } from './prefetch-worker.js';

const WORKER_URL = new URL('./prefetch-worker.js', import.meta.url);

/** True when this module runs compiled (dist/): the worker script exists only there. */
export const PREFETCH_AVAILABLE = import.meta.url.endsWith('.js');

export class Prefetcher {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly queues = new Map<number, PrefetchPage[]>();
  private open = true;

  constructor(readonly path: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: PrefetchWorkerData = { prefetch: true, ctl: this.ctl, port: port2, path };
    this.worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: [] });
    this.worker.unref();
    this.port.unref();
  }

  /**
   * The rows of `sql` (parameters run_id, from, to, limit; ordered by the integer column `key`),
   * each as an array of its column values (valid until the next row: the array is reused);
   * `text` lists the columns that hold text. An iterator without a generator's per-row cost (one
   * reused result object); return() drops the stream in the worker.
   */
  rows(
    sql: string,
    runId: number,
    key: number,
    from: number,
    to: number,
    text: number[],
    pageRows: number,
  ): IterableIterator<unknown[]> {
    const id = this.nextId++;
    this.queues.set(id, []);
    this.send({ op: 'open', id, sql, runId, key, from, to, text, pageRows });
    return new PageCursor(this, id, text);
  }

  /** The next page of stream `id`; acknowledges it (the worker may read one more ahead). */
  page(id: number): PrefetchPage {
    const p = this.take(id);
    if (p.error !== undefined) {
      this.queues.delete(id);
      if (p.code?.startsWith('SQLITE_')) throw new Database.SqliteError(p.error, p.code);
      throw new TraceError(`reading ${this.path} failed: ${p.error}`);
    }
    if (!p.last) this.send({ op: 'ack', id });
    else this.queues.delete(id);
    return p;
  }

  /** Stream `id` is not read any further. */
  drop(id: number): void {
    this.queues.delete(id);
    this.send({ op: 'close', id });
  }

  private send(m: PrefetchRequest): void {
    if (!this.open) return;
    this.port.postMessage(m);
  }

  /** The next page of stream `id`, waiting for the worker when none has arrived. */
  private take(id: number): PrefetchPage {
    const q = this.queues.get(id)!;
    for (;;) {
      const p = q.shift();
      if (p) return p;
      const seen = Atomics.load(this.ctl, 0);
      const m = receiveMessageOnPort(this.port);
      if (m) {
        const page = m.message as PrefetchPage;
        this.queues.get(page.id)?.push(page);
        continue;
      }
      if (Atomics.load(this.ctl, 1) === 1)
        throw new TraceError(`${this.path}: the trace reader thread stopped unexpectedly`);
      Atomics.wait(this.ctl, 0, seen, 1000);
    }
  }

  close(): void {
    this.open = false;
    this.port.close();
    void this.worker.terminate();
  }
}

/** Rows of one prefetched stream, unpacked page by page into one reused row array. */
class PageCursor implements IterableIterator<unknown[]> {
  private readonly result: IteratorResult<unknown[]> = { done: false, value: [] };
  private page: PrefetchPage | null = null;
  private i = 0;
  private a = 0;
  private b = 0;
  private width = 0;
  private isText: boolean[] = [];
  private row: unknown[] = [];
  private ended = false;

  constructor(
    private readonly pf: Prefetcher,
    private readonly id: number,
    private readonly text: number[],
  ) {}

  [Symbol.iterator](): IterableIterator<unknown[]> {
    return this;
  }

  next(): IteratorResult<unknown[]> {
    let p = this.page;
    while (p === null || this.i >= p.n) {
      if (this.ended || (p !== null && p.last)) return this.finish();
      p = this.load();
    }
    const nums = p.nums;
    const texts = p.texts;
    const r = this.row;
    const isText = this.isText;
    for (let j = 0; j < this.width; j++) {
      if (isText[j]) r[j] = texts[this.b++];
      else {
        const v = nums[this.a++]!;
        r[j] = v !== v ? null : v;
      }
    }
    this.i++;
    return this.result;
  }

  private load(): PrefetchPage {
    const p = this.pf.page(this.id);
    this.page = p;
    this.i = 0;
    this.a = 0;
    this.b = 0;
    if (p.n > 0) {
      const width = p.nums.length / p.n + p.texts.length / p.n;
      if (width !== this.width) {
        this.width = width;
        this.isText = new Array<boolean>(width).fill(false);
        for (const j of this.text) this.isText[j] = true;
        this.row = new Array<unknown>(width);
        this.result.value = this.row;
      }
    }
    if (p.last && p.n === 0) this.ended = true;
    return p;
  }

  private finish(): IteratorResult<unknown[]> {
    this.ended = true;
    return { done: true, value: undefined };
  }

  return(): IteratorResult<unknown[]> {
    if (!this.ended && !(this.page !== null && this.page.last)) this.pf.drop(this.id);
    this.ended = true;
    return { done: true, value: undefined };
  }
}
