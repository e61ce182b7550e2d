// Golden traces: small single-CPU recordings whose complete event streams are committed under
// test/e2e/golden/*.jsonl, one event per line (seq, ts, cpu, tid, kind, probe_id, addr as hex, args as
// JSON). Any change to what probe-record writes for them (order, timestamps, addresses, fetched values)
// shows up as a diff. After an intended change, regenerate with `node scripts/update-golden.mjs`
// (or UPDATE_GOLDEN=1 npx vitest run test/e2e/golden.test.ts) and review the diff by hand.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, ensureBuilt, GOLDEN_DIR, hex, ok, query, tmpDir } from './helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface GoldenCase {
  name: string;
  /** probe-record arguments besides -o and -q */
  args: string[];
}

const CASES: GoldenCase[] = [
  // One kretprobe: kprobe + singlestep at entry, trampoline + return at exit.
  { name: 'hello', args: ['-w', 'hello', '-c', '1'] },
  // A jprobe and a kretprobe on the same function (an aggregate probe), a kprobe on the jprobe handler
  // (hit while the jprobe is active: a reentry), and the K20 return-address probe on whoami.
  {
    name: 'jprobe',
    args: [
      '-w',
      'jprobe',
      '-c',
      '1',
      '-p',
      'j:jp jp_target jp_handler',
      '-p',
      'r:jpr jp_target a=$arg1:s32 ret=$retval:s32',
      '-p',
      'p:h jp_handler a=$arg1:s32 b=$arg2:s32 s=+0($arg3):string',
      '-p',
      'r:whoami whoami ret=$retval',
      '--',
      '2',
      '1',
    ],
  },
];

interface EventRow {
  seq: number;
  ts: number;
  cpu: number;
  tid: number;
  kind: string;
  probe_id: number | null;
  addr: number | null;
  args: string | null;
}

/** The events of a recording, normalised to one JSON object per line. */
async function eventLines(trace: string): Promise<string[]> {
  const rows = await query<EventRow>(
    trace,
    'SELECT seq, ts, cpu, tid, kind, probe_id, addr, args FROM events ORDER BY seq',
  );
  return rows.map((r) =>
    JSON.stringify({
      seq: r.seq,
      ts: r.ts,
      cpu: r.cpu,
      tid: r.tid,
      kind: r.kind,
      probe_id: r.probe_id,
      addr: r.addr === null ? null : hex(r.addr),
      args: r.args === null ? null : (JSON.parse(r.args) as unknown),
    }),
  );
}

let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('golden');
});
afterAll(cleanupTmp);

describe('golden event streams', () => {
  for (const c of CASES) {
    it(`${c.name}: events match test/e2e/golden/${c.name}.jsonl`, async () => {
      const trace = path.join(dir, `${c.name}.db`);
      await ok('probe-record', ['-o', trace, '-q', ...c.args]);
      const lines = await eventLines(trace);
      expect(lines.length).toBeGreaterThan(0);
      const file = path.join(GOLDEN_DIR, `${c.name}.jsonl`);
      if (UPDATE) {
        fs.mkdirSync(GOLDEN_DIR, { recursive: true });
        fs.writeFileSync(file, lines.join('\n') + '\n');
        return;
      }
      expect(fs.existsSync(file), `${file} is missing: run node scripts/update-golden.mjs`).toBe(true);
      const golden = fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');
      expect(lines, `events differ from ${file} (if intended: node scripts/update-golden.mjs)`).toEqual(
        golden,
      );
    });
  }

  it('the golden files are well-formed: paired traps, time never goes back on a CPU', () => {
    for (const c of CASES) {
      const file = path.join(GOLDEN_DIR, `${c.name}.jsonl`);
      if (!fs.existsSync(file)) continue; // reported by the comparison above
      const evs = fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map(
          (l) => JSON.parse(l) as Omit<EventRow, 'addr' | 'args'> & { addr: string | null; args: unknown },
        );
      expect(evs.map((e) => e.seq)).toEqual(evs.map((_, i) => i + 1));
      const lastTs = new Map<number, number>();
      evs.forEach((e, i) => {
        expect(e.ts, `${c.name} seq ${e.seq}`).toBeGreaterThanOrEqual(lastTs.get(e.cpu) ?? 0);
        lastTs.set(e.cpu, e.ts);
        const next = evs[i + 1];
        if (e.kind === 'trampoline')
          expect(next?.kind, `${c.name} seq ${e.seq}: trampoline → return`).toBe('return');
        if (e.kind === 'return') expect(evs[i - 1]?.kind).toBe('trampoline');
      });
      // Every breakpoint hit ends with exactly one single-step of the probed instruction at its address.
      const hitAddrs = evs
        .filter((e) => e.kind === 'kprobe' || e.kind === 'reentry')
        .map((e) => `${e.ts}@${e.addr}`);
      const steps = evs.filter((e) => e.kind === 'singlestep');
      expect(steps.length).toBe(new Set(hitAddrs).size);
    }
  });
});
