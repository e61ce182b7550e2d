// Read-only window from the guest onto host files inside allowed directories (Linux only: it needs
// /proc/self/fd). Guarantees:
//  - nothing on the host is ever written, created or changed;
//  - a path is resolved one component at a time on directory descriptors: each step opens
//    `/proc/self/fd/<dir>/<name>` with O_NOFOLLOW (O_DIRECTORY for directories), which resolves
//    `name` inside the directory that descriptor holds (openat semantics), never through a symlink.
//    So a host process that swaps a directory for a symlink between two steps (renameat2
//    RENAME_EXCHANGE) cannot send the walk elsewhere: what was opened is what is checked (fstat);
//  - "inside" is decided by identity: a directory is inside when it is an allowed directory
//    (st_dev and st_ino taken when the source was made) or was opened from one inside. Paths that
//    are not inside get EACCES (whether or not they exist), except the steps on the way to an
//    allowed directory: those are walked through (their names are never listed), and a symlink on
//    the way (an allowed directory given through a link) is shown so the caller can follow it;
//  - symlinks are never followed here: lookup() shows them as links and the guest's file system
//    follows them (each step of that walk comes back here);
//  - only regular files and directories are opened for reading (no FIFO, socket or device is ever
//    opened: the final step opens with O_PATH, checks the type, then reopens that same file);
//  - errors are Linux errno numbers, never exceptions.
// Guest paths are host paths (the guest's cwd is the host cwd); there is no chroot.

import fs from 'node:fs';
import type { FileSource, HostEntry, HostStat } from './types.js';

export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const EACCES = 13;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const EMFILE = 24;
export const EFBIG = 27;
export const ENAMETOOLONG = 36;
export const ELOOP = 40;

const ERRNO: Record<string, number> = {
  EPERM,
  ENOENT,
  EIO,
  EACCES,
  ENOTDIR,
  EISDIR,
  EINVAL,
  EMFILE,
  ENFILE: 23,
  EFBIG,
  ENAMETOOLONG,
  ELOOP,
  ENXIO: 6,
  ENODEV: 19,
  EOVERFLOW: 75,
};

/** Node's error code (e.g. 'ENOENT') → Linux errno; unknown ones become EIO. */
export function hostErrno(e: unknown): number {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code !== undefined && ERRNO[code]) || EIO;
}

/** Linux PATH_MAX: longer paths fail with ENAMETOOLONG before any lookup. */
const PATH_MAX = 4096;
/** Not in fs.constants: an fd that names a file without opening it (no device side effects). */
const O_PATH = 0o10000000;
const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * Lexically resolves `p` against `cwd` (both guest paths): joins relative paths to cwd, drops
 * '.', empty components and trailing slashes, and applies '..' (never above '/'). Symlinks are
 * not consulted, so "a/link/.." becomes "a". Returns '' for the empty path, which Linux rejects
 * with ENOENT.
 */
export function normaliseGuestPath(cwd: string, p: string): string {
  if (p === '') return '';
  const abs = p.startsWith('/') ? p : `${cwd}/${p}`;
  const parts: string[] = [];
  for (const seg of abs.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

function within(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The path by which `name` inside the directory open on `fd` is reached without a path walk. */
function at(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

function statOf(st: fs.BigIntStats): HostStat {
  const ns = st.mtimeNs;
  return {
    mode: Number(st.mode),
    size: Number(st.size),
    mtimeSec: Number(ns / 1000000000n),
    mtimeNsec: Number(ns % 1000000000n),
    ino: Number(st.ino),
    id: `${st.dev}:${st.ino}:${st.size}:${ns}`,
  };
}

export interface HostFilesOptions {
  /** Files larger than this are refused with EFBIG (default 256 MiB): they are read whole. */
  maxFileBytes?: number;
}

/** A directory descriptor reached by a walk, and whether it is inside an allowed directory. */
interface Step {
  fd: number;
  inside: boolean;
}

export class HostFiles implements FileSource {
  /** Allowed directories as given (absolute, lexically normalised). */
  readonly lexicalDirs: readonly string[];
  /** Their real paths (symlinks resolved); directories that do not exist are dropped. */
  readonly realDirs: readonly string[];
  /** "dev:ino" of each allowed directory, taken once: what "inside" means. */
  private readonly rootIds: ReadonlySet<string>;
  private readonly maxFileBytes: number;

  constructor(
    allowDirs: string[],
    readonly cwd: string,
    options: HostFilesOptions = {},
  ) {
    const lexical: string[] = [];
    const real: string[] = [];
    const ids = new Set<string>();
    for (const d of allowDirs) {
      const abs = normaliseGuestPath(cwd, d);
      if (abs === '') continue;
      try {
        const r = fs.realpathSync(abs);
        const st = fs.statSync(r, { bigint: true });
        if (!st.isDirectory()) continue;
        lexical.push(abs);
        real.push(r);
        ids.add(`${st.dev}:${st.ino}`);
      } catch {
        // A missing allowed directory grants nothing.
      }
    }
    this.lexicalDirs = lexical;
    this.realDirs = real;
    this.rootIds = ids;
    this.maxFileBytes = options.maxFileBytes ?? 256 * 1024 * 1024;
  }

  /**
   * Is `p` (a physical path not known to be inside) on the way to an allowed directory: an
   * ancestor of (or equal to) an allowed directory's real path or its spelling as given?
   */
  private onTheWay(p: string): boolean {
    return this.realDirs.some((d) => within(d, p)) || this.lexicalDirs.some((d) => within(d, p));
  }

  private isRoot(st: fs.BigIntStats): boolean {
    return st.isDirectory() && this.rootIds.has(`${st.dev}:${st.ino}`);
  }

  /**
   * Opens the directory holding the last component of `parts`, one component at a time. Starts
   * at the deepest allowed directory whose real path is a prefix (it must still be that directory:
   * same dev and inode), else at '/' through the steps on the way. Returns the open descriptor
   * (the caller closes it) or an errno.
   */
  private parentOf(parts: string[]): Step | number {
    let start = 0;
    let step: Step | null = null;
    const dirParts = parts.length - 1;
    let best = -1;
    for (const d of this.realDirs) {
      const n = d === '/' ? 0 : d.split('/').length - 1;
      if (n <= dirParts && n > best && within('/' + parts.slice(0, dirParts).join('/'), d)) best = n;
    }
    if (best >= 0) {
      try {
        const fd = fs.openSync('/' + parts.slice(0, best).join('/'), O_RDONLY | O_DIRECTORY | O_NONBLOCK);
        if (this.isRoot(fs.fstatSync(fd, { bigint: true }))) {
          step = { fd, inside: true };
          start = best;
        } else fs.closeSync(fd);
      } catch {
        // Gone or replaced: walk from '/' instead (it will not be inside).
      }
    }
    if (!step) {
      try {
        const fd = fs.openSync('/', O_RDONLY | O_DIRECTORY);
        step = { fd, inside: this.isRoot(fs.fstatSync(fd, { bigint: true })) };
      } catch (e) {
        return hostErrno(e);
      }
    }
    for (let i = start; i < dirParts; i++) {
      if (!step.inside && !this.onTheWay('/' + parts.slice(0, i + 1).join('/'))) {
        fs.closeSync(step.fd);
        return EACCES;
      }
      let fd: number;
      try {
        fd = fs.openSync(at(step.fd, parts[i]!), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK);
      } catch (e) {
        fs.closeSync(step.fd);
        // A symlink or a file where the caller saw a directory (ENOTDIR: the host changed under
        // the run); O_NOFOLLOW keeps the walk from going through it.
        return hostErrno(e);
      }
      fs.closeSync(step.fd);
      step = { fd, inside: step.inside || this.isRoot(fs.fstatSync(fd, { bigint: true })) };
    }
    return step;
  }

  /** Splits a physical path; null when it is malformed ('.' or '..' components, too long). */
  private split(path: string): string[] | number {
    if (!path.startsWith('/')) return ENOENT;
    if (Buffer.byteLength(path) >= PATH_MAX) return ENAMETOOLONG;
    const parts = path.split('/').filter((c) => c !== '');
    return parts.some((c) => c === '.' || c === '..') ? ENOENT : parts;
  }

  /**
   * Opens the last component of `path` with O_PATH|O_NOFOLLOW (nothing is really opened: no FIFO
   * blocks, no device acts) and calls `fn` with that descriptor, its status, whether it is inside
   * and the parent's descriptor. Descriptors are closed afterwards.
   */
  private withEntry<T>(
    path: string,
    fn: (fd: number, st: fs.BigIntStats, inside: boolean, parentFd: number, name: string) => T | number,
  ): T | number {
    const parts = this.split(path);
    if (typeof parts === 'number') return parts;
    if (parts.length === 0) parts.push('.');
    const parent = this.parentOf(parts);
    if (typeof parent === 'number') return parent;
    const name = parts[parts.length - 1]!;
    try {
      const p = '/' + parts.filter((c) => c !== '.').join('/');
      if (!parent.inside && !this.onTheWay(p)) return EACCES;
      let fd: number;
      try {
        fd = fs.openSync(at(parent.fd, name), O_PATH | O_NOFOLLOW);
      } catch (e) {
        return hostErrno(e);
      }
      try {
        const st = fs.fstatSync(fd, { bigint: true });
        return fn(fd, st, parent.inside || this.isRoot(st), parent.fd, name);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      fs.closeSync(parent.fd);
    }
  }

  lookup(path: string): HostEntry {
    const r = this.withEntry(path, (_fd, st, inside, parentFd, name): HostEntry => {
      const s = statOf(st);
      const type = s.mode & S_IFMT;
      if (type === S_IFLNK) {
        // Inside, or a link on the way (an allowed directory given through a symlink).
        if (!inside && !this.onTheWay(path)) return { kind: 'error', errno: EACCES };
        try {
          const target = fs.readlinkSync(at(parentFd, name));
          return { kind: 'link', target, ...s };
        } catch {
          // Replaced by something else since it was opened: the link the walk saw is gone.
          return { kind: 'error', errno: ENOENT };
        }
      }
      if (!inside) return { kind: 'error', errno: EACCES };
      if (type === S_IFDIR) return { kind: 'dir', ...s };
      if (type !== S_IFREG) return { kind: 'error', errno: EACCES };
      if (s.size > this.maxFileBytes) return { kind: 'error', errno: EFBIG };
      return { kind: 'file', ...s };
    });
    return typeof r === 'number' ? { kind: 'error', errno: r } : r;
  }

  list(path: string): string[] | number {
    return this.withEntry(path, (fd, st, inside) => {
      if (!inside) return EACCES;
      if (!st.isDirectory()) return ENOTDIR;
      try {
        // The O_PATH descriptor names the directory itself: listing through it cannot be raced.
        return fs.readdirSync(`/proc/self/fd/${fd}`).sort(byteOrder);
      } catch (e) {
        return hostErrno(e);
      }
    });
  }

  read(path: string): { data: Uint8Array; id: string } | number {
    return this.withEntry(path, (pfd, pst, inside) => {
      if (!inside || !pst.isFile()) return pst.isDirectory() ? EISDIR : EACCES;
      let fd: number;
      try {
        // Reopening the O_PATH descriptor opens the very file that was checked.
        fd = fs.openSync(`/proc/self/fd/${pfd}`, O_RDONLY | O_NONBLOCK);
      } catch (e) {
        return hostErrno(e);
      }
      try {
        const st = fs.fstatSync(fd, { bigint: true });
        if (st.ino !== pst.ino || st.dev !== pst.dev || !st.isFile()) return EACCES;
        if (Number(st.size) > this.maxFileBytes) return EFBIG;
        const data = new Uint8Array(Number(st.size));
        let got = 0;
        while (got < data.length) {
          const n = fs.readSync(fd, data, got, data.length - got, got);
          if (n === 0) break;
          got += n;
        }
        return { data: got === data.length ? data : data.slice(0, got), id: statOf(st).id };
      } catch (e) {
        return hostErrno(e);
      } finally {
        fs.closeSync(fd);
      }
    });
  }
}
