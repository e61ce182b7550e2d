// End-to-end: every built-in workload recorded through `probe-record -w NAME -q` with its default probes
// (4 CPUs, preemption), then checked through `probe-query ... --format json` only:
// - the views are consistent with each other and with the event stream (hits = calls + misses, one
//   kprobe + singlestep per hit, one trampoline + return per hooked call, ts non-decreasing per CPU);
// - the peak number of hooked calls in flight agrees with the answer documented in workloads.json;
// - every fetched argument and return value is the one the C source computes (the tests recompute
//   them from the workloads' PRNG and mixing functions, independently of the emulator);
// - probe-record exits with the guest's exit status.
// Plus: recursive with `r2:` (misses predicted from the tree shape), jprobe with a real jprobe.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTmp,
  ensureBuilt,
  evalFormula,
  hex,
  mix32,
  num,
  ok,
  query,
  queryOne,
  reportJson,
  Rng,
  sorted,
  tmpDir,
  u32,
  WORKLOADS_DIR,
  workloads,
  type Workload,
} from './helpers.js';

const CPUS = 4;
/** The Linux 2.6.13 default pool with CONFIG_PREEMPT: max(10, 2 * NR_CPUS). */
const DEFAULT_MAXACTIVE = Math.max(10, 2 * CPUS);

interface RunRow {
  workload: string;
  argv: string;
  cpus: number;
  preempt: number;
  status: string;
  exit_code: number | null;
  signal: number | null;
  instructions: number;
  cycles: number;
}
interface ProbeRow {
  probe_id: number;
  event: string;
  kind: string;
  spec: string;
  symbol: string;
  offset: number;
  maxactive: number | null;
  hits: number;
  nmissed: number;
  nmissed_reentry: number;
}
interface CallRow {
  probe_id: number;
  tid: number;
  ts: number;
  dur: number;
  end_ts: number;
  entry_cpu: number;
  return_cpu: number;
  depth: number;
  retval: number;
  args: string;
  entry_seq: number;
  return_seq: number;
}
interface Call extends Omit<CallRow, 'args'> {
  args: Record<string, unknown>;
}

let dir: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('workloads');
});
afterAll(cleanupTmp);

async function record(name: string, extra: string[] = [], expectCode = 0) {
  const out = path.join(dir, `${name}-${Math.random().toString(36).slice(2, 8)}.db`);
  const r = await ok('probe-record', ['-w', name, '-o', out, '-q', ...extra], expectCode);
  return { trace: out, stdout: r.stdout, stderr: r.stderr };
}

async function calls(trace: string, probeId?: number): Promise<Call[]> {
  const rows = await query<CallRow>(
    trace,
    `SELECT probe_id, tid, ts, dur, end_ts, entry_cpu, return_cpu, depth, retval, args, entry_seq, return_seq
       FROM calls ${probeId ? `WHERE probe_id = ${probeId}` : ''} ORDER BY ts, entry_seq`,
  );
  return rows.map((r) => ({ ...r, args: JSON.parse(r.args) as Record<string, unknown> }));
}

/**
 * SQL for the peak of hooked calls in flight per probe: +1 at each entry, -1 at each return, in the
 * order the machine executed them (entry_seq / return_seq), or by virtual time when `by` = 'ts'.
 * Rows: probe_id, peak.
 */
function peaksSql(by: 'seq' | 'ts'): string {
  const [enter, leave] = by === 'seq' ? ['entry_seq', 'return_seq'] : ['ts', 'ts + dur'];
  return `SELECT probe_id, max(n) AS peak FROM (
       SELECT probe_id, sum(d) OVER (PARTITION BY probe_id ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n
         FROM (SELECT probe_id, ${enter} AS t, 1 AS d FROM calls
               UNION ALL SELECT probe_id, ${leave}, -1 FROM calls))
     GROUP BY probe_id`;
}

async function sqlPeaks(trace: string, by: 'seq' | 'ts' = 'seq'): Promise<Map<number, number>> {
  const rows = await query<{ probe_id: number; peak: number }>(trace, peaksSql(by));
  return new Map(rows.map((r) => [r.probe_id, r.peak]));
}

/** The symbol a kprobe_events line probes (`p[:EV] SYM[+offs] ...`, `rN[:EV] SYM ...`). */
function specSymbol(spec: string): string {
  return spec.split(/\s+/)[1]!.replace(/\+.*$/, '');
}

interface Summary {
  run: RunRow;
  probes: ProbeRow[];
  /** [probe_id, events.kind, count] */
  events: Array<[number | null, string, number]>;
  /** [probe_id, count] */
  calls: Array<[number, number]>;
  /** [probe_id, reason, count] */
  missed: Array<[number, string, number]>;
  /** per-CPU event-stream checks */
  order: { back: number; bad_kprobe: number; bad_tramp: number };
  seqs: { n: number; lo: number; hi: number; cpus: number };
  /** calls rows that are not proper intervals on a live task */
  bad_calls: number;
  /** [probe_id, peak in execution order] */
  peaks: Array<[number, number]>;
}

/** Everything checkRecording needs, in one probe-query (each command start costs ~0.3 s). */
const SUMMARY_SQL = `SELECT
  (SELECT json_object('workload', workload, 'argv', argv, 'cpus', cpus, 'preempt', preempt, 'status', status,
          'exit_code', exit_code, 'signal', signal, 'instructions', instructions, 'cycles', cycles) FROM runs) AS run,
  (SELECT json_group_array(json_object('probe_id', probe_id, 'event', event, 'kind', kind, 'spec', spec,
          'symbol', symbol, 'offset', offset, 'maxactive', maxactive, 'hits', hits, 'nmissed', nmissed,
          'nmissed_reentry', nmissed_reentry)) FROM (SELECT * FROM probes ORDER BY probe_id)) AS probes,
  (SELECT json_group_array(json_array(probe_id, kind, n))
     FROM (SELECT probe_id, kind, count(*) AS n FROM events GROUP BY 1, 2)) AS events,
  (SELECT json_group_array(json_array(probe_id, n)) FROM (SELECT probe_id, count(*) AS n FROM calls GROUP BY 1)) AS calls,
  (SELECT json_group_array(json_array(probe_id, reason, n))
     FROM (SELECT probe_id, reason, count(*) AS n FROM missed GROUP BY 1, 2)) AS missed,
  (SELECT json_object('back', coalesce(sum(ts < pts), 0),
          'bad_kprobe', coalesce(sum(kind = 'kprobe' AND NOT (nkind = 'singlestep' OR (nkind = 'missed' AND nnkind = 'singlestep'))), 0),
          'bad_tramp', coalesce(sum(kind = 'trampoline' AND coalesce(nkind, '') <> 'return'), 0))
     FROM (SELECT ts, kind, lag(ts) OVER w AS pts, lead(kind) OVER w AS nkind, lead(kind, 2) OVER w AS nnkind
             FROM events WINDOW w AS (PARTITION BY cpu ORDER BY seq))) AS "order",
  (SELECT json_object('n', count(*), 'lo', min(seq), 'hi', max(seq), 'cpus', max(cpu) + 1) FROM events) AS seqs,
  (SELECT count(*) FROM calls c
    WHERE dur < 0 OR end_ts <> ts + dur OR entry_seq >= return_seq OR depth < 0
       OR entry_cpu NOT BETWEEN 0 AND ${CPUS - 1} OR return_cpu NOT BETWEEN 0 AND ${CPUS - 1}
       OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.tid = c.tid AND t.start_ts <= c.ts AND c.ts + c.dur <= t.end_ts)
       OR json_extract(args, '$.ret') IS NULL) AS bad_calls,
  (SELECT json_group_array(json_array(probe_id, peak)) FROM (${peaksSql('seq')})) AS peaks`;

async function summary(trace: string): Promise<Summary> {
  const row = await queryOne<Record<string, string | number>>(trace, SUMMARY_SQL);
  const parsed = Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? (JSON.parse(v) as unknown) : v]),
  );
  return parsed as unknown as Summary;
}

/**
 * Checks that hold for every recording with default probes: the run row, the probes, the views against
 * each other and against the event stream, and the documented peaks. Returns the probes and the peaks.
 */
async function checkRecording(
  trace: string,
  w: Workload,
  args: string[],
): Promise<{ probes: ProbeRow[]; peaks: Map<number, number> }> {
  const s = await summary(trace);
  const run = s.run;
  expect(run).toMatchObject({ workload: w.name, cpus: CPUS, preempt: 1, status: 'complete', exit_code: 0 });
  expect(run.signal).toBeNull();
  expect(JSON.parse(run.argv)).toEqual([w.name, ...args]);
  expect(run.instructions).toBeGreaterThan(0);
  // One instruction = one cycle on each of the CPUs running in parallel.
  expect(run.cycles * CPUS).toBeGreaterThanOrEqual(run.instructions);

  const probes = s.probes;
  expect(probes.map((p) => p.spec)).toEqual(w.probes);
  for (const p of probes) {
    expect(p.symbol).toBe(specSymbol(p.spec));
    expect(w.probed_functions).toContain(p.symbol);
    expect(p.offset).toBe(0);
    expect(p.hits, p.event).toBeGreaterThan(0);
    if (p.spec.startsWith('r')) {
      expect(p.kind).toBe('kretprobe');
      expect(p.maxactive, 'the 2.6.13 default for 4 CPUs with preemption').toBe(DEFAULT_MAXACTIVE);
    } else {
      expect(p.kind).toBe('kprobe');
    }
  }

  // Per-probe counts: probes vs calls vs missed vs events.
  const ev = (id: number | null, kind: string) =>
    s.events.find((c) => c[0] === id && c[1] === kind)?.[2] ?? 0;
  let returns = 0;
  for (const p of probes) {
    const nCalls = s.calls.find((c) => c[0] === p.probe_id)?.[1] ?? 0;
    const miss = (reason: string) => s.missed.find((m) => m[0] === p.probe_id && m[1] === reason)?.[2] ?? 0;
    expect(ev(p.probe_id, 'kprobe'), `${p.event} kprobe events`).toBe(p.hits);
    expect(ev(p.probe_id, 'singlestep'), `${p.event} singlestep events`).toBe(p.hits);
    if (p.kind === 'kretprobe') {
      expect(nCalls + p.nmissed + p.nmissed_reentry, `${p.event}: hits = calls + misses`).toBe(p.hits);
      expect(miss('no_instance')).toBe(p.nmissed);
      expect(miss('reentry')).toBe(p.nmissed_reentry);
      expect(ev(p.probe_id, 'return')).toBe(nCalls);
      expect(ev(p.probe_id, 'missed')).toBe(p.nmissed);
      returns += nCalls;
    } else {
      expect(nCalls).toBe(0);
      expect(p.nmissed).toBe(0);
    }
  }
  expect(ev(null, 'trampoline'), 'one trampoline trap per return').toBe(returns);
  expect(
    s.events.filter((c) => !['kprobe', 'singlestep', 'trampoline', 'return', 'missed'].includes(c[1])),
  ).toEqual([]);

  // The event stream of each CPU: time never goes back; a breakpoint hit is followed by its single-step
  // trap (after the miss, if the pool was empty), a trampoline trap by its return handler.
  expect(s.order).toEqual({ back: 0, bad_kprobe: 0, bad_tramp: 0 });
  expect(s.seqs).toMatchObject({ lo: 1, hi: s.seqs.n });
  expect(s.seqs.cpus).toBeLessThanOrEqual(CPUS);
  // Every call: a proper interval on a known task, entry before return in the event stream.
  expect(s.bad_calls, 'malformed calls rows').toBe(0);

  // The documented peaks (workloads.json), evaluated with the default arguments on this machine.
  const vars: Record<string, number> = { NR_CPUS: CPUS };
  w.params.forEach((p, i) => (vars[p.name] = Number(args[i] ?? p.default)));
  const peaks = new Map(s.peaks);
  for (const a of w.answers) {
    const p = probes.find((x) => x.symbol === a.function);
    if (!p || p.kind !== 'kretprobe') continue;
    const documented = evalFormula(a.peak.formula, vars);
    expect(documented, `${a.function}: formula vs default_args`).toBe(a.peak.default_args);
    const kind = a.peak.default_args_kind ?? a.peak.kind;
    const peak = peaks.get(p.probe_id) ?? 0;
    if (p.nmissed + p.nmissed_reentry === 0) {
      if (kind === 'exact') expect(peak, `${a.function}: documented peak`).toBe(documented);
      else expect(peak, `${a.function}: documented bound`).toBeLessThanOrEqual(documented);
    } else {
      // It missed calls, so the pool ran dry: the hooked calls filled it, and the documented peak is
      // more than the pool.
      expect(peak, `${a.function}: a full pool`).toBe(p.maxactive);
      expect(documented).toBeGreaterThan(p.maxactive!);
    }
  }
  return { probes, peaks };
}

function workload(name: string): Workload {
  const w = workloads().find((x) => x.name === name);
  if (!w) throw new Error(`no workload ${name}`);
  return w;
}

/** Value checks of one workload, against what its C source computes. */
type ValueCheck = (trace: string, stdout: string, probes: ProbeRow[]) => Promise<void>;

const probeId = (probes: ProbeRow[], symbol: string): number => {
  const p = probes.find((x) => x.symbol === symbol);
  if (!p) throw new Error(`no probe on ${symbol}`);
  return p.probe_id;
};

/** u32 printed as %08x. */
const x8 = (v: number) => u32(v).toString(16).padStart(8, '0');

/** Each task's sequence of values is the sequence of exactly one worker (matched by its first value). */
function matchThreads(byTid: Map<number, number[]>, expected: number[][]): void {
  const used = new Set<number>();
  for (const [tid, seq] of byTid) {
    const idx = expected.findIndex((e, i) => !used.has(i) && e[0] === seq[0]);
    expect(idx, `task ${tid}: first value matches no worker`).toBeGreaterThanOrEqual(0);
    used.add(idx);
    expect(seq, `task ${tid} = worker ${idx}`).toEqual(expected[idx]);
  }
  expect(used.size).toBe(expected.length);
}

const valuesByTid = (cs: Call[], arg: string): Map<number, number[]> =>
  new Map([...groupByTid(cs)].map(([tid, l]) => [tid, l.map((c) => num(c.args[arg]))]));

function groupByTid(cs: Call[]): Map<number, Call[]> {
  const m = new Map<number, Call[]>();
  for (const c of cs) {
    const l = m.get(c.tid) ?? [];
    l.push(c);
    m.set(c.tid, l);
  }
  return m;
}

/** recursive.c: the tree (node i has children 2i+1, 2i+2) and walk()'s result for every node. */
function recursiveModel(levels: number, seed: number) {
  const rng = new Rng(seed);
  const n = 2 ** levels - 1;
  const value = Array.from({ length: n }, () => rng.next());
  const preorder: Array<{ depth: number; ret: number }> = [];
  const walk = (i: number, depth: number): number => {
    const slot = preorder.length;
    preorder.push({ depth, ret: 0 });
    const l = 2 * i + 1 < n ? walk(2 * i + 1, depth + 1) : 0;
    const r = 2 * i + 2 < n ? walk(2 * i + 2, depth + 1) : 0;
    const ret = u32(mix32(u32(value[i]! + depth)) ^ u32(Math.imul(l, 3) + r));
    preorder[slot]!.ret = ret;
    return ret;
  };
  const root = walk(0, 1);
  return { nodes: n, preorder, root };
}

/**
 * One walk of the tree with a pool of `maxactive` return-probe instances on one task: which calls get
 * an instance. A call finds the pool empty exactly when `maxactive` enclosing calls hold instances.
 */
function simulatePool(levels: number, maxactive: number) {
  const n = 2 ** levels - 1;
  let held = 0;
  let hooked = 0;
  let missed = 0;
  const hookedDepths: number[] = [];
  const walk = (i: number, depth: number) => {
    const got = held < maxactive;
    if (got) {
      held++;
      hooked++;
      hookedDepths.push(depth);
    } else missed++;
    if (2 * i + 1 < n) walk(2 * i + 1, depth + 1);
    if (2 * i + 2 < n) walk(2 * i + 2, depth + 1);
    if (got) held--;
  };
  walk(0, 1);
  return { hooked, missed, hookedDepths };
}

/** server.c: the requests main queues and everything computed for them. */
function serverModel(nrequests: number, seed: number) {
  const rng = new Rng(seed);
  const cache = Array.from({ length: 256 }, () => rng.next());
  return Array.from({ length: nrequests }, (_, id) => {
    const key = rng.below(100000);
    const text = `GET /item/${key} HTTP/1.0`;
    let sig = 2166136261;
    for (let r = 0; r < 48; r++)
      for (const ch of Buffer.from(text)) sig = u32(Math.imul(u32(sig ^ ch), 16777619));
    const value = u32(cache[mix32(key) % 256]! ^ key);
    const io = mix32(u32(Math.imul(key, 2654435761) + seed));
    const response = mix32(u32(key ^ sig ^ mix32(u32(value + io))));
    return { id, key, sig, value, io, response };
  });
}

const CHECKS: Record<string, ValueCheck> = {
  async hello(trace, stdout, probes) {
    expect(stdout).toBe('hello, world\n');
    const cs = await calls(trace, probeId(probes, 'greet'));
    expect(cs).toHaveLength(1);
    // greet returns printf's count: "hello, world\n" is 13 bytes.
    expect(num(cs[0]!.args.ret)).toBe(13);
    expect(cs[0]!.retval).toBe(13);
  },

  async spinlock(trace, stdout, probes) {
    const [T, N, SEED] = workload('spinlock').default_args.map(Number) as [number, number, number];
    const locked = (v: number) => {
      let h = v;
      for (let i = 0; i < 4; i++) h = mix32(u32(h + i));
      return h;
    };
    const expected = Array.from({ length: T }, (_, id) => {
      const r = new Rng(u32(Math.imul(SEED, 1000003) + id));
      return Array.from({ length: N }, () => {
        let v = 0;
        for (let i = 0; i < 16; i++) v = u32(Math.imul(v, 31) + r.next());
        return v;
      });
    });
    const cs = await calls(trace, probeId(probes, 'locked_update'));
    expect(cs).toHaveLength(T * N);
    for (const c of cs) {
      expect(num(c.args.ret), `locked_update(${String(c.args.value)})`).toBe(locked(num(c.args.value)));
      expect(c.retval).toBe(num(c.args.ret));
    }
    matchThreads(valuesByTid(cs, 'value'), expected);
    const all = expected.flat();
    const sum = all.reduce((a, v) => u32(a + v), 0);
    const xor = all.reduce((a, v) => u32(a ^ locked(v)), 0);
    expect(stdout).toContain(`locked_update calls=${T * N} sum=${x8(sum)} xor=${x8(xor)}`);
  },

  async percpu(trace, stdout, probes) {
    const [T, CALLS, ROUNDS, SEED] = workload('percpu').default_args.map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const crunch = (x: number) => {
      let a = x;
      let b = u32(x ^ 0x5bd1e995);
      for (let i = 0; i < ROUNDS; i++) {
        a = u32(Math.imul(u32(a ^ (a >>> 15)), 0x2c1b3c6d) + b);
        b = u32(((b << 7) | (b >>> 25)) ^ a);
      }
      return u32(a ^ b);
    };
    const expected = Array.from({ length: T }, (_, id) => {
      let x = mix32(u32(Math.imul(SEED, 7919) + id));
      return Array.from({ length: CALLS }, (_, i) => {
        const arg = u32(x + i);
        x = crunch(arg);
        return arg;
      });
    });
    const cs = await calls(trace, probeId(probes, 'crunch'));
    expect(cs).toHaveLength(T * CALLS);
    for (const c of cs) expect(num(c.args.ret), `crunch(${String(c.args.x)})`).toBe(crunch(num(c.args.x)));
    matchThreads(valuesByTid(cs, 'x'), expected);
    const rets = expected.flat().map(crunch);
    const sum = rets.reduce((a, v) => u32(a + v), 0);
    const xor = rets.reduce((a, v) => u32(a ^ v), 0);
    expect(stdout).toContain(`crunch calls=${T * CALLS} sum=${x8(sum)} xor=${x8(xor)}`);
  },

  async sleepy(trace, stdout, probes) {
    const [T, ROUNDS, , SEED] = workload('sleepy').default_args.map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const cs = await calls(trace, probeId(probes, 'wait_for_io'));
    expect(cs).toHaveLength(T * ROUNDS);
    const data = (id: number, round: number) => mix32(u32(SEED + round * 64 + id));
    const seen = new Set<string>();
    for (const c of cs) {
      const id = num(c.args.id);
      const round = num(c.args.round);
      seen.add(`${id}/${round}`);
      expect(num(c.args.ret), `wait_for_io(${id}, ${round})`).toBe(u32(data(id, round) ^ round));
    }
    expect(seen.size, 'every (id, round) exactly once').toBe(T * ROUNDS);
    // Each thread's calls come in round order on one task.
    for (const [, l] of groupByTid(cs)) {
      expect(new Set(l.map((c) => num(c.args.id))).size).toBe(1);
      expect(l.map((c) => num(c.args.round))).toEqual(Array.from({ length: ROUNDS }, (_, r) => r));
    }
    let total = 0;
    for (let id = 0; id < T; id++) {
      let c = 0;
      for (let r = 0; r < ROUNDS; r++) c = mix32(u32(c + u32(data(id, r) ^ r)));
      total = u32(total + c);
    }
    expect(stdout).toContain(`wait_for_io calls=${T * ROUNDS} checksum=${x8(total)}`);
  },

  async recursive(trace, stdout, probes) {
    const [D, P, REPEAT, SEED] = workload('recursive').default_args.map(Number) as [
      number,
      number,
      number,
      number,
    ];
    expect(P).toBe(1);
    const model = recursiveModel(D, SEED);
    const cs = await calls(trace, probeId(probes, 'walk'));
    expect(cs).toHaveLength(model.nodes * REPEAT);
    // One task, entries in pre-order: the calls are the model's walk, REPEAT times over.
    const expected = Array.from({ length: REPEAT }, () => model.preorder).flat();
    expect(cs.map((c) => [num(c.args.depth), num(c.args.ret)])).toEqual(
      expected.map((e) => [e.depth, e.ret]),
    );
    // calls.depth = instances of walk the task already held = nesting level - 1 (innermost last), and
    // it is exactly the number of enclosing calls by time.
    const open: Call[] = [];
    for (const c of cs) {
      while (open.length && open[open.length - 1]!.end_ts <= c.ts) open.pop();
      expect(c.depth, `call at ${c.ts}`).toBe(open.length);
      expect(c.depth).toBe(num(c.args.depth) - 1);
      if (open.length) expect(c.end_ts).toBeLessThanOrEqual(open[open.length - 1]!.end_ts);
      open.push(c);
    }
    expect(Math.max(...cs.map((c) => c.depth))).toBe(D - 1);
    let acc = 0;
    for (let i = 0; i < REPEAT; i++) acc = mix32(u32(acc ^ model.root));
    expect(stdout).toContain(
      `walk calls=${model.nodes * REPEAT} (${model.nodes} per walk) result=${x8(acc)} deepest_nesting=${D}`,
    );
  },

  async server(trace, stdout, probes) {
    const [, R, SEED] = workload('server').default_args.map(Number) as [number, number, number, number];
    const reqs = serverModel(R, SEED);
    const sum = reqs.reduce((a, r) => u32(a + r.response), 0);
    const xor = reqs.reduce((a, r, i) => u32(a ^ mix32(u32(r.response + i))), 0);
    expect(stdout).toContain(`handled=${R} lookups=${R} checksum=${x8(sum)} xor=${x8(xor)}`);

    const byKey = new Map(reqs.map((r) => [r.key, r]));
    const hr = await calls(trace, probeId(probes, 'handle_request'));
    const ids = hr.map((c) => num(c.args.id));
    expect(new Set(ids).size, 'each request handled once').toBe(hr.length);
    for (const c of hr)
      expect(num(c.args.ret), `response of request ${num(c.args.id)}`).toBe(reqs[num(c.args.id)]!.response);
    for (const c of await calls(trace, probeId(probes, 'parse_request'))) {
      expect(num(c.args.id)).toBeLessThan(R);
      expect(c.args.ret).toBe(0);
    }
    const lk = await calls(trace, probeId(probes, 'lookup'));
    expect(sorted(lk.map((c) => num(c.args.key)))).toEqual(sorted(reqs.map((r) => r.key)));
    for (const c of lk)
      expect(num(c.args.ret), `lookup(${num(c.args.key)})`).toBe(byKey.get(num(c.args.key))!.value);
    for (const c of await calls(trace, probeId(probes, 'wait_io')))
      expect(num(c.args.ret), `io of request ${num(c.args.id)}`).toBe(reqs[num(c.args.id)]!.io);
    // Only workers handle requests: at most W distinct tasks, none of them main.
    expect(new Set(hr.map((c) => c.tid)).size).toBeLessThanOrEqual(12);
  },

  async jprobe(trace, stdout, probes) {
    const lines = [
      ...stdout.matchAll(/jp_target\((-?\d+), (-?\d+), "(\w+)"\) = (-?\d+); jprobe handler saw: nothing/g),
    ];
    const [N] = workload('jprobe').default_args.map(Number) as [number];
    expect(lines).toHaveLength(N);
    const hits = await query<{ args: string }>(
      trace,
      `SELECT args FROM events WHERE kind = 'kprobe' AND probe_id = ${probeId(probes, 'jp_target')} ORDER BY seq`,
    );
    expect(hits.map((h) => JSON.parse(h.args) as unknown)).toEqual(
      lines.map((m) => ({ a: Number(m[1]), b: Number(m[2]), s: m[3] })),
    );
    for (const m of lines) expect(Number(m[4])).toBe(Number(m[1]) * Number(m[2]) + m[3]!.length);
    // K20: with a return probe on whoami its return address is the trampoline, and main says so.
    const ra = /whoami: return address (0x[0-9a-f]+) is not a call site of whoami/.exec(stdout);
    expect(ra, stdout).not.toBeNull();
    const who = await calls(trace, probeId(probes, 'whoami'));
    expect(who).toHaveLength(1);
    expect(hex(who[0]!.retval)).toBe(ra![1]);
    expect(hex(num(who[0]!.args.ret))).toBe(ra![1]);
    const tramp = await query<{ addr: number }>(
      trace,
      "SELECT DISTINCT addr FROM events WHERE kind = 'trampoline'",
    );
    expect(tramp.map((t) => hex(t.addr))).toEqual([ra![1]]);
  },
};

describe('every built-in workload, default probes, 4 CPUs with preemption', () => {
  it('the catalogue lists the expected workloads with sources and binaries', () => {
    const names = workloads().map((w) => w.name);
    expect([...names].sort()).toEqual(Object.keys(CHECKS).sort());
    for (const w of workloads()) {
      expect(fs.existsSync(path.join(WORKLOADS_DIR, w.binary)), w.binary).toBe(true);
      expect(fs.existsSync(path.join(WORKLOADS_DIR, w.source)), w.source).toBe(true);
    }
  });

  for (const w of workloads()) {
    it(`${w.name}: views, documented peaks, fetched values`, async () => {
      const { trace, stdout } = await record(w.name);
      const { probes, peaks } = await checkRecording(trace, w, w.default_args);
      const check = CHECKS[w.name];
      expect(check, `no value checks for workload ${w.name}`).toBeDefined();
      await check!(trace, stdout, probes);
      // probe-report agrees with the views where nothing was missed.
      if (probes.every((p) => p.nmissed + p.nmissed_reentry === 0)) {
        const rep = await reportJson(trace);
        for (const p of probes.filter((x) => x.kind === 'kretprobe')) {
          const rp = rep.probes.find((x) => x.event === p.event);
          expect(rp, p.event).toBeDefined();
          expect(rp!.peak_concurrency, p.event).toBe(peaks.get(p.probe_id));
          expect(rp!.recommended_maxactive, p.event).toBe(peaks.get(p.probe_id));
          expect(rp!.hits).toBe(p.hits);
        }
      }
    });
  }
});

describe('recursive with a pool of 2 (r2:)', () => {
  it('misses exactly the calls the tree shape predicts, hooks the two outer levels', async () => {
    const w = workload('recursive');
    const [D, , REPEAT, SEED] = w.default_args.map(Number) as [number, number, number, number];
    // Independent of the emulator: walk the tree of recursive.c with a pool of 2.
    const sim = simulatePool(D, 2);
    expect(sim.hooked + sim.missed).toBe(2 ** D - 1);
    const { trace } = await record('recursive', ['-p', 'r2:walk walk depth=$arg2:s32']);
    const p = await queryOne<ProbeRow>(trace, 'SELECT * FROM probes');
    expect(p).toMatchObject({
      event: 'probes/walk',
      kind: 'kretprobe',
      maxactive: 2,
      hits: (2 ** D - 1) * REPEAT,
      nmissed: sim.missed * REPEAT,
      nmissed_reentry: 0,
    });
    expect(p.nmissed).toBe(1200); // 20 walks x (63 - 3)
    const missed = await query<{ reason: string; n: number }>(
      trace,
      'SELECT reason, count(*) AS n FROM missed GROUP BY 1',
    );
    expect(missed).toEqual([{ reason: 'no_instance', n: sim.missed * REPEAT }]);
    const cs = await calls(trace);
    expect(cs).toHaveLength(sim.hooked * REPEAT);
    expect(cs.map((c) => num(c.args.depth))).toEqual(
      Array.from({ length: REPEAT }, () => sim.hookedDepths).flat(),
    );
    for (const c of cs) expect(c.depth).toBe(num(c.args.depth) - 1);
    // The hooked root calls return what walk() computes.
    const model = recursiveModel(D, SEED);
    for (const c of cs.filter((x) => x.depth === 0)) expect(c.retval).toBe(model.root);
    // The recording says 2 in flight; the report replays with an unbounded pool and finds D.
    expect((await sqlPeaks(trace)).get(1)).toBe(2);
    const rep = await reportJson(trace);
    expect(rep.probes[0]).toMatchObject({ peak_concurrency: D, recommended_maxactive: D, max_depth: D - 1 });
  });
});

describe('jprobe workload with a real jprobe', () => {
  it('the guest handler sees the arguments, the break and single-step traps are recorded', async () => {
    const { trace, stdout } = await record('jprobe', [
      '-c',
      '1',
      '-p',
      'j:jp jp_target jp_handler',
      '-p',
      'p:args jp_target a=$arg1:s32 b=$arg2:s32 s=+0($arg3):string',
    ]);
    const lines = [
      ...stdout.matchAll(
        /jp_target\((-?\d+), (-?\d+), "(\w+)"\) = -?\d+; jprobe handler saw: \((-?\d+), (-?\d+), "(\w+)"\)/g,
      ),
    ];
    expect(lines, stdout).toHaveLength(3);
    for (const m of lines) expect([m[4], m[5], m[6]]).toEqual([m[1], m[2], m[3]]);
    expect(stdout).toContain('handler_calls=3');
    expect(stdout).toContain('whoami: return address is a call site of whoami: ok');
    const probes = await query<ProbeRow>(trace, 'SELECT * FROM probes ORDER BY probe_id');
    expect(probes.map((p) => [p.event, p.kind, p.hits, p.nmissed])).toEqual([
      ['probes/jp', 'jprobe', 3, 0],
      ['probes/args', 'kprobe', 3, 0],
    ]);
    const args = await query<{ args: string }>(
      trace,
      "SELECT args FROM events WHERE probe_id = 2 AND kind = 'kprobe' ORDER BY seq",
    );
    expect(args.map((a) => JSON.parse(a.args) as unknown)).toEqual(
      lines.map((m) => ({ a: Number(m[1]), b: Number(m[2]), s: m[3] })),
    );
    const kinds = await query<{ kind: string; n: number }>(
      trace,
      'SELECT kind, count(*) AS n FROM events GROUP BY 1 ORDER BY 1',
    );
    expect(kinds).toEqual([
      { kind: 'break', n: 3 },
      { kind: 'kprobe', n: 6 },
      { kind: 'singlestep', n: 3 },
    ]);
  });
});

describe('exit status', () => {
  it("probe-record exits with the guest's exit status and stores it", async () => {
    // recursive rejects 99 levels: usage on stderr, exit(2).
    const { trace, stderr } = await record('recursive', ['--', '99'], 2);
    expect(stderr).toContain("recursive: bad argument 1 '99'");
    expect(await queryOne(trace, 'SELECT status, exit_code, signal FROM runs')).toEqual({
      status: 'complete',
      exit_code: 2,
      signal: null,
    });
  });
});

describe('ordering across CPUs', () => {
  // vCPUs run in parallel rounds of virtual time, so calls on different CPUs may overlap in `ts` even
  // when a lock serialises them; `seq` is the execution order, and the README's in-flight query counts
  // by it. Every call of locked_update runs with table_lock held (spinlock.c): 1 in flight.
  it('README in-flight query (by entry_seq/return_seq) finds 1 call of a spinlocked function in flight', async () => {
    const { trace } = await record('spinlock');
    expect((await sqlPeaks(trace, 'seq')).get(1), 'in execution order').toBe(1);
    const rows = await query<{ in_flight: number }>(
      trace,
      `SELECT max(in_flight) AS in_flight FROM (SELECT seq, sum(d) OVER (ORDER BY seq) AS in_flight FROM
         (SELECT entry_seq AS seq, 1 AS d FROM calls WHERE probe_id = 1
          UNION ALL SELECT return_seq, -1 FROM calls WHERE probe_id = 1))`,
    );
    expect(rows[0]!.in_flight).toBe(1);
    // On one CPU, time and execution order agree.
    const backwards = await query(
      trace,
      `SELECT a.seq FROM events a JOIN events b ON b.cpu = a.cpu AND b.seq > a.seq AND b.ts < a.ts LIMIT 1`,
    );
    expect(backwards).toEqual([]);
  });
});
