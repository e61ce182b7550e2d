// Guest memory accessors for compiled blocks: the fast path is a per-page lookup in the address
// space's permission and frame tables (the same tables and masks Memory's own accessors test); any
// miss — unmapped page, missing permission, page holding cached code (writes), watched page (reads),
// page on the zero frame or a shared frame (writes, PAGE_COW), unaligned word — takes Memory's own
// accessor, which faults, notifies the code cache or copies exactly as the interpreter's accesses
// do. One set per Memory, shared by all its compiled blocks, so every call site in generated code is
// monomorphic and gets inlined.

import { PROT_READ, PROT_WRITE, READ_FAST_MASK, WRITE_FAST_MASK, type Memory } from '../memory.js';

/** What a slow-path access records for host code that runs inside it (watch callbacks, faults). */
export interface AccessCpu {
  cur: number;
  eip: number;
}

export interface Accessors {
  r32(cpu: AccessCpu, a: number, i: number, next: number): number;
  r16(cpu: AccessCpu, a: number, i: number, next: number): number;
  r8(cpu: AccessCpu, a: number, i: number, next: number): number;
  w32(cpu: AccessCpu, a: number, v: number, i: number, next: number): void;
  w8(cpu: AccessCpu, a: number, v: number, i: number, next: number): void;
}

const R_MASK = READ_FAST_MASK;
const W_MASK = WRITE_FAST_MASK;

export function accessors(mem: Memory): Accessors {
  const FR = mem.frame;
  const PM = mem.perm;
  // Frame views by frame number: the pool's arrays, which only ever grow in place.
  const B8 = mem.bytes;
  const B32 = mem.words;
  return {
    r32(cpu, a, i, next) {
      const p = a >>> 12;
      if ((a & 3) === 0 && (PM[p]! & R_MASK) === PROT_READ) return B32[FR[p]!]![(a & 4095) >> 2]!;
      cpu.cur = i;
      cpu.eip = next;
      return mem.read32(a);
    },
    r16(cpu, a, i, next) {
      cpu.cur = i;
      cpu.eip = next;
      return mem.read16(a);
    },
    r8(cpu, a, i, next) {
      const p = a >>> 12;
      if ((PM[p]! & R_MASK) === PROT_READ) return B8[FR[p]!]![a & 4095]!;
      cpu.cur = i;
      cpu.eip = next;
      return mem.read8(a);
    },
    w32(cpu, a, v, i, next) {
      const p = a >>> 12;
      if ((a & 3) === 0 && (PM[p]! & W_MASK) === PROT_WRITE) {
        B32[FR[p]!]![(a & 4095) >> 2] = v;
        return;
      }
      cpu.cur = i;
      cpu.eip = next;
      mem.write32(a, v);
    },
    w8(cpu, a, v, i, next) {
      const p = a >>> 12;
      if ((PM[p]! & W_MASK) === PROT_WRITE) {
        B8[FR[p]!]![a & 4095] = v;
        return;
      }
      cpu.cur = i;
      cpu.eip = next;
      mem.write8(a, v);
    },
  };
}
