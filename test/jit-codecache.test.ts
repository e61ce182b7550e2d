// The code cache's front cache (eip -> block) starts small and grows with the number of decoded
// blocks (#13: a fork or exec builds a cache, and a 64K-slot table allocated up front was most of a
// fork's cost). Growing must never lose or misdirect a block: checked against the cache's own Map
// (find) and by running a chain of more blocks than any early table size has slots.

import { describe, expect, it } from 'vitest';
import { CodeCache } from '../src/emulator/codecache.js';
import { Cpu, type CpuHost } from '../src/emulator/cpu.js';
import { Memory, PROT_EXEC, PROT_READ } from '../src/emulator/memory.js';
import { useWasmStores, wasmStoresFromEnv } from '../src/emulator/jit/wasm-store.js';

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
    // JavaScript units compile at once; WebAssembly ones wait for a batch (PROBELAB_JIT=wasm).
    cache.jit!.wasm = false;
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

/**
 * Phase 1 runs O = [mov ecx, 1; dec ecx; jnz I] `m` times (I's jnz never taken: I is not decoded);
 * phase 2 jumps to I = [dec ecx; jnz I] (a suffix of O: same last instruction) `m` times, by an
 * indirect jump, so I joins no unit as a static successor of the jump's block.
 *   00 mov ebx, I; 05 mov esi, m; 0a xor edi, edi; 0c O: mov ecx, 1; 11 I: dec ecx; 12 jnz I;
 *   14 test edi, edi; 16 jnz P2; 18 dec esi; 19 jnz O; 1b inc edi; 1c mov esi, m; 21 jmp Q;
 *   23 P2: dec esi; 24 jz done; 26 Q: inc ecx; 27 jmp *ebx; 29 done: int $0x80
 */
const I = 0x11;

function jumpIntoCompiled(m: number): Uint8Array {
  const imm = [m & 255, (m >> 8) & 255, (m >> 16) & 255, 0];
  const i = CODE + I;
  return Uint8Array.from([
    0xbb,
    i & 255,
    (i >> 8) & 255,
    (i >> 16) & 255,
    i >>> 24,
    0xbe,
    ...imm,
    0x31,
    0xff,
    0xb9,
    1,
    0,
    0,
    0,
    0x49,
    0x75,
    0xfd,
    0x85,
    0xff,
    0x75,
    0x0b,
    0x4e,
    0x75,
    0xf1,
    0x47,
    0xbe,
    ...imm,
    0xeb,
    0x03,
    0x4e,
    0x74,
    0x03,
    0x41,
    0xff,
    0xe3,
    0xcd,
    0x80,
  ]);
}

describe('a block starting inside a compiled one (#13 compile policy, JavaScript units)', () => {
  const HOT = 4;
  // JitTable keeps such a suffix interpreted (a budget cut starts one per slice) until it has run
  // hot * LATE_FACTOR (100) times in all; a real jump target runs far more often than that.
  function run(m: number): { retired: number; suffixCompiled: boolean; unitsBefore: number } {
    const { mem, cache, cpu, done } = machine();
    mem.poke(CODE, jumpIntoCompiled(m));
    cache.setJit(true);
    const jit = cache.jit!;
    jit.wasm = false;
    jit.hot = HOT;
    let unitsBefore = -1;
    while (!done()) {
      cpu.run(1000);
      if (unitsBefore < 0 && cache.find(CODE + I) >= 0) unitsBefore = jit.compiled;
    }
    const i = cache.find(CODE + I);
    return { retired: cpu.retired, suffixCompiled: i >= 0 && jit.fns[i] !== undefined, unitsBefore };
  }

  it('a jump target into a compiled block compiles once it has run hot * 100 times', () => {
    const r = run(3000);
    // 3 before O; 7 per pass of phase 1; 3 to switch; 8 per pass of phase 2 (the last one at jz); int
    expect(r.retired).toBe(3 + 3000 * 7 + 3 + 3000 * 8 + 1);
    expect(r.unitsBefore).toBeGreaterThan(0); // O was compiled before I was first decoded
    expect(r.suffixCompiled).toBe(true);
  });

  it('one that has run fewer times stays interpreted', () => {
    const r = run(HOT * 100 - 50);
    expect(r.unitsBefore).toBeGreaterThan(0);
    expect(r.suffixCompiled).toBe(false);
  });
});

/**
 * Runs `code` with units compiled to WebAssembly (frames on a WebAssembly.Memory, threshold 4, one
 * unit per module) in slices of `budget` instructions.
 */
function runWasmTier(
  code: Uint8Array,
  budget: number,
): { retired: number; units: number; wasmUnits: number } {
  useWasmStores(true);
  try {
    const { mem, cache, cpu, done } = machine();
    mem.poke(CODE, code);
    cache.setJit(true);
    const jit = cache.jit!;
    jit.wasm = true;
    jit.hot = 4;
    jit.wasmBatch = 1;
    while (!done()) cpu.run(budget);
    return { retired: cpu.retired, units: jit.compiled, wasmUnits: jit.wasmUnits };
  } finally {
    useWasmStores(wasmStoresFromEnv());
  }
}

describe('slices cut inside a compiled loop (#13 compile policy, WebAssembly units)', () => {
  // Budgets of 37 instructions end slices between the loop's dec and jnz; the next slice starts at
  // the jnz, a block of its own and a suffix of the loop's. Compiled, its unit would hold the loop
  // (the jnz's target) and run it in place of the loop's unit: a unit per cut point. It stays
  // interpreted until it has run hot * 100 times.
  it('the loop compiles once; the block after a cut stays interpreted', () => {
    const r = runWasmTier(loop(3000), 37);
    expect(r.retired).toBe(1 + 2 * 3000 + 1);
    expect(r.wasmUnits).toBe(1);
    expect(r.units).toBe(1);
  });
});

describe('x87-heavy units stay interpreted under the WebAssembly tier (#13 compile policy)', () => {
  /** `mov ecx, k; L: body; dec ecx; jnz L; int $0x80`. */
  function counted(k: number, body: number[]): Uint8Array {
    const back = -(body.length + 3) & 255;
    return Uint8Array.from([0xb9, k & 255, (k >> 8) & 255, 0, 0, ...body, 0x49, 0x75, back, 0xcd, 0x80]);
  }
  const FLD1 = [0xd9, 0xe8];
  const FADD_ST0 = [0xd8, 0xc0];
  const FSTP_ST0 = [0xdd, 0xd8];
  const INC_EAX = [0x40];

  const run = (code: Uint8Array) => runWasmTier(code, 1 << 30);

  it('a loop of 5 x87 instructions and 2 others stays interpreted', () => {
    const r = run(counted(500, [...FLD1, ...FADD_ST0, ...FSTP_ST0, ...FLD1, ...FSTP_ST0]));
    expect(r.retired).toBe(1 + 500 * 7 + 1);
    expect(r.units).toBe(0);
  });

  it('3 x87 instructions of 5 stay interpreted, 3 of 11 make a WebAssembly unit', () => {
    expect(run(counted(500, [...FLD1, ...FADD_ST0, ...FSTP_ST0])).units).toBe(0);
    const k = 500;
    const code = counted(k, [...FLD1, ...FADD_ST0, ...FSTP_ST0, ...Array<number[]>(6).fill(INC_EAX).flat()]);
    const r = run(code);
    expect(r.retired).toBe(1 + k * 11 + 1);
    expect(r.units).toBe(1);
    expect(r.wasmUnits).toBe(1);
  });
});
