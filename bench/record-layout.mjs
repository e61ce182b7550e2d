// Records GUEST (one CPU) with the probe given into OUT storing every event as a row, the layout of
// trace formats 1-3 (TraceWriter's storeEveryEvent), so bench/record.mjs can compare trace sizes.
//   node bench/record-layout.mjs GUEST OUT PROBE
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const [bin, out, probe] = process.argv.slice(2);
const { TraceWriter } = await import('../dist/src/trace/writer.js');
const { recordRun } = await import('../dist/src/recorder/record.js');
const w = TraceWriter.create(out, { force: true, storeEveryEvent: true });
recordRun(w, {
  workload: basename(bin),
  binary: new Uint8Array(readFileSync(bin)),
  session: { argv: [basename(bin)], cpus: 1, probes: [probe], captureOutput: false },
});
w.close();
