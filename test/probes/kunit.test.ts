// Ports of the Linux KUnit kprobe tests (lib/tests/test_kprobes.c) to the emulated machine:
// test_kprobe, test_kprobes, test_kprobe_missed, test_kretprobe, test_kretprobes, the stack-trace
// tests (adapted to what a 2.6.13 return handler can see) and a jprobe smoke test (acceptance checks
// 6, 13, 14; rules K5, K7, K12, K14, K15, K21). Targets are in test/probes/guests/calls.c:
// kprobe_target(v) = v/3, kprobe_target2(v) = v/3 + 1, kprobe_recursed_target(v) = v/3.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Kprobe, Kretprobe, Jprobe } from '../../src/probes/kprobes.js';
import {
  buildProbeGuest,
  count,
  IF,
  kv,
  load,
  qemu,
  recordEvents,
  status,
  text,
  TRAMPOLINE,
} from './helpers.js';

let g: { path: string; bytes: Uint8Array };
beforeAll(() => {
  g = buildProbeGuest('calls');
});

// get_random_u32() in the kernel test; fixed here so failures reproduce.
const RANDS = [7, 300, 123456789, 2000000011];

describe('KUnit test_kprobes.c ports (check 13)', () => {
  for (const rand1 of RANDS)
    it(`K9 + K11 + check 13: test_kprobe (rand1=${rand1}) — pre and post handlers see the argument; v/3 unchanged`, () => {
      const l = load(g.bytes, ['calls', 'kunit', String(rand1)]);
      let prehVal = 0;
      let posthVal = 0;
      const kp: Kprobe = {
        symbolName: 'kprobe_target',
        preHandler: (_p, regs) => {
          // At the entry the cdecl argument is the word above the return address.
          expect(l.m.memory.read32(regs.sp + 4) >>> 0).toBe(rand1);
          prehVal = Math.floor(rand1 / 3);
          return 0;
        },
        postHandler: (_p, regs) => {
          // KUNIT_EXPECT_FALSE(preemptible()): the step runs with IF cleared.
          expect(regs.flags & IF).toBe(0);
          expect(prehVal).toBe(Math.floor(rand1 / 3));
          posthVal = prehVal + 3;
        },
      };
      expect(l.eng.registerKprobe(kp)).toBe(0);
      const r = l.m.run();
      expect(status(r), r.message).toBe('exit 0');
      expect(prehVal).not.toBe(0);
      expect(posthVal).not.toBe(0);
      expect(kv(text(r)).get('target')).toBe(String(Math.floor(rand1 / 3)));
      expect(kp.hits).toBe(1);
      expect(kp.nmissed).toBe(0);
    });

  it('K3 + check 13: test_kprobes — register_kprobes on target and target2, both fire once', () => {
    const rand1 = 123456789;
    const l = load(g.bytes, ['calls', 'kunit', String(rand1)]);
    const seen: string[] = [];
    const mk = (sym: string): Kprobe => ({
      symbolName: sym,
      preHandler: (_p, regs) => {
        seen.push(`pre ${sym} ${l.m.memory.read32(regs.sp + 4) >>> 0}`);
        return 0;
      },
      postHandler: () => {
        seen.push(`post ${sym}`);
      },
    });
    const kps = [mk('kprobe_target'), mk('kprobe_target2')];
    expect(l.eng.registerKprobes(kps)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(seen).toEqual([
      `pre kprobe_target ${rand1}`,
      'post kprobe_target',
      `pre kprobe_target2 ${rand1}`,
      'post kprobe_target2',
    ]);
    const out = kv(text(r));
    expect(out.get('target')).toBe(String(Math.floor(rand1 / 3)));
    expect(out.get('target2')).toBe(String(Math.floor(rand1 / 3) + 1));
    l.eng.unregisterKprobes(kps);
    expect(l.eng.addressOf(kps[0]!)).toBeUndefined();
  });

  it('K12 + check 6: test_kprobe_missed — reentry from the pre- and the post-handler: nmissed == 2, no nested handlers', () => {
    const rand1 = 300;
    const l = load(g.bytes, ['calls', 'kunit', String(rand1)]);
    const fn = l.sym('kprobe_recursed_target');
    let prehVal = 0;
    let posthVal = 0;
    let depth = 0;
    let nested = 0;
    const kp: Kprobe = {
      symbolName: 'kprobe_recursed_target',
      preHandler: () => {
        if (depth > 0) nested++;
        depth++;
        prehVal = l.eng.callGuest(fn, rand1); // this hit is missed
        depth--;
        return 0;
      },
      postHandler: () => {
        if (depth > 0) nested++;
        depth++;
        posthVal = l.eng.callGuest(fn, rand1); // and this one
        depth--;
      },
    };
    const events = recordEvents(l.eng);
    expect(l.eng.registerKprobe(kp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kp.nmissed).toBe(2);
    expect(nested).toBe(0);
    expect(prehVal).toBe(100);
    expect(posthVal).toBe(100);
    expect(count(events, 'reentry')).toBe(2);
    expect(kv(text(r)).get('recursed')).toBe('100');
  });

  for (const rand1 of RANDS.slice(1, 3))
    it(`K14 + K15 + check 13: test_kretprobe (rand1=${rand1}) — entry and return handlers, $retval == rand1/3`, () => {
      const l = load(g.bytes, ['calls', 'kunit', String(rand1)]);
      let krphVal = 0;
      const rp: Kretprobe = {
        kp: { symbolName: 'kprobe_target' },
        maxactive: 0,
        entryHandler: (_ri, regs) => {
          expect(l.m.memory.read32(regs.sp + 4) >>> 0).toBe(rand1);
          krphVal = Math.floor(rand1 / 3);
          return 0;
        },
        handler: (ri, regs) => {
          expect(regs.ax).toBe(Math.floor(rand1 / 3));
          expect(krphVal).not.toBe(0);
          expect(ri.task).toBe(l.m.currentTask);
          krphVal = rand1;
          return 0;
        },
      };
      expect(l.eng.registerKretprobe(rp)).toBe(0);
      const r = l.m.run();
      expect(status(r), r.message).toBe('exit 0');
      expect(krphVal).toBe(rand1);
      expect(text(r)).toBe(qemu(g.path, ['calls', 'kunit', String(rand1)]).stdout);
      expect(rp.nmissed).toBe(0);
    });

  it('K3 + K16 + check 13: test_kretprobes — register_kretprobes on target (v/3) and target2 (v/3+1)', () => {
    const rand1 = 2000000011;
    const l = load(g.bytes, ['calls', 'kunit', String(rand1)]);
    let krphVal = 0;
    const got: string[] = [];
    const rp1: Kretprobe = {
      kp: { symbolName: 'kprobe_target' },
      maxactive: 0,
      entryHandler: () => {
        krphVal = Math.floor(rand1 / 3);
        return 0;
      },
      handler: (_ri, regs) => {
        got.push(`target ${regs.ax}`);
        expect(regs.ax).toBe(Math.floor(rand1 / 3));
        krphVal = rand1;
        return 0;
      },
    };
    const rp2: Kretprobe = {
      kp: { symbolName: 'kprobe_target2' },
      maxactive: 0,
      entryHandler: () => {
        krphVal = Math.floor(rand1 / 3) + 1;
        return 0;
      },
      handler: (_ri, regs) => {
        got.push(`target2 ${regs.ax}`);
        expect(regs.ax).toBe(Math.floor(rand1 / 3) + 1);
        krphVal = rand1;
        return 0;
      },
    };
    expect(l.eng.registerKretprobes([rp1, rp2])).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(got).toEqual([`target ${Math.floor(rand1 / 3)}`, `target2 ${Math.floor(rand1 / 3) + 1}`]);
    expect(krphVal).toBe(rand1);
  });

  it('K12: a probe hit while a reentered probe is being stepped (second level) kills the task loudly; the run result stays valid', () => {
    const l = load(g.bytes, ['calls', 'kunit', '300']);
    // calls.c has no int3 of its own: use jprobe_return's, which is an original int3 outside probes.
    const inner: Kprobe = { symbolName: 'jprobe_return', preHandler: () => 0 };
    const outer: Kprobe = {
      symbolName: 'kprobe_target',
      preHandler: () => {
        l.eng.callGuest(l.sym('jprobe_return'));
        return 0;
      },
    };
    expect(l.eng.registerKprobe(inner)).toBe(0);
    expect(l.eng.registerKprobe(outer)).toBe(0);
    const r = l.m.run();
    // The reentered probe sits on an original int3, stepped in place: that int3 traps again while
    // the CPU is in KPROBE_REENTER: the task dies (SIGTRAP) with a message naming the address.
    expect(status(r)).toBe('signal 5');
    expect(inner.nmissed).toBe(1);
    expect(r.message).toMatch(/unrecoverable kprobe reentry/);
    expect(r.message).toContain(l.sym('jprobe_return').toString(16));
    expect(r.dump).toMatch(/eip=/);
  });

  it('K12 + K21: a kretprobe entry reentered from a handler counts in the entry kprobe nmissed, not rp.nmissed', () => {
    const l = load(g.bytes, ['calls', 'kunit', '300']);
    const rets: number[] = [];
    const rp: Kretprobe = {
      kp: { symbolName: 'kprobe_target2' },
      maxactive: 1,
      handler: (_ri, regs) => {
        rets.push(regs.ax);
        return 0;
      },
    };
    let inner = -1;
    const kp: Kprobe = {
      symbolName: 'kprobe_target',
      preHandler: () => {
        inner = l.eng.callGuest(l.sym('kprobe_target2'), 30);
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.registerKprobe(kp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(inner).toBe(11);
    expect(rp.kp.nmissed).toBe(1); // the reentered entry: no instance taken, no return hooked
    expect(rp.nmissed).toBe(0);
    expect(rp.kp.hits).toBe(1); // only the guest's own call dispatched the entry handler
    expect(rets).toEqual([101]);
    expect(l.eng.freeCount(rp)).toBe(1);
  });
});

describe('stack trace from a return handler, 2.6.13 style (test_stacktrace_on_kretprobe adapted)', () => {
  // What a 2.6.13 return handler sees (no kretprobe_find_ret_addr fix-up yet): EIP is the trampoline;
  // ESP is the caller's stack after `ret`, so the word just below it (the popped return address) is
  // the TRAMPOLINE, not the caller; ri.retAddr is the real return address (inside st_driver); EBP is
  // the caller's frame, so a frame-pointer walk from the handler finds [EBP+4] = the caller's own
  // return address, which is itself the trampoline when the caller is kretprobed too (nested test).
  function walk(nested: boolean): { frames: string[]; popped: number; ip: number } {
    const l = load(g.bytes, ['calls', 'stack']);
    const name = (a: number): string =>
      a === TRAMPOLINE ? 'TRAMPOLINE' : (l.m.symbols.symbolize(a)?.sym.name ?? a.toString(16));
    let frames: string[] = [];
    let popped = 0;
    let ip = 0;
    const rp: Kretprobe = {
      kp: { symbolName: 'st_target' },
      maxactive: 0,
      handler: (ri, regs) => {
        ip = regs.ip;
        popped = l.m.memory.read32(regs.sp - 4) >>> 0;
        frames = [name(ri.retAddr), name(l.m.memory.read32(regs.bp + 4) >>> 0)];
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const driverRets: string[] = [];
    if (nested) {
      const rp2: Kretprobe = {
        kp: { symbolName: 'st_driver' },
        maxactive: 0,
        handler: (ri) => {
          driverRets.push(name(ri.retAddr));
          return 0;
        },
      };
      expect(l.eng.registerKretprobe(rp2)).toBe(0);
    }
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kv(text(r)).get('stack')).toBe('13');
    if (nested) expect(driverRets).toEqual(['st_caller']);
    return { frames, popped, ip };
  }

  it('K15 + K20: return handler of st_target — ri.retAddr in st_driver, [EBP+4] in st_caller, popped word = trampoline', () => {
    const w = walk(false);
    expect(w.frames).toEqual(['st_driver', 'st_caller']);
    expect(w.popped).toBe(TRAMPOLINE);
    expect(w.ip).toBe(TRAMPOLINE + 1); // the trampoline's int3 has been taken
  });

  it('K15 + K16 + K20: nested (st_driver kretprobed too) — the frame walk meets the trampoline, not st_caller', () => {
    const w = walk(true);
    expect(w.frames).toEqual(['st_driver', 'TRAMPOLINE']);
  });
});

describe('jprobes (K7, check 14)', () => {
  it('K7 + check 14: jprobe smoke — the guest handler sees the arguments; the target then runs normally', () => {
    const l = load(g.bytes, ['calls', 'jprobe']);
    const jp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.registerJprobe(jp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    const out = text(r);
    expect(out).toBe('jp1=123\nseen=123\njp2=456\nseen=456\ncalls=2\ndone\n');
    expect(jp.kp.hits).toBe(2);
  });

  it('K7 + check 14: the first 64 bytes of stack and all registers are restored before the probed instruction runs', () => {
    const l = load(g.bytes, ['calls', 'jprobe']);
    const snaps: Array<{ sp: number; stack: number[]; regs: number[] }> = [];
    let diffs = 0;
    let checked = 0;
    // A plain kprobe at the same address (aggregate, K4): it runs before the jprobe and after the step.
    const kp: Kprobe = {
      symbolName: 'jp_target',
      preHandler: (_p, regs) => {
        snaps.push({
          sp: regs.sp,
          stack: Array.from(l.m.memory.peek(regs.sp, 64)),
          regs: [regs.ax, regs.bx, regs.cx, regs.dx, regs.si, regs.di, regs.bp],
        });
        return 0;
      },
      postHandler: (_p, regs) => {
        const s = snaps[checked++]!;
        // The stepped instruction is `push %ebp` (ESP - 4); everything the jprobe handler scribbled
        // over in [sp, sp+64) must be back.
        expect(regs.sp).toBe(s.sp - 4);
        const now = Array.from(l.m.memory.peek(s.sp, 64));
        for (let i = 0; i < 64; i++) if (now[i] !== s.stack[i]) diffs++;
        expect([regs.ax, regs.bx, regs.cx, regs.dx, regs.si, regs.di]).toEqual(s.regs.slice(0, 6));
      },
    };
    const jp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    expect(l.eng.registerJprobe(jp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(checked).toBe(2);
    expect(diffs).toBe(0);
    expect(kv(text(r)).get('jp2')).toBe('456');
  });

  it('K12 + check 6: a kprobe hit inside the jprobe body is a reentry — nmissed 1 per hit, its handlers never run', () => {
    const l = load(g.bytes, ['calls', 'jprobe']);
    let ran = 0;
    const inner: Kprobe = {
      symbolName: 'jp_handler',
      preHandler: () => {
        ran++;
        return 0;
      },
      postHandler: () => {
        ran++;
      },
    };
    const jp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.registerJprobe(jp)).toBe(0);
    expect(l.eng.registerKprobe(inner)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe('jp1=123\nseen=123\njp2=456\nseen=456\ncalls=2\ndone\n');
    expect(ran).toBe(0);
    expect(inner.nmissed).toBe(2);
  });

  for (const order of ['kretprobe first', 'jprobe first'])
    it(`K4 + K7 + K14: a jprobe and a kretprobe on one function (${order}) — handler sees the args, return handler the value`, () => {
      const l = load(g.bytes, ['calls', 'jprobe']);
      const jp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
      const rets: number[] = [];
      const rp: Kretprobe = {
        kp: { symbolName: 'jp_target' },
        maxactive: 1,
        handler: (_ri, regs) => {
          rets.push(regs.ax);
          return 0;
        },
      };
      if (order === 'jprobe first') {
        expect(l.eng.registerJprobe(jp)).toBe(0);
        expect(l.eng.registerKretprobe(rp)).toBe(0);
      } else {
        expect(l.eng.registerKretprobe(rp)).toBe(0);
        expect(l.eng.registerJprobe(jp)).toBe(0);
      }
      const r = l.m.run();
      expect(status(r), r.message).toBe('exit 0');
      expect(text(r)).toBe('jp1=123\nseen=123\njp2=456\nseen=456\ncalls=2\ndone\n');
      expect(rets).toEqual([123, 456]);
      expect(rp.nmissed).toBe(0);
      expect(l.eng.freeCount(rp)).toBe(1);
    });
});
