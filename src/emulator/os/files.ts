// Descriptor I/O that is not about paths: read/write/readv/writev (blocking through wait queues),
// the standard streams (stdin from logged bytes, stdout/stderr to the machine) and the lexical
// resolution of a path argument (execve). Guarantees: results depend only on guest state and stdin;
// a description that would block makes the task wait on its queue and retry (or returns EAGAIN
// under O_NONBLOCK); bad pointers give EFAULT. Path-based calls live in vfs-syscalls.ts.

import type { Task } from '../machine.js';
import { normaliseGuestPath } from '../hostfiles.js';
import type { Kernel } from '../syscalls.js';
import {
  FileDescription,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  S_IFIFO,
  type IoContext,
  type StatInfo,
} from './fd.js';
import { EAGAIN, EBADF, EFAULT, EINVAL, EISDIR, ENOENT, ENOTDIR } from './errno.js';

const AT_FDCWD = -100;

/** A read-only host file, read whole at open. */
export class HostFileDesc extends FileDescription {
  readonly kind = 'file';
  pos = 0;
  constructor(
    readonly data: Uint8Array,
    private readonly info: StatInfo,
    path: string,
  ) {
    super(O_RDONLY);
    this.path = path;
  }

  override read(_ctx: IoContext, len: number): Uint8Array | number {
    const n = Math.max(0, Math.min(len, this.data.length - this.pos));
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  override lseek(off: number, whence: number): number {
    return seek(this, off, whence, this.data.length);
  }

  override available(): number {
    return Math.max(0, this.data.length - this.pos);
  }

  stat(): StatInfo {
    return this.info;
  }
}

function seek(f: { pos: number }, off: number, whence: number, size: number): number {
  let pos: number;
  if (whence === 0) pos = off;
  else if (whence === 1) pos = f.pos + off;
  else if (whence === 2) pos = size + off;
  else return -EINVAL;
  if (pos < 0) return -EINVAL;
  f.pos = pos;
  return pos;
}

const STREAM_STAT = (ino: number): StatInfo => ({
  mode: S_IFIFO | 0o600,
  size: 0,
  ino,
  mtimeSec: 0,
  rdev: 0,
  blksize: 4096,
  nlink: 1,
});

/** The guest's stdin: the run's stdin bytes, each read logged as an input. */
export class StdinDesc extends FileDescription {
  readonly kind = 'stdin';
  private pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly log: (data: Uint8Array) => void,
  ) {
    super(O_RDONLY);
    this.path = 'pipe:[10]';
  }

  override read(_ctx: IoContext, len: number): Uint8Array | number {
    const n = Math.max(0, Math.min(len, this.bytes.length - this.pos));
    const chunk = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (n > 0) this.log(chunk);
    return chunk;
  }

  override available(): number {
    return this.bytes.length - this.pos;
  }

  stat(): StatInfo {
    return STREAM_STAT(10);
  }
}

/** stdout or stderr: bytes go to the machine's output (terminal and trace). */
export class OutputDesc extends FileDescription {
  readonly kind: string;
  constructor(
    private readonly fd: 1 | 2,
    private readonly out: (fd: number, data: Uint8Array) => void,
  ) {
    super(O_WRONLY);
    this.kind = fd === 1 ? 'stdout' : 'stderr';
    this.path = `pipe:[${10 + fd}]`;
  }

  override write(_ctx: IoContext, data: Uint8Array): number {
    this.out(this.fd, data);
    return data.length;
  }

  override poll(): number {
    return 4; // POLLOUT
  }

  stat(): StatInfo {
    return STREAM_STAT(10 + this.fd);
  }
}

/** Resolves a guest path argument against `dirfd` (AT_FDCWD or a directory descriptor). */
export function resolvePath(k: Kernel, t: Task, dirfd: number, pathAddr: number): string | number {
  const p = k.cstring(pathAddr);
  if (p === null) return -EFAULT;
  if (p === '') return -ENOENT;
  let base = t.process.cwd;
  if (!p.startsWith('/') && dirfd !== AT_FDCWD) {
    const d = t.process.fds.get(dirfd);
    if (!d) return -EBADF;
    if (d.kind !== 'dir') return -ENOTDIR;
    base = d.path;
  }
  return normaliseGuestPath(base, p);
}

/** One read(2) attempt: -EAGAIN when the description would block. */
function readOnce(k: Kernel, t: Task, fd: number, buf: number, count: number): number {
  const f = t.process.fds.get(fd);
  if (!f || !f.readable) return -EBADF;
  count = count >>> 0;
  if (count === 0) return f.kind === 'dir' ? -EISDIR : 0;
  if (!k.userRange(buf, 1, true)) return -EFAULT;
  const r = f.read({ task: t }, count);
  if (typeof r === 'number') return r;
  if (r.length === 0) return 0;
  if (!k.userRange(buf, r.length, true)) return -EFAULT;
  k.mem.writeBytes(buf, r);
  return r.length;
}

/** One write(2) attempt: -EAGAIN when the description would block. */
function writeOnce(k: Kernel, t: Task, fd: number, buf: number, count: number): number {
  const f = t.process.fds.get(fd);
  if (!f || !f.writable) return -EBADF;
  count = count >>> 0;
  if (count === 0) return 0;
  if (!k.userRange(buf, count, false)) return -EFAULT;
  return f.write({ task: t }, k.mem.readBytes(buf, count));
}

/** Runs `once`; while it would block on a blocking descriptor, waits and retries the whole call. */
function blocking(k: Kernel, t: Task, fd: number, what: string, once: () => number): number {
  const r = once();
  if (r !== -EAGAIN) return r;
  const f = t.process.fds.get(fd);
  return f ? k.waitOn(t, f, what, () => blocking(k, t, fd, what, once)) : r;
}

export function readFd(k: Kernel, t: Task, fd: number, buf: number, count: number): number {
  return blocking(k, t, fd, 'read', () => readOnce(k, t, fd, buf, count));
}

/**
 * write(2): on a blocking descriptor whose object takes only part (a pipe near full), waits and
 * goes on until all `count` bytes are written, as Linux does; `done` is what earlier rounds wrote.
 */
export function writeFd(k: Kernel, t: Task, fd: number, buf: number, count: number, done = 0): number {
  count = count >>> 0;
  const r = count === 0 ? 0 : writeOnce(k, t, fd, buf + done, count - done);
  if (r < 0 && r !== -EAGAIN) return done > 0 ? done : r;
  if (r > 0) done += r;
  if (done >= count) return done;
  const f = t.process.fds.get(fd);
  if (!f || f.flags & O_NONBLOCK || !f.waiters) return done > 0 ? done : r;
  return k.waitOn(t, f, 'write', () => writeFd(k, t, fd, buf, count, done));
}

/** readv/writev: one transfer per iovec, stopping at an error (after data: short count) or short read. */
function vectoredOnce(k: Kernel, t: Task, fd: number, iov: number, cnt: number, read: boolean): number {
  let total = 0;
  for (let i = 0; i < cnt; i++) {
    const base = k.get32(iov + i * 8);
    const len = k.get32(iov + i * 8 + 4);
    if (base === null || len === null) return -EFAULT;
    if (len === 0) continue;
    const r = (read ? readOnce : writeOnce)(k, t, fd, base, len);
    if (r < 0) return total > 0 ? total : r;
    total += r;
    if (r < len >>> 0) break;
  }
  return total;
}

export function registerFiles(k: Kernel): void {
  const T = k.table;
  T.define('read', (t, a, b, c) => readFd(k, t, a, b, c), { input: true });
  T.define('write', (t, a, b, c) => writeFd(k, t, a, b, c));
  T.define('readv', (t, a, b, c) => blocking(k, t, a, 'read', () => vectoredOnce(k, t, a, b, c, true)), {
    input: true,
  });
  T.define('writev', (t, a, b, c) => blocking(k, t, a, 'write', () => vectoredOnce(k, t, a, b, c, false)));
}
