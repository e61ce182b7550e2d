// CPUID of the emulated CPU: a P6-class (family 6) i686 with FPU, TSC, CX8 and CMOV and nothing newer,
// so glibc selects its integer and x87 code paths (no MMX, no SSE). Values are fixed: part of determinism.

const VENDOR = 'GenuineIntel';

function le32(s: string, at: number): number {
  return (
    s.charCodeAt(at) |
    (s.charCodeAt(at + 1) << 8) |
    (s.charCodeAt(at + 2) << 16) |
    (s.charCodeAt(at + 3) << 24)
  );
}

/** EDX feature bits of leaf 1: FPU(0) VME(1) DE(2) PSE(3) TSC(4) MSR(5) CX8(8) SEP? no, CMOV(15). */
export const CPUID_FEATURES_EDX = (1 << 0) | (1 << 4) | (1 << 8) | (1 << 15);
/** AT_HWCAP for the auxiliary vector: Linux passes leaf-1 EDX. */
export const HWCAP = CPUID_FEATURES_EDX;

/** Returns [eax, ebx, ecx, edx] for CPUID leaf/subleaf. */
export function cpuidValues(leaf: number, _subleaf: number): [number, number, number, number] {
  switch (leaf >>> 0) {
    case 0:
      return [2, le32(VENDOR, 0), le32(VENDOR, 8), le32(VENDOR, 4)];
    case 1:
      // family 6, model 8, stepping 3 (a Pentium III-era P6 core, but with SSE/MMX masked off).
      return [0x00000683, 0x00000000, 0x00000000, CPUID_FEATURES_EDX];
    case 2:
      return [0x00000001, 0, 0, 0];
    case 0x80000000:
      return [0x80000000, 0, 0, 0];
    default:
      return [0, 0, 0, 0];
  }
}
