// WebAssembly back end of the block compiler: the same units as compiler.ts (member blocks chosen by
// JitTable, one dispatch loop), emitted as a wasm module that V8 compiles with Liftoff in well under a
// millisecond (a JS unit costs ~10 ms of TurboFan). Registers, the lazy-flag fields, EIP and the
// fs/gs bases live at fixed addresses of the frame store's WebAssembly.Memory (wasm-store.ts), copied
// from and back to the Cpu at unit entry and exit; guest memory is reached through the store's TLB.
// Guarantees (the JS units' contract, checked by test/wasm-property.test.ts against the interpreter):
// - Exactly the interpreter's state after the same instructions: registers, memory, EIP, flags,
//   `retired`. A block is entered only when all of it fits the budget.
// - Host code runs only inside imported calls, and every one first copies the whole state to the Cpu
//   and sets cur/eip/blockStart/retired as the interpreter would have them, then copies the state
//   back: a TLB miss (Memory's own accessor, which faults, copies on write, notifies the code cache
//   or reports a watched read exactly as for the interpreter, then fills the TLB where the fast path
//   applies) and an instruction this back end does not translate (the interpreter's exec). So a fault
//   is raised from inside host code with the state exact, and wasm itself never traps.
// - After host code the TLB is dropped if the page tables moved, and the unit leaves after the
//   instruction when host code asked for the CPU (attention), as the JS units do.

import { setFlagsFromString } from 'node:v8';
import { EA_A16, PFX_A16, PFX_REP, PFX_REPNE, PFX_SEG_SHIFT } from '../decoder.js';
import type { CodeCache } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import type { Memory } from '../memory.js';
import { LF_ADD, LF_DEC, LF_INC, LF_LOGIC, LF_RES, LF_SUB } from '../lazyflags.js';
import { Body, buildModule, I32, I64, OP, type Func, type ImportedFunc } from './wasm-asm.js';
import {
  DISPATCH,
  DISPATCH_ENTRIES,
  DISPATCH_SLOT_BITS,
  Slot,
  TLB_ENTRIES,
  TLB_READ,
  TLB_WRITE,
  wasmStoreOf,
  type WasmStore,
} from './wasm-store.js';
import { directX87, nativeOp, staticSuccessors, type CompiledBlock } from './compiler.js';

/** The Cpu fields a unit exchanges (private in Cpu; the JS units reach them by name too). */
interface CpuState {
  regs: Int32Array;
  fpu: { exec(op: number, m: number, a: number, cpu: Cpu): void };
  stepping: boolean;
  eip: number;
  flags: number;
  lfOp: number;
  lfA: number;
  lfB: number;
  lfR: number;
  lfMsb: number;
  fsBase: number;
  gsBase: number;
  attention: number;
  cur: number;
  blockStart: number;
  retired: number;
  exec(i: number): void;
  fault(vector: number): never;
  raised(e: unknown, b: number, i: number): number;
}

/** #DE, cpu.ts's VEC_DE (a value import from cpu.ts would close an import cycle). */
const VEC_DE = 0;

/** EFLAGS' trap flag (a const enum: a literal in the hand-over path). */
const enum Eflags {
  TF = 0x100,
}

// Function indices: the imports, then the unit, then the flag helpers.
const F_RD = 0;
const F_WR = 1;
const F_FB = 2;
const F_CF = 3;
const F_OF = 4;
const F_ZF = 5;
const F_SF = 6;
const F_PF = 7;
/** The flag helpers, defined once in the dispatch module and imported by every unit. */
const HELPERS = ['cf', 'of', 'zf', 'sf', 'pf'];
/** An x87 instruction straight to the FPU (after the helpers). */
const F_FX = 8;
/** Materializes the lazy flags into fl (the interpreter's materialize), defined in the dispatch module. */
const F_MAT = 9;
/** Raises #DE with the state exact (div/idiv by zero or a quotient that does not fit). */
const F_DE = 10;
/** An x87 instruction that can touch nothing but the FPU and TLB-checked memory (see x87). */
const F_FXL = 11;

const T_RD = { params: [I32, I32, I32, I32, I32, I32], results: [I32] };
const T_WR = { params: [I32, I32, I32, I32, I32, I32, I32], results: [] };
const T_FB = { params: [I32, I32, I32, I32], results: [] };
const T_FX = { params: [I32, I32, I32, I32, I32, I32, I32], results: [] };
const T_FLAG = { params: [], results: [I32] };
const T_VOID = { params: [], results: [] };
const IMPORTS: ImportedFunc[] = [
  { name: 'rd', type: T_RD },
  { name: 'wr', type: T_WR },
  { name: 'fb', type: T_FB },
  ...HELPERS.map((name) => ({ name, type: T_FLAG })),
  { name: 'fx', type: T_FX },
  { name: 'mat', type: T_VOID },
  { name: 'de', type: T_FB },
  { name: 'fxl', type: T_FX },
];

// Locals of the unit function (0 is the parameter `left`).
const L_LEFT = 0;
const L_N = 1; // instructions retired by this call before the current block
const L_E = 2; // EIP of the next block
const L_A = 3; // effective address
const L_V = 4; // operand
const L_T = 5; // temporary
const L_R = 6; // result
const L_X = 7; // TLB: entry offset
const L_W = 8; // value to write
const L_SP = 9; // host code ran since the last attention check
const L_Y = 10; // second operand
const L_I = 11; // member index of the next block (the br_table's); the last parameter
const L_Q = 12; // i64: dividend and quotient of div/idiv
/**
 * The unit's i32 locals are parameters (the callers pass zeros or nothing, which JavaScript turns into
 * zeros): Liftoff zeroes more than three declared locals with `rep stos` in every call's prologue,
 * and a unit is called every 2.5 blocks. The one i64 stays a local (JavaScript cannot omit an i64
 * argument), and Liftoff zeroes a single local with a plain store.
 */
const UNIT_PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32];
const UNIT_LOCALS = [I64];

/** What the emitter knows statically about the lazy-flag state (as compiler.ts's K_*). */
const K_UNKNOWN = 0;
const K_SUB = 2; // exact subtraction: fr = fa - fb
const K_LOGIC = 3;
const K_OTHER = 4; // fo is known not to be LF_NONE: ZF and SF come from fr

const ld = (b: Body, w: number) => b.i32(0).mem(OP.i32Load, w * 4);

/** The five flag helpers (CF, OF, ZF, SF, PF from the lazy state in memory), the Cpu's getters. */
function flagHelpers(): Func[] {
  const t = T_FLAG;
  const fo = (b: Body) => ld(b, Slot.FO);
  const cf = new Body();
  fo(cf).set(0).get(0).i32(LF_ADD).op(OP.i32Eq);
  cf.open(OP.if, true);
  // ((fa & fb) | ((fa | fb) & ~fr)) >>> fm & 1
  ld(cf, Slot.FA);
  ld(cf, Slot.FB).op(OP.i32And);
  ld(cf, Slot.FA);
  ld(cf, Slot.FB).op(OP.i32Or);
  ld(cf, Slot.FR).i32(-1).op(OP.i32Xor, OP.i32And, OP.i32Or);
  ld(cf, Slot.FM).op(OP.i32ShrU).i32(1).op(OP.i32And);
  cf.else();
  cf.get(0).i32(LF_SUB).op(OP.i32Eq);
  cf.open(OP.if, true);
  // ((~fa & fb) | ((~fa | fb) & fr)) >>> fm & 1
  ld(cf, Slot.FA).i32(-1).op(OP.i32Xor);
  ld(cf, Slot.FB).op(OP.i32And);
  ld(cf, Slot.FA).i32(-1).op(OP.i32Xor);
  ld(cf, Slot.FB).op(OP.i32Or);
  ld(cf, Slot.FR).op(OP.i32And, OP.i32Or);
  ld(cf, Slot.FM).op(OP.i32ShrU).i32(1).op(OP.i32And);
  cf.else();
  cf.get(0).i32(LF_LOGIC).op(OP.i32Eq);
  cf.open(OP.if, true);
  cf.i32(0).else();
  ld(cf, Slot.FL).i32(1).op(OP.i32And);
  cf.end().end().end();

  const of = new Body();
  fo(of).set(0).get(0).i32(LF_ADD).op(OP.i32Eq).get(0).i32(LF_INC).op(OP.i32Eq, OP.i32Or);
  of.open(OP.if, true);
  // ((fa ^ fr) & (fb ^ fr)) >>> fm & 1
  ld(of, Slot.FA);
  ld(of, Slot.FR).op(OP.i32Xor);
  ld(of, Slot.FB);
  ld(of, Slot.FR).op(OP.i32Xor, OP.i32And);
  ld(of, Slot.FM).op(OP.i32ShrU).i32(1).op(OP.i32And);
  of.else();
  of.get(0).i32(LF_SUB).op(OP.i32Eq).get(0).i32(LF_DEC).op(OP.i32Eq, OP.i32Or);
  of.open(OP.if, true);
  // ((fa ^ fb) & (fa ^ fr)) >>> fm & 1
  ld(of, Slot.FA);
  ld(of, Slot.FB).op(OP.i32Xor);
  ld(of, Slot.FA);
  ld(of, Slot.FR).op(OP.i32Xor, OP.i32And);
  ld(of, Slot.FM).op(OP.i32ShrU).i32(1).op(OP.i32And);
  of.else();
  of.get(0).i32(LF_LOGIC).op(OP.i32Eq);
  of.open(OP.if, true);
  of.i32(0).else();
  ld(of, Slot.FL).i32(11).op(OP.i32ShrU).i32(1).op(OP.i32And);
  of.end().end().end();

  // ZF: fo === LF_NONE ? fl >> 6 & 1 : (fr << (31 - fm)) === 0
  const zf = new Body();
  fo(zf).op(OP.i32Eqz);
  zf.open(OP.if, true);
  ld(zf, Slot.FL).i32(6).op(OP.i32ShrU).i32(1).op(OP.i32And);
  zf.else();
  ld(zf, Slot.FR).i32(31);
  ld(zf, Slot.FM).op(OP.i32Sub, OP.i32Shl, OP.i32Eqz);
  zf.end();

  // SF: fo === LF_NONE ? fl >> 7 & 1 : fr >>> fm & 1
  const sf = new Body();
  fo(sf).op(OP.i32Eqz);
  sf.open(OP.if, true);
  ld(sf, Slot.FL).i32(7).op(OP.i32ShrU).i32(1).op(OP.i32And);
  sf.else();
  ld(sf, Slot.FR);
  ld(sf, Slot.FM).op(OP.i32ShrU).i32(1).op(OP.i32And);
  sf.end();

  // PF: fo === LF_NONE ? fl >> 2 & 1 : even parity of fr's low byte
  const pf = new Body();
  fo(pf).op(OP.i32Eqz);
  pf.open(OP.if, true);
  ld(pf, Slot.FL).i32(2).op(OP.i32ShrU).i32(1).op(OP.i32And);
  pf.else();
  ld(pf, Slot.FR).i32(255).op(OP.i32And, OP.i32Popcnt).i32(1).op(OP.i32And).i32(1).op(OP.i32Xor);
  pf.end();
  return [cf, of, zf, sf, pf].map((body) => ({
    type: t,
    locals: body === zf || body === sf || body === pf ? [] : [I32],
    body,
  }));
}

/**
 * `mat`: the interpreter's materialize (all six arithmetic flags into fl, the lazy op to LF_NONE), for
 * the forms that set some flags concretely and keep the others (rol/ror, bsf/bsr). Calls the flag
 * helpers by their indices in the dispatch module (cf 1, of 2, zf 3, sf 4, pf 5).
 */
function matHelper(): Func {
  const b = new Body();
  ld(b, Slot.FO).tee(0).op(OP.i32Eqz);
  b.open(OP.if);
  b.op(OP.return);
  b.end();
  b.i32(0);
  ld(b, Slot.FL).i32(~0x8d5).op(OP.i32And);
  b.call(1).op(OP.i32Or);
  b.call(5).i32(2).op(OP.i32Shl, OP.i32Or);
  // AF: from the operands of add/sub/inc/dec, 0 after logic, kept in fl after shifts and multiplies.
  b.get(0).i32(LF_LOGIC).op(OP.i32Eq);
  b.open(OP.if, true);
  b.i32(0).else();
  b.get(0).i32(LF_RES).op(OP.i32Eq);
  b.open(OP.if, true);
  ld(b, Slot.FL).i32(16).op(OP.i32And);
  b.else();
  ld(b, Slot.FA);
  ld(b, Slot.FB).op(OP.i32Xor);
  ld(b, Slot.FR).op(OP.i32Xor).i32(16).op(OP.i32And);
  b.end().end();
  b.op(OP.i32Or);
  b.call(3).i32(6).op(OP.i32Shl, OP.i32Or);
  b.call(4).i32(7).op(OP.i32Shl, OP.i32Or);
  b.call(2).i32(11).op(OP.i32Shl, OP.i32Or);
  b.mem(OP.i32Store, Slot.FL * 4);
  b.i32(0)
    .i32(0)
    .mem(OP.i32Store, Slot.FO * 4);
  return { type: T_VOID, locals: [I32], body: b };
}

/**
 * Forms only this back end translates (#13: the most frequent hand-overs on Lua and SQLite): rol/ror
 * and the 8- and 16-bit shifts by an immediate or 1, shld/shrd, div/idiv r/m32, single and
 * rep movs/stos, jecxz, bswap, bsf/bsr, xchg, not/neg r/m16 and the hint nops (0f 18-1f: endbr32).
 */
function extraForm(c: CodeCache, i: number): boolean {
  const op = c.op[i]!;
  const m = c.modrm[i]!;
  const reg = (m >> 3) & 7;
  if (op >= 0x118 && op <= 0x11f) return true; // no operand is accessed, whatever the prefixes
  if ((c.pfx[i]! & PFX_A16) !== 0 || (m < 0xc0 && (c.ea[i]! & EA_A16) !== 0)) return false;
  switch (op) {
    case 0xc1:
    case 0xd1:
      return reg <= 1;
    case 0x4c1:
    case 0x4d1:
    case 0xc0:
    case 0xd0:
      return reg <= 1 || reg >= 4;
    case 0x4f7:
      return reg === 2 || reg === 3;
    case 0xf7:
      return reg >= 6;
    case 0x1a4:
    case 0x1ac:
    case 0x1a5:
    case 0x1ad:
    case 0xa4:
    case 0xa5:
    case 0x4a5:
    case 0xaa:
    case 0xab:
    case 0x4ab:
    case 0xe3:
    case 0x1bc:
    case 0x1bd:
    case 0x87:
      return true;
  }
  return (op >= 0x91 && op <= 0x97) || (op >= 0x1c8 && op <= 0x1cf);
}

/**
 * The forms this back end translates: the JS back end's, less not/neg r/m8, and extraForm's (all
 * others go to the interpreter through the `fb` import).
 */
function translated(c: CodeCache, i: number): boolean {
  if (extraForm(c, i)) return true;
  if (c.op[i] === 0xf6 && ((c.modrm[i]! >> 3) & 7) >= 2) return false;
  return nativeOp(c, i);
}

/** Whether entry i runs as WebAssembly rather than through the interpreter (tests name the forms). */
export function wasmTranslated(c: CodeCache, i: number): boolean {
  return translated(c, i) || directX87(c, i);
}

/**
 * A unit's members in the order they are emitted: the head first, then chains in which each block is
 * followed by its fall-through or jump target when that is a member, so control passes between them
 * without the loop's head and br_table. A member's place in it is its br_table index.
 */
function unitLayout(c: CodeCache, members: readonly number[]): number[] {
  const byEip = new Map<number, number>(members.map((b) => [c.eip[b]! | 0, b]));
  const placed = new Set<number>();
  const order: number[] = [];
  let cur: number | undefined = members[0];
  while (order.length < members.length) {
    if (cur === undefined || placed.has(cur)) cur = members.find((m) => !placed.has(m))!;
    order.push(cur);
    placed.add(cur);
    const last = cur + c.blockLen[cur]! - 1;
    const s = staticSuccessors(c, cur);
    // [taken, fall-through] for a conditional jump; a call's second one is its return address.
    const succ = s.length === 2 && c.op[last] !== 0xe8 ? s[1] : s[0];
    cur = succ === undefined ? undefined : byEip.get(succ | 0);
  }
  return order;
}

/**
 * The memory an x87 form with a memory operand reaches (op d8..df, modrm's reg field): its size in
 * bytes, negative for a store; 0 for the forms that reach more (fldenv, fnstenv, frstor, fnsave) or
 * raise #UD, which take the full host call.
 */
function x87Access(op: number, reg: number): number {
  switch (op) {
    case 0xd8:
    case 0xda:
      return 4;
    case 0xdc:
      return 8;
    case 0xde:
      return 2;
    case 0xd9:
      return [4, 0, -4, -4, 0, 2, 0, -2][reg]!;
    case 0xdb:
      return [4, -4, -4, -4, 0, 10, 0, -10][reg]!;
    case 0xdd:
      return [8, -8, -8, -8, 0, 0, 0, -2][reg]!;
    default:
      return [2, -2, -2, -2, 10, 8, -10, -8][reg]!;
  }
}

/** Whether a register-form x87 instruction reads or writes CPU state: fnstsw ax, fcmovcc, fcomi & co. */
function x87TouchesCpu(op: number, m: number): boolean {
  const reg = (m >> 3) & 7;
  if (op === 0xda || op === 0xdb) return reg < 4 || (op === 0xdb && (reg === 5 || reg === 6));
  return op === 0xdf && (m === 0xe0 || reg === 5 || reg === 6);
}

/**
 * A function body that tells its writer whenever the code it emits may read or publish the lazy-flag
 * state: a call (host code copies the whole state to the Cpu; the flag helpers read it) or a load or
 * store of a flag word (FO..FL). The writer pauses it for its own lazy-flag stores.
 */
class FlagWatchBody extends Body {
  paused = false;

  constructor(private readonly observed: () => void) {
    super();
  }

  override call(fn: number): this {
    if (!this.paused) this.observed();
    return super.call(fn);
  }

  override mem(op: number, offset: number): this {
    if (!this.paused && offset >= Slot.FO * 4 && offset < (Slot.FL + 1) * 4) this.observed();
    return super.mem(op, offset);
  }
}

/**
 * Emits one unit's `run(left) -> retired` function.
 *
 * Lazy-flag stores nothing can read are left out: within a block, an ALU instruction's five stores
 * are dropped when a later instruction of the block stores all five again and no code between them
 * (nor the later instruction before its own stores) reads a flag word, calls anything (a slow-path
 * access, the FPU, the interpreter: host code that may fault or hand the state over), or leaves the
 * unit. A block's last flag write is always stored, as its successors may read it.
 */
class WasmWriter {
  readonly f = new FlagWatchBody(() => {
    this.pending = -1;
  });
  /** Bytes [pending, pendingEnd) of the block's last lazy-flag stores nothing could read since (-1: none). */
  private pending = -1;
  private pendingEnd = 0;
  /** Byte ranges of lazy-flag stores that a later instruction overwrote before anything could read them. */
  private readonly dead: number[] = [];
  /** How many structured instructions are open around the block's instructions. */
  private blockDepth = 0;
  private kind = K_UNKNOWN;
  private exact = true;
  private msb = 31;
  private b = 0;
  private j = 0;
  private n = 0;
  private top = 0;
  /** The instruction being emitted may call host code and return (a slow-path access, the FPU). */
  private hostCall = false;
  /** The EIPs a control transfer just emitted can set L_E to, when known here (null: any). */
  private targets: number[] | null = null;
  /** Member index by block EIP (| 0), for the br_table between members. */
  private index = new Map<number, number>();

  constructor(private readonly c: CodeCache) {}

  // ---- state words

  private ldReg(r: number): void {
    this.f.i32(0).mem(OP.i32Load, r * 4);
  }

  /** Stores the value `push` leaves on the stack into state word w. */
  private st(w: number, push: () => void): void {
    this.f.i32(0);
    push();
    this.f.mem(OP.i32Store, w * 4);
  }

  private stLocal(w: number, l: number): void {
    this.st(w, () => this.f.get(l));
  }

  private ldReg8(r: number): void {
    this.f.i32(0).mem(OP.i32Load8u, (r & 3) * 4 + (r >> 2));
  }

  private stReg8(r: number, l: number): void {
    this.f
      .i32(0)
      .get(l)
      .mem(OP.i32Store8, (r & 3) * 4 + (r >> 2));
  }

  // ---- exits

  /** Leaves the unit after `count` instructions of this block with EIP from `push`. */
  private exit(count: number, push: () => void): void {
    this.pending = -1;
    this.st(Slot.EIP, push);
    this.f.get(L_N);
    if (count !== 0) this.f.i32(count).op(OP.i32Add);
    this.f.op(OP.return);
  }

  /** If host code ran since the last check (L_SP) and asked for the CPU, leaves as `exit` does. */
  private attention(count: number, push: () => void): void {
    const f = this.f;
    f.get(L_SP);
    f.open(OP.if);
    f.i32(0).set(L_SP);
    ld(f, Slot.ATTN);
    f.open(OP.if);
    this.exit(count, push);
    f.end();
    f.end();
  }

  private where(): void {
    const i = this.b + this.j;
    this.f.i32(i).i32(this.c.next[i]!).i32(this.b).get(L_N);
  }

  // ---- memory

  /** Pushes the effective address of entry i (with the fs/gs base unless `noSeg`). */
  private ea(i: number, noSeg = false): void {
    const c = this.c;
    const info = c.ea[i]!;
    const base = info & 15;
    const x = (info >> 4) & 15;
    const sc = (info >> 8) & 3;
    let any = false;
    const add = () => {
      if (any) this.f.op(OP.i32Add);
      any = true;
    };
    if (base < 8) {
      this.ldReg(base);
      add();
    }
    if (x < 8) {
      this.ldReg(x);
      if (sc) this.f.i32(sc).op(OP.i32Shl);
      add();
    }
    const d = c.disp[i]!;
    if (d !== 0 || !any) {
      this.f.i32(d);
      add();
    }
    const s = info >> 12;
    if (!noSeg && (s === 5 || s === 6)) {
      ld(this.f, s === 5 ? Slot.FS : Slot.GS);
      add();
    }
  }

  /** Pushes the TLB hit test for `size` bytes at L_A (sets L_X to the entry's offset). */
  private tlbHit(tlb: number, size: number): void {
    const f = this.f;
    // The entry's offset, (a >>> 12 & (TLB_ENTRIES - 1)) * 8, in one shift and one mask.
    f.get(L_A)
      .i32(9)
      .op(OP.i32ShrU)
      .i32((TLB_ENTRIES - 1) << 3)
      .op(OP.i32And)
      .tee(L_X);
    f.mem(OP.i32Load, tlb);
    f.get(L_A);
    if (size > 1) f.i32(size - 1).op(OP.i32Add);
    f.i32(-4096).op(OP.i32And, OP.i32Eq);
  }

  /** Pushes L_A's offset in the WebAssembly memory after a hit in `tlb` (its entry at L_X). */
  private hostAddr(tlb: number): void {
    this.f
      .get(L_A)
      .get(L_X)
      .mem(OP.i32Load, tlb + 4)
      .op(OP.i32Add);
  }

  /** Pushes the `size`-byte value (zero-extended) at the guest address in L_A. */
  private read(size: number): void {
    const f = this.f;
    this.hostCall = true;
    this.tlbHit(TLB_READ, size);
    f.open(OP.if, true);
    this.hostAddr(TLB_READ);
    f.mem(size === 4 ? OP.i32Load : size === 2 ? OP.i32Load16u : OP.i32Load8u, 0);
    f.else();
    f.get(L_A).i32(size);
    this.where();
    f.call(F_RD).i32(1).set(L_SP);
    f.end();
  }

  /** Writes the low `size` bytes of L_W to the guest address in L_A. */
  private write(size: number): void {
    const f = this.f;
    this.hostCall = true;
    this.tlbHit(TLB_WRITE, size);
    f.open(OP.if);
    this.hostAddr(TLB_WRITE);
    f.get(L_W);
    f.mem(size === 4 ? OP.i32Store : size === 2 ? OP.i32Store16 : OP.i32Store8, 0);
    f.else();
    f.get(L_A).get(L_W).i32(size);
    this.where();
    f.call(F_WR).i32(1).set(L_SP);
    f.end();
  }

  /** L_V = the r/m operand of entry i (size 4 or 1); L_A holds its address when in memory. */
  private readE(i: number, size: number): void {
    const m = this.c.modrm[i]!;
    if (m >= 0xc0) {
      if (size === 1) this.ldReg8(m & 7);
      else this.ldReg(m & 7);
      if (size === 2) this.f.i32(65535).op(OP.i32And);
    } else {
      this.ea(i);
      this.f.set(L_A);
      this.read(size);
    }
    this.f.set(L_V);
  }

  /** The low 16 bits of local l into register r's low half. */
  private stReg16(r: number, l: number): void {
    this.st(r, () => {
      this.ldReg(r);
      this.f.i32(-65536).op(OP.i32And).get(l).i32(65535).op(OP.i32And, OP.i32Or);
    });
  }

  /** Writes L_R to the r/m operand of entry i (address already in L_A for memory). */
  private writeE(i: number, size: number): void {
    const m = this.c.modrm[i]!;
    if (m >= 0xc0) {
      if (size === 1) this.stReg8(m & 7, L_R);
      else if (size === 2) this.stReg16(m & 7, L_R);
      else this.stLocal(m & 7, L_R);
    } else {
      this.f.get(L_R).set(L_W);
      this.write(size);
    }
  }

  // ---- flags

  private lazy(op: number, a: number, b: number | null, msb: number, kind: number, exact = true): void {
    const f = this.f;
    const start = f.bytes.length;
    f.paused = true;
    this.st(Slot.FO, () => f.i32(op));
    this.stLocal(Slot.FA, a);
    if (b === null) this.st(Slot.FB, () => f.i32(1));
    else this.stLocal(Slot.FB, b);
    this.stLocal(Slot.FR, L_R);
    this.st(Slot.FM, () => f.i32(msb));
    f.paused = false;
    // Only stores that run whenever the block does overwrite earlier ones for sure.
    if (f.depth !== this.blockDepth) this.pending = -1;
    else {
      if (this.pending >= 0) this.dead.push(this.pending, this.pendingEnd);
      this.pending = start;
      this.pendingEnd = f.bytes.length;
    }
    this.kind = kind;
    this.exact = exact;
    this.msb = msb;
  }

  /** Pushes condition cc (0/1). */
  private cond(cc: number): void {
    const f = this.f;
    const base = cc >> 1;
    const wide = this.msb === 31;
    let done = false;
    if (wide && this.kind === K_SUB && this.exact && base !== 0 && base !== 5) {
      if (base === 2 || base === 4) {
        ld(f, Slot.FR);
        if (base === 2) f.op(OP.i32Eqz);
        else f.i32(0).op(OP.i32LtS);
      } else {
        ld(f, Slot.FA);
        ld(f, Slot.FB);
        f.op(base === 1 ? OP.i32LtU : base === 3 ? OP.i32LeU : base === 6 ? OP.i32LtS : OP.i32LeS);
      }
      done = true;
    } else if (wide && this.kind === K_LOGIC && base !== 5) {
      if (base <= 1) f.i32(0);
      else {
        ld(f, Slot.FR);
        if (base === 2 || base === 3) f.op(OP.i32Eqz);
        else if (base === 7) f.i32(0).op(OP.i32LeS);
        else f.i32(0).op(OP.i32LtS);
      }
      done = true;
    } else if (wide && this.kind !== K_UNKNOWN && (base === 2 || base === 4)) {
      ld(f, Slot.FR);
      if (base === 2) f.op(OP.i32Eqz);
      else f.i32(0).op(OP.i32LtS);
      done = true;
    }
    if (!done) {
      switch (base) {
        case 0:
          f.call(F_OF);
          break;
        case 1:
          f.call(F_CF);
          break;
        case 2:
          f.call(F_ZF);
          break;
        case 3:
          f.call(F_CF).call(F_ZF).op(OP.i32Or);
          break;
        case 4:
          f.call(F_SF);
          break;
        case 5:
          f.call(F_PF);
          break;
        case 6:
          f.call(F_SF).call(F_OF).op(OP.i32Xor);
          break;
        default:
          f.call(F_SF).call(F_OF).op(OP.i32Xor).call(F_ZF).op(OP.i32Or);
      }
    }
    if (cc & 1) f.op(OP.i32Eqz);
  }

  /** L_T = CF. */
  private getCF(): void {
    if (this.kind === K_LOGIC) this.f.i32(0);
    else this.f.call(F_CF);
    this.f.set(L_T);
  }

  /** fl = (fl & -2) | CF: inc/dec keep CF in the concrete flags, as the interpreter pins it. */
  private pinCF(): void {
    this.getCF();
    this.st(Slot.FL, () => {
      ld(this.f, Slot.FL);
      this.f.i32(-2).op(OP.i32And).get(L_T).op(OP.i32Or);
    });
  }

  /**
   * ALU operation k on L_V (first operand) and L_Y (second; both masked for 8 bits): L_R and the
   * lazy state as the interpreter's alu.
   */
  private alu(k: number, msb: number): void {
    const f = this.f;
    const bin = (o: number) => f.get(L_V).get(L_Y).op(o).set(L_R);
    switch (k) {
      case 0:
        bin(OP.i32Add);
        this.lazy(LF_ADD, L_V, L_Y, msb, K_OTHER);
        return;
      case 1:
        bin(OP.i32Or);
        this.lazy(LF_LOGIC, L_V, L_Y, msb, K_LOGIC);
        return;
      case 2:
        this.getCF();
        f.get(L_V).get(L_Y).op(OP.i32Add).get(L_T).op(OP.i32Add).set(L_R);
        this.lazy(LF_ADD, L_V, L_Y, msb, K_OTHER, false);
        return;
      case 3:
        this.getCF();
        f.get(L_V).get(L_Y).op(OP.i32Sub).get(L_T).op(OP.i32Sub).set(L_R);
        this.lazy(LF_SUB, L_V, L_Y, msb, K_SUB, false);
        return;
      case 4:
        bin(OP.i32And);
        this.lazy(LF_LOGIC, L_V, L_Y, msb, K_LOGIC);
        return;
      case 6:
        bin(OP.i32Xor);
        this.lazy(LF_LOGIC, L_V, L_Y, msb, K_LOGIC);
        return;
      default:
        bin(OP.i32Sub);
        this.lazy(LF_SUB, L_V, L_Y, msb, K_SUB);
    }
  }

  /** ALU k with the r/m operand of entry i as destination, L_Y as source; size 4 or 1. */
  private aluE(i: number, k: number, size: number): void {
    this.readE(i, size);
    this.alu(k, size * 8 - 1);
    if (k !== 7) this.writeE(i, size);
  }

  /** inc/dec of L_V into L_R (CF pinned first). */
  private incDec(dec: boolean, msb: number): void {
    this.pinCF();
    this.f
      .get(L_V)
      .i32(1)
      .op(dec ? OP.i32Sub : OP.i32Add)
      .set(L_R);
    this.lazy(dec ? LF_DEC : LF_INC, L_V, null, msb, K_OTHER);
  }

  /** The concrete-flag result of shifts and multiplies: CF = OF = L_T, ZF/SF/PF from L_R. */
  private resFlags(cfLocal: number, ofLocal: number, msb = 31): void {
    this.st(Slot.FL, () => {
      ld(this.f, Slot.FL);
      this.f.i32(-2262).op(OP.i32And).get(cfLocal).op(OP.i32Or).get(ofLocal).i32(11).op(OP.i32Shl, OP.i32Or);
    });
    this.st(Slot.FO, () => this.f.i32(LF_RES));
    this.stLocal(Slot.FR, L_R);
    this.st(Slot.FM, () => this.f.i32(msb));
    this.kind = K_OTHER;
    this.msb = msb;
  }

  /** Materializes the flags, then sets CF and OF from locals (rol/ror: the others are kept). */
  private cfOf(cfLocal: number, ofLocal: number): void {
    this.f.call(F_MAT);
    this.st(Slot.FL, () => {
      ld(this.f, Slot.FL);
      this.f.i32(~0x801).op(OP.i32And).get(cfLocal).op(OP.i32Or).get(ofLocal).i32(11).op(OP.i32Shl, OP.i32Or);
    });
    this.kind = K_UNKNOWN;
  }

  // ---- instructions

  /**
   * An x87 instruction: the FPU called directly (the interpreter's own code), the state exact for it
   * as for any host call. FCMOVcc reads EFLAGS and FCOMI & co. write them, so after those forms the
   * flag kind is unknown; fnstsw ax writes AX, which comes back with the state.
   */
  private x87(i: number, op: number, m: number): void {
    const f = this.f;
    const access = m < 0xc0 ? x87Access(op, (m >> 3) & 7) : 0;
    if (m >= 0xc0 ? x87TouchesCpu(op, m) : access === 0) {
      this.hostCall = true;
      f.i32(op).i32(m);
      if (m < 0xc0) this.ea(i);
      else f.i32(0);
      this.where();
      f.call(F_FX).i32(1).set(L_SP);
      if (m >= 0xc0) this.kind = K_UNKNOWN;
      return;
    }
    // The light call (fxl): no state copies. A register form reaches nothing outside the FPU; a
    // memory operand goes there when the TLB shows its page plain for the access (no fault,
    // copy-on-write, code or watch to hand the state to host code for), else by the full call.
    if (m >= 0xc0) {
      f.i32(op).i32(m).i32(0);
      this.where();
      f.call(F_FXL);
      return;
    }
    this.hostCall = true;
    this.ea(i);
    f.set(L_A);
    this.tlbHit(access < 0 ? TLB_WRITE : TLB_READ, Math.abs(access));
    f.open(OP.if);
    f.i32(op).i32(m).get(L_A);
    this.where();
    f.call(F_FXL);
    f.else();
    f.i32(op).i32(m).get(L_A);
    this.where();
    f.call(F_FX);
    f.end();
    f.i32(1).set(L_SP);
  }

  /** Hands entry i to the interpreter. */
  private fallback(i: number): void {
    const f = this.f;
    this.where();
    f.call(F_FB).i32(1).set(L_SP);
    this.kind = K_UNKNOWN;
    const next = this.c.next[i]!;
    if (this.j < this.n - 1) {
      ld(f, Slot.ATTN);
      ld(f, Slot.EIP);
      f.i32(next).op(OP.i32Ne, OP.i32Or);
      f.open(OP.if);
      f.get(L_N)
        .i32(this.j + 1)
        .op(OP.i32Add, OP.return);
      f.end();
    } else {
      ld(f, Slot.EIP);
      f.set(L_E);
    }
  }

  private push(): void {
    // value in L_W
    this.ldReg(4);
    this.f.i32(4).op(OP.i32Sub).set(L_A);
    this.write(4);
    this.stLocal(4, L_A);
  }

  /** Emits entry i; returns true when it set L_E (control transfer). */
  private insn(i: number): boolean {
    const c = this.c;
    const f = this.f;
    const op = c.op[i]!;
    const m = c.modrm[i]!;
    const reg = (m >> 3) & 7;
    const rm = m & 7;
    const next = c.next[i]!;
    const imm = c.imm[i]!;
    if (directX87(c, i)) {
      this.x87(i, op, m);
      return false;
    }
    if (!translated(c, i)) {
      this.fallback(i);
      return this.j === this.n - 1;
    }
    if (op === 0x4a5 || op === 0x4ab) return this.string(i, op & 0x3ff, 2);
    if (op >= 0x400) {
      this.o16(i, op & 0x3ff, m, imm);
      return false;
    }
    if (op < 0x40) {
      const k = op >> 3;
      switch (op & 7) {
        case 0: // r/m8, r8
          this.ldReg8(reg);
          f.set(L_Y);
          this.aluE(i, k, 1);
          return false;
        case 1:
          this.ldReg(reg);
          f.set(L_Y);
          this.aluE(i, k, 4);
          return false;
        case 2: // r8, r/m8
          this.readE(i, 1);
          f.get(L_V).set(L_Y);
          this.ldReg8(reg);
          f.set(L_V);
          this.alu(k, 7);
          if (k !== 7) this.stReg8(reg, L_R);
          return false;
        case 3:
          this.readE(i, 4);
          f.get(L_V).set(L_Y);
          this.ldReg(reg);
          f.set(L_V);
          this.alu(k, 31);
          if (k !== 7) this.stLocal(reg, L_R);
          return false;
        case 4:
          this.ldReg8(0);
          f.set(L_V)
            .i32(imm & 0xff)
            .set(L_Y);
          this.alu(k, 7);
          if (k !== 7) this.stReg8(0, L_R);
          return false;
        default:
          this.ldReg(0);
          f.set(L_V).i32(imm).set(L_Y);
          this.alu(k, 31);
          if (k !== 7) this.stLocal(0, L_R);
          return false;
      }
    }
    if (op >= 0x40 && op <= 0x4f) {
      this.ldReg(op & 7);
      f.set(L_V);
      this.incDec(op >= 0x48, 31);
      this.stLocal(op & 7, L_R);
      return false;
    }
    if (op >= 0x50 && op <= 0x57) {
      this.ldReg(op & 7);
      f.set(L_W);
      this.push();
      return false;
    }
    if (op >= 0x58 && op <= 0x5f) {
      this.ldReg(4);
      f.set(L_A);
      this.read(4);
      f.set(L_V);
      this.st(4, () => f.get(L_A).i32(4).op(OP.i32Add));
      this.stLocal(op & 7, L_V);
      return false;
    }
    if (op >= 0xb8 && op <= 0xbf) {
      this.st(op & 7, () => f.i32(imm));
      return false;
    }
    if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
      f.i32((next + imm) | 0).i32(next);
      this.cond(op & 15);
      f.op(OP.select).set(L_E);
      this.targets = [(next + imm) | 0, next];
      return true;
    }
    if (op >= 0x140 && op <= 0x14f) {
      this.readE(i, 4);
      this.cond(op & 15);
      f.open(OP.if);
      this.stLocal(reg, L_V);
      f.end();
      return false;
    }
    if (op >= 0x190 && op <= 0x19f) {
      this.cond(op & 15);
      f.set(L_R);
      if (m >= 0xc0) this.stReg8(rm, L_R);
      else {
        this.ea(i);
        f.set(L_A).get(L_R).set(L_W);
        this.write(1);
      }
      return false;
    }
    switch (op) {
      case 0x80:
        f.i32(imm & 0xff).set(L_Y);
        this.aluE(i, reg, 1);
        return false;
      case 0x81:
      case 0x83:
        f.i32(imm).set(L_Y);
        this.aluE(i, reg, 4);
        return false;
      case 0x84:
      case 0x85: {
        const size = op === 0x84 ? 1 : 4;
        this.readE(i, size);
        if (size === 1) this.ldReg8(reg);
        else this.ldReg(reg);
        f.set(L_Y);
        this.alu(4, size === 1 ? 7 : 31);
        return false;
      }
      case 0xa8:
        this.ldReg8(0);
        f.set(L_V)
          .i32(imm & 0xff)
          .set(L_Y);
        this.alu(4, 7);
        return false;
      case 0xa9:
        this.ldReg(0);
        f.set(L_V).i32(imm).set(L_Y);
        this.alu(4, 31);
        return false;
      case 0xf6:
        this.readE(i, 1);
        f.i32(imm & 0xff).set(L_Y);
        this.alu(4, 7);
        return false;
      case 0xf7:
        this.readE(i, 4);
        if (reg === 0) {
          f.i32(imm).set(L_Y);
          this.alu(4, 31);
        } else if (reg === 2) {
          f.get(L_V).i32(-1).op(OP.i32Xor).set(L_R);
          this.writeE(i, 4);
        } else if (reg === 3) {
          f.get(L_V).set(L_Y).i32(0).set(L_V);
          this.alu(5, 31);
          this.writeE(i, 4);
        } else if (reg >= 6) this.divide(reg === 7);
        else this.mul(reg === 5);
        return false;
      case 0xfe:
        this.readE(i, 1);
        this.incDec(reg === 1, 7);
        this.writeE(i, 1);
        return false;
      case 0xff:
        this.readE(i, 4);
        if (reg <= 1) {
          this.incDec(reg === 1, 31);
          this.writeE(i, 4);
          return false;
        }
        if (reg === 6) {
          f.get(L_V).set(L_W);
          this.push();
          return false;
        }
        if (reg === 2) {
          f.i32(next).set(L_W);
          this.push();
        }
        f.get(L_V).set(L_E);
        return true;
      case 0x88:
        if (m >= 0xc0) {
          this.ldReg8(reg);
          f.set(L_R);
          this.stReg8(rm, L_R);
        } else {
          this.ea(i);
          f.set(L_A);
          this.ldReg8(reg);
          f.set(L_W);
          this.write(1);
        }
        return false;
      case 0x89:
        if (m >= 0xc0) this.st(rm, () => this.ldReg(reg));
        else {
          this.ea(i);
          f.set(L_A);
          this.ldReg(reg);
          f.set(L_W);
          this.write(4);
        }
        return false;
      case 0x8a:
        this.readE(i, 1);
        this.stReg8(reg, L_V);
        return false;
      case 0x8b:
        this.readE(i, 4);
        this.stLocal(reg, L_V);
        return false;
      case 0x8d:
        this.st(reg, () => this.ea(i, true));
        return false;
      case 0x90:
        return false;
      case 0x99:
        this.st(2, () => {
          this.ldReg(0);
          f.i32(31).op(OP.i32ShrS);
        });
        return false;
      case 0x68:
      case 0x6a:
        f.i32(imm).set(L_W);
        this.push();
        return false;
      case 0xc6:
      case 0xc7:
        f.i32(op === 0xc6 ? imm & 0xff : imm).set(L_R);
        if (m < 0xc0) {
          this.ea(i);
          f.set(L_A);
        }
        this.writeE(i, op === 0xc6 ? 1 : 4);
        return false;
      case 0xc9:
        this.ldReg(5);
        f.set(L_A);
        this.read(4);
        f.set(L_V);
        this.st(4, () => f.get(L_A).i32(4).op(OP.i32Add));
        this.stLocal(5, L_V);
        return false;
      case 0xe8:
        f.i32(next).set(L_W);
        this.push();
        f.i32((next + imm) | 0).set(L_E);
        this.targets = [(next + imm) | 0];
        return true;
      case 0xc2:
      case 0xc3:
        this.ldReg(4);
        f.set(L_A);
        this.read(4);
        f.set(L_E);
        this.st(4, () =>
          f
            .get(L_A)
            .i32(op === 0xc3 ? 4 : 4 + imm)
            .op(OP.i32Add),
        );
        return true;
      case 0xe9:
      case 0xeb:
        f.i32((next + imm) | 0).set(L_E);
        this.targets = [(next + imm) | 0];
        return true;
      case 0xfc:
      case 0xfd:
        this.st(Slot.FL, () => {
          ld(f, Slot.FL);
          if (op === 0xfc) f.i32(-1025).op(OP.i32And);
          else f.i32(1024).op(OP.i32Or);
        });
        return false;
      case 0xa0:
      case 0xa1:
      case 0xa2:
      case 0xa3: {
        const seg = (c.pfx[i]! >> PFX_SEG_SHIFT) & 7;
        f.i32(imm);
        if (seg === 5 || seg === 6) {
          ld(f, seg === 5 ? Slot.FS : Slot.GS);
          f.op(OP.i32Add);
        }
        f.set(L_A);
        if (op === 0xa0) {
          this.read(1);
          f.set(L_R);
          this.stReg8(0, L_R);
        } else if (op === 0xa1) {
          this.read(4);
          f.set(L_R);
          this.stLocal(0, L_R);
        } else {
          if (op === 0xa2) this.ldReg8(0);
          else this.ldReg(0);
          f.set(L_W);
          this.write(op === 0xa2 ? 1 : 4);
        }
        return false;
      }
      case 0x1b6:
      case 0x1be:
        this.readE(i, 1);
        if (op === 0x1be) f.get(L_V).i32(24).op(OP.i32Shl).i32(24).op(OP.i32ShrS).set(L_V);
        this.stLocal(reg, L_V);
        return false;
      case 0x1b7:
      case 0x1bf:
        if (m >= 0xc0) {
          this.ldReg(rm);
          f.i32(65535).op(OP.i32And).set(L_V);
        } else {
          this.ea(i);
          f.set(L_A);
          this.read(2);
          f.set(L_V);
        }
        if (op === 0x1bf) f.get(L_V).i32(16).op(OP.i32Shl).i32(16).op(OP.i32ShrS).set(L_V);
        this.stLocal(reg, L_V);
        return false;
      case 0x1af:
      case 0x69:
      case 0x6b:
        this.readE(i, 4);
        if (op === 0x1af) this.ldReg(reg);
        else f.i32(imm);
        f.set(L_Y);
        f.get(L_V).get(L_Y).op(OP.i32Mul).set(L_R);
        // The exact 64-bit product differs from the low word's sign extension exactly on overflow.
        f.get(L_V).op(OP.i64ExtendI32S).get(L_Y).op(OP.i64ExtendI32S, OP.i64Mul);
        f.get(L_R).op(OP.i64ExtendI32S, OP.i64Ne).set(L_T);
        this.stLocal(reg, L_R);
        this.resFlags(L_T, L_T);
        return false;
      case 0xc1:
      case 0xd1:
      case 0xd3:
        if (reg <= 1) this.rotate(i, op === 0xc1 ? this.c.imm[i]! & 31 : 1, reg === 0, 4);
        else this.shift(i, op, reg);
        return false;
      case 0x1a4:
      case 0x1ac:
        this.shiftDouble(i, op === 0x1a4, reg, this.c.imm[i]! & 31);
        return false;
      case 0x1a5:
      case 0x1ad:
        this.shiftDoubleCl(i, op === 0x1a5, reg);
        return false;
      case 0xc0:
      case 0xd0: {
        const count = op === 0xc0 ? this.c.imm[i]! & 31 : 1;
        if (reg <= 1) this.rotate(i, count, reg === 0, 1);
        else this.shiftNarrow(i, count, reg, 1);
        return false;
      }
      case 0xa4:
      case 0xa5:
      case 0xaa:
      case 0xab:
        return this.string(i, op, op & 1 ? 4 : 1);
      case 0xe3:
        f.i32((next + imm) | 0).i32(next);
        this.ldReg(1);
        f.op(OP.i32Eqz, OP.select).set(L_E);
        this.targets = [(next + imm) | 0, next];
        return true;
      case 0x1bc:
      case 0x1bd:
        this.bitScan(i, op === 0x1bc, reg);
        return false;
      case 0x87:
        if (m >= 0xc0) {
          this.ldReg(rm);
          f.set(L_V);
          this.st(rm, () => this.ldReg(reg));
        } else {
          this.ea(i);
          f.set(L_A);
          this.read(4);
          f.set(L_V);
          this.ldReg(reg);
          f.set(L_W);
          this.write(4);
        }
        this.stLocal(reg, L_V);
        return false;
    }
    if (op >= 0x118 && op <= 0x11f) return false; // hint nops, endbr32
    if (op >= 0x91 && op <= 0x97) {
      this.ldReg(0);
      f.set(L_V);
      this.st(0, () => this.ldReg(op & 7));
      this.stLocal(op & 7, L_V);
      return false;
    }
    if (op >= 0x1c8 && op <= 0x1cf) {
      // bswap: the odd bytes rotated right by 8, the even ones left by 8.
      this.st(op & 7, () => {
        this.ldReg(op & 7);
        f.i32(0x00ff00ff).op(OP.i32And).i32(8).op(OP.i32Rotr);
        this.ldReg(op & 7);
        f.i32(0xff00ff00 | 0)
          .op(OP.i32And)
          .i32(8)
          .op(OP.i32Rotl, OP.i32Or);
      });
      return false;
    }
    throw new Error(`wasm-unit: no translation for op ${op.toString(16)}`);
  }

  /** A 0x66-prefixed form of nativeO16 (op without the OP_O16 mark), as the interpreter's sz = 1 paths. */
  private o16(i: number, op: number, m: number, imm: number): void {
    const f = this.f;
    const reg = (m >> 3) & 7;
    const rm = m & 7;
    const reg16 = (r: number) => {
      this.ldReg(r);
      f.i32(65535).op(OP.i32And);
    };
    if (op < 0x40) {
      const k = op >> 3;
      if ((op & 7) === 1) {
        reg16(reg);
        f.set(L_Y);
        this.aluE(i, k, 2);
      } else if ((op & 7) === 3) {
        this.readE(i, 2);
        f.get(L_V).set(L_Y);
        reg16(reg);
        f.set(L_V);
        this.alu(k, 15);
        if (k !== 7) this.stReg16(reg, L_R);
      } else {
        reg16(0);
        f.set(L_V)
          .i32(imm & 0xffff)
          .set(L_Y);
        this.alu(k, 15);
        if (k !== 7) this.stReg16(0, L_R);
      }
      return;
    }
    if (op === 0xf7 && (reg === 2 || reg === 3)) {
      // not, neg r/m16
      this.readE(i, 2);
      if (reg === 2) f.get(L_V).i32(-1).op(OP.i32Xor).set(L_R);
      else {
        f.get(L_V).set(L_Y).i32(0).set(L_V);
        this.alu(5, 15);
      }
      this.writeE(i, 2);
      return;
    }
    switch (op) {
      case 0x81:
      case 0x83:
        f.i32(imm & 0xffff).set(L_Y);
        this.aluE(i, reg, 2);
        return;
      case 0xf7:
      case 0x85:
        this.readE(i, 2);
        if (op === 0x85) reg16(reg);
        else f.i32(imm & 0xffff);
        f.set(L_Y);
        this.alu(4, 15);
        return;
      case 0x89:
        if (m >= 0xc0) {
          this.ldReg(reg);
          f.set(L_R);
          this.stReg16(rm, L_R);
        } else {
          this.ea(i);
          f.set(L_A);
          this.ldReg(reg);
          f.set(L_W);
          this.write(2);
        }
        return;
      case 0x8b:
        this.readE(i, 2);
        this.stReg16(reg, L_V);
        return;
      case 0xc7:
        f.i32(imm & 0xffff).set(L_R);
        if (m < 0xc0) {
          this.ea(i);
          f.set(L_A);
        }
        this.writeE(i, 2);
        return;
      case 0xc1:
      case 0xd1: {
        const count = op === 0xc1 ? imm & 31 : 1;
        if (reg <= 1) this.rotate(i, count, reg === 0, 2);
        else this.shiftNarrow(i, count, reg, 2);
        return;
      }
    }
    // 0x90: `66 90`, the two-byte nop
  }

  /** mul/imul r/m32 (operand in L_V): EDX:EAX = EAX * L_V, CF = OF = high word is not the extension. */
  private mul(signed: boolean): void {
    const f = this.f;
    const ext = signed ? OP.i64ExtendI32S : OP.i64ExtendI32U;
    this.ldReg(0);
    f.op(ext).get(L_V).op(ext, OP.i64Mul).op(OP.i64Const).sleb(32).op(OP.i64ShrU, OP.i32WrapI64).set(L_Y);
    this.ldReg(0);
    f.get(L_V).op(OP.i32Mul).set(L_R);
    this.stLocal(0, L_R);
    this.stLocal(2, L_Y);
    f.get(L_Y);
    if (signed) f.get(L_R).i32(31).op(OP.i32ShrS);
    else f.i32(0);
    f.op(OP.i32Ne).set(L_T);
    this.resFlags(L_T, L_T);
  }

  /** shl/shr/sar r/m32 by an immediate, 1 or CL, with the interpreter's flag rules. */
  private shift(i: number, op: number, k: number): void {
    const f = this.f;
    this.readE(i, 4);
    if (op === 0xc1) f.i32(this.c.imm[i]! & 31);
    else if (op === 0xd1) f.i32(1);
    else {
      this.ldReg(1);
      f.i32(31).op(OP.i32And);
    }
    f.set(L_T);
    f.get(L_T).op(OP.i32Eqz);
    f.open(OP.if);
    f.get(L_V).set(L_R);
    f.else();
    // L_Y = CF, L_X = OF (L_X is free outside a memory access).
    if (k === 4 || k === 6) {
      f.get(L_V).i32(32).get(L_T).op(OP.i32Sub, OP.i32ShrU).i32(1).op(OP.i32And).set(L_Y);
      f.get(L_V).get(L_T).op(OP.i32Shl).set(L_R);
      f.get(L_R).i32(31).op(OP.i32ShrU).get(L_Y).op(OP.i32Xor).set(L_X);
    } else if (k === 5) {
      f.get(L_V).get(L_T).i32(1).op(OP.i32Sub, OP.i32ShrU).i32(1).op(OP.i32And).set(L_Y);
      f.get(L_V).get(L_T).op(OP.i32ShrU).set(L_R);
      f.get(L_T).i32(1).op(OP.i32Eq).get(L_V).i32(31).op(OP.i32ShrU, OP.i32And).set(L_X);
    } else {
      f.get(L_V).get(L_T).i32(1).op(OP.i32Sub, OP.i32ShrS).i32(1).op(OP.i32And).set(L_Y);
      f.get(L_V).get(L_T).op(OP.i32ShrS).set(L_R);
      f.i32(0).set(L_X);
    }
    this.resFlags(L_Y, L_X);
    f.end();
    this.writeE(i, 4);
    this.kind = op === 0xd3 || (op === 0xc1 && (this.c.imm[i]! & 31) === 0) ? K_UNKNOWN : K_OTHER;
    this.msb = 31;
  }

  /**
   * rol/ror r/m16 or r/m32 by a count known here (already masked to 5 bits), as the interpreter's
   * shift: a zero count changes nothing (the operand is still read and written back); otherwise the
   * flags are materialized and CF/OF replaced, before the write.
   */
  private rotate(i: number, count: number, left: boolean, size: number): void {
    const f = this.f;
    const bits = size * 8;
    const msb = bits - 1;
    const n = count % bits;
    this.readE(i, size);
    if (n === 0) f.get(L_V).set(L_R);
    else if (size === 4)
      f.get(L_V)
        .i32(n)
        .op(left ? OP.i32Rotl : OP.i32Rotr)
        .set(L_R);
    else {
      const l = left ? n : bits - n;
      f.get(L_V)
        .i32(l)
        .op(OP.i32Shl)
        .get(L_V)
        .i32(bits - l)
        .op(OP.i32ShrU, OP.i32Or)
        .set(L_R); // bits past the operand are never stored; the flags read bits 0, msb - 1 and msb
    }
    if (count !== 0) {
      // rol: CF = bit 0, OF = msb ^ CF; ror: CF = msb, OF = msb ^ the bit below it.
      if (left) {
        f.get(L_R).i32(1).op(OP.i32And).set(L_Y);
        f.get(L_R).i32(msb).op(OP.i32ShrU).get(L_Y).op(OP.i32Xor).i32(1).op(OP.i32And).set(L_T);
      } else {
        f.get(L_R).i32(msb).op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_Y);
        f.get(L_R)
          .i32(msb - 1)
          .op(OP.i32ShrU)
          .get(L_Y)
          .op(OP.i32Xor)
          .i32(1)
          .op(OP.i32And)
          .set(L_T);
      }
      this.cfOf(L_Y, L_T);
    }
    this.writeE(i, size);
  }

  /** shl/shr/sar r/m8 or r/m16 by a count known here (masked to 5 bits), with the interpreter's flag rules. */
  private shiftNarrow(i: number, count: number, k: number, size: number): void {
    const f = this.f;
    const bits = size * 8;
    const msb = bits - 1;
    const mask = size === 1 ? 0xff : 0xffff;
    this.readE(i, size);
    if (count === 0) f.get(L_V).set(L_R);
    else {
      // L_Y = CF, L_T = OF.
      if (k === 4 || k === 6) {
        if (count <= bits)
          f.get(L_V)
            .i32(bits - count)
            .op(OP.i32ShrU)
            .i32(1)
            .op(OP.i32And)
            .set(L_Y);
        else f.i32(0).set(L_Y);
        f.get(L_V).i32(count).op(OP.i32Shl).i32(mask).op(OP.i32And).set(L_R);
        f.get(L_R).i32(msb).op(OP.i32ShrU).get(L_Y).op(OP.i32Xor).set(L_T);
      } else if (k === 5) {
        if (count <= bits)
          f.get(L_V)
            .i32(count - 1)
            .op(OP.i32ShrU)
            .i32(1)
            .op(OP.i32And)
            .set(L_Y);
        else f.i32(0).set(L_Y);
        f.get(L_V).i32(count).op(OP.i32ShrU).set(L_R);
        if (count === 1) f.get(L_V).i32(msb).op(OP.i32ShrU).set(L_T);
        else f.i32(0).set(L_T);
      } else {
        // sar: the sign-extended operand; counts past the sign bit shift in sign bits only.
        f.get(L_V)
          .i32(32 - bits)
          .op(OP.i32Shl)
          .i32(32 - bits)
          .op(OP.i32ShrS)
          .set(L_R);
        f.get(L_R)
          .i32(count > msb ? msb : count - 1)
          .op(OP.i32ShrS)
          .i32(1)
          .op(OP.i32And)
          .set(L_Y);
        f.get(L_R)
          .i32(count > msb ? msb : count)
          .op(OP.i32ShrS)
          .i32(mask)
          .op(OP.i32And)
          .set(L_R);
        f.i32(0).set(L_T);
      }
      this.resFlags(L_Y, L_T, msb);
    }
    this.writeE(i, size);
  }

  /** shld/shrd r/m32, r32, imm8: the interpreter's shiftDouble (a zero count touches nothing). */
  private shiftDouble(i: number, left: boolean, reg: number, count: number): void {
    if (count === 0) return;
    const f = this.f;
    this.readE(i, 4);
    f.get(L_V)
      .i32(count)
      .op(left ? OP.i32Shl : OP.i32ShrU);
    this.ldReg(reg);
    f.i32(32 - count)
      .op(left ? OP.i32ShrU : OP.i32Shl, OP.i32Or)
      .set(L_R);
    // The interpreter writes the result before it sets the flags: a faulting write leaves them.
    this.writeE(i, 4);
    f.get(L_V)
      .i32(left ? 32 - count : count - 1)
      .op(OP.i32ShrU)
      .i32(1)
      .op(OP.i32And)
      .set(L_Y);
    f.get(L_R).get(L_V).op(OP.i32Xor).i32(31).op(OP.i32ShrU).set(L_T);
    this.resFlags(L_Y, L_T, 31);
  }

  /** shld/shrd r/m32, r32, cl: as shiftDouble with the count (cl & 31) in L_T; 0 touches nothing. */
  private shiftDoubleCl(i: number, left: boolean, reg: number): void {
    const f = this.f;
    this.ldReg(1);
    f.i32(31).op(OP.i32And).tee(L_T);
    f.open(OP.if);
    this.readE(i, 4);
    f.get(L_V)
      .get(L_T)
      .op(left ? OP.i32Shl : OP.i32ShrU);
    this.ldReg(reg);
    f.i32(32)
      .get(L_T)
      .op(OP.i32Sub, left ? OP.i32ShrU : OP.i32Shl, OP.i32Or)
      .set(L_R);
    this.writeE(i, 4);
    f.get(L_V);
    if (left) f.i32(32).get(L_T).op(OP.i32Sub);
    else f.get(L_T).i32(1).op(OP.i32Sub);
    f.op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_Y);
    f.get(L_R).get(L_V).op(OP.i32Xor).i32(31).op(OP.i32ShrU).set(L_T);
    this.resFlags(L_Y, L_T, 31);
    f.end();
    this.kind = K_UNKNOWN;
  }

  /** bsf/bsr r32, r/m32: ZF set and the destination kept for a zero source (flags materialized). */
  private bitScan(i: number, forward: boolean, reg: number): void {
    const f = this.f;
    this.readE(i, 4);
    f.call(F_MAT);
    f.get(L_V).op(OP.i32Eqz);
    f.open(OP.if);
    this.st(Slot.FL, () => {
      ld(f, Slot.FL);
      f.i32(0x40).op(OP.i32Or);
    });
    f.else();
    this.st(reg, () => {
      if (forward) f.get(L_V).op(OP.i32Ctz);
      else f.i32(31).get(L_V).op(OP.i32Clz, OP.i32Sub);
    });
    this.st(Slot.FL, () => {
      ld(f, Slot.FL);
      f.i32(~0x40).op(OP.i32And);
    });
    f.end();
    this.kind = K_UNKNOWN;
  }

  /**
   * div/idiv r/m32 (divisor in L_V): EDX:EAX / divisor. A zero divisor or a quotient that does not
   * fit raises #DE through host code with nothing changed (the interpreter's order); no flag changes.
   */
  private divide(signed: boolean): void {
    const f = this.f;
    const raise = () => {
      f.open(OP.if);
      this.where();
      f.call(F_DE).op(OP.unreachable);
      f.end();
    };
    // L_Q = EDX:EAX
    this.ldReg(2);
    f.op(signed ? OP.i64ExtendI32S : OP.i64ExtendI32U, OP.i64Const)
      .sleb(32)
      .op(OP.i64Shl);
    this.ldReg(0);
    f.op(OP.i64ExtendI32U, OP.i64Or).set(L_Q);
    if (!signed) {
      // The quotient fits in 32 bits exactly when EDX < divisor (unsigned); that also excludes 0.
      this.ldReg(2);
      f.get(L_V).op(OP.i32GeU);
      raise();
      f.get(L_Q).get(L_V).op(OP.i64ExtendI32U, OP.i64RemU, OP.i32WrapI64).set(L_R);
      f.get(L_Q).get(L_V).op(OP.i64ExtendI32U, OP.i64DivU, OP.i32WrapI64).set(L_T);
    } else {
      // A zero divisor, or -2^63 / -1 (which wasm's i64.div_s would trap on): #DE before dividing.
      f.get(L_V).op(OP.i32Eqz);
      f.get(L_V).i32(-1).op(OP.i32Eq);
      this.ldReg(2);
      f.i32(-0x80000000).op(OP.i32Eq, OP.i32And);
      this.ldReg(0);
      f.op(OP.i32Eqz, OP.i32And, OP.i32Or);
      raise();
      f.get(L_Q).get(L_V).op(OP.i64ExtendI32S, OP.i64RemS, OP.i32WrapI64).set(L_R);
      f.get(L_Q).get(L_V).op(OP.i64ExtendI32S, OP.i64DivS).set(L_Q);
      // The quotient fits when it equals the sign extension of its low word.
      f.get(L_Q).get(L_Q).op(OP.i32WrapI64, OP.i64ExtendI32S, OP.i64Ne);
      raise();
      f.get(L_Q).op(OP.i32WrapI64).set(L_T);
    }
    this.stLocal(0, L_T);
    this.stLocal(2, L_R);
  }

  /**
   * movs/stos of `w` bytes (ESI with the fs/gs base as the source, EDI the destination, DF the
   * direction). Without rep: one element through the ordinary accesses. With rep (or repne, which
   * these ignore): elements run here while both pages hit the TLB; at the first miss the interpreter
   * finishes the instruction from the registers as they stand, which is what it would have reached
   * itself. Returns whether L_E was set (the rep remainder as the block's last instruction).
   */
  private string(i: number, op: number, w: number): boolean {
    const f = this.f;
    const c = this.c;
    const movs = (op & 0xfe) === 0xa4;
    const seg = (c.pfx[i]! >> PFX_SEG_SHIFT) & 7;
    const src = () => {
      this.ldReg(6);
      if (seg === 5 || seg === 6) {
        ld(f, seg === 5 ? Slot.FS : Slot.GS);
        f.op(OP.i32Add);
      }
    };
    const wide = w === 4 ? OP.i32Load : w === 2 ? OP.i32Load16u : OP.i32Load8u;
    const store = w === 4 ? OP.i32Store : w === 2 ? OP.i32Store16 : OP.i32Store8;
    // L_Y = the step: -w when DF is set.
    f.i32(-w).i32(w);
    ld(f, Slot.FL);
    f.i32(0x400).op(OP.i32And, OP.select).set(L_Y);
    const advance = () => {
      for (const r of movs ? [6, 7] : [7])
        this.st(r, () => {
          this.ldReg(r);
          f.get(L_Y).op(OP.i32Add);
        });
    };
    if ((c.pfx[i]! & (PFX_REP | PFX_REPNE)) === 0) {
      if (movs) {
        src();
        f.set(L_A);
        this.read(w);
        f.set(L_W);
      } else {
        this.ldReg(0);
        f.set(L_W);
      }
      this.ldReg(7);
      f.set(L_A);
      this.write(w);
      advance();
      return false;
    }
    const out = f.open(OP.block);
    const top = f.open(OP.loop);
    this.ldReg(1);
    f.op(OP.i32Eqz).br(out, OP.brIf);
    // Pushes the host address of L_A's `w` bytes through `tlb`, or leaves the loop on a miss.
    const hit = (tlb: number) => {
      this.tlbHit(tlb, w);
      f.op(OP.i32Eqz).br(out, OP.brIf);
      this.hostAddr(tlb);
    };
    if (movs) {
      src();
      f.set(L_A);
      hit(TLB_READ);
      f.mem(wide, 0).set(L_W);
    } else {
      this.ldReg(0);
      f.set(L_W);
    }
    this.ldReg(7);
    f.set(L_A);
    hit(TLB_WRITE);
    f.get(L_W).mem(store, 0);
    advance();
    this.st(1, () => {
      this.ldReg(1);
      f.i32(1).op(OP.i32Sub);
    });
    f.br(top);
    f.end();
    f.end();
    // What is left (a TLB miss: a fault, copy-on-write, a code page...) runs in the interpreter.
    const last = this.j === this.n - 1;
    const kind = this.kind;
    this.ldReg(1);
    f.open(OP.if);
    this.fallback(i);
    if (last) {
      f.else();
      f.i32(c.next[i]!).set(L_E);
    }
    f.end();
    // movs/stos leave the flags alone: what the emitter knew of them still holds.
    this.kind = kind;
    return last;
  }

  /** Pushes the br_table index of the member at EIP e (a constant): past the members, an exit. */
  private memberIndex(e: number): void {
    this.f.i32(this.index.get(e | 0) ?? this.index.size + 1);
  }

  /**
   * One member block, reached through the br_table with L_E at its EIP, or by falling through from the
   * member emitted before it. It ends by setting L_E and, unless control falls through to `next` (the
   * member emitted after it), L_I (the next member's index: a constant for a fall-through or direct
   * jump, a select between the two targets of a conditional one, or "look up L_E" for a return or an
   * indirect jump) and a branch to the loop.
   */
  private block(b: number, next: number | undefined): void {
    const c = this.c;
    const f = this.f;
    const n = c.blockLen[b]!;
    this.b = b;
    this.n = n;
    this.kind = K_UNKNOWN;
    // Entered only when the whole block fits the budget: counts stay exact to the instruction.
    f.get(L_N).i32(n).op(OP.i32Add).get(L_LEFT).op(OP.i32GtS);
    f.open(OP.if);
    this.exit(0, () => f.get(L_E));
    f.end();
    let setsE = false;
    let host = false;
    this.blockDepth = f.depth;
    for (let j = 0; j < n; j++) {
      this.j = j;
      const i = b + j;
      this.hostCall = false;
      this.targets = null;
      setsE = this.insn(i);
      host ||= this.hostCall;
      if (j < n - 1 && this.hostCall) {
        // A slow-path access may have run host code that wants the CPU back. (A hand-over to the
        // interpreter checks for itself; register-only forms call nothing that returns.)
        this.attention(j + 1, () => f.i32(c.next[i]!));
      }
    }
    // The block's successors may read its last flag write.
    this.pending = -1;
    const t = setsE ? this.targets : [c.next[b + n - 1]! | 0];
    if (!setsE) f.i32(t![0]!).set(L_E);
    f.get(L_N).i32(n).op(OP.i32Add).set(L_N);
    const fall = next === undefined ? undefined : c.eip[next]! | 0;
    if (t === null || fall === undefined || !t.includes(fall)) {
      if (t === null) f.i32(this.index.size);
      else if (t.length === 1) this.memberIndex(t[0]!);
      else {
        this.memberIndex(t[0]!);
        this.memberIndex(t[1]!);
        f.get(L_E).i32(t[0]!).op(OP.i32Eq, OP.select);
      }
      f.set(L_I);
      f.br(this.top);
      return;
    }
    // Falling through skips the loop's head: a conditional jump's other target goes there, and the
    // attention check the head makes after host code is made here.
    const other = t.find((e) => e !== fall);
    if (other !== undefined) {
      f.get(L_E).i32(fall).op(OP.i32Ne);
      f.open(OP.if);
      this.memberIndex(other);
      f.set(L_I);
      f.br(this.top);
      f.end();
    }
    if (host) this.attention(0, () => f.get(L_E));
  }

  /**
   * The unit: a loop around a br_table over its members (index L_I), whose last entry looks L_E up
   * among them and whose default leaves the unit with EIP = L_E. `members` are in unitLayout's order,
   * which gives their br_table indices. It starts at the member whose index its caller passes as L_I
   * (the dispatch loop, from the dispatch cache; 0, the head, when the run loop calls it directly).
   */
  build(members: readonly number[]): Func {
    const f = this.f;
    const c = this.c;
    const m = members.length;
    members.forEach((b, k) => this.index.set(c.eip[b]! | 0, k));
    ld(f, Slot.EIP);
    f.set(L_E);
    this.top = f.open(OP.loop);
    this.attention(0, () => f.get(L_E));
    const leave = f.open(OP.block);
    f.open(OP.block); // the lookup
    for (let k = m - 1; k >= 0; k--) f.open(OP.block);
    f.get(L_I)
      .op(OP.brTable)
      .uleb(m + 1);
    for (let k = 0; k <= m + 1; k++) f.uleb(k);
    members.forEach((b, k) => {
      f.end();
      this.block(b, members[k + 1]);
    });
    f.end();
    // L_E from a return, an indirect jump or the unit's entry: compare it with each member's EIP.
    members.forEach((b, k) => {
      f.get(L_E).i32(c.eip[b]!).op(OP.i32Eq);
      f.open(OP.if);
      f.i32(k).set(L_I).br(this.top);
      f.end();
    });
    f.br(leave);
    f.end();
    f.end();
    this.exit(0, () => f.get(L_E));
    f.omit(this.dead);
    return { type: T_UNIT, locals: UNIT_LOCALS, body: f };
  }
}

/** The module bytes of units (each its members in unitLayout's order, the head first): `run0`, `run1`... */
function wasmUnitBytes(c: CodeCache, layouts: readonly (readonly number[])[]): Uint8Array<ArrayBuffer> {
  const runs = layouts.map((members) => new WasmWriter(c).build(members));
  return buildModule(IMPORTS, runs, { exports: runs.map((_, k) => `run${k}`) });
}

/** Whether units for this address space compile to WebAssembly (its frames are on a WebAssembly.Memory). */
export function wasmReady(mem: Memory): boolean {
  return wasmStoreOf(mem.ram) !== undefined;
}

/** A unit's exported function: instructions retired, at most `left` (EIP left in the state). */
type UnitFn = (left: number) => number;

const T_UNIT = { params: UNIT_PARAMS, results: [I32] };
/** The dispatch loop's type: `left`, then its locals as parameters (see UNIT_PARAMS). */
const T_DISPATCH = { params: [I32, I32, I32, I32, I32], results: [I32] };

/**
 * The dispatch loop shared by the units of a store: while the state's EIP is in the dispatch cache,
 * calls that unit (through the table) with what is left of the budget; returns the instructions
 * retired. It leaves when a unit retired nothing (its next block did not fit), when host code asked
 * for the CPU (Slot.ATTN), or at an EIP the cache does not hold — the run loop then does what it does
 * between blocks (hooks, single-step, interpretation, compiling).
 */
function dispatchBytes(): Uint8Array<ArrayBuffer> {
  const f = new Body();
  const [left, n, e, h, k] = [0, 1, 2, 3, 4];
  const top = f.open(OP.loop);
  ld(f, Slot.EIP);
  f.tee(e)
    .get(e)
    .i32(12)
    .op(OP.i32ShrU, OP.i32Xor)
    .i32(DISPATCH_ENTRIES - 1)
    .op(OP.i32And)
    .i32(3);
  f.op(OP.i32Shl).set(h);
  // Two ways: the entry the EIP hashes to, else its pair's other one (dispatchInsert).
  f.get(h).mem(OP.i32Load, DISPATCH).get(e).op(OP.i32Ne);
  f.open(OP.if);
  f.get(h).i32(8).op(OP.i32Xor).set(h);
  f.end();
  f.get(h).mem(OP.i32Load, DISPATCH).get(e).op(OP.i32Ne);
  f.get(h)
    .mem(OP.i32Load, DISPATCH + 4)
    .op(OP.i32Eqz, OP.i32Or);
  f.open(OP.if);
  f.get(n).op(OP.return);
  f.end();
  f.i32(0)
    .get(n)
    .mem(OP.i32Store, Slot.DONE * 4);
  f.get(left).get(n).op(OP.i32Sub);
  for (let z = 1; z < L_I; z++) f.i32(0);
  // The entry's member index (L_I), then its table slot.
  f.get(h)
    .mem(OP.i32Load, DISPATCH + 4)
    .i32(DISPATCH_SLOT_BITS)
    .op(OP.i32ShrU);
  f.get(h)
    .mem(OP.i32Load, DISPATCH + 4)
    .i32((1 << DISPATCH_SLOT_BITS) - 1)
    .op(OP.i32And)
    .i32(1)
    .op(OP.i32Sub);
  f.op(OP.callIndirect).uleb(0).uleb(0).tee(k);
  f.get(n).op(OP.i32Add).set(n);
  f.get(k).op(OP.i32Eqz);
  ld(f, Slot.ATTN);
  f.op(OP.i32Or);
  f.open(OP.if);
  f.get(n).op(OP.return);
  f.end();
  f.br(top);
  f.end();
  f.get(n);
  return buildModule([], [{ type: T_DISPATCH, locals: [], body: f }, ...flagHelpers(), matHelper()], {
    table: true,
    types: [T_UNIT],
    exports: ['run', ...HELPERS, 'mat'],
  });
}

/**
 * What units of one store share: the imports (which act on the Cpu running a unit now), the table of
 * unit functions and the dispatch loop over it, and the copies of the state between Cpu and store.
 */
class Runtime {
  cpu: CpuState | null = null;
  mem: Memory | null = null;
  /** Instructions retired before the dispatch loop was entered (less any host code retired). */
  r0 = 0;
  /** The count before the block of the instruction host code runs for. */
  n = 0;
  readonly imports: WebAssembly.Imports;
  readonly table = new WebAssembly.Table({ element: 'anyfunc', initial: 64 });
  private free: number[] = [];
  private slots = 0;
  readonly dispatch: UnitFn;

  constructor(readonly store: WasmStore) {
    const rd = (a: number, size: number, i: number, next: number, b: number, n: number): number => {
      const cpu = this.enterHost(i, next, b, n);
      const mem = this.mem!;
      const v = size === 4 ? mem.read32(a) : size === 2 ? mem.read16(a) : mem.read8(a);
      this.leaveHost(cpu);
      store.fill(mem, a);
      return v;
    };
    const wr = (a: number, v: number, size: number, i: number, next: number, b: number, n: number): void => {
      const cpu = this.enterHost(i, next, b, n);
      const mem = this.mem!;
      if (size === 4) mem.write32(a, v);
      else if (size === 2) mem.write16(a, v);
      else mem.write8(a, v);
      this.leaveHost(cpu);
      store.fill(mem, a);
    };
    const fx = (op: number, m: number, a: number, i: number, next: number, b: number, n: number): void => {
      const cpu = this.enterHost(i, next, b, n);
      cpu.fpu.exec(op, m, a, cpu as unknown as Cpu);
      this.leaveHost(cpu);
    };
    // The FPU alone, without the state copies: nothing it does for these forms reads or writes the
    // Cpu's registers. Only an encoding it refuses throws (#UD, or a fault a wrong TLB check would
    // let through): that runs again as the full call, which throws it with the state exact (all the
    // first attempt changed is the opcode it records, the same again). Page tables and attention
    // are handed back as after any host code, though the TLB check leaves nothing to hand back.
    const fxl = (op: number, m: number, a: number, i: number, next: number, b: number, n: number): void => {
      const cpu = this.cpu!;
      try {
        cpu.fpu.exec(op, m, a, cpu as unknown as Cpu);
      } catch {
        fx(op, m, a, i, next, b, n);
        return;
      }
      store.bind(this.mem!);
      if (cpu.attention !== 0) store.words()[Slot.ATTN] = 1;
    };
    const fb = (i: number, next: number, b: number, n: number): void => {
      const cpu = this.enterHost(i, next, b, n);
      cpu.exec(i);
      this.leaveHost(cpu);
      this.store.words()[Slot.EIP] = cpu.eip;
    };
    const de = (i: number, next: number, b: number, n: number): void => {
      this.enterHost(i, next, b, n).fault(VEC_DE);
    };
    const m: Record<string, WebAssembly.ImportValue> = {
      mem: store.memory,
      tab: this.table,
      rd,
      wr,
      fb,
      fx,
      de,
      fxl,
    };
    baselineOnly();
    const inst = new WebAssembly.Instance(new WebAssembly.Module(dispatchBytes()), { m });
    this.dispatch = inst.exports['run'] as UnitFn;
    for (const h of [...HELPERS, 'mat']) m[h] = inst.exports[h]!;
    this.imports = { m };
  }

  /** A table slot holding `run`. */
  add(run: UnitFn): number {
    const k = this.free.pop() ?? this.slots++;
    if (k >= this.table.length) this.table.grow(this.table.length);
    this.table.set(k, run);
    return k;
  }

  /** Frees a dead unit's slot; the dispatch cache forgets every unit (it may name this one). */
  remove(k: number): void {
    this.table.set(k, null);
    this.free.push(k);
    this.store.clearDispatch();
  }

  /** Copies the unit's state to the Cpu and makes it exact for host code. */
  private enterHost(i: number, next: number, b: number, n: number): CpuState {
    const cpu = this.cpu!;
    const g = this.store.words();
    toCpu(g, cpu);
    this.n = g[Slot.DONE]! + n;
    cpu.cur = i;
    cpu.eip = next >>> 0;
    cpu.blockStart = b;
    cpu.retired = this.r0 + this.n;
    return cpu;
  }

  /**
   * Host code returned: its retired instructions, the state back, the TLB checked. The loops leave
   * when host code asked for the CPU, or set single-stepping or TF (the run loop steps those).
   */
  private leaveHost(cpu: CpuState): void {
    this.r0 = cpu.retired - this.n;
    this.store.bind(this.mem!);
    const g = this.store.words();
    fromCpu(cpu, g);
    g[Slot.ATTN] = cpu.attention !== 0 || cpu.stepping || (cpu.flags & Eflags.TF) !== 0 ? 1 : 0;
  }
}

function fromCpu(cpu: CpuState, g: Int32Array): void {
  const r = cpu.regs;
  for (let k = 0; k < 8; k++) g[k] = r[k]!;
  g[Slot.FO] = cpu.lfOp;
  g[Slot.FA] = cpu.lfA;
  g[Slot.FB] = cpu.lfB;
  g[Slot.FR] = cpu.lfR;
  g[Slot.FM] = cpu.lfMsb;
  g[Slot.FL] = cpu.flags;
  g[Slot.FS] = cpu.fsBase;
  g[Slot.GS] = cpu.gsBase;
}

function toCpu(g: Int32Array, cpu: CpuState): void {
  const r = cpu.regs;
  for (let k = 0; k < 8; k++) r[k] = g[k]!;
  cpu.lfOp = g[Slot.FO]!;
  cpu.lfA = g[Slot.FA]!;
  cpu.lfB = g[Slot.FB]!;
  cpu.lfR = g[Slot.FR]!;
  cpu.lfMsb = g[Slot.FM]!;
  cpu.flags = g[Slot.FL]!;
}

/**
 * Puts EIP e in the dispatch cache, two-way: entries are paired, and e goes into the one it hashes
 * to, whose EIP (if another) moves to the pair's other entry, so the most recent is found first and
 * two hot EIPs that hash alike both stay. Direct-mapped, a tenth of SQLite's exits back to the run
 * loop (420,000) came from about a hundred such pairs evicting each other.
 */
function dispatchInsert(g: Int32Array, e: number, entry: number): void {
  const s = (e ^ (e >>> 12)) & (DISPATCH_ENTRIES - 1);
  const d = (DISPATCH >> 2) + 2 * s;
  if (g[d] !== e && g[d + 1] !== 0) {
    const o = (DISPATCH >> 2) + 2 * (s ^ 1);
    g[o] = g[d]!;
    g[o + 1] = g[d + 1]!;
  }
  g[d] = e;
  g[d + 1] = entry;
}

const runtimes = new WeakMap<WasmStore, Runtime>();

/**
 * Units run on V8's baseline compiler, Liftoff, and are never tiered up to TurboFan. The flag is
 * process-wide and probelab is the only WebAssembly user in its processes.
 *
 * By default V8 recompiles a function with TurboFan once it has run long enough. On SQLite that
 * recompiled 493 of 616 units, at about 3.5 ms of background CPU each (1.7 s in all, against 3 ms
 * for Liftoff to compile all 616). The faster code did not pay that back: the units keep the guest
 * state in memory, so TurboFan finds little to improve.
 *
 * Session 9, CPU of `bench/measure.mjs run`, two interleaved rounds, load about 1.5, before -> after:
 * - SQLite 4.62 -> 3.88 s;
 * - Lua strings 2.37 -> 1.80 s, sort 1.85 -> 1.67 s;
 * - fib(32) 0.23 -> 0.25 s, integer loop 0.27 -> 0.28 s.
 *
 * A tiering budget of 2^31 (the largest V8 takes) left 71 of SQLite's units to TurboFan and gave
 * 4.09 s there and 1.95 s on strings.
 */
let baselineSet = false;
function baselineOnly(): void {
  if (baselineSet) return;
  baselineSet = true;
  setFlagsFromString('--liftoff-only');
}

/**
 * Compiles units to WebAssembly, all in one module (the address space's frames must be on a
 * WebAssembly.Memory: wasmReady). Each unit's `release` frees it when the table drops it; its size
 * is its share of the module's bytes.
 *
 * A unit's function is what the run loop calls at a member block: it enters the store's dispatch
 * loop there (first recording that EIP -> this unit in the dispatch cache, as the run loop has just
 * done its between-blocks work for it), so control passes from unit to unit without coming back to
 * JavaScript. A hooked head block is never put in the cache: its hook must run each time.
 */
export function compileWasmUnits(
  c: CodeCache,
  units: readonly (readonly number[])[],
  mem: Memory,
): { fn: CompiledBlock; size: number; release: () => void }[] {
  const store = wasmStoreOf(mem.ram)!;
  let rt = runtimes.get(store);
  if (rt === undefined) runtimes.set(store, (rt = new Runtime(store)));
  const R = rt;
  const layouts = units.map((members) => unitLayout(c, members));
  const bytes = wasmUnitBytes(c, layouts);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), R.imports);
  return units.map((members, k) => {
    const run = inst.exports[`run${k}`] as UnitFn;
    const slot = R.add(run);
    // A dispatch cache entry packs the slot and a member index up to the member count (the lookup).
    if (slot + 1 >= 1 << DISPATCH_SLOT_BITS || members.length >= 1 << (32 - DISPATCH_SLOT_BITS))
      throw new Error('wasm-unit: a unit or its slot does not fit a dispatch cache entry');
    // The members' EIPs by br_table index: a dispatch cache entry names the member it enters.
    const eips = Int32Array.from(layouts[k]!, (b) => c.eip[b]! | 0);
    const hookedHead = c.hooked[members[0]!] !== 0 ? c.eip[members[0]!]! : 0;
    const fn = (cpu0: Cpu, left: number): number => {
      const cpu = cpu0 as unknown as CpuState;
      store.bind(mem);
      const g = store.words();
      fromCpu(cpu, g);
      const e = cpu.eip | 0;
      g[Slot.EIP] = e;
      g[Slot.ATTN] = 0;
      g[Slot.DONE] = 0;
      R.cpu = cpu;
      R.mem = mem;
      R.r0 = cpu.retired;
      let n: number;
      try {
        if (e === hookedHead) n = run(left);
        else {
          let k = 0;
          while (k < eips.length && eips[k] !== e) k++;
          dispatchInsert(g, e, (k << DISPATCH_SLOT_BITS) | (slot + 1));
          n = R.dispatch(left);
        }
      } catch (y) {
        // Only host code throws, and it found the state exact (enterHost).
        return R.n + cpu.raised(y, cpu.blockStart, cpu.cur);
      }
      const h = store.words();
      toCpu(h, cpu);
      cpu.eip = h[Slot.EIP]! >>> 0;
      cpu.retired = R.r0 + n;
      return n;
    };
    return { fn, size: Math.ceil(bytes.length / units.length), release: () => R.remove(slot) };
  });
}
