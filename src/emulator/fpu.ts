// x87 floating-point unit for the i386 user-mode emulator.
//
// What this module guarantees:
// - Architectural bookkeeping is exact: TOP, the tag word, the status word (C0-C3, SF, the six
//   exception flags, ES/B), the control word (reserved bits read back as the hardware does),
//   FOP/FDP, and the 32-bit protected-mode FNSTENV/FNSAVE images. Stack overflow and underflow set
//   IE|SF with C1 = 1/0 and produce the real indefinite (FFFF C000000000000000) exactly as a CPU
//   does with exceptions masked. Comparisons set C0/C2/C3 (or ZF/PF/CF) as the hardware does,
//   including the unordered result and the IE rules of FCOM vs FUCOM for QNaN/SNaN operands.
// - Arithmetic runs on JS doubles (IEEE binary64), NOT on 80-bit extended values. For a
//   program compiled for doubles this is like an x87 with the precision-control field set to
//   53 bits (the FreeBSD default), with three visible differences: (1) long double arithmetic
//   only has 53 significant bits; (2) intermediate results overflow/underflow at the double
//   range (about 1e308 / 4.9e-324) instead of the extended range (about 1e4932), so e.g.
//   x*x/x can give Infinity where the CPU gives x, and an ext denormal reads as 0; (3) results
//   are rounded once, so the rare double-rounding differences of a real x87 storing an
//   extended result to a double do not happen (results equal SSE2's).
//   Directed rounding (RC != nearest) and precision control 24 are honoured for FADD, FSUB,
//   FMUL, FDIV and FSQRT; the transcendental instructions use the JS Math library (correctly
//   argument-reduced, so FSIN of large arguments is more accurate than a CPU's).
// - Values that are only moved keep all 80 bits: every register has an exact 80-bit shadow
//   that is valid whenever the register holds something a double cannot represent (loaded by
//   FLD m80/FRSTOR, FILD m64 beyond 2^53, FBLD, FLDPI & co., NaN payloads). FLD/FSTP m80, FLD
//   ST(i), FST ST(i), FXCH, FCHS, FABS, FCMOVcc, FRNDINT, FXTRACT and FSCALE preserve it, and
//   FIST/FST m32/m64/m80 and comparisons read it, so long double copies, int64 round trips
//   through FILD/FISTP (gcc's 64-bit atomic load/store idiom) and NaN payloads are bit exact.
// - m80 loads convert to double with round-to-nearest-even, including denormals (which are
//   below the double range and read as zero), pseudo-denormals (valued as the hardware values
//   them), infinities, NaNs (payload kept) and unsupported encodings (unnormals, pseudo-NaN,
//   pseudo-infinity: a NaN that raises IE and gives the indefinite when used, as on a 387+).
//   Stores to m32/m64 reals, m16/m32/m64 integers and packed BCD honour the RC field and set
//   PE/UE/OE and C1 ("rounded up") as the hardware does. FLDPI & co. load the CPU's exact
//   64-bit constants rounded per RC (FLDPI then FSTP m80 gives 4000 C90FDAA22168C235).
// - Exceptions always get the masked response (the one glibc's default control word 0x037F
//   selects). An unmasked exception still gets it (the result is written, the stack popped)
//   and only sets its flag and ES/B: no #MF/SIGFPE is ever delivered, and FWAIT is a no-op.
//   PE is reported for conversions, FRNDINT and overflow, not for ordinary inexact
//   arithmetic; DE for denormal m32/m64 operands and extended denormals in comparisons.
// - FIP, FCS and FDS are whatever the CPU stores in the public fields (0 by default): the
//   FPU is not told the instruction address.
// - FPREM/FPREM1 always complete the reduction in one step (C2 = 0) with the exact remainder
//   and the exact low three quotient bits, so glibc's `fprem; fnstsw; sahf; jp` loops see the
//   same final result as on hardware, in one iteration.
// - No allocation on any instruction path: state lives in typed arrays and small integers,
//   and bit conversions go through shared scratch arrays and module-level result variables
//   (the emulator is single-threaded and the helpers are not reentrant).

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

// Where an operand came from, so the slow NaN paths can recover its exact bits. A value >= 0
// is a physical register number.
const SRC_M32 = -1;
const SRC_M64 = -2;
/** A value exactly representable as a double (integer operand, constant): never a NaN. */
const SRC_VALUE = -3;
const SRC_NONE = -4;

// Operand classes for NaN propagation.
const K_NUM = 0;
const K_QNAN = 1;
const K_SNAN = 2;
/** Unnormal, pseudo-NaN, pseudo-infinity: invalid operands on a 387 and later. */
const K_BAD = 3;

const TWO32 = 4294967296;
const TWO52 = 4503599627370496;
const TWO63 = 9223372036854775808;
const DBL_MAX = 1.7976931348623157e308;
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;
const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for binary64

// Shared scratch for bit conversions (one buffer viewed two ways, so no allocation).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32f = new Uint32Array(f32.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

// Module-level "return registers" of the helpers below: an 80-bit value as sign|exponent (16
// bits) and the two mantissa halves (unsigned 32-bit numbers).
let rS = 0;
let rH = 0;
let rL = 0;
// Result of roundShift: the kept integer (kHi:kLo), whether bits were lost, whether it was
// incremented (the x87 "rounded up" C1 indication).
let kHi = 0;
let kLo = 0;
let kInexact = false;
let kUp = false;
/** PE/UE/OE/C1 produced by the last extRound. */
let cvtFlags = 0;

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
 * Drops the low `shift` (>= 1) bits of the 64-bit magnitude h:l, rounding per rc (neg is the
 * sign of the value, which directed modes need). Output in kHi/kLo/kInexact/kUp.
 */
function roundShift(h: number, l: number, shift: number, rc: number, neg: boolean): void {
  let hi: number;
  let lo: number;
  let half: number;
  let sticky: boolean;
  if (shift < 32) {
    lo = ((l >>> shift) | (h << (32 - shift))) >>> 0;
    hi = h >>> shift;
    half = (l >>> (shift - 1)) & 1;
    sticky = (l & ((1 << (shift - 1)) - 1)) !== 0;
  } else if (shift === 32) {
    lo = h;
    hi = 0;
    half = l >>> 31;
    sticky = (l & 0x7fffffff) !== 0;
  } else if (shift < 64) {
    const t = shift - 32;
    lo = h >>> t;
    hi = 0;
    half = (h >>> (t - 1)) & 1;
    sticky = (h & ((1 << (t - 1)) - 1)) !== 0 || l !== 0;
  } else if (shift === 64) {
    lo = 0;
    hi = 0;
    half = h >>> 31;
    sticky = (h & 0x7fffffff) !== 0 || l !== 0;
  } else {
    lo = 0;
    hi = 0;
    half = 0;
    sticky = h !== 0 || l !== 0;
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
  kHi = hi;
  kLo = lo;
  kInexact = inexact;
  kUp = up;
}

/** The value a format overflow gives under rc (IEEE 754: infinity or the largest finite). */
function overflowed(neg: boolean, max: number, rc: number): number {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
  cvtFlags = OE | PE | (toInf ? C1 : 0);
  const m = toInf ? Infinity : max;
  return neg ? -m : m;
}

/**
 * Rounds a finite, non-unnormal 80-bit value to a binary format with `prec` significant bits
 * and normal exponents [emin, emax] under rc; the result is returned as a double (exact for
 * binary32 and binary64). Sets cvtFlags.
 */
function extRound(
  s: number,
  h: number,
  l: number,
  prec: number,
  emin: number,
  emax: number,
  max: number,
  rc: number,
): number {
  cvtFlags = 0;
  const neg = s >= 0x8000;
  if (h === 0 && l === 0) return neg ? -0 : 0;
  const e = s & 0x7fff;
  const E = (e === 0 ? 1 : e) - 16383; // weight of mantissa bit 63
  const lead = E - (h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l));
  if (lead > emax) return overflowed(neg, max, rc);
  const q = (lead >= emin ? lead : emin) - (prec - 1); // weight of the result's last bit
  roundShift(h, l, q - E + 63, rc, neg);
  const m = kHi * TWO32 + kLo;
  if (kInexact) {
    cvtFlags = PE | (kUp ? C1 : 0);
    if (lead < emin) cvtFlags |= UE;
  }
  if (lead === emax && m === 2 ** prec) return overflowed(neg, max, rc);
  const r = m * pow2(q);
  return neg ? -r : r;
}

/** 80-bit value to the nearest double (NaN for NaNs and unsupported encodings); cvtFlags != 0 when not exact. */
function extToDouble(s: number, h: number, l: number): number {
  const e = s & 0x7fff;
  if (e === 0x7fff) {
    cvtFlags = 0;
    if (h === 0x80000000 && l === 0) return s >= 0x8000 ? -Infinity : Infinity;
    cvtFlags = IE;
    return NaN;
  }
  if (e !== 0 && h < 0x80000000) {
    cvtFlags = IE;
    return NaN;
  }
  return extRound(s, h, l, 53, -1022, 1023, DBL_MAX, RC_NEAREST);
}

/** Exact 80-bit form of the binary64 with bits hi:lo, into rS/rH/rL. */
function f64BitsToExt(hi: number, lo: number): void {
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (e === 0) {
    if (fh === 0 && lo === 0) {
      rS = sign;
      rH = 0;
      rL = 0;
      return;
    }
    // A binary64 denormal is a normal extended number: renormalise.
    const lz = fh !== 0 ? Math.clz32(fh) - 12 : 20 + Math.clz32(lo);
    const n = 12 + lz;
    if (n < 32) {
      rH = ((fh << n) | (lo >>> (32 - n))) >>> 0;
      rL = (lo << n) >>> 0;
    } else {
      rH = (lo << (n - 32)) >>> 0;
      rL = 0;
    }
    rS = sign | (16383 - 1023 - lz);
    return;
  }
  rS = sign | (e === 0x7ff ? 0x7fff : e - 1023 + 16383);
  rH = (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0;
  rL = (lo << 11) >>> 0;
}

function doubleToExt(v: number): void {
  f64[0] = v;
  f64BitsToExt(u32[HI]!, u32[LO]!);
}

/** Exact 80-bit form of the binary32 with the given bits, into rS/rH/rL. */
function f32BitsToExt(bits: number): void {
  if ((bits & 0x7f800000) === 0x7f800000) {
    rS = ((bits >>> 16) & 0x8000) | 0x7fff;
    rH = (0x80000000 | ((bits & 0x7fffff) << 8)) >>> 0;
    rL = 0;
    return;
  }
  u32f[0] = bits;
  doubleToExt(f32[0]!);
}

/** 80-bit form of the integer with magnitude hi:lo (unsigned halves), into rS/rH/rL. */
function intToExt(neg: boolean, hi: number, lo: number): void {
  const sign = neg ? 0x8000 : 0;
  if (hi === 0 && lo === 0) {
    rS = sign;
    rH = 0;
    rL = 0;
    return;
  }
  const lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (lz === 0) {
    rH = hi;
    rL = lo;
  } else if (lz < 32) {
    rH = ((hi << lz) | (lo >>> (32 - lz))) >>> 0;
    rL = (lo << lz) >>> 0;
  } else {
    rH = (lo << (lz - 32)) >>> 0;
    rL = 0;
  }
  rS = sign | (16383 + 63 - lz);
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
      if (!(Math.abs(v) < TWO52)) return v;
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

function nextToward(x: number, up: boolean): number {
  if (x === 0) return up ? 5e-324 : -5e-324;
  f64[0] = x;
  let lo = u32[LO]!;
  let hi = u32[HI]!;
  if (x > 0 === up) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
  }
  u32[LO] = lo;
  u32[HI] = hi;
  return f64[0]!;
}

/** Moves the round-to-nearest result r to the directed result, given the sign of (exact - r). */
function directed(r: number, err: number, rc: number): number {
  if (err > 0) {
    if (rc === RC_UP || (rc === RC_ZERO && r < 0)) return nextToward(r, true);
  } else if (err < 0) {
    if (rc === RC_DOWN || (rc === RC_ZERO && r > 0)) return nextToward(r, false);
  }
  return r;
}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

export class Fpu {
  /** Register values by physical register; ST(i) is physical (top + i) & 7. */
  readonly val = new Float64Array(8);
  /** 1 when xs/xh/xl hold the register's exact 80-bit contents (val is then its nearest double). */
  readonly exact = new Uint8Array(8);
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
  /** The control word asks for something other than round-to-nearest at >= 53 bits. */
  private slowRounding = false;
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

  /** ST(i) as a double (for dumps and tests). */
  st(i: number): number {
    return this.val[(this.top + i) & 7]!;
  }

  tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) {
      let t: number;
      if ((this.emptyMask >> p) & 1) t = 3;
      else if (this.exact[p]) {
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
      let text = (this.emptyMask >> p) & 1 ? 'empty' : String(this.val[p]);
      if (this.exact[p]) text += ` [${hex(this.xs[p]!, 4)} ${hex(this.xh[p]!, 8)}${hex(this.xl[p]!, 8)}]`;
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
        this.memArith(reg, this.ldF32(ea), SRC_M32);
        return;
      case 0xda:
        this.memArith(reg, host.read32(ea) | 0, SRC_VALUE);
        return;
      case 0xdc:
        this.memArith(reg, this.ldF64(ea), SRC_M64);
        return;
      case 0xde:
        this.memArith(reg, (host.read16(ea) << 16) >> 16, SRC_VALUE);
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
            this.fist(32, (this.cw >> 10) & 3, reg === 3);
            return;
          case 5: {
            const l = host.read32(ea) >>> 0;
            const h = host.read32(ea + 4) >>> 0;
            const s = host.read16(ea + 8) & 0xffff;
            const p = this.pushSlot();
            if (p >= 0) this.setExt(p, s, h, l);
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
            this.fist(16, (this.cw >> 10) & 3, reg === 3);
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
            this.fist(64, (this.cw >> 10) & 3, true);
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
            if (this.exact[p]) this.xs[p] = i === 0 ? this.xs[p]! ^ 0x8000 : this.xs[p]! & 0x7fff;
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
            this.unaryMath(0);
            return;
          case 1:
            this.fyl2x(false);
            return;
          case 2:
            this.unaryMath(4);
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
            this.unaryMath(1);
            return;
          case 3:
            this.unaryMath(5);
            return;
          case 4:
            this.frndint();
            return;
          case 5:
            this.fscale();
            return;
          case 6:
            this.unaryMath(2);
            return;
          default:
            this.unaryMath(3);
        }
    }
  }

  // ---- control word, stack ----

  private setCW(v: number): void {
    // Bits 13-15 do not exist and bit 6 always reads as 1 (seen on real CPUs: FLDCW 0 -> 0x0040).
    this.cw = (v & 0x1f3f) | 0x40;
    this.slowRounding = (this.cw & 0x0c00) !== 0 || (this.cw & 0x0300) === 0;
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

  private pushValue(v: number): void {
    const p = this.pushSlot();
    if (p >= 0) {
      this.val[p] = v;
      this.exact[p] = 0;
    }
  }

  private pushConst(s: number, h: number, l: number, nearestUp: boolean): void {
    const rc = (this.cw >> 10) & 3;
    // The CPU rounds its internal 66-bit constants per RC (all these are positive and inexact).
    const up = rc === RC_NEAREST ? nearestUp : rc === RC_UP;
    const p = this.pushSlot();
    if (p >= 0) this.setExt(p, s, h, up ? l + 1 : l);
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
    this.val[p] = NaN;
    this.exact[p] = 1;
    this.xs[p] = 0xffff;
    this.xh[p] = 0xc0000000;
    this.xl[p] = 0;
  }

  /** Stores a computed result; a NaN result takes its bits from rS/rH/rL (set by nanResult). */
  private writeRes(p: number, r: number): void {
    this.val[p] = r;
    if (r === r) {
      this.exact[p] = 0;
    } else {
      this.exact[p] = 1;
      this.xs[p] = rS;
      this.xh[p] = rH;
      this.xl[p] = rL;
    }
  }

  /** Loads an exact 80-bit value; the shadow is kept only if a double cannot hold it. */
  private setExt(p: number, s: number, h: number, l: number): void {
    const v = extToDouble(s, h, l);
    this.val[p] = v;
    if (cvtFlags !== 0 || v !== v) {
      this.exact[p] = 1;
      this.xs[p] = s;
      this.xh[p] = h;
      this.xl[p] = l;
    } else {
      this.exact[p] = 0;
    }
  }

  private copyReg(d: number, s: number): void {
    this.val[d] = this.val[s]!;
    const x = this.exact[s]!;
    this.exact[d] = x;
    if (x) {
      this.xs[d] = this.xs[s]!;
      this.xh[d] = this.xh[s]!;
      this.xl[d] = this.xl[s]!;
    }
  }

  /** The exact 80-bit value of register p into rS/rH/rL. */
  private regExt(p: number): void {
    if (this.exact[p]) {
      rS = this.xs[p]!;
      rH = this.xh[p]!;
      rL = this.xl[p]!;
    } else doubleToExt(this.val[p]!);
  }

  /** The exact 80-bit value of an operand (register, memory real or plain value) into rS/rH/rL. */
  private operandExt(src: number, v: number): void {
    if (src >= 0) this.regExt(src);
    else if (src === SRC_M32) f32BitsToExt(this.host.read32(this.ea) >>> 0);
    else if (src === SRC_M64)
      f64BitsToExt(this.host.read32(this.ea + 4) >>> 0, this.host.read32(this.ea) >>> 0);
    else doubleToExt(v);
  }

  /**
   * The result of an operation that produced NaN, per the x87 rules: a NaN operand propagates
   * (QNaN over SNaN, else the larger significand, else the positive one), quietened; with no
   * NaN operand, or an unsupported one, the indefinite. SNaN/unsupported/invalid set IE.
   * The bits go to rS/rH/rL for writeRes.
   */
  private nanResult(aSrc: number, a: number, bSrc: number, b: number): void {
    let ka = K_NUM;
    let sa = 0;
    let ha = 0;
    let la = 0;
    if (a !== a) {
      this.operandExt(aSrc, a);
      ka = nanKind(rS, rH, rL);
      sa = rS;
      ha = rH;
      la = rL;
    }
    let kb = K_NUM;
    if (bSrc !== SRC_NONE && b !== b) {
      this.operandExt(bSrc, b);
      kb = nanKind(rS, rH, rL);
    }
    if (ka === K_BAD || kb === K_BAD || (ka === K_NUM && kb === K_NUM)) {
      this.swBits |= IE;
      rS = 0xffff;
      rH = 0xc0000000;
      rL = 0;
      return;
    }
    if (ka === K_SNAN || kb === K_SNAN) this.swBits |= IE;
    let useA: boolean;
    if (kb === K_NUM) useA = true;
    else if (ka === K_NUM) useA = false;
    else if (ka !== kb) useA = ka === K_QNAN;
    else useA = ha > rH || (ha === rH && (la > rL || (la === rL && sa <= rS)));
    if (useA) {
      rS = sa;
      rH = ha;
      rL = la;
    }
    rH = (rH | 0x40000000) >>> 0;
  }

  // ---- arithmetic ----

  /** op: 0 add, 1 mul, 4 d-s, 5 s-d, 6 d/s, 7 s/d. */
  private arith(op: number, d: number, s: number, dSrc: number, sSrc: number): number {
    let r: number;
    switch (op) {
      case 0:
        r = d + s;
        break;
      case 1:
        r = d * s;
        break;
      case 4:
        r = d - s;
        break;
      case 5:
        r = s - d;
        break;
      case 6:
        r = d / s;
        break;
      default:
        r = s / d;
    }
    if (r - r !== 0) {
      // Infinite or NaN result.
      if (r !== r) {
        this.nanResult(dSrc, d, sSrc, s);
        return r;
      }
      if (d - d === 0 && s - s === 0) {
        if ((op === 6 && s === 0) || (op === 7 && d === 0)) {
          this.swBits |= ZE;
          return r;
        }
        const res = overflowed(r < 0, DBL_MAX, (this.cw >> 10) & 3);
        this.swBits |= cvtFlags & (OE | PE);
        return res;
      }
      return r;
    }
    return this.slowRounding ? this.roundResult(op, d, s, r) : r;
  }

  /** Applies a directed rounding mode and/or 24-bit precision control to a nearest-rounded result. */
  private roundResult(op: number, d: number, s: number, r: number): number {
    const rc = (this.cw >> 10) & 3;
    if (rc !== RC_NEAREST) {
      let err: number;
      let a = d;
      let b = s;
      switch (op) {
        case 1:
          err = twoProdErr(d, s, r);
          break;
        case 6:
        case 7: {
          const n = op === 6 ? d : s;
          const q = op === 6 ? s : d;
          const p = r * q;
          const rem = n - p - twoProdErr(r, q, p);
          err = q < 0 ? -rem : rem;
          break;
        }
        case 8: {
          const p = r * r;
          err = d - p - twoProdErr(r, r, p);
          break;
        }
        default: {
          if (op === 4) b = -s;
          else if (op === 5) {
            a = s;
            b = -d;
          }
          const bb = r - a;
          err = a - (r - bb) + (b - bb);
          // An exact zero sum is +0 in every mode but round-down (IEEE 754 6.3).
          if (r === 0 && rc === RC_DOWN && !(Object.is(a, 0) && Object.is(b, 0))) r = -0;
        }
      }
      r = directed(r, err, rc);
    }
    if ((this.cw & 0x0300) === 0) {
      if (rc === RC_NEAREST) r = Math.fround(r);
      else if (r - r === 0) {
        doubleToExt(r);
        r = extRound(rS, rH, rL, 24, -126, 127, FLT_MAX, rc);
      }
    }
    return r;
  }

  private memArith(reg: number, s: number, src: number): void {
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
      this.setCC(this.compare(this.val[p]!, s, p, src, false));
      if (reg === 3) this.pop();
      return;
    }
    this.writeRes(p, this.arith(reg, this.val[p]!, s, p, src));
  }

  private regArith(op: number, d: number, s: number, pop: boolean): void {
    if (this.operands2(d, s, d)) {
      this.swBits &= ~C1;
      this.writeRes(d, this.arith(op, this.val[d]!, this.val[s]!, d, s));
    }
    if (pop) this.pop();
  }

  private ldF32(ea: number): number {
    const bits = this.host.read32(ea);
    if ((bits & 0x7f800000) === 0 && (bits & 0x7fffff) !== 0) this.swBits |= DE;
    u32f[0] = bits;
    return f32[0]!;
  }

  private ldF64(ea: number): number {
    const lo = this.host.read32(ea);
    const hi = this.host.read32(ea + 4);
    if ((hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0) this.swBits |= DE;
    u32[LO] = lo;
    u32[HI] = hi;
    return f64[0]!;
  }

  // ---- comparisons ----

  private setCC(res: number): void {
    const bits = res === CMP_GT ? 0 : res === CMP_LT ? C0 : res === CMP_EQ ? C3 : C3 | C2 | C0;
    this.swBits = (this.swBits & ~CC) | bits;
  }

  /** Compares a with b; `quiet` (FUCOM*) raises IE only for SNaN and unsupported operands. */
  private compare(a: number, b: number, aSrc: number, bSrc: number, quiet: boolean): number {
    if (a > b) return CMP_GT;
    if (a < b) return CMP_LT;
    if (a === b) {
      // Rounding is monotonic, so only equal doubles need the exact values.
      if ((aSrc >= 0 && this.exact[aSrc]) || (bSrc >= 0 && this.exact[bSrc]))
        return this.compareExact(a, b, aSrc, bSrc);
      return CMP_EQ;
    }
    let bad = false;
    if (a !== a) {
      this.operandExt(aSrc, a);
      const k = nanKind(rS, rH, rL);
      bad = !quiet || k !== K_QNAN;
    }
    if (b !== b) {
      this.operandExt(bSrc, b);
      const k = nanKind(rS, rH, rL);
      bad = bad || !quiet || k !== K_QNAN;
    }
    if (bad) this.swBits |= IE;
    return CMP_UN;
  }

  private compareExact(a: number, b: number, aSrc: number, bSrc: number): number {
    this.operandExt(aSrc, a);
    const sa = rS;
    const ha = rH;
    const la = rL;
    this.operandExt(bSrc, b);
    const za = ha === 0 && la === 0;
    const zb = rH === 0 && rL === 0;
    if (((sa & 0x7fff) === 0 && !za) || ((rS & 0x7fff) === 0 && !zb)) this.swBits |= DE;
    if (za && zb) return CMP_EQ;
    const na = sa >= 0x8000 && !za;
    const nb = rS >= 0x8000 && !zb;
    if (na !== nb) return na ? CMP_LT : CMP_GT;
    // Same sign: compare magnitudes, treating exponent 0 like 1 (how (pseudo-)denormals are valued).
    const ea = za ? 0 : Math.max(sa & 0x7fff, 1);
    const eb = zb ? 0 : Math.max(rS & 0x7fff, 1);
    let m: number;
    if (ea !== eb) m = ea > eb ? 1 : -1;
    else if (ha !== rH) m = ha > rH ? 1 : -1;
    else if (la !== rL) m = la > rL ? 1 : -1;
    else return CMP_EQ;
    if (na) m = -m;
    return m > 0 ? CMP_GT : CMP_LT;
  }

  /** FCOM/FUCOM family against ST(i): pops = 0, 1 or 2. */
  private fcom(sti: number, quiet: boolean, pops: number): void {
    const p = this.top;
    if (((this.emptyMask >> p) | (this.emptyMask >> sti)) & 1) {
      this.underflow();
      this.swBits |= C0 | C2 | C3;
    } else {
      this.swBits &= ~C1;
      this.setCC(this.compare(this.val[p]!, this.val[sti]!, p, sti, quiet));
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
      res = this.compare(this.val[p]!, this.val[sti]!, p, sti, quiet);
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
    this.setCC(this.compare(this.val[p]!, 0, p, SRC_VALUE, false));
  }

  private fxam(): void {
    const p = this.top;
    let cls: number;
    let neg: boolean;
    if (this.exact[p]) {
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
    const x = this.exact[p]!;
    const s = this.xs[p]!;
    const h = this.xh[p]!;
    const l = this.xl[p]!;
    this.copyReg(p, sti);
    this.val[sti] = v;
    this.exact[sti] = x;
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
      this.writeRes(p, NaN);
      return;
    }
    if ((bits & 0x7f800000) === 0 && (bits & 0x7fffff) !== 0) this.swBits |= DE;
    u32f[0] = bits;
    this.val[p] = f32[0]!;
    this.exact[p] = 0;
  }

  private fldM64(ea: number): void {
    const lo = this.host.read32(ea) >>> 0;
    const hi = this.host.read32(ea + 4) >>> 0;
    const p = this.pushSlot();
    if (p < 0) return;
    const e = hi & 0x7ff00000;
    if (e === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) {
      if (!(hi & 0x80000)) this.swBits |= IE;
      f64BitsToExt((hi | 0x80000) >>> 0, lo);
      this.writeRes(p, NaN);
      return;
    }
    if (e === 0 && ((hi & 0xfffff) | lo) !== 0) this.swBits |= DE;
    u32[LO] = lo;
    u32[HI] = hi;
    this.val[p] = f64[0]!;
    this.exact[p] = 0;
  }

  private fildM64(ea: number): void {
    const lo = this.host.read32(ea) >>> 0;
    const hi = this.host.read32(ea + 4) | 0;
    const p = this.pushSlot();
    if (p < 0) return;
    // hi * 2^32 is exact and the sum is rounded once: the nearest double.
    this.val[p] = hi * TWO32 + lo;
    if (hi >= -0x200000 && hi < 0x200000) {
      this.exact[p] = 0;
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
    this.exact[p] = 1;
    this.xs[p] = rS;
    this.xh[p] = rH;
    this.xl[p] = rL;
  }

  private fstM32(pop: boolean): void {
    const p = this.top;
    let bits: number;
    if ((this.emptyMask >> p) & 1) {
      this.underflow();
      bits = 0xffc00000;
    } else {
      const rc = (this.cw >> 10) & 3;
      this.swBits &= ~C1;
      if (this.exact[p]) {
        const s = this.xs[p]!;
        const h = this.xh[p]!;
        const l = this.xl[p]!;
        const k = nanKind(s, h, l);
        if (k === K_NUM) {
          f32[0] = (s & 0x7fff) === 0x7fff ? this.val[p]! : extRound(s, h, l, 24, -126, 127, FLT_MAX, rc);
          if ((s & 0x7fff) !== 0x7fff) this.swBits |= cvtFlags;
          bits = u32f[0]!;
        } else if (k === K_BAD) {
          this.swBits |= IE;
          bits = 0xffc00000;
        } else {
          if (k === K_SNAN) this.swBits |= IE;
          bits = (((s & 0x8000) << 16) | 0x7fc00000 | ((h >>> 8) & 0x7fffff)) >>> 0;
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
          f32[0] = extRound(rS, rH, rL, 24, -126, 127, FLT_MAX, rc);
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
    } else if (!this.exact[p]) {
      this.swBits &= ~C1;
      f64[0] = this.val[p]!;
      hi = u32[HI]!;
      lo = u32[LO]!;
    } else {
      this.swBits &= ~C1;
      const s = this.xs[p]!;
      const h = this.xh[p]!;
      const l = this.xl[p]!;
      const k = nanKind(s, h, l);
      if (k === K_NUM) {
        if ((s & 0x7fff) === 0x7fff) f64[0] = this.val[p]!;
        else {
          f64[0] = extRound(s, h, l, 53, -1022, 1023, DBL_MAX, (this.cw >> 10) & 3);
          this.swBits |= cvtFlags;
        }
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
    this.host.write32(ea, rL);
    this.host.write32(ea + 4, rH);
    this.host.write16(ea + 8, rS);
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
   * unsupported values; otherwise the magnitude is in kHi:kLo (or beyond 2^64: false).
   */
  private toInt(p: number, rc: number): boolean {
    if (!this.exact[p]) {
      const v = this.val[p]!;
      const r = roundInt(v, rc);
      const m = Math.abs(r);
      if (!(m < 18446744073709551616)) return false;
      kHi = Math.floor(m / TWO32);
      kLo = m - kHi * TWO32;
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
      kHi = h;
      kLo = l;
      kInexact = false;
      kUp = false;
    } else roundShift(h, l, shift, rc, s >= 0x8000);
    return true;
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
      if (size !== 64 && !this.exact[p]) {
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
        const neg = this.exact[p] ? this.xs[p]! >= 0x8000 : this.val[p]! < 0;
        let ok = this.toInt(p, rc);
        if (ok) {
          if (size === 64) ok = kHi < 0x80000000 || (neg && kHi === 0x80000000 && kLo === 0);
          else {
            const lim = size === 16 ? 0x8000 : 0x80000000;
            ok = kHi === 0 && (kLo < lim || (neg && kLo === lim));
          }
        }
        if (!ok) {
          this.swBits |= IE;
          this.writeIntIndef(size);
        } else {
          let hi = kHi;
          let lo = kLo;
          if (neg) {
            lo = (~kLo + 1) >>> 0;
            hi = (~kHi + (lo === 0 ? 1 : 0)) >>> 0;
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
    const s = rS;
    const h = rH;
    const l = rL;
    const p = this.pushSlot();
    if (p >= 0) this.setExt(p, s, h, l);
  }

  private fbstp(ea: number): void {
    const p = this.top;
    const host = this.host;
    let ok = false;
    let neg = false;
    if ((this.emptyMask >> p) & 1) this.underflow();
    else {
      this.swBits &= ~C1;
      if (this.exact[p]) neg = this.xs[p]! >= 0x8000;
      else {
        f64[0] = this.val[p]!;
        neg = u32[HI]! >= 0x80000000;
      }
      // 10^18 = 0x0DE0B6B3A7640000: BCD holds at most 18 digits.
      ok =
        this.toInt(p, (this.cw >> 10) & 3) && (kHi < 0x0de0b6b3 || (kHi === 0x0de0b6b3 && kLo < 0xa7640000));
      if (!ok) this.swBits |= IE;
    }
    if (ok) {
      if (kInexact) this.swBits |= kUp ? PE | C1 : PE;
      for (let i = 0; i < 9; i++) {
        let byte = 0;
        for (let n = 0; n < 2; n++) {
          const qh = Math.floor(kHi / 10);
          const t = (kHi - qh * 10) * TWO32 + kLo;
          const ql = Math.floor(t / 10);
          byte |= (t - ql * 10) << (4 * n);
          kHi = qh;
          kLo = ql;
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
      const l = readLE32(o);
      const hh = readLE32(o + 4);
      const s = (frstorByte(o + 8) | (frstorByte(o + 9) << 8)) >>> 0;
      this.setExt((this.top + i) & 7, s, hh, l);
    }
  }

  // ---- transcendental and other unary operations ----

  /** kind: 0 F2XM1, 1 FSQRT, 2 FSIN, 3 FCOS, 4 FPTAN, 5 FSINCOS. */
  private unaryMath(kind: number): void {
    const p = this.st0OrFault();
    if (p < 0) {
      if (kind >= 4) {
        const q = this.pushSlot();
        if (q >= 0) this.setIndef(q);
      }
      return;
    }
    const x = this.val[p]!;
    this.swBits &= ~(C1 | C2);
    if (x !== x) {
      this.nanResult(p, x, SRC_NONE, 0);
      this.writeRes(p, NaN);
      if (kind >= 4) {
        const q = this.pushSlot();
        if (q >= 0) this.writeRes(q, NaN);
      }
      return;
    }
    let r: number;
    switch (kind) {
      case 0:
        // 2^x - 1 without cancellation near 0; pow is exact-ish where it matters (x = +-1 -> 1, -0.5).
        r = Math.abs(x) < 0.5 ? Math.expm1(x * Math.LN2) : Math.pow(2, x) - 1;
        this.writeRes(p, r);
        return;
      case 1:
        r = Math.sqrt(x);
        if (r !== r) {
          this.nanResult(p, x, SRC_NONE, 0);
          this.writeRes(p, r);
          return;
        }
        if (this.slowRounding) r = this.roundResult(8, x, 0, r);
        this.writeRes(p, r);
        return;
    }
    if (!(Math.abs(x) < TWO63)) {
      if (x - x !== 0) {
        this.nanResult(p, NaN, SRC_NONE, 0); // infinity: invalid, the indefinite
        this.writeRes(p, NaN);
        if (kind >= 4) {
          const q = this.pushSlot();
          if (q >= 0) this.writeRes(q, NaN);
        }
      } else this.swBits |= C2; // out of range: operand unchanged, nothing pushed
      return;
    }
    switch (kind) {
      case 2:
        this.writeRes(p, Math.sin(x));
        return;
      case 3:
        this.writeRes(p, Math.cos(x));
        return;
      case 4: {
        this.writeRes(p, Math.tan(x));
        this.pushValue(1);
        return;
      }
      default: {
        this.writeRes(p, Math.sin(x));
        this.pushValue(Math.cos(x));
      }
    }
  }

  private fyl2x(plus1: boolean): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (this.operands2(p0, p1, p1)) {
      const x = this.val[p0]!;
      const y = this.val[p1]!;
      const r = plus1 ? y * (Math.log1p(x) * Math.LOG2E) : y * Math.log2(x);
      this.swBits &= ~C1;
      if (r !== r) this.nanResult(p0, x, p1, y);
      else if (x === 0 && !plus1 && y !== 0 && y - y === 0) this.swBits |= ZE;
      this.writeRes(p1, r);
    }
    this.pop();
  }

  private fpatan(): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (this.operands2(p0, p1, p1)) {
      const x = this.val[p0]!;
      const y = this.val[p1]!;
      const r = Math.atan2(y, x);
      this.swBits &= ~C1;
      if (r !== r) this.nanResult(p1, y, p0, x);
      this.writeRes(p1, r);
    }
    this.pop();
  }

  private frndint(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    const rc = (this.cw >> 10) & 3;
    this.swBits &= ~C1;
    if (!this.exact[p]) {
      const v = this.val[p]!;
      const r = roundInt(v, rc);
      if (r !== v) this.swBits |= Math.abs(r) > Math.abs(v) ? PE | C1 : PE;
      this.val[p] = r;
      return;
    }
    const s = this.xs[p]!;
    const h = this.xh[p]!;
    const l = this.xl[p]!;
    const k = nanKind(s, h, l);
    if (k !== K_NUM) {
      this.nanResult(p, NaN, SRC_NONE, 0);
      this.writeRes(p, NaN);
      return;
    }
    const e = s & 0x7fff;
    if (e === 0x7fff || (h === 0 && l === 0)) return;
    const E = (e === 0 ? 1 : e) - 16383;
    if (E >= 63) return; // already an integer
    const neg = s >= 0x8000;
    roundShift(h, l, 63 - E, rc, neg);
    if (kInexact) this.swBits |= kUp ? PE | C1 : PE;
    intToExt(neg, kHi, kLo);
    this.setExt(p, rS, rH, rL);
  }

  private fxtract(): void {
    const p = this.st0OrFault();
    if (p < 0) {
      const q = this.pushSlot();
      if (q >= 0) this.setIndef(q);
      return;
    }
    this.swBits &= ~C1;
    const x = this.val[p]!;
    if (x !== x) {
      this.nanResult(p, x, SRC_NONE, 0);
      this.writeRes(p, NaN);
      const q = this.pushSlot();
      if (q >= 0) this.writeRes(q, NaN);
      return;
    }
    this.regExt(p);
    const s = rS;
    let h = rH;
    let l = rL;
    let e = s & 0x7fff;
    if (h === 0 && l === 0) {
      this.swBits |= ZE;
      this.writeRes(p, -Infinity);
      this.pushValue(s >= 0x8000 ? -0 : 0);
      return;
    }
    if (e === 0x7fff) {
      this.writeRes(p, Infinity);
      this.pushValue(s >= 0x8000 ? -Infinity : Infinity);
      return;
    }
    if (e === 0 || h < 0x80000000) {
      // Denormal extended value: normalise (its exponent is that of bit 63 at e = 1).
      intToExt(false, h, l);
      e = (e === 0 ? 1 : e) - (16383 + 63 - rS);
      h = rH;
      l = rL;
    }
    this.writeRes(p, e - 16383);
    const q = this.pushSlot();
    if (q >= 0) this.setExt(q, (s & 0x8000) | 0x3fff, h, l);
  }

  private fscale(): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (!this.operands2(p0, p1, p0)) return;
    this.swBits &= ~C1;
    const x = this.val[p0]!;
    const y = this.val[p1]!;
    if (x !== x || y !== y) {
      this.nanResult(p0, x, p1, y);
      this.writeRes(p0, NaN);
      return;
    }
    this.regExt(p0);
    const s = rS;
    let h = rH;
    let l = rL;
    let e = s & 0x7fff;
    const zero = h === 0 && l === 0;
    if (y - y !== 0) {
      // Scaling by an infinity: 0 * 2^+inf and inf * 2^-inf are invalid.
      if ((zero && y > 0) || (e === 0x7fff && y < 0)) {
        this.nanResult(SRC_NONE, 0, SRC_NONE, 0);
        this.writeRes(p0, NaN);
      } else if (!zero && e !== 0x7fff) {
        const neg = s >= 0x8000;
        this.writeRes(p0, y > 0 ? (neg ? -Infinity : Infinity) : neg ? -0 : 0);
      }
      return;
    }
    if (zero || e === 0x7fff) return;
    const n = Math.max(-70000, Math.min(70000, Math.trunc(y)));
    if (e === 0 || h < 0x80000000) {
      intToExt(false, h, l);
      e = (e === 0 ? 1 : e) - (16383 + 63 - rS);
      h = rH;
      l = rL;
    }
    const ne = e + n;
    const sign = s & 0x8000;
    if (ne >= 0x7fff) {
      const r = overflowed(sign !== 0, DBL_MAX, (this.cw >> 10) & 3);
      this.swBits |= cvtFlags;
      this.writeRes(p0, r);
    } else if (ne >= 1) this.setExt(p0, sign | ne, h, l);
    else {
      // Below the extended normal range: the exact result is an extended denormal.
      roundShift(h, l, 1 - ne, (this.cw >> 10) & 3, sign !== 0);
      if (kInexact) this.swBits |= UE | PE | (kUp ? C1 : 0);
      this.setExt(p0, sign | (kHi >= 0x80000000 ? 1 : 0), kHi, kLo);
    }
  }

  /** FPREM (truncating quotient) / FPREM1 (IEEE remainder, nearest-even quotient). */
  private fprem(ieee: boolean): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (!this.operands2(p0, p1, p0)) return;
    const x = this.val[p0]!;
    const y = this.val[p1]!;
    this.swBits &= ~CC;
    if (x !== x || y !== y) {
      this.nanResult(p0, x, p1, y);
      this.writeRes(p0, NaN);
      return;
    }
    if (y === 0 || x - x !== 0) {
      this.nanResult(SRC_NONE, 0, SRC_NONE, 0);
      this.writeRes(p0, NaN);
      return;
    }
    if (x === 0 || y - y !== 0) return; // x unchanged, quotient 0
    const ax = Math.abs(x);
    const ay = Math.abs(y);
    // The exact remainder modulo 8|y| (JS % is exact), then three exact conditional
    // subtractions (Sterbenz) recover the quotient's low bits.
    const y8 = ay * 8;
    let r = y8 - y8 === 0 ? ax % y8 : ax;
    let q = 0;
    if (r >= ay * 4) {
      r -= ay * 4;
      q = 4;
    }
    if (r >= ay * 2) {
      r -= ay * 2;
      q += 2;
    }
    if (r >= ay) {
      r -= ay;
      q += 1;
    }
    if (ieee && (r * 2 > ay || (r * 2 === ay && q & 1))) {
      r -= ay;
      q = (q + 1) & 7;
    }
    this.writeRes(p0, x < 0 ? -r : r);
    this.swBits |= (q & 4 ? C0 : 0) | (q & 2 ? C3 : 0) | (q & 1 ? C1 : 0);
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
