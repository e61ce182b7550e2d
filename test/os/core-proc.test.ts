// Processes (os/lifecycle.ts, os/family.ts) and pipes (os/pipe.ts), differential against qemu-i386:
// fork with exit/kill/fault status words, wait4/waitpid/waitid, vfork, copied memory, a pipeline of
// three processes over pipes and dup2, EOF and SIGPIPE, process groups and sessions, kill(-pgid),
// poll/select/pselect/epoll (level, edge, oneshot) and eventfd, an epoll loop over child writers.
// Every guest is also recorded and replayed (verify) on 1 and 4 CPUs, with and without chaos.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/native.js';
import { buildOsGuest, cleanup, onEmulator, onQemu, outcomeOf, recordAndVerify } from './core-helpers.js';

const GUESTS = ['forkwait', 'pipeline', 'pgrp', 'pollers'];
const bins = new Map<string, string>();

beforeAll(() => {
  requireTools();
  for (const g of GUESTS) bins.set(g, buildOsGuest(g));
});
afterAll(() => cleanup());

describe('processes and pipes vs qemu-i386', () => {
  for (const g of GUESTS) {
    it(`${g}: same stdout, stderr and exit status`, () => {
      const bin = bins.get(g)!;
      const want = onQemu(bin, [g]);
      expect(want.stdout.length).toBeGreaterThan(0);
      expect(outcomeOf(onEmulator(bin, [g]))).toEqual(want);
    });
  }
});

describe('processes and pipes replay identically', () => {
  for (const g of GUESTS)
    for (const cpus of [1, 4])
      for (const chaos of [false, true])
        it(`${g} on ${cpus} CPU(s)${chaos ? ' with chaos' : ''}`, () => {
          const bin = bins.get(g)!;
          const { divergence, result } = recordAndVerify(bin, [g], cpus, chaos);
          expect(result.status).toBe('exited');
          expect(divergence).toBeNull();
        });
});
