// The emulated SMP machine: one process (address space, files, brk) whose threads are tasks, N virtual
// CPUs, a deterministic scheduler and the virtual clock. Guarantees: the same binary, inputs, options
// and seed give the same instruction counts, scheduling and output on every run (no host time or
// randomness is consulted); all vCPUs advance in rounds of virtual time so timestamps are comparable
// across CPUs; a run ends with an exit status, a fatal signal, the instruction budget, or a deadlock
// report naming who waits on what — never a hang.
//
// NOTE for test-harness authors: this sandbox's kernel cannot execute i386 binaries natively (IA-32
// emulation is off: execve gives ENOEXEC and the 0x23 compat code segment faults). Use qemu-i386
// (installed by apt) as the reference implementation for outputs and `qemu-i386 -one-insn-per-tb -d cpu`
// for per-instruction registers; real-CPU flag oracles must come from x86-64 native code working on
// 8/16/32-bit operands (same instruction semantics).

import { CodeCache } from './codecache.js';
import {
  ATTN_CODE,
  Cpu,
  EAX,
  ESP,
  VEC_BP,
  VEC_DB,
  VEC_DE,
  VEC_MF,
  VEC_PF,
  VEC_UD,
  VEC_XM,
  type CpuHost,
} from './cpu.js';
import { cpuModel, type CpuModel } from './cpuid.js';
import { ElfError, parseElf } from './elf.js';
import { HostFiles } from './hostfiles.js';
import { loadElf } from './loader.js';
import { Memory, PROT_READ, PROT_WRITE } from './memory.js';
import { Prng } from './prng.js';
import { Kernel } from './syscalls.js';
import type { SymbolTable } from './symbols.js';
import type { FileSource } from './types.js';

export { ElfError };

export const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  31: 'SIGSYS',
};

export type TaskState = 'runnable' | 'running' | 'blocked' | 'sleeping' | 'zombie';

export class Task {
  state: TaskState = 'runnable';
  /** What a blocked task waits for (for deadlock reports). */
  waitDesc = '';
  futexAddr = -1;
  futexBitset = -1;
  /** Virtual time (cycles) at which a sleeping/timed-wait task wakes; -1 = none. */
  wakeAt = -1;
  clearChildTid = 0;
  robustList = 0;
  exitCode = 0;
  /** Last vCPU the task ran on (-1 = never ran). */
  lastCpu = -1;
  startTs = 0;
  endTs = -1;
  name: string;
  constructor(
    readonly tid: number,
    readonly cpu: Cpu,
    readonly parentTid: number,
    name: string,
  ) {
    this.name = name;
  }
}

export interface MachineOptions {
  argv: string[];
  env?: string[];
  /** Directories the guest may read (default: the current directory). */
  allowRead?: string[];
  cwd?: string;
  /** Overrides allowRead: where guest file opens are served from (the recorder/replay wrap this). */
  files?: FileSource;
  stdin?: Uint8Array;
  /** CPU model (cpuid.ts's CPU_MODELS: 'pentium2', 'pentium4'); default DEFAULT_CPU_MODEL. */
  cpuModel?: string;
  cpus?: number;
  preempt?: boolean;
  seed?: number;
  chaos?: boolean;
  maxInstructions?: number;
  /**
   * Stop after this many scheduling rounds (status 'truncated'). A recording interrupted between
   * rounds stores its round count here, so a replay stops at exactly the same point.
   */
  maxRounds?: number;
  /** Virtual clock rate used to convert cycles to guest nanoseconds (default 1000 MHz). */
  mhz?: number;
  /** Instructions a vCPU runs per scheduling round (default 200). */
  quantum?: number;
  /** Cycles between timer ticks when preemption is on (default 4000). */
  tick?: number;
  onStdout?: (b: Uint8Array) => void;
  onStderr?: (b: Uint8Array) => void;
  /** Keep a copy of all guest output in the RunResult (default true). */
  captureOutput?: boolean;
}

export interface RunResult {
  status: 'exited' | 'signaled' | 'truncated' | 'deadlock';
  exitCode: number | null;
  signal: number | null;
  signalName: string | null;
  faultAddr: number | null;
  /** One-line reason for signals and deadlocks (what, where). */
  message: string;
  dump: string;
  instructions: number;
  cycles: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  enosys: Record<string, number>;
}

export type SchedReason = 'start' | 'block' | 'sleep' | 'yield' | 'preempt' | 'exit' | 'wake' | 'idle';

/** Observer callbacks for the recorder and tests. All are optional and called synchronously. */
export interface MachineHooks {
  /** Return true if the hook handled the syscall itself (EAX set); the kernel then skips it. */
  beforeSyscall?: (cpu: Cpu, nr: number) => boolean;
  /**
   * Exception handlers in order (the probe engine first, as kprobes is first on Linux's die chain).
   * Return true when handled.
   */
  exceptionHandlers: Array<(task: Task, vector: number, code: number, addr: number) => boolean>;
  onSched?: (ts: number, cpu: number, prevTid: number, nextTid: number, reason: SchedReason) => void;
  onTaskStart?: (task: Task, ts: number) => void;
  onTaskExit?: (task: Task, ts: number) => void;
  onOutput?: (fd: number, ts: number, data: Uint8Array) => void;
  /** Every nondeterministic input the kernel consumed (stdin bytes, getrandom bytes). */
  onInput?: (kind: string, key: string, data: Uint8Array) => void;
  /** Task exit/exec recycling hook for kretprobe instances (K19); called before onTaskExit. */
  onTaskFlush?: (task: Task) => void;
  /** Execution hooks at addresses (observer API): called before the instruction at addr runs. */
  onExecHook?: (task: Task, addr: number) => void;
}

interface Vcpu {
  id: number;
  task: Task | null;
  /** Local virtual time in cycles. */
  clock: number;
  nextTick: number;
}

export class Machine implements CpuHost {
  readonly memory = new Memory();
  readonly cache: CodeCache;
  readonly kernel: Kernel;
  readonly tasks = new Map<number, Task>();
  readonly hooks: MachineHooks = { exceptionHandlers: [] };
  readonly vcpus: Vcpu[];
  readonly ncpus: number;
  readonly preempt: boolean;
  readonly chaos: boolean;
  readonly seed: number;
  readonly mhz: number;
  readonly prng: Prng;
  symbols!: SymbolTable;
  entry = 0;
  /** Main task's context (tests single-step it). */
  cpu!: Cpu;
  mainTask!: Task;
  private runQueue: Task[] = [];
  private pendingWake: Task[] = [];
  private nextTid = 1000;
  private quantum: number;
  private tickInterval: number;
  private maxInstructions: number;
  private maxRounds: number;
  private rounds = 0;
  /** Virtual time at the start of the current round. */
  private roundStart = 0;
  /** The vCPU and task executing right now, and where its slice began. */
  curVcpu: Vcpu | null = null;
  curTask: Task | null = null;
  private sliceClock = 0;
  private sliceRetired = 0;
  totalInstructions = 0;
  result: RunResult | null = null;
  private stdoutChunks: Uint8Array[] = [];
  private stderrChunks: Uint8Array[] = [];
  private captureOutput: boolean;
  readonly options: MachineOptions;
  readonly model: CpuModel;
  /** Addresses with execution hooks (observer). */
  readonly execHooks = new Set<number>();
  contextSwitches = 0;

  static load(bytes: Uint8Array, opts: MachineOptions): Machine {
    return new Machine(bytes, opts);
  }

  constructor(bytes: Uint8Array, opts: MachineOptions) {
    this.options = opts;
    const cpus = opts.cpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64)
      throw new RangeError(`cpus must be 1..64, got ${cpus}`);
    this.ncpus = cpus;
    this.model = cpuModel(opts.cpuModel);
    this.preempt = opts.preempt ?? true;
    this.chaos = opts.chaos ?? false;
    this.seed = opts.seed ?? 1;
    this.mhz = opts.mhz ?? 1000;
    // Short slices interleave vCPUs finely; a uniprocessor needs them only for timer granularity.
    this.quantum = opts.quantum ?? (cpus === 1 ? 1000 : 200);
    this.tickInterval = opts.tick ?? 4000;
    this.maxInstructions = opts.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    this.maxRounds = opts.maxRounds ?? Number.MAX_SAFE_INTEGER;
    this.captureOutput = opts.captureOutput ?? true;
    this.prng = new Prng(this.seed);
    this.cache = new CodeCache(this.memory);
    this.cache.onInvalidate = () => {
      const cpu = this.curTask?.cpu;
      if (cpu && cpu.attention === 0) cpu.attention = ATTN_CODE;
    };
    this.vcpus = [];
    for (let k = 0; k < cpus; k++) {
      const phase = this.chaos ? this.prng.range(1, this.tickInterval) : this.tickInterval;
      this.vcpus.push({ id: k, task: null, clock: 0, nextTick: phase });
    }
    const image = parseElf(bytes);
    const cwd = opts.cwd ?? process.cwd();
    const files = opts.files ?? new HostFiles(opts.allowRead ?? [cwd], cwd);
    this.kernel = new Kernel(this, files, cwd, opts.stdin ?? new Uint8Array(0));
    const argv = opts.argv.length > 0 ? opts.argv : ['a.out'];
    const random = new Prng(this.seed ^ 0x5a5a5a5a).bytes(16);
    const loaded = loadElf(this.memory, image, bytes, {
      argv,
      envp: opts.env ?? [],
      execfn: argv[0]!,
      random,
      hwcap: this.model.features,
      uid: 1000,
      gid: 1000,
    });
    this.symbols = loaded.symbols;
    this.entry = loaded.entry;
    this.kernel.setBrk(loaded.brkStart);
    const cpu = new Cpu(this.memory, this.cache, this, this.model);
    cpu.eip = loaded.entry >>> 0;
    cpu.regs[ESP] = loaded.sp;
    cpu.fpu.reset();
    this.cpu = cpu;
    const main = new Task(this.allocTid(), cpu, 0, basename(argv[0]!));
    this.mainTask = main;
    this.tasks.set(main.tid, main);
    this.runQueue.push(main);
    this.hooks.onTaskStart?.(main, 0);
  }

  allocTid(): number {
    return this.nextTid++;
  }

  /** Cycles → guest nanoseconds. */
  cyclesToNs(c: number): number {
    return Math.floor((c * 1000) / this.mhz);
  }

  nsToCycles(ns: number): number {
    return Math.ceil((ns * this.mhz) / 1000);
  }

  /** Current virtual time on the executing vCPU (exact to the instruction). */
  now(): number {
    const t = this.curTask;
    if (!t) return this.roundStart;
    return this.sliceClock + (t.cpu.retiredNow() - this.sliceRetired);
  }

  get currentCpuId(): number {
    return this.curVcpu ? this.curVcpu.id : 0;
  }

  // ---------------------------------------------------------------- CpuHost

  syscall(cpu: Cpu): void {
    const nr = cpu.regs[EAX]!;
    if (this.hooks.beforeSyscall?.(cpu, nr)) return;
    this.kernel.syscall(this.curTask!, nr);
  }

  rdtsc(_cpu: Cpu): number {
    return this.now();
  }

  exception(cpu: Cpu, vector: number, code: number, addr: number): void {
    const task = this.curTask ?? this.mainTask;
    for (const h of this.hooks.exceptionHandlers) if (h(task, vector, code, addr)) return;
    this.deliverFault(task, vector, code, addr);
    cpu.attention = 1;
  }

  /** Turns an unclaimed exception into the signal Linux sends (default action: the process dies). */
  deliverFault(task: Task, vector: number, _code: number, addr: number): void {
    let sig = 11;
    let what = 'general protection fault';
    switch (vector) {
      case VEC_DE:
        sig = 8;
        what = 'divide error';
        break;
      case VEC_DB:
        sig = 5;
        what = 'trace trap';
        break;
      case VEC_BP:
        sig = 5;
        what = 'breakpoint (int3)';
        break;
      case VEC_UD:
        sig = 4;
        what = 'invalid opcode';
        break;
      case VEC_PF:
        sig = 11;
        what = `page fault at 0x${(addr >>> 0).toString(16)}`;
        break;
      case VEC_MF:
        sig = 8;
        what = 'x87 fault';
        break;
      case VEC_XM:
        sig = 8;
        what = 'SIMD floating-point exception';
        break;
    }
    const eip = task.cpu.eip >>> 0;
    const where = this.symbols.symbolize(eip);
    const loc = where ? `${where.sym.name}+0x${where.offset.toString(16)}` : '?';
    this.killProcess(
      sig,
      `${what} at eip 0x${eip.toString(16)} (${loc}) in task ${task.tid}`,
      task,
      vector === VEC_PF ? addr : null,
    );
  }

  // ---------------------------------------------------------------- process and task lifecycle

  private finish(r: Omit<RunResult, 'stdout' | 'stderr' | 'enosys' | 'instructions' | 'cycles'>): void {
    if (this.result) return;
    const cycles = this.maxClock();
    this.result = {
      ...r,
      instructions: this.totalInstructions,
      cycles,
      stdout: concat(this.stdoutChunks),
      stderr: concat(this.stderrChunks),
      enosys: { ...this.kernel.enosys },
    };
    for (const t of this.tasks.values()) {
      if (t.state !== 'zombie') this.endTask(t, t === this.curTask ? this.now() : cycles);
      t.cpu.attention = 1;
    }
  }

  private maxClock(): number {
    let m = this.roundStart;
    for (const v of this.vcpus) m = Math.max(m, v.clock);
    if (this.curTask) m = Math.max(m, this.now());
    return m;
  }

  killProcess(sig: number, message: string, task: Task | null, faultAddr: number | null): void {
    this.finish({
      status: 'signaled',
      exitCode: null,
      signal: sig,
      signalName: SIGNAL_NAMES[sig] ?? `signal ${sig}`,
      faultAddr,
      message: `${SIGNAL_NAMES[sig] ?? 'signal ' + sig}: ${message}`,
      dump: task ? task.cpu.dump() : '',
    });
  }

  exitGroup(code: number): void {
    this.finish({
      status: 'exited',
      exitCode: code & 0xff,
      signal: null,
      signalName: null,
      faultAddr: null,
      message: `exited with status ${code & 0xff}`,
      dump: '',
    });
  }

  private endTask(t: Task, ts: number): void {
    if (t.state === 'zombie') return;
    t.state = 'zombie';
    t.endTs = ts;
    this.hooks.onTaskFlush?.(t);
    this.hooks.onTaskExit?.(t, ts);
  }

  /** A thread exits (exit(2)): CLONE_CHILD_CLEARTID handling; the process ends with its last thread. */
  exitThread(t: Task, code: number): void {
    t.exitCode = code;
    if (t.clearChildTid) {
      try {
        this.memory.write32(t.clearChildTid, 0);
      } catch {
        // Linux ignores a fault here too.
      }
      this.kernel.futexWake(t.clearChildTid, 1, -1);
    }
    this.endTask(t, this.now());
    t.cpu.attention = 1;
    let alive = 0;
    for (const x of this.tasks.values()) if (x.state !== 'zombie') alive++;
    if (alive === 0) this.exitGroup(code);
  }

  /** Creates a thread (clone with CLONE_VM|CLONE_THREAD). */
  spawnThread(parent: Task, newSp: number): Task {
    const cpu = new Cpu(this.memory, this.cache, this, this.model);
    cpu.copyFrom(parent.cpu);
    cpu.fpu.reset();
    if (newSp) cpu.regs[ESP] = newSp;
    cpu.regs[EAX] = 0;
    const t = new Task(this.allocTid(), cpu, parent.tid, parent.name);
    t.startTs = this.now();
    this.tasks.set(t.tid, t);
    this.pendingWake.push(t);
    this.hooks.onTaskStart?.(t, t.startTs);
    return t;
  }

  /** Blocks the current task; the scheduler switches away after the current instruction. */
  block(t: Task, desc: string, wakeAt = -1): void {
    t.state = wakeAt >= 0 && t.futexAddr < 0 ? 'sleeping' : 'blocked';
    t.waitDesc = desc;
    t.wakeAt = wakeAt;
    t.cpu.attention = 1;
  }

  /** Makes a blocked task runnable at the next round; `result` goes to its EAX. */
  wake(t: Task, result: number): void {
    if (t.state !== 'blocked' && t.state !== 'sleeping') return;
    t.cpu.regs[EAX] = result;
    t.state = 'runnable';
    t.futexAddr = -1;
    t.wakeAt = -1;
    t.waitDesc = '';
    this.pendingWake.push(t);
  }

  yieldCurrent(): void {
    const t = this.curTask;
    if (t) {
      t.cpu.attention = 1;
      this.yieldRequested = true;
    }
  }
  private yieldRequested = false;

  // ---------------------------------------------------------------- execution hooks (observer)

  /** Calls `hooks.onExecHook` before the instruction at `addr` executes (no guest memory changes). */
  addExecHook(addr: number): void {
    this.execHooks.add(addr >>> 0);
    this.cache.setHooks(this.execHooks);
    this.cache.invalidatePage(addr >>> 12);
  }

  removeExecHook(addr: number): void {
    this.execHooks.delete(addr >>> 0);
    this.cache.invalidatePage(addr >>> 12);
  }

  onHook(cpu: Cpu, addr: number): void {
    const t = this.curTask;
    if (t && t.cpu === cpu) this.hooks.onExecHook?.(t, addr);
  }

  // ---------------------------------------------------------------- scheduling

  /** Runs until the process ends, the instruction or round budget is spent, or a deadlock. */
  run(): RunResult {
    while (!this.result) this.nextRound();
    // finish() ran inside the last slice; count that slice now that the scheduler has added it.
    const r = this.result as RunResult;
    r.instructions = this.totalInstructions;
    r.cycles = Math.max(r.cycles, this.maxClock());
    return r;
  }

  /**
   * Runs whole scheduling rounds until the run is over (returns its result, as run() does) or at
   * least `instructions` more have retired (returns null; call again to go on). Lets a caller
   * yield to its event loop between rounds without changing what the guest does.
   */
  runFor(instructions: number): RunResult | null {
    const until = this.totalInstructions + instructions;
    while (!this.result && this.totalInstructions < until) this.nextRound();
    return this.result ? this.run() : null;
  }

  /**
   * Ends a run paused between rounds by runFor() (e.g. on SIGINT) as 'truncated' after the rounds
   * done so far; roundsRun then says what `maxRounds` reproduces the same run.
   */
  interrupt(): RunResult {
    if (!this.result) this.maxRounds = this.rounds;
    return this.run();
  }

  /** Scheduling rounds completed so far. */
  get roundsRun(): number {
    return this.rounds;
  }

  private nextRound(): void {
    if (this.rounds >= this.maxRounds) {
      this.truncate(`stopped after ${this.rounds} scheduling rounds`);
      return;
    }
    this.round();
    this.rounds++;
  }

  /**
   * Takes `n` instructions off the executing vCPU's clock and the instruction count. The probe
   * engine uses it so its own breakpoint traps cost no guest time (kprobes.md: handlers cost zero
   * guest cycles): a run's schedule then does not depend on which probes are attached.
   */
  discountInstructions(n: number): void {
    const v = this.curVcpu;
    if (!v) return;
    v.clock -= n;
    this.sliceClock -= n;
    this.totalInstructions -= n;
  }

  /**
   * Executes exactly one instruction of the main task (one string-instruction iteration) on vCPU 0,
   * for lockstep testing of single-threaded programs.
   */
  step(): 'ok' | 'syscall' | 'exited' | 'signal' {
    if (this.result) return this.result.status === 'signaled' ? 'signal' : 'exited';
    const t = this.mainTask;
    const v = this.vcpus[0]!;
    if (v.task !== t) {
      this.runQueue = this.runQueue.filter((x) => x !== t);
      v.task = t;
      t.state = 'running';
      t.lastCpu = 0;
    }
    const wasSyscall = this.isSyscallAt(t.cpu.eip);
    this.curVcpu = v;
    this.curTask = t;
    this.sliceClock = v.clock;
    this.sliceRetired = t.cpu.retired;
    t.cpu.stepping = true;
    const n = t.cpu.run(1);
    t.cpu.stepping = false;
    v.clock += n;
    this.totalInstructions += n;
    this.curTask = null;
    this.curVcpu = null;
    if (this.result) return (this.result as RunResult).status === 'signaled' ? 'signal' : 'exited';
    return wasSyscall ? 'syscall' : 'ok';
  }

  private isSyscallAt(eip: number): boolean {
    try {
      const b = this.memory.peek(eip, 2);
      return b[0] === 0xcd && b[1] === 0x80;
    } catch {
      return false;
    }
  }

  private pick(v: Vcpu, prev: Task | null, reason: SchedReason): Task | null {
    const next = this.runQueue.shift() ?? null;
    if (next) {
      next.state = 'running';
      next.lastCpu = v.id;
    }
    v.task = next;
    if (prev !== next) {
      this.contextSwitches++;
      this.hooks.onSched?.(v.clock, v.id, prev ? prev.tid : 0, next ? next.tid : 0, reason);
    }
    return next;
  }

  private round(): void {
    const roundEnd = this.roundStart + this.quantum;
    // Wake sleepers whose time has come, in deterministic (tid) order, then the tasks woken last round.
    for (const t of this.tasks.values()) {
      if ((t.state === 'sleeping' || t.state === 'blocked') && t.wakeAt >= 0 && t.wakeAt <= this.roundStart) {
        const futexTimeout = t.futexAddr >= 0;
        if (futexTimeout) this.kernel.futexCancel(t);
        this.wake(t, futexTimeout ? -110 : 0);
      }
    }
    for (const t of this.pendingWake) if (t.state === 'runnable') this.runQueue.push(t);
    this.pendingWake = [];
    let anyRan = false;
    for (const v of this.vcpus) {
      if (this.result) return;
      if (v.clock < this.roundStart) v.clock = this.roundStart;
      const end = this.chaos
        ? this.roundStart + this.prng.range(this.quantum >> 2, this.quantum * 2)
        : roundEnd;
      while (v.clock < end && !this.result) {
        let t = v.task;
        if (!t) {
          t = this.pick(v, null, 'start');
          if (!t) break;
        }
        let budget = end - v.clock;
        if (this.preempt && v.nextTick - v.clock < budget) budget = Math.max(1, v.nextTick - v.clock);
        const left = this.maxInstructions - this.totalInstructions;
        if (left <= 0) {
          this.truncate();
          return;
        }
        if (budget > left) budget = left;
        this.curVcpu = v;
        this.curTask = t;
        this.sliceClock = v.clock;
        this.sliceRetired = t.cpu.retired;
        this.yieldRequested = false;
        const n = t.cpu.run(budget);
        this.curTask = null;
        this.curVcpu = null;
        anyRan = true;
        v.clock += n;
        this.totalInstructions += n;
        if (this.result) return;
        if (this.preempt && v.clock >= v.nextTick) {
          v.nextTick += this.chaos
            ? this.prng.range(this.tickInterval >> 1, this.tickInterval * 2)
            : this.tickInterval;
          if (
            t.state === 'running' &&
            this.runQueue.length > 0 &&
            !this.yieldRequested &&
            t.cpu.interruptsEnabled()
          ) {
            t.state = 'runnable';
            this.runQueue.push(t);
            this.pick(v, t, 'preempt');
            continue;
          }
        }
        if (t.state === 'zombie') this.pick(v, t, 'exit');
        else if (t.state === 'blocked' || t.state === 'sleeping')
          this.pick(v, t, t.state === 'sleeping' ? 'sleep' : 'block');
        else if (this.yieldRequested) {
          this.yieldRequested = false;
          if (this.runQueue.length > 0) {
            t.state = 'runnable';
            this.runQueue.push(t);
            this.pick(v, t, 'yield');
          }
        }
        if (n === 0 && v.task === t && t.state === 'running' && !this.result) {
          // A handler stopped the task without retiring anything (e.g. a probe redirect): keep going.
          continue;
        }
      }
      if (v.clock < end) v.clock = end;
      if (this.preempt && v.nextTick <= v.clock) {
        while (v.nextTick <= v.clock) v.nextTick += this.tickInterval;
      }
    }
    if (this.result) return;
    this.roundStart = roundEnd;
    if (
      !anyRan &&
      this.runQueue.length === 0 &&
      this.pendingWake.length === 0 &&
      this.vcpus.every((v) => !v.task)
    ) {
      // Every CPU idle: jump the clock to the next timer, or report the deadlock.
      let next = Infinity;
      let alive = 0;
      for (const t of this.tasks.values()) {
        if (t.state === 'zombie') continue;
        alive++;
        if (t.wakeAt >= 0) next = Math.min(next, t.wakeAt);
      }
      if (alive === 0) {
        this.exitGroup(this.mainTask.exitCode);
        return;
      }
      if (next === Infinity) {
        const waits = [...this.tasks.values()]
          .filter((t) => t.state !== 'zombie')
          .map((t) => `task ${t.tid} waits on ${t.waitDesc || t.state}`)
          .join('; ');
        this.finish({
          status: 'deadlock',
          exitCode: null,
          signal: null,
          signalName: null,
          faultAddr: null,
          message: `deadlock: every task is blocked and no timer is pending: ${waits}`,
          dump: '',
        });
        return;
      }
      if (next > this.roundStart) {
        const q = this.quantum;
        this.roundStart = this.roundStart + Math.ceil((next - this.roundStart) / q) * q;
        for (const v of this.vcpus) {
          v.clock = this.roundStart;
          if (this.preempt) while (v.nextTick <= v.clock) v.nextTick += this.tickInterval;
        }
      }
    }
  }

  private truncate(
    message = `stopped at the instruction budget (${this.maxInstructions} instructions)`,
  ): void {
    const t = this.curTask ?? this.mainTask;
    this.finish({
      status: 'truncated',
      exitCode: null,
      signal: null,
      signalName: null,
      faultAddr: null,
      message,
      dump: t.cpu.dump(),
    });
  }

  // ---------------------------------------------------------------- output

  output(fd: number, data: Uint8Array): void {
    const copy = data.slice();
    if (this.captureOutput) (fd === 2 ? this.stderrChunks : this.stdoutChunks).push(copy);
    this.hooks.onOutput?.(fd, this.now(), copy);
    if (fd === 2) this.options.onStderr?.(copy);
    else this.options.onStdout?.(copy);
  }

  /** Readable memory check used by syscalls before touching guest buffers. */
  userRange(addr: number, len: number, write: boolean): boolean {
    if (len === 0) return true;
    for (let p = addr >>> 12; p <= (addr + len - 1) >>> 12; p++) {
      const prot = this.memory.perm[p]!;
      if (!(prot & PROT_READ)) return false;
      if (write && !(prot & PROT_WRITE)) return false;
    }
    return true;
  }
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return (i >= 0 ? p.slice(i + 1) : p).slice(0, 15);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
