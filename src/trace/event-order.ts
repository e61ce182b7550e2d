// Production order from the two stored streams of a run (schemas/trace.sql, format 5): the stored
// event rows, in seq order, and the call rows, in return order, with the events each row implies:
// a stored hit's single step (raw_events.step), a call's entry hit and its single step
// (raw_calls.step) and its trampoline hit and return (raw_calls.info flags).
// Guarantees: next() gives every event, stored or implied, in seq order, and (withCalls) each call
// right after its return event, which is the order a session produces them; nothing is loaded
// whole: a call's implied entry comes before the call itself in this order, so call rows are read
// ahead (at most until the entry looked for shows up; the recorder writes an implied entry's call
// row at most one batch later, so that is bounded, and a file that makes it larger than
// LOOKAHEAD_MAX is refused); seqs missing from a damaged file are skipped. With `reuse`, the
// records given are overwritten by the next call (verify compares and drops them); without, each is
// fresh. No allocation per record with `reuse`, beyond growing the look-ahead buffers.

import { CALL_RETURN_IMPLIED, CALL_TRAMPOLINE_IMPLIED, IMPLIED_RETURN_ADDR } from './batch.js';
import { EVENT_KINDS, type EventKindName } from './codes.js';
import { TraceError } from './db.js';
import { blankCallRecord, blankEventRecord, type CallRecord, type EventRecord } from './records.js';

/**
 * Call rows read ahead before the file is taken as damaged: the recorder's batches hold at most
 * 2^18 calls, and an implied entry's call is in the entry's batch.
 */
const LOOKAHEAD_MAX = 1 << 19;
/**
 * How far (in seqs) an implied event may lie ahead of the stream: a batch spans at most about six
 * events per row (< 1.6M); this bounds the ring's memory (about 57 bytes a slot) for crafted files.
 */
const RING_MAX = 1 << 22;

/** Columns of a stored event row: seq, ts, cpu, tid, kind, probe_id, addr, args text, step. */
export const STORED_EVENT_COLUMNS = `seq, ts, (info >> 4) & 127, (info >> 11) & 4194303, info & 15,
  nullif(info >> 33, 0) - 1, addr, (SELECT s FROM strings WHERE id = e.args), step`;
/** Columns of a call row: return_seq, probe_id, tid, ts, dur, info, retval, args text, entry_seq, step. */
export const CALL_COLUMNS = `return_seq, probe_id, tid, ts, dur, info, retval,
  (SELECT s FROM strings WHERE id = c.args), entry_seq, step`;

type Row = unknown[];

const TRAMP = 0;
const RET = 1;
const DONE = 2;

export class EventOrder {
  /** The next event seq (events are dense from 1 in a run). */
  private want: number;
  // The stored row at the head (aPart 1; its implied single step goes to the heap).
  private aSeq = 0;
  private aTs = 0;
  private aCpu = 0;
  private aTid = 0;
  private aKind = 0;
  private aProbe: number | null = null;
  private aAddr: number | null = null;
  private aArgs: string | null = null;
  /** 1: a stored row is at the head. */
  private aPart = 0;
  private storedDone = false;
  // Calls read ahead (a ring of parallel arrays), oldest first.
  private cap = 64;
  private head = 0;
  private n = 0;
  private cRet: Float64Array = new Float64Array(this.cap);
  private cProbe: Float64Array = new Float64Array(this.cap);
  private cTid: Float64Array = new Float64Array(this.cap);
  private cTs: Float64Array = new Float64Array(this.cap);
  private cDur: Float64Array = new Float64Array(this.cap);
  private cInfo: Float64Array = new Float64Array(this.cap);
  private cRetval: Float64Array = new Float64Array(this.cap);
  private cEntry: Float64Array = new Float64Array(this.cap);
  private cState: Uint8Array = new Uint8Array(this.cap);
  private cArgs: (string | null)[] = new Array<string | null>(this.cap).fill(null);
  private callsDone = false;
  // Implied entry hits and single steps still to come, addressed by seq in a ring of 2^k slots
  // (seq & mask; hSeq NaN: empty), every one in [want, want + size): a seq is taken in O(1).
  private hn = 0;
  private hMask = 1023;
  private hSeq = new Float64Array(1024).fill(NaN);
  private hTs = new Float64Array(1024);
  private hCpu = new Float64Array(1024);
  private hTid = new Float64Array(1024);
  /** Probe and addr: NaN is NULL. */
  private hProbe = new Float64Array(1024);
  private hAddr = new Float64Array(1024);
  /** 0: an entry hit, 1: a single step. */
  private hKind = new Uint8Array(1024);
  private readonly ev: EventRecord = blankEventRecord('kprobe');
  private readonly call: CallRecord = blankCallRecord();

  constructor(
    private readonly stored: Iterator<Row>,
    private readonly calls: Iterator<Row>,
    /** raw_probes.addr by probe id (the address of an implied entry hit). */
    private readonly probeAddr: Map<number, number>,
    private readonly withCalls: boolean,
    private readonly reuse: boolean,
    /** Events before it are left out (their rows may still be read). */
    private readonly from = 1,
  ) {
    this.want = Math.max(1, from);
  }

  /** The next event or call in production order, or undefined at the end. */
  next(): EventRecord | CallRecord | undefined {
    for (;;) {
      if (this.aPart === 0 && !this.storedDone) this.readStored();
      // The oldest call read ahead: its record once its return event is behind.
      if (this.n > 0 && this.cState[this.head] === DONE && this.cRet[this.head]! < this.want) {
        if (this.withCalls) return this.popCall();
        this.dropCall();
        continue;
      }
      const a = this.aPart !== 0 ? this.aHeadSeq() : Infinity;
      const b = this.n > 0 ? this.frontSeq() : Infinity;
      const h = this.hn > 0 && this.hSeq[this.want & this.hMask] === this.want ? this.want : Infinity;
      const m = Math.min(a, b, h);
      // (an event before `want` is one a range starts after: given anyway, the caller drops it)
      if (m <= this.want) {
        if (m === a) return this.takeStored();
        if (m === b) return this.takeFront();
        return this.takeImplied();
      }
      if (!this.callsDone) {
        this.readCall();
        continue;
      }
      // Nothing holds seq `want` and every call is read: skip to the smallest seq left (a damaged
      // file), or past the front call's missing return event.
      const least = this.leastImplied();
      if (least < m) this.want = least;
      else if (m !== Infinity) this.want = m;
      else if (this.n > 0) this.want = this.cRet[this.head]! + 1;
      else return undefined;
    }
  }

  // ------------------------------------------------------------------ stored rows

  private readStored(): void {
    const r = this.stored.next();
    if (r.done) {
      this.storedDone = true;
      return;
    }
    const v = r.value;
    this.aSeq = v[0] as number;
    this.aTs = v[1] as number;
    this.aCpu = v[2] as number;
    this.aTid = v[3] as number;
    this.aKind = v[4] as number;
    this.aProbe = v[5] as number | null;
    this.aAddr = v[6] as number | null;
    this.aArgs = v[7] as string | null;
    this.aPart = 1;
    const step = v[8] as number | null;
    if (step !== null) {
      const probe = this.aProbe;
      const addr = this.aAddr;
      this.putImplied(
        this.aSeq + 1 + (step & 1),
        this.aTs + Math.floor(step / 2),
        this.aCpu,
        this.aTid,
        probe === null ? NaN : probe,
        addr === null ? NaN : addr,
        1,
      );
    }
  }

  private advance(seq: number): void {
    if (seq >= this.want) this.want = seq + 1;
  }

  private aHeadSeq(): number {
    return this.aSeq;
  }

  private takeStored(): EventRecord {
    const e = this.reuse ? this.ev : blankEventRecord('kprobe');
    e.seq = this.aSeq;
    e.ts = this.aTs;
    e.kind = EVENT_KINDS[this.aKind] ?? (`kind ${String(this.aKind)}` as EventKindName);
    e.args = this.aArgs;
    this.aPart = 0;
    e.cpu = this.aCpu;
    e.tid = this.aTid;
    e.probeId = this.aProbe;
    e.addr = this.aAddr;
    this.advance(e.seq);
    return e;
  }

  // ------------------------------------------------------------------ calls read ahead

  private readCall(): void {
    const r = this.calls.next();
    if (r.done) {
      this.callsDone = true;
      return;
    }
    const v = r.value;
    if (this.n === this.cap) this.grow();
    const i = (this.head + this.n) & (this.cap - 1);
    this.n++;
    const ret = v[0] as number;
    const info = v[5] as number;
    const flags = Math.floor(info / 16384) % 4;
    this.cRet[i] = ret;
    this.cProbe[i] = v[1] as number;
    this.cTid[i] = v[2] as number;
    this.cTs[i] = v[3] as number;
    this.cDur[i] = v[4] as number;
    this.cInfo[i] = info;
    this.cRetval[i] = v[6] === null ? NaN : (v[6] as number);
    this.cArgs[i] = v[7] as string | null;
    const entry = v[8] as number | null;
    this.cEntry[i] = entry === null ? NaN : entry;
    this.cState[i] = flags & CALL_TRAMPOLINE_IMPLIED ? TRAMP : flags & CALL_RETURN_IMPLIED ? RET : DONE;
    const step = v[9] as number | null;
    if (step !== null && entry !== null) {
      // The implied entry hit and (step >= 0) its single step; what comes before `from` is left out.
      const probe = v[1] as number;
      const addr = this.probeAddr.get(probe) ?? NaN;
      const ts = v[3] as number;
      const cpu = info % 128;
      const tid = v[2] as number;
      if (entry >= this.from) this.putImplied(entry, ts, cpu, tid, probe, addr, 0);
      const stepSeq = entry + 1 + (step & 1);
      if (step >= 0 && stepSeq >= this.from)
        this.putImplied(stepSeq, ts + Math.floor(step / 2), cpu, tid, probe, addr, 1);
    }
    if (this.n > LOOKAHEAD_MAX)
      throw new TraceError(
        `the call rows of this run are not in the order probelab writes them (an implied entry event is more than ${LOOKAHEAD_MAX} calls ahead): the file was edited or damaged`,
      );
  }

  private grow(): void {
    const old = this.cap;
    const cap = old * 2;
    const order = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      for (let k = 0; k < this.n; k++) b[k] = a[(this.head + k) & (old - 1)]!;
      return b;
    };
    this.cRet = order(this.cRet);
    this.cProbe = order(this.cProbe);
    this.cTid = order(this.cTid);
    this.cTs = order(this.cTs);
    this.cDur = order(this.cDur);
    this.cInfo = order(this.cInfo);
    this.cRetval = order(this.cRetval);
    this.cEntry = order(this.cEntry);
    const st = new Uint8Array(cap);
    const args = new Array<string | null>(cap).fill(null);
    for (let k = 0; k < this.n; k++) {
      st[k] = this.cState[(this.head + k) & (old - 1)]!;
      args[k] = this.cArgs[(this.head + k) & (old - 1)]!;
    }
    this.cState = st;
    this.cArgs = args;
    this.head = 0;
    this.cap = cap;
  }

  /** Seq of the front call's next implied event (trampoline or return), Infinity when none. */
  private frontSeq(): number {
    const f = this.head;
    const s = this.cState[f];
    return s === TRAMP ? this.cRet[f]! - 1 : s === RET ? this.cRet[f]! : Infinity;
  }

  private takeFront(): EventRecord {
    const f = this.head;
    const e = this.reuse ? this.ev : blankEventRecord('kprobe');
    const info = this.cInfo[f]!;
    e.ts = this.cTs[f]! + this.cDur[f]!;
    e.cpu = Math.floor(info / 128) % 128;
    e.tid = this.cTid[f]!;
    e.addr = IMPLIED_RETURN_ADDR;
    if (this.cState[f] === TRAMP) {
      e.seq = this.cRet[f]! - 1;
      e.kind = 'trampoline';
      e.probeId = null;
      e.args = null;
      this.cState[f] = Math.floor(info / 16384) & CALL_RETURN_IMPLIED ? RET : DONE;
    } else {
      e.seq = this.cRet[f]!;
      e.kind = 'return';
      e.probeId = this.cProbe[f]!;
      e.args = this.cArgs[f]!;
      this.cState[f] = DONE;
    }
    this.advance(e.seq);
    return e;
  }

  private popCall(): CallRecord {
    const f = this.head;
    const c = this.reuse ? this.call : blankCallRecord();
    const info = this.cInfo[f]!;
    c.probeId = this.cProbe[f]!;
    c.tid = this.cTid[f]!;
    c.ts = this.cTs[f]!;
    c.dur = this.cDur[f]!;
    c.entryCpu = info % 128;
    c.returnCpu = Math.floor(info / 128) % 128;
    c.depth = Math.floor(info / 65536);
    const rv = this.cRetval[f]!;
    c.retval = rv === rv ? rv : null;
    c.args = this.cArgs[f]!;
    const en = this.cEntry[f]!;
    c.entrySeq = en === en ? en : null;
    c.returnSeq = this.cRet[f]!;
    this.dropCall();
    return c;
  }

  private dropCall(): void {
    this.cArgs[this.head] = null;
    this.head = (this.head + 1) & (this.cap - 1);
    this.n--;
  }

  // ------------------------------------------------------------------ implied events (ring)

  /**
   * Adds an implied entry hit (kind 0) or single step (kind 1) at `seq` (probe, addr NaN: NULL).
   * One before `want` can only come from a damaged file and is dropped, as is a second one at the
   * same seq.
   */
  private putImplied(
    seq: number,
    ts: number,
    cpu: number,
    tid: number,
    probe: number,
    addr: number,
    kind: number,
  ): void {
    const ahead = seq - this.want;
    if (ahead < 0) return;
    if (ahead > this.hMask) this.growRing(ahead);
    const k = seq & this.hMask;
    if (this.hSeq[k] === this.hSeq[k]) return;
    this.hSeq[k] = seq;
    this.hTs[k] = ts;
    this.hCpu[k] = cpu;
    this.hTid[k] = tid;
    this.hProbe[k] = probe;
    this.hAddr[k] = addr;
    this.hKind[k] = kind;
    this.hn++;
  }

  private growRing(ahead: number): void {
    if (ahead >= RING_MAX)
      throw new TraceError(
        `an implied event of this run is ${ahead} events ahead of the stream (more than ${RING_MAX}): the file was edited or damaged`,
      );
    let size = this.hMask + 1;
    while (size <= ahead) size *= 2;
    const oSeq = this.hSeq;
    const oTs = this.hTs;
    const oCpu = this.hCpu;
    const oTid = this.hTid;
    const oProbe = this.hProbe;
    const oAddr = this.hAddr;
    const oKind = this.hKind;
    this.hSeq = new Float64Array(size).fill(NaN);
    this.hTs = new Float64Array(size);
    this.hCpu = new Float64Array(size);
    this.hTid = new Float64Array(size);
    this.hProbe = new Float64Array(size);
    this.hAddr = new Float64Array(size);
    this.hKind = new Uint8Array(size);
    const mask = size - 1;
    this.hMask = mask;
    for (let k = 0; k < oSeq.length; k++) {
      const seq = oSeq[k]!;
      if (seq !== seq) continue;
      const j = seq & mask;
      this.hSeq[j] = seq;
      this.hTs[j] = oTs[k]!;
      this.hCpu[j] = oCpu[k]!;
      this.hTid[j] = oTid[k]!;
      this.hProbe[j] = oProbe[k]!;
      this.hAddr[j] = oAddr[k]!;
      this.hKind[j] = oKind[k]!;
    }
  }

  /** The smallest seq held (a scan: only when a damaged file leaves a gap), Infinity if none. */
  private leastImplied(): number {
    let m = Infinity;
    if (this.hn === 0) return m;
    for (let k = 0; k <= this.hMask; k++) {
      const seq = this.hSeq[k]!;
      if (seq < m) m = seq;
    }
    return m;
  }

  /** Gives the implied event at seq `want`. */
  private takeImplied(): EventRecord {
    const e = this.reuse ? this.ev : blankEventRecord('kprobe');
    const k = this.want & this.hMask;
    const probe = this.hProbe[k]!;
    const addr = this.hAddr[k]!;
    e.seq = this.want;
    e.ts = this.hTs[k]!;
    e.cpu = this.hCpu[k]!;
    e.tid = this.hTid[k]!;
    e.probeId = probe === probe ? probe : null;
    e.addr = addr === addr ? addr : null;
    e.args = null;
    e.kind = this.hKind[k] === 0 ? 'kprobe' : 'singlestep';
    this.hSeq[k] = NaN;
    this.hn--;
    this.advance(e.seq);
    return e;
  }

  /** Ends both row iterators (a consumer that stops early). */
  close(): void {
    this.stored.return?.();
    this.calls.return?.();
  }
}
