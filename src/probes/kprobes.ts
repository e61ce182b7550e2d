// The probe engine: Linux 2.6.13 i386 kprobes, aggregate probes, jprobes and kretprobes on the
// emulator's exception hook (kprobes.md K1..K23). Names follow kernel/kprobes.c and
// arch/i386/kernel/kprobes.c. Guarantees: a breakpoint is only ever written at an instruction boundary
// of mapped executable guest text; the original instruction is always copied from the original text
// (never from bytes another probe patched); the guest sees its own TF/IF and return addresses exactly as
// Linux would make it see them (including the seed's 3.2 limitation); API errors are errno names,
// never exceptions. Per-CPU state (current_kprobe, kprobe_status, saved flags) is kept per vCPU, and
// the scheduler never preempts a task while IF is cleared for a single step, as on Linux.
// Across processes the engine follows uprobes: a probe belongs to an executable image (images.ts:
// the recorded binary, or another file named by path) and is armed in every address space running
// that image: inherited by fork (the copy keeps the breakpoints), armed again when a process execs
// the same file, and disarmed in every such address space. A fork child gets the parent's pending
// returns as orphans (its stack copy holds the trampoline addresses; no handler runs for them).

import { controlKind, Decoded, decodeInsn, OP_GP, OP_UD } from '../emulator/decoder.js';
import { Cpu, EAX, ESP, IF, TF, VEC_BP, VEC_DB } from '../emulator/cpu.js';
import type { Machine, Task } from '../emulator/machine.js';
import { PAGE_SIZE, PROT_EXEC, type Memory } from '../emulator/memory.js';
import type { AddressSpace, Process } from '../emulator/os/process.js';
import { ImageText, ProbeImages, type ProbeImage } from './images.js';
import { MAXACTIVE_MAX, defaultMaxactive } from './kinds.js';

export type Errno = 'EINVAL' | 'EEXIST' | 'ENOENT' | 'E2BIG' | 'EBUSY' | 'ENOMEM';
export type Result = 0 | Errno;

const BREAKPOINT = 0xcc;
/** The image key of the reserved code (trampoline, stubs, slots): the same in every address space. */
const RESERVED_IMAGE = -1;
/** The image key of an address space running a file no probe names. */
const NO_IMAGE = -2;
/** The emulator's reserved code (like .kprobes.text plus the insn slot pages): trampoline, stubs, slots. */
export const RESERVED_BASE = 0xfff00000;
export const RESERVED_PAGES = 64;
export const TRAMPOLINE_ADDR = RESERVED_BASE;
/** Return address used by callGuest: executing here ends the nested guest call. */
export const CALL_GUEST_RETURN = RESERVED_BASE + 8;
const SLOT_BASE = RESERVED_BASE + PAGE_SIZE;
const SLOT_SIZE = 16;
const MAX_INSN_SIZE = 16;
/** Bytes of stack a jprobe saves and restores (MIN_STACK_SIZE). */
export const JPROBE_STACK_BYTES = 64;

// kprobe_status values
const KPROBE_HIT_ACTIVE = 1;
const KPROBE_HIT_SS = 2;
const KPROBE_REENTER = 3;
const KPROBE_HIT_SSDONE = 4;

/** Register access for handlers (struct pt_regs): reads and writes go straight to the task's CPU. */
export class PtRegs {
  // The eight general registers, in the CPU's register-file order; accessors defined below.
  declare ax: number;
  declare cx: number;
  declare dx: number;
  declare bx: number;
  declare sp: number;
  declare bp: number;
  declare si: number;
  declare di: number;
  constructor(readonly cpu: Cpu) {}
  get ip(): number {
    return this.cpu.eip >>> 0;
  }
  set ip(v: number) {
    this.cpu.eip = v >>> 0;
  }
  get flags(): number {
    return this.cpu.getFlags();
  }
  set flags(v: number) {
    this.cpu.setFlags(v);
  }
}
// pt_regs' ax..di read the register file unsigned and write it as given (one accessor pair each).
(['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const).forEach((name, i) =>
  Object.defineProperty(PtRegs.prototype, name, {
    get(this: PtRegs): number {
      return this.cpu.regs[i]! >>> 0;
    },
    set(this: PtRegs, v: number) {
      this.cpu.regs[i] = v;
    },
  }),
);

export interface Kprobe {
  /** Symbol and offset, or a raw address. */
  symbolName?: string;
  offset?: number;
  addr?: number;
  /** The executable it probes (ProbeEngine.images; default 0, the recorded binary). */
  image?: number;
  preHandler?: (p: Kprobe, regs: PtRegs) => number;
  postHandler?: (p: Kprobe, regs: PtRegs, flags: number) => void;
  faultHandler?: (p: Kprobe, regs: PtRegs, trapnr: number) => number;
  breakHandler?: (p: Kprobe, regs: PtRegs) => number;
  /** Filled in by the engine. */
  nmissed?: number;
  /** Pre-handler dispatches (the kprobe_profile "hit" count). */
  hits?: number;
  /** The registrant's own number for it (the recorder: its probe id); the engine never reads it. */
  id?: number;
}

export interface Jprobe {
  kp: Kprobe;
  /** Guest address of the handler function (same signature as the probed one). */
  entry: number;
}

export interface KretprobeInstance {
  rp: Kretprobe | null;
  retAddr: number;
  task: Task;
  /** Per-instance private data (data_size bytes). */
  data: Uint8Array;
  /** Entry time (cycles) and CPU, for latency events. */
  entryTs: number;
  entryCpu: number;
  /** Depth: instances of this rp the task held at entry (0 = outermost). */
  depth: number;
  /** ESP at function entry (address of the hijacked return-address slot). */
  slot: number;
  /** Free-form values an entry handler stores (e.g. fetched $argN, K27). Kept when the pool recycles
   *  the instance (null only when it is new), so a handler can reuse storage it put there; a handler
   *  that uses it must overwrite it at every entry. */
  entryValues: unknown;
  /** Sequence number of the entry event (the kprobe hit that took this instance). */
  entrySeq: number;
}

export interface Kretprobe {
  kp: Kprobe;
  handler?: (ri: KretprobeInstance, regs: PtRegs) => number;
  entryHandler?: (ri: KretprobeInstance, regs: PtRegs) => number;
  /** <= 0: the 2.6.13 default. */
  maxactive: number;
  dataSize?: number;
  /** Calls missed for want of a free instance. */
  nmissed?: number;
  /** The registrant's own number for it (the recorder: its probe id); the engine never reads it. */
  id?: number;
}

/** A registered kretprobe's pool (the engine's side of struct kretprobe). */
interface KretPool {
  /** Free instances (the last is taken first). */
  free: KretprobeInstance[];
  /** Instances created so far (at most maxactive). */
  allocated: number;
  /** False once unregistered (a pre-handler still queued then does nothing). */
  live: boolean;
}

/** Events the engine reports (the recorder turns them into rows). */
export interface ProbeEventSink {
  (
    seq: number,
    kind:
      | 'kprobe'
      | 'singlestep'
      | 'trampoline'
      | 'return'
      | 'orphan_return'
      | 'missed'
      | 'reentry'
      | 'break'
      | 'fault'
      | 'retaddr_read',
    probe: Kprobe | Kretprobe | null,
    task: Task,
    addr: number,
    ri?: KretprobeInstance,
  ): void;
}

/** Manager of one breakpoint address: the aggregate's child list and the saved instruction. */
interface ProbePoint {
  addr: number;
  /** The image it is armed in (RESERVED_IMAGE for the engine's own code). */
  image: number;
  opcode: number;
  insn: Uint8Array;
  insnLen: number;
  slot: number;
  /** Children in dispatch order (aggregate list). */
  list: Kprobe[];
  /** Per child: the object its events name (its kretprobe, else itself); refreshPoint() keeps it. */
  evOf: (Kprobe | Kretprobe)[];
  /** Per child: it is a jprobe's kprobe. */
  isJp: boolean[];
  kind: string;
  /** What resume_execution does after the step (RESUME_*; from `kind`, so the hot path switches on a number). */
  resume: number;
  npfx: number;
  modrm: number;
  op: number;
  o16: boolean;
  /** cli, sti: the instruction would change IF itself (K9). */
  ifModifier: boolean;
}

// resume_execution's cases (ProbePoint.resume), by the stepped instruction's control kind.
const RESUME_PLAIN = 0;
const RESUME_PUSHF = 1;
/** ret, lret, iret (with or without an immediate): EIP is the return's target already. */
const RESUME_RET = 2;
const RESUME_CALL_REL = 3;
/** call through a register, memory or far pointer: fix the pushed address, keep the target. */
const RESUME_CALL_ABS = 4;
const RESUME_JMP_ABS = 5;

function resumeKind(kind: string): number {
  switch (kind) {
    case 'pushf':
      return RESUME_PUSHF;
    case 'ret':
    case 'ret_imm':
    case 'lret':
    case 'lret_imm':
    case 'iret':
      return RESUME_RET;
    case 'call_rel':
      return RESUME_CALL_REL;
    case 'call_ind':
    case 'call_far':
      return RESUME_CALL_ABS;
    case 'jmp_ind':
    case 'jmp_far':
      return RESUME_JMP_ABS;
    default:
      return RESUME_PLAIN;
  }
}

interface PrevKprobe {
  kp: ProbePoint | null;
  status: number;
  oldEflags: number;
  savedEflags: number;
}

/** struct kprobe_ctlblk: per-CPU state. */
interface CtlBlock {
  current: ProbePoint | null;
  /** The aggregate child whose handler is running (fault/break routing, K5). */
  currentChild: Kprobe | null;
  status: number;
  oldEflags: number;
  savedEflags: number;
  prev: PrevKprobe;
  jprobeSavedRegs: Int32Array;
  jprobeSavedEip: number;
  jprobeSavedFlags: number;
  jprobeSavedEsp: number;
  jprobeSavedStack: Uint8Array;
  /** The task that owns the per-CPU state right now (debug aid). */
  task: Task | null;
}

function newCtl(): CtlBlock {
  return {
    current: null,
    currentChild: null,
    status: 0,
    oldEflags: 0,
    savedEflags: 0,
    prev: { kp: null, status: 0, oldEflags: 0, savedEflags: 0 },
    jprobeSavedRegs: new Int32Array(8),
    jprobeSavedEip: 0,
    jprobeSavedFlags: 0,
    jprobeSavedEsp: 0,
    jprobeSavedStack: new Uint8Array(JPROBE_STACK_BYTES),
    task: null,
  };
}

/** What the engine reads an image's original text through. */
interface Text {
  executable(addr: number): boolean;
  byte(addr: number): number;
}

/** Registers every item or, at the first failure, unregisters those registered before it (K3). */
function allOrNothing<T>(items: T[], register: (x: T) => Result, unregister: (x: T) => unknown): Result {
  for (let i = 0; i < items.length; i++) {
    const r = register(items[i]!);
    if (r !== 0) {
      for (let j = i - 1; j >= 0; j--) unregister(items[j]!);
      return r;
    }
  }
  return 0;
}

export class ProbeEngine {
  /** Probe points by image and address (pointKey). */
  private points = new Map<number, ProbePoint>();
  /** The executables probes can name; image 0 is the recorded binary. */
  readonly images: ProbeImages;
  private texts = new Map<number, ImageText>();
  /** Which image each address space runs (absent: NO_IMAGE). */
  private imageOfMm = new WeakMap<AddressSpace, number>();
  /** The reserved code's bytes, copied into the address space of every exec. */
  private readonly reserved = new Uint8Array(RESERVED_PAGES * PAGE_SIZE);
  private owner = new Map<Kprobe, ProbePoint>();
  private ctl: CtlBlock[];
  private regsCache = new WeakMap<Cpu, PtRegs>();
  // One-entry caches of the trap path's lookups (a trap repeats the previous one's CPU and address
  // space; probe points are looked up alternately at a probe and at the trampoline).
  private lastCpu: Cpu | null = null;
  private lastRegs: PtRegs | null = null;
  private lastMm: AddressSpace | null = null;
  private lastMmImage = NO_IMAGE;
  /** The last task's image (a task's address space changes only by exec, which calls setImageOf). */
  private lastTask: Task | null = null;
  private lastTaskImage = NO_IMAGE;
  private hitImage = NaN;
  private hitAddr = NaN;
  private hitPt: ProbePoint | undefined = undefined;
  private reservedAddr = NaN;
  private reservedPt: ProbePoint | undefined = undefined;
  private slots: number[] = [];
  private nextSlot = SLOT_BASE;
  private kretprobes = new Set<Kretprobe>();
  private rpOfKp = new Map<Kprobe, Kretprobe>();
  private jprobeOfKp = new Map<Kprobe, Jprobe>();
  private pools = new Map<Kretprobe, KretPool>();
  /** Per-task instance lists (task->kretprobe_instances), oldest first: the newest is popped first. */
  private taskInstances = new Map<Task, KretprobeInstance[]>();
  private trampolineKp: Kprobe;
  private readonly d = new Decoded();
  /** A message with details for the last error (e.g. the nearest instruction boundary). */
  lastError = '';
  sink: ProbeEventSink | null = null;
  /** Total probe traps handled (for benchmarks). */
  traps = 0;
  /** Events emitted so far (the last event's seq). */
  eventSeq = 0;
  private lastEntrySeq = 0;
  /** Depths are counted over the whole task list (see preHandlerKretprobe), not read off the stack. */
  private countDepths = false;
  private callGuestDepth = 0;
  private watchSlots = false;

  /**
   * `opts.image`: the recorded binary's bytes, so a process that execs the same file gets its
   * probes again (without them, only the first image and its fork children are probed).
   */
  constructor(
    readonly machine: Machine,
    opts: { image?: Uint8Array } = {},
  ) {
    this.ctl = machine.vcpus.map(() => newCtl());
    this.images = new ProbeImages({
      path: machine.options.argv[0] ?? '',
      bytes: opts.image ?? null,
      symbols: machine.symbols,
    });
    this.setImageOf(machine.initProcess.mm, 0);
    machine.initProcess.mm.memory.map(RESERVED_BASE, RESERVED_PAGES * PAGE_SIZE, PROT_EXEC);
    // The trampoline is a single nop; the callGuest return stub is another int3-protected nop.
    this.writeReserved(
      TRAMPOLINE_ADDR,
      new Uint8Array([0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90]),
    );
    machine.hooks.exception.add((task, vector, code, addr) => this.onException(task, vector, code, addr), {
      first: true,
    });
    machine.hooks.taskFlush.add((task) => this.kprobeFlushTask(task));
    machine.hooks.fork.add((parent, child) => this.onFork(parent, child));
    machine.hooks.exec.add((proc, _task, _ts, image) => this.onExec(proc, image));
    this.trampolineKp = {
      addr: TRAMPOLINE_ADDR,
      preHandler: (_p, regs) => this.trampolineProbeHandler(regs),
    };
    this.installPoint(this.trampolineKp, TRAMPOLINE_ADDR, true);
    const stubKp: Kprobe = { addr: CALL_GUEST_RETURN, preHandler: (_p, regs) => this.callGuestReturn(regs) };
    this.installPoint(stubKp, CALL_GUEST_RETURN, true);
  }

  private regsOf(cpu: Cpu): PtRegs {
    if (cpu === this.lastCpu) return this.lastRegs!;
    let r = this.regsCache.get(cpu);
    if (!r) {
      r = new PtRegs(cpu);
      this.regsCache.set(cpu, r);
    }
    this.lastCpu = cpu;
    this.lastRegs = r;
    return r;
  }

  private ctlOf(): CtlBlock {
    return this.ctl[this.machine.currentCpuId]!;
  }

  // ---------------------------------------------------------------- images and address spaces

  /** Another executable the run may exec (PATH: specs); the same image again for equal bytes. */
  addImage(path: string, bytes: Uint8Array): ProbeImage {
    return this.images.add(path, bytes);
  }

  /** Where file offset `offset` of an added image is loaded, if it is executable text. */
  addressOfOffset(image: number, offset: number): number | undefined {
    const im = this.images.get(image);
    if (!im?.bytes || !im.elf) return undefined;
    return new ImageText(im.bytes, im.elf).addressOfOffset(offset);
  }

  /** The image an address space runs (NO_IMAGE when no image has its bytes). */
  private mmImage(mm: AddressSpace): number {
    if (mm === this.lastMm) return this.lastMmImage;
    const image = this.imageOfMm.get(mm) ?? NO_IMAGE;
    this.lastMm = mm;
    this.lastMmImage = image;
    return image;
  }

  private setImageOf(mm: AddressSpace, image: number): void {
    this.imageOfMm.set(mm, image);
    this.lastMm = null;
    this.lastTask = null;
  }

  /** The image the task (or, outside a slice, the first process) runs. */
  imageOf(task: Task | null): number {
    if (task !== null && task === this.lastTask) return this.lastTaskImage;
    const image = this.mmImage((task?.process ?? this.machine.initProcess).mm);
    this.lastTask = task;
    this.lastTaskImage = image;
    return image;
  }

  private pointKey(image: number, addr: number): number {
    return image * 0x100000000 + (addr >>> 0);
  }

  /** The probe point at `addr` as a task running `image` sees it (reserved code is everywhere). */
  private pointAt(image: number, addr: number): ProbePoint | undefined {
    addr = addr >>> 0;
    if (this.isReserved(addr)) {
      if (addr !== this.reservedAddr) {
        this.reservedPt = this.points.get(this.pointKey(RESERVED_IMAGE, addr));
        this.reservedAddr = addr;
      }
      return this.reservedPt;
    }
    if (addr !== this.hitAddr || image !== this.hitImage) {
      this.hitPt = this.points.get(this.pointKey(image, addr));
      this.hitAddr = addr;
      this.hitImage = image;
    }
    return this.hitPt;
  }

  /** After a change of the probe points or of their children: forget the cached lookups. */
  private pointsChanged(pt?: ProbePoint): void {
    this.hitAddr = this.reservedAddr = NaN;
    if (!pt) return;
    pt.evOf = pt.list.map((k) => this.rpOfKp.get(k) ?? k);
    pt.isJp = pt.list.map((k) => this.jprobeOfKp.has(k));
  }

  /**
   * The address spaces running `image` (all of them for RESERVED_IMAGE), once each: the first
   * process's (also after it ended: the machine's memory then) and every other process's.
   */
  private spacesOf(image: number): AddressSpace[] {
    const out: AddressSpace[] = [];
    const add = (mm: AddressSpace): void => {
      if (!out.includes(mm) && (image === RESERVED_IMAGE || this.mmImage(mm) === image)) out.push(mm);
    };
    add(this.machine.initProcess.mm);
    for (const p of this.machine.processes.values()) add(p.mm);
    return out;
  }

  /**
   * Writes guest text of `image` in every address space that runs it (arming, disarming); the
   * reserved code also goes into the master copy that later execs get.
   */
  private writeText(image: number, addr: number, bytes: Uint8Array): void {
    if (image === RESERVED_IMAGE) this.reserved.set(bytes, addr - RESERVED_BASE);
    for (const mm of this.spacesOf(image)) mm.memory.poke(addr, bytes);
  }

  /** Writes the engine's reserved code (trampoline, stubs, slots). */
  private writeReserved(addr: number, bytes: Uint8Array): void {
    this.writeText(RESERVED_IMAGE, addr, bytes);
  }

  /** A live memory running `image` (the current task's first), or null when none does. */
  private memoryOf(image: number): Memory | null {
    const cur = (this.machine.currentTask?.process ?? this.machine.initProcess).mm;
    if (this.mmImage(cur) === image) return cur.memory;
    return this.spacesOf(image)[0]?.memory ?? null;
  }

  /** The original text of `image`: its file for added images; guest memory for the recorded binary. */
  private textOf(image: number): Text | null {
    let t = this.texts.get(image);
    if (!t) {
      const im = this.images.get(image);
      if (image === 0 || !im?.bytes || !im.elf) {
        const mem = image === 0 ? this.memoryOf(0) : null;
        if (!mem) return null;
        return {
          executable: (a) => mem.isMapped(a) && (mem.protOf(a) & PROT_EXEC) !== 0,
          byte: (a) => {
            const pt = this.pointAt(image, a);
            return pt ? pt.opcode : mem.peek(a >>> 0, 1)[0]!;
          },
        };
      }
      t = new ImageText(im.bytes, im.elf);
      this.texts.set(image, t);
    }
    const file = t;
    return {
      executable: (a) => file.executable(a),
      byte: (a) => this.pointAt(image, a)?.opcode ?? file.byte(a),
    };
  }

  /** A fork child runs what its parent runs and gets the parent's pending returns as orphans. */
  private onFork(parent: Process, child: Process): void {
    if (child.mm !== parent.mm) this.setImageOf(child.mm, this.mmImage(parent.mm));
    const from = this.machine.currentTask;
    const to = child.threads[0];
    const list = from ? this.taskInstances.get(from) : undefined;
    if (!to || !list || list.length === 0) return;
    // uretprobes' dup_utask: the child's stack copy returns through the trampoline too. The calls
    // were entered by the parent, so the copies run no handler (K18's orphan_return) and belong
    // to no pool; each restores the real return address.
    this.taskInstances.set(
      to,
      list.map((ri) => ({ ...ri, rp: null, task: to, data: new Uint8Array(0), slot: 0, entryValues: null })),
    );
  }

  /** exec: the new address space gets the reserved code, and the probes of the image it now runs. */
  private onExec(proc: Process, bytes: Uint8Array | undefined): void {
    const image = bytes ? (this.images.find(bytes)?.id ?? NO_IMAGE) : NO_IMAGE;
    this.setImageOf(proc.mm, image);
    const mem = proc.mm.memory;
    mem.map(RESERVED_BASE, RESERVED_PAGES * PAGE_SIZE, PROT_EXEC);
    mem.poke(RESERVED_BASE, this.reserved.subarray(0, this.nextSlot - RESERVED_BASE));
    if (image === NO_IMAGE) return;
    const bp = new Uint8Array([BREAKPOINT]);
    for (const pt of this.points.values()) if (pt.image === image) mem.poke(pt.addr, bp);
  }

  // ---------------------------------------------------------------- address checks (K1, K2)

  isReserved(addr: number): boolean {
    return addr >>> 0 >= RESERVED_BASE && addr >>> 0 < RESERVED_BASE + RESERVED_PAGES * PAGE_SIZE;
  }

  /** Byte of original guest text (breakpoints we wrote are looked through) of `image` (default: the current task's). */
  originalByte(addr: number, image = this.imageOf(this.machine.currentTask)): number {
    const pt = this.pointAt(image, addr);
    if (pt) return pt.opcode;
    const text = image === this.imageOf(this.machine.currentTask) ? null : this.textOf(image);
    return text ? text.byte(addr) : this.machine.memory.peek(addr >>> 0, 1)[0]!;
  }

  private decodeOriginal(addr: number, image: number): Decoded {
    return decodeInsn((a) => this.originalByte(a, image), addr >>> 0, this.d);
  }

  /**
   * Whether `addr` is the first byte of an instruction, decoding from the start of the containing
   * function as Linux's can_probe does. Returns null when it is, else the nearest boundary.
   */
  instructionBoundary(
    addr: number,
    image = 0,
  ): { ok: true } | { ok: false; nearest: number | null; why: string } {
    const text = this.textOf(image);
    addr = addr >>> 0;
    if (!text || !text.executable(addr))
      return {
        ok: false,
        nearest: null,
        why: `0x${addr.toString(16)} is not in mapped executable guest code`,
      };
    const where = this.images.get(image)!.symbols.symbolize(addr);
    if (!where || (where.sym.size > 0 && where.offset >= where.sym.size)) return { ok: true };
    let a = where.sym.addr >>> 0;
    let prev = a;
    try {
      while (a < addr) {
        prev = a;
        const d = this.decodeOriginal(a, image);
        a = (a + d.len) >>> 0;
      }
    } catch {
      return { ok: true };
    }
    if (a === addr) return { ok: true };
    const nearest = addr - prev <= a - addr ? prev : a;
    return { ok: false, nearest, why: `0x${addr.toString(16)} is not an instruction boundary` };
  }

  private resolve(p: Kprobe): number | Errno {
    let addr: number;
    if (p.symbolName !== undefined) {
      const im = this.images.get(p.image ?? 0);
      const s = im?.symbols.lookup(p.symbolName);
      if (!s) {
        this.lastError = `unknown symbol ${p.symbolName}`;
        return 'EINVAL';
      }
      addr = (s.addr + (p.offset ?? 0)) >>> 0;
    } else if (p.addr !== undefined) addr = (p.addr + (p.offset ?? 0)) >>> 0;
    else {
      this.lastError = 'no address or symbol';
      return 'EINVAL';
    }
    return addr;
  }

  // ---------------------------------------------------------------- registration

  private allocSlot(): number {
    const s = this.slots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot + SLOT_SIZE > RESERVED_BASE + RESERVED_PAGES * PAGE_SIZE) return -1;
    const a = this.nextSlot;
    this.nextSlot += SLOT_SIZE;
    return a;
  }

  private installPoint(p: Kprobe, addr: number, reserved = false, image = 0): ProbePoint | Errno {
    if (reserved) image = RESERVED_IMAGE;
    let d: Decoded;
    try {
      d = this.decodeOriginal(addr, image);
    } catch {
      this.lastError = `cannot read the instruction at 0x${addr.toString(16)}`;
      return 'EINVAL';
    }
    if (d.op === OP_UD || d.op === OP_GP) {
      this.lastError = `0x${addr.toString(16)} holds an invalid instruction`;
      return 'EINVAL';
    }
    const kind = controlKind(d);
    if (!reserved && (kind === 'syscall' || kind === 'int' || kind === 'into' || kind === 'int1')) {
      // Like uprobes' good_insns table (0xcd/0xce/0xf1 are refused): a software interrupt cannot be
      // stepped out of line. The #DB of a stepped `int $0x80` comes after the NEXT instruction (the
      // slot's padding), and a blocking system call would leave this CPU's HIT_SS state to others.
      this.lastError = `0x${addr.toString(16)} is a software interrupt (${kind}): cannot be single-stepped out of line`;
      return 'EINVAL';
    }
    const insn = new Uint8Array(MAX_INSN_SIZE);
    for (let k = 0; k < d.len; k++) insn[k] = this.originalByte(addr + k, image);
    const slot = reserved ? 0 : this.allocSlot();
    if (slot < 0) {
      this.lastError = 'out of instruction slots';
      return 'ENOMEM';
    }
    const pt: ProbePoint = {
      addr,
      image,
      opcode: insn[0]!,
      insn,
      insnLen: d.len,
      slot,
      list: [p],
      evOf: [],
      isJp: [],
      kind: controlKind(d),
      resume: RESUME_PLAIN,
      npfx: d.npfx,
      modrm: d.modrm,
      op: d.op,
      o16: (d.pfx & 1) !== 0,
      ifModifier: false,
    };
    pt.ifModifier = pt.kind === 'cli' || pt.kind === 'sti';
    pt.resume = resumeKind(pt.kind);
    if (slot) this.writeReserved(slot, insn.subarray(0, d.len));
    this.points.set(this.pointKey(image, addr), pt);
    this.pointsChanged(pt);
    this.owner.set(p, pt);
    this.writeText(image, addr, new Uint8Array([BREAKPOINT]));
    p.nmissed = 0;
    p.hits = p.hits ?? 0;
    return pt;
  }

  /** register_kprobe (K1, K2, K4). */
  registerKprobe(p: Kprobe): Result {
    return this.registerKprobeInner(p, false);
  }

  private registerKprobeInner(p: Kprobe, isJprobe: boolean): Result {
    if (this.owner.has(p)) {
      this.lastError = 'probe already registered';
      return 'EINVAL';
    }
    const addr = this.resolve(p);
    if (typeof addr !== 'number') return addr;
    if (this.isReserved(addr)) {
      this.lastError = `0x${addr.toString(16)} is in the emulator's reserved probe code`;
      return 'EINVAL';
    }
    const image = p.image ?? 0;
    const b = this.instructionBoundary(addr, image);
    if (!b.ok) {
      this.lastError = b.why + (b.nearest !== null ? ` (nearest boundary 0x${b.nearest.toString(16)})` : '');
      return 'EINVAL';
    }
    const existing = this.points.get(this.pointKey(image, addr));
    if (existing) {
      // Aggregate (K4): plain kprobes at the head, a jprobe at the tail, only one jprobe.
      if (isJprobe) {
        if (existing.list.some((k) => this.jprobeOfKp.has(k))) {
          this.lastError = 'a jprobe is already registered at this address';
          return 'EEXIST';
        }
        existing.list.push(p);
      } else existing.list.unshift(p);
      this.pointsChanged(existing);
      this.owner.set(p, existing);
      p.nmissed = 0;
      p.hits = p.hits ?? 0;
      return 0;
    }
    const pt = this.installPoint(p, addr, false, image);
    return typeof pt === 'string' ? pt : 0;
  }

  /** unregister_kprobe (K22, K23): ENOENT for a probe that is not registered. */
  unregisterKprobe(p: Kprobe): Result {
    const pt = this.owner.get(p);
    if (!pt || this.points.get(this.pointKey(pt.image, pt.addr)) !== pt || !pt.list.includes(p)) {
      this.lastError = 'probe is not registered';
      return 'ENOENT';
    }
    this.owner.delete(p);
    pt.list = pt.list.filter((k) => k !== p);
    this.pointsChanged(pt);
    if (pt.list.length === 0) {
      this.points.delete(this.pointKey(pt.image, pt.addr));
      // Disarmed in every address space running the image (uprobes' remove_breakpoint per mm).
      this.writeText(pt.image, pt.addr, new Uint8Array([pt.opcode]));
      if (pt.slot) this.slots.push(pt.slot);
    }
    return 0;
  }

  /** register_kprobes (K3): all or nothing. */
  registerKprobes(ps: Kprobe[]): Result {
    return allOrNothing(
      ps,
      (p) => this.registerKprobe(p),
      (p) => this.unregisterKprobe(p),
    );
  }

  unregisterKprobes(ps: Kprobe[]): void {
    for (const p of ps) this.unregisterKprobe(p);
  }

  /** register_jprobe (K7). */
  registerJprobe(jp: Jprobe): Result {
    // Checked before anything is touched: the failure path below forgets jp.kp as a jprobe, which
    // must not happen to a jprobe that is registered (it would lose its break handler and EEXIST).
    if (this.owner.has(jp.kp)) {
      this.lastError = 'probe already registered';
      return 'EINVAL';
    }
    jp.kp.preHandler = (p, regs) => this.setjmpPreHandler(jp, p, regs);
    jp.kp.breakHandler = (p, regs) => this.longjmpBreakHandler(jp, p, regs);
    this.jprobeOfKp.set(jp.kp, jp);
    const r = this.registerKprobeInner(jp.kp, true);
    if (r !== 0) this.jprobeOfKp.delete(jp.kp);
    return r;
  }

  unregisterJprobe(jp: Jprobe): Result {
    const r = this.unregisterKprobe(jp.kp);
    if (r === 0) this.jprobeOfKp.delete(jp.kp);
    return r;
  }

  /** register_kretprobe (K6). */
  registerKretprobe(rp: Kretprobe): Result {
    if (this.kretprobes.has(rp)) {
      this.lastError = 'kretprobe already registered';
      return 'EINVAL';
    }
    if ((rp.dataSize ?? 0) > 4096) {
      this.lastError = 'data_size above 4096';
      return 'E2BIG';
    }
    const addr = this.resolve(rp.kp);
    if (typeof addr !== 'number') return addr;
    const fn = this.images.get(rp.kp.image ?? 0)?.symbols.symbolize(addr);
    if (
      (rp.kp.offset ?? 0) !== 0 ||
      (fn && fn.offset !== 0 && fn.sym.type === 'func' && fn.offset < fn.sym.size)
    ) {
      this.lastError = 'a return probe must be at a function entry';
      return 'EINVAL';
    }
    let max = rp.maxactive;
    if (max <= 0) max = defaultMaxactive(this.machine.ncpus, this.machine.preempt);
    rp.maxactive = max;
    rp.nmissed = 0;
    const pool: KretPool = { free: [], allocated: 0, live: false };
    rp.kp.preHandler = (_p, regs) => this.preHandlerKretprobe(rp, pool, regs);
    const r = this.registerKprobe(rp.kp);
    if (r !== 0) return r;
    // Instances are created up front like Linux, up to the largest pool a user can ask for (K25);
    // an (analysis-only) unbounded pool grows lazily beyond that.
    for (let i = 0; i < Math.min(max, MAXACTIVE_MAX); i++) pool.free.push(this.newInstance(rp));
    pool.allocated = pool.free.length;
    pool.live = true;
    this.pools.set(rp, pool);
    this.kretprobes.add(rp);
    this.rpOfKp.set(rp.kp, rp);
    this.pointsChanged(this.owner.get(rp.kp));
    return 0;
  }

  private newInstance(rp: Kretprobe): KretprobeInstance {
    return {
      rp,
      retAddr: 0,
      task: null as unknown as Task,
      data: new Uint8Array(rp.dataSize ?? 0),
      entryTs: 0,
      entryCpu: 0,
      depth: 0,
      slot: 0,
      entryValues: null,
      entrySeq: 0,
    };
  }

  /** register_kretprobes (K3): all or nothing. */
  registerKretprobes(rps: Kretprobe[]): Result {
    return allOrNothing(
      rps,
      (rp) => this.registerKretprobe(rp),
      (rp) => this.unregisterKretprobe(rp),
    );
  }

  /** unregister_kretprobe (K18): in-flight instances are orphaned, free ones released. */
  unregisterKretprobe(rp: Kretprobe): Result {
    if (!this.kretprobes.has(rp)) {
      this.lastError = 'kretprobe is not registered';
      return 'ENOENT';
    }
    this.unregisterKprobe(rp.kp);
    this.kretprobes.delete(rp);
    this.rpOfKp.delete(rp.kp);
    const pool = this.pools.get(rp);
    if (pool) pool.live = false;
    this.pools.delete(rp);
    for (const list of this.taskInstances.values()) for (const ri of list) if (ri.rp === rp) ri.rp = null;
    return 0;
  }

  /** Instances of `rp` currently held by tasks. */
  inFlight(rp: Kretprobe): number {
    let n = 0;
    for (const list of this.taskInstances.values()) for (const ri of list) if (ri.rp === rp) n++;
    return n;
  }

  freeCount(rp: Kretprobe): number {
    return this.pools.get(rp)?.free.length ?? 0;
  }

  instancesOf(task: Task): readonly KretprobeInstance[] {
    return [...(this.taskInstances.get(task) ?? [])].reverse();
  }

  addressOf(p: Kprobe): number | undefined {
    return this.owner.get(p)?.addr;
  }

  /**
   * K20 detector (beyond Linux): while a return address is hijacked, a guest read of its stack slot by
   * anything but the function's own `ret` emits a 'retaddr_read' event, so users learn which functions
   * depend on __builtin_return_address(0). Costs a slow path for reads on pages holding such slots.
   */
  detectReturnAddressReads(on = true): void {
    this.watchSlots = on;
    this.machine.setWatchReadHandler(on ? (word, addr) => this.onSlotRead(word, addr) : () => {});
  }

  private onSlotRead(word: number, _addr: number): void {
    const task = this.machine.currentTask;
    if (!task) return;
    const list = this.taskInstances.get(task);
    const ri = list?.find((x) => x.slot === word);
    if (!ri) return;
    const at = task.cpu.currentInsnAddr();
    let op = this.originalByte(at);
    let k = 0;
    while ((op === 0x66 || op === 0x67 || op === 0x2e || op === 0x3e || op === 0x36 || op === 0x26) && k < 14)
      op = this.originalByte(at + ++k);
    if (op === 0xc3 || op === 0xc2) return; // the function's own return
    this.emit('retaddr_read', ri.rp, task, at, ri);
  }

  // ---------------------------------------------------------------- calling guest code from handlers

  /**
   * Calls the guest function at `fn` (cdecl) from a host handler and returns EAX. Guest code run this
   * way can hit probes (reentry, K12), as Linux's own reentry test does from a handler.
   */
  callGuest(fn: number, ...args: number[]): number {
    const m = this.machine;
    const task = m.currentTask;
    if (!task) throw new Error('callGuest outside a probe handler');
    const cpu = task.cpu;
    const saved = new Int32Array(cpu.regs);
    const savedEip = cpu.eip;
    const savedFlags = cpu.getFlags();
    // Run with TF/IF as a normal call would see them; the outer single-step state is restored after.
    cpu.setFlags((savedFlags & ~TF) | IF);
    for (let i = args.length - 1; i >= 0; i--) cpu.push32(args[i]!);
    cpu.push32(CALL_GUEST_RETURN);
    cpu.eip = fn >>> 0;
    this.callGuestDepth++;
    const depth = this.callGuestDepth;
    let guard = 0;
    while (this.callGuestDepth >= depth && !m.result) {
      cpu.run(1_000_000);
      if (++guard > 1000) break;
    }
    const ret = cpu.regs[EAX]! >>> 0;
    cpu.regs.set(saved);
    cpu.eip = savedEip;
    cpu.setFlags(savedFlags);
    cpu.attention = 0;
    return ret;
  }

  private callGuestReturn(regs: PtRegs): number {
    if (this.callGuestDepth > 0) {
      this.callGuestDepth--;
      regs.cpu.attention = 1;
    }
    return 1;
  }

  // ---------------------------------------------------------------- the breakpoint path

  private onException(task: Task, vector: number, code: number, addr: number): boolean {
    if (vector === VEC_BP) {
      // Probe traps cost no guest time (kprobes.md: handlers cost zero guest cycles): the int3 is
      // delivered while it executes, so handlers see the time before it, and once it retires it is
      // taken back off the clock. A run's schedule, timestamps and instruction count then do not
      // depend on which probes are attached or on their pool sizes, which replay relies on.
      const handled = this.kprobeHandler(task);
      if (handled) this.machine.discountInstructions(1);
      return handled;
    }
    if (vector === VEC_DB) return this.postKprobeHandler(task);
    return this.kprobeFaultHandler(task, vector, code, addr);
  }

  /** Emits an event; events are numbered densely from 1 in emulation order. */
  private emit(
    kind: Parameters<ProbeEventSink>[1],
    p: Kprobe | Kretprobe | null,
    task: Task,
    addr: number,
    ri?: KretprobeInstance,
  ): number {
    const seq = ++this.eventSeq;
    if (this.sink) this.sink(seq, kind, p, task, addr, ri);
    return seq;
  }

  private saveFlags(kcb: CtlBlock, pt: ProbePoint, eflags: number): void {
    kcb.oldEflags = eflags & (TF | IF);
    kcb.savedEflags = kcb.oldEflags;
    // K9: IF is not restored when the probed instruction itself changes it. The guest runs at CPL 3
    // with IOPL 0, where popf/iret leave IF alone and cli/sti raise #GP (K13 then restores the old
    // flags), so only cli/sti count; popf/iret get IF back like any other instruction.
    if (pt.ifModifier) kcb.savedEflags &= ~IF;
  }

  private prepareSinglestep(pt: ProbePoint, cpu: Cpu): void {
    cpu.changeTrapFlags(IF, TF);
    cpu.eip = pt.opcode === BREAKPOINT ? pt.addr : pt.slot;
  }

  /** kprobe_handler (K8, K9, K12). */
  private kprobeHandler(task: Task): boolean {
    const cpu = task.cpu;
    const regs = this.regsOf(cpu);
    const addr = (cpu.eip - 1) >>> 0;
    const kcb = this.ctlOf();
    this.traps++;
    // The callGuest return stub ends a nested guest call made from a handler: it is not a probe hit,
    // and the per-CPU state of the probe whose handler is running must survive it untouched.
    if (addr === CALL_GUEST_RETURN && this.callGuestDepth > 0) return this.callGuestReturn(regs) !== 0;
    const image = this.imageOf(task);
    if (kcb.current) {
      const pt = this.pointAt(image, addr);
      if (pt) {
        if (kcb.status === KPROBE_HIT_SS && kcb.current.opcode === BREAKPOINT) {
          // Single-stepping an original int3: it is the guest's own breakpoint.
          cpu.changeTrapFlags(TF, kcb.savedEflags);
          kcb.current = null;
          return false;
        }
        if (kcb.status === KPROBE_REENTER) {
          this.machine.killProcess(
            5,
            `unrecoverable kprobe reentry at 0x${addr.toString(16)}: a probe hit while already handling a reentered probe`,
            task,
            null,
          );
          return true;
        }
        // Reentry (K12): no handlers, nmissed++, single-step, restore the outer state afterwards.
        kcb.prev = {
          kp: kcb.current,
          status: kcb.status,
          oldEflags: kcb.oldEflags,
          savedEflags: kcb.savedEflags,
        };
        kcb.current = pt;
        this.saveFlags(kcb, pt, cpu.trapFlags());
        for (let i = 0; i < pt.list.length; i++) {
          const k = pt.list[i]!;
          k.nmissed = (k.nmissed ?? 0) + 1;
          this.emit('reentry', pt.evOf[i]!, task, addr);
        }
        this.prepareSinglestep(pt, cpu);
        kcb.status = KPROBE_REENTER;
        return true;
      }
      if (this.machine.memory.peek(addr, 1)[0] !== BREAKPOINT) {
        // Removed after the trap was taken (K8, K23).
        cpu.eip = addr;
        return true;
      }
      const child = kcb.currentChild;
      if (child && child.breakHandler && child.breakHandler(child, regs)) {
        this.emit('break', child, task, addr);
        const cur = kcb.current;
        this.saveFlags(kcb, cur, cpu.trapFlags());
        this.prepareSinglestep(cur, cpu);
        kcb.status = KPROBE_HIT_SS;
        return true;
      }
      return false;
    }
    const pt = this.pointAt(image, addr);
    if (!pt) {
      if (this.machine.memory.isMapped(addr) && this.machine.memory.peek(addr, 1)[0] !== BREAKPOINT) {
        cpu.eip = addr;
        return true;
      }
      return false; // the guest's own int3: SIGTRAP
    }
    kcb.task = task;
    kcb.status = KPROBE_HIT_ACTIVE;
    kcb.current = pt;
    this.saveFlags(kcb, pt, cpu.trapFlags());
    const reserved = addr === TRAMPOLINE_ADDR || addr === CALL_GUEST_RETURN;
    // Aggregate dispatch (K5): pre-handlers in list order, stop at the first non-zero.
    const list = pt.list;
    for (let i = 0; i < list.length; i++) {
      const k = list[i]!;
      if (!k.preHandler) continue;
      kcb.currentChild = k;
      k.hits = (k.hits ?? 0) + 1;
      if (!reserved) this.lastEntrySeq = this.emit('kprobe', pt.evOf[i]!, task, addr);
      if (k.preHandler(k, regs)) {
        // The handler set EIP itself: no single-step (K9). A jprobe keeps the CPU's current probe
        // for its break handler; anything else releases it, as Linux's core does since 2.6.x.
        if (!pt.isJp[i]) {
          kcb.current = null;
          kcb.currentChild = null;
        }
        return true;
      }
    }
    kcb.currentChild = null;
    this.prepareSinglestep(pt, cpu);
    kcb.status = KPROBE_HIT_SS;
    return true;
  }

  private probeForEvent(pt: ProbePoint): Kprobe | Kretprobe {
    return pt.evOf[0]!;
  }

  /** post_kprobe_handler (K11): runs after the single step's debug trap. */
  private postKprobeHandler(task: Task): boolean {
    const kcb = this.ctlOf();
    const pt = kcb.current;
    if (!pt) return false;
    const cpu = task.cpu;
    const regs = this.regsOf(cpu);
    this.traps++;
    if (kcb.status !== KPROBE_REENTER) {
      kcb.status = KPROBE_HIT_SSDONE;
      for (const k of pt.list) {
        if (k.postHandler) {
          kcb.currentChild = k;
          k.postHandler(k, regs, 0);
        }
      }
    }
    this.emit('singlestep', this.probeForEvent(pt), task, pt.addr);
    this.resumeExecution(pt, cpu, kcb);
    cpu.changeTrapFlags(0, kcb.savedEflags);
    const guestTf = (kcb.oldEflags & TF) !== 0;
    this.leaveProbe(kcb);
    // The guest had TF set itself: its own single-step trap follows the fix-up.
    if (guestTf) return false;
    return true;
  }

  /**
   * resume_execution (K11). Unlike 2.6.13, which looked only at the first byte, this uses the decoded
   * instruction, so operand-size and segment prefixes in front of call/jmp/ret/pushf are handled.
   */
  /**
   * The end of a probe's handling: a reentered probe gives the CPU back to the probe it interrupted
   * (Linux's restore_previous_kprobe), an outermost one leaves the control block idle.
   */
  private leaveProbe(kcb: CtlBlock): void {
    if (kcb.status === KPROBE_REENTER) {
      const prev = kcb.prev;
      kcb.current = prev.kp;
      kcb.status = prev.status;
      kcb.oldEflags = prev.oldEflags;
      kcb.savedEflags = prev.savedEflags;
    } else {
      kcb.current = null;
      kcb.currentChild = null;
    }
  }

  private resumeExecution(pt: ProbePoint, cpu: Cpu, kcb: CtlBlock): void {
    const mem = this.machine.memory;
    const origEip = pt.addr;
    const copyEip = pt.opcode === BREAKPOINT ? pt.addr : pt.slot;
    const tos = cpu.regs[ESP]! >>> 0;
    let nextEip = -1;
    switch (pt.resume) {
      case RESUME_PUSHF: {
        if (pt.o16) mem.write16(tos, (mem.read16(tos) & ~(TF | IF)) | kcb.oldEflags);
        else mem.write32(tos, (mem.read32(tos) & ~(TF | IF)) | kcb.oldEflags);
        break;
      }
      case RESUME_RET:
        cpu.changeTrapFlags(TF, 0);
        return;
      case RESUME_CALL_REL:
        mem.write32(tos, (origEip + ((mem.read32(tos) >>> 0) - copyEip)) | 0);
        break;
      case RESUME_CALL_ABS:
        mem.write32(tos, (origEip + ((mem.read32(tos) >>> 0) - copyEip)) | 0);
        nextEip = cpu.eip;
        break;
      case RESUME_JMP_ABS:
        nextEip = cpu.eip;
        break;
      default:
        break;
    }
    cpu.changeTrapFlags(TF, 0);
    cpu.eip = nextEip >= 0 ? nextEip >>> 0 : (origEip + (cpu.eip - copyEip)) >>> 0;
  }

  /** kprobe_fault_handler (K13). */
  private kprobeFaultHandler(task: Task, vector: number, _code: number, _addr: number): boolean {
    const kcb = this.ctlOf();
    const pt = kcb.current;
    if (!pt) return false;
    const cpu = task.cpu;
    const regs = this.regsOf(cpu);
    // 2.6.13: kprobe_running()->fault_handler. For a lone probe that is the probe itself, also while
    // its instruction is single-stepped; for an aggregate, aggr_fault_handler only forwards to the
    // child whose handler is running (K5).
    const child =
      kcb.currentChild ?? (kcb.status === KPROBE_HIT_SS && pt.list.length === 1 ? pt.list[0]! : null);
    this.emit('fault', child ? (this.rpOfKp.get(child) ?? child) : null, task, pt.addr);
    if (child && child.faultHandler && child.faultHandler(child, regs, vector)) return true;
    if (kcb.status === KPROBE_HIT_SS || kcb.status === KPROBE_REENTER) {
      // A fault leaves EIP at the faulting instruction: if that is the stepped copy, it did not
      // complete (nothing pushed, no transfer), so resume_execution's completion fix-ups must not run
      // (for call/jmp indirect they would rewrite a stack word and leave EIP in the slot page). Point
      // EIP back at the probe address instead, as Linux's kprobe_fault_handler does since 2.6.2x.
      const copy = pt.opcode === BREAKPOINT ? pt.addr : pt.slot;
      if (cpu.eip >>> 0 === copy) {
        cpu.changeTrapFlags(TF, 0);
        cpu.eip = pt.addr;
      } else this.resumeExecution(pt, cpu, kcb);
      cpu.changeTrapFlags(0, kcb.oldEflags);
      this.leaveProbe(kcb);
    }
    return false;
  }

  // ---------------------------------------------------------------- jprobes (K7)

  private setjmpPreHandler(jp: Jprobe, _p: Kprobe, regs: PtRegs): number {
    const kcb = this.ctlOf();
    const cpu = regs.cpu;
    kcb.jprobeSavedRegs.set(cpu.regs);
    kcb.jprobeSavedEip = cpu.eip;
    kcb.jprobeSavedFlags = cpu.getFlags();
    const esp = cpu.regs[ESP]! >>> 0;
    kcb.jprobeSavedEsp = esp;
    const n = Math.min(JPROBE_STACK_BYTES, Math.max(0, 0x100000000 - esp));
    try {
      kcb.jprobeSavedStack = this.machine.memory.peek(esp, n);
    } catch {
      kcb.jprobeSavedStack = new Uint8Array(0);
    }
    cpu.setFlags(cpu.getFlags() & ~IF);
    cpu.eip = jp.entry >>> 0;
    return 1;
  }

  private longjmpBreakHandler(_jp: Jprobe, _p: Kprobe, regs: PtRegs): number {
    const kcb = this.ctlOf();
    const cpu = regs.cpu;
    cpu.regs.set(kcb.jprobeSavedRegs);
    // EIP goes back to the probe address; the caller then single-steps the original instruction.
    cpu.eip = (kcb.jprobeSavedEip - 1) >>> 0;
    cpu.setFlags(kcb.jprobeSavedFlags);
    if (kcb.jprobeSavedStack.length) this.machine.memory.poke(kcb.jprobeSavedEsp, kcb.jprobeSavedStack);
    return 1;
  }

  // ---------------------------------------------------------------- kretprobes (K14..K19)

  /** pre_handler_kretprobe + arch_prepare_kretprobe (K14). */
  private preHandlerKretprobe(rp: Kretprobe, pool: KretPool, regs: PtRegs): number {
    const m = this.machine;
    const task = m.currentTask!;
    if (!pool.live) return 0;
    const free = pool.free;
    let ri = free.pop();
    if (!ri && pool.allocated < rp.maxactive) {
      ri = this.newInstance(rp);
      pool.allocated++;
    }
    if (!ri) {
      rp.nmissed = (rp.nmissed ?? 0) + 1;
      this.emit('missed', rp, task, this.owner.get(rp.kp)?.addr ?? 0);
      return 0;
    }
    ri.task = task;
    ri.rp = rp;
    ri.entryTs = m.now();
    ri.entryCpu = m.currentCpuId;
    ri.entrySeq = this.lastEntrySeq;
    let list = this.taskInstances.get(task);
    if (!list) {
      list = [];
      this.taskInstances.set(task, list);
    }
    // The task's list is a stack (entries push, returns pop, only a flush empties it) and an
    // unregistration orphans all of a probe's instances at once, so the instances of rp below the
    // newest one are exactly those it counted at its own entry.
    let depth = 0;
    if (this.countDepths) {
      for (const x of list) if (x.rp === rp) depth++;
    } else
      for (let i = list.length - 1; i >= 0; i--)
        if (list[i]!.rp === rp) {
          depth = list[i]!.depth + 1;
          break;
        }
    ri.depth = depth;
    if (rp.entryHandler && rp.entryHandler(ri, regs)) {
      free.push(ri);
      return 0;
    }
    // An entry handler that unregistered its own probe: this instance, not on the list yet, escaped
    // the orphaning, so the stack no longer tells depths (should rp come back): count from now on.
    if (!pool.live) this.countDepths = true;
    const esp = regs.sp;
    ri.slot = esp;
    // peek, not read32: the engine's own read must not count as a guest read for the K20 detector (a
    // second kretprobe on this function reads the slot the first one is already watching).
    ri.retAddr = m.memory.peek32(esp) >>> 0;
    m.memory.write32(esp, TRAMPOLINE_ADDR);
    if (this.watchSlots) m.memory.watch(esp);
    list.push(ri);
    return 0;
  }

  /** trampoline_probe_handler (K15, K16, K17, K18). */
  private trampolineProbeHandler(regs: PtRegs): number {
    const m = this.machine;
    const task = m.currentTask!;
    const list = this.taskInstances.get(task) ?? [];
    this.emit('trampoline', null, task, TRAMPOLINE_ADDR);
    if (list.length === 0) {
      // Every return the engine hooked leaves an instance on the task's list until the trampoline
      // consumes it (K14, K19 recycle only at exit/exec), so an empty list means the guest itself
      // transferred control here (a jump or call to the address, or a return address it copied
      // while it was hijacked, K20). Linux's uretprobe trampoline answers that with SIGILL.
      m.killProcess(
        4,
        `task ${task.tid} jumped to the kretprobe trampoline (0x${TRAMPOLINE_ADDR.toString(16)}) ` +
          `with no return pending: the guest transferred control there itself`,
        task,
        null,
      );
      return 1;
    }
    let orig = TRAMPOLINE_ADDR;
    while (list.length > 0) {
      const ri = list.pop()!;
      if (ri.rp) {
        this.emit('return', ri.rp, task, TRAMPOLINE_ADDR, ri);
        if (ri.rp.handler) ri.rp.handler(ri, regs);
      } else this.emit('orphan_return', null, task, TRAMPOLINE_ADDR, ri);
      orig = ri.retAddr;
      this.recycle(ri);
      if (orig !== TRAMPOLINE_ADDR) break;
    }
    regs.ip = orig;
    return 1;
  }

  private recycle(ri: KretprobeInstance): void {
    if (this.watchSlots && ri.slot) {
      this.machine.memory.unwatch(ri.slot);
      ri.slot = 0;
    }
    if (ri.rp) this.pools.get(ri.rp)?.free.push(ri);
  }

  /** kprobe_flush_task (K19): a dying task's instances go back to their pools. */
  private kprobeFlushTask(task: Task): void {
    const list = this.taskInstances.get(task);
    if (!list) return;
    for (const ri of list) this.recycle(ri);
    this.taskInstances.delete(task);
  }

  /** Whether a kretprobe kprobe belongs to this engine's kretprobe (for event attribution). */
  kretprobeOf(kp: Kprobe): Kretprobe | undefined {
    return this.rpOfKp.get(kp);
  }
}
