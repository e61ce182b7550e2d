// Thread syscalls: clone of threads (CLONE_VM|CLONE_THREAD; other clones go to os/proc.ts), TLS
// descriptors (set/get_thread_area), set_tid_address, set_robust_list, futex, gettid, sched_yield,
// exit (the other sched_* calls are in sched.ts). Guarantees: futex waiters are keyed by address space and address (a
// private futex in one process never wakes a waiter in another) and woken in FIFO order; timeouts
// run on the virtual clock only.

import { GDT_ENTRY_TLS_MIN } from '../cpu.js';
import type { Machine, Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { absoluteCycles, CLOCK_MONOTONIC, CLOCK_REALTIME, readSleepTime } from './time.js';
import type { AddressSpace } from './process.js';
import { BLOCKED } from './table.js';
import { EAGAIN, EFAULT, EINVAL, ENOSYS, ESRCH } from './errno.js';

export const CLONE_VM = 0x100;
export const CLONE_FS = 0x200;
export const CLONE_FILES = 0x400;
export const CLONE_SIGHAND = 0x800;
export const CLONE_VFORK = 0x4000;
export const CLONE_PARENT = 0x8000;
export const CLONE_THREAD = 0x10000;
export const CLONE_SETTLS = 0x80000;
export const CLONE_PARENT_SETTID = 0x100000;
export const CLONE_CHILD_CLEARTID = 0x200000;
export const CLONE_CHILD_SETTID = 0x1000000;

/** Tasks blocked in FUTEX_WAIT, in the order they started waiting. */
export class FutexQueue {
  private waiters: Task[] = [];
  constructor(private readonly m: Machine) {}

  wait(t: Task, uaddr: number, bitset: number, wakeAt: number): number {
    t.futexAddr = uaddr;
    t.futexBitset = bitset;
    this.waiters.push(t);
    this.m.block(t, `futex 0x${uaddr.toString(16)}`, wakeAt);
    return BLOCKED;
  }

  /** Wakes up to `n` waiters on `uaddr` in `mm` (FIFO); returns how many. */
  wake(mm: AddressSpace, uaddr: number, n: number, bitset: number): number {
    let woken = 0;
    const keep: Task[] = [];
    for (const w of this.waiters) {
      if (
        woken < n >>> 0 &&
        w.futexAddr === uaddr >>> 0 &&
        w.process.mm === mm &&
        (bitset === -1 || (w.futexBitset & bitset) !== 0)
      ) {
        this.m.wake(w, 0);
        woken++;
      } else if (w.state === 'blocked' || w.state === 'sleeping') keep.push(w);
    }
    this.waiters = keep;
    return woken;
  }

  /** Moves up to `limit` waiters from `from` to `to` (FUTEX_REQUEUE). */
  requeue(mm: AddressSpace, from: number, to: number, limit: number): number {
    let moved = 0;
    for (const w of this.waiters) {
      if (moved >= limit) break;
      if (w.futexAddr === from && w.process.mm === mm) {
        w.futexAddr = to >>> 0;
        w.waitDesc = `futex 0x${(to >>> 0).toString(16)}`;
        moved++;
      }
    }
    return moved;
  }

  /** Removes a task whose wait ended otherwise (timeout, signal, exit). */
  cancel(t: Task): void {
    this.waiters = this.waiters.filter((w) => w !== t);
  }
}

function futex(
  k: Kernel,
  t: Task,
  uaddr: number,
  op: number,
  val: number,
  timeout: number,
  uaddr2: number,
  val3: number,
  t64: boolean,
): number {
  const cmd = op & 0x7f;
  const mm = t.process.mm;
  uaddr = uaddr >>> 0;
  switch (cmd) {
    case 0: // FUTEX_WAIT (relative timeout)
    case 9: {
      // FUTEX_WAIT_BITSET (absolute timeout)
      // As sys_futex: the timeout is checked (EFAULT, EINVAL) before the futex word is read.
      let wakeAt = -1;
      if (timeout) {
        const ts = readSleepTime(k, timeout, t64);
        if (typeof ts === 'number') return ts;
        if (cmd === 0) wakeAt = k.m.now() + k.m.nsToCycles(ts.sec * 1e9 + ts.nsec);
        else wakeAt = absoluteCycles(k, op & 256 ? CLOCK_REALTIME : CLOCK_MONOTONIC, ts.sec, ts.nsec);
      }
      const bitset = cmd === 9 ? val3 : -1;
      if (bitset === 0) return -EINVAL;
      const cur = k.get32(uaddr);
      if (cur === null) return -EFAULT;
      if (cur !== val) return -EAGAIN;
      return k.futex.wait(t, uaddr, bitset, wakeAt);
    }
    case 1:
      return k.futex.wake(mm, uaddr, val, -1);
    case 10:
      if (val3 === 0) return -EINVAL;
      return k.futex.wake(mm, uaddr, val, val3);
    case 3: // REQUEUE
    case 4: {
      // CMP_REQUEUE
      if (cmd === 4) {
        const cur = k.get32(uaddr);
        if (cur === null) return -EFAULT;
        if (cur !== val3) return -EAGAIN;
      }
      const woken = k.futex.wake(mm, uaddr, val, -1);
      // val2 travels in the timeout slot.
      return woken + k.futex.requeue(mm, uaddr, uaddr2 >>> 0, timeout >>> 0);
    }
    case 5: {
      // WAKE_OP
      const oparg0 = (val3 >> 12) & 0xfff;
      const opn = (val3 >> 28) & 7;
      const oparg = val3 & 0x80000000 ? 1 << oparg0 : oparg0;
      const cmpop = (val3 >> 24) & 15;
      const cmparg = val3 & 0xfff;
      const old = k.get32(uaddr2 >>> 0);
      if (old === null) return -EFAULT;
      const nv = [oparg, old + oparg, old | oparg, old & ~oparg, old ^ oparg][opn] ?? old;
      k.mem.write32(uaddr2 >>> 0, nv);
      let n = k.futex.wake(mm, uaddr, val, -1);
      const o = old | 0;
      const ok =
        [o === cmparg, o !== cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg][cmpop] ?? false;
      if (ok) n += k.futex.wake(mm, uaddr2 >>> 0, timeout >>> 0, -1);
      return n;
    }
    default:
      return -ENOSYS;
  }
}

export interface UserDesc {
  entry: number;
  base: number;
  limit: number;
  flags: number;
}

export function readUserDesc(k: Kernel, addr: number): UserDesc | null {
  if (!k.userRange(addr, 16, false)) return null;
  const mem = k.mem;
  return {
    entry: mem.read32(addr),
    base: mem.read32(addr + 4) >>> 0,
    limit: mem.read32(addr + 8) >>> 0,
    flags: mem.read32(addr + 12),
  };
}

export function installTls(t: Task, ud: UserDesc): number {
  let idx = ud.entry;
  if (idx === -1) {
    idx = -1;
    for (let i = 0; i < 3; i++)
      if (!t.cpu.tls[i]!.used) {
        idx = GDT_ENTRY_TLS_MIN + i;
        break;
      }
    if (idx < 0) return -ESRCH;
  }
  const slot = t.cpu.tls[idx - GDT_ENTRY_TLS_MIN];
  if (!slot) return -EINVAL;
  // An all-empty descriptor (seg_not_present + read_exec_only...) clears the slot.
  const empty = ud.base === 0 && ud.limit === 0 && (ud.flags & 0x28) === 0x28;
  slot.base = ud.base;
  slot.limit = ud.limit;
  slot.flags = ud.flags;
  slot.used = !empty;
  t.cpu.reloadTlsBases();
  return idx;
}

function setThreadArea(k: Kernel, t: Task, uinfo: number): number {
  const ud = readUserDesc(k, uinfo);
  if (!ud) return -EFAULT;
  const idx = installTls(t, ud);
  if (idx < 0) return idx;
  k.mem.write32(uinfo, idx);
  return 0;
}

function getThreadArea(k: Kernel, t: Task, uinfo: number): number {
  const idx = k.get32(uinfo);
  if (idx === null) return -EFAULT;
  const slot = t.cpu.tls[idx - GDT_ENTRY_TLS_MIN];
  if (!slot) return -EINVAL;
  k.mem.write32(uinfo + 4, slot.base);
  k.mem.write32(uinfo + 8, slot.limit);
  k.mem.write32(uinfo + 12, slot.flags);
  return 0;
}

/** clone(2) for a thread of the caller's group. */
export function cloneThread(
  k: Kernel,
  t: Task,
  flags: number,
  newSp: number,
  ptid: number,
  tls: number,
  ctid: number,
): number {
  let ud: UserDesc | null = null;
  if (flags & CLONE_SETTLS) {
    ud = readUserDesc(k, tls);
    if (!ud) return -EFAULT;
  }
  if (!k.m.mayCreateTask(t.process)) return -EAGAIN;
  const child = k.m.spawnThread(t, newSp >>> 0);
  if (ud) installTls(child, ud);
  if (flags & CLONE_PARENT_SETTID) k.put32(ptid, child.tid);
  if (flags & CLONE_CHILD_SETTID) k.put32(ctid, child.tid);
  if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = ctid >>> 0;
  return child.tid;
}

export function registerThreads(k: Kernel): void {
  const T = k.table;
  T.define('exit', (t, a) => {
    k.m.exitThread(t, a & 0xff);
    return 0;
  });
  T.define('set_thread_area', (t, a) => setThreadArea(k, t, a));
  T.define('get_thread_area', (t, a) => getThreadArea(k, t, a));
  T.define('set_tid_address', (t, a) => {
    t.clearChildTid = a >>> 0;
    return t.tid;
  });
  T.define('set_robust_list', (t, a) => {
    t.robustList = a >>> 0;
    return 0;
  });
  T.define('futex', (t, a, b, c, d, e, f) => futex(k, t, a, b, c, d, e, f, false));
  T.define('futex_time64', (t, a, b, c, d, e, f) => futex(k, t, a, b, c, d, e, f, true));
  T.define('gettid', (t) => t.tid);
  T.define('sched_yield', () => {
    k.m.yieldCurrent();
    return 0;
  });
}
