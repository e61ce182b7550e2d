// Ground-truth call observer: sees every call and return of chosen functions without changing guest
// memory (no breakpoints, no hijacked return addresses). It hooks execution of the function's first
// instruction (recording the task, ESP and return address) and of each return address seen, where a
// call is over once the task's ESP has moved above the slot that held its return address (this also
// unwinds frames skipped by longjmp). Tests and analysis use it as the oracle for kretprobes.

import type { Machine, Task } from './machine.js';

export interface ObservedCall {
  fn: number;
  tid: number;
  entryTs: number;
  returnTs: number;
  entryCpu: number;
  returnCpu: number;
  /** Calls of the same function the task already had in flight (0 = outermost). */
  depth: number;
  /** Global order of the entry and return among all observed events. */
  entrySeq: number;
  returnSeq: number;
}

interface Open {
  fn: number;
  esp: number;
  retAddr: number;
  entryTs: number;
  entryCpu: number;
  depth: number;
  entrySeq: number;
}

export class CallObserver {
  readonly calls: ObservedCall[] = [];
  private open = new Map<Task, Open[]>();
  private fns = new Set<number>();
  private retHooks = new Set<number>();
  private seq = 0;
  private inFlight = new Map<number, number>();
  /** Peak number of calls in flight at once, per function, over all tasks and CPUs. */
  readonly peak = new Map<number, number>();
  /** Peak nesting within one task, per function. */
  readonly peakPerTask = new Map<number, number>();

  private readonly hook = (task: Task, addr: number) => this.onExec(task, addr);

  constructor(private readonly m: Machine) {}

  watch(fnAddr: number): void {
    this.fns.add(fnAddr >>> 0);
    this.inFlight.set(fnAddr >>> 0, 0);
    this.peak.set(fnAddr >>> 0, 0);
    this.peakPerTask.set(fnAddr >>> 0, 0);
    this.m.addCodeHook(this.hook, fnAddr >>> 0);
  }

  private onExec(task: Task, addr: number): void {
    const esp = task.cpu.regs[4]! >>> 0;
    let list = this.open.get(task);
    // Returns first: any open call whose return-address slot is now below ESP is over.
    if (list && list.length > 0) this.closeAbove(task, list, esp);
    if (this.fns.has(addr)) {
      if (!list) {
        list = [];
        this.open.set(task, list);
      }
      const retAddr = this.m.memory.peek(esp, 4);
      const ra = (retAddr[0]! | (retAddr[1]! << 8) | (retAddr[2]! << 16) | (retAddr[3]! << 24)) >>> 0;
      let depth = 0;
      for (const o of list) if (o.fn === addr) depth++;
      list.push({
        fn: addr,
        esp,
        retAddr: ra,
        entryTs: this.m.now(),
        entryCpu: this.m.currentCpuId,
        depth,
        entrySeq: ++this.seq,
      });
      const n = (this.inFlight.get(addr) ?? 0) + 1;
      this.inFlight.set(addr, n);
      if (n > (this.peak.get(addr) ?? 0)) this.peak.set(addr, n);
      if (depth + 1 > (this.peakPerTask.get(addr) ?? 0)) this.peakPerTask.set(addr, depth + 1);
      if (!this.retHooks.has(ra)) {
        // Return-address hooks stay installed: re-decoding a call site on every call would be slow.
        this.retHooks.add(ra);
        this.m.addCodeHook(this.hook, ra);
      }
    }
  }

  private closeAbove(task: Task, list: Open[], esp: number): void {
    while (list.length > 0) {
      const o = list[list.length - 1]!;
      if (esp <= o.esp) break;
      list.pop();
      this.inFlight.set(o.fn, (this.inFlight.get(o.fn) ?? 1) - 1);
      this.calls.push({
        fn: o.fn,
        tid: task.tid,
        entryTs: o.entryTs,
        returnTs: this.m.now(),
        entryCpu: o.entryCpu,
        returnCpu: this.m.currentCpuId,
        depth: o.depth,
        entrySeq: o.entrySeq,
        returnSeq: ++this.seq,
      });
    }
  }

  /** Calls still open (task exited inside the function, or the run stopped). */
  openCalls(): number {
    let n = 0;
    for (const l of this.open.values()) n += l.length;
    return n;
  }
}
