// K28: the `kprobe_profile` listing, with misses counted by the K21 rule of kinds.ts.
//
// Guarantees: `formatProfile` prints one line per row, in the order given, exactly as Linux's
// probes_profile_seq_show does ("  %-44s %15lu %15lu\n": event name left-aligned in 44 columns,
// hits and misses right-aligned in 15; longer names or numbers widen the line, never truncate).
// Counts are printed as non-negative integers (fractions truncated, negatives and non-finite
// values as 0). An empty list prints "".

import type { ProbeKindName } from '../trace/codes.js';
import { probeKind, probeMisses } from './kinds.js';

export interface ProfileRow {
  event: string;
  hits: number;
  misses: number;
}

function count(n: number): string {
  return Number.isFinite(n) && n > 0 ? String(Math.trunc(n)) : '0';
}

export function formatProfileLine(row: ProfileRow): string {
  return `  ${row.event.padEnd(44)} ${count(row.hits).padStart(15)} ${count(row.misses).padStart(15)}\n`;
}

export function formatProfile(rows: readonly ProfileRow[]): string {
  return rows.map(formatProfileLine).join('');
}

/**
 * K21 (kinds.ts): a kprobe's misses are its `nmissed` (reentry); a kretprobe's are the entry
 * kprobe's `nmissed` plus the kretprobe's own `nmissed` (no free instance), as kprobe_profile sums
 * them.
 */
export function profileMisses(p: { kind: ProbeKindName; kpNmissed: number; rpNmissed?: number }): number {
  return probeKind(p.kind).misses({ nmissed: p.rpNmissed ?? 0, nmissedReentry: p.kpNmissed });
}

/** Profile rows of stored or live probes (counters null until a run is finished: 0). */
export function profileRows(
  probes: readonly {
    event: string;
    kind: ProbeKindName;
    hits: number | null;
    nmissed: number | null;
    nmissedReentry: number | null;
  }[],
): ProfileRow[] {
  return probes.map((p) => ({ event: p.event, hits: p.hits ?? 0, misses: probeMisses(p) }));
}
