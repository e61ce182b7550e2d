// The test gate's configuration.
// Guarantees:
// - Tests run the compiled tree users run: every `../src/X.js` import of a test resolves to
//   `../dist/src/X.js`, which Node loads natively (no Vite transform). Vite's per-file esbuild
//   transform cannot inline a `const enum` from another file, and the interpreter's dispatch relies
//   on them, so under it the interpreter ran up to 12x slower than the build.
// - dist/ is never stale: before any test runs, dist/ is rebuilt if a source or schema file is
//   newer than its compiled or copied counterpart (or has none), or tsconfig.json than any of
//   them; `npm test` has just built it, so there this is only a check.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

/** The oldest compiled or copied file staleFile has seen (ms). */
let oldestBuilt = Infinity;

/** The first file under `dir` (relative to root) whose counterpart `out(file)` is missing or older. */
function staleFile(dir: string, keep: (f: string) => boolean, out: (f: string) => string): string | null {
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const f = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      const s = staleFile(f, keep, out);
      if (s !== null) return s;
      continue;
    }
    if (!e.isFile() || !keep(f)) continue;
    let built: number;
    try {
      built = fs.statSync(path.join(root, out(f))).mtimeMs;
    } catch {
      return f;
    }
    oldestBuilt = Math.min(oldestBuilt, built);
    if (fs.statSync(path.join(root, f)).mtimeMs > built) return f;
  }
  return null;
}

function ensureFreshDist(): void {
  const stale =
    staleFile(
      'src',
      (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'),
      (f) => `dist/${f.slice(0, -3)}.js`,
    ) ??
    staleFile(
      'schemas',
      () => true,
      (f) => `dist/${f}`,
    ) ??
    // (the compiler's options change every output)
    (fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs > oldestBuilt ? 'tsconfig.json' : null);
  if (stale === null) return;
  process.stderr.write(`vitest.config: ${stale} is newer than dist/: running npm run build\n`);
  for (const script of [['scripts/tsc.mjs', '-p', 'tsconfig.json'], ['scripts/copy-assets.mjs']]) {
    const r = spawnSync(process.execPath, script, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`vitest.config: building dist/ failed (${script[0]})`);
  }
}

ensureFreshDist();

export default defineConfig({
  resolve: {
    alias: [{ find: /^((?:\.\.\/)+)src\/(.*)\.js$/, replacement: '$1dist/src/$2.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    server: { deps: { external: [/\/dist\/src\//] } },
    // Vitest's default is one worker fewer than the CPUs, which on the 2-core CI machine is a single
    // worker and a serial run; the main process is idle while files run, so use every core.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
