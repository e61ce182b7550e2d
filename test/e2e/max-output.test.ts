// Issue 16, limits: `probe-record --max-output` bounds the guest output stored per run. The guest's
// own writes still succeed (its stdout is what the command printed), the stored bytes are that
// output's prefix, the run is marked output_truncated, and the run still verifies on replay.

import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../badinput-inproc.js';
import { cleanupTmp, ensureBuilt, tmpDir } from './helpers.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = tmpDir('max-output');
});
afterAll(cleanupTmp);

const record = (out: string, ...more: string[]) =>
  runInProcess('probe-record', ['-w', 'hello', '-q', '-c', '1', '--stdin', '/dev/null', '-o', out, ...more]);

function stored(db: string): { truncated: number; bytes: string } {
  const d = new Database(db, { readonly: true });
  try {
    const r = d.prepare('SELECT output_truncated AS t FROM runs').get() as { t: number };
    const rows = d.prepare('SELECT data FROM output ORDER BY seq').all() as { data: Buffer }[];
    return { truncated: r.t, bytes: Buffer.concat(rows.map((x) => x.data)).toString('utf8') };
  } finally {
    d.close();
  }
}

describe('issue 16: --max-output', () => {
  it('stores a prefix of what the guest printed, marks the run, and the run verifies', async () => {
    const full = path.join(dir, 'full.db');
    const f = await record(full);
    expect(f.code).toBe(0);
    expect(f.stdout.length).toBeGreaterThan(5);
    expect(stored(full)).toEqual({ truncated: 0, bytes: f.stdout });

    const cut = path.join(dir, 'cut.db');
    const c = await record(cut, '--max-output', '5');
    expect(c.code).toBe(0);
    expect(c.stdout).toBe(f.stdout);
    expect(stored(cut)).toEqual({ truncated: 1, bytes: f.stdout.slice(0, 5) });
    const v = await runInProcess('probe-replay', [cut, '--verify']);
    expect(v.code).toBe(0);
  });

  it('a malformed size is a one-line usage error', async () => {
    const r = await record(path.join(dir, 'bad.db'), '--max-output', '5x');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('probe-record: --max-output 5x: expected a byte count such as 0, 512K or 1G\n');
  });
});
