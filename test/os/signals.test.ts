// Signals (issue 12), differential: the guest programs in test/os/signals-guests/ (static glibc) run on
// qemu-i386, which delivers signals for real on the host, and in the emulator; stdout and the exit
// status (or the killing signal) must be identical. They cover what a handler sees (siginfo, the
// ucontext and the old sigcontext registers), SA_SIGINFO/SA_RESETHAND/SA_NODEFER/SA_ONSTACK/SA_RESTART,
// masks, pending sets, real-time queueing, sigsuspend, sigtimedwait, sigaltstack, faults delivered to
// handlers (and siglongjmp out of a SIGSEGV handler), alarm/setitimer/POSIX timers on the virtual clock,
// EINTR versus restart (futex, pipe read, waitpid), signals between threads and between processes
// (SIGCHLD with its siginfo, SIGPIPE, SIGSTOP/SIGCONT), and default actions.
//
// Lines a guest prints with the prefix "L:" are facts where qemu-user 7.2 is known to differ from
// Linux (trap numbers in the sigcontext, FPU state restored by sigreturn, the si_code of a stack
// overflow); they are checked against the values Linux gives, reviewed by hand against the kernel
// sources named beside each one, instead of against qemu.
//
// Every case is also recorded (with probes on its handlers) and replayed in verify mode on 1 and 4
// CPUs, with and without chaos: the replay must match every event and the output.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/emulator/machine.js';
import { recordRun } from '../../src/recorder/record.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { buildGuest } from '../helpers/gcc.js';
import { GLIBC_FLAGS, GUEST_ENV, qemuBinary, REPO_ROOT, requireTools, runNative } from '../helpers/native.js';

const DIR = path.join(REPO_ROOT, 'test', 'os', 'signals-guests');

interface Case {
  guest: string;
  args: string[];
  /** Probes recorded with it (handlers, so the trace has events at every delivery). */
  probes: string[];
  /** Expected "L:" lines (Linux's values; see the file comment). */
  linux?: string[];
  /** Expected status when qemu cannot report it (its host signal numbers for real-time signals differ). */
  status?: string;
  /** qemu-user cannot run this case at all: the whole output is checked against `linux` alone. */
  noReference?: boolean;
  /** Extra gcc flags, the emulator's CPU model and the qemu CPU that matches it (default pentium2). */
  cflags?: string[];
  cpuModel?: string;
  qemuCpu?: string;
}

const CASES: Case[] = [
  {
    guest: 'basic',
    args: [],
    probes: ['p:sig/plain on_plain', 'r:sig/regs on_regs', 'p:sig/log on_log'],
    linux: [
      // kernel/signal.c (Linux >= 4.7): do_sigaltstack accepts SS_AUTODISARM; an rt frame's
      // __save_altstack stores the flags as set (0x80000000) in uc_stack and sas_ss_reset() disarms the
      // stack, so inside the handler sigaltstack() reports SS_DISABLE (2); rt_sigreturn's
      // restore_altstack re-arms it from uc_stack.
      'L: autodisarm=0',
      'L: alt rt: sig=10 on_alt=1 flags=2 saved_flags=0x80000000',
      'L: after: flags=0x80000000 size_ok=1',
    ],
  },
  {
    // arch/x86/kernel/signal.c handle_signal(): "Clear the direction flag as per the ABI for function
    // entry"; the frame keeps the interrupted DF (1) and sigreturn restores it (FIX_EFLAGS has DF).
    guest: 'basic',
    args: ['df'],
    probes: [],
    noReference: true,
    linux: ['L: df: sig=10 saved_df=1 handler_df=0', 'L: df after sigreturn=1'],
    status: 'exit 0',
  },
  {
    guest: 'faults',
    args: [],
    probes: ['p:sig/sync on_sync', 'r:sig/repair on_repair'],
    linux: [
      // arch/x86/mm/fault.c: trap 14 (X86_TRAP_PF), error code X86_PF_USER|X86_PF_WRITE (6), plus
      // X86_PF_PROT (7) when the page is present but read-only.
      'L: segv trapno=14 err=6',
      'L: segv trapno=14 err=7',
      // arch/x86/kernel/traps.c: X86_TRAP_DE = 0, X86_TRAP_UD = 6, X86_TRAP_BP = 3.
      'L: sync trapno=0',
      'L: sync trapno=6',
      'L: sync trapno=3',
      // arch/x86/kernel/fpu/signal.c: sigreturn restores the FPU image from the frame.
      'L: cw after sigreturn=0xc7f',
      // Nothing is mapped below the stack: do_user_addr_fault finds no VMA, SEGV_MAPERR (1).
      'L: overflow code=1',
    ],
  },
  { guest: 'timers', args: [], probes: ['p:sig/alarm on_alarm', 'p:sig/tick on_tick'] },
  {
    // A CPU with FXSR and SSE2: the frame carries the fxsave image (qemu's Conroe has both as well).
    guest: 'fpsse',
    args: [],
    probes: ['r:sig/usr1 on_usr1'],
    cflags: ['-msse2'],
    cpuModel: 'pentium4',
    qemuCpu: 'Conroe',
    linux: [
      // arch/x86/kernel/fpu/signal.c: the handler starts from the initial state (FNINIT control word
      // 0x37f, MXCSR 0x1f80, XMM registers zero), and sigreturn loads the fsave-format header's x87
      // state over the fxsave image's (convert_to_fxsr), so the handler's 0xf7f is what returns.
      'L: handler: cw=0x37f mxcsr=0x1f80 xmm0=00000000 00000000 00000000 00000000',
      'L: after: cw=0xf7f',
    ],
  },
  { guest: 'threads', args: [], probes: ['p:sig/usr1 on_usr1'] },
  {
    guest: 'procs',
    args: [],
    probes: ['p:sig/chld on_chld', 'p:sig/usr1 on_usr1_child', 'p:sig/tick on_tick'],
    // kernel/fork.c: a vfork parent sleeps (killable only) until the child execs or exits; a signal the
    // child sends it is then delivered before vfork returns, and the child can still be reaped.
    linux: ['L: vfork: handler ran=1 reaped=1'],
  },
  ...['term', 'abort', 'alarm', 'unblock', 'resethand', 'ignored', 'thread-kill', 'thread-segv'].map((m) => ({
    guest: 'default',
    args: [m],
    probes: ['p:sig/main main'],
  })),
  // SIGRTMIN + 2: glibc reserves the first two real-time signals, so the guest's SIGRTMIN + 2 is 36.
  // qemu-user maps guest real-time signals to other host numbers, so its exit status cannot be compared.
  { guest: 'default', args: ['rt'], probes: [], status: 'signal 36' },
];

const label = (c: Case): string => [c.guest, ...c.args].join(' ');

const binaries = new Map<string, string>();
function binary(guest: string, cflags: string[] = []): string {
  let b = binaries.get(guest);
  if (!b) {
    const common = fs.readFileSync(path.join(DIR, 'common.h'), 'utf8');
    const src = fs
      .readFileSync(path.join(DIR, `${guest}.c`), 'utf8')
      .replace(/^#include "common.h"$/m, () => common);
    b = buildGuest(src, [...GLIBC_FLAGS, ...cflags], `signals-${guest}`);
    binaries.set(guest, b);
  }
  return b;
}

interface Outcome {
  lines: string[];
  linux: string[];
  status: string;
}

function split(stdout: string, status: string): Outcome {
  const all = stdout.split('\n');
  return {
    lines: all.filter((l) => !l.startsWith('L:')),
    linux: all.filter((l) => l.startsWith('L:')),
    status,
  };
}

function reference(c: Case): Outcome {
  if (c.qemuCpu) {
    // runNative's CPU is pentium2; this case needs another one (its warnings on stderr are ignored).
    const r = spawnSync(
      qemuBinary(),
      ['-cpu', c.qemuCpu, '-0', c.guest, binary(c.guest, c.cflags), ...c.args],
      {
        cwd: REPO_ROOT,
        env: Object.fromEntries(GUEST_ENV.map((kv) => kv.split('=') as [string, string])),
        timeout: 60_000,
      },
    );
    return split(r.stdout.toString('latin1'), r.signal ? `signal ${r.signal}` : `exit ${r.status}`);
  }
  const r = runNative(binary(c.guest), [c.guest, ...c.args], { env: GUEST_ENV, timeoutMs: 60_000 });
  const status = r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`;
  return split(r.stdout.toString('latin1'), status);
}

function emulated(c: Case, cpus = 1): Outcome {
  const m = Machine.load(new Uint8Array(fs.readFileSync(binary(c.guest, c.cflags))), {
    argv: [c.guest, ...c.args],
    env: GUEST_ENV,
    cwd: REPO_ROOT,
    cpuModel: c.cpuModel,
    cpus,
    maxInstructions: 50_000_000,
  });
  const r = m.run();
  const status =
    r.status === 'signaled' ? `signal ${r.signal}` : r.status === 'exited' ? `exit ${r.exitCode}` : r.message;
  return split(Buffer.from(r.stdout).toString('latin1'), status);
}

let tmpDir: string;
beforeAll(() => {
  requireTools();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-signals-'));
});
afterAll(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

describe('signals: the emulator against qemu-i386', () => {
  for (const c of CASES)
    it(label(c), () => {
      const ref = c.noReference ? { lines: [''], status: c.status! } : reference(c);
      if (!c.noReference) expect(ref.lines.length, `reference run of ${label(c)}`).toBeGreaterThan(1);
      for (const cpus of [1, 4]) {
        const emu = emulated(c, cpus);
        expect(emu.lines, `${label(c)} on ${cpus} CPUs`).toEqual(ref.lines);
        expect(emu.status).toBe(c.status ?? ref.status);
        expect(emu.linux).toEqual(c.linux ?? []);
      }
    });
});

describe('signals: recorded runs replay identically', () => {
  // The trace does not store the CPU model yet (src/recorder, src/replay), so a pentium4 run cannot be
  // replayed as one: those cases are left out here until it does.
  for (const c of CASES.filter((x) => !x.cpuModel))
    it(label(c), () => {
      const db = path.join(tmpDir, `${c.guest}-${c.args.join('_') || 'run'}.db`);
      const w = TraceWriter.create(db);
      const runs: Array<{ id: number; cpus: number; chaos: boolean }> = [];
      try {
        for (const cpus of [1, 4])
          for (const chaos of [false, true]) {
            const o = recordRun(w, {
              workload: c.guest,
              binary: new Uint8Array(fs.readFileSync(binary(c.guest, c.cflags))),
              session: {
                argv: [c.guest, ...c.args],
                env: GUEST_ENV,
                cwd: REPO_ROOT,
                cpuModel: c.cpuModel,
                cpus,
                chaos,
                seed: 7,
                probes: c.probes,
                maxInstructions: 50_000_000,
              },
            });
            runs.push({ id: o.runId, cpus, chaos });
          }
      } finally {
        w.close();
      }
      const expected = emulated(c).lines;
      const r = TraceReader.open(db);
      try {
        for (const run of runs) {
          const what = `${label(c)} cpus=${run.cpus} chaos=${run.chaos}`;
          const stdout = r
            .outputs(run.id)
            .filter((x) => x.fd === 1)
            .map((x) => x.data.toString('latin1'))
            .join('');
          expect(split(stdout, '').lines, what).toEqual(expected);
          const o = replayRun(r, run.id);
          expect(o.divergence?.message ?? null, what).toBeNull();
          expect(o.matched, what).toBe(true);
          expect(o.outputIdentical, what).toBe(true);
          if (c.probes.length > 0) expect(o.events, what).toBeGreaterThan(0);
        }
      } finally {
        r.close();
      }
    });
});

describe('signals and probes: the probe engine claims its own traps first', () => {
  // (ud2 cannot be probed: an invalid instruction is refused at registration, K1.)
  // kprobes.md K8: a kprobe on the guest's own int3 runs its handler and the guest still gets its
  // SIGTRAP; K13: a fault while a probe single-steps the instruction out of line is fixed up to the
  // original address before it becomes a signal. So with probes on each faulting instruction the
  // guest's handlers see exactly what they see without probes (si_addr and EIP at the original
  // instructions, EIP after the int3), and no handler ever sees a probe's own int3 or step trap.
  it('K8 + K13: probes on the faulting instructions change nothing the guest sees', () => {
    const c = CASES.find((x) => x.guest === 'faults')!;
    const plain = emulated(c);
    const db = path.join(tmpDir, 'faults-probed.db');
    const w = TraceWriter.create(db);
    const probes = ['p:k/int3 do_int3', 'p:k/div div_insn', 'p:k/load load_insn', 'p:k/h on_sync'];
    let runId: number;
    try {
      runId = recordRun(w, {
        workload: 'faults',
        binary: new Uint8Array(fs.readFileSync(binary('faults'))),
        session: {
          argv: ['faults'],
          env: GUEST_ENV,
          cwd: REPO_ROOT,
          cpus: 2,
          probes,
          maxInstructions: 50_000_000,
        },
      }).runId;
    } finally {
      w.close();
    }
    const r = TraceReader.open(db);
    try {
      const out = r
        .outputs(runId)
        .filter((x) => x.fd === 1)
        .map((x) => x.data.toString('latin1'))
        .join('');
      const got = split(out, '');
      expect(got.lines).toEqual(plain.lines);
      expect(got.linux).toEqual(plain.linux);
      const hits = Object.fromEntries(r.probes(runId).map((p) => [p.event, p.hits]));
      // Each faulting instruction is reached once, except the load: it faults, the handler repairs
      // EAX and returns, and the load runs again (a second hit). on_sync runs for SIGFPE, SIGILL and
      // the guest's own SIGTRAP: three times, never for a probe's trap.
      expect(hits).toEqual({ 'k/int3': 1, 'k/div': 1, 'k/load': 2, 'k/h': 3 });
      expect(replayRun(r, runId).divergence).toBeNull();
    } finally {
      r.close();
    }
  });
});
