// The executables a probe engine can probe, with uprobe semantics: a probe belongs to a file (its
// bytes, as Linux's belongs to an inode) and a place in it, and applies in every address space that
// runs that file. Image 0 is the recorded binary; others are added for `PATH:SYMBOL[+off]` and
// `PATH:0xOFFSET` specs. Guarantees: two images never have the same bytes (adding a file whose
// bytes equal a known image's returns that image), so an exec is matched to at most one image; the
// text of an added image is read from its file (its PT_LOAD segments), never from guest memory, so
// registration does not depend on which process happens to be running.

import { ElfError, PF_X, PT_LOAD, parseElf, type ElfImage } from '../emulator/elf.js';
import type { SymbolTable } from '../emulator/symbols.js';

export interface ProbeImage {
  readonly id: number;
  /** The guest path it was named by (the recorded binary: its argv[0]). */
  readonly path: string;
  /** The file's bytes (null for the recorded binary when the caller did not give them). */
  readonly bytes: Uint8Array | null;
  /** Symbols at the addresses the image runs at. */
  readonly symbols: SymbolTable;
  /** The parsed file (null for the recorded binary: the machine loaded it). */
  readonly elf: ElfImage | null;
}

/** Why a file cannot be probed as another executable (spec.ts turns it into an error name). */
export class ImageError extends Error {}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ProbeImages {
  private readonly list: ProbeImage[] = [];

  constructor(main: { path: string; bytes: Uint8Array | null; symbols: SymbolTable }) {
    this.list.push({ id: 0, path: main.path, bytes: main.bytes, symbols: main.symbols, elf: null });
  }

  get(id: number): ProbeImage | undefined {
    return this.list[id];
  }

  get size(): number {
    return this.list.length;
  }

  /** The image whose file has exactly these bytes, or undefined. */
  find(bytes: Uint8Array): ProbeImage | undefined {
    for (const im of this.list) if (im.bytes && sameBytes(im.bytes, bytes)) return im;
    return undefined;
  }

  /**
   * The image for another static executable (the same one again for equal bytes). Throws ImageError
   * for a file that is not a static i386 ELF executable linked at fixed addresses (a static-pie's
   * addresses depend on where it is loaded, which a file offset cannot name here).
   */
  add(path: string, bytes: Uint8Array): ProbeImage {
    const known = this.find(bytes);
    if (known) return known;
    let elf: ElfImage;
    try {
      elf = parseElf(bytes);
    } catch (e) {
      throw new ImageError(e instanceof ElfError ? e.message : 'not an ELF executable');
    }
    if (elf.type !== 'exec')
      throw new ImageError('a static-pie executable (only ET_EXEC files can be probed by path)');
    const im: ProbeImage = { id: this.list.length, path, bytes, symbols: elf.symbols, elf };
    this.list.push(im);
    return im;
  }
}

/** Reads an added image's text from its file: what is mapped executable, and the original bytes. */
export class ImageText {
  private readonly segs: ReturnType<ElfImage['segments']['filter']>;

  constructor(
    private readonly bytes: Uint8Array,
    elf: ElfImage,
  ) {
    this.segs = elf.segments.filter((s) => s.type === PT_LOAD && (s.flags & PF_X) !== 0);
  }

  /** True when `addr` lies in an executable PT_LOAD segment. */
  executable(addr: number): boolean {
    addr = addr >>> 0;
    return this.segs.some((s) => addr >= s.vaddr && addr < s.vaddr + s.memsz);
  }

  /** The file's byte at `addr` (0 beyond the file part of its segment, as the loader zero-fills). */
  byte(addr: number): number {
    addr = addr >>> 0;
    for (const s of this.segs)
      if (addr >= s.vaddr && addr < s.vaddr + s.memsz) {
        const off = addr - s.vaddr;
        return off < s.filesz ? (this.bytes[s.offset + off] ?? 0) : 0;
      }
    return 0;
  }

  /** uprobe_events' OFFSET (a file offset) as the address it is loaded at, if it is executable text. */
  addressOfOffset(offset: number): number | undefined {
    for (const s of this.segs)
      if (offset >= s.offset && offset < s.offset + s.filesz) return (s.vaddr + (offset - s.offset)) >>> 0;
    return undefined;
  }

  /** The file offset of `addr` (for listing a probe as PATH:0xOFFSET). */
  offsetOfAddress(addr: number): number | undefined {
    addr = addr >>> 0;
    for (const s of this.segs)
      if (addr >= s.vaddr && addr < s.vaddr + s.filesz) return s.offset + (addr - s.vaddr);
    return undefined;
  }
}
