// Replay (src/replay, probe-replay): re-execution from the trace database alone.
//
// 1. Every built-in workload, recorded with its default probes on 1 and 4 CPUs, with and without
//    chaos, replays with every event, the schedule, the inputs, the output and the final state
//    identical (library and CLI).
// 2. Tampering is caught and the first divergent event named: a logged input, an event row, the
//    stored binary. No host file is read: the guest's input file is deleted before replaying.
// 3. Retroactive probes: a run recorded without probes, replayed with the server's return probes,
//    gives exactly the calls and misses of a recording made with those probes from the start.
// 4. What-if pools: a replay with maxactive = k misses exactly the calls that an independent pool
//    simulation over the complete call set (an unbounded-pool replay) predicts.
// 5. A guest that reads its own return address (K20) behaves differently once a return probe is
//    added at replay time: the what-if replay says so and fails instead of producing data.
// 6. Incomplete runs and traces of another format are refused with one clear line.

import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRec } from '../src/analysis/model.js';
import { nullSink, recordRun } from '../src/recorder/record.js';
import type { RunSink } from '../src/trace/records.js';
import { loadRun } from '../src/analysis/load.js';
import { buildReport } from '../src/analysis/summary.js';
import { completeCallSet, completeCallSetProvider } from '../src/replay/complete.js';
import { ReplayError, ReplayFileSource, replayRun } from '../src/replay/replay.js';
import { TraceError } from '../src/trace/db.js';
import { TraceReader } from '../src/trace/reader.js';
import { TraceWriter } from '../src/trace/writer.js';
import { makeRunConfig } from '../src/trace/config.js';
import { FREESTANDING, buildGuest } from './helpers/gcc.js';
import { ensureBuilt } from './e2e/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'probe-replay.js');

interface Workload {
  name: string;
  binary: string;
  default_args: string[];
  probes: string[];
}
const WORKLOADS = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'workloads', 'workloads.json'), 'utf8')) as {
    workloads: Workload[];
  }
).workloads;
const wl = (name: string): Workload => WORKLOADS.find((w) => w.name === name)!;
const binOf = (w: Workload): Uint8Array =>
  new Uint8Array(fs.readFileSync(path.join(ROOT, 'workloads', w.binary)));

let dir: string;
let counter = 0;
const tmp = (name: string): string => path.join(dir, `${++counter}-${name}`);

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-replay-')));
  // The CLI tests run the built command, which `npm test` builds before the tests (never here).
  ensureBuilt();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface RecOpts {
  cpus?: number;
  chaos?: boolean;
  probes?: string[];
  argv?: string[];
  stdin?: Uint8Array;
  allowRead?: string[];
  cwd?: string;
}

/** Records one run of a built-in workload (or `binary`) into the writer; returns its run id. */
function record(w: TraceWriter, name: string, binary: Uint8Array, argv: string[], o: RecOpts = {}): number {
  return recordRun(w, {
    workload: name,
    binary,
    session: {
      argv,
      cpus: o.cpus ?? 4,
      chaos: o.chaos ?? false,
      seed: 1,
      probes: o.probes ?? [],
      stdin: o.stdin,
      allowRead: o.allowRead,
      cwd: o.cwd,
      captureOutput: false,
    },
  }).runId;
}

function recordWorkload(w: TraceWriter, name: string, o: RecOpts = {}): number {
  const x = wl(name);
  return record(w, name, binOf(x), [name, ...x.default_args], { probes: x.probes, ...o });
}

// ---------------------------------------------------------------------------------------------

describe('verify: every built-in workload replays identically', () => {
  let db: string;
  const runs: { id: number; name: string; cpus: number; chaos: boolean }[] = [];

  beforeAll(() => {
    db = tmp('all.db');
    const w = TraceWriter.create(db);
    for (const x of WORKLOADS)
      for (const cpus of [1, 4])
        for (const chaos of [false, true])
          runs.push({ id: recordWorkload(w, x.name, { cpus, chaos }), name: x.name, cpus, chaos });
    w.close();
  });

  it('matches every event, schedule, input, output and the final state (library)', () => {
    const r = TraceReader.open(db);
    try {
      for (const run of runs) {
        const o = replayRun(r, run.id);
        expect(o.divergence?.message ?? null, `${run.name} cpus=${run.cpus} chaos=${run.chaos}`).toBeNull();
        expect(o.matched).toBe(true);
        expect(o.outputIdentical).toBe(true);
        expect(o.events).toBe(r.eventCount(run.id));
        expect(o.instructions).toBe(r.run(run.id).instructions);
      }
    } finally {
      r.close();
    }
  });

  it('probe-replay verifies every run of a trace and exits 0', () => {
    const res = cli([db]);
    expect(res.stderr).not.toMatch(/diverged/);
    expect(res.status).toBe(0);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(runs.length);
    expect(lines[0]).toMatch(/^verified run 1: \d+ events, \d+ instructions, output identical$/);
    const server = runs.find((x) => x.name === 'server' && x.cpus === 4 && !x.chaos)!;
    const one = cli([db, '--run', String(server.id), '--verify']);
    expect(one.status).toBe(0);
    expect(one.stderr).toMatch(
      new RegExp(
        `^verified run ${server.id}: [1-9]\\d* events, [1-9]\\d* instructions, output identical\\n$`,
      ),
    );
    expect(cli([db, '--run', String(server.id), '-q']).stderr).toBe('');
  });

  it("the events view names each event's process: the server's worker threads are one process", () => {
    const r = TraceReader.open(db);
    try {
      const server = runs.find((x) => x.name === 'server' && x.cpus === 4 && !x.chaos)!;
      // One process (the first task's tid is its pid), several threads: pid is not the tid.
      const [[pids, tids, nulls, mainTid]] = r.query(
        `SELECT count(DISTINCT pid), count(DISTINCT tid), sum(pid IS NULL),
                (SELECT min(tid) FROM tasks WHERE run_id = ${server.id})
         FROM events WHERE run_id = ${server.id}`,
      ).rows as [[number, number, number, number]];
      expect(tids).toBeGreaterThan(1);
      expect([pids, nulls]).toEqual([1, 0]);
      expect(r.query(`SELECT DISTINCT pid FROM events WHERE run_id = ${server.id}`).rows).toEqual([
        [mainTid],
      ]);
    } finally {
      r.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** A freestanding guest that prints checksums of the file argv[1] and of stdin. */
const CSUM_C = String.raw`
typedef unsigned int u32;
static long sys3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
static char buf[8192];
static char line[64];
__attribute__((noinline)) u32 checksum(const char *p, int n) {
  u32 h = 0x2545f491u;
  for (int i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
  return h;
}
static int readall(int fd) {
  int total = 0;
  for (;;) {
    long n = sys3(3, fd, (long)(buf + total), 100);
    if (n <= 0) break;
    total += (int)n;
    if (total > (int)sizeof buf - 100) break;
  }
  return total;
}
static void report(const char *what, u32 h, int n) {
  int k = 0;
  while (what[k]) { line[k] = what[k]; k++; }
  line[k++] = ' ';
  for (int s = 28; s >= 0; s -= 4) line[k++] = "0123456789abcdef"[(h >> s) & 15];
  line[k++] = ' ';
  char d[12]; int m = 0;
  do { d[m++] = (char)('0' + n % 10); n /= 10; } while (n);
  while (m) line[k++] = d[--m];
  line[k++] = '\n';
  sys3(4, 1, (long)line, k);
}
__attribute__((noreturn, used)) void cmain(long *sp) {
  char **argv = (char **)(sp + 1);
  long fd = sys3(5, (long)argv[1], 0, 0);
  if (fd < 0) { sys3(4, 2, (long)"open failed\n", 12); for (;;) sys3(252, 2, 0, 0); }
  int n = readall((int)fd);
  sys3(6, fd, 0, 0);
  report("file", checksum(buf, n), n);
  n = readall(0);
  report("stdin", checksum(buf, n), n);
  for (;;) sys3(252, 0, 0, 0);
}
__asm__(".globl _start\n_start:\n  xor %ebp, %ebp\n  mov %esp, %eax\n  and $-16, %esp\n  sub $12, %esp\n  push %eax\n  call cmain\n  hlt\n");
`;
const CSUM_PROBE = 'r:checksum checksum n=$arg2:s32 ret=$retval';

describe('tampering is caught at the first divergent event', () => {
  let binary: Uint8Array;
  let db: string;
  let runId: number;
  let returnSeq: number;

  /** A fresh copy of the recording to tamper with, and a writable connection to it (tests only). */
  function copy(): { file: string; sql: Database.Database } {
    const file = tmp('tampered.db');
    fs.copyFileSync(db, file);
    return { file, sql: new Database(file) };
  }

  beforeAll(() => {
    binary = new Uint8Array(fs.readFileSync(buildGuest(CSUM_C, [...FREESTANDING, '-O2'], 'replay-csum')));
    const data = tmp('data');
    fs.mkdirSync(data);
    const input = path.join(data, 'input.txt');
    fs.writeFileSync(input, 'The quick brown fox jumps over the lazy dog.\n'.repeat(40));
    db = tmp('csum.db');
    const w = TraceWriter.create(db);
    runId = record(w, 'csum', binary, ['csum', 'input.txt'], {
      cpus: 2,
      probes: [CSUM_PROBE],
      stdin: new TextEncoder().encode('standard input bytes\n'.repeat(30)),
      allowRead: [data],
      cwd: data,
    });
    w.close();
    // Replay must not need the host file any more.
    fs.rmSync(data, { recursive: true, force: true });
    const r = TraceReader.open(db);
    try {
      const out = [...r.streams(runId).outputs()].map((o) => Buffer.from(o.data).toString('utf8')).join('');
      expect(out).toMatch(/^file [0-9a-f]{8} 1800\nstdin [0-9a-f]{8} 630\n$/);
      returnSeq = [...r.streams(runId).events()].find((e) => e.kind === 'return')!.seq;
      expect(r.probes(runId)[0]!.event).toBe('probes/checksum');
    } finally {
      r.close();
    }
  });

  it('replays from the logged file and stdin inputs alone', () => {
    const r = TraceReader.open(db);
    try {
      const o = replayRun(r, runId);
      expect(o.divergence).toBeNull();
      expect(o.notes).toEqual([]);
      expect([...r.streams(runId).inputs()].filter((i) => i.kind === 'stdin').length).toBeGreaterThan(1);
    } finally {
      r.close();
    }
  });

  it('a changed logged input: the first return of checksum diverges', () => {
    const { file, sql } = copy();
    // The first file input with contents (the directory walk to the cwd is logged before it).
    const row = sql
      .prepare(
        "SELECT seq, data FROM inputs WHERE run_id = ? AND kind = 'file' AND length(data) > 0 ORDER BY seq",
      )
      .get(runId) as {
      seq: number;
      data: Buffer;
    };
    const data = Buffer.from(row.data);
    data[7] = data[7]! ^ 0x20;
    // (format 4 stores each content once, in input_data)
    sql
      .prepare(
        'UPDATE input_data SET data = ? WHERE sha256 = (SELECT sha256 FROM raw_inputs WHERE run_id = ? AND seq = ?)',
      )
      .run(data, runId, row.seq);
    sql.close();
    const r = TraceReader.open(file);
    try {
      const o = replayRun(r, runId);
      expect(o.matched).toBe(false);
      const d = o.divergence!;
      expect(d.stream).toBe('event');
      expect(d.event).toBe(returnSeq);
      expect(d.eventsMatched).toBe(returnSeq - 1);
      expect(d.recorded).toMatch(/ return .*probes\/checksum.*"n":1800/);
      expect(d.replayed).toMatch(/ return .*probes\/checksum/);
      expect(d.recorded).not.toBe(d.replayed);
      expect(d.instructions).toBeGreaterThan(0);
      expect(d.message).toMatch(
        new RegExp(
          `^replay diverged from the recording at event ${returnSeq} \\(after ${returnSeq - 1} matching events, ${d.instructions} instructions`,
        ),
      );
    } finally {
      r.close();
    }
    const res = cli([file]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(`run ${runId}: replay diverged from the recording at event ${returnSeq} `),
    );
    expect(res.stderr).toMatch(/\n {2}recorded: #\d+ return .*\n {2}replayed: #\d+ return /);
  });

  it('a changed event row: that event is the first divergence', () => {
    const { file, sql } = copy();
    // The first call's entry hit is implied by its call row (format 5, #15): the row's entry time
    // is the entry event's.
    const entry = sql
      .prepare('SELECT entry_seq FROM raw_calls WHERE run_id = ? AND return_seq = ? AND step IS NOT NULL')
      .pluck()
      .get(runId, returnSeq) as number;
    expect(entry).toBeLessThan(returnSeq);
    sql.prepare('UPDATE raw_calls SET ts = ts + 7 WHERE run_id = ? AND return_seq = ?').run(runId, returnSeq);
    sql.close();
    const r = TraceReader.open(file);
    try {
      const o = replayRun(r, runId);
      expect(o.divergence?.stream).toBe('event');
      expect(o.divergence?.event).toBe(entry);
      expect(o.divergence?.recorded).toMatch(/ kprobe /);
      const ts = (s: string) => Number(/ ts=(\d+)/.exec(s)![1]);
      expect(ts(o.divergence!.recorded) - ts(o.divergence!.replayed)).toBe(7);
    } finally {
      r.close();
    }
  });

  it('a changed stored binary: the return of checksum diverges and the sha256 mismatch is noted', () => {
    const { file, sql } = copy();
    const sha = sql
      .prepare('SELECT binary_sha256 FROM raw_runs WHERE run_id = ?')
      .pluck()
      .get(runId) as string;
    const bytes = Buffer.from(
      sql.prepare('SELECT bytes FROM binaries WHERE sha256 = ?').pluck().get(sha) as Buffer,
    );
    const imm = Buffer.from([0x91, 0xf4, 0x45, 0x25]); // checksum's initial value
    let n = 0;
    for (let at = bytes.indexOf(imm); at >= 0; at = bytes.indexOf(imm, at + 1), n++) bytes[at] = 0x92;
    expect(n).toBeGreaterThan(0);
    sql.prepare('UPDATE binaries SET bytes = ? WHERE sha256 = ?').run(bytes, sha);
    sql.close();
    const r = TraceReader.open(file);
    try {
      const o = replayRun(r, runId);
      expect(o.binaryIntact).toBe(false);
      expect(o.notes.join('\n')).toMatch(/sha256/);
      expect(o.divergence?.stream).toBe('event');
      expect(o.divergence?.event).toBe(returnSeq);
    } finally {
      r.close();
    }
    const res = cli([file]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/note: the stored binary .* was modified/);
    expect(res.stderr).toMatch(new RegExp(`at event ${returnSeq} `));
  });

  it('ReplayFileSource serves each path its logged answers in order, then the last again (older eager records too)', () => {
    const fsrc = new ReplayFileSource();
    fsrc.add(
      JSON.stringify({ path: '/a', kind: 'file', mode: 0o100644, mtimeSec: 1, ino: 2 }),
      new Uint8Array([1]),
    );
    fsrc.add(JSON.stringify({ path: '/a', kind: 'error', errno: 13 }), new Uint8Array(0));
    fsrc.add(
      JSON.stringify({ path: '/d', kind: 'dir', mode: 0o40755, mtimeSec: 1, ino: 3, entries: ['x'] }),
      new Uint8Array(0),
    );
    fsrc.add(
      JSON.stringify({
        op: 'lookup',
        path: '/l',
        kind: 'link',
        target: 'a',
        mode: 0o120777,
        size: 1,
        mtimeSec: 0,
        mtimeNsec: 0,
        ino: 4,
        id: 'i4',
      }),
      new Uint8Array(0),
    );
    expect(fsrc.lookup('/a')).toMatchObject({ kind: 'file', mode: 0o100644, size: 1 });
    const a1 = fsrc.read('/a');
    expect(typeof a1 !== 'number' && [...a1.data]).toEqual([1]);
    expect(fsrc.lookup('/d')).toMatchObject({ kind: 'dir' });
    expect(fsrc.list('/d')).toEqual(['x']);
    expect(fsrc.lookup('/l')).toMatchObject({ kind: 'link', target: 'a' });
    expect(fsrc.lookup('/a')).toEqual({ kind: 'error', errno: 13 });
    expect(fsrc.unlogged).toBe(0);
    expect(fsrc.lookup('/a')).toEqual({ kind: 'error', errno: 13 });
    expect(fsrc.lookup('/never')).toEqual({ kind: 'error', errno: 2 });
    expect(fsrc.unlogged).toBe(2);
    expect(() => fsrc.add('{"op":"read","path":"/x"}', new Uint8Array(0))).toThrow(ReplayError);
  });
});

// ---------------------------------------------------------------------------------------------

type CallKey = { tid: number; ts: number; dur: number; depth: number; retval: number | null };
type MissKey = { probeId: number; tid: number; cpu: number; ts: number; reason: string };

/** Collects what a replay produces (calls per probe, misses, sched). */
function collector(): { sink: RunSink; calls: Map<number, CallKey[]>; missed: MissKey[] } {
  const calls = new Map<number, CallKey[]>();
  const missed: MissKey[] = [];
  const sink: RunSink = {
    ...nullSink(),
    call: ({ probeId, tid, ts, dur, depth, retval }) => {
      let l = calls.get(probeId);
      if (!l) calls.set(probeId, (l = []));
      l.push({ tid, ts, dur, depth, retval });
    },
    missed: ({ probeId, tid, cpu, ts, reason }) => missed.push({ probeId, tid, cpu, ts, reason }),
  };
  return { sink, calls, missed };
}

describe('retroactive probes see the recorded execution', () => {
  it('server recorded without probes, replayed with its return probes = recorded with them', () => {
    const server = wl('server');
    const db = tmp('retro.db');
    const w = TraceWriter.create(db);
    const bare = recordWorkload(w, 'server', { probes: [] });
    const probed = recordWorkload(w, 'server');
    w.close();
    const out = tmp('retro-out.db');
    const r = TraceReader.open(db);
    const ow = TraceWriter.create(out);
    let newRun: number;
    try {
      expect(r.probes(bare)).toEqual([]);
      const got = collector();
      const o = replayRun(r, bare, { probes: server.probes, writer: ow, observer: got.sink });
      expect(o.divergence).toBeNull();
      expect(o.mode).toBe('whatif');
      newRun = o.newRunId!;
      // The bare recording and the probed one ran the same instructions on the same schedule.
      expect(r.run(bare).instructions).toBe(r.run(probed).instructions);
      expect(r.run(bare).cycles).toBe(r.run(probed).cycles);
      expect([...r.streams(bare).sched()]).toEqual([...r.streams(probed).sched()]);
      for (const p of r.probes(probed)) {
        // In entry order (the collector's calls come in return order: sorted by entry below).
        const want = [...r.streams(probed).calls()]
          .filter((c) => c.probeId === p.probeId)
          .sort((a, b) => a.ts - b.ts || a.returnSeq - b.returnSeq)
          .map((c) => ({ tid: c.tid, ts: c.ts, dur: c.dur, depth: c.depth, retval: c.retval }));
        const mine = [...(got.calls.get(p.probeId) ?? [])].sort((a, b) => a.ts - b.ts);
        expect(mine, p.event).toEqual(want);
        expect(want.length).toBeGreaterThan(0);
      }
      const order = (a: MissKey, b: MissKey) => a.ts - b.ts || a.tid - b.tid;
      expect([...got.missed].sort(order)).toEqual([...r.streams(probed).missed()].sort(order));
      expect(got.missed.length).toBeGreaterThan(0);
    } finally {
      ow.close();
      r.close();
    }
    // The what-if run is a run of its own: replay_of set, probes and calls stored, and it verifies.
    const o2 = TraceReader.open(out);
    try {
      expect(o2.run(newRun).replayOf).toBe(bare);
      expect(o2.run(newRun).status).toBe('complete');
      expect(o2.probes(newRun).map((p) => p.spec)).toEqual(server.probes);
      expect(replayRun(o2, newRun).divergence).toBeNull();
    } finally {
      o2.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** An independent pool simulation over a complete call set: which calls a pool of k misses. */
function simulatePool(calls: CallRec[], k: number): Set<string> {
  const ev: { seq: number; ret: boolean; c: CallRec }[] = [];
  for (const c of calls) {
    ev.push({ seq: c.entrySeq, ret: false, c });
    if (Number.isFinite(c.returnSeq)) ev.push({ seq: c.returnSeq, ret: true, c });
  }
  ev.sort((a, b) => a.seq - b.seq || (a.ret === b.ret ? 0 : a.ret ? -1 : 1));
  let free = k;
  const holding = new Set<CallRec>();
  const missed = new Set<string>();
  for (const e of ev) {
    if (e.ret) {
      if (holding.delete(e.c)) free++;
    } else if (free > 0) {
      free--;
      holding.add(e.c);
    } else missed.add(`${e.c.tid}@${e.c.entryTs}`);
  }
  return missed;
}

describe('what-if pool sizes', () => {
  let db: string;
  let runId: number;
  beforeAll(() => {
    db = tmp('pools.db');
    const w = TraceWriter.create(db);
    runId = recordWorkload(w, 'server', { cpus: 4 });
    w.close();
  });

  it('the complete call set marks what the recording hooked and predicts its misses', () => {
    const r = TraceReader.open(db);
    try {
      for (const p of r.probes(runId)) {
        const set = completeCallSet(r, runId, [p.event.split('/')[1]!]);
        expect(set.every((c) => c.probeId === p.probeId)).toBe(true);
        const st = r.streams(runId);
        expect(set.filter((c) => c.hooked).length).toBe(
          [...st.calls()].filter((c) => c.probeId === p.probeId).length,
        );
        expect(set.filter((c) => !c.hooked).length).toBe(p.nmissed);
        const recordedMisses = new Set(
          [...st.missed()].filter((m) => m.probeId === p.probeId).map((m) => `${m.tid}@${m.ts}`),
        );
        expect(simulatePool(set, p.maxactive!)).toEqual(recordedMisses);
        expect(set.every((c) => c.returnSeq > c.entrySeq && c.returnTs >= c.entryTs)).toBe(true);
      }
    } finally {
      r.close();
    }
  });

  it('a replay with maxactive = k misses exactly the calls the simulation predicts', () => {
    const r = TraceReader.open(db);
    try {
      const probes = r.probes(runId);
      const complete = completeCallSet(
        r,
        runId,
        probes.map((p) => p.event),
      );
      expect(probes.some((p) => (p.nmissed ?? 0) > 0)).toBe(true);
      let sawMisses = 0;
      for (const k of [1, 2, 3, 5, 8, 12, 20]) {
        const maxactive = Object.fromEntries(probes.map((p) => [p.event, k]));
        const got = collector();
        const o = replayRun(r, runId, { maxactive, observer: got.sink });
        expect(o.divergence).toBeNull();
        for (const p of probes) {
          const predicted = simulatePool(
            complete.filter((c) => c.probeId === p.probeId),
            k,
          );
          const actual = new Set(
            got.missed.filter((m) => m.probeId === p.probeId).map((m) => `${m.tid}@${m.ts}`),
          );
          expect(actual, `${p.event} k=${k}`).toEqual(predicted);
          expect(o.profile.find((x) => x.probeId === p.probeId)!.misses).toBe(predicted.size);
          sawMisses += predicted.size;
        }
      }
      expect(sawMisses).toBeGreaterThan(0);
    } finally {
      r.close();
    }
  });

  it('probe-replay --maxactive writes a what-if run with replay_of and prints the profile', () => {
    const out = tmp('whatif.db');
    const res = cli([
      db,
      '--maxactive',
      'handle_request=2',
      '--maxactive',
      'probes/wait_io=unbounded',
      '-o',
      out,
    ]);
    expect(res.stderr).not.toMatch(/changed the guest/);
    expect(res.status).toBe(0);
    expect(res.stderr).toMatch(/^ {2}event +hits +missed\n {2}probes\/handle_request +48 +\d+\n/);
    expect(res.stderr).toMatch(/what-if replay of run 1 written to .* as run 1 \(replay_of 1\)/);
    const r = TraceReader.open(db);
    const o = TraceReader.open(out);
    try {
      const run = o.run(1);
      expect(run.replayOf).toBe(runId);
      expect(run.instructions).toBe(r.run(runId).instructions);
      const byEvent = new Map(o.probes(1).map((p) => [p.event, p]));
      const hr = byEvent.get('probes/handle_request')!;
      expect(hr.maxactive).toBe(2);
      const hrSet = completeCallSet(r, runId, ['handle_request']);
      expect([...o.streams(1).missed()].filter((m) => m.probeId === hr.probeId).length).toBe(
        simulatePool(hrSet, 2).size,
      );
      expect(byEvent.get('probes/wait_io')!.nmissed).toBe(0);
      // A second what-if goes into the same file only with --force.
      expect(cli([db, '-p', '-:wait_io', '-o', out]).status).toBe(1);
      const again = cli([db, '-p', '-:wait_io', '-p', 'r:disk disk', '-o', out, '--force', '-q']);
      expect(again.stderr).toBe('');
      expect(again.status).toBe(0);
    } finally {
      o.close();
      r.close();
    }
    const o3 = TraceReader.open(out);
    try {
      expect(o3.runs().map((x) => x.replayOf)).toEqual([runId, runId]);
      expect(o3.probes(2).map((p) => p.event)).toEqual([
        'probes/handle_request',
        'probes/parse_request',
        'probes/lookup',
        'probes/disk',
      ]);
    } finally {
      o3.close();
    }
  });

  it('probe-replay --complete fills complete_calls; the README in-flight query on it gives the report peak', () => {
    const file = tmp('complete.db');
    fs.copyFileSync(db, file);
    const res = cli([file, '--complete']);
    expect(res.stderr).toMatch(/^complete call set of run 1: \d+ calls stored in /);
    expect(res.status).toBe(0);
    // The query exactly as the README prints it.
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
    const from = readme.findIndex((l) => l.startsWith('-- peak of calls in flight'));
    const to = readme.findIndex((l, i) => i > from && l.trimEnd().endsWith(';'));
    expect(from).toBeGreaterThan(0);
    const sql = readme.slice(from, to + 1).join('\n');
    const r = TraceReader.open(file);
    try {
      const peaks = new Map(r.query(sql).rows.map((row) => [row[1] as number, row[2] as number]));
      // The oracle: analysis over the complete call set (which it reads back from the file).
      const model = buildReport({
        runs: [loadRun(r, runId, { complete: completeCallSetProvider(r, file) })],
      });
      let beyondPool = 0;
      for (const p of r.probes(runId)) {
        const rep = model.json.probes.find((x) => x.event === p.event)!;
        expect(peaks.get(p.probeId), p.event).toBe(rep.peak_concurrency);
        if (rep.peak_concurrency! > p.maxactive!) beyondPool++;
      }
      // The pool missed calls: the recorded calls alone would give a lower peak.
      expect(beyondPool).toBeGreaterThan(0);
      expect(r.query('SELECT count(*) FROM complete_calls WHERE hooked = 0').rows[0]![0]).toBe(
        r.probes(runId).reduce((n, p) => n + (p.nmissed ?? 0), 0),
      );
    } finally {
      r.close();
    }
  });

  it('bad what-if options are usage errors', () => {
    expect(cli([db, '--maxactive', 'handle_request=0']).status).toBe(2);
    const nosuch = cli([db, '--maxactive', 'nosuch=3']);
    expect(nosuch.status).toBe(2);
    expect(nosuch.stderr).toMatch(/^probe-replay: --maxactive nosuch: no such probe/);
    const bad = cli([db, '-p', 'r:x no_such_symbol']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/BAD_PROBE_ADDR/);
    expect(cli([db, '--verify', '-p', 'r:disk disk']).status).toBe(2);
    expect(cli([]).status).toBe(2);
    const r = TraceReader.open(db);
    try {
      expect(() => completeCallSet(r, runId, ['nosuch'])).toThrow(ReplayError);
    } finally {
      r.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('probes that change the guest are reported, not recorded', () => {
  it('a return probe on whoami added at replay time changes what the guest prints (K20)', () => {
    const jp = wl('jprobe');
    const db = tmp('k20.db');
    const w = TraceWriter.create(db);
    const plain = recordWorkload(w, 'jprobe', { probes: jp.probes.filter((p) => !p.includes('whoami')) });
    const withRet = recordWorkload(w, 'jprobe');
    w.close();
    const r = TraceReader.open(db);
    try {
      const text = (id: number) =>
        [...r.streams(id).outputs()].map((o) => Buffer.from(o.data).toString('utf8')).join('');
      expect(text(plain)).toMatch(/whoami: return address is a call site of whoami: ok/);
      expect(text(withRet)).toMatch(/is not a call site of whoami \(kretprobe trampoline/);
      // Recorded with the probe, the run replays faithfully, K20 output included.
      expect(replayRun(r, withRet).divergence).toBeNull();
      const o = replayRun(r, plain, { probes: ['r:whoami whoami'] });
      expect(o.matched).toBe(false);
      expect(o.divergence!.stream).toBe('output');
      expect(o.divergence!.message).toMatch(/^the probes changed the guest's behaviour: the guest output/);
      expect(o.divergence!.recorded).toMatch(/call site of whoami: ok/);
      expect(o.divergence!.replayed).toMatch(/is not a call site/);
    } finally {
      r.close();
    }
    const out = tmp('k20-out.db');
    const res = cli([db, '--run', String(plain), '-p', 'r:whoami whoami', '-o', out]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/probes changed the guest's behaviour/);
    expect(res.stderr).toMatch(/nothing was written to/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

describe('traces that cannot be replayed are refused', () => {
  it('an incomplete run', () => {
    const db = tmp('incomplete.db');
    const w = TraceWriter.create(db);
    const hello = wl('hello');
    const ok = recordWorkload(w, 'hello');
    const cut = w.beginRun({
      workload: 'hello',
      binary: binOf(hello),
      config: makeRunConfig({ argv: ['hello'], cwd: '/', cpus: 1, preempt: true, seed: 1, chaos: false }),
    });
    w.close();
    const r = TraceReader.open(db);
    try {
      expect(r.run(cut).status).toBe('incomplete');
      expect(() => replayRun(r, cut)).toThrow(/run 2 of .* is incomplete .* cannot be replayed/);
      expect(() => completeCallSet(r, cut, [])).toThrow(ReplayError);
      expect(replayRun(r, ok).matched).toBe(true);
    } finally {
      r.close();
    }
    const res = cli([db, '--run', String(cut)]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      /^probe-replay: run 2 of .* is incomplete \(its recording was interrupted before it finished\), so it cannot be replayed: record it again\n$/,
    );
    // Verifying every run reports the incomplete one and fails.
    expect(cli([db]).status).toBe(1);
  });

  it('a trace of another format version', () => {
    const db = tmp('future.db');
    const w = TraceWriter.create(db);
    recordWorkload(w, 'hello');
    w.close();
    const sql = new Database(db);
    sql.prepare("UPDATE meta SET value = 99 WHERE key = 'format_version'").run();
    sql.close();
    expect(() => TraceReader.open(db)).toThrow(TraceError);
    const res = cli([db]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      /^probe-replay: .* was written by a newer probelab \(format 99, this build reads \d+\): upgrade probelab\n$/,
    );
    const notTrace = tmp('not-a-trace.db');
    fs.writeFileSync(notTrace, 'hello');
    const r2 = cli([notTrace]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/is not a probelab trace file/);
  });
});
