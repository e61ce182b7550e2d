// Property tests for the direct JSON writer of fetched arguments (src/probes/fetch-json.ts): for random
// argument lists (parsed from kprobe_events text, K26, and built by hand, K27 included) over random guest
// memory and registers, `ArgsJson.write` must give byte-for-byte JSON.stringify(evaluate(...)) and make the
// same guest reads in the same order; the reusable K27 capture buffer must behave like the Record form.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  captureEntryArgs,
  captureEntryArgsInto,
  compileFetchArgs,
  newEntryArgsBuffer,
  type EntryArgValues,
  type EvalPhase,
  type FetchArg,
  type FetchContext,
  type FetchExpr,
  type FetchTypeName,
  type RegName,
} from '../src/probes/fetch.js';
import { compileArgsJson } from '../src/probes/fetch-json.js';
import { parseProbeSpec, REG_NAMES, type Bitfield, type SpecContext } from '../src/probes/spec.js';

const TEXT = 0x08048000;
const DATA = 0x0804c000;
const STACK = 0xbfff0000;
const REGION = 0x100;

const specCtx: SpecContext = {
  lookupSymbol: (n) => (n === 'fn' ? TEXT : n === 'obj' ? DATA : undefined),
  isInsnBoundary: () => true,
  isFunctionEntry: (a) => a === TEXT,
};

/** Guest with two small mapped regions (all else faults) that logs every read. */
class Guest implements FetchContext {
  log: string[] = [];
  entryArgs?: EntryArgValues;
  retval?: () => number;
  maxStringLen?: number;
  constructor(
    readonly data: Uint8Array,
    readonly stack: Uint8Array,
    readonly regs: Record<RegName, number>,
    readonly commName: string,
    rv: number | null,
  ) {
    if (rv !== null) this.retval = () => rv;
  }
  private byte(addr: number): number {
    const a = addr >>> 0;
    if (a >= DATA && a < DATA + REGION) return this.data[a - DATA]!;
    if (a >= STACK && a < STACK + REGION) return this.stack[a - STACK]!;
    throw new Error(`fault at ${a}`);
  }
  read8(addr: number): number {
    this.log.push(`8@${addr}`);
    return this.byte(addr);
  }
  read16(addr: number): number {
    this.log.push(`16@${addr}`);
    return this.byte(addr) | (this.byte(addr + 1) << 8);
  }
  read32(addr: number): number {
    this.log.push(`32@${addr}`);
    return (
      (this.byte(addr) |
        (this.byte(addr + 1) << 8) |
        (this.byte(addr + 2) << 16) |
        (this.byte(addr + 3) << 24)) >>>
      0
    );
  }
  reg(name: RegName): number {
    return this.regs[name];
  }
  stackAddr(): number {
    return this.regs.sp;
  }
  comm(): string {
    return this.commName;
  }
  symbolize(addr: number): string | undefined {
    // A name that needs JSON escaping, for symbol-typed values.
    return addr >= TEXT && addr < TEXT + 0x40 ? `f"n\\é${addr - TEXT}` : undefined;
  }
}

// Bytes rich in NULs, quotes, backslashes, control characters and (possibly invalid) UTF-8.
const byteArb = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0, 0, 0x22, 0x5c, 0x0a, 0x01, 0x7f, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80),
);
const memArb = fc.uint8Array({ minLength: REGION, maxLength: REGION }).chain((base) =>
  fc.array(byteArb, { minLength: REGION, maxLength: REGION }).map((b) => {
    const m = new Uint8Array(base.length);
    for (let i = 0; i < m.length; i++) m[i] = i % 3 === 0 ? base[i]! : b[i]!;
    return m;
  }),
);
/** u32 values that often point into the mapped regions (so dereferences both hit and fault). */
const wordArb = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: DATA - 8, max: DATA + REGION + 4 }),
  fc.integer({ min: STACK, max: STACK + REGION - 4 }),
  fc.integer({ min: TEXT, max: TEXT + 0x40 }),
  fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x001fffff, 0x00200000, 0xffe00000, 0xffe00001),
);
const regsArb = fc
  .tuple(
    fc.array(wordArb, { minLength: REG_NAMES.length, maxLength: REG_NAMES.length }),
    fc.nat(REGION / 4 - 1),
  )
  .map(([ws, sp]) => {
    const r = {} as Record<RegName, number>;
    REG_NAMES.forEach((n, i) => (r[n] = ws[i]! >>> 0));
    r.sp = STACK + 4 * sp;
    return r;
  });
const commArb = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('a"b\\c', 'ü€😀', '\u0000\u001f', '\ud800x'),
);

interface World {
  data: Uint8Array;
  stack: Uint8Array;
  regs: Record<RegName, number>;
  comm: string;
  rv: number | null;
  maxStringLen: number | undefined;
}
const worldArb: fc.Arbitrary<World> = fc.record({
  data: memArb,
  stack: memArb,
  regs: regsArb,
  comm: commArb,
  rv: fc.option(wordArb, { nil: null, freq: 8 }),
  maxStringLen: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 2 }),
});

function guest(w: World): Guest {
  const g = new Guest(w.data, w.stack, w.regs, w.comm, w.rv);
  if (w.maxStringLen !== undefined) g.maxStringLen = w.maxStringLen;
  return g;
}

// ---- fetch-arg text for the parser (K26)

const TYPES = [
  'u8',
  'u16',
  'u32',
  'u64',
  's8',
  's16',
  's32',
  's64',
  'x8',
  'x16',
  'x32',
  'x64',
  'symbol',
  'string',
  'ustring',
];
const leafText = (ret: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      ...REG_NAMES.map((r) => `%${r}`),
      '%eax',
      '$stack',
      '$comm',
      '@obj',
      '@obj+8',
      '@fn',
      `@0x${DATA.toString(16)}`,
    ),
    ...(ret ? [fc.constant('$retval')] : []),
    fc.integer({ min: 0, max: 40 }).map((n) => `$stack${n}`),
    fc.integer({ min: 1, max: 6 }).map((n) => `$arg${n}`),
    wordArb.map((v) => `\\${v}`),
  );
const exprText = (ret: boolean): fc.Arbitrary<string> =>
  fc
    .tuple(leafText(ret), fc.array(fc.integer({ min: -8, max: 16 }), { maxLength: 3 }))
    .map(([leaf, offs]) => offs.reduce((e, o) => `${o < 0 ? '' : '+'}${o}(${e})`, leaf));
const typeText = fc.oneof(
  { arbitrary: fc.constantFrom(...TYPES).map((t) => `:${t}`), weight: 6 },
  { arbitrary: fc.constant(''), weight: 2 },
  {
    arbitrary: fc
      .constantFrom(8, 16, 32, 64)
      .chain((s) =>
        fc.tuple(fc.constant(s), fc.integer({ min: 1, max: s }), fc.integer({ min: 0, max: s - 1 })),
      )
      .map(([s, w, o]) => `:b${w}@${o}/${s}`),
    weight: 2,
  },
);
const argText = (ret: boolean) =>
  fc.oneof(
    { arbitrary: fc.tuple(exprText(ret), typeText).map(([e, t]) => e + t), weight: 9 },
    { arbitrary: fc.constantFrom('\\"a\\"b":string', '\\"\\\\u\\u00e9":string'), weight: 1 },
  );
const specArb = fc.boolean().chain((ret) =>
  fc
    .array(fc.tuple(fc.option(fc.constantFrom('n', 'ret', 'x_1', 'A'), { nil: undefined }), argText(ret)), {
      minLength: 1,
      maxLength: 6,
    })
    .map(
      (as) => `${ret ? 'r' : 'p'}:grp/ev fn ${as.map(([n, a], i) => (n ? `${n}${i}=${a}` : a)).join(' ')}`,
    ),
);

function parsed(text: string): FetchArg[] | null {
  const r = parseProbeSpec(text, specCtx);
  return r.ok ? r.spec.args : null;
}

// ---- hand-built FetchArgs: odd names, types and bitfields the parser would not produce

const exprArb: fc.Arbitrary<FetchExpr> = fc.letrec<{ e: FetchExpr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...REG_NAMES).map((reg): FetchExpr => ({ op: 'reg', reg })),
    fc.constant<FetchExpr>({ op: 'stackp' }),
    fc.integer({ min: 0, max: 40 }).map((n): FetchExpr => ({ op: 'stack', n })),
    fc.integer({ min: 1, max: 6 }).map((n): FetchExpr => ({ op: 'arg', n })),
    fc.constant<FetchExpr>({ op: 'retval' }),
    fc.constant<FetchExpr>({ op: 'comm' }),
    wordArb.map((value): FetchExpr => ({ op: 'imm', value })),
    commArb.map((value): FetchExpr => ({ op: 'str', value })),
    wordArb.map((addr): FetchExpr => ({ op: 'mem', addr })),
    fc
      .tuple(fc.integer({ min: -16, max: 16 }), tie('e'))
      .map(([offset, inner]): FetchExpr => ({ op: 'deref', offset, inner })),
  ),
})).e;
const bitfieldArb: fc.Arbitrary<Bitfield> = fc.record({
  width: fc.integer({ min: 0, max: 70 }),
  offset: fc.integer({ min: 0, max: 70 }),
  size: fc.constantFrom(8, 16, 32, 64),
});
const nameArb = fc.oneof(
  fc.constantFrom(
    'a',
    'b',
    'n',
    '__proto__',
    '0',
    '7',
    '01',
    '4294967295',
    'toString',
    'a"b',
    'é\\',
    '\ud800',
  ),
  fc.string({ maxLength: 4 }),
);
const fetchArgArb: fc.Arbitrary<FetchArg> = fc
  .record({
    name: nameArb,
    expr: exprArb,
    type: fc.constantFrom<FetchTypeName>(...(TYPES as FetchTypeName[]), 'symstr'),
    bitfield: fc.option(bitfieldArb, { nil: undefined, freq: 3 }),
  })
  .map(({ name, expr, type, bitfield }) => {
    const a: FetchArg = { name, comm: '', expr, type, pos: 0 };
    if (bitfield) a.bitfield = bitfield;
    return a;
  });

/** Entry captures: the Record form (with nulls) and the reusable-buffer form (with NaN), same content. */
const capturesArb = fc.array(fc.option(wordArb, { nil: null, freq: 6 }), { minLength: 6, maxLength: 6 });

/** Checks write() against JSON.stringify(evaluate()) in both phases, with both capture forms. */
function checkAll(args: readonly FetchArg[], w: World, caps: (number | null)[]): void {
  const compiled = compileFetchArgs(args);
  const json = compileArgsJson(args, compiled);
  const record: Record<number, number | null> = {};
  const buffer = new Float64Array(8).fill(NaN);
  caps.forEach((v, i) => {
    record[i + 1] = v;
    buffer[i + 1] = v === null ? NaN : v;
  });
  const phases: [EvalPhase, EntryArgValues | undefined][] = [
    ['entry', undefined],
    ['return', record],
    ['return', buffer],
    ['return', undefined],
  ];
  for (const [phase, entry] of phases) {
    const a = guest(w);
    const b = guest(w);
    if (entry) a.entryArgs = b.entryArgs = entry;
    // The oracle always uses the Record form: the buffer form must not change any value.
    if (entry === buffer) a.entryArgs = record;
    const want = JSON.stringify(compiled.evaluate(a, phase));
    const got = json.write(b, phase);
    expect(got).toBe(want);
    // Same guest reads, same order: reads are observable (K20 watched return-address slots).
    expect(b.log).toEqual(a.log);
    // Again (a cache hit when every argument is numeric): the same text.
    expect(json.write(b, phase)).toBe(got);
  }
}

describe('fetch-json: direct JSON writer equals JSON.stringify(evaluate()) (K26, K27)', () => {
  it('K26/K27: parsed kprobe_events argument lists, random memory and registers', () => {
    fc.assert(
      fc.property(specArb, worldArb, capturesArb, (text, w, caps) => {
        const args = parsed(text);
        fc.pre(args !== null);
        checkAll(args!, w, caps);
      }),
      { numRuns: 1500 },
    );
  });

  it('K26/K27: hand-built FetchArgs (odd names, types, bitfields, string immediates)', () => {
    fc.assert(
      fc.property(
        fc.array(fetchArgArb, { minLength: 0, maxLength: 5 }),
        worldArb,
        capturesArb,
        (args, w, caps) => {
          checkAll(args, w, caps);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('K26: 64-bit values at and beyond ±2^53 print as numbers, then decimal strings', () => {
    const args = parsed('p:g/e fn u=+0(%ax):u64 s=+0(%ax):s64 x=+0(%ax):x64')!;
    const compiled = compileFetchArgs(args);
    const json = compileArgsJson(args, compiled);
    const his = [
      0, 1, 0x1fffff, 0x200000, 0x7fffffff, 0x80000000, 0xffe00000, 0xffe00001, 0xfffffffe, 0xffffffff,
    ];
    const los = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    for (const hi of his)
      for (const lo of los) {
        const data = new Uint8Array(REGION);
        new DataView(data.buffer).setUint32(0, lo, true);
        new DataView(data.buffer).setUint32(4, hi, true);
        const w: World = {
          data,
          stack: new Uint8Array(REGION),
          regs: { ...Object.fromEntries(REG_NAMES.map((r) => [r, 0])), ax: DATA, sp: STACK } as Record<
            RegName,
            number
          >,
          comm: 'c',
          rv: null,
          maxStringLen: undefined,
        };
        expect(json.write(guest(w), 'entry')).toBe(JSON.stringify(compiled.evaluate(guest(w), 'entry')));
      }
  });

  it('K27: captureEntryArgsInto makes the same reads as captureEntryArgs and the same values (NaN = null)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 6 }),
        worldArb,
        (nums, w) => {
          const args = parsed(`r:g/e fn ${nums.map((n) => `$arg${n}:u32`).join(' ')}`)!;
          const split = compileFetchArgs(args).entry;
          const a = guest(w);
          const b = guest(w);
          const rec = captureEntryArgs(split, a);
          const buf = newEntryArgsBuffer(split);
          buf.fill(12345); // a reused buffer: stale contents must not matter
          captureEntryArgsInto(split, b, buf);
          expect(b.log).toEqual(a.log);
          for (const n of split.argNums) expect(Number.isNaN(buf[n]!) ? null : buf[n]).toBe(rec[n]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the cache stays correct past its bound (grows, then clears) and returns the same string for a repeat', () => {
    const args = parsed('r:g/e fn a=$arg1:u32 b=$retval:s32')!;
    const compiled = compileFetchArgs(args);
    const json = compileArgsJson(args, compiled);
    const w: World = {
      data: new Uint8Array(REGION),
      stack: new Uint8Array(REGION),
      regs: { ...Object.fromEntries(REG_NAMES.map((r) => [r, 0])), sp: STACK } as Record<RegName, number>,
      comm: 'c',
      rv: 0,
      maxStringLen: undefined,
    };
    const g = guest(w);
    const buf = new Float64Array(2);
    g.entryArgs = buf;
    let rv = 0;
    g.retval = () => rv;
    for (let i = 0; i < 150_000; i++) {
      buf[1] = (i * 2654435761) >>> 0;
      rv = (i * 7) >>> 0;
      const got = json.write(g, 'return');
      if (i % 997 === 0) expect(got).toBe(JSON.stringify(compiled.evaluate(g, 'return')));
    }
    const first = json.write(g, 'return');
    expect(json.write(g, 'return')).toBe(first); // same object (Object.is on strings compares text too)
    expect(first).toBe(`{"a":${buf[1]},"b":${rv | 0}}`);
  });

  it('a nested write on the same writer (a read that reports an event) does not disturb the outer one', () => {
    const args = parsed('p:g/e fn a=+0(%ax):u32 b=%bx:x32')!;
    const compiled = compileFetchArgs(args);
    const json = compileArgsJson(args, compiled);
    const data = new Uint8Array(REGION);
    data[0] = 7;
    const regs = {
      ...Object.fromEntries(REG_NAMES.map((r) => [r, 0])),
      ax: DATA,
      bx: 0xab,
      sp: STACK,
    } as Record<RegName, number>;
    const outer = new Guest(data, new Uint8Array(REGION), regs, 'c', null);
    const inner = new Guest(data, new Uint8Array(REGION), { ...regs, bx: 0xcd }, 'c', null);
    let nested = '';
    const read32 = outer.read32.bind(outer);
    outer.read32 = (a: number) => {
      nested = json.write(inner, 'entry');
      return read32(a);
    };
    // (x32 is stored as the number: 0xab = 171, 0xcd = 205)
    expect(json.write(outer, 'entry')).toBe('{"a":7,"b":171}');
    expect(nested).toBe('{"a":7,"b":205}');
  });
});
