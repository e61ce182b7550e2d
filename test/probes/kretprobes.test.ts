// Return probes on the emulated SMP machine: instance pools, the trampoline, several kretprobes on
// one function, tasks on several CPUs, unregistration while calls are in flight, tasks exiting inside
// hooked functions, the return-address limitation and SystemTap's maxactive idea
// (kprobes.md K14-K21; acceptance checks 7-11 and 16). Guest: test/probes/guests/calls.c.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/emulator/machine.js';
import type { Kprobe, Kretprobe, KretprobeInstance } from '../../src/probes/kprobes.js';
import {
  buildProbeGuest,
  count,
  kv,
  load,
  qemu,
  recordEvents,
  runPlain,
  status,
  text,
  TRAMPOLINE,
} from './helpers.js';

let g: { path: string; bytes: Uint8Array };
beforeAll(() => {
  g = buildProbeGuest('calls');
});

describe('instance pool and trampoline (K14, K15, K21)', () => {
  it('K14 + K15 + K21 + check 7: maxactive = 2, recursion depth 3 — nmissed 1, hooked returns innermost first, the unhooked call returns straight to its caller', () => {
    const l = load(g.bytes, ['calls', 'rec', '2']);
    const rets: Array<{ ax: number; depth: number }> = [];
    const events = recordEvents(l.eng);
    const rp: Kretprobe = {
      kp: { symbolName: 'rec' },
      maxactive: 2,
      handler: (ri, regs) => {
        rets.push({ ax: regs.ax, depth: ri.depth });
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.freeCount(rp)).toBe(2);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    const out = kv(text(r));
    expect(out.get('rec')).toBe('103');
    // rec(2) and rec(1) got instances (their return address reads as the trampoline), rec(0) did not.
    expect([out.get('ra2'), out.get('ra1'), out.get('ra0')]).toEqual(['tramp', 'tramp', 'real']);
    expect(rets).toEqual([
      { ax: 101, depth: 1 },
      { ax: 103, depth: 0 },
    ]);
    expect(rp.nmissed).toBe(1);
    expect(rp.kp.hits).toBe(3);
    expect(rp.kp.nmissed).toBe(0);
    expect(count(events, 'missed')).toBe(1);
    expect(count(events, 'trampoline')).toBe(2);
    expect(count(events, 'return')).toBe(2);
    expect(l.eng.freeCount(rp)).toBe(2);
    expect(l.eng.inFlight(rp)).toBe(0);
  });

  it('K14: an entry_handler returning non-zero gives the instance back — that return is not hooked', () => {
    const l = load(g.bytes, ['calls', 'rec', '4']);
    const rets: number[] = [];
    const rp: Kretprobe = {
      kp: { symbolName: 'rec' },
      maxactive: 1,
      // hook only rec(0): every other entry declines its instance
      entryHandler: (_ri, regs) => ((l.m.memory.read32(regs.sp + 4) | 0) === 0 ? 0 : 1),
      handler: (_ri, regs) => {
        rets.push(regs.ax);
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    // maxactive 1 suffices: declined instances went straight back to the pool.
    expect(rp.nmissed).toBe(0);
    expect(rets).toEqual([100]);
    const out = kv(text(r));
    expect([out.get('ra4'), out.get('ra1'), out.get('ra0')]).toEqual(['real', 'real', 'tramp']);
    expect(l.eng.freeCount(rp)).toBe(1);
  });

  it('K16 + check 8: two kretprobes on one function — both handlers once per return, reverse entry order, one trampoline trap, real return address restored', () => {
    const rand1 = 300;
    const l = load(g.bytes, ['calls', 'kunit', String(rand1)]);
    const order: string[] = [];
    const events = recordEvents(l.eng);
    const mk = (name: string): Kretprobe => ({
      kp: { symbolName: 'kprobe_target' },
      maxactive: 0,
      entryHandler: () => {
        order.push(`entry ${name}`);
        return 0;
      },
      handler: (ri, regs) => {
        order.push(`return ${name} ${regs.ax}`);
        if (name === 'B') expect(l.m.symbols.symbolize(ri.retAddr)?.sym.name).toBe('main');
        else expect(ri.retAddr).toBe(TRAMPOLINE);
        return 0;
      },
    });
    const a = mk('A');
    const b = mk('B');
    expect(l.eng.registerKretprobe(a)).toBe(0);
    expect(l.eng.registerKretprobe(b)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    // B was registered last, so it is at the head of the aggregate and enters first.
    expect(order).toEqual(['entry B', 'entry A', 'return A 100', 'return B 100']);
    expect(count(events, 'trampoline')).toBe(1);
    expect(count(events, 'return')).toBe(2);
    expect(text(r)).toBe(qemu(g.path, ['calls', 'kunit', String(rand1)]).stdout);
  });

  it('K20: guest reading __builtin_return_address(0) in a hooked function sees the trampoline 0xfff00000', () => {
    const plain = kv(text(runPlain(g.bytes, ['calls', 'ra'])));
    const l = load(g.bytes, ['calls', 'ra']);
    const real = l.sym('ra_fn');
    expect(plain.get('ra')).not.toBe('fff00000');
    expect(l.m.symbols.symbolize(parseInt(plain.get('ra')!, 16))?.sym.name).toBe('main');
    let retAddr = 0;
    const rp: Kretprobe = {
      kp: { addr: real },
      maxactive: 1,
      handler: (ri) => {
        retAddr = ri.retAddr;
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kv(text(r)).get('ra')).toBe('fff00000');
    expect(retAddr.toString(16).padStart(8, '0')).toBe(plain.get('ra'));
  });
});

describe('depth of an instance (K14; #15: computed from the newest instance of the same probe)', () => {
  it('equals the instances of its probe the task holds at entry: two kretprobes on one recursive function, one unregistered mid-recursion and a third registered then', () => {
    const l = load(g.bytes, ['calls', 'rec', '6']);
    const seen: Array<[string, number, number]> = [];
    // The oracle: count the task's held instances of this probe (the engine's list, newest first).
    const watch = (name: string, rp: Kretprobe) => (ri: KretprobeInstance) => {
      const held = l.eng.instancesOf(ri.task).filter((x) => x.rp === rp).length;
      seen.push([name, ri.depth, held]);
      if (name === 'b' && held === 3) {
        // Orphans b's three in-flight calls (K18) and adds c, whose first instance sits above them.
        expect(l.eng.unregisterKretprobe(b)).toBe(0);
        expect(l.eng.registerKretprobe(c)).toBe(0);
      }
      return 0;
    };
    const a: Kretprobe = { kp: { symbolName: 'rec' }, maxactive: 16 };
    const b: Kretprobe = { kp: { symbolName: 'rec' }, maxactive: 16 };
    const c: Kretprobe = { kp: { symbolName: 'rec' }, maxactive: 16 };
    a.entryHandler = watch('a', a);
    b.entryHandler = watch('b', b);
    c.entryHandler = watch('c', c);
    expect(l.eng.registerKretprobe(a)).toBe(0);
    expect(l.eng.registerKretprobe(b)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    for (const [name, depth, held] of seen) expect(depth, `${name}`).toBe(held);
    // rec(6)..rec(0): a sees 7 entries at depths 0..6; b 4 (the 4th unregisters it: its instance is
    // still taken), c the 3 entries after that, from depth 0.
    expect(seen.filter(([n]) => n === 'a').map(([, d]) => d)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(seen.filter(([n]) => n === 'b').map(([, d]) => d)).toEqual([0, 1, 2, 3]);
    expect(seen.filter(([n]) => n === 'c').map(([, d]) => d)).toEqual([0, 1, 2]);
  });

  it('equals them too when a probe unregisters and registers itself again from its own entry handler', () => {
    const l = load(g.bytes, ['calls', 'rec', '6']);
    const seen: Array<[number, number]> = [];
    const b: Kretprobe = { kp: { symbolName: 'rec' }, maxactive: 16 };
    let again = false;
    b.entryHandler = (ri) => {
      seen.push([ri.depth, l.eng.instancesOf(ri.task).filter((x) => x.rp === b).length]);
      if (!again && ri.depth === 2) {
        // The three held instances become orphans; the one being entered keeps b (K18).
        again = true;
        expect(l.eng.unregisterKretprobe(b)).toBe(0);
        expect(l.eng.registerKretprobe(b)).toBe(0);
      }
      return 0;
    };
    expect(l.eng.registerKretprobe(b)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    for (const [depth, held] of seen) expect(depth).toBe(held);
    expect(seen.map(([d]) => d)).toEqual([0, 1, 2, 1, 2, 3, 4]);
  });
});

describe('K20 detector (detectReturnAddressReads)', () => {
  it('K20: with the detector on, each hooked call that reads its return address reports one retaddr_read at the reading instruction', () => {
    const l = load(g.bytes, ['calls', 'rec', '2']);
    l.eng.detectReturnAddressReads(true);
    const events = recordEvents(l.eng);
    const rp: Kretprobe = { kp: { symbolName: 'rec' }, maxactive: 2, handler: () => 0 };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    const reads = events.filter((e) => e.kind === 'retaddr_read');
    // rec(2) and rec(1) are hooked and read __builtin_return_address(0); rec(0) is not hooked.
    expect(reads).toHaveLength(2);
    for (const e of reads) {
      expect(l.m.symbols.symbolize(e.addr)?.sym.name).toBe('rec');
      expect(e.probe).toBe(rp);
    }
    expect(text(r)).toBe(
      text(runPlain(g.bytes, ['calls', 'rec', '2'])).replace(/ra([12])=real/g, 'ra$1=tramp'),
    );
  });

  it('K16 + K20: the detector reports guest reads only — not the engine reading the slot for a second kretprobe', () => {
    const l = load(g.bytes, ['calls', 'kunit', '300']);
    l.eng.detectReturnAddressReads(true);
    const events = recordEvents(l.eng);
    const a: Kretprobe = { kp: { symbolName: 'kprobe_target' }, maxactive: 1, handler: () => 0 };
    const b: Kretprobe = { kp: { symbolName: 'kprobe_target' }, maxactive: 1, handler: () => 0 };
    expect(l.eng.registerKretprobe(a)).toBe(0);
    expect(l.eng.registerKretprobe(b)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(count(events, 'return')).toBe(2);
    // kprobe_target never reads its return address (only its own ret pops it).
    expect(events.filter((e) => e.kind === 'retaddr_read').map((e) => l.m.symbols.format(e.addr))).toEqual(
      [],
    );
  });

  it('K20: return handlers (host code) reading the popped slot are not guest reads', () => {
    const l = load(g.bytes, ['calls', 'kunit', '300']);
    l.eng.detectReturnAddressReads(true);
    const events = recordEvents(l.eng);
    let popped = 0;
    const rp: Kretprobe = {
      kp: { symbolName: 'kprobe_target' },
      maxactive: 1,
      handler: (_ri, regs) => {
        popped = l.m.memory.read32(regs.sp - 4) >>> 0;
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(popped).toBe(TRAMPOLINE);
    expect(events.filter((e) => e.kind === 'retaddr_read').map((e) => l.m.symbols.format(e.addr))).toEqual(
      [],
    );
  });
});

describe('tasks and CPUs (K17)', () => {
  it('K17 + check 9: three tasks on two CPUs call one kretprobed function — every return consumes its own task instance', () => {
    const T = 3;
    const N = 12;
    const l = load(g.bytes, ['calls', 'threads', String(T), String(N)], { cpus: 2, preempt: true });
    const perTask = new Map<number, string[]>();
    const cpusSeen = new Set<number>();
    let migrated = 0;
    let bad = 0;
    const mk = (sym: string, nargs: number): Kretprobe => ({
      kp: { symbolName: sym },
      maxactive: 0,
      entryHandler: (ri, regs) => {
        const args: number[] = [];
        for (let i = 0; i < nargs; i++) args.push(l.m.memory.read32(regs.sp + 4 + 4 * i) | 0);
        ri.entryValues = args;
        return 0;
      },
      handler: (ri: KretprobeInstance, regs) => {
        const task = l.m.currentTask as Task;
        if (ri.task !== task) bad++;
        const [a, b] = ri.entryValues as number[];
        const expected = sym === 'work' ? a! * 1000 + b! : a! + 1;
        if (regs.ax !== expected) bad++;
        cpusSeen.add(ri.entryCpu);
        if (ri.entryCpu !== l.m.currentCpuId) migrated++;
        const list = perTask.get(task.tid) ?? [];
        list.push(`${sym}(${(ri.entryValues as number[]).join(',')})`);
        perTask.set(task.tid, list);
        return 0;
      },
    });
    const work = mk('work', 2);
    const work2 = mk('work2', 1);
    expect(l.eng.registerKretprobes([work, work2])).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe(qemu(g.path, ['calls', 'threads', String(T), String(N)]).stdout);
    expect(bad).toBe(0);
    expect(perTask.size).toBe(T);
    for (const [, list] of perTask) {
      expect(list).toHaveLength(2 * N);
      // LIFO per task: work2(i) returns just before the work(who, i) that called it.
      for (let i = 0; i < N; i++) {
        expect(list[2 * i]).toBe(`work2(${i})`);
        expect(list[2 * i + 1]).toMatch(new RegExp(`^work\\(\\d,${i}\\)$`));
      }
    }
    expect([...cpusSeen].sort()).toEqual([0, 1]);
    // K17: some calls entered on one CPU and returned on the other, and still matched.
    expect(migrated).toBeGreaterThan(0);
    expect(work.nmissed).toBe(0);
    expect(l.eng.freeCount(work)).toBe(work.maxactive);
    expect(l.eng.freeCount(work2)).toBe(work2.maxactive);
  });
});

describe('unregistration and task exit with instances in flight (K18, K19)', () => {
  it('K18 + check 10: unregister_kretprobe while a call is in flight — real caller reached, no handler, orphan freed', () => {
    const l = load(g.bytes, ['calls', 'slow', '5']);
    const events = recordEvents(l.eng);
    let handlerRuns = 0;
    const rp: Kretprobe = {
      kp: { symbolName: 'slow' },
      maxactive: 3,
      handler: () => {
        handlerRuns++;
        return 0;
      },
    };
    const obs: Array<Record<string, number>> = [];
    const mid: Kprobe = {
      symbolName: 'l_slow_mid',
      preHandler: () => {
        const task = l.m.currentTask!;
        const o: Record<string, number> = {
          inflightBefore: l.eng.inFlight(rp),
          held: l.eng.instancesOf(task).length,
          slot: l.m.memory.read32(l.m.currentTask!.cpu.regs[5]! + 4) >>> 0,
        };
        if (obs.length === 0) {
          o.unreg = l.eng.unregisterKretprobe(rp) === 0 ? 1 : 0;
          o.inflightAfter = l.eng.inFlight(rp);
          o.freeAfter = l.eng.freeCount(rp);
          o.heldAfter = l.eng.instancesOf(task).length;
        }
        obs.push(o);
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.registerKprobe(mid)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe('slow=1011\nslow=1013\ndone\n');
    expect(handlerRuns).toBe(0);
    expect(obs[0]).toEqual({
      inflightBefore: 1,
      held: 1,
      slot: TRAMPOLINE, // the return address slot of slow() was hijacked
      unreg: 1,
      inflightAfter: 0, // orphaned (rp = NULL)
      freeAfter: 0, // free instances released
      heldAfter: 1, // the orphan stays on the task until slow returns
    });
    // The second call: no kretprobe any more, and the orphan was freed at the first return.
    expect(obs[1]).toMatchObject({ inflightBefore: 0, held: 0 });
    expect(obs[1]!.slot).not.toBe(TRAMPOLINE);
    expect(count(events, 'orphan_return')).toBe(1);
    expect(count(events, 'return')).toBe(0);
    expect(l.m.memory.peek(l.sym('slow'), 1)[0]).toBe(0x55); // push %ebp is back
    expect(l.eng.unregisterKretprobe(rp)).toBe('ENOENT');
  });

  it('K18: the same kretprobe can be registered again after an unregister with an orphan in flight', () => {
    const l = load(g.bytes, ['calls', 'slow', '5']);
    const rets: number[] = [];
    const rp: Kretprobe = {
      kp: { symbolName: 'slow' },
      maxactive: 2,
      handler: (_ri, regs) => {
        rets.push(regs.ax);
        return 0;
      },
    };
    let n = 0;
    const mid: Kprobe = {
      symbolName: 'l_slow_mid',
      preHandler: () => {
        if (n++ === 0) {
          expect(l.eng.unregisterKretprobe(rp)).toBe(0);
          expect(l.eng.registerKretprobe(rp)).toBe(0); // the new registration does not own the orphan
        }
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.registerKprobe(mid)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe('slow=1011\nslow=1013\ndone\n');
    expect(rets).toEqual([13]); // only the second call (v=6) was hooked by the new registration
    expect(l.eng.freeCount(rp)).toBe(2);
  });

  it('K19 + check 11: a thread exiting inside a kretprobed function (depth 4) — its instances go back to the pool', () => {
    const l = load(g.bytes, ['calls', 'exitin', '3'], { cpus: 2 });
    const rets: number[] = [];
    const rp: Kretprobe = {
      kp: { symbolName: 'die_in' },
      maxactive: 4,
      handler: (_ri, regs) => {
        rets.push(regs.ax);
        return 0;
      },
    };
    const rpGroup: Kretprobe = { kp: { symbolName: 'die_group_in' }, maxactive: 4, handler: () => 0 };
    let atGroup: number[] = [];
    let deepest: number[] = [];
    // When the thread is at depth 0 (about to exit), all four instances are in use.
    const atExit: Kprobe = {
      symbolName: 'die_in',
      preHandler: (_p, regs) => {
        if ((l.m.memory.read32(regs.sp + 4) | 0) === 0) deepest = [l.eng.freeCount(rp), l.eng.inFlight(rp)];
        return 0;
      },
    };
    const probeGroup: Kprobe = {
      symbolName: 'die_group_in',
      preHandler: () => {
        if (atGroup.length === 0) atGroup = [l.eng.freeCount(rp), l.eng.inFlight(rp)];
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.registerKretprobe(rpGroup)).toBe(0);
    expect(l.eng.registerKprobe(atExit)).toBe(0);
    expect(l.eng.registerKprobe(probeGroup)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 3');
    expect(text(r)).toBe(qemu(g.path, ['calls', 'exitin', '3']).stdout);
    // atExit (registered later) runs before rp's entry logic: 1 instance still free at depth 0.
    expect(deepest).toEqual([1, 3]);
    expect(atGroup).toEqual([4, 0]); // the dead thread's 4 instances are free again
    expect(rets).toEqual([]);
    expect(rp.nmissed).toBe(0);
    // exit_group inside die_group_in (depth 4): flushed at process exit too.
    expect(l.eng.freeCount(rpGroup)).toBe(4);
    expect(l.eng.inFlight(rpGroup)).toBe(0);
    expect(l.eng.freeCount(rp)).toBe(4);
  });
});

describe('SystemTap maxactive.exp idea (check 16)', () => {
  function overlapMisses(
    k: number,
    maxactive: number,
    seq = 0,
  ): { misses: number; hooked: number; solo: number } {
    const l = load(g.bytes, ['calls', 'overlap', String(k), String(seq)], { cpus: 2 });
    let hooked = 0;
    const rp: Kretprobe = {
      kp: { symbolName: 'overlap' },
      maxactive,
      handler: () => {
        hooked++;
        return 0;
      },
    };
    const soloRp: Kretprobe = { kp: { symbolName: 'solo' }, maxactive: 1, handler: () => 0 };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.registerKretprobe(soloRp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kv(text(r)).get('overlap')).toBe(String(k));
    expect(hooked + rp.nmissed!).toBe(k);
    return { misses: rp.nmissed!, hooked, solo: soloRp.nmissed! };
  }

  it('K14 + K21 + check 16: maxactive = 1 with k overlapping calls misses exactly k-1; non-overlapping calls never miss', () => {
    for (const k of [1, 2, 3, 5]) {
      const r = overlapMisses(k, 1, 4);
      expect(r.misses, `k=${k}`).toBe(k - 1);
      expect(r.hooked).toBe(1);
      expect(r.solo).toBe(0); // 8 sequential calls with maxactive = 1
    }
  });

  it('K14 + check 16: lowering maxactive never lowers the misses (k = 5 overlapping calls, maxactive 6..1)', () => {
    const k = 5;
    let prev = -1;
    for (let m = k + 1; m >= 1; m--) {
      const { misses } = overlapMisses(k, m);
      expect(misses).toBe(Math.max(0, k - m));
      expect(misses).toBeGreaterThanOrEqual(prev);
      prev = misses;
    }
  });
});
