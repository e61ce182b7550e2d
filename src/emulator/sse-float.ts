// IEEE binary32/binary64 arithmetic as the SSE unit does it, on JS numbers: correctly rounded + - * / sqrt,
// conversions and rounding to integers under MXCSR's rounding control, with the exception flags (IE DE ZE
// OE UE PE), denormals-are-zero on inputs and flush-to-zero on outputs.
// Why it is exact: JS doubles are binary64 with round-to-nearest-even, so the nearest result is the host's;
// binary32 results are Math.fround of the double result, which for + - * / sqrt of binary32 operands is the
// correctly rounded binary32 value (binary64 has more than 2p+2 bits, so the double rounding is
// innocuous). The other rounding modes and the inexact flag need only the sign of (exact - nearest): error-
// free transformations (TwoSum, Veltkamp's TwoProduct) give it where no intermediate under- or overflows,
// and exact BigInt arithmetic on the operands' significands elsewhere. Tininess is detected after
// rounding, as x86 does.
// NaN operands are the caller's (sse.ts): it works on their bit patterns, because converting a
// binary32 signalling NaN to a JS number quiets it. Functions here take and return non-NaN numbers,
// except that an invalid operation returns NaN and the caller writes the default QNaN's bits.

import { twoProdErr } from './fpu-ext.js';

/** MXCSR exception flag bits (the mask bits are these << 7). */
export const MX_IE = 0x01;
export const MX_DE = 0x02;
export const MX_ZE = 0x04;
export const MX_OE = 0x08;
export const MX_UE = 0x10;
export const MX_PE = 0x20;
export const MXCSR_DAZ = 0x40;
export const MXCSR_FZ = 0x8000;

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

export const OP_ADD = 0;
export const OP_SUB = 1;
export const OP_MUL = 2;
export const OP_DIV = 3;
export const OP_SQRT = 4;

/** The MXCSR settings of the current instruction and the flags it raised (set up by sse.ts). */
export const MX = {
  rc: RC_NEAREST,
  daz: false,
  ftz: false,
  /** Flags masked in MXCSR (bit set = masked), in flag positions. */
  masked: 0x3f,
  /** Flags already set in MXCSR before the instruction (PE set allows the fast path). */
  sticky: 0,
  /** Flags raised by the current instruction. */
  flags: 0,
};

const DBL_MIN = 2 ** -1022;
const FLT_MIN = 2 ** -126;
const SAFE_LO = 2 ** -960;
const SAFE_HI = 2 ** 995;

const f64 = new Float64Array(1);
const u64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;

/** Denormal input: DE, or with DAZ the signed zero. */
export function in64(x: number): number {
  if (x !== 0 && x > -DBL_MIN && x < DBL_MIN) {
    if (MX.daz) return x < 0 ? -0 : 0;
    MX.flags |= MX_DE;
  }
  return x;
}

export function in32(x: number): number {
  if (x !== 0 && x > -FLT_MIN && x < FLT_MIN) {
    if (MX.daz) return x < 0 ? -0 : 0;
    MX.flags |= MX_DE;
  }
  return x;
}

/** DAZ without DE (conversions to integer do not report denormal operands; a NaN lane's other operand). */
export function daz(x: number, min: number): number {
  return MX.daz && x !== 0 && x > -min && x < min ? (x < 0 ? -0 : 0) : x;
}

function next64(x: number, up: boolean): number {
  if (x === 0) return up ? 5e-324 : -5e-324;
  if ((x === Infinity && up) || (x === -Infinity && !up)) return x;
  f64[0] = x;
  if (x > 0 === up) {
    if (u64[LO] === 0xffffffff) {
      u64[LO] = 0;
      u64[HI] = u64[HI]! + 1;
    } else u64[LO] = u64[LO]! + 1;
  } else if (u64[LO] === 0) {
    u64[LO] = 0xffffffff;
    u64[HI] = u64[HI]! - 1;
  } else u64[LO] = u64[LO]! - 1;
  return f64[0]!;
}

function next32(x: number, up: boolean): number {
  if (x === 0) return up ? 2 ** -149 : -(2 ** -149);
  if ((x === Infinity && up) || (x === -Infinity && !up)) return x;
  f32[0] = x;
  u32[0] = x > 0 === up ? u32[0]! + 1 : u32[0]! - 1;
  return f32[0]!;
}

/** The rounded result per RC, from the nearest result r and the sign s of (exact - r). */
function directed(r: number, s: number, single: boolean): number {
  switch (MX.rc) {
    case RC_DOWN:
      return s < 0 ? (single ? next32(r, false) : next64(r, false)) : r;
    case RC_UP:
      return s > 0 ? (single ? next32(r, true) : next64(r, true)) : r;
    case RC_ZERO:
      if ((r > 0 && s < 0) || (r < 0 && s > 0)) return single ? next32(r, r < 0) : next64(r, r < 0);
      return r;
    default:
      return r;
  }
}

/** Final rounding, overflow and underflow of a finite exact value whose nearest value is r. */
function finish(r: number, s: number, single: boolean): number {
  const overflowNearest = r === Infinity || r === -Infinity;
  if (s !== 0) {
    MX.flags |= MX_PE;
    if (MX.rc !== RC_NEAREST) r = directed(r, s, single);
  }
  if (overflowNearest || r === Infinity || r === -Infinity) {
    MX.flags |= MX_OE | MX_PE;
    return r;
  }
  const min = single ? FLT_MIN : DBL_MIN;
  if (r === 0 ? s !== 0 : r > -min && r < min) {
    if (MX.ftz && MX.masked & MX_UE) {
      MX.flags |= MX_UE | MX_PE;
      return r < 0 || (r === 0 && s < 0) || Object.is(r, -0) ? -0 : 0;
    }
    if (s !== 0 || (MX.masked & MX_UE) === 0) MX.flags |= MX_UE;
  }
  return r;
}

/** Rounds an exact value given as a double d (with the sign s of exact - d) to binary32. */
export function round32(d: number, s: number): number {
  const r = Math.fround(d);
  return finish(r, r !== d ? (d > r ? 1 : -1) : s, true);
}

/** Whether |x| is in the range where the error-free transformations below cannot under- or overflow. */
function inSafe(x: number): boolean {
  return (x >= SAFE_LO && x < SAFE_HI) || (x <= -SAFE_LO && x > -SAFE_HI);
}

/** Sign of (exact a op b) - r for finite a, b (r the host's nearest double result, possibly infinite). */
function errSign(op: number, a: number, b: number, r: number): number {
  if (r === Infinity) return -1;
  if (r === -Infinity) return 1;
  const ar = Math.abs(r);
  switch (op) {
    case OP_ADD:
    case OP_SUB: {
      const bb = op === OP_SUB ? -b : b;
      const t = r - a;
      const e = a - (r - t) + (bb - t);
      return e > 0 ? 1 : e < 0 ? -1 : 0;
    }
    case OP_MUL:
      if (ar >= SAFE_LO && ar < SAFE_HI && Math.abs(a) < SAFE_HI && Math.abs(b) < SAFE_HI) {
        const e = twoProdErr(a, b, r);
        return e > 0 ? 1 : e < 0 ? -1 : 0;
      }
      break;
    case OP_DIV:
      if (ar >= SAFE_LO && ar < SAFE_HI && inSafe(a) && inSafe(b)) {
        const p = r * b;
        const e = twoProdErr(r, b, p);
        const d = a - p;
        const sg = d > e ? 1 : d < e ? -1 : 0;
        return b < 0 ? -sg : sg;
      }
      break;
    case OP_SQRT:
      if (a >= SAFE_LO && a < SAFE_HI) {
        const p = r * r;
        const e = twoProdErr(r, r, p);
        const d = a - p;
        return d > e ? 1 : d < e ? -1 : 0;
      }
      break;
  }
  return errSignExact(op, a, b, r);
}

/** A finite double as m * 2^e (m a signed BigInt). */
function parts(x: number): [bigint, number] {
  if (x === 0) return [0n, 0];
  f64[0] = x;
  const hi = u64[HI]!;
  let e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(u64[LO]!);
  if (e === 0) e = 1;
  else m |= 1n << 52n;
  return [x < 0 ? -m : m, e - 1075];
}

/** Sign of x*2^ex - y*2^ey. */
function cmpScaled(x: bigint, ex: number, y: bigint, ey: number): number {
  const e = Math.min(ex, ey);
  const d = (x << BigInt(ex - e)) - (y << BigInt(ey - e));
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

function errSignExact(op: number, a: number, b: number, r: number): number {
  const [ma, ea] = parts(a);
  const [mb, eb] = parts(op === OP_SUB ? -b : b);
  const [mr, er] = parts(r);
  switch (op) {
    case OP_ADD:
    case OP_SUB: {
      // (a + b) - r with all three at the smallest exponent.
      const e = Math.min(ea, eb, er);
      const d = (ma << BigInt(ea - e)) + (mb << BigInt(eb - e)) - (mr << BigInt(er - e));
      return d > 0n ? 1 : d < 0n ? -1 : 0;
    }
    case OP_MUL:
      return cmpScaled(ma * mb, ea + eb, mr, er);
    case OP_DIV: {
      const sg = cmpScaled(ma, ea, mr * mb, er + eb);
      return b < 0 ? -sg : sg;
    }
    default:
      return cmpScaled(ma, ea, mr * mr, er + er);
  }
}

/**
 * a op b (b ignored for sqrt) on non-NaN operands already conditioned by in64/in32, rounded to binary64
 * (single = false) or binary32. Returns NaN for an invalid operation (IE raised).
 */
export function arith(op: number, a: number, b: number, single: boolean): number {
  let d: number;
  switch (op) {
    case OP_ADD:
      d = a + b;
      break;
    case OP_SUB:
      d = a - b;
      break;
    case OP_MUL:
      d = a * b;
      break;
    case OP_DIV:
      d = a / b;
      break;
    default:
      d = Math.sqrt(a);
      b = 0;
  }
  if (d !== d) {
    MX.flags |= MX_IE;
    return NaN;
  }
  if (op === OP_DIV && b === 0) {
    if (a === a && a !== Infinity && a !== -Infinity) MX.flags |= MX_ZE;
    return d;
  }
  if (a === Infinity || a === -Infinity || b === Infinity || b === -Infinity) return d;
  if (d === 0 && (op === OP_ADD || op === OP_SUB)) {
    // An exact zero sum of opposite signs is +0, except -0 when rounding down.
    if (MX.rc === RC_DOWN) {
      const bb = op === OP_SUB ? -b : b;
      if (a < 0 || bb < 0 || Object.is(a, -0) || Object.is(bb, -0)) return -0;
    }
    return d;
  }
  if (single) {
    const r = Math.fround(d);
    if (MX.rc === RC_NEAREST && MX.sticky & MX_PE && (r >= FLT_MIN || r <= -FLT_MIN) && r - r === 0) return r;
    return finish(r, r !== d ? (d > r ? 1 : -1) : errSign(op, a, b, d), true);
  }
  if (MX.rc === RC_NEAREST && MX.sticky & MX_PE && (d >= DBL_MIN || d <= -DBL_MIN) && d - d === 0) return d;
  return finish(d, errSign(op, a, b, d), false);
}

/** A double (non-NaN) to binary32 per RC (cvtsd2ss, cvtpd2ps). */
export function toSingle(x: number): number {
  x = in64(x);
  if (x === Infinity || x === -Infinity) return x;
  return round32(x, 0);
}

/** An int32 to binary32 per RC (cvtsi2ss, cvtdq2ps). */
export function intToSingle(v: number): number {
  const r = Math.fround(v);
  if (r === v) return r;
  MX.flags |= MX_PE;
  return MX.rc === RC_NEAREST ? r : directed(r, v > r ? 1 : -1, true);
}

/**
 * A binary32/binary64 value to int32 (cvt*2si, cvt*2dq): rounded per RC, or truncated. NaN and
 * out-of-range values give the integer indefinite 0x80000000 with IE.
 */
export function toInt32(x: number, truncate: boolean, single: boolean): number {
  if (x !== x) {
    MX.flags |= MX_IE;
    return -0x80000000;
  }
  x = daz(x, single ? FLT_MIN : DBL_MIN);
  let v: number;
  if (truncate || MX.rc === RC_ZERO) v = Math.trunc(x);
  else if (MX.rc === RC_DOWN) v = Math.floor(x);
  else if (MX.rc === RC_UP) v = Math.ceil(x);
  else {
    v = Math.round(x);
    // Math.round breaks ties upward; the SSE unit breaks them to even.
    if (v - x === 0.5 && v % 2 !== 0) v -= 1;
  }
  if (!(v >= -2147483648 && v <= 2147483647)) {
    MX.flags |= MX_IE;
    return -0x80000000;
  }
  if (v !== x) MX.flags |= MX_PE;
  return v | 0;
}

/**
 * CMPPS/CMPSD predicate 0..7 (eq lt le unord neq nlt nle ord) on conditioned operands; nanA/nanB say
 * which are NaNs and snan whether one is signalling. Returns the truth value; raises IE as the SDM says
 * (signalling predicates lt le nlt nle on any NaN, the quiet ones on an SNaN).
 */
export function compare(pred: number, a: number, b: number, unordered: boolean, snan: boolean): boolean {
  if (unordered && (snan || pred === 1 || pred === 2 || pred === 5 || pred === 6)) MX.flags |= MX_IE;
  switch (pred & 7) {
    case 0:
      return !unordered && a === b;
    case 1:
      return !unordered && a < b;
    case 2:
      return !unordered && a <= b;
    case 3:
      return unordered;
    case 4:
      return unordered || a !== b;
    case 5:
      return unordered || !(a < b);
    case 6:
      return unordered || !(a <= b);
    default:
      return !unordered;
  }
}
