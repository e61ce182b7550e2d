// Saves the block-compiler environment variables (PROBELAB_JIT, PROBELAB_JIT_HOT) so a test file that
// switches them can put them back afterwards.

const NAMES = ['PROBELAB_JIT', 'PROBELAB_JIT_HOT'] as const;

/** Returns a function that restores both variables to what they are now. */
export function saveJitEnv(): () => void {
  const saved = NAMES.map((n) => process.env[n]);
  return () =>
    NAMES.forEach((n, k) => {
      const v = saved[k];
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    });
}
