// Test helper: compile guest programs with the host gcc (gcc-multilib) at test time.
// Guarantees: the same source, flags and gcc version always give the same cached path under
// .cache/guests/ (keyed by sha256), builds are atomic (compile to a temporary name, then rename),
// so test files running in parallel processes never see a half-written binary; a compiler error
// throws with gcc's own diagnostics.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GUEST_CACHE = path.join(REPO_ROOT, '.cache', 'guests');

/** Freestanding static i386 executable: no libc, no stack protector (it needs TLS), non-PIE. */
export const FREESTANDING = [
  '-m32',
  '-static',
  '-nostdlib',
  '-ffreestanding',
  '-fno-stack-protector',
  '-fno-pie',
  '-no-pie',
];
/** Static glibc executable (ET_EXEC). */
export const STATIC = ['-m32', '-static'];
/** Static glibc position-independent executable (ET_DYN, no PT_INTERP). */
export const STATIC_PIE = ['-m32', '-static-pie'];

let gccVersion: string | undefined;
function version(): string {
  gccVersion ??= execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  return gccVersion;
}

export interface BuildOptions {
  /** Source language by file extension: 'c' (default), 'S' (assembly through cpp) or 's'. */
  ext?: 'c' | 'S' | 's';
  /** Arguments placed after the source file (libraries such as '-lm', which must follow it). */
  libs?: string[];
}

/**
 * Compiles `src` with `gcc <flags>` into .cache/guests/<name>-<hash> and returns that path.
 * `-m32` is added unless the flags already choose -m32/-m64 (pass '-m64' for an x86-64 build).
 * Flags go before the source file; put libraries in `opts.libs` so they follow it.
 */
export function buildGuest(src: string, flags: string[], name: string, opts: BuildOptions = {}): string {
  const ext = opts.ext ?? 'c';
  const libs = opts.libs ?? [];
  const all = flags.some((f) => f === '-m32' || f === '-m64') ? [...flags] : ['-m32', ...flags];
  const hash = createHash('sha256')
    .update(JSON.stringify({ src, flags: all, libs, ext, gcc: version() }))
    .digest('hex')
    .slice(0, 16);
  const safeName = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const out = path.join(GUEST_CACHE, `${safeName}-${hash}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(GUEST_CACHE, { recursive: true });
  // Compile in a private directory under a fixed source name: the name ends up in the binary
  // (STT_FILE symbol), so a rebuild after clearing the cache gives identical bytes.
  const work = fs.mkdtempSync(path.join(GUEST_CACHE, `.build-${safeName}-`));
  const srcFile = path.join(work, `${safeName}.${ext}`);
  const tmp = path.join(work, safeName);
  fs.writeFileSync(srcFile, src);
  try {
    execFileSync('gcc', [...all, '-o', tmp, srcFile, ...libs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: work,
    });
    fs.renameSync(tmp, out);
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`gcc failed for ${name}: ${err.stderr?.toString() ?? err.message}`, { cause: e });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return out;
}
