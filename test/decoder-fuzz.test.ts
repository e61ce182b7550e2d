// Decoder fuzzing (fast-check). 1) instructionInfo on random byte strings (plain random and structured:
// prefixes + opcode + modrm/sib/disp/imm) either says invalid or gives a length 1..15 that agrees with an
// independent decoder, GNU objdump (-D -b binary -m i386), run once per batch of cases. 2) Random bytes
// run as guest code in the emulator end in a guest signal, an exit or the instruction budget, never in a
// host exception. SSE/SSE2 encodings must also have objdump's mnemonic (the SSE table's names).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { instructionInfo } from '../src/emulator/insn.js';
import { Machine } from '../src/emulator/machine.js';
import { SSE_ROWS, sseEntry } from '../src/emulator/sse-ops.js';
import { buildGuest } from './helpers/gcc.js';
import { FREESTANDING_FLAGS, requireTools } from './helpers/native.js';

const CASE = 16; // bytes per case
const STRIDE = 32; // case + 16 NOPs: objdump is back at an instruction boundary at the next case

interface ObjdumpInsn {
  length: number;
  text: string;
}

/** First instruction of each case according to objdump: null for "(bad)". */
function objdumpBatch(cases: Uint8Array[]): Array<ObjdumpInsn | null> {
  const buf = Buffer.alloc(cases.length * STRIDE, 0x90);
  cases.forEach((c, k) => buf.set(c.subarray(0, CASE), k * STRIDE));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-objdump-'));
  const file = path.join(dir, 'cases.bin');
  fs.writeFileSync(file, buf);
  let out: string;
  try {
    out = execFileSync('objdump', ['-D', '-b', 'binary', '-m', 'i386', '--insn-width=16', '-w', file], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const at = new Map<number, ObjdumpInsn | null>();
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(line);
    if (!m) continue;
    const off = parseInt(m[1]!, 16);
    if (off % STRIDE !== 0) continue;
    const length = m[2]!.trim().split(' ').length;
    const text = (m[3] ?? '').trim();
    at.set(off, text.includes('(bad)') ? null : { length, text });
  }
  return cases.map((_, k) => {
    const r = at.get(k * STRIDE);
    if (r === undefined) throw new Error(`objdump gave no instruction at case ${k}`);
    return r;
  });
}

const PREFIX_BYTES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const PREFIX_WORDS =
  /^(data16|data32|addr16|addr32|lock|rep[a-z]*|cs|ds|es|fs|gs|ss|bnd|notrack|xacquire|xrelease)$/;

/** One-byte opcodes of the base integer ISA whose every valid form the emulator must decode. */
const CORE = new Set<number>();
for (const [lo, hi] of [
  [0x00, 0x05],
  [0x08, 0x0d],
  [0x10, 0x15],
  [0x18, 0x1d],
  [0x20, 0x25],
  [0x28, 0x2d],
  [0x30, 0x35],
  [0x38, 0x3d],
  [0x40, 0x61],
  [0x68, 0x6b],
  [0x70, 0x8b],
  [0x8d, 0x8d],
  [0x90, 0x99],
  [0x9c, 0x9f],
  [0xa0, 0xaf],
  [0xb0, 0xc3],
  [0xc9, 0xc9],
  [0xcd, 0xcd],
  [0xd0, 0xd3],
  [0xe8, 0xe9],
  [0xeb, 0xeb],
  [0xf5, 0xf7],
  [0xf8, 0xf9],
  [0xfc, 0xff],
] as Array<[number, number]>)
  for (let o = lo; o <= hi; o++) CORE.add(o);

/** Mnemonics of the SSE table (src/emulator/sse-ops.ts): their names are compared with objdump's too. */
const SSE_NAMES = new Set<string>();
for (const op of SSE_ROWS)
  for (let pc = 0; pc < 4; pc++)
    for (let modrm = 0; modrm < 256; modrm += 8) {
      const e = sseEntry(op, pc, modrm) ?? sseEntry(op, pc, modrm | 0xc0);
      if (e) SSE_NAMES.add(e.name);
    }

/**
 * objdump's spelling of the same instruction: after any prefix words, the same mnemonic, or for
 * cmpps & co. the predicate pseudo-op (cmpltps...), or cvtsi2ss/sd with an `l` size suffix.
 */
function sameSseMnemonic(ours: string, text: string): boolean {
  const words = text.split(/\s+/);
  while (words.length > 1 && PREFIX_WORDS.test(words[0]!)) words.shift();
  const theirs = words[0] ?? '';
  if (theirs === ours || theirs === `${ours}l`) return true;
  const cmp = /^cmp(ps|pd|ss|sd)$/.exec(ours);
  return cmp !== null && new RegExp(`^cmp[a-z]*${cmp[1]}$`).test(theirs);
}

function firstOpcode(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && PREFIX_BYTES.includes(b[i]!)) i++;
  return b[i] ?? -1;
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

interface Verdict {
  bad: string | null;
  skipped: boolean;
}

function judge(bytes: Uint8Array, ref: ObjdumpInsn | null): Verdict {
  let info: ReturnType<typeof instructionInfo>;
  try {
    info = instructionInfo(bytes);
  } catch (e) {
    return { bad: `instructionInfo threw ${(e as Error).message}`, skipped: false };
  }
  const valid = !('invalid' in info);
  if (valid && (info.length < 1 || info.length > 15 || !Number.isInteger(info.length)))
    return { bad: `length ${info.length} out of 1..15`, skipped: false };
  // objdump quirks, skipped explicitly:
  // - a lone prefix that objdump prints as its own "instruction" (data16, repz, lock...) before an
  //   opcode it cannot decode: the CPU sees one (invalid or longer) instruction;
  // - more than 15 bytes: objdump decodes, the CPU raises #GP (the emulator must say invalid);
  // - "lock" on an instruction that cannot be locked: objdump prints it, the CPU raises #UD;
  // - ud0/ud1/ud2: valid encodings whose whole purpose is #UD; the emulator may call them invalid.
  if (
    ref &&
    PREFIX_WORDS.test(ref.text.split(/\s+/)[0] ?? '') &&
    ref.length === 1 &&
    ref.text.split(/\s+/).length === 1
  )
    return { bad: null, skipped: true };
  if (ref && ref.length > 15)
    return { bad: valid ? `objdump length ${ref.length} > 15 but emulator says valid` : null, skipped: true };
  if (ref && /\block\b/.test(ref.text) && !valid) return { bad: null, skipped: true };
  if (ref && /^ud[012]\b/.test(ref.text) && !valid) return { bad: null, skipped: true };
  if (valid && ref) {
    if (info.length !== ref.length)
      return {
        bad: `length ${info.length} (${info.mnemonic}) vs objdump ${ref.length} (${ref.text})`,
        skipped: false,
      };
    if (
      firstOpcode(bytes) === 0x0f &&
      SSE_NAMES.has(info.mnemonic) &&
      !sameSseMnemonic(info.mnemonic, ref.text)
    )
      return { bad: `SSE instruction ${info.mnemonic} vs objdump ${ref.text}`, skipped: false };
    return { bad: null, skipped: false };
  }
  // - x87 escapes (d8..df) with a register operand that objdump calls (bad): the length is fixed by
  //   the modrm byte whatever the encoding means (several are undocumented aliases real CPUs execute);
  // - d6 (SALC): undocumented but executed by real CPUs; objdump calls it (bad);
  // - 0f 18..0f 1f: the hint-NOP / MPX space; objdump calls several forms (bad), CPUs decode them
  //   as modrm instructions (NOP r/m).
  const op0 = firstOpcode(bytes);
  const at0 = bytes.indexOf(op0);
  if (!ref && valid && op0 === 0x0f && (bytes[at0 + 1] ?? 0) >= 0x18 && (bytes[at0 + 1] ?? 0) <= 0x1f)
    return { bad: null, skipped: true };
  if (
    !ref &&
    valid &&
    ((op0 >= 0xd8 && op0 <= 0xdf && info.length === bytes.indexOf(op0) + 2) ||
      (op0 === 0xd6 && info.length === bytes.indexOf(op0) + 1))
  )
    return { bad: null, skipped: true };
  if (valid && !ref)
    return {
      bad: `emulator decodes ${info.mnemonic} length ${info.length}, objdump says (bad)`,
      skipped: false,
    };
  if (!valid && ref) {
    // objdump knows far more than a P6 (MMX/SSE/AVX, ...): only base-ISA one-byte opcodes must decode.
    if (CORE.has(firstOpcode(bytes)))
      return {
        bad: `emulator says invalid, objdump decodes ${ref.text} (${ref.length} bytes)`,
        skipped: false,
      };
    return { bad: null, skipped: true };
  }
  return { bad: null, skipped: false };
}

const randomCase = fc.uint8Array({ minLength: CASE, maxLength: CASE });
const structuredCase = fc
  .tuple(
    fc.array(fc.constantFrom(...PREFIX_BYTES), { maxLength: 3 }),
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((o) => [o]),
      fc.integer({ min: 0, max: 255 }).map((o) => [0x0f, o]),
    ),
    fc.integer({ min: 0, max: 255 }), // modrm
    fc.integer({ min: 0, max: 255 }), // sib
    fc.uint8Array({ minLength: 12, maxLength: 12 }), // displacement / immediate bytes
  )
  .map(([pre, op, modrm, sib, rest]) => {
    const b = new Uint8Array(CASE);
    b.set([...pre, ...op, modrm, sib, ...rest].slice(0, CASE));
    return b;
  });

describe('decoder fuzzing: instructionInfo vs objdump', () => {
  beforeAll(() => requireTools());

  for (const [label, arb, seed] of [
    ['random bytes', randomCase, 1],
    ['structured: prefixes + opcode + modrm/sib/disp/imm', structuredCase, 2],
  ] as const)
    it(label, () => {
      let compared = 0;
      let skipped = 0;
      const failures: string[] = [];
      fc.assert(
        fc.property(fc.array(arb, { minLength: 2000, maxLength: 2000 }), (batch) => {
          const refs = objdumpBatch(batch);
          batch.forEach((b, k) => {
            const v = judge(b, refs[k]!);
            if (v.skipped) skipped++;
            else compared++;
            if (v.bad && failures.length < 20) failures.push(`${hexBytes(b)}: ${v.bad}`);
          });
          return true;
        }),
        { numRuns: 3, seed, endOnFailure: true },
      );
      console.log(
        `decoder fuzz (${label}): ${compared} compared with objdump, ${skipped} skipped (quirks/non-P6)`,
      );
      expect(failures.join('\n')).toBe('');
    });
});

describe('random bytes as guest code', () => {
  let elf: Uint8Array;
  beforeAll(() => {
    requireTools();
    const bin = buildGuest(
      '__asm__(".globl _start\\n_start:\\n movl $1, %eax\\n xorl %ebx, %ebx\\n int $0x80\\n");',
      FREESTANDING_FLAGS,
      'fuzz-host',
    );
    elf = new Uint8Array(fs.readFileSync(bin));
  });

  it('always ends in a guest signal, an exit or the budget, never a host exception', () => {
    const CODE = 0x20000000;
    const DATA = 0x30000000;
    const seen: Record<string, number> = {};
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 4096 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 7, maxLength: 7 }),
        (code, regs) => {
          const m = Machine.load(elf, { argv: ['fuzz'], maxInstructions: 20_000 });
          m.memory.map(CODE, 0x1000, 7);
          m.memory.poke(CODE, code);
          m.memory.map(DATA, 0x10000, 3);
          m.cpu.eip = CODE;
          // registers: random, or pointing into the data page so memory operands often hit mapped memory
          [0, 1, 2, 3, 5, 6, 7].forEach((r, k) => {
            const v = regs[k]!;
            m.cpu.regs[r] = (v & 1 ? DATA + (v & 0xfff0) : v) | 0;
          });
          const r = m.run();
          expect(['exited', 'signaled', 'truncated']).toContain(r.status);
          if (r.status === 'signaled') expect(r.signal).toBeGreaterThan(0);
          const key = r.status === 'signaled' ? `signal ${r.signal}` : r.status;
          seen[key] = (seen[key] ?? 0) + 1;
        },
      ),
      { numRuns: 400, seed: 3 },
    );
    console.log(`random guest code outcomes: ${JSON.stringify(seen)}`);
  });
});
