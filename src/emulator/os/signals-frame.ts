// Linux i386 signal frames: entering a handler (setup_frame / setup_rt_frame) and leaving it
// (sigreturn / rt_sigreturn), laid out byte for byte as arch/x86/kernel/signal_32.c and
// uapi asm/sigcontext.h define them for a 32-bit process:
//   sigcontext (88 bytes): gs fs es ds (16-bit + pad), edi esi ebp esp ebx edx ecx eax, trapno err
//   eip, cs, eflags, esp_at_signal, ss, fpstate pointer, oldmask, cr2;
//   sigframe (732): pretcode, sig, sigcontext, the unused 624-byte _fpstate, extramask, retcode[8];
//   rt_sigframe (268): pretcode, sig, pinfo, puc, siginfo (128), ucontext (flags, link, stack_t,
//   sigcontext, 64-bit sigmask), retcode[8].
// The FPU state lives above the frame (fpu__alloc_mathframe). Without FXSR (pentium2) it is the
// 112-byte fnsave image, 64-byte aligned, `status` = the status word, magic 0xffff. With FXSR
// (pentium4) the 512-byte fxsave image (x87, MXCSR, XMM0-7) is 64-byte aligned and the 112-byte
// fsave-format header sits right below it with magic 0x0000 (struct _fpstate_32); sigreturn loads the
// fxsave image and then the header's x87 part, so a handler's edits of the header take effect
// (convert_to_fxsr). The bytes reserved for software (sw_reserved) stay zero: no XSAVE extended
// state. The handler starts with an initialised FPU and SSE state. The frame lies below the
// interrupted ESP or at the top of the alternate stack, aligned so that (ESP + 4) % 16 == 0 at handler
// entry, like a call.
// Guarantees: a frame the guest cannot write or read back makes the caller force SIGSEGV (never a host
// error); sigreturn restores exactly what the frame holds, filtered as Linux filters it (only the
// user-changeable EFLAGS bits, cs/ss forced to user selectors, SIGKILL/SIGSTOP never blocked).

import {
  EAX,
  EBP,
  EBX,
  ECX,
  EDI,
  EDX,
  ESI,
  ESP,
  GDT_ENTRY_TLS_MIN,
  USER_CS,
  USER_DS,
  type Cpu,
} from '../cpu.js';
import { PAGE_MAPPED, PROT_EXEC, PROT_READ, PROT_WRITE, type Memory } from '../memory.js';
import { MXCSR_DEFAULT, MXCSR_MASK } from '../sse.js';
import {
  SA_ONSTACK,
  SA_RESTORER,
  SA_SIGINFO,
  SigSet,
  SS_AUTODISARM,
  SS_DISABLE,
  type SigAction,
  type SigInfo,
  type ThreadSigState,
} from './signals.js';

// Segment register indices of Cpu.sreg (cpu.ts: es, cs, ss, ds, fs, gs).
const S_ES = 0;
const S_CS = 1;
const S_SS = 2;
const S_DS = 3;
const S_FS = 4;
const S_GS = 5;

export const NR_SIGRETURN = 119;
export const NR_RT_SIGRETURN = 173;

const SC_SIZE = 88;
const FPSTATE_SIZE = 624;
export const SIGFRAME_SIZE = 8 + SC_SIZE + FPSTATE_SIZE + 4 + 8;
export const RT_SIGFRAME_SIZE = 16 + 128 + 20 + SC_SIZE + 8 + 8;
/** Offsets inside the frames. */
export const SIGFRAME_SC = 8;
const SIGFRAME_EXTRAMASK = 8 + SC_SIZE + FPSTATE_SIZE;
const SIGFRAME_RETCODE = SIGFRAME_EXTRAMASK + 4;
export const RT_INFO = 16;
export const RT_UC = 144;
const UC_STACK = 8;
const UC_MCONTEXT = 20;
const UC_SIGMASK = UC_MCONTEXT + SC_SIZE;
const RT_RETCODE = RT_UC + UC_SIGMASK + 8;
/** fnsave image (struct fregs_state): 108 bytes, then the 32-bit `status` word. */
const FSAVE_SIZE = 112;
/** fxsave image (struct fxregs_state). */
const FXSAVE_SIZE = 512;
/** CPUID.1:EDX FXSR: the CPU model saves the FPU with fxsave. */
const FEATURE_FXSR = 1 << 24;

function hasFxsr(cpu: Cpu): boolean {
  return (cpu.model.features & FEATURE_FXSR) !== 0;
}

/** EFLAGS bits sigreturn takes from the frame (FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF RF. */
const FIX_EFLAGS = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;
const TF = 0x100;
const DF = 0x400;
const RF = 0x10000;

/**
 * The page the kernel's vDSO would supply the default restorers on (the classic fixed i386 vDSO
 * address). It is mapped read+exec into a process the first time a handler without SA_RESTORER is
 * entered, so programs that never need it see exactly the address space they had before.
 */
export const SIGRETURN_PAGE = 0xffffe000;
export const KERNEL_SIGRETURN = SIGRETURN_PAGE;
export const KERNEL_RT_SIGRETURN = SIGRETURN_PAGE + 16;
// popl %eax; movl $__NR_sigreturn, %eax; int $0x80    and    movl $__NR_rt_sigreturn, %eax; int $0x80
const SIGRETURN_CODE = [0x58, 0xb8, NR_SIGRETURN, 0, 0, 0, 0xcd, 0x80];
const RT_SIGRETURN_CODE = [0xb8, NR_RT_SIGRETURN, 0, 0, 0, 0xcd, 0x80, 0];

function ensureSigreturnPage(mem: Memory): void {
  if (mem.perm[SIGRETURN_PAGE >>> 12]! & PAGE_MAPPED) return;
  mem.map(SIGRETURN_PAGE, 4096, PROT_READ | PROT_EXEC);
  const b = new Uint8Array(32);
  b.set(SIGRETURN_CODE, 0);
  b.set(RT_SIGRETURN_CODE, 16);
  mem.poke(SIGRETURN_PAGE, b);
}

/** Fault context the kernel keeps per thread (thread.trap_nr, error_code, cr2), copied into frames. */
export interface TrapContext {
  trapNo: number;
  errorCode: number;
  cr2: number;
}

/** Whether [addr, addr+len) is mapped readable (and writable when `write`): the access_ok of frames. */
export function userOk(mem: Memory, addr: number, len: number, write: boolean): boolean {
  if (len === 0) return true;
  const need = write ? PROT_READ | PROT_WRITE : PROT_READ;
  for (let p = addr >>> 12; p <= ((addr + len - 1) >>> 0) >>> 12; p++)
    if ((mem.perm[p]! & need) !== need) return false;
  return true;
}

/** On the alternate stack by address alone (__on_sig_stack). */
function onStack(t: ThreadSigState, sp: number): boolean {
  return t.altSize !== 0 && sp >>> 0 > t.altSp >>> 0 && ((sp >>> 0) - (t.altSp >>> 0)) >>> 0 <= t.altSize;
}

/** on_sig_stack(): an SS_AUTODISARM stack never counts as in use. */
export function onSigStack(t: ThreadSigState, sp: number): boolean {
  if (t.altFlags & SS_AUTODISARM) return false;
  return onStack(t, sp);
}

/** sas_ss_flags(sp). */
export function sasSsFlags(t: ThreadSigState, sp: number): number {
  if (t.altSize === 0) return SS_DISABLE;
  return onSigStack(t, sp) ? 1 : 0;
}

export interface DeliverRequest {
  sig: number;
  info: SigInfo;
  action: SigAction;
  /** The mask the frame saves (and sigreturn restores): the thread's, or sigsuspend's saved one. */
  oldMask: SigSet;
  thread: ThreadSigState;
  trap: TrapContext;
}

/**
 * Builds the frame for `req` on the task's stack and points the CPU at the handler. Returns false when
 * the frame cannot be written (bad stack, overflowed alternate stack): the caller forces SIGSEGV.
 */
export function setupFrame(cpu: Cpu, mem: Memory, req: DeliverRequest): boolean {
  const rt = (req.action.flags & SA_SIGINFO) !== 0;
  const t = req.thread;
  const R = cpu.regs;
  const origSp = R[ESP]! >>> 0;
  let sp = origSp;
  const nested = onSigStack(t, sp);
  let entering = false;
  if (req.action.flags & SA_ONSTACK && sasSsFlags(t, sp) === 0) {
    sp = (t.altSp + t.altSize) >>> 0;
    entering = true;
  }
  // fpu__alloc_mathframe: the FPU image, 64-byte aligned, right below the stack top in use; with FXSR
  // the fsave-format header goes right below the fxsave image.
  const fxsr = hasFxsr(cpu);
  const bufFx = ((sp - (fxsr ? FXSAVE_SIZE : FSAVE_SIZE)) & ~63) >>> 0;
  const fpstate = fxsr ? bufFx - FSAVE_SIZE : bufFx;
  const fpEnd = bufFx + (fxsr ? FXSAVE_SIZE : FSAVE_SIZE);
  const size = rt ? RT_SIGFRAME_SIZE : SIGFRAME_SIZE;
  // align_sigframe(): ((sp + 4) & -16) - 4 for 32-bit frames.
  const frame = ((((fpstate - size) >>> 0) + 4) & ~15) - 4;
  const f = frame >>> 0;
  if ((nested || entering) && !onStack(t, f)) return false;
  if (f + size > 0x100000000 || !userOk(mem, f, (fpEnd - f) >>> 0, true)) return false;
  saveFpu(cpu, mem, fpstate, fxsr ? bufFx : 0);

  const restorerDefault = rt ? KERNEL_RT_SIGRETURN : KERNEL_SIGRETURN;
  let restorer = req.action.restorer >>> 0;
  if (!(req.action.flags & SA_RESTORER)) {
    ensureSigreturnPage(mem);
    restorer = restorerDefault;
  }
  mem.write32(f, restorer);
  mem.write32(f + 4, req.sig);
  const b = new Uint8Array(8);
  if (rt) {
    mem.write32(f + 8, f + RT_INFO);
    mem.write32(f + 12, f + RT_UC);
    writeWords(mem, f + RT_INFO, req.info.w);
    const uc = f + RT_UC;
    mem.write32(uc, 0); // uc_flags: no UC_FP_XSTATE on a CPU without XSAVE
    mem.write32(uc + 4, 0); // uc_link
    // __save_altstack: the stack as configured, then SS_AUTODISARM disarms it for the handler.
    mem.write32(uc + UC_STACK, t.altSp);
    mem.write32(uc + UC_STACK + 4, t.altFlags);
    mem.write32(uc + UC_STACK + 8, t.altSize);
    writeSigcontext(cpu, mem, uc + UC_MCONTEXT, fpstate, req.oldMask.lo, req.trap, origSp);
    mem.write32(uc + UC_SIGMASK, req.oldMask.lo);
    mem.write32(uc + UC_SIGMASK + 4, req.oldMask.hi);
    b.set(RT_SIGRETURN_CODE);
    mem.writeBytes(f + RT_RETCODE, b);
    if (t.altFlags & SS_AUTODISARM) {
      t.altSp = 0;
      t.altSize = 0;
      t.altFlags = SS_DISABLE;
    }
  } else {
    writeSigcontext(cpu, mem, f + SIGFRAME_SC, fpstate, req.oldMask.lo, req.trap, origSp);
    mem.write32(f + SIGFRAME_EXTRAMASK, req.oldMask.hi);
    b.set(SIGRETURN_CODE);
    mem.writeBytes(f + SIGFRAME_RETCODE, b);
  }

  R[ESP] = f | 0;
  cpu.eip = req.action.handler >>> 0;
  R[EAX] = req.sig;
  // -mregparm=3 handlers get info and context in edx/ecx too; the old frame passes zeros.
  R[EDX] = rt ? (f + RT_INFO) | 0 : 0;
  R[ECX] = rt ? (f + RT_UC) | 0 : 0;
  cpu.sreg[S_DS] = USER_DS;
  cpu.sreg[S_ES] = USER_DS;
  cpu.sreg[S_SS] = USER_DS;
  cpu.sreg[S_CS] = USER_CS;
  // The ABI wants DF clear at function entry; TF and RF are not the handler's.
  cpu.setFlags(cpu.getFlags() & ~(DF | TF | RF));
  return true;
}

function writeWords(mem: Memory, addr: number, w: Int32Array): void {
  for (let i = 0; i < w.length; i++) mem.write32(addr + 4 * i, w[i]!);
}

/**
 * copy_fpstate_to_sigframe(): the FPU (and SSE) state into the frame, then the handler's fresh state
 * (fpu__clear_user_states: FNINIT, MXCSR default, XMM registers zero).
 */
function saveFpu(cpu: Cpu, mem: Memory, fpstate: number, bufFx: number): void {
  if (bufFx) {
    mem.writeBytes(bufFx, new Uint8Array(FXSAVE_SIZE));
    cpu.sse.fxsave(bufFx, cpu);
    cpu.fpu.fxsave(bufFx, cpu);
  }
  // fnsave stores the environment and registers in the fsave format, then initialises the x87 unit.
  cpu.fpu.exec(0xdd, 0x30, fpstate, cpu);
  mem.write16(fpstate + 108, mem.read16(fpstate + 4));
  mem.write16(fpstate + 110, bufFx ? 0 : 0xffff);
  if (bufFx) {
    cpu.sse.mxcsr = MXCSR_DEFAULT;
    cpu.sse.d.fill(0);
  }
}

/**
 * fpu__restore_sig(), after checkFpu() accepted the image: no state (fpstate 0) means a fresh FPU;
 * `fx` says the fxsave image follows the header.
 */
function restoreFpu(cpu: Cpu, mem: Memory, fpstate: number, fx: boolean): void {
  if (fpstate === 0) {
    cpu.fpu.reset();
    return;
  }
  if (fx) {
    const bufFx = fpstate + FSAVE_SIZE;
    cpu.sse.fxrstorCheck(bufFx, cpu);
    cpu.fpu.fxrstor(bufFx, cpu);
    cpu.sse.fxrstorCommit();
  }
  // The header's x87 state wins over the fxsave image's (convert_to_fxsr).
  cpu.fpu.exec(0xdd, 0x20, fpstate, cpu);
}

/** Whether the FPU image at `fpstate` can be loaded; null if not, else whether it has the fxsave part. */
function checkFpu(cpu: Cpu, mem: Memory, fpstate: number): boolean | null {
  if (fpstate === 0) return false;
  if (!userOk(mem, fpstate, FSAVE_SIZE, false)) return null;
  if (!hasFxsr(cpu) || mem.read16(fpstate + 110) !== 0) return false;
  if (!userOk(mem, fpstate, FSAVE_SIZE + FXSAVE_SIZE, false)) return null;
  // Reserved MXCSR bits would make fxrstor fault: a bad frame.
  return mem.read32(fpstate + FSAVE_SIZE + 24) & ~MXCSR_MASK ? null : true;
}

function writeSigcontext(
  cpu: Cpu,
  mem: Memory,
  sc: number,
  fpstate: number,
  oldmask: number,
  trap: TrapContext,
  sp: number,
): void {
  const R = cpu.regs;
  mem.write32(sc, cpu.sreg[S_GS]!);
  mem.write32(sc + 4, cpu.sreg[S_FS]!);
  mem.write32(sc + 8, cpu.sreg[S_ES]!);
  mem.write32(sc + 12, cpu.sreg[S_DS]!);
  mem.write32(sc + 16, R[EDI]!);
  mem.write32(sc + 20, R[ESI]!);
  mem.write32(sc + 24, R[EBP]!);
  mem.write32(sc + 28, sp);
  mem.write32(sc + 32, R[EBX]!);
  mem.write32(sc + 36, R[EDX]!);
  mem.write32(sc + 40, R[ECX]!);
  mem.write32(sc + 44, R[EAX]!);
  mem.write32(sc + 48, trap.trapNo);
  mem.write32(sc + 52, trap.errorCode);
  mem.write32(sc + 56, cpu.eip);
  mem.write32(sc + 60, cpu.sreg[S_CS]!);
  mem.write32(sc + 64, cpu.getFlags());
  mem.write32(sc + 68, sp);
  mem.write32(sc + 72, cpu.sreg[S_SS]!);
  mem.write32(sc + 76, fpstate);
  mem.write32(sc + 80, oldmask);
  mem.write32(sc + 84, trap.cr2);
}

/** What sigreturn found in the frame: the mask to install and, for rt frames, the stack_t to restore. */
export interface SigreturnResult {
  mask: SigSet;
  altstack: { sp: number; flags: number; size: number } | null;
}

/**
 * sigreturn (rt = false; the frame starts at ESP - 8 because the restorer popped pretcode and sig) or
 * rt_sigreturn (ESP - 4: pretcode popped). Restores registers, flags and FPU; returns null for a bad
 * frame (the caller forces SIGSEGV). EAX comes from the frame like every other register.
 */
export function restoreFrame(cpu: Cpu, mem: Memory, rt: boolean): SigreturnResult | null {
  const esp = cpu.regs[ESP]! >>> 0;
  const frame = (esp - (rt ? 4 : 8)) >>> 0;
  const size = rt ? RT_SIGFRAME_SIZE : SIGFRAME_SIZE;
  if (frame + size > 0x100000000 || !userOk(mem, frame, size, false)) return null;
  const sc = rt ? frame + RT_UC + UC_MCONTEXT : frame + SIGFRAME_SC;
  const mask = rt
    ? new SigSet(
        mem.read32(frame + RT_UC + UC_SIGMASK) >>> 0,
        mem.read32(frame + RT_UC + UC_SIGMASK + 4) >>> 0,
      )
    : new SigSet(mem.read32(sc + 80) >>> 0, mem.read32(frame + SIGFRAME_EXTRAMASK) >>> 0);
  mask.blockable();
  if (!restoreSigcontext(cpu, mem, sc)) return null;
  let altstack: SigreturnResult['altstack'] = null;
  if (rt) {
    const us = frame + RT_UC + UC_STACK;
    altstack = { sp: mem.read32(us) >>> 0, flags: mem.read32(us + 4), size: mem.read32(us + 8) >>> 0 };
  }
  return { mask, altstack };
}

/** Segment selector a user process may load into ds/es/fs/gs: null, the flat data/code ones, or a used TLS slot. */
function loadable(cpu: Cpu, sel: number): boolean {
  if ((sel & ~3) === 0 || sel === USER_DS || sel === USER_CS) return true;
  const t = cpu.tls[(sel >> 3) - GDT_ENTRY_TLS_MIN];
  return (sel & 4) === 0 && (sel & 3) === 3 && t !== undefined && t.used;
}

function baseOf(cpu: Cpu, sel: number): number {
  if ((sel & ~3) === 0 || sel === USER_DS || sel === USER_CS) return 0;
  return cpu.tls[(sel >> 3) - GDT_ENTRY_TLS_MIN]!.base | 0;
}

function restoreSigcontext(cpu: Cpu, mem: Memory, sc: number): boolean {
  const gs = mem.read32(sc) & 0xffff;
  const fs = mem.read32(sc + 4) & 0xffff;
  const es = mem.read32(sc + 8) & 0xffff;
  const ds = mem.read32(sc + 12) & 0xffff;
  // A selector the CPU would refuse makes the return to user mode fault: Linux then kills with SIGSEGV.
  if (!loadable(cpu, gs) || !loadable(cpu, fs) || !loadable(cpu, es) || !loadable(cpu, ds)) return false;
  const fpstate = mem.read32(sc + 76) >>> 0;
  const fx = checkFpu(cpu, mem, fpstate);
  if (fx === null) return false;
  const R = cpu.regs;
  R[EDI] = mem.read32(sc + 16);
  R[ESI] = mem.read32(sc + 20);
  R[EBP] = mem.read32(sc + 24);
  R[ESP] = mem.read32(sc + 28);
  R[EBX] = mem.read32(sc + 32);
  R[EDX] = mem.read32(sc + 36);
  R[ECX] = mem.read32(sc + 40);
  R[EAX] = mem.read32(sc + 44);
  cpu.eip = mem.read32(sc + 56) >>> 0;
  const flags = mem.read32(sc + 64);
  cpu.setFlags((cpu.getFlags() & ~FIX_EFLAGS) | (flags & FIX_EFLAGS));
  cpu.sreg[S_GS] = gs;
  cpu.sreg[S_FS] = fs;
  cpu.sreg[S_ES] = es;
  cpu.sreg[S_DS] = ds;
  cpu.gsBase = baseOf(cpu, gs);
  cpu.fsBase = baseOf(cpu, fs);
  // cs and ss are forced to the user selectors (COPY_SEG_CPL3 on a flat process).
  cpu.sreg[S_CS] = USER_CS;
  cpu.sreg[S_SS] = USER_DS;
  restoreFpu(cpu, mem, fpstate, fx);
  return true;
}
