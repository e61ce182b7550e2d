// #11 item 2: probe kinds are a registry (src/probes/kinds.ts). A toy kind registered from outside
// the engine, the parser and the session (a "counting probe", line `c:[GRP/]EVENT SYM`, whose
// pre-handler tallies hits itself) parses, installs through ProbeSession, fires, reports its counters
// and prints back, with nothing but its descriptor added; unregistered, its lines are refused again.
// Oracle: the guest's own output (rec(n) = 100 + n(n+1)/2) and the call count that follows from it.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PROBE_KIND_DESCRIPTORS,
  probeKindByPrefix,
  registerProbeKind,
  type ProbeKindDescriptor,
} from '../../src/probes/kinds.js';
import { formatProbeSpec, parseProbeSpec } from '../../src/probes/spec.js';
import { ProbeSession, ProbeSpecError } from '../../src/recorder/session.js';
import { buildProbeGuest, eventSink, kv, text } from './helpers.js';

function toyKind(tally: { hits: number }): ProbeKindDescriptor {
  return {
    name: 'counter',
    stored: 'kprobe',
    prefix: 'c',
    line: 'probe',
    pool: false,
    argsOn: 'kprobe',
    build: (_spec, kp) => {
      kp.preHandler = () => {
        tally.hits++;
        return 0;
      };
      return { kp };
    },
    register: (e, o) => e.registerKprobe(o.kp),
    unregister: (e, o) => e.unregisterKprobe(o.kp),
    counters: () => ({ hits: tally.hits, nmissed: 0, nmissedReentry: 0 }),
    misses: () => 0,
  };
}

describe('#11 probe kinds registry', () => {
  let bytes: Uint8Array;
  let unregister: (() => void) | null = null;
  beforeAll(() => {
    bytes = buildProbeGuest('calls').bytes;
  });
  afterEach(() => {
    unregister?.();
    unregister = null;
  });

  it('a toy kind registered from outside parses, installs, fires and counts through the session', () => {
    const tally = { hits: 0 };
    unregister = registerProbeKind(toyKind(tally));
    const n = 6;
    const { sink, events } = eventSink();
    const s = new ProbeSession(bytes, { argv: ['calls', 'rec', String(n)], probes: ['c:cnt rec'] }, sink);
    const r = s.run();
    expect(r.status).toBe('exited');
    expect(kv(text(r)).get('rec')).toBe(String(100 + (n * (n + 1)) / 2));
    // rec(n) .. rec(0): n + 1 calls, each one hit of the toy probe.
    expect(tally.hits).toBe(n + 1);
    const [p] = s.probes;
    expect(p!.desc.name).toBe('counter');
    expect(p!.kind).toBe('kprobe'); // what the trace stores
    expect(s.counters()).toEqual([{ probeId: 1, hits: n + 1, nmissed: 0, nmissedReentry: 0 }]);
    expect(events.filter((e) => e.kind === 'kprobe' && e.probeId === 1)).toHaveLength(n + 1);
    const spec = parseProbeSpec('c:cnt rec', { lookupSymbol: () => 0x1000, isInsnBoundary: () => true });
    expect(spec.ok && formatProbeSpec(spec.spec)).toBe('c:probes/cnt rec');
  });

  it('unregistered, its lines are refused as Linux refuses an unknown probe type', () => {
    unregister = registerProbeKind(toyKind({ hits: 0 }));
    unregister();
    unregister = null;
    expect(probeKindByPrefix('c')).toBeUndefined();
    let code = '';
    try {
      new ProbeSession(bytes, { argv: ['calls', 'rec', '1'], probes: ['c:cnt rec'] }, eventSink().sink);
    } catch (e) {
      if (e instanceof ProbeSpecError) code = e.code;
    }
    expect(code).toBe('BAD_PROBE_TYPE');
  });

  it('a taken prefix or name, or a prefix that is not one letter, is refused', () => {
    const base = toyKind({ hits: 0 });
    expect(() => registerProbeKind({ ...base, prefix: 'r' })).toThrow(/prefix 'r' is kretprobe's/);
    expect(() => registerProbeKind({ ...base, name: 'jprobe' })).toThrow(/already registered/);
    expect(() => registerProbeKind({ ...base, prefix: '-' })).toThrow(/one lowercase letter/);
    for (const d of Object.values(PROBE_KIND_DESCRIPTORS)) expect(probeKindByPrefix(d.prefix)).toBe(d);
  });
});
