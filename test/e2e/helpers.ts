// Shared helpers of the end-to-end tests (test/e2e/*.test.ts). Everything here goes through the REAL
// command line: `node dist/src/cli/<command>.js ...` in a child process, with pipes (no TTY), so the
// tests see exactly what a user sees (stdout, stderr, exit status) and nothing in-process.
//
// - ensureBuilt(): checks that dist/ is a build of the current sources (`npm test` builds before vitest
//   runs; the tests never compile TypeScript themselves). Set PROBELAB_E2E_CLI_DIR to run the suite
//   against another build (e.g. a patched copy of dist/src/cli).
// - run()/cli(): spawn a command and collect everything; query(): probe-query ... --format json.
// - The guest-side model of the workloads' runtime (mix32, the xorshift PRNG) so tests can compute the
//   values the C sources compute and compare them with what the probes fetched.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_DIR = process.env.PROBELAB_E2E_CLI_DIR
  ? path.resolve(process.env.PROBELAB_E2E_CLI_DIR)
  : path.join(REPO_ROOT, 'dist', 'src', 'cli');
export const WORKLOADS_DIR = path.join(REPO_ROOT, 'workloads');
export const GOLDEN_DIR = path.join(REPO_ROOT, 'test', 'e2e', 'golden');

export const COMMANDS = [
  'probe-record',
  'probe-replay',
  'probe-report',
  'probe-query',
  'probe-migrate',
  'probe-merge',
  'probe-run',
] as const;
export type Command = (typeof COMMANDS)[number];

// ---- the build under test -------------------------------------------------------------------------

function newestSource(dir: string): { file: string; mtimeMs: number } {
  let best = { file: '', mtimeMs: 0 };
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const c = e.isDirectory()
      ? newestSource(p)
      : e.name.endsWith('.ts')
        ? { file: p, mtimeMs: fs.statSync(p).mtimeMs }
        : best;
    if (c.mtimeMs > best.mtimeMs) best = c;
  }
  return best;
}

/**
 * Checks that dist/ holds a build of the current sources (tests never compile: `npm test` builds
 * once before vitest starts; run `npm run build` before running e2e tests alone). A build older than
 * any file under src/ fails the test with that instruction rather than testing stale JavaScript.
 * PROBELAB_E2E_CLI_DIR points the suite at another build (e.g. a patched copy of dist/src/cli) and
 * skips the age check.
 */
export function ensureBuilt(): void {
  const entry = path.join(CLI_DIR, 'probe-record.js');
  if (!fs.existsSync(entry))
    throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does)`);
  if (process.env.PROBELAB_E2E_CLI_DIR) return;
  const built = fs.statSync(entry).mtimeMs;
  const src = newestSource(path.join(REPO_ROOT, 'src'));
  if (src.mtimeMs > built)
    throw new Error(
      `dist/ is older than ${path.relative(REPO_ROOT, src.file)}: run \`npm run build\` first (npm test does)`,
    );
}

// ---- running commands ---------------------------------------------------------------------------------

export interface CliResult {
  /** Exit status, or null when the process died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Bytes for the command's stdin (a pipe); without it stdin is /dev/null. */
  input?: string | Uint8Array;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.PROBELAB_DEBUG;
  delete env.FORCE_COLOR;
  return env;
}

/** Runs `node <CLI_DIR>/<cmd>.js ...args` and collects its output and exit status. */
export function cli(cmd: Command, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(CLI_DIR, `${cmd}.js`), ...args], {
      cwd: opts.cwd ?? os.tmpdir(),
      env: childEnv(),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as ['pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Starts a command in the background (for tests that kill it). */
export function startCli(cmd: Command, args: string[], opts: RunOptions = {}) {
  const child = spawn(process.execPath, [path.join(CLI_DIR, `${cmd}.js`), ...args], {
    cwd: opts.cwd ?? os.tmpdir(),
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited, stderrSoFar: () => stderr };
}

/**
 * Waits for a condition without sleeping: `check` runs now and again after each change to a file in
 * `dirs` (inotify), each chunk `child` writes and its exit, until it returns a value (not undefined).
 * Fails when `child` has exited with the condition still unmet, or after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: { dirs?: () => string[]; child?: ChildProcess; timeoutMs?: number },
): Promise<T> {
  // `changed` is set by the watchers between two checks, so a change during a check is not missed.
  const state: { changed: boolean; wake: (() => void) | null } = { changed: false, wake: null };
  const poke = (): void => {
    state.changed = true;
    state.wake?.();
  };
  const watchers = new Map<string, fs.FSWatcher>();
  const watchDirs = (): void => {
    for (const d of opts.dirs?.() ?? []) {
      if (watchers.has(d) || !fs.existsSync(d)) continue;
      try {
        const w = fs.watch(d, poke);
        w.on('error', () => {}); // the directory went away: its files no longer matter
        watchers.set(d, w);
      } catch {
        /* removed meanwhile */
      }
    }
  };
  const child = opts.child;
  child?.stdout?.on('data', poke);
  child?.stderr?.on('data', poke);
  child?.on('exit', poke);
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((r) => (timer = setTimeout(r, opts.timeoutMs ?? 90_000)));
  try {
    for (;;) {
      watchDirs();
      state.changed = false;
      const v = await check();
      if (v !== undefined) return v;
      if (child && child.exitCode !== null) throw new Error(`${what}: the process exited first`);
      if (Date.now() > deadline) throw new Error(`${what}: not seen within ${opts.timeoutMs ?? 90_000} ms`);
      if (!state.changed) await Promise.race([new Promise<void>((r) => (state.wake = r)), timedOut]);
      state.wake = null;
    }
  } finally {
    clearTimeout(timer);
    for (const w of watchers.values()) w.close();
    child?.stdout?.off('data', poke);
    child?.stderr?.off('data', poke);
    child?.off('exit', poke);
  }
}

/** Describes a result for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stderr ---\n${r.stderr}\n--- stdout (first 2000 chars) ---\n${r.stdout.slice(0, 2000)}`;
}

/** Runs a command that must succeed (exit 0 unless `expectCode` says otherwise). */
export async function ok(
  cmd: Command,
  args: string[],
  expectCode = 0,
  opts: RunOptions = {},
): Promise<CliResult> {
  const r = await cli(cmd, args, opts);
  expect(r.code, `${cmd} ${args.join(' ')}\n${show(r)}`).toBe(expectCode);
  return r;
}

export type Row = Record<string, unknown>;

/** `probe-query TRACE SQL --format json`, parsed. Throws (with stderr) when the query fails. */
export async function query<T = Row>(trace: string, sql: string): Promise<T[]> {
  const r = await cli('probe-query', [trace, sql, '--format', 'json']);
  if (r.code !== 0) throw new Error(`probe-query ${trace} "${sql}" failed: ${show(r)}`);
  return JSON.parse(r.stdout) as T[];
}

/** The first row of a query (it must have one). */
export async function queryOne<T = Row>(trace: string, sql: string): Promise<T> {
  const rows = await query<T>(trace, sql);
  expect(rows.length, sql).toBeGreaterThan(0);
  return rows[0]!;
}

/** `probe-report TRACE --json ...`, parsed. */
export async function reportJson(trace: string, extra: string[] = []): Promise<ReportJson> {
  const r = await ok('probe-report', [trace, '--json', ...extra]);
  return JSON.parse(r.stdout) as ReportJson;
}

export interface ReportProbe {
  event: string;
  kind: string;
  symbol: string;
  maxactive: number | null;
  hits: number;
  calls: number;
  missed: number | null;
  missed_reentry: number | null;
  peak_concurrency: number | null;
  max_depth: number | null;
  recommended_maxactive: number | null;
  defaults: { linux_2_6_13: number; linux_6_2: number; systemtap: number } | null;
  miss_curve: Array<{ maxactive: number; missed: number }> | null;
}

export interface ReportJson {
  schema: string;
  runs: Array<{ run_id: number; workload: string; cpus: number; preempt: boolean; status: string }>;
  probes: ReportProbe[];
}

/**
 * A tool failure as the README promises: the given exit status, exactly one line on stderr (plus, for
 * probe specs, Linux's "Command:" and caret lines, passed as `extraLines`), prefixed with the command
 * name, and never a JavaScript stack trace.
 */
export function expectCleanError(
  r: CliResult,
  cmd: Command,
  code: 1 | 2,
  message: RegExp,
  extraLines = 0,
): string[] {
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(r.code, show(r)).toBe(code);
  expect(
    lines.filter((l) => /^\s{4}at /.test(l)),
    `stack trace on stderr:\n${r.stderr}`,
  ).toEqual([]);
  expect(lines.length, `expected ${1 + extraLines} line(s) on stderr:\n${r.stderr}`).toBe(1 + extraLines);
  expect(lines[0]).toMatch(new RegExp(`^${cmd}: `));
  expect(lines[0]).toMatch(message);
  return lines;
}

// ---- temporary files ------------------------------------------------------------------------------------

const tmpDirs: string[] = [];

/** A fresh directory under os.tmpdir(); removed by cleanupTmp(). */
export function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `probelab-e2e-${tag}-`));
  tmpDirs.push(d);
  return d;
}

export function cleanupTmp(): void {
  if (process.env.PROBELAB_E2E_KEEP) return;
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function sha256File(p: string): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

// ---- the workload catalogue -------------------------------------------------------------------------------

export interface WorkloadAnswer {
  function: string;
  case: string;
  peak: {
    formula: string;
    kind: 'exact' | 'upper_bound';
    default_args: number | string;
    default_args_kind?: 'exact' | 'upper_bound';
    no_preempt?: { formula: string; kind: string; default_args: number | string };
    per_task?: { formula: string; kind: string; default_args: number | string };
  };
}

export interface Workload {
  name: string;
  source: string;
  binary: string;
  params: Array<{ name: string; default: number }>;
  default_args: string[];
  probed_functions: string[];
  probes: string[];
  answers: WorkloadAnswer[];
}

export function workloads(): Workload[] {
  const j = JSON.parse(fs.readFileSync(path.join(WORKLOADS_DIR, 'workloads.json'), 'utf8')) as {
    workloads: Workload[];
  };
  return j.workloads;
}

/**
 * Evaluates a workloads.json answer formula ("integers, parameter names, NR_CPUS, + - * and
 * min(a, b, ...) / max(a, b, ...)").
 */
export function evalFormula(formula: string, vars: Record<string, number>): number {
  const toks = formula.match(/\d+|[A-Za-z_]\w*|[-+*(),]/g) ?? [];
  if (toks.join('') !== formula.replace(/\s+/g, '')) throw new Error(`bad formula ${formula}`);
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++];
  const primary = (): number => {
    const t = next();
    if (t === undefined) throw new Error(`truncated formula ${formula}`);
    if (/^\d+$/.test(t)) return Number(t);
    if (t === '(') {
      const v = sum();
      if (next() !== ')') throw new Error(`missing ) in ${formula}`);
      return v;
    }
    if (t === 'min' || t === 'max') {
      if (next() !== '(') throw new Error(`missing ( in ${formula}`);
      const vals = [sum()];
      while (peek() === ',') {
        next();
        vals.push(sum());
      }
      if (next() !== ')') throw new Error(`missing ) in ${formula}`);
      return t === 'min' ? Math.min(...vals) : Math.max(...vals);
    }
    const v = vars[t];
    if (v === undefined) throw new Error(`unknown name ${t} in ${formula}`);
    return v;
  };
  const product = (): number => {
    let v = primary();
    while (peek() === '*') {
      next();
      v *= primary();
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = next() === '+' ? v + product() : v - product();
    return v;
  };
  const v = sum();
  if (i !== toks.length) throw new Error(`trailing tokens in ${formula}`);
  return v;
}

// ---- the guest runtime, in TypeScript (workloads/runtime/rt.h, rt.c) ------------------------------------------

/** The murmur3 finalizer (rt.h mix32). */
export function mix32(h: number): number {
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** xorshift32 as rt.c seeds and steps it. */
export class Rng {
  s: number;
  constructor(seed: number) {
    this.s = mix32((seed ^ 0x9e3779b9) >>> 0);
    if (this.s === 0) this.s = 0x2545f491;
  }
  next(): number {
    let x = this.s;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.s = x;
    return x;
  }
  below(n: number): number {
    return n ? this.next() % n : 0;
  }
}

export const u32 = (x: number): number => x >>> 0;
export const hex = (x: number): string => `0x${(x >>> 0).toString(16)}`;

/** A fetched value as a number: kprobe_events prints x32 values as "0x..." strings. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^(0x[0-9a-f]+|-?\d+)$/i.test(v)) return Number(v);
  throw new Error(`not a fetched number: ${JSON.stringify(v)}`);
}

/** Sorts numbers ascending (multiset comparison). */
export const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
