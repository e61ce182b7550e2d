// Read-only window from the guest onto host files inside allowed directories.
// Guarantees: open() never writes, creates or changes anything on the host; it touches the host
// file system only for paths that lie (lexically) inside an allowed directory, and returns data
// only for files and directories whose real path (all symlinks resolved) is inside an allowed
// directory's real path. Everything else is {kind:'error', errno: EACCES}, also when a symlink
// or '..' inside an allowed directory points outside it, so the guest cannot even learn whether
// an outside file exists. Only regular files and directories are served (no FIFOs, sockets or
// devices, which could block or never end). Errors are Linux errno numbers, never exceptions.
// Guest paths are host paths (the guest's cwd is the host cwd); there is no chroot.

import fs from 'node:fs';
import type { FileSource, HostFileResult } from './types.js';

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

export interface HostFilesOptions {
  /** Files larger than this are refused with EFBIG (default 256 MiB): they are read whole. */
  maxFileBytes?: number;
}

export class HostFiles implements FileSource {
  /** Allowed directories as given (absolute, lexically normalised). */
  readonly lexicalDirs: readonly string[];
  /** Their real paths (symlinks resolved); directories that do not exist are dropped. */
  readonly realDirs: readonly string[];
  private readonly maxFileBytes: number;

  constructor(
    allowDirs: string[],
    readonly cwd: string,
    options: HostFilesOptions = {},
  ) {
    const lexical: string[] = [];
    const real: string[] = [];
    for (const d of allowDirs) {
      const abs = normaliseGuestPath(cwd, d);
      if (abs === '') continue;
      try {
        const r = fs.realpathSync(abs);
        if (!fs.statSync(r).isDirectory()) continue;
        lexical.push(abs);
        real.push(r);
      } catch {
        // A missing allowed directory grants nothing.
      }
    }
    this.lexicalDirs = lexical;
    this.realDirs = real;
    this.maxFileBytes = options.maxFileBytes ?? 256 * 1024 * 1024;
  }

  /** True when the real (symlink-free) host path is inside an allowed directory. */
  private allowedReal(real: string): boolean {
    return this.realDirs.some((d) => within(real, d));
  }

  /** True when the guest path names something inside an allowed directory, by spelling alone. */
  private allowedLexical(p: string): boolean {
    return this.lexicalDirs.some((d) => within(p, d)) || this.realDirs.some((d) => within(p, d));
  }

  /**
   * Is the (symlink-free prefix + one component) path `cur` inside an allowed directory, or on
   * the way to one: an ancestor of an allowed dir's real path or of its spelling as given (which
   * may pass through symlinks, followed next)?
   */
  private onTheWay(cur: string): boolean {
    return (
      this.realDirs.some((d) => within(cur, d) || within(d, cur)) ||
      this.lexicalDirs.some((d) => within(d, cur))
    );
  }

  /**
   * Resolves symlinks one component at a time like the kernel's path walk (at most 40 links,
   * MAXSYMLINKS), refusing with EACCES as soon as the walk leaves the allowed directories and
   * the paths leading to them. Checking during the walk, not after, means a dangling or escaping
   * symlink cannot be used to learn whether something exists outside.
   */
  private resolve(p: string): { real: string } | { errno: number } {
    const queue = p.split('/').filter((c) => c !== '');
    const done: string[] = [];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '.') continue;
      if (c === '..') {
        done.pop();
        continue;
      }
      const cur = '/' + [...done, c].join('/');
      if (!this.onTheWay(cur)) return { errno: EACCES };
      let st: fs.Stats;
      try {
        st = fs.lstatSync(cur);
      } catch (e) {
        return { errno: hostErrno(e) };
      }
      if (st.isSymbolicLink()) {
        if (++links > 40) return { errno: ELOOP };
        let target: string;
        try {
          target = fs.readlinkSync(cur);
        } catch (e) {
          return { errno: hostErrno(e) };
        }
        if (target.startsWith('/')) done.length = 0;
        queue.unshift(...target.split('/').filter((t) => t !== ''));
        continue;
      }
      // A non-directory followed by more components: the kernel says ENOTDIR.
      if (!st.isDirectory() && queue.some((q) => q !== '')) return { errno: ENOTDIR };
      done.push(c);
    }
    const real = '/' + done.join('/');
    return this.allowedReal(real) ? { real } : { errno: EACCES };
  }

  open(guestPath: string): HostFileResult {
    const p = normaliseGuestPath(this.cwd, guestPath);
    if (p === '') return { kind: 'error', errno: ENOENT };
    if (Buffer.byteLength(p) >= PATH_MAX) return { kind: 'error', errno: ENAMETOOLONG };
    if (!this.allowedLexical(p)) return { kind: 'error', errno: EACCES };

    const res = this.resolve(p);
    if ('errno' in res) return { kind: 'error', errno: res.errno };
    const real = res.real;

    try {
      const st = fs.statSync(real);
      if (st.isDirectory()) {
        const entries = fs.readdirSync(real).sort(byteOrder);
        return { kind: 'dir', entries, mode: st.mode, mtimeSec: Math.floor(st.mtimeMs / 1000), ino: st.ino };
      }
      if (!st.isFile()) return { kind: 'error', errno: EACCES };
      // O_NOFOLLOW + fstat: what we read is the regular file we checked, even if the last path
      // component was swapped for a symlink meanwhile. O_NONBLOCK keeps a swapped-in FIFO from
      // blocking the emulator.
      const fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        const fst = fs.fstatSync(fd);
        if (!fst.isFile()) return { kind: 'error', errno: EACCES };
        if (fst.size > this.maxFileBytes) return { kind: 'error', errno: EFBIG };
        const data = new Uint8Array(fst.size);
        let got = 0;
        while (got < data.length) {
          const n = fs.readSync(fd, data, got, data.length - got, got);
          if (n === 0) break;
          got += n;
        }
        return {
          kind: 'file',
          data: got === data.length ? data : data.slice(0, got),
          mode: fst.mode,
          mtimeSec: Math.floor(fst.mtimeMs / 1000),
          ino: fst.ino,
        };
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      return { kind: 'error', errno: hostErrno(e) };
    }
  }
}
