#!/usr/bin/env node
// probe-run: runs a static i386 binary in the emulator without probes or recording (a developer
// convenience; probe-record is the main entry point). Exits with the guest's status, or 128 + signal,
// like the guest would. PROBE_RUN_STATS=1 prints the emulator's speed on stderr.

import { DEFAULT_CPUS, NR_CPUS_MAX, NR_CPUS_MIN, cpusProblem } from '../trace/config.js';
import { ElfError, Machine } from '../emulator/machine.js';
import { parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError, readInput } from './common.js';
import { guestOptions, guestWorld, machineOptionsOf } from './guest-options.js';
import { runNotes } from '../emulator/notes.js';
import { escapeControls, escapeLines } from './terminal.js';

export const spec = {
  name: 'probe-run',
  usage:
    '$0 [OPTIONS] ELF [ARGS...]\n\n' +
    'Run a static i386 program without probes or recording. Options go before or after the ELF;\n' +
    'give guest arguments that start with a dash after --.',
  options: (y) =>
    guestOptions(y)
      .option('cpus', {
        alias: 'c',
        type: 'number',
        default: DEFAULT_CPUS,
        describe: `virtual CPUs, ${NR_CPUS_MIN}..${NR_CPUS_MAX}`,
      })
      .demandCommand(1, 'give the ELF to run'),
  strict: 'options',
} satisfies CommandSpec<unknown>;

export async function main(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return 0;
  const [file, ...rest] = a._ as [string, ...string[]];
  const cpus = cpusProblem(a.cpus);
  if (cpus) throw new CliError(`--cpus ${cpus}, got ${a.cpus}`, 2);
  const bytes = readInput(file, 'ELF');
  const world = await guestWorld(a);
  let m: Machine;
  try {
    m = Machine.load(bytes, {
      argv: [file, ...rest, ...a['--']],
      ...machineOptionsOf(world),
      cpus: a.cpus,
      captureOutput: false,
      onStdout: (b) => process.stdout.write(b),
      onStderr: (b) => process.stderr.write(b),
    });
  } catch (e) {
    if (e instanceof ElfError) throw new CliError(`${escapeControls(file)}: ${escapeControls(e.message)}`);
    throw e;
  }
  const c0 = process.cpuUsage();
  const r = m.run();
  const cu = process.cpuUsage(c0);
  const secs = (cu.user + cu.system) / 1e6;
  if (process.env.PROBE_RUN_STATS)
    process.stderr.write(
      `probe-run: ${r.instructions} instructions in ${secs.toFixed(3)} s of CPU time = ${(r.instructions / secs / 1e6).toFixed(1)} MIPS\n`,
    );
  for (const line of runNotes(r, 'probe-run')) process.stderr.write(`${escapeControls(line)}\n`);
  if (r.status === 'exited') return r.exitCode ?? 0;
  process.stderr.write(`probe-run: ${escapeControls(r.message)}\n${escapeLines(r.dump)}\n`);
  return r.status === 'signaled' ? 128 + (r.signal ?? 0) : 1;
}

runCommand('probe-run', import.meta.url, main);
