// Complete call sets for reports: when a recording's return probes missed calls, replay the run with
// unbounded pools once (src/replay), and cache the result in the trace's call_sets table so later
// reports are instant. The cache stores typed columns, keyed by a format tag.

import { CallTableBuilder, type CallTable } from '../analysis/model.js';
import type { CompleteCallSetProvider } from '../analysis/load.js';
import { completeCallSet, ReplayError } from '../replay/replay.js';
import { CallSetCache, type TraceReader } from '../trace/reader.js';

const KEY = 'complete-v1';
const COLS = 11;

function encode(calls: ReturnType<typeof completeCallSet>): Buffer {
  const f = new Float64Array(calls.length * COLS);
  calls.forEach((c, i) => {
    const o = i * COLS;
    f[o] = c.probeId;
    f[o + 1] = c.tid;
    f[o + 2] = c.entryTs;
    f[o + 3] = c.returnTs;
    f[o + 4] = c.entrySeq;
    f[o + 5] = c.returnSeq;
    f[o + 6] = c.entryCpu;
    f[o + 7] = c.returnCpu;
    f[o + 8] = c.depth;
    f[o + 9] = c.retval === null ? NaN : c.retval;
    f[o + 10] = c.hooked ? 1 : 0;
  });
  return Buffer.from(f.buffer);
}

function decode(buf: Buffer): CallTable {
  const f = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const n = f.length / COLS;
  const b = new CallTableBuilder(Math.max(16, n));
  for (let i = 0; i < n; i++) {
    const o = i * COLS;
    b.pushRaw(
      f[o]!,
      f[o + 1]!,
      f[o + 2]!,
      f[o + 3]!,
      f[o + 4]!,
      f[o + 5]!,
      f[o + 6]!,
      f[o + 7]!,
      f[o + 8]!,
      Number.isNaN(f[o + 9]!) ? null : f[o + 9]!,
      f[o + 10] === 1,
    );
  }
  return b.build();
}

/** A provider that reads the cache, or replays and fills it (a failed cache write is not fatal). */
export function completeCallSetProvider(reader: TraceReader, path: string): CompleteCallSetProvider {
  return (runId) => {
    const cached = reader.callSet(runId, 0, KEY);
    if (cached) return decode(cached);
    const events = reader
      .probes(runId)
      .filter((p) => p.kind === 'kretprobe')
      .map((p) => p.event);
    if (events.length === 0) return null;
    let calls;
    try {
      calls = completeCallSet(reader, runId, events);
    } catch (e) {
      if (e instanceof ReplayError) {
        process.stderr.write(`probe-report: run ${runId}: exact miss curves unavailable: ${e.message}\n`);
        return null;
      }
      throw e;
    }
    const data = encode(calls);
    try {
      const cache = CallSetCache.open(path);
      try {
        cache.put(runId, 0, KEY, data);
      } finally {
        cache.close();
      }
    } catch {
      // Read-only file or directory: the report is still exact, just not cached.
    }
    return decode(data);
  };
}
