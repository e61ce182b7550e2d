// Runs the native TypeScript 7 compiler (installed as `typescript-native`). The `typescript` package stays
// at 6.x because typescript-eslint needs the JavaScript compiler API that 7.0 no longer ships; the native
// compiler type-checks and builds several times faster, which keeps the CI gate short.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// bin/ is not in the package's exports: resolve the manifest and go from there.
const bin = join(dirname(require.resolve('typescript-native/package.json')), 'bin', 'tsc');
const r = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
