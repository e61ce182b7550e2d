// Fork cost (#12): wall time per fork+exit+waitpid from a process with 8 MiB written, pages copied
// by copy-on-write, peak RSS. Each figure from a fresh process; per-fork time = (run with FORKS
// forks - run with none) / FORKS, so loading and the 8 MiB fill are not counted.
//   node bench/mem-fork.mjs [DIST]   (DIST: another build's dist/ directory to compare, e.g. main's)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.argv[2] ?? join(here, '..', 'dist'));
const FORKS = 200;

function build(name, defs) {
  mkdirSync(join(here, '.build'), { recursive: true });
  const out = join(here, '.build', name);
  execFileSync('gcc', [
    ...'-m32 -nostdlib -static -O2 -fno-pic -fno-stack-protector -fno-builtin -fcf-protection=none -fno-asynchronous-unwind-tables'.split(
      ' ',
    ),
    ...defs.map((d) => `-D${d}`),
    '-o',
    out,
    join(here, 'guests', 'mem-fork.c'),
  ]);
  return out;
}

if (process.argv[3] === '--child') {
  // One measurement: node mem-fork.mjs DIST --child GUEST
  const { Machine } = await import(join(dist, 'src/emulator/machine.js'));
  const { readFileSync } = await import('node:fs');
  const m = Machine.load(readFileSync(process.argv[4]), { argv: ['mem-fork'], cpus: 1, captureOutput: true });
  const t0 = process.hrtime.bigint();
  const r = m.run();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const pool = m.initProcess.mm.memory.pool;
  console.log(
    JSON.stringify({
      wall,
      out: Buffer.from(r.stdout).toString().trim(),
      copies: pool ? pool.copies : null,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
} else {
  const run = (g) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), dist, '--child', g], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const base = run(build('mem-fork-0', ['FORKS=0']));
  console.log(`== fork (${dist}): ${FORKS} x fork+exit+waitpid from a process with 8 MiB written`);
  for (const writes of [0, 256]) {
    const r = run(build(`mem-fork-w${writes}`, [`FORKS=${FORKS}`, `CHILD_WRITES=${writes}`]));
    if (r.out !== String(FORKS)) throw new Error(`guest reaped ${r.out} children`);
    const per = ((r.wall - base.wall) / FORKS) * 1000;
    console.log(
      `child writes ${String(writes).padStart(3)} pages: ${per.toFixed(2)} ms per fork, ` +
        `pages copied ${r.copies === null ? 'n/a (eager copy)' : r.copies}, peak RSS ${Math.round(r.maxRssMB)} MB`,
    );
  }
}
