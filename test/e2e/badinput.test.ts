// Bad input through the real command line: each case must end with one clear line on stderr
// ("<command>: <reason>", no JavaScript stack trace), exit status 1 for a failure and 2 for bad usage,
// and must not leave a half-made output file behind. Probe-spec errors follow Linux's
// trace_kprobe format: the error name, then "  Command: SPEC" and a caret under the offending character.
// Also: a guest that crashes is not a tool failure: the recording is complete, status 'crashed',
// signal 11, and probe-record exits with 128 + 11 like the program would.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest } from '../helpers/gcc.js';
import {
  cleanupTmp,
  cli,
  ensureBuilt,
  expectCleanError,
  ok,
  query,
  sha256File,
  show,
  tmpDir,
  REPO_ROOT,
  WORKLOADS_DIR,
} from './helpers.js';

let dir: string;
/** A recorded hello trace to copy and damage. */
let helloTrace: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('badinput');
  helloTrace = path.join(dir, 'hello.db');
  await ok('probe-record', ['-w', 'hello', '-o', helloTrace, '-q', '-c', '1']);
});
afterAll(cleanupTmp);

const MAIN_C = 'int main(void) { return 0; }\n';
const CRASH_C = `#include <stdio.h>
int main(void) {
  puts("about to dereference NULL");
  fflush(stdout);
  volatile int *p = 0;
  return *p;
}
`;

/** probe-record ELF -o OUT: must fail cleanly with `message` and create no output file. */
async function recordFails(elf: string, message: RegExp, code: 1 | 2 = 1): Promise<void> {
  const out = path.join(dir, `${path.basename(elf)}-out.db`);
  const r = await cli('probe-record', [elf, '-o', out, '-q']);
  expectCleanError(r, 'probe-record', code, message);
  expect(fs.existsSync(out), 'no output file for a binary that cannot run').toBe(false);
}

describe('probe-record: binaries it cannot run', () => {
  it('a static i386 program given as the ELF argument is recorded (README: probe-record [ELF] [-- ARGS...])', async () => {
    // Control case for the failures below: the positional ELF argument itself works.
    const elf = buildGuest(MAIN_C, ['-m32', '-static'], 'e2e-static-main');
    const out = path.join(dir, 'static-main.db');
    const r = await cli('probe-record', [elf, '-o', out, '-q', '--', 'x', 'y']);
    expect(r.code, show(r)).toBe(0);
    expect(await query(out, 'SELECT workload, argv, status, exit_code FROM runs')).toEqual([
      {
        workload: path.basename(elf),
        argv: JSON.stringify([elf, 'x', 'y']),
        status: 'complete',
        exit_code: 0,
      },
    ]);
  });

  it('a text file', async () => {
    const txt = path.join(dir, 'notes.txt');
    fs.writeFileSync(txt, 'this is not a program\n');
    await recordFails(txt, /not an ELF/i);
  });

  it('a truncated ELF', async () => {
    const elf = path.join(dir, 'truncated');
    fs.writeFileSync(elf, fs.readFileSync(path.join(WORKLOADS_DIR, 'bin', 'hello')).subarray(0, 300));
    await recordFails(elf, /truncated/i);
  });

  it('an x86-64 ELF', async () => {
    await recordFails(buildGuest(MAIN_C, ['-m64'], 'e2e-x86_64-main'), /64-bit|x86-64/);
  });

  it('a dynamically linked i386 ELF: only static binaries are supported', async () => {
    await recordFails(buildGuest(MAIN_C, ['-m32'], 'e2e-dynamic-main'), /only static binaries are supported/);
  });

  it('a missing ELF', async () => {
    await recordFails(path.join(dir, 'no-such-program'), /no such file/);
  });
});

describe('probe-record: bad probe specs (Linux error names with a caret)', () => {
  const cases: Array<{ spec: string; error: string; at: number }> = [
    { spec: 'r1000000:foo walk', error: 'MAXACT_TOO_BIG', at: 1 },
    { spec: 'p:x nosuchsym', error: 'BAD_PROBE_ADDR', at: 4 },
    // walk starts with `push %ebp` (1 byte) then `mov %esp,%ebp` (2 bytes): walk+1 IS an instruction
    // boundary in bin/recursive, walk+2 is inside the mov.
    { spec: 'p walk+2', error: 'BAD_INSN_BNDRY', at: 2 },
    { spec: 'r walk+4', error: 'BAD_RETPROBE', at: 2 },
    { spec: 'p:x walk foo=%zz', error: 'BAD_REG_NAME', at: 13 },
  ];
  for (const c of cases) {
    it(`${c.spec} → ${c.error}`, async () => {
      const out = path.join(dir, `spec-${c.error}.db`);
      const r = await cli('probe-record', ['-w', 'recursive', '-o', out, '-q', '-p', c.spec]);
      const lines = expectCleanError(r, 'probe-record', 2, new RegExp(`\\b${c.error}\\b`), 2);
      const cmd = /^(\s*Command: )(.*)$/.exec(lines[1]!);
      expect(cmd, `Command line:\n${r.stderr}`).not.toBeNull();
      expect(cmd![2]).toBe(c.spec);
      expect(lines[2]!.trimEnd()).toMatch(/^ *\^$/);
      expect(lines[2]!.indexOf('^') - cmd![1]!.length, `caret position under "${c.spec}"`).toBe(c.at);
    });
  }

  it('a rejected probe spec leaves no output file behind', async () => {
    const out = path.join(dir, 'rejected-spec.db');
    const r = await cli('probe-record', ['-w', 'recursive', '-o', out, '-q', '-p', 'p:x nosuchsym']);
    expect(r.code, show(r)).toBe(2);
    expect(fs.existsSync(out), `${out} was created by a run that never started`).toBe(false);
    // ... so fixing the typo and running again just works, without --force.
    const again = await cli('probe-record', ['-w', 'recursive', '-o', out, '-q', '-p', 'r:walk walk']);
    expect(again.code, show(again)).toBe(0);
  });

  it('a rejected probe spec with --force does not destroy the existing trace', async () => {
    const out = path.join(dir, 'keep-me.db');
    fs.copyFileSync(helloTrace, out);
    const before = sha256File(out);
    const r = await cli('probe-record', ['-w', 'recursive', '-o', out, '-q', '--force', '-p', 'p walk+2']);
    expect(r.code, show(r)).toBe(2);
    expect(sha256File(out), 'a usage error must not overwrite the old trace').toBe(before);
  });

  it('a missing probe file', async () => {
    const out = path.join(dir, 'probe-file.db');
    const r = await cli('probe-record', [
      '-w',
      'hello',
      '-o',
      out,
      '-q',
      '-f',
      path.join(dir, 'no-such-probes.txt'),
    ]);
    expectCleanError(r, 'probe-record', 1, /probe file .*no such file/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('probe-record: bad options and outputs', () => {
  it('--cpus 0 is bad usage', async () => {
    const out = path.join(dir, 'cpus0.db');
    const r = await cli('probe-record', ['-w', 'hello', '-o', out, '-q', '--cpus', '0']);
    expectCleanError(r, 'probe-record', 2, /--cpus must be an integer in 1\.\.64, got 0/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an unknown workload is bad usage', async () => {
    const r = await cli('probe-record', ['-w', 'nosuchworkload', '-o', path.join(dir, 'x.db'), '-q']);
    expectCleanError(r, 'probe-record', 2, /unknown workload 'nosuchworkload'/);
  });

  it('an existing output without --force is refused and left alone', async () => {
    const out = path.join(dir, 'existing.db');
    fs.copyFileSync(helloTrace, out);
    const before = sha256File(out);
    const r = await cli('probe-record', ['-w', 'hello', '-o', out, '-q']);
    expectCleanError(r, 'probe-record', 1, /exists; use --force to overwrite/);
    expect(sha256File(out)).toBe(before);
    // With --force it is replaced by a new recording.
    await ok('probe-record', ['-w', 'hello', '-o', out, '-q', '--force']);
    expect(await query(out, 'SELECT count(*) AS n FROM runs')).toEqual([{ n: 1 }]);
  });

  for (const out of ['/nonexistent-probelab-dir/sub/out.db', '/proc/probelab-e2e.db']) {
    it(`an unwritable output: ${out}`, async () => {
      const r = await cli('probe-record', ['-w', 'hello', '-o', out, '-q']);
      expectCleanError(r, 'probe-record', 1, new RegExp(`cannot create ${out.replace(/[.]/g, '\\.')}`));
    });
  }
});

describe('probe-query and probe-report: files that are not readable traces', () => {
  it('a file that is not a trace', async () => {
    const txt = path.join(dir, 'not-a-trace.db');
    fs.writeFileSync(txt, 'hello\n');
    const before = sha256File(txt);
    expectCleanError(
      await cli('probe-query', [txt, 'SELECT 1']),
      'probe-query',
      1,
      /is not a probelab trace file/,
    );
    expectCleanError(await cli('probe-report', [txt]), 'probe-report', 1, /is not a probelab trace file/);
    expect(sha256File(txt)).toBe(before);
  });

  it('a SQLite database that is not a trace', async () => {
    const other = path.join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    db.close();
    expectCleanError(
      await cli('probe-query', [other, 'SELECT * FROM t']),
      'probe-query',
      1,
      /not a probelab trace/,
    );
    expectCleanError(await cli('probe-report', [other]), 'probe-report', 1, /not a probelab trace/);
  });

  it('a missing trace', async () => {
    const missing = path.join(dir, 'missing.db');
    expectCleanError(await cli('probe-query', [missing, 'SELECT 1']), 'probe-query', 1, /no such file/);
    expectCleanError(await cli('probe-report', [missing]), 'probe-report', 1, /no such file/);
    expect(fs.existsSync(missing), 'reading must not create the file').toBe(false);
  });

  it('a trace written by a newer probelab: the message says to upgrade', async () => {
    const newer = path.join(dir, 'newer.db');
    fs.copyFileSync(helloTrace, newer);
    const db = new Database(newer);
    const v = db.prepare("SELECT value FROM meta WHERE key = 'format_version'").get() as { value: number };
    db.prepare("UPDATE meta SET value = ? WHERE key = 'format_version'").run(v.value + 1);
    db.close();
    const before = sha256File(newer);
    expectCleanError(await cli('probe-query', [newer, 'SELECT 1']), 'probe-query', 1, /newer.*upgrade/i);
    expectCleanError(await cli('probe-report', [newer]), 'probe-report', 1, /newer.*upgrade/i);
    expect(sha256File(newer), 'a newer file is never modified').toBe(before);
  });

  it('a trace written by an older probelab: refused with what to do, and probe-migrate upgrades it', async () => {
    const older = path.join(dir, 'older.db');
    fs.copyFileSync(path.join(REPO_ROOT, 'test/fixtures/trace-format1.db'), older);
    const before = sha256File(older);
    expectCleanError(await cli('probe-report', [older]), 'probe-report', 1, /older probelab.*probe-migrate/);
    expect(sha256File(older), 'reading never migrates behind the user').toBe(before);
    const m = await cli('probe-migrate', [older]);
    expect(m.code, show(m)).toBe(0);
    expect(m.stderr).toMatch(/format 1 -> 2/);
    const r = await cli('probe-report', [older, '--json']);
    expect(r.code, show(r)).toBe(0);
    expectCleanError(
      await cli('probe-migrate', [path.join(dir, 'nope.db')]),
      'probe-migrate',
      1,
      /no such file/,
    );
  });

  it('probe-query usage errors', async () => {
    expectCleanError(
      await cli('probe-query', [helloTrace]),
      'probe-query',
      2,
      /give a trace file and one SQL/,
    );
    expectCleanError(await cli('probe-query', [helloTrace, 'SELEC 1']), 'probe-query', 1, /syntax error/);
  });
});

describe('a guest that crashes', () => {
  it('is recorded completely: status crashed, signal 11, probe-record exits 139', async () => {
    const elf = buildGuest(CRASH_C, ['-m32', '-static', '-O1'], 'e2e-null-deref');
    const out = path.join(dir, 'crash.db');
    const r = await cli('probe-record', [elf, '-o', out, '-q', '-p', 'p:main main']);
    expect(r.code, show(r)).toBe(139);
    expect(r.stdout).toBe('about to dereference NULL\n');
    expect(r.stderr.split('\n').filter((l) => /^\s{4}at /.test(l))).toEqual([]);
    expect(await query(out, 'SELECT status, exit_code, signal FROM runs')).toEqual([
      { status: 'crashed', exit_code: null, signal: 11 },
    ]);
    expect(await query(out, 'SELECT event, hits FROM probes')).toEqual([{ event: 'probes/main', hits: 1 }]);
    expect(await query(out, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    // The crash is the guest's, not the tool's: the trace is a finished recording probe-report accepts.
    const rep = await cli('probe-report', [out, '--json']);
    expect(rep.code, show(rep)).toBe(0);
    expect((JSON.parse(rep.stdout) as { runs: Array<{ status: string }> }).runs).toMatchObject([
      { status: 'crashed' },
    ]);
  });
});
