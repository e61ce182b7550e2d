// File I/O beyond read/write: preadv/pwritev and preadv2/pwritev2 (vectors at an offset),
// copy_file_range (file to file inside the machine), fallocate (as tmpfs) and memfd_create (an
// anonymous file in the overlay, sized with ftruncate). Guarantees, as Linux 6.1 fs/read_write.c and mm/memfd.c answer:
// a negative offset is EINVAL, a descriptor that is not open EBADF, one without a position (pipe,
// socket) ESPIPE, vectors are checked as readv's; preadv2/pwritev2 with offset -1 use and move the
// file position, unknown RWF_ flags are EOPNOTSUPP; pwrite on an O_APPEND file writes at the end;
// copy_file_range takes regular files only (EISDIR/EINVAL), no flags, refuses overlapping ranges
// of one file and stops short at the end of the input. Bytes stay in the overlay (vfs.ts).

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EBADF, EFAULT, EINVAL, EISDIR, ESPIPE } from './errno.js';
import { O_APPEND, O_RDWR, S_IFREG } from './fd.js';
import { checkVectors, MAX_RW_COUNT } from './io-checks.js';
import { VfsFile } from './vfs-file.js';

const EOPNOTSUPP = 95;
/** RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND. */
const RWF_SUPPORTED = 0x1f;
const RWF_APPEND = 0x10;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const MFD_HUGETLB = 4;
/** NAME_MAX less the "memfd:" prefix. */
const MFD_NAME_MAX = 249;

/** 64-bit offset from two 32-bit halves (as i386 passes loff_t in registers). */
function off64(lo: number, hi: number): number {
  return (hi | 0) * 4294967296 + (lo >>> 0);
}

/**
 * preadv/pwritev at `pos` (-1: at the file position, which moves, as readv/writev; `append`: at
 * the end). Each vector moves what it can; a short transfer ends the call.
 */
function vectoredAt(
  k: Kernel,
  t: Task,
  fd: number,
  iov: number,
  cnt: number,
  pos: number,
  read: boolean,
  /** preadv2/pwritev2's RWF_ flags, or null for preadv/pwritev (where -1 is just negative). */
  flags: number | null,
): number {
  if (pos < (flags === null ? 0 : -1)) return -EINVAL;
  flags ??= 0;
  if (flags & ~RWF_SUPPORTED) return -EOPNOTSUPP;
  const f = t.process.fds.get(fd);
  if (!f) return -EBADF;
  if (pos === -1) {
    // The file position, and whatever the descriptor is: readv (145) / writev (146) exactly.
    const h = k.table.row(read ? 145 : 146)!.handler!;
    return h(t, fd, iov, cnt, 0, 0, 0);
  }
  if (!(f instanceof VfsFile) || f.kind === 'chr') return f.kind === 'dir' ? -EISDIR : -ESPIPE;
  const bad = checkVectors(k, iov >>> 0, cnt >>> 0);
  if (bad < 0) return bad;
  if (!(read ? f.readable : f.writable)) return -EBADF;
  if (!read && (f.flags & O_APPEND || flags & RWF_APPEND)) pos = f.node.size;
  let total = 0;
  for (let i = 0; i < cnt >>> 0; i++) {
    const base = k.mem.read32(iov + 8 * i) >>> 0;
    const len = Math.min(k.mem.read32(iov + 8 * i + 4) >>> 0, MAX_RW_COUNT - total);
    if (len === 0) continue;
    if (!k.userRange(base, len, read)) return total > 0 ? total : -EFAULT;
    let n: number;
    if (read) {
      const r = f.pread(len, pos + total);
      if (typeof r === 'number') return total > 0 ? total : r;
      k.mem.writeBytes(base, r);
      n = r.length;
    } else {
      n = f.pwrite(k.mem.readBytes(base, len), pos + total);
      if (n < 0) return total > 0 ? total : n;
    }
    total += n;
    if (n < len) break;
  }
  return total;
}

/** Reads a loff_t the guest points at (null pointer: null; bad pointer: -EFAULT). */
function readOff(k: Kernel, addr: number): number | null | { err: number } {
  if (!addr) return null;
  if (!k.userRange(addr, 8, false)) return { err: -EFAULT };
  return off64(k.mem.read32(addr), k.mem.read32(addr + 4));
}

function copyFileRange(
  k: Kernel,
  t: Task,
  fdIn: number,
  offInAddr: number,
  fdOut: number,
  offOutAddr: number,
  len: number,
  flags: number,
): number {
  const fds = t.process.fds;
  const inp = fds.get(fdIn);
  const out = fds.get(fdOut);
  if (!inp || !out) return -EBADF;
  const offIn = readOff(k, offInAddr);
  const offOut = readOff(k, offOutAddr);
  if (offIn !== null && typeof offIn === 'object') return offIn.err;
  if (offOut !== null && typeof offOut === 'object') return offOut.err;
  if (flags !== 0) return -EINVAL;
  if (!(inp instanceof VfsFile) || !(out instanceof VfsFile)) return -EINVAL;
  if (inp.node.isDir() || out.node.isDir()) return -EISDIR;
  if (!inp.node.isReg() || !out.node.isReg()) return -EINVAL;
  if (!inp.readable || !out.writable || out.flags & O_APPEND) return -EBADF;
  const posIn = offIn ?? inp.pos;
  const posOut = offOut ?? out.pos;
  if (posIn < 0 || posOut < 0) return -EINVAL;
  const count = Math.min(len >>> 0, MAX_RW_COUNT);
  if (inp.node === out.node && posIn + count > posOut && posOut + count > posIn) return -EINVAL;
  if (count === 0) return 0;
  const data = inp.pread(count, posIn);
  if (typeof data === 'number') return data;
  const n = data.length === 0 ? 0 : out.pwrite(data.slice(), posOut);
  if (n < 0) return n;
  if (offIn === null) inp.pos += n;
  else k.put64(offInAddr, posIn + n);
  if (offOut === null) out.pos += n;
  else k.put64(offOutAddr, posOut + n);
  return n;
}

/**
 * memfd_create(name, flags): an unlinked regular file in the overlay (mode 0777, size 0), read and
 * written as any file and sized with ftruncate; /proc/self/fd shows "/memfd:NAME (deleted)".
 * MFD_HUGETLB is EINVAL (no huge pages here); sealing (F_ADD_SEALS) is not modelled.
 */
function memfdCreate(k: Kernel, t: Task, nameAddr: number, flags: number): number {
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING) || flags & MFD_HUGETLB) return -EINVAL;
  if (!nameAddr) return -EFAULT;
  const name = k.cstring(nameAddr, MFD_NAME_MAX + 1);
  if (name === null) return -EFAULT;
  if (Buffer.byteLength(name) > MFD_NAME_MAX) return -EINVAL;
  const vfs = k.fs.vfs;
  const node = vfs.newNode(S_IFREG | 0o777, null, name);
  vfs.stampAll(node);
  node.nlink = 0;
  const f = new VfsFile(vfs, node, O_RDWR, `/memfd:${name} (deleted)`);
  const fd = t.process.fds.install(f, (flags & MFD_CLOEXEC) !== 0);
  if (fd < 0) f.release();
  return fd;
}

const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;
const ENODEV = 19;
const EFBIG = 27;

/**
 * fallocate(2) as tmpfs answers (vfs_fallocate's checks, then shmem_fallocate): mode 0 grows the
 * file to offset + len (zeros), FALLOC_FL_KEEP_SIZE reserves and changes nothing visible,
 * PUNCH_HOLE (with KEEP_SIZE) zeroes the range inside the file; any other mode is EOPNOTSUPP.
 */
function fallocate(k: Kernel, t: Task, fd: number, mode: number, off: number, len: number): number {
  const f = t.process.fds.get(fd);
  if (!f) return -EBADF;
  if (off < 0 || len <= 0) return -EINVAL;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  if (!f.writable) return -EBADF;
  if (f.kind === 'pipe') return -ESPIPE;
  if (f.kind === 'dir') return -EISDIR;
  if (!(f instanceof VfsFile) || !f.node.isReg()) return -ENODEV;
  if (off + len > MAX_FILE) return -EFBIG;
  const node = f.node;
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    const end = Math.min(node.size, off + len);
    return end > off ? Math.min(0, k.fs.vfs.writeAt(node, off, new Uint8Array(end - off))) : 0;
  }
  if (mode & FALLOC_FL_KEEP_SIZE || off + len <= node.size) return 0;
  return k.fs.vfs.truncate(node, off + len);
}

/** The largest file the overlay holds (vfs.ts writeAt's bound). */
const MAX_FILE = 0x7fffffff * 2;

export function registerFileIo(k: Kernel): void {
  k.table.define('fallocate', (t, fd, mode, offLo, offHi, lenLo, lenHi) =>
    fallocate(k, t, fd, mode, off64(offLo, offHi), off64(lenLo, lenHi)),
  );
  const T = k.table;
  T.define('preadv', (t, fd, iov, cnt, lo, hi) => vectoredAt(k, t, fd, iov, cnt, off64(lo, hi), true, null));
  T.define('pwritev', (t, fd, iov, cnt, lo, hi) =>
    vectoredAt(k, t, fd, iov, cnt, off64(lo, hi), false, null),
  );
  T.define('preadv2', (t, fd, iov, cnt, lo, hi, fl) =>
    vectoredAt(k, t, fd, iov, cnt, off64(lo, hi), true, fl),
  );
  T.define('pwritev2', (t, fd, iov, cnt, lo, hi, fl) =>
    vectoredAt(k, t, fd, iov, cnt, off64(lo, hi), false, fl),
  );
  T.define('copy_file_range', (t, a, b, c, d, e, f) => copyFileRange(k, t, a, b, c, d, e, f));
  T.define('memfd_create', (t, name, flags) => memfdCreate(k, t, name, flags));
}
