// Decoded-block cache for one address space. Blocks are straight-line runs of decoded instructions
// ending at a control transfer, a page boundary or 64 instructions; their fields live in typed arrays
// (struct of arrays) so the executor reads them without allocation. Guarantees: a write to, or unmap
// or mprotect of, any page a cached block was decoded from drops every block touching that page before
// the next instruction of it runs (the executor is told through `onInvalidate`).

import { Decoded, decodeInsn, OP_GP, OP_UD, PFX_O16 } from './decoder.js';
import { Form, formOf } from './forms.js';
import { Memory, PAGE_FAULT, PageFault, PAGE_SHIFT } from './memory.js';
import { OPCODES } from './opcodes.js';
import { jitFromEnv, JitTable } from './jit/table.js';

/** A block entry whose first instruction could not be fetched: executing it raises #PF at `disp`. */
export const OP_FETCH_FAULT = 0x202;
/** Added to the handler id of instructions with a 0x66 prefix. */
export const OP_O16 = 0x400;

/** Addresses that carry execution hooks (a Set, or the machine's range-based view of its hook list). */
export interface AddrSet {
  readonly size: number;
  has(addr: number): boolean;
}

const MAX_BLOCK = 64;
/**
 * Front-cache slots: it starts small and doubles (up to MAX_HASH) while there are more decoded blocks
 * than slots. A 64K-slot cache allocated up front was most of a new address space's cost (0.9 of
 * 1.1 ms of CPU per fork, measured).
 */
const MIN_HASH = 1 << 10;
const MAX_HASH = 1 << 16;
/**
 * Entries a new cache starts with (it doubles as blocks are decoded). Small, because every address
 * space has its own cache and a fork or exec creates one: at 16K entries the typed arrays cost about
 * 1.6 ms of CPU per fork (measured), most of it for children that exec or exit at once.
 */
const INITIAL = 1 << 8;
const MAX_ENTRIES = 1 << 21;

export class CodeCache {
  op = new Uint16Array(INITIAL);
  /** The interpreter's handler id (forms.ts), chosen at decode time. */
  form = new Uint8Array(INITIAL);
  /**
   * The fields the interpreter's loop reads, four words an entry (one array, so V8 checks and
   * bounds one array per instruction instead of five): form | modrm << 8 | op << 16, ea, disp, imm.
   */
  code = new Int32Array(INITIAL * 4);
  pfx = new Uint16Array(INITIAL);
  modrm = new Uint8Array(INITIAL);
  len = new Uint8Array(INITIAL);
  ea = new Int32Array(INITIAL);
  disp = new Int32Array(INITIAL);
  imm = new Int32Array(INITIAL);
  imm2 = new Int32Array(INITIAL);
  eip = new Int32Array(INITIAL);
  /** eip + len: the fall-through address. */
  next = new Int32Array(INITIAL);
  /** Number of instructions in the block that starts at this entry. */
  blockLen = new Uint8Array(INITIAL);
  /** 1 when the block starts at an address with an execution hook (observer). */
  hooked = new Uint8Array(INITIAL);
  private hookAddrs: AddrSet = new Set<number>();
  used = 0;
  /**
   * Direct-mapped front cache eip → block index (key -1 = empty), checked before the Map; the slot
   * of an eip is `(eip ^ (eip >>> 13)) & hmask` (the CPU's run loop computes it inline).
   */
  hkey = new Int32Array(MIN_HASH).fill(-1);
  hval = new Int32Array(MIN_HASH);
  hmask = MIN_HASH - 1;
  private blocks = new Map<number, number>();
  private pageBlocks = new Map<number, number[]>();
  private readonly d = new Decoded();
  private readonly fetch: (a: number) => number;
  /** Called whenever blocks are dropped, so a running CPU can stop using its current block. */
  onInvalidate: () => void = () => {};
  /** Statistics. */
  decodedBlocks = 0;
  invalidations = 0;

  /** The block compiler's table, or null when running the pure interpreter (PROBELAB_JIT=0). */
  jit: JitTable | null;

  constructor(private readonly mem: Memory) {
    this.fetch = (a: number) => mem.fetch8(a);
    mem.onCodeWrite = (page: number) => this.invalidatePage(page);
    this.jit = jitFromEnv(true) ? new JitTable(this, mem) : null;
  }

  /** Turns the block compiler on or off (off drops all compiled code). */
  setJit(on: boolean): void {
    if (on && !this.jit) this.jit = new JitTable(this, this.mem);
    else if (!on) this.jit = null;
  }

  /** Index of the first entry of the block at `eip`, decoding it if needed. */
  lookup(eip: number): number {
    const h = (eip ^ (eip >>> 13)) & this.hmask;
    if (this.hkey[h] === (eip | 0)) return this.hval[h]!;
    let b = this.blocks.get(eip);
    if (b === undefined) {
      b = this.decodeBlock(eip);
      // Decoding may have grown the front cache: the slot moves with the mask.
      const g = (eip ^ (eip >>> 13)) & this.hmask;
      this.hkey[g] = eip | 0;
      this.hval[g] = b;
      return b;
    }
    this.hkey[h] = eip | 0;
    this.hval[h] = b;
    return b;
  }

  /** Index of the block already decoded at `eip`, or -1 (never decodes). */
  find(eip: number): number {
    const h = (eip ^ (eip >>> 13)) & this.hmask;
    if (this.hkey[h] === (eip | 0)) return this.hval[h]!;
    return this.blocks.get(eip >>> 0) ?? -1;
  }

  private grow(): void {
    const n = this.op.length * 2;
    const g16 = (a: Uint16Array) => {
      const x = new Uint16Array(n);
      x.set(a);
      return x;
    };
    const g8 = (a: Uint8Array) => {
      const x = new Uint8Array(n);
      x.set(a);
      return x;
    };
    const g32 = (a: Int32Array) => {
      const x = new Int32Array(n);
      x.set(a);
      return x;
    };
    this.op = g16(this.op);
    this.form = g8(this.form);
    const code = new Int32Array(n * 4);
    code.set(this.code);
    this.code = code;
    this.pfx = g16(this.pfx);
    this.modrm = g8(this.modrm);
    this.len = g8(this.len);
    this.blockLen = g8(this.blockLen);
    this.hooked = g8(this.hooked);
    this.ea = g32(this.ea);
    this.disp = g32(this.disp);
    this.imm = g32(this.imm);
    this.imm2 = g32(this.imm2);
    this.eip = g32(this.eip);
    this.next = g32(this.next);
  }

  /** Copies entry `i`'s fields into `code`. */
  private pack(i: number): void {
    const k = i << 2;
    this.code[k] = this.form[i]! | (this.modrm[i]! << 8) | (this.op[i]! << 16);
    this.code[k + 1] = this.ea[i]!;
    this.code[k + 2] = this.disp[i]!;
    this.code[k + 3] = this.imm[i]!;
  }

  private decodeBlock(start: number): number {
    if (this.used + MAX_BLOCK + 1 > this.op.length) {
      if (this.op.length >= MAX_ENTRIES) this.flush();
      else this.grow();
    }
    const first = this.used;
    let idx = first;
    let addr = start >>> 0;
    const pages: number[] = [];
    const d = this.d;
    const hooks = this.hookAddrs;
    this.hooked[first] = hooks.size > 0 && hooks.has(addr) ? 1 : 0;
    for (let n = 0; n < MAX_BLOCK; n++) {
      // A hooked address always starts its own block, so the hook runs before that instruction.
      if (n > 0 && hooks.size > 0 && hooks.has(addr)) break;
      try {
        decodeInsn(this.fetch, addr, d);
      } catch (e) {
        if (!(e instanceof PageFault)) throw e;
        if (n > 0) break; // end the block before the unfetchable instruction
        this.op[idx] = OP_FETCH_FAULT;
        this.form[idx] = Form.Generic;
        this.pack(idx);
        this.disp[idx] = PAGE_FAULT.addr | 0;
        this.imm[idx] = PAGE_FAULT.code;
        this.len[idx] = 0;
        this.eip[idx] = addr | 0;
        this.next[idx] = addr | 0;
        idx++;
        break;
      }
      // Operand-size-prefixed instructions get a separate handler id (op | OP_O16), so the
      // executor's 32-bit fast paths never need to test the prefix.
      const op = d.pfx & PFX_O16 && d.op < 0x200 ? d.op | OP_O16 : d.op;
      this.op[idx] = op;
      this.form[idx] = formOf(op, d.modrm);
      this.pfx[idx] = d.pfx;
      this.modrm[idx] = d.modrm;
      this.len[idx] = d.len;
      this.ea[idx] = d.ea;
      this.disp[idx] = d.disp;
      this.imm[idx] = d.imm;
      this.imm2[idx] = d.imm2;
      this.eip[idx] = addr | 0;
      this.next[idx] = (addr + d.len) | 0;
      this.pack(idx);
      idx++;
      const p0 = addr >>> PAGE_SHIFT;
      const p1 = (addr + d.len - 1) >>> PAGE_SHIFT;
      if (pages[pages.length - 1] !== p0) pages.push(p0);
      if (p1 !== p0) pages.push(p1);
      addr = (addr + d.len) >>> 0;
      if (d.op >= 0x200 || OPCODES[d.op]!.ends) break;
      if (addr >>> PAGE_SHIFT !== p0) break;
    }
    this.blockLen[first] = idx - first;
    this.used = idx;
    this.blocks.set(start >>> 0, first);
    for (const p of pages) {
      let list = this.pageBlocks.get(p);
      if (!list) {
        list = [];
        this.pageBlocks.set(p, list);
        this.mem.markCode(p);
      }
      list.push(start >>> 0);
    }
    this.decodedBlocks++;
    if (this.blocks.size > this.hmask + 1 && this.hmask < MAX_HASH - 1) {
      // A cache: the new table starts empty and refills from the Map.
      const n = (this.hmask + 1) * 2;
      this.hkey = new Int32Array(n).fill(-1);
      this.hval = new Int32Array(n);
      this.hmask = n - 1;
    }
    return first;
  }

  setHooks(addrs: AddrSet): void {
    this.hookAddrs = addrs;
  }

  invalidatePage(page: number): void {
    const list = this.pageBlocks.get(page);
    this.mem.clearCode(page);
    if (!list) return;
    this.pageBlocks.delete(page);
    for (const s of list) {
      const b = this.blocks.get(s);
      if (b !== undefined) this.jit?.drop(b);
      this.blocks.delete(s);
      const h = (s ^ (s >>> 13)) & this.hmask;
      if (this.hkey[h] === (s | 0)) this.hkey[h] = -1;
    }
    this.invalidations++;
    this.onInvalidate();
  }

  /** Drops every block (used when the entry pool is full). */
  flush(): void {
    for (const p of this.pageBlocks.keys()) this.mem.clearCode(p);
    this.pageBlocks.clear();
    this.blocks.clear();
    this.hkey.fill(-1);
    this.used = 0;
    this.jit?.clear();
    this.onInvalidate();
  }
}

export { OP_GP, OP_UD };
