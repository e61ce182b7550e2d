// The built-in guest workloads (workloads/): the committed binaries are exactly what
// workloads/build.sh produces, they are freestanding static i386 executables that export
// the probe targets the manifest names, and they run on a real CPU with exit status 0 and
// an output that does not depend on the thread interleaving.
//
// "Real CPU" means natively when this host can execute i386 binaries, otherwise under
// qemu-i386 (user mode, real threads on host CPUs); without either, (b) is skipped.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const WDIR = join(ROOT, 'workloads');
const BIN = join(WDIR, 'bin');

interface Peak {
  formula: string;
  kind: 'exact' | 'upper_bound';
  default_args: number | string;
  default_args_kind?: 'exact' | 'upper_bound';
  no_preempt?: { formula: string; kind: string; default_args: number | string };
  per_task?: { formula: string; kind: string; default_args: number | string };
}
interface Workload {
  name: string;
  description: string;
  source: string;
  binary: string;
  params: { name: string; description: string; default: number; min: number; max: number }[];
  default_args: string[];
  probed_functions: string[];
  probes: string[];
  jprobes?: { target: string; handler: string }[];
  answers: { function: string; case: string; peak: Peak; note: string }[];
}
interface Manifest {
  schema: string;
  build: { command: string; toolchain: string };
  default_workload: string;
  workloads: Workload[];
}

const manifest = JSON.parse(readFileSync(join(WDIR, 'workloads.json'), 'utf8')) as Manifest;
const names = manifest.workloads.map((w) => w.name);

function run(cmd: string, args: string[], timeout = 60_000) {
  const r = spawnSync(cmd, args, { encoding: 'buffer', timeout, maxBuffer: 16 << 20 });
  return {
    status: r.status,
    signal: r.signal,
    error: r.error,
    stdout: r.stdout?.toString('utf8') ?? '',
    stderr: r.stderr?.toString('utf8') ?? '',
  };
}

// ---- toolchain ----------------------------------------------------------------------

function gccM32Available(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'probelab-m32-'));
  try {
    const src = join(dir, 't.c');
    spawnSync('sh', ['-c', `printf 'void _start(void){for(;;);}\\n' > '${src}'`]);
    const r = run('gcc', ['-m32', '-nostdlib', '-static', '-o', join(dir, 't'), src]);
    return r.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function firstLine(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  return r.stdout.split('\n')[0]?.trim() ?? '';
}

const HAVE_GCC_M32 = gccM32Available();
const TOOLCHAIN = HAVE_GCC_M32 ? `${firstLine('gcc', ['--version'])}; ${firstLine('ld', ['--version'])}` : '';
const SAME_TOOLCHAIN = TOOLCHAIN === manifest.build.toolchain;

// ---- a minimal ELF32 reader (headers and .symtab) --------------------------------------

interface Elf32 {
  cls: number;
  data: number;
  type: number;
  machine: number;
  entry: number;
  phdrTypes: number[];
  funcs: Map<string, { value: number; size: number }>;
  objects: Set<string>;
}

function readElf32(buf: Buffer): Elf32 {
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  const phoff = buf.readUInt32LE(28);
  const shoff = buf.readUInt32LE(32);
  const phentsize = buf.readUInt16LE(42);
  const phnum = buf.readUInt16LE(44);
  const shentsize = buf.readUInt16LE(46);
  const shnum = buf.readUInt16LE(48);
  const phdrTypes: number[] = [];
  for (let i = 0; i < phnum; i++) phdrTypes.push(buf.readUInt32LE(phoff + i * phentsize));
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: buf.readUInt32LE(o + 16),
      size: buf.readUInt32LE(o + 20),
      link: buf.readUInt32LE(o + 24),
    });
  }
  const funcs = new Map<string, { value: number; size: number }>();
  const objects = new Set<string>();
  const symtab = sections.find((s) => s.type === 2 /* SHT_SYMTAB */);
  if (symtab) {
    const strtab = sections[symtab.link];
    if (!strtab) throw new Error('symtab without strtab');
    for (let o = symtab.offset; o + 16 <= symtab.offset + symtab.size; o += 16) {
      const nameOff = buf.readUInt32LE(o);
      const start = strtab.offset + nameOff;
      const name = buf.toString('latin1', start, buf.indexOf(0, start));
      const info = buf[o + 12] ?? 0;
      const stType = info & 15;
      if (stType === 2 /* STT_FUNC */)
        funcs.set(name, { value: buf.readUInt32LE(o + 4), size: buf.readUInt32LE(o + 8) });
      if (stType === 1 /* STT_OBJECT */) objects.add(name);
    }
  }
  return {
    cls: buf[4] ?? 0,
    data: buf[5] ?? 0,
    type: buf.readUInt16LE(16),
    machine: buf.readUInt16LE(18),
    entry: buf.readUInt32LE(24),
    phdrTypes,
    funcs,
    objects,
  };
}

// ---- how to run an i386 binary on this host ------------------------------------------------

function pickRunner(): { how: 'native' | 'qemu-i386' | null; why: string } {
  const hello = join(BIN, 'hello');
  if (!existsSync(hello)) return { how: null, why: 'workloads/bin/hello is missing' };
  // Note: when the kernel cannot exec i386 (no IA32 emulation), execvp falls back to
  // running the file with /bin/sh, so check the output rather than the error.
  const native = run(hello, []);
  if (native.status === 0 && native.stdout === 'hello, world\n') return { how: 'native', why: '' };
  const q = run('qemu-i386', [hello]);
  if (q.status === 0 && q.stdout === 'hello, world\n') return { how: 'qemu-i386', why: '' };
  return {
    how: null,
    why: 'this host can neither execute i386 binaries natively (no IA32 emulation) nor run qemu-i386',
  };
}

const RUNNER = pickRunner();

function runGuest(name: string, args: string[]) {
  const bin = join(BIN, name);
  return RUNNER.how === 'native' ? run(bin, args) : run('qemu-i386', [bin, ...args]);
}

// ---- the tests ----------------------------------------------------------------------------------

describe('workloads manifest', () => {
  it('lists every workload with its source, binary, defaults, probes and answers', () => {
    expect(manifest.schema).toBe('probelab-workloads/1');
    expect(names).toEqual(['hello', 'spinlock', 'percpu', 'sleepy', 'recursive', 'server', 'jprobe']);
    expect(manifest.default_workload).toBe('server');
    // build.sh builds exactly the manifest's workloads, in the same order.
    const script = readFileSync(join(WDIR, 'build.sh'), 'utf8');
    expect(script).toMatch(new RegExp(`WORKLOADS="${names.join(' ')}"`));
    for (const w of manifest.workloads) {
      expect(w.description.length, w.name).toBeGreaterThan(10);
      expect(w.description, w.name).not.toMatch(/\n/);
      expect(existsSync(join(WDIR, w.source)), w.source).toBe(true);
      expect(w.binary).toBe(`bin/${w.name}`);
      expect(w.default_args).toEqual(w.params.map((p) => String(p.default)));
      for (const p of w.params) {
        expect(p.default, `${w.name} ${p.name}`).toBeGreaterThanOrEqual(p.min);
        expect(p.default, `${w.name} ${p.name}`).toBeLessThanOrEqual(p.max);
      }
      expect(w.probed_functions.length, w.name).toBeGreaterThan(0);
      expect(w.answers.map((a) => a.function).sort()).toEqual([...w.probed_functions].sort());
      for (const a of w.answers) {
        expect(['exact', 'upper_bound']).toContain(a.peak.kind);
        expect(a.peak.formula).toMatch(/^[A-Za-z0-9_ ,()*+-]+$/);
        expect(['number', 'string']).toContain(typeof a.peak.default_args);
      }
      // Every suggested probe spec names a probed function and uses kprobe_events syntax.
      for (const spec of w.probes) {
        const m = /^([pr])(\d*):(\w+) (\w+)( .*)?$/.exec(spec);
        expect(m, spec).not.toBeNull();
        expect(w.probed_functions).toContain(m?.[4]);
      }
      // The source's header comment states the correct answer.
      const src = readFileSync(join(WDIR, w.source), 'utf8');
      const header = src.slice(0, src.indexOf('*/'));
      expect(header, w.source).toMatch(/CORRECT ANSWER/);
      for (const f of w.probed_functions) expect(header, `${w.source}: ${f}`).toContain(f);
    }
  });

  it('documents the server demo as too big for the Linux 2.6.13 default on 4 CPUs with preemption', () => {
    const server = manifest.workloads.find((w) => w.name === 'server');
    const hr = server?.answers.find((a) => a.function === 'handle_request');
    expect(hr?.peak).toMatchObject({ formula: 'min(W, R)', kind: 'exact', default_args: 12 });
    const nrCpus = 4;
    expect(Math.max(10, 2 * nrCpus)).toBeLessThan(hr?.peak.default_args as number);
    const lookup = server?.answers.find((a) => a.function === 'lookup');
    expect(lookup?.peak.default_args).toBe(1);
  });
});

describe('workload binaries', () => {
  for (const w of manifest.workloads) {
    it(`${w.name}: static ELF32 i386 without an interpreter, exporting its probe targets`, () => {
      const elf = readElf32(readFileSync(join(WDIR, w.binary)));
      expect(elf.cls).toBe(1); // ELFCLASS32
      expect(elf.data).toBe(1); // little endian
      expect(elf.type).toBe(2); // ET_EXEC
      expect(elf.machine).toBe(3); // EM_386
      expect(elf.phdrTypes).not.toContain(2); // PT_DYNAMIC
      expect(elf.phdrTypes).not.toContain(3); // PT_INTERP
      expect(elf.phdrTypes).not.toContain(7); // PT_TLS
      expect(elf.funcs.get('_start')?.value).toBe(elf.entry);
      for (const f of [...w.probed_functions, ...(w.jprobes ?? []).flatMap((j) => [j.target, j.handler])]) {
        const sym = elf.funcs.get(f);
        expect(sym, `${w.name}: ${f}`).toBeDefined();
        expect(sym?.size, `${w.name}: ${f}`).toBeGreaterThan(0);
      }
      expect(elf.funcs.has('jprobe_return')).toBe(true);
      // No C library in sight.
      for (const libc of ['__libc_start_main', '_IO_printf', '__libc_setup_tls', 'pthread_create'])
        expect(elf.funcs.has(libc), libc).toBe(false);
    });
  }
});

describe('reproducible build', () => {
  const out = mkdtempSync(join(tmpdir(), 'probelab-workloads-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.skipIf(!HAVE_GCC_M32)('rebuilds every workload byte for byte (needs gcc -m32)', () => {
    const r = run('sh', [join(WDIR, 'build.sh'), out], 300_000);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...names].sort());
    if (!SAME_TOOLCHAIN) {
      // Other compiler or linker versions generate other code: compare only the build
      // with itself.  The committed binaries came from manifest.build.toolchain.
      console.warn(
        `workloads: toolchain "${TOOLCHAIN}" differs from "${manifest.build.toolchain}" ` +
          'that built workloads/bin; checking that the build is deterministic instead of comparing bytes',
      );
      const again = mkdtempSync(join(tmpdir(), 'probelab-workloads-'));
      try {
        expect(run('sh', [join(WDIR, 'build.sh'), again], 300_000).status).toBe(0);
        for (const n of names)
          expect(readFileSync(join(again, n)).equals(readFileSync(join(out, n))), n).toBe(true);
      } finally {
        rmSync(again, { recursive: true, force: true });
      }
      return;
    }
    for (const n of names) {
      const fresh = readFileSync(join(out, n));
      const committed = readFileSync(join(BIN, n));
      expect(
        fresh.equals(committed),
        `workloads/bin/${n} differs from a fresh build: run make -C workloads`,
      ).toBe(true);
    }
  });

  it.runIf(!HAVE_GCC_M32)('is skipped: gcc -m32 (gcc-multilib) is not available', () => {
    console.warn('workloads: skipping the rebuild check, gcc -m32 cannot link a 32-bit program here');
  });
});

describe(`workloads on a real CPU (${RUNNER.how ?? 'unavailable'})`, () => {
  it.runIf(RUNNER.how === null)('is skipped: no way to run i386 binaries here', () => {
    console.warn(`workloads: skipping the native runs: ${RUNNER.why}`);
  });

  const expectations: Record<string, RegExp[]> = {
    hello: [/^hello, world\n$/],
    spinlock: [/locked_update calls=2000 /, /ok: peak locked_update in flight must be 1\n/],
    percpu: [/crunch calls=1600 /],
    sleepy: [/wait_for_io calls=24 /, /must be T = 6\n/],
    recursive: [/walk calls=1260 \(63 per walk\) result=[0-9a-f]{8} deepest_nesting=6\n/],
    server: [/handled=48 lookups=48 /, /min\(W, R\) = 12\n/],
    jprobe: [/jprobe handler saw: nothing/, /whoami: return address is a call site of whoami: ok\n/],
  };

  for (const w of manifest.workloads) {
    it.skipIf(RUNNER.how === null)(`${w.name}: exits 0 with the same output on 3 runs`, () => {
      const outputs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = runGuest(w.name, []);
        expect(r.error, w.name).toBeUndefined();
        expect(r.signal, `${w.name}: ${r.stderr}`).toBeNull();
        expect(r.stderr, w.name).toBe('');
        expect(r.status, w.name).toBe(0);
        outputs.push(r.stdout);
      }
      expect(outputs[1]).toBe(outputs[0]);
      expect(outputs[2]).toBe(outputs[0]);
      // The explicit default arguments do exactly what no arguments do.
      expect(runGuest(w.name, w.default_args).stdout).toBe(outputs[0]);
      for (const re of expectations[w.name] ?? []) expect(outputs[0]).toMatch(re);
    });
  }

  // Other parameters, including awkward ones (fewer requests than workers, one thread,
  // zero sleep), must not deadlock and must stay interleaving-independent.
  const variants: [string, string[]][] = [
    ['spinlock', ['1', '10', '7']],
    ['spinlock', ['16', '50', '2']],
    ['percpu', ['3', '10', '5', '9']],
    ['sleepy', ['1', '1', '0']],
    ['sleepy', ['9', '3', '0', '4']],
    ['recursive', ['1']],
    ['recursive', ['5', '4', '3', '2']],
    ['server', ['1', '5']],
    ['server', ['5', '3', '2', '0']],
    ['server', ['4', '11', '3', '10']],
    ['server', ['3', '0']],
    ['jprobe', ['0']],
    ['jprobe', ['6', '42']],
  ];
  for (const [name, args] of variants) {
    it.skipIf(RUNNER.how === null)(`${name} ${args.join(' ')}: exits 0, same output twice`, () => {
      const a = runGuest(name, args);
      const b = runGuest(name, args);
      expect(a.stderr).toBe('');
      expect(a.status).toBe(0);
      expect(b.status).toBe(0);
      expect(b.stdout).toBe(a.stdout);
      if (name === 'server') {
        const [wk, rq] = args.map(Number) as [number, number];
        expect(a.stdout).toContain(`handled=${rq} lookups=${rq} `);
        expect(a.stdout).toContain(`min(W, R) = ${Math.min(wk, rq)}\n`);
      }
      if (name === 'recursive') expect(a.stdout).toContain(`deepest_nesting=${args[0]}\n`);
    });
  }

  it.skipIf(RUNNER.how === null)('rejects a bad argument with usage and exit status 2', () => {
    const r = runGuest('server', ['twelve']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/usage: server \[WORKERS=12/);
    expect(runGuest('spinlock', ['0']).status).toBe(2);
  });
});
