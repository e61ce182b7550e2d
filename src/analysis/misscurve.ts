// Exact miss curves of a kretprobe instance pool, maxactive recommendations, defaults and memory.
//
// Pool semantics simulated (kprobes.md K14/K15/K17): events in seq order; an entry takes an
// instance if one of the k is free, else the call is missed and holds nothing; a return frees the
// instance of that call (if it had one). Which instance is taken never matters, only how many are
// free, so the hooked set for a given k is fully determined by the event order.
//
// Guarantee: `missCurve` is exact for every k, in one O(n log peak) pass, by this argument.
// Number the instances 1, 2, 3, ... and let every entry take the LOWEST-numbered free instance
// of an unbounded pool ("slot"). Claim: with a pool of k instances, a call is hooked iff its slot
// is <= k. Proof by induction over the events, comparing pools of k and k+1 instances: let S_k be
// the set of in-flight hooked calls with k instances. Invariant: S_k ⊆ S_{k+1} and
// |S_{k+1}| - |S_k| <= 1. A return removes the same call from both sets (or only from S_{k+1}),
// which keeps both properties. An entry hooked with k has |S_k| < k, so |S_{k+1}| <= |S_k| + 1 < k+1
// and it is hooked with k+1 too. An entry missed with k but hooked with k+1 means |S_k| = k and
// |S_{k+1}| <= k, hence S_{k+1} = S_k before the entry and the difference becomes exactly 1.
// So the hooked sets are nested in k; let θ(c) = the smallest k that hooks call c. The in-flight
// calls with θ <= k are exactly S_k, and |S_m| - |S_{m-1}| ∈ {0,1} means that at any moment at
// most one in-flight call has θ = m. An entry is hooked with k iff |S_k| < k, i.e. iff some m <= k
// has no in-flight call with θ = m; so θ(c) = the smallest m that no in-flight call occupies:
// the lowest free slot. Therefore misses(k) = #{calls with slot > k}, which is non-increasing in
// k (kprobes.md check 16), zero from k = peak on, and the peak (largest slot) is the maximum
// number of calls in flight at once. `simulatePool`/`missCurveBruteForce` simulate every k
// directly and exist only as the reference the property tests compare against.

import { KRETPROBE_INSTANCE_BYTES } from '../probes/kinds.js';
import type { CallTable } from './model.js';

/** One point of a miss curve. */
export interface MissCurvePoint {
  maxactive: number;
  missed: number;
}

/** Lowest-free-slot assignment over an unbounded pool (see the proof above). */
export interface SlotAssignment {
  /** slot (1-based) per table index; 0 for calls that do not appear in the events */
  slots: Int32Array;
  /** largest slot used = peak concurrency (0 when there are no calls) */
  peak: number;
  /** number of calls whose slot is m, at index m (index 0 unused) */
  slotCounts: Float64Array;
  /** number of entries in the events */
  calls: number;
}

/**
 * Assigns slots to the calls of one probe. `events`: the probe's event stream in seq order
 * (v >= 0: entry of call v; v < 0: return of call ~v), as made by `probeEvents`/`eventsOf`.
 */
export function assignSlots(events: Int32Array, tableLength: number): SlotAssignment {
  const slots = new Int32Array(tableLength);
  let heap = new Int32Array(64); // min-heap of freed slots
  let hn = 0;
  let peak = 0;
  let calls = 0;
  let counts = new Float64Array(64);
  for (let e = 0; e < events.length; e++) {
    const v = events[e] as number;
    if (v >= 0) {
      calls++;
      let s: number;
      if (hn > 0) {
        s = heap[0] as number;
        const last = heap[--hn] as number;
        // sift down
        let i = 0;
        while (true) {
          const l = 2 * i + 1;
          if (l >= hn) break;
          const r = l + 1;
          const m = r < hn && (heap[r] as number) < (heap[l] as number) ? r : l;
          if ((heap[m] as number) >= last) break;
          heap[i] = heap[m] as number;
          i = m;
        }
        if (hn > 0) heap[i] = last;
      } else {
        s = ++peak;
        if (peak >= counts.length) {
          const c = new Float64Array(counts.length * 2);
          c.set(counts);
          counts = c;
        }
      }
      slots[v] = s;
      counts[s]!++;
    } else {
      const s = slots[~v] as number;
      if (s === 0) throw new Error(`return of call #${~v} before its entry`);
      if (hn === heap.length) {
        const h = new Int32Array(heap.length * 2);
        h.set(heap);
        heap = h;
      }
      // sift up
      let i = hn++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if ((heap[p] as number) <= s) break;
        heap[i] = heap[p] as number;
        i = p;
      }
      heap[i] = s;
    }
  }
  return { slots, peak, slotCounts: counts.subarray(0, peak + 1), calls };
}

/** misses(k) for k = 1..peak from a slot assignment (empty when there are no calls). */
export function missCurveFromSlots(a: SlotAssignment): MissCurvePoint[] {
  const out: MissCurvePoint[] = new Array<MissCurvePoint>(a.peak);
  let above = 0; // calls with slot > k
  for (let k = a.peak; k >= 1; k--) {
    out[k - 1] = { maxactive: k, missed: above };
    above += a.slotCounts[k] as number;
  }
  return out;
}

/** Exact miss curve (k = 1..peak; the last point has 0 misses) of one probe's event stream. */
export function missCurve(events: Int32Array, tableLength: number): MissCurvePoint[] {
  return missCurveFromSlots(assignSlots(events, tableLength));
}

/** misses at k read from a curve (0 beyond its end: the curve ends at the peak). */
export function missesAt(curve: readonly MissCurvePoint[], k: number): number {
  if (k < 1) throw new RangeError(`maxactive ${k} < 1`);
  return k > curve.length ? 0 : (curve[k - 1] as MissCurvePoint).missed;
}

/**
 * Reference simulation of a pool of exactly k instances (used by tests and cross-checks only):
 * returns the number of missed entries and, per table index, 1 if the call was hooked.
 */
export function simulatePool(
  events: Int32Array,
  tableLength: number,
  k: number,
): { missed: number; hooked: Uint8Array } {
  const hooked = new Uint8Array(tableLength);
  let free = k;
  let missed = 0;
  for (let e = 0; e < events.length; e++) {
    const v = events[e] as number;
    if (v >= 0) {
      if (free > 0) {
        free--;
        hooked[v] = 1;
      } else missed++;
    } else if (hooked[~v] === 1) free++;
  }
  return { missed, hooked };
}

/** Reference miss curve: one full simulation per k = 1..maxK (default: until 0 misses). Tests only. */
export function missCurveBruteForce(
  events: Int32Array,
  tableLength: number,
  maxK?: number,
): MissCurvePoint[] {
  const out: MissCurvePoint[] = [];
  let entries = 0;
  for (let e = 0; e < events.length; e++) if ((events[e] as number) >= 0) entries++;
  if (entries === 0) return out;
  for (let k = 1; maxK === undefined || k <= maxK; k++) {
    const { missed } = simulatePool(events, tableLength, k);
    out.push({ maxactive: k, missed });
    if (maxK === undefined && missed === 0) break;
  }
  return out;
}

/**
 * Smallest maxactive (>= 1) with zero misses in every curve, i.e. over all analysed runs; with
 * curves from `missCurve` this is the largest per-run peak (1 when no run had any call).
 */
export function recommendMaxactive(curves: readonly (readonly MissCurvePoint[])[]): number {
  let longest = 0;
  for (const c of curves) longest = Math.max(longest, c.length);
  for (let k = 1; k <= longest; k++) {
    let total = 0;
    for (const c of curves) total += missesAt(c, k);
    if (total === 0) return k;
  }
  return Math.max(1, longest + 1);
}

/** Sum of several runs' curves, k = 1..longest. */
export function sumCurves(curves: readonly (readonly MissCurvePoint[])[]): MissCurvePoint[] {
  let longest = 0;
  for (const c of curves) longest = Math.max(longest, c.length);
  const out: MissCurvePoint[] = [];
  for (let k = 1; k <= longest; k++) {
    let total = 0;
    for (const c of curves) total += missesAt(c, k);
    out.push({ maxactive: k, missed: total });
  }
  return out;
}

// The pool constants and Linux's default formulas are defined once, with the probe kinds.
export {
  KRETPROBE_INSTANCE_BYTES as KRETPROBE_INSTANCE_SIZE_I386_2_6_13,
  MAXACTIVE_MAX as MAXACTIVE_LIMIT,
  maxactiveDefaults as defaults,
  type MaxactiveDefaults,
} from '../probes/kinds.js';

/** Memory cost of a pool. */
export interface InstanceMemory {
  instances: number;
  dataSize: number;
  /** 28 + dataSize */
  bytesPerInstance: number;
  /** instances * bytesPerInstance */
  totalBytes: number;
  /** kmalloc size class one instance lands in (32 for the plain 2.6.13 instance) */
  slabBytesPerInstance: number;
  /** instances * slabBytesPerInstance */
  slabTotalBytes: number;
}

/** kmalloc size classes (powers of two from 8 bytes, plus the 96- and 192-byte caches). */
function kmallocClass(n: number): number {
  if (n <= 8) return 8;
  if (n <= 96 && n > 64) return 96;
  if (n <= 192 && n > 128) return 192;
  let c = 8;
  while (c < n) c *= 2;
  return c;
}

/** What k instances cost (see KRETPROBE_INSTANCE_BYTES in src/probes/kinds.ts for the derivation). */
export function instanceMemory(k: number, dataSize = 0): InstanceMemory {
  const per = KRETPROBE_INSTANCE_BYTES + dataSize;
  const slab = kmallocClass(per);
  return {
    instances: k,
    dataSize,
    bytesPerInstance: per,
    totalBytes: k * per,
    slabBytesPerInstance: slab,
    slabTotalBytes: k * slab,
  };
}

/** Calls whose recorded `hooked` flag disagrees with the simulation at k (0 for a faithful recording). */
export function hookedMismatches(t: CallTable, a: SlotAssignment, events: Int32Array, k: number): number {
  let bad = 0;
  for (let e = 0; e < events.length; e++) {
    const v = events[e] as number;
    if (v < 0) continue;
    const simulated = (a.slots[v] as number) <= k ? 1 : 0;
    if (simulated !== t.hooked[v]) bad++;
  }
  return bad;
}
