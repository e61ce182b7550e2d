// Wait queues: where a task blocked on something other than time (pipe data, a child's exit, an fd
// becoming ready) waits. Guarantees: waiters are woken in the order they started waiting (so the
// schedule is deterministic); a task waits on any number of queues at once (poll) and waking it from
// one removes it from all of them (the machine calls `leaveAll` when it wakes a task).

import type { Task } from '../machine.js';

/** The machine's side of waking: makes a blocked task runnable (it then retries its call). */
export interface Waker {
  wake(t: Task, result: number): void;
}

export class WaitQueue {
  private waiters: Task[] = [];
  /** Incremented by every wakeAll: epoll's edge-triggered mode reports an item once per change. */
  generation = 0;

  constructor(private readonly waker: Waker) {}

  add(t: Task): void {
    if (this.waiters.includes(t)) return;
    this.waiters.push(t);
    t.waitQueues.push(this);
  }

  remove(t: Task): void {
    const i = this.waiters.indexOf(t);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  get length(): number {
    return this.waiters.length;
  }

  /** Wakes every waiter; each retries its call and may wait again. */
  wakeAll(): void {
    this.generation++;
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const t of ws) this.waker.wake(t, 0);
  }
}

/** Takes a task off every queue it waits on (called when it is woken for any reason). */
export function leaveAll(t: Task): void {
  for (const q of t.waitQueues) q.remove(t);
  t.waitQueues.length = 0;
}
