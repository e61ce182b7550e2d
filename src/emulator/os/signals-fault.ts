// CPU exception → the signal Linux's trap handlers (arch/x86/kernel/traps.c, fault.c) send to a user
// process: signal number, si_code, si_addr, and the trap number / error code / cr2 the frame records.
// Guarantees: one mapping for every vector the CPU raises; nothing here decides delivery.

import { VEC_BP, VEC_DB, VEC_DE, VEC_GP, VEC_MF, VEC_PF, VEC_UD } from '../cpu.js';
import {
  FPE_FLTINV,
  FPE_INTDIV,
  ILL_ILLOPN,
  SEGV_ACCERR,
  SEGV_MAPERR,
  SIGFPE,
  SIGILL,
  SIGSEGV,
  SIGTRAP,
  SigInfo,
  TRAP_TRACE,
} from './signals.js';
import type { TrapContext } from './signals-frame.js';

export interface FaultSignal {
  info: SigInfo;
  trap: TrapContext;
  /** Short description for the recording's crash message. */
  what: string;
}

/**
 * `eip` is where the CPU left EIP: the faulting instruction for faults, the next one for traps
 * (int3, the single-step trap). `code` is the exception's error code, `addr` the page-fault address.
 */
export function faultSignal(vector: number, code: number, addr: number, eip: number): FaultSignal {
  const trap = { trapNo: vector, errorCode: 0, cr2: 0 };
  switch (vector) {
    case VEC_DE:
      return { info: SigInfo.fault(SIGFPE, FPE_INTDIV, eip), trap, what: 'divide error' };
    case VEC_DB:
      // do_debug: a single step reports TRAP_TRACE at the instruction after the stepped one.
      return { info: SigInfo.fault(SIGTRAP, TRAP_TRACE, eip), trap, what: 'trace trap' };
    case VEC_BP:
      // do_int3_user: force_sig(SIGTRAP), a kernel-sent signal with no address.
      return { info: SigInfo.kernel(SIGTRAP), trap, what: 'breakpoint (int3)' };
    case VEC_UD:
      return { info: SigInfo.fault(SIGILL, ILL_ILLOPN, eip), trap, what: 'invalid opcode' };
    case VEC_PF:
      trap.errorCode = code;
      trap.cr2 = addr >>> 0;
      return {
        // Error-code bit 0: the page was present, so the access broke its protection.
        info: SigInfo.fault(SIGSEGV, code & 1 ? SEGV_ACCERR : SEGV_MAPERR, addr),
        trap,
        what: `page fault at 0x${(addr >>> 0).toString(16)}`,
      };
    case VEC_MF:
      return { info: SigInfo.fault(SIGFPE, FPE_FLTINV, eip), trap, what: 'x87 fault' };
    case VEC_GP:
    default:
      trap.errorCode = code;
      trap.trapNo = vector;
      return { info: SigInfo.kernel(SIGSEGV), trap, what: 'general protection fault' };
  }
}
