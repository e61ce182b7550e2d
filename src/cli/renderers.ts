// How probe-report picks its outputs. Every format is a Renderer behind one interface: it writes its
// output in chunks to a sink, so a large one (the Chrome trace) is streamed to its file rather than
// built as one string. The renderers themselves live in src/report; this module only chooses which
// run, where each one writes, and what is printed on stdout:
// - --json: the JSON report on stdout;
// - no --json and no output file: the text report on stdout;
// - output files (--html, --chrome, --folded) without --json: one line per file on stderr saying
//   where it was written, and nothing on stdout (the files are what was asked for).

import { closeSync, openSync, writeSync } from 'node:fs';
import type { AnalysisInput } from '../analysis/model.js';
import type { ReportModel } from '../analysis/summary.js';
import { writeChromeTrace } from '../report/chrome.js';
import { renderFolded } from '../report/folded.js';
import type * as HtmlReport from '../report/html.js';
import { renderJson } from '../report/json.js';
import { renderText } from '../report/text.js';
import { CliError } from './common.js';
import { escapeLines } from './terminal.js';

/** What a renderer may read: the report model and the runs it was built from. */
export interface RenderInput {
  model: ReportModel;
  input: AnalysisInput;
}

export interface Renderer {
  /** What the user calls it in messages ("HTML report"). */
  readonly what: string;
  /** Whether it needs each call's fetched arguments loaded (costly on large traces). */
  readonly needsArgs: boolean;
  /** Writes the output, in as many chunks as it likes. */
  render(r: RenderInput, write: (chunk: string) => void): void;
}

/**
 * The HTML report's module, loaded by writeOutputs only when an HTML report is asked for: d3-node
 * brings jsdom, which was most of every probe-report's start-up (0.7 of its 1.0 s of CPU).
 */
let htmlReport: typeof HtmlReport | undefined;

function renderHtml(r: RenderInput): string {
  if (htmlReport === undefined) throw new Error('the HTML renderer was not loaded');
  return htmlReport.renderHtml(r.model);
}

const oneString = (what: string, needsArgs: boolean, f: (r: RenderInput) => string): Renderer => ({
  what,
  needsArgs,
  render: (r, write) => write(f(r)),
});

export const RENDERERS = {
  // renderText escapes what it quotes; escapeLines over the whole text is the safety net for any
  // value a future section forgets (idempotent, so escaped text is unchanged).
  text: oneString('text report', false, (r) => escapeLines(renderText(r.model))),
  json: oneString('JSON report', false, (r) => renderJson(r.model.json)),
  html: oneString('HTML report', false, renderHtml),
  folded: oneString('folded stacks', true, (r) => renderFolded(r.input)),
  chrome: {
    what: 'Chrome trace',
    needsArgs: true,
    render: (r, write) => writeChromeTrace(r.input, write),
  } satisfies Renderer,
} as const;

export type Format = keyof typeof RENDERERS;

/** One output: a renderer and its destination (null = stdout). */
export interface Output {
  format: Format;
  file: string | null;
}

/** The outputs probe-report's options ask for, in the order they are written. */
export function pickOutputs(o: { json: boolean; html?: string; chrome?: string; folded?: string }): Output[] {
  const files: Output[] = [];
  if (o.html !== undefined) files.push({ format: 'html', file: o.html });
  if (o.folded !== undefined) files.push({ format: 'folded', file: o.folded });
  if (o.chrome !== undefined) files.push({ format: 'chrome', file: o.chrome });
  if (o.json) return [{ format: 'json', file: null }, ...files];
  return files.length > 0 ? files : [{ format: 'text', file: null }];
}

/** Whether any of the outputs needs each call's fetched arguments. */
export function needsArgs(outputs: readonly Output[]): boolean {
  return outputs.some((o) => RENDERERS[o.format].needsArgs);
}

/** Writes every output; a file is written chunk by chunk as the renderer produces it. */
export async function writeOutputs(outputs: readonly Output[], r: RenderInput): Promise<void> {
  if (outputs.some((o) => o.format === 'html')) htmlReport ??= await import('../report/html.js');
  for (const o of outputs) {
    const renderer: Renderer = RENDERERS[o.format];
    if (o.file === null) {
      renderer.render(r, (c) => process.stdout.write(c));
      continue;
    }
    let fd: number | undefined;
    try {
      fd = openSync(o.file, 'w');
      const out = fd;
      renderer.render(r, (c) => {
        writeSync(out, c);
      });
    } catch (e) {
      // Only the file system's failures are the user's to fix; anything else is a bug to report as is.
      if ((e as NodeJS.ErrnoException).code === undefined) throw e;
      const msg = (e as Error).message.split('\n')[0];
      throw new CliError(`cannot write the ${renderer.what} to ${o.file}: ${msg}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    process.stderr.write(`probe-report: wrote the ${renderer.what} to ${o.file}\n`);
  }
}
