// One i386 CPU context (a guest thread's register state) and its interpreter over decoded blocks.
// Guarantees: user-mode IA-32 semantics for the integer ISA listed in design.md with flags computed
// lazily but exactly; every exception (#DE #DB #BP #UD #GP #PF ...) reaches the host's `exception`
// callback with EIP where Linux would report it (faults: the faulting instruction; traps: the next);
// no host exception escapes for any guest behaviour. The inner loop is monomorphic: typed arrays,
// int32 arithmetic, no allocation per instruction; guest faults use one preallocated thrown object.

import { CodeCache, OP_FETCH_FAULT } from './codecache.js';
import { cpuModel, cpuidValues, type CpuModel } from './cpuid.js';
import { EA, OP_GP, OP_UD, PFX_A16, PFX_O16, PFX_REP, PFX_REPNE, PFX_SEG_SHIFT } from './decoder.js';
import { Form } from './forms.js';
import { Fpu } from './fpu.js';
import { LF } from './lazyflags.js';
import {
  Fast,
  Memory,
  PAGE_FAULT,
  PageFault,
  PAGE_SHIFT,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from './memory.js';
import {
  PRIMER_CODE,
  PRIMER_DATA,
  PRIMER_DATA_PAGES,
  PRIME_AFTER,
  PRIMER_STACK_TOP,
  PRIMER_WATCHED,
  primerBytes,
} from './cpu-primer.js';
import { Sse } from './sse.js';
import { SSE_ROWS } from './sse-ops.js';
import type { FpuHost } from './types.js';

/** Register numbers (a const enum: the interpreter's uses compile to literals, see lazyflags.ts's LF). */
const enum Reg {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}
export const EAX = Reg.EAX;
export const ECX = Reg.ECX;
export const EDX = Reg.EDX;
export const EBX = Reg.EBX;
export const ESP = Reg.ESP;
export const EBP = Reg.EBP;
export const ESI = Reg.ESI;
export const EDI = Reg.EDI;

/** EFLAGS bits (a const enum for the same reason as Reg). */
const enum Fl {
  CF = 1,
  PF = 4,
  AF = 0x10,
  ZF = 0x40,
  SF = 0x80,
  TF = 0x100,
  IF = 0x200,
  DF = 0x400,
  OF = 0x800,
  ARITH = Fl.CF | Fl.PF | Fl.AF | Fl.ZF | Fl.SF | Fl.OF,
  /** EFLAGS bits user code may change with popf (IF and IOPL are silently kept at CPL 3). */
  POPF_MASK = Fl.ARITH | Fl.TF | Fl.DF | 0x4000 | 0x40000 | 0x200000,
}
export const CF = Fl.CF;
export const PF = Fl.PF;
export const AF = Fl.AF;
export const ZF = Fl.ZF;
export const SF = Fl.SF;
export const TF = Fl.TF;
export const IF = Fl.IF;
export const DF = Fl.DF;
export const OF = Fl.OF;

export const VEC_DE = 0;
export const VEC_DB = 1;
export const VEC_BP = 3;
export const VEC_OF = 4;
export const VEC_BR = 5;
export const VEC_UD = 6;
export const VEC_GP = 13;
export const VEC_PF = 14;
export const VEC_MF = 16;
export const VEC_XM = 19;

/** 1 for the two-byte opcode rows the SSE unit executes. */
const SSE_ROW = new Uint8Array(0x400);
for (const op of SSE_ROWS) SSE_ROW[op] = 1;

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i;
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  PARITY[i] = (b & 1) === 0 ? 1 : 0;
}

const MUL_OUT: [number, number] = [0, 0];
/** Exact unsigned 32x32 → 64 product as [lo, hi] int32s, using 16-bit halves (doubles hold 53 bits). */
function mulU32(a: number, b: number): [number, number] {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  MUL_OUT[0] = ((mid & 0xffff) << 16) | (ll & 0xffff);
  MUL_OUT[1] = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) | 0;
  return MUL_OUT;
}

/** Thrown (one shared object) to abort the current instruction with a CPU exception. */
export class CpuException {
  vector = 0;
  code = 0;
  addr = 0;
  /** true for traps (EIP already past the instruction), false for faults. */
  trap = false;
}
const CPU_EXC = new CpuException();

export interface CpuHost {
  /** `int $0x80`: EIP already points past the instruction. */
  syscall(cpu: Cpu): void;
  /**
   * An exception. EIP is at the faulting instruction (faults) or after it (traps). The host either
   * handles it (probe engine, possibly changing registers) or turns it into a signal and stops the task.
   */
  exception(cpu: Cpu, vector: number, code: number, addr: number): void;
  /** Current virtual time in cycles for RDTSC. */
  rdtsc(cpu: Cpu): number;
  /** An execution hook at `addr` (the block starting there is flagged): runs before the instruction. */
  onHook(cpu: Cpu, addr: number): void;
}

/** Descriptor for a TLS GDT slot (set_thread_area). */
export interface TlsEntry {
  base: number;
  limit: number;
  flags: number;
  used: boolean;
}

const enum Attn {
  STOP = 1,
  CODE = 2,
  /** The run's budget was lowered (limit): leave compiled code so the run loop applies it. */
  CAP = 3,
}
export const ATTN_STOP = Attn.STOP;
export const ATTN_CODE = Attn.CODE;

const SEG_ES = 0;
const SEG_CS = 1;
const SEG_SS = 2;
const SEG_DS = 3;
const SEG_FS = 4;
const SEG_GS = 5;
export const USER_CS = 0x23;
export const USER_DS = 0x2b;
/** First GDT slot of the three TLS entries on an x86-64 kernel running 32-bit tasks. */
export const GDT_ENTRY_TLS_MIN = 12;

export class Cpu implements FpuHost {
  /**
   * The GPRs in slots 0-7; slots 8-15 are never written and read 0, so an effective address adds its
   * base and index registers without testing for their absence (EA_NONE = 8).
   */
  private readonly rx = new Int32Array(16);
  /** EAX..EDI (a view of the first 8 slots of `rx`). */
  readonly regs = this.rx.subarray(0, 8);
  eip = 0;
  /** Concrete EFLAGS; the arithmetic bits are stale while `lfOp !== LF.None`. */
  private flags = 0x202;
  private lfOp = LF.None;
  private lfA = 0;
  private lfB = 0;
  private lfR = 0;
  private lfMsb = 31;
  readonly sreg = new Uint16Array([USER_DS, USER_CS, USER_DS, USER_DS, 0, 0]);
  fsBase = 0;
  gsBase = 0;
  readonly tls: TlsEntry[] = [0, 1, 2].map(() => ({ base: 0, limit: 0, flags: 0, used: false }));
  readonly fpu = new Fpu();
  /** XMM0-7 and MXCSR; its level (and CPUID) come from the CPU model. */
  readonly sse = new Sse();
  /**
   * Non-zero makes `run` leave the current block after the current instruction: ATTN_STOP returns to
   * the scheduler (blocking syscall, exit, preemption); ATTN_CODE only re-looks-up code (SMC, hooks).
   */
  attention = 0;
  /** The most instructions the current `run` may retire, counted from its start (see limit). */
  private cap = 0;
  /** Single-step mode: one instruction (one string iteration) per `run` call, no #DB. */
  stepping = false;
  /** Instructions retired by this context. */
  retired = 0;
  /** Entry index of the instruction executing now (the block compiler's slow paths set it too). */
  cur = 0;
  private blockStart = 0;
  private c: CodeCache;
  private mem: Memory;

  constructor(
    mem: Memory,
    cache: CodeCache,
    public host: CpuHost,
    readonly model: CpuModel = cpuModel(),
  ) {
    this.mem = mem;
    this.c = cache;
    this.sse.level = model.sse;
  }

  /** Copies register state from another context (clone). */
  copyFrom(o: Cpu): void {
    this.regs.set(o.regs);
    this.eip = o.eip;
    this.setFlags(o.getFlags());
    this.sreg.set(o.sreg);
    this.fsBase = o.fsBase;
    this.gsBase = o.gsBase;
    for (let i = 0; i < 3; i++) Object.assign(this.tls[i]!, o.tls[i]!);
    this.sse.copyFrom(o.sse);
  }

  get memory(): Memory {
    return this.mem;
  }

  // ---------------------------------------------------------------- flags

  private getCF(): number {
    switch (this.lfOp) {
      case LF.Add:
        return (((this.lfA & this.lfB) | ((this.lfA | this.lfB) & ~this.lfR)) >>> this.lfMsb) & 1;
      case LF.Sub:
        return (((~this.lfA & this.lfB) | ((~this.lfA | this.lfB) & this.lfR)) >>> this.lfMsb) & 1;
      case LF.Logic:
        return 0;
      default:
        return this.flags & 1;
    }
  }

  private getOF(): number {
    switch (this.lfOp) {
      case LF.Add:
      case LF.Inc:
        return (((this.lfA ^ this.lfR) & (this.lfB ^ this.lfR)) >>> this.lfMsb) & 1;
      case LF.Sub:
      case LF.Dec:
        return (((this.lfA ^ this.lfB) & (this.lfA ^ this.lfR)) >>> this.lfMsb) & 1;
      case LF.Logic:
        return 0;
      default:
        return (this.flags >> 11) & 1;
    }
  }

  private getZF(): number {
    if (this.lfOp === LF.None) return (this.flags >> 6) & 1;
    return this.lfR << (31 - this.lfMsb) === 0 ? 1 : 0;
  }

  private getSF(): number {
    if (this.lfOp === LF.None) return (this.flags >> 7) & 1;
    return (this.lfR >>> this.lfMsb) & 1;
  }

  private getPF(): number {
    if (this.lfOp === LF.None) return (this.flags >> 2) & 1;
    return PARITY[this.lfR & 0xff]!;
  }

  private getAF(): number {
    switch (this.lfOp) {
      case LF.Add:
      case LF.Sub:
      case LF.Inc:
      case LF.Dec:
        return ((this.lfA ^ this.lfB ^ this.lfR) >> 4) & 1;
      case LF.Logic:
        return 0;
      default:
        return (this.flags >> 4) & 1;
    }
  }

  private materialize(): void {
    if (this.lfOp === LF.None) return;
    const f =
      this.getCF() |
      (this.getPF() << 2) |
      (this.getAF() << 4) |
      (this.getZF() << 6) |
      (this.getSF() << 7) |
      (this.getOF() << 11);
    this.flags = (this.flags & ~Fl.ARITH) | f;
    this.lfOp = LF.None;
  }

  getFlags(): number {
    this.materialize();
    return (this.flags | 2) >>> 0;
  }

  /** EFLAGS' TF and IF bits, read without computing the lazy arithmetic flags (the probe engine). */
  trapFlags(): number {
    return this.flags & (Fl.TF | Fl.IF);
  }

  /** Clears the TF/IF bits of `clear`, then sets those of `set`; the arithmetic flags stay lazy. */
  changeTrapFlags(clear: number, set: number): void {
    this.flags = (this.flags & ~(clear & (Fl.TF | Fl.IF))) | (set & (Fl.TF | Fl.IF));
  }

  /** IF: cleared only by the probe engine around a single step; the scheduler never preempts then. */
  interruptsEnabled(): boolean {
    return (this.flags & Fl.IF) !== 0;
  }

  setFlags(v: number): void {
    this.lfOp = LF.None;
    this.flags = (v | 2) & 0x3f7fd5;
  }

  /** Condition code 0..15 (o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g). */
  cond(cc: number): boolean {
    const k = cc >> 1;
    // A binary decision on the predicate number: three compares reach any of the eight.
    let r: number;
    if (k < 4) {
      if (k < 2) r = k === 0 ? this.getOF() : this.getCF();
      else r = k === 2 ? this.getZF() : this.getCF() | this.getZF();
    } else if (k < 6) r = k === 4 ? this.getSF() : this.getPF();
    else r = k === 6 ? this.getSF() ^ this.getOF() : (this.getSF() ^ this.getOF()) | this.getZF();
    return (cc & 1) === 0 ? r !== 0 : r === 0;
  }

  private setLazy(op: number, a: number, b: number, r: number, msb: number): void {
    this.lfOp = op;
    this.lfA = a;
    this.lfB = b;
    this.lfR = r;
    this.lfMsb = msb;
  }

  /** Sets CF and OF concretely and ZF/SF/PF from `r` (shifts, multiplies). */
  private setResFlags(r: number, msb: number, cf: number, of: number): void {
    // Every arithmetic flag is redefined (AF reads as 0), so the old lazy state need not be kept.
    this.flags = (this.flags & ~Fl.ARITH) | cf | (of << 11);
    this.lfOp = LF.Res;
    this.lfR = r;
    this.lfMsb = msb;
  }

  private setFlagBits(mask: number, bits: number): void {
    this.materialize();
    this.flags = (this.flags & ~mask) | bits;
  }

  // ---------------------------------------------------------------- registers and operands

  getReg(sz: number, r: number): number {
    if (sz === 2) return this.regs[r]!;
    if (sz === 1) return this.regs[r]! & 0xffff;
    return r < 4 ? this.regs[r]! & 0xff : (this.regs[r - 4]! >> 8) & 0xff;
  }

  setReg(sz: number, r: number, v: number): void {
    const R = this.regs;
    if (sz === 2) R[r] = v;
    else if (sz === 1) R[r] = (R[r]! & ~0xffff) | (v & 0xffff);
    else if (r < 4) R[r] = (R[r]! & ~0xff) | (v & 0xff);
    else R[r - 4] = (R[r - 4]! & ~0xff00) | ((v & 0xff) << 8);
  }

  /** Effective address, with the fs/gs base the decoder marked (never for lea). */
  private ea(i: number): number {
    const c = this.c;
    const info = c.ea[i]!;
    const R = this.rx;
    const a = (c.disp[i]! + R[info & 15]! + (R[(info >> 4) & 15]! << ((info >> 8) & 3))) | 0;
    return info < EA.A16 ? a : this.eaSpecial(a, info);
  }

  /** The 16-bit wrap and the fs/gs base of an effective address (prefixed forms only). */
  private eaSpecial(a: number, info: number): number {
    if (info & EA.A16) a &= 0xffff;
    const s = info >> 12;
    if (s === 5) a += this.fsBase;
    else if (s === 6) a += this.gsBase;
    return a | 0;
  }

  read8(a: number): number {
    return this.mem.read8(a);
  }
  read16(a: number): number {
    return this.mem.read16(a);
  }
  read32(a: number): number {
    return this.mem.read32(a);
  }
  write8(a: number, v: number): void {
    this.mem.write8(a, v);
  }
  write16(a: number, v: number): void {
    this.mem.write16(a, v);
  }
  write32(a: number, v: number): void {
    this.mem.write32(a, v);
  }
  readF64(a: number): number {
    return this.mem.readF64(a);
  }
  writeF64(a: number, v: number): boolean {
    return this.mem.writeF64(a, v);
  }

  private readM(sz: number, a: number): number {
    return sz === 2 ? this.mem.read32(a) : sz === 1 ? this.mem.read16(a) : this.mem.read8(a);
  }

  private writeM(sz: number, a: number, v: number): void {
    if (sz === 2) this.mem.write32(a, v);
    else if (sz === 1) this.mem.write16(a, v);
    else this.mem.write8(a, v);
  }

  private readE(i: number, sz: number): number {
    const m = this.c.modrm[i]!;
    if (m >= 0xc0) return this.getReg(sz, m & 7);
    return this.readM(sz, this.ea(i));
  }

  private writeE(i: number, sz: number, v: number): void {
    const m = this.c.modrm[i]!;
    if (m >= 0xc0) this.setReg(sz, m & 7, v);
    else this.writeM(sz, this.ea(i), v);
  }

  push32(v: number): void {
    const sp = (this.regs[Reg.ESP]! - 4) | 0;
    this.mem.write32(sp, v);
    this.regs[Reg.ESP] = sp;
  }

  pop32(): number {
    const sp = this.regs[Reg.ESP]!;
    const v = this.mem.read32(sp);
    this.regs[Reg.ESP] = sp + 4;
    return v;
  }

  private push(sz: number, v: number): void {
    if (sz === 1) {
      const sp = (this.regs[Reg.ESP]! - 2) | 0;
      this.mem.write16(sp, v);
      this.regs[Reg.ESP] = sp;
    } else this.push32(v);
  }

  private pop(sz: number): number {
    return sz === 1 ? this.popAt(1, this.regs[Reg.ESP]!) : this.pop32();
  }

  /** Reads the operand-size slot at `sp` and leaves ESP just above it (pop, pop m, leave). */
  private popAt(sz: number, sp: number): number {
    const v = this.readM(sz, sp);
    this.regs[Reg.ESP] = sp + (sz === 1 ? 2 : 4);
    return v;
  }

  // ---------------------------------------------------------------- exceptions

  /** Aborts the current instruction with a fault (EIP = the instruction). */
  fault(vector: number, code = 0, addr = 0): never {
    this.eip = this.c.eip[this.cur]! >>> 0;
    CPU_EXC.vector = vector;
    CPU_EXC.code = code;
    CPU_EXC.addr = addr;
    CPU_EXC.trap = false;
    throw CPU_EXC;
  }

  /** Ends the current instruction with a trap (EIP = the next instruction). */
  private trap(vector: number): never {
    CPU_EXC.vector = vector;
    CPU_EXC.code = 0;
    CPU_EXC.addr = 0;
    CPU_EXC.trap = true;
    throw CPU_EXC;
  }

  raiseUD(): never {
    this.fault(VEC_UD);
  }

  setAX(v: number): void {
    this.setReg(1, Reg.EAX, v);
  }

  setFlagsZPC(zf: number, pf: number, cf: number): void {
    this.setFlagBits(Fl.ARITH, (zf ? Fl.ZF : 0) | (pf ? Fl.PF : 0) | (cf ? Fl.CF : 0));
  }

  // ---------------------------------------------------------------- the run loop

  /**
   * Runs up to `budget` instructions. Returns the number retired. Stops early when `attention` is set
   * (by a syscall that blocks or exits, an exception the host turned into a stop, or preemption).
   */
  run(budget: number): number {
    let done = 0;
    this.attention = 0;
    this.cap = budget;
    const c = this.c;
    for (;;) {
      if (this.attention !== 0) {
        if ((this.attention as number) !== Attn.CAP) break;
        this.attention = 0;
      }
      if (this.cap < budget) budget = this.cap;
      if (done >= budget) break;
      const e = this.eip | 0;
      const h = (e ^ (e >>> 13)) & c.hmask;
      let b = c.hkey[h] === e ? c.hval[h]! : c.lookup(e >>> 0);
      if (c.hooked[b] !== 0) {
        this.host.onHook(this, this.eip >>> 0);
        if ((this.attention as number) === Attn.CODE) {
          // The hook changed code (added hooks): the block may be gone; the hook must not run twice.
          this.attention = 0;
          b = c.lookup(e >>> 0);
        }
        if (this.attention !== 0) break;
      }
      if (this.stepping || (this.flags & Fl.TF) !== 0) {
        done += this.runSingle(b);
        continue;
      }
      let n = c.blockLen[b]!;
      const jit = c.jit;
      if (jit !== null) {
        const fn = jit.fns[b];
        // A compiled block runs only when all of it fits the budget: counts stay exact.
        if (fn !== undefined && n <= budget - done) {
          done += fn(this, budget - done);
          if ((this.attention as number) === Attn.CODE) this.attention = 0;
          continue;
        }
        if (fn === undefined) jit.touch(b);
      }
      if (n > budget - done) n = budget - done;
      if (primeLeft > 0 && (primeLeft -= n) <= 0) primeInterpreter();
      done += this.runBlock(b, b + n);
      if ((this.attention as number) === Attn.CODE) this.attention = 0;
    }
    return done;
  }

  /**
   * Lowers the budget of the `run` in progress to `total` instructions from its start (at least what
   * it has retired), from host code inside it: the run stops there, as if it had been given that
   * budget (the machine's coalesced rounds end at the round a syscall falls in).
   */
  limit(total: number): void {
    if (total < this.cap) this.cap = total;
    if (this.attention === 0) this.attention = Attn.CAP;
  }

  /** Executes entries [b, end) of one block; returns instructions retired. The hot loop. */
  private runBlock(b: number, end: number): number {
    this.blockStart = b;
    let n: number;
    try {
      n = this.steps(b, end);
    } catch (e) {
      return this.raised(e, b, this.cur);
    }
    this.retired += n;
    return n;
  }

  /** Turns an exception thrown inside a block into the host's exception callback. */
  private raised(e: unknown, b: number, i: number): number {
    this.excepted = true;
    if (e === CPU_EXC) {
      if (CPU_EXC.trap) i++;
      this.retired += i - b;
      this.host.exception(this, CPU_EXC.vector, CPU_EXC.code, CPU_EXC.addr);
      return i - b;
    }
    if (e instanceof PageFault) {
      this.eip = this.c.eip[this.cur]! >>> 0;
      this.retired += i - b;
      this.host.exception(this, VEC_PF, PAGE_FAULT.code, PAGE_FAULT.addr);
      return i - b;
    }
    throw e;
  }

  /**
   * One instruction (one string-instruction iteration) with the trap flag or in stepping mode; with the
   * guest's own TF, #DB follows — except after int $0x80 (Linux returns from the syscall with TF set
   * and the trap comes after the next instruction).
   */
  private runSingle(b: number): number {
    const c = this.c;
    const tfBefore = this.flags & Fl.TF;
    this.excepted = false;
    const n = this.runBlock(b, b + 1);
    // An instruction that raised an exception (int3, into, a fault) gets no single-step trap of its
    // own: entering the handler clears TF, and the handler decides where execution resumes.
    const attention = this.attention as number;
    if (
      tfBefore &&
      !this.stepping &&
      n === 1 &&
      (attention === 0 || attention === Attn.CAP) &&
      !this.excepted
    ) {
      const op = c.op[b]!;
      if (!(op === 0xcd && (c.imm[b]! & 0xff) === 0x80)) this.host.exception(this, VEC_DB, 0, 0);
    }
    return n;
  }

  /** Set when the last runBlock ended in an exception (see runSingle). */
  private excepted = false;

  /** Address of the instruction executing now (inside exec / host callbacks). */
  currentInsnAddr(): number {
    return this.c.eip[this.cur]! >>> 0;
  }

  /** Instructions retired by this context before the one executing now (exact inside a block). */
  retiredNow(): number {
    return this.retired + (this.cur - this.blockStart);
  }

  // ---------------------------------------------------------------- execution

  /** Executes entry i alone (the block compiler's hand-over: it has set `cur`, `eip` and `blockStart`). */
  exec(i: number): void {
    this.steps(i, i + 1);
  }

  /**
   * Executes entries [b, end) without catching anything; returns how many ran (it stops early after
   * an instruction that set `attention`). A fault leaves `cur` at the faulting entry. Dispatch is on
   * the entry's form (forms.ts), a dense handler id: V8 compiles the switch to a jump table. Forms
   * exist only for 32-bit operand size; everything else is Form.Generic. The loop and the switch are
   * one function so the cache's arrays stay in locals across instructions. EIP is stored only where
   * it can be read: before a form that reads or sets it, and when the block ends (host code reached
   * from the other forms, such as a watched read or a code write, reads `cur`, and a fault sets EIP
   * from `cur`).
   */
  private steps(b: number, end: number): number {
    const c = this.c;
    const R = this.rx;
    const mem = this.mem;
    const next = c.next;
    const code = c.code;
    let i = b;
    while (i < end) {
      this.cur = i;
      const at = i << 2;
      const w = code[at]!;
      const f = w & 0xff;
      const mrm = (w >> 8) & 0xff;
      const op = w >>> 16;
      // The effective address of a memory form (see ea()).
      let a = 0;
      if (f <= Form.LastMem) {
        const e = code[at + 1]!;
        a = (code[at + 2]! + R[e & 15]! + (R[(e >> 4) & 15]! << ((e >> 8) & 3))) | 0;
        if (e >= EA.A16) a = this.eaSpecial(a, e);
      } else if (f > Form.LastPlain) this.eip = next[i]! >>> 0;
      switch (f) {
        case Form.MovEvGvM: {
          const p = a >>> Fast.Shift;
          if ((a & 3) === 0 && (mem.perm[p]! & Fast.WriteMask) === Fast.Write)
            mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)] = R[(mrm >> 3) & 7]!;
          else mem.write32(a, R[(mrm >> 3) & 7]!);
          break;
        }
        case Form.MovGvEvM: {
          const p = a >>> Fast.Shift;
          R[(mrm >> 3) & 7] =
            (a & 3) === 0 && (mem.perm[p]! & Fast.ReadMask) === Fast.Read
              ? mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)]!
              : mem.read32(a);
          break;
        }
        case Form.Lea:
          R[(mrm >> 3) & 7] = a;
          break;
        case Form.AluEvGvM:
        case Form.AluEvIM: {
          const k = f === Form.AluEvIM ? (mrm >> 3) & 7 : op >> 3;
          const p = a >>> Fast.Shift;
          const v =
            (a & 3) === 0 && (mem.perm[p]! & Fast.ReadMask) === Fast.Read
              ? mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)]!
              : mem.read32(a);
          const r = this.alu(k, v, f === Form.AluEvIM ? code[at + 3]! : R[(mrm >> 3) & 7]!, 2);
          // The frame is looked up again: a slow read (a watched word's host callback) may have moved it.
          if (k !== 7) {
            if ((a & 3) === 0 && (mem.perm[p]! & Fast.WriteMask) === Fast.Write)
              mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)] = r;
            else mem.write32(a, r);
          }
          break;
        }
        case Form.AluGvEvM: {
          const k = op >> 3;
          const g = (mrm >> 3) & 7;
          const p = a >>> Fast.Shift;
          const v =
            (a & 3) === 0 && (mem.perm[p]! & Fast.ReadMask) === Fast.Read
              ? mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)]!
              : mem.read32(a);
          const r = this.alu(k, R[g]!, v, 2);
          if (k !== 7) R[g] = r;
          break;
        }
        case Form.TestEvGvM: {
          const p = a >>> Fast.Shift;
          const v =
            (a & 3) === 0 && (mem.perm[p]! & Fast.ReadMask) === Fast.Read
              ? mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)]!
              : mem.read32(a);
          this.setLazy(LF.Logic, 0, 0, v & R[(mrm >> 3) & 7]!, 31);
          break;
        }
        case Form.AluEbIM: {
          const k = (mrm >> 3) & 7;
          const r = this.alu(k, mem.read8(a), code[at + 3]!, 0);
          if (k !== 7) mem.write8(a, r);
          break;
        }
        case Form.MovEbGbM:
          mem.write8(a, this.getReg(0, (mrm >> 3) & 7));
          break;
        case Form.MovGbEbM:
          this.setReg(0, (mrm >> 3) & 7, mem.read8(a));
          break;
        case Form.MovEvIM: {
          const p = a >>> Fast.Shift;
          if ((a & 3) === 0 && (mem.perm[p]! & Fast.WriteMask) === Fast.Write)
            mem.ram32[(mem.frame[p]! << 10) | ((a & Fast.Mask) >> 2)] = code[at + 3]!;
          else mem.write32(a, code[at + 3]!);
          break;
        }
        case Form.MovEbIM:
          mem.write8(a, code[at + 3]!);
          break;
        case Form.MovzxBM: {
          const p = a >>> Fast.Shift;
          R[(mrm >> 3) & 7] =
            (mem.perm[p]! & Fast.ReadMask) === Fast.Read
              ? mem.ram[((mem.frame[p]! << Fast.Shift) | (a & Fast.Mask)) >>> 0]!
              : mem.read8(a);
          break;
        }
        case Form.MovzxWM:
          R[(mrm >> 3) & 7] = mem.read16(a);
          break;
        case Form.MovsxBM:
          R[(mrm >> 3) & 7] = (mem.read8(a) << 24) >> 24;
          break;
        case Form.MovsxWM:
          R[(mrm >> 3) & 7] = (mem.read16(a) << 16) >> 16;
          break;
        case Form.MovEvGvR: {
          const m = mrm;
          R[m & 7] = R[(m >> 3) & 7]!;
          break;
        }
        case Form.MovGvEvR: {
          const m = mrm;
          R[(m >> 3) & 7] = R[m & 7]!;
          break;
        }
        case Form.AluEvGvR: {
          const m = mrm;
          const k = op >> 3;
          const r = this.alu(k, R[m & 7]!, R[(m >> 3) & 7]!, 2);
          if (k !== 7) R[m & 7] = r;
          break;
        }
        case Form.AluGvEvR: {
          const m = mrm;
          const k = op >> 3;
          const g = (m >> 3) & 7;
          const r = this.alu(k, R[g]!, R[m & 7]!, 2);
          if (k !== 7) R[g] = r;
          break;
        }
        case Form.AluEvIR: {
          const m = mrm;
          const k = (m >> 3) & 7;
          const r = this.alu(k, R[m & 7]!, code[at + 3]!, 2);
          if (k !== 7) R[m & 7] = r;
          break;
        }
        case Form.TestEvGvR: {
          const m = mrm;
          this.setLazy(LF.Logic, 0, 0, R[m & 7]! & R[(m >> 3) & 7]!, 31);
          break;
        }
        case Form.AluEbIR: {
          const m = mrm;
          const k = (m >> 3) & 7;
          const r = this.alu(k, this.getReg(0, m & 7), code[at + 3]!, 0);
          if (k !== 7) this.setReg(0, m & 7, r);
          break;
        }
        case Form.MovEbGbR: {
          const m = mrm;
          this.setReg(0, m & 7, this.getReg(0, (m >> 3) & 7));
          break;
        }
        case Form.MovGbEbR: {
          const m = mrm;
          this.setReg(0, (m >> 3) & 7, this.getReg(0, m & 7));
          break;
        }
        case Form.MovEvIR:
          R[mrm & 7] = code[at + 3]!;
          break;
        case Form.PushR:
        case Form.Call: {
          // The value first: push esp stores the old ESP. (EIP is already the return address.)
          const v = f === Form.Call ? this.eip : R[op & 7]!;
          const sp = (R[Reg.ESP]! - 4) | 0;
          const p = sp >>> Fast.Shift;
          if ((sp & 3) === 0 && (mem.perm[p]! & Fast.WriteMask) === Fast.Write)
            mem.ram32[(mem.frame[p]! << 10) | ((sp & Fast.Mask) >> 2)] = v;
          else mem.write32(sp, v);
          R[Reg.ESP] = sp;
          if (f === Form.Call) this.eip = (this.eip + code[at + 3]!) >>> 0;
          break;
        }
        case Form.PopR:
        case Form.Ret: {
          // ESP moves first: pop esp loads ESP with the popped value.
          const sp = R[Reg.ESP]!;
          const p = sp >>> Fast.Shift;
          const v =
            (sp & 3) === 0 && (mem.perm[p]! & Fast.ReadMask) === Fast.Read
              ? mem.ram32[(mem.frame[p]! << 10) | ((sp & Fast.Mask) >> 2)]!
              : mem.read32(sp);
          R[Reg.ESP] = sp + 4;
          if (f === Form.Ret) this.eip = v >>> 0;
          else R[op & 7] = v;
          break;
        }
        case Form.IncDecR: {
          R[op & 7] = this.incdec(R[op & 7]!, (op >> 3) & 1, 2);
          break;
        }
        case Form.MovRI:
          R[op & 7] = code[at + 3]!;
          break;
        case Form.MovzxB:
          R[(mrm >> 3) & 7] = this.getReg(0, mrm & 7);
          break;
        case Form.MovzxW:
          R[(mrm >> 3) & 7] = R[mrm & 7]! & 0xffff;
          break;
        case Form.AluAccI:
        case Form.AluEbGb:
          this.aluOp(i, op);
          break;
        case Form.TestEbGb:
          this.alu(4, this.readE(i, 0), this.getReg(0, (mrm >> 3) & 7), 0);
          break;
        case Form.TestAccI: {
          const sz = op === 0xa8 ? 0 : 2;
          this.alu(4, this.getReg(sz, Reg.EAX), code[at + 3]!, sz);
          break;
        }
        case Form.Shift:
          this.shiftOp(i, op);
          break;
        case Form.Setcc:
          this.writeE(i, 0, this.cond(op & 15) ? 1 : 0);
          break;
        case Form.Cmov: {
          const v = this.readE(i, 2); // the source is read (and can fault) whatever the condition
          if (this.cond(op & 15)) R[(mrm >> 3) & 7] = v;
          break;
        }
        case Form.PushI:
          this.push32(code[at + 3]!);
          break;
        case Form.Imul: {
          const reg = (mrm >> 3) & 7;
          this.imul2(i, reg, op === 0x1af ? R[reg]! : code[at + 3]!);
          break;
        }
        case Form.Movsx:
          R[(mrm >> 3) & 7] =
            op === 0x1be ? (this.getReg(0, mrm & 7) << 24) >> 24 : (R[mrm & 7]! << 16) >> 16;
          break;
        case Form.Leave:
          R[Reg.EBP] = this.popAt(2, R[Reg.EBP]!);
          break;
        case Form.Cdq:
          R[Reg.EDX] = R[Reg.EAX]! >> 31;
          break;
        case Form.Jmp:
          this.eip = (this.eip + code[at + 3]!) >>> 0;
          break;
        case Form.Jcc:
          if (this.cond(op & 15)) this.eip = (this.eip + code[at + 3]!) >>> 0;
          break;
        case Form.Int:
          this.intN(i);
          break;
        case Form.Group3:
          this.group3(i, op === 0xf6 ? 0 : 2);
          break;
        case Form.Group45:
          this.group45(i, op, (mrm >> 3) & 7);
          break;
        case Form.StringOp:
          this.stringOp(i, op);
          break;
        case Form.Fpu: {
          // x87 straight to the FPU: through execGeneric's large switch it cost a quarter of nbody's time.
          const m = mrm;
          this.fpu.exec(op, m, m >= 0xc0 ? 0 : this.ea(i), this);
          break;
        }
        case Form.Generic:
          this.execOther(i, op);
          break;
      }
      i++;
      if (this.attention !== 0) break;
    }
    // After a form that leaves EIP alone, EIP is the fall-through address.
    if (i > b && (code[(i - 1) << 2]! & 0xff) <= Form.LastPlain) this.eip = next[i - 1]! >>> 0;
    return i - b;
  }

  /** Form.Generic: SSE rows straight to the SSE unit (with or without 0x66), the rest by opcode. */
  private execOther(i: number, op: number): void {
    if (SSE_ROW[op & 0x3ff] === 1) this.execSse(i, op & 0x3ff, this.c.modrm[i]!);
    else this.execGeneric(i, op & 0x3ff);
  }

  private alu(k: number, a: number, b: number, sz: number): number {
    const msb = sz === 2 ? 31 : sz === 1 ? 15 : 7;
    const mask = sz === 2 ? -1 : sz === 1 ? 0xffff : 0xff;
    a &= mask;
    b &= mask;
    let r: number;
    switch (k) {
      case 0:
        r = (a + b) | 0;
        this.setLazy(LF.Add, a, b, r, msb);
        return r;
      case 1:
        r = a | b;
        this.setLazy(LF.Logic, a, b, r, msb);
        return r;
      case 2:
        r = (a + b + this.getCF()) | 0;
        this.setLazy(LF.Add, a, b, r, msb);
        return r;
      case 3:
        r = (a - b - this.getCF()) | 0;
        this.setLazy(LF.Sub, a, b, r, msb);
        return r;
      case 4:
        r = a & b;
        this.setLazy(LF.Logic, a, b, r, msb);
        return r;
      case 5:
      case 7:
        r = (a - b) | 0;
        this.setLazy(LF.Sub, a, b, r, msb);
        return r;
      default:
        r = a ^ b;
        this.setLazy(LF.Logic, a, b, r, msb);
        return r;
    }
  }

  private incdec(v: number, dec: number, sz: number): number {
    const msb = sz === 2 ? 31 : sz === 1 ? 15 : 7;
    const mask = sz === 2 ? -1 : sz === 1 ? 0xffff : 0xff;
    // CF survives inc/dec: pin it in the concrete flags before switching the lazy state.
    const cf = this.getCF();
    this.flags = (this.flags & ~Fl.CF) | cf;
    const a = v & mask;
    const r = dec ? (a - 1) | 0 : (a + 1) | 0;
    this.setLazy(dec ? LF.Dec : LF.Inc, a, 1, r, msb);
    return r;
  }

  /** ALU op with r/m8 or r/m32 and r, or the accumulator and an immediate (rows 00-3f, columns 0-5). */
  private aluOp(i: number, op: number): void {
    const c = this.c;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    const k = op >> 3;
    const sz = op & 1 ? this.osz(i) : 0;
    switch (op & 7) {
      case 0:
      case 1: {
        if (m >= 0xc0) {
          const r = this.alu(k, this.getReg(sz, m & 7), this.getReg(sz, reg), sz);
          if (k !== 7) this.setReg(sz, m & 7, r);
        } else {
          const a = this.ea(i);
          const r = this.alu(k, this.readM(sz, a), this.getReg(sz, reg), sz);
          if (k !== 7) this.writeM(sz, a, r);
        }
        return;
      }
      case 2:
      case 3: {
        const r = this.alu(k, this.getReg(sz, reg), this.readE(i, sz), sz);
        if (k !== 7) this.setReg(sz, reg, r);
        return;
      }
      case 4:
      case 5: {
        const r = this.alu(k, this.getReg(sz, Reg.EAX), c.imm[i]!, sz);
        if (k !== 7) this.setReg(sz, Reg.EAX, r);
        return;
      }
    }
  }

  /** Shift or rotate group 2 (c0 c1 d0 d1 d2 d3) by an immediate, 1 or CL. */
  private shiftOp(i: number, op: number): void {
    const c = this.c;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    const sz = op & 1 ? this.osz(i) : 0;
    const count = op <= 0xc1 ? c.imm[i]! : op <= 0xd1 ? 1 : this.regs[Reg.ECX]!;
    if (m >= 0xc0) this.setReg(sz, m & 7, this.shift(reg, this.getReg(sz, m & 7), count & 31, sz));
    else {
      const a = this.ea(i);
      this.writeM(sz, a, this.shift(reg, this.readM(sz, a), count & 31, sz));
    }
  }

  /** int n: int $0x80 is a system call; any other vector from user mode is #GP (the gates have DPL 0). */
  private intN(i: number): void {
    const n = this.c.imm[i]! & 0xff;
    if (n === 0x80) this.host.syscall(this);
    else this.fault(VEC_GP, (n << 3) | 2); // the error code names the vector
  }

  /** Operand size for a 'v' operand. */
  private osz(i: number): number {
    return this.c.pfx[i]! & PFX_O16 ? 1 : 2;
  }

  private execGeneric(i: number, op: number): void {
    const c = this.c;
    const R = this.regs;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    if (op < 0x40 && (op & 7) < 6) {
      this.aluOp(i, op);
      return;
    }
    if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
      // Only operand-size-prefixed jcc get here: the target is truncated to 16 bits.
      if (this.cond(op & 15)) this.eip = (this.eip + c.imm[i]!) & 0xffff;
      return;
    }
    if (op >= 0x40 && op <= 0x5f) {
      // inc, dec, push, pop of a register: only operand-size-prefixed forms get here.
      const r = op & 7;
      if (op < 0x50) this.setReg(1, r, this.incdec(this.getReg(1, r), (op >> 3) & 1, 1));
      else if (op < 0x58) this.push(1, R[r]!);
      else this.setReg(1, r, this.pop(1));
      return;
    }
    if (op >= 0xb0 && op <= 0xbf) {
      // mov r8, imm8; mov r16, imm16 (the 32-bit form never gets here).
      this.setReg(op < 0xb8 ? 0 : 1, op & 7, c.imm[i]!);
      return;
    }
    switch (op) {
      case 0x06:
      case 0x0e:
      case 0x16:
      case 0x1e:
        this.push(this.osz(i), this.sreg[[SEG_ES, SEG_CS, SEG_SS, SEG_DS][op >> 3]!]!);
        return;
      case 0x1a0:
      case 0x1a8:
        this.push(this.osz(i), this.sreg[op === 0x1a0 ? SEG_FS : SEG_GS]!);
        return;
      case 0x07:
      case 0x17:
      case 0x1f:
      case 0x1a1:
      case 0x1a9: {
        const sr =
          op === 0x07 ? SEG_ES : op === 0x17 ? SEG_SS : op === 0x1f ? SEG_DS : op === 0x1a1 ? SEG_FS : SEG_GS;
        const sp = R[Reg.ESP]!;
        const v = this.osz(i) === 1 ? this.mem.read16(sp) : this.mem.read32(sp) & 0xffff;
        this.loadSeg(sr, v);
        R[Reg.ESP] = sp + (this.osz(i) === 1 ? 2 : 4);
        return;
      }
      case 0x27:
      case 0x2f:
      case 0x37:
      case 0x3f:
      case 0xd4:
      case 0xd5:
      case 0xd6:
        this.bcd(i, op);
        return;
      case 0x60: {
        const sz = this.osz(i);
        const sp0 = R[Reg.ESP]!;
        const step = sz === 1 ? 2 : 4;
        this.mem.checkWritable((sp0 - 8 * step) | 0);
        for (let r = 0; r < 8; r++) this.push(sz, r === Reg.ESP ? sp0 : R[r]!);
        return;
      }
      case 0x61: {
        const sz = this.osz(i);
        const step = sz === 1 ? 2 : 4;
        const sp = R[Reg.ESP]!;
        const vals = [0, 0, 0, 0, 0, 0, 0, 0];
        for (let r = 7; r >= 0; r--) vals[r] = this.readM(sz, (sp + (7 - r) * step) | 0);
        for (let r = 7; r >= 0; r--) if (r !== Reg.ESP) this.setReg(sz, r, vals[r]!);
        R[Reg.ESP] = sp + 8 * step;
        return;
      }
      case 0x62: {
        const sz = this.osz(i);
        const a = this.ea(i);
        const idx = sz === 2 ? R[reg]! : (R[reg]! << 16) >> 16;
        const lo = sz === 2 ? this.mem.read32(a) : (this.mem.read16(a) << 16) >> 16;
        const hi = sz === 2 ? this.mem.read32(a + 4) : (this.mem.read16(a + 2) << 16) >> 16;
        if (idx < lo || idx > hi) this.fault(VEC_BR);
        return;
      }
      case 0x63:
        this.fault(VEC_UD);
        return;
      case 0x68:
      case 0x6a:
        this.push(this.osz(i), c.imm[i]!);
        return;
      case 0x69:
      case 0x6b:
      case 0x1af:
        this.imul2(i, reg, op === 0x1af ? this.getReg(this.osz(i), reg) : c.imm[i]!);
        return;
      case 0x6c:
      case 0x6d:
      case 0x6e:
      case 0x6f:
      case 0xe4:
      case 0xe5:
      case 0xe6:
      case 0xe7:
      case 0xec:
      case 0xed:
      case 0xee:
      case 0xef:
      case 0xf4:
      case 0xfa:
      case 0xfb:
      case 0x106:
      case 0x108:
      case 0x109:
      case 0x130:
      case 0x132:
      case 0x133:
      case 0x120:
      case 0x121:
      case 0x122:
      case 0x123:
        // Privileged at CPL 3 with IOPL 0.
        this.fault(VEC_GP);
        return;
      case 0x80:
      case 0x81:
      case 0x82:
      case 0x83: {
        const sz = op === 0x80 || op === 0x82 ? 0 : this.osz(i);
        if (m >= 0xc0) {
          const r = this.alu(reg, this.getReg(sz, m & 7), c.imm[i]!, sz);
          if (reg !== 7) this.setReg(sz, m & 7, r);
        } else {
          const a = this.ea(i);
          const r = this.alu(reg, this.readM(sz, a), c.imm[i]!, sz);
          if (reg !== 7) this.writeM(sz, a, r);
        }
        return;
      }
      case 0x84:
      case 0x85: {
        const sz = op === 0x84 ? 0 : this.osz(i);
        this.alu(4, this.readE(i, sz), this.getReg(sz, reg), sz);
        return;
      }
      case 0xa8:
      case 0xa9: {
        const sz = op === 0xa8 ? 0 : this.osz(i);
        this.alu(4, this.getReg(sz, Reg.EAX), c.imm[i]!, sz);
        return;
      }
      case 0x86:
      case 0x87: {
        const sz = op === 0x86 ? 0 : this.osz(i);
        if (m >= 0xc0) {
          const t = this.getReg(sz, m & 7);
          this.setReg(sz, m & 7, this.getReg(sz, reg));
          this.setReg(sz, reg, t);
        } else {
          const a = this.ea(i);
          const t = this.readM(sz, a);
          this.writeM(sz, a, this.getReg(sz, reg));
          this.setReg(sz, reg, t);
        }
        return;
      }
      case 0x88:
      case 0x89:
        this.writeE(i, op === 0x88 ? 0 : this.osz(i), this.getReg(op === 0x88 ? 0 : this.osz(i), reg));
        return;
      case 0x8a:
      case 0x8b: {
        const sz = op === 0x8a ? 0 : this.osz(i);
        this.setReg(sz, reg, this.readE(i, sz));
        return;
      }
      case 0x8c: {
        const v = this.sreg[reg]!;
        if (m >= 0xc0) this.setReg(this.osz(i), m & 7, v);
        else this.mem.write16(this.ea(i), v);
        return;
      }
      case 0x8d:
        this.setReg(1, reg, this.ea(i));
        return;
      case 0x8e:
        this.loadSeg(reg, this.readE(i, 1));
        return;
      case 0x8f: {
        const sz = this.osz(i);
        // pop to memory: the address is computed with the incremented ESP.
        const sp = R[Reg.ESP]!;
        const v = this.popAt(sz, sp);
        try {
          this.writeE(i, sz, v);
        } catch (e) {
          R[Reg.ESP] = sp;
          throw e;
        }
        return;
      }
      case 0x90:
        return;
      case 0x91:
      case 0x92:
      case 0x93:
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97: {
        const sz = this.osz(i);
        const t = this.getReg(sz, op & 7);
        this.setReg(sz, op & 7, this.getReg(sz, Reg.EAX));
        this.setReg(sz, Reg.EAX, t);
        return;
      }
      case 0x98:
        if (this.osz(i) === 1) this.setReg(1, Reg.EAX, (R[Reg.EAX]! << 24) >> 24);
        else R[Reg.EAX] = (R[Reg.EAX]! << 16) >> 16;
        return;
      case 0x99:
        if (this.osz(i) === 1) this.setReg(1, Reg.EDX, (R[Reg.EAX]! << 16) >> 31);
        else R[Reg.EDX] = R[Reg.EAX]! >> 31;
        return;
      case 0x9a:
      case 0xea:
      case 0xca:
      case 0xcb:
      case 0xcf:
        this.farTransfer(i, op);
        return;
      case 0x9b:
        return;
      case 0x9c: {
        // VM and RF are never visible in the pushed image.
        const f = this.getFlags() & 0xfcffff;
        this.push(this.osz(i), f);
        return;
      }
      case 0x9d: {
        const sz = this.osz(i);
        const v = this.pop(sz);
        const mask = sz === 1 ? Fl.POPF_MASK & 0xffff : Fl.POPF_MASK;
        this.setFlags((this.getFlags() & ~mask) | (v & mask));
        return;
      }
      case 0x9e:
        this.setFlagBits(
          Fl.CF | Fl.PF | Fl.AF | Fl.ZF | Fl.SF,
          (R[Reg.EAX]! >> 8) & (Fl.CF | Fl.PF | Fl.AF | Fl.ZF | Fl.SF),
        );
        return;
      case 0x9f:
        this.setReg(0, 4, (this.getFlags() & 0xd7) | 2);
        return;
      case 0xa0:
      case 0xa1:
      case 0xa2:
      case 0xa3: {
        const sz = op & 1 ? this.osz(i) : 0;
        const a = this.moffs(i);
        if (op < 0xa2) this.setReg(sz, Reg.EAX, this.readM(sz, a));
        else this.writeM(sz, a, this.getReg(sz, Reg.EAX));
        return;
      }
      case 0xa4:
      case 0xa5:
      case 0xa6:
      case 0xa7:
      case 0xaa:
      case 0xab:
      case 0xac:
      case 0xad:
      case 0xae:
      case 0xaf:
        this.stringOp(i, op);
        return;
      case 0xc0:
      case 0xc1:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        this.shiftOp(i, op);
        return;
      case 0xc2:
        this.eip = this.pop(this.osz(i)) >>> 0;
        R[Reg.ESP] = R[Reg.ESP]! + c.imm[i]!;
        return;
      case 0xc3:
        this.eip = this.pop(this.osz(i)) >>> 0;
        return;
      case 0xc4:
      case 0xc5:
      case 0x1b2:
      case 0x1b4:
      case 0x1b5: {
        const sz = this.osz(i);
        const a = this.ea(i);
        const off = this.readM(sz, a);
        const sel = this.mem.read16(a + (sz === 1 ? 2 : 4));
        const sr =
          op === 0xc4
            ? SEG_ES
            : op === 0xc5
              ? SEG_DS
              : op === 0x1b2
                ? SEG_SS
                : op === 0x1b4
                  ? SEG_FS
                  : SEG_GS;
        this.loadSeg(sr, sel);
        this.setReg(sz, reg, off);
        return;
      }
      case 0xc6:
      case 0xc7:
        this.writeE(i, op === 0xc6 ? 0 : this.osz(i), c.imm[i]!);
        return;
      case 0xc8:
        this.enter(i);
        return;
      case 0xc9: {
        const sz = this.osz(i);
        this.setReg(sz, Reg.EBP, this.popAt(sz, R[Reg.EBP]!));
        return;
      }
      case 0xcc:
        // int3 is a trap (EIP already past it) that always ends its block, so the exception is
        // delivered directly rather than thrown: breakpoints are the probe engine's hot path.
        this.excepted = true;
        this.host.exception(this, VEC_BP, 0, 0);
        return;
      case 0xcd:
        this.intN(i);
        return;
      case 0xce:
        if (this.getOF()) this.trap(VEC_OF);
        return;
      case 0xf1:
        this.trap(VEC_DB);
        return;
      case 0xd7: {
        const seg = (c.pfx[i]! >> PFX_SEG_SHIFT) & 7;
        let a = (R[Reg.EBX]! + (R[Reg.EAX]! & 0xff)) | 0;
        if (seg === 5) a += this.fsBase;
        else if (seg === 6) a += this.gsBase;
        this.setReg(0, Reg.EAX, this.mem.read8(a | 0));
        return;
      }
      case 0xd8:
      case 0xd9:
      case 0xda:
      case 0xdb:
      case 0xdc:
      case 0xdd:
      case 0xde:
      case 0xdf:
        this.fpu.exec(op, m, m >= 0xc0 ? 0 : this.ea(i), this);
        return;
      case 0xe0:
      case 0xe1:
      case 0xe2: {
        const cx = (R[Reg.ECX]! - 1) | 0;
        R[Reg.ECX] = cx;
        const z = this.getZF();
        if (cx !== 0 && (op === 0xe2 || (op === 0xe1 ? z === 1 : z === 0)))
          this.eip = (this.eip + c.imm[i]!) >>> 0;
        return;
      }
      case 0xe3:
        if (R[Reg.ECX] === 0) this.eip = (this.eip + c.imm[i]!) >>> 0;
        return;
      case 0xe8:
      case 0xe9:
      case 0xeb:
        if (op === 0xe8) this.push(this.osz(i), this.eip);
        this.eip = (this.eip + c.imm[i]!) >>> 0;
        if (c.pfx[i]! & PFX_O16) this.eip &= 0xffff;
        return;
      case 0xf5:
        this.setFlagBits(Fl.CF, this.getCF() ^ 1);
        return;
      case 0xf6:
      case 0xf7:
        this.group3(i, op === 0xf6 ? 0 : this.osz(i));
        return;
      case 0xf8:
      case 0xf9:
        this.setFlagBits(Fl.CF, op & 1);
        return;
      case 0xfc:
        this.flags &= ~Fl.DF;
        return;
      case 0xfd:
        this.flags |= Fl.DF;
        return;
      case 0xfe:
      case 0xff:
        this.group45(i, op, reg);
        return;
      // Named (not literal) labels last: V8 builds its jump table only from the literal labels
      // before the first named one.
      case OP_FETCH_FAULT:
        this.fault(VEC_PF, c.imm[i]!, c.disp[i]! >>> 0);
        return;
      case OP_UD:
        this.fault(VEC_UD);
        return;
      case OP_GP:
        this.fault(VEC_GP);
        return;
      default:
        this.exec0F(i, op);
    }
  }

  /** The SSE/SSE2 rows (sse.ts); fxsave/fxrstor also carry the x87 state, so they are done here. */
  private execSse(i: number, op: number, m: number): void {
    const c = this.c;
    const ea = m >= 0xc0 ? 0 : this.ea(i);
    const pfx = c.pfx[i]!;
    if (op === 0x1ae && m < 0xc0 && (m & 0x30) === 0 && (pfx & (PFX_REP | PFX_REPNE | PFX_O16)) === 0) {
      if (this.sse.level === 0) this.sse.missing(this);
      if (ea & 15) this.fault(VEC_GP);
      if (m & 0x08) {
        this.sse.fxrstorCheck(ea, this);
        this.fpu.fxrstor(ea, this);
        this.sse.fxrstorCommit();
      } else {
        this.sse.fxsave(ea, this);
        this.fpu.fxsave(ea, this);
      }
      return;
    }
    this.sse.exec(op, pfx, m, ea, c.imm[i]!, this);
  }

  private exec0F(i: number, op: number): void {
    const c = this.c;
    const R = this.regs;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    if (op >= 0x140 && op <= 0x14f) {
      const sz = this.osz(i);
      const v = this.readE(i, sz); // the source is read (and can fault) whatever the condition
      if (this.cond(op & 15)) this.setReg(sz, reg, v);
      return;
    }
    if (op >= 0x190 && op <= 0x19f) {
      this.writeE(i, 0, this.cond(op & 15) ? 1 : 0);
      return;
    }
    if (SSE_ROW[op] === 1) {
      this.execSse(i, op, m);
      return;
    }
    if (op >= 0x1c8 && op <= 0x1cf) {
      const v = R[op & 7]!;
      R[op & 7] = (v >>> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
      return;
    }
    switch (op) {
      case 0x100:
      case 0x101:
        // sldt/str/sgdt/sidt/smsw: blocked by UMIP on current kernels for 32-bit tasks → SIGSEGV.
        this.fault(VEC_GP);
        return;
      case 0x102:
      case 0x103:
        this.readE(i, 1);
        this.setFlagBits(Fl.ZF, 0);
        return;
      case 0x10d:
      case 0x118:
      case 0x119:
      case 0x11a:
      case 0x11b:
      case 0x11c:
      case 0x11d:
      case 0x11e:
      case 0x11f:
        return; // hint nops, prefetch, endbr32
      case 0x131: {
        const t = this.host.rdtsc(this);
        R[Reg.EAX] = (t % 0x100000000) | 0;
        R[Reg.EDX] = Math.floor(t / 0x100000000) | 0;
        return;
      }
      case 0x1a2: {
        const v = cpuidValues(this.model, R[Reg.EAX]! >>> 0, R[Reg.ECX]! >>> 0);
        R[Reg.EAX] = v[0];
        R[Reg.EBX] = v[1];
        R[Reg.ECX] = v[2];
        R[Reg.EDX] = v[3];
        return;
      }
      case 0x1a3:
      case 0x1ab:
      case 0x1b3:
      case 0x1bb:
        this.bitOp(
          i,
          op === 0x1a3 ? 0 : op === 0x1ab ? 1 : op === 0x1b3 ? 2 : 3,
          this.getReg(this.osz(i), reg),
          true,
        );
        return;
      case 0x1ba:
        this.bitOp(i, reg - 4, c.imm[i]! & 0xff, false);
        return;
      case 0x1a4:
      case 0x1a5:
      case 0x1ac:
      case 0x1ad:
        this.shiftDouble(
          i,
          op === 0x1a4 || op === 0x1a5,
          op === 0x1a4 || op === 0x1ac ? c.imm[i]! : R[Reg.ECX]!,
        );
        return;
      case 0x1b0:
      case 0x1b1: {
        const sz = op === 0x1b0 ? 0 : this.osz(i);
        const acc = this.getReg(sz, Reg.EAX);
        if (m >= 0xc0) {
          const d = this.getReg(sz, m & 7);
          this.alu(7, acc, d, sz);
          if (this.getZF()) this.setReg(sz, m & 7, this.getReg(sz, reg));
          else this.setReg(sz, Reg.EAX, d);
        } else {
          const a = this.ea(i);
          const d = this.readM(sz, a);
          this.alu(7, acc, d, sz);
          // The locked cycle always writes: the old value back when the compare fails.
          if (this.getZF()) this.writeM(sz, a, this.getReg(sz, reg));
          else {
            this.writeM(sz, a, d);
            this.setReg(sz, Reg.EAX, d);
          }
        }
        return;
      }
      case 0x1b6:
        this.setReg(this.osz(i), reg, this.readE(i, 0));
        return;
      case 0x1b7:
        this.setReg(this.osz(i), reg, this.readE(i, 1));
        return;
      case 0x1be:
        this.setReg(this.osz(i), reg, (this.readE(i, 0) << 24) >> 24);
        return;
      case 0x1bf:
        this.setReg(this.osz(i), reg, (this.readE(i, 1) << 16) >> 16);
        return;
      case 0x1bc:
      case 0x1bd: {
        const sz = this.osz(i);
        const v = this.readE(i, sz) & (sz === 2 ? -1 : 0xffff);
        if (v === 0) {
          this.setFlagBits(Fl.ZF, Fl.ZF);
          return;
        }
        let r: number;
        if (op === 0x1bc) r = 31 - Math.clz32(v & -v);
        else r = 31 - Math.clz32(v);
        this.setReg(sz, reg, r);
        this.setFlagBits(Fl.ZF, 0);
        return;
      }
      case 0x1c0:
      case 0x1c1: {
        const sz = op === 0x1c0 ? 0 : this.osz(i);
        const a = m >= 0xc0 ? 0 : this.ea(i);
        const d = m >= 0xc0 ? this.getReg(sz, m & 7) : this.readM(sz, a);
        const r = this.alu(0, d, this.getReg(sz, reg), sz);
        // The sum lands last in a register form (xadd r, r: both name one register); a memory
        // write that faults leaves the register unchanged.
        if (m >= 0xc0) {
          this.setReg(sz, reg, d);
          this.setReg(sz, m & 7, r);
        } else {
          this.writeM(sz, a, r);
          this.setReg(sz, reg, d);
        }
        return;
      }
      case 0x1c7: {
        const a = this.ea(i);
        const lo = this.mem.read32(a);
        const hi = this.mem.read32(a + 4);
        if (lo === R[Reg.EAX] && hi === R[Reg.EDX]) {
          this.mem.checkWritable(a + 7);
          this.mem.write32(a, R[Reg.EBX]!);
          this.mem.write32(a + 4, R[Reg.ECX]!);
          this.setFlagBits(Fl.ZF, Fl.ZF);
        } else {
          this.mem.checkWritable(a + 7);
          this.mem.write32(a, lo);
          this.mem.write32(a + 4, hi);
          R[Reg.EAX] = lo;
          R[Reg.EDX] = hi;
          this.setFlagBits(Fl.ZF, 0);
        }
        return;
      }
      default:
        this.fault(VEC_UD);
    }
  }

  private moffs(i: number): number {
    const c = this.c;
    let a = c.imm[i]!;
    const seg = (c.pfx[i]! >> PFX_SEG_SHIFT) & 7;
    if (seg === 5) a += this.fsBase;
    else if (seg === 6) a += this.gsBase;
    return a | 0;
  }

  private loadSeg(sr: number, sel: number): void {
    sel &= 0xffff;
    if (sr === SEG_CS) this.fault(VEC_UD);
    let base = 0;
    if ((sel & ~3) === 0) {
      // A null selector is fine in ds/es/fs/gs; ss must be valid.
      if (sr === SEG_SS) this.fault(VEC_GP, 0);
    } else if (sel === USER_DS || sel === USER_CS) {
      base = 0;
      if (sr === SEG_SS && sel === USER_CS) this.fault(VEC_GP, sel & ~3);
    } else {
      const idx = sel >> 3;
      const t = this.tls[idx - GDT_ENTRY_TLS_MIN];
      if ((sel & 4) !== 0 || (sel & 3) !== 3 || !t || !t.used) this.fault(VEC_GP, sel & ~3);
      base = t.base;
    }
    this.sreg[sr] = sel;
    if (sr === SEG_FS) this.fsBase = base | 0;
    else if (sr === SEG_GS) this.gsBase = base | 0;
  }

  /** Re-derives fs/gs bases after set_thread_area changed a TLS slot already loaded. */
  reloadTlsBases(): void {
    for (const sr of [SEG_FS, SEG_GS]) {
      const sel = this.sreg[sr]!;
      const t = this.tls[(sel >> 3) - GDT_ENTRY_TLS_MIN];
      if (t && t.used && sel > 3) {
        if (sr === SEG_FS) this.fsBase = t.base | 0;
        else this.gsBase = t.base | 0;
      }
    }
  }

  private farTransfer(_i: number, _op: number): void {
    // Far transfers and iret need descriptor-table work a flat user process never does legitimately;
    // Linux would deliver SIGSEGV for an invalid target selector, which is what every such use here is.
    this.fault(VEC_GP);
  }

  private enter(i: number): void {
    const c = this.c;
    const R = this.regs;
    const sz = this.osz(i);
    const size = c.imm[i]! & 0xffff;
    const level = c.imm2[i]! & 31;
    const step = sz === 1 ? 2 : 4;
    const sp0 = R[Reg.ESP]!;
    this.mem.checkWritable((sp0 - step * (level + 1)) | 0);
    this.push(sz, R[Reg.EBP]!);
    const frame = R[Reg.ESP]!;
    if (level > 0) {
      let bp = R[Reg.EBP]!;
      for (let l = 1; l < level; l++) {
        bp = (bp - step) | 0;
        this.push(sz, this.readM(sz, bp));
      }
      this.push(sz, frame);
    }
    this.setReg(sz, Reg.EBP, frame);
    R[Reg.ESP] = (R[Reg.ESP]! - size) | 0;
  }

  private imul2(i: number, reg: number, b: number): void {
    const sz = this.osz(i);
    const a = this.readE(i, sz);
    if (sz === 2) {
      const lo = Math.imul(a, b);
      // The double product is exact below 2^53 and certainly not equal to lo above it.
      const of = (a | 0) * (b | 0) !== lo ? 1 : 0;
      this.regs[reg] = lo;
      this.setResFlags(lo, 31, of, of);
    } else {
      const r = ((a << 16) >> 16) * ((b << 16) >> 16);
      const of = r !== (r << 16) >> 16 ? 1 : 0;
      this.setReg(1, reg, r);
      this.setResFlags(r, 15, of, of);
    }
  }

  private group3(i: number, sz: number): void {
    const c = this.c;
    const R = this.regs;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    switch (reg) {
      case 0:
      case 1:
        this.alu(4, this.readE(i, sz), c.imm[i]!, sz);
        return;
      case 2: {
        if (m >= 0xc0) this.setReg(sz, m & 7, ~this.getReg(sz, m & 7));
        else {
          const a = this.ea(i);
          this.writeM(sz, a, ~this.readM(sz, a));
        }
        return;
      }
      case 3: {
        if (m >= 0xc0) this.setReg(sz, m & 7, this.alu(5, 0, this.getReg(sz, m & 7), sz));
        else {
          const a = this.ea(i);
          this.writeM(sz, a, this.alu(5, 0, this.readM(sz, a), sz));
        }
        return;
      }
      case 4:
      case 5: {
        const v = this.readE(i, sz);
        const signed = reg === 5;
        if (sz === 0) {
          const a = signed ? (R[Reg.EAX]! << 24) >> 24 : R[Reg.EAX]! & 0xff;
          const b = signed ? (v << 24) >> 24 : v & 0xff;
          const r = a * b;
          this.setReg(1, Reg.EAX, r);
          const of = signed ? (r !== (r << 24) >> 24 ? 1 : 0) : r > 0xff ? 1 : 0;
          this.setResFlags(r, 7, of, of);
        } else if (sz === 1) {
          const a = signed ? (R[Reg.EAX]! << 16) >> 16 : R[Reg.EAX]! & 0xffff;
          const b = signed ? (v << 16) >> 16 : v & 0xffff;
          const r = a * b;
          this.setReg(1, Reg.EAX, r);
          this.setReg(1, Reg.EDX, r >> 16);
          const of = signed ? (r !== (r << 16) >> 16 ? 1 : 0) : r >>> 16 !== 0 ? 1 : 0;
          this.setResFlags(r, 15, of, of);
        } else {
          let lo: number;
          let hi: number;
          if (signed) {
            const sa = R[Reg.EAX]! | 0;
            const sb = v | 0;
            [lo, hi] = mulU32(sa >>> 0, sb >>> 0);
            // Signed high word = unsigned high word minus the sign corrections.
            if (sa < 0) hi = (hi - sb) | 0;
            if (sb < 0) hi = (hi - sa) | 0;
            const of = hi !== lo >> 31 ? 1 : 0;
            R[Reg.EAX] = lo;
            R[Reg.EDX] = hi;
            this.setResFlags(lo, 31, of, of);
          } else {
            [lo, hi] = mulU32(R[Reg.EAX]! >>> 0, v >>> 0);
            R[Reg.EAX] = lo;
            R[Reg.EDX] = hi;
            const of = hi !== 0 ? 1 : 0;
            this.setResFlags(lo, 31, of, of);
          }
        }
        return;
      }
      default: {
        const v = this.readE(i, sz);
        this.divide(sz, v, reg === 7);
      }
    }
  }

  private divide(sz: number, v: number, signed: boolean): void {
    const R = this.regs;
    if (sz === 0) {
      const d = signed ? (v << 24) >> 24 : v & 0xff;
      if (d === 0) this.fault(VEC_DE);
      const n = signed ? (R[Reg.EAX]! << 16) >> 16 : R[Reg.EAX]! & 0xffff;
      const q = Math.trunc(n / d);
      const r = n - q * d;
      if (signed ? q < -128 || q > 127 : q > 0xff) this.fault(VEC_DE);
      this.setReg(1, Reg.EAX, (q & 0xff) | ((r & 0xff) << 8));
    } else if (sz === 1) {
      const d = signed ? (v << 16) >> 16 : v & 0xffff;
      if (d === 0) this.fault(VEC_DE);
      const n = signed
        ? ((R[Reg.EDX]! & 0xffff) << 16) | (R[Reg.EAX]! & 0xffff)
        : (((R[Reg.EDX]! & 0xffff) << 16) | (R[Reg.EAX]! & 0xffff)) >>> 0;
      const q = Math.trunc(n / d);
      const r = n - q * d;
      if (signed ? q < -32768 || q > 32767 : q > 0xffff) this.fault(VEC_DE);
      this.setReg(1, Reg.EAX, q);
      this.setReg(1, Reg.EDX, r);
    } else {
      if (v === 0) this.fault(VEC_DE);
      const hi = R[Reg.EDX]!;
      const lo = R[Reg.EAX]!;
      if (!signed) {
        const d = v >>> 0;
        if (hi === 0) {
          const n = lo >>> 0;
          R[Reg.EAX] = Math.floor(n / d) | 0;
          R[Reg.EDX] = (n % d) | 0;
          return;
        }
        const n = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
        const q = n / BigInt(d);
        if (q > 0xffffffffn) this.fault(VEC_DE);
        R[Reg.EAX] = Number(q) | 0;
        R[Reg.EDX] = Number(n % BigInt(d)) | 0;
      } else {
        if (hi === lo >> 31) {
          const n = lo;
          if (n === -0x80000000 && v === -1) this.fault(VEC_DE);
          R[Reg.EAX] = Math.trunc(n / v) | 0;
          R[Reg.EDX] = (n % v) | 0;
          return;
        }
        const n = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
        const d = BigInt(v | 0);
        const q = n / d;
        if (q > 0x7fffffffn || q < -0x80000000n) this.fault(VEC_DE);
        R[Reg.EAX] = Number(q) | 0;
        R[Reg.EDX] = Number(n % d) | 0;
      }
    }
  }

  private group45(i: number, op: number, reg: number): void {
    const c = this.c;
    const m = c.modrm[i]!;
    if (op === 0xfe || reg < 2) {
      const sz = op === 0xfe ? 0 : this.osz(i);
      if (m >= 0xc0) this.setReg(sz, m & 7, this.incdec(this.getReg(sz, m & 7), reg, sz));
      else {
        const a = this.ea(i);
        this.writeM(sz, a, this.incdec(this.readM(sz, a), reg, sz));
      }
      return;
    }
    const sz = this.osz(i);
    switch (reg) {
      case 2: {
        const t = this.readE(i, sz);
        this.push(sz, this.eip);
        this.eip = sz === 1 ? t & 0xffff : t >>> 0;
        return;
      }
      case 4: {
        const t = this.readE(i, sz);
        this.eip = sz === 1 ? t & 0xffff : t >>> 0;
        return;
      }
      case 6:
        if (m >= 0xc0) this.push(sz, this.getReg(sz, m & 7));
        else this.push(sz, this.readM(sz, this.ea(i)));
        return;
      default:
        this.fault(VEC_GP);
    }
  }

  private shift(k: number, v: number, count: number, sz: number): number {
    const bits = sz === 2 ? 32 : sz === 1 ? 16 : 8;
    const msb = bits - 1;
    const mask = sz === 2 ? -1 : sz === 1 ? 0xffff : 0xff;
    v &= mask;
    if (count === 0) return v;
    let r: number;
    let cf: number;
    let of: number;
    switch (k) {
      case 0: {
        // rol
        const n = count % bits;
        r = n === 0 ? v : ((v << n) | (v >>> (bits - n))) & mask;
        cf = r & 1;
        of = ((r >>> msb) & 1) ^ cf;
        this.setFlagBits(Fl.CF | Fl.OF, cf | (of << 11));
        return r;
      }
      case 1: {
        const n = count % bits;
        r = n === 0 ? v : ((v >>> n) | (v << (bits - n))) & mask;
        cf = (r >>> msb) & 1;
        of = cf ^ ((r >>> (msb - 1)) & 1);
        this.setFlagBits(Fl.CF | Fl.OF, cf | (of << 11));
        return r;
      }
      case 2:
      case 3: {
        // rcl/rcr rotate the (bits+1)-bit quantity CF:v; rcr by n is rcl by bits+1-n.
        const n = count % (bits + 1);
        const cfIn = this.getCF();
        cf = cfIn;
        r = v;
        for (let j = k === 2 ? n : (bits + 1 - n) % (bits + 1); j > 0; j--) {
          const out = (r >>> msb) & 1;
          r = ((r << 1) | cf) & mask;
          cf = out;
        }
        // OF: rcl's from the result and the new CF, rcr's from the operand and the old CF.
        of = k === 2 ? ((r >>> msb) & 1) ^ cf : ((v >>> msb) & 1) ^ cfIn;
        this.setFlagBits(Fl.CF | Fl.OF, cf | (of << 11));
        return r;
      }
      case 4:
      case 6:
        // shl/sal
        if (count <= bits) cf = (v >>> (bits - count)) & 1;
        else cf = 0;
        r = count < 32 ? (v << count) & mask : 0;
        of = ((r >>> msb) & 1) ^ cf;
        this.setResFlags(r, msb, cf, of);
        this.flags &= ~Fl.AF;
        return r;
      case 5:
        cf = count <= bits ? (v >>> (count - 1)) & 1 : 0;
        r = count < 32 ? v >>> count : 0;
        of = count === 1 ? (v >>> msb) & 1 : 0;
        this.setResFlags(r, msb, cf, of);
        this.flags &= ~Fl.AF;
        return r;
      default: {
        // sar
        const s = sz === 2 ? v : sz === 1 ? (v << 16) >> 16 : (v << 24) >> 24;
        const n = count > msb ? msb : count;
        cf = (s >> (count > msb ? msb : count - 1)) & 1;
        r = (s >> n) & mask;
        this.setResFlags(r, msb, cf, 0);
        this.flags &= ~Fl.AF;
        return r;
      }
    }
  }

  private shiftDouble(i: number, left: boolean, countIn: number): void {
    const c = this.c;
    const sz = this.osz(i);
    const bits = sz === 2 ? 32 : 16;
    const msb = bits - 1;
    const mask = sz === 2 ? -1 : 0xffff;
    const count = countIn & 31;
    if (count === 0) return;
    const m = c.modrm[i]!;
    const a = m >= 0xc0 ? 0 : this.ea(i);
    const dst = (m >= 0xc0 ? this.getReg(sz, m & 7) : this.readM(sz, a)) & mask;
    const src = this.getReg(sz, (m >> 3) & 7) & mask;
    let r: number;
    let cf: number;
    if (sz === 2) {
      if (left) {
        r = (dst << count) | (src >>> (32 - count));
        cf = (dst >>> (32 - count)) & 1;
      } else {
        r = (dst >>> count) | (src << (32 - count));
        cf = (dst >>> (count - 1)) & 1;
      }
    } else {
      // 16-bit with counts above 16 behaves as a 48-bit shift on Intel hardware.
      const wide = left ? BigInt(dst) * 0x100000000n + BigInt(src) * 0x10000n + BigInt(dst) : 0n;
      if (left) {
        const sh = wide << BigInt(count);
        r = Number((sh >> 32n) & 0xffffn);
        cf = Number((sh >> 48n) & 1n);
      } else {
        const w = BigInt(dst) + BigInt(src) * 0x10000n + BigInt(dst) * 0x100000000n;
        r = Number((w >> BigInt(count)) & 0xffffn);
        cf = Number((w >> BigInt(count - 1)) & 1n);
      }
    }
    r &= mask;
    const of = ((r ^ dst) >>> msb) & 1;
    if (m >= 0xc0) this.setReg(sz, m & 7, r);
    else this.writeM(sz, a, r);
    this.setResFlags(r, msb, cf, of);
  }

  private bitOp(i: number, kind: number, bitIn: number, regForm: boolean): void {
    const c = this.c;
    const sz = this.osz(i);
    const bits = sz === 2 ? 32 : 16;
    const m = c.modrm[i]!;
    let bit = bitIn;
    if (m >= 0xc0) {
      bit &= bits - 1;
      const v = this.getReg(sz, m & 7);
      const cf = (v >>> bit) & 1;
      this.setFlagBits(Fl.CF, cf);
      if (kind === 1) this.setReg(sz, m & 7, v | (1 << bit));
      else if (kind === 2) this.setReg(sz, m & 7, v & ~(1 << bit));
      else if (kind === 3) this.setReg(sz, m & 7, v ^ (1 << bit));
      return;
    }
    let a = this.ea(i);
    if (regForm) {
      // The register bit offset is signed and may address memory outside the operand.
      const off = sz === 2 ? bit | 0 : (bit << 16) >> 16;
      a = (a + (off >> (sz === 2 ? 5 : 4)) * (bits / 8)) | 0;
      bit = off & (bits - 1);
    } else bit &= bits - 1;
    const v = this.readM(sz, a);
    const cf = (v >>> bit) & 1;
    this.setFlagBits(Fl.CF, cf);
    if (kind === 1) this.writeM(sz, a, v | (1 << bit));
    else if (kind === 2) this.writeM(sz, a, v & ~(1 << bit));
    else if (kind === 3) this.writeM(sz, a, v ^ (1 << bit));
  }

  private stringOp(i: number, op: number): void {
    const c = this.c;
    const R = this.regs;
    const pfx = c.pfx[i]!;
    const sz = op & 1 ? (pfx & PFX_O16 ? 1 : 2) : 0;
    const step = (this.flags & Fl.DF ? -1 : 1) * (sz === 2 ? 4 : sz === 1 ? 2 : 1);
    const seg = (pfx >> PFX_SEG_SHIFT) & 7;
    const srcBase = seg === 5 ? this.fsBase : seg === 6 ? this.gsBase : 0;
    const rep = (pfx & (PFX_REP | PFX_REPNE)) !== 0;
    const a16 = (pfx & PFX_A16) !== 0;
    if (a16) this.fault(VEC_GP); // 16-bit addressing of string operands: not supported by this machine
    let n = rep ? R[Reg.ECX]! >>> 0 : 1;
    if (n === 0) return;
    // In single-step mode each iteration is one step, as with the trap flag on real hardware.
    const limit = this.stepping || this.flags & Fl.TF ? 1 : n;
    let iters = 0;
    const kind = op & 0xfe;
    if (rep && limit > 1 && step > 0 && (kind === 0xa4 || kind === 0xaa)) {
      // Bulk forward movs/stos, one page-bounded chunk at a time; the element loop below finishes
      // whatever the fast path declines (overlap, faults, partial elements).
      n = this.bulkString(kind, sz, n, srcBase);
      if (n === 0) return;
    }
    for (;;) {
      switch (kind) {
        case 0xa4: // movs
          this.writeM(sz, R[Reg.EDI]!, this.readM(sz, (R[Reg.ESI]! + srcBase) | 0));
          R[Reg.ESI] = R[Reg.ESI]! + step;
          R[Reg.EDI] = R[Reg.EDI]! + step;
          break;
        case 0xaa: // stos
          this.writeM(sz, R[Reg.EDI]!, this.getReg(sz, Reg.EAX));
          R[Reg.EDI] = R[Reg.EDI]! + step;
          break;
        case 0xac: // lods
          this.setReg(sz, Reg.EAX, this.readM(sz, (R[Reg.ESI]! + srcBase) | 0));
          R[Reg.ESI] = R[Reg.ESI]! + step;
          break;
        case 0xa6: // cmps
          this.alu(7, this.readM(sz, (R[Reg.ESI]! + srcBase) | 0), this.readM(sz, R[Reg.EDI]!), sz);
          R[Reg.ESI] = R[Reg.ESI]! + step;
          R[Reg.EDI] = R[Reg.EDI]! + step;
          break;
        default: // scas
          this.alu(7, this.getReg(sz, Reg.EAX), this.readM(sz, R[Reg.EDI]!), sz);
          R[Reg.EDI] = R[Reg.EDI]! + step;
          break;
      }
      iters++;
      if (!rep) return;
      n = (n - 1) >>> 0;
      R[Reg.ECX] = n;
      if (n === 0) return;
      if (kind === 0xa6 || kind === 0xae) {
        const z = this.getZF();
        if (pfx & PFX_REP ? z === 0 : z === 1) return;
      }
      if (iters >= limit) {
        // Not finished: re-execute this instruction (EIP back at its start).
        this.eip = c.eip[i]! >>> 0;
        return;
      }
    }
  }

  /** rep movs/stos with DF=0 in page-sized chunks. Returns the iterations left for the slow path. */
  private bulkString(kind: number, sz: number, n: number, srcBase: number): number {
    const R = this.regs;
    const mem = this.mem;
    const w = sz === 2 ? 4 : sz === 1 ? 2 : 1;
    while (n > 0) {
      const dst = R[Reg.EDI]! >>> 0;
      const dOff = dst & 0xfff;
      let chunk = Math.min(n, ((4096 - dOff) / w) | 0);
      if (chunk === 0) return n;
      const dp = dst >>> 12;
      const dperm = mem.perm[dp]!;
      if ((dperm & 2) === 0) return n; // let the slow path take the fault precisely
      if (dperm & 8) mem.onCodeWrite(dp);
      const df = mem.writablePageBytes(dp);
      if (kind === 0xaa) {
        const v = R[Reg.EAX]!;
        if (w === 1) df.fill(v & 0xff, dOff, dOff + chunk);
        else for (let k = 0; k < chunk; k++) this.writeM(sz, (dst + k * w) | 0, v);
      } else {
        const src = (R[Reg.ESI]! + srcBase) >>> 0;
        const sOff = src & 0xfff;
        chunk = Math.min(chunk, ((4096 - sOff) / w) | 0);
        if (chunk === 0) return n;
        const bytes = chunk * w;
        // A forward copy into the bytes just ahead of the source replicates a pattern: not a memmove.
        if (dst > src && dst < src + bytes) return n;
        const sp = src >>> 12;
        if ((mem.perm[sp]! & 1) === 0) return n;
        // After the destination's copy-on-write: the same page reads its new (identical) frame.
        const sf = mem.pageBytes(sp);
        df.set(sf.subarray(sOff, sOff + bytes), dOff);
        R[Reg.ESI] = R[Reg.ESI]! + bytes;
      }
      R[Reg.EDI] = R[Reg.EDI]! + chunk * w;
      n -= chunk;
      R[Reg.ECX] = n;
    }
    return 0;
  }

  private bcd(i: number, op: number): void {
    const R = this.regs;
    const al = R[Reg.EAX]! & 0xff;
    switch (op) {
      case 0x27:
      case 0x2f: {
        const cf0 = this.getCF();
        const af0 = this.getAF();
        let a = al;
        let cf = 0;
        let af = 0;
        if ((al & 0xf) > 9 || af0) {
          a = op === 0x27 ? a + 6 : a - 6;
          af = 1;
          cf = cf0 | (op === 0x27 ? (a > 0xff ? 1 : 0) : a < 0 ? 1 : 0);
        }
        if (al > 0x99 || cf0) {
          a = op === 0x27 ? a + 0x60 : a - 0x60;
          cf = 1;
        }
        a &= 0xff;
        this.setReg(0, Reg.EAX, a);
        this.setResFlags(a, 7, cf, 0);
        this.flags = (this.flags & ~Fl.AF) | (af ? Fl.AF : 0);
        return;
      }
      case 0x37:
      case 0x3f: {
        let ax = R[Reg.EAX]! & 0xffff;
        let f = 0;
        if ((al & 0xf) > 9 || this.getAF()) {
          ax = op === 0x37 ? ax + 0x106 : ax - 6 - 0x100;
          f = 1;
        }
        ax = (ax & 0xff00) | (ax & 0x0f);
        this.setReg(1, Reg.EAX, ax);
        this.setFlagBits(Fl.CF | Fl.AF, f ? Fl.CF | Fl.AF : 0);
        return;
      }
      case 0xd4: {
        const base = this.c.imm[i]! & 0xff;
        if (base === 0) this.fault(VEC_DE);
        const r = al % base;
        this.setReg(1, Reg.EAX, (Math.floor(al / base) << 8) | r);
        this.setResFlags(r, 7, 0, 0);
        return;
      }
      case 0xd5: {
        const base = this.c.imm[i]! & 0xff;
        const r = (al + ((R[Reg.EAX]! >> 8) & 0xff) * base) & 0xff;
        this.setReg(1, Reg.EAX, r);
        this.setResFlags(r, 7, 0, 0);
        return;
      }
      default:
        this.setReg(0, Reg.EAX, this.getCF() ? 0xff : 0);
    }
  }

  /** A one-line-per-register dump for crash reports. */
  dump(): string {
    const R = this.regs;
    const h = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
    return (
      `eax=${h(R[0]!)} ebx=${h(R[3]!)} ecx=${h(R[1]!)} edx=${h(R[2]!)} esi=${h(R[6]!)} edi=${h(R[7]!)}\n` +
      `ebp=${h(R[5]!)} esp=${h(R[4]!)} eip=${h(this.eip)} eflags=${h(this.getFlags())} ` +
      `gs=${this.sreg[SEG_GS]!.toString(16)} fs=${this.sreg[SEG_FS]!.toString(16)}`
    );
  }
}

export { PAGE_FAULT };

/**
 * Instructions this process interprets before the feedback primer runs (cpu-primer.ts); 0 once it
 * has run. Not at start-up: a guest this short never makes V8 optimise the loop, and the primer
 * would (with the 80 ms compile that costs).
 */
let primeLeft = PRIME_AFTER;

/** What the last primer run did (test/cpu-primer checks it ran to its end). */
export const primerResult = { instructions: 0, completed: 0, exceptions: 0 };

/**
 * Runs the feedback primer (cpu-primer.ts) once, on a scratch address space, CodeCache and Cpu of
 * its own, with the block compiler off. Its host stops the CPU at the program's final int $0x80 and
 * counts any exception (there should be none: test/cpu-primer). Called by the run loop between two
 * blocks; it touches nothing of the CPU that was running.
 */
export function primeInterpreter(): void {
  primeLeft = 0;
  const mem = new Memory();
  const code = primerBytes();
  const codeLen = (code.length + 0xfff) & ~0xfff;
  mem.map(PRIMER_CODE, codeLen, PROT_READ | PROT_WRITE);
  for (let o = 0; o < code.length; o += 0x1000)
    mem.writablePageBytes((PRIMER_CODE + o) >>> PAGE_SHIFT).set(code.subarray(o, o + 0x1000));
  mem.protect(PRIMER_CODE, codeLen, PROT_READ | PROT_EXEC);
  mem.map(PRIMER_DATA, PRIMER_DATA_PAGES << PAGE_SHIFT, PROT_READ | PROT_WRITE);
  mem.watch(PRIMER_WATCHED);
  mem.map(PRIMER_STACK_TOP - 0x1000, 0x1000, PROT_READ | PROT_WRITE);
  const cache = new CodeCache(mem);
  cache.setJit(false);
  primerResult.completed = 0;
  primerResult.exceptions = 0;
  const host: CpuHost = {
    syscall(cpu) {
      primerResult.completed++;
      cpu.attention = Attn.STOP;
    },
    exception(cpu) {
      primerResult.exceptions++;
      cpu.attention = Attn.STOP;
    },
    rdtsc: () => 0,
    onHook: () => {},
  };
  const cpu = new Cpu(mem, cache, host);
  cpu.regs[Reg.ESP] = PRIMER_STACK_TOP;
  cpu.eip = PRIMER_CODE;
  primerResult.instructions = cpu.run(1 << 20);
  mem.release();
}
