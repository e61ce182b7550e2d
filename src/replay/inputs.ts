// What replaying a run needs, read from the trace database alone: the stored binary, the run's
// configuration (as session options, through src/recorder/config.ts) and its logged inputs.
// Guarantees: no host file is ever read (the guest's file opens are served from the log, in the
// order they were logged); the run's inputs are read once, in consumption order.

import { createHash } from 'node:crypto';
import { FileLogError, LoggedFiles } from '../emulator/os/vfs-inputs.js';
import { sessionOptionsOf } from '../recorder/config.js';
import type { SessionOptions } from '../recorder/session.js';
import type { RunConfig } from '../trace/config.js';
import type { RunRow, TraceReader } from '../trace/reader.js';
import { ReplayError } from './errors.js';

/**
 * Serves the guest's file system from the logged 'file' inputs (os/vfs-inputs.ts), in the order
 * they were logged; no host file is ever read. A malformed record is a ReplayError.
 */
export class ReplayFileSource extends LoggedFiles {
  override add(key: string, data: Uint8Array): void {
    try {
      super.add(key, data);
    } catch (e) {
      if (e instanceof FileLogError) throw new ReplayError(e.message);
      throw e;
    }
  }

  /** An independent source over the same log (a throwaway session reads it without consuming it). */
  copy(): ReplayFileSource {
    const c = new ReplayFileSource();
    this.copyInto(c);
    return c;
  }
}

/** Everything replay takes from the database for one run. */
export interface ReplayPlan {
  run: RunRow;
  config: RunConfig;
  binary: Uint8Array;
  binaryIntact: boolean;
  files: ReplayFileSource;
  stdin: Uint8Array;
  /** Session options reproducing the recording (probes and pools as recorded). */
  session: SessionOptions;
}

/**
 * Reads what replaying `runId` needs. Throws ReplayError for a run that cannot be replayed
 * (incomplete) and TraceError for a missing run or binary.
 */
export function loadReplayPlan(reader: TraceReader, runId: number): ReplayPlan {
  const run = reader.run(runId);
  if (run.status === 'incomplete')
    throw new ReplayError(
      `run ${runId} of ${reader.path} is incomplete (its recording was interrupted before it finished), so it cannot be replayed: record it again`,
    );
  const config = reader.runConfig(runId);
  const binary = new Uint8Array(reader.runBinary(runId));
  const binaryIntact = createHash('sha256').update(binary).digest('hex') === run.binarySha256;
  const files = new ReplayFileSource();
  const stdinParts: Uint8Array[] = [];
  for (const r of reader.streams(runId).inputs()) {
    if (r.kind === 'file') files.add(r.key ?? '', r.data);
    else if (r.kind === 'stdin') stdinParts.push(r.data);
    // 'random' inputs come from the seed; verification compares them as they are produced.
  }
  const stdin = new Uint8Array(Buffer.concat(stdinParts));
  const session = { ...sessionOptionsOf(config, { files, stdin }), captureOutput: false };
  return { run, config, binary, binaryIntact, files, stdin, session };
}
