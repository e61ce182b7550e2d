// Process creation and image replacement: fork, vfork and clone without CLONE_THREAD (a new
// process sharing or copying the address space), and execve of static i386 ELF files the guest can
// read (and `#!` scripts). Guarantees: a fork child is an exact copy of the caller's address space
// (copied eagerly: Memory.clone), descriptor table (descriptions shared), cwd, umask, break,
// process group and session, and registers (x87, XMM and MXCSR included) with EAX = 0; a vfork
// parent sleeps until the child execs or exits; a failed execve leaves the caller untouched; a
// dynamic executable fails with ENOEXEC and one line on stderr; pids come from the machine's
// deterministic tid counter.

import { Cpu, EAX, ESP } from '../cpu.js';
import { ElfError, parseElf } from '../elf.js';
import { loadElf } from '../loader.js';
import type { Machine, Task } from '../machine.js';
import { inheritSched } from './sched.js';
import type { Kernel } from '../syscalls.js';
import { E2BIG, EAGAIN, EFAULT, EINVAL, ELOOP, ENOEXEC } from './errno.js';
import { resolvePath } from './files.js';
import { Process } from './process.js';
import { inheritLimits } from './rlimit.js';
import { BLOCKED } from './table.js';
import {
  CLONE_CHILD_CLEARTID,
  CLONE_CHILD_SETTID,
  CLONE_PARENT,
  CLONE_PARENT_SETTID,
  CLONE_SETTLS,
  CLONE_THREAD,
  CLONE_VFORK,
  CLONE_VM,
  installTls,
  readUserDesc,
  type UserDesc,
} from './threads.js';

/** Linux's MAX_ARG_STRLEN-like bounds on what execve copies (per string, and in all). */
const MAX_ARG_STRING = 128 * 1024;
const MAX_ARGS_TOTAL = 2 * 1024 * 1024;

/** clone(2) creating a process (no CLONE_THREAD); fork and vfork are clone with fixed flags. */
export function cloneProcess(
  k: Kernel,
  t: Task,
  flags: number,
  newSp: number,
  ptid: number,
  tls: number,
  ctid: number,
): number {
  if (flags & CLONE_THREAD) return -EINVAL;
  if (!k.m.mayCreateTask(t.process)) return -EAGAIN; // RLIMIT_NPROC (machine.ts maxTasks)
  let ud: UserDesc | null = null;
  if (flags & CLONE_SETTLS) {
    ud = readUserDesc(k, tls);
    if (!ud) return -EFAULT;
  }
  const m = k.m;
  const parent = t.process;
  const mm = flags & CLONE_VM ? parent.mm : m.newAddressSpace(parent.mm.memory.clone());
  const pid = m.allocTid();
  const realParent = flags & CLONE_PARENT && parent.parent ? parent.parent : parent;
  const child = new Process(pid, realParent, mm, {
    cwd: parent.cwd,
    exe: parent.exe,
    argv: parent.argv,
    symbols: parent.symbols,
    waker: m,
    fds: parent.fds.fork(),
  });
  child.umask = parent.umask;
  child.brkStart = parent.brkStart;
  child.brkCur = parent.brkCur;
  child.pgid = parent.pgid;
  child.sid = parent.sid;
  child.exitSignal = flags & 0xff;
  inheritLimits(parent, child);
  const cpu = new Cpu(mm.memory, mm.cache, m, m.model);
  cpu.copyFrom(t.cpu);
  // fpu_clone(): the child's x87 state is the parent's (XMM and MXCSR come with Cpu.copyFrom).
  cpu.fpu.copyFrom(t.cpu.fpu);
  if (newSp) cpu.regs[ESP] = newSp;
  cpu.regs[EAX] = 0;
  const task = m.createTask(pid, cpu, t.tid, t.name, child);
  inheritSched(t, task);
  child.threads.push(task);
  if (ud) installTls(task, ud);
  if (flags & CLONE_CHILD_CLEARTID) task.clearChildTid = ctid >>> 0;
  m.processes.set(pid, child);
  m.hooks.fork.each((h) => h(parent, child, m.now()));
  // SETTID writes: the parent's copy now, the child's in its own address space.
  if (flags & CLONE_PARENT_SETTID) k.put32(ptid, pid);
  if (flags & CLONE_CHILD_SETTID && mm.memory.rangeMapped(ctid, 4)) {
    try {
      mm.memory.writeBytes(ctid, new Uint8Array(new Int32Array([pid]).buffer));
    } catch {
      // Linux ignores a fault here.
    }
  }
  m.startTask(task);
  if (flags & CLONE_VFORK) {
    child.vforkParent = t;
    m.block(t, `vfork child ${pid}`);
    return BLOCKED;
  }
  return pid;
}

/** Reads a NULL-terminated array of string pointers (argv/envp). */
function readStrings(k: Kernel, addr: number, budget: { left: number }): string[] | number {
  const out: string[] = [];
  if (addr === 0) return out;
  for (let i = 0; ; i++) {
    const p = k.get32(addr + 4 * i);
    if (p === null) return -EFAULT;
    if (p === 0) return out;
    const s = k.cstring(p, MAX_ARG_STRING);
    if (s === null) return -EFAULT;
    budget.left -= s.length + 5;
    if (budget.left < 0) return -E2BIG;
    out.push(s);
  }
}

/** The bytes of an executable file the guest may read, or an errno. */
function readWhole(k: Kernel, path: string): Uint8Array | number {
  // Through the overlay file system (os/vfs-syscalls.ts): files the guest wrote can be executed too.
  return k.fs.execBytes(path);
}

/** execve(2). */
export function execve(k: Kernel, t: Task, pathAddr: number, argvAddr: number, envpAddr: number): number {
  const path = resolvePath(k, t, -100, pathAddr);
  if (typeof path === 'number') return path;
  const budget = { left: MAX_ARGS_TOTAL };
  const argv = readStrings(k, argvAddr, budget);
  if (typeof argv === 'number') return argv;
  const envp = readStrings(k, envpAddr, budget);
  if (typeof envp === 'number') return envp;
  return execPath(k, t, path, argv, envp, 0);
}

function execPath(k: Kernel, t: Task, path: string, argv: string[], envp: string[], depth: number): number {
  const bytes = readWhole(k, path);
  if (typeof bytes === 'number') return bytes;
  // `#!interpreter [arg]`: run the interpreter with the script's path (binfmt_script).
  if (bytes[0] === 0x23 && bytes[1] === 0x21) {
    if (depth >= 4) return -ELOOP;
    let end = bytes.indexOf(0x0a);
    if (end < 0) end = Math.min(bytes.length, 256);
    const line = Buffer.from(bytes.subarray(2, end)).toString('latin1').trim();
    const sp = line.search(/[ \t]/);
    const interp = sp < 0 ? line : line.slice(0, sp);
    const arg = sp < 0 ? '' : line.slice(sp).trim();
    if (!interp) return -ENOEXEC;
    const args = [interp, ...(arg ? [arg] : []), path, ...argv.slice(1)];
    return execPath(k, t, interp, args, envp, depth + 1);
  }
  let image;
  try {
    image = parseElf(bytes);
  } catch (e) {
    if (e instanceof ElfError && /dynamically linked/.test(e.message)) {
      k.m.output(2, new TextEncoder().encode(`probelab: cannot exec ${path}: ${e.message}\n`));
    }
    return -ENOEXEC;
  }
  return replaceImage(k.m, t, path, bytes, image, argv, envp);
}

function replaceImage(
  m: Machine,
  t: Task,
  path: string,
  bytes: Uint8Array,
  image: ReturnType<typeof parseElf>,
  argv: string[],
  envp: string[],
): number {
  const mm = m.newAddressSpace();
  let loaded;
  try {
    loaded = loadElf(mm.memory, image, bytes, {
      argv,
      envp,
      execfn: path,
      random: m.prng.bytes(16),
      hwcap: m.model.features,
      uid: 1000,
      gid: 1000,
    });
  } catch {
    return -ENOEXEC;
  }
  const p = t.process;
  // De-thread: every other thread of the group ends.
  for (const th of p.threads) if (th !== t && th.state !== 'zombie') m.retireTask(th);
  p.threads.length = 0;
  p.threads.push(t);
  p.mm = mm;
  p.exe = path;
  p.argv = argv;
  p.symbols = loaded.symbols;
  p.brkStart = p.brkCur = loaded.brkStart;
  p.execed = true;
  p.fds.closeOnExec();
  const old = t.cpu;
  const cpu = new Cpu(mm.memory, mm.cache, m, m.model);
  cpu.eip = loaded.entry >>> 0;
  cpu.regs[ESP] = loaded.sp;
  cpu.fpu.reset();
  // Keep the task's retired count continuous, so time inside the current slice stays exact.
  cpu.retired = old.retiredNow();
  old.attention = 1;
  t.cpu = cpu;
  t.clearChildTid = 0;
  t.robustList = 0;
  t.name = p.comm;
  m.execed(t, bytes);
  m.releaseVfork(p);
  return 0;
}
