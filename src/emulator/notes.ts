// What a user should know at the end of a run that the guest cannot tell them: the guest's default
// environment, and the end-of-run lines naming the host paths it was refused (with how to grant
// them) and the syscalls it called that the machine does not implement (number and count).
// Guarantees: the lines depend only on the RunResult, so a replay prints the same ones.

import type { RunResult } from './machine.js';

/**
 * The environment a guest gets when the caller gives none (documented in the README): a search
 * path, a home, a terminal type that asks for no escape sequences, and the C locale.
 */
export const DEFAULT_ENV: readonly string[] = Object.freeze([
  'PATH=/bin:/usr/bin',
  'HOME=/',
  'TERM=dumb',
  'LANG=C',
]);

/** DEFAULT_ENV with NAME=VALUE entries added or replaced (the --env option). */
export function guestEnv(extra: readonly string[], base: readonly string[] = DEFAULT_ENV): string[] {
  const out = new Map<string, string>();
  for (const kv of [...base, ...extra]) {
    const i = kv.indexOf('=');
    out.set(i < 0 ? kv : kv.slice(0, i), kv);
  }
  return [...out.values()];
}

/** How many refused paths the note names before "and N more". */
const SHOWN = 3;

/** The end-of-run lines for stderr (none when there is nothing to say). */
export function runNotes(r: Pick<RunResult, 'refused' | 'syscalls'>, prog = 'probelab'): string[] {
  const lines: string[] = [];
  const ref = r.refused;
  if (ref.paths.length > 0) {
    const shown = ref.paths.slice(0, SHOWN).join(', ');
    const more = ref.paths.length > SHOWN ? ` and ${ref.paths.length - SHOWN} more` : '';
    lines.push(
      `${prog}: the guest was refused ${ref.paths.length === 1 ? 'a host path' : `${ref.paths.length} host paths`} outside the readable directories (${ref.attempts} attempt${ref.attempts === 1 ? '' : 's'}): ${shown}${more}; grant one with --allow-read DIR`,
    );
  }
  const missing = new Map<number, { name: string; calls: number }>();
  for (const c of r.syscalls)
    if (c.enosys > 0) {
      const m = missing.get(c.nr) ?? { name: c.name, calls: 0 };
      m.calls += c.enosys;
      missing.set(c.nr, m);
    }
  if (missing.size > 0) {
    const list = [...missing.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([nr, m]) => `${m.name} (${nr}) x${m.calls}`)
      .join(', ');
    lines.push(`${prog}: unimplemented syscalls returned ENOSYS: ${list}`);
  }
  return lines;
}
