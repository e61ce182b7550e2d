// Block compiler: turns one decoded block of the code cache into a JavaScript function (`new Function`;
// measured against WebAssembly on this machine before choosing, see README "Performance").
// Guarantees: running the compiled function leaves exactly the state the interpreter's runBlock would
// leave for the same entries — registers, memory, EIP, the lazy-flag fields, `retired`, and at a fault
// the EIP of the faulting instruction with every earlier effect (and the faulting instruction's own
// partial effects) applied in the interpreter's order. Instructions it does not translate run through
// the interpreter's own `exec` (flags and EIP handed over exactly), so any opcode works in a compiled
// block. It never enters an instruction it cannot finish inside the caller's budget: a block runs only
// when all of it fits (the run loop checks), and a self-loop repeats only while another pass fits.
//
// Generated code reads the Cpu's fields by name (regs, eip, flags, lfOp/lfA/lfB/lfR/lfMsb, cur,
// blockStart, retired, attention, fsBase/gsBase) and calls its exec/raised/cond/getCF methods; the
// differential and property tests run every translated form against the interpreter.

import { EA_A16, PFX_A16, PFX_O16, PFX_SEG_SHIFT } from '../decoder.js';
import type { CodeCache } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import { LF_ADD, LF_DEC, LF_INC, LF_LOGIC, LF_RES, LF_SUB } from '../lazyflags.js';
import { ACCESS_PARAMS, accessArgs, readCode, writeCode, type SyncedCpu } from './access.js';
import type { Memory } from '../memory.js';

/**
 * A compiled unit: runs from cpu.eip through its member blocks while each next block fits in `left`,
 * returns instructions retired (cpu.eip, flags and `retired` updated).
 */
export type CompiledBlock = (cpu: Cpu, left: number) => number;

/** What the compiler knows statically about the flag locals at a point of the block. */
const K_UNKNOWN = 0; // locals hold the lazy state but its kind is not known here
const K_ADD = 1; // add, adc (exact: fr = fa + fb)
const K_SUB = 2; // sub, cmp, neg, sbb (exact: fr = fa - fb)
const K_LOGIC = 3;
const K_INC = 4;
const K_DEC = 5;
const K_RES = 6; // ZF/SF/PF from fr, CF/OF concrete in fl

const FLUSH = 'cpu.lfOp = fo; cpu.lfA = fa; cpu.lfB = fb; cpu.lfR = fr; cpu.lfMsb = fm; cpu.flags = fl;';
const RELOAD = 'fo = cpu.lfOp; fa = cpu.lfA; fb = cpu.lfB; fr = cpu.lfR; fm = cpu.lfMsb; fl = cpu.flags;';

/** True when the instruction at entry `i` is one the compiler translates itself. */
export function nativeOp(c: CodeCache, i: number): boolean {
  const op = c.op[i]!;
  const m = c.modrm[i]!;
  if (m < 0xc0 && OPCODES_WITH_MODRM.has(op) && (c.ea[i]! & EA_A16) !== 0) return false;
  // Operand-size-prefixed forms (op | OP_O16): 16-bit moves, ALU operations, test.
  if (c.pfx[i]! & PFX_O16) return nativeO16(op & 0x3ff, (m >> 3) & 7);
  // add/or/adc/sbb/and/sub/xor/cmp in all six forms (r/m,r / r,r/m / acc,imm; 8 and 32 bits).
  if (op < 0x40 && (op & 7) < 6) return true;
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0xa8:
    case 0xa9:
    case 0x88:
    case 0x89:
    case 0x8a:
    case 0x8b:
    case 0x8d:
    case 0x90:
    case 0x99:
    case 0x68:
    case 0x6a:
    case 0xc3:
    case 0xc2:
    case 0xc7:
    case 0xc6:
    case 0xc9:
    case 0xe8:
    case 0xe9:
    case 0xeb:
    case 0xfe:
    case 0xfc:
    case 0xfd:
    case 0x1b6:
    case 0x1b7:
    case 0x1be:
    case 0x1bf:
    case 0x1af:
    case 0x69:
    case 0x6b:
      return true;
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3:
      return (c.pfx[i]! & PFX_A16) === 0; // moffs: a 0x67 prefix makes it a 16-bit offset
    case 0xf6:
      return ((m >> 3) & 7) <= 3; // test, not, neg
    case 0xc1:
    case 0xd1:
    case 0xd3: {
      const k = (m >> 3) & 7;
      return k === 4 || k === 5 || k === 6 || k === 7;
    }
    case 0xf7: {
      const k = (m >> 3) & 7;
      return k === 0 || k === 2 || k === 3 || k === 4 || k === 5; // test, not, neg, mul, imul
    }
    case 0xff: {
      const k = (m >> 3) & 7;
      return k <= 2 || k === 4 || k === 6;
    }
  }
  if (op >= 0x40 && op <= 0x5f) return true; // inc, dec, push, pop
  if (op >= 0xb8 && op <= 0xbf) return true;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) return true;
  if (op >= 0x140 && op <= 0x14f) return true;
  if (op >= 0x190 && op <= 0x19f) return true;
  return false;
}

/** The 16-bit (0x66-prefixed) forms translated: op without the OP_O16 mark, reg = modrm's reg field. */
function nativeO16(op: number, reg: number): boolean {
  if (op < 0x40) return (op & 7) === 1 || (op & 7) === 3 || (op & 7) === 5;
  if (op === 0xf7) return reg <= 1; // test r/m16, imm16
  // 0x90: `66 90`, the two-byte nop gcc pads with
  return (
    op === 0x90 || op === 0x81 || op === 0x83 || op === 0x85 || op === 0x89 || op === 0x8b || op === 0xc7
  );
}

/** An x87 instruction the compiler hands straight to the FPU (32-bit addressing, no 0x66 prefix). */
export function directX87(c: CodeCache, i: number): boolean {
  const op = c.op[i]!;
  return (
    op >= 0xd8 &&
    op <= 0xdf &&
    (c.pfx[i]! & PFX_O16) === 0 &&
    (c.modrm[i]! >= 0xc0 || (c.ea[i]! & EA_A16) === 0)
  );
}

const OPCODES_WITH_MODRM = new Set<number>([
  0x00, 0x02, 0x08, 0x0a, 0x10, 0x11, 0x12, 0x13, 0x18, 0x19, 0x1a, 0x1b, 0x20, 0x22, 0x28, 0x2a, 0x30, 0x32,
  0x38, 0x3a, 0xf6, 0xfe, 0x489, 0x48b, 0x4c7, 0x481, 0x483, 0x485, 0x4f7, 0x401, 0x403, 0x409, 0x40b, 0x411,
  0x413, 0x419, 0x41b, 0x421, 0x423, 0x429, 0x42b, 0x431, 0x433, 0x439, 0x43b, 0x01, 0x03, 0x09, 0x0b, 0x21,
  0x23, 0x29, 0x2b, 0x31, 0x33, 0x39, 0x3b, 0x81, 0x83, 0x85, 0x84, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x80, 0xc7,
  0xc6, 0x1b6, 0x1b7, 0x1be, 0x1bf, 0x1af, 0x69, 0x6b, 0xc1, 0xd1, 0xd3, 0xf7, 0xff, 0x140, 0x141, 0x142,
  0x143, 0x144, 0x145, 0x146, 0x147, 0x148, 0x149, 0x14a, 0x14b, 0x14c, 0x14d, 0x14e, 0x14f, 0x190, 0x191,
  0x192, 0x193, 0x194, 0x195, 0x196, 0x197, 0x198, 0x199, 0x19a, 0x19b, 0x19c, 0x19d, 0x19e, 0x19f,
]);

/** Whether a block may be compiled at all: int3 (probe breakpoints) always runs in the interpreter. */
export function compilable(c: CodeCache, b: number): boolean {
  const n = c.blockLen[b]!;
  for (let i = b; i < b + n; i++) {
    const op = c.op[i]!;
    if (op === 0xcc || (op >= 0x200 && op < 0x400)) return false; // int3, #UD/#GP/fetch-fault pseudo-ops
  }
  return true;
}

const u32 = (v: number) => String(v >>> 0);

/** Emits the code of one block. */
class UnitWriter {
  private out: string[] = [];
  private kind = K_UNKNOWN;
  /** Sign bit of the last flag-setting operation (7, 15 or 31) when `kind` is known. */
  private msb = 31;
  /** K_ADD/K_SUB: no carry in (add, sub, cmp, neg), so fr = fa +/- fb exactly. */
  private exact = true;
  private j = 0; // entry offset in the block of the instruction being emitted
  private b = 0; // entry index of the block being emitted
  private n = 0; // its length

  constructor(private readonly c: CodeCache) {}

  private emit(s: string): void {
    this.out.push(s);
  }

  /** Leaves the unit after `count` instructions of this block, continuing at `eip` (an expression). */
  private exitAfter(count: number, eip: string): string {
    return `{ e = ${eip}; n += ${count}; break out; }`;
  }

  /**
   * Makes the CPU state exact for host code about to run inside the instruction being emitted (an
   * interpreter hand-over): the instruction's entry and fall-through EIP, the block start and the
   * instructions retired before this block (`retiredNow()` and a fault's bookkeeping read them). The
   * fast path keeps all of these in locals.
   */
  private sync(): string {
    const i = this.b + this.j;
    return `cpu.cur = ${i}; cpu.eip = ${u32(this.c.next[i]!)}; cpu.blockStart = ${this.b}; cpu.retired = r0 + n;`;
  }

  /** The same state as arguments of a slow-path helper (see access.ts). */
  private where(): string {
    const i = this.b + this.j;
    return `${i}, ${u32(this.c.next[i]!)}, ${this.b}, r0 + n`;
  }

  /** After host code returned: it may have retired instructions itself or asked for the CPU back. */
  private static readonly AFTER = 'r0 = cpu.retired - n; sp = 1;';

  private reg8(r: number): string {
    return r < 4 ? `(R[${r}] & 255)` : `((R[${r - 4}] >> 8) & 255)`;
  }

  private setReg8(r: number, v: string): void {
    if (r < 4) this.emit(`R[${r}] = (R[${r}] & -256) | ((${v}) & 255);`);
    else this.emit(`R[${r - 4}] = (R[${r - 4}] & -65281) | (((${v}) & 255) << 8);`);
  }

  /** Effective address (with fs/gs base) of entry i as an int32 expression. */
  private ea(i: number, withSeg = true): string {
    const c = this.c;
    const info = c.ea[i]!;
    const parts: string[] = [];
    const base = info & 15;
    if (base < 8) parts.push(`R[${base}]`);
    const x = (info >> 4) & 15;
    const sc = (info >> 8) & 3;
    if (x < 8) parts.push(sc ? `(R[${x}] << ${sc})` : `R[${x}]`);
    const d = c.disp[i]!;
    if (d !== 0 || parts.length === 0) parts.push(String(d));
    const s = info >> 12;
    if (withSeg && s === 5) parts.push('cpu.fsBase');
    else if (withSeg && s === 6) parts.push('cpu.gsBase');
    return parts.length === 1 && base < 8 && d === 0 ? parts[0]! : `((${parts.join(' + ')}) | 0)`;
  }

  /** dst = 32-bit read at the address in `a`. */
  private read32(dst: string): void {
    this.emit(readCode(32, dst, this.where(), UnitWriter.AFTER));
  }

  private read8(dst: string): void {
    this.emit(readCode(8, dst, this.where(), UnitWriter.AFTER));
  }

  private read16(dst: string): void {
    this.emit(readCode(16, dst, this.where(), UnitWriter.AFTER));
  }

  /** 32-bit write of expression `v` (free of side effects) to the address in `a`. */
  private write32(v: string): void {
    this.emit(writeCode(32, v, this.where(), UnitWriter.AFTER));
  }

  private write8(v: string): void {
    this.emit(writeCode(8, v, this.where(), UnitWriter.AFTER));
  }

  private write16(v: string): void {
    this.emit(writeCode(16, v, this.where(), UnitWriter.AFTER));
  }

  /**
   * dst = the r/m operand of entry i at width msb (7, 15, 31; narrower ones zero-extended), from a
   * register or memory (whose address is left in `a`).
   */
  private readE(i: number, dst: string, msb: 7 | 15 | 31): void {
    const m = this.c.modrm[i]!;
    if (m >= 0xc0) {
      const r = m & 7;
      this.emit(`${dst} = ${msb === 7 ? this.reg8(r) : msb === 15 ? this.reg16(r) : `R[${r}]`};`);
    } else {
      this.emit(`a = ${this.ea(i)};`);
      if (msb === 7) this.read8(dst);
      else if (msb === 15) this.read16(dst);
      else this.read32(dst);
    }
  }

  /**
   * Sets the flag locals as the interpreter's setLazy(op, a, b, r, msb) does, and what is known of
   * them statically. Operands of 8-bit operations are already masked to 0..255 (as the interpreter's).
   */
  private lazy(op: number, kind: number, a: string, b: string, r: string, msb = 31, exact = true): void {
    this.emit(`fo = ${op}; fa = ${a}; fb = ${b}; fr = ${r}; fm = ${msb};`);
    this.kind = kind;
    this.msb = msb;
    this.exact = exact;
  }

  /** Boolean expression: bit `msb` of the int32 expression x. */
  private signBit(x: string): string {
    return this.msb === 31 ? `(${x}) < 0` : `((${x}) & ${1 << this.msb}) !== 0`;
  }

  private zfB(): string {
    return this.msb === 31 ? 'fr === 0' : `(fr & ${(1 << (this.msb + 1)) - 1}) === 0`;
  }

  /** CF as a boolean expression (the interpreter's getCF, specialised to the known kind). */
  private cfB(): string {
    const wide = this.msb === 31;
    switch (this.kind) {
      case K_SUB:
        if (!this.exact) return this.signBit('(~fa & fb) | ((~fa | fb) & fr)');
        return wide ? '(fa >>> 0) < (fb >>> 0)' : 'fa < fb';
      case K_ADD:
        if (!this.exact) return this.signBit('(fa & fb) | ((fa | fb) & ~fr)');
        return wide ? '(fr >>> 0) < (fa >>> 0)' : `fr > ${(1 << (this.msb + 1)) - 1}`;
      case K_LOGIC:
        return 'false';
      default: // inc/dec pinned CF in the concrete flags; shifts and multiplies wrote it there
        return '(fl & 1) !== 0';
    }
  }

  /** OF as a boolean expression (the interpreter's getOF, specialised to the known kind). */
  private ofB(): string {
    switch (this.kind) {
      case K_ADD:
      case K_INC:
        return this.signBit('(fa ^ fr) & (fb ^ fr)');
      case K_SUB:
      case K_DEC:
        return this.signBit('(fa ^ fb) & (fa ^ fr)');
      case K_LOGIC:
        return 'false';
      default:
        return '(fl & 2048) !== 0';
    }
  }

  /** Emits `t = CF` (0/1). */
  private getCF(): void {
    const k = this.kind;
    if (k === K_UNKNOWN) this.emit(`${FLUSH} t = cpu.getCF();`);
    else if (k === K_LOGIC) this.emit('t = 0;');
    else if (k === K_INC || k === K_DEC || k === K_RES) this.emit('t = fl & 1;');
    else this.emit(`t = ${this.cfB()} ? 1 : 0;`);
  }

  /** Boolean expression for condition cc, or null when it must be asked of the CPU (unknown kind, PF). */
  private condExpr(cc: number): string | null {
    const k = this.kind;
    if (k === K_UNKNOWN) return null;
    const base = cc >> 1;
    // A compare (exact subtraction) tests its operands directly: unsigned, or signed after moving
    // the operation's sign bit to bit 31.
    const cmp = k === K_SUB && this.exact;
    const sh = 31 - this.msb;
    const fa = sh === 0 ? 'fa' : `(fa << ${sh})`;
    const fb = sh === 0 ? 'fb' : `(fb << ${sh})`;
    const sf = this.signBit('fr');
    let e: string;
    switch (base) {
      case 0:
        e = this.ofB();
        break;
      case 1:
        e = this.cfB();
        break;
      case 2:
        e = this.zfB();
        break;
      case 3:
        if (cmp) e = sh === 0 ? '(fa >>> 0) <= (fb >>> 0)' : 'fa <= fb';
        else if (k === K_LOGIC) e = this.zfB();
        else e = `(${this.cfB()}) || (${this.zfB()})`;
        break;
      case 4:
        e = sf;
        break;
      case 5:
        return null; // PF: the interpreter's parity table
      case 6:
        if (cmp) e = `${fa} < ${fb}`;
        else if (k === K_LOGIC) e = sf;
        else e = `(${sf}) !== (${this.ofB()})`;
        break;
      default:
        if (cmp) e = `${fa} <= ${fb}`;
        else if (k === K_LOGIC) e = sh === 0 ? 'fr <= 0' : `(fr << ${sh}) <= 0`;
        else e = `(${this.zfB()}) || ((${sf}) !== (${this.ofB()}))`;
    }
    return (cc & 1) !== 0 ? `!(${e})` : `(${e})`;
  }

  /** Emits `c1 = condition cc` as a boolean local. */
  private cond(cc: number): void {
    const e = this.condExpr(cc);
    if (e !== null) this.emit(`c1 = ${e};`);
    else this.emit(`${FLUSH} c1 = cpu.cond(${cc});`);
  }

  /**
   * ALU operation k (add, or, adc, sbb, and, sub, xor, cmp) on a, b (JS expressions free of side
   * effects; masked to the width for 8 bits): `r` and the flag locals as the interpreter's alu.
   */
  private alu(k: number, a: string, b: string, dst: string | null, msb = 31): void {
    switch (k) {
      case 0:
        this.emit(`r = (${a} + ${b}) | 0;`);
        this.lazy(LF_ADD, K_ADD, a, b, 'r', msb);
        break;
      case 1:
        this.emit(`r = ${a} | ${b};`);
        this.lazy(LF_LOGIC, K_LOGIC, a, b, 'r', msb);
        break;
      case 2:
        this.getCF();
        this.emit(`r = (${a} + ${b} + t) | 0;`);
        this.lazy(LF_ADD, K_ADD, a, b, 'r', msb, false);
        break;
      case 3:
        this.getCF();
        this.emit(`r = (${a} - ${b} - t) | 0;`);
        this.lazy(LF_SUB, K_SUB, a, b, 'r', msb, false);
        break;
      case 4:
        this.emit(`r = ${a} & ${b};`);
        this.lazy(LF_LOGIC, K_LOGIC, a, b, 'r', msb);
        break;
      case 6:
        this.emit(`r = ${a} ^ ${b};`);
        this.lazy(LF_LOGIC, K_LOGIC, a, b, 'r', msb);
        break;
      default: // 5, 7
        this.emit(`r = (${a} - ${b}) | 0;`);
        this.lazy(LF_SUB, K_SUB, a, b, 'r', msb);
    }
    if (dst !== null && k !== 7) this.emit(`${dst} = r;`);
  }

  /**
   * An 8- or 16-bit ALU operation k (msb 7 or 15) with the r/m operand of entry i as destination and
   * `b` (masked to the width) as source.
   */
  private aluE(i: number, k: number, b: string, msb: 7 | 15): void {
    const m = this.c.modrm[i]!;
    const narrow = msb === 7;
    if (m >= 0xc0) {
      this.alu(k, narrow ? this.reg8(m & 7) : this.reg16(m & 7), b, null, msb);
      if (k !== 7) {
        if (narrow) this.setReg8(m & 7, 'r');
        else this.setReg16(m & 7, 'r');
      }
    } else {
      this.readE(i, 'v', msb);
      this.alu(k, 'v', b, null, msb);
      if (k === 7) return;
      if (narrow) this.write8('r');
      else this.write16('r');
    }
  }

  /** Emits one instruction; returns false when it was handed to the interpreter. */
  private insn(i: number): void {
    const c = this.c;
    const op = c.op[i]!;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    const rm = m & 7;
    const next = c.next[i]!;
    const imm = c.imm[i]!;
    if (directX87(c, i)) {
      this.x87(i, op, m);
      return;
    }
    if (!nativeOp(c, i)) {
      this.fallback(i);
      return;
    }
    if (op >= 0x400) {
      this.o16(i, op & 0x3ff, m, imm);
      return;
    }
    if (op < 0x40 && (op & 7) < 6) {
      const k = op >> 3;
      switch (op & 7) {
        case 0: // r/m8, r8
          this.aluE(i, k, this.reg8(reg), 7);
          return;
        case 2: // r8, r/m8
          this.readE(i, 'v', 7);
          this.alu(k, this.reg8(reg), 'v', null, 7);
          if (k !== 7) this.setReg8(reg, 'r');
          return;
        case 4: // al, imm8
          this.alu(k, '(R[0] & 255)', String(imm & 0xff), null, 7);
          if (k !== 7) this.setReg8(0, 'r');
          return;
        case 1:
          if (m >= 0xc0) this.alu(k, `R[${rm}]`, `R[${reg}]`, `R[${rm}]`);
          else {
            this.emit(`a = ${this.ea(i)};`);
            this.read32('v');
            this.alu(k, 'v', `R[${reg}]`, null);
            if (k !== 7) this.write32('r');
          }
          return;
        case 3:
          this.readE(i, 'v', 31);
          this.alu(k, `R[${reg}]`, 'v', `R[${reg}]`);
          return;
        default: // eAX, imm32
          this.alu(k, 'R[0]', String(imm | 0), 'R[0]');
          return;
      }
    }
    if (op >= 0x40 && op <= 0x4f) {
      // inc/dec keep CF: pin it in the concrete flags first, as the interpreter does.
      this.getCF();
      this.emit(`fl = (fl & -2) | t;`);
      const dec = op >= 0x48;
      this.emit(`v = R[${op & 7}]; r = (v ${dec ? '-' : '+'} 1) | 0; R[${op & 7}] = r;`);
      this.lazy(dec ? LF_DEC : LF_INC, dec ? K_DEC : K_INC, 'v', '1', 'r');
      return;
    }
    if (op >= 0x50 && op <= 0x57) {
      this.emit(`v = R[${op & 7}]; a = (R[4] - 4) | 0;`);
      this.write32('v');
      this.emit('R[4] = a;');
      return;
    }
    if (op >= 0x58 && op <= 0x5f) {
      this.emit('a = R[4];');
      this.read32('v');
      this.emit(`R[4] = (a + 4) | 0; R[${op & 7}] = v;`);
      return;
    }
    if (op >= 0xb8 && op <= 0xbf) {
      this.emit(`R[${op & 7}] = ${imm | 0};`);
      return;
    }
    if (op >= 0x140 && op <= 0x14f) {
      this.readE(i, 'v', 31);
      this.cond(op & 15);
      this.emit(`if (c1) R[${reg}] = v;`);
      return;
    }
    if (op >= 0x190 && op <= 0x19f) {
      this.cond(op & 15);
      if (m >= 0xc0) this.setReg8(rm, 'c1 ? 1 : 0');
      else {
        this.emit(`a = ${this.ea(i)};`);
        this.write8('c1 ? 1 : 0');
      }
      return;
    }
    switch (op) {
      case 0x81:
      case 0x83:
        if (m >= 0xc0) this.alu(reg, `R[${rm}]`, String(imm | 0), `R[${rm}]`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.read32('v');
          this.alu(reg, 'v', String(imm | 0), null);
          if (reg !== 7) this.write32('r');
        }
        return;
      case 0x85:
        this.readE(i, 'v', 31);
        this.emit(`r = v & R[${reg}];`);
        this.lazy(LF_LOGIC, K_LOGIC, '0', '0', 'r');
        return;
      case 0xa9:
        this.alu(4, 'R[0]', String(imm | 0), null);
        return;
      case 0x84:
        this.readE(i, 'v', 7);
        this.alu(4, 'v', this.reg8(reg), null, 7);
        return;
      case 0xa8:
        this.alu(4, '(R[0] & 255)', String(imm & 0xff), null, 7);
        return;
      case 0x80:
        this.aluE(i, reg, String(imm & 0xff), 7);
        return;
      case 0xf6:
        if (reg <= 1) {
          this.readE(i, 'v', 7);
          this.alu(4, 'v', String(imm & 0xff), null, 7);
        } else if (m >= 0xc0) {
          if (reg === 2) this.setReg8(rm, `~${this.reg8(rm)}`);
          else {
            this.emit(`v = ${this.reg8(rm)};`);
            this.alu(5, '0', 'v', null, 7);
            this.setReg8(rm, 'r');
          }
        } else {
          this.emit(`a = ${this.ea(i)};`);
          this.read8('v');
          if (reg === 2) this.write8('~v');
          else {
            this.alu(5, '0', 'v', null, 7);
            this.write8('r');
          }
        }
        return;
      case 0xfe: {
        // inc/dec r/m8 (reg 0/1): CF pinned first, as for the 32-bit forms.
        const dec = reg === 1;
        this.readE(i, 'v', 7);
        this.getCF();
        this.emit(`fl = (fl & -2) | t; r = (v ${dec ? '-' : '+'} 1) | 0;`);
        this.lazy(dec ? LF_DEC : LF_INC, dec ? K_DEC : K_INC, 'v', '1', 'r', 7);
        if (m >= 0xc0) this.setReg8(rm, 'r');
        else this.write8('r');
        return;
      }
      case 0xfc: // cld, std: DF lives in the concrete flags
        this.emit('fl = fl & -1025;');
        return;
      case 0xfd:
        this.emit('fl = fl | 1024;');
        return;
      case 0xa0:
      case 0xa1:
      case 0xa2:
      case 0xa3: {
        // mov al/eax <-> moffs: the offset is the immediate, plus the fs/gs base when prefixed.
        const seg = (c.pfx[i]! >> PFX_SEG_SHIFT) & 7;
        const base = seg === 5 ? ' + cpu.fsBase' : seg === 6 ? ' + cpu.gsBase' : '';
        this.emit(`a = (${imm | 0}${base}) | 0;`);
        if (op === 0xa0) {
          this.read8('v');
          this.setReg8(0, 'v');
        } else if (op === 0xa1) this.read32('R[0]');
        else if (op === 0xa2) this.write8('(R[0] & 255)');
        else this.write32('R[0]');
        return;
      }
      case 0x88:
        if (m >= 0xc0) this.setReg8(rm, this.reg8(reg));
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.write8(this.reg8(reg));
        }
        return;
      case 0x8a:
        if (m >= 0xc0) this.setReg8(reg, this.reg8(rm));
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.read8('v');
          this.setReg8(reg, 'v');
        }
        return;
      case 0x89:
        if (m >= 0xc0) this.emit(`R[${rm}] = R[${reg}];`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.write32(`R[${reg}]`);
        }
        return;
      case 0x8b:
        this.readE(i, 'v', 31);
        this.emit(`R[${reg}] = v;`);
        return;
      case 0x8d:
        this.emit(`R[${reg}] = ${this.ea(i, false)};`);
        return;
      case 0x90:
        return;
      case 0x99:
        this.emit('R[2] = R[0] >> 31;');
        return;
      case 0x68:
      case 0x6a:
        this.emit(`a = (R[4] - 4) | 0;`);
        this.write32(String(imm | 0));
        this.emit('R[4] = a;');
        return;
      case 0xc7:
        if (m >= 0xc0) this.emit(`R[${rm}] = ${imm | 0};`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.write32(String(imm | 0));
        }
        return;
      case 0xc6:
        if (m >= 0xc0) this.setReg8(rm, String(imm & 0xff));
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.write8(String(imm & 0xff));
        }
        return;
      case 0xc9:
        this.emit('a = R[5];');
        this.read32('v');
        this.emit('R[4] = (a + 4) | 0; R[5] = v;');
        return;
      case 0x1b6:
      case 0x1be:
        if (m >= 0xc0) this.emit(`v = ${this.reg8(rm)};`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.read8('v');
        }
        this.emit(op === 0x1b6 ? `R[${reg}] = v;` : `R[${reg}] = (v << 24) >> 24;`);
        return;
      case 0x1b7:
      case 0x1bf:
        if (m >= 0xc0) this.emit(`v = R[${rm}] & 65535;`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.read16('v');
        }
        this.emit(op === 0x1b7 ? `R[${reg}] = v;` : `R[${reg}] = (v << 16) >> 16;`);
        return;
      case 0x1af:
      case 0x69:
      case 0x6b:
        this.readE(i, 'v', 31);
        this.emit(op === 0x1af ? `t = R[${reg}];` : `t = ${imm | 0};`);
        // Exact double product differs from the low word exactly when the result overflows.
        this.emit(`r = Math.imul(v, t); t = v * t !== r ? 1 : 0; R[${reg}] = r;`);
        this.emit(`fl = (fl & -2262) | t | (t << 11); fo = ${LF_RES}; fr = r; fm = 31;`);
        this.kind = K_RES;
        this.msb = 31;
        return;
      case 0xc1:
      case 0xd1:
      case 0xd3:
        this.shift(i, op, reg, m);
        return;
      case 0xf7:
        if (reg === 0) {
          this.readE(i, 'v', 31);
          this.alu(4, 'v', String(imm | 0), null);
        } else if (reg === 4 || reg === 5) {
          this.mul(i, reg === 5);
        } else if (reg === 2) {
          if (m >= 0xc0) this.emit(`R[${rm}] = ~R[${rm}];`);
          else {
            this.emit(`a = ${this.ea(i)};`);
            this.read32('v');
            this.write32('~v');
          }
        } else {
          if (m >= 0xc0) {
            this.emit(`v = R[${rm}];`);
            this.alu(5, '0', 'v', `R[${rm}]`);
          } else {
            this.emit(`a = ${this.ea(i)};`);
            this.read32('v');
            this.alu(5, '0', 'v', null);
            this.write32('r');
          }
        }
        return;
      case 0xff:
        if (reg <= 1) {
          const dec = reg === 1;
          if (m >= 0xc0) {
            this.getCF();
            this.emit(`fl = (fl & -2) | t;`);
            this.emit(`v = R[${rm}]; r = (v ${dec ? '-' : '+'} 1) | 0; R[${rm}] = r;`);
            this.lazy(dec ? LF_DEC : LF_INC, dec ? K_DEC : K_INC, 'v', '1', 'r');
          } else {
            this.emit(`a = ${this.ea(i)};`);
            this.read32('v');
            this.getCF();
            this.emit(`fl = (fl & -2) | t;`);
            this.emit(`r = (v ${dec ? '-' : '+'} 1) | 0;`);
            this.lazy(dec ? LF_DEC : LF_INC, dec ? K_DEC : K_INC, 'v', '1', 'r');
            this.write32('r');
          }
          this.emit(`e = ${u32(next)};`);
        } else if (reg === 6) {
          this.readE(i, 'v', 31);
          this.emit('a = (R[4] - 4) | 0;');
          this.write32('v');
          this.emit(`R[4] = a; e = ${u32(next)};`);
        } else {
          this.readE(i, 't', 31);
          if (reg === 2) {
            this.emit('a = (R[4] - 4) | 0;');
            this.write32(u32(next));
            this.emit('R[4] = a;');
          }
          this.emit('e = t >>> 0;');
        }
        return;
      case 0xe8:
        this.emit('a = (R[4] - 4) | 0;');
        this.write32(u32(next));
        this.emit(`R[4] = a; e = ${u32(next + imm)};`);
        return;
      case 0xc3:
      case 0xc2:
        this.emit('a = R[4];');
        this.read32('v');
        this.emit(op === 0xc3 ? 'R[4] = (a + 4) | 0;' : `R[4] = (a + 4 + ${imm}) | 0;`);
        this.emit('e = v >>> 0;');
        return;
      case 0xe9:
      case 0xeb:
        this.emit(`e = ${u32(next + imm)};`);
        return;
      default:
        if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
          this.cond(op & 15);
          this.emit(`e = c1 ? ${u32(next + imm)} : ${u32(next)};`);
          return;
        }
        throw new Error(`no translation for op ${op.toString(16)}`);
    }
  }

  private reg16(r: number): string {
    return `(R[${r}] & 65535)`;
  }

  private setReg16(r: number, v: string): void {
    this.emit(`R[${r}] = (R[${r}] & -65536) | ((${v}) & 65535);`);
  }

  /** A 0x66-prefixed instruction of nativeO16 (op without the OP_O16 mark): the interpreter's sz = 1 paths. */
  private o16(i: number, op: number, m: number, imm: number): void {
    const reg = (m >> 3) & 7;
    const rm = m & 7;
    if (op < 0x40) {
      const k = op >> 3;
      if ((op & 7) === 1) this.aluE(i, k, this.reg16(reg), 15);
      else if ((op & 7) === 3) {
        this.readE(i, 'v', 15);
        this.alu(k, this.reg16(reg), 'v', null, 15);
        if (k !== 7) this.setReg16(reg, 'r');
      } else {
        this.alu(k, this.reg16(0), String(imm & 0xffff), null, 15);
        if (k !== 7) this.setReg16(0, 'r');
      }
      return;
    }
    switch (op) {
      case 0x81:
      case 0x83:
        this.aluE(i, reg, String(imm & 0xffff), 15);
        return;
      case 0x85:
        this.readE(i, 'v', 15);
        this.alu(4, 'v', this.reg16(reg), null, 15);
        return;
      case 0xf7:
        this.readE(i, 'v', 15);
        this.alu(4, 'v', String(imm & 0xffff), null, 15);
        return;
      case 0x89:
        if (m >= 0xc0) this.emit(`R[${rm}] = (R[${rm}] & -65536) | (R[${reg}] & 65535);`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.write16(`R[${reg}]`);
        }
        return;
      case 0x8b:
        if (m >= 0xc0) this.emit(`R[${reg}] = (R[${reg}] & -65536) | (R[${rm}] & 65535);`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.read16('v');
          this.emit(`R[${reg}] = (R[${reg}] & -65536) | v;`);
        }
        return;
      case 0x90:
        return;
      case 0xc7:
        if (m >= 0xc0) this.emit(`R[${rm}] = (R[${rm}] & -65536) | ${imm & 0xffff};`);
        else {
          this.emit(`a = ${this.ea(i)};`);
          this.write16(String(imm & 0xffff));
        }
        return;
    }
  }

  /**
   * mul/imul r/m32 (EDX:EAX = EAX * r/m32), as the interpreter's: the unsigned high word from 16-bit
   * halves (every partial sum below 2^32, so exact in doubles), minus the sign corrections for imul;
   * CF = OF = the high word is not the low word's extension; the other flags from the low word.
   */
  private mul(i: number, signed: boolean): void {
    this.readE(i, 'v', 31);
    this.emit('t = R[0]; mx = (t & 65535) * (v & 65535);');
    this.emit('my = (t >>> 16) * (v & 65535) + (mx >>> 16);');
    this.emit('mx = (t & 65535) * (v >>> 16) + (my & 65535);');
    this.emit('my = ((t >>> 16) * (v >>> 16) + (my >>> 16) + (mx >>> 16)) | 0; r = Math.imul(t, v);');
    if (signed) this.emit('if (t < 0) my = (my - v) | 0; if (v < 0) my = (my - t) | 0;');
    this.emit(`R[0] = r; R[2] = my; t = my !== ${signed ? 'r >> 31' : '0'} ? 1 : 0;`);
    this.emit(`fl = (fl & -2262) | t | (t << 11); fo = ${LF_RES}; fr = r; fm = 31;`);
    this.kind = K_RES;
    this.msb = 31;
  }

  /** shl/shr/sar (32-bit) by an immediate, 1 or CL; the interpreter's flag rules. */
  private shift(i: number, op: number, k: number, m: number): void {
    const rm = m & 7;
    if (m >= 0xc0) this.emit(`v = R[${rm}];`);
    else {
      this.emit(`a = ${this.ea(i)};`);
      this.read32('v');
    }
    const count = op === 0xc1 ? String(this.c.imm[i]! & 31) : op === 0xd1 ? '1' : '(R[1] & 31)';
    this.emit(`t = ${count};`);
    // count 0 leaves the operand (and, through the write-back, memory) and the flags unchanged.
    this.emit('if (t === 0) r = v; else {');
    if (k === 4 || k === 6) {
      this.emit('cf = (v >>> (32 - t)) & 1; r = v << t; of = ((r >>> 31) & 1) ^ cf;');
    } else if (k === 5) {
      this.emit('cf = (v >>> (t - 1)) & 1; r = v >>> t; of = t === 1 ? (v >>> 31) & 1 : 0; r = r | 0;');
    } else {
      this.emit('cf = (v >> (t - 1)) & 1; r = v >> t; of = 0;');
    }
    this.emit(`fl = (fl & -2262) | cf | (of << 11); fo = ${LF_RES}; fr = r; fm = 31; }`);
    if (m >= 0xc0) this.emit(`R[${rm}] = r;`);
    else this.write32('r');
    // Whether flags changed depends on the runtime count unless it is a constant.
    this.kind = op === 0xd3 || (op === 0xc1 && (this.c.imm[i]! & 31) === 0) ? K_UNKNOWN : K_RES;
    this.msb = 31;
  }

  /**
   * An x87 instruction: a direct call of the FPU (the interpreter's own code, with the CPU as its host).
   * Only FCMOVcc reads EFLAGS and only FCOMI & co. write them: the other forms leave the flag locals
   * live. A fault (memory operand, #UD) throws with the state synced like any slow path.
   */
  private x87(i: number, op: number, m: number): void {
    const flags = m >= 0xc0 && (op === 0xda || op === 0xdb || op === 0xdf);
    if (m < 0xc0) this.emit(`a = ${this.ea(i)};`);
    if (flags) this.emit(`${FLUSH} inFb = 1;`);
    this.emit(`FX(cpu, ${op}, ${m}, ${m < 0xc0 ? 'a' : '0'}, ${this.where()});`);
    if (flags) {
      this.emit(`inFb = 0; ${RELOAD}`);
      this.kind = K_UNKNOWN;
    }
    this.emit(UnitWriter.AFTER);
    if (this.j === this.n - 1) this.emit(`e = ${u32(this.c.next[i]!)};`);
  }

  /** Hands entry i to the interpreter with flags, EIP and counts as it expects them. */
  private fallback(i: number): void {
    const next = this.c.next[i]! >>> 0;
    this.emit(`${FLUSH} ${this.sync()} inFb = 1;`);
    this.emit(`cpu.exec(${i});`);
    this.emit(`inFb = 0; ${RELOAD} ${UnitWriter.AFTER}`);
    this.kind = K_UNKNOWN;
    const last = this.j === this.n - 1;
    if (!last)
      this.emit(`if (cpu.attention !== 0 || cpu.eip !== ${next}) ${this.exitAfter(this.j + 1, 'cpu.eip')}`);
    else this.emit('e = cpu.eip;');
  }

  /** Emits block `b` as one case of the unit's dispatch switch. */
  private block(b: number): void {
    const c = this.c;
    const n = c.blockLen[b]!;
    this.b = b;
    this.n = n;
    this.kind = K_UNKNOWN;
    this.emit(`case ${u32(c.eip[b]!)}: {`);
    // Entered only when the whole block fits the budget: counts stay exact to the instruction.
    this.emit(`if (n + ${n} > left) break out;`);
    for (let j = 0; j < n; j++) {
      this.j = j;
      const i = b + j;
      this.insn(i);
      if (j < n - 1 && ((nativeOp(c, i) && this.touchesMemory(i)) || directX87(c, i))) {
        // A slow-path access may have run host code (code write, watched read) that wants the CPU back.
        this.emit(
          `if (sp !== 0) { sp = 0; if (cpu.attention !== 0) ${this.exitAfter(j + 1, u32(c.next[i]!))} }`,
        );
      }
    }
    const lastI = b + n - 1;
    if (nativeOp(c, lastI) && !this.setsE(c.op[lastI]!)) this.emit(`e = ${u32(c.next[lastI]!)};`);
    this.emit(`n += ${n};`);
    this.emit('continue;');
    this.emit('}');
  }

  /**
   * The unit's function: a dispatch loop over its member blocks. Control passing between members
   * (jumps, calls, returns, fall-through) stays inside; anything else leaves with EIP set.
   */
  build(members: readonly number[]): string {
    const head = members[0]!;
    for (const b of members) this.block(b);
    return (
      `"use strict";\nreturn function unit_${(this.c.eip[head]! >>> 0).toString(16)}(cpu, left) {\n` +
      'const R = cpu.regs;\n' +
      'let fo = cpu.lfOp, fa = cpu.lfA, fb = cpu.lfB, fr = cpu.lfR, fm = cpu.lfMsb, fl = cpu.flags;\n' +
      'let inFb = 0, n = 0, a = 0, v = 0, t = 0, r = 0, e = cpu.eip, cf = 0, of = 0, c1 = false;\n' +
      // r0: instructions retired before this call (cpu.retired is written back only for host code);
      // sp: host code ran since the last check (only then can it have set cpu.attention).
      'let r0 = cpu.retired, sp = 0, p = 0, f = 0, o = 0, mx = 0, my = 0;\n' +
      'try {\n' +
      'out: for (;;) {\n' +
      'if (sp !== 0) { sp = 0; if (cpu.attention !== 0) break; }\n' +
      'switch (e) {\n' +
      this.out.join('\n') +
      '\ndefault: break out;\n}\n}\n' +
      // Only slow-path accesses and interpreter hand-overs throw, and both set cpu.cur first.
      `} catch (y) {\n if (inFb === 0) { ${FLUSH} }\n return n + cpu.raised(y, cpu.blockStart, cpu.cur);\n}\n` +
      `cpu.eip = e; cpu.retired = r0 + n; ${FLUSH} return n;\n};`
    );
  }

  private touchesMemory(i: number): boolean {
    const c = this.c;
    const op = c.op[i]!;
    if (c.modrm[i]! < 0xc0 && OPCODES_WITH_MODRM.has(op) && op !== 0x8d) return true;
    return (
      (op >= 0x50 && op <= 0x5f) ||
      (op >= 0xa0 && op <= 0xa3) ||
      op === 0x68 ||
      op === 0x6a ||
      op === 0xc9 ||
      op === 0xe8 ||
      op === 0xc3 ||
      op === 0xc2
    );
  }

  private setsE(op: number): boolean {
    return (
      (op >= 0x70 && op <= 0x7f) ||
      (op >= 0x180 && op <= 0x18f) ||
      op === 0xe8 ||
      op === 0xe9 ||
      op === 0xeb ||
      op === 0xc3 ||
      op === 0xc2 ||
      op === 0xff
    );
  }
}

/** Entry addresses a block can continue at without a computed target (same-unit candidates). */
export function staticSuccessors(c: CodeCache, b: number): number[] {
  const last = b + c.blockLen[b]! - 1;
  const op = c.op[last]!;
  const next = c.next[last]! >>> 0;
  if (c.pfx[last]! & PFX_O16) return [];
  const target = (next + c.imm[last]!) >>> 0;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) || (op >= 0xe0 && op <= 0xe3))
    return [target, next];
  if (op === 0xe9 || op === 0xeb) return [target];
  if (op === 0xe8) return [target, next]; // the call's target and its return address
  if (op === 0xff) return ((c.modrm[last]! >> 3) & 7) === 4 ? [] : [next]; // all but jmp fall through (call: on return)
  if (OPCODES_ENDING.has(op)) return [];
  return [next];
}

const OPCODES_ENDING = new Set<number>([0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcf, 0xf1, 0xf4, 0x9a, 0xea]);

/** JavaScript source of a unit (its first member is where it is normally entered). */
export function unitSource(c: CodeCache, members: readonly number[]): string {
  return new UnitWriter(c).build(members);
}

/** An x87 instruction from compiled code: the state made exact (as a slow path does), then the FPU. */
function x87Call(
  cpu: Cpu,
  op: number,
  m: number,
  a: number,
  i: number,
  next: number,
  b: number,
  ret: number,
): void {
  const s = cpu as unknown as SyncedCpu;
  s.cur = i;
  s.eip = next;
  s.blockStart = b;
  s.retired = ret;
  cpu.fpu.exec(op, m, a, cpu);
}

/** Compiles a unit of blocks sharing one dispatch loop. */
export function compileUnit(
  c: CodeCache,
  members: readonly number[],
  mem: Memory,
): { fn: CompiledBlock; size: number } {
  const src = unitSource(c, members);
  const make = new Function(...ACCESS_PARAMS, 'FX', src) as (...f: unknown[]) => CompiledBlock;
  return { fn: make(...accessArgs(mem), x87Call), size: src.length };
}
