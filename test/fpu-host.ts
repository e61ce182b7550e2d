// The FPU's host for unit tests: 64 KiB of little-endian memory, AX, EFLAGS and the last
// FCOMI flags (test/fpu.test.ts, test/fpu-dd.test.ts).
import type { FpuHost } from '../src/emulator/types.js';

export class UD extends Error {}

export class FakeHost implements FpuHost {
  readonly mem = new Uint8Array(0x10000);
  readonly dv = new DataView(this.mem.buffer);
  ax: number | undefined;
  eflags = 0;
  zpc: number[] | undefined;
  read8(a: number): number {
    return this.mem[a]!;
  }
  read16(a: number): number {
    return this.dv.getUint16(a, true);
  }
  read32(a: number): number {
    return this.dv.getInt32(a, true); // signed, like Memory.read32
  }
  write8(a: number, v: number): void {
    this.mem[a] = v;
  }
  write16(a: number, v: number): void {
    this.dv.setUint16(a, v & 0xffff, true);
  }
  write32(a: number, v: number): void {
    this.dv.setUint32(a, v >>> 0, true);
  }
  /** The double at an 8-aligned address (as Memory.readF64 on a directly readable page), else NaN. */
  readF64(a: number): number {
    return (a & 7) === 0 ? this.dv.getFloat64(a, true) : NaN;
  }
  writeF64(a: number, v: number): boolean {
    if ((a & 7) !== 0) return false;
    this.dv.setFloat64(a, v, true);
    return true;
  }
  setAX(v: number): void {
    this.ax = v;
  }
  setFlagsZPC(zf: number, pf: number, cf: number): void {
    this.zpc = [zf, pf, cf];
  }
  getFlags(): number {
    return this.eflags;
  }
  raiseUD(): never {
    throw new UD('#UD');
  }
}
