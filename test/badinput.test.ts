// Bad input: files that are not runnable static i386 executables must make Machine.load throw an
// ElfError with a one-line message (never another exception type), and a binary that jumps into
// unmapped memory must end with a clean guest SIGSEGV (status 'signaled', no host stack trace).

import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElfError, Machine } from '../src/emulator/machine.js';
import { buildGuest } from './helpers/gcc.js';
import { FREESTANDING_FLAGS, REPO_ROOT, requireTools } from './helpers/native.js';

const TINY = `
__asm__(".globl _start\\n_start:\\n movl $1, %eax\\n movl $3, %ebx\\n int $0x80\\n");
`;

function loadError(bytes: Uint8Array): ElfError {
  let err: unknown = null;
  try {
    Machine.load(bytes, { argv: ['bad'] });
  } catch (e) {
    err = e;
  }
  expect(err, 'Machine.load must throw').not.toBeNull();
  expect(err).toBeInstanceOf(ElfError);
  const msg = (err as Error).message;
  expect(msg.length).toBeGreaterThan(0);
  expect(msg).not.toMatch(/\n/);
  return err as ElfError;
}

/** A minimal ELF header (52 bytes) + one PT_LOAD program header, with the given class/machine. */
function craftElf(opts: { cls: number; machine: number; data?: number }): Uint8Array {
  const b = Buffer.alloc(0x1000);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.cls, opts.data ?? 1, 1, 0], 0);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(opts.machine, 18);
  b.writeUInt32LE(1, 20);
  b.writeUInt32LE(0x10054, 24); // entry
  b.writeUInt32LE(52, 28); // phoff
  b.writeUInt16LE(52, 40); // ehsize
  b.writeUInt16LE(32, 42); // phentsize
  b.writeUInt16LE(1, 44); // phnum
  b.writeUInt16LE(40, 46);
  b.writeUInt32LE(1, 52); // PT_LOAD
  b.writeUInt32LE(0, 56);
  b.writeUInt32LE(0x10000, 60);
  b.writeUInt32LE(0x10000, 64);
  b.writeUInt32LE(0x1000, 68);
  b.writeUInt32LE(0x1000, 72);
  b.writeUInt32LE(5, 76);
  b.writeUInt32LE(0x1000, 80);
  return new Uint8Array(b);
}

describe('bad input', () => {
  let good: Uint8Array;
  beforeAll(() => {
    requireTools();
    good = new Uint8Array(fs.readFileSync(buildGuest(TINY, FREESTANDING_FLAGS, 'badinput-tiny')));
  });

  it('the well-formed control binary runs (sanity)', () => {
    const r = Machine.load(good, { argv: ['tiny'] }).run();
    expect(r.status).toBe('exited');
    expect(r.exitCode).toBe(3);
  });

  it('a text file', () => {
    loadError(new Uint8Array(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'lorem.txt'))));
  });

  it('an empty file and a lone ELF magic', () => {
    loadError(new Uint8Array(0));
    loadError(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
  });

  it('truncated ELF files', () => {
    for (const n of [16, 51, 52, 60, 84]) loadError(good.subarray(0, n));
    // segments beyond the end of the file
    const half = good.subarray(0, Math.min(good.length - 1, 0x1000 + 8));
    let threw = false;
    try {
      const r = Machine.load(half, { argv: ['half'], maxInstructions: 1000 }).run();
      expect(['signaled', 'exited', 'truncated']).toContain(r.status);
    } catch (e) {
      threw = true;
      expect(e).toBeInstanceOf(ElfError);
    }
    expect(typeof threw).toBe('boolean');
  });

  it('an x86-64 ELF', () => {
    const bin = buildGuest(
      TINY.replace('movl $1, %eax', 'movl $60, %eax').replace('int $0x80', 'syscall'),
      ['-m64', '-nostdlib', '-static'],
      'badinput-x64',
    );
    const e = loadError(new Uint8Array(fs.readFileSync(bin)));
    expect(e.message).toMatch(/64|class|x86-64|i386|machine/i);
  });

  it('an ARM ELF (crafted header)', () => {
    const e = loadError(craftElf({ cls: 1, machine: 40 }));
    expect(e.message).toMatch(/arm|machine|i386|architecture/i);
  });

  it('a big-endian ELF and a wrong ELF class', () => {
    loadError(craftElf({ cls: 1, machine: 3, data: 2 }));
    loadError(craftElf({ cls: 3, machine: 3 }));
  });

  it('a dynamically linked i386 ELF says only static binaries are supported', () => {
    const bin = buildGuest(
      '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n',
      ['-m32', '-O2'],
      'badinput-dynamic',
    );
    const bytes = new Uint8Array(fs.readFileSync(bin));
    expect(Buffer.from(bytes).includes('ld-linux.so.2')).toBe(true); // has a PT_INTERP
    const e = loadError(bytes);
    expect(e.message).toMatch(/static/i);
  });

  it('a jump into unmapped memory ends with a clean SIGSEGV', () => {
    const bin = buildGuest(
      '__asm__(".globl _start\\n_start:\\n movl $0xdead0000, %eax\\n jmp *%eax\\n");',
      FREESTANDING_FLAGS,
      'badinput-jump',
    );
    const r = Machine.load(new Uint8Array(fs.readFileSync(bin)), { argv: ['jump'] }).run();
    expect(r.status).toBe('signaled');
    expect(r.signal).toBe(11);
    expect(r.signalName).toMatch(/SEGV/);
    expect(r.faultAddr).toBe(0xdead0000);
    expect(r.dump).not.toMatch(/at .*\.(ts|js):\d+/); // no host stack trace
  });

  it('an entry point outside every segment ends with SIGSEGV, not a host error', () => {
    const b = Buffer.from(good);
    b.writeUInt32LE(0x7000_0000, 24);
    let r;
    try {
      r = Machine.load(new Uint8Array(b), { argv: ['entry'] }).run();
    } catch (e) {
      expect(e).toBeInstanceOf(ElfError);
      return;
    }
    expect(r.status).toBe('signaled');
    expect(r.signal).toBe(11);
  });
});
