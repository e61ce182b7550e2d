// Test helper: the "native" side of the verification harness.
//
// Where the reference comes from: this project's machines (developers' and CI's) are PVM guests whose
// kernel runs 64-bit user code only (dmesg: "IA-32 emulation off"; execve of an i386 ELF fails with
// ENOEXEC and far jumps to 32-bit code segments fault). No i386 instruction can run on the real CPU
// here, so:
//   - whole-program references (differential, lockstep) come from qemu-i386 (QEMU's user-mode i386
//     emulator, Debian package qemu-user), run with `-cpu pentium2` (a P6 without SSE, like the
//     emulator's CPUID) and, for lockstep, the tracer plugin test/native/tracer.c;
//   - instruction semantics (ALU tables, test/native/alugen.c) come from the REAL CPU: the same
//     generated C program is built -m64 and run natively (32-, 16- and 8-bit operations behave the
//     same in 64-bit mode), and built -m32 and run in the emulator.
// Needs: gcc with gcc-multilib, qemu-user (qemu-i386, 7.2 or newer with TCG plugin support), objdump.
//
// Guarantees: guests and native tools are built once per content hash into .cache/ (atomic renames,
// safe across vitest worker processes); a missing tool throws one clear message naming the package.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildGuest, REPO_ROOT } from './gcc.js';

export { REPO_ROOT };
export const GUESTS_DIR = path.join(REPO_ROOT, 'test', 'guests');
export const NATIVE_DIR = path.join(REPO_ROOT, 'test', 'native');
export const NATIVE_CACHE = path.join(REPO_ROOT, '.cache', 'native');

/** The QEMU CPU model used as reference: P6 family with MMX but no SSE (glibc picks i686 code). */
export const QEMU_CPU = 'pentium2';
/**
 * The reference for the emulator's pentium4 model (SSE, SSE2, no SSE3): QEMU 7.2 has no Pentium 4 model
 * and its SSE2 models all add SSE3, so a Pentium III with SSE2 added (family 6, but the same ISA).
 */
export const QEMU_CPU_SSE2 = 'pentium3,+sse2';

/** Flags of the freestanding build (see test/guests/mini.h). */
export const FREESTANDING_FLAGS = [
  '-m32',
  '-nostdlib',
  '-static',
  '-O2',
  '-fno-pic',
  '-fno-pie',
  '-no-pie',
  '-fno-stack-protector',
  '-DFREESTANDING',
];
/** Flags of the static glibc build. */
export const GLIBC_FLAGS = ['-m32', '-static', '-O2'];

export type GuestMode = 'fs' | 'glibc';

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

let toolsChecked: string | null = null;
/**
 * Throws (once per process) a one-line message when a tool the harness needs is missing:
 * `apt-get install gcc-multilib qemu-user binutils` provides them.
 */
export function requireTools(): void {
  if (toolsChecked === 'ok') return;
  if (toolsChecked) throw new Error(toolsChecked);
  const missing: string[] = [];
  if (!which('gcc')) missing.push('gcc');
  if (!which('qemu-i386')) missing.push('qemu-i386 (package qemu-user)');
  if (!which('objdump')) missing.push('objdump (package binutils)');
  if (missing.length === 0) {
    const probe = spawnSync('gcc', ['-m32', '-print-libgcc-file-name'], { encoding: 'utf8' });
    const lib = probe.stdout.trim();
    if (probe.status !== 0 || !lib.includes('32') || !fs.existsSync(lib))
      missing.push('gcc -m32 support (package gcc-multilib)');
  }
  toolsChecked = missing.length ? `verification harness needs: ${missing.join(', ')}` : 'ok';
  if (missing.length) throw new Error(toolsChecked);
}

let qemuPath: string | null = null;
export function qemuBinary(): string {
  qemuPath ??= which('qemu-i386') ?? 'qemu-i386';
  return qemuPath;
}

let stepFlag: string | null = null;
/** `-one-insn-per-tb` (QEMU >= 8.1) or `-singlestep` (older). */
export function qemuOneInsnFlag(): string {
  if (stepFlag) return stepFlag;
  const help = spawnSync(qemuBinary(), ['-h'], { encoding: 'utf8' }).stdout ?? '';
  stepFlag = help.includes('-one-insn-per-tb') ? '-one-insn-per-tb' : '-singlestep';
  return stepFlag;
}

/** Guest source with test/guests/mini.h inlined (so the build cache key covers the header too). */
export function guestSource(name: string): string {
  const src = fs.readFileSync(path.join(GUESTS_DIR, `${name}.c`), 'utf8');
  const mini = fs.readFileSync(path.join(GUESTS_DIR, 'mini.h'), 'utf8');
  return src.replace(/^#include "mini.h"$/m, () => mini);
}

/** Builds test/guests/<name>.c freestanding or against static glibc; returns the binary path. */
export function buildGuestProgram(name: string, mode: GuestMode): string {
  const src = guestSource(name);
  if (mode === 'fs') return buildGuest(src, FREESTANDING_FLAGS, `${name}.fs`, { libs: ['-lgcc'] });
  return buildGuest(src, GLIBC_FLAGS, `${name}.glibc`, { libs: ['-lm'] });
}

/** Compiles a host (x86-64) C file with gcc into .cache/native; returns the output path. */
export function buildHost(srcPath: string, name: string, flags: string[]): string {
  const src = fs.readFileSync(srcPath);
  const hash = createHash('sha256').update(src).update(JSON.stringify(flags)).digest('hex').slice(0, 16);
  const out = path.join(NATIVE_CACHE, `${name}-${hash}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(NATIVE_CACHE, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    execFileSync('gcc', [...flags, '-o', tmp, srcPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`gcc failed for ${name}: ${err.stderr?.toString() ?? err.message}`, { cause: e });
  }
  return out;
}

/** The lockstep tracer plugin (test/native/tracer.c) as a shared object for qemu-i386. */
export function buildTracer(): string {
  return buildHost(path.join(NATIVE_DIR, 'tracer.c'), 'tracer.so', ['-O2', '-shared', '-fPIC']);
}

export interface NativeResult {
  stdout: Buffer;
  /** The guest's stderr, without qemu's own "qemu: uncaught target signal ..." line. */
  stderr: Buffer;
  /** Exit status (0..255) or null when killed by a signal. */
  status: number | null;
  /** Signal number that ended the guest, or null. */
  signal: number | null;
}

const SIGNUMS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

export interface RunOptions {
  cwd?: string;
  env?: string[];
  stdin?: Uint8Array;
  timeoutMs?: number;
  /** qemu's -cpu (default QEMU_CPU); QEMU_CPU_SSE2 for the emulator's pentium4 model. */
  cpu?: string;
}

/** Runs a static i386 binary on the reference (qemu-i386 -cpu pentium2) with exactly `env`. */
export function runNative(binary: string, argv: string[], opts: RunOptions = {}): NativeResult {
  const env: Record<string, string> = {};
  for (const kv of opts.env ?? []) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  // argv[0] is passed through qemu's -0 option so the guest sees the same argv as in the emulator.
  const r = spawnSync(
    qemuBinary(),
    ['-cpu', opts.cpu ?? QEMU_CPU, '-0', argv[0] ?? binary, binary, ...argv.slice(1)],
    {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      input: opts.stdin ?? new Uint8Array(0),
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (r.error) throw r.error;
  const stderr = Buffer.from(
    r.stderr.toString('latin1').replace(/^qemu: uncaught target signal \d+ \([^)]*\) - core dumped\n/m, ''),
    'latin1',
  );
  return {
    stdout: r.stdout,
    stderr,
    status: r.status,
    signal: r.signal ? (SIGNUMS[r.signal] ?? -1) : null,
  };
}

export interface GuestCase {
  name: string;
  modes: GuestMode[];
  args?: string[];
}

/** The guest programs, their builds and arguments (shared with the lockstep test). */
export const GUESTS: GuestCase[] = [
  { name: 'strings', modes: ['fs', 'glibc'] },
  { name: 'qsort', modes: ['fs', 'glibc'] },
  { name: 'sha256', modes: ['fs', 'glibc'] },
  { name: 'muldiv64', modes: ['fs', 'glibc'] },
  { name: 'recursion', modes: ['fs', 'glibc'] },
  { name: 'setjmp', modes: ['fs', 'glibc'] },
  { name: 'switch', modes: ['fs', 'glibc'] },
  { name: 'structs', modes: ['fs', 'glibc'] },
  { name: 'bits', modes: ['fs', 'glibc'] },
  { name: 'strinsn', modes: ['fs', 'glibc'] },
  { name: 'x87', modes: ['fs', 'glibc'] },
  { name: 'printf', modes: ['glibc'] },
  { name: 'fileread', modes: ['fs', 'glibc'], args: ['test/fixtures/lorem.txt', 'test/guests/fileread.c'] },
  { name: 'exitcode', modes: ['fs', 'glibc'], args: ['7', 'hello world', ''] },
];

/** Environment of every guest run (the reference gets exactly this environment too). */
export const GUEST_ENV = ['PROBELAB_GUEST=1', 'LANG=C'];
