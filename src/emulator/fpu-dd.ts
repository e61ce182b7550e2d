// x87 fast path on double-double values: + - * / sqrt correctly rounded to the 64-bit significand
// (precision control 64, round to nearest even) without the 80-bit integer machinery.
//
// What this module guarantees:
// - A "dd" value is hi + lo, two doubles, with hi = RN53(hi + lo) (so |lo| <= ulp(hi)/2), lo != 0,
//   the exact value a finite extended number with a 64-bit significand, and DD_MIN <= |hi| <= DD_MAX.
//   In that range every error term below is an exact double (no overflow, no underflow) and the
//   value's last significand bit (2^(E-63) >= 2^-466) is a normal double.
// - ddArith gives either the exact x87 result (RN to 64 bits of the exact result, PE when inexact,
//   C1 when the magnitude was rounded up) or false, and then the caller runs the 80-bit code. How:
//   each operation writes its exact result X as y0 + y1 + residual, where y0 + y1 is an error-free
//   sum (|y1| <= ulp(y0)/2) and eps bounds |residual| (eps = 0: X = y0 + y1 exactly). round64 then
//   rounds y1 to the 64-bit grid of y0's binade; the answer stands only when the residual cannot
//   move X across a rounding boundary or onto a grid point (4 eps inside both). When y0 is a power
//   of two (the grid changes at it) or out of range, it gives up. Ties (eps = 0) are exact: the host
//   rounds y1 + C with C an even multiple of the grid step, so ties go to even as the x87 does.
// - Nothing allocates: operands and results travel through the typed arrays below.

import { C1, f64, HI, LO, PE, pow2, rr, S, TWO32, twoProdErr, u32 } from './fpu-ext.js';

/** Range of |hi| for dd values and fast-path operands and results: [2^-DD_EXP, 2^DD_EXP]. */
export const DD_EXP = 420;
const DD_MIN = 2 ** -DD_EXP;
const DD_MAX = 2 ** DD_EXP;

/** Operands: a = ddIn[0] + ddIn[1], b = ddIn[2] + ddIn[3] (a plain double has lo = 0). */
export const ddIn = new Float64Array(4);
/** Result (hi, lo): lo = 0 when the result is exactly a double. Flags go to S.fastF. */
export const ddOut = new Float64Array(2);
/** Error half of twoSum. */
const ts = new Float64Array(1);
/** round64's input: y0, y1, eps (no double crosses a call as an argument, so none is boxed). */
const ry = new Float64Array(3);

/** a + b rounded; its exact error goes to ts[0] (Knuth's TwoSum: a + b = result + ts[0]). */
function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  ts[0] = a - (s - bb) + (b - bb);
  return s;
}

/** round64 on (y0, y1, eps), passed through ry. */
function round64of(y0: number, y1: number, eps: number): boolean {
  ry[0] = y0;
  ry[1] = y1;
  ry[2] = eps;
  return round64();
}

function inRange(v: number): boolean {
  const m = Math.abs(v);
  return m >= DD_MIN && m <= DD_MAX;
}

/**
 * Rounds X (= y0 + y1 + residual, |y1| <= ulp(y0)/2, |residual| <= eps) to 64 significand bits,
 * nearest even, into ddOut and S.fastF; false when that cannot be decided here.
 */
function round64(): boolean {
  const y0 = ry[0]!;
  const y1 = ry[1]!;
  const eps = ry[2]!;
  if (!inRange(y0)) return false;
  f64[0] = y0;
  const w = u32[HI]!;
  if ((w & 0xfffff) === 0 && u32[LO] === 0) return false; // power of two: X may lie in the binade below
  const e = (w >>> 20) & 0x7ff; // X's binade is y0's: [2^(e-1023), 2^(e-1022))
  u32[LO] = 0;
  u32[HI] = ((e - 11) << 20) | 0x80000;
  const c = f64[0]!; // 1.5 * 2^(e-1023-11): its ulp is the 64-bit grid step U = 2^(e-1023-63)
  u32[HI] = (e - 64) << 20;
  const half = f64[0]!; // U / 2
  const q = y1 + c - c; // y1 rounded to a multiple of U (|y1| <= 2^(e-1023-53) keeps y1 + c in c's binade)
  const r = y1 - q; // exact, |r| <= U/2
  const ar = Math.abs(r);
  if (eps !== 0) {
    // X - (y0 + q) = r + residual: inside (0, U/2) in magnitude with r's sign, whatever the residual.
    const m = 4 * eps;
    if (!(m < ar && m < half - ar)) return false;
  }
  const s = y0 + q; // y0 + q is on the grid; (s, lo) its dd form (Fast2Sum: |q| <= |y0|)
  ddOut[0] = s;
  ddOut[1] = q - (s - y0);
  // Inexact when r != 0; the magnitude grew when X - result (sign of r) is against X's sign.
  S.fastF = r === 0 ? 0 : r < 0 === y0 > 0 ? PE | C1 : PE;
  return true;
}

/**
 * op: 0 a+b, 1 a*b, 4 a-b, 5 b-a, 6 a/b, 7 b/a, 8 sqrt(a) on the ddIn operands, for PC = 64 and
 * round to nearest. True: ddOut/S.fastF hold the x87 result and flags; false: use the 80-bit path.
 */
export function ddArith(op: number): boolean {
  if (ddStep(op)) {
    ddStats.hits++;
    return true;
  }
  ddStats.misses++;
  return false;
}

/** Fast-path results and give-ups (for profiles and for tests that must see the path taken). */
export const ddStats = { hits: 0, misses: 0 };

function ddStep(op: number): boolean {
  const ah = ddIn[0]!;
  if (!inRange(ah)) return false;
  if (op === 8) return ah > 0 && ddSqrt(); // sqrt of a negative: the 80-bit path answers
  const bh = ddIn[2]!;
  if (!inRange(bh)) return false;
  if (op === 5 || op === 7) {
    ddIn[0] = bh;
    ddIn[2] = ah;
    const t = ddIn[1]!;
    ddIn[1] = ddIn[3]!;
    ddIn[3] = t;
  }
  if (op === 1) return ddMul();
  if (op >= 6) return ddDiv();
  return ddAdd(op !== 0);
}

function ddAdd(sub: boolean): boolean {
  const ah = ddIn[0]!;
  const al = ddIn[1]!;
  const bh = sub ? -ddIn[2]! : ddIn[2]!;
  const bl = sub ? -ddIn[3]! : ddIn[3]!;
  // X = s + e + t + f exactly (two TwoSums), then folded into y0 + y1 + g1 + g2.
  const s = twoSum(ah, bh);
  const e = ts[0]!;
  if (al === 0 && bl === 0) return round64of(s, e, 0);
  const t = twoSum(al, bl);
  const f = ts[0]!;
  const z = twoSum(e, t);
  const g1 = ts[0]!;
  const z2 = twoSum(z, f);
  const g2 = ts[0]!;
  const y0 = twoSum(s, z2);
  return round64of(y0, ts[0]!, Math.abs(g1) + Math.abs(g2));
}

function ddMul(): boolean {
  const ah = ddIn[0]!;
  const al = ddIn[1]!;
  const bh = ddIn[2]!;
  const bl = ddIn[3]!;
  const p = ah * bh;
  const pe = twoProdErr(ah, bh, p); // ah*bh = p + pe exactly
  if (al === 0 && bl === 0) return round64of(p, pe, 0);
  // X = p + pe + c1 + c1e + c2 + c2e + al*bl; al*bl is about 2^-106 X and goes to the residual.
  const c1 = ah * bl;
  const c1e = twoProdErr(ah, bl, c1);
  const c2 = al * bh;
  const c2e = twoProdErr(al, bh, c2);
  const m = twoSum(pe, c1);
  const g1 = ts[0]!;
  const m2 = twoSum(m, c2);
  const g2 = ts[0]!;
  const y0 = twoSum(p, m2);
  const eps = Math.abs(g1) + Math.abs(g2) + Math.abs(c1e) + Math.abs(c2e) + 2 * Math.abs(al * bl);
  return round64of(y0, ts[0]!, eps);
}

function ddDiv(): boolean {
  const nh = ddIn[0]!;
  const nl = ddIn[1]!;
  const dh = ddIn[2]!;
  const dl = ddIn[3]!;
  const q0 = nh / dh;
  // R = n - q0*d exactly = (nh - P) - Pe + nl - Q - Qe; nh - P is exact (Sterbenz: P is within
  // a few ulps of nh).
  const p = q0 * dh;
  const pe = twoProdErr(q0, dh, p);
  const q = q0 * dl;
  const qe = twoProdErr(q0, dl, q);
  const r1 = twoSum(nh - p, -pe);
  let rErr = Math.abs(ts[0]!);
  const r2 = twoSum(r1, nl);
  rErr += Math.abs(ts[0]!);
  const r3 = twoSum(r2, -q);
  rErr += Math.abs(ts[0]!);
  const r = twoSum(r3, -qe);
  rErr += Math.abs(ts[0]!);
  // X = q0 + R/d. q1 = r/dh is within 2^-53 |q1| of r/dh, r/dh within 2^-52 of r/d (|dl| <=
  // 2^-53 |dh|), and (R - r)/d <= rErr/|dh| (1 + 2^-52): eps doubles each bound.
  const q1 = r / dh;
  const y0 = twoSum(q0, q1);
  return round64of(y0, ts[0]!, 2 ** -51 * Math.abs(q1) + (2 * rErr) / Math.abs(dh));
}

function ddSqrt(): boolean {
  const ah = ddIn[0]!;
  const al = ddIn[1]!;
  const s0 = Math.sqrt(ah);
  // R = a - s0^2 exactly = (ah - S) - Se + al, ah - S exact (Sterbenz).
  const sq = s0 * s0;
  const se = twoProdErr(s0, s0, sq);
  const r1 = twoSum(ah - sq, -se);
  let rErr = Math.abs(ts[0]!);
  const r = twoSum(r1, al);
  rErr += Math.abs(ts[0]!);
  // sqrt(s0^2 + R) = s0 sqrt(1 + t), t = R/s0^2 (|t| < 2^-50): s0 (1 + t/2) is within s0 t^2/4 =
  // (R/(2 s0))^2 / s0; q1 = r/(2 s0) is within 2^-53 |q1| of r/(2 s0), and (R - r)/(2 s0) <= rErr/s0.
  const q1 = r / (2 * s0);
  const y0 = twoSum(s0, q1);
  return round64of(y0, ts[0]!, 2 ** -51 * Math.abs(q1) + (2 * q1 * q1) / s0 + rErr / s0);
}

/** The 80-bit form of the dd value hi + lo, into rr. */
export function ddToExt(hi: number, lo: number): void {
  f64[0] = hi;
  const w = u32[HI]!;
  const mant = u32[LO]!;
  const e = (w >>> 20) & 0x7ff;
  // |value| = M2 * g with g = 2^(e-1023-64) and M2 = S * 2^12 + k, S hi's 53-bit significand and
  // k = lo/g (an integer, |k| <= 2^11, lo taken with hi's sign): M2 is in [2^64 - 2^11, 2^65).
  const k = (w >>> 31 ? -lo : lo) * pow2(1023 + 64 - e);
  let h = (0x100000 | (w & 0xfffff)) * 4096 + (mant >>> 20);
  let l = ((mant << 12) >>> 0) + k;
  if (l < 0) {
    l += TWO32;
    h--;
  } else if (l >= TWO32) {
    l -= TWO32;
    h++;
  }
  let be = e - 1024 + 16383; // biased exponent of bit 63 when M2 < 2^64
  if (h >= TWO32) {
    // M2 >= 2^64: the significand is M2 / 2 (k is even then: the value has 64 bits).
    l = (l + (h % 2) * TWO32) / 2;
    h = Math.floor(h / 2);
    be++;
  }
  rr[0] = (w >>> 31 ? 0x8000 : 0) | be;
  rr[1] = h;
  rr[2] = l;
}
