// The Linux signal state model for i386 guests: signal numbers, sigaction flags, si_codes, 64-bit
// signal sets, the per-process action table and shared pending set, the per-thread blocked mask,
// pending set and alternate stack, and default actions. Pure data and rules (no CPU, no memory, no
// scheduler), so it can be tested alone. Guarantees, as Linux kernel/signal.c: a standard signal
// (1..31) is pending at most once, real-time ones (32..64) queue every instance in order; dequeueing
// takes the synchronous fault signals first, then the lowest number, from the thread's own set
// before the process-wide one; SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.

export const NSIG = 64;

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGSTKFLT = 16;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGIO = 29;
export const SIGPWR = 30;
export const SIGSYS = 31;
export const SIGRTMIN = 32;

const NAMES = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** "SIGSEGV", "SIGRTMIN+3", "signal 99". */
export function signalName(sig: number): string {
  if (sig >= 1 && sig < NAMES.length) return NAMES[sig]!;
  if (sig >= SIGRTMIN && sig <= NSIG) return sig === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${sig - SIGRTMIN}`;
  return `signal ${sig}`;
}

// sigaction flags (asm-generic/signal-defs.h, x86 uapi signal.h).
export const SA_NOCLDSTOP = 0x00000001;
export const SA_NOCLDWAIT = 0x00000002;
export const SA_SIGINFO = 0x00000004;
export const SA_RESTORER = 0x04000000;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000 | 0;

export const SIG_DFL = 0;
export const SIG_IGN = 1;

export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;
export const SS_AUTODISARM = 0x80000000 | 0;
export const MINSIGSTKSZ = 2048;

// si_code values (uapi asm-generic/siginfo.h).
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TIMER = -2;
export const SI_TKILL = -6;
export const ILL_ILLOPN = 2;
export const FPE_INTDIV = 1;
export const FPE_FLTINV = 7;
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRERR = 2;
export const TRAP_BRKPT = 1;
export const TRAP_TRACE = 2;
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;

/** A 64-bit signal set as two 32-bit words; bit (sig - 1). */
export class SigSet {
  constructor(
    public lo = 0,
    public hi = 0,
  ) {}

  static of(...sigs: number[]): SigSet {
    const s = new SigSet();
    for (const x of sigs) s.add(x);
    return s;
  }

  clone(): SigSet {
    return new SigSet(this.lo, this.hi);
  }

  set(o: SigSet): void {
    this.lo = o.lo;
    this.hi = o.hi;
  }

  has(sig: number): boolean {
    return sig <= 32 ? ((this.lo >>> (sig - 1)) & 1) !== 0 : ((this.hi >>> (sig - 33)) & 1) !== 0;
  }

  add(sig: number): void {
    if (sig <= 32) this.lo = (this.lo | (1 << (sig - 1))) >>> 0;
    else this.hi = (this.hi | (1 << (sig - 33))) >>> 0;
  }

  delete(sig: number): void {
    if (sig <= 32) this.lo = (this.lo & ~(1 << (sig - 1))) >>> 0;
    else this.hi = (this.hi & ~(1 << (sig - 33))) >>> 0;
  }

  or(o: SigSet): void {
    this.lo = (this.lo | o.lo) >>> 0;
    this.hi = (this.hi | o.hi) >>> 0;
  }

  andNot(o: SigSet): void {
    this.lo = (this.lo & ~o.lo) >>> 0;
    this.hi = (this.hi & ~o.hi) >>> 0;
  }

  isEmpty(): boolean {
    return this.lo === 0 && this.hi === 0;
  }

  /** Removes SIGKILL and SIGSTOP, which can never be blocked (sigdelsetmask(..., ~_BLOCKABLE)). */
  blockable(): SigSet {
    this.delete(SIGKILL);
    this.delete(SIGSTOP);
    return this;
  }
}

/** Fault signals dequeued before any other (kernel/signal.c SYNCHRONOUS_MASK). */
const SYNCHRONOUS = SigSet.of(SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS);

/**
 * A siginfo_t as the 128 bytes the guest sees, kept as 32 little-endian words so a queued one is
 * copied out exactly (rt_sigqueueinfo passes the caller's own). Word 0 si_signo, 1 si_errno,
 * 2 si_code, 3.. the union (si_pid/si_addr/si_tid at 3, si_uid/si_overrun at 4, si_status/si_value
 * at 5, si_utime 6, si_stime 7).
 */
export class SigInfo {
  readonly w = new Int32Array(32);
  /** The POSIX timer that queued it (overrun accounting at dequeue). */
  timer: PosixTimerRef | null = null;
  constructor(signo: number, code: number) {
    this.w[0] = signo;
    this.w[2] = code;
  }
  get signo(): number {
    return this.w[0]!;
  }
  get code(): number {
    return this.w[2]!;
  }

  /** kill(2)/tgkill(2): sender's pid and uid. */
  static user(sig: number, code: number, pid: number, uid: number): SigInfo {
    const i = new SigInfo(sig, code);
    i.w[3] = pid;
    i.w[4] = uid;
    return i;
  }

  /** A fault: si_addr. */
  static fault(sig: number, code: number, addr: number): SigInfo {
    const i = new SigInfo(sig, code);
    i.w[3] = addr | 0;
    return i;
  }

  /** Sent by the kernel itself (SEND_SIG_PRIV): SI_KERNEL, no sender. */
  static kernel(sig: number): SigInfo {
    return new SigInfo(sig, SI_KERNEL);
  }
}

/** What the model needs to know of a POSIX timer to account overruns when its signal is dequeued. */
export interface PosixTimerRef {
  queued: boolean;
  overrun: number;
  overrunLast: number;
}

/** Pending signals: the set and, in arrival order, the siginfo of each queued instance. */
export class SigPending {
  readonly set = new SigSet();
  readonly queue: SigInfo[] = [];

  /**
   * Queues `info` unless it is a standard signal already pending (legacy_queue: those coalesce).
   * Returns false when it was dropped that way.
   */
  enqueue(info: SigInfo): boolean {
    const sig = info.signo;
    if (sig < SIGRTMIN && this.set.has(sig)) return false;
    this.set.add(sig);
    this.queue.push(info);
    return true;
  }

  /** The signal dequeue would take from this set, skipping those in `blocked` (0 = none). */
  next(blocked: SigSet): number {
    const lo = (this.set.lo & ~blocked.lo) >>> 0;
    const hi = (this.set.hi & ~blocked.hi) >>> 0;
    if (lo === 0 && hi === 0) return 0;
    const sync = (lo & SYNCHRONOUS.lo) >>> 0;
    if (sync !== 0) return lowestBit(sync) + 1;
    if (lo !== 0) return lowestBit(lo) + 1;
    return lowestBit(hi) + 33;
  }

  /** Removes the oldest instance of `sig` and returns its siginfo. */
  take(sig: number): SigInfo {
    const k = this.queue.findIndex((i) => i.signo === sig);
    const info = k >= 0 ? this.queue.splice(k, 1)[0]! : SigInfo.kernel(sig);
    if (!this.queue.some((i) => i.signo === sig)) this.set.delete(sig);
    const t = info.timer;
    if (t) {
      t.queued = false;
      t.overrunLast = t.overrun;
      t.overrun = 0;
      info.w[4] = t.overrunLast;
    }
    return info;
  }

  /** Drops the signal a deleted POSIX timer has queued, if any. */
  dropTimer(timer: PosixTimerRef): void {
    const k = this.queue.findIndex((i) => i.timer === timer);
    if (k < 0) return;
    const sig = this.queue[k]!.signo;
    this.queue.splice(k, 1);
    if (!this.queue.some((i) => i.signo === sig)) this.set.delete(sig);
  }

  /** Drops every pending instance of `sig` (it became ignored, or SIGCONT/stop cancel each other). */
  flush(sig: number): void {
    if (!this.set.has(sig)) return;
    this.set.delete(sig);
    for (let k = this.queue.length - 1; k >= 0; k--)
      if (this.queue[k]!.signo === sig) {
        const t = this.queue[k]!.timer;
        if (t) t.queued = false;
        this.queue.splice(k, 1);
      }
  }
}

function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** One row of the action table (struct k_sigaction). */
export class SigAction {
  handler = SIG_DFL;
  flags = 0;
  readonly mask = new SigSet();
  restorer = 0;

  copyFrom(o: SigAction): void {
    this.handler = o.handler;
    this.flags = o.flags;
    this.mask.set(o.mask);
    this.restorer = o.restorer;
  }
}

export type DefaultAction = 'terminate' | 'core' | 'ignore' | 'stop' | 'continue';

/** The default action of each signal (signal(7)); real-time signals terminate. */
export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
      return 'core';
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
      return 'ignore';
    case SIGCONT:
      return 'continue';
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return 'stop';
    default:
      return 'terminate';
  }
}

/** Per-process (thread group) signal state: the action table and the process-directed pending set. */
export class ProcessSigState {
  /** Index 1..64. */
  readonly actions: SigAction[] = Array.from({ length: NSIG + 1 }, () => new SigAction());
  readonly shared = new SigPending();
  /** Group stop in effect (SIGSTOP and friends): threads park at their next delivery point. */
  stopped = false;
  /** Every thread has parked (SIGNAL_STOP_STOPPED): the stop was reported to the parent. */
  stopComplete = false;
  /** The signal that stopped the group (signal->group_exit_code). */
  stopSig = 0;
  /** CLD_STOPPED or CLD_CONTINUED still to tell the parent (SIGNAL_CLD_MASK), 0 when none. */
  cldNotify = 0;

  /** Whether sending `sig` now would be discarded at once (sig_ignored: ignored and not blocked). */
  ignored(sig: number, blocked: SigSet): boolean {
    if (blocked.has(sig)) return false;
    const a = this.actions[sig]!;
    if (a.handler === SIG_IGN) return true;
    return a.handler === SIG_DFL && (defaultAction(sig) === 'ignore' || defaultAction(sig) === 'continue');
  }

  /** Inherited across execve: handled signals revert to SIG_DFL, ignored ones stay ignored. */
  resetOnExec(): void {
    for (const a of this.actions) {
      if (a.handler !== SIG_IGN) a.handler = SIG_DFL;
      a.flags = 0;
      a.mask.lo = a.mask.hi = 0;
      a.restorer = 0;
    }
  }

  /** A copy for fork(): same dispositions, nothing pending. */
  forkCopy(): ProcessSigState {
    const p = new ProcessSigState();
    for (let s = 1; s <= NSIG; s++) p.actions[s]!.copyFrom(this.actions[s]!);
    return p;
  }
}

/** What restart_syscall needs to resume an interrupted relative sleep (nanosleep, clock_nanosleep). */
export interface RestartBlock {
  /** Absolute wake-up time in cycles. */
  deadline: number;
  /** Guest address of the remaining-time timespec (0 = none) and whether it is the 64-bit layout. */
  rem: number;
  time64: boolean;
}

/** Per-thread signal state. */
export class ThreadSigState {
  readonly blocked = new SigSet();
  readonly pending = new SigPending();
  /** sigaltstack: base, size, and SS_DISABLE / SS_AUTODISARM. */
  altSp = 0;
  altSize = 0;
  altFlags = SS_DISABLE;
  /** Mask to restore once a handler frame is set up or the call returns (sigsuspend, pselect). */
  savedMask: SigSet | null = null;
  /** Signals rt_sigtimedwait waits for (null when not waiting): they wake it instead of a handler. */
  waitSet: SigSet | null = null;
  /** The mask before rt_sigtimedwait unblocked its set (real_blocked). */
  readonly realBlocked = new SigSet();
  /** Blocked in sigsuspend, pause or rt_sigtimedwait: a signal wakes it to run its retry. */
  ownWait = false;
  /** Parked by a group stop (SIGSTOP...): only SIGCONT or SIGKILL wakes it. */
  stoppedWait = false;
  /** restart_syscall(2)'s block: the interrupted sleep's deadline (cycles) and *rem (restart_block). */
  restart: RestartBlock | null = null;
  /** The block restart_syscall is running now (its sleep may be interrupted again). */
  restarting: RestartBlock | null = null;
  /** The last trap's number, error code and fault address (thread.trap_nr, error_code, cr2). */
  readonly trap = { trapNo: 0, errorCode: 0, cr2: 0 };

  /** A new thread (clone): same mask, nothing pending, no alternate stack (CLONE_VM), fresh restart state. */
  cloneForThread(): ThreadSigState {
    const t = new ThreadSigState();
    t.blocked.set(this.blocked);
    return t;
  }

  /** fork(): the child keeps mask and alternate stack. */
  cloneForFork(): ThreadSigState {
    const t = new ThreadSigState();
    t.blocked.set(this.blocked);
    t.altSp = this.altSp;
    t.altSize = this.altSize;
    t.altFlags = this.altFlags;
    return t;
  }
}

/** dequeue_signal(): the thread's own pending set first, then the shared one. */
export function dequeueSignal(t: ThreadSigState, p: ProcessSigState, blocked: SigSet): SigInfo | null {
  const own = t.pending.next(blocked);
  if (own !== 0) return t.pending.take(own);
  const shared = p.shared.next(blocked);
  if (shared !== 0) return p.shared.take(shared);
  return null;
}

/** Whether `t` has a signal it would act on now. */
export function hasDeliverable(t: ThreadSigState, p: ProcessSigState): boolean {
  return t.pending.next(t.blocked) !== 0 || p.shared.next(t.blocked) !== 0;
}
