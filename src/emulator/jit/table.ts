// Compiled-code table of one code cache. Hot decoded blocks are compiled together with the
// already-decoded blocks they reach by direct jumps, calls and returns on the same page (a "unit":
// one function with a dispatch loop, so control between them never leaves compiled code).
// Guarantees: a block dropped by the code cache (page written, unmapped, mprotected, probe inserted
// or removed) loses every unit containing it at once; live generated code is bounded by `limit`
// (characters of generated source, which V8's code size follows) — reaching it drops every unit, and
// hot code recompiles. What compiles and when depends only on execution counts, never on host time.

import type { CodeCache } from '../codecache.js';
import type { Memory } from '../memory.js';
import { compilable, compileUnit, directX87, staticSuccessors, type CompiledBlock } from './compiler.js';
import { compileWasmUnits, wasmReady } from './wasm-unit.js';
import { wasmStoresFromEnv } from './wasm-store.js';

/**
 * Interpreted executions of a block before it is compiled. Generating and optimising code costs about
 * as much as interpreting an instruction a thousand times, so only code that has proved hot pays off.
 */
export const HOT = 200;
/**
 * The threshold of the WebAssembly tier. Its units compile in well under a millisecond now that V8
 * never tiers them up (wasm-unit.ts, baselineOnly), so they may compile earlier than JavaScript
 * units would.
 * - Session 8 chose 1000 over 200 while each unit still cost a TurboFan tier-up: SQLite went from
 *   5.26-5.46 to 4.35-4.55 s.
 * - Session 9, Liftoff only, CPU of two interleaved rounds, load about 1.5, 1000 -> 300:
 *   - SQLite 3.87 -> 3.71 s (19.1M -> 10.6M instructions interpreted);
 *   - Lua strings 1.78 -> 1.65 s, sort 1.64 -> 1.57 s;
 *   - nextvar, constructs and the small kernels within 5% either way.
 */
export const WASM_HOT = 300;
/** Units compiled at the `hot` threshold before it rises by LATE_FACTOR (see JitTable.threshold). */
const EARLY_UNITS = 16;
const LATE_FACTOR = 100;
/**
 * WebAssembly units compile in batches of this many (one module), or when the first one pending has
 * waited WASM_BATCH_TOUCHES interpreted block executions: V8 spends ~0.5-1 ms on any module, so
 * batching divides that cost, and a deadline in executions keeps it deterministic.
 */
const WASM_BATCH = 8;
const WASM_BATCH_TOUCHES = 4096;
/** Default bound on live generated source (characters). */
export const DEFAULT_LIMIT = 32 << 20;
/** Most blocks in one unit. */
const MAX_UNIT = 8;
/**
 * Most instructions in one unit (the head block always fits). V8's optimising compiler takes time
 * superlinear in a function's size: nbody's x87 units of 300+ instructions took seconds each.
 */
const MAX_UNIT_INSNS = 128;

function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/**
 * `PROBELAB_JIT=0` forces the pure interpreter, `PROBELAB_JIT=1` (or `js`) the JavaScript compiler
 * alone, `PROBELAB_JIT=wasm` the WebAssembly one (jit/wasm-unit.ts); unset: the default.
 */
export function jitFromEnv(dflt: boolean): boolean {
  const v = env('PROBELAB_JIT');
  if (v === '0') return false;
  if (v === '1' || v === 'js' || v === 'wasm') return true;
  return dflt;
}

/**
 * Whether units compile to WebAssembly, where the frame store allows it: the default, and
 * PROBELAB_JIT=wasm. On real programs it is the faster tier (session 8, CPU, interleaved, load 11-13:
 * SQLite 7.6 s against 11.3 s with JavaScript units, Lua's sort and nextvar 2.3 and 2.7 s against
 * 2.9 and 3.3 s): Liftoff compiles a unit in well under a millisecond where TurboFan takes ~10 ms,
 * so every warm block compiles, and units chain without leaving WebAssembly. JavaScript units stay
 * faster on small hot kernels (integer loop 488 against 362 MIPS); x87-heavy units stay
 * interpreted (mostlyX87).
 */
function wasmFromEnv(): boolean {
  // The same reading of PROBELAB_JIT as the frame store's (with 0 there is no table at all).
  return wasmStoresFromEnv();
}

/**
 * The compile threshold: HOT (WASM_HOT for the WebAssembly tier), or PROBELAB_JIT_HOT (tests compile
 * nearly everything with a low one).
 */
function hotFromEnv(dflt: number): number {
  const v = Number(env('PROBELAB_JIT_HOT'));
  return Number.isInteger(v) && v >= 1 && v <= 60000 ? v : dflt;
}

/**
 * Whether at least half of a unit's instructions are x87 ones: such a unit stays interpreted under
 * the WebAssembly tier. The interpreter runs x87 code faster than either compiled form (nbody,
 * CPU, three interleaved rounds, load ~5: 0.82-0.90 s interpreted, 0.89-1.09 s as JavaScript units,
 * 1.12-1.24 s as WebAssembly units, which copy the CPU state out and back for each x87 instruction).
 */
function mostlyX87(c: CodeCache, members: readonly number[], insns: number): boolean {
  let x87 = 0;
  for (const b of members) for (let i = b; i < b + c.blockLen[b]!; i++) if (directX87(c, i)) x87++;
  return 2 * x87 >= insns;
}

/** Entries the per-block arrays start with (they grow by doubling, like the code cache's). */
const INITIAL = 1 << 8;

function denseFns(n: number): (CompiledBlock | undefined)[] {
  return new Array<CompiledBlock | undefined>(n).fill(undefined);
}

interface Unit {
  fn: CompiledBlock;
  members: number[];
  size: number;
  live: boolean;
  /** Frees what a WebAssembly unit holds outside the heap (its table slot). */
  release?: () => void;
}

export class JitTable {
  /**
   * Compiled unit entered at each block entry index (undefined: run it in the interpreter). Kept
   * dense (filled, grown by doubling): a sparse array written at large indices turns into a
   * dictionary, and the run loop reads it once per block (measured: 29% of a Lua run in the loop).
   */
  fns: (CompiledBlock | undefined)[] = denseFns(INITIAL);
  /** Units per WebAssembly module, and the executions the first one pending waits at most (tests lower them). */
  wasmBatch = WASM_BATCH;
  wasmBatchTouches = WASM_BATCH_TOUCHES;
  /** WebAssembly units chosen but not compiled yet (members), and `touches` when the first was. */
  private pending: number[][] = [];
  private pendingSince = 0;
  /** Interpreted block executions while units were pending (the batch's deadline counts them). */
  private touches = 0;
  /** Live units. */
  private units = new Set<Unit>();
  /** Units containing each block entry index. */
  private unitsOf: (Unit[] | undefined)[] = [];
  /** Address of a compiled block's last instruction -> lowest start of a compiled block ending there. */
  private blockEnding = new Map<number, number>();
  /** Executions counted so far of suffix blocks kept interpreted (see compile). */
  private suffixRuns = new Map<number, number>();
  /** Interpreted executions per block entry index; saturates at `hot`. */
  heat = new Uint16Array(INITIAL);
  /** Interpreted executions before a block compiles (tests lower it to compile on first use). */
  hot = hotFromEnv(wasmFromEnv() ? WASM_HOT : HOT);
  /** Units compiled at `hot` before the threshold rises (tests raise it to keep every block at `hot`). */
  earlyUnits = EARLY_UNITS;
  /**
   * Units compile to WebAssembly (when the address space's frames are on a WebAssembly.Memory; else
   * to JavaScript). Liftoff compiles one in well under a millisecond, so every warm block compiles
   * at `hot`: the late threshold exists only for TurboFan's cost.
   */
  wasm = wasmFromEnv();
  /**
   * Units at least half x87 stay interpreted under the WebAssembly tier (see mostlyX87); the property
   * tests turn this off to compile them anyway, so the back end's x87 calls stay checked.
   */
  interpretX87 = true;
  /** Live generated source characters (WebAssembly: module bytes). */
  liveSize = 0;
  /** Statistics. */
  compiled = 0;
  compiledBlocks = 0;
  /** Units compiled to WebAssembly. */
  wasmUnits = 0;
  evictions = 0;
  dropped = 0;
  /**
   * Instructions of the blocks the interpreter ran while the compiler was on (each block counted
   * whole, so a block a budget cut short counts in full): what `npm run bench -- programs` reports
   * as the interpreted share, which the thresholds trade against V8's cost per unit.
   */
  interpreted = 0;

  constructor(
    private readonly cache: CodeCache,
    private readonly mem: Memory,
    public limit = DEFAULT_LIMIT,
  ) {}

  /** Counts one interpreted execution of block `b`; compiles a unit from it when it becomes hot. */
  touch(b: number): void {
    this.interpreted += this.cache.blockLen[b]!;
    if (this.pending.length !== 0 && ++this.touches - this.pendingSince >= this.wasmBatchTouches)
      this.flush();
    if (b >= this.heat.length) {
      const h = new Uint16Array(Math.max(this.heat.length * 2, b + 1));
      h.set(this.heat);
      this.heat = h;
    }
    const hot = this.threshold();
    const n = this.heat[b]! + 1;
    if (n > hot) return;
    this.heat[b] = n;
    if (n === hot && compilable(this.cache, b)) this.compile(b);
  }

  /**
   * Executions before a block compiles: `hot` for the first EARLY_UNITS units, LATE_FACTOR times that
   * afterwards. A new unit runs in V8's bytecode interpreter (slower than this emulator's own) until V8
   * has optimised it on a background thread, which costs ~10 ms of CPU per unit: programs with hundreds
   * of warm blocks (Lua's string library, SQLite) ran at 0.5-0.7x the interpreter with one threshold
   * for all. Small kernels keep the low threshold. Depends only on execution counts.
   */
  private threshold(): number {
    return this.compiled < this.earlyUnits || this.wasm ? this.hot : Math.min(this.hot * LATE_FACTOR, 65535);
  }

  private compile(head: number): void {
    const c = this.cache;
    // A block that starts inside a compiled one (where a budget cut it, so the next slice began in
    // its middle) is a suffix of it: entered once per slice at most, it stays interpreted rather than
    // starting another unit that V8 would have to warm up again (measured: 17 units for fib, not 1).
    // The same holds for WebAssembly units, cheap as they are: the suffix's unit holds the loop the
    // cut was in (its successors) and went on running it in place of the loop's own unit, a unit per
    // cut point (fib(32): 147 MIPS, 261 with the rule). It holds only while the block has run fewer
    // than min(hot, HOT) * LATE_FACTOR times in all: a jump target inside a compiled block is a
    // suffix too, and SQLite interpreted one such block 51,000 times.
    const lastEip = c.eip[head + c.blockLen[head]! - 1]! >>> 0;
    const owner = this.blockEnding.get(lastEip);
    if (owner !== undefined && owner < c.eip[head]! >>> 0) {
      const runs = (this.suffixRuns.get(head) ?? 0) + this.threshold();
      if (runs < Math.min(this.hot, HOT) * LATE_FACTOR) {
        this.suffixRuns.set(head, runs);
        this.heat[head] = 0;
        return;
      }
      this.suffixRuns.delete(head);
    }
    const page = c.eip[head]! >>> 12;
    const members = [head];
    let insns = c.blockLen[head]!;
    const seen = new Set<number>(members);
    for (let k = 0; k < members.length && members.length < MAX_UNIT; k++) {
      for (const s of staticSuccessors(c, members[k]!)) {
        if (s >>> 12 !== page) continue;
        const m = c.find(s);
        if (m < 0 || seen.has(m)) continue;
        seen.add(m);
        // A hooked block must be entered through the run loop, which calls the hook first; blocks
        // that have not run often are left out (they join a unit of their own if they get hot).
        if (c.hooked[m] !== 0 || !compilable(c, m) || (this.heat[m] ?? 0) * 4 < this.threshold()) continue;
        if (insns + c.blockLen[m]! > MAX_UNIT_INSNS) continue;
        insns += c.blockLen[m]!;
        members.push(m);
        if (members.length >= MAX_UNIT) break;
      }
    }
    if (this.wasm && wasmReady(this.mem)) {
      if (this.interpretX87 && mostlyX87(c, members, insns)) return;
      // WebAssembly units wait for a batch: a module costs ~0.5-1 ms whatever its size.
      if (this.pending.length === 0) this.pendingSince = this.touches;
      this.pending.push(members);
      // Members wait with the unit: none becomes the head of another one meanwhile.
      for (const m of members) if (m < this.heat.length) this.heat[m] = 65535;
      if (this.pending.length >= this.wasmBatch) this.flush();
      return;
    }
    this.install(members, compileUnit(c, members, this.mem));
  }

  /** Compiles the pending WebAssembly units, in one module. */
  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const units = compileWasmUnits(this.cache, batch, this.mem);
    this.wasmUnits += batch.length;
    for (let k = 0; k < batch.length; k++) this.install(batch[k]!, units[k]!);
  }

  private install(members: number[], w: { fn: CompiledBlock; size: number; release?: () => void }): void {
    const c = this.cache;
    const { fn, size } = w;
    if (this.liveSize + size > this.limit) this.clear(true);
    const unit: Unit = { fn, members, size, live: true, release: w.release };
    this.units.add(unit);
    // Blocks already entered through an older unit keep it: V8 has warmed that function up, and a
    // replacement would start cold (measured: superseding cost more than it saved).
    for (const m of members) {
      if (m >= this.fns.length) {
        const g = denseFns(Math.max(this.fns.length * 2, m + 1));
        for (let k = 0; k < this.fns.length; k++) g[k] = this.fns[k];
        this.fns = g;
      }
      (this.unitsOf[m] ??= []).push(unit);
      if (this.fns[m] === undefined) this.fns[m] = fn;
      const last = c.eip[m + c.blockLen[m]! - 1]! >>> 0;
      const start = c.eip[m]! >>> 0;
      if ((this.blockEnding.get(last) ?? Infinity) > start) this.blockEnding.set(last, start);
    }
    this.liveSize += size;
    this.compiled++;
    this.compiledBlocks += members.length;
  }

  /** Forgets block `b` and every unit containing it (the code cache dropped it). */
  drop(b: number): void {
    if (this.pending.length !== 0 && this.pending.some((ms) => ms.includes(b))) {
      for (const ms of this.pending)
        if (ms.includes(b)) for (const m of ms) if (m < this.heat.length) this.heat[m] = 0;
      this.pending = this.pending.filter((ms) => !ms.includes(b));
    }
    const units = this.unitsOf[b];
    if (units !== undefined) {
      this.unitsOf[b] = undefined;
      for (const u of units) if (u.live) this.kill(u);
    }
    this.fns[b] = undefined;
    this.suffixRuns.delete(b);
    if (b < this.heat.length) this.heat[b] = 0;
  }

  private kill(u: Unit): void {
    u.live = false;
    this.units.delete(u);
    u.release?.();
    this.liveSize -= u.size;
    this.dropped++;
    for (const m of u.members)
      if (this.fns[m] === u.fn) {
        this.fns[m] = undefined;
        if (m < this.heat.length) this.heat[m] = 0;
      }
  }

  /** Drops every compiled unit (eviction when over the limit, or the code cache flushed). */
  clear(eviction = false): void {
    this.pending = [];
    for (const u of this.units) u.release?.();
    this.units.clear();
    this.fns = denseFns(this.fns.length);
    this.unitsOf = [];
    this.blockEnding.clear();
    this.suffixRuns.clear();
    this.heat.fill(0);
    this.liveSize = 0;
    if (eviction) this.evictions++;
  }
}
