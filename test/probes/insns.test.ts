// Acceptance checks 1-4 and rules K8, K9, K10, K11, K13 on hand-written instruction targets
// (test/probes/guests/insns.c): a kprobe on each interesting instruction kind, with pre- and
// post-handlers, must leave the guest's output exactly as without probes (and as on qemu-i386), while
// the handlers see the 2.6.13 i386 register picture (pre-handler: EIP = probe + 1, after the int3;
// post-handler: EIP inside the out-of-line slot, before resume_execution's fix-up).

import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/emulator/machine.js';
import { RESERVED_BASE, RESERVED_PAGES, type Kprobe, type ProbeEngine } from '../../src/probes/kprobes.js';
import {
  buildProbeGuest,
  dumpEip,
  dumpReg,
  IF,
  insnLen,
  kv,
  load,
  qemu,
  recordEvents,
  count,
  runPlain,
  status,
  text,
  TF,
  type Loaded,
} from './helpers.js';

const PAGE = 4096;
const inReserved = (a: number): boolean =>
  a >>> 0 >= RESERVED_BASE && a >>> 0 < RESERVED_BASE + RESERVED_PAGES * PAGE;

let g: { path: string; bytes: Uint8Array };
beforeAll(() => {
  g = buildProbeGuest('insns');
});

interface Obs {
  pre: Array<{ ip: number; flags: number; sp: number; tos: number }>;
  post: Array<{ ip: number; flags: number; sp: number; tos: number }>;
}

/** Runs `insns <case>` with a pre+post kprobe on each label; returns the run, observations and engine. */
function probed(
  c: string,
  labels: string[],
  extra?: (l: Loaded, kps: Kprobe[]) => void,
): { r: RunResult; obs: Map<string, Obs>; l: Loaded; kps: Kprobe[] } {
  const l = load(g.bytes, ['insns', c]);
  const obs = new Map<string, Obs>();
  const kps: Kprobe[] = [];
  for (const name of labels) {
    const o: Obs = { pre: [], post: [] };
    obs.set(name, o);
    const kp: Kprobe = {
      symbolName: name,
      preHandler: (_p, regs) => {
        o.pre.push({ ip: regs.ip, flags: regs.flags, sp: regs.sp, tos: l.m.memory.read32(regs.sp) >>> 0 });
        return 0;
      },
      postHandler: (_p, regs) => {
        o.post.push({ ip: regs.ip, flags: regs.flags, sp: regs.sp, tos: l.m.memory.read32(regs.sp) >>> 0 });
      },
    };
    expect(l.eng.registerKprobe(kp), `${name}: ${l.eng.lastError}`).toBe(0);
    kps.push(kp);
  }
  extra?.(l, kps);
  const r = l.m.run();
  return { r, obs, l, kps };
}

function baseline(c: string): RunResult {
  return runPlain(g.bytes, ['insns', c]);
}

/** The guest prints the same with the probes as without; every probe was hit `hits` times. */
function sameAsBaseline(
  c: string,
  labels: string[],
  hits = 1,
): { out: Map<string, string>; obs: Map<string, Obs>; l: Loaded } {
  const base = baseline(c);
  const { r, obs, l } = probed(c, labels);
  expect(status(r), r.message).toBe('exit 0');
  expect(text(r)).toBe(text(base));
  for (const name of labels) {
    const o = obs.get(name)!;
    const at = l.sym(name);
    expect(o.pre.length, `${name} pre-handler calls`).toBe(hits);
    expect(o.post.length, `${name} post-handler calls`).toBe(hits);
    // 2.6.13 i386: the pre-handler sees EIP just after the int3 (probe address + 1).
    for (const p of o.pre) expect(p.ip).toBe(at + 1);
    // The post-handler runs after the out-of-line single step, before the fix-up: with TF set.
    for (const p of o.post) expect(p.flags & TF).toBe(TF);
  }
  return { out: kv(text(r)), obs, l };
}

describe('resume_execution on every instruction kind (K11, checks 1-3)', () => {
  it('reference: the "all" run prints the same on the emulator (no engine, with engine, all probes) and qemu-i386', () => {
    const labels = [
      'l_pushf',
      'l_pushfw',
      'l_callrel',
      'l_callind',
      'l_callmem',
      'l_callpfx',
      'l_callpfx2',
      'l_ret',
      'l_ret8',
      'l_jmp8',
      'l_jmp32',
      'l_jcc',
      'l_jcc32',
      'l_jccpfx',
      'l_jccpfx2',
      'l_jmpind',
      'l_jmptab',
      'l_o16',
      'l_o16b',
      'l_loop',
    ]; // l_popf and l_sys have their own tests (K9, K1)
    const ref = qemu(g.path, ['insns', 'all']);
    expect(ref.status).toBe('exit 0');
    const base = baseline('all');
    expect(text(base)).toBe(ref.stdout);
    // Engine attached, no probes.
    const l0 = load(g.bytes, ['insns', 'all']);
    expect(text(l0.m.run())).toBe(ref.stdout);
    const { r } = probed('all', labels);
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe(ref.stdout);
  });

  it('K11 + check 1: kprobe on pushf — the pushed flags show the guest IF=1/TF=0, not the stepping TF=1/IF=0', () => {
    const { out, obs } = sameAsBaseline('pushf', ['l_pushf']);
    expect(out.get('pushf')).toBe('00000200');
    const o = obs.get('l_pushf')!;
    expect(o.pre[0]!.flags & (TF | IF)).toBe(IF);
    // Before resume_execution the pushed word still holds the single-step flags (TF set, IF clear).
    expect(o.post[0]!.tos & (TF | IF)).toBe(TF);
  });

  it('K11 + check 1: kprobe on 66 9c (pushfw) — the 16-bit pushed flags are fixed too (prefix handled)', () => {
    const { out, obs } = sameAsBaseline('pushfw', ['l_pushfw']);
    expect(out.get('pushfw')).toBe('00000200');
    expect(obs.get('l_pushfw')!.post[0]!.tos & 0xffff & (TF | IF)).toBe(TF);
  });

  it('K10 + K11 + check 2: kprobe on call rel32 — callee sees return address probe+5, reaches the target', () => {
    const { out, obs, l } = sameAsBaseline('callrel', ['l_callrel']);
    const at = l.sym('l_callrel');
    expect(parseInt(out.get('callrel')!, 16)).toBe(at + 5);
    expect(at + 5).toBe(l.sym('l_callrel_after'));
    // K10: the step ran in a reserved slot; before the fix-up the pushed address is slot+5 and EIP
    // is the callee displaced by (slot - probe), exactly what 2.6.13's resume_execution relocates.
    const post = obs.get('l_callrel')!.post[0]!;
    expect(inReserved(post.tos)).toBe(true);
    const slot = post.tos - 5;
    expect(post.ip).toBe((l.sym('callee_ra') + (slot - at)) >>> 0);
  });

  it('K11 + check 2: kprobe on call *%eax (ff d0) — return address probe+2, absolute target kept', () => {
    const { out, obs, l } = sameAsBaseline('callind', ['l_callind']);
    expect(parseInt(out.get('callind')!, 16)).toBe(l.sym('l_callind') + 2);
    expect(obs.get('l_callind')!.post[0]!.ip).toBe(l.sym('callee_ra'));
  });

  it('K11 + check 2: kprobe on call *mem (ff 15 disp32) — return address probe+6', () => {
    const { out, l } = sameAsBaseline('callmem', ['l_callmem']);
    expect(parseInt(out.get('callmem')!, 16)).toBe(l.sym('l_callmem') + 6);
  });

  it('K11 + check 2: kprobe on prefixed calls (3e e8 rel32, 2e ff d0) — return address probe+len', () => {
    const a = sameAsBaseline('callpfx', ['l_callpfx']);
    expect(insnLen(a.l, a.l.sym('l_callpfx'))).toBe(6);
    expect(parseInt(a.out.get('callpfx')!, 16)).toBe(a.l.sym('l_callpfx') + 6);
    const b = sameAsBaseline('callpfx2', ['l_callpfx2']);
    expect(parseInt(b.out.get('callpfx2')!, 16)).toBe(b.l.sym('l_callpfx2') + 3);
  });

  it('K11 + check 3: kprobe on ret — EIP is the popped return address, not relocated', () => {
    const { out } = sameAsBaseline('ret', ['l_ret']);
    expect(out.get('ret')).toBe('00001234');
  });

  it('K11 + check 3: kprobe on ret $8 — EIP and ESP right after the callee pops its arguments', () => {
    const { out } = sameAsBaseline('ret8', ['l_ret8']);
    expect(out.get('ret8')).toBe('12');
    expect(out.get('ret8_esp_delta')).toBe('0');
  });

  it('K11 + check 3: kprobe on jmp rel8 and jmp rel32 — EIP = probe + (EIP - slot)', () => {
    expect(sameAsBaseline('jmp8', ['l_jmp8']).out.get('jmp8')).toBe('1');
    expect(sameAsBaseline('jmp32', ['l_jmp32']).out.get('jmp32')).toBe('1');
  });

  it('K11 + check 3: kprobe on jcc rel8 / jcc rel32, taken and not taken', () => {
    const a = sameAsBaseline('jcc', ['l_jcc'], 2);
    expect([a.out.get('jcc0'), a.out.get('jcc1')]).toEqual(['1', '11']);
    const b = sameAsBaseline('jcc32', ['l_jcc32'], 2);
    expect([b.out.get('jcc32_0'), b.out.get('jcc32_1')]).toEqual(['2', '21']);
  });

  it('K11 + check 3: kprobe on 2e/3e-prefixed jcc (branch hints) — relative targets still right', () => {
    const { out } = sameAsBaseline('jccpfx', ['l_jccpfx', 'l_jccpfx2'], 3);
    expect([out.get('jccpfx0'), out.get('jccpfx1'), out.get('jccpfx2')]).toEqual([
      '00000001',
      '00000111',
      '00000101',
    ]);
  });

  it('K11 + check 3: kprobe on jmp *%eax and jmp *tab(,%ecx,4) — absolute EIP kept', () => {
    expect(sameAsBaseline('jmpind', ['l_jmpind']).out.get('jmpind')).toBe('42');
    const t = sameAsBaseline('jmptab', ['l_jmptab'], 2);
    expect([t.out.get('jmptab0'), t.out.get('jmptab1')]).toEqual(['50', '60']);
  });

  it('K1 + K11: kprobes on 66-prefixed sequential instructions (66 05 iw, 66 b9 iw) — lengths from the prefix', () => {
    const { out, l } = sameAsBaseline('o16', ['l_o16', 'l_o16b']);
    expect(insnLen(l, l.sym('l_o16'))).toBe(4);
    expect(out.get('o16')).toBe('00011234');
  });

  it('K11: kprobe on loop rel8 — five iterations, each stepped', () => {
    expect(sameAsBaseline('loop', ['l_loop'], 5).out.get('loop')).toBe('15');
  });
});

describe('system calls (K1, K9, K11)', () => {
  it('K1 + K11: kprobe on int $0x80 — either refused (EINVAL) or the guest sees the same system call and output', () => {
    const base = baseline('sys');
    expect(text(base)).toBe('hello\nsys=6\ndone\n');
    const l = load(g.bytes, ['insns', 'sys']);
    let pre = 0;
    const res = l.eng.registerKprobe({
      symbolName: 'l_sys',
      preHandler: () => {
        pre++;
        return 0;
      },
    });
    if (res !== 0) {
      // Refusing is acceptable (uprobes refuses 0xcd: it cannot be stepped out of line) if it says why.
      expect(res).toBe('EINVAL');
      expect(l.eng.lastError).toMatch(/int|system call|syscall/i);
      return;
    }
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe(text(base));
    expect(pre).toBe(1);
  });
});

describe('pre-handler that changes EIP (K9, check 4)', () => {
  it('K9 + check 4: pre-handler sets EIP and returns 1 — no single-step, no post-handler', () => {
    const l = load(g.bytes, ['insns', 'jmp8']);
    const events = recordEvents(l.eng);
    let post = 0;
    const target = l.sym('l_jmp8') + 2; // the skipped "movl $2, %eax"
    const kp: Kprobe = {
      symbolName: 'l_jmp8',
      preHandler: (_p, regs) => {
        regs.ip = target;
        return 1;
      },
      postHandler: () => {
        post++;
      },
    };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kv(text(r)).get('jmp8')).toBe('2');
    expect(post).toBe(0);
    expect(count(events, 'singlestep')).toBe(0);
    expect(count(events, 'kprobe')).toBe(1);
    expect(kp.hits).toBe(1);
  });
});

describe('IF/TF save and restore (K9, K11)', () => {
  it('K9: kprobe on popf — afterwards the guest still runs with IF=1 (user-mode popf cannot change IF)', () => {
    const base = baseline('popf');
    expect(kv(text(base)).get('popf')).toBe('00000200');
    const { r, l } = probed('popf', ['l_popf']);
    expect(status(r), r.message).toBe('exit 0');
    expect(text(r)).toBe(text(base));
    // and the task is preemptible again (IF is what the scheduler looks at)
    expect(l.m.mainTask.cpu.interruptsEnabled()).toBe(true);
  });

  it("K9 + K11: guest's own TF — pre-handler sees TF, the guest's own SIGTRAP follows the fix-up at probe+len", () => {
    const ref = qemu(g.path, ['insns', 'tf']);
    expect(ref.status).toBe('signal 5');
    const base = baseline('tf');
    expect(status(base)).toBe('signal 5');
    const { r, obs, l } = probed('tf', ['l_tf']);
    expect(status(r)).toBe('signal 5');
    expect(dumpEip(r)).toBe(l.sym('l_tf_after'));
    expect(dumpEip(r)).toBe(dumpEip(base));
    expect(dumpReg(r, 'eax')).toBe(7);
    expect(obs.get('l_tf')!.pre[0]!.flags & TF).toBe(TF);
    expect(obs.get('l_tf')!.post).toHaveLength(1);
  });

  it("K11 + check 1: pushf with the guest's own TF set — the pushed word keeps TF and IF (guest values)", () => {
    const base = baseline('tfpushf');
    const baseTos = runPlainTos('tfpushf');
    expect(status(base)).toBe('signal 5');
    const { r, l } = probed('tfpushf', ['l_tfpushf']);
    expect(status(r)).toBe('signal 5');
    expect(dumpEip(r)).toBe(l.sym('l_tfpushf') + 1);
    const tos = l.m.memory.read32(dumpReg(r, 'esp')) >>> 0;
    expect(tos & (TF | IF)).toBe(TF | IF);
    expect(tos & 0x700).toBe(baseTos & 0x700);
  });
});

function runPlainTos(c: string): number {
  const l = load(g.bytes, ['insns', c]);
  const r = l.m.run();
  return l.m.memory.read32(dumpReg(r, 'esp')) >>> 0;
}

describe('faults in the single-stepped instruction (K13)', () => {
  it('K13: probe on a load that faults — SIGSEGV with EIP at the ORIGINAL address and the fault address', () => {
    const base = baseline('fault');
    expect(status(base)).toBe('signal 11');
    expect(qemu(g.path, ['insns', 'fault']).status).toBe('signal 11');
    const { r, l, obs } = probed('fault', ['l_fault']);
    expect(status(r)).toBe('signal 11');
    expect(r.faultAddr).toBe(0);
    expect(dumpEip(r)).toBe(l.sym('l_fault'));
    expect(dumpEip(r)).toBe(dumpEip(base));
    expect(r.message).toContain('t_fault+0x4');
    // The guest's flags in the dump are its own (no stepping TF, IF back).
    expect(dumpReg(r, 'eflags') & (TF | IF)).toBe(IF);
    expect(obs.get('l_fault')!.post).toHaveLength(0);
  });

  it('K13: probe on cli (#GP at CPL 3) — SIGSEGV at the original address, as without the probe', () => {
    const base = baseline('cli');
    expect(status(base)).toBe('signal 11');
    expect(qemu(g.path, ['insns', 'cli']).status).toBe('signal 11');
    const { r, l } = probed('cli', ['l_cli']);
    expect(status(r)).toBe('signal 11');
    expect(dumpEip(r)).toBe(l.sym('l_cli'));
  });

  it('K13: probe on div by zero — SIGFPE at the original address', () => {
    const { r, l } = probed('div', ['l_div']);
    expect(status(r)).toBe('signal 8');
    expect(dumpEip(r)).toBe(l.sym('l_div'));
  });

  for (const [c, label] of [
    ['callfault', 'l_callfault'],
    ['jmpfault', 'l_jmpfault'],
  ] as const)
    it(`K13: probe on ${c === 'callfault' ? 'call *(%ecx)' : 'jmp *(%ecx)'} whose operand read faults — SIGSEGV at the original address, stack untouched`, () => {
      const base = baseline(c);
      expect(status(base)).toBe('signal 11');
      expect(qemu(g.path, ['insns', c]).status).toBe('signal 11');
      const baseL = load(g.bytes, ['insns', c]);
      const br = baseL.m.run();
      const baseTos = baseL.m.memory.read32(dumpReg(br, 'esp')) >>> 0;
      const { r, l } = probed(c, [label]);
      expect(status(r)).toBe('signal 11');
      expect(r.faultAddr).toBe(0);
      // The instruction did not complete: no return address was pushed, so there is nothing to
      // relocate, and EIP must point back at the probed instruction (not into the slot page).
      expect(dumpEip(r).toString(16)).toBe(l.sym(label).toString(16));
      expect(dumpReg(r, 'esp')).toBe(dumpReg(br, 'esp'));
      expect((l.m.memory.read32(dumpReg(r, 'esp')) >>> 0).toString(16)).toBe(baseTos.toString(16));
    });

  it('K13: the fault handler of a (single, non-aggregate) probe gets the single-step fault with trapnr 14', () => {
    const l = load(g.bytes, ['insns', 'fault']);
    const traps: number[] = [];
    const kp: Kprobe = {
      symbolName: 'l_fault',
      preHandler: () => 0,
      faultHandler: (_p, _regs, trapnr) => {
        traps.push(trapnr);
        return 0;
      },
    };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    const r = l.m.run();
    expect(status(r)).toBe('signal 11');
    expect(dumpEip(r)).toBe(l.sym('l_fault'));
    expect(traps).toEqual([14]);
  });

  it('K13: a fault handler that fixes the cause and returns 1 — the instruction is stepped again and succeeds', () => {
    const l = load(g.bytes, ['insns', 'fault']);
    const good = l.sym('fault_good');
    let post = 0;
    const kp: Kprobe = {
      symbolName: 'l_fault',
      preHandler: () => 0,
      postHandler: () => {
        post++;
      },
      faultHandler: (_p, regs, trapnr) => {
        if (trapnr !== 14 || regs.cx !== 0) return 0;
        regs.cx = good;
        return 1;
      },
    };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(kv(text(r)).get('fault')).toBe('00005a5a');
    expect(post).toBe(1);
  });

  it('K5 + K13: a fault in guest code run by child B (callGuest) goes to B only; A never sees it', () => {
    const l = load(g.bytes, ['insns', 'ret']);
    const seen: string[] = [];
    const good = l.sym('fault_good');
    let got = -1;
    const mk = (name: string, body?: () => void): Kprobe => ({
      symbolName: 'l_ret',
      preHandler: () => {
        seen.push(`pre ${name}`);
        body?.();
        return 0;
      },
      faultHandler: (_p, regs, trapnr) => {
        seen.push(`fault ${name} ${trapnr}`);
        if (trapnr !== 14 || regs.cx !== 0) return 0; // fix only the NULL load (never loop)
        regs.cx = good;
        return 1;
      },
    });
    const a = mk('A');
    const b = mk('B', () => {
      got = l.eng.callGuest(l.sym('t_fault'), 0);
    });
    expect(l.eng.registerKprobe(a)).toBe(0);
    expect(l.eng.registerKprobe(b)).toBe(0);
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(got).toBe(0x5a5a);
    expect(seen).toEqual(['pre B', 'fault B 14', 'pre A']);
    expect(kv(text(r)).get('ret')).toBe('00001234');
  });
});

describe('int3 that is not ours, and removed breakpoints (K8, K23)', () => {
  it("K8: the guest's own int3 (no probe) — SIGTRAP, EIP after the 0xCC, as on qemu", () => {
    expect(qemu(g.path, ['insns', 'int3']).status).toBe('signal 5');
    const l = load(g.bytes, ['insns', 'int3']);
    expect(l.eng.registerKprobe({ symbolName: 'l_ret', preHandler: () => 0 })).toBe(0);
    const r = l.m.run();
    expect(status(r)).toBe('signal 5');
    expect(dumpEip(r)).toBe(l.sym('l_int3_after'));
  });

  it('K8 + K9: a kprobe ON an original int3 — pre-handler runs once, then the guest still gets its SIGTRAP', () => {
    const base = baseline('int3');
    const { r, obs, l } = probed('int3', ['l_int3']);
    expect(status(r)).toBe('signal 5');
    expect(dumpEip(r)).toBe(l.sym('l_int3_after'));
    expect(dumpEip(r)).toBe(dumpEip(base));
    expect(obs.get('l_int3')!.pre).toHaveLength(1);
    // The guest's flags: no stepping TF left behind.
    expect(dumpReg(r, 'eflags') & TF).toBe(0);
  });

  it('K8 + K23: breakpoint removed after the trap was taken — EIP backed up, original instruction runs', () => {
    const l = load(g.bytes, ['insns', 'all']);
    const kp: Kprobe = { symbolName: 'l_callrel', preHandler: () => 0 };
    expect(l.eng.registerKprobe(kp)).toBe(0);
    const at = l.sym('l_callrel');
    let raced = 0;
    // Another CPU unregisters the probe between the trap and do_int3 (put in front of the engine).
    l.m.hooks.exception.add(
      (task, vector) => {
        if (vector === 3 && (task.cpu.eip - 1) >>> 0 === at && raced === 0) {
          raced++;
          expect(l.eng.unregisterKprobe(kp)).toBe(0);
        }
        return false;
      },
      { first: true },
    );
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(raced).toBe(1);
    expect(kp.hits).toBe(0);
    expect(text(r)).toBe(text(baseline('all')));
    expect(l.m.memory.peek(at, 1)[0]).toBe(0xe8);
  });

  it('K8 + K12: breakpoint removed after the trap while another probe is current — re-executed, no miss counted', () => {
    const l = load(g.bytes, ['insns', 'ret']);
    const inner: Kprobe = { symbolName: 'l_jcc', preHandler: () => 0 };
    let got = -1;
    const outer: Kprobe = {
      symbolName: 'l_ret',
      preHandler: () => {
        got = l.eng.callGuest(l.sym('t_jcc'), 0);
        return 0;
      },
    };
    expect(l.eng.registerKprobe(inner)).toBe(0);
    expect(l.eng.registerKprobe(outer)).toBe(0);
    const at = l.sym('l_jcc');
    l.m.hooks.exception.add(
      (task, vector) => {
        if (vector === 3 && (task.cpu.eip - 1) >>> 0 === at) l.eng.unregisterKprobe(inner);
        return false;
      },
      { first: true },
    );
    const r = l.m.run();
    expect(status(r), r.message).toBe('exit 0');
    expect(got).toBe(1);
    expect(inner.nmissed).toBe(0);
    expect(kv(text(r)).get('ret')).toBe('00001234');
  });
});

export type { ProbeEngine };
