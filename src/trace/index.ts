// The trace database API in one import: create/open with the version gate, the run-record
// contract (records.ts, config.ts), the batched writer, the typed reader, the complete-call cache
// and migrations. See each module for what it guarantees. Only src/trace opens SQLite files.

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
export {
  DEFAULT_CPUS,
  NR_CPUS_MAX,
  NR_CPUS_MIN,
  RUN_CONFIG_DEFAULTS,
  RUN_CONFIG_VERSION,
  UNBOUNDED,
  checkRunConfig,
  cpusProblem,
  formatMaxactive,
  isUnbounded,
  makeRunConfig,
  parseRunConfig,
} from './config.js';
export type { RunConfig } from './config.js';
export { nullSink } from './records.js';
export type {
  CallRecord,
  CompleteCallRecord,
  EventRecord,
  InputRecord,
  MissRecord,
  OutputRecord,
  ProbeCounters,
  ProbeRecord,
  RunEnd,
  RunSink,
  SchedRecord,
  SyscallCountRecord,
  TaskEndRecord,
  TaskRecord,
} from './records.js';
export { TraceWriter, createTraceWriter } from './writer.js';
export type { BeginRunInfo, WriterCounts, WriterOptions } from './writer.js';
export { CompleteCallCache, TraceReader } from './reader.js';
export type {
  EventRange,
  InputRow,
  OutputRow,
  ProbeRow,
  QueryResult,
  RunRow,
  RunStreams,
  TaskRow,
} from './reader.js';
export { MIGRATIONS, migrateTrace, migrationPath } from './migrate.js';
export type { Migration } from './migrate.js';
