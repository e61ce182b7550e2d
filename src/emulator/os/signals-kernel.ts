// Signal generation and delivery for the machine. Follows Linux kernel/signal.c and
// arch/x86/kernel/signal.c: send_signal/complete_signal (queue on the thread or the process, pick a
// thread that does not block it, wake it from an interruptible wait, a fatal default action kills the
// process at once), get_signal/handle_signal at every return to user mode (syscall exit, the start of
// each slice a task runs, after a fault), syscall restart (ERESTARTSYS, ERESTARTNOHAND,
// ERESTARTNOINTR, ERESTART_RESTARTBLOCK), force_sig for faults, group stop and continue.
// Guarantees: every decision depends on guest state and virtual time only (deterministic: a replay
// takes the same path); a probe's out-of-line single step (IF clear) is never interrupted by an
// asynchronous signal (uprobe_deny_signal); the probe engine has claimed its own int3 and single-step
// traps before a fault reaches `forceFault`.

import { EAX, EBX, ECX, ESI } from '../cpu.js';
import type { Machine, Task } from '../machine.js';
import type { Memory } from '../memory.js';
import { EINTR, ERESTARTSYS } from './errno.js';
import type { Process } from './process.js';
import { setupFrame, userOk, type TrapContext } from './signals-frame.js';
import { ProcessTimers } from './signals-timers.js';
import { WaitQueue } from './wait.js';
import {
  CLD_CONTINUED,
  CLD_STOPPED,
  defaultAction,
  dequeueSignal,
  NSIG,
  ProcessSigState,
  SA_NOCLDSTOP,
  SA_NODEFER,
  SA_RESETHAND,
  SA_RESTART,
  SI_TKILL,
  SI_USER,
  SIG_DFL,
  SIG_IGN,
  SigAction,
  SIGCHLD,
  SIGCONT,
  SIGKILL,
  SIGSEGV,
  SIGPIPE,
  SIGSTOP,
  SIGTSTP,
  SIGTTIN,
  SIGTTOU,
  signalName,
  SigInfo,
  ThreadSigState,
} from './signals.js';

export { ERESTARTSYS };
export const ERESTARTNOINTR = 513;
export const ERESTARTNOHAND = 514;
export const ERESTART_RESTARTBLOCK = 516;
const CLONE_VFORK = 0x4000;

declare module './process.js' {
  interface ProcessSignals {
    state?: ProcessSigState;
    timers?: ProcessTimers;
  }
  interface ThreadSignals {
    state?: ThreadSigState;
  }
}

/** The thread's signal state (created on first use, or by the task-start hook with the creator's mask). */
export function threadState(t: Task): ThreadSigState {
  return (t.signals.state ??= new ThreadSigState());
}

export function processState(p: Process): ProcessSigState {
  return (p.signals.state ??= new ProcessSigState());
}

export function processTimers(p: Process): ProcessTimers {
  return (p.signals.timers ??= new ProcessTimers());
}

/** Linux's restart behaviour for a blocking syscall interrupted by a signal, by syscall number. */
function restartCodeFor(nr: number): number {
  switch (nr) {
    case 82: // select
    case 142: // _newselect
    case 308: // pselect6
    case 413:
    case 168: // poll
    case 309: // ppoll
    case 414:
      return ERESTARTNOHAND;
    case 0: // restart_syscall (a restarted sleep)
    case 162: // nanosleep
    case 267: // clock_nanosleep (relative; an absolute one is ERESTARTNOHAND, see wakeUp)
    case 407:
      return ERESTART_RESTARTBLOCK;
    case 256: // epoll_wait
    case 319: // epoll_pwait
    case 441:
      return EINTR;
    default:
      // read/write on pipes and sockets, wait4, futex, accept, connect...
      return ERESTARTSYS;
  }
}

/**
 * A write found no reader (a pipe, a FIFO, a stream socket): SIGPIPE to the writing thread, as
 * Linux's send_sig(SIGPIPE, current, 0) sends it (a thread that blocks it keeps it pending; another
 * thread of the process does not take it).
 */
export function sendSigpipe(m: Machine, t: Task): void {
  new SignalKernel(m).send(t, new SigInfo(SIGPIPE, 0), false);
}

export class SignalKernel {
  /** Per process: where its signalfd readers and pollers wait (os/signals-fd.ts). */
  private readonly fdQueues = new WeakMap<Process, WaitQueue>();

  constructor(readonly m: Machine) {}

  /** The queue signalfd descriptors of `proc` wait on; woken by every signal queued to it. */
  signalfdQueue(proc: Process): WaitQueue {
    let q = this.fdQueues.get(proc);
    if (!q) {
      q = new WaitQueue(this.m);
      this.fdQueues.set(proc, q);
    }
    return q;
  }

  memOf(t: Task): Memory {
    return t.process.mm.memory;
  }

  /** Live threads of a process, the leader first, then by tid. */
  threads(p: Process): Task[] {
    return p.threads.filter((x) => x.state !== 'zombie').sort((a, b) => a.tid - b.tid);
  }

  // ---------------------------------------------------------------- generation

  /** A task has something to do at its next return to user mode. */
  hasWork(t: Task): boolean {
    const s = threadState(t);
    if (s.savedMask) return true;
    const p = processState(t.process);
    if (p.stopped || p.cldNotify) return true;
    return s.pending.next(s.blocked) !== 0 || p.shared.next(s.blocked) !== 0;
  }

  /** Whether `t` has a signal it would act on now (sigsuspend, pause and sigtimedwait end on it). */
  deliverable(t: Task): boolean {
    const s = threadState(t);
    return s.pending.next(s.blocked) !== 0 || processState(t.process).shared.next(s.blocked) !== 0;
  }

  /**
   * send_signal(): queues `info` on the thread `target` (thread-directed) or on its process
   * (`group`), then picks a thread to act on it. Returns false when it was dropped (ignored, or a
   * standard signal already pending).
   */
  send(target: Task, info: SigInfo, group: boolean): boolean {
    const sig = info.signo;
    const proc = target.process;
    const p = processState(proc);
    const threads = this.threads(proc);
    // prepare_signal(): stop signals cancel a pending SIGCONT and the reverse; SIGCONT resumes.
    if (sig === SIGSTOP || sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU) {
      p.shared.flush(SIGCONT);
      for (const t of threads) threadState(t).pending.flush(SIGCONT);
    } else if (sig === SIGCONT) {
      for (const s of [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]) {
        p.shared.flush(s);
        for (const t of threads) threadState(t).pending.flush(s);
      }
      // The parent hears of it from the continued process (CLD_CONTINUED), or of the stop it cut
      // short (CLD_STOPPED); wait reports the continue either way (SIGNAL_STOP_CONTINUED).
      const why = p.stopComplete ? CLD_CONTINUED : p.stopped ? CLD_STOPPED : 0;
      if (why) {
        p.cldNotify = why;
        proc.continueReport = true;
        proc.stopReport = 0;
      }
      if (p.stopped) {
        p.stopped = false;
        p.stopComplete = false;
        for (const t of threads) if (threadState(t).stoppedWait) this.resume(t);
      }
    }
    if (sig !== SIGKILL && this.ignoredFor(p, target, sig)) return false;
    const pending = group ? p.shared : threadState(target).pending;
    if (!pending.enqueue(info)) return false;
    this.fdQueues.get(proc)?.wakeAll();
    this.complete(target, p, threads, sig, group);
    return true;
  }

  /** A signal to the process `proc` (kill(2), timers, SIGCHLD...). */
  sendToProcess(proc: Process, info: SigInfo): boolean {
    const t = this.threads(proc)[0];
    return t ? this.send(t, info, true) : false;
  }

  private ignoredFor(p: ProcessSigState, t: Task, sig: number): boolean {
    const s = threadState(t);
    // sig_ignored(): a signal the target thread blocks stays queued even when ignored (the
    // disposition may change before unblocking, and signalfd or sigtimedwait may take it); so does
    // one in rt_sigtimedwait's set. For a process-wide signal the target is the leader.
    if (s.waitSet?.has(sig)) return false;
    return p.ignored(sig, s.blocked);
  }

  private wants(t: Task, sig: number): boolean {
    if (t.state === 'zombie') return false;
    if (sig === SIGKILL) return true;
    return !threadState(t).blocked.has(sig);
  }

  /** complete_signal(): find a thread to take it; a fatal default action kills the process now. */
  private complete(target: Task, p: ProcessSigState, threads: Task[], sig: number, group: boolean): void {
    let t: Task | undefined;
    if (this.wants(target, sig)) t = target;
    else if (group) t = threads.find((x) => this.wants(x, sig));
    if (!t) return;
    const a = p.actions[sig]!;
    const d = defaultAction(sig);
    const s = threadState(t);
    if (
      sig === SIGKILL ||
      (a.handler === SIG_DFL && (d === 'terminate' || d === 'core') && !s.waitSet?.has(sig))
    ) {
      // The signal is fatal: the group dies without waiting for a thread to dequeue it.
      const info = (group ? p.shared : s.pending).take(sig);
      this.m.killProcess(sig, `${this.describe(info)} (default action)`, t, null);
      return;
    }
    this.wakeUp(t);
  }

  /** signal_wake_up(): a thread in an interruptible wait leaves it; a running one sees it at its next check. */
  private wakeUp(t: Task): void {
    const s = threadState(t);
    if (t.state !== 'blocked' && t.state !== 'sleeping') return;
    if (s.stoppedWait) return; // only SIGCONT (resume) or SIGKILL (fatal above) end a stop
    if (s.ownWait) {
      // sigsuspend, pause, rt_sigtimedwait: their retry decides what the signal means.
      this.m.wake(t, 0);
      return;
    }
    const nr = t.origEax;
    // A vfork parent waits uninterruptibly (killable only): its signals wait until the child lets go.
    if (nr === 190 || (nr === 120 && t.cpu.regs[EBX]! & CLONE_VFORK)) return;
    let code = restartCodeFor(nr);
    const wakeAt = t.wakeAt;
    const R = t.cpu.regs;
    // clock_nanosleep(clock, flags, req, rem) with TIMER_ABSTIME is simply issued again.
    if ((nr === 267 || nr === 407) && R[ECX]! & 1) code = ERESTARTNOHAND;
    if (!this.m.interruptSyscall(t, false)) return;
    if (code === ERESTART_RESTARTBLOCK) {
      // The restart block restart_syscall resumes: the same deadline, the same *rem.
      const s = threadState(t);
      s.restart =
        nr === 0
          ? s.restarting
          : { deadline: wakeAt, rem: (nr === 162 ? R[ECX]! : R[ESI]!) >>> 0, time64: nr === 407 };
      s.restarting = null;
      if (s.restart) this.writeRemaining(t, s.restart.deadline, s.restart.rem, s.restart.time64);
    }
    R[EAX] = -code;
  }

  /** A relative sleep interrupted: the time left goes to *rem. */
  private writeRemaining(t: Task, wakeAt: number, rem: number, t64: boolean): void {
    if (!rem || wakeAt < 0) return;
    const ns = this.m.cyclesToNs(Math.max(0, wakeAt - this.m.now()));
    const mem = this.memOf(t);
    if (!userOk(mem, rem, t64 ? 16 : 8, true)) return;
    const sec = Math.floor(ns / 1e9);
    mem.write32(rem, sec);
    if (t64) {
      mem.write32(rem + 4, 0);
      mem.write32(rem + 8, ns % 1e9);
      mem.write32(rem + 12, 0);
    } else mem.write32(rem + 4, ns % 1e9);
  }

  private resume(t: Task): void {
    threadState(t).stoppedWait = false;
    this.m.wake(t, t.cpu.regs[EAX]!);
  }

  private describe(info: SigInfo): string {
    if (info.code === SI_USER || info.code === SI_TKILL) return `sent by process ${info.w[3]}`;
    return info.code > 0 ? 'sent by the kernel' : `code ${info.code}`;
  }

  // ---------------------------------------------------------------- faults

  /**
   * force_sig_fault(): a CPU exception no probe claimed. A blocked or ignored fault signal is unblocked
   * and reset to the default action (the process cannot survive ignoring it). Returns false for the
   * default action (the caller kills the process with its crash message); otherwise the handler is
   * entered at once with EIP at the faulting instruction (faults) or after it (traps).
   */
  forceFault(t: Task, info: SigInfo, trap: TrapContext): boolean {
    const sig = info.signo;
    const s = threadState(t);
    s.trap.trapNo = trap.trapNo;
    s.trap.errorCode = trap.errorCode;
    s.trap.cr2 = trap.cr2;
    const a = processState(t.process).actions[sig]!;
    const blocked = s.blocked.has(sig);
    if (blocked || a.handler === SIG_IGN) {
      a.handler = SIG_DFL;
      if (blocked) s.blocked.delete(sig);
    }
    if (a.handler === SIG_DFL) return false;
    s.pending.enqueue(info);
    t.origEax = -1;
    this.returnToUser(t);
    return true;
  }

  // ---------------------------------------------------------------- delivery

  /**
   * The machine's return-to-user hook: deliver if there is work, then leave the syscall behind. A
   * call a signal interrupted is restarted even when no signal is left to deliver (another thread
   * took the process-wide one first): a restart code never reaches the guest.
   */
  exitToUser(t: Task): void {
    if (t.state === 'running' && this.hasWork(t)) this.returnToUser(t);
    else if (t.state === 'running') this.restartNoHandler(t);
    if (t.state === 'running') t.origEax = -1;
  }

  /**
   * exit_to_user_mode()'s signal part: delivers what is deliverable (a handler frame per signal,
   * nested as Linux nests them), applies default actions, restarts or fails an interrupted syscall,
   * restores a sigsuspend mask.
   */
  returnToUser(t: Task): void {
    const s = threadState(t);
    // A probe is single-stepping an instruction out of line (IF clear): no handler may start here
    // (uprobe_deny_signal), but an interrupted call is still restarted (arch_do_signal_or_restart).
    if (!t.cpu.interruptsEnabled()) {
      this.restartNoHandler(t);
      return;
    }
    const p = processState(t.process);
    let handled = false;
    for (let guard = 0; guard <= NSIG; guard++) {
      if (p.cldNotify) {
        // get_signal(): the continued process tells its parent (do_notify_parent_cldstop).
        const why = p.cldNotify;
        p.cldNotify = 0;
        this.notifyParent(t.process, why, why === CLD_CONTINUED ? SIGCONT : p.stopSig);
        if (t.state !== 'running') return;
      }
      if (p.stopped && !s.pending.set.has(SIGKILL)) {
        this.park(t);
        return;
      }
      const info = dequeueSignal(s, p, s.blocked);
      if (!info) break;
      const sig = info.signo;
      const a = p.actions[sig]!;
      if (a.handler === SIG_IGN) continue;
      if (a.handler === SIG_DFL) {
        const d = defaultAction(sig);
        if (d === 'ignore' || d === 'continue') continue;
        if (d === 'stop') {
          // do_signal_stop(); a terminal stop signal for an orphaned process group is discarded.
          if (sig !== SIGSTOP && this.orphanedGroup(t.process)) continue;
          if (!p.stopComplete) p.stopSig = sig;
          p.stopped = true;
          continue;
        }
        this.m.killProcess(sig, `${this.describe(info)} (default action)`, t, null);
        return;
      }
      this.restartOnHandler(t, a.flags);
      const old = s.savedMask ?? s.blocked.clone();
      s.savedMask = null;
      const act = new SigAction();
      act.copyFrom(a);
      // SA_RESETHAND: this delivery uses the handler, later ones get the default action.
      if (a.flags & SA_RESETHAND) a.handler = SIG_DFL;
      const ok = setupFrame(t.cpu, this.memOf(t), {
        sig,
        info,
        action: act,
        oldMask: old,
        thread: s,
        trap: s.trap,
      });
      if (!ok) {
        // force_sigsegv(): the frame could not be written; the process dies of SIGSEGV.
        this.m.killProcess(SIGSEGV, `cannot build the frame for ${signalName(sig)} (bad stack)`, t, null);
        return;
      }
      s.blocked.or(act.mask);
      if (!(act.flags & SA_NODEFER)) s.blocked.add(sig);
      s.blocked.blockable();
      handled = true;
    }
    if (!handled) {
      this.restartNoHandler(t);
      if (s.savedMask) {
        s.blocked.set(s.savedMask);
        s.savedMask = null;
      }
    }
  }

  private park(t: Task): void {
    threadState(t).stoppedWait = true;
    this.m.block(t, 'stopped (group stop)', -1);
    const proc = t.process;
    const p = processState(proc);
    // The group stop completes when no thread can run any more: a thread blocked in a system call
    // counts as stopped (it parks when it wakes), where Linux would interrupt and park it first.
    if (p.stopComplete || proc.threads.some((x) => x.state === 'running' || x.state === 'runnable')) return;
    p.stopComplete = true;
    proc.stopReport = p.stopSig;
    proc.continueReport = false;
    this.notifyParent(proc, CLD_STOPPED, p.stopSig);
  }

  /**
   * do_notify_parent_cldstop(): SIGCHLD with CLD_STOPPED/CLD_CONTINUED to the parent unless it
   * ignores SIGCHLD or asked SA_NOCLDSTOP; its waiters are woken either way.
   */
  private notifyParent(proc: Process, why: number, status: number): void {
    const parent = proc.parent;
    if (!parent || parent.state !== 'alive') return;
    const a = processState(parent).actions[SIGCHLD]!;
    if (a.handler !== SIG_IGN && !(a.flags & SA_NOCLDSTOP)) {
      const info = new SigInfo(SIGCHLD, why);
      info.w[3] = proc.pid;
      info.w[4] = 1000;
      info.w[5] = status & 0x7f;
      this.sendToProcess(parent, info);
    }
    parent.childWait.wakeAll();
  }

  /**
   * will_become_orphaned_pgrp(): no member has a parent in another group of the same session. The
   * first process's parent is outside the machine (a shell's job, in its own group): not orphaned.
   */
  private orphanedGroup(self: Process): boolean {
    for (const q of this.m.processes.values()) {
      if (q.pgid !== self.pgid || q.state !== 'alive') continue;
      if (q === this.m.initProcess) return false;
      const par = q.parent;
      if (par && par.pgid !== self.pgid && par.sid === q.sid) return false;
    }
    return true;
  }

  /** handle_signal()'s restart rules: the call returns EINTR, or is re-executed after the handler. */
  private restartOnHandler(t: Task, flags: number): void {
    if (t.origEax < 0) return;
    const R = t.cpu.regs;
    const r = R[EAX]!;
    threadState(t).restart = null;
    if (r === -ERESTART_RESTARTBLOCK || r === -ERESTARTNOHAND) R[EAX] = -EINTR;
    else if (r === -ERESTARTSYS && !(flags & SA_RESTART)) R[EAX] = -EINTR;
    else if (r === -ERESTARTSYS || r === -ERESTARTNOINTR) {
      R[EAX] = t.origEax;
      t.cpu.eip = (t.cpu.eip - 2) >>> 0;
    }
    t.origEax = -1;
  }

  /**
   * No handler ran: the restart codes re-execute the call; an interrupted relative sleep goes on
   * through restart_syscall(2) (EAX = 0 at the same `int $0x80`), to its first deadline.
   */
  private restartNoHandler(t: Task): void {
    if (t.origEax < 0) return;
    const R = t.cpu.regs;
    const r = R[EAX]!;
    if (r === -ERESTARTNOHAND || r === -ERESTARTSYS || r === -ERESTARTNOINTR) {
      R[EAX] = t.origEax;
      t.cpu.eip = (t.cpu.eip - 2) >>> 0;
    } else if (r === -ERESTART_RESTARTBLOCK) {
      R[EAX] = 0; // __NR_restart_syscall
      t.cpu.eip = (t.cpu.eip - 2) >>> 0;
    }
  }

  // ---------------------------------------------------------------- timers

  /** Earliest armed timer of any live process (cycles), or -1. */
  nextTimer(): number {
    let n = -1;
    for (const p of this.m.processes.values()) {
      if (p.state !== 'alive' || !p.signals.timers) continue;
      const e = p.signals.timers.nextExpiry();
      if (e >= 0 && (n < 0 || e < n)) n = e;
    }
    return n;
  }

  /** Fires every timer due at `now`, process by process in pid order. */
  fireTimers(now: number): void {
    const procs = [...this.m.processes.values()].sort((a, b) => a.pid - b.pid);
    for (const p of procs) {
      if (p.state !== 'alive' || !p.signals.timers) continue;
      p.signals.timers.expire(now, (info, tid) => {
        if (tid) {
          const target = this.m.tasks.get(tid);
          return target && target.state !== 'zombie' ? this.send(target, info, false) : false;
        }
        return this.sendToProcess(p, info);
      });
      if (this.m.result) return;
    }
  }
}
