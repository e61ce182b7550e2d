// Descriptor-table syscalls that do not care what is behind a descriptor: close, close_range, dup, dup2, dup3,
// fcntl/fcntl64 (F_DUPFD[_CLOEXEC], F_GETFD/F_SETFD, F_GETFL/F_SETFL), ioctl (FIONREAD, FIONBIO, and
// ENOTTY for terminal requests: the guest never has a terminal). Guarantees: Linux's errors for bad
// descriptors and commands; dup2(fd, fd) returns fd after checking it; dup3 refuses oldfd == newfd.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EBADF, EFAULT, EINVAL, ENOTTY } from './errno.js';
import { O_CLOEXEC, O_NONBLOCK, SETFL_MASK } from './fd.js';

const F_DUPFD = 0;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_GETLK = 5;
const F_SETLK = 6;
const F_SETLKW = 7;
const F_GETLK64 = 12;
const F_SETLK64 = 13;
const F_SETLKW64 = 14;
const F_DUPFD_CLOEXEC = 1030;
const FD_CLOEXEC = 1;

const FIONREAD = 0x541b;
const FIONBIO = 0x5421;
const FIOCLEX = 0x5451;
const FIONCLEX = 0x5450;

function dup3(t: Task, oldfd: number, newfd: number, flags: number, isDup2: boolean): number {
  const fds = t.process.fds;
  const d = fds.get(oldfd);
  if (!d) return -EBADF;
  if (oldfd === newfd) return isDup2 ? newfd : -EINVAL;
  if (flags & ~O_CLOEXEC) return -EINVAL;
  if (newfd < 0 || newfd >= fds.limit) return -EBADF;
  return fds.installAt(newfd, d, (flags & O_CLOEXEC) !== 0);
}

function fcntl(k: Kernel, t: Task, fd: number, cmd: number, arg: number): number {
  const fds = t.process.fds;
  const d = fds.get(fd);
  if (!d) return -EBADF;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (arg < 0 || arg >= fds.limit) return -EINVAL;
      return fds.dup(fd, arg, cmd === F_DUPFD_CLOEXEC);
    case F_GETFD:
      return fds.cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      return fds.setCloexec(fd, (arg & FD_CLOEXEC) !== 0);
    case F_GETFL:
      return d.flags;
    case F_SETFL:
      d.flags = (d.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
      return 0;
    case F_GETLK:
    case F_GETLK64:
      // One machine and no other lockers: nothing would conflict (l_type = F_UNLCK).
      if (!k.userRange(arg, 2, true)) return -EFAULT;
      k.mem.write16(arg, 2);
      return 0;
    case F_SETLK:
    case F_SETLK64:
    case F_SETLKW:
    case F_SETLKW64:
      // Every lock is granted: processes of one machine are the only lockers, and none conflict.
      return 0;
    default:
      return -EINVAL;
  }
}

function ioctl(k: Kernel, t: Task, fd: number, req: number, arg: number): number {
  const fds = t.process.fds;
  const d = fds.get(fd);
  if (!d) return -EBADF;
  switch (req >>> 0) {
    case FIONREAD: {
      const n = d.available();
      if (n < 0) return n;
      return k.put32(arg, n) ? 0 : -EFAULT;
    }
    case FIONBIO: {
      const v = k.get32(arg);
      if (v === null) return -EFAULT;
      d.flags = v ? d.flags | O_NONBLOCK : d.flags & ~O_NONBLOCK;
      return 0;
    }
    case FIOCLEX:
      return fds.setCloexec(fd, true);
    case FIONCLEX:
      return fds.setCloexec(fd, false);
    default: {
      const r = d.ioctl({ task: t }, req >>> 0, arg);
      return r === -ENOTTY ? -ENOTTY : r;
    }
  }
}

const CLOSE_RANGE_UNSHARE = 2;
const CLOSE_RANGE_CLOEXEC = 4;

/**
 * close_range(first, last, flags): closes (or, with CLOSE_RANGE_CLOEXEC, marks close-on-exec) every
 * open descriptor in [first, last], both unsigned; CLOSE_RANGE_UNSHARE changes nothing here (each
 * process has its own table already).
 */
function closeRange(t: Task, first: number, last: number, flags: number): number {
  if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) return -EINVAL;
  first = first >>> 0;
  last = last >>> 0;
  if (first > last) return -EINVAL;
  const fds = t.process.fds;
  for (const fd of fds.list()) {
    if (fd < first || fd > last) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) fds.setCloexec(fd, true);
    else fds.close(fd);
  }
  return 0;
}

export function registerFdCalls(k: Kernel): void {
  const T = k.table;
  T.define('close', (t, a) => t.process.fds.close(a));
  T.define('dup', (t, a) => t.process.fds.dup(a));
  T.define('dup2', (t, a, b) => dup3(t, a, b, 0, true));
  T.define('dup3', (t, a, b, c) => dup3(t, a, b, c, false));
  T.define('fcntl', (t, a, b, c) => fcntl(k, t, a, b, c));
  T.define('fcntl64', (t, a, b, c) => fcntl(k, t, a, b, c));
  T.define('ioctl', (t, a, b, c) => ioctl(k, t, a, b, c));
  T.define('close_range', (t, a, b, c) => closeRange(t, a, b, c));
}
