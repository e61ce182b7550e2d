-- probelab trace database, format 7.
--
-- A recording is one SQLite file. The PUBLIC CONTRACT is the set of views without a '_' prefix at
-- the end of the creation part (runs, probes, events, calls, missed, tasks, sched, syscalls,
-- complete_calls, inputs) with the columns listed there, in that order; columns may only ever be
-- added at the end. Everything else (the raw_* tables, their integer codes, the strings table, the private
-- '_' views) may change between format versions: query the public views.
--
-- This file has two parts, separated by the line '-- @indexes':
--   1. creation: executed once, in one transaction, when src/trace/db.ts creates a trace file;
--   2. indexes: executed by TraceWriter.finishRun() when a run ends (CREATE INDEX IF NOT EXISTS),
--      never before, so that recording appends to unindexed tables (the one index of part 1,
--      raw_events_missed, is partial: a stored event costs it a test, a missed call one entry).
-- src/trace is the only code that executes it.
--
-- Conventions: times ("ts", "dur", "start_ts", "end_ts") are virtual cycles; addresses are
-- unsigned 32-bit integers; tids are guest thread ids; JSON columns hold text.

-- ---------------------------------------------------------------------------------------------
-- Identification and versioning
-- ---------------------------------------------------------------------------------------------

PRAGMA application_id = 1347570754; -- 0x50524C42 'PRLB'
PRAGMA user_version = 7;            -- mirrors meta.format_version; the gate reads meta

-- key/value metadata. Keys: 'format_version' (integer; the version gate reads it),
-- 'created_by' (text, e.g. 'probelab 0.1.0').
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('format_version', 7);

-- ---------------------------------------------------------------------------------------------
-- Lookup tables for the integer codes (the views decode with CASE, these document the codes;
-- src/trace/codes.ts defines the same codes and a test keeps them in step)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE event_kinds (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
INSERT INTO event_kinds (code, name) VALUES
  (0, 'kprobe'), (1, 'singlestep'), (2, 'trampoline'), (3, 'return'), (4, 'orphan_return'),
  (5, 'missed'), (6, 'reentry'), (7, 'break'), (8, 'fault'),
  (9, 'retaddr_read'); -- K20 detector (probelab extension): guest read a hijacked return address

CREATE TABLE probe_kinds (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
INSERT INTO probe_kinds (code, name) VALUES (0, 'kprobe'), (1, 'kretprobe'), (2, 'jprobe');

CREATE TABLE miss_reasons (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
INSERT INTO miss_reasons (code, name) VALUES (0, 'no_instance'), (1, 'reentry');

-- Interned strings: event/call argument JSON and scheduling reasons are stored once and referred
-- to by id. Interning is best effort (the writer's cache is bounded), so the same text may appear
-- under two ids; compare texts, not ids.
CREATE TABLE strings (
  id INTEGER PRIMARY KEY,
  s  TEXT NOT NULL
) STRICT;

-- ---------------------------------------------------------------------------------------------
-- Runs and their inputs (everything replay needs)
-- ---------------------------------------------------------------------------------------------

-- Workload executables, deduplicated by content.
CREATE TABLE binaries (
  sha256 TEXT PRIMARY KEY,          -- lowercase hex of sha256(bytes)
  size   INTEGER NOT NULL,
  bytes  BLOB NOT NULL
) STRICT;

-- One row per run. Its configuration (src/trace/config.ts RunConfig: argv, env, cpus, preempt,
-- seed, chaos, mhz, probes, maxactive, ...) is stored once, as JSON; the runs view reads its
-- columns from there.
CREATE TABLE raw_runs (
  run_id        INTEGER PRIMARY KEY,
  workload      TEXT NOT NULL,
  binary_sha256 TEXT NOT NULL REFERENCES binaries (sha256),
  config        TEXT NOT NULL,      -- JSON object (RunConfig)
  -- 'incomplete' from the moment the run row exists until TraceWriter.finishRun(): a recording
  -- that was killed keeps it.
  status        TEXT NOT NULL DEFAULT 'incomplete'
                CHECK (status IN ('complete', 'crashed', 'truncated', 'incomplete')),
  exit_code     INTEGER,
  signal        INTEGER,
  instructions  INTEGER,
  cycles        INTEGER,
  replay_of     INTEGER,            -- run_id (in the source trace) this run replays, or NULL
  -- Guest output stored for this run is cut at output_limit bytes (NULL: no limit), and when the guest
  -- wrote more, output_truncated is 1 (the guest itself never noticed: its writes succeeded).
  output_limit     INTEGER,
  output_truncated INTEGER NOT NULL DEFAULT 0 CHECK (output_truncated IN (0, 1)),
  -- 1 for runs recorded before format 4, whose tasks' pid/ppid/exe are placeholders (the main
  -- thread's tid, 0, the workload name): replay does not compare those three fields for them.
  legacy_tasks     INTEGER NOT NULL DEFAULT 0 CHECK (legacy_tasks IN (0, 1))
) STRICT;

-- The contents of logged inputs, each distinct content stored once (a file opened 40 times, or by
-- several runs, is stored once); raw_inputs rows refer to it by sha256.
CREATE TABLE input_data (
  sha256 TEXT PRIMARY KEY,          -- lowercase hex of sha256(data)
  size   INTEGER NOT NULL,
  data   BLOB NOT NULL
) STRICT;

-- The log of nondeterministic inputs, in the order the guest consumed them (seq from 0 per run).
-- kind: 'file' (key = JSON of the guest path and what the open found), 'stdin', 'random'
-- (getrandom), ... (free text). The public view `inputs` shows the contents.
CREATE TABLE raw_inputs (
  run_id INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  kind   TEXT NOT NULL,
  key    TEXT,
  sha256 TEXT NOT NULL,             -- input_data.sha256
  PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;

-- Guest stdout/stderr as written (seq from 0 per run; ts = cycle of the write).
CREATE TABLE output (
  run_id INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  fd     INTEGER NOT NULL,
  ts     INTEGER NOT NULL,
  data   BLOB NOT NULL
) STRICT;

-- ---------------------------------------------------------------------------------------------
-- Probes and events (integer coded)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE raw_probes (
  run_id          INTEGER NOT NULL,
  probe_id        INTEGER NOT NULL,
  event           TEXT NOT NULL,    -- 'GRP/EVENT'
  kind            INTEGER NOT NULL, -- probe_kinds.code
  spec            TEXT NOT NULL,    -- the kprobe_events line that defined it
  symbol          TEXT,
  offset          INTEGER NOT NULL DEFAULT 0,
  addr            INTEGER NOT NULL,
  maxactive       INTEGER,          -- kretprobes only
  hits            INTEGER,          -- counters: NULL until the run is finished
  nmissed         INTEGER,
  nmissed_reentry INTEGER,
  PRIMARY KEY (run_id, probe_id)
) STRICT;

-- One row per probe event that no other row implies (each fact is stored once): the single step
-- that follows a kprobe hit is implied by the hit's row (column step), the trampoline hit and the
-- return event of a kretprobed call by the call's row (raw_calls.info flags), and most often its
-- entry hit and that hit's single step too (raw_calls.step); the events view derives them. Keyed
-- by (run_id, seq); the recorder appends nearly in that order (an entry hit it held back for its
-- call and then stored after all comes a little late), so the key costs next to nothing to build. kind, cpu, tid and probe_id share
-- one integer (info) because every stored column costs the recorder time per row:
--   info = kind | cpu << 4 | tid << 11 | (probe_id + 1) << 33     (probe_id + 1 = 0 means NULL)
-- (kind < 16, cpu < 128, tid < 2^22 = Linux's PID_MAX_LIMIT, probe_id < 2^20 - 1.) The events
-- view decodes it.
CREATE TABLE raw_events (
  run_id   INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  ts       INTEGER NOT NULL,
  info     INTEGER NOT NULL,        -- kind (event_kinds.code), cpu, tid, probe_id: see above
  addr     INTEGER,
  args     INTEGER,                 -- strings.id of a JSON object, or NULL
  -- Not NULL: event seq + 1 + (step & 1) is a 'singlestep' of the same cpu, tid, probe and addr,
  -- without args, at ts + (step >> 1) (it is not stored as a row, and step & 1 is set when another
  -- probe's hit on the same instruction comes between, format 5).
  step     INTEGER,
  PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;

-- One row per completed call of a return probe, keyed by its return event: the recorder appends in
-- return order, so the key costs nothing to build (analysis reads calls in this order too).
-- info = entry_cpu | return_cpu << 7 | flags << 14 | depth << 16 (the calls view decodes it);
-- flags bit 0: the 'return' event (seq return_seq, ts + dur, return_cpu, tid, probe_id, args, addr
-- = the trampoline 0xfff00000) is not stored in raw_events but implied by this row; bit 1: so is
-- the 'trampoline' hit just before it (seq return_seq - 1, same ts, cpu, tid and addr, no probe).
-- step (format 5): NULL when the call's entry hit is a row of raw_events (or there is none);
-- otherwise the entry is implied too: the 'kprobe' event (seq entry_seq, ts, entry_cpu, tid,
-- probe_id, addr = the probe's raw_probes.addr, no args), and when step >= 0 its 'singlestep'
-- (seq entry_seq + 1 + (step & 1), ts + (step >> 1), same cpu, tid, probe and addr, no args, as
-- raw_events.step); step = -1: no single step is implied. The recorder implies an entry only when its call row is written in the
-- same batch, so the row comes at most one batch (<= 2^18 calls) after the entry in return order.
CREATE TABLE raw_calls (
  run_id     INTEGER NOT NULL,
  probe_id   INTEGER NOT NULL,
  tid        INTEGER NOT NULL,
  ts         INTEGER NOT NULL,      -- entry
  dur        INTEGER NOT NULL,      -- return ts - entry ts
  info       INTEGER NOT NULL,      -- entry_cpu, return_cpu, flags, depth (instances of this
                                    -- probe the task already held, 0 = outermost): see above
  retval     INTEGER,
  args       INTEGER,               -- strings.id of a JSON object, or NULL
  entry_seq  INTEGER,               -- events.seq of the entry kprobe event
  return_seq INTEGER NOT NULL,      -- events.seq of the return event (unique within a run)
  step       INTEGER,               -- the implied entry hit and single step (format 5): see above
  PRIMARY KEY (run_id, return_seq)
) STRICT, WITHOUT ROWID;

-- A missed call is its 'missed' (no free instance) or 'reentry' event's row of raw_events, stored
-- once (format 7; until format 6 a raw_missed table held a copy): the missed view reads them
-- through this partial index, which holds only those rows (covering: ts and info are in it), so a
-- run's misses are found without reading its other events. It is built with the table (not at a
-- run's end) because the recorder keeps it up to date for the cost of one test per stored event.
-- Its WHERE must stay textually identical to the views' (SQLite matches the expression).
CREATE INDEX raw_events_missed ON raw_events (run_id, seq, ts, info) WHERE info & 15 IN (5, 6);

CREATE TABLE raw_tasks (
  id         INTEGER PRIMARY KEY,   -- writer-assigned, so the end of a task updates by key
  run_id     INTEGER NOT NULL,
  tid        INTEGER NOT NULL,
  parent_tid INTEGER,
  name       TEXT NOT NULL,
  start_ts   INTEGER,
  end_ts     INTEGER,               -- NULL while running or when the run stopped first
  exit_code  INTEGER,
  pid        INTEGER,               -- thread group id
  ppid       INTEGER,               -- parent process id (0 for the first process)
  exe        TEXT                   -- executable the task runs
) STRICT;

CREATE TABLE raw_sched (
  run_id   INTEGER NOT NULL,
  ts       INTEGER NOT NULL,
  cpu      INTEGER NOT NULL,
  prev_tid INTEGER,                 -- NULL when the CPU was idle
  next_tid INTEGER,                 -- NULL when the CPU goes idle
  reason   INTEGER NOT NULL         -- strings.id of the machine's SchedReason ('start', 'block',
                                    -- 'sleep', 'yield', 'preempt', 'exit', 'wake', 'idle')
) STRICT;

-- System call counts per task and number (the emulator counts every call), written when a run ends.
CREATE TABLE raw_syscalls (
  run_id INTEGER NOT NULL,
  tid    INTEGER NOT NULL,          -- 0: not attributed to a task
  nr     INTEGER NOT NULL,
  name   TEXT,                      -- Linux name, NULL when unknown
  calls  INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  enosys INTEGER NOT NULL
) STRICT;

-- The complete call set of a run's kretprobes (every call, from a replay with unbounded pools),
-- written by probe-report's cache and `probe-replay --complete` (src/replay/complete.ts). A call
-- whose task ended inside it has dur and return_seq NULL and release_seq = the last event before
-- its instance was recycled (NULL if never).
CREATE TABLE raw_complete_calls (
  run_id      INTEGER NOT NULL,
  probe_id    INTEGER NOT NULL,
  tid         INTEGER NOT NULL,
  ts          INTEGER NOT NULL,
  dur         INTEGER,
  entry_cpu   INTEGER NOT NULL,
  return_cpu  INTEGER NOT NULL,
  depth       INTEGER NOT NULL,
  retval      INTEGER,
  args        TEXT,                 -- JSON object or NULL
  entry_seq   INTEGER NOT NULL,
  return_seq  INTEGER,
  release_seq INTEGER,
  hooked      INTEGER NOT NULL CHECK (hooked IN (0, 1)), -- the recording's own pool hooked it
  PRIMARY KEY (run_id, entry_seq)
) STRICT, WITHOUT ROWID;

-- ---------------------------------------------------------------------------------------------
-- Private views ('_' prefix, Perfetto's convention): the packed columns of raw_events and
-- raw_calls decoded (integer codes and strings ids kept). The one place that knows the packing on
-- the reading side; the public views and src/trace/reader.ts read these.
-- ---------------------------------------------------------------------------------------------

-- Every event, stored or implied (see raw_events and raw_calls): the first arm (stored rows) is in
-- seq order and is where a lookup by seq lands; the arms derived from raw_calls follow its return
-- order.
CREATE VIEW _event_rows AS
SELECT run_id, seq, ts, (info >> 4) & 127 AS cpu, (info >> 11) & 4194303 AS tid, info & 15 AS kind,
       nullif(info >> 33, 0) - 1 AS probe_id, addr, args
FROM raw_events
UNION ALL
SELECT run_id, seq + 1 + (step & 1), ts + (step >> 1), (info >> 4) & 127, (info >> 11) & 4194303, 1,
       nullif(info >> 33, 0) - 1, addr, NULL
FROM raw_events WHERE step IS NOT NULL
UNION ALL
SELECT c.run_id, c.entry_seq, c.ts, c.info & 127, c.tid, 0, c.probe_id,
       (SELECT p.addr FROM raw_probes p WHERE p.run_id = c.run_id AND p.probe_id = c.probe_id), NULL
FROM raw_calls c WHERE c.step IS NOT NULL
UNION ALL
SELECT c.run_id, c.entry_seq + 1 + (c.step & 1), c.ts + (c.step >> 1), c.info & 127, c.tid, 1,
       c.probe_id,
       (SELECT p.addr FROM raw_probes p WHERE p.run_id = c.run_id AND p.probe_id = c.probe_id), NULL
FROM raw_calls c WHERE c.step >= 0
UNION ALL
SELECT run_id, return_seq - 1, ts + dur, (info >> 7) & 127, tid, 2, NULL, 4293918720, NULL
FROM raw_calls WHERE info & 32768
UNION ALL
SELECT run_id, return_seq, ts + dur, (info >> 7) & 127, tid, 3, probe_id, 4293918720, args
FROM raw_calls WHERE info & 16384;

CREATE VIEW _call_rows AS
SELECT run_id, probe_id, tid, ts, dur, info & 127 AS entry_cpu, (info >> 7) & 127 AS return_cpu,
       info >> 16 AS depth, retval, args, entry_seq, return_seq
FROM raw_calls;

-- ---------------------------------------------------------------------------------------------
-- Public views (the SQL contract). Extra columns beyond the design's list are at the end:
--   runs.mhz                cycles per microsecond of the run's virtual clock
--   runs.output_truncated   1 when the guest wrote more output than the run stored (output_limit)
--   inputs.sha256           the content's hash (each distinct content is stored once)
--   calls.end_ts, entry_seq, return_seq: the return's cycle and the events of the call
--   complete_calls.end_ts, entry_seq, return_seq as in calls; hooked: 1 when the recording's own
--                           pool hooked the call
-- ---------------------------------------------------------------------------------------------

CREATE VIEW runs AS
SELECT run_id, workload, binary_sha256, json_extract(config, '$.argv') AS argv,
       json_extract(config, '$.cpus') AS cpus, json_extract(config, '$.preempt') AS preempt,
       json_extract(config, '$.seed') AS seed, json_extract(config, '$.chaos') AS chaos, status,
       exit_code, signal, instructions, cycles, replay_of,
       json_extract(config, '$.mhz') AS mhz, output_truncated
FROM raw_runs;

CREATE VIEW probes AS
SELECT run_id, probe_id, event,
       CASE kind WHEN 0 THEN 'kprobe' WHEN 1 THEN 'kretprobe' WHEN 2 THEN 'jprobe' END AS kind,
       spec, symbol, offset, addr, maxactive, hits, nmissed, nmissed_reentry
FROM raw_probes;

CREATE VIEW events AS
SELECT e.run_id, e.seq, e.ts, e.cpu, e.tid,
       CASE e.kind
         WHEN 0 THEN 'kprobe' WHEN 1 THEN 'singlestep' WHEN 2 THEN 'trampoline'
         WHEN 3 THEN 'return' WHEN 4 THEN 'orphan_return' WHEN 5 THEN 'missed'
         WHEN 6 THEN 'reentry' WHEN 7 THEN 'break' WHEN 8 THEN 'fault' WHEN 9 THEN 'retaddr_read'
       END AS kind,
       e.probe_id, e.addr,
       (SELECT s.s FROM strings s WHERE s.id = e.args) AS args,
       -- The event's process (tgid, format 6): its task's pid in the tasks view.
       (SELECT t.pid FROM raw_tasks t WHERE t.run_id = e.run_id AND t.tid = e.tid) AS pid
FROM _event_rows e;

CREATE VIEW calls AS
SELECT c.run_id, c.probe_id, c.tid, c.ts, c.dur, c.entry_cpu, c.return_cpu, c.depth, c.retval,
       (SELECT s.s FROM strings s WHERE s.id = c.args) AS args,
       c.ts + c.dur AS end_ts, c.entry_seq, c.return_seq
FROM _call_rows c;

-- (a 'missed' or 'reentry' event without a probe is not a missed call: the recorder never made one)
CREATE VIEW missed AS
SELECT run_id, (info >> 33) - 1 AS probe_id, (info >> 11) & 4194303 AS tid, (info >> 4) & 127 AS cpu, ts,
       CASE info & 15 WHEN 5 THEN 'no_instance' WHEN 6 THEN 'reentry' END AS reason
FROM raw_events
WHERE info & 15 IN (5, 6) AND info >> 33 > 0;

CREATE VIEW tasks AS
SELECT run_id, tid, pid, ppid, parent_tid, name, exe, start_ts, end_ts, exit_code
FROM raw_tasks;

CREATE VIEW sched AS
SELECT x.run_id, x.ts, x.cpu, x.prev_tid, x.next_tid,
       (SELECT s.s FROM strings s WHERE s.id = x.reason) AS reason
FROM raw_sched x;

CREATE VIEW syscalls AS
SELECT run_id, tid, nr, name, calls, errors, enosys
FROM raw_syscalls;

-- The logged inputs with their contents (the columns of the inputs table of formats 1 to 3).
CREATE VIEW inputs AS
SELECT i.run_id, i.seq, i.kind, i.key, d.data, i.sha256
FROM raw_inputs i JOIN input_data d ON d.sha256 = i.sha256;

-- The complete call set: the stored one of runs that have it, and the recorded calls of runs
-- that missed nothing (there the recording's calls are every call). Empty for a run that missed
-- calls until probe-report or `probe-replay --complete` has computed it.
CREATE VIEW complete_calls AS
SELECT run_id, probe_id, tid, ts, dur, entry_cpu, return_cpu, depth, retval, args,
       ts + dur AS end_ts, entry_seq, return_seq, hooked
FROM raw_complete_calls
UNION ALL
SELECT c.run_id, c.probe_id, c.tid, c.ts, c.dur, c.entry_cpu, c.return_cpu, c.depth, c.retval,
       c.args, c.end_ts, c.entry_seq, c.return_seq, 1 AS hooked
FROM calls c
WHERE NOT EXISTS (SELECT 1 FROM raw_complete_calls x WHERE x.run_id = c.run_id)
  -- (not correlated: the runs with a miss are read once, from raw_events_missed)
  AND c.run_id NOT IN (SELECT m.run_id FROM raw_events m WHERE m.info & 15 IN (5, 6) AND m.info >> 33 > 0);

-- @indexes
-- Built by TraceWriter.finishRun() (not at creation: recording appends to unindexed tables).
CREATE INDEX IF NOT EXISTS raw_tasks_run_tid ON raw_tasks (run_id, tid);
CREATE INDEX IF NOT EXISTS raw_sched_run_ts ON raw_sched (run_id, ts);
CREATE INDEX IF NOT EXISTS output_run_seq ON output (run_id, seq);
CREATE INDEX IF NOT EXISTS raw_syscalls_run ON raw_syscalls (run_id, tid, nr);
