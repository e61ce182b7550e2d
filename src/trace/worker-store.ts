// The recording thread's end of a TraceStore running in a worker thread (store-worker.ts).
// Guarantees:
// - A new file is made in this thread: createTraceFile, the schema (initTrace) and the first
//   run's row (insertRun) are committed on this thread's own connection before create() and
//   beginRun() return, so from then on the file is a trace that opens, with its run 'incomplete'
//   (writer.ts's contract, docs/design.md), without waiting for the worker's start-up (tens to
//   hundreds of ms under load). The file is then handed over: the connection closes and the worker
//   opens it. In an appended-to file beginRun() waits for the worker's commit.
// - addProbe() and write() do not wait for the worker, so the recording runs on while the thread
//   is still starting; the worker executes the requests in order, so a kill at any moment leaves
//   a prefix of them in the file. Errors of the file system (exists, directory, permissions) and
//   of the records are still thrown at once (createTraceFile, checkBeginRun and checkProbe run in
//   this thread); a failure inside SQLite is reported by the next operation, and nothing handed
//   over later is stored.
// - The other operations are synchronous too: they return the worker's result or throw its
//   TraceError, exactly like an in-thread TraceStore (the thread blocks in Atomics.wait, which is
//   what the recorder wants anyway: it has nothing else to do).
// - write() hands the batch's column buffers over without copying (they become detached); at
//   most `maxInFlight` batches are queued (4 times as many while the worker is still starting),
//   so memory stays bounded when SQLite is slower than the emulator.
// - The worker never keeps the process alive: a writer that is never closed loses only what was
//   not yet committed, as an in-thread writer would.
// - prestartStoreWorker() starts the next writer's thread ahead of time (loading SQLite takes a
//   few hundred ms of its own thread), so it overlaps whatever the recorder does before it opens
//   the trace; the file is touched only when a WorkerStore opens it.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { transferables, type Batch } from './batch.js';
import type { CreateOptions } from './db.js';
import { type Db, TraceError, createTraceFile, initTrace, reason } from './db.js';
import type { ProbeRecord, RunEnd } from './records.js';
import { checkBeginRun, checkProbe, insertRun, type BeginRunInfo, type StoreOps } from './store.js';
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

/** A store thread that is up (or starting) and has no file yet. */
interface IdleWorker {
  worker: Worker;
  port: MessagePort;
  ctl: Int32Array;
}

let prestarted: IdleWorker | undefined;

function startWorker(): IdleWorker {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const data: StoreWorkerData = { role: 'trace-store', ctl, port: port2 };
  // execArgv: [] because the worker must not inherit e.g. `-e`/`--input-type` of the parent.
  const worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], execArgv: [] });
  worker.unref();
  port1.unref();
  return { worker, port: port1, ctl };
}

/**
 * Starts the thread the next WorkerStore will use, so its start-up overlaps the caller's own work
 * (a no-op under the TypeScript sources, where there is no worker script, or when one is waiting).
 */
export function prestartStoreWorker(): void {
  if (WORKER_AVAILABLE && prestarted === undefined) prestarted = startWorker();
}

export class WorkerStore implements StoreOps {
  private readonly ctl: Int32Array;
  private readonly port: MessagePort;
  private readonly worker: Worker;
  /** Messages posted. */
  private sent = 0;
  /** Request numbers of the batches (write requests) not known to be answered, oldest first. */
  private readonly writes: number[] = [];
  /** Replies read. */
  private read = 0;
  private failed: string | undefined;
  /** Column buffers the worker gave back (their contents are stale). */
  private readonly spare: Float64Array[] = [];
  /** The failure has been thrown to the caller at least once. */
  private reported = false;
  private ended = false;
  /** When the worker was asked to open the file (its start-up timeout runs from here). */
  private openedAt = 0;
  /** A new file's connection in this thread, until the file is handed to the worker. */
  private local: Db | undefined;

  constructor(
    mode: 'create' | 'append',
    readonly path: string,
    create: CreateOptions,
    private readonly rowsPerStatement: number,
    private readonly maxInFlight = 4,
  ) {
    if (mode === 'create') {
      createTraceFile(path, create);
      this.local = initTrace(path, create);
    }
    const w = prestarted ?? startWorker();
    prestarted = undefined;
    this.ctl = w.ctl;
    this.port = w.port;
    this.worker = w.worker;
    if (mode === 'append') this.handOver();
  }

  /** Closes this thread's connection (if any) and has the worker open the file. */
  private handOver(): void {
    const db = this.local;
    this.local = undefined;
    // (closing the only connection checkpoints its WAL: the worker finds everything in the file)
    db?.close();
    this.openedAt = Date.now();
    this.port.postMessage({
      op: 'open',
      args: [{ path: this.path, rowsPerStatement: this.rowsPerStatement }],
    });
    this.sent++;
  }

  /**
   * Blocks until `n` replies exist; reads them; returns the last (throws a failed write first).
   * A worker that dies after starting says so through CTL_EXITED; one that cannot even load its
   * script can only be noticed by the start-up timeout (its 'error' event needs this thread's
   * event loop, which is blocked here).
   */
  private result(n: number): unknown {
    const ctl = this.ctl;
    for (;;) {
      const done = Atomics.load(ctl, CTL_DONE);
      if (done >= n) break;
      if (Atomics.load(ctl, CTL_EXITED) === 1 && Atomics.load(ctl, CTL_DONE) < n) {
        // It may have said why (it stops after failing to open the file).
        this.drain(Atomics.load(ctl, CTL_DONE), false);
        this.reported = true;
        throw new TraceError(this.failed ?? `${this.path}: the trace writer thread stopped unexpectedly`);
      }
      if (done === 0 && Date.now() - this.openedAt > STARTUP_TIMEOUT_MS)
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
    if (this.local !== undefined) this.handOver();
    this.port.postMessage(req, transfer);
    return ++this.sent;
  }

  private call(req: StoreRequest): unknown {
    return this.result(this.request(req));
  }

  beginRun(info: BeginRunInfo): number {
    checkBeginRun(info);
    const db = this.local;
    if (db === undefined) return this.call({ op: 'beginRun', args: [info] }) as number;
    let id: number;
    try {
      id = insertRun(db, info);
    } catch (err) {
      throw err instanceof TraceError
        ? err
        : new TraceError(`beginning a run ${this.path} failed: ${reason(err)}`);
    }
    this.handOver();
    return id;
  }

  addProbe(runId: number, p: ProbeRecord): void {
    checkProbe(p);
    this.post({ op: 'addProbe', args: [runId, p] });
  }

  write(b: Batch): void {
    this.post({ op: 'write', args: [b] }, transferables(b));
  }

  /** Hands a request over without waiting for its reply (at most maxInFlight wait unanswered). */
  private post(req: StoreRequest, transfer: ArrayBuffer[] = []): void {
    if (this.failed !== undefined) {
      this.reported = true;
      throw new TraceError(this.failed);
    }
    const n = this.request(req, transfer);
    // Read what the worker has answered so far even when not waiting: its replies carry the column
    // buffers back, and unread they would pile up in the port.
    const done = Atomics.load(this.ctl, CTL_DONE);
    this.drain(done, false);
    // Only batches count against the bound (the other requests are small). Until the worker has
    // opened the file (it is still loading SQLite) four times as many may wait: the recording
    // runs on instead of waiting for the thread's start-up.
    const w = this.writes;
    if (req.op === 'write') w.push(n);
    let k = 0;
    while (k < w.length && w[k]! <= done) k++;
    if (k > 0) w.splice(0, k);
    const bound = done === 0 ? 4 * this.maxInFlight : this.maxInFlight;
    if (w.length > bound) this.result(w[w.length - 1 - bound]!);
    else if (this.failed !== undefined) {
      this.reported = true;
      throw new TraceError(this.failed);
    }
  }

  /** Batches handed over and not known to be committed (for tests of the bound). */
  batchesInFlight(): number {
    const done = Atomics.load(this.ctl, CTL_DONE);
    return this.writes.filter((n) => n > done).length;
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
    // A file this store created holds no strings or tasks before anything is handed over.
    if (this.local !== undefined) return { string: 0, task: 0 };
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
