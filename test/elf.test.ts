// ELF parser and symbol table, checked against binutils (readelf, nm) as an independent oracle on
// binaries built at test time, plus hand-crafted and mis-built inputs that must be refused with a
// clear one-line message.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElfError, parseElf, PT_LOAD, PT_TLS, type ElfImage } from '../src/emulator/elf.js';
import { formatSymOffset, SymbolTable } from '../src/emulator/symbols.js';
import { buildGuest, FREESTANDING, STATIC, STATIC_PIE } from './helpers/gcc.js';

const FREESTANDING_SRC = `
int counter = 3;
int zeros[100];
const char msg[] = "hi";
static int helper(int x) { return x * 2; }
static int twice(int x) { return helper(helper(x)); }
void _start(void) {
  counter = twice(counter) + msg[0] + zeros[3];
  for (;;) __asm__ volatile("int $0x80" : : "a"(1), "b"(counter));
}
`;

const GLIBC_SRC = `
#include <stdio.h>
#include <stdlib.h>
int global_data = 42;
int global_bss[64];
static int file_static = 7;
__thread int tls_var = 5;
int work(int n) { return n <= 1 ? 1 : n * work(n - 1); }
static int local_helper(int x) { return x + file_static; }
int main(int argc, char **argv) {
  (void)argv;
  printf("%d %d %d\\n", work(argc + 3), local_helper(argc), tls_var + global_data + global_bss[1]);
  return 0;
}
`;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

const PT_NAMES: Record<string, number> = {
  NULL: 0,
  LOAD: 1,
  DYNAMIC: 2,
  INTERP: 3,
  NOTE: 4,
  SHLIB: 5,
  PHDR: 6,
  TLS: 7,
  GNU_EH_FRAME: 0x6474e550,
  GNU_STACK: 0x6474e551,
  GNU_RELRO: 0x6474e552,
  GNU_PROPERTY: 0x6474e553,
};

interface RefSeg {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  flags: number;
  align: number;
}

function readelfSegments(file: string): { entry: number; type: string; segs: RefSeg[] } {
  const h = run('readelf', ['-hW', file]);
  const entry = parseInt(/Entry point address:\s+0x([0-9a-f]+)/.exec(h)![1]!, 16);
  const type = /Type:\s+(\w+)/.exec(h)![1]!;
  const segs: RefSeg[] = [];
  const re =
    /^\s+(\w+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+([RWE ]{3})\s+0x([0-9a-f]+)\s*$/;
  for (const line of run('readelf', ['-lW', file]).split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const fl = m[6]!;
    segs.push({
      type: PT_NAMES[m[1]!] ?? -1,
      offset: parseInt(m[2]!, 16),
      vaddr: parseInt(m[3]!, 16),
      filesz: parseInt(m[4]!, 16),
      memsz: parseInt(m[5]!, 16),
      flags: (fl[0] === 'R' ? 4 : 0) | (fl[1] === 'W' ? 2 : 0) | (fl[2] === 'E' ? 1 : 0),
      align: parseInt(m[7]!, 16),
    });
  }
  return { entry, type, segs };
}

interface NmSym {
  addr: number;
  size: number;
  letter: string;
  name: string;
}

/** nm -S --defined-only, minus what the table deliberately leaves out (ABS, TLS, sections, files). */
function nmSymbols(file: string): NmSym[] {
  const excluded = new Set<string>();
  for (const line of run('readelf', ['-sW', file]).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^\d+:$/.test(f[0]!)) continue;
    if (['TLS', 'SECTION', 'FILE'].includes(f[3]!) || ['ABS', 'COM', 'UND'].includes(f[6]!))
      excluded.add(f[7]!);
  }
  const out: NmSym[] = [];
  for (const line of run('nm', ['-S', '--defined-only', file]).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [addr, size, letter, name] = f.length === 4 ? f : [f[0], '0', f[1], f[2]];
    if ('AaNn'.includes(letter!) || excluded.has(name!)) continue;
    out.push({ addr: parseInt(addr!, 16), size: parseInt(size!, 16), letter: letter!, name: name! });
  }
  return out;
}

function checkAgainstBinutils(file: string, img: ElfImage): void {
  const ref = readelfSegments(file);
  expect(img.entry).toBe(ref.entry);
  expect(img.type).toBe(ref.type === 'EXEC' ? 'exec' : 'pie');
  expect(img.phnum).toBe(ref.segs.length);
  expect(img.phentsize).toBe(32);
  expect(img.segments).toEqual(ref.segs);

  const nm = nmSymbols(file);
  expect(nm.length).toBeGreaterThan(5);
  for (const s of nm) {
    const all = img.symbols.lookupAll(s.name);
    expect(all.some((x) => x.addr === s.addr && x.size === s.size)).toBe(true);
  }
  // ...and nothing beyond what nm lists.
  expect(img.symbols.size).toBe(nm.length);
  // Functions: text symbols in nm (T, t, W on code, i) with their sizes.
  const funcs = img.symbols.functions();
  for (let i = 1; i < funcs.length; i++) expect(funcs[i]!.addr).toBeGreaterThanOrEqual(funcs[i - 1]!.addr);
  for (const f of funcs) {
    expect(nm.some((s) => s.name === f.name && s.addr === f.addr && s.size === f.size)).toBe(true);
    // Every sized function's interior symbolizes to a symbol at its start (perhaps an alias).
    if (f.size > 0) {
      const mid = img.symbols.symbolize(f.addr + (f.size >> 1))!;
      expect(mid.sym.addr + mid.offset).toBe(f.addr + (f.size >> 1));
      expect(mid.sym.addr).toBeLessThanOrEqual(f.addr + (f.size >> 1));
      expect(img.symbols.symbolize(f.addr)!.offset).toBe(0);
    }
  }
}

let dir: string;
const bin: Record<string, string> = {};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-elf-'));
  bin.free = buildGuest(FREESTANDING_SRC, [...FREESTANDING, '-O1'], 'elf-free');
  bin.static = buildGuest(GLIBC_SRC, STATIC, 'elf-static');
  bin.pie = buildGuest(GLIBC_SRC, STATIC_PIE, 'elf-static-pie');
  bin.dynamic = buildGuest(GLIBC_SRC, ['-m32'], 'elf-dynamic');
  bin.x64 = buildGuest(GLIBC_SRC, ['-m64'], 'elf-x86-64');
  bin.x64static = buildGuest(GLIBC_SRC, ['-m64', '-static'], 'elf-x86-64-static');
  bin.obj = buildGuest(GLIBC_SRC, ['-m32', '-c'], 'elf-object');
});

function refuse(bytes: Uint8Array): string {
  try {
    parseElf(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('parseElf accepted the input');
}

/** A minimal ELF32 header with the given fields, for inputs gcc will not make. */
function craftHeader(f: {
  cls?: number;
  data?: number;
  type?: number;
  machine?: number;
  phnum?: number;
}): Uint8Array {
  const b = new Uint8Array(52 + 32);
  b.set([0x7f, 0x45, 0x4c, 0x46, f.cls ?? 1, f.data ?? 1, 1]);
  const le = (f.data ?? 1) === 1;
  const dv = new DataView(b.buffer);
  dv.setUint16(16, f.type ?? 2, le);
  dv.setUint16(18, f.machine ?? 3, le);
  dv.setUint32(20, 1, le);
  dv.setUint32(24, 0x8048054, le);
  dv.setUint32(28, 52, le);
  dv.setUint16(40, 52, le);
  dv.setUint16(42, 32, le);
  dv.setUint16(44, f.phnum ?? 1, le);
  dv.setUint16(46, 40, le);
  // One PT_NOTE (not PT_LOAD) so a "valid" header still has nothing to load.
  dv.setUint32(52, 4, le);
  return b;
}

describe('parseElf on real binaries (oracle: readelf, nm)', () => {
  it('freestanding -nostdlib -static', () => {
    const img = parseElf(fs.readFileSync(bin.free!));
    checkAgainstBinutils(bin.free!, img);
    expect(img.type).toBe('exec');
    expect(img.symbols.lookup('_start')!.type).toBe('func');
    expect(img.symbols.lookup('counter')).toMatchObject({ type: 'object', size: 4 });
    expect(img.symbols.lookup('zeros')).toMatchObject({ type: 'object', size: 400 });
    expect(img.tlsSegment).toBeUndefined();
  });

  it('static glibc (ET_EXEC) with TLS', () => {
    const img = parseElf(fs.readFileSync(bin.static!));
    checkAgainstBinutils(bin.static!, img);
    expect(img.type).toBe('exec');
    expect(img.tlsSegment?.type).toBe(PT_TLS);
    // TLS symbols hold offsets, not addresses: left out.
    expect(img.symbols.lookup('tls_var')).toBeUndefined();
    expect(img.symbols.lookup('main')!.type).toBe('func');
    expect(img.symbols.lookup('local_helper')).toBeDefined();
    expect(img.symbols.lookup('global_bss')).toMatchObject({ type: 'object', size: 256 });
  });

  it('static-pie (ET_DYN without PT_INTERP)', () => {
    const img = parseElf(fs.readFileSync(bin.pie!));
    checkAgainstBinutils(bin.pie!, img);
    expect(img.type).toBe('pie');
    expect(img.segments.filter((s) => s.type === PT_LOAD)[0]!.vaddr).toBe(0);
  });

  it('rebase moves every symbol by the bias, and back', () => {
    const img = parseElf(fs.readFileSync(bin.pie!));
    const main = img.symbols.lookup('main')!;
    const moved = img.symbols.rebase(0x56555000);
    expect(moved.lookup('main')!.addr).toBe(main.addr + 0x56555000);
    expect(moved.symbolize(main.addr + 0x56555000 + 3)).toMatchObject({ sym: { name: 'main' }, offset: 3 });
    expect(moved.rebase(0).lookup('main')!.addr).toBe(main.addr);
    expect(moved.functions().length).toBe(img.symbols.functions().length);
  });
});

describe('SymbolTable semantics', () => {
  const raw = (
    name: string,
    addr: number,
    size: number,
    type: string,
    bind: 'local' | 'global' | 'weak',
  ) => ({
    name,
    addr,
    size,
    type,
    bind,
    code: type !== 'object',
  });
  const t = new SymbolTable([
    raw('dup', 0x1000, 0x10, 'func', 'local'),
    raw('dup', 0x2000, 0x10, 'func', 'local'),
    raw('f', 0x3000, 0x100, 'func', 'local'),
    raw('f', 0x4000, 0x10, 'object', 'global'),
    raw('g', 0x5000, 0x20, 'object', 'global'),
    raw('g', 0x5100, 0x20, 'func', 'global'),
    raw('__write', 0x6000, 0x40, 'func', 'global'),
    raw('write', 0x6000, 0x40, 'func', 'weak'),
    raw('__libc_write', 0x6000, 0x40, 'func', 'global'),
    raw('inner_label', 0x3080, 0, 'notype', 'local'),
    raw('empty', 0x7000, 0, 'func', 'global'),
  ]);

  it('lookup prefers global over local, functions over objects; first of duplicate locals', () => {
    expect(t.lookup('dup')!.addr).toBe(0x1000);
    expect(t.lookupAll('dup').map((s) => s.addr)).toEqual([0x1000, 0x2000]);
    expect(t.lookup('f')!.addr).toBe(0x4000); // global object beats local function
    expect(t.lookup('g')!.addr).toBe(0x5100); // both global: function wins
    expect(t.lookup('nope')).toBeUndefined();
  });

  it('symbolize: containing symbol, canonical alias, nearest preceding, below the first', () => {
    expect(t.symbolize(0x1004)).toEqual({
      sym: { name: 'dup', addr: 0x1000, size: 0x10, type: 'func' },
      offset: 4,
    });
    // Globals beat the weak 'write'; equal underscores, so alphabetical among them.
    expect(t.symbolize(0x6010)!.sym.name).toBe('__libc_write');
    expect(t.symbolize(0x3090)).toMatchObject({ sym: { name: 'f' }, offset: 0x90 }); // label inside f
    expect(t.symbolize(0x3080)).toMatchObject({ sym: { name: 'f' }, offset: 0x80 });
    expect(t.symbolize(0x1800)).toMatchObject({ sym: { name: 'dup' }, offset: 0x800 }); // past size
    expect(t.symbolize(0x7004)).toMatchObject({ sym: { name: 'empty' }, offset: 4 });
    expect(t.symbolize(0xfff)).toBeUndefined();
  });

  it('functions() are sorted with sizes; formatSymOffset', () => {
    const f = t.functions();
    expect(f.map((s) => s.addr)).toEqual([...f.map((s) => s.addr)].sort((a, b) => a - b));
    expect(f.every((s) => s.type === 'func')).toBe(true);
    expect(formatSymOffset(t, 0x1012)).toBe('dup+0x12');
    expect(formatSymOffset(t, 0x5100)).toBe('g');
    expect(t.format(0x10)).toBe('0x10');
  });
});

describe('parseElf refuses what it cannot run, in one line', () => {
  it('a text file', () => {
    const p = path.join(dir, 'notes.txt');
    fs.writeFileSync(p, 'hello, this is not a program\n');
    expect(refuse(fs.readFileSync(p))).toMatch(/^not an ELF file/);
    expect(refuse(new Uint8Array(0))).toMatch(/^not an ELF file/);
  });

  it('truncated ELF files', () => {
    const full = fs.readFileSync(bin.static!);
    expect(refuse(full.subarray(0, 16))).toMatch(/truncated/);
    expect(refuse(full.subarray(0, 40))).toMatch(/truncated/);
    expect(refuse(full.subarray(0, 100))).toMatch(/truncated.*program headers/);
    expect(refuse(full.subarray(0, full.length >> 1))).toMatch(/truncated.*PT_LOAD/);
    expect(refuse(full.subarray(0, full.length - 10))).toMatch(/truncated.*section headers/);
  });

  it('x86-64 ELF from plain gcc (dynamic and static)', () => {
    expect(refuse(fs.readFileSync(bin.x64!))).toBe(
      'x86-64 (64-bit) ELF: only 32-bit i386 binaries are supported',
    );
    expect(refuse(fs.readFileSync(bin.x64static!))).toBe(
      'x86-64 (64-bit) ELF: only 32-bit i386 binaries are supported',
    );
  });

  it('other machines are named', () => {
    expect(refuse(craftHeader({ machine: 40 }))).toMatch(/^ARM ELF .*only 32-bit i386/);
    expect(refuse(craftHeader({ machine: 243 }))).toMatch(/^RISC-V ELF/);
    expect(refuse(craftHeader({ cls: 2, machine: 183 }))).toMatch(/^AArch64 \(64-bit\) ELF/);
    expect(refuse(craftHeader({ machine: 0x1234 }))).toMatch(/unknown machine \(e_machine 4660\)/);
  });

  it('big-endian', () => {
    expect(refuse(craftHeader({ data: 2, machine: 8 }))).toMatch(/^big-endian MIPS ELF/);
    expect(refuse(craftHeader({ data: 2, machine: 3 }))).toMatch(/^big-endian i386 ELF/);
  });

  it('dynamically linked i386 from gcc -m32', () => {
    expect(refuse(fs.readFileSync(bin.dynamic!))).toBe(
      'dynamically linked (interpreter /lib/ld-linux.so.2): only static binaries are supported; rebuild with -static',
    );
  });

  it('not executables: object file, core, no PT_LOAD, no program headers', () => {
    expect(refuse(fs.readFileSync(bin.obj!))).toMatch(/relocatable object file/);
    expect(refuse(craftHeader({ type: 4 }))).toMatch(/core dump/);
    expect(refuse(craftHeader({ type: 7 }))).toMatch(/not an executable/);
    expect(refuse(craftHeader({}))).toMatch(/no PT_LOAD/);
    expect(refuse(craftHeader({ phnum: 0 }))).toMatch(/no program headers/);
  });

  it('malformed: invalid class, filesz > memsz, entry outside the image', () => {
    expect(refuse(craftHeader({ cls: 3 }))).toMatch(/invalid class/);
    const b = craftHeader({});
    const dv = new DataView(b.buffer);
    dv.setUint32(52, 1, true); // PT_LOAD
    dv.setUint32(52 + 4, 0, true);
    dv.setUint32(52 + 8, 0x8048000, true);
    dv.setUint32(52 + 16, 0x54, true);
    dv.setUint32(52 + 20, 0x10, true);
    expect(refuse(b)).toMatch(/filesz .* > memsz/);
    dv.setUint32(52 + 20, 0x60, true);
    expect(() => parseElf(b)).not.toThrow();
    dv.setUint32(24, 0x9000000, true);
    expect(refuse(b)).toMatch(/entry point 0x9000000 is outside/);
  });

  it('never throws anything but ElfError on corrupted headers (fuzz)', () => {
    const base = fs.readFileSync(bin.free!);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(base);
      const n = 1 + Math.floor(rnd() * 4);
      // Half the runs hit the headers, half anywhere (section headers, symbol and string tables).
      const span = i % 2 ? 0x200 : b.length;
      for (let k = 0; k < n; k++) b[Math.floor(rnd() * span)] = Math.floor(rnd() * 256);
      try {
        parseElf(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ElfError);
      }
    }
  });
});
