// Shared by the file-system and socket guest tests: run a guest on the reference (qemu-i386, whose
// file and socket calls go to the real host kernel, so it runs in a fresh empty directory) and in
// the emulator (in another fresh empty directory that it may read, which must still be empty
// afterwards: the guest's writes stay in the machine), and record + replay-verify a guest on 1 and
// 4 CPUs with and without chaos.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { Machine } from '../../src/emulator/machine.js';
import { recordRun } from '../../src/recorder/record.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { GUEST_ENV, runNative } from '../helpers/native.js';
import { outcomeOf } from './core-helpers.js';

const made: string[] = [];

/** A fresh empty directory (real path), removed by cleanup(). */
export function emptyDir(tag: string): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `probelab-${tag}-`)));
  made.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export interface Outcome {
  stdout: string;
  stderr: string;
  status: string;
}

/** The reference run, in a fresh empty directory. */
export function reference(bin: string, argv: string[]): Outcome {
  const r = runNative(bin, argv, { cwd: emptyDir('qemu'), env: GUEST_ENV, timeoutMs: 120_000 });
  return {
    stdout: r.stdout.toString('latin1'),
    stderr: r.stderr.toString('latin1'),
    status: r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`,
  };
}

/**
 * The emulator run, in a fresh empty directory the guest may read; asserts the directory is still
 * empty afterwards (nothing the guest wrote reached the host). `setup` sees the machine first.
 */
export function emulated(bin: string, argv: string[], setup?: (m: Machine) => void, cpus = 2): Outcome {
  const dir = emptyDir('emu');
  const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), {
    argv,
    env: GUEST_ENV,
    cwd: dir,
    allowRead: [dir],
    cpus,
    maxInstructions: 2_000_000_000,
  });
  setup?.(m);
  const r = m.run();
  expect(fs.readdirSync(dir), 'the guest wrote to the host directory').toEqual([]);
  return outcomeOf(r);
}

/**
 * Records the guest with `probes` on 1 and 4 CPUs, with and without chaos, each in a fresh empty
 * directory, then replays every run in verify mode: events, schedule, inputs and output must be
 * identical. Returns the recorded stdout of each run (they must all equal `expected`).
 */
export function recordAndVerify(bin: string, argv: string[], probes: string[], expected: string): void {
  const db = path.join(emptyDir('trace'), 'trace.db');
  const w = TraceWriter.create(db);
  const runs: Array<{ id: number; label: string }> = [];
  const binary = new Uint8Array(fs.readFileSync(bin));
  for (const cpus of [1, 4])
    for (const chaos of [false, true]) {
      const dir = emptyDir('rec');
      const out: Uint8Array[] = [];
      const id = recordRun(w, {
        workload: path.basename(bin),
        binary,
        session: {
          argv,
          env: GUEST_ENV,
          cpus,
          chaos,
          seed: 7,
          probes,
          cwd: dir,
          allowRead: [dir],
          captureOutput: true,
          onStdout: (b) => out.push(b),
        },
      }).runId;
      expect(Buffer.concat(out).toString('latin1'), `recorded output, cpus=${cpus} chaos=${chaos}`).toBe(
        expected,
      );
      expect(fs.readdirSync(dir)).toEqual([]);
      runs.push({ id, label: `cpus=${cpus} chaos=${chaos}` });
    }
  w.close();
  const r = TraceReader.open(db);
  try {
    for (const run of runs) {
      const o = replayRun(r, run.id);
      expect(o.divergence?.message ?? null, run.label).toBeNull();
      expect(o.matched, run.label).toBe(true);
      expect(o.outputIdentical, run.label).toBe(true);
      expect(r.eventCount(run.id), `${run.label}: the probes fired`).toBeGreaterThan(0);
    }
  } finally {
    r.close();
  }
}
