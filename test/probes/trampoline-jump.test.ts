// #16 (kprobes.md K15, K20): a guest that transfers control to the kretprobe trampoline itself, with
// no hooked return pending, is killed with SIGILL (Linux's answer in its uretprobe trampoline) and
// the message says the guest jumped there; it does not blame the emulator. The probed call before
// it still returns through the trampoline normally (one return event), so the message is about the
// guest's own jump, not the probe.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Kretprobe } from '../../src/probes/kprobes.js';
import { buildProbeGuest, count, load, recordEvents, text, TRAMPOLINE } from './helpers.js';

const MESSAGE = /^SIGILL: task \d+ jumped to the kretprobe trampoline \(0xfff00000\) with no return pending/;

describe('#16 guest jumps to the kretprobe trampoline', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = buildProbeGuest('tramp').bytes;
  });

  it('a direct call to the trampoline address: SIGILL, the guest is named as the cause', () => {
    const l = load(bytes, ['tramp', 'jump']);
    const ev = recordEvents(l.eng);
    const r = l.m.run();
    expect(r.status).toBe('signaled');
    expect(r.signal).toBe(4);
    expect(r.message).toMatch(MESSAGE);
    expect(r.message).not.toMatch(/emulator bug/);
    expect(text(r)).toBe('');
    expect(ev.map((e) => [e.kind, e.addr])).toEqual([['trampoline', TRAMPOLINE]]);
  });

  it('a hijacked return address kept and called after the return (K20): the same', () => {
    const l = load(bytes, ['tramp', 'reuse']);
    const rp: Kretprobe = { kp: { symbolName: 'keep_ra' }, maxactive: 1 };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const ev = recordEvents(l.eng);
    const r = l.m.run();
    expect(text(r)).toBe('r=42\n');
    expect(r.status).toBe('signaled');
    expect(r.signal).toBe(4);
    expect(r.message).toMatch(MESSAGE);
    // The real return: one return event; then the guest's own jump: a trampoline trap without one.
    expect(count(ev, 'return')).toBe(1);
    expect(count(ev, 'trampoline')).toBe(2);
    expect(ev[ev.length - 1]!.kind).toBe('trampoline');
  });

  it('the same guest without the jump runs to the end with the probe attached', () => {
    const l = load(bytes, ['tramp']);
    const rp: Kretprobe = { kp: { symbolName: 'keep_ra' }, maxactive: 1 };
    expect(l.eng.registerKretprobe(rp)).toBe(0);
    const ev = recordEvents(l.eng);
    const r = l.m.run();
    expect(r.status).toBe('exited');
    expect(text(r)).toBe('r=42\ndone\n');
    expect(count(ev, 'return')).toBe(1);
  });
});
