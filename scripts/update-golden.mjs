// Regenerates the golden event streams of test/e2e/golden/*.jsonl from the current build:
// runs test/e2e/golden.test.ts with UPDATE_GOLDEN=1 (the test records the cases and rewrites the files).
// Review the resulting `git diff test/e2e/golden` by hand before committing it.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync('npx', ['vitest', 'run', 'test/e2e/golden.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, UPDATE_GOLDEN: '1' },
});
if (r.error) {
  console.error(`update-golden: ${r.error.message}`);
  process.exit(1);
}
if (r.status === 0)
  console.log('update-golden: rewrote test/e2e/golden/*.jsonl; review `git diff test/e2e/golden`');
process.exit(r.status ?? 1);
