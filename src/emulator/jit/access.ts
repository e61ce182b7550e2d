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

/** What a slow path makes exact before host code runs (Cpu's fields of the same names). */
export interface SyncedCpu {
  cur: number;
  eip: number;
  blockStart: number;
  retired: number;
}

/**
 * The names a unit's factory binds, in the order of `accessArgs`: the Memory and its tables, and the
 * slow paths. A slow path first makes the CPU state exact for host code — the instruction's entry `i`,
 * its fall-through EIP, the block start `b` and the instructions retired before the block — and then
 * calls Memory's own accessor. One call in the generated code instead of four stores keeps units
 * small, which V8's optimising compiler pays for superlinearly.
 */
export const ACCESS_PARAMS = ['M', 'FR', 'PM', 'SR32', 'SR16', 'SR8', 'SW32', 'SW16', 'SW8'] as const;

function sync(cpu: SyncedCpu, i: number, next: number, b: number, ret: number): void {
  cpu.cur = i;
  cpu.eip = next;
  cpu.blockStart = b;
  cpu.retired = ret;
}

export function accessArgs(mem: Memory): unknown[] {
  type R = (cpu: SyncedCpu, a: number, i: number, next: number, b: number, ret: number) => number;
  type W = (cpu: SyncedCpu, a: number, v: number, i: number, next: number, b: number, ret: number) => void;
  const sr32: R = (cpu, a, i, next, b, ret) => (sync(cpu, i, next, b, ret), mem.read32(a));
  const sr16: R = (cpu, a, i, next, b, ret) => (sync(cpu, i, next, b, ret), mem.read16(a));
  const sr8: R = (cpu, a, i, next, b, ret) => (sync(cpu, i, next, b, ret), mem.read8(a));
  const sw32: W = (cpu, a, v, i, next, b, ret) => (sync(cpu, i, next, b, ret), mem.write32(a, v));
  const sw16: W = (cpu, a, v, i, next, b, ret) => (sync(cpu, i, next, b, ret), mem.write16(a, v));
  const sw8: W = (cpu, a, v, i, next, b, ret) => (sync(cpu, i, next, b, ret), mem.write8(a, v));
  return [mem, mem.frame, mem.perm, sr32, sr16, sr8, sw32, sw16, sw8];
}

/**
 * Code reading `size` bytes (32, 16 or 8, zero-extended) at the int32 address in local `a` into `dst`.
 * `where` is the slow path's trailing arguments (`i, next, b, retired`) and `after` what runs after a
 * slow path returns. Uses locals `p`, `f` and (16 bits) `o`. A 16-bit access whose second byte is on
 * the next page takes the slow path.
 */
export function readCode(size: 32 | 16 | 8, dst: string, where: string, after: string): string {
  const page = `p = a >>> 12; f = FR[p];`;
  if (size === 16)
    return (
      `${page} if ((a & 4095) !== 4095 && (PM[p] & ${R_MASK}) === ${PROT_READ}) ` +
      `{ o = ((f << 12) | (a & 4095)) >>> 0; ${dst} = M.ram[o] | (M.ram[o + 1] << 8); } ` +
      `else { ${dst} = SR16(cpu, a, ${where}); ${after} }`
    );
  if (size === 32)
    return (
      `${page} if ((a & 3) === 0 && (PM[p] & ${R_MASK}) === ${PROT_READ}) ` +
      `${dst} = M.ram32[(f << 10) | ((a & 4095) >> 2)]; else { ${dst} = SR32(cpu, a, ${where}); ${after} }`
    );
  return (
    `${page} if ((PM[p] & ${R_MASK}) === ${PROT_READ}) ${dst} = M.ram[((f << 12) | (a & 4095)) >>> 0]; ` +
    `else { ${dst} = SR8(cpu, a, ${where}); ${after} }`
  );
}

/** Code writing expression `v` (32, 16 or 8 bits, free of side effects) to the address in local `a`. */
export function writeCode(size: 32 | 16 | 8, v: string, where: string, after: string): string {
  const page = `p = a >>> 12; f = FR[p];`;
  if (size === 16)
    return (
      `${page} if ((a & 4095) !== 4095 && (PM[p] & ${W_MASK}) === ${PROT_WRITE}) ` +
      `{ o = ((f << 12) | (a & 4095)) >>> 0; M.ram[o] = ${v}; M.ram[o + 1] = (${v}) >> 8; } ` +
      `else { SW16(cpu, a, ${v}, ${where}); ${after} }`
    );
  if (size === 32)
    return (
      `${page} if ((a & 3) === 0 && (PM[p] & ${W_MASK}) === ${PROT_WRITE}) ` +
      `M.ram32[(f << 10) | ((a & 4095) >> 2)] = ${v}; else { SW32(cpu, a, ${v}, ${where}); ${after} }`
    );
  return (
    `${page} if ((PM[p] & ${W_MASK}) === ${PROT_WRITE}) M.ram[((f << 12) | (a & 4095)) >>> 0] = ${v}; ` +
    `else { SW8(cpu, a, ${v}, ${where}); ${after} }`
  );
}
