// Worker-thread host of RowCheckers (row-check.ts) for the verifies of one TraceReader
// (check-store.ts): the verify's thread packs batches as a recording does and hands them over; this
// thread compares them with the stored rows on its own read-only connection, one run at a time
// ('begin' starts the check of a run).
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
}

export type CheckRequest = { op: 'begin'; runId: number } | { op: 'write'; batch: Batch } | { op: 'end' };

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
  let db: Database.Database | null = null;
  let checker: RowChecker | null = null;
  /** A failure of the run being checked (opening the file: of every run). */
  let error: string | undefined;
  let openError: string | undefined;
  try {
    db = new Database(d.path, { readonly: true, fileMustExist: true });
    db.pragma('query_only = 1');
  } catch (err) {
    openError = (err as Error).message;
  }
  port.on('message', (m: CheckRequest) => {
    let mismatch: string | null = null;
    try {
      if (m.op === 'begin') {
        checker = null;
        error = openError;
        if (db) checker = new RowChecker(db, m.runId);
      } else if (checker && error === undefined)
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
