// Trace format migrations: the hook list that upgrades an older trace file in place.
// Guarantees: migrateTrace() applies the chain from the file's format_version to FORMAT_VERSION in
// ONE transaction that also sets meta.format_version and recreates every view of the current
// schema (steps change tables only), so a failure leaves the file exactly as it was; a file that
// is already current is left untouched; a gap in the chain, or a file newer than this build, is a
// one-line TraceError.
// Format 2 packs raw_events' kind/cpu/tid/probe_id into `info` and keys raw_events and raw_calls
// as WITHOUT ROWID tables; 1 -> 2 rewrites those two tables. Format 3 (this build) stores the run
// configuration once (raw_runs.config, a versioned RunConfig), gives tasks pid/ppid/exe, adds the
// syscall counts and the complete call sets as tables (the call_sets blob cache is dropped: it is
// recomputed on demand), stores x-typed fetch arguments as JSON numbers, and prefixes private
// views with '_'. Format 4 stores each input content once (input_data, by sha256; the inputs view
// shows the old columns), folds the events a call or a kprobe hit implies into their rows (the
// events view derives them), and adds the output limit and the legacy-task flag to raw_runs.
// Format 5 lets a call row imply its entry hit and that hit's single step too (raw_calls.step).
// Format 7 stores each missed call once: its 'missed' or 'reentry' event row (raw_missed dropped).

import { createHash } from 'node:crypto';
import {
  type Db,
  FORMAT_VERSION,
  TraceError,
  closeWritable,
  openTrace,
  readFormatVersion,
  schemaSql,
} from './db.js';
import { parseProbeSpec } from '../probes/spec.js';
import { parseRunConfig } from './config.js';

export interface Migration {
  /** Format the step reads. */
  from: number;
  /** Format it produces (from + 1). */
  to: number;
  /** One line for the log. */
  description: string;
  /**
   * Rewrites tables; runs inside the chain's transaction after every view was dropped; must not
   * touch meta.format_version or create views.
   */
  up(db: Db): void;
}

/** Every CREATE VIEW statement of the current schema, in schema order. */
function currentViews(): string[] {
  const { create } = schemaSql();
  const out: string[] = [];
  for (let at = create.indexOf('CREATE VIEW '); at >= 0; at = create.indexOf('CREATE VIEW ', at + 1))
    out.push(create.slice(at, create.indexOf(';', at) + 1));
  return out;
}

function dropViews(db: Db): void {
  const names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'view'").pluck().all() as string[];
  for (const v of names) db.exec(`DROP VIEW "${v.replace(/"/g, '""')}"`);
}

/** The CREATE TABLE statement of the current schema, by table name. */
function currentTable(name: string): string {
  const { create } = schemaSql();
  const at = create.indexOf(`CREATE TABLE ${name} (`);
  if (at < 0) throw new TraceError(`schemas/trace.sql has no table ${name}`);
  return create.slice(at, create.indexOf(';', at) + 1);
}

function addColumn(db: Db, table: string, column: string, decl: string): void {
  const cols = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
  if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl};`);
}

/** Ordered by `from`. Add one entry per FORMAT_VERSION bump. */
export const MIGRATIONS: readonly Migration[] = [
  {
    from: 1,
    to: 2,
    description: 'format 1 -> 2: raw_events and raw_calls packed into keyed tables',
    up(db) {
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
    },
  },
  {
    from: 2,
    to: 3,
    description:
      'format 2 -> 3: one stored run configuration, tasks with pid/ppid/exe, syscall and complete call tables',
    up(db) {
      db.exec('ALTER TABLE raw_runs RENAME TO raw_runs_v2;');
      db.exec(currentTable('raw_runs'));
      const runs = db
        .prepare(
          `SELECT r.run_id, r.workload, r.binary_sha256, r.status, r.exit_code, r.signal, r.instructions,
                  r.cycles, r.replay_of, r.argv, r.cpus, r.preempt, r.seed, r.chaos, r.mhz, c.config
           FROM raw_runs_v2 r LEFT JOIN run_config c USING (run_id) ORDER BY r.run_id`,
        )
        .raw(true)
        .all() as unknown[][];
      const ins = db.prepare(
        `INSERT INTO raw_runs (run_id, workload, binary_sha256, config, status, exit_code, signal,
           instructions, cycles, replay_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const r of runs) {
        // The raw_runs columns were what the runs view showed: they win over the JSON copy.
        const stored = (r[15] as string | null) ?? '{}';
        const base = JSON.parse(stored) as Record<string, unknown>;
        const config = parseRunConfig(
          JSON.stringify({
            ...base,
            argv: JSON.parse(r[9] as string) as unknown,
            cpus: r[10],
            preempt: r[11] === 1,
            seed: r[12],
            chaos: r[13] === 1,
            mhz: r[14] ?? base.mhz,
          }),
        );
        ins.run(r[0], r[1], r[2], JSON.stringify(config), r[3], r[4], r[5], r[6], r[7], r[8]);
      }
      db.exec('DROP TABLE raw_runs_v2; DROP TABLE run_config; DROP TABLE call_sets;');
      // Until format 3 a run had one process: its first task (lowest tid) running the workload.
      db.exec(
        `ALTER TABLE raw_tasks ADD COLUMN pid INTEGER;
         ALTER TABLE raw_tasks ADD COLUMN ppid INTEGER;
         ALTER TABLE raw_tasks ADD COLUMN exe TEXT;
         UPDATE raw_tasks SET
           pid = (SELECT min(t.tid) FROM raw_tasks t WHERE t.run_id = raw_tasks.run_id),
           ppid = 0,
           exe = (SELECT r.workload FROM raw_runs r WHERE r.run_id = raw_tasks.run_id);`,
      );
      db.exec(currentTable('raw_syscalls'));
      db.exec(currentTable('raw_complete_calls'));
      numericHexArgs(db);
    },
  },
  {
    from: 3,
    to: 4,
    description:
      'format 3 -> 4: input contents stored once by sha256, events implied by calls, output limit and task-id columns',
    up(db) {
      db.function('probelab_sha256', { deterministic: true }, (data: unknown) =>
        createHash('sha256')
          .update(data instanceof Uint8Array ? data : Buffer.alloc(0))
          .digest('hex'),
      );
      db.exec(currentTable('input_data'));
      db.exec(currentTable('raw_inputs'));
      db.exec(
        `INSERT OR IGNORE INTO input_data (sha256, size, data)
           SELECT probelab_sha256(data), length(data), data FROM inputs ORDER BY run_id, seq;
         INSERT INTO raw_inputs (run_id, seq, kind, key, sha256)
           SELECT run_id, seq, kind, key, probelab_sha256(data) FROM inputs ORDER BY run_id, seq;
         DROP TABLE inputs;`,
      );
      // Every event of an older run is a stored row (step NULL); calls imply none (flags 0).
      // (Earlier steps create some tables from the current schema: add only what is missing.)
      addColumn(db, 'raw_events', 'step', 'INTEGER');
      db.exec('UPDATE raw_calls SET info = (info & 16383) + ((info >> 14) << 16);');
      addColumn(db, 'raw_runs', 'output_limit', 'INTEGER');
      addColumn(
        db,
        'raw_runs',
        'output_truncated',
        'INTEGER NOT NULL DEFAULT 0 CHECK (output_truncated IN (0, 1))',
      );
      addColumn(db, 'raw_runs', 'legacy_tasks', 'INTEGER NOT NULL DEFAULT 0 CHECK (legacy_tasks IN (0, 1))');
      db.exec('UPDATE raw_runs SET legacy_tasks = 1;');
    },
  },
  {
    from: 4,
    to: 5,
    description:
      'format 4 -> 5: the entry hit of a kretprobed call (and its single step) implied by the call row',
    up(db) {
      // Every entry hit of an older run is a stored row: step NULL implies none. A stored hit's
      // step is always one event later in format 4: step & 1 = 0.
      addColumn(db, 'raw_calls', 'step', 'INTEGER');
      db.exec('UPDATE raw_events SET step = step * 2 WHERE step IS NOT NULL;');
    },
  },
  {
    from: 5,
    to: 6,
    description: "format 5 -> 6: the events view names each event's process (pid, from the tasks view)",
    up() {
      // Only the views change: the chain drops and recreates them.
    },
  },
  {
    from: 6,
    to: 7,
    description: "format 6 -> 7: each missed call stored once, as its event's row (raw_missed dropped)",
    up(db) {
      // Every raw_missed row copied a 'missed' or 'reentry' event row: the step checks that it
      // loses nothing (the same rows, counted with their repeats) before dropping the copies.
      const cols = 'run_id, probe_id, tid, cpu, ts, reason';
      const derived = `SELECT run_id, (info >> 33) - 1 AS probe_id, (info >> 11) & 4194303 AS tid,
                              (info >> 4) & 127 AS cpu, ts, (info & 15) - 5 AS reason
                       FROM raw_events WHERE info & 15 IN (5, 6) AND info >> 33 > 0`;
      const counted = (rows: string) => `SELECT ${cols}, count(*) FROM (${rows}) GROUP BY ${cols}`;
      const a = counted(`SELECT ${cols} FROM raw_missed`);
      const b = counted(derived);
      const differ = db
        .prepare(`SELECT EXISTS (${a} EXCEPT ${b}) OR EXISTS (${b} EXCEPT ${a})`)
        .pluck()
        .get() as number;
      if (differ !== 0)
        throw new TraceError("raw_missed holds rows that are not the trace's missed and reentry events");
      db.exec('DROP TABLE raw_missed;');
      const { create } = schemaSql();
      const at = create.indexOf('CREATE INDEX raw_events_missed ');
      db.exec(create.slice(at, create.indexOf(';', at) + 1));
    },
  },
];

/**
 * Format 3 stores the values of `x`-typed fetch arguments as JSON numbers (like u types; the hex
 * display is applied when printing): rewrites the args JSON of events and calls whose probe
 * declares such arguments. Converted texts are interned under new ids (a text may be shared by
 * probes of other types). The declared types come from each probe's stored spec.
 */
function numericHexArgs(db: Db): void {
  // Only the argument list of a spec is needed: any symbol resolves, every address is a boundary.
  const lenient = { lookupSymbol: (): number => 0x1000, isInsnBoundary: (): boolean => true };
  const hexArgs = new Map<string, Set<string>>(); // `${run}:${probe}` -> names of x-typed arguments
  for (const p of db.prepare('SELECT run_id, probe_id, spec FROM raw_probes').all() as {
    run_id: number;
    probe_id: number;
    spec: string;
  }[]) {
    const r = parseProbeSpec(p.spec, lenient);
    if (!r.ok) continue;
    const names = r.spec.args.filter((a) => a.type.charAt(0) === 'x').map((a) => a.name);
    if (names.length) hexArgs.set(`${p.run_id}:${p.probe_id}`, new Set(names));
  }
  if (hexArgs.size === 0) return;
  const text = db.prepare('SELECT s FROM strings WHERE id = ?').pluck();
  const insert = db.prepare('INSERT INTO strings (id, s) VALUES (?, ?)');
  let nextId = Number(db.prepare('SELECT coalesce(max(id), 0) FROM strings').pluck().get()) + 1;
  const interned = new Map<string, number>();
  const convert = (argsId: number, names: Set<string>): number => {
    const o = JSON.parse(text.get(argsId) as string) as Record<string, unknown>;
    let changed = false;
    for (const n of names) {
      const v = o[n];
      if (typeof v !== 'string' || !/^0x[0-9a-f]+$/.test(v)) continue;
      const b = BigInt(v);
      o[n] = b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
      changed = true;
    }
    if (!changed) return argsId;
    const t = JSON.stringify(o);
    let id = interned.get(t);
    if (id === undefined) {
      id = nextId++;
      insert.run(id, t);
      interned.set(t, id);
    }
    return id;
  };
  const rewrite = (select: string, update: string): void => {
    const upd = db.prepare(update);
    const rows = db.prepare(select).raw(true).all() as [number, number, number, number][];
    for (const [run, probe, args, key] of rows) {
      const names = hexArgs.get(`${run}:${probe}`);
      if (!names) continue;
      const id = convert(args, names);
      if (id !== args) upd.run(id, run, key);
    }
  };
  rewrite(
    `SELECT run_id, nullif(info >> 33, 0) - 1, args, seq FROM raw_events
     WHERE args IS NOT NULL AND info >> 33 > 0`,
    'UPDATE raw_events SET args = ? WHERE run_id = ? AND seq = ?',
  );
  rewrite(
    'SELECT run_id, probe_id, args, return_seq FROM raw_calls WHERE args IS NOT NULL',
    'UPDATE raw_calls SET args = ? WHERE run_id = ? AND return_seq = ?',
  );
}

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
    try {
      db.transaction(() => {
        dropViews(db);
        for (const step of steps) step.up(db);
        for (const v of currentViews()) db.exec(v);
        db.prepare("UPDATE meta SET value = ? WHERE key = 'format_version'").run(FORMAT_VERSION);
        db.pragma(`user_version = ${FORMAT_VERSION}`);
      })();
    } catch (err) {
      if (err instanceof TraceError) throw new TraceError(`migrating ${path} failed: ${err.message}`);
      throw new TraceError(`migrating ${path} failed: ${String((err as Error).message ?? err)}`);
    }
    return steps.map((s) => s.description);
  } finally {
    closeWritable(db);
  }
}
