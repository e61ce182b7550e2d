// splice(2) and tee(2): bytes between a pipe and another descriptor (or a second pipe) without
// passing through the guest. Guarantees, as Linux 6.1 fs/splice.c answers: a length of 0 returns 0
// first; unknown SPLICE_F_ flags are EINVAL; a descriptor not open (or of the wrong mode) EBADF; an
// offset given for a pipe ESPIPE; neither side a pipe (splice) or not both pipes, or one pipe twice
// (tee) EINVAL; a pipe read with nothing in it waits while it has writers and returns 0 when it
// has none (SPLICE_F_NONBLOCK or O_NONBLOCK: EAGAIN); a pipe written with no reader gives SIGPIPE
// and EPIPE; a full pipe waits for room. tee copies without consuming. An O_APPEND output of a
// pipe-to-file splice is EINVAL. Offsets given for files are read and written back as loff_t.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EBADF, EFAULT, EINVAL, EPIPE, ESPIPE } from './errno.js';
import { O_APPEND, O_NONBLOCK, type FileDescription } from './fd.js';
import { MAX_RW_COUNT } from './io-checks.js';
import { PipeEnd, type Pipe } from './pipe.js';
import { VfsFile } from './vfs-file.js';

const SPLICE_F_NONBLOCK = 2;
const SPLICE_F_ALL = 0xf;

function pipeOf(f: FileDescription): Pipe | null {
  return f instanceof PipeEnd ? f.pipe : null;
}

/** Waits on `p`'s queue and retries `again`, unless non-blocking (EAGAIN). */
function waitPipe(k: Kernel, t: Task, p: Pipe, nonblock: boolean, what: string, again: () => number): number {
  if (nonblock) return -EAGAIN;
  return k.m.blockRetry(t, `${what} on pipe`, [p.queue], again);
}

/** The input pipe has something, or never will (no writer: the call returns 0); ipipe_prep. */
function inputReady(p: Pipe): boolean {
  return p.len > 0 || p.writers === 0;
}

/** Room in the output pipe, or EPIPE (with SIGPIPE) when it has no reader: opipe_prep. */
function outputRoom(t: Task, p: Pipe): number {
  if (p.readers === 0) {
    p.onBroken(t);
    return -EPIPE;
  }
  return p.space;
}

function splice(
  k: Kernel,
  t: Task,
  fdIn: number,
  offInAddr: number,
  fdOut: number,
  offOutAddr: number,
  len: number,
  flags: number,
): number {
  len = Math.min(len >>> 0, MAX_RW_COUNT);
  if (len === 0) return 0;
  if (flags & ~SPLICE_F_ALL) return -EINVAL;
  const fds = t.process.fds;
  const inp = fds.get(fdIn);
  const out = fds.get(fdOut);
  if (!inp || !out) return -EBADF;
  const ip = pipeOf(inp);
  const op = pipeOf(out);
  if ((ip && offInAddr) || (op && offOutAddr)) return -ESPIPE;
  if (!inp.readable || !out.writable) return -EBADF;
  let nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  const again = () => splice(k, t, fdIn, offInAddr, fdOut, offOutAddr, len, flags);
  if (ip && op) {
    if (ip === op) return -EINVAL;
    nonblock ||= ((inp.flags | out.flags) & O_NONBLOCK) !== 0;
    if (!inputReady(ip)) return waitPipe(k, t, ip, nonblock, 'splice', again);
    if (ip.len === 0) return 0;
    const room = outputRoom(t, op);
    if (room < 0) return room;
    if (room === 0) return waitPipe(k, t, op, nonblock, 'splice', again);
    const moved = ip.take(Math.min(len, room));
    op.put(moved);
    ip.queue.wakeAll();
    op.queue.wakeAll();
    return moved.length;
  }
  if (op) return fileToPipe(k, t, inp, offInAddr, out, op, len, nonblock, again);
  if (ip) return pipeToFile(k, t, inp, ip, out, offOutAddr, len, nonblock, again);
  return -EINVAL;
}

/** The position a splice reads or writes a file at: *off (EFAULT, ESPIPE without pread) or the file's. */
function position(k: Kernel, f: FileDescription, offAddr: number): number {
  if (!offAddr) return f instanceof VfsFile ? f.pos : 0;
  if (!(f instanceof VfsFile) || f.kind === 'chr') return -ESPIPE;
  if (!k.userRange(offAddr, 8, false)) return -EFAULT;
  const off = (k.mem.read32(offAddr + 4) | 0) * 4294967296 + (k.mem.read32(offAddr) >>> 0);
  return off < 0 ? -EINVAL : off;
}

/** After moving `n` bytes from `pos`: *off or the file position advances. */
function advance(k: Kernel, f: FileDescription, offAddr: number, pos: number, n: number): void {
  if (offAddr) k.put64(offAddr, pos + n);
  else if (f instanceof VfsFile) f.pos = pos + n;
}

function fileToPipe(
  k: Kernel,
  t: Task,
  inp: FileDescription,
  offAddr: number,
  out: FileDescription,
  op: Pipe,
  len: number,
  nonblock: boolean,
  again: () => number,
): number {
  const pos = position(k, inp, offAddr);
  if (pos < 0) return pos;
  nonblock ||= (out.flags & O_NONBLOCK) !== 0;
  const room = outputRoom(t, op);
  if (room < 0) return room;
  if (room === 0) return waitPipe(k, t, op, nonblock, 'splice', again);
  const want = Math.min(len, room);
  const data = inp instanceof VfsFile ? inp.pread(want, pos) : inp.read({ task: t }, want);
  if (data === -EAGAIN && inp.waiters) return nonblock ? -EAGAIN : k.waitOn(t, inp, 'splice', again);
  if (typeof data === 'number') return data;
  if (data.length > 0) {
    op.put(data.slice());
    op.queue.wakeAll();
  }
  advance(k, inp, offAddr, pos, data.length);
  return data.length;
}

function pipeToFile(
  k: Kernel,
  t: Task,
  inp: FileDescription,
  ip: Pipe,
  out: FileDescription,
  offAddr: number,
  len: number,
  nonblock: boolean,
  again: () => number,
): number {
  const pos = position(k, out, offAddr);
  if (pos < 0) return pos;
  nonblock ||= (inp.flags & O_NONBLOCK) !== 0;
  if (out.flags & O_APPEND) return -EINVAL;
  if (!inputReady(ip)) return waitPipe(k, t, ip, nonblock, 'splice', again);
  if (ip.len === 0) return 0;
  const data = ip.peek(Math.min(len, ip.len));
  const n = out instanceof VfsFile ? out.pwrite(data, pos) : out.write({ task: t }, data);
  if (n === -EAGAIN && out.waiters) return nonblock ? -EAGAIN : k.waitOn(t, out, 'splice', again);
  if (n < 0) return n;
  ip.take(n);
  ip.queue.wakeAll();
  advance(k, out, offAddr, pos, n);
  return n;
}

function tee(k: Kernel, t: Task, fdIn: number, fdOut: number, len: number, flags: number): number {
  if (flags & ~SPLICE_F_ALL) return -EINVAL;
  len = Math.min(len >>> 0, MAX_RW_COUNT);
  if (len === 0) return 0;
  const fds = t.process.fds;
  const inp = fds.get(fdIn);
  const out = fds.get(fdOut);
  if (!inp || !out) return -EBADF;
  if (!inp.readable || !out.writable) return -EBADF;
  const ip = pipeOf(inp);
  const op = pipeOf(out);
  if (!ip || !op || ip === op) return -EINVAL;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0 || ((inp.flags | out.flags) & O_NONBLOCK) !== 0;
  const again = () => tee(k, t, fdIn, fdOut, len, flags);
  if (!inputReady(ip)) return waitPipe(k, t, ip, nonblock, 'tee', again);
  if (ip.len === 0) return 0;
  const room = outputRoom(t, op);
  if (room < 0) return room;
  if (room === 0) return waitPipe(k, t, op, nonblock, 'tee', again);
  const data = ip.peek(Math.min(len, room));
  op.put(data);
  op.queue.wakeAll();
  return data.length;
}

export function registerSplice(k: Kernel): void {
  k.table.define('splice', (t, a, b, c, d, e, f) => splice(k, t, a, b, c, d, e, f));
  k.table.define('tee', (t, a, b, c, d) => tee(k, t, a, b, c, d));
}
