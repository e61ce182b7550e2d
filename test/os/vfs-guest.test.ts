// The guest's file system against the real Linux kernel: guest programs written for these tests run
// on qemu-i386 (whose file syscalls are the host kernel's, in a fresh empty directory) and in the
// emulator (in another fresh empty directory it may read, where every write stays in the machine's
// overlay); stdout and the exit status must be identical, and the emulator's directory must still be
// empty afterwards. Then each guest is recorded on 1 and 4 CPUs, with and without chaos, and
// replayed in verify mode (the overlay is regenerated from the logged inputs alone).
//  - files.c: creation, I/O and offsets, O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_NOFOLLOW, mkdir/rmdir,
//    rename/renameat2, link, symlink/readlink, truncate, chmod/umask, utimensat, chdir/fchdir/getcwd,
//    the *at calls, an unlinked-but-open file, /dev/null, /dev/zero, /dev/urandom, readdir.
//  - sqlite-disk.c: SQLite (the amalgamation better-sqlite3 ships) on an on-disk database with a
//    rollback journal and temp files (a small cache and temp_store=FILE make the sorter, the temp
//    table and VACUUM spill to /var/tmp), reopened to read the data back.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, REPO_ROOT } from '../helpers/gcc.js';
import { requireTools } from '../helpers/native.js';
import { cleanup, emulated, recordAndVerify, reference } from './vfs-harness.js';

const DIR = path.join(REPO_ROOT, 'test', 'os', 'vfs-guests');
const SQLITE = path.join(REPO_ROOT, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');

let files = '';
let sqlite = '';

beforeAll(() => {
  requireTools();
  files = buildGuest(
    fs.readFileSync(path.join(DIR, 'files.c'), 'utf8'),
    ['-m32', '-static', '-O1'],
    'vfs-files',
  );
  // The amalgamation's hash is part of the flags, so a new SQLite version rebuilds the guest.
  const amalgamation = path.join(SQLITE, 'sqlite3.c');
  const sha = createHash('sha256').update(fs.readFileSync(amalgamation)).digest('hex').slice(0, 16);
  sqlite = buildGuest(
    fs.readFileSync(path.join(DIR, 'sqlite-disk.c'), 'utf8'),
    [
      '-m32',
      '-static',
      '-O1',
      '-DSQLITE_THREADSAFE=0',
      '-DSQLITE_OMIT_LOAD_EXTENSION',
      `-DPROBELAB_SQLITE=${sha}`,
      `-I${SQLITE}`,
    ],
    'vfs-sqlite',
    { libs: [amalgamation, '-lm'] },
  );
}, 600_000);

afterAll(cleanup);

describe('file system: guest programs on qemu-i386 vs the emulator', () => {
  it('files.c: creation, I/O, names, links, metadata, directories, devices', () => {
    const ref = reference(files, ['files']);
    expect(ref.status, ref.stderr).toBe('exit 0');
    expect(ref.stdout).toContain('ls d/e: . .. moved');
    expect(emulated(files, ['files'])).toEqual(ref);
  });

  it('files.c replays identically on 1 and 4 CPUs, with and without chaos', () => {
    const ref = reference(files, ['files']);
    recordAndVerify(
      files,
      ['files'],
      ['r:open __libc_open64', 'p:mkdir __mkdir', 'r:rename rename'],
      ref.stdout,
    );
  });

  it('SQLite on an on-disk database with a journal and temp files', () => {
    const ref = reference(sqlite, ['sqlite', '250']);
    expect(ref.status, ref.stderr).toBe('exit 0');
    expect(ref.stdout).toContain('check: ok');
    expect(ref.stdout).not.toContain('error');
    // The temp files SQLite made in the machine's /var/tmp (it unlinks them at once).
    const temps: string[] = [];
    const emu = emulated(sqlite, ['sqlite', '250'], (m) => {
      const vfs = m.kernel.fs.vfs;
      const create = vfs.create.bind(vfs);
      vfs.create = (dir, name, mode) => {
        temps.push(`${vfs.pathOf(dir)}/${name}`);
        return create(dir, name, mode);
      };
    });
    expect(emu).toEqual(ref);
    expect(temps.filter((p) => p.startsWith('/var/tmp/etilqs_')).length).toBeGreaterThan(0);
    expect(temps.some((p) => p.endsWith('/test.db-journal'))).toBe(true);
  });

  it('SQLite replays identically on 1 and 4 CPUs, with and without chaos', () => {
    const ref = reference(sqlite, ['sqlite', '40']);
    expect(ref.stdout).toContain('check: ok');
    recordAndVerify(sqlite, ['sqlite', '40'], ['r:exec sqlite3_exec', 'r:open __libc_open64'], ref.stdout);
  });
});
