// Pipes (pipe, pipe2): a 64 KiB in-machine buffer between a read end and a write end. Guarantees:
// bytes come out in the order they went in; a read with no data waits (or EAGAIN) while a writer
// exists and returns 0 (end of file) when none is left; writes of at most PIPE_BUF (4096) bytes are
// atomic; a write with no reader left fails with EPIPE after SIGPIPE goes to the writer's process;
// every change of fill level or of the ends wakes the pipe's queue (readers, writers, poll, epoll).

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EFAULT, EINVAL, EPIPE } from './errno.js';
import {
  anonIno,
  FileDescription,
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
import { WaitQueue } from './wait.js';

export const PIPE_CAPACITY = 65536;
export const PIPE_BUF = 4096;
const SIGPIPE = 13;

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

  take(n: number): Uint8Array {
    n = Math.min(n, this.len);
    const out = new Uint8Array(n);
    const first = Math.min(n, PIPE_CAPACITY - this.head);
    out.set(this.buf.subarray(this.head, this.head + first));
    if (n > first) out.set(this.buf.subarray(0, n - first), first);
    this.head = (this.head + n) % PIPE_CAPACITY;
    this.len -= n;
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

  stat(): StatInfo {
    return { mode: S_IFIFO | 0o600, size: 0, ino: this.ino, mtimeSec: 0, rdev: 0, blksize: 4096, nlink: 1 };
  }
}

export class PipeReadEnd extends FileDescription {
  readonly kind = 'pipe';
  constructor(
    readonly pipe: Pipe,
    flags: number,
  ) {
    super(O_RDONLY | (flags & O_NONBLOCK));
    pipe.readers++;
    this.waiters = pipe.queue;
    this.path = `pipe:[${pipe.ino}]`;
  }

  override read(_ctx: IoContext, len: number): Uint8Array | number {
    const p = this.pipe;
    if (p.len === 0) return p.writers === 0 ? new Uint8Array(0) : -EAGAIN;
    const out = p.take(len);
    p.queue.wakeAll();
    return out;
  }

  override poll(): number {
    const p = this.pipe;
    return (p.len > 0 ? POLLIN | POLLRDNORM : 0) | (p.writers === 0 ? POLLHUP : 0);
  }

  override available(): number {
    return this.pipe.len;
  }

  stat(): StatInfo {
    return this.pipe.stat();
  }

  override release(): void {
    this.pipe.readers--;
    this.pipe.queue.wakeAll();
  }
}

export class PipeWriteEnd extends FileDescription {
  readonly kind = 'pipe';
  constructor(
    readonly pipe: Pipe,
    flags: number,
  ) {
    super(O_WRONLY | (flags & O_NONBLOCK));
    pipe.writers++;
    this.waiters = pipe.queue;
    this.path = `pipe:[${pipe.ino}]`;
  }

  override write(ctx: IoContext, data: Uint8Array): number {
    const p = this.pipe;
    if (p.readers === 0) {
      p.onBroken(ctx.task);
      return -EPIPE;
    }
    const space = PIPE_CAPACITY - p.len;
    // Up to PIPE_BUF bytes go in whole or not at all.
    if (space === 0 || (data.length <= PIPE_BUF && space < data.length)) return -EAGAIN;
    const n = Math.min(space, data.length);
    p.put(n === data.length ? data : data.subarray(0, n));
    p.queue.wakeAll();
    return n;
  }

  override poll(): number {
    const p = this.pipe;
    return (PIPE_CAPACITY - p.len >= PIPE_BUF ? POLLOUT | POLLWRNORM : 0) | (p.readers === 0 ? POLLERR : 0);
  }

  stat(): StatInfo {
    return this.pipe.stat();
  }

  override release(): void {
    this.pipe.writers--;
    this.pipe.queue.wakeAll();
  }
}

function pipe2(k: Kernel, t: Task, fdsAddr: number, flags: number): number {
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000)) return -EINVAL;
  if (!k.userRange(fdsAddr, 8, true)) return -EFAULT;
  const pipe = new Pipe(k, (w) => k.m.signalProcess(w.process, SIGPIPE, null));
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const fds = t.process.fds;
  const r = fds.install(new PipeReadEnd(pipe, flags), cloexec);
  if (r < 0) return r;
  const w = fds.install(new PipeWriteEnd(pipe, flags), cloexec);
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
