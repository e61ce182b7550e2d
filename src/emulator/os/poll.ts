// Readiness waits over descriptors: poll, ppoll, select (_newselect), pselect6. Guarantees: the
// answer reflects every description's poll() at one instant of virtual time; with nothing ready the
// task waits on all the descriptions' queues until one changes or the timeout (fixed at the first
// call, virtual clock) passes, then looks again; a closed descriptor in a poll set gives POLLNVAL,
// in a select set EBADF; results are written back only when the call completes.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EBADF, EFAULT, EINVAL } from './errno.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI } from './fd.js';
import { readSleepTime } from './time.js';
import type { WaitQueue } from './wait.js';

/** A deadline in cycles from now for `ns` nanoseconds (-1: none, wait forever). */
export function deadlineAfter(k: Kernel, ns: number): number {
  return ns < 0 ? -1 : k.m.now() + k.m.nsToCycles(ns);
}

/** Waits for a readiness change (or the deadline) and then runs `again`; immediate when expired. */
export function waitReady(
  k: Kernel,
  t: Task,
  what: string,
  queues: WaitQueue[],
  deadline: number,
  again: () => number,
): number {
  return k.m.blockRetry(t, what, queues, again, deadline);
}

function pollOnce(
  k: Kernel,
  t: Task,
  fdsAddr: number,
  nfds: number,
  deadline: number,
  expired: boolean,
): number {
  nfds = nfds >>> 0;
  if (nfds > t.process.fds.limit) return -EINVAL;
  if (!k.userRange(fdsAddr, nfds * 8, true)) return -EFAULT;
  const mem = k.mem;
  const revents: number[] = [];
  const queues: WaitQueue[] = [];
  let ready = 0;
  for (let i = 0; i < nfds; i++) {
    const fd = mem.read32(fdsAddr + 8 * i);
    const events = mem.read16(fdsAddr + 8 * i + 4);
    let r = 0;
    if (fd >= 0) {
      const d = t.process.fds.get(fd);
      if (!d) r = POLLNVAL;
      else {
        r = d.poll() & (events | POLLERR | POLLHUP);
        if (d.waiters) queues.push(d.waiters);
      }
    }
    revents.push(r);
    if (r) ready++;
  }
  if (ready === 0 && !expired && deadline !== k.m.now()) {
    return waitReady(k, t, 'poll', queues, deadline, () =>
      pollOnce(k, t, fdsAddr, nfds, deadline, t.timedOut),
    );
  }
  for (let i = 0; i < nfds; i++) mem.write16(fdsAddr + 8 * i + 6, revents[i]!);
  return ready;
}

/** One select set: nfds bits, little-endian 32-bit words; null when the pointer is 0. */
function readSet(k: Kernel, addr: number, nfds: number): Uint32Array | null | number {
  if (!addr) return null;
  const words = (nfds + 31) >>> 5;
  if (!k.userRange(addr, words * 4, true)) return -EFAULT;
  const s = new Uint32Array(words);
  for (let i = 0; i < words; i++) s[i] = k.mem.read32(addr + 4 * i) >>> 0;
  return s;
}

const has = (s: Uint32Array | null, fd: number) => s !== null && (s[fd >>> 5]! >>> (fd & 31)) & 1;

function selectOnce(
  k: Kernel,
  t: Task,
  nfds: number,
  rAddr: number,
  wAddr: number,
  eAddr: number,
  deadline: number,
  expired: boolean,
  done: (left: number) => void,
): number {
  if (nfds < 0 || nfds > t.process.fds.limit) return -EINVAL;
  const sets = [readSet(k, rAddr, nfds), readSet(k, wAddr, nfds), readSet(k, eAddr, nfds)];
  for (const s of sets) if (typeof s === 'number') return s;
  const [rs = null, ws = null, es = null] = sets as Array<Uint32Array | null>;
  const words = (nfds + 31) >>> 5;
  const out = [new Uint32Array(words), new Uint32Array(words), new Uint32Array(words)];
  const queues: WaitQueue[] = [];
  let ready = 0;
  for (let fd = 0; fd < nfds; fd++) {
    const want = [has(rs, fd), has(ws, fd), has(es, fd)];
    if (!want[0] && !want[1] && !want[2]) continue;
    const d = t.process.fds.get(fd);
    if (!d) return -EBADF;
    if (d.waiters) queues.push(d.waiters);
    const p = d.poll();
    const got = [p & (POLLIN | POLLHUP | POLLERR), p & (POLLOUT | POLLERR), p & POLLPRI];
    for (let i = 0; i < 3; i++)
      if (want[i] && got[i]) {
        out[i]![fd >>> 5]! |= 1 << (fd & 31);
        ready++;
      }
  }
  if (ready === 0 && !expired && deadline !== k.m.now()) {
    return waitReady(k, t, 'select', queues, deadline, () =>
      selectOnce(k, t, nfds, rAddr, wAddr, eAddr, deadline, t.timedOut, done),
    );
  }
  [rAddr, wAddr, eAddr].forEach((addr, i) => {
    if (addr) for (let w = 0; w < words; w++) k.mem.write32(addr + 4 * w, out[i]![w]!);
  });
  done(deadline < 0 ? -1 : Math.max(0, deadline - k.m.now()));
  return ready;
}

/** select's timeval -> ns (-1 = none). */
function timevalNs(k: Kernel, addr: number): number | null {
  if (!addr) return -1;
  const sec = k.get32(addr);
  const usec = k.get32(addr + 4);
  if (sec === null || usec === null) return null;
  if (sec < 0 || usec < 0 || usec >= 1e6) return Number.NaN;
  return sec * 1e9 + usec * 1000;
}

function select(k: Kernel, t: Task, nfds: number, r: number, w: number, e: number, tv: number): number {
  const ns = timevalNs(k, tv);
  if (ns === null) return -EFAULT;
  if (Number.isNaN(ns)) return -EINVAL;
  const deadline = deadlineAfter(k, ns);
  return selectOnce(k, t, nfds, r, w, e, deadline, false, (left) => {
    // Linux writes back the time not slept.
    if (tv && left >= 0) {
      const leftNs = k.m.cyclesToNs(left);
      k.put32(tv, Math.floor(leftNs / 1e9));
      k.put32(tv + 4, Math.floor((leftNs % 1e9) / 1000));
    }
  });
}

export function registerPoll(k: Kernel): void {
  const T = k.table;
  T.define('poll', (t, fds, n, ms) =>
    pollOnce(k, t, fds, n, deadlineAfter(k, ms < 0 ? -1 : ms * 1e6), false),
  );
  const ppoll = (t: Task, fds: number, n: number, ts: number, t64: boolean) => {
    let ns = -1;
    if (ts) {
      const v = readSleepTime(k, ts, t64); // EFAULT, or EINVAL as timespec64_valid
      if (typeof v === 'number') return v;
      ns = v.sec * 1e9 + v.nsec;
    }
    return pollOnce(k, t, fds, n, deadlineAfter(k, ns), false);
  };
  T.define('ppoll', (t, a, b, c) => ppoll(t, a, b, c, false));
  T.define('ppoll_time64', (t, a, b, c) => ppoll(t, a, b, c, true));
  T.define('_newselect', (t, a, b, c, d, e) => select(k, t, a, b, c, d, e));
  T.define('select', (t, args) => {
    // old_select: one pointer to the five arguments.
    if (!k.userRange(args, 20, false)) return -EFAULT;
    const v = [0, 1, 2, 3, 4].map((i) => k.mem.read32(args + 4 * i));
    return select(k, t, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!);
  });
  const pselect = (t: Task, n: number, r: number, w: number, e: number, ts: number, t64: boolean) => {
    let ns = -1;
    if (ts) {
      const v = readSleepTime(k, ts, t64); // EFAULT, or EINVAL as timespec64_valid
      if (typeof v === 'number') return v;
      ns = v.sec * 1e9 + v.nsec;
    }
    // Like select, Linux writes the time not slept back into the timespec (glibc's select relies on it).
    return selectOnce(k, t, n, r, w, e, deadlineAfter(k, ns), false, (left) => {
      if (!ts || left < 0) return;
      const leftNs = k.m.cyclesToNs(left);
      k.put32(ts, Math.floor(leftNs / 1e9));
      if (t64) {
        k.put32(ts + 4, 0);
        k.put32(ts + 8, leftNs % 1e9);
        k.put32(ts + 12, 0);
      } else k.put32(ts + 4, leftNs % 1e9);
    });
  };
  T.define('pselect6', (t, a, b, c, d, e) => pselect(t, a, b, c, d, e, false));
  T.define('pselect6_time64', (t, a, b, c, d, e) => pselect(t, a, b, c, d, e, true));
}
