// Stress: a kprobe (pre + post handler) on EVERY instruction of every function of a non-trivial
// guest (test/probes/guests/stress.c: loops, a jump-table switch, direct/indirect calls, recursion,
// 64-bit division through libgcc, rep movsb, pushf), plus, in a second run, a kretprobe on every
// function entry on top (aggregates + the trampoline everywhere). The guest must print the same and
// exit with the same code as without probes and as on qemu-i386, and every probe must fire exactly as
// often as its instruction executes in an unprobed single-stepped run (a rep-prefixed instruction
// traps once per iteration, as a hardware single-step does). K1, K4, K9, K10, K11, K14-K16.

import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, STATIC } from '../helpers/gcc.js';
import { instructionInfo } from '../../src/emulator/insn.js';
import { Machine } from '../../src/emulator/machine.js';
import type { Kprobe, Kretprobe } from '../../src/probes/kprobes.js';
import { buildProbeGuest, decodeFunction, GUEST_DIR, insnLen, load, qemu, status, text } from './helpers.js';

const SOFT_INT = new Set(['syscall', 'int', 'into', 'int1']);

interface Truth {
  stdout: string;
  status: string;
  execs: Map<number, number>;
}

/** Unprobed run, one instruction at a time: how often each address executes. */
function groundTruth(bytes: Uint8Array, argv: string[]): Truth {
  const m = Machine.load(bytes, { argv });
  const execs = new Map<number, number>();
  for (let n = 0; n < 20_000_000; n++) {
    const eip = m.mainTask.cpu.eip >>> 0;
    execs.set(eip, (execs.get(eip) ?? 0) + 1);
    const s = m.step();
    if (s === 'exited' || s === 'signal') break;
  }
  const r = m.result!;
  return { stdout: text(r), status: status(r), execs };
}

for (const opt of ['-O2', '-O1']) {
  describe(`every instruction probed (stress.c ${opt})`, () => {
    let g: { path: string; bytes: Uint8Array };
    let truth: Truth;
    const argv = ['stress', '3'];
    beforeAll(() => {
      g = buildProbeGuest('stress', opt);
      truth = groundTruth(g.bytes, argv);
    });

    it(`K1 + K9 + K10 + K11: a kprobe on every instruction of every function — same output, exit code and hit counts (${opt})`, () => {
      const ref = qemu(g.path, argv);
      expect(truth.stdout).toBe(ref.stdout);
      expect(truth.status).toBe(ref.status);
      const l = load(g.bytes, argv);
      const pre = new Map<number, number>();
      const post = new Map<number, number>();
      const refused: string[] = [];
      let registered = 0;
      for (const f of l.m.symbols.functions()) {
        for (const ins of decodeFunction(l.m, f.name, l.eng)) {
          const info = instructionInfo(new Uint8Array(ins.bytes), ins.addr);
          const kind = 'kind' in info ? info.kind : 'invalid';
          const kp: Kprobe = {
            addr: ins.addr,
            preHandler: () => {
              pre.set(ins.addr, (pre.get(ins.addr) ?? 0) + 1);
              return 0;
            },
            postHandler: () => {
              post.set(ins.addr, (post.get(ins.addr) ?? 0) + 1);
            },
          };
          const res = l.eng.registerKprobe(kp);
          if (res === 0) registered++;
          else {
            // Only software interrupts may be refused (they cannot be stepped out of line).
            expect(
              SOFT_INT.has(kind),
              `${f.name}+0x${(ins.addr - f.addr).toString(16)} (${kind}): ${res} ${l.eng.lastError}`,
            ).toBe(true);
            refused.push(`${f.name}:${kind}`);
          }
        }
      }
      expect(registered).toBeGreaterThan(800);
      const r = l.m.run();
      expect(status(r), r.message).toBe(truth.status);
      expect(text(r)).toBe(truth.stdout);
      // Every probe fired exactly as often as its instruction ran; the post-handler after each step.
      const mismatches: string[] = [];
      for (const [addr, n] of pre) {
        const want = truth.execs.get(addr) ?? 0;
        if (n !== want) mismatches.push(`${l.m.symbols.format(addr)}: ${n} hits, ran ${want}`);
        if ((post.get(addr) ?? 0) !== n)
          mismatches.push(`${l.m.symbols.format(addr)}: post ${post.get(addr)} != pre ${n}`);
      }
      for (const [addr, n] of truth.execs) {
        const fn = l.m.symbols.symbolize(addr);
        if (fn && !pre.has(addr) && !refused.some((x) => x.startsWith(`${fn.sym.name}:`)))
          mismatches.push(`${l.m.symbols.format(addr)} ran ${n} times but its probe never fired`);
      }
      expect(mismatches).toEqual([]);
    });

    it(`K4 + K14 + K15 + K16: plus a kretprobe on every function entry — one return handler per call, same output (${opt})`, () => {
      const l = load(g.bytes, argv);
      for (const f of l.m.symbols.functions())
        for (const ins of decodeFunction(l.m, f.name, l.eng))
          l.eng.registerKprobe({ addr: ins.addr, preHandler: () => 0 });
      const rets = new Map<string, number>();
      const rps: Kretprobe[] = [];
      for (const f of l.m.symbols.functions()) {
        // _start is entered by the kernel, not called: its [ESP] is argc, not a return address.
        if (f.name === '_start') continue;
        const rp: Kretprobe = {
          kp: { symbolName: f.name },
          maxactive: 64,
          handler: () => {
            rets.set(f.name, (rets.get(f.name) ?? 0) + 1);
            return 0;
          },
        };
        expect(l.eng.registerKretprobe(rp), f.name).toBe(0);
        rps.push(rp);
      }
      const r = l.m.run();
      expect(status(r), r.message).toBe(truth.status);
      expect(text(r)).toBe(truth.stdout);
      const bad: string[] = [];
      for (const f of l.m.symbols.functions()) {
        if (f.name === '_start') continue;
        const calls = truth.execs.get(f.addr) ?? 0;
        // prt_start_c never returns (it calls exit_group); everything else returns once per call.
        const want = f.name === 'prt_start_c' ? 0 : calls;
        if ((rets.get(f.name) ?? 0) !== want)
          bad.push(`${f.name}: ${rets.get(f.name) ?? 0} returns, ${calls} calls`);
      }
      expect(bad).toEqual([]);
      for (const rp of rps) expect(rp.nmissed, rp.kp.symbolName).toBe(0);
      // K19: the instance of prt_start_c (in flight at exit_group) is back in the pool.
      for (const rp of rps) expect(l.eng.freeCount(rp), rp.kp.symbolName).toBe(64);
    });
  });
}

describe('every executed instruction of a static glibc program probed (libc.c)', () => {
  let bin: string;
  let bytes: Uint8Array;
  let truth: Truth;
  const argv = ['libc', '50'];
  beforeAll(() => {
    bin = buildGuest(
      fs.readFileSync(path.join(GUEST_DIR, 'libc.c'), 'utf8'),
      [...STATIC, '-O2'],
      'probes-libc',
    );
    bytes = new Uint8Array(fs.readFileSync(bin));
    truth = groundTruth(bytes, argv);
  });

  it('K1 + K9 + K10 + K11: a kprobe on each of the ~6600 instructions glibc start-up, qsort, malloc and printf execute', () => {
    const ref = qemu(bin, argv);
    expect(truth.stdout).toBe(ref.stdout);
    expect(truth.status).toBe(ref.status);
    const l = load(bytes, argv);
    const pre = new Map<number, number>();
    const refused: number[] = [];
    for (const addr of truth.execs.keys()) {
      const kp: Kprobe = {
        addr,
        preHandler: () => {
          pre.set(addr, (pre.get(addr) ?? 0) + 1);
          return 0;
        },
        postHandler: () => {},
      };
      const res = l.eng.registerKprobe(kp);
      if (res !== 0) {
        const info = instructionInfo(l.m.memory.peek(addr, insnLen(l, addr)), addr);
        const kind = 'kind' in info ? info.kind : 'invalid';
        expect(SOFT_INT.has(kind), `${l.m.symbols.format(addr)} (${kind}): ${res} ${l.eng.lastError}`).toBe(
          true,
        );
        refused.push(addr);
      }
    }
    expect(truth.execs.size).toBeGreaterThan(5000);
    const r = l.m.run();
    expect(status(r), r.message).toBe(truth.status);
    expect(text(r)).toBe(truth.stdout);
    const mismatches: string[] = [];
    for (const [addr, n] of truth.execs) {
      if (refused.includes(addr)) continue;
      if ((pre.get(addr) ?? 0) !== n)
        mismatches.push(`${l.m.symbols.format(addr)}: ${pre.get(addr) ?? 0} hits, ran ${n}`);
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
