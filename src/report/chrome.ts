// Chrome trace-event JSON (the format Perfetto's UI and chrome://tracing open).
//
// Layout: one process per run (pid = run id, named "run N: workload"), one thread track per task
// (tid = guest tid, `thread_name` metadata from the tasks list; "name (pid P)" in a run of several
// guest processes), calls as slices, misses as instant events.
//
// Event choice, justified:
// - Calls of one task are matched LIFO (K17), so they nest properly on the task's track; they are
//   complete events 'X' (one event per call, half the size of B/E pairs, and Perfetto builds the
//   call stack from nesting). A call that overlaps a same-task call without nesting in it (not
//   possible with LIFO instances, but a trace must never be rejected because the data is odd) would
//   corrupt that stack, so it becomes a nestable async pair 'b'/'e' with a unique id per call
//   (cat "kretprobe.unnested"), which Perfetto draws on its own async track.
// - Calls the recording missed (present only in a complete call set from a replay) are slices
//   named "MISSED <symbol>" with cat "kretprobe,missed"; every recorded miss is also an instant
//   event 'i' (thread scope) named "MISSED <symbol> (<reason>)" on the task's track.
// - Calls that never returned last until the end of the run and carry args.unfinished = true.
//
// Timestamps: the format wants µs. Cycles become integer ns first (round(cycles*1000/mhz)), and
// ts/dur are written as (ns + 0.25)/1000, so Perfetto's truncating µs→ns conversion gives back the
// exact integer ns: nesting that holds in cycles holds exactly in the viewer. Events are written in
// (ts, seq) order, so ts is monotone on every track. No `displayTimeUnit` (older Perfetto versions
// would reinterpret ts with it).

import { nesting } from '../analysis/latency.js';
import { severalProcesses } from '../analysis/processes.js';
import {
  argsort,
  asCallTable,
  callOrder,
  type AnalysisInput,
  type CallTable,
  type RunData,
} from '../analysis/model.js';

/** One trace event as written. */
export interface ChromeEvent {
  name: string;
  ph: 'X' | 'b' | 'e' | 'i' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: string;
  s?: 't';
  args?: Record<string, unknown>;
}

function usOf(ns: number): number {
  return (ns + 0.25) / 1000;
}

function retvalOf(t: CallTable, i: number): number | null {
  const v = t.retval[i] as number;
  return Number.isNaN(v) ? null : v;
}

/** Writes one run's events (metadata first, then (ts, seq) order). */
function writeRun(rd: RunData, emit: (e: ChromeEvent) => void): void {
  const run = rd.run;
  const pid = run.runId;
  const mhz = run.mhz;
  const nsOf = (c: number): number => Math.round((c * 1000) / mhz);
  const t = asCallTable(rd.complete ?? rd.calls, true);
  const order = callOrder(t);
  const nest = nesting(t, order.entryOrder);
  const probes = new Map(rd.probes.map((p) => [p.probeId, p]));
  const names = new Map<number, string>();
  // In a run of several processes a track also names its process (the run is one Chrome process).
  const several = severalProcesses(rd);
  for (const task of rd.tasks ?? []) {
    const name = task.name || `task ${task.tid}`;
    if (several && task.pid !== undefined) names.set(task.tid, `${name} (pid ${task.pid})`);
    else if (task.name) names.set(task.tid, name);
  }
  let endCycles = run.cycles;
  for (let i = 0; i < t.length; i++) {
    const r = t.returnTs[i] as number;
    if (Number.isFinite(r) && r > endCycles) endCycles = r;
    if ((t.entryTs[i] as number) > endCycles) endCycles = t.entryTs[i] as number;
  }
  for (const m of rd.misses) if (m.ts > endCycles) endCycles = m.ts;

  emit({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: `run ${run.runId}: ${run.workload}` } });
  emit({ name: 'process_sort_index', ph: 'M', pid, tid: 0, args: { sort_index: run.runId } });
  const tids = new Set<number>();
  for (let i = 0; i < t.length; i++) tids.add(t.tid[i] as number);
  for (const m of rd.misses) tids.add(m.tid);
  for (const task of rd.tasks ?? []) tids.add(task.tid);
  for (const tid of [...tids].sort((a, b) => a - b)) {
    emit({ name: 'thread_name', ph: 'M', pid, tid, args: { name: names.get(tid) ?? `task ${tid}` } });
  }

  // stream in seq order: v >= 0 start of call v, v < 0 end (async only) of call ~v, then misses
  const n = t.length;
  const unnested = (i: number): boolean => nest.parent[i] === -2;
  let count = n;
  for (let i = 0; i < n; i++) if (unnested(i)) count++;
  const stream = new Int32Array(count + rd.misses.length);
  const tsNs = new Float64Array(stream.length);
  let a = 0;
  let b = 0;
  let k = 0;
  while (a < n || b < n) {
    const takeEnd =
      a >= n ||
      (b < n &&
        (t.returnSeq[order.returnOrder[b] as number] as number) <=
          (t.entrySeq[order.entryOrder[a] as number] as number));
    if (takeEnd) {
      const i = order.returnOrder[b++] as number;
      if (!unnested(i)) continue;
      const r = t.returnTs[i] as number;
      stream[k] = ~i;
      tsNs[k++] = nsOf(Number.isFinite(r) ? r : endCycles);
    } else {
      const i = order.entryOrder[a++] as number;
      stream[k] = i;
      tsNs[k++] = nsOf(t.entryTs[i] as number);
    }
  }
  const missBase = k;
  rd.misses.forEach((m, j) => {
    stream[k] = j;
    tsNs[k++] = nsOf(m.ts);
  });
  const sorted = argsort(tsNs); // stable: equal ts keep seq order, misses after calls

  for (let s = 0; s < sorted.length; s++) {
    const pos = sorted[s] as number;
    const v = stream[pos] as number;
    const ts = tsNs[pos] as number;
    if (pos >= missBase) {
      const m = rd.misses[v];
      if (!m) continue;
      const p = probes.get(m.probeId);
      const sym = p?.symbol ?? `probe ${m.probeId}`;
      emit({
        name: `MISSED ${sym} (${m.reason})`,
        ph: 'i',
        s: 't',
        cat: 'missed',
        pid,
        tid: m.tid,
        ts: usOf(ts),
        args: { event: p?.event ?? null, reason: m.reason, cpu: m.cpu, cycles: m.ts },
      });
      continue;
    }
    const i = v >= 0 ? v : ~v;
    const p = probes.get(t.probeId[i] as number);
    const sym = p?.symbol ?? `probe ${t.probeId[i]}`;
    const hooked = t.hooked[i] === 1;
    const name = hooked ? sym : `MISSED ${sym}`;
    const tid = t.tid[i] as number;
    if (v < 0) {
      emit({ name, ph: 'e', cat: 'kretprobe.unnested', id: `c${i}`, pid, tid, ts: usOf(ts) });
      continue;
    }
    const r = t.returnTs[i] as number;
    const finished = Number.isFinite(r);
    const endNs = nsOf(finished ? r : endCycles);
    const args: Record<string, unknown> = {
      event: p?.event ?? null,
      entry_cpu: t.entryCpu[i],
      return_cpu: finished ? t.returnCpu[i] : null,
      depth: t.depth[i],
      retval: retvalOf(t, i),
      cycles: finished ? r - (t.entryTs[i] as number) : null,
      self_cycles: Number.isFinite(nest.self[i] as number) ? nest.self[i] : null,
      hooked,
    };
    if (!finished) args.unfinished = true;
    const callArgs = t.args?.[i];
    if (callArgs) args.args = callArgs;
    if (unnested(i)) {
      emit({ name, ph: 'b', cat: 'kretprobe.unnested', id: `c${i}`, pid, tid, ts: usOf(ts), args });
    } else {
      emit({
        name,
        ph: 'X',
        cat: hooked ? 'kretprobe' : 'kretprobe,missed',
        pid,
        tid,
        ts: usOf(ts),
        dur: usOf(endNs - ts),
        args,
      });
    }
  }
}

/** Streams the trace as JSON text in chunks (one event per line). */
export function writeChromeTrace(input: AnalysisInput, write: (chunk: string) => void): void {
  write('{"traceEvents":[\n');
  let first = true;
  let buf: string[] = [];
  const flush = (): void => {
    if (buf.length > 0) write(buf.join(''));
    buf = [];
  };
  for (const rd of input.runs) {
    writeRun(rd, (e) => {
      buf.push((first ? '' : ',\n') + JSON.stringify(e));
      first = false;
      if (buf.length >= 4096) flush();
    });
  }
  flush();
  const mhz = [...new Set(input.runs.map((r) => r.run.mhz))];
  write(
    `\n],"otherData":${JSON.stringify({
      generator: 'probelab',
      clock: `guest cycles converted at ${mhz.join('/')} MHz`,
      runs: input.runs.map((r) => r.run.runId),
    })}}\n`,
  );
}

/** The whole trace as one string. */
export function renderChromeTrace(input: AnalysisInput): string {
  const parts: string[] = [];
  writeChromeTrace(input, (c) => parts.push(c));
  return parts.join('');
}
