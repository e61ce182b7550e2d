// The recording thread's end of a TraceStore running in a worker thread (store-worker.ts).
// Guarantees:
// - Every operation but write() is synchronous: it returns the worker's result or throws its
//   TraceError, exactly like an in-thread TraceStore (the thread blocks in Atomics.wait, which is
//   what the recorder wants anyway: it has nothing else to do).
// - write() hands the batch's column buffers over without copying (they become detached) and
//   returns at once; at most `maxInFlight` batches are queued, so memory stays bounded when SQLite
//   is slower than the emulator. A failed write is reported by the next operation.
// - The worker never keeps the process alive: a writer that is never closed loses only what was
//   not yet committed, as an in-thread writer would.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { transferables, type Batch } from './batch.js';
import type { CreateOptions } from './db.js';
import { TraceError } from './db.js';
import type { ProbeRecord, RunEnd } from './records.js';
import type { BeginRunInfo, StoreOps } from './store.js';
import {
  CTL_DONE,
  CTL_EXITED,
  type StoreReply,
  type StoreRequest,
  type StoreWorkerData,
} from './store-worker.js';

const WORKER_URL = new URL('./store-worker.js', import.meta.url);

/** True when this module runs compiled (dist/): the worker script exists only there. */
export const WORKER_AVAILABLE = import.meta.url.endsWith('.js');

/** Loading SQLite in a fresh thread takes ~50 ms; a minute means it is not coming. */
const STARTUP_TIMEOUT_MS = 60_000;

export class WorkerStore implements StoreOps {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  /** Messages posted, counting the implicit 'open'. */
  private sent = 1;
  /** Replies read. */
  private read = 0;
  private failed: string | undefined;
  /** Column buffers the worker gave back (their contents are stale). */
  private readonly spare: Float64Array[] = [];
  /** The failure has been thrown to the caller at least once. */
  private reported = false;
  private ended = false;

  constructor(
    mode: 'create' | 'append',
    readonly path: string,
    create: CreateOptions,
    rowsPerStatement: number,
    private readonly maxInFlight = 4,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: StoreWorkerData = {
      role: 'trace-store',
      ctl: this.ctl,
      port: port2,
      mode,
      path,
      create,
      rowsPerStatement,
    };
    // execArgv: [] because the worker must not inherit e.g. `-e`/`--input-type` of the parent.
    this.worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: [] });
    this.worker.unref();
    this.port.unref();
    try {
      this.result(1, STARTUP_TIMEOUT_MS);
    } catch (err) {
      this.end();
      throw err;
    }
  }

  /**
   * Blocks until `n` replies exist; reads them; returns the last (throws a failed write first).
   * A worker that dies after starting says so through CTL_EXITED; one that cannot even load its
   * script can only be noticed by the start-up timeout (its 'error' event needs this thread's
   * event loop, which is blocked here).
   */
  private result(n: number, timeoutMs = Infinity): unknown {
    const ctl = this.ctl;
    const start = timeoutMs === Infinity ? 0 : Date.now();
    for (;;) {
      const done = Atomics.load(ctl, CTL_DONE);
      if (done >= n) break;
      if (Atomics.load(ctl, CTL_EXITED) === 1 && Atomics.load(ctl, CTL_DONE) < n)
        throw new TraceError(`${this.path}: the trace writer thread stopped unexpectedly`);
      if (timeoutMs !== Infinity && Date.now() - start > timeoutMs)
        throw new TraceError(`${this.path}: the trace writer thread did not start`);
      Atomics.wait(ctl, CTL_DONE, done, 1000);
    }
    const last = this.drain(n, true);
    if (this.failed !== undefined) {
      this.reported = true;
      throw new TraceError(this.failed);
    }
    if (!last) return undefined;
    if (!last.ok) throw new TraceError(last.error);
    return last.value;
  }

  /**
   * Reads replies up to the n-th (all already posted). Write replies give their buffers back; a
   * failed write poisons the writer. With `ownLast`, the n-th reply is the caller's own result and
   * is returned rather than judged.
   */
  private drain(n: number, ownLast: boolean): StoreReply | undefined {
    let last: StoreReply | undefined;
    while (this.read < n) {
      const m = receiveMessageOnPort(this.port);
      if (m === undefined) throw new TraceError(`${this.path}: the trace writer thread lost a reply`);
      this.read++;
      last = m.message as StoreReply;
      if (last.ok && last.buffers) for (const b of last.buffers) this.spare.push(b);
      if (!last.ok && (this.read < n || !ownLast) && this.failed === undefined) this.failed = last.error;
    }
    return last;
  }

  private request(req: StoreRequest, transfer: ArrayBuffer[] = []): number {
    if (this.ended) throw new TraceError(`${this.path}: trace writer is closed`);
    this.port.postMessage(req, transfer);
    return ++this.sent;
  }

  private call(req: StoreRequest): unknown {
    return this.result(this.request(req));
  }

  beginRun(info: BeginRunInfo): number {
    return this.call({ op: 'beginRun', args: [info] }) as number;
  }

  addProbe(runId: number, p: ProbeRecord): void {
    this.call({ op: 'addProbe', args: [runId, p] });
  }

  write(b: Batch): void {
    if (this.failed !== undefined) {
      this.reported = true;
      throw new TraceError(this.failed);
    }
    const n = this.request({ op: 'write', args: [b] }, transferables(b));
    // Read what the worker has answered so far even when not waiting: its replies carry the column
    // buffers back, and unread they would pile up in the port.
    this.drain(Atomics.load(this.ctl, CTL_DONE), false);
    if (n - Atomics.load(this.ctl, CTL_DONE) > this.maxInFlight) this.result(n - this.maxInFlight);
    else if (this.failed !== undefined) {
      this.reported = true;
      throw new TraceError(this.failed);
    }
  }

  /** A column buffer of `length` elements that the worker gave back, if there is one. */
  takeBuffer(length: number): Float64Array | undefined {
    const i = this.spare.findIndex((b) => b.length === length);
    if (i < 0) return undefined;
    const b = this.spare[i]!;
    this.spare[i] = this.spare[this.spare.length - 1]!;
    this.spare.pop();
    return b;
  }

  /** Waits until every queued batch is committed (or throws the first failure). */
  sync(): void {
    this.result(this.sent);
  }

  finishRun(runId: number, result: RunEnd): void {
    this.call({ op: 'finishRun', args: [runId, result] });
  }

  appendTrace(path: string, runIdOffset?: number): number[] {
    return this.call({ op: 'appendTrace', args: [path, runIdOffset] }) as number[];
  }

  lastIds(): { string: number; task: number } {
    return this.call({ op: 'lastIds', args: [] }) as { string: number; task: number };
  }

  close(): void {
    if (this.ended) return;
    try {
      this.call({ op: 'close', args: [] });
    } catch (err) {
      // A write failure the caller has already seen is not news; an unseen one must not vanish.
      if (!this.reported) throw err;
    } finally {
      this.end();
    }
  }

  private end(): void {
    this.ended = true;
    this.port.close();
    void this.worker.terminate();
  }
}
