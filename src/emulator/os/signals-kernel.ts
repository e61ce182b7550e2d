// Signal generation and delivery for the machine, and the signal system calls. Follows Linux
// kernel/signal.c and arch/x86/kernel/signal.c: send_signal/complete_signal (queue on the thread or the
// process, pick a thread that does not block it, wake it from an interruptible wait, a fatal default
// action kills the whole process at once), get_signal/handle_signal at every return to user mode
// (syscall exit, the start of each slice the task runs, after a fault), syscall restart
// (ERESTARTSYS/ERESTARTNOHAND/ERESTARTNOINTR/ERESTART_RESTARTBLOCK), force_sig for faults, group stop
// and continue, and the timers' expiry on the virtual clock.
// Guarantees: every decision depends on guest state and virtual time only (deterministic; replay
// takes the same path); a bad guest pointer gives -EFAULT; a probe's out-of-line single step (IF clear)
// is never interrupted by an asynchronous signal (uprobe_deny_signal); the probe engine has already
// claimed its own int3 and single-step traps before a fault reaches `forceFault`.

import { EAX, ECX, ESI, ESP, type Cpu } from '../cpu.js';
import type { Memory } from '../memory.js';
import { onSigStack, restoreFrame, sasSsFlags, setupFrame, type TrapContext } from './signals-frame.js';
import { ITIMER_PROF, ProcessTimers, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD_ID } from './signals-timers.js';
import {
  defaultAction,
  dequeueSignal,
  MINSIGSTKSZ,
  NSIG,
  ProcessSignals,
  SA_NODEFER,
  SA_RESETHAND,
  SA_RESTART,
  SigAction,
  SI_TKILL,
  SI_USER,
  SIG_BLOCK,
  SIG_DFL,
  SIG_IGN,
  SIG_SETMASK,
  SIG_UNBLOCK,
  SIGCONT,
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SIGTSTP,
  SIGTTIN,
  SIGTTOU,
  signalName,
  SigInfo,
  SigSet,
  SS_AUTODISARM,
  SS_DISABLE,
  SS_ONSTACK,
  ThreadSignals,
} from './signals.js';

const EPERM = 1;
const ESRCH = 3;
const EINTR = 4;
const EAGAIN = 11;
const ENOMEM = 12;
const EFAULT = 14;
const EINVAL = 22;

export const ERESTARTSYS = 512;
export const ERESTARTNOINTR = 513;
export const ERESTARTNOHAND = 514;
export const ERESTART_RESTARTBLOCK = 516;

/** Guest wall-clock epoch in seconds (same as the syscall layer's): CLOCK_REALTIME = EPOCH + virtual time. */
const EPOCH = 1118966400;

/** What signals need of a task: identity, registers, its signal state and scheduler state. */
export interface SigTask {
  readonly tid: number;
  readonly cpu: Cpu;
  readonly sig: ThreadSignals;
  state: string;
  wakeAt: number;
}

/** What signals need of the machine. Implemented by the machine (or its process layer). */
export interface SignalHost {
  readonly memory: Memory;
  now(): number;
  nsToCycles(ns: number): number;
  cyclesToNs(c: number): number;
  /** Thread group id of the task's process. */
  tgid(t: SigTask): number;
  /** Live threads of the task's process, the thread group leader first, then by tid. */
  threads(t: SigTask): SigTask[];
  /** A live task by tid. */
  task(tid: number): SigTask | undefined;
  /** A live thread of the process `pid` (its leader if alive), or undefined. */
  processTask(pid: number): SigTask | undefined;
  /** One live thread of every process, for kill(-1, sig). */
  allProcesses(): SigTask[];
  /** The process group of the task's process (for kill(0) and kill(-pgid)). */
  pgid(t: SigTask): number;
  processSignals(t: SigTask): ProcessSignals;
  processTimers(t: SigTask): ProcessTimers;
  /** Parks the task (blocking); the scheduler switches away. `wakeAt` in cycles, -1 = none. */
  block(t: SigTask, desc: string, wakeAt: number): void;
  /** Makes a parked task runnable with EAX = result. */
  wake(t: SigTask, result: number): void;
  /** Ends the kernel-side wait a blocked task is in (futex queue, pipe, child wait...) before waking it. */
  cancelWait(t: SigTask): void;
  /** A fatal signal's default action: the process dies (core: "core dumped"). */
  killProcess(t: SigTask, sig: number, message: string, faultAddr: number | null): void;
}

/** Linux's restart behaviour for a blocking syscall interrupted by a signal, by syscall number. */
function restartCodeFor(nr: number): number {
  switch (nr) {
    case 29: // pause
    case 72: // sigsuspend
    case 179: // rt_sigsuspend
    case 82: // select
    case 142: // _newselect
    case 308: // pselect6
    case 413: // pselect6_time64
    case 168: // poll
    case 309: // ppoll
    case 414:
      return ERESTARTNOHAND;
    case 162: // nanosleep
    case 267: // clock_nanosleep
    case 407:
      return ERESTART_RESTARTBLOCK;
    case 256: // epoll_wait
    case 319: // epoll_pwait
    case 441:
    case 177: // rt_sigtimedwait
    case 421:
      return EINTR;
    default:
      // read/write on pipes and sockets, wait4, futex, accept, connect, flock...
      return ERESTARTSYS;
  }
}

export class SignalKernel {
  constructor(private readonly h: SignalHost) {}

  // ---------------------------------------------------------------- generation

  /** A task has something to do at its next return to user mode. */
  hasWork(t: SigTask): boolean {
    const s = t.sig;
    if (s.waitSet || s.savedMask) return true;
    const p = this.h.processSignals(t);
    if (p.stopped) return true;
    return s.pending.next(s.blocked) !== 0 || p.shared.next(s.blocked) !== 0;
  }

  /**
   * send_signal(): queues `info` on the thread `target` (thread-directed) or on its process (`group`),
   * then picks a thread to act on it. Returns false if it was dropped (ignored, or a standard signal
   * already pending).
   */
  send(target: SigTask, info: SigInfo, group: boolean): boolean {
    const sig = info.signo;
    const p = this.h.processSignals(target);
    const threads = this.h.threads(target);
    // prepare_signal(): stop signals cancel a pending SIGCONT and the reverse; SIGCONT resumes.
    if (sig === SIGSTOP || sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU) {
      p.shared.flush(SIGCONT);
      for (const t of threads) t.sig.pending.flush(SIGCONT);
    } else if (sig === SIGCONT) {
      for (const s of [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]) {
        p.shared.flush(s);
        for (const t of threads) t.sig.pending.flush(s);
      }
      if (p.stopped) {
        p.stopped = false;
        for (const t of threads) if (t.state === 'blocked' && t.sig.stoppedWait) this.resume(t);
      }
    }
    if (sig !== SIGKILL && this.ignoredFor(p, target, sig, group)) return false;
    const pending = group ? p.shared : target.sig.pending;
    if (!pending.enqueue(info)) return false;
    this.complete(target, p, threads, sig, group);
    return true;
  }

  private ignoredFor(p: ProcessSignals, t: SigTask, sig: number, group: boolean): boolean {
    // Blocked signals stay queued even when ignored (the handler may change before they are unblocked).
    if (!group) return p.ignored(sig, t.sig.blocked) && !t.sig.waitSet?.has(sig);
    const a = p.actions[sig]!;
    return (
      a.handler === SIG_IGN || (a.handler === SIG_DFL && ['ignore', 'continue'].includes(defaultAction(sig)))
    );
  }

  private wants(t: SigTask, sig: number): boolean {
    if (t.state === 'zombie') return false;
    if (sig === SIGKILL) return true;
    return !t.sig.blocked.has(sig);
  }

  /** complete_signal(): find a thread to take it; a fatal default action kills the process now. */
  private complete(
    target: SigTask,
    p: ProcessSignals,
    threads: SigTask[],
    sig: number,
    group: boolean,
  ): void {
    let t: SigTask | undefined;
    if (this.wants(target, sig)) t = target;
    else if (group) t = threads.find((x) => this.wants(x, sig));
    if (!t) return;
    const a = p.actions[sig]!;
    const d = defaultAction(sig);
    if (
      sig === SIGKILL ||
      (a.handler === SIG_DFL && (d === 'terminate' || d === 'core') && !t.sig.waitSet?.has(sig))
    ) {
      // The signal is fatal: the group dies without waiting for a thread to dequeue it.
      const info = (group ? p.shared : t.sig.pending).take(sig);
      this.fatal(t, info, `${this.describe(info)} (default action)`);
      return;
    }
    this.wakeUp(t, sig);
  }

  /** signal_wake_up(): a thread in an interruptible wait leaves it; a running one sees it at its next check. */
  private wakeUp(t: SigTask, sig: number): void {
    const s = t.sig;
    if (t.state !== 'blocked' && t.state !== 'sleeping') return;
    if (s.stoppedWait) {
      if (sig === SIGKILL) this.resume(t);
      return;
    }
    if (s.waitSet) {
      // rt_sigtimedwait: a signal it waits for is its result; any other one interrupts it.
      this.h.cancelWait(t);
      const p = this.h.processSignals(t);
      s.blocked.set(s.realBlocked);
      const set = s.waitSet;
      s.waitSet = null;
      if (set.has(sig)) {
        const info = s.pending.set.has(sig) ? s.pending.take(sig) : p.shared.take(sig);
        const r = this.copyInfo(s.waitInfo, info);
        this.h.wake(t, r < 0 ? r : sig);
      } else this.h.wake(t, -EINTR);
      return;
    }
    this.h.cancelWait(t);
    const nr = s.origEax;
    const code = s.waitRestart !== 0 ? s.waitRestart : restartCodeFor(nr);
    if ((nr === 162 || nr === 267 || nr === 407) && t.wakeAt >= 0) this.writeRemaining(t, nr);
    s.waitRestart = 0;
    this.h.wake(t, -code);
  }

  /** nanosleep/clock_nanosleep interrupted: the time left goes to *rem (relative sleeps only). */
  private writeRemaining(t: SigTask, nr: number): void {
    const R = t.cpu.regs;
    const rem = nr === 162 ? R[ECX]! >>> 0 : R[ESI]! >>> 0; // clock_nanosleep(clock, flags, req, rem)
    const abs = nr !== 162 && (R[ECX]! & 1) !== 0;
    if (!rem || abs) return;
    const ns = this.h.cyclesToNs(Math.max(0, t.wakeAt - this.h.now()));
    this.putTime(rem, ns, nr === 407, false);
  }

  private resume(t: SigTask): void {
    t.sig.stoppedWait = false;
    this.h.wake(t, t.cpu.regs[EAX]!);
  }

  private describe(info: SigInfo): string {
    return info.code === SI_USER || info.code === SI_TKILL
      ? `sent by process ${info.w[3]}`
      : info.code > 0
        ? 'sent by the kernel'
        : `code ${info.code}`;
  }

  private fatal(t: SigTask, info: SigInfo, message: string): void {
    this.h.killProcess(t, info.signo, message, null);
  }

  // ---------------------------------------------------------------- faults

  /**
   * force_sig_fault(): a CPU exception no probe claimed. A blocked or ignored fault signal is unblocked
   * and reset to the default action (the process cannot survive ignoring it); otherwise the handler is
   * entered at once with EIP at the faulting instruction (faults) or after it (traps).
   */
  forceFault(t: SigTask, info: SigInfo, trap: TrapContext, message: string, faultAddr: number | null): void {
    const sig = info.signo;
    const s = t.sig;
    s.trap.trapNo = trap.trapNo;
    s.trap.errorCode = trap.errorCode;
    s.trap.cr2 = trap.cr2;
    const p = this.h.processSignals(t);
    const a = p.actions[sig]!;
    const blocked = s.blocked.has(sig);
    if (blocked || a.handler === SIG_IGN) {
      a.handler = SIG_DFL;
      if (blocked) s.blocked.delete(sig);
    }
    if (a.handler === SIG_DFL) {
      this.h.killProcess(t, sig, message, faultAddr);
      return;
    }
    s.pending.enqueue(info);
    s.origEax = -1;
    this.returnToUser(t);
  }

  // ---------------------------------------------------------------- delivery

  /** The machine's return-to-user hook: deliver if there is work, else just leave the syscall. */
  exitToUser(t: SigTask): void {
    if (this.hasWork(t)) this.returnToUser(t);
    else t.sig.origEax = -1;
  }

  /**
   * exit_to_user_mode(): called after a syscall and before a task runs a slice. Delivers what is
   * deliverable (a handler frame per signal, nested as Linux nests them), applies default actions,
   * restarts or fails an interrupted syscall, restores a sigsuspend mask.
   */
  returnToUser(t: SigTask): void {
    const s = t.sig;
    if (t.state === 'zombie') return;
    // A probe is single-stepping an instruction out of line (IF clear): not a point to enter a handler.
    if (!t.cpu.interruptsEnabled()) return;
    if (s.waitSet) {
      // rt_sigtimedwait timed out (a signal would have completed it in wakeUp).
      s.blocked.set(s.realBlocked);
      s.waitSet = null;
      t.cpu.regs[EAX] = -EAGAIN;
    }
    const p = this.h.processSignals(t);
    let handled = false;
    for (let guard = 0; guard <= NSIG; guard++) {
      if (p.stopped && !s.pending.set.has(SIGKILL)) {
        this.park(t);
        return;
      }
      const info = dequeueSignal(s, p, s.blocked);
      if (!info) break;
      const sig = info.signo;
      const a = p.actions[sig]!;
      if (a.handler === SIG_IGN && sig !== SIGKILL) continue;
      if (a.handler === SIG_DFL || sig === SIGKILL) {
        const d = sig === SIGKILL ? 'terminate' : defaultAction(sig);
        if (d === 'ignore' || d === 'continue') continue;
        if (d === 'stop') {
          p.stopped = true;
          continue;
        }
        this.fatal(t, info, `${this.describe(info)} (default action)`);
        return;
      }
      this.restartOnHandler(t, a.flags);
      const old = s.savedMask ?? s.blocked.clone();
      s.savedMask = null;
      const act = new SigAction();
      act.copyFrom(a);
      // SA_RESETHAND: this delivery uses the handler, later ones get the default action.
      if (a.flags & SA_RESETHAND) a.handler = SIG_DFL;
      const ok = setupFrame(t.cpu, this.h.memory, {
        sig,
        info,
        action: act,
        oldMask: old,
        thread: s,
        trap: s.trap,
      });
      if (!ok) {
        // force_sigsegv(): the frame could not be written; the process dies of SIGSEGV.
        this.h.killProcess(t, SIGSEGV, `cannot build the frame for ${signalName(sig)} (bad stack)`, null);
        return;
      }
      s.blocked.or(act.mask);
      if (!(act.flags & SA_NODEFER)) s.blocked.add(sig);
      s.blocked.blockable();
      handled = true;
    }
    if (!handled) this.restartNoHandler(t);
    if (!handled && s.savedMask) {
      s.blocked.set(s.savedMask);
      s.savedMask = null;
    }
    s.origEax = -1;
  }

  private park(t: SigTask): void {
    t.sig.stoppedWait = true;
    this.h.block(t, 'stopped (group stop)', -1);
  }

  /** handle_signal()'s restart rules: the call returns EINTR, or is re-executed after the handler. */
  private restartOnHandler(t: SigTask, flags: number): void {
    const s = t.sig;
    if (s.origEax < 0) return;
    const R = t.cpu.regs;
    const r = R[EAX]!;
    if (r === -ERESTART_RESTARTBLOCK || r === -ERESTARTNOHAND) R[EAX] = -EINTR;
    else if (r === -ERESTARTSYS && !(flags & SA_RESTART)) R[EAX] = -EINTR;
    else if (r === -ERESTARTSYS || r === -ERESTARTNOINTR) {
      R[EAX] = s.origEax;
      t.cpu.eip = (t.cpu.eip - 2) >>> 0;
    }
    s.origEax = -1;
  }

  /** No handler ran: every restart code re-executes the call (restart_syscall is not offered: EINTR). */
  private restartNoHandler(t: SigTask): void {
    const s = t.sig;
    if (s.origEax < 0) return;
    const R = t.cpu.regs;
    const r = R[EAX]!;
    if (r === -ERESTARTNOHAND || r === -ERESTARTSYS || r === -ERESTARTNOINTR) {
      R[EAX] = s.origEax;
      t.cpu.eip = (t.cpu.eip - 2) >>> 0;
    } else if (r === -ERESTART_RESTARTBLOCK) R[EAX] = -EINTR;
  }

  // ---------------------------------------------------------------- timers

  /** Earliest timer expiry of any process (cycles) or -1; `procs` lists one task per process. */
  nextTimer(procs: SigTask[]): number {
    let n = -1;
    for (const t of procs) {
      const e = this.h.processTimers(t).nextExpiry();
      if (e >= 0 && (n < 0 || e < n)) n = e;
    }
    return n;
  }

  /** Fires the timers of `t`'s process due at `now`. */
  fireTimers(t: SigTask, now: number): void {
    this.h.processTimers(t).expire(now, (info, tid) => {
      if (tid) {
        const target = this.h.task(tid);
        return target ? this.send(target, info, false) : false;
      }
      return this.send(t, info, true);
    });
  }

  // ---------------------------------------------------------------- system calls

  /**
   * Handles signal and timer syscall `nr` for task `t`; returns the result for EAX, or null when `nr`
   * is not a signal call. BLOCKED (from the caller) is returned through `blocked`.
   */
  syscall(
    t: SigTask,
    nr: number,
    a: number,
    b: number,
    c: number,
    d: number,
    blocked: number,
  ): number | null {
    switch (nr) {
      case 174:
        return this.rtSigaction(t, a, b, c, d);
      case 67:
        return this.oldSigaction(t, a, b, c);
      case 48:
        return this.signal(t, a, b);
      case 175:
        return this.rtSigprocmask(t, a, b, c, d);
      case 126:
        return this.oldSigprocmask(t, a, b, c);
      case 176:
        return this.rtSigpending(t, a, b);
      case 73:
        return this.rtSigpending(t, a, 4);
      case 186:
        return this.sigaltstack(t, a, b);
      case 179:
        return this.rtSigsuspend(t, a, b, blocked);
      case 72:
        return this.suspend(t, new SigSet(c >>> 0, 0), blocked);
      case 29:
        return this.pause(t, blocked);
      case 177:
      case 421:
        return this.rtSigtimedwait(t, a, b, c, d, nr === 421, blocked);
      case 119:
      case 173:
        return this.sigreturn(t, nr === 173);
      case 37:
        return this.kill(t, a, b);
      case 238:
        return this.tgkill(t, -1, a, b);
      case 270:
        return this.tgkill(t, a, b, c);
      case 178:
        return this.sigqueueinfo(t, a, -1, b, c);
      case 335:
        return this.sigqueueinfo(t, a, b, c, d);
      case 27:
        return this.alarm(t, a);
      case 104:
        return this.setitimer(t, a, b, c);
      case 105:
        return this.getitimer(t, a, b);
      case 259:
        return this.timerCreate(t, a, b, c);
      case 260:
      case 409:
        return this.timerSettime(t, a, b, c, d, nr === 409);
      case 261:
      case 408:
        return this.timerGettime(t, a, b, nr === 408);
      case 262:
        return this.timerGetoverrun(t, a);
      case 263:
        return this.timerDelete(t, a);
      default:
        return null;
    }
  }

  private mem(): Memory {
    return this.h.memory;
  }

  private ok(addr: number, len: number, write: boolean): boolean {
    const perm = this.h.memory.perm;
    for (let p = addr >>> 12; p <= ((addr + len - 1) >>> 0) >>> 12; p++) {
      const x = perm[p]!;
      if (!(x & 1) || (write && !(x & 2))) return false;
    }
    return true;
  }

  private readSet(addr: number): SigSet | null {
    if (!this.ok(addr, 8, false)) return null;
    return new SigSet(this.mem().read32(addr) >>> 0, this.mem().read32(addr + 4) >>> 0);
  }

  private writeSet(addr: number, s: SigSet, bytes = 8): boolean {
    if (!this.ok(addr, bytes, true)) return false;
    this.mem().write32(addr, s.lo);
    if (bytes > 4) this.mem().write32(addr + 4, s.hi);
    return true;
  }

  private validSig(sig: number): boolean {
    return sig >= 1 && sig <= NSIG;
  }

  /** do_sigaction(): install, then drop what the new disposition ignores from every pending set. */
  private doSigaction(
    t: SigTask,
    sig: number,
    next: { handler: number; flags: number; mask: SigSet; restorer: number } | null,
  ): number {
    if (!this.validSig(sig) || (next && (sig === SIGKILL || sig === SIGSTOP))) return -EINVAL;
    if (!next) return 0;
    const p = this.h.processSignals(t);
    const a = p.actions[sig]!;
    a.handler = next.handler >>> 0;
    a.flags = next.flags | 0;
    a.mask.set(next.mask.blockable());
    a.restorer = next.restorer >>> 0;
    if (p.ignored(sig, new SigSet())) {
      p.shared.flush(sig);
      for (const x of this.h.threads(t)) x.sig.pending.flush(sig);
    }
    return 0;
  }

  private rtSigaction(t: SigTask, sig: number, act: number, oact: number, size: number): number {
    if (size !== 8) return -EINVAL;
    const mem = this.mem();
    let next = null;
    if (act) {
      if (!this.ok(act, 20, false)) return -EFAULT;
      next = {
        handler: mem.read32(act),
        flags: mem.read32(act + 4),
        restorer: mem.read32(act + 8),
        mask: new SigSet(mem.read32(act + 12) >>> 0, mem.read32(act + 16) >>> 0),
      };
    }
    const old = this.validSig(sig) ? this.snapshot(t, sig) : null;
    const r = this.doSigaction(t, sig, next);
    if (r < 0) return r;
    if (oact && old) {
      if (!this.ok(oact, 20, true)) return -EFAULT;
      mem.write32(oact, old.handler);
      mem.write32(oact + 4, old.flags);
      mem.write32(oact + 8, old.restorer);
      mem.write32(oact + 12, old.mask.lo);
      mem.write32(oact + 16, old.mask.hi);
    }
    return 0;
  }

  private snapshot(
    t: SigTask,
    sig: number,
  ): { handler: number; flags: number; restorer: number; mask: SigSet } {
    const a = this.h.processSignals(t).actions[sig]!;
    return { handler: a.handler, flags: a.flags, restorer: a.restorer, mask: a.mask.clone() };
  }

  /** sigaction(2) with struct old_sigaction: handler, 32-bit mask, flags, restorer. */
  private oldSigaction(t: SigTask, sig: number, act: number, oact: number): number {
    const mem = this.mem();
    let next = null;
    if (act) {
      if (!this.ok(act, 16, false)) return -EFAULT;
      next = {
        handler: mem.read32(act),
        mask: new SigSet(mem.read32(act + 4) >>> 0, 0),
        flags: mem.read32(act + 8),
        restorer: mem.read32(act + 12),
      };
    }
    const old = this.validSig(sig) ? this.snapshot(t, sig) : null;
    const r = this.doSigaction(t, sig, next);
    if (r < 0) return r;
    if (oact && old) {
      if (!this.ok(oact, 16, true)) return -EFAULT;
      mem.write32(oact, old.handler);
      mem.write32(oact + 4, old.mask.lo);
      mem.write32(oact + 8, old.flags);
      mem.write32(oact + 12, old.restorer);
    }
    return 0;
  }

  /** signal(2): SA_ONESHOT | SA_NOMASK semantics; returns the old handler. */
  private signal(t: SigTask, sig: number, handler: number): number {
    if (!this.validSig(sig)) return -EINVAL;
    const old = this.snapshot(t, sig);
    const r = this.doSigaction(t, sig, {
      handler,
      flags: SA_RESETHAND | SA_NODEFER,
      mask: new SigSet(),
      restorer: 0,
    });
    return r < 0 ? r : old.handler | 0;
  }

  private changeMask(t: SigTask, how: number, set: SigSet): number {
    const s = t.sig;
    set.blockable();
    if (how === SIG_BLOCK) s.blocked.or(set);
    else if (how === SIG_UNBLOCK) s.blocked.andNot(set);
    else if (how === SIG_SETMASK) s.blocked.set(set);
    else return -EINVAL;
    return 0;
  }

  private rtSigprocmask(t: SigTask, how: number, set: number, oset: number, size: number): number {
    if (size !== 8) return -EINVAL;
    const old = t.sig.blocked.clone();
    if (set) {
      const n = this.readSet(set);
      if (!n) return -EFAULT;
      const r = this.changeMask(t, how, n);
      if (r < 0) return r;
    }
    if (oset && !this.writeSet(oset, old)) return -EFAULT;
    return 0;
  }

  /** sigprocmask(2) on old_sigset_t: only the first 32 signals. */
  private oldSigprocmask(t: SigTask, how: number, set: number, oset: number): number {
    const old = t.sig.blocked.clone();
    if (set) {
      if (!this.ok(set, 4, false)) return -EFAULT;
      const lo = this.mem().read32(set) >>> 0;
      const n = new SigSet(lo, how === SIG_SETMASK ? t.sig.blocked.hi : 0);
      const r = this.changeMask(t, how, n);
      if (r < 0) return r;
    }
    if (oset && !this.writeSet(oset, old, 4)) return -EFAULT;
    return 0;
  }

  private rtSigpending(t: SigTask, set: number, size: number): number {
    if (size > 8) return -EINVAL;
    const p = this.h.processSignals(t);
    const s = new SigSet(t.sig.pending.set.lo | p.shared.set.lo, t.sig.pending.set.hi | p.shared.set.hi);
    const r = new SigSet(s.lo & t.sig.blocked.lo, s.hi & t.sig.blocked.hi);
    if (!this.writeSet(set, r, size)) return -EFAULT;
    return 0;
  }

  private sigaltstack(t: SigTask, ss: number, oss: number): number {
    const s = t.sig;
    const sp = t.cpu.regs[ESP]! >>> 0;
    const mem = this.mem();
    let next: { sp: number; flags: number; size: number } | null = null;
    if (ss) {
      if (!this.ok(ss, 12, false)) return -EFAULT;
      next = { sp: mem.read32(ss) >>> 0, flags: mem.read32(ss + 4), size: mem.read32(ss + 8) >>> 0 };
    }
    const old = { sp: s.altSp, size: s.altSize, flags: sasSsFlags(s, sp) | (s.altFlags & SS_AUTODISARM) };
    if (next) {
      const r = this.setAltstack(s, sp, next);
      if (r < 0) return r;
    }
    if (oss) {
      if (!this.ok(oss, 12, true)) return -EFAULT;
      mem.write32(oss, old.sp);
      mem.write32(oss + 4, old.flags);
      mem.write32(oss + 8, old.size);
    }
    return 0;
  }

  /** do_sigaltstack()'s checks and update. */
  setAltstack(s: ThreadSignals, sp: number, n: { sp: number; flags: number; size: number }): number {
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
  }

  private rtSigsuspend(t: SigTask, set: number, size: number, blocked: number): number {
    if (size !== 8) return -EINVAL;
    const n = this.readSet(set);
    if (!n) return -EFAULT;
    return this.suspend(t, n, blocked);
  }

  /** sigsuspend: swap in the mask and sleep until a signal is delivered; -ERESTARTNOHAND. */
  private suspend(t: SigTask, mask: SigSet, blocked: number): number {
    const s = t.sig;
    s.savedMask = s.blocked.clone();
    s.blocked.set(mask.blockable());
    if (this.hasWork(t) && this.deliverableNow(t)) return -ERESTARTNOHAND;
    s.waitRestart = ERESTARTNOHAND;
    this.h.block(t, 'sigsuspend', -1);
    return blocked;
  }

  private deliverableNow(t: SigTask): boolean {
    const p = this.h.processSignals(t);
    return t.sig.pending.next(t.sig.blocked) !== 0 || p.shared.next(t.sig.blocked) !== 0;
  }

  private pause(t: SigTask, blocked: number): number {
    if (this.deliverableNow(t)) return -ERESTARTNOHAND;
    t.sig.waitRestart = ERESTARTNOHAND;
    this.h.block(t, 'pause', -1);
    return blocked;
  }

  private rtSigtimedwait(
    t: SigTask,
    setAddr: number,
    infoAddr: number,
    ts: number,
    size: number,
    t64: boolean,
    blocked: number,
  ): number {
    if (size !== 8) return -EINVAL;
    const set = this.readSet(setAddr);
    if (!set) return -EFAULT;
    set.blockable();
    let timeout = -1;
    if (ts) {
      const ns = this.readTime(ts, t64, true);
      if (ns === null) return -EFAULT;
      if (ns < 0) return -EINVAL;
      timeout = ns;
    }
    const s = t.sig;
    const p = this.h.processSignals(t);
    const notSet = new SigSet(~set.lo >>> 0, ~set.hi >>> 0);
    const info = dequeueSignal(s, p, notSet);
    if (info) {
      const r = this.copyInfo(infoAddr, info);
      return r < 0 ? r : info.signo;
    }
    if (timeout === 0) return -EAGAIN;
    s.realBlocked.set(s.blocked);
    s.blocked.andNot(set);
    s.waitSet = set;
    s.waitInfo = infoAddr;
    this.h.block(
      t,
      'rt_sigtimedwait',
      timeout > 0 ? this.h.now() + Math.max(1, this.h.nsToCycles(timeout)) : -1,
    );
    return blocked;
  }

  private copyInfo(addr: number, info: SigInfo): number {
    if (!addr) return 0;
    if (!this.ok(addr, 128, true)) return -EFAULT;
    for (let i = 0; i < 32; i++) this.mem().write32(addr + 4 * i, info.w[i]!);
    return 0;
  }

  private sigreturn(t: SigTask, rt: boolean): number {
    const r = restoreFrame(t.cpu, this.mem(), rt);
    if (!r) {
      this.h.killProcess(t, SIGSEGV, `bad frame in ${rt ? 'rt_sigreturn' : 'sigreturn'}`, null);
      return 0;
    }
    t.sig.blocked.set(r.mask);
    if (r.altstack) this.setAltstack(t.sig, t.cpu.regs[ESP]! >>> 0, r.altstack);
    // The restored registers are the interrupted context: no syscall restart applies to them.
    t.sig.origEax = -1;
    return t.cpu.regs[EAX]!;
  }

  // ---------------------------------------------------------------- kill and friends

  private kill(t: SigTask, pid: number, sig: number): number {
    if (sig < 0 || sig > NSIG) return -EINVAL;
    const me = this.h.tgid(t);
    const targets: SigTask[] = [];
    if (pid > 0) {
      const x = this.h.processTask(pid);
      if (x) targets.push(x);
    } else if (pid === -1) {
      for (const x of this.h.allProcesses())
        if (this.h.tgid(x) !== me && this.h.tgid(x) !== 1) targets.push(x);
    } else {
      const pg = pid === 0 ? this.h.pgid(t) : -pid;
      for (const x of this.h.allProcesses()) if (this.h.pgid(x) === pg) targets.push(x);
    }
    if (targets.length === 0) return -ESRCH;
    if (sig === 0) return 0;
    for (const x of targets) this.send(x, SigInfo.user(sig, SI_USER, me, 1000), true);
    return 0;
  }

  /** tkill (tgid -1) and tgkill. */
  private tgkill(t: SigTask, tgid: number, tid: number, sig: number): number {
    if (tid <= 0 || (tgid !== -1 && tgid <= 0)) return -EINVAL;
    if (sig < 0 || sig > NSIG) return -EINVAL;
    const x = this.h.task(tid);
    if (!x || (tgid !== -1 && this.h.tgid(x) !== tgid)) return -ESRCH;
    if (sig === 0) return 0;
    this.send(x, SigInfo.user(sig, SI_TKILL, this.h.tgid(t), 1000), false);
    return 0;
  }

  /** rt_sigqueueinfo (tid -1: to the process) and rt_tgsigqueueinfo. */
  private sigqueueinfo(t: SigTask, tgid: number, tid: number, sig: number, uinfo: number): number {
    if (!this.ok(uinfo, 128, false)) return -EFAULT;
    const info = new SigInfo(sig, 0);
    for (let i = 0; i < 32; i++) info.w[i] = this.mem().read32(uinfo + 4 * i);
    info.w[0] = sig;
    const x = tid === -1 ? this.h.processTask(tgid) : this.h.task(tid);
    if (!x || (tid !== -1 && this.h.tgid(x) !== tgid)) return -ESRCH;
    // Only the kernel may claim kill() or tkill() as the origin, except towards oneself.
    if ((info.code >= 0 || info.code === SI_TKILL) && this.h.tgid(x) !== this.h.tgid(t)) return -EPERM;
    if (!this.validSig(sig)) return -EINVAL;
    this.send(x, info, tid === -1);
    return 0;
  }

  // ---------------------------------------------------------------- timers

  private readTime(addr: number, t64: boolean, nsec: boolean): number | null {
    const mem = this.mem();
    if (t64) {
      if (!this.ok(addr, 16, false)) return null;
      const sec = mem.read32(addr + 4) * 4294967296 + (mem.read32(addr) >>> 0);
      const frac = mem.read32(addr + 8);
      if (sec < 0 || frac < 0 || frac >= 1e9) return -1;
      return sec * 1e9 + frac;
    }
    if (!this.ok(addr, 8, false)) return null;
    const sec = mem.read32(addr);
    const frac = mem.read32(addr + 4);
    const unit = nsec ? 1 : 1000;
    if (sec < 0 || frac < 0 || frac * unit >= 1e9) return -1;
    return sec * 1e9 + frac * unit;
  }

  private putTime(addr: number, ns: number, t64: boolean, usec: boolean): boolean {
    const mem = this.mem();
    const sec = Math.floor(ns / 1e9);
    const frac = usec ? Math.floor((ns % 1e9) / 1000) : ns % 1e9;
    if (t64) {
      if (!this.ok(addr, 16, true)) return false;
      mem.write32(addr, sec % 4294967296);
      mem.write32(addr + 4, Math.floor(sec / 4294967296));
      mem.write32(addr + 8, frac);
      mem.write32(addr + 12, 0);
      return true;
    }
    if (!this.ok(addr, 8, true)) return false;
    mem.write32(addr, sec);
    mem.write32(addr + 4, frac);
    return true;
  }

  private alarm(t: SigTask, seconds: number): number {
    const timer = this.h.processTimers(t).itimers[0]!;
    const now = this.h.now();
    const left = this.h.cyclesToNs(timer.remaining(now));
    timer.arm(now, this.h.nsToCycles((seconds >>> 0) * 1e9), 0);
    // alarm_setitimer(): round to the nearest second, and never report 0 for a pending alarm.
    let sec = Math.floor(left / 1e9);
    if (left % 1e9 >= 5e8 || (sec === 0 && left > 0)) sec++;
    return sec;
  }

  private itimerValue(t: SigTask, which: number, addr: number): number {
    const timer = this.h.processTimers(t).itimers[which]!;
    const now = this.h.now();
    if (!this.ok(addr, 16, true)) return -EFAULT;
    let rem = this.h.cyclesToNs(timer.remaining(now));
    // A running timer never reads as 0 (it would look disarmed): at least 1 us.
    if (timer.expires >= 0 && rem < 1000) rem = 1000;
    this.putTime(addr, this.h.cyclesToNs(timer.interval), false, true);
    this.putTime(addr + 8, rem, false, true);
    return 0;
  }

  private setitimer(t: SigTask, which: number, value: number, ovalue: number): number {
    if (which < 0 || which > ITIMER_PROF) return -EINVAL;
    let interval = 0;
    let v = 0;
    if (value) {
      const i = this.readTime(value, false, false);
      const x = this.readTime(value + 8, false, false);
      if (i === null || x === null) return -EFAULT;
      if (i < 0 || x < 0) return -EINVAL;
      interval = i;
      v = x;
    }
    if (ovalue) {
      const r = this.itimerValue(t, which, ovalue);
      if (r < 0) return r;
    }
    const timer = this.h.processTimers(t).itimers[which]!;
    timer.arm(this.h.now(), v > 0 ? Math.max(1, this.h.nsToCycles(v)) : 0, this.h.nsToCycles(interval));
    return 0;
  }

  private getitimer(t: SigTask, which: number, value: number): number {
    if (which < 0 || which > ITIMER_PROF) return -EINVAL;
    return this.itimerValue(t, which, value);
  }

  private timerCreate(t: SigTask, clock: number, sevp: number, idp: number): number {
    if (![0, 1, 2, 3, 4, 7, 8, 9, 11].includes(clock)) return -EINVAL;
    let notify = SIGEV_SIGNAL;
    let signo = 14;
    let value: number | null = null;
    let tid = 0;
    if (sevp) {
      if (!this.ok(sevp, 16, false)) return -EFAULT;
      const mem = this.mem();
      value = mem.read32(sevp);
      signo = mem.read32(sevp + 4);
      notify = mem.read32(sevp + 8);
      tid = mem.read32(sevp + 12);
      if (notify !== SIGEV_SIGNAL && notify !== SIGEV_NONE && notify !== SIGEV_THREAD_ID) return -EINVAL;
      if (notify !== SIGEV_NONE && !this.validSig(signo)) return -EINVAL;
      if (notify === SIGEV_THREAD_ID) {
        const x = this.h.task(tid);
        if (!x || this.h.tgid(x) !== this.h.tgid(t)) return -EINVAL;
      } else tid = 0;
    }
    if (!this.ok(idp, 4, true)) return -EFAULT;
    const timer = this.h.processTimers(t).create(clock, notify, signo, value, tid);
    this.mem().write32(idp, timer.id);
    return 0;
  }

  private timerSettime(
    t: SigTask,
    id: number,
    flags: number,
    value: number,
    ovalue: number,
    t64: boolean,
  ): number {
    const timer = this.h.processTimers(t).posix.get(id);
    if (!timer) return -EINVAL;
    const w = t64 ? 16 : 8;
    const interval = this.readTime(value, t64, true);
    const v = this.readTime(value + w, t64, true);
    if (interval === null || v === null) return -EFAULT;
    if (interval < 0 || v < 0) return -EINVAL;
    if (ovalue) {
      const r = this.timerValue(t, id, ovalue, t64);
      if (r < 0) return r;
    }
    const now = this.h.now();
    let rel = v;
    if (flags & 1 && v > 0) {
      // TIMER_ABSTIME: the realtime clocks count from the guest epoch.
      const base = timer.clock === 0 || timer.clock === 8 || timer.clock === 11 ? EPOCH * 1e9 : 0;
      rel = Math.max(0, v - base - this.h.cyclesToNs(now));
    }
    timer.overrun = 0;
    timer.arm(now, v > 0 ? Math.max(1, this.h.nsToCycles(rel)) : 0, this.h.nsToCycles(interval));
    return 0;
  }

  private timerValue(t: SigTask, id: number, addr: number, t64: boolean): number {
    const timer = this.h.processTimers(t).posix.get(id);
    if (!timer) return -EINVAL;
    const w = t64 ? 16 : 8;
    const now = this.h.now();
    let rem = this.h.cyclesToNs(timer.remaining(now));
    if (timer.expires >= 0 && rem === 0) rem = 1;
    if (!this.putTime(addr, this.h.cyclesToNs(timer.interval), t64, false)) return -EFAULT;
    if (!this.putTime(addr + w, rem, t64, false)) return -EFAULT;
    return 0;
  }

  private timerGettime(t: SigTask, id: number, addr: number, t64: boolean): number {
    return this.timerValue(t, id, addr, t64);
  }

  private timerGetoverrun(t: SigTask, id: number): number {
    const timer = this.h.processTimers(t).posix.get(id);
    return timer ? timer.overrunLast : -EINVAL;
  }

  private timerDelete(t: SigTask, id: number): number {
    const timers = this.h.processTimers(t);
    const timer = timers.posix.get(id);
    if (!timer) return -EINVAL;
    timers.posix.delete(id);
    // Its queued signal goes with it.
    const drop = (q: SigInfo[]) => {
      const k = q.findIndex((i) => i.timer === timer);
      if (k >= 0) q.splice(k, 1);
    };
    const p = this.h.processSignals(t);
    drop(p.shared.queue);
    for (const x of this.h.threads(t)) drop(x.sig.pending.queue);
    this.resyncSets(t);
    return 0;
  }

  /** Pending bits follow the queues after an entry was removed from the middle. */
  private resyncSets(t: SigTask): void {
    const fix = (pend: { set: SigSet; queue: SigInfo[] }) => {
      for (let sig = 1; sig <= NSIG; sig++)
        if (pend.set.has(sig) && !pend.queue.some((i) => i.signo === sig)) pend.set.delete(sig);
    };
    fix(this.h.processSignals(t).shared);
    for (const x of this.h.threads(t)) fix(x.sig.pending);
  }
}
