// The syscall table (src/emulator/os/table.ts) and the descriptor syscalls (os/fdcalls.ts).
// Oracles: qemu-i386 -strace (it prints every syscall the guest makes with its result) for the
// per-task call/error/ENOSYS counts; qemu-i386 running the same static glibc program for the
// dup/dup2/dup3/fcntl results (stdout compared byte for byte).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/emulator/machine.js';
import { SyscallTable } from '../../src/emulator/os/table.js';
import { buildGuest, FREESTANDING, STATIC } from '../helpers/gcc.js';
import { qemuBinary, requireTools, runNative } from '../helpers/native.js';

const RAW = `
static long sc(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
void _start(void) {
  static const char m[] = "hi\\n";
  sc(4, 1, (long)m, 3);
  sc(4, 1, (long)m, 3);
  sc(6, 99, 0, 0);     /* close: EBADF */
  sc(41, 1, 0, 0);     /* dup -> 3 */
  sc(63, 3, 7, 0);     /* dup2 -> 7 */
  sc(6, 7, 0, 0);
  sc(6, 7, 0, 0);      /* EBADF */
  sc(20, 0, 0, 0);
  sc(223, 0, 0, 0);    /* unassigned: ENOSYS */
  sc(223, 0, 0, 0);
  sc(330, 3, 3, 0);    /* dup3(fd, fd): EINVAL */
  sc(252, 0, 0, 0);
  for (;;) {}
}
`;

const FDS = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
/* One call per statement: printf's arguments are evaluated in an unspecified order. */
#define SHOW(label, expr) do { errno = 0; int r_ = (expr); printf("%s %d %d\\n", label, r_, errno); } while (0)
int main(void) {
  int a = dup(1);
  printf("dup %d\\n", a);
  SHOW("dup2 same", dup2(a, a));
  SHOW("dup2 bad", dup2(99, 5));
  SHOW("dup2", dup2(a, 9));
  SHOW("getfd", fcntl(9, F_GETFD));
  SHOW("dup3 cloexec", dup3(a, 10, O_CLOEXEC));
  SHOW("getfd", fcntl(10, F_GETFD));
  SHOW("dup3 same", dup3(a, a, 0));
  SHOW("dup3 badflag", dup3(a, 11, 1));
  SHOW("setfd", fcntl(9, F_SETFD, FD_CLOEXEC));
  SHOW("getfd", fcntl(9, F_GETFD));
  SHOW("dupfd", fcntl(a, F_DUPFD, 20));
  SHOW("dupfd cloexec", fcntl(a, F_DUPFD_CLOEXEC, 20));
  SHOW("getfd", fcntl(21, F_GETFD));
  SHOW("dupfd lowest", fcntl(a, F_DUPFD, 0));
  /* (F_GETFL's access mode of stdout depends on what the host made stdout: not compared.) */
  int fl = fcntl(1, F_GETFL);
  SHOW("setfl", fcntl(9, F_SETFL, fl | O_NONBLOCK));
  SHOW("nonblock shared", (fcntl(1, F_GETFL) & O_NONBLOCK) != 0);
  fcntl(9, F_SETFL, fl);
  SHOW("close", close(9));
  SHOW("close again", close(9));
  SHOW("fcntl bad", fcntl(77, F_GETFD));
  SHOW("dupfd range", fcntl(a, F_DUPFD, -1));
  SHOW("dup2 over open", dup2(10, a));
  SHOW("getfd", fcntl(a, F_GETFD));
  return 0;
}
`;

interface Count {
  calls: number;
  errors: number;
  enosys: number;
}

/** Per-name counts from qemu-i386 -strace output. */
function straceCounts(stderr: string): Map<string, Count> {
  const out = new Map<string, Count>();
  const bump = (name: string, err: boolean, nosys: boolean) => {
    const c = out.get(name) ?? { calls: 0, errors: 0, enosys: 0 };
    c.calls++;
    if (err) c.errors++;
    if (nosys) c.enosys++;
    out.set(name, c);
  };
  for (const line of stderr.split('\n')) {
    const unknown = /^\d+ Unknown syscall (\d+)/.exec(line);
    if (unknown) {
      bump(`#${unknown[1]}`, true, true);
      continue;
    }
    const m = /^\d+ (\w+)\([^)]*\)(?: = (-?\d+)(?: errno=(\d+))?)?/.exec(line);
    if (m) bump(m[1]!, m[2] === '-1', m[3] === '38');
  }
  return out;
}

describe('syscall table', () => {
  beforeAll(() => requireTools());

  it('knows every assigned i386 number by its Linux name; unknown names are refused', () => {
    const t = new SyscallTable();
    expect(t.row(11)?.name).toBe('execve');
    expect(t.row(142)?.name).toBe('_newselect');
    expect(t.row(120)?.arity).toBe(5);
    expect(t.row(223)).toBeUndefined();
    expect(() => t.define('no_such_call', () => 0)).toThrow(/no i386 syscall/);
    t.define('getpid', () => 1);
    expect(() => t.define('getpid', () => 2)).toThrow(/twice/);
  });

  it('per-task counts of calls, errors and ENOSYS match qemu-i386 -strace', () => {
    const bin = buildGuest(RAW, [...FREESTANDING, '-O1'], 'core-table-raw');
    const q = spawnSync(qemuBinary(), ['-strace', bin], { encoding: 'latin1' });
    const expected = straceCounts(q.stderr);
    expect(expected.get('write')?.calls).toBe(2);

    const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), { argv: ['raw'] });
    const r = m.run();
    expect(Buffer.from(r.stdout).toString()).toBe(q.stdout);
    const got = new Map<string, Count>();
    for (const c of r.syscalls) {
      expect(c.tid).toBe(m.mainTask.tid);
      const name = c.name.startsWith('syscall_') ? `#${c.nr}` : c.name;
      // exit_group never returns: strace prints no result for it, so it has no error either way.
      got.set(name, { calls: c.calls, errors: c.errors, enosys: c.enosys });
    }
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
    expect(r.enosys).toEqual({ '223': 2 });
  });

  it('dup, dup2, dup3 and fcntl give what qemu-i386 gives', () => {
    const bin = buildGuest(FDS, [...STATIC, '-O1'], 'core-fds');
    const native = runNative(bin, ['fds']);
    const m = Machine.load(new Uint8Array(fs.readFileSync(bin)), { argv: ['fds'] });
    const r = m.run();
    expect(r.status).toBe('exited');
    expect(Buffer.from(r.stdout).toString()).toBe(native.stdout.toString());
    expect(native.stdout.toString()).toContain('dup3 cloexec 10 0\ngetfd 1 0\n');
  });
});
