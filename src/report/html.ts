// `probe-report --html FILE`: one self-contained page, inline CSS and inline SVG (d3-node), no
// scripts, no network.
//
// Guarantees:
// - A Content-Security-Policy meta forbids every fetch (default-src 'none'; only inline styles and
//   data: images are allowed) and the page references no URL at all: no scripts, fonts or links.
// - Every string that came from the guest (symbols, event and workload names, task and process
//   names, executables, notes) goes through `escapeHtml` before it reaches markup. Charts are built
//   from numbers and fixed labels only; the one guest string inside an SVG (the chart's <title>) is
//   set with d3's .text(), which the serializer escapes (d3/jsdom do NOT escape '<' in attribute
//   values, so guest text never goes into an attribute).
// - Charts aggregate before drawing: the in-flight timeline has at most `timelineBins` (800) bins
//   and flat stretches collapse into one path segment; the per-CPU timeline has at most ~6000
//   cells merged into runs of equal shade; histograms have one bar per power of two; miss curves
//   with more than 200 points become one path. Page size is independent of the number of events.

// @ts-expect-error -- d3-node ships no type declarations; the subset used here is typed below
import { D3Node as D3NodeUntyped } from 'd3-node';
import type { LatencyStats } from '../analysis/latency.js';
import { log2Bucket } from '../analysis/latency.js';
import type { MissCurvePoint } from '../analysis/misscurve.js';
import type {
  CpuTimeline,
  ProbeExtras,
  ProbeTimeline,
  ReportModel,
  ReportProbeJson,
} from '../analysis/summary.js';
import { formatArgValue, type ArgGroupsJson, type ArgSummaryJson } from '../analysis/args.js';
import {
  fmtCompact,
  fmtCyclesAsTime,
  fmtInt,
  fmtNs,
  peakSummary,
  exeLabel,
  PROCESS_NOTE,
  processCount,
  processesByRun,
  recommendationCommands,
  recommendationSentence,
  runLabel,
  shellWord,
  TEXT_GROUPS,
} from './text.js';

// ---------------------------------------------------------------------------------------------
// the subset of d3 / d3-node used here

interface Sel {
  append(name: string): Sel;
  attr(name: string, value: string | number): Sel;
  text(value: string): Sel;
  call(fn: (s: Sel) => void): Sel;
  selectAll(selector: string): Sel;
  remove(): Sel;
}
interface LinearScale {
  (v: number): number;
  domain(d: [number, number]): LinearScale;
  range(r: [number, number]): LinearScale;
  nice(count?: number): LinearScale;
  ticks(count: number): number[];
  domain(): number[];
}
interface Axis {
  (s: Sel): void;
  ticks(count: number): Axis;
  tickValues(values: number[]): Axis;
  tickFormat(f: (v: number) => string): Axis;
  tickSize(n: number): Axis;
  tickSizeOuter(n: number): Axis;
  tickPadding(n: number): Axis;
}
interface D3 {
  scaleLinear(): LinearScale;
  axisBottom(s: LinearScale): Axis;
  axisLeft(s: LinearScale): Axis;
}
interface D3NodeInstance {
  d3: D3;
  d3Element: Sel;
  svgString(): string;
}
const D3Node = D3NodeUntyped as new (opts?: Record<string, unknown>) => D3NodeInstance;

// ---------------------------------------------------------------------------------------------

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** The CSP every page carries. */
export const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const C = {
  ink: '#0f172a',
  muted: '#64748b',
  grid: '#eef2f7',
  blue: '#2563eb',
  blueFill: '#bfdbfe',
  navy: '#1e3a8a',
  red: '#dc2626',
  amber: '#d97706',
  green: '#059669',
  gray: '#94a3b8',
};

const r1 = (v: number): number => Math.round(v * 10) / 10;

const SUP = '⁰¹²³⁴⁵⁶⁷⁸⁹';
/** Bucket bound label, one notation for the whole axis: 2ⁿ (bucket 0 starts at 0). */
export function pow2Label(v: number): string {
  if (v < 1) return '0';
  const e = Math.round(Math.log2(v));
  return `2${[...String(e)].map((d) => SUP[Number(d)]).join('')}`;
}

interface Chart {
  d3: D3;
  svg: Sel;
  done(): string;
}

function chart(width: number, height: number, title: string): Chart {
  const node = new D3Node();
  const svg = node.d3Element
    .append('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('width', width)
    .attr('height', height)
    .attr('role', 'img')
    .attr('class', 'chart');
  svg.append('title').text(title);
  return { d3: node.d3, svg, done: () => node.svgString() };
}

/** A chart with nothing to draw: its message centred, and the finished SVG. */
function emptyChart(ch: Chart, width: number, height: number, message: string): string {
  ch.svg
    .append('text')
    .attr('class', 'empty')
    .attr('x', width / 2)
    .attr('y', height / 2)
    .attr('text-anchor', 'middle')
    .text(message);
  return ch.done();
}

/**
 * A dashed vertical marker from just below its label down to `bottom`, labelled beside it: right of
 * the line, or left of it when `labelRight` is false (near the chart's right edge).
 */
function markerLine(
  svg: Sel,
  o: {
    x: number;
    labelY: number;
    bottom: number;
    color: string;
    text: string;
    labelRight: boolean;
    lineClass?: string;
    strokeWidth?: number;
  },
): void {
  const line = svg.append('line');
  if (o.lineClass) line.attr('class', o.lineClass);
  line
    .attr('x1', o.x)
    .attr('x2', o.x)
    .attr('y1', o.labelY + 3)
    .attr('y2', o.bottom)
    .attr('stroke', o.color);
  if (o.strokeWidth !== undefined) line.attr('stroke-width', o.strokeWidth);
  line.attr('stroke-dasharray', '4 3');
  svg
    .append('text')
    .attr('class', 'marker-label')
    .attr('x', o.labelRight ? o.x + 4 : o.x - 4)
    .attr('y', o.labelY)
    .attr('text-anchor', o.labelRight ? 'start' : 'end')
    .attr('fill', o.color)
    .text(o.text);
}

function axisLabel(svg: Sel, x: number, y: number, text: string, rotate = false): void {
  const t = svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('x', x)
    .attr('y', y)
    .attr('text-anchor', 'middle')
    .text(text);
  if (rotate) t.attr('transform', `rotate(-90 ${x} ${y})`);
}

function yAxis(
  svg: Sel,
  d3: D3,
  y: LinearScale,
  x0: number,
  width: number,
  fmt: (v: number) => string,
): void {
  const ticks = y.ticks(5).filter((v) => Number.isInteger(v));
  svg
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(${x0},0)`)
    .call(d3.axisLeft(y).tickValues(ticks).tickFormat(fmt).tickSizeOuter(0));
  const g = svg.append('g').attr('class', 'gridlines');
  for (const v of ticks) {
    if (v === 0) continue;
    g.append('line')
      .attr('x1', x0)
      .attr('x2', x0 + width)
      .attr('y1', r1(y(v)))
      .attr('y2', r1(y(v)));
  }
}

function legend(
  svg: Sel,
  x: number,
  y: number,
  items: { label: string; color: string; kind: 'box' | 'line' | 'dash' }[],
): void {
  let cx = x;
  for (const it of items) {
    const g = svg.append('g').attr('class', 'legend');
    if (it.kind === 'box') {
      g.append('rect')
        .attr('x', cx)
        .attr('y', y - 9)
        .attr('width', 12)
        .attr('height', 10)
        .attr('rx', 2)
        .attr('fill', it.color);
    } else {
      g.append('line')
        .attr('x1', cx)
        .attr('x2', cx + 14)
        .attr('y1', y - 4)
        .attr('y2', y - 4)
        .attr('stroke', it.color)
        .attr('stroke-width', 2)
        .attr('stroke-dasharray', it.kind === 'dash' ? '5 3' : 'none');
    }
    g.append('text')
      .attr('x', cx + 18)
      .attr('y', y)
      .text(it.label);
    cx += 26 + it.label.length * 6.3;
  }
}

// ---------------------------------------------------------------------------------------------
// charts

/** Latency histogram (log2 buckets) with p50/p99 markers. */
export function latencyHistogramSvg(x: ProbeExtras, mhz: number): string {
  const W = 520;
  const H = 280;
  const m = { t: 46, r: 16, b: 50, l: 56 };
  const ch = chart(W, H, `Latency histogram of ${x.event}`);
  const { d3, svg } = ch;
  const buckets = x.histogram.buckets;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  if (buckets.length === 0 || !x.latency) return emptyChart(ch, W, H, 'no calls');
  const maxCount = Math.max(...buckets.map((b) => b.count));
  const y = d3
    .scaleLinear()
    .domain([0, maxCount])
    .nice(5)
    .range([m.t + ph, m.t]);
  const bw = pw / buckets.length;
  yAxis(svg, d3, y, m.l, pw, fmtCompact);
  const bars = svg.append('g');
  buckets.forEach((b, i) => {
    if (b.count === 0) return;
    const y0 = y(b.count);
    const rect = bars
      .append('rect')
      .attr('x', r1(m.l + i * bw + bw * 0.08))
      .attr('y', r1(y0))
      .attr('width', r1(bw * 0.84))
      .attr('height', r1(Math.max(1, m.t + ph - y0)))
      .attr('rx', 1.5)
      .attr('fill', C.blue);
    rect
      .append('title')
      .text(
        `${fmtInt(b.lo)}–${fmtInt(b.hi - 1)} cycles (${fmtCyclesAsTime(b.lo, mhz)}–${fmtCyclesAsTime(b.hi, mhz)}): ${fmtInt(b.count)} calls`,
      );
  });
  // x labels: bucket lower bounds, thinned to at most ~9
  const step = Math.max(1, Math.ceil(buckets.length / 9));
  const xl = svg.append('g').attr('class', 'axis x-axis');
  xl.append('line')
    .attr('x1', m.l)
    .attr('x2', m.l + pw)
    .attr('y1', m.t + ph + 0.5)
    .attr('y2', m.t + ph + 0.5);
  buckets.forEach((b, i) => {
    if (i % step !== 0) return;
    const cx = m.l + i * bw;
    xl.append('line')
      .attr('x1', r1(cx))
      .attr('x2', r1(cx))
      .attr('y1', m.t + ph)
      .attr('y2', m.t + ph + 5);
    xl.append('text')
      .attr('x', r1(cx))
      .attr('y', m.t + ph + 17)
      .attr('text-anchor', 'middle')
      .text(pow2Label(b.lo));
  });
  // percentile markers at their position inside their bucket (log scale within the bucket)
  const first = log2Bucket(buckets[0]?.lo ?? 0);
  const xOf = (v: number): number => {
    const b = log2Bucket(v);
    const frac = b === 0 ? v : Math.log2(v) - (b - 1);
    return m.l + (b - first + Math.min(1, Math.max(0, frac))) * bw;
  };
  const marks: [string, number][] = [
    ['p50', x.latency.p50],
    ['p99', x.latency.p99],
  ];
  marks.forEach(([label, v], j) => {
    const px = r1(xOf(v));
    const color = j === 0 ? C.ink : C.amber;
    markerLine(svg, {
      x: px,
      labelY: m.t - 24 + j * 13,
      bottom: m.t + ph,
      color,
      text: `${label} ${fmtInt(v)}`,
      labelRight: px < m.l + pw * 0.7,
      lineClass: 'marker',
    });
  });
  axisLabel(svg, m.l + pw / 2, H - 10, 'latency (cycles, log₂ buckets)');
  axisLabel(svg, 14, m.t + ph / 2, 'calls', true);
  return ch.done();
}

function stepPath(
  values: readonly number[],
  xOf: (i: number) => number,
  yOf: (v: number) => number,
  close?: number,
): string {
  // collapse runs of equal values; "H"/"V" commands keep it small
  const parts: string[] = [];
  let prev = NaN;
  parts.push(`M${r1(xOf(0))},${close !== undefined ? r1(close) : r1(yOf(values[0] ?? 0))}`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v !== prev) {
      if (i > 0) parts.push(`H${r1(xOf(i))}`);
      parts.push(`V${r1(yOf(v))}`);
      prev = v;
    }
  }
  parts.push(`H${r1(xOf(values.length))}`);
  if (close !== undefined) parts.push(`V${r1(close)}Z`);
  return parts.join('');
}

/** In-flight instances over time, with the pool size, the recommendation and the misses. */
export function timelineSvg(
  tl: ProbeTimeline,
  recommended: number | null,
  mhz: number,
  event: string,
): string {
  const W = 1040;
  const H = 330;
  const m = { t: 40, r: 150, b: 80, l: 56 };
  const ch = chart(W, H, `Calls in flight over time: ${event}`);
  const { d3, svg } = ch;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const n = tl.maxAll.length;
  const peak = Math.max(0, ...tl.maxAll);
  const base = Math.max(peak, recommended ?? 0, 1);
  // a pool far above the data would flatten it: then the pool line is drawn at the top edge
  const poolOnScale = tl.maxactive <= base * 2.5;
  const top = poolOnScale ? Math.max(base, tl.maxactive) : base;
  const y = d3
    .scaleLinear()
    .domain([0, top * 1.12])
    .nice(5)
    .range([m.t + ph, m.t]);
  const x = d3
    .scaleLinear()
    .domain([tl.t0, tl.t1])
    .range([m.l, m.l + pw]);
  const xi = (i: number): number => m.l + (i / n) * pw;
  yAxis(svg, d3, y, m.l, pw, fmtCompact);
  svg
    .append('path')
    .attr('d', stepPath(tl.maxAll, xi, y, m.t + ph))
    .attr('fill', C.blueFill)
    .attr('stroke', C.blue)
    .attr('stroke-width', 1);
  const differs = tl.maxHooked.some((v, i) => v !== tl.maxAll[i]);
  if (differs) {
    svg
      .append('path')
      .attr('d', stepPath(tl.maxHooked, xi, y))
      .attr('fill', 'none')
      .attr('stroke', C.navy)
      .attr('stroke-width', 1.5);
  }
  // horizontal reference lines with labels at the right
  const refs: { v: number; label: string; color: string; dash: string }[] = [
    poolOnScale
      ? { v: tl.maxactive, label: `maxactive ${tl.maxactive}`, color: C.ink, dash: '6 4' }
      : { v: y.domain()[1] ?? top, label: `maxactive ${tl.maxactive} (above)`, color: C.ink, dash: '6 4' },
  ];
  if (recommended !== null) {
    refs.push({ v: recommended, label: `recommended ${recommended}`, color: C.green, dash: '2 3' });
  }
  refs.sort((a, b) => b.v - a.v);
  let lastLabelY = -Infinity;
  for (const r of refs) {
    const py = r1(y(r.v));
    svg
      .append('line')
      .attr('x1', m.l)
      .attr('x2', m.l + pw)
      .attr('y1', py)
      .attr('y2', py)
      .attr('stroke', r.color)
      .attr('stroke-width', 1.5)
      .attr('stroke-dasharray', r.dash);
    const ly = Math.max(py + 4, lastLabelY + 14);
    lastLabelY = ly;
    svg
      .append('text')
      .attr('class', 'ref-label')
      .attr('x', m.l + pw + 8)
      .attr('y', r1(ly))
      .attr('fill', r.color)
      .text(r.label);
  }
  // misses strip between plot and axis
  const sy = m.t + ph + 8;
  const sh = 20;
  const missMax = Math.max(0, ...tl.missNoInstance, ...tl.missReentry);
  svg
    .append('rect')
    .attr('x', m.l)
    .attr('y', sy)
    .attr('width', pw)
    .attr('height', sh)
    .attr('fill', missMax > 0 ? '#fef2f2' : '#f8fafc');
  svg
    .append('text')
    .attr('class', missMax > 0 ? 'strip-label missed-label' : 'strip-label')
    .attr('x', m.l - 6)
    .attr('y', sy + 14)
    .attr('text-anchor', 'end')
    .text(missMax > 0 ? 'MISSED' : 'misses');
  if (missMax > 0) {
    const g = svg.append('g');
    const bw = pw / n;
    const draw = (arr: readonly number[], color: string): void => {
      arr.forEach((c, i) => {
        if (c === 0) return;
        const h = Math.max(3, (sh * Math.sqrt(c)) / Math.sqrt(missMax));
        g.append('rect')
          .attr('x', r1(m.l + i * bw))
          .attr('y', r1(sy + sh - h))
          .attr('width', r1(Math.max(1.5, bw)))
          .attr('height', r1(h))
          .attr('fill', color);
      });
    };
    draw(tl.missReentry, C.amber);
    draw(tl.missNoInstance, C.red);
  } else {
    svg
      .append('text')
      .attr('class', 'strip-note')
      .attr('x', m.l + 8)
      .attr('y', sy + 14)
      .text('no misses in this run');
  }
  svg
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(0,${sy + sh + 4})`)
    .call(d3.axisBottom(x).ticks(8).tickFormat(fmtCompact).tickSizeOuter(0));
  axisLabel(
    svg,
    m.l + pw / 2,
    H - 12,
    `time (cycles; ${fmtInt(mhz)} MHz, full width = ${fmtCyclesAsTime(tl.t1 - tl.t0, mhz)})`,
  );
  axisLabel(svg, 14, m.t + ph / 2, 'calls in flight', true);
  const items: { label: string; color: string; kind: 'box' | 'line' | 'dash' }[] = [
    { label: 'calls in flight (max per bin)', color: C.blueFill, kind: 'box' },
  ];
  if (differs) items.push({ label: 'instances held by the recording', color: C.navy, kind: 'line' });
  items.push({ label: 'missed: no instance', color: C.red, kind: 'box' });
  items.push({ label: 'missed: reentry', color: C.amber, kind: 'box' });
  legend(svg, m.l, 18, items);
  return ch.done();
}

interface CurveMarker {
  k: number;
  label: string;
  color: string;
}

/** Misses as a function of maxactive, with the recorded pool, the defaults and the recommendation. */
export function missCurveSvg(
  curve: readonly MissCurvePoint[],
  markers: readonly CurveMarker[],
  recommended: number | null,
  event: string,
): string {
  const W = 520;
  const H = 280;
  const m = { t: 46, r: 16, b: 50, l: 60 };
  const ch = chart(W, H, `Miss curve of ${event}`);
  const { d3, svg } = ch;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  if (curve.length === 0)
    return emptyChart(ch, W, H, 'no exact miss curve (no calls, or no complete call set)');
  const peak = curve.length;
  let kmax = peak + 1;
  for (const mk of markers) if (mk.k <= Math.max(3 * peak, peak + 8)) kmax = Math.max(kmax, mk.k + 1);
  const maxMiss = Math.max(1, ...curve.map((p) => p.missed));
  const x = d3
    .scaleLinear()
    .domain([0.5, kmax + 0.5])
    .range([m.l, m.l + pw]);
  const y = d3
    .scaleLinear()
    .domain([0, maxMiss])
    .nice(5)
    .range([m.t + ph, m.t]);
  yAxis(svg, d3, y, m.l, pw, fmtCompact);
  const bw = pw / kmax;
  if (curve.length <= 200) {
    const g = svg.append('g');
    for (const p of curve) {
      if (p.missed === 0) continue;
      const y0 = y(p.missed);
      g.append('rect')
        .attr('x', r1(x(p.maxactive) - bw * 0.4))
        .attr('y', r1(y0))
        .attr('width', r1(Math.max(1, bw * 0.8)))
        .attr('height', r1(Math.max(1, m.t + ph - y0)))
        .attr('fill', C.red)
        .append('title')
        .text(`maxactive ${p.maxactive}: ${fmtInt(p.missed)} missed`);
    }
  } else {
    // aggregate: one step path through at most ~1000 points (the curve is non-increasing)
    const stride = Math.ceil(curve.length / 1000);
    const pts: number[] = [];
    for (let i = 0; i < curve.length; i += stride) pts.push((curve[i] as MissCurvePoint).missed);
    svg
      .append('path')
      .attr(
        'd',
        stepPath(pts, (i) => x(1 + i * stride - 0.5), y, m.t + ph),
      )
      .attr('fill', '#fecaca')
      .attr('stroke', C.red);
  }
  // markers: merge equal k, stagger labels
  const byK = new Map<number, CurveMarker[]>();
  for (const mk of markers) byK.set(mk.k, [...(byK.get(mk.k) ?? []), mk]);
  let row = 0;
  for (const [k, list] of [...byK].sort((a, b) => a[0] - b[0])) {
    const color = list[0]?.color ?? C.ink;
    const label = list.map((l) => l.label).join(', ');
    if (k > kmax) {
      svg
        .append('text')
        .attr('class', 'marker-label')
        .attr('x', m.l + pw)
        .attr('y', m.t - 30 + (row++ % 4) * 13)
        .attr('text-anchor', 'end')
        .attr('fill', color)
        .text(`${label}: ${k} →`);
      continue;
    }
    const px = r1(x(k));
    markerLine(svg, {
      x: px,
      labelY: m.t - 30 + (row++ % 4) * 13,
      bottom: m.t + ph,
      color,
      text: `${label}: ${k}`,
      labelRight: px < m.l + pw * 0.62,
      strokeWidth: 1.2,
    });
  }
  if (recommended !== null) {
    const px = r1(x(recommended));
    svg
      .append('circle')
      .attr('cx', px)
      .attr('cy', m.t + ph)
      .attr('r', 5)
      .attr('fill', C.green)
      .attr('stroke', '#fff')
      .attr('stroke-width', 1.5);
  }
  const ticks = x.ticks(Math.min(10, kmax)).filter((v) => Number.isInteger(v) && v >= 1);
  svg
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(0,${m.t + ph})`)
    .call(d3.axisBottom(x).tickValues(ticks).tickFormat(fmtInt).tickSizeOuter(0));
  axisLabel(svg, m.l + pw / 2, H - 10, 'maxactive (instances in the pool)');
  axisLabel(svg, 14, m.t + ph / 2, 'missed calls', true);
  return ch.done();
}

/** Per-CPU timeline of calls (by entry CPU) with the recorded misses. */
export function cpuTimelineSvg(ct: CpuTimeline, mhz: number): string {
  const W = 1040;
  const rowH = Math.max(7, Math.min(20, Math.floor(260 / ct.cpus)));
  const m = { t: 40, r: 24, b: 58, l: 56 };
  const H = m.t + ct.cpus * rowH + m.b;
  const ch = chart(W, H, `Per-CPU timeline of calls, run ${ct.runId}`);
  const { d3, svg } = ch;
  const pw = W - m.l - m.r;
  const bw = pw / ct.bins;
  let maxCov = 0;
  for (const row of ct.coverage) for (const v of row) if (v > maxCov) maxCov = v;
  const LEVELS = 8;
  const level = (v: number): number =>
    v <= 0 || maxCov <= 0 ? 0 : Math.max(1, Math.ceil((v / maxCov) * LEVELS));
  const labelEvery = Math.ceil(12 / rowH);
  ct.coverage.forEach((row, cpu) => {
    const y0 = m.t + cpu * rowH;
    svg
      .append('rect')
      .attr('x', m.l)
      .attr('y', y0)
      .attr('width', pw)
      .attr('height', rowH - 1)
      .attr('fill', '#f1f5f9');
    if (cpu % labelEvery === 0) {
      svg
        .append('text')
        .attr('class', 'row-label')
        .attr('x', m.l - 6)
        .attr('y', y0 + rowH / 2 + 4)
        .attr('text-anchor', 'end')
        .text(`cpu${cpu}`);
    }
    const g = svg.append('g').attr('fill', C.blue);
    let b = 0;
    while (b < ct.bins) {
      const lv = level(row[b] ?? 0);
      let e = b + 1;
      while (e < ct.bins && level(row[e] ?? 0) === lv) e++;
      if (lv > 0) {
        g.append('rect')
          .attr('x', r1(m.l + b * bw))
          .attr('y', y0)
          .attr('width', r1((e - b) * bw))
          .attr('height', rowH - 1)
          .attr('fill-opacity', r1((0.15 + (0.85 * lv) / LEVELS) * 100) / 100);
      }
      b = e;
    }
    const missRow = ct.misses[cpu] ?? [];
    const mg = svg.append('g').attr('fill', C.red);
    for (let i = 0; i < missRow.length; i++) {
      if ((missRow[i] ?? 0) === 0) continue;
      let e = i + 1;
      while (e < missRow.length && (missRow[e] ?? 0) > 0) e++;
      mg.append('rect')
        .attr('x', r1(m.l + i * bw))
        .attr('y', y0)
        .attr('width', r1(Math.max(2, (e - i) * bw)))
        .attr('height', Math.max(2, Math.round(rowH / 3)));
      i = e - 1;
    }
  });
  const x = d3
    .scaleLinear()
    .domain([ct.t0, ct.t1])
    .range([m.l, m.l + pw]);
  svg
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(0,${m.t + ct.cpus * rowH + 2})`)
    .call(d3.axisBottom(x).ticks(8).tickFormat(fmtCompact).tickSizeOuter(0));
  axisLabel(svg, m.l + pw / 2, H - 12, `time (cycles; full width = ${fmtCyclesAsTime(ct.t1 - ct.t0, mhz)})`);
  // legend: shade ramp + miss mark
  const lg = svg.append('g').attr('class', 'legend');
  lg.append('text').attr('x', m.l).attr('y', 20).text('calls in flight that entered on the CPU:');
  const rampX = m.l + 236;
  for (let lv = 1; lv <= LEVELS; lv++) {
    lg.append('rect')
      .attr('x', rampX + (lv - 1) * 14)
      .attr('y', 11)
      .attr('width', 13)
      .attr('height', 11)
      .attr('fill', C.blue)
      .attr('fill-opacity', r1((0.15 + (0.85 * lv) / LEVELS) * 100) / 100);
  }
  lg.append('text')
    .attr('x', rampX + LEVELS * 14 + 6)
    .attr('y', 20)
    .text(`up to ${maxCov >= 10 ? fmtCompact(maxCov) : r1(maxCov)} (average per bin)`);
  const mx = rampX + LEVELS * 14 + 200;
  lg.append('rect').attr('x', mx).attr('y', 11).attr('width', 12).attr('height', 11).attr('fill', C.red);
  lg.append('text')
    .attr('x', mx + 18)
    .attr('y', 20)
    .text('missed entries');
  return ch.done();
}

// ---------------------------------------------------------------------------------------------
// page

const CSS = `
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f6f7f9;--card:#fff;--blue:#2563eb;--red:#dc2626;--green:#059669;--amber:#d97706}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}
header h1{font-size:26px;letter-spacing:-.01em;margin:0}
header p{margin:4px 0 0;color:var(--muted)}
h2{font-size:18px;margin:0 0 12px;letter-spacing:-.005em}
h3{font-size:14px;margin:18px 0 6px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.05em}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 22px;margin:18px 0;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.banner{border-radius:12px;padding:16px 20px;margin:20px 0;font-size:15px}
.banner.bad{background:#fef2f2;border:1px solid #fecaca;border-left:6px solid var(--red)}
.banner.good{background:#f0fdf4;border:1px solid #bbf7d0;border-left:6px solid var(--green)}
.banner strong.missed{color:var(--red)}
.recs{margin:0;padding-left:20px}.recs li{margin:6px 0}
.rec-k{font-weight:700}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
th,td{padding:7px 7px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top;white-space:nowrap}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em;border-bottom:2px solid var(--line);white-space:normal;vertical-align:bottom}
table.summary th,table.summary td{padding:7px 5px}
table.summary td.name{min-width:150px}
.cmd{margin:2px 0 0;font-size:12.5px;color:var(--muted)}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--ink);overflow-wrap:anywhere}
th:first-child,td:first-child{text-align:left}
td.name{white-space:normal;overflow-wrap:anywhere;min-width:190px}
td small,.sub{color:var(--muted);font-size:12px;display:block}
.missed{color:var(--red);font-weight:700}
.badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:11px;font-weight:700;letter-spacing:.05em;vertical-align:1px}
.badge.miss{background:var(--red);color:#fff}
.badge.ok{background:#dcfce7;color:#166534}
.badge.kind{background:#e0e7ff;color:#3730a3;font-weight:600}
.badge.replay{background:#fef3c7;color:#92400e}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin:8px 0 6px}
.tile{border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.tile .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;letter-spacing:-.01em}
.tile .l{font-size:12px;color:var(--muted)}
.tile.bad{border-color:#fecaca;background:#fef2f2}.tile.bad .v{color:var(--red)}
.tile.good{border-color:#bbf7d0;background:#f0fdf4}.tile.good .v{color:var(--green)}
.why{margin:10px 0;color:#334155}
.sub-inline{color:var(--muted);font-size:12px}
td.top{white-space:normal;text-align:left}
.note{color:#92400e;background:#fffbeb;border:1px solid #fde68a;border-radius:8px;padding:8px 12px;margin:10px 0}
.warn{color:#991b1b;background:#fef2f2;border:1px solid #fecaca;border-radius:8px;padding:8px 12px;margin:10px 0}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
figure{margin:12px 0 0}
figcaption{font-size:12.5px;color:var(--muted);margin-top:2px}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg text{font-family:inherit;font-size:11.5px;fill:#334155}
svg .axis text{fill:var(--muted);font-size:11px}
svg .axis path,svg .axis line{stroke:#cbd5e1}
svg .gridlines line{stroke:#eef2f7}
svg .axis-label{fill:var(--muted);font-size:11.5px}
svg .marker-label,svg .ref-label{font-size:11.5px;font-weight:600}
svg .strip-label{fill:var(--muted);font-size:10.5px;font-weight:700;letter-spacing:.04em}
svg .missed-label{fill:var(--red)}
svg .strip-note{fill:var(--muted);font-size:11px}
svg .row-label{fill:var(--muted);font-size:10.5px}
svg .legend text{fill:#334155;font-size:11.5px}
svg .empty{fill:var(--muted);font-size:13px}
footer{color:var(--muted);font-size:12.5px;margin-top:28px}
footer p{margin:4px 0}
`;

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : fmtInt(v);
}

function latCell(v: number | null, mhz: number): string {
  if (v === null) return '<td>–</td>';
  return `<td>${escapeHtml(fmtInt(v))}<small>${escapeHtml(fmtNs((v * 1000) / mhz))}</small></td>`;
}

function missCell(v: number): string {
  return v > 0
    ? `<td class="missed">${escapeHtml(fmtInt(v))} <span class="badge miss">MISSED</span></td>`
    : '<td>0</td>';
}

/** An argument value in its display type, escaped (string arguments come from the guest). */
function argHtml(v: number | string | null, type: string): string {
  return v === null ? '–' : escapeHtml(formatArgValue(v, type));
}

function argsTableHtml(args: readonly ArgSummaryJson[], withLatency: boolean, mhz: number): string {
  const rows = args.map((a) => {
    const top =
      a.count > 1 && a.distinct === a.count
        ? '<span class="sub">all distinct</span>'
        : a.top
            .map(
              (t) =>
                `<code>${argHtml(t.value, a.type)}</code> ×${fmtInt(t.count)}` +
                (withLatency && t.p50_latency !== null
                  ? ` <span class="sub-inline">p50 ${escapeHtml(fmtNs((t.p50_latency * 1000) / mhz))}</span>`
                  : ''),
            )
            .join('<br>');
    return (
      `<tr><td class="name">${escapeHtml(a.name)}</td><td>${escapeHtml(a.type)}</td><td>${fmtInt(a.count)}</td>` +
      `<td>${argHtml(a.min, a.type)}</td><td>${argHtml(a.p50, a.type)}</td><td>${argHtml(a.p99, a.type)}</td>` +
      `<td>${argHtml(a.max, a.type)}</td><td>${fmtInt(a.distinct)}</td><td class="top">${top}</td></tr>`
    );
  });
  return (
    '<div class="scroll"><table class="args"><thead><tr><th>argument</th><th>type</th><th>count</th><th>min</th>' +
    `<th>p50</th><th>p99</th><th>max</th><th>distinct</th><th>top values${withLatency ? ' (p50 latency)' : ''}</th></tr></thead><tbody>` +
    rows.join('') +
    '</tbody></table></div>'
  );
}

function groupsTableHtml(g: ArgGroupsJson, withLatency: boolean, mhz: number): string {
  const rows = g.rows.slice(0, TEXT_GROUPS).map((r) => {
    const v = `<td class="name"><code>${argHtml(r.value, g.type)}</code></td><td>${fmtInt(r.calls)}</td>`;
    if (!withLatency) return `<tr>${v}</tr>`;
    const missed = r.missed === null ? '<td>?</td>' : missCell(r.missed);
    return `<tr>${v}${missed}${latCell(r.latency.p50, mhz)}${latCell(r.latency.p99, mhz)}${latCell(r.latency.max, mhz)}</tr>`;
  });
  const more = g.distinct - Math.min(g.rows.length, TEXT_GROUPS);
  const notes: string[] = [];
  if (more > 0)
    notes.push(`${fmtInt(more)} more values (--json lists the ${fmtInt(g.rows.length)} most frequent).`);
  if (withLatency && g.rows.some((r) => r.missed === null))
    notes.push(
      'Missed per value unknown: the recording missed calls whose arguments no replay has recorded.',
    );
  return (
    `<div class="scroll"><table class="groups"><thead><tr><th>${escapeHtml(g.arg)}</th><th>${withLatency ? 'calls' : 'hits'}</th>` +
    (withLatency ? '<th>missed</th><th>p50</th><th>p99</th><th>max</th>' : '') +
    '</tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table></div>' +
    notes.map((n) => `<p class="sub">${escapeHtml(n)}</p>`).join('')
  );
}

function sweepHtml(model: ReportModel, x: ProbeExtras): string {
  const sw = x.sweep;
  if (!sw) return '';
  const w = sw.worst;
  const run = model.extras.runs[w.runIndex];
  const hist = sw.histogram
    .map((h) => `${h.peak}: ${fmtInt(h.runs)} run${h.runs === 1 ? '' : 's'}`)
    .join(', ');
  const replay = run?.file ? `probe-replay ${shellWord(run.file)} --run ${w.runId}` : null;
  return (
    `<h3>Peaks over ${fmtInt(sw.runs)} runs</h3><p class="why" data-field="sweep">min ${sw.min}, p50 ${sw.p50}, p90 ${sw.p90}, ` +
    `max ${sw.max}${sw.lowerBounds ? ' (some are lower bounds)' : ''}; ${escapeHtml(hist)}.<br>Worst seed: ` +
    `<strong>${escapeHtml(String(run?.seed ?? '?'))}</strong> (run ${escapeHtml(runLabel(model, w.runIndex))}, peak ${w.peak}` +
    `${w.missed + w.missedReentry > 0 ? `, ${fmtInt(w.missed + w.missedReentry)} missed` : ''})` +
    (replay ? `; replay it: <code>${escapeHtml(replay)}</code>` : '') +
    '</p>'
  );
}

function syscallsHtml(model: ReportModel): string {
  const parts = (model.extras.syscalls ?? []).map((t) => {
    const label = t.source !== undefined ? `${t.source}#${t.runId}` : String(t.runId);
    if (t.rows === null)
      return `<h3>Run ${escapeHtml(label)}</h3><p class="sub">This trace has no syscall table: it was recorded before probelab kept one.</p>`;
    const rows = t.rows.map(
      (r) =>
        `<tr><td class="name"><code>${escapeHtml(r.name)}</code></td><td>${r.nr}</td><td>${fmtInt(r.calls)}</td>` +
        `<td>${fmtInt(r.errors)}</td>${r.enosys > 0 ? `<td class="missed">${fmtInt(r.enosys)} <span class="badge miss">ENOSYS</span></td>` : '<td>0</td>'}</tr>`,
    );
    return (
      `<h3>Run ${escapeHtml(label)}</h3><div class="scroll"><table class="syscalls"><thead><tr><th>syscall</th><th>nr</th>` +
      `<th>calls</th><th>errors</th><th>unimplemented</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
    );
  });
  return `<section class="card"><h2>System calls</h2>${parts.join('')}</section>`;
}

function summaryTable(model: ReportModel): string {
  const { json, extras } = model;
  const rows = json.probes.map((p, i) => {
    const x = extras.probes[i] as ProbeExtras;
    const isRet = p.kind === 'kretprobe';
    const rec =
      p.recommended_maxactive !== null
        ? `<td class="rec-k" data-field="recommended">${p.recommended_maxactive}</td>`
        : `<td data-field="recommended">${isRet ? '<span class="sub">needs replay</span>' : '–'}</td>`;
    const d = p.defaults;
    return (
      `<tr><td class="name"><a id="sum-${i}"></a>${escapeHtml(p.event)}<small>${escapeHtml(x.location)} · ${escapeHtml(p.kind)}</small></td>` +
      `<td>${isRet ? num(p.maxactive) : '–'}</td><td>${num(p.hits)}</td><td>${isRet ? num(p.calls) : '–'}</td>` +
      missCell(p.missed) +
      missCell(p.missed_reentry) +
      latCell(p.latency.p50, extras.mhz) +
      latCell(p.latency.p99, extras.mhz) +
      latCell(p.latency.max, extras.mhz) +
      `<td data-field="peak">${isRet ? num(p.peak_concurrency ?? x.peakLowerBound) : '–'}${p.peak_concurrency === null && x.peakLowerBound !== null ? '<small>lower bound</small>' : ''}</td>` +
      rec +
      `<td>${d ? `${d.linux_2_6_13} / ${d.linux_6_2} / ${d.systemtap}` : '–'}</td></tr>`
    );
  });
  return (
    '<div class="scroll"><table class="summary"><thead><tr><th>probe</th><th>maxactive</th><th>hits</th><th>calls</th><th>missed</th>' +
    '<th>reentry</th><th>p50</th><th>p99</th><th>max</th><th>peak</th><th>recommended</th>' +
    '<th title="Linux 2.6.13 / Linux 6.2+ / SystemTap">defaults</th></tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table></div>'
  );
}

function runsTable(model: ReportModel): string {
  const rows = model.json.runs.map((r, i) => {
    const x = model.extras.runs[i];
    return (
      `<tr><td class="name">${escapeHtml(runLabel(model, i))}</td><td>${escapeHtml(r.workload)}</td><td>${r.cpus}</td>` +
      `<td>${r.preempt ? 'yes' : 'no'}</td><td>${escapeHtml(String(r.seed))}</td><td>${x?.chaos ? 'yes' : 'no'}</td>` +
      `<td>${escapeHtml(r.status)}</td><td>${num(r.instructions)}</td><td>${num(r.cycles)}<small>${escapeHtml(
        fmtCyclesAsTime(r.cycles, x?.mhz ?? model.extras.mhz),
      )}</small></td><td>${num(x?.tasks)}</td></tr>`
    );
  });
  return (
    '<div class="scroll"><table class="runs"><thead><tr><th>run</th><th>workload</th><th>cpus</th><th>preempt</th><th>seed</th><th>chaos</th>' +
    '<th>status</th><th>instructions</th><th>cycles</th><th>tasks</th></tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table></div>'
  );
}

/** Per run with several processes: its processes, then each probe's figures in each of them. */
function processesHtml(model: ReportModel): string {
  const n = (v: number | null): string => (v === null ? '–' : escapeHtml(fmtInt(v)));
  const parts = processesByRun(model).map((r) => {
    const procs = r.shown;
    const rows = procs.map(
      (p) =>
        `<tr><td>${p.pid}</td><td>${p.ppid}</td><td>${fmtInt(p.threads)}</td><td class="name">${escapeHtml(p.name)}</td>` +
        `<td class="name"><code>${escapeHtml(exeLabel(p))}</code></td></tr>`,
    );
    const probeRows = procs.flatMap((p) =>
      p.probes.map((q) => {
        const ret = q.kind === 'kretprobe';
        return (
          `<tr><td>${p.pid}</td><td class="name">${escapeHtml(q.event)}<small>${escapeHtml(q.kind)}</small></td>` +
          `<td>${n(q.hits)}</td><td>${ret ? n(q.calls) : '–'}</td>${missCell(q.missed)}${missCell(q.missed_reentry)}` +
          `${latCell(q.latency.p50, model.extras.mhz)}${latCell(q.latency.p99, model.extras.mhz)}${latCell(q.latency.max, model.extras.mhz)}` +
          `<td>${n(q.peak_concurrency)}</td><td>${n(q.max_depth)}</td><td>${n(q.held_at_peak)}</td><td>${n(q.recommended_maxactive)}</td></tr>`
        );
      }),
    );
    return (
      `<h3>Run ${escapeHtml(r.label)}: processes (${escapeHtml(processCount(r))})</h3><div class="scroll"><table class="processes"><thead><tr>` +
      '<th>pid</th><th>ppid</th><th>threads</th><th>name</th><th>exe</th></tr></thead><tbody>' +
      rows.join('') +
      '</tbody></table></div>' +
      (probeRows.length > 0
        ? '<div class="scroll"><table class="process-probes"><thead><tr><th>pid</th><th>probe</th><th>hits</th><th>calls</th>' +
          '<th>missed</th><th>reentry</th><th>p50</th><th>p99</th><th>max</th><th>peak</th><th>depth</th><th>at peak</th>' +
          `<th>alone</th></tr></thead><tbody>${probeRows.join('')}</tbody></table></div>`
        : '')
    );
  });
  return `<section class="card"><h2>Processes</h2>${parts.join('')}<p class="sub">${escapeHtml(PROCESS_NOTE)}</p></section>`;
}

function tile(label: string, value: string, cls = ''): string {
  return `<div class="tile ${cls}"><div class="v">${value}</div><div class="l">${label}</div></div>`;
}

function latencyTable(x: ProbeExtras, mhz: number): string {
  const row = (label: string, s: LatencyStats | null): string => {
    if (!s) return `<tr><td>${label}</td><td>0</td><td colspan="7">–</td></tr>`;
    const vals = [s.min, s.mean, s.p50, s.p90, s.p99, s.p999, s.max];
    return (
      `<tr><td>${label}</td><td>${fmtInt(s.count)}</td>` +
      vals
        .map((v) => `<td>${escapeHtml(fmtInt(v))}<small>${escapeHtml(fmtNs((v * 1000) / mhz))}</small></td>`)
        .join('') +
      '</tr>'
    );
  };
  return (
    '<div class="scroll"><table class="latency"><thead><tr><th>cycles / time</th><th>count</th><th>min</th><th>mean</th><th>p50</th>' +
    '<th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr></thead><tbody>' +
    row('inclusive', x.latency) +
    row('self', x.self) +
    '</tbody></table></div>'
  );
}

function probeSection(model: ReportModel, i: number): string {
  const p = model.json.probes[i] as ReportProbeJson;
  const x = model.extras.probes[i] as ProbeExtras;
  const mhz = model.extras.mhz;
  const isRet = p.kind === 'kretprobe';
  const parts: string[] = [];
  parts.push(
    `<section class="card probe" id="probe-${i}"><h2>${escapeHtml(p.event)} <span class="badge kind">${escapeHtml(p.kind)}</span>` +
      (x.complete_from_replay ? ' <span class="badge replay">complete set from replay</span>' : '') +
      `</h2><div class="sub">${x.location === p.symbol ? 'on' : 'at'} <code>${escapeHtml(x.location)}</code>${isRet ? `, maxactive ${escapeHtml(x.recordedMaxactive.join(' / '))}` : ''}</div>`,
  );
  const tiles: string[] = [tile('hits', num(p.hits))];
  if (isRet) tiles.push(tile('calls hooked', num(p.calls)));
  // only return probes have instances to run out of
  if (isRet) tiles.push(tile('missed (no instance)', num(p.missed), p.missed > 0 ? 'bad' : ''));
  const reentry = isRet ? p.missed_reentry : p.missed + p.missed_reentry;
  tiles.push(tile('missed (reentry)', num(reentry), reentry > 0 ? 'bad' : ''));
  if (isRet) {
    tiles.push(tile('peak in flight', num(p.peak_concurrency ?? x.peakLowerBound)));
    tiles.push(
      tile(
        'recommended maxactive',
        p.recommended_maxactive !== null ? String(p.recommended_maxactive) : '?',
        p.recommended_maxactive !== null ? 'good' : 'bad',
      ),
    );
    if (x.memory)
      tiles.push(tile(`memory for ${x.memory.instances} instances`, `${fmtInt(x.memory.totalBytes)} B`));
  }
  parts.push(`<div class="tiles">${tiles.join('')}</div>`);
  if (p.args.length > 0) parts.push('<h3>Arguments</h3>', argsTableHtml(p.args, isRet, mhz));
  if (p.groups) parts.push(`<h3>By ${escapeHtml(p.groups.arg)}</h3>`, groupsTableHtml(p.groups, isRet, mhz));
  if (isRet) {
    const sentence = recommendationSentence(model, i);
    if (sentence) parts.push(`<p class="why"><strong>${escapeHtml(sentence)}</strong></p>`);
    if (x.peak) {
      const w = x.peak.why;
      const cpus =
        w.cpusInFunction !== null
          ? `CPUs executing in the function at that moment: ${w.cpusInFunction.length > 0 ? w.cpusInFunction.join(', ') : 'none'}.`
          : `The in-flight calls entered on CPUs ${w.entryCpus.join(', ')}; no scheduler timeline, so running vs sleeping is unknown.`;
      const tasks = w.perTask
        .slice(0, 8)
        .map((t) => `tid ${t.tid}${t.held > 1 ? ` ×${t.held}` : ''}${t.state ? ` (${t.state})` : ''}`)
        .join(', ');
      parts.push(
        `<p class="why">Peak: ${escapeHtml(peakSummary(model, x.peak))}. ${escapeHtml(cpus)} ` +
          `Holders: ${escapeHtml(tasks)}${w.perTask.length > 8 || w.tasks > w.perTask.length ? ', …' : ''}.</p>`,
      );
    }
    if (x.complete_from_replay) {
      parts.push(
        `<p class="note">The recording missed calls, so latency, concurrency and the miss curve use the complete call set ` +
          `from a replay with an unbounded pool: ${escapeHtml(fmtInt(x.analysedCalls))} calls, ${escapeHtml(
            fmtInt(x.unhookedCalls),
          )} of them missed by the recording.</p>`,
      );
    }
    if (x.note) parts.push(`<p class="warn">${escapeHtml(x.note)}</p>`);
    if (
      x.crossCheck &&
      (x.crossCheck.predicted !== x.crossCheck.recorded || x.crossCheck.mismatchedCalls > 0)
    ) {
      parts.push(
        `<p class="warn">Cross-check failed: simulating the recorded pool predicts ${escapeHtml(fmtInt(x.crossCheck.predicted))} ` +
          `misses, the recording counted ${escapeHtml(fmtInt(x.crossCheck.recorded))} (${escapeHtml(
            fmtInt(x.crossCheck.mismatchedCalls),
          )} calls disagree).</p>`,
      );
    }
    const markers: CurveMarker[] = [];
    for (const k of x.recordedMaxactive) markers.push({ k, label: 'recorded', color: C.ink });
    if (p.defaults) {
      markers.push({ k: p.defaults.linux_2_6_13, label: '2.6.13', color: C.gray });
      markers.push({ k: p.defaults.linux_6_2, label: '6.2', color: C.gray });
      markers.push({ k: p.defaults.systemtap, label: 'SystemTap', color: C.gray });
    }
    const curve = p.miss_curve.length > 0 ? p.miss_curve : [];
    parts.push('<div class="grid2">');
    parts.push(
      `<figure>${latencyHistogramSvg(x, mhz)}<figcaption>Latency of ${escapeHtml(fmtInt(x.latency?.count ?? 0))} calls, ` +
        `log₂ buckets of cycles; dashed lines mark p50 and p99.</figcaption></figure>`,
    );
    parts.push(
      `<figure>${missCurveSvg(curve, markers, p.recommended_maxactive, p.event)}<figcaption>Calls a pool of k instances ` +
        `would have missed on this execution (exact, summed over runs); green dot: smallest k with no misses.</figcaption></figure>`,
    );
    parts.push('</div>');
    if (x.timeline) {
      const multi =
        model.json.runs.length > 1
          ? ` (run ${runLabel(model, x.timeline.runIndex)}, the run with the most misses)`
          : '';
      parts.push(
        `<figure>${timelineSvg(x.timeline, p.recommended_maxactive, mhz, p.event)}<figcaption>Instances in flight over time${escapeHtml(
          multi,
        )}, maximum per bin of ${escapeHtml(fmtCyclesAsTime((x.timeline.t1 - x.timeline.t0) / x.timeline.maxAll.length, mhz))}; ` +
          `the strip below the plot marks recorded misses.</figcaption></figure>`,
      );
    }
    parts.push('<h3>Latency</h3>');
    parts.push(latencyTable(x, mhz));
    if (x.sweep) parts.push(sweepHtml(model, x));
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** The whole page. */
export function renderHtml(model: ReportModel): string {
  const { json, extras } = model;
  const workloads = [...new Set(json.runs.map((r) => r.workload))];
  const title = `probelab report — ${workloads.join(', ') || 'no runs'}`;
  const t = extras.totals;
  const out: string[] = [];
  out.push('<!doctype html>');
  out.push('<html lang="en"><head><meta charset="utf-8">');
  out.push(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push('<meta name="referrer" content="no-referrer">');
  out.push(`<title>${escapeHtml(title)}</title>`);
  out.push(`<style>${CSS}</style></head><body><main>`);
  const cpus = [...new Set(json.runs.map((r) => r.cpus))].join('/');
  out.push(
    `<header><h1>probelab report</h1><p>${escapeHtml(workloads.join(', ') || 'no runs')} · ${json.runs.length} run${
      json.runs.length === 1 ? '' : 's'
    } · ${escapeHtml(cpus)} CPU${cpus === '1' ? '' : 's'} · clock ${escapeHtml(fmtInt(extras.mhz))} MHz · ${json.probes.length} probe${
      json.probes.length === 1 ? '' : 's'
    }</p></header>`,
  );
  if (t.missed + t.missedReentry > 0) {
    out.push(
      `<div class="banner bad" role="alert"><strong class="missed">MISSED: ${escapeHtml(
        fmtInt(t.missed + t.missedReentry),
      )} calls</strong> never reached their return probe handlers (${escapeHtml(fmtInt(t.missed))} for lack of a free instance, ` +
        `${escapeHtml(fmtInt(t.missedReentry))} by reentry) in ${escapeHtml(t.probesWithMisses.join(', '))}. ` +
        'The recommendations below say which maxactive would have missed none.</div>',
    );
  } else {
    out.push('<div class="banner good">No calls were missed: every probe hit reached its handlers.</div>');
  }
  const sentences = json.probes
    .map((_, i) => ({ i, s: recommendationSentence(model, i) }))
    .filter((x): x is { i: number; s: string } => x.s !== null);
  if (sentences.length > 0) {
    out.push(
      `<section class="card"><h2>Recommendations</h2><ul class="recs">${sentences
        .map(({ i, s }) => {
          const c = recommendationCommands(model, i);
          const cmds = c
            ? `<div class="cmd">spec <code>${escapeHtml(c.spec)}</code></div>` +
              (c.replay
                ? `<div class="cmd">confirm <code>${escapeHtml(c.replay)}</code> <span class="sub-inline">(its missed column shows 0)</span></div>`
                : '')
            : '';
          return `<li>${escapeHtml(s)}${cmds}</li>`;
        })
        .join('')}</ul></section>`,
    );
  }
  out.push(
    `<section class="card"><h2>Summary</h2>${summaryTable(model)}<p class="sub">Latency in cycles (time below at ${escapeHtml(
      fmtInt(extras.mhz),
    )} MHz); defaults = Linux 2.6.13 / Linux ≥ 6.2 / SystemTap on this machine.</p></section>`,
  );
  out.push(`<section class="card"><h2>Runs</h2>${runsTable(model)}</section>`);
  if (json.processes) out.push(processesHtml(model));
  if (extras.syscalls) out.push(syscallsHtml(model));
  json.probes.forEach((_, i) => out.push(probeSection(model, i)));
  if (extras.cpuTimeline) {
    const ct = extras.cpuTimeline;
    out.push(
      `<section class="card"><h2>Per-CPU timeline</h2><figure>${cpuTimelineSvg(ct, extras.mhz)}<figcaption>Run ${escapeHtml(runLabel(model, ct.runIndex))}` +
        `${json.runs.length > 1 ? ' (the run with the most misses)' : ''}: shade = average number of probed calls in flight ` +
        `that entered on each CPU, in ${ct.bins} bins; red marks = missed entries (no instance or reentry).</figcaption></figure></section>`,
    );
  }
  out.push(
    '<footer><p>Percentiles are nearest-rank: the value at rank ⌈p/100 × count⌉ of the sorted latencies. Self time ' +
      'excludes probed calls nested in the same task. The miss curve replays the pool over the complete call set in ' +
      'event order; it is exact, not a model.</p>' +
      `<p>Instance memory: struct kretprobe_instance is 28 bytes on i386 in Linux 2.6.13 (two hlist_nodes, rp, ret_addr, task), ` +
      'served from the 32-byte kmalloc cache.</p>' +
      `<p>Generated by probelab from ${json.runs.length} run${json.runs.length === 1 ? '' : 's'}. This page is self-contained and makes no network requests.</p></footer>`,
  );
  out.push('</main></body></html>');
  return out.join('\n') + '\n';
}
