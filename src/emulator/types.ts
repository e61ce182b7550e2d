// Interfaces shared between emulator modules (CPU, FPU, loader, syscalls, machine). Types only.

/** What the x87 unit needs from the integer CPU. Addresses are linear (segment base applied). */
export interface FpuHost {
  read8(addr: number): number;
  read16(addr: number): number;
  read32(addr: number): number;
  write8(addr: number, v: number): void;
  write16(addr: number, v: number): void;
  write32(addr: number, v: number): void;
  /** FNSTSW AX. */
  setAX(v: number): void;
  /** FCOMI/FUCOMI/FCOMIP/FUCOMIP: set ZF, PF, CF; clear OF, SF, AF. */
  setFlagsZPC(zf: number, pf: number, cf: number): void;
  /** Reads EFLAGS (for FCMOVcc). */
  getFlags(): number;
  /** Raise #UD for an encoding the FPU does not implement. Never returns. */
  raiseUD(): never;
}

/** A host file as the guest may see it: contents are read whole at open time (files are read-only). */
export type HostFileResult =
  | { kind: 'file'; data: Uint8Array; mode: number; mtimeSec: number; ino: number }
  | { kind: 'dir'; entries: string[]; mode: number; mtimeSec: number; ino: number }
  | { kind: 'error'; errno: number };

/** Source of host files for the guest. The recorder wraps it to log every byte; replay serves the log. */
export interface FileSource {
  /** `path` is the guest's absolute, normalised path. */
  open(path: string): HostFileResult;
}

export interface Sym {
  name: string;
  addr: number;
  size: number;
  /** 'func' | 'object' | 'notype' */
  type: string;
}

export interface SymbolLookup {
  lookup(name: string): Sym | undefined;
  /** Address → containing (or nearest preceding function) symbol and offset. */
  symbolize(addr: number): { sym: Sym; offset: number } | undefined;
  functions(): Sym[];
}
