// The profile table the recording commands print on stderr: a header naming the columns (as Linux's
// kprobe_profile documentation names them: event, hits, missed) above the kprobe_profile lines.

import { formatProfile, type ProfileRow } from '../probes/profile.js';
import { escapeLines } from './terminal.js';

/** The header, in formatProfileLine's columns (44 for the event, 15 for each count). */
export function profileHeader(): string {
  return `  ${'event'.padEnd(44)} ${'hits'.padStart(15)} ${'missed'.padStart(15)}\n`;
}

/** Header plus one line per probe; "" when there are no probes. Event names from a trace are escaped. */
export function profileTable(rows: readonly ProfileRow[]): string {
  return rows.length === 0 ? '' : profileHeader() + escapeLines(formatProfile(rows));
}
