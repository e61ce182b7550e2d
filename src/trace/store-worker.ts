// Worker-thread host of a TraceStore: the recording thread hands it Batches and run registrations
// and goes on emulating while SQLite inserts run on another core.
// Protocol (see worker-store.ts for the other end): the first message opens the file ('open': so
// the thread can be started, and load SQLite, before the recorder knows which file it will write);
// every message gets exactly one reply, in order, posted BEFORE the shared counter ctl[0] is
// incremented, so the recording thread can Atomics.wait on the counter and then read the reply
// synchronously. After a failed write the store refuses every later write, so a file never has a
// batch missing in the middle.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { NUMERIC_TABLE_NAMES, transferables } from './batch.js';
import { openTrace } from './db.js';
import { TraceStore, type StoreOps } from './store.js';

export interface StoreWorkerData {
  /** Marks the data as this module's: other workers that import the trace layer carry their own workerData. */
  role: 'trace-store';
  ctl: Int32Array;
  port: MessagePort;
}

/** The file a store worker serves (its first message): a trace that exists (worker-store.ts makes new ones). */
export interface StoreOpen {
  path: string;
  rowsPerStatement: number;
}

export type StoreRequest =
  | { op: 'open'; args: [StoreOpen] }
  | { op: 'beginRun'; args: Parameters<StoreOps['beginRun']> }
  | { op: 'addProbe'; args: Parameters<StoreOps['addProbe']> }
  | { op: 'write'; args: Parameters<StoreOps['write']> }
  | { op: 'finishRun'; args: Parameters<StoreOps['finishRun']> }
  | { op: 'appendTrace'; args: Parameters<StoreOps['appendTrace']> }
  | { op: 'lastIds'; args: [] }
  | { op: 'close'; args: [] };

/** A write's reply hands the batch's column buffers back for reuse. */
export type StoreReply =
  { ok: true; value: unknown; buffers?: Float64Array[] } | { ok: false; error: string };

/** ctl[0]: replies posted so far; ctl[1]: 1 once the worker thread has ended. */
export const CTL_DONE = 0;
export const CTL_EXITED = 1;

function serve(d: StoreWorkerData): void {
  const { ctl, port } = d;
  const reply = (r: StoreReply, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(r, transfer);
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  };
  process.on('exit', () => {
    Atomics.store(ctl, CTL_EXITED, 1);
    Atomics.notify(ctl, CTL_DONE);
  });
  let store: TraceStore | undefined;
  let broken: string | undefined;
  port.on('message', (m: StoreRequest) => {
    if (m.op === 'open' && store === undefined && broken === undefined) {
      try {
        const o = m.args[0];
        const db = openTrace(o.path, { readonly: false });
        store = new TraceStore(db, o.path, o.rowsPerStatement);
        reply({ ok: true, value: null });
      } catch (err) {
        // Every later request gets this error (the caller did not wait for this reply).
        broken = (err as Error).message;
        reply({ ok: false, error: broken });
      }
      return;
    }
    if (store === undefined) {
      if (m.op === 'close') {
        reply({ ok: true, value: null });
        port.close();
      } else reply({ ok: false, error: broken ?? `the trace store got '${m.op}' before 'open'` });
      return;
    }
    if (broken !== undefined && m.op !== 'close') {
      reply({ ok: false, error: broken });
      return;
    }
    try {
      let value: unknown = null;
      switch (m.op) {
        case 'beginRun':
          value = store.beginRun(...m.args);
          break;
        case 'addProbe':
          store.addProbe(...m.args);
          break;
        case 'write': {
          const b = m.args[0];
          store.write(b);
          reply(
            {
              ok: true,
              value: null,
              buffers: NUMERIC_TABLE_NAMES.map((t) => b.numeric[t].data).filter((d) => d.length > 0),
            },
            transferables(b),
          );
          return;
        }
        case 'finishRun':
          store.finishRun(...m.args);
          break;
        case 'appendTrace':
          value = store.appendTrace(...m.args);
          break;
        case 'lastIds':
          value = store.lastIds();
          break;
        case 'open':
          throw new Error('the trace store is already open');
        case 'close':
          store.close();
          reply({ ok: true, value: null });
          port.close();
          return;
      }
      reply({ ok: true, value });
    } catch (err) {
      const msg = (err as Error).message;
      // A request nobody waits for fails every later one too: nothing lands after a hole.
      if (m.op === 'write' || m.op === 'addProbe') broken = msg;
      reply({ ok: false, error: msg });
    }
  });
}

if (parentPort !== null && (workerData as Partial<StoreWorkerData> | null)?.role === 'trace-store')
  serve(workerData as StoreWorkerData);
