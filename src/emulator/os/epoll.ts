// epoll: epoll_create/epoll_create1, epoll_ctl, epoll_wait/epoll_pwait. Guarantees: level-triggered
// by default (an item is reported while ready); EPOLLET reports an item once per change of its
// description (its wait queue's generation); EPOLLONESHOT disables an item after one report until
// EPOLL_CTL_MOD; ready items are reported in the order they were added (deterministic); an item
// whose descriptor was closed or now names another description is dropped, as when Linux releases
// the file; the epoll descriptor itself polls readable when an item is ready.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EBADF, EEXIST, EFAULT, EINVAL, ENOENT, EPERM } from './errno.js';
import {
  anonIno,
  FileDescription,
  O_CLOEXEC,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  type StatInfo,
} from './fd.js';
import { deadlineAfter, waitReady } from './poll.js';
import { WaitQueue } from './wait.js';

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLET = 1 << 31;
const EPOLLONESHOT = 1 << 30;
const EPOLLEXCLUSIVE = 1 << 28;
/** Flags that are not readiness bits. */
const CONTROL = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | (1 << 29);

interface Item {
  fd: number;
  desc: FileDescription;
  events: number;
  dataLo: number;
  dataHi: number;
  /** Queue generation at the last report (EPOLLET), -1 = never reported. */
  seen: number;
  disabled: boolean;
}

export class EpollDesc extends FileDescription {
  readonly kind = 'epoll';
  readonly items: Item[] = [];
  private ino = anonIno();

  constructor(k: Kernel) {
    super(O_RDWR);
    this.waiters = new WaitQueue(k.m);
    this.path = 'anon_inode:[eventpoll]';
  }

  /** Drops items whose descriptor no longer names the description they were added with. */
  prune(t: Task): void {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const it = this.items[i]!;
      if (t.process.fds.get(it.fd) !== it.desc) this.items.splice(i, 1);
    }
  }

  /** Readiness bits an item would report now (0 = none). */
  readyBits(it: Item): number {
    if (it.disabled) return 0;
    const r = it.desc.poll() & ((it.events & ~CONTROL) | POLLERR | POLLHUP);
    if (!r) return 0;
    if (it.events & EPOLLET && it.seen === (it.desc.waiters?.generation ?? 0)) return 0;
    return r;
  }

  override poll(): number {
    return this.items.some((it) => this.readyBits(it)) ? POLLIN : 0;
  }

  stat(): StatInfo {
    return { mode: 0o600, size: 0, ino: this.ino, mtimeSec: 0, rdev: 0, blksize: 4096, nlink: 1 };
  }
}

function ctl(k: Kernel, t: Task, epfd: number, op: number, fd: number, ev: number): number {
  const ep = t.process.fds.get(epfd);
  const d = t.process.fds.get(fd);
  if (!ep || !d) return -EBADF;
  if (!(ep instanceof EpollDesc) || d === ep) return -EINVAL;
  if (d.kind === 'file' || d.kind === 'dir') return -EPERM; // regular files are always ready: Linux refuses them
  ep.prune(t);
  const i = ep.items.findIndex((it) => it.fd === fd && it.desc === d);
  let events = 0;
  let lo = 0;
  let hi = 0;
  if (op !== EPOLL_CTL_DEL) {
    if (!k.userRange(ev, 12, false)) return -EFAULT;
    events = k.mem.read32(ev) >>> 0;
    lo = k.mem.read32(ev + 4);
    hi = k.mem.read32(ev + 8);
  }
  switch (op) {
    case EPOLL_CTL_ADD:
      if (i >= 0) return -EEXIST;
      ep.items.push({ fd, desc: d, events, dataLo: lo, dataHi: hi, seen: -1, disabled: false });
      break;
    case EPOLL_CTL_MOD:
      if (i < 0) return -ENOENT;
      Object.assign(ep.items[i]!, { events, dataLo: lo, dataHi: hi, seen: -1, disabled: false });
      break;
    case EPOLL_CTL_DEL:
      if (i < 0) return -ENOENT;
      ep.items.splice(i, 1);
      break;
    default:
      return -EINVAL;
  }
  ep.waiters!.wakeAll();
  return 0;
}

function wait(
  k: Kernel,
  t: Task,
  epfd: number,
  evAddr: number,
  max: number,
  deadline: number,
  expired: boolean,
): number {
  const ep = t.process.fds.get(epfd);
  if (!ep) return -EBADF;
  if (!(ep instanceof EpollDesc) || max <= 0 || max > 0x7fffffff / 12) return -EINVAL;
  if (!k.userRange(evAddr, max * 12, true)) return -EFAULT;
  ep.prune(t);
  let n = 0;
  for (const it of ep.items) {
    if (n >= max) break;
    const r = ep.readyBits(it);
    if (!r) continue;
    k.mem.write32(evAddr + 12 * n, r);
    k.mem.write32(evAddr + 12 * n + 4, it.dataLo);
    k.mem.write32(evAddr + 12 * n + 8, it.dataHi);
    it.seen = it.desc.waiters?.generation ?? 0;
    if (it.events & EPOLLONESHOT) it.disabled = true;
    n++;
  }
  if (n > 0 || expired || deadline === k.m.now()) return n;
  const queues = [
    ep.waiters!,
    ...ep.items.map((it) => it.desc.waiters).filter((q): q is WaitQueue => q !== null),
  ];
  return waitReady(k, t, 'epoll_wait', queues, deadline, () =>
    wait(k, t, epfd, evAddr, max, deadline, t.timedOut),
  );
}

export function registerEpoll(k: Kernel): void {
  const T = k.table;
  const create = (t: Task, flags: number) => {
    if (flags & ~O_CLOEXEC) return -EINVAL;
    return t.process.fds.install(new EpollDesc(k), (flags & O_CLOEXEC) !== 0);
  };
  T.define('epoll_create', (t, size) => (size <= 0 ? -EINVAL : create(t, 0)));
  T.define('epoll_create1', (t, flags) => create(t, flags));
  T.define('epoll_ctl', (t, a, b, c, d) => ctl(k, t, a, b, c, d));
  const ms = (timeout: number) => deadlineAfter(k, timeout < 0 ? -1 : timeout * 1e6);
  T.define('epoll_wait', (t, a, b, c, d) => wait(k, t, a, b, c, ms(d), false));
  T.define('epoll_pwait', (t, a, b, c, d) => wait(k, t, a, b, c, ms(d), false));
}
