// Named pipes (FIFOs made by mknod/mknodat with S_IFIFO, so mkfifo): opening one joins the pipe of
// its node, created at the first open and dropped, with any bytes left in it, when the last end
// closes. Guarantees, as Linux fs/pipe.c fifo_open: O_RDONLY waits until a writer has opened
// (O_NONBLOCK: opens at once); O_WRONLY waits until a reader has opened (O_NONBLOCK with no reader:
// ENXIO); O_RDWR never waits. A waiting open counts as a reader or writer from the start, so its
// partner does not wait, and an open interrupted by a signal (EINTR or restart) gives that back.
// Reads, writes, poll and SIGPIPE are those of pipe.ts, except that a reader opened O_NONBLOCK
// before any writer sees no POLLHUP until a writer has come and gone (as Linux's pipe_poll).

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { ENXIO } from './vfs-errno.js';
import { O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY, POLLHUP } from './fd.js';
import { Pipe, PipeEnd } from './pipe.js';
import { sendSigpipe } from './signals-kernel.js';
import type { Node } from './vfs.js';

/** A FIFO's pipe, with Linux's counts of opens so far (a waiting open watches its partner's). */
class FifoPipe extends Pipe {
  readOpens = 0;
  writeOpens = 0;
}

/** An open end of a FIFO: a pipe end whose stat is the node's. */
export class FifoEnd extends PipeEnd {
  /**
   * A reader opened O_NONBLOCK while no writer was there sees no POLLHUP until a writer has
   * opened since (pipe_poll's f_version against w_counter): the count of writer opens then, or -1.
   */
  hupAfter = -1;

  constructor(
    readonly fifo: FifoPipe,
    readonly node: Node,
    flags: number,
    path: string,
  ) {
    super(fifo, flags, path);
  }

  override poll(): number {
    const r = super.poll();
    return this.fifo.writeOpens === this.hupAfter ? r & ~POLLHUP : r;
  }

  override release(): void {
    super.release();
    if (this.fifo.readers === 0 && this.fifo.writers === 0 && this.node.fifo === this.fifo)
      this.node.fifo = null;
  }
}

/**
 * open(2) of FIFO `node` (permissions already checked): installs the descriptor, or waits for the
 * partner first (returns BLOCKED through the machine), or -errno.
 */
export function openFifo(
  k: Kernel,
  t: Task,
  node: Node,
  flags: number,
  path: string,
  cloexec: boolean,
): number {
  const acc = flags & O_ACCMODE;
  let pipe = node.fifo as FifoPipe | null;
  if (acc === O_WRONLY && flags & O_NONBLOCK && (!pipe || pipe.readers === 0)) return -ENXIO;
  if (!pipe) {
    pipe = new FifoPipe(k, (w) => sendSigpipe(k.m, w));
    node.fifo = pipe;
  }
  const end = new FifoEnd(pipe, node, flags, path);
  if (acc === O_RDONLY && flags & O_NONBLOCK && pipe.writers === 0) end.hupAfter = pipe.writeOpens;
  if (end.readable) pipe.readOpens++;
  if (end.writable) pipe.writeOpens++;
  pipe.queue.wakeAll();
  const install = (): number => {
    const fd = t.process.fds.install(end, cloexec);
    if (fd < 0) end.release();
    return fd;
  };
  // Which partner this open waits for, if any: a blocking reader a writer, a blocking writer a reader.
  const waitsFor =
    acc === O_RDONLY && !(flags & O_NONBLOCK) && pipe.writers === 0
      ? 'writeOpens'
      : acc === O_WRONLY && pipe.readers === 0
        ? 'readOpens'
        : null;
  if (!waitsFor) return install();
  const fifo = pipe;
  const seen = fifo[waitsFor];
  const attempt = (): number => {
    if (fifo[waitsFor] !== seen) return install();
    const r = k.m.blockRetry(t, `open of FIFO ${path}`, [fifo.queue], attempt);
    // Interrupted (a signal) or ended while waiting: the end it held goes back.
    t.onCancel = () => end.release();
    return r;
  };
  return attempt();
}
