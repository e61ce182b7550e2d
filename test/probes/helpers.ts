// Shared helpers of the probe-engine acceptance tests (test/probes/*.test.ts).
// Guests live in test/probes/guests/*.c and include "prt.h" (a freestanding runtime); buildProbeGuest
// inlines the header so the build cache key covers it. `load` gives a Machine and a ProbeEngine on it;
// `qemu` runs the same binary on the reference (qemu-i386) for "what the program prints without probes".

import fs from 'node:fs';
import path from 'node:path';
import { buildGuest, FREESTANDING, REPO_ROOT } from '../helpers/gcc.js';
import { runNative } from '../helpers/native.js';
import { Machine, type MachineOptions, type RunResult } from '../../src/emulator/machine.js';
import { Decoded, decodeInsn } from '../../src/emulator/decoder.js';
import { ProbeEngine } from '../../src/probes/kprobes.js';
import type { EventRecord, RunSink } from '../../src/trace/records.js';

export const GUEST_DIR = path.join(REPO_ROOT, 'test', 'probes', 'guests');
export const TF = 0x100;
export const IF = 0x200;
export const TRAMPOLINE = 0xfff00000;

/** Guest source with `#include "prt.h"` replaced by the header's text. */
export function probeGuestSource(name: string): string {
  const src = fs.readFileSync(path.join(GUEST_DIR, `${name}.c`), 'utf8');
  const hdr = fs.readFileSync(path.join(GUEST_DIR, 'prt.h'), 'utf8');
  return src.replace(/^#include "prt.h"$/m, () => hdr);
}

const built = new Map<string, Uint8Array>();
const paths = new Map<string, string>();

/** Builds test/probes/guests/<name>.c freestanding at -O<opt>; returns [path, bytes]. */
export function buildProbeGuest(name: string, opt = '-O1'): { path: string; bytes: Uint8Array } {
  const key = `${name}${opt}`;
  let p = paths.get(key);
  if (!p) {
    p = buildGuest(
      probeGuestSource(name),
      [...FREESTANDING, opt, '-fno-omit-frame-pointer'],
      `probes-${name}${opt}`,
      {
        libs: ['-lgcc'],
      },
    );
    paths.set(key, p);
  }
  let b = built.get(key);
  if (!b) {
    b = new Uint8Array(fs.readFileSync(p));
    built.set(key, b);
  }
  return { path: p, bytes: b };
}

export interface Loaded {
  m: Machine;
  eng: ProbeEngine;
  sym: (name: string) => number;
}

/** Loads a guest on a fresh machine with a probe engine. */
export function load(bytes: Uint8Array, argv: string[], opts: Partial<MachineOptions> = {}): Loaded {
  const m = Machine.load(bytes, { argv, maxInstructions: 50_000_000, ...opts });
  const eng = new ProbeEngine(m);
  const sym = (name: string): number => {
    const s = m.symbols.lookup(name);
    if (!s) throw new Error(`no symbol ${name}`);
    return s.addr >>> 0;
  };
  return { m, eng, sym };
}

export interface EngineEvent {
  seq: number;
  kind: string;
  probe: unknown;
  tid: number;
  addr: number;
}

/** Installs eng.sink and returns the list it fills (in emulation order). */
export function recordEvents(eng: ProbeEngine): EngineEvent[] {
  const out: EngineEvent[] = [];
  eng.sink = (seq, kind, probe, task, addr) => {
    out.push({ seq, kind, probe, tid: task.tid, addr });
  };
  return out;
}

/** How many recorded events are of this kind. */
export function count(events: EngineEvent[], kind: string): number {
  return events.filter((e) => e.kind === kind).length;
}

export function text(r: RunResult): string {
  return Buffer.from(r.stdout).toString('latin1');
}

/** Parses "key=value" lines into a map (last one wins). */
export function kv(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** Runs a binary without probes in the emulator (no engine attached). */
export function runPlain(bytes: Uint8Array, argv: string[], opts: Partial<MachineOptions> = {}): RunResult {
  return Machine.load(bytes, { argv, maxInstructions: 50_000_000, ...opts }).run();
}

export interface QemuOutcome {
  stdout: string;
  status: string;
}

/** The reference: qemu-i386 running the same binary (status "exit N" or "signal N"). */
export function qemu(binPath: string, argv: string[]): QemuOutcome {
  const r = runNative(binPath, argv, { env: ['LANG=C'] });
  return {
    stdout: r.stdout.toString('latin1'),
    status: r.signal !== null ? `signal ${r.signal}` : `exit ${r.status}`,
  };
}

export function status(r: RunResult): string {
  return r.status === 'signaled'
    ? `signal ${r.signal}`
    : r.status === 'exited'
      ? `exit ${r.exitCode}`
      : r.status;
}

/** EIP from a RunResult register dump. */
export function dumpEip(r: RunResult): number {
  const mm = /eip=([0-9a-f]{8})/.exec(r.dump);
  if (!mm) throw new Error(`no eip in dump: ${r.dump}`);
  return parseInt(mm[1]!, 16);
}

/** A register from a RunResult dump (eax, esp, eflags, ...). */
export function dumpReg(r: RunResult, reg: string): number {
  const mm = new RegExp(`${reg}=([0-9a-f]{8})`).exec(r.dump);
  if (!mm) throw new Error(`no ${reg} in dump: ${r.dump}`);
  return parseInt(mm[1]!, 16);
}

export interface Insn {
  addr: number;
  len: number;
  bytes: number[];
}

/**
 * Decodes the instructions of [start, start+size) of the guest text. Pass the engine to look through
 * the breakpoints it wrote (ProbeEngine.originalByte); without it, call this before registering probes.
 */
export function decodeRange(m: Machine, start: number, size: number, eng?: ProbeEngine): Insn[] {
  const out: Insn[] = [];
  const d = new Decoded();
  const byte = (a: number): number => (eng ? eng.originalByte(a >>> 0) : m.memory.peek(a >>> 0, 1)[0]!);
  for (let a = start; a < start + size;) {
    decodeInsn(byte, a, d);
    if (d.len <= 0) throw new Error(`bad decode at 0x${a.toString(16)}`);
    const bytes: number[] = [];
    for (let k = 0; k < d.len; k++) bytes.push(byte(a + k));
    out.push({ addr: a, len: d.len, bytes });
    a += d.len;
  }
  return out;
}

/** Decodes a symbol's function body (symbol must have a size). */
export function decodeFunction(m: Machine, name: string, eng?: ProbeEngine): Insn[] {
  const s = m.symbols.lookup(name);
  if (!s || s.size <= 0) throw new Error(`no sized symbol ${name}`);
  return decodeRange(m, s.addr, s.size, eng);
}

/** Length of the (original) instruction at `addr`. */
export function insnLen(l: Loaded, addr: number): number {
  return decodeRange(l.m, addr, 1, l.eng)[0]!.len;
}

/** A session sink that keeps copies of the event records (and drops every other record). */
export function eventSink(): { sink: RunSink; events: EventRecord[] } {
  const events: EventRecord[] = [];
  const sink = new Proxy(
    {},
    {
      get: (_t, name) => (r: EventRecord) => {
        if (name === 'event') events.push({ ...r });
      },
    },
  ) as RunSink;
  return { sink, events };
}
