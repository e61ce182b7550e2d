// Scheduling attributes: sched_setscheduler/getscheduler, sched_setparam/getparam,
// sched_get_priority_min/max, sched_rr_get_interval(_time64), sched_setaffinity/getaffinity,
// getcpu, getpriority/setpriority and nice. Guarantees, as Linux kernel/sched/core.c answers an
// unprivileged caller (RLIMIT_RTPRIO and RLIMIT_NICE are 0 by default): EINVAL for a bad policy,
// priority or pid, ESRCH for no such task, EPERM for a real-time policy or for leaving SCHED_IDLE,
// EACCES (EPERM for nice) for lowering a nice value; the values set are kept per task and inherited
// by threads and forks (SCHED_RESET_ON_FORK honoured). The affinity mask is enforced: the machine
// runs a task only on the vCPUs it allows. Policy, priority and nice are reported, not used: the
// scheduler runs every task alike.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EACCES, EFAULT, EINVAL, EPERM, ESRCH } from './errno.js';
import { limitsOf } from './rlimit.js';

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_RR = 2;
const SCHED_BATCH = 3;
const SCHED_IDLE = 5;
const SCHED_DEADLINE = 6;
const SCHED_RESET_ON_FORK = 0x40000000;
/** sched_setparam: keep the policy (the kernel's SETPARAM_POLICY). */
const KEEP_POLICY = -1;
const RLIMIT_NICE = 13;
const RLIMIT_RTPRIO = 14;
/** SCHED_RR's time slice (RR_TIMESLICE, 100 ms). */
const RR_TIMESLICE_NS = 100_000_000;

const isRt = (policy: number) => policy === SCHED_FIFO || policy === SCHED_RR;
const validPolicy = (policy: number) =>
  policy === SCHED_OTHER ||
  isRt(policy) ||
  policy === SCHED_BATCH ||
  policy === SCHED_IDLE ||
  policy === SCHED_DEADLINE;

/**
 * A new thread or process starts with its creator's scheduling attributes (policy, priority, nice,
 * affinity); after SCHED_RESET_ON_FORK a real-time or negative-nice creator's child is back to
 * SCHED_OTHER and nice 0, as sched_fork() does.
 */
export function inheritSched(from: Task, to: Task): void {
  to.affinity = from.affinity;
  to.policy = from.policy;
  to.rtPriority = from.rtPriority;
  to.nice = from.nice;
  to.resetOnFork = false;
  if (!from.resetOnFork) return;
  if (isRt(from.policy)) {
    to.policy = SCHED_OTHER;
    to.rtPriority = 0;
    to.nice = 0;
  } else if (to.nice < 0) to.nice = 0;
}

/** The task a pid argument names: 0 is the caller; a negative pid is EINVAL, an unknown one ESRCH. */
function target(k: Kernel, t: Task, pid: number): Task | number {
  if (pid < 0) return -EINVAL;
  if (pid === 0) return t;
  const x = k.m.tasks.get(pid);
  return x && x.state !== 'zombie' ? x : -ESRCH;
}

/** can_nice(): may the task's nice value become `nice` (RLIMIT_NICE allows 20 - nice)? */
function canNice(x: Task, nice: number): boolean {
  return limitsOf(x.process).cur[RLIMIT_NICE]! >= 20 - nice;
}

/** __sched_setscheduler for an unprivileged caller (`policy` KEEP_POLICY: sched_setparam). */
function setScheduler(k: Kernel, t: Task, pid: number, policy: number, param: number): number {
  if (!param || pid < 0) return -EINVAL;
  const prio = k.get32(param);
  if (prio === null) return -EFAULT;
  const x = target(k, t, pid);
  if (typeof x === 'number') return x;
  let reset = x.resetOnFork;
  if (policy === KEEP_POLICY) policy = x.policy;
  else {
    if (policy < 0) return -EINVAL;
    reset = (policy & SCHED_RESET_ON_FORK) !== 0;
    policy &= ~SCHED_RESET_ON_FORK;
    if (!validPolicy(policy)) return -EINVAL;
  }
  if (prio < 0 || prio > 99) return -EINVAL;
  // A deadline task needs sched_setattr's runtime/period; SCHED_DEADLINE from here always fails the check.
  if (policy === SCHED_DEADLINE || isRt(policy) !== (prio !== 0)) return -EINVAL;
  if (isRt(policy)) {
    const rlim = limitsOf(x.process).cur[RLIMIT_RTPRIO]!;
    if (policy !== x.policy && !rlim) return -EPERM;
    if (prio > x.rtPriority && prio > rlim) return -EPERM;
  }
  if (x.policy === SCHED_IDLE && policy !== SCHED_IDLE && !canNice(x, x.nice)) return -EPERM;
  if (x.resetOnFork && !reset) return -EPERM;
  x.policy = policy;
  x.rtPriority = prio;
  x.resetOnFork = reset;
  return 0;
}

function getParam(k: Kernel, t: Task, pid: number, param: number): number {
  if (!param || pid < 0) return -EINVAL;
  const x = target(k, t, pid);
  if (typeof x === 'number') return x;
  return k.put32(param, x.rtPriority) ? 0 : -EFAULT;
}

function rrInterval(k: Kernel, t: Task, pid: number, tp: number, t64: boolean): number {
  const x = target(k, t, pid);
  if (typeof x === 'number') return x;
  // FIFO has no slice; RR has RR_TIMESLICE; the others get the machine's preemption tick.
  const ns =
    x.policy === SCHED_FIFO ? 0 : x.policy === SCHED_RR ? RR_TIMESLICE_NS : k.m.cyclesToNs(k.m.tickCycles);
  const sec = Math.floor(ns / 1e9);
  const words = t64 ? [sec, 0, ns - sec * 1e9, 0] : [sec, ns - sec * 1e9];
  if (!k.userRange(tp, words.length * 4, true)) return -EFAULT;
  words.forEach((w, i) => k.mem.write32(tp + 4 * i, w));
  return 0;
}

/** Bytes of a CPU mask as sched_getaffinity reports it: a whole number of longs, at least one. */
function maskBytes(k: Kernel): number {
  return Math.max(4, Math.ceil(k.m.ncpus / 32) * 4);
}

function getAffinity(k: Kernel, t: Task, pid: number, len: number, mask: number): number {
  const bytes = maskBytes(k);
  if ((len >>> 0) * 8 < k.m.ncpus || len & 3) return -EINVAL;
  const x = target(k, t, pid);
  if (typeof x === 'number') return x;
  if (!k.userRange(mask, bytes, true)) return -EFAULT;
  const b = new Uint8Array(bytes);
  for (let i = 0; i < k.m.ncpus; i++)
    if (!x.affinity || x.affinity[i >> 3]! & (1 << (i & 7))) b[i >> 3]! |= 1 << (i & 7);
  k.mem.writeBytes(mask, b);
  return bytes;
}

/** sched_setaffinity: the mask (zero-extended when short) limited to the machine's vCPUs; empty is EINVAL. */
function setAffinity(k: Kernel, t: Task, pid: number, len: number, mask: number): number {
  const n = Math.min(len >>> 0, maskBytes(k));
  if (n > 0 && !k.userRange(mask, n, false)) return -EFAULT;
  const x = target(k, t, pid);
  if (typeof x === 'number') return x;
  const src = n > 0 ? k.mem.readBytes(mask, n) : new Uint8Array(0);
  const cpus = k.m.ncpus;
  const a = new Uint8Array(Math.ceil(cpus / 8));
  let count = 0;
  for (let i = 0; i < cpus; i++)
    if ((src[i >> 3] ?? 0) & (1 << (i & 7))) {
      a[i >> 3]! |= 1 << (i & 7);
      count++;
    }
  if (count === 0) return -EINVAL;
  x.affinity = count === cpus ? null : a;
  // Off an allowed vCPU now: it moves at once (the machine checks after this call).
  if (x === t) k.m.yieldCurrent();
  return 0;
}

/** getcpu(cpu, node, tcache): the vCPU running the caller, node 0. */
function getcpu(k: Kernel, cpu: number, node: number): number {
  if (cpu && !k.put32(cpu, k.m.currentCpuId)) return -EFAULT;
  if (node && !k.put32(node, 0)) return -EFAULT;
  return 0;
}

const PRIO_PROCESS = 0;
const PRIO_PGRP = 1;
const PRIO_USER = 2;

/** The tasks getpriority/setpriority address, or an errno. */
function prioTargets(k: Kernel, t: Task, which: number, who: number): Task[] | number {
  const live = [...k.m.tasks.values()].filter((x) => x.state !== 'zombie');
  if (which === PRIO_PROCESS) {
    const x = who === 0 ? t : live.find((y) => y.tid === who);
    return x ? [x] : -ESRCH;
  }
  if (which === PRIO_PGRP) {
    const pgid = who === 0 ? t.process.pgid : who;
    const xs = live.filter((y) => y.process.pgid === pgid);
    return xs.length ? xs : -ESRCH;
  }
  if (which === PRIO_USER) return who === 0 || who === 1000 ? live : -ESRCH;
  return -EINVAL;
}

/** getpriority: 20 - nice of the highest-priority target (the raw call never returns a negative). */
function getpriority(k: Kernel, t: Task, which: number, who: number): number {
  const xs = prioTargets(k, t, which, who);
  if (typeof xs === 'number') return xs;
  return 20 - Math.min(...xs.map((x) => x.nice));
}

function setpriority(k: Kernel, t: Task, which: number, who: number, nice: number): number {
  const xs = prioTargets(k, t, which, who);
  if (typeof xs === 'number') return xs;
  nice = Math.max(-20, Math.min(19, nice));
  let err = 0;
  for (const x of xs) {
    if (nice < x.nice && !canNice(x, nice)) err = -EACCES;
    else x.nice = nice;
  }
  return err;
}

function nice(t: Task, inc: number): number {
  const v = Math.max(-20, Math.min(19, t.nice + Math.max(-40, Math.min(40, inc))));
  if (v < t.nice && !canNice(t, v)) return -EPERM;
  t.nice = v;
  return 0;
}

export function registerSched(k: Kernel): void {
  const T = k.table;
  T.define('sched_setscheduler', (t, pid, policy, param) => setScheduler(k, t, pid, policy, param));
  T.define('sched_setparam', (t, pid, param) => setScheduler(k, t, pid, KEEP_POLICY, param));
  T.define('sched_getscheduler', (t, pid) => {
    const x = target(k, t, pid);
    return typeof x === 'number' ? x : x.policy | (x.resetOnFork ? SCHED_RESET_ON_FORK : 0);
  });
  T.define('sched_getparam', (t, pid, param) => getParam(k, t, pid, param));
  T.define('sched_get_priority_max', (_t, p) => (isRt(p) ? 99 : validPolicy(p) ? 0 : -EINVAL));
  T.define('sched_get_priority_min', (_t, p) => (isRt(p) ? 1 : validPolicy(p) ? 0 : -EINVAL));
  T.define('sched_rr_get_interval', (t, pid, tp) => rrInterval(k, t, pid, tp, false));
  T.define('sched_rr_get_interval_time64', (t, pid, tp) => rrInterval(k, t, pid, tp, true));
  T.define('sched_getaffinity', (t, pid, len, mask) => getAffinity(k, t, pid, len, mask));
  T.define('sched_setaffinity', (t, pid, len, mask) => setAffinity(k, t, pid, len, mask));
  T.define('getcpu', (_t, cpu, node) => getcpu(k, cpu, node));
  T.define('getpriority', (t, which, who) => getpriority(k, t, which, who));
  T.define('setpriority', (t, which, who, v) => setpriority(k, t, which, who, v));
  T.define('nice', (t, inc) => nice(t, inc));
}
