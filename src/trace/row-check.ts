// Verify by rows: checks that a recorded run's stored rows (raw_events, raw_calls, raw_sched;
// misses are raw_events rows) are the rows a TraceWriter packs for the replay, batch by batch, without turning the
// stored rows into JavaScript values: each batch's rows of a table cover one range of the table's
// key (seq, return_seq; rowids for the tables without a key), and one aggregate per range counts
// the stored rows in it and sums their digest terms (row-digest.ts), which this side computes
// from the packed rows. A range scan and an aggregate cost SQLite about a third of what a keyed
// join of bound rows did, and nothing is bound per row.
// Guarantees:
// - check() returns null only when, for each table, the run stores exactly as many rows in the
//   batch's key range as the batch packs, with the same digest; the ranges of a run's batches are
//   contiguous (each starts after the previous one's last key, the first has no lower bound), and
//   end() returns null only when, besides, the run stores no row after the last range. So the
//   stored rows are the packed ones, up to what the digest can miss (row-digest.ts: never one
//   changed value unless it is congruent mod 2^31 - 1; other changes about 1 in 2^31 per range).
// - Text columns compare by content: the packed string ids are the writer's own, the stored ones
//   the file's; a packed string no stored row of the range refers to is a mismatch.
// - Anything else (a batch whose keys do not follow the previous batch's, rowid tables whose run
//   rows are not one contiguous rowid range, SQLite failing) is a mismatch or an error, described
//   in one line; it says where the rows first differ, not which event: the caller then replays
//   record by record to name the divergence (replay.ts).
// - Read-only: only SELECTs.

import type { Database, Statement } from 'better-sqlite3';
import { NUMERIC_TABLES, NUMERIC_TABLE_NAMES, type Batch, type NumericTableName } from './batch.js';
import { rowTerm, termSql } from './row-digest.js';

/** How a table's rows are matched: by a unique key column, or by rowid order within the run. */
const MATCH: Record<NumericTableName, { key: string | null; text: readonly string[] }> = {
  raw_events: { key: 'seq', text: ['args'] },
  raw_calls: { key: 'return_seq', text: ['args'] },
  // (no key: the k-th row of the run is the one at the run's first rowid + k)
  raw_sched: { key: null, text: ['reason'] },
};

interface TableCheck {
  name: NumericTableName;
  /** Columns per packed row (run_id first). */
  cw: number;
  /** Packed column of the key, -1 for a rowid table. */
  keyAt: number;
  /** Packed columns holding string ids, and the stored strings by content for each. */
  textAt: number[];
  fileIds: Map<string, number>[];
  /** Rows packed and found so far. */
  rows: number;
  /** Keyed tables: the last key checked (NaN: none yet). */
  hi: number;
  /** Rowid tables: the run's first rowid (-1: its rows are not one contiguous range), row count. */
  base: number;
  stored: number;
  /** count(*), digest of a range: [0] the first range (no lower bound), [1] a later one. */
  range: Statement[];
  /** The distinct (stored id, string) of each text column in a range, as `range`. */
  texts: Statement[][];
}

export class RowChecker {
  private readonly tables: TableCheck[];
  /** The writer's interned strings, by its id (each batch carries the ones new to it). */
  private readonly strings = new Map<number, string>();
  /** A packed row with its text ids replaced by the stored ones. */
  private scratch = new Float64Array(16);
  private failed: string | null = null;

  constructor(
    private readonly db: Database,
    private readonly runId: number,
  ) {
    if (!Number.isSafeInteger(runId)) throw new Error(`run id ${runId} is not an integer`);
    this.tables = NUMERIC_TABLE_NAMES.map((name) => this.table(name));
  }

  private table(name: NumericTableName): TableCheck {
    const cols: readonly string[] = NUMERIC_TABLES[name];
    const { key, text } = MATCH[name];
    const run = `x.run_id = ${this.runId}`;
    const t: TableCheck = {
      name,
      cw: cols.length,
      keyAt: key === null ? -1 : cols.indexOf(key),
      textAt: text.map((c) => cols.indexOf(c)),
      fileIds: text.map(() => new Map()),
      rows: 0,
      hi: NaN,
      base: 0,
      stored: 0,
      range: [],
      texts: [],
    };
    let bounds: string[];
    let weight: string;
    if (key === null) {
      // `+run_id`: the whole-table scan in C is cheap; the (run_id, ...) index is built only
      // when the run ends and a damaged file may lack it.
      const r = this.db
        .prepare(`SELECT min(rowid), max(rowid), count(*) FROM ${name} x WHERE +${run}`)
        .raw(true)
        .get() as [number | null, number | null, number];
      t.stored = r[2];
      t.base = r[0] === null ? 0 : r[1]! - r[0] + 1 === r[2] ? r[0] : -1;
      const b = `x.rowid >= ? AND x.rowid < ? AND +${run}`;
      bounds = [b, b];
      weight = `rowid - ${t.base}`;
    } else {
      bounds = [`${run} AND x.${key} <= ?`, `${run} AND x.${key} <= ? AND x.${key} > ?`];
      weight = key;
    }
    const term = termSql(cols.slice(1), weight);
    t.range = bounds.map((b) =>
      this.db.prepare(`SELECT count(*), coalesce(sum(${term}), 0) FROM ${name} x WHERE ${b}`).raw(true),
    );
    t.texts = bounds.map((b) =>
      text.map((c) =>
        this.db
          .prepare(`SELECT DISTINCT x.${c}, s.s FROM ${name} x JOIN strings s ON s.id = x.${c} WHERE ${b}`)
          .raw(true),
      ),
    );
    return t;
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
    for (const t of this.tables) {
      const key = MATCH[t.name].key;
      let more: number;
      if (key === null) more = t.stored - t.rows;
      else {
        const after = t.hi === t.hi ? ` AND ${key} > ?` : '';
        const st = this.db.prepare(`SELECT count(*) FROM ${t.name} WHERE run_id = ${this.runId}${after}`);
        more = st.pluck().get(...(t.hi === t.hi ? [t.hi] : [])) as number;
      }
      if (more !== 0)
        return this.fail(`${t.name}: the run stores ${t.rows + more} rows, the replay packs ${t.rows}`);
    }
    return null;
  }

  private fail(why: string): string {
    this.failed = why;
    return why;
  }

  private checkRows(t: TableCheck, data: Float64Array, n: number): boolean {
    const what = () => `${t.name}: the packed rows ${t.rows + 1}..${t.rows + n}`;
    const later = t.keyAt < 0 ? (t.rows > 0 ? 1 : 0) : t.hi === t.hi ? 1 : 0;
    let lo: number;
    let hi: number;
    if (t.keyAt < 0) {
      if (t.base < 0) return !this.fail(`${t.name}: the run's rows are not one contiguous rowid range`);
      lo = t.base + t.rows;
      hi = lo + n;
    } else {
      // The batch's keys must all follow the previous batch's: its range starts there.
      lo = t.hi;
      hi = -Infinity;
      for (let r = 0, at = t.keyAt; r < n; r++, at += t.cw) {
        const k = data[at]!;
        if (!(k > lo || later === 0)) return !this.fail(`${what()} do not follow the rows before them`);
        if (k > hi) hi = k;
      }
    }
    const digest = this.digest(t, data, n, later);
    if (digest === null) return !this.fail(`${what()} hold a string no stored row of theirs holds`);
    const args = t.keyAt < 0 ? [lo, hi] : later ? [hi, lo] : [hi];
    const [count, sum] = t.range[later]!.get(...args) as [number, number];
    if (count !== n || sum !== digest)
      return !this.fail(
        count !== n
          ? `${what()}: the run stores ${count} rows in their range`
          : `${what()} differ from the stored rows`,
      );
    t.rows += n;
    if (t.keyAt >= 0) t.hi = hi;
    return true;
  }

  /**
   * The digest of `n` packed rows, their text ids replaced by the stored ids of the same strings
   * in the rows' range (read only when the batch holds text); null when a string has none.
   */
  private digest(t: TableCheck, data: Float64Array, n: number, later: number): number | null {
    const cw = t.cw;
    const w = cw - 1;
    const keyAt = t.keyAt;
    let withText = false;
    for (let j = 0; j < t.textAt.length && !withText; j++)
      for (let at = t.textAt[j]!, r = 0; r < n; r++, at += cw) {
        const v = data[at]!;
        if (v === v) {
          withText = true;
          break;
        }
      }
    if (withText) this.readTexts(t, data, n, later);
    if (this.scratch.length < w) this.scratch = new Float64Array(w);
    const scratch = this.scratch;
    let sum = 0;
    for (let r = 0, at = 0; r < n; r++, at += cw) {
      const key = keyAt < 0 ? t.rows + r : data[at + keyAt]!;
      let text = false;
      if (withText) for (const c of t.textAt) if (data[at + c] === data[at + c]) text = true;
      if (!text) {
        sum += rowTerm(data, at + 1, w, key);
        continue;
      }
      for (let j = 0; j < w; j++) scratch[j] = data[at + 1 + j]!;
      for (let j = 0; j < t.textAt.length; j++) {
        const c = t.textAt[j]!;
        const v = data[at + c]!;
        if (v !== v) continue;
        const id = t.fileIds[j]!.get(this.strings.get(v) ?? '');
        if (id === undefined) return null;
        scratch[c - 1] = id;
      }
      sum += rowTerm(scratch, 0, w, key);
    }
    return sum;
  }

  /** The stored (id, string) pairs of the text columns in the range of `n` packed rows. */
  private readTexts(t: TableCheck, data: Float64Array, n: number, later: number): void {
    let args: number[];
    if (t.keyAt < 0) args = [t.base + t.rows, t.base + t.rows + n];
    else {
      let hi = -Infinity;
      for (let r = 0, at = t.keyAt; r < n; r++, at += t.cw) if (data[at]! > hi) hi = data[at]!;
      args = later ? [hi, t.hi] : [hi];
    }
    t.texts[later]!.forEach((st, j) => {
      const ids = t.fileIds[j]!;
      for (const [id, s] of st.iterate(...args) as IterableIterator<[number, string]>) ids.set(s, id);
    });
  }
}
