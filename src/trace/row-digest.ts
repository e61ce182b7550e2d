// The row digest verify compares (row-check.ts): one integer per range of rows, computed the same
// way from packed rows in JavaScript and from stored rows by one SQL aggregate, so the stored rows
// are never read into JavaScript (better-sqlite3 reads a row at about twice the cost of inserting
// it, and verify must cover every row a recording wrote).
// Definition, for a row with values v1..vm (NULL = NULL_CODE) and key k >= 0:
//   h = Horner(v1..vm) = (...((v1 * A + v2) * A + v3)...) mod P            (P = 2^31 - 1, prime)
//   term = h * (1 + k mod (P - 1)) mod P, in [0, P)
//   digest = the exact sum of the terms (< 2^49 for up to 2^18 rows: exact in a double and in
//   SQLite's int64 sum()).
// Guarantees:
// - rowTerm() and termSql() agree exactly on every row of integers |v| < 2^53 (the values a trace
//   stores; test/trace-digest.test.ts checks them on edge values): JavaScript keeps every
//   intermediate below 2^53, SQLite below 2^63, and both reduce to the same residue.
// - A digest changes when one value of one row changes, unless the new value is congruent to the
//   old one modulo P, NULL counting as NULL_CODE (A^i and the weight are units mod P); when two rows exchange values, unless
//   their keys are congruent modulo P - 1; other changes go unseen with a chance of about 1 in P
//   per range. Rows added or removed are the caller's count, not the digest's.

/** The prime modulus (a Mersenne prime: residues fit int32 and products of two fit int64). */
export const P = 2147483647;
/** Horner multiplier: below 2^20, so h * A + v stays below 2^51 + |v| for 0 <= h < P. */
const A = 1000003;
/** What a NULL counts as (NaN in packed rows). */
export const NULL_CODE = 1073741827;
/** |v| below this can be added to h * A without reducing it first (the sum stays below 2^53). */
const SMALL = 2 ** 52;

/** a * b mod P for 0 <= a, b < P, exactly (the product itself would pass 2^53). */
function mulmod(a: number, b: number): number {
  return (((a * (b >>> 16)) % P) * 65536 + a * (b & 65535)) % P;
}

/** The term of one row: `width` values from data[at] (NaN as NULL), weighed by `key` (>= 0). */
export function rowTerm(data: Float64Array, at: number, width: number, key: number): number {
  let h = 0;
  for (let j = 0; j < width; j++) {
    let v = data[at + j]!;
    if (v !== v) v = NULL_CODE;
    else if (!(v < SMALL && v > -SMALL)) v %= P;
    // x mod P in [0, P) without a call to fmod: |x| < 2^52.6, so x / P is below 2^21.6 where an
    // ulp is at most 2^-31 < 1 / P, the least distance of a non-integer x / P from an integer:
    // rounding the quotient never crosses one, and its floor is exact.
    const x = h * A + v;
    h = x - Math.floor(x / P) * P;
  }
  return mulmod(h, 1 + (key % (P - 1)));
}

/**
 * The SQL expression of a row's term: `cols` in order (each may be any expression, NULL as
 * NULL_CODE) weighed by `key`; sum() of it over a range is the range's digest.
 */
export function termSql(cols: readonly string[], key: string): string {
  let h = '0';
  for (const c of cols) h = `((${h}) * ${A} + coalesce(${c}, ${NULL_CODE})) % ${P}`;
  return `((((${h}) + ${P}) % ${P}) * (1 + (${key}) % ${P - 1})) % ${P}`;
}
