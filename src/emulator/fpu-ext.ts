// x87 80-bit arithmetic: the exact extended-precision core the FPU state machine (fpu.ts) calls.
// Guarantees: rounding of an extended value to 24/53/64 significand bits under every RC with the 15-bit
// exponent range and denormals; exact unpacking/packing between registers, doubles, floats and integers;
// correctly rounded + - * / sqrt and exact compares on two operand slots. Values travel through the
// module-level typed arrays below and the shared flag state `S` (no allocation, not reentrant: the
// emulator is single-threaded). See fpu.ts for the architectural guarantees these serve.

/** Flags and side results of the last operation, shared with fpu.ts and fpu-trans.ts. */
export const S = {
  /** Last integer rounding (roundInt) was inexact / rounded away from zero. */
  kInexact: false,
  kUp: false,
  /** PE/UE/OE/C1 produced by the last extRound. */
  cvtFlags: 0,
  /** Exception flags (and C1) raised by the exact-arithmetic helpers since the caller cleared it. */
  xf: 0,
  /** Flags of the double fast path. */
  fastF: 0,
};

// Status word bits.
export const IE = 0x0001;
export const DE = 0x0002;
export const ZE = 0x0004;
export const OE = 0x0008;
export const UE = 0x0010;
export const PE = 0x0020;
export const SF = 0x0040;
export const ES = 0x0080;
export const C0 = 0x0100;
export const C1 = 0x0200;
export const C2 = 0x0400;
export const C3 = 0x4000;
export const BUSY = 0x8000;
export const TOP_MASK = 0x3800;
export const CC = C0 | C1 | C2 | C3;

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

export const CMP_GT = 0;
export const CMP_LT = 1;
export const CMP_EQ = 2;
export const CMP_UN = 3;

// Where an operand comes from. A value >= 0 is a physical register number.
export const SRC_M32 = -1;
export const SRC_M64 = -2;
/** A value exactly representable as a double (integer operand, constant): never a NaN. */
export const SRC_VALUE = -3;

// NaN kinds (for propagation).
export const K_NUM = 0;
export const K_QNAN = 1;
export const K_SNAN = 2;
/** Unnormal, pseudo-NaN, pseudo-infinity: invalid operands on a 387 and later. */
export const K_BAD = 3;

// Operand classes of the exact arithmetic (K_* order kept for the NaN-like ones).
export const CL_ZERO = 0;
export const CL_NORM = 1;
export const CL_INF = 2;
export const CL_QNAN = 3;
export const CL_SNAN = 4;
export const CL_BAD = 5;

/** Unbiased exponent of the smallest normal extended number. */
export const EMIN = -16382;

export const TWO32 = 4294967296;
export const TWO52 = 4503599627370496;
export const DBL_MAX = 1.7976931348623157e308;
export const FLT_MAX = 3.4028234663852886e38;
export const FLT_MIN = 1.1754943508222875e-38;
export const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for binary64
/** Bounds inside which Dekker's exact product of doubles cannot overflow or underflow. */
export const FAST_LO = 2 ** -900;
export const FAST_HI = 2 ** 990;
export const DBL_MIN_NORMAL = 2 ** -1022;

// Shared scratch for bit conversions (one buffer viewed two ways, so no allocation).
export const f64 = new Float64Array(1);
export const u32 = new Uint32Array(f64.buffer);
export const f32 = new Float32Array(1);
export const u32f = new Uint32Array(f32.buffer);
export const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const LO = LITTLE ? 0 : 1;
export const HI = LITTLE ? 1 : 0;

// Module-level "registers" of the helpers below (typed arrays, so that passing 32-bit halves and
// doubles between functions never boxes a number): an 80-bit value as sign|exponent (16 bits)
// and the two significand halves (unsigned 32-bit numbers).
export const rr = new Uint32Array(3); // [sign|exponent, significand high, significand low]
// Result of roundShift: the kept integer (kk: high, low), whether bits were lost, whether it was
// incremented (the x87 "rounded up" C1 indication).
export const kk = new Float64Array(2); // [kept high (may reach 2^32), kept low]
/** Input of roundShiftX/roundPack: a magnitude h:m with 32 further bits x below it. */
export const acc = new Uint32Array(3);
/** Double results of extRound/extToDouble. */
export const dres = new Float64Array(1);

/** 2^q as a double, for q in [-1074, 1023], built from bits so it is exact. */
export function pow2(q: number): number {
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
 * need). Output in kk/S.kInexact/S.kUp; kk[0] may reach 2^32 when rounding carries out of 64 bits.
 */
export function roundShiftX(s: number, rc: number, neg: boolean): void {
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
  S.kInexact = inexact;
  S.kUp = up;
}

/** Drops the low `shift` bits of the 64-bit magnitude acc[0]:acc[1] (see roundShiftX). */
export function roundShift(shift: number, rc: number, neg: boolean): void {
  acc[2] = 0;
  roundShiftX(shift, rc, neg);
}

/** The value a format overflow gives under rc (IEEE 754: infinity or the largest finite). */
export function overflowed(neg: boolean, max: number, rc: number): number {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
  S.cvtFlags = OE | PE | (toInf ? C1 : 0);
  const m = toInf ? Infinity : max;
  return neg ? -m : m;
}

/**
 * Rounds the finite, non-unnormal 80-bit value in rr to a binary format with `prec` significant
 * bits and normal exponents [emin, emax] under rc; the result goes to dres[0] as a double (exact
 * for binary32 and binary64). Sets S.cvtFlags.
 */
export function extRound(prec: number, emin: number, emax: number, max: number, rc: number): void {
  dres[0] = extRoundD(prec, emin, emax, max, rc);
}

export function extRoundD(prec: number, emin: number, emax: number, max: number, rc: number): number {
  const s = rr[0]!;
  const h = rr[1]!;
  const l = rr[2]!;
  S.cvtFlags = 0;
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
  if (S.kInexact) {
    S.cvtFlags = PE | (S.kUp ? C1 : 0);
    if (lead < emin) S.cvtFlags |= UE;
  }
  if (lead === emax && m === 2 ** prec) return overflowed(neg, max, rc);
  const r = m * pow2(q < -1074 ? -1074 : q);
  return neg ? -r : r;
}

/** The 80-bit value in rr to the nearest double (NaN for NaNs and unsupported encodings), into dres[0]; S.cvtFlags != 0 when not exact. */
export function extToDouble(): void {
  const s = rr[0]!;
  const h = rr[1]!;
  const e = s & 0x7fff;
  if (e === 0x7fff) {
    S.cvtFlags = 0;
    if (h === 0x80000000 && rr[2] === 0) dres[0] = s >= 0x8000 ? -Infinity : Infinity;
    else {
      S.cvtFlags = IE;
      dres[0] = NaN;
    }
  } else if (e !== 0 && h < 0x80000000) {
    S.cvtFlags = IE;
    dres[0] = NaN;
  } else extRound(53, -1022, 1023, DBL_MAX, RC_NEAREST);
}

/** Exact 80-bit form of the binary64 whose bits are in u32 (f64's view), into rr. */
export function f64BitsToExt(): void {
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

export function doubleToExt(v: number): void {
  f64[0] = v;
  f64BitsToExt();
}

/** Exact 80-bit form of the binary32 with the given bits, into rr. */
export function f32BitsToExt(bits: number): void {
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
export function intToExt(neg: boolean, hi: number, lo: number): void {
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
export function nanKindR(): number {
  return nanKind(rr[0]!, rr[1]!, rr[2]!);
}

export function nanKind(s: number, h: number, l: number): number {
  const e = s & 0x7fff;
  if (e === 0x7fff) {
    if (h < 0x80000000) return K_BAD;
    if (h === 0x80000000 && l === 0) return K_NUM;
    return h & 0x40000000 ? K_QNAN : K_SNAN;
  }
  return e !== 0 && h < 0x80000000 ? K_BAD : K_NUM;
}

/** Round to an integer per rc, keeping the sign of zero (FRNDINT needs it). */
export function roundInt(v: number, rc: number): number {
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
export function twoProdErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

export function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

// ---- Exact extended arithmetic ----
//
// Operands are unpacked into two slots: class, sign, unbiased exponent E of significand bit 63
// (denormals are normalised, so E can go below EMIN) and the 64-bit significand with bit 63 set;
// the raw 80-bit bits are kept for NaN propagation. Results go to rr, flags to S.xf.

export const oCls = new Int32Array(2);
export const oNeg = new Int32Array(2);
export const oExp = new Int32Array(2);
export const oHi = new Uint32Array(2);
export const oLo = new Uint32Array(2);
export const oS = new Int32Array(2);
export const oRH = new Uint32Array(2);
export const oRL = new Uint32Array(2);

/** Unpacks the 80-bit value in rr into operand slot i. */
export function unpack(i: number): void {
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
      S.xf |= DE;
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
  S.xf |= DE;
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

export function unpackDouble(i: number, v: number): void {
  f64[0] = v;
  f64BitsToExt();
  unpack(i);
}

export function packZero(neg: number): void {
  rr[0] = neg ? 0x8000 : 0;
  rr[1] = 0;
  rr[2] = 0;
}

export function packInf(neg: number): void {
  rr[0] = neg ? 0xffff : 0x7fff;
  rr[1] = 0x80000000;
  rr[2] = 0;
}

export function invalidResult(): void {
  S.xf |= IE;
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
export function nanPick(two: boolean): void {
  const ca = oCls[0]!;
  const cb = two ? oCls[1]! : CL_ZERO;
  if (ca === CL_BAD || cb === CL_BAD || (ca < CL_QNAN && cb < CL_QNAN)) {
    invalidResult();
    return;
  }
  if (ca === CL_SNAN || cb === CL_SNAN) S.xf |= IE;
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
export function overflowPack(neg: number, prec: number, rc: number): void {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg !== 0);
  S.xf |= OE | PE | (toInf ? C1 : 0);
  if (toInf) {
    packInf(neg);
    return;
  }
  rr[0] = neg ? 0xfffe : 0x7ffe;
  rr[1] = prec === 24 ? 0xffffff00 : 0xffffffff;
  rr[2] = prec === 64 ? 0xffffffff : prec === 53 ? 0xfffff800 : 0;
}

/** Whether the rounded kk[0]!:kk[1]! of a `prec`-bit rounding carried to 2^prec. */
export function carried(prec: number): boolean {
  return prec === 64 ? kk[0]! > 0xffffffff : prec === 53 ? kk[0]! >= 0x200000 : kk[1]! >= 0x1000000;
}

/**
 * Rounds the nonzero value 0.h m x * 2^(E+1) (h:m:x = acc; h has its top bit set: E is the
 * exponent of the leading bit; x holds 32 further bits, its lowest one "sticky") to `prec` bits
 * (24, 53 or 64) under rc, with the extended exponent range and denormals, into rr; flags to S.xf.
 */
export function roundPack(neg: number, E: number, prec: number, rc: number): void {
  if (E > 16383) {
    overflowPack(neg, prec, rc);
    return;
  }
  const lead = E >= EMIN ? E : EMIN;
  const s = lead - E + 64 - prec; // bits of h:m dropped (x is dropped too)
  roundShiftX(s > 100 ? 100 : s, rc, neg !== 0);
  const inexact = S.kInexact;
  const up = S.kUp;
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
    S.xf |= up ? PE | C1 : PE;
    if (E < EMIN) {
      // Tininess after rounding: not tiny if rounding to `prec` bits with an unbounded
      // exponent would have reached 2^EMIN.
      let tiny = true;
      if (be === 1 && E === EMIN - 1) {
        roundShiftX(s - 1, rc, neg !== 0);
        tiny = !carried(prec);
      }
      if (tiny) S.xf |= UE;
    }
  }
  rr[0] = (neg ? 0x8000 : 0) | be;
  rr[1] = mh;
  rr[2] = ml;
}

// 96-bit shift right with jamming (lost bits ORed into bit 0), in place on ww.
export const ww = new Uint32Array(3);
/** Sets acc = h:m:x and rounds it (see roundPack). */
export function roundPack3(
  neg: number,
  E: number,
  h: number,
  m: number,
  x: number,
  prec: number,
  rc: number,
): void {
  acc[0] = h;
  acc[1] = m;
  acc[2] = x;
  roundPack(neg, E, prec, rc);
}

/** Rounds the finite nonzero operand in slot i, with sign `neg`, to prec under rc. */
export function roundSlot(i: number, neg: number, prec: number, rc: number): void {
  acc[0] = oHi[i]!;
  acc[1] = oLo[i]!;
  acc[2] = 0;
  roundPack(neg, oExp[i]!, prec, rc);
}

/** Shifts ww right by d with jamming, in place. */
export function shr96Jam(d: number): void {
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

/** A NaN or unsupported operand in slot 0 or 1? Then the result is already packed (nanPick). */
export function nanOperands(): boolean {
  if (oCls[0]! < CL_QNAN && oCls[1]! < CL_QNAN) return false;
  nanPick(true);
  return true;
}

/** slot0 + slot1 (or slot0 - slot1 when `sub`), rounded to prec under rc. */
export function coreAdd(sub: boolean, prec: number, rc: number): void {
  if (nanOperands()) return;
  const ca = oCls[0]!;
  const cb = oCls[1]!;
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
export const pp = new Float64Array(2); // [high, low]
export function mul32(a: number, b: number): void {
  const lo = Math.imul(a, b) >>> 0;
  pp[1] = lo;
  pp[0] = Math.round((a * b - lo) / TWO32);
}

/** slot0 * slot1, rounded to prec under rc. */
export function coreMul(prec: number, rc: number): void {
  if (nanOperands()) return;
  const ca = oCls[0]!;
  const cb = oCls[1]!;
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

export const M32n = 0xffffffffn;

// Significand division: dv = [ah, al, bh, bl] (both 64-bit values in [2^63, 2^64)) gives
// dv = [h, m, x, sticky], the 96-bit Q = floor(A * 2^95 / B) (in [2^94, 2^96)) and whether the
// remainder is nonzero. Long division in base 2^32: each quotient digit is estimated in doubles
// (within 1 of the true digit), then made exact by correcting the exact partial remainder.
export const dv = new Uint32Array(4);

export function divSig(): void {
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
export function coreDiv(prec: number, rc: number): void {
  if (nanOperands()) return;
  const ca = oCls[0]!;
  const cb = oCls[1]!;
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
      S.xf |= ZE;
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
export const sqX = new Uint32Array(4);
export const sqP = new Uint32Array(4);
export const sqR = new Uint32Array(4);

/** sqP = Q^2 for the 64-bit Q = qh:ql. */
export function square64(qh: number, ql: number): void {
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
export function cmpSq(): number {
  for (let i = 0; i < 4; i++) if (sqX[i] !== sqP[i]) return sqX[i]! > sqP[i]! ? 1 : -1;
  return 0;
}

/** (qh:ql + 1), as the next candidate root, into pp (high, low). */
export function inc64(qh: number, ql: number, d: number): void {
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
export function coreSqrt(prec: number, rc: number): void {
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
export function coreCompare(quiet: boolean): number {
  const ca = oCls[0]!;
  const cb = oCls[1]!;
  if (ca >= CL_QNAN || cb >= CL_QNAN) {
    if (!quiet || ca === CL_SNAN || cb === CL_SNAN || ca === CL_BAD || cb === CL_BAD) S.xf |= IE;
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
// and the wider exponent range does not matter). fastRes[0] and S.fastF get the result and the flags.

export const fastRes = new Float64Array(1);
/** fastArith's operands. */
export const fa = new Float64Array(2);

/** |v| in the range where the fast path's error terms (twoProdErr) are exact. */
function fastRange(v: number): boolean {
  const m = Math.abs(v);
  return m >= FAST_LO && m <= FAST_HI;
}

/** op: 0 a+b, 1 a*b, 4 a-b, 5 b-a, 6 a/b, 7 b/a, 8 sqrt(a), with a = fa[0], b = fa[1]. */
export function fastArith(op: number, rc: number, pc53: boolean): boolean {
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
      if (!(fastRange(r) && fastRange(a) && fastRange(b))) return false;
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
      if (!(fastRange(r) && fastRange(n) && fastRange(d))) return false;
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
      if (!(a > 0 && fastRange(a))) return false;
      r = Math.sqrt(a);
      const p = r * r;
      const d = a - p - twoProdErr(r, r, p);
      err = d === 0 ? 0 : d < 0 ? -1 : 1;
    }
  }
  fastRes[0] = r;
  if (err === 0) {
    S.fastF = 0;
    return true;
  }
  if (!pc53 || rc !== RC_NEAREST) return false;
  // Inexact: "rounded up" when |r| exceeds the exact value, i.e. err has the other sign.
  S.fastF = err < 0 === r > 0 ? PE | C1 : PE;
  return true;
}
