// Issue 16, outputs: `--force` replaces only a regular file (never a device, a symlink or a
// directory), and two writers cannot both claim one output (the writer holds OUT.lock; a lock left
// by a writer killed with SIGKILL is stale and taken over). src/cli/output-claim.ts says why a lock
// and not a temporary file renamed at the end: a killed recording must leave its output in place.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, STATIC } from '../helpers/gcc.js';
import { runInProcess } from '../badinput-inproc.js';
import { cleanupTmp, ensureBuilt, startCli, tmpDir, waitFor } from './helpers.js';

let dir: string;
let spin: string;

beforeAll(() => {
  ensureBuilt();
  dir = tmpDir('force');
  spin = buildGuest(
    'int main(void) { volatile unsigned x = 0; for (;;) x++; }\n',
    [...STATIC, '-O1'],
    'force-spin',
  );
});
afterAll(cleanupTmp);

const record = (out: string, ...more: string[]) =>
  runInProcess('probe-record', ['-w', 'hello', '-q', '-c', '1', '--stdin', '/dev/null', '-o', out, ...more]);

describe('issue 16: --force replaces only a regular file', () => {
  it('-o /dev/null --force is refused and /dev/null stays a device', async () => {
    const r = await record('/dev/null', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'probe-record: /dev/null is not a regular file (a device, FIFO or socket); --force replaces only regular files\n',
    );
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    const m = await runInProcess('probe-merge', ['/dev/null', '--force', path.join(dir, 'x.db')]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/not a regular file/);
  });

  it('a symlink is refused and its target left alone; a directory is refused', async () => {
    const target = path.join(dir, 'precious.txt');
    fs.writeFileSync(target, 'keep me\n');
    const link = path.join(dir, 'link.db');
    fs.symlinkSync(target, link);
    const r = await record(link, '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/link\.db is not a regular file \(a symlink\)/);
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me\n');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    const d = path.join(dir, 'adir');
    fs.mkdirSync(d);
    expect((await record(d, '--force')).stderr).toMatch(/is not a regular file \(a directory\)/);
  });

  it('a regular file is replaced by a new trace, and no lock is left behind', async () => {
    const out = path.join(dir, 'old.db');
    fs.writeFileSync(out, 'not a trace');
    const r = await record(out, '--force');
    expect(r.code, r.stderr).toBe(0);
    expect((await runInProcess('probe-query', [out, 'SELECT status FROM runs'])).stdout).toMatch(/complete/);
    expect(fs.existsSync(`${out}.lock`)).toBe(false);
  });
});

describe('issue 16: two writers cannot claim one output', () => {
  it('a second recorder is refused while the first writes; after a SIGKILL its stale lock is taken over', async () => {
    const out = path.join(dir, 'shared.db');
    const first = startCli('probe-record', [spin, '-q', '-c', '1', '-o', out, '-p', 'p:main main']);
    // Ready when the lock exists (taken before the output is created).
    await waitFor(
      'the first recorder holds the lock',
      () => (fs.existsSync(`${out}.lock`) ? true : undefined),
      {
        dirs: () => [dir],
        child: first.child,
      },
    );
    const second = await record(out, '--force');
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `probe-record: ${out} is being written by another process (pid ${first.child.pid}, lock ${out}.lock)\n`,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(fs.existsSync(`${out}.lock`), 'a killed writer leaves its lock').toBe(true);
    const third = await record(out, '--force');
    expect(third.code, third.stderr).toBe(0);
    expect(fs.existsSync(`${out}.lock`)).toBe(false);
    expect((await runInProcess('probe-query', [out, 'SELECT workload, status FROM runs'])).stdout).toMatch(
      /hello\s+complete/,
    );
  });
});
