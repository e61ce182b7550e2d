// Machine hooks as ordered lists (unicorn's uc_hook_add/uc_hook_del is the model). Guarantees: a hook
// can be added or removed at any time, also from inside a hook of the same list: a removal takes
// effect at once (a removed hook is never called again) but the list is compacted only when no
// iteration is running, and a hook added during an iteration is first called on the next one. Each
// hook carries an inclusive key range [begin, end] (an address for code and exception hooks, a
// syscall number for syscall hooks); by default it covers every key. Hooks run in list order;
// `first` puts a hook at the front (the probe engine is first on Linux's die chain).

import type { Task, SchedReason } from './machine.js';
import type { Process } from './os/process.js';

export type HookId = number;

export interface HookOptions {
  /** Lowest key (address or syscall number) the hook applies to (default 0). */
  begin?: number;
  /** Highest key, inclusive (default 0xffffffff). */
  end?: number;
  /** Insert at the front instead of the back. */
  first?: boolean;
}

interface Entry<F> {
  id: HookId;
  fn: F;
  begin: number;
  end: number;
  dead: boolean;
}

let nextHookId = 1;

export class HookList<F> {
  protected items: Entry<F>[] = [];
  protected running = 0;
  private dirty = false;
  /** Called after every add/remove (the machine re-tells the code cache about code hooks). */
  onChange: () => void = () => {};

  add(fn: F, opts: HookOptions = {}): HookId {
    const e: Entry<F> = {
      id: nextHookId++,
      fn,
      begin: (opts.begin ?? 0) >>> 0,
      end: (opts.end ?? 0xffffffff) >>> 0,
      dead: false,
    };
    // Copy-on-write while iterating, so the running loop does not see the new entry.
    const items = this.running > 0 ? this.items.slice() : this.items;
    if (opts.first) items.unshift(e);
    else items.push(e);
    this.items = items;
    this.onChange();
    return e.id;
  }

  /** Removes a hook; returns false when the id is unknown (or already removed). */
  remove(id: HookId): boolean {
    const e = this.items.find((x) => x.id === id && !x.dead);
    if (!e) return false;
    e.dead = true;
    if (this.running > 0) this.dirty = true;
    else this.items = this.items.filter((x) => !x.dead);
    this.onChange();
    return true;
  }

  get size(): number {
    let n = 0;
    for (const e of this.items) if (!e.dead) n++;
    return n;
  }

  /** True when some live hook's range contains `key`. */
  covers(key: number): boolean {
    key = key >>> 0;
    for (const e of this.items) if (!e.dead && key >= e.begin && key <= e.end) return true;
    return false;
  }

  /** Live [begin, end] ranges (for the code cache). */
  ranges(): Array<[number, number]> {
    return this.items.filter((e) => !e.dead).map((e) => [e.begin, e.end]);
  }

  /**
   * Calls `call(fn)` for each live hook whose range holds `key`, in order, and stops at the first
   * that returns true (then returns true).
   */
  run(key: number, call: (fn: F) => boolean | void): boolean {
    return this.iterate(key >>> 0, true, call);
  }

  /** Calls every live hook in order, whatever its range (for lists that have no key). */
  each(call: (fn: F) => void): void {
    this.iterate(0, false, call);
  }

  private iterate(key: number, keyed: boolean, call: (fn: F) => boolean | void): boolean {
    const items = this.items;
    this.running++;
    try {
      for (const e of items) {
        if (e.dead || (keyed && (key < e.begin || key > e.end))) continue;
        if (call(e.fn) === true) return true;
      }
      return false;
    } finally {
      this.endIteration();
    }
  }

  /** After an iteration: compacts the list once no iteration runs. */
  protected endIteration(): void {
    if (--this.running === 0 && this.dirty) {
      this.dirty = false;
      this.items = this.items.filter((x) => !x.dead);
    }
  }
}

/**
 * The exception hooks: run() with the hook's arguments passed through, so an exception allocates
 * no closure (the probe engine's breakpoints and single steps come here three times per
 * kretprobed call; the closure was most of a probed run's garbage).
 */
export class ExceptionHookList extends HookList<ExceptionHook> {
  runException(key: number, task: Task, vector: number, code: number, addr: number): boolean {
    key = key >>> 0;
    const items = this.items;
    this.running++;
    try {
      for (let i = 0; i < items.length; i++) {
        const e = items[i]!;
        if (e.dead || key < e.begin || key > e.end) continue;
        if (e.fn(task, vector, code, addr) === true) return true;
      }
      return false;
    } finally {
      this.endIteration();
    }
  }
}

// ---------------------------------------------------------------- the machine's hook lists

/** Before a syscall runs (key: the syscall number). Return true when the hook set EAX itself. */
export type SyscallHook = (task: Task, nr: number) => boolean | void;
/** A CPU exception (key: EIP of the faulting instruction). Return true when handled. */
export type ExceptionHook = (task: Task, vector: number, code: number, addr: number) => boolean;
/** Before the instruction at `addr` runs (key: the address); must not change guest memory. */
export type CodeHook = (task: Task, addr: number) => void;
export type SchedHook = (
  ts: number,
  cpu: number,
  prevTid: number,
  nextTid: number,
  reason: SchedReason,
) => void;
export type TaskHook = (task: Task, ts: number) => void;
export type OutputHook = (fd: number, ts: number, data: Uint8Array) => void;
/** A nondeterministic input the kernel consumed (stdin bytes, getrandom bytes...). */
export type InputHook = (kind: string, key: string, data: Uint8Array) => void;
/** Retired-instruction progress, at most every PROGRESS_EVERY instructions, between rounds. */
export type ProgressHook = (instructions: number) => void;
/** A process was created by fork/vfork/clone (the child has not run yet). */
export type ForkHook = (parent: Process, child: Process, ts: number) => void;
/**
 * A process replaced its image (execve succeeded; its new address space is loaded, nothing ran).
 * `image` is the executable file's bytes (the probe engine matches them to the files it probes).
 */
export type ExecHook = (proc: Process, task: Task, ts: number, image: Uint8Array | undefined) => void;

export class MachineHooks {
  readonly syscall = new HookList<SyscallHook>();
  readonly exception = new ExceptionHookList();
  readonly code = new HookList<CodeHook>();
  readonly sched = new HookList<SchedHook>();
  readonly taskStart = new HookList<TaskHook>();
  readonly taskExit = new HookList<TaskHook>();
  /** Task exit/exec: recycle what the task held (kretprobe instances, K19); runs before taskExit. */
  readonly taskFlush = new HookList<(task: Task) => void>();
  readonly output = new HookList<OutputHook>();
  readonly input = new HookList<InputHook>();
  readonly progress = new HookList<ProgressHook>();
  readonly fork = new HookList<ForkHook>();
  readonly exec = new HookList<ExecHook>();
}
