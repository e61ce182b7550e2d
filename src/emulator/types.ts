// Interfaces shared between emulator modules (CPU, FPU, loader, syscalls, machine). Types only.

/** What the x87 unit needs from the integer CPU. Addresses are linear (segment base applied). */
export interface FpuHost {
  read8(addr: number): number;
  read16(addr: number): number;
  read32(addr: number): number;
  write8(addr: number, v: number): void;
  write16(addr: number, v: number): void;
  write32(addr: number, v: number): void;
  /**
   * The double at an 8-aligned `addr` when the memory hands it over directly, else NaN (the FPU
   * then reads two words). A fast path only: it never faults.
   */
  readF64(addr: number): number;
  /** Stores a non-NaN double at `addr` and returns true, or returns false having written nothing. */
  writeF64(addr: number, v: number): boolean;
  /** FNSTSW AX. */
  setAX(v: number): void;
  /** FCOMI/FUCOMI/FCOMIP/FUCOMIP: set ZF, PF, CF; clear OF, SF, AF. */
  setFlagsZPC(zf: number, pf: number, cf: number): void;
  /** Reads EFLAGS (for FCMOVcc). */
  getFlags(): number;
  /** Raise #UD for an encoding the FPU does not implement. Never returns. */
  raiseUD(): never;
}

/** A host file as the guest may see it, read whole (HostFiles.open: the eager, path-resolving form). */
export type HostFileResult =
  | { kind: 'file'; data: Uint8Array; mode: number; mtimeSec: number; ino: number }
  | { kind: 'dir'; entries: string[]; mode: number; mtimeSec: number; ino: number }
  | { kind: 'error'; errno: number };

/** The status of a host entry: `id` names the file's identity (st_dev, st_ino, size, mtime in ns). */
export interface HostStat {
  mode: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  ino: number;
  /** Equal ids are the same unchanged file: they share one snapshot of the contents. */
  id: string;
}

/** One host directory entry, a final symlink not followed (the file system follows links itself). */
export type HostEntry =
  | ({ kind: 'file' } & HostStat)
  | ({ kind: 'dir' } & HostStat)
  | ({ kind: 'link'; target: string } & HostStat)
  | { kind: 'error'; errno: number };

/**
 * Source of host files for the guest (HostFiles reads the host; replay serves the log). Paths are
 * absolute and physical: every component before the last is a directory this source reported
 * (symlinks were followed by the caller), so a source resolves them without following anything.
 * Errors are Linux errno numbers.
 */
export interface FileSource {
  /** The entry at `path`, without following a final symlink. */
  lookup(path: string): HostEntry;
  /** The names in the directory at `path` (byte order), or an errno (EACCES: not listable). */
  list(path: string): string[] | number;
  /** The contents of the regular file at `path` and the identity they were read under, or an errno. */
  read(path: string): { data: Uint8Array; id: string } | number;
  /**
   * A source that serves a log (replay): the logged record the last answer came from, to be
   * reported as it was logged (null: nothing to report, e.g. an older record already reported
   * for an earlier answer). Absent for the host: the file system writes the records itself.
   */
  consumed?(): { key: string; data: Uint8Array } | null;
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
