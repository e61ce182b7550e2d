// Issue 16, terminal safety: every string from the binary or the trace that the tools print in their
// own messages and tables has its control characters escaped (`\x1b` style, src/cli/terminal.ts),
// while the guest's own stdout/stderr pass through unchanged. The hostile names are planted by
// patching a compiled binary's string table (symbol names) and PT_INTERP, and by editing a trace's
// rows, then every printing path named in the issue is run in-process and checked for a raw ESC/BEL.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeControls, hasControls } from '../src/cli/terminal.js';
import { buildGuest, STATIC } from './helpers/gcc.js';
import { runInProcess } from './badinput-inproc.js';

/** OSC "set window title" + "clear screen": what a hostile name would do to a terminal. */
const EVIL = '\x1b]0;pwned\x07\x1b[2J';
const FN = 'hostile_fn_name_padding_xyz'; // the symbol patched to contain EVIL
const CRASH_C = `#include <stdio.h>
__attribute__((noinline)) int ${FN}(volatile int *p) { return *p; }
int main(int argc, char **argv) {
  (void)argv;
  printf("guest says \\x1b[1mbold\\x1b[0m\\n");
  fflush(stdout);
  int ok = 5;
  int r = ${FN}(&ok) - 5;
  return argc > 1 ? ${FN}((volatile int *)0) : r;
}
`;

/** `bytes` with every occurrence of `from` replaced by `to` (same length). */
function patch(bytes: Buffer, from: string, to: string): Buffer {
  expect(Buffer.byteLength(to)).toBe(from.length);
  const out = Buffer.from(bytes);
  let at = out.indexOf(from);
  expect(at, `${from} is in the binary`).toBeGreaterThanOrEqual(0);
  for (; at >= 0; at = out.indexOf(from, at + 1)) out.write(to, at, 'latin1');
  return out;
}

const hostileName = (len: number): string => `h${EVIL}`.padEnd(len, 'z');

let dir: string;
let elf: string; // static binary whose FN symbol is hostile
let trace: string; // a recording of it with a probe on the hostile function

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-term-'));
  const built = buildGuest(CRASH_C, [...STATIC, '-O1'], 'term-hostile');
  elf = path.join(dir, 'hostile');
  fs.writeFileSync(elf, patch(fs.readFileSync(built), FN, hostileName(FN.length)));
  trace = path.join(dir, 't.db');
  const addr = (await runInProcess('probe-record', [elf, '--list-symbols'])).stdout
    .split('\n')
    .find((l) => l.includes(escapeControls(EVIL)))!
    .split(' ')[0]!;
  const r = await runInProcess('probe-record', [
    elf,
    '-q',
    '-c',
    '1',
    '-o',
    trace,
    '--stdin',
    '/dev/null',
    '-p',
    `r:evt 0x${addr}`,
  ]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The tool's own text must show the name escaped and contain no raw control character. */
function expectEscaped(text: string, shown = escapeControls(EVIL)): void {
  expect(text).toContain(shown);
  for (const line of text.split('\n')) expect(hasControls(line), JSON.stringify(line)).toBe(false);
}

describe('issue 16: names from the binary are escaped in the tools own messages', () => {
  it('escapeControls: C0, DEL, C1, line separators and bidi overrides become \\xHH / \\uHHHH, nothing else changes', () => {
    expect(escapeControls('a\x1b[31mb\x07\n\t\x7f\u009b\u2028\u202e\\x')).toBe(
      'a\\x1b[31mb\\x07\\x0a\\x09\\x7f\\x9b\\u2028\\u202e\\x',
    );
    expect(escapeControls('plain: é ü ✓ 日本')).toBe('plain: é ü ✓ 日本');
    // idempotent: escaped text is left alone
    const once = escapeControls(EVIL);
    expect(escapeControls(once)).toBe(once);
  });

  it('--list-symbols', async () => {
    const r = await runInProcess('probe-record', [elf, '--list-symbols']);
    expect(r.code).toBe(0);
    expectEscaped(r.stdout);
  });

  it('probe-run and probe-record crash messages; the guest output itself passes through unchanged', async () => {
    for (const cmd of ['probe-run', 'probe-record'] as const) {
      const extra =
        cmd === 'probe-record' ? ['-o', path.join(dir, 'crash.db'), '--force', '-p', 'p:main main'] : [];
      const r = await runInProcess(cmd, [elf, '--stdin', '/dev/null', ...extra, '--', 'crash']);
      expect(r.code, r.stderr).toBe(139);
      // The guest's own bytes, escapes included, reach stdout as written.
      expect(r.stdout).toBe('guest says \x1b[1mbold\x1b[0m\n');
      expectEscaped(r.stderr);
    }
  });

  it('the "dynamically linked" message quotes PT_INTERP escaped', async () => {
    const dyn = buildGuest('int main(void){return 0;}\n', ['-m32', '-O2'], 'term-dynamic');
    const bad = path.join(dir, 'dyn');
    const interp = '/lib/ld-linux.so.2';
    fs.writeFileSync(bad, patch(fs.readFileSync(dyn), interp, `/${EVIL}`.padEnd(interp.length, 'x')));
    for (const cmd of ['probe-run', 'probe-record'] as const) {
      const r = await runInProcess(
        cmd,
        [bad, '--stdin', '/dev/null', '-o', path.join(dir, 'dyn.db')].slice(0, cmd === 'probe-run' ? 3 : 5),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/dynamically linked/);
      expectEscaped(r.stderr);
    }
  });
});

describe('issue 16: names from the trace are escaped in tables and reports', () => {
  it("probe-query's table (CSV and JSON are data: JSON escapes controls itself)", async () => {
    const db = new Database(trace);
    db.prepare('UPDATE raw_probes SET symbol = ?').run(hostileName(FN.length));
    db.close();
    const r = await runInProcess('probe-query', [trace, 'SELECT symbol, spec FROM probes']);
    expect(r.code, r.stderr).toBe(0);
    expectEscaped(r.stdout);
    const j = await runInProcess('probe-query', [trace, 'SELECT symbol FROM probes', '--format', 'json']);
    expect((JSON.parse(j.stdout) as { symbol: string }[])[0]!.symbol).toContain(EVIL);
  });

  it('probe-report text and --folded; a task name and event name edited into the trace too', async () => {
    const t2 = path.join(dir, 'edited.db');
    fs.copyFileSync(trace, t2);
    const db = new Database(t2);
    db.prepare('UPDATE raw_tasks SET name = ?').run(`task${EVIL}`);
    db.prepare('UPDATE raw_probes SET event = ?').run(`probes/e${EVIL}`);
    db.close();
    const r = await runInProcess('probe-report', [t2]);
    expect(r.code, r.stderr).toBe(0);
    expectEscaped(r.stdout);
    const folded = path.join(dir, 'f.folded');
    const f = await runInProcess('probe-report', [t2, '--folded', folded]);
    expect(f.code, f.stderr).toBe(0);
    // (folded frames turn ';' into ':')
    expectEscaped(fs.readFileSync(folded, 'utf8'), escapeControls(EVIL).replace(/;/g, ':'));
  });

  it('probe-replay messages (a diverging replay quotes recorded values)', async () => {
    const t3 = path.join(dir, 'replay.db');
    fs.copyFileSync(trace, t3);
    const db = new Database(t3);
    db.prepare('UPDATE raw_probes SET event = ?').run(`probes/e${EVIL}`);
    db.close();
    const r = await runInProcess('probe-replay', [t3]);
    expect(r.code).toBe(1);
    expectEscaped(r.stderr);
  });
});
