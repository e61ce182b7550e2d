// Worker-thread side of read-ahead (prefetch.ts): runs a reader's paged statements on its own
// read-only connection and posts their pages, packed, ahead of the thread that consumes them, so a
// verify reads SQLite on the second core while the emulator runs on the first (as recording does).
// Protocol: 'open' starts a cursor (SQL with parameters run_id, from, to, limit; rows ordered by the
// integer column `key`); each page is posted as { id, n, nums, texts, last } and is followed by an
// increment of ctl[0]; the consumer acknowledges each page ('ack') and at most AHEAD pages of a
// cursor are unacknowledged; 'close' drops a cursor. Numeric columns travel in one transferred
// Float64Array (NaN = NULL), the `text` columns as strings.

import Database, { type Statement } from 'better-sqlite3';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

export interface PrefetchWorkerData {
  prefetch: true;
  /** [0]: pages posted so far; [1]: 1 once the worker has ended. */
  ctl: Int32Array;
  port: MessagePort;
  path: string;
}

export type PrefetchRequest =
  | {
      op: 'open';
      id: number;
      sql: string;
      runId: number;
      key: number;
      from: number;
      to: number;
      text: number[];
      pageRows: number;
    }
  | { op: 'ack'; id: number }
  | { op: 'close'; id: number };

export interface PrefetchPage {
  id: number;
  n: number;
  /** n rows x the non-text columns, row-major; NaN is NULL. */
  nums: Float64Array;
  /** n rows x the text columns. */
  texts: (string | null)[];
  /** No page follows. */
  last: boolean;
  error?: string;
  /** SQLite's code for `error` (SQLITE_CORRUPT, ...) when SQLite raised it. */
  code?: string;
}

/** Pages read ahead per cursor. */
const AHEAD = 4;

interface Cursor {
  stmt: Statement;
  runId: number;
  key: number;
  at: number;
  to: number;
  /** isText[j]: column j holds text. */
  isText: boolean[];
  pageRows: number;
  ahead: number;
  done: boolean;
}

function serve(d: PrefetchWorkerData): void {
  const { ctl, port } = d;
  process.on('exit', () => {
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 0);
  });
  const db = new Database(d.path, { readonly: true, fileMustExist: true });
  db.pragma('query_only = 1');
  const cursors = new Map<number, Cursor>();
  const post = (p: PrefetchPage, transfer: ArrayBuffer[]): void => {
    port.postMessage(p, transfer);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  };
  const page = (id: number, c: Cursor): void => {
    let rows: unknown[][];
    try {
      rows = c.stmt.all(c.runId, c.at, c.to, c.pageRows) as unknown[][];
    } catch (err) {
      c.done = true;
      const code = (err as { code?: unknown }).code;
      post(
        {
          id,
          n: 0,
          nums: new Float64Array(0),
          texts: [],
          last: true,
          error: (err as Error).message,
          code: typeof code === 'string' ? code : undefined,
        },
        [],
      );
      return;
    }
    const n = rows.length;
    const width = n ? rows[0]!.length : 0;
    const isText = c.isText;
    let nText = 0;
    for (let j = 0; j < width; j++) if (isText[j]) nText++;
    const nums = new Float64Array(n * (width - nText));
    const texts = new Array<string | null>(n * nText);
    let k = 0;
    let t = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      for (let j = 0; j < width; j++) {
        const v = r[j];
        if (isText[j] === true) texts[t++] = v === null || v === undefined ? null : String(v);
        else nums[k++] = v === null ? NaN : (v as number);
      }
    }
    c.done = n < c.pageRows;
    if (n) c.at = Number(rows[n - 1]![c.key]) + 1;
    c.ahead++;
    post({ id, n, nums, texts, last: c.done }, [nums.buffer as ArrayBuffer]);
  };
  let scheduled = false;
  const pump = (): void => {
    scheduled = false;
    // One page per cursor per turn, so acknowledgements and new cursors are seen in between.
    let more = false;
    for (const [id, c] of cursors) {
      if (c.done || c.ahead >= AHEAD) continue;
      page(id, c);
      if (c.done) cursors.delete(id);
      else if (c.ahead < AHEAD) more = true;
    }
    if (more) schedule();
  };
  const schedule = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  port.on('message', (m: PrefetchRequest) => {
    if (m.op === 'open') {
      let stmt: Statement;
      try {
        stmt = db.prepare(m.sql).raw(true);
      } catch (err) {
        post(
          { id: m.id, n: 0, nums: new Float64Array(0), texts: [], last: true, error: (err as Error).message },
          [],
        );
        return;
      }
      cursors.set(m.id, {
        stmt,
        runId: m.runId,
        key: m.key,
        at: m.from,
        to: m.to,
        isText: Array.from({ length: 64 }, (_, j) => m.text.includes(j)),
        pageRows: m.pageRows,
        ahead: 0,
        done: false,
      });
    } else if (m.op === 'ack') {
      const c = cursors.get(m.id);
      if (c) c.ahead--;
    } else cursors.delete(m.id);
    schedule();
  });
}

if (parentPort && (workerData as Partial<PrefetchWorkerData> | null)?.prefetch)
  serve(workerData as PrefetchWorkerData);
