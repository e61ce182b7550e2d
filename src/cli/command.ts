// The scaffold every command is built on, so they all behave alike:
// - parseCommand(): one yargs setup: usage, -h/--help and --version (both print and end the command
//   with exit 0), strict options, repeatable options that never swallow positionals, and any usage
//   mistake turned into a CliError with exit status 2;
// - runCommand(): runs a command's main when its module is the program being run (never at import
//   time, so each command stays testable in-process) and maps every failure to one line on stderr and
//   an exit status: 1 when the command failed, 2 for bad usage; never a stack trace (PROBELAB_DEBUG=1
//   adds it for developers).

import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CliError, packageRoot } from './common.js';
import { escapeControls, escapeLines } from './terminal.js';

/** This build's version, from package.json (what every command's --version prints). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What every parsed command line carries besides its options. */
export interface Positionals {
  /** Positional arguments before `--`. */
  _: string[];
  /** Everything after `--`, verbatim (guest arguments). */
  '--': string[];
}

/** A repeatable string option as a list (given never, once or several times). */
export function list(v: unknown): string[] {
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * `-p -:EVENT` would read as short flags: glue a value that starts with a dash to its option, for the
 * options named in `names` (e.g. ['-p', '--probe']).
 */
export function glueDashValues(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const v = argv[i + 1];
    if (names.includes(x) && v !== undefined && v.startsWith('-') && v !== '--') {
      out.push(`${x.startsWith('--') ? x : (names.find((n) => n.startsWith('--')) ?? x)}=${v}`);
      i++;
    } else out.push(x);
  }
  return out;
}

export interface CommandSpec<T> {
  /** The command's name, as typed (probe-record). */
  name: string;
  /** Synopsis and a one-paragraph description; `$0` stands for the name. */
  usage: string;
  /** Declares the command's options. Repeatable options must be plain strings (read them with list()). */
  options: (y: Argv) => Argv<T>;
  /** 'all': unknown options and surplus positionals are errors; 'options': only unknown options. */
  strict?: 'all' | 'options';
  /** Extra lines for the end of --help (examples). */
  epilogue?: string;
}

/**
 * Parses `argv` for a command. Returns null when --help or --version was answered (the caller returns
 * 0); throws CliError(…, 2) for every usage mistake.
 */
export function parseCommand<T>(spec: CommandSpec<T>, argv: readonly string[]): (T & Positionals) | null {
  let y = spec
    .options(yargs([...argv]))
    .scriptName(spec.name)
    .usage(spec.usage)
    .parserConfiguration({
      'populate--': true,
      'duplicate-arguments-array': true,
      'parse-positional-numbers': false,
    })
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .exitProcess(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw new CliError(err ? err.message : msg, 2);
    });
  if (spec.epilogue) y = y.epilogue(spec.epilogue);
  y = spec.strict === 'options' ? y.strictOptions() : y.strict();
  const a = y.parseSync() as unknown as T & {
    _: (string | number)[];
    '--'?: (string | number)[];
    help?: boolean;
    version?: boolean;
  };
  if (a.help || a.version) return null;
  return { ...a, _: a._.map(String), '--': (a['--'] ?? []).map(String) };
}

/** Error classes whose failures are usage mistakes (exit 2), e.g. a malformed probe spec. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Turns a failure into its exit status, writing one line (a CliError's whole message) to stderr. */
export function reportFailure(prog: string, e: unknown, usageErrors: readonly ErrorClass[] = []): number {
  // Messages quote names from binaries and traces: escaped (terminal.ts), line breaks of the
  // message's own layout kept.
  if (e instanceof CliError) {
    process.stderr.write(`${prog}: ${escapeLines(e.message)}\n`);
    return e.code;
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (usageErrors.some((c) => e instanceof c)) {
    // Usage errors carry their own layout (a probe spec's "Command:" and caret lines).
    process.stderr.write(`${prog}: ${escapeLines(msg)}\n`);
    return 2;
  }
  process.stderr.write(`${prog}: ${escapeControls(msg.split('\n')[0]!)}\n`);
  if (process.env.PROBELAB_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return 1;
}

/** Runs a command's main, turning every failure into a one-line message and exit status. */
export async function runMain(
  prog: string,
  main: () => Promise<number> | number,
  usageErrors: readonly ErrorClass[] = [],
): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    process.exitCode = reportFailure(prog, e, usageErrors);
  }
}

/** Whether the module at `url` is the program being run (also when started through a bin symlink). */
export function isMainModule(url: string): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

/**
 * The bin entry: runs `main` with the process's arguments when the module at `url` is the program
 * being run; does nothing when the module is imported.
 */
export function runCommand(
  prog: string,
  url: string,
  main: (argv: string[]) => Promise<number> | number,
  usageErrors: readonly ErrorClass[] = [],
): void {
  if (isMainModule(url)) void runMain(prog, () => main(hideBin(process.argv)), usageErrors);
}
