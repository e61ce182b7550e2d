// sendfile(2) and sendfile64(2): bytes from a file to any writable descriptor (a pipe, a socket,
// another file) without passing through the guest. Guarantees, as Linux fs/read_write.c
// do_sendfile: EBADF for a descriptor not open for reading/writing, EINVAL when the input is not a
// regular file, device or socket (a pipe cannot be read this way; a socket takes no offset) or the output
// is O_APPEND; with an offset pointer the input's position is left alone and *offset advances,
// without one the input's position advances; the count is clamped to MAX_RW_COUNT; a blocking
// output that fills (a pipe) is waited on until every byte the input had is sent, as Linux does.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EBADF, EFAULT, EINVAL, ESPIPE } from './errno.js';
import { O_APPEND, O_NONBLOCK } from './fd.js';
import { MAX_RW_COUNT } from './io-checks.js';
import { VfsFile } from './vfs-file.js';

/** One sendfile; `done` counts bytes earlier rounds sent (a blocking output that filled up). */
function sendfile(
  k: Kernel,
  t: Task,
  outFd: number,
  inFd: number,
  offAddr: number,
  count: number,
  off64: boolean,
  done = 0,
): number {
  const fds = t.process.fds;
  const inp = fds.get(inFd);
  const out = fds.get(outFd);
  if (!inp || !inp.readable || !out || !out.writable) return -EBADF;
  if (out.flags & O_APPEND) return -EINVAL;
  // A socket has splice_read: it is read like read(2) (no offset: ESPIPE); pipes and the rest have not.
  if (inp.kind === 'socket') return offAddr ? -ESPIPE : fromStream(k, t, outFd, inFd, count);
  if (!(inp instanceof VfsFile) || inp.node.isDir()) return -EINVAL;
  let pos: number;
  if (offAddr) {
    if (!k.userRange(offAddr, off64 ? 8 : 4, true)) return -EFAULT;
    pos = off64
      ? (k.mem.read32(offAddr + 4) | 0) * 4294967296 + (k.mem.read32(offAddr) >>> 0)
      : k.mem.read32(offAddr);
    if (pos < 0) return -EINVAL;
  } else pos = inp.pos;
  const want = Math.min(count >>> 0, MAX_RW_COUNT) - done;
  let sent = 0;
  if (want > 0) {
    const data = inp.pread(want, pos);
    if (typeof data === 'number') return done > 0 ? done : data;
    if (data.length > 0) {
      const w = out.write({ task: t }, data);
      if (w < 0 && w !== -EAGAIN) return done > 0 ? done : w;
      sent = Math.max(0, w);
      // The output took less than the input had: wait for room and send the rest (blocking only).
      if (sent < data.length && !(out.flags & O_NONBLOCK) && out.waiters) {
        advance(k, inp, offAddr, off64, pos + sent);
        const total = done + sent;
        return k.waitOn(t, out, 'sendfile', () => sendfile(k, t, outFd, inFd, offAddr, count, off64, total));
      }
      if (w === -EAGAIN && done === 0) return -EAGAIN;
    }
  }
  advance(k, inp, offAddr, off64, pos + sent);
  return done + sent;
}

/** sendfile from a socket: what one read gives (waiting for data when blocking), written out whole. */
function fromStream(k: Kernel, t: Task, outFd: number, inFd: number, count: number): number {
  const inp = t.process.fds.get(inFd);
  if (!inp) return -EBADF;
  const data = inp.read({ task: t }, Math.min(count >>> 0, MAX_RW_COUNT));
  if (data === -EAGAIN) return k.waitOn(t, inp, 'sendfile', () => fromStream(k, t, outFd, inFd, count));
  if (typeof data === 'number') return data;
  return data.length === 0 ? 0 : writeAll(k, t, outFd, data, 0);
}

/** Writes `data` from `done` on, waiting for room on a blocking output (a pipe) as write(2) does. */
function writeAll(k: Kernel, t: Task, outFd: number, data: Uint8Array, done: number): number {
  const out = t.process.fds.get(outFd);
  if (!out) return done > 0 ? done : -EBADF;
  const w = out.write({ task: t }, data.subarray(done));
  if (w < 0 && w !== -EAGAIN) return done > 0 ? done : w;
  const sent = done + Math.max(0, w);
  if (sent < data.length && !(out.flags & O_NONBLOCK) && out.waiters)
    return k.waitOn(t, out, 'sendfile', () => writeAll(k, t, outFd, data, sent));
  return sent > 0 ? sent : -EAGAIN;
}

/** The input's new position: *offset, or the description's own. */
function advance(k: Kernel, inp: VfsFile, offAddr: number, off64: boolean, pos: number): void {
  if (!offAddr) {
    inp.pos = pos;
    return;
  }
  k.mem.write32(offAddr, pos % 4294967296);
  if (off64) k.mem.write32(offAddr + 4, Math.floor(pos / 4294967296));
}

export function registerSendfile(k: Kernel): void {
  k.table.define('sendfile', (t, a, b, c, d) => sendfile(k, t, a, b, c, d, false));
  k.table.define('sendfile64', (t, a, b, c, d) => sendfile(k, t, a, b, c, d, true));
}
