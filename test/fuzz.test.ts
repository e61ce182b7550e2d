// Issue 16, the fuzz suite: mutated ELF files and mutated traces (truncations, flipped bytes, edited rows,
// edited configuration JSON, dropped views) through every command (probe-run, probe-record,
// probe-replay, probe-report text/--json/--html/--folded/--chrome, probe-query, probe-migrate,
// probe-merge), each with a time limit. A case passes when it ends in time with a clean result or a
// clean error: exit 0, 1 or 2 (or the guest's own status for probe-run/probe-record), the tool's first
// stderr line starting with "<command>: " when it failed, no JavaScript stack trace, no raw control
// character from the trace on the terminal, and no JavaScript built-in error (TypeError, RangeError,
// SyntaxError, ...) or raw SQLite error escaping: only probelab's own one-line errors.
//
// The generator is seeded (FUZZ_SEED, fixed in CI) and sized by FUZZ_CASES (CI default below; run more
// locally: FUZZ_CASES=2000 npx vitest run test/fuzz.test.ts). Commands run in-process in a worker
// thread (spawning node per case is far too slow for the gate); a case that overruns its limit is a
// hang: the worker is terminated and a fresh one takes the next case.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_DIR, ensureBuilt, WORKLOADS_DIR } from './e2e/helpers.js';
import { runInProcess, type CommandName } from './badinput-inproc.js';

const CASES = Number(process.env.FUZZ_CASES ?? 36);
/** FUZZ_VERBOSE=1 prints every case and its first stderr line (for reading what the errors are). */
const VERBOSE = process.env.FUZZ_VERBOSE === '1';
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
/** Per case; generous because the gate shares two cores with everything else. */
const LIMIT_MS = Number(process.env.FUZZ_LIMIT_MS ?? 20_000);

/** mulberry32: a small seeded generator (the suite must be reproducible from its seed). */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number): number => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;

const U32 = [
  0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x1000, 0x34, 0x20,
];
const SQL_VALUES: unknown[] = [
  null,
  0,
  -1,
  1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1.5,
  1e308,
  '',
  'x',
  '{',
  '[1,2]',
  '{"a":1}',
  '\x1b]0;t\x07\x1b[2J',
  'y'.repeat(5000),
  Buffer.from([0, 0xff, 0x1b]),
];
const JSON_VALUES = [
  '0',
  '-1',
  '1',
  '1e308',
  '2147483648',
  '9007199254740993',
  'null',
  'true',
  '"x"',
  '[]',
  '{}',
  '["a",1]',
  '[""]',
  '{"a":-5}',
];
const CONFIG_FIELDS = [
  'argv',
  'env',
  'cwd',
  'cpus',
  'cpuModel',
  'preempt',
  'seed',
  'chaos',
  'mhz',
  'maxInstructions',
  'maxRounds',
  'quantum',
  'tick',
  'probes',
  'maxactive',
  'detectReturnAddressReads',
  'allowRead',
  'stdinPath',
  'replayOf',
  'version',
  'argv[0]',
  'probes[0]',
  'maxTasks',
  'nonsense',
];

// ---- mutators ------------------------------------------------------------------------------------

function flip(b: Buffer, at: number, bit: number): void {
  b[at] = b[at]! ^ (1 << bit);
}

function mutateElf(bytes: Buffer, r: Rng): { bytes: Buffer; how: string } {
  const b = Buffer.from(bytes);
  switch (r.int(3)) {
    case 0: {
      const n = r.int(b.length);
      return { bytes: b.subarray(0, n), how: `truncated to ${n}` };
    }
    case 1: {
      const k = 1 + r.int(16);
      for (let i = 0; i < k; i++) flip(b, r.int(b.length), r.int(8));
      return { bytes: b, how: `${k} bits flipped` };
    }
    default: {
      // an ELF or program header field (the first 52 + 8 * 32 bytes)
      const at = r.int(Math.min(b.length - 4, 52 + 8 * 32)) & ~1;
      const v = r.pick(U32);
      if (r.int(2)) b.writeUInt32LE(v >>> 0, at & ~3);
      else b.writeUInt16LE(v & 0xffff, at);
      return { bytes: b, how: `header field at ${at} = ${v}` };
    }
  }
}

function sqlEdit(file: string, r: Rng): string {
  const db = new Database(file);
  try {
    db.pragma('ignore_check_constraints = ON');
    db.pragma('foreign_keys = OFF');
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .pluck()
      .all() as string[];
    for (let attempt = 0; attempt < 8; attempt++) {
      const kind = r.int(10);
      try {
        if (kind < 4) {
          const cfg = r.pick(CONFIG_FIELDS);
          const v = r.pick(JSON_VALUES);
          db.prepare(`UPDATE raw_runs SET config = json_set(config, '$.${cfg}', json(?))`).run(v);
          return `config.${cfg} = ${v}`;
        }
        if (kind === 4) {
          const v = r.pick(['{not json', '[]', '"x"', '{}', 'null']);
          db.prepare('UPDATE raw_runs SET config = ?').run(v);
          return `config = ${v}`;
        }
        const t = r.pick(tables);
        const n = db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number;
        if (n === 0) continue;
        const k = r.int(n);
        if (kind === 5) {
          const cols = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(t) as string[];
          const c = r.pick(cols);
          db.prepare(`DELETE FROM "${t}" WHERE "${c}" IS (SELECT "${c}" FROM "${t}" LIMIT 1 OFFSET ?)`).run(
            k,
          );
          return `rows of ${t} deleted`;
        }
        if (kind === 6 && r.int(3) === 0) {
          const views = db
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'view'")
            .pluck()
            .all() as string[];
          const v = r.pick(views);
          db.exec(`DROP VIEW "${v}"`);
          return `view ${v} dropped`;
        }
        const cols = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(t) as string[];
        const c = r.pick(cols);
        const v = r.pick(SQL_VALUES);
        db.prepare(
          `UPDATE "${t}" SET "${c}" = ? WHERE "${c}" IS (SELECT "${c}" FROM "${t}" LIMIT 1 OFFSET ?)`,
        ).run(v, k);
        return `${t}.${c} = ${typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : Buffer.isBuffer(v) ? 'blob' : String(v)}`;
      } catch {
        // STRICT type or constraint refused the value: try another edit
      }
    }
    return 'no edit applied';
  } finally {
    db.close();
  }
}

function mutateTrace(src: string, dst: string, r: Rng): string {
  const kind = r.int(6);
  if (kind === 0) {
    const b = fs.readFileSync(src);
    const n = r.int(b.length);
    fs.writeFileSync(dst, b.subarray(0, n));
    return `truncated to ${n}`;
  }
  if (kind === 1) {
    const b = fs.readFileSync(src);
    const k = 1 + r.int(24);
    for (let i = 0; i < k; i++) flip(b, 100 + r.int(b.length - 100), r.int(8));
    fs.writeFileSync(dst, b);
    return `${k} bits flipped`;
  }
  fs.copyFileSync(src, dst);
  return sqlEdit(dst, r);
}

// ---- cases -----------------------------------------------------------------------------------------

interface Case {
  id: number;
  cmd: CommandName;
  argv: string[];
  input: string;
  /** Trace commands: stderr is the tool's own text only (no guest output). */
  ownStderr: boolean;
}

interface Result {
  id: number;
  code: number;
  stderr: string;
  thrown: string | null;
}

const BUILTIN_ERRORS =
  /^(TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError|SqliteError|Error):/;

/** Why a result is a failure, or null when it is clean. */
function problem(c: Case, r: Result | 'timeout'): string | null {
  if (r === 'timeout') return `no result within ${LIMIT_MS} ms (hang)`;
  if (r.thrown && BUILTIN_ERRORS.test(r.thrown)) return `raw error: ${r.thrown}`;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr)) return 'stack trace on stderr';
  const guest = c.cmd === 'probe-run' || c.cmd === 'probe-record';
  if (!guest && ![0, 1, 2].includes(r.code)) return `exit status ${r.code}`;
  if (guest && !(r.code >= 0 && r.code <= 255)) return `exit status ${r.code}`;
  if (r.code !== 0 && c.ownStderr) {
    const first = r.stderr.split('\n')[0] ?? '';
    if (!first.startsWith(`${c.cmd}: `))
      return `first stderr line is not "${c.cmd}: ...": ${JSON.stringify(first.slice(0, 120))}`;
  }
  // eslint-disable-next-line no-control-regex
  if (c.ownStderr && /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(r.stderr))
    return 'raw control character on stderr';
  return null;
}

class Runner {
  private worker!: Worker;
  private ready!: Promise<void>;
  private pending: ((r: Result) => void) | null = null;
  restarts = 0;

  constructor() {
    this.start();
  }

  private start(): void {
    this.worker = new Worker(new URL('./fuzz-worker.mjs', import.meta.url), {
      env: { ...process.env, PROBELAB_FUZZ_CLI_DIR: CLI_DIR },
      stdout: true,
      stderr: true,
    });
    this.ready = new Promise((res) => {
      this.worker.on('message', (m: Result & { ready?: boolean }) => {
        if (m.ready) res();
        else this.pending?.(m);
      });
    });
  }

  private async wait(): Promise<Result | 'timeout'> {
    await this.ready;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      new Promise<Result>((res) => (this.pending = res)),
      new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), LIMIT_MS))),
    ]);
    clearTimeout(timer);
    this.pending = null;
    if (result === 'timeout') {
      void this.worker.terminate();
      this.restarts++;
      this.start();
    }
    return result;
  }

  send(c: Case): Promise<Result | 'timeout'> {
    const p = this.wait();
    void this.ready.then(() => this.worker.postMessage({ id: c.id, cmd: c.cmd, argv: c.argv }));
    return p;
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

let dir: string;
const bases: { elfs: Buffer[]; traces: string[] } = { elfs: [], traces: [] };

beforeAll(async () => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-fuzz-'));
  bases.elfs = ['hello', 'server'].map((w) => fs.readFileSync(path.join(WORKLOADS_DIR, 'bin', w)));
  // The server demo (misses calls: the report replays and caches its complete call set) and hello.
  for (const [w, extra] of [
    ['server', ['-c', '2', '--', '4', '8', '1', '50']],
    ['hello', ['-c', '1']],
  ] as const) {
    const t = path.join(dir, `${w}.db`);
    const r = await runInProcess('probe-record', ['-w', w, '-q', '-o', t, '--stdin', '/dev/null', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    expect((await runInProcess('probe-report', [t, '--json'])).code).toBe(0);
    bases.traces.push(t);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function makeCase(id: number, r: Rng): Case & { how: string } {
  const f = (name: string) => path.join(dir, `c${id}-${name}`);
  if (r.int(3) === 0) {
    const { bytes, how } = mutateElf(r.pick(bases.elfs), r);
    const elf = f('elf');
    fs.writeFileSync(elf, bytes, { mode: 0o755 });
    const budget = ['--max-instructions', '200000', '--stdin', '/dev/null', '-c', String(1 + r.int(2))];
    const v = r.int(4);
    const [cmd, argv]: [CommandName, string[]] =
      v === 0
        ? ['probe-run', [elf, ...budget]]
        : v === 1
          ? ['probe-record', [elf, '--list-symbols']]
          : [
              'probe-record',
              [elf, '-q', '--force', '-o', f('out.db'), ...budget, ...(v === 2 ? ['-p', 'p:main main'] : [])],
            ];
    return { id, cmd, argv, input: `ELF ${how}`, ownStderr: false, how };
  }
  const t = f('trace.db');
  const how = mutateTrace(r.pick(bases.traces), t, r);
  const cmds: [CommandName, string[]][] = [
    ['probe-replay', [t]],
    ['probe-replay', [t, '--complete']],
    ['probe-replay', [t, '--run', '1', '-p', 'p:extra _start', '-o', f('whatif.db')]],
    ['probe-report', [t]],
    ['probe-report', [t, '--json', '--syscalls']],
    ['probe-report', [t, '--html', f('r.html'), '--folded', f('r.folded'), '--chrome', f('r.json')]],
    [
      'probe-query',
      [
        t,
        r.pick([
          'SELECT * FROM runs',
          'SELECT * FROM calls LIMIT 20',
          'SELECT * FROM events LIMIT 20',
          'SELECT * FROM tasks',
        ]),
      ],
    ],
    ['probe-migrate', [t]],
    ['probe-merge', [f('merged.db'), t]],
  ];
  const [cmd, argv] = r.pick(cmds);
  return { id, cmd, argv, input: `trace ${how}`, ownStderr: true, how };
}

describe('issue 16: fuzz (mutated ELF files and traces through every command)', () => {
  it(
    `${CASES} cases (seed ${SEED}): each a clean result or a clean one-line error within ${LIMIT_MS} ms`,
    async () => {
      const r = prng(SEED);
      const runner = new Runner();
      const failures: string[] = [];
      const tally = { cases: 0, clean: 0, errors: 0, byCommand: {} as Record<string, number> };
      try {
        for (let i = 0; i < CASES; i++) {
          const c = makeCase(i, r);
          const res = await runner.send(c);
          tally.cases++;
          tally.byCommand[c.cmd] = (tally.byCommand[c.cmd] ?? 0) + 1;
          const p = problem(c, res);
          if (VERBOSE)
            console.log(
              `#${i} ${c.cmd} [${c.input}] -> ${res === 'timeout' ? 'timeout' : `${res.code} ${res.stderr.split('\n')[0]!.slice(0, 160)}`}`,
            );
          if (p)
            failures.push(
              `case ${i} ${c.cmd} ${c.argv.map((a) => path.basename(a)).join(' ')} [${c.input}]: ${p}`,
            );
          else if (res !== 'timeout' && res.code === 0) tally.clean++;
          else tally.errors++;
          // keep the disk small on long local runs
          for (const e of fs.readdirSync(dir))
            if (e.startsWith(`c${i}-`)) fs.rmSync(path.join(dir, e), { force: true, recursive: true });
        }
      } finally {
        await runner.close();
      }
      console.log(
        `fuzz seed ${SEED}: ${tally.cases} cases, ${tally.clean} clean results, ${tally.errors} clean errors, ${failures.length} failures, ${runner.restarts} hangs; by command ${JSON.stringify(tally.byCommand)}`,
      );
      expect(failures).toEqual([]);
    },
    CASES * LIMIT_MS + 60_000,
  );
});
