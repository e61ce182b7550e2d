// Probe kinds as a registry of descriptors: one entry per kind (kprobe, kretprobe, jprobe, and any
// kind registered at run time) says which character starts its definition line and which grammar the
// spec parser applies to it, how its engine objects are built from a parsed spec, how it registers
// in and leaves the probe engine, whether it has an instance pool (and what that pool defaults to on
// Linux), which event carries its fetched arguments, and how its misses are counted (kprobes.md
// K21, in this one place). The spec parser, the session, replay, analysis and the commands' profile
// tables all go through these descriptors, so a new kind is one registerProbeKind() call (a kind
// the trace must tell apart from the three Linux kinds also needs a code in trace/codes.ts and
// schemas/trace.sql; until then it is stored as the kind it names in `stored`).
// Nothing here runs guest code or touches the emulator at run time (the engine types are type-only
// imports), so analysis and reports may import it.

import type { ProbeKindName } from '../trace/codes.js';
import type { Jprobe, Kprobe, Kretprobe, ProbeEngine, Result } from './kprobes.js';
import type { ProbeSpec } from './spec.js';

/** K25: the largest MAXACTIVE the kprobe_events text interface accepts. */
export const MAXACTIVE_MAX = 4096;

/**
 * sizeof(struct kretprobe_instance) on i386 in Linux 2.6.13 (include/linux/kprobes.h):
 *   struct hlist_node uflist;   2 pointers   8 bytes  (on the free list or the used list)
 *   struct hlist_node hlist;    2 pointers   8 bytes  (in the per-task instance hash)
 *   struct kretprobe *rp;                    4 bytes
 *   kprobe_opcode_t *ret_addr;               4 bytes
 *   struct task_struct *task;                4 bytes
 *                                           --------
 *                                           28 bytes, no padding (all 4-byte aligned members)
 * 2.6.13 allocates each instance with kmalloc(sizeof(*inst)), served by the 32-byte slab cache.
 * data_size (per-instance private bytes) came in 2.6.25 as a flexible array at the end, so the
 * cost of k instances is k * (28 + data_size) (the data is per instance, not per probe).
 */
export const KRETPROBE_INSTANCE_BYTES = 28;

/** K6: Linux 2.6.13 register_kretprobe with maxactive <= 0: CONFIG_PREEMPT ? max(10, 2*NR_CPUS) : NR_CPUS. */
export function defaultMaxactive(cpus: number, preempt: boolean): number {
  return preempt ? Math.max(10, 2 * cpus) : cpus;
}

/** Default pool sizes on a machine with `cpus` CPUs (kprobes.md, "maxactive guidance"). */
export interface MaxactiveDefaults {
  /** Linux 2.6.13 (K6, what the engine uses). */
  linux_2_6_13: number;
  /** Linux >= 6.2: max(10, 2*num_possible_cpus()) whatever the preemption model. */
  linux_6_2: number;
  /** SystemTap's default for return probes: max(15, 6*ncpus). */
  systemtap: number;
}

export function maxactiveDefaults(cpus: number, preempt: boolean): MaxactiveDefaults {
  return {
    linux_2_6_13: defaultMaxactive(cpus, preempt),
    linux_6_2: Math.max(10, 2 * cpus),
    systemtap: Math.max(15, 6 * cpus),
  };
}

/** The engine objects of one installed probe (rp for kretprobes, jp for jprobes). */
export interface ProbeObjects {
  kp: Kprobe;
  rp?: Kretprobe;
  jp?: Jprobe;
}

/** A probe's counters as stored (records.ts ProbeCounters without the id). */
export interface KindCounters {
  hits: number;
  /** A kretprobe's own nmissed (no free instance); the kprobe's nmissed for the other kinds. */
  nmissed: number;
  /** The (entry) kprobe's nmissed: hits skipped because a probe was already running. */
  nmissedReentry: number;
}

/** Which definition-line grammar the spec parser applies (spec.ts). */
export type ProbeLine =
  /** `X[:[GRP/]EVENT] ADDR|SYM[+offs] [FETCHARGS]` (kprobe_events `p`; `SYM%return` makes a kretprobe). */
  | 'probe'
  /** The same with `X[MAXACTIVE]`, at function entries only, `$retval` allowed (kprobe_events `r`). */
  | 'return'
  /** `X[:[GRP/]EVENT] SYMBOL HANDLER` (probelab's jprobe line). */
  | 'jprobe';

/** What a kind's build() gets besides the parsed spec. */
export interface BuildEnv {
  /** The pool size: the run's override for this event, else the spec's (0 = the K6 default). */
  maxactive: number;
  /** The entry handler (and its per-instance data size) that captures K27 entry values. */
  entry: Pick<Kretprobe, 'entryHandler' | 'dataSize'>;
}

export interface ProbeKindDescriptor {
  /** The registry key, and ProbeSpec.kind of the lines it parses. */
  name: string;
  /** The kind the trace stores for it (trace/codes.ts PROBE_KINDS). */
  stored: ProbeKindName;
  /** First character of its definition line (a lowercase letter). */
  prefix: string;
  /** The grammar of its definition line. */
  line: ProbeLine;
  /** Has a pool of instances sized by maxactive (K6, K14). */
  pool: boolean;
  /** The event kind whose fetched arguments are recorded: the entry hit or the return. */
  argsOn: 'kprobe' | 'return';
  /** The engine objects for a parsed spec, around `kp` (which holds the probe's address). */
  build(spec: ProbeSpec, kp: Kprobe, env: BuildEnv): ProbeObjects;
  register(engine: ProbeEngine, o: ProbeObjects): Result;
  unregister(engine: ProbeEngine, o: ProbeObjects): Result;
  /** The counters of an installed probe. */
  counters(o: ProbeObjects): KindCounters;
  /** K21: misses as kprobe_profile shows them. */
  misses(c: Pick<KindCounters, 'nmissed' | 'nmissedReentry'>): number;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`probe objects lack the ${what}`);
  return v;
}

const kprobeCounters = (o: ProbeObjects): KindCounters => ({
  hits: o.kp.hits ?? 0,
  nmissed: o.kp.nmissed ?? 0,
  nmissedReentry: o.kp.nmissed ?? 0,
});

/** A kprobe's (and jprobe's) misses are its kprobe's nmissed: reentries (K21). */
const reentryMisses = (c: Pick<KindCounters, 'nmissedReentry'>): number => c.nmissedReentry;

/** A plain kprobe: a pre-handler that only lets the engine count and report the hit. */
const buildKprobe = (_spec: ProbeSpec, kp: Kprobe): ProbeObjects => {
  kp.preHandler = () => 0;
  return { kp };
};

export const PROBE_KIND_DESCRIPTORS: Readonly<Record<ProbeKindName, ProbeKindDescriptor>> = {
  kprobe: {
    name: 'kprobe',
    stored: 'kprobe',
    prefix: 'p',
    line: 'probe',
    pool: false,
    argsOn: 'kprobe',
    build: buildKprobe,
    register: (e, o) => e.registerKprobe(o.kp),
    unregister: (e, o) => e.unregisterKprobe(o.kp),
    counters: kprobeCounters,
    misses: reentryMisses,
  },
  kretprobe: {
    name: 'kretprobe',
    stored: 'kretprobe',
    prefix: 'r',
    line: 'return',
    pool: true,
    argsOn: 'return',
    build: (_spec, kp, env) => ({ kp, rp: { kp, maxactive: env.maxactive, ...env.entry } }),
    register: (e, o) => e.registerKretprobe(need(o.rp, 'kretprobe')),
    unregister: (e, o) => e.unregisterKretprobe(need(o.rp, 'kretprobe')),
    counters: (o) => ({
      hits: o.kp.hits ?? 0,
      nmissed: need(o.rp, 'kretprobe').nmissed ?? 0,
      nmissedReentry: o.kp.nmissed ?? 0,
    }),
    // kprobe_profile sums the kretprobe's nmissed and its entry kprobe's.
    misses: (c) => c.nmissed + c.nmissedReentry,
  },
  jprobe: {
    name: 'jprobe',
    stored: 'jprobe',
    prefix: 'j',
    line: 'jprobe',
    pool: false,
    argsOn: 'kprobe',
    build: (spec, kp) => ({ kp, jp: { kp, entry: need(spec.handlerAddr, 'jprobe handler') } }),
    register: (e, o) => e.registerJprobe(need(o.jp, 'jprobe')),
    unregister: (e, o) => e.unregisterJprobe(need(o.jp, 'jprobe')),
    counters: kprobeCounters,
    misses: reentryMisses,
  },
};

const byName = new Map<string, ProbeKindDescriptor>();
const byPrefix = new Map<string, ProbeKindDescriptor>();
for (const d of Object.values(PROBE_KIND_DESCRIPTORS)) {
  byName.set(d.name, d);
  byPrefix.set(d.prefix, d);
}

/**
 * Adds a kind: its lines parse, install, count and list like the built-in ones. Returns the function
 * that removes it again. Throws when the name or prefix is taken or the prefix is not one lowercase
 * letter ('-' starts a removal).
 */
export function registerProbeKind(d: ProbeKindDescriptor): () => void {
  if (!/^[a-z]$/.test(d.prefix)) throw new Error(`probe kind ${d.name}: prefix must be one lowercase letter`);
  if (byName.has(d.name)) throw new Error(`probe kind ${d.name} is already registered`);
  const other = byPrefix.get(d.prefix);
  if (other) throw new Error(`probe kind ${d.name}: prefix '${d.prefix}' is ${other.name}'s`);
  byName.set(d.name, d);
  byPrefix.set(d.prefix, d);
  return () => {
    if (byName.get(d.name) === d) byName.delete(d.name);
    if (byPrefix.get(d.prefix) === d) byPrefix.delete(d.prefix);
  };
}

/** The descriptor of a kind (a stored kind name, or a registered kind's). */
export function probeKind(name: string): ProbeKindDescriptor {
  const d = byName.get(name);
  if (!d) throw new Error(`unknown probe kind ${name}`);
  return d;
}

/** The kind whose definition lines start with `ch`, if any. */
export function probeKindByPrefix(ch: string): ProbeKindDescriptor | undefined {
  return byPrefix.get(ch);
}

/** K21 for a stored probe row: its misses as kprobe_profile shows them (null counters = 0). */
export function probeMisses(p: {
  kind: ProbeKindName;
  nmissed: number | null;
  nmissedReentry: number | null;
}): number {
  return probeKind(p.kind).misses({ nmissed: p.nmissed ?? 0, nmissedReentry: p.nmissedReentry ?? 0 });
}
