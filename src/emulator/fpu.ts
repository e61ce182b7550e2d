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
//   programs compiled for doubles) is kept as that double; a 64-bit significand with a moderate
//   exponent (|x| in 2^-420..2^420) as an exact double-double hi + lo (fpu-dd.ts); anything else
//   (exponents beyond that, extended denormals, NaN payloads, unsupported encodings) lives in an
//   80-bit shadow. Either way every instruction sees the exact value.
// - FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR (register, m32/m64 real and m16/m32 integer forms) and FSQRT
//   are correctly rounded to the precision-control width (PC: 24, 53 or 64 significand bits;
//   the reserved PC=01 acts as 64, like QEMU) under the rounding-control mode (RC), with the
//   15-bit exponent range in every PC, extended denormals, and IEEE overflow/underflow results.
//   They set PE on inexact results with C1 = "rounded up" (magnitude grew), UE (tininess after
//   rounding, masked response: only when also inexact), OE, ZE, IE and DE (denormal operands).
//   Exact double results (and, with PC=53 and round-to-nearest, any normal-range result) come
//   from the host's double arithmetic without touching the 80-bit machinery; with PC=64 and
//   round-to-nearest (the Linux default), results on doubles and dd values in range come from
//   error-free double arithmetic (fpu-dd.ts), which gives up near a rounding boundary; the rest use
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

import {
  acc,
  BUSY,
  C0,
  C1,
  C2,
  C3,
  CC,
  CL_INF,
  CL_ZERO,
  CMP_EQ,
  CMP_GT,
  CMP_LT,
  CMP_UN,
  coreAdd,
  coreCompare,
  coreDiv,
  coreMul,
  coreSqrt,
  DBL_MAX,
  DBL_MIN_NORMAL,
  DE,
  doubleToExt,
  dres,
  ES,
  extRound,
  extToDouble,
  f32,
  f32BitsToExt,
  f64,
  f64BitsToExt,
  fa,
  fastArith,
  fastRes,
  FLT_MAX,
  FLT_MIN,
  hex,
  HI,
  IE,
  intToExt,
  invalidResult,
  K_BAD,
  K_NUM,
  K_SNAN,
  kk,
  LO,
  nanKindR,
  nanOperands,
  nanPick,
  oCls,
  OE,
  oExp,
  oHi,
  oNeg,
  packInf,
  packZero,
  PE,
  pow2,
  RC_NEAREST,
  RC_UP,
  RC_ZERO,
  roundInt,
  roundShift,
  roundSlot,
  rr,
  S,
  SF,
  SRC_M32,
  SRC_M64,
  SRC_VALUE,
  TOP_MASK,
  TWO32,
  u32,
  u32f,
  UE,
  unpack,
  unpackDouble,
  ZE,
} from './fpu-ext.js';
import {
  big64,
  coreRem,
  crTrig,
  denormals,
  f2xm1Ext,
  fpatanExt,
  type Fx,
  fx,
  fyl2xExt,
  fyl2xp1Ext,
} from './fpu-trans.js';
import { DD_EXP, ddArith, ddIn, ddOut, ddToExt, P2 } from './fpu-dd.js';
import type { FpuHost } from './types.js';

/** The memory (or integer) operand of the current instruction, as an exact double. */
const opB = new Float64Array(1);

export class Fpu {
  /**
   * Register values by physical register when ext[p] = 0 (exact doubles), the high half when
   * ext[p] = 2; ST(i) is physical (top + i) & 7.
   */
  readonly val = new Float64Array(8);
  /**
   * The register's form: 0 the double val[p]; 1 xs/xh/xl hold it (not a double, or a NaN); 2 the
   * double-double val[p] + lo[p] (fpu-dd.ts: a 64-bit significand in the dd range).
   */
  readonly ext = new Uint8Array(8);
  readonly lo = new Float64Array(8);
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
  /**
   * FDP and FIP as int32 (they are only ever stored as 32-bit words): an address at or above 2^31
   * kept as `>>> 0` turned the field into a double, and V8 threw away the interpreter's optimised
   * loop when that first happened (the stack is there).
   */
  fdp = 0;
  fip = 0;
  fcs = 0;
  fds = 0;
  /** From the control word: rounding mode, significand bits (24/53/64), PC is 53 or 64. */
  private rc = RC_NEAREST;
  private prec = 64;
  private fastPC = true;
  /** PC = 64, round to nearest and fastDD: the double-double fast path applies. */
  private ddPC = true;
  private ddAllowed = true;
  private host!: FpuHost;
  private ea = 0;

  constructor() {
    this.reset();
  }

  /** Off: every result not exactly a double comes from the 80-bit code (tests compare the two). */
  get fastDD(): boolean {
    return this.ddAllowed;
  }

  set fastDD(on: boolean) {
    this.ddAllowed = on;
    this.setCW(this.cw);
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

  /** Takes over `o`'s whole state (fork: the child starts with the parent's x87 stack and words). */
  copyFrom(o: Fpu): void {
    this.val.set(o.val);
    this.ext.set(o.ext);
    this.lo.set(o.lo);
    this.xs.set(o.xs);
    this.xh.set(o.xh);
    this.xl.set(o.xl);
    this.top = o.top;
    this.emptyMask = o.emptyMask;
    this.setCW(o.cw);
    this.swBits = o.swBits;
    this.fop = o.fop;
    this.fdp = o.fdp;
    this.fip = o.fip;
    this.fcs = o.fcs;
    this.fds = o.fds;
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
      else if (this.ext[p] === 2) t = 0;
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
    let out = `FCW=${hex(this.cw, 4)} FSW=${hex(this.sw, 4)} TOP=${this.top} FTW=${hex(this.tagWord(), 4)} FOP=${hex(this.fop, 3)} FDP=${hex(this.fdp >>> 0, 8)}`;
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      let text = (this.emptyMask >> p) & 1 ? 'empty' : String(this.st(i));
      if (this.ext[p]) {
        this.regExt(p);
        text += ` [${hex(rr[0]!, 4)} ${hex(rr[1]!, 8)}${hex(rr[2]!, 8)}]`;
      }
      out += `\nST${i}=${text}`;
    }
    return out;
  }

  /**
   * Executes one x87 instruction: `op` is the escape byte (0xD8..0xDF), `modrm` the full ModRM
   * byte, `ea` the linear address of the memory operand when modrm < 0xC0.
   */
  exec(op: number, modrm: number, ea: number, host: FpuHost): void {
    if (this.host !== host) this.host = host; // (a store with a write barrier, and it rarely changes)
    this.ea = ea;
    const reg = (modrm >> 3) & 7;
    if (modrm < 0xc0) {
      if (!((op === 0xd9 || op === 0xdd) && reg >= 4)) {
        this.fop = ((op & 7) << 8) | modrm;
        this.fdp = ea | 0;
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
        if (reg < 4) this.fcmov(sti, fcmovCond(reg, host));
        else if (modrm === 0xe9) this.fcom((top + 1) & 7, true, 2);
        else host.raiseUD();
        return;
      }
      case 0xdb:
        if (reg < 4) this.fcmov(sti, !fcmovCond(reg, host));
        else if (reg === 4) {
          if (i === 2) this.swBits &= ~(0xff | BUSY);
          else if (i === 3) this.reset();
          else if (i !== 0 && i !== 1 && i !== 4) host.raiseUD(); // FENI/FDISI/FSETPM are no-ops on a 387+
        } else if (reg < 7)
          this.fcomi(sti, reg === 5, false); // FUCOMI, FCOMI
        else host.raiseUD();
        return;
      case 0xdc:
        if (reg === 2 || reg === 3) this.fcom(sti, false, reg - 2);
        else this.regArith(reg >= 4 ? reg ^ 1 : reg, sti, top, false);
        return;
      case 0xde:
        if (reg === 2) this.fcom(sti, false, 1);
        else if (reg === 3) {
          if (i === 1) this.fcom(sti, false, 2);
          else host.raiseUD();
        } else this.regArith(reg >= 4 ? reg ^ 1 : reg, sti, top, true);
        return;
      default:
        // DD and DF: DF's first four are DD's with a pop (FFREEP and the FXCH / FSTP aliases).
        this.execDDF(op === 0xdf, reg, i, sti);
    }
  }

  private execDDF(df: boolean, reg: number, i: number, sti: number): void {
    const host = this.host;
    if (reg === 0) {
      this.emptyMask |= 1 << sti;
      if (df) this.pop();
    } else if (reg === 1) this.fxch(sti);
    else if (reg < 4) this.fstReg(sti, df || reg === 3);
    else if (!df) {
      if (reg < 6)
        this.fcom(sti, true, reg - 4); // FUCOM, FUCOMP
      else host.raiseUD();
    } else if (reg === 4) {
      if (i === 0)
        host.setAX(this.sw); // FNSTSW AX
      else host.raiseUD();
    } else if (reg < 7)
      this.fcomi(sti, reg === 5, true); // FUCOMIP, FCOMIP
    else host.raiseUD();
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
          case 2:
          case 3:
            this.fistReg(32, reg);
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
          case 2:
          case 3:
            this.fistReg(16, reg);
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
            const flip = i === 0 || v < 0;
            this.val[p] = i === 0 ? -v : Math.abs(v);
            if (this.ext[p] === 2) {
              if (flip) this.lo[p] = -this.lo[p]!;
            } else if (this.ext[p]) this.xs[p] = i === 0 ? this.xs[p]! ^ 0x8000 : this.xs[p]! & 0x7fff;
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
            this.st1OfBoth(0);
            return;
          case 2:
            this.trig(4);
            return;
          case 3:
            this.st1OfBoth(2);
            return;
          case 4:
            this.fxtract();
            return;
          case 5:
            this.st0ByST1(true);
            return;
          default:
            // FDECSTP, FINCSTP
            this.top = (this.top + (i === 6 ? 7 : 1)) & 7;
            this.swBits &= ~C1;
            return;
        }
      default:
        switch (i) {
          case 0:
            this.st0ByST1(false);
            return;
          case 1:
            this.st1OfBoth(1);
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
            this.st0ByST1(null);
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
    this.ddPC = this.ddAllowed && this.prec === 64 && this.rc === RC_NEAREST;
  }

  private underflow(): void {
    this.swBits = (this.swBits | IE | SF) & ~C1;
  }

  /**
   * Physical registers a and b (a = b for one operand) both hold values? If not, the stack-underflow
   * flags are raised and the caller gives the masked response. C1 is cleared either way.
   */
  private operandsReady(a: number, b: number): boolean {
    if (((this.emptyMask >> a) | (this.emptyMask >> b)) & 1) {
      this.underflow();
      return false;
    }
    this.swBits &= ~C1;
    return true;
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

  /** ST(0)'s register, or -1 after the masked stack-underflow response (ST(0) = indefinite); C1 cleared. */
  private st0OrFault(): number {
    const p = this.top;
    return this.operands2(p, p, p) ? p : -1;
  }

  /**
   * Both registers non-empty? Otherwise applies the underflow response, putting the indefinite in
   * dst. C1 is cleared either way.
   */
  private operands2(a: number, b: number, dst: number): boolean {
    if (this.operandsReady(a, b)) return true;
    this.setIndef(dst);
    this.emptyMask &= ~(1 << dst);
    return false;
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
      if (S.cvtFlags === 0) {
        this.val[p] = dres[0]!;
        this.ext[p] = 0;
        return;
      }
    }
    if (h >= 0x80000000 && e >= 16383 - DD_EXP && e < 16383 + DD_EXP && this.ddAllowed) {
      // A 64-bit significand M in the dd range: hi = RN53(M), lo = M - hi (Fast2Sum), scaled.
      const mh = h * TWO32;
      const hs = mh + l;
      const ls = l - (hs - mh);
      const k = pow2(e - 16383 - 63);
      this.val[p] = s & 0x8000 ? -hs * k : hs * k;
      this.lo[p] = s & 0x8000 ? -ls * k : ls * k;
      this.ext[p] = 2;
      return;
    }
    this.ext[p] = 1;
    this.xs[p] = s;
    this.xh[p] = h;
    this.xl[p] = l;
  }

  private copyReg(d: number, s: number): void {
    this.val[d] = this.val[s]!;
    this.lo[d] = this.lo[s]!;
    const x = this.ext[s]!;
    this.ext[d] = x;
    if (x === 1) {
      this.xs[d] = this.xs[s]!;
      this.xh[d] = this.xh[s]!;
      this.xl[d] = this.xl[s]!;
    }
  }

  /** Register p = ddOut (a double when lo = 0), flags from S.fastF. */
  private setDD(p: number): void {
    const lo = ddOut[1]!;
    this.val[p] = ddOut[0]!;
    this.lo[p] = lo;
    this.ext[p] = lo === 0 ? 0 : 2;
    this.swBits |= S.fastF;
  }

  /** The exact 80-bit value of register p into rr. */
  private regExt(p: number): void {
    const x = this.ext[p]!;
    if (x === 1) {
      rr[0] = this.xs[p]!;
      rr[1] = this.xh[p]!;
      rr[2] = this.xl[p]!;
    } else if (x === 0) doubleToExt(this.val[p]!);
    else ddToExt(this.val[p]!, this.lo[p]!);
  }

  private regFx(p: number): Fx {
    this.regExt(p);
    return fx(rr[0]!, big64(rr[1]!, rr[2]!));
  }

  /** Unpacks register p into operand slot i. */
  private loadSlot(i: number, p: number): void {
    if (this.ext[p]) {
      this.regExt(p);
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
    const xa = this.ext[p]!;
    const xb = bSrc >= 0 ? this.ext[bSrc]! : 0;
    if (this.ddPC && xa !== 1 && xb !== 1) {
      ddIn[0] = this.val[p]!;
      ddIn[1] = xa === 2 ? this.lo[p]! : 0;
      ddIn[2] = bv;
      ddIn[3] = xb === 2 ? this.lo[bSrc]! : 0;
      if (ddArith(op)) {
        this.setDD(p);
        return;
      }
    }
    if (xa === 0 && xb === 0 && bv === bv && this.fastPC) {
      fa[0] = this.val[p]!;
      fa[1] = bv;
      if (fastArith(op, this.rc, this.prec === 53)) {
        this.val[p] = fastRes[0]!;
        this.swBits |= S.fastF;
        return;
      }
    }
    S.xf = 0;
    const rev = op === 5 || op === 7;
    this.loadSlot(rev ? 1 : 0, p);
    this.loadOperand(rev ? 0 : 1, bSrc);
    if (op === 0) coreAdd(false, this.prec, this.rc);
    else if (op === 1) coreMul(this.prec, this.rc);
    else if (op === 4 || op === 5) coreAdd(true, this.prec, this.rc);
    else coreDiv(this.prec, this.rc);
    this.swBits |= S.xf;
    this.setExt(p);
  }

  /** Arithmetic or comparison of ST(0) with the memory operand already in opB[0]. */
  private memArith(reg: number, src: number): void {
    const p = this.top;
    if (!this.operandsReady(p, p)) {
      if (reg === 2 || reg === 3) {
        this.swBits |= C0 | C2 | C3;
        if (reg === 3) this.pop();
      } else {
        this.setIndef(p);
        this.emptyMask &= ~(1 << p);
      }
      return;
    }
    if (reg === 2 || reg === 3) {
      this.setCC(this.compare(p, src, false));
      if (reg === 3) this.pop();
      return;
    }
    this.arith(reg, p, src);
  }

  private regArith(op: number, d: number, s: number, pop: boolean): void {
    if (this.operands2(d, s, d)) {
      this.arith(op, d, s);
    }
    if (pop) this.pop();
  }

  private fsqrt(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    const x = this.ext[p]!;
    if (this.ddPC && x !== 1) {
      ddIn[0] = this.val[p]!;
      ddIn[1] = x === 2 ? this.lo[p]! : 0;
      if (ddArith(8)) {
        this.setDD(p);
        return;
      }
    }
    if (!x && this.fastPC) {
      fa[0] = this.val[p]!;
      if (fastArith(8, this.rc, this.prec === 53)) {
        this.val[p] = fastRes[0]!;
        this.swBits |= S.fastF;
        return;
      }
    }
    S.xf = 0;
    this.loadSlot(0, p);
    coreSqrt(this.prec, this.rc);
    this.swBits |= S.xf;
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
    const d = this.host.readF64(ea);
    const m = Math.abs(d);
    if (m >= DBL_MIN_NORMAL ? m <= DBL_MAX : d === 0) {
      opB[0] = d;
      return;
    }
    const lo = this.host.read32(ea);
    const hi = this.host.read32(ea + 4);
    if (normal64(lo, hi)) return;
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
    const xa = this.ext[p]!;
    const xb = bSrc >= 0 ? this.ext[bSrc]! : 0;
    if (xa !== 1 && xb !== 1 && bv === bv) {
      // Doubles and dd values (hi = RN(hi + lo) is monotonic): hi first, then lo.
      const a = this.val[p]!;
      if (a !== bv) return a > bv ? CMP_GT : CMP_LT;
      const al = xa === 2 ? this.lo[p]! : 0;
      const bl = xb === 2 ? this.lo[bSrc]! : 0;
      return al > bl ? CMP_GT : al < bl ? CMP_LT : CMP_EQ;
    }
    S.xf = 0;
    this.loadSlot(0, p);
    this.loadOperand(1, bSrc);
    const r = coreCompare(quiet);
    this.swBits |= S.xf & (IE | DE);
    return r;
  }

  /** FCOM/FUCOM family against ST(i): pops = 0, 1 or 2. */
  private fcom(sti: number, quiet: boolean, pops: number): void {
    const p = this.top;
    if (this.operandsReady(p, sti)) this.setCC(this.compare(p, sti, quiet));
    else this.swBits |= C0 | C2 | C3;
    if (pops > 0) this.pop();
    if (pops > 1) this.pop();
  }

  private fcomi(sti: number, quiet: boolean, pop: boolean): void {
    const p = this.top;
    const res = this.operandsReady(p, sti) ? this.compare(p, sti, quiet) : CMP_UN;
    if (res === CMP_GT) this.host.setFlagsZPC(0, 0, 0);
    else if (res === CMP_LT) this.host.setFlagsZPC(0, 0, 1);
    else if (res === CMP_EQ) this.host.setFlagsZPC(1, 0, 0);
    else this.host.setFlagsZPC(1, 1, 1);
    if (pop) this.pop();
  }

  private ftst(): void {
    const p = this.top;
    if (!this.operandsReady(p, p)) {
      this.swBits |= C0 | C2 | C3;
      return;
    }
    opB[0] = 0;
    this.setCC(this.compare(p, SRC_VALUE, false));
  }

  private fxam(): void {
    const p = this.top;
    let cls: number;
    let neg: boolean;
    if (this.ext[p] === 2) {
      neg = this.val[p]! < 0;
      cls = C2;
    } else if (this.ext[p]) {
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
    const lo = this.lo[p]!;
    const x = this.ext[p]!;
    const s = this.xs[p]!;
    const h = this.xh[p]!;
    const l = this.xl[p]!;
    this.copyReg(p, sti);
    this.val[sti] = v;
    this.lo[sti] = lo;
    this.ext[sti] = x;
    this.xs[sti] = s;
    this.xh[sti] = h;
    this.xl[sti] = l;
  }

  private fstReg(sti: number, pop: boolean): void {
    const p = this.top;
    if (this.operandsReady(p, p)) this.copyReg(sti, p);
    else this.setIndef(sti);
    this.emptyMask &= ~(1 << sti);
    if (pop) this.pop();
  }

  private fcmov(sti: number, cond: boolean): void {
    // A real CPU checks both operands for emptiness whether or not the move happens.
    if (!this.operands2(this.top, sti, this.top)) return;
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
    const d = this.host.readF64(ea);
    const m = Math.abs(d);
    if (m >= DBL_MIN_NORMAL ? m <= DBL_MAX : d === 0) {
      // A normal double or a zero (NaN, infinities and denormals take the word path below).
      const p = this.pushSlot();
      if (p < 0) return;
      this.val[p] = d;
      this.ext[p] = 0;
      return;
    }
    const lo = this.host.read32(ea) >>> 0;
    const hi = this.host.read32(ea + 4) >>> 0;
    const p = this.pushSlot();
    if (p < 0) return;
    if (normal64(lo, hi)) {
      this.val[p] = opB[0]!;
      this.ext[p] = 0;
      return;
    }
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
    if (!this.operandsReady(p, p)) bits = 0xffc00000;
    else {
      const rc = this.rc;
      if (this.ext[p]) {
        this.regExt(p);
        const s = rr[0]!;
        const k = nanKindR();
        if (k === K_NUM) {
          if ((s & 0x7fff) === 0x7fff) extToDouble();
          else {
            extRound(24, -126, 127, FLT_MAX, rc);
            this.swBits |= S.cvtFlags;
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
          this.swBits |= S.cvtFlags;
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
    if (!this.operandsReady(p, p)) {
      hi = 0xfff80000;
      lo = 0;
    } else if (!this.ext[p]) {
      const v = this.val[p]!;
      if (v === v && this.host.writeF64(this.ea, v)) {
        if (pop) this.pop();
        return;
      }
      f64[0] = v;
      hi = u32[HI]!;
      lo = u32[LO]!;
    } else if (this.ext[p] === 2 && this.rc === RC_NEAREST) {
      // hi is the value rounded to nearest; it is inexact (lo != 0) and far from under/overflow.
      const v = this.val[p]!;
      this.swBits |= this.lo[p]! < 0 === v > 0 ? PE | C1 : PE;
      f64[0] = v;
      hi = u32[HI]!;
      lo = u32[LO]!;
    } else {
      this.regExt(p);
      const s = rr[0]!;
      const h = rr[1]!;
      const l = rr[2]!;
      const k = nanKindR();
      if (k === K_NUM) {
        if ((s & 0x7fff) === 0x7fff) extToDouble();
        else {
          extRound(53, -1022, 1023, DBL_MAX, this.rc);
          this.swBits |= S.cvtFlags;
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
    if (this.operandsReady(p, p)) this.writeExt(this.ea, p);
    else {
      this.host.write32(this.ea, 0);
      this.host.write32(this.ea + 4, 0xc0000000);
      this.host.write16(this.ea + 8, 0xffff);
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
      S.kInexact = r !== v;
      S.kUp = m > Math.abs(v);
      return true;
    }
    this.regExt(p);
    const s = rr[0]!;
    const h = rr[1]!;
    const l = rr[2]!;
    const e = s & 0x7fff;
    if (e === 0x7fff || (e !== 0 && h < 0x80000000)) return false;
    const shift = 63 - ((e === 0 ? 1 : e) - 16383);
    if (shift < 0) return false;
    if (shift === 0) {
      kk[0] = h;
      kk[1] = l;
      S.kInexact = false;
      S.kUp = false;
    } else {
      acc[0] = h;
      acc[1] = l;
      roundShift(shift > 100 ? 100 : shift, rc, s >= 0x8000);
    }
    return kk[0]! <= 0xffffffff;
  }

  /** FISTTP (reg 1: truncating), FIST (2) and FISTP (3) of `size` bits. */
  private fistReg(size: number, reg: number): void {
    this.fist(size, reg === 1 ? RC_ZERO : this.rc, reg !== 2);
  }

  private fist(size: number, rc: number, pop: boolean): void {
    const p = this.top;
    const host = this.host;
    const ea = this.ea;
    if (!this.operandsReady(p, p)) this.writeIntIndef(size);
    else {
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
        const neg = this.ext[p] === 1 ? this.xs[p]! >= 0x8000 : this.val[p]! < 0;
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
          if (S.kInexact) this.swBits |= S.kUp ? PE | C1 : PE;
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
    if (this.operandsReady(p, p)) {
      if (this.ext[p] === 1) neg = this.xs[p]! >= 0x8000;
      else {
        f64[0] = this.val[p]!;
        neg = u32[HI]! >= 0x80000000;
      }
      // 10^18 = 0x0DE0B6B3A7640000: BCD holds at most 18 digits.
      ok = this.toInt(p, this.rc) && (kk[0]! < 0x0de0b6b3 || (kk[0]! === 0x0de0b6b3 && kk[1]! < 0xa7640000));
      if (!ok) this.swBits |= IE;
    }
    if (ok) {
      if (S.kInexact) this.swBits |= S.kUp ? PE | C1 : PE;
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
    const fip = h.read32(ea + 12) | 0;
    const w = h.read32(ea + 16) >>> 0;
    const fdp = h.read32(ea + 20) | 0;
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

  /**
   * FXSAVE's x87 part of the 512-byte image at ea: control/status, the abridged tag byte (bit p set:
   * physical register p is not empty), FOP, FIP/FCS, FDP/FDS and ST(0..7) at 32 + 16i (bytes 10-15 of
   * each slot are left as they were, like QEMU). The MXCSR and XMM parts are sse.ts's.
   */
  fxsave(ea: number, host: FpuHost): void {
    this.host = host;
    host.write16(ea, this.cw);
    host.write16(ea + 2, this.sw);
    host.write16(ea + 4, ~this.emptyMask & 0xff);
    host.write16(ea + 6, this.fop & 0x7ff);
    host.write32(ea + 8, this.fip);
    host.write32(ea + 12, this.fcs & 0xffff);
    host.write32(ea + 16, this.fdp);
    host.write32(ea + 20, this.fds & 0xffff);
    for (let i = 0; i < 8; i++) this.writeExt(ea + 32 + 16 * i, (this.top + i) & 7);
  }

  /** FXRSTOR's x87 part (see fxsave); everything is read before anything changes. */
  fxrstor(ea: number, host: FpuHost): void {
    this.host = host;
    for (let i = 0; i < 8; i++) {
      frstorScratch[i * 3] = host.read32(ea + 32 + 16 * i) >>> 0;
      frstorScratch[i * 3 + 1] = host.read32(ea + 36 + 16 * i) >>> 0;
      frstorScratch[i * 3 + 2] = host.read16(ea + 40 + 16 * i) & 0xffff;
    }
    const cw = host.read16(ea);
    const sw = host.read16(ea + 2) & 0xffff;
    const ftw = host.read8(ea + 4);
    const fop = host.read16(ea + 6) & 0x7ff;
    const fip = host.read32(ea + 8) | 0;
    const fcs = host.read16(ea + 12) & 0xffff;
    const fdp = host.read32(ea + 16) | 0;
    const fds = host.read16(ea + 20) & 0xffff;
    this.setCW(cw);
    this.top = (sw >> 11) & 7;
    this.swBits = sw & ~(TOP_MASK | ES | BUSY);
    this.emptyMask = ~ftw & 0xff;
    this.fop = fop;
    this.fip = fip;
    this.fcs = fcs;
    this.fdp = fdp;
    this.fds = fds;
    for (let i = 0; i < 8; i++) {
      rr[2] = frstorScratch[i * 3]!;
      rr[1] = frstorScratch[i * 3 + 1]!;
      rr[0] = frstorScratch[i * 3 + 2]!;
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
    if (this.ext[p] === 2) return false;
    if (!this.ext[p]) {
      const v = this.val[p]!;
      if (!infInvalid || v - v === 0) return false;
      S.xf = 0;
      invalidResult();
      this.swBits |= S.xf;
      return true;
    }
    const s = this.xs[p]!;
    const e = s & 0x7fff;
    if (e !== 0x7fff && (e === 0 || this.xh[p]! >= 0x80000000)) return false;
    S.xf = 0;
    this.loadSlot(0, p);
    if (oCls[0] === CL_INF) {
      if (!infInvalid) return false;
      invalidResult();
    } else nanPick(false);
    this.swBits |= S.xf;
    return true;
  }

  private f2xm1(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    if (this.specialOperand(p, false)) {
      this.setExt(p);
      return;
    }
    this.regExt(p);
    S.xf = 0;
    if ((rr[0]! & 0x7fff) === 0x7fff) {
      // 2^+inf - 1 = +inf, 2^-inf - 1 = -1 (exact, as on hardware).
      if (rr[0]! & 0x8000) doubleToExt(-1);
    } else {
      if ((rr[0]! & 0x7fff) === 0 && (rr[1]! | rr[2]!) !== 0) S.xf |= DE;
      f2xm1Ext(rr[0]!, rr[1]!, rr[2]!, this.rc);
    }
    this.swBits |= S.xf;
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
    this.swBits &= ~C2;
    if (this.specialOperand(p, true)) {
      this.setExt(p);
      if (kind >= 4) this.pushR();
      return;
    }
    let x: number;
    if (this.ext[p]) {
      this.regExt(p);
      if ((rr[0]! & 0x7fff) >= 16383 + 63) {
        this.swBits |= C2; // out of range: operand unchanged, nothing pushed
        return;
      }
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

  /** ST(1) = f(ST(0), ST(1)), then pop: FYL2X (kind 0), FYL2XP1 (1), FPATAN (2). */
  private st1OfBoth(kind: number): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (this.operands2(p0, p1, p1)) {
      const x = this.regFx(p0);
      const y = this.regFx(p1);
      S.xf = 0;
      if (kind === 0) fyl2xExt(x, y, this.rc);
      else if (kind === 1) fyl2xp1Ext(x, y, this.prec, this.rc);
      else fpatanExt(x, y, this.rc);
      this.swBits |= (S.xf & ~DE) | denormals(x, y);
      this.setExt(p1);
    }
    this.pop();
  }

  private frndint(): void {
    const p = this.st0OrFault();
    if (p < 0) return;
    const rc = this.rc;
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
    this.regExt(p);
    const s = rr[0]!;
    const h = rr[1]!;
    const l = rr[2]!;
    const e = s & 0x7fff;
    if (e === 0x7fff || (h === 0 && l === 0)) return;
    const E = (e === 0 ? 1 : e) - 16383;
    if (E >= 63) return; // already an integer
    const neg = s >= 0x8000;
    acc[0] = h;
    acc[1] = l;
    roundShift(63 - E > 100 ? 100 : 63 - E, rc, neg);
    if (S.kInexact) this.swBits |= S.kUp ? PE | C1 : PE;
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

  /**
   * ST(0) = f(ST(0), ST(1)) for FSCALE (ieee = null) and FPREM / FPREM1 (ieee false / true): the
   * operand checks, NaN propagation and flags are common; the arithmetic is scaleSlots / remSlots.
   */
  private st0ByST1(ieee: boolean | null): void {
    const p0 = this.top;
    const p1 = (p0 + 1) & 7;
    if (!this.operands2(p0, p1, p0)) return;
    if (ieee !== null) this.swBits &= ~CC;
    S.xf = 0;
    this.loadSlot(0, p0);
    this.loadSlot(1, p1);
    if (!nanOperands() && !(ieee === null ? this.scaleSlots() : this.remSlots(ieee))) {
      this.swBits |= S.xf & DE;
      return; // ST(0) unchanged
    }
    this.swBits |= S.xf;
    this.setExt(p0);
  }

  /** FSCALE on the loaded slots; false when ST(0) stays as it is. */
  private scaleSlots(): boolean {
    const ca = oCls[0]!;
    const cb = oCls[1]!;
    if (cb === CL_INF) {
      // Scaling by an infinity: 0 * 2^+inf and inf * 2^-inf are invalid.
      const neg = oNeg[0]!;
      if (oNeg[1]) {
        if (ca === CL_INF) invalidResult();
        else packZero(neg);
      } else if (ca === CL_ZERO) invalidResult();
      else packInf(neg);
      return true;
    }
    if (ca === CL_ZERO || ca === CL_INF) return false;
    // n = trunc(ST1), saturated (beyond +-2^16 every result overflows or underflows).
    let n = 0;
    const ye = oExp[1]!;
    if (cb === CL_ZERO) n = 0;
    else if (ye >= 17) n = 0x10000;
    else if (ye >= 0) n = oHi[1]! >>> (31 - ye);
    if (oNeg[1]) n = -n;
    oExp[0] = oExp[0]! + n;
    roundSlot(0, oNeg[0]!, 64, this.rc);
    return true;
  }

  /** FPREM (truncating quotient) / FPREM1 (IEEE remainder, nearest-even quotient) on the loaded slots. */
  private remSlots(ieee: boolean): boolean {
    const ca = oCls[0]!;
    const cb = oCls[1]!;
    if (ca === CL_INF || cb === CL_ZERO) invalidResult();
    else if (ca === CL_ZERO || cb === CL_INF)
      return false; // x unchanged, quotient 0
    else {
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
    return true;
  }
}

/**
 * The binary64 with bits hi:lo into opB[0] when it is normal (and not tiny): its 53-bit
 * significand times a power of two, exact, built without writing 32-bit halves and reading them
 * back as a double (a store-forwarding stall in every m64 load).
 */
function normal64(lo: number, hi: number): boolean {
  const e = (hi >>> 20) & 0x7ff;
  if (e <= 52 || e === 0x7ff) return false;
  const v = ((hi & 0xfffff) | 0x100000) * TWO32 + (lo >>> 0);
  opB[0] = hi & 0x80000000 ? -v * P2[e - 52]! : v * P2[e - 52]!;
  return true;
}

/** FCMOVcc's condition in rows DA (as is) and DB (negated): reg 0 b, 1 e, 2 be, 3 u. */
function fcmovCond(reg: number, host: FpuHost): boolean {
  const f = host.getFlags();
  return (f & (reg === 0 ? 1 : reg === 1 ? 0x40 : reg === 2 ? 0x41 : 4)) !== 0;
}

// FRSTOR's staging area (80 bytes of register images as little-endian dwords); FXRSTOR's (3 words a register).
const frstorScratch = new Uint32Array(24);

function frstorByte(o: number): number {
  return (frstorScratch[o >> 2]! >>> (8 * (o & 3))) & 0xff;
}

function readLE32(o: number): number {
  return (
    (frstorByte(o) | (frstorByte(o + 1) << 8) | (frstorByte(o + 2) << 16) | (frstorByte(o + 3) << 24)) >>> 0
  );
}
