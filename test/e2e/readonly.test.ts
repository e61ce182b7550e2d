// probe-query is read-only: every statement that could change the trace (or anything else on disk)
// fails with a one-line error and exit status 1, and the file's bytes (sha256) and its directory are
// exactly as before. Reads, including row-returning pragmas, keep working.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, cli, ensureBuilt, expectCleanError, ok, query, sha256File, tmpDir } from './helpers.js';

let dir: string;
let trace: string;
let sha: string;
let listing: string[];

beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('readonly');
  trace = path.join(dir, 'trace.db');
  await ok('probe-record', ['-w', 'hello', '-o', trace, '-q', '-c', '1']);
  sha = sha256File(trace);
  listing = fs.readdirSync(dir).sort();
});
afterAll(cleanupTmp);

const WRITES = [
  "INSERT INTO meta VALUES ('x', 1)",
  "INSERT INTO meta VALUES ('x', 1) RETURNING key",
  "UPDATE meta SET value = 99 WHERE key = 'format_version'",
  'DELETE FROM events',
  'WITH x AS (SELECT 1) DELETE FROM meta',
  'DROP TABLE meta',
  'DROP VIEW events',
  'CREATE TEMP TABLE t (x)',
  "ATTACH DATABASE 'attached.db' AS a",
  'PRAGMA writable_schema=1',
  '  pragma WRITABLE_SCHEMA = ON',
  'PRAGMA journal_mode = DELETE',
  'PRAGMA user_version = 7',
  "VACUUM INTO 'copy.db'",
  'SELECT 1; DELETE FROM meta',
];

describe.concurrent('probe-query cannot modify the trace', () => {
  for (const sql of WRITES) {
    it(`refuses: ${sql}`, async () => {
      const r = await cli('probe-query', [trace, sql, '--format', 'json'], { cwd: dir });
      expectCleanError(r, 'probe-query', 1, /./);
      expect(r.stdout).toBe('');
      expect(sha256File(trace), 'trace bytes changed').toBe(sha);
      expect(fs.readdirSync(dir).sort(), 'files appeared or vanished next to the trace').toEqual(listing);
    });
  }
});

describe('after all of that', () => {
  it('still answers reads, including row-returning pragmas, and the file is unchanged after all of it', async () => {
    expect(await query(trace, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(await query(trace, 'SELECT * FROM pragma_writable_schema')).toEqual([{ writable_schema: 0 }]);
    expect(await query(trace, 'SELECT status, exit_code FROM runs')).toEqual([
      { status: 'complete', exit_code: 0 },
    ]);
    expect(await query(trace, "SELECT count(*) AS n FROM meta WHERE key = 'x'")).toEqual([{ n: 0 }]);
    expect(sha256File(trace)).toBe(sha);
    expect(fs.readdirSync(dir).sort()).toEqual(listing);
  });
});
