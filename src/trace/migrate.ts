// Trace format migrations: the hook list that upgrades an older trace file in place.
// Guarantees: migrateTrace() applies the chain from the file's format_version to FORMAT_VERSION,
// each step in its own transaction that also bumps meta.format_version (a failed step leaves the
// file at the previous version, never half-migrated); a file that is already current is left
// untouched; a gap in the chain, or a file newer than this build, is a one-line TraceError.
// Format 2 (this build) packs raw_events' kind/cpu/tid/probe_id into `info` and keys raw_events and
// raw_calls as WITHOUT ROWID tables (see schemas/trace.sql); 1 -> 2 rewrites those two tables.

import {
  type Db,
  FORMAT_VERSION,
  TraceError,
  closeWritable,
  openTrace,
  readFormatVersion,
  schemaSql,
} from './db.js';

export interface Migration {
  /** Format the step reads. */
  from: number;
  /** Format it produces (from + 1). */
  to: number;
  /** One line for the log. */
  description: string;
  /** Rewrites tables and views; runs inside a transaction; must not touch meta.format_version. */
  up(db: Db): void;
}

/** A CREATE VIEW statement of the current schema, by view name. */
function currentView(name: string): string {
  const { create } = schemaSql();
  const at = create.indexOf(`CREATE VIEW ${name} AS`);
  if (at < 0) throw new TraceError(`schemas/trace.sql has no view ${name}`);
  return create.slice(at, create.indexOf(';', at) + 1);
}

/** The CREATE TABLE statement of the current schema, by table name. */
function currentTable(name: string): string {
  const { create } = schemaSql();
  const at = create.indexOf(`CREATE TABLE ${name} (`);
  if (at < 0) throw new TraceError(`schemas/trace.sql has no table ${name}`);
  return create.slice(at, create.indexOf(';', at) + 1);
}

/** Ordered by `from`. Add one entry per FORMAT_VERSION bump. */
export const MIGRATIONS: readonly Migration[] = [
  {
    from: 1,
    to: 2,
    description: 'format 1 -> 2: raw_events and raw_calls packed into keyed tables',
    up(db) {
      db.exec('DROP VIEW events; DROP VIEW calls;');
      db.exec(
        'ALTER TABLE raw_events RENAME TO raw_events_v1; ALTER TABLE raw_calls RENAME TO raw_calls_v1;',
      );
      db.exec('DROP INDEX IF EXISTS raw_events_run_seq; DROP INDEX IF EXISTS raw_calls_run_probe;');
      const wide = db
        .prepare(
          'SELECT (SELECT count(*) FROM raw_events_v1 WHERE cpu NOT BETWEEN 0 AND 127 OR tid NOT BETWEEN 0 AND 4194303) + (SELECT count(*) FROM raw_calls_v1 WHERE entry_cpu NOT BETWEEN 0 AND 127 OR return_cpu NOT BETWEEN 0 AND 127 OR depth < 0)',
        )
        .pluck()
        .get() as number;
      if (wide > 0)
        throw new TraceError(`${wide} events or calls have a cpu, tid or depth that format 2 cannot store`);
      db.exec(currentTable('raw_events'));
      db.exec(currentTable('raw_calls'));
      db.exec(
        `INSERT INTO raw_events (run_id, seq, ts, info, addr, args)
         SELECT run_id, seq, ts, kind + (cpu << 4) + (tid << 11) + (coalesce(probe_id + 1, 0) << 33), addr, args
         FROM raw_events_v1 ORDER BY run_id, seq`,
      );
      // Format 1 allowed calls without return_seq (none recorded by probelab): number them below 0.
      db.exec(
        `INSERT INTO raw_calls (run_id, probe_id, tid, ts, dur, info, retval, args, entry_seq, return_seq)
         SELECT run_id, probe_id, tid, ts, dur, entry_cpu + (return_cpu << 7) + (depth << 14), retval, args,
                entry_seq, coalesce(return_seq, -rowid)
         FROM raw_calls_v1 ORDER BY run_id, coalesce(return_seq, -rowid)`,
      );
      db.exec('DROP TABLE raw_events_v1; DROP TABLE raw_calls_v1;');
      for (const v of ['event_rows', 'call_rows', 'events', 'calls']) db.exec(currentView(v));
    },
  },
];

/** The steps from `from` to `to`, or undefined if the chain has a gap. */
export function migrationPath(
  from: number,
  to: number = FORMAT_VERSION,
  list: readonly Migration[] = MIGRATIONS,
): Migration[] | undefined {
  const steps: Migration[] = [];
  let v = from;
  while (v < to) {
    const step = list.find((m) => m.from === v);
    if (!step || step.to !== v + 1) return undefined;
    steps.push(step);
    v = step.to;
  }
  return steps;
}

/**
 * Upgrades `path` in place to FORMAT_VERSION. Returns the descriptions of the applied steps
 * (empty when the file was current).
 */
export function migrateTrace(path: string, list: readonly Migration[] = MIGRATIONS): string[] {
  // Decide on a read-only connection, so a current (or refused) file is not touched at all.
  const ro = openTrace(path, { readonly: true, anyVersion: true });
  let from: number;
  try {
    from = readFormatVersion(ro, path);
  } finally {
    ro.close();
  }
  if (from > FORMAT_VERSION)
    throw new TraceError(
      `${path} was written by a newer probelab (format ${from}, this build reads ${FORMAT_VERSION}): upgrade probelab`,
    );
  if (from === FORMAT_VERSION) return [];
  const steps = migrationPath(from, FORMAT_VERSION, list);
  if (!steps)
    throw new TraceError(
      `no migration from format ${from} to ${FORMAT_VERSION} for ${path}: re-record it with this probelab`,
    );
  const db = openTrace(path, { readonly: false, anyVersion: true });
  try {
    if (readFormatVersion(db, path) !== from) throw new TraceError(`${path} changed while migrating it`);
    const done: string[] = [];
    for (const step of steps) {
      db.transaction(() => {
        step.up(db);
        db.prepare("UPDATE meta SET value = ? WHERE key = 'format_version'").run(step.to);
        db.pragma(`user_version = ${step.to}`);
      })();
      done.push(step.description);
    }
    return done;
  } finally {
    closeWritable(db);
  }
}
