// File syscalls over the descriptor table: read/write (blocking through wait queues), open of the
// read-only host files a FileSource serves, stat family, lseek, getdents64, access, getcwd, and the
// standard streams (stdin from logged bytes, stdout/stderr to the machine). Guarantees: results
// depend only on guest state, the FileSource and stdin; a description that would block makes the
// task wait on its queue and retry (or returns EAGAIN under O_NONBLOCK); bad pointers give EFAULT.
// The vfs module takes path-based calls over by redefining their rows.

import type { Task } from '../machine.js';
import { normaliseGuestPath } from '../hostfiles.js';
import type { Kernel } from '../syscalls.js';
import {
  FileDescription,
  O_NONBLOCK,
  O_DIRECTORY,
  O_RDONLY,
  O_WRONLY,
  S_IFIFO,
  type IoContext,
  type StatInfo,
} from './fd.js';
import { EAGAIN, EBADF, EFAULT, EINVAL, EISDIR, ENOENT, ENOTDIR, ERANGE, EROFS } from './errno.js';

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;

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

/** A host directory: its sorted entries, listed by getdents64. */
export class HostDirDesc extends FileDescription {
  readonly kind = 'dir';
  pos = 0;
  constructor(
    readonly entries: string[],
    private readonly info: StatInfo,
    path: string,
  ) {
    super(O_RDONLY | O_DIRECTORY);
    this.path = path;
  }

  override read(): number {
    return -EISDIR;
  }

  override lseek(off: number, whence: number): number {
    return seek(this, off, whence, 0);
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

function hostStat(r: { mode: number; mtimeSec: number; ino: number }, size: number): StatInfo {
  return { mode: r.mode, size, ino: r.ino, mtimeSec: r.mtimeSec, rdev: 0, blksize: 4096, nlink: 1 };
}

/** Opens a guest path read-only through the FileSource. */
export function openPath(k: Kernel, path: string): FileDescription | number {
  const r = k.files.open(path);
  if (r.kind === 'error') return -r.errno;
  if (r.kind === 'dir') return new HostDirDesc(r.entries, hostStat(r, 4096), path);
  return new HostFileDesc(r.data, hostStat(r, r.data.length), path);
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

function openat(k: Kernel, t: Task, dirfd: number, pathAddr: number, flags: number): number {
  const path = resolvePath(k, t, dirfd, pathAddr);
  if (typeof path === 'number') return path;
  // O_WRONLY/O_RDWR/O_CREAT/O_TRUNC: host files are read-only for the guest.
  if ((flags & 3) !== 0 || flags & 0o1000 || flags & 0o100) {
    const r = k.files.open(path);
    return r.kind === 'error' && !(flags & 0o100) ? -r.errno : -EROFS;
  }
  const f = openPath(k, path);
  if (typeof f === 'number') return f;
  if (flags & O_DIRECTORY && f.kind !== 'dir') return -ENOTDIR;
  return t.process.fds.install(f, (flags & 0o2000000) !== 0);
}

function lseek(t: Task, fd: number, off: number, whence: number): number {
  const f = t.process.fds.get(fd);
  if (!f) return -EBADF;
  return f.lseek(off, whence);
}

function writeStat64(k: Kernel, addr: number, s: StatInfo): number {
  if (!k.userRange(addr, 96, true)) return -EFAULT;
  const b = new Uint8Array(96);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x801, true); // st_dev
  v.setUint32(12, s.ino, true);
  v.setUint32(16, s.mode, true);
  v.setUint32(20, s.nlink, true);
  v.setUint32(24, 1000, true);
  v.setUint32(28, 1000, true);
  v.setUint32(32, s.rdev, true);
  v.setUint32(44, s.size % 4294967296, true);
  v.setUint32(48, Math.floor(s.size / 4294967296), true);
  v.setUint32(52, s.blksize, true);
  v.setUint32(56, Math.ceil(s.size / 512), true);
  v.setUint32(64, s.mtimeSec, true);
  v.setUint32(72, s.mtimeSec, true);
  v.setUint32(80, s.mtimeSec, true);
  v.setUint32(88, s.ino, true);
  k.mem.writeBytes(addr, b);
  return 0;
}

function statAt(k: Kernel, t: Task, dirfd: number, pathAddr: number, flags: number): StatInfo | number {
  const p = k.cstring(pathAddr);
  if (p === null) return -EFAULT;
  if (p === '' && flags & AT_EMPTY_PATH) {
    const f = t.process.fds.get(dirfd);
    return f ? f.stat() : -EBADF;
  }
  const path = resolvePath(k, t, dirfd, pathAddr);
  if (typeof path === 'number') return path;
  const f = openPath(k, path);
  return typeof f === 'number' ? f : f.stat();
}

function statx(k: Kernel, t: Task, dirfd: number, pathAddr: number, flags: number, buf: number): number {
  const s = statAt(k, t, dirfd, pathAddr, flags);
  if (typeof s === 'number') return s;
  if (!k.userRange(buf, 256, true)) return -EFAULT;
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x7ff, true); // STATX_BASIC_STATS
  v.setUint32(4, s.blksize, true);
  v.setUint32(16, s.nlink, true);
  v.setUint32(20, 1000, true);
  v.setUint32(24, 1000, true);
  v.setUint16(28, s.mode, true);
  v.setUint32(32, s.ino, true);
  v.setUint32(40, s.size % 4294967296, true);
  v.setUint32(44, Math.floor(s.size / 4294967296), true);
  v.setUint32(48, Math.ceil(s.size / 512), true);
  for (const off of [64, 96, 112]) v.setUint32(off, s.mtimeSec, true);
  v.setUint32(136, 8, true);
  v.setUint32(140, 1, true);
  k.mem.writeBytes(buf, b);
  return 0;
}

function access(k: Kernel, t: Task, dirfd: number, pathAddr: number): number {
  const path = resolvePath(k, t, dirfd, pathAddr);
  if (typeof path === 'number') return path;
  const r = k.files.open(path);
  return r.kind === 'error' ? -r.errno : 0;
}

function getcwd(k: Kernel, t: Task, buf: number, size: number): number {
  const bytes = new TextEncoder().encode(t.process.cwd + '\0');
  if (bytes.length > size >>> 0) return -ERANGE;
  if (!k.userRange(buf, bytes.length, true)) return -EFAULT;
  k.mem.writeBytes(buf, bytes);
  return bytes.length;
}

function getdents64(k: Kernel, t: Task, fd: number, buf: number, count: number): number {
  const f = t.process.fds.get(fd);
  if (!f) return -EBADF;
  if (!(f instanceof HostDirDesc)) return -ENOTDIR;
  const names = ['.', '..', ...f.entries];
  let out = 0;
  const chunks: Uint8Array[] = [];
  while (f.pos < names.length) {
    const name = new TextEncoder().encode(names[f.pos]!);
    const reclen = (19 + name.length + 1 + 7) & ~7;
    if (out + reclen > count >>> 0) break;
    const rec = new Uint8Array(reclen);
    const v = new DataView(rec.buffer);
    v.setUint32(0, 100 + f.pos, true);
    v.setUint32(8, f.pos + 1, true);
    v.setUint16(16, reclen, true);
    rec[18] = f.pos < 2 ? 4 : 0;
    rec.set(name, 19);
    chunks.push(rec);
    out += reclen;
    f.pos++;
  }
  if (out === 0 && f.pos < names.length) return -EINVAL;
  if (!k.userRange(buf, out, true)) return -EFAULT;
  let o = 0;
  for (const ch of chunks) {
    k.mem.writeBytes(buf + o, ch);
    o += ch.length;
  }
  return out;
}

export function registerFiles(k: Kernel): void {
  const T = k.table;
  T.define('read', (t, a, b, c) => readFd(k, t, a, b, c), { input: true });
  T.define('write', (t, a, b, c) => writeFd(k, t, a, b, c));
  T.define('readv', (t, a, b, c) => blocking(k, t, a, 'read', () => vectoredOnce(k, t, a, b, c, true)), {
    input: true,
  });
  T.define('writev', (t, a, b, c) => blocking(k, t, a, 'write', () => vectoredOnce(k, t, a, b, c, false)));
  T.define('open', (t, a, b) => openat(k, t, AT_FDCWD, a, b));
  T.define('openat', (t, a, b, c) => openat(k, t, a, b, c));
  T.define('lseek', (t, a, b, c) => lseek(t, a, b, c));
  T.define('_llseek', (t, a, b, c, d, e) => {
    const off = ((b >>> 0) * 4294967296 + (c >>> 0)) | 0;
    const r = lseek(t, a, off, e);
    return r < 0 ? r : k.put64(d, r);
  });
  const statPath = (t: Task, path: number, buf: number) => {
    const s = statAt(k, t, AT_FDCWD, path, 0);
    return typeof s === 'number' ? s : writeStat64(k, buf, s);
  };
  T.define('stat64', statPath);
  T.define('lstat64', statPath);
  T.define('fstat64', (t, fd, buf) => {
    const f = t.process.fds.get(fd);
    return f ? writeStat64(k, buf, f.stat()) : -EBADF;
  });
  T.define('fstatat64', (t, dirfd, path, buf, flags) => {
    const s = statAt(k, t, dirfd, path, flags);
    return typeof s === 'number' ? s : writeStat64(k, buf, s);
  });
  T.define('statx', (t, a, b, c, _d, e) => statx(k, t, a, b, c, e));
  T.define('access', (t, a) => access(k, t, AT_FDCWD, a));
  T.define('faccessat', (t, a, b) => access(k, t, a, b));
  T.define('readlink', () => -ENOENT);
  T.define('readlinkat', () => -ENOENT);
  T.define('getcwd', (t, a, b) => getcwd(k, t, a, b));
  T.define('getdents64', (t, a, b, c) => getdents64(k, t, a, b, c));
}
