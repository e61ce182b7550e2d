// probe-record --runs N: a seed sweep recorded by parallel worker processes and merged must hold exactly
// what a sequential sweep records (same runs, events, calls, strings), and every run must replay.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../src/trace/reader.js';
import { REPO_ROOT } from './helpers/gcc.js';

const cli = (name: string) => join(REPO_ROOT, 'dist/src/cli', `${name}.js`);
const dir = mkdtempSync(join(tmpdir(), 'probelab-sweep-test-'));

function dump(path: string) {
  const r = TraceReader.open(path);
  try {
    const q = (sql: string) => r.query(sql).rows;
    return {
      runs: q('SELECT run_id, seed, status, exit_code, instructions, cycles FROM runs ORDER BY run_id'),
      events: q(
        'SELECT run_id, seq, ts, cpu, tid, kind, probe_id, addr, args FROM events ORDER BY run_id, seq',
      ),
      calls: q(
        'SELECT run_id, probe_id, tid, ts, dur, depth, retval, args FROM calls ORDER BY run_id, probe_id, ts, tid',
      ),
      sched: q('SELECT run_id, ts, cpu, prev_tid, next_tid, reason FROM sched ORDER BY run_id, ts, cpu'),
    };
  } finally {
    r.close();
  }
}

describe('probe-record --runs (parallel workers + merge)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  }, 300_000);

  it('parallel sweep == sequential sweep, run for run, and every merged run replays', () => {
    const args = ['-w', 'server', '--runs', '3', '--chaos', '-q'];
    const par = join(dir, 'par.db');
    const seq = join(dir, 'seq.db');
    execFileSync(process.execPath, [cli('probe-record'), ...args, '-o', par], { cwd: dir, stdio: 'pipe' });
    execFileSync(process.execPath, [cli('probe-record'), ...args, '-o', seq], {
      cwd: dir,
      stdio: 'pipe',
      env: { ...process.env, PROBELAB_SWEEP_WORKER: '1' },
    });
    const a = dump(par);
    const b = dump(seq);
    expect(a.runs.length).toBe(3);
    expect(a).toEqual(b);
    const v = execFileSync(process.execPath, [cli('probe-replay'), par], {
      cwd: dir,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    expect(v).toBe('');
  });
});
