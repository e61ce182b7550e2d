// The i386 Linux stat layouts (struct stat, struct stat64, struct statx) and directory records
// (linux_dirent, linux_dirent64), encoded into little-endian byte arrays. Pure functions: the
// caller copies the bytes to guest memory.

import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from './vfs-errno.js';
import type { Node } from './vfs.js';

export interface StatInfo {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  atimeS: number;
  atimeN: number;
  mtimeS: number;
  mtimeN: number;
  ctimeS: number;
  ctimeN: number;
}

export function statOfNode(n: Node): StatInfo {
  return {
    dev: n.dev,
    ino: n.ino,
    mode: n.mode,
    nlink: n.nlink,
    uid: n.uid,
    gid: n.gid,
    rdev: n.rdev,
    size: n.isReg() || n.isLink() ? n.size : n.isDir() ? 4096 : 0,
    blksize: 4096,
    atimeS: n.atimeS,
    atimeN: n.atimeN,
    mtimeS: n.mtimeS,
    mtimeN: n.mtimeN,
    ctimeS: n.ctimeS,
    ctimeN: n.ctimeN,
  };
}

/** A stat for objects that are not file-system nodes (sockets, pipes): mode, ino, times. */
export function anonStat(mode: number, ino: number, [s, ns]: [number, number]): StatInfo {
  return {
    dev: 0x8,
    ino,
    mode,
    nlink: 1,
    uid: 1000,
    gid: 1000,
    rdev: 0,
    size: 0,
    blksize: 4096,
    atimeS: s,
    atimeN: ns,
    mtimeS: s,
    mtimeN: ns,
    ctimeS: s,
    ctimeN: ns,
  };
}

function blocks(s: StatInfo): number {
  return (s.mode & S_IFMT) === S_IFREG || (s.mode & S_IFMT) === S_IFDIR ? Math.ceil(s.size / 4096) * 8 : 0;
}

function put64(v: DataView, at: number, x: number): void {
  v.setUint32(at, (x % 4294967296) >>> 0, true);
  v.setUint32(at + 4, Math.floor(x / 4294967296) >>> 0, true);
}

/** Linux's new_encode_dev: what st_dev/st_rdev hold. */
function encodeDev(d: number): number {
  return d >>> 0;
}

/** struct stat64 (96 bytes, i386). */
export function encodeStat64(s: StatInfo): Uint8Array {
  const b = new Uint8Array(96);
  const v = new DataView(b.buffer);
  put64(v, 0, encodeDev(s.dev));
  v.setUint32(12, s.ino >>> 0, true);
  v.setUint32(16, s.mode, true);
  v.setUint32(20, s.nlink, true);
  v.setUint32(24, s.uid, true);
  v.setUint32(28, s.gid, true);
  put64(v, 32, encodeDev(s.rdev));
  put64(v, 44, s.size);
  v.setUint32(52, s.blksize, true);
  put64(v, 56, blocks(s));
  v.setUint32(64, s.atimeS >>> 0, true);
  v.setUint32(68, s.atimeN, true);
  v.setUint32(72, s.mtimeS >>> 0, true);
  v.setUint32(76, s.mtimeN, true);
  v.setUint32(80, s.ctimeS >>> 0, true);
  v.setUint32(84, s.ctimeN, true);
  put64(v, 88, s.ino);
  return b;
}

/** The old struct stat (64 bytes, i386): 16-bit dev/nlink fields, 32-bit size. */
export function encodeOldStat(s: StatInfo): Uint8Array | null {
  if (s.size > 0x7fffffff) return null; // EOVERFLOW
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  v.setUint32(0, encodeDev(s.dev), true);
  v.setUint32(4, s.ino >>> 0, true);
  v.setUint16(8, s.mode, true);
  v.setUint16(10, s.nlink, true);
  v.setUint16(12, s.uid, true);
  v.setUint16(14, s.gid, true);
  v.setUint32(16, encodeDev(s.rdev), true);
  v.setUint32(20, s.size, true);
  v.setUint32(24, s.blksize, true);
  v.setUint32(28, blocks(s), true);
  v.setUint32(32, s.atimeS >>> 0, true);
  v.setUint32(36, s.atimeN, true);
  v.setUint32(40, s.mtimeS >>> 0, true);
  v.setUint32(44, s.mtimeN, true);
  v.setUint32(48, s.ctimeS >>> 0, true);
  v.setUint32(52, s.ctimeN, true);
  return b;
}

/** struct statx (256 bytes); every basic field is filled (STATX_BASIC_STATS). */
export function encodeStatx(s: StatInfo): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x7ff, true); // STATX_BASIC_STATS
  v.setUint32(4, s.blksize, true);
  v.setUint32(16, s.nlink, true);
  v.setUint32(20, s.uid, true);
  v.setUint32(24, s.gid, true);
  v.setUint16(28, s.mode, true);
  put64(v, 32, s.ino);
  put64(v, 40, s.size);
  put64(v, 48, blocks(s));
  const ts = (at: number, sec: number, nsec: number) => {
    put64(v, at, sec);
    v.setUint32(at + 8, nsec, true);
  };
  ts(64, s.atimeS, s.atimeN);
  ts(96, s.ctimeS, s.ctimeN);
  ts(112, s.mtimeS, s.mtimeN);
  v.setUint32(128, (s.rdev >>> 8) & 0xfff, true);
  v.setUint32(132, (s.rdev & 0xff) | ((s.rdev >>> 12) & 0xfff00), true);
  v.setUint32(136, (s.dev >>> 8) & 0xfff, true);
  v.setUint32(140, (s.dev & 0xff) | ((s.dev >>> 12) & 0xfff00), true);
  return b;
}

/** d_type of a node (DT_UNKNOWN for host entries not read yet). */
export function direntType(n: Node): number {
  if (n.state === 'lazy' && !n.isDir()) return 0;
  switch (n.mode & S_IFMT) {
    case S_IFIFO:
      return 1;
    case S_IFCHR:
      return 2;
    case S_IFDIR:
      return 4;
    case S_IFREG:
      return 8;
    case S_IFLNK:
      return 10;
    case S_IFSOCK:
      return 12;
    default:
      return 0;
  }
}

export interface Dirent {
  ino: number;
  type: number;
  name: string;
}

/** The layout of one directory record format (getdents or getdents64). */
interface DirentLayout {
  /** Record length for a name of `n` bytes (aligned). */
  reclen(n: number): number;
  /** Fills record `r` for entry `e` whose successor is at index `next`. */
  fill(r: Uint8Array, v: DataView, e: Dirent, name: Buffer, next: number): void;
}

/** linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, name, NUL, 8-byte aligned. */
const DIRENT64: DirentLayout = {
  reclen: (n) => (19 + n + 1 + 7) & ~7,
  fill(r, v, e, name, next) {
    put64(v, 0, e.ino);
    put64(v, 8, next);
    v.setUint16(16, r.length, true);
    r[18] = e.type;
    r.set(name, 19);
  },
};

/** Old linux_dirent: u32 d_ino, u32 d_off, u16 d_reclen, name, NUL, d_type in the last byte. */
const DIRENT32: DirentLayout = {
  reclen: (n) => (10 + n + 2 + 3) & ~3,
  fill(r, v, e, name, next) {
    v.setUint32(0, e.ino >>> 0, true);
    v.setUint32(4, next, true);
    v.setUint16(8, r.length, true);
    r.set(name, 10);
    r[r.length - 1] = e.type;
  },
};

/**
 * Directory records (linux_dirent64 when `wide`, else linux_dirent) for entries[from..] that fit
 * in `max` bytes; d_off is the index of the next entry. Returns the bytes and how many entries.
 */
export function encodeDirents(
  entries: Dirent[],
  from: number,
  max: number,
  wide: boolean,
): { bytes: Uint8Array; count: number } {
  const layout = wide ? DIRENT64 : DIRENT32;
  const parts: Uint8Array[] = [];
  let total = 0;
  let i = from;
  for (; i < entries.length; i++) {
    const e = entries[i]!;
    const name = Buffer.from(e.name, 'utf8');
    const reclen = layout.reclen(name.length);
    if (total + reclen > max) break;
    const r = new Uint8Array(reclen);
    layout.fill(r, new DataView(r.buffer), e, name, i + 1);
    parts.push(r);
    total += reclen;
  }
  return { bytes: concat(parts, total), count: i - from };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
