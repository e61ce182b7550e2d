// The run-record contract: the records a recorded run is made of, defined once for every layer.
// The session produces them, the TraceWriter stores them, TraceReader.streams() gives them back in
// recorded order, and replay compares produced records with stored ones field by field.
// Guarantees:
// - Field names and meanings match the public views of schemas/trace.sql (camelCase here); kinds,
//   reasons and statuses are the views' text values (codes.ts maps them to stored integers).
// - A producer may reuse one record object per kind for every call (the recorder's hot path
//   allocates nothing per event): a sink must copy what it keeps beyond the call.

import type { EventKindName, MissReasonName, ProbeKindName, RunStatus } from './codes.js';
import type { RunConfig } from './config.js';

/** One probe event (`events` view). */
export interface EventRecord {
  /** Dense from 1 in emulation order within a run. */
  seq: number;
  /** Virtual cycles. */
  ts: number;
  cpu: number;
  tid: number;
  kind: EventKindName;
  probeId: number | null;
  addr: number | null;
  /** JSON text of an object, or null. */
  args: string | null;
}

/** One completed call of a return probe (`calls` view). */
export interface CallRecord {
  probeId: number;
  tid: number;
  /** Entry cycle. */
  ts: number;
  /** Return cycle - entry cycle. */
  dur: number;
  entryCpu: number;
  returnCpu: number;
  /** Instances of the same probe the task already held at entry (0 = outermost). */
  depth: number;
  retval: number | null;
  args: string | null;
  /** events.seq of the entry (null only in recordings that predate it). */
  entrySeq: number | null;
  /** events.seq of the return event. */
  returnSeq: number;
}

/** One call a probe did not handle (`missed` view). */
export interface MissRecord {
  probeId: number;
  tid: number;
  cpu: number;
  ts: number;
  reason: MissReasonName;
}

/** One context switch (`sched` view); null is the idle CPU. */
export interface SchedRecord {
  ts: number;
  cpu: number;
  prevTid: number | null;
  nextTid: number | null;
  reason: string;
}

/** A task starts (`tasks` view, columns known at start). */
export interface TaskRecord {
  tid: number;
  /** Thread group id (the process). */
  pid: number;
  /** Parent process id (0 for the first process). */
  ppid: number;
  /** The task that created this one (null for the first). */
  parentTid: number | null;
  name: string;
  /** The executable the task runs (file name). */
  exe: string;
  startTs: number | null;
}

/** A task ends. */
export interface TaskEndRecord {
  tid: number;
  ts: number;
  exitCode: number | null;
}

/**
 * One nondeterministic input, in consumption order (kind 'file', 'stdin', 'random', ...). The trace
 * stores each distinct content once (by sha256) and the log refers to it, so a producer may log the
 * same bytes any number of times: logging the same Uint8Array object again (one snapshot per file
 * identity) costs no hashing, and `sha256`, when the producer already knows it, saves the writer
 * hashing new data.
 */
export interface InputRecord {
  kind: string;
  key: string | null;
  data: Uint8Array;
  /** Lowercase hex sha256 of `data`, if the producer knows it (the writer computes it otherwise). */
  sha256?: string;
}

/** Guest output written to `fd` at cycle `ts`. */
export interface OutputRecord {
  fd: number;
  ts: number;
  data: Uint8Array;
}

/** System calls of one number made by one task (`syscalls` view, like `strace -c`). */
export interface SyscallCountRecord {
  /** 0 when the emulator does not attribute the count to a task. */
  tid: number;
  nr: number;
  /** Linux name, or null when the emulator does not know it. */
  name: string | null;
  calls: number;
  /** Calls that returned a negative errno (ENOSYS included). */
  errors: number;
  /** Calls the emulator does not implement (returned -ENOSYS). */
  enosys: number;
}

/** A probe of a run (`probes` view, without the counters). */
export interface ProbeRecord {
  probeId: number;
  /** 'GRP/EVENT' */
  event: string;
  kind: ProbeKindName;
  /** The definition line (kprobe_events syntax, or `j:` for jprobes). */
  spec: string;
  symbol: string | null;
  offset: number;
  addr: number;
  /** Pool size (kretprobes only; UNBOUNDED for an unbounded pool), null for other kinds. */
  maxactive: number | null;
}

/** A probe's counters at the end of a run (Linux's hits and nmissed). */
export interface ProbeCounters {
  probeId: number;
  hits: number;
  /** The kretprobe's own nmissed (no free instance); for other kinds, the kprobe's. */
  nmissed: number;
  /** The (entry) kprobe's nmissed: hits skipped because a probe was already running (K21). */
  nmissedReentry: number;
}

/** How a run ended, stored by TraceWriter.finishRun(). */
export interface RunEnd {
  status: Exclude<RunStatus, 'incomplete'>;
  exitCode: number | null;
  signal: number | null;
  instructions: number;
  cycles: number;
  probeCounters?: ProbeCounters[];
  /** The guest wrote more output than the run's output limit let the trace store (set by the writer). */
  outputTruncated?: boolean;
  /** Merged into the stored configuration (e.g. where an interrupted recording stopped). */
  configPatch?: Partial<RunConfig>;
}

/**
 * A call of a kretprobe in a complete call set (every call, from a replay with unbounded pools;
 * `complete_calls` view). A call whose task ended inside it has returnTs = Infinity and returnSeq
 * = releaseSeq + 0.5 (its instance was recycled just after event releaseSeq), or Infinity when
 * it was never released.
 */
export interface CompleteCallRecord {
  probeId: number;
  tid: number;
  entryTs: number;
  returnTs: number;
  entrySeq: number;
  returnSeq: number;
  entryCpu: number;
  returnCpu: number;
  depth: number;
  retval: number | null;
  args: string | null;
  /** The recording's own pool hooked this call. */
  hooked: boolean;
}

/** Where a run's records go: the trace writer, a replay's comparator, analysis collectors. */
export interface RunSink {
  event(r: EventRecord): void;
  call(r: CallRecord): void;
  missed(r: MissRecord): void;
  sched(r: SchedRecord): void;
  taskStart(r: TaskRecord): void;
  taskEnd(r: TaskEndRecord): void;
  input(r: InputRecord): void;
  output(r: OutputRecord): void;
  /** Once per (tid, nr) at the end of a run. */
  syscall(r: SyscallCountRecord): void;
}

/** A record to fill in (producers that reuse one event record per stream start from it). */
export function blankEventRecord(kind: EventKindName): EventRecord {
  return { seq: 0, ts: 0, cpu: 0, tid: 0, kind, probeId: null, addr: null, args: null };
}

/** A call record to fill in. */
export function blankCallRecord(): CallRecord {
  return {
    probeId: 0,
    tid: 0,
    ts: 0,
    dur: 0,
    entryCpu: 0,
    returnCpu: 0,
    depth: 0,
    retval: null,
    args: null,
    entrySeq: 0,
    returnSeq: 0,
  };
}

/** A sink that drops everything (probe validation, tests); spread it to override a few methods. */
export function nullSink(): RunSink {
  const nop = (): void => {};
  return {
    event: nop,
    call: nop,
    missed: nop,
    sched: nop,
    taskStart: nop,
    taskEnd: nop,
    input: nop,
    output: nop,
    syscall: nop,
  };
}
