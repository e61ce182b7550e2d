// The fuzz suite's worker thread (test/fuzz.test.ts): runs one probelab command per message, in-process,
// from the built commands in dist/ (as their bin entries would: main(), then reportFailure() for what
// it throws), and posts back the exit status, stderr and the thrown error's class. It runs in a worker
// so that the test can terminate a case that does not finish in its time limit (a hang) and go on.

import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const CLI = process.env.PROBELAB_FUZZ_CLI_DIR;
const load = (f) => import(pathToFileURL(path.join(CLI, f)).href);
const { reportFailure } = await load('command.js');
const mains = {};
for (const c of [
  'probe-record',
  'probe-replay',
  'probe-report',
  'probe-query',
  'probe-migrate',
  'probe-merge',
  'probe-run',
])
  mains[c] = (await load(`${c}.js`)).main;

const text = (c) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8'));

parentPort.on('message', async ({ id, cmd, argv }) => {
  const out = [];
  const err = [];
  const so = process.stdout.write;
  const se = process.stderr.write;
  process.stdout.write = (c) => (out.push(text(c)), true);
  process.stderr.write = (c) => (err.push(text(c)), true);
  let code;
  let thrown = null;
  try {
    code = await mains[cmd](argv);
  } catch (e) {
    thrown = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    code = reportFailure(cmd, e);
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
  parentPort.postMessage({ id, code, stderr: err.join(''), stdoutBytes: out.join('').length, thrown });
});
parentPort.postMessage({ ready: true });
