// Worker-thread host of a RowChecker (row-check.ts) for a verify (check-store.ts): the verify's
// thread packs batches as a recording does and hands them over; this thread compares them with the
// stored rows on its own read-only connection.
// Protocol: every request gets exactly one reply, in order, posted before ctl[0] is incremented
// (so the other thread can Atomics.wait on it and then read the reply); a write's reply gives the
// batch's column buffers back. After a mismatch or a failure every later reply repeats it.

import Database from 'better-sqlite3';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { NUMERIC_TABLE_NAMES, transferables, type Batch } from './batch.js';
import { RowChecker } from './row-check.js';

export interface CheckWorkerData {
  /** Marks the data as this module's (other workers import the trace layer too). */
  role: 'trace-check';
  /** [0]: replies posted so far; [1]: 1 once the worker has ended. */
  ctl: Int32Array;
  port: MessagePort;
  path: string;
  runId: number;
}

export type CheckRequest = { op: 'write'; batch: Batch } | { op: 'end' };

export interface CheckReply {
  /** Null: the rows matched so far (and, after 'end', no stored row is left over). */
  mismatch: string | null;
  /** The check could not run (SQLite failed). */
  error?: string;
  buffers?: Float64Array[];
}

function serve(d: CheckWorkerData): void {
  const { ctl, port } = d;
  process.on('exit', () => {
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 0);
  });
  const reply = (r: CheckReply, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(r, transfer);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  };
  let checker: RowChecker | null = null;
  let error: string | undefined;
  try {
    const db = new Database(d.path, { readonly: true, fileMustExist: true });
    db.pragma('query_only = 1');
    checker = new RowChecker(db, d.runId);
  } catch (err) {
    error = (err as Error).message;
  }
  port.on('message', (m: CheckRequest) => {
    let mismatch: string | null = null;
    if (checker && error === undefined)
      try {
        mismatch = m.op === 'write' ? checker.check(m.batch) : checker.end();
      } catch (err) {
        error = (err as Error).message;
      }
    if (m.op !== 'write') return reply({ mismatch, error });
    const b: Batch = m.batch;
    reply(
      {
        mismatch,
        error,
        buffers: NUMERIC_TABLE_NAMES.map((t) => b.numeric[t].data).filter((x) => x.length > 0),
      },
      transferables(b),
    );
  });
}

if (parentPort !== null && (workerData as Partial<CheckWorkerData> | null)?.role === 'trace-check')
  serve(workerData as CheckWorkerData);
