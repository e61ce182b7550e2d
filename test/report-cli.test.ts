// probe-report on real recordings, through the real command line (dist/, child processes):
// - fetch-argument summaries of a kprobe against the guest's own account of what it passed (the
//   jprobe workload prints every jp_target(a, b, "s") call), in text and JSON;
// - probes inside a function and probes given by address are labelled sym+0xoff (the offset comes
//   from objdump's disassembly of the workload, an independent decoder);
// - kprobe sections have no return-probe columns;
// - --by groups against the calls view read with SQL (json_extract) and an exact nearest rank here;
// - the recommendation's spec, recorded again, misses nothing, and its probe-replay command shows 0;
// - sweeps: peaks over seeds equal the per-run reports, the worst seed's replay command verifies;
// - several traces: runs labelled by file; --html prints one line; bad --by is a one-line error.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgSummaryJson } from '../src/analysis/args.js';
import { cleanupTmp, cli, ensureBuilt, ok, query, show, tmpDir, WORKLOADS_DIR } from './e2e/helpers.js';

type ArgJson = ArgSummaryJson;
interface ProbeJson {
  event: string;
  kind: string;
  symbol: string;
  offset: number;
  addr: number | null;
  missed: number;
  peak_concurrency: number | null;
  recommended_maxactive: number | null;
  args: ArgJson[];
  groups?: {
    arg: string;
    distinct: number;
    rows: {
      value: number | string;
      calls: number;
      missed: number | null;
      latency: { count: number; p50: number | null; max: number | null };
    }[];
  };
}
interface Json {
  runs: { run_id: number; seed: number; source?: string }[];
  probes: ProbeJson[];
}

const rank = (sorted: number[], perMille: number): number =>
  sorted[Math.max(1, Math.ceil((perMille * sorted.length) / 1000)) - 1]!;

let dir: string;
let jp: string; // jprobe workload: kprobes with arguments
let sleepy: string; // sleepy workload, 3 chaos runs, maxactive 2: misses
let guestCalls: { a: number; b: number; s: string }[];
let off: number; // offset of jp_target's third instruction
let jpTarget: number;
const SLEEPY_SPEC = 'r2:wait_for_io wait_for_io id=$arg1:s32 round=$arg2:s32 ret=$retval';

// each distinct report is computed once (the machine is shared; every spawn costs seconds)
const memo = new Map<string, Promise<string>>();
function report(args: string[]): Promise<string> {
  const k = args.join('\0');
  if (!memo.has(k))
    memo.set(
      k,
      ok('probe-report', args).then((r) => r.stdout),
    );
  return memo.get(k)!;
}
async function json(args: string[]): Promise<Json> {
  return JSON.parse(await report([...args, '--json'])) as Json;
}

beforeAll(async () => {
  await ensureBuilt();
  dir = tmpDir('report-cli');
  const bin = path.join(WORKLOADS_DIR, 'bin', 'jprobe');
  const dis = execFileSync('objdump', ['-d', bin], { encoding: 'utf8' });
  const body = dis.slice(dis.indexOf('<jp_target>:'));
  const addrs = [...body.matchAll(/^\s+([0-9a-f]+):/gm)].slice(0, 3).map((m) => parseInt(m[1]!, 16));
  jpTarget = addrs[0]!;
  off = addrs[2]! - addrs[0]!;
  jp = path.join(dir, 'jp.db');
  sleepy = path.join(dir, 'sleepy.db');
  const [r] = await Promise.all([
    ok('probe-record', [
      '-w',
      'jprobe',
      '-o',
      jp,
      '-p',
      'p:jpt jp_target a=$arg1:s32 b=$arg2:s32 s=+0($arg3):string',
      '-p',
      `p:mid jp_target+${off}`,
      '-p',
      `p:byaddr 0x${(jpTarget + off).toString(16)}`,
      '--',
      '40',
      '7',
    ]),
    ok('probe-record', ['-w', 'sleepy', '-o', sleepy, '-q', '--runs', '3', '--chaos', '-p', SLEEPY_SPEC]),
  ]);
  guestCalls = [...r!.stdout.matchAll(/jp_target\((-?\d+), (-?\d+), "([a-z]+)"\)/g)].map((m) => ({
    a: Number(m[1]),
    b: Number(m[2]),
    s: m[3]!,
  }));
  expect(guestCalls.length, show(r!)).toBe(40);
}, 240_000);
afterAll(cleanupTmp);

describe('probe-report on real traces', () => {
  it('summarises kprobe arguments exactly as the guest passed them', async () => {
    const j = await json([jp]);
    const p = j.probes.find((q) => q.event === 'probes/jpt')!;
    expect(p.args.map((a) => [a.name, a.type])).toEqual([
      ['a', 's32'],
      ['b', 's32'],
      ['s', 'string'],
    ]);
    const a = guestCalls.map((c) => c.a).sort((x, y) => x - y);
    const sa = p.args[0]!;
    expect([sa.count, sa.min, sa.max, sa.p50, sa.p99]).toEqual([40, a[0], a[39], rank(a, 500), rank(a, 990)]);
    expect(sa.distinct).toBe(new Set(a).size);
    const words = new Map<string, number>();
    for (const c of guestCalls) words.set(c.s, (words.get(c.s) ?? 0) + 1);
    const s = p.args[2]!;
    expect(s.distinct).toBe(words.size);
    expect(s.min).toBeNull();
    for (const t of s.top) {
      expect(t.count).toBe(words.get(String(t.value)));
      expect(t.p50_latency).toBeNull(); // a kprobe has hits, not calls
    }
    expect(s.top[0]!.count).toBe(Math.max(...words.values()));
    // text: the strings quoted as Linux prints them, and no return-probe columns on kprobe sections
    const text = await report([jp]);
    const sec = text.slice(text.indexOf('probes/jpt  ('), text.indexOf('\n\n', text.indexOf('argument')));
    expect(sec).toContain(`"${String(s.top[0]!.value)}" ×${s.top[0]!.count}`);
    expect(sec).not.toMatch(/calls|no instance/);
  });

  it('prints JSON that validates against schemas/report.schema.json (args, groups, sources)', async () => {
    const schema = JSON.parse(
      fs.readFileSync(new URL('../schemas/report.schema.json', import.meta.url), 'utf8'),
    ) as object;
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    for (const args of [[jp], [sleepy, '--by', 'wait_for_io=id'], [jp, sleepy]]) {
      const doc = await json(args);
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('labels probes inside a function and probes given by address as sym+0xoff', async () => {
    const j = await json([jp]);
    for (const e of ['probes/mid', 'probes/byaddr']) {
      const p = j.probes.find((q) => q.event === e)!;
      expect([p.symbol, p.offset, p.addr], e).toEqual(['jp_target', off, jpTarget + off]);
    }
    const text = await report([jp]);
    const label = `(kprobe at jp_target+0x${off.toString(16)})`;
    expect(text).toContain(`probes/mid  ${label}`);
    expect(text).toContain(`probes/byaddr  ${label}`);
    expect(text).toContain('probes/jpt  (kprobe on jp_target)');
  });

  it('--by groups latency and misses by an argument, exactly as the calls view says', async () => {
    const j = await json([sleepy, '--by', 'wait_for_io=id']);
    const p = j.probes[0]!;
    const g = p.groups!;
    expect(g.arg).toBe('id');
    const rows = await query<{ id: number; dur: number }>(
      sleepy,
      "SELECT json_extract(args, '$.id') AS id, dur FROM calls",
    );
    // the complete call set carries every call's arguments: each of the T = 6 threads calls
    // wait_for_io(id, round) ROUNDS = 4 times per run (workloads/sleepy.c), over 3 runs
    expect(g.rows.map((r) => r.value)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const r of g.rows) {
      expect(r.calls).toBe(12);
      expect(r.missed).not.toBeNull();
      // the calls the recording hooked are those the calls view has, with their exact latencies
      const durs = rows.filter((x) => x.id === r.value).map((x) => x.dur);
      expect(r.calls - r.missed!).toBe(durs.length);
    }
    expect(g.rows.reduce((n, r) => n + r.missed!, 0)).toBe(p.missed);
    // a value no missed call carried: its latency statistics are exactly the calls view's
    const full = g.rows.find((r) => r.missed === 0);
    if (full) {
      const durs = rows
        .filter((x) => x.id === full.value)
        .map((x) => x.dur)
        .sort((x, y) => x - y);
      expect([full.latency.p50, full.latency.max]).toEqual([rank(durs, 500), durs[durs.length - 1]]);
    }
    const bad = await cli('probe-report', [sleepy, '--by', 'wait_for_io=idd']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      "probe-report: --by wait_for_io=idd: probes/wait_for_io fetches no argument idd (did you mean 'id'?); it fetches id, round, ret\n",
    );
  });

  it('gives the spec to type and the replay that confirms it; that spec misses nothing', async () => {
    const text = await report([sleepy]);
    const spec = /^ {6}spec: {4}(.*)$/m.exec(text)?.[1];
    const confirm = /^ {6}confirm: (probe-replay \S+ --run (\d+) --maxactive (\S+))/m.exec(text);
    const j = await json([sleepy]);
    const k = j.probes[0]!.recommended_maxactive!;
    expect(spec).toBe(`r${k}:probes/wait_for_io wait_for_io id=$arg1:s32 round=$arg2:s32 ret=$retval`);
    expect(confirm![3]).toBe(`probes/wait_for_io=${k}`);
    const replay = await ok('probe-replay', [sleepy, '--run', confirm![2]!, '--maxactive', confirm![3]!]);
    expect(replay.stdout + replay.stderr).toMatch(/probes\/wait_for_io\s+\d+\s+0\s*$/m);
    const again = path.join(dir, 'again.db');
    await ok('probe-record', ['-w', 'sleepy', '-o', again, '-q', '-p', spec!]);
    expect((await json([again])).probes[0]!.missed).toBe(0);
  });

  it('shows the peaks over the seeds of a sweep and the worst seed with its replay command', async () => {
    const j = await json([sleepy]);
    const perRun = await Promise.all(j.runs.map((r) => json([sleepy, '--run', String(r.run_id)])));
    const peaks = perRun.map((x) => x.probes[0]!.peak_concurrency!);
    const missed = perRun.map((x) => x.probes[0]!.missed);
    const text = await report([sleepy]);
    const sorted = [...peaks].sort((x, y) => x - y);
    expect(text).toContain(
      `peaks over 3 runs: min ${sorted[0]}, p50 ${rank(sorted, 500)}, p90 ${rank(sorted, 900)}, max ${sorted[2]}`,
    );
    let w = 0;
    for (let i = 1; i < 3; i++)
      if (peaks[i]! > peaks[w]! || (peaks[i] === peaks[w] && missed[i]! > missed[w]!)) w = i;
    const m = /worst seed: (\d+) \(run (\d+),.*replay it: (probe-replay (\S+) --run (\d+))$/m.exec(text)!;
    expect(Number(m[1])).toBe(j.runs[w]!.seed);
    expect(Number(m[5])).toBe(j.runs[w]!.run_id);
    await ok('probe-replay', [m[4]!, '--run', m[5]!]); // verify mode: the replay matches the recording
  });

  it('--syscalls shows the syscall table of each run as the syscalls view has it', async () => {
    const text = await report([sleepy, '--syscalls']);
    for (const run of [1, 2, 3]) {
      const want = await query<{ nr: number; name: string; calls: number; errors: number; enosys: number }>(
        sleepy,
        `SELECT nr, max(name) AS name, sum(calls) AS calls, sum(errors) AS errors, sum(enosys) AS enosys
         FROM syscalls WHERE run_id = ${run} GROUP BY nr`,
      );
      expect(want.length).toBeGreaterThan(0);
      const at = text.indexOf(`System calls of run ${run}\n`);
      expect(at).toBeGreaterThanOrEqual(0);
      const lines = text.slice(at).split('\n\n')[0]!.split('\n').slice(2);
      const got = lines.map((l) => l.trim().split(/\s+/));
      expect(got.length).toBe(want.length);
      for (const w of want) {
        const row = got.find((g) => g[g.length - 1] === w.name)!;
        expect(row, w.name).toBeDefined();
        expect(row.slice(0, 2).map((x) => Number(x.replace(/,/g, '')))).toEqual([w.calls, w.errors]);
        expect(Number(row[row.length - 2])).toBe(w.nr);
      }
    }
  });

  it('labels runs by file, and --html prints one line', async () => {
    const text = await report([jp, sleepy]);
    expect(text).toMatch(new RegExp(`^  ${jp.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}#1 `, 'm'));
    expect(text).toMatch(new RegExp(`^  ${sleepy.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}#3 `, 'm'));
    const both = await json([jp, sleepy]);
    expect(both.runs.map((r) => `${r.source}#${r.run_id}`)).toEqual([
      `${jp}#1`,
      `${sleepy}#1`,
      `${sleepy}#2`,
      `${sleepy}#3`,
    ]);
    const html = path.join(dir, 'r.html');
    const r = await ok('probe-report', [sleepy, '--html', html]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`probe-report: wrote the HTML report to ${html}\n`);
    expect(fs.statSync(html).size).toBeGreaterThan(10_000);
  });
});
