// The signal model's queueing and timer arithmetic, property-tested against independent models:
// - pending sets (kernel/signal.c): a standard signal (1..31) is pending at most once, real-time
//   ones queue every instance in order; dequeue takes the synchronous fault signals (SIGSEGV, SIGBUS,
//   SIGILL, SIGTRAP, SIGFPE, SIGSYS) first, then the lowest number, and skips blocked ones;
// - periodic timers (hrtimer_forward): after an expiry seen late at `now`, the next expiry is the
//   first period boundary after `now`, and the periods skipped are the overruns.
// The model here is written from those rules, not from the implementation (a sorted scan over a
// plain list instead of bit tricks).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SigInfo, SigPending, SigSet } from '../../src/emulator/os/signals.js';
import { Timer } from '../../src/emulator/os/signals-timers.js';

const SYNC = [11, 7, 4, 5, 8, 31];

/** The reference: a list of queued [sig, serial] pairs. */
function refEnqueue(q: Array<[number, number]>, sig: number, serial: number): void {
  if (sig < 32 && q.some(([s]) => s === sig)) return;
  q.push([sig, serial]);
}

function refDequeue(q: Array<[number, number]>, blocked: Set<number>): [number, number] | null {
  const open = q.filter(([s]) => !blocked.has(s));
  if (open.length === 0) return null;
  const syncs = open.filter(([s]) => SYNC.includes(s)).map(([s]) => s);
  const sig = syncs.length > 0 ? Math.min(...syncs) : Math.min(...open.map(([s]) => s));
  const k = q.findIndex(([s]) => s === sig);
  return q.splice(k, 1)[0]!;
}

describe('pending signals', () => {
  it('coalesce standard signals, queue real-time ones, dequeue in Linux order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 64 }), { maxLength: 10 }),
        (sigs, blockedList) => {
          const p = new SigPending();
          const ref: Array<[number, number]> = [];
          sigs.forEach((sig, serial) => {
            const info = new SigInfo(sig, 0);
            info.w[5] = serial;
            p.enqueue(info);
            refEnqueue(ref, sig, serial);
          });
          const blocked = new Set(blockedList);
          const mask = SigSet.of(...blockedList);
          for (;;) {
            const want = refDequeue(ref, blocked);
            const sig = p.next(mask);
            if (!want) {
              expect(sig).toBe(0);
              break;
            }
            expect(sig).toBe(want[0]);
            const got = p.take(sig);
            expect(got.w[5]).toBe(want[1]);
          }
          // What is left is exactly the blocked signals that were queued.
          for (let s = 1; s <= 64; s++) expect(p.set.has(s)).toBe(ref.some(([x]) => x === s));
        },
      ),
    );
  });
});

describe('periodic timers', () => {
  it('re-arm on the first period boundary after a late expiry and count the skipped periods', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.integer({ min: 0, max: 5e7 }),
        (expires, interval, late) => {
          const t = new Timer();
          t.expires = expires;
          t.interval = interval;
          const now = expires + late;
          const missed = t.advance(now);
          expect(t.expires).toBeGreaterThan(now);
          expect(t.expires - interval).toBeLessThanOrEqual(now);
          expect((t.expires - expires) % interval).toBe(0);
          expect(missed).toBe((t.expires - expires) / interval - 1);
        },
      ),
    );
  });

  it('a one-shot timer disarms', () => {
    const t = new Timer();
    t.arm(100, 50, 0);
    expect(t.expires).toBe(150);
    expect(t.advance(160)).toBe(0);
    expect(t.expires).toBe(-1);
    expect(t.remaining(200)).toBe(0);
  });
});
