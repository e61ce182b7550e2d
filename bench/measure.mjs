// One benchmark measurement in a fresh process; prints one JSON line. Used by bench/run.mjs.
import { readFileSync, rmSync } from 'node:fs';
import { Machine } from '../dist/src/emulator/machine.js';
import { ProbeEngine } from '../dist/src/probes/kprobes.js';

const [kind, ...args] = process.argv.slice(2);

function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const v = fn();
  const cu = process.cpuUsage(c0);
  return { v, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (cu.user + cu.system) / 1e6 };
}

function parseRunArgs(a) {
  const o = { cpus: 1, preempt: true, guestArgs: [] };
  let i = 0;
  for (; i < a.length; i++) {
    if (a[i] === '--cpus') o.cpus = Number(a[++i]);
    else if (a[i] === '--no-preempt') o.preempt = false;
    else if (a[i] === '--') {
      o.guestArgs = a.slice(i + 1);
      break;
    }
  }
  return o;
}

const out = (o) => console.log(JSON.stringify(o));

if (kind === 'run') {
  const [file, ...rest] = args;
  const o = parseRunArgs(rest);
  const m = Machine.load(readFileSync(file), {
    argv: [file, ...o.guestArgs],
    cpus: o.cpus,
    preempt: o.preempt,
    captureOutput: false,
  });
  const t = timed(() => m.run());
  const jit = m.initProcess.mm.cache.jit;
  out({
    instructions: t.v.instructions,
    mips: t.v.instructions / t.cpu / 1e6,
    cpu: t.cpu,
    wall: t.wall,
    switches: m.contextSwitches,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    jit: jit && {
      units: jit.compiled,
      blocks: jit.compiledBlocks,
      liveSize: jit.liveSize,
      evictions: jit.evictions,
      interpreted: jit.interpreted,
    },
  });
} else if (kind === 'probes') {
  const [calls, intloop] = args;
  const base = () => {
    const m = Machine.load(readFileSync(calls), { argv: ['calls'], captureOutput: false });
    return timed(() => m.run());
  };
  const b = base();
  // kretprobe on fib: entry trap + single step + trampoline per call; handler records into memory.
  const m = Machine.load(readFileSync(calls), { argv: ['calls'], captureOutput: false });
  const eng = new ProbeEngine(m);
  const log = [];
  eng.registerKretprobe({
    kp: { symbolName: 'fib' },
    maxactive: 64,
    handler: (ri, regs) => {
      log.push(regs.ax);
      return 0;
    },
  });
  const t = timed(() => m.run());
  const kretNs = ((t.cpu - b.cpu) * 1e9) / log.length;
  // kprobe on an instruction inside fib (not the entry): one trap + single step per hit.
  const m2 = Machine.load(readFileSync(calls), { argv: ['calls'], captureOutput: false });
  const e2 = new ProbeEngine(m2);
  const fib = m2.symbols.lookup('fib');
  let hits = 0;
  e2.registerKprobe({
    addr: fib.addr + 3,
    preHandler: () => {
      hits++;
      return 0;
    },
  });
  const t2 = timed(() => m2.run());
  const kprobeNs = ((t2.cpu - b.cpu) * 1e9) / Math.max(1, hits);
  // Unprobed code while a probe exists elsewhere (on bye, which runs once at the end).
  const mi = Machine.load(readFileSync(intloop), { argv: ['intloop'], captureOutput: false });
  const ti0 = timed(() => mi.run());
  const mp = Machine.load(readFileSync(intloop), { argv: ['intloop'], captureOutput: false });
  const ep = new ProbeEngine(mp);
  ep.registerKprobe({ symbolName: 'putu', preHandler: () => 0 });
  const ti1 = timed(() => mp.run());
  out({
    kretNs,
    kretCalls: log.length,
    kprobeNs,
    kprobeHits: hits,
    baseMips: ti0.v.instructions / ti0.cpu / 1e6,
    unprobedMips: ti1.v.instructions / ti1.cpu / 1e6,
  });
} else if (kind === 'record' || kind === 'record10m') {
  const RECORD_PROBE = 'r64:fib fib n=$arg1 ret=$retval';
  const { TraceWriter } = await import('../dist/src/trace/writer.js');
  const { recordRun } = await import('../dist/src/recorder/record.js');
  const file = kind === 'record' ? args[0] : new URL('./.build/calls32', import.meta.url).pathname;
  const db = kind === 'record' ? args[1] : args[0];
  rmSync(db, { force: true });
  const bytes = readFileSync(file);
  // Timed from opening the file to closing it (the WAL checkpointed, one self-contained file).
  let w;
  const t = timed(() => {
    w = TraceWriter.create(db, { force: true });
    const o = recordRun(w, {
      workload: 'calls',
      binary: bytes,
      session: {
        argv: ['calls'],
        cpus: 1,
        probes: [RECORD_PROBE],
        captureOutput: false,
      },
    });
    w.close();
    return o;
  });
  const counts = w.counts();
  out({
    events: t.v.events,
    calls: counts.calls,
    wall: t.wall,
    cpu: t.cpu,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  });
  rmSync(db, { force: true });
} else if (kind === 'replay') {
  const { TraceWriter } = await import('../dist/src/trace/writer.js');
  const { TraceReader } = await import('../dist/src/trace/reader.js');
  const { recordRun } = await import('../dist/src/recorder/record.js');
  const { replayRun } = await import('../dist/src/replay/replay.js');
  const manifest = JSON.parse(readFileSync(new URL('../workloads/workloads.json', import.meta.url), 'utf8'));
  const wl = manifest.workloads.find((w) => w.name === 'server');
  const bytes = readFileSync(new URL(`../workloads/${wl.binary}`, import.meta.url));
  const db = '/tmp/probelab-bench-replay.db';
  rmSync(db, { force: true });
  const w = TraceWriter.create(db, { force: true });
  // Several runs so timings are not dominated by start-up.
  const rec = timed(() => {
    for (let s = 1; s <= 5; s++)
      recordRun(w, {
        workload: 'server',
        binary: bytes,
        session: {
          argv: ['server', ...wl.default_args],
          cpus: 4,
          seed: s,
          probes: wl.probes,
          captureOutput: false,
        },
      });
  });
  w.close();
  const reader = TraceReader.open(db);
  const verify = timed(() => {
    for (let s = 1; s <= 5; s++) replayRun(reader, s, {});
  });
  const whatif = timed(() => {
    for (let s = 1; s <= 5; s++) replayRun(reader, s, { maxactive: { 'probes/handle_request': 4096 } });
  });
  reader.close();
  rmSync(db, { force: true });
  out({ record: rec.cpu, verify: verify.cpu, whatif: whatif.cpu });
} else if (kind === 'report') {
  const { CallTableBuilder } = await import('../dist/src/analysis/model.js');
  const { buildReport } = await import('../dist/src/analysis/summary.js');
  const { renderText } = await import('../dist/src/report/text.js');
  const { renderJson } = await import('../dist/src/report/json.js');
  const { renderHtml } = await import('../dist/src/report/html.js');
  // Synthetic server-like run: T tasks each making back-to-back calls of random length.
  const synth = (n) => {
    const b = new CallTableBuilder(n);
    const tasks = 64;
    const clock = new Float64Array(tasks);
    let seq = 0;
    let x = 12345;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
    const open = [];
    for (let i = 0; i < n; i++) {
      const t = i % tasks;
      const start = clock[t] + Math.floor(rnd() * 500);
      const dur = 100 + Math.floor(rnd() * rnd() * 100000);
      clock[t] = start + dur;
      open.push([t, start, dur]);
    }
    const evs = [];
    open.forEach(([, s, d], i) => {
      evs.push([s, 0, i]);
      evs.push([s + d, 1, i]);
    });
    evs.sort((a, b2) => a[0] - b2[0] || b2[1] - a[1]);
    const es = new Float64Array(n);
    const rs = new Float64Array(n);
    for (const [, k, i] of evs) (k === 0 ? es : rs)[i] = ++seq;
    open.forEach(([t, s, d], i) =>
      b.pushRaw(1, 1000 + t, s, s + d, es[i], rs[i], t % 4, t % 4, 0, 0, true, null),
    );
    return b.build();
  };
  const mk = (calls) => ({
    runs: [
      {
        run: {
          runId: 1,
          workload: 'synthetic',
          cpus: 4,
          preempt: true,
          seed: 1,
          chaos: false,
          status: 'complete',
          instructions: 0,
          cycles: 0,
          mhz: 1000,
        },
        probes: [
          {
            probeId: 1,
            event: 'probes/handle',
            kind: 'kretprobe',
            symbol: 'handle',
            maxactive: 4096,
            hits: calls.length,
            nmissed: 0,
            nmissedReentry: 0,
          },
        ],
        calls,
        misses: [],
      },
    ],
  });
  const oneM = synth(1_000_000);
  const t = timed(() => {
    const model = buildReport(mk(oneM));
    renderText(model);
    renderJson(model.json);
    renderHtml(model);
  });
  const big = synth(2_500_000); // 4 events per kretprobed call: 10 million events
  const html = renderHtml(buildReport(mk(big)));
  out({ calls: 1_000_000, seconds: t.cpu, bigEvents: 10_000_000, htmlBytes: Buffer.byteLength(html) });
}
