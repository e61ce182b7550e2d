// Runs npm scripts at the same time (the gate's static checks and the build: each is mostly one core,
// and the machine has two), prints each one's output whole when it ends, in the order given, and
// exits non-zero if any of them failed.
//   node scripts/parallel.mjs typecheck lint format:check build
import { spawn } from 'node:child_process';

const names = process.argv.slice(2);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const runs = names.map(
  (name) =>
    new Promise((resolve) => {
      const child = spawn(npm, ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = [];
      child.stdout.on('data', (d) => out.push(d));
      child.stderr.on('data', (d) => out.push(d));
      child.on('close', (code, signal) =>
        resolve({ name, code: code ?? (signal ? 1 : 0), out: Buffer.concat(out) }),
      );
      child.on('error', (e) => resolve({ name, code: 1, out: Buffer.from(`${e.message}\n`) }));
    }),
);
let failed = 0;
for (const r of await Promise.all(runs)) {
  process.stdout.write(`> ${r.name}${r.code === 0 ? '' : ` (failed, exit ${r.code})`}\n`);
  process.stdout.write(r.out);
  if (r.code !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
