// The i386 system-call table: one row per assigned syscall number with its Linux name, argument
// count, handler and whether its result is a logged input (blink's SYSCALL(arity, nr, "name", fn)
// rows are the model). Subject modules (files, memory, threads, time, process, signals, net...)
// attach their handlers by Linux name, so a new syscall is one `define` line in the module that owns
// its subject. Guarantees: a number with no handler returns -ENOSYS; every call is counted per task
// (calls, error results, ENOSYS) in a deterministic order; defining an unknown name or the same
// name twice throws at start-up (a programming error, never a guest-triggered one).

import type { Task } from '../machine.js';
import { MAX_SYSCALL, SYSCALL_NAMES } from './sysnames.js';
import { ENOSYS } from './errno.js';

/** Returned by a handler that blocked the task: EAX is filled in by whoever wakes it. */
export const BLOCKED = 0x7fffffff + 1;

/** Arguments are EBX, ECX, EDX, ESI, EDI, EBP as the guest passed them (int32). */
export type SyscallHandler = (
  t: Task,
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
  f: number,
) => number;

export interface SyscallRow {
  readonly nr: number;
  readonly name: string;
  readonly arity: number;
  handler: SyscallHandler | null;
  /** The result (and what it writes) is a nondeterministic input the recorder logs (e.g. getrandom). */
  input: boolean;
}

/** Per task and syscall number: how many calls, how many returned an error, how many were ENOSYS. */
export interface SyscallCount {
  tid: number;
  nr: number;
  name: string;
  calls: number;
  errors: number;
  enosys: number;
}

export class SyscallTable {
  readonly rows: ReadonlyArray<SyscallRow | undefined>;
  private readonly byName = new Map<string, SyscallRow>();
  /** tid -> nr -> [calls, errors, enosys]. */
  private readonly counts = new Map<number, Map<number, [number, number, number]>>();

  constructor() {
    const rows: Array<SyscallRow | undefined> = [];
    for (const [nr, { name, arity }] of SYSCALL_NAMES) {
      const row: SyscallRow = { nr, name, arity, handler: null, input: false };
      rows[nr] = row;
      this.byName.set(name, row);
    }
    this.rows = rows;
  }

  /** Attaches the handler for the syscall called `name` (Linux's spelling). */
  define(name: string, handler: SyscallHandler, opts: { input?: boolean } = {}): void {
    const row = this.byName.get(name);
    if (!row) throw new Error(`no i386 syscall named ${name}`);
    if (row.handler) throw new Error(`syscall ${name} defined twice`);
    row.handler = handler;
    row.input = opts.input ?? false;
  }

  /** Replaces a handler (a module taking a subject over, e.g. the file system). */
  redefine(name: string, handler: SyscallHandler, opts: { input?: boolean } = {}): void {
    const row = this.byName.get(name);
    if (!row) throw new Error(`no i386 syscall named ${name}`);
    row.handler = handler;
    row.input = opts.input ?? row.input;
  }

  /** Wraps the handler of `name` (checks that precede whichever module implements the call). */
  wrap(name: string, outer: (inner: SyscallHandler) => SyscallHandler): void {
    const row = this.byName.get(name);
    if (!row?.handler) throw new Error(`syscall ${name} has no handler to wrap`);
    row.handler = outer(row.handler);
  }

  row(nr: number): SyscallRow | undefined {
    return nr >= 0 && nr <= MAX_SYSCALL ? this.rows[nr] : undefined;
  }

  nameOf(nr: number): string {
    return this.row(nr)?.name ?? `syscall_${nr}`;
  }

  /** Runs syscall `nr` for `t`; returns the result for EAX or BLOCKED. */
  call(t: Task, nr: number, a: number, b: number, c: number, d: number, e: number, f: number): number {
    const h = this.row(nr)?.handler;
    const r = h ? h(t, a, b, c, d, e, f) : -ENOSYS;
    this.count(t.tid, nr, r, !h);
    return r;
  }

  private count(tid: number, nr: number, r: number, enosys: boolean): void {
    let per = this.counts.get(tid);
    if (!per) {
      per = new Map();
      this.counts.set(tid, per);
    }
    let c = per.get(nr);
    if (!c) {
      c = [0, 0, 0];
      per.set(nr, c);
    }
    c[0]++;
    if (r !== BLOCKED && r < 0 && r >= -4095) c[1]++;
    if (enosys) c[2]++;
  }

  /** Counts so far, ordered by tid then syscall number. */
  snapshot(): SyscallCount[] {
    const out: SyscallCount[] = [];
    for (const tid of [...this.counts.keys()].sort((x, y) => x - y)) {
      const per = this.counts.get(tid)!;
      for (const nr of [...per.keys()].sort((x, y) => x - y)) {
        const [calls, errors, enosys] = per.get(nr)!;
        out.push({ tid, nr, name: this.nameOf(nr), calls, errors, enosys });
      }
    }
    return out;
  }

  /** Unimplemented syscalls the guest called: nr -> calls, over all tasks, by number. */
  unimplemented(): Array<{ nr: number; name: string; calls: number }> {
    const tot = new Map<number, number>();
    for (const per of this.counts.values())
      for (const [nr, c] of per) if (c[2] > 0) tot.set(nr, (tot.get(nr) ?? 0) + c[2]);
    return [...tot.keys()]
      .sort((x, y) => x - y)
      .map((nr) => ({ nr, name: this.nameOf(nr), calls: tot.get(nr)! }));
  }
}
