// The checks Linux makes before any byte moves in read/write/readv/writev/pread64/pwrite64, and the
// 32-bit lseek's overflow rule, wrapped around whichever module implements those calls (files.ts,
// the overlay in vfs-syscalls.ts). Guarantees, as an i386 kernel with the 3 GiB user split (the
// emulator's TASK_SIZE, where its stack ends):
// - vfs_read/vfs_write order: a bad or wrong-mode descriptor is EBADF, then a buffer that does not
//   lie wholly below TASK_SIZE (access_ok) is EFAULT, so read(fd, buf, 0xffffffff) fails at once;
// - counts are clamped to MAX_RW_COUNT; a buffer that is only partly mapped moves the bytes up to the
//   first unmapped page (a short count, as Linux's copy that faults midway), EFAULT when none can;
// - readv/writev: more than UIO_MAXIOV vectors or a negative length is EINVAL, a vector outside user
//   space EFAULT, before anything is transferred;
// - lseek's result above 2^31 - 1 is EOVERFLOW (the offset still moves, as ksys_lseek does).

import { PROT_READ, PROT_WRITE } from '../memory.js';
import type { Kernel } from '../syscalls.js';
import { EBADF, EFAULT, EINVAL } from './errno.js';
import type { SyscallHandler } from './table.js';

/** The top of user space (TASK_SIZE with the default 3G/1G split). */
export const TASK_SIZE = 0xc0000000;
/** INT_MAX & PAGE_MASK: the most one read or write moves. */
export const MAX_RW_COUNT = 0x7ffff000;
const UIO_MAXIOV = 1024;
const EOVERFLOW = 75;

/** access_ok(): [addr, addr + len) lies below TASK_SIZE. */
export function accessOk(addr: number, len: number): boolean {
  return (addr >>> 0) + (len >>> 0) <= TASK_SIZE;
}

/** How many bytes from `addr` (at most `len`) are mapped with `prot`, page by page. */
function mappedPrefix(k: Kernel, addr: number, len: number, prot: number): number {
  const perm = k.mem.perm;
  const end = addr + len;
  let p = addr;
  while (p < end) {
    if ((perm[p >>> 12]! & prot) !== prot) break;
    p = (Math.floor(p / 4096) + 1) * 4096;
  }
  return Math.min(p, end) - addr;
}

/**
 * The count a transfer into (`write` = true: the guest buffer is written) or out of `buf` may use:
 * clamped to MAX_RW_COUNT and to the mapped prefix; -EFAULT when nothing can move.
 */
export function usableCount(k: Kernel, buf: number, count: number, intoGuest: boolean): number {
  buf = buf >>> 0;
  if (!accessOk(buf, count)) return -EFAULT;
  count = Math.min(count >>> 0, MAX_RW_COUNT);
  if (count === 0) return 0;
  const n = mappedPrefix(k, buf, count, intoGuest ? PROT_READ | PROT_WRITE : PROT_READ);
  return n === 0 ? -EFAULT : n;
}

/** read/write/pread64/pwrite64(fd, buf, count, ...): EBADF, then EFAULT, then the usable count. */
function transfer(k: Kernel, intoGuest: boolean) {
  return (inner: SyscallHandler): SyscallHandler =>
    (t, fd, buf, count, d, e, f) => {
      const desc = t.process.fds.get(fd);
      if (!desc || !(intoGuest ? desc.readable : desc.writable)) return -EBADF;
      const n = usableCount(k, buf, count, intoGuest);
      return n < 0 ? n : inner(t, fd, buf, n, d, e, f);
    };
}

/** readv/writev(fd, iov, cnt): the iovec array is checked whole before any transfer. */
function vectors(k: Kernel, intoGuest: boolean) {
  return (inner: SyscallHandler): SyscallHandler =>
    (t, fd, iov, cnt, d, e, f) => {
      const desc = t.process.fds.get(fd);
      if (!desc || !(intoGuest ? desc.readable : desc.writable)) return -EBADF;
      const bad = checkVectors(k, iov >>> 0, cnt >>> 0);
      return bad < 0 ? bad : inner(t, fd, iov, cnt, d, e, f);
    };
}

/** readv's checks of an iovec array: EINVAL past UIO_MAXIOV or for a negative length, EFAULT outside user space. */
export function checkVectors(k: Kernel, iov: number, cnt: number): number {
  if (cnt > UIO_MAXIOV) return -EINVAL;
  if (cnt === 0) return 0;
  if (!accessOk(iov, cnt * 8) || !k.userRange(iov, cnt * 8, false)) return -EFAULT;
  for (let i = 0; i < cnt; i++) {
    const base = k.mem.read32(iov + 8 * i) >>> 0;
    const len = k.mem.read32(iov + 8 * i + 4);
    if (len < 0) return -EINVAL;
    if (!accessOk(base, len)) return -EFAULT;
  }
  return 0;
}

export function registerIoChecks(k: Kernel): void {
  const T = k.table;
  T.wrap('read', transfer(k, true));
  T.wrap('pread64', transfer(k, true));
  T.wrap('write', transfer(k, false));
  T.wrap('pwrite64', transfer(k, false));
  T.wrap('readv', vectors(k, true));
  T.wrap('writev', vectors(k, false));
  T.wrap('lseek', (inner) => (t, a, b, c, d, e, f) => {
    const r = inner(t, a, b, c, d, e, f);
    return r > 0x7fffffff ? -EOVERFLOW : r;
  });
}
