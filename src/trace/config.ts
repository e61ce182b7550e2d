// The configuration of a recorded run: one typed, versioned record with explicit defaults, stored
// as JSON in raw_runs.config (the runs view reads its columns from there, so nothing is stored
// twice). Replay re-runs a recording from it; src/recorder/config.ts converts it to and from
// session options (the only conversion).
// Guarantees:
// - An unbounded kretprobe pool has ONE encoding everywhere (command line parse, session options,
//   this record, the probes table): UNBOUNDED, a number JSON and SQLite store as they are and the
//   probe engine treats as a pool that grows on demand.
// - cpus is validated with the emulator's cpusProblem() (NR_CPUS 1..64, default 4, ncpus.ts), as
//   every entry point is.
// - parseRunConfig() accepts what every earlier build stored (no version field: format 2 and
//   older) and fills what they lacked with the defaults below; a stored config that is not an
//   object with a string argv is a one-line TraceError.
// - Every field a replay or report takes from the record is checked against the range the machine
//   can run in bounded time (checkRunConfig: tick and quantum >= 1, a finite clock rate, a known CPU
//   model, ...), so a crafted trace gets a one-line error naming the field, never a hang (issue 16).

import { CPU_MODELS, cpuModel } from '../emulator/cpuid.js';
import { DEFAULT_CPUS, cpusProblem } from '../emulator/ncpus.js';
import { DEFAULT_MEM_LIMIT, MEM_LIMIT_MAX, MEM_LIMIT_MIN } from '../emulator/memory.js';
import { DEFAULT_ENV } from '../emulator/notes.js';
import { TraceError } from './db.js';

/** Version of the RunConfig record (stored as `version`). */
export const RUN_CONFIG_VERSION = 1;

/** The pool size of an unbounded kretprobe pool (analysis replays), in every layer. */
export const UNBOUNDED = Number.MAX_SAFE_INTEGER;

// NR_CPUS (range, check, default) is the emulator's: one definition, re-exported for the trace layer
// and the commands.
export { DEFAULT_CPUS, NR_CPUS_MAX, NR_CPUS_MIN, cpusProblem } from '../emulator/ncpus.js';

export interface RunConfig {
  version: typeof RUN_CONFIG_VERSION;
  /** argv[0] first. */
  argv: string[];
  /** NAME=VALUE strings. */
  env: string[];
  /** The guest's working directory (the recorder's, at record time). */
  cwd: string;
  cpus: number;
  /** CPU model CPUID describes ('p6': no SSE). */
  cpuModel: string;
  preempt: boolean;
  seed: number;
  chaos: boolean;
  /** Cycles per microsecond of the virtual clock (reports convert cycles to ns with it). */
  mhz: number;
  maxInstructions: number | null;
  /** Scheduling rounds after which the run stops (set when a recording was interrupted). */
  maxRounds: number | null;
  /** Instructions per vCPU slice (null: the machine's default). */
  quantum: number | null;
  /** Cycles between timer ticks (null: the machine's default). */
  tick: number | null;
  /** Threads and processes that may exist at once, EAGAIN beyond (null: the machine's default). */
  maxTasks: number | null;
  /** Probe definitions, in definition order. */
  probes: string[];
  /** Pool size overrides by event ('GRP/EVENT' or 'EVENT'); UNBOUNDED for an unbounded pool. */
  maxactive: Record<string, number>;
  /** K20 detector: record 'retaddr_read' events. */
  detectReturnAddressReads: boolean;
  /** Directories the guest could read. */
  allowRead: string[];
  /** The --stdin file given at record time (its bytes are logged as inputs anyway). */
  stdinPath: string | null;
  /** The run a replay re-executed: trace file and run id. */
  replayOf: { trace: string; runId: number } | null;
  /** Bytes each guest process may map (--mem); null: no limit (recorded before --mem existed). */
  memLimit: number | null;
}

/** Every field's default but argv and cwd (which depend on the command line and the host). */
export const RUN_CONFIG_DEFAULTS: Readonly<Omit<RunConfig, 'argv' | 'cwd'>> = Object.freeze({
  version: RUN_CONFIG_VERSION,
  // The guest's default environment (the emulator's, documented there).
  env: [...DEFAULT_ENV],
  cpus: DEFAULT_CPUS,
  cpuModel: 'p6',
  preempt: true,
  seed: 1,
  chaos: false,
  mhz: 1000,
  maxInstructions: null,
  maxRounds: null,
  quantum: null,
  tick: null,
  maxTasks: null,
  probes: [],
  maxactive: {},
  detectReturnAddressReads: false,
  allowRead: [],
  stdinPath: null,
  replayOf: null,
  memLimit: DEFAULT_MEM_LIMIT,
});

/** The virtual clock's range in MHz (1 kHz .. 1 THz): cycle/ns conversions stay finite and exact enough. */
export const MHZ_MIN = 0.001;
export const MHZ_MAX = 1e6;
/** The largest slice (instructions) and tick interval (cycles) a stored configuration may ask for. */
export const QUANTUM_MAX = 1 << 24;
export const TICK_MAX = 2 ** 31 - 1;

/** Why `v` is not a valid clock rate, or null. */
export function mhzProblem(v: unknown): string | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= MHZ_MIN && v <= MHZ_MAX
    ? null
    : `must be a number in ${MHZ_MIN}..${MHZ_MAX}`;
}

/** True for a pool size that means "unbounded". */
export function isUnbounded(maxactive: number | null): boolean {
  return maxactive !== null && maxactive >= UNBOUNDED;
}

/** A pool size as people read it: the number, or 'unbounded'. */
export function formatMaxactive(maxactive: number | null): string {
  return maxactive === null ? '-' : isUnbounded(maxactive) ? 'unbounded' : String(maxactive);
}

/** A complete RunConfig from the fields given and the defaults; TraceError if a field is invalid. */
export function makeRunConfig(fields: Partial<RunConfig> & { argv: string[]; cwd: string }): RunConfig {
  const c = { ...RUN_CONFIG_DEFAULTS, ...definedOnly(fields), version: RUN_CONFIG_VERSION } as RunConfig;
  checkRunConfig(c);
  return c;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function knownCpuModel(name: string): boolean {
  try {
    cpuModel(name);
    return true;
  } catch {
    return false;
  }
}

/** Throws a one-line TraceError naming the first invalid field. */
export function checkRunConfig(c: RunConfig): void {
  const bad = (what: string): never => {
    throw new TraceError(`run config: ${what}`);
  };
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const int = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
  const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 40) ?? String(v);
  const upTo = (k: 'maxInstructions' | 'maxRounds' | 'quantum' | 'tick' | 'maxTasks', max: number): void => {
    const v = c[k] as unknown;
    if (!(v === null || (int(v) && (v as number) >= 1 && (v as number) <= max)))
      bad(`${k} must be an integer in 1..${max} or null, got ${show(v)}`);
  };
  if (!strings(c.argv) || c.argv.length === 0) bad('argv must be a non-empty array of strings');
  if (!strings(c.env)) bad('env must be an array of strings');
  if (typeof c.cwd !== 'string') bad(`cwd must be a string, got ${show(c.cwd)}`);
  if (!strings(c.probes)) bad('probes must be an array of strings');
  if (!strings(c.allowRead)) bad('allowRead must be an array of strings');
  const cp = cpusProblem(c.cpus);
  if (cp) bad(`cpus ${cp}, got ${show(c.cpus)}`);
  if (typeof c.cpuModel !== 'string' || !knownCpuModel(c.cpuModel))
    bad(`cpuModel must be one of ${Object.keys(CPU_MODELS).join(', ')}, got ${show(c.cpuModel)}`);
  if (!int(c.seed)) bad(`seed must be an integer, got ${show(c.seed)}`);
  const mp = mhzProblem(c.mhz);
  if (mp) bad(`mhz ${mp}, got ${show(c.mhz)}`);
  upTo('maxInstructions', Number.MAX_SAFE_INTEGER);
  upTo('maxRounds', Number.MAX_SAFE_INTEGER);
  upTo('quantum', QUANTUM_MAX);
  upTo('tick', TICK_MAX);
  upTo('maxTasks', Number.MAX_SAFE_INTEGER);
  if (!(c.stdinPath === null || typeof c.stdinPath === 'string'))
    bad(`stdinPath must be a string or null, got ${show(c.stdinPath)}`);
  for (const [k, v] of Object.entries(c.maxactive))
    if (!(int(v) && v >= 1)) bad(`maxactive of ${k} must be a positive integer, got ${show(v)}`);
  if (!(
    c.memLimit === null ||
    (int(c.memLimit) && c.memLimit >= MEM_LIMIT_MIN && c.memLimit <= MEM_LIMIT_MAX)
  ))
    bad(`memLimit must be null or bytes in ${MEM_LIMIT_MIN}..${MEM_LIMIT_MAX}, got ${show(c.memLimit)}`);
}

/**
 * The RunConfig stored as `json`. Configs without a version (format 2 and older builds) stored
 * unbounded pools as null or Number.MAX_SAFE_INTEGER and --stdin under stdinPath; missing fields
 * get the defaults.
 */
export function parseRunConfig(json: string): RunConfig {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw new TraceError('run config: not JSON');
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new TraceError('run config: not an object');
  const s = o as Record<string, unknown>;
  const maxactive: Record<string, number> = {};
  if (s.maxactive && typeof s.maxactive === 'object')
    for (const [k, v] of Object.entries(s.maxactive as Record<string, unknown>))
      maxactive[k] =
        typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? Math.min(v, UNBOUNDED) : UNBOUNDED;
  const pick = <K extends keyof RunConfig>(k: K): RunConfig[K] | undefined =>
    s[k] === undefined ? undefined : (s[k] as RunConfig[K]);
  const replayOf = s.replayOf as { trace?: unknown; runId?: unknown } | null | undefined;
  const c: RunConfig = {
    ...RUN_CONFIG_DEFAULTS,
    ...definedOnly({
      argv: pick('argv'),
      env: pick('env'),
      cwd: typeof s.cwd === 'string' ? s.cwd : '/',
      cpus: pick('cpus'),
      cpuModel: pick('cpuModel'),
      preempt: pick('preempt'),
      seed: pick('seed'),
      chaos: pick('chaos'),
      mhz: pick('mhz'),
      maxInstructions: pick('maxInstructions'),
      maxRounds: pick('maxRounds'),
      quantum: pick('quantum'),
      tick: pick('tick'),
      maxTasks: pick('maxTasks'),
      probes: pick('probes'),
      detectReturnAddressReads: pick('detectReturnAddressReads'),
      allowRead: pick('allowRead'),
      stdinPath: pick('stdinPath'),
    }),
    maxactive,
    replayOf:
      replayOf && typeof replayOf.trace === 'string' && typeof replayOf.runId === 'number'
        ? { trace: replayOf.trace, runId: replayOf.runId }
        : null,
    // A configuration stored before --mem existed ran without a limit.
    memLimit: s.memLimit === undefined ? null : (s.memLimit as number | null),
    version: RUN_CONFIG_VERSION,
  } as RunConfig;
  c.preempt = c.preempt === true || (c.preempt as unknown) === 1;
  c.chaos = c.chaos === true || (c.chaos as unknown) === 1;
  c.detectReturnAddressReads = c.detectReturnAddressReads === true;
  checkRunConfig(c);
  return c;
}
