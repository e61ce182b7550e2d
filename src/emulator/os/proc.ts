// Process-level syscalls: identity (getpid, getppid, the uid/gid family, uname), unshare and
// ptrace as an unprivileged caller gets them, exit_group, getrandom (a logged input), and kill/tkill/tgkill with default actions until the
// signals module redefines them. Guarantees: identities are fixed (uid/gid 1000), so runs are
// reproducible; getrandom bytes come from the seeded generator and are reported as inputs.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from './errno.js';

/** Signals whose default action is to be ignored (SIGCHLD, SIGURG, SIGWINCH). */
export const IGNORED_BY_DEFAULT = new Set([17, 23, 28]);

function uname(k: Kernel, buf: number): number {
  if (!k.userRange(buf, 390, true)) return -EFAULT;
  const b = new Uint8Array(390);
  const put = (i: number, s: string) => b.set(new TextEncoder().encode(s), i * 65);
  put(0, 'Linux');
  put(1, 'probelab');
  put(2, '6.1.0-probelab');
  put(3, '#1 SMP PREEMPT probelab');
  put(4, 'i686');
  put(5, '(none)');
  k.mem.writeBytes(buf, b);
  return 0;
}

function getrandom(k: Kernel, buf: number, len: number): number {
  len = Math.min(len >>> 0, 33554431);
  if (!k.userRange(buf, len, true)) return -EFAULT;
  const data = k.m.prng.bytes(len);
  k.mem.writeBytes(buf, data);
  k.m.emitInput('random', '', data);
  return len;
}

/** prctl: PR_SET_NAME / PR_GET_NAME (the task's comm, 16 bytes); other options EINVAL. */
function prctl(k: Kernel, t: Task, option: number, arg2: number): number {
  if (option === 15) {
    const name = k.cstring(arg2, 16);
    if (name === null) return -EFAULT;
    t.name = name.slice(0, 15);
    return 0;
  }
  if (option === 16) {
    if (!k.userRange(arg2, 16, true)) return -EFAULT;
    const b = new Uint8Array(16);
    b.set(new TextEncoder().encode(t.name).subarray(0, 15));
    k.mem.writeBytes(arg2, b);
    return 0;
  }
  return -EINVAL;
}

// clone flags unshare(2) accepts (check_unshare_flags), and the namespace ones among them.
const CLONE_VM = 0x100;
const CLONE_FS = 0x200;
const CLONE_SIGHAND = 0x800;
const CLONE_THREAD = 0x10000;
const CLONE_NEWNS = 0x20000;
const CLONE_NEWUSER = 0x10000000;
const NAMESPACES =
  0x80 | CLONE_NEWNS | 0x02000000 | 0x04000000 | 0x08000000 | CLONE_NEWUSER | 0x20000000 | 0x40000000;
const UNSHARE_OK = CLONE_VM | CLONE_FS | 0x400 | CLONE_SIGHAND | CLONE_THREAD | 0x40000 | NAMESPACES;

/**
 * unshare(2) for an unprivileged caller on a system without unprivileged user namespaces: a new
 * namespace of any kind is EPERM (no CAP_SYS_ADMIN); CLONE_THREAD/SIGHAND/VM need a single-threaded
 * caller (EINVAL); unsharing the descriptor table, fs state or SysV undo list succeeds and changes
 * nothing the emulator models apart (those are per process here already).
 */
function unshare(t: Task, flags: number): number {
  if (flags & ~UNSHARE_OK) return -EINVAL;
  if (flags & CLONE_NEWUSER) flags |= CLONE_THREAD | CLONE_FS;
  if (flags & CLONE_VM) flags |= CLONE_SIGHAND;
  if (flags & CLONE_SIGHAND) flags |= CLONE_THREAD;
  if (flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) {
    if (t.process.threads.filter((x) => x.state !== 'zombie').length > 1) return -EINVAL;
  }
  return flags & NAMESPACES ? -EPERM : 0;
}

/**
 * ptrace(2) as Linux answers under Yama's ptrace_scope 3 (no process may trace another): nothing
 * here is traceable, so PTRACE_TRACEME, PTRACE_ATTACH and PTRACE_SEIZE are EPERM, an unknown pid
 * ESRCH, and every other request ESRCH (the target is not traced by the caller).
 */
function ptrace(k: Kernel, request: number, pid: number): number {
  if (request === 0) return -EPERM; // PTRACE_TRACEME
  const target = k.m.tasks.get(pid);
  if (!target || target.state === 'zombie') return -ESRCH;
  return request === 16 || request === 0x4206 ? -EPERM : -ESRCH;
}

/** tgkill/tkill/kill of one thread, with the default action (no handlers until the signals module). */
function tgkill(k: Kernel, t: Task, tgid: number, tid: number, sig: number): number {
  const target = k.m.tasks.get(tid);
  if (!target || target.state === 'zombie' || (tgid !== target.process.pid && tgid !== tid)) return -ESRCH;
  if (sig < 0 || sig > 64) return -EINVAL;
  if (sig === 0) return 0;
  if (IGNORED_BY_DEFAULT.has(sig)) return 0;
  k.m.killProcess(sig, `signal sent by task ${t.tid} (tgkill)`, target, null);
  return 0;
}

export function registerProcess(k: Kernel): void {
  const T = k.table;
  T.define('exit_group', (_t, a) => {
    k.m.exitGroup(a & 0xff);
    return 0;
  });
  T.define('getpid', (t) => t.process.pid);
  for (const name of [
    'getuid',
    'getgid',
    'geteuid',
    'getegid',
    'getuid32',
    'getgid32',
    'geteuid32',
    'getegid32',
  ])
    T.define(name, () => 1000);
  T.define('uname', (_t, a) => uname(k, a));
  // The one user there is: setting the ids it already has succeeds, anything else is EPERM.
  const same = (...ids: number[]) => (ids.every((id) => id === 1000 || id === -1) ? 0 : -EPERM);
  // The 16-bit calls (old_uid_t) take (unsigned short)-1 for "unchanged", as low2highuid does.
  const id16 = (x: number) => ((x & 0xffff) === 0xffff ? -1 : x & 0xffff);
  for (const name of ['setuid32', 'setgid32']) T.define(name, (_t, a) => same(a));
  for (const name of ['setuid', 'setgid']) T.define(name, (_t, a) => same(id16(a)));
  for (const name of ['setreuid32', 'setregid32']) T.define(name, (_t, a, b) => same(a, b));
  for (const name of ['setreuid', 'setregid']) T.define(name, (_t, a, b) => same(id16(a), id16(b)));
  for (const name of ['setresuid32', 'setresgid32']) T.define(name, (_t, a, b, c) => same(a, b, c));
  for (const name of ['setresuid', 'setresgid'])
    T.define(name, (_t, a, b, c) => same(id16(a), id16(b), id16(c)));
  // setfsuid/setfsgid never fail: they return the old id, and change nothing another id would.
  for (const name of ['setfsuid', 'setfsgid', 'setfsuid32', 'setfsgid32']) T.define(name, () => 1000);
  // getresuid/getresgid: real, effective and saved ids, 32-bit or 16-bit (old_uid_t) each.
  const getres = (a: number, b: number, c: number, size: 2 | 4) => {
    for (const at of [a, b, c]) {
      if (!k.userRange(at, size, true)) return -EFAULT;
      if (size === 4) k.mem.write32(at, 1000);
      else k.mem.write16(at, 1000);
    }
    return 0;
  };
  for (const name of ['getresuid32', 'getresgid32']) T.define(name, (_t, a, b, c) => getres(a, b, c, 4));
  for (const name of ['getresuid', 'getresgid']) T.define(name, (_t, a, b, c) => getres(a, b, c, 2));
  // setgroups needs CAP_SETGID (EPERM before the size is looked at).
  for (const name of ['setgroups', 'setgroups32']) T.define(name, () => -EPERM);
  T.define('prctl', (t, option, arg2) => prctl(k, t, option, arg2));
  T.define('unshare', (t, flags) => unshare(t, flags));
  T.define('ptrace', (_t, request, pid) => ptrace(k, request, pid));
  // No supplementary groups (the user is uid/gid 1000 and nothing else).
  T.define('getgroups', (_t, size) => (size < 0 ? -EINVAL : 0));
  T.define('getgroups32', (_t, size) => (size < 0 ? -EINVAL : 0));
  T.define('getrandom', (_t, a, b) => getrandom(k, a, b), { input: true });
  // Until the signals module redefines these: dispositions are accepted and default actions apply.
  T.define('rt_sigaction', (_t, _a, _b, c) => {
    if (c && !k.userRange(c, 20, true)) return -EFAULT;
    if (c) k.mem.writeBytes(c, new Uint8Array(20));
    return 0;
  });
  T.define('rt_sigprocmask', (_t, _a, _b, c) => {
    if (c && k.userRange(c, 8, true)) k.mem.writeBytes(c, new Uint8Array(8));
    return 0;
  });
  T.define('sigaltstack', () => 0);
  // Refused on purpose (not counted as unimplemented): glibc falls back to what it did before them.
  T.define('rseq', () => -ENOSYS);
  T.define('clone3', () => -ENOSYS);
  T.define('tgkill', (t, a, b, c) => tgkill(k, t, a, b, c));
  T.define('tkill', (t, a, b) => tgkill(k, t, k.m.tasks.get(a)?.process.pid ?? -1, a, b));
}
