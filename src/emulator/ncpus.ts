// NR_CPUS: how many virtual CPUs a machine may have, the one check of that range, and the defaults.
// Guarantees: every entry point (Machine, probe-record, probe-run, the stored RunConfig) validates
// with cpusProblem() against this one range; src/trace/config.ts re-exports these names, so the
// trace layer and the command line never restate them.

/** The fewest and most virtual CPUs (NR_CPUS; 64 as on i386's default configuration). */
export const NR_CPUS_MIN = 1;
export const NR_CPUS_MAX = 64;

/**
 * The CPUs a run gets when the user says nothing: probe-record, probe-run and a stored RunConfig
 * (so a recording made through the API replays with what it ran with).
 */
export const DEFAULT_CPUS = 4;

/**
 * What `new Machine(...)` alone gets without `cpus`: a uniprocessor. Direct Machine users are the
 * emulator's own tests and benchmarks, which compare one thread against qemu-i386 or the real CPU;
 * on 4 vCPUs a single-threaded guest runs in 200-instruction slices instead of 1,000 and takes up
 * to 2.3x the host time (bench intloop: 286 vs 682 ms) for nothing the test checks. Everything that
 * records a run passes cpus explicitly (RunConfig's DEFAULT_CPUS).
 */
export const MACHINE_DEFAULT_CPUS = 1;

/** Why `n` is not a valid number of CPUs ('must be an integer in 1..64'), or null. */
export function cpusProblem(n: unknown): string | null {
  return typeof n === 'number' && Number.isInteger(n) && n >= NR_CPUS_MIN && n <= NR_CPUS_MAX
    ? null
    : `must be an integer in ${NR_CPUS_MIN}..${NR_CPUS_MAX}`;
}
