// What one compiled unit would cost as WebAssembly (#13: the block compiler's limit is V8's ~10 ms of
// TurboFan work per generated JavaScript function). Builds modules shaped like a unit of N guest
// instructions — each one a register read, a page-permission check with an exit, a load and a register
// update, all in one imported memory — and prints the CPU time to compile, instantiate and call each
// one synchronously (V8's Liftoff), then checks that every module computes what the same steps in JS do.
//   node bench/wasm-unit.mjs [N=24] [modules=200]
// A measurement for choosing the next tier, not part of `npm run bench`.

const wasm = globalThis.WebAssembly;
const N = Number(process.argv[2] ?? 24);
const COUNT = Number(process.argv[3] ?? 200);
const PERM = 0x10000; // byte per page: the permission table; registers at 0..31, data below 64 KiB

const uleb = (n) => {
  const o = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    o.push(b);
  } while (n);
  return o;
};
const sleb = (n) => {
  const o = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...o, b];
    o.push(b | 0x80);
  }
};
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];

/** Register slots (byte offsets) read and written by guest instruction k of module s. */
const slots = (k, s) => [(k * 4 + s) & 28, (k * 8 + s + 4) & 28];

/** One module exporting f(): runs the N steps; returns -1 - k if step k's page check fails, else 0. */
function unitModule(s) {
  // locals 0..2: a, v, scratch; then `i32.const s; drop`, which makes every module's bytes distinct
  // (V8 shares the compiled code of byte-identical modules).
  const body = [1, 3, 0x7f, 0x41, ...sleb(s), 0x1a];
  for (let k = 0; k < N; k++) {
    const [src, dst] = slots(k, s);
    const disp = 64 + ((k * 4) & 0xfff);
    body.push(
      0x41,
      0,
      0x28,
      2,
      ...uleb(src),
      0x41,
      ...sleb(disp),
      0x6a,
      0x41,
      ...sleb(0xfffc),
      0x71,
      0x21,
      0,
    ); // a = (R[src] + disp) & 0xfffc
    body.push(0x20, 0, 0x41, 12, 0x76, 0x2d, 0, ...uleb(PERM), 0x41, 1, 0x47); // perm[a >>> 12] != 1
    body.push(0x04, 0x40, 0x41, ...sleb(-1 - k), 0x0f, 0x0b); // then return -1 - k
    body.push(0x20, 0, 0x28, 2, 0, 0x21, 1); // v = mem32[a]
    body.push(0x41, 0, 0x20, 1, 0x41, 0, 0x28, 2, ...uleb(dst), 0x6a, 0x36, 2, ...uleb(dst)); // R[dst] += v
  }
  body.push(0x41, 0, 0x0b);
  const code = [1, ...uleb(body.length), ...body];
  return new Uint8Array([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [1, 0x60, 0, 1, 0x7f]),
    ...section(2, [1, 3, 0x65, 0x6e, 0x76, 1, 0x6d, 2, 0, 2]),
    ...section(3, [1, 0]),
    ...section(7, [1, 1, 0x66, 0, 0]),
    ...section(10, code),
  ]);
}

/** The same steps on a DataView of the memory: the reference the modules are checked against. */
function reference(view, s) {
  for (let k = 0; k < N; k++) {
    const [src, dst] = slots(k, s);
    const a = (view.getInt32(src, true) + 64 + ((k * 4) & 0xfff)) & 0xfffc;
    if (view.getUint8(PERM + (a >>> 12)) !== 1) return -1 - k;
    view.setInt32(dst, (view.getInt32(dst, true) + view.getInt32(a, true)) | 0, true);
  }
  return 0;
}

const mem = new wasm.Memory({ initial: 2 });
const bytes = new Uint8Array(mem.buffer);
for (let i = 32; i < PERM; i++) bytes[i] = (i * 37) & 255;
bytes.fill(1, PERM, PERM + 16); // pages 0..15 readable
const modules = [];
for (let s = 0; s < COUNT; s++) modules.push(unitModule(s));

// Timed: compile, instantiate and a first call (V8 may compile a wasm function lazily, at its first call).
const c0 = process.cpuUsage();
const fns = modules.map((b) => new wasm.Instance(new wasm.Module(b), { env: { m: mem } }).exports.f);
for (const f of fns) f();
const cu = process.cpuUsage(c0);

// Check: each module against the reference, from the same register values.
const view = new DataView(mem.buffer);
for (let s = 0; s < COUNT; s++) {
  for (let r = 0; r < 8; r++) view.setInt32(r * 4, (s * 97 + r * 1024) & 0x7ffc, true);
  const saved = bytes.slice(0, 32);
  const want = reference(view, s);
  const regs = bytes.slice(0, 32);
  bytes.set(saved, 0);
  const got = fns[s]();
  if (got !== want || bytes.slice(0, 32).some((x, i) => x !== regs[i]))
    throw new Error(`module ${s} differs`);
}
const ms = (cu.user + cu.system) / 1e3;
console.log(
  `${COUNT} modules of ${N} guest-instruction-like steps (${modules[0].length} bytes each): ` +
    `${(ms / COUNT).toFixed(3)} ms CPU each to compile, instantiate and call once (${ms.toFixed(1)} ms in all); results checked`,
);

// Steady state: the first RUN modules called CALLS times each, as WebAssembly and as JavaScript made
// the way the block compiler makes units (new Function over typed arrays; TurboFan's work included:
// the CPU time is the whole process's).
const RUN = Math.min(20, COUNT);
const CALLS = 50000;
function jsUnit(s) {
  const lines = [];
  for (let k = 0; k < N; k++) {
    const [src, dst] = slots(k, s);
    lines.push(
      `a = (R[${src >> 2}] + ${64 + ((k * 4) & 0xfff)}) & 0xfffc;`,
      `if (P[a >>> 12] !== 1) return ${-1 - k};`,
      `R[${dst >> 2}] = (R[${dst >> 2}] + M32[a >> 2]) | 0;`,
    );
  }
  const make = new Function(
    'R',
    'M32',
    'P',
    `return function unit() { let a = 0;\n${lines.join('\n')}\nreturn 0; };`,
  );
  return make(new Int32Array(mem.buffer, 0, 8), new Int32Array(mem.buffer), new Uint8Array(mem.buffer, PERM));
}
function perStep(fs) {
  const t0 = process.cpuUsage();
  let x = 0;
  for (const f of fs) for (let c = 0; c < CALLS; c++) x |= f();
  const t = process.cpuUsage(t0);
  if (x !== 0) throw new Error('a page check failed');
  return ((t.user + t.system) * 1e3) / (fs.length * CALLS * N);
}
const wasmNs = perStep(fns.slice(0, RUN));
const jsNs = perStep(Array.from({ length: RUN }, (_, s) => jsUnit(s)));
console.log(
  `steady state, ${RUN} units called ${CALLS} times each: WebAssembly ${wasmNs.toFixed(2)} ns per step, ` +
    `JavaScript ${jsNs.toFixed(2)} ns per step (including V8 optimising each unit)`,
);
