// execve (os/lifecycle.ts). qemu-i386 cannot be the oracle here: it hands execve to the host
// kernel, which on these machines cannot run i386 binaries (IA-32 emulation is off), so the
// expected output is a golden file reviewed by hand (test/os/golden/exec.txt), with host paths
// replaced by <HELPER>, <SCRIPT>, <DYNAMIC>. What it pins: argv and envp arrive as given (including
// an empty string); close-on-exec descriptors are closed and others inherited with their
// description; ENOENT, EACCES for a directory, ENOEXEC for a file that is no executable and for a
// dynamic ELF (plus one line on stderr), EACCES for a file without execute permission; `#!interpreter arg` scripts; vfork + exec; the exit status
// through wait. The same guest is recorded and replay-verified on 1 and 4 CPUs, with and without chaos.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, REPO_ROOT } from '../helpers/gcc.js';
import { requireTools } from '../helpers/native.js';
import { buildOsGuest, cleanup, onEmulator, outcomeOf, recordAndVerify } from './core-helpers.js';

let dir: string;
let exec: string;
let argv: string[];
const subst: Array<[string, string]> = [];

beforeAll(() => {
  requireTools();
  exec = buildOsGuest('exec');
  const helper = buildOsGuest('exechelper');
  const dynamic = buildGuest('int main(void) { return 0; }', ['-m32', '-O1'], 'os-dynamic');
  // Inside the repository (the guest's default readable directory), removed after the tests.
  dir = fs.mkdtempSync(path.join(REPO_ROOT, '.cache', 'exec-'));
  const script = path.join(dir, 'script.sh');
  fs.writeFileSync(script, `#!${helper} flag\nnot run\n`, { mode: 0o755 });
  const text = path.join(dir, 'text.txt');
  fs.writeFileSync(text, 'just text\n', { mode: 0o755 });
  const noexec = path.join(dir, 'noexec');
  fs.copyFileSync(helper, noexec);
  fs.chmodSync(noexec, 0o644);
  argv = ['exec', helper, dynamic, script, dir, text, noexec];
  subst.push([script, '<SCRIPT>'], [helper, '<HELPER>'], [dynamic, '<DYNAMIC>']);
});
afterAll(() => {
  cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function normalise(s: string): string {
  for (const [from, to] of subst) s = s.split(from).join(to);
  return s;
}

describe('execve', () => {
  it('matches the hand-reviewed golden output', () => {
    const o = outcomeOf(onEmulator(exec, argv));
    const got = `${normalise(o.stdout)}--- stderr\n${normalise(o.stderr)}--- ${o.status}\n`;
    const golden = path.join(REPO_ROOT, 'test', 'os', 'golden', 'exec.txt');
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, got);
    expect(got).toBe(fs.readFileSync(golden, 'utf8'));
  });

  for (const cpus of [1, 4])
    for (const chaos of [false, true])
      it(`replays identically on ${cpus} CPU(s)${chaos ? ' with chaos' : ''}`, () => {
        const { divergence, result } = recordAndVerify(exec, argv, cpus, chaos);
        expect(result.status).toBe('exited');
        expect(divergence).toBeNull();
      });
});
