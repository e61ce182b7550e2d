// Tests for the fetch-argument evaluator (K26, K27) and the kprobe_profile listing (K28), against a
// fake guest: little-endian memory in a Uint8Array, registers, and a symbol table.
import { describe, expect, it } from 'vitest';
import {
  captureEntryArgs,
  compileFetchArgs,
  evaluateArgs,
  FAULT,
  formatArgValue,
  formatArgValues,
  splitEntryArgs,
  type FetchContext,
  type RegName,
} from '../src/probes/fetch.js';
import { formatProfile, formatProfileLine, profileMisses } from '../src/probes/profile.js';
import { parseProbeSpec, type FetchArg, type SpecContext } from '../src/probes/spec.js';

const TEXT = 0x08048000;
const DATA = 0x0804c000;
const STACK = 0xbfff0000;

const FUNCS: Record<string, { addr: number; size: number }> = {
  do_work: { addr: TEXT + 0x200, size: 0x40 },
  helper: { addr: TEXT + 0x240, size: 0x20 },
};
const OBJECTS: Record<string, number> = { counter: DATA, table: DATA + 0x100, msg: DATA + 0x200 };

const specCtx: SpecContext = {
  lookupSymbol: (n) => FUNCS[n]?.addr ?? OBJECTS[n],
  isInsnBoundary: () => true,
  isFunctionEntry: (a) => Object.values(FUNCS).some((f) => f.addr === a),
};

function args(text: string): FetchArg[] {
  const r = parseProbeSpec(text, specCtx);
  if (!r.ok) throw new Error(`${text}: ${r.error.code}`);
  return r.spec.args;
}

/** Guest memory: a data region and a stack region; anything else faults. */
class FakeGuest implements FetchContext {
  readonly regions: { base: number; bytes: Uint8Array }[] = [
    { base: DATA, bytes: new Uint8Array(0x1000) },
    { base: STACK, bytes: new Uint8Array(0x1000) },
  ];
  regs: Record<RegName, number> = {
    ax: 0,
    bx: 0,
    cx: 0,
    dx: 0,
    si: 0,
    di: 0,
    bp: 0,
    sp: STACK + 0x800,
    ip: FUNCS.do_work!.addr,
    flags: 0x246,
    cs: 0x73,
    ds: 0x7b,
    es: 0x7b,
    fs: 0,
    gs: 0x33,
    ss: 0x7b,
  };
  reads = 0;
  retval?: () => number;
  entryArgs?: Record<number, number | null>;
  maxStringLen?: number;

  private at(addr: number): { bytes: Uint8Array; i: number } {
    for (const r of this.regions) {
      const i = addr - r.base;
      if (i >= 0 && i < r.bytes.length) return { bytes: r.bytes, i };
    }
    throw new Error(`guest fault at 0x${addr.toString(16)}`);
  }
  read8(addr: number): number {
    this.reads++;
    const { bytes, i } = this.at(addr);
    return bytes[i]!;
  }
  read16(addr: number): number {
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }
  read32(addr: number): number {
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
  }
  w8(addr: number, v: number): void {
    const { bytes, i } = this.at(addr);
    bytes[i] = v & 0xff;
  }
  w32(addr: number, v: number): void {
    for (let k = 0; k < 4; k++) this.w8(addr + k, (v >>> (8 * k)) & 0xff);
  }
  wstr(addr: number, s: string): void {
    const b = new TextEncoder().encode(s);
    b.forEach((x, k) => this.w8(addr + k, x));
    this.w8(addr + b.length, 0);
  }
  reg(name: RegName): number {
    return this.regs[name];
  }
  stackAddr(): number {
    return this.regs.sp;
  }
  comm(): string {
    return 'workload';
  }
  symbolize(addr: number): string | undefined {
    for (const [name, f] of Object.entries(FUNCS)) {
      if (addr >= f.addr && addr < f.addr + f.size) return `${name}+0x${(addr - f.addr).toString(16)}`;
    }
    return undefined;
  }
}

/** The stack at the entry of do_work(a1, a2, a3): [ret, a1, a2, a3]. */
function atEntry(g: FakeGuest, ...a: number[]): void {
  const sp = g.regs.sp;
  g.w32(sp, TEXT + 0x123);
  a.forEach((v, k) => g.w32(sp + 4 + 4 * k, v));
}

/** Values as the trace output shows them: x types in Linux's "0x%x", everything else as stored. */
function shown(a: readonly FetchArg[], v: Record<string, number | string>): Record<string, number | string> {
  return Object.fromEntries(
    a.map((x) => [x.name, x.type.charAt(0) === 'x' ? formatArgValue(x.type, v[x.name]!) : v[x.name]!]),
  );
}

function ev(
  text: string,
  g: FakeGuest,
  phase: 'entry' | 'return' = 'entry',
): Record<string, number | string> {
  const a = args(text);
  return shown(a, evaluateArgs(a, g, phase));
}

describe('fetch: registers, stack, immediates (K26)', () => {
  it('K26: %REG with the default x32 type prints Linux "0x%x"', () => {
    const g = new FakeGuest();
    g.regs.ax = 42;
    g.regs.bx = 0xdeadbeef;
    expect(ev('p do_work %ax %eax %bx %flags %cs', g)).toEqual({
      arg1: '0x2a',
      arg2: '0x2a',
      arg3: '0xdeadbeef',
      arg4: '0x246',
      arg5: '0x73',
    });
  });

  it('K26: integer types truncate, sign-extend and zero-extend a register value', () => {
    const g = new FakeGuest();
    g.regs.ax = 0xffffff80;
    expect(
      ev(
        'p do_work a=%ax:u8 b=%ax:s8 c=%ax:x8 d=%ax:u16 e=%ax:s16 f=%ax:x16 g=%ax:u32 h=%ax:s32 i=%ax:u64 j=%ax:s64 k=%ax:x64',
        g,
      ),
    ).toEqual({
      a: 128,
      b: -128,
      c: '0x80',
      d: 0xff80,
      e: -128,
      f: '0xff80',
      g: 0xffffff80,
      h: -128,
      i: 0xffffff80,
      j: 0xffffff80,
      k: '0xffffff80',
    });
  });

  it('K26: $stack is ESP, $stackN the N-th word, $argN (cdecl) the N-th word above the return address', () => {
    const g = new FakeGuest();
    atEntry(g, 7, 0xfffffffe, DATA);
    expect(ev('p do_work $stack $stack0:symbol $stack1:u32 $arg1:u32 $arg2:s32 $arg3', g)).toEqual({
      arg1: '0x' + (STACK + 0x800).toString(16),
      arg2: '0x8048123',
      arg3: 7,
      arg4: 7,
      arg5: -2,
      arg6: '0x804c000',
    });
  });

  it('K26: immediates', () => {
    const g = new FakeGuest();
    expect(ev('p do_work \\1234:u8 \\-1:s32 \\-1 \\0x10:u16 \\"lit"', g)).toEqual({
      arg1: 1234 & 0xff,
      arg2: -1,
      arg3: '0xffffffff',
      arg4: 16,
      arg5: 'lit',
    });
  });

  it('K26: $comm is the task name', () => {
    expect(ev('p do_work $comm name=$comm:string', new FakeGuest())).toEqual({
      arg1: 'workload',
      name: 'workload',
    });
  });

  it('K26: $retval on a return probe is EAX via retval(); absent retval() gives (fault)', () => {
    const g = new FakeGuest();
    g.retval = () => 0xfffffff2;
    expect(ev('r do_work $retval $retval:s32 $retval:u8', g, 'return')).toEqual({
      arg1: '0xfffffff2',
      arg2: -14,
      arg3: 0xf2,
    });
    delete g.retval;
    expect(ev('r do_work $retval', g, 'return')).toEqual({ arg1: FAULT });
  });
});

describe('fetch: memory (K26)', () => {
  it('K26: @ADDR and @SYM[+|-offs] read the type size at a fixed address', () => {
    const g = new FakeGuest();
    g.w32(DATA, 0x11223344);
    g.w32(DATA + 4, 0x55667788);
    expect(
      ev(
        'p do_work @counter @0x0804c000:u8 @counter+1:x8 @counter+2:u16 @table-0xfc:x32 @counter:x64 @counter:u64',
        g,
      ),
    ).toEqual({
      arg1: '0x11223344',
      arg2: 0x44,
      arg3: '0x33',
      arg4: 0x1122,
      arg5: '0x55667788',
      arg6: '0x5566778811223344',
      arg7: 0x5566778811223344n.toString(),
    });
  });

  it('K26: nested dereferences read 32-bit words, the outermost the type size, with signed offsets', () => {
    const g = new FakeGuest();
    // struct node { int val; struct node *next; } at table: a -> b
    const a = DATA + 0x100;
    const b = DATA + 0x180;
    g.w32(a, 100);
    g.w32(a + 4, b);
    g.w32(b, -5);
    g.w32(b + 4, 0);
    g.regs.bx = a;
    g.regs.bp = a + 0x10;
    expect(
      ev('p do_work +0(%bx):s32 +0(+4(%bx)):s32 +4(+4(%bx)) -16(%ebp):u32 -0xc(%ebp):x32 +0(-12(%bp)):s8', g),
    ).toEqual({
      arg1: 100,
      arg2: -5,
      arg3: '0x0',
      arg4: 100,
      arg5: '0x' + b.toString(16),
      arg6: -5,
    });
  });

  it('K26: +0(+10(+20($stack))) follows the chain from the stack pointer', () => {
    const g = new FakeGuest();
    const sp = g.regs.sp;
    g.w32(sp + 20, DATA + 0x300);
    g.w32(DATA + 0x300 + 10, DATA + 0x340);
    g.w32(DATA + 0x340, 0xcafe);
    expect(ev('p do_work +0(+10(+20($stack))):u32', g)).toEqual({ arg1: 0xcafe });
  });

  it('K26: 64-bit values beyond 2^53 are decimal strings, smaller ones numbers; s64 is signed', () => {
    const g = new FakeGuest();
    g.w32(DATA, 0xffffffff);
    g.w32(DATA + 4, 0xffffffff);
    g.w32(DATA + 8, 5);
    g.w32(DATA + 12, 0);
    g.w32(DATA + 16, 0);
    g.w32(DATA + 20, 0x00200000);
    expect(
      ev(
        'p do_work @counter:u64 @counter:s64 @counter:x64 @counter+8:u64 @counter+16:u64 @counter+16:x64',
        g,
      ),
    ).toEqual({
      arg1: '18446744073709551615',
      arg2: -1,
      arg3: '0xffffffffffffffff',
      arg4: 5,
      arg5: '9007199254740992',
      arg6: '0x20000000000000',
    });
  });

  it('K26: bitfields keep the selected bits of the container', () => {
    const g = new FakeGuest();
    g.w32(DATA, 0xa5c3_f00f);
    g.w32(DATA + 4, 0x8000_0001);
    expect(
      ev(
        'p do_work @counter:b4@4/8 @counter:b3@13/16 @counter:b8@24/32 @counter:b1@63/64 @counter:b36@0/64',
        g,
      ),
    ).toEqual({
      arg1: 0x0,
      arg2: (0xf00f >>> 13) & 7,
      arg3: 0xa5,
      arg4: 1,
      arg5: 0x1a5c3f00f,
    });
  });

  it('K26: kprobe_args_type.tc: s/u/x views of $stack0 agree and b4@4/N is the second nibble', () => {
    const g = new FakeGuest();
    g.w32(g.regs.sp, 0x89abcdef);
    g.w32(g.regs.sp + 4, 0x01234567);
    for (const width of [8, 16, 32, 64]) {
      // $stack0 is a register-like (non-memory) value: 64-bit views zero-extend the word.
      const v = ev(
        `p:testprobe do_work $stack0:s${width} $stack0:u${width} $stack0:x${width} $stack0:b4@4/${width}`,
        g,
      );
      const [s, u, x, bf] = [v.arg1, v.arg2, v.arg3, v.arg4];
      const mask = width === 64 ? (1n << 64n) - 1n : (1n << BigInt(width)) - 1n;
      expect(BigInt(s as number) & mask).toBe(BigInt(u as number));
      expect(x).toBe('0x' + BigInt(u as number).toString(16));
      expect(bf).toBe(Number((BigInt(u as number) >> 4n) & 0xfn));
    }
    // Through memory the 64-bit view reads 8 bytes.
    expect(ev('p do_work +0($stack):x64 +0($stack):s64', g)).toEqual({
      arg1: '0x123456789abcdef',
      arg2: '81985529216486895',
    });
  });
});

describe('fetch: strings and symbols (K26)', () => {
  it('K26: :string reads the NUL-terminated string AT the final address', () => {
    const g = new FakeGuest();
    g.wstr(DATA + 0x200, 'hello, world');
    g.w32(DATA + 0x100, DATA + 0x200);
    g.regs.si = DATA + 0x100;
    expect(
      ev(
        'p do_work +0(%si):x32 +0(+0(%si)):string +7(+0(%si)):string @msg:string @msg+7:ustring \\134529536:string',
        g,
      ),
    ).toEqual({
      arg1: '0x804c200',
      arg2: 'hello, world',
      arg3: 'world',
      arg4: 'hello, world',
      arg5: 'world',
      arg6: 'hello, world',
    });
  });

  it('K26: kprobe_args_type.tc string test: an argv-style char** through $arg2', () => {
    const g = new FakeGuest();
    const argv = DATA + 0x400;
    g.w32(argv, DATA + 0x500);
    g.wstr(DATA + 0x500, 'p:testprobe');
    atEntry(g, 1, argv);
    expect(ev('p:testprobe do_work arg1=+0(+0($arg2)):string', g)).toEqual({ arg1: 'p:testprobe' });
  });

  it('K26: strings decode UTF-8, stop at MAX_STRING_SIZE - 1 bytes, and fault as a whole', () => {
    const g = new FakeGuest();
    g.wstr(DATA, 'naïve');
    expect(ev('p do_work @counter:string', g)).toEqual({ arg1: 'naïve' });
    g.wstr(DATA, 'abcdefghijkl');
    g.maxStringLen = 8;
    expect(ev('p do_work @counter:string', g)).toEqual({ arg1: 'abcdefg' });
    delete g.maxStringLen;
    // No NUL before the end of the mapped region: the read runs off it and faults.
    for (let k = 0; k < 16; k++) g.w8(DATA + 0x1000 - 16 + k, 0x41);
    g.regs.ax = DATA + 0x1000 - 16;
    expect(ev('p do_work +0(%ax):string +0(%ax):u8', g)).toEqual({ arg1: FAULT, arg2: 0x41 });
  });

  it('K26: :symbol and :symstr print sym+0xoff, or the bare hex address when unknown', () => {
    const g = new FakeGuest();
    g.regs.ip = FUNCS.do_work!.addr + 0x10;
    g.regs.ax = 0x1234;
    atEntry(g, FUNCS.helper!.addr);
    expect(ev('p do_work %ip:symbol %ax:symbol $stack0:symbol $arg1:symstr %eip:symstr', g)).toEqual({
      arg1: 'do_work+0x10',
      arg2: '0x1234',
      arg3: '0x8048123',
      arg4: 'helper+0x0',
      arg5: 'do_work+0x10',
    });
  });
});

describe('fetch: faults (K26)', () => {
  it('K26: a faulting argument shows (fault); the others are still fetched', () => {
    const g = new FakeGuest();
    g.regs.ax = 0; // NULL pointer
    g.regs.bx = DATA;
    g.w32(DATA, 0x10); // a pointer to unmapped memory
    g.w32(DATA + 4, 77);
    expect(
      ev(
        'p do_work +0(%ax) %ax +0(+0(%bx)) +4(%bx):u32 +0(%ax):string +0(%ax):u64 +0(%ax):symbol +0(%ax):b1@0/8',
        g,
      ),
    ).toEqual({
      arg1: FAULT,
      arg2: '0x0',
      arg3: FAULT,
      arg4: 77,
      arg5: FAULT,
      arg6: FAULT,
      arg7: FAULT,
      arg8: FAULT,
    });
  });

  it('K26: a u64 read whose second word is unmapped faults; address arithmetic wraps at 32 bits', () => {
    const g = new FakeGuest();
    g.regs.ax = DATA + 0x1000 - 4;
    expect(ev('p do_work +0(%ax):u32 +0(%ax):u64', g)).toEqual({ arg1: 0, arg2: FAULT });
    g.regs.ax = 0xffffffff;
    g.w32(DATA, 9);
    expect(ev(`p do_work +${DATA + 1}(%ax):u32 -1(\\0):u8`, g)).toEqual({ arg1: 9, arg2: FAULT });
  });

  it('K26: $stackN beyond the mapped stack faults', () => {
    const g = new FakeGuest();
    g.regs.sp = STACK + 0xffc;
    expect(ev('p do_work $stack0:u32 $stack1:u32', g)).toEqual({ arg1: 0, arg2: FAULT });
  });
});

describe('fetch: entry arguments on return probes (K27)', () => {
  it('K27: splitEntryArgs lists the $argN a return probe must capture at entry', () => {
    const a = args('r do_work $retval x=$arg3 +0(+4($arg1)):string $stack y=$arg1:s32');
    expect(splitEntryArgs(a)).toEqual({ argNums: [1, 3], usesEntry: [1, 2, 4], dataSize: 8 });
    expect(splitEntryArgs(args('r do_work $retval'))).toEqual({ argNums: [], usesEntry: [], dataSize: 0 });
  });

  it('K27: values captured at entry are reported at return; derefs of them happen at return time', () => {
    const a = args('r do_work rv=$retval:s32 n=$arg1:u32 name=+0($arg2):string p=$arg2');
    const compiled = compileFetchArgs(a);
    const g = new FakeGuest();
    g.wstr(DATA + 0x200, 'before');
    atEntry(g, 41, DATA + 0x200);
    const saved = captureEntryArgs(compiled.entry, g);
    expect(saved).toEqual({ 1: 41, 2: DATA + 0x200 });

    // The function runs: it pops its frame, clobbers its argument slots, rewrites the string.
    g.w32(g.regs.sp + 4, 0xdead);
    g.w32(g.regs.sp + 8, 0xbeef);
    g.regs.sp += 4;
    g.wstr(DATA + 0x200, 'after');
    g.retval = () => -3;
    g.entryArgs = saved;
    expect(shown(a, compiled.evaluate(g, 'return'))).toEqual({
      rv: -3,
      n: 41,
      name: 'after',
      p: '0x804c200',
    });
  });

  it('K27: a capture that faulted, or no captured data at all, shows (fault)', () => {
    const a = args('r do_work $arg1:u32 $arg2:u32');
    const split = splitEntryArgs(a);
    const g = new FakeGuest();
    g.regs.sp = STACK + 0xff8; // $arg1 at 0xffc is mapped, $arg2 at 0x1000 is not
    g.w32(STACK + 0xffc, 5);
    const saved = captureEntryArgs(split, g);
    expect(saved).toEqual({ 1: 5, 2: null });
    g.entryArgs = saved;
    expect(evaluateArgs(a, g, 'return')).toEqual({ arg1: 5, arg2: FAULT });
    delete g.entryArgs;
    expect(evaluateArgs(a, g, 'return')).toEqual({ arg1: FAULT, arg2: FAULT });
  });

  it('K27: on a kprobe at the entry, $argN is read from the stack directly', () => {
    const g = new FakeGuest();
    atEntry(g, 3, 4);
    expect(ev('p do_work $arg1:u32 $arg2:u32', g, 'entry')).toEqual({ arg1: 3, arg2: 4 });
  });
});

describe('fetch: API shape (K26)', () => {
  it('K26: evaluateArgs accepts raw args (compiled once and cached) or a compiled set, in argument order', () => {
    const a = args('p do_work z=%ax a=%bx m=%cx');
    const g = new FakeGuest();
    const r1 = evaluateArgs(a, g, 'entry');
    const r2 = evaluateArgs(compileFetchArgs(a), g, 'entry');
    expect(Object.keys(r1)).toEqual(['z', 'a', 'm']);
    expect(r2).toEqual(r1);
    expect(JSON.parse(JSON.stringify(r1))).toEqual(r1);
  });

  it('K26: x types are stored as numbers (SQL sorts them as numbers); only printing makes them hex', () => {
    const a = args('p do_work %ax b=%bx:x8 w=%bx:x64 big=@counter:x64 u=%bx:u32');
    const g = new FakeGuest();
    g.regs.ax = 42;
    g.regs.bx = 0xdeadbeef;
    g.w32(DATA, 0x11223344);
    g.w32(DATA + 4, 0x55667788);
    const v = evaluateArgs(a, g, 'entry');
    // 64-bit values beyond 2^53 stay exact as decimal text, like u64.
    expect(v).toEqual({
      arg1: 42,
      b: 0xef,
      w: 0xdeadbeef,
      big: 0x5566778811223344n.toString(),
      u: 0xdeadbeef,
    });
    expect(formatArgValues(a, v)).toBe('arg1=0x2a b=0xef w=0xdeadbeef big=0x5566778811223344 u=3735928559');
  });

  it('K26: formatArgValues renders like the trace output: strings quoted, faults bare', () => {
    const a = args('p do_work %ax s=+0(%bx):string t=+0(%cx):string c=$comm');
    const g = new FakeGuest();
    g.regs.ax = 255;
    g.regs.bx = DATA;
    g.wstr(DATA, 'hi');
    const v = evaluateArgs(a, g, 'entry');
    expect(formatArgValues(a, v)).toBe('arg1=0xff s="hi" t=(fault) c="workload"');
  });
});

describe('kprobe_profile (K28)', () => {
  it('K28: "  %-44s %15lu %15lu" per event, in the given order', () => {
    const out = formatProfile([
      { event: 'p_do_work_0', hits: 12, misses: 0 },
      { event: 'r_do_work_0', hits: 10, misses: 2 },
    ]);
    expect(out).toBe(
      '  p_do_work_0' +
        ' '.repeat(44 - 11) +
        ' ' +
        '12'.padStart(15) +
        ' ' +
        '0'.padStart(15) +
        '\n' +
        '  r_do_work_0' +
        ' '.repeat(33) +
        ' ' +
        '10'.padStart(15) +
        ' ' +
        '2'.padStart(15) +
        '\n',
    );
    const lines = out.split('\n');
    expect(lines[0]?.length).toBe(2 + 44 + 1 + 15 + 1 + 15);
    expect(formatProfile([])).toBe('');
  });

  it('K28: long names and big counts widen the line, never truncate; bad counts print 0', () => {
    const name = 'e'.repeat(60);
    expect(formatProfileLine({ event: name, hits: 1234567890123456, misses: 1.9 })).toBe(
      `  ${name} 1234567890123456 ${'1'.padStart(15)}\n`,
    );
    expect(formatProfileLine({ event: 'x', hits: -1, misses: NaN })).toBe(
      `  ${'x'.padEnd(44)} ${'0'.padStart(15)} ${'0'.padStart(15)}\n`,
    );
  });

  it('K21/K28: a kretprobe misses = entry kprobe nmissed + rp nmissed; a kprobe only its own', () => {
    expect(profileMisses({ kind: 'kretprobe', kpNmissed: 1, rpNmissed: 3 })).toBe(4);
    expect(profileMisses({ kind: 'kprobe', kpNmissed: 2, rpNmissed: 5 })).toBe(2);
  });
});
