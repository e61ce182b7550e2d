// The unit of work between the trace writer (which fills buffers on the recording thread) and the
// trace store (which inserts them into SQLite, in this thread or a worker thread).
// Guarantees: a Batch holds only numbers, strings, nulls and Uint8Arrays, so it crosses a
// postMessage unchanged; the numeric tables are row-major Float64Arrays (NaN = NULL) whose
// buffers can be transferred rather than copied; column orders are the NUMERIC_TABLES lists below,
// and every numeric table starts with run_id (the store binds it as a literal, not a parameter).

/** Numeric tables: name → columns in buffer order. */
export const NUMERIC_TABLES = {
  // info = kind | cpu << 4 | tid << 11 | (probe_id + 1) << 33; step: an implied single step at
  // seq + 1 (schemas/trace.sql)
  raw_events: ['run_id', 'seq', 'ts', 'info', 'addr', 'args', 'step'],
  raw_calls: [
    'run_id',
    'probe_id',
    'tid',
    'ts',
    'dur',
    'info', // entry_cpu | return_cpu << 7 | flags << 14 | depth << 16 (schemas/trace.sql)
    'retval',
    'args',
    'entry_seq',
    'return_seq',
    'step', // the implied entry hit and its single step, NaN: none (schemas/trace.sql)
  ],
  raw_sched: ['run_id', 'ts', 'cpu', 'prev_tid', 'next_tid', 'reason'],
} as const;

export type NumericTableName = keyof typeof NUMERIC_TABLES;
export const NUMERIC_TABLE_NAMES = Object.keys(NUMERIC_TABLES) as NumericTableName[];

/** Row tables (text and blob values): name → columns. */
export const ROW_TABLES = {
  strings: ['id', 's'],
  raw_tasks: [
    'id',
    'run_id',
    'tid',
    'pid',
    'ppid',
    'parent_tid',
    'name',
    'exe',
    'start_ts',
    'end_ts',
    'exit_code',
  ],
  input_data: ['sha256', 'size', 'data'],
  raw_inputs: ['run_id', 'seq', 'kind', 'key', 'sha256'],
  output: ['run_id', 'seq', 'fd', 'ts', 'data'],
  raw_syscalls: ['run_id', 'tid', 'nr', 'name', 'calls', 'errors', 'enosys'],
} as const;

export type RowTableName = keyof typeof ROW_TABLES;
export const ROW_TABLE_NAMES = Object.keys(ROW_TABLES) as RowTableName[];

export type RowValue = number | string | null | Uint8Array;

export interface NumericRows {
  /** rows × columns, row-major; NaN is NULL. Only the first `n` rows are meaningful. */
  data: Float64Array;
  n: number;
}

export interface Batch {
  numeric: Record<NumericTableName, NumericRows>;
  /** Flattened rows (columns per ROW_TABLES). strings come first in the transaction. */
  rows: Record<RowTableName, RowValue[]>;
  /** (end_ts, exit_code, id) triples for tasks whose INSERT an earlier batch committed. */
  taskUpdates: (number | null)[];
}

/** Limits of the fields packed into raw_events.info (tid: Linux's PID_MAX_LIMIT). */
export const MAX_EVENT_CPU = 127;
export const MAX_EVENT_TID = 2 ** 22 - 1;
export const MAX_EVENT_PROBE_ID = 2 ** 20 - 2;

/**
 * raw_events.info for an event, or -1 when a field is out of range (the caller reports it). Kind
 * codes are below 16 by construction (codes.ts).
 */
export function packEventInfo(kind: number, cpu: number, tid: number, probeId: number | null): number {
  if (!(cpu >= 0 && cpu <= MAX_EVENT_CPU && tid >= 0 && tid <= MAX_EVENT_TID)) return -1;
  if (probeId === null) return kind + cpu * 16 + tid * 2048;
  if (!(probeId >= 0 && probeId <= MAX_EVENT_PROBE_ID)) return -1;
  return kind + cpu * 16 + tid * 2048 + (probeId + 1) * 2 ** 33;
}

/** raw_calls.info flag: the call's 'return' event is implied by the row, not stored. */
export const CALL_RETURN_IMPLIED = 1;
/** raw_calls.info flag: the 'trampoline' hit just before the return is implied too. */
export const CALL_TRAMPOLINE_IMPLIED = 2;
/**
 * The address the implied trampoline and return events carry (the probe engine's kretprobe
 * trampoline; the events view writes it as a literal). The writer implies an event only when its
 * address is this one, so a different trampoline would simply be stored.
 */
export const IMPLIED_RETURN_ADDR = 0xfff00000;

/**
 * raw_calls.info (entry_cpu | return_cpu << 7 | flags << 14 | depth << 16), or -1 when a field is
 * out of range.
 */
export function packCallInfo(entryCpu: number, returnCpu: number, depth: number, flags = 0): number {
  if (!(entryCpu >= 0 && entryCpu <= MAX_EVENT_CPU && returnCpu >= 0 && returnCpu <= MAX_EVENT_CPU))
    return -1;
  if (!(depth >= 0 && depth < 2 ** 37)) return -1;
  return entryCpu + returnCpu * 128 + flags * 16384 + depth * 65536;
}

/** The ArrayBuffers a batch can hand over instead of copying (empty tables carry none). */
export function transferables(b: Batch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of NUMERIC_TABLE_NAMES) {
    const buf = b.numeric[t].data.buffer;
    if (buf instanceof ArrayBuffer && buf.byteLength > 0) out.push(buf);
  }
  return out;
}

/** What an empty numeric table puts in a batch, so its (unused) buffer is neither sent nor copied. */
export const NO_ROWS = new Float64Array(0);
