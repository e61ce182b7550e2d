// What replaying a run needs, read from the trace database alone: the stored binary, the run's
// configuration (as session options, through src/recorder/config.ts) and its logged inputs.
// Guarantees: no host file is ever read (the guest's file opens are served from the log, in the
// order they were logged); the run's inputs are read once, in consumption order.

import { createHash } from 'node:crypto';
import type { FileSource, HostFileResult } from '../emulator/types.js';
import { sessionOptionsOf } from '../recorder/config.js';
import type { SessionOptions } from '../recorder/session.js';
import type { RunConfig } from '../trace/config.js';
import type { RunRow, TraceReader } from '../trace/reader.js';
import { ReplayError } from './errors.js';

const ENOENT = 2;

interface FileMeta {
  path: string;
  kind: 'file' | 'dir' | 'error';
  errno?: number;
  mode?: number;
  mtimeSec?: number;
  ino?: number;
  entries?: string[];
}

/**
 * Serves the guest's file opens from the logged 'file' inputs (key = JSON meta, data = contents),
 * in the order they were logged, per path. No host file is ever read. An open beyond the log
 * (only possible when a what-if replay changed the guest's behaviour) gets the path's last logged
 * result again (files are read-only) or ENOENT for a path never logged; `unlogged` counts them.
 */
export class ReplayFileSource implements FileSource {
  private readonly queues = new Map<string, HostFileResult[]>();
  private readonly last = new Map<string, HostFileResult>();
  unlogged = 0;

  /** Adds one logged 'file' input. Throws ReplayError on a key that is not the recorder's meta. */
  add(key: string, data: Uint8Array): void {
    let meta: FileMeta;
    try {
      meta = JSON.parse(key) as FileMeta;
    } catch {
      throw new ReplayError(`logged file input has a malformed key: ${key.slice(0, 80)}`);
    }
    if (typeof meta.path !== 'string')
      throw new ReplayError(`logged file input without a path: ${key.slice(0, 80)}`);
    let r: HostFileResult;
    if (meta.kind === 'file')
      r = {
        kind: 'file',
        data,
        mode: meta.mode ?? 0o100444,
        mtimeSec: meta.mtimeSec ?? 0,
        ino: meta.ino ?? 0,
      };
    else if (meta.kind === 'dir')
      r = {
        kind: 'dir',
        entries: meta.entries ?? [],
        mode: meta.mode ?? 0o40555,
        mtimeSec: meta.mtimeSec ?? 0,
        ino: meta.ino ?? 0,
      };
    else r = { kind: 'error', errno: meta.errno ?? ENOENT };
    let q = this.queues.get(meta.path);
    if (!q) {
      q = [];
      this.queues.set(meta.path, q);
    }
    q.push(r);
  }

  /** An independent source over the same log (a throwaway session reads it without consuming it). */
  copy(): ReplayFileSource {
    const c = new ReplayFileSource();
    for (const [path, q] of this.queues) c.queues.set(path, [...q]);
    return c;
  }

  open(path: string): HostFileResult {
    const r = this.queues.get(path)?.shift();
    if (r) {
      this.last.set(path, r);
      return r;
    }
    this.unlogged++;
    return this.last.get(path) ?? { kind: 'error', errno: ENOENT };
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
