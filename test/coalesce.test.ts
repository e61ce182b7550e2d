// Coalesced rounds (machine.ts coalesceEnd/capSlice, #13): a lone task runs across round boundaries
// that provably do nothing, and a syscall ends such a slice at the next round boundary. The oracle is
// the same machine with coalescing off, which returns to the scheduler every round. The guests have
// timers, signals, sleeps, threads, child processes, pipes and yields; in one, a blocked pipe write,
// retried at the start of a slice, wakes the reader (deciding to coalesce before the retry fails it).
// On 1 and 2 CPUs everything must be identical: the result (status, output, instruction and cycle
// counts), every scheduling event (time, CPU, tasks, reason), the virtual time of every syscall, and
// the round count (which a recording interrupted between rounds stores as maxRounds). Each case must
// also have coalesced something, or it would show nothing.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Machine, type MachineOptions } from '../src/emulator/machine.js';
import { buildGuest, REPO_ROOT, STATIC } from './helpers/gcc.js';
import { GLIBC_FLAGS, GUEST_ENV, requireTools } from './helpers/native.js';

interface Case {
  name: string;
  bin: () => string;
  argv: string[];
}

function signalsGuest(guest: string): () => string {
  return () => {
    const dir = path.join(REPO_ROOT, 'test', 'os', 'signals-guests');
    const common = fs.readFileSync(path.join(dir, 'common.h'), 'utf8');
    const src = fs
      .readFileSync(path.join(dir, `${guest}.c`), 'utf8')
      .replace(/^#include "common.h"$/m, () => common);
    return buildGuest(src, GLIBC_FLAGS, `signals-${guest}`);
  };
}

function osGuest(guest: string, flags: string[] = []): () => string {
  return () =>
    buildGuest(
      fs.readFileSync(path.join(REPO_ROOT, 'test', 'os', 'guests', `${guest}.c`), 'utf8'),
      [...STATIC, '-O1', ...flags],
      `os-${guest}`,
    );
}

/** A lone writer whose blocked write, retried, wakes the reader; then it computes without syscalls. */
const RETRY_WAKE = `/* A lone writer whose blocked write is retried and wakes the reader, then computes without syscalls. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char big[256 * 1024];

static unsigned spin(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

int main(void) {
  int fd[2];
  if (pipe(fd) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[1]);
    char buf[4096];
    unsigned long total = 0, h = 0;
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0) {
      total += (unsigned long)n;
      h += spin(20);
    }
    printf("child read %lu (%lx)\\n", total, h);
    return 0;
  }
  close(fd[0]);
  memset(big, 'x', sizeof big);
  ssize_t w = write(fd[1], big, sizeof big);
  unsigned h = spin(3000000);
  close(fd[1]);
  int st = 0;
  waitpid(pid, &st, 0);
  printf("parent wrote %zd (%x), child status %d\\n", w, h, WEXITSTATUS(st));
  return 0;
}
`;

const CASES: Case[] = [
  {
    name: 'a retried pipe write that wakes the reader',
    bin: () => buildGuest(RETRY_WAKE, [...STATIC, '-O1'], 'coalesce-retrywake'),
    argv: ['retrywake'],
  },
  { name: 'timers (alarm, itimers, POSIX timers)', bin: signalsGuest('timers'), argv: ['timers'] },
  { name: 'signals between threads', bin: signalsGuest('threads'), argv: ['threads'] },
  { name: 'signals between processes', bin: signalsGuest('procs'), argv: ['procs'] },
  { name: 'resource usage and sleeps', bin: osGuest('usage'), argv: ['usage'] },
  { name: 'sched_yield spinners', bin: osGuest('yieldspin', ['-pthread']), argv: ['yieldspin'] },
  { name: 'fork and wait', bin: osGuest('forkwait'), argv: ['forkwait'] },
  { name: 'a pipeline', bin: osGuest('pipeline'), argv: ['pipeline'] },
  {
    name: 'pthreads (mutex, condvar, semaphore, barrier)',
    bin: () =>
      buildGuest(
        fs.readFileSync(path.join(REPO_ROOT, 'test', 'smp', 'pthreads.c'), 'utf8'),
        ['-static', '-O2', '-pthread'],
        'pthreads',
      ),
    argv: ['pthreads'],
  },
];

function observe(bin: string, argv: string[], opts: Partial<MachineOptions>) {
  const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
    argv,
    env: GUEST_ENV,
    preempt: true,
    captureOutput: true,
    ...opts,
  });
  const sched: string[] = [];
  m.hooks.sched.add((ts, cpu, prev, next, reason) => {
    sched.push(`${ts} cpu${cpu} ${prev}->${next} ${reason}`);
  });
  const syscalls: string[] = [];
  m.hooks.syscall.add((t, nr) => {
    syscalls.push(`${m.now()} ${t.tid} ${nr}`);
    return false;
  });
  const r = m.run();
  return {
    result: {
      status: r.status,
      exitCode: r.exitCode,
      stdout: Buffer.from(r.stdout).toString('latin1'),
      instructions: r.instructions,
      cycles: r.cycles,
      message: r.message,
    },
    rounds: m.roundsRun,
    sched,
    syscalls,
    coalesced: m.roundsCoalesced,
  };
}

describe('coalesced rounds change nothing (#13)', () => {
  for (const c of CASES)
    for (const cpus of [1, 2])
      it(`${c.name} on ${cpus} CPU(s): result, schedule, syscall times and round count as without`, () => {
        requireTools();
        const bin = c.bin();
        const off = observe(bin, c.argv, { cpus, coalesce: false });
        const on = observe(bin, c.argv, { cpus });
        expect(off.coalesced).toBe(0);
        expect(on.coalesced).toBeGreaterThan(0);
        expect(on.result).toEqual(off.result);
        expect(on.sched).toEqual(off.sched);
        expect(on.syscalls).toEqual(off.syscalls);
        expect(on.rounds).toBe(off.rounds);
      });

  it('a round budget (maxRounds) stops a coalesced run where it stops an uncoalesced one', () => {
    requireTools();
    const bin = CASES[1]!.bin();
    const full = observe(bin, ['timers'], { cpus: 1, coalesce: false });
    for (const maxRounds of [1, 7, Math.floor(full.rounds / 3), full.rounds - 1]) {
      const off = observe(bin, ['timers'], { cpus: 1, coalesce: false, maxRounds });
      const on = observe(bin, ['timers'], { cpus: 1, maxRounds });
      expect(off.result.status).toBe('truncated');
      expect(on.result).toEqual(off.result);
      expect(on.rounds).toBe(off.rounds);
    }
  });

  it('runFor pauses a coalesced run at the round after its target, as between single rounds', () => {
    requireTools();
    const bin = CASES[4]!.bin();
    const pauses = (coalesce: boolean) => {
      const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
        argv: ['usage'],
        env: GUEST_ENV,
        cpus: 1,
        coalesce,
        captureOutput: true,
      });
      const at: number[] = [];
      while (m.runFor(50_000) === null) at.push(m.roundsRun);
      return at;
    };
    const off = pauses(false);
    expect(off.length).toBeGreaterThan(3);
    expect(pauses(true)).toEqual(off);
  });
});
