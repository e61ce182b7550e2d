// The Linux i386 system-call layer for one process: files (read-only host files from a FileSource,
// stdin from logged bytes, stdout/stderr to the machine), memory (brk, mmap2, munmap, mprotect),
// threads (clone, futex, exit), time (virtual clock only), and the identity calls glibc makes at
// start-up. Guarantees: results depend only on guest state, the FileSource, stdin and the seed; a bad
// guest pointer yields -EFAULT, never a host error; unknown calls return -ENOSYS and are counted.

import { EAX, EBP, EBX, ECX, EDI, EDX, ESI, GDT_ENTRY_TLS_MIN } from './cpu.js';
import type { Machine, Task } from './machine.js';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from './memory.js';
import { normaliseGuestPath } from './hostfiles.js';
import type { FileSource } from './types.js';

const EPERM = 1;
const ENOENT = 2;
const ESRCH = 3;
const EBADF = 9;
const EAGAIN = 11;
const ENOMEM = 12;
const EFAULT = 14;
const EEXIST = 17;
const ENOTDIR = 20;
const EISDIR = 21;
const EINVAL = 22;
const ENOTTY = 25;
const ESPIPE = 29;
const EROFS = 30;
const ENOSYS = 38;
const ETIMEDOUT = 110;

const S_IFIFO = 0o010000;

/** Top of the mmap area (allocations go downwards from here, below the 8 MiB stack and a gap). */
const MMAP_TOP = 0xb7f00000;
const MMAP_BOTTOM = 0x10000000;

interface OpenFile {
  kind: 'file' | 'dir' | 'stdin' | 'stdout' | 'stderr';
  data: Uint8Array;
  pos: number;
  mode: number;
  mtimeSec: number;
  ino: number;
  path: string;
  entries?: string[];
}

export class Kernel {
  private brkStart = 0;
  private brkCur = 0;
  private fds = new Map<number, OpenFile>();
  readonly enosys: Record<string, number> = {};
  private futexWaiters: Task[] = [];
  private stdinPos = 0;

  constructor(
    private readonly m: Machine,
    private readonly files: FileSource,
    private readonly cwd: string,
    private readonly stdin: Uint8Array,
  ) {
    this.fds.set(0, this.stdStream('stdin', 0));
    this.fds.set(1, this.stdStream('stdout', 1));
    this.fds.set(2, this.stdStream('stderr', 2));
  }

  private stdStream(kind: 'stdin' | 'stdout' | 'stderr', n: number): OpenFile {
    return {
      kind,
      data: new Uint8Array(0),
      pos: 0,
      mode: S_IFIFO | 0o600,
      mtimeSec: 0,
      ino: 10 + n,
      path: kind,
    };
  }

  setBrk(addr: number): void {
    this.brkStart = addr;
    this.brkCur = addr;
  }

  syscall(task: Task, nr: number): void {
    const R = task.cpu.regs;
    const r = this.dispatch(task, nr, R[EBX]!, R[ECX]!, R[EDX]!, R[ESI]!, R[EDI]!, R[EBP]!);
    // A blocking call leaves EAX to be filled by whoever wakes the task.
    if (r !== BLOCKED) R[EAX] = r;
  }

  private dispatch(
    t: Task,
    nr: number,
    a: number,
    b: number,
    c: number,
    d: number,
    e: number,
    f: number,
  ): number {
    const m = this.m;
    const sr = m.sigk.syscall(t, nr, a, b, c, d, BLOCKED);
    if (sr !== null) return sr;
    switch (nr) {
      case 1: // exit
        m.exitThread(t, a & 0xff);
        return 0;
      case 252: // exit_group
        m.exitGroup(a & 0xff);
        return 0;
      case 3:
        return this.read(a, b, c);
      case 4:
        return this.write(a, b, c);
      case 146:
        return this.vectored(a, b, c, false);
      case 145:
        return this.vectored(a, b, c, true);
      case 5:
        return this.open(a, b);
      case 295:
        return this.openat(a, b, c);
      case 6:
        return this.fds.delete(a) ? 0 : -EBADF;
      case 19:
        return this.lseek(a, b, c);
      case 140: {
        const off = ((b >>> 0) * 4294967296 + (c >>> 0)) | 0;
        const r = this.lseek(a, off, e);
        if (r < 0) return r;
        return this.put64(d, r);
      }
      case 195:
      case 196:
        return this.statPath(a, b);
      case 197:
        return this.fstat64(a, b);
      case 300:
        return this.fstatat64(a, b, c, d);
      case 383:
        return this.statx(a, b, c, d, e);
      case 33: // access
      case 307: // faccessat
        return this.access(nr === 33 ? -100 : a, nr === 33 ? a : b);
      case 85: // readlink
      case 305:
        return -ENOENT;
      case 183:
        return this.getcwd(a, b);
      case 45:
        return this.brk(a);
      case 192:
        return this.mmap2(a, b, c, d, e, f);
      case 90:
        return this.oldMmap(a);
      case 91:
        return this.munmap(a, b);
      case 125:
        return this.mprotect(a, b, c);
      case 219: // madvise
        return 0;
      case 243:
        return this.setThreadArea(t, a);
      case 244:
        return this.getThreadArea(t, a);
      case 258:
        t.clearChildTid = a >>> 0;
        return t.tid;
      case 311:
        t.robustList = a >>> 0;
        return 0;
      case 240:
        return this.futex(t, a, b, c, d, e, f, false);
      case 422:
        return this.futex(t, a, b, c, d, e, f, true);
      case 120:
        return this.clone(t, a, b, c, d, e);
      case 224:
        return t.tid;
      case 20:
        return m.mainTask.tid;
      case 64:
        return 1;
      case 24:
      case 47:
      case 49:
      case 50:
      case 199:
      case 200:
      case 201:
      case 202:
        return 1000;
      case 122:
        return this.uname(a);
      case 265:
      case 403:
        return this.clockGettime(a, b, nr === 403);
      case 266:
        return this.clockGetres(b);
      case 78:
        return this.gettimeofday(a);
      case 13: {
        const s = Math.floor(this.m.cyclesToNs(m.now()) / 1e9) + EPOCH;
        if (a && !this.put32(a, s)) return -EFAULT;
        return s;
      }
      case 162:
        return this.nanosleep(t, a, false, 0, 0);
      case 267:
        return this.clockNanosleep(t, a, b, c, false);
      case 407:
        return this.clockNanosleep(t, a, b, c, true);
      case 158:
        m.yieldCurrent();
        return 0;
      case 355:
        return this.getrandom(a, b);
      case 340:
        return this.prlimit64(a, b, c, d);
      case 191:
        return this.ugetrlimit(a, b);
      case 54:
        return this.ioctl(a, b);
      case 242: // sched_getaffinity
        return this.schedGetaffinity(b, c);
      case 221:
        return this.fcntl64(a, b);
      case 41:
        return this.dup(a);
      case 220:
        return this.getdents64(a, b, c);
      case 386: // rseq
      case 435: // clone3: glibc falls back to clone
      default:
        this.enosys[String(nr)] = (this.enosys[String(nr)] ?? 0) + 1;
        return -ENOSYS;
    }
  }

  // ---------------------------------------------------------------- guest memory helpers

  private put32(addr: number, v: number): boolean {
    if (!this.m.userRange(addr, 4, true)) return false;
    this.m.memory.write32(addr, v);
    return true;
  }

  private put64(addr: number, v: number): number {
    if (!this.m.userRange(addr, 8, true)) return -EFAULT;
    this.m.memory.write32(addr, v % 4294967296);
    this.m.memory.write32(addr + 4, Math.floor(v / 4294967296));
    return 0;
  }

  private get32(addr: number): number | null {
    if (!this.m.userRange(addr, 4, false)) return null;
    return this.m.memory.read32(addr);
  }

  private cstring(addr: number): string | null {
    try {
      return this.m.memory.readCString(addr, 4096);
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- files

  private read(fd: number, buf: number, count: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    if (f.kind === 'dir') return -EISDIR;
    if (f.kind === 'stdout' || f.kind === 'stderr') return -EBADF;
    count = count >>> 0;
    if (count === 0) return 0;
    if (!this.m.userRange(buf, Math.min(count, 1), true)) return -EFAULT;
    if (f.kind === 'stdin') {
      const n = Math.min(count, this.stdin.length - this.stdinPos);
      if (n <= 0) return 0;
      const chunk = this.stdin.subarray(this.stdinPos, this.stdinPos + n);
      if (!this.m.userRange(buf, n, true)) return -EFAULT;
      this.m.memory.writeBytes(buf, chunk);
      this.stdinPos += n;
      this.m.hooks.onInput?.('stdin', '', chunk);
      return n;
    }
    const n = Math.max(0, Math.min(count, f.data.length - f.pos));
    if (n === 0) return 0;
    if (!this.m.userRange(buf, n, true)) return -EFAULT;
    this.m.memory.writeBytes(buf, f.data.subarray(f.pos, f.pos + n));
    f.pos += n;
    return n;
  }

  private write(fd: number, buf: number, count: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    if (f.kind !== 'stdout' && f.kind !== 'stderr') return -EBADF;
    count = count >>> 0;
    if (count === 0) return 0;
    if (!this.m.userRange(buf, count, false)) return -EFAULT;
    this.m.output(f.kind === 'stderr' ? 2 : 1, this.m.memory.readBytes(buf, count));
    return count;
  }

  /** readv/writev: one transfer per iovec, stopping at an error (after data: short count) or short read. */
  private vectored(fd: number, iov: number, cnt: number, read: boolean): number {
    let total = 0;
    for (let i = 0; i < cnt; i++) {
      const base = this.get32(iov + i * 8);
      const len = this.get32(iov + i * 8 + 4);
      if (base === null || len === null) return -EFAULT;
      if (len === 0) continue;
      const r = read ? this.read(fd, base, len) : this.write(fd, base, len);
      if (r < 0) return total > 0 ? total : r;
      total += r;
      if (read && r < len >>> 0) break;
    }
    return total;
  }

  private lowestFd(): number {
    let fd = 0;
    while (this.fds.has(fd)) fd++;
    return fd;
  }

  private open(path: number, flags: number): number {
    return this.openat(-100, path, flags);
  }

  private resolve(dirfd: number, pathAddr: number): string | number {
    const p = this.cstring(pathAddr);
    if (p === null) return -EFAULT;
    if (p === '') return -ENOENT;
    let base = this.cwd;
    if (!p.startsWith('/') && dirfd !== -100) {
      const d = this.fds.get(dirfd);
      if (!d) return -EBADF;
      if (d.kind !== 'dir') return -ENOTDIR;
      base = d.path;
    }
    return normaliseGuestPath(base, p);
  }

  private openat(dirfd: number, pathAddr: number, flags: number): number {
    const path = this.resolve(dirfd, pathAddr);
    if (typeof path === 'number') return path;
    // O_WRONLY/O_RDWR/O_CREAT/O_TRUNC: host files are read-only for the guest.
    if ((flags & 3) !== 0 || flags & 0o1000 || flags & 0o100) {
      const r = this.files.open(path);
      return r.kind === 'error' && !(flags & 0o100) ? -r.errno : -EROFS;
    }
    const r = this.files.open(path);
    if (r.kind === 'error') return -r.errno;
    if (flags & 0o200000 && r.kind !== 'dir') return -ENOTDIR;
    const fd = this.lowestFd();
    if (r.kind === 'dir')
      this.fds.set(fd, {
        kind: 'dir',
        data: new Uint8Array(0),
        pos: 0,
        mode: r.mode,
        mtimeSec: r.mtimeSec,
        ino: r.ino,
        path,
        entries: r.entries,
      });
    else
      this.fds.set(fd, {
        kind: 'file',
        data: r.data,
        pos: 0,
        mode: r.mode,
        mtimeSec: r.mtimeSec,
        ino: r.ino,
        path,
      });
    return fd;
  }

  private lseek(fd: number, off: number, whence: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    if (f.kind !== 'file' && f.kind !== 'dir') return -ESPIPE;
    let pos: number;
    if (whence === 0) pos = off;
    else if (whence === 1) pos = f.pos + off;
    else if (whence === 2) pos = f.data.length + off;
    else return -EINVAL;
    if (pos < 0) return -EINVAL;
    f.pos = pos;
    return pos;
  }

  private dup(fd: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    const n = this.lowestFd();
    this.fds.set(n, f);
    return n;
  }

  private fcntl64(fd: number, cmd: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    if (cmd === 1 || cmd === 2) return 0; // F_GETFD / F_SETFD
    if (cmd === 3) return f.kind === 'stdout' || f.kind === 'stderr' ? 1 : 0; // F_GETFL
    if (cmd === 0 || cmd === 1030) return this.dup(fd);
    return -EINVAL;
  }

  private statOf(f: OpenFile): {
    mode: number;
    size: number;
    ino: number;
    mtime: number;
    rdev: number;
    blksize: number;
  } {
    if (f.kind === 'stdin' || f.kind === 'stdout' || f.kind === 'stderr')
      return { mode: f.mode, size: 0, ino: f.ino, mtime: 0, rdev: 0, blksize: 4096 };
    return { mode: f.mode, size: f.data.length, ino: f.ino, mtime: f.mtimeSec, rdev: 0, blksize: 4096 };
  }

  private writeStat64(addr: number, s: ReturnType<Kernel['statOf']>): number {
    if (!this.m.userRange(addr, 96, true)) return -EFAULT;
    const b = new Uint8Array(96);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x801, true); // st_dev
    v.setUint32(12, s.ino, true);
    v.setUint32(16, s.mode, true);
    v.setUint32(20, 1, true);
    v.setUint32(24, 1000, true);
    v.setUint32(28, 1000, true);
    v.setUint32(32, s.rdev, true);
    v.setUint32(44, s.size % 4294967296, true);
    v.setUint32(48, Math.floor(s.size / 4294967296), true);
    v.setUint32(52, s.blksize, true);
    v.setUint32(56, Math.ceil(s.size / 512), true);
    v.setUint32(64, s.mtime, true);
    v.setUint32(72, s.mtime, true);
    v.setUint32(80, s.mtime, true);
    v.setUint32(88, s.ino, true);
    this.m.memory.writeBytes(addr, b);
    return 0;
  }

  private fileForPath(path: string): OpenFile | number {
    const r = this.files.open(path);
    if (r.kind === 'error') return -r.errno;
    return {
      kind: r.kind,
      data: r.kind === 'file' ? r.data : new Uint8Array(0),
      pos: 0,
      mode: r.mode,
      mtimeSec: r.mtimeSec,
      ino: r.ino,
      path,
    };
  }

  private statPath(pathAddr: number, buf: number): number {
    const path = this.resolve(-100, pathAddr);
    if (typeof path === 'number') return path;
    const f = this.fileForPath(path);
    if (typeof f === 'number') return f;
    return this.writeStat64(buf, this.statOf(f));
  }

  private fstat64(fd: number, buf: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    return this.writeStat64(buf, this.statOf(f));
  }

  private fileAt(dirfd: number, pathAddr: number, flags: number): OpenFile | number {
    const p = this.cstring(pathAddr);
    if (p === null) return -EFAULT;
    if (p === '' && flags & 0x1000) {
      // AT_EMPTY_PATH: the fd itself.
      const f = this.fds.get(dirfd);
      return f ?? -EBADF;
    }
    const path = this.resolve(dirfd, pathAddr);
    if (typeof path === 'number') return path;
    return this.fileForPath(path);
  }

  private fstatat64(dirfd: number, pathAddr: number, buf: number, flags: number): number {
    const f = this.fileAt(dirfd, pathAddr, flags);
    if (typeof f === 'number') return f;
    return this.writeStat64(buf, this.statOf(f));
  }

  private statx(dirfd: number, pathAddr: number, flags: number, _mask: number, buf: number): number {
    const f = this.fileAt(dirfd, pathAddr, flags);
    if (typeof f === 'number') return f;
    const s = this.statOf(f);
    if (!this.m.userRange(buf, 256, true)) return -EFAULT;
    const b = new Uint8Array(256);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x7ff, true); // STATX_BASIC_STATS
    v.setUint32(4, s.blksize, true);
    v.setUint32(16, 1, true);
    v.setUint32(20, 1000, true);
    v.setUint32(24, 1000, true);
    v.setUint16(28, s.mode, true);
    v.setUint32(32, s.ino, true);
    v.setUint32(40, s.size % 4294967296, true);
    v.setUint32(44, Math.floor(s.size / 4294967296), true);
    v.setUint32(48, Math.ceil(s.size / 512), true);
    for (const off of [64, 96, 112]) v.setUint32(off, s.mtime, true);
    v.setUint32(136, 8, true);
    v.setUint32(140, 1, true);
    this.m.memory.writeBytes(buf, b);
    return 0;
  }

  private access(dirfd: number, pathAddr: number): number {
    const path = this.resolve(dirfd, pathAddr);
    if (typeof path === 'number') return path;
    const r = this.files.open(path);
    return r.kind === 'error' ? -r.errno : 0;
  }

  private getcwd(buf: number, size: number): number {
    const bytes = new TextEncoder().encode(this.cwd + '\0');
    if (bytes.length > size >>> 0) return -34; // ERANGE
    if (!this.m.userRange(buf, bytes.length, true)) return -EFAULT;
    this.m.memory.writeBytes(buf, bytes);
    return bytes.length;
  }

  private getdents64(fd: number, buf: number, count: number): number {
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    if (f.kind !== 'dir' || !f.entries) return -ENOTDIR;
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
    if (!this.m.userRange(buf, out, true)) return -EFAULT;
    let o = 0;
    for (const ch of chunks) {
      this.m.memory.writeBytes(buf + o, ch);
      o += ch.length;
    }
    return out;
  }

  private ioctl(fd: number, _req: number): number {
    if (!this.fds.has(fd)) return -EBADF;
    return -ENOTTY;
  }

  // ---------------------------------------------------------------- memory

  private brk(addr: number): number {
    addr = addr >>> 0;
    if (addr === 0 || addr < this.brkStart) return this.brkCur;
    const oldTop = (this.brkCur + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    const newTop = (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (newTop > oldTop) {
      if (!this.isFree(oldTop >>> 0, (newTop - oldTop) >>> 0) || newTop >= MMAP_BOTTOM + 0x60000000)
        return this.brkCur;
      this.m.memory.map(oldTop >>> 0, (newTop - oldTop) >>> 0, PROT_READ | PROT_WRITE);
    } else if (newTop < oldTop) this.m.memory.unmap(newTop >>> 0, (oldTop - newTop) >>> 0);
    this.brkCur = addr;
    return addr;
  }

  private isFree(addr: number, len: number): boolean {
    for (let p = addr >>> 12; p <= (addr + len - 1) >>> 12; p++)
      if (this.m.memory.perm[p]! & 16) return false;
    return true;
  }

  private mmap2(addr: number, len: number, prot: number, flags: number, fd: number, pgoff: number): number {
    len = len >>> 0;
    addr = addr >>> 0;
    if (len === 0) return -EINVAL;
    const size = ((len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) >>> 0;
    if (size === 0 || size > 0xc0000000) return -ENOMEM;
    const anon = (flags & 0x20) !== 0;
    const fixed = (flags & 0x10) !== 0;
    let file: OpenFile | undefined;
    if (!anon) {
      file = this.fds.get(fd);
      if (!file || file.kind !== 'file') return -EBADF;
      if (flags & 1 && prot & PROT_WRITE) return -EACCES_MAP; // MAP_SHARED writable: the file is read-only
    }
    let at: number;
    if (fixed) {
      if (addr & (PAGE_SIZE - 1)) return -EINVAL;
      at = addr;
    } else {
      at = -1;
      if (addr && !(addr & (PAGE_SIZE - 1)) && addr + size <= MMAP_TOP && this.isFree(addr, size)) at = addr;
      if (at < 0) at = this.m.memory.findFree(size, MMAP_TOP, MMAP_BOTTOM);
      if (at < 0) return -ENOMEM;
    }
    this.m.memory.map(at, size, prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
    if (file) {
      const off = (pgoff >>> 0) * PAGE_SIZE;
      const n = Math.max(0, Math.min(len, file.data.length - off));
      if (n > 0) this.m.memory.poke(at, file.data.subarray(off, off + n));
    }
    return at | 0;
  }

  private oldMmap(args: number): number {
    if (!this.m.userRange(args, 24, false)) return -EFAULT;
    const v = [0, 1, 2, 3, 4, 5].map((k) => this.m.memory.read32(args + 4 * k));
    if (v[5]! & (PAGE_SIZE - 1)) return -EINVAL;
    return this.mmap2(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, (v[5]! >>> 0) / PAGE_SIZE);
  }

  private munmap(addr: number, len: number): number {
    if (addr & (PAGE_SIZE - 1) || len === 0) return -EINVAL;
    const size = ((len >>> 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    this.m.memory.unmap(addr >>> 0, size >>> 0);
    return 0;
  }

  private mprotect(addr: number, len: number, prot: number): number {
    if (addr & (PAGE_SIZE - 1)) return -EINVAL;
    if (len === 0) return 0;
    const size = ((len >>> 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    return this.m.memory.protect(addr >>> 0, size >>> 0, prot & 7) ? 0 : -ENOMEM;
  }

  // ---------------------------------------------------------------- threads and TLS

  private readUserDesc(addr: number): { entry: number; base: number; limit: number; flags: number } | null {
    if (!this.m.userRange(addr, 16, false)) return null;
    const mem = this.m.memory;
    return {
      entry: mem.read32(addr),
      base: mem.read32(addr + 4) >>> 0,
      limit: mem.read32(addr + 8) >>> 0,
      flags: mem.read32(addr + 12),
    };
  }

  private installTls(t: Task, ud: { entry: number; base: number; limit: number; flags: number }): number {
    let idx = ud.entry;
    if (idx === -1) {
      idx = -1;
      for (let k = 0; k < 3; k++)
        if (!t.cpu.tls[k]!.used) {
          idx = GDT_ENTRY_TLS_MIN + k;
          break;
        }
      if (idx < 0) return -ESRCH;
    }
    const k = idx - GDT_ENTRY_TLS_MIN;
    const slot = t.cpu.tls[k];
    if (!slot) return -EINVAL;
    // An all-empty descriptor (seg_not_present + read_exec_only...) clears the slot.
    const empty = ud.base === 0 && ud.limit === 0 && (ud.flags & 0x28) === 0x28;
    slot.base = ud.base;
    slot.limit = ud.limit;
    slot.flags = ud.flags;
    slot.used = !empty;
    t.cpu.reloadTlsBases();
    return idx;
  }

  private setThreadArea(t: Task, uinfo: number): number {
    const ud = this.readUserDesc(uinfo);
    if (!ud) return -EFAULT;
    const idx = this.installTls(t, ud);
    if (idx < 0) return idx;
    this.m.memory.write32(uinfo, idx);
    return 0;
  }

  private getThreadArea(t: Task, uinfo: number): number {
    const idx = this.get32(uinfo);
    if (idx === null) return -EFAULT;
    const slot = t.cpu.tls[idx - GDT_ENTRY_TLS_MIN];
    if (!slot) return -EINVAL;
    this.m.memory.write32(uinfo + 4, slot.base);
    this.m.memory.write32(uinfo + 8, slot.limit);
    this.m.memory.write32(uinfo + 12, slot.flags);
    return 0;
  }

  private clone(t: Task, flags: number, newSp: number, ptid: number, tls: number, ctid: number): number {
    const CLONE_VM = 0x100;
    const CLONE_THREAD = 0x10000;
    const CLONE_SETTLS = 0x80000;
    const CLONE_PARENT_SETTID = 0x100000;
    const CLONE_CHILD_CLEARTID = 0x200000;
    const CLONE_CHILD_SETTID = 0x1000000;
    if (!(flags & CLONE_VM) || !(flags & CLONE_THREAD)) return -ENOSYS; // fork is not supported
    let ud: ReturnType<Kernel['readUserDesc']> = null;
    if (flags & CLONE_SETTLS) {
      ud = this.readUserDesc(tls);
      if (!ud) return -EFAULT;
    }
    const child = this.m.spawnThread(t, newSp >>> 0);
    if (ud) this.installTls(child, ud);
    if (flags & CLONE_PARENT_SETTID) this.put32(ptid, child.tid);
    if (flags & CLONE_CHILD_SETTID) this.put32(ctid, child.tid);
    if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = ctid >>> 0;
    return child.tid;
  }

  // ---------------------------------------------------------------- futex

  private readTimespec(addr: number, time64: boolean): number | null {
    if (time64) {
      if (!this.m.userRange(addr, 16, false)) return null;
      const sec = this.m.memory.read32(addr) >>> 0;
      const nsec = this.m.memory.read32(addr + 8) >>> 0;
      return sec * 1e9 + nsec;
    }
    if (!this.m.userRange(addr, 8, false)) return null;
    return (this.m.memory.read32(addr) >>> 0) * 1e9 + (this.m.memory.read32(addr + 4) >>> 0);
  }

  private futex(
    t: Task,
    uaddr: number,
    op: number,
    val: number,
    timeout: number,
    uaddr2: number,
    val3: number,
    t64: boolean,
  ): number {
    const cmd = op & 0x7f;
    uaddr = uaddr >>> 0;
    switch (cmd) {
      case 0: // FUTEX_WAIT (relative timeout)
      case 9: {
        // FUTEX_WAIT_BITSET (absolute timeout)
        const cur = this.get32(uaddr);
        if (cur === null) return -EFAULT;
        if (cur !== val) return -EAGAIN;
        let wakeAt = -1;
        if (timeout) {
          const ns = this.readTimespec(timeout, t64);
          if (ns === null) return -EFAULT;
          if (cmd === 0) wakeAt = this.m.now() + this.m.nsToCycles(ns);
          else {
            const base = op & 256 ? EPOCH * 1e9 : 0;
            wakeAt = this.m.nsToCycles(Math.max(0, ns - base));
          }
        }
        const bitset = cmd === 9 ? val3 : -1;
        if (bitset === 0) return -EINVAL;
        t.futexAddr = uaddr;
        t.futexBitset = bitset;
        this.futexWaiters.push(t);
        this.m.block(t, `futex 0x${uaddr.toString(16)}`, wakeAt);
        return BLOCKED;
      }
      case 1:
        return this.futexWake(uaddr, val, -1);
      case 10:
        if (val3 === 0) return -EINVAL;
        return this.futexWake(uaddr, val, val3);
      case 3: // REQUEUE
      case 4: {
        // CMP_REQUEUE
        if (cmd === 4) {
          const cur = this.get32(uaddr);
          if (cur === null) return -EFAULT;
          if (cur !== val3) return -EAGAIN;
        }
        const woken = this.futexWake(uaddr, val, -1);
        let moved = 0;
        const limit = timeout >>> 0; // val2 travels in the timeout slot
        for (const w of this.futexWaiters) {
          if (moved >= limit) break;
          if (w.futexAddr === uaddr) {
            w.futexAddr = uaddr2 >>> 0;
            w.waitDesc = `futex 0x${(uaddr2 >>> 0).toString(16)}`;
            moved++;
          }
        }
        return woken + moved;
      }
      case 5: {
        // WAKE_OP
        const oparg0 = (val3 >> 12) & 0xfff;
        const opn = (val3 >> 28) & 7;
        const oparg = val3 & 0x80000000 ? 1 << oparg0 : oparg0;
        const cmpop = (val3 >> 24) & 15;
        const cmparg = val3 & 0xfff;
        const old = this.get32(uaddr2 >>> 0);
        if (old === null) return -EFAULT;
        const nv = [oparg, old + oparg, old | oparg, old & ~oparg, old ^ oparg][opn] ?? old;
        this.m.memory.write32(uaddr2 >>> 0, nv);
        let n = this.futexWake(uaddr, val, -1);
        const o = old | 0;
        const ok =
          [o === cmparg, o !== cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg][cmpop] ?? false;
        if (ok) n += this.futexWake(uaddr2 >>> 0, timeout >>> 0, -1);
        return n;
      }
      default:
        return -ENOSYS;
    }
  }

  /** Wakes up to `n` waiters on `uaddr` in FIFO order; returns how many. */
  futexWake(uaddr: number, n: number, bitset: number): number {
    let woken = 0;
    const keep: Task[] = [];
    for (const w of this.futexWaiters) {
      if (
        woken < n >>> 0 &&
        w.futexAddr === uaddr >>> 0 &&
        (bitset === -1 || (w.futexBitset & bitset) !== 0)
      ) {
        this.m.wake(w, 0);
        woken++;
      } else if (w.state === 'blocked' || w.state === 'sleeping') keep.push(w);
    }
    this.futexWaiters = keep;
    return woken;
  }

  /** Removes a task whose futex wait timed out. */
  futexCancel(t: Task): void {
    this.futexWaiters = this.futexWaiters.filter((w) => w !== t);
  }

  // ---------------------------------------------------------------- time

  private clockGettime(clk: number, tp: number, t64: boolean): number {
    const ns = this.m.cyclesToNs(this.m.now()) + (clk === 0 || clk === 5 || clk === 8 ? EPOCH * 1e9 : 0);
    const sec = Math.floor(ns / 1e9);
    const nsec = ns % 1e9;
    if (t64) {
      if (!this.m.userRange(tp, 16, true)) return -EFAULT;
      this.m.memory.write32(tp, sec);
      this.m.memory.write32(tp + 4, 0);
      this.m.memory.write32(tp + 8, nsec);
      this.m.memory.write32(tp + 12, 0);
    } else {
      if (!this.m.userRange(tp, 8, true)) return -EFAULT;
      this.m.memory.write32(tp, sec);
      this.m.memory.write32(tp + 4, nsec);
    }
    return 0;
  }

  private clockGetres(tp: number): number {
    if (tp && !this.put32(tp, 0)) return -EFAULT;
    if (tp) this.put32(tp + 4, 1);
    return 0;
  }

  private gettimeofday(tv: number): number {
    if (!tv) return 0;
    const ns = this.m.cyclesToNs(this.m.now()) + EPOCH * 1e9;
    if (!this.m.userRange(tv, 8, true)) return -EFAULT;
    this.m.memory.write32(tv, Math.floor(ns / 1e9));
    this.m.memory.write32(tv + 4, Math.floor((ns % 1e9) / 1000));
    return 0;
  }

  private nanosleep(t: Task, req: number, t64: boolean, _flags: number, _clk: number): number {
    const ns = this.readTimespec(req, t64);
    if (ns === null) return -EFAULT;
    this.m.block(t, 'nanosleep', this.m.now() + Math.max(1, this.m.nsToCycles(ns)));
    return BLOCKED;
  }

  private clockNanosleep(t: Task, clk: number, flags: number, req: number, t64: boolean): number {
    const ns = this.readTimespec(req, t64);
    if (ns === null) return -EFAULT;
    let wakeAt: number;
    if (flags & 1) {
      const base = clk === 0 ? EPOCH * 1e9 : 0;
      wakeAt = this.m.nsToCycles(Math.max(0, ns - base));
    } else wakeAt = this.m.now() + Math.max(1, this.m.nsToCycles(ns));
    this.m.block(t, 'clock_nanosleep', wakeAt);
    return BLOCKED;
  }

  // ---------------------------------------------------------------- misc

  private uname(buf: number): number {
    if (!this.m.userRange(buf, 390, true)) return -EFAULT;
    const b = new Uint8Array(390);
    const put = (i: number, s: string) => b.set(new TextEncoder().encode(s), i * 65);
    put(0, 'Linux');
    put(1, 'probelab');
    put(2, '6.1.0-probelab');
    put(3, '#1 SMP PREEMPT probelab');
    put(4, 'i686');
    put(5, '(none)');
    this.m.memory.writeBytes(buf, b);
    return 0;
  }

  private getrandom(buf: number, len: number): number {
    len = Math.min(len >>> 0, 33554431);
    if (!this.m.userRange(buf, len, true)) return -EFAULT;
    const data = this.m.prng.bytes(len);
    this.m.memory.writeBytes(buf, data);
    this.m.hooks.onInput?.('random', '', data);
    return len;
  }

  private rlimit(res: number): [number, number] {
    const INF = 0xffffffff;
    if (res === 3) return [8 * 1024 * 1024, INF]; // RLIMIT_STACK
    if (res === 7) return [1024, 4096]; // RLIMIT_NOFILE
    return [INF, INF];
  }

  private prlimit64(pid: number, res: number, _newp: number, old: number): number {
    if (pid !== 0 && pid !== this.m.mainTask.tid) return -ESRCH;
    if (old) {
      if (!this.m.userRange(old, 16, true)) return -EFAULT;
      const [cur, max] = this.rlimit(res);
      const inf = (v: number) => (v === 0xffffffff ? [0xffffffff, 0xffffffff] : [v, 0]);
      const [c0, c1] = inf(cur);
      const [m0, m1] = inf(max);
      this.m.memory.write32(old, c0!);
      this.m.memory.write32(old + 4, c1!);
      this.m.memory.write32(old + 8, m0!);
      this.m.memory.write32(old + 12, m1!);
    }
    return 0;
  }

  private ugetrlimit(res: number, buf: number): number {
    if (!this.m.userRange(buf, 8, true)) return -EFAULT;
    const [cur, max] = this.rlimit(res);
    this.m.memory.write32(buf, cur);
    this.m.memory.write32(buf + 4, max);
    return 0;
  }

  private schedGetaffinity(len: number, mask: number): number {
    const bytes = Math.max(4, Math.ceil(this.m.ncpus / 8));
    if (len >>> 0 < bytes) return -EINVAL;
    if (!this.m.userRange(mask, bytes, true)) return -EFAULT;
    const b = new Uint8Array(bytes);
    for (let k = 0; k < this.m.ncpus; k++) b[k >> 3]! |= 1 << (k & 7);
    this.m.memory.writeBytes(mask, b);
    return bytes;
  }
}

/** Guest wall-clock epoch: 2005-06-17 (Linux 2.6.13's merge window), fixed for determinism. */
export const EPOCH = 1118966400;
const EACCES_MAP = 13;
/** Returned by a handler that blocked the task; EAX is filled in by the waker. */
export const BLOCKED = 0x7fffffff + 1;

export { ENOENT, EPERM, EEXIST, ETIMEDOUT, ENOMEM };
