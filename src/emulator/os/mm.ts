// Memory syscalls for the calling process's address space: brk, mmap2/old mmap (anonymous, and
// private read-only copies of files), munmap, mprotect, madvise. Guarantees: the break never grows
// into another mapping; non-fixed mmaps are placed top-down from MMAP_TOP deterministically; a file
// mapping copies the description's bytes (files are read whole), so MAP_SHARED writable is EACCES.

import type { Task } from '../machine.js';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, type Memory } from '../memory.js';
import type { Kernel } from '../syscalls.js';
import { HostFileDesc } from './files.js';
import { EACCES, EBADF, EFAULT, EINVAL, ENOMEM } from './errno.js';

/** Top of the mmap area (allocations go downwards from here, below the 8 MiB stack and a gap). */
export const MMAP_TOP = 0xb7f00000;
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
    if (!isFree(k.mem, oldTop >>> 0, (newTop - oldTop) >>> 0) || newTop >= MMAP_BOTTOM + 0x60000000)
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
    at = addr;
  } else {
    at = -1;
    if (addr && !(addr & (PAGE_SIZE - 1)) && addr + size <= MMAP_TOP && isFree(mem, addr, size)) at = addr;
    if (at < 0) at = mem.findFree(size, MMAP_TOP, MMAP_BOTTOM);
    if (at < 0) return -ENOMEM;
  }
  mem.map(at, size, prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
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
  const size = ((len >>> 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  k.mem.unmap(addr >>> 0, size >>> 0);
  return 0;
}

function mprotect(k: Kernel, addr: number, len: number, prot: number): number {
  if (addr & (PAGE_SIZE - 1)) return -EINVAL;
  if (len === 0) return 0;
  const size = ((len >>> 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  return k.mem.protect(addr >>> 0, size >>> 0, prot & 7) ? 0 : -ENOMEM;
}

export function registerMemory(k: Kernel): void {
  const T = k.table;
  T.define('brk', (t, a) => brk(k, t, a));
  T.define('mmap2', (t, a, b, c, d, e, f) => mmap2(k, t, a, b, c, d, e, f));
  T.define('mmap', (t, a) => oldMmap(k, t, a));
  T.define('munmap', (_t, a, b) => munmap(k, a, b));
  T.define('mprotect', (_t, a, b, c) => mprotect(k, a, b, c));
  T.define('madvise', () => 0);
}
