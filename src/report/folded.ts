// Folded stacks ("task;outer;inner count") for flamegraph.pl, speedscope, inferno, etc.
//
// Guarantees:
// - Stacks come from the nesting of probed calls per task (seq order, `nesting` in
//   src/analysis/latency.ts); the count of a stack is the SUM OF SELF TIMES in cycles of the calls
//   ending it, so the total of all lines equals the total inclusive time of the outermost calls.
// - Frames: the task ("name-tid", or "tid-N" without a name), then one frame per probed call,
//   named by the probe's symbol (or "symbol[GRP/EVENT]" when several probes share a symbol).
//   With several runs every stack starts with "run<N>". ';' in names becomes ':' and whitespace
//   runs become one space, so a line always parses back (`parseFolded`).
// - Calls that never returned are left out; a call that overlapped a same-task call without
//   nesting in it hangs directly under its task. Lines with a zero count are omitted; lines are
//   sorted, so the output is deterministic.
// - Uses the same analysed call set as the report (the complete set when the run supplies one).

import { nesting } from '../analysis/latency.js';
import { escapeControls } from '../cli/terminal.js';
import { asCallTable, callOrder, type AnalysisInput } from '../analysis/model.js';

function frame(s: string): string {
  // Control characters are shown escaped (terminal.ts): folded files end up on terminals (cat, less).
  return escapeControls(s.replace(/;/g, ':').replace(/\s+/g, ' ').trim()) || '?';
}

/** stack → total self cycles. */
export function foldedStacks(input: AnalysisInput): Map<string, number> {
  const out = new Map<string, number>();
  const multi = input.runs.length > 1;
  for (const rd of input.runs) {
    const t = asCallTable(rd.complete ?? rd.calls, false);
    if (t.length === 0) continue;
    const order = callOrder(t);
    const nest = nesting(t, order.entryOrder);
    const bySymbol = new Map<string, number>();
    for (const p of rd.probes) bySymbol.set(p.symbol, (bySymbol.get(p.symbol) ?? 0) + 1);
    const frameOf = new Map<number, string>();
    for (const p of rd.probes) {
      frameOf.set(p.probeId, frame((bySymbol.get(p.symbol) ?? 0) > 1 ? `${p.symbol}[${p.event}]` : p.symbol));
    }
    const names = new Map<number, string>();
    for (const task of rd.tasks ?? []) if (task.name) names.set(task.tid, task.name);
    const prefix = multi ? `run${rd.run.runId};` : '';
    // trie of paths: key "parentId/frame" → path id; strings built once per distinct path
    const pathIds = new Map<string, number>();
    const pathStr: string[] = [];
    const selfSum: number[] = [];
    const intern = (parent: number, f: string, text: () => string): number => {
      const key = `${parent}/${f}`;
      let id = pathIds.get(key);
      if (id === undefined) {
        id = pathStr.length;
        pathIds.set(key, id);
        pathStr.push(text());
        selfSum.push(0);
      }
      return id;
    };
    const taskPath = new Map<number, number>();
    const callPath = new Int32Array(t.length);
    for (let k = 0; k < t.length; k++) {
      const i = order.entryOrder[k] as number;
      const tid = t.tid[i] as number;
      let root = taskPath.get(tid);
      if (root === undefined) {
        const name = names.get(tid);
        const tf = frame(name ? `${name}-${tid}` : `tid-${tid}`);
        root = intern(-1 - tid, tf, () => `${prefix}${tf}`);
        taskPath.set(tid, root);
      }
      const par = nest.parent[i] as number;
      const parentPath = par >= 0 ? (callPath[par] as number) : root;
      const f = frameOf.get(t.probeId[i] as number) ?? `probe${t.probeId[i]}`;
      const id = intern(parentPath, f, () => `${pathStr[parentPath]};${f}`);
      callPath[i] = id;
      const s = nest.self[i] as number;
      if (Number.isFinite(s)) selfSum[id] = (selfSum[id] as number) + s;
    }
    for (let id = 0; id < pathStr.length; id++) {
      const v = selfSum[id] as number;
      if (v === 0) continue;
      const key = pathStr[id] as string;
      out.set(key, (out.get(key) ?? 0) + v);
    }
  }
  return out;
}

/** Folded-stack text: one "stack count" line per stack, sorted. */
export function renderFolded(input: AnalysisInput): string {
  const m = foldedStacks(input);
  const keys = [...m.keys()].sort();
  return keys.map((k) => `${k} ${m.get(k)}`).join('\n') + (keys.length > 0 ? '\n' : '');
}

/** Parses folded-stack text back into stack → count (counts of repeated stacks add up). */
export function parseFolded(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    if (sp <= 0) throw new Error(`bad folded line: ${line}`);
    const stack = line.slice(0, sp);
    const count = Number(line.slice(sp + 1));
    if (!Number.isFinite(count)) throw new Error(`bad count in folded line: ${line}`);
    out.set(stack, (out.get(stack) ?? 0) + count);
  }
  return out;
}
