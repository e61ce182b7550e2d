// Guest memory accessors when the frame store grows: the first touch of a page allocates its frame,
// which may replace the backing array; a read or fetch of such a page must see the new array (a
// zero byte), never an index past the end of the old one (the block-compiler property test found
// read8/fetch8 returning undefined here).

import { describe, expect, it } from 'vitest';
import { Memory, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/emulator/memory.js';

describe('Memory: first touch while the frame store grows', () => {
  it('read8 and fetch8 of untouched pages give 0 across every growth of the store', () => {
    const m = new Memory();
    const base = 0x10000000;
    const pages = 4096; // far more frames than the initial store holds, so it grows several times
    m.map(base, pages * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
    for (let i = 0; i < pages; i++) {
      const a = base + i * PAGE_SIZE + (i % PAGE_SIZE);
      expect(i % 2 ? m.read8(a) : m.fetch8(a), `page ${i}`).toBe(0);
    }
    // The frames are real: a write to one page is read back and does not leak into the next.
    m.write8(base + 5, 0xab);
    expect(m.read8(base + 5)).toBe(0xab);
    expect(m.read8(base + PAGE_SIZE + 5)).toBe(0);
  });
});
