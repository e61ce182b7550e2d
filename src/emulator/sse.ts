// The SSE/SSE2 unit: XMM0-7, MXCSR and the instructions of sse-ops.ts's table.
// Guarantees: every listed instruction has its SDM semantics for user mode, bit for bit: NaN operands
// propagate as the SDM's tables say (first operand's NaN wins, quieted; invalid operations give the
// default QNaN 0xFFC00000 / 0xFFF8000000000000), arithmetic is correctly rounded per MXCSR.RC with DAZ
// and FZ (sse-float.ts), and every instruction's exceptions set MXCSR's flags; an unmasked one raises #XM
// (vector 19, Linux's SIGFPE) with the destination unchanged. 128-bit memory operands of all but
// movups/movupd/movdqu must be 16-byte aligned (#GP otherwise, like fxsave/fxrstor); a store that faults
// writes nothing (its last and first dwords are written first, so both pages are known writable before
// the rest). An instruction above the CPU model's level raises #UD. No allocation per instruction: values
// move through one ArrayBuffer with typed views (slot 8 holds a memory source, slot 9 a result in
// progress).

import { PFX_O16, PFX_REP, PFX_REPNE } from './decoder.js';
import {
  arith,
  compare,
  in32,
  in64,
  intToSingle,
  MX,
  MX_DE,
  MX_IE,
  MX_ZE,
  daz,
  MXCSR_DAZ,
  OP_ADD,
  OP_DIV,
  OP_MUL,
  OP_SQRT,
  OP_SUB,
  toInt32,
  toSingle,
} from './sse-float.js';
import type { FpuHost } from './types.js';
import { PC_66, PC_F2, PC_F3, PC_NONE, SSE_LEVEL, sseEntry } from './sse-ops.js';

/** What the SSE unit needs from the integer CPU (the x87 unit's interface, plus GPRs and faults). */
export interface SseHost extends FpuHost {
  readonly regs: Int32Array;
  currentInsnAddr(): number;
  fault(vector: number, code?: number, addr?: number): never;
}

export const VEC_XM = 19;
const VEC_UD = 6;
const VEC_GP = 13;

/** MXCSR bits that exist (with DAZ: every model here reports MXCSR_MASK 0xFFFF). */
export const MXCSR_MASK = 0xffff;

export const MXCSR_DEFAULT = 0x1f80;

/** Sse.comparePair's result (one shared record: no allocation per lane). */
const PAIR = { un: false, sn: false, a: 0, b: 0 };

const SRC = 8;
const TMP = 9;
const QNAN32 = 0xffc00000 | 0;
const QNAN64_HI = 0xfff80000 | 0;
const FLT_MIN = 2 ** -126;
const DBL_MIN = 2 ** -1022;

function isNaN32(x: number): boolean {
  return (x & 0x7fffffff) > 0x7f800000;
}
function isSNaN32(x: number): boolean {
  return isNaN32(x) && (x & 0x400000) === 0;
}
function isNaN64(hi: number, lo: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}
function sat8(v: number): number {
  return v > 127 ? 127 : v < -128 ? -128 : v;
}
function satU8(v: number): number {
  return v > 255 ? 255 : v < 0 ? 0 : v;
}
function sat16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}
function satU16(v: number): number {
  return v > 65535 ? 65535 : v < 0 ? 0 : v;
}

/**
 * One lane of arithmetic with its pre-computation exceptions prioritised as the SDM says: an invalid
 * operation or a division by zero hides the denormal-operand flag of the same lane.
 */
function lane(op: number, a: number, b: number, single: boolean): number {
  const before = MX.flags;
  MX.flags = 0;
  const r = single
    ? arith(op, in32(a), op === OP_SQRT ? 0 : in32(b), true)
    : arith(op, in64(a), op === OP_SQRT ? 0 : in64(b), false);
  if (MX.flags & (MX_IE | MX_ZE)) MX.flags &= ~MX_DE;
  MX.flags |= before;
  return r;
}

export class Sse {
  private readonly buf = new ArrayBuffer(160);
  /** Views of XMM0-7 (and the two scratch slots): bytes, words, dwords, singles, doubles. */
  readonly b = new Uint8Array(this.buf);
  readonly sb = new Int8Array(this.buf);
  readonly w = new Uint16Array(this.buf);
  readonly sw = new Int16Array(this.buf);
  readonly d = new Int32Array(this.buf);
  readonly f = new Float32Array(this.buf);
  readonly q = new Float64Array(this.buf);
  mxcsr = MXCSR_DEFAULT;
  /** Feature level of the CPU model (0: no SSE, 1: SSE, 2: SSE2). */
  level = 0;
  /** Address of the last instruction that raised #UD because the model lacks its level (-1: none). */
  udAt = -1;
  private h!: SseHost;

  /** Register state of another context (clone: a new thread starts with its parent's). */
  copyFrom(o: Sse): void {
    this.d.set(o.d.subarray(0, 32));
    this.mxcsr = o.mxcsr;
  }

  /** XMMn as 32 hex digits (high dword first), for dumps and the lockstep harness. */
  xmmHex(n: number): string {
    let s = '';
    for (let k = 3; k >= 0; k--) s += (this.d[n * 4 + k]! >>> 0).toString(16).padStart(8, '0');
    return s;
  }

  /** #UD for an instruction above the model's level, remembered so the fault message can say why. */
  missing(host: SseHost): never {
    this.udAt = host.currentInsnAddr();
    return host.fault(VEC_UD);
  }

  // ---------------------------------------------------------------- operands

  private load(ea: number, bytes: number, aligned: boolean): number {
    const h = this.h;
    if (aligned && ea & 15) h.fault(VEC_GP);
    const d = this.d;
    d[SRC * 4] = h.read32(ea);
    if (bytes >= 8) d[SRC * 4 + 1] = h.read32(ea + 4);
    if (bytes === 16) {
      d[SRC * 4 + 2] = h.read32(ea + 8);
      d[SRC * 4 + 3] = h.read32(ea + 12);
    }
    return SRC;
  }

  /** The r/m operand: XMM register index, or SRC after loading `bytes` from memory. */
  private src(modrm: number, ea: number, bytes: number, aligned = true): number {
    return modrm >= 0xc0 ? modrm & 7 : this.load(ea, bytes, bytes === 16 && aligned);
  }

  /** Stores dwords [k0, k0 + n) of slot x at ea; last and first dword go first (see the header). */
  private store(ea: number, x: number, n: number, aligned: boolean): void {
    const h = this.h;
    if (aligned && ea & 15) h.fault(VEC_GP);
    const d = this.d;
    const o = x * 4;
    if (n > 1) h.write32(ea + 4 * (n - 1), d[o + n - 1]!);
    h.write32(ea, d[o]!);
    for (let k = 1; k < n - 1; k++) h.write32(ea + 4 * k, d[o + k]!);
  }

  private copy(dst: number, from: number): void {
    const d = this.d;
    d[dst * 4] = d[from * 4]!;
    d[dst * 4 + 1] = d[from * 4 + 1]!;
    d[dst * 4 + 2] = d[from * 4 + 2]!;
    d[dst * 4 + 3] = d[from * 4 + 3]!;
  }

  // ---------------------------------------------------------------- MXCSR and exceptions

  private begin(): void {
    const m = this.mxcsr;
    MX.rc = (m >> 13) & 3;
    MX.daz = (m & MXCSR_DAZ) !== 0;
    MX.ftz = (m & 0x8000) !== 0;
    MX.masked = (m >> 7) & 0x3f;
    MX.sticky = m & 0x3f;
    MX.flags = 0;
  }

  /** Records the instruction's flags; an unmasked one raises #XM before the result is written. */
  private end(): void {
    const fl = MX.flags;
    if (fl === 0) return;
    this.mxcsr |= fl;
    if (fl & ~MX.masked & 0x3f) this.h.fault(VEC_XM);
  }

  // ---------------------------------------------------------------- floating point lanes

  /** Binary op on binary32 lanes [0, n) of dst and s into TMP. */
  private ps(op: number, dst: number, s: number, n: number): void {
    const d = this.d;
    const f = this.f;
    for (let k = 0; k < n; k++) {
      const ai = dst * 4 + k;
      const bi = s * 4 + k;
      const x = d[ai]!;
      const y = d[bi]!;
      const t = TMP * 4 + k;
      if (op === OP_SQRT) {
        if (isNaN32(y)) {
          if (isSNaN32(y)) MX.flags |= MX_IE;
          d[t] = y | 0x400000;
          continue;
        }
        const r = lane(OP_SQRT, f[bi]!, 0, true);
        if (r !== r) d[t] = QNAN32;
        else f[t] = r;
        continue;
      }
      if (isNaN32(x) || isNaN32(y)) {
        if (isSNaN32(x) || isSNaN32(y)) MX.flags |= MX_IE;
        d[t] = (isNaN32(x) ? x : y) | 0x400000;
        continue;
      }
      const r = lane(op, f[ai]!, f[bi]!, true);
      if (r !== r) d[t] = QNAN32;
      else f[t] = r;
    }
  }

  /** Binary op on binary64 lanes [0, n) of dst and s into TMP. */
  private pd(op: number, dst: number, s: number, n: number): void {
    const d = this.d;
    const q = this.q;
    for (let k = 0; k < n; k++) {
      const ai = dst * 2 + k;
      const bi = s * 2 + k;
      const xh = d[ai * 2 + 1]!;
      const yh = d[bi * 2 + 1]!;
      const t = TMP * 2 + k;
      const xn = isNaN64(xh, d[ai * 2]!);
      const yn = isNaN64(yh, d[bi * 2]!);
      if (op === OP_SQRT) {
        if (yn) {
          if ((yh & 0x80000) === 0) MX.flags |= MX_IE;
          d[t * 2] = d[bi * 2]!;
          d[t * 2 + 1] = yh | 0x80000;
          continue;
        }
        const r = lane(OP_SQRT, q[bi]!, 0, false);
        this.putD(t, r);
        continue;
      }
      if (xn || yn) {
        if ((xn && (xh & 0x80000) === 0) || (yn && (yh & 0x80000) === 0)) MX.flags |= MX_IE;
        const from = xn ? ai : bi;
        d[t * 2] = d[from * 2]!;
        d[t * 2 + 1] = d[from * 2 + 1]! | 0x80000;
        continue;
      }
      this.putD(t, lane(op, q[ai]!, q[bi]!, false));
    }
  }

  /** Writes double lane t, the default QNaN's bits for NaN (a JS NaN's bits are not specified). */
  private putD(t: number, r: number): void {
    if (r !== r) {
      this.d[t * 2] = 0;
      this.d[t * 2 + 1] = QNAN64_HI;
    } else this.q[t] = r;
  }

  /**
   * MIN/MAX lanes: the second operand when either is a NaN (IE) or they compare equal; with DAZ the
   * returned non-NaN operand is the flushed one.
   */
  private minmax(max: boolean, dst: number, s: number, n: number, single: boolean): void {
    const d = this.d;
    for (let k = 0; k < n; k++) {
      let xn: boolean;
      let yn: boolean;
      let a: number;
      let b: number;
      if (single) {
        xn = isNaN32(d[dst * 4 + k]!);
        yn = isNaN32(d[s * 4 + k]!);
        const nan = xn || yn;
        a = xn ? 0 : nan ? daz(this.f[dst * 4 + k]!, FLT_MIN) : in32(this.f[dst * 4 + k]!);
        b = yn ? 0 : nan ? daz(this.f[s * 4 + k]!, FLT_MIN) : in32(this.f[s * 4 + k]!);
      } else {
        xn = isNaN64(d[dst * 4 + 2 * k + 1]!, d[dst * 4 + 2 * k]!);
        yn = isNaN64(d[s * 4 + 2 * k + 1]!, d[s * 4 + 2 * k]!);
        const nan = xn || yn;
        a = xn ? 0 : nan ? daz(this.q[dst * 2 + k]!, DBL_MIN) : in64(this.q[dst * 2 + k]!);
        b = yn ? 0 : nan ? daz(this.q[s * 2 + k]!, DBL_MIN) : in64(this.q[s * 2 + k]!);
      }
      if (xn || yn) MX.flags |= MX_IE;
      const first = !xn && !yn && (max ? a > b : a < b);
      if (single) {
        if (yn) d[TMP * 4 + k] = d[s * 4 + k]!;
        else this.f[TMP * 4 + k] = first ? a : b;
      } else if (yn) {
        d[TMP * 4 + 2 * k] = d[s * 4 + 2 * k]!;
        d[TMP * 4 + 2 * k + 1] = d[s * 4 + 2 * k + 1]!;
      } else this.q[TMP * 2 + k] = first ? a : b;
    }
  }

  /**
   * Lane k of dst and s as compare operands into PAIR: unordered (a NaN), signalling (an SNaN) and
   * the values (0 when unordered; in32/in64 apply DAZ).
   */
  private comparePair(dst: number, s: number, k: number, single: boolean): void {
    const d = this.d;
    if (single) {
      const x = d[dst * 4 + k]!;
      const y = d[s * 4 + k]!;
      PAIR.un = isNaN32(x) || isNaN32(y);
      PAIR.sn = isSNaN32(x) || isSNaN32(y);
      PAIR.a = PAIR.un ? 0 : in32(this.f[dst * 4 + k]!);
      PAIR.b = PAIR.un ? 0 : in32(this.f[s * 4 + k]!);
    } else {
      const xh = d[dst * 4 + 2 * k + 1]!;
      const yh = d[s * 4 + 2 * k + 1]!;
      const xn = isNaN64(xh, d[dst * 4 + 2 * k]!);
      const yn = isNaN64(yh, d[s * 4 + 2 * k]!);
      PAIR.un = xn || yn;
      PAIR.sn = (xn && (xh & 0x80000) === 0) || (yn && (yh & 0x80000) === 0);
      PAIR.a = PAIR.un ? 0 : in64(this.q[dst * 2 + k]!);
      PAIR.b = PAIR.un ? 0 : in64(this.q[s * 2 + k]!);
    }
  }

  private cmp(pred: number, dst: number, s: number, n: number, single: boolean): void {
    const d = this.d;
    for (let k = 0; k < n; k++) {
      this.comparePair(dst, s, k, single);
      const r = compare(pred, PAIR.a, PAIR.b, PAIR.un, PAIR.sn) ? -1 : 0;
      if (single) d[TMP * 4 + k] = r;
      else {
        d[TMP * 4 + 2 * k] = r;
        d[TMP * 4 + 2 * k + 1] = r;
      }
    }
  }

  /** COMISS/UCOMISS/COMISD/UCOMISD. */
  private comi(dst: number, s: number, single: boolean, quiet: boolean): void {
    this.comparePair(dst, s, 0, single);
    const { un, a, b } = PAIR;
    if (un && (PAIR.sn || !quiet)) MX.flags |= MX_IE;
    this.end();
    if (un) this.h.setFlagsZPC(1, 1, 1);
    else this.h.setFlagsZPC(a === b ? 1 : 0, 0, a < b ? 1 : 0);
  }

  /** Copies TMP lanes into dst: dwords [0, n). */
  private commit(dst: number, n: number): void {
    const d = this.d;
    for (let k = 0; k < n; k++) d[dst * 4 + k] = d[TMP * 4 + k]!;
  }

  // ---------------------------------------------------------------- conversions

  /** binary32 lane (bits x, value v) to binary64 lane t of TMP. */
  private s2d(x: number, v: number, t: number): void {
    const d = this.d;
    if (isNaN32(x)) {
      if (isSNaN32(x)) MX.flags |= MX_IE;
      d[t * 2 + 1] = (x & 0x80000000) | 0x7ff80000 | ((x >>> 3) & 0x7ffff);
      d[t * 2] = (x & 7) << 29;
      return;
    }
    this.q[t] = in32(v);
  }

  /** binary64 lane i of slot x to binary32 lane t of TMP. */
  private d2s(x: number, i: number, t: number): void {
    const d = this.d;
    const hi = d[x * 4 + 2 * i + 1]!;
    const lo = d[x * 4 + 2 * i]!;
    if (isNaN64(hi, lo)) {
      if ((hi & 0x80000) === 0) MX.flags |= MX_IE;
      d[TMP * 4 + t] = (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
      return;
    }
    this.f[TMP * 4 + t] = toSingle(this.q[x * 2 + i]!);
  }

  // ---------------------------------------------------------------- the executor

  /**
   * Executes one SSE/SSE2 instruction: `op` is the opcode row (0x100-0x1ff), `pfx` the decoder's
   * prefix bits, `ea` the linear address of a memory operand (modrm < 0xC0), `imm` the imm8.
   */
  exec(op: number, pfx: number, modrm: number, ea: number, imm: number, host: SseHost): void {
    this.h = host;
    const pc = pfx & PFX_REPNE ? PC_F2 : pfx & PFX_REP ? PC_F3 : pfx & PFX_O16 ? PC_66 : PC_NONE;
    const need = op === 0x1ae ? sseEntry(op, pc, modrm)!.level : SSE_LEVEL[((op & 0xff) << 2) | pc]!;
    if (this.level < need) this.missing(host);
    const g = (modrm >> 3) & 7;
    const d = this.d;
    const isReg = modrm >= 0xc0;
    switch (op) {
      case 0x110: // movups/movupd/movss/movsd load
      case 0x128:
      case 0x16f: {
        if (pc === PC_F3 && op === 0x110) {
          if (isReg) d[g * 4] = d[(modrm & 7) * 4]!;
          else {
            d[g * 4] = host.read32(ea);
            d[g * 4 + 1] = d[g * 4 + 2] = d[g * 4 + 3] = 0;
          }
          return;
        }
        if (pc === PC_F2 && op === 0x110) {
          if (isReg) {
            d[g * 4] = d[(modrm & 7) * 4]!;
            d[g * 4 + 1] = d[(modrm & 7) * 4 + 1]!;
          } else {
            this.load(ea, 8, false);
            d[g * 4] = d[SRC * 4]!;
            d[g * 4 + 1] = d[SRC * 4 + 1]!;
            d[g * 4 + 2] = d[g * 4 + 3] = 0;
          }
          return;
        }
        const aligned = op === 0x128 || (op === 0x16f && pc === PC_66);
        this.copy(g, this.src(modrm, ea, 16, aligned));
        return;
      }
      case 0x111: // stores
      case 0x129:
      case 0x17f:
      case 0x12b:
      case 0x1e7: {
        const n = op === 0x111 && pc === PC_F3 ? 1 : op === 0x111 && pc === PC_F2 ? 2 : 4;
        if (isReg) {
          const r = (modrm & 7) * 4;
          for (let k = 0; k < n; k++) d[r + k] = d[g * 4 + k]!;
        } else this.store(ea, g, n, n === 4 && !(op === 0x111 || (op === 0x17f && pc === PC_F3)));
        return;
      }
      case 0x112: // movlps/movlpd m64 -> low; movhlps
        if (isReg) {
          d[g * 4] = d[(modrm & 7) * 4 + 2]!;
          d[g * 4 + 1] = d[(modrm & 7) * 4 + 3]!;
        } else {
          this.load(ea, 8, false);
          d[g * 4] = d[SRC * 4]!;
          d[g * 4 + 1] = d[SRC * 4 + 1]!;
        }
        return;
      case 0x116: // movhps/movhpd m64 -> high; movlhps
        if (isReg) {
          d[g * 4 + 2] = d[(modrm & 7) * 4]!;
          d[g * 4 + 3] = d[(modrm & 7) * 4 + 1]!;
        } else {
          this.load(ea, 8, false);
          d[g * 4 + 2] = d[SRC * 4]!;
          d[g * 4 + 3] = d[SRC * 4 + 1]!;
        }
        return;
      case 0x113: // movlps/movlpd store
        this.store(ea, g, 2, false);
        return;
      case 0x117: // movhps/movhpd store: the high qword
        d[TMP * 4] = d[g * 4 + 2]!;
        d[TMP * 4 + 1] = d[g * 4 + 3]!;
        this.store(ea, TMP, 2, false);
        return;
      case 0x114: // unpcklps / unpcklpd
      case 0x115: {
        const s = this.src(modrm, ea, 16);
        const hi = op === 0x115 ? 2 : 0;
        if (pc === PC_NONE) {
          d[TMP * 4] = d[g * 4 + hi]!;
          d[TMP * 4 + 1] = d[s * 4 + hi]!;
          d[TMP * 4 + 2] = d[g * 4 + hi + 1]!;
          d[TMP * 4 + 3] = d[s * 4 + hi + 1]!;
        } else {
          d[TMP * 4] = d[g * 4 + hi]!;
          d[TMP * 4 + 1] = d[g * 4 + hi + 1]!;
          d[TMP * 4 + 2] = d[s * 4 + hi]!;
          d[TMP * 4 + 3] = d[s * 4 + hi + 1]!;
        }
        this.commit(g, 4);
        return;
      }
      case 0x12a: {
        // cvtsi2ss / cvtsi2sd xmm, r/m32
        const v = isReg ? host.regs[modrm & 7]! : host.read32(ea);
        if (pc === PC_F2) {
          this.q[g * 2] = v;
          return;
        }
        this.begin();
        const r = intToSingle(v);
        this.end();
        this.f[g * 4] = r;
        return;
      }
      case 0x12c:
      case 0x12d:
      case 0x12e:
      case 0x12f: {
        // A scalar source: cvt(t)ss2si / cvt(t)sd2si r32 (F3 / F2), (u)comiss / (u)comisd (none / 66).
        const single = pc === (op < 0x12e ? PC_F3 : PC_NONE);
        const s = this.src(modrm, ea, single ? 4 : 8);
        this.begin();
        if (op >= 0x12e) {
          this.comi(g, s, single, op === 0x12e);
          return;
        }
        const v = single
          ? toInt32(isNaN32(d[s * 4]!) ? NaN : this.f[s * 4]!, op === 0x12c, true)
          : toInt32(isNaN64(d[s * 4 + 1]!, d[s * 4]!) ? NaN : this.q[s * 2]!, op === 0x12c, false);
        this.end();
        host.regs[g] = v;
        return;
      }
      case 0x150: {
        // movmskps / movmskpd
        const s = modrm & 7;
        host.regs[g] =
          pc === PC_NONE
            ? (d[s * 4]! >>> 31) |
              ((d[s * 4 + 1]! >>> 31) << 1) |
              ((d[s * 4 + 2]! >>> 31) << 2) |
              ((d[s * 4 + 3]! >>> 31) << 3)
            : (d[s * 4 + 1]! >>> 31) | ((d[s * 4 + 3]! >>> 31) << 1);
        return;
      }
      case 0x151:
      case 0x158:
      case 0x159:
      case 0x15c:
      case 0x15e: {
        const fop =
          op === 0x151
            ? OP_SQRT
            : op === 0x158
              ? OP_ADD
              : op === 0x159
                ? OP_MUL
                : op === 0x15c
                  ? OP_SUB
                  : OP_DIV;
        this.fp(fop, pc, g, modrm, ea);
        return;
      }
      case 0x152:
      case 0x153: {
        // rsqrt / rcp: computed exactly rounded (as QEMU does; a CPU returns a 12-bit approximation).
        const n = pc === PC_F3 ? 1 : 4;
        const s = this.src(modrm, ea, n === 1 ? 4 : 16);
        const f = this.f;
        for (let k = 0; k < n; k++) {
          const y = d[s * 4 + k]!;
          if (isNaN32(y)) d[TMP * 4 + k] = y | 0x400000;
          else {
            const v = MX.daz ? in32(f[s * 4 + k]!) : f[s * 4 + k]!;
            const r = op === 0x152 ? 1 / Math.sqrt(v) : 1 / v;
            if (r !== r) d[TMP * 4 + k] = QNAN32;
            else f[TMP * 4 + k] = Math.fround(r);
          }
        }
        this.commit(g, n);
        return;
      }
      case 0x154:
      case 0x155:
      case 0x156:
      case 0x157:
      case 0x1db:
      case 0x1df:
      case 0x1eb:
      case 0x1ef: {
        const s = this.src(modrm, ea, 16);
        const kind =
          op === 0x154 || op === 0x1db
            ? 0
            : op === 0x155 || op === 0x1df
              ? 1
              : op === 0x156 || op === 0x1eb
                ? 2
                : 3;
        for (let k = 0; k < 4; k++) {
          const a = d[g * 4 + k]!;
          const b = d[s * 4 + k]!;
          d[g * 4 + k] = kind === 0 ? a & b : kind === 1 ? ~a & b : kind === 2 ? a | b : a ^ b;
        }
        return;
      }
      case 0x15a:
        this.cvt5a(pc, g, modrm, ea);
        return;
      case 0x15b:
        this.cvt5b(pc, g, modrm, ea);
        return;
      case 0x1e6:
        this.cvte6(pc, g, modrm, ea);
        return;
      case 0x15d:
      case 0x15f: {
        const single = pc === PC_NONE || pc === PC_F3;
        const scalar = pc === PC_F3 || pc === PC_F2;
        const s = this.src(modrm, ea, scalar ? (single ? 4 : 8) : 16);
        this.begin();
        this.minmax(op === 0x15f, g, s, single ? (scalar ? 1 : 4) : scalar ? 1 : 2, single);
        this.end();
        this.commit(g, scalar ? (single ? 1 : 2) : 4);
        return;
      }
      case 0x1c2: {
        const single = pc === PC_NONE || pc === PC_F3;
        const scalar = pc === PC_F3 || pc === PC_F2;
        const s = this.src(modrm, ea, scalar ? (single ? 4 : 8) : 16);
        this.begin();
        this.cmp(imm & 7, g, s, single ? (scalar ? 1 : 4) : scalar ? 1 : 2, single);
        this.end();
        this.commit(g, scalar ? (single ? 1 : 2) : 4);
        return;
      }
      case 0x1c6: {
        const s = this.src(modrm, ea, 16);
        if (pc === PC_NONE) {
          d[TMP * 4] = d[g * 4 + (imm & 3)]!;
          d[TMP * 4 + 1] = d[g * 4 + ((imm >> 2) & 3)]!;
          d[TMP * 4 + 2] = d[s * 4 + ((imm >> 4) & 3)]!;
          d[TMP * 4 + 3] = d[s * 4 + ((imm >> 6) & 3)]!;
        } else {
          const a = g * 4 + (imm & 1) * 2;
          const b = s * 4 + ((imm >> 1) & 1) * 2;
          d[TMP * 4] = d[a]!;
          d[TMP * 4 + 1] = d[a + 1]!;
          d[TMP * 4 + 2] = d[b]!;
          d[TMP * 4 + 3] = d[b + 1]!;
        }
        this.commit(g, 4);
        return;
      }
      case 0x1ae:
        this.group15(g, isReg, ea);
        return;
      case 0x1c3: // movnti m32, r32
        host.write32(ea, host.regs[g]!);
        return;
      case 0x16e: // movd xmm, r/m32
        d[g * 4] = isReg ? host.regs[modrm & 7]! : host.read32(ea);
        d[g * 4 + 1] = d[g * 4 + 2] = d[g * 4 + 3] = 0;
        return;
      case 0x17e:
        if (pc === PC_66) {
          // movd r/m32, xmm
          if (isReg) host.regs[modrm & 7] = d[g * 4]!;
          else host.write32(ea, d[g * 4]!);
        } else {
          // movq xmm, xmm/m64
          const s = this.src(modrm, ea, 8);
          d[g * 4] = d[s * 4]!;
          d[g * 4 + 1] = d[s * 4 + 1]!;
          d[g * 4 + 2] = d[g * 4 + 3] = 0;
        }
        return;
      case 0x1d6: // movq xmm/m64, xmm
        if (isReg) {
          const r = (modrm & 7) * 4;
          d[r] = d[g * 4]!;
          d[r + 1] = d[g * 4 + 1]!;
          d[r + 2] = d[r + 3] = 0;
        } else this.store(ea, g, 2, false);
        return;
      case 0x170:
        this.pshuf(pc, g, this.src(modrm, ea, 16), imm);
        return;
      case 0x171:
      case 0x172:
      case 0x173:
        this.shiftImm(op, g, modrm & 7, imm & 0xff);
        return;
      case 0x1c4: // pinsrw xmm, r32/m16, imm8
        this.w[g * 8 + (imm & 7)] = isReg ? host.regs[modrm & 7]! : host.read16(ea);
        return;
      case 0x1c5: // pextrw r32, xmm, imm8
        host.regs[g] = this.w[(modrm & 7) * 8 + (imm & 7)]!;
        return;
      case 0x1d7: {
        // pmovmskb r32, xmm
        const s = (modrm & 7) * 16;
        let m = 0;
        for (let k = 0; k < 16; k++) m |= (this.b[s + k]! >> 7) << k;
        host.regs[g] = m;
        return;
      }
      case 0x1f7: {
        // maskmovdqu xmm1, xmm2: bytes of xmm1 where xmm2's byte has its top bit, to [edi]
        const s = (modrm & 7) * 16;
        const a = host.regs[7]!;
        for (let k = 0; k < 16; k++) if (this.b[s + k]! & 0x80) host.write8(a + k, this.b[g * 16 + k]!);
        return;
      }
      default:
        this.integer(op, g, this.src(modrm, ea, 16));
    }
  }

  /** Arithmetic ps/pd/ss/sd. */
  private fp(fop: number, pc: number, g: number, modrm: number, ea: number): void {
    this.begin();
    switch (pc) {
      case PC_NONE:
        this.ps(fop, g, this.src(modrm, ea, 16), 4);
        this.end();
        this.commit(g, 4);
        return;
      case PC_66:
        this.pd(fop, g, this.src(modrm, ea, 16), 2);
        this.end();
        this.commit(g, 4);
        return;
      case PC_F3:
        this.ps(fop, g, this.src(modrm, ea, 4), 1);
        this.end();
        this.commit(g, 1);
        return;
      default:
        this.pd(fop, g, this.src(modrm, ea, 8), 1);
        this.end();
        this.commit(g, 2);
    }
  }

  /** 0F 5A: cvtps2pd, cvtpd2ps, cvtss2sd, cvtsd2ss. */
  private cvt5a(pc: number, g: number, modrm: number, ea: number): void {
    const d = this.d;
    this.begin();
    switch (pc) {
      case PC_NONE: {
        const s = this.src(modrm, ea, 8);
        this.s2d(d[s * 4]!, this.f[s * 4]!, TMP * 2);
        this.s2d(d[s * 4 + 1]!, this.f[s * 4 + 1]!, TMP * 2 + 1);
        this.end();
        this.commit(g, 4);
        return;
      }
      case PC_66: {
        const s = this.src(modrm, ea, 16);
        this.d2s(s, 0, 0);
        this.d2s(s, 1, 1);
        d[TMP * 4 + 2] = d[TMP * 4 + 3] = 0;
        this.end();
        this.commit(g, 4);
        return;
      }
      case PC_F3: {
        const s = this.src(modrm, ea, 4);
        this.s2d(d[s * 4]!, this.f[s * 4]!, TMP * 2);
        this.end();
        this.commit(g, 2);
        return;
      }
      default: {
        const s = this.src(modrm, ea, 8);
        this.d2s(s, 0, 0);
        this.end();
        this.commit(g, 1);
      }
    }
  }

  /** 0F 5B: cvtdq2ps, cvtps2dq, cvttps2dq. */
  private cvt5b(pc: number, g: number, modrm: number, ea: number): void {
    const d = this.d;
    const s = this.src(modrm, ea, 16);
    this.begin();
    for (let k = 0; k < 4; k++) {
      if (pc === PC_NONE) this.f[TMP * 4 + k] = intToSingle(d[s * 4 + k]!);
      else {
        const x = d[s * 4 + k]!;
        d[TMP * 4 + k] = toInt32(isNaN32(x) ? NaN : this.f[s * 4 + k]!, pc === PC_F3, true);
      }
    }
    this.end();
    this.commit(g, 4);
  }

  /** 66/F3/F2 0F E6: cvttpd2dq, cvtdq2pd, cvtpd2dq. */
  private cvte6(pc: number, g: number, modrm: number, ea: number): void {
    const d = this.d;
    if (pc === PC_F3) {
      const s = this.src(modrm, ea, 8);
      const a = d[s * 4]!;
      const b = d[s * 4 + 1]!;
      this.q[g * 2] = a;
      this.q[g * 2 + 1] = b;
      return;
    }
    const s = this.src(modrm, ea, 16);
    this.begin();
    for (let k = 0; k < 2; k++) {
      const x = isNaN64(d[s * 4 + 2 * k + 1]!, d[s * 4 + 2 * k]!) ? NaN : this.q[s * 2 + k]!;
      d[TMP * 4 + k] = toInt32(x, pc === PC_66, false);
    }
    d[TMP * 4 + 2] = d[TMP * 4 + 3] = 0;
    this.end();
    this.commit(g, 4);
  }

  /** 0F AE: fxsave, fxrstor, ldmxcsr, stmxcsr, the fences and clflush. */
  private group15(g: number, isReg: boolean, ea: number): void {
    const h = this.h;
    if (isReg) return; // lfence, mfence, sfence: this machine's memory is sequentially consistent
    switch (g) {
      case 2: {
        const v = h.read32(ea);
        if (v & ~MXCSR_MASK) h.fault(VEC_GP);
        this.mxcsr = v & MXCSR_MASK;
        return;
      }
      case 3:
        h.write32(ea, this.mxcsr);
        return;
      case 7:
        h.read8(ea); // clflush: faults like a byte load; there is no cache to flush
        return;
    }
  }

  /** The SSE part of FXSAVE (MXCSR, MXCSR_MASK, XMM0-7); the caller checks alignment and does the x87 part. */
  fxsave(ea: number, h: SseHost): void {
    h.write32(ea + 24, this.mxcsr);
    h.write32(ea + 28, MXCSR_MASK);
    for (let n = 0; n < 8; n++)
      for (let k = 0; k < 4; k++) h.write32(ea + 160 + 16 * n + 4 * k, this.d[n * 4 + k]!);
  }

  /** The SSE part of FXRSTOR: reads everything (and checks MXCSR) before changing anything. */
  fxrstorCheck(ea: number, h: SseHost): void {
    const m = h.read32(ea + 24);
    if (m & ~MXCSR_MASK) h.fault(VEC_GP);
    for (let n = 0; n < 8; n++)
      for (let k = 0; k < 4; k++) fxBuf[n * 4 + k] = h.read32(ea + 160 + 16 * n + 4 * k);
    fxBuf[32] = m;
  }

  fxrstorCommit(): void {
    this.d.set(fxBuf.subarray(0, 32));
    this.mxcsr = fxBuf[32]!;
  }

  private pshuf(pc: number, g: number, s: number, imm: number): void {
    const d = this.d;
    const w = this.w;
    if (pc === PC_66) {
      for (let k = 0; k < 4; k++) d[TMP * 4 + k] = d[s * 4 + ((imm >> (2 * k)) & 3)]!;
    } else {
      // pshufhw (F3) shuffles words 4-7, pshuflw (F2) words 0-3; the other half is copied.
      const base = pc === PC_F3 ? 4 : 0;
      const keep = pc === PC_F3 ? 0 : 4;
      for (let k = 0; k < 4; k++) {
        w[TMP * 8 + base + k] = w[s * 8 + base + ((imm >> (2 * k)) & 3)]!;
        w[TMP * 8 + keep + k] = w[s * 8 + keep + k]!;
      }
    }
    this.commit(g, 4);
  }

  private shiftImm(op: number, g: number, r: number, n: number): void {
    switch (op) {
      case 0x171:
        this.shift(g === 2 ? 0 : g === 4 ? 1 : 2, 16, r, n);
        return;
      case 0x172:
        this.shift(g === 2 ? 0 : g === 4 ? 1 : 2, 32, r, n);
        return;
      default:
        if (g === 3 || g === 7) this.byteShift(r, n, g === 7);
        else this.shift(g === 2 ? 0 : 2, 64, r, n);
    }
  }

  /** Shifts every lane of xmm r: kind 0 logical right, 1 arithmetic right, 2 left; n may exceed the width. */
  private shift(kind: number, width: number, r: number, n: number): void {
    const d = this.d;
    if (width === 16) {
      const w = this.w;
      const sw = this.sw;
      for (let k = 0; k < 8; k++) {
        const i = r * 8 + k;
        if (kind === 1) sw[i] = sw[i]! >> (n > 15 ? 15 : n);
        else if (n > 15) w[i] = 0;
        else w[i] = kind === 0 ? w[i]! >>> n : w[i]! << n;
      }
    } else if (width === 32) {
      for (let k = 0; k < 4; k++) {
        const i = r * 4 + k;
        if (kind === 1) d[i] = d[i]! >> (n > 31 ? 31 : n);
        else if (n > 31) d[i] = 0;
        else d[i] = kind === 0 ? d[i]! >>> n : d[i]! << n;
      }
    } else {
      for (let k = 0; k < 2; k++) {
        const i = r * 4 + 2 * k;
        const lo = d[i]!;
        const hi = d[i + 1]!;
        if (n > 63) d[i] = d[i + 1] = 0;
        else if (n === 0) continue;
        else if (kind === 0) {
          if (n >= 32) {
            d[i] = hi >>> (n - 32);
            d[i + 1] = 0;
          } else {
            d[i] = (lo >>> n) | (hi << (32 - n));
            d[i + 1] = hi >>> n;
          }
        } else if (n >= 32) {
          d[i + 1] = lo << (n - 32);
          d[i] = 0;
        } else {
          d[i + 1] = (hi << n) | (lo >>> (32 - n));
          d[i] = lo << n;
        }
      }
    }
  }

  private byteShift(r: number, n: number, left: boolean): void {
    const b = this.b;
    if (n > 16) n = 16;
    for (let k = 0; k < 16; k++) b[TMP * 16 + k] = b[r * 16 + k]!;
    for (let k = 0; k < 16; k++) {
      const from = left ? k - n : k + n;
      b[r * 16 + k] = from >= 0 && from < 16 ? b[TMP * 16 + from]! : 0;
    }
  }

  /** The 66-prefixed integer instructions with an xmm/m128 source s. */
  private integer(op: number, g: number, s: number): void {
    const d = this.d;
    const b = this.b;
    const sb = this.sb;
    const w = this.w;
    const sw = this.sw;
    const G = g * 16;
    const S = s * 16;
    switch (op) {
      case 0x160:
      case 0x168: // punpcklbw / punpckhbw
        for (let k = 0; k < 8; k++) {
          const o = op === 0x168 ? 8 : 0;
          b[TMP * 16 + 2 * k] = b[G + o + k]!;
          b[TMP * 16 + 2 * k + 1] = b[S + o + k]!;
        }
        break;
      case 0x161:
      case 0x169:
        for (let k = 0; k < 4; k++) {
          const o = op === 0x169 ? 4 : 0;
          w[TMP * 8 + 2 * k] = w[g * 8 + o + k]!;
          w[TMP * 8 + 2 * k + 1] = w[s * 8 + o + k]!;
        }
        break;
      case 0x162:
      case 0x16a: {
        const o = op === 0x16a ? 2 : 0;
        d[TMP * 4] = d[g * 4 + o]!;
        d[TMP * 4 + 1] = d[s * 4 + o]!;
        d[TMP * 4 + 2] = d[g * 4 + o + 1]!;
        d[TMP * 4 + 3] = d[s * 4 + o + 1]!;
        break;
      }
      case 0x16c:
      case 0x16d: {
        const o = op === 0x16d ? 2 : 0;
        d[TMP * 4] = d[g * 4 + o]!;
        d[TMP * 4 + 1] = d[g * 4 + o + 1]!;
        d[TMP * 4 + 2] = d[s * 4 + o]!;
        d[TMP * 4 + 3] = d[s * 4 + o + 1]!;
        break;
      }
      case 0x163: // packsswb
        for (let k = 0; k < 8; k++) {
          sb[TMP * 16 + k] = sat8(sw[g * 8 + k]!);
          sb[TMP * 16 + 8 + k] = sat8(sw[s * 8 + k]!);
        }
        break;
      case 0x167: // packuswb
        for (let k = 0; k < 8; k++) {
          b[TMP * 16 + k] = satU8(sw[g * 8 + k]!);
          b[TMP * 16 + 8 + k] = satU8(sw[s * 8 + k]!);
        }
        break;
      case 0x16b: // packssdw
        for (let k = 0; k < 4; k++) {
          sw[TMP * 8 + k] = sat16(d[g * 4 + k]!);
          sw[TMP * 8 + 4 + k] = sat16(d[s * 4 + k]!);
        }
        break;
      case 0x164:
      case 0x174:
        for (let k = 0; k < 16; k++)
          b[TMP * 16 + k] = (op === 0x164 ? sb[G + k]! > sb[S + k]! : b[G + k] === b[S + k]) ? 0xff : 0;
        break;
      case 0x165:
      case 0x175:
        for (let k = 0; k < 8; k++)
          w[TMP * 8 + k] = (op === 0x165 ? sw[g * 8 + k]! > sw[s * 8 + k]! : w[g * 8 + k] === w[s * 8 + k])
            ? 0xffff
            : 0;
        break;
      case 0x166:
      case 0x176:
        for (let k = 0; k < 4; k++)
          d[TMP * 4 + k] = (op === 0x166 ? d[g * 4 + k]! > d[s * 4 + k]! : d[g * 4 + k] === d[s * 4 + k])
            ? -1
            : 0;
        break;
      case 0x1d1:
      case 0x1d2:
      case 0x1d3:
      case 0x1e1:
      case 0x1e2:
      case 0x1f1:
      case 0x1f2:
      case 0x1f3: {
        // Shift counts from the source's low quadword (anything >= 2^32 is "too big").
        const n = d[s * 4 + 1] !== 0 ? 255 : d[s * 4]! >>> 0 > 255 ? 255 : d[s * 4]!;
        const kind = op >= 0x1f1 ? 2 : op >= 0x1e1 ? 1 : 0;
        const lo = op & 3;
        this.shift(kind, lo === 1 ? 16 : lo === 2 ? 32 : 64, g, n);
        return;
      }
      case 0x1d4: // paddq
      case 0x1fb: // psubq
        for (let k = 0; k < 2; k++) {
          const i = g * 4 + 2 * k;
          const j = s * 4 + 2 * k;
          const alo = d[i]! >>> 0;
          const blo = d[j]! >>> 0;
          if (op === 0x1d4) {
            const lo = alo + blo;
            d[TMP * 4 + 2 * k] = lo | 0;
            d[TMP * 4 + 2 * k + 1] = (d[i + 1]! + d[j + 1]! + (lo > 0xffffffff ? 1 : 0)) | 0;
          } else {
            d[TMP * 4 + 2 * k] = (alo - blo) | 0;
            d[TMP * 4 + 2 * k + 1] = (d[i + 1]! - d[j + 1]! - (alo < blo ? 1 : 0)) | 0;
          }
        }
        break;
      case 0x1d5: // pmullw
        for (let k = 0; k < 8; k++) w[TMP * 8 + k] = Math.imul(sw[g * 8 + k]!, sw[s * 8 + k]!);
        break;
      case 0x1e5: // pmulhw
        for (let k = 0; k < 8; k++) w[TMP * 8 + k] = (sw[g * 8 + k]! * sw[s * 8 + k]!) >> 16;
        break;
      case 0x1e4: // pmulhuw
        for (let k = 0; k < 8; k++) w[TMP * 8 + k] = (w[g * 8 + k]! * w[s * 8 + k]!) >>> 16;
        break;
      case 0x1f4: // pmuludq: low dwords of each quadword, 64-bit products
        for (let k = 0; k < 2; k++) {
          const a = d[g * 4 + 2 * k]! >>> 0;
          const c = d[s * 4 + 2 * k]! >>> 0;
          const al = a & 0xffff;
          const ah = a >>> 16;
          const cl = c & 0xffff;
          const ch = c >>> 16;
          const ll = al * cl;
          const mid = (ll >>> 16) + ((ah * cl) & 0xffff) + ((al * ch) & 0xffff);
          d[TMP * 4 + 2 * k] = ((mid & 0xffff) << 16) | (ll & 0xffff);
          d[TMP * 4 + 2 * k + 1] = (ah * ch + ((ah * cl) >>> 16) + ((al * ch) >>> 16) + (mid >>> 16)) | 0;
        }
        break;
      case 0x1f5: // pmaddwd
        for (let k = 0; k < 4; k++)
          d[TMP * 4 + k] =
            (sw[g * 8 + 2 * k]! * sw[s * 8 + 2 * k]! + sw[g * 8 + 2 * k + 1]! * sw[s * 8 + 2 * k + 1]!) | 0;
        break;
      case 0x1f6: // psadbw
        for (let k = 0; k < 2; k++) {
          let sum = 0;
          for (let j = 0; j < 8; j++) sum += Math.abs(b[G + 8 * k + j]! - b[S + 8 * k + j]!);
          d[TMP * 4 + 2 * k] = sum;
          d[TMP * 4 + 2 * k + 1] = 0;
        }
        break;
      case 0x1d8:
      case 0x1dc:
      case 0x1e8:
      case 0x1ec:
      case 0x1f8:
      case 0x1fc: // byte add/sub, plain/signed/unsigned saturating
        for (let k = 0; k < 16; k++) {
          const sub = op === 0x1d8 || op === 0x1e8 || op === 0x1f8;
          if (op === 0x1d8 || op === 0x1dc)
            b[TMP * 16 + k] = satU8(sub ? b[G + k]! - b[S + k]! : b[G + k]! + b[S + k]!);
          else if (op === 0x1e8 || op === 0x1ec)
            sb[TMP * 16 + k] = sat8(sub ? sb[G + k]! - sb[S + k]! : sb[G + k]! + sb[S + k]!);
          else b[TMP * 16 + k] = sub ? b[G + k]! - b[S + k]! : b[G + k]! + b[S + k]!;
        }
        break;
      case 0x1d9:
      case 0x1dd:
      case 0x1e9:
      case 0x1ed:
      case 0x1f9:
      case 0x1fd:
        for (let k = 0; k < 8; k++) {
          const sub = op === 0x1d9 || op === 0x1e9 || op === 0x1f9;
          const i = g * 8 + k;
          const j = s * 8 + k;
          if (op === 0x1d9 || op === 0x1dd) w[TMP * 8 + k] = satU16(sub ? w[i]! - w[j]! : w[i]! + w[j]!);
          else if (op === 0x1e9 || op === 0x1ed)
            sw[TMP * 8 + k] = sat16(sub ? sw[i]! - sw[j]! : sw[i]! + sw[j]!);
          else w[TMP * 8 + k] = sub ? w[i]! - w[j]! : w[i]! + w[j]!;
        }
        break;
      case 0x1fa:
      case 0x1fe:
        for (let k = 0; k < 4; k++)
          d[TMP * 4 + k] = op === 0x1fa ? d[g * 4 + k]! - d[s * 4 + k]! : d[g * 4 + k]! + d[s * 4 + k]!;
        break;
      case 0x1da:
      case 0x1de: // pminub / pmaxub
        for (let k = 0; k < 16; k++) {
          const x = b[G + k]!;
          const y = b[S + k]!;
          b[TMP * 16 + k] = op === 0x1da ? (x < y ? x : y) : x > y ? x : y;
        }
        break;
      case 0x1ea:
      case 0x1ee: // pminsw / pmaxsw
        for (let k = 0; k < 8; k++) {
          const x = sw[g * 8 + k]!;
          const y = sw[s * 8 + k]!;
          sw[TMP * 8 + k] = op === 0x1ea ? (x < y ? x : y) : x > y ? x : y;
        }
        break;
      case 0x1e0: // pavgb
        for (let k = 0; k < 16; k++) b[TMP * 16 + k] = (b[G + k]! + b[S + k]! + 1) >> 1;
        break;
      case 0x1e3: // pavgw
        for (let k = 0; k < 8; k++) w[TMP * 8 + k] = (w[g * 8 + k]! + w[s * 8 + k]! + 1) >> 1;
        break;
      default:
        this.h.fault(VEC_UD);
    }
    this.commit(g, 4);
  }
}

const fxBuf = new Int32Array(33);
