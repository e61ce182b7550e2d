// eventfd/eventfd2: a 64-bit counter as a descriptor. Guarantees (eventfd(2)): reads take 8 bytes
// and return the counter and zero it (EFD_SEMAPHORE: return 1 and decrement), waiting while it is
// zero; writes add an 8-byte value, waiting while the sum would pass 2^64-2; 0xffff...ff is
// EINVAL; shorter buffers are EINVAL. Counts are kept exactly (BigInt).

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EAGAIN, EINVAL } from './errno.js';
import {
  anonIno,
  FileDescription,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
  POLLOUT,
  type IoContext,
  type StatInfo,
} from './fd.js';
import { WaitQueue } from './wait.js';

const EFD_SEMAPHORE = 1;
const MAX = 0xfffffffffffffffen;

export class EventfdDesc extends FileDescription {
  readonly kind = 'eventfd';
  private ino = anonIno();
  constructor(
    k: Kernel,
    private count: bigint,
    flags: number,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK));
    this.waiters = new WaitQueue(k.m);
    this.path = 'anon_inode:[eventfd]';
    this.semaphore = (flags & EFD_SEMAPHORE) !== 0;
  }
  private readonly semaphore: boolean;

  override read(_ctx: IoContext, len: number): Uint8Array | number {
    if (len < 8) return -EINVAL;
    if (this.count === 0n) return -EAGAIN;
    const v = this.semaphore ? 1n : this.count;
    this.count -= v;
    this.waiters!.wakeAll();
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, v, true);
    return out;
  }

  override write(_ctx: IoContext, data: Uint8Array): number {
    if (data.length < 8) return -EINVAL;
    const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
    if (v === 0xffffffffffffffffn) return -EINVAL;
    if (this.count + v > MAX) return -EAGAIN;
    this.count += v;
    this.waiters!.wakeAll();
    return 8;
  }

  override poll(): number {
    return (this.count > 0n ? POLLIN : 0) | (this.count < MAX ? POLLOUT : 0);
  }

  stat(): StatInfo {
    return { mode: 0o600, size: 0, ino: this.ino, mtimeSec: 0, rdev: 0, blksize: 4096, nlink: 1 };
  }
}

export function registerEventfd(k: Kernel): void {
  const make = (t: Task, initval: number, flags: number) => {
    if (flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE)) return -EINVAL;
    return t.process.fds.install(new EventfdDesc(k, BigInt(initval >>> 0), flags), (flags & O_CLOEXEC) !== 0);
  };
  k.table.define('eventfd', (t, a) => make(t, a, 0));
  k.table.define('eventfd2', (t, a, b) => make(t, a, b));
}
