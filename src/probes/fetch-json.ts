// The JSON text of a probe's fetched arguments (K26, K27), written directly for recorders.
//
// Guarantees:
// - `ArgsJson.write(ctx, phase)` returns exactly `JSON.stringify(compileFetchArgs(args).evaluate(ctx,
//   phase))` for every argument list and context, and makes the same guest reads in the same order
//   (reads can be observable: the K20 detector reports reads of watched return-address slots).
// - Numeric arguments (u/s/x 8..64, plain or with a bitfield that fills its own container of at most
//   32 bits, i.e. what the parser produces) are fetched as raw u32 words into a reusable key array and
//   rendered from it with no intermediate object and no BigInt (except 64-bit values beyond ±2^53,
//   which become decimal strings as in `evaluate`). Every other argument (strings, $comm, symbols,
//   64-bit or unusual bitfields) goes through the `evaluate` code path and JSON.stringify.
// - When every argument is numeric the text is cached by the tuple of raw words, so a repeated tuple
//   gives back the SAME string object (downstream interning then hits V8's cached string hash). The
//   cache is bounded (at most 64K entries, fewer for wide tuples; cleared when full), so memory stays
//   flat, and it depends on nothing but the values, so output stays deterministic.
// - A fault makes that one argument "(fault)"; nothing throws. Exceptions are only used for guest
//   faults (as in `evaluate`), never in the normal case.
// - Argument lists that a plain object would reorder or drop (duplicate names, `__proto__`, array-index
//   names; the parser rejects all of these) are written with JSON.stringify(evaluate(...)) itself.

import {
  applyBitfield,
  compileFetchArg,
  compileFetchArgs,
  compileFinalAddr,
  compileRaw,
  compileWord,
  FAULT,
  type CompiledFetchArgs,
  type EvalPhase,
  type FetchArg,
  type FetchContext,
} from './fetch.js';
import { FETCH_TYPE_SIZE, type FetchTypeName } from './spec.js';

/** Writes one numeric argument's raw value into key[at] (and key[at + 1] for 64-bit: lo, hi). */
type KeyFn = (c: FetchContext, ph: EvalPhase, key: Float64Array, at: number) => void;
/** One non-numeric argument's JSON text. */
type JsonFn = (c: FetchContext, ph: EvalPhase) => string;

// Render kinds for numeric arguments.
const K_U = 0; // u8 u16 u32: the number
const K_S8 = 1;
const K_S16 = 2;
const K_S32 = 3;
const K_X = 4; // x8 x16 x32: the number (printed "0x..." by formatArgValues)
const K_U64 = 5;
const K_S64 = 6;
const K_X64 = 7;

const RENDER_KIND: Partial<Record<FetchTypeName, number>> = {
  u8: K_U,
  u16: K_U,
  u32: K_U,
  s8: K_S8,
  s16: K_S16,
  s32: K_S32,
  x8: K_X,
  x16: K_X,
  x32: K_X,
  u64: K_U64,
  s64: K_S64,
  x64: K_X64,
};

/** Key value of a faulted argument: raw words are u32, so -1 cannot be a value. */
const FAULT_KEY = -1;
const FAULT_JSON = JSON.stringify(FAULT);
const TWO32 = 4294967296;
/** 64-bit values with a high word below this are at most 2^53 - 1 (Number.MAX_SAFE_INTEGER). */
const SAFE_HI = 2097152;

function isNumeric(a: FetchArg): boolean {
  const kind = RENDER_KIND[a.type];
  if (kind === undefined) return false;
  const bf = a.bitfield;
  if (!bf) return true;
  // `evaluate` computes 64-bit bitfields with BigInt and narrows mismatched containers with Number():
  // leave those (which the parser never produces) to it. Integer offsets/widths keep the result a
  // finite non-negative integer, as the key encoding needs.
  return (
    bf.size !== 64 &&
    bf.size === 8 * FETCH_TYPE_SIZE[a.type] &&
    Number.isInteger(bf.offset) &&
    Number.isInteger(bf.width) &&
    bf.offset >= 0 &&
    bf.offset <= 64 &&
    bf.width >= 0 &&
    bf.width <= 64
  );
}

/** Raw value of an argument of at most 32 bits: fetch.ts's own compileRaw (+ applyBitfield). */
function compileRaw32(a: FetchArg): (c: FetchContext, ph: EvalPhase) => number {
  let raw = compileRaw(a.expr, FETCH_TYPE_SIZE[a.type]);
  if (a.bitfield) raw = applyBitfield(raw, a.bitfield);
  // Sizes 1..4 (and their bitfields) produce numbers, never bigints.
  return raw as (c: FetchContext, ph: EvalPhase) => number;
}

function compileKey(a: FetchArg): KeyFn {
  if (FETCH_TYPE_SIZE[a.type] !== 8) {
    const raw = compileRaw32(a);
    return (c, ph, key, at) => {
      key[at] = raw(c, ph);
    };
  }
  const addr = compileFinalAddr(a.expr);
  if (addr) {
    // Same reads as fetch.ts's read64: the low word first.
    return (c, ph, key, at) => {
      const p = addr(c, ph);
      const lo = c.read32(p) >>> 0;
      const hi = c.read32((p + 4) >>> 0) >>> 0;
      key[at] = lo;
      key[at + 1] = hi;
    };
  }
  const w = compileWord(a.expr);
  return (c, ph, key, at) => {
    key[at] = w(c, ph);
    key[at + 1] = 0;
  };
}

function u64Json(lo: number, hi: number): string {
  if (hi < SAFE_HI) return '' + (hi * TWO32 + lo);
  return '"' + ((BigInt(hi) << 32n) | BigInt(lo)).toString() + '"';
}

function s64Json(lo: number, hi: number): string {
  if (hi < 0x80000000) return u64Json(lo, hi);
  const hs = hi - TWO32;
  if (hs >= -SAFE_HI) {
    // Exact: |v| <= 2^53.
    const v = hs * TWO32 + lo;
    if (v >= Number.MIN_SAFE_INTEGER) return '' + v;
  }
  return '"' + BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString() + '"';
}

/** JSON text of a numeric argument from its key words (what JSON.stringify gives for `evaluate`'s value). */
function renderKey(kind: number, key: Float64Array, at: number): string {
  const v = key[at]!;
  if (v === FAULT_KEY) return FAULT_JSON;
  switch (kind) {
    case K_U:
      return '' + v;
    case K_S8:
      return '' + ((v << 24) >> 24);
    case K_S16:
      return '' + ((v << 16) >> 16);
    case K_S32:
      return '' + (v | 0);
    case K_X:
      return '' + v;
    case K_S64:
      return s64Json(v, key[at + 1]!);
    default: // K_U64, K_X64: stored alike (numbers sort as numbers; x is a display format)
      return u64Json(v, key[at + 1]!);
  }
}

/** True when a plain object would not keep these names as given, in this order. */
function objectReordersNames(args: readonly FetchArg[]): boolean {
  const seen = new Set<string>();
  for (const a of args) {
    const n = a.name;
    if (seen.has(n) || n === '__proto__') return true;
    // Array-index keys (canonical integers 0 .. 2^32 - 2) are enumerated first, ascending.
    if (String(Number(n) >>> 0) === n && n !== '4294967295') return true;
    seen.add(n);
  }
  return false;
}

/** Most entries a cache holds before it is cleared (at half load of its largest table). */
const CACHE_MAX_ENTRIES = 65536;
/** Bound on a cache's key words (8 bytes each), so wide tuples get fewer entries. */
const CACHE_MAX_KEY_WORDS = 1 << 20;
const CACHE_INITIAL_SLOTS = 1024;

/**
 * Open-addressing map from a tuple of `width` key words (non-negative integers or FAULT_KEY) to a
 * string, in typed arrays so that lookups allocate nothing. '' marks an empty slot (JSON text never
 * is empty). Bounded: when full at its largest size it is cleared rather than grown.
 */
class TupleCache {
  private slots: number;
  private keys: Float64Array;
  private vals: string[];
  private count = 0;
  private readonly maxSlots: number;

  constructor(private readonly width: number) {
    let max = 2 * CACHE_MAX_ENTRIES;
    while (max > CACHE_INITIAL_SLOTS && max * width > CACHE_MAX_KEY_WORDS) max >>>= 1;
    this.maxSlots = max;
    this.slots = Math.min(CACHE_INITIAL_SLOTS, max);
    this.keys = new Float64Array(this.slots * width);
    this.vals = new Array<string>(this.slots).fill('');
  }

  private hash(k: Float64Array, at: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < this.width; i++) h = Math.imul(h ^ (k[at + i]! | 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  private find(key: Float64Array): number {
    const w = this.width;
    const mask = this.slots - 1;
    const keys = this.keys;
    const vals = this.vals;
    let s = this.hash(key, 0) & mask;
    for (;;) {
      if (vals[s] === '') return s;
      let i = 0;
      const base = s * w;
      while (i < w && keys[base + i] === key[i]) i++;
      if (i === w) return s;
      s = (s + 1) & mask;
    }
  }

  get(key: Float64Array): string {
    return this.vals[this.find(key)]!;
  }

  set(key: Float64Array, value: string): void {
    if (2 * (this.count + 1) > this.slots) {
      if (this.slots < this.maxSlots) this.grow();
      else this.clear();
    }
    const s = this.find(key);
    if (this.vals[s] === '') this.count++;
    this.keys.set(key, s * this.width);
    this.vals[s] = value;
  }

  private clear(): void {
    this.vals.fill('');
    this.count = 0;
  }

  private grow(): void {
    const w = this.width;
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const n = this.slots * 2;
    this.slots = n;
    this.keys = new Float64Array(n * w);
    this.vals = new Array<string>(n).fill('');
    const mask = n - 1;
    for (let s = 0; s < oldVals.length; s++) {
      const v = oldVals[s]!;
      if (v === '') continue;
      let t = this.hash(oldKeys, s * w) & mask;
      while (this.vals[t] !== '') t = (t + 1) & mask;
      this.keys.set(oldKeys.subarray(s * w, s * w + w), t * w);
      this.vals[t] = v;
    }
  }
}

export class ArgsJson {
  readonly compiled: CompiledFetchArgs;
  private readonly n: number;
  /** `{"name":` for the first argument, `,"name":` for the others. */
  private readonly prefixes: string[];
  /** Per argument: its key function (numeric) or null. */
  private readonly keyFns: (KeyFn | null)[];
  /** Per argument: its JSON function (non-numeric) or null. */
  private readonly jsonFns: (JsonFn | null)[];
  private readonly kinds: number[];
  /** Per argument: index of its first key word. */
  private readonly keyAt: number[];
  private readonly key: Float64Array;
  /** Per argument: the JSON text of a non-numeric argument in the current write. */
  private readonly texts: string[];
  /** Every argument numeric: the whole text is cached by key tuple. */
  private readonly cache: TupleCache | null;
  private readonly viaEvaluate: boolean;
  private busy = false;

  constructor(args: readonly FetchArg[], compiled?: CompiledFetchArgs) {
    this.compiled = compiled ?? compileFetchArgs(args);
    this.n = args.length;
    this.viaEvaluate = objectReordersNames(args);
    this.prefixes = args.map((a, i) => (i === 0 ? '{' : ',') + JSON.stringify(a.name) + ':');
    this.keyFns = [];
    this.jsonFns = [];
    this.kinds = [];
    this.keyAt = [];
    this.texts = args.map(() => '');
    let words = 0;
    let allNumeric = true;
    for (const a of args) {
      this.keyAt.push(words);
      if (isNumeric(a)) {
        this.keyFns.push(compileKey(a));
        this.jsonFns.push(null);
        this.kinds.push(RENDER_KIND[a.type]!);
        words += FETCH_TYPE_SIZE[a.type] === 8 ? 2 : 1;
      } else {
        const fn = compileFetchArg(a);
        this.keyFns.push(null);
        this.jsonFns.push((c, ph) => JSON.stringify(fn(c, ph)));
        this.kinds.push(-1);
        allNumeric = false;
      }
    }
    this.key = new Float64Array(words);
    this.cache = allNumeric && this.n > 0 && !this.viaEvaluate ? new TupleCache(words) : null;
  }

  /** Exactly JSON.stringify(this.compiled.evaluate(ctx, phase)). */
  write(ctx: FetchContext, phase: EvalPhase): string {
    // The key and text arrays are per writer: a nested write (a guest read reporting an event that
    // fetches again) must not clobber them, so it takes the plain path.
    if (this.viaEvaluate || this.busy) return JSON.stringify(this.compiled.evaluate(ctx, phase));
    this.busy = true;
    const n = this.n;
    const key = this.key;
    const keyFns = this.keyFns;
    const jsonFns = this.jsonFns;
    const keyAt = this.keyAt;
    // Fetch in argument order, as `evaluate` does (the reads may be observable).
    for (let i = 0; i < n; i++) {
      const kf = keyFns[i];
      if (kf) {
        const at = keyAt[i]!;
        try {
          kf(ctx, phase, key, at);
        } catch {
          key[at] = FAULT_KEY;
          if (this.kinds[i]! >= K_U64) key[at + 1] = 0;
        }
      } else this.texts[i] = jsonFns[i]!(ctx, phase);
    }
    this.busy = false;
    const cache = this.cache;
    if (cache) {
      const hit = cache.get(key);
      if (hit !== '') return hit;
      const text = this.render();
      cache.set(key, text);
      return text;
    }
    return this.render();
  }

  private render(): string {
    const n = this.n;
    if (n === 0) return '{}';
    let s = '';
    for (let i = 0; i < n; i++) {
      const kind = this.kinds[i]!;
      s += this.prefixes[i]! + (kind < 0 ? this.texts[i]! : renderKey(kind, this.key, this.keyAt[i]!));
    }
    return s + '}';
  }
}

/** A writer for `args` (pass the already compiled list to share it). */
export function compileArgsJson(args: readonly FetchArg[], compiled?: CompiledFetchArgs): ArgsJson {
  return new ArgsJson(args, compiled);
}
