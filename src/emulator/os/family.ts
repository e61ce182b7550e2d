// Process-family syscalls: fork, vfork, clone (threads or processes), execve, wait4/waitpid/waitid
// with Linux status words (exits, and stops and continues with WUNTRACED/WSTOPPED/WCONTINUED, each
// reported once unless WNOWAIT), getppid, process groups and sessions (setpgid, getpgid, getpgrp, setsid,
// getsid) and kill of a process, a group or everyone. Guarantees: children are matched and reaped
// in creation order (deterministic); a waiter sleeps on its process's child-wait queue and retries
// when a child changes state; kill's permission model is "one user owns everything"; delivery goes
// through Machine.signalProcess (the signals module, or default actions).

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { chargeReaped, childRusage, writeRusage } from './usage.js';
import { EACCES, ECHILD, EFAULT, EINVAL, EPERM, ESRCH } from './errno.js';
import { cloneProcess, execve } from './lifecycle.js';
import type { Process } from './process.js';
import { CLONE_THREAD, CLONE_VFORK, CLONE_VM, cloneThread } from './threads.js';

const WNOHANG = 1;
/** WUNTRACED for wait4. */
const WSTOPPED = 2;
const WEXITED = 4;
const WCONTINUED = 8;
const WNOWAIT = 0x01000000;
const SIGCHLD = 17;
const SIGCONT = 18;
const CLD_STOPPED = 5;
const CLD_CONTINUED = 6;
const P_ALL = 0;
const P_PID = 1;
const P_PGID = 2;

/** Does child `c` match wait4's pid argument, as seen from process `self`? */
function matches(self: Process, c: Process, pid: number): boolean {
  if (pid > 0) return c.pid === pid;
  if (pid === -1) return true;
  if (pid === 0) return c.pgid === self.pgid;
  return c.pgid === -pid;
}

/** A child state change wait can report: its end, a completed stop, or a continue. */
interface Report {
  child: Process;
  kind: 'exit' | 'stop' | 'continue';
}

/**
 * do_wait()'s scan: the first child matching `pid` (in creation order) with a state change the
 * options ask for; null when none is ready; -ECHILD when no child matches at all.
 */
function findReport(self: Process, pid: number, options: number): Report | null | number {
  let any = false;
  for (const c of self.children) {
    if (!matches(self, c, pid)) continue;
    any = true;
    if (c.state === 'zombie') {
      if (options & WEXITED) return { child: c, kind: 'exit' };
      continue;
    }
    if (options & WSTOPPED && c.stopReport) return { child: c, kind: 'stop' };
    if (options & WCONTINUED && c.continueReport) return { child: c, kind: 'continue' };
  }
  return any ? null : -ECHILD;
}

/** The wait status word of a report: exit/kill status, (sig << 8) | 0x7f stopped, 0xffff continued. */
function statusWord(r: Report): number {
  if (r.kind === 'stop') return (r.child.stopReport << 8) | 0x7f;
  return r.kind === 'continue' ? 0xffff : r.child.waitStatus;
}

/** Consumes what was reported (wait without WNOWAIT): a zombie is reaped, a stop or continue cleared. */
function consume(k: Kernel, r: Report): void {
  if (r.kind === 'exit') {
    chargeReaped(k, r.child);
    k.m.reap(r.child);
  } else if (r.kind === 'stop') r.child.stopReport = 0;
  else r.child.continueReport = false;
}

function wait4(k: Kernel, t: Task, pid: number, status: number, options: number, rusage: number): number {
  if (options & ~(WNOHANG | WSTOPPED | WCONTINUED | 0x20000000 | 0x40000000 | 0x80000000)) return -EINVAL;
  const z = findReport(t.process, pid, options | WEXITED);
  if (typeof z === 'number') return z;
  if (!z) {
    if (options & WNOHANG) return 0;
    return k.m.blockRetry(t, `wait4(${pid})`, [t.process.childWait], () =>
      wait4(k, t, pid, status, options, rusage),
    );
  }
  if (status && !k.put32(status, statusWord(z))) return -EFAULT;
  if (rusage && !writeRusage(k, rusage, childRusage(k, z.child))) return -EFAULT;
  consume(k, z);
  return z.child.pid;
}

/**
 * siginfo_t for a reported child: si_signo, si_code (CLD_EXITED/KILLED/DUMPED/STOPPED/CONTINUED),
 * pid, uid, status (exit code or signal); all zero when nothing was ready (WNOHANG).
 */
function writeChildInfo(k: Kernel, infop: number, r: Report | null): boolean {
  if (!k.userRange(infop, 128, true)) return false;
  const b = new Uint8Array(128);
  if (r) {
    const z = r.child;
    const v = new DataView(b.buffer);
    const sig = z.waitStatus & 0x7f;
    v.setInt32(0, SIGCHLD, true);
    v.setInt32(12, z.pid, true);
    v.setInt32(16, 1000, true);
    if (r.kind === 'stop') {
      v.setInt32(8, CLD_STOPPED, true);
      v.setInt32(20, z.stopReport, true);
    } else if (r.kind === 'continue') {
      v.setInt32(8, CLD_CONTINUED, true);
      v.setInt32(20, SIGCONT, true);
    } else {
      v.setInt32(8, sig === 0 ? 1 : z.waitStatus & 0x80 ? 3 : 2, true);
      v.setInt32(20, sig === 0 ? (z.waitStatus >> 8) & 0xff : sig, true);
    }
  }
  k.mem.writeBytes(infop, b);
  return true;
}

function waitid(
  k: Kernel,
  t: Task,
  idtype: number,
  id: number,
  infop: number,
  options: number,
  rusage: number,
): number {
  let pid: number;
  if (idtype === P_ALL) pid = -1;
  else if (idtype === P_PID) pid = id > 0 ? id : -2147483648;
  else if (idtype === P_PGID) pid = id > 0 ? -id : 0;
  else return -EINVAL;
  if (options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | 0x20000000 | 0x40000000 | 0x80000000))
    return -EINVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -EINVAL;
  const z = findReport(t.process, pid, options);
  if (typeof z === 'number') return z;
  if (!z) {
    if (options & WNOHANG) return infop && !writeChildInfo(k, infop, null) ? -EFAULT : 0;
    return k.m.blockRetry(t, `waitid(${idtype}, ${id})`, [t.process.childWait], () =>
      waitid(k, t, idtype, id, infop, options, rusage),
    );
  }
  if (infop && !writeChildInfo(k, infop, z)) return -EFAULT;
  if (rusage && !writeRusage(k, rusage, childRusage(k, z.child))) return -EFAULT;
  if (!(options & WNOWAIT)) consume(k, z);
  return 0;
}

function findProcess(k: Kernel, pid: number): Process | undefined {
  const p = k.m.processes.get(pid);
  return p && p.state !== 'reaped' ? p : undefined;
}

function setpgid(k: Kernel, t: Task, pid: number, pgid: number): number {
  const self = t.process;
  if (pgid < 0) return -EINVAL;
  const target = pid === 0 ? self : findProcess(k, pid);
  if (!target || (target !== self && target.parent !== self)) return -ESRCH;
  if (target !== self && target.execed) return -EACCES;
  if (target.sid !== self.sid) return -EPERM;
  if (target.sid === target.pid) return -EPERM; // a session leader keeps its group
  const g = pgid === 0 ? target.pid : pgid;
  if (g !== target.pid) {
    let exists = false;
    for (const p of k.m.processes.values())
      if (p.pgid === g && p.sid === self.sid && p.state === 'alive') exists = true;
    if (!exists) return -EPERM;
  }
  target.pgid = g;
  return 0;
}

function setsid(t: Task, k: Kernel): number {
  const self = t.process;
  for (const p of k.m.processes.values()) if (p.pgid === self.pid && p.state !== 'reaped') return -EPERM;
  self.sid = self.pid;
  self.pgid = self.pid;
  return self.pid;
}

/** kill(2): pid > 0 one process, 0 the caller's group, -1 everyone but the first process and the caller, < -1 a group. */
function kill(k: Kernel, t: Task, pid: number, sig: number): number {
  if (sig < 0 || sig > 64) return -EINVAL;
  let targets: Process[];
  const live = [...k.m.processes.values()].filter((p) => p.state === 'alive');
  if (pid > 0) targets = live.filter((p) => p.pid === pid);
  else if (pid === 0) targets = live.filter((p) => p.pgid === t.process.pgid);
  else if (pid === -1) targets = live.filter((p) => p !== k.m.initProcess && p !== t.process);
  else targets = live.filter((p) => p.pgid === -pid);
  if (targets.length === 0) {
    // A zombie still exists for kill's purposes (signal 0 probes succeed).
    const z = pid > 0 ? findProcess(k, pid) : undefined;
    return z ? 0 : -ESRCH;
  }
  // The caller last: a signal that kills it must not stop it from signalling the others.
  targets.sort((a, b) => (a === t.process ? 1 : 0) - (b === t.process ? 1 : 0));
  for (const p of targets) k.m.signalProcess(p, sig, t);
  return 0;
}

export function registerFamily(k: Kernel): void {
  const T = k.table;
  T.define('fork', (t) => cloneProcess(k, t, SIGCHLD, 0, 0, 0, 0));
  T.define('vfork', (t) => cloneProcess(k, t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0));
  T.define('clone', (t, flags, sp, ptid, tls, ctid) =>
    flags & CLONE_THREAD
      ? flags & CLONE_VM
        ? cloneThread(k, t, flags, sp, ptid, tls, ctid)
        : -EINVAL
      : cloneProcess(k, t, flags, sp, ptid, tls, ctid),
  );
  T.define('execve', (t, a, b, c) => execve(k, t, a, b, c));
  T.define('wait4', (t, a, b, c, d) => wait4(k, t, a, b, c, d));
  T.define('waitpid', (t, a, b, c) => wait4(k, t, a, b, c, 0));
  T.define('waitid', (t, a, b, c, d, e) => waitid(k, t, a, b, c, d, e));
  T.define('getppid', (t) => t.process.parent?.pid ?? 1);
  T.define('getpgid', (t, pid) => {
    const p = pid === 0 ? t.process : findProcess(k, pid);
    return p ? p.pgid : -ESRCH;
  });
  T.define('getpgrp', (t) => t.process.pgid);
  T.define('setpgid', (t, a, b) => setpgid(k, t, a, b));
  T.define('setsid', (t) => setsid(t, k));
  T.define('getsid', (t, pid) => {
    const p = pid === 0 ? t.process : findProcess(k, pid);
    return p ? p.sid : -ESRCH;
  });
  T.define('kill', (t, a, b) => kill(k, t, a, b));
}
