// Lockstep comparison of the emulator against a reference CPU trace, one instruction at a time.
//
// The reference is qemu-i386 with the tracer plugin (test/native/tracer.c; see test/helpers/native.ts
// for why it is not ptrace on the real CPU). The plugin streams, per instruction, EIP, the 8 GPRs and
// EFLAGS; per int $0x80 the syscall's result and the guest memory it wrote. This module reads that
// stream asynchronously in chunks and steps the emulator (Machine.step) in lockstep.
//
// Set-up: Machine.load maps the ELF segments as usual; then the reference's initial stack [esp, top)
// (argv, envp, auxv with AT_SYSINFO* turned into AT_IGNORE, AT_RANDOM bytes...) is mapped and copied
// into the emulator at the same addresses, and EIP, the GPRs and EFLAGS are set from the reference's
// first record. Both sides then run the same bytes from the same state.
//
// Compared after every instruction: EIP, EAX..EDI and EFLAGS under COMPARED_FLAGS, minus the flags that
// Intel's SDM documents as undefined for the instruction just executed (undefinedFlags below, decided by
// our own small decoder, not the emulator's, so a decoder bug in the emulator cannot hide itself).
//
// RESYNC POLICY (what is imposed, and when states are forced equal):
//  1. Undefined flags: after each compare, the emulator's undefined-flag bits are overwritten with the
//     reference's, so a legitimately different undefined flag cannot surface later (pushf, jcc).
//  2. CPUID / RDTSC: the plugin forces the REFERENCE to the emulator's model: CPUID results come from
//     the emulator's cpuidValues() table, RDTSC returns the number of instructions retired before it.
//     Nothing is imposed on the emulator: its CPUID/RDTSC results are compared like any instruction.
//  3. System calls (a hook on m.hooks.syscall): the syscall number must match the reference's next one.
//     - EXECUTED by the emulator, then checked (EAX by the next compare, written memory byte for byte):
//       exit, exit_group, write, writev, set_thread_area, rt_sigaction, sigaction, rt_sigprocmask,
//       sigprocmask, munmap, mprotect, madvise.
//     - IMPOSED on the emulator (the emulator's own implementation is skipped): everything else. EAX
//       gets the reference's result and the memory the reference's kernel wrote is written into the
//       emulator (read, fstat64, statx, uname, clock_gettime, ...). mmap2/mmap with a successful result
//       map that range in the emulator (prot from the call, file bytes from the record); brk maps the
//       pages between the old and the new break. So host-dependent results (inode numbers, times, pids,
//       qemu's address-space layout) never cause a mismatch.
//  4. qemu runs the last iteration of a REP string instruction twice (once more with ECX = 0, to leave
//     the loop); such a reference record, at the same EIP with ECX = 0 while the emulator has already
//     moved on, is compared (all but EIP) and skipped.
//  5. set_thread_area: the emulator executes it and may pick another GDT entry than the reference
//     (qemu-i386 emulates a 32-bit kernel and hands out entry 6, selector 0x33; a 64-bit kernel, and the
//     emulator, entry 12, selector 0x63: both are valid Linux behaviour). The entry_number written back
//     is not compared; from then on a register holding the emulator's entry, entry*8 or selector where
//     the reference holds its own counterpart compares equal.
//  6. On a mismatch: with stopAtFirst (default) the run stops and reports; otherwise the emulator's
//     registers, EIP and EFLAGS are set to the reference's and the run goes on (memory is not resynced),
//     collecting up to maxMismatches reports.
//  7. With an SSE model (pentium4; qemu runs -cpu pentium3,+sse2) XMM0-7 and MXCSR's control bits are
//     compared after every instruction too and resynced with the GPRs. MXCSR's exception flags are not
//     (QEMU keeps them in its softfloat state until STMXCSR): test/sse.test.ts compares those, and the
//     DE flag QEMU never sets, against the real CPU.
// Reports give: instruction number, EIP, disassembly (instructionInfo mnemonic, bytes), expected vs
// actual registers/flags, and the previous few instructions.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuidValues, cpuModel, type CpuModel } from '../../src/emulator/cpuid.js';
import { instructionInfo } from '../../src/emulator/insn.js';
import { Machine } from '../../src/emulator/machine.js';
import { buildTracer, QEMU_CPU, QEMU_CPU_SSE2, qemuBinary, qemuOneInsnFlag, REPO_ROOT } from './native.js';

const TAG_INIT = 1;
const TAG_INSN = 2;
const TAG_SYSCALL = 3;
const TAG_EXIT = 4;
const TAG_END = 5;
const TAG_CPUIDMISS = 6;

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;
/** CF PF AF ZF SF TF IF DF OF, AC, ID (and the always-one bit 1). */
export const COMPARED_FLAGS = 0x240fd7;

/** MXCSR's control bits (masks, RC, DAZ, FZ): QEMU's flags lag (see test/native/tracer.c). */
const MXCSR_CONTROL = 0xffc0;

const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;

/** Syscalls the emulator executes itself (then checked); all others are imposed from the reference. */
const EXECUTED = new Set([1, 252, 4, 146, 243, 174, 67, 175, 126, 91, 125, 219]);

const PREFIXES = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);

/**
 * EFLAGS bits that the SDM leaves undefined after the instruction `b` (its bytes), given the
 * registers before it (for shift counts in CL). Only instructions with undefined flags are listed.
 */
/**
 * Where the REFERENCE (qemu-i386 7.2) departs from Intel hardware in x87 status reporting, the bits
 * involved are masked like undefined ones and then copied from the reference (policy 1), so neither
 * side's choice is asserted: FCOMI/FUCOMI(P) leave SF, AF and OF unchanged in qemu where the SDM clears
 * them; and FNSTSW AX shows qemu's stale C1 (it only updates C1 in FXAM/FPREM; hardware clears it in
 * FCOM & co.) and never the DE bit for denormal loads. Returns [eflags mask, AX mask].
 */
export function referenceQuirks(b: Uint8Array): [number, number] {
  let i = 0;
  while (i < b.length && PREFIXES.has(b[i]!)) i++;
  const op = b[i];
  const modrm = b[i + 1] ?? 0;
  if ((op === 0xdb || op === 0xdf) && modrm >= 0xe8 && modrm <= 0xf7) return [SF | AF | OF, 0];
  if (op === 0xdf && modrm === 0xe0) return [0, 0x0202];
  return [0, 0];
}

export function undefinedFlags(b: Uint8Array, ecxBefore: number): number {
  let i = 0;
  let opsize = 32;
  while (i < b.length && PREFIXES.has(b[i]!)) {
    if (b[i] === 0x66) opsize = 16;
    i++;
  }
  const op = b[i];
  if (op === undefined) return 0;
  const modrm = b[i + 1] ?? 0;
  const reg = (modrm >> 3) & 7;
  const last = b[b.length - 1] ?? 0;
  const shiftMask = (count: number, kind: 'rot' | 'shift', width: number): number => {
    const c = count & 31;
    if (c === 0) return 0;
    if (kind === 'rot') return c === 1 ? 0 : OF;
    let m = c === 1 ? AF : AF | OF;
    if (c >= width) m |= CF; // SHL/SHR: CF undefined when count >= operand size
    return m;
  };
  switch (op) {
    // logic: AF undefined
    case 0x08:
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d: // or
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25: // and
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35: // xor
    case 0x84:
    case 0x85:
    case 0xa8:
    case 0xa9: // test
      return AF;
    case 0x80:
    case 0x81:
    case 0x83:
      return reg === 1 || reg === 4 || reg === 6 ? AF : 0;
    case 0x69:
    case 0x6b: // imul r, r/m, imm
      return SF | ZF | AF | PF;
    case 0xf6:
    case 0xf7:
      if (reg === 0 || reg === 1) return AF; // test
      if (reg === 4 || reg === 5) return SF | ZF | AF | PF; // mul, imul
      if (reg === 6 || reg === 7) return ARITH; // div, idiv
      return 0;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const width = op === 0xc0 || op === 0xd0 || op === 0xd2 ? 8 : opsize;
      const count = op <= 0xc1 ? last : op <= 0xd1 ? 1 : ecxBefore & 0xff;
      return shiftMask(count, reg <= 3 ? 'rot' : 'shift', width);
    }
    case 0xd4:
    case 0xd5: // aam, aad
      return OF | AF | CF;
    case 0x27:
    case 0x2f: // daa, das
      return OF;
    case 0x37:
    case 0x3f: // aaa, aas
      return OF | SF | ZF | PF;
    case 0x0f: {
      const op2 = b[i + 1];
      const reg2 = ((b[i + 2] ?? 0) >> 3) & 7;
      switch (op2) {
        case 0xa3:
        case 0xab:
        case 0xb3:
        case 0xbb: // bt bts btr btc
          return OF | SF | AF | PF;
        case 0xba:
          return reg2 >= 4 ? OF | SF | AF | PF : 0;
        case 0xbc:
        case 0xbd: // bsf bsr
          return CF | OF | SF | AF | PF;
        case 0xaf: // imul r, r/m
          return SF | ZF | AF | PF;
        case 0xa4:
        case 0xac:
        case 0xa5:
        case 0xad: {
          // shld/shrd
          const c = (op2 === 0xa4 || op2 === 0xac ? last : ecxBefore) & 31;
          if (c === 0) return 0;
          if (c > opsize) return ARITH; // result undefined too (16-bit only)
          return c === 1 ? AF : AF | OF;
        }
        default:
          return 0;
      }
    }
    default:
      return 0;
  }
}

/** True for a REP/REPE/REPNE-prefixed string instruction (movs cmps stos lods scas ins outs). */
function isRepString(b: Uint8Array): boolean {
  let i = 0;
  let rep = false;
  while (i < b.length && PREFIXES.has(b[i]!)) {
    if (b[i] === 0xf2 || b[i] === 0xf3) rep = true;
    i++;
  }
  const op = b[i] ?? 0;
  return rep && ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f));
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

function peekSafe(m: Machine, addr: number, len: number): Uint8Array {
  for (let n = len; n > 0; n--) {
    try {
      return m.memory.peek(addr >>> 0, n);
    } catch {
      // next shorter read: the instruction may end right before an unmapped page
    }
  }
  return new Uint8Array(0);
}

export function disasm(m: Machine, eip: number): string {
  const bytes = peekSafe(m, eip, 15);
  let text: string;
  try {
    const info = instructionInfo(bytes);
    if ('invalid' in info) text = '(invalid per instructionInfo)';
    else
      text = `${info.mnemonic} [${Array.from(bytes.subarray(0, info.length), (x) => x.toString(16).padStart(2, '0')).join(' ')}]`;
  } catch (e) {
    text = `(instructionInfo threw: ${(e as Error).message})`;
  }
  return `${hex(eip)}: ${text}`;
}

/** Writes the CPUID table the tracer imposes: leaf, subleaf (ffffffff = any), eax, ebx, ecx, edx. */
export function writeCpuidTable(file: string, model: CpuModel): void {
  const lines: string[] = [];
  const leaves: number[] = [];
  for (let l = 0; l <= 0x20; l++) leaves.push(l);
  for (let l = 0x40000000; l <= 0x40000010; l++) leaves.push(l);
  for (let l = 0x80000000; l <= 0x80000020; l++) leaves.push(l);
  for (const leaf of leaves) {
    const base = cpuidValues(model, leaf, 0);
    let same = true;
    for (let s = 1; s < 16; s++) if (cpuidValues(model, leaf, s).some((v, k) => v !== base[k])) same = false;
    const subs = same ? [-1] : Array.from({ length: 16 }, (_, s) => s);
    for (const s of subs) {
      const v = cpuidValues(model, leaf, s < 0 ? 0 : s);
      lines.push([leaf, s, ...v].map((x) => (x >>> 0).toString(16)).join(' '));
    }
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

export interface LockstepOptions {
  cwd?: string;
  env?: string[];
  /** Stop after this many reference instructions (the plugin ends qemu there). */
  maxInstructions?: number;
  /** The emulator's CPU model (default pentium2); the reference runs the matching qemu -cpu. */
  cpuModel?: string;
  /** Stop at the first mismatch (default true); otherwise resync and continue. */
  stopAtFirst?: boolean;
  maxMismatches?: number;
  /** How many previous instructions a report lists. */
  history?: number;
}

export interface LockstepResult {
  /** Instructions whose resulting state was compared. */
  compared: number;
  syscalls: number;
  /** How the reference trace ended. */
  end: 'exit' | 'max' | 'eof';
  exitCode: number | null;
  mismatches: string[];
  /** stderr of qemu (plugin diagnostics). */
  referenceStderr: string;
}

interface Rec {
  tag: number;
  off: number;
  size: number;
}

/**
 * Incremental parser over the byte stream: records are only handed out once complete. Bytes live in a
 * growable store; record offsets stay valid until compact(). The producer is paused while more than
 * HIGH_WATER unread bytes are buffered (qemu is much faster than the emulator's single-stepping).
 */
const HIGH_WATER = 4 << 20;
class Stream {
  /** INSN record size: 44 bytes, 176 with the XMM state (tracer option xmm=1). */
  insnSize = 44;
  private store = Buffer.alloc(1 << 20);
  private len = 0;
  buf = this.store.subarray(0, 0);
  pos = 0;
  ended = false;
  paused = false;
  onPause: () => void = () => {};
  onResume: () => void = () => {};
  private waiters: Array<() => void> = [];

  push(chunk: Buffer): void {
    if (this.len + chunk.length > this.store.length) {
      let cap = this.store.length;
      while (cap < this.len + chunk.length) cap *= 2;
      const grown = Buffer.alloc(cap);
      this.store.copy(grown, 0, 0, this.len);
      this.store = grown;
    }
    chunk.copy(this.store, this.len);
    this.len += chunk.length;
    this.buf = this.store.subarray(0, this.len);
    if (!this.paused && this.len - this.pos > HIGH_WATER) {
      this.paused = true;
      this.onPause();
    }
    this.wake();
  }

  /** Drops consumed bytes when worthwhile; invalidates record offsets handed out before. */
  compact(): void {
    if (this.pos > 1 << 20) {
      this.store.copyWithin(0, this.pos, this.len);
      this.len -= this.pos;
      this.pos = 0;
      this.buf = this.store.subarray(0, this.len);
    }
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  wait(): Promise<void> {
    if (this.paused) {
      this.paused = false;
      this.onResume();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  u32(off: number): number {
    return this.buf.readUInt32LE(off);
  }

  /** The record at `off`, or null when it is not complete yet. */
  recordAt(off: number): Rec | null {
    const b = this.buf;
    if (off + 4 > b.length) return null;
    const tag = b.readUInt32LE(off);
    let size: number;
    switch (tag) {
      case TAG_INIT: {
        if (off + 12 > b.length) return null;
        size = 12 + ((b.readUInt32LE(off + 8) + 3) & ~3);
        break;
      }
      case TAG_INSN:
        size = this.insnSize;
        break;
      case TAG_SYSCALL: {
        if (off + 16 > b.length) return null;
        const n = b.readUInt32LE(off + 12);
        let p = off + 16;
        for (let k = 0; k < n; k++) {
          if (p + 8 > b.length) return null;
          p += 8 + ((b.readUInt32LE(p + 4) + 3) & ~3);
        }
        size = p - off;
        break;
      }
      case TAG_EXIT:
        size = 12;
        break;
      case TAG_END:
        size = 8;
        break;
      case TAG_CPUIDMISS:
        size = 12;
        break;
      default:
        throw new Error(`tracer stream corrupt: tag ${tag} at offset ${off}`);
    }
    return off + size <= b.length ? { tag, off, size } : null;
  }
}

interface SysWrite {
  addr: number;
  data: Uint8Array;
}

function syscallWrites(s: Stream, rec: Rec): SysWrite[] {
  const n = s.u32(rec.off + 12);
  const out: SysWrite[] = [];
  let p = rec.off + 16;
  for (let k = 0; k < n; k++) {
    const addr = s.u32(p);
    const len = s.u32(p + 4);
    out.push({ addr, data: new Uint8Array(s.buf.subarray(p + 8, p + 8 + len)) });
    p += 8 + ((len + 3) & ~3);
  }
  return out;
}

const cpuidFiles = new Map<string, string>();
function cpuidTablePath(model: CpuModel): string {
  const known = cpuidFiles.get(model.name);
  if (known) return known;
  const f = path.join(os.tmpdir(), `probelab-cpuid-${model.name}-${process.pid}.txt`);
  writeCpuidTable(f, model);
  cpuidFiles.set(model.name, f);
  return f;
}

/** Runs `binary argv...` on qemu-i386 + tracer and in the emulator, comparing every instruction. */
export async function lockstep(
  binary: string,
  argv: string[],
  opts: LockstepOptions = {},
): Promise<LockstepResult> {
  const stopAtFirst = opts.stopAtFirst ?? true;
  const maxMismatches = opts.maxMismatches ?? 20;
  const historyLen = opts.history ?? 8;
  const cwd = opts.cwd ?? REPO_ROOT;
  const env = opts.env ?? [];
  const model = cpuModel(opts.cpuModel);
  const plugin = [buildTracer(), 'fd=3', `cpuid=${cpuidTablePath(model)}`];
  if (opts.maxInstructions !== undefined) plugin.push(`max=${opts.maxInstructions}`);
  // With SSE the reference also streams MXCSR and XMM0-7 after every instruction (policy 7).
  const xmm = model.sse > 0;
  if (xmm) plugin.push('xmm=1');
  const envObj: Record<string, string> = {};
  for (const kv of env) envObj[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  const child = spawn(
    qemuBinary(),
    [
      qemuOneInsnFlag(),
      '-cpu',
      model.sse ? QEMU_CPU_SSE2 : QEMU_CPU,
      '-plugin',
      plugin.join(','),
      '-0',
      argv[0] ?? binary,
      binary,
      ...argv.slice(1),
    ],
    { cwd, env: envObj, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
  );
  const stream = new Stream();
  if (xmm) stream.insnSize = 44 + 4 + 128;
  let refStderr = '';
  child.stdout!.on('data', () => {});
  child.stderr!.on('data', (d: Buffer) => {
    if (refStderr.length < 10000) refStderr += d.toString();
  });
  const trace = child.stdio[3] as NodeJS.ReadableStream;
  trace.on('data', (d: Buffer) => stream.push(d));
  stream.onPause = () => trace.pause();
  stream.onResume = () => trace.resume();
  trace.on('end', () => stream.end());
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));

  const mismatches: string[] = [];
  let compared = 0;
  let syscalls = 0;
  let end: LockstepResult['end'] = 'eof';
  let exitCode: number | null = null;

  const next = async (): Promise<Rec | null> => {
    for (;;) {
      const r = stream.recordAt(stream.pos);
      if (r) return r;
      if (stream.ended) return null;
      await stream.wait();
    }
  };

  try {
    const init = await next();
    if (!init || init.tag !== TAG_INIT)
      throw new Error(`reference gave no initial state; qemu said: ${refStderr}`);
    const sp = stream.u32(init.off + 4);
    const len = stream.u32(init.off + 8);
    const stackBytes = new Uint8Array(stream.buf.subarray(init.off + 12, init.off + 12 + len));
    stream.pos += init.size;
    const first = await next();
    if (!first || first.tag !== TAG_INSN) throw new Error('reference gave no first instruction');

    const m = Machine.load(new Uint8Array(fs.readFileSync(binary)), { argv, env, cwd, cpuModel: model.name });
    // The whole reference stack mapping: the dumped part [sp, top) and 8 MiB below it (qemu's default
    // stack size, as Linux's RLIMIT_STACK), so pushes below the initial ESP hit mapped memory.
    const top = sp + len;
    const lo = Math.max(0x1000, top - 8 * 1024 * 1024);
    m.memory.map(lo, top - lo, 3);
    m.memory.poke(sp, stackBytes);
    const cpu = m.cpu;
    const loadState = (off: number): void => {
      cpu.eip = stream.u32(off + 4);
      for (let r = 0; r < 8; r++) cpu.regs[r] = stream.u32(off + 8 + 4 * r) | 0;
      cpu.setFlags(stream.u32(off + 40));
      if (xmm) {
        cpu.sse.mxcsr = (cpu.sse.mxcsr & 0x3f) | (stream.u32(off + 44) & MXCSR_CONTROL);
        for (let k = 0; k < 32; k++) cpu.sse.d[k] = stream.u32(off + 48 + 4 * k) | 0;
      }
    };
    loadState(first.off);
    stream.pos += first.size;

    // previous reference state (before the instruction being executed)
    let prevEip = cpu.eip;
    let prevEcx = cpu.regs[1]! >>> 0;
    const history: number[] = [];
    let pendingSys: Rec[] = [];
    let stopTag = 0;
    let sysError: string | null = null;
    let brkMapped = -1;
    const checks: Array<{ nr: number; writes: SysWrite[] }> = [];
    /** reference value -> emulator value that compare equal (policy 5) */
    const equiv = new Map<number, number>();

    m.hooks.syscall.add((t, nr) => {
      const c = t.cpu;
      syscalls++;
      const rec = pendingSys.shift();
      if (!rec && stopTag === TAG_EXIT && (nr === 1 || nr === 252)) return false; // exit: no return record
      if (!rec) {
        sysError ??= `emulator made syscall ${nr} where the reference made none`;
        return true;
      }
      const refNr = stream.u32(rec.off + 4);
      const ret = stream.u32(rec.off + 8) | 0;
      const writes = syscallWrites(stream, rec);
      if (refNr !== nr >>> 0) {
        sysError ??= `emulator made syscall ${nr}, the reference syscall ${refNr}`;
        return true;
      }
      if (EXECUTED.has(nr)) {
        checks.push({ nr, writes });
        return false;
      }
      const ok = ret >>> 0 < 0xfffff001;
      try {
        if ((nr === 192 || nr === 90) && ok) {
          let mlen: number, prot: number;
          if (nr === 192) {
            mlen = c.regs[1]! >>> 0;
            prot = c.regs[2]! & 7;
          } else {
            const a = c.regs[3]! >>> 0; // old mmap: pointer to 6 arguments
            const args = m.memory.peek(a, 24);
            const dv = new DataView(args.buffer, args.byteOffset, 24);
            mlen = dv.getUint32(4, true);
            prot = dv.getUint32(8, true) & 7;
          }
          m.memory.map(ret >>> 0, (mlen + 0xfff) & ~0xfff, prot);
        } else if (nr === 45 && ok) {
          const top = ((ret >>> 0) + 0xfff) & ~0xfff;
          if (brkMapped < 0) brkMapped = top;
          else if (top > brkMapped) {
            m.memory.map(brkMapped, top - brkMapped, 3);
            brkMapped = top;
          }
        }
        for (const w of writes) m.memory.poke(w.addr, w.data);
      } catch (e) {
        sysError ??= `imposing syscall ${nr} failed in the emulator: ${String((e as { message?: string }).message ?? e)}`;
      }
      c.regs[0] = ret;
      return true;
    });

    const report = (what: string, refOff: number | null): void => {
      const lines = [`mismatch after instruction #${compared + 1}: ${what}`];
      lines.push(`  executed: ${disasm(m, prevEip)}`);
      if (refOff !== null) {
        const exp: string[] = [`eip=${hex(stream.u32(refOff + 4))}`];
        const act: string[] = [`eip=${hex(cpu.eip)}`];
        for (let r = 0; r < 8; r++) {
          exp.push(`${REG_NAMES[r]}=${hex(stream.u32(refOff + 8 + 4 * r))}`);
          act.push(`${REG_NAMES[r]}=${hex(cpu.regs[r]!)}`);
        }
        exp.push(`eflags=${hex(stream.u32(refOff + 40))}`);
        act.push(`eflags=${hex(cpu.getFlags())}`);
        lines.push(`  expected (reference): ${exp.join(' ')}`);
        lines.push(`  actual   (emulator):  ${act.join(' ')}`);
      }
      lines.push('  previous instructions:');
      for (const h of history) lines.push(`    ${disasm(m, h)}`);
      mismatches.push(lines.join('\n'));
    };

    /** Compares the emulator with the INSN record at off; returns a description or null. */
    const diff = (off: number, undef: number, skipEip = false, axMask = 0): string | null => {
      const out: string[] = [];
      const eip = stream.u32(off + 4);
      if (!skipEip && cpu.eip >>> 0 !== eip) out.push(`eip ${hex(cpu.eip)} != ${hex(eip)}`);
      for (let r = 0; r < 8; r++) {
        const v = stream.u32(off + 8 + 4 * r);
        const e = cpu.regs[r]! >>> 0;
        const keep = r === 0 ? ~axMask >>> 0 : 0xffffffff;
        if ((e & keep) >>> 0 !== (v & keep) >>> 0 && equiv.get(v) !== e)
          out.push(`${REG_NAMES[r]} ${hex(cpu.regs[r]!)} != ${hex(v)}`);
      }
      const mask = COMPARED_FLAGS & ~undef;
      const ef = cpu.getFlags() >>> 0;
      const rf = stream.u32(off + 40);
      if ((ef & mask) !== (rf & mask))
        out.push(
          `eflags ${hex(ef)} != ${hex(rf)} (differing ${hex((ef ^ rf) & mask)}, undefined here ${hex(undef)})`,
        );
      if (xmm) {
        const rm = stream.u32(off + 44) & MXCSR_CONTROL;
        if ((cpu.sse.mxcsr & MXCSR_CONTROL) !== rm)
          out.push(`mxcsr control ${hex(cpu.sse.mxcsr & MXCSR_CONTROL)} != ${hex(rm)}`);
        for (let r = 0; r < 8; r++) {
          let same = true;
          for (let k = 0; k < 4; k++)
            if (cpu.sse.d[r * 4 + k] !== (stream.u32(off + 48 + 16 * r + 4 * k) | 0)) same = false;
          if (!same) {
            const want = [3, 2, 1, 0]
              .map((k) =>
                stream
                  .u32(off + 48 + 16 * r + 4 * k)
                  .toString(16)
                  .padStart(8, '0'),
              )
              .join('');
            out.push(`xmm${r} ${cpu.sse.xmmHex(r)} != ${want}`);
          }
        }
      }
      return out.length ? out.join(', ') : null;
    };

    outer: for (;;) {
      // Gather the syscall records up to the next stop record (INSN, EXIT, END) or the end of the stream.
      stream.compact();
      let stop: Rec | null = null;
      pendingSys = [];
      for (;;) {
        const r = stream.recordAt(stream.pos) ?? (await next());
        if (!r) break;
        stream.pos += r.size;
        if (r.tag === TAG_SYSCALL) pendingSys.push(r);
        else if (r.tag === TAG_CPUIDMISS) {
          report(
            `CPUID leaf ${hex(stream.u32(r.off + 4))} subleaf ${hex(stream.u32(r.off + 8))} not in the table`,
            null,
          );
        } else {
          stop = r;
          break;
        }
      }
      stopTag = stop ? stop.tag : 0;
      const insnBytes = peekSafe(m, prevEip, 15);
      const [quirkFlags, axMask] = referenceQuirks(insnBytes);
      const undef = undefinedFlags(insnBytes, prevEcx) | quirkFlags;
      if (stop && stop.tag === TAG_END) {
        end = 'max';
        break;
      }
      let st: string;
      try {
        st = m.step();
      } catch (e) {
        report(`emulator threw a host exception: ${(e as Error).stack ?? String(e)}`, null);
        break;
      }
      if (sysError) {
        report(sysError, stop && stop.tag === TAG_INSN ? stop.off : null);
        break;
      }
      if (pendingSys.length) {
        report(
          `reference made syscall ${stream.u32(pendingSys[0]!.off + 4)} that the emulator did not make`,
          null,
        );
        break;
      }
      for (const chk of checks) {
        for (let w of chk.writes) {
          if (chk.nr === 243 && w.data.length >= 4) {
            const refEntry = new DataView(w.data.buffer, w.data.byteOffset, 4).getUint32(0, true);
            const emuEntry = new DataView(peekSafe(m, w.addr, 4).buffer).getUint32(0, true);
            if (refEntry !== emuEntry) {
              equiv.set(refEntry, emuEntry);
              equiv.set(refEntry * 8, emuEntry * 8);
              equiv.set(refEntry * 8 + 3, emuEntry * 8 + 3);
            }
            w = { addr: w.addr + 4, data: w.data.subarray(4) };
          }
          const got = peekSafe(m, w.addr, w.data.length);
          if (Buffer.compare(Buffer.from(got), Buffer.from(w.data)) !== 0)
            report(
              `syscall ${chk.nr} wrote different memory at ${hex(w.addr)}: emulator ${Buffer.from(got).toString('hex')} reference ${Buffer.from(w.data).toString('hex')}`,
              null,
            );
        }
      }
      checks.length = 0;
      if (!stop) {
        report(
          `reference trace ended (qemu: ${refStderr.trim() || 'no message'}); emulator step gave '${st}'`,
          null,
        );
        break;
      }
      if (stop.tag === TAG_EXIT) {
        end = 'exit';
        exitCode = stream.u32(stop.off + 8);
        if (st !== 'exited') report(`reference exited (${exitCode}), emulator step gave '${st}'`, null);
        else if (m.result && m.result.exitCode !== (exitCode & 0xff))
          report(`exit code: emulator ${m.result.exitCode}, reference ${exitCode}`, null);
        compared++;
        break;
      }
      // INSN record
      let off = stop.off;
      if (st !== 'ok' && st !== 'syscall') {
        report(`emulator step gave '${st}' (${m.result?.message ?? ''}) while the reference went on`, off);
        break;
      }
      const refEip = stream.u32(off + 4);
      if (
        refEip === prevEip &&
        cpu.eip >>> 0 !== refEip &&
        stream.u32(off + 8 + 4) === 0 &&
        isRepString(insnBytes)
      ) {
        // policy 4: qemu's extra ECX == 0 pass over a REP instruction
        const d = diff(off, undef, true);
        if (d) {
          report(d, off);
          if (stopAtFirst || mismatches.length >= maxMismatches) break;
        }
        let r2: Rec | null = null;
        for (;;) {
          r2 = await next();
          if (!r2) break outer;
          stream.pos += r2.size;
          if (r2.tag === TAG_INSN) break;
          if (r2.tag === TAG_END) {
            end = 'max';
            break outer;
          }
          if (r2.tag !== TAG_CPUIDMISS) {
            report(`unexpected record ${r2.tag} after a REP tail`, null);
            break outer;
          }
        }
        off = r2.off;
      }
      const d = diff(off, undef, false, axMask);
      compared++;
      if (!d && axMask) cpu.regs[0] = (cpu.regs[0]! & ~axMask) | (stream.u32(off + 8) & axMask);
      if (d) {
        report(d, off);
        if (stopAtFirst || mismatches.length >= maxMismatches) break;
        loadState(off);
        for (let r = 0; r < 8; r++) {
          const e = equiv.get(cpu.regs[r]! >>> 0);
          if (e !== undefined) cpu.regs[r] = e | 0; // keep the emulator's own TLS selector
        }
      } else if (undef) {
        const ef = cpu.getFlags();
        cpu.setFlags((ef & ~undef) | (stream.u32(off + 40) & undef));
      }
      history.push(prevEip);
      if (history.length > historyLen) history.shift();
      prevEip = stream.u32(off + 4);
      prevEcx = stream.u32(off + 8 + 4);
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return { compared, syscalls, end, exitCode, mismatches, referenceStderr: refStderr };
}
