// The signal and timer system calls (rows of the syscall table) and the machine hooks that make
// signals work: delivery at every return to user mode, faults to handlers, timers on the virtual
// clock, per-thread state for new tasks. Guarantees: Linux's argument checks and error numbers
// (a sigset size other than 8 is EINVAL, a bad pointer EFAULT, SIGKILL/SIGSTOP can be neither caught
// nor blocked); sigsuspend, pause and rt_sigtimedwait wait on the scheduler and end only on a signal
// or their timeout; every time is virtual.

import { EAX, ESP } from '../cpu.js';
import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import type { Process } from './process.js';
import { EAGAIN, EFAULT, EINTR, EINVAL, ENOMEM, EPERM, ESRCH } from './errno.js';
import { faultSignal } from './signals-fault.js';
import { onSigStack, restoreFrame, sasSsFlags } from './signals-frame.js';
import { ERESTARTNOHAND, processState, processTimers, SignalKernel, threadState } from './signals-kernel.js';
import { registerSignalfd } from './signals-fd.js';
import { ITIMER_PROF, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD_ID } from './signals-timers.js';
import {
  dequeueSignal,
  MINSIGSTKSZ,
  NSIG,
  SA_NOCLDWAIT,
  SA_NODEFER,
  SA_RESETHAND,
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  SI_TKILL,
  SI_USER,
  SIG_BLOCK,
  SIG_SETMASK,
  SIG_UNBLOCK,
  SIGALRM,
  SIGCHLD,
  SIG_IGN,
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SigInfo,
  SigSet,
  SS_AUTODISARM,
  SS_DISABLE,
  SS_ONSTACK,
  type ThreadSigState,
} from './signals.js';
import { EPOCH } from './time.js';
import { BLOCKED } from './table.js';

interface NewAction {
  handler: number;
  flags: number;
  mask: SigSet;
  restorer: number;
}

export function registerSignals(k: Kernel): SignalKernel {
  const m = k.m;
  const sk = new SignalKernel(m);
  const T = k.table;
  const mem = () => k.mem;
  const validSig = (sig: number) => sig >= 1 && sig <= NSIG;

  // ------------------------------------------------------------ machine hooks
  m.signals = {
    beforeUserReturn: (t) => sk.exitToUser(t),
    fault: (t, _signo, vector, code, addr) => {
      const f = faultSignal(vector, code, addr, t.cpu.eip >>> 0);
      return sk.forceFault(t, f.info, f.trap);
    },
    nextTimer: () => sk.nextTimer(),
    fireTimers: (now) => sk.fireTimers(now),
    // SIGCHLD, SIGPIPE and kill() from the process code (os/family.ts, os/pipe.ts).
    sendProcess: (p, sig, from) =>
      void sk.sendToProcess(
        p,
        from
          ? SigInfo.user(sig, SI_USER, from.process.pid, 1000)
          : (childInfo(p, sig) ?? SigInfo.kernel(sig)),
      ),
  };
  /** Children whose exit has been reported to their parent already. */
  const reported = new WeakSet<Process>();
  /**
   * The exit signal a child's end sends its parent carries the child (do_notify_parent): si_pid, si_uid,
   * CLD_EXITED with the exit code, or CLD_KILLED / CLD_DUMPED with the signal. The machine sends it
   * right after marking the child a zombie, so that child is the one zombie not reported yet.
   */
  const childInfo = (parent: Process, sig: number): SigInfo | null => {
    const c = parent.children.find((x) => x.state === 'zombie' && !reported.has(x));
    if (!c) return null;
    reported.add(c);
    // A parent that ignores SIGCHLD or set SA_NOCLDWAIT does not keep zombies: the child is reaped
    // now, and its wait4 ends with ECHILD once no child is left (do_notify_parent's autoreap).
    const a = processState(parent).actions[SIGCHLD]!;
    if (sig === SIGCHLD && (a.handler === SIG_IGN || a.flags & SA_NOCLDWAIT)) m.reap(c);
    const ws = c.waitStatus;
    const term = ws & 0x7f;
    const info = new SigInfo(sig, term === 0 ? CLD_EXITED : ws & 0x80 ? CLD_DUMPED : CLD_KILLED);
    info.w[3] = c.pid;
    info.w[4] = 1000;
    info.w[5] = term === 0 ? (ws >> 8) & 0xff : term;
    return info;
  };
  // A new thread starts with its creator's mask (clone copies `blocked`), a forked child also with
  // its alternate stack; an exec'd image gets default handlers for what it handled, no altstack.
  m.hooks.taskStart.add((t) => {
    if (t.signals.state) return;
    const parent = m.tasks.get(t.parentTid);
    const ps = parent?.signals.state;
    if (!ps) return;
    t.signals.state = parent.process === t.process ? ps.cloneForThread() : ps.cloneForFork();
  });
  m.hooks.fork.add((parent, child) => {
    if (parent.signals.state) child.signals.state = parent.signals.state.forkCopy();
  });
  m.hooks.exec.add((proc, t) => {
    proc.signals.state?.resetOnExec();
    proc.signals.timers?.forExec();
    const s = t.signals.state;
    if (s) {
      s.altSp = 0;
      s.altSize = 0;
      s.altFlags = SS_DISABLE;
    }
  });

  // ------------------------------------------------------------ helpers

  const readSet = (addr: number): SigSet | null => {
    if (!k.userRange(addr, 8, false)) return null;
    return new SigSet(mem().read32(addr) >>> 0, mem().read32(addr + 4) >>> 0);
  };
  const writeSet = (addr: number, s: SigSet, bytes = 8): boolean => {
    if (!k.userRange(addr, bytes, true)) return false;
    mem().write32(addr, s.lo);
    if (bytes > 4) mem().write32(addr + 4, s.hi);
    return true;
  };
  /** A timespec/timeval in ns; null for a bad pointer, -1 for a malformed value. */
  const readTime = (addr: number, t64: boolean, nsec: boolean): number | null => {
    if (t64) {
      if (!k.userRange(addr, 16, false)) return null;
      const sec = mem().read32(addr + 4) * 4294967296 + (mem().read32(addr) >>> 0);
      const frac = mem().read32(addr + 8);
      if (sec < 0 || frac < 0 || frac >= 1e9) return -1;
      return sec * 1e9 + frac;
    }
    if (!k.userRange(addr, 8, false)) return null;
    const sec = mem().read32(addr);
    const frac = mem().read32(addr + 4);
    const unit = nsec ? 1 : 1000;
    if (sec < 0 || frac < 0 || frac * unit >= 1e9) return -1;
    return sec * 1e9 + frac * unit;
  };
  const putTime = (addr: number, ns: number, t64: boolean, usec: boolean): boolean => {
    const sec = Math.floor(ns / 1e9);
    const frac = usec ? Math.floor((ns % 1e9) / 1000) : ns % 1e9;
    if (!k.userRange(addr, t64 ? 16 : 8, true)) return false;
    if (t64) {
      mem().write32(addr, sec % 4294967296);
      mem().write32(addr + 4, Math.floor(sec / 4294967296));
      mem().write32(addr + 8, frac);
      mem().write32(addr + 12, 0);
    } else {
      mem().write32(addr, sec);
      mem().write32(addr + 4, frac);
    }
    return true;
  };
  const copyInfo = (addr: number, info: SigInfo): number => {
    if (!addr) return 0;
    if (!k.userRange(addr, 128, true)) return -EFAULT;
    for (let i = 0; i < 32; i++) mem().write32(addr + 4 * i, info.w[i]!);
    return 0;
  };

  // ------------------------------------------------------------ dispositions

  const snapshot = (t: Task, sig: number): NewAction => {
    const a = processState(t.process).actions[sig]!;
    return { handler: a.handler, flags: a.flags, restorer: a.restorer, mask: a.mask.clone() };
  };

  /** do_sigaction(): install, then drop what the new disposition ignores from every pending set. */
  const doSigaction = (t: Task, sig: number, next: NewAction | null): number => {
    if (!validSig(sig) || (next && (sig === SIGKILL || sig === SIGSTOP))) return -EINVAL;
    if (!next) return 0;
    const p = processState(t.process);
    const a = p.actions[sig]!;
    a.handler = next.handler >>> 0;
    a.flags = next.flags | 0;
    a.mask.set(next.mask.blockable());
    a.restorer = next.restorer >>> 0;
    if (p.ignored(sig, new SigSet())) {
      p.shared.flush(sig);
      for (const x of sk.threads(t.process)) threadState(x).pending.flush(sig);
    }
    return 0;
  };

  /** rt_sigaction(sig, act, oact, sigsetsize): struct sigaction is handler, flags, restorer, mask[2]. */
  const rtSigaction = (t: Task, sig: number, act: number, oact: number, size: number): number => {
    if (size !== 8) return -EINVAL;
    let next: NewAction | null = null;
    if (act) {
      if (!k.userRange(act, 20, false)) return -EFAULT;
      const M = mem();
      next = {
        handler: M.read32(act),
        flags: M.read32(act + 4),
        restorer: M.read32(act + 8),
        mask: new SigSet(M.read32(act + 12) >>> 0, M.read32(act + 16) >>> 0),
      };
    }
    const old = validSig(sig) ? snapshot(t, sig) : null;
    const r = doSigaction(t, sig, next);
    if (r < 0) return r;
    if (oact && old) {
      if (!k.userRange(oact, 20, true)) return -EFAULT;
      const M = mem();
      M.write32(oact, old.handler);
      M.write32(oact + 4, old.flags);
      M.write32(oact + 8, old.restorer);
      M.write32(oact + 12, old.mask.lo);
      M.write32(oact + 16, old.mask.hi);
    }
    return 0;
  };

  /** sigaction(2) with struct old_sigaction: handler, 32-bit mask, flags, restorer. */
  const oldSigaction = (t: Task, sig: number, act: number, oact: number): number => {
    let next: NewAction | null = null;
    if (act) {
      if (!k.userRange(act, 16, false)) return -EFAULT;
      const M = mem();
      next = {
        handler: M.read32(act),
        mask: new SigSet(M.read32(act + 4) >>> 0, 0),
        flags: M.read32(act + 8),
        restorer: M.read32(act + 12),
      };
    }
    const old = validSig(sig) ? snapshot(t, sig) : null;
    const r = doSigaction(t, sig, next);
    if (r < 0) return r;
    if (oact && old) {
      if (!k.userRange(oact, 16, true)) return -EFAULT;
      const M = mem();
      M.write32(oact, old.handler);
      M.write32(oact + 4, old.mask.lo);
      M.write32(oact + 8, old.flags);
      M.write32(oact + 12, old.restorer);
    }
    return 0;
  };

  T.redefine('rt_sigaction', (t, a, b, c, d) => rtSigaction(t, a, b, c, d));
  T.define('sigaction', (t, a, b, c) => oldSigaction(t, a, b, c));
  // signal(2): SA_ONESHOT | SA_NOMASK; returns the old handler.
  T.define('signal', (t, sig, handler) => {
    if (!validSig(sig)) return -EINVAL;
    const old = snapshot(t, sig);
    const r = doSigaction(t, sig, {
      handler,
      flags: SA_RESETHAND | SA_NODEFER,
      mask: new SigSet(),
      restorer: 0,
    });
    return r < 0 ? r : old.handler | 0;
  });

  // ------------------------------------------------------------ masks and pending sets

  const changeMask = (s: ThreadSigState, how: number, set: SigSet): number => {
    set.blockable();
    if (how === SIG_BLOCK) s.blocked.or(set);
    else if (how === SIG_UNBLOCK) s.blocked.andNot(set);
    else if (how === SIG_SETMASK) s.blocked.set(set);
    else return -EINVAL;
    return 0;
  };

  T.redefine('rt_sigprocmask', (t, how, set, oset, size) => {
    if (size !== 8) return -EINVAL;
    const s = threadState(t);
    const old = s.blocked.clone();
    if (set) {
      const n = readSet(set);
      if (!n) return -EFAULT;
      const r = changeMask(s, how, n);
      if (r < 0) return r;
    }
    if (oset && !writeSet(oset, old)) return -EFAULT;
    return 0;
  });
  // sigprocmask(2) on old_sigset_t: only the first 32 signals.
  T.define('sigprocmask', (t, how, set, oset) => {
    const s = threadState(t);
    const old = s.blocked.clone();
    if (set) {
      if (!k.userRange(set, 4, false)) return -EFAULT;
      const lo = mem().read32(set) >>> 0;
      const r = changeMask(s, how, new SigSet(lo, how === SIG_SETMASK ? s.blocked.hi : 0));
      if (r < 0) return r;
    }
    if (oset && !writeSet(oset, old, 4)) return -EFAULT;
    return 0;
  });

  const sigpending = (t: Task, set: number, size: number): number => {
    if (size > 8) return -EINVAL;
    const s = threadState(t);
    const shared = processState(t.process).shared.set;
    const r = new SigSet(
      (s.pending.set.lo | shared.lo) & s.blocked.lo,
      (s.pending.set.hi | shared.hi) & s.blocked.hi,
    );
    return writeSet(set, r, size) ? 0 : -EFAULT;
  };
  T.define('rt_sigpending', (t, a, b) => sigpending(t, a, b));
  T.define('sigpending', (t, a) => sigpending(t, a, 4));

  // ------------------------------------------------------------ alternate stack

  /** do_sigaltstack()'s checks and update. */
  const setAltstack = (
    s: ThreadSigState,
    sp: number,
    n: { sp: number; flags: number; size: number },
  ): number => {
    if (onSigStack(s, sp)) return -EPERM;
    const mode = n.flags & ~SS_AUTODISARM;
    if (mode !== SS_DISABLE && mode !== SS_ONSTACK && mode !== 0) return -EINVAL;
    if (mode === SS_DISABLE) {
      s.altSp = 0;
      s.altSize = 0;
    } else {
      if (n.size < MINSIGSTKSZ) return -ENOMEM;
      s.altSp = n.sp;
      s.altSize = n.size;
    }
    s.altFlags = n.flags;
    return 0;
  };

  T.redefine('sigaltstack', (t, ss, oss) => {
    const s = threadState(t);
    const sp = t.cpu.regs[ESP]! >>> 0;
    let next: { sp: number; flags: number; size: number } | null = null;
    if (ss) {
      if (!k.userRange(ss, 12, false)) return -EFAULT;
      next = { sp: mem().read32(ss) >>> 0, flags: mem().read32(ss + 4), size: mem().read32(ss + 8) >>> 0 };
    }
    const old = { sp: s.altSp, size: s.altSize, flags: sasSsFlags(s, sp) | (s.altFlags & SS_AUTODISARM) };
    if (next) {
      const r = setAltstack(s, sp, next);
      if (r < 0) return r;
    }
    if (oss) {
      if (!k.userRange(oss, 12, true)) return -EFAULT;
      mem().write32(oss, old.sp);
      mem().write32(oss + 4, old.flags);
      mem().write32(oss + 8, old.size);
    }
    return 0;
  });

  // ------------------------------------------------------------ waiting for signals

  /** Blocks in one of the signal waits: a signal (or the timeout) wakes it and `retry` decides. */
  const ownWait = (t: Task, what: string, retry: () => number, wakeAt = -1): number => {
    const s = threadState(t);
    s.ownWait = true;
    return m.blockRetry(
      t,
      what,
      [],
      () => {
        s.ownWait = false;
        const r = retry();
        if (r === BLOCKED) s.ownWait = true;
        return r;
      },
      wakeAt,
    );
  };

  /** sigsuspend/pause: sleep until a signal is deliverable; -ERESTARTNOHAND (EINTR after a handler). */
  const suspendRetry = (t: Task, what: string): number =>
    sk.deliverable(t) ? -ERESTARTNOHAND : ownWait(t, what, () => suspendRetry(t, what));

  const suspend = (t: Task, mask: SigSet): number => {
    const s = threadState(t);
    s.savedMask = s.blocked.clone();
    s.blocked.set(mask.blockable());
    return suspendRetry(t, 'sigsuspend');
  };
  T.define('rt_sigsuspend', (t, set, size) => {
    if (size !== 8) return -EINVAL;
    const n = readSet(set);
    return n ? suspend(t, n) : -EFAULT;
  });
  // sigsuspend(int, int, old_sigset_t mask) on i386: siginitset, so the high word is cleared.
  T.define('sigsuspend', (t, _a, _b, mask) => suspend(t, new SigSet(mask >>> 0, 0)));
  T.define('pause', (t) => suspendRetry(t, 'pause'));
  // restart_syscall(2): an interrupted relative sleep resumes to its first deadline (the restart
  // block signals-kernel.ts saved); called with no block armed it is EINTR (do_no_restart_syscall).
  T.define('restart_syscall', (t) => {
    const s = threadState(t);
    const b = s.restart;
    s.restart = null;
    if (!b) return -EINTR;
    if (b.deadline <= m.now()) return 0;
    s.restarting = b;
    m.block(t, 'nanosleep (restarted)', b.deadline);
    return BLOCKED;
  });

  const sigtimedwait = (
    t: Task,
    setAddr: number,
    infoAddr: number,
    ts: number,
    size: number,
    t64: boolean,
  ) => {
    if (size !== 8) return -EINVAL;
    const set = readSet(setAddr);
    if (!set) return -EFAULT;
    set.blockable();
    let timeout = -1;
    if (ts) {
      const ns = readTime(ts, t64, true);
      if (ns === null) return -EFAULT;
      if (ns < 0) return -EINVAL;
      timeout = ns;
    }
    const s = threadState(t);
    const p = processState(t.process);
    const notSet = new SigSet(~set.lo >>> 0, ~set.hi >>> 0);
    const take = (): number => {
      const info = dequeueSignal(s, p, notSet);
      if (!info) return 0;
      const r = copyInfo(infoAddr, info);
      return r < 0 ? r : info.signo;
    };
    const got = take();
    if (got !== 0) return got;
    if (timeout === 0) return -EAGAIN;
    // While waiting, the set is unblocked so that its signals wake the task (real_blocked keeps the mask).
    s.realBlocked.set(s.blocked);
    s.blocked.andNot(set);
    s.waitSet = set;
    const retry = (): number => {
      const r = take();
      const timedOut = t.timedOut;
      if (r === 0 && !timedOut && !sk.deliverable(t)) return ownWait(t, 'rt_sigtimedwait', retry);
      s.blocked.set(s.realBlocked);
      s.waitSet = null;
      if (r !== 0) return r;
      return timedOut ? -EAGAIN : -EINTR;
    };
    const wakeAt = timeout > 0 ? m.now() + Math.max(1, m.nsToCycles(timeout)) : -1;
    return ownWait(t, 'rt_sigtimedwait', retry, wakeAt);
  };
  T.define('rt_sigtimedwait', (t, a, b, c, d) => sigtimedwait(t, a, b, c, d, false));
  T.define('rt_sigtimedwait_time64', (t, a, b, c, d) => sigtimedwait(t, a, b, c, d, true));

  // ------------------------------------------------------------ leaving a handler

  const sigreturn = (t: Task, rt: boolean): number => {
    const r = restoreFrame(t.cpu, mem(), rt);
    if (!r) {
      m.killProcess(SIGSEGV, `bad frame in ${rt ? 'rt_sigreturn' : 'sigreturn'}`, t, null);
      return 0;
    }
    const s = threadState(t);
    s.blocked.set(r.mask);
    if (r.altstack) setAltstack(s, t.cpu.regs[ESP]! >>> 0, r.altstack);
    // The restored registers are the interrupted context: no syscall restart applies to them.
    t.origEax = -1;
    return t.cpu.regs[EAX]!;
  };
  T.define('sigreturn', (t) => sigreturn(t, false));
  T.define('rt_sigreturn', (t) => sigreturn(t, true));

  // ------------------------------------------------------------ sending

  // kill(2) is os/family.ts's (targets, zombies, the caller last); it sends through sendProcess above.

  /** tkill (tgid -1) and tgkill. */
  const tgkill = (t: Task, tgid: number, tid: number, sig: number): number => {
    if (tid <= 0 || (tgid !== -1 && tgid <= 0)) return -EINVAL;
    if (sig < 0 || sig > NSIG) return -EINVAL;
    const x = m.tasks.get(tid);
    if (!x || x.state === 'zombie' || (tgid !== -1 && x.process.pid !== tgid)) return -ESRCH;
    if (sig === 0) return 0;
    sk.send(x, SigInfo.user(sig, SI_TKILL, t.process.pid, 1000), false);
    return 0;
  };
  T.redefine('tgkill', (t, a, b, c) => tgkill(t, a, b, c));
  T.redefine('tkill', (t, a, b) => tgkill(t, -1, a, b));

  /** rt_sigqueueinfo (tid -1: to the process) and rt_tgsigqueueinfo. */
  const sigqueueinfo = (t: Task, tgid: number, tid: number, sig: number, uinfo: number): number => {
    if (!k.userRange(uinfo, 128, false)) return -EFAULT;
    const info = new SigInfo(sig, 0);
    for (let i = 0; i < 32; i++) info.w[i] = mem().read32(uinfo + 4 * i);
    info.w[0] = sig;
    let x: Task | undefined;
    if (tid === -1) {
      const p = m.processes.get(tgid);
      x = p && p.state === 'alive' ? sk.threads(p)[0] : undefined;
    } else x = m.tasks.get(tid);
    if (!x || x.state === 'zombie' || (tid !== -1 && x.process.pid !== tgid)) return -ESRCH;
    // Only the kernel may claim kill() or tkill() as the origin, except towards oneself.
    if ((info.code >= 0 || info.code === SI_TKILL) && x.process !== t.process) return -EPERM;
    if (!validSig(sig)) return -EINVAL;
    sk.send(x, info, tid === -1);
    return 0;
  };
  T.define('rt_sigqueueinfo', (t, a, b, c) => sigqueueinfo(t, a, -1, b, c));
  T.define('rt_tgsigqueueinfo', (t, a, b, c, d) => sigqueueinfo(t, a, b, c, d));

  // ------------------------------------------------------------ interval timers

  T.define('alarm', (t, seconds) => {
    const timer = processTimers(t.process).itimers[0]!;
    const now = m.now();
    const left = m.cyclesToNs(timer.remaining(now));
    timer.arm(now, m.nsToCycles((seconds >>> 0) * 1e9), 0);
    // alarm_setitimer(): round to the nearest second, and never report 0 for a pending alarm.
    let sec = Math.floor(left / 1e9);
    if (left % 1e9 >= 5e8 || (sec === 0 && left > 0)) sec++;
    return sec;
  });

  const itimerValue = (t: Task, which: number, addr: number): number => {
    const timer = processTimers(t.process).itimers[which]!;
    let rem = m.cyclesToNs(timer.remaining(m.now()));
    // A running timer never reads as 0 (that would mean disarmed): at least 1 us.
    if (timer.expires >= 0 && rem < 1000) rem = 1000;
    if (!putTime(addr, m.cyclesToNs(timer.interval), false, true)) return -EFAULT;
    return putTime(addr + 8, rem, false, true) ? 0 : -EFAULT;
  };

  T.define('setitimer', (t, which, value, ovalue) => {
    if (which < 0 || which > ITIMER_PROF) return -EINVAL;
    let interval = 0;
    let v = 0;
    if (value) {
      const i = readTime(value, false, false);
      const x = readTime(value + 8, false, false);
      if (i === null || x === null) return -EFAULT;
      if (i < 0 || x < 0) return -EINVAL;
      interval = i;
      v = x;
    }
    if (ovalue) {
      const r = itimerValue(t, which, ovalue);
      if (r < 0) return r;
    }
    const timer = processTimers(t.process).itimers[which]!;
    timer.arm(m.now(), v > 0 ? Math.max(1, m.nsToCycles(v)) : 0, m.nsToCycles(interval));
    return 0;
  });
  T.define('getitimer', (t, which, value) =>
    which < 0 || which > ITIMER_PROF ? -EINVAL : itimerValue(t, which, value),
  );

  // ------------------------------------------------------------ POSIX timers

  T.define('timer_create', (t, clock, sevp, idp) => {
    if (![0, 1, 2, 3, 4, 7, 8, 9, 11].includes(clock)) return -EINVAL;
    let notify = SIGEV_SIGNAL;
    let signo = SIGALRM;
    let value: number | null = null;
    let tid = 0;
    if (sevp) {
      if (!k.userRange(sevp, 16, false)) return -EFAULT;
      value = mem().read32(sevp);
      signo = mem().read32(sevp + 4);
      notify = mem().read32(sevp + 8);
      tid = mem().read32(sevp + 12);
      if (notify !== SIGEV_SIGNAL && notify !== SIGEV_NONE && notify !== SIGEV_THREAD_ID) return -EINVAL;
      if (notify !== SIGEV_NONE && !validSig(signo)) return -EINVAL;
      if (notify === SIGEV_THREAD_ID) {
        const x = m.tasks.get(tid);
        if (!x || x.state === 'zombie' || x.process !== t.process) return -EINVAL;
      } else tid = 0;
    }
    if (!k.userRange(idp, 4, true)) return -EFAULT;
    const timer = processTimers(t.process).create(clock, notify, signo, value, tid);
    mem().write32(idp, timer.id);
    return 0;
  });

  const timerValue = (t: Task, id: number, addr: number, t64: boolean): number => {
    const timer = processTimers(t.process).posix.get(id);
    if (!timer) return -EINVAL;
    let rem = m.cyclesToNs(timer.remaining(m.now()));
    if (timer.expires >= 0 && rem === 0) rem = 1;
    if (!putTime(addr, m.cyclesToNs(timer.interval), t64, false)) return -EFAULT;
    return putTime(addr + (t64 ? 16 : 8), rem, t64, false) ? 0 : -EFAULT;
  };

  const timerSettime = (t: Task, id: number, flags: number, value: number, ovalue: number, t64: boolean) => {
    const timer = processTimers(t.process).posix.get(id);
    if (!timer) return -EINVAL;
    const interval = readTime(value, t64, true);
    const v = readTime(value + (t64 ? 16 : 8), t64, true);
    if (interval === null || v === null) return -EFAULT;
    if (interval < 0 || v < 0) return -EINVAL;
    if (ovalue) {
      const r = timerValue(t, id, ovalue, t64);
      if (r < 0) return r;
    }
    const now = m.now();
    let rel = v;
    if (flags & 1 && v > 0) {
      // TIMER_ABSTIME: the realtime clocks count from the guest epoch.
      const base = timer.clock === 0 || timer.clock === 8 || timer.clock === 11 ? EPOCH * 1e9 : 0;
      rel = Math.max(0, v - base - m.cyclesToNs(now));
    }
    timer.overrun = 0;
    timer.arm(now, v > 0 ? Math.max(1, m.nsToCycles(rel)) : 0, m.nsToCycles(interval));
    return 0;
  };
  T.define('timer_settime', (t, a, b, c, d) => timerSettime(t, a, b, c, d, false));
  T.define('timer_settime64', (t, a, b, c, d) => timerSettime(t, a, b, c, d, true));
  T.define('timer_gettime', (t, a, b) => timerValue(t, a, b, false));
  T.define('timer_gettime64', (t, a, b) => timerValue(t, a, b, true));
  T.define('timer_getoverrun', (t, id) => processTimers(t.process).posix.get(id)?.overrunLast ?? -EINVAL);
  T.define('timer_delete', (t, id) => {
    const timers = processTimers(t.process);
    const timer = timers.posix.get(id);
    if (!timer) return -EINVAL;
    timers.posix.delete(id);
    // Its queued signal goes with it.
    processState(t.process).shared.dropTimer(timer);
    for (const x of sk.threads(t.process)) threadState(x).pending.dropTimer(timer);
    return 0;
  });

  registerSignalfd(k, sk);
  return sk;
}
