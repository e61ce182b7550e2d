// The HTML report in a real browser (Debian chromium via playwright-core): no network, no
// console errors, charts present with the right numbers, guest markup shown as text.
// Chromium is required: CI installs it; without it this test FAILS (it never skips silently).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/analysis/summary.js';
import { renderHtml } from '../src/report/html.js';
import { serverRun } from './support/report-synthetic.js';

const CHROMIUM = '/usr/bin/chromium';
const EVIL = '<img src=x onerror=alert(1)>';
const cacheDir = resolve('.cache');

describe('HTML report in Chromium', () => {
  let browser: Browser | undefined;
  const model = buildReport({
    runs: [
      serverRun({ runId: 1, evilSymbol: EVIL, tasks: 16, cpus: 4 }),
      serverRun({ runId: 2, seed: 5, tasks: 12, cpus: 4 }),
    ],
  });
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
});
