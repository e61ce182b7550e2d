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
//   come back for the writer to reuse. Nothing is written anywhere; close() ends the worker.

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

interface Remote {
  worker: Worker;
  port: MessagePort;
  /** [0]: replies posted; [1]: 1 once the worker has ended. */
  ctl: Int32Array;
  sent: number;
  read: number;
}

export class CheckStore implements StoreOps {
  private readonly local: RowChecker | null;
  private readonly remote: Remote | null;
  private readonly spare: Float64Array[] = [];
  private mismatch: string | null = null;
  private error: string | null = null;

  /** Checks run `runId` of the trace at `path` (a worker reads it) or, given `db`, in this thread. */
  constructor(
    private readonly path: string,
    private readonly runId: number,
    db?: Db,
  ) {
    if (db) {
      this.local = this.guard(() => new RowChecker(db, runId));
      this.remote = null;
      return;
    }
    this.local = null;
    const { port1, port2 } = new MessageChannel();
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const data: CheckWorkerData = { role: 'trace-check', ctl, port: port2, path, runId };
    // (no waiting for it to start: requests queue in the port meanwhile)
    const worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: [] });
    worker.unref();
    port1.unref();
    this.remote = { worker, port: port1, ctl, sent: 0, read: 0 };
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
    this.post({ op: 'write', batch: b }, transferables(b));
    this.drain(Atomics.load(r.ctl, 0));
    if (r.sent - r.read > MAX_IN_FLIGHT) this.wait(r.sent - MAX_IN_FLIGHT);
    this.judge();
  }

  /** Waits for every batch handed over; throws RowMismatch if one differed. */
  sync(): void {
    if (this.remote) this.wait(this.remote.sent);
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
      this.post({ op: 'end' });
      this.wait(r.sent);
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

  close(): void {
    const r = this.remote;
    if (!r) return;
    r.port.close();
    void r.worker.terminate();
  }

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

  private post(m: CheckRequest, transfer: ArrayBuffer[] = []): void {
    const r = this.remote!;
    r.port.postMessage(m, transfer);
    r.sent++;
  }

  /** Blocks until `n` replies exist and reads them. */
  private wait(n: number): void {
    const r = this.remote!;
    for (;;) {
      const done = Atomics.load(r.ctl, 0);
      if (done >= n) break;
      if (Atomics.load(r.ctl, 1) === 1 && Atomics.load(r.ctl, 0) < n)
        throw new RowMismatch(`${this.path}: the rows could not be compared: the worker thread stopped`);
      Atomics.wait(r.ctl, 0, done, 1000);
    }
    this.drain(n);
  }

  /** Reads the replies up to the n-th (all posted already). */
  private drain(n: number): void {
    const r = this.remote!;
    while (r.read < n) {
      const m = receiveMessageOnPort(r.port);
      if (m === undefined)
        throw new RowMismatch(`${this.path}: the rows could not be compared: a reply was lost`);
      r.read++;
      const reply = m.message as CheckReply;
      if (reply.buffers) for (const b of reply.buffers) this.spare.push(b);
      if (reply.error !== undefined) this.error ??= reply.error;
      else if (reply.mismatch !== null) this.mismatch ??= reply.mismatch;
    }
  }
}
