// Loader: segment mapping (contents and permissions checked against the file and readelf) and
// the initial stack, read back from guest Memory and checked against the layout Linux's
// create_elf_tables() builds.

import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElfError, parseElf, PT_LOAD, type ElfImage } from '../src/emulator/elf.js';
import {
  AT_CLKTCK,
  AT_EGID,
  AT_ENTRY,
  AT_EUID,
  AT_EXECFN,
  AT_FLAGS,
  AT_GID,
  AT_HWCAP,
  AT_NULL,
  AT_PAGESZ,
  AT_PHDR,
  AT_PHENT,
  AT_PHNUM,
  AT_PLATFORM,
  AT_RANDOM,
  AT_SECURE,
  AT_UID,
  AT_BASE,
  loadElf,
  LoadError,
  type LoadOptions,
  type LoadResult,
} from '../src/emulator/loader.js';
import { Memory, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/emulator/memory.js';
import { buildGuest, FREESTANDING, STATIC, STATIC_PIE } from './helpers/gcc.js';

const FREESTANDING_SRC = `
int counter = 3;
int zeros[3000];
const char msg[] = "hello";
void _start(void) {
  counter += msg[0] + zeros[7];
  for (;;) __asm__ volatile("int $0x80" : : "a"(1), "b"(counter));
}
`;

const GLIBC_SRC = `
#include <stdio.h>
int data_word = 0x12345678;
char big_bss[20000];
int main(int argc, char **argv) { printf("%s %d %d\\n", argv[0], argc, data_word + big_bss[5]); return 0; }
`;

const AT_SYSINFO = 32;
const AT_SYSINFO_EHDR = 33;

const RANDOM = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

function opts(over: Partial<LoadOptions> = {}): LoadOptions {
  return {
    argv: ['/work/prog', 'one', 'two words', 'ünïcödé'],
    envp: ['HOME=/root', 'PATH=/usr/bin:/bin', 'LANG=C'],
    execfn: '/work/prog',
    random: RANDOM,
    hwcap: 0x0781abfd,
    uid: 1000,
    gid: 1001,
    ...over,
  };
}

const bin: Record<string, string> = {};
beforeAll(() => {
  bin.free = buildGuest(FREESTANDING_SRC, [...FREESTANDING, '-O1'], 'loader-free');
  bin.static = buildGuest(GLIBC_SRC, STATIC, 'loader-static');
  bin.pie = buildGuest(GLIBC_SRC, STATIC_PIE, 'loader-static-pie');
});

function load(
  file: string,
  o: LoadOptions = opts(),
): { mem: Memory; img: ElfImage; bytes: Uint8Array; r: LoadResult } {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const img = parseElf(bytes);
  const mem = new Memory();
  const r = loadElf(mem, img, bytes, o);
  return { mem, img, bytes, r };
}

const u32 = (mem: Memory, a: number) => mem.read32(a) >>> 0;
const pageStart = (a: number) => a - (a % PAGE_SIZE);
const pageAlign = (a: number) => Math.ceil(a / PAGE_SIZE) * PAGE_SIZE;

/** Walks the initial stack from sp the way a C runtime does. */
function readStack(mem: Memory, sp: number) {
  let p = sp;
  const argc = u32(mem, p);
  p += 4;
  const argvPtrs: number[] = [];
  for (let i = 0; i < argc; i++, p += 4) argvPtrs.push(u32(mem, p));
  const argvNull = u32(mem, p);
  p += 4;
  const envPtrs: number[] = [];
  for (; u32(mem, p) !== 0; p += 4) envPtrs.push(u32(mem, p));
  p += 4;
  const auxv: Array<[number, number]> = [];
  for (;;) {
    const k = u32(mem, p);
    const v = u32(mem, p + 4);
    auxv.push([k, v]);
    p += 8;
    if (k === AT_NULL) break;
  }
  return {
    argc,
    argv: argvPtrs.map((a) => mem.readCString(a)),
    argvPtrs,
    argvNull,
    envp: envPtrs.map((a) => mem.readCString(a)),
    envPtrs,
    auxv,
    auxvEnd: p,
  };
}

function checkSegments(mem: Memory, img: ElfImage, bytes: Uint8Array, bias: number): void {
  for (const s of img.segments.filter((x) => x.type === PT_LOAD)) {
    const v = s.vaddr + bias;
    const prot =
      (s.flags & 4 ? PROT_READ : 0) | (s.flags & 2 ? PROT_WRITE : 0) | (s.flags & 1 ? PROT_EXEC : 0);
    for (let a = pageStart(v); a < v + s.memsz; a += PAGE_SIZE) {
      expect(mem.isMapped(a)).toBe(true);
      expect(mem.protOf(a)).toBe(prot);
    }
    expect(
      Buffer.from(mem.peek(v, s.filesz)).equals(Buffer.from(bytes.subarray(s.offset, s.offset + s.filesz))),
    ).toBe(true);
    if (s.memsz > s.filesz) {
      // bss, including the tail of the last file page that the file has other bytes for.
      expect(mem.peek(v + s.filesz, s.memsz - s.filesz).every((b) => b === 0)).toBe(true);
    } else {
      // A private file mapping shows the file up to the end of the last page.
      const end = Math.min(pageAlign(v + s.filesz), v + (bytes.length - s.offset));
      const tail = mem.peek(v + s.filesz, end - (v + s.filesz));
      expect(
        Buffer.from(tail).equals(
          Buffer.from(bytes.subarray(s.offset + s.filesz, s.offset + s.filesz + tail.length)),
        ),
      ).toBe(true);
    }
  }
}

describe('loadElf: segments', () => {
  it('freestanding ET_EXEC: contents, bss, permissions, brk', () => {
    const { mem, img, bytes, r } = load(bin.free!);
    expect(r.loadBias).toBe(0);
    expect(r.entry).toBe(img.entry);
    checkSegments(mem, img, bytes, 0);
    const loads = img.segments.filter((s) => s.type === PT_LOAD);
    const hi = Math.max(...loads.map((s) => s.vaddr + s.memsz));
    expect(r.brkStart).toBe(pageAlign(hi));
    expect(mem.isMapped(r.brkStart)).toBe(false);
    // Text is R-X, data RW-, rodata R--: check through symbols too.
    expect(mem.protOf(img.symbols.lookup('_start')!.addr)).toBe(PROT_READ | PROT_EXEC);
    expect(mem.protOf(img.symbols.lookup('counter')!.addr)).toBe(PROT_READ | PROT_WRITE);
    expect(mem.protOf(img.symbols.lookup('msg')!.addr)).toBe(PROT_READ);
    expect(mem.readCString(img.symbols.lookup('msg')!.addr)).toBe('hello');
    expect(u32(mem, img.symbols.lookup('counter')!.addr)).toBe(3);
    const zeros = img.symbols.lookup('zeros')!;
    expect(mem.peek(zeros.addr, zeros.size).every((b) => b === 0)).toBe(true);
    // Guest-permission checks hold: text is not writable, rodata not executable.
    expect(() => mem.write8(img.symbols.lookup('_start')!.addr, 0)).toThrow();
    expect(() => mem.fetch8(img.symbols.lookup('msg')!.addr)).toThrow();
  });

  it('static glibc ET_EXEC: segments match the file, TLS image in place', () => {
    const { mem, img, bytes, r } = load(bin.static!);
    checkSegments(mem, img, bytes, 0);
    expect(u32(mem, img.symbols.lookup('data_word')!.addr)).toBe(0x12345678);
    const tls = img.tlsSegment!;
    expect(
      Buffer.from(mem.peek(tls.vaddr, tls.filesz)).equals(
        Buffer.from(bytes.subarray(tls.offset, tls.offset + tls.filesz)),
      ),
    ).toBe(true);
    expect(r.symbols).toBe(img.symbols);
  });

  it('static-pie loads at 0x56555000 with rebased symbols and entry', () => {
    const { mem, img, bytes, r } = load(bin.pie!);
    expect(img.type).toBe('pie');
    expect(r.loadBias).toBe(0x56555000);
    expect(r.entry).toBe(img.entry + 0x56555000);
    checkSegments(mem, img, bytes, 0x56555000);
    const main = r.symbols.lookup('main')!;
    expect(main.addr).toBe(img.symbols.lookup('main')!.addr + 0x56555000);
    expect(mem.protOf(main.addr)).toBe(PROT_READ | PROT_EXEC);
    expect(r.symbols.symbolize(main.addr + 1)).toMatchObject({ sym: { name: 'main' }, offset: 1 });
    expect(mem.isMapped(0x56554000)).toBe(false);
    const aux = new Map(readStack(mem, r.sp).auxv);
    expect(aux.get(AT_ENTRY)).toBe(r.entry);
    expect(aux.get(AT_PHDR)).toBe(0x56555000 + img.phoff);
    expect(r.loadBias + 0x1000000).toBeLessThan(r.stackBottom);
    expect(load(bin.pie!, opts({ pieBase: 0x10000000 })).r.loadBias).toBe(0x10000000);
  });

  it("segments sharing a page keep each other's bytes and get the union of permissions", () => {
    // Hand-made (ld -N style): code and data in one page, data with a bss tail.
    const b = new Uint8Array(0x200);
    b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    const dv = new DataView(b.buffer);
    dv.setUint16(16, 2, true);
    dv.setUint16(18, 3, true);
    dv.setUint32(24, 0x08048080, true);
    dv.setUint32(28, 52, true);
    dv.setUint16(42, 32, true);
    dv.setUint16(44, 2, true);
    const ph = (i: number, off: number, vaddr: number, filesz: number, memsz: number, flags: number) => {
      const o = 52 + i * 32;
      for (const [k, v] of [
        [0, 1],
        [4, off],
        [8, vaddr],
        [12, vaddr],
        [16, filesz],
        [20, memsz],
        [24, flags],
        [28, 0x1000],
      ]) {
        dv.setUint32(o + k!, v!, true);
      }
    };
    ph(0, 0, 0x08048000, 0x100, 0x100, 5);
    ph(1, 0x100, 0x08048100, 0x80, 0x200, 6);
    for (let i = 0x80; i < 0x200; i++) b[i] = i & 0xff || 1;
    const img = parseElf(b);
    const mem = new Memory();
    const r = loadElf(mem, img, b, opts());
    expect(mem.protOf(0x08048000)).toBe(PROT_READ | PROT_WRITE | PROT_EXEC);
    expect(mem.peek(0x08048000, 0x180)).toEqual(b.subarray(0, 0x180));
    expect(mem.peek(0x08048180, 0x180).every((x) => x === 0)).toBe(true);
    expect(r.brkStart).toBe(0x08049000);
    expect(r.phdrAddr).toBe(0x08048034);
  });

  it('is deterministic: two loads give identical memory', () => {
    const a = load(bin.static!);
    const b = load(bin.static!);
    expect(a.r).toEqual(b.r);
    expect(a.mem.mappings()).toEqual(b.mem.mappings());
    for (const m of a.mem.mappings()) {
      expect(
        Buffer.from(a.mem.peek(m.start, m.end - m.start)).equals(
          Buffer.from(b.mem.peek(m.start, m.end - m.start)),
        ),
      ).toBe(true);
    }
  });
});

describe('loadElf: initial stack (create_elf_tables layout)', () => {
  it('argc, argv, envp, auxv read back as a C runtime sees them', () => {
    const o = opts();
    const { mem, img, bytes, r } = load(bin.static!, o);
    expect(r.sp % 16).toBe(0);
    const st = readStack(mem, r.sp);
    expect(st.argc).toBe(o.argv.length);
    expect(st.argv).toEqual(o.argv);
    expect(st.argvNull).toBe(0);
    expect(st.envp).toEqual(o.envp);

    // The kernel's auxv order, without any vDSO entries.
    expect(st.auxv.map(([k]) => k)).toEqual([
      AT_HWCAP,
      AT_PAGESZ,
      AT_CLKTCK,
      AT_PHDR,
      AT_PHENT,
      AT_PHNUM,
      AT_BASE,
      AT_FLAGS,
      AT_ENTRY,
      AT_UID,
      AT_EUID,
      AT_GID,
      AT_EGID,
      AT_SECURE,
      AT_RANDOM,
      AT_EXECFN,
      AT_PLATFORM,
      AT_NULL,
    ]);
    expect(st.auxv).toEqual(r.auxv);
    const aux = new Map(st.auxv);
    expect(aux.has(AT_SYSINFO)).toBe(false);
    expect(aux.has(AT_SYSINFO_EHDR)).toBe(false);
    expect(aux.get(AT_HWCAP)).toBe(o.hwcap);
    expect(aux.get(AT_PAGESZ)).toBe(4096);
    expect(aux.get(AT_CLKTCK)).toBe(100);
    expect(aux.get(AT_PHENT)).toBe(32);
    expect(aux.get(AT_PHNUM)).toBe(img.phnum);
    expect(aux.get(AT_BASE)).toBe(0);
    expect(aux.get(AT_FLAGS)).toBe(0);
    expect(aux.get(AT_ENTRY)).toBe(img.entry);
    expect([aux.get(AT_UID), aux.get(AT_EUID), aux.get(AT_GID), aux.get(AT_EGID)]).toEqual([
      1000, 1000, 1001, 1001,
    ]);
    expect(aux.get(AT_SECURE)).toBe(0);
    expect(mem.peek(aux.get(AT_RANDOM)!, 16)).toEqual(RANDOM);
    expect(mem.readCString(aux.get(AT_EXECFN)!)).toBe(o.execfn);
    expect(mem.readCString(aux.get(AT_PLATFORM)!)).toBe('i686');

    // AT_PHDR: the program headers as they sit in memory.
    const phdr = aux.get(AT_PHDR)!;
    expect(phdr).toBe(r.phdrAddr);
    expect(
      Buffer.from(mem.peek(phdr, img.phnum * 32)).equals(
        Buffer.from(bytes.subarray(img.phoff, img.phoff + img.phnum * 32)),
      ),
    ).toBe(true);
  });

  it('strings and blocks sit exactly where Linux puts them', () => {
    const o = opts();
    const { mem, r } = load(bin.free!, o);
    const st = readStack(mem, r.sp);
    const top = 0xc0000000;
    expect(r.stackTop).toBe(top);
    expect(r.stackBottom).toBe(top - 8 * 1024 * 1024);
    // One zero pointer at the very top (bprm->p = vm_end - sizeof(void *)), execfn just below.
    expect(u32(mem, top - 4)).toBe(0);
    const execfnLen = Buffer.byteLength(o.execfn) + 1;
    expect(r.execfnAddr).toBe(top - 4 - execfnLen);
    // envp strings below execfn, argv strings below those; each packed, first string lowest.
    const enc = (s: string) => Buffer.byteLength(s) + 1;
    let p = r.execfnAddr;
    for (let i = o.envp.length - 1; i >= 0; i--) {
      p -= enc(o.envp[i]!);
      expect(st.envPtrs[i]).toBe(p);
    }
    expect(r.envStart).toBe(p);
    expect(r.envEnd).toBe(r.execfnAddr);
    for (let i = o.argv.length - 1; i >= 0; i--) {
      p -= enc(o.argv[i]!);
      expect(st.argvPtrs[i]).toBe(p);
    }
    expect(r.argStart).toBe(p);
    expect(r.argEnd).toBe(r.envStart);
    // /proc/self/cmdline view: NUL-separated argv.
    expect(Buffer.from(mem.peek(r.argStart, r.argEnd - r.argStart)).toString('utf8')).toBe(
      o.argv.join('\0') + '\0',
    );
    // arch_align_stack: 16-byte align, then "i686\0" and the 16 random bytes, no gaps.
    const aligned = p - (p % 16);
    expect(r.platformAddr).toBe(aligned - 5);
    expect(r.randomAddr).toBe(aligned - 5 - 16);
    // auxv ends below the random bytes, within the 16-byte rounding of sp.
    expect(st.auxvEnd).toBeLessThanOrEqual(r.randomAddr);
    expect(r.randomAddr - st.auxvEnd).toBeLessThan(16);
    // The stack is RW (the binary's PT_GNU_STACK has no X) and exactly stackSize long.
    expect(mem.protOf(r.sp)).toBe(PROT_READ | PROT_WRITE);
    expect(mem.protOf(r.stackBottom)).toBe(PROT_READ | PROT_WRITE);
    expect(mem.isMapped(r.stackBottom - 1)).toBe(false);
    expect(mem.isMapped(top)).toBe(false);
  });

  it('sp stays 16-byte aligned for any argument counts and lengths', () => {
    for (let argc = 0; argc < 6; argc++) {
      for (let envc = 0; envc < 5; envc++) {
        const o = opts({
          argv: Array.from({ length: argc }, (_, i) => 'a'.repeat(i * 3 + argc)),
          envp: Array.from({ length: envc }, (_, i) => `V${i}=${'x'.repeat(i + envc)}`),
          execfn: 'e'.repeat(argc + envc + 1),
        });
        const { mem, r } = load(bin.free!, o);
        expect(r.sp % 16).toBe(0);
        const st = readStack(mem, r.sp);
        expect(st.argv).toEqual(o.argv);
        expect(st.envp).toEqual(o.envp);
        expect(r.randomAddr - st.auxvEnd).toBeGreaterThanOrEqual(0);
        expect(r.randomAddr - st.auxvEnd).toBeLessThan(16);
      }
    }
  });

  it('honours stackTop, stackSize and euid/egid', () => {
    const { mem, r } = load(
      bin.free!,
      opts({ stackTop: 0xb0000000, stackSize: 64 * 1024, euid: 0, egid: 5, argv: ['x'], envp: [] }),
    );
    expect(r.stackTop).toBe(0xb0000000);
    expect(r.stackBottom).toBe(0xb0000000 - 64 * 1024);
    expect(mem.isMapped(0xb0000000 - 64 * 1024 - 1)).toBe(false);
    const aux = new Map(readStack(mem, r.sp).auxv);
    expect([aux.get(AT_UID), aux.get(AT_EUID), aux.get(AT_GID), aux.get(AT_EGID)]).toEqual([
      1000, 0, 1001, 5,
    ]);
  });

  it('refuses oversize arguments, NUL bytes, bad random and overlapping stacks', () => {
    expect(() => load(bin.free!, opts({ stackSize: 64 * 1024, envp: ['X=' + 'y'.repeat(20000)] }))).toThrow(
      LoadError,
    );
    expect(() => load(bin.free!, opts({ argv: ['a\0b'] }))).toThrow(/NUL/);
    expect(() => load(bin.free!, opts({ random: new Uint8Array(8) }))).toThrow(/16 bytes/);
    expect(() => load(bin.free!, opts({ stackTop: 0x08100000, stackSize: 0x100000 }))).toThrow(ElfError);
    expect(() => load(bin.free!, opts({ stackTop: 0x1234 }))).toThrow(LoadError);
  });
});
