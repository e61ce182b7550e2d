// Integer codes stored in the raw_* tables, and their public names (the views' text values).
// Guarantees: these arrays are index = code and match the lookup tables and CASE expressions in
// schemas/trace.sql (test/trace.test.ts checks both); codes are never renumbered within a format.

export const EVENT_KINDS = [
  'kprobe',
  'singlestep',
  'trampoline',
  'return',
  'orphan_return',
  'missed',
  'reentry',
  'break',
  'fault',
  'retaddr_read',
] as const;
export type EventKindName = (typeof EVENT_KINDS)[number];

/** events.kind codes, for TraceWriter.event(). */
export const EventKind = {
  kprobe: 0,
  singlestep: 1,
  trampoline: 2,
  return: 3,
  orphan_return: 4,
  missed: 5,
  reentry: 6,
  break: 7,
  fault: 8,
  retaddr_read: 9,
} as const satisfies Record<EventKindName, number>;
export type EventKindCode = (typeof EventKind)[EventKindName];

/**
 * EventKind[name] as comparisons of interned strings, commonest first: the recorder's per-event
 * path, where the keyed lookup of a name that varies from call to call was its costliest line.
 */
export function eventKindCode(name: EventKindName): EventKindCode {
  switch (name) {
    case 'kprobe':
      return 0;
    case 'singlestep':
      return 1;
    case 'trampoline':
      return 2;
    case 'return':
      return 3;
    default:
      return EventKind[name];
  }
}

export const PROBE_KINDS = ['kprobe', 'kretprobe', 'jprobe'] as const;
export type ProbeKindName = (typeof PROBE_KINDS)[number];

export const MISS_REASONS = ['no_instance', 'reentry'] as const;
export type MissReasonName = (typeof MISS_REASONS)[number];

/** missed.reason codes, for TraceWriter.missed(). */
export const MissReason = { no_instance: 0, reentry: 1 } as const satisfies Record<MissReasonName, number>;
export type MissReasonCode = (typeof MissReason)[MissReasonName];

export const RUN_STATUSES = ['complete', 'crashed', 'truncated', 'incomplete'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
