// x87 fast path on double-double values: + - * / sqrt correctly rounded to the 64-bit significand
// (precision control 64, round to nearest even) without the 80-bit integer machinery.
//
// What this module guarantees:
// - A "dd" value is hi + lo, two doubles, with hi = RN53(hi + lo) (so |lo| <= ulp(hi)/2), lo != 0,
//   the exact value a finite extended number with a 64-bit significand, and DD_MIN <= |hi| <= DD_MAX.
//   In that range (for operands and results) nothing below overflows or underflows: the error terms
//   computed by TwoSum and Dekker's product are exact, every other rounded step is within 2^-53 of
//   its result, and the value's last significand bit (2^(E-63) >= 2^-483) is a normal double.
// - ddArith gives either the exact x87 result (RN to 64 bits of the exact result, PE when inexact,
//   C1 when the magnitude was rounded up) or false, and then the caller runs the 80-bit code. How:
//   each operation writes its exact result X as y0 + y1 + residual, where y0 + y1 is an error-free
//   sum (|y1| <= ulp(y0)/2) and eps bounds |residual| (eps = 0: X = y0 + y1 exactly). round64 then
//   rounds y1 to the 64-bit grid of y0's binade; the answer stands only when the residual cannot
//   move X across a rounding boundary or onto a grid point (4 eps inside both). When y0 is a power
//   of two (the grid changes at it) or out of range, it gives up. Ties (eps = 0) are exact: the host
//   rounds y1 + C with C an even multiple of the grid step, so ties go to even as the x87 does.
// - Nothing allocates: operands and results travel through the typed arrays below.

import { C1, f64, HI, LO, PE, pow2, rr, S, SPLIT, TWO32, u32 } from './fpu-ext.js';

/** Range of |hi| for dd values and fast-path operands and results: [2^-DD_EXP, 2^DD_EXP]. */
export const DD_EXP = 420;
const DD_MIN = 2 ** -DD_EXP;
const DD_MAX = 2 ** DD_EXP;

/** Operands: a = ddIn[0] + ddIn[1], b = ddIn[2] + ddIn[3] (a plain double has lo = 0). */
export const ddIn = new Float64Array(4);
/** Result (hi, lo): lo = 0 when the result is exactly a double. Flags go to S.fastF. */
export const ddOut = new Float64Array(2);
/**
 * P2[e] = 2^(e-1023) for the biased exponents e of normal doubles (a table: building powers of two
 * through f64/u32 costs store-forwarding stalls in the hot path).
 */
export const P2 = new Float64Array(2047);
for (let e = 1; e < 2047; e++) P2[e] = pow2(e - 1023);
/** 2^-52, twice the relative error bound of a rounded operation. */
const U52 = 2 ** -52;
/** round64's input: y0, y1, eps (no double crosses a call as an argument, so none is boxed). */
const ry = new Float64Array(3);

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
  const c = 1.5 * P2[e - 11]!; // its ulp is the 64-bit grid step U = 2^(e-1023-63)
  const half = P2[e - 64]!; // U / 2
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
  let ok = false;
  const ah = ddIn[0]!;
  const bh = ddIn[2]!;
  if (inRange(ah)) {
    if (op === 8) ok = ah > 0 && ddSqrt();
    else if (inRange(bh)) {
      if (op === 5 || op === 7) {
        // Reversed forms: swap the operands.
        ddIn[0] = bh;
        ddIn[2] = ah;
        const t = ddIn[1]!;
        ddIn[1] = ddIn[3]!;
        ddIn[3] = t;
      }
      ok = op === 1 ? ddMul() : op >= 6 ? ddDiv() : ddAdd(op !== 0);
    }
  }
  ddStats[ok ? 0 : 1]! += 1;
  return ok;
}

/**
 * Fast-path results [0] and give-ups [1], for profiles and for tests that must see the path taken
 * (doubles: a counter past 2^30 would leave V8's small integers and allocate on every increment).
 */
export const ddStats = new Float64Array(2);

// The operations below write TwoSum (Knuth: s = a + b, v = s - a, err = (a - (s - v)) + (b - v))
// and Dekker's TwoProduct (Veltkamp halves xh + xl of each factor; err = xh*yh - p + xh*yl + xl*yh
// + xl*yl) out in full: as helper calls taking doubles V8 would box their arguments once its
// inlining budget runs out, and this is the x87 programs' hot path.

function ddAdd(sub: boolean): boolean {
  const ah = ddIn[0]!;
  const al = ddIn[1]!;
  const bh = sub ? -ddIn[2]! : ddIn[2]!;
  const bl = sub ? -ddIn[3]! : ddIn[3]!;
  // X = s + e + t + f exactly (two TwoSums), then folded into y0 + y1 + g1 + g2.
  const s = ah + bh;
  let v = s - ah;
  const e = ah - (s - v) + (bh - v);
  if (al === 0 && bl === 0) {
    ry[0] = s;
    ry[1] = e;
    ry[2] = 0;
    return round64();
  }
  const t = al + bl;
  v = t - al;
  const f = al - (t - v) + (bl - v);
  const z = e + t;
  v = z - e;
  const g1 = e - (z - v) + (t - v);
  const z2 = z + f;
  v = z2 - z;
  const g2 = z - (z2 - v) + (f - v);
  const y0 = s + z2;
  v = y0 - s;
  ry[0] = y0;
  ry[1] = s - (y0 - v) + (z2 - v);
  ry[2] = Math.abs(g1) + Math.abs(g2);
  return round64();
}

function ddMul(): boolean {
  const ah = ddIn[0]!;
  const al = ddIn[1]!;
  const bh = ddIn[2]!;
  const bl = ddIn[3]!;
  let t = SPLIT * ah;
  const ahh = t - (t - ah);
  const ahl = ah - ahh;
  t = SPLIT * bh;
  const bhh = t - (t - bh);
  const bhl = bh - bhh;
  const p = ah * bh;
  const pe = ahh * bhh - p + ahh * bhl + ahl * bhh + ahl * bhl; // ah*bh = p + pe exactly
  if (al === 0 && bl === 0) {
    ry[0] = p;
    ry[1] = pe;
    ry[2] = 0;
    return round64();
  }
  // X = p + pe + ah*bl + al*bh + al*bl. The cross terms are about 2^-53 X, so their rounding
  // errors (each at most 2^-53 of the rounded value, no underflow in range) are about 2^-106 X:
  // they go to the residual's bound with al*bl instead of being computed exactly.
  const c1 = ah * bl;
  const c2 = al * bh;
  const c = c1 + c2;
  const m = pe + c;
  const y0 = p + m;
  const v = y0 - p;
  ry[0] = y0;
  ry[1] = p - (y0 - v) + (m - v);
  ry[2] = U52 * (Math.abs(c1) + Math.abs(c2) + Math.abs(c) + Math.abs(m)) + 2 * Math.abs(al * bl);
  return round64();
}

function ddDiv(): boolean {
  const nh = ddIn[0]!;
  const nl = ddIn[1]!;
  const dh = ddIn[2]!;
  const dl = ddIn[3]!;
  const q0 = nh / dh;
  // R = n - q0*d exactly = (nh - p) - pe + nl - q0*dl, with q0*dh = p + pe (TwoProduct) and
  // nh - p exact (Sterbenz: p is within a few ulps of nh). r is R computed in four rounded steps,
  // each off by at most 2^-53 of its result: |R - r| <= rErr.
  let t = SPLIT * q0;
  const qh = t - (t - q0);
  const ql = q0 - qh;
  t = SPLIT * dh;
  const dhh = t - (t - dh);
  const dhl = dh - dhh;
  const p = q0 * dh;
  const pe = qh * dhh - p + qh * dhl + ql * dhh + ql * dhl;
  const a1 = nh - p - pe;
  const a2 = a1 + nl;
  const qd = q0 * dl;
  const r = a2 - qd;
  const rErr = U52 * (Math.abs(a1) + Math.abs(a2) + Math.abs(qd) + Math.abs(r));
  // X = q0 + R/d. q1 = r/dh is within 2^-53 |q1| of r/dh, r/dh within 2^-52 of r/d (|dl| <=
  // 2^-53 |dh|), and (R - r)/d <= rErr/|dh| (1 + 2^-52): eps doubles each bound.
  const q1 = r / dh;
  const y0 = q0 + q1;
  const v = y0 - q0;
  ry[0] = y0;
  ry[1] = q0 - (y0 - v) + (q1 - v);
  ry[2] = 2 ** -51 * Math.abs(q1) + (2 * rErr) / Math.abs(dh);
  return round64();
}

function ddSqrt(): boolean {
  const ah = ddIn[0]!;
  const al = ddIn[1]!;
  const s0 = Math.sqrt(ah);
  // R = a - s0^2 exactly = (ah - S) - Se + al, ah - S exact (Sterbenz).
  const t = SPLIT * s0;
  const sh = t - (t - s0);
  const sl = s0 - sh;
  const sq = s0 * s0;
  const se = sh * sh - sq + 2 * (sh * sl) + sl * sl;
  const d0 = ah - sq;
  const r1 = d0 - se;
  let v = r1 - d0;
  let rErr = Math.abs(d0 - (r1 - v) - (se + v));
  const r = r1 + al;
  v = r - r1;
  rErr += Math.abs(r1 - (r - v) + (al - v));
  // sqrt(s0^2 + R) = s0 sqrt(1 + t), t = R/s0^2 (|t| < 2^-50): s0 (1 + t/2) is within s0 t^2/4 =
  // (R/(2 s0))^2 / s0; q1 = r/(2 s0) is within 2^-53 |q1| of r/(2 s0), and (R - r)/(2 s0) <= rErr/s0.
  const q1 = r / (2 * s0);
  const y0 = s0 + q1;
  v = y0 - s0;
  ry[0] = y0;
  ry[1] = s0 - (y0 - v) + (q1 - v);
  ry[2] = 2 ** -51 * Math.abs(q1) + (2 * q1 * q1) / s0 + rErr / s0;
  return round64();
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
