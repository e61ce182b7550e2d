// Compiled-block table of one code cache: which decoded blocks have compiled functions, how hot the
// others are, and how much generated code is alive. Guarantees: compiled code is bounded by `limit`
// (characters of generated source, which V8's code size follows): reaching it drops every compiled
// function (they recompile when hot again); a block dropped by the code cache (page written,
// unmapped, mprotected, probe inserted or removed) loses its compiled function at once. Whether and
// when a block compiles depends only on how often it ran, never on host time.

import type { CodeCache } from '../codecache.js';
import type { Memory } from '../memory.js';
import { accessors, type Accessors } from './access.js';
import { compilable, compileBlock, type CompiledBlock } from './compiler.js';

/** Executions of a block in the interpreter before it is compiled. */
export const HOT = 16;
/** Default bound on live generated source (characters). */
export const DEFAULT_LIMIT = 32 << 20;

/** `PROBELAB_JIT=0` forces the pure interpreter, `PROBELAB_JIT=1` the compiler; unset: the default. */
export function jitFromEnv(dflt: boolean): boolean {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.PROBELAB_JIT;
  if (v === '0') return false;
  if (v === '1') return true;
  return dflt;
}

export class JitTable {
  /** Compiled function per block entry index (undefined: not compiled). */
  fns: (CompiledBlock | undefined)[] = [];
  private sizes: number[] = [];
  /** Interpreted executions per block entry index; saturates at HOT. */
  heat = new Uint8Array(1 << 14);
  /** Live generated source characters. */
  liveSize = 0;
  /** Interpreted executions before a block compiles (tests lower it to compile on first use). */
  hot = HOT;
  /** Statistics. */
  compiled = 0;
  evictions = 0;
  dropped = 0;

  private readonly acc: Accessors;

  constructor(
    private readonly cache: CodeCache,
    mem: Memory,
    public limit = DEFAULT_LIMIT,
  ) {
    this.acc = accessors(mem);
  }

  /** Counts one interpreted execution of block `b`; compiles it when it becomes hot. */
  touch(b: number): void {
    if (b >= this.heat.length) {
      const h = new Uint8Array(Math.max(this.heat.length * 2, b + 1));
      h.set(this.heat);
      this.heat = h;
    }
    const n = this.heat[b]! + 1;
    if (n < this.hot) {
      this.heat[b] = n;
      return;
    }
    if (n === this.hot) {
      this.heat[b] = n;
      if (!compilable(this.cache, b)) return;
      const { fn, size } = compileBlock(this.cache, b, this.acc);
      if (this.liveSize + size > this.limit) this.clear(true);
      this.fns[b] = fn;
      this.sizes[b] = size;
      this.liveSize += size;
      this.compiled++;
    }
  }

  /** Forgets block `b` (the code cache dropped it). */
  drop(b: number): void {
    if (this.fns[b] !== undefined) {
      this.fns[b] = undefined;
      this.liveSize -= this.sizes[b]!;
      this.dropped++;
    }
    if (b < this.heat.length) this.heat[b] = 0;
  }

  /** Drops every compiled function (eviction when over the limit, or the code cache flushed). */
  clear(eviction = false): void {
    this.fns = [];
    this.sizes = [];
    this.heat.fill(0);
    this.liveSize = 0;
    if (eviction) this.evictions++;
  }
}
