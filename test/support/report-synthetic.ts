// Synthetic analysis inputs for the analysis/report tests: a small discrete-event simulation of a
// request server (tasks on CPUs, a handler that sleeps, a nested helper), its scheduler timeline,
// and what a recording with a bounded pool would have seen (hooked flags, misses, counters).
// Deterministic for a given seed. Also a fast generator of very large call tables.

import {
  CallTableBuilder,
  type AnalysisInput,
  type CallRec,
  type CallTable,
  type MissRec,
  type ProbeInfo,
  type RunData,
  type SchedRec,
} from '../../src/analysis/model.js';

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ServerOptions {
  runId?: number;
  seed?: number;
  cpus?: number;
  tasks?: number;
  requests?: number;
  /** pool size of the recording for handle_request */
  maxactive?: number;
  /** symbol of the extra kretprobe (for escaping tests) */
  evilSymbol?: string;
  workload?: string;
  /** pass the complete call set (true) or only the hooked calls (false) */
  complete?: boolean;
  mhz?: number;
}

interface Ev {
  ts: number;
  order: number;
  run: () => void;
}

/**
 * Simulates `tasks` tasks on `cpus` CPUs (non-preemptive FIFO scheduler). Each request:
 * compute → enter handle_request → compute → enter parse_request → compute → return parse →
 * sleep (off CPU) → compute → return handle_request. Task 1 also recurses once into
 * handle_request now and then. An extra kretprobe (`evilSymbol`) is called briefly by task 1.
 */
export function serverRun(o: ServerOptions = {}): RunData {
  const runId = o.runId ?? 1;
  const cpus = o.cpus ?? 4;
  const ntasks = o.tasks ?? 16;
  const requests = o.requests ?? 6;
  const maxactive = o.maxactive ?? 10;
  const rand = rng(o.seed ?? 1);
  const evil = o.evilSymbol ?? 'log_write';
  let seq = 0;
  const calls: CallRec[] = [];
  const sched: SchedRec[] = [];
  const queue: Ev[] = [];
  let order = 0;
  const at = (ts: number, run: () => void): void => {
    queue.push({ ts, order: order++, run });
  };
  const runnable: number[] = [];
  const cpuOf = new Map<number, number>(); // tid → cpu while running
  const running = new Array<number>(cpus).fill(0);
  const stacks = new Map<number, CallRec[]>();
  const steps = new Map<number, (() => number)[]>(); // per task: remaining steps; each returns cycles to run or -sleep
  let now = 0;

  const enter = (tid: number, probeId: number): void => {
    const c: CallRec = {
      probeId,
      tid,
      entryTs: now,
      returnTs: 0,
      entrySeq: seq++,
      returnSeq: 0,
      entryCpu: cpuOf.get(tid) ?? 0,
      returnCpu: 0,
      depth: (stacks.get(tid) ?? []).filter((x) => x.probeId === probeId).length,
      retval: 0,
      args: { fd: tid },
      hooked: true,
    };
    calls.push(c);
    stacks.set(tid, [...(stacks.get(tid) ?? []), c]);
  };
  const leave = (tid: number): void => {
    const st = stacks.get(tid) ?? [];
    const c = st.pop();
    if (!c) throw new Error('unbalanced');
    c.returnTs = now;
    c.returnSeq = seq++;
    c.returnCpu = cpuOf.get(tid) ?? 0;
    c.retval = Math.floor(rand() * 100);
  };
  const dispatch = (cpu: number): void => {
    const next = runnable.shift();
    const prev = running[cpu] as number;
    if (next === undefined) {
      if (prev !== 0) {
        running[cpu] = 0;
      }
      return;
    }
    running[cpu] = next;
    cpuOf.set(next, cpu);
    sched.push({ ts: now, cpu, prevTid: 0, nextTid: next, seq: seq++, reason: 'wake' });
    at(now, () => step(next));
  };
  const step = (tid: number): void => {
    const list = steps.get(tid) ?? [];
    const s = list.shift();
    const cpu = cpuOf.get(tid) as number;
    if (!s) {
      // exit
      running[cpu] = 0;
      cpuOf.delete(tid);
      sched.push({ ts: now, cpu, prevTid: tid, nextTid: 0, seq: seq++, reason: 'exit' });
      dispatch(cpu);
      return;
    }
    const d = s();
    if (d >= 0) at(now + d, () => step(tid));
    else {
      running[cpu] = 0;
      cpuOf.delete(tid);
      sched.push({ ts: now, cpu, prevTid: tid, nextTid: 0, seq: seq++, reason: 'sleep' });
      at(now - d, () => {
        runnable.push(tid);
        const idle = running.findIndex((t) => t === 0);
        if (idle >= 0) dispatch(idle);
      });
      dispatch(cpu);
    }
  };
  for (let t = 1; t <= ntasks; t++) {
    const list: (() => number)[] = [];
    const rint = (a: number, b: number): number => a + Math.floor(rand() * (b - a));
    for (let r = 0; r < requests; r++) {
      list.push(() => rint(50, 400));
      list.push(() => (enter(t, 1), rint(20, 80)));
      if (t === 1 && r % 2 === 0) list.push(() => (enter(t, 1), rint(10, 30)));
      list.push(() => (enter(t, 2), rint(30, 120)));
      list.push(() => (leave(t), -rint(800, 4000)));
      list.push(() => rint(20, 60));
      if (t === 1 && r % 2 === 0) list.push(() => (leave(t), rint(5, 10)));
      if (t === 1) list.push(() => (enter(t, 3), rint(5, 15)));
      if (t === 1) list.push(() => (leave(t), 3));
      list.push(() => (leave(t), rint(10, 40)));
    }
    steps.set(t, list);
    runnable.push(t);
  }
  for (let c = 0; c < cpus; c++) dispatch(c);
  while (queue.length > 0) {
    let bi = 0;
    for (let i = 1; i < queue.length; i++) {
      const q = queue[i] as Ev;
      const b = queue[bi] as Ev;
      if (q.ts < b.ts || (q.ts === b.ts && q.order < b.order)) bi = i;
    }
    const ev = queue.splice(bi, 1)[0] as Ev;
    now = ev.ts;
    ev.run();
  }
  // the recording: pool of `maxactive` for handle_request, big pools for the others
  const pools = new Map<number, number>([
    [1, maxactive],
    [2, 64],
    [3, 64],
  ]);
  const free = new Map(pools);
  const misses: MissRec[] = [];
  const evs: { seq: number; c: CallRec; entry: boolean }[] = [];
  for (const c of calls) {
    evs.push({ seq: c.entrySeq, c, entry: true });
    evs.push({ seq: c.returnSeq, c, entry: false });
  }
  evs.sort((a, b) => a.seq - b.seq);
  for (const e of evs) {
    const p = e.c.probeId;
    if (e.entry) {
      const f = free.get(p) as number;
      if (f > 0) {
        free.set(p, f - 1);
        e.c.hooked = true;
      } else {
        e.c.hooked = false;
        misses.push({ probeId: p, tid: e.c.tid, cpu: e.c.entryCpu, ts: e.c.entryTs, reason: 'no_instance' });
      }
    } else if (e.c.hooked) free.set(p, (free.get(p) as number) + 1);
  }
  // a few reentry misses on parse_request (calls the probe never saw)
  const reentry = calls.filter((c) => c.probeId === 2).slice(0, 2);
  for (const c of reentry)
    misses.push({ probeId: 2, tid: c.tid, cpu: c.entryCpu, ts: c.entryTs + 1, reason: 'reentry' });
  const count = (p: number, f: (c: CallRec) => boolean = () => true): number =>
    calls.filter((c) => c.probeId === p && f(c)).length;
  const probes: ProbeInfo[] = [
    {
      probeId: 1,
      event: 'probes/handle_request',
      kind: 'kretprobe',
      symbol: 'handle_request',
      maxactive,
      hits: count(1),
      nmissed: count(1, (c) => !c.hooked),
      nmissedReentry: 0,
    },
    {
      probeId: 2,
      event: 'probes/parse_request',
      kind: 'kretprobe',
      symbol: 'parse_request',
      maxactive: 64,
      hits: count(2) + 2,
      nmissed: 0,
      nmissedReentry: 2,
    },
    {
      probeId: 3,
      event: 'probes/evil',
      kind: 'kretprobe',
      symbol: evil,
      maxactive: 64,
      hits: count(3),
      nmissed: 0,
      nmissedReentry: 0,
    },
    {
      probeId: 4,
      event: 'probes/p_accept_0',
      kind: 'kprobe',
      symbol: 'accept',
      maxactive: 0,
      hits: ntasks * requests,
      nmissed: 0,
      nmissedReentry: 0,
    },
  ];
  const hookedOnly = calls.filter((c) => c.hooked);
  const end = Math.max(...calls.map((c) => c.returnTs), now);
  const rd: RunData = {
    run: {
      runId,
      workload: o.workload ?? 'server',
      cpus,
      preempt: true,
      seed: o.seed ?? 1,
      chaos: false,
      status: 'complete',
      instructions: end,
      cycles: end,
      mhz: o.mhz ?? 1000,
    },
    probes,
    calls: hookedOnly,
    misses,
    sched,
    tasks: Array.from({ length: ntasks }, (_, i) => ({ tid: i + 1, name: i === 0 ? 'acceptor' : `worker` })),
  };
  if (o.complete ?? true) rd.complete = calls;
  return rd;
}

/** One-run input from `serverRun`. */
export function serverInput(o: ServerOptions = {}): AnalysisInput {
  return { runs: [serverRun(o)] };
}

/**
 * A large call table generated straight into typed arrays: `n` calls of one probe over `tasks`
 * tasks, entries every 10 cycles, durations 5..(tasks*10 - 5) cycles (calls of one task never
 * overlap), unique seqs. Peak concurrency is bounded by `tasks`.
 */
export function bigTable(n: number, tasks: number, seed = 7, probeId = 1, cpus = 8): CallTable {
  const rand = rng(seed);
  const b = new CallTableBuilder(n);
  const maxDur = tasks * 10 - 10;
  for (let j = 0; j < n; j++) {
    const entryTs = j * 10;
    // duration ≡ 5 (mod 10): returns never coincide with entries; heavy tail
    const u = rand();
    const dur = 5 + 10 * Math.floor(((u * u * u * maxDur) / 10) % (maxDur / 10));
    const returnTs = entryTs + dur;
    b.pushRaw(
      probeId,
      (j % tasks) + 1,
      entryTs,
      returnTs,
      entryTs * 4096,
      returnTs * 4096 + (j % 4096),
      j % cpus,
      (j + 1) % cpus,
      0,
      0,
      true,
    );
  }
  return b.build();
}
