// Unit tests for the x87 FPU. Expected values come from hand-checked bit patterns, JS Math /
// BigInt oracles computed independently of the implementation (roundRat below is an exact
// rational rounding to the x87 formats), from running the same instruction sequence on a real
// x86 CPU (noted "hw") or on qemu-i386 (noted "QEMU"; test/fpu-qemu.test.ts fuzzes against it).
import { describe, it, expect, beforeEach } from 'vitest';
import fc from 'fast-check';
import { Fpu } from '../src/emulator/fpu.js';
import { FakeHost, UD } from './fpu-host.js';

const IE = 0x1;
const DE = 0x2;
const ZE = 0x4;
const OE = 0x8;
const UE = 0x10;
const PE = 0x20;
const SF = 0x40;
const ES = 0x80;
const C0 = 0x100;
const C1 = 0x200;
const C2 = 0x400;
const C3 = 0x4000;
const B = 0x8000;
const CC = C0 | C1 | C2 | C3;
const FLAGS = 0x7f;
const INDEF64 = 0xfff8000000000000n;
const INDEF80: [number, bigint] = [0xffff, 0xc000000000000000n];

const A = 0x1000; // memory operand
const CWA = 0x2000; // control word scratch

class Rig {
  host = new FakeHost();
  fpu = new Fpu();
  x(op: number, modrm: number, ea = A): void {
    this.fpu.exec(op, modrm, ea, this.host);
  }
  /** Memory form with the given /reg. */
  m(op: number, reg: number, ea = A): void {
    this.x(op, reg << 3, ea);
  }
  /** Register form: op, /reg, ST(i). */
  r(op: number, reg: number, i: number): void {
    this.x(op, 0xc0 | (reg << 3) | i);
  }
  fldd(v: number): void {
    this.host.dv.setFloat64(A, v, true);
    this.m(0xdd, 0);
  }
  flddBits(bits: bigint): void {
    this.host.dv.setBigUint64(A, bits, true);
    this.m(0xdd, 0);
  }
  fldsBits(bits: number): void {
    this.host.dv.setUint32(A, bits, true);
    this.m(0xd9, 0);
  }
  fldt(se: number, mant: bigint): void {
    this.host.dv.setBigUint64(A, mant, true);
    this.host.dv.setUint16(A + 8, se, true);
    this.m(0xdb, 5);
  }
  fild16(v: number): void {
    this.host.dv.setInt16(A, v, true);
    this.m(0xdf, 0);
  }
  fild32(v: number): void {
    this.host.dv.setInt32(A, v, true);
    this.m(0xdb, 0);
  }
  fild64(v: bigint): void {
    this.host.dv.setBigInt64(A, v, true);
    this.m(0xdf, 5);
  }
  fstpd(): number {
    this.m(0xdd, 3);
    return this.host.dv.getFloat64(A, true);
  }
  fstpdBits(): bigint {
    this.m(0xdd, 3);
    return this.host.dv.getBigUint64(A, true);
  }
  fstpsBits(): number {
    this.m(0xd9, 3);
    return this.host.dv.getUint32(A, true);
  }
  fstpt(): [number, bigint] {
    this.m(0xdb, 7);
    return [this.host.dv.getUint16(A + 8, true), this.host.dv.getBigUint64(A, true)];
  }
  fistp16(): number {
    this.m(0xdf, 3);
    return this.host.dv.getInt16(A, true);
  }
  fistp32(): number {
    this.m(0xdb, 3);
    return this.host.dv.getInt32(A, true);
  }
  fistp64(): bigint {
    this.m(0xdf, 7);
    return this.host.dv.getBigInt64(A, true);
  }
  fldcw(cw: number): void {
    this.host.dv.setUint16(CWA, cw, true);
    this.m(0xd9, 5, CWA);
  }
  fnstcw(): number {
    this.m(0xd9, 7, CWA);
    return this.host.dv.getUint16(CWA, true);
  }
  setRC(rc: number): void {
    this.fldcw((0x037f & ~0x0c00) | (rc << 10));
  }
  /** FNSTSW AX. */
  sw(): number {
    this.host.ax = undefined;
    this.x(0xdf, 0xe0);
    return this.host.ax!;
  }
  tag(): number {
    this.m(0xd9, 6, 0x3800);
    return this.host.dv.getUint16(0x3800 + 8, true);
  }
  fninit(): void {
    this.x(0xdb, 0xe3);
  }
  fnclex(): void {
    this.x(0xdb, 0xe2);
  }
  fld1(): void {
    this.x(0xd9, 0xe8);
  }
  fldz(): void {
    this.x(0xd9, 0xee);
  }
}

function top(sw: number): number {
  return (sw >> 11) & 7;
}

/** The exact value of an 80-bit number as JS would round it (decimal string, which V8 rounds correctly). */
function extOracle(se: number, mant: bigint): number {
  const k = Math.max(se & 0x7fff, 1) - 16383 - 63;
  const s = k >= 0 ? (mant << BigInt(k)).toString() : `${(mant * 5n ** BigInt(-k)).toString()}e${k}`;
  const v = Number(s);
  return se & 0x8000 ? -v : v;
}

/** x * 2^1074 as an exact BigInt (every finite double is a multiple of 2^-1074). */
function scaled(x: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const e = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  if (e !== 0) m = (m | (1n << 52n)) << BigInt(e - 1);
  return bits >> 63n ? -m : m;
}

function bitsOf(x: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0);
}

function fromBits(b: bigint): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, b);
  return dv.getFloat64(0);
}

function nextUp(x: number): number {
  return x >= 0 ? fromBits(bitsOf(x) + 1n) : fromBits(bitsOf(x) - 1n);
}

let t: Rig;
beforeEach(() => {
  t = new Rig();
});

describe('initial state', () => {
  it('is the FNINIT state', () => {
    expect(t.fnstcw()).toBe(0x037f);
    expect(t.sw()).toBe(0);
    expect(t.tag()).toBe(0xffff);
    t.fld1();
    t.fninit();
    expect(t.sw()).toBe(0);
    expect(t.tag()).toBe(0xffff);
    t.fld1();
    t.fpu.reset();
    expect(t.fpu.top).toBe(0);
    expect(t.tag()).toBe(0xffff);
  });

  it('fwait is a no-op and describe() dumps the stack', () => {
    t.fld1();
    t.fpu.fwait();
    const d = t.fpu.describe();
    expect(d).toContain('FCW=037f');
    expect(d).toContain('TOP=7');
    expect(d).toContain('ST0=1');
    expect(d).toContain('ST1=empty');
  });
});

describe('m80 (tbyte) conversions', () => {
  it('stores doubles as the exact extended bit patterns', () => {
    t.fld1();
    expect(t.fstpt()).toEqual([0x3fff, 0x8000000000000000n]);
    t.fldd(-2.5);
    expect(t.fstpt()).toEqual([0xc000, 0xa000000000000000n]);
    t.fldd(0.1); // 0x3FB999999999999A
    expect(t.fstpt()).toEqual([0x3ffb, 0xccccccccccccd000n]);
    t.fldd(-0);
    expect(t.fstpt()).toEqual([0x8000, 0n]);
    t.fldd(Infinity);
    expect(t.fstpt()).toEqual([0x7fff, 0x8000000000000000n]);
    t.fldd(-Infinity);
    expect(t.fstpt()).toEqual([0xffff, 0x8000000000000000n]);
    t.fldd(Number.MAX_VALUE);
    expect(t.fstpt()).toEqual([0x43fe, 0xfffffffffffff800n]);
  });

  it('normalises binary64 denormals (and flags DE on the load)', () => {
    t.fldd(Number.MIN_VALUE); // 2^-1074
    expect(t.sw() & FLAGS).toBe(DE);
    expect(t.fstpt()).toEqual([16383 - 1074, 0x8000000000000000n]);
    t.fldd(2.225073858507201e-308); // largest denormal, (2^52 - 1) * 2^-1074
    expect(t.fstpt()).toEqual([16383 - 1023, 0xfffffffffffff000n]);
  });

  it('loads with round-to-nearest-even', () => {
    const cases: [number, bigint, number][] = [
      [0x3ffb, 0xcccccccccccccccdn, 0.1],
      [0x3fff, 0x8000000000000400n, 1], // tie, even is 1
      [0x3fff, 0x8000000000000c00n, 1 + 2 ** -51], // tie, even is up
      [0x3fff, 0x8000000000000401n, 1 + 2 ** -52],
      [0x3fff, 0x80000000000003ffn, 1],
      [0x43fe, 0xfffffffffffffbffn, Number.MAX_VALUE],
      [0x43fe, 0xfffffffffffffc00n, Infinity], // tie rounds to 2^1024
      [16383 - 1075, 0x8000000000000000n, 0], // 2^-1075: tie between 0 and 2^-1074
      [16383 - 1075, 0x8000000000000001n, Number.MIN_VALUE],
      [16383 - 1074, 0xc000000000000000n, 2 * Number.MIN_VALUE], // 1.5 ulp ties to 2
      [0xbfff, 0xc000000000000000n, -1.5],
    ];
    for (const [se, m, want] of cases) {
      t.fldt(se, m);
      expect(t.fpu.st(0)).toBe(want);
      expect(t.fstpd()).toBe(want);
    }
  });

  it('keeps all 80 bits of values that are only moved', () => {
    t.fldt(0x3ffb, 0xcccccccccccccccdn); // 0.1L
    t.r(0xd9, 0, 0); // fld st0
    t.r(0xd9, 1, 1); // fxch
    t.r(0xd9, 4, 0); // fchs
    t.r(0xd9, 4, 1); // fabs
    t.r(0xdd, 3, 1); // fstp st1
    expect(t.fstpt()).toEqual([0x3ffb, 0xcccccccccccccccdn]);
  });

  it('matches an exact oracle on random extended values', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 16383 - 1090, max: 16383 + 1030 }),
        fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
        (neg, e, low) => {
          const r = new Rig();
          const se = (neg ? 0x8000 : 0) | e;
          const m = (1n << 63n) | low;
          r.fldt(se, m);
          const want = extOracle(se, m);
          expect(r.fpu.st(0)).toBe(want);
          r.x(0xd9, 0xc0); // fld st0
          expect(r.fstpt()).toEqual([se, m]);
          expect(r.fstpdBits()).toBe(bitsOf(want));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips every double through m80', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (v) => {
        const r = new Rig();
        r.fldd(v);
        const [se, m] = r.fstpt();
        if (v !== 0 && Number.isFinite(v)) {
          expect(m >> 63n).toBe(1n); // normalised
          expect(extOracle(se, m)).toBe(v);
        }
        r.fldt(se, m);
        expect(r.fstpdBits()).toBe(bitsOf(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('handles extended denormals and pseudo-denormals', () => {
    t.fldt(0, 1n); // smallest extended denormal
    expect(t.fpu.st(0)).toBe(0);
    t.x(0xd9, 0xe5); // fxam
    expect(t.sw() & (C3 | C2 | C0)).toBe(C3 | C2); // denormal (hw)
    t.x(0xd9, 0xc0);
    expect(t.fstpt()).toEqual([0, 1n]);
    t.fnclex();
    expect(t.fstpdBits()).toBe(0n);
    expect(t.sw() & FLAGS).toBe(UE | PE); // hw: 0x0030
    // A pseudo-denormal equals the normal number with exponent 1 (hw: C3).
    t.fldt(0x0001, 0x8000000000000000n);
    t.fldt(0x0000, 0x8000000000000000n);
    t.x(0xde, 0xd9); // fcompp
    expect(t.sw() & (C3 | C2 | C0)).toBe(C3);
    // And an extended denormal is above zero although it reads as 0 in a double.
    t.fldt(0, 1n);
    t.x(0xd9, 0xe4); // ftst
    expect(t.sw() & (C3 | C2 | C0)).toBe(0);
  });

  it('handles extended values beyond the double range', () => {
    t.fldt(0x7ffe, 0xffffffffffffffffn); // LDBL_MAX
    expect(t.fpu.st(0)).toBe(Infinity);
    t.x(0xd9, 0xe5);
    expect(t.sw() & (C3 | C2 | C0)).toBe(C2); // still a normal number
    t.x(0xd9, 0xc0);
    expect(t.fstpt()).toEqual([0x7ffe, 0xffffffffffffffffn]);
    t.x(0xd9, 0xc0);
    t.fnclex();
    expect(t.fstpd()).toBe(Infinity);
    expect(t.sw() & (FLAGS | C1)).toBe(OE | PE | C1); // hw: 0x0228
    t.setRC(3);
    expect(t.fstpd()).toBe(Number.MAX_VALUE);
    // It compares above a true infinity? No: below it, and above DBL_MAX.
    t.setRC(0);
    t.fldd(Infinity);
    t.fldt(0x7ffe, 0xffffffffffffffffn);
    t.r(0xd8, 2, 1); // fcom st1
    expect(t.sw() & (C3 | C2 | C0)).toBe(C0);
  });

  it('rounds stores from exact values per RC', () => {
    const tenth: [number, bigint] = [0x3ffb, 0xcccccccccccccccdn];
    for (const [rc, want] of [
      [0, 0x3fb999999999999an],
      [1, 0x3fb9999999999999n],
      [2, 0x3fb999999999999an],
      [3, 0x3fb9999999999999n],
    ] as const) {
      t.setRC(rc);
      t.fldt(...tenth);
      expect(t.fstpdBits()).toBe(want);
    }
  });

  it('keeps NaN payloads and quietens signalling NaNs', () => {
    t.fldt(0x7fff, 0xc000000000000800n);
    t.x(0xd9, 0xc0);
    expect(t.fstpt()).toEqual([0x7fff, 0xc000000000000800n]);
    expect(t.fstpdBits()).toBe(0x7ff8000000000001n);
    expect(t.sw() & FLAGS).toBe(0);
    // SNaN: loading an m80 is silent, converting it raises IE (hw: 7ffc000000000000, 0x0001).
    t.fldt(0x7fff, 0xa000000000000000n);
    expect(t.sw() & FLAGS).toBe(0);
    t.x(0xd9, 0xc0);
    expect(t.fstpt()).toEqual([0x7fff, 0xa000000000000000n]);
    expect(t.fstpdBits()).toBe(0x7ffc000000000000n);
    expect(t.sw() & FLAGS).toBe(IE);
  });

  it('treats unsupported encodings as invalid operands (hw)', () => {
    t.fldt(0x3fff, 0x4000000000000000n); // unnormal
    t.x(0xd9, 0xe5);
    expect(t.sw() & (C3 | C2 | C0)).toBe(0);
    t.x(0xd9, 0xc0);
    expect(t.fstpt()).toEqual([0x3fff, 0x4000000000000000n]);
    t.fld1();
    t.x(0xde, 0xc1); // faddp
    expect(t.fstpt()).toEqual(INDEF80);
    expect(t.sw() & FLAGS).toBe(IE);
    t.fnclex();
    t.fldt(0x7fff, 0x0000000000000001n); // pseudo-NaN
    expect(t.fstpdBits()).toBe(INDEF64);
    expect(t.sw() & FLAGS).toBe(IE);
  });
});

describe('constants', () => {
  it('loads the CPU constants rounded per RC (hw bit patterns)', () => {
    const want: [number, number, bigint[]][] = [
      // op modrm, exponent, [nearest, down, up, zero]
      [0xeb, 0x4000, [0xc90fdaa22168c235n, 0xc90fdaa22168c234n, 0xc90fdaa22168c235n, 0xc90fdaa22168c234n]],
      [0xea, 0x3fff, [0xb8aa3b295c17f0bcn, 0xb8aa3b295c17f0bbn, 0xb8aa3b295c17f0bcn, 0xb8aa3b295c17f0bbn]],
      [0xe9, 0x4000, [0xd49a784bcd1b8afen, 0xd49a784bcd1b8afen, 0xd49a784bcd1b8affn, 0xd49a784bcd1b8afen]],
      [0xec, 0x3ffd, [0x9a209a84fbcff799n, 0x9a209a84fbcff798n, 0x9a209a84fbcff799n, 0x9a209a84fbcff798n]],
      [0xed, 0x3ffe, [0xb17217f7d1cf79acn, 0xb17217f7d1cf79abn, 0xb17217f7d1cf79acn, 0xb17217f7d1cf79abn]],
    ];
    for (const [modrm, e, mants] of want) {
      for (let rc = 0; rc < 4; rc++) {
        t.setRC(rc);
        t.x(0xd9, modrm);
        expect(t.fstpt()).toEqual([e, mants[rc]]);
      }
    }
  });

  it('gives the nearest doubles for arithmetic', () => {
    const want: [number, number][] = [
      [0xe8, 1],
      [0xee, 0],
      [0xeb, Math.PI],
      [0xea, Math.LOG2E],
      [0xed, Math.LN2],
      [0xec, 0.3010299956639812], // log10(2)
      [0xe9, 3.321928094887362], // log2(10)
    ];
    for (const [modrm, v] of want) {
      t.x(0xd9, modrm);
      expect(t.fpu.st(0)).toBe(v);
      expect(t.fstpd()).toBe(v);
    }
    // Only the m64 stores of the inexact 64-bit constants are inexact (the loads are silent).
    expect(t.sw() & FLAGS).toBe(PE);
  });
});

describe('arithmetic', () => {
  it('memory operands of every type', () => {
    const ops: [number, (a: number, b: number) => number][] = [
      [0, (a, b) => a + b],
      [1, (a, b) => a * b],
      [4, (a, b) => a - b],
      [5, (a, b) => b - a],
      [6, (a, b) => a / b],
      [7, (a, b) => b / a],
    ];
    for (const [reg, f] of ops) {
      t.fldd(0.1);
      t.host.dv.setFloat64(A, 0.7, true);
      t.m(0xdc, reg);
      expect(t.fstpd()).toBe(f(0.1, 0.7));
      t.fldd(0.1);
      t.host.dv.setFloat32(A, 0.3, true);
      t.m(0xd8, reg);
      expect(t.fstpd()).toBe(f(0.1, Math.fround(0.3)));
      t.fldd(2.5);
      t.host.dv.setInt32(A, -7, true);
      t.m(0xda, reg);
      expect(t.fstpd()).toBe(f(2.5, -7));
      t.fldd(2.5);
      t.host.dv.setInt16(A, -3, true);
      t.m(0xde, reg);
      expect(t.fstpd()).toBe(f(2.5, -3));
    }
    // Only PE (inexact results like 0.1 + 0.7), with C1 when one was rounded up.
    expect(t.sw() & ~C1).toBe(PE);
  });

  it('register forms, including the reversed DC/DE encodings', () => {
    // ST0 = 2, ST1 = 10 before each.
    const cases: [number, number, number][] = [
      [0xd8, 0xc1, 12], // fadd st0,st1 -> st0
      [0xd8, 0xc9, 20],
      [0xd8, 0xe1, -8], // fsub st0,st1: st0 - st1
      [0xd8, 0xe9, 8], // fsubr
      [0xd8, 0xf1, 0.2], // fdiv
      [0xd8, 0xf9, 5], // fdivr
    ];
    for (const [op, modrm, want] of cases) {
      t.fldd(10);
      t.fldd(2);
      t.x(op, modrm);
      expect(t.fstpd()).toBe(want);
      expect(t.fstpd()).toBe(10);
    }
    const toSt1: [number, number, number][] = [
      [0xdc, 0xc1, 12], // fadd st1,st0
      [0xdc, 0xc9, 20],
      [0xdc, 0xe1, -8], // fsubr st1,st0: st0 - st1
      [0xdc, 0xe9, 8], // fsub st1,st0: st1 - st0
      [0xdc, 0xf1, 0.2], // fdivr st1,st0: st0 / st1
      [0xdc, 0xf9, 5], // fdiv st1,st0: st1 / st0
    ];
    for (const [op, modrm, want] of toSt1) {
      t.fldd(10);
      t.fldd(2);
      t.x(op, modrm);
      expect(t.fstpd()).toBe(2);
      expect(t.fstpd()).toBe(want);
      // The popping DE forms leave the result in the new ST0.
      t.fldd(10);
      t.fldd(2);
      t.x(0xde, modrm);
      expect(top(t.sw())).toBe(7);
      expect(t.fstpd()).toBe(want);
    }
    expect(t.sw() & FLAGS).toBe(PE); // 2/10 is inexact
  });

  it('division by zero and invalid operations', () => {
    t.fld1();
    t.fldz();
    t.x(0xde, 0xf9); // fdivp st1,st0: 1/0
    expect(t.fstpd()).toBe(Infinity);
    expect(t.sw() & FLAGS).toBe(ZE); // hw: 0x3804
    t.fnclex();
    t.fldz();
    t.fldz();
    t.x(0xde, 0xf9);
    expect(t.fstpdBits()).toBe(INDEF64);
    expect(t.sw() & FLAGS).toBe(IE);
    t.fnclex();
    t.fldd(Infinity);
    t.fldd(Infinity);
    t.x(0xde, 0xe9); // fsubp: inf - inf
    expect(t.fstpdBits()).toBe(INDEF64);
    t.fldd(Infinity);
    t.fldz();
    t.x(0xde, 0xc9); // 0 * inf
    expect(t.fstpdBits()).toBe(INDEF64);
    expect(t.sw() & FLAGS).toBe(IE);
    t.fnclex();
    t.fldd(1e308);
    t.fldd(10);
    t.x(0xde, 0xc9);
    expect(t.fstpd()).toBe(Infinity);
    expect(t.sw() & (OE | PE)).toBe(OE | PE);
  });

  it('propagates NaNs as the x87 does (hw)', () => {
    const q1: [number, bigint] = [0x7fff, 0xc000000000000001n];
    const q2: [number, bigint] = [0xffff, 0xc000000000000002n];
    const q3: [number, bigint] = [0xffff, 0xc000000000000001n];
    const add = (a: [number, bigint], b: [number, bigint]): [number, bigint] => {
      t.fldt(...a);
      t.fldt(...b);
      t.x(0xde, 0xc1);
      return t.fstpt();
    };
    expect(add(q1, q2)).toEqual(q2); // larger significand
    expect(add(q2, q1)).toEqual(q2);
    expect(add(q1, q3)).toEqual(q1); // same significand: the positive one
    expect(add(q3, q1)).toEqual(q1);
    expect(t.sw() & FLAGS).toBe(0);
    expect(add([0x7fff, 0xa000000000000000n], [0x7fff, 0xc000000000000000n])).toEqual([
      0x7fff,
      0xc000000000000000n,
    ]);
    expect(t.sw() & FLAGS).toBe(IE);
    expect(add([0x7fff, 0xbf00000000000000n], [0x7fff, 0xa000000000000000n])).toEqual([
      0x7fff,
      0xff00000000000000n,
    ]);
    t.fnclex();
    // A NaN memory operand keeps its payload.
    t.fld1();
    t.host.dv.setBigUint64(A, 0x7ff8000000000123n, true);
    t.m(0xdc, 0);
    expect(t.fstpdBits()).toBe(0x7ff8000000000123n);
    t.fld1();
    t.host.dv.setUint32(A, 0xffc00042, true);
    t.m(0xd8, 1);
    expect(t.fstpsBits()).toBe(0xffc00042);
    expect(t.sw() & FLAGS).toBe(0);
  });

  it('honours directed rounding for + - * / sqrt', () => {
    const third = [0x3fd5555555555555n, 0x3fd5555555555555n, 0x3fd5555555555556n, 0x3fd5555555555555n];
    const sqrt2 = [0x3ff6a09e667f3bcdn, 0x3ff6a09e667f3bccn, 0x3ff6a09e667f3bcdn, 0x3ff6a09e667f3bccn];
    const negThird = [0xbfd5555555555555n, 0xbfd5555555555556n, 0xbfd5555555555555n, 0xbfd5555555555555n];
    for (let rc = 0; rc < 4; rc++) {
      t.setRC(rc);
      t.fld1();
      t.fild16(3);
      t.x(0xde, 0xf9); // 1/3
      expect(t.fstpdBits()).toBe(third[rc]);
      t.fild16(-1);
      t.fild16(3);
      t.x(0xde, 0xf9);
      expect(t.fstpdBits()).toBe(negThird[rc]);
      t.fild16(2);
      t.x(0xd9, 0xfa);
      expect(t.fstpdBits()).toBe(sqrt2[rc]);
      t.fld1();
      t.fldd(2 ** -60);
      t.x(0xde, 0xc1); // 1 + 2^-60
      expect(t.fstpd()).toBe(rc === 2 ? 1 + 2 ** -52 : 1);
      t.fld1();
      t.fldd(2 ** -60);
      t.x(0xde, 0xe9); // 1 - 2^-60
      expect(t.fstpd()).toBe(rc === 1 || rc === 3 ? 1 - 2 ** -53 : 1);
      t.fld1();
      t.fld1();
      t.x(0xde, 0xe9); // 1 - 1: -0 only when rounding down
      expect(Object.is(t.fstpd(), rc === 1 ? -0 : 0)).toBe(true);
    }
  });

  it('directed results bracket the exact result (BigInt oracle)', () => {
    const mag = fc.double({ min: 1e-100, max: 1e100, noNaN: true });
    const num = fc.tuple(mag, fc.boolean()).map(([v, n]) => (n ? -v : v));
    fc.assert(
      fc.property(num, num, fc.integer({ min: 0, max: 2 }), (a, b, which) => {
        const res: number[] = [];
        for (let rc = 0; rc < 4; rc++) {
          const r = new Rig();
          r.setRC(rc);
          r.fldd(a);
          r.fldd(b);
          r.x(0xde, which === 0 ? 0xc1 : which === 1 ? 0xc9 : 0xf9); // st1 + st0, *, st1 / st0
          res.push(r.fstpd());
        }
        const [rn, rd, ru, rz] = res as [number, number, number, number];
        // Compare exact rationals: value relation of each result to the exact a op b.
        const rel = (x: number): number => {
          let lhs: bigint;
          let rhs: bigint;
          if (which === 0) {
            lhs = scaled(x);
            rhs = scaled(a) + scaled(b);
          } else if (which === 1) {
            lhs = scaled(x) << 1074n;
            rhs = scaled(a) * scaled(b);
          } else {
            // x vs a/b  <=>  x*b vs a (flip for negative b)
            lhs = scaled(x) * scaled(b);
            rhs = scaled(a) << 1074n;
            if (b < 0) [lhs, rhs] = [rhs, lhs];
          }
          return lhs < rhs ? -1 : lhs > rhs ? 1 : 0;
        };
        expect(rel(rd)).toBeLessThanOrEqual(0);
        expect(rel(ru)).toBeGreaterThanOrEqual(0);
        if (rel(rd) === 0) expect(ru === rd).toBe(true);
        else expect(ru).toBe(nextUp(rd));
        if (ru === 0) {
          // An exact zero sum of nonzero operands is -0 only when rounding down (IEEE 754 6.3).
          expect([rn, rd, ru, rz].map((z) => Object.is(z, -0))).toEqual([false, true, false, false]);
        }
        expect(rn === rd || rn === ru).toBe(true);
        expect(rz).toBe(rd < 0 || ru <= 0 ? ru : rd);
      }),
      { numRuns: 1500, examples: [[-1e-100, 1e-100, 0]] },
    );
  });

  it('precision control 24 rounds results to single precision', () => {
    t.fldcw(0x007f);
    t.fld1();
    t.fild16(3);
    t.x(0xde, 0xf9);
    expect(t.fstpd()).toBe(Math.fround(1 / 3));
  });
});

describe('loads and stores to m32/m64', () => {
  it('stores singles with RC and the right flags (hw)', () => {
    t.fldd(1 / 3);
    expect(t.fstpsBits()).toBe(0x3eaaaaab);
    expect(t.sw() & (FLAGS | C1)).toBe(PE | C1);
    t.fnclex();
    t.fldd(1e300);
    expect(t.fstpsBits()).toBe(0x7f800000);
    expect(t.sw() & (FLAGS | C1)).toBe(OE | PE | C1);
    t.fnclex();
    t.fldd(1e-45);
    expect(t.fstpsBits()).toBe(1);
    expect(t.sw() & (FLAGS | C1)).toBe(UE | PE | C1);
    t.fnclex();
    t.setRC(1);
    t.fldd(1 / 3);
    expect(t.fstpsBits()).toBe(0x3eaaaaaa);
    t.setRC(3);
    t.fldd(1e300);
    expect(t.fstpsBits()).toBe(0x7f7fffff);
    t.setRC(0);
    t.fldd(0.5);
    t.m(0xd9, 2); // fst (no pop)
    expect(t.host.dv.getFloat32(A, true)).toBe(0.5);
    expect(top(t.sw())).toBe(7);
  });

  it('loads m32 values, NaNs and denormals', () => {
    t.fldsBits(0x3f800000);
    expect(t.fpu.st(0)).toBe(1);
    t.fldsBits(0x7fc00123); // QNaN with payload
    expect(t.sw() & FLAGS).toBe(0);
    expect(t.fstpsBits()).toBe(0x7fc00123);
    t.fldsBits(0x7fa00000); // SNaN: IE and quietened
    expect(t.sw() & FLAGS).toBe(IE);
    expect(t.fstpsBits()).toBe(0x7fe00000);
    t.fnclex();
    t.fldsBits(1); // denormal single
    expect(t.sw() & FLAGS).toBe(DE);
    expect(t.fpu.st(0)).toBe(2 ** -149);
  });

  it('loads m64 SNaNs quietened with IE (hw)', () => {
    t.flddBits(0x7ff4000000000000n);
    expect(t.sw() & FLAGS).toBe(IE);
    expect(t.fstpt()).toEqual([0x7fff, 0xe000000000000000n]);
    t.m(0xdd, 2); // fst m64 from an empty stack: underflow, indefinite
    expect(t.host.dv.getBigUint64(A, true)).toBe(INDEF64);
  });
});

describe('integer conversions', () => {
  it('FIST rounds per RC, with PE and C1 (hw)', () => {
    const cases: [number, number, number, number][] = [
      // rc, value, result, flags
      [0, 2.5, 2, PE],
      [0, 3.5, 4, PE | C1],
      [0, -2.5, -2, PE],
      [0, -3.5, -4, PE | C1],
      [0, 7, 7, 0],
      [1, -2.5, -3, PE | C1],
      [1, 2.7, 2, PE],
      [2, 2.1, 3, PE | C1],
      [2, -2.7, -2, PE],
      [3, -2.7, -2, PE],
      [3, 2.7, 2, PE],
    ];
    for (const [rc, v, want, flags] of cases) {
      t.fninit();
      t.setRC(rc);
      t.fldd(v);
      expect(t.fistp32()).toBe(want);
      expect(t.sw() & (FLAGS | C1)).toBe(flags);
      t.fldd(v);
      expect(t.fistp16()).toBe(want);
      t.fldd(v);
      expect(t.fistp64()).toBe(BigInt(want));
    }
  });

  it('the fnstcw/fldcw truncation idiom and FISTTP', () => {
    t.fldd(-2.7);
    t.m(0xd9, 7, 0x2100); // fnstcw [0x2100]
    const cw = t.host.dv.getUint16(0x2100, true);
    t.host.dv.setUint16(0x2102, cw | 0x0c00, true);
    t.m(0xd9, 5, 0x2102); // fldcw
    expect(t.fistp32()).toBe(-2);
    t.m(0xd9, 5, 0x2100);
    expect(t.fnstcw()).toBe(0x037f);
    for (const [op, size] of [
      [0xdf, 16],
      [0xdb, 32],
      [0xdd, 64],
    ] as const) {
      t.fldd(-2.7);
      t.m(op, 1); // fisttp
      const got =
        size === 16
          ? t.host.dv.getInt16(A, true)
          : size === 32
            ? t.host.dv.getInt32(A, true)
            : Number(t.host.dv.getBigInt64(A, true));
      expect(got).toBe(-2);
    }
    expect(top(t.sw())).toBe(0);
  });

  it('out-of-range and NaN give the integer indefinite (hw)', () => {
    t.fldd(32767.6);
    expect(t.fistp16()).toBe(-32768);
    expect(t.sw() & FLAGS).toBe(IE);
    t.fnclex();
    t.fldd(-32768.4);
    expect(t.fistp16()).toBe(-32768);
    expect(t.sw() & FLAGS).toBe(PE);
    t.fldd(3e9);
    expect(t.fistp32()).toBe(-2147483648);
    t.fldd(NaN);
    expect(t.fistp32()).toBe(-2147483648);
    t.fnclex();
    t.fldd(2 ** 63);
    expect(t.fistp64()).toBe(-(2n ** 63n));
    expect(t.sw() & FLAGS).toBe(IE);
    t.fnclex();
    t.fldd(-(2 ** 63));
    expect(t.fistp64()).toBe(-(2n ** 63n));
    expect(t.sw() & FLAGS).toBe(0);
    t.fldd(-Infinity);
    t.m(0xdf, 2); // fist m16 without pop
    expect(t.host.dv.getInt16(A, true)).toBe(-32768);
    expect(top(t.sw())).toBe(7);
  });

  it('FILD of every size, and exact int64 round trips', () => {
    t.fild16(-1);
    expect(t.fpu.st(0)).toBe(-1);
    t.fild32(-2147483648);
    expect(t.fpu.st(0)).toBe(-2147483648);
    for (const v of [
      0x7fffffffffffffffn,
      -0x8000000000000000n,
      0x123456789abcdef1n,
      -0x123456789abcdef1n,
      (1n << 53n) + 1n,
      -1n,
      0n,
    ]) {
      t.fild64(v);
      expect(t.fpu.st(0)).toBe(Number(v)); // nearest double
      t.x(0xd9, 0xc0);
      expect(t.fistp64()).toBe(v);
      expect(t.fstpd()).toBe(Number(v));
    }
    t.fnclex();
    t.fild64((1n << 53n) + 1n);
    expect(t.fstpt()).toEqual([16383 + 53, 0x8000000000000400n]);
    expect(t.sw() & FLAGS).toBe(0);
  });

  it('matches a round-half-even oracle on random doubles', () => {
    fc.assert(
      fc.property(fc.double({ min: -(2 ** 40), max: 2 ** 40, noNaN: true }), (v) => {
        const r = new Rig();
        r.fldd(v);
        const fl = Math.floor(v);
        const d = v - fl;
        const want = d > 0.5 || (d === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
        expect(r.fistp64()).toBe(BigInt(want));
      }),
      { numRuns: 2000 },
    );
  });

  it('FBLD and FBSTP', () => {
    const bcd = [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80];
    t.host.mem.set(bcd, A);
    t.m(0xdf, 4);
    expect(t.fistp64()).toBe(-123456789012345678n);
    t.host.mem.set(bcd, A);
    t.m(0xdf, 4);
    t.host.mem.fill(0xee, A, A + 10);
    t.m(0xdf, 6);
    expect([...t.host.mem.subarray(A, A + 10)]).toEqual(bcd);
    t.fldd(2.5);
    t.m(0xdf, 6);
    expect([...t.host.mem.subarray(A, A + 10)]).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    t.fldd(-0); // hw: sign byte 0x80
    t.m(0xdf, 6);
    expect([...t.host.mem.subarray(A, A + 10)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    expect(t.sw() & FLAGS).toBe(PE);
    t.fldd(NaN); // hw: the packed-BCD indefinite
    t.m(0xdf, 6);
    expect([...t.host.mem.subarray(A, A + 10)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
    expect(t.sw() & FLAGS).toBe(IE | PE);
    t.fldd(1e18);
    t.m(0xdf, 6);
    expect(t.host.mem[A + 7]).toBe(0xc0);
    // 10^18 - 1 is not a double, but FILD m64 keeps it exactly.
    t.fild64(999999999999999999n);
    t.m(0xdf, 6);
    expect([...t.host.mem.subarray(A, A + 10)]).toEqual([
      0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0,
    ]);
    expect(top(t.sw())).toBe(0);
  });
});

describe('comparisons', () => {
  const cmp = (a: number, b: number): number => {
    t.fninit();
    t.fldd(a);
    t.host.dv.setFloat64(A, b, true);
    t.m(0xdc, 2); // fcom m64
    return t.sw() & (CC | FLAGS);
  };

  it('FCOM sets C0/C2/C3', () => {
    expect(cmp(1, 2)).toBe(C0);
    expect(cmp(2, 1)).toBe(0);
    expect(cmp(1, 1)).toBe(C3);
    expect(cmp(-0, 0)).toBe(C3);
    expect(cmp(1, NaN)).toBe(C3 | C2 | C0 | IE);
    expect(cmp(-Infinity, -1e308)).toBe(C0);
  });

  it('memory and integer forms, popping forms', () => {
    t.fldd(2.5);
    t.host.dv.setFloat32(A, 2.5, true);
    t.m(0xd8, 2);
    expect(t.sw() & CC).toBe(C3);
    t.host.dv.setInt32(A, 3, true);
    t.m(0xda, 2); // ficom m32
    expect(t.sw() & CC).toBe(C0);
    t.host.dv.setInt16(A, -3, true);
    t.m(0xde, 3); // ficomp m16
    const sw = t.sw();
    expect(sw & CC).toBe(0);
    expect(top(sw)).toBe(0);
    t.fld1();
    t.fldz();
    t.x(0xde, 0xd9); // fcompp: 0 vs 1
    expect(t.sw() & (CC | 0x3800)).toBe(C0);
    t.fld1();
    t.fld1();
    t.x(0xda, 0xe9); // fucompp
    expect(t.sw() & (CC | 0x3800)).toBe(C3);
    t.fldz();
    t.fld1();
    t.x(0xd8, 0xd9); // fcomp st1
    expect(t.sw() & (CC | 0x3800)).toBe(0x3800);
    for (const modrm of [0xd1, 0xd9]) {
      t.x(0xdc, modrm); // FCOM2/FCOMP3 aliases
      expect(t.sw() & CC).toBe(C3 | C2 | C0); // st1 empty now: underflow
    }
  });

  it('FUCOM raises IE only for SNaN, FCOM for any NaN (hw)', () => {
    t.fldd(NaN);
    t.fld1();
    t.r(0xdd, 4, 1); // fucom st1
    expect(t.sw()).toBe(0x3000 | C3 | C2 | C0); // hw 0x7500
    t.r(0xd8, 2, 1); // fcom st1
    expect(t.sw()).toBe(0x3000 | C3 | C2 | C0 | IE); // hw 0x7501
    t.fninit();
    t.fldt(0x7fff, 0xa000000000000000n); // SNaN
    t.fld1();
    t.r(0xdd, 5, 1); // fucomp
    expect(t.sw() & (CC | FLAGS)).toBe(C3 | C2 | C0 | IE);
  });

  it('compares exact 80-bit values that round to the same double', () => {
    t.fld1();
    t.fldt(0x3fff, 0x8000000000000001n);
    t.r(0xd8, 2, 1);
    expect(t.sw() & CC).toBe(0);
    t.r(0xd9, 1, 1); // fxch
    t.r(0xd8, 2, 1);
    expect(t.sw() & CC).toBe(C0);
    t.fninit();
    t.fldt(0x3fff, 0x8000000000000001n);
    t.host.dv.setFloat64(A, 1, true);
    t.m(0xdc, 2);
    expect(t.sw() & CC).toBe(0);
  });

  it('FCOMI/FUCOMI/FCOMIP/FUCOMIP set ZF PF CF', () => {
    const run = (a: number, b: number, op: number, modrm: number): number[] => {
      t.fninit();
      t.fldd(b);
      t.fldd(a);
      t.host.zpc = undefined;
      t.x(op, modrm);
      return t.host.zpc!;
    };
    expect(run(2, 1, 0xdb, 0xf1)).toEqual([0, 0, 0]);
    expect(run(1, 2, 0xdb, 0xf1)).toEqual([0, 0, 1]);
    expect(run(1, 1, 0xdb, 0xe9)).toEqual([1, 0, 0]);
    expect(run(1, NaN, 0xdf, 0xe9)).toEqual([1, 1, 1]); // fucomip: hw eflags 0x45, no IE
    expect(t.sw() & (FLAGS | 0x3800)).toBe(0x3800);
    expect(run(1, NaN, 0xdf, 0xf1)).toEqual([1, 1, 1]); // fcomip: IE
    expect(t.sw() & (FLAGS | 0x3800)).toBe(0x3800 | IE);
  });

  it('FTST and FXAM', () => {
    const ftst = (v: number): number => {
      t.fninit();
      t.fldd(v);
      t.x(0xd9, 0xe4);
      return t.sw() & (CC | FLAGS);
    };
    expect(ftst(-0)).toBe(C3);
    expect(ftst(-1)).toBe(C0);
    expect(ftst(5e-324)).toBe(DE);
    expect(ftst(NaN)).toBe(C3 | C2 | C0 | IE); // hw 0x7d01
    const fxam = (f: () => void): number => {
      t.fninit();
      f();
      t.x(0xd9, 0xe5);
      return t.sw() & CC;
    };
    expect(fxam(() => t.fldz())).toBe(C3);
    expect(fxam(() => t.fldd(-1))).toBe(C2 | C1); // hw 0x3e00
    expect(fxam(() => t.fldd(Infinity))).toBe(C2 | C0);
    expect(fxam(() => t.flddBits(0x7ff8000000000000n))).toBe(C0);
    expect(fxam(() => t.flddBits(0xfff8000000000001n))).toBe(C1 | C0);
    expect(fxam(() => t.fldd(5e-324))).toBe(C2); // a binary64 denormal is normal in extended (hw)
    expect(fxam(() => undefined)).toBe(C3 | C0);
    // Empty: C1 is the sign of the stale contents (hw 0x7b00).
    expect(
      fxam(() => {
        t.fldd(-1);
        t.x(0xdd, 0xc0); // ffree st0
      }),
    ).toBe(C3 | C1 | C0);
  });
});

describe('stack management', () => {
  it('overflow loads the indefinite with IE|SF|C1 (hw)', () => {
    for (let i = 0; i < 8; i++) t.fld1();
    expect(t.sw()).toBe(0);
    t.fld1();
    expect(t.sw()).toBe(0x3800 | C1 | SF | IE); // hw 0x3a41
    expect(t.fstpdBits()).toBe(INDEF64);
    expect(t.fstpd()).toBe(1);
  });

  it('underflow gives the indefinite with IE|SF and C1 = 0 (hw)', () => {
    t.x(0xd8, 0xc0); // fadd st0,st0 on an empty stack
    expect(t.sw()).toBe(SF | IE); // hw 0x0041
    expect(t.fstpdBits()).toBe(INDEF64);
    t.fninit();
    expect(t.fstpdBits()).toBe(INDEF64);
    expect(t.sw()).toBe(0x0800 | SF | IE);
    t.fninit();
    t.x(0xd9, 0xc3); // fld st3, empty (hw 0x3841)
    expect(t.sw()).toBe(0x3800 | SF | IE);
    expect(t.fstpt()).toEqual(INDEF80);
    t.fninit();
    expect(t.fistp32()).toBe(-2147483648);
    expect(t.sw() & FLAGS).toBe(SF | IE);
  });

  it('FXCH with an empty register (hw: sw 0x3841, tag 0xbfcf)', () => {
    t.fld1();
    t.x(0xd9, 0xcb); // fxch st3
    expect(t.sw()).toBe(0x3800 | SF | IE);
    expect(t.tag()).toBe(0xbfcf);
  });

  it('FXCH, FST/FSTP ST(i), FLD ST(i), FFREE(P), FINCSTP, FDECSTP and the aliases', () => {
    t.fldd(3);
    t.fldd(2);
    t.fldd(1);
    t.x(0xd9, 0xca); // fxch st2 -> 3 2 1
    expect([t.fpu.st(0), t.fpu.st(1), t.fpu.st(2)]).toEqual([3, 2, 1]);
    t.x(0xdd, 0xc9); // fxch4 alias st1 -> 2 3 1
    t.x(0xdf, 0xca); // fxch7 alias st2 -> 1 3 2
    expect([t.fpu.st(0), t.fpu.st(1), t.fpu.st(2)]).toEqual([1, 3, 2]);
    t.x(0xd9, 0xc2); // fld st2 -> 2 1 3 2
    expect([t.fpu.st(0), t.fpu.st(1), t.fpu.st(2), t.fpu.st(3)]).toEqual([2, 1, 3, 2]);
    t.x(0xdd, 0xd2); // fst st2 -> 2 1 2 2
    expect(t.fpu.st(2)).toBe(2);
    t.x(0xdd, 0xd9); // fstp st1 -> 2 2 2
    expect(top(t.sw())).toBe(5);
    t.x(0xd9, 0xd8); // fstp1 alias st0: just pops
    t.x(0xdf, 0xd0); // fstp8 alias
    t.x(0xdf, 0xd8); // fstp9 alias
    expect(top(t.sw())).toBe(0);
    expect(t.tag()).toBe(0xffff);
    t.fld1();
    t.fldz();
    t.x(0xdd, 0xc1);
    expect(t.tag()).toBe(0xdfff); // phys 6 = zero (01), phys 7 = empty
    t.x(0xdf, 0xc0); // ffreep st0
    expect(top(t.sw())).toBe(7);
    expect(t.tag()).toBe(0xffff);
    t.x(0xd9, 0xf7); // fincstp
    expect(top(t.sw())).toBe(0);
    t.x(0xd9, 0xf6); // fdecstp
    t.x(0xd9, 0xf6);
    expect(top(t.sw())).toBe(6);
    expect(t.tag()).toBe(0xffff);
  });

  it('FCMOVcc reads CF, ZF and PF', () => {
    const cases: [number, number, number, boolean][] = [
      // op, /reg, eflags, moves?
      [0xda, 0, 1, true], // fcmovb
      [0xda, 0, 0, false],
      [0xdb, 0, 1, false], // fcmovnb
      [0xdb, 0, 0, true],
      [0xda, 1, 0x40, true], // fcmove
      [0xdb, 1, 0x40, false], // fcmovne
      [0xda, 2, 0x40, true], // fcmovbe
      [0xda, 2, 1, true],
      [0xda, 2, 0, false],
      [0xdb, 2, 0, true], // fcmovnbe
      [0xdb, 2, 1, false],
      [0xda, 3, 4, true], // fcmovu
      [0xdb, 3, 4, false], // fcmovnu
      [0xdb, 3, 0x41, true],
    ];
    for (const [op, reg, flags, moves] of cases) {
      t.fninit();
      t.fldd(7);
      t.fldd(1);
      t.host.eflags = flags;
      t.r(op, reg, 1);
      expect(t.fpu.st(0)).toBe(moves ? 7 : 1);
    }
    // An empty source faults even when the condition is false (hw: st0 = indefinite, IE|SF).
    t.fninit();
    t.fld1();
    t.host.eflags = 0;
    t.r(0xda, 1, 3);
    expect(t.sw() & FLAGS).toBe(SF | IE);
    expect(t.fstpt()).toEqual(INDEF80);
  });
});

describe('unary and transcendental operations', () => {
  const un = (v: number, modrm: number): number => {
    t.fninit();
    t.fldd(v);
    t.x(0xd9, modrm);
    return t.fpu.st(0);
  };

  it('FCHS, FABS, FSQRT', () => {
    expect(un(2, 0xe0)).toBe(-2);
    expect(Object.is(un(0, 0xe0), -0)).toBe(true);
    expect(un(-2, 0xe1)).toBe(2);
    expect(un(2, 0xfa)).toBe(Math.SQRT2);
    expect(Object.is(un(-0, 0xfa), -0)).toBe(true);
    expect(t.sw() & FLAGS).toBe(0); // hw 0x3800
    un(-1, 0xfa);
    expect(t.sw() & FLAGS).toBe(IE);
    expect(t.fstpdBits()).toBe(INDEF64);
  });

  it('FSIN, FCOS, FSINCOS, FPTAN', () => {
    expect(un(0.5, 0xfe)).toBe(Math.sin(0.5));
    expect(un(0.5, 0xff)).toBe(Math.cos(0.5));
    un(0.5, 0xfb); // fsincos: ST0 = cos, ST1 = sin (hw)
    expect([t.fpu.st(0), t.fpu.st(1)]).toEqual([Math.cos(0.5), Math.sin(0.5)]);
    expect(top(t.sw())).toBe(6);
    un(0.5, 0xf2); // fptan: ST0 = 1, ST1 = tan
    expect([t.fpu.st(0), t.fpu.st(1)]).toEqual([1, Math.tan(0.5)]);
    // Out of range: C2 set, operand unchanged, nothing pushed (hw 0x3c00).
    expect(un(2 ** 63, 0xfe)).toBe(2 ** 63);
    expect(t.sw()).toBe(0x3800 | C2);
    un(2 ** 63, 0xf2);
    expect(t.sw()).toBe(0x3800 | C2);
    // Infinity: invalid (hw 0x3801).
    un(Infinity, 0xfe);
    expect(t.sw()).toBe(0x3800 | IE);
    expect(t.fstpdBits()).toBe(INDEF64);
  });

  it('FPATAN, F2XM1, FYL2X, FYL2XP1', () => {
    t.fldd(1); // y
    t.fldd(-1); // x
    t.x(0xd9, 0xf3);
    expect(t.fpu.st(0)).toBe(Math.atan2(1, -1));
    expect(top(t.sw())).toBe(7);
    expect(un(1, 0xf0)).toBe(1); // hw
    expect(un(-1, 0xf0)).toBe(-0.5);
    expect(un(0.5, 0xf0)).toBeCloseTo(Math.SQRT2 - 1, 15);
    expect(un(1e-20, 0xf0)).toBeCloseTo(1e-20 * Math.LN2, 34);
    t.fninit();
    t.fldd(3);
    t.fldd(8);
    t.x(0xd9, 0xf1); // 3 * log2(8)
    expect(t.fpu.st(0)).toBe(9);
    t.fninit();
    t.fld1();
    t.fldz();
    t.x(0xd9, 0xf1); // 1 * log2(0): ZE (hw 0x3804)
    expect(t.fpu.st(0)).toBe(-Infinity);
    expect(t.sw() & FLAGS).toBe(ZE);
    t.fninit();
    t.fldd(-1);
    t.x(0xd9, 0xf1); // underflow: ST1 missing
    expect(t.sw() & FLAGS).toBe(SF | IE);
    t.fninit();
    t.fldd(2);
    t.fldd(0.25);
    t.x(0xd9, 0xf9); // 2 * log2(1 + 0.25)
    expect(t.fpu.st(0)).toBeCloseTo(2 * Math.log2(1.25), 15);
    // FYL2XP1 takes |x| < 1 - sqrt(2)/2 (AMD: up to sqrt(2) - 1); beyond, like QEMU: invalid.
    t.fninit();
    t.fldd(2);
    t.fldd(1);
    t.x(0xd9, 0xf9);
    expect(t.sw() & FLAGS).toBe(IE);
    expect(t.fstpdBits()).toBe(INDEF64);
  });

  it('FSCALE (hw)', () => {
    const scale = (x: number, n: number): number => {
      t.fninit();
      t.fldd(n);
      t.fldd(x);
      t.x(0xd9, 0xfd);
      return t.fpu.st(0);
    };
    expect(scale(3, 2.9)).toBe(12);
    expect(scale(3, -2.9)).toBe(0.75);
    expect(scale(1, -1074)).toBe(5e-324);
    expect(scale(-0, 5)).toBe(-0);
    expect(scale(1, -Infinity)).toBe(0);
    scale(Infinity, -Infinity);
    expect(t.sw() & FLAGS).toBe(IE);
    // 2^2000 is an ordinary extended number: kept exactly.
    expect(scale(1, 2000)).toBe(Infinity);
    expect(t.sw() & FLAGS).toBe(0);
    expect(t.fstpt()).toEqual([16383 + 2000, 0x8000000000000000n]);
    t.fninit();
    t.fldd(-1);
    t.fldt(0x7ffe, 0xffffffffffffffffn);
    t.x(0xd9, 0xfd);
    expect(t.fstpt()).toEqual([0x7ffd, 0xffffffffffffffffn]);
    expect(scale(1, 20000)).toBe(Infinity);
    expect(t.sw() & (OE | PE)).toBe(OE | PE);
  });

  it('FRNDINT per RC, keeping the sign of zero (hw)', () => {
    expect(un(2.5, 0xfc)).toBe(2);
    expect(un(3.5, 0xfc)).toBe(4);
    expect(Object.is(un(-0.4, 0xfc), -0)).toBe(true);
    expect(t.sw()).toBe(0x3800 | PE); // hw 0x3820
    expect(un(1e300, 0xfc)).toBe(1e300);
    t.fninit();
    t.setRC(2);
    t.fldd(2.1);
    t.x(0xd9, 0xfc);
    expect(t.fpu.st(0)).toBe(3);
    t.setRC(1);
    t.fldd(-2.1);
    t.x(0xd9, 0xfc);
    expect(t.fpu.st(0)).toBe(-3);
    t.setRC(3);
    t.fldd(-2.9);
    t.x(0xd9, 0xfc);
    expect(t.fpu.st(0)).toBe(-2);
    // On an exact extended value: 2^61 + 0.75 -> 2^61 + 1.
    t.fninit();
    t.fldt(16383 + 61, 0x8000000000000003n);
    t.x(0xd9, 0xfc);
    expect(t.sw() & (FLAGS | C1)).toBe(PE | C1);
    expect(t.fstpt()).toEqual([16383 + 61, 0x8000000000000004n]);
  });

  it('FPREM / FPREM1 results and quotient bits (hw)', () => {
    const prem = (x: number, y: number, modrm: number): [number, number] => {
      t.fninit();
      t.fldd(y);
      t.fldd(x);
      t.x(0xd9, modrm);
      return [t.fpu.st(0), t.sw() & CC];
    };
    expect(prem(7, 2, 0xf8)).toEqual([1, C3 | C1]); // hw 0x7200
    expect(prem(13, 2, 0xf5)).toEqual([1, C3 | C0]); // hw 0x7100
    expect(prem(-13, 2, 0xf5)).toEqual([-1, C3 | C0]);
    expect(prem(5.5, -2, 0xf8)).toEqual([1.5, C3]); // hw 0x7000
    expect(prem(5.5, -2, 0xf5)).toEqual([-0.5, C3 | C1]); // hw 0x7200
    const [z, zc] = prem(-6, 3, 0xf8);
    expect(Object.is(z, -0)).toBe(true);
    expect(zc).toBe(C3);
    // Exponents 64 or more apart: a partial remainder (the exponent drops by 32..63), C2 = 1, and
    // the loop glibc uses ends with the exact remainder and the low quotient bits (hw, QEMU).
    const q = Number((BigInt(1e300) / 3n) & 7n);
    const [r1, c1] = prem(1e300, 3, 0xf8);
    expect(c1).toBe(C2);
    expect(r1).toBeLessThan(1e300);
    let steps = 1;
    while (t.sw() & C2) {
      t.x(0xd9, 0xf8);
      steps++;
    }
    expect(steps).toBe(3); // as on qemu-i386
    expect([t.fpu.st(0), t.sw() & CC]).toEqual([
      1e300 % 3,
      (q & 4 ? C0 : 0) | (q & 2 ? C3 : 0) | (q & 1 ? C1 : 0),
    ]);
    expect(prem(5, Infinity, 0xf8)).toEqual([5, 0]);
    prem(5, 0, 0xf8);
    expect(t.sw() & FLAGS).toBe(IE);
  });

  it('FPREM / FPREM1 match a BigInt oracle', () => {
    const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).filter((v) => v !== 0);
    fc.assert(
      fc.property(int, int, (x, y) => {
        for (const ieee of [false, true]) {
          const r = new Rig();
          r.fldd(y);
          r.fldd(x);
          r.x(0xd9, ieee ? 0xf5 : 0xf8);
          const X = BigInt(x);
          const Y = BigInt(y);
          let q = X / Y; // truncating
          if (ieee) {
            const rem2 = 2n * (X - q * Y);
            const ay = Y < 0n ? -Y : Y;
            const ar = rem2 < 0n ? -rem2 : rem2;
            const dir = X < 0n !== Y < 0n ? -1n : 1n;
            if (ar > ay || (ar === ay && q % 2n !== 0n)) q += dir;
          }
          const rem = Number(X - q * Y);
          expect(r.fpu.st(0)).toBe(rem === 0 ? (x < 0 ? -0 : 0) : rem);
          const aq = Number((q < 0n ? -q : q) & 7n);
          const sw = r.sw();
          expect(sw & C2).toBe(0);
          expect([(sw & C0) !== 0, (sw & C3) !== 0, (sw & C1) !== 0]).toEqual([
            (aq & 4) !== 0,
            (aq & 2) !== 0,
            (aq & 1) !== 0,
          ]);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('FXTRACT (hw)', () => {
    t.fldd(10);
    t.x(0xd9, 0xf4);
    expect([t.fpu.st(0), t.fpu.st(1)]).toEqual([1.25, 3]);
    t.fninit();
    t.fldd(-0);
    t.x(0xd9, 0xf4);
    expect(Object.is(t.fpu.st(0), -0)).toBe(true);
    expect(t.fpu.st(1)).toBe(-Infinity);
    expect(t.sw()).toBe(0x3000 | ZE); // hw 0x3004
    t.fninit();
    t.fldd(-5e-324);
    t.x(0xd9, 0xf4);
    expect([t.fpu.st(0), t.fpu.st(1)]).toEqual([-1, -1074]);
    t.fninit();
    t.fldt(0x7ffe, 0xc000000000000001n); // exact significand survives
    t.x(0xd9, 0xf4);
    expect(t.fstpt()).toEqual([0x3fff, 0xc000000000000001n]);
    expect(t.fpu.st(0)).toBe(0x7ffe - 16383);
  });
});

describe('environment and control', () => {
  it('FNSTENV layout (hw) and masking', () => {
    t.fld1();
    t.fldz();
    t.m(0xd9, 6, 0x3000);
    const env = [...t.host.mem.subarray(0x3000, 0x3000 + 28)];
    expect(env).toEqual([
      0x7f, 0x03, 0xff, 0xff, 0x00, 0x30, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0xee, 0x01, 0,
      0, 0, 0, 0, 0, 0xff, 0xff,
    ]);
    t.fldcw(0x0360);
    t.m(0xd9, 6, 0x3000);
    expect(t.fnstcw()).toBe(0x037f); // hw: FNSTENV masks all exceptions
  });

  it('records FOP and FDP of the last non-control instruction', () => {
    t.fldd(1.5); // DD /0 at A
    t.fnstcw();
    t.m(0xd9, 6, 0x3000);
    expect(t.host.dv.getUint16(0x3000 + 18, true)).toBe(0x500);
    expect(t.host.dv.getUint32(0x3000 + 20, true)).toBe(A);
  });

  it('FLDENV', () => {
    const e = 0x3000;
    const dv = t.host.dv;
    dv.setUint32(e, 0xffff0c7f, true);
    dv.setUint32(e + 4, 0xffff0000 | (5 << 11) | C3 | IE, true);
    dv.setUint32(e + 8, 0xffff0000 | (0xffff & ~(3 << 10)), true); // phys 5 valid
    dv.setUint32(e + 12, 0x08048000, true);
    dv.setUint32(e + 16, (0x1e8 << 16) | 0x73, true);
    dv.setUint32(e + 20, 0x1234, true);
    dv.setUint32(e + 24, 0xffff007b, true);
    t.m(0xd9, 4, e);
    expect(t.fnstcw()).toBe(0x0c7f);
    expect(t.sw()).toBe((5 << 11) | C3 | IE);
    expect(t.fpu.emptyMask).toBe(0xff & ~(1 << 5));
    t.m(0xd9, 6, 0x3100);
    expect([...t.host.mem.subarray(0x3100 + 12, 0x3100 + 28)]).toEqual([
      ...t.host.mem.subarray(e + 12, e + 28),
    ]);
  });

  it('FNSAVE (hw layout) and FRSTOR', () => {
    t.fld1();
    t.fldz();
    t.m(0xdd, 6, 0x3000);
    const img = [...t.host.mem.subarray(0x3000, 0x3000 + 48)];
    expect(img.slice(0, 12)).toEqual([
      0x7f, 0x03, 0xff, 0xff, 0x00, 0x30, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff,
    ]);
    expect(img.slice(28)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
    // FNSAVE reinitialises.
    expect(t.sw()).toBe(0);
    expect(t.tag()).toBe(0xffff);
    t.m(0xdd, 4, 0x3000);
    expect(top(t.sw())).toBe(6);
    expect([t.fpu.st(0), t.fpu.st(1)]).toEqual([0, 1]);
    expect(t.tag()).toBe(0x1fff);
    // Extended values survive exactly.
    t.fninit();
    t.fldt(0x3ffb, 0xcccccccccccccccdn);
    t.m(0xdd, 6, 0x3000);
    t.m(0xdd, 4, 0x3000);
    expect(t.fstpt()).toEqual([0x3ffb, 0xcccccccccccccccdn]);
  });

  it('FLDCW reserved bits read back as on hardware', () => {
    t.fldcw(0);
    expect(t.fnstcw()).toBe(0x0040);
    t.fldcw(0xffff);
    expect(t.fnstcw()).toBe(0x1f7f);
  });

  it('FNCLEX keeps condition codes; unmasked exceptions set ES and B', () => {
    t.fld1();
    t.host.dv.setFloat64(A, NaN, true);
    t.m(0xdc, 2);
    expect(t.sw() & (CC | FLAGS)).toBe(C3 | C2 | C0 | IE);
    t.fnclex();
    expect(t.sw()).toBe(0x3800 | C3 | C2 | C0);
    t.fninit();
    t.fldcw(0x037e);
    t.fldz();
    t.fldz();
    t.x(0xde, 0xf9);
    expect(t.sw() & (B | ES | FLAGS)).toBe(B | ES | IE); // hw 0xb081
    t.fnclex();
    expect(t.sw() & (B | ES | FLAGS)).toBe(0);
    // FNSTSW m16
    t.m(0xdd, 7, 0x3000);
    expect(t.host.dv.getUint16(0x3000, true)).toBe(t.sw());
  });

  it('FNOP, FENI/FDISI/FSETPM are no-ops', () => {
    t.fld1();
    for (const [op, modrm] of [
      [0xd9, 0xd0],
      [0xdb, 0xe0],
      [0xdb, 0xe1],
      [0xdb, 0xe4],
    ] as const)
      t.x(op, modrm);
    expect(t.sw()).toBe(0x3800);
    expect(t.fpu.st(0)).toBe(1);
  });

  it('raises #UD for encodings that do not exist', () => {
    const bad: [number, number][] = [
      [0xd9, 1 << 3],
      [0xd9, 0xd1],
      [0xd9, 0xe2],
      [0xd9, 0xe3],
      [0xd9, 0xe6],
      [0xd9, 0xe7],
      [0xd9, 0xef],
      [0xda, 0xe0],
      [0xda, 0xe8],
      [0xda, 0xf8],
      [0xdb, 4 << 3],
      [0xdb, 6 << 3],
      [0xdb, 0xe5],
      [0xdb, 0xf8],
      [0xdd, 5 << 3],
      [0xdd, 0xf0],
      [0xdd, 0xf8],
      [0xde, 0xd8],
      [0xde, 0xda],
      [0xdf, 0xe1],
      [0xdf, 0xf8],
    ];
    for (const [op, modrm] of bad)
      expect(() => t.x(op, modrm), `${op.toString(16)} ${modrm.toString(16)}`).toThrow(UD);
  });
});

// ---- Exact extended-precision arithmetic ----

/** The x87 format rounding of the positive rational num/den * 2^sc, independent of the FPU code. */
function roundRat(
  neg: boolean,
  num: bigint,
  den: bigint,
  sc: number,
  prec: number,
  rc: number,
): { se: number; m: bigint; inexact: boolean; up: boolean; overflow: boolean } {
  const sign = neg ? 0x8000 : 0;
  const bl = (v: bigint): number => v.toString(2).length;
  let k = bl(num) - bl(den); // 2^k <= num/den < 2^(k+1) after the adjustment
  if ((k >= 0 ? num : num << BigInt(-k)) < (k >= 0 ? den << BigInt(k) : den)) k--;
  const e = k + sc;
  let lsb = Math.max(e, -16382) - (prec - 1);
  const sh = sc - lsb;
  const N = sh >= 0 ? num << BigInt(sh) : num;
  const D = sh >= 0 ? den : den << BigInt(-sh);
  let Q = N / D;
  const R = N - Q * D;
  const inexact = R !== 0n;
  let up = false;
  if (inexact) {
    if (rc === 0) up = 2n * R > D || (2n * R === D && (Q & 1n) === 1n);
    else if (rc === 1) up = neg;
    else if (rc === 2) up = !neg;
  }
  if (up) Q += 1n;
  if (Q === 1n << BigInt(prec)) {
    Q >>= 1n;
    lsb++;
  }
  const top = Q === 0n ? 0 : bl(Q) - 1 + lsb;
  if (Q !== 0n && top > 16383) {
    const toInf = rc === 0 || (rc === 2 && !neg) || (rc === 1 && neg);
    const max = ((1n << BigInt(prec)) - 1n) << BigInt(64 - prec);
    return toInf
      ? { se: sign | 0x7fff, m: 1n << 63n, inexact: true, up: true, overflow: true }
      : { se: sign | 0x7ffe, m: max, inexact: true, up: false, overflow: true };
  }
  if (Q === 0n) return { se: sign, m: 0n, inexact, up, overflow: false };
  if (top >= -16382)
    return { se: sign | (top + 16383), m: Q << BigInt(63 - (top - lsb)), inexact, up, overflow: false };
  return { se: sign, m: Q << BigInt(lsb + 16445), inexact, up, overflow: false };
}

interface X80 {
  se: number;
  m: bigint;
}

/** value = M * 2^E of a finite 80-bit operand (denormals valued with exponent 1). */
function parts(x: X80): { neg: boolean; M: bigint; E: number } {
  return { neg: (x.se & 0x8000) !== 0, M: x.m, E: Math.max(x.se & 0x7fff, 1) - 16383 - 63 };
}

function isqrtBig(v: bigint): bigint {
  if (v < 2n) return v;
  let x = BigInt(Math.floor(Math.sqrt(Number(v))));
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x && x * x <= v && (x + 1n) * (x + 1n) > v) return x;
    x = y;
  }
}

/** Oracle for op (0 add, 1 mul, 4 a-b, 6 a/b, 8 sqrt a) on finite nonzero operands. */
function oracle(op: number, a: X80, b: X80, prec: number, rc: number): ReturnType<typeof roundRat> {
  const A = parts(a);
  const B = parts(b);
  switch (op) {
    case 1:
      return roundRat(A.neg !== B.neg, A.M * B.M, 1n, A.E + B.E, prec, rc);
    case 6:
      return roundRat(A.neg !== B.neg, A.M, B.M, A.E - B.E, prec, rc);
    case 8: {
      let M = A.M;
      let E = A.E;
      if (E & 1) {
        M <<= 1n;
        E--;
      }
      const X = M << 140n;
      const r = isqrtBig(X);
      return r * r === X
        ? roundRat(false, r, 1n, E / 2 - 70, prec, rc)
        : roundRat(false, 2n * r + 1n, 2n, E / 2 - 70, prec, rc);
    }
    default: {
      const bn = op === 4 ? !B.neg : B.neg;
      const e = Math.min(A.E, B.E);
      const S = (A.neg ? -1n : 1n) * (A.M << BigInt(A.E - e)) + (bn ? -1n : 1n) * (B.M << BigInt(B.E - e));
      if (S === 0n) return { se: rc === 1 ? 0x8000 : 0, m: 0n, inexact: false, up: false, overflow: false };
      return roundRat(S < 0n, S < 0n ? -S : S, 1n, e, prec, rc);
    }
  }
}

const x80 = (se: number, m: bigint): X80 => ({ se, m });
const hex80 = (x: X80): string =>
  `${x.se.toString(16).padStart(4, '0')}:${x.m.toString(16).padStart(16, '0')}`;

/** Random finite nonzero 80-bit operands over the whole range (denormals and near-overflow too). */
const arbX80 = fc
  .tuple(
    fc.boolean(),
    fc.integer({ min: 0, max: 9 }),
    fc.integer({ min: -4000, max: 4000 }),
    fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
    fc.integer({ min: 0, max: 63 }),
  )
  .map(([neg, mode, de, low, cut]) => {
    let e: number;
    let m = ((1n << 63n) | low) & ~((1n << BigInt(cut)) - 1n) & ((1n << 64n) - 1n);
    m |= 1n << 63n;
    if (mode <= 4) e = 16383 + (de % 70);
    else if (mode <= 6) e = 16383 + de;
    else if (mode === 7) e = 32766 - (Math.abs(de) % 40);
    else if (mode === 8) e = 1 + (Math.abs(de) % 40);
    else {
      e = 0;
      m >>= BigInt(1 + (Math.abs(de) % 63));
      if (m === 0n) m = 1n;
    }
    return x80((neg ? 0x8000 : 0) | e, m);
  });

function runOp(op: number, a: X80, b: X80, cw: number): { r: X80; sw: number } {
  const r = new Rig();
  r.fldcw(cw);
  r.fldt(b.se, b.m);
  r.fldt(a.se, a.m);
  r.fnclex();
  switch (op) {
    case 0:
      r.x(0xd8, 0xc1);
      break;
    case 1:
      r.x(0xd8, 0xc9);
      break;
    case 4:
      r.x(0xd8, 0xe1);
      break;
    case 6:
      r.x(0xd8, 0xf1);
      break;
    default:
      r.x(0xd9, 0xfa);
  }
  const sw = r.sw();
  const [se, m] = r.fstpt();
  return { r: x80(se, m), sw };
}

describe('exact extended arithmetic', () => {
  it('matches an independent BigInt rational oracle in every PC and RC (+ - * / sqrt)', () => {
    fc.assert(
      fc.property(
        arbX80,
        arbX80,
        fc.constantFrom(0, 1, 4, 6, 8),
        fc.constantFrom(0x000, 0x200, 0x300),
        fc.integer({ min: 0, max: 3 }),
        (a, b, op, pc, rc) => {
          if (op === 8) a = x80(a.se & 0x7fff, a.m);
          const prec = pc === 0 ? 24 : pc === 0x200 ? 53 : 64;
          const { r, sw } = runOp(op, a, b, 0x7f | pc | (rc << 10));
          const want = oracle(op, a, b, prec, rc);
          const what = `op ${op} pc ${prec} rc ${rc} ${hex80(a)} ${hex80(b)}`;
          expect(hex80(r), what).toBe(hex80(x80(want.se, want.m)));
          expect((sw & PE) !== 0, what).toBe(want.inexact);
          if (!want.overflow) expect((sw & C1) !== 0, what).toBe(want.up);
          expect((sw & OE) !== 0, what).toBe(want.overflow);
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('rounds integers beyond 2^53 to 64 bits (QEMU-checked bit patterns)', () => {
    const big = 0x4000000000000001n;
    const two = (modrm: number, op = 0xde): [number, bigint] => {
      t.fninit();
      t.fild64(big);
      t.fild64(3n);
      t.x(op, modrm);
      return t.fstpt();
    };
    expect(two(0xc9)).toEqual([0x403e, 0xc000000000000003n]); // fmulp
    expect(two(0xc1)).toEqual([0x403d, 0x8000000000000008n]); // faddp: 2^62 + 4
    expect(two(0xf9)).toEqual([0x403b, 0xaaaaaaaaaaaaaaadn]); // fdivp st1,st0: (2^62+1)/3
    expect(two(0xf1)).toEqual([0x3fc2, 0xbffffffffffffffdn]); // fdivrp st1,st0: 3/(2^62+1)
    t.fninit();
    t.fild64(big);
    t.x(0xd9, 0xfa); // fsqrt(2^62 + 1)
    expect(t.sw() & (PE | C1)).toBe(PE | C1); // rounded up
    expect(t.fstpt()).toEqual([0x401e, 0x8000000000000001n]); // 2^31 (1 + 2^-63 - ...)
    t.fninit();
    t.fld1();
    t.fild16(3);
    t.x(0xde, 0xf9); // 1/3 rounds up at 64 bits (C1)
    expect(t.sw() & (PE | C1)).toBe(PE | C1);
    expect(t.fstpt()).toEqual([0x3ffd, 0xaaaaaaaaaaaaaaabn]);
    // 30! needs 108 bits: the 64-bit product differs from the 53-bit one.
    t.fninit();
    t.fld1();
    for (let i = 2; i <= 30; i++) {
      t.fild16(i);
      t.x(0xde, 0xc9);
    }
    expect(t.fstpt()).toEqual([0x406a, 0xd13f6370f96865e0n]); // printf: 265252859812191058647452510846976 (qemu)
  });

  it('keeps the extended exponent range (QEMU-checked bit patterns)', () => {
    const e4000: [number, bigint] = [0x73e6, 0xd1ba8323fe558c61n]; // 1e4000L
    const e3999: [number, bigint] = [0x73e3, 0xa7c868e99844704en];
    const em3000: [number, bigint] = [0x1911, 0x94a4cf2019d7ba15n];
    t.fldt(...e4000);
    t.fldt(...e3999);
    t.x(0xde, 0xc1);
    expect(t.fstpt()).toEqual([0x73e6, 0xe6b39041315e1a6bn]);
    t.fldt(...e4000);
    t.fldt(...em3000);
    t.x(0xde, 0xc9);
    expect(t.fstpt()).toEqual([0x4cf8, 0xf38db1f9dd3dac05n]);
    t.fnclex();
    t.fldt(...e4000);
    t.fldt(...em3000);
    t.x(0xde, 0xf9); // 1e4000 / 1e-3000 overflows the extended range too
    expect(t.fstpt()).toEqual([0x7fff, 1n << 63n]);
    expect(t.sw() & (OE | PE)).toBe(OE | PE);
    t.fnclex();
    // 1e300 * 1e300 with PC = 53: no overflow, 53-bit significand, extended exponent.
    t.fldcw(0x027f);
    t.fldd(1e300);
    t.x(0xd8, 0xc8); // fmul st0, st0
    expect(t.fstpt()).toEqual([0x47c8, 0x8eb39714297f0000n]);
    expect(t.sw() & (OE | UE)).toBe(0);
    t.fldcw(0x037f);
    // x*x/x at the double range's edge is x again (the intermediate is an extended number).
    t.fldd(1e300);
    t.fldd(1e300);
    t.x(0xd8, 0xc8);
    t.fldd(1e300);
    t.x(0xde, 0xf9);
    expect(t.fstpd()).toBe(1e300);
    // Extended denormal results (QEMU: 1e-4940L * 3, / 7).
    const den: [number, bigint] = [0, 0x0000000663278e62n];
    t.fldt(...den);
    t.fild16(3);
    t.x(0xde, 0xc9);
    expect(t.fstpt()).toEqual([0, 0x000000132976ab26n]);
    t.fnclex();
    t.fldt(...den);
    t.fild16(7);
    t.x(0xde, 0xf9);
    expect(t.fstpt()).toEqual([0, 0x00000000e997efc5n]);
    expect(t.sw() & (UE | PE)).toBe(UE | PE);
    // Overflow at the extended range, per RC.
    for (const [rc, want] of [
      [0, [0x7fff, 1n << 63n]],
      [3, [0x7ffe, 0xffffffffffffffffn]],
    ] as const) {
      t.setRC(rc);
      t.fldt(0x7ffe, 0xc000000000000000n);
      t.x(0xd8, 0xc0); // fadd st0, st0
      expect(t.fstpt()).toEqual(want);
    }
  });

  it('uses the double fast path only where it is exact, and flags like the slow one', () => {
    // 0.1 + 0.2 with PC = 64 is not the double sum (0.30000000000000004) before the store.
    t.fldd(0.1);
    t.fldd(0.2);
    t.x(0xde, 0xc1);
    t.x(0xd9, 0xc0);
    const sum = oracle(0, x80(0x3ffb, 0xccccccccccccd000n), x80(0x3ffc, 0xccccccccccccd000n), 64, 0);
    expect(sum.inexact).toBe(false); // the sum of two doubles this close fits in 64 bits
    expect(t.fstpt()).toEqual([sum.se, sum.m]);
    expect(t.fstpd()).toBe(0.30000000000000004);
    // PC = 53: the double arithmetic itself, with PE and C1.
    t.fldcw(0x027f);
    t.fnclex();
    t.fldd(0.1);
    t.fldd(0.2);
    t.x(0xde, 0xc1);
    expect(t.sw() & (PE | C1)).toBe(PE | C1);
    expect(t.fstpd()).toBe(0.1 + 0.2);
    t.fnclex();
    t.fldd(1.5);
    t.fldd(2.25);
    t.x(0xde, 0xc9); // exact
    expect(t.sw() & (PE | C1)).toBe(0);
    expect(t.fstpd()).toBe(3.375);
  });
});

describe('transcendental instructions (QEMU bit patterns)', () => {
  const one = (se: number, m: bigint, modrm: number, rc = 0): [number, bigint] => {
    const r = new Rig();
    r.setRC(rc);
    r.fldt(se, m);
    r.x(0xd9, modrm);
    return r.fstpt();
  };
  const two = (x: [number, bigint], y: [number, bigint], modrm: number, rc = 0): [number, bigint] => {
    const r = new Rig();
    r.setRC(rc);
    r.fldt(...y);
    r.fldt(...x);
    r.x(0xd9, modrm);
    return r.fstpt();
  };

  it('F2XM1', () => {
    // (the last argument is RC; QEMU rounds the final result per RC)
    expect(one(0x3ffd, 0xa3a03fe000000000n, 0xf0, 3)).toEqual([0x3ffc, 0xfdeb8f2c4e611f0en]);
    expect(one(0x3ff0, 0x91e69a347dd2966bn, 0xf0, 0)).toEqual([0x3fef, 0xca438dbddbc183b8n]);
    expect(one(0xbfef, 0xa742800000000000n, 0xf0, 3)).toEqual([0xbfee, 0xe7dea289c29b1e88n]);
    expect(one(0x3fd9, 0x9ab7a90d79b5d419n, 0xf0, 3)).toEqual([0x3fd8, 0xd67be04fc01889e5n]);
    expect(one(0xbfff, 1n << 63n, 0xf0)).toEqual([0xbffe, 1n << 63n]); // 2^-1 - 1
  });

  it('FYL2X, FYL2XP1, FPATAN', () => {
    expect(two([0x3fd3, 0xafef107800000000n], [0xc013, 0xf1dd0913271687a0n], 0xf1, 3)).toEqual([
      0x4019,
      0xa48c01fe9e41676dn,
    ]);
    expect(two([0x3fff, 0xa8e80ff800000000n], [0xbfc8, 0xb494d6880418a99en], 0xf1, 3)).toEqual([
      0xbfc7,
      0x907e8ed85b69ba31n,
    ]);
    expect(two([0x3ffb, 0xbdce5e9333332f84n], [0xc013, 0xf1dd0913271687a0n], 0xf9, 3)).toEqual([
      0xc010,
      0xf76a52e84ace9584n,
    ]);
    expect(two([0xbfd3, 0xafef107800000000n], [0xc013, 0xf1dd0913271687a0n], 0xf3, 3)).toEqual([
      0xbfff,
      0xc90fdaa22168c235n,
    ]);
    expect(two([0x3ffd, 0xa3a03fe000000000n], [0xbfc8, 0xb494d6880418a99en], 0xf3, 3)).toEqual([
      0xbfca,
      0x8d4385363a91c732n,
    ]);
    expect(two([0x4020, 0xa73c000000000000n], [0x4015, 0xa62a15662b298944n], 0xf3, 3)).toEqual([
      0x3ff3,
      0xfe5cb0035b0977c0n,
    ]);
    // A denormal y (QEMU normalises it twice, so its exponent is one higher than a CPU's).
    expect(two([0x3feb, 0xc54002f966119d30n], [0x0000, 0x5865b63856000000n], 0xf1)).toEqual([
      0x8005,
      0xd6197f0b3144e072n,
    ]);
  });

  it('FSIN, FCOS, FPTAN are correctly rounded doubles of the double-rounded operand', () => {
    const d = (bits: bigint, modrm: number): bigint => {
      const r = new Rig();
      r.flddBits(bits);
      r.x(0xd9, modrm);
      if (modrm === 0xf2) r.x(0xdd, 0xd8); // fptan: drop the 1
      return r.fstpdBits();
    };
    // Exact values from 300-bit mpmath; V8's Math.sin/cos/tan are 1 ulp off on some of these.
    expect(d(0x400a2caa205acbd1n, 0xfe)).toBe(0xbfc09ee0644124e7n);
    expect(d(0xc050cd173054bfe7n, 0xff)).toBe(0xbfd5533eb9d2979bn);
    expect(d(0x3ff493aaac70ed05n, 0xf2)).toBe(0x400b54f553d4ddddn);
    expect(d(0x414744c86ad0ea53n, 0xf2)).toBe(0xbffa245308a07491n);
    expect(d(bitsOf(1), 0xfe)).toBe(bitsOf(0.8414709848078965));
    expect(d(bitsOf(1e-300), 0xfe)).toBe(bitsOf(1e-300));
    expect(d(bitsOf(1e-300), 0xff)).toBe(bitsOf(1));
    // The operand is rounded to a double per RC first (QEMU).
    const r = new Rig();
    r.fldt(0x3fff, 0x8000000000000001n);
    r.x(0xd9, 0xfe);
    expect(r.fstpd()).toBe(Math.sin(1));
  });
});

// #13: an 8-aligned m64 load or store goes through FpuHost.readF64/writeF64 (a double straight from
// or to memory) when the value is a normal double or a zero; anything else, and any operand that is
// not 8-aligned, takes the word path that predates it. The word path is the oracle here: both must
// leave the same registers (as m80 images), status word and stored bits for every class of value.
describe('m64 operands: the direct double path equals the word path (#13)', () => {
  const patterns: bigint[] = [
    0x0000000000000000n, // +0
    0x8000000000000000n, // -0
    0x0000000000000001n, // smallest denormal
    0x800fffffffffffffn, // largest denormal, negative
    0x0010000000000000n, // smallest normal
    0x0340000000000000n, // exponent field 52 (below normal64's range)
    0x0350000000000001n, // exponent field 53
    0x3ff0000000000000n, // 1
    0xc00921fb54442d18n, // -pi
    0x7fefffffffffffffn, // largest double
    0x7ff0000000000000n, // +inf
    0xfff0000000000000n, // -inf
    0x7ff8000000000001n, // quiet NaN with a payload
    0x7ff0000000000001n, // signalling NaN
    0xfff4000000000000n, // signalling NaN, negative
  ];
  const LOAD = [0x1000, 0x1004]; // direct, words
  const STORE = [0x1800, 0x180c];
  interface Seen {
    sw: number;
    m64: bigint;
    m80: [number, bigint];
  }
  /** fld m64 at `at`, fst m64 to `to`, then the register as m80; or fld1; fadd m64 the same way. */
  const run = (bits: bigint, at: number, to: number, add: boolean): Seen => {
    const r = new Rig();
    r.host.dv.setBigUint64(at, bits, true);
    if (add) {
      r.fld1();
      r.m(0xdc, 0, at);
    } else r.m(0xdd, 0, at);
    r.m(0xdd, 2, to);
    const m64 = r.host.dv.getBigUint64(to, true);
    const sw = r.sw();
    return { sw, m64, m80: r.fstpt() };
  };
  it('gives the same registers, flags and stored bits for every class of double', () => {
    for (const bits of patterns)
      for (const add of [false, true]) {
        const words = run(bits, LOAD[1]!, STORE[1]!, add);
        for (const at of LOAD)
          for (const to of STORE)
            expect(run(bits, at, to, add), `${bits.toString(16)} ${add}`).toEqual(words);
      }
  });
  it('stores through the direct path only what a word store would write', () => {
    // A plain double register stored with fstp m64 at an aligned address: the 8 bytes and nothing
    // around them change.
    const r = new Rig();
    r.host.mem.fill(0xa5, 0x17f8, 0x1810);
    r.fldd(-2.5);
    r.m(0xdd, 3, 0x1800);
    expect(r.host.dv.getFloat64(0x1800, true)).toBe(-2.5);
    expect([...r.host.mem.subarray(0x17f8, 0x1800), ...r.host.mem.subarray(0x1808, 0x1810)]).toEqual(
      new Array(16).fill(0xa5),
    );
  });
});
