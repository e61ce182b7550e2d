// Issue 16, traces validated on open: a crafted or damaged trace given to probe-replay, probe-report
// (text and --json) or probe-merge ends with one line naming the trace file and the field (exit 1),
// never a hang, a raw JavaScript message or a stack trace; a bad complete-call cache is rebuilt, not
// fatal. Each case edits one value of a real recording (the server demo, which misses calls, so its
// report replays and caches the complete call set) with SQL, as an attacker would.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, type CommandName } from './badinput-inproc.js';

let dir: string;
let trace: string; // the server demo, with its complete call set cached by a first report
let n = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-badtrace-'));
  trace = path.join(dir, 'server.db');
  const r = await runInProcess('probe-record', ['-q', '-o', trace, '--stdin', '/dev/null']);
  expect(r.code, r.stderr).toBe(0);
  const rep = await runInProcess('probe-report', [trace, '--json']);
  expect(rep.code, rep.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of the trace with `sql` applied. */
function edited(sql: string): string {
  const p = path.join(dir, `e${++n}.db`);
  fs.copyFileSync(trace, p);
  const db = new Database(p);
  // as an attacker would: constraints are no obstacle to someone editing the file
  db.pragma('ignore_check_constraints = ON');
  db.pragma('foreign_keys = OFF');
  db.exec(sql);
  db.close();
  return p;
}

const setConfig = (field: string, json: string) =>
  `UPDATE raw_runs SET config = json_set(config, '$.${field}', json('${json}'))`;

/** Must fail with exit 1 and exactly one stderr line naming the file and matching `field`. */
async function expectOneLine(cmd: CommandName, args: string[], file: string, field: RegExp): Promise<void> {
  const r = await runInProcess(cmd, args);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(r.code, r.stderr).toBe(1);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${cmd}: `));
  expect(lines[0]).toContain(path.basename(file));
  expect(lines[0]).toMatch(field);
  // only the errors probelab means to raise: no TypeError/SyntaxError/RangeError leaking through
  expect((r.thrown as Error).name).toMatch(/^(CliError|TraceError|ReplayError)$/);
}

const CASES: [string, string, RegExp][] = [
  // the two values that made probe-replay and probe-report run until killed
  ['tick 0', setConfig('tick', '0'), /tick/],
  ['quantum 0', setConfig('quantum', '0'), /quantum/],
  ['cpus 0', setConfig('cpus', '0'), /cpus/],
  ['cpus 1000', setConfig('cpus', '1000'), /cpus/],
  ['mhz 1e308', setConfig('mhz', '1e308'), /mhz/],
  ['negative budget', setConfig('maxInstructions', '-1'), /maxInstructions/],
  ['unknown CPU model', setConfig('cpuModel', '"z80"'), /cpuModel/],
  ['argv not JSON', `UPDATE raw_runs SET config = json_set(config, '$.argv', '[not json')`, /argv/],
  ['config not JSON', `UPDATE raw_runs SET config = '{not json'`, /config: not JSON/],
  ['argv a number', setConfig('argv', '7'), /argv/],
  [
    'a truncated run without its budget',
    `UPDATE raw_runs SET status = 'truncated'`,
    /truncated.*maxInstructions nor maxRounds/,
  ],
  ['a status out of range', `UPDATE raw_runs SET status = 'weird'`, /status/],
  ['a negative instruction count', `UPDATE raw_runs SET instructions = -3`, /instructions/],
  ['a probe kind out of range', `UPDATE raw_probes SET kind = 9`, /kind/],
  ['the binary missing', `DELETE FROM binaries`, /binary/],
  [
    'a view replaced by a query that never ends',
    `DROP VIEW runs; CREATE VIEW runs AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT * FROM c`,
    /view runs/,
  ],
  [
    'duplicate JSON keys that SQL and replay read differently',
    `UPDATE raw_runs SET config = replace(config, '"cpus":4', '"cpus":4,"cpus":2')`,
    /disagree/,
  ],
];

describe('issue 16: crafted traces are refused in one line naming the file and the field', () => {
  for (const [what, sql, field] of CASES)
    it(what, async () => {
      const t = edited(sql);
      await expectOneLine('probe-replay', [t], t, field);
      await expectOneLine('probe-report', [t], t, field);
      await expectOneLine('probe-report', [t, '--json'], t, field);
      await expectOneLine('probe-merge', [path.join(dir, `m${n}.db`), t], t, field);
    });

  it('call rows analysis reads: a negative duration, a CPU the run does not have, arguments that are not JSON', async () => {
    const first = '(SELECT min(return_seq) FROM raw_calls)';
    for (const [sql, field] of [
      [`UPDATE raw_calls SET dur = -7 WHERE return_seq = ${first}`, /calls row 1: dur is -7/],
      // info packs entry_cpu in its low 7 bits; the run has 4 CPUs
      [
        `UPDATE raw_calls SET info = info | 100 WHERE return_seq = ${first}`,
        /calls row 1: entry_cpu is \d+, expected a CPU 0\.\.3/,
      ],
      [
        `UPDATE strings SET s = '{not json' WHERE id = (SELECT args FROM raw_calls WHERE return_seq = ${first})`,
        /calls row 1: args is "\{not json"/,
      ],
    ] as const) {
      const t = edited(sql);
      await expectOneLine('probe-report', [t, '--json'], t, field);
    }
  });
});

describe('issue 16: a bad complete-call cache is rebuilt, not fatal', () => {
  it('an edited, a truncated and an unparsable cache each give the report of the intact trace, and are replaced', async () => {
    const good = await runInProcess('probe-report', [trace, '--json']);
    expect(good.stderr).toBe('');
    const minSeq = '(SELECT min(entry_seq) FROM raw_complete_calls)';
    for (const sql of [
      `UPDATE raw_complete_calls SET dur = -5 WHERE entry_seq = ${minSeq}`,
      `DELETE FROM raw_complete_calls WHERE entry_seq = ${minSeq}`,
      `UPDATE raw_complete_calls SET args = '[1' WHERE entry_seq = (SELECT min(entry_seq) FROM raw_complete_calls WHERE args IS NOT NULL)`,
      `UPDATE raw_complete_calls SET probe_id = 99 WHERE entry_seq = ${minSeq}`,
    ]) {
      const t = edited(sql);
      const r = await runInProcess('probe-report', [t, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /^probe-report: run 1: the stored complete call set is not valid \(.*\): computing it again\n$/,
      );
      expect(r.stdout).toBe(good.stdout);
      // rebuilt and stored: the next report says nothing
      const again = await runInProcess('probe-report', [t, '--json']);
      expect(again.stderr).toBe('');
      expect(again.stdout).toBe(good.stdout);
    }
  });
});
