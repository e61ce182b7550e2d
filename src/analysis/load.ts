// Loads runs from a trace database into the analysis model (typed call tables, misses, the scheduler
// timeline, task names). Reads only through TraceReader; never writes. Calls are streamed into typed
// columns so a million-call run stays compact.

import type { TraceReader } from '../trace/reader.js';
import {
  CallTableBuilder,
  type AnalysisInput,
  type CallTable,
  type MissRec,
  type ProbeInfo,
  type RunData,
  type SchedRec,
} from './model.js';

/** Supplies the complete call set of a run (every kretprobe, unbounded pools), or null if unavailable. */
export type CompleteCallSetProvider = (runId: number) => CallTable | null;

export interface LoadOptions {
  /** Keep call arguments (JSON) in memory (Chrome trace / folded output want them; reports do not). */
  keepArgs?: boolean;
  complete?: CompleteCallSetProvider;
}

export function loadRun(reader: TraceReader, runId: number, opts: LoadOptions = {}): RunData {
  const r = reader.run(runId);
  const cfg = reader.runConfig(runId);
  const probes: ProbeInfo[] = reader.probes(runId).map((p) => ({
    probeId: p.probeId,
    event: p.event,
    kind: p.kind,
    symbol: p.symbol ?? `0x${(p.addr >>> 0).toString(16)}`,
    maxactive: p.maxactive ?? 0,
    hits: p.hits ?? 0,
    nmissed: p.kind === 'kretprobe' ? (p.nmissed ?? 0) : 0,
    nmissedReentry: p.nmissedReentry ?? 0,
  }));
  const b = new CallTableBuilder(1024, opts.keepArgs ?? false);
  for (const row of reader.iterateRaw(
    `SELECT probe_id, tid, ts, ts + dur, entry_seq, return_seq, entry_cpu, return_cpu, depth, retval,
            ${opts.keepArgs ? '(SELECT s FROM strings WHERE id = c.args)' : 'NULL'}
     FROM call_rows c WHERE run_id = ? ORDER BY return_seq`,
    runId,
  )) {
    const args =
      row[10] === null || row[10] === undefined
        ? null
        : (JSON.parse(String(row[10])) as Record<string, unknown>);
    b.pushRaw(
      Number(row[0]),
      Number(row[1]),
      Number(row[2]),
      Number(row[3]),
      Number(row[4]),
      Number(row[5]),
      Number(row[6]),
      Number(row[7]),
      Number(row[8]),
      row[9] === null ? null : Number(row[9]),
      true,
      args,
    );
  }
  const misses: MissRec[] = reader.missed(runId).map((m) => ({
    probeId: m.probeId,
    tid: m.tid,
    cpu: m.cpu,
    ts: m.ts,
    reason: m.reason,
  }));
  const sched: SchedRec[] = [];
  for (const s of reader.sched(runId))
    sched.push({
      ts: s.ts,
      cpu: s.cpu,
      prevTid: s.prevTid ?? 0,
      nextTid: s.nextTid ?? 0,
      reason: s.reason ?? undefined,
    });
  const tasks = reader.tasks(runId).map((t) => ({ tid: t.tid, name: t.name }));
  const needComplete = probes.some((p) => p.kind === 'kretprobe' && p.nmissed + p.nmissedReentry > 0);
  const complete = needComplete && opts.complete ? (opts.complete(runId) ?? undefined) : undefined;
  return {
    run: {
      runId,
      workload: r.workload,
      cpus: r.cpus,
      preempt: r.preempt,
      seed: r.seed,
      chaos: r.chaos,
      status: r.status,
      instructions: r.instructions ?? 0,
      cycles: r.cycles ?? 0,
      mhz: r.mhz ?? (typeof cfg.mhz === 'number' ? cfg.mhz : 1000),
    },
    probes,
    calls: b.build(),
    complete,
    misses,
    sched,
    tasks,
  };
}

export function loadRuns(reader: TraceReader, runIds: number[], opts: LoadOptions = {}): AnalysisInput {
  return { runs: runIds.map((id) => loadRun(reader, id, opts)) };
}
