// Tests for the kprobe_events parser (K24..K27): the ftrace selftest accept/reject lists
// (kprobe_syntax_errors.tc, kprobe_args_syntax.tc, kretprobe_maxactive.tc, kprobe_eventname.tc),
// adapted to i386 register names and a small fake symbol table, with caret positions checked.
import { describe, expect, it } from 'vitest';
import {
  formatProbeSpec,
  formatSpecError,
  formatSpecErrorLine,
  parseProbeSpec,
  SPEC_ERROR_MESSAGES,
  type ProbeSpec,
  type ExecutableContext,
  type SpecContext,
  type SpecError,
  type SpecErrorCode,
} from '../src/probes/spec.js';

interface FakeSym {
  addr: number;
  /** Instruction start offsets (functions only). */
  insns?: number[];
}

const SYMS: Record<string, FakeSym> = {
  vfs_read: { addr: 0x08048100, insns: [0, 1, 4, 6, 8, 10, 16, 21, 24, 32] },
  do_work: { addr: 0x08048200, insns: [0, 1, 3, 5, 16, 18] },
  _do_fork: { addr: 0x08048300, insns: [0, 1, 3] },
  kfree: { addr: 0x08048340, insns: [0, 1, 3] },
  inet_csk_accept: { addr: 0x08048380, insns: [0, 1, 3] },
  create_trace_kprobe: { addr: 0x080483c0, insns: [0, 1, 3] },
  'foo.isra.0': { addr: 0x08048400, insns: [0, 2] },
  ['a'.repeat(70)]: { addr: 0x08048440, insns: [0] },
  _sdata: { addr: 0x0804c000 },
};

/**
 * #12 uprobe_events forms: a fake other executable at /bin/sh (main at 0x08049000, loaded from file
 * offset 0x1000 of its one executable segment), a directory at /sys, a non-executable /bin/ls.so.
 */
const SH: ExecutableContext = {
  image: 1,
  lookupSymbol: (name) => (name === 'main' ? 0x08049000 : undefined),
  isInsnBoundary: (addr) => [0, 1, 3].some((o) => addr === 0x08049000 + o),
  isFunctionEntry: (addr) => addr === 0x08049000,
  addressOfOffset: (off) => (off >= 0x1000 && off < 0x2000 ? 0x08048000 + off : undefined),
};

const ctx: SpecContext = {
  openExecutable: (path) =>
    path === '/bin/sh'
      ? SH
      : path === '/sys'
        ? 'NO_REGULAR_FILE'
        : path === '/bin/ls.so'
          ? 'BAD_UPROBE_EXEC'
          : 'FILE_NOT_FOUND',
  lookupSymbol: (name) => (Object.prototype.hasOwnProperty.call(SYMS, name) ? SYMS[name]?.addr : undefined),
  isInsnBoundary: (addr) =>
    Object.values(SYMS).some((s) => s.insns?.some((o) => s.addr + o === addr) ?? false),
  isFunctionEntry: (addr) => Object.values(SYMS).some((s) => s.insns !== undefined && s.addr === addr),
};

function parseOk(text: string): ProbeSpec {
  const r = parseProbeSpec(text, ctx);
  if (!r.ok) throw new Error(`expected '${text}' to parse: ${formatSpecErrorLine(text, r.error)}`);
  return r.spec;
}

function parseErr(text: string): SpecError {
  const r = parseProbeSpec(text, ctx);
  if (r.ok) throw new Error(`expected '${text}' to be rejected`);
  return r.error;
}

/** Selftest notation: the '^' marks the error position and is not part of the command. */
function unmark(marked: string): { text: string; pos: number } {
  const pos = marked.indexOf('^');
  return { text: marked.slice(0, pos) + marked.slice(pos + 1), pos };
}

const covered = new Set<SpecErrorCode>();

function checkError(marked: string, code: SpecErrorCode): void {
  const { text, pos } = unmark(marked);
  const err = parseErr(text);
  covered.add(err.code);
  expect({ code: err.code, pos: err.pos }, `${text}\n${formatSpecError(text, err)}`).toEqual({ code, pos });
  expect(err.message).toBe(SPEC_ERROR_MESSAGES[code]);
}

const N65 = '12345678901234567890123456789012345678901234567890123456789012345';

// kprobe_syntax_errors.tc, in its order; vfs_read & co. exist in the fake symbol table.
const SELFTEST_ERRORS: [string, SpecErrorCode][] = [
  ['p^100 vfs_read', 'MAXACT_NO_KPROBE'],
  ['r^1a111 vfs_read', 'BAD_MAXACT'],
  ['r^100000 vfs_read', 'MAXACT_TOO_BIG'],
  ['p ^non_exist_func', 'BAD_PROBE_ADDR'],
  ['p ^hoge-fuga', 'BAD_PROBE_ADDR'],
  ['p ^hoge+1000-1000', 'BAD_PROBE_ADDR'],
  ['r ^vfs_read+10', 'BAD_RETPROBE'],
  ['p:^/bar vfs_read', 'NO_GROUP_NAME'],
  [`p:^${N65}/bar vfs_read`, 'GROUP_TOO_LONG'],
  ['p:^foo.1/bar vfs_read', 'BAD_GROUP_NAME'],
  ['p:^ vfs_read', 'NO_EVENT_NAME'],
  [`p:foo/^${N65} vfs_read`, 'EVENT_TOO_LONG'],
  ['p:foo/^bar.1 vfs_read', 'BAD_EVENT_NAME'],
  ['p vfs_read ^$retval', 'RETVAL_ON_PROBE'],
  ['p vfs_read ^$stack10000', 'BAD_STACK_NUM'],
  ['p vfs_read ^$arg10000', 'BAD_ARG_NUM'],
  ['p vfs_read ^$none_var', 'BAD_VAR'],
  ['p vfs_read ^%none_reg', 'BAD_REG_NAME'],
  ['p vfs_read ^@12345678abcde', 'BAD_MEM_ADDR'],
  ['p vfs_read ^@+10', 'FILE_ON_KPROBE'],
  ['p vfs_read arg1=\\^x', 'BAD_IMM'],
  ['p vfs_read arg1=\\"abcd^', 'IMMSTR_NO_CLOSE'],
  ['p vfs_read ^+0@0)', 'DEREF_NEED_BRACE'],
  ['p vfs_read ^+0ab1(@0)', 'BAD_DEREF_OFFS'],
  ['p vfs_read +0(+0(@0^)', 'DEREF_OPEN_BRACE'],
  ['p vfs_read +0(^$comm)', 'COMM_CANT_DEREF'],
  ['p vfs_read ^&1', 'BAD_FETCH_ARG'],
  // 14 nested dereferences of @0: the 16th fetch instruction would overwrite END.
  [`p vfs_read +0(^${'+0('.repeat(13)}@0${')'.repeat(14)}`, 'TOO_MANY_OPS'],
  ['p vfs_read @11:^unknown_type', 'BAD_TYPE'],
  ['p vfs_read $stack0:^string', 'BAD_STRING'],
  ['p vfs_read @11:^b10@a/16', 'BAD_BITFIELD'],
  ['p vfs_read ^arg123456789012345678901234567890=@11', 'ARG_NAME_TOO_LONG'],
  ['p vfs_read ^=@11', 'NO_ARG_NAME'],
  ['p vfs_read ^var.1=@11', 'BAD_ARG_NAME'],
  ['p vfs_read var1=@11 ^var1=@12', 'USED_ARG_NAME'],
  ['p vfs_read ^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))', 'ARG_TOO_LONG'],
  ['p vfs_read arg1=^', 'NO_ARG_BODY'],
  ['p ^vfs_read+3', 'BAD_INSN_BNDRY'],
  ['p vfs_read^%hoge', 'BAD_ADDR_SUFFIX'],
  ['p ^vfs_read+10%return', 'BAD_RETPROBE'],
  // BTF section, without BTF: `$arg*` is just a bad variable; $argN needs a function entry.
  ['p vfs_read ^$arg*', 'BAD_VAR'],
  ['p vfs_read+8 ^$arg1', 'NOFENTRY_ARGS'],
];

describe('kprobe_syntax_errors.tc (K25, K26)', () => {
  it.each(SELFTEST_ERRORS)('K25/K26: %s → %s', (marked, code) => checkError(marked, code));
});

// Further cases: every other error the parser produces, with its caret.
const MORE_ERRORS: [string, SpecErrorCode][] = [
  // K25 MAXACTIVE
  ['r^0 vfs_read', 'BAD_MAXACT'],
  ['r^10fuzz vfs_read', 'BAD_MAXACT'],
  ['r^10fuzz:ev vfs_read', 'BAD_MAXACT'],
  ['r^1000000 vfs_read', 'MAXACT_TOO_BIG'],
  ['r^4097:ev vfs_read', 'MAXACT_TOO_BIG'],
  ['r^99999999999 vfs_read', 'BAD_MAXACT'],
  ['r^x vfs_read', 'BAD_MAXACT'],
  ['p^10:ev vfs_read', 'MAXACT_NO_KPROBE'],
  ['p^x vfs_read', 'MAXACT_NO_KPROBE'],
  // probelab's jprobe line: j[:[GRP/]EVENT] SYMBOL HANDLER
  ['j:jw do_work ^', 'NO_JPROBE_HANDLER'],
  ['j:jw do_work ^nosuch', 'BAD_JPROBE_HANDLER'],
  ['j:jw do_work kfree ^x=%ax', 'JPROBE_NO_ARGS'],
  ['j^3:jw do_work kfree', 'MAXACT_NO_KPROBE'],
  ['j:jw ^nosuch kfree', 'BAD_PROBE_ADDR'],
  ['j:jw ^do_work+1 kfree', 'BAD_PROBE_ADDR'],
  ['j:jw ^_sdata kfree', 'BAD_PROBE_ADDR'],
  ['j:^1jw do_work kfree', 'BAD_EVENT_NAME'],
  ['p^1 vfs_read%return', 'MAXACT_NO_KPROBE'],
  // K25 probe address
  ['p ^', 'BAD_PROBE_ADDR'],
  ['p:ev ^', 'BAD_PROBE_ADDR'],
  ['p ^vfs_read-4', 'BAD_PROBE_ADDR'],
  ['p ^vfs_read+zz', 'BAD_PROBE_ADDR'],
  ['p ^+4', 'BAD_INSN_BNDRY'],
  ['p ^0x08048103', 'BAD_INSN_BNDRY'],
  ['p ^0x0804810', 'BAD_INSN_BNDRY'],
  ['p ^vfs_read+0x11', 'BAD_INSN_BNDRY'],
  ['p ^0x1234%return', 'BAD_PROBE_ADDR'],
  ['r ^0x08048101', 'BAD_RETPROBE'],
  ['r ^_sdata', 'BAD_RETPROBE'],
  ['r ^do_work+1', 'BAD_RETPROBE'],
  ['r10:ev ^do_work+0x10', 'BAD_RETPROBE'],
  ['p do_work^%retur', 'BAD_ADDR_SUFFIX'],
  ['p do_work^%return%return', 'BAD_ADDR_SUFFIX'],
  // Checks run in Linux's order: address before event name, names before arguments.
  ['p:foo.1/bar ^nosuch', 'BAD_PROBE_ADDR'],
  ['p:^bar.1 vfs_read $nothing', 'BAD_EVENT_NAME'],
  ['p vfs_read+3 ^$nothing', 'BAD_VAR'],
  // K24 event names
  ['p:^1ev vfs_read', 'BAD_EVENT_NAME'],
  ['p:grp/^a/b vfs_read', 'BAD_EVENT_NAME'],
  [`p:^${'g'.repeat(64)}/ev vfs_read`, 'GROUP_TOO_LONG'],
  ['p:^grp-x/ev vfs_read', 'BAD_GROUP_NAME'],
  // K24 removal
  ['-:^', 'NO_EVENT_NAME'],
  ['-:grp/^', 'NO_EVENT_NAME'],
  ['-:^/ev', 'NO_GROUP_NAME'],
  ['-:^bad.name', 'BAD_EVENT_NAME'],
  ['-^myevent', 'BAD_REMOVE_CMD'],
  ['-:myevent ^vfs_read', 'BAD_REMOVE_CMD'],
  ['^a:myprobeaccept inet_csk_accept', 'BAD_PROBE_TYPE'],
  ['^', 'BAD_PROBE_TYPE'],
  ['^# only a comment', 'BAD_PROBE_TYPE'],
  // K26 variables
  ['r vfs_read ^$retval2', 'BAD_VAR'],
  ['p vfs_read ^$retvalue', 'RETVAL_ON_PROBE'],
  ['p vfs_read ^$stackp', 'BAD_VAR'],
  ['p vfs_read ^$stack0+10', 'BAD_VAR'],
  ['p vfs_read ^$stack1-10', 'BAD_VAR'],
  ['p vfs_read ^$stack1024', 'BAD_STACK_NUM'],
  ['p vfs_read ^$arg0', 'BAD_ARG_NUM'],
  ['p vfs_read ^$arg1024', 'BAD_ARG_NUM'],
  ['p vfs_read ^$arg', 'BAD_VAR'],
  ['p vfs_read ^$arg1+10', 'BAD_VAR'],
  ['p vfs_read ^$arg1-10', 'BAD_VAR'],
  ['p 0x08048104 ^$arg1', 'NOFENTRY_ARGS'],
  ['p vfs_read ^$Comm', 'BAD_VAR'],
  ['p vfs_read ^%ex', 'BAD_REG_NAME'],
  ['p vfs_read ^%AX', 'BAD_REG_NAME'],
  ['p vfs_read ^%rax', 'BAD_REG_NAME'],
  ['p vfs_read ^%', 'BAD_REG_NAME'],
  // K26 memory
  ['p vfs_read ^@', 'BAD_MEM_ADDR'],
  ['p vfs_read ^@deaqswdefr', 'BAD_MEM_ADDR'],
  ['p vfs_read ^@_sdata*10', 'BAD_MEM_ADDR'],
  ['p vfs_read ^@_sdata+zz', 'BAD_MEM_ADDR'],
  ['p vfs_read ^@0x100000000', 'BAD_MEM_ADDR'],
  ['p vfs_read x=^@_sdata%10', 'BAD_MEM_ADDR'],
  // K26 dereference
  ['p vfs_read ^+(%ax)', 'BAD_DEREF_OFFS'],
  ['p vfs_read ^-(%ax)', 'BAD_DEREF_OFFS'],
  ['p vfs_read ^(%ax+10)', 'BAD_FETCH_ARG'],
  ['p vfs_read ^(%ax)', 'BAD_FETCH_ARG'],
  ['p vfs_read +10(^$comm)', 'COMM_CANT_DEREF'],
  ['p vfs_read +0(^\\"str")', 'COMM_CANT_DEREF'],
  ['p vfs_read +0(%ax)^+10', 'BAD_FETCH_ARG'],
  ['p vfs_read +0(^)', 'BAD_FETCH_ARG'],
  ['p vfs_read +0(+4(^%foo))', 'BAD_REG_NAME'],
  ['p vfs_read -8(+4(%ax^', 'DEREF_OPEN_BRACE'],
  ['p vfs_read +4(^$stack9999)', 'BAD_STACK_NUM'],
  ['p vfs_read ^+0x(%ax)', 'BAD_DEREF_OFFS'],
  ['p vfs_read +0(^@_sd)', 'BAD_MEM_ADDR'],
  // 13 dereferences of @SYM (3 instructions) overflow, 13 of @ADDR (2) do not.
  [`p vfs_read +0(^${'+0('.repeat(12)}@_sdata${')'.repeat(13)}`, 'TOO_MANY_OPS'],
  // K26 names
  ['p vfs_read varname=^varname2=%ax', 'BAD_FETCH_ARG'],
  ['p vfs_read ^common_pid=%ax', 'USED_ARG_NAME'],
  ['p vfs_read ^__probe_ip=%ax', 'USED_ARG_NAME'],
  ['p vfs_read arg2=%ax ^%bx', 'USED_ARG_NAME'],
  ['p vfs_read ^1x=%ax', 'BAD_ARG_NAME'],
  ['p vfs_read x=^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))', 'ARG_TOO_LONG'],
  // K26 types
  ['p vfs_read %ax:^', 'BAD_TYPE'],
  ['p vfs_read %ax:^:x16', 'BAD_TYPE'],
  ['p vfs_read %ax:^y16', 'BAD_TYPE'],
  ['p vfs_read x16:^%ax', 'BAD_TYPE'],
  ['p vfs_read %ax:^char', 'BAD_TYPE'],
  ['p vfs_read %ax:^u8[4]', 'BAD_TYPE'],
  ['p vfs_read %ax:^b4@4/12', 'BAD_TYPE'],
  ['p vfs_read %ax:^b4@4', 'BAD_TYPE'],
  ['p vfs_read +0(%ax):^b4@30/32', 'BAD_BITFIELD'],
  ['p vfs_read %ax:^b0@0/8', 'BAD_BITFIELD'],
  ['p vfs_read %ax:^b4-4/8', 'BAD_BITFIELD'],
  ['p vfs_read %ax:^bogus/8', 'BAD_BITFIELD'],
  ['p vfs_read %ax:^string', 'BAD_STRING'],
  ['p vfs_read $arg1:^ustring', 'BAD_STRING'],
  ['p vfs_read $stack:^symstr', 'BAD_SYMSTRING'],
  ['p vfs_read \\1:^symstr', 'BAD_SYMSTRING'],
  ['p vfs_read $comm:^u32', 'NEED_STRING_TYPE'],
  ['p vfs_read \\"abc":^x32', 'NEED_STRING_TYPE'],
  ['p vfs_read \\"^', 'IMMSTR_NO_CLOSE'],
  ['p vfs_read \\^', 'BAD_IMM'],
  ['p vfs_read \\^0x', 'BAD_IMM'],
  ['p vfs_read \\^99999999999', 'BAD_IMM'],
  // Positions are offsets in the text as written (extra blanks, tabs).
  ['  p   vfs_read\t\t^%foo', 'BAD_REG_NAME'],
  ['p vfs_read   a=%ax  ^b', 'BAD_FETCH_ARG'],
];

describe('parser errors and their carets (K24..K26)', () => {
  it.each(MORE_ERRORS)('K24-K26: %s → %s', (marked, code) => checkError(marked, code));

  it('K26: more than 128 arguments is TOO_MANY_ARGS at the first argument', () => {
    const args = Array.from({ length: 129 }, () => '%ax').map((a, i) => `v${i}=${a}`);
    checkError(`p vfs_read ^${args.join(' ')}`, 'TOO_MANY_ARGS');
    expect(parseOk(`p vfs_read ${args.slice(0, 128).join(' ')}`).args).toHaveLength(128);
  });

  // #12: uprobe_syntax_errors.tc's path and offset cases, and probelab's PATH:SYMBOL form.
  it.each([
    ['p ^/non_exist_file:100', 'FILE_NOT_FOUND'],
    ['p ^/sys:100', 'NO_REGULAR_FILE'],
    ['p /bin/sh:^10a', 'BAD_UPROBE_OFFS'],
    ['p /bin/sh:^0x10', 'BAD_UPROBE_OFFS'],
    ['p /bin/sh:main^+x', 'BAD_UPROBE_OFFS'],
    ['p ^/bin/ls.so:0x1000', 'BAD_UPROBE_EXEC'],
    ['p /bin/sh:^nosuch', 'BAD_PROBE_ADDR'],
    ['p ^/bin/sh:main+2', 'BAD_INSN_BNDRY'],
    ['r ^/bin/sh:main+1', 'BAD_RETPROBE'],
    ['p /bin/sh:main^%ret', 'BAD_ADDR_SUFFIX'],
  ] as [string, SpecErrorCode][])('#12 uprobe forms: %s → %s', (marked, code) => checkError(marked, code));

  it('#12 uprobe forms: PATH:0xOFFSET is a file offset, PATH:SYM[+off] a symbol of that file; both list back', () => {
    const byOffset = parseOk('p:u/ev /bin/sh:0x1003 a=%ax');
    expect([byOffset.addr, byOffset.path, byOffset.image, byOffset.fileOffset]).toEqual([
      0x08049003,
      '/bin/sh',
      1,
      0x1003,
    ]);
    expect(formatProbeSpec(byOffset)).toBe('p:u/ev /bin/sh:0x00001003 a=%ax');
    const bySym = parseOk('r:u/rv /bin/sh:main $retval');
    expect([bySym.kind, bySym.addr, bySym.symbol, bySym.image]).toEqual(['kretprobe', 0x08049000, 'main', 1]);
    expect(formatProbeSpec(bySym)).toBe('r:u/rv /bin/sh:main arg1=$retval');
    expect(parseOk('p /bin/sh:main%return').kind).toBe('kretprobe');
    // A MOD:SYM-like address without a '/' is not a path.
    expect(parseErr('p vfs:read').code).toBe('BAD_PROBE_ADDR');
  });

  it('K25/K26: every error code the parser can produce is covered by the tables above', () => {
    const never: SpecErrorCode[] = [];
    const all = Object.keys(SPEC_ERROR_MESSAGES) as SpecErrorCode[];
    expect(all.filter((c) => !covered.has(c) && !never.includes(c))).toEqual([]);
  });
});

describe('kprobe_args_syntax.tc (K26)', () => {
  const GOOD = [
    '%ax',
    '%eax',
    '%esp',
    '%eip',
    '%eflags',
    '%flags',
    '%gs',
    '@_sdata',
    '@0x0804c000',
    '@134529024',
    '@_sdata+10',
    '@_sdata-10',
    '$stack',
    '$stack0',
    '$stack1',
    '$arg1',
    '$arg2',
    '$arg3',
    '$arg1023',
    '+0(%ax)',
    '-0(%ax)',
    '+10($stack)',
    '+0($stack1)',
    '+10(@_sdata-10)',
    '+0(+10(+20($stack)))',
    '-0x10(%ebp)',
    '+u0(%ax)',
    'varname=%ax',
    '%ax:x16',
    '$comm',
    'name=$comm',
    '$COMM',
    '$comm:string',
    '+0(%ax):string',
    '+0(%ax):ustring',
    '@_sdata:string',
    '\\1234:string',
    '+0(+0($arg2)):string',
    '%ax:symbol',
    '%ip:symstr',
    '+4($stack):symstr',
    '%ax:b4@4/32',
    '+0(%ax):b1@7/8',
    '+0(%ax):b0x8@0x10/0x40',
    '\\1234',
    '\\-1:s32',
    '\\+5',
    '\\"hello"',
    '\\""',
    `+0(${'+0('.repeat(12)}@0${')'.repeat(13)}`,
    ...['u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'x8', 'x16', 'x32', 'x64'].map(
      (t) => `%ax:${t}`,
    ),
  ];
  it.each(GOOD)('K26: good arg %s', (arg) => {
    const spec = parseOk(`p vfs_read ${arg}`);
    expect(spec.args).toHaveLength(1);
  });

  const BAD = [
    '%ex',
    '@',
    '@deaqswdefr',
    '@_sdata*10',
    '@_sdata/10',
    '@_sdata%10',
    '@_sdata&10',
    '@_sdata|10',
    '$stackp',
    '$stack0+10',
    '$stack1-10',
    '$arg0',
    '$arg1+10',
    '$arg1-10',
    '+(%ax)',
    '(%ax+10)',
    '-(%ax)',
    '(%ax)',
    '+10($comm)',
    '+0(%ax)+10',
    'varname=varname2=%ax',
    '%ax::x16',
    '%ax:y16',
    'x16:%ax',
  ];
  it.each(BAD)('K26: bad arg %s', (arg) => {
    parseErr(`p vfs_read ${arg}`);
  });

  it('K26: $retval only on return probes', () => {
    expect(parseOk('r vfs_read $retval').args[0]?.expr).toEqual({ op: 'retval' });
    expect(parseOk('p vfs_read%return $retval').kind).toBe('kretprobe');
    expect(parseErr('p vfs_read $retval').code).toBe('RETVAL_ON_PROBE');
  });

  it('K26: parsed expressions, types and names', () => {
    const text = 'p:myevent vfs_read +0(+10(+20($stack))):u16 %eax $arg2 p=@_sdata-4 -8(%ebp):b3@2/8 s=\\-1';
    const at = (s: string): number => text.indexOf(s);
    expect(parseOk(text).args).toEqual([
      {
        name: 'arg1',
        comm: '+0(+10(+20($stack))):u16',
        pos: 19,
        type: 'u16',
        expr: {
          op: 'deref',
          offset: 0,
          inner: { op: 'deref', offset: 10, inner: { op: 'deref', offset: 20, inner: { op: 'stackp' } } },
        },
      },
      { name: 'arg2', comm: '%eax', pos: at('%eax'), type: 'x32', expr: { op: 'reg', reg: 'ax' } },
      { name: 'arg3', comm: '$arg2', pos: at('$arg2'), type: 'x32', expr: { op: 'arg', n: 2 } },
      {
        name: 'p',
        comm: '@_sdata-4',
        pos: at('p=@'),
        type: 'x32',
        expr: { op: 'mem', addr: 0x0804bffc, symbol: '_sdata', offset: -4 },
      },
      {
        name: 'arg5',
        comm: '-8(%ebp):b3@2/8',
        pos: at('-8('),
        type: 'u8',
        bitfield: { width: 3, offset: 2, size: 8 },
        expr: { op: 'deref', offset: -8, inner: { op: 'reg', reg: 'bp' } },
      },
      { name: 's', comm: '\\-1', pos: at('s='), type: 'x32', expr: { op: 'imm', value: 0xffffffff } },
    ]);
    expect(parseOk('p vfs_read $comm').args[0]?.type).toBe('string');
    expect(parseOk('p vfs_read \\"x"').args[0]).toMatchObject({
      type: 'string',
      expr: { op: 'str', value: 'x' },
    });
    expect(parseOk('p vfs_read +u4(%ax)').args[0]?.expr).toEqual({
      op: 'deref',
      offset: 4,
      inner: { op: 'reg', reg: 'ax' },
      user: true,
    });
  });

  it('K26: i386 register names map to pt_regs names', () => {
    const pairs: [string, string][] = [
      ['eax', 'ax'],
      ['ebx', 'bx'],
      ['ecx', 'cx'],
      ['edx', 'dx'],
      ['esi', 'si'],
      ['edi', 'di'],
      ['ebp', 'bp'],
      ['esp', 'sp'],
      ['eip', 'ip'],
      ['eflags', 'flags'],
      ['cs', 'cs'],
      ['ds', 'ds'],
      ['es', 'es'],
      ['fs', 'fs'],
      ['gs', 'gs'],
      ['ss', 'ss'],
    ];
    for (const [given, reg] of pairs) {
      expect(parseOk(`p vfs_read %${given}`).args[0]?.expr).toEqual({ op: 'reg', reg });
    }
  });

  it('K26: $argN is allowed at a function entry, on return probes (K27), and at a raw entry address', () => {
    expect(parseOk('p do_work $arg1').args[0]?.expr).toEqual({ op: 'arg', n: 1 });
    expect(parseOk('r do_work $arg1 $retval').args.map((a) => a.expr.op)).toEqual(['arg', 'retval']);
    expect(parseOk('p 0x08048200 $arg1').args[0]?.expr).toEqual({ op: 'arg', n: 1 });
    expect(parseErr('p do_work+3 $arg1').code).toBe('NOFENTRY_ARGS');
    // Without isFunctionEntry, only SYM+0 counts as a function entry.
    const bare: SpecContext = { lookupSymbol: ctx.lookupSymbol, isInsnBoundary: ctx.isInsnBoundary };
    expect(parseProbeSpec('p do_work $arg1', bare).ok).toBe(true);
    expect(parseProbeSpec('p 0x08048200 $arg1', bare).ok).toBe(false);
    expect(parseProbeSpec('r 0x08048201', bare).ok).toBe(true);
  });

  it('K26: a comment after # is ignored, as kprobe_events does', () => {
    const spec = parseOk('p:ev do_work %ax # %bogus');
    expect(spec.args).toHaveLength(1);
    expect(spec.text).toBe('p:ev do_work %ax # %bogus');
  });
});

describe('kretprobe_maxactive.tc (K25)', () => {
  it('K25: rejects unknown commands, too big and unparsable MAXACTIVE', () => {
    expect(parseErr('a:myprobeaccept inet_csk_accept').code).toBe('BAD_PROBE_TYPE');
    expect(parseErr('r1000000 inet_csk_accept').code).toBe('MAXACT_TOO_BIG');
    expect(parseErr('r10fuzz inet_csk_accept').code).toBe('BAD_MAXACT');
  });

  it('K25: r10:myprobeaccept, its removal, and r10 without a name', () => {
    expect(parseOk('r10:myprobeaccept inet_csk_accept')).toMatchObject({
      kind: 'kretprobe',
      group: 'probes',
      event: 'myprobeaccept',
      symbol: 'inet_csk_accept',
      maxactive: 10,
      addr: 0x08048380,
    });
    expect(parseOk('-:myprobeaccept')).toMatchObject({
      kind: 'remove',
      event: 'myprobeaccept',
      anyGroup: true,
    });
    expect(parseOk('r10 inet_csk_accept')).toMatchObject({ event: 'r_inet_csk_accept_0', maxactive: 10 });
  });

  it('K25: MAXACTIVE bounds 1..4096, numbers as kstrtouint reads them', () => {
    expect(parseOk('r1 do_work').maxactive).toBe(1);
    expect(parseOk('r4096 do_work').maxactive).toBe(4096);
    expect(parseOk('r0x10 do_work').maxactive).toBe(16);
    expect(parseOk('r010 do_work').maxactive).toBe(8);
    expect(parseOk('r do_work').maxactive).toBe(0);
    expect(parseOk('p do_work%return').maxactive).toBe(0);
    expect(parseErr('r0 do_work').code).toBe('BAD_MAXACT');
    expect(parseErr('r4097 do_work').code).toBe('MAXACT_TOO_BIG');
    expect(parseErr('p10 do_work').code).toBe('MAXACT_NO_KPROBE');
  });
});

describe('kprobe_eventname.tc and default names (K24)', () => {
  const cases: [string, Partial<ProbeSpec>][] = [
    ['p do_work', { kind: 'kprobe', group: 'probes', event: 'p_do_work_0', symbol: 'do_work', offset: 0 }],
    ['r do_work', { kind: 'kretprobe', group: 'probes', event: 'r_do_work_0', offset: 0 }],
    ['r do_work+0', { kind: 'kretprobe', event: 'r_do_work_0' }],
    ['p do_work%return', { kind: 'kretprobe', event: 'r_do_work_0' }],
    ['p do_work+0%return', { kind: 'kretprobe', event: 'r_do_work_0' }],
    ['r do_work%return', { kind: 'kretprobe', event: 'r_do_work_0' }],
    ['p do_work+5', { event: 'p_do_work_5', offset: 5, addr: 0x08048205 }],
    ['p do_work+0x10', { event: 'p_do_work_16', offset: 16, addr: 0x08048210 }],
    ['p do_work+022', { event: 'p_do_work_18', offset: 18 }],
    ['p 0x08048200', { event: 'p_0x08048200', addr: 0x08048200, offset: 0 }],
    ['r 0x8048200', { kind: 'kretprobe', event: 'r_0x08048200' }],
    ['p 134513152', { event: 'p_0x08048200', addr: 0x08048200 }],
    ['p foo.isra.0', { event: 'p_foo_isra_0_0', symbol: 'foo.isra.0' }],
    ['p:test foo.isra.0', { event: 'test' }],
    ['p:myevent do_work', { group: 'probes', event: 'myevent' }],
    ['p:grp/myevent do_work', { group: 'grp', event: 'myevent' }],
    ['p:1grp/myevent do_work', { group: '1grp', event: 'myevent' }],
    ['p:grp/ do_work', { group: 'grp', event: 'p_do_work_0' }],
    ['r:grp/ do_work', { group: 'grp', event: 'r_do_work_0' }],
    [`p:${'e'.repeat(64)} do_work`, { event: 'e'.repeat(64) }],
    [`p:${'g'.repeat(63)}/e do_work`, { group: 'g'.repeat(63) }],
    [`p ${'a'.repeat(70)}`, { event: `p_${'a'.repeat(61)}` }],
    ['-:myevent', { kind: 'remove', group: 'probes', event: 'myevent', anyGroup: true }],
    ['-:grp/myevent', { kind: 'remove', group: 'grp', event: 'myevent' }],
  ];
  it.each(cases)('K24: %s', (text, expected) => {
    const spec = parseOk(text);
    expect(spec).toMatchObject({ ...expected, text });
    if (text === '-:grp/myevent') expect(spec.anyGroup).toBeUndefined();
  });
});

/** A spec without its source text and argument positions. */
function normalize(spec: ProbeSpec): unknown {
  return { ...spec, text: '', args: spec.args.map((a) => ({ ...a, pos: 0 })) };
}

describe('listing and error formatting (K24, K25)', () => {
  it('K24: formatProbeSpec prints the kprobe_events listing and parses back to the same probe', () => {
    const lines: [string, string][] = [
      ['p do_work', 'p:probes/p_do_work_0 do_work'],
      ['p:ev do_work+5 %ax x=+4($stack):s16', 'p:probes/ev do_work+5 arg1=%ax x=+4($stack):s16'],
      ['r16:g/ev do_work $retval', 'r16:g/ev do_work arg1=$retval'],
      ['p do_work%return', 'r:probes/r_do_work_0 do_work'],
      ['p 0x8048201', 'p:probes/p_0x08048201 0x08048201'],
      ['-:g/ev', '-:g/ev'],
      ['-:ev', '-:ev'],
    ];
    for (const [text, listing] of lines) {
      const spec = parseOk(text);
      expect(formatProbeSpec(spec)).toBe(listing);
      expect(normalize(parseOk(listing))).toEqual(normalize(spec));
    }
  });

  it('K25: formatSpecError follows the tracing/error_log layout with the caret under the error', () => {
    const text = 'p non_exist_func';
    const err = parseErr(text);
    expect(formatSpecError(text, err)).toBe(
      [
        'trace_kprobe: error: BAD_PROBE_ADDR: Invalid probed address or symbol',
        '  Command: p non_exist_func',
        '             ^',
      ].join('\n'),
    );
    const t2 = 'p vfs_read +0(+0(@0)';
    expect(formatSpecError(t2, parseErr(t2)).split('\n').slice(1)).toEqual([
      '  Command: p vfs_read +0(+0(@0)',
      ' '.repeat(11 + 19) + '^',
    ]);
  });

  it('K25: the error_log caret position equals 13 + pos characters, as ftrace_errlog_check tests', () => {
    for (const [marked] of SELFTEST_ERRORS) {
      const { text, pos } = unmark(marked);
      const last = formatSpecError(text, parseErr(text)).split('\n')[2] ?? '';
      // "  Command: " and "^\n" => 13 in the selftest (the newline is ours to add).
      expect(last.length + 1).toBe(13 + pos);
    }
  });

  it('K25: formatSpecErrorLine uses the selftest ^ notation', () => {
    expect(formatSpecErrorLine('p vfs_read arg1=', parseErr('p vfs_read arg1='))).toBe(
      'NO_ARG_BODY: No argument expression: p vfs_read arg1=^',
    );
    expect(formatSpecErrorLine('r1a111 vfs_read', parseErr('r1a111 vfs_read'))).toBe(
      'BAD_MAXACT: Invalid maxactive number: r^1a111 vfs_read',
    );
    expect(formatSpecErrorLine('p\tvfs_read %x', parseErr('p\tvfs_read %x'))).toBe(
      'BAD_REG_NAME: Invalid register name: p vfs_read ^%x',
    );
  });

  it('K24: parseProbeSpec never throws on arbitrary input', () => {
    const alphabet = 'pr-:/%$@+()\\"=0123456789abx_ .#';
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      let s = ['p ', 'r ', 'p do_work ', 'r5:g/e do_work ', ''][rnd(5)] ?? '';
      const len = rnd(30);
      for (let j = 0; j < len; j++) s += alphabet.charAt(rnd(alphabet.length));
      const r = parseProbeSpec(s, ctx);
      if (!r.ok) {
        expect(r.error.pos).toBeGreaterThanOrEqual(0);
        expect(r.error.pos).toBeLessThanOrEqual(s.length + 1);
        expect(r.error.message).toBe(SPEC_ERROR_MESSAGES[r.error.code]);
      }
    }
  });
});

describe('jprobe lines (probelab: j[:[GRP/]EVENT] SYMBOL HANDLER)', () => {
  it('parses every kind through one parser, with the default event name and the listing form', () => {
    const j = parseOk('j:grp/jw do_work kfree');
    expect(j).toMatchObject({
      kind: 'jprobe',
      group: 'grp',
      event: 'jw',
      symbol: 'do_work',
      offset: 0,
      addr: SYMS.do_work!.addr,
      handler: 'kfree',
      handlerAddr: SYMS.kfree!.addr,
      maxactive: 0,
      args: [],
    });
    expect(formatProbeSpec(j)).toBe('j:grp/jw do_work kfree');
    const d = parseOk('j do_work kfree');
    expect([d.group, d.event]).toEqual(['probes', 'j_do_work_0']);
    expect(formatProbeSpec(d)).toBe('j:probes/j_do_work_0 do_work kfree');
  });

  it('a jprobe without a handler says so, with the form to type', () => {
    const e = parseErr('j:jw do_work');
    expect(e.code).toBe('NO_JPROBE_HANDLER');
    expect(formatSpecErrorLine('j:jw do_work', e)).toBe(
      'NO_JPROBE_HANDLER: A jprobe needs a handler function: j[:[GRP/]EVENT] SYMBOL HANDLER: j:jw do_work ^',
    );
  });
});
