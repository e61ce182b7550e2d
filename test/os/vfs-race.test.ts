// #16 "path resolution that cannot be raced", end to end: while a native host process swaps each
// directory d<j> inside the allowed directory with a symlink to an outside directory
// (renameat2 RENAME_EXCHANGE, round robin, test/os/vfs-guests/swap.c), one recorded guest run
// opens d<j>/f<i> 1,600 times per round and reads each file, for as many rounds as it takes to see
// both outcomes (a CPU-starved swapper can leave every directory in one state for a whole round). The outside files hold a marker; the oracle is
// that no byte of them reaches the guest or the trace's inputs. That the race was live during the
// run is checked too: some opens were refused (a walk met a swapped-in symlink) and some succeeded.
// Before #16, HostFiles checked each component and then opened the whole path, which followed a
// directory swapped for a symlink in between (63,991 outside reads of 200,000 in the issue).
// Then the run is replayed in verify mode: the logged inputs alone reproduce it.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../../src/recorder/record.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { buildGuest, REPO_ROOT } from '../helpers/gcc.js';
import { cleanup, emptyDir } from './vfs-harness.js';

const DIR = path.join(REPO_ROOT, 'test', 'os', 'vfs-guests');
const PAIRS = 16;
const FILES = 100;
const MARK = 'OUT-SECRET';
/** The guest repeats its 1,600 opens until it has seen both outcomes, at most this often. */
const MAX_ROUNDS = 50;

let guest = '';
let swapper = '';
let child: ChildProcess | null = null;

beforeAll(() => {
  guest = buildGuest(
    fs.readFileSync(path.join(DIR, 'race.c'), 'utf8'),
    ['-m32', '-static', '-O1'],
    'vfs-race',
  );
  swapper = buildGuest(fs.readFileSync(path.join(DIR, 'swap.c'), 'utf8'), ['-m64', '-O2'], 'vfs-swap');
}, 120_000);

afterAll(() => {
  child?.kill('SIGKILL');
  cleanup();
});

/** Starts the swapper on `pairs` and resolves once it has swapped each pair once. */
function startSwapper(pairs: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn(swapper, pairs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready\n')) resolve(c);
    });
    c.stderr!.on('data', (b: Buffer) => reject(new Error(`swapper: ${b.toString()}`)));
    c.on('exit', (code) => reject(new Error(`swapper exited (${code}) before it was ready`)));
  });
}

describe('#16 race-free path resolution (a host process swapping directories and symlinks)', () => {
  it('no outside byte reaches the guest or the trace; the recording replays identically', async () => {
    const root = emptyDir('race');
    const allowed = path.join(root, 'allowed');
    const outside = path.join(root, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    const pairs: string[] = [];
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(outside, `f${i}`), `${MARK}\n`);
    for (let j = 0; j < PAIRS; j++) {
      fs.mkdirSync(path.join(allowed, `d${j}`), { recursive: true });
      for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(allowed, `d${j}`, `f${i}`), 'in\n');
      fs.symlinkSync(outside, path.join(allowed, `x${j}`));
      pairs.push(path.join(allowed, `d${j}`), path.join(allowed, `x${j}`));
    }
    const db = path.join(emptyDir('race-trace'), 'trace.db');
    const w = TraceWriter.create(db);
    let runId: number;
    const out: Uint8Array[] = [];
    child = await startSwapper(pairs);
    try {
      runId = recordRun(w, {
        workload: 'race',
        binary: new Uint8Array(fs.readFileSync(guest)),
        session: {
          argv: ['race', String(PAIRS), String(FILES), String(MAX_ROUNDS)],
          cwd: allowed,
          allowRead: [allowed],
          cpus: 1,
          probes: [],
          captureOutput: true,
          onStdout: (b) => out.push(b),
        },
      }).runId;
    } finally {
      child.kill('SIGKILL');
      w.close();
    }
    const m = /^rounds (\d+) in (\d+) out (\d+) other (\d+) refused (\d+)\n$/.exec(
      Buffer.concat(out).toString(),
    );
    expect(m, Buffer.concat(out).toString()).not.toBeNull();
    const [rounds, inside, leaked, other, refused] = [1, 2, 3, 4, 5].map((k) => Number(m![k])) as [
      number,
      number,
      number,
      number,
      number,
    ];
    expect(leaked, 'opens that returned an outside file').toBe(0);
    // An open file reads as what was opened (contents are taken at open, as the inode is on Linux).
    expect(other, 'reads that failed or returned other bytes').toBe(0);
    expect(inside + refused).toBe(rounds * PAIRS * FILES);
    // The race was live: walks met both a directory and a swapped-in symlink.
    expect(inside).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);

    const r = TraceReader.open(db);
    try {
      let stored = 0;
      for (const rec of r.streams(runId).inputs()) {
        expect(Buffer.from(rec.data).includes(MARK), `input ${rec.kind} ${rec.key}`).toBe(false);
        if (rec.kind === 'file' && rec.data.length > 0) stored++;
      }
      // Every inside file read is in the trace once (same identity → one snapshot → one record).
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThanOrEqual(inside);
      const o = replayRun(r, runId);
      expect(o.divergence?.message ?? null).toBeNull();
      expect(o.outputIdentical).toBe(true);
    } finally {
      r.close();
    }
  }, 60_000);
});
