// The trace database API in one import: create/open with the version gate, the batched writer,
// the typed reader, the analysis cache and migrations. See db.ts, writer.ts, reader.ts, migrate.ts
// for what each guarantees. Only src/trace opens SQLite files.

export {
  APPLICATION_ID,
  FORMAT_VERSION,
  TraceError,
  checkFormatVersion,
  closeWritable,
  createTrace,
  integrityCheck,
  openTrace,
  readFormatVersion,
  schemaSql,
} from './db.js';
export type { CreateOptions, Db, OpenOptions } from './db.js';
export { EVENT_KINDS, EventKind, MISS_REASONS, MissReason, PROBE_KINDS, RUN_STATUSES } from './codes.js';
export type {
  EventKindCode,
  EventKindName,
  MissReasonCode,
  MissReasonName,
  ProbeKindName,
  RunStatus,
} from './codes.js';
export { TraceWriter, createTraceWriter } from './writer.js';
export type {
  BeginRunInfo,
  ProbeCounters,
  ProbeInfo,
  RunConfig,
  RunResult,
  WriterCounts,
  WriterOptions,
} from './writer.js';
export { CallSetCache, TraceReader } from './reader.js';
export type {
  CallRow,
  EventRange,
  EventRow,
  InputRow,
  MissedRow,
  OutputRow,
  ProbeRow,
  QueryResult,
  RunRow,
  SchedRow,
  TaskRowOut,
} from './reader.js';
export { MIGRATIONS, migrateTrace, migrationPath } from './migrate.js';
export type { Migration } from './migrate.js';
