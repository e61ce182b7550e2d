// #12 probes across processes (uprobe semantics, kprobes.md K1..K23 per address space): probes on the
// recorded binary apply in every process running it (inherited across fork, armed again when a
// process execs the file), `PATH:SYMBOL` and `PATH:0xOFFSET` probe another executable the run execs,
// a fork inside a probed function returns in the child through the trampoline (an orphan return, no
// SIGILL), and a removal restores the original byte in every address space.
// Oracles: each guest process prints how often it called each probed function (procs.c, other.c);
// the file offset of PATH:0xOFFSET and the original bytes come from binutils (nm, readelf) and the
// file itself, not from the engine.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../src/emulator/machine.js';
import { recordRun } from '../../src/recorder/record.js';
import { ProbeSession, ProbeSpecError } from '../../src/recorder/session.js';
import { replayRun } from '../../src/replay/replay.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { buildProbeGuest, eventSink, text } from './helpers.js';

/** nm's address of a symbol. */
function nmAddr(file: string, sym: string): number {
  const line = execFileSync('nm', [file], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(` ${sym}`));
  if (!line) throw new Error(`nm: no ${sym} in ${file}`);
  return parseInt(line.split(' ')[0]!, 16);
}

/** The file offset of a loaded address, from readelf's program headers. */
function fileOffsetOf(file: string, addr: number): number {
  for (const l of execFileSync('readelf', ['-lW', file], { encoding: 'utf8' }).split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f[0] !== 'LOAD') continue;
    const [off, vaddr, , filesz] = [f[1], f[2], f[3], f[4]].map((x) => parseInt(x!, 16)) as number[];
    if (addr >= vaddr! && addr < vaddr! + filesz!) return off! + (addr - vaddr!);
  }
  throw new Error(`readelf: 0x${addr.toString(16)} is in no LOAD segment of ${file}`);
}

/** Sum of the counts the guests printed, by "pid func". */
function printed(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of out.split('\n')) {
    const f = /^proc (\d+) (\w+) (\d+)$/.exec(l);
    if (f) m.set(`${f[1]} ${f[2]}`, (m.get(`${f[1]} ${f[2]}`) ?? 0) + Number(f[3]));
  }
  return m;
}

/** tid -> pid for every task the machine starts from now on (and its first task). */
function pidsOf(m: Machine): Map<number, number> {
  const pids = new Map<number, number>([[m.mainTask.tid, m.mainTask.process.pid]]);
  m.hooks.taskStart.add((t) => pids.set(t.tid, t.process.pid));
  return pids;
}

describe('#12 uprobe semantics across fork and exec', () => {
  let main: { path: string; bytes: Uint8Array };
  let other: string;
  beforeAll(() => {
    main = buildProbeGuest('procs');
    other = buildProbeGuest('other').path;
  });

  it('events per process equal the calls each process counted: own binary re-execed, PATH:SYM, PATH:0xOFF', () => {
    const off = fileOffsetOf(other, nmAddr(other, 'bwork'));
    const probes = [
      'r:work work',
      'r:forker forker',
      `p:bw ${other}:bwork`,
      `r:bwr ${other}:0x${off.toString(16)}`,
    ];
    const { sink, events } = eventSink();
    const s = new ProbeSession(main.bytes, { argv: [main.path, 'tree', other], probes }, sink);
    const pids = pidsOf(s.machine);
    const r = s.run();
    expect(r.status, r.message).toBe('exited');
    expect(r.exitCode).toBe(0);
    const want = printed(text(r));
    // Three processes printed: the first (work, forker), its re-execed child (work), the other file.
    const procs = new Set([...want.keys()].map((k) => k.split(' ')[0]));
    expect(procs.size).toBe(3);
    const id = (ev: string): number => s.probes.find((p) => p.event === `probes/${ev}`)!.probeId;
    const got = new Map<string, number>();
    const bump = (k: string): void => void got.set(k, (got.get(k) ?? 0) + 1);
    let orphans = 0;
    for (const e of events) {
      const pid = pids.get(e.tid)!;
      if (e.kind === 'return' && e.probeId === id('work')) bump(`${pid} work`);
      if (e.kind === 'return' && e.probeId === id('forker')) bump(`${pid} forker`);
      if (e.kind === 'kprobe' && e.probeId === id('bw')) bump(`${pid} bwork`);
      if (e.kind === 'return' && e.probeId === id('bwr')) bump(`${pid} bwr`);
      if (e.kind === 'orphan_return') orphans++;
    }
    // PATH:0xOFFSET on the same function: one return per call, in the same process.
    for (const [k, n] of want) if (k.endsWith(' bwork')) want.set(k.replace('bwork', 'bwr'), n);
    // The fork child printed "forker 0": it did not enter forker, it returned from the parent's call.
    for (const [k, n] of [...want]) if (n === 0) want.delete(k);
    expect(got).toEqual(want);
    // That return went through the trampoline as an orphan (the parent's instance, copied).
    expect(orphans).toBe(1);
    // The recorded binary's symbols were not used for the other file's probes.
    expect(s.probes.find((p) => p.event === 'probes/bwr')!.addr).toBe(nmAddr(other, 'bwork'));
  });

  it('removing a probe while processes run restores the original byte in every address space', () => {
    const at = nmAddr(main.path, 'work');
    const orig = fs.readFileSync(main.path)[fileOffsetOf(main.path, at)]!;
    const { sink, events } = eventSink();
    const s = new ProbeSession(
      main.bytes,
      { argv: [main.path, 'disarm', other], probes: ['r:work work'] },
      sink,
    );
    const m = s.machine;
    const pids = pidsOf(m);
    let checked = 0;
    // At the exec'd child's getppid: both processes run the recorded file, both are armed.
    m.hooks.syscall.add(
      () => {
        const spaces = [...m.processes.values()].filter((p) => p.state === 'alive');
        expect(spaces).toHaveLength(2);
        for (const p of spaces) expect(p.mm.memory.peek(at, 1)[0]).toBe(0xcc);
        s.addProbe('-:work', {});
        for (const p of spaces) expect(p.mm.memory.peek(at, 1)[0]).toBe(orig);
        checked++;
      },
      { begin: 64, end: 64 },
    );
    const r = s.run();
    expect(r.status, r.message).toBe('exited');
    expect(checked).toBe(1);
    const want = printed(text(r));
    const returns = new Map<number, number>();
    for (const e of events)
      if (e.kind === 'return') returns.set(pids.get(e.tid)!, (returns.get(pids.get(e.tid)!) ?? 0) + 1);
    // Each process made one call after the removal, which nothing saw.
    for (const [k, n] of want) expect(returns.get(Number(k.split(' ')[0])), k).toBe(n - 1);
  });

  it('recorded on 1 and 4 CPUs, with and without chaos, every such run replays identically (--verify)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-uprobes-'));
    try {
      const db = path.join(dir, 't.db');
      const w = TraceWriter.create(db);
      const probes = ['r:work work', 'r:forker forker', `p:bw ${other}:bwork`];
      const runs: number[] = [];
      for (const cpus of [1, 4])
        for (const chaos of [false, true])
          runs.push(
            recordRun(w, {
              workload: 'procs',
              binary: main.bytes,
              session: {
                argv: [main.path, 'tree', other],
                cpus,
                chaos,
                seed: 3,
                probes,
                captureOutput: false,
              },
            }).runId,
          );
      w.close();
      const r = TraceReader.open(db);
      try {
        for (const id of runs) {
          const o = replayRun(r, id);
          expect(o.divergence?.message ?? null, `run ${id}`).toBeNull();
          expect(o.matched && o.outputIdentical).toBe(true);
          expect(o.events).toBe(r.eventCount(id));
          // The PATH: file is read from the recorded inputs, once, as the recording read it.
          expect(o.notes).toEqual([]);
        }
      } finally {
        r.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad PATH: specs get the Linux error names and a caret', () => {
    const fail = (spec: string): string => {
      try {
        new ProbeSession(main.bytes, { argv: [main.path], probes: [spec] }, eventSink().sink);
      } catch (e) {
        if (e instanceof ProbeSpecError) return e.message;
        throw e;
      }
      return 'accepted';
    };
    const missing = fail('p /no/such/file:0x100');
    expect(missing).toMatch(/^trace_kprobe: error: FILE_NOT_FOUND: Failed to find the given file\n/);
    expect(missing.split('\n')[2]).toBe(' '.repeat('  Command: p '.length) + '^');
    const dir = fail(`p ${path.dirname(other)}:0x100`);
    expect(dir).toMatch(/NO_REGULAR_FILE: Not a regular file/);
    const off = fail(`p ${other}:10a`);
    expect(off).toMatch(/BAD_UPROBE_OFFS: Invalid uprobe offset/);
    expect(off.split('\n')[2]).toBe(' '.repeat(`  Command: p ${other}:`.length) + '^');
    expect(fail(`p ${other}:0x7fffffff`)).toMatch(/BAD_UPROBE_OFFS/);
    expect(fail(`p ${other}:no_such_fn`)).toMatch(/BAD_PROBE_ADDR/);
    expect(fail(`r ${other}:bwork+1`)).toMatch(/BAD_RETPROBE/);
  });
});
