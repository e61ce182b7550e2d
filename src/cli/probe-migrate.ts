#!/usr/bin/env node
// probe-migrate: upgrades trace files written by an older probelab to this build's format, in
// place. Each step runs in its own transaction (a failure leaves the file at the previous format);
// a current file is not touched; a newer one is refused. This is the "run a migration" that the
// version gate's message refers to.

import { resolve } from 'node:path';
import { FORMAT_VERSION } from '../trace/db.js';
import { migrateTrace } from '../trace/migrate.js';
import { parseCommand, runCommand, type CommandSpec } from './command.js';
import { traceFailure } from './common.js';

export const spec = {
  name: 'probe-migrate',
  usage: `$0 TRACE...\n\nUpgrade trace files in place to format ${FORMAT_VERSION}.`,
  options: (y) => y.demandCommand(1, 'give at least one trace file'),
} satisfies CommandSpec<unknown>;

export function main(argv: string[]): number {
  const a = parseCommand(spec, argv);
  if (!a) return 0;
  for (const file of a._) {
    try {
      const steps = migrateTrace(resolve(file));
      process.stderr.write(
        steps.length === 0
          ? `${file}: already format ${FORMAT_VERSION}\n`
          : steps.map((s) => `${file}: ${s}\n`).join(''),
      );
    } catch (e) {
      throw traceFailure(e, file);
    }
  }
  return 0;
}

runCommand('probe-migrate', import.meta.url, main);
