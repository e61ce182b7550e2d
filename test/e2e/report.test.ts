// probe-report outputs through the real command line, on the default server trace (which misses calls)
// and on one recorded with r12: (which does not):
// - --html writes one self-contained page with a Content-Security-Policy meta that forbids network access,
//   and says so in one line instead of printing the text report;
// - --fail-on-miss exits 1 when a return probe missed calls and 0 when none did;
// - --chrome writes valid Chrome trace-event JSON; --folded writes non-empty folded stacks.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, cli, ensureBuilt, ok, show, tmpDir } from './helpers.js';

let dir: string;
let missing: string;
let clean: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tmpDir('report');
  missing = path.join(dir, 'server.db');
  clean = path.join(dir, 'server-r12.db');
  await ok('probe-record', ['-o', missing, '-q']); // no ELF, no probes: the server demo
  await ok('probe-record', ['-w', 'server', '-o', clean, '-q', '-p', 'r12:handle_request handle_request']);
});
afterAll(cleanupTmp);

describe('probe-report outputs', () => {
  it('--html writes a self-contained page with a CSP that forbids network access', async () => {
    const html = path.join(dir, 'report.html');
    const r = await ok('probe-report', [missing, '--html', html]);
    // The page is what was asked for: stdout stays empty and one line says where it went.
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`probe-report: wrote the HTML report to ${html}\n`);
    const page = fs.readFileSync(html, 'utf8');
    const csp = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(page);
    expect(csp, 'CSP meta').not.toBeNull();
    expect(csp![1]).toMatch(/default-src 'none'/);
    expect(csp![1]).not.toMatch(/https?:|connect-src|script-src [^;]*\*/);
    expect(page.indexOf(csp![0])).toBeLessThan(page.search(/<\/head>/i));
    expect(page).toMatch(/<svg/);
    expect(page).toContain('handle_request');
    // Nothing that loads from elsewhere.
    expect(page).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?\/\//i);
  });

  it('--fail-on-miss: exit 1 on the default server trace, 0 on a trace without misses', async () => {
    const bad = await cli('probe-report', [missing, '--fail-on-miss']);
    expect(bad.code, show(bad)).toBe(1);
    expect(bad.stderr).toMatch(/^probe-report: .*miss/m);
    expect(bad.stdout, 'the report itself is still printed').toMatch(/MISSED/);
    const good = await cli('probe-report', [clean, '--fail-on-miss']);
    expect(good.code, show(good)).toBe(0);
    expect(good.stderr).toBe('');
  });

  it('--chrome writes valid trace-event JSON, --folded non-empty folded stacks', async () => {
    const chrome = path.join(dir, 'trace.json');
    const folded = path.join(dir, 'stacks.folded');
    // With --json the JSON report still goes to stdout beside the files.
    const r = await ok('probe-report', [missing, '--chrome', chrome, '--folded', folded, '--json']);
    expect((JSON.parse(r.stdout) as { schema: string }).schema).toMatch(/^probelab-report\//);
    const j = JSON.parse(fs.readFileSync(chrome, 'utf8')) as {
      traceEvents?: Array<{ ph: string; name: string }>;
    };
    expect(Array.isArray(j.traceEvents)).toBe(true);
    expect(j.traceEvents!.length).toBeGreaterThan(0);
    for (const e of j.traceEvents!) expect(typeof e.ph).toBe('string');
    expect(j.traceEvents!.some((e) => e.name === 'handle_request' && e.ph !== 'M')).toBe(true);
    const lines = fs.readFileSync(folded, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l, 'STACK COUNT').toMatch(/^\S+ \d+$/);
    expect(lines.some((l) => /;handle_request;wait_io \d+$/.test(l))).toBe(true);
  });
});
