// Evaluator for parsed fetch arguments (K26, K27): turns `FetchArg`s into the values a probe event
// records, rendered the way Linux's trace output prints them.
//
// Guarantees:
// - Evaluation never throws: a guest fault (any exception thrown by the context's memory reads, or
//   a value that is not available, such as `$retval` without `retval()`) makes that one argument
//   the string "(fault)"; the other arguments are unaffected.
// - Values are JSON-friendly and numbers are numbers, so SQL sorts and compares them as such:
//   unsigned, signed and `x` types give numbers (64-bit ones a decimal string when outside ±2^53;
//   `x` is unsigned), `symbol` and `symstr` the context's symbolization or "0x..." when it has none
//   (Linux %pS), `string` and `ustring` the NUL-terminated guest string (at most
//   MAX_STRING_SIZE - 1 bytes, UTF-8 decoded). Linux's display format (x types as lowercase hex
//   without padding, "0x%x") is applied when printing, by formatArgValues.
// - Fetch semantics follow Linux: intermediate dereferences read 32-bit words, only the final
//   memory access uses the argument type's size; a non-memory value stored into a narrower type is
//   truncated and into a 64-bit one zero-extended; string types read the string AT the final
//   address; a bitfield b<w>@<o>/<n> keeps bits o..o+w-1 of the n-bit container; all address
//   arithmetic wraps at 32 bits; `$stackN` is the word at stackAddr()+4N; `$argN` at entry is the
//   word at stackAddr()+4N (cdecl, ESP at the return address).
// - K27: on a return probe `$argN` is never read at return time: `splitEntryArgs` says which raw
//   32-bit arguments to capture at entry, `captureEntryArgs` captures them into instance data, and
//   `evaluateArgs(..., 'return')` uses them through `ctx.entryArgs` (dereferences of them happen at
//   return time, as in Linux's FETCH_OP_EDATA). `captureEntryArgsInto` is the allocation-free form
//   for recorders: it overwrites a reusable Float64Array indexed by N (NaN = the capture faulted),
//   which `ctx.entryArgs` accepts as well.

import type { Bitfield, FetchArg, FetchExpr, FetchTypeName, RegName } from './spec.js';
import { FETCH_TYPE_SIZE } from './spec.js';

export type { FetchArg, FetchExpr, FetchTypeName, RegName } from './spec.js';

export type ArgValue = number | string;
export type EvalPhase = 'entry' | 'return';
/** $argN (1-based) → raw u32 captured at entry, or null (or NaN) when the capture faulted. */
export type EntryArgValues = Readonly<Record<number, number | null>>;

export const FAULT = '(fault)';
/** Linux MAX_STRING_SIZE (PATH_MAX): strings are cut at this many bytes, NUL included. */
export const MAX_STRING_SIZE = 4096;

export interface FetchContext {
  /** Register value (u32) at probe time. */
  reg(name: RegName): number;
  read8(addr: number): number;
  read16(addr: number): number;
  /** May throw on a guest fault. */
  read32(addr: number): number;
  /** ESP at probe time. */
  stackAddr(): number;
  comm(): string;
  symbolize(addr: number): string | undefined;
  /** EAX at a function return. */
  retval?(): number;
  /** K27: values captured at entry by `captureEntryArgs`, for the 'return' phase. */
  entryArgs?: EntryArgValues;
  /** Override MAX_STRING_SIZE. */
  maxStringLen?: number;
}

export interface EntryArgSplit {
  /** Distinct 1-based N of every `$argN` used (anywhere, also inside dereferences), ascending. */
  argNums: number[];
  /** Indexes into the argument list of the arguments that use captured entry data. */
  usesEntry: number[];
  /** Bytes of per-instance private data needed to hold the captures (4 per argument). */
  dataSize: number;
}

export interface CompiledFetchArgs {
  readonly args: readonly FetchArg[];
  readonly entry: EntryArgSplit;
  evaluate(ctx: FetchContext, phase: EvalPhase): Record<string, ArgValue>;
}

/** Internal: a value that cannot be fetched. */
class FetchFault {}
const FETCH_FAULT = new FetchFault();

export type WordFn = (ctx: FetchContext, phase: EvalPhase) => number;
type ValueFn = (ctx: FetchContext, phase: EvalPhase) => ArgValue;
type RawFn = (ctx: FetchContext, phase: EvalPhase) => number | bigint;

function entryArg(ctx: FetchContext, n: number): number {
  const v = ctx.entryArgs?.[n];
  // NaN marks a faulted capture in the Float64Array form (`captureEntryArgsInto`).
  if (v === undefined || v === null || v !== v) throw FETCH_FAULT;
  return v >>> 0;
}

function readArgWord(ctx: FetchContext, n: number): number {
  return ctx.read32((ctx.stackAddr() + 4 * n) >>> 0) >>> 0;
}

/**
 * The expression's value as an unsigned long (intermediate derefs read 32 bits); throws on a fault.
 * Exported for fetch-json.ts, which must fetch exactly as `evaluate` does.
 */
export function compileWord(e: FetchExpr): WordFn {
  switch (e.op) {
    case 'reg': {
      const r = e.reg;
      return (c) => c.reg(r) >>> 0;
    }
    case 'stackp':
      return (c) => c.stackAddr() >>> 0;
    case 'stack': {
      const n = e.n;
      return (c) => readArgWord(c, n);
    }
    case 'arg': {
      const n = e.n;
      return (c, ph) => (ph === 'entry' ? readArgWord(c, n) : entryArg(c, n));
    }
    case 'retval':
      return (c) => {
        if (!c.retval) throw FETCH_FAULT;
        return c.retval() >>> 0;
      };
    case 'imm': {
      const v = e.value >>> 0;
      return () => v;
    }
    case 'mem': {
      const a = e.addr >>> 0;
      return (c) => c.read32(a) >>> 0;
    }
    case 'deref': {
      const addr = compileDerefAddr(e.inner, e.offset);
      return (c, ph) => c.read32(addr(c, ph)) >>> 0;
    }
    case 'comm':
    case 'str':
      return () => {
        throw FETCH_FAULT;
      };
  }
}

function compileDerefAddr(inner: FetchExpr, offset: number): WordFn {
  const w = compileWord(inner);
  return (c, ph) => (w(c, ph) + offset) >>> 0;
}

/** Address of the final memory access, for expressions that end in one (exported for fetch-json.ts). */
export function compileFinalAddr(e: FetchExpr): WordFn | undefined {
  if (e.op === 'mem') {
    const a = e.addr >>> 0;
    return () => a;
  }
  if (e.op === 'deref') return compileDerefAddr(e.inner, e.offset);
  return undefined;
}

function read64(c: FetchContext, a: number): bigint {
  const lo = c.read32(a) >>> 0;
  const hi = c.read32((a + 4) >>> 0) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The stored value: `size` bytes, a number for 1..4 bytes and a bigint for 8. */
export function compileRaw(e: FetchExpr, size: 1 | 2 | 4 | 8): RawFn {
  const addr = compileFinalAddr(e);
  if (addr) {
    switch (size) {
      case 1:
        return (c, ph) => c.read8(addr(c, ph)) & 0xff;
      case 2:
        return (c, ph) => c.read16(addr(c, ph)) & 0xffff;
      case 4:
        return (c, ph) => c.read32(addr(c, ph)) >>> 0;
      case 8:
        return (c, ph) => read64(c, addr(c, ph));
    }
  }
  const w = compileWord(e);
  switch (size) {
    case 1:
      return (c, ph) => w(c, ph) & 0xff;
    case 2:
      return (c, ph) => w(c, ph) & 0xffff;
    case 4:
      return w;
    case 8:
      return (c, ph) => BigInt(w(c, ph));
  }
}

export function applyBitfield(raw: RawFn, bf: Bitfield): RawFn {
  if (bf.size === 64) {
    const sh = BigInt(bf.offset);
    const mask = (1n << BigInt(bf.width)) - 1n;
    return (c, ph) => (BigInt(raw(c, ph)) >> sh) & mask;
  }
  const div = 2 ** bf.offset;
  const mod = 2 ** bf.width;
  return (c, ph) => Math.floor(Number(raw(c, ph)) / div) % mod;
}

function safe64(v: bigint): ArgValue {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}

function render(type: FetchTypeName, raw: RawFn): ValueFn {
  switch (type) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'x8':
    case 'x16':
    case 'x32':
      return (c, ph) => Number(raw(c, ph));
    case 'u64':
    case 'x64':
      return (c, ph) => safe64(BigInt(raw(c, ph)));
    case 's8':
      return (c, ph) => (Number(raw(c, ph)) << 24) >> 24;
    case 's16':
      return (c, ph) => (Number(raw(c, ph)) << 16) >> 16;
    case 's32':
      return (c, ph) => Number(raw(c, ph)) | 0;
    case 's64':
      return (c, ph) => safe64(BigInt.asIntN(64, BigInt(raw(c, ph))));
    case 'symbol':
    case 'symstr':
      return (c, ph) => {
        const v = Number(raw(c, ph)) >>> 0;
        return c.symbolize(v) ?? hex(v);
      };
    case 'string':
    case 'ustring':
      // Strings are handled by compileString; never reached for parsed args.
      return () => FAULT;
  }
}

const UTF8 = new TextDecoder('utf-8');

/** NUL-terminated guest string at `addr`; throws (→ "(fault)") if any byte up to the NUL faults. */
export function readGuestString(ctx: FetchContext, addr: number): string {
  const limit = Math.max(1, ctx.maxStringLen ?? MAX_STRING_SIZE) - 1;
  const bytes: number[] = [];
  for (let i = 0; i < limit; i++) {
    const b = ctx.read8((addr + i) >>> 0) & 0xff;
    if (b === 0) break;
    bytes.push(b);
  }
  return UTF8.decode(Uint8Array.from(bytes));
}

function compileString(e: FetchExpr): ValueFn {
  if (e.op === 'comm') return (c) => c.comm();
  if (e.op === 'str') {
    const v = e.value;
    return () => v;
  }
  const addr = e.op === 'imm' ? compileWord(e) : compileFinalAddr(e);
  if (!addr) return () => FAULT;
  return (c, ph) => readGuestString(c, addr(c, ph));
}

function guard(fn: ValueFn): ValueFn {
  return (c, ph) => {
    try {
      return fn(c, ph);
    } catch {
      return FAULT;
    }
  };
}

/** One argument → a function computing its value; never throws. */
export function compileFetchArg(arg: FetchArg): (ctx: FetchContext, phase: EvalPhase) => ArgValue {
  if (arg.type === 'string' || arg.type === 'ustring') return guard(compileString(arg.expr));
  let raw = compileRaw(arg.expr, FETCH_TYPE_SIZE[arg.type]);
  if (arg.bitfield) raw = applyBitfield(raw, arg.bitfield);
  return guard(render(arg.type, raw));
}

function collectArgNums(e: FetchExpr, out: Set<number>): void {
  if (e.op === 'arg') out.add(e.n);
  else if (e.op === 'deref') collectArgNums(e.inner, out);
}

/**
 * K27: which raw `$argN` values a return probe must capture at function entry. Call it once per
 * kretprobe; at entry call `captureEntryArgs`, keep the result in the instance, and pass it as
 * `ctx.entryArgs` to `evaluateArgs(args, ctx, 'return')`.
 */
export function splitEntryArgs(args: readonly FetchArg[]): EntryArgSplit {
  const all = new Set<number>();
  const usesEntry: number[] = [];
  args.forEach((a, i) => {
    const mine = new Set<number>();
    collectArgNums(a.expr, mine);
    if (mine.size > 0) usesEntry.push(i);
    for (const n of mine) all.add(n);
  });
  const argNums = [...all].sort((x, y) => x - y);
  return { argNums, usesEntry, dataSize: 4 * argNums.length };
}

/** At function entry (ESP at the return address): read the words `split` asks for. */
export function captureEntryArgs(
  split: EntryArgSplit,
  ctx: Pick<FetchContext, 'read32' | 'stackAddr'>,
): Record<number, number | null> {
  const out: Record<number, number | null> = {};
  for (const n of split.argNums) {
    try {
      out[n] = ctx.read32((ctx.stackAddr() + 4 * n) >>> 0) >>> 0;
    } catch {
      out[n] = null;
    }
  }
  return out;
}

/** A reusable capture buffer for `captureEntryArgsInto`: index N holds `$argN` (NaN = faulted). */
export function newEntryArgsBuffer(split: EntryArgSplit): Float64Array {
  const max = split.argNums.length ? split.argNums[split.argNums.length - 1]! : 0;
  return new Float64Array(max + 1).fill(NaN);
}

/**
 * `captureEntryArgs` without allocating: overwrites `out[N]` for every N in `split.argNums` (same
 * reads, same order) with the raw u32, or NaN when the read faulted. Other indexes are not read by
 * the evaluators, so a buffer reused across calls never leaks an older capture.
 */
export function captureEntryArgsInto(
  split: EntryArgSplit,
  ctx: Pick<FetchContext, 'read32' | 'stackAddr'>,
  out: Float64Array,
): void {
  const nums = split.argNums;
  for (let i = 0; i < nums.length; i++) {
    const n = nums[i]!;
    try {
      out[n] = ctx.read32((ctx.stackAddr() + 4 * n) >>> 0) >>> 0;
    } catch {
      out[n] = NaN;
    }
  }
}

export function compileFetchArgs(args: readonly FetchArg[]): CompiledFetchArgs {
  const fns = args.map((a) => ({ name: a.name, fn: compileFetchArg(a) }));
  return {
    args,
    entry: splitEntryArgs(args),
    evaluate(ctx, phase) {
      const out: Record<string, ArgValue> = {};
      for (const { name, fn } of fns) out[name] = fn(ctx, phase);
      return out;
    },
  };
}

const compiledCache = new WeakMap<readonly FetchArg[], CompiledFetchArgs>();

/** Values of all arguments, keyed by argument name, in argument order. Never throws. */
export function evaluateArgs(
  args: readonly FetchArg[] | CompiledFetchArgs,
  ctx: FetchContext,
  phase: EvalPhase,
): Record<string, ArgValue> {
  if (!Array.isArray(args)) return (args as CompiledFetchArgs).evaluate(ctx, phase);
  const list = args as readonly FetchArg[];
  let compiled = compiledCache.get(list);
  if (!compiled) {
    compiled = compileFetchArgs(list);
    compiledCache.set(list, compiled);
  }
  return compiled.evaluate(ctx, phase);
}

/** Linux trace-output rendering of one recorded value of type `type` (x types as "0x%x"). */
export function formatArgValue(type: FetchTypeName, v: ArgValue): string {
  if (v === FAULT) return v;
  if (type === 'string' || type === 'ustring') return `"${String(v)}"`;
  if (type.charAt(0) === 'x' && (typeof v === 'number' || /^\d+$/.test(v))) return hex(BigInt(v));
  return String(v);
}

/** Linux trace-output rendering of recorded values: `name=value ...`, strings quoted, faults bare. */
export function formatArgValues(
  args: readonly FetchArg[],
  values: Readonly<Record<string, ArgValue>>,
): string {
  return args
    .map((a) => {
      const v = values[a.name];
      return `${a.name}=${v === undefined ? FAULT : formatArgValue(a.type, v)}`;
    })
    .join(' ');
}
