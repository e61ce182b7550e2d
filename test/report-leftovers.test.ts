// Issue 14 leftovers: `probe-report --json --syscalls` carries each run's system-call table (checked
// against the JSON schema and against an independent SQL sum over the public `syscalls` view), and
// `probe-replay -p` gives the same "did you mean" as probe-record for a symbol the binary lacks.

import { readFileSync } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from './badinput-inproc.js';

let dir: string;
let trace: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-leftovers-'));
  trace = path.join(dir, 'server.db');
  const r = await runInProcess('probe-record', [
    '-q',
    '-c',
    '2',
    '-o',
    trace,
    '--stdin',
    '/dev/null',
    '--',
    '4',
    '8',
    '1',
    '50',
  ]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('issue 14 leftovers', () => {
  it('--json --syscalls: the schema accepts it and the rows are the syscalls view summed per number', async () => {
    const r = await runInProcess('probe-report', [trace, '--json', '--syscalls']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      syscalls: {
        run_id: number;
        rows: { nr: number; name: string; calls: number; errors: number; enosys: number }[];
      }[];
    };
    const schema = JSON.parse(
      readFileSync(new URL('../schemas/report.schema.json', import.meta.url), 'utf8'),
    ) as object;
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(json.syscalls.map((s) => s.run_id)).toEqual([1]);
    const q = await runInProcess('probe-query', [
      trace,
      'SELECT nr, sum(calls) AS calls, sum(errors) AS errors, sum(enosys) AS enosys FROM syscalls GROUP BY nr',
      '--format',
      'json',
    ]);
    const want = (
      JSON.parse(q.stdout) as { nr: number; calls: number; errors: number; enosys: number }[]
    ).sort((a, b) => a.nr - b.nr);
    expect(want.length).toBeGreaterThan(0);
    const got = json.syscalls[0]!.rows.map(({ nr, calls, errors, enosys }) => ({
      nr,
      calls,
      errors,
      enosys,
    }));
    expect(got.sort((a, b) => a.nr - b.nr)).toEqual(want);
    // without --syscalls the document keeps design.md's three keys
    const plain = JSON.parse((await runInProcess('probe-report', [trace, '--json'])).stdout) as object;
    expect(Object.keys(plain)).toEqual(['schema', 'runs', 'probes']);
  });

  it('probe-replay -p with a misspelt symbol: the Linux error, then "did you mean", exit 2', async () => {
    const r = await runInProcess('probe-replay', [trace, '-p', 'r:x handle_reqest']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BAD_PROBE_ADDR/);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe("  did you mean 'handle_request'?");
  });
});
