// Symbol table of a loaded program: name → symbol and address → "symbol+offset".
// Guarantees: built from .symtab (or .dynsym when the binary has no .symtab) with every read
// bounds-checked; holds only symbols that name an address in the program image (FUNC, IFUNC,
// OBJECT, and NOTYPE labels defined in a real section; never FILE, SECTION, TLS, ABS, COMMON or
// undefined ones), at link-time address + bias. Lookups are deterministic: when several
// symbols share a name or an address the choice depends only on the file, never on insertion
// order quirks. Tables are immutable; `rebase` returns a new one.

import type { Sym, SymbolLookup } from './types.js';
import type { ElfSection } from './elf.js';

const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const SHF_EXECINSTR = 4;

const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;

const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;

/** A symbol plus what the table needs to rank it. */
export interface RawSym extends Sym {
  /** 'local' | 'global' | 'weak' */
  bind: 'local' | 'global' | 'weak';
  /** Defined in an executable section (so NOTYPE labels there count as code). */
  code: boolean;
}

function bindRank(b: RawSym['bind']): number {
  return b === 'global' ? 0 : b === 'weak' ? 1 : 2;
}

function leadingUnderscores(name: string): number {
  let n = 0;
  while (n < name.length && name.charCodeAt(n) === 0x5f) n++;
  return n;
}

/** Ordering among symbols at one address: the one a human expects to see comes first. */
function canonicalOrder(a: RawSym, b: RawSym): number {
  const ta = a.type === 'func' ? 0 : 1;
  const tb = b.type === 'func' ? 0 : 1;
  if (ta !== tb) return ta - tb;
  if (bindRank(a.bind) !== bindRank(b.bind)) return bindRank(a.bind) - bindRank(b.bind);
  if (a.size > 0 !== b.size > 0) return a.size > 0 ? -1 : 1;
  const ua = leadingUnderscores(a.name);
  const ub = leadingUnderscores(b.name);
  if (ua !== ub) return ua - ub;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Does `a` beat `b` for lookup(name)? Globals over locals, functions over others; else first wins. */
function betterForName(a: RawSym, b: RawSym): boolean {
  const la = a.bind === 'local' ? 1 : 0;
  const lb = b.bind === 'local' ? 1 : 0;
  if (la !== lb) return la < lb;
  const fa = a.type === 'func' ? 0 : 1;
  const fb = b.type === 'func' ? 0 : 1;
  return fa < fb;
}

function toSym(r: RawSym, bias: number): Sym {
  return { name: r.name, addr: (r.addr + bias) >>> 0, size: r.size, type: r.type };
}

export class SymbolTable implements SymbolLookup {
  /** Every kept symbol (file order), addresses already biased. */
  private readonly all: RawSym[];
  private readonly byName = new Map<string, RawSym>();
  private readonly allByName = new Map<string, RawSym[]>();
  /** One canonical code symbol per address, sorted by address: the symbolize index. */
  private readonly code: RawSym[];
  private readonly codeAddrs: Uint32Array;
  private readonly funcs: Sym[];

  /** `raw` are link-time symbols; `bias` is added to every address (the load bias of a PIE). */
  constructor(
    raw: readonly RawSym[],
    readonly bias = 0,
  ) {
    this.all = raw.map((r) => ({ ...r, addr: (r.addr + bias) >>> 0 }));
    for (const s of this.all) {
      const list = this.allByName.get(s.name);
      if (list) list.push(s);
      else this.allByName.set(s.name, [s]);
      const cur = this.byName.get(s.name);
      if (!cur || betterForName(s, cur)) this.byName.set(s.name, s);
    }
    const codeSyms = this.all.filter((s) => s.type === 'func' || s.code);
    codeSyms.sort((a, b) => a.addr - b.addr || canonicalOrder(a, b));
    this.code = codeSyms.filter((s, i) => i === 0 || codeSyms[i - 1]!.addr !== s.addr);
    this.codeAddrs = Uint32Array.from(this.code, (s) => s.addr);
    this.funcs = this.all
      .filter((s) => s.type === 'func')
      .map((s) => toSym(s, 0))
      .sort((a, b) => a.addr - b.addr || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  static empty(): SymbolTable {
    return new SymbolTable([]);
  }

  /** The same symbols with `bias` added to the link-time addresses (replaces any earlier bias). */
  rebase(bias: number): SymbolTable {
    return new SymbolTable(
      this.all.map((s) => ({ ...s, addr: (s.addr - this.bias) >>> 0 })),
      bias,
    );
  }

  get size(): number {
    return this.all.length;
  }

  /** The best symbol with this name: global/weak over local, functions over objects/labels. */
  lookup(name: string): Sym | undefined {
    const s = this.byName.get(name);
    return s ? toSym(s, 0) : undefined;
  }

  /** Every symbol with this name (e.g. several file-local statics), in symbol-table order. */
  lookupAll(name: string): Sym[] {
    return (this.allByName.get(name) ?? []).map((s) => toSym(s, 0));
  }

  /**
   * The code symbol containing `addr` (addr within [sym, sym+size)), else the nearest preceding
   * code symbol; undefined below the first one. Aliases at one address resolve to one canonical
   * name (functions, then global, weak, local; sized; fewest leading underscores; alphabetical).
   */
  symbolize(addr: number): { sym: Sym; offset: number } | undefined {
    addr >>>= 0;
    const a = this.codeAddrs;
    let lo = 0;
    let hi = a.length; // first index with a[i] > addr
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= addr) lo = mid + 1;
      else hi = mid;
    }
    const idx = lo - 1;
    if (idx < 0) return undefined;
    const near = this.code[idx]!;
    if (near.size > 0 && addr < near.addr + near.size)
      return { sym: toSym(near, 0), offset: addr - near.addr };
    // A zero-sized or too-short label may sit inside a larger function (hand-written assembly):
    // look back a few entries for a sized symbol that really contains addr.
    for (let i = idx - 1; i >= 0 && i >= idx - 16; i--) {
      const s = this.code[i]!;
      if (s.size > 0 && addr < s.addr + s.size) return { sym: toSym(s, 0), offset: addr - s.addr };
    }
    return { sym: toSym(near, 0), offset: addr - near.addr };
  }

  /** FUNC and IFUNC symbols (all aliases), sorted by address then name, with their sizes. */
  functions(): Sym[] {
    return this.funcs.map((s) => ({ ...s }));
  }

  /** Every kept symbol (functions, objects, labels) in symbol-table order. */
  symbols(): Sym[] {
    return this.all.map((s) => toSym(s, 0));
  }

  /** "sym+0x12" (or "sym" at offset 0, or "0x8049000" when no symbol precedes addr). */
  format(addr: number): string {
    return formatSymOffset(this, addr);
  }
}

/** Renders an address the way kprobe specs and reports name it: "sym+0x12", "sym", or "0x…". */
export function formatSymOffset(lookup: SymbolLookup, addr: number): string {
  const r = lookup.symbolize(addr >>> 0);
  if (!r) return '0x' + (addr >>> 0).toString(16);
  return r.offset === 0 ? r.sym.name : `${r.sym.name}+0x${r.offset.toString(16)}`;
}

/**
 * Reads .symtab (or .dynsym if there is no .symtab) from an ELF32 little-endian file whose
 * section headers have already been parsed. Throws a plain Error on out-of-bounds tables.
 */
export function readSymbols(bytes: Uint8Array, sections: readonly ElfSection[]): SymbolTable {
  const table = sections.find((s) => s.type === SHT_SYMTAB) ?? sections.find((s) => s.type === SHT_DYNSYM);
  if (!table) return SymbolTable.empty();
  const inFile = (off: number, len: number) => off <= bytes.length && len <= bytes.length - off;
  if (table.type === SHT_NOBITS || !inFile(table.offset, table.size)) {
    throw new Error(
      `symbol table (offset 0x${table.offset.toString(16)}, ${table.size} bytes) lies outside the file`,
    );
  }
  const strtab = sections[table.link];
  if (!strtab || strtab.type !== SHT_STRTAB || !inFile(strtab.offset, strtab.size)) {
    throw new Error(`symbol table links to a missing or out-of-file string table (section ${table.link})`);
  }
  const entsize = table.entsize || 16;
  if (entsize < 16) throw new Error(`symbol entry size ${entsize} is too small`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strEnd = strtab.offset + strtab.size;
  const decoder = new TextDecoder('utf-8');
  const names = new Map<number, string>();
  const nameAt = (off: number): string => {
    let s = names.get(off);
    if (s !== undefined) return s;
    let start = strtab.offset + off;
    if (off >= strtab.size) start = strEnd;
    let end = start;
    while (end < strEnd && bytes[end] !== 0) end++;
    s = decoder.decode(bytes.subarray(start, end));
    names.set(off, s);
    return s;
  };

  const out: RawSym[] = [];
  const count = Math.floor(table.size / entsize);
  for (let i = 1; i < count; i++) {
    const o = table.offset + i * entsize;
    const info = bytes[o + 12]!;
    const shndx = dv.getUint16(o + 14, true);
    const stt = info & 0xf;
    const stb = info >> 4;
    if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE) continue; // undefined, ABS, COMMON, XINDEX
    if (stt !== STT_FUNC && stt !== STT_GNU_IFUNC && stt !== STT_OBJECT && stt !== STT_NOTYPE) continue;
    if (stb !== STB_LOCAL && stb !== STB_GLOBAL && stb !== STB_WEAK && stb !== STB_GNU_UNIQUE) continue;
    const name = nameAt(dv.getUint32(o, true));
    if (name === '') continue;
    const sec = sections[shndx];
    const code = sec !== undefined && (sec.flags & SHF_EXECINSTR) !== 0;
    out.push({
      name,
      addr: dv.getUint32(o + 4, true),
      size: dv.getUint32(o + 8, true),
      type: stt === STT_FUNC || stt === STT_GNU_IFUNC ? 'func' : stt === STT_OBJECT ? 'object' : 'notype',
      bind: stb === STB_LOCAL ? 'local' : stb === STB_WEAK ? 'weak' : 'global',
      code,
    });
  }
  return new SymbolTable(out);
}
