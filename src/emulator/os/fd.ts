// Open file descriptions and per-process descriptor tables, as Linux separates them: a description
// (struct file) holds the offset, status flags and the object behind it and is shared by dup and
// fork; a descriptor (an index in a process's table) adds only the close-on-exec flag. Guarantees:
// descriptors are allocated lowest-free first (POSIX); a description is released exactly once, when
// its last descriptor anywhere is closed; dup2/dup3 replace atomically; exec closes exactly the
// close-on-exec descriptors. Every method returns a result or a negative errno, never throws.

import type { Task } from '../machine.js';
import type { WaitQueue } from './wait.js';
import { EBADF, EINVAL, EMFILE, ENOTTY, ESPIPE } from './errno.js';

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
/** Status flags F_SETFL may change (Linux SETFL_MASK, the ones that matter here). */
export const SETFL_MASK = O_APPEND | O_NONBLOCK;

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;

export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFSOCK = 0o140000;

export interface StatInfo {
  mode: number;
  size: number;
  ino: number;
  mtimeSec: number;
  rdev: number;
  blksize: number;
  nlink: number;
}

/** What a description's methods may use of the calling task (guest memory goes through the kernel). */
export interface IoContext {
  task: Task;
}

let nextIno = 0x10000;
/** Inode numbers for objects that live only in the machine (pipes, eventfds...), deterministic. */
export function anonIno(): number {
  return nextIno++;
}

/**
 * An open file description. Subclasses override what their object supports; the defaults are
 * Linux's answers for an object that does not (EINVAL for read/write, ESPIPE for lseek, ENOTTY for
 * ioctl). `read`/`write` return -EAGAIN when they would block: the kernel then waits on `waiters`
 * (unless O_NONBLOCK) and retries when woken, so a description never blocks by itself.
 */
export abstract class FileDescription {
  abstract readonly kind: string;
  /** Access mode and status flags (O_RDONLY/O_WRONLY/O_RDWR, O_APPEND, O_NONBLOCK). */
  flags: number;
  /** Descriptors referring to this description, in all processes. */
  refs = 0;
  /** Woken whenever readiness may have changed (poll, epoll and blocked readers/writers wait here). */
  waiters: WaitQueue | null = null;
  /** The guest path this was opened as ('' for anonymous objects), for fchdir, openat and /proc. */
  path = '';

  constructor(flags: number) {
    this.flags = flags;
  }

  read(_ctx: IoContext, _len: number): Uint8Array | number {
    return -EINVAL;
  }

  write(_ctx: IoContext, _data: Uint8Array): number {
    return -EINVAL;
  }

  /** Readiness now: POLL* bits. */
  poll(): number {
    return POLLIN | POLLOUT;
  }

  lseek(_off: number, _whence: number): number {
    return -ESPIPE;
  }

  ioctl(_ctx: IoContext, _req: number, _arg: number): number {
    return -ENOTTY;
  }

  /** Bytes readable now without blocking (FIONREAD), or -ENOTTY. */
  available(): number {
    return -ENOTTY;
  }

  abstract stat(): StatInfo;

  /** The last descriptor was closed. */
  release(): void {}

  get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY;
  }

  get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY;
  }
}

interface Slot {
  desc: FileDescription;
  cloexec: boolean;
}

export class FdTable {
  private slots: Array<Slot | undefined> = [];
  /** RLIMIT_NOFILE soft limit. */
  limit = 1024;

  get(fd: number): FileDescription | undefined {
    return fd >= 0 ? this.slots[fd]?.desc : undefined;
  }

  cloexec(fd: number): boolean {
    return this.slots[fd]?.cloexec ?? false;
  }

  setCloexec(fd: number, on: boolean): number {
    const s = fd >= 0 ? this.slots[fd] : undefined;
    if (!s) return -EBADF;
    s.cloexec = on;
    return 0;
  }

  /** Installs `desc` at the lowest free descriptor >= min; returns it or -EMFILE. */
  install(desc: FileDescription, cloexec = false, min = 0): number {
    let fd = Math.max(0, min);
    while (fd < this.limit && this.slots[fd]) fd++;
    if (fd >= this.limit) return -EMFILE;
    this.put(fd, desc, cloexec);
    return fd;
  }

  /** dup2/dup3: makes `fd` refer to `desc`, closing what it held. */
  installAt(fd: number, desc: FileDescription, cloexec: boolean): number {
    if (fd < 0 || fd >= this.limit) return -EBADF;
    const old = this.slots[fd];
    // Take the new reference first: dup2(fd, fd2) where both name one description must not release it.
    this.put(fd, desc, cloexec);
    if (old) drop(old.desc);
    return fd;
  }

  private put(fd: number, desc: FileDescription, cloexec: boolean): void {
    desc.refs++;
    this.slots[fd] = { desc, cloexec };
  }

  close(fd: number): number {
    const s = fd >= 0 ? this.slots[fd] : undefined;
    if (!s) return -EBADF;
    this.slots[fd] = undefined;
    drop(s.desc);
    return 0;
  }

  /** dup/F_DUPFD: a new descriptor >= min for the same description. */
  dup(fd: number, min = 0, cloexec = false): number {
    const d = this.get(fd);
    if (!d) return -EBADF;
    return this.install(d, cloexec, min);
  }

  /** fork: a copy sharing every description. */
  fork(): FdTable {
    const t = new FdTable();
    t.limit = this.limit;
    this.slots.forEach((s, fd) => {
      if (s) t.put(fd, s.desc, s.cloexec);
    });
    return t;
  }

  closeOnExec(): void {
    this.slots.forEach((s, fd) => {
      if (s?.cloexec) this.close(fd);
    });
  }

  closeAll(): void {
    this.slots.forEach((s, fd) => {
      if (s) this.close(fd);
    });
  }

  /** Open descriptors in increasing order (for /proc/self/fd and close_range). */
  list(): number[] {
    const out: number[] = [];
    this.slots.forEach((s, fd) => {
      if (s) out.push(fd);
    });
    return out;
  }
}

function drop(d: FileDescription): void {
  if (--d.refs === 0) d.release();
}
