#!/usr/bin/env node
// Runs a static i386 binary in the emulator without probes (a developer convenience; probe-record is
// the main entry point). Exits with the guest's status, or 128 + signal, like the guest would.
import { readFileSync } from 'node:fs';
import { ElfError, Machine } from '../emulator/machine.js';

function main(): number {
  const args = process.argv.slice(2);
  let cpus = 1;
  let max: number | undefined;
  while (args[0]?.startsWith('--')) {
    const a = args.shift()!;
    if (a === '--cpus') cpus = Number(args.shift());
    else if (a === '--max-instructions') max = Number(args.shift());
    else if (a === '--') break;
    else {
      process.stderr.write(`probe-run: unknown option ${a}\n`);
      return 2;
    }
  }
  const file = args[0];
  if (!file) {
    process.stderr.write('usage: probe-run [--cpus N] [--max-instructions N] ELF [ARGS...]\n');
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    process.stderr.write(`probe-run: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}\n`);
    return 1;
  }
  try {
    const m = Machine.load(bytes, {
      argv: args,
      env: [],
      cpus,
      maxInstructions: max,
      captureOutput: false,
      onStdout: (b) => process.stdout.write(b),
      onStderr: (b) => process.stderr.write(b),
    });
    const c0 = process.cpuUsage();
    const r = m.run();
    const cu = process.cpuUsage(c0);
    const secs = (cu.user + cu.system) / 1e6;
    if (process.env.PROBE_RUN_STATS)
      process.stderr.write(
        `probe-run: ${r.instructions} instructions in ${secs.toFixed(3)} s of CPU time = ${(r.instructions / secs / 1e6).toFixed(1)} MIPS\n`,
      );
    if (r.status === 'exited') return r.exitCode ?? 0;
    process.stderr.write(`probe-run: ${r.message}\n${r.dump}\n`);
    return r.status === 'signaled' ? 128 + (r.signal ?? 0) : 1;
  } catch (e) {
    if (e instanceof ElfError) {
      process.stderr.write(`probe-run: ${file}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main();
