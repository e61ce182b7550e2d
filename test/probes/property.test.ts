// Property test of the kretprobe instance pools (K14-K17, K19, K21) against an independent model.
//
// fast-check draws: call trees for 1-3 threads (test/probes/guests/tree.c reads them from argv),
// 1-3 CPUs, preemption, scheduling quantum/tick/chaos seed, and a probe set: for each of f0..f3,
// 0-2 kretprobes with maxactive 1-3 and optionally a plain kprobe at its entry.
//
// Ground truth comes from the emulator's execution hooks in the SAME run (no guest memory touched):
// a hook at each function entry (it fires before the breakpoint there executes, i.e. exactly when
// the kretprobe entry logic runs) records task, ESP and EAX-independent identity; a hook at the
// trampoline and at every real return address closes the frames whose return slot ESP has passed
// (the first of them is exactly when the trampoline handler runs, for hooked calls), reading EAX.
// The model replays that event order through its own pool: each entry takes one instance from every
// kretprobe of the function that has one free (in aggregate order: newest registration first),
// otherwise counts a miss; each return runs the handlers of the instances its entry took, in reverse.
// Engine observations must equal the model: hooked calls (entry handlers), the order, task and return
// value of every return-handler call, nmissed per kretprobe, hits, and a full pool at the end.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/emulator/machine.js';
import type { Kprobe, Kretprobe } from '../../src/probes/kprobes.js';
import { buildProbeGuest, load, status, text, TRAMPOLINE } from './helpers.js';

interface TreeNode {
  f: number;
  y: boolean;
  kids: TreeNode[];
}

const FNS = ['f0', 'f1', 'f2', 'f3'];

function encode(n: TreeNode): string {
  return `${n.f}${n.y ? 'y' : ''}${n.kids.length ? `(${n.kids.map(encode).join('')})` : ''}`;
}

function value(n: TreeNode): number {
  let v = n.f * 7 + 1;
  for (const k of n.kids) v = (v + Math.imul(value(k), 3)) >>> 0;
  return v >>> 0;
}

const { tree } = fc.letrec<{ tree: TreeNode }>((tie) => ({
  tree: fc.record({
    f: fc.integer({ min: 0, max: 3 }),
    y: fc.boolean(),
    kids: fc.oneof(
      { maxDepth: 4, depthSize: 'small' },
      fc.constant<TreeNode[]>([]),
      fc.array(tie('tree'), { maxLength: 3 }),
    ),
  }),
}));

interface ProbePlan {
  /** per function: maxactive of each kretprobe, in registration order */
  rps: number[][];
  /** per function: a plain kprobe at its entry too */
  kps: boolean[];
}

const plan: fc.Arbitrary<ProbePlan> = fc.record({
  rps: fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), { minLength: 4, maxLength: 4 }),
  kps: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
});

const scenario = fc.record({
  threads: fc.array(fc.array(tree, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
  cpus: fc.integer({ min: 1, max: 3 }),
  preempt: fc.boolean(),
  quantum: fc.integer({ min: 20, max: 300 }),
  tick: fc.integer({ min: 150, max: 3000 }),
  chaos: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  plan,
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface GtEvent {
  kind: 'entry' | 'return';
  tid: number;
  fn: number;
  /** EAX at the return (the function's value). */
  ax: number;
  /** identity of the call (entry index) */
  call: number;
}

let g: { path: string; bytes: Uint8Array };
beforeAll(() => {
  g = buildProbeGuest('tree');
});

function check(s: Scenario): void {
  const specs = s.threads.map((ts) => ts.map(encode).join(''));
  const l = load(g.bytes, ['tree', ...specs], {
    cpus: s.cpus,
    preempt: s.preempt,
    quantum: s.quantum,
    tick: s.tick,
    chaos: s.chaos,
    seed: s.seed,
    maxInstructions: 20_000_000,
  });
  const { m, eng } = l;
  const fnAddr = FNS.map((f) => l.sym(f));

  // ---------------------------------------------------------------- ground truth (exec hooks)
  const gt: GtEvent[] = [];
  const open = new Map<Task, Array<{ fn: number; esp: number; call: number }>>();
  const retHooks = new Set<number>();
  let calls = 0;
  const onExec = (task: Task, addr: number): void => {
    const esp = task.cpu.regs[4]! >>> 0;
    const list = open.get(task) ?? [];
    open.set(task, list);
    while (list.length > 0 && esp > list[list.length - 1]!.esp) {
      const o = list.pop()!;
      gt.push({ kind: 'return', tid: task.tid, fn: o.fn, ax: task.cpu.regs[0]! >>> 0, call: o.call });
    }
    const fi = fnAddr.indexOf(addr);
    if (fi >= 0) {
      const ra = m.memory.read32(esp) >>> 0;
      const call = calls++;
      list.push({ fn: fi, esp, call });
      gt.push({ kind: 'entry', tid: task.tid, fn: fi, ax: 0, call });
      if (!retHooks.has(ra)) {
        retHooks.add(ra);
        m.addCodeHook(onExec, ra);
      }
    }
  };
  for (const a of fnAddr) m.addCodeHook(onExec, a);
  m.addCodeHook(onExec, TRAMPOLINE);

  // ---------------------------------------------------------------- probes
  const seen: string[] = [];
  const rpsByFn: Kretprobe[][] = [[], [], [], []];
  const names = new Map<Kretprobe, string>();
  const kps: Array<Kprobe | null> = [];
  for (let f = 0; f < 4; f++) {
    s.plan.rps[f]!.forEach((max, i) => {
      const name = `${FNS[f]}#${i}`;
      const rp: Kretprobe = {
        kp: { symbolName: FNS[f]! },
        maxactive: max,
        entryHandler: (ri) => {
          seen.push(`entry ${name} ${ri.task.tid}`);
          return 0;
        },
        handler: (ri, regs) => {
          expect(ri.task).toBe(m.currentTask);
          seen.push(`return ${name} ${ri.task.tid} ${regs.ax}`);
          return 0;
        },
      };
      expect(eng.registerKretprobe(rp)).toBe(0);
      rpsByFn[f]!.push(rp);
      names.set(rp, name);
    });
    if (s.plan.kps[f]) {
      const kp: Kprobe = { symbolName: FNS[f]!, preHandler: () => 0 };
      expect(eng.registerKprobe(kp)).toBe(0);
      kps.push(kp);
    } else kps.push(null);
  }

  const r = m.run();
  expect(status(r), r.message).toBe('exit 0');
  // The guest itself is right: totals as the tree says.
  const out = text(r)
    .trim()
    .split('\n')
    .map((x) => x.slice('total='.length));
  expect(out).toEqual(
    s.threads.map((ts) => (ts.reduce((a, t) => (a + value(t)) >>> 0, 0) >>> 0).toString(16).padStart(8, '0')),
  );

  // ---------------------------------------------------------------- the model
  const free = new Map<Kretprobe, number>();
  const missed = new Map<Kretprobe, number>();
  for (const list of rpsByFn) for (const rp of list) free.set(rp, rp.maxactive);
  const taken = new Map<number, Kretprobe[]>();
  const want: string[] = [];
  const entriesPerFn = [0, 0, 0, 0];
  for (const e of gt) {
    if (e.kind === 'entry') {
      entriesPerFn[e.fn]!++;
      const got: Kretprobe[] = [];
      // aggregate order: the newest registration's pre-handler runs first
      for (const rp of [...rpsByFn[e.fn]!].reverse()) {
        if (free.get(rp)! > 0) {
          free.set(rp, free.get(rp)! - 1);
          got.push(rp);
          want.push(`entry ${names.get(rp)} ${e.tid}`);
        } else missed.set(rp, (missed.get(rp) ?? 0) + 1);
      }
      taken.set(e.call, got);
    } else {
      const got = taken.get(e.call) ?? [];
      for (const rp of [...got].reverse()) {
        want.push(`return ${names.get(rp)} ${e.tid} ${e.ax}`);
        free.set(rp, free.get(rp)! + 1);
      }
    }
  }
  expect(seen).toEqual(want);
  for (let f = 0; f < 4; f++) {
    for (const rp of rpsByFn[f]!) {
      expect(rp.nmissed, names.get(rp)).toBe(missed.get(rp) ?? 0);
      expect(rp.kp.hits, names.get(rp)).toBe(entriesPerFn[f]);
      expect(rp.kp.nmissed).toBe(0);
      expect(eng.freeCount(rp), names.get(rp)).toBe(rp.maxactive);
      expect(eng.inFlight(rp)).toBe(0);
    }
    if (kps[f]) expect(kps[f]!.hits).toBe(entriesPerFn[f]);
  }
  expect(gt.filter((e) => e.kind === 'entry').length).toBe(gt.filter((e) => e.kind === 'return').length);
}

describe('kretprobe pools against a model (property)', () => {
  it('K14 + K15 + K16 + K17 + K21: random call trees, tasks, CPUs and probe sets — hooked calls, return order, nmissed equal the model', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        check(s);
      }),
      { numRuns: 100, seed: 0x5eed, endOnFailure: true },
    );
  });

  it('K16 + K17: a fixed heavy scenario (3 threads, 2 CPUs, deep trees, two kretprobes on one function)', () => {
    const deep = (f: number, d: number): TreeNode => ({
      f,
      y: d % 2 === 0,
      kids: d === 0 ? [] : [deep((f + 1) % 4, d - 1), deep((f + 2) % 4, d - 1)],
    });
    check({
      threads: [[deep(0, 4)], [deep(1, 4), deep(2, 2)], [deep(3, 3)]],
      cpus: 2,
      preempt: true,
      quantum: 60,
      tick: 400,
      chaos: false,
      seed: 7,
      plan: { rps: [[2, 3], [1], [3, 1], []], kps: [true, false, true, true] },
    });
  });
});
