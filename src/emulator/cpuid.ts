// The CPU models the emulator can be (`cpuModel`, the CLI's --cpu) and their CPUID tables.
// - pentium2: a P6-class i686 with FPU, TSC, CX8 and CMOV and nothing newer (no MMX, no FXSR, no SSE),
//   so glibc selects its integer and x87 code paths and SSE instructions raise #UD (SIGILL).
// - pentium4: adds FXSR, SSE and SSE2 (the emulator implements both; sse.ts), so glibc's static start-up
//   selects its SSE2 string functions and programs built with -msse2 / -march=pentium4 run. It does
//   not advertise MMX, SSE3 or later extensions (not implemented: they stay #UD), nor CLFSH/HTT.
// Values are fixed per model: part of determinism (the model is recorded in the run configuration).

export interface CpuModel {
  readonly name: string;
  /** One line for --help and the README. */
  readonly summary: string;
  /** SSE level: 0 none, 1 SSE, 2 SSE2 (sse-ops.ts's LEVEL_*). */
  readonly sse: number;
  /** CPUID leaf 1 EAX (family/model/stepping) and EDX (feature bits; also AT_HWCAP). */
  readonly signature: number;
  readonly features: number;
}

const FPU = 1 << 0;
const TSC = 1 << 4;
const CX8 = 1 << 8;
const CMOV = 1 << 15;
const FXSR = 1 << 24;
const SSE = 1 << 25;
const SSE2 = 1 << 26;

export const CPU_MODELS: Readonly<Record<string, CpuModel>> = {
  pentium2: {
    name: 'pentium2',
    summary: 'P6 (i686 with CMOV), x87 only: no MMX/SSE',
    sse: 0,
    // family 6, model 8, stepping 3 (a P6 core with MMX/SSE masked off).
    signature: 0x00000683,
    features: FPU | TSC | CX8 | CMOV,
  },
  pentium4: {
    name: 'pentium4',
    summary: 'Pentium 4 class: x87, FXSR, SSE and SSE2 (no MMX, no SSE3)',
    sse: 2,
    // family 15, model 2, stepping 9.
    signature: 0x00000f29,
    features: FPU | TSC | CX8 | CMOV | FXSR | SSE | SSE2,
  },
};

/** The model used when none is given (see the README's "CPU models" for why). */
export const DEFAULT_CPU_MODEL = 'pentium2';

/** Other names accepted for a model: 'p6' is what run configurations recorded before the models existed. */
const ALIASES: Readonly<Record<string, string>> = { p6: 'pentium2' };

/** The model called `name` (or an alias); throws a one-line error naming the known models otherwise. */
export function cpuModel(name: string = DEFAULT_CPU_MODEL): CpuModel {
  const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const key = own(ALIASES, name) ? ALIASES[name]! : name;
  const m = own(CPU_MODELS, key) ? CPU_MODELS[key] : undefined;
  if (!m) throw new Error(`unknown CPU model '${name}' (known: ${Object.keys(CPU_MODELS).join(', ')})`);
  return m;
}

const VENDOR = 'GenuineIntel';

function le32(s: string, at: number): number {
  return (
    s.charCodeAt(at) |
    (s.charCodeAt(at + 1) << 8) |
    (s.charCodeAt(at + 2) << 16) |
    (s.charCodeAt(at + 3) << 24)
  );
}

/** Returns [eax, ebx, ecx, edx] for CPUID leaf/subleaf on `model`. */
export function cpuidValues(
  model: CpuModel,
  leaf: number,
  _subleaf: number,
): [number, number, number, number] {
  switch (leaf >>> 0) {
    case 0:
      return [2, le32(VENDOR, 0), le32(VENDOR, 8), le32(VENDOR, 4)];
    case 1:
      return [model.signature, 0, 0, model.features];
    case 2:
      // One iteration, no cache descriptors.
      return [0x00000001, 0, 0, 0];
    case 0x80000000:
      return [0x80000000, 0, 0, 0];
    default:
      return [0, 0, 0, 0];
  }
}
