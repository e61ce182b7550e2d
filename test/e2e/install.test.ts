// Installing the commands (README, "Installing the commands"), without the registry:
// - `npm install -g .` into a temporary prefix puts every bin of package.json on that prefix's PATH,
//   and they run from another directory (the built-in workloads and schemas are found);
// - the packed tarball holds what the commands need at run time: every bin's file is in it and,
//   unpacked beside the checkout's dependencies, probe-record records a workload from it;
// - package-lock.json is current: npm, asked to update it offline, leaves it byte for byte.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, COMMANDS, ensureBuilt, REPO_ROOT, tmpDir } from './helpers.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = tmpDir('install');
});
afterAll(cleanupTmp);

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('installing the commands', () => {
  it('package.json declares every command as a bin', () => {
    expect(Object.keys(pkg.bin).sort()).toEqual([...COMMANDS].sort());
  });

  it('npm install -g . puts every command on the prefix PATH; they work from anywhere', () => {
    const prefix = path.join(dir, 'prefix');
    npm(['install', '-g', '--prefix', prefix, REPO_ROOT], dir);
    const work = path.join(dir, 'elsewhere');
    fs.mkdirSync(work);
    // Every bin is linked to the file package.json names (running each is cli.test.ts's job).
    for (const [c, file] of Object.entries(pkg.bin))
      expect(fs.realpathSync(path.join(prefix, 'bin', c)), c).toBe(
        fs.realpathSync(path.join(REPO_ROOT, file)),
      );
    expect(execFileSync(path.join(prefix, 'bin', 'probe-merge'), ['--version'], { encoding: 'utf8' })).toBe(
      `${pkg.version}\n`,
    );
    const out = execFileSync(path.join(prefix, 'bin', 'probe-record'), ['-w', 'hello', '-q', '-c', '1'], {
      cwd: work,
      encoding: 'utf8',
    });
    expect(out).toBe('hello, world\n');
    expect(fs.existsSync(path.join(work, 'trace.db'))).toBe(true);
  });

  it('the packed tarball holds what the commands need', () => {
    const packed = path.join(dir, 'pack');
    fs.mkdirSync(packed);
    const name = npm(['pack', '--pack-destination', packed], REPO_ROOT).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', path.join(packed, name), '-C', packed]);
    const root = path.join(packed, 'package');
    // Its dependencies as `npm install -g probelab-*.tgz` would provide them.
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
    for (const [c, file] of Object.entries(pkg.bin))
      expect(
        execFileSync(process.execPath, [path.join(root, file), '--version'], { encoding: 'utf8' }),
        c,
      ).toBe(`${pkg.version}\n`);
    const work = path.join(dir, 'from-tarball');
    fs.mkdirSync(work);
    execFileSync(
      process.execPath,
      [path.join(root, pkg.bin['probe-record']!), '-w', 'hello', '-q', '-c', '1'],
      {
        cwd: work,
      },
    );
    const q = execFileSync(
      process.execPath,
      [path.join(root, pkg.bin['probe-query']!), 'trace.db', 'SELECT status FROM runs'],
      {
        cwd: work,
        encoding: 'utf8',
      },
    );
    expect(q).toMatch(/complete/);
  });

  it('package-lock.json is current', () => {
    const copy = path.join(dir, 'lock');
    fs.mkdirSync(copy);
    for (const f of ['package.json', 'package-lock.json'])
      fs.copyFileSync(path.join(REPO_ROOT, f), path.join(copy, f));
    npm(['install', '--package-lock-only'], copy);
    expect(fs.readFileSync(path.join(copy, 'package-lock.json'), 'utf8')).toBe(
      fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'),
    );
  });
});
