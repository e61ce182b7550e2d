// SMP machine: guest threads, the deterministic scheduler and the built-in workloads' documented
// answers, measured by the emulator's call observer (ground truth that uses no kretprobes).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/emulator/machine.js';
import { CallObserver } from '../../src/emulator/observer.js';
import { buildGuest, REPO_ROOT } from '../helpers/gcc.js';

interface Answer {
  function: string;
  peak: {
    formula: string;
    kind: string;
    per_task?: { formula: string };
    no_preempt?: { formula: string; kind: string };
  };
}
interface Workload {
  name: string;
  binary: string;
  default_args: string[];
  params: Array<{ name: string; default: number }>;
  answers: Answer[];
}
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'workloads/workloads.json'), 'utf8')) as {
  workloads: Workload[];
};

/** Evaluates the manifest's answer formulas: integers, names, + - *, min(), max(). */
function evalFormula(f: string, vars: Record<string, number>): number {
  const toks = f.match(/[A-Za-z_]\w*|\d+|[()+\-*,]/g) ?? [];
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++]!;
  const primary = (): number => {
    const t = next();
    if (t === '(') {
      const v = sum();
      next();
      return v;
    }
    if (/^\d+$/.test(t)) return Number(t);
    if (t === 'min' || t === 'max') {
      next();
      const args = [sum()];
      while (peek() === ',') {
        next();
        args.push(sum());
      }
      next();
      return t === 'min' ? Math.min(...args) : Math.max(...args);
    }
    if (!(t in vars)) throw new Error(`unknown name ${t} in ${f}`);
    return vars[t]!;
  };
  const product = (): number => {
    let v = primary();
    while (peek() === '*') {
      next();
      v *= primary();
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = next() === '+' ? v + product() : v - product();
    return v;
  };
  return sum();
}

function observe(w: Workload, cpus: number, preempt: boolean, seed = 1, chaos = false) {
  const bytes = readFileSync(join(REPO_ROOT, 'workloads', w.binary));
  const m = Machine.load(bytes, {
    argv: [w.name, ...w.default_args],
    cpus,
    preempt,
    seed,
    chaos,
    captureOutput: true,
  });
  const obs = new CallObserver(m);
  for (const a of w.answers) obs.watch(m.symbols.lookup(a.function)!.addr);
  const r = m.run();
  return { m, obs, r };
}

describe('SMP machine and built-in workloads (observer ground truth)', () => {
  const settings: Array<[number, boolean]> = [
    [1, false],
    [1, true],
    [2, false],
    [4, true],
    [4, false],
  ];
  for (const w of manifest.workloads) {
    for (const [cpus, preempt] of settings) {
      it(`${w.name}: observed peaks match the documented answers on ${cpus} CPU(s), preempt=${preempt}`, () => {
        const { m, obs, r } = observe(w, cpus, preempt);
        expect(r.status).toBe('exited');
        expect(r.exitCode).toBe(0);
        const vars: Record<string, number> = { NR_CPUS: cpus };
        w.params.forEach((p, k) => (vars[p.name] = Number(w.default_args[k] ?? p.default)));
        for (const a of w.answers) {
          const addr = m.symbols.lookup(a.function)!.addr;
          const peak = obs.peak.get(addr)!;
          const spec = !preempt && a.peak.no_preempt ? a.peak.no_preempt : a.peak;
          const bound = evalFormula(spec.formula, vars);
          if (a.function === 'jp_target' || w.name === 'hello') expect(peak).toBe(bound);
          else if (spec.kind === 'exact') expect(peak, `${a.function}`).toBe(bound);
          else expect(peak, `${a.function}`).toBeLessThanOrEqual(bound);
          if (a.peak.per_task)
            expect(obs.peakPerTask.get(addr)).toBe(evalFormula(a.peak.per_task.formula, vars));
        }
        // percpu is the case where preemption matters: without it at most NR_CPUS, with it more.
        if (w.name === 'percpu') {
          const peak = obs.peak.get(m.symbols.lookup('crunch')!.addr)!;
          if (!preempt) expect(peak).toBe(Math.min(vars.T!, cpus));
          else if (cpus < vars.T!) expect(peak).toBeGreaterThan(cpus);
        }
        expect(obs.openCalls()).toBe(0);
      });
    }
  }
});

describe('determinism', () => {
  const server = manifest.workloads.find((w) => w.name === 'server')!;
  const schedHash = (seed: number, chaos: boolean) => {
    const bytes = readFileSync(join(REPO_ROOT, 'workloads', server.binary));
    const m = Machine.load(bytes, {
      argv: ['server', ...server.default_args],
      cpus: 4,
      preempt: true,
      seed,
      chaos,
    });
    const h = createHash('sha256');
    m.hooks.sched.add((ts, cpu, prev, next, reason) => h.update(`${ts},${cpu},${prev},${next},${reason};`));
    const r = m.run();
    return { hash: h.digest('hex'), instructions: r.instructions, out: Buffer.from(r.stdout).toString() };
  };
  it('same seed → identical scheduling streams, instruction counts and output', () => {
    const a = schedHash(7, true);
    const b = schedHash(7, true);
    expect(a).toEqual(b);
  });
  it('different chaos seeds → different interleavings, same interleaving-independent output', () => {
    const a = schedHash(1, true);
    const b = schedHash(2, true);
    expect(a.hash).not.toBe(b.hash);
    expect(a.out).toBe(b.out);
  });
});

describe('threads under static glibc', () => {
  const src = readFileSync(join(REPO_ROOT, 'test/smp/pthreads.c'), 'utf8');
  const bin = buildGuest(src, ['-static', '-O2', '-pthread'], 'pthreads');
  const reference = execFileSync('qemu-i386', [bin], { encoding: 'utf8' });
  for (const cpus of [1, 2, 4]) {
    for (const chaos of [false, true]) {
      it(`pthreads (mutex, condvar, semaphore, barrier, spinlock, __thread) on ${cpus} CPU(s), chaos=${chaos} match qemu-i386`, () => {
        const m = Machine.load(readFileSync(bin), {
          argv: ['pthreads'],
          cpus,
          preempt: true,
          chaos,
          seed: 3,
        });
        const r = m.run();
        expect(r.status).toBe('exited');
        expect(r.exitCode).toBe(0);
        expect(Buffer.from(r.stdout).toString()).toBe(reference);
      });
    }
  }
});

describe('run endings', () => {
  it('a deadlocking guest ends with a message naming who waits on what', () => {
    const bin = buildGuest(
      `#include <pthread.h>
       static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
       static pthread_barrier_t bar;
       static void *t(void *x) { pthread_mutex_lock(&b); pthread_barrier_wait(&bar); pthread_mutex_lock(&a); return x; }
       int main(void) { pthread_t th; pthread_barrier_init(&bar, 0, 2); pthread_create(&th, 0, t, 0);
         pthread_mutex_lock(&a); pthread_barrier_wait(&bar); pthread_mutex_lock(&b); pthread_join(th, 0); return 0; }`,
      ['-static', '-O2', '-pthread'],
      'deadlock',
    );
    const r = Machine.load(readFileSync(bin), { argv: ['deadlock'], cpus: 2 }).run();
    expect(r.status).toBe('deadlock');
    expect(r.message).toMatch(/deadlock: every task is blocked/);
    expect(r.message).toMatch(/task 1000 waits on futex 0x[0-9a-f]+/);
    expect(r.message).toMatch(/task 1001 waits on futex 0x[0-9a-f]+/);
  });
  it('a guest that spins forever stops at the instruction budget as truncated', () => {
    const bin = buildGuest(
      `void _start(void) { for (;;) __asm__ volatile("" ::: "memory"); }`,
      ['-nostdlib', '-static', '-O1'],
      'spin',
    );
    const r = Machine.load(readFileSync(bin), { argv: ['spin'], maxInstructions: 100_000 }).run();
    expect(r.status).toBe('truncated');
    expect(r.instructions).toBe(100_000);
  });
});
