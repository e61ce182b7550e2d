// Input model of the analysis core: what the database layer hands to src/analysis and src/report.
//
// Guarantees:
// - Pure data + pure helpers: nothing here touches SQLite, the file system or the clock.
// - Calls can be given as plain objects (`CallRec[]`, convenient for tests and small runs) or as a
//   columnar `CallTable` (typed arrays, what a 10-million-call run needs); `asCallTable` turns either
//   into a `CallTable` without copying a table that is already columnar.
// - `callOrder` orders a table's entries and returns by the global event sequence number `seq`
//   exactly (stable LSD radix sort for integer seqs, comparison sort otherwise), and `probeEvents`
//   merges them into the per-probe event stream that the concurrency and miss-curve code consume.
//   Ties between an entry and a return with the same seq (which a correct recorder never produces)
//   are broken return-first and documented here so that every module agrees.

import type { CompleteCallRecord } from '../trace/records.js';
/** Probe kinds, as in the `probes` view. */
export type ProbeKind = 'kprobe' | 'kretprobe' | 'jprobe';
/** Why a kretprobe entry got no instance (`missed` view). */
export type MissReason = 'no_instance' | 'reentry';
/** Run status, as in the `runs` view. */
export type RunStatus = 'complete' | 'crashed' | 'truncated' | 'incomplete';

/**
 * One call of a kretprobed function: its entry (kretprobe pre-handler) and its return (trampoline).
 * `entrySeq`/`returnSeq` are global event numbers of the run (the `events.seq` column) and order
 * simultaneous events exactly. A call that never returned (task exited inside it and its instance
 * was recycled, K19, or the run ended) may be given with `returnSeq` = the seq at which its
 * instance was released, or `Infinity` (never released); its `returnTs` must then be `Infinity`,
 * which excludes it from latency statistics but keeps it in concurrency and miss curves.
 */
export type CallRec = Omit<CompleteCallRecord, 'args'> & {
  /** the fetch args, parsed (the trace record keeps them as JSON text) */
  args: Record<string, unknown> | null;
};

/** One entry that got no instance (`missed` view). */
export interface MissRec {
  probeId: number;
  tid: number;
  cpu: number;
  ts: number;
  reason: MissReason;
}

/** One probe of one run (`probes` view). */
export interface ProbeInfo {
  probeId: number;
  /** 'GRP/EVENT' */
  event: string;
  kind: ProbeKind;
  symbol: string;
  /** the pool size the recording used (kretprobes; ignored for other kinds) */
  maxactive: number;
  /** entries seen by the probe (kprobe hits) */
  hits: number;
  /** kretprobe entries that found no free instance (`rp->nmissed`) */
  nmissed: number;
  /** entries skipped because another probe was running on that CPU (the entry kprobe's nmissed) */
  nmissedReentry: number;
  /** per-instance private bytes (kretprobe data_size, a 2.6.25 addition); default 0 */
  dataSize?: number;
  /** bytes from `symbol` to the probed address (0 or absent at the symbol itself) */
  offset?: number;
  /** the probed address, when known */
  addr?: number;
  /** the spec as recorded (kprobe_events syntax), when known */
  spec?: string;
  /** where the probe sits, as reports name it: "sym", "sym+0x15", or "0x8049000" */
  location?: string;
  /** the probe's fetch arguments in spec order, when it has any */
  args?: readonly ArgDecl[];
}

/** One fetch argument of a probe: its name and its display type as the spec gives it. */
export interface ArgDecl {
  name: string;
  /** 'u32', 's32', 'x32', ..., 'string', 'symbol', or a bitfield 'b4@2/32' */
  type: string;
}

/**
 * Fetch arguments of one hit of a probe that has no calls (kprobe, jprobe): the `events` row of
 * its breakpoint hit. Return probes carry their arguments on their calls instead.
 */
export interface ArgHit {
  probeId: number;
  args: Record<string, unknown>;
}

/** One run (`runs` view) plus the clock used to convert cycles to ns. */
export interface RunInfo {
  runId: number;
  workload: string;
  cpus: number;
  preempt: boolean;
  seed: number;
  chaos: boolean;
  status: RunStatus;
  instructions: number;
  cycles: number;
  /** virtual clock in MHz: ns = cycles * 1000 / mhz */
  mhz: number;
  /** the trace file the run came from (commands in reports name it) */
  file?: string;
  /** set when several files are reported: runs are then labelled "FILE#ID" */
  source?: string;
}

/**
 * One context switch (`sched` view): from `ts` on, `cpu` runs `nextTid` (0 = idle) instead of
 * `prevTid`. `seq` (optional) places it exactly among call events; without it, a switch at the
 * same ts as a call event counts as having happened before it. `reason` (optional) is the
 * scheduler's reason for switching `prevTid` out; reasons matching /preempt|yield|tick|slice/i count as
 * preemption, any other as sleeping/blocking.
 */
export interface SchedRec {
  ts: number;
  cpu: number;
  prevTid: number;
  nextTid: number;
  seq?: number;
  reason?: string;
}

/** Which task ran on which CPU at an instant: cpu → tid (absent or 0 = idle). */
export type RunningAt = (ts: number, seq: number) => ReadonlyMap<number, number>;

/**
 * A task (`tasks` view): its name (thread names in reports and traces) and, when the trace knows it,
 * the process it belongs to (per-process report sections). `pid` is absent for traces recorded
 * before format 4, whose pid, ppid and exe are placeholders: such runs are not split by process.
 */
export interface TaskInfo {
  tid: number;
  name: string | null;
  /** thread group id (the process) */
  pid?: number;
  /** parent process id (0 for the first process) */
  ppid?: number;
  /** the executable the task ran when it started (the file of a later exec is not recorded) */
  exe?: string;
  /** successful execve/execveat calls of the task (`syscalls` view): it ran another file after `exe` */
  execs?: number;
}

/** Probe hits of one task (kprobe events of probes without calls: kprobes, jprobes). */
export interface TaskHits {
  probeId: number;
  tid: number;
  hits: number;
}

/**
 * Columnar call set. Index i across all arrays is one call. `retval` is NaN for null; `hooked` is
 * 1/0; `args` is kept only when the producer chose to (reports do not need it).
 */
export interface CallTable {
  readonly length: number;
  readonly probeId: Int32Array;
  readonly tid: Int32Array;
  readonly entryTs: Float64Array;
  readonly returnTs: Float64Array;
  readonly entrySeq: Float64Array;
  readonly returnSeq: Float64Array;
  readonly entryCpu: Int32Array;
  readonly returnCpu: Int32Array;
  readonly depth: Int32Array;
  readonly retval: Float64Array;
  readonly hooked: Uint8Array;
  readonly args: readonly (Record<string, unknown> | null)[] | null;
}

/** Everything known about one run. */
export interface RunData {
  run: RunInfo;
  probes: readonly ProbeInfo[];
  /** hooked calls of every kretprobe of the run (the `calls` view), `hooked` = true */
  calls: readonly CallRec[] | CallTable;
  /**
   * The complete call set of every kretprobe of this run (from a replay with unbounded pools),
   * with probe ids mapped to this run's `probeId`s and `hooked` = whether the recording's pool
   * hooked the call. Required for exact miss curves of kretprobes whose recording missed calls.
   * When present it replaces `calls` for every analysis (latency, nesting, concurrency), so its
   * seqs only need to be consistent among themselves.
   */
  complete?: readonly CallRec[] | CallTable;
  /** the recording's misses (`missed` view) */
  misses: readonly MissRec[];
  /** the scheduler timeline (or a lookup); enables "sleeping/preempted" in peak explanations */
  sched?: readonly SchedRec[] | RunningAt;
  /** task names for reports and traces */
  tasks?: readonly TaskInfo[];
  /** fetch arguments of the hits of probes without calls (kprobes, jprobes), for argument summaries */
  argHits?: readonly ArgHit[];
  /** hits per task of probes without calls, when the run has several processes (per-process reports) */
  taskHits?: readonly TaskHits[];
}

/** The guest's system calls of one number in one run, over all its tasks (`syscalls` view). */
export interface SyscallRow {
  nr: number;
  name: string;
  calls: number;
  errors: number;
  enosys: number;
}

/** The syscall table of one run (`probe-report --syscalls`); null rows: the trace has none. */
export interface RunSyscalls {
  runId: number;
  source?: string;
  rows: SyscallRow[] | null;
}

/** Input of `buildReport`, `chromeTrace` and `foldedStacks`. */
export interface AnalysisInput {
  runs: readonly RunData[];
}

/** Is this the columnar representation? */
export function isCallTable(c: readonly CallRec[] | CallTable): c is CallTable {
  return !Array.isArray(c);
}

/** Builds a CallTable row by row, growing typed arrays geometrically (for streaming from SQLite). */
export class CallTableBuilder {
  private n = 0;
  private cap: number;
  private probeId: Int32Array;
  private tid: Int32Array;
  private entryTs: Float64Array;
  private returnTs: Float64Array;
  private entrySeq: Float64Array;
  private returnSeq: Float64Array;
  private entryCpu: Int32Array;
  private returnCpu: Int32Array;
  private depth: Int32Array;
  private retval: Float64Array;
  private hooked: Uint8Array;
  private args: (Record<string, unknown> | null)[] | null;

  constructor(initialCapacity = 1024, keepArgs = false) {
    this.cap = Math.max(16, initialCapacity);
    this.probeId = new Int32Array(this.cap);
    this.tid = new Int32Array(this.cap);
    this.entryTs = new Float64Array(this.cap);
    this.returnTs = new Float64Array(this.cap);
    this.entrySeq = new Float64Array(this.cap);
    this.returnSeq = new Float64Array(this.cap);
    this.entryCpu = new Int32Array(this.cap);
    this.returnCpu = new Int32Array(this.cap);
    this.depth = new Int32Array(this.cap);
    this.retval = new Float64Array(this.cap);
    this.hooked = new Uint8Array(this.cap);
    this.args = keepArgs ? [] : null;
  }

  get length(): number {
    return this.n;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.probeId = g(this.probeId, (n) => new Int32Array(n));
    this.tid = g(this.tid, (n) => new Int32Array(n));
    this.entryTs = g(this.entryTs, (n) => new Float64Array(n));
    this.returnTs = g(this.returnTs, (n) => new Float64Array(n));
    this.entrySeq = g(this.entrySeq, (n) => new Float64Array(n));
    this.returnSeq = g(this.returnSeq, (n) => new Float64Array(n));
    this.entryCpu = g(this.entryCpu, (n) => new Int32Array(n));
    this.returnCpu = g(this.returnCpu, (n) => new Int32Array(n));
    this.depth = g(this.depth, (n) => new Int32Array(n));
    this.retval = g(this.retval, (n) => new Float64Array(n));
    this.hooked = g(this.hooked, (n) => new Uint8Array(n));
    this.cap = cap;
  }

  /** Appends one call. */
  push(c: CallRec): void {
    this.pushRaw(
      c.probeId,
      c.tid,
      c.entryTs,
      c.returnTs,
      c.entrySeq,
      c.returnSeq,
      c.entryCpu,
      c.returnCpu,
      c.depth,
      c.retval,
      c.hooked,
      c.args,
    );
  }

  /** Appends one call without allocating an object (hot path for large runs). */
  pushRaw(
    probeId: number,
    tid: number,
    entryTs: number,
    returnTs: number,
    entrySeq: number,
    returnSeq: number,
    entryCpu: number,
    returnCpu: number,
    depth: number,
    retval: number | null,
    hooked: boolean,
    args: Record<string, unknown> | null = null,
  ): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.probeId[i] = probeId;
    this.tid[i] = tid;
    this.entryTs[i] = entryTs;
    this.returnTs[i] = returnTs;
    this.entrySeq[i] = entrySeq;
    this.returnSeq[i] = returnSeq;
    this.entryCpu[i] = entryCpu;
    this.returnCpu[i] = returnCpu;
    this.depth[i] = depth;
    this.retval[i] = retval === null ? NaN : retval;
    this.hooked[i] = hooked ? 1 : 0;
    if (this.args) this.args.push(args);
  }

  /** The finished table (views over the builder's buffers, trimmed to length). */
  build(): CallTable {
    const n = this.n;
    return {
      length: n,
      probeId: this.probeId.subarray(0, n),
      tid: this.tid.subarray(0, n),
      entryTs: this.entryTs.subarray(0, n),
      returnTs: this.returnTs.subarray(0, n),
      entrySeq: this.entrySeq.subarray(0, n),
      returnSeq: this.returnSeq.subarray(0, n),
      entryCpu: this.entryCpu.subarray(0, n),
      returnCpu: this.returnCpu.subarray(0, n),
      depth: this.depth.subarray(0, n),
      retval: this.retval.subarray(0, n),
      hooked: this.hooked.subarray(0, n),
      args: this.args,
    };
  }
}

/** Columnar view of a call set (no copy if it already is one). */
export function asCallTable(calls: readonly CallRec[] | CallTable, keepArgs = true): CallTable {
  if (isCallTable(calls)) return calls;
  const b = new CallTableBuilder(calls.length, keepArgs);
  for (const c of calls) b.push(c);
  return b.build();
}

// ---------------------------------------------------------------------------------------------
// Ordering

const TWO32 = 4294967296;

/**
 * Indices 0..n-1 sorted by `keys` ascending, stable. Non-negative integer keys (seqs) use an LSD
 * radix sort (O(n), 16-bit digits, passes only over digits that vary); `Infinity` sorts last;
 * anything else falls back to a comparison sort. Returns the identity without work when the keys
 * are already sorted (the common case: rows read `ORDER BY seq`).
 */
export function argsort(keys: Float64Array): Uint32Array {
  const n = keys.length;
  const idx = new Uint32Array(n);
  let sorted = true;
  let integral = true;
  let hasInf = false;
  let maxFinite = 0;
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    idx[i] = i;
    const k = keys[i] as number;
    if (k < prev) sorted = false;
    prev = k;
    if (k === Infinity) {
      hasInf = true;
      continue;
    }
    if (!(k >= 0) || !Number.isInteger(k) || k > Number.MAX_SAFE_INTEGER) integral = false;
    else if (k > maxFinite) maxFinite = k;
  }
  if (sorted) return idx;
  if (!integral) {
    const arr = Array.from(idx);
    arr.sort((a, b) => (keys[a] as number) - (keys[b] as number) || a - b);
    return Uint32Array.from(arr);
  }
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  splitKeys(keys, lo, hi);
  const sortedIdx = radixPairs(lo, hi, idx, maxFinite);
  if (!hasInf) return sortedIdx;
  // Infinity had all-ones digits; move it behind every finite key, keeping order
  const out = new Uint32Array(n);
  let w = 0;
  for (let i = 0; i < n; i++)
    if (keys[sortedIdx[i] as number] !== Infinity) out[w++] = sortedIdx[i] as number;
  for (let i = 0; i < n; i++)
    if (keys[sortedIdx[i] as number] === Infinity) out[w++] = sortedIdx[i] as number;
  return out;
}

/** Splits non-negative integer keys (or Infinity) into 32-bit halves. */
function splitKeys(keys: Float64Array, lo: Uint32Array, hi: Uint32Array): void {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as number;
    if (k === Infinity) {
      lo[i] = 0xffffffff;
      hi[i] = 0xffffffff;
    } else {
      lo[i] = k >>> 0;
      hi[i] = Math.floor(k / TWO32);
    }
  }
}

/**
 * Stable LSD radix sort (16-bit digits) of (hi, lo) keys; the key halves travel with the payload
 * so every pass reads sequentially. Sorts lo/hi in place order-wise (returns the payload order;
 * lo/hi hold the sorted keys afterwards when `payload` is null).
 */
function radixPairs(
  lo: Uint32Array,
  hi: Uint32Array,
  payload: Uint32Array | null,
  maxFinite: number,
): Uint32Array {
  const n = lo.length;
  const passes = maxFinite < 65536 ? 1 : maxFinite < TWO32 ? 2 : maxFinite < 65536 * TWO32 ? 3 : 4;
  const needHi = passes > 2;
  let sLo: Uint32Array = lo;
  let sHi: Uint32Array = hi;
  let sP: Uint32Array | null = payload;
  let dLo: Uint32Array = new Uint32Array(n);
  let dHi: Uint32Array = needHi ? new Uint32Array(n) : hi;
  let dP: Uint32Array | null = payload ? new Uint32Array(n) : null;
  const count = new Uint32Array(65537);
  for (let d = 0; d < passes; d++) {
    const src = d < 2 ? sLo : sHi;
    const shift = d % 2 === 0 ? 0 : 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(((src[i] as number) >>> shift) & 0xffff) + 1]!++;
    for (let b = 0; b < 65536; b++) count[b + 1]! += count[b]!;
    for (let i = 0; i < n; i++) {
      const j = count[((src[i] as number) >>> shift) & 0xffff]!++;
      dLo[j] = sLo[i] as number;
      if (needHi) dHi[j] = sHi[i] as number;
      if (sP && dP) dP[j] = sP[i] as number;
    }
    [sLo, dLo] = [dLo, sLo];
    if (needHi) [sHi, dHi] = [dHi, sHi];
    if (sP && dP) [sP, dP] = [dP, sP];
  }
  if (payload === null) {
    if (sLo !== lo) lo.set(sLo);
    if (needHi && sHi !== hi) hi.set(sHi);
    return lo;
  }
  return sP as Uint32Array;
}

/** Sorts numbers ascending in place: LSD radix for non-negative safe integers, native sort otherwise. */
export function sortNumbers(values: Float64Array): Float64Array {
  const n = values.length;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!(v >= 0) || !Number.isInteger(v) || v > Number.MAX_SAFE_INTEGER) return values.sort();
    if (v > max) max = v;
  }
  if (n < 4096) return values.sort();
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  splitKeys(values, lo, hi);
  radixPairs(lo, hi, null, max);
  const needHi = max >= TWO32;
  for (let i = 0; i < n; i++) values[i] = (needHi ? (hi[i] as number) * TWO32 : 0) + (lo[i] as number);
  return values;
}

/** Dense task numbering of a table: index[i] in 0..tids.length-1 (cached per table). */
export interface DenseTids {
  index: Int32Array;
  tids: number[];
}

const denseCache = new WeakMap<CallTable, DenseTids>();

/** Maps each call's tid to a dense index (first appearance order); cached per table object. */
export function denseTids(t: CallTable): DenseTids {
  const cached = denseCache.get(t);
  if (cached) return cached;
  const map = new Map<number, number>();
  const index = new Int32Array(t.length);
  const tids: number[] = [];
  let lastTid = NaN;
  let lastIdx = -1;
  for (let i = 0; i < t.length; i++) {
    const tid = t.tid[i] as number;
    if (tid !== lastTid) {
      let d = map.get(tid);
      if (d === undefined) {
        d = tids.length;
        map.set(tid, d);
        tids.push(tid);
      }
      lastTid = tid;
      lastIdx = d;
    }
    index[i] = lastIdx;
  }
  const out = { index, tids };
  denseCache.set(t, out);
  return out;
}

/** Entry order and return order of a table (indices sorted by entrySeq / returnSeq). */
export interface CallOrder {
  entryOrder: Uint32Array;
  returnOrder: Uint32Array;
}

/** Sorts a table's entries and returns by seq and validates entrySeq < returnSeq for every call. */
export function callOrder(t: CallTable): CallOrder {
  for (let i = 0; i < t.length; i++) {
    const e = t.entrySeq[i] as number;
    const r = t.returnSeq[i] as number;
    if (!Number.isFinite(e) || !(r > e)) {
      throw new Error(
        `call #${i} (probe ${t.probeId[i]}, tid ${t.tid[i]}): returnSeq ${r} must be > entrySeq ${e}`,
      );
    }
  }
  return { entryOrder: argsort(t.entrySeq), returnOrder: argsort(t.returnSeq) };
}

/**
 * Per-probe event streams in seq order. Each stream is an Int32Array in which a value v >= 0 is
 * the entry of call v and a value v < 0 is the return of call ~v (bitwise not). Returns with
 * `returnSeq = Infinity` (never released) are left out. Equal seqs: return first.
 */
export function probeEvents(t: CallTable, order: CallOrder): Map<number, Int32Array> {
  const n = t.length;
  const denseOf = new Map<number, number>();
  const dense = new Int32Array(n);
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = t.probeId[i] as number;
    let d = denseOf.get(p);
    if (d === undefined) {
      d = counts.length;
      denseOf.set(p, d);
      counts.push(0);
    }
    dense[i] = d;
    counts[d]! += 2;
  }
  const outs = counts.map((c) => new Int32Array(c));
  const fill = new Int32Array(counts.length);
  const { entryOrder, returnOrder } = order;
  let a = 0;
  let b = 0;
  while (a < n || b < n) {
    const takeReturn =
      a >= n ||
      (b < n &&
        (t.returnSeq[returnOrder[b] as number] as number) <= (t.entrySeq[entryOrder[a] as number] as number));
    if (takeReturn) {
      const i = returnOrder[b++] as number;
      if (t.returnSeq[i] === Infinity) continue;
      const d = dense[i] as number;
      (outs[d] as Int32Array)[fill[d]!++] = ~i;
    } else {
      const i = entryOrder[a++] as number;
      const d = dense[i] as number;
      (outs[d] as Int32Array)[fill[d]!++] = i;
    }
  }
  const out = new Map<number, Int32Array>();
  for (const [p, d] of denseOf) out.set(p, (outs[d] as Int32Array).subarray(0, fill[d] as number));
  return out;
}

/** Event stream of a plain call list (all calls, whatever their probe): convenience for tests. */
export function eventsOf(calls: readonly CallRec[] | CallTable): { table: CallTable; events: Int32Array } {
  const table = asCallTable(calls);
  const order = callOrder(table);
  const n = table.length;
  const events = new Int32Array(2 * n);
  let a = 0;
  let b = 0;
  let k = 0;
  while (a < n || b < n) {
    const takeReturn =
      a >= n ||
      (b < n &&
        (table.returnSeq[order.returnOrder[b] as number] as number) <=
          (table.entrySeq[order.entryOrder[a] as number] as number));
    if (takeReturn) {
      const i = order.returnOrder[b++] as number;
      if (table.returnSeq[i] !== Infinity) events[k++] = ~i;
    } else events[k++] = order.entryOrder[a++] as number;
  }
  return { table, events: events.subarray(0, k) };
}
