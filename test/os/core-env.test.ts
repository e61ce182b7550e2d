// The guest's default environment and the end-of-run notes (src/emulator/notes.ts).
// Oracles: qemu-i386 given the documented default environment prints the same environment as the
// emulator given none; the notes are checked against what the guest did (two refused paths, one
// of them twice; one unimplemented syscall, by its Linux name and number). Directories refused only
// as steps of a path walk are not named.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENV, guestEnv, runNotes } from '../../src/emulator/notes.js';
import { REPO_ROOT } from '../helpers/gcc.js';
import { requireTools, runNative } from '../helpers/native.js';
import { buildOsGuest, cleanup, onEmulator } from './core-helpers.js';

let bin: string;
beforeAll(() => {
  requireTools();
  bin = buildOsGuest('envnotes');
});
afterAll(() => cleanup());

describe('environment and end-of-run notes', () => {
  it('a guest given no environment sees the documented default, as qemu-i386 given it does', () => {
    const q = runNative(bin, ['envnotes'], { cwd: REPO_ROOT, env: [...DEFAULT_ENV] });
    const envLines = (s: string) => s.split('\n').filter((l) => l.startsWith('env '));
    const r = onEmulator(bin, ['envnotes'], { env: undefined });
    const got = envLines(Buffer.from(r.stdout).toString());
    // (qemu-user hands the guest the variables in its own order: compared as sets.)
    expect([...got].sort()).toEqual(envLines(q.stdout.toString()).sort());
    expect(got).toEqual(DEFAULT_ENV.map((e) => `env ${e}`));
  });

  it('guestEnv adds and replaces NAME=VALUE entries', () => {
    expect(guestEnv(['TERM=xterm', 'X=1'])).toEqual([
      'PATH=/bin:/usr/bin',
      'HOME=/',
      'TERM=xterm',
      'LANG=C',
      'X=1',
    ]);
  });

  it('names refused host paths (first ones, count, how to grant) and unimplemented syscalls', () => {
    const r = onEmulator(bin, ['envnotes'], { allowRead: [REPO_ROOT] });
    expect(Buffer.from(r.stdout).toString()).toContain('opens 0 0 0\nacct -1\n');
    expect(r.refused).toEqual({ paths: ['/etc/hostname', '/etc/passwd'], attempts: 3 });
    const notes = runNotes(r, 'probe-run');
    expect(notes).toEqual([
      'probe-run: the guest was refused 2 host paths outside the readable directories (3 attempts): /etc/hostname, /etc/passwd; grant one with --allow-read DIR',
      'probe-run: unimplemented syscalls returned ENOSYS: acct (51) x1',
    ]);
    const many = runNotes({ refused: { paths: ['/a', '/b', '/c', '/d', '/e'], attempts: 5 }, syscalls: [] });
    expect(many).toEqual([
      'probelab: the guest was refused 5 host paths outside the readable directories (5 attempts): /a, /b, /c and 2 more; grant one with --allow-read DIR',
    ]);
  });
});
