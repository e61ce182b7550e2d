// Loads runs from a trace database into the analysis model (typed call tables, misses, the scheduler
// timeline, task names). Reads only the record streams of TraceReader (recorded order); never
// writes. Calls are streamed into typed columns so a million-call run stays compact. Every row is
// checked as it is read (src/trace/validate.ts RowChecker): a crafted or damaged trace is a
// one-line TraceError naming the file, run, table, row and field, never a crash or a hang.

import type { TraceReader } from '../trace/reader.js';
import { RowChecker } from '../trace/validate.js';
import {
  CallTableBuilder,
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

/** i386 execve and execveat: a task that called them successfully ran another file. */
const EXEC_NRS = new Set([11, 358]);

/** Successful exec calls per task, from the run's syscall counts (a small table). */
function execsByTid(reader: TraceReader, runId: number): Map<number, number> {
  const check = new RowChecker(reader.path, runId, new Set());
  const out = new Map<number, number>();
  for (const [i, s] of reader.streams(runId).syscalls().entries()) {
    check.syscall(s, i + 1);
    if (EXEC_NRS.has(s.nr)) out.set(s.tid, (out.get(s.tid) ?? 0) + Math.max(0, s.calls - s.errors));
  }
  return out;
}

export function loadRun(reader: TraceReader, runId: number, opts: LoadOptions = {}): RunData {
  const r = reader.run(runId);
  const streams = reader.streams(runId);
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
  const check = new RowChecker(reader.path, runId, new Set(probes.map((p) => p.probeId)), r.cpus);
  const keepArgs = opts.keepArgs ?? false;
  const b = new CallTableBuilder(1024, keepArgs);
  let n = 0;
  for (const c of streams.calls({ args: keepArgs })) {
    check.call(c, ++n);
    b.pushRaw(
      c.probeId,
      c.tid,
      c.ts,
      c.ts + c.dur,
      c.entrySeq ?? 0,
      c.returnSeq,
      c.entryCpu,
      c.returnCpu,
      c.depth,
      c.retval,
      true,
      check.args('calls', n, c.args),
    );
  }
  n = 0;
  const misses: MissRec[] = [];
  for (const m of streams.missed()) misses.push(check.miss(m, ++n));
  n = 0;
  const sched: SchedRec[] = [];
  for (const s of streams.sched()) {
    check.sched(s, ++n);
    sched.push({ ts: s.ts, cpu: s.cpu, prevTid: s.prevTid ?? 0, nextTid: s.nextTid ?? 0, reason: s.reason });
  }
  // Before format 4 the pid, ppid and exe columns are placeholders: leave the process unknown.
  const execs = r.legacyTasks ? new Map<number, number>() : execsByTid(reader, runId);
  const tasks = streams.tasks().map((t, i) => {
    check.task(t, i + 1);
    return r.legacyTasks
      ? { tid: t.tid, name: t.name }
      : { tid: t.tid, name: t.name, pid: t.pid, ppid: t.ppid, exe: t.exe, execs: execs.get(t.tid) ?? 0 };
  });
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
      mhz: r.mhz,
    },
    probes,
    calls: b.build(),
    complete,
    misses,
    sched,
    tasks,
  };
}
