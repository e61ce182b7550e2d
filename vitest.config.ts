import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the CPUs, which on the 2-core CI machine is a single
    // worker and a serial run; the main process is idle while files run, so use every core.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
