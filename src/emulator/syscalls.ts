// The Linux i386 system-call layer: the Kernel is the context the subject modules in ./os share
// (the machine, the syscall table, the host-file source, stdin, futex queues) plus guarded guest
// memory helpers. Guarantees: results depend only on guest state, the FileSource, stdin and the
// seed; a bad guest pointer yields -EFAULT, never a host error; unknown calls return -ENOSYS and are
// counted per task (see os/table.ts). Where each syscall lives: os/files.ts, os/mm.ts,
// os/threads.ts, os/time.ts, os/proc.ts (and the signals, vfs and net modules).

import { EAX, EBP, EBX, ECX, EDI, EDX, ESI } from './cpu.js';
import type { Machine, Task } from './machine.js';
import type { Memory } from './memory.js';
import type { FileDescription } from './os/fd.js';
import { registerFamily } from './os/family.js';
import { registerFdCalls } from './os/fdcalls.js';
import { registerFiles } from './os/files.js';
import { registerIoChecks } from './os/io-checks.js';
import { registerMemory } from './os/mm.js';
import { registerEpoll } from './os/epoll.js';
import { registerEventfd } from './os/eventfd.js';
import { registerPipes } from './os/pipe.js';
import { registerPoll } from './os/poll.js';
import { registerProcess } from './os/proc.js';
import { registerRlimits } from './os/rlimit.js';
import { registerSendfile } from './os/sendfile.js';
import { registerSched } from './os/sched.js';
import { registerSplice } from './os/splice.js';
import { registerUsage } from './os/usage.js';
import { registerFileIo } from './os/file-io.js';
import { registerSignals } from './os/signals-calls.js';
import { BLOCKED, SyscallTable } from './os/table.js';
import { FutexQueue, registerThreads } from './os/threads.js';
import { registerTimerfd } from './os/timerfd.js';
import { EPOCH, registerTime } from './os/time.js';
import { attachFileSystem } from './os/vfs-machine.js';
import type { FileSystem } from './os/vfs-syscalls.js';
import type { FileSource } from './types.js';
import { EAGAIN, EFAULT } from './os/errno.js';

export class Kernel {
  readonly table = new SyscallTable();
  readonly futex: FutexQueue;

  private refused = new Map<string, number>();

  constructor(
    readonly m: Machine,
    /** The host files the guest may read (the file system asks it; os/vfs.ts). */
    readonly files: FileSource,
    readonly stdin: Uint8Array,
  ) {
    this.futex = new FutexQueue(m);
    registerFiles(this);
    registerFdCalls(this);
    registerMemory(this);
    registerThreads(this);
    registerTime(this);
    registerProcess(this);
    registerRlimits(this);
    registerFamily(this);
    registerPipes(this);
    registerPoll(this);
    registerEpoll(this);
    registerEventfd(this);
    registerTimerfd(this);
    registerSignals(this);
    registerSendfile(this);
    registerSched(this);
    registerUsage(this);
    registerSplice(this);
    registerFileIo(this);
    this.fs = attachFileSystem(this, EPOCH).fs;
    // Last: Linux's checks that precede every transfer, around whichever module implements it.
    registerIoChecks(this);
  }

  /** The overlay file system (os/vfs*.ts) all processes share; it also owns the socket rows. */
  readonly fs: FileSystem;

  /** The file system refused the guest a host path (EACCES): remembered for the end-of-run note. */
  noteRefused(path: string): void {
    this.refused.set(path, (this.refused.get(path) ?? 0) + 1);
  }

  /**
   * Host paths refused so far, in first-refusal order, and how many opens of them were refused.
   * Directories refused only as steps of a path walk (a proper ancestor of another refused path or
   * of the first process's working directory) are left out: the guest did not ask for them.
   */
  refusedPaths(): { paths: string[]; attempts: number } {
    const all = [...this.refused.keys()];
    const under = (p: string, q: string) => q.startsWith(p === '/' ? '/' : `${p}/`) && q !== p;
    const cwd = this.m.initProcess.cwd;
    const paths = all.filter((p) => !under(p, cwd) && !all.some((q) => under(p, q)));
    let attempts = 0;
    for (const p of paths) attempts += this.refused.get(p)!;
    return { paths, attempts };
  }

  /** Unimplemented syscalls called so far: number (as a string) -> calls (RunResult.enosys). */
  get enosys(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const u of this.table.unimplemented()) out[String(u.nr)] = u.calls;
    return out;
  }

  syscall(task: Task, nr: number): void {
    const R = task.cpu.regs;
    task.origEax = nr;
    const r = this.table.call(task, nr, R[EBX]!, R[ECX]!, R[EDX]!, R[ESI]!, R[EDI]!, R[EBP]!);
    // A blocking call leaves EAX to be filled by whoever wakes the task.
    if (r !== BLOCKED) R[EAX] = r;
  }

  /**
   * The calling task waits on `f`'s queue and then retries its call with `retry`; -EAGAIN instead
   * when the description is non-blocking or has nothing to wait on.
   */
  waitOn(t: Task, f: FileDescription, what: string, retry: () => number): number {
    if (f.flags & 0o4000 || !f.waiters) return -EAGAIN;
    return this.m.blockRetry(t, `${what} on ${f.kind}`, [f.waiters], retry);
  }

  // ---------------------------------------------------------------- guest memory helpers

  /** The calling task's address space. */
  get mem(): Memory {
    return this.m.memory;
  }

  userRange(addr: number, len: number, write: boolean): boolean {
    return this.m.userRange(addr, len, write);
  }

  put32(addr: number, v: number): boolean {
    if (!this.m.userRange(addr, 4, true)) return false;
    this.mem.write32(addr, v);
    return true;
  }

  put64(addr: number, v: number): number {
    if (!this.m.userRange(addr, 8, true)) return -EFAULT;
    this.mem.write32(addr, v % 4294967296);
    this.mem.write32(addr + 4, Math.floor(v / 4294967296));
    return 0;
  }

  get32(addr: number): number | null {
    if (!this.m.userRange(addr, 4, false)) return null;
    return this.mem.read32(addr);
  }

  cstring(addr: number, max = 4096): string | null {
    try {
      return this.mem.readCString(addr, max);
    } catch {
      return null;
    }
  }

  /** A timespec (32- or 64-bit layout) in nanoseconds, or null on a bad pointer. */
  readTimespec(addr: number, time64: boolean): number | null {
    if (time64) {
      if (!this.m.userRange(addr, 16, false)) return null;
      const sec = this.mem.read32(addr) >>> 0;
      const nsec = this.mem.read32(addr + 8) >>> 0;
      return sec * 1e9 + nsec;
    }
    if (!this.m.userRange(addr, 8, false)) return null;
    return (this.mem.read32(addr) >>> 0) * 1e9 + (this.mem.read32(addr + 4) >>> 0);
  }
}

export { BLOCKED };
export { EPOCH } from './os/time.js';
