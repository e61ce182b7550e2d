// Shared by the core OS tests: build a guest from test/os/guests, run it on qemu-i386 and in the
// emulator, and record + replay-verify it. Guarantees: builds are cached by content hash (see
// test/helpers/gcc.ts); traces live in a temporary directory removed by `cleanup`.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Machine, type MachineOptions, type RunResult } from '../../src/emulator/machine.js';
import { recordRun } from '../../src/recorder/record.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { buildGuest, REPO_ROOT, STATIC } from '../helpers/gcc.js';
import { expect } from 'vitest';
import { qemuBinary, runNative } from '../helpers/native.js';

export const OS_GUESTS = path.join(REPO_ROOT, 'test', 'os', 'guests');

/** Builds test/os/guests/NAME.c as a static glibc i386 executable (plus `flags`); returns its path. */
export function buildOsGuest(name: string, flags: string[] = []): string {
  return buildGuest(
    fs.readFileSync(path.join(OS_GUESTS, `${name}.c`), 'utf8'),
    [...STATIC, '-O1', ...flags],
    `os-${name}`,
  );
}

export interface Outcome {
  stdout: string;
  stderr: string;
  status: string;
}

export function onQemu(bin: string, argv: string[], stdin?: Uint8Array): Outcome {
  const r = runNative(bin, argv, { cwd: REPO_ROOT, env: [], stdin });
  return {
    stdout: r.stdout.toString('latin1'),
    stderr: r.stderr.toString('latin1'),
    status: r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`,
  };
}

export function outcomeOf(r: RunResult): Outcome {
  return {
    stdout: Buffer.from(r.stdout).toString('latin1'),
    stderr: Buffer.from(r.stderr).toString('latin1'),
    status:
      r.status === 'signaled'
        ? `signal ${r.signal}`
        : r.status === 'exited'
          ? `exit ${r.exitCode}`
          : `${r.status}: ${r.message}`,
  };
}

export function onEmulator(bin: string, argv: string[], opts: Partial<MachineOptions> = {}): RunResult {
  const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
    argv,
    env: [],
    cwd: REPO_ROOT,
    maxInstructions: 2_000_000_000,
    ...opts,
  });
  return m.run();
}

let traceDir: string | null = null;
let n = 0;

/** Records a run, replays it with --verify semantics; returns the divergence (null = identical). */
export function recordAndVerify(
  bin: string,
  argv: string[],
  cpus: number,
  chaos: boolean,
  opts: { cwd?: string; env?: string[]; allowRead?: string[]; cpuModel?: string; probes?: string[] } = {},
): { divergence: string | null; result: RunResult } {
  traceDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-core-'));
  const db = path.join(traceDir, `${++n}.db`);
  const w = TraceWriter.create(db);
  let runId: number;
  let result: RunResult;
  try {
    const out = recordRun(w, {
      workload: path.basename(bin),
      binary: new Uint8Array(fs.readFileSync(bin)),
      session: {
        argv,
        cpus,
        chaos,
        seed: 7,
        probes: opts.probes ?? [],
        env: opts.env ?? [],
        cwd: opts.cwd ?? REPO_ROOT,
        allowRead: opts.allowRead,
        cpuModel: opts.cpuModel,
        captureOutput: true,
      },
    });
    runId = out.runId;
    result = out.result;
  } finally {
    w.close();
  }
  const r = TraceReader.open(db);
  try {
    const o = replayRun(r, runId);
    return { divergence: o.divergence ? JSON.stringify(o.divergence) : null, result };
  } finally {
    r.close();
  }
}

export function cleanup(): void {
  if (traceDir) fs.rmSync(traceDir, { recursive: true, force: true });
  traceDir = null;
}

/** A guest compared with qemu-i386, and Linux's answers where qemu (root here) departs from them. */
export interface QemuCase {
  guest: string;
  cpuModel?: string;
  qemuCpu: string;
  /** Linux's values for the guest's "L:" lines, reviewed by hand against the kernel source. */
  linux: string[];
}

/** qemu-i386 under `ulimit -c 0` (no core file, as the emulator never writes one). */
export function onQemuNoCore(bin: string, argv: string[], cpu: string): Outcome {
  const r = spawnSync(
    'sh',
    ['-c', 'ulimit -c 0 && exec "$0" "$@"', qemuBinary(), '-cpu', cpu, '-0', argv[0]!, bin, ...argv.slice(1)],
    { cwd: REPO_ROOT, env: {}, timeout: 60_000 },
  );
  if (r.error) throw r.error;
  return {
    stdout: r.stdout.toString('latin1'),
    // qemu's own lines (its "core dumped" notes, CPU feature warnings) are not the guest's.
    stderr: r.stderr
      .toString('latin1')
      .split('\n')
      .filter((l) => l && !l.startsWith('qemu'))
      .join('\n'),
    status: r.signal ? `signal ${r.signal}` : `exit ${r.status}`,
  };
}

/** Separates the "L:" lines (Linux's answers where qemu departs) from the rest of the output. */
function splitLinux(o: Outcome): { rest: Outcome; linux: string[] } {
  const lines = o.stdout.split('\n');
  return {
    rest: { ...o, stdout: lines.filter((l) => !l.startsWith('L:')).join('\n') },
    linux: lines.filter((l) => l.startsWith('L:')),
  };
}

/**
 * Runs `bin` on qemu-i386 and in the emulator (2 CPUs): the same output and status apart from the
 * "L:" lines, which must be Linux's values.
 */
export function expectAsOnQemu(bin: string, c: QemuCase): void {
  const want = splitLinux(onQemuNoCore(bin, [c.guest], c.qemuCpu));
  expect(want.rest.stdout.split('\n').length, 'qemu printed nothing').toBeGreaterThan(1);
  const got = splitLinux(outcomeOf(onEmulator(bin, [c.guest], { cpuModel: c.cpuModel, cpus: 2 })));
  expect(got.rest).toEqual(want.rest);
  expect(got.linux).toEqual(c.linux);
}
