// The command-line habits every command shares (src/cli/command.ts), through the real commands:
// - --help prints the usage on stdout and exits 0; --version prints package.json's version, exit 0;
// - an unknown option is bad usage: one line on stderr, exit 2;
// - probe-record takes its options and the ELF in any order and guest arguments after `--`: a probe
//   spec never swallows the ELF (the recorded argv, workload name and probe hits say what ran).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../../src/trace/reader.js';
import { buildGuest } from '../helpers/gcc.js';
import { DEFAULT_ENV } from '../../src/emulator/notes.js';
import {
  cleanupTmp,
  cli,
  COMMANDS,
  ensureBuilt,
  expectCleanError,
  ok,
  query,
  REPO_ROOT,
  show,
  tmpDir,
} from './helpers.js';

/**
 * Calls work() once per argument and prints its arguments, its GREETING variable and what it read on
 * stdin, so a test can see what the guest got.
 */
const PROG_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) int work(int n) {
  volatile int s = 0;
  for (int i = 0; i < n; i++) s += i;
  return s;
}
int main(int argc, char **argv) {
  printf("argc=%d", argc);
  for (int i = 1; i < argc; i++) printf(" [%s]=%d", argv[i], work(atoi(argv[i])));
  printf("\\n");
  const char *g = getenv("GREETING");
  printf("GREETING=%s\\n", g ? g : "(unset)");
  char buf[256];
  int n = 0, r;
  while (n < (int)sizeof buf - 1 && (r = read(0, buf + n, sizeof buf - 1 - n)) > 0) n += r;
  buf[n] = 0;
  printf("stdin=%d [%s]\\n", n, buf);
  return 0;
}
`;

let dir: string;
let prog: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('cli');
  prog = path.join(dir, 'prog');
  fs.copyFileSync(buildGuest(PROG_C, ['-m32', '-static', '-O1'], 'e2e-cli-prog'), prog);
});
afterAll(cleanupTmp);

const version = (
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

describe('every command', () => {
  for (const cmd of COMMANDS) {
    it(`${cmd}: --help, --version and an unknown option`, async () => {
      const help = await ok(cmd, ['--help']);
      expect(help.stdout).toMatch(new RegExp(`^${cmd} `));
      expect(help.stdout).toMatch(/--version/);
      expect(help.stderr).toBe('');
      const v = await ok(cmd, ['--version']);
      expect(v.stdout).toBe(`${version}\n`);
      const bad = await cli(cmd, ['x', 'y', '--bogus-option']);
      expectCleanError(bad, cmd, 2, /bogus-option/);
    });
  }
});

describe('probe-record: options and the ELF in any order', () => {
  const spec = 'r:work work';
  const orders: Array<[string, (out: string) => string[], string[]]> = [
    ['spec before the ELF', (out) => ['-p', spec, prog, '-o', out, '-q', '-c', '1'], []],
    [
      'spec before the ELF, guest args after --',
      (out) => ['-p', spec, prog, '-o', out, '-c', '1', '--', '3', '5'],
      ['3', '5'],
    ],
    ['ELF first', (out) => [prog, '-p', spec, '-o', out, '-c', '1', '--', '7'], ['7']],
    [
      'options first',
      (out) => ['-o', out, '-c', '1', '--probe', spec, '-q', prog, '--', '2', '-x'],
      ['2', '-x'],
    ],
  ];
  for (const [name, args, guest] of orders) {
    it(name, async () => {
      const out = path.join(dir, `${name.replace(/\W+/g, '-')}.db`);
      const r = await ok('probe-record', args(out));
      // The guest got exactly the arguments after -- and called work() once for each.
      expect(r.stdout).toMatch(new RegExp(`^argc=${guest.length + 1}( |$)`, 'm'));
      const runs = await query<{ workload: string; argv: string }>(out, 'SELECT workload, argv FROM runs');
      expect(runs).toEqual([{ workload: 'prog', argv: JSON.stringify([prog, ...guest]) }]);
      const probes = await query(out, 'SELECT event, kind, symbol, hits FROM probes');
      expect(probes).toEqual([
        { event: 'probes/work', kind: 'kretprobe', symbol: 'work', hits: guest.length },
      ]);
    });
  }

  it('a second positional argument is bad usage, not a guest argument', async () => {
    const r = await cli('probe-record', [prog, '3', '-o', path.join(dir, 'two.db')]);
    expectCleanError(r, 'probe-record', 2, /unexpected argument '3' \(guest arguments go after --\)/);
  });
});

describe('the guest environment and standard input', () => {
  it('probe-record passes its own piped stdin to the guest, logged so replay reproduces it', async () => {
    const out = path.join(dir, 'piped.db');
    const r = await ok('probe-record', [prog, '-o', out, '-q', '-c', '1'], 0, { input: 'piped bytes\n' });
    expect(r.stdout).toContain('stdin=12 [piped bytes\n]');
    const inputs = await query<{ n: number }>(
      out,
      "SELECT sum(length(data)) AS n FROM inputs WHERE kind = 'stdin'",
    );
    expect(inputs).toEqual([{ n: 12 }]);
    const v = await ok('probe-replay', [out]);
    expect(v.stderr).toMatch(/verified run 1: .*output identical/);
  });

  it('--stdin FILE wins over a pipe; /dev/null is an empty stdin', async () => {
    const file = path.join(dir, 'input.txt');
    fs.writeFileSync(file, 'from the file');
    const r = await ok(
      'probe-record',
      [prog, '--stdin', file, '-o', path.join(dir, 'file.db'), '-q', '-c', '1'],
      0,
      {
        input: 'from the pipe',
      },
    );
    expect(r.stdout).toContain('stdin=13 [from the file]');
    const none = await ok('probe-record', [prog, '-o', path.join(dir, 'none.db'), '-q', '-c', '1']);
    expect(none.stdout).toContain('stdin=0 []');
  });

  it('--env NAME=VALUE is the guest environment and is stored in the run configuration', async () => {
    const out = path.join(dir, 'env.db');
    const r = await ok('probe-record', [
      prog,
      '--env',
      'GREETING=hi there',
      '--env',
      'X=1',
      '-o',
      out,
      '-q',
      '-c',
      '1',
    ]);
    expect(r.stdout).toContain('GREETING=hi there\n');
    // The stored configuration, as replay reads it.
    const reader = TraceReader.open(out);
    try {
      // The documented default environment, with the --env entries added.
      expect(reader.runConfig(1).env).toEqual([...DEFAULT_ENV, 'GREETING=hi there', 'X=1']);
    } finally {
      reader.close();
    }
    const bad = await cli('probe-record', [prog, '--env', 'NOEQUALS', '-o', path.join(dir, 'bad.db')]);
    expectCleanError(bad, 'probe-record', 2, /--env NOEQUALS: expected NAME=VALUE/);
    const run = await cli('probe-run', [prog, '--env', 'GREETING=run', '--', '4']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^argc=2 \[4\]=6\nGREETING=run\n/);
  });
});

describe('probe-record: what it says about probes', () => {
  it('the profile table has a header over its columns (event, hits, missed)', async () => {
    const r = await ok('probe-record', [
      prog,
      '-p',
      'r:work work',
      '-o',
      path.join(dir, 'profile.db'),
      '-c',
      '1',
      '--',
      '1',
      '2',
      '3',
    ]);
    const lines = r.stderr.split('\n');
    const h = lines.findIndex((l) => /^\s+event\s+hits\s+missed$/.test(l));
    expect(h, r.stderr).toBeGreaterThanOrEqual(0);
    const header = lines[h]!;
    const row = lines[h + 1]!;
    expect(row).toMatch(/^\s+probes\/work\s+3\s+0$/);
    // Right-aligned counts end in the columns where their headers end.
    expect(row.length).toBe(header.length);
    expect(row.lastIndexOf('3')).toBe(header.indexOf('hits') + 'hits'.length - 1);
  });

  it('a misspelt symbol gets "did you mean" with the binary\'s function', async () => {
    const r = await cli('probe-record', [prog, '-p', 'r:w wrok', '-o', path.join(dir, 'typo.db')]);
    const lines = expectCleanError(r, 'probe-record', 2, /BAD_PROBE_ADDR/, 3);
    expect(lines[3]).toBe("  did you mean 'work'?");
    // Nothing close: no guess.
    const far = await cli('probe-record', [prog, '-p', 'r:w qqqqqqqq', '-o', path.join(dir, 'typo.db')]);
    expectCleanError(far, 'probe-record', 2, /BAD_PROBE_ADDR/, 2);
  });

  it('a jprobe without its handler is told the jprobe form', async () => {
    const r = await cli('probe-record', [prog, '-p', 'j:jw work', '-o', path.join(dir, 'j.db')]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/^probe-record: /);
    expect(r.stderr).toMatch(/HANDLER/);
    expect(r.stderr).not.toMatch(/^\s{4}at /m);
  });
});
