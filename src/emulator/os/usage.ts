// Resource usage and system figures: getrusage, times, sysinfo, and the rusage that wait4/waitid
// hand back for a reaped child. Guarantees: every figure comes from the machine's own counters
// (the cycles each task ran, its context switches, resident pages, the virtual clock), never from
// the host, so a replay sees the same values. User time is the cycles a task ran; system time is
// 0, because system calls take no virtual time here; RUSAGE_CHILDREN sums the children a process
// has waited for, with what they had waited for, as Linux's signal->cutime does.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EFAULT, EINVAL } from './errno.js';
import { newUsage, type Process, type Usage } from './process.js';

const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const RUSAGE_THREAD = 1;
/** sizeof(struct rusage) on i386: two timevals and fourteen longs. */
export const RUSAGE_SIZE = 72;
/** USER_HZ: the unit of clock_t in times(). */
const USER_HZ = 100;
/** Guest memory the machine reports (sysinfo and /proc/meminfo): an i386 address space holds at most this. */
export const MEM_BYTES = 3 * 1024 * 1024 * 1024;

/** A process's own usage now, with its resident size sampled into the peak. */
function selfUsage(k: Kernel, p: Process): Usage {
  const u = p.usage;
  if (p.state !== 'reaped') u.maxRssKb = Math.max(u.maxRssKb, Math.floor(p.memory.residentBytes / 1024));
  return { ...u, cycles: k.m.processCycles(p) };
}

function add(a: Usage, b: Usage): Usage {
  return {
    cycles: a.cycles + b.cycles,
    nvcsw: a.nvcsw + b.nvcsw,
    nivcsw: a.nivcsw + b.nivcsw,
    maxRssKb: Math.max(a.maxRssKb, b.maxRssKb),
  };
}

/** A child is reaped by its parent's wait: what it and its waited-for children used joins the parent's. */
export function chargeReaped(k: Kernel, child: Process): void {
  const parent = child.parent;
  if (!parent) return;
  Object.assign(parent.childUsage, add(parent.childUsage, add(selfUsage(k, child), child.childUsage)));
}

/** The rusage wait4/waitid write for a reported child: its own usage and its children's. */
export function childRusage(k: Kernel, child: Process): Usage {
  return add(selfUsage(k, child), child.childUsage);
}

/** Writes a struct rusage; false when the buffer is not writable. */
export function writeRusage(k: Kernel, addr: number, u: Usage): boolean {
  if (!k.userRange(addr, RUSAGE_SIZE, true)) return false;
  const b = new Uint8Array(RUSAGE_SIZE);
  const v = new DataView(b.buffer);
  const ns = k.m.cyclesToNs(u.cycles);
  const sec = Math.floor(ns / 1e9);
  v.setUint32(0, sec, true);
  v.setUint32(4, Math.floor((ns - sec * 1e9) / 1000), true);
  // ru_stime stays 0: system calls take no virtual time.
  v.setUint32(16, u.maxRssKb, true);
  v.setUint32(64, u.nvcsw, true);
  v.setUint32(68, u.nivcsw, true);
  k.mem.writeBytes(addr, b);
  return true;
}

function getrusage(k: Kernel, t: Task, who: number, addr: number): number {
  let u: Usage;
  if (who === RUSAGE_SELF) u = selfUsage(k, t.process);
  else if (who === RUSAGE_CHILDREN) u = t.process.childUsage;
  else if (who === RUSAGE_THREAD) {
    u = newUsage();
    u.cycles = k.m.cpuCycles(t);
    u.nvcsw = t.nvcsw;
    u.nivcsw = t.nivcsw;
    u.maxRssKb = selfUsage(k, t.process).maxRssKb;
  } else return -EINVAL;
  return writeRusage(k, addr, u) ? 0 : -EFAULT;
}

/** Cycles in clock ticks (USER_HZ), rounded down. */
function ticks(k: Kernel, cycles: number): number {
  return Math.floor(k.m.cyclesToNs(cycles) / (1e9 / USER_HZ));
}

/** times(2): the process's and its waited-for children's user time; returns ticks since boot. */
function times(k: Kernel, t: Task, buf: number): number {
  if (buf) {
    if (!k.userRange(buf, 16, true)) return -EFAULT;
    const p = t.process;
    k.mem.write32(buf, ticks(k, k.m.processCycles(p)));
    k.mem.write32(buf + 4, 0);
    k.mem.write32(buf + 8, ticks(k, p.childUsage.cycles));
    k.mem.write32(buf + 12, 0);
  }
  // clock_t is a 32-bit long: the tick count wraps as Linux's does.
  return ticks(k, k.m.now()) | 0;
}

/**
 * sysinfo(2), struct sysinfo for i386 (64 bytes): uptime in whole seconds rounded up (as
 * do_sysinfo does), no load, MEM_BYTES of RAM half of it free (as /proc/meminfo says), no swap,
 * the number of live threads, and mem_unit 1 (everything fits in 32 bits, so Linux gives bytes).
 */
function sysinfo(k: Kernel, buf: number): number {
  if (!k.userRange(buf, 64, true)) return -EFAULT;
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  const ns = k.m.cyclesToNs(k.m.now());
  v.setUint32(0, Math.ceil(ns / 1e9), true);
  v.setUint32(16, MEM_BYTES, true); // totalram
  v.setUint32(20, MEM_BYTES / 2, true); // freeram
  let procs = 0;
  for (const x of k.m.tasks.values()) if (x.state !== 'zombie') procs++;
  v.setUint16(40, procs, true);
  v.setUint32(52, 1, true); // mem_unit
  k.mem.writeBytes(buf, b);
  return 0;
}

export function registerUsage(k: Kernel): void {
  const T = k.table;
  T.define('getrusage', (t, who, addr) => getrusage(k, t, who, addr));
  T.define('times', (t, buf) => times(k, t, buf));
  T.define('sysinfo', (_t, buf) => sysinfo(k, buf));
}
