// timerfd_create, timerfd_settime(64), timerfd_gettime(64): a timer as a descriptor, on the
// machine's virtual clock. Guarantees (timerfd_create(2), fs/timerfd.c): a read takes 8 bytes (less
// is EINVAL) and returns the expirations since the last read or settime as a u64, waiting while
// there are none (EAGAIN with TFD_NONBLOCK); poll/epoll see POLLIN while expirations are pending;
// a periodic timer that fell behind counts every period it missed; settime resets the count and
// returns the old setting; times are checked as Linux checks them (EINVAL for a negative second or
// a nanosecond outside 0..999,999,999; an absolute time in the past expires at once). The armed
// timer is a machine clock event: tasks waiting on it wake in the first scheduling round at or
// after its expiry, and an idle machine jumps straight there.

import type { ClockEvent, Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EBADF, EFAULT, EINVAL, EPERM } from './errno.js';
import { anonIno, FileDescription, O_CLOEXEC, O_NONBLOCK, O_RDONLY, POLLIN, type StatInfo } from './fd.js';
import { absoluteCycles, CLOCK_REALTIME, readSleepTime } from './time.js';
import { WaitQueue } from './wait.js';

const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const CLOCK_REALTIME_ALARM = 8;
const CLOCK_BOOTTIME_ALARM = 9;
const TFD_TIMER_ABSTIME = 1;
const TFD_TIMER_CANCEL_ON_SET = 2;

export class TimerfdDesc extends FileDescription implements ClockEvent {
  readonly kind = 'timerfd';
  private readonly ino = anonIno();
  /** Absolute expiry in cycles (-1: disarmed) and period (0: one-shot). */
  expires = -1;
  private interval = 0;
  /** Expirations not read yet. */
  private ticks = 0;
  /** The period as the guest gave it (seconds, nanoseconds): reported exactly, whatever its size. */
  period: readonly [number, number] = [0, 0];

  constructor(
    private readonly k: Kernel,
    readonly clock: number,
    flags: number,
  ) {
    super(O_RDONLY | (flags & O_NONBLOCK));
    this.waiters = new WaitQueue(k.m);
    this.path = 'anon_inode:[timerfd]';
  }

  /** Counts the expirations up to `now` and moves the expiry past it (hrtimer_forward). */
  private catchUp(now: number): void {
    if (this.expires < 0 || now < this.expires) return;
    if (this.interval > 0) {
      const n = Math.floor((now - this.expires) / this.interval) + 1;
      this.ticks += n;
      this.expires += n * this.interval;
    } else {
      this.ticks++;
      this.expires = -1;
      this.k.m.removeClockEvent(this);
    }
  }

  fire(now: number): void {
    this.catchUp(now);
    if (this.ticks > 0) this.waiters!.wakeAll();
  }

  /**
   * Arms the timer to expire at `expires` (cycles; at or before now: at once) and every `interval`
   * after, or disarms it (-1); pending expirations are dropped.
   */
  arm(expires: number, interval: number, period: readonly [number, number]): void {
    this.ticks = 0;
    this.expires = expires;
    this.interval = expires >= 0 ? interval : 0;
    this.period = expires >= 0 ? period : [0, 0];
    if (expires >= 0) this.k.m.addClockEvent(this);
    else this.k.m.removeClockEvent(this);
  }

  /** Cycles to the next expiry (0: disarmed), as timerfd_gettime reports it. */
  remaining(now: number): number {
    this.catchUp(now);
    return this.expires < 0 ? 0 : this.expires - now;
  }

  override read(_ctx: unknown, len: number): Uint8Array | number {
    if (len < 8) return -EINVAL;
    this.catchUp(this.k.m.now());
    if (this.ticks === 0) return -EAGAIN;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(this.ticks), true);
    this.ticks = 0;
    return out;
  }

  override poll(): number {
    this.catchUp(this.k.m.now());
    return this.ticks > 0 ? POLLIN : 0;
  }

  override release(): void {
    this.k.m.removeClockEvent(this);
  }

  stat(): StatInfo {
    return { mode: 0o600, size: 0, ino: this.ino, mtimeSec: 0, rdev: 0, blksize: 4096, nlink: 1 };
  }
}

/** Reads a struct itimerspec (32- or 64-bit timespecs): [interval, value] or -EFAULT/-EINVAL. */
function readItimerspec(k: Kernel, addr: number, t64: boolean) {
  const interval = readSleepTime(k, addr, t64);
  if (typeof interval === 'number') return interval;
  const value = readSleepTime(k, addr + (t64 ? 16 : 8), t64);
  if (typeof value === 'number') return value;
  return { interval, value };
}

/** Writes a struct itimerspec: the interval as (seconds, nanoseconds), the value in nanoseconds. */
function writeItimerspec(
  k: Kernel,
  addr: number,
  t64: boolean,
  interval: readonly [number, number],
  valueNs: number,
): boolean {
  if (!k.userRange(addr, t64 ? 32 : 16, true)) return false;
  const put = (at: number, sec: number, nsec: number) => {
    k.mem.write32(at, sec % 4294967296);
    if (t64) {
      k.mem.write32(at + 4, Math.floor(sec / 4294967296));
      k.mem.write32(at + 8, nsec);
      k.mem.write32(at + 12, 0);
    } else k.mem.write32(at + 4, nsec);
  };
  put(addr, interval[0], interval[1]);
  const sec = Math.floor(valueNs / 1e9);
  put(addr + (t64 ? 16 : 8), sec, valueNs - sec * 1e9);
  return true;
}

function timerfdOf(t: Task, fd: number): TimerfdDesc | number {
  const d = t.process.fds.get(fd);
  if (!d) return -EBADF;
  return d instanceof TimerfdDesc ? d : -EINVAL;
}

function gettime(k: Kernel, t: Task, fd: number, addr: number, t64: boolean): number {
  const d = timerfdOf(t, fd);
  if (typeof d === 'number') return d;
  const left = d.remaining(k.m.now());
  return writeItimerspec(k, addr, t64, d.period, k.m.cyclesToNs(left)) ? 0 : -EFAULT;
}

function settime(
  k: Kernel,
  t: Task,
  fd: number,
  flags: number,
  addr: number,
  old: number,
  t64: boolean,
): number {
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) return -EINVAL;
  const d = timerfdOf(t, fd);
  if (typeof d === 'number') return d;
  const spec = readItimerspec(k, addr, t64);
  if (typeof spec === 'number') return spec;
  if (old) {
    const r = gettime(k, t, fd, old, t64);
    if (r < 0) return r;
  }
  const now = k.m.now();
  const { interval, value } = spec;
  let expires = -1;
  if (value.sec > 0 || value.nsec > 0)
    expires =
      flags & TFD_TIMER_ABSTIME
        ? absoluteCycles(k, d.clock, value.sec, value.nsec)
        : now + Math.max(1, k.m.nsToCycles(value.sec * 1e9 + value.nsec));
  d.arm(expires, k.m.nsToCycles(interval.sec * 1e9 + interval.nsec), [interval.sec, interval.nsec]);
  return 0;
}

export function registerTimerfd(k: Kernel): void {
  const T = k.table;
  T.define('timerfd_create', (t, clock, flags) => {
    if (
      ![CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM].includes(
        clock,
      )
    )
      return -EINVAL;
    if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -EINVAL;
    // The alarm clocks need CAP_WAKE_ALARM, which the guest's user does not have.
    if (clock === CLOCK_REALTIME_ALARM || clock === CLOCK_BOOTTIME_ALARM) return -EPERM;
    return t.process.fds.install(new TimerfdDesc(k, clock, flags), (flags & O_CLOEXEC) !== 0);
  });
  T.define('timerfd_settime', (t, fd, flags, nv, old) => settime(k, t, fd, flags, nv, old, false));
  T.define('timerfd_settime64', (t, fd, flags, nv, old) => settime(k, t, fd, flags, nv, old, true));
  T.define('timerfd_gettime', (t, fd, cur) => gettime(k, t, fd, cur, false));
  T.define('timerfd_gettime64', (t, fd, cur) => gettime(k, t, fd, cur, true));
}
