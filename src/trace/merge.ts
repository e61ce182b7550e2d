// Appends every run of another trace file to a trace database (used by `probe-record --runs N` when
// worker processes record seeds in parallel into their own files, and by probe-merge to join the
// shards of a sweep). Guarantees: run ids are renumbered after the destination's, or shifted by a
// given offset (0 keeps them; a run id already present is refused) (replay_of follows), interned strings keep their texts under shifted ids, binaries are shared
// by sha256 (so are input contents), and the whole merge is one transaction: it lands completely or not at all.

import { TraceError, reason, type Db } from './db.js';

/** Columns holding strings.id references, per table. */
const STRING_REFS: Record<string, string[]> = {
  raw_events: ['args'],
  raw_calls: ['args'],
  raw_sched: ['reason'],
};
const RUN_TABLES = [
  'raw_runs',
  'raw_probes',
  'raw_events',
  'raw_calls',
  'raw_tasks',
  'raw_sched',
  'raw_inputs',
  'output',
  'raw_syscalls',
  'raw_complete_calls',
];

/** Copy order: the primary key of WITHOUT ROWID tables (appending in key order is cheapest). */
const ORDER: Record<string, string> = {
  raw_events: 'run_id, seq',
  raw_calls: 'run_id, return_seq',
  raw_inputs: 'run_id, seq',
  raw_complete_calls: 'run_id, entry_seq',
};

function columns(db: Db, schema: string, table: string): string[] {
  return (db.prepare(`PRAGMA ${schema}.table_info(${table})`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
}

/**
 * Copies all runs of `srcPath` into `db`; returns the new run ids in source order. Without
 * `runIdOffset` they follow the destination's last run; with it, source run r becomes r + offset.
 */
export function mergeTraceInto(db: Db, srcPath: string, runIdOffset?: number): number[] {
  try {
    db.prepare('ATTACH DATABASE ? AS src').run(srcPath);
  } catch (e) {
    throw new TraceError(`cannot read ${srcPath}: ${reason(e)}`);
  }
  try {
    return db.transaction(() => {
      const base = (
        db.prepare('SELECT coalesce(max(run_id), 0) AS m FROM main.raw_runs').get() as { m: number }
      ).m;
      const min = (
        db.prepare('SELECT coalesce(min(run_id), 1) AS m FROM src.raw_runs').get() as { m: number }
      ).m;
      const offset = runIdOffset ?? base - min + 1;
      if (runIdOffset !== undefined) {
        const clash = db
          .prepare(
            'SELECT s.run_id + ? AS id FROM src.raw_runs s JOIN main.raw_runs m ON m.run_id = s.run_id + ?',
          )
          .get(offset, offset) as { id: number } | undefined;
        if (clash) throw new TraceError(`run ${clash.id} is already in the destination`);
      }
      db.exec('INSERT OR IGNORE INTO main.binaries SELECT * FROM src.binaries');
      db.exec('INSERT OR IGNORE INTO main.input_data SELECT * FROM src.input_data');
      // Strings are appended under shifted ids (texts may repeat; views resolve by id).
      const soff = (db.prepare('SELECT coalesce(max(id), 0) AS m FROM main.strings').get() as { m: number })
        .m;
      db.exec(`INSERT INTO main.strings (id, s) SELECT id + ${soff}, s FROM src.strings`);
      for (const t of RUN_TABLES) {
        const cols = columns(db, 'src', t).filter((c) => !(t === 'raw_tasks' && c === 'id'));
        const refs = STRING_REFS[t] ?? [];
        const exprs = cols.map((c) => {
          if (c === 'run_id') return `x.run_id + ${offset}`;
          if (t === 'raw_runs' && c === 'replay_of') return `x.replay_of + ${offset}`;
          if (refs.includes(c)) return `x.${c} + ${soff}`;
          return `x.${c}`;
        });
        db.exec(
          `INSERT INTO main.${t} (${cols.join(',')}) SELECT ${exprs.join(',')} FROM src.${t} x ORDER BY ${ORDER[t] ?? 'rowid'}`,
        );
      }
      return (
        db.prepare('SELECT run_id + ? AS id FROM src.raw_runs ORDER BY run_id').all(offset) as Array<{
          id: number;
        }>
      ).map((r) => r.id);
    })();
  } catch (e) {
    if (e instanceof TraceError) throw new TraceError(`merging ${srcPath}: ${e.message}`);
    throw new TraceError(`merging ${srcPath} failed: ${reason(e)}`);
  } finally {
    db.prepare('DETACH DATABASE src').run();
  }
}
