// Registration and unregistration rules: instruction boundaries and reserved code (K1, K2),
// all-or-nothing batches (K3), aggregates (K4, K5, check 5), kretprobe defaults and limits (K6),
// unregistering what was never registered (K22, K23, check 12), and the kprobe_events syntax through
// a real ProbeSession (K24, K25, check 15).

import { beforeAll, describe, expect, it } from 'vitest';
import { ProbeSession, ProbeSpecError } from '../../src/recorder/session.js';
import type { CallRecord, RunSink } from '../../src/trace/records.js';
import {
  CALL_GUEST_RETURN,
  RESERVED_BASE,
  TRAMPOLINE_ADDR,
  type Jprobe,
  type Kprobe,
  type Kretprobe,
} from '../../src/probes/kprobes.js';
import { PROT_EXEC, PROT_WRITE } from '../../src/emulator/memory.js';
import { buildProbeGuest, count, decodeFunction, kv, load, recordEvents, status, text } from './helpers.js';

let calls: { path: string; bytes: Uint8Array };
let insns: { path: string; bytes: Uint8Array };
beforeAll(() => {
  calls = buildProbeGuest('calls');
  insns = buildProbeGuest('insns');
});

const hex = (a: number): string => `0x${(a >>> 0).toString(16)}`;

describe('K1, K2: where a probe may go', () => {
  it('K1: an offset inside an instruction is EINVAL and lastError names the nearest boundary', () => {
    const l = load(insns.bytes, ['insns']);
    const base = l.sym('t_jcc'); // 8b 4c 24 04  movl 4(%esp), %ecx ; then 31 c0 ...
    expect(decodeFunction(l.m, 't_jcc')[0]!.len).toBe(4);
    const before = Array.from(l.m.memory.peek(base, 8));
    expect(l.eng.registerKprobe({ symbolName: 't_jcc', offset: 1, preHandler: () => 0 })).toBe('EINVAL');
    expect(l.eng.lastError).toContain(`nearest boundary ${hex(base)}`);
    expect(l.eng.registerKprobe({ symbolName: 't_jcc', offset: 3, preHandler: () => 0 })).toBe('EINVAL');
    expect(l.eng.lastError).toContain(`nearest boundary ${hex(base + 4)}`);
    expect(l.eng.registerKprobe({ addr: base + 2, preHandler: () => 0 })).toBe('EINVAL');
    expect(Array.from(l.m.memory.peek(base, 8))).toEqual(before); // nothing written
    expect(l.eng.registerKprobe({ symbolName: 't_jcc', offset: 4, preHandler: () => 0 })).toBe(0);
  });

  it('K1: boundaries are decoded from the ORIGINAL text, through breakpoints already written', () => {
    const l = load(insns.bytes, ['insns', 'jcc']);
    const hits: string[] = [];
    const mk = (off: number): Kprobe => ({
      symbolName: 't_jcc',
      offset: off,
      preHandler: () => {
        hits.push(`+${off}`);
        return 0;
      },
    });
    // Register back to front so every boundary check decodes across 0xCC bytes we wrote.
    const offs = decodeFunction(l.m, 't_jcc').map((i) => i.addr - l.sym('t_jcc'));
    for (const off of [...offs].reverse()) expect(l.eng.registerKprobe(mk(off)), `+${off}`).toBe(0);
    expect(l.eng.registerKprobe({ symbolName: 't_jcc', offset: 1, preHandler: () => 0 })).toBe('EINVAL');
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kv(text(r)).get('jcc0')).toBe('1');
    expect(kv(text(r)).get('jcc1')).toBe('11');
    expect(hits.filter((h) => h === '+0')).toHaveLength(2);
  });

  it('K1: unknown symbols, data and unmapped addresses, and a second registration of the same object are EINVAL', () => {
    const l = load(insns.bytes, ['insns']);
    expect(l.eng.registerKprobe({ symbolName: 'no_such_symbol' })).toBe('EINVAL');
    expect(l.eng.registerKprobe({ symbolName: 'fault_good' })).toBe('EINVAL'); // .data, not executable
    expect(l.eng.lastError).toMatch(/executable/);
    expect(l.eng.registerKprobe({ addr: 0 })).toBe('EINVAL');
    expect(l.eng.registerKprobe({})).toBe('EINVAL');
    const kp: Kprobe = { symbolName: 't_ret', preHandler: () => 0 };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    expect(l.eng.registerKprobe(kp)).toBe('EINVAL');
    expect(l.eng.unregisterKprobe(kp)).toBe(0);
  });

  it('K2: the trampoline, the callGuest stub and the slot pages are refused (EINVAL), also as kretprobes', () => {
    const l = load(insns.bytes, ['insns']);
    for (const a of [TRAMPOLINE_ADDR, CALL_GUEST_RETURN, RESERVED_BASE + 0x1000, RESERVED_BASE + 0x1010]) {
      expect(l.eng.registerKprobe({ addr: a, preHandler: () => 0 }), hex(a)).toBe('EINVAL');
      expect(l.eng.lastError).toMatch(/reserved/);
    }
    expect(l.eng.registerKretprobe({ kp: { addr: TRAMPOLINE_ADDR }, maxactive: 1 })).toBe('EINVAL');
    expect(l.eng.isReserved(TRAMPOLINE_ADDR)).toBe(true);
    expect(l.eng.isReserved(l.sym('t_ret'))).toBe(false);
  });
});

describe('K10: out-of-line slots', () => {
  it('K10: slots live in the reserved page range, mapped executable and not writable by the guest', () => {
    const l = load(insns.bytes, ['insns', 'callrel']);
    let slot = 0;
    const kp: Kprobe = {
      symbolName: 'l_callrel',
      postHandler: (_p, regs) => {
        slot = (l.m.memory.read32(regs.sp) >>> 0) - 5; // the pushed return address before the fix-up
      },
    };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    expect(status(l.m.run())).toBe('exit 0');
    expect(l.eng.isReserved(slot)).toBe(true);
    expect(slot % 16).toBe(0);
    const prot = l.m.memory.protOf(slot);
    expect(prot & PROT_EXEC).toBe(PROT_EXEC);
    expect(prot & PROT_WRITE).toBe(0);
    // the slot holds a copy of the original instruction (e8 rel32), not the breakpoint
    expect(l.m.memory.peek(slot, 1)[0]).toBe(0xe8);
  });
});

describe('K3: batches are all or nothing', () => {
  it('K3: register_kprobes with a bad third probe unregisters the first two and returns the first error', () => {
    const l = load(insns.bytes, ['insns', 'all']);
    const a: Kprobe = { symbolName: 't_ret', preHandler: () => 0 };
    const b: Kprobe = { symbolName: 't_jmp8', preHandler: () => 0 };
    const bad: Kprobe = { symbolName: 't_jcc', offset: 1, preHandler: () => 0 };
    const orig = [l.m.memory.peek(l.sym('t_ret'), 1)[0], l.m.memory.peek(l.sym('t_jmp8'), 1)[0]];
    expect(l.eng.registerKprobes([a, b, bad])).toBe('EINVAL');
    expect(l.eng.addressOf(a)).toBeUndefined();
    expect(l.eng.addressOf(b)).toBeUndefined();
    expect([l.m.memory.peek(l.sym('t_ret'), 1)[0], l.m.memory.peek(l.sym('t_jmp8'), 1)[0]]).toEqual(orig);
    expect(l.eng.unregisterKprobe(a)).toBe('ENOENT');
    // and the same objects can be registered afterwards
    expect(l.eng.registerKprobes([a, b])).toBe(0);
    const r = l.m.run();
    expect(status(r)).toBe('exit 0');
    expect(a.hits).toBe(1);
  });

  it('K3 + K6: register_kretprobes with an E2BIG one rolls back the good one', () => {
    const l = load(calls.bytes, ['calls', 'kunit', '30']);
    const good: Kretprobe = { kp: { symbolName: 'kprobe_target' }, maxactive: 2, handler: () => 0 };
    const big: Kretprobe = { kp: { symbolName: 'kprobe_target2' }, maxactive: 2, dataSize: 4097 };
    const origByte = l.m.memory.peek(l.sym('kprobe_target'), 1)[0];
    expect(l.eng.registerKretprobes([good, big])).toBe('E2BIG');
    expect(l.eng.freeCount(good)).toBe(0);
    expect(l.m.memory.peek(l.sym('kprobe_target'), 1)[0]).toBe(origByte);
    expect(l.eng.unregisterKretprobe(good)).toBe('ENOENT');
    const events = recordEvents(l.eng);
    const r = l.m.run();
    expect(status(r)).toBe('exit 0');
    expect(events).toEqual([]);
  });
});

describe('K4, K5: aggregate probes (check 5)', () => {
  it('K4 + K5 + check 5: kprobes A then B, then a jprobe at one address — pre B, A, jprobe last; post B, A; second jprobe EEXIST; unregister A keeps B', () => {
    const l = load(calls.bytes, ['calls', 'jprobe']);
    const jpCalls = l.sym('jp_calls');
    const calls_ = (): number => l.m.memory.read32(jpCalls);
    const log: string[] = [];
    const mk = (name: string): Kprobe => ({
      symbolName: 'jp_target',
      preHandler: () => {
        log.push(`pre ${name} ${calls_()}`);
        return 0;
      },
      postHandler: () => {
        log.push(`post ${name} ${calls_()}`);
      },
    });
    const a = mk('A');
    const b = mk('B');
    const jp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    const jp2: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.registerKprobe(a)).toBe(0);
    expect(l.eng.registerKprobe(b)).toBe(0);
    expect(l.eng.registerJprobe(jp)).toBe(0);
    expect(l.eng.registerJprobe(jp2)).toBe('EEXIST');
    const events = recordEvents(l.eng);
    // Unregister A just before the second call hits (an exec hook runs before the int3 executes, as
    // another CPU could unregister between two hits; Linux forbids unregistering from a handler).
    const at = l.sym('jp_target');
    l.m.addCodeHook((_task, addr) => {
      if (addr === at && calls_() === 1 && l.eng.addressOf(a) !== undefined) {
        expect(l.eng.unregisterKprobe(a)).toBe(0);
        expect(l.m.memory.peek(at, 1)[0]).toBe(0xcc); // still armed for B and the jprobe
      }
    }, at);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    // The jprobe body ran between the pre- and the post-handlers (jp_calls went 0 -> 1).
    expect(log).toEqual(['pre B 0', 'pre A 0', 'post B 1', 'post A 1', 'pre B 1', 'post B 2']);
    expect(text(r)).toBe('jp1=123\nseen=123\njp2=456\nseen=456\ncalls=2\ndone\n');
    // One 'kprobe' event per child dispatched: B, A, jprobe; then B, jprobe.
    const kp = events.filter((e) => e.kind === 'kprobe').map((e) => e.probe);
    expect(kp).toEqual([b, a, jp.kp, b, jp.kp]);
    expect(count(events, 'break')).toBe(2);
    expect(l.eng.unregisterKprobe(b)).toBe(0);
    expect(l.eng.unregisterJprobe(jp)).toBe(0);
    expect(l.m.memory.peek(l.sym('jp_target'), 1)[0]).toBe(0x55);
  });

  it('K1 + K4 + K7: registering the same jprobe twice is EINVAL and leaves the registered jprobe intact (still EEXIST for another)', () => {
    const l = load(calls.bytes, ['calls', 'jprobe']);
    const jp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.registerJprobe(jp)).toBe(0);
    expect(l.eng.registerJprobe(jp)).toBe('EINVAL');
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe('jp1=123\nseen=123\njp2=456\nseen=456\ncalls=2\ndone\n');
    const other: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.registerJprobe(other)).toBe('EEXIST');
  });

  it('K5: the first pre-handler returning non-zero stops the list (and skips the single-step and all post-handlers)', () => {
    const l = load(insns.bytes, ['insns', 'jmp8']);
    const log: string[] = [];
    const target = l.sym('l_jmp8') + 2;
    const a: Kprobe = {
      symbolName: 'l_jmp8',
      preHandler: () => {
        log.push('pre A');
        return 0;
      },
      postHandler: () => {
        log.push('post A');
      },
    };
    const b: Kprobe = {
      symbolName: 'l_jmp8',
      preHandler: (_p, regs) => {
        log.push('pre B');
        regs.ip = target;
        return 1;
      },
      postHandler: () => {
        log.push('post B');
      },
    };
    expect(l.eng.registerKprobe(a)).toBe(0);
    expect(l.eng.registerKprobe(b)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(log).toEqual(['pre B']);
    expect(kv(text(r)).get('jmp8')).toBe('2');
    expect(a.hits).toBe(0);
  });
});

describe('K6: kretprobe registration', () => {
  for (const [cpus, preempt, want] of [
    [1, true, 10],
    [4, true, 10],
    [8, true, 16],
    [1, false, 1],
    [4, false, 4],
    [8, false, 8],
  ] as const)
    it(`K6: maxactive 0 with ${cpus} CPUs, preempt ${preempt} → ${want} instances (2.6.13 default)`, () => {
      const l = load(calls.bytes, ['calls'], { cpus, preempt });
      const rp: Kretprobe = { kp: { symbolName: 'kprobe_target' }, maxactive: 0 };
      expect(l.eng.registerKretprobe(rp)).toBe(0);
      expect(rp.maxactive).toBe(want);
      expect(l.eng.freeCount(rp)).toBe(want);
      const neg: Kretprobe = { kp: { symbolName: 'kprobe_target2' }, maxactive: -5 };
      expect(l.eng.registerKretprobe(neg)).toBe(0);
      expect(neg.maxactive).toBe(want);
    });

  it('K6: data_size 4097 is E2BIG; 4096 works and each instance carries 4096 private bytes', () => {
    const l = load(calls.bytes, ['calls', 'kunit', '30']);
    expect(
      l.eng.registerKretprobe({ kp: { symbolName: 'kprobe_target' }, maxactive: 1, dataSize: 4097 }),
    ).toBe('E2BIG');
    const sizes: number[] = [];
    const rp: Kretprobe = {
      kp: { symbolName: 'kprobe_target' },
      maxactive: 1,
      dataSize: 4096,
      entryHandler: (ri) => {
        ri.data[4095] = 0xab;
        return 0;
      },
      handler: (ri) => {
        sizes.push(ri.data.length, ri.data[4095]!);
        return 0;
      },
    };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(status(l.m.run())).toBe('exit 0');
    expect(sizes).toEqual([4096, 0xab]);
  });

  it('K6: a return probe that is not at a function entry (sym+off, or a label inside a function) is EINVAL', () => {
    const l = load(insns.bytes, ['insns']);
    const first = decodeFunction(l.m, 't_jcc')[0]!.len;
    expect(l.eng.registerKretprobe({ kp: { symbolName: 't_jcc', offset: first }, maxactive: 1 })).toBe(
      'EINVAL',
    );
    expect(l.eng.registerKretprobe({ kp: { symbolName: 'l_jcc' }, maxactive: 1 })).toBe('EINVAL');
    expect(l.eng.registerKretprobe({ kp: { addr: l.sym('l_jcc') }, maxactive: 1 })).toBe('EINVAL');
    // nothing was left behind
    expect(l.m.memory.peek(l.sym('l_jcc'), 1)[0]).not.toBe(0xcc);
    expect(l.eng.registerKretprobe({ kp: { symbolName: 't_jcc' }, maxactive: 1 })).toBe(0);
    const rp: Kretprobe = { kp: { symbolName: 't_ret' }, maxactive: 1 };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    expect(l.eng.registerKretprobe(rp)).toBe('EINVAL');
  });
});

describe('K22, K23: unregistering what is not registered (check 12)', () => {
  it('K22 + check 12: unregister of a never-registered kprobe/jprobe/kretprobe is ENOENT and changes nothing', () => {
    const l = load(calls.bytes, ['calls', 'kunit', '300']);
    const live: Kprobe = { symbolName: 'kprobe_target', preHandler: () => 0 };
    expect(l.eng.registerKprobe(live)).toBe(0);
    const textStart = l.sym('kprobe_target');
    const before = Array.from(l.m.memory.peek(textStart, 64));
    const never: Kprobe = { symbolName: 'kprobe_target', preHandler: () => 0 };
    const neverRp: Kretprobe = { kp: { symbolName: 'kprobe_target2' }, maxactive: 1 };
    const neverJp: Jprobe = { kp: { symbolName: 'jp_target' }, entry: l.sym('jp_handler') };
    expect(l.eng.unregisterKprobe(never)).toBe('ENOENT');
    expect(l.eng.unregisterKretprobe(neverRp)).toBe('ENOENT');
    expect(l.eng.unregisterJprobe(neverJp)).toBe('ENOENT');
    expect(Array.from(l.m.memory.peek(textStart, 64))).toEqual(before);
    expect(l.eng.addressOf(live)).toBe(textStart);
    const r = l.m.run();
    expect(status(r)).toBe('exit 0');
    expect(live.hits).toBe(1);
  });

  it('K22: unregistering twice, or after the address went to a different probe, is ENOENT; the new probe keeps working', () => {
    const l = load(calls.bytes, ['calls', 'kunit', '300']);
    const p1: Kprobe = { symbolName: 'kprobe_target', preHandler: () => 0 };
    const p2: Kprobe = { symbolName: 'kprobe_target', preHandler: () => 0 };
    expect(l.eng.registerKprobe(p1)).toBe(0);
    expect(l.eng.unregisterKprobe(p1)).toBe(0);
    expect(l.eng.unregisterKprobe(p1)).toBe('ENOENT');
    expect(l.eng.registerKprobe(p2)).toBe(0);
    expect(l.eng.unregisterKprobe(p1)).toBe('ENOENT'); // the address now belongs to p2
    expect(l.m.memory.peek(l.sym('kprobe_target'), 1)[0]).toBe(0xcc);
    const r = l.m.run();
    expect(status(r)).toBe('exit 0');
    expect(p2.hits).toBe(1);
    expect(p1.hits).toBe(0);
  });

  it('K22 + K23: unregistering one child of an aggregate keeps the breakpoint; the last one restores the byte', () => {
    const l = load(calls.bytes, ['calls', 'kunit', '300']);
    const at = l.sym('kprobe_target');
    const orig = l.m.memory.peek(at, 1)[0];
    const a: Kprobe = { symbolName: 'kprobe_target', preHandler: () => 0 };
    const b: Kprobe = { symbolName: 'kprobe_target', preHandler: () => 0 };
    expect(l.eng.registerKprobe(a)).toBe(0);
    expect(l.eng.registerKprobe(b)).toBe(0);
    expect(l.eng.unregisterKprobe(a)).toBe(0);
    expect(l.m.memory.peek(at, 1)[0]).toBe(0xcc);
    expect(l.eng.unregisterKprobe(a)).toBe('ENOENT');
    expect(l.m.memory.peek(at, 1)[0]).toBe(0xcc);
    expect(l.eng.unregisterKprobe(b)).toBe(0);
    expect(l.m.memory.peek(at, 1)[0]).toBe(orig);
    expect(l.eng.originalByte(at)).toBe(orig);
  });
});

describe('K24, K25: kprobe_events syntax on a real guest (check 15)', () => {
  const sink = (): { sink: RunSink; calls: CallRecord[] } => {
    const calls: CallRecord[] = [];
    const s = new Proxy(
      {},
      {
        get: (_t, name) => (r: CallRecord) => {
          if (name === 'call') calls.push({ ...r });
        },
      },
    ) as RunSink;
    return { sink: s, calls };
  };
  const session = (probes: string[]): ProbeSession =>
    new ProbeSession(calls.bytes, { argv: ['calls', 'kunit', '300'], probes }, sink().sink);
  const reject = (spec: string): string => {
    try {
      session([spec]);
    } catch (e) {
      if (e instanceof ProbeSpecError) return e.code;
      throw e;
    }
    return 'accepted';
  };

  it('K25 + check 15: the ftrace selftest lists — r1000000: and r10fuzz: rejected, r10: accepted, $retval on p rejected', () => {
    expect(reject('r1000000:myprobe kprobe_target')).toBe('MAXACT_TOO_BIG');
    expect(reject('r10fuzz:myprobe kprobe_target')).toBe('BAD_MAXACT');
    expect(reject('r0:myprobe kprobe_target')).toBe('BAD_MAXACT');
    expect(reject('p10:myprobe kprobe_target')).toBe('MAXACT_NO_KPROBE');
    expect(reject('p:myprobe kprobe_target $retval')).toBe('RETVAL_ON_PROBE');
    expect(reject('p:myprobe no_such_function')).toBe('BAD_PROBE_ADDR');
    expect(reject('r10:myprobe kprobe_target')).toBe('accepted');
    expect(reject('r4096:myprobe kprobe_target')).toBe('accepted');
    expect(reject('r4097:myprobe kprobe_target')).toBe('MAXACT_TOO_BIG');
  });

  it('jprobe lines go through the same parser: a missing or unknown handler is refused by name', () => {
    expect(reject('j:jw kprobe_target')).toBe('NO_JPROBE_HANDLER');
    expect(reject('j:jw kprobe_target no_such_handler')).toBe('BAD_JPROBE_HANDLER');
    expect(reject('j:jw no_such_function kprobe_target')).toBe('BAD_PROBE_ADDR');
  });

  it('K1 + K25 + check 15: instruction boundaries and function entries come from the real decoder', () => {
    const l = load(calls.bytes, ['calls']);
    const insn = decodeFunction(l.m, 'kprobe_target');
    const multi = insn.find((i) => i.len > 1)!;
    const off = multi.addr - l.sym('kprobe_target');
    expect(reject(`p:myprobe kprobe_target+${off + 1}`)).toBe('BAD_INSN_BNDRY');
    expect(reject(`p:myprobe kprobe_target+${off}`)).toBe('accepted');
    expect(reject(`r:myprobe kprobe_target+${off}`)).toBe('BAD_RETPROBE');
  });

  it('K24 + K6 + check 15: an accepted r10: probe gets maxactive 10 in the engine and records the return with $retval', () => {
    const { sink: s, calls: rows } = sink();
    const ses = new ProbeSession(
      calls.bytes,
      { argv: ['calls', 'kunit', '300'], probes: ['r10:myprobe kprobe_target $retval'] },
      s,
    );
    expect(ses.probes[0]!.maxactive).toBe(10);
    expect(ses.probes[0]!.rp!.maxactive).toBe(10);
    expect(ses.engine.freeCount(ses.probes[0]!.rp!)).toBe(10);
    const r = ses.run();
    expect(status(r)).toBe('exit 0');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.retval).toBe(100); // retval = 300/3
  });
});
