// Seed sweeps through the real commands:
// - probe-record --runs N recorded by parallel worker processes and merged holds exactly what a
//   sequential sweep records (same runs, events, calls, schedule), and every merged run replays;
// - the Kubernetes Indexed Job in deploy/k8s: its YAML is parsed (python3-yaml, an independent parser)
//   and each pod's command line is run here as the Job would run it, with JOB_COMPLETION_INDEX set,
//   then the merge Job's command. The shards hold disjoint, contiguous run ids with the unsharded
//   sweep's seeds; the merged file equals the unsharded sweep recorded in one go; probe-report over
//   the shard files gives the same figures as over that one file;
// - probe-merge refuses overlapping shards and leaves no output.
// The Job runs RUNS and SHARDS smaller than the manifest's (parameters of the same commands), to keep
// the gate short; that the manifest's SHARDS matches its completions is checked on the file itself.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../../src/trace/reader.js';
import {
  CLI_DIR,
  cleanupTmp,
  cli,
  COMMANDS,
  ensureBuilt,
  expectCleanError,
  ok,
  query,
  REPO_ROOT,
  tmpDir,
  type ReportJson,
} from './helpers.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = tmpDir('sweep');
});
afterAll(cleanupTmp);

/** Everything the runs recorded, for whole-file comparisons (read in-process: one file, four queries). */
function dump(trace: string) {
  const r = TraceReader.open(trace);
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
  it('parallel sweep == sequential sweep, run for run, and every merged run replays', async () => {
    const args = ['-w', 'server', '--runs', '3', '--chaos', '-q'];
    const par = path.join(dir, 'par.db');
    const seq = path.join(dir, 'seq.db');
    await ok('probe-record', [...args, '-o', par]);
    // The sequential reference: this process records every run itself (as a worker does).
    execFileSync(process.execPath, [path.join(CLI_DIR, 'probe-record.js'), ...args, '-o', seq], {
      cwd: dir,
      stdio: 'pipe',
      env: { ...process.env, PROBELAB_SWEEP_WORKER: '1' },
    });
    const a = dump(par);
    expect(a.runs.length).toBe(3);
    expect(a).toEqual(dump(seq));
    const v = await ok('probe-replay', [par]);
    expect(v.stderr).toMatch(/verified run 3: /);
  });
});

interface Container {
  env: Array<{ name: string; value: string }>;
  command: string[];
  args: string[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface K8sObject {
  kind: string;
  metadata: { name: string };
  spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    template: {
      spec: {
        restartPolicy: string;
        containers: Container[];
        volumes: Array<{ name: string; persistentVolumeClaim: { claimName: string } }>;
      };
    };
  };
}

/** The documents of a YAML file, parsed by PyYAML (installed by .ci/run as python3-yaml). */
function readYaml(file: string): K8sObject[] {
  const out = execFileSync(
    'python3',
    ['-c', 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', file],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as K8sObject[];
}

/** A directory with one executable per command, standing in for `npm install -g` in the image. */
function binDir(): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const c of COMMANDS)
    fs.writeFileSync(
      path.join(bin, c),
      `#!/bin/sh\nexec "${process.execPath}" "${path.join(CLI_DIR, `${c}.js`)}" "$@"\n`,
      { mode: 0o755 },
    );
  return bin;
}

/** Runs a container's command as the kubelet would: its command + args, its env, plus `extra`. */
function runContainer(
  c: Container,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const vars = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    const [exe, ...rest] = [...c.command, ...c.args];
    const child = spawn(exe!, rest, {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('sweeps on a cluster: deploy/k8s run locally', () => {
  const RUNS = 4;
  const SHARDS = 3;

  it('the manifests are consistent: an Indexed Job whose SHARDS is its completions, one volume', () => {
    const sweep = readYaml(path.join(REPO_ROOT, 'deploy', 'k8s', 'sweep-job.yaml'));
    const merge = readYaml(path.join(REPO_ROOT, 'deploy', 'k8s', 'merge-job.yaml'));
    const pvc = sweep.find((d) => d.kind === 'PersistentVolumeClaim')!;
    const job = sweep.find((d) => d.kind === 'Job')!;
    const mjob = merge.find((d) => d.kind === 'Job')!;
    expect(job.spec.completionMode).toBe('Indexed');
    const env = (c: Container, n: string) => c.env.find((e) => e.name === n)?.value;
    const rec = job.spec.template.spec.containers[0]!;
    const mer = mjob.spec.template.spec.containers[0]!;
    expect(Number(env(rec, 'SHARDS'))).toBe(job.spec.completions);
    expect(env(mer, 'SHARDS')).toBe(env(rec, 'SHARDS'));
    for (const j of [job, mjob]) {
      expect(j.spec.template.spec.restartPolicy).toBe('Never');
      expect(j.spec.template.spec.volumes.map((v) => v.persistentVolumeClaim.claimName)).toEqual([
        pvc.metadata.name,
      ]);
      const c = j.spec.template.spec.containers[0]!;
      expect(c.volumeMounts.map((m) => m.mountPath)).toEqual([env(c, 'TRACE_DIR')]);
    }
  });

  it('each pod records its shard; the merge step joins them into the unsharded sweep and reports', async () => {
    const job = readYaml(path.join(REPO_ROOT, 'deploy', 'k8s', 'sweep-job.yaml')).find(
      (d) => d.kind === 'Job',
    )!;
    const mjob = readYaml(path.join(REPO_ROOT, 'deploy', 'k8s', 'merge-job.yaml')).find(
      (d) => d.kind === 'Job',
    )!;
    const rec = job.spec.template.spec.containers[0]!;
    const workload = rec.env.find((e) => e.name === 'WORKLOAD')!.value;
    const volume = path.join(dir, 'volume');
    fs.mkdirSync(volume);
    const env = {
      PATH: `${binDir()}:${process.env.PATH}`,
      TRACE_DIR: volume,
      RUNS: String(RUNS),
      SHARDS: String(SHARDS),
    };
    // The pods, two at a time (this machine's cores), each with its index.
    for (let i = 0; i < SHARDS; i += 2) {
      const pods = [i, i + 1].filter((k) => k < SHARDS);
      const res = await Promise.all(
        pods.map((k) => runContainer(rec, { ...env, JOB_COMPLETION_INDEX: String(k) })),
      );
      for (const r of res) expect(r.code, r.out).toBe(0);
    }
    const shards = Array.from({ length: SHARDS }, (_, k) =>
      path.join(volume, `shard-${k + 1}-of-${SHARDS}.db`),
    );
    // Disjoint, contiguous slices that together are runs 1..RUNS, each with the unsharded seed.
    const ids: number[] = [];
    for (const s of shards) {
      const runs = await query<{ run_id: number; seed: number }>(
        s,
        'SELECT run_id, seed FROM runs ORDER BY run_id',
      );
      expect(runs.length).toBeGreaterThan(0);
      for (const r of runs) expect(r.seed, 'seed of the unsharded sweep (first seed 1)').toBe(r.run_id);
      expect(runs.map((r) => r.run_id)).toEqual(runs.map((_, k) => runs[0]!.run_id + k));
      ids.push(...runs.map((r) => r.run_id));
    }
    expect(ids).toEqual(Array.from({ length: RUNS }, (_, k) => k + 1));

    const m = await runContainer(mjob.spec.template.spec.containers[0]!, env);
    expect(m.code, m.out).toBe(0);
    const merged = path.join(volume, 'sweep.db');
    const whole = path.join(dir, 'whole.db');
    await ok('probe-record', ['-w', workload, '--chaos', '--runs', String(RUNS), '-q', '-o', whole]);
    expect(dump(merged)).toEqual(dump(whole));
    for (const f of ['sweep.txt', 'sweep.json', 'sweep.html'])
      expect(fs.statSync(path.join(volume, f)).size, f).toBeGreaterThan(0);

    // probe-report over the shard files == over the whole sweep in one file.
    const report = async (files: string[]) => {
      const r = await ok('probe-report', [...files, '--json']);
      const j = JSON.parse(r.stdout) as ReportJson;
      return { runs: j.runs.map((x) => ({ run_id: x.run_id, status: x.status })), probes: j.probes };
    };
    const fromShards = await report(shards);
    expect(fromShards.runs.length).toBe(RUNS);
    expect(fromShards).toEqual(await report([whole]));

    // Overlapping shards: refused in one line, nothing written.
    const out = path.join(dir, 'overlap.db');
    const bad = await cli('probe-merge', [out, shards[0]!, merged]);
    expectCleanError(bad, 'probe-merge', 1, /run \d+ is in both .* \(overlapping shards\?\)/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
