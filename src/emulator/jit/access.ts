// Guest memory accessors for compiled blocks: the fast path is a per-page lookup in the address
// space's permission and frame tables (the same tables and masks Memory's own accessors test); any
// miss — unmapped page, missing permission, page holding cached code (writes), watched page (reads),
// page on the zero frame or a shared frame (writes, PAGE_COW), unaligned word — takes Memory's own
// accessor, which faults, notifies the code cache or copies exactly as the interpreter's accesses
// do. One set per Memory, shared by all its compiled blocks, so every call site in generated code is
// monomorphic and gets inlined.

import { PAGE_CODE, PAGE_COW, PAGE_WATCH, PROT_READ, PROT_WRITE, type Memory } from '../memory.js';

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

// Memory's READ_FAST_MASK and WRITE_FAST_MASK.
const R_MASK = PROT_READ | PAGE_WATCH;
const W_MASK = PROT_WRITE | PAGE_CODE | PAGE_COW;

export function accessors(mem: Memory): Accessors {
  const FR = mem.frame;
  const PM = mem.perm;
  return {
    r32(cpu, a, i, next) {
      const p = a >>> 12;
      if ((a & 3) === 0 && (PM[p]! & R_MASK) === PROT_READ)
        return mem.ram32[(FR[p]! << 10) | ((a & 4095) >> 2)]!;
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
      if ((PM[p]! & R_MASK) === PROT_READ) return mem.ram[((FR[p]! << 12) | (a & 4095)) >>> 0]!;
      cpu.cur = i;
      cpu.eip = next;
      return mem.read8(a);
    },
    w32(cpu, a, v, i, next) {
      const p = a >>> 12;
      if ((a & 3) === 0 && (PM[p]! & W_MASK) === PROT_WRITE) {
        mem.ram32[(FR[p]! << 10) | ((a & 4095) >> 2)] = v;
        return;
      }
      cpu.cur = i;
      cpu.eip = next;
      mem.write32(a, v);
    },
    w8(cpu, a, v, i, next) {
      const p = a >>> 12;
      if ((PM[p]! & W_MASK) === PROT_WRITE) {
        mem.ram[((FR[p]! << 12) | (a & 4095)) >>> 0] = v;
        return;
      }
      cpu.cur = i;
      cpu.eip = next;
      mem.write8(a, v);
    },
  };
}
