// K20: a guest that reads its own return address while its function is hooked sees the trampoline
// (the seed's limitation 3.2, kept faithful); the optional detector reports each such read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nullSink } from '../src/recorder/record.js';
import { ProbeSession } from '../src/recorder/session.js';
import { TRAMPOLINE_ADDR } from '../src/probes/kprobes.js';
import { REPO_ROOT, buildGuest } from './helpers/gcc.js';

const bin = readFileSync(join(REPO_ROOT, 'workloads/bin/jprobe'));

// A parent and its fork child both call a function that reads its own return address.
const FORKING = `#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
volatile unsigned sink;
__attribute__((noinline)) void whoami(void) { sink += (unsigned)__builtin_return_address(0); }
int main(void) {
  pid_t c = fork();
  for (int i = 0; i < (c == 0 ? 3 : 2); i++) whoami();
  if (c == 0) return 0;
  waitpid(c, 0, 0);
  printf("done\\n");
  return 0;
}
`;

function run(detect: boolean, probes: string[]) {
  const events: Array<{ kind: string; addr: number | null }> = [];
  const sink = {
    ...nullSink(),
    event: ({ kind, addr }: { kind: string; addr: number | null }) => void events.push({ kind, addr }),
  };
  const s = new ProbeSession(
    bin,
    { argv: ['jprobe'], cpus: 1, probes, detectReturnAddressReads: detect },
    sink,
  );
  const r = s.run();
  return { s, r, events, out: Buffer.from(r.stdout).toString() };
}

describe('K20: return-address reads while a function is hooked', () => {
  it('K20: the hooked whoami() sees the trampoline address, as on Linux 2.6.13', () => {
    const { out } = run(false, ['r:whoami whoami']);
    expect(out).toContain(`return address 0x${TRAMPOLINE_ADDR.toString(16)} is not a call site of whoami`);
    const plain = run(false, []);
    expect(plain.out).toContain('is a call site of whoami: ok');
  });
  it('K20 detector: exactly one retaddr_read per hooked call, at the reading instruction, none for ret', () => {
    const { s, events } = run(true, ['r:whoami whoami']);
    const whoami = s.machine.symbols.lookup('whoami')!;
    const reads = events.filter((e) => e.kind === 'retaddr_read');
    const returns = events.filter((e) => e.kind === 'return');
    expect(returns.length).toBeGreaterThan(0);
    expect(reads.length).toBe(returns.length);
    for (const e of reads) {
      expect(e.addr).toBeGreaterThan(whoami.addr);
      expect(e.addr).toBeLessThan(whoami.addr + whoami.size);
    }
  });
  it('K20 detector: functions that do not read their return address are never reported', () => {
    const { events } = run(true, ['r:jp_target jp_target']);
    expect(events.filter((e) => e.kind === 'return').length).toBe(3);
    expect(events.some((e) => e.kind === 'retaddr_read')).toBe(false);
  });
  it('K20 detector off: no events and the same guest output as with it on', () => {
    const off = run(false, ['r:whoami whoami']);
    const on = run(true, ['r:whoami whoami']);
    expect(off.events.some((e) => e.kind === 'retaddr_read')).toBe(false);
    expect(on.out).toBe(off.out);
  });
  it('K20 detector: a fork child is watched as its parent is (every address space)', () => {
    const guest = readFileSync(buildGuest(FORKING, ['-m32', '-static', '-O1'], 'k20-fork'));
    const events: Array<{ kind: string; tid: number }> = [];
    const pidOf = new Map<number, number>();
    const sink = {
      ...nullSink(),
      event: ({ kind, tid }: { kind: string; tid: number }) => void events.push({ kind, tid }),
      taskStart: ({ tid, pid }: { tid: number; pid: number }) => void pidOf.set(tid, pid),
    };
    const s = new ProbeSession(
      guest,
      { argv: ['k20-fork'], cpus: 2, probes: ['r:whoami whoami'], detectReturnAddressReads: true },
      sink,
    );
    const r = s.run();
    expect(Buffer.from(r.stdout).toString()).toBe('done\n');
    const per = (kind: string) => {
      const m = new Map<number, number>();
      for (const e of events)
        if (e.kind === kind) m.set(pidOf.get(e.tid)!, (m.get(pidOf.get(e.tid)!) ?? 0) + 1);
      return m;
    };
    // The guest's own call counts: 2 in the parent, 3 in the child; one read per hooked call.
    const returns = per('return');
    expect([...returns.values()].sort()).toEqual([2, 3]);
    expect(per('retaddr_read')).toEqual(returns);
  });
});
