// The RunSink a replay runs with: compares every record the session produces, as it is produced,
// with the recorded stream of the same kind (TraceReader.streams: recorded order, read
// incrementally), then passes it on to the next sinks (a writer, analysis collectors).
// Guarantees: verify mode compares every stream and then the final state; what-if mode compares
// only what probes cannot change (schedule, task lifecycle, inputs consumed, guest output, final
// status), so a difference there means the probes changed the guest's behaviour (kprobes.md K20).
// The first difference throws ReplayStop carrying a Divergence; close() ends every open iterator.
// Verify by rows (`packed` given): the events, calls, misses and context switches are not read
// here but handed to a TraceWriter whose store checks its batches against the stored rows
// (check-store.ts, on the second core); every record goes to that writer, in the order a
// recording's writer gets them, so its batches are cut where the recording's were. The other
// streams are compared here as before. A difference found there is a RowMismatch (a TraceError),
// which names no event: the caller replays again record by record to name it.
// Syscall counts are passed on, not compared: they follow from the execution the other streams
// verify (and recordings older than format 3 have none).

import type { RunResult } from '../emulator/machine.js';
import type { ProbeSession } from '../recorder/session.js';
import { statusOf } from '../recorder/record.js';
import type { CheckStore } from '../trace/check-store.js';
import type { EventOrder } from '../trace/event-order.js';
import type { ProbeRow, RunRow, TaskRow, TraceReader } from '../trace/reader.js';
import type {
  CallRecord,
  EventRecord,
  InputRecord,
  MissRecord,
  OutputRecord,
  RunSink,
  SchedRecord,
  SyscallCountRecord,
  TaskEndRecord,
  TaskRecord,
} from '../trace/records.js';
import type { TraceWriter } from '../trace/writer.js';

/** Verify by rows: the writer that packs the replay's records and the store that checks them. */
export interface PackedCheck {
  writer: TraceWriter;
  store: CheckStore;
}

export type ReplayMode = 'verify' | 'whatif';

export type DivergenceStream =
  'event' | 'call' | 'missed' | 'sched' | 'task' | 'input' | 'output' | 'probe' | 'final' | 'binary';

/** The first difference between a replay and its recording. */
export interface Divergence {
  /** Which recorded stream differs first. */
  stream: DivergenceStream;
  /** Number (seq) of the first divergent event; for the other streams, the event that comes next. */
  event: number;
  /** Events produced (and, in verify mode, matched) before the divergence. */
  eventsMatched: number;
  /** What the recording holds there ('(nothing)' when the replay produced more). */
  recorded: string;
  /** What the replay produced there ('(nothing: ...)' when the replay produced less). */
  replayed: string;
  /** Guest instructions retired when the divergence happened. */
  instructions: number;
  /** Virtual time (cycles) of the divergence. */
  ts: number;
  /** Multi-line human description (first line: the summary). */
  message: string;
}

export class ReplayStop extends Error {
  constructor(readonly divergence: Divergence) {
    super(divergence.message);
  }
}

/** A recorded stream read incrementally, closable at any point. */
class Stream<T> {
  private done = false;
  constructor(private readonly it: Generator<T, void, undefined>) {}
  next(): T | undefined {
    if (this.done) return undefined;
    const r = this.it.next();
    if (r.done) {
      this.done = true;
      return undefined;
    }
    return r.value;
  }
  close(): void {
    if (!this.done) {
      this.done = true;
      this.it.return();
    }
  }
}

const STREAM_NAMES: Record<DivergenceStream, string> = {
  event: 'event',
  call: 'a call',
  missed: 'a missed call',
  sched: 'the schedule (context switches)',
  task: 'the task lifecycle',
  input: 'the inputs consumed',
  output: 'the guest output',
  probe: 'the probes',
  final: 'the final state',
  binary: 'the stored binary',
};

export function hex(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : '0x' + (n >>> 0).toString(16);
}

function bytesPreview(b: Uint8Array): string {
  const s = Buffer.from(b.subarray(0, 60)).toString('utf8');
  return JSON.stringify(s) + (b.length > 60 ? `... (${b.length} bytes)` : ` (${b.length} bytes)`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const u32OrNull = (v: number | null): number | null => (v === null ? null : v >>> 0);

export class Comparator implements RunSink {
  session: ProbeSession | null = null;
  /** Verify: the recorded events and calls, one stream in production order (read once). */
  private readonly recorded: EventOrder | null;
  private readonly eventQ: EventRecord[] = [];
  private readonly callQ: CallRecord[] = [];
  private readonly missedS: Stream<MissRecord> | null;
  private readonly schedS: Stream<SchedRecord> | null;
  private readonly packed: TraceWriter | null;
  private readonly inputs: Stream<InputRecord>;
  private readonly outputs: Stream<OutputRecord>;
  private readonly tasks: TaskRow[];
  private taskAt = 0;
  private readonly taskByTid = new Map<number, TaskRow>();
  private readonly ended = new Set<number>();
  private eventsSeen = 0;
  private readonly probeNames = new Map<number, string>();
  /** Recorded before format 4: task pid/ppid/exe are placeholders, not compared. */
  private readonly legacyTasks: boolean;
  /** Output bytes the recording stored that are still to come (Infinity: no limit). */
  private outputLeft: number;
  /** The replay wrote beyond the recording's output limit. */
  private outputCut = false;
  outputMismatch = false;

  constructor(
    reader: TraceReader,
    runId: number,
    private readonly mode: ReplayMode,
    private readonly next: RunSink[],
    probes: ProbeRow[],
    private readonly byRows: PackedCheck | null = null,
  ) {
    this.packed = byRows?.writer ?? null;
    const full = mode === 'verify' && !byRows;
    const s = reader.streams(runId);
    const run = reader.run(runId);
    this.legacyTasks = run.legacyTasks;
    this.outputLeft = run.outputLimit ?? Infinity;
    this.recorded = full ? s.eventOrder() : null;
    this.missedS = full ? new Stream(s.missed()) : null;
    this.schedS = byRows ? null : new Stream(s.sched());
    this.inputs = new Stream(s.inputs());
    this.outputs = new Stream(s.outputs());
    this.tasks = s.tasks();
    for (const t of this.tasks) this.taskByTid.set(t.tid, t);
    for (const p of probes) this.probeNames.set(p.probeId, p.event);
  }

  close(): void {
    for (const s of [this.recorded, this.missedS, this.schedS, this.inputs, this.outputs]) s?.close();
    this.byRows?.store.close();
  }

  get eventCount(): number {
    return this.eventsSeen;
  }

  /** Instructions retired so far, exact to the instruction inside a slice. */
  instructionsNow(): number {
    return this.session?.machine.instructionsNow() ?? 0;
  }

  private nowTs(): number {
    return this.session ? this.session.machine.now() : 0;
  }

  fail(stream: DivergenceStream, recorded: string, replayed: string, ts = this.nowTs(), seq?: number): never {
    throw new ReplayStop(this.divergence(stream, recorded, replayed, ts, seq));
  }

  private divergence(
    stream: DivergenceStream,
    recorded: string,
    replayed: string,
    ts: number,
    seq?: number,
  ): Divergence {
    const instructions = this.instructionsNow();
    const matched = seq !== undefined ? seq - 1 : this.eventsSeen;
    const event = seq ?? this.eventsSeen + 1;
    const where =
      stream === 'event'
        ? `event ${event}`
        : stream === 'final' || stream === 'binary' || stream === 'probe'
          ? `the ${stream === 'final' ? 'final state' : stream === 'probe' ? 'probes' : 'stored binary'}`
          : `${STREAM_NAMES[stream]} before event ${event}`;
    const why =
      this.mode === 'whatif'
        ? `the probes changed the guest's behaviour: ${where} differs from the recording`
        : `replay diverged from the recording at ${where}`;
    const message =
      `${why} (after ${matched} matching events, ${instructions} instructions, cycle ${ts})\n` +
      `  recorded: ${recorded}\n` +
      `  replayed: ${replayed}`;
    return { stream, event, eventsMatched: matched, recorded, replayed, instructions, ts, message };
  }

  private probeName(id: number | null): string {
    if (id === null) return '';
    const n = this.probeNames.get(id) ?? this.session?.probes[id - 1]?.event;
    return n ? ` (${n})` : '';
  }

  private describeEvent(e: EventRecord): string {
    return (
      `#${e.seq} ${e.kind} ts=${e.ts} cpu=${e.cpu} tid=${e.tid}` +
      (e.probeId !== null ? ` probe=${e.probeId}${this.probeName(e.probeId)}` : '') +
      ` addr=${hex(e.addr)}` +
      (e.args !== null ? ` args=${e.args}` : '')
    );
  }

  private describeCall(c: CallRecord): string {
    return (
      `call probe=${c.probeId}${this.probeName(c.probeId)} tid=${c.tid} ts=${c.ts} dur=${c.dur} ` +
      `entry_cpu=${c.entryCpu} return_cpu=${c.returnCpu} depth=${c.depth} retval=${hex(c.retval)}` +
      (c.args !== null ? ` args=${c.args}` : '') +
      (c.entrySeq !== null ? ` events #${c.entrySeq}..#${c.returnSeq}` : '')
    );
  }

  private describeMiss(m: MissRecord): string {
    return `missed probe=${m.probeId}${this.probeName(m.probeId)} tid=${m.tid} cpu=${m.cpu} ts=${m.ts} reason=${m.reason}`;
  }

  /** The next recorded event (or call): the other kind met on the way waits in its queue. */
  private nextRecorded<T extends EventRecord | CallRecord>(q: T[], isCall: boolean): T | undefined {
    for (;;) {
      const x = q.shift();
      if (x) return x;
      const r = this.recorded!.next();
      if (!r) return undefined;
      if ('returnSeq' in r === isCall) return r as T;
      // (the stream reuses its records: a record kept for later is a copy)
      (isCall ? this.eventQ : this.callQ).push({ ...r } as EventRecord & CallRecord);
    }
  }

  event(e: EventRecord): void {
    this.eventsSeen = e.seq;
    if (this.packed) this.packed.event(e);
    else if (this.recorded) {
      const r = this.nextRecorded(this.eventQ, false);
      if (!r)
        this.fail('event', '(nothing: the recording has no more events)', this.describeEvent(e), e.ts, e.seq);
      if (
        r.seq !== e.seq ||
        r.ts !== e.ts ||
        r.cpu !== e.cpu ||
        r.tid !== e.tid ||
        r.kind !== e.kind ||
        r.probeId !== e.probeId ||
        u32OrNull(r.addr) !== u32OrNull(e.addr) ||
        r.args !== e.args
      )
        this.fail('event', this.describeEvent(r), this.describeEvent(e), e.ts, e.seq);
    }
    // (indexed: no iterator per record on the hot path)
    for (let i = 0; i < this.next.length; i++) this.next[i]!.event(e);
  }

  call(c: CallRecord): void {
    if (this.packed) this.packed.call(c);
    else if (this.recorded) {
      const r = this.nextRecorded(this.callQ, true);
      if (!r)
        this.fail('call', '(nothing: the recording has no more calls)', this.describeCall(c), c.ts + c.dur);
      if (
        r.probeId !== c.probeId ||
        r.tid !== c.tid ||
        r.ts !== c.ts ||
        r.dur !== c.dur ||
        r.entryCpu !== c.entryCpu ||
        r.returnCpu !== c.returnCpu ||
        r.depth !== c.depth ||
        u32OrNull(r.retval) !== u32OrNull(c.retval) ||
        r.args !== c.args ||
        // (recordings of format 1 may lack the entry event of a call)
        (r.entrySeq !== null && r.entrySeq !== c.entrySeq) ||
        r.returnSeq !== c.returnSeq
      )
        this.fail('call', this.describeCall(r), this.describeCall(c), c.ts + c.dur);
    }
    for (let i = 0; i < this.next.length; i++) this.next[i]!.call(c);
  }

  missed(m: MissRecord): void {
    if (this.packed) this.packed.missed(m);
    else if (this.missedS) {
      const r = this.missedS.next();
      if (!r)
        this.fail('missed', '(nothing: the recording has no more missed calls)', this.describeMiss(m), m.ts);
      if (
        r.probeId !== m.probeId ||
        r.tid !== m.tid ||
        r.cpu !== m.cpu ||
        r.ts !== m.ts ||
        r.reason !== m.reason
      )
        this.fail('missed', this.describeMiss(r), this.describeMiss(m), m.ts);
    }
    for (let i = 0; i < this.next.length; i++) this.next[i]!.missed(m);
  }

  sched(x: SchedRecord): void {
    const d = (s: SchedRecord) =>
      `context switch ts=${s.ts} cpu=${s.cpu} ${s.prevTid ?? 'idle'} -> ${s.nextTid ?? 'idle'} (${s.reason})`;
    if (this.packed) this.packed.sched(x);
    else {
      const r = this.schedS!.next();
      if (!r) this.fail('sched', '(nothing: the recording has no more context switches)', d(x), x.ts);
      if (
        r.ts !== x.ts ||
        r.cpu !== x.cpu ||
        r.prevTid !== x.prevTid ||
        r.nextTid !== x.nextTid ||
        r.reason !== x.reason
      )
        this.fail('sched', d(r), d(x), x.ts);
    }
    for (let i = 0; i < this.next.length; i++) this.next[i]!.sched(x);
  }

  taskStart(t: TaskRecord): void {
    const d = (x: TaskRecord) =>
      `task ${x.tid} '${x.name}' (pid ${x.pid}, ppid ${x.ppid}, exe '${x.exe}') started by ${x.parentTid ?? '-'} at ts=${String(x.startTs)}`;
    const ts = t.startTs ?? 0;
    const r = this.tasks[this.taskAt++];
    if (!r) this.fail('task', '(nothing: the recording has no more tasks)', d(t), ts);
    if (
      r.tid !== t.tid ||
      (!this.legacyTasks && (r.pid !== t.pid || r.ppid !== t.ppid || r.exe !== t.exe)) ||
      r.parentTid !== t.parentTid ||
      r.name !== t.name ||
      r.startTs !== t.startTs
    )
      this.fail('task', d(r), d(t), ts);
    this.packed?.taskStart(t);
    for (const n of this.next) n.taskStart(t);
  }

  taskEnd(t: TaskEndRecord): void {
    const d = (endTs: number | null, code: number | null) =>
      endTs === null
        ? `task ${t.tid} still running`
        : `task ${t.tid} ends at ts=${endTs} with exit code ${code ?? '-'}`;
    const r = this.taskByTid.get(t.tid);
    if (!r) this.fail('task', `(no task ${t.tid})`, d(t.ts, t.exitCode), t.ts);
    if (r.endTs !== t.ts || r.exitCode !== t.exitCode)
      this.fail('task', d(r.endTs, r.exitCode), d(t.ts, t.exitCode), t.ts);
    this.ended.add(t.tid);
    this.packed?.taskEnd(t);
    for (const n of this.next) n.taskEnd(t);
  }

  input(x: InputRecord): void {
    const d = (i: InputRecord) => `input ${i.kind}${i.key ? ' ' + i.key : ''}: ${bytesPreview(i.data)}`;
    const r = this.inputs.next();
    if (!r) this.fail('input', '(nothing: the recording has no more inputs)', d(x));
    if (r.kind !== x.kind || (r.key ?? '') !== (x.key ?? '') || !sameBytes(r.data, x.data))
      this.fail('input', d(r), d(x));
    this.packed?.input(x);
    for (const n of this.next) n.input(x);
  }

  output(full: OutputRecord): void {
    const d = (w: OutputRecord) => `write to fd ${w.fd} at ts=${w.ts}: ${bytesPreview(w.data)}`;
    // (the writer cuts at the run's output limit itself, as in the recording)
    this.packed?.output(full);
    // What the recording stored of this write: the part within its output limit.
    let o = full;
    if (full.data.byteLength > this.outputLeft) {
      this.outputCut = true;
      if (this.outputLeft === 0) {
        for (const n of this.next) n.output(full);
        return;
      }
      o = { fd: full.fd, ts: full.ts, data: full.data.subarray(0, this.outputLeft) };
    }
    this.outputLeft -= o.data.byteLength;
    const r = this.outputs.next();
    if (!r) {
      this.outputMismatch = true;
      this.fail('output', '(nothing: the recording has no more output)', d(o), o.ts);
    }
    if (r.fd !== o.fd || r.ts !== o.ts || !sameBytes(r.data, o.data)) {
      this.outputMismatch = true;
      const at = firstDiff(r.data, o.data);
      const tail = (b: Uint8Array) => bytesPreview(b.subarray(Math.max(0, at - 20)));
      if (r.fd === o.fd && r.ts === o.ts && at > 20)
        this.fail(
          'output',
          `write to fd ${o.fd} at ts=${o.ts}, from byte ${at - 20}: ${tail(r.data)}`,
          `from byte ${at - 20}: ${tail(o.data)}`,
          o.ts,
        );
      this.fail('output', d(r), d(o), o.ts);
    }
    for (const n of this.next) n.output(full);
  }

  syscall(s: SyscallCountRecord): void {
    this.packed?.syscall(s);
    for (const n of this.next) n.syscall(s);
  }

  /** After the run: nothing recorded may be left over, and the final state must agree. */
  finish(result: RunResult, session: ProbeSession, recordedRun: RunRow, probes: ProbeRow[]): void {
    const ts = result.cycles;
    if (this.byRows) {
      // Every batch checked, and no stored row left over (else RowMismatch).
      this.byRows.writer.flush();
      this.byRows.store.end();
    }
    const left = <T>(s: Stream<T> | null, stream: DivergenceStream, what: (r: T) => string): void => {
      const r = s?.next();
      if (r) this.fail(stream, what(r), '(nothing: the replay ended)', ts);
    };
    if (this.recorded) {
      const ev = this.nextRecorded(this.eventQ, false);
      if (ev) this.fail('event', this.describeEvent(ev), '(nothing: the replay ended)', ts);
      const c = this.nextRecorded(this.callQ, true);
      if (c)
        this.fail(
          'call',
          `call probe=${c.probeId} tid=${c.tid} ts=${c.ts}`,
          '(nothing: the replay ended)',
          ts,
        );
    }
    left(this.missedS, 'missed', (r) => `missed probe=${r.probeId} tid=${r.tid} ts=${r.ts}`);
    left(this.schedS, 'sched', (r) => `context switch ts=${r.ts} cpu=${r.cpu}`);
    left(this.inputs, 'input', (r) => `input ${r.kind} ${r.key ?? ''}`);
    const out = this.outputs.next();
    if (out) {
      this.outputMismatch = true;
      this.fail(
        'output',
        `write to fd ${out.fd} at ts=${out.ts}: ${bytesPreview(out.data)}`,
        '(nothing: the replay ended)',
        ts,
      );
    }
    if (recordedRun.outputTruncated !== this.outputCut) {
      this.outputMismatch = true;
      const say = (cut: boolean) =>
        cut ? 'output beyond the output limit (not stored)' : 'no output beyond the output limit';
      this.fail('output', say(recordedRun.outputTruncated), say(this.outputCut), ts);
    }
    const t = this.tasks[this.taskAt];
    if (t)
      this.fail(
        'task',
        `task ${t.tid} '${t.name}' starts at ts=${String(t.startTs)}`,
        '(nothing: the replay ended)',
        ts,
      );
    for (const r of this.tasks)
      if (r.endTs !== null && !this.ended.has(r.tid))
        this.fail('task', `task ${r.tid} ends at ts=${r.endTs}`, `task ${r.tid} never ended`, ts);
    const status = statusOf(result);
    const fin = (
      s: string,
      code: number | null,
      sig: number | null,
      ins: number | null,
      cyc: number | null,
    ) =>
      `${s}, exit code ${code ?? '-'}, signal ${sig ?? '-'}, ${ins ?? '?'} instructions, ${cyc ?? '?'} cycles`;
    if (
      recordedRun.status !== status ||
      recordedRun.exitCode !== result.exitCode ||
      recordedRun.signal !== result.signal ||
      recordedRun.instructions !== result.instructions ||
      recordedRun.cycles !== result.cycles
    )
      this.fail(
        'final',
        fin(
          recordedRun.status,
          recordedRun.exitCode,
          recordedRun.signal,
          recordedRun.instructions,
          recordedRun.cycles,
        ),
        fin(status, result.exitCode, result.signal, result.instructions, result.cycles),
        ts,
      );
    if (this.mode === 'verify') {
      const counters = new Map(session.counters().map((c) => [c.probeId, c]));
      for (const p of probes) {
        const c = counters.get(p.probeId);
        const got = c
          ? `hits ${c.hits}, nmissed ${c.nmissed}, nmissed_reentry ${c.nmissedReentry}`
          : '(no such probe)';
        const want = `hits ${p.hits ?? '?'}, nmissed ${p.nmissed ?? '?'}, nmissed_reentry ${p.nmissedReentry ?? '?'}`;
        if (got !== want) this.fail('final', `${p.event}: ${want}`, `${p.event}: ${got}`, ts);
      }
    }
  }
}
