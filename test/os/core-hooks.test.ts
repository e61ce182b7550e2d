// The machine's hook lists (src/emulator/hooks.ts) and code hooks over address ranges.
// Oracles: HookList's contract is checked by construction (what was added/removed when); the
// per-instruction code hook over a function's address range is checked against single-stepping
// the same guest with Machine.step(), which does not use the block decoder's hook flags at all.

import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HookList } from '../../src/emulator/hooks.js';
import { Machine } from '../../src/emulator/machine.js';
import { buildGuest, FREESTANDING } from '../helpers/gcc.js';

describe('HookList', () => {
  it('runs hooks in order, `first` at the front, and stops at the first that returns true', () => {
    const l = new HookList<(x: number) => boolean>();
    const seen: string[] = [];
    l.add(() => (seen.push('a'), false));
    l.add(() => (seen.push('b'), true));
    l.add(() => (seen.push('c'), false));
    l.add(() => (seen.push('z'), false), { first: true });
    expect(l.run(5, (f) => f(5))).toBe(true);
    expect(seen).toEqual(['z', 'a', 'b']);
  });

  it('filters by inclusive key ranges', () => {
    const l = new HookList<() => void>();
    const hits: number[] = [];
    for (const k of [0x100, 0x104, 0x200]) l.add(() => hits.push(k), { begin: k, end: k + 3 });
    for (const key of [0xff, 0x100, 0x103, 0x104, 0x107, 0x108, 0x203]) l.run(key, (f) => f());
    expect(hits).toEqual([0x100, 0x100, 0x104, 0x104, 0x200]);
    expect(l.covers(0x107)).toBe(true);
    expect(l.covers(0x108)).toBe(false);
  });

  it('a hook removed during an iteration is not called again, even later in the same iteration', () => {
    const l = new HookList<() => void>();
    const seen: string[] = [];
    let idB = 0;
    const idA = l.add(() => {
      seen.push('a');
      l.remove(idB);
      l.remove(idA);
    });
    idB = l.add(() => seen.push('b'));
    l.add(() => seen.push('c'));
    l.each((f) => f());
    l.each((f) => f());
    expect(seen).toEqual(['a', 'c', 'c']);
    expect(l.size).toBe(1);
    expect(l.remove(idA)).toBe(false);
  });

  it('a hook added during an iteration first runs on the next one', () => {
    const l = new HookList<() => void>();
    const seen: string[] = [];
    l.add(() => {
      seen.push('a');
      if (seen.length === 1) l.add(() => seen.push('new'));
    });
    l.each((f) => f());
    l.each((f) => f());
    expect(seen).toEqual(['a', 'a', 'new']);
  });
});

const GUEST = `
static int __attribute__((noinline)) work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += (i & 1) ? i : -i;
  return s;
}
void _start(void) {
  int r = work(7) + work(3);
  __asm__ volatile("int $0x80" : : "a"(252), "b"(r & 0x7f));
  for (;;) {}
}
`;

describe('code hooks on address ranges', () => {
  let bin: Uint8Array;
  beforeAll(() => {
    bin = new Uint8Array(fs.readFileSync(buildGuest(GUEST, [...FREESTANDING, '-O1'], 'core-hooks')));
  });

  it('a range hook sees exactly the instructions single-stepping executes in that range', () => {
    const probe = Machine.load(bin, { argv: ['g'] });
    const fn = probe.symbols.lookup('work')!;
    const lo = fn.addr;
    const hi = fn.addr + fn.size - 1;

    const stepped: number[] = [];
    const s = Machine.load(bin, { argv: ['g'] });
    for (;;) {
      const eip = s.cpu.eip >>> 0;
      if (eip >= lo && eip <= hi) stepped.push(eip);
      const r = s.step();
      if (r === 'exited' || r === 'signal') break;
    }

    const m = Machine.load(bin, { argv: ['g'] });
    const hooked: number[] = [];
    const id = m.addCodeHook((_t, a) => hooked.push(a), lo, hi);
    const r = m.run();
    expect(r.status).toBe('exited');
    expect(stepped.length).toBeGreaterThan(20);
    expect(hooked).toEqual(stepped);

    // Removing it: a second machine with a hook added and removed before running sees nothing.
    const m2 = Machine.load(bin, { argv: ['g'] });
    const none: number[] = [];
    const id2 = m2.addCodeHook((_t, a) => none.push(a), lo, hi);
    m2.removeCodeHook(id2, lo, hi);
    m2.run();
    expect(none).toEqual([]);
    expect(id).not.toBe(id2);
  });

  it('progress hooks report retired instructions between rounds, deterministically', () => {
    const spin = `void _start(void){ volatile unsigned i; for (i = 0; i < 700000; i++) {}
      __asm__ volatile("int $0x80" : : "a"(252), "b"(0)); for(;;){} }`;
    const b = new Uint8Array(fs.readFileSync(buildGuest(spin, [...FREESTANDING, '-O1'], 'core-progress')));
    const reports = () => {
      const m = Machine.load(b, { argv: ['g'] });
      const seen: number[] = [];
      m.hooks.progress.add((n) => seen.push(n));
      const r = m.run();
      return { seen, total: r.instructions };
    };
    const a = reports();
    expect(a.seen.length).toBeGreaterThan(0);
    for (let i = 1; i < a.seen.length; i++)
      expect(a.seen[i]! - a.seen[i - 1]!).toBeGreaterThanOrEqual(2_000_000);
    expect(a.seen[a.seen.length - 1]!).toBeLessThanOrEqual(a.total);
    expect(reports()).toEqual(a);
  });
});
