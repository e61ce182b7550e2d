// Verify by rows: checks that a recorded run's stored rows (raw_events, raw_calls, raw_missed,
// raw_sched) are exactly the rows a TraceWriter packs for the replay, batch by batch, without
// turning the stored rows into JavaScript values: each chunk of packed rows is bound into one
// statement that joins it with the stored rows by key and counts the exact matches, so SQLite
// compares in C (better-sqlite3 reads a row into JavaScript at about twice the cost of inserting
// it, and verify must read every row a recording wrote).
// Guarantees:
// - check() returns null only when every packed row of the batch has a stored row of the run with
//   the same key and the same value in every column (NULL only as NULL; text columns by content:
//   the packed string ids are the writer's own, the stored ones the file's); end() returns null
//   only when, besides, the run stores no row that was not packed. Together: the stored rows are
//   exactly the packed ones, so every view derived from them is what the replay would record
//   (the packed keys are distinct: seqs are a counter, rowid positions are numbered here).
// - Anything else (a different value, a row too many or too few, rows of a table not stored in
//   one contiguous rowid range, a table this module does not know) is a mismatch, described in one
//   line; it says where the rows first differ, not which event: the caller then replays record by
//   record to name the divergence (replay.ts).
// - Read-only: only SELECTs.

import type { Database, Statement } from 'better-sqlite3';
import { NUMERIC_TABLES, NUMERIC_TABLE_NAMES, type Batch, type NumericTableName } from './batch.js';

/** How a table's rows are matched: by a unique key column, or by rowid order within the run. */
const MATCH: Record<NumericTableName, { key: string | null; text: readonly string[] }> = {
  raw_events: { key: 'seq', text: ['args'] },
  raw_calls: { key: 'return_seq', text: ['args'] },
  // (no key: the k-th row of the run is the one at the run's first rowid + k)
  raw_missed: { key: null, text: [] },
  raw_sched: { key: null, text: ['reason'] },
};

/** Packed rows per statement (the largest chunk; a batch's tail goes in powers of two). */
const CHUNK = 1024;

interface TableCheck {
  name: NumericTableName;
  /** Columns as packed, run_id first. */
  cols: readonly string[];
  /** Bound values per row: the columns but run_id, plus the rowid for a table without a key. */
  width: number;
  isText: boolean[];
  key: string | null;
  /** Rows packed and found so far. */
  rows: number;
  /** Rowid tables: the run's first rowid, and -1 when its rows are not one contiguous range. */
  base: number;
  /** The run's stored rows, counted when the check begins (the file is read-only here). */
  stored: number;
  stmts: Map<number, Statement>;
}

export class RowChecker {
  private readonly tables: TableCheck[];
  /** The writer's interned strings, by its id (each batch carries the ones new to it). */
  private readonly strings = new Map<number, string>();
  private params: (number | string | null)[] = [];
  private failed: string | null = null;

  constructor(
    private readonly db: Database,
    private readonly runId: number,
  ) {
    if (!Number.isSafeInteger(runId)) throw new Error(`run id ${runId} is not an integer`);
    this.tables = NUMERIC_TABLE_NAMES.map((name) => {
      const cols = NUMERIC_TABLES[name];
      const m = MATCH[name];
      const t: TableCheck = {
        name,
        cols,
        width: cols.length - 1 + (m.key === null ? 1 : 0),
        isText: cols.slice(1).map((c) => m.text.includes(c)),
        key: m.key,
        rows: 0,
        base: 0,
        stored: 0,
        stmts: new Map(),
      };
      if (m.key === null) {
        // `+run_id`: the whole-table scan in C is cheap; the (run_id, ...) index is built only
        // when the run ends and a damaged file may lack it.
        const r = db
          .prepare(`SELECT min(rowid), max(rowid), count(*) FROM ${name} WHERE +run_id = ?`)
          .raw(true)
          .get(runId) as [number | null, number | null, number];
        t.stored = r[2];
        t.base = r[0] === null ? 0 : r[1]! - r[0] + 1 === r[2] ? r[0] : -1;
      } else {
        // Counted here, at the run's start, where the worker would otherwise wait for the first
        // batch: counting at end() kept the verify waiting (60 ms of 1.7 s on fib(30)).
        t.stored = db.prepare(`SELECT count(*) FROM ${name} WHERE run_id = ?`).pluck().get(runId) as number;
      }
      return t;
    });
  }

  /** Null when every packed row of `b` is stored; else the first difference, in one line. */
  check(b: Batch): string | null {
    if (this.failed !== null) return this.failed;
    const s = b.rows.strings;
    for (let i = 0; i + 1 < s.length; i += 2) this.strings.set(s[i] as number, s[i + 1] as string);
    for (const t of this.tables) {
      const { data, n } = b.numeric[t.name];
      if (n > 0 && !this.checkRows(t, data, n)) return this.failed;
    }
    return null;
  }

  /** After the last batch: null when the run stores no row beyond the packed ones. */
  end(): string | null {
    if (this.failed !== null) return this.failed;
    for (const t of this.tables)
      if (t.stored !== t.rows)
        return this.fail(`${t.name}: the run stores ${t.stored} rows, the replay packs ${t.rows}`);
    return null;
  }

  private fail(why: string): string {
    this.failed = why;
    return why;
  }

  private checkRows(t: TableCheck, data: Float64Array, n: number): boolean {
    if (t.key === null && t.base < 0)
      return !this.fail(`${t.name}: the run's rows are not one contiguous rowid range`);
    const cw = t.cols.length;
    let i = 0;
    while (i < n) {
      let size = CHUNK;
      while (size > n - i) size >>= 1;
      const p = this.bind(t, data, i, size, cw);
      const found = this.statement(t, size).get(...p) as number;
      if (found !== size)
        return !this.fail(
          `${t.name}: ${size - found} of the packed rows ${t.rows + 1}..${t.rows + size} differ from the stored rows`,
        );
      t.rows += size;
      i += size;
    }
    return true;
  }

  /** The parameters of `size` packed rows from row `at` (NaN is NULL; text ids become text). */
  private bind(t: TableCheck, data: Float64Array, at: number, size: number, cw: number): unknown[] {
    const w = t.width;
    if (this.params.length !== size * w) this.params = new Array<number | string | null>(size * w);
    const p = this.params;
    const isText = t.isText;
    const strings = this.strings;
    let q = 0;
    for (let r = 0; r < size; r++) {
      const b = (at + r) * cw;
      for (let j = 1; j < cw; j++) {
        const v = data[b + j]!;
        p[q++] = v !== v ? null : isText[j - 1] ? (strings.get(v) ?? null) : v;
      }
      if (t.key === null) p[q++] = t.base + t.rows + r;
    }
    return p;
  }

  /**
   * SELECT count(*) of `size` bound rows that have an identical stored row. CROSS JOIN keeps the
   * bound rows the outer loop, so each is one lookup by key whatever the file's statistics say
   * (the other order would scan the run once per bound row).
   */
  private statement(t: TableCheck, size: number): Statement {
    let st = t.stmts.get(size);
    if (st) return st;
    const cols = t.cols.slice(1);
    const names = t.key === null ? [...cols, 'k'] : cols;
    const tuple = `(${names.map(() => '?').join(',')})`;
    const on = t.key === null ? 'c.rowid = v.k' : `c.${t.key} = v.${t.key}`;
    const same = cols
      .filter((c) => c !== t.key)
      .map((c) =>
        MATCH[t.name].text.includes(c)
          ? `CASE WHEN c.${c} IS NULL THEN v.${c} IS NULL ELSE (SELECT s FROM strings WHERE id = c.${c}) IS v.${c} END`
          : `c.${c} IS v.${c}`,
      );
    st = this.db
      .prepare(
        `WITH v(${names.join(',')}) AS (VALUES ${Array<string>(size).fill(tuple).join(',')})
         SELECT count(*) FROM v CROSS JOIN ${t.name} c ON ${on}
         WHERE c.run_id = ${this.runId} AND ${same.join(' AND ')}`,
      )
      .pluck();
    t.stmts.set(size, st);
    return st;
  }
}
