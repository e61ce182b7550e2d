// The row digest of verify by rows (src/trace/row-digest.ts, #15 "verify no slower than
// recording"): the JavaScript term of a packed row and the SQL term of the same stored row must be
// equal, or an intact trace would fail its verify (and fall back to the slow path); and a changed
// value must change the term, or a tampered trace would pass. Oracles: SQLite evaluating termSql()
// on rows inserted into a STRICT table, and an independent BigInt computation of the definition
// (Horner mod 2^31 - 1, weighed by 1 + key mod 2^31 - 2). Values are the edges of what a trace
// stores: 0, +-1, around the modulus and its multiples, 2^31, 2^32, 2^33 multiples (packed info),
// 2^52 and up to 2^53 - 1, and NULL.

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { NULL_CODE, P, rowTerm, termSql } from '../src/trace/row-digest.js';

const EDGES = [
  0,
  1,
  -1,
  2,
  P - 1,
  P,
  P + 1,
  2 * P,
  -P,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  3 * 2 ** 33 + 5,
  1_000_000_007_123,
  2 ** 52 - 1,
  2 ** 52,
  -(2 ** 52),
  2 ** 53 - 1,
  NULL_CODE,
  NaN,
];
const COLS = ['a', 'b', 'c', 'd', 'e', 'f'];

/** The definition, independently, with exact integers (NaN: NULL). */
function reference(values: number[], key: number): bigint {
  const p = BigInt(P);
  let h = 0n;
  for (const v of values) h = (((h * 1000003n + (v !== v ? BigInt(NULL_CODE) : BigInt(v))) % p) + p) % p;
  return (h * (1n + (BigInt(key) % (p - 1n)))) % p;
}

/** Deterministic rows over the edge values (no host randomness), then rows ending negative. */
function* rows(n: number): Generator<[number[], number]> {
  let x = 12345;
  // (the high half of a 32-bit LCG: its low bits repeat with short periods)
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
  for (let i = 0; i < n; i++) {
    const vals = COLS.map(() => (next() % 4 === 0 ? next() * 65536 + next() : EDGES[next() % EDGES.length]!));
    const key = [0, 1, P - 2, P - 1, 2 ** 40 + 3, 2 ** 53 - 1, next()][next() % 7]!;
    yield [vals, key];
  }
  // (Horner's residue is negative here before it is normalised)
  for (const last of [-1, -P, -(2 ** 52), -(2 ** 52) + 1]) yield [[0, 0, P, 0, -P, last], 7];
  // h * A + v one below a multiple of P (the remainder's edge).
  for (const a of [2 ** 30, P - 2, 123456789]) {
    const b = Number((((-1n - BigInt(a) * 1000003n) % BigInt(P)) + BigInt(P)) % BigInt(P));
    yield [[0, 0, 0, 0, a, b], 9];
  }
}

describe('row digest (verify by rows, #15)', () => {
  it('the JavaScript term equals the SQL term and the exact definition on edge values', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE t (${COLS.map((c) => `${c} INTEGER`).join(', ')}, k INTEGER NOT NULL) STRICT`);
    const ins = db.prepare(`INSERT INTO t VALUES (${COLS.map(() => '?').join(', ')}, ?)`);
    const all = [...rows(3000)];
    for (const [v, k] of all) ins.run(...v.map((x) => (x !== x ? null : x)), k);
    const sql = db
      .prepare(`SELECT ${termSql(COLS, 'k')} FROM t ORDER BY rowid`)
      .pluck()
      .all() as number[];
    let sum = 0;
    all.forEach(([v, k], i) => {
      const js = rowTerm(Float64Array.from(v), 0, v.length, k);
      expect([js, sql[i]], `row ${v.join(',')} key ${k}`).toEqual([Number(reference(v, k)), js]);
      sum += js;
    });
    // The range digest: SQLite's sum() over the same rows is the JavaScript sum.
    expect(
      db
        .prepare(`SELECT sum(${termSql(COLS, 'k')}) FROM t`)
        .pluck()
        .get(),
    ).toBe(sum);
    db.close();
  });

  it('one changed value changes the term unless it is congruent mod 2^31 - 1', () => {
    let checked = 0;
    for (const [v, k] of rows(300))
      for (let j = 0; j < v.length; j++)
        for (const w of EDGES) {
          const old = v[j]!;
          // (NULL counts as NULL_CODE)
          const enc = (x: number) => BigInt(x !== x ? NULL_CODE : x);
          const same = (enc(old) - enc(w)) % BigInt(P) === 0n;
          const changed = [...v];
          changed[j] = w;
          const a = rowTerm(Float64Array.from(v), 0, v.length, k);
          const b = rowTerm(Float64Array.from(changed), 0, v.length, k);
          if (!same) {
            expect(b, `column ${j}: ${old} -> ${w}`).not.toBe(a);
            checked++;
          }
        }
    expect(checked).toBeGreaterThan(30000);
  });
});
