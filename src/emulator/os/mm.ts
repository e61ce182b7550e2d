// Memory syscalls for the calling process's address space: brk, mmap2/old mmap (anonymous, and
// private read-only copies of files), mremap, munmap, mprotect, madvise, msync, mincore. Guarantees: no range may run
// past 2^32 (MAP_FIXED: ENOMEM, munmap: EINVAL, mprotect: ENOMEM, as Linux); the break never
// grows into another mapping; non-fixed mmaps are placed top-down from MMAP_TOP deterministically; a
// file mapping copies the description's bytes (files are read whole), so MAP_SHARED writable is
// EACCES; a request that would take the process's mapped total past its memory limit (--mem, or the
// guest's own RLIMIT_AS when lower) fails as Linux fails it: ENOMEM from mmap and mremap, the
// unchanged break from brk.

import type { Task } from '../machine.js';
import {
  PAGE_MAPPED,
  PAGE_SHARED,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type Memory,
} from '../memory.js';
import type { Kernel } from '../syscalls.js';
import { HostFileDesc } from './files.js';
import { EACCES, EBADF, EFAULT, EINVAL, ENOMEM } from './errno.js';
import { TASK_SIZE } from './io-checks.js';
import { limitsOf, RLIMIT_AS } from './rlimit.js';

/** Pages the process may have mapped by its own RLIMIT_AS (the machine's --mem applies too). */
function asPages(t: Task): number {
  return Math.floor(limitsOf(t.process).cur[RLIMIT_AS]! / PAGE_SIZE);
}

/** Top of the mmap area (allocations go downwards from here, below the 8 MiB stack and a gap). */
export const MMAP_TOP = 0xb7f00000;
/** The end of the 32-bit address space: no range may run past it (page numbers would wrap). */
const TOP = 0x1_0000_0000;
export const MMAP_BOTTOM = 0x10000000;

function isFree(mem: Memory, addr: number, len: number): boolean {
  for (let p = addr >>> 12; p <= (addr + len - 1) >>> 12; p++) if (mem.perm[p]! & 16) return false;
  return true;
}

function brk(k: Kernel, t: Task, addr: number): number {
  const p = t.process;
  addr = addr >>> 0;
  if (addr === 0 || addr < p.brkStart) return p.brkCur;
  const oldTop = (p.brkCur + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  const newTop = (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  if (newTop > oldTop) {
    if (
      !isFree(k.mem, oldTop >>> 0, (newTop - oldTop) >>> 0) ||
      newTop >= MMAP_BOTTOM + 0x60000000 ||
      !k.mem.canGrow((newTop - oldTop) >>> 12, asPages(t))
    )
      return p.brkCur;
    k.mem.map(oldTop >>> 0, (newTop - oldTop) >>> 0, PROT_READ | PROT_WRITE);
  } else if (newTop < oldTop) k.mem.unmap(newTop >>> 0, (oldTop - newTop) >>> 0);
  p.brkCur = addr;
  return addr;
}

function mmap2(
  k: Kernel,
  t: Task,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  pgoff: number,
): number {
  len = len >>> 0;
  addr = addr >>> 0;
  if (len === 0) return -EINVAL;
  const size = ((len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) >>> 0;
  if (size === 0 || size > 0xc0000000) return -ENOMEM;
  const anon = (flags & 0x20) !== 0;
  const fixed = (flags & 0x10) !== 0;
  let data: Uint8Array | null = null;
  if (!anon) {
    const f = t.process.fds.get(fd);
    // Host files and overlay files (os/vfs-file.ts mapData) map as a private copy of their bytes.
    const bytes =
      f instanceof HostFileDesc
        ? f.data
        : (f as { mapData?: () => Uint8Array | null } | undefined)?.mapData?.();
    if (!bytes) return -EBADF;
    if (flags & 1 && prot & PROT_WRITE) return -EACCES; // MAP_SHARED writable: the file is read-only
    data = bytes;
  }
  const mem = k.mem;
  let at: number;
  if (fixed) {
    if (addr & (PAGE_SIZE - 1)) return -EINVAL;
    // A range past the top of the address space (it would wrap to page 0) cannot be mapped.
    if (addr + size > TOP) return -ENOMEM;
    at = addr;
  } else {
    at = -1;
    if (addr && !(addr & (PAGE_SIZE - 1)) && addr + size <= MMAP_TOP && isFree(mem, addr, size)) at = addr;
    if (at < 0) at = mem.findFree(size, MMAP_TOP, MMAP_BOTTOM);
    if (at < 0) return -ENOMEM;
  }
  if (!mem.canMap(at, size, asPages(t))) return -ENOMEM;
  // MAP_SHARED anonymous memory stays shared with fork children.
  mem.map(at, size, prot & (PROT_READ | PROT_WRITE | PROT_EXEC), anon && (flags & 3) === 1);
  if (data) {
    const off = (pgoff >>> 0) * PAGE_SIZE;
    const n = Math.max(0, Math.min(len, data.length - off));
    if (n > 0) mem.poke(at, data.subarray(off, off + n));
  }
  return at | 0;
}

function oldMmap(k: Kernel, t: Task, args: number): number {
  if (!k.userRange(args, 24, false)) return -EFAULT;
  const v = [0, 1, 2, 3, 4, 5].map((i) => k.mem.read32(args + 4 * i));
  if (v[5]! & (PAGE_SIZE - 1)) return -EINVAL;
  return mmap2(k, t, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, (v[5]! >>> 0) / PAGE_SIZE);
}

function munmap(k: Kernel, addr: number, len: number): number {
  if (addr & (PAGE_SIZE - 1) || len === 0) return -EINVAL;
  const size = (((len >>> 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) >>> 0;
  if ((addr >>> 0) + size > TOP) return -EINVAL;
  k.mem.unmap(addr >>> 0, size);
  return 0;
}

const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;

/**
 * mremap(2) of private mappings: shrink in place, grow in place when the pages after are free, else
 * move (MREMAP_MAYMOVE, or to `newAddr` with MREMAP_FIXED). Moving hands the frames over, nothing is
 * copied. The old range must be mapped with one protection (Linux: one VMA), else EFAULT.
 */
function mremap(
  k: Kernel,
  t: Task,
  oldAddr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
): number {
  oldAddr = oldAddr >>> 0;
  newAddr = newAddr >>> 0;
  if (oldAddr & (PAGE_SIZE - 1) || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) return -EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  const pageUp = (n: number) => Math.ceil((n >>> 0) / PAGE_SIZE) * PAGE_SIZE;
  const oldSize = pageUp(oldLen);
  const newSize = pageUp(newLen);
  // old_len 0 duplicates a shared mapping; private ones are refused, as Linux refuses them.
  if (newSize === 0 || oldSize === 0 || oldAddr + oldSize > 0x1_0000_0000) return -EINVAL;
  const mem = k.mem;
  const prot = mem.protOf(oldAddr);
  const shared = (mem.perm[oldAddr >>> 12]! & PAGE_SHARED) !== 0;
  for (let a = oldAddr; a < oldAddr + oldSize; a += PAGE_SIZE)
    if (!mem.isMapped(a) || mem.protOf(a) !== prot) return -EFAULT;
  if (flags & MREMAP_FIXED) {
    if (newAddr & (PAGE_SIZE - 1) || newAddr + newSize > 0x1_0000_0000) return -EINVAL;
    if (newAddr < oldAddr + oldSize && oldAddr < newAddr + newSize) return -EINVAL;
    const keep = Math.min(oldSize, newSize);
    // The pages the move unmaps at the destination no longer count against the limit.
    if (!mem.canGrow((newSize - oldSize) / PAGE_SIZE - countMapped(mem, newAddr, newSize), asPages(t)))
      return -ENOMEM;
    mem.unmap(newAddr, newSize);
    mem.move(oldAddr, newAddr, keep / PAGE_SIZE);
    if (oldSize > keep) mem.unmap(oldAddr + keep, oldSize - keep);
    if (newSize > keep) mem.map(newAddr + keep, newSize - keep, prot, shared);
    return newAddr | 0;
  }
  if (newSize <= oldSize) {
    if (newSize < oldSize) mem.unmap(oldAddr + newSize, oldSize - newSize);
    return oldAddr | 0;
  }
  const grow = newSize - oldSize;
  if (!mem.canGrow(grow / PAGE_SIZE, asPages(t))) return -ENOMEM;
  if (oldAddr + newSize <= MMAP_TOP && isFree(mem, oldAddr + oldSize, grow)) {
    mem.map(oldAddr + oldSize, grow, prot, shared);
    return oldAddr | 0;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const at = mem.findFree(newSize, MMAP_TOP, MMAP_BOTTOM);
  if (at < 0) return -ENOMEM;
  mem.move(oldAddr, at, oldSize / PAGE_SIZE);
  mem.map(at + oldSize, grow, prot, shared);
  return at | 0;
}

function countMapped(mem: Memory, addr: number, len: number): number {
  let n = 0;
  for (let a = addr; a < addr + len; a += PAGE_SIZE) if (mem.isMapped(a)) n++;
  return n;
}

function mprotect(k: Kernel, addr: number, len: number, prot: number): number {
  if (addr & (PAGE_SIZE - 1)) return -EINVAL;
  if (len === 0) return 0;
  const size = (((len >>> 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) >>> 0;
  if (size === 0 || (addr >>> 0) + size > TOP) return -ENOMEM;
  return k.mem.protect(addr >>> 0, size, prot & 7) ? 0 : -ENOMEM;
}

const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;

/** msync: every page of the range must be mapped (ENOMEM); there is nothing to write back. */
function msync(k: Kernel, addr: number, len: number, flags: number): number {
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) || addr & (PAGE_SIZE - 1)) return -EINVAL;
  if (flags & MS_ASYNC && flags & MS_SYNC) return -EINVAL;
  const size = Math.ceil((len >>> 0) / PAGE_SIZE) * PAGE_SIZE;
  if ((addr >>> 0) + size > TOP) return -ENOMEM;
  return size === 0 || k.mem.rangeMapped(addr >>> 0, size) ? 0 : -ENOMEM;
}

/**
 * mincore: one byte per page, 1 where the page is resident (it has a frame of its own: written,
 * or copied from a file), 0 for a mapped page never written (Linux: not faulted in); the bytes up
 * to the first unmapped page are written, then ENOMEM.
 */
function mincore(k: Kernel, addr: number, len: number, vec: number): number {
  addr = addr >>> 0;
  if (addr & (PAGE_SIZE - 1)) return -EINVAL;
  const pages = Math.ceil((len >>> 0) / PAGE_SIZE);
  if (addr + pages * PAGE_SIZE > TASK_SIZE) return -ENOMEM;
  if (!k.userRange(vec, pages, true)) return -EFAULT;
  const mem = k.mem;
  const out = new Uint8Array(pages);
  let n = 0;
  for (; n < pages; n++) {
    const p = (addr >>> 12) + n;
    if (!(mem.perm[p]! & PAGE_MAPPED)) break;
    out[n] = mem.frame[p] !== 0 ? 1 : 0;
  }
  mem.writeBytes(vec, out.subarray(0, n));
  return n < pages ? -ENOMEM : 0;
}

export function registerMemory(k: Kernel): void {
  const T = k.table;
  T.define('brk', (t, a) => brk(k, t, a));
  T.define('mmap2', (t, a, b, c, d, e, f) => mmap2(k, t, a, b, c, d, e, f));
  T.define('mmap', (t, a) => oldMmap(k, t, a));
  T.define('munmap', (_t, a, b) => munmap(k, a, b));
  T.define('mremap', (t, a, b, c, d, e) => mremap(k, t, a, b, c, d, e));
  T.define('mprotect', (_t, a, b, c) => mprotect(k, a, b, c));
  T.define('madvise', () => 0);
  T.define('msync', (_t, a, b, c) => msync(k, a, b, c));
  T.define('mincore', (_t, a, b, c) => mincore(k, a, b, c));
}
