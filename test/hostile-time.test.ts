// Issue #16, "time that jumps": guests that block every task for a long virtual time finish at once,
// and see the time they asked for. Oracles:
// - the guest's own clock_gettime(CLOCK_MONOTONIC) around each wait, against what it asked for
//   (Linux's contract: a sleep lasts at least that long; test/hostile-time-guests/sleepers.c);
// - qemu-i386 for the same guests at short durations and for the time syscalls at their extremes
//   (extremes.c: every call there returns at once on Linux, so the output is compared line by line);
// - the scheduler's own invariance: a run that sleeps D cycles longer, D a whole number of ticks and
//   quanta, must have exactly the same schedule after the sleep shifted by D (the per-tick loop the
//   jump replaces had that property; a jump that lands off the tick grid breaks it);
// - record + replay --verify across the jumps.
// Hand-reviewed where qemu cannot run the case (a 68-year sleep; a guest that waits for ever).

import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_LIMIT, Machine, nextTickAfter, type RunResult } from '../src/emulator/machine.js';
import { buildHostileGuest as build } from './hostile-time-guests/build.js';
import { REPO_ROOT } from './helpers/gcc.js';
import { runNative } from './helpers/native.js';
import { cleanup, recordAndVerify } from './os/core-helpers.js';
import { replayRun } from '../src/replay/replay.js';
import { migrateTrace } from '../src/trace/index.js';
import { TraceReader } from '../src/trace/reader.js';

let sleepers = '';
let extremes = '';
let timerfd = '';

beforeAll(() => {
  sleepers = build('sleepers');
  extremes = build('extremes');
  timerfd = build('timerfd');
});
afterAll(cleanup);

interface Sched {
  ts: number;
  cpu: number;
  prev: number;
  next: number;
  reason: string;
}

function run(
  bin: string,
  argv: string[],
  opts: { cpus?: number; chaos?: boolean } = {},
): { r: RunResult; out: string; sched: Sched[]; wallMs: number } {
  const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
    argv,
    env: [],
    cwd: REPO_ROOT,
    cpus: opts.cpus ?? 1,
    chaos: opts.chaos ?? false,
    seed: 5,
    maxInstructions: 50_000_000,
  });
  const sched: Sched[] = [];
  m.hooks.sched.add((ts, cpu, prev, next, reason) => sched.push({ ts, cpu, prev, next, reason }));
  const t0 = performance.now();
  const r = m.run();
  return { r, out: Buffer.from(r.stdout).toString('latin1'), sched, wallMs: performance.now() - t0 };
}

/** The guest's verdict lines (what it asked for against what it measured). */
function verdicts(out: string): string[] {
  return out.split('\n').filter((l) => / asked \d+ ns, slept \d+ ns: /.test(l));
}

const MILLION_SECONDS = 1_000_000;

describe('#16 time that jumps: every task blocked for a long virtual time', () => {
  for (const [mode, cpus, chaos, waits] of [
    ['sleep', 1, false, 1],
    ['alarm', 1, false, 1],
    ['nanosleep', 2, true, 1],
    ['futex', 4, true, 4],
    ['timer', 1, false, 1],
    ['timerfd', 2, true, 1],
    ['poll', 2, false, 1],
    ['epoll', 1, false, 1],
    ['select', 4, true, 1],
  ] as const) {
    it(`${mode} for ${MILLION_SECONDS} s (${cpus} CPU(s)${chaos ? ', chaos' : ''}) ends at once and the guest measured what it asked for`, () => {
      const { r, out, wallMs } = run(sleepers, ['sleepers', mode, String(MILLION_SECONDS)], { cpus, chaos });
      expect(r.status, r.message).toBe('exited');
      const lines = verdicts(out);
      expect(lines, out).toHaveLength(waits);
      for (const l of lines) expect(l).toMatch(/: ok$/);
      // The run's own clock went at least as far as the longest wait.
      const longest = Math.max(...lines.map((l) => Number(/asked (\d+)/.exec(l)![1])));
      expect(r.cycles).toBeGreaterThanOrEqual(longest);
      // Before the jump, this took one loop step per 4000-cycle tick: 2.5e11 of them.
      expect(wallMs).toBeLessThan(20_000);
    });
  }

  it('qemu-i386 gives the same verdicts at short durations', () => {
    for (const argv of [
      ['sleepers', 'futex', '0'],
      ['sleepers', 'nanosleep', '-1'],
    ]) {
      const native = runNative(sleepers, argv).stdout.toString('latin1');
      const strip = (s: string) => s.replace(/asked \d+ ns, slept \d+ ns/g, 'asked, slept');
      expect(strip(run(sleepers, argv, { cpus: 2 }).out)).toBe(strip(native));
      expect(native).toMatch(argv[1] === 'futex' ? /ETIMEDOUT.*: ok/ : /nanosleep: Invalid argument/);
    }
  });

  it('the time syscalls at their extremes answer as on qemu-i386 (EINVAL, past deadlines, far timers)', () => {
    const native = runNative(extremes, ['extremes']);
    expect(native.status).toBe(0);
    const { r, out } = run(extremes, ['extremes']);
    expect(r.status, r.message).toBe('exited');
    expect(out).toBe(native.stdout.toString('latin1'));
  });

  it('timerfd (create, arm, read, poll, epoll, argument checks, far timers) answers as on qemu-i386', () => {
    const native = runNative(timerfd, ['timerfd']);
    expect(native.status).toBe(0);
    const { r, out } = run(timerfd, ['timerfd'], { cpus: 2 });
    expect(r.status, r.message).toBe('exited');
    expect(out).toBe(native.stdout.toString('latin1'));
  });

  it('a sleep past the end of virtual time (2^31 s) stops the run at once with a message (hand-reviewed: Linux would sleep 68 years)', () => {
    const { r, out } = run(sleepers, ['sleepers', 'nanosleep', String(2 ** 31 - 1)]);
    expect(out).toBe('');
    expect(r.status).toBe('truncated');
    expect(r.message).toMatch(
      /^stopped: every task waits, and the next wake-up \(at 24855\.1 days of virtual time\) lies past the end of the virtual clock \(2\^52 cycles, 52\.1 days at 1000 MHz\)$/,
    );
    expect(r.cycles).toBeLessThan(CLOCK_LIMIT);
  });

  it('a guest whose tasks all wait with no timeout ends as a deadlock naming the wait (Linux would hang)', () => {
    const { r } = run(sleepers, ['sleepers', 'forever']);
    expect(r.status).toBe('deadlock');
    expect(r.message).toMatch(
      /^deadlock: every task is blocked and no timer is pending: task \d+ waits on pause$/,
    );
  });

  for (const [cpus, chaos] of [
    [1, false],
    [2, true],
    [4, false],
  ] as const) {
    it(`a sleep D cycles longer shifts the rest of the schedule by exactly D (${cpus} CPU(s)${chaos ? ', chaos' : ''})`, () => {
      // D = 10^6 s at 1000 MHz: a whole number of ticks (4000) and quanta (1000 or 200 cycles).
      const D = MILLION_SECONDS * 1e9;
      expect(D % 4000).toBe(0);
      // Same-length arguments: the guest's work before the sleep must not differ.
      const short = run(sleepers, ['sleepers', 'spin-after', '0000000'], { cpus, chaos });
      const long = run(sleepers, ['sleepers', 'spin-after', String(MILLION_SECONDS)], { cpus, chaos });
      expect(long.r.status, long.r.message).toBe('exited');
      expect(long.out).toBe(short.out);
      expect(long.r.instructions).toBe(short.r.instructions);
      expect(long.r.cycles - short.r.cycles).toBe(D);
      expect(long.sched.length).toBe(short.sched.length);
      const shift = long.sched.map((e, i) => e.ts - short.sched[i]!.ts);
      const woke = shift.indexOf(D);
      expect(woke).toBeGreaterThan(0);
      expect(shift.slice(0, woke).every((d) => d === 0)).toBe(true);
      expect(shift.slice(woke).every((d) => d === D)).toBe(true);
      expect(long.sched.map(({ ts: _, ...e }) => e)).toEqual(short.sched.map(({ ts: _, ...e }) => e));
      // The threads that spin after the sleep are preempted by timer ticks.
      const preempts = long.sched.slice(woke).filter((e) => e.reason === 'preempt');
      expect(preempts.length).toBeGreaterThan(0);
      // Without chaos the ticks stay on the 4000-cycle grid they started on.
      if (!chaos) for (const e of preempts) expect(e.ts % 4000).toBe(0);
    });
  }

  it('one jump puts the next tick where the per-tick loop put it (the loop; exact BigInt math up to 2^52)', () => {
    const loop = (nt: number, clock: number, iv: number) => {
      while (nt <= clock) nt += iv;
      return nt;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: -50_000, max: 200_000 }),
        fc.integer({ min: 1, max: 9000 }),
        (nt, gap, iv) => nextTickAfter(nt, nt + gap, iv) === loop(nt, nt + gap, iv),
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 52n }),
        fc.bigInt({ min: 0n, max: 2n ** 52n }),
        fc.bigInt({ min: 1n, max: 10n ** 7n }),
        (a, b, iv) => {
          const [nt, clock] = a < b ? [a, b] : [b, a];
          const want = nt + ((clock - nt) / iv + 1n) * iv;
          return BigInt(nextTickAfter(Number(nt), Number(clock), Number(iv))) === want;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('recordings made before the jump (tick by tick) still replay identically', () => {
    // test/hostile-time-guests/sleepy-before-jump.db was recorded by the build before this change
    // (commit 1ec1c01, whose idle clock advanced one tick per loop step), trace format 3:
    // `probe-record -q --runs 2 -c 4 --chaos -s 3 -w sleepy -p 'r:wio wait_for_io ret=$retval'
    // -- 3 2 1000000` (three threads sleeping 1 s at a time: each idle stretch crossed 250,000
    // ticks). Verify compares every event, call, schedule switch, output and the final clock.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-jump-'));
    try {
      const file = path.join(dir, 'old.db');
      fs.copyFileSync(path.join(REPO_ROOT, 'test', 'hostile-time-guests', 'sleepy-before-jump.db'), file);
      migrateTrace(file);
      const reader = TraceReader.open(file);
      try {
        const runs = reader.runs();
        expect(runs.map((r) => r.status)).toEqual(['complete', 'complete']);
        for (const run of runs) {
          expect(run.cycles).toBeGreaterThan(6e9);
          const o = replayRun(reader, run.runId);
          expect(o.divergence).toBeNull();
          expect(o.outputIdentical).toBe(true);
        }
      } finally {
        reader.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recordings across the jumps replay identically (4 CPUs, chaos: futex timeouts, alarm, timerfd)', () => {
    for (const argv of [
      ['sleepers', 'futex', String(MILLION_SECONDS)],
      ['sleepers', 'alarm', String(MILLION_SECONDS)],
      ['sleepers', 'timerfd', String(MILLION_SECONDS)],
      ['timerfd'],
    ]) {
      const bin = argv[0] === 'timerfd' ? timerfd : sleepers;
      const { divergence, result } = recordAndVerify(bin, argv, 4, true, { env: [] });
      expect(result.status, result.message).toBe('exited');
      expect(divergence).toBeNull();
    }
  });
});
