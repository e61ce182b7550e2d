// Program loader: maps a parsed static ELF32 image into guest Memory and builds the initial
// process stack exactly as Linux's load_elf_binary()/create_elf_tables() (fs/binfmt_elf.c,
// fs/exec.c) do for an i386 process with address-space randomization off.
// Guarantees:
// - Each PT_LOAD is mapped page-aligned with the permissions of its p_flags; page contents are
//   what the kernel's private file mapping shows (file bytes around the segment inside its first
//   and last page), the bss tail of the last file page is zeroed (padzero) and the rest of memsz
//   is fresh zero pages. ET_EXEC loads at its link addresses; static-pie at load bias
//   0x56555000 (ELF_ET_DYN_BASE for 32-bit, what Linux picks with ASLR off) unless overridden.
// - The stack is [stackTop - stackSize, stackTop), RW (plus X only if PT_GNU_STACK asks for it),
//   laid out top-down as: 4 zero bytes, execfn, envp strings, argv strings (argv[0] lowest), align
//   16, "i686", 16 AT_RANDOM bytes, then (16-aligned sp) argc, argv[], NULL, envp[], NULL, auxv.
//   auxv is in the kernel's order, minus the vDSO entries (no AT_SYSINFO/AT_SYSINFO_EHDR, so
//   glibc makes system calls with int $0x80) and minus AT_MINSIGSTKSZ/AT_HWCAP2/AT_RSEQ_*.
// - Nothing depends on host state: the same image and options give the same memory, byte for byte.

import { Memory, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from './memory.js';
import { ElfError, PF_R, PF_W, PF_X, PT_LOAD, PT_PHDR, type ElfImage, type ElfSegment } from './elf.js';
import type { SymbolTable } from './symbols.js';

export const AT_NULL = 0;
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_PLATFORM = 15;
export const AT_HWCAP = 16;
export const AT_CLKTCK = 17;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_EXECFN = 31;

/** ELF_ET_DYN_BASE for a 32-bit task: (TASK_SIZE / 3 * 2) page-aligned = 0x56555000. */
export const PIE_LOAD_BASE = 0x56555000;
export const DEFAULT_STACK_TOP = 0xc0000000;
export const DEFAULT_STACK_SIZE = 8 * 1024 * 1024;
/** ELF_PLATFORM on i386: utsname()->machine of a P6-class kernel. */
export const PLATFORM = 'i686';

/** Thrown when the process cannot be set up (arguments too large, bad options, overlaps). */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

export interface LoadOptions {
  argv: string[];
  envp: string[];
  /** AT_EXECFN string (the path passed to execve). */
  execfn: string;
  /** The 16 AT_RANDOM bytes (glibc seeds the stack protector and pointer guard from them). */
  random: Uint8Array;
  hwcap: number;
  uid: number;
  gid: number;
  /** Default: uid / gid. */
  euid?: number;
  egid?: number;
  /** Page-aligned end of the stack mapping (default 0xc0000000). */
  stackTop?: number;
  /** Size of the RW stack mapping (default 8 MiB); it never grows. */
  stackSize?: number;
  /** Load address for static-pie (default PIE_LOAD_BASE). Ignored for ET_EXEC. */
  pieBase?: number;
}

/** Where the initial stack put the strings and the auxiliary vector it wrote. */
export interface StackLayout {
  /** mm->arg_start/arg_end/env_start/env_end (for /proc/self/cmdline and environ). */
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
  execfnAddr: number;
  randomAddr: number;
  platformAddr: number;
  /** The auxiliary vector as written (including the final AT_NULL). */
  auxv: Array<[number, number]>;
}

export interface LoadResult extends StackLayout {
  /** Initial EIP (e_entry + loadBias). */
  entry: number;
  /** Initial ESP: points at argc. */
  sp: number;
  /** Page-aligned end of the highest segment: the initial program break. */
  brkStart: number;
  /** 0 for ET_EXEC. */
  loadBias: number;
  stackTop: number;
  stackBottom: number;
  /** AT_PHDR. */
  phdrAddr: number;
  /** image.symbols rebased by loadBias. */
  symbols: SymbolTable;
}

const PAGE_MASK = PAGE_SIZE - 1;
const pageStart = (a: number): number => a - (a % PAGE_SIZE);
const pageAlign = (a: number): number => Math.ceil(a / PAGE_SIZE) * PAGE_SIZE;
const hex = (n: number): string => '0x' + n.toString(16);

/** PF_* → PROT_* (they use different bit orders). */
export function segmentProt(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

/** Maps every PT_LOAD of `image` (from `bytes`, the file it was parsed from) and builds the stack. */
export function loadElf(mem: Memory, image: ElfImage, bytes: Uint8Array, opts: LoadOptions): LoadResult {
  const stackTop = opts.stackTop ?? DEFAULT_STACK_TOP;
  const stackSize = opts.stackSize ?? DEFAULT_STACK_SIZE;
  if (stackTop % PAGE_SIZE !== 0 || stackTop <= 0 || stackTop > 0x1_0000_0000) {
    throw new LoadError(`stack top ${hex(stackTop)} must be a page-aligned 32-bit address`);
  }
  if (stackSize % PAGE_SIZE !== 0 || stackSize <= 0 || stackSize > stackTop) {
    throw new LoadError(
      `stack size ${stackSize} must be a positive multiple of ${PAGE_SIZE} below the stack top`,
    );
  }
  if (opts.random.length !== 16) throw new LoadError(`AT_RANDOM needs 16 bytes, got ${opts.random.length}`);
  const stackBottom = stackTop - stackSize;

  const loads = image.segments.filter((s) => s.type === PT_LOAD);
  const first = loads[0];
  if (!first) throw new ElfError('malformed ELF: no PT_LOAD segment (nothing to load)');
  // load_elf_binary: load_bias = ELF_PAGESTART(ELF_ET_DYN_BASE - first p_vaddr) for ET_DYN.
  const loadBias =
    image.type === 'pie' ? (((opts.pieBase ?? PIE_LOAD_BASE) - first.vaddr) & ~PAGE_MASK) >>> 0 : 0;

  let brk = 0;
  /** Pages mapped by earlier segments of this load, with their protection. */
  const mine = new Map<number, number>();
  for (const seg of loads) {
    if (seg.memsz === 0) continue;
    const end = mapSegment(mem, seg, loadBias, bytes, mine, stackBottom, stackTop);
    brk = Math.max(brk, end);
  }
  const brkStart = pageAlign(brk);

  // AT_PHDR: where the PT_LOAD holding e_phoff puts it (modern kernels); else PT_PHDR; else
  // the kernel's fallback of load_bias + 0 (such a program cannot find its headers either way).
  let phdrAddr = loadBias;
  const holder = loads.find((s) => s.offset <= image.phoff && image.phoff < s.offset + s.filesz);
  const ptPhdr = image.segments.find((s) => s.type === PT_PHDR);
  if (holder) phdrAddr = image.phoff - holder.offset + holder.vaddr + loadBias;
  else if (ptPhdr) phdrAddr = ptPhdr.vaddr + loadBias;
  phdrAddr >>>= 0;

  const stackProt = PROT_READ | PROT_WRITE | (image.gnuStack && image.gnuStack.flags & PF_X ? PROT_EXEC : 0);
  mem.map(stackBottom, stackSize, stackProt);

  const entry = (image.entry + loadBias) >>> 0;
  const st = buildStack(opts, stackTop, stackSize, (random, execfn, platform) => [
    [AT_HWCAP, opts.hwcap >>> 0],
    [AT_PAGESZ, PAGE_SIZE],
    [AT_CLKTCK, 100],
    [AT_PHDR, phdrAddr],
    [AT_PHENT, image.phentsize],
    [AT_PHNUM, image.phnum],
    [AT_BASE, 0],
    [AT_FLAGS, 0],
    [AT_ENTRY, entry],
    [AT_UID, opts.uid >>> 0],
    [AT_EUID, (opts.euid ?? opts.uid) >>> 0],
    [AT_GID, opts.gid >>> 0],
    [AT_EGID, (opts.egid ?? opts.gid) >>> 0],
    [AT_SECURE, 0],
    [AT_RANDOM, random],
    [AT_EXECFN, execfn],
    [AT_PLATFORM, platform],
    [AT_NULL, 0],
  ]);
  mem.poke(st.sp, st.image);

  return {
    entry,
    sp: st.sp,
    brkStart,
    loadBias,
    stackTop,
    stackBottom,
    phdrAddr,
    argStart: st.argStart,
    argEnd: st.argEnd,
    envStart: st.envStart,
    envEnd: st.envEnd,
    execfnAddr: st.execfnAddr,
    randomAddr: st.randomAddr,
    platformAddr: st.platformAddr,
    auxv: st.auxv,
    symbols: loadBias === 0 ? image.symbols : image.symbols.rebase(loadBias),
  };
}

/** Maps one PT_LOAD; returns the end of its memory image (vaddr + memsz, biased). */
function mapSegment(
  mem: Memory,
  seg: ElfSegment,
  bias: number,
  bytes: Uint8Array,
  mine: Map<number, number>,
  stackBottom: number,
  stackTop: number,
): number {
  const vaddr = (seg.vaddr + bias) >>> 0;
  const fileEnd = vaddr + seg.filesz;
  const memEnd = vaddr + seg.memsz;
  const start = pageStart(vaddr);
  const end = pageAlign(memEnd);
  if (end > 0x1_0000_0000) {
    throw new ElfError(
      `segment at ${hex(vaddr)} (+${hex(seg.memsz)}) does not fit in the 4 GiB address space`,
    );
  }
  if (start < stackTop && end > stackBottom) {
    throw new ElfError(
      `segment ${hex(start)}-${hex(end)} overlaps the stack ${hex(stackBottom)}-${hex(stackTop)}`,
    );
  }
  const prot = segmentProt(seg.flags);

  // Pages shared with an earlier segment keep their contents and get the union of permissions
  // (Linux would replace them; that only differs for hand-made layouts and would lose bytes).
  const fresh: boolean[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) {
    const page = a / PAGE_SIZE;
    const old = mine.get(page);
    if (old === undefined) {
      mem.map(a, PAGE_SIZE, prot);
      mine.set(page, prot);
      fresh.push(true);
    } else {
      mem.protect(a, PAGE_SIZE, old | prot);
      mine.set(page, old | prot);
      fresh.push(false);
    }
  }

  // The file-backed pages of a private mapping show the file around the segment as well: copy
  // that view into fresh pages (only possible when offset and vaddr agree modulo the page size).
  const fileView = seg.filesz > 0 && (seg.offset & PAGE_MASK) === (vaddr & PAGE_MASK);
  if (fileView) {
    const viewOff = seg.offset - (vaddr & PAGE_MASK);
    const viewPages = pageAlign(fileEnd) - start;
    for (let i = 0; i * PAGE_SIZE < viewPages; i++) {
      if (!fresh[i]) continue;
      const from = viewOff + i * PAGE_SIZE;
      if (from >= bytes.length) break;
      mem.poke(start + i * PAGE_SIZE, bytes.subarray(from, Math.min(bytes.length, from + PAGE_SIZE)));
    }
  }
  // The segment's own bytes always (shared pages, or a non-congruent offset).
  if (seg.filesz > 0 && !(fileView && fresh.every(Boolean))) {
    mem.poke(vaddr, bytes.subarray(seg.offset, seg.offset + seg.filesz));
  }
  // bss: zero from the end of the file data to memsz. Fresh pages past the last file page are
  // already zero; the partial last file page (padzero) and shared pages need explicit zeroing.
  if (seg.memsz > seg.filesz) {
    for (let a = fileEnd; a < memEnd;) {
      const pageEnd = pageStart(a) + PAGE_SIZE;
      const n = Math.min(memEnd, pageEnd) - a;
      const idx = (pageStart(a) - start) / PAGE_SIZE;
      const pastFile = pageStart(a) >= pageAlign(fileEnd) || seg.filesz === 0;
      if (!(fresh[idx] && pastFile)) mem.poke(a, new Uint8Array(n));
      a += n;
    }
  }
  return memEnd;
}

interface StackImage extends StackLayout {
  sp: number;
  /** Bytes from sp to stackTop. */
  image: Uint8Array;
}

function cBytes(s: string, what: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  if (b.includes(0)) throw new LoadError(`${what} contains a NUL byte`);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * Lays out the initial stack below stackTop. `auxvFor(random, execfn, platform)` returns the
 * auxiliary vector once the string addresses are known (it must end with AT_NULL).
 */
function buildStack(
  opts: LoadOptions,
  stackTop: number,
  stackSize: number,
  auxvFor: (random: number, execfn: number, platform: number) => Array<[number, number]>,
): StackImage {
  const argv = opts.argv.map((s, i) => cBytes(s, `argv[${i}]`));
  const envp = opts.envp.map((s, i) => cBytes(s, `envp[${i}]`));
  const execfn = cBytes(opts.execfn, 'execfn');
  const platform = cBytes(PLATFORM, 'platform');

  // fs/exec.c: bprm->p starts one pointer below the top; copy_string_kernel(filename), then
  // copy_strings(envp), copy_strings(argv), each copying the last string first, downwards.
  let p = stackTop - 4;
  const strings: Array<[number, Uint8Array]> = [];
  const push = (b: Uint8Array): number => {
    p -= b.length;
    strings.push([p, b]);
    return p;
  };
  const execfnAddr = push(execfn);
  const envAddrs: number[] = new Array<number>(envp.length);
  for (let i = envp.length - 1; i >= 0; i--) envAddrs[i] = push(envp[i]!);
  const envStart = p;
  const argAddrs: number[] = new Array<number>(argv.length);
  for (let i = argv.length - 1; i >= 0; i--) argAddrs[i] = push(argv[i]!);
  const argStart = p;

  // create_elf_tables: p = arch_align_stack(p) (no random offset with ASLR off), then the
  // platform string and AT_RANDOM bytes with STACK_ALLOC (no padding between them).
  p -= p % 16;
  const platformAddr = push(platform);
  const randomAddr = push(opts.random);

  const auxv = auxvFor(randomAddr, execfnAddr, platformAddr);
  // sp = STACK_ADD(p, ei_index); items = argc+1 + envc+1 + 1; sp = STACK_ROUND(sp, items).
  let sp = p - auxv.length * 8;
  const items = argv.length + 1 + (envp.length + 1) + 1;
  sp -= items * 4;
  sp -= ((sp % 16) + 16) % 16;
  const stackLimit = stackTop - stackSize;
  // Linux refuses argument pages beyond a quarter of the stack rlimit (E2BIG); so do we.
  if (stackTop - sp > stackSize / 4 || sp < stackLimit) {
    throw new LoadError(`argument list too long: ${stackTop - sp} bytes of arguments and environment`);
  }

  const image = new Uint8Array(stackTop - sp);
  const dv = new DataView(image.buffer);
  for (const [addr, b] of strings) image.set(b, addr - sp);
  let o = 0;
  const word = (v: number) => {
    dv.setUint32(o, v >>> 0, true);
    o += 4;
  };
  word(argv.length);
  for (const a of argAddrs) word(a);
  word(0);
  for (const a of envAddrs) word(a);
  word(0);
  for (const [k, v] of auxv) {
    word(k);
    word(v);
  }
  return {
    sp,
    image,
    argStart,
    argEnd: envStart,
    envStart,
    envEnd: execfnAddr,
    execfnAddr,
    randomAddr,
    platformAddr,
    auxv,
  };
}
