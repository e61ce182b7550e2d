// Tests of the report renderers: JSON (schema), text, Chrome trace, folded stacks, HTML.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { nesting } from '../src/analysis/latency.js';
import {
  asCallTable,
  callOrder,
  type AnalysisInput,
  type CallRec,
  type RunData,
} from '../src/analysis/model.js';
import { buildReport, type ReportJson } from '../src/analysis/summary.js';
import { renderChromeTrace, type ChromeEvent } from '../src/report/chrome.js';
import { foldedStacks, parseFolded, renderFolded } from '../src/report/folded.js';
import { CSP, escapeHtml, latencyHistogramSvg, renderHtml } from '../src/report/html.js';
import { orderedReportJson, renderJson } from '../src/report/json.js';
import { recommendationSentence, renderText } from '../src/report/text.js';
import { bigTable, serverInput, serverRun } from './support/report-synthetic.js';

const EVIL = '<img src=x onerror=alert(1)>';

const schema = JSON.parse(
  readFileSync(new URL('../schemas/report.schema.json', import.meta.url), 'utf8'),
) as object;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(schema);

function valid(doc: unknown): boolean {
  const ok = validate(doc);
  if (!ok) console.error(JSON.stringify(validate.errors, null, 2));
  return ok;
}

describe('JSON report', () => {
  it('validates against schemas/report.schema.json (one run, several runs, inexact, empty)', () => {
    const docs: ReportJson[] = [
      buildReport(serverInput({ evilSymbol: EVIL })).json,
      buildReport({ runs: [serverRun({ runId: 1 }), serverRun({ runId: 2, seed: 9, cpus: 8 })] }).json,
      buildReport({ runs: [serverRun({ complete: false })] }).json,
      buildReport({ runs: [] }).json,
    ];
    for (const d of docs) expect(valid(JSON.parse(renderJson(d)))).toBe(true);
  });

  it('the schema is strict: unknown keys, wrong kinds and missing fields are rejected', () => {
    const doc = JSON.parse(renderJson(buildReport(serverInput()).json)) as ReportJson &
      Record<string, unknown>;
    expect(valid({ ...doc, extra: 1 })).toBe(false);
    const p0 = doc.probes[0]!;
    expect(validate({ ...doc, probes: [{ ...p0, chart: [] }] })).toBe(false);
    expect(validate({ ...doc, probes: [{ ...p0, kind: 'uprobe' }] })).toBe(false);
    const { latency: _drop, ...noLatency } = p0;
    expect(validate({ ...doc, probes: [noLatency] })).toBe(false);
    expect(validate({ ...doc, runs: [{ ...doc.runs[0], chaos: true }] })).toBe(false);
    expect(validate({ ...doc, schema: 'probelab-report/2' })).toBe(false);
    // a kprobe cannot carry a recommendation
    const kp = doc.probes.find((p) => p.kind === 'kprobe')!;
    expect(validate({ ...doc, probes: [{ ...kp, recommended_maxactive: 3 }] })).toBe(false);
  });

  it('has a stable key order whatever order the model was built in', () => {
    const json = buildReport(serverInput()).json;
    const text = renderJson(json);
    // rebuild every object with reversed key order: same bytes out
    const reverse = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverse)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverse(x)]),
            )
          : v;
    expect(renderJson(reverse(json) as ReportJson)).toBe(text);
    const p = (JSON.parse(text) as ReportJson).probes[0]!;
    expect(Object.keys(p)).toEqual([
      'event',
      'kind',
      'symbol',
      'offset',
      'addr',
      'maxactive',
      'hits',
      'calls',
      'missed',
      'missed_reentry',
      'latency',
      'peak_concurrency',
      'max_depth',
      'recommended_maxactive',
      'defaults',
      'miss_curve',
      'args',
    ]);
    expect(Object.keys(p.latency)).toEqual([
      'unit',
      'count',
      'min',
      'mean',
      'p50',
      'p90',
      'p99',
      'p999',
      'max',
    ]);
    expect(Object.keys(orderedReportJson(json))).toEqual(['schema', 'runs', 'probes']);
    expect(text.endsWith('}\n')).toBe(true);
  });
});

describe('text report', () => {
  const model = buildReport(serverInput());
  const text = renderText(model);
  const i = model.json.probes.findIndex((p) => p.event === 'probes/handle_request');
  const p = model.json.probes[i]!;
  const x = model.extras.probes[i]!;

  it('ends each kretprobe with one recommendation sentence', () => {
    const w = x.peak!.why;
    const sentence =
      `handle_request: set maxactive to at least ${p.recommended_maxactive} (peak ${p.peak_concurrency} in flight ` +
      `at cycle ${x.peak!.ts}: ${w.tasks} tasks, up to ${w.maxPerTask} deep in one task, ${w.sleeping} of them sleeping); ` +
      `the Linux 2.6.13 default 10 missed ${p.missed} calls.`;
    expect(recommendationSentence(model, i)).toBe(sentence);
    expect(text).toContain(sentence);
    const kret = model.json.probes.filter((q) => q.kind === 'kretprobe').length;
    const recs = text
      .slice(text.indexOf('Recommendations'))
      .split('\n')
      .filter((l) => /: set maxactive to at least \d+/.test(l));
    expect(recs.length).toBe(kret);
  });

  it('makes misses impossible to overlook', () => {
    expect(text.startsWith('probelab report')).toBe(true);
    expect(text).toMatch(/^!!! MISSED: \d+ calls never reached/m);
    expect(text).toContain(`${p.missed}  <-- MISSED`);
    expect(text).toMatch(/p99\.9/);
    expect(text).toMatch(/ns|µs/);
  });

  it('says so when no complete call set exists, and escapes terminal controls in guest names (issue 16)', () => {
    const m = buildReport({ runs: [serverRun({ complete: false, evilSymbol: 'bad\u001b[2Jname' })] });
    const t = renderText(m);
    expect(t).toMatch(/handle_request: the recording missed \d+ calls and no complete call set is available/);
    expect(t).not.toContain('\u001b');
    expect(t).toContain('bad\\x1b[2Jname');
  });
});

describe('Chrome trace', () => {
  // the server run plus a second run with an overlapping (non-nesting) pair on one task
  const crossing: CallRec[] = [
    {
      probeId: 1,
      tid: 7,
      entryTs: 10,
      returnTs: 50,
      entrySeq: 1,
      returnSeq: 3,
      entryCpu: 0,
      returnCpu: 0,
      depth: 0,
      retval: 1,
      args: null,
      hooked: true,
    },
    {
      probeId: 1,
      tid: 7,
      entryTs: 20,
      returnTs: 80,
      entrySeq: 2,
      returnSeq: 4,
      entryCpu: 0,
      returnCpu: 1,
      depth: 1,
      retval: 2,
      args: null,
      hooked: true,
    },
    {
      probeId: 1,
      tid: 7,
      entryTs: 90,
      returnTs: Infinity,
      entrySeq: 5,
      returnSeq: Infinity,
      entryCpu: 1,
      returnCpu: 1,
      depth: 0,
      retval: null,
      args: null,
      hooked: true,
    },
  ];
  const odd: RunData = {
    run: {
      runId: 2,
      workload: 'odd',
      cpus: 2,
      preempt: false,
      seed: 3,
      chaos: false,
      status: 'incomplete',
      instructions: 100,
      cycles: 100,
      mhz: 333,
    },
    probes: [
      {
        probeId: 1,
        event: 'probes/f',
        kind: 'kretprobe',
        symbol: 'f',
        maxactive: 4,
        hits: 3,
        nmissed: 0,
        nmissedReentry: 1,
      },
    ],
    calls: crossing,
    misses: [{ probeId: 1, tid: 7, cpu: 1, ts: 60, reason: 'reentry' }],
  };
  const input: AnalysisInput = { runs: [serverRun({ evilSymbol: EVIL }), odd] };
  const text = renderChromeTrace(input);
  const trace = JSON.parse(text) as { traceEvents: ChromeEvent[] };
  const ev = trace.traceEvents;

  it('is one process per run with named thread tracks', () => {
    const procs = ev.filter((e) => e.ph === 'M' && e.name === 'process_name');
    expect(procs.map((e) => e.pid)).toEqual([1, 2]);
    expect(procs[0]!.args!.name).toBe('run 1: server');
    for (const pid of [1, 2]) {
      const tids = new Set(ev.filter((e) => e.pid === pid && e.ph !== 'M').map((e) => e.tid));
      const named = new Set(
        ev.filter((e) => e.pid === pid && e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid),
      );
      for (const t of tids) expect(named.has(t)).toBe(true);
    }
    expect(ev.find((e) => e.ph === 'M' && e.tid === 1 && e.pid === 1)!.args!.name).toBe('acceptor');
  });

  it('pairs every b with an e of the same id, cat and pid, after it', () => {
    const b = ev.filter((e) => e.ph === 'b');
    const e = ev.filter((e) => e.ph === 'e');
    expect(b.length).toBe(1);
    expect(e.length).toBe(b.length);
    for (const x of b) {
      const m = e.filter((y) => y.id === x.id && y.cat === x.cat && y.pid === x.pid);
      expect(m.length).toBe(1);
      expect(m[0]!.ts!).toBeGreaterThanOrEqual(x.ts!);
      expect(ev.indexOf(m[0]!)).toBeGreaterThan(ev.indexOf(x));
    }
  });

  it('has properly nested X events per task in Perfetto integer ns, and monotone ts per track', () => {
    const ns = (us: number): number => Math.trunc(us * 1000); // Perfetto's conversion
    const tracks = new Map<string, ChromeEvent[]>();
    for (const e of ev) {
      if (e.ph === 'M') continue;
      const key = e.ph === 'b' || e.ph === 'e' ? `${e.pid}/async/${e.cat}/${e.id}` : `${e.pid}/${e.tid}`;
      tracks.set(key, [...(tracks.get(key) ?? []), e]);
    }
    for (const [key, list] of tracks) {
      for (let i = 1; i < list.length; i++)
        expect(list[i]!.ts!, key).toBeGreaterThanOrEqual(list[i - 1]!.ts!);
      const stack: number[] = [];
      for (const e of list) {
        if (e.ph !== 'X') continue;
        const s = ns(e.ts!);
        const end = s + ns(e.dur!);
        while (stack.length > 0 && stack[stack.length - 1]! <= s) stack.pop();
        if (stack.length > 0) expect(end, key).toBeLessThanOrEqual(stack[stack.length - 1]!);
        stack.push(end);
      }
    }
  });

  it('converts cycles to µs exactly and marks misses and missed calls', () => {
    const rd = input.runs[0]!;
    const c = (rd.complete as CallRec[]).find((q) => q.probeId === 1)!;
    const x = ev.find(
      (e) => e.ph === 'X' && e.pid === 1 && e.tid === c.tid && e.args!.cycles === c.returnTs - c.entryTs,
    )!;
    expect(Math.trunc(x.ts! * 1000)).toBe(c.entryTs); // 1000 MHz: 1 cycle = 1 ns
    const instants = ev.filter((e) => e.ph === 'i');
    expect(instants.length).toBe(rd.misses.length + 1);
    expect(instants.every((e) => e.s === 't' && e.name.startsWith('MISSED '))).toBe(true);
    const missedCalls = ev.filter((e) => e.ph === 'X' && e.cat === 'kretprobe,missed');
    expect(missedCalls.length).toBe((rd.complete as CallRec[]).filter((q) => !q.hooked).length);
    const unfinished = ev.find((e) => e.pid === 2 && e.args?.unfinished === true)!;
    expect(unfinished.ph).toBe('X');
    expect(text).not.toContain('displayTimeUnit');
  });
});

describe('folded stacks', () => {
  it('parse back to the self times computed independently per stack', () => {
    const input = serverInput();
    const text = renderFolded(input);
    const parsed = parseFolded(text);
    expect(parsed).toEqual(foldedStacks(input));
    // independent reference: ancestors by interval containment, O(n^2)
    const rd = input.runs[0]!;
    const calls = rd.complete as CallRec[];
    const t = asCallTable(calls);
    const self = nesting(t, callOrder(t).entryOrder).self;
    const names = new Map((rd.tasks ?? []).map((x) => [x.tid, x.name]));
    const sym = new Map(rd.probes.map((p) => [p.probeId, p.symbol]));
    const expected = new Map<string, number>();
    calls.forEach((c, i) => {
      const anc = calls
        .filter((d) => d.tid === c.tid && d.entrySeq < c.entrySeq && d.returnSeq > c.returnSeq)
        .sort((a, b) => a.entrySeq - b.entrySeq);
      const stack = [
        `${names.get(c.tid)}-${c.tid}`,
        ...anc.map((a) => sym.get(a.probeId)),
        sym.get(c.probeId),
      ].join(';');
      expected.set(stack, (expected.get(stack) ?? 0) + self[i]!);
    });
    for (const [k, v] of [...expected]) if (v === 0) expected.delete(k);
    expect(parsed).toEqual(expected);
    // totals: self times add up to the inclusive time of the outermost calls
    const outer = calls.filter(
      (c) => !calls.some((d) => d.tid === c.tid && d.entrySeq < c.entrySeq && d.returnSeq > c.returnSeq),
    );
    const total = [...parsed.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(outer.reduce((a, c) => a + c.returnTs - c.entryTs, 0));
    expect(text.split('\n')[0]).toMatch(/^acceptor-1;handle_request(;[a-z_]+)* \d+$/);
  });

  it('sanitises frame names and prefixes runs when there are several', () => {
    const a = serverRun({ runId: 1, evilSymbol: 'weird;name\nx' });
    const b = serverRun({ runId: 2 });
    const m = parseFolded(renderFolded({ runs: [a, b] }));
    const keys = [...m.keys()];
    expect(keys.every((k) => /^run[12];/.test(k))).toBe(true);
    expect(keys.some((k) => k.includes('weird:name x'))).toBe(true);
    expect(() => parseFolded('no-count-here')).toThrow();
  });
});

describe('HTML report', () => {
  const model = buildReport(serverInput({ evilSymbol: EVIL, workload: 'srv<script>alert(2)</script>' }));
  const html = renderHtml(model);

  it('escapes every guest string', () => {
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('srv&lt;script&gt;');
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    // d3-node's text() escapes too (checked, not assumed)
    const x = { ...model.extras.probes[0]!, event: EVIL };
    const svg = latencyHistogramSvg(x, 1000);
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;img');
  });

  it('forbids the network: CSP meta, no URLs, no scripts', () => {
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`);
    expect(CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/xmlns/);
    expect(html.startsWith('<!doctype html>')).toBe(true);
  });

  it('has the summary table, the charts and the misses', () => {
    const kret = model.json.probes.filter((p) => p.kind === 'kretprobe').length;
    expect((html.match(/<svg/g) ?? []).length).toBe(3 * kret + 1);
    expect(html).toContain('<table class="summary">');
    expect(html).toContain('MISSED');
    const p = model.json.probes.find((q) => q.event === 'probes/handle_request')!;
    expect(html).toContain(`<td class="rec-k" data-field="recommended">${p.recommended_maxactive}</td>`);
  });

  it('stays small for ten million calls (charts aggregate before drawing)', () => {
    const n = 10_000_000;
    const table = bigTable(n, 2000);
    let end = 0;
    for (let i = 0; i < n; i++) end = Math.max(end, table.returnTs[i]!);
    // recorded reentry misses: every 97th call, spread over the run
    const misses = [];
    for (let i = 0; i < n; i += 97)
      misses.push({ probeId: 1, tid: (i % 2000) + 1, cpu: i % 8, ts: i * 10, reason: 'reentry' as const });
    const m = buildReport({
      runs: [
        {
          run: {
            runId: 1,
            workload: 'big',
            cpus: 8,
            preempt: true,
            seed: 1,
            chaos: false,
            status: 'complete',
            instructions: end,
            cycles: end,
            mhz: 1000,
          },
          probes: [
            {
              probeId: 1,
              event: 'probes/f',
              kind: 'kretprobe',
              symbol: 'f',
              maxactive: 4096,
              hits: n,
              nmissed: 0,
              nmissedReentry: misses.length,
            },
          ],
          calls: table,
          misses,
        },
      ],
    });
    const p = m.json.probes[0]!;
    expect(p.latency.count).toBe(n);
    expect(p.peak_concurrency).toBeGreaterThan(100);
    const out = renderHtml(m);
    expect(Buffer.byteLength(out)).toBeLessThan(2 * 1024 * 1024);
    expect(valid(JSON.parse(renderJson(m.json)))).toBe(true);
  }, 600_000);
});
