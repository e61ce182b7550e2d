// Hints under a rejected probe spec, added by the commands that take specs (the error itself keeps
// Linux's trace_kprobe form): "did you mean" for a symbol the binary does not have, naming the
// binary's closest function names, and the jprobe form when a `j:` spec lacks its handler.

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(n + 1).fill(0);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/**
 * The names closest to `name` (at most 3, nearest first, then alphabetical): those within a third of
 * its length in edits (at least 1), or equal ignoring case.
 */
export function closestNames(name: string, names: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(name.length / 3));
  const scored: Array<{ n: string; d: number }> = [];
  for (const n of new Set(names)) {
    if (n === name) continue;
    const d = n.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, n);
    if (d <= limit) scored.push({ n, d });
  }
  scored.sort((x, y) => x.d - y.d || (x.n < y.n ? -1 : x.n > y.n ? 1 : 0));
  return scored.slice(0, 3).map((s) => s.n);
}

/** The symbol a spec names as its probe point (without +offset or %return), if it names one. */
function probedSymbol(spec: string): string | undefined {
  const t = spec.trim().split(/\s+/)[1];
  if (t === undefined || /^(0x[0-9a-f]+|\d+)$/i.test(t)) return undefined;
  return t.replace(/%return$/, '').replace(/[+-].*$/, '') || undefined;
}

/**
 * A hint line for a rejected spec, or null. `message` is the error as the probe layer wrote it;
 * `functions` lists the binary's function names.
 */
export function specHint(code: string, message: string, functions: () => readonly string[]): string | null {
  const command = /^\s*Command: (.*)$/m.exec(message)?.[1];
  if (code === 'BAD_PROBE_TYPE' && command !== undefined && /^j(\s|:|$)/.test(command.trim()))
    return 'a jprobe names its handler too: j[:[GRP/]EVENT] SYM HANDLER (HANDLER: the guest function to run)';
  if (code !== 'BAD_PROBE_ADDR') return null;
  const sym =
    /^unknown (?:symbol|jprobe handler) (\S+)/.exec(message)?.[1] ??
    (command !== undefined ? probedSymbol(command) : undefined);
  if (sym === undefined) return null;
  const near = closestNames(sym, functions());
  return near.length ? `did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : null;
}
