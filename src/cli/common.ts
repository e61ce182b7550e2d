// Shared command-line plumbing: one-line errors with the right exit codes (1 = the command failed,
// 2 = bad usage), the built-in workload catalogue, and reading guest binaries with clear messages.

import { readFileSync } from 'node:fs';
import { TraceError } from '../trace/db.js';
import { TraceReader } from '../trace/reader.js';
import { validateRuns } from '../trace/validate.js';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/** A failure to report in one line and exit with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The package root (holds workloads/ and schemas/), from src/cli or dist/src/cli. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../..');
}

export interface WorkloadInfo {
  name: string;
  description: string;
  binary: string;
  default_args: string[];
  probes: string[];
  params: Array<{ name: string; description: string; default: number }>;
  answers: Array<{
    function: string;
    case: string;
    peak: { formula: string; kind: string; default_args?: number | string };
  }>;
}

export function workloads(): { default: string; list: WorkloadInfo[] } {
  const root = packageRoot();
  const j = JSON.parse(readFileSync(join(root, 'workloads', 'workloads.json'), 'utf8')) as {
    default_workload: string;
    workloads: WorkloadInfo[];
  };
  return { default: j.default_workload, list: j.workloads };
}

export function findWorkload(name: string): WorkloadInfo {
  const w = workloads().list.find((x) => x.name === name);
  if (!w) {
    const names = workloads()
      .list.map((x) => x.name)
      .join(', ');
    throw new CliError(`unknown workload '${name}' (built-in workloads: ${names})`, 2);
  }
  return w;
}

export function workloadBinaryPath(w: WorkloadInfo): string {
  return join(packageRoot(), 'workloads', w.binary);
}

export function readInput(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : String(code ?? e);
    throw new CliError(`cannot read ${what} ${path}: ${why}`);
  }
}

/**
 * Opens a trace that will be replayed, analysed or merged: read-only, with the schema check and
 * every run's row, configuration and probes validated (src/trace/validate.ts), so a crafted or
 * damaged file is one line naming the file and the field (exit 1) before anything uses it.
 */
export function openCheckedTrace(path: string): TraceReader {
  let reader: TraceReader | undefined;
  try {
    reader = TraceReader.open(path);
    validateRuns(reader);
    return reader;
  } catch (e) {
    reader?.close();
    if (e instanceof TraceError) throw new CliError(e.message);
    throw e;
  }
}
