// x87 floating-point unit for the i386 user-mode emulator.
//
// What this module guarantees:
// - Architectural bookkeeping is exact: TOP, the tag word, the status word (C0-C3, SF, the six
//   exception flags, ES/B), the control word (reserved bits read back as the hardware does),
//   FOP/FDP, and the 32-bit protected-mode FNSTENV/FNSAVE images. Stack overflow and underflow set
//   IE|SF with C1 = 1/0 and produce the real indefinite (FFFF C000000000000000) exactly as a CPU
//   does with exceptions masked. Comparisons set C0/C2/C3 (or ZF/PF/CF) on the exact 80-bit
//   values, including the unordered result and the IE rules of FCOM vs FUCOM for QNaN/SNaN.
// - Registers hold exact 80-bit extended values (sign, 15-bit exponent, 64-bit significand with
//   its explicit integer bit). A register whose value is exactly a double (most values of
//   programs compiled for doubles) is kept as that double; anything else (64-bit significands,
//   exponents beyond the double range, extended denormals, NaN payloads, unsupported encodings)
//   lives in an 80-bit shadow. Either way every instruction sees the exact value.
// - FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR (register, m32/m64 real and m16/m32 integer forms) and FSQRT
//   are correctly rounded to the precision-control width (PC: 24, 53 or 64 significand bits;
//   the reserved PC=01 acts as 64, like QEMU) under the rounding-control mode (RC), with the
//   15-bit exponent range in every PC, extended denormals, and IEEE overflow/underflow results.
//   They set PE on inexact results with C1 = "rounded up" (magnitude grew), UE (tininess after
//   rounding, masked response: only when also inexact), OE, ZE, IE and DE (denormal operands).
//   Exact double results (and, with PC=53 and round-to-nearest, any normal-range result) come
//   from the host's double arithmetic without touching the 80-bit machinery; the rest use
//   integer arithmetic on 32-bit limbs held in doubles (long division and an exactly corrected
//   Newton step for the square root).
// - FPREM/FPREM1 give the exact remainder; like a CPU (and QEMU) they reduce by at most 63
//   exponent steps at a time (partial remainder with C2 = 1 when the exponents differ by 64 or
//   more), otherwise C2 = 0 and C0/C3/C1 hold the low three quotient bits. FRNDINT, FSCALE and
//   FXTRACT are exact (FSCALE rounds per RC only on overflow/underflow).
// - F2XM1, FYL2X, FYL2XP1 and FPATAN compute what QEMU 5.2+ computes (qemu-i386 is the reference
//   of the differential tests): the same table/polynomial algorithms, evaluated with the same
//   extended-precision steps, so the results agree bit for bit (they are within an ulp or so of
//   the exact value). FSIN, FCOS, FSINCOS and FPTAN, like QEMU, round the operand to a double
//   (per RC) and return the double sin/cos/tan of it, here correctly rounded (QEMU takes the
//   host's libm, which agrees except for rare last-bit differences); |x| >= 2^63 sets C2 and
//   leaves the operand unchanged (QEMU's test is on the double-rounded operand, and QEMU also
//   treats infinities that way, where a CPU raises IE).
// - Loads from m32/m64/m80 and integers are exact; m80 values keep every bit (payloads,
//   pseudo-denormals, unsupported encodings, which are invalid operands as on a 387+). Stores to
//   m32/m64 reals, m16/m32/m64 integers and packed BCD honour RC and set PE/UE/OE and C1 as the
//   hardware does. FLDPI & co. load the CPU's 64-bit constants rounded per RC (as QEMU does).
// - Exceptions always get the masked response (the one glibc's default control word 0x037F
//   selects). An unmasked exception still gets it (the result is written, the stack popped)
//   and only sets its flag and ES/B: no #MF/SIGFPE is ever delivered, and FWAIT is a no-op.
// - FIP, FCS and FDS are whatever the CPU stores in the public fields (0 by default): the
//   FPU is not told the instruction address.
// - Allocation: ordinary work (loads, stores, compares, + - * / in any precision) allocates
//   nothing: helpers exchange values through module-level typed arrays (so no number is ever
//   boxed; the emulator is single-threaded and they are not reentrant). FPREM/FPREM1 and the
//   transcendental instructions use BigInt temporaries.
// - Where QEMU 7.2 departs from a CPU, this follows the CPU: C1 (QEMU never sets or clears it but
//   in FXAM/FPREM), DE (QEMU never reports it for m32/m64 operands), FPREM1's quotient bits (QEMU
//   leaves them 0), infinities in FSIN & co. (see above), and loads of m64/m32-integer operands
//   with PC = 24 (QEMU rounds them to 24 bits first).

import type { FpuHost } from './types.js';

// Status word bits.
const IE = 0x0001;
const DE = 0x0002;
const ZE = 0x0004;
const OE = 0x0008;
const UE = 0x0010;
const PE = 0x0020;
const SF = 0x0040;
const ES = 0x0080;
const C0 = 0x0100;
const C1 = 0x0200;
const C2 = 0x0400;
const C3 = 0x4000;
const BUSY = 0x8000;
const TOP_MASK = 0x3800;
const CC = C0 | C1 | C2 | C3;

const RC_NEAREST = 0;
const RC_DOWN = 1;
const RC_UP = 2;
const RC_ZERO = 3;

const CMP_GT = 0;
const CMP_LT = 1;
const CMP_EQ = 2;
const CMP_UN = 3;

// Where an operand comes from. A value >= 0 is a physical register number.
const SRC_M32 = -1;
const SRC_M64 = -2;
/** A value exactly representable as a double (integer operand, constant): never a NaN. */
const SRC_VALUE = -3;

// NaN kinds (for propagation).
const K_NUM = 0;
const K_QNAN = 1;
const K_SNAN = 2;
/** Unnormal, pseudo-NaN, pseudo-infinity: invalid operands on a 387 and later. */
const K_BAD = 3;

// Operand classes of the exact arithmetic (K_* order kept for the NaN-like ones).
const CL_ZERO = 0;
const CL_NORM = 1;
const CL_INF = 2;
const CL_QNAN = 3;
const CL_SNAN = 4;
const CL_BAD = 5;

/** Unbiased exponent of the smallest normal extended number. */
const EMIN = -16382;

const TWO32 = 4294967296;
const TWO52 = 4503599627370496;
const DBL_MAX = 1.7976931348623157e308;
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;
const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for binary64
/** Bounds inside which Dekker's exact product of doubles cannot overflow or underflow. */
const FAST_LO = 2 ** -900;
const FAST_HI = 2 ** 990;
const DBL_MIN_NORMAL = 2 ** -1022;

// Shared scratch for bit conversions (one buffer viewed two ways, so no allocation).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32f = new Uint32Array(f32.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

// Module-level "registers" of the helpers below (typed arrays, so that passing 32-bit halves and
// doubles between functions never boxes a number): an 80-bit value as sign|exponent (16 bits)
// and the two significand halves (unsigned 32-bit numbers).
const rr = new Uint32Array(3); // [sign|exponent, significand high, significand low]
// Result of roundShift: the kept integer (kk: high, low), whether bits were lost, whether it was
// incremented (the x87 "rounded up" C1 indication).
const kk = new Float64Array(2); // [kept high (may reach 2^32), kept low]
/** Input of roundShiftX/roundPack: a magnitude h:m with 32 further bits x below it. */
const acc = new Uint32Array(3);
/** Double results of extRound/extToDouble. */
const dres = new Float64Array(1);
let kInexact = false;
let kUp = false;
/** PE/UE/OE/C1 produced by the last extRound. */
let cvtFlags = 0;
/** Exception flags (and C1) raised by the exact-arithmetic helpers since the caller cleared it. */
let xf = 0;

/** 2^q as a double, for q in [-1074, 1023], built from bits so it is exact. */
function pow2(q: number): number {
  if (q >= -1022) {
    u32[HI] = (q + 1023) << 20;
    u32[LO] = 0;
  } else {
    const b = q + 1074;
    if (b >= 32) {
      u32[HI] = 1 << (b - 32);
      u32[LO] = 0;
    } else {
      u32[HI] = 0;
      u32[LO] = (1 << b) >>> 0;
    }
  }
  return f64[0]!;
}

/**
 * Drops the low `s` (>= 0) bits of the 64-bit magnitude h:m = acc[0]:acc[1], with x = acc[2] as
 * 32 further bits below it, rounding per rc (neg is the sign of the value, which directed modes
 * need). Output in kk/kInexact/kUp; kk[0] may reach 2^32 when rounding carries out of 64 bits.
 */
function roundShiftX(s: number, rc: number, neg: boolean): void {
  const h = acc[0]!;
  const m = acc[1]!;
  const x = acc[2]!;
  let hi: number;
  let lo: number;
  let half: number;
  let sticky: boolean;
  if (s === 0) {
    hi = h;
    lo = m;
    half = x >>> 31;
    sticky = (x & 0x7fffffff) !== 0;
  } else if (s < 32) {
    lo = ((m >>> s) | (h << (32 - s))) >>> 0;
    hi = h >>> s;
    half = (m >>> (s - 1)) & 1;
    sticky = (m & ((1 << (s - 1)) - 1)) !== 0 || x !== 0;
  } else if (s === 32) {
    lo = h;
    hi = 0;
    half = m >>> 31;
    sticky = (m & 0x7fffffff) !== 0 || x !== 0;
  } else if (s < 64) {
    const t = s - 32;
    lo = h >>> t;
    hi = 0;
    half = (h >>> (t - 1)) & 1;
    sticky = (h & ((1 << (t - 1)) - 1)) !== 0 || m !== 0 || x !== 0;
  } else if (s === 64) {
    lo = 0;
    hi = 0;
    half = h >>> 31;
    sticky = (h & 0x7fffffff) !== 0 || m !== 0 || x !== 0;
  } else {
    lo = 0;
    hi = 0;
    half = 0;
    sticky = h !== 0 || m !== 0 || x !== 0;
  }
  const inexact = half !== 0 || sticky;
  let up = false;
  if (inexact) {
    if (rc === RC_NEAREST) up = half !== 0 && (sticky || (lo & 1) !== 0);
    else if (rc === RC_DOWN) up = neg;
    else if (rc === RC_UP) up = !neg;
  }
  if (up) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi += 1;
  }
  kk[0] = hi;
  kk[1] = lo;
  kInexact = inexact;
  kUp = up;
}

/** Drops the low `shift` bits of the 64-bit magnitude acc[0]:acc[1] (see roundShiftX). */
function roundShift(shift: number, rc: number, neg: boolean): void {
  acc[2] = 0;
  roundShiftX(shift, rc, neg);
}

/** The value a format overflow gives under rc (IEEE 754: infinity or the largest finite). */
function overflowed(neg: boolean, max: number, rc: number): number {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
  cvtFlags = OE | PE | (toInf ? C1 : 0);
  const m = toInf ? Infinity : max;
  return neg ? -m : m;
}

/**
 * Rounds the finite, non-unnormal 80-bit value in rr to a binary format with `prec` significant
 * bits and normal exponents [emin, emax] under rc; the result goes to dres[0] as a double (exact
 * for binary32 and binary64). Sets cvtFlags.
 */
function extRound(prec: number, emin: number, emax: number, max: number, rc: number): void {
  dres[0] = extRoundD(prec, emin, emax, max, rc);
}

function extRoundD(prec: number, emin: number, emax: number, max: number, rc: number): number {
  const s = rr[0]!;
  const h = rr[1]!;
  const l = rr[2]!;
  cvtFlags = 0;
  const neg = s >= 0x8000;
  if (h === 0 && l === 0) return neg ? -0 : 0;
  const e = s & 0x7fff;
  const E = (e === 0 ? 1 : e) - 16383; // weight of mantissa bit 63
  const lead = E - (h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l));
  if (lead > emax) return overflowed(neg, max, rc);
  const q = (lead >= emin ? lead : emin) - (prec - 1); // weight of the result's last bit
  const sh = q - E + 63;
  acc[0] = h;
  acc[1] = l;
  roundShift(sh > 100 ? 100 : sh, rc, neg);
  const m = kk[0]! * TWO32 + kk[1]!;
  if (kInexact) {
    cvtFlags = PE | (kUp ? C1 : 0);
    if (lead < emin) cvtFlags |= UE;
  }
  if (lead === emax && m === 2 ** prec) return overflowed(neg, max, rc);
  const r = m * pow2(q < -1074 ? -1074 : q);
  return neg ? -r : r;
}

/** The 80-bit value in rr to the nearest double (NaN for NaNs and unsupported encodings), into dres[0]; cvtFlags != 0 when not exact. */
function extToDouble(): void {
  const s = rr[0]!;
  const h = rr[1]!;
  const e = s & 0x7fff;
  if (e === 0x7fff) {
    cvtFlags = 0;
    if (h === 0x80000000 && rr[2] === 0) dres[0] = s >= 0x8000 ? -Infinity : Infinity;
    else {
      cvtFlags = IE;
      dres[0] = NaN;
    }
  } else if (e !== 0 && h < 0x80000000) {
    cvtFlags = IE;
    dres[0] = NaN;
  } else extRound(53, -1022, 1023, DBL_MAX, RC_NEAREST);
}

/** Exact 80-bit form of the binary64 whose bits are in u32 (f64's view), into rr. */
function f64BitsToExt(): void {
  const hi = u32[HI]!;
  const lo = u32[LO]!;
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (e === 0) {
    if (fh === 0 && lo === 0) {
      rr[0] = sign;
      rr[1] = 0;
      rr[2] = 0;
      return;
    }
    // A binary64 denormal is a normal extended number: renormalise.
    const lz = fh !== 0 ? Math.clz32(fh) - 12 : 20 + Math.clz32(lo);
    const n = 12 + lz;
    if (n < 32) {
      rr[1] = ((fh << n) | (lo >>> (32 - n))) >>> 0;
      rr[2] = (lo << n) >>> 0;
    } else {
      rr[1] = (lo << (n - 32)) >>> 0;
      rr[2] = 0;
    }
    rr[0] = sign | (16383 - 1023 - lz);
    return;
  }
  rr[0] = sign | (e === 0x7ff ? 0x7fff : e - 1023 + 16383);
  rr[1] = (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0;
  rr[2] = (lo << 11) >>> 0;
}

function doubleToExt(v: number): void {
  f64[0] = v;
  f64BitsToExt();
}

/** Exact 80-bit form of the binary32 with the given bits, into rr. */
function f32BitsToExt(bits: number): void {
  if ((bits & 0x7f800000) === 0x7f800000) {
    rr[0] = ((bits >>> 16) & 0x8000) | 0x7fff;
    rr[1] = (0x80000000 | ((bits & 0x7fffff) << 8)) >>> 0;
    rr[2] = 0;
    return;
  }
  u32f[0] = bits;
  doubleToExt(f32[0]!);
}

/** 80-bit form of the integer with magnitude hi:lo (unsigned halves), into rr. */
function intToExt(neg: boolean, hi: number, lo: number): void {
  const sign = neg ? 0x8000 : 0;
  if (hi === 0 && lo === 0) {
    rr[0] = sign;
    rr[1] = 0;
    rr[2] = 0;
    return;
  }
  const lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (lz === 0) {
    rr[1] = hi;
    rr[2] = lo;
  } else if (lz < 32) {
    rr[1] = ((hi << lz) | (lo >>> (32 - lz))) >>> 0;
    rr[2] = (lo << lz) >>> 0;
  } else {
    rr[1] = (lo << (lz - 32)) >>> 0;
    rr[2] = 0;
  }
  rr[0] = sign | (16383 + 63 - lz);
}

/** nanKind of the value in rr. */
function nanKindR(): number {
  return nanKind(rr[0]!, rr[1]!, rr[2]!);
}

function nanKind(s: number, h: number, l: number): number {
  const e = s & 0x7fff;
  if (e === 0x7fff) {
    if (h < 0x80000000) return K_BAD;
    if (h === 0x80000000 && l === 0) return K_NUM;
    return h & 0x40000000 ? K_QNAN : K_SNAN;
  }
  return e !== 0 && h < 0x80000000 ? K_BAD : K_NUM;
}

/** Round to an integer per rc, keeping the sign of zero (FRNDINT needs it). */
function roundInt(v: number, rc: number): number {
  switch (rc) {
    case RC_NEAREST:
      // Adding and removing 2^52 rounds to an integer in the current (nearest-even) mode.
      if (!(Math.abs(v) < TWO52) || v === 0) return v;
      return v >= 0 ? v + TWO52 - TWO52 : -(-v + TWO52 - TWO52);
    case RC_DOWN:
      return Math.floor(v);
    case RC_UP:
      return Math.ceil(v);
    default:
      return Math.trunc(v);
  }
}

/** Rounding error of p = a*b (exact when no overflow/underflow): a*b = p + result. */
function twoProdErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

// ---- Exact extended arithmetic ----
//
// Operands are unpacked into two slots: class, sign, unbiased exponent E of significand bit 63
// (denormals are normalised, so E can go below EMIN) and the 64-bit significand with bit 63 set;
// the raw 80-bit bits are kept for NaN propagation. Results go to rr, flags to xf.

const oCls = new Int32Array(2);
const oNeg = new Int32Array(2);
const oExp = new Int32Array(2);
const oHi = new Uint32Array(2);
const oLo = new Uint32Array(2);
const oS = new Int32Array(2);
const oRH = new Uint32Array(2);
const oRL = new Uint32Array(2);

/** Unpacks the 80-bit value in rr into operand slot i. */
function unpack(i: number): void {
  const s = rr[0]!;
  const h = rr[1]!;
  const l = rr[2]!;
  oS[i] = s;
  oRH[i] = h;
  oRL[i] = l;
  oNeg[i] = s >>> 15;
  const e = s & 0x7fff;
  if (e === 0x7fff) {
    oCls[i] =
      h === 0x80000000 && l === 0 ? CL_INF : h < 0x80000000 ? CL_BAD : h & 0x40000000 ? CL_QNAN : CL_SNAN;
    return;
  }
  if (h >= 0x80000000) {
    // Normal, or a pseudo-denormal (valued with exponent 1, and a denormal operand).
    oCls[i] = CL_NORM;
    oHi[i] = h;
    oLo[i] = l;
    if (e === 0) {
      xf |= DE;
      oExp[i] = 1 - 16383;
    } else oExp[i] = e - 16383;
    return;
  }
  if (e !== 0) {
    oCls[i] = CL_BAD;
    return;
  }
  if (h === 0 && l === 0) {
    oCls[i] = CL_ZERO;
    return;
  }
  xf |= DE;
  const lz = h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l);
  if (lz < 32) {
    oHi[i] = ((h << lz) | (l >>> (32 - lz))) >>> 0;
    oLo[i] = (l << lz) >>> 0;
  } else {
    oHi[i] = (l << (lz - 32)) >>> 0;
    oLo[i] = 0;
  }
  oExp[i] = 1 - 16383 - lz;
  oCls[i] = CL_NORM;
}

function unpackDouble(i: number, v: number): void {
  f64[0] = v;
  f64BitsToExt();
  unpack(i);
}

function packZero(neg: number): void {
  rr[0] = neg ? 0x8000 : 0;
  rr[1] = 0;
  rr[2] = 0;
}

function packInf(neg: number): void {
  rr[0] = neg ? 0xffff : 0x7fff;
  rr[1] = 0x80000000;
  rr[2] = 0;
}

function invalidResult(): void {
  xf |= IE;
  rr[0] = 0xffff;
  rr[1] = 0xc0000000;
  rr[2] = 0;
}

/**
 * The result of an operation with a NaN or unsupported operand in slot 0 (and slot 1 when
 * `two`), per the x87 rules: a NaN operand propagates (QNaN over SNaN, else the larger
 * significand, else the positive one), quietened; an unsupported operand gives the indefinite.
 * SNaN and unsupported operands set IE.
 */
function nanPick(two: boolean): void {
  const ca = oCls[0]!;
  const cb = two ? oCls[1]! : CL_ZERO;
  if (ca === CL_BAD || cb === CL_BAD || (ca < CL_QNAN && cb < CL_QNAN)) {
    invalidResult();
    return;
  }
  if (ca === CL_SNAN || cb === CL_SNAN) xf |= IE;
  let useA: boolean;
  if (cb < CL_QNAN) useA = true;
  else if (ca < CL_QNAN) useA = false;
  else if (ca !== cb) useA = ca === CL_QNAN;
  else {
    const ha = oRH[0]!;
    const hb = oRH[1]!;
    const la = oRL[0]!;
    const lb = oRL[1]!;
    useA = ha > hb || (ha === hb && (la > lb || (la === lb && oS[0]! <= oS[1]!)));
  }
  const i = useA ? 0 : 1;
  rr[0] = oS[i]!;
  rr[1] = (oRH[i]! | 0x40000000) >>> 0;
  rr[2] = oRL[i]!;
}

/** Overflow response of a result rounded to `prec` bits: infinity or the largest finite. */
function overflowPack(neg: number, prec: number, rc: number): void {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg !== 0);
  xf |= OE | PE | (toInf ? C1 : 0);
  if (toInf) {
    packInf(neg);
    return;
  }
  rr[0] = neg ? 0xfffe : 0x7ffe;
  rr[1] = prec === 24 ? 0xffffff00 : 0xffffffff;
  rr[2] = prec === 64 ? 0xffffffff : prec === 53 ? 0xfffff800 : 0;
}

/** Whether the rounded kk[0]!:kk[1]! of a `prec`-bit rounding carried to 2^prec. */
function carried(prec: number): boolean {
  return prec === 64 ? kk[0]! > 0xffffffff : prec === 53 ? kk[0]! >= 0x200000 : kk[1]! >= 0x1000000;
}

/**
 * Rounds the nonzero value 0.h m x * 2^(E+1) (h:m:x = acc; h has its top bit set: E is the
 * exponent of the leading bit; x holds 32 further bits, its lowest one "sticky") to `prec` bits
 * (24, 53 or 64) under rc, with the extended exponent range and denormals, into rr; flags to xf.
 */
function roundPack(neg: number, E: number, prec: number, rc: number): void {
  if (E > 16383) {
    overflowPack(neg, prec, rc);
    return;
  }
  const lead = E >= EMIN ? E : EMIN;
  const s = lead - E + 64 - prec; // bits of h:m dropped (x is dropped too)
  roundShiftX(s > 100 ? 100 : s, rc, neg !== 0);
  const inexact = kInexact;
  const up = kUp;
  let mh: number;
  let ml: number;
  let e = E;
  if (carried(prec)) {
    mh = 0x80000000;
    ml = 0;
    e++;
  } else if (prec === 64) {
    mh = kk[0]!;
    ml = kk[1]!;
  } else if (prec === 53) {
    mh = ((kk[0]! << 11) | (kk[1]! >>> 21)) >>> 0;
    ml = (kk[1]! << 11) >>> 0;
  } else {
    mh = (kk[1]! << 8) >>> 0;
    ml = 0;
  }
  let be: number;
  if (E >= EMIN) {
    be = e + 16383;
    if (be >= 0x7fff) {
      overflowPack(neg, prec, rc);
      return;
    }
  } else be = mh >= 0x80000000 ? 1 : 0;
  if (inexact) {
    xf |= up ? PE | C1 : PE;
    if (E < EMIN) {
      // Tininess after rounding: not tiny if rounding to `prec` bits with an unbounded
      // exponent would have reached 2^EMIN.
      let tiny = true;
      if (be === 1 && E === EMIN - 1) {
        roundShiftX(s - 1, rc, neg !== 0);
        tiny = !carried(prec);
      }
      if (tiny) xf |= UE;
    }
  }
  rr[0] = (neg ? 0x8000 : 0) | be;
  rr[1] = mh;
  rr[2] = ml;
}

// 96-bit shift right with jamming (lost bits ORed into bit 0), in place on ww.
const ww = new Uint32Array(3);
/** Sets acc = h:m:x and rounds it (see roundPack). */
function roundPack3(neg: number, E: number, h: number, m: number, x: number, prec: number, rc: number): void {
  acc[0] = h;
  acc[1] = m;
  acc[2] = x;
  roundPack(neg, E, prec, rc);
}

/** Rounds the finite nonzero operand in slot i, with sign `neg`, to prec under rc. */
function roundSlot(i: number, neg: number, prec: number, rc: number): void {
  acc[0] = oHi[i]!;
  acc[1] = oLo[i]!;
  acc[2] = 0;
  roundPack(neg, oExp[i]!, prec, rc);
}

/** Shifts ww right by d with jamming, in place. */
function shr96Jam(d: number): void {
  let h = ww[0]!;
  let m = ww[1]!;
  let x = ww[2]!;
  if (d >= 96) {
    ww[0] = 0;
    ww[1] = 0;
    ww[2] = h !== 0 || m !== 0 || x !== 0 ? 1 : 0;
    return;
  }
  let lost = false;
  while (d >= 32) {
    if (x !== 0) lost = true;
    x = m;
    m = h;
    h = 0;
    d -= 32;
  }
  if (d > 0) {
    if (x << (32 - d) !== 0) lost = true;
    x = ((x >>> d) | (m << (32 - d))) >>> 0;
    m = ((m >>> d) | (h << (32 - d))) >>> 0;
    h >>>= d;
  }
  ww[0] = h;
  ww[1] = m;
  ww[2] = (x | (lost ? 1 : 0)) >>> 0;
}

/** slot0 + slot1 (or slot0 - slot1 when `sub`), rounded to prec under rc. */
function coreAdd(sub: boolean, prec: number, rc: number): void {
  const ca = oCls[0]!;
  const cb = oCls[1]!;
  if (ca >= CL_QNAN || cb >= CL_QNAN) {
    nanPick(true);
    return;
  }
  let na = oNeg[0]!;
  let nb = oNeg[1]! ^ (sub ? 1 : 0);
  if (ca === CL_INF || cb === CL_INF) {
    if (ca === cb && na !== nb) invalidResult();
    else packInf(ca === CL_INF ? na : nb);
    return;
  }
  if (cb === CL_ZERO) {
    if (ca === CL_ZERO) packZero(na === nb ? na : rc === RC_DOWN ? 1 : 0);
    else roundSlot(0, na, prec, rc);
    return;
  }
  if (ca === CL_ZERO) {
    roundSlot(1, nb, prec, rc);
    return;
  }
  let ea = oExp[0]!;
  let ha = oHi[0]!;
  let la = oLo[0]!;
  let eb = oExp[1]!;
  let hb = oHi[1]!;
  let lb = oLo[1]!;
  if (eb > ea || (eb === ea && (hb > ha || (hb === ha && lb > la)))) {
    let t = ea;
    ea = eb;
    eb = t;
    t = ha;
    ha = hb;
    hb = t;
    t = la;
    la = lb;
    lb = t;
    t = na;
    na = nb;
    nb = t;
  }
  const d = ea - eb;
  ww[0] = hb;
  ww[1] = lb;
  ww[2] = 0;
  shr96Jam(d > 127 ? 127 : d);
  let h: number;
  let m: number;
  let x: number;
  if (na === nb) {
    x = ww[2]!;
    let t = la + ww[1]!;
    m = t >>> 0;
    t = ha + ww[0]! + (t > 0xffffffff ? 1 : 0);
    if (t > 0xffffffff) {
      const th = t >>> 0;
      x = ((x >>> 1) | (m << 31) | (x & 1)) >>> 0;
      m = ((m >>> 1) | (th << 31)) >>> 0;
      h = (0x80000000 | (th >>> 1)) >>> 0;
      ea++;
    } else h = t;
  } else {
    let t = -ww[2]!;
    x = t >>> 0;
    t = la - ww[1]! - (t < 0 ? 1 : 0);
    m = t >>> 0;
    t = ha - ww[0]! - (t < 0 ? 1 : 0);
    h = t >>> 0;
    if (h === 0 && m === 0 && x === 0) {
      // An exact zero difference is +0, or -0 when rounding down (IEEE 754 6.3).
      packZero(rc === RC_DOWN ? 1 : 0);
      return;
    }
    while (h === 0) {
      h = m;
      m = x;
      x = 0;
      ea -= 32;
    }
    const lz = Math.clz32(h);
    if (lz !== 0) {
      h = ((h << lz) | (m >>> (32 - lz))) >>> 0;
      m = ((m << lz) | (x >>> (32 - lz))) >>> 0;
      x = (x << lz) >>> 0;
      ea -= lz;
    }
  }
  roundPack3(na, ea, h, m, x, prec, rc);
}

// Exact 32x32 -> 64-bit product, into pp (high, low): the low half from Math.imul, the high half from the
// double product (off by at most 2^11, far less than the 2^32 its exact value is a multiple of).
const pp = new Float64Array(2); // [high, low]
function mul32(a: number, b: number): void {
  const lo = Math.imul(a, b) >>> 0;
  pp[1] = lo;
  pp[0] = Math.round((a * b - lo) / TWO32);
}

/** slot0 * slot1, rounded to prec under rc. */
function coreMul(prec: number, rc: number): void {
  const ca = oCls[0]!;
  const cb = oCls[1]!;
  if (ca >= CL_QNAN || cb >= CL_QNAN) {
    nanPick(true);
    return;
  }
  const neg = oNeg[0]! ^ oNeg[1]!;
  if (ca === CL_INF || cb === CL_INF) {
    if (ca === CL_ZERO || cb === CL_ZERO) invalidResult();
    else packInf(neg);
    return;
  }
  if (ca === CL_ZERO || cb === CL_ZERO) {
    packZero(neg);
    return;
  }
  const ah = oHi[0]!;
  const al = oLo[0]!;
  const bh = oHi[1]!;
  const bl = oLo[1]!;
  mul32(al, bl);
  const p0 = pp[1]!;
  let c = pp[0]!;
  mul32(al, bh);
  const x1 = pp[1]!;
  const x2 = pp[0]!;
  mul32(ah, bl);
  const y1 = pp[1]!;
  const y2 = pp[0]!;
  mul32(ah, bh);
  let t = c + x1 + y1;
  const p1 = t >>> 0;
  c = Math.floor(t / TWO32);
  t = x2 + y2 + pp[1]! + c;
  const p2 = t >>> 0;
  const p3 = pp[0]! + Math.floor(t / TWO32);
  let E = oExp[0]! + oExp[1]!;
  if (p3 >= 0x80000000) {
    E++;
    roundPack3(neg, E, p3, p2, (p1 | (p0 !== 0 ? 1 : 0)) >>> 0, prec, rc);
  } else {
    roundPack3(
      neg,
      E,
      ((p3 << 1) | (p2 >>> 31)) >>> 0,
      ((p2 << 1) | (p1 >>> 31)) >>> 0,
      ((p1 << 1) | (p0 >>> 31) | ((p0 & 0x7fffffff) !== 0 ? 1 : 0)) >>> 0,
      prec,
      rc,
    );
  }
}

const M32n = 0xffffffffn;

// Significand division: dv = [ah, al, bh, bl] (both 64-bit values in [2^63, 2^64)) gives
// dv = [h, m, x, sticky], the 96-bit Q = floor(A * 2^95 / B) (in [2^94, 2^96)) and whether the
// remainder is nonzero. Long division in base 2^32: each quotient digit is estimated in doubles
// (within 1 of the true digit), then made exact by correcting the exact partial remainder.
const dv = new Uint32Array(4);

function divSig(): void {
  const ah = dv[0]!;
  const al = dv[1]!;
  const bh = dv[2]!;
  const bl = dv[3]!;
  const den = bh + bl / TWO32;
  let r2 = ah >>> 1;
  let r1 = ((ah << 31) | (al >>> 1)) >>> 0;
  let r0 = (al << 31) >>> 0;
  for (let j = 2; j >= 0; j--) {
    // The partial remainder r2:r1:r0 is below B * 2^32.
    let q = Math.floor((r2 * TWO32 + r1) / den);
    if (q > 0xffffffff) q = 0xffffffff;
    mul32(q, bl);
    const p0 = pp[1]!;
    const c = pp[0]!;
    mul32(q, bh);
    const t = pp[1]! + c;
    const p1 = t >>> 0;
    const p2 = pp[0]! + (t > 0xffffffff ? 1 : 0);
    let d0 = r0 - p0;
    let br = d0 < 0 ? 1 : 0;
    d0 >>>= 0;
    let d1 = r1 - p1 - br;
    br = d1 < 0 ? 1 : 0;
    d1 >>>= 0;
    let d2 = r2 - p2 - br;
    while (d2 < 0) {
      // q one too large: add B back.
      q--;
      let u = d0 + bl;
      let cy = u > 0xffffffff ? 1 : 0;
      d0 = u >>> 0;
      u = d1 + bh + cy;
      cy = u > 0xffffffff ? 1 : 0;
      d1 = u >>> 0;
      d2 += cy;
    }
    while (d2 > 0 || d1 > bh || (d1 === bh && d0 >= bl)) {
      // q one too small: subtract B.
      q++;
      let u = d0 - bl;
      let bw = u < 0 ? 1 : 0;
      d0 = u >>> 0;
      u = d1 - bh - bw;
      bw = u < 0 ? 1 : 0;
      d1 = u >>> 0;
      d2 -= bw;
    }
    dv[2 - j] = q;
    r2 = d1;
    r1 = d0;
    r0 = 0;
  }
  dv[3] = r2 !== 0 || r1 !== 0 ? 1 : 0;
}

/** slot0 / slot1, rounded to prec under rc. */
function coreDiv(prec: number, rc: number): void {
  const ca = oCls[0]!;
  const cb = oCls[1]!;
  if (ca >= CL_QNAN || cb >= CL_QNAN) {
    nanPick(true);
    return;
  }
  const neg = oNeg[0]! ^ oNeg[1]!;
  if (ca === CL_INF) {
    if (cb === CL_INF) invalidResult();
    else packInf(neg);
    return;
  }
  if (cb === CL_INF) {
    packZero(neg);
    return;
  }
  if (cb === CL_ZERO) {
    if (ca === CL_ZERO) invalidResult();
    else {
      xf |= ZE;
      packInf(neg);
    }
    return;
  }
  if (ca === CL_ZERO) {
    packZero(neg);
    return;
  }
  dv[0] = oHi[0]!;
  dv[1] = oLo[0]!;
  dv[2] = oHi[1]!;
  dv[3] = oLo[1]!;
  divSig();
  const h = dv[0]!;
  const m = dv[1]!;
  const x = dv[2]!;
  const sticky = dv[3]!;
  if (h >= 0x80000000) roundPack3(neg, oExp[0]! - oExp[1]!, h, m, (x | sticky) >>> 0, prec, rc);
  else {
    // A < B: one bit less; shift up, keeping the sticky bit at the bottom.
    roundPack3(
      neg,
      oExp[0]! - oExp[1]! - 1,
      ((h << 1) | (m >>> 31)) >>> 0,
      ((m << 1) | (x >>> 31)) >>> 0,
      ((x << 1) | sticky) >>> 0,
      prec,
      rc,
    );
  }
}

// 128-bit scratch: the radicand X and a square, as 32-bit limbs, most significant first.
const sqX = new Uint32Array(4);
const sqP = new Uint32Array(4);
const sqR = new Uint32Array(4);

/** sqP = Q^2 for the 64-bit Q = qh:ql. */
function square64(qh: number, ql: number): void {
  mul32(ql, ql);
  const p0 = pp[1]!;
  let c = pp[0]!;
  mul32(qh, ql); // counted twice
  const mh = pp[0]!;
  const ml = pp[1]!;
  let t = c + 2 * ml;
  const p1 = t >>> 0;
  c = Math.floor(t / TWO32);
  mul32(qh, qh);
  t = pp[1]! + 2 * mh + c;
  sqP[3] = p0;
  sqP[2] = p1;
  sqP[1] = t >>> 0;
  sqP[0] = pp[0]! + Math.floor(t / TWO32);
}

/** Sign of sqX - sqP. */
function cmpSq(): number {
  for (let i = 0; i < 4; i++) if (sqX[i] !== sqP[i]) return sqX[i]! > sqP[i]! ? 1 : -1;
  return 0;
}

/** (qh:ql + 1), as the next candidate root, into pp (high, low). */
function inc64(qh: number, ql: number, d: number): void {
  let l = ql + d;
  let h = qh;
  if (l > 0xffffffff) {
    l -= TWO32;
    h++;
  } else if (l < 0) {
    l += TWO32;
    h--;
  }
  pp[0] = h;
  pp[1] = l;
}

/** sqrt(slot0), rounded to prec under rc. */
function coreSqrt(prec: number, rc: number): void {
  const ca = oCls[0]!;
  if (ca >= CL_QNAN) {
    nanPick(false);
    return;
  }
  if (ca === CL_ZERO) {
    packZero(oNeg[0]!); // sqrt(-0) = -0
    return;
  }
  if (oNeg[0]) {
    invalidResult();
    return;
  }
  if (ca === CL_INF) {
    packInf(0);
    return;
  }
  // value = A * 2^t; with X = A * 2^64 (t even) or A * 2^63 (t odd), sqrt(value) =
  // sqrt(X) * 2^((t - 64)/2 or (t - 63)/2) and Q = floor(sqrt(X)) is in [2^63, 2^64).
  const ah = oHi[0]!;
  const al = oLo[0]!;
  const t = oExp[0]! - 63;
  const odd = (t & 1) !== 0;
  if (odd) {
    sqX[0] = ah >>> 1;
    sqX[1] = ((ah << 31) | (al >>> 1)) >>> 0;
    sqX[2] = (al << 31) >>> 0;
  } else {
    sqX[0] = ah;
    sqX[1] = al;
    sqX[2] = 0;
  }
  sqX[3] = 0;
  // A double estimate (within 2^12 of Q), then one Newton step q = (q0 + X/q0) / 2 (within 1).
  let q0 = Math.floor(Math.sqrt((ah * TWO32 + al) * (odd ? 2 ** 63 : 2 ** 64)));
  if (q0 < 2 ** 63) q0 = 2 ** 63;
  else if (q0 > 18446744073709549568) q0 = 18446744073709549568; // largest double below 2^64
  const q0h = Math.floor(q0 / TWO32);
  const q0l = q0 - q0h * TWO32;
  dv[0] = ah;
  dv[1] = al;
  dv[2] = q0h;
  dv[3] = q0l;
  divSig(); // floor(A * 2^95 / q0); X / q0 is that shifted right by 31 (t even) or 32 (t odd)
  // X / q0 (it may reach 2^64 when Q is close to it: dt is its bit 64).
  let dt = 0;
  let dh: number;
  let dl: number;
  if (odd) {
    dh = dv[0]!;
    dl = dv[1]!;
  } else {
    dt = dv[0]! >>> 31;
    dh = ((dv[0]! << 1) | (dv[1]! >>> 31)) >>> 0;
    dl = ((dv[1]! << 1) | (dv[2]! >>> 31)) >>> 0;
  }
  // (q0 + X/q0) / 2, limb by limb.
  const sh = q0h + dh + dt * TWO32;
  let hi = Math.floor(sh / 2);
  let lo = Math.floor((q0l + dl) / 2) + (sh % 2 === 1 ? 0x80000000 : 0);
  if (lo >= TWO32) {
    lo -= TWO32;
    hi++;
  }
  if (hi > 0xffffffff) {
    hi = 0xffffffff; // Q < 2^64
    lo = 0xffffffff;
  }
  // Make it exact: Q^2 <= X and R = X - Q^2 <= 2Q (so X < (Q + 1)^2).
  square64(hi, lo);
  while (cmpSq() < 0) {
    inc64(hi, lo, -1);
    hi = pp[0]!;
    lo = pp[1]!;
    square64(hi, lo);
  }
  for (;;) {
    let b = 0;
    for (let i = 3; i >= 0; i--) {
      const d = sqX[i]! - sqP[i]! - b;
      b = d < 0 ? 1 : 0;
      sqR[i] = d;
    }
    // 2Q = q2:q1:q0 (65 bits)
    const q2 = hi >>> 31;
    const q1 = ((hi << 1) | (lo >>> 31)) >>> 0;
    const q0 = (lo << 1) >>> 0;
    const r0 = sqR[0]!;
    const r1 = sqR[1]!;
    const r2 = sqR[2]!;
    const r3 = sqR[3]!;
    if (r0 === 0 && (r1 < q2 || (r1 === q2 && (r2 < q1 || (r2 === q1 && r3 <= q0))))) {
      // Rounding bits from R (0 <= R <= 2Q): R > Q means the fraction of sqrt(X) is above 1/2
      // (it is never exactly 1/2).
      const sticky = r1 !== 0 || r2 !== 0 || r3 !== 0;
      const guard = r1 !== 0 || r2 > hi || (r2 === hi && r3 > lo);
      roundPack3(
        0,
        (t - (odd ? 63 : 64)) / 2 + 63,
        hi,
        lo,
        (guard ? 0x80000000 : 0) | (sticky ? 1 : 0),
        prec,
        rc,
      );
      return;
    }
    inc64(hi, lo, 1);
    hi = pp[0]!;
    lo = pp[1]!;
    square64(hi, lo);
  }
}

/** Orders slot0 against slot1 (CMP_*); `quiet` (FUCOM*) raises IE only for SNaN and unsupported operands. */
function coreCompare(quiet: boolean): number {
  const ca = oCls[0]!;
  const cb = oCls[1]!;
  if (ca >= CL_QNAN || cb >= CL_QNAN) {
    if (!quiet || ca === CL_SNAN || cb === CL_SNAN || ca === CL_BAD || cb === CL_BAD) xf |= IE;
    return CMP_UN;
  }
  if (ca === CL_ZERO && cb === CL_ZERO) return CMP_EQ;
  const na = ca !== CL_ZERO && oNeg[0] !== 0;
  const nb = cb !== CL_ZERO && oNeg[1] !== 0;
  if (ca === CL_ZERO) return nb ? CMP_GT : CMP_LT;
  if (cb === CL_ZERO) return na ? CMP_LT : CMP_GT;
  if (na !== nb) return na ? CMP_LT : CMP_GT;
  let m: number;
  if (ca !== cb) m = ca === CL_INF ? 1 : -1;
  else if (ca === CL_INF) return CMP_EQ;
  else if (oExp[0] !== oExp[1]) m = oExp[0]! > oExp[1]! ? 1 : -1;
  else if (oHi[0] !== oHi[1]) m = oHi[0]! > oHi[1]! ? 1 : -1;
  else if (oLo[0] !== oLo[1]) m = oLo[0]! > oLo[1]! ? 1 : -1;
  else return CMP_EQ;
  if (na) m = -m;
  return m > 0 ? CMP_GT : CMP_LT;
}

// ---- Double fast path ----
// When both operands are doubles, the host result is the x87 result if it is exact (any PC >= 53
// and RC), or, with PC = 53 and round-to-nearest, whenever it is a normal double (same rounding,
// and the wider exponent range does not matter). fastRes[0] and fastF get the result and the flags.

const fastRes = new Float64Array(1);
/** fastArith's operands. */
const fa = new Float64Array(2);
let fastF = 0;

/** op: 0 a+b, 1 a*b, 4 a-b, 5 b-a, 6 a/b, 7 b/a, 8 sqrt(a), with a = fa[0], b = fa[1]. */
function fastArith(op: number, rc: number, pc53: boolean): boolean {
  const a = fa[0]!;
  const b = fa[1]!;
  let r: number;
  let err: number;
  switch (op) {
    case 0:
    case 4:
    case 5: {
      let x = a;
      let y = b;
      if (op === 4) y = -b;
      else if (op === 5) {
        x = b;
        y = -a;
      }
      r = x + y;
      if (r - r !== 0 || (r === 0 && rc === RC_DOWN)) return false;
      const bb = r - x;
      err = x - (r - bb) + (y - bb);
      if (err !== 0 && Math.abs(r) < DBL_MIN_NORMAL) return false;
      break;
    }
    case 1: {
      r = a * b;
      if (r === 0) {
        if (a !== 0 && b !== 0) return false;
        err = 0;
        break;
      }
      const ar = Math.abs(r);
      const aa = Math.abs(a);
      const ab = Math.abs(b);
      if (!(
        ar >= FAST_LO &&
        ar <= FAST_HI &&
        aa >= FAST_LO &&
        aa <= FAST_HI &&
        ab >= FAST_LO &&
        ab <= FAST_HI
      ))
        return false;
      err = twoProdErr(a, b, r);
      break;
    }
    case 6:
    case 7: {
      const n = op === 6 ? a : b;
      const d = op === 6 ? b : a;
      r = n / d;
      if (n === 0) {
        if (!(d !== 0 && d - d === 0)) return false;
        err = 0;
        break;
      }
      const ar = Math.abs(r);
      const an = Math.abs(n);
      const ad = Math.abs(d);
      if (!(
        ar >= FAST_LO &&
        ar <= FAST_HI &&
        an >= FAST_LO &&
        an <= FAST_HI &&
        ad >= FAST_LO &&
        ad <= FAST_HI
      ))
        return false;
      const p = r * d;
      const rem = n - p - twoProdErr(r, d, p);
      // exact quotient = r + rem/d
      err = rem === 0 ? 0 : rem < 0 !== d < 0 ? -1 : 1;
      break;
    }
    default: {
      if (a === 0) {
        r = a;
        err = 0;
        break;
      }
      if (!(a >= FAST_LO && a <= FAST_HI)) return false;
      r = Math.sqrt(a);
      const p = r * r;
      const d = a - p - twoProdErr(r, r, p);
      err = d === 0 ? 0 : d < 0 ? -1 : 1;
    }
  }
  fastRes[0] = r;
  if (err === 0) {
    fastF = 0;
    return true;
  }
  if (!pc53 || rc !== RC_NEAREST) return false;
  // Inexact: "rounded up" when |r| exceeds the exact value, i.e. err has the other sign.
  fastF = err < 0 === r > 0 ? PE | C1 : PE;
  return true;
}

// ---- F2XM1, FYL2X, FYL2XP1, FPATAN as QEMU computes them ----
//
// QEMU (target/i386/tcg/fpu_helper.c since 5.2) evaluates these with table lookups, short
// polynomials in extended precision and 128-bit fixed-point steps. The code below follows the
// same sequence of steps (with the same constants, the same estimated divisions, the same
// truncations and jamming), on BigInt words, so the final rounding sees the same bits.

const M64 = 0xffffffffffffffffn;
const B63 = 0x8000000000000000n;

/** An extended value: sign|exponent and the 64-bit significand. */
interface Fx {
  s: number;
  m: bigint;
}

function fx(s: number, m: bigint): Fx {
  return { s, m };
}

const FX_ONE = fx(0x3fff, B63);

function fxExp(a: Fx): number {
  return a.s & 0x7fff;
}

function fxSign(a: Fx): number {
  return a.s >>> 15;
}

function fxIsZero(a: Fx): boolean {
  return (a.s & 0x7fff) === 0 && a.m === 0n;
}

function fxLoad(i: number, a: Fx): void {
  rr[0] = a.s;
  rr[1] = Number(a.m >> 32n);
  rr[2] = Number(a.m & M32n);
  unpack(i);
}

function fxResult(): Fx {
  return fx(rr[0]!, (BigInt(rr[1]!) << 32n) | BigInt(rr[2]!));
}

function fxMul(a: Fx, b: Fx, prec = 64, rc = RC_NEAREST): Fx {
  fxLoad(0, a);
  fxLoad(1, b);
  coreMul(prec, rc);
  return fxResult();
}

function fxAdd(a: Fx, b: Fx, sub = false): Fx {
  fxLoad(0, a);
  fxLoad(1, b);
  coreAdd(sub, 64, RC_NEAREST);
  return fxResult();
}

function fxCompare(a: Fx, b: Fx): number {
  fxLoad(0, a);
  fxLoad(1, b);
  return coreCompare(false);
}

function clz64(v: bigint): number {
  const h = Number(v >> 32n);
  return h !== 0 ? Math.clz32(h) : 32 + Math.clz32(Number(v & M32n));
}

function big64(h: number, l: number): bigint {
  return (BigInt(h) << 32n) | BigInt(l);
}

/** softfloat's normalizeRoundAndPackFloatx80 at 64-bit precision: into rr. */
function nrp(sign: number, exp: number, sig0: bigint, sig1: bigint, rc: number): void {
  if (sig0 === 0n) {
    sig0 = sig1;
    sig1 = 0n;
    exp -= 64;
  }
  const sh = clz64(sig0);
  if (sh !== 0) {
    const v = ((sig0 << 64n) | sig1) << BigInt(sh);
    sig0 = (v >> 64n) & M64;
    sig1 = v & M64;
    exp -= sh;
  }
  const x = Number(sig1 >> 32n) | ((sig1 & M32n) !== 0n ? 1 : 0);
  roundPack3(sign, exp - 16383, Number(sig0 >> 32n), Number(sig0 & M32n), x >>> 0, 64, rc);
}

function nrpFx(sign: number, exp: number, sig0: bigint, sig1: bigint): Fx {
  nrp(sign, exp, sig0, sig1, RC_NEAREST);
  return fxResult();
}

/** floatx80_scalbn at 64-bit precision (finite operands). */
function fxScalbn(a: Fx, n: number, rc: number): Fx {
  let e = fxExp(a);
  if (e === 0x7fff) return a;
  if (e === 0) {
    if (a.m === 0n) return a;
    e = 1;
  }
  if (n > 0x10000) n = 0x10000;
  else if (n < -0x10000) n = -0x10000;
  nrp(fxSign(a), e + n, a.m, 0n, rc);
  return fxResult();
}

/** floatx80_to_int32 with round-to-nearest-even, for small finite values. */
function fxToInt32(a: Fx): number {
  const sh = 16383 + 63 - fxExp(a);
  if (sh >= 66) return 0;
  let q: number;
  if (sh <= 0) q = 0x7fffffff;
  else {
    const S = BigInt(sh);
    let qq = a.m >> S;
    const rem = a.m & ((1n << S) - 1n);
    const half = 1n << (S - 1n);
    if (rem > half || (rem === half && (qq & 1n) !== 0n)) qq += 1n;
    q = qq > 0x7fffffffn ? 0x7fffffff : Number(qq);
  }
  return fxSign(a) ? -q : q;
}

function add128(a0: bigint, a1: bigint, b0: bigint, b1: bigint): [bigint, bigint] {
  const z1 = (a1 + b1) & M64;
  return [(a0 + b0 + (z1 < a1 ? 1n : 0n)) & M64, z1];
}

function sub128(a0: bigint, a1: bigint, b0: bigint, b1: bigint): [bigint, bigint] {
  return [(a0 - b0 - (a1 < b1 ? 1n : 0n)) & M64, (a1 - b1) & M64];
}

function add192(
  a0: bigint,
  a1: bigint,
  a2: bigint,
  b0: bigint,
  b1: bigint,
  b2: bigint,
): [bigint, bigint, bigint] {
  const v = (((a0 << 128n) | (a1 << 64n) | a2) + ((b0 << 128n) | (b1 << 64n) | b2)) & ((1n << 192n) - 1n);
  return [v >> 128n, (v >> 64n) & M64, v & M64];
}

function sub192(
  a0: bigint,
  a1: bigint,
  a2: bigint,
  b0: bigint,
  b1: bigint,
  b2: bigint,
): [bigint, bigint, bigint] {
  const v = (((a0 << 128n) | (a1 << 64n) | a2) - ((b0 << 128n) | (b1 << 64n) | b2)) & ((1n << 192n) - 1n);
  return [v >> 128n, (v >> 64n) & M64, v & M64];
}

function shr128(a0: bigint, a1: bigint, count: number): [bigint, bigint] {
  if (count >= 128) return [0n, 0n];
  const v = ((a0 << 64n) | a1) >> BigInt(count);
  return [v >> 64n, v & M64];
}

function shl128(a0: bigint, a1: bigint, count: number): [bigint, bigint] {
  const v = (((a0 << 64n) | a1) << BigInt(count)) & ((1n << 128n) - 1n);
  return [v >> 64n, v & M64];
}

/** softfloat's shift128RightJamming. */
function shr128Jam(a0: bigint, a1: bigint, count: number): [bigint, bigint] {
  if (count <= 0) return [a0, a1];
  const v = (a0 << 64n) | a1;
  let z: bigint;
  if (count >= 128) z = v !== 0n ? 1n : 0n;
  else {
    const C = BigInt(count);
    z = v >> C;
    if ((v & ((1n << C) - 1n)) !== 0n) z |= 1n;
  }
  return [z >> 64n, z & M64];
}

function mul64To128(a: bigint, b: bigint): [bigint, bigint] {
  const p = a * b;
  return [p >> 64n, p & M64];
}

/** The high 128 bits of the 192-bit product (softfloat's mul128By64To192 without the low word). */
function mul128By64(a0: bigint, a1: bigint, b: bigint): [bigint, bigint, bigint] {
  const p = ((a0 << 64n) | a1) * b;
  return [p >> 128n, (p >> 64n) & M64, p & M64];
}

function mul128To256(a0: bigint, a1: bigint, b0: bigint, b1: bigint): [bigint, bigint, bigint, bigint] {
  const p = ((a0 << 64n) | a1) * ((b0 << 64n) | b1);
  return [p >> 192n, (p >> 128n) & M64, (p >> 64n) & M64, p & M64];
}

/** softfloat's estimateDiv128To64 (between the truncated quotient and 2 above it). */
function estimateDiv128To64(a0: bigint, a1: bigint, b: bigint): bigint {
  if (b <= a0) return M64;
  const b0 = b >> 32n;
  let z = b0 << 32n <= a0 ? 0xffffffff00000000n : (a0 / b0) << 32n;
  const [t0, t1] = mul64To128(b, z);
  let [r0, r1] = sub128(a0, a1, t0, t1);
  while (r0 >= B63) {
    z = (z - 0x100000000n) & M64;
    [r0, r1] = add128(r0, r1, b0, (b << 32n) & M64);
  }
  r0 = ((r0 << 32n) | (r1 >> 32n)) & M64;
  z |= b0 << 32n <= r0 ? 0xffffffffn : r0 / b0;
  return z;
}

function normSub(exp: number, sig: bigint): [number, bigint] {
  if (exp !== 0 || sig === 0n) return [exp, sig];
  const sh = clz64(sig);
  return [1 - sh, sig << BigInt(sh)];
}

/** Quietened copy of the NaN a (IE when it was signalling), into rr. */
function quietNaN(s: number, h: number, l: number): void {
  if (!(h & 0x40000000)) xf |= IE;
  rr[0] = s;
  rr[1] = (h | 0x40000000) >>> 0;
  rr[2] = l;
}

function setR(a: Fx): void {
  rr[0] = a.s;
  rr[1] = Number(a.m >> 32n);
  rr[2] = Number(a.m & M32n);
}

const LN2_HI = 0xb17217f7d1cf79abn;
const LN2_LO = 0xc9e3b39803f2f6afn;
const LOG2E_HI = 0xb8aa3b295c17f0bbn;
const LOG2E_LO = 0xbe87fed0691d3e89n;
const PI_HI = 0xc90fdaa22168c234n;
const PI_LO = 0xc4c6628b80dc1cd1n;
const PI34_HI = 0x96cbe3f9990e91a7n;
const PI34_LO = 0x9394c9e8a0a5159dn;

/** Coefficients of (2^y - 1)/y on [-1/64, 1/64]: c0, c0 low part, c1..c7. */
const F2XM1_C0 = fx(0x3ffe, 0xb17217f7d1cf79acn);
const F2XM1_C0_LOW = fx(0xbfbc, 0xd87edabf495b3762n);
const F2XM1_C: Fx[] = [
  fx(0x3ffc, 0xf5fdeffc162c7543n),
  fx(0x3ffa, 0xe35846b82505fcc7n),
  fx(0x3ff8, 0x9d955b7dd273b899n),
  fx(0x3ff5, 0xaec3ff3c4ef4ac0cn),
  fx(0x3ff2, 0xa184897c3a7f0de9n),
  fx(0x3fee, 0xffe634d0ec30d504n),
  fx(0x3feb, 0xb160111d2db515e4n),
];

/** For n = 0..64: t close to n/32 - 1, 2^t and 2^t - 1 (each [exponent, significand]). */
const F2XM1_TABLE: [number, bigint, number, bigint, number, bigint][] = [
  [0xbfff, 0x8000000000000000n, 0x3ffe, 0x8000000000000000n, 0xbffe, 0x8000000000000000n],
  [0xbffe, 0xf800000000002e7en, 0x3ffe, 0x82cd8698ac2b9160n, 0xbffd, 0xfa64f2cea7a8dd40n],
  [0xbffe, 0xefffffffffffe960n, 0x3ffe, 0x85aac367cc488345n, 0xbffd, 0xf4aa7930676ef976n],
  [0xbffe, 0xe800000000006f10n, 0x3ffe, 0x88980e8092da5c14n, 0xbffd, 0xeecfe2feda4b47d8n],
  [0xbffe, 0xe000000000008a45n, 0x3ffe, 0x8b95c1e3ea8ba2a5n, 0xbffd, 0xe8d47c382ae8bab6n],
  [0xbffe, 0xd7ffffffffff8a9en, 0x3ffe, 0x8ea4398b45cd8116n, 0xbffd, 0xe2b78ce97464fdd4n],
  [0xbffe, 0xd0000000000019a0n, 0x3ffe, 0x91c3d373ab11b919n, 0xbffd, 0xdc785918a9dc8dcen],
  [0xbffe, 0xc7ffffffffff14dfn, 0x3ffe, 0x94f4efa8fef76836n, 0xbffd, 0xd61620ae02112f94n],
  [0xbffe, 0xc000000000006530n, 0x3ffe, 0x9837f0518db87fbbn, 0xbffd, 0xcf901f5ce48f008an],
  [0xbffe, 0xb7ffffffffff1723n, 0x3ffe, 0x9b8d39b9d54eb74cn, 0xbffd, 0xc8e58c8c55629168n],
  [0xbffe, 0xb00000000000b5e1n, 0x3ffe, 0x9ef5326091a0c366n, 0xbffd, 0xc2159b3edcbe7934n],
  [0xbffe, 0xa800000000006f8an, 0x3ffe, 0xa27043030c49370an, 0xbffd, 0xbb1f79f9e76d91ecn],
  [0xbffe, 0x9fffffffffff816an, 0x3ffe, 0xa5fed6a9b15171cfn, 0xbffd, 0xb40252ac9d5d1c62n],
  [0xbffe, 0x97ffffffffffb621n, 0x3ffe, 0xa9a15ab4ea7c30e6n, 0xbffd, 0xacbd4a962b079e34n],
  [0xbffe, 0x8fffffffffff162bn, 0x3ffe, 0xad583eea42a1b886n, 0xbffd, 0xa54f822b7abc8ef4n],
  [0xbffe, 0x87ffffffffff4d34n, 0x3ffe, 0xb123f581d2ac7b51n, 0xbffd, 0x9db814fc5aa7095en],
  [0xbffe, 0x800000000000227dn, 0x3ffe, 0xb504f333f9de539dn, 0xbffd, 0x95f619980c4358c6n],
  [0xbffd, 0xefffffffffff3978n, 0x3ffe, 0xb8fbaf4762fbd0a1n, 0xbffd, 0x8e08a1713a085eben],
  [0xbffd, 0xe00000000000df81n, 0x3ffe, 0xbd08a39f580bfd8cn, 0xbffd, 0x85eeb8c14fe804e8n],
  [0xbffd, 0xd00000000000bccfn, 0x3ffe, 0xc12c4cca667062f6n, 0xbffc, 0xfb4eccd6663e7428n],
  [0xbffd, 0xc00000000000eff0n, 0x3ffe, 0xc5672a1155069aben, 0xbffc, 0xea6357baabe59508n],
  [0xbffd, 0xb000000000000fe6n, 0x3ffe, 0xc9b9bd866e2f234bn, 0xbffc, 0xd91909e6474372d4n],
  [0xbffd, 0x9fffffffffff2172n, 0x3ffe, 0xce248c151f84bf00n, 0xbffc, 0xc76dcfab81ed0400n],
  [0xbffd, 0x8fffffffffffafffn, 0x3ffe, 0xd2a81d91f12afb2bn, 0xbffc, 0xb55f89b83b541354n],
  [0xbffc, 0xffffffffffff81a3n, 0x3ffe, 0xd744fccad69d7d5en, 0xbffc, 0xa2ec0cd4a58a0a88n],
  [0xbffc, 0xdfffffffffff1568n, 0x3ffe, 0xdbfbb797daf25a44n, 0xbffc, 0x901121a0943696f0n],
  [0xbffc, 0xbfffffffffff68dan, 0x3ffe, 0xe0ccdeec2a94f811n, 0xbffb, 0xf999089eab583f78n],
  [0xbffc, 0x9fffffffffff4690n, 0x3ffe, 0xe5b906e77c83657en, 0xbffb, 0xd237c8c41be4d410n],
  [0xbffb, 0xffffffffffff8aeen, 0x3ffe, 0xeac0c6e7dd24427cn, 0xbffb, 0xa9f9c8c116ddec20n],
  [0xbffb, 0xbfffffffffff2d18n, 0x3ffe, 0xefe4b99bdcdb06ebn, 0xbffb, 0x80da33211927c8a8n],
  [0xbffa, 0xffffffffffff8ccbn, 0x3ffe, 0xf5257d152486d0f4n, 0xbffa, 0xada82eadb792f0c0n],
  [0xbff9, 0xffffffffffff11fen, 0x3ffe, 0xfa83b2db722a0846n, 0xbff9, 0xaf89a491babef740n],
  [0x0000, 0x0000000000000000n, 0x3fff, 0x8000000000000000n, 0x0000, 0x0000000000000000n],
  [0x3ff9, 0xffffffffffff2680n, 0x3fff, 0x82cd8698ac2b9f6fn, 0x3ff9, 0xb361a62b0ae7dbc0n],
  [0x3ffb, 0x800000000000b500n, 0x3fff, 0x85aac367cc488345n, 0x3ffa, 0xb5586cf9891068a0n],
  [0x3ffb, 0xbfffffffffff4b67n, 0x3fff, 0x88980e8092da7ccen, 0x3ffb, 0x8980e8092da7cce0n],
  [0x3ffb, 0xffffffffffffff57n, 0x3fff, 0x8b95c1e3ea8bd6dfn, 0x3ffb, 0xb95c1e3ea8bd6df0n],
  [0x3ffc, 0x9fffffffffff811fn, 0x3fff, 0x8ea4398b45cd4780n, 0x3ffb, 0xea4398b45cd47800n],
  [0x3ffc, 0xbfffffffffff9980n, 0x3fff, 0x91c3d373ab11b919n, 0x3ffc, 0x8e1e9b9d588dc8c8n],
  [0x3ffc, 0xdffffffffffff631n, 0x3fff, 0x94f4efa8fef70864n, 0x3ffc, 0xa7a77d47f7b84320n],
  [0x3ffc, 0xffffffffffff2499n, 0x3fff, 0x9837f0518db892d4n, 0x3ffc, 0xc1bf828c6dc496a0n],
  [0x3ffd, 0x8fffffffffff80fbn, 0x3fff, 0x9b8d39b9d54e3a79n, 0x3ffc, 0xdc69cdceaa71d3c8n],
  [0x3ffd, 0x9fffffffffffbc23n, 0x3fff, 0x9ef5326091a10313n, 0x3ffc, 0xf7a993048d081898n],
  [0x3ffd, 0xafffffffffff20ecn, 0x3fff, 0xa27043030c49370an, 0x3ffd, 0x89c10c0c3124dc28n],
  [0x3ffd, 0xc00000000000fd2cn, 0x3fff, 0xa5fed6a9b15171cfn, 0x3ffd, 0x97fb5aa6c545c73cn],
  [0x3ffd, 0xd0000000000093ben, 0x3fff, 0xa9a15ab4ea7c30e6n, 0x3ffd, 0xa6856ad3a9f0c398n],
  [0x3ffd, 0xe00000000000c2aen, 0x3fff, 0xad583eea42a17876n, 0x3ffd, 0xb560fba90a85e1d8n],
  [0x3ffd, 0xefffffffffff1e3fn, 0x3fff, 0xb123f581d2abef6cn, 0x3ffd, 0xc48fd6074aafbdb0n],
  [0x3ffd, 0xffffffffffff1c23n, 0x3fff, 0xb504f333f9de2cadn, 0x3ffd, 0xd413cccfe778b2b4n],
  [0x3ffe, 0x8800000000006344n, 0x3fff, 0xb8fbaf4762fbd0a1n, 0x3ffd, 0xe3eebd1d8bef4284n],
  [0x3ffe, 0x9000000000005d67n, 0x3fff, 0xbd08a39f580c668dn, 0x3ffd, 0xf4228e7d60319a34n],
  [0x3ffe, 0x9800000000009127n, 0x3fff, 0xc12c4cca6670e042n, 0x3ffe, 0x82589994cce1c084n],
  [0x3ffe, 0x9fffffffffff06f9n, 0x3fff, 0xc5672a11550655c3n, 0x3ffe, 0x8ace5422aa0cab86n],
  [0x3ffe, 0xa7fffffffffff80dn, 0x3fff, 0xc9b9bd866e2f234bn, 0x3ffe, 0x93737b0cdc5e4696n],
  [0x3ffe, 0xafffffffffff1470n, 0x3fff, 0xce248c151f83fd69n, 0x3ffe, 0x9c49182a3f07fad2n],
  [0x3ffe, 0xb800000000000e0an, 0x3fff, 0xd2a81d91f12aec5cn, 0x3ffe, 0xa5503b23e255d8b8n],
  [0x3ffe, 0xc00000000000b7fan, 0x3fff, 0xd744fccad69dd630n, 0x3ffe, 0xae89f995ad3bac60n],
  [0x3ffe, 0xc800000000003aa6n, 0x3fff, 0xdbfbb797daf25a44n, 0x3ffe, 0xb7f76f2fb5e4b488n],
  [0x3ffe, 0xd00000000000a6aen, 0x3fff, 0xe0ccdeec2a954685n, 0x3ffe, 0xc199bdd8552a8d0an],
  [0x3ffe, 0xd800000000004165n, 0x3fff, 0xe5b906e77c837155n, 0x3ffe, 0xcb720dcef906e2aan],
  [0x3ffe, 0xe00000000000582cn, 0x3fff, 0xeac0c6e7dd24713an, 0x3ffe, 0xd5818dcfba48e274n],
  [0x3ffe, 0xe800000000001a5dn, 0x3fff, 0xefe4b99bdcdb06ebn, 0x3ffe, 0xdfc97337b9b60dd6n],
  [0x3ffe, 0xefffffffffffc1efn, 0x3fff, 0xf5257d152486a2fan, 0x3ffe, 0xea4afa2a490d45f4n],
  [0x3ffe, 0xf800000000001069n, 0x3fff, 0xfa83b2db722a0e5cn, 0x3ffe, 0xf50765b6e4541cb8n],
  [0x3fff, 0x8000000000000000n, 0x4000, 0x8000000000000000n, 0x3fff, 0x8000000000000000n],
];

/** Coefficients of atan(x) (odd powers) on [-1/16, 1/16]: c0..c6. */
const FPATAN_C: Fx[] = [
  fx(0x3fff, 0x8000000000000000n),
  fx(0xbffd, 0xaaaaaaaaaaaaaa43n),
  fx(0x3ffc, 0xccccccccccbfe4f8n),
  fx(0xbffc, 0x92492491fbab2e66n),
  fx(0x3ffb, 0xe38e372881ea1e0bn),
  fx(0xbffb, 0xba2c0104bbdd0615n),
  fx(0x3ffb, 0x9baf7ebf898b42efn),
];

/** atan(n/8) for n = 0..8 as a high and a low extended part. */
const FPATAN_TABLE: [number, bigint, number, bigint][] = [
  [0x0000, 0x0000000000000000n, 0x0000, 0x0000000000000000n],
  [0x3ffb, 0xfeadd4d5617b6e33n, 0xbfb9, 0xdda19d8305ddc420n],
  [0x3ffc, 0xfadbafc96406eb15n, 0x3fbb, 0xdb8f3debef442fccn],
  [0x3ffd, 0xb7b0ca0f26f78474n, 0xbfbc, 0xeab9bdba460376fan],
  [0x3ffd, 0xed63382b0dda7b45n, 0x3fbc, 0xdfc88bd978751a06n],
  [0x3ffe, 0x8f005d5ef7f59f9bn, 0x3fbd, 0xb906bc2ccb886e90n],
  [0x3ffe, 0xa4bc7d1934f70924n, 0x3fbb, 0xcd43f9522bed64f8n],
  [0x3ffe, 0xb8053e2bc2319e74n, 0xbfbc, 0xd3496ab7bd6eef0cn],
  [0x3ffe, 0xc90fdaa22168c235n, 0xbfbc, 0xece675d1fc8f8cbcn],
];

/** Coefficients of log2((1+x)/(1-x)) (odd powers): c0, c0 low part, c1..c9. */
const FYL2X_C0 = fx(0x4000, 0xb8aa3b295c17f0bcn);
const FYL2X_C0_LOW = fx(0xbfbf, 0x834972fe2d7bab1bn);
const FYL2X_C: Fx[] = [
  fx(0x3ffe, 0xf6384ee1d01febb8n),
  fx(0x3ffe, 0x93bb62877cdfa2e3n),
  fx(0x3ffd, 0xd30bb153d808f269n),
  fx(0x3ffd, 0xa42589eaf451499en),
  fx(0x3ffd, 0x864d42c0f8f17517n),
  fx(0x3ffc, 0xe3476578adf26272n),
  fx(0x3ffc, 0xc506c5f874e6d80fn),
  fx(0x3ffc, 0xac5cf50cc57d6372n),
  fx(0x3ffc, 0xb1ed0066d971a103n),
];

/** Horner evaluation accum = (...(c[last]*y + c[last-1])*y ... + c[0])*y, as QEMU orders it. */
function horner(c: Fx[], y: Fx): Fx {
  let acc = fxMul(c[c.length - 1]!, y);
  for (let i = c.length - 2; i >= 0; i--) {
    acc = fxAdd(c[i]!, acc);
    acc = fxMul(acc, y);
  }
  return acc;
}

/** 2^x - 1 of the finite, supported extended value s:h:l (QEMU's helper_f2xm1), into rr. */
function f2xm1Ext(s: number, h: number, l: number, rc: number): void {
  const sign = s >>> 15;
  let exp = s & 0x7fff;
  let sig = big64(h, l);
  if (exp > 0x3fff || (exp === 0x3fff && sig !== B63)) {
    invalidResult(); // out of range for the instruction
    return;
  }
  if (exp === 0x3fff) {
    // Argument 1 or -1, exact result 1 or -0.5.
    if (sign) {
      rr[0] = 0xbffe;
      rr[1] = 0x80000000;
      rr[2] = 0;
    } else {
      rr[0] = s;
      rr[1] = h;
      rr[2] = l;
    }
    return;
  }
  if (exp < 0x3fb0) {
    if (exp === 0 && sig === 0n) {
      rr[0] = s;
      rr[1] = h;
      rr[2] = l;
      return;
    }
    // Tiny argument: x * ln(2) with an extra-precise ln(2).
    [exp, sig] = normSub(exp, sig);
    const [s0, s1] = mul128By64(LN2_HI, LN2_LO, sig);
    nrp(sign, exp, s0, s1 | 1n, rc);
    return;
  }
  // Nearest multiple of 1/32: x = t + y with 2^t, 2^t - 1 from the table.
  const x = fx(s, sig);
  const n = 32 + fxToInt32(fxScalbn(x, 5, RC_NEAREST));
  const row = F2XM1_TABLE[n]!;
  const t = fx(row[0], row[1]);
  const y = fxAdd(x, t, true);
  if (fxIsZero(y)) {
    setR(t); // (QEMU returns t itself here)
    xf |= PE;
    return;
  }
  const accum = fxAdd(F2XM1_C0_LOW, horner(F2XM1_C, y));
  let aexp = fxExp(F2XM1_C0);
  let asign = fxSign(F2XM1_C0);
  let [a0, a1] = shr128Jam(accum.m, 0n, aexp - fxExp(accum));
  if (asign === fxSign(accum)) [a0, a1] = add128(F2XM1_C0.m, 0n, a0, a1);
  else [a0, a1] = sub128(F2XM1_C0.m, 0n, a0, a1);
  [a0, a1] = mul128By64(a0, a1, y.m);
  aexp += fxExp(y) - 0x3ffe;
  asign ^= fxSign(y);
  if (n !== 32) {
    // Times 2^t, plus 2^t - 1.
    [a0, a1] = mul128By64(a0, a1, row[3]);
    aexp += (row[2] & 0x7fff) - 0x3ffe;
    const bexp = row[4] & 0x7fff;
    let b0 = row[5];
    let b1 = 0n;
    if (bexp < aexp) [b0, b1] = shr128Jam(b0, b1, aexp - bexp);
    else if (aexp < bexp) {
      [a0, a1] = shr128Jam(a0, a1, bexp - aexp);
      aexp = bexp;
    }
    const bsign = row[4] >>> 15;
    if (asign === bsign) {
      [a0, a1] = shr128Jam(a0, a1, 1);
      [b0, b1] = shr128Jam(b0, b1, 1);
      aexp++;
      [a0, a1] = add128(a0, a1, b0, b1);
    } else {
      [a0, a1] = sub128(b0, b1, a0, a1);
      asign = bsign;
    }
  }
  nrp(asign, aexp, a0, a1 | 1n, rc);
}

/** log2(1 + arg) for 1 + arg in [sqrt(2)/2, sqrt(2)] (QEMU's helper_fyl2x_common): [exp, sig0, sig1]. */
function fyl2xCommon(arg: Fx): [number, bigint, bigint] {
  const aSig = arg.m;
  const aExp = fxExp(arg);
  // t = arg/(2 + arg), with extra precision.
  let dexp: number;
  let d0: bigint;
  let d1: bigint;
  if (fxSign(arg)) {
    dexp = 0x3fff;
    [d0, d1] = shr128Jam(aSig, 0n, dexp - aExp);
    [d0, d1] = sub128(0n, 0n, d0, d1);
  } else {
    dexp = 0x4000;
    [d0, d1] = shr128Jam(aSig, 0n, dexp - aExp);
    d0 |= B63;
  }
  let texp = aExp - dexp + 0x3ffe;
  let r0 = aSig;
  let r1 = 0n;
  let r2 = 0n;
  if (d0 <= r0) {
    [r0, r1] = shr128(r0, r1, 1);
    texp++;
  }
  let t0 = estimateDiv128To64(r0, r1, d0);
  const [m0, m1, m2] = mul128By64(d0, d1, t0);
  [r0, r1, r2] = sub192(r0, r1, r2, m0, m1, m2);
  while (r0 >= B63) {
    t0 = (t0 - 1n) & M64;
    [r0, r1, r2] = add192(r0, r1, r2, 0n, d0, d1);
  }
  const t1 = estimateDiv128To64(r1, r2, d0);
  const [q0, q1] = mul128To256(t0, t1, t0, t1);
  const t2 = nrpFx(0, texp + texp - 0x3ffe, q0, q1);
  const accum = fxAdd(FYL2X_C0_LOW, horner(FYL2X_C, t2));
  let aexp = fxExp(FYL2X_C0);
  let [a0, a1] = shr128Jam(accum.m, 0n, aexp - fxExp(accum));
  if (fxSign(FYL2X_C0) === fxSign(accum)) [a0, a1] = add128(FYL2X_C0.m, 0n, a0, a1);
  else [a0, a1] = sub128(FYL2X_C0.m, 0n, a0, a1);
  [a0, a1] = mul128To256(a0, a1, t0, t1);
  aexp += texp - 0x3ffe;
  return [aexp, a0, a1];
}

/**
 * The NaN/unsupported-operand rules of QEMU's FYL2X, FYL2XP1 and FPATAN (x = ST0, y = ST1):
 * returns true (result in rr) when one applied.
 */
function twoOpNaN(x: Fx, y: Fx): boolean {
  const kx = nanKind(x.s, Number(x.m >> 32n), Number(x.m & M32n));
  const ky = nanKind(y.s, Number(y.m >> 32n), Number(y.m & M32n));
  if (kx === K_SNAN) quietNaN(x.s, Number(x.m >> 32n), Number(x.m & M32n));
  else if (ky === K_SNAN) quietNaN(y.s, Number(y.m >> 32n), Number(y.m & M32n));
  else if (kx === K_BAD || ky === K_BAD) invalidResult();
  else if (kx === K_QNAN) setR(x);
  else if (ky === K_QNAN) setR(y);
  else return false;
  return true;
}

/** DE when either operand is an extended denormal (or pseudo-denormal). */
function denormals(x: Fx, y: Fx): number {
  return ((x.s & 0x7fff) === 0 && x.m !== 0n) || ((y.s & 0x7fff) === 0 && y.m !== 0n) ? DE : 0;
}

function isInf(a: Fx): boolean {
  return (a.s & 0x7fff) === 0x7fff && a.m === B63;
}

/** y * log2(x) (QEMU's helper_fyl2x), into rr. */
function fyl2xExt(x: Fx, y: Fx, rc: number): void {
  if (twoOpNaN(x, y)) return;
  const xSign = fxSign(x);
  const ySign = fxSign(y);
  if (xSign && !fxIsZero(x)) invalidResult();
  else if (isInf(y)) {
    const c = fxCompare(x, FX_ONE);
    if (c === CMP_LT) setR(fx(y.s ^ 0x8000, y.m));
    else if (c === CMP_GT) setR(y);
    else invalidResult();
  } else if (isInf(x)) {
    if (fxIsZero(y)) invalidResult();
    else setR(ySign ? fx(x.s ^ 0x8000, x.m) : x);
  } else if (fxIsZero(x)) {
    if (fxIsZero(y)) invalidResult();
    else {
      xf |= ZE;
      packInf(ySign ^ 1);
    }
  } else if (fxIsZero(y)) {
    setR(fxCompare(x, FX_ONE) === CMP_LT ? fx(y.s ^ 0x8000, y.m) : y);
  } else if (fxCompare(x, FX_ONE) === CMP_EQ) {
    packZero(ySign);
  } else {
    const [xExp, xSig] = normSub(fxExp(x), x.m);
    // (QEMU normalises a denormal y twice: when the first pass leaves exponent 0, the second
    // one makes it 1.)
    const [yExp, ySig] = normSub(...normSub(fxExp(y), y.m));
    let intExp = xExp - 0x3fff;
    if (xSig > 0xb504f333f9de6484n) intExp++;
    const xm1 = fxAdd(fxScalbn(x, -intExp, RC_NEAREST), FX_ONE, true);
    if (fxIsZero(xm1)) {
      // Exact power of 2.
      intToExt(intExp < 0, 0, Math.abs(intExp));
      const ie = fx(rr[0]!, big64(rr[1]!, rr[2]!));
      setR(fxMul(ie, y, 64, rc));
      return;
    }
    let asign = fxSign(xm1);
    let [aexp, a0, a1] = fyl2xCommon(xm1);
    if (intExp !== 0) {
      const isign = intExp < 0 ? 1 : 0;
      const ie = Math.abs(intExp);
      const shift = Math.clz32(ie) + 32;
      const isig = BigInt(ie) << BigInt(shift);
      const iexp = 0x403e - shift;
      [a0, a1] = shr128Jam(a0, a1, iexp - aexp);
      if (asign === isign) [a0, a1] = add128(isig, 0n, a0, a1);
      else [a0, a1] = sub128(isig, 0n, a0, a1);
      aexp = iexp;
      asign = isign;
    }
    [a0, a1] = mul128By64(a0, a1, ySig);
    aexp += yExp - 0x3ffe;
    nrp(asign ^ ySign, aexp, a0, a1 | 1n, rc);
  }
}

/** y * log2(x + 1) (QEMU's helper_fyl2xp1), into rr. */
function fyl2xp1Ext(x: Fx, y: Fx, prec: number, rc: number): void {
  if (twoOpNaN(x, y)) return;
  const xSign = fxSign(x);
  const ySign = fxSign(y);
  let xExp = fxExp(x);
  let xSig = x.m;
  if (xExp > 0x3ffd || (xExp === 0x3ffd && xSig > (xSign ? 0x95f619980c4336f7n : 0xd413cccfe7799211n))) {
    invalidResult(); // |x| beyond 1 - sqrt(2)/2 (AMD's wider range)
  } else if (fxIsZero(x) || fxIsZero(y) || fxExp(y) === 0x7fff) {
    setR(fxMul(x, y, prec, rc));
  } else if (xExp < 0x3fb0) {
    // Tiny x: x * y * log2(e) with an extra-precise log2(e).
    [xExp, xSig] = normSub(xExp, xSig);
    const [yExp, ySig] = normSub(fxExp(y), y.m);
    let [s0, s1] = mul128By64(LOG2E_HI, LOG2E_LO, xSig);
    [s0, s1] = mul128By64(s0, s1, ySig);
    nrp(xSign ^ ySign, xExp + 1 + yExp - 0x3ffe, s0, s1 | 1n, rc);
  } else {
    const [aexp, a0, a1] = fyl2xCommon(x);
    const [yExp, ySig] = normSub(fxExp(y), y.m);
    const [b0, b1] = mul128By64(a0, a1, ySig);
    nrp(xSign ^ ySign, aexp + yExp - 0x3ffe, b0, b1 | 1n, rc);
  }
}

/** atan2(y, x) (QEMU's helper_fpatan with x = ST0, y = ST1), into rr. */
function fpatanExt(x: Fx, y: Fx, rc: number): void {
  if (twoOpNaN(x, y)) return;
  const xSign = fxSign(x);
  const ySign = fxSign(y);
  let xExp = fxExp(x);
  let yExp = fxExp(y);
  let xSig = x.m;
  let ySig = y.m;
  if (fxIsZero(y) && !xSign) {
    setR(y);
    return;
  }
  if (((isInf(x) && !isInf(y)) || xExp - yExp >= 80) && !xSign) {
    // y/x is the result up to rounding; it is inexact even when the division is not.
    const saved = xf;
    xf = 0;
    fxLoad(0, y);
    fxLoad(1, x);
    coreDiv(64, rc);
    const exact = (xf & PE) === 0;
    xf |= saved;
    if (exact && !((rr[0]! & 0x7fff) === 0 && rr[1]! === 0 && rr[2]! === 0)) {
      const [e, sig] = normSub(rr[0]! & 0x7fff, big64(rr[1]!, rr[2]!));
      nrp(rr[0]! >>> 15, e, sig - 1n, M64, rc);
    }
    return;
  }
  let rexp: number;
  let rsig0: bigint;
  let rsig1: bigint;
  if (fxIsZero(y)) {
    // x negative: pi with the sign of y.
    rexp = 0x4000;
    rsig0 = PI_HI;
    rsig1 = PI_LO;
  } else if (isInf(y)) {
    if (isInf(x)) {
      rexp = xSign ? 0x4000 : 0x3ffe;
      rsig0 = xSign ? PI34_HI : PI_HI;
      rsig1 = xSign ? PI34_LO : PI_LO;
    } else {
      rexp = 0x3fff;
      rsig0 = PI_HI;
      rsig1 = PI_LO;
    }
  } else if (fxIsZero(x) || yExp - xExp >= 80) {
    rexp = 0x3fff;
    rsig0 = PI_HI;
    rsig1 = PI_LO;
  } else if (isInf(x) || xExp - yExp >= 80) {
    rexp = 0x4000;
    rsig0 = PI_HI;
    rsig1 = PI_LO;
  } else {
    [xExp, xSig] = normSub(xExp, xSig);
    [yExp, ySig] = normSub(yExp, ySig);
    let numExp: number;
    let numSig: bigint;
    let denExp: number;
    let denSig: bigint;
    let adjExp: number;
    let adj0: bigint;
    let adj1: bigint;
    let adjSub: boolean;
    if (xExp > yExp || (xExp === yExp && xSig >= ySig)) {
      // |y| / |x|, subtracted from pi when x < 0.
      numExp = yExp;
      numSig = ySig;
      denExp = xExp;
      denSig = xSig;
      adjExp = xSign ? 0x4000 : 0;
      adj0 = xSign ? PI_HI : 0n;
      adj1 = xSign ? PI_LO : 0n;
      adjSub = xSign !== 0;
    } else {
      // |x| / |y|, added to or subtracted from pi/2.
      numExp = xExp;
      numSig = xSig;
      denExp = yExp;
      denSig = ySig;
      adjExp = 0x3fff;
      adj0 = PI_HI;
      adj1 = PI_LO;
      adjSub = !xSign;
    }
    // q = num/den in (0, 1], with extra precision.
    let qexp = numExp - denExp + 0x3ffe;
    let rem0 = numSig;
    let rem1 = 0n;
    if (denSig <= rem0) {
      [rem0, rem1] = shr128(rem0, rem1, 1);
      qexp++;
    }
    let q0 = estimateDiv128To64(rem0, rem1, denSig);
    const [m0, m1] = mul64To128(denSig, q0);
    [rem0, rem1] = sub128(rem0, rem1, m0, m1);
    while (rem0 >= B63) {
      q0 = (q0 - 1n) & M64;
      [rem0, rem1] = add128(rem0, rem1, 0n, denSig);
    }
    const q1 = estimateDiv128To64(rem1, 0n, denSig);
    // q = t + u with t = n/8 the nearest multiple of 1/8.
    const n = fxToInt32(nrpFx(0, qexp + 3, q0, q1));
    let uSign: number;
    let uExp: number;
    let u0: bigint;
    let u1: bigint;
    let texp: number;
    let tsig: bigint;
    if (n === 0) {
      uSign = 0;
      uExp = qexp;
      u0 = q0;
      u1 = q1;
      texp = 0;
      tsig = 0n;
    } else {
      let shift = Math.clz32(n) + 32;
      texp = 0x403b - shift;
      tsig = BigInt(n) << BigInt(shift);
      if (texp === qexp) {
        [u0, u1] = sub128(q0, q1, tsig, 0n);
        if (u0 < B63) {
          uSign = 0;
          if (u0 === 0n) {
            if (u1 === 0n) uExp = 0;
            else {
              shift = clz64(u1) + 64;
              uExp = qexp - shift;
              [u0, u1] = shl128(u0, u1, shift);
            }
          } else {
            shift = clz64(u0);
            uExp = qexp - shift;
            [u0, u1] = shl128(u0, u1, shift);
          }
        } else {
          uSign = 1;
          [u0, u1] = sub128(0n, 0n, u0, u1);
          shift = u0 === 0n ? clz64(u1) + 64 : clz64(u0);
          uExp = qexp - shift;
          [u0, u1] = shl128(u0, u1, shift);
        }
      } else {
        const [v0, v1] = shr128Jam(q0, q1, texp - qexp);
        uSign = 1;
        [u0, u1] = sub128(tsig, 0n, v0, v1);
        shift = u0 === 0n ? clz64(u1) + 64 : clz64(u0);
        uExp = texp - shift;
        [u0, u1] = shl128(u0, u1, shift);
      }
    }
    // z = u/(1 + t q), so atan(q) = atan(t) + atan(z).
    const zSign = uSign;
    let zExp: number;
    let z0: bigint;
    let z1: bigint;
    if (texp === 0 || uExp === 0) {
      zExp = uExp;
      z0 = u0;
      z1 = u1;
    } else {
      const dExp = texp + qexp - 0x3ffe;
      let [d0, d1] = mul128By64(q0, q1, tsig);
      [d0, d1] = shr128Jam(d0, d1, 0x3fff - dExp);
      d0 |= B63;
      zExp = uExp - 1;
      let r0 = u0;
      let r1 = u1;
      let r2 = 0n;
      if (d0 <= r0) {
        [r0, r1] = shr128(r0, r1, 1);
        zExp++;
      }
      z0 = estimateDiv128To64(r0, r1, d0);
      const [n0, n1, n2] = mul128By64(d0, d1, z0);
      [r0, r1, r2] = sub192(r0, r1, r2, n0, n1, n2);
      while (r0 >= B63) {
        z0 = (z0 - 1n) & M64;
        [r0, r1, r2] = add192(r0, r1, r2, 0n, d0, d1);
      }
      z1 = estimateDiv128To64(r1, r2, d0);
    }
    let azExp: number;
    let az0: bigint;
    let az1: bigint;
    if (zExp === 0) {
      azExp = 0;
      az0 = 0n;
      az1 = 0n;
    } else {
      const [s0, s1] = mul128To256(z0, z1, z0, z1);
      const z2 = nrpFx(0, zExp + zExp - 0x3ffe, s0, s1);
      const accum = horner(FPATAN_C.slice(1), z2);
      const aexp = fxExp(FPATAN_C[0]!);
      let [a0, a1] = shr128Jam(accum.m, 0n, aexp - fxExp(accum));
      [a0, a1] = sub128(FPATAN_C[0]!.m, 0n, a0, a1);
      azExp = aexp + zExp - 0x3ffe;
      [az0, az1] = mul128To256(a0, a1, z0, z1);
    }
    let axExp: number;
    let ax0: bigint;
    let ax1: bigint;
    if (texp === 0) {
      axExp = azExp;
      ax0 = az0;
      ax1 = az1;
    } else {
      const row = FPATAN_TABLE[n]!;
      const lowExp = row[2] & 0x7fff;
      let [l0, l1] = [row[3], 0n];
      axExp = row[0] & 0x7fff;
      ax0 = row[1];
      ax1 = 0n;
      [l0, l1] = shr128Jam(l0, l1, axExp - lowExp);
      if (row[2] >>> 15) [ax0, ax1] = sub128(ax0, ax1, l0, l1);
      else [ax0, ax1] = add128(ax0, ax1, l0, l1);
      if (azExp >= axExp) {
        [ax0, ax1] = shr128Jam(ax0, ax1, azExp - axExp + 1);
        axExp = azExp + 1;
        [az0, az1] = shr128Jam(az0, az1, 1);
      } else {
        [ax0, ax1] = shr128Jam(ax0, ax1, 1);
        [az0, az1] = shr128Jam(az0, az1, axExp - azExp + 1);
        axExp++;
      }
      if (zSign) [ax0, ax1] = sub128(ax0, ax1, az0, az1);
      else [ax0, ax1] = add128(ax0, ax1, az0, az1);
    }
    if (adjExp === 0) {
      rexp = axExp;
      rsig0 = ax0;
      rsig1 = ax1;
    } else {
      if (adjExp >= axExp) {
        [ax0, ax1] = shr128Jam(ax0, ax1, adjExp - axExp + 1);
        rexp = adjExp + 1;
        [adj0, adj1] = shr128Jam(adj0, adj1, 1);
      } else {
        [ax0, ax1] = shr128Jam(ax0, ax1, 1);
        [adj0, adj1] = shr128Jam(adj0, adj1, axExp - adjExp + 1);
        rexp = axExp + 1;
      }
      if (adjSub) [rsig0, rsig1] = sub128(adj0, adj1, ax0, ax1);
      else [rsig0, rsig1] = add128(adj0, adj1, ax0, ax1);
    }
  }
  nrp(ySign, rexp, rsig0, rsig1 | 1n, rc);
}

// ---- Correctly rounded double sin, cos, tan ----
//
// QEMU's FSIN/FCOS/FSINCOS/FPTAN call the host C library on the operand rounded to a double;
// glibc's results are the correctly rounded ones in practice, so this computes those: exact
// argument reduction by pi/2 and Taylor series in BigInt fixed point (about 200 bits), then one
// rounding to nearest.

const TRIG_W = 200; // fixed-point scale of the reduced argument and the series
const TRIG_F = 280; // scale of the unreduced argument (x >= 2^-27 has at most 80 fraction bits beyond it)
let halfPiF = 0n;

function halfPi(): bigint {
  if (halfPiF === 0n) {
    // Machin: pi = 16 atan(1/5) - 4 atan(1/239), with 40 guard bits.
    const P = BigInt(TRIG_F + 40);
    const atanInv = (k: bigint): bigint => {
      let sum = 0n;
      let term = (1n << P) / k;
      const k2 = k * k;
      for (let n = 1n, neg = false; term !== 0n; n += 2n, neg = !neg) {
        sum += neg ? -(term / n) : term / n;
        term /= k2;
      }
      return sum;
    };
    halfPiF = (16n * atanInv(5n) - 4n * atanInv(239n)) >> 41n;
  }
  return halfPiF;
}

/** The fixed-point V * 2^-w rounded to the nearest double (ties to even). */
function fixedToDouble(V: bigint, w: number): number {
  if (V === 0n) return 0;
  const neg = V < 0n;
  if (neg) V = -V;
  const bits = V.toString(2).length;
  const shift = bits - 53;
  let q: bigint;
  if (shift > 0) {
    const S = BigInt(shift);
    q = V >> S;
    const rem = V & ((1n << S) - 1n);
    const half = 1n << (S - 1n);
    if (rem > half || (rem === half && (q & 1n) !== 0n)) q += 1n;
  } else q = V << BigInt(-shift);
  const r = Number(q) * pow2(shift - w);
  return neg ? -r : r;
}

/** sin, cos or tan (kind 0, 1, 2) of the finite double x with |x| < 2^63, correctly rounded. */
function crTrig(kind: number, x: number): number {
  const ax = Math.abs(x);
  if (ax < 2 ** -27) return kind === 1 ? 1 : x; // sin x = tan x = x, cos x = 1 after rounding
  // |x| = M * 2^e exactly.
  f64[0] = ax;
  const e = ((u32[HI]! >>> 20) & 0x7ff) - 1075;
  const M = (BigInt((u32[HI]! & 0xfffff) | 0x100000) << 32n) | BigInt(u32[LO]!);
  const X = M << BigInt(e + TRIG_F);
  const hp = halfPi();
  const k = (2n * X + hp) / (2n * hp);
  const r = (X - k * hp) >> BigInt(TRIG_F - TRIG_W);
  const one = 1n << BigInt(TRIG_W);
  const W = BigInt(TRIG_W);
  const r2 = (r * r) >> W;
  let sn = r;
  let cs = one;
  let ts = r;
  let tc = one;
  for (let n = 1n; ts !== 0n || tc !== 0n; n += 2n) {
    ts = -((ts * r2) >> W) / ((n + 1n) * (n + 2n));
    tc = -((tc * r2) >> W) / (n * (n + 1n));
    sn += ts;
    cs += tc;
  }
  const q = Number(k & 3n);
  let v: bigint;
  if (kind === 0) v = q === 0 ? sn : q === 1 ? cs : q === 2 ? -sn : -cs;
  else if (kind === 1) v = q === 0 ? cs : q === 1 ? -sn : q === 2 ? -cs : sn;
  else v = q & 1 ? -(cs << W) / sn : (sn << W) / cs;
  const res = fixedToDouble(v, TRIG_W);
  return x < 0 && kind !== 1 ? -res : res;
}

/** Exact remainder slot0 - q*slot1 (both finite, nonzero): q truncated, or nearest-even when `ieee`. Returns q mod 8. */
function coreRem(ieee: boolean, rc: number): number {
  const A = big64(oHi[0]!, oLo[0]!);
  const B = big64(oHi[1]!, oLo[1]!);
  const d = oExp[0]! - oExp[1]!;
  let N: bigint;
  let D: bigint;
  let base: number; // exponent of the remainder's unit
  if (d >= 0) {
    N = A << BigInt(d);
    D = B;
    base = oExp[1]! - 63;
  } else {
    N = A;
    D = d < -66 ? B << 66n : B << BigInt(-d);
    base = oExp[0]! - 63;
  }
  let Q = N / D;
  let R = N - Q * D;
  if (ieee && (2n * R > D || (2n * R === D && (Q & 1n) !== 0n))) {
    Q += 1n;
    R -= D;
  }
  let neg = oNeg[0]!;
  if (R < 0n) {
    R = -R;
    neg ^= 1;
  }
  if (R === 0n) packZero(oNeg[0]!);
  else {
    const lz = clz64(R);
    const M = R << BigInt(lz);
    roundPack3(neg, base + 63 - lz, Number(M >> 32n), Number(M & M32n), 0, 64, rc);
  }
  return Number(Q & 7n);
}

/** The memory (or integer) operand of the current instruction, as an exact double. */
const opB = new Float64Array(1);

export class Fpu {
  /** Register values by physical register when ext[p] = 0 (exact doubles); ST(i) is physical (top + i) & 7. */
  readonly val = new Float64Array(8);
  /** 1 when xs/xh/xl hold the register's value (it is not exactly a double, or is a NaN). */
  readonly ext = new Uint8Array(8);
  readonly xs = new Uint16Array(8);
  readonly xh = new Uint32Array(8);
  readonly xl = new Uint32Array(8);
  top = 0;
  /** Bit p set: physical register p is empty (tag 11). */
  emptyMask = 0xff;
  cw = 0x037f;
  /** Status word without TOP and ES/B, which are derived when it is read. */
  private swBits = 0;
  /** Last non-control instruction's opcode (11 bits) and memory operand; FIP/FCS/FDS are the CPU's to fill in. */
  fop = 0;
  fdp = 0;
  fip = 0;
  fcs = 0;
  fds = 0;
  /** From the control word: rounding mode, significand bits (24/53/64), PC is 53 or 64. */
  private rc = RC_NEAREST;
  private prec = 64;
  private fastPC = true;
  private host!: FpuHost;
  private ea = 0;

  constructor() {
    this.reset();
  }

  /** FNINIT state. Register contents are kept (they are only tagged empty), as on hardware. */
  reset(): void {
    this.setCW(0x037f);
    this.swBits = 0;
    this.top = 0;
    this.emptyMask = 0xff;
    this.fop = 0;
    this.fdp = 0;
    this.fip = 0;
    this.fcs = 0;
    this.fds = 0;
  }

  /** FWAIT: nothing can be pending because exceptions never trap (see the module comment). */
  fwait(): void {}

  /** The status word as FNSTSW stores it. */
  get sw(): number {
    let s = (this.swBits & ~(TOP_MASK | ES | BUSY)) | (this.top << 11);
    if (s & ~this.cw & 0x3f) s |= ES | BUSY;
    return s;
  }

  /** ST(i) as the nearest double (for dumps and tests). */
  st(i: number): number {
    const p = (this.top + i) & 7;
    if (!this.ext[p]) return this.val[p]!;
    this.regExt(p);
    extToDouble();
    return dres[0]!;
  }

  tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) {
      let t: number;
      if ((this.emptyMask >> p) & 1) t = 3;
      else if (this.ext[p]) {
        const s = this.xs[p]!;
        const h = this.xh[p]!;
        const e = s & 0x7fff;
        if (e === 0) t = h === 0 && this.xl[p] === 0 ? 1 : 2;
        else t = e === 0x7fff || h < 0x80000000 ? 2 : 0;
      } else {
        const v = this.val[p]!;
        t = v === 0 ? 1 : v - v === 0 ? 0 : 2;
      }
      tw |= t << (2 * p);
    }
    return tw;
  }

  describe(): string {
    let out = `FCW=${hex(this.cw, 4)} FSW=${hex(this.sw, 4)} TOP=${this.top} FTW=${hex(this.tagWord(), 4)} FOP=${hex(this.fop, 3)} FDP=${hex(this.fdp, 8)}`;
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      let text = (this.emptyMask >> p) & 1 ? 'empty' : String(this.st(i));
      if (this.ext[p]) text += ` [${hex(this.xs[p]!, 4)} ${hex(this.xh[p]!, 8)}${hex(this.xl[p]!, 8)}]`;
      out += `\nST${i}=${text}`;
    }
    return out;
  }

  /**
   * Executes one x87 instruction: `op` is the escape byte (0xD8..0xDF), `modrm` the full ModRM
   * byte, `ea` the linear address of the memory operand when modrm < 0xC0.
   */
  exec(op: number, modrm: number, ea: number, host: FpuHost): void {
    this.host = host;
    this.ea = ea;
    const reg = (modrm >> 3) & 7;
    if (modrm < 0xc0) {
      if (!((op === 0xd9 || op === 0xdd) && reg >= 4)) {
        this.fop = ((op & 7) << 8) | modrm;
        this.fdp = ea >>> 0;
      }
      this.execMem(op, reg, ea, host);
      return;
    }
    if (!((op === 0xdb && modrm >= 0xe0 && modrm <= 0xe4) || (op === 0xdf && modrm === 0xe0))) {
      this.fop = ((op & 7) << 8) | modrm;
    }
    const i = modrm & 7;
    const top = this.top;
    const sti = (top + i) & 7;
    switch (op) {
      case 0xd8:
        if (reg === 2 || reg === 3) this.fcom(sti, false, reg - 2);
        else this.regArith(reg, top, sti, false);
        return;
      case 0xd9:
        this.execD9(reg, i, sti);
        return;
      case 0xda: {
        if (reg < 4) {
          const f = host.getFlags();
          const c = reg === 0 ? f & 1 : reg === 1 ? f & 0x40 : reg === 2 ? f & 0x41 : f & 4;
          this.fcmov(sti, c !== 0);
        } else if (modrm === 0xe9) this.fcom((top + 1) & 7, true, 2);
        else host.raiseUD();
        return;
      }
      case 0xdb:
        if (reg < 4) {
          const f = host.getFlags();
          const c = reg === 0 ? f & 1 : reg === 1 ? f & 0x40 : reg === 2 ? f & 0x41 : f & 4;
          this.fcmov(sti, c === 0);
        } else if (reg === 4) {
          if (i === 2) this.swBits &= ~(0xff | BUSY);
          else if (i === 3) this.reset();
          else if (i !== 0 && i !== 1 && i !== 4) host.raiseUD(); // FENI/FDISI/FSETPM are no-ops on a 387+
        } else if (reg === 5) this.fcomi(sti, true, false);
        else if (reg === 6) this.fcomi(sti, false, false);
        else host.raiseUD();
        return;
      case 0xdc:
        if (reg === 2 || reg === 3) this.fcom(sti, false, reg - 2);
        else this.regArith(reg >= 4 ? reg ^ 1 : reg, sti, top, false);
        return;
      case 0xdd:
        switch (reg) {
          case 0:
            this.emptyMask |= 1 << sti;
            return;
          case 1:
            this.fxch(sti);
            return;
          case 2:
          case 3:
            this.fstReg(sti, reg === 3);
            return;
          case 4:
          case 5:
            this.fcom(sti, true, reg - 4);
            return;
          default:
            host.raiseUD();
        }
      case 0xde:
        if (reg === 2) this.fcom(sti, false, 1);
        else if (reg === 3) {
          if (i === 1) this.fcom(sti, false, 2);
          else host.raiseUD();
        } else this.regArith(reg >= 4 ? reg ^ 1 : reg, sti, top, true);
        return;
      default:
        switch (reg) {
          case 0: // FFREEP
            this.emptyMask |= 1 << sti;
            this.pop();
            return;
          case 1:
            this.fxch(sti);
            return;
          case 2:
          case 3:
            this.fstReg(sti, true);
            return;
          case 4:
            if (i === 0) host.setAX(this.sw);
            else host.raiseUD();
            return;
          case 5:
            this.fcomi(sti, true, true);
            return;
          case 6:
            this.fcomi(sti, false, true);
            return;
          default:
            host.raiseUD();
        }
    }
  }

  private execMem(op: number, reg: number, ea: number, host: FpuHost): void {
    switch (op) {
      case 0xd8:
        this.ldF32(ea);
        this.memArith(reg, SRC_M32);
        return;
      case 0xda:
        opB[0] = host.read32(ea) | 0;
        this.memArith(reg, SRC_VALUE);
        return;
      case 0xdc:
        this.ldF64(ea);
        this.memArith(reg, SRC_M64);
        return;
      case 0xde:
        opB[0] = (host.read16(ea) << 16) >> 16;
        this.memArith(reg, SRC_VALUE);
        return;
      case 0xd9:
        switch (reg) {
          case 0:
            this.fldM32(ea);
            return;
          case 2:
          case 3:
            this.fstM32(reg === 3);
            return;
          case 4:
            this.loadEnv(ea);
            return;
          case 5:
            this.setCW(host.read16(ea));
            return;
          case 6:
            this.storeEnv(ea);
            this.setCW(this.cw | 0x3f); // FNSTENV masks all exceptions after saving
            return;
          case 7:
            host.write16(ea, this.cw);
            return;
          default:
            host.raiseUD();
        }
      case 0xdb:
        switch (reg) {
          case 0:
            this.pushValue(host.read32(ea) | 0);
            return;
          case 1:
            this.fist(32, RC_ZERO, true);
            return;
          case 2:
          case 3:
            this.fist(32, this.rc, reg === 3);
            return;
          case 5: {
            const p = this.pushSlot();
            if (p >= 0) {
              rr[2] = host.read32(ea);
              rr[1] = host.read32(ea + 4);
              rr[0] = host.read16(ea + 8);
              this.setExt(p);
            }
            return;
          }
          case 7:
            this.fstM80();
            return;
          default:
            host.raiseUD();
        }
      case 0xdd:
        switch (reg) {
          case 0:
            this.fldM64(ea);
            return;
          case 1:
            this.fist(64, RC_ZERO, true);
            return;
          case 2:
          case 3:
            this.fstM64(reg === 3);
            return;
          case 4:
            this.frstor(ea);
            return;
          case 6:
            this.fnsave(ea);
            return;
          case 7:
            host.write16(ea, this.sw);
            return;
          default:
            host.raiseUD();
        }
      default:
        switch (reg) {
          case 0:
            this.pushValue((host.read16(ea) << 16) >> 16);
            return;
          case 1:
            this.fist(16, RC_ZERO, true);
            return;
          case 2:
          case 3:
            this.fist(16, this.rc, reg === 3);
            return;
          case 4:
            this.fbld(ea);
            return;
          case 5:
            this.fildM64(ea);
            return;
          case 6:
            this.fbstp(ea);
            return;
          default:
            this.fist(64, this.rc, true);
        }
    }
  }

  private execD9(reg: number, i: number, sti: number): void {
    switch (reg) {
      case 0: {
        // FLD ST(i): read the source before the push renumbers the stack.
        if ((this.emptyMask >> sti) & 1) {
          this.underflow();
          const p = this.pushSlot();
          if (p >= 0) this.setIndef(p);
          return;
        }
        const p = this.pushSlot();
        if (p >= 0) this.copyReg(p, sti);
        return;
      }
      case 1:
        this.fxch(sti);
        return;
      case 2:
        if (i !== 0) this.host.raiseUD();
        return; // FNOP
      case 3:
        this.fstReg(sti, true);
        return;
      case 4:
        switch (i) {
          case 0:
          case 1: {
            const p = this.st0OrFault();
            if (p < 0) return;
            const v = this.val[p]!;
            this.val[p] = i === 0 ? -v : Math.abs(v);
            if (this.ext[p]) this.xs[p] = i === 0 ? this.xs[p]! ^ 0x8000 : this.xs[p]! & 0x7fff;
            this.swBits &= ~C1;
            return;
          }
          case 4:
            this.ftst();
            return;
          case 5:
            this.fxam();
            return;
          default:
            this.host.raiseUD();
        }
      case 5:
        switch (i) {
          case 0:
            this.pushValue(1);
            return;
          case 1: // log2(10) = 1.D49A784BCD1B8AFE 49..., rounds down to nearest
            this.pushConst(0x4000, 0xd49a784b, 0xcd1b8afe, false);
            return;
          case 2: // log2(e) = 1.B8AA3B295C17F0BB BE...
            this.pushConst(0x3fff, 0xb8aa3b29, 0x5c17f0bb, true);
            return;
          case 3: // pi = 1.C90FDAA22168C234 C4...
            this.pushConst(0x4000, 0xc90fdaa2, 0x2168c234, true);
            return;
          case 4: // log10(2) = 1.9A209A84FBCFF798 8F...
            this.pushConst(0x3ffd, 0x9a209a84, 0xfbcff798, true);
            return;
          case 5: // ln(2) = 1.B17217F7D1CF79AB C9...
            this.pushConst(0x3ffe, 0xb17217f7, 0xd1cf79ab, true);
            return;
          case 6:
            this.pushValue(0);
            return;
          default:
            this.host.raiseUD();
        }
      case 6:
        switch (i) {
          case 0:
            this.f2xm1();
            return;
          case 1:
            this.fyl2x(false);
            return;
          case 2:
            this.trig(4);
            return;
          case 3:
            this.fpatan();
            return;
          case 4:
            this.fxtract();
            return;
          case 5:
            this.fprem(true);
            return;
          case 6:
            this.top = (this.top - 1) & 7;
            this.swBits &= ~C1;
            return;
          default:
            this.top = (this.top + 1) & 7;
            this.swBits &= ~C1;
            return;
        }
      default:
        switch (i) {
          case 0:
            this.fprem(false);
            return;
          case 1:
            this.fyl2x(true);
            return;
          case 2:
            this.fsqrt();
            return;
          case 3:
            this.trig(5);
            return;
          case 4:
            this.frndint();
            return;
          case 5:
            this.fscale();
            return;
          case 6:
            this.trig(2);
            return;
          default:
            this.trig(3);
        }
    }
  }

  // ---- control word, stack ----

  private setCW(v: number): void {
    // Bits 13-15 do not exist and bit 6 always reads as 1 (seen on real CPUs: FLDCW 0 -> 0x0040).
    this.cw = (v & 0x1f3f) | 0x40;
    this.rc = (this.cw >> 10) & 3;
    const pc = (this.cw >> 8) & 3;
    this.prec = pc === 0 ? 24 : pc === 2 ? 53 : 64;
    this.fastPC = pc !== 0;
  }

  private underflow(): void {
    this.swBits = (this.swBits | IE | SF) & ~C1;
  }

  private pop(): void {
    this.emptyMask |= 1 << this.top;
    this.top = (this.top + 1) & 7;
  }

  /** Decrements TOP and returns the new ST(0)'s register, or -1 on overflow (the indefinite was loaded). */
  private pushSlot(): number {
    const p = (this.top - 1) & 7;
    this.top = p;
    if ((this.emptyMask >> p) & 1) {
      this.emptyMask &= ~(1 << p);
      this.swBits &= ~C1;
      return p;
    }
    this.swBits |= IE | SF | C1;
    this.setIndef(p);
    return -1;
  }

  /** Pushes a double (never a NaN). */
  private pushValue(v: number): void {
    const p = this.pushSlot();
    if (p >= 0) {
      this.val[p] = v;
      this.ext[p] = 0;
    }
  }

  /** Pushes rr. */
  private pushR(): void {
    // (pushSlot may write the indefinite into a register, never into rr)
    const p = this.pushSlot();
    if (p >= 0) this.setExt(p);
  }

  private pushConst(s: number, h: number, l: number, nearestUp: boolean): void {
    // The CPU rounds its internal 66-bit constants per RC (all these are positive and inexact).
    const rc = this.rc;
    const up = rc === RC_NEAREST ? nearestUp : rc === RC_UP;
    const p = this.pushSlot();
    if (p >= 0) {
      rr[0] = s;
      rr[1] = h;
      rr[2] = up ? l + 1 : l;
      this.setExt(p);
    }
    this.swBits &= ~C1;
  }

  /** ST(0)'s register, or -1 after the masked stack-underflow response (ST(0) = indefinite). */
  private st0OrFault(): number {
    const p = this.top;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      this.setIndef(p);
      this.emptyMask &= ~(1 << p);
      return -1;
    }
    return p;
  }

  /** Both registers non-empty? Otherwise applies the underflow response, putting the indefinite in dst. */
  private operands2(a: number, b: number, dst: number): boolean {
    if (((this.emptyMask >> a) | (this.emptyMask >> b)) & 1) {
      this.underflow();
      this.setIndef(dst);
      this.emptyMask &= ~(1 << dst);
      return false;
    }
    return true;
  }

  // ---- register contents ----

  private setIndef(p: number): void {
    this.ext[p] = 1;
    this.xs[p] = 0xffff;
    this.xh[p] = 0xc0000000;
    this.xl[p] = 0;
  }

  /** Stores the exact 80-bit value in rr, as a double when one holds it exactly. */
  private setExt(p: number): void {
    const s = rr[0]!;
    const h = rr[1]!;
    const l = rr[2]!;
    const e = s & 0x7fff;
    if (h >= 0x80000000 && (l & 0x7ff) === 0 && e > 16383 - 1023 && e < 16383 + 1024) {
      // Normal in binary64: build it from the bits.
      u32[HI] = ((s & 0x8000) << 16) | ((e - 16383 + 1023) << 20) | ((h >>> 11) & 0xfffff);
      u32[LO] = ((h << 21) | (l >>> 11)) >>> 0;
      this.val[p] = f64[0]!;
      this.ext[p] = 0;
      return;
    }
    if (h === 0 && l === 0 && e === 0) {
      this.val[p] = s & 0x8000 ? -0 : 0;
      this.ext[p] = 0;
      return;
    }
    if (e === 0x7fff && h === 0x80000000 && l === 0) {
      this.val[p] = s & 0x8000 ? -Infinity : Infinity;
      this.ext[p] = 0;
      return;
    }
    if (e !== 0 && e !== 0x7fff && h >= 0x80000000 && e > 16383 - 1075 && e <= 16383 - 1023) {
      // Possibly a binary64 denormal.
      extToDouble();
      if (cvtFlags === 0) {
        this.val[p] = dres[0]!;
        this.ext[p] = 0;
        return;
      }
    }
    this.ext[p] = 1;
    this.xs[p] = s;
    this.xh[p] = h;
    this.xl[p] = l;
  }

  private copyReg(d: number, s: number): void {
    this.val[d] = this.val[s]!;
    const x = this.ext[s]!;
    this.ext[d] = x;
    if (x) {
      this.xs[d] = this.xs[s]!;
      this.xh[d] = this.xh[s]!;
      this.xl[d] = this.xl[s]!;
    }
  }

  /** The exact 80-bit value of register p into rr. */
  private regExt(p: number): void {
    if (this.ext[p]) {
      rr[0] = this.xs[p]!;
      rr[1] = this.xh[p]!;
      rr[2] = this.xl[p]!;
    } else doubleToExt(this.val[p]!);
  }

  private regFx(p: number): Fx {
    this.regExt(p);
    return fx(rr[0]!, big64(rr[1]!, rr[2]!));
  }

  /** Unpacks register p into operand slot i. */
  private loadSlot(i: number, p: number): void {
    if (this.ext[p]) {
      rr[0] = this.xs[p]!;
      rr[1] = this.xh[p]!;
      rr[2] = this.xl[p]!;
      unpack(i);
    } else unpackDouble(i, this.val[p]!);
  }

  /** Unpacks an operand (register, or opB[0]: an m32/m64 real at ea or a plain value) into slot i. */
  private loadOperand(i: number, src: number): void {
    const v = opB[0]!;
    if (src >= 0) this.loadSlot(i, src);
    else if (v === v) unpackDouble(i, v);
    else {
      // A NaN memory operand: its exact extended form (payload and signalling bit kept).
      if (src === SRC_M32) f32BitsToExt(this.host.read32(this.ea) >>> 0);
      else {
        u32[LO] = this.host.read32(this.ea);
        u32[HI] = this.host.read32(this.ea + 4);
        f64BitsToExt();
      }
      unpack(i);
    }
  }

  // ---- arithmetic ----

  /** ST(p) = ST(p) op b; op: 0 add, 1 mul, 4 d-s, 5 s-d, 6 d/s, 7 s/d. b is register bSrc or opB[0]. */
  private arith(op: number, p: number, bSrc: number): void {
    const bv = bSrc >= 0 ? this.val[bSrc]! : opB[0]!;
    if (this.ext[p] === 0 && !(bSrc >= 0 && this.ext[bSrc] !== 0) && bv === bv && this.fastPC) {
      fa[0] = this.val[p]!;
      fa[1] = bv;
      if (fastArith(op, this.rc, this.prec === 53)) {
        this.val[p] = fastRes[0]!;
        this.swBits |= fastF;
        return;
      }
    }
    xf = 0;
    const rev = op === 5 || op === 7;
    this.loadSlot(rev ? 1 : 0, p);
    this.loadOperand(rev ? 0 : 1, bSrc);
    if (op === 0) coreAdd(false, this.prec, this.rc);
    else if (op === 1) coreMul(this.prec, this.rc);
    else if (op === 4 || op === 5) coreAdd(true, this.prec, this.rc);
    else coreDiv(this.prec, this.rc);
    this.swBits |= xf;
    this.setExt(p);
  }

  /** Arithmetic or comparison of ST(0) with the memory operand already in opB[0]. */
  private memArith(reg: number, src: number): void {
    const p = this.top;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      if (reg === 2 || reg === 3) {
        this.swBits |= C0 | C2 | C3;
        if (reg === 3) this.pop();
      } else {
        this.setIndef(p);
        this.emptyMask &= ~(1 << p);
      }
      return;
    }
    this.swBits &= ~C1;
    if (reg === 2 || reg === 3) {
      this.setCC(this.compare(p, src, false));
      if (reg === 3) this.pop();
      return;
    }
    this.arith(reg, p, src);
  }

  private regArith(op: number, d: number, s: number, pop: boolean): void {
    if (this.operands2(d, s, d)) {
      this.swBits &= ~C1;
      this.arith(op, d, s);
    }
    if (pop) this.pop();
  }

  private fsqrt(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    this.swBits &= ~C1;
    if (!this.ext[p] && this.fastPC) {
      fa[0] = this.val[p]!;
      if (fastArith(8, this.rc, this.prec === 53)) {
        this.val[p] = fastRes[0]!;
        this.swBits |= fastF;
        return;
      }
    }
    xf = 0;
    this.loadSlot(0, p);
    coreSqrt(this.prec, this.rc);
    this.swBits |= xf;
    this.setExt(p);
  }

  /** Reads an m32 real operand into opB[0]. */
  private ldF32(ea: number): void {
    const bits = this.host.read32(ea);
    if ((bits & 0x7f800000) === 0 && (bits & 0x7fffff) !== 0) this.swBits |= DE;
    u32f[0] = bits;
    opB[0] = f32[0]!;
  }

  /** Reads an m64 real operand into opB[0]. */
  private ldF64(ea: number): void {
    const lo = this.host.read32(ea);
    const hi = this.host.read32(ea + 4);
    if ((hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0) this.swBits |= DE;
    u32[LO] = lo;
    u32[HI] = hi;
    opB[0] = f64[0]!;
  }

  // ---- comparisons ----

  private setCC(res: number): void {
    const bits = res === CMP_GT ? 0 : res === CMP_LT ? C0 : res === CMP_EQ ? C3 : C3 | C2 | C0;
    this.swBits = (this.swBits & ~CC) | bits;
  }

  /**
   * Compares ST(p) with register bSrc or opB[0]; `quiet` (FUCOM*) raises IE only for SNaN and
   * unsupported operands.
   */
  private compare(p: number, bSrc: number, quiet: boolean): number {
    const bv = bSrc >= 0 ? this.val[bSrc]! : opB[0]!;
    if (!this.ext[p] && !(bSrc >= 0 && this.ext[bSrc]) && bv === bv) {
      const a = this.val[p]!;
      return a > bv ? CMP_GT : a < bv ? CMP_LT : CMP_EQ;
    }
    xf = 0;
    this.loadSlot(0, p);
    this.loadOperand(1, bSrc);
    const r = coreCompare(quiet);
    this.swBits |= xf & (IE | DE);
    return r;
  }

  /** FCOM/FUCOM family against ST(i): pops = 0, 1 or 2. */
  private fcom(sti: number, quiet: boolean, pops: number): void {
    const p = this.top;
    if (((this.emptyMask >> p) | (this.emptyMask >> sti)) & 1) {
      this.underflow();
      this.swBits |= C0 | C2 | C3;
    } else {
      this.swBits &= ~C1;
      this.setCC(this.compare(p, sti, quiet));
    }
    if (pops > 0) this.pop();
    if (pops > 1) this.pop();
  }

  private fcomi(sti: number, quiet: boolean, pop: boolean): void {
    const p = this.top;
    let res = CMP_UN;
    if (((this.emptyMask >> p) | (this.emptyMask >> sti)) & 1) this.underflow();
    else {
      this.swBits &= ~C1;
      res = this.compare(p, sti, quiet);
    }
    if (res === CMP_GT) this.host.setFlagsZPC(0, 0, 0);
    else if (res === CMP_LT) this.host.setFlagsZPC(0, 0, 1);
    else if (res === CMP_EQ) this.host.setFlagsZPC(1, 0, 0);
    else this.host.setFlagsZPC(1, 1, 1);
    if (pop) this.pop();
  }

  private ftst(): void {
    const p = this.top;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      this.swBits |= C0 | C2 | C3;
      return;
    }
    this.swBits &= ~C1;
    opB[0] = 0;
    this.setCC(this.compare(p, SRC_VALUE, false));
  }

  private fxam(): void {
    const p = this.top;
    let cls: number;
    let neg: boolean;
    if (this.ext[p]) {
      const s = this.xs[p]!;
      const h = this.xh[p]!;
      const e = s & 0x7fff;
      neg = s >= 0x8000;
      if (e === 0x7fff) cls = h < 0x80000000 ? 0 : h === 0x80000000 && this.xl[p] === 0 ? C2 | C0 : C0;
      else if (e === 0) cls = h === 0 && this.xl[p] === 0 ? C3 : C3 | C2;
      else cls = h < 0x80000000 ? 0 : C2;
    } else {
      const v = this.val[p]!;
      f64[0] = v;
      neg = u32[HI]! >= 0x80000000;
      // Every finite nonzero double, binary64 denormals included, is a normal extended number.
      cls = v === 0 ? C3 : v - v === 0 ? C2 : C2 | C0;
    }
    if ((this.emptyMask >> p) & 1) cls = C3 | C0;
    this.swBits = (this.swBits & ~CC) | cls | (neg ? C1 : 0);
  }

  // ---- moves ----

  private fxch(sti: number): void {
    const p = this.top;
    if (((this.emptyMask >> p) | (this.emptyMask >> sti)) & 1) {
      // Masked response: empty registers become the indefinite, then the exchange happens.
      this.underflow();
      if ((this.emptyMask >> p) & 1) this.setIndef(p);
      if ((this.emptyMask >> sti) & 1) this.setIndef(sti);
      this.emptyMask &= ~((1 << p) | (1 << sti));
    } else this.swBits &= ~C1;
    const v = this.val[p]!;
    const x = this.ext[p]!;
    const s = this.xs[p]!;
    const h = this.xh[p]!;
    const l = this.xl[p]!;
    this.copyReg(p, sti);
    this.val[sti] = v;
    this.ext[sti] = x;
    this.xs[sti] = s;
    this.xh[sti] = h;
    this.xl[sti] = l;
  }

  private fstReg(sti: number, pop: boolean): void {
    const p = this.top;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      this.setIndef(sti);
    } else {
      this.swBits &= ~C1;
      this.copyReg(sti, p);
    }
    this.emptyMask &= ~(1 << sti);
    if (pop) this.pop();
  }

  private fcmov(sti: number, cond: boolean): void {
    // A real CPU checks both operands for emptiness whether or not the move happens.
    if (!this.operands2(this.top, sti, this.top)) return;
    this.swBits &= ~C1;
    if (cond) this.copyReg(this.top, sti);
  }

  // ---- loads and stores ----

  private fldM32(ea: number): void {
    const bits = this.host.read32(ea) >>> 0;
    const p = this.pushSlot();
    if (p < 0) return;
    if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
      if (!(bits & 0x400000)) this.swBits |= IE;
      f32BitsToExt((bits | 0x400000) >>> 0);
      this.setExt(p);
      return;
    }
    if ((bits & 0x7f800000) === 0 && (bits & 0x7fffff) !== 0) this.swBits |= DE;
    u32f[0] = bits;
    this.val[p] = f32[0]!;
    this.ext[p] = 0;
  }

  private fldM64(ea: number): void {
    const lo = this.host.read32(ea) >>> 0;
    const hi = this.host.read32(ea + 4) >>> 0;
    const p = this.pushSlot();
    if (p < 0) return;
    const e = hi & 0x7ff00000;
    if (e === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) {
      if (!(hi & 0x80000)) this.swBits |= IE;
      u32[HI] = hi | 0x80000;
      u32[LO] = lo;
      f64BitsToExt();
      this.setExt(p);
      return;
    }
    if (e === 0 && ((hi & 0xfffff) | lo) !== 0) this.swBits |= DE;
    u32[LO] = lo;
    u32[HI] = hi;
    this.val[p] = f64[0]!;
    this.ext[p] = 0;
  }

  private fildM64(ea: number): void {
    const lo = this.host.read32(ea) >>> 0;
    const hi = this.host.read32(ea + 4) | 0;
    const p = this.pushSlot();
    if (p < 0) return;
    if (hi >= -0x200000 && hi < 0x200000) {
      // |v| < 2^53: the double is exact.
      this.val[p] = hi * TWO32 + lo;
      this.ext[p] = 0;
      return;
    }
    const neg = hi < 0;
    let mh = hi >>> 0;
    let ml = lo;
    if (neg) {
      ml = (~lo + 1) >>> 0;
      mh = (~hi + (ml === 0 ? 1 : 0)) >>> 0;
    }
    intToExt(neg, mh, ml);
    this.setExt(p);
  }

  private fstM32(pop: boolean): void {
    const p = this.top;
    let bits: number;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      bits = 0xffc00000;
    } else {
      const rc = this.rc;
      this.swBits &= ~C1;
      if (this.ext[p]) {
        this.regExt(p);
        const s = rr[0]!;
        const k = nanKindR();
        if (k === K_NUM) {
          if ((s & 0x7fff) === 0x7fff) extToDouble();
          else {
            extRound(24, -126, 127, FLT_MAX, rc);
            this.swBits |= cvtFlags;
          }
          f32[0] = dres[0]!;
          bits = u32f[0]!;
        } else if (k === K_BAD) {
          this.swBits |= IE;
          bits = 0xffc00000;
        } else {
          if (k === K_SNAN) this.swBits |= IE;
          bits = (((s & 0x8000) << 16) | 0x7fc00000 | ((rr[1]! >>> 8) & 0x7fffff)) >>> 0;
        }
      } else {
        const v = this.val[p]!;
        if (rc === RC_NEAREST || v - v !== 0) {
          f32[0] = v;
          const f = f32[0]!;
          if (f !== v) {
            let fl = PE;
            if (Math.abs(f) > Math.abs(v)) fl |= C1;
            if (f - f !== 0) fl |= OE;
            else if (Math.abs(v) < FLT_MIN) fl |= UE;
            this.swBits |= fl;
          }
        } else {
          doubleToExt(v);
          extRound(24, -126, 127, FLT_MAX, rc);
          f32[0] = dres[0]!;
          this.swBits |= cvtFlags;
        }
        bits = u32f[0]!;
      }
    }
    this.host.write32(this.ea, bits);
    if (pop) this.pop();
  }

  private fstM64(pop: boolean): void {
    const p = this.top;
    let hi: number;
    let lo: number;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      hi = 0xfff80000;
      lo = 0;
    } else if (!this.ext[p]) {
      this.swBits &= ~C1;
      f64[0] = this.val[p]!;
      hi = u32[HI]!;
      lo = u32[LO]!;
    } else {
      this.swBits &= ~C1;
      this.regExt(p);
      const s = rr[0]!;
      const h = rr[1]!;
      const l = rr[2]!;
      const k = nanKindR();
      if (k === K_NUM) {
        if ((s & 0x7fff) === 0x7fff) extToDouble();
        else {
          extRound(53, -1022, 1023, DBL_MAX, this.rc);
          this.swBits |= cvtFlags;
        }
        f64[0] = dres[0]!;
        hi = u32[HI]!;
        lo = u32[LO]!;
      } else if (k === K_BAD) {
        this.swBits |= IE;
        hi = 0xfff80000;
        lo = 0;
      } else {
        if (k === K_SNAN) this.swBits |= IE;
        hi = (((s & 0x8000) << 16) | 0x7ff80000 | ((h >>> 11) & 0xfffff)) >>> 0;
        lo = ((h << 21) | (l >>> 11)) >>> 0;
      }
    }
    this.host.write32(this.ea, lo);
    this.host.write32(this.ea + 4, hi);
    if (pop) this.pop();
  }

  private writeExt(ea: number, p: number): void {
    this.regExt(p);
    this.host.write32(ea, rr[2]!);
    this.host.write32(ea + 4, rr[1]!);
    this.host.write16(ea + 8, rr[0]!);
  }

  private fstM80(): void {
    const p = this.top;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      this.host.write32(this.ea, 0);
      this.host.write32(this.ea + 4, 0xc0000000);
      this.host.write16(this.ea + 8, 0xffff);
    } else {
      this.swBits &= ~C1;
      this.writeExt(this.ea, p);
    }
    this.pop();
  }

  /**
   * Rounds register p to an integer for FIST/FBSTP: returns false for NaN, infinity and
   * unsupported values; otherwise the magnitude is in kk[0]!:kk[1]! (or beyond 2^64: false).
   */
  private toInt(p: number, rc: number): boolean {
    if (!this.ext[p]) {
      const v = this.val[p]!;
      const r = roundInt(v, rc);
      const m = Math.abs(r);
      if (!(m < 18446744073709551616)) return false;
      kk[0] = Math.floor(m / TWO32);
      kk[1] = m - kk[0]! * TWO32;
      kInexact = r !== v;
      kUp = m > Math.abs(v);
      return true;
    }
    const s = this.xs[p]!;
    const h = this.xh[p]!;
    const l = this.xl[p]!;
    const e = s & 0x7fff;
    if (e === 0x7fff || (e !== 0 && h < 0x80000000)) return false;
    const shift = 63 - ((e === 0 ? 1 : e) - 16383);
    if (shift < 0) return false;
    if (shift === 0) {
      kk[0] = h;
      kk[1] = l;
      kInexact = false;
      kUp = false;
    } else {
      acc[0] = h;
      acc[1] = l;
      roundShift(shift > 100 ? 100 : shift, rc, s >= 0x8000);
    }
    return kk[0]! <= 0xffffffff;
  }

  private fist(size: number, rc: number, pop: boolean): void {
    const p = this.top;
    const host = this.host;
    const ea = this.ea;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      this.writeIntIndef(size);
    } else {
      this.swBits &= ~C1;
      if (size !== 64 && !this.ext[p]) {
        // The common (int) conversion, kept free of 64-bit arithmetic.
        const v = this.val[p]!;
        const r = roundInt(v, rc);
        const lim = size === 16 ? 32768 : 2147483648;
        if (r >= -lim && r < lim) {
          if (size === 16) host.write16(ea, r & 0xffff);
          else host.write32(ea, r >>> 0);
          if (r !== v) this.swBits |= Math.abs(r) > Math.abs(v) ? PE | C1 : PE;
        } else {
          this.swBits |= IE;
          this.writeIntIndef(size);
        }
      } else {
        const neg = this.ext[p] ? this.xs[p]! >= 0x8000 : this.val[p]! < 0;
        let ok = this.toInt(p, rc);
        if (ok) {
          if (size === 64) ok = kk[0]! < 0x80000000 || (neg && kk[0]! === 0x80000000 && kk[1]! === 0);
          else {
            const lim = size === 16 ? 0x8000 : 0x80000000;
            ok = kk[0]! === 0 && (kk[1]! < lim || (neg && kk[1]! === lim));
          }
        }
        if (!ok) {
          this.swBits |= IE;
          this.writeIntIndef(size);
        } else {
          let hi = kk[0]!;
          let lo = kk[1]!;
          if (neg) {
            lo = (~kk[1]! + 1) >>> 0;
            hi = (~kk[0]! + (lo === 0 ? 1 : 0)) >>> 0;
          }
          if (size === 16) host.write16(ea, lo & 0xffff);
          else if (size === 32) host.write32(ea, lo);
          else {
            host.write32(ea, lo);
            host.write32(ea + 4, hi);
          }
          if (kInexact) this.swBits |= kUp ? PE | C1 : PE;
        }
      }
    }
    if (pop) this.pop();
  }

  private writeIntIndef(size: number): void {
    if (size === 16) this.host.write16(this.ea, 0x8000);
    else if (size === 32) this.host.write32(this.ea, 0x80000000);
    else {
      this.host.write32(this.ea, 0);
      this.host.write32(this.ea + 4, 0x80000000);
    }
  }

  private fbld(ea: number): void {
    let hi = 0;
    let lo = 0;
    for (let i = 8; i >= 0; i--) {
      const b = this.host.read8(ea + i) & 0xff;
      for (let n = 0; n < 2; n++) {
        const t = lo * 10 + (n === 0 ? b >> 4 : b & 15);
        const carry = Math.floor(t / TWO32);
        lo = t - carry * TWO32;
        hi = hi * 10 + carry;
      }
    }
    const neg = (this.host.read8(ea + 9) & 0x80) !== 0;
    intToExt(neg, hi, lo);
    this.pushR();
  }

  private fbstp(ea: number): void {
    const p = this.top;
    const host = this.host;
    let ok = false;
    let neg = false;
    if ((this.emptyMask >> p) & 1) this.underflow();
    else {
      this.swBits &= ~C1;
      if (this.ext[p]) neg = this.xs[p]! >= 0x8000;
      else {
        f64[0] = this.val[p]!;
        neg = u32[HI]! >= 0x80000000;
      }
      // 10^18 = 0x0DE0B6B3A7640000: BCD holds at most 18 digits.
      ok = this.toInt(p, this.rc) && (kk[0]! < 0x0de0b6b3 || (kk[0]! === 0x0de0b6b3 && kk[1]! < 0xa7640000));
      if (!ok) this.swBits |= IE;
    }
    if (ok) {
      if (kInexact) this.swBits |= kUp ? PE | C1 : PE;
      for (let i = 0; i < 9; i++) {
        let byte = 0;
        for (let n = 0; n < 2; n++) {
          const qh = Math.floor(kk[0]! / 10);
          const t = (kk[0]! - qh * 10) * TWO32 + kk[1]!;
          const ql = Math.floor(t / 10);
          byte |= (t - ql * 10) << (4 * n);
          kk[0] = qh;
          kk[1] = ql;
        }
        host.write8(ea + i, byte);
      }
      host.write8(ea + 9, neg ? 0x80 : 0);
    } else {
      // The packed-BCD indefinite.
      for (let i = 0; i < 7; i++) host.write8(ea + i, 0);
      host.write8(ea + 7, 0xc0);
      host.write8(ea + 8, 0xff);
      host.write8(ea + 9, 0xff);
    }
    this.pop();
  }

  // ---- environment ----

  private storeEnv(ea: number): void {
    const h = this.host;
    h.write32(ea, (0xffff0000 | this.cw) >>> 0);
    h.write32(ea + 4, (0xffff0000 | this.sw) >>> 0);
    h.write32(ea + 8, (0xffff0000 | this.tagWord()) >>> 0);
    h.write32(ea + 12, this.fip >>> 0);
    h.write32(ea + 16, (((this.fop & 0x7ff) << 16) | (this.fcs & 0xffff)) >>> 0);
    h.write32(ea + 20, this.fdp >>> 0);
    h.write32(ea + 24, (0xffff0000 | this.fds) >>> 0);
  }

  private loadEnv(ea: number): void {
    const h = this.host;
    const cw = h.read16(ea);
    const sw = h.read16(ea + 4) & 0xffff;
    const tw = h.read16(ea + 8);
    const fip = h.read32(ea + 12) >>> 0;
    const w = h.read32(ea + 16) >>> 0;
    const fdp = h.read32(ea + 20) >>> 0;
    const fds = h.read16(ea + 24) & 0xffff;
    this.setCW(cw);
    this.top = (sw >> 11) & 7;
    this.swBits = sw & ~(TOP_MASK | ES | BUSY);
    // Only "empty or not" matters: the other tag values are derived from the contents.
    let empty = 0;
    for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) === 3) empty |= 1 << p;
    this.emptyMask = empty;
    this.fip = fip;
    this.fcs = w & 0xffff;
    this.fop = (w >>> 16) & 0x7ff;
    this.fdp = fdp;
    this.fds = fds;
  }

  private fnsave(ea: number): void {
    this.storeEnv(ea);
    for (let i = 0; i < 8; i++) this.writeExt(ea + 28 + 10 * i, (this.top + i) & 7);
    this.reset();
  }

  private frstor(ea: number): void {
    const h = this.host;
    // Read the whole image before changing anything, so a fault leaves the state intact.
    for (let i = 0; i < 80; i += 4) frstorScratch[i >> 2] = h.read32(ea + 28 + i) >>> 0;
    this.loadEnv(ea);
    for (let i = 0; i < 8; i++) {
      const o = i * 10;
      rr[2] = readLE32(o);
      rr[1] = readLE32(o + 4);
      rr[0] = frstorByte(o + 8) | (frstorByte(o + 9) << 8);
      this.setExt((this.top + i) & 7);
    }
  }

  // ---- transcendental and other operations ----

  /**
   * If register p holds a NaN, an unsupported encoding or (when `infInvalid`) an infinity,
   * writes the x87 response (propagated quiet NaN or the indefinite, IE as due) into rr
   * and returns true.
   */
  private specialOperand(p: number, infInvalid: boolean): boolean {
    if (!this.ext[p]) {
      const v = this.val[p]!;
      if (!infInvalid || v - v === 0) return false;
      xf = 0;
      invalidResult();
      this.swBits |= xf;
      return true;
    }
    const s = this.xs[p]!;
    const e = s & 0x7fff;
    if (e !== 0x7fff && (e === 0 || this.xh[p]! >= 0x80000000)) return false;
    xf = 0;
    this.loadSlot(0, p);
    if (oCls[0] === CL_INF) {
      if (!infInvalid) return false;
      invalidResult();
    } else nanPick(false);
    this.swBits |= xf;
    return true;
  }

  private f2xm1(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    this.swBits &= ~C1;
    if (this.specialOperand(p, false)) {
      this.setExt(p);
      return;
    }
    this.regExt(p);
    xf = 0;
    if ((rr[0]! & 0x7fff) === 0x7fff) {
      // 2^+inf - 1 = +inf, 2^-inf - 1 = -1 (exact, as on hardware).
      if (rr[0]! & 0x8000) doubleToExt(-1);
    } else {
      if ((rr[0]! & 0x7fff) === 0 && (rr[1]! | rr[2]!) !== 0) xf |= DE;
      f2xm1Ext(rr[0]!, rr[1]!, rr[2]!, this.rc);
    }
    this.swBits |= xf;
    this.setExt(p);
  }

  /** kind: 2 FSIN, 3 FCOS, 4 FPTAN, 5 FSINCOS. */
  private trig(kind: number): void {
    const p = this.st0OrFault();
    if (p < 0) {
      if (kind >= 4) {
        const q = this.pushSlot();
        if (q >= 0) this.setIndef(q);
      }
      return;
    }
    this.swBits &= ~(C1 | C2);
    if (this.specialOperand(p, true)) {
      this.setExt(p);
      if (kind >= 4) this.pushR();
      return;
    }
    let x: number;
    if (this.ext[p]) {
      const s = this.xs[p]!;
      if ((s & 0x7fff) >= 16383 + 63) {
        this.swBits |= C2; // out of range: operand unchanged, nothing pushed
        return;
      }
      this.regExt(p);
      extRound(53, -1022, 1023, DBL_MAX, this.rc);
      x = dres[0]!;
    } else {
      x = this.val[p]!;
      if (!(Math.abs(x) < 9223372036854775808)) {
        this.swBits |= C2;
        return;
      }
    }
    if (x !== 0) this.swBits |= PE;
    switch (kind) {
      case 2:
        this.setDouble(p, crTrig(0, x));
        return;
      case 3:
        this.setDouble(p, crTrig(1, x));
        return;
      case 4:
        this.setDouble(p, crTrig(2, x));
        this.pushValue(1);
        return;
      default:
        this.setDouble(p, crTrig(0, x));
        this.pushValue(crTrig(1, x));
    }
  }

  private setDouble(p: number, v: number): void {
    this.val[p] = v;
    this.ext[p] = 0;
  }

  private fyl2x(plus1: boolean): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (this.operands2(p0, p1, p1)) {
      this.swBits &= ~C1;
      const x = this.regFx(p0);
      const y = this.regFx(p1);
      xf = 0;
      if (plus1) fyl2xp1Ext(x, y, this.prec, this.rc);
      else fyl2xExt(x, y, this.rc);
      this.swBits |= (xf & ~DE) | denormals(x, y);
      this.setExt(p1);
    }
    this.pop();
  }

  private fpatan(): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (this.operands2(p0, p1, p1)) {
      this.swBits &= ~C1;
      const x = this.regFx(p0);
      const y = this.regFx(p1);
      xf = 0;
      fpatanExt(x, y, this.rc);
      this.swBits |= (xf & ~DE) | denormals(x, y);
      this.setExt(p1);
    }
    this.pop();
  }

  private frndint(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    const rc = this.rc;
    this.swBits &= ~C1;
    if (!this.ext[p]) {
      const v = this.val[p]!;
      const r = roundInt(v, rc);
      if (r !== v) this.swBits |= Math.abs(r) > Math.abs(v) ? PE | C1 : PE;
      this.val[p] = r;
      return;
    }
    if (this.specialOperand(p, false)) {
      this.setExt(p);
      return;
    }
    const s = this.xs[p]!;
    const h = this.xh[p]!;
    const l = this.xl[p]!;
    const e = s & 0x7fff;
    if (e === 0x7fff || (h === 0 && l === 0)) return;
    const E = (e === 0 ? 1 : e) - 16383;
    if (E >= 63) return; // already an integer
    const neg = s >= 0x8000;
    acc[0] = h;
    acc[1] = l;
    roundShift(63 - E > 100 ? 100 : 63 - E, rc, neg);
    if (kInexact) this.swBits |= kUp ? PE | C1 : PE;
    intToExt(neg, kk[0]!, kk[1]!);
    this.setExt(p);
  }

  private fxtract(): void {
    const p = this.st0OrFault();
    if (p < 0) {
      const q = this.pushSlot();
      if (q >= 0) this.setIndef(q);
      return;
    }
    this.swBits &= ~C1;
    if (this.specialOperand(p, false)) {
      this.setExt(p);
      this.pushR();
      return;
    }
    this.regExt(p);
    const s = rr[0]!;
    let h = rr[1]!;
    let l = rr[2]!;
    let e = s & 0x7fff;
    if (h === 0 && l === 0) {
      // Zero: the exponent is -inf (ZE), the significand the zero itself.
      this.swBits |= ZE;
      this.setDouble(p, -Infinity);
      this.pushValue(s >= 0x8000 ? -0 : 0);
      return;
    }
    if (e === 0x7fff) {
      this.setDouble(p, Infinity);
      this.pushValue(s >= 0x8000 ? -Infinity : Infinity);
      return;
    }
    if (e === 0 || h < 0x80000000) {
      // Denormal extended value: normalise (its exponent is that of bit 63 at e = 1).
      this.swBits |= DE;
      intToExt(false, h, l);
      e = (e === 0 ? 1 : e) - (16383 + 63 - rr[0]!);
      h = rr[1]!;
      l = rr[2]!;
    }
    this.setDouble(p, e - 16383);
    const q = this.pushSlot();
    if (q >= 0) {
      rr[0] = (s & 0x8000) | 0x3fff;
      rr[1] = h;
      rr[2] = l;
      this.setExt(q);
    }
  }

  private fscale(): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (!this.operands2(p0, p1, p0)) return;
    this.swBits &= ~C1;
    xf = 0;
    this.loadSlot(0, p0);
    this.loadSlot(1, p1);
    const ca = oCls[0]!;
    const cb = oCls[1]!;
    if (ca >= CL_QNAN || cb >= CL_QNAN) nanPick(true);
    else if (cb === CL_INF) {
      // Scaling by an infinity: 0 * 2^+inf and inf * 2^-inf are invalid.
      const neg = oNeg[0]!;
      if (oNeg[1]) {
        if (ca === CL_INF) invalidResult();
        else packZero(neg);
      } else if (ca === CL_ZERO) invalidResult();
      else packInf(neg);
    } else if (ca === CL_ZERO || ca === CL_INF) {
      this.swBits |= xf & DE;
      return; // unchanged
    } else {
      // n = trunc(ST1), saturated (beyond +-2^16 every result overflows or underflows).
      let n = 0;
      const ye = oExp[1]!;
      if (cb === CL_ZERO) n = 0;
      else if (ye >= 17) n = 0x10000;
      else if (ye >= 0) n = oHi[1]! >>> (31 - ye);
      if (oNeg[1]) n = -n;
      oExp[0] = oExp[0]! + n;
      roundSlot(0, oNeg[0]!, 64, this.rc);
    }
    this.swBits |= xf;
    this.setExt(p0);
  }

  /** FPREM (truncating quotient) / FPREM1 (IEEE remainder, nearest-even quotient). */
  private fprem(ieee: boolean): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (!this.operands2(p0, p1, p0)) return;
    this.swBits &= ~CC;
    xf = 0;
    this.loadSlot(0, p0);
    this.loadSlot(1, p1);
    const ca = oCls[0]!;
    const cb = oCls[1]!;
    if (ca >= CL_QNAN || cb >= CL_QNAN) nanPick(true);
    else if (ca === CL_INF || cb === CL_ZERO) invalidResult();
    else if (ca === CL_ZERO || cb === CL_INF) {
      this.swBits |= xf & DE;
      return; // x unchanged, quotient 0
    } else {
      const d = oExp[0]! - oExp[1]!;
      if (d < 64) {
        const q = coreRem(ieee, this.rc);
        this.swBits |= (q & 4 ? C0 : 0) | (q & 2 ? C3 : 0) | (q & 1 ? C1 : 0);
      } else {
        // Partial remainder: reduce the exponent difference by 32..63 (AMD's documented
        // choice, followed by Intel CPUs and QEMU), truncating; C2 = 1 asks for another step.
        const n = 32 + (d % 32);
        oExp[1] = oExp[0]! - n;
        coreRem(false, this.rc);
        this.swBits |= C2;
      }
    }
    this.swBits |= xf;
    this.setExt(p0);
  }
}

// FRSTOR's staging area (80 bytes of register images as little-endian dwords).
const frstorScratch = new Uint32Array(20);

function frstorByte(o: number): number {
  return (frstorScratch[o >> 2]! >>> (8 * (o & 3))) & 0xff;
}

function readLE32(o: number): number {
  return (
    (frstorByte(o) | (frstorByte(o + 1) << 8) | (frstorByte(o + 2) << 16) | (frstorByte(o + 3) << 24)) >>> 0
  );
}
