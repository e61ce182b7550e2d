#!/usr/bin/env node
// probe-query: runs one read-only SQL statement on a trace and prints the rows as an aligned table,
// CSV or JSON. The database is opened read-only and statements that could write are refused.

import { resolve } from 'node:path';
import { TraceError } from '../trace/db.js';
import { TraceReader } from '../trace/reader.js';
import { parseCommand, runCommand, type CommandSpec } from './command.js';
import { CliError } from './common.js';
import { escapeControls } from './terminal.js';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}

function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

export function formatRows(columns: string[], rows: unknown[][], format: string): string {
  if (format === 'json') {
    const objs = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, jsonValue(r[i])])));
    return JSON.stringify(objs, null, 2) + '\n';
  }
  if (format === 'csv')
    return [columns.map(csvCell).join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
  // The table is for a terminal: values (symbols, args, guest paths) are escaped (terminal.ts).
  // CSV and JSON are data for other programs: JSON escapes controls itself, CSV keeps values as stored.
  const cells = rows.map((r) => r.map((v) => escapeControls(cell(v))));
  const heads = columns.map(escapeControls);
  const widths = heads.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(heads), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

export const spec = {
  name: 'probe-query',
  usage: '$0 TRACE "SQL" [--format table|csv|json]\n\nRun one read-only SQL statement on a trace.',
  options: (y) =>
    y
      .option('format', {
        choices: ['table', 'csv', 'json'] as const,
        default: 'table' as const,
        describe: 'how to print the rows',
      })
      .demandCommand(
        2,
        2,
        'give a trace file and one SQL statement',
        'give a trace file and one SQL statement',
      ),
} satisfies CommandSpec<unknown>;

export function main(argv: string[]): number {
  const a = parseCommand(spec, argv);
  if (!a) return 0;
  const [trace, sql] = a._ as [string, string];
  let reader: TraceReader;
  try {
    reader = TraceReader.open(resolve(trace));
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  }
  try {
    const r = reader.query(sql);
    process.stdout.write(formatRows(r.columns, r.rows, a.format));
    return 0;
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  } finally {
    reader.close();
  }
}

runCommand('probe-query', import.meta.url, main);
