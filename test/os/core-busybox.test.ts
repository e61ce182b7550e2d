// Debian's busybox-static (i386, installed by .ci/run into .cache/busybox) running shell scripts in
// the emulator: pipelines, redirections, $(...) and $((...)), & and wait, xargs, find -exec, trap,
// exit statuses, /tmp files (the overlay). qemu-i386 cannot be the oracle (busybox sh runs its
// applets through execve, which qemu hands to the host kernel, and that cannot run i386 code here),
// so each script's output is a golden file reviewed by hand (test/os/busybox/NAME.out). Every
// script is also recorded and replay-verified on 1 and 4 CPUs, with and without chaos.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/gcc.js';
import { cleanup, onEmulator, outcomeOf, recordAndVerify } from './core-helpers.js';

const BUSYBOX = path.join(REPO_ROOT, '.cache', 'busybox', 'bin', 'busybox');
const SCRIPTS = path.join(REPO_ROOT, 'test', 'os', 'busybox');
const APPLETS = ['sh', 'tr', 'wc', 'seq', 'sort', 'head', 'xargs', 'echo', 'cat', 'find', 'sleep', 'printf'];
let work: string;

beforeAll(() => {
  if (!fs.existsSync(BUSYBOX))
    throw new Error(`${BUSYBOX} is missing: .ci/run installs it (apt-get download busybox-static:i386)`);
  // A work directory inside the repository (readable by the guest) with the applets as symlinks.
  work = fs.mkdtempSync(path.join(REPO_ROOT, '.cache', 'busybox-run-'));
  fs.mkdirSync(path.join(work, 'bin'));
  for (const a of APPLETS) fs.symlinkSync(BUSYBOX, path.join(work, 'bin', a));
  fs.writeFileSync(path.join(work, 'a.txt'), 'hello file\n');
  fs.writeFileSync(path.join(work, 'b.txt'), 'other\n');
});
afterAll(() => {
  cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const scripts = fs.readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh'));
const argvOf = (s: string) => ['sh', path.join(SCRIPTS, s)];
const opts = () => ({
  cwd: work,
  env: [`PATH=${work}/bin`, 'HOME=/', 'TERM=dumb', 'LANG=C'],
  allowRead: [REPO_ROOT],
});

describe('busybox shell scripts', () => {
  for (const s of scripts) {
    it(`${s} prints the hand-reviewed output`, () => {
      const o = outcomeOf(onEmulator(BUSYBOX, argvOf(s), opts()));
      const got = `${o.stdout}--- stderr\n${o.stderr}--- ${o.status}\n`;
      const golden = path.join(SCRIPTS, s.replace(/\.sh$/, '.out'));
      if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, got);
      expect(got).toBe(fs.readFileSync(golden, 'utf8'));
    });
    for (const cpus of [1, 4])
      for (const chaos of [false, true])
        it(`${s} replays identically on ${cpus} CPU(s)${chaos ? ' with chaos' : ''}`, () => {
          const { divergence, result } = recordAndVerify(BUSYBOX, argvOf(s), cpus, chaos, opts());
          expect(result.status).toBe('exited');
          expect(divergence).toBeNull();
        });
  }
});
