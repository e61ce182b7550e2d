// Guest address space: 4 KiB pages with read/write/execute permissions over a private frame store.
// Guarantees: every guest access is bounds- and permission-checked against the page table, so guest
// code can only ever touch frames it owns; an access to an unmapped or forbidden page throws the
// preallocated PAGE_FAULT (never a host error). Writes to pages holding decoded code notify the
// code cache so self-modifying code and probe breakpoints are seen.

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
/** Page holds code that the decoder has cached: writes must go through the slow path. */
export const PAGE_CODE = 8;
/** Page is mapped (even with no access permission). */
export const PAGE_MAPPED = 16;
/** Page holds a watched word: reads take the slow path and report watched addresses. */
export const PAGE_WATCH = 32;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
const PAGE_MASK = 0xfff;
const NPAGES = 1 << 20;

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

export interface MappingInfo {
  start: number;
  end: number;
  prot: number;
}

export class Memory {
  /** Frame byte offset into `ram` for each page, or -1 when no frame is allocated yet. */
  readonly frame = new Int32Array(NPAGES).fill(-1);
  /** Permission and state bits per page (PROT_*, PAGE_CODE, PAGE_MAPPED). */
  readonly perm = new Uint8Array(NPAGES);
  ram = new Uint8Array(16 * PAGE_SIZE);
  /** Word view of `ram` for aligned 32-bit accesses (frames are page aligned, so word aligned). */
  ram32 = new Int32Array(this.ram.buffer);
  private ramUsed = 0;
  private freeFrames: number[] = [];
  /** Called with a page number when a page marked PAGE_CODE is written or unmapped. */
  onCodeWrite: (page: number) => void = () => {};
  /** Bytes of frames currently allocated (resident set of the guest). */
  get residentBytes(): number {
    return this.ramUsed - this.freeFrames.length * PAGE_SIZE;
  }

  private allocFrame(): number {
    const f = this.freeFrames.pop();
    if (f !== undefined) {
      this.ram.fill(0, f, f + PAGE_SIZE);
      return f;
    }
    if (this.ramUsed + PAGE_SIZE > this.ram.length) {
      const grown = new Uint8Array(Math.max(this.ram.length * 2, this.ramUsed + PAGE_SIZE));
      grown.set(this.ram);
      this.ram = grown;
      this.ram32 = new Int32Array(grown.buffer);
    }
    const off = this.ramUsed;
    this.ramUsed += PAGE_SIZE;
    return off;
  }

  /** Frame offset of a mapped page, allocating a zero frame on first touch. */
  private frameOf(page: number): number {
    let f = this.frame[page]!;
    if (f < 0) {
      f = this.allocFrame();
      this.frame[page] = f;
    }
    return f;
  }

  /** Frame offset of a mapped page (allocating it); for bulk copies that checked permissions. */
  frameOfPage(page: number): number {
    return this.frameOf(page);
  }

  isMapped(addr: number): boolean {
    return (this.perm[addr >>> PAGE_SHIFT]! & PAGE_MAPPED) !== 0;
  }

  protOf(addr: number): number {
    return this.perm[addr >>> PAGE_SHIFT]! & 7;
  }

  /** Maps [addr, addr+len) (page aligned) with `prot`, zero-filled. Replaces any old mapping. */
  map(addr: number, len: number, prot: number): void {
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      this.releasePage(p);
      this.perm[p] = (prot & 7) | PAGE_MAPPED;
    }
  }

  unmap(addr: number, len: number): void {
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      this.releasePage(p);
      this.perm[p] = 0;
    }
  }

  private releasePage(p: number): void {
    if (this.perm[p]! & PAGE_CODE) this.onCodeWrite(p);
    const f = this.frame[p]!;
    if (f >= 0) {
      this.freeFrames.push(f);
      this.frame[p] = -1;
    }
  }

  /** Changes protection of mapped pages; returns false if any page in range is unmapped. */
  protect(addr: number, len: number, prot: number): boolean {
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) if (!(this.perm[p]! & PAGE_MAPPED)) return false;
    for (let p = first; p <= last; p++) {
      const code = this.perm[p]! & PAGE_CODE;
      if (code && !(prot & PROT_EXEC)) this.onCodeWrite(p);
      this.perm[p] = (prot & 7) | PAGE_MAPPED | (prot & PROT_EXEC ? code : 0) | (this.perm[p]! & PAGE_WATCH);
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

  /** Lowest page-aligned address >= `from` (searching down from `below` when top-down) with len free. */
  findFree(len: number, below: number, above: number): number {
    const pages = (len + PAGE_MASK) >>> PAGE_SHIFT;
    let run = 0;
    for (let p = (below >>> PAGE_SHIFT) - 1; p >= above >>> PAGE_SHIFT; p--) {
      if (this.perm[p]! & PAGE_MAPPED) run = 0;
      else if (++run === pages) return (p << PAGE_SHIFT) >>> 0;
    }
    return -1;
  }

  // ---- guest-permission-checked accessors (used by the CPU) ----

  read8(a: number): number {
    const p = a >>> PAGE_SHIFT;
    if ((this.perm[p]! & (PROT_READ | PAGE_WATCH)) !== PROT_READ) this.readSlow(a, 1);
    // frameOf may grow (replace) `ram`, so take the frame before reading the array.
    const f = this.frameOf(p);
    return this.ram[f + (a & PAGE_MASK)]!;
  }

  read16(a: number): number {
    if ((a & PAGE_MASK) > PAGE_SIZE - 2) return this.read8(a) | (this.read8(a + 1) << 8);
    const p = a >>> PAGE_SHIFT;
    if ((this.perm[p]! & (PROT_READ | PAGE_WATCH)) !== PROT_READ) this.readSlow(a, 2);
    const o = this.frameOf(p) + (a & PAGE_MASK);
    const r = this.ram;
    return r[o]! | (r[o + 1]! << 8);
  }

  read32(a: number): number {
    const p = a >>> PAGE_SHIFT;
    if ((a & 3) === 0) {
      const f = this.frame[p]!;
      if (f >= 0 && (this.perm[p]! & (PROT_READ | PAGE_WATCH)) === PROT_READ)
        return this.ram32[(f + (a & PAGE_MASK)) >> 2]!;
    }
    if ((a & PAGE_MASK) > PAGE_SIZE - 4) return this.read16(a) | (this.read16(a + 2) << 16);
    if ((this.perm[p]! & (PROT_READ | PAGE_WATCH)) !== PROT_READ) this.readSlow(a, 4);
    const o = this.frameOf(p) + (a & PAGE_MASK);
    const r = this.ram;
    return r[o]! | (r[o + 1]! << 8) | (r[o + 2]! << 16) | (r[o + 3]! << 24);
  }

  /** Faults on a forbidden read; reports reads that overlap a watched word. */
  private readSlow(a: number, len: number): void {
    const pm = this.perm[a >>> PAGE_SHIFT]!;
    if (!(pm & PROT_READ)) fault(a, pm & PAGE_MAPPED ? 5 : 4);
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
    for (const p of [addr >>> PAGE_SHIFT, (addr + 3) >>> PAGE_SHIFT])
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
    for (const p of [addr >>> PAGE_SHIFT, (addr + 3) >>> PAGE_SHIFT]) {
      let still = false;
      for (const w of this.watched.keys())
        if (w >>> PAGE_SHIFT === p || (w + 3) >>> PAGE_SHIFT === p) still = true;
      if (!still) this.perm[p] = this.perm[p]! & ~PAGE_WATCH;
    }
  }

  /** Instruction fetch: needs PROT_EXEC. */
  fetch8(a: number): number {
    const p = a >>> PAGE_SHIFT;
    if (!(this.perm[p]! & PROT_EXEC)) fault(a, this.perm[p]! & PAGE_MAPPED ? 21 : 20);
    // frameOf may grow (replace) `ram`, so take the frame before reading the array.
    const f = this.frameOf(p);
    return this.ram[f + (a & PAGE_MASK)]!;
  }

  private writeCheck(a: number, p: number): number {
    const pm = this.perm[p]!;
    if (!(pm & PROT_WRITE)) fault(a, pm & PAGE_MAPPED ? 7 : 6);
    if (pm & PAGE_CODE) this.onCodeWrite(p);
    return this.frameOf(p);
  }

  write8(a: number, v: number): void {
    const p = a >>> PAGE_SHIFT;
    const f =
      (this.perm[p]! & (PROT_WRITE | PAGE_CODE)) === PROT_WRITE ? this.frameOf(p) : this.writeCheck(a, p);
    this.ram[f + (a & PAGE_MASK)] = v;
  }

  write16(a: number, v: number): void {
    if ((a & PAGE_MASK) > PAGE_SIZE - 2) {
      // Check both pages before writing either, so a faulting write changes nothing.
      this.checkWritable(a + 1);
      this.write8(a, v);
      this.write8(a + 1, v >> 8);
      return;
    }
    const p = a >>> PAGE_SHIFT;
    const f =
      (this.perm[p]! & (PROT_WRITE | PAGE_CODE)) === PROT_WRITE ? this.frameOf(p) : this.writeCheck(a, p);
    const o = f + (a & PAGE_MASK);
    const r = this.ram;
    r[o] = v;
    r[o + 1] = v >> 8;
  }

  write32(a: number, v: number): void {
    if ((a & PAGE_MASK) > PAGE_SIZE - 4) {
      this.checkWritable(a);
      this.checkWritable(a + 3);
      this.write16(a, v);
      this.write16(a + 2, v >> 16);
      return;
    }
    const p = a >>> PAGE_SHIFT;
    const f =
      (this.perm[p]! & (PROT_WRITE | PAGE_CODE)) === PROT_WRITE ? this.frameOf(p) : this.writeCheck(a, p);
    const o = f + (a & PAGE_MASK);
    if ((o & 3) === 0) {
      this.ram32[o >> 2] = v;
      return;
    }
    const r = this.ram;
    r[o] = v;
    r[o + 1] = v >> 8;
    r[o + 2] = v >> 16;
    r[o + 3] = v >> 24;
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
      const p = a >>> PAGE_SHIFT;
      this.checkReadable(a);
      const n = Math.min(len - done, PAGE_SIZE - (a & PAGE_MASK));
      const f = this.frame[p]!;
      if (f >= 0) out.set(this.ram.subarray(f + (a & PAGE_MASK), f + (a & PAGE_MASK) + n), done);
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
      const f = this.frameOf(p);
      this.ram.set(data.subarray(done, done + n), f + (a & PAGE_MASK));
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
      const f = this.frame[p]!;
      out[i] = f < 0 ? 0 : this.ram[f + (a & PAGE_MASK)]!;
    }
    return out;
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
   * A private copy of this address space (fork): same mappings, permissions and contents, in
   * frames of its own. Code marks are dropped (the copy gets a fresh code cache); watched words
   * are copied with their page bits. Copies eagerly: one typed-array copy of the frames in use.
   */
  clone(): Memory {
    const c = new Memory();
    c.frame.set(this.frame);
    for (let p = 0; p < NPAGES; p++) {
      const pm = this.perm[p]!;
      if (pm !== 0) c.perm[p] = pm & ~PAGE_CODE;
    }
    c.ram = this.ram.slice(0, Math.max(this.ramUsed, PAGE_SIZE));
    c.ram32 = new Int32Array(c.ram.buffer);
    c.ramUsed = this.ramUsed;
    c.freeFrames = this.freeFrames.slice();
    c.watched = new Map(this.watched);
    return c;
  }

  markCode(page: number): void {
    this.perm[page] = this.perm[page]! | PAGE_CODE;
  }

  clearCode(page: number): void {
    this.perm[page] = this.perm[page]! & ~PAGE_CODE;
  }

  /** Contiguous mappings, for /proc-style dumps and the register-dump "where". */
  mappings(): MappingInfo[] {
    const out: MappingInfo[] = [];
    let cur: MappingInfo | undefined;
    for (let p = 0; p < NPAGES; p++) {
      const pm = this.perm[p]!;
      if (pm & PAGE_MAPPED) {
        if (cur && cur.end === p * PAGE_SIZE && cur.prot === (pm & 7)) cur.end += PAGE_SIZE;
        else {
          cur = { start: p * PAGE_SIZE, end: (p + 1) * PAGE_SIZE, prot: pm & 7 };
          out.push(cur);
        }
      } else cur = undefined;
    }
    return out;
  }
}
