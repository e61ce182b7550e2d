// Guest address space: 4 KiB pages with read/write/execute permissions over frames from a frame
// pool shared copy-on-write by the address spaces of one fork family.
// Guarantees:
// - Every guest access is bounds- and permission-checked against the page table, so guest code can
//   only ever touch frames it owns; an access to an unmapped or forbidden page throws the
//   preallocated PAGE_FAULT (never a host error).
// - Page tables hold frame NUMBERS (not byte offsets), so the whole 4 GiB guest space is addressable:
//   no offset ever exceeds one 4 KiB frame.
// - Host memory grows only with pages the guest wrote: a mapped page starts on the shared zero frame
//   (reads give 0, no allocation) and gets a frame of its own at its first write.
// - A fork shares frames copy-on-write (PAGE_COW): the first write to a shared page copies it, unless
//   every other sharer has let go, and the write fast paths (here and in jit/access.ts) never write
//   a frame whose page has PAGE_COW set.
// - map() refuses (MemoryLimitError) to map more than the limit plus a small reserve for the
//   kernel's own pages; the syscalls check canMap() first and answer ENOMEM, as Linux does under
//   RLIMIT_AS.
// Writes to pages holding decoded code notify the code cache so self-modifying code and probe
// breakpoints are seen.

import { ElfError } from './elf.js';
import { growStore, newStore, storeMaxFrames, storeWords } from './jit/wasm-store.js';

/**
 * The page bits and sizes below as a const enum: the accessors' uses compile to number literals (V8
 * reads a module-level `const` from the module's context, with a TDZ check, on every use).
 */
const enum M {
  Read = 1,
  Write = 2,
  Exec = 4,
  Code = 8,
  Mapped = 16,
  Watch = 32,
  Cow = 64,
  Shared = 128,
  ReadFast = Read | Watch,
  WriteFast = Write | Code | Cow,
  Shift = 12,
  Size = 4096,
  Mask = 0xfff,
}

/**
 * The accessors' fast-path tests as literals for the interpreter's loop (cpu.ts), which reads and
 * writes aligned words and bytes itself when `perm[page] & ReadMask` equals Read (or `& WriteMask`
 * equals Write), as read32/write32 here and the compiled code (jit/access.ts) do; anything else goes
 * through the accessors. Why: inlined by V8, the accessors used up the loop's inlining budget.
 */
export const enum Fast {
  ReadMask = M.ReadFast,
  Read = M.Read,
  WriteMask = M.WriteFast,
  Write = M.Write,
  Shift = M.Shift,
  Mask = M.Mask,
}

export const PROT_READ = M.Read;
export const PROT_WRITE = M.Write;
export const PROT_EXEC = M.Exec;
/** Page holds code that the decoder has cached: writes must go through the slow path. */
export const PAGE_CODE = M.Code;
/** Page is mapped (even with no access permission). */
export const PAGE_MAPPED = M.Mapped;
/** Page holds a watched word: reads take the slow path and report watched addresses. */
export const PAGE_WATCH = M.Watch;
/** Page's frame is the zero frame or may be shared with another address space: writes copy it first. */
export const PAGE_COW = M.Cow;
/** Page of a MAP_SHARED mapping: a fork child shares its frame for writing too (no copy-on-write). */
export const PAGE_SHARED = M.Shared;

/** A page whose `perm & READ_FAST_MASK` equals PROT_READ may be read straight from its frame. */
export const READ_FAST_MASK = M.ReadFast;
/** A page whose `perm & WRITE_FAST_MASK` equals PROT_WRITE may be written straight into its frame. */
export const WRITE_FAST_MASK = M.WriteFast;

export const PAGE_SHIFT = M.Shift;
export const PAGE_SIZE = M.Size;
const PAGE_MASK = M.Mask;
const NPAGES = 1 << 20;
/** Pages per group: whole-space walks (fork, release, mappings) skip groups with nothing mapped. */
const GROUP_SHIFT = 10;
const GROUP_PAGES = 1 << GROUP_SHIFT;
const NGROUPS = NPAGES >>> GROUP_SHIFT;

/** The whole 32-bit space: a limit this large limits nothing. */
export const MEM_LIMIT_MAX = 0x1_0000_0000;
/** The smallest --mem accepted (a static program needs a few hundred KiB plus its stack). */
export const MEM_LIMIT_MIN = 16 << 20;
/**
 * Default bytes a process may map (--mem). Far above what the test programs and workloads map (tens
 * of MiB), a third of what an i386 process can address at all, and small enough that a runaway guest
 * with a few processes cannot push a typical host into swap: host memory follows the pages written.
 */
export const DEFAULT_MEM_LIMIT = 1 << 30;
/** Pages map() grants beyond the limit for the kernel's own mappings (sigreturn page, probe pages). */
const KERNEL_RESERVE_PAGES = 256;

/** Thrown (a single shared object, so no allocation) when a guest access faults. */
export class PageFault {
  addr = 0;
  /** Linux page-fault error code bits: 1 = protection violation, 2 = write, 4 = user, 16 = fetch. */
  code = 0;
}
export const PAGE_FAULT = new PageFault();

function fault(addr: number, code: number): never {
  PAGE_FAULT.addr = addr >>> 0;
  PAGE_FAULT.code = code;
  throw PAGE_FAULT;
}

/** A mapping the kernel itself asked for (loader, probe pages) would pass the memory limit. */
export class MemoryLimitError extends ElfError {}

export interface MappingInfo {
  start: number;
  end: number;
  prot: number;
}

/**
 * Zeroed page tables of released address spaces, for the next Memory (fork and exec make one each):
 * taking 5 MiB of fresh zeroed memory from the host costs more than the whole rest of a fork.
 */
const spareTables: Array<{ frame: Int32Array; perm: Uint8Array }> = [];
const MAX_SPARE_TABLES = 8;
/** The double view of a store (its byte offset is a multiple of 8: 0 or the wasm store's base). */
function doubles(ram: Uint8Array): Float64Array {
  return new Float64Array(ram.buffer, ram.byteOffset, ram.length >> 3);
}

/** A released Memory's tables: empty, so every access faults and nothing can be written. */
const NO_FRAMES = new Int32Array(0);
const NO_PERMS = new Uint8Array(0);

/**
 * 4 KiB frames in one flat store, with reference counts (page-table entries naming them, over every
 * address space of the pool). Frame 0 is the zero frame: always zero, never counted, never written.
 * Freed frames are reused before the store grows; the store doubles when full (the old one is
 * dropped), and every member Memory is given the new arrays at once. Frame f's bytes are at
 * f * 4096: word index (f << 10) | (offset >> 2) stays an int32 for every frame.
 */
export class FramePool {
  ram = newStore(16 * PAGE_SIZE);
  ram32 = storeWords(this.ram);
  ram64 = doubles(this.ram);
  private used = 1;
  private refs = new Int32Array(16);
  private readonly free: number[] = [];
  /** Address spaces reading this store (told when it is replaced). */
  private readonly members = new Set<Memory>();
  /** Pages copied because a write hit a shared frame (statistics). */
  copies = 0;

  /** Frames in use by some page table. */
  get liveFrames(): number {
    return this.used - 1 - this.free.length;
  }

  join(m: Memory): void {
    this.members.add(m);
  }

  leave(m: Memory): void {
    this.members.delete(m);
  }

  /** A zero-filled frame with one reference; a fault when the store is at its 4 GiB maximum. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) {
      this.ram.fill(0, reused * PAGE_SIZE, (reused + 1) * PAGE_SIZE);
      this.refs[reused] = 1;
      return reused;
    }
    if (this.used * PAGE_SIZE === this.ram.length) this.grow();
    const f = this.used++;
    this.refs[f] = 1;
    return f;
  }

  private grow(): void {
    const frames = this.ram.length / PAGE_SIZE;
    // Every address space of a fork family together wrote 4 GiB: nothing more can be given.
    if (frames >= storeMaxFrames(this.ram)) fault(0, 6);
    const ram = growStore(this.ram, Math.min(frames * 2, storeMaxFrames(this.ram)) * PAGE_SIZE);
    const refs = new Int32Array(ram.length / PAGE_SIZE);
    refs.set(this.refs);
    this.ram = ram;
    this.ram32 = storeWords(ram);
    this.ram64 = doubles(ram);
    this.refs = refs;
    for (const m of this.members) {
      m.ram = this.ram;
      m.ram32 = this.ram32;
      m.ram64 = this.ram64;
    }
  }

  ref(f: number): void {
    this.refs[f]!++;
  }

  unref(f: number): void {
    if (--this.refs[f]! === 0) this.free.push(f);
  }

  /** True when `f` is named by exactly one page-table entry. */
  sole(f: number): boolean {
    return this.refs[f] === 1;
  }

  /** Copies frame `from` into frame `to`. */
  copy(from: number, to: number): void {
    this.ram.copyWithin(to * PAGE_SIZE, from * PAGE_SIZE, (from + 1) * PAGE_SIZE);
  }
}

export interface MemoryOptions {
  /** Bytes the guest may have mapped (RLIMIT_AS); default and maximum MEM_LIMIT_MAX. */
  limit?: number;
  /** Share frames with the address spaces of this pool (fork); default a pool of its own. */
  pool?: FramePool;
}

export class Memory {
  /** Frame number of each page (0: the zero frame, which every untouched page reads). */
  frame: Int32Array;
  /** Permission and state bits per page (PROT_*, PAGE_CODE, PAGE_MAPPED, PAGE_WATCH, PAGE_COW). */
  perm: Uint8Array;
  readonly pool: FramePool;
  /** The pool's store (replaced when it grows: read it at each access, never keep it). */
  ram: Uint8Array;
  /** Word view of `ram`. */
  ram32: Int32Array;
  /** Double view of `ram` (the x87's aligned 64-bit loads and stores: readF64, writeF64). */
  ram64: Float64Array;
  /** Mapped pages per group of GROUP_PAGES. */
  private readonly groupMapped = new Uint16Array(NGROUPS);
  /** Pages mapped now (the guest's VmSize in pages). */
  mappedPages = 0;
  /** Pages whose frame is not the zero frame (shared frames count in every sharer). */
  private residentPages = 0;
  /** The most pages the guest may map (RLIMIT_AS in pages). */
  readonly limitPages: number;
  /** Moves whenever a page may lose a permission or change frames (wasm code's TLB: jit/wasm-store.ts). */
  epoch = 0;
  /** Called with a page number when a page marked PAGE_CODE is written or unmapped. */
  onCodeWrite: (page: number) => void = () => {};

  constructor(opts: MemoryOptions = {}) {
    const limit = Math.min(opts.limit ?? MEM_LIMIT_MAX, MEM_LIMIT_MAX);
    this.limitPages = Math.floor(limit / PAGE_SIZE);
    const tables = spareTables.pop();
    this.frame = tables?.frame ?? new Int32Array(NPAGES);
    this.perm = tables?.perm ?? new Uint8Array(NPAGES);
    this.pool = opts.pool ?? new FramePool();
    this.ram = this.pool.ram;
    this.ram32 = this.pool.ram32;
    this.ram64 = this.pool.ram64;
    this.pool.join(this);
  }

  /** Bytes of frames this address space names other than the zero frame (shared ones included). */
  get residentBytes(): number {
    return this.residentPages * PAGE_SIZE;
  }

  /** Bytes mapped (VmSize). */
  get mappedBytes(): number {
    return this.mappedPages * PAGE_SIZE;
  }

  /** The limit in bytes. */
  get limitBytes(): number {
    return this.limitPages * PAGE_SIZE;
  }

  /** Pages of [addr, addr+len) (page aligned) not mapped now. */
  private unmappedIn(addr: number, len: number): number {
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    let n = 0;
    for (let p = first; p <= last; p++) if (!(this.perm[p]! & PAGE_MAPPED)) n++;
    return n;
  }

  /**
   * True when mapping [addr, addr+len) keeps the guest within its limit, or `limitPages` when lower
   * (Linux's may_expand_vm).
   */
  canMap(addr: number, len: number, limitPages = this.limitPages): boolean {
    return this.mappedPages + this.unmappedIn(addr, len) <= Math.min(limitPages, this.limitPages);
  }

  /** True when `pages` more pages keep the guest within its limit (or `limitPages` when lower). */
  canGrow(pages: number, limitPages = this.limitPages): boolean {
    return this.mappedPages + pages <= Math.min(limitPages, this.limitPages);
  }

  /**
   * Frame number of page `p` for writing: a page on the zero frame gets a zeroed frame of its own,
   * a page on a shared frame gets a copy (or keeps the frame when no other page names it any more).
   * The page must be mapped; permissions are the caller's business.
   */
  private unshare(p: number): number {
    const pm = this.perm[p]!;
    const f = this.frame[p]!;
    if (!(pm & PAGE_COW)) return f;
    const pool = this.pool;
    let nf = f;
    if (f === 0) {
      nf = pool.alloc();
      this.residentPages++;
    } else if (!pool.sole(f)) {
      nf = pool.alloc();
      pool.copy(f, nf);
      pool.unref(f);
      pool.copies++;
    }
    this.frame[p] = nf;
    this.perm[p] = pm & ~PAGE_COW;
    this.epoch++;
    return nf;
  }

  /** A mapped page's frame bytes for reading (the zero frame if never written); a view, use at once. */
  pageBytes(page: number): Uint8Array {
    const o = this.frame[page]! * PAGE_SIZE;
    return this.ram.subarray(o, o + PAGE_SIZE);
  }

  /** A mapped page's frame bytes for writing (copy-on-write resolved); for bulk writers that checked permissions. */
  writablePageBytes(page: number): Uint8Array {
    const o = this.unshare(page) * PAGE_SIZE;
    return this.ram.subarray(o, o + PAGE_SIZE);
  }

  isMapped(addr: number): boolean {
    return (this.perm[addr >>> PAGE_SHIFT]! & PAGE_MAPPED) !== 0;
  }

  protOf(addr: number): number {
    return this.perm[addr >>> PAGE_SHIFT]! & 7;
  }

  /**
   * Maps [addr, addr+len) (page aligned) with `prot`, zero-filled; `shared` pages stay shared with fork
   * children. Replaces any old mapping. Throws MemoryLimitError beyond the limit and the kernel's
   * reserve (guest requests check canMap first).
   */
  map(addr: number, len: number, prot: number, shared = false): void {
    const added = this.unmappedIn(addr, len);
    if (this.mappedPages + added > this.limitPages + KERNEL_RESERVE_PAGES)
      throw new MemoryLimitError(
        `needs more than the guest memory limit of ${formatBytes(this.limitBytes)} (--mem)`,
      );
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    this.epoch++;
    for (let p = first; p <= last; p++) {
      const was = this.perm[p]!;
      this.releasePage(p);
      this.perm[p] = (prot & 7) | PAGE_MAPPED | PAGE_COW | (was & PAGE_WATCH) | (shared ? PAGE_SHARED : 0);
      if (!(was & PAGE_MAPPED)) this.groupMapped[p >>> GROUP_SHIFT]!++;
    }
    this.mappedPages += added;
  }

  unmap(addr: number, len: number): void {
    this.epoch++;
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      const was = this.perm[p]!;
      this.releasePage(p);
      // A watched word stays watched if the page is mapped again.
      this.perm[p] = was & PAGE_WATCH;
      if (was & PAGE_MAPPED) {
        this.groupMapped[p >>> GROUP_SHIFT]!--;
        this.mappedPages--;
      }
    }
  }

  private releasePage(p: number): void {
    if (this.perm[p]! & PAGE_CODE) this.onCodeWrite(p);
    const f = this.frame[p]!;
    if (f !== 0) {
      this.pool.unref(f);
      this.frame[p] = 0;
      this.residentPages--;
    }
  }

  /**
   * Moves `pages` mapped pages from `from` to `to` (page aligned, ranges disjoint, destination
   * unmapped): frames, permissions and copy-on-write state move; nothing is copied (mremap).
   */
  move(from: number, to: number, pages: number): void {
    const src = from >>> PAGE_SHIFT;
    const dst = to >>> PAGE_SHIFT;
    this.epoch++;
    for (let i = 0; i < pages; i++) {
      const p = src + i;
      const q = dst + i;
      const pm = this.perm[p]!;
      if (pm & PAGE_CODE) this.onCodeWrite(p);
      this.perm[q] = (pm & ~(PAGE_CODE | PAGE_WATCH)) | (this.perm[q]! & PAGE_WATCH);
      this.frame[q] = this.frame[p]!;
      this.groupMapped[q >>> GROUP_SHIFT]!++;
      this.perm[p] = pm & PAGE_WATCH;
      this.frame[p] = 0;
      this.groupMapped[p >>> GROUP_SHIFT]!--;
    }
  }

  /** Changes protection of mapped pages; returns false if any page in range is unmapped. */
  protect(addr: number, len: number, prot: number): boolean {
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) if (!(this.perm[p]! & PAGE_MAPPED)) return false;
    this.epoch++;
    for (let p = first; p <= last; p++) {
      const pm = this.perm[p]!;
      const code = pm & PAGE_CODE;
      if (code && !(prot & PROT_EXEC)) this.onCodeWrite(p);
      this.perm[p] =
        (prot & 7) |
        PAGE_MAPPED |
        (prot & PROT_EXEC ? code : 0) |
        (pm & (PAGE_WATCH | PAGE_COW | PAGE_SHARED));
    }
    return true;
  }

  /** True when every page of [addr, addr+len) is mapped. */
  rangeMapped(addr: number, len: number): boolean {
    if (len <= 0) return true;
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) if (!(this.perm[p]! & PAGE_MAPPED)) return false;
    return true;
  }

  /** Highest page-aligned address in [above, below) with `len` bytes unmapped (top-down search), or -1. */
  findFree(len: number, below: number, above: number): number {
    const pages = (len + PAGE_MASK) >>> PAGE_SHIFT;
    const bottom = above >>> PAGE_SHIFT;
    let run = 0;
    for (let p = (below >>> PAGE_SHIFT) - 1; p >= bottom; p--) {
      // A whole empty (or full) group at once.
      if ((p & (GROUP_PAGES - 1)) === GROUP_PAGES - 1 && p - (GROUP_PAGES - 1) >= bottom) {
        const g = this.groupMapped[p >>> GROUP_SHIFT]!;
        if (g === 0) {
          run += GROUP_PAGES;
          if (run >= pages) return ((p - (GROUP_PAGES - 1) + run - pages) << PAGE_SHIFT) >>> 0;
          p -= GROUP_PAGES - 1;
          continue;
        }
        if (g === GROUP_PAGES) {
          run = 0;
          p -= GROUP_PAGES - 1;
          continue;
        }
      }
      if (this.perm[p]! & PAGE_MAPPED) run = 0;
      else if (++run === pages) return (p << PAGE_SHIFT) >>> 0;
    }
    return -1;
  }

  // ---- guest-permission-checked accessors (used by the CPU) ----

  read8(a: number): number {
    const p = a >>> M.Shift;
    if ((this.perm[p]! & M.ReadFast) !== M.Read) this.readSlow(a, 1);
    return this.ram[((this.frame[p]! << M.Shift) | (a & M.Mask)) >>> 0]!;
  }

  read16(a: number): number {
    if ((a & M.Mask) > M.Size - 2) return this.read8(a) | (this.read8(a + 1) << 8);
    const p = a >>> M.Shift;
    if ((this.perm[p]! & M.ReadFast) !== M.Read) this.readSlow(a, 2);
    const r = this.ram;
    const o = ((this.frame[p]! << M.Shift) | (a & M.Mask)) >>> 0;
    return r[o]! | (r[o + 1]! << 8);
  }

  read32(a: number): number {
    const p = a >>> M.Shift;
    if ((a & 3) === 0 && (this.perm[p]! & M.ReadFast) === M.Read)
      return this.ram32[(this.frame[p]! << 10) | ((a & M.Mask) >> 2)]!;
    return this.read32Other(a);
  }

  /** read32 off its fast path (kept out of it so V8 inlines the fast path into its callers). */
  private read32Other(a: number): number {
    const p = a >>> M.Shift;
    if ((a & M.Mask) > M.Size - 4) return this.read16(a) | (this.read16(a + 2) << 16);
    if ((this.perm[p]! & M.ReadFast) !== M.Read) this.readSlow(a, 4);
    const r = this.ram;
    const o = ((this.frame[p]! << M.Shift) | (a & M.Mask)) >>> 0;
    return r[o]! | (r[o + 1]! << 8) | (r[o + 2]! << 16) | (r[o + 3]! << 24);
  }

  /** Faults on a forbidden read; reports reads that overlap a watched word. */
  private readSlow(a: number, len: number): void {
    const pm = this.perm[a >>> M.Shift]!;
    if (!(pm & M.Read)) fault(a, pm & M.Mapped ? 5 : 4);
    const u = a >>> 0;
    for (const w of this.watched.keys()) if (u < w + 4 && w < u + len) this.onWatchRead(w, u);
  }

  /** Watched 4-byte words (address → reference count). */
  private watched = new Map<number, number>();
  /** Called with the watched word and the address read. */
  onWatchRead: (word: number, addr: number) => void = () => {};

  watch(addr: number): void {
    addr = addr >>> 0;
    this.watched.set(addr, (this.watched.get(addr) ?? 0) + 1);
    this.markWatched(addr);
  }

  private markWatched(addr: number): void {
    this.epoch++;
    for (const p of [addr >>> M.Shift, ((addr + 3) >>> 0) >>> M.Shift])
      this.perm[p] = this.perm[p]! | PAGE_WATCH;
  }

  unwatch(addr: number): void {
    addr = addr >>> 0;
    const n = (this.watched.get(addr) ?? 0) - 1;
    if (n > 0) {
      this.watched.set(addr, n);
      return;
    }
    this.watched.delete(addr);
    for (const p of [addr >>> M.Shift, (addr + 3) >>> M.Shift]) {
      let still = false;
      for (const w of this.watched.keys()) if (w >>> M.Shift === p || (w + 3) >>> M.Shift === p) still = true;
      if (!still) this.perm[p] = this.perm[p]! & ~PAGE_WATCH;
    }
  }

  /** Instruction fetch: needs M.Exec. */
  fetch8(a: number): number {
    const p = a >>> M.Shift;
    if (!(this.perm[p]! & M.Exec)) fault(a, this.perm[p]! & M.Mapped ? 21 : 20);
    return this.ram[((this.frame[p]! << M.Shift) | (a & M.Mask)) >>> 0]!;
  }

  /** The frame to write at `a` (page `p`) after the checks the fast path skipped. */
  private writeCheck(a: number, p: number): number {
    const pm = this.perm[p]!;
    if (!(pm & M.Write)) fault(a, pm & M.Mapped ? 7 : 6);
    if (pm & M.Code) this.onCodeWrite(p);
    return this.unshare(p);
  }

  write8(a: number, v: number): void {
    const p = a >>> M.Shift;
    const f = (this.perm[p]! & M.WriteFast) === M.Write ? this.frame[p]! : this.writeCheck(a, p);
    this.ram[((f << M.Shift) | (a & M.Mask)) >>> 0] = v;
  }

  write16(a: number, v: number): void {
    if ((a & M.Mask) > M.Size - 2) {
      // Check both pages before writing either, so a faulting write changes nothing.
      this.checkWritable(a + 1);
      this.write8(a, v);
      this.write8(a + 1, v >> 8);
      return;
    }
    const p = a >>> M.Shift;
    const f = (this.perm[p]! & M.WriteFast) === M.Write ? this.frame[p]! : this.writeCheck(a, p);
    const r = this.ram;
    const o = ((f << M.Shift) | (a & M.Mask)) >>> 0;
    r[o] = v;
    r[o + 1] = v >> 8;
  }

  write32(a: number, v: number): void {
    const p = a >>> M.Shift;
    if ((a & 3) === 0 && (this.perm[p]! & M.WriteFast) === M.Write)
      this.ram32[(this.frame[p]! << 10) | ((a & M.Mask) >> 2)] = v;
    else this.write32Other(a, v);
  }

  /** write32 off its fast path (kept out of it so V8 inlines the fast path into its callers). */
  private write32Other(a: number, v: number): void {
    const p = a >>> M.Shift;
    if ((a & M.Mask) > M.Size - 4) {
      this.checkWritable(a);
      this.checkWritable(a + 3);
      this.write16(a, v);
      this.write16(a + 2, v >> 16);
      return;
    }
    const f = (this.perm[p]! & M.WriteFast) === M.Write ? this.frame[p]! : this.writeCheck(a, p);
    const o = a & M.Mask;
    if ((o & 3) === 0) {
      this.ram32[(f << 10) | (o >> 2)] = v;
      return;
    }
    const r = this.ram;
    const b = ((f << M.Shift) | o) >>> 0;
    r[b] = v;
    r[b + 1] = v >> 8;
    r[b + 2] = v >> 16;
    r[b + 3] = v >> 24;
  }

  /**
   * The double at `a` when `a` is 8-aligned on a page read32 would read directly, else NaN: the
   * caller (the x87's m64 loads) then reads the two words itself, which is also how it gets a NaN's
   * exact bits. Never faults and never reports a watched read (those pages answer NaN).
   */
  readF64(a: number): number {
    const p = a >>> M.Shift;
    if ((a & 7) === 0 && (this.perm[p]! & M.ReadFast) === M.Read)
      return this.ram64[(this.frame[p]! << 9) | ((a & M.Mask) >> 3)]!;
    return NaN;
  }

  /**
   * Stores the double `v` (not NaN: a NaN's bits go as two words) at `a` and returns true when `a`
   * is 8-aligned on a page write32 would write directly; false, writing nothing, otherwise.
   */
  writeF64(a: number, v: number): boolean {
    const p = a >>> M.Shift;
    if ((a & 7) !== 0 || (this.perm[p]! & M.WriteFast) !== M.Write) return false;
    this.ram64[(this.frame[p]! << 9) | ((a & M.Mask) >> 3)] = v;
    return true;
  }

  /** Throws the page fault a write at `a` would take, without writing. */
  checkWritable(a: number): void {
    const pm = this.perm[a >>> PAGE_SHIFT]!;
    if (!(pm & PROT_WRITE)) fault(a, pm & PAGE_MAPPED ? 7 : 6);
  }

  checkReadable(a: number): void {
    const pm = this.perm[a >>> PAGE_SHIFT]!;
    if (!(pm & PROT_READ)) fault(a, pm & PAGE_MAPPED ? 5 : 4);
  }

  // ---- host-side accessors (loader, syscalls, probes) ----

  /** Reads guest bytes honouring read permission (syscalls acting for the guest). */
  readBytes(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = (addr + done) >>> 0;
      this.checkReadable(a);
      const n = Math.min(len - done, PAGE_SIZE - (a & PAGE_MASK));
      const o = a & PAGE_MASK;
      out.set(this.pageBytes(a >>> PAGE_SHIFT).subarray(o, o + n), done);
      done += n;
    }
    return out;
  }

  /** Writes guest bytes honouring write permission (syscalls acting for the guest). */
  writeBytes(addr: number, data: Uint8Array): void {
    for (let done = 0; done < data.length;) {
      const a = (addr + done) >>> 0;
      this.checkWritable(a);
      const n = Math.min(data.length - done, PAGE_SIZE - (a & PAGE_MASK));
      done += n;
    }
    this.poke(addr, data);
  }

  /** Writes bytes ignoring permissions (loader, probe engine patching text). Pages must be mapped. */
  poke(addr: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = (addr + done) >>> 0;
      const p = a >>> PAGE_SHIFT;
      if (!(this.perm[p]! & PAGE_MAPPED)) fault(a, 6);
      if (this.perm[p]! & PAGE_CODE) this.onCodeWrite(p);
      const n = Math.min(data.length - done, PAGE_SIZE - (a & PAGE_MASK));
      this.writablePageBytes(p).set(data.subarray(done, done + n), a & PAGE_MASK);
      done += n;
    }
  }

  /** Reads bytes ignoring permissions (pages must be mapped). */
  peek(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const a = (addr + i) >>> 0;
      const p = a >>> PAGE_SHIFT;
      if (!(this.perm[p]! & PAGE_MAPPED)) fault(a, 4);
      out[i] = this.ram[((this.frame[p]! << PAGE_SHIFT) | (a & PAGE_MASK)) >>> 0]!;
    }
    return out;
  }

  /** peek() of one little-endian 32-bit word, without allocating (the probe engine's hot path). */
  peek32(addr: number): number {
    const a0 = addr >>> 0;
    const p0 = a0 >>> PAGE_SHIFT;
    if ((a0 & 3) === 0 && this.perm[p0]! & PAGE_MAPPED)
      return this.ram32[(this.frame[p0]! << 10) | ((a0 & PAGE_MASK) >> 2)]!;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const a = (addr + i) >>> 0;
      const p = a >>> PAGE_SHIFT;
      if (!(this.perm[p]! & PAGE_MAPPED)) fault(a, 4);
      v |= this.ram[((this.frame[p]! << PAGE_SHIFT) | (a & PAGE_MASK)) >>> 0]! << (8 * i);
    }
    return v;
  }

  /** Reads a NUL-terminated string (at most `max` bytes) honouring read permission. */
  readCString(addr: number, max = 4096): string {
    const bytes: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.read8((addr + i) >>> 0);
      if (b === 0) break;
      bytes.push(b);
    }
    return Buffer.from(bytes).toString('utf8');
  }

  /**
   * A copy of this address space (fork): same mappings, permissions, limit and contents. Frames
   * of MAP_SHARED pages are shared outright; the others copy-on-write: every page naming a frame gets PAGE_COW here and in the copy, so
   * the first write on either side copies the page (or keeps it if nobody else names it any
   * more). Code marks are dropped in the copy (it gets a fresh code cache); watched words are
   * copied with their page bits. Costs a walk of the mapped groups, no frame copies.
   */
  clone(): Memory {
    const c = new Memory({ limit: this.limitBytes, pool: this.pool });
    const pool = this.pool;
    this.epoch++;
    for (let g = 0; g < NGROUPS; g++) {
      const n = this.groupMapped[g]!;
      if (n === 0) continue;
      c.groupMapped[g] = n;
      const end = (g + 1) << GROUP_SHIFT;
      for (let p = g << GROUP_SHIFT; p < end; p++) {
        let pm = this.perm[p]!;
        if (pm === 0) continue;
        if (pm & PAGE_SHARED) {
          // Both sides write the same frame: give an untouched page its frame now.
          c.frame[p] = this.unshare(p);
          pool.ref(c.frame[p]!);
          c.perm[p] = this.perm[p]! & ~PAGE_CODE;
          continue;
        }
        const f = this.frame[p]!;
        if (f !== 0) {
          pool.ref(f);
          pm |= PAGE_COW;
          this.perm[p] = pm;
          c.frame[p] = f;
        }
        c.perm[p] = pm & ~PAGE_CODE;
      }
    }
    c.mappedPages = this.mappedPages;
    c.residentPages = this.residentPages;
    c.watched = new Map(this.watched);
    for (const w of c.watched.keys()) c.markWatched(w);
    return c;
  }

  /**
   * Lets go of every frame (the address space is gone: its last process was reaped or execed), so
   * the pages other address spaces share with it become theirs alone. Its page tables, zeroed, go
   * to the next Memory created; this one is left with empty tables, where every access faults.
   */
  release(): void {
    const pool = this.pool;
    if (this.frame === NO_FRAMES) return;
    pool.leave(this);
    this.epoch++;
    for (const w of this.watched.keys()) {
      this.perm[w >>> PAGE_SHIFT] = 0;
      this.perm[((w + 3) >>> 0) >>> PAGE_SHIFT] = 0;
    }
    for (let g = 0; g < NGROUPS; g++) {
      if (this.groupMapped[g] === 0) continue;
      const end = (g + 1) << GROUP_SHIFT;
      for (let p = g << GROUP_SHIFT; p < end; p++) {
        const f = this.frame[p]!;
        if (f !== 0) {
          pool.unref(f);
          this.frame[p] = 0;
        }
        this.perm[p] = 0;
      }
      this.groupMapped[g] = 0;
    }
    this.mappedPages = 0;
    this.residentPages = 0;
    if (spareTables.length < MAX_SPARE_TABLES) spareTables.push({ frame: this.frame, perm: this.perm });
    this.frame = NO_FRAMES;
    this.perm = NO_PERMS;
  }

  markCode(page: number): void {
    this.epoch++;
    this.perm[page] = this.perm[page]! | PAGE_CODE;
  }

  clearCode(page: number): void {
    this.perm[page] = this.perm[page]! & ~PAGE_CODE;
  }

  /** Contiguous mappings, for /proc-style dumps and the register-dump "where". */
  mappings(): MappingInfo[] {
    const out: MappingInfo[] = [];
    let cur: MappingInfo | undefined;
    for (let g = 0; g < NGROUPS; g++) {
      if (this.groupMapped[g] === 0) {
        cur = undefined;
        continue;
      }
      const end = (g + 1) << GROUP_SHIFT;
      for (let p = g << GROUP_SHIFT; p < end; p++) {
        const pm = this.perm[p]!;
        if (pm & PAGE_MAPPED) {
          if (cur && cur.end === p * PAGE_SIZE && cur.prot === (pm & 7)) cur.end += PAGE_SIZE;
          else {
            cur = { start: p * PAGE_SIZE, end: (p + 1) * PAGE_SIZE, prot: pm & 7 };
            out.push(cur);
          }
        } else cur = undefined;
      }
    }
    return out;
  }
}

/** Bytes as people write them for --mem: "1 GiB", "512 MiB", "4096 bytes". */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1 << 30],
    ['MiB', 1 << 20],
    ['KiB', 1 << 10],
  ] as const)
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return `${n} bytes`;
}

/**
 * A size in bytes with an optional K, M or G suffix (powers of 1024; "KiB", "MB"... spellings
 * accepted), rounded down to a whole byte. Null when malformed or not a safe integer.
 */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = { k: 1 << 10, m: 1 << 20, g: 1 << 30 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

/** A --mem SIZE (parseByteSize), rounded down to whole pages. Null unless in MEM_LIMIT_MIN..MEM_LIMIT_MAX. */
export function parseMemSize(text: string): number | null {
  const bytes = parseByteSize(text);
  if (bytes === null) return null;
  const n = Math.floor(bytes / PAGE_SIZE) * PAGE_SIZE;
  return n >= MEM_LIMIT_MIN && n <= MEM_LIMIT_MAX ? n : null;
}
