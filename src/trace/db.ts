// Opening and creating trace databases, with the format-version gate.
// Guarantees:
// - This folder (src/trace) is the only code in probelab that opens SQLite files.
// - createTrace() never overwrites an existing file unless `force` is given; it creates the file
//   exclusively (O_EXCL), removes stale -wal/-shm/-journal side files, and writes the whole schema
//   (schemas/trace.sql, creation part) and the meta rows in one transaction.
// - openTrace() accepts only probelab trace files whose format_version equals FORMAT_VERSION; it
//   reads the version before changing anything, so a foreign file is never modified. Read-only
//   opens are read-only at two levels: SQLite's SQLITE_OPEN_READONLY and PRAGMA query_only.
// - Every failure is a TraceError whose message is one line that names the file and says what to do.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The trace format this build writes and reads. Bump it (and add a migration) on any change to tables. */
export const FORMAT_VERSION = 7;

/** SQLite header application_id of probelab traces: 'PRLB'. */
export const APPLICATION_ID = 0x50524c42;

export type Db = Database.Database;

/** Every error from src/trace: a one-line message fit for the CLI's "exit 1 with a reason". */
export class TraceError extends Error {
  override name = 'TraceError';
  constructor(message: string) {
    super(oneLine(message));
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Short human reason for a Node or SQLite error. */
export function reason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    case 'ENOSPC':
    case 'SQLITE_FULL':
      return 'no space left on device';
  }
  return oneLine(typeof e.message === 'string' ? e.message : String(err));
}

function candidates(rel: string[]): string[] {
  // src/trace/db.ts -> <repo>/schemas; dist/src/trace/db.js -> dist/schemas (copied by the build)
  // or <repo>/schemas when only tsc ran.
  return rel.map((r) => fileURLToPath(new URL(r, import.meta.url)));
}

let schemaCache: { create: string; indexes: string } | undefined;

/** schemas/trace.sql split at its '-- @indexes' line into the creation and the index parts. */
export function schemaSql(): { create: string; indexes: string } {
  if (schemaCache) return schemaCache;
  for (const p of candidates(['../../schemas/trace.sql', '../../../schemas/trace.sql'])) {
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    const at = text.indexOf('\n-- @indexes');
    if (at < 0) throw new TraceError(`${p} lacks the '-- @indexes' marker`);
    schemaCache = { create: text.slice(0, at + 1), indexes: text.slice(at + 1) };
    return schemaCache;
  }
  throw new TraceError('schemas/trace.sql not found next to the probelab installation');
}

let createdByCache: string | undefined;

/** 'probelab <version>' from package.json, or 'probelab' if it cannot be found. */
export function defaultCreatedBy(): string {
  if (createdByCache !== undefined) return createdByCache;
  createdByCache = 'probelab';
  for (const p of candidates(['../../package.json', '../../../package.json'])) {
    try {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'probelab' && typeof pkg.version === 'string') {
        createdByCache = `probelab ${pkg.version}`;
        break;
      }
    } catch {
      // try the next candidate
    }
  }
  return createdByCache;
}

const SIDE_FILES = ['-wal', '-shm', '-journal'];

function unlinkIfPresent(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
  }
}

/**
 * Pragmas of a connection that writes: WAL without fsync (a killed process loses no commit, since
 * commits are in the OS page cache, but a power loss before the OS writes the file out may damage
 * it; fsyncs cost the recorder 15% of its throughput while recording and a syncing close costs
 * 0.2 s on a 200 MB trace, and a trace can be recorded again from the same inputs); checkpoints
 * every 8192 pages (32 MiB) rather than 1000 (cheaper for bulk appends), a 32 MiB page cache.
 */
function configureWriter(db: Db): void {
  // synchronous first: switching to WAL with the default FULL costs fsyncs (~20 ms here).
  db.pragma('synchronous = OFF');
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 8192');
  db.pragma('cache_size = -32768');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
}

export interface CreateOptions {
  /** Replace an existing file (the CLI's --force). */
  force?: boolean;
  /** meta.created_by; defaults to 'probelab <version>'. */
  createdBy?: string;
}

/**
 * Creates a new trace file with the current schema and returns a writable connection (WAL,
 * synchronous=NORMAL). Refuses an existing path unless `force`.
 */
export function createTrace(path: string, opts: CreateOptions = {}): Db {
  createTraceFile(path, opts);
  return initTrace(path, opts);
}

/**
 * createTrace's file-system part: refuses an existing path unless `force` (then removes it and
 * its side files) and creates the empty file. Cheap, so a worker-backed writer runs it in the
 * caller's thread and reports these errors at once.
 */
export function createTraceFile(path: string, opts: CreateOptions = {}): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new TraceError(`cannot create ${path}: is a directory`);
  if (st && !opts.force) throw new TraceError(`${path} exists; use --force to overwrite`);
  let fd: number;
  try {
    if (st) unlinkIfPresent(path);
    // The main file is absent now: any side file left next to it belongs to a dead database and
    // would be replayed into the new one.
    for (const s of SIDE_FILES) unlinkIfPresent(path + s);
    fd = fs.openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST')
      throw new TraceError(`${path} exists; use --force to overwrite`);
    throw new TraceError(`cannot create ${path}: ${reason(err)}`);
  }
  fs.closeSync(fd);
}

/** createTrace's SQLite part, on the empty file createTraceFile made: the schema and meta. */
export function initTrace(path: string, opts: CreateOptions = {}): Db {
  const { create } = schemaSql();
  let db: Db | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    configureWriter(db);
    const init = db.transaction(() => {
      db!.exec(create);
      db!
        .prepare("INSERT INTO meta (key, value) VALUES ('created_by', ?)")
        .run(opts.createdBy ?? defaultCreatedBy());
    });
    init();
    const v = readFormatVersion(db, path);
    if (v !== FORMAT_VERSION)
      throw new TraceError(`schemas/trace.sql declares format ${v}, this build is format ${FORMAT_VERSION}`);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof TraceError) throw err;
    throw new TraceError(`cannot create ${path}: ${reason(err)}`);
  }
}

function notATrace(path: string): TraceError {
  return new TraceError(`${path} is not a probelab trace file`);
}

/** meta.format_version, or a TraceError when the file is not a probelab trace. */
export function readFormatVersion(db: Db, path: string): number {
  let row: { value: unknown } | undefined;
  try {
    const hasMeta = db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'")
      .pluck()
      .get();
    if (hasMeta === undefined) throw notATrace(path);
    row = db.prepare("SELECT value FROM meta WHERE key = 'format_version'").get() as
      { value: unknown } | undefined;
  } catch (err) {
    if (err instanceof TraceError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_ERROR')
      throw notATrace(path);
    throw new TraceError(`cannot read ${path}: ${reason(err)}`);
  }
  const v = row?.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1) throw notATrace(path);
  return n;
}

/** The version gate: a one-line error for any format this build does not read. */
export function checkFormatVersion(path: string, version: number): void {
  if (version > FORMAT_VERSION)
    throw new TraceError(
      `${path} was written by a newer probelab (format ${version}, this build reads ${FORMAT_VERSION}): upgrade probelab`,
    );
  if (version < FORMAT_VERSION)
    throw new TraceError(
      `${path} was written by an older probelab (format ${version}, this build reads ${FORMAT_VERSION}): run probe-migrate on it or re-record it`,
    );
}

export interface OpenOptions {
  /** true: SQLITE_OPEN_READONLY + PRAGMA query_only (no statement can write). */
  readonly: boolean;
  /**
   * Skip the version equality check (still requires a probelab trace). Only for migrate.ts, which
   * must open older files to upgrade them.
   */
  anyVersion?: boolean;
}

/**
 * Opens an existing trace file after the version gate. Writable opens switch the file to WAL with
 * synchronous=NORMAL (after the gate, so a foreign file is never touched).
 */
export function openTrace(path: string, opts: OpenOptions): Db {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (err) {
    throw new TraceError(`cannot open ${path}: ${reason(err)}`);
  }
  if (st.isDirectory()) throw new TraceError(`cannot open ${path}: is a directory`);
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly, fileMustExist: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB') throw notATrace(path);
    throw new TraceError(`cannot open ${path}: ${reason(err)}`);
  }
  try {
    if (opts.readonly) db.pragma('query_only = 1');
    db.pragma('busy_timeout = 5000');
    const v = readFormatVersion(db, path);
    if (!opts.anyVersion) checkFormatVersion(path, v);
    if (!opts.readonly) configureWriter(db);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TraceError) throw err;
    throw new TraceError(`cannot open ${path}: ${reason(err)}`);
  }
}

/** PRAGMA integrity_check as one string: 'ok' or the problems joined with '; '. */
export function integrityCheck(db: Db): string {
  const rows = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
  return rows.join('; ');
}

/**
 * Closes a writable connection leaving ONE self-contained file: checkpoints the WAL into the
 * database and switches it back to the rollback journal so no -wal/-shm files remain and
 * read-only opens need no side files. If another connection holds the file, it stays in WAL mode
 * (still correct, just not a single file until the last writer closes).
 */
export function closeWritable(db: Db): void {
  if (!db.open) return;
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('journal_mode = DELETE');
  } catch {
    // busy: leave WAL mode; SQLite keeps the file consistent either way
  }
  db.close();
}
