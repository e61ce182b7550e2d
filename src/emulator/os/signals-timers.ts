// Per-process interval timers (alarm/setitimer: ITIMER_REAL, and ITIMER_VIRTUAL/ITIMER_PROF counted on
// the same clock) and POSIX timers (timer_create/settime/gettime/getoverrun/delete), all on the
// machine's virtual clock in cycles. Pure bookkeeping: the caller polls `nextExpiry()` and calls
// `expire(now, send)` at its scheduling points and sends the signals it is handed.
// Guarantees: expiry depends only on virtual time; a periodic timer that fell behind fires once and
// counts the periods it missed as overruns (hrtimer_forward), and a POSIX timer whose previous signal is
// still queued counts an overrun instead of queuing another (send_sigqueue), as Linux does. CPU-time
// clocks and the virtual/profiling itimers run on the virtual clock too: a guest thread is never
// descheduled for another host process here, so its CPU time and the machine's time advance together.

import { SIGALRM, SIGPROF, SIGVTALRM, SigInfo, SI_TIMER, type PosixTimerRef } from './signals.js';

export const ITIMER_REAL = 0;
export const ITIMER_VIRTUAL = 1;
export const ITIMER_PROF = 2;

export const SIGEV_SIGNAL = 0;
export const SIGEV_NONE = 1;
export const SIGEV_THREAD_ID = 4;

const ITIMER_SIGNAL = [SIGALRM, SIGVTALRM, SIGPROF];

/** One armed-or-not timer: absolute expiry in cycles (-1 = disarmed) and period (0 = one-shot). */
export class Timer {
  expires = -1;
  interval = 0;

  /** Cycles left until expiry (0 when disarmed). */
  remaining(now: number): number {
    return this.expires < 0 ? 0 : Math.max(0, this.expires - now);
  }

  arm(now: number, value: number, interval: number): void {
    this.expires = value > 0 ? now + value : -1;
    this.interval = value > 0 ? interval : 0;
  }

  /** Called at `now` >= expires: re-arms a periodic timer past `now`; returns the periods missed. */
  advance(now: number): number {
    if (this.interval <= 0) {
      this.expires = -1;
      return 0;
    }
    const periods = Math.floor((now - this.expires) / this.interval) + 1;
    this.expires += periods * this.interval;
    return periods - 1;
  }
}

export class PosixTimer extends Timer implements PosixTimerRef {
  queued = false;
  overrun = 0;
  overrunLast = 0;
  constructor(
    readonly id: number,
    readonly clock: number,
    readonly notify: number,
    readonly signo: number,
    readonly value: number,
    /** Target thread for SIGEV_THREAD_ID, else 0 (the process). */
    readonly tid: number,
  ) {
    super();
  }

  siginfo(): SigInfo {
    const i = new SigInfo(this.signo, SI_TIMER);
    i.w[3] = this.id;
    i.w[5] = this.value;
    i.timer = this;
    return i;
  }
}

/** Sends an expired timer's signal to the process, or to one thread of it (tid); false if dropped. */
export type TimerSend = (info: SigInfo, tid: number) => boolean;

export class ProcessTimers {
  readonly itimers = [new Timer(), new Timer(), new Timer()];
  readonly posix = new Map<number, PosixTimer>();
  private nextId = 0;

  create(clock: number, notify: number, signo: number, value: number | null, tid: number): PosixTimer {
    const id = this.nextId++;
    const t = new PosixTimer(id, clock, notify, signo, value ?? id, tid);
    this.posix.set(id, t);
    return t;
  }

  /** The earliest armed expiry in cycles, or -1. */
  nextExpiry(): number {
    let n = -1;
    for (const t of this.itimers) if (t.expires >= 0 && (n < 0 || t.expires < n)) n = t.expires;
    for (const t of this.posix.values()) if (t.expires >= 0 && (n < 0 || t.expires < n)) n = t.expires;
    return n;
  }

  /** Fires every timer due at `now`, itimers first, then POSIX timers by id. */
  expire(now: number, send: TimerSend): void {
    for (let w = 0; w < 3; w++) {
      const t = this.itimers[w]!;
      if (t.expires < 0 || t.expires > now) continue;
      t.advance(now);
      send(SigInfo.kernel(ITIMER_SIGNAL[w]!), 0);
    }
    for (const t of this.posix.values()) {
      if (t.expires < 0 || t.expires > now) continue;
      const missed = t.advance(now);
      if (t.notify === SIGEV_NONE) continue;
      t.overrun += missed;
      if (t.queued) {
        t.overrun++;
        continue;
      }
      t.queued = send(t.siginfo(), t.notify === SIGEV_THREAD_ID ? t.tid : 0);
    }
  }

  /** fork(): the child has no timers; execve keeps itimers but drops POSIX timers. */
  forExec(): void {
    this.posix.clear();
  }
}
