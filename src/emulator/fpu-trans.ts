// x87 transcendental and remainder arithmetic on BigInt words: F2XM1, FYL2X, FYL2XP1, FPATAN (QEMU's
// algorithms step for step, so results agree bit for bit), correctly rounded double sin/cos/tan, and the
// exact FPREM/FPREM1 remainder. Operands and results use fpu-ext.ts's slots.

import {
  CMP_EQ,
  CMP_GT,
  CMP_LT,
  coreAdd,
  coreCompare,
  coreDiv,
  coreMul,
  DE,
  f64,
  HI,
  IE,
  intToExt,
  invalidResult,
  K_BAD,
  K_QNAN,
  K_SNAN,
  LO,
  M32n,
  nanKind,
  oExp,
  oHi,
  oLo,
  oNeg,
  packInf,
  packZero,
  PE,
  pow2,
  RC_NEAREST,
  roundPack3,
  rr,
  S,
  u32,
  unpack,
  ZE,
} from './fpu-ext.js';

// ---- F2XM1, FYL2X, FYL2XP1, FPATAN as QEMU computes them ----
//
// QEMU (target/i386/tcg/fpu_helper.c since 5.2) evaluates these with table lookups, short
// polynomials in extended precision and 128-bit fixed-point steps. The code below follows the
// same sequence of steps (with the same constants, the same estimated divisions, the same
// truncations and jamming), on BigInt words, so the final rounding sees the same bits.

export const M64 = 0xffffffffffffffffn;
export const B63 = 0x8000000000000000n;

/** An extended value: sign|exponent and the 64-bit significand. */
export interface Fx {
  s: number;
  m: bigint;
}

export function fx(s: number, m: bigint): Fx {
  return { s, m };
}

export const FX_ONE = fx(0x3fff, B63);

export function fxExp(a: Fx): number {
  return a.s & 0x7fff;
}

export function fxSign(a: Fx): number {
  return a.s >>> 15;
}

export function fxIsZero(a: Fx): boolean {
  return (a.s & 0x7fff) === 0 && a.m === 0n;
}

export function fxLoad(i: number, a: Fx): void {
  rr[0] = a.s;
  rr[1] = Number(a.m >> 32n);
  rr[2] = Number(a.m & M32n);
  unpack(i);
}

export function fxResult(): Fx {
  return fx(rr[0]!, (BigInt(rr[1]!) << 32n) | BigInt(rr[2]!));
}

export function fxMul(a: Fx, b: Fx, prec = 64, rc = RC_NEAREST): Fx {
  fxLoad(0, a);
  fxLoad(1, b);
  coreMul(prec, rc);
  return fxResult();
}

export function fxAdd(a: Fx, b: Fx, sub = false): Fx {
  fxLoad(0, a);
  fxLoad(1, b);
  coreAdd(sub, 64, RC_NEAREST);
  return fxResult();
}

export function fxCompare(a: Fx, b: Fx): number {
  fxLoad(0, a);
  fxLoad(1, b);
  return coreCompare(false);
}

export function clz64(v: bigint): number {
  const h = Number(v >> 32n);
  return h !== 0 ? Math.clz32(h) : 32 + Math.clz32(Number(v & M32n));
}

export function big64(h: number, l: number): bigint {
  return (BigInt(h) << 32n) | BigInt(l);
}

/** softfloat's normalizeRoundAndPackFloatx80 at 64-bit precision: into rr. */
export function nrp(sign: number, exp: number, sig0: bigint, sig1: bigint, rc: number): void {
  if (sig0 === 0n) {
    sig0 = sig1;
    sig1 = 0n;
    exp -= 64;
  }
  const sh = clz64(sig0);
  if (sh !== 0) {
    const v = ((sig0 << 64n) | sig1) << BigInt(sh);
    sig0 = (v >> 64n) & M64;
    sig1 = v & M64;
    exp -= sh;
  }
  const x = Number(sig1 >> 32n) | ((sig1 & M32n) !== 0n ? 1 : 0);
  roundPack3(sign, exp - 16383, Number(sig0 >> 32n), Number(sig0 & M32n), x >>> 0, 64, rc);
}

export function nrpFx(sign: number, exp: number, sig0: bigint, sig1: bigint): Fx {
  nrp(sign, exp, sig0, sig1, RC_NEAREST);
  return fxResult();
}

/** floatx80_scalbn at 64-bit precision (finite operands). */
export function fxScalbn(a: Fx, n: number, rc: number): Fx {
  let e = fxExp(a);
  if (e === 0x7fff) return a;
  if (e === 0) {
    if (a.m === 0n) return a;
    e = 1;
  }
  if (n > 0x10000) n = 0x10000;
  else if (n < -0x10000) n = -0x10000;
  nrp(fxSign(a), e + n, a.m, 0n, rc);
  return fxResult();
}

/** floatx80_to_int32 with round-to-nearest-even, for small finite values. */
export function fxToInt32(a: Fx): number {
  const sh = 16383 + 63 - fxExp(a);
  if (sh >= 66) return 0;
  let q: number;
  if (sh <= 0) q = 0x7fffffff;
  else {
    const S = BigInt(sh);
    let qq = a.m >> S;
    const rem = a.m & ((1n << S) - 1n);
    const half = 1n << (S - 1n);
    if (rem > half || (rem === half && (qq & 1n) !== 0n)) qq += 1n;
    q = qq > 0x7fffffffn ? 0x7fffffff : Number(qq);
  }
  return fxSign(a) ? -q : q;
}

export function add128(a0: bigint, a1: bigint, b0: bigint, b1: bigint): [bigint, bigint] {
  const z1 = (a1 + b1) & M64;
  return [(a0 + b0 + (z1 < a1 ? 1n : 0n)) & M64, z1];
}

export function sub128(a0: bigint, a1: bigint, b0: bigint, b1: bigint): [bigint, bigint] {
  return [(a0 - b0 - (a1 < b1 ? 1n : 0n)) & M64, (a1 - b1) & M64];
}

export function shr128(a0: bigint, a1: bigint, count: number): [bigint, bigint] {
  if (count >= 128) return [0n, 0n];
  const v = ((a0 << 64n) | a1) >> BigInt(count);
  return [v >> 64n, v & M64];
}

export function shl128(a0: bigint, a1: bigint, count: number): [bigint, bigint] {
  const v = (((a0 << 64n) | a1) << BigInt(count)) & ((1n << 128n) - 1n);
  return [v >> 64n, v & M64];
}

/** softfloat's shift128RightJamming. */
export function shr128Jam(a0: bigint, a1: bigint, count: number): [bigint, bigint] {
  if (count <= 0) return [a0, a1];
  const v = (a0 << 64n) | a1;
  let z: bigint;
  if (count >= 128) z = v !== 0n ? 1n : 0n;
  else {
    const C = BigInt(count);
    z = v >> C;
    if ((v & ((1n << C) - 1n)) !== 0n) z |= 1n;
  }
  return [z >> 64n, z & M64];
}

export function mul64To128(a: bigint, b: bigint): [bigint, bigint] {
  const p = a * b;
  return [p >> 64n, p & M64];
}

/** The high 128 bits of the 192-bit product (softfloat's mul128By64To192 without the low word). */
export function mul128By64(a0: bigint, a1: bigint, b: bigint): [bigint, bigint, bigint] {
  const p = ((a0 << 64n) | a1) * b;
  return [p >> 128n, (p >> 64n) & M64, p & M64];
}

export function mul128To256(
  a0: bigint,
  a1: bigint,
  b0: bigint,
  b1: bigint,
): [bigint, bigint, bigint, bigint] {
  const p = ((a0 << 64n) | a1) * ((b0 << 64n) | b1);
  return [p >> 192n, (p >> 128n) & M64, (p >> 64n) & M64, p & M64];
}

/** softfloat's estimateDiv128To64 (between the truncated quotient and 2 above it). */
export function estimateDiv128To64(a0: bigint, a1: bigint, b: bigint): bigint {
  if (b <= a0) return M64;
  const b0 = b >> 32n;
  let z = b0 << 32n <= a0 ? 0xffffffff00000000n : (a0 / b0) << 32n;
  const [t0, t1] = mul64To128(b, z);
  let [r0, r1] = sub128(a0, a1, t0, t1);
  while (r0 >= B63) {
    z = (z - 0x100000000n) & M64;
    [r0, r1] = add128(r0, r1, b0, (b << 32n) & M64);
  }
  r0 = ((r0 << 32n) | (r1 >> 32n)) & M64;
  z |= b0 << 32n <= r0 ? 0xffffffffn : r0 / b0;
  return z;
}

/**
 * (a0:a1) / (d0:d1) for normalised significands as a 128-bit quotient, softfloat's estimate-and-
 * correct steps (QEMU's fyl2x and fpatan helpers): [exponent increment (0 or 1), q0, q1].
 */
export function divSig128(a0: bigint, a1: bigint, d0: bigint, d1: bigint): [number, bigint, bigint] {
  let inc = 0;
  if (d0 <= a0) {
    [a0, a1] = shr128(a0, a1, 1);
    inc = 1;
  }
  let q0 = estimateDiv128To64(a0, a1, d0);
  const [m0, m1, m2] = mul128By64(d0, d1, q0);
  // The remainder (a0:a1:0) - q0 * d, made non-negative by stepping q0 down.
  let rem = ((a0 << 128n) | (a1 << 64n)) - ((m0 << 128n) | (m1 << 64n) | m2);
  const d = (d0 << 64n) | d1;
  while (rem < 0n) {
    q0 = (q0 - 1n) & M64;
    rem += d;
  }
  return [inc, q0, estimateDiv128To64((rem >> 64n) & M64, rem & M64, d0)];
}

/**
 * a + b (a - b when `sub`) of two 128-bit significands with exponents ea, eb, each first shifted
 * right (jamming) to the exponent max(ea, eb) + 1, which leaves room for the carry: [exp, r0, r1].
 */
function alignedAddSub(
  ea: number,
  a0: bigint,
  a1: bigint,
  eb: number,
  b0: bigint,
  b1: bigint,
  sub: boolean,
): [number, bigint, bigint] {
  const e = (ea > eb ? ea : eb) + 1;
  [a0, a1] = shr128Jam(a0, a1, e - ea);
  [b0, b1] = shr128Jam(b0, b1, e - eb);
  const [r0, r1] = sub ? sub128(a0, a1, b0, b1) : add128(a0, a1, b0, b1);
  return [e, r0, r1];
}

export function normSub(exp: number, sig: bigint): [number, bigint] {
  if (exp !== 0 || sig === 0n) return [exp, sig];
  const sh = clz64(sig);
  return [1 - sh, sig << BigInt(sh)];
}

/** Quietened copy of the NaN a (IE when it was signalling), into rr. */
export function quietNaN(s: number, h: number, l: number): void {
  if (!(h & 0x40000000)) S.xf |= IE;
  rr[0] = s;
  rr[1] = (h | 0x40000000) >>> 0;
  rr[2] = l;
}

export function setR(a: Fx): void {
  rr[0] = a.s;
  rr[1] = Number(a.m >> 32n);
  rr[2] = Number(a.m & M32n);
}

export const LN2_HI = 0xb17217f7d1cf79abn;
export const LN2_LO = 0xc9e3b39803f2f6afn;
export const LOG2E_HI = 0xb8aa3b295c17f0bbn;
export const LOG2E_LO = 0xbe87fed0691d3e89n;
export const PI_HI = 0xc90fdaa22168c234n;
export const PI_LO = 0xc4c6628b80dc1cd1n;
export const PI34_HI = 0x96cbe3f9990e91a7n;
export const PI34_LO = 0x9394c9e8a0a5159dn;

/** Coefficients of (2^y - 1)/y on [-1/64, 1/64]: c0, c0 low part, c1..c7. */
export const F2XM1_C0 = fx(0x3ffe, 0xb17217f7d1cf79acn);
export const F2XM1_C0_LOW = fx(0xbfbc, 0xd87edabf495b3762n);
export const F2XM1_C: Fx[] = [
  fx(0x3ffc, 0xf5fdeffc162c7543n),
  fx(0x3ffa, 0xe35846b82505fcc7n),
  fx(0x3ff8, 0x9d955b7dd273b899n),
  fx(0x3ff5, 0xaec3ff3c4ef4ac0cn),
  fx(0x3ff2, 0xa184897c3a7f0de9n),
  fx(0x3fee, 0xffe634d0ec30d504n),
  fx(0x3feb, 0xb160111d2db515e4n),
];

/** For n = 0..64: t close to n/32 - 1, 2^t and 2^t - 1 (each [exponent, significand]). */
export const F2XM1_TABLE: [number, bigint, number, bigint, number, bigint][] = [
  [0xbfff, 0x8000000000000000n, 0x3ffe, 0x8000000000000000n, 0xbffe, 0x8000000000000000n],
  [0xbffe, 0xf800000000002e7en, 0x3ffe, 0x82cd8698ac2b9160n, 0xbffd, 0xfa64f2cea7a8dd40n],
  [0xbffe, 0xefffffffffffe960n, 0x3ffe, 0x85aac367cc488345n, 0xbffd, 0xf4aa7930676ef976n],
  [0xbffe, 0xe800000000006f10n, 0x3ffe, 0x88980e8092da5c14n, 0xbffd, 0xeecfe2feda4b47d8n],
  [0xbffe, 0xe000000000008a45n, 0x3ffe, 0x8b95c1e3ea8ba2a5n, 0xbffd, 0xe8d47c382ae8bab6n],
  [0xbffe, 0xd7ffffffffff8a9en, 0x3ffe, 0x8ea4398b45cd8116n, 0xbffd, 0xe2b78ce97464fdd4n],
  [0xbffe, 0xd0000000000019a0n, 0x3ffe, 0x91c3d373ab11b919n, 0xbffd, 0xdc785918a9dc8dcen],
  [0xbffe, 0xc7ffffffffff14dfn, 0x3ffe, 0x94f4efa8fef76836n, 0xbffd, 0xd61620ae02112f94n],
  [0xbffe, 0xc000000000006530n, 0x3ffe, 0x9837f0518db87fbbn, 0xbffd, 0xcf901f5ce48f008an],
  [0xbffe, 0xb7ffffffffff1723n, 0x3ffe, 0x9b8d39b9d54eb74cn, 0xbffd, 0xc8e58c8c55629168n],
  [0xbffe, 0xb00000000000b5e1n, 0x3ffe, 0x9ef5326091a0c366n, 0xbffd, 0xc2159b3edcbe7934n],
  [0xbffe, 0xa800000000006f8an, 0x3ffe, 0xa27043030c49370an, 0xbffd, 0xbb1f79f9e76d91ecn],
  [0xbffe, 0x9fffffffffff816an, 0x3ffe, 0xa5fed6a9b15171cfn, 0xbffd, 0xb40252ac9d5d1c62n],
  [0xbffe, 0x97ffffffffffb621n, 0x3ffe, 0xa9a15ab4ea7c30e6n, 0xbffd, 0xacbd4a962b079e34n],
  [0xbffe, 0x8fffffffffff162bn, 0x3ffe, 0xad583eea42a1b886n, 0xbffd, 0xa54f822b7abc8ef4n],
  [0xbffe, 0x87ffffffffff4d34n, 0x3ffe, 0xb123f581d2ac7b51n, 0xbffd, 0x9db814fc5aa7095en],
  [0xbffe, 0x800000000000227dn, 0x3ffe, 0xb504f333f9de539dn, 0xbffd, 0x95f619980c4358c6n],
  [0xbffd, 0xefffffffffff3978n, 0x3ffe, 0xb8fbaf4762fbd0a1n, 0xbffd, 0x8e08a1713a085eben],
  [0xbffd, 0xe00000000000df81n, 0x3ffe, 0xbd08a39f580bfd8cn, 0xbffd, 0x85eeb8c14fe804e8n],
  [0xbffd, 0xd00000000000bccfn, 0x3ffe, 0xc12c4cca667062f6n, 0xbffc, 0xfb4eccd6663e7428n],
  [0xbffd, 0xc00000000000eff0n, 0x3ffe, 0xc5672a1155069aben, 0xbffc, 0xea6357baabe59508n],
  [0xbffd, 0xb000000000000fe6n, 0x3ffe, 0xc9b9bd866e2f234bn, 0xbffc, 0xd91909e6474372d4n],
  [0xbffd, 0x9fffffffffff2172n, 0x3ffe, 0xce248c151f84bf00n, 0xbffc, 0xc76dcfab81ed0400n],
  [0xbffd, 0x8fffffffffffafffn, 0x3ffe, 0xd2a81d91f12afb2bn, 0xbffc, 0xb55f89b83b541354n],
  [0xbffc, 0xffffffffffff81a3n, 0x3ffe, 0xd744fccad69d7d5en, 0xbffc, 0xa2ec0cd4a58a0a88n],
  [0xbffc, 0xdfffffffffff1568n, 0x3ffe, 0xdbfbb797daf25a44n, 0xbffc, 0x901121a0943696f0n],
  [0xbffc, 0xbfffffffffff68dan, 0x3ffe, 0xe0ccdeec2a94f811n, 0xbffb, 0xf999089eab583f78n],
  [0xbffc, 0x9fffffffffff4690n, 0x3ffe, 0xe5b906e77c83657en, 0xbffb, 0xd237c8c41be4d410n],
  [0xbffb, 0xffffffffffff8aeen, 0x3ffe, 0xeac0c6e7dd24427cn, 0xbffb, 0xa9f9c8c116ddec20n],
  [0xbffb, 0xbfffffffffff2d18n, 0x3ffe, 0xefe4b99bdcdb06ebn, 0xbffb, 0x80da33211927c8a8n],
  [0xbffa, 0xffffffffffff8ccbn, 0x3ffe, 0xf5257d152486d0f4n, 0xbffa, 0xada82eadb792f0c0n],
  [0xbff9, 0xffffffffffff11fen, 0x3ffe, 0xfa83b2db722a0846n, 0xbff9, 0xaf89a491babef740n],
  [0x0000, 0x0000000000000000n, 0x3fff, 0x8000000000000000n, 0x0000, 0x0000000000000000n],
  [0x3ff9, 0xffffffffffff2680n, 0x3fff, 0x82cd8698ac2b9f6fn, 0x3ff9, 0xb361a62b0ae7dbc0n],
  [0x3ffb, 0x800000000000b500n, 0x3fff, 0x85aac367cc488345n, 0x3ffa, 0xb5586cf9891068a0n],
  [0x3ffb, 0xbfffffffffff4b67n, 0x3fff, 0x88980e8092da7ccen, 0x3ffb, 0x8980e8092da7cce0n],
  [0x3ffb, 0xffffffffffffff57n, 0x3fff, 0x8b95c1e3ea8bd6dfn, 0x3ffb, 0xb95c1e3ea8bd6df0n],
  [0x3ffc, 0x9fffffffffff811fn, 0x3fff, 0x8ea4398b45cd4780n, 0x3ffb, 0xea4398b45cd47800n],
  [0x3ffc, 0xbfffffffffff9980n, 0x3fff, 0x91c3d373ab11b919n, 0x3ffc, 0x8e1e9b9d588dc8c8n],
  [0x3ffc, 0xdffffffffffff631n, 0x3fff, 0x94f4efa8fef70864n, 0x3ffc, 0xa7a77d47f7b84320n],
  [0x3ffc, 0xffffffffffff2499n, 0x3fff, 0x9837f0518db892d4n, 0x3ffc, 0xc1bf828c6dc496a0n],
  [0x3ffd, 0x8fffffffffff80fbn, 0x3fff, 0x9b8d39b9d54e3a79n, 0x3ffc, 0xdc69cdceaa71d3c8n],
  [0x3ffd, 0x9fffffffffffbc23n, 0x3fff, 0x9ef5326091a10313n, 0x3ffc, 0xf7a993048d081898n],
  [0x3ffd, 0xafffffffffff20ecn, 0x3fff, 0xa27043030c49370an, 0x3ffd, 0x89c10c0c3124dc28n],
  [0x3ffd, 0xc00000000000fd2cn, 0x3fff, 0xa5fed6a9b15171cfn, 0x3ffd, 0x97fb5aa6c545c73cn],
  [0x3ffd, 0xd0000000000093ben, 0x3fff, 0xa9a15ab4ea7c30e6n, 0x3ffd, 0xa6856ad3a9f0c398n],
  [0x3ffd, 0xe00000000000c2aen, 0x3fff, 0xad583eea42a17876n, 0x3ffd, 0xb560fba90a85e1d8n],
  [0x3ffd, 0xefffffffffff1e3fn, 0x3fff, 0xb123f581d2abef6cn, 0x3ffd, 0xc48fd6074aafbdb0n],
  [0x3ffd, 0xffffffffffff1c23n, 0x3fff, 0xb504f333f9de2cadn, 0x3ffd, 0xd413cccfe778b2b4n],
  [0x3ffe, 0x8800000000006344n, 0x3fff, 0xb8fbaf4762fbd0a1n, 0x3ffd, 0xe3eebd1d8bef4284n],
  [0x3ffe, 0x9000000000005d67n, 0x3fff, 0xbd08a39f580c668dn, 0x3ffd, 0xf4228e7d60319a34n],
  [0x3ffe, 0x9800000000009127n, 0x3fff, 0xc12c4cca6670e042n, 0x3ffe, 0x82589994cce1c084n],
  [0x3ffe, 0x9fffffffffff06f9n, 0x3fff, 0xc5672a11550655c3n, 0x3ffe, 0x8ace5422aa0cab86n],
  [0x3ffe, 0xa7fffffffffff80dn, 0x3fff, 0xc9b9bd866e2f234bn, 0x3ffe, 0x93737b0cdc5e4696n],
  [0x3ffe, 0xafffffffffff1470n, 0x3fff, 0xce248c151f83fd69n, 0x3ffe, 0x9c49182a3f07fad2n],
  [0x3ffe, 0xb800000000000e0an, 0x3fff, 0xd2a81d91f12aec5cn, 0x3ffe, 0xa5503b23e255d8b8n],
  [0x3ffe, 0xc00000000000b7fan, 0x3fff, 0xd744fccad69dd630n, 0x3ffe, 0xae89f995ad3bac60n],
  [0x3ffe, 0xc800000000003aa6n, 0x3fff, 0xdbfbb797daf25a44n, 0x3ffe, 0xb7f76f2fb5e4b488n],
  [0x3ffe, 0xd00000000000a6aen, 0x3fff, 0xe0ccdeec2a954685n, 0x3ffe, 0xc199bdd8552a8d0an],
  [0x3ffe, 0xd800000000004165n, 0x3fff, 0xe5b906e77c837155n, 0x3ffe, 0xcb720dcef906e2aan],
  [0x3ffe, 0xe00000000000582cn, 0x3fff, 0xeac0c6e7dd24713an, 0x3ffe, 0xd5818dcfba48e274n],
  [0x3ffe, 0xe800000000001a5dn, 0x3fff, 0xefe4b99bdcdb06ebn, 0x3ffe, 0xdfc97337b9b60dd6n],
  [0x3ffe, 0xefffffffffffc1efn, 0x3fff, 0xf5257d152486a2fan, 0x3ffe, 0xea4afa2a490d45f4n],
  [0x3ffe, 0xf800000000001069n, 0x3fff, 0xfa83b2db722a0e5cn, 0x3ffe, 0xf50765b6e4541cb8n],
  [0x3fff, 0x8000000000000000n, 0x4000, 0x8000000000000000n, 0x3fff, 0x8000000000000000n],
];

/** Coefficients of atan(x) (odd powers) on [-1/16, 1/16]: c0..c6. */
export const FPATAN_C: Fx[] = [
  fx(0x3fff, 0x8000000000000000n),
  fx(0xbffd, 0xaaaaaaaaaaaaaa43n),
  fx(0x3ffc, 0xccccccccccbfe4f8n),
  fx(0xbffc, 0x92492491fbab2e66n),
  fx(0x3ffb, 0xe38e372881ea1e0bn),
  fx(0xbffb, 0xba2c0104bbdd0615n),
  fx(0x3ffb, 0x9baf7ebf898b42efn),
];

/** atan(n/8) for n = 0..8 as a high and a low extended part. */
export const FPATAN_TABLE: [number, bigint, number, bigint][] = [
  [0x0000, 0x0000000000000000n, 0x0000, 0x0000000000000000n],
  [0x3ffb, 0xfeadd4d5617b6e33n, 0xbfb9, 0xdda19d8305ddc420n],
  [0x3ffc, 0xfadbafc96406eb15n, 0x3fbb, 0xdb8f3debef442fccn],
  [0x3ffd, 0xb7b0ca0f26f78474n, 0xbfbc, 0xeab9bdba460376fan],
  [0x3ffd, 0xed63382b0dda7b45n, 0x3fbc, 0xdfc88bd978751a06n],
  [0x3ffe, 0x8f005d5ef7f59f9bn, 0x3fbd, 0xb906bc2ccb886e90n],
  [0x3ffe, 0xa4bc7d1934f70924n, 0x3fbb, 0xcd43f9522bed64f8n],
  [0x3ffe, 0xb8053e2bc2319e74n, 0xbfbc, 0xd3496ab7bd6eef0cn],
  [0x3ffe, 0xc90fdaa22168c235n, 0xbfbc, 0xece675d1fc8f8cbcn],
];

/** Coefficients of log2((1+x)/(1-x)) (odd powers): c0, c0 low part, c1..c9. */
export const FYL2X_C0 = fx(0x4000, 0xb8aa3b295c17f0bcn);
export const FYL2X_C0_LOW = fx(0xbfbf, 0x834972fe2d7bab1bn);
export const FYL2X_C: Fx[] = [
  fx(0x3ffe, 0xf6384ee1d01febb8n),
  fx(0x3ffe, 0x93bb62877cdfa2e3n),
  fx(0x3ffd, 0xd30bb153d808f269n),
  fx(0x3ffd, 0xa42589eaf451499en),
  fx(0x3ffd, 0x864d42c0f8f17517n),
  fx(0x3ffc, 0xe3476578adf26272n),
  fx(0x3ffc, 0xc506c5f874e6d80fn),
  fx(0x3ffc, 0xac5cf50cc57d6372n),
  fx(0x3ffc, 0xb1ed0066d971a103n),
];

/** Horner evaluation accum = (...(c[last]*y + c[last-1])*y ... + c[0])*y, as QEMU orders it. */
export function horner(c: Fx[], y: Fx): Fx {
  let acc = fxMul(c[c.length - 1]!, y);
  for (let i = c.length - 2; i >= 0; i--) {
    acc = fxAdd(c[i]!, acc);
    acc = fxMul(acc, y);
  }
  return acc;
}

/** 2^x - 1 of the finite, supported extended value s:h:l (QEMU's helper_f2xm1), into rr. */
export function f2xm1Ext(s: number, h: number, l: number, rc: number): void {
  const sign = s >>> 15;
  let exp = s & 0x7fff;
  let sig = big64(h, l);
  if (exp > 0x3fff || (exp === 0x3fff && sig !== B63)) {
    invalidResult(); // out of range for the instruction
    return;
  }
  if (exp === 0x3fff) {
    // Argument 1 or -1, exact result 1 or -0.5.
    if (sign) {
      rr[0] = 0xbffe;
      rr[1] = 0x80000000;
      rr[2] = 0;
    } else {
      rr[0] = s;
      rr[1] = h;
      rr[2] = l;
    }
    return;
  }
  if (exp < 0x3fb0) {
    if (exp === 0 && sig === 0n) {
      rr[0] = s;
      rr[1] = h;
      rr[2] = l;
      return;
    }
    // Tiny argument: x * ln(2) with an extra-precise ln(2).
    [exp, sig] = normSub(exp, sig);
    const [s0, s1] = mul128By64(LN2_HI, LN2_LO, sig);
    nrp(sign, exp, s0, s1 | 1n, rc);
    return;
  }
  // Nearest multiple of 1/32: x = t + y with 2^t, 2^t - 1 from the table.
  const x = fx(s, sig);
  const n = 32 + fxToInt32(fxScalbn(x, 5, RC_NEAREST));
  const row = F2XM1_TABLE[n]!;
  const t = fx(row[0], row[1]);
  const y = fxAdd(x, t, true);
  if (fxIsZero(y)) {
    setR(t); // (QEMU returns t itself here)
    S.xf |= PE;
    return;
  }
  const accum = fxAdd(F2XM1_C0_LOW, horner(F2XM1_C, y));
  let aexp = fxExp(F2XM1_C0);
  let asign = fxSign(F2XM1_C0);
  let [a0, a1] = shr128Jam(accum.m, 0n, aexp - fxExp(accum));
  if (asign === fxSign(accum)) [a0, a1] = add128(F2XM1_C0.m, 0n, a0, a1);
  else [a0, a1] = sub128(F2XM1_C0.m, 0n, a0, a1);
  [a0, a1] = mul128By64(a0, a1, y.m);
  aexp += fxExp(y) - 0x3ffe;
  asign ^= fxSign(y);
  if (n !== 32) {
    // Times 2^t, plus 2^t - 1.
    [a0, a1] = mul128By64(a0, a1, row[3]);
    aexp += (row[2] & 0x7fff) - 0x3ffe;
    const bexp = row[4] & 0x7fff;
    let b0 = row[5];
    let b1 = 0n;
    if (bexp < aexp) [b0, b1] = shr128Jam(b0, b1, aexp - bexp);
    else if (aexp < bexp) {
      [a0, a1] = shr128Jam(a0, a1, bexp - aexp);
      aexp = bexp;
    }
    const bsign = row[4] >>> 15;
    if (asign === bsign) {
      [a0, a1] = shr128Jam(a0, a1, 1);
      [b0, b1] = shr128Jam(b0, b1, 1);
      aexp++;
      [a0, a1] = add128(a0, a1, b0, b1);
    } else {
      [a0, a1] = sub128(b0, b1, a0, a1);
      asign = bsign;
    }
  }
  nrp(asign, aexp, a0, a1 | 1n, rc);
}

/** log2(1 + arg) for 1 + arg in [sqrt(2)/2, sqrt(2)] (QEMU's helper_fyl2x_common): [exp, sig0, sig1]. */
export function fyl2xCommon(arg: Fx): [number, bigint, bigint] {
  const aSig = arg.m;
  const aExp = fxExp(arg);
  // t = arg/(2 + arg), with extra precision.
  let dexp: number;
  let d0: bigint;
  let d1: bigint;
  if (fxSign(arg)) {
    dexp = 0x3fff;
    [d0, d1] = shr128Jam(aSig, 0n, dexp - aExp);
    [d0, d1] = sub128(0n, 0n, d0, d1);
  } else {
    dexp = 0x4000;
    [d0, d1] = shr128Jam(aSig, 0n, dexp - aExp);
    d0 |= B63;
  }
  const [inc, t0, t1] = divSig128(aSig, 0n, d0, d1);
  const texp = aExp - dexp + 0x3ffe + inc;
  const [q0, q1] = mul128To256(t0, t1, t0, t1);
  const t2 = nrpFx(0, texp + texp - 0x3ffe, q0, q1);
  const accum = fxAdd(FYL2X_C0_LOW, horner(FYL2X_C, t2));
  let aexp = fxExp(FYL2X_C0);
  let [a0, a1] = shr128Jam(accum.m, 0n, aexp - fxExp(accum));
  if (fxSign(FYL2X_C0) === fxSign(accum)) [a0, a1] = add128(FYL2X_C0.m, 0n, a0, a1);
  else [a0, a1] = sub128(FYL2X_C0.m, 0n, a0, a1);
  [a0, a1] = mul128To256(a0, a1, t0, t1);
  aexp += texp - 0x3ffe;
  return [aexp, a0, a1];
}

/**
 * The NaN/unsupported-operand rules of QEMU's FYL2X, FYL2XP1 and FPATAN (x = ST0, y = ST1):
 * returns true (result in rr) when one applied.
 */
export function twoOpNaN(x: Fx, y: Fx): boolean {
  const kx = nanKind(x.s, Number(x.m >> 32n), Number(x.m & M32n));
  const ky = nanKind(y.s, Number(y.m >> 32n), Number(y.m & M32n));
  if (kx === K_SNAN) quietNaN(x.s, Number(x.m >> 32n), Number(x.m & M32n));
  else if (ky === K_SNAN) quietNaN(y.s, Number(y.m >> 32n), Number(y.m & M32n));
  else if (kx === K_BAD || ky === K_BAD) invalidResult();
  else if (kx === K_QNAN) setR(x);
  else if (ky === K_QNAN) setR(y);
  else return false;
  return true;
}

/** DE when either operand is an extended denormal (or pseudo-denormal). */
export function denormals(x: Fx, y: Fx): number {
  return ((x.s & 0x7fff) === 0 && x.m !== 0n) || ((y.s & 0x7fff) === 0 && y.m !== 0n) ? DE : 0;
}

export function isInf(a: Fx): boolean {
  return (a.s & 0x7fff) === 0x7fff && a.m === B63;
}

/** y * log2(x) (QEMU's helper_fyl2x), into rr. */
export function fyl2xExt(x: Fx, y: Fx, rc: number): void {
  if (twoOpNaN(x, y)) return;
  const xSign = fxSign(x);
  const ySign = fxSign(y);
  if (xSign && !fxIsZero(x)) invalidResult();
  else if (isInf(y)) {
    const c = fxCompare(x, FX_ONE);
    if (c === CMP_LT) setR(fx(y.s ^ 0x8000, y.m));
    else if (c === CMP_GT) setR(y);
    else invalidResult();
  } else if (isInf(x)) {
    if (fxIsZero(y)) invalidResult();
    else setR(ySign ? fx(x.s ^ 0x8000, x.m) : x);
  } else if (fxIsZero(x)) {
    if (fxIsZero(y)) invalidResult();
    else {
      S.xf |= ZE;
      packInf(ySign ^ 1);
    }
  } else if (fxIsZero(y)) {
    setR(fxCompare(x, FX_ONE) === CMP_LT ? fx(y.s ^ 0x8000, y.m) : y);
  } else if (fxCompare(x, FX_ONE) === CMP_EQ) {
    packZero(ySign);
  } else {
    const [xExp, xSig] = normSub(fxExp(x), x.m);
    // (QEMU normalises a denormal y twice: when the first pass leaves exponent 0, the second
    // one makes it 1.)
    const [yExp, ySig] = normSub(...normSub(fxExp(y), y.m));
    let intExp = xExp - 0x3fff;
    if (xSig > 0xb504f333f9de6484n) intExp++;
    const xm1 = fxAdd(fxScalbn(x, -intExp, RC_NEAREST), FX_ONE, true);
    if (fxIsZero(xm1)) {
      // Exact power of 2.
      intToExt(intExp < 0, 0, Math.abs(intExp));
      const ie = fx(rr[0]!, big64(rr[1]!, rr[2]!));
      setR(fxMul(ie, y, 64, rc));
      return;
    }
    let asign = fxSign(xm1);
    let [aexp, a0, a1] = fyl2xCommon(xm1);
    if (intExp !== 0) {
      const isign = intExp < 0 ? 1 : 0;
      const ie = Math.abs(intExp);
      const shift = Math.clz32(ie) + 32;
      const isig = BigInt(ie) << BigInt(shift);
      const iexp = 0x403e - shift;
      [a0, a1] = shr128Jam(a0, a1, iexp - aexp);
      if (asign === isign) [a0, a1] = add128(isig, 0n, a0, a1);
      else [a0, a1] = sub128(isig, 0n, a0, a1);
      aexp = iexp;
      asign = isign;
    }
    [a0, a1] = mul128By64(a0, a1, ySig);
    aexp += yExp - 0x3ffe;
    nrp(asign ^ ySign, aexp, a0, a1 | 1n, rc);
  }
}

/** y * log2(x + 1) (QEMU's helper_fyl2xp1), into rr. */
export function fyl2xp1Ext(x: Fx, y: Fx, prec: number, rc: number): void {
  if (twoOpNaN(x, y)) return;
  const xSign = fxSign(x);
  const ySign = fxSign(y);
  let xExp = fxExp(x);
  let xSig = x.m;
  if (xExp > 0x3ffd || (xExp === 0x3ffd && xSig > (xSign ? 0x95f619980c4336f7n : 0xd413cccfe7799211n))) {
    invalidResult(); // |x| beyond 1 - sqrt(2)/2 (AMD's wider range)
  } else if (fxIsZero(x) || fxIsZero(y) || fxExp(y) === 0x7fff) {
    setR(fxMul(x, y, prec, rc));
  } else if (xExp < 0x3fb0) {
    // Tiny x: x * y * log2(e) with an extra-precise log2(e).
    [xExp, xSig] = normSub(xExp, xSig);
    const [yExp, ySig] = normSub(fxExp(y), y.m);
    let [s0, s1] = mul128By64(LOG2E_HI, LOG2E_LO, xSig);
    [s0, s1] = mul128By64(s0, s1, ySig);
    nrp(xSign ^ ySign, xExp + 1 + yExp - 0x3ffe, s0, s1 | 1n, rc);
  } else {
    const [aexp, a0, a1] = fyl2xCommon(x);
    const [yExp, ySig] = normSub(fxExp(y), y.m);
    const [b0, b1] = mul128By64(a0, a1, ySig);
    nrp(xSign ^ ySign, aexp + yExp - 0x3ffe, b0, b1 | 1n, rc);
  }
}

/** atan2(y, x) (QEMU's helper_fpatan with x = ST0, y = ST1), into rr. */
export function fpatanExt(x: Fx, y: Fx, rc: number): void {
  if (twoOpNaN(x, y)) return;
  const xSign = fxSign(x);
  const ySign = fxSign(y);
  let xExp = fxExp(x);
  let yExp = fxExp(y);
  let xSig = x.m;
  let ySig = y.m;
  if (fxIsZero(y) && !xSign) {
    setR(y);
    return;
  }
  if (((isInf(x) && !isInf(y)) || xExp - yExp >= 80) && !xSign) {
    // y/x is the result up to rounding; it is inexact even when the division is not.
    const saved = S.xf;
    S.xf = 0;
    fxLoad(0, y);
    fxLoad(1, x);
    coreDiv(64, rc);
    const exact = (S.xf & PE) === 0;
    S.xf |= saved;
    if (exact && !((rr[0]! & 0x7fff) === 0 && rr[1]! === 0 && rr[2]! === 0)) {
      const [e, sig] = normSub(rr[0]! & 0x7fff, big64(rr[1]!, rr[2]!));
      nrp(rr[0]! >>> 15, e, sig - 1n, M64, rc);
    }
    return;
  }
  let rexp: number;
  let rsig0: bigint;
  let rsig1: bigint;
  if (fxIsZero(y)) {
    // x negative: pi with the sign of y.
    rexp = 0x4000;
    rsig0 = PI_HI;
    rsig1 = PI_LO;
  } else if (isInf(y)) {
    if (isInf(x)) {
      rexp = xSign ? 0x4000 : 0x3ffe;
      rsig0 = xSign ? PI34_HI : PI_HI;
      rsig1 = xSign ? PI34_LO : PI_LO;
    } else {
      rexp = 0x3fff;
      rsig0 = PI_HI;
      rsig1 = PI_LO;
    }
  } else if (fxIsZero(x) || yExp - xExp >= 80) {
    rexp = 0x3fff;
    rsig0 = PI_HI;
    rsig1 = PI_LO;
  } else if (isInf(x) || xExp - yExp >= 80) {
    rexp = 0x4000;
    rsig0 = PI_HI;
    rsig1 = PI_LO;
  } else {
    [xExp, xSig] = normSub(xExp, xSig);
    [yExp, ySig] = normSub(yExp, ySig);
    let numExp: number;
    let numSig: bigint;
    let denExp: number;
    let denSig: bigint;
    let adjExp: number;
    let adj0: bigint;
    let adj1: bigint;
    let adjSub: boolean;
    if (xExp > yExp || (xExp === yExp && xSig >= ySig)) {
      // |y| / |x|, subtracted from pi when x < 0.
      numExp = yExp;
      numSig = ySig;
      denExp = xExp;
      denSig = xSig;
      adjExp = xSign ? 0x4000 : 0;
      adj0 = xSign ? PI_HI : 0n;
      adj1 = xSign ? PI_LO : 0n;
      adjSub = xSign !== 0;
    } else {
      // |x| / |y|, added to or subtracted from pi/2.
      numExp = xExp;
      numSig = xSig;
      denExp = yExp;
      denSig = ySig;
      adjExp = 0x3fff;
      adj0 = PI_HI;
      adj1 = PI_LO;
      adjSub = !xSign;
    }
    // q = num/den in (0, 1], with extra precision.
    const [qinc, q0, q1] = divSig128(numSig, 0n, denSig, 0n);
    const qexp = numExp - denExp + 0x3ffe + qinc;
    // q = t + u with t = n/8 the nearest multiple of 1/8.
    const n = fxToInt32(nrpFx(0, qexp + 3, q0, q1));
    let uSign: number;
    let uExp: number;
    let u0: bigint;
    let u1: bigint;
    let texp: number;
    let tsig: bigint;
    if (n === 0) {
      uSign = 0;
      uExp = qexp;
      u0 = q0;
      u1 = q1;
      texp = 0;
      tsig = 0n;
    } else {
      let shift = Math.clz32(n) + 32;
      texp = 0x403b - shift;
      tsig = BigInt(n) << BigInt(shift);
      if (texp === qexp) {
        [u0, u1] = sub128(q0, q1, tsig, 0n);
        if (u0 < B63) {
          uSign = 0;
          if (u0 === 0n) {
            if (u1 === 0n) uExp = 0;
            else {
              shift = clz64(u1) + 64;
              uExp = qexp - shift;
              [u0, u1] = shl128(u0, u1, shift);
            }
          } else {
            shift = clz64(u0);
            uExp = qexp - shift;
            [u0, u1] = shl128(u0, u1, shift);
          }
        } else {
          uSign = 1;
          [u0, u1] = sub128(0n, 0n, u0, u1);
          shift = u0 === 0n ? clz64(u1) + 64 : clz64(u0);
          uExp = qexp - shift;
          [u0, u1] = shl128(u0, u1, shift);
        }
      } else {
        const [v0, v1] = shr128Jam(q0, q1, texp - qexp);
        uSign = 1;
        [u0, u1] = sub128(tsig, 0n, v0, v1);
        shift = u0 === 0n ? clz64(u1) + 64 : clz64(u0);
        uExp = texp - shift;
        [u0, u1] = shl128(u0, u1, shift);
      }
    }
    // z = u/(1 + t q), so atan(q) = atan(t) + atan(z).
    const zSign = uSign;
    let zExp: number;
    let z0: bigint;
    let z1: bigint;
    if (texp === 0 || uExp === 0) {
      zExp = uExp;
      z0 = u0;
      z1 = u1;
    } else {
      const dExp = texp + qexp - 0x3ffe;
      let [d0, d1] = mul128By64(q0, q1, tsig);
      [d0, d1] = shr128Jam(d0, d1, 0x3fff - dExp);
      d0 |= B63;
      let zinc: number;
      [zinc, z0, z1] = divSig128(u0, u1, d0, d1);
      zExp = uExp - 1 + zinc;
    }
    let azExp: number;
    let az0: bigint;
    let az1: bigint;
    if (zExp === 0) {
      azExp = 0;
      az0 = 0n;
      az1 = 0n;
    } else {
      const [s0, s1] = mul128To256(z0, z1, z0, z1);
      const z2 = nrpFx(0, zExp + zExp - 0x3ffe, s0, s1);
      const accum = horner(FPATAN_C.slice(1), z2);
      const aexp = fxExp(FPATAN_C[0]!);
      let [a0, a1] = shr128Jam(accum.m, 0n, aexp - fxExp(accum));
      [a0, a1] = sub128(FPATAN_C[0]!.m, 0n, a0, a1);
      azExp = aexp + zExp - 0x3ffe;
      [az0, az1] = mul128To256(a0, a1, z0, z1);
    }
    let axExp: number;
    let ax0: bigint;
    let ax1: bigint;
    if (texp === 0) {
      axExp = azExp;
      ax0 = az0;
      ax1 = az1;
    } else {
      const row = FPATAN_TABLE[n]!;
      const lowExp = row[2] & 0x7fff;
      let [l0, l1] = [row[3], 0n];
      axExp = row[0] & 0x7fff;
      ax0 = row[1];
      ax1 = 0n;
      [l0, l1] = shr128Jam(l0, l1, axExp - lowExp);
      if (row[2] >>> 15) [ax0, ax1] = sub128(ax0, ax1, l0, l1);
      else [ax0, ax1] = add128(ax0, ax1, l0, l1);
      [axExp, ax0, ax1] = alignedAddSub(axExp, ax0, ax1, azExp, az0, az1, zSign !== 0);
    }
    if (adjExp === 0) {
      rexp = axExp;
      rsig0 = ax0;
      rsig1 = ax1;
    } else [rexp, rsig0, rsig1] = alignedAddSub(adjExp, adj0, adj1, axExp, ax0, ax1, adjSub);
  }
  nrp(ySign, rexp, rsig0, rsig1 | 1n, rc);
}

// ---- Correctly rounded double sin, cos, tan ----
//
// QEMU's FSIN/FCOS/FSINCOS/FPTAN call the host C library on the operand rounded to a double;
// glibc's results are the correctly rounded ones in practice, so this computes those: exact
// argument reduction by pi/2 and Taylor series in BigInt fixed point (about 200 bits), then one
// rounding to nearest.

export const TRIG_W = 200; // fixed-point scale of the reduced argument and the series
export const TRIG_F = 280; // scale of the unreduced argument (x >= 2^-27 has at most 80 fraction bits beyond it)
let halfPiF = 0n;

export function halfPi(): bigint {
  if (halfPiF === 0n) {
    // Machin: pi = 16 atan(1/5) - 4 atan(1/239), with 40 guard bits.
    const P = BigInt(TRIG_F + 40);
    const atanInv = (k: bigint): bigint => {
      let sum = 0n;
      let term = (1n << P) / k;
      const k2 = k * k;
      for (let n = 1n, neg = false; term !== 0n; n += 2n, neg = !neg) {
        sum += neg ? -(term / n) : term / n;
        term /= k2;
      }
      return sum;
    };
    halfPiF = (16n * atanInv(5n) - 4n * atanInv(239n)) >> 41n;
  }
  return halfPiF;
}

/** The fixed-point V * 2^-w rounded to the nearest double (ties to even). */
export function fixedToDouble(V: bigint, w: number): number {
  if (V === 0n) return 0;
  const neg = V < 0n;
  if (neg) V = -V;
  const bits = V.toString(2).length;
  const shift = bits - 53;
  let q: bigint;
  if (shift > 0) {
    const S = BigInt(shift);
    q = V >> S;
    const rem = V & ((1n << S) - 1n);
    const half = 1n << (S - 1n);
    if (rem > half || (rem === half && (q & 1n) !== 0n)) q += 1n;
  } else q = V << BigInt(-shift);
  const r = Number(q) * pow2(shift - w);
  return neg ? -r : r;
}

/** sin, cos or tan (kind 0, 1, 2) of the finite double x with |x| < 2^63, correctly rounded. */
export function crTrig(kind: number, x: number): number {
  const ax = Math.abs(x);
  if (ax < 2 ** -27) return kind === 1 ? 1 : x; // sin x = tan x = x, cos x = 1 after rounding
  // |x| = M * 2^e exactly.
  f64[0] = ax;
  const e = ((u32[HI]! >>> 20) & 0x7ff) - 1075;
  const M = (BigInt((u32[HI]! & 0xfffff) | 0x100000) << 32n) | BigInt(u32[LO]!);
  const X = M << BigInt(e + TRIG_F);
  const hp = halfPi();
  const k = (2n * X + hp) / (2n * hp);
  const r = (X - k * hp) >> BigInt(TRIG_F - TRIG_W);
  const one = 1n << BigInt(TRIG_W);
  const W = BigInt(TRIG_W);
  const r2 = (r * r) >> W;
  let sn = r;
  let cs = one;
  let ts = r;
  let tc = one;
  for (let n = 1n; ts !== 0n || tc !== 0n; n += 2n) {
    ts = -((ts * r2) >> W) / ((n + 1n) * (n + 2n));
    tc = -((tc * r2) >> W) / (n * (n + 1n));
    sn += ts;
    cs += tc;
  }
  const q = Number(k & 3n);
  let v: bigint;
  if (kind === 0) v = q === 0 ? sn : q === 1 ? cs : q === 2 ? -sn : -cs;
  else if (kind === 1) v = q === 0 ? cs : q === 1 ? -sn : q === 2 ? -cs : sn;
  else v = q & 1 ? -(cs << W) / sn : (sn << W) / cs;
  const res = fixedToDouble(v, TRIG_W);
  return x < 0 && kind !== 1 ? -res : res;
}

/** Exact remainder slot0 - q*slot1 (both finite, nonzero): q truncated, or nearest-even when `ieee`. Returns q mod 8. */
export function coreRem(ieee: boolean, rc: number): number {
  const A = big64(oHi[0]!, oLo[0]!);
  const B = big64(oHi[1]!, oLo[1]!);
  const d = oExp[0]! - oExp[1]!;
  let N: bigint;
  let D: bigint;
  let base: number; // exponent of the remainder's unit
  if (d >= 0) {
    N = A << BigInt(d);
    D = B;
    base = oExp[1]! - 63;
  } else {
    N = A;
    D = d < -66 ? B << 66n : B << BigInt(-d);
    base = oExp[0]! - 63;
  }
  let Q = N / D;
  let R = N - Q * D;
  if (ieee && (2n * R > D || (2n * R === D && (Q & 1n) !== 0n))) {
    Q += 1n;
    R -= D;
  }
  let neg = oNeg[0]!;
  if (R < 0n) {
    R = -R;
    neg ^= 1;
  }
  if (R === 0n) packZero(oNeg[0]!);
  else {
    const lz = clz64(R);
    const M = R << BigInt(lz);
    roundPack3(neg, base + 63 - lz, Number(M >> 32n), Number(M & M32n), 0, 64, rc);
  }
  return Number(Q & 7n);
}
