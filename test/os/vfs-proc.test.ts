// /proc, /sys, /tmp and --keep-files as a guest sees them. qemu-i386 shows the host's /proc (its
// CPUs, its memory, qemu's own executable), so it cannot be the reference here: procfs.c prints
// what it learns and the expected lines are computed below from the run's own configuration (the
// CPU count, argv, the cwd, the binary's path), independently of the emulator's code. The run uses
// Machine's keepFiles option: afterwards exactly what the guest wrote (/tmp/kept.txt) is in the
// keep directory, and the directory the guest could read is unchanged.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/emulator/machine.js';
import { buildGuest, REPO_ROOT } from '../helpers/gcc.js';
import { GUEST_ENV, requireTools } from '../helpers/native.js';
import { cleanup, emptyDir } from './vfs-harness.js';

let procfs = '';

beforeAll(() => {
  requireTools();
  const src = fs.readFileSync(path.join(REPO_ROOT, 'test', 'os', 'vfs-guests', 'procfs.c'), 'utf8');
  procfs = buildGuest(src, ['-m32', '-static', '-O1'], 'vfs-procfs');
}, 300_000);

afterAll(cleanup);

function run(cpus: number): { out: string; dir: string; exe: string; keep: string } {
  const dir = emptyDir('proc');
  const exe = path.join(dir, 'procfs');
  fs.copyFileSync(procfs, exe);
  const keep = path.join(emptyDir('keep'), 'out');
  const m = Machine.load(new Uint8Array(fs.readFileSync(exe)), {
    argv: [exe, 'second arg'],
    env: GUEST_ENV,
    cwd: dir,
    allowRead: [dir],
    cpus,
    keepFiles: keep,
  });
  const r = m.run();
  expect(r.status).toBe('exited');
  expect(r.exitCode).toBe(0);
  return { out: Buffer.from(r.stdout).toString(), dir, exe, keep };
}

describe('/proc, /sys and /tmp inside the machine', () => {
  for (const cpus of [1, 3])
    it(`shows the process and a ${cpus}-CPU machine; --keep-files gets what it wrote`, () => {
      const { out, dir, exe, keep } = run(cpus);
      const cmdline = `${exe}\0second arg\0`;
      expect(out.split('\n')).toEqual([
        `exe: ${exe}`,
        'cwd link matches getcwd: 1',
        'self is getpid: 1',
        `fd 3 -> ${exe}`,
        // 0, 1, 2, the file, and the directory descriptor opendir holds while listing.
        'open descriptors listed: 5',
        `nprocs ${cpus} conf ${cpus} onln ${cpus}`,
        `/sys/devices/system/cpu/online: ${cpus === 1 ? '0' : `0-${cpus - 1}`}`,
        `cpuinfo processors: ${cpus}`,
        '/proc/self/status: Name:\tprocfs',
        '/proc/self/status: Threads:\t1',
        'maps has an executable mapping: 1',
        `cmdline bytes ${Buffer.byteLength(cmdline)}, first [${exe}], second [second arg]`,
        expect.stringMatching(/^\/proc\/meminfo: MemTotal: +\d+ kB$/),
        'write /proc/meminfo: 1',
        'tmp is a sticky dir: 1',
        '/tmp/kept.txt listed: 1',
        '/etc/passwd readable: 0',
        'create outside: 1',
        '',
      ]);
      // The guest's directory holds only what the test put there; its write went to DIR alone.
      expect(fs.readdirSync(dir)).toEqual(['procfs']);
      expect(fs.readFileSync(path.join(keep, 'tmp', 'kept.txt'), 'utf8')).toBe('written in the machine\n');
      const kept: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else kept.push(path.relative(keep, p));
        }
      };
      walk(keep);
      expect(kept).toEqual(['tmp/kept.txt']);
    });
});
