// Resource limits: the per-process table (inherited by fork, kept across exec) and the calls that
// read and set it: getrlimit (the old one, capped at 0x7fffffff), ugetrlimit, setrlimit and
// prlimit64. Guarantees, as Linux kernel/sys.c do_prlimit for an unprivileged user: an unknown
// resource is EINVAL, a soft limit above the hard one EINVAL, raising a hard limit EPERM, a
// RLIMIT_NOFILE above nr_open (1048576) EPERM; RLIMIT_NOFILE's soft limit is what the descriptor
// table enforces (EMFILE, and EBADF/EINVAL for dup2/F_DUPFD at or above it); RLIMIT_AS is enforced by
// os/mm.ts beside the machine's --mem (the lower wins). The other limits are
// kept and reported but not enforced; RLIMIT_CORE starts at 0 and the emulator never writes a core
// file, so no wait status carries the core-dump bit (0x80), as on Linux when no core was written.

import type { Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { EFAULT, EINVAL, EPERM, ESRCH } from './errno.js';
import type { Process } from './process.js';

export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_AS = 9;
const RLIM_NLIMITS = 16;
const NR_OPEN = 1048576;
const INF = Infinity;
const MiB = 1024 * 1024;

/** Linux's defaults for a login session (init_task's table; NOFILE 1024/4096, CORE 0, STACK 8 MiB). */
const DEFAULTS: ReadonlyArray<readonly [number, number]> = [
  [INF, INF], // CPU
  [INF, INF], // FSIZE
  [INF, INF], // DATA
  [8 * MiB, INF], // STACK
  [0, INF], // CORE
  [INF, INF], // RSS
  [INF, INF], // NPROC
  [1024, 4096], // NOFILE
  [8 * MiB, 8 * MiB], // MEMLOCK
  [INF, INF], // AS
  [INF, INF], // LOCKS
  [INF, INF], // SIGPENDING
  [819200, 819200], // MSGQUEUE
  [0, 0], // NICE
  [0, 0], // RTPRIO
  [INF, INF], // RTTIME
];

/** A process's limits: soft and hard per resource (Infinity = RLIM_INFINITY). */
export class RLimits {
  readonly cur = new Float64Array(RLIM_NLIMITS);
  readonly max = new Float64Array(RLIM_NLIMITS);

  constructor(from?: RLimits) {
    for (let r = 0; r < RLIM_NLIMITS; r++) {
      this.cur[r] = from ? from.cur[r]! : DEFAULTS[r]![0];
      this.max[r] = from ? from.max[r]! : DEFAULTS[r]![1];
    }
  }
}

/** The limits of `p`, created with the defaults on first use (fork copies them: inheritLimits). */
export function limitsOf(p: Process): RLimits {
  return (p.rlimits ??= new RLimits());
}

/** fork(): the child gets a copy of the parent's table. */
export function inheritLimits(parent: Process, child: Process): void {
  if (parent.rlimits) child.rlimits = new RLimits(parent.rlimits);
}

/** do_prlimit(): checks and applies a new pair, returning the old one through `old`. */
function setLimit(p: Process, res: number, cur: number, max: number): number {
  if (cur > max) return -EINVAL;
  if (res === RLIMIT_NOFILE && max > NR_OPEN) return -EPERM;
  const l = limitsOf(p);
  if (max > l.max[res]!) return -EPERM; // raising a hard limit needs CAP_SYS_RESOURCE
  l.cur[res] = cur;
  l.max[res] = max;
  if (res === RLIMIT_NOFILE) p.fds.limit = cur;
  return 0;
}

/** A limit as 32-bit rlimit words: anything not representable is RLIM_INFINITY (0xffffffff). */
function to32(v: number, old: boolean): number {
  if (old) return Math.min(v, 0x7fffffff);
  return v >= 0xffffffff ? 0xffffffff : v;
}

function from32(v: number): number {
  return v >>> 0 === 0xffffffff ? INF : v >>> 0;
}

function from64(lo: number, hi: number): number {
  if (lo >>> 0 === 0xffffffff && hi >>> 0 === 0xffffffff) return INF;
  return (hi >>> 0) * 4294967296 + (lo >>> 0);
}

function getrlimit(k: Kernel, t: Task, res: number, buf: number, old: boolean): number {
  if (res >>> 0 >= RLIM_NLIMITS) return -EINVAL;
  if (!k.userRange(buf, 8, true)) return -EFAULT;
  const l = limitsOf(t.process);
  k.mem.write32(buf, to32(l.cur[res]!, old));
  k.mem.write32(buf + 4, to32(l.max[res]!, old));
  return 0;
}

function setrlimit(k: Kernel, t: Task, res: number, buf: number): number {
  if (res >>> 0 >= RLIM_NLIMITS) return -EINVAL;
  const cur = k.get32(buf);
  const max = k.get32(buf + 4);
  if (cur === null || max === null) return -EFAULT;
  return setLimit(t.process, res, from32(cur), from32(max));
}

function prlimit64(k: Kernel, t: Task, pid: number, res: number, newp: number, oldp: number): number {
  const p = pid === 0 ? t.process : k.m.processes.get(pid);
  if (!p || p.state !== 'alive') return -ESRCH;
  if (res >>> 0 >= RLIM_NLIMITS) return -EINVAL;
  let next: [number, number] | null = null;
  if (newp) {
    if (!k.userRange(newp, 16, false)) return -EFAULT;
    const m = k.mem;
    next = [from64(m.read32(newp), m.read32(newp + 4)), from64(m.read32(newp + 8), m.read32(newp + 12))];
  }
  const l = limitsOf(p);
  const was = [l.cur[res]!, l.max[res]!];
  if (next) {
    const r = setLimit(p, res, next[0], next[1]);
    if (r < 0) return r;
  }
  if (oldp) {
    // Written after the change, as Linux does: a bad pointer is EFAULT with the new limit in force.
    if (!k.userRange(oldp, 16, true)) return -EFAULT;
    for (let i = 0; i < 2; i++) {
      const v = was[i]!;
      k.mem.write32(oldp + 8 * i, v === INF ? 0xffffffff : v % 4294967296);
      k.mem.write32(oldp + 8 * i + 4, v === INF ? 0xffffffff : Math.floor(v / 4294967296));
    }
  }
  return 0;
}

export function registerRlimits(k: Kernel): void {
  const T = k.table;
  T.define('getrlimit', (t, a, b) => getrlimit(k, t, a, b, true));
  T.define('ugetrlimit', (t, a, b) => getrlimit(k, t, a, b, false));
  T.define('setrlimit', (t, a, b) => setrlimit(k, t, a, b));
  T.define('prlimit64', (t, a, b, c, d) => prlimit64(k, t, a, b, c, d));
}
