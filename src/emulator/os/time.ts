// Time syscalls on the virtual clock only: clock_gettime(64), clock_getres, gettimeofday, time,
// nanosleep, clock_nanosleep(64). Guarantees: no host clock is read; wall-clock time is EPOCH plus
// the machine's virtual time, so every run of the same guest sees the same times.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { BLOCKED } from './table.js';
import { EFAULT } from './errno.js';

/** Guest wall-clock epoch: 2005-06-17 (Linux 2.6.13's merge window), fixed for determinism. */
export const EPOCH = 1118966400;

/** CLOCK_REALTIME, CLOCK_REALTIME_COARSE and CLOCK_REALTIME_ALARM count from the epoch; the others from boot. */
function isWallClock(clk: number): boolean {
  return clk === 0 || clk === 5 || clk === 8;
}

function clockGettime(k: Kernel, clk: number, tp: number, t64: boolean): number {
  const ns = k.m.cyclesToNs(k.m.now()) + (isWallClock(clk) ? EPOCH * 1e9 : 0);
  const sec = Math.floor(ns / 1e9);
  const nsec = ns % 1e9;
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

function clockGetres(k: Kernel, tp: number): number {
  if (tp && !k.put32(tp, 0)) return -EFAULT;
  if (tp) k.put32(tp + 4, 1);
  return 0;
}

function gettimeofday(k: Kernel, tv: number): number {
  if (!tv) return 0;
  const ns = k.m.cyclesToNs(k.m.now()) + EPOCH * 1e9;
  if (!k.userRange(tv, 8, true)) return -EFAULT;
  k.mem.write32(tv, Math.floor(ns / 1e9));
  k.mem.write32(tv + 4, Math.floor((ns % 1e9) / 1000));
  return 0;
}

function sleepUntil(k: Kernel, t: Task, what: string, wakeAt: number): number {
  k.m.block(t, what, wakeAt);
  return BLOCKED;
}

function nanosleep(k: Kernel, t: Task, req: number): number {
  const ns = k.readTimespec(req, false);
  if (ns === null) return -EFAULT;
  return sleepUntil(k, t, 'nanosleep', k.m.now() + Math.max(1, k.m.nsToCycles(ns)));
}

function clockNanosleep(k: Kernel, t: Task, clk: number, flags: number, req: number, t64: boolean): number {
  const ns = k.readTimespec(req, t64);
  if (ns === null) return -EFAULT;
  let wakeAt: number;
  if (flags & 1) {
    // TIMER_ABSTIME
    const base = isWallClock(clk) ? EPOCH * 1e9 : 0;
    wakeAt = k.m.nsToCycles(Math.max(0, ns - base));
  } else wakeAt = k.m.now() + Math.max(1, k.m.nsToCycles(ns));
  return sleepUntil(k, t, 'clock_nanosleep', wakeAt);
}

export function registerTime(k: Kernel): void {
  const T = k.table;
  T.define('clock_gettime', (_t, a, b) => clockGettime(k, a, b, false));
  T.define('clock_gettime64', (_t, a, b) => clockGettime(k, a, b, true));
  T.define('clock_getres', (_t, _a, b) => clockGetres(k, b));
  T.define('gettimeofday', (_t, a) => gettimeofday(k, a));
  T.define('time', (_t, a) => {
    const s = Math.floor(k.m.cyclesToNs(k.m.now()) / 1e9) + EPOCH;
    if (a && !k.put32(a, s)) return -EFAULT;
    return s;
  });
  T.define('nanosleep', (t, a) => nanosleep(k, t, a));
  T.define('clock_nanosleep', (t, a, b, c) => clockNanosleep(k, t, a, b, c, false));
  T.define('clock_nanosleep_time64', (t, a, b, c) => clockNanosleep(k, t, a, b, c, true));
}
