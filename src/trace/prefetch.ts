// Read-ahead of a trace's big record streams on a worker thread (prefetch-worker.ts), for the
// reader's paged streams: SQLite steps through the rows on the second core and hands over packed
// pages, so the consuming thread (a verify, which emulates at the same time) only unpacks them.
// Guarantees: rows(...) yields exactly the values the same paged statement gives in this thread, in
// the same order; at most a few pages per open stream are in memory; a stream closed early (the
// consumer stopped) is dropped in the worker; a failure in the worker is a TraceError here. Only
// used compiled (dist/), where the worker script exists.

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
   * `text` lists the columns that hold text.
   */
  *rows(
    sql: string,
    runId: number,
    key: number,
    from: number,
    to: number,
    text: number[],
    pageRows: number,
  ): Generator<unknown[]> {
    const id = this.nextId++;
    this.queues.set(id, []);
    this.send({ op: 'open', id, sql, runId, key, from, to, text, pageRows });
    let ended = false;
    try {
      for (;;) {
        const p = this.take(id);
        if (p.error !== undefined) throw new TraceError(`reading ${this.path} failed: ${p.error}`);
        if (!p.last) this.send({ op: 'ack', id });
        const n = p.n;
        if (n > 0) {
          const nt = p.texts.length / n;
          const nn = p.nums.length / n;
          const width = nn + nt;
          const isText = new Array<boolean>(width).fill(false);
          for (const j of text) isText[j] = true;
          const nums = p.nums;
          const texts = p.texts;
          let a = 0;
          let b = 0;
          // One row array per page, overwritten row by row: the reader's streams copy what they
          // need out of a row before asking for the next.
          const r = new Array<unknown>(width);
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < width; j++) {
              if (isText[j]) r[j] = texts[b++];
              else {
                const v = nums[a++]!;
                r[j] = v !== v ? null : v;
              }
            }
            yield r;
          }
        }
        if (p.last) {
          ended = true;
          return;
        }
      }
    } finally {
      this.queues.delete(id);
      if (!ended) this.send({ op: 'close', id });
    }
  }

  private send(m: PrefetchRequest): void {
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
    this.port.close();
    void this.worker.terminate();
  }
}
