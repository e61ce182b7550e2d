// #15 format 5: EventOrder (src/trace/event-order.ts) merges stored event rows (seq order) and call
// rows (return order) into production order. The oracle is an independent expansion: every event
// each row stands for, listed and sorted by seq (the calls after their return events). Recorded
// runs are compared with the SQL events view in test/views.test.ts; here the hand-made rows cover
// what recordings rarely show: a hit whose step comes two events later, a held entry stored as a
// row after the fact, nesting, a call without an implied return, and a damaged file with a missing
// seq (skipped, the rest still in order), and a crafted row that would make the look-ahead huge.
import { describe, expect, it } from 'vitest';
import { TraceError } from '../src/trace/db.js';
import { EventOrder } from '../src/trace/event-order.js';
import type { CallRecord, EventRecord } from '../src/trace/records.js';

const KINDS = ['kprobe', 'singlestep', 'trampoline', 'return'];
const TRAMP = 0xfff00000;
const ADDR = new Map([
  [1, 0x8049000],
  [2, 0x8049000],
]);

// Stored rows: seq, ts, cpu, tid, kind, probe, addr, args, step.
type Stored = [
  number,
  number,
  number,
  number,
  number,
  number | null,
  number | null,
  string | null,
  number | null,
];
// Call rows: return_seq, probe, tid, ts, dur, info, retval, args, entry_seq, step.
type Call = [
  number,
  number,
  number,
  number,
  number,
  number,
  number | null,
  string | null,
  number | null,
  number | null,
];

const info = (entryCpu: number, returnCpu: number, flags: number, depth: number) =>
  entryCpu + returnCpu * 128 + flags * 16384 + depth * 65536;

/** The oracle: every event and call the rows stand for, sorted (a call right after seq return_seq). */
function expand(stored: Stored[], calls: Call[]): (EventRecord | CallRecord)[] {
  const out: { key: number; x: EventRecord | CallRecord }[] = [];
  const ev = (
    seq: number,
    ts: number,
    cpu: number,
    tid: number,
    kind: string,
    probeId: number | null,
    addr: number | null,
    args: string | null,
  ) =>
    out.push({ key: seq, x: { seq, ts, cpu, tid, kind: kind as EventRecord['kind'], probeId, addr, args } });
  for (const [seq, ts, cpu, tid, kind, probe, addr, args, step] of stored) {
    ev(seq, ts, cpu, tid, KINDS[kind]!, probe, addr, args);
    if (step !== null)
      ev(seq + 1 + (step % 2), ts + Math.floor(step / 2), cpu, tid, 'singlestep', probe, addr, null);
  }
  for (const [ret, probe, tid, ts, dur, inf, retval, args, entry, step] of calls) {
    const ecpu = inf % 128;
    const rcpu = Math.floor(inf / 128) % 128;
    const flags = Math.floor(inf / 16384) % 4;
    if (step !== null && entry !== null) {
      ev(entry, ts, ecpu, tid, 'kprobe', probe, ADDR.get(probe)!, null);
      if (step >= 0)
        ev(
          entry + 1 + (step % 2),
          ts + Math.floor(step / 2),
          ecpu,
          tid,
          'singlestep',
          probe,
          ADDR.get(probe)!,
          null,
        );
    }
    if (flags & 2) ev(ret - 1, ts + dur, rcpu, tid, 'trampoline', null, TRAMP, null);
    if (flags & 1) ev(ret, ts + dur, rcpu, tid, 'return', probe, TRAMP, args);
    const c: CallRecord = {
      probeId: probe,
      tid,
      ts,
      dur,
      entryCpu: ecpu,
      returnCpu: rcpu,
      depth: Math.floor(inf / 65536),
      retval,
      args,
      entrySeq: entry,
      returnSeq: ret,
    };
    out.push({ key: ret + 0.5, x: c });
  }
  return out.sort((a, b) => a.key - b.key).map((o) => o.x);
}

function merged(stored: Stored[], calls: Call[], withCalls: boolean, from = 1): (EventRecord | CallRecord)[] {
  const o = new EventOrder(stored.values(), calls.values(), ADDR, withCalls, false, from);
  const out: (EventRecord | CallRecord)[] = [];
  for (let x = o.next(); x !== undefined; x = o.next()) out.push(x);
  return out;
}

// Two nested calls of probe 1 (tid 7), a kprobe (probe 2) hit on the same instruction at each
// entry, one call's entry stored as a row (held, then stored at a batch's end), and a call whose
// return event is a stored row (no implied return).
//   1 kprobe p2 (row; its step at 3)   2 kprobe p1 (implied by call A)   3 singlestep p2
//   4 kprobe p2 (row)                  5 kprobe p1 (row; step at 6)      6 singlestep p1
//   7 trampoline, 8 return (call B, implied)                              9 trampoline, 10 return (call A)
//   11 kprobe p1 (implied by call C, step -1)                             12 return (row) of call C
const STORED: Stored[] = [
  [1, 100, 0, 7, 0, 2, 0x8049000, '{"d":1}', 3],
  [4, 120, 0, 7, 0, 2, 0x8049000, '{"d":2}', null],
  [5, 120, 0, 7, 0, 1, 0x8049000, null, 2],
  [12, 200, 1, 7, 3, 1, TRAMP, '{"r":3}', null],
];
const CALLS: Call[] = [
  [8, 1, 7, 120, 30, info(0, 1, 3, 1), 5, '{"r":1}', 5, null],
  [10, 1, 7, 100, 60, info(0, 1, 3, 0), 6, '{"r":2}', 2, -1],
  [12, 1, 7, 190, 10, info(1, 1, 0, 0), null, '{"r":3}', 11, -1],
];

describe('#15 EventOrder: stored rows and call rows in production order', () => {
  it('gives every event and call as the independent expansion sorts them', () => {
    const want = expand(STORED, CALLS);
    expect(want.filter((x) => 'seq' in x).map((x) => (x as EventRecord).seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    expect(merged(STORED, CALLS, true)).toEqual(want);
    expect(merged(STORED, CALLS, false)).toEqual(want.filter((x) => 'seq' in x));
  });

  it('a range starts at its first seq (rows before it are given and dropped by the caller)', () => {
    const want = expand(STORED, CALLS).filter((x) => 'seq' in x && x.seq >= 6);
    expect(merged(STORED, CALLS, false, 6).filter((x) => (x as EventRecord).seq >= 6)).toEqual(want);
  });

  it('a damaged file with a seq missing: the gap is skipped, the rest stays in order', () => {
    const stored = STORED.filter((r) => r[0] !== 4);
    const want = expand(stored, CALLS);
    const got = merged(stored, CALLS, true);
    expect(got).toEqual(want);
    expect(got.filter((x) => 'seq' in x).map((x) => (x as EventRecord).seq)).toEqual([
      1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
  });

  it('a crafted call row whose implied entry lies absurdly far ahead is refused in one line', () => {
    const calls: Call[] = [[10, 1, 7, 100, 60, info(0, 1, 3, 0), 6, null, 9_000_000_000, -1]];
    expect(() => merged([], calls, true)).toThrow(TraceError);
    expect(() => merged([], calls, true)).toThrow(
      /^an implied event of this run is \d+ events ahead .*damaged$/,
    );
  });
});
