// A guest process (a Linux thread group): its address space, descriptor table, working directory,
// umask, program break, process group and session, family links, and the slot the signal code fills.
// Guarantees: tgid == pid == the tid of the thread that started the group; family links are kept
// consistent (a child is in exactly one parent's `children` until it is reaped); nothing here
// consults the host.

import type { CodeCache } from '../codecache.js';
import type { Task } from '../machine.js';
import type { Memory } from '../memory.js';
import type { SymbolTable } from '../symbols.js';
import { FdTable } from './fd.js';
import type { RLimits } from './rlimit.js';
import { WaitQueue, type Waker } from './wait.js';

/**
 * Per-process signal state (dispositions, shared pending set, itimers). Empty here: the signals
 * module declares its fields by interface merging (`declare module './process.js'`), so this file
 * need not know them.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ProcessSignals {}

/** Per-thread signal state (mask, pending set, altstack); filled the same way. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ThreadSignals {}

/**
 * An address space and the decoded-code cache that belongs to it. Shared by vfork and CLONE_VM:
 * counts the processes using it, and releases its frames (so copy-on-write sharers stop copying)
 * when the last one lets go.
 */
export class AddressSpace {
  private users = 0;
  constructor(
    readonly memory: Memory,
    readonly cache: CodeCache,
  ) {}

  attach(): void {
    this.users++;
  }

  detach(): void {
    if (--this.users === 0) this.memory.release();
  }
}

export type ProcessState = 'alive' | 'zombie' | 'reaped';

/** Resource usage as getrusage reports it (os/usage.ts): virtual CPU cycles and context switches. */
export interface Usage {
  cycles: number;
  nvcsw: number;
  nivcsw: number;
  /** Largest resident size seen, in KiB (sampled when asked and at exit). */
  maxRssKb: number;
}

export function newUsage(): Usage {
  return { cycles: 0, nvcsw: 0, nivcsw: 0, maxRssKb: 0 };
}

export class Process {
  parent: Process | null;
  /** Children not yet reaped, in creation order. */
  readonly children: Process[] = [];
  /** Live threads (tasks) of the group. */
  readonly threads: Task[] = [];
  private space!: AddressSpace;
  fds: FdTable;
  cwd: string;
  umask = 0o022;
  brkStart = 0;
  brkCur = 0;
  pgid: number;
  sid: number;
  /** Guest path of the executable image. */
  exe: string;
  argv: string[];
  symbols: SymbolTable;
  state: ProcessState = 'alive';
  /** Linux wait status word once a zombie (exit code << 8, or the terminating signal). */
  waitStatus = 0;
  /** A completed group stop wait has not reported yet (WUNTRACED/WSTOPPED): its signal, else 0. */
  stopReport = 0;
  /** A continue (SIGCONT after a stop) wait has not reported yet (WCONTINUED). */
  continueReport = false;
  /** Parents blocked in wait4/waitid on this process's children wait here. */
  readonly childWait: WaitQueue;
  /** The parent task a vfork child holds blocked until it execs or exits. */
  vforkParent: Task | null = null;
  /** Signal sent to the parent when this process ends (clone's low byte; SIGCHLD for fork). */
  exitSignal = 17;
  /** Set when the process has called execve at least once (setpgid then refuses: EACCES). */
  execed = false;
  signals: ProcessSignals = {};
  /** Resource limits (os/rlimit.ts), created with Linux's defaults on first use. */
  rlimits: RLimits | null = null;
  /** What all its threads used, exited ones included (the machine charges every slice here). */
  readonly usage: Usage = newUsage();
  /** What the children it waited for used, with what they had waited for (RUSAGE_CHILDREN). */
  readonly childUsage: Usage = newUsage();

  constructor(
    readonly pid: number,
    parent: Process | null,
    mm: AddressSpace,
    opts: { cwd: string; exe: string; argv: string[]; symbols: SymbolTable; waker: Waker; fds?: FdTable },
  ) {
    this.parent = parent;
    this.mm = mm;
    this.fds = opts.fds ?? new FdTable();
    this.cwd = opts.cwd;
    this.exe = opts.exe;
    this.argv = opts.argv;
    this.symbols = opts.symbols;
    this.pgid = parent ? parent.pgid : pid;
    this.sid = parent ? parent.sid : pid;
    this.childWait = new WaitQueue(opts.waker);
    if (parent) parent.children.push(this);
  }

  get tgid(): number {
    return this.pid;
  }

  /** The address space; setting it (execve) lets go of the old one. */
  get mm(): AddressSpace {
    return this.space;
  }

  set mm(v: AddressSpace) {
    v.attach();
    const old = this.space as AddressSpace | undefined;
    this.space = v;
    old?.detach();
  }

  /** The process was reaped: its address space (unless another process uses it) is released. */
  dropAddressSpace(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.space.detach();
  }

  private dropped = false;

  get memory(): Memory {
    return this.mm.memory;
  }

  /** Name shown in task lists: the executable's base name, truncated like TASK_COMM_LEN. */
  get comm(): string {
    const i = this.exe.lastIndexOf('/');
    return (i >= 0 ? this.exe.slice(i + 1) : this.exe).slice(0, 15);
  }
}
