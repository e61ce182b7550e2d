// Positional builders of the run records (src/trace/records.ts) for the trace tests, which write
// many rows with integer codes: they keep the tests' tables of values compact.
import {
  EVENT_KINDS,
  MISS_REASONS,
  makeRunConfig,
  type CallRecord,
  type EventKindCode,
  type EventRecord,
  type InputRecord,
  type MissReasonCode,
  type MissRecord,
  type OutputRecord,
  type RunConfig,
  type SchedRecord,
  type TaskEndRecord,
  type TaskRecord,
} from '../../src/trace/index.js';

export function ev(
  seq: number,
  ts: number,
  cpu: number,
  tid: number,
  kind: EventKindCode,
  probeId: number | null,
  addr: number | null,
  args: string | null,
): EventRecord {
  return { seq, ts, cpu, tid, kind: EVENT_KINDS[kind], probeId, addr, args };
}

export function call(
  probeId: number,
  tid: number,
  ts: number,
  dur: number,
  entryCpu: number,
  returnCpu: number,
  depth: number,
  retval: number | null,
  args: string | null,
  entrySeq: number | null,
  returnSeq: number,
): CallRecord {
  return { probeId, tid, ts, dur, entryCpu, returnCpu, depth, retval, args, entrySeq, returnSeq };
}

export function miss(
  probeId: number,
  tid: number,
  cpu: number,
  ts: number,
  reason: MissReasonCode,
): MissRecord {
  return { probeId, tid, cpu, ts, reason: MISS_REASONS[reason] };
}

export function sched(
  ts: number,
  cpu: number,
  prevTid: number | null,
  nextTid: number | null,
  reason: string,
): SchedRecord {
  return { ts, cpu, prevTid, nextTid, reason };
}

/** A task of process 1 running 'demo'. */
export function task(
  tid: number,
  parentTid: number | null,
  name: string,
  startTs: number | null,
): TaskRecord {
  return { tid, pid: 1, ppid: 0, parentTid, name, exe: 'demo', startTs };
}

export function taskEnd(tid: number, ts: number, exitCode: number | null): TaskEndRecord {
  return { tid, ts, exitCode };
}

export function input(kind: string, key: string | null, data: Uint8Array): InputRecord {
  return { kind, key, data };
}

export function output(fd: number, ts: number, data: Uint8Array): OutputRecord {
  return { fd, ts, data };
}

/** A complete RunConfig: the fields given, cwd '/', the rest RunConfig's defaults. */
export function config(fields: Partial<RunConfig> & { argv: string[] }): RunConfig {
  return makeRunConfig({ cwd: '/', ...fields });
}
