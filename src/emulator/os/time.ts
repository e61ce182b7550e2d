// Time syscalls on the virtual clock only: clock_gettime(64), clock_getres, gettimeofday, time,
// nanosleep, clock_nanosleep(64). Guarantees: no host clock is read; wall-clock time is EPOCH plus
// the machine's virtual time, so every run of the same guest sees the same times.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { BLOCKED } from './table.js';
import { EFAULT, EINVAL } from './errno.js';

/** Guest wall-clock epoch: 2005-06-17 (Linux 2.6.13's merge window), fixed for determinism. */
export const EPOCH = 1118966400;

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;

/** CLOCK_REALTIME, CLOCK_REALTIME_COARSE and CLOCK_REALTIME_ALARM count from the epoch; the others from boot. */
function isWallClock(clk: number): boolean {
  return clk === 0 || clk === 5 || clk === 8;
}

/**
 * The virtual time as Linux's clocks show it: whole seconds and nanoseconds, the wall clocks from
 * EPOCH. Seconds and nanoseconds are formed apart, so no sum passes 2^53 (EPOCH in nanoseconds
 * alone is 1.1e18, where a double has 128-ns steps).
 */
function clockNow(k: Kernel, clk: number): { sec: number; nsec: number } {
  const ns = k.m.cyclesToNs(k.m.now());
  const sec = Math.floor(ns / 1e9);
  return { sec: sec + (isWallClock(clk) ? EPOCH : 0), nsec: ns - sec * 1e9 };
}

function clockGettime(k: Kernel, clk: number, tp: number, t64: boolean): number {
  const { sec, nsec } = clockNow(k, clk);
  if (t64) {
    if (!k.userRange(tp, 16, true)) return -EFAULT;
    k.mem.write32(tp, sec);
    k.mem.write32(tp + 4, 0);
    k.mem.write32(tp + 8, nsec);
    k.mem.write32(tp + 12, 0);
  } else {
    if (!k.userRange(tp, 8, true)) return -EFAULT;
    k.mem.write32(tp, sec);
    k.mem.write32(tp + 4, nsec);
  }
  return 0;
}

/** clock_getres: 1 ns, as Linux's high-resolution clocks (time64: 64-bit seconds and nanoseconds). */
function clockGetres(k: Kernel, tp: number, t64: boolean): number {
  if (!tp) return 0;
  const words = t64 ? [0, 0, 1, 0] : [0, 1];
  if (!k.userRange(tp, words.length * 4, true)) return -EFAULT;
  words.forEach((w, i) => k.mem.write32(tp + 4 * i, w));
  return 0;
}

function gettimeofday(k: Kernel, tv: number): number {
  if (!tv) return 0;
  const { sec, nsec } = clockNow(k, 0);
  if (!k.userRange(tv, 8, true)) return -EFAULT;
  k.mem.write32(tv, sec);
  k.mem.write32(tv + 4, Math.floor(nsec / 1000));
  return 0;
}

/**
 * A guest timespec for a sleep or timed wait, checked as Linux's get_timespec64 +
 * timespec64_valid do: tv_sec is signed (a 32-bit time_t, or 64-bit for the _time64 calls),
 * tv_nsec must be 0..999,999,999 (its upper half is ignored in time64 form). Returns -EFAULT,
 * -EINVAL, or the seconds and nanoseconds.
 */
export function readSleepTime(k: Kernel, addr: number, t64: boolean): number | { sec: number; nsec: number } {
  if (!k.userRange(addr, t64 ? 16 : 8, false)) return -EFAULT;
  const lo = k.mem.read32(addr) >>> 0;
  const sec = t64 ? k.mem.read32(addr + 4) * 4294967296 + lo : lo | 0;
  const nsec = k.mem.read32(addr + (t64 ? 8 : 4)) >>> 0;
  if (sec < 0 || nsec >= 1e9) return -EINVAL;
  return { sec, nsec };
}

/** Cycles in a relative timeout (at least one: a zero sleep still yields to the next round). */
export function timeoutCycles(k: Kernel, sec: number, nsec: number): number {
  return Math.max(1, k.m.nsToCycles(sec * 1e9 + nsec));
}

/** The virtual time (cycles) of an absolute time on clock `clk` (0 when it has passed). */
export function absoluteCycles(k: Kernel, clk: number, sec: number, nsec: number): number {
  const rel = sec - (isWallClock(clk) ? EPOCH : 0);
  return rel < 0 ? 0 : k.m.nsToCycles(rel * 1e9 + nsec);
}

function sleepUntil(k: Kernel, t: Task, what: string, wakeAt: number): number {
  k.m.block(t, what, wakeAt);
  return BLOCKED;
}

function nanosleep(k: Kernel, t: Task, req: number, t64: boolean): number {
  const ts = readSleepTime(k, req, t64);
  if (typeof ts === 'number') return ts;
  return sleepUntil(k, t, 'nanosleep', k.m.now() + timeoutCycles(k, ts.sec, ts.nsec));
}

function clockNanosleep(k: Kernel, t: Task, clk: number, flags: number, req: number, t64: boolean): number {
  const ts = readSleepTime(k, req, t64);
  if (typeof ts === 'number') return ts;
  const wakeAt =
    flags & 1 // TIMER_ABSTIME
      ? absoluteCycles(k, clk, ts.sec, ts.nsec)
      : k.m.now() + timeoutCycles(k, ts.sec, ts.nsec);
  return sleepUntil(k, t, 'clock_nanosleep', wakeAt);
}

export function registerTime(k: Kernel): void {
  const T = k.table;
  T.define('clock_gettime', (_t, a, b) => clockGettime(k, a, b, false));
  T.define('clock_gettime64', (_t, a, b) => clockGettime(k, a, b, true));
  T.define('clock_getres', (_t, _a, b) => clockGetres(k, b, false));
  T.define('clock_getres_time64', (_t, _a, b) => clockGetres(k, b, true));
  T.define('gettimeofday', (_t, a) => gettimeofday(k, a));
  T.define('time', (_t, a) => {
    const s = clockNow(k, 0).sec;
    if (a && !k.put32(a, s)) return -EFAULT;
    return s;
  });
  T.define('nanosleep', (t, a) => nanosleep(k, t, a, false));
  T.define('clock_nanosleep', (t, a, b, c) => clockNanosleep(k, t, a, b, c, false));
  T.define('clock_nanosleep_time64', (t, a, b, c) => clockNanosleep(k, t, a, b, c, true));
}
