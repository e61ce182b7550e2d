// Pipes (pipe, pipe2): a 64 KiB in-machine buffer between a read end and a write end. Guarantees:
// bytes come out in the order they went in; a read with no data waits (or EAGAIN) while a writer
// exists and returns 0 (end of file) when none is left; writes of at most PIPE_BUF (4096) bytes are
// atomic; a write with no reader left fails with EPIPE after SIGPIPE goes to the writing thread;
// every change of fill level or of the ends wakes the pipe's queue (readers, writers, poll, epoll).

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EFAULT, EINVAL, EPIPE } from './errno.js';
import {
  anonIno,
  FileDescription,
  O_ACCMODE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  S_IFIFO,
  type IoContext,
  type StatInfo,
} from './fd.js';
import { sendSigpipe } from './signals-kernel.js';
import { WaitQueue } from './wait.js';

export const PIPE_CAPACITY = 65536;
export const PIPE_BUF = 4096;

export class Pipe {
  private buf = new Uint8Array(PIPE_CAPACITY);
  private head = 0;
  len = 0;
  readers = 0;
  writers = 0;
  readonly queue: WaitQueue;
  readonly ino = anonIno();

  constructor(
    k: Kernel,
    /** Called when a write finds no reader (SIGPIPE to the writer). */
    readonly onBroken: (t: Task) => void,
  ) {
    this.queue = new WaitQueue(k.m);
  }

  /** Copies up to `n` bytes from the front without consuming them (tee). */
  peek(n: number): Uint8Array {
    n = Math.min(n, this.len);
    const out = new Uint8Array(n);
    const first = Math.min(n, PIPE_CAPACITY - this.head);
    out.set(this.buf.subarray(this.head, this.head + first));
    if (n > first) out.set(this.buf.subarray(0, n - first), first);
    return out;
  }

  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.head = (this.head + out.length) % PIPE_CAPACITY;
    this.len -= out.length;
    return out;
  }

  put(data: Uint8Array): void {
    let tail = (this.head + this.len) % PIPE_CAPACITY;
    for (let i = 0; i < data.length;) {
      const n = Math.min(data.length - i, PIPE_CAPACITY - tail);
      this.buf.set(data.subarray(i, i + n), tail);
      i += n;
      tail = (tail + n) % PIPE_CAPACITY;
    }
    this.len += data.length;
  }

  get space(): number {
    return PIPE_CAPACITY - this.len;
  }

  /** read(2): up to `len` bytes, end of file (empty) with no writer left, else -EAGAIN to wait. */
  read(len: number): Uint8Array | number {
    if (this.len === 0) return this.writers === 0 ? new Uint8Array(0) : -EAGAIN;
    const out = this.take(len);
    this.queue.wakeAll();
    return out;
  }

  /**
   * write(2): EPIPE (after SIGPIPE) with no reader left; up to PIPE_BUF bytes go in whole or not
   * at all, more may go in part; -EAGAIN to wait for room.
   */
  write(t: Task, data: Uint8Array): number {
    if (this.readers === 0) {
      this.onBroken(t);
      return -EPIPE;
    }
    const space = this.space;
    if (space === 0 || (data.length <= PIPE_BUF && space < data.length)) return -EAGAIN;
    const n = Math.min(space, data.length);
    this.put(n === data.length ? data : data.subarray(0, n));
    this.queue.wakeAll();
    return n;
  }

  stat(): StatInfo {
    return { mode: S_IFIFO | 0o600, size: 0, ino: this.ino, mtimeSec: 0, rdev: 0, blksize: 4096, nlink: 1 };
  }
}

/**
 * An open end of a pipe: the read end, the write end, or (a FIFO opened O_RDWR) both. It counts
 * as a reader and/or writer of the pipe from creation until its last descriptor closes.
 */
export class PipeEnd extends FileDescription {
  readonly kind = 'pipe';
  constructor(
    readonly pipe: Pipe,
    /** O_RDONLY, O_WRONLY or O_RDWR, with the status flags (O_NONBLOCK) kept. */
    flags: number,
    path = `pipe:[${pipe.ino}]`,
  ) {
    super(flags & (O_ACCMODE | O_NONBLOCK));
    if (this.readable) pipe.readers++;
    if (this.writable) pipe.writers++;
    this.waiters = pipe.queue;
    this.path = path;
  }

  override read(_ctx: IoContext, len: number): Uint8Array | number {
    return this.pipe.read(len);
  }

  override write(ctx: IoContext, data: Uint8Array): number {
    return this.pipe.write(ctx.task, data);
  }

  override poll(): number {
    const p = this.pipe;
    let r = 0;
    if (this.readable) r |= (p.len > 0 ? POLLIN | POLLRDNORM : 0) | (p.writers === 0 ? POLLHUP : 0);
    if (this.writable)
      r |= (p.space >= PIPE_BUF ? POLLOUT | POLLWRNORM : 0) | (p.readers === 0 ? POLLERR : 0);
    return r;
  }

  override available(): number {
    // FIONREAD answers on either end, as pipe_ioctl does.
    return this.pipe.len;
  }

  stat(): StatInfo {
    return this.pipe.stat();
  }

  override release(): void {
    if (this.readable) this.pipe.readers--;
    if (this.writable) this.pipe.writers--;
    this.pipe.queue.wakeAll();
  }
}

function pipe2(k: Kernel, t: Task, fdsAddr: number, flags: number): number {
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000)) return -EINVAL;
  if (!k.userRange(fdsAddr, 8, true)) return -EFAULT;
  const pipe = new Pipe(k, (w) => sendSigpipe(k.m, w));
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const fds = t.process.fds;
  const r = fds.install(new PipeEnd(pipe, O_RDONLY | (flags & O_NONBLOCK)), cloexec);
  if (r < 0) return r;
  const w = fds.install(new PipeEnd(pipe, O_WRONLY | (flags & O_NONBLOCK)), cloexec);
  if (w < 0) {
    fds.close(r);
    return w;
  }
  k.mem.write32(fdsAddr, r);
  k.mem.write32(fdsAddr + 4, w);
  return 0;
}

export function registerPipes(k: Kernel): void {
  k.table.define('pipe', (t, a) => pipe2(k, t, a, 0));
  k.table.define('pipe2', (t, a, b) => pipe2(k, t, a, b));
}
