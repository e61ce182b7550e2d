// signalfd(2) and signalfd4(2): a descriptor that reads pending signals of a mask as 128-byte
// struct signalfd_siginfo records instead of having them delivered. Guarantees, as Linux
// fs/signalfd.c: a read dequeues from the reading thread's pending set, then the process's, only
// signals in the mask (SIGKILL and SIGSTOP never are), as many records as fit (EINVAL below 128
// bytes), and waits (or EAGAIN with O_NONBLOCK) while none is pending; poll reports POLLIN while one
// is; the record's fields follow the siginfo layout of the signal and its code (signalfd_copyinfo);
// signalfd4 on an existing signalfd replaces its mask. Signals still have to be blocked to stay
// pending: an unblocked one is delivered as usual.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EBADF, EFAULT, EINVAL } from './errno.js';
import {
  anonIno,
  FileDescription,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLIN,
  type IoContext,
  type StatInfo,
} from './fd.js';
import type { Process } from './process.js';
import { processState, threadState, type SignalKernel } from './signals-kernel.js';
import {
  dequeueSignal,
  SI_KERNEL,
  SI_TIMER,
  SI_USER,
  SIGBUS,
  SIGCHLD,
  SIGFPE,
  SIGILL,
  SIGIO,
  SIGSEGV,
  SIGSYS,
  SIGTRAP,
  SigSet,
  type SigInfo,
} from './signals.js';
import type { WaitQueue } from './wait.js';

const SIGNALFD_SIGINFO = 128;
const SI_SIGIO = -5;

type Layout = 'kill' | 'timer' | 'poll' | 'fault' | 'chld' | 'rt';

/** siginfo_layout(): which union member a signal and code fill. */
function layoutOf(sig: number, code: number): Layout {
  if (code > SI_USER && code < SI_KERNEL) {
    if (sig === SIGILL || sig === SIGFPE || sig === SIGSEGV || sig === SIGBUS || sig === SIGTRAP)
      return 'fault';
    if (sig === SIGCHLD) return 'chld';
    if (sig === SIGIO || code <= 6) return 'poll';
    return sig === SIGSYS ? 'fault' : 'kill';
  }
  if (code === SI_TIMER) return 'timer';
  if (code === SI_SIGIO) return 'poll';
  return code < 0 ? 'rt' : 'kill';
}

/** signalfd_copyinfo(): one struct signalfd_siginfo. */
function encode(info: SigInfo): Uint8Array {
  const b = new Uint8Array(SIGNALFD_SIGINFO);
  const v = new DataView(b.buffer);
  const w = info.w;
  // A `long` widened to one of the record's u64 fields keeps its sign.
  const put64 = (off: number, x: number) => {
    v.setInt32(off, x, true);
    v.setInt32(off + 4, x < 0 ? -1 : 0, true);
  };
  v.setInt32(0, w[0]!, true);
  v.setInt32(4, w[1]!, true);
  v.setInt32(8, w[2]!, true);
  switch (layoutOf(w[0]!, w[2]!)) {
    case 'kill':
      v.setInt32(12, w[3]!, true);
      v.setInt32(16, w[4]!, true);
      break;
    case 'timer':
      v.setInt32(24, w[3]!, true);
      v.setInt32(32, w[4]!, true);
      put64(48, w[5]!);
      v.setInt32(44, w[5]!, true);
      break;
    case 'poll':
      v.setInt32(28, w[3]!, true);
      v.setInt32(20, w[4]!, true);
      break;
    case 'fault':
      put64(72, w[3]!);
      break;
    case 'chld':
      v.setInt32(12, w[3]!, true);
      v.setInt32(16, w[4]!, true);
      v.setInt32(40, w[5]!, true);
      put64(56, w[6]!);
      put64(64, w[7]!);
      break;
    case 'rt':
      v.setInt32(12, w[3]!, true);
      v.setInt32(16, w[4]!, true);
      put64(48, w[5]!);
      v.setInt32(44, w[5]!, true);
      break;
  }
  return b;
}

export class SignalFdDesc extends FileDescription {
  readonly kind = 'signalfd';
  private readonly ino = anonIno();

  constructor(
    flags: number,
    public mask: SigSet,
    private readonly owner: Process,
    queue: WaitQueue,
  ) {
    super(flags);
    this.waiters = queue;
  }

  override read(ctx: IoContext, len: number): Uint8Array | number {
    if (len < SIGNALFD_SIGINFO) return -EINVAL;
    const t = ctx.task;
    const s = threadState(t);
    const p = processState(t.process);
    // Dequeue only the mask's signals: everything else counts as blocked here.
    const others = new SigSet(~this.mask.lo >>> 0, ~this.mask.hi >>> 0);
    const out: Uint8Array[] = [];
    while ((out.length + 1) * SIGNALFD_SIGINFO <= len) {
      const info = dequeueSignal(s, p, others);
      if (!info) break;
      out.push(encode(info));
    }
    if (out.length === 0) return -EAGAIN; // the kernel waits on `waiters` unless O_NONBLOCK
    const r = new Uint8Array(out.length * SIGNALFD_SIGINFO);
    out.forEach((x, i) => r.set(x, i * SIGNALFD_SIGINFO));
    return r;
  }

  override poll(): number {
    const others = new SigSet(~this.mask.lo >>> 0, ~this.mask.hi >>> 0);
    if (this.owner.signals.state?.shared.next(others)) return POLLIN;
    for (const t of this.owner.threads)
      if (t.state !== 'zombie' && t.signals.state?.pending.next(others)) return POLLIN;
    return 0;
  }

  stat(): StatInfo {
    return { mode: 0o600, size: 0, ino: this.ino, mtimeSec: 0, rdev: 0, blksize: 4096, nlink: 1 };
  }
}

const SFD_FLAGS = O_CLOEXEC | O_NONBLOCK;

function signalfd4(
  k: Kernel,
  sk: SignalKernel,
  t: Task,
  fd: number,
  maskAddr: number,
  size: number,
  flags: number,
): number {
  if (flags & ~SFD_FLAGS || size !== 8) return -EINVAL;
  if (!k.userRange(maskAddr, 8, false)) return -EFAULT;
  const mask = new SigSet(k.mem.read32(maskAddr) >>> 0, k.mem.read32(maskAddr + 4) >>> 0).blockable();
  const fds = t.process.fds;
  if (fd !== -1) {
    const f = fds.get(fd);
    if (!f) return -EBADF;
    if (!(f instanceof SignalFdDesc)) return -EINVAL;
    f.mask = mask;
    f.waiters?.wakeAll();
    return fd;
  }
  const d = new SignalFdDesc(2 | (flags & O_NONBLOCK), mask, t.process, sk.signalfdQueue(t.process));
  return fds.install(d, (flags & O_CLOEXEC) !== 0);
}

export function registerSignalfd(k: Kernel, sk: SignalKernel): void {
  k.table.define('signalfd4', (t, a, b, c, d) => signalfd4(k, sk, t, a, b, c, d));
  k.table.define('signalfd', (t, a, b, c) => signalfd4(k, sk, t, a, b, c, 0));
}
