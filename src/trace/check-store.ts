// The store a verify gives its TraceWriter: instead of inserting the batches the writer packs, it
// checks them against the recorded run's stored rows (row-check.ts). So a verify does on its own
// thread what a recording does (the session and the writer's packing) and the reading happens
// beside it: in a worker thread when compiled (check-worker.ts), as the recording's inserts do, or
// in this thread under the TypeScript sources (tests) or when asked.
// Guarantees:
// - write() throws RowMismatch (a TraceError) once a batch has been found to differ, or SQLite
//   failed to compare it (a damaged file: the record-by-record verify then says what it finds); in
//   a worker that is noticed at a later write() or at end(), which waits for every batch. end()
//   returns only when the run stores exactly the packed rows, and throws RowMismatch otherwise.
// - At most MAX_IN_FLIGHT batches wait for the worker (memory stays bounded); their column buffers
//   come back for the writer to reuse. Nothing is written anywhere. The worker (CheckWorker) is
//   the reader's, shared by its verifies one after another; TraceReader.close() ends it.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { transferables, type Batch } from './batch.js';
import type { CheckReply, CheckRequest, CheckWorkerData } from './check-worker.js';
import { type Db, TraceError } from './db.js';
import { RowChecker } from './row-check.js';
import type { BeginRunInfo, StoreOps } from './store.js';

const WORKER_URL = new URL('./check-worker.js', import.meta.url);

/** True when this module runs compiled (dist/): the worker script exists only there. */
export const CHECK_WORKER_AVAILABLE = import.meta.url.endsWith('.js');

const MAX_IN_FLIGHT = 4;

/**
 * The stored rows of the run are not the rows the replay packs, or could not be compared (the
 * caller replays record by record to name the divergence).
 */
export class RowMismatch extends TraceError {
  override name = 'RowMismatch';
}

/**
 * The worker thread that checks rows for one TraceReader, started at its first verify and kept for
 * the next ones (a trace of many short runs starts SQLite in it once). Every request gets one reply,
 * in order; a verify stopped early leaves replies behind, which the next one reads past.
 */
export class CheckWorker {
  private readonly worker: Worker;
  readonly port: MessagePort;
  /** [0]: replies posted; [1]: 1 once the worker has ended. */
  readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  sent = 0;
  read = 0;

  constructor(readonly path: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: CheckWorkerData = { role: 'trace-check', ctl: this.ctl, port: port2, path };
    // (no waiting for it to start: requests queue in the port meanwhile)
    this.worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: [] });
    this.worker.unref();
    this.port.unref();
  }

  post(m: CheckRequest, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(m, transfer);
    this.sent++;
  }

  /** Blocks until `n` replies exist; hands each reply read to `take`. */
  wait(n: number, take: (r: CheckReply) => void): void {
    const ctl = this.ctl;
    for (;;) {
      const done = Atomics.load(ctl, 0);
      if (done >= n) break;
      if (Atomics.load(ctl, 1) === 1 && Atomics.load(ctl, 0) < n)
        throw new RowMismatch(`${this.path}: the rows could not be compared: the worker thread stopped`);
      Atomics.wait(ctl, 0, done, 1000);
    }
    this.drain(n, take);
  }

  /** Reads the replies up to the n-th (all posted already). */
  drain(n: number, take: (r: CheckReply) => void): void {
    while (this.read < n) {
      const m = receiveMessageOnPort(this.port);
      if (m === undefined)
        throw new RowMismatch(`${this.path}: the rows could not be compared: a reply was lost`);
      this.read++;
      take(m.message as CheckReply);
    }
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

export class CheckStore implements StoreOps {
  private readonly local: RowChecker | null;
  private readonly remote: CheckWorker | null;
  private readonly spare: Float64Array[] = [];
  private mismatch: string | null = null;
  private error: string | null = null;
  private readonly take = (reply: CheckReply): void => {
    if (reply.buffers) for (const b of reply.buffers) this.spare.push(b);
    if (reply.error !== undefined) this.error ??= reply.error;
    else if (reply.mismatch !== null) this.mismatch ??= reply.mismatch;
  };

  /** Checks run `runId` of the trace at `path` with `by`: a CheckWorker, or a connection here. */
  constructor(
    private readonly path: string,
    private readonly runId: number,
    by: CheckWorker | Db,
  ) {
    if (!(by instanceof CheckWorker)) {
      this.local = this.guard(() => new RowChecker(by, runId));
      this.remote = null;
      return;
    }
    this.local = null;
    this.remote = by;
    // What an earlier verify stopped early left in flight (a few batches) is not this one's.
    by.wait(by.sent, () => {});
    by.post({ op: 'begin', runId });
  }

  beginRun(_info: BeginRunInfo): number {
    return this.runId;
  }

  addProbe(): void {}

  write(b: Batch): void {
    this.judge();
    const r = this.remote;
    if (!r) {
      const local = this.local;
      if (local) this.mismatch = this.guard(() => local.check(b));
      return this.judge();
    }
    r.post({ op: 'write', batch: b }, transferables(b));
    r.drain(Atomics.load(r.ctl, 0), this.take);
    if (r.sent - r.read > MAX_IN_FLIGHT) r.wait(r.sent - MAX_IN_FLIGHT, this.take);
    this.judge();
  }

  /** Waits for every batch handed over; throws RowMismatch if one differed. */
  sync(): void {
    if (this.remote) this.remote.wait(this.remote.sent, this.take);
    this.judge();
  }

  /** After the last batch: throws RowMismatch unless the run stores exactly the packed rows. */
  end(): void {
    this.sync();
    const r = this.remote;
    if (!r) {
      const local = this.local;
      if (local) this.mismatch = this.guard(() => local.end());
    } else {
      r.post({ op: 'end' });
      r.wait(r.sent, this.take);
    }
    this.judge();
  }

  finishRun(): void {
    throw new TraceError('a verify stores nothing');
  }

  appendTrace(): number[] {
    throw new TraceError('a verify stores nothing');
  }

  takeBuffer(length: number): Float64Array | undefined {
    const i = this.spare.findIndex((b) => b.length === length);
    return i < 0 ? undefined : this.spare.splice(i, 1)[0];
  }

  lastIds(): { string: number; task: number } {
    return { string: 0, task: 0 };
  }

  /** The worker is the reader's: it stays (an unfinished check's replies are read past later). */
  close(): void {}

  private judge(): void {
    if (this.error !== null)
      throw new RowMismatch(`${this.path}: the rows could not be compared: ${this.error}`);
    if (this.mismatch !== null) throw new RowMismatch(`run ${this.runId}: ${this.mismatch}`);
  }

  /** f(), or null with the error kept for judge() (SQLite failed on this thread). */
  private guard<T>(f: () => T): T | null {
    try {
      return f();
    } catch (err) {
      this.error ??= err instanceof Error ? err.message : String(err);
      return null;
    }
  }
}
