// Recording and replay benchmarks (issue #15): prints figures, asserts nothing. Every figure is the
// whole command a user runs (`probe-record`, `probe-replay`), timed from spawn to exit by
// /usr/bin/time (wall seconds and peak RSS), each run in its own process, best of three where the
// machine's noise matters. Run through `npm run bench -- record replay` (or either alone).
//   record: added wall time per kretprobed call on the hot-function workload (fib: one kretprobe,
//           and a kretprobe plus a kprobe on the same function) beside the unprobed recording of
//           the same program; events/s; peak RSS of a >= 10M-event recording; trace bytes per call
//           with every event stored (formats 1-3) and with each fact once (format 4).
//   replay: probe-replay --verify time / probe-record time on probe-dense runs (fib on 1 CPU, percpu
//           with a kretprobe on 2 CPUs) and on the server demo.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const groups = process.argv.slice(2).filter((g) => g === 'record' || g === 'replay');
const want = (g) => groups.length === 0 || groups.includes(g);
const cli = (name) => join(root, 'dist/src/cli', `${name}.js`);
const guest = (g) => join(here, '.build', g);
const tmp = (name) => `/tmp/probelab-bench-${process.pid}-${name}.db`;

/**
 * Wall seconds, CPU seconds (user + system, all threads) and peak RSS (MB) of one command, from
 * /usr/bin/time; throws if it fails. CPU time is printed beside wall time because the machine is
 * shared: when other jobs hold the cores, wall time measures them too.
 */
function timed(cmd, args, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M %U %S', cmd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  if (!m || (r.status !== 0 && r.status !== 1)) {
    process.stderr.write(r.stderr ?? '');
    throw new Error(`${cmd} ${args.join(' ')} failed`);
  }
  return {
    wall: Number(m[1]),
    cpu: Number(m[3]) + Number(m[4]),
    rssMB: Number(m[2]) / 1024,
    stdout: r.stdout,
    status: r.status,
  };
}

const node = process.execPath;
/** probe-record of `target` (an ELF path, or ['-w', NAME]) with probes; extra options/arguments. */
function record(out, target, probes, extra = []) {
  rmSync(out, { force: true });
  const args = [cli('probe-record'), ...[target].flat(), '-q', '--force', '-o', out];
  for (const p of probes) args.push('-p', p);
  args.push(...extra);
  const r = timed(node, args);
  // (the guests exit 0: anything else is probe-record failing, whose figures would mean nothing)
  if (r.status !== 0) throw new Error(`probe-record ${args.slice(1).join(' ')} exited ${r.status}`);
  return r;
}
function verify(trace) {
  return timed(node, [cli('probe-replay'), trace, '-q']);
}
function query(trace, sql) {
  return JSON.parse(
    execFileSync(node, [cli('probe-query'), trace, sql, '--format', 'json'], { encoding: 'utf8' }),
  );
}
const best = (n, f) => {
  const rs = Array.from({ length: n }, f).sort((a, b) => a.wall - b.wall);
  const cpu = rs.map((r) => r.cpu).sort((a, b) => a - b)[0];
  return { best: rs[0], median: rs[Math.floor(rs.length / 2)], cpu };
};
const f2 = (x) => x.toFixed(2);
const int = (x) => Math.round(x).toLocaleString('en');

const FIB_R = 'r64:fib fib';

/** Queries timed on the big recording: over the events view, then the README's examples. */
const QUERIES = [
  ['events by kind (every event)', 'SELECT kind, count(*) FROM events GROUP BY kind'],
  ['one event by seq', 'SELECT * FROM events WHERE run_id = 1 AND seq = 7000001'],
  ['first 20 events in seq order', 'SELECT * FROM events WHERE run_id = 1 ORDER BY seq LIMIT 20'],
  ['returns of one task', "SELECT count(*) FROM events WHERE kind = 'return' AND tid = 1000"],
  [
    'README: ten slowest calls',
    `SELECT c.tid, c.ts, c.dur, c.depth, c.args FROM calls c JOIN probes p USING (run_id, probe_id)
     WHERE p.symbol = 'fib' ORDER BY c.dur DESC LIMIT 10`,
  ],
  [
    'README: misses per probe',
    'SELECT p.event, m.reason, count(*) FROM missed m JOIN probes p USING (run_id, probe_id) GROUP BY 1, 2',
  ],
  [
    'README: peak in flight',
    `SELECT run_id, probe_id, max(in_flight) AS peak FROM
      (SELECT run_id, probe_id, sum(d) OVER (PARTITION BY run_id, probe_id ORDER BY seq) AS in_flight FROM
        (SELECT run_id, probe_id, entry_seq AS seq, 1 AS d FROM complete_calls
         UNION ALL SELECT run_id, probe_id, return_seq, -1 FROM complete_calls WHERE return_seq IS NOT NULL))
      GROUP BY run_id, probe_id`,
  ],
  ['README: what each CPU ran', 'SELECT cpu, ts, prev_tid, next_tid, reason FROM sched ORDER BY cpu, ts'],
];
const FIB_P = 'p:fibp fib';

if (want('record')) {
  console.log(
    '== recording: hot-function workload (fib(30) on 1 CPU), probe-record spawn to exit, best of 3',
  );
  const db = tmp('rec');
  const base = best(3, () => record(db, guest('calls'), [], ['--cpus', '1']));
  const kret = best(3, () => record(db, guest('calls'), [FIB_R], ['--cpus', '1']));
  const [{ calls, events }] = query(
    db,
    'SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM events) AS events',
  );
  const bytes = statSync(db).size;
  const both = best(3, () => record(db, guest('calls'), [FIB_R, FIB_P], ['--cpus', '1']));
  const [{ events: events2 }] = query(db, 'SELECT count(*) AS events FROM events');
  const per = (r) => ((r.wall - base.best.wall) / calls) * 1e6;
  const perCpu = (x) => ((x.cpu - base.cpu) / calls) * 1e6;
  console.log(
    `unprobed recording ${f2(base.best.wall)} s (median ${f2(base.median.wall)}, CPU ${f2(base.cpu)} s); ${int(calls)} kretprobed calls, ${int(events)} events`,
  );
  console.log(
    `kretprobe on fib: ${f2(kret.best.wall)} s (median ${f2(kret.median.wall)}, CPU ${f2(kret.cpu)} s) = ${per(kret.best).toFixed(2)} µs added wall per call (median ${per(kret.median).toFixed(2)}; CPU ${perCpu(kret).toFixed(2)} µs), ${int(events / kret.best.wall)} events/s`,
  );
  console.log(
    `kretprobe + kprobe on fib: ${f2(both.best.wall)} s (median ${f2(both.median.wall)}, CPU ${f2(both.cpu)} s) = ${per(both.best).toFixed(2)} µs added wall per call (CPU ${perCpu(both).toFixed(2)} µs), ${int(events2 / both.best.wall)} events/s (${int(events2)} events)`,
  );
  // Trace size per call: the same recording with every event stored (the layout of formats 1-3).
  const every = tmp('every');
  rmSync(every, { force: true });
  execFileSync(node, [join(here, 'record-layout.mjs'), guest('calls'), every, FIB_R]);
  const everyBytes = statSync(every).size;
  console.log(
    `trace bytes per call: ${int(everyBytes / calls)} with every event stored (formats 1-3), ${int(bytes / calls)} with each fact once (format 4): ${int(everyBytes)} -> ${int(bytes)} bytes`,
  );
  rmSync(every, { force: true });
  // >= 10M events: fib(32) with the kretprobe (3.5M calls, 14.1M events).
  const big = record(db, guest('calls32'), [FIB_R], ['--cpus', '1']);
  const [{ events: bigEvents }] = query(db, 'SELECT count(*) AS events FROM events');
  console.log(
    `big recording: ${int(bigEvents)} events in ${f2(big.wall)} s (CPU ${f2(big.cpu)} s; ${int(bigEvents / big.wall)} events/s), peak RSS ${int(big.rssMB)} MB`,
  );
  // The events view derives most events: what queries over it cost on this trace, and the README's
  // example queries (probe-query, whole command).
  for (const [what, sql] of QUERIES) {
    const t = timed(node, [cli('probe-query'), db, sql, '--format', 'csv']);
    console.log(`query ${what}: ${f2(t.wall)} s (CPU ${f2(t.cpu)} s)`);
  }
  rmSync(db, { force: true });
}

if (want('replay')) {
  console.log(
    '== verify vs recording (probe-replay TRACE vs probe-record, whole commands, interleaved, best of 3)',
  );
  const cases = [
    ['fib(30), r64:fib, 1 CPU', guest('calls'), [FIB_R], ['--cpus', '1']],
    ['fib(30), r64:fib + p:fibp fib, 1 CPU', guest('calls'), [FIB_R, FIB_P], ['--cpus', '1']],
    [
      'percpu, r:crunch, 2 CPUs',
      ['-w', 'percpu'],
      ['r:crunch crunch x=$arg1 ret=$retval'],
      ['--cpus', '2', '--', '8', '200', '100', '1'],
    ],
    ['server demo (default probes, 4 CPUs)', ['-w', 'server'], [], []],
  ];
  for (const [name, target, probes, extra] of cases) {
    const db = tmp('verify');
    // Each recording is verified at once (the two interleaved, so a change in the machine's load
    // weighs on both alike).
    const recs = [];
    const vers = [];
    for (let i = 0; i < 3; i++) {
      recs.push(record(db, target, probes, extra));
      vers.push(verify(db));
      if (vers[i].status !== 0) throw new Error(`verify of ${name} did not match`);
    }
    const rec = best(3, () => recs.pop());
    const ver = best(3, () => vers.pop());
    console.log(
      `${name}: record ${f2(rec.best.wall)} s, verify ${f2(ver.best.wall)} s = ${f2(ver.best.wall / rec.best.wall)}x wall (medians ${f2(rec.median.wall)} / ${f2(ver.median.wall)} = ${f2(ver.median.wall / rec.median.wall)}x; CPU ${f2(rec.cpu)} / ${f2(ver.cpu)} s = ${f2(ver.cpu / rec.cpu)}x)`,
    );
    rmSync(db, { force: true });
  }
}
