// The HTML report in a real browser (Debian chromium via playwright-core): no network, no
// console errors, charts present with the right numbers, guest markup shown as text (symbols, string
// arguments, --by groups), the Summary table within its card at 1280 px (measured by the browser's
// layout, with latencies in the millions), one notation on every histogram axis.
// Chromium is required: CI installs it; without it this test FAILS (it never skips silently).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRec, RunData } from '../src/analysis/model.js';
import { buildReport } from '../src/analysis/summary.js';
import { renderHtml } from '../src/report/html.js';
import { serverRun } from './support/report-synthetic.js';

const CHROMIUM = '/usr/bin/chromium';
const EVIL = '<img src=x onerror=alert(1)>';
const cacheDir = resolve('.cache');

/** Guest arguments: handle_request's calls carry id and a string (markup for task 1), the kprobe a string. */
function withArgs(rd: RunData, file: string): RunData {
  const who = (tid: number): string => (tid === 1 ? EVIL : `w${tid % 3}`);
  const calls = (rd.calls as CallRec[]).map((c) =>
    c.probeId === 1 ? { ...c, args: { id: c.tid % 5, who: who(c.tid) } } : c,
  );
  return {
    ...rd,
    run: { ...rd.run, file, source: file },
    calls,
    probes: rd.probes.map((p) =>
      p.probeId === 1
        ? {
            ...p,
            args: [
              { name: 'id', type: 'u32' },
              { name: 'who', type: 'string' },
            ],
          }
        : p.kind === 'kprobe'
          ? { ...p, offset: 0x15, args: [{ name: 's', type: 'string' }] }
          : p,
    ),
    argHits: [
      { probeId: 4, args: { s: EVIL } },
      { probeId: 4, args: { s: 'plain' } },
    ],
  };
}

/** The same run 1000 times slower: latencies in the millions of cycles (wide Summary cells). */
function slower(rd: RunData, k: number): RunData {
  const ts = (c: CallRec): CallRec => ({ ...c, entryTs: c.entryTs * k, returnTs: c.returnTs * k });
  return {
    ...rd,
    run: { ...rd.run, cycles: rd.run.cycles * k, instructions: rd.run.instructions * k },
    calls: (rd.calls as CallRec[]).map(ts),
    complete: rd.complete ? (rd.complete as CallRec[]).map(ts) : undefined,
    misses: rd.misses.map((m) => ({ ...m, ts: m.ts * k })),
    sched: undefined,
  };
}

describe('HTML report in Chromium', () => {
  let browser: Browser | undefined;
  const model = buildReport(
    {
      runs: [
        withArgs(
          serverRun({ runId: 1, evilSymbol: EVIL, tasks: 16, cpus: 4 }),
          'traces/a-long-trace-name.db',
        ),
        withArgs(slower(serverRun({ runId: 1, seed: 5, tasks: 12, cpus: 4 }), 1000), `traces/${EVIL}.db`),
      ],
    },
    { by: [{ event: 'handle_request', arg: 'who' }] },
  );
  const file = resolve(cacheDir, 'report.html');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium). ` +
          'The browser test is required and does not skip.',
      );
    }
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(file, renderHtml(model));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders without network, errors or script execution, and shows the right numbers', async () => {
    if (!browser) throw new Error('browser did not start');
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    const dialogs: string[] = [];
    page.on('request', (r) => {
      if (!/^(file|data|about):/.test(r.url())) requests.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(await page.locator('img, script, iframe, object, embed').count()).toBe(0);

    // charts: per kretprobe histogram + miss curve + timeline, plus the per-CPU timeline
    const kret = model.json.probes.filter((p) => p.kind === 'kretprobe').length;
    expect(await page.locator('svg.chart').count()).toBe(3 * kret + 1);
    const box = await page.locator('svg.chart').first().boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.height).toBeGreaterThan(150);

    // the summary table shows the recommendation and the peak of handle_request
    const p = model.json.probes.find((q) => q.event === 'probes/handle_request')!;
    const row = page.locator('table.summary tbody tr', { hasText: 'probes/handle_request' });
    expect(await row.locator('td[data-field="recommended"]').innerText()).toBe(
      String(p.recommended_maxactive),
    );
    expect((await row.locator('td[data-field="peak"]').innerText()).trim()).toBe(String(p.peak_concurrency));
    expect(await row.innerText()).toContain('MISSED');
    const t = model.extras.totals;
    expect(await page.locator('.banner.bad').innerText()).toContain(
      `MISSED: ${t.missed + t.missedReentry} calls`,
    );

    // the markup-named symbol is plain text
    expect(await page.getByText(EVIL, { exact: false }).count()).toBeGreaterThan(0);
    const texts = await page.locator('table.summary').innerText();
    expect(texts).toContain(EVIL);

    await page.screenshot({ path: resolve(cacheDir, 'report.png'), fullPage: true });
    await page.close();
  });

  it('fits the Summary table in its card at 1280 px', async () => {
    if (!browser) throw new Error('browser did not start');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const m = await page.evaluate(() => {
      const t = document.querySelector('table.summary') as HTMLElement;
      const card = t.closest('section') as HTMLElement;
      const box = card.getBoundingClientRect();
      const cells = [...t.querySelectorAll('th, td')].map((c) => c.getBoundingClientRect().right);
      return {
        scroll: (t.parentElement as HTMLElement).scrollWidth,
        client: (t.parentElement as HTMLElement).clientWidth,
        cardRight: box.right,
        rightmostCell: Math.max(...cells),
        pageScroll: document.documentElement.scrollWidth,
      };
    });
    expect(m.scroll, 'the table scrolls sideways inside its card').toBeLessThanOrEqual(m.client);
    expect(m.rightmostCell).toBeLessThanOrEqual(m.cardRight);
    expect(m.pageScroll).toBeLessThanOrEqual(1280);
    // the widest numbers really are in it
    const p99 = model.json.probes.find((q) => q.event === 'probes/handle_request')!.latency.max!;
    expect(p99).toBeGreaterThan(1_000_000);
    await page.close();
  });

  it('uses one notation (2ⁿ) on every histogram axis', async () => {
    if (!browser) throw new Error('browser did not start');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const axes = await page.$$eval('svg.chart', (svgs) =>
      svgs
        .filter((s) => (s.querySelector('title')?.textContent ?? '').startsWith('Latency histogram'))
        .map((s) => [...s.querySelectorAll('g.x-axis text')].map((t) => t.textContent ?? '')),
    );
    const kret = model.json.probes.filter((q) => q.kind === 'kretprobe').length;
    expect(axes.length).toBe(kret);
    const sup = '⁰¹²³⁴⁵⁶⁷⁸⁹';
    const exp = (t: string): number => Number([...t.slice(1)].map((c) => sup.indexOf(c)).join(''));
    for (const ticks of axes) {
      expect(ticks.length).toBeGreaterThan(0);
      for (const t of ticks) expect(t).toMatch(/^(0|2[⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/);
      const e = ticks.filter((t) => t !== '0').map(exp);
      for (let i = 1; i < e.length; i++) expect(e[i]!).toBeGreaterThan(e[i - 1]!);
    }
    // latencies in the millions reach 2²⁰ and beyond, still in the same notation
    expect(axes.flat().some((t) => t !== '0' && exp(t) >= 20)).toBe(true);
    await page.close();
  });

  it('shows guest strings in arguments, groups and run labels as text, and no return-probe tiles on kprobes', async () => {
    if (!browser) throw new Error('browser did not start');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(dialogs).toEqual([]);
    expect(await page.locator('img, script').count()).toBe(0);
    const quoted = JSON.stringify(EVIL);
    const hr = page.locator('section.probe', { hasText: 'probes/handle_request' });
    expect(await hr.locator('table.args').innerText()).toContain(quoted);
    expect(await hr.locator('table.groups').innerText()).toContain(quoted);
    const kp = page.locator('section.probe', { hasText: 'probes/p_accept_0' });
    expect(await kp.locator('table.args').innerText()).toContain(quoted);
    expect(await kp.locator('.sub').first().innerText()).toBe('at accept+0x15');
    const tiles = await kp.locator('.tile .l').allInnerTexts();
    expect(tiles).toEqual(['hits', 'missed (reentry)']);
    expect(await page.locator('table.runs').innerText()).toContain(`traces/${EVIL}.db#1`);
    await page.close();
  });
});
