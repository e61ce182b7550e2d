// A probe session: one emulated run with kprobe_events-style probes attached, streaming every event,
// call, miss, scheduling decision, task lifecycle, guest output, nondeterministic input and (at the
// end, finish()) the syscall counts to a RunSink as the records of src/trace/records.ts. Recording
// writes them to the trace database; replay verifies against, or writes, the same stream.
// Guarantees: event sequence numbers are dense from 1 in emulation order; timestamps are virtual cycles;
// nothing here reads host time or randomness, so the same inputs give the same stream. The event,
// call and miss records are reused objects (records.ts: sinks copy what they keep).
// Fetched arguments are written as JSON by a per-probe ArgsJson (byte-identical to
// JSON.stringify(evaluate(...))) through one reused FetchContext, and K27 entry captures go into a
// per-instance buffer reused across the pool's recycling, so the common event allocates nothing.

import { Machine, type MachineOptions, type RunResult, type Task } from '../emulator/machine.js';
import { HostFiles } from '../emulator/hostfiles.js';
import {
  captureEntryArgsInto,
  compileFetchArgs,
  newEntryArgsBuffer,
  type CompiledFetchArgs,
  type EntryArgValues,
  type FetchContext,
} from '../probes/fetch.js';
import { compileArgsJson, type ArgsJson } from '../probes/fetch-json.js';
import {
  ProbeEngine,
  type Jprobe,
  type Kprobe,
  type Kretprobe,
  type KretprobeInstance,
} from '../probes/kprobes.js';
import { openExecutable } from '../probes/uprobes.js';
import { formatSpecError, parseProbeSpec, type ProbeSpec, type RegName } from '../probes/spec.js';
import { probeKind, type BuildEnv, type ProbeKindDescriptor } from '../probes/kinds.js';
import type { EventKindName } from '../trace/codes.js';
import {
  blankCallRecord,
  blankEventRecord,
  type CallRecord,
  type EventRecord,
  type MissRecord,
  type ProbeCounters,
  type ProbeRecord,
  type RunSink,
} from '../trace/records.js';

/** An installed probe: its record (as stored in the probes table) and the engine objects. */
export interface SessionProbe extends ProbeRecord {
  /** Its kind (kinds.ts); `kind` is what the trace stores for it. */
  desc: ProbeKindDescriptor;
  kp: Kprobe;
  rp?: Kretprobe;
  jp?: Jprobe;
  args: CompiledFetchArgs;
  /** Writes `JSON.stringify(args.evaluate(...))` without the intermediate object. */
  argsJson: ArgsJson;
}

/** The stored record of an installed probe (without the engine objects). */
export function probeRecord(p: SessionProbe): ProbeRecord {
  return {
    probeId: p.probeId,
    event: p.event,
    kind: p.kind,
    spec: p.spec,
    symbol: p.symbol,
    offset: p.offset,
    addr: p.addr,
    maxactive: p.maxactive,
  };
}

/** A probe spec the user gave that cannot be installed: the message is ready to print. */
export class ProbeSpecError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ProbeSpecError';
  }
}

export interface SessionOptions extends MachineOptions {
  /** kprobe_events lines, plus `j:[GRP/]EVENT SYM HANDLER` for jprobes (probelab extension). */
  probes: string[];
  /** K20 detector: record 'retaddr_read' events when guest code reads a hijacked return address. */
  detectReturnAddressReads?: boolean;
  /** Pool size overrides by event name ('GRP/EVENT' or 'EVENT'); UNBOUNDED = unbounded (analysis). */
  maxactive?: Record<string, number>;
}

export class ProbeSession {
  readonly machine: Machine;
  readonly engine: ProbeEngine;
  readonly probes: SessionProbe[] = [];
  private fctx: FetchContext & { task: Task | null; addr: number };
  // Reused records (records.ts: a sink copies what it keeps).
  private readonly ev: EventRecord = blankEventRecord('kprobe');
  private readonly callRec: CallRecord = blankCallRecord();
  private readonly missRec: MissRecord = { probeId: 0, tid: 0, cpu: 0, ts: 0, reason: 'no_instance' };
  private finished = false;

  constructor(
    bytes: Uint8Array,
    opts: SessionOptions,
    private readonly sink: RunSink,
  ) {
    const cwd = opts.cwd ?? process.cwd();
    // The file system reports each host answer through the input hook below (os/vfs-inputs.ts).
    const files = opts.files ?? new HostFiles(opts.allowRead ?? [cwd], cwd);
    const m = new Machine(bytes, { ...opts, cwd, files });
    this.machine = m;
    this.engine = new ProbeEngine(m, { image: bytes });
    if (opts.detectReturnAddressReads) this.engine.detectReturnAddressReads(true);
    // The running task's address space and image (processes fork and exec).
    this.fctx = {
      task: null,
      addr: 0,
      reg: (name: RegName) => this.readReg(name),
      read8: (a) => m.memory.read8(a >>> 0),
      read16: (a) => m.memory.read16(a >>> 0),
      read32: (a) => m.memory.read32(a >>> 0) >>> 0,
      stackAddr: () => (this.fctx.task ? this.fctx.task.cpu.regs[4]! >>> 0 : 0),
      comm: () => this.fctx.task?.name ?? '',
      symbolize: (a) => {
        const s = (this.fctx.task?.process.symbols ?? m.symbols).symbolize(a >>> 0);
        return s ? (s.offset ? `${s.sym.name}+0x${s.offset.toString(16)}` : s.sym.name) : undefined;
      },
      retval: () => (this.fctx.task ? this.fctx.task.cpu.regs[0]! >>> 0 : 0),
      // Set per return event (never spread into a fresh object); present from the start so the
      // context keeps one shape.
      entryArgs: undefined,
    };
    m.hooks.sched.add((ts, cpu, prev, next, reason) =>
      sink.sched({ ts, cpu, prevTid: prev || null, nextTid: next || null, reason }),
    );
    // Each task's process as it is when the task starts: its pid (tgid), its parent's pid (0 for
    // the first process) and the guest path of the executable it runs.
    const taskRecord = (t: Task, startTs: number) => {
      const p = t.process;
      return {
        tid: t.tid,
        pid: p.pid,
        ppid: p.parent?.pid ?? 0,
        parentTid: t.parentTid || null,
        name: t.name,
        exe: p.exe,
        startTs,
      };
    };
    m.hooks.taskStart.add((t, ts) => sink.taskStart(taskRecord(t, ts)));
    m.hooks.taskExit.add((t, ts) => sink.taskEnd({ tid: t.tid, ts, exitCode: t.exitCode }));
    m.hooks.output.add((fd, ts, data) => sink.output({ fd, ts, data }));
    m.hooks.input.add((kind, key, data) => sink.input({ kind, key, data }));
    // The main task started before hooks existed.
    sink.taskStart({ ...taskRecord(m.mainTask, 0), parentTid: null });
    this.engine.sink = (seq, kind, p, task, addr, ri) => this.onProbeEvent(seq, kind, p, task, addr, ri);
    for (const text of opts.probes) this.addProbe(text, opts.maxactive ?? {});
  }

  private readReg(name: RegName): number {
    const t = this.fctx.task;
    if (!t) return 0;
    const c = t.cpu;
    switch (name) {
      case 'ax':
        return c.regs[0]! >>> 0;
      case 'cx':
        return c.regs[1]! >>> 0;
      case 'dx':
        return c.regs[2]! >>> 0;
      case 'bx':
        return c.regs[3]! >>> 0;
      case 'sp':
        return c.regs[4]! >>> 0;
      case 'bp':
        return c.regs[5]! >>> 0;
      case 'si':
        return c.regs[6]! >>> 0;
      case 'di':
        return c.regs[7]! >>> 0;
      case 'ip':
        return this.fctx.addr >>> 0;
      case 'flags':
        return c.getFlags();
      case 'cs':
        return c.sreg[1]!;
      case 'ds':
        return c.sreg[3]!;
      case 'es':
        return c.sreg[0]!;
      case 'fs':
        return c.sreg[4]!;
      case 'gs':
        return c.sreg[5]!;
      default:
        return c.sreg[2]!;
    }
  }

  private specContext() {
    const m = this.machine;
    return {
      openExecutable: (path: string) => openExecutable(this.engine, path),
      lookupSymbol: (name: string) => m.symbols.lookup(name)?.addr,
      isInsnBoundary: (addr: number) => this.engine.instructionBoundary(addr).ok,
      isFunctionEntry: (addr: number) => {
        const s = m.symbols.symbolize(addr);
        return !!s && s.offset === 0;
      },
    };
  }

  /** Parses and registers one probe line; throws ProbeSpecError with a caret message. */
  addProbe(text: string, overrides: Record<string, number>): SessionProbe | null {
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return null;
    const r = parseProbeSpec(trimmed, this.specContext());
    if (!r.ok) throw new ProbeSpecError(formatSpecError(trimmed, r.error), r.error.code);
    const spec = r.spec;
    if (spec.kind === 'remove') {
      const ev = spec.event;
      const p = this.probes.find(
        (x) => x.event === `${spec.group}/${ev}` || (spec.anyGroup && x.event.endsWith('/' + ev)),
      );
      if (!p) throw new ProbeSpecError(`probe ${ev} is not defined: ${trimmed}`, 'ENOENT');
      p.desc.unregister(this.engine, p);
      return null;
    }
    return this.install(spec, overrides);
  }

  private install(spec: ProbeSpec, overrides: Record<string, number>): SessionProbe {
    const event = `${spec.group}/${spec.event}`;
    if (this.probes.some((p) => p.event === event))
      throw new ProbeSpecError(`event ${event} already exists: ${spec.text}`, 'EEXIST');
    const desc = probeKind(spec.kind);
    const args = compileFetchArgs(spec.args);
    // The engine objects carry the probe id, so an event finds its probe without a lookup.
    const probeId = this.probes.length + 1;
    const kp: Kprobe =
      spec.symbol !== undefined
        ? { symbolName: spec.symbol, offset: spec.offset, image: spec.image, id: probeId }
        : { addr: spec.addr, image: spec.image, id: probeId };
    const sp: SessionProbe = {
      probeId,
      event,
      kind: desc.stored,
      desc,
      spec: spec.text,
      symbol: spec.symbol ?? null,
      offset: spec.offset,
      addr: spec.addr,
      maxactive: null,
      kp,
      args,
      argsJson: compileArgsJson(spec.args, args),
    };
    // The recorded maxactive (0 = the default, K6) unless the run overrides it.
    const env: BuildEnv = {
      maxactive: overrides[event] ?? overrides[spec.event] ?? spec.maxactive,
      entry: this.entryCapture(args),
    };
    const objs = desc.build(spec, kp, env);
    sp.rp = objs.rp;
    sp.jp = objs.jp;
    if (sp.rp) sp.rp.id = probeId;
    const res = desc.register(this.engine, sp);
    if (res !== 0)
      throw new ProbeSpecError(`cannot register ${event} (${res}): ${this.engine.lastError}`, res);
    if (sp.rp) sp.maxactive = sp.rp.maxactive;
    sp.addr = this.engine.addressOf(kp) ?? spec.addr;
    this.probes.push(sp);
    return sp;
  }

  /** The kretprobe entry handler that captures the entry values of `$argN`-style arguments (K27). */
  private entryCapture(args: CompiledFetchArgs): BuildEnv['entry'] {
    const split = args.entry;
    return {
      dataSize: split.dataSize,
      entryHandler: split.argNums.length
        ? (ri) => {
            this.fctx.task = ri.task;
            // The engine keeps entryValues when it recycles the instance (one call at a time), so
            // the buffer is allocated once per instance and overwritten at every entry.
            let buf = ri.entryValues as Float64Array | null;
            if (buf === null) {
              buf = newEntryArgsBuffer(split);
              ri.entryValues = buf;
            }
            captureEntryArgsInto(split, this.fctx, buf);
            return 0;
          }
        : undefined,
    };
  }

  private onProbeEvent(
    seq: number,
    kind: EventKindName,
    p: Kprobe | Kretprobe | null,
    task: Task,
    addr: number,
    ri?: KretprobeInstance,
  ): void {
    const m = this.machine;
    const ts = m.now();
    const cpu = m.currentCpuId;
    const id = p ? p.id : undefined;
    const sp = id !== undefined ? this.probes[id - 1] : undefined;
    const probeId = sp ? sp.probeId : null;
    let args: string | null = null;
    this.fctx.task = task;
    this.fctx.addr = addr;
    if (sp && sp.args.args.length > 0 && kind === sp.desc.argsOn) {
      if (kind === 'return') {
        this.fctx.entryArgs = (ri?.entryValues as EntryArgValues | null) ?? undefined;
        args = sp.argsJson.write(this.fctx, 'return');
      } else args = sp.argsJson.write(this.fctx, 'entry');
    }
    const ev = this.ev;
    ev.seq = seq;
    ev.ts = ts;
    ev.cpu = cpu;
    ev.tid = task.tid;
    ev.kind = kind;
    ev.probeId = probeId;
    ev.addr = addr;
    ev.args = args;
    this.sink.event(ev);
    if (kind === 'return' && sp && ri) {
      const c = this.callRec;
      c.probeId = sp.probeId;
      c.tid = task.tid;
      c.ts = ri.entryTs;
      c.dur = ts - ri.entryTs;
      c.entryCpu = ri.entryCpu;
      c.returnCpu = cpu;
      c.depth = ri.depth;
      c.retval = task.cpu.regs[0]! >>> 0;
      c.args = args;
      c.entrySeq = ri.entrySeq;
      c.returnSeq = seq;
      this.sink.call(c);
    } else if ((kind === 'missed' || kind === 'reentry') && sp) {
      const r = this.missRec;
      r.probeId = sp.probeId;
      r.tid = task.tid;
      r.cpu = cpu;
      r.ts = ts;
      r.reason = kind === 'missed' ? 'no_instance' : 'reentry';
      this.sink.missed(r);
    }
  }

  get eventCount(): number {
    return this.engine.eventSeq;
  }

  /** Runs the guest to the end and finishes the session (see finish()). */
  run(): RunResult {
    const r = this.machine.run();
    this.finish(r);
    return r;
  }

  /** After the machine stopped: hands the run's syscall counts (per task and number) to the sink, once. */
  finish(r: RunResult): void {
    if (this.finished) return;
    this.finished = true;
    for (const c of r.syscalls) this.sink.syscall(c);
  }

  counters(): ProbeCounters[] {
    return this.probes.map((p) => ({ probeId: p.probeId, ...p.desc.counters(p) }));
  }
}
