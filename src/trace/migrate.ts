// Trace format migrations: the hook list that upgrades an older trace file in place.
// Guarantees: migrateTrace() applies the chain from the file's format_version to FORMAT_VERSION,
// each step in its own transaction that also bumps meta.format_version (a failed step leaves the
// file at the previous version, never half-migrated); a file that is already current is left
// untouched; a gap in the chain, or a file newer than this build, is a one-line TraceError.
// Format 1 is the first format, so MIGRATIONS is empty.

import { type Db, FORMAT_VERSION, TraceError, closeWritable, openTrace, readFormatVersion } from './db.js';

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

/** Ordered by `from`. Add one entry per FORMAT_VERSION bump. */
export const MIGRATIONS: readonly Migration[] = [];

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
