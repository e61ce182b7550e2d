// In-flight instances of one kretprobe over all tasks and CPUs, and why the peak happened.
//
// Guarantees:
// - The in-flight count is a step function over the probe's event stream in seq order (entry +1,
//   return -1); `peak` is its maximum, `peakTs`/`peakSeq` the entry at which it is FIRST reached.
// - The peak explanation is computed at that instant from the calls in flight: distinct tasks
//   holding instances, instances per task (recursion), and — only when a scheduler timeline is
//   supplied — how many holders were on a CPU, off it (preempted vs sleeping when switch reasons
//   are known) and which CPUs were executing inside the function. Without a timeline those fields
//   are null rather than guessed; the entering task is always known to be running on its CPU.
// - Binned timelines (for charts) keep, per time bin, the MAXIMUM in-flight count reached in the
//   bin (carried across empty bins), so a chart never hides a peak however many events it covers.

import { denseTids, type CallTable, type RunningAt, type SchedRec } from './model.js';

/** Instances one task held at the peak. */
export interface TaskHold {
  tid: number;
  held: number;
  /** on a CPU at that instant (null: no scheduler timeline) */
  running: boolean | null;
  /** CPU it was running on, if running */
  cpu: number | null;
  /** 'preempted' | 'sleeping' when off-CPU and known */
  state: 'running' | 'preempted' | 'sleeping' | null;
}

/** Why the peak happened. */
export interface PeakWhy {
  /** instances in flight (= the peak) */
  inFlight: number;
  /** distinct tasks holding instances */
  tasks: number;
  /** most instances one task held at once (1 = no recursion) */
  maxPerTask: number;
  /** per task, most instances first (at most 64 listed) */
  perTask: TaskHold[];
  /** holders on a CPU / off a CPU (null without a scheduler timeline) */
  running: number | null;
  notRunning: number | null;
  /** off-CPU holders split by their last switch-out reason (null when reasons are unknown) */
  preempted: number | null;
  sleeping: number | null;
  /** CPUs whose current task holds an instance (null without a scheduler timeline) */
  cpusInFunction: number[] | null;
  /** the task whose entry reached the peak, and its CPU */
  enteringTid: number;
  enteringCpu: number;
  /** distinct CPUs on which the in-flight calls entered (always derivable) */
  entryCpus: number[];
}

/** Concurrency of one probe in one run. */
export interface Concurrency {
  peak: number;
  peakTs: number | null;
  peakSeq: number | null;
  /** table index of the call whose entry first reached the peak (-1: no calls) */
  peakCall: number;
  /** deepest recursion: instances of this probe a task already held at an entry (0 = none) */
  maxDepth: number;
  why: PeakWhy | null;
}

/** Scheduler state at an instant. */
export interface SchedState {
  /** cpu → tid running (0 = idle) */
  running: ReadonlyMap<number, number>;
  /** tid → reason of its last switch-out, when the timeline records reasons */
  lastOut: ReadonlyMap<number, string> | null;
}

/** Makes a scheduler lookup from `sched` records or a RunningAt function. */
export function schedLookup(sched: readonly SchedRec[] | RunningAt): (ts: number, seq: number) => SchedState {
  if (typeof sched === 'function') return (ts, seq) => ({ running: sched(ts, seq), lastOut: null });
  const recs = sched
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.ts - b.r.ts || (a.r.seq ?? 0) - (b.r.seq ?? 0) || a.i - b.i)
    .map((x) => x.r);
  const withReasons = recs.some((r) => r.reason !== undefined);
  return (ts, seq) => {
    const running = new Map<number, number>();
    const lastOut = new Map<number, string>();
    for (const r of recs) {
      const before = r.seq !== undefined ? r.seq < seq : r.ts <= ts;
      if (!before) {
        if (r.ts > ts) break;
        continue;
      }
      running.set(r.cpu, r.nextTid);
      if (r.prevTid !== 0) lastOut.set(r.prevTid, r.reason ?? '');
      lastOut.delete(r.nextTid);
    }
    return { running, lastOut: withReasons ? lastOut : null };
  };
}

const PREEMPT_RE = /preempt|yield|tick|slice/i;

function eventTs(t: CallTable, v: number): number {
  return v >= 0 ? (t.entryTs[v] as number) : (t.returnTs[~v] as number);
}

/** In-flight count after every event (for tests and small plots). */
export function inFlightSteps(
  t: CallTable,
  events: Int32Array,
): { seq: Float64Array; ts: Float64Array; inFlight: Int32Array } {
  const n = events.length;
  const seq = new Float64Array(n);
  const ts = new Float64Array(n);
  const inFlight = new Int32Array(n);
  let cur = 0;
  for (let e = 0; e < n; e++) {
    const v = events[e] as number;
    if (v >= 0) {
      cur++;
      seq[e] = t.entrySeq[v] as number;
    } else {
      cur--;
      seq[e] = t.returnSeq[~v] as number;
    }
    ts[e] = eventTs(t, v);
    inFlight[e] = cur;
  }
  return { seq, ts, inFlight };
}

/** Peak, when, max recursion depth and the explanation at the peak. */
export function analyseConcurrency(
  t: CallTable,
  events: Int32Array,
  sched?: (ts: number, seq: number) => SchedState,
): Concurrency {
  let cur = 0;
  let peak = 0;
  let peakEvent = -1;
  let maxDepth = 0;
  const { index: di, tids } = denseTids(t);
  const held = new Int32Array(tids.length);
  for (let e = 0; e < events.length; e++) {
    const v = events[e] as number;
    if (v >= 0) {
      cur++;
      const d = di[v] as number;
      const h = held[d] as number;
      if (h > maxDepth) maxDepth = h;
      held[d] = h + 1;
      if (cur > peak) {
        peak = cur;
        peakEvent = e;
      }
    } else {
      cur--;
      held[di[~v] as number]!--;
    }
  }
  if (peakEvent < 0) return { peak: 0, peakTs: null, peakSeq: null, peakCall: -1, maxDepth: 0, why: null };
  const pc = events[peakEvent] as number;
  const peakSeq = t.entrySeq[pc] as number;
  const peakTs = t.entryTs[pc] as number;
  // calls in flight just after the peak entry
  const perTid = new Map<number, number>();
  const entryCpus = new Set<number>();
  for (let e = 0; e <= peakEvent; e++) {
    const v = events[e] as number;
    if (v < 0 || (t.returnSeq[v] as number) <= peakSeq) continue;
    const tid = t.tid[v] as number;
    perTid.set(tid, (perTid.get(tid) ?? 0) + 1);
    entryCpus.add(t.entryCpu[v] as number);
  }
  const enteringTid = t.tid[pc] as number;
  const enteringCpu = t.entryCpu[pc] as number;
  let state: SchedState | null = null;
  if (sched) {
    const s = sched(peakTs, peakSeq);
    const running = new Map(s.running);
    // the entering task is executing the function entry on its CPU by definition
    for (const [cpu, tid] of running) if (tid === enteringTid && cpu !== enteringCpu) running.delete(cpu);
    running.set(enteringCpu, enteringTid);
    state = { running, lastOut: s.lastOut };
  }
  const cpuOf = new Map<number, number>();
  if (state) for (const [cpu, tid] of state.running) if (tid !== 0) cpuOf.set(tid, cpu);
  const holds: TaskHold[] = [...perTid].map(([tid, h]) => {
    if (!state) return { tid, held: h, running: null, cpu: null, state: null };
    const cpu = cpuOf.get(tid);
    if (cpu !== undefined) return { tid, held: h, running: true, cpu, state: 'running' };
    const reason = state.lastOut?.get(tid);
    const st =
      state.lastOut === null || reason === undefined
        ? null
        : PREEMPT_RE.test(reason)
          ? 'preempted'
          : 'sleeping';
    return { tid, held: h, running: false, cpu: null, state: st };
  });
  holds.sort((a, b) => b.held - a.held || a.tid - b.tid);
  let running: number | null = null;
  let notRunning: number | null = null;
  let preempted: number | null = null;
  let sleeping: number | null = null;
  let cpusInFunction: number[] | null = null;
  if (state) {
    running = holds.filter((h) => h.running).length;
    notRunning = holds.length - running;
    const off = holds.filter((h) => !h.running);
    if (state.lastOut !== null && off.every((h) => h.state !== null)) {
      preempted = off.filter((h) => h.state === 'preempted').length;
      sleeping = off.length - preempted;
    }
    cpusInFunction = holds
      .filter((h) => h.cpu !== null)
      .map((h) => h.cpu as number)
      .sort((a, b) => a - b);
  }
  return {
    peak,
    peakTs,
    peakSeq,
    peakCall: pc,
    maxDepth,
    why: {
      inFlight: peak,
      tasks: perTid.size,
      maxPerTask: holds[0]?.held ?? 0,
      perTask: holds.slice(0, 64),
      running,
      notRunning,
      preempted,
      sleeping,
      cpusInFunction,
      enteringTid,
      enteringCpu,
      entryCpus: [...entryCpus].sort((a, b) => a - b),
    },
  };
}

/** In-flight counts binned over time for charts. */
export interface BinnedInFlight {
  t0: number;
  t1: number;
  /** max in-flight calls (all calls of the analysed set) per bin */
  maxAll: Int32Array;
  /** max in-flight calls that the recording hooked (= instances held) per bin */
  maxHooked: Int32Array;
}

/** Bins the in-flight step functions of one probe over [t0, t1) into `bins` bins. */
export function binInFlight(
  t: CallTable,
  events: Int32Array,
  t0: number,
  t1: number,
  bins: number,
): BinnedInFlight {
  const maxAll = new Int32Array(bins);
  const maxHooked = new Int32Array(bins);
  const width = (t1 - t0) / bins || 1;
  let all = 0;
  let hooked = 0;
  let last = 0; // bins < last are final
  const binOf = (ts: number): number => Math.min(bins - 1, Math.max(0, Math.floor((ts - t0) / width)));
  for (let e = 0; e < events.length; e++) {
    const v = events[e] as number;
    const b = binOf(eventTs(t, v));
    // bins between the last event's bin and this one hold the current value all along
    for (let k = last + 1; k <= b; k++) {
      maxAll[k] = all;
      maxHooked[k] = hooked;
    }
    if (b > last) last = b;
    if (v >= 0) {
      all++;
      if (t.hooked[v] === 1) hooked++;
    } else {
      all--;
      if (t.hooked[~v] === 1) hooked--;
    }
    if (all > (maxAll[last] as number)) maxAll[last] = all;
    if (hooked > (maxHooked[last] as number)) maxHooked[last] = hooked;
  }
  for (let k = last + 1; k < bins; k++) {
    maxAll[k] = all;
    maxHooked[k] = hooked;
  }
  return { t0, t1, maxAll, maxHooked };
}

/** Calls in flight per CPU (by entry CPU) over time: average over each bin. */
export interface CpuCoverage {
  t0: number;
  t1: number;
  bins: number;
  /** coverage[cpu][bin] = average number of in-flight calls that entered on `cpu` */
  coverage: Float64Array[];
  /** entries[cpu][bin] = calls entering on `cpu` in that bin */
  entries: Float64Array[];
}

/**
 * Per-CPU call timeline: for every call (by entry CPU) adds its overlap with each bin, in O(1)
 * per call with a difference array for the bins it covers completely. Calls that never returned
 * cover until t1.
 */
export function cpuCoverage(t: CallTable, cpus: number, t0: number, t1: number, bins: number): CpuCoverage {
  const width = (t1 - t0) / bins || 1;
  const part: Float64Array[] = [];
  const full: Float64Array[] = [];
  const entries: Float64Array[] = [];
  for (let c = 0; c < cpus; c++) {
    part.push(new Float64Array(bins));
    full.push(new Float64Array(bins + 1));
    entries.push(new Float64Array(bins));
  }
  for (let i = 0; i < t.length; i++) {
    const cpu = t.entryCpu[i] as number;
    if (cpu < 0 || cpu >= cpus) continue;
    const s = Math.max(t0, t.entryTs[i] as number);
    const en = Math.min(t1, t.returnTs[i] as number);
    const p = part[cpu] as Float64Array;
    const bs = Math.min(bins - 1, Math.max(0, Math.floor((s - t0) / width)));
    (entries[cpu] as Float64Array)[bs]!++;
    if (!(en > s)) continue;
    const be = Math.min(bins - 1, Math.max(0, Math.floor((en - t0) / width)));
    if (bs === be) {
      p[bs]! += en - s;
      continue;
    }
    p[bs]! += t0 + (bs + 1) * width - s;
    p[be]! += en - (t0 + be * width);
    if (be > bs + 1) {
      const f = full[cpu] as Float64Array;
      f[bs + 1]! += 1;
      f[be]! -= 1;
    }
  }
  const coverage: Float64Array[] = [];
  for (let c = 0; c < cpus; c++) {
    const out = new Float64Array(bins);
    const p = part[c] as Float64Array;
    const f = full[c] as Float64Array;
    let run = 0;
    for (let b = 0; b < bins; b++) {
      run += f[b] as number;
      out[b] = run + (p[b] as number) / width;
    }
    coverage.push(out);
  }
  return { t0, t1, bins, coverage, entries };
}
