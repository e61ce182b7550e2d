// Issue #13 (x87 2x): the double-double fast path (src/emulator/fpu-dd.ts) against the 80-bit code.
// Oracle: the same FPU with `fastDD = false`, which computes every result with the exact 80-bit
// integer arithmetic (itself checked against BigInt oracles in fpu.test.ts and against qemu-i386 in
// fpu-qemu.test.ts). Random instruction sequences run on both; every stored byte (m64, m32, m80,
// integers, FNSAVE's environment and registers), FNSTSW and the FCOMI flags must be identical,
// bit for bit. Operands are drawn to hit the fast path's hard cases: exact ties and exact results
// (significands with few bits), near-ties, values next to powers of two, the dd range's edges, and
// every rounding mode and precision control (the path runs only for PC = 64, nearest; the others
// must see dd registers exactly too).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Fpu } from '../src/emulator/fpu.js';
import { ddStats } from '../src/emulator/fpu-dd.js';
import { FakeHost as Host } from './fpu-host.js';

/** An 80-bit operand: sign|exponent and the 64-bit significand. */
interface Ext {
  se: number;
  m: bigint;
}

type Step =
  | { k: 'reg'; op: number; modrm: number } // register-form instruction
  | { k: 'mem'; op: number; reg: number; v: Ext; size: 'm64' | 'm32' | 'i32' | 'i16' | 'm80' }
  | { k: 'cw'; cw: number };

const BIAS = 16383;

/** Significands with few significant bits make exact results and exact ties likely. */
const significand = fc.oneof(
  { weight: 2, arbitrary: fc.bigInt({ min: 1n << 63n, max: (1n << 64n) - 1n }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 40 }), fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }))
      .map(([bits, r]) => {
        // A `bits`-bit odd integer at the top of the significand.
        const odd = (r & ((1n << BigInt(bits - 1)) - 1n)) | (1n << BigInt(bits - 1)) | 1n;
        return odd << BigInt(64 - bits);
      }),
  },
  // 2^63 and its neighbours (results next to a power of two).
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: -3, max: 3 })
      .map((d) => (d >= 0 ? (1n << 63n) + BigInt(d) : (1n << 64n) + BigInt(d))),
  },
  // A double's significand (low 11 bits clear) with one low bit set: 54..64-bit values.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.bigInt({ min: 1n << 52n, max: (1n << 53n) - 1n }), fc.integer({ min: 0, max: 11 }))
      .map(([d, b]) => (d << 11n) | (b === 11 ? 0n : 1n << BigInt(b))),
  },
);

/** Exponents around 0 (where ties between operands are likely), and at the dd range's edges. */
const exponent = fc.oneof(
  // Offsets that put one operand's bits at another's 53/64-bit rounding position.
  { weight: 5, arbitrary: fc.constantFrom(0, 1, -1, -11, -12, -52, -53, -54, -63, -64, -65, -66) },
  { weight: 4, arbitrary: fc.integer({ min: -8, max: 8 }) },
  { weight: 2, arbitrary: fc.integer({ min: -70, max: 70 }) },
  { weight: 1, arbitrary: fc.integer({ min: 405, max: 435 }).chain((e) => fc.constantFrom(e, -e)) },
  { weight: 1, arbitrary: fc.integer({ min: -1100, max: 1100 }) },
);

const ext: fc.Arbitrary<Ext> = fc
  .tuple(fc.boolean(), exponent, significand)
  .map(([neg, e, m]) => ({ se: (neg ? 0x8000 : 0) | (e + BIAS), m }));

// Register forms on ST(0) and ST(1): D8 (st0 = st0 op st1), DC (st1 = st1 op st0), DE (and pop).
const arithReg = fc
  .tuple(fc.constantFrom(0xd8, 0xdc, 0xde), fc.constantFrom(0, 1, 4, 5, 6, 7))
  .map(([op, r]): Step => ({ k: 'reg', op, modrm: 0xc0 | (r << 3) | 1 }));
const arithMem = fc
  .tuple(
    fc.constantFrom(0, 1, 4, 5, 6, 7),
    ext,
    fc.constantFrom<'m64' | 'm32' | 'i32' | 'i16'>('m64', 'm64', 'm32', 'i32', 'i16'),
  )
  .map(([reg, v, size]): Step => ({
    k: 'mem',
    op: size === 'm64' ? 0xdc : size === 'm32' ? 0xd8 : size === 'i32' ? 0xda : 0xde,
    reg,
    v,
    size,
  }));
const misc = fc.constantFrom<Step>(
  { k: 'reg', op: 0xd9, modrm: 0xfa }, // fsqrt
  { k: 'reg', op: 0xd9, modrm: 0xfa },
  { k: 'reg', op: 0xd9, modrm: 0xe0 }, // fchs
  { k: 'reg', op: 0xd9, modrm: 0xe1 }, // fabs
  { k: 'reg', op: 0xd9, modrm: 0xc9 }, // fxch st1
  { k: 'reg', op: 0xd9, modrm: 0xc1 }, // fld st1
  { k: 'reg', op: 0xdd, modrm: 0xd9 }, // fstp st1
  { k: 'reg', op: 0xd8, modrm: 0xd1 }, // fcom st1
  { k: 'reg', op: 0xdb, modrm: 0xe9 }, // fucomi st1
  { k: 'reg', op: 0xd9, modrm: 0xe5 }, // fxam
  { k: 'reg', op: 0xd9, modrm: 0xfc }, // frndint
  { k: 'reg', op: 0xd9, modrm: 0xe4 }, // ftst
  { k: 'reg', op: 0xdd, modrm: 0xd1 }, // fst st1
  { k: 'reg', op: 0xda, modrm: 0xc1 }, // fcmovb st1
  { k: 'reg', op: 0xd9, modrm: 0xf8 }, // fprem
  { k: 'reg', op: 0xd9, modrm: 0xfd }, // fscale
  { k: 'reg', op: 0xd9, modrm: 0xf4 }, // fxtract
  { k: 'reg', op: 0xd9, modrm: 0xfe }, // fsin
  { k: 'reg', op: 0xd9, modrm: 0xf1 }, // fyl2x
);
const store = fc
  .constantFrom<[number, number]>([0xdd, 2], [0xdd, 3], [0xd9, 2], [0xdb, 2], [0xdf, 7], [0xdb, 7])
  .map(([op, reg]): Step => ({ k: 'mem', op, reg, v: { se: 0, m: 0n }, size: 'm80' }));
const load = ext.map((v): Step => ({ k: 'mem', op: 0xdb, reg: 5, v, size: 'm80' }));
/** Control words: mostly the default (PC 64, nearest), else any PC and RC. */
const cw = fc
  .oneof(
    { weight: 3, arbitrary: fc.constant(0x037f) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
        .map(([pc, rc]) => 0x007f | (pc << 8) | (rc << 10)),
    },
  )
  .map((w): Step => ({ k: 'cw', cw: w }));
const step = fc.oneof(
  { weight: 6, arbitrary: arithReg },
  { weight: 4, arbitrary: arithMem },
  { weight: 3, arbitrary: misc },
  { weight: 2, arbitrary: store },
  { weight: 2, arbitrary: load },
  { weight: 1, arbitrary: cw },
);
const program = fc.record({ cw, a: ext, b: ext, steps: fc.array(step, { minLength: 1, maxLength: 8 }) });

const OPND = 0x10;
const OUT = 0x100;
const SAVE = 0x3000;

function writeOperand(h: Host, s: Step & { k: 'mem' }): void {
  const { se, m } = s.v;
  const v = Number(m) * 2 ** ((se & 0x7fff) - BIAS - 63) * (se & 0x8000 ? -1 : 1);
  if (s.size === 'm80') {
    h.dv.setBigUint64(OPND, m, true);
    h.dv.setUint16(OPND + 8, se, true);
  } else if (s.size === 'm64') h.dv.setFloat64(OPND, v, true);
  else if (s.size === 'm32') h.dv.setFloat32(OPND, v, true);
  else if (s.size === 'i32') h.dv.setInt32(OPND, Number(m >> 40n) * (se & 0x8000 ? -1 : 1), true);
  else h.dv.setInt16(OPND, Number(m >> 50n) * (se & 0x8000 ? -1 : 1), true);
}

/** Runs a program; returns everything the guest could observe. */
interface Program {
  cw: Step;
  a: Ext;
  b: Ext;
  steps: Step[];
}

/** One host per side, cleared for each program (a fresh 64 KiB host per run is mostly GC). */
const hosts = [new Host(), new Host()];

function run(fast: boolean, p: Program): Uint8Array {
  const f = new Fpu();
  f.fastDD = fast;
  const h = hosts[fast ? 0 : 1]!;
  h.mem.fill(0, 0, SAVE + 108);
  h.zpc = undefined;
  const exec = (s: Step, i: number): void => {
    if (s.k === 'cw') {
      h.dv.setUint16(OPND, s.cw, true);
      f.exec(0xd9, 5 << 3, OPND, h);
    } else if (s.k === 'reg') f.exec(s.op, s.modrm, 0, h);
    else if (s.v.m !== 0n) {
      writeOperand(h, s);
      f.exec(s.op, s.reg << 3, OPND, h);
    } else f.exec(s.op, s.reg << 3, OUT + 16 * i, h); // a store
  };
  exec(p.cw, 0);
  exec({ k: 'mem', op: 0xdb, reg: 5, v: p.a, size: 'm80' }, 0);
  exec({ k: 'mem', op: 0xdb, reg: 5, v: p.b, size: 'm80' }, 0);
  p.steps.forEach((s, i) => {
    exec(s, i + 1);
    f.exec(0xdf, 0xe0, 0, h); // fnstsw ax after every step, and the FCOMI flags
    h.dv.setUint16(OUT + 16 * (i + 1) + 12, h.ax!, true);
    h.dv.setUint8(
      OUT + 16 * (i + 1) + 14,
      h.zpc ? 1 | (h.zpc[0]! << 1) | (h.zpc[1]! << 2) | (h.zpc[2]! << 3) : 0,
    );
    h.zpc = undefined;
  });
  f.exec(0xdd, 6 << 3, SAVE, h); // fnsave: environment (sw, tags) and all eight registers as 80 bits
  return h.mem.slice(0, SAVE + 108);
}

describe('x87 double-double fast path (#13)', () => {
  it('gives the 80-bit path bit for bit: results, flags, tags (every PC and RC)', () => {
    const before = ddStats[0]!;
    fc.assert(
      fc.property(program, (p) => {
        const a = run(true, p);
        const b = run(false, p);
        if (Buffer.compare(a, b) !== 0) {
          const at = a.findIndex((x, i) => x !== b[i]);
          throw new Error(`differs at byte ${at.toString(16)}: fast ${a[at]} slow ${b[at]}`);
        }
      }),
      { numRuns: 5000, seed: 20261207 },
    );
    // The fast path was taken (else this compared the 80-bit code with itself).
    expect(ddStats[0]! - before).toBeGreaterThan(2500);
  });

  it('gives the 80-bit path on a grid of binade edges, ties and exact results', () => {
    // a = ±Sa * 2^0, b = ±Sb * 2^-d: for d near 53 and 64 the operands' bits meet the rounding
    // positions; significands at and next to powers of two put results at a binade's edge.
    const sigs = [
      1n << 63n,
      (1n << 63n) + 1n,
      (1n << 64n) - 1n,
      (1n << 63n) + (1n << 11n),
      (1n << 64n) - (1n << 11n),
      3n << 62n,
      0xb504f333f9de6484n,
      0xc90fdaa22168c234n,
    ];
    const ds = [0, 1, 2, 11, 12, 52, 53, 54, 62, 63, 64, 65, 66, 67, 127, 128];
    const ops = [0xc1, 0xc9, 0xe1, 0xe9, 0xf1, 0xf9]; // D8 fadd/fmul/fsub/fsubr/fdiv/fdivr st0, st1
    const before = ddStats[0]!;
    let cases = 0;
    for (const sa of sigs)
      for (const sb of sigs)
        for (const d of ds)
          for (const neg of [0, 0x8000]) {
            // Each operation on fresh copies of b (ST0) and a (ST1), its result stored as 80 bits.
            const steps: Step[] = [];
            for (const modrm of [...ops, 0xfa]) {
              steps.push({ k: 'reg', op: 0xd9, modrm: 0xc1 }, { k: 'reg', op: 0xd9, modrm: 0xc1 });
              steps.push({ k: 'reg', op: modrm === 0xfa ? 0xd9 : 0xd8, modrm });
              steps.push(
                { k: 'mem', op: 0xdb, reg: 7, v: { se: 0, m: 0n }, size: 'm80' },
                { k: 'reg', op: 0xdd, modrm: 0xd8 },
              );
            }
            const p = {
              cw: { k: 'cw', cw: 0x037f } as Step,
              a: { se: BIAS, m: sa },
              b: { se: neg | (BIAS - d), m: sb },
              steps,
            };
            const fast = run(true, p);
            const slow = run(false, p);
            const at = fast.findIndex((x, i) => x !== slow[i]);
            expect(at, `a ${sa.toString(16)} b ${neg ? '-' : ''}${sb.toString(16)}*2^-${d}`).toBe(-1);
            cases++;
          }
    expect(ddStats[0]! - before).toBeGreaterThan(cases);
  });

  it('keeps every in-range 80-bit value exact through the dd form (m80 round trip)', () => {
    fc.assert(
      fc.property(ext, (v) => {
        const f = new Fpu();
        const h = hosts[0]!;
        h.dv.setBigUint64(OPND, v.m, true);
        h.dv.setUint16(OPND + 8, v.se, true);
        f.exec(0xdb, 5 << 3, OPND, h);
        f.exec(0xdb, 7 << 3, OUT, h);
        expect([h.dv.getUint16(OUT + 8, true), h.dv.getBigUint64(OUT, true)]).toEqual([v.se, v.m]);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });
});
