// What reports need about a run beyond `load.ts`'s analysis model: each probe's recorded spec, its
// location as "sym+0xoff" (probes given by address are symbolised from the run's own binary), its
// fetch-argument declarations, and the arguments of the hits of probes without calls.
//
// Guarantees:
// - Reads only through TraceReader (never writes) and changes nothing but the given RunData's probe
//   records (spec, symbol, offset, addr, location, args), its run's `source`, `argHits` and `taskHits`.
// - Argument names and display types come from the recorded spec, parsed by the probe-spec parser
//   itself (src/probes/spec.ts) with a context that accepts any symbol: only the argument list is
//   read from the result. A spec the parser refuses leaves the declarations unknown (args.ts then
//   infers a type from the values).
// - Kprobe/jprobe hit arguments are streamed from the events only when such a probe fetches any, or
//   when the run has several processes (their hits are then counted per task for the process report).

import { parseElf } from '../emulator/elf.js';
import { PIE_LOAD_BASE } from '../emulator/loader.js';
import type { SymbolLookup } from '../emulator/types.js';
import { parseProbeSpec } from '../probes/spec.js';
import type { TraceReader } from '../trace/reader.js';
import { RowChecker } from '../trace/validate.js';
import type { ArgDecl, ArgHit, RunData, RunSyscalls, SyscallRow, TaskHits } from './model.js';
import { severalProcesses } from './processes.js';

/** Any symbol resolves and every address is an instruction boundary: only the arguments matter. */
const LENIENT = {
  lookupSymbol: (): number => 0x1000,
  isInsnBoundary: (): boolean => true,
};

/** The fetch arguments a spec declares (name and display type), or undefined if it cannot be parsed. */
export function argDeclsOf(spec: string): ArgDecl[] | undefined {
  // jprobe specs ("j:EVENT SYMBOL HANDLER ...") carry no fetch arguments the parser would know
  if (/^\s*j/.test(spec)) return undefined;
  const r = parseProbeSpec(spec, LENIENT);
  if (!r.ok) return undefined;
  return r.spec.args.map((a) => ({
    name: a.name,
    type: a.bitfield ? `b${a.bitfield.width}@${a.bitfield.offset}/${a.bitfield.size}` : a.type,
  }));
}

/** Symbol tables of run binaries, by sha256 (a binary is parsed once per report). */
export class BinarySymbols {
  private readonly tables = new Map<string, SymbolLookup | null>();

  /** The symbols of the run's binary at its load addresses, or null if it cannot be read. */
  of(reader: TraceReader, runId: number): SymbolLookup | null {
    const sha = reader.run(runId).binarySha256;
    if (!this.tables.has(sha)) {
      let t: SymbolLookup | null;
      try {
        const img = parseElf(new Uint8Array(reader.binary(sha)));
        const first = img.segments.find((s) => s.type === 1);
        t =
          img.type === 'pie' && first
            ? img.symbols.rebase(((PIE_LOAD_BASE - first.vaddr) & ~0xfff) >>> 0)
            : img.symbols;
      } catch {
        t = null; // a binary that cannot be parsed leaves addresses as hex
      }
      this.tables.set(sha, t);
    }
    return this.tables.get(sha) ?? null;
  }
}

export interface AnnotateOptions {
  /** the trace file, as the user named it */
  file?: string;
  /** label of the trace file, set when several files are reported */
  source?: string;
  symbols?: BinarySymbols;
}

/** Adds specs, locations, argument declarations, the source label and kprobe hit arguments. */
export function annotateRun(reader: TraceReader, rd: RunData, opts: AnnotateOptions = {}): RunData {
  const rows = new Map(reader.probes(rd.run.runId).map((p) => [p.probeId, p]));
  const symbols = opts.symbols ?? new BinarySymbols();
  const wantHits = new Set<number>();
  const probes = rd.probes.map((p) => {
    const row = rows.get(p.probeId);
    if (!row) return p;
    let symbol = row.symbol ?? `0x${(row.addr >>> 0).toString(16)}`;
    let offset = row.symbol === null ? 0 : row.offset;
    if (row.symbol === null) {
      const r = symbols.of(reader, rd.run.runId)?.symbolize(row.addr >>> 0);
      if (r) {
        symbol = r.sym.name;
        offset = r.offset;
      }
    }
    const location = offset ? `${symbol}+0x${offset.toString(16)}` : symbol;
    const args = argDeclsOf(row.spec);
    if (p.kind !== 'kretprobe' && (args === undefined || args.length > 0)) wantHits.add(p.probeId);
    return { ...p, symbol, offset, addr: row.addr >>> 0, spec: row.spec, location, args };
  });
  // Per-process reports count the hits of probes without calls per task: only in runs with several
  // processes, where the events are then read once for both purposes.
  const countHits = new Set(
    severalProcesses(rd) ? probes.filter((p) => p.kind !== 'kretprobe').map((p) => p.probeId) : [],
  );
  const argHits: ArgHit[] = [];
  const hits = new Map<number, Map<number, number>>(); // probe → tid → hits
  if (wantHits.size > 0 || countHits.size > 0) {
    const check = new RowChecker(reader.path, rd.run.runId, new Set(rows.keys()));
    for (const e of reader.streams(rd.run.runId).events()) {
      if (e.kind !== 'kprobe' || e.probeId === null) continue;
      if (countHits.has(e.probeId)) {
        const byTid = hits.get(e.probeId) ?? new Map<number, number>();
        byTid.set(e.tid, (byTid.get(e.tid) ?? 0) + 1);
        hits.set(e.probeId, byTid);
      }
      if (e.args === null || !wantHits.has(e.probeId)) continue;
      argHits.push({ probeId: e.probeId, args: check.args('events', e.seq, e.args)! });
    }
  }
  const taskHits: TaskHits[] = [];
  for (const [probeId, byTid] of hits) for (const [tid, n] of byTid) taskHits.push({ probeId, tid, hits: n });
  return {
    ...rd,
    run: { ...rd.run, file: opts.file, source: opts.source },
    probes,
    argHits,
    ...(countHits.size > 0 ? { taskHits } : {}),
  };
}

/** The run's syscall table summed over its tasks: most calls first, then by number (`syscalls` view). */
export function readSyscalls(reader: TraceReader, runId: number, source?: string): RunSyscalls {
  const byNr = new Map<number, SyscallRow>();
  const check = new RowChecker(reader.path, runId, new Set());
  for (const [i, r] of reader.streams(runId).syscalls().entries()) {
    check.syscall(r, i + 1);
    const row = byNr.get(r.nr) ?? {
      nr: r.nr,
      name: r.name ?? `syscall_${r.nr}`,
      calls: 0,
      errors: 0,
      enosys: 0,
    };
    row.calls += r.calls;
    row.errors += r.errors;
    row.enosys += r.enosys;
    byNr.set(r.nr, row);
  }
  return { runId, source, rows: [...byNr.values()].sort((a, b) => b.calls - a.calls || a.nr - b.nr) };
}
