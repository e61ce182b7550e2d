// Guest memory access for compiled blocks, emitted inline into the generated code: the fast path is a
// per-page lookup in the address space's permission and frame tables (the same tables and bits
// Memory's own accessors test); any miss — unmapped page, missing permission, page holding cached
// code (writes), watched page (reads), page on the zero frame or a frame shared copy-on-write
// (writes: PAGE_COW), unaligned word — takes Memory's own accessor, which faults, notifies the code
// cache or copies exactly as the interpreter's accesses do. The generated function receives the
// Memory as `M` and its tables as `FR` (frame numbers) and `PM` (permissions); `ram`/`ram32` are read
// from M at each access because a slow path that allocates a frame may replace them. Frame f's word
// index is (f << 10) | word-in-page, always an int32; its byte index ((f << 12) | offset) >>> 0. This
// module is the only place that knows the fast-path condition.

import { PAGE_CODE, PAGE_COW, PAGE_WATCH, PROT_READ, PROT_WRITE, type Memory } from '../memory.js';

// Memory's READ_FAST_MASK and WRITE_FAST_MASK.
const R_MASK = PROT_READ | PAGE_WATCH;
const W_MASK = PROT_WRITE | PAGE_CODE | PAGE_COW;

/** The tables a unit's factory is given, in the order of `ACCESS_PARAMS`. */
export const ACCESS_PARAMS = ['M', 'FR', 'PM'] as const;

export function accessArgs(mem: Memory): unknown[] {
  return [mem, mem.frame, mem.perm];
}

/**
 * Code reading `size` bytes (32, 16 or 8, zero-extended) at the int32 address in local `a` into `dst`;
 * `slow` is the statement block that runs before the slow-path call (it makes the CPU state exact for
 * host code) and `after` what runs after it. Uses locals `p` and `f`.
 */
export function readCode(size: 32 | 16 | 8, dst: string, slow: string, after: string): string {
  if (size === 16) return `${slow} ${dst} = M.read16(a); ${after}`;
  const page = `p = a >>> 12; f = FR[p];`;
  if (size === 32)
    return (
      `${page} if ((a & 3) === 0 && (PM[p] & ${R_MASK}) === ${PROT_READ}) ` +
      `${dst} = M.ram32[(f << 10) | ((a & 4095) >> 2)]; else { ${slow} ${dst} = M.read32(a); ${after} }`
    );
  return (
    `${page} if ((PM[p] & ${R_MASK}) === ${PROT_READ}) ${dst} = M.ram[((f << 12) | (a & 4095)) >>> 0]; ` +
    `else { ${slow} ${dst} = M.read8(a); ${after} }`
  );
}

/** Code writing expression `v` (32 or 8 bits) to the int32 address in local `a`; see readCode. */
export function writeCode(size: 32 | 8, v: string, slow: string, after: string): string {
  const page = `p = a >>> 12; f = FR[p];`;
  if (size === 32)
    return (
      `${page} if ((a & 3) === 0 && (PM[p] & ${W_MASK}) === ${PROT_WRITE}) ` +
      `M.ram32[(f << 10) | ((a & 4095) >> 2)] = ${v}; else { ${slow} M.write32(a, ${v}); ${after} }`
    );
  return (
    `${page} if ((PM[p] & ${W_MASK}) === ${PROT_WRITE}) M.ram[((f << 12) | (a & 4095)) >>> 0] = ${v}; ` +
    `else { ${slow} M.write8(a, ${v}); ${after} }`
  );
}
