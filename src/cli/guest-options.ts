// The options that describe the guest's world, shared by probe-record and probe-run so both accept
// them alike: its environment (--env), the directories it may read (--allow-read), where the files it
// writes are kept (--keep-files), its standard input (--stdin FILE, else the command's own stdin when
// that is not a terminal), the CPU model it sees (--cpu), its instruction budget and its memory limit (--mem).

import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { CPU_MODELS, DEFAULT_CPU_MODEL } from '../emulator/cpuid.js';
import { DEFAULT_MAX_TASKS, type MachineOptions } from '../emulator/machine.js';
import { list } from './command.js';
import { CliError, readInput } from './common.js';
import { guestEnv } from '../emulator/notes.js';
import { DEFAULT_MEM_LIMIT, formatBytes, parseMemSize } from '../emulator/memory.js';

export function guestOptions<T>(y: Argv<T>) {
  return y
    .option('env', {
      type: 'string',
      describe: 'NAME=VALUE in the guest environment, repeatable (default: an empty environment)',
    })
    .option('allow-read', {
      type: 'string',
      describe: 'directory the guest may read, repeatable (default: the current directory)',
    })
    .option('keep-files', {
      type: 'string',
      describe: 'directory where the files the guest writes are kept (default: none are kept)',
    })
    .option('stdin', {
      type: 'string',
      describe:
        "file to feed to the guest as standard input (default: this command's stdin unless a terminal)",
    })
    .option('cpu', {
      type: 'string',
      describe: `CPU model the guest sees (${Object.keys(CPU_MODELS).join(', ')}; default ${DEFAULT_CPU_MODEL})`,
    })
    .option('max-instructions', {
      type: 'number',
      describe: 'stop the guest after this many instructions (status truncated)',
    })
    .option('max-tasks', {
      type: 'number',
      describe: `threads and processes the guest may have at once; clone and fork fail with EAGAIN beyond (default ${DEFAULT_MAX_TASKS})`,
    })
    .option('mem', {
      type: 'string',
      describe: `memory each guest process may map, e.g. 512M or 2G (default ${formatBytes(DEFAULT_MEM_LIMIT)}; ENOMEM beyond it)`,
    });
}

/** What guestOptions() parsed, as the guest sees it. */
export interface GuestWorld {
  env: string[];
  allowRead: string[] | undefined;
  keepFiles: string | undefined;
  /** Standard input bytes (undefined: none). */
  stdin: Uint8Array | undefined;
  /** Where stdin came from: the --stdin path, '-' for this command's stdin, null for none. */
  stdinSource: string | null;
  cpuModel: string | undefined;
  maxInstructions: number | undefined;
  maxTasks: number | undefined;
  /** --mem in bytes (undefined: the default). */
  memLimit: number | undefined;
}

/** Reads a non-terminal stdin to its end (a pipe or a file); undefined on a terminal. */
export async function readOwnStdin(): Promise<Uint8Array | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  try {
    for await (const c of process.stdin) chunks.push(c as Buffer);
  } catch (e) {
    // No usable stdin at all (closed descriptor): the guest gets none either.
    if ((e as NodeJS.ErrnoException).code === 'EBADF') return undefined;
    throw e;
  }
  return Buffer.concat(chunks);
}

export async function guestWorld(a: {
  env?: unknown;
  'allow-read'?: unknown;
  'keep-files'?: string;
  stdin?: string;
  cpu?: string;
  'max-instructions'?: number;
  'max-tasks'?: number;
  mem?: string;
}): Promise<GuestWorld> {
  const env = list(a.env);
  for (const e of env) if (!/^[^=\s]+=/.test(e)) throw new CliError(`--env ${e}: expected NAME=VALUE`, 2);
  const max = a['max-instructions'];
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1))
    throw new CliError(`--max-instructions must be a positive integer, got ${max}`, 2);
  const tasks = a['max-tasks'];
  if (tasks !== undefined && !(Number.isSafeInteger(tasks) && tasks >= 1))
    throw new CliError(`--max-tasks must be a positive integer, got ${tasks}`, 2);
  if (a.cpu !== undefined && !Object.prototype.hasOwnProperty.call(CPU_MODELS, a.cpu))
    throw new CliError(`--cpu ${a.cpu}: unknown CPU model (known: ${Object.keys(CPU_MODELS).join(', ')})`, 2);
  const memLimit = a.mem === undefined ? undefined : parseMemSize(String(a.mem));
  if (memLimit === null)
    throw new CliError(`--mem ${a.mem}: expected a size from 16M to 4G, e.g. 512M or 2G`, 2);
  const allow = list(a['allow-read']);
  let stdin: Uint8Array | undefined;
  let stdinSource: string | null = null;
  if (a.stdin !== undefined) {
    stdin = readInput(a.stdin, '--stdin file');
    stdinSource = a.stdin;
  } else {
    // An empty stdin (e.g. /dev/null) is the same as none.
    stdin = await readOwnStdin();
    if (stdin?.length) stdinSource = '-';
    else stdin = undefined;
  }
  return {
    // The documented default environment with the --env entries added or replaced.
    env: guestEnv(env),
    allowRead: allow.length ? allow.map((d) => resolve(d)) : undefined,
    keepFiles: a['keep-files'] !== undefined ? resolve(a['keep-files']) : undefined,
    stdin,
    stdinSource,
    cpuModel: a.cpu,
    maxInstructions: max,
    maxTasks: tasks,
    memLimit,
  };
}

/** The Machine options for a guest world. */
export function machineOptionsOf(
  w: GuestWorld,
): Pick<
  MachineOptions,
  'env' | 'allowRead' | 'stdin' | 'maxInstructions' | 'maxTasks' | 'keepFiles' | 'cpuModel' | 'memLimit'
> {
  return {
    env: w.env,
    allowRead: w.allowRead,
    stdin: w.stdin,
    maxInstructions: w.maxInstructions,
    maxTasks: w.maxTasks,
    keepFiles: w.keepFiles,
    cpuModel: w.cpuModel,
    memLimit: w.memLimit,
  };
}
