// Ties the file system and sockets to a machine: the /dev/urandom source (the machine's seeded
// PRNG, reported as a 'random' input like getrandom), what /proc shows of the machine's processes,
// and the syscall rows. Called once from the Kernel constructor.

import type { Machine } from '../machine.js';
import { PAGE_MAPPED, PAGE_SHIFT } from '../memory.js';
import type { Kernel } from '../syscalls.js';
import type { Process } from './process.js';
import { MEM_BYTES } from './usage.js';
import { Net, registerNet } from './net-syscalls.js';
import type { ProcSource, ProcView } from './vfs-proc.js';
import { FileSystem, registerVfs } from './vfs-syscalls.js';

function procView(m: Machine, p: Process): ProcView {
  return {
    pid: p.pid,
    ppid: p.parent?.pid ?? 0,
    tids: p.threads.map((t) => t.tid),
    comm: p.comm,
    exe: p.exe.startsWith('/') ? p.exe : `${p.cwd === '/' ? '' : p.cwd}/${p.exe}`,
    cwd: p.cwd,
    argv: p.argv,
    state: p.state === 'alive' ? 'R (running)' : 'Z (zombie)',
    umask: p.umask,
    fds: () => p.fds.list().map((fd) => ({ fd, target: p.fds.get(fd)!.path || `anon_inode:[${fd}]` })),
    maps: () => {
      const perm = p.memory.perm;
      const out: Array<[number, number, number, string]> = [];
      let start = -1;
      let prot = 0;
      for (let pg = 0; pg <= perm.length; pg++) {
        const v = pg < perm.length ? perm[pg]! : 0;
        const mapped = (v & PAGE_MAPPED) !== 0;
        if (start >= 0 && (!mapped || (v & 7) !== prot)) {
          out.push([start << PAGE_SHIFT, pg << PAGE_SHIFT, prot, '']);
          start = -1;
        }
        if (mapped && start < 0) {
          start = pg;
          prot = v & 7;
        }
      }
      return out;
    },
    vmBytes: () => {
      let n = 0;
      for (const v of p.memory.perm) if (v & PAGE_MAPPED) n++;
      return n << PAGE_SHIFT;
    },
  };
}

export function attachFileSystem(k: Kernel, epochSec: number): { fs: FileSystem; net: Net } {
  const m = k.m;
  const proc: ProcSource = {
    current: () => {
      const t = m.currentTask ?? m.mainTask;
      return t ? procView(m, t.process) : null;
    },
    byPid: (pid) => {
      const p = m.processes.get(pid);
      return p && p.state !== 'reaped' ? procView(m, p) : null;
    },
    pids: () => [...m.processes.values()].filter((p) => p.state !== 'reaped').map((p) => p.pid),
    cpus: m.ncpus,
    memBytes: MEM_BYTES,
    mhz: m.mhz,
    uptimeNs: () => m.cyclesToNs(m.now()),
  };
  const random = (n: number) => {
    const data = m.prng.bytes(n);
    m.emitInput('random', '', data);
    return data;
  };
  const fs = new FileSystem(k, { random, proc, epochSec });
  registerVfs(k, fs);
  const net = new Net(k, fs);
  registerNet(k, net);
  return { fs, net };
}
