// #13: Memory.readF64/writeF64, the x87's direct path for 8-aligned m64 operands (fpu.ts fldM64,
// ldF64, fstM64). They are fast paths only: a page the word accessors would not read or write
// directly (unmapped, watched, copy-on-write, holding code, not writable) or an operand that is not
// 8-aligned must give NaN / false and change nothing, so the FPU's word path handles it (faults,
// watch reports, copy-on-write and code invalidation stay where they were). The values are checked
// against the word accessors.

import { describe, expect, it } from 'vitest';
import { Memory, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../src/emulator/memory.js';

const BASE = 0x10000;

function mem(): Memory {
  const m = new Memory();
  m.map(BASE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE);
  return m;
}

/** The double the two words at `a` hold (the word path's view). */
function fromWords(m: Memory, a: number): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setInt32(0, m.read32(a), true);
  dv.setInt32(4, m.read32(a + 4), true);
  return dv.getFloat64(0, true);
}

describe('Memory.readF64 / writeF64 (#13)', () => {
  it('reads and writes 8-aligned doubles as the word accessors see them', () => {
    const m = mem();
    for (const [i, v] of [1.5, -0, 2 ** -1074, -Infinity, 1e308].entries()) {
      const a = BASE + PAGE_SIZE - 8 * (i + 1);
      m.write32(a, 0); // the page gets a frame of its own: copy-on-write is resolved
      expect(m.writeF64(a, v)).toBe(true);
      expect(Object.is(fromWords(m, a), v)).toBe(true);
      expect(Object.is(m.readF64(a), v)).toBe(true);
    }
  });

  it('declines operands that are not 8-aligned', () => {
    const m = mem();
    m.write32(BASE, 0);
    m.write32(BASE + 4, 0x3ff00000);
    m.write32(BASE + 8, 0);
    expect(m.readF64(BASE)).toBe(1);
    expect(m.readF64(BASE + 4)).toBeNaN();
    expect(m.writeF64(BASE + 4, 2)).toBe(false);
    expect(m.read32(BASE + 4)).toBe(0x3ff00000);
    expect(m.read32(BASE + 8)).toBe(0);
  });

  it('declines pages the word accessors would not use directly, changing nothing', () => {
    const m = mem();
    // Copy-on-write (never written: the zero frame) - the write must not land in the zero frame.
    expect(m.writeF64(BASE + PAGE_SIZE, 3)).toBe(false);
    expect(m.readF64(BASE + PAGE_SIZE)).toBe(0);
    expect(m.residentBytes).toBe(0);
    // Unmapped: no fault, no value.
    expect(m.readF64(BASE + 8 * PAGE_SIZE)).toBeNaN();
    expect(m.writeF64(BASE + 8 * PAGE_SIZE, 3)).toBe(false);
    // Watched: the read is not reported (the word path reports it).
    const seen: number[] = [];
    m.onWatchRead = (w) => seen.push(w);
    m.write32(BASE + 2 * PAGE_SIZE, 7);
    m.watch(BASE + 2 * PAGE_SIZE + 0x100);
    expect(m.readF64(BASE + 2 * PAGE_SIZE)).toBeNaN();
    expect(seen).toEqual([]);
    // Code: a write must reach the code cache through the word path.
    m.write32(BASE + 3 * PAGE_SIZE, 7);
    m.markCode((BASE + 3 * PAGE_SIZE) >>> 12);
    expect(m.writeF64(BASE + 3 * PAGE_SIZE, 3)).toBe(false);
    expect(m.read32(BASE + 3 * PAGE_SIZE)).toBe(7);
    // Read-only.
    m.protect(BASE, PAGE_SIZE, PROT_READ);
    expect(m.writeF64(BASE, 3)).toBe(false);
  });
});
