// The log of the guest file system's questions to the host ('file' inputs): how each FileSource
// answer is written as an input record (key = JSON of the question and the answer, data = file
// contents) and a FileSource that answers from such a log (replay). Guarantees: a logged run's
// answers are served back in the order they were logged, per question and path, so the file
// system makes the same decisions (including which snapshots it shares) and reads the same bytes;
// contents travel only in 'read' records, which the file system makes once per file identity;
// a malformed record is refused with FileLogError naming it (escaped), never half-used.

import type { FileSource, HostEntry, HostStat } from '../types.js';

export const FILE_INPUT = 'file';
const ENOENT = 2;

type ReadResult = { data: Uint8Array; id: string } | number;
type Answer = HostEntry | string[] | ReadResult;
/** A logged record as it was stored, reported again when its answer is served. */
type Rec = { key: string; data: Uint8Array; reported: boolean };

/** The key of a lookup answer. */
export function lookupKey(path: string, e: HostEntry): string {
  return JSON.stringify({ op: 'lookup', path, ...e });
}

/** The key of a listing answer (names, or the errno). */
export function listKey(path: string, r: string[] | number): string {
  return JSON.stringify(
    typeof r === 'number' ? { op: 'list', path, errno: r } : { op: 'list', path, entries: r },
  );
}

/** The key of a read answer (the record's data holds the contents). */
export function readKey(path: string, r: ReadResult): string {
  return JSON.stringify(
    typeof r === 'number' ? { op: 'read', path, errno: r } : { op: 'read', path, id: r.id },
  );
}

/** A logged 'file' input that is not a record this module wrote. */
export class FileLogError extends Error {
  constructor(what: string, key: string) {
    super(`logged file input ${what}: ${JSON.stringify(key.slice(0, 80))}`);
    this.name = 'FileLogError';
  }
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Answers from a log of 'file' inputs. Records of traces made before the file system asked
 * lookup/list/read separately (an eager open: {path, kind, ...} with the contents) answer all
 * three. A question beyond the log (only when a what-if replay changed the guest's behaviour)
 * gets the last logged answer for it again, or ENOENT; `unlogged` counts them.
 */
export class LoggedFiles implements FileSource {
  private readonly queues = new Map<string, Array<{ answer: Answer; rec: Rec }>>();
  private readonly last = new Map<string, Answer>();
  /** The record of the last answer, until consumed() hands it out. */
  private pending: Rec | null = null;
  unlogged = 0;

  private push(op: string, path: string, answer: Answer, rec: Rec): void {
    const k = `${op}\0${path}`;
    let q = this.queues.get(k);
    if (!q) this.queues.set(k, (q = []));
    q.push({ answer, rec });
  }

  private next(op: string, path: string): Answer | undefined {
    const k = `${op}\0${path}`;
    const r = this.queues.get(k)?.shift();
    if (r !== undefined) {
      this.last.set(k, r.answer);
      // An older eager record answers several questions; it is reported with the first.
      this.pending = r.rec.reported ? null : r.rec;
      r.rec.reported = true;
      return r.answer;
    }
    this.unlogged++;
    this.pending = null;
    return this.last.get(k);
  }

  /** Makes `into` (empty) serve what is left of this log, independently of this one. */
  protected copyInto(into: LoggedFiles): void {
    const recs = new Map<Rec, Rec>();
    for (const [k, q] of this.queues)
      into.queues.set(
        k,
        q.map(({ answer, rec }) => {
          let r = recs.get(rec);
          if (!r) recs.set(rec, (r = { ...rec }));
          return { answer, rec: r };
        }),
      );
    for (const [k, a] of this.last) into.last.set(k, a);
  }

  consumed(): { key: string; data: Uint8Array } | null {
    const r = this.pending;
    this.pending = null;
    return r;
  }

  /** Adds one logged 'file' input; throws FileLogError for a key this module did not write. */
  add(key: string, data: Uint8Array): void {
    const rec: Rec = { key, data, reported: false };
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(key) as Record<string, unknown>;
    } catch {
      throw new FileLogError('has a malformed key', key);
    }
    if (typeof m !== 'object' || m === null || typeof m.path !== 'string')
      throw new FileLogError('has no path', key);
    const path = m.path;
    const errno = m.errno;
    if (errno !== undefined && !(num(errno) && errno > 0 && errno < 4096))
      throw new FileLogError('has a bad errno', key);
    const stat = (defMode: number): HostStat => {
      for (const f of ['mode', 'mtimeSec', 'ino'])
        if (m[f] !== undefined && !num(m[f])) throw new FileLogError(`has a bad ${f}`, key);
      return {
        mode: (m.mode as number | undefined) ?? defMode,
        size: num(m.size) ? m.size : data.length,
        mtimeSec: (m.mtimeSec as number | undefined) ?? 0,
        mtimeNsec: num(m.mtimeNsec) ? m.mtimeNsec : 0,
        ino: (m.ino as number | undefined) ?? 0,
        id: typeof m.id === 'string' ? m.id : `legacy:${path}`,
      };
    };
    const names = (): string[] => {
      const e = m.entries;
      if (!Array.isArray(e) || !e.every((x) => typeof x === 'string'))
        throw new FileLogError('has bad entries', key);
      return e as string[];
    };
    if (m.op === undefined) {
      // An eager open from an older trace: answers the lookup, and the read or the listing.
      if (m.kind === 'file') {
        const s = stat(0o100444);
        this.push('lookup', path, { kind: 'file', ...s }, rec);
        this.push('read', path, { data, id: s.id }, rec);
      } else if (m.kind === 'dir') {
        this.push('lookup', path, { kind: 'dir', ...stat(0o40555) }, rec);
        this.push('list', path, names(), rec);
      } else {
        this.push('lookup', path, { kind: 'error', errno: num(errno) ? errno : ENOENT }, rec);
        this.push('list', path, num(errno) ? errno : ENOENT, rec);
      }
      return;
    }
    if (m.op === 'lookup') {
      if (m.kind === 'error')
        this.push('lookup', path, { kind: 'error', errno: num(errno) ? errno : ENOENT }, rec);
      else if (m.kind === 'file' || m.kind === 'dir')
        this.push('lookup', path, { kind: m.kind, ...stat(0) }, rec);
      else if (m.kind === 'link' && typeof m.target === 'string')
        this.push('lookup', path, { kind: 'link', target: m.target, ...stat(0o120777) }, rec);
      else throw new FileLogError('has a bad kind', key);
    } else if (m.op === 'list') this.push('list', path, num(errno) ? errno : names(), rec);
    else if (m.op === 'read') {
      if (num(errno)) this.push('read', path, errno, rec);
      else if (typeof m.id === 'string') this.push('read', path, { data, id: m.id }, rec);
      else throw new FileLogError('has no id', key);
    } else throw new FileLogError('has an unknown op', key);
  }

  lookup(path: string): HostEntry {
    const r = this.next('lookup', path);
    return r && !Array.isArray(r) && typeof r === 'object' && 'kind' in r
      ? r
      : { kind: 'error', errno: ENOENT };
  }

  list(path: string): string[] | number {
    const r = this.next('list', path);
    return Array.isArray(r) || typeof r === 'number' ? r : ENOENT;
  }

  read(path: string): ReadResult {
    const r = this.next('read', path);
    return typeof r === 'number' || (r && 'data' in r) ? r : ENOENT;
  }
}
