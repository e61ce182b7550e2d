// The code cache's front cache (eip -> block) starts small and grows with the number of decoded
// blocks (#13: a fork or exec builds a cache, and a 64K-slot table allocated up front was most of a
// fork's cost). Growing must never lose or misdirect a block: checked against the cache's own Map
// (find) and by running a chain of more blocks than any early table size has slots.

import { describe, expect, it } from 'vitest';
import { CodeCache } from '../src/emulator/codecache.js';
import { Cpu, type CpuHost } from '../src/emulator/cpu.js';
import { Memory, PROT_EXEC, PROT_READ } from '../src/emulator/memory.js';

const CODE = 0x08048000;
const N = 5000; // blocks: past several doublings of the front cache

/** N two-byte `jmp +0` (each ends a block), then `int $0x80`. */
function chain(): Uint8Array {
  const out = new Uint8Array(2 * N + 2);
  for (let k = 0; k < N; k++) out.set([0xeb, 0x00], 2 * k);
  out.set([0xcd, 0x80], 2 * N);
  return out;
}

function machine(): { mem: Memory; cache: CodeCache; cpu: Cpu; done: () => boolean } {
  const mem = new Memory();
  mem.map(CODE, 0x4000, PROT_READ | PROT_EXEC);
  mem.poke(CODE, chain());
  const cache = new CodeCache(mem);
  let stop = false;
  const host: CpuHost = {
    syscall(c) {
      stop = true;
      c.attention = 1;
    },
    exception() {
      throw new Error('unexpected exception');
    },
    rdtsc: () => 0,
    onHook: () => {},
  };
  const cpu = new Cpu(mem, cache, host);
  cpu.eip = CODE;
  return { mem, cache, cpu, done: () => stop };
}

describe('code cache front cache (#13 fork cost)', () => {
  it('starts small, grows past 5000 blocks, and every lookup still gives the block at that eip', () => {
    const { cache } = machine();
    const first = cache.hmask + 1;
    for (let k = 0; k < N; k++) cache.lookup(CODE + 2 * k);
    expect(cache.hmask + 1).toBeGreaterThan(first);
    for (let k = N - 1; k >= 0; k--) {
      const e = CODE + 2 * k;
      const b = cache.lookup(e);
      expect(cache.eip[b]! >>> 0).toBe(e);
      expect(cache.find(e)).toBe(b);
    }
  });

  it('a run through more blocks than the first table has slots retires every instruction (compiled and not)', () => {
    for (const jit of [false, true]) {
      const { cache, cpu, done } = machine();
      cache.setJit(jit);
      if (jit) cache.jit!.hot = 1;
      // Slices of 777 instructions: lookups go through the table while it grows under them.
      let guard = 0;
      while (!done() && guard++ < 1000) cpu.run(777);
      expect(cpu.retired).toBe(N + 1);
      expect(cpu.eip >>> 0).toBe(CODE + 2 * N + 2);
      expect(cache.decodedBlocks).toBe(N + 1);
    }
  });
});

/** `mov ecx, k; L: dec ecx; jnz L; int $0x80`: blocks [mov, dec, jnz], [dec, jnz] at L, [int]. */
function loop(k: number): Uint8Array {
  return Uint8Array.from([0xb9, k & 255, (k >> 8) & 255, 0, 0, 0x49, 0x75, 0xfd, 0xcd, 0x80]);
}

describe('interpreted-instruction count (#13: the bench reports the share the interpreter ran)', () => {
  function run(k: number, hot: number): { retired: number; interpreted: number } {
    const { mem, cache, cpu, done } = machine();
    mem.poke(CODE, loop(k));
    cache.setJit(true);
    cache.jit!.hot = hot;
    while (!done()) cpu.run(1 << 30);
    return { retired: cpu.retired, interpreted: cache.jit!.interpreted };
  }

  it('counts every instruction when nothing reaches the threshold', () => {
    const r = run(1000, 60000);
    expect(r.retired).toBe(1 + 2 * 1000 + 1);
    expect(r.interpreted).toBe(r.retired);
  });

  it('stops counting the loop once it is compiled: its first `hot` runs, the entry block and int', () => {
    for (const hot of [10, 50]) {
      const r = run(1000, hot);
      expect(r.retired).toBe(1 + 2 * 1000 + 1);
      // [mov, dec, jnz] once; [dec, jnz] `hot` times (its hot-th run compiles it and still runs in
      // the interpreter; the unit then loops by itself); [int] once.
      expect(r.interpreted).toBe(3 + 2 * hot + 1);
    }
  });
});
