// The path-based file syscalls over the overlay file system (vfs.ts): open/openat/creat with
// O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_NOFOLLOW/O_TMPFILE, pread64/pwrite64, the stat family
// (stat, stat64, lstat64, fstat64, fstatat64, statx), access/faccessat, readlink, getcwd/chdir/fchdir,
// getdents/getdents64, mkdir/rmdir, mknod/mknodat (FIFOs: fifo.ts), unlink, rename/renameat2, link, symlink, truncate/ftruncate,
// fsync/fdatasync, utimensat/utimes, chmod/fchmod, chown (own ids only), umask, statfs. They
// replace the read-only rows of files.ts. Guarantees: every path is walked by vfs.ts from the
// process's working directory (or a directory descriptor) with Linux's errors; nothing reaches the
// host except the reads vfs.ts makes through the FileSource; bad guest pointers give EFAULT.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import type { FileDescription, StatInfo as FdStat } from './fd.js';
import type { Process } from './process.js';
import { installDev } from './vfs-dev.js';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_FOLLOW,
  AT_SYMLINK_NOFOLLOW,
  EACCES,
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  EISDIR,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  ENXIO,
  EPERM,
  ERANGE,
  ESPIPE,
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_TMPFILE,
  O_TRUNC,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from './vfs-errno.js';
import { FifoEnd, openFifo } from './fifo.js';
import { VfsFile } from './vfs-file.js';
import { ProcFs, type ProcSource } from './vfs-proc.js';
import { anonStat, encodeOldStat, encodeStat64, encodeStatx, statOfNode, type StatInfo } from './vfs-stat.js';
import { MAY_EXEC, MAY_READ, MAY_WRITE, Vfs, type Lookup, type Node } from './vfs.js';

const EOVERFLOW = 75;
const O_CLOEXEC = 0o2000000;
/** Status flags an open description keeps (access mode, O_APPEND, O_NONBLOCK, O_DIRECTORY...). */
const KEEP_FLAGS = ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | 0o400);

/** The file system state of one machine, shared by every process. */
export class FileSystem {
  readonly vfs: Vfs;
  private readonly cwds = new WeakMap<Process, Node>();

  constructor(
    readonly k: Kernel,
    opts: { random: (n: number) => Uint8Array; proc: ProcSource; epochSec: number },
  ) {
    this.vfs = new Vfs({
      files: k.files,
      clockNs: () => k.m.cyclesToNs(k.m.now()),
      epochSec: opts.epochSec,
      log: (kind, key, data) => k.m.emitInput(kind, key, data),
      onRefused: (path) => k.noteRefused(path),
    });
    this.vfs.ensureDir('/tmp', 0o1777, true);
    this.vfs.ensureDir('/var/tmp', 0o1777, true);
    installDev(this.vfs, opts.random);
    new ProcFs(this.vfs, opts.proc).install();
  }

  /** The process's working directory node (created from its path string the first time). */
  cwd(p: Process): Node {
    let n = this.cwds.get(p);
    if (!n) {
      const r = this.vfs.lookup(this.vfs.root, p.cwd, true);
      n = typeof r === 'number' || !r.isDir() ? this.vfs.ensureDir(p.cwd) : r;
      this.cwds.set(p, n);
    }
    return n;
  }

  setCwd(p: Process, n: Node): void {
    this.cwds.set(p, n);
    p.cwd = this.vfs.pathOf(n);
  }

  /** Where a relative path starts: the cwd or the directory behind `dirfd`. */
  start(t: Task, dirfd: number, path: string): Node | number {
    if (path.startsWith('/') || dirfd === AT_FDCWD) return this.cwd(t.process);
    const d = t.process.fds.get(dirfd);
    if (!d) return -EBADF;
    if (!(d instanceof VfsFile) || !d.node.isDir()) return -ENOTDIR;
    return d.node;
  }

  /** A guest path argument: EFAULT for a bad pointer, ENAMETOOLONG without a NUL in PATH_MAX. */
  pathArg(addr: number): string | number {
    if (addr === 0) return -EFAULT;
    const s = this.k.cstring(addr, 4097);
    if (s === null) return -EFAULT;
    if (Buffer.byteLength(s) >= 4096) return -ENAMETOOLONG;
    return s;
  }

  /** Looks a path up relative to dirfd. */
  lookupAt(t: Task, dirfd: number, pathAddr: number, follow: boolean, emptyOk = false): Node | number {
    const p = this.pathArg(pathAddr);
    if (typeof p === 'number') return p;
    if (p === '' && emptyOk) {
      const d = t.process.fds.get(dirfd);
      if (!d) return -EBADF;
      return d instanceof VfsFile ? d.node : -ENOENT;
    }
    const s = this.start(t, dirfd, p);
    if (typeof s === 'number') return s;
    return this.vfs.lookup(s, p, follow);
  }

  parentAt(t: Task, dirfd: number, pathAddr: number) {
    const p = this.pathArg(pathAddr);
    if (typeof p === 'number') return p;
    const s = this.start(t, dirfd, p);
    if (typeof s === 'number') return s;
    return this.vfs.lookupParent(s, p);
  }

  private pathFor(dir: Node, name: string): string {
    const d = this.vfs.pathOf(dir);
    return name === '' || name === '.' ? d : d === '/' ? `/${name}` : `${d}/${name}`;
  }

  /**
   * The bytes of a program for execve: a regular file with an execute bit (Linux checks it before
   * reading), read through the overlay, so a program the guest wrote runs as well as a host one.
   */
  execBytes(path: string): Uint8Array | number {
    const n = this.vfs.lookup(this.vfs.root, path, true);
    if (typeof n === 'number') return n;
    this.vfs.resolve(n);
    if (!n.isReg() || (n.mode & 0o111) === 0) return -EACCES;
    const e = this.vfs.content(n);
    if (e < 0) return e;
    return n.data.slice(0, n.size);
  }

  // ------------------------------------------------------------------ open

  openat(t: Task, dirfd: number, pathAddr: number, flags: number, mode: number): number {
    const p = this.pathArg(pathAddr);
    if (typeof p === 'number') return p;
    const start = this.start(t, dirfd, p);
    if (typeof start === 'number') return start;
    const vfs = this.vfs;
    const acc = flags & O_ACCMODE;
    if (acc === 3 && !(flags & O_PATH)) return -EINVAL;
    let node: Node;
    let path: string;
    let created = false;
    if ((flags & O_TMPFILE) === O_TMPFILE) {
      if (acc === O_RDONLY) return -EINVAL;
      const d = vfs.lookup(start, p, true);
      if (typeof d === 'number') return d;
      if (!d.isDir()) return -ENOTDIR;
      const c = vfs.create(d, '\0tmpfile', S_IFREG | (mode & 0o7777 & ~t.process.umask));
      if (typeof c === 'number') return c;
      vfs.remove(d, '\0tmpfile', false);
      c.nlink = 0;
      node = c;
      path = `${this.pathFor(d, '')}/#${c.ino} (deleted)`;
      created = true;
    } else if (flags & O_CREAT) {
      let par = vfs.lookupParent(start, p);
      let depth = 0;
      for (;;) {
        if (typeof par === 'number') return par;
        if (par.name === '' || par.name === '.' || par.name === '..' || par.slash) return -EISDIR;
        const existing = vfs.child(par.dir, par.name, false);
        if (typeof existing === 'number') {
          if (existing !== -ENOENT) return existing;
          const c = vfs.create(par.dir, par.name, S_IFREG | (mode & 0o7777 & ~t.process.umask));
          if (typeof c === 'number') return c;
          node = c;
          created = true;
          break;
        }
        if (flags & O_EXCL) return -EEXIST;
        if (existing.isLink()) {
          if (flags & O_NOFOLLOW) return -ELOOP;
          // A dangling symlink with O_CREAT creates its target.
          if (++depth > 40) return -ELOOP;
          par = vfs.lookupParent(par.dir, existing.target);
          continue;
        }
        node = existing;
        break;
      }
      path = this.pathFor(par.dir, par.name);
    } else {
      const r = vfs.lookup(start, p, !(flags & O_NOFOLLOW));
      if (typeof r === 'number') return r;
      if (r.isLink() && !(flags & O_PATH)) return -ELOOP;
      node = r;
      path = r.isDir() ? vfs.pathOf(r) : this.pathFor(this.parentOfPath(start, p), lastName(p));
    }
    if (!(flags & O_PATH)) {
      if (flags & O_DIRECTORY && !node.isDir()) return -ENOTDIR;
      if (node.isDir() && (acc !== O_RDONLY || flags & O_CREAT || flags & O_TRUNC)) return -EISDIR;
      if ((node.mode & S_IFMT) === S_IFSOCK) return -ENXIO;
      if (!created) {
        const want =
          (acc === O_RDONLY ? MAY_READ : acc === 1 ? MAY_WRITE : MAY_READ | MAY_WRITE) |
          (flags & O_TRUNC ? MAY_WRITE : 0);
        if (!vfs.may(node, want)) return -EACCES;
      }
      if (node.pending && acc !== 1 && !(flags & O_TRUNC)) {
        // A host file's bytes are taken when it is opened for reading (as an open descriptor
        // holds the inode on Linux, a later change of the host path does not change them);
        // stat and O_PATH never read it, and the bytes of one identity are read once.
        const e = vfs.content(node);
        if (e < 0) return e;
      }
      if (node.dev_ops?.open) {
        const e = node.dev_ops.open();
        if (e < 0) return e;
      }
      if (flags & O_TRUNC && acc !== O_RDONLY && node.isReg()) {
        const e = vfs.truncate(node, 0);
        if (e < 0) return e;
      }
      if ((node.mode & S_IFMT) === S_IFIFO)
        return openFifo(this.k, t, node, flags & KEEP_FLAGS, path, (flags & O_CLOEXEC) !== 0);
    } else if (flags & O_DIRECTORY && !node.isDir()) return -ENOTDIR;
    const f = new VfsFile(vfs, node, flags & KEEP_FLAGS, path);
    const fd = t.process.fds.install(f, (flags & O_CLOEXEC) !== 0);
    if (fd < 0) f.release();
    return fd;
  }

  /** The directory a (successfully looked-up) path's last component lives in, for naming. */
  private parentOfPath(start: Node, p: string): Node {
    const par = this.vfs.lookupParent(start, p);
    return typeof par === 'number' ? start : par.dir;
  }

  // ------------------------------------------------------------------ stat

  statOf(f: FileDescription): StatInfo {
    if (f instanceof VfsFile) return f.fullStat();
    if (f instanceof FifoEnd) return statOfNode(f.node);
    const s: FdStat = f.stat();
    const st = anonStat(s.mode, s.ino, [s.mtimeSec, 0]);
    st.size = s.size;
    st.rdev = s.rdev;
    st.nlink = s.nlink;
    return st;
  }

  private writeOut(addr: number, bytes: Uint8Array): number {
    if (!this.k.userRange(addr, bytes.length, true)) return -EFAULT;
    this.k.mem.writeBytes(addr, bytes);
    return 0;
  }

  private statNodeOrFd(t: Task, dirfd: number, pathAddr: number, flags: number): StatInfo | number {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000)) return -EINVAL;
    const p = this.pathArg(pathAddr);
    if (typeof p === 'number') return p;
    if (p === '' && flags & AT_EMPTY_PATH) {
      const f = t.process.fds.get(dirfd);
      return f ? this.statOf(f) : -EBADF;
    }
    const s = this.start(t, dirfd, p);
    if (typeof s === 'number') return s;
    const n = this.vfs.lookup(s, p, !(flags & AT_SYMLINK_NOFOLLOW));
    if (typeof n === 'number') return n;
    this.vfs.resolve(n);
    return statOfNode(n);
  }

  stat(
    t: Task,
    dirfd: number,
    pathAddr: number,
    buf: number,
    flags: number,
    layout: 'stat64' | 'old' | 'statx',
  ): number {
    const s = this.statNodeOrFd(t, dirfd, pathAddr, flags);
    if (typeof s === 'number') return s;
    return this.writeStat(s, buf, layout);
  }

  writeStat(s: StatInfo, buf: number, layout: 'stat64' | 'old' | 'statx'): number {
    if (layout === 'old') {
      const b = encodeOldStat(s);
      return b ? this.writeOut(buf, b) : -EOVERFLOW;
    }
    return this.writeOut(buf, layout === 'statx' ? encodeStatx(s) : encodeStat64(s));
  }

  fstat(t: Task, fd: number, buf: number, layout: 'stat64' | 'old'): number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    return this.writeStat(this.statOf(f), buf, layout);
  }

  // ------------------------------------------------------------------ names

  access(t: Task, dirfd: number, pathAddr: number, mode: number, flags: number): number {
    if (mode & ~7) return -EINVAL;
    const n = this.lookupAt(
      t,
      dirfd,
      pathAddr,
      !(flags & AT_SYMLINK_NOFOLLOW),
      (flags & AT_EMPTY_PATH) !== 0,
    );
    if (typeof n === 'number') return n;
    this.vfs.resolve(n);
    if (mode === 0) return 0;
    // X_OK=1, W_OK=2, R_OK=4 map to the owner bits (the guest owns every file).
    if (!this.vfs.may(n, mode)) return -EACCES;
    return 0;
  }

  readlink(t: Task, dirfd: number, pathAddr: number, buf: number, size: number): number {
    if (size <= 0) return -EINVAL;
    const n = this.lookupAt(t, dirfd, pathAddr, false, true);
    if (typeof n === 'number') return n;
    if (!n.isLink()) return -EINVAL;
    const b = Buffer.from(n.target, 'utf8');
    const len = Math.min(b.length, size >>> 0);
    const e = this.writeOut(buf, b.subarray(0, len));
    return e < 0 ? e : len;
  }

  getcwd(t: Task, buf: number, size: number): number {
    const d = this.cwd(t.process);
    // Linux: the working directory was removed.
    if (!this.vfs.attached(d)) return -ENOENT;
    const b = Buffer.from(this.vfs.pathOf(d) + '\0', 'utf8');
    if (b.length > size >>> 0) return -ERANGE;
    const e = this.writeOut(buf, b);
    return e < 0 ? e : b.length;
  }

  chdirTo(t: Task, n: Lookup): number {
    if (typeof n === 'number') return n;
    if (!n.isDir()) return -ENOTDIR;
    if (!this.vfs.may(n, MAY_EXEC)) return -EACCES;
    this.setCwd(t.process, n);
    return 0;
  }

  getdents(t: Task, fd: number, buf: number, count: number, wide: boolean): number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    if (!(f instanceof VfsFile)) return -ENOTDIR;
    if (!this.k.userRange(buf, Math.max(1, count >>> 0), true)) return -EFAULT;
    const r = f.getdents(count >>> 0, wide);
    if (typeof r === 'number') return r;
    this.k.mem.writeBytes(buf, r);
    return r.length;
  }

  /**
   * mknod/mknodat: a FIFO, a regular file or a socket node; a device is EPERM (no CAP_MKNOD) and a
   * directory EPERM, as may_mknod and vfs_mknod answer; other types EINVAL.
   */
  mknod(t: Task, dirfd: number, pathAddr: number, mode: number): number {
    const type = mode & S_IFMT;
    if (type === S_IFDIR) return -EPERM;
    if (![0, S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].includes(type)) return -EINVAL;
    const par = this.parentAt(t, dirfd, pathAddr);
    if (typeof par === 'number') return par;
    const device = type === S_IFCHR || type === S_IFBLK;
    if (par.slash || device) {
      const there = this.vfs.child(par.dir, par.name, false);
      if (typeof there !== 'number') return -EEXIST;
      if (there !== -ENOENT) return there;
      if (device) return -EPERM;
      return -ENOENT;
    }
    const r = this.vfs.create(par.dir, par.name, (type || S_IFREG) | (mode & 0o7777 & ~t.process.umask));
    return typeof r === 'number' ? r : 0;
  }

  mkdir(t: Task, dirfd: number, pathAddr: number, mode: number): number {
    const par = this.parentAt(t, dirfd, pathAddr);
    if (typeof par === 'number') return par;
    const r = this.vfs.mkdir(par.dir, par.name, mode & 0o7777 & ~t.process.umask);
    return typeof r === 'number' ? r : 0;
  }

  unlink(t: Task, dirfd: number, pathAddr: number, flags: number): number {
    if (flags & ~AT_REMOVEDIR) return -EINVAL;
    const par = this.parentAt(t, dirfd, pathAddr);
    if (typeof par === 'number') return par;
    const rmdir = (flags & AT_REMOVEDIR) !== 0;
    if (!rmdir && par.slash) {
      const n = this.vfs.child(par.dir, par.name, false);
      if (typeof n === 'number') return n;
      return n.isDir() ? -EISDIR : -ENOTDIR;
    }
    return this.vfs.remove(par.dir, par.name, rmdir);
  }

  rename(t: Task, ofd: number, oldAddr: number, nfd: number, newAddr: number, flags: number): number {
    const o = this.parentAt(t, ofd, oldAddr);
    if (typeof o === 'number') return o;
    const n = this.parentAt(t, nfd, newAddr);
    if (typeof n === 'number') return n;
    if (o.slash || n.slash) {
      const src = this.vfs.child(o.dir, o.name, false);
      if (typeof src !== 'number' && !src.isDir()) return -ENOTDIR;
    }
    return this.vfs.rename(o.dir, o.name, n.dir, n.name, flags);
  }

  link(t: Task, ofd: number, oldAddr: number, nfd: number, newAddr: number, flags: number): number {
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
    const src = this.lookupAt(
      t,
      ofd,
      oldAddr,
      (flags & AT_SYMLINK_FOLLOW) !== 0,
      (flags & AT_EMPTY_PATH) !== 0,
    );
    if (typeof src === 'number') return src;
    this.vfs.resolve(src);
    const n = this.parentAt(t, nfd, newAddr);
    if (typeof n === 'number') return n;
    if (n.slash) return -ENOENT;
    return this.vfs.hardlink(src, n.dir, n.name);
  }

  symlink(t: Task, targetAddr: number, nfd: number, newAddr: number): number {
    const target = this.pathArg(targetAddr);
    if (typeof target === 'number') return target;
    const n = this.parentAt(t, nfd, newAddr);
    if (typeof n === 'number') return n;
    if (n.slash) return -ENOENT;
    const r = this.vfs.symlink(n.dir, n.name, target);
    return typeof r === 'number' ? r : 0;
  }

  truncateNode(n: Lookup, len: number): number {
    if (typeof n === 'number') return n;
    this.vfs.resolve(n);
    if (n.isDir()) return -EISDIR;
    if (!this.vfs.may(n, MAY_WRITE)) return -EACCES;
    return this.vfs.truncate(n, len);
  }

  ftruncate(t: Task, fd: number, len: number): number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    if (!(f instanceof VfsFile) || !f.node.isReg() || !f.writable) return -EINVAL;
    if (len < 0) return -EINVAL;
    return this.vfs.truncate(f.node, len);
  }

  chmod(t: Task, n: Lookup, mode: number): number {
    if (typeof n === 'number') return n;
    this.vfs.resolve(n);
    return this.vfs.chmod(n, mode);
  }

  /** utimensat: `times` points at two timespecs (NULL: both now). */
  utimens(t: Task, dirfd: number, pathAddr: number, times: number, flags: number, time64: boolean): number {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
    let n: Lookup;
    if (pathAddr === 0) {
      const f = t.process.fds.get(dirfd);
      if (!f) return -EBADF;
      n = f instanceof VfsFile ? f.node : -EPERM;
    } else
      n = this.lookupAt(t, dirfd, pathAddr, !(flags & AT_SYMLINK_NOFOLLOW), (flags & AT_EMPTY_PATH) !== 0);
    if (typeof n === 'number') return n;
    this.vfs.resolve(n);
    if (times === 0) return this.vfs.utimes(n, 'now', 'now');
    const size = time64 ? 16 : 8;
    const read = (at: number): [number, number] | 'now' | 'omit' | number => {
      if (!this.k.userRange(at, size, false)) return -EFAULT;
      const sec = this.k.mem.read32(at);
      const nsec = this.k.mem.read32(at + (time64 ? 8 : 4)) >>> 0;
      if (nsec === 0x3fffffff) return 'now';
      if (nsec === 0x3ffffffe) return 'omit';
      if (nsec >= 1e9) return -EINVAL;
      return [sec, nsec];
    };
    const a = read(times);
    const m = read(times + size);
    if (typeof a === 'number') return a;
    if (typeof m === 'number') return m;
    return this.vfs.utimes(n, a, m);
  }

  /** utimes/futimesat: timevals (microseconds). */
  utimesTv(t: Task, dirfd: number, pathAddr: number, tv: number): number {
    const n = this.lookupAt(t, dirfd, pathAddr, true);
    if (typeof n === 'number') return n;
    if (tv === 0) return this.vfs.utimes(n, 'now', 'now');
    if (!this.k.userRange(tv, 16, false)) return -EFAULT;
    const m = this.k.mem;
    const us = (at: number): [number, number] | number => {
      const u = m.read32(at + 4) >>> 0;
      return u >= 1e6 ? -EINVAL : [m.read32(at), u * 1000];
    };
    const a = us(tv);
    const b = us(tv + 8);
    if (typeof a === 'number') return a;
    if (typeof b === 'number') return b;
    return this.vfs.utimes(n, a, b);
  }

  /**
   * statfs64/fstatfs64 (`size` 84, or 88 as the compat entry allows) and, with `wide` false,
   * statfs/fstatfs (the 64-byte struct statfs of 32-bit longs): one in-memory file system,
   * TMPFS_MAGIC with a 1 GiB capacity, half of it free, the same figures in both layouts.
   */
  statfs(buf: number, size: number, wide = true): number {
    if (wide && size !== 84 && size !== 88) return -EINVAL;
    const b = new Uint8Array(wide ? size : 64);
    const v = new DataView(b.buffer);
    // f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree (the five counts are 64-bit in statfs64).
    const words = [0x01021994, 4096];
    const counts = [262144, 131072, 131072, 65536, 32768];
    words.forEach((w, i) => v.setUint32(4 * i, w, true));
    counts.forEach((c, i) => v.setUint32(8 + (wide ? 8 : 4) * i, c, true));
    const tail = wide ? 56 : 36; // after f_fsid: f_namelen, f_frsize
    v.setUint32(tail, 255, true);
    v.setUint32(tail + 4, 4096, true);
    return this.writeOut(buf, b);
  }

  /** lseek/_llseek with a signed 64-bit offset (the overlay's files go beyond 2 GiB). */
  lseek(t: Task, fd: number, off: number, whence: number): number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    return f.lseek(off, whence);
  }

  pread(t: Task, fd: number, buf: number, count: number, off: number): number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    if (!(f instanceof VfsFile)) return f.kind === 'dir' ? -EISDIR : -ESPIPE;
    if (off < 0) return -EINVAL;
    count = count >>> 0;
    if (count === 0) return 0;
    if (!this.k.userRange(buf, count, true)) return -EFAULT;
    const r = f.pread(count, off);
    if (typeof r === 'number') return r;
    this.k.mem.writeBytes(buf, r);
    return r.length;
  }

  pwrite(t: Task, fd: number, buf: number, count: number, off: number): number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    if (!(f instanceof VfsFile)) return -ESPIPE;
    if (off < 0) return -EINVAL;
    count = count >>> 0;
    if (!this.k.userRange(buf, count, false)) return -EFAULT;
    // Linux writes at the end of an O_APPEND file whatever the offset (pwrite(2), BUGS).
    if (f.flags & O_APPEND) off = f.node.size;
    return f.pwrite(this.k.mem.readBytes(buf, count), off);
  }
}

function lastName(p: string): string {
  const parts = p.split('/').filter((c) => c !== '');
  return parts[parts.length - 1] ?? '';
}

/** 64-bit offset from two 32-bit halves (as i386 passes loff_t). */
function off64(lo: number, hi: number): number {
  return (hi | 0) * 4294967296 + (lo >>> 0);
}

export function registerVfs(k: Kernel, fsys: FileSystem): void {
  const T = k.table;
  const R = (name: string, h: Parameters<typeof T.redefine>[1]) => T.redefine(name, h);
  R('open', (t, a, b, c) => fsys.openat(t, AT_FDCWD, a, b, c));
  R('openat', (t, a, b, c, d) => fsys.openat(t, a, b, c, d));
  R('creat', (t, a, b) => fsys.openat(t, AT_FDCWD, a, 0o1101, b));
  R('lseek', (t, a, b, c) => fsys.lseek(t, a, b, c));
  R('_llseek', (t, a, b, c, d, e) => {
    const r = fsys.lseek(t, a, off64(c, b), e);
    return r < 0 ? r : k.put64(d, r);
  });
  R('pread64', (t, a, b, c, d, e) => fsys.pread(t, a, b, c, off64(d, e)));
  R('pwrite64', (t, a, b, c, d, e) => fsys.pwrite(t, a, b, c, off64(d, e)));
  R('stat', (t, a, b) => fsys.stat(t, AT_FDCWD, a, b, 0, 'old'));
  R('lstat', (t, a, b) => fsys.stat(t, AT_FDCWD, a, b, AT_SYMLINK_NOFOLLOW, 'old'));
  R('fstat', (t, a, b) => fsys.fstat(t, a, b, 'old'));
  R('stat64', (t, a, b) => fsys.stat(t, AT_FDCWD, a, b, 0, 'stat64'));
  R('lstat64', (t, a, b) => fsys.stat(t, AT_FDCWD, a, b, AT_SYMLINK_NOFOLLOW, 'stat64'));
  R('fstat64', (t, a, b) => fsys.fstat(t, a, b, 'stat64'));
  R('fstatat64', (t, a, b, c, d) => fsys.stat(t, a, b, c, d, 'stat64'));
  R('statx', (t, a, b, c, _d, e) => fsys.stat(t, a, b, e, c, 'statx'));
  R('access', (t, a, b) => fsys.access(t, AT_FDCWD, a, b, 0));
  R('faccessat', (t, a, b, c) => fsys.access(t, a, b, c, 0));
  R('faccessat2', (t, a, b, c, d) => fsys.access(t, a, b, c, d));
  R('readlink', (t, a, b, c) => fsys.readlink(t, AT_FDCWD, a, b, c));
  R('readlinkat', (t, a, b, c, d) => fsys.readlink(t, a, b, c, d));
  R('getcwd', (t, a, b) => fsys.getcwd(t, a, b));
  R('chdir', (t, a) => fsys.chdirTo(t, fsys.lookupAt(t, AT_FDCWD, a, true)));
  R('fchdir', (t, a) => {
    const f = t.process.fds.get(a);
    if (!f) return -EBADF;
    return fsys.chdirTo(t, f instanceof VfsFile ? f.node : -ENOTDIR);
  });
  R('getdents64', (t, a, b, c) => fsys.getdents(t, a, b, c, true));
  R('getdents', (t, a, b, c) => fsys.getdents(t, a, b, c, false));
  R('mkdir', (t, a, b) => fsys.mkdir(t, AT_FDCWD, a, b));
  R('mkdirat', (t, a, b, c) => fsys.mkdir(t, a, b, c));
  T.define('mknod', (t, a, b) => fsys.mknod(t, AT_FDCWD, a, b));
  T.define('mknodat', (t, a, b, c) => fsys.mknod(t, a, b, c));
  R('rmdir', (t, a) => fsys.unlink(t, AT_FDCWD, a, AT_REMOVEDIR));
  R('unlink', (t, a) => fsys.unlink(t, AT_FDCWD, a, 0));
  R('unlinkat', (t, a, b, c) => fsys.unlink(t, a, b, c));
  R('rename', (t, a, b) => fsys.rename(t, AT_FDCWD, a, AT_FDCWD, b, 0));
  R('renameat', (t, a, b, c, d) => fsys.rename(t, a, b, c, d, 0));
  R('renameat2', (t, a, b, c, d, e) => fsys.rename(t, a, b, c, d, e));
  R('link', (t, a, b) => fsys.link(t, AT_FDCWD, a, AT_FDCWD, b, 0));
  R('linkat', (t, a, b, c, d, e) => fsys.link(t, a, b, c, d, e));
  R('symlink', (t, a, b) => fsys.symlink(t, a, AT_FDCWD, b));
  R('symlinkat', (t, a, b, c) => fsys.symlink(t, a, b, c));
  R('truncate', (t, a, b) => fsys.truncateNode(fsys.lookupAt(t, AT_FDCWD, a, true), b));
  R('truncate64', (t, a, b, c) => fsys.truncateNode(fsys.lookupAt(t, AT_FDCWD, a, true), off64(b, c)));
  R('ftruncate', (t, a, b) => fsys.ftruncate(t, a, b));
  R('ftruncate64', (t, a, b, c) => fsys.ftruncate(t, a, off64(b, c)));
  const sync = (t: Task, fd: number) => (t.process.fds.get(fd) ? 0 : -EBADF);
  R('fsync', sync);
  R('fdatasync', sync);
  R('syncfs', sync);
  R('sync', () => 0);
  R('utimensat', (t, a, b, c, d) => fsys.utimens(t, a, b, c, d, false));
  R('utimensat_time64', (t, a, b, c, d) => fsys.utimens(t, a, b, c, d, true));
  R('utimes', (t, a, b) => fsys.utimesTv(t, AT_FDCWD, a, b));
  R('futimesat', (t, a, b, c) => fsys.utimesTv(t, a, b, c));
  R('chmod', (t, a, b) => fsys.chmod(t, fsys.lookupAt(t, AT_FDCWD, a, true), b));
  R('fchmodat', (t, a, b, c) => fsys.chmod(t, fsys.lookupAt(t, a, b, true), c));
  R('fchmod', (t, a, b) => {
    const f = t.process.fds.get(a);
    if (!f) return -EBADF;
    return fsys.chmod(t, f instanceof VfsFile ? f.node : -EINVAL, b);
  });
  // The guest owns every file: changing to its own ids (or -1) succeeds, to any other is EPERM.
  const own = (u: number, g: number) => ((u === -1 || u === 1000) && (g === -1 || g === 1000) ? 0 : -EPERM);
  const chown = (n: Lookup, u: number, g: number) => (typeof n === 'number' ? n : own(u, g));
  for (const name of ['chown32', 'lchown32', 'chown', 'lchown'])
    R(name, (t, a, b, c) => chown(fsys.lookupAt(t, AT_FDCWD, a, !name.startsWith('l')), b, c));
  for (const name of ['fchown32', 'fchown'])
    R(name, (t, a, b, c) => (t.process.fds.get(a) ? own(b, c) : -EBADF));
  R('fchownat', (t, a, b, c, d, e) =>
    chown(fsys.lookupAt(t, a, b, !(e & AT_SYMLINK_NOFOLLOW), (e & AT_EMPTY_PATH) !== 0), c, d),
  );
  R('umask', (t, a) => {
    const old = t.process.umask;
    t.process.umask = a & 0o777;
    return old;
  });
  R('statfs64', (t, a, b, c) => {
    const n = fsys.lookupAt(t, AT_FDCWD, a, true);
    return typeof n === 'number' ? n : fsys.statfs(c, b);
  });
  R('fstatfs64', (t, a, b, c) => (t.process.fds.get(a) ? fsys.statfs(c, b) : -EBADF));
  T.define('statfs', (t, a, b) => {
    const n = fsys.lookupAt(t, AT_FDCWD, a, true);
    return typeof n === 'number' ? n : fsys.statfs(b, 64, false);
  });
  T.define('fstatfs', (t, a, b) => (t.process.fds.get(a) ? fsys.statfs(b, 64, false) : -EBADF));
  R('flock', (t, a) => (t.process.fds.get(a) ? 0 : -EBADF));
  R('fadvise64_64', (t, a) => (t.process.fds.get(a) ? 0 : -EBADF));
  R('fadvise64', (t, a) => (t.process.fds.get(a) ? 0 : -EBADF));
}
