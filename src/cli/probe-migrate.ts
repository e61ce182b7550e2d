#!/usr/bin/env node
// probe-migrate: upgrades trace files written by an older probelab to this build's format, in
// place. Each step runs in its own transaction (a failure leaves the file at the previous format);
// a current file is not touched; a newer one is refused. This is the "run a migration" that the
// version gate's message refers to.

import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FORMAT_VERSION, TraceError } from '../trace/db.js';
import { migrateTrace } from '../trace/migrate.js';
import { CliError, isMainModule, runMain } from './common.js';

export function main(argv: string[]): Promise<number> {
  const a = yargs(argv)
    .scriptName('probe-migrate')
    .usage(`$0 TRACE...\n\nUpgrade trace files in place to format ${FORMAT_VERSION}.`)
    .demandCommand(1, 'give at least one trace file')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new CliError(err ? err.message : msg, 2);
    })
    .parseSync();
  for (const file of a._.map(String)) {
    try {
      const steps = migrateTrace(resolve(file));
      process.stderr.write(
        steps.length === 0
          ? `${file}: already format ${FORMAT_VERSION}\n`
          : steps.map((s) => `${file}: ${s}\n`).join(''),
      );
    } catch (e) {
      if (e instanceof TraceError) throw new CliError(e.message);
      throw e;
    }
  }
  return Promise.resolve(0);
}

if (isMainModule(import.meta.url)) void runMain('probe-migrate', () => main(hideBin(process.argv)));
