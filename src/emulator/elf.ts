// ELF32 parser for the programs probelab runs: static i386 executables (ET_EXEC) and static-pie
// (ET_DYN without PT_INTERP).
// Guarantees: parseElf either returns an ElfImage whose program headers, every PT_LOAD's file
// range, the entry point and the symbol table have been bounds-checked against the file, or throws
// an ElfError whose message is one line saying what the file is and why it cannot run (not an
// ELF, 64-bit, another machine, big-endian, dynamically linked, truncated, ...). It never reads
// outside `bytes` and never throws anything but ElfError. Nothing is mapped here: see loader.ts.

import { SymbolTable, readSymbols } from './symbols.js';

/** Thrown for any file parseElf refuses; `message` is a single line fit for a CLI error. */
export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_STACK = 0x6474e551;

/** p_flags bits (note the order differs from PROT_*: X is bit 0). */
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const EM_386 = 3;
const ELF32_EHDR_SIZE = 52;
const ELF32_PHDR_SIZE = 32;
const ELF32_SHDR_SIZE = 40;
const DT_NULL = 0;
const DT_NEEDED = 1;

export interface ElfSegment {
  /** p_type (PT_*). */
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  /** p_flags (PF_R | PF_W | PF_X). */
  flags: number;
  align: number;
}

export interface ElfSection {
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfImage {
  /** 'exec' = ET_EXEC at its link addresses; 'pie' = static-pie, loaded at a bias. */
  type: 'exec' | 'pie';
  /** e_entry at link time (add the load bias for 'pie'). */
  entry: number;
  phoff: number;
  phnum: number;
  phentsize: number;
  /** Every program header, in file order (not only PT_LOAD). */
  segments: ElfSegment[];
  /** The PT_TLS header, if any (link-time addresses). */
  tlsSegment?: ElfSegment;
  /** The PT_GNU_STACK header, if any: its PF_X says whether the stack must be executable. */
  gnuStack?: ElfSegment;
  /** Symbols at link-time addresses; use `symbols.rebase(loadBias)` for a loaded 'pie'. */
  symbols: SymbolTable;
}

const MACHINES: Record<number, string> = {
  2: 'SPARC',
  3: 'i386',
  4: 'Motorola 68000',
  6: 'i486',
  7: 'Intel i860',
  8: 'MIPS',
  10: 'MIPS (little-endian R3000)',
  15: 'PA-RISC',
  18: 'SPARC32+',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'IBM S/390',
  40: 'ARM',
  42: 'SuperH',
  43: 'SPARC V9',
  50: 'IA-64',
  62: 'x86-64',
  83: 'AVR',
  92: 'OpenRISC',
  94: 'Xtensa',
  164: 'Hexagon',
  183: 'AArch64',
  243: 'RISC-V',
  247: 'eBPF',
  258: 'LoongArch',
  0x9026: 'Alpha',
};

export function machineName(m: number): string {
  return MACHINES[m] ?? `unknown machine (e_machine ${m})`;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** Little/big-endian reader over the file that turns every out-of-range read into an ElfError. */
class Reader {
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly le: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  private check(off: number, n: number, what: string): void {
    if (off < 0 || off + n > this.bytes.length) {
      throw new ElfError(
        `truncated ELF file: ${what} at offset ${hex(off)} lies past the end (${this.bytes.length} bytes)`,
      );
    }
  }
  u8(off: number, what = 'header'): number {
    this.check(off, 1, what);
    return this.dv.getUint8(off);
  }
  u16(off: number, what = 'header'): number {
    this.check(off, 2, what);
    return this.dv.getUint16(off, this.le);
  }
  u32(off: number, what = 'header'): number {
    this.check(off, 4, what);
    return this.dv.getUint32(off, this.le);
  }
}

/** Does [off, off+len) fit in a file of `size` bytes (no overflow: all inputs are < 2^32)? */
function fits(off: number, len: number, size: number): boolean {
  return off <= size && len <= size - off;
}

function cString(bytes: Uint8Array, off: number, max: number): string {
  let end = off;
  const lim = Math.min(bytes.length, off + max);
  while (end < lim && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(off, end)).toString('utf8');
}

/** Parses and validates a static ELF32 i386 executable. Throws ElfError for anything else. */
export function parseElf(bytes: Uint8Array): ElfImage {
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (no \\x7fELF magic at the start)');
  }
  if (bytes.length < 20)
    throw new ElfError(`truncated ELF file: ${bytes.length} bytes is too short for an ELF header`);
  const cls = bytes[4]!;
  const data = bytes[5]!;
  if (cls !== 1 && cls !== 2) throw new ElfError(`malformed ELF header: invalid class ${cls} (EI_CLASS)`);
  if (data !== 1 && data !== 2)
    throw new ElfError(`malformed ELF header: invalid data encoding ${data} (EI_DATA)`);
  // e_machine sits at offset 18 in both classes, so we can name the machine before refusing.
  const r = new Reader(bytes, data === 1);
  const machine = r.u16(18);
  const mname = machineName(machine);
  if (cls === 2) throw new ElfError(`${mname} (64-bit) ELF: only 32-bit i386 binaries are supported`);
  if (data !== 1)
    throw new ElfError(`big-endian ${mname} ELF: only little-endian 32-bit i386 binaries are supported`);
  if (machine !== EM_386) {
    throw new ElfError(`${mname} ELF (e_machine ${machine}): only 32-bit i386 binaries are supported`);
  }
  if (bytes.length < ELF32_EHDR_SIZE) {
    throw new ElfError(`truncated ELF file: ${bytes.length} bytes is shorter than the 52-byte ELF32 header`);
  }
  const etype = r.u16(16);
  if (etype === ET_REL)
    throw new ElfError('relocatable object file (ET_REL, a .o): link it into a static executable first');
  if (etype === ET_CORE) throw new ElfError('core dump (ET_CORE): not an executable');
  if (etype !== ET_EXEC && etype !== ET_DYN) throw new ElfError(`ELF type ${etype} is not an executable`);

  const entry = r.u32(24);
  const phoff = r.u32(28);
  const shoff = r.u32(32);
  const phentsize = r.u16(42);
  let phnum = r.u16(44);
  const shentsize = r.u16(46);
  let shnum = r.u16(48);

  if (phnum === 0) throw new ElfError('malformed ELF: no program headers (nothing to load)');
  if (phentsize !== ELF32_PHDR_SIZE) {
    throw new ElfError(
      `malformed ELF header: program header size ${phentsize} (expected ${ELF32_PHDR_SIZE})`,
    );
  }
  if (phnum === 0xffff) {
    // PN_XNUM: the real count lives in section 0's sh_info. Only absurd files need this.
    if (shoff === 0 || !fits(shoff, ELF32_SHDR_SIZE, bytes.length)) {
      throw new ElfError('malformed ELF: PN_XNUM program header count without a section header 0');
    }
    phnum = r.u32(shoff + 28);
  }
  if (!fits(phoff, phnum * ELF32_PHDR_SIZE, bytes.length)) {
    throw new ElfError(
      `truncated ELF file: program headers (offset ${hex(phoff)}, ${phnum} entries) extend past the end (${bytes.length} bytes)`,
    );
  }

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * ELF32_PHDR_SIZE;
    segments.push({
      type: r.u32(o),
      offset: r.u32(o + 4),
      vaddr: r.u32(o + 8),
      filesz: r.u32(o + 16),
      memsz: r.u32(o + 20),
      flags: r.u32(o + 24),
      align: r.u32(o + 28),
    });
  }

  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    const path = fits(interp.offset, interp.filesz, bytes.length)
      ? cString(bytes, interp.offset, Math.min(interp.filesz, 256))
      : '?';
    throw new ElfError(
      `dynamically linked (interpreter ${path}): only static binaries are supported; rebuild with -static`,
    );
  }

  const loads = segments.filter((s) => s.type === PT_LOAD);
  if (loads.length === 0) throw new ElfError('malformed ELF: no PT_LOAD segment (nothing to load)');
  loads.forEach((s, i) => {
    if (!fits(s.offset, s.filesz, bytes.length)) {
      throw new ElfError(
        `truncated ELF file: PT_LOAD #${i} (offset ${hex(s.offset)}, ${s.filesz} bytes) extends past the end (${bytes.length} bytes)`,
      );
    }
    if (s.filesz > s.memsz) {
      throw new ElfError(`malformed ELF: PT_LOAD #${i} has filesz ${hex(s.filesz)} > memsz ${hex(s.memsz)}`);
    }
    if (s.vaddr + s.memsz > 0x1_0000_0000) {
      throw new ElfError(
        `malformed ELF: PT_LOAD #${i} at ${hex(s.vaddr)} (+${hex(s.memsz)}) wraps the 4 GiB address space`,
      );
    }
  });
  if (!loads.some((s) => entry >= s.vaddr && entry < s.vaddr + s.memsz)) {
    throw new ElfError(`malformed ELF: entry point ${hex(entry)} is outside every PT_LOAD segment`);
  }

  // Sections are optional (the kernel never looks at them); we only want the symbol tables.
  const sections: ElfSection[] = [];
  if (shoff !== 0) {
    if (shentsize !== ELF32_SHDR_SIZE) {
      throw new ElfError(
        `malformed ELF header: section header size ${shentsize} (expected ${ELF32_SHDR_SIZE})`,
      );
    }
    // SHN_UNDEF count with a table present: the real count is in section 0's sh_size.
    if (shnum === 0 && fits(shoff, ELF32_SHDR_SIZE, bytes.length)) shnum = r.u32(shoff + 20);
    if (!fits(shoff, shnum * ELF32_SHDR_SIZE, bytes.length)) {
      throw new ElfError(
        `truncated ELF file: section headers (offset ${hex(shoff)}, ${shnum} entries) extend past the end (${bytes.length} bytes)`,
      );
    }
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * ELF32_SHDR_SIZE;
      sections.push({
        type: r.u32(o + 4),
        flags: r.u32(o + 8),
        addr: r.u32(o + 12),
        offset: r.u32(o + 16),
        size: r.u32(o + 20),
        link: r.u32(o + 24),
        entsize: r.u32(o + 36),
      });
    }
  }

  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynamic && fits(dynamic.offset, dynamic.filesz, bytes.length)) {
    // A DT_NEEDED entry means the program expects shared libraries even without an interpreter.
    for (let o = dynamic.offset; o + 8 <= dynamic.offset + dynamic.filesz; o += 8) {
      const tag = r.u32(o);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) {
        throw new ElfError(
          'dynamically linked (needs shared libraries): only static binaries are supported; rebuild with -static',
        );
      }
    }
  }
  if (etype === ET_DYN && entry === 0) {
    throw new ElfError('shared library (ET_DYN without an entry point): not an executable');
  }

  let symbols: SymbolTable;
  try {
    symbols = readSymbols(bytes, sections);
  } catch (e) {
    throw new ElfError(`malformed ELF symbol table: ${(e as Error).message}`);
  }

  return {
    type: etype === ET_EXEC ? 'exec' : 'pie',
    entry,
    phoff,
    phnum,
    phentsize,
    segments,
    tlsSegment: segments.find((s) => s.type === PT_TLS),
    gnuStack: segments.find((s) => s.type === PT_GNU_STACK),
    symbols,
  };
}
