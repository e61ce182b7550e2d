// The two conversions between a run's stored configuration (src/trace/config.ts RunConfig) and
// the options a ProbeSession runs with. Recording stores runConfigOf(options) and runs
// sessionOptionsOf(that config), and replay runs sessionOptionsOf(the stored config), so a
// recording and its replay get the same machine whatever the caller left unset (the defaults are
// RunConfig's, in one place).

import { DEFAULT_MAX_TASKS } from '../emulator/machine.js';
import { MEM_LIMIT_MAX } from '../emulator/memory.js';
import type { FileSource } from '../emulator/types.js';
import { makeRunConfig, type RunConfig } from '../trace/config.js';
import type { SessionOptions } from './session.js';

/** The configuration to store for a session (undefined options take RunConfig's defaults). */
export function runConfigOf(s: SessionOptions, extra: Partial<RunConfig> = {}): RunConfig {
  return makeRunConfig({
    argv: s.argv,
    env: s.env,
    cwd: s.cwd ?? process.cwd(),
    cpus: s.cpus,
    preempt: s.preempt,
    seed: s.seed,
    chaos: s.chaos,
    mhz: s.mhz,
    maxInstructions: s.maxInstructions,
    maxRounds: s.maxRounds,
    quantum: s.quantum,
    tick: s.tick,
    // The effective limit is stored, so a later change of the default cannot change a replay.
    maxTasks: s.maxTasks ?? DEFAULT_MAX_TASKS,
    probes: s.probes,
    maxactive: s.maxactive,
    detectReturnAddressReads: s.detectReturnAddressReads,
    allowRead: s.allowRead,
    cpuModel: s.cpuModel,
    memLimit: s.memLimit,
    ...extra,
  });
}

/**
 * Session options that run `c` (without output callbacks). `files`/`stdin` serve the guest's
 * inputs: the host's (recording) or the logged ones (replay).
 */
export function sessionOptionsOf(
  c: RunConfig,
  io: { files?: FileSource; stdin?: Uint8Array } = {},
): SessionOptions {
  const orUndefined = (v: number | null): number | undefined => (v === null ? undefined : v);
  return {
    argv: c.argv,
    env: c.env,
    cwd: c.cwd,
    files: io.files,
    allowRead: c.allowRead.length ? c.allowRead : undefined,
    stdin: io.stdin,
    cpus: c.cpus,
    preempt: c.preempt,
    seed: c.seed,
    chaos: c.chaos,
    mhz: c.mhz,
    maxInstructions: orUndefined(c.maxInstructions),
    maxRounds: orUndefined(c.maxRounds),
    quantum: orUndefined(c.quantum),
    tick: orUndefined(c.tick),
    maxTasks: orUndefined(c.maxTasks),
    probes: c.probes,
    maxactive: c.maxactive,
    detectReturnAddressReads: c.detectReturnAddressReads,
    // Replay must run the recorded CPU model: glibc picks its code paths from CPUID.
    cpuModel: c.cpuModel,
    memLimit: c.memLimit ?? MEM_LIMIT_MAX,
  };
}
