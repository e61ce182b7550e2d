// #12 reports by process: a recording of a real forking guest (test/report-procs/forks.c, gcc -m32
// -static: a parent and three children, each child recursing to its own depth, the last one then
// exec'ing the file again) is reported per process, and every per-process figure is checked against
// an independent computation on the trace file through probe-query (SQL over the public views,
// grouped by the `tasks` view's pid):
// - identity (pid, ppid, exe, name, threads from `tasks`) and the exec the guest says it made;
// - calls, hits, max depth and latency (nearest rank here, over the `calls` view's durations);
// - the peak of calls in flight per process and each process's holding at the run's peak, from the
//   `events` view in seq order (the analysis reads the call rows instead);
// - with a pool too small (r2): the per-process misses against the `missed` view, and the latency,
//   peak and pool each process alone needs against the `complete_calls` view the report filled;
// - the overall figures stay the overall ones, and sum or bound the per-process ones;
// - a hostile executable name and process name (argv, via prctl) are escaped in the HTML page and
//   the text report; Chrome trace tracks name their process; a single-process run's report has no
//   process section at all.
// Everything runs in-process (badinput-inproc.ts) to keep the file cheap; the guest is built once.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportProcessJson } from '../src/analysis/processes.js';
import type { ReportJson, ReportModel } from '../src/analysis/summary.js';
import { escapeHtml } from '../src/report/html.js';
import { processLines, processesByRun, TEXT_PROCESSES } from '../src/report/text.js';
import { runInProcess } from './badinput-inproc.js';
import { buildGuest, REPO_ROOT, STATIC } from './helpers/gcc.js';

/** The executable's file name and the name the guest gives its processes: both hostile. */
const EVIL_EXE = '<img src=x onerror=alert(1)>';
const EVIL_NAME = '\x1b[2J<b id=x>';

let dir: string;
let exe: string;
let multi: string; // 4 processes, pool 16: nothing missed
let missing: string; // 4 processes, pool 2: misses, complete set from a replay
let single: string; // the same guest with no children
let execed: number[]; // the pids that exec'd in `multi`, as the guest printed them

/** Records the guest; returns the pids the guest says exec'd ("exec PID" lines of its output). */
async function record(out: string, probes: string[], children: number): Promise<number[]> {
  const args = [
    '--allow-read',
    dir,
    '-q',
    '-c',
    '2',
    '--stdin',
    '/dev/null',
    '-o',
    out,
    ...probes.flatMap((p) => ['-p', p]),
    exe,
  ];
  const r = await runInProcess('probe-record', [...args, '--', EVIL_NAME, String(children)]);
  expect(r.code, r.stderr).toBe(0);
  return [...r.stdout.matchAll(/^exec (\d+)$/gm)].map((m) => Number(m[1]));
}

async function sql<T>(trace: string, q: string): Promise<T[]> {
  const r = await runInProcess('probe-query', [trace, q, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T[];
}

async function report(trace: string, extra: string[] = []): Promise<string> {
  const r = await runInProcess('probe-report', [trace, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

// each trace's JSON report is computed once and shared by the tests
const jsonMemo = new Map<string, Promise<ReportJson>>();
const json = (trace: string): Promise<ReportJson> => {
  if (!jsonMemo.has(trace))
    jsonMemo.set(
      trace,
      report(trace, ['--json']).then((t) => JSON.parse(t) as ReportJson),
    );
  return jsonMemo.get(trace)!;
};

/** Nearest rank, as the report defines percentiles: the value at rank ceil(p/100 × n). */
const rank = (sorted: number[], p: number): number =>
  sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1]!;

/** Durations of a probe's calls per pid, from a calls-like view joined with tasks. */
async function durations(trace: string, view: string, event: string): Promise<Map<number, number[]>> {
  const rows = await sql<{ pid: number; dur: number }>(
    trace,
    `SELECT t.pid, c.dur FROM ${view} c JOIN tasks t ON t.run_id = c.run_id AND t.tid = c.tid
     JOIN probes p ON p.run_id = c.run_id AND p.probe_id = c.probe_id WHERE p.event = '${event}'`,
  );
  const m = new Map<number, number[]>();
  for (const r of rows) m.set(r.pid, [...(m.get(r.pid) ?? []), r.dur]);
  for (const v of m.values()) v.sort((a, b) => a - b);
  return m;
}

function proc(j: ReportJson, pid: number): ReportProcessJson {
  const p = j.processes?.find((x) => x.pid === pid);
  expect(p, `process ${pid}`).toBeDefined();
  return p!;
}

function probeIn(j: ReportJson, pid: number, event: string) {
  const q = proc(j, pid).probes.find((x) => x.event === event);
  expect(q, `${event} in process ${pid}`).toBeDefined();
  return q!;
}

function checkLatency(got: ReportProcessJson['probes'][number]['latency'], durs: number[]): void {
  expect(got.count).toBe(durs.length);
  expect(got.min).toBe(durs[0]);
  expect(got.max).toBe(durs[durs.length - 1]);
  expect(got.p50).toBe(rank(durs, 50));
  expect(got.p90).toBe(rank(durs, 90));
  expect(got.p99).toBe(rank(durs, 99));
  expect(got.mean).toBeCloseTo(durs.reduce((a, b) => a + b, 0) / durs.length, 6);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-procs-'));
  const src = fs.readFileSync(path.join(REPO_ROOT, 'test', 'report-procs', 'forks.c'), 'utf8');
  exe = path.join(dir, EVIL_EXE);
  fs.copyFileSync(buildGuest(src, [...STATIC, '-O1'], 'report-forks'), exe);
  multi = path.join(dir, 'multi.db');
  missing = path.join(dir, 'missing.db');
  single = path.join(dir, 'single.db');
  execed = await record(multi, ['r16:work work', 'p:tick tick'], 3);
  await record(missing, ['r2:work work'], 3);
  await record(single, ['r16:work work'], 0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('#12 reports by process', () => {
  it('--json processes: identity, calls, hits, depth and latency per process equal SQL over calls/events joined with tasks', async () => {
    const j = await json(multi);
    const schema = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'report.schema.json'), 'utf8'),
    ) as object;
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(j), JSON.stringify(validate.errors)).toBe(true);

    const tasks = await sql<{ pid: number; ppid: number; exe: string; name: string; threads: number }>(
      multi,
      `SELECT pid, ppid, exe, name, count(*) AS threads FROM tasks GROUP BY pid ORDER BY pid`,
    );
    expect(tasks.length).toBeGreaterThan(1);
    expect(j.processes!.map((p) => [p.pid, p.ppid, p.exe, p.name, p.threads])).toEqual(
      tasks.map((t) => [t.pid, t.ppid, t.exe, t.name, t.threads]),
    );
    // the process that exec'd keeps the file it started with, and says it exec'd
    expect(execed.length).toBe(1);
    const execSql = await sql<{ pid: number; n: number }>(
      multi,
      `SELECT t.pid, sum(s.calls - s.errors) AS n FROM syscalls s JOIN tasks t ON t.run_id = s.run_id AND t.tid = s.tid
       WHERE s.name IN ('execve', 'execveat') GROUP BY 1`,
    );
    expect(execSql).toEqual([{ pid: execed[0], n: 1 }]);
    for (const p of j.processes!) expect(p.execs, `pid ${p.pid}`).toBe(execed.includes(p.pid) ? 1 : 0);
    // the children carry the name the guest set from argv before forking
    expect(j.processes!.filter((p) => p.name === EVIL_NAME).length).toBe(tasks.length - 1);

    const calls = await sql<{ pid: number; event: string; calls: number; depth: number }>(
      multi,
      `SELECT t.pid, p.event, count(*) AS calls, max(c.depth) AS depth FROM calls c
       JOIN tasks t ON t.run_id = c.run_id AND t.tid = c.tid
       JOIN probes p ON p.run_id = c.run_id AND p.probe_id = c.probe_id GROUP BY 1, 2`,
    );
    const hits = await sql<{ pid: number; event: string; hits: number }>(
      multi,
      `SELECT t.pid, p.event, count(*) AS hits FROM events e
       JOIN tasks t ON t.run_id = e.run_id AND t.tid = e.tid
       JOIN probes p ON p.run_id = e.run_id AND p.probe_id = e.probe_id WHERE e.kind = 'kprobe' GROUP BY 1, 2`,
    );
    const durs = await durations(multi, 'calls', 'probes/work');
    expect(calls.length).toBe(tasks.length); // work is hit in every process
    for (const c of calls) {
      const q = probeIn(j, c.pid, c.event);
      expect(q.calls).toBe(c.calls);
      expect(q.max_depth).toBe(c.depth);
      expect([q.missed, q.missed_reentry]).toEqual([0, 0]);
      checkLatency(q.latency, durs.get(c.pid)!);
    }
    for (const h of hits) expect(probeIn(j, h.pid, h.event).hits, `${h.pid} ${h.event}`).toBe(h.hits);
    // the kprobe has no calls and no pool
    const tick = probeIn(j, tasks[1]!.pid, 'probes/tick');
    expect([tick.calls, tick.latency.count, tick.peak_concurrency, tick.recommended_maxactive]).toEqual([
      0,
      0,
      null,
      null,
    ]);
    // the overall figures are the sums over the processes
    for (const p of j.probes) {
      const per = j.processes!.flatMap((x) => x.probes.filter((q) => q.event === p.event));
      expect(per.reduce((a, q) => a + q.hits, 0)).toBe(p.hits);
      expect(per.reduce((a, q) => a + q.calls, 0)).toBe(p.calls);
    }
  });

  it('peak per process and each process’s holding at the run’s peak equal a seq-ordered walk of the events view', async () => {
    const j = await json(multi);
    const ev = await sql<{ pid: number; kind: string }>(
      multi,
      `SELECT t.pid, e.kind FROM events e JOIN tasks t ON t.run_id = e.run_id AND t.tid = e.tid
       JOIN probes p ON p.run_id = e.run_id AND p.probe_id = e.probe_id
       WHERE p.event = 'probes/work' AND e.kind IN ('kprobe', 'return') ORDER BY e.seq`,
    );
    const cur = new Map<number, number>();
    const peak = new Map<number, number>();
    let all = 0;
    let allPeak = 0;
    let atPeak = new Map<number, number>();
    for (const e of ev) {
      const d = e.kind === 'kprobe' ? 1 : -1;
      cur.set(e.pid, (cur.get(e.pid) ?? 0) + d);
      peak.set(e.pid, Math.max(peak.get(e.pid) ?? 0, cur.get(e.pid)!));
      all += d;
      if (all > allPeak) [allPeak, atPeak] = [all, new Map(cur)];
    }
    const overall = j.probes.find((p) => p.event === 'probes/work')!;
    expect(overall.peak_concurrency).toBe(allPeak);
    for (const [pid, k] of peak) {
      const q = probeIn(j, pid, 'probes/work');
      expect(q.peak_concurrency, `pid ${pid}`).toBe(k);
      expect(q.recommended_maxactive).toBe(Math.max(1, k));
      expect(q.held_at_peak, `pid ${pid}`).toBe(atPeak.get(pid) ?? 0);
    }
    // the shared pool needs at least what the largest process needs, at most what all of them need
    const peaks = [...peak.values()];
    expect(overall.recommended_maxactive).toBeGreaterThanOrEqual(Math.max(...peaks));
    expect(overall.recommended_maxactive).toBeLessThanOrEqual(peaks.reduce((a, b) => a + b, 0));
  });

  it('a pool too small: misses per process equal the missed view; latency and the pool each needs come from the complete set', async () => {
    const j = await json(missing);
    const overall = j.probes[0]!;
    expect(overall.missed).toBeGreaterThan(0);
    const missed = await sql<{ pid: number; n: number }>(
      missing,
      `SELECT t.pid, count(*) AS n FROM missed m JOIN tasks t ON t.run_id = m.run_id AND t.tid = m.tid
       WHERE m.reason = 'no_instance' GROUP BY 1`,
    );
    expect(missed.length).toBeGreaterThan(1); // several processes missed calls
    for (const m of missed) expect(probeIn(j, m.pid, 'probes/work').missed, `pid ${m.pid}`).toBe(m.n);
    const hooked = await sql<{ pid: number; n: number }>(
      missing,
      `SELECT t.pid, count(*) AS n FROM calls c JOIN tasks t ON t.run_id = c.run_id AND t.tid = c.tid GROUP BY 1`,
    );
    for (const h of hooked) expect(probeIn(j, h.pid, 'probes/work').calls).toBe(h.n);
    // probe-report stored the complete call set it analysed (a replay with an unbounded pool)
    const complete = await durations(missing, 'complete_calls', 'probes/work');
    const depth = await sql<{ pid: number; depth: number; threads: number }>(
      missing,
      `SELECT t.pid, max(c.depth) AS depth, (SELECT count(*) FROM tasks u WHERE u.pid = t.pid) AS threads
       FROM complete_calls c JOIN tasks t ON t.run_id = c.run_id AND t.tid = c.tid GROUP BY 1`,
    );
    for (const d of depth) {
      const q = probeIn(j, d.pid, 'probes/work');
      checkLatency(q.latency, complete.get(d.pid)!);
      // one thread per process: its calls of one function nest, so in flight = depth + 1
      expect(d.threads).toBe(1);
      expect(q.peak_concurrency).toBe(d.depth + 1);
      expect(q.recommended_maxactive).toBe(d.depth + 1);
    }
    expect(j.processes!.flatMap((p) => p.probes).reduce((a, q) => a + (q.held_at_peak ?? 0), 0)).toBe(
      overall.peak_concurrency,
    );
  });

  it('--html: a section per process with the hostile exe and name escaped; the text report escapes them too', async () => {
    const out = path.join(dir, 'r.html');
    await report(multi, ['--html', out]);
    const html = fs.readFileSync(out, 'utf8');
    const j = await json(multi);
    expect(html).toContain('<h2>Processes</h2>');
    expect(html).toContain(escapeHtml(exe));
    expect(html).toContain(escapeHtml(EVIL_NAME));
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b id=x>');
    for (const p of j.processes!) expect(html).toContain(`<td>${p.pid}</td><td>${p.ppid}</td>`);
    const text = await report(multi);
    expect(text).toContain(`Processes of run 1 (${j.processes!.length})`);
    expect(text).toContain(`${exe} (then 1 exec)`);
    // the peak's explanation counts the processes that held instances at that moment
    const holders = j.processes!.filter((p) => p.probes.some((q) => (q.held_at_peak ?? 0) > 0)).length;
    expect(holders).toBeGreaterThan(1);
    expect(text).toMatch(
      new RegExp(`peak concurrency: \\d+ in flight at cycle \\d+: \\d+ tasks in ${holders} processes`),
    );
    expect(text).not.toContain('\x1b');
    expect(text).toContain('\\x1b[2J<b id=x>');
  });

  it('--chrome: in a run of several processes every task track names its process (tasks view)', async () => {
    const out = path.join(dir, 'c.json');
    await report(multi, ['--chrome', out]);
    const ev = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      traceEvents?: { name: string; ph: string; tid: number; args?: { name?: string } }[];
    };
    const events = Array.isArray(ev) ? (ev as NonNullable<typeof ev.traceEvents>) : ev.traceEvents!;
    const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [e.tid, e.args?.name]));
    const tasks = await sql<{ tid: number; pid: number; name: string }>(
      multi,
      'SELECT tid, pid, name FROM tasks',
    );
    expect(names.size).toBe(tasks.length);
    for (const t of tasks) expect(names.get(t.tid)).toBe(`${t.name} (pid ${t.pid})`);
  });

  it('a single-process run is reported as before: no processes in JSON, text or HTML', async () => {
    const j = await json(single);
    expect(j.processes).toBeUndefined();
    expect(await report(single)).not.toContain('Processes of run');
    const out = path.join(dir, 's.html');
    await report(single, ['--html', out]);
    expect(fs.readFileSync(out, 'utf8')).not.toContain('<h2>Processes</h2>');
  });

  it('text and HTML show at most TEXT_PROCESSES processes per run: the most active, in pid order', () => {
    // synthetic: 61 processes whose activity is a permutation of 0..60 (hits + misses of one probe)
    const n = TEXT_PROCESSES + 11;
    const procs: ReportProcessJson[] = Array.from({ length: n }, (_, i) => ({
      run_id: 1,
      pid: 1000 + i,
      ppid: 1000,
      exe: '/x',
      execs: 0,
      name: 'x',
      threads: 1,
      probes: [
        {
          event: 'probes/w',
          kind: 'kprobe',
          hits: (i * 37) % n,
          calls: 0,
          missed: 0,
          missed_reentry: i % 2,
          latency: {
            unit: 'cycles',
            count: 0,
            min: null,
            mean: null,
            p50: null,
            p90: null,
            p99: null,
            p999: null,
            max: null,
          },
          peak_concurrency: null,
          max_depth: null,
          recommended_maxactive: null,
          held_at_peak: null,
        },
      ],
    }));
    const model = {
      json: { schema: 'probelab-report/1', runs: [], probes: [], processes: procs },
    } as unknown as ReportModel;
    const act = (p: ReportProcessJson): number => p.probes[0]!.hits + p.probes[0]!.missed_reentry;
    const want = [...procs]
      .sort((a, b) => act(b) - act(a) || a.pid - b.pid)
      .slice(0, TEXT_PROCESSES)
      .map((p) => p.pid)
      .sort((a, b) => a - b);
    const [r] = processesByRun(model);
    expect(r!.total).toBe(n);
    expect(r!.shown.map((p) => p.pid)).toEqual(want);
    const text = processLines(model).join('\n');
    expect(text).toContain(
      `Processes of run 1 (${n}; the ${TEXT_PROCESSES} with the most hits and misses shown`,
    );
    // a process's rows start with its pid
    for (const p of procs)
      expect(new RegExp(`^ +${p.pid} `, 'm').test(text), `pid ${p.pid}`).toBe(want.includes(p.pid));
  });
});
