// The frame store on a WebAssembly.Memory, so compiled WebAssembly units (wasm-unit.ts) reach guest
// memory directly, and the state they share with JavaScript: the registers and lazy flags at fixed
// addresses, and a software TLB (guest page -> byte offset of its frame, separately for reads and
// writes) that JavaScript fills on a miss.
// Guarantees:
// - A store is a WebAssembly.Memory unless PROBELAB_JIT is 0, 1 or js (or useWasmStores(false));
//   otherwise it is the plain Uint8Array it always was. Frames start at STORE_BASE in either case's
//   terms: `ram` is a view of the frames only, so Memory's arithmetic is unchanged.
// - Growth is memory.grow: the contents stay where they are (no copy) and every old view detaches;
//   FramePool hands its members the new views as before. TLB entries hold offsets, never views, so
//   growth leaves them valid.
// - A TLB entry exists only for a page whose fast path Memory itself would take (the same permission
//   masks as jit/access.ts), and the whole TLB is dropped whenever the owning address space's page
//   tables may have changed (Memory.epoch moved) or another address space of the pool runs (owner).
//   So compiled code never writes a code, copy-on-write, read-only or unmapped page, nor reads a
//   watched or unreadable one, without going through Memory's own accessors.

import { PAGE_CODE, PAGE_COW, PAGE_WATCH, PROT_READ, PROT_WRITE, type Memory } from '../memory.js';

/** Byte offset of frame 0 in the WebAssembly.Memory: below it, the shared state and the TLB. */
export const STORE_BASE = 0x10000;
/**
 * Word indices of the shared state (registers 0-7 are words 0-7), as a const enum so that the host
 * side's copies (wasm-unit.ts, once per hand-over) use literals: V8 reads an imported `const` from
 * its module cell with a TDZ check on every use.
 */
export const enum Slot {
  FO = 8,
  FA = 9,
  FB = 10,
  FR = 11,
  FM = 12,
  FL = 13,
  EIP = 14,
  /** cpu.attention after host code ran inside a unit. */
  ATTN = 15,
  FS = 16,
  GS = 17,
  /** Instructions the dispatch loop had retired before the unit running now (wasm-unit.ts). */
  DONE = 18,
}
/**
 * TLB entries (direct-mapped by page number), 8 bytes each: tag and addend. The tag is the page's
 * address (page << 12), or TLB_EMPTY, which no page address equals: an access of `size` bytes at a
 * hits when (a + size - 1) & -4096 equals its entry's tag, one compare that also fails for an access
 * running into the next page.
 */
export const TLB_BITS = 10;
export const TLB_ENTRIES = 1 << TLB_BITS;
export const TLB_EMPTY = 1;
/** Byte offsets of the read and write TLBs. Guest address a on page p maps to a + addend. */
export const TLB_READ = 0x1000;
export const TLB_WRITE = TLB_READ + TLB_ENTRIES * 8;
/**
 * The dispatch cache of the units' shared dispatch loop: two-way by guest EIP (an EIP hashes to an
 * entry and may sit in it or in its pair's other one: wasm-unit.ts dispatchInsert), 8 bytes an entry:
 * the EIP, and the unit's table slot + 1 (0 = empty) with, above DISPATCH_SLOT_BITS, the index of the
 * member at that EIP (where the unit starts, without looking it up). Only entries the run loop itself
 * has entered are there.
 */
export const DISPATCH = TLB_WRITE + TLB_ENTRIES * 8;
export const DISPATCH_BITS = 12;
export const DISPATCH_ENTRIES = 1 << DISPATCH_BITS;
export const DISPATCH_SLOT_BITS = 24;

const WASM_PAGE = 0x10000;
/** Frames a WebAssembly.Memory of 4 GiB holds after the state region. */
const WASM_MAX_FRAMES = (1 << 20) - STORE_BASE / 4096;
const PLAIN_MAX_FRAMES = 1 << 20;

function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/**
 * Whether PROBELAB_JIT asks for the WebAssembly tier: by default, as it is the default tier
 * (jit/table.ts); not for the interpreter (0) or JavaScript units (1, js).
 */
export function wasmStoresFromEnv(): boolean {
  return !['0', '1', 'js'].includes(env('PROBELAB_JIT') ?? '') && typeof WebAssembly === 'object';
}

let wasmStores = wasmStoresFromEnv();

/** Whether frame pools created from now on keep their store on a WebAssembly.Memory (tests). */
export function useWasmStores(on: boolean): void {
  wasmStores = on;
}

/** One pool's WebAssembly.Memory and the TLB state inside it. */
export class WasmStore {
  /** The address space the TLB entries belong to, and its epoch when they were made. */
  owner: Memory | null = null;
  epoch = -1;
  /** Word view of the state region and TLB (detached by growth: see `words`). */
  private g: Int32Array;
  /** TLB flushes (statistics). */
  flushes = 0;

  constructor(readonly memory: WebAssembly.Memory) {
    this.g = new Int32Array(memory.buffer, 0, STORE_BASE >> 2);
    this.emptyTlb();
  }

  /** No TLB entry hits (a zeroed entry would: page 0's tag is 0). */
  private emptyTlb(): void {
    const g = this.words();
    for (let k = TLB_READ >> 2; k < (TLB_WRITE >> 2) + 2 * TLB_ENTRIES; k += 2) g[k] = TLB_EMPTY;
  }

  /** The state and TLB words; a new view after the memory grew (a detached view has length 0). */
  words(): Int32Array {
    if (this.g.length === 0) this.g = new Int32Array(this.memory.buffer, 0, STORE_BASE >> 2);
    return this.g;
  }

  /**
   * Makes the TLB valid for `mem` as it is now: dropped if another space or a page-table change. The
   * dispatch cache names units of one address space: dropped when another one runs.
   */
  bind(mem: Memory): void {
    if (this.owner === mem && this.epoch === mem.epoch) return;
    this.emptyTlb();
    if (this.owner !== mem) this.clearDispatch();
    this.owner = mem;
    this.epoch = mem.epoch;
    this.flushes++;
  }

  /** Empties the dispatch cache (a unit died, or another address space runs). */
  clearDispatch(): void {
    this.words().fill(0, DISPATCH >> 2, (DISPATCH >> 2) + 2 * DISPATCH_ENTRIES);
  }

  /** After Memory's accessor served address `a`: an entry for its page where its fast path applies. */
  fill(mem: Memory, a: number): void {
    const p = a >>> 12;
    const pm = mem.perm[p]!;
    const k = (p & (TLB_ENTRIES - 1)) * 2;
    const add = (STORE_BASE + mem.frame[p]! * 4096 - p * 4096) | 0;
    const g = this.words();
    // Memory's READ_FAST_MASK and WRITE_FAST_MASK, read here at run time: memory.ts imports this
    // module, so its constants are not initialised yet while this one's top level runs.
    if ((pm & (PROT_READ | PAGE_WATCH)) === PROT_READ) {
      g[(TLB_READ >> 2) + k] = p << 12;
      g[(TLB_READ >> 2) + k + 1] = add;
    }
    if ((pm & (PROT_WRITE | PAGE_CODE | PAGE_COW)) === PROT_WRITE) {
      g[(TLB_WRITE >> 2) + k] = p << 12;
      g[(TLB_WRITE >> 2) + k + 1] = add;
    }
  }
}

const stores = new WeakMap<ArrayBuffer, WasmStore>();

/** The WasmStore whose frames `ram` views, if any. */
export function wasmStoreOf(ram: Uint8Array): WasmStore | undefined {
  return stores.get(ram.buffer as ArrayBuffer);
}

/** A zeroed store of `bytes` bytes of frames (a multiple of 64 KiB). */
export function newStore(bytes: number): Uint8Array {
  if (!wasmStores) return new Uint8Array(bytes);
  const memory = new WebAssembly.Memory({ initial: (STORE_BASE + bytes) / WASM_PAGE, maximum: 65536 });
  stores.set(memory.buffer, new WasmStore(memory));
  return new Uint8Array(memory.buffer, STORE_BASE, bytes);
}

/** The store grown to `bytes` bytes with its contents (`old` may be detached afterwards). */
export function growStore(old: Uint8Array, bytes: number): Uint8Array {
  const s = wasmStoreOf(old);
  if (s === undefined) {
    const ram = new Uint8Array(bytes);
    ram.set(old);
    return ram;
  }
  s.memory.grow((bytes - old.length) / WASM_PAGE);
  stores.set(s.memory.buffer, s);
  return new Uint8Array(s.memory.buffer, STORE_BASE, bytes);
}

/** Most frames the store behind `ram` can ever hold (a WebAssembly.Memory keeps 64 KiB for the state). */
export function storeMaxFrames(ram: Uint8Array): number {
  return wasmStoreOf(ram) === undefined ? PLAIN_MAX_FRAMES : WASM_MAX_FRAMES;
}

/** Word view of a store (Memory's ram32). */
export function storeWords(ram: Uint8Array): Int32Array {
  return new Int32Array(ram.buffer, ram.byteOffset, ram.length >> 2);
}
