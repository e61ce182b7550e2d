// The emulated SMP machine: guest processes (os/process.ts) whose threads are tasks, N virtual
// CPUs, a deterministic scheduler, the virtual clock and the hook lists (hooks.ts). Guarantees: the same binary, inputs, options
// and seed give the same instruction counts, scheduling and output on every run (no host time or
// randomness is consulted); all vCPUs advance in rounds of virtual time so timestamps are comparable
// across CPUs; a run ends with an exit status, a fatal signal, the instruction budget, or a deadlock
// report naming who waits on what — never a hang.

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
import { MachineHooks, type CodeHook, type HookId } from './hooks.js';
import { HostFiles } from './hostfiles.js';
import { loadElf } from './loader.js';
import { DEFAULT_MEM_LIMIT, Memory, PROT_READ, PROT_WRITE } from './memory.js';
import { OutputDesc, StdinDesc } from './os/files.js';
import { AddressSpace, Process, type ThreadSignals } from './os/process.js';
import { limitsOf, RLIMIT_NPROC } from './os/rlimit.js';
import { BLOCKED, type SyscallCount } from './os/table.js';
import { leaveAll, type WaitQueue } from './os/wait.js';
import { DEFAULT_ENV } from './notes.js';
import { MACHINE_DEFAULT_CPUS, cpusProblem } from './ncpus.js';
import { Prng } from './prng.js';
import { inheritSched } from './os/sched.js';
import { Kernel } from './syscalls.js';
import { keepFiles } from './os/vfs-keep.js';
import type { SymbolTable } from './symbols.js';
import type { FileSource } from './types.js';

export { ElfError };
export type { MachineHooks } from './hooks.js';

/**
 * The end of virtual time, in cycles (52 days at the default 1000 MHz). Below it every clock sum
 * the scheduler forms (clock + quantum, tick + interval) is an exact integer in a double; a run
 * whose tasks all wait for a moment past it is stopped ('truncated', with a message) instead of
 * sleeping on (Linux would sleep that long; nothing the guest could do afterwards is observable).
 */
export const CLOCK_LIMIT = 2 ** 52;

/**
 * Default for MachineOptions.maxTasks: the guest's threads and processes, together (RLIMIT_NPROC
 * counts both). Far above what thread pools and shells use, and chosen by host memory and time: a
 * guest thread costs about 20 KB of host memory, a guest process about 1.3 MB (its page tables;
 * memory itself is shared copy-on-write), so a fork bomb meets EAGAIN at about 0.7 GB peak RSS
 * (measured), where 4096 passed 5.3 GB and five minutes of host time.
 */
export const DEFAULT_MAX_TASKS = 512;

/**
 * The first tick of the grid `nextTick + k * interval` (k >= 0) that lies after `clock`: what adding
 * `interval` to `nextTick` until it passes `clock` gives, in one step. Exact below CLOCK_LIMIT.
 */
export function nextTickAfter(nextTick: number, clock: number, interval: number): number {
  if (nextTick > clock) return nextTick;
  return nextTick + (Math.floor((clock - nextTick) / interval) + 1) * interval;
}

/**
 * The longest slice that runs across round boundaries (coalesceEnd). Rounds of a lone task are 1,000
 * instructions, and returning to the scheduler after each, through the run loop and in and out of
 * compiled code, held fib(32) to 195 MIPS (328 coalesced).
 */
const COALESCE_MAX = 1 << 20;

/** Progress hooks are called at most once per this many retired instructions. */
export const PROGRESS_EVERY = 2_000_000;

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
  /** The syscall number of the call in progress (orig_eax: a restarted call re-issues it). */
  origEax = -1;
  /** A blocked call's continuation: run when the task is woken; BLOCKED means it waits again. */
  retry: (() => number) | null = null;
  /** Wait queues the task is on while blocked (see os/wait.ts). */
  readonly waitQueues: WaitQueue[] = [];
  /** Set when a timed wait ended by its timeout (the retry reads and clears it). */
  timedOut = false;
  /** Per-thread signal state, filled by the signals module. */
  signals: ThreadSignals = {};
  /**
   * Cycles this task has run (its CPU time; the probe engine's own traps are not counted), and
   * its voluntary (blocked or slept) and involuntary (preempted or yielded) context switches, as
   * Linux counts nvcsw/nivcsw: what getrusage and times report (os/usage.ts).
   */
  runCycles = 0;
  nvcsw = 0;
  nivcsw = 0;
  /**
   * sched_setscheduler's policy and priority and setpriority's nice value (os/sched.ts): kept and
   * reported, and inherited by threads and forks, but the scheduler treats every task alike.
   */
  policy = 0;
  rtPriority = 0;
  resetOnFork = false;
  nice = 0;
  /** vCPUs the task may run on (sched_setaffinity), one bit per vCPU; null: all of them. */
  affinity: Uint8Array | null = null;
  /** Runs when a blocked call is abandoned (a signal, the task's end) instead of retried. */
  onCancel: (() => void) | null = null;
  constructor(
    readonly tid: number,
    /** The register context; replaced by execve. */
    public cpu: Cpu,
    readonly parentTid: number,
    name: string,
    /** The thread group this task belongs to (tgid = process.pid). */
    public process: Process,
  ) {
    this.name = name;
  }
}

export interface MachineOptions {
  argv: string[];
  /** The guest's environment (default: notes.ts DEFAULT_ENV; guestEnv() adds --env entries). */
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
  /**
   * Run a lone task across round boundaries that provably do nothing (default true). Changes no
   * result, schedule or event: off is for the tests that show it.
   */
  coalesce?: boolean;
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
  /**
   * Threads and processes that may exist at once (live ones, and processes not yet reaped):
   * clone, fork and vfork beyond it fail with EAGAIN, as beyond RLIMIT_NPROC (default
   * DEFAULT_MAX_TASKS).
   */
  maxTasks?: number;
  onStdout?: (b: Uint8Array) => void;
  onStderr?: (b: Uint8Array) => void;
  /** Keep a copy of all guest output in the RunResult (default true). */
  captureOutput?: boolean;
  /** --keep-files: after the run, copy what the guest wrote into this host directory (os/vfs-keep.ts). */
  keepFiles?: string;
  /** --mem: bytes each process may map (RLIMIT_AS; ENOMEM beyond); default memory.ts DEFAULT_MEM_LIMIT. */
  memLimit?: number;
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
  /** Unimplemented syscalls the guest called: number (as a string) -> calls. */
  enosys: Record<string, number>;
  /** Per task and syscall: calls, error results, ENOSYS (the trace's `syscalls` view). */
  syscalls: SyscallCount[];
  /** Host paths refused to the guest (outside the readable directories), in first-refusal order. */
  refused: { paths: string[]; attempts: number };
}

/** How a run (or the first process) ended: the RunResult fields fixed at that moment. */
export type RunEnd = Omit<
  RunResult,
  'stdout' | 'stderr' | 'enosys' | 'syscalls' | 'refused' | 'instructions' | 'cycles'
>;

function exitedResult(code: number): RunEnd {
  return {
    status: 'exited',
    exitCode: code & 0xff,
    signal: null,
    signalName: null,
    faultAddr: null,
    message: `exited with status ${code & 0xff}`,
    dump: '',
  };
}

/**
 * A wake-up source with a virtual time of its own besides tasks' timeouts and the signal timers
 * (a timerfd): the scheduler calls `fire` at the start of the first round at or after `expires`
 * (-1: not armed), and an idle machine jumps straight to it.
 */
export interface ClockEvent {
  readonly expires: number;
  fire(now: number): void;
}

/** Signals whose default action is to do nothing here (SIGCHLD, SIGURG, SIGWINCH, SIGCONT, stops). */
const DEFAULT_IGNORED = new Set([17, 18, 19, 20, 21, 22, 23, 28]);

export type SchedReason = 'start' | 'block' | 'sleep' | 'yield' | 'preempt' | 'exit' | 'wake' | 'idle';

interface Vcpu {
  id: number;
  task: Task | null;
  /** Local virtual time in cycles. */
  clock: number;
  nextTick: number;
}

/**
 * Hooks the signals module installs (os/signals*.ts); null until it does, and then the machine
 * falls back to default actions (faults kill the process).
 */
export interface SignalHooks {
  /** Before `task` returns to user mode (after a syscall or a wake-up): deliver pending signals. */
  beforeUserReturn(task: Task): void;
  /** A CPU fault the probe engine did not claim; return true when a handler will run. */
  fault(task: Task, signo: number, vector: number, code: number, addr: number): boolean;
  /** A process-directed signal (kill, SIGCHLD, SIGPIPE...); without it, default actions apply. */
  sendProcess?(p: Process, sig: number, sender: Task | null): void;
  /** Earliest armed timer (alarm, itimers, POSIX timers) in cycles, or -1. */
  nextTimer(): number;
  /** Fires the timers due at `now` (the start of a scheduling round). */
  fireTimers(now: number): void;
}

export class Machine implements CpuHost {
  readonly kernel: Kernel;
  readonly tasks = new Map<number, Task>();
  /** Live and zombie processes by pid. */
  readonly processes = new Map<number, Process>();
  /** The first process (pid of the main task): orphans are reparented to it. */
  readonly initProcess: Process;
  readonly hooks = new MachineHooks();
  /** Set by the signals module. */
  signals: SignalHooks | null = null;
  /** How the first process ended, once it has (the run's result). */
  private initEnd: RunEnd | null = null;
  readonly vcpus: Vcpu[];
  readonly ncpus: number;
  readonly preempt: boolean;
  readonly chaos: boolean;
  private readonly coalesce: boolean;
  readonly seed: number;
  readonly mhz: number;
  readonly prng: Prng;
  symbols!: SymbolTable;
  entry = 0;
  /** Main task's context (tests single-step it). */
  cpu!: Cpu;
  mainTask!: Task;
  private runQueue: Task[] = [];
  /** Armed clock events, in the order they were armed (fired in that order: deterministic). */
  private readonly clockEvents = new Set<ClockEvent>();
  private pendingWake: Task[] = [];
  private nextTid = 1000;
  private quantum: number;
  private tickInterval: number;
  private maxInstructions: number;
  private maxRounds: number;
  private rounds = 0;
  readonly maxTasks: number;
  /**
   * Tasks counted against maxTasks, as Linux counts RLIMIT_NPROC until release_task: a thread
   * until it exits, a process's leader until the process is reaped.
   */
  private taskSlots = 1;
  /** Virtual time at the start of the current round. */
  private roundStart = 0;
  /** The vCPU and task executing right now, and where its slice began. */
  private runVcpu: Vcpu | null = null;
  private runTask: Task | null = null;
  private sliceClock = 0;
  /** The vCPU's clock when the current slice began (before any discount): the task's CPU time. */
  private sliceBase = 0;
  private sliceRetired = 0;
  /** The slice running now may pass round boundaries (coalesceEnd); syscalls end it (capSlice). */
  private coalescing = false;
  /** runFor's target (retired instructions): coalesced slices end at the boundary after it. */
  private coalesceUntil = Number.MAX_SAFE_INTEGER;
  private passedRounds = 0;
  private retiredTotal = 0;
  private lastProgress = 0;
  result: RunResult | null = null;
  private stdoutChunks: Uint8Array[] = [];
  private stderrChunks: Uint8Array[] = [];
  private captureOutput: boolean;
  readonly options: MachineOptions;
  readonly model: CpuModel;
  /** Every address space's code cache sees this view of the code hooks' ranges. */
  private readonly codeHookAddrs: { readonly size: number; has(a: number): boolean };
  contextSwitches = 0;

  static load(bytes: Uint8Array, opts: MachineOptions): Machine {
    return new Machine(bytes, opts);
  }

  constructor(bytes: Uint8Array, opts: MachineOptions) {
    this.options = opts;
    const cpus = opts.cpus ?? MACHINE_DEFAULT_CPUS;
    const bad = cpusProblem(cpus);
    if (bad) throw new RangeError(`cpus ${bad}, got ${String(cpus)}`);
    this.ncpus = cpus;
    this.model = cpuModel(opts.cpuModel);
    this.preempt = opts.preempt ?? true;
    this.chaos = opts.chaos ?? false;
    this.coalesce = opts.coalesce ?? true;
    this.seed = opts.seed ?? 1;
    this.mhz = opts.mhz ?? 1000;
    // Short slices interleave vCPUs finely; a uniprocessor needs them only for timer granularity.
    this.quantum = opts.quantum ?? (cpus === 1 ? 1000 : 200);
    this.tickInterval = opts.tick ?? 4000;
    this.maxInstructions = opts.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    this.maxRounds = opts.maxRounds ?? Number.MAX_SAFE_INTEGER;
    const maxTasks = opts.maxTasks ?? DEFAULT_MAX_TASKS;
    if (!Number.isSafeInteger(maxTasks) || maxTasks < 1)
      throw new RangeError(`maxTasks must be a positive integer, got ${maxTasks}`);
    this.maxTasks = maxTasks;
    this.captureOutput = opts.captureOutput ?? true;
    this.prng = new Prng(this.seed);
    const code = this.hooks.code;
    this.codeHookAddrs = {
      get size() {
        return code.size;
      },
      has: (a: number) => code.covers(a),
    };
    this.vcpus = [];
    for (let k = 0; k < cpus; k++) {
      const phase = this.chaos ? this.prng.range(1, this.tickInterval) : this.tickInterval;
      this.vcpus.push({ id: k, task: null, clock: 0, nextTick: phase });
    }
    const image = parseElf(bytes);
    const cwd = opts.cwd ?? process.cwd();
    const files = opts.files ?? new HostFiles(opts.allowRead ?? [cwd], cwd);
    this.kernel = new Kernel(this, files, opts.stdin ?? new Uint8Array(0));
    const argv = opts.argv.length > 0 ? opts.argv : ['a.out'];
    const random = new Prng(this.seed ^ 0x5a5a5a5a).bytes(16);
    const mm = this.newAddressSpace();
    const loaded = loadElf(mm.memory, image, bytes, {
      argv,
      envp: opts.env ?? [...DEFAULT_ENV],
      execfn: argv[0]!,
      random,
      hwcap: this.model.features,
      uid: 1000,
      gid: 1000,
    });
    this.symbols = loaded.symbols;
    this.entry = loaded.entry;
    const cpu = new Cpu(mm.memory, mm.cache, this, this.model);
    cpu.eip = loaded.entry >>> 0;
    cpu.regs[ESP] = loaded.sp;
    cpu.fpu.reset();
    this.cpu = cpu;
    const pid = this.allocTid();
    const init = new Process(pid, null, mm, {
      cwd,
      exe: argv[0]!,
      argv,
      symbols: loaded.symbols,
      waker: this,
    });
    init.brkStart = init.brkCur = loaded.brkStart;
    init.fds.install(new StdinDesc(this.kernel.stdin, (d) => this.emitInput('stdin', '', d)));
    const out = (fd: number, d: Uint8Array) => this.output(fd, d);
    init.fds.install(new OutputDesc(1, out));
    init.fds.install(new OutputDesc(2, out));
    this.initProcess = init;
    // The guest reads its task limit as RLIMIT_NPROC (soft and hard); children inherit it.
    const limits = limitsOf(init);
    limits.cur[RLIMIT_NPROC] = limits.max[RLIMIT_NPROC] = this.maxTasks;
    this.processes.set(pid, init);
    const main = new Task(pid, cpu, 0, basename(argv[0]!), init);
    init.threads.push(main);
    this.mainTask = main;
    this.tasks.set(main.tid, main);
    this.runQueue.push(main);
  }

  allocTid(): number {
    return this.nextTid++;
  }

  /**
   * Who hears guest reads of watched words, in every address space: the ones that exist now and
   * the ones fork and exec make later (a process-wide watcher, e.g. the K20 detector, must not
   * go deaf in a child).
   */
  setWatchReadHandler(fn: (word: number, addr: number) => void): void {
    this.watchReadHandler = fn;
    for (const p of this.processes.values()) p.mm.memory.onWatchRead = fn;
  }

  private watchReadHandler: (word: number, addr: number) => void = () => {};

  /** A fresh, empty address space with its own code cache. */
  newAddressSpace(memory = new Memory({ limit: this.options.memLimit ?? DEFAULT_MEM_LIMIT })): AddressSpace {
    memory.onWatchRead = this.watchReadHandler;
    const cache = new CodeCache(memory);
    cache.setHooks(this.codeHookAddrs);
    cache.onInvalidate = () => {
      const c = this.runTask?.cpu;
      if (c && c.attention === 0) c.attention = ATTN_CODE;
    };
    return new AddressSpace(memory, cache);
  }

  // ---------------------------------------------------------------- public accessors

  /**
   * The address space of the task executing now (of the first process between slices): syscalls
   * and probe handlers act on the memory of the task they run for.
   */
  get memory(): Memory {
    return (this.runTask?.process ?? this.initProcess).mm.memory;
  }

  /** The task executing now (inside a slice: syscalls, exceptions, hooks), or null. */
  get currentTask(): Task | null {
    return this.runTask;
  }

  /** Instructions retired by all tasks before the current slice began. */
  get totalInstructions(): number {
    return this.retiredTotal;
  }

  /** Instructions retired so far, exact to the instruction inside a slice. */
  instructionsNow(): number {
    const v = this.runVcpu;
    return this.retiredTotal + (v && this.runTask ? this.now() - v.clock : 0);
  }

  /**
   * Cycles → guest nanoseconds, rounded down. Exact for every clock value below CLOCK_LIMIT: the
   * whole megacycles and the rest are converted apart, so no intermediate passes 2^53.
   */
  cyclesToNs(c: number): number {
    const mhz = this.mhz;
    if (!Number.isInteger(mhz) || !Number.isInteger(c)) return Math.floor((c * 1000) / mhz);
    const q = Math.floor(c / mhz);
    return q * 1000 + Math.floor(((c - q * mhz) * 1000) / mhz);
  }

  /** Guest nanoseconds → cycles, rounded up; exact in the same way as cyclesToNs. */
  nsToCycles(ns: number): number {
    const mhz = this.mhz;
    if (!Number.isInteger(mhz) || !Number.isInteger(ns)) return Math.ceil((ns * mhz) / 1000);
    const q = Math.floor(ns / 1000);
    return q * mhz + Math.ceil(((ns - q * 1000) * mhz) / 1000);
  }

  /** Cycles `t` has run, exact to the instruction when it is the task executing now. */
  cpuCycles(t: Task): number {
    return t.runCycles + (t === this.runTask ? this.now() - this.sliceBase : 0);
  }

  /** Cycles all threads of `p` have run (exited ones included), exact to the instruction. */
  processCycles(p: Process): number {
    return p.usage.cycles + (this.runTask?.process === p ? this.now() - this.sliceBase : 0);
  }

  /** A slice of `cycles` ran on `t`: its CPU time and its process's. */
  private chargeSlice(t: Task, cycles: number): void {
    t.runCycles += cycles;
    t.process.usage.cycles += cycles;
  }

  /** Current virtual time on the executing vCPU (exact to the instruction). */
  now(): number {
    const t = this.runTask;
    if (!t) return this.roundStart;
    return this.sliceClock + (t.cpu.retiredNow() - this.sliceRetired);
  }

  /** Cycles between timer ticks (the preemption slice). */
  get tickCycles(): number {
    return this.tickInterval;
  }

  get currentCpuId(): number {
    return this.runVcpu ? this.runVcpu.id : 0;
  }

  // ---------------------------------------------------------------- CpuHost

  syscall(cpu: Cpu): void {
    if (this.coalescing) this.capSlice(cpu);
    const nr = cpu.regs[EAX]!;
    const t = this.runTask!;
    if (this.hooks.syscall.size > 0 && this.hooks.syscall.run(nr, (h) => h(t, nr))) return;
    this.kernel.syscall(t, nr);
    if (t.state === 'running' && this.signals) this.signals.beforeUserReturn(t);
  }

  rdtsc(_cpu: Cpu): number {
    return this.now();
  }

  exception(cpu: Cpu, vector: number, code: number, addr: number): void {
    const task = this.runTask ?? this.mainTask;
    if (this.hooks.exception.runException(cpu.eip, task, vector, code, addr)) return;
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
        what =
          task.cpu.sse.udAt === task.cpu.eip >>> 0
            ? `invalid opcode (an SSE/SSE2 instruction: the ${this.model.name} CPU model has none; try --cpu pentium4)`
            : 'invalid opcode';
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
    if (this.signals?.fault(task, sig, vector, _code, addr)) return;
    const eip = task.cpu.eip >>> 0;
    const where = task.process.symbols.symbolize(eip);
    const loc = where ? `${where.sym.name}+0x${where.offset.toString(16)}` : '?';
    this.killProcess(
      sig,
      `${what} at eip 0x${eip.toString(16)} (${loc}) in task ${task.tid}`,
      task,
      vector === VEC_PF ? addr : null,
    );
  }

  // ---------------------------------------------------------------- process and task lifecycle

  private finish(r: RunEnd): void {
    if (this.result) return;
    const cycles = this.maxClock();
    this.result = {
      ...r,
      instructions: this.retiredTotal,
      cycles,
      stdout: concat(this.stdoutChunks),
      stderr: concat(this.stderrChunks),
      enosys: this.kernel.enosys,
      syscalls: this.kernel.table.snapshot(),
      refused: this.kernel.refusedPaths(),
    };
    // The one place guest data reaches the host, and only below the directory the user named.
    if (this.options.keepFiles) keepFiles(this.kernel.fs.vfs, this.options.keepFiles);
    for (const t of this.tasks.values()) {
      if (t.state !== 'zombie') this.endTask(t, t === this.runTask ? this.now() : cycles);
      t.cpu.attention = 1;
    }
  }

  private maxClock(): number {
    let m = this.roundStart;
    for (const v of this.vcpus) m = Math.max(m, v.clock);
    if (this.runTask) m = Math.max(m, this.now());
    return m;
  }

  /**
   * A signal's default action kills the process of `task` (the current task's, or the first
   * process's, when null). When that is the first process, its death is the run's result.
   */
  killProcess(sig: number, message: string, task: Task | null, faultAddr: number | null): void {
    const t = task ?? this.runTask ?? this.mainTask;
    this.exitProcess(t.process, sig & 0x7f, {
      status: 'signaled',
      exitCode: null,
      signal: sig,
      signalName: SIGNAL_NAMES[sig] ?? `signal ${sig}`,
      faultAddr,
      message: `${SIGNAL_NAMES[sig] ?? 'signal ' + sig}: ${message}`,
      dump: t.cpu.dump(),
    });
  }

  /** exit_group(2) of the calling task's process (of the first process outside a slice). */
  exitGroup(code: number): void {
    const p = (this.runTask ?? this.mainTask).process;
    this.exitProcess(p, (code & 0xff) << 8, exitedResult(code));
  }

  /**
   * Ends process `p` with Linux wait status `status`: its threads end, its descriptors close, a
   * vfork parent resumes, its children go to the first process, its parent is told (SIGCHLD and
   * the wait queue). The run ends when no process is left; the first process's end is the result.
   */
  exitProcess(p: Process, status: number, result: RunEnd): void {
    if (p.state !== 'alive') return;
    p.state = 'zombie';
    p.waitStatus = status;
    const ts = this.now();
    for (const th of p.threads) {
      if (th.state === 'zombie') continue;
      th.exitCode = status & 0x7f ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
      this.endTask(th, ts);
      th.cpu.attention = 1;
    }
    p.fds.closeAll();
    this.releaseVfork(p);
    const init = this.initProcess;
    for (const c of p.children.splice(0)) {
      c.parent = init.state === 'alive' && c !== init ? init : null;
      if (c.parent) init.children.push(c);
      else if (c.state === 'zombie') this.reap(c);
    }
    if (p === init) this.initEnd = result;
    const parent = p.parent;
    if (parent && parent.state === 'alive') {
      parent.childWait.wakeAll();
      if (p.exitSignal) this.signalProcess(parent, p.exitSignal, null);
    } else this.reap(p);
    let alive = false;
    for (const q of this.processes.values()) if (q.state === 'alive') alive = true;
    if (!alive) this.finish(this.initEnd ?? result);
  }

  /** Removes a zombie for good (wait4 collected it, or nobody can). */
  reap(p: Process): void {
    if (p.state === 'reaped') return;
    p.state = 'reaped';
    this.taskSlots--; // its leader's
    // Its frames go back to the pool, so copy-on-write sharers stop copying. The first process's
    // memory stays readable after the run, and so does a process reaped inside its own exit.
    if (p !== this.initProcess && this.runTask?.process !== p) p.dropAddressSpace();
    this.processes.delete(p.pid);
    const siblings = p.parent?.children;
    if (siblings) {
      const i = siblings.indexOf(p);
      if (i >= 0) siblings.splice(i, 1);
    }
    for (const th of p.threads) this.tasks.delete(th.tid);
  }

  /** A vfork child exec'd or exited: its parent resumes, fork returning the child's pid. */
  releaseVfork(child: Process): void {
    const t = child.vforkParent;
    if (!t) return;
    child.vforkParent = null;
    this.wake(t, child.pid);
  }

  /**
   * Sends `sig` to process `p`: through the signals module when present, else the default action
   * (SIGCHLD, SIGURG, SIGWINCH and SIGCONT are ignored, stop signals are ignored here, the rest
   * kill the process).
   */
  signalProcess(p: Process, sig: number, sender: Task | null): void {
    if (sig === 0 || p.state !== 'alive') return;
    if (this.signals?.sendProcess) {
      this.signals.sendProcess(p, sig, sender);
      return;
    }
    if (DEFAULT_IGNORED.has(sig)) return;
    const target = p.threads.find((t) => t.state !== 'zombie') ?? p.threads[0]!;
    this.killProcess(sig, `signal sent by ${sender ? `task ${sender.tid}` : 'the kernel'}`, target, null);
  }

  private endTask(t: Task, ts: number): void {
    if (t.state === 'zombie') return;
    t.state = 'zombie';
    if (t.tid !== t.process.pid) this.taskSlots--;
    t.endTs = ts;
    this.cancelWait(t);
    this.hooks.taskFlush.each((h) => h(t));
    this.hooks.taskExit.each((h) => h(t, ts));
  }

  /** A thread exits (exit(2)): CLONE_CHILD_CLEARTID handling; the process ends with its last thread. */
  exitThread(t: Task, code: number): void {
    t.exitCode = code;
    if (t.clearChildTid) {
      try {
        t.process.mm.memory.write32(t.clearChildTid, 0);
      } catch {
        // Linux ignores a fault here too.
      }
      this.kernel.futex.wake(t.process.mm, t.clearChildTid, 1, -1);
    }
    this.endTask(t, this.now());
    t.cpu.attention = 1;
    const p = t.process;
    if (t.tid !== p.pid) {
      // Released at once, as Linux releases a thread that is not its group's leader: a process
      // that starts and joins threads for ever holds only the live ones.
      this.tasks.delete(t.tid);
      const i = p.threads.indexOf(t);
      if (i >= 0) p.threads.splice(i, 1);
    }
    if (p.threads.every((x) => x.state === 'zombie'))
      this.exitProcess(p, (code & 0xff) << 8, exitedResult(code));
  }

  /** Creates a thread (clone with CLONE_VM|CLONE_THREAD). */
  spawnThread(parent: Task, newSp: number): Task {
    const mm = parent.process.mm;
    const cpu = new Cpu(mm.memory, mm.cache, this, this.model);
    cpu.copyFrom(parent.cpu);
    // fpu_clone(): a new thread starts with its creator's x87 state, as a fork child does (XMM and
    // MXCSR come with Cpu.copyFrom).
    cpu.fpu.copyFrom(parent.cpu.fpu);
    if (newSp) cpu.regs[ESP] = newSp;
    cpu.regs[EAX] = 0;
    const t = new Task(this.allocTid(), cpu, parent.tid, parent.name, parent.process);
    inheritSched(parent, t);
    parent.process.threads.push(t);
    this.startTask(t);
    return t;
  }

  createTask(tid: number, cpu: Cpu, parentTid: number, name: string, proc: Process): Task {
    return new Task(tid, cpu, parentTid, name, proc);
  }

  /** Ends a task that did not exit by itself (another thread exec'd). */
  retireTask(t: Task): void {
    this.endTask(t, this.now());
    t.cpu.attention = 1;
    this.tasks.delete(t.tid);
  }

  /**
   * `t` replaced its process's image (execve): what the task held is recycled (K19, as at exit)
   * and the exec hooks run, before any instruction of the new image.
   */
  execed(t: Task, image?: Uint8Array): void {
    if (t === this.mainTask) this.cpu = t.cpu;
    this.hooks.taskFlush.each((h) => h(t));
    const ts = this.now();
    this.hooks.exec.each((h) => h(t.process, t, ts, image));
  }

  /**
   * False when one more thread or process would pass maxTasks, or the RLIMIT_NPROC soft limit of
   * `p` (the creating process; setrlimit may have lowered it): clone, fork and vfork then fail
   * with EAGAIN before creating anything.
   */
  mayCreateTask(p: Process): boolean {
    return this.taskSlots < Math.min(this.maxTasks, limitsOf(p).cur[RLIMIT_NPROC]!);
  }

  addClockEvent(e: ClockEvent): void {
    this.clockEvents.add(e);
  }

  removeClockEvent(e: ClockEvent): void {
    this.clockEvents.delete(e);
  }

  /** Registers a new task and makes it runnable at the next round. */
  startTask(t: Task): void {
    this.taskSlots++;
    t.startTs = this.now();
    this.tasks.set(t.tid, t);
    this.pendingWake.push(t);
    this.emitTaskStart(t, t.startTs);
  }

  private emitTaskStart(t: Task, ts: number): void {
    this.hooks.taskStart.each((h) => h(t, ts));
  }

  /** Blocks the current task; the scheduler switches away after the current instruction. */
  block(t: Task, desc: string, wakeAt = -1): void {
    t.state = wakeAt >= 0 && t.futexAddr < 0 ? 'sleeping' : 'blocked';
    t.waitDesc = desc;
    t.wakeAt = wakeAt;
    t.cpu.attention = 1;
  }

  /**
   * Blocks `t` on wait queues (and optionally until `wakeAt`); when woken it runs `retry`, whose
   * result goes to EAX unless it blocks again. Returns BLOCKED for the syscall handler to return.
   */
  blockRetry(t: Task, desc: string, queues: WaitQueue[], retry: () => number, wakeAt = -1): number {
    for (const q of queues) q.add(t);
    t.retry = retry;
    this.block(t, desc, wakeAt);
    return BLOCKED;
  }

  /** Makes a blocked task runnable at the next round; `result` goes to its EAX (or it retries). */
  wake(t: Task, result: number): void {
    if (t.state !== 'blocked' && t.state !== 'sleeping') return;
    if (!t.retry) t.cpu.regs[EAX] = result;
    leaveAll(t);
    t.state = 'runnable';
    t.futexAddr = -1;
    t.wakeAt = -1;
    t.waitDesc = '';
    this.pendingWake.push(t);
  }

  /** Ends whatever `t` waits for without completing it (exit, signal). */
  private cancelWait(t: Task): void {
    leaveAll(t);
    if (t.futexAddr >= 0) this.kernel.futex.cancel(t);
    t.futexAddr = -1;
    t.retry = null;
    const undo = t.onCancel;
    t.onCancel = null;
    undo?.();
  }

  /**
   * A signal interrupts `t`'s blocking syscall (the signals module calls this): the call returns
   * -EINTR, or with `restart` is issued again from the start (SA_RESTART), after the handler ran.
   * Returns false when `t` is not blocked in a syscall.
   */
  interruptSyscall(t: Task, restart: boolean): boolean {
    if (t.state !== 'blocked' && t.state !== 'sleeping') return false;
    this.cancelWait(t);
    if (restart) {
      t.cpu.eip = (t.cpu.eip - 2) >>> 0;
      t.cpu.regs[EAX] = t.origEax;
    } else t.cpu.regs[EAX] = -4; // EINTR
    t.state = 'blocked';
    this.wake(t, t.cpu.regs[EAX]!);
    return true;
  }

  /**
   * sched_yield (and a sched_setaffinity that may take this vCPU away): the task gives up its vCPU
   * after this instruction when another task is queued (or its affinity excludes the vCPU now).
   * With nothing queued the slice simply goes on: the scheduler would pick the same task again at
   * once (tasks woken meanwhile join the queue only at the next round), so leaving the slice would
   * change nothing the guest sees and only cost host time (a yield loop ran 10x slower than a
   * busy loop, one slice exit per yield).
   */
  yieldCurrent(): void {
    const t = this.runTask;
    const v = this.runVcpu;
    if (!t || !v) return;
    if (this.runQueue.length === 0 && !this.offAffinity(t, v.id)) return;
    t.cpu.attention = 1;
    this.yieldRequested = true;
  }
  private yieldRequested = false;

  /** `t`'s affinity excludes vCPU `cpu`. */
  private offAffinity(t: Task, cpu: number): boolean {
    const a = t.affinity;
    return a !== null && !(a[cpu >> 3]! & (1 << (cpu & 7)));
  }

  // ---------------------------------------------------------------- code hooks

  /**
   * Adds a code hook on [begin, end] (inclusive): `fn` runs before each instruction that starts
   * there, in every address space. It must not change guest memory.
   */
  addCodeHook(fn: CodeHook, begin: number, end = begin): HookId {
    const id = this.hooks.code.add(fn, { begin, end });
    this.invalidateCode(begin, end);
    return id;
  }

  removeCodeHook(id: HookId, begin: number, end = begin): void {
    this.hooks.code.remove(id);
    this.invalidateCode(begin, end);
  }

  /** Drops decoded blocks of [begin, end] in every address space (hooked addresses start blocks). */
  private invalidateCode(begin: number, end: number): void {
    const first = begin >>> 12;
    const last = end >>> 12;
    const seen = new Set<AddressSpace>();
    for (const p of this.processes.values()) {
      if (seen.has(p.mm)) continue;
      seen.add(p.mm);
      if (last - first > 4096) p.mm.cache.flush();
      else for (let pg = first; pg <= last; pg++) p.mm.cache.invalidatePage(pg);
    }
  }

  onHook(cpu: Cpu, addr: number): void {
    const t = this.runTask;
    if (t && t.cpu === cpu) this.hooks.code.run(addr, (h) => h(t, addr));
  }

  // ---------------------------------------------------------------- scheduling

  /** Runs until the process ends, the instruction or round budget is spent, or a deadlock. */
  run(): RunResult {
    while (!this.result) this.nextRound();
    // finish() ran inside the last slice; count that slice now that the scheduler has added it.
    const r = this.result as RunResult;
    r.instructions = this.retiredTotal;
    // The call that ended the run (exit_group, a fatal kill) is counted after finish() ran.
    r.syscalls = this.kernel.table.snapshot();
    r.enosys = this.kernel.enosys;
    r.refused = this.kernel.refusedPaths();
    r.cycles = Math.max(r.cycles, this.maxClock());
    return r;
  }

  /**
   * Runs whole scheduling rounds until the run is over (returns its result, as run() does), or at
   * least `instructions` more have retired, or `rounds` rounds have run (returns null; call again
   * to go on). Lets a caller yield to its event loop between rounds without changing what the
   * guest does; the round cap bounds the time between returns when few instructions retire
   * (idle CPUs, tasks that block and wake in turn).
   */
  runFor(instructions: number, rounds = Number.MAX_SAFE_INTEGER): RunResult | null {
    const until = this.retiredTotal + instructions;
    const last = this.rounds + rounds;
    // Coalesced slices stop at the first round boundary past `until`, as single rounds would.
    this.coalesceUntil = until;
    try {
      while (!this.result && this.retiredTotal < until && this.rounds < last) this.nextRound();
    } finally {
      this.coalesceUntil = Number.MAX_SAFE_INTEGER;
    }
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

  /** Round boundaries passed inside slices (coalesceEnd) so far, all counted in roundsRun too. */
  get roundsCoalesced(): number {
    return this.passedRounds;
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
    if (this.retiredTotal - this.lastProgress >= PROGRESS_EVERY && this.hooks.progress.size > 0) {
      this.lastProgress = this.retiredTotal;
      const n = this.retiredTotal;
      this.hooks.progress.each((h) => h(n));
    }
  }

  /**
   * Takes `n` instructions off the executing vCPU's clock and the instruction count. The probe
   * engine uses it so its own breakpoint traps cost no guest time (kprobes.md: handlers cost zero
   * guest cycles): a run's schedule then does not depend on which probes are attached.
   */
  discountInstructions(n: number): void {
    const v = this.runVcpu;
    if (!v) return;
    v.clock -= n;
    this.sliceClock -= n;
    this.retiredTotal -= n;
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
    this.runVcpu = v;
    this.runTask = t;
    this.sliceClock = v.clock;
    this.sliceBase = v.clock;
    this.sliceRetired = t.cpu.retired;
    t.cpu.stepping = true;
    const n = t.cpu.run(1);
    t.cpu.stepping = false;
    v.clock += n;
    this.retiredTotal += n;
    this.chargeSlice(t, v.clock - this.sliceBase);
    this.runTask = null;
    this.runVcpu = null;
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
    const next = this.takeRunnable(v.id);
    if (prev && prev !== next) {
      if (reason === 'block' || reason === 'sleep') {
        prev.nvcsw++;
        prev.process.usage.nvcsw++;
      } else if (reason === 'preempt' || reason === 'yield') {
        prev.nivcsw++;
        prev.process.usage.nivcsw++;
      }
    }
    if (next) {
      next.state = 'running';
      next.lastCpu = v.id;
    }
    v.task = next;
    if (prev !== next) {
      this.contextSwitches++;
      const p = prev ? prev.tid : 0;
      const n = next ? next.tid : 0;
      if (this.hooks.sched.size > 0) this.hooks.sched.each((h) => h(v.clock, v.id, p, n, reason));
    }
    return next;
  }

  /**
   * The first queued task that may run on vCPU `cpu` (its affinity allows it), taken off the
   * queue; tasks killed since they were queued are dropped on the way.
   */
  private takeRunnable(cpu: number): Task | null {
    const q = this.runQueue;
    for (let i = 0; i < q.length; i++) {
      const t = q[i]!;
      if (t.state !== 'runnable') {
        q.splice(i--, 1);
        continue;
      }
      if (this.offAffinity(t, cpu)) continue;
      q.splice(i, 1);
      return t;
    }
    return null;
  }

  /**
   * Where a slice starting now on `v`, the only vCPU with work, may run to past this round's `end`:
   * a round boundary up to which every boundary between is provably a no-op, or 0. Nothing is
   * runnable or waking, so a boundary only fires timers and clock events and wakes sleepers, and
   * the first boundary at or after each expiry is where that happens; the round budget (maxRounds)
   * ends a run at a boundary too. Only the running task can change that, through a syscall, and
   * syscall() then ends the slice at the next boundary (capSlice). COALESCE_MAX bounds how long the
   * host goes without returning from a round.
   */
  private coalesceEnd(v: Vcpu, end: number): number {
    if (!this.coalesce || this.chaos || this.runQueue.length > 0 || this.pendingWake.length > 0) return 0;
    for (const o of this.vcpus) if (o !== v && o.task !== null) return 0;
    const q = this.quantum;
    const start = this.roundStart;
    let far = end + COALESCE_MAX - (COALESCE_MAX % q);
    const rounds = this.maxRounds - this.rounds;
    if (rounds < (far - start) / q) far = start + rounds * q;
    const upTo = (e: number) => {
      if (e < 0) return;
      const b = e <= start ? start : start + Math.ceil((e - start) / q) * q;
      if (b < far) far = b;
    };
    upTo(v.clock + (this.coalesceUntil - this.retiredTotal));
    if (this.signals) upTo(this.signals.nextTimer());
    for (const e of this.clockEvents) upTo(e.expires);
    for (const t of this.tasks.values()) if (t.state === 'sleeping' || t.state === 'blocked') upTo(t.wakeAt);
    return far > end ? far : 0;
  }

  /**
   * A syscall inside a coalesced slice may make the boundaries ahead matter (a task woken or
   * created, a timer armed): the slice ends at the first round boundary after this instruction,
   * where an uncoalesced slice would have ended too. Ticks inside it stay no-ops: a tick preempts
   * only for a runnable task, and the run queue changes only at a round's start (woken and new tasks
   * wait in pendingWake) or after a slice.
   */
  private capSlice(cpu: Cpu): void {
    const now = this.now();
    const q = this.quantum;
    cpu.limit(this.roundStart + (Math.floor((now - this.roundStart) / q) + 1) * q - this.sliceClock);
  }

  private round(): void {
    let roundEnd = this.roundStart + this.quantum;
    if (this.signals) {
      const te = this.signals.nextTimer();
      if (te >= 0 && te <= this.roundStart) this.signals.fireTimers(this.roundStart);
      if (this.result) return;
    }
    if (this.clockEvents.size > 0)
      for (const e of this.clockEvents)
        if (e.expires >= 0 && e.expires <= this.roundStart) e.fire(this.roundStart);
    // Wake sleepers whose time has come, in deterministic (tid) order, then the tasks woken last round.
    for (const t of this.tasks.values()) {
      if ((t.state === 'sleeping' || t.state === 'blocked') && t.wakeAt >= 0 && t.wakeAt <= this.roundStart) {
        const futexTimeout = t.futexAddr >= 0;
        if (futexTimeout) this.kernel.futex.cancel(t);
        t.timedOut = true;
        this.wake(t, futexTimeout ? -110 : 0);
      }
    }
    for (const t of this.pendingWake) if (t.state === 'runnable') this.runQueue.push(t);
    this.pendingWake = [];
    let anyRan = false;
    for (const v of this.vcpus) {
      if (this.result) return;
      if (v.clock < this.roundStart) v.clock = this.roundStart;
      let end = this.chaos
        ? this.roundStart + this.prng.range(this.quantum >> 2, this.quantum * 2)
        : roundEnd;
      while (v.clock < end && !this.result) {
        let t = v.task;
        if (t && t.state === 'zombie') {
          // Killed while it waited for this vCPU's turn (another process's kill, exit_group).
          t = this.pick(v, t, 'exit');
          if (!t) break;
        }
        if (!t) {
          t = this.pick(v, null, 'start');
          if (!t) break;
        }
        let budget = end - v.clock;
        if (this.preempt && v.nextTick - v.clock < budget) budget = Math.max(1, v.nextTick - v.clock);
        const left = this.maxInstructions - this.retiredTotal;
        if (left <= 0) {
          this.truncate();
          return;
        }
        if (budget > left) budget = left;
        this.runVcpu = v;
        this.runTask = t;
        this.sliceClock = v.clock;
        this.sliceBase = v.clock;
        this.sliceRetired = t.cpu.retired;
        this.yieldRequested = false;
        if ((t.retry && !this.runRetry(t)) || !this.userReturn(t)) {
          // It waits again (or a group stop parked it): no instruction ran.
          this.runTask = null;
          this.runVcpu = null;
          if (this.result) return;
          this.pick(v, t, t.state === 'sleeping' ? 'sleep' : 'block');
          continue;
        }
        // Decided after the retried call and the return to user mode, which may wake tasks too.
        const far = this.coalesceEnd(v, end);
        if (far > 0) budget = Math.min(far - v.clock, left);
        this.coalescing = far > 0;
        const n = t.cpu.run(budget);
        this.coalescing = false;
        this.runTask = null;
        this.runVcpu = null;
        anyRan = true;
        v.clock += n;
        this.retiredTotal += n;
        this.chargeSlice(t, v.clock - this.sliceBase);
        // The ticks the slice passed were no-ops (see capSlice): the next is the first at or after the
        // clock, so the check below takes one exactly there and the next slice is not cut at a stale one.
        if (far > 0 && v.nextTick < v.clock)
          v.nextTick += Math.ceil((v.clock - v.nextTick) / this.tickInterval) * this.tickInterval;
        if (far > 0 && v.clock > end) {
          // The round boundaries the slice passed were no-ops: carry on in the round the clock is in now.
          const q = this.quantum;
          const k = Math.ceil((v.clock - this.roundStart) / q);
          this.rounds += k - 1;
          this.passedRounds += k - 1;
          roundEnd = end = this.roundStart + k * q;
          this.roundStart = end - q;
        }
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
          // sched_setaffinity may have taken this vCPU from the task: it moves even when alone.
          if (this.runQueue.length > 0 || this.offAffinity(t, v.id)) {
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
      if (this.preempt) this.skipTicks(v);
    }
    if (this.result) return;
    this.roundStart = roundEnd;
    if (
      !anyRan &&
      this.runQueue.length === 0 &&
      this.pendingWake.length === 0 &&
      this.vcpus.every((v) => !v.task)
    )
      this.idle();
  }

  /**
   * Every CPU is idle after a round in which nothing ran: jump the clock straight to the round in
   * which the next event (a sleep's or timed wait's end, a timer) is due, or end the run when
   * nothing can ever wake a task (deadlock) or the next event lies past CLOCK_LIMIT. The jump
   * lands exactly where running empty rounds one by one would have: on the first round boundary
   * at or after the event, with every vCPU's next tick on its tick grid (skipTicks).
   */
  private idle(): void {
    let next = Infinity;
    let alive = 0;
    for (const t of this.tasks.values()) {
      if (t.state === 'zombie') continue;
      alive++;
      if (t.wakeAt >= 0) next = Math.min(next, t.wakeAt);
    }
    const timer = this.signals ? this.signals.nextTimer() : -1;
    if (timer >= 0) next = Math.min(next, timer);
    for (const e of this.clockEvents) if (e.expires >= 0) next = Math.min(next, e.expires);
    if (alive === 0) {
      this.finish(this.initEnd ?? exitedResult(this.mainTask.exitCode));
      return;
    }
    if (next === Infinity) {
      // Linux would wait for ever here; the run ends with who waits on what.
      const waits = [...this.tasks.values()]
        .filter((t) => t.state !== 'zombie')
        .map((t) => `task ${t.tid} waits on ${t.waitDesc || t.state}`)
        .join('; ');
      this.stop('deadlock', `deadlock: every task is blocked and no timer is pending: ${waits}`);
      return;
    }
    if (next <= this.roundStart) return;
    const q = this.quantum;
    const at = this.roundStart + Math.ceil((next - this.roundStart) / q) * q;
    if (at > CLOCK_LIMIT) {
      this.stop('truncated', this.pastClockLimit(next));
      return;
    }
    this.roundStart = at;
    for (const v of this.vcpus) {
      v.clock = at;
      if (this.preempt) this.skipTicks(v);
    }
  }

  /** Ends the run for a reason of the machine's own (no task's registers to show). */
  private stop(status: 'deadlock' | 'truncated', message: string): void {
    this.finish({
      status,
      exitCode: null,
      signal: null,
      signalName: null,
      faultAddr: null,
      message,
      dump: '',
    });
  }

  /**
   * Moves `v`'s next tick past its clock by whole tick intervals: the same value as adding the
   * interval until it passes, in one step (an idle jump can cross billions of ticks).
   */
  private skipTicks(v: Vcpu): void {
    v.nextTick = nextTickAfter(v.nextTick, v.clock, this.tickInterval);
  }

  /** The message of a run stopped because its next event lies past CLOCK_LIMIT. */
  private pastClockLimit(next: number): string {
    const days = (c: number) => (this.cyclesToNs(c) / 86_400e9).toFixed(1);
    const when = Number.isFinite(next) ? `${days(next)} days` : 'never';
    return (
      `stopped: every task waits, and the next wake-up (at ${when} of virtual time) lies past the ` +
      `end of the virtual clock (2^52 cycles, ${days(CLOCK_LIMIT)} days at ${this.mhz} MHz)`
    );
  }

  /**
   * Every slice begins with a return to user mode (from the tick, a wake-up, a preemption): signals
   * sent to the task meanwhile are delivered here. Returns false when the task no longer runs.
   */
  private userReturn(t: Task): boolean {
    if (this.signals) this.signals.beforeUserReturn(t);
    return t.state === 'running' && !this.result;
  }

  /**
   * Runs a woken task's blocked call again (in its own context, taking no guest time). Returns
   * false when it blocked again.
   */
  private runRetry(t: Task): boolean {
    const retry = t.retry!;
    t.retry = null;
    // The call goes on: its undo (for an abandoned wait) is the retry's to set again if it waits.
    t.onCancel = null;
    const r = retry();
    t.timedOut = false;
    if (r === BLOCKED) return false;
    t.cpu.regs[EAX] = r;
    if (t.state === 'running' && this.signals) this.signals.beforeUserReturn(t);
    return t.state === 'running';
  }

  private truncate(
    message = `stopped at the instruction budget (${this.maxInstructions} instructions)`,
  ): void {
    const t = this.runTask ?? this.mainTask;
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
    const ts = this.now();
    this.hooks.output.each((h) => h(fd, ts, copy));
    if (fd === 2) this.options.onStderr?.(copy);
    else this.options.onStdout?.(copy);
  }

  /** Reports a nondeterministic input the kernel consumed (the recorder logs it). */
  emitInput(kind: string, key: string, data: Uint8Array): void {
    this.hooks.input.each((h) => h(kind, key, data));
  }

  /**
   * Readable (or writable) memory check used by syscalls before touching guest buffers: true when
   * every page of [addr, addr + len) is mapped with that access. `addr` may come as int32 or
   * uint32; a range that runs past 2^32 (or a negative length) is refused rather than wrapped to
   * page 0, which would make the loop check nothing.
   */
  userRange(addr: number, len: number, write: boolean): boolean {
    if (len === 0) return true;
    const first = addr >>> 0;
    const last = first + len - 1;
    if (len < 0 || last > 0xffffffff) return false;
    for (let p = first >>> 12; p <= last >>> 12; p++) {
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
