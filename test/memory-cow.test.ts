// Memory's frame pool (#12 copy-on-write fork, #16 memory that is right or refused), checked against
// a plain model: every address space is a Map from word address to value, copied whole at each fork
// (an eager copy, the behaviour copy-on-write must be indistinguishable from), with MAP_SHARED words
// kept in one Map both sides write. Random writes, forks and releases; every word is compared after
// each step. Also: the zero frame stays zero, a fork copies no frame, a page is copied only when a
// write hits a frame somebody else still names, and the mapping limit.

import { describe, expect, it } from 'vitest';
import {
  Memory,
  MemoryLimitError,
  PAGE_COW,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  parseMemSize,
} from '../src/emulator/memory.js';

const BASE = 0x10000000;
const SHARED_BASE = 0x20000000;
const PAGES = 16;
const RW = PROT_READ | PROT_WRITE;

/** Deterministic generator (xorshift32), so a failure names its step. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface Space {
  mem: Memory;
  words: Map<number, number>;
}

describe('Memory copy-on-write fork (#12) against an eager-copy model', () => {
  it('random writes, forks and releases: every space reads what the model holds', () => {
    const rand = rng(12345);
    const root = new Memory();
    root.map(BASE, PAGES * PAGE_SIZE, RW);
    root.map(SHARED_BASE, 4 * PAGE_SIZE, RW, true);
    const shared = new Map<number, number>();
    const spaces: Space[] = [{ mem: root, words: new Map() }];
    const addrOf = () => (BASE + Math.floor(rand() * PAGES * 1024) * 4) >>> 0;
    const sharedAddr = () => (SHARED_BASE + Math.floor(rand() * 4 * 1024) * 4) >>> 0;
    for (let step = 0; step < 3000; step++) {
      const r = rand();
      const s = spaces[Math.floor(rand() * spaces.length)]!;
      if (r < 0.04 && spaces.length < 6) {
        spaces.push({ mem: s.mem.clone(), words: new Map(s.words) });
      } else if (r < 0.06 && spaces.length > 1) {
        const i = spaces.indexOf(s);
        s.mem.release();
        spaces.splice(i, 1);
      } else if (r < 0.16) {
        const a = sharedAddr();
        const v = (rand() * 2 ** 32) | 0;
        s.mem.write32(a, v);
        shared.set(a, v);
      } else {
        const a = addrOf();
        const v = (rand() * 2 ** 32) | 0;
        if (r < 0.5) s.mem.write32(a, v);
        else {
          // Byte writes through the unaligned paths too.
          s.mem.write8(a, v & 0xff);
          s.mem.write16(a + 1, (v >> 8) & 0xffff);
          s.mem.write8(a + 3, (v >>> 24) & 0xff);
        }
        s.words.set(a, v);
      }
      if (step % 250 === 249) {
        for (const [si, sp] of spaces.entries()) {
          for (let w = 0; w < PAGES * 1024; w++) {
            const a = BASE + w * 4;
            if (sp.mem.read32(a) !== (sp.words.get(a) ?? 0))
              expect.fail(`step ${step} space ${si} word ${a.toString(16)}`);
          }
          for (let w = 0; w < 4 * 1024; w++) {
            const a = SHARED_BASE + w * 4;
            if (sp.mem.read32(a) !== (shared.get(a) ?? 0))
              expect.fail(`step ${step} space ${si} shared word ${a.toString(16)}`);
          }
        }
      }
    }
    // Released spaces gave their frames back: the live frames are at most what the live spaces name.
    const named = spaces.reduce((n, s) => n + s.mem.residentBytes / PAGE_SIZE, 0);
    expect(root.pool.liveFrames).toBeLessThanOrEqual(named);
    // The zero frame was never written. (Read through the pool's current view: root may have been
    // released above, and a released space's `ram` is not refreshed when the pool grows; under
    // PROBELAB_JIT=wasm the store is a WebAssembly.Memory, whose growth detaches the old view.)
    expect(root.pool.ram.subarray(0, PAGE_SIZE).every((b) => b === 0)).toBe(true);
  });

  it('a fork copies no frame; a write copies one page only while another space names it', () => {
    const parent = new Memory();
    parent.map(BASE, 64 * PAGE_SIZE, RW);
    for (let p = 0; p < 64; p++) parent.write32(BASE + p * PAGE_SIZE, p + 1);
    const live = parent.pool.liveFrames;
    const child = parent.clone();
    expect(parent.pool.liveFrames).toBe(live);
    expect(parent.pool.copies).toBe(0);
    // Both sides now take the slow path on a write to a shared page (the JIT's fast path tests this bit).
    expect(parent.perm[BASE / PAGE_SIZE]! & PAGE_COW).toBe(PAGE_COW);
    expect(child.perm[BASE / PAGE_SIZE]! & PAGE_COW).toBe(PAGE_COW);
    child.write32(BASE, 100);
    expect(parent.pool.copies).toBe(1);
    expect(parent.read32(BASE)).toBe(1);
    expect(child.read32(BASE)).toBe(100);
    // The parent is now the only one naming page 0's old frame: its write takes it over, no copy.
    parent.write32(BASE, 7);
    expect(parent.pool.copies).toBe(1);
    // After the child is gone, the parent writes every other page without copying.
    child.release();
    for (let p = 1; p < 64; p++) parent.write32(BASE + p * PAGE_SIZE, 0);
    expect(parent.pool.copies).toBe(1);
    expect(parent.pool.liveFrames).toBe(live);
  });

  it('untouched mapped pages cost no frame, reading them included', () => {
    const m = new Memory();
    m.map(BASE, 4096 * PAGE_SIZE, RW);
    let sum = 0;
    for (let p = 0; p < 4096; p++) sum += m.read32(BASE + p * PAGE_SIZE) + m.read8(BASE + p * PAGE_SIZE + 9);
    expect(sum).toBe(0);
    expect(m.pool.liveFrames).toBe(0);
    expect(m.residentBytes).toBe(0);
    m.write8(BASE + 5 * PAGE_SIZE + 3, 1);
    expect(m.residentBytes).toBe(PAGE_SIZE);
  });

  it('move hands frames over (mremap): contents follow, the old range is unmapped', () => {
    const m = new Memory();
    m.map(BASE, 8 * PAGE_SIZE, RW);
    for (let p = 0; p < 8; p++) m.write32(BASE + p * PAGE_SIZE + 4, 0x1000 + p);
    const live = m.pool.liveFrames;
    m.move(BASE, SHARED_BASE, 8);
    for (let p = 0; p < 8; p++) expect(m.read32(SHARED_BASE + p * PAGE_SIZE + 4)).toBe(0x1000 + p);
    expect(m.isMapped(BASE)).toBe(false);
    expect(m.mappedBytes).toBe(8 * PAGE_SIZE);
    expect(m.pool.liveFrames).toBe(live);
  });
});

describe('Memory.findFree skips whole empty and full page groups (mmap placement)', () => {
  it('finds what a page-by-page scan finds', () => {
    const rand = rng(99);
    const m = new Memory();
    // Mappings of random sizes around group boundaries (1024 pages), some whole groups.
    for (let i = 0; i < 60; i++) {
      const page = 0x10000 + Math.floor(rand() * 40 * 1024);
      const pages = rand() < 0.2 ? 1024 + Math.floor(rand() * 2048) : 1 + Math.floor(rand() * 300);
      m.map(page * PAGE_SIZE, pages * PAGE_SIZE, PROT_READ);
    }
    const naive = (len: number, below: number, above: number): number => {
      const pages = Math.ceil(len / PAGE_SIZE);
      let run = 0;
      for (let p = below / PAGE_SIZE - 1; p >= above / PAGE_SIZE; p--) {
        if (m.isMapped(p * PAGE_SIZE)) run = 0;
        else if (++run === pages) return p * PAGE_SIZE;
      }
      return -1;
    };
    for (let i = 0; i < 200; i++) {
      const len = (1 + Math.floor(rand() * (rand() < 0.3 ? 5000 : 200))) * PAGE_SIZE;
      const below = (0x10000 + Math.floor(rand() * 44 * 1024)) * PAGE_SIZE;
      const above = 0x10000 * PAGE_SIZE + Math.floor(rand() * 4) * 1024 * PAGE_SIZE;
      expect(m.findFree(len, below, above), `len ${len} below ${below} above ${above}`).toBe(
        naive(len, below, above),
      );
    }
  });
});

describe('Memory limit (#16): RLIMIT_AS-style accounting', () => {
  it('canMap counts only pages not mapped yet; map past the limit and reserve throws', () => {
    const m = new Memory({ limit: 16 << 20 });
    expect(m.limitBytes).toBe(16 << 20);
    m.map(BASE, 8 << 20, RW);
    expect(m.canMap(BASE + (8 << 20), 8 << 20)).toBe(true);
    expect(m.canMap(BASE + (8 << 20), (8 << 20) + PAGE_SIZE)).toBe(false);
    // Replacing mapped pages (MAP_FIXED over them) needs nothing more.
    expect(m.canMap(BASE, 16 << 20)).toBe(true);
    m.unmap(BASE, 4 << 20);
    expect(m.mappedBytes).toBe(4 << 20);
    expect(m.canGrow((12 << 20) / PAGE_SIZE)).toBe(true);
    expect(() => m.map(SHARED_BASE, 64 << 20, RW)).toThrow(MemoryLimitError);
  });

  it('--mem sizes: suffixes, page rounding, range', () => {
    expect(parseMemSize('512M')).toBe(512 << 20);
    expect(parseMemSize('2G')).toBe(2 ** 31);
    expect(parseMemSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseMemSize('4g')).toBe(2 ** 32);
    expect(parseMemSize('65536k')).toBe(64 << 20);
    expect(parseMemSize(String((32 << 20) + 5))).toBe(32 << 20);
    for (const bad of ['', 'x', '1M', '5G', '-1G', '1T', '12 MB extra']) expect(parseMemSize(bad)).toBeNull();
  });
});
