// Parser for probe definitions in the Linux `kprobe_events` syntax (K24..K27), i386 flavour.
//
// Guarantees:
// - `parseProbeSpec` never throws for any input string: it returns either a fully resolved
//   `ProbeSpec` (address resolved through the `SpecContext`, every fetch argument parsed and typed)
//   or exactly one `SpecError` carrying the Linux error name from `trace_probe.h`'s ERRORS list,
//   Linux's message text for it, and the 0-based offset in `text` of the offending character
//   (the place where `tracing/error_log` puts its caret).
// - Checks run in the order `trace_kprobe.c` runs them (MAXACTIVE, then probe address, then event
//   name, then argument count, then each argument left to right, then the instruction boundary
//   check that Linux does at registration), so when a line has several mistakes the one reported is
//   the one Linux would report.
// - Limits are Linux's: MAXACTIVE 1..4096 (kinds.ts MAXACTIVE_MAX), event/group names up to 64/63 characters, argument
//   names up to 32, argument expressions up to 63, 128 arguments, 16 fetch instructions per
//   argument, $stackN/$argN up to 1023 (PAGE_SIZE / sizeof(long) - 1 on i386).
// - Accepted specs print back (`formatProbeSpec`) in the `kprobe_events` listing format.
//
// Deliberate deviations from Linux (each makes a mistake visible instead of silently accepted):
// - Junk between `p`/`r` and `:` that is not a MAXACTIVE number is rejected (Linux ignores a
//   non-digit tail, e.g. `rfoo:ev`): after `p` it is MAXACT_NO_KPROBE, after `r` BAD_MAXACT.
// - Characters after the closing `)` of a dereference are rejected (BAD_FETCH_ARG at the first of
//   them) instead of being dropped.
// - An unknown `@SYM` is BAD_MEM_ADDR at the `@` (Linux resolves it at registration and reports
//   BAD_PROBE_ADDR under the probe address). `$retval` must be spelled exactly.
// - Identifiers that modern kernels resolve through BTF are BAD_FETCH_ARG (no BTF here), `$arg*`
//   is BAD_VAR. Array types (`u8[4]`) and `char` are not supported (BAD_TYPE).
// - The default group is `probes` (the project contract), not Linux's `kprobes`.
// - Codes that Linux does not have (it silently returns -EINVAL for these): BAD_PROBE_TYPE (line
//   does not start with p, r, j or -), BAD_REMOVE_CMD (malformed `-:` line).
// - probelab's jprobe line `j[:[GRP/]EVENT] SYMBOL HANDLER` (Linux has no text interface for
//   jprobes): SYMBOL must be a function (BAD_PROBE_ADDR), HANDLER a known symbol
//   (NO_JPROBE_HANDLER when missing, BAD_JPROBE_HANDLER when unknown), and nothing may follow
//   (JPROBE_NO_ARGS: a jprobe's handler sees the arguments itself). The default event is j_SYM_0.

import { MAXACTIVE_MAX, probeKind, probeKindByPrefix } from './kinds.js';

/** i386 `pt_regs` register names as `regs_query_register_offset` knows them. */
export type RegName =
  | 'ax'
  | 'bx'
  | 'cx'
  | 'dx'
  | 'si'
  | 'di'
  | 'bp'
  | 'sp'
  | 'ip'
  | 'flags'
  | 'cs'
  | 'ds'
  | 'es'
  | 'fs'
  | 'gs'
  | 'ss';

export const REG_NAMES: readonly RegName[] = [
  'ax',
  'bx',
  'cx',
  'dx',
  'si',
  'di',
  'bp',
  'sp',
  'ip',
  'flags',
  'cs',
  'ds',
  'es',
  'fs',
  'gs',
  'ss',
];

const REGISTERS: ReadonlyMap<string, RegName> = new Map<string, RegName>([
  ...REG_NAMES.map((r): [string, RegName] => [r, r]),
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
]);

/** `%NAME` → canonical register, or undefined (case-sensitive, like Linux). */
export function lookupRegister(name: string): RegName | undefined {
  return REGISTERS.get(name);
}

export type IntTypeName =
  'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'x8' | 'x16' | 'x32' | 'x64';
export type FetchTypeName = IntTypeName | 'symbol' | 'string' | 'ustring' | 'symstr';

/** Linux DEFAULT_FETCH_TYPE on a 32-bit kernel. */
export const DEFAULT_FETCH_TYPE: FetchTypeName = 'x32';

/** Bytes stored per type (string types store a 32-bit data location in Linux). */
export const FETCH_TYPE_SIZE: Readonly<Record<FetchTypeName, 1 | 2 | 4 | 8>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  s8: 1,
  s16: 2,
  s32: 4,
  s64: 8,
  x8: 1,
  x16: 2,
  x32: 4,
  x64: 8,
  symbol: 4,
  string: 4,
  ustring: 4,
  symstr: 4,
};

/** A parsed fetch expression (the FETCHARG part before `:TYPE`). */
export type FetchExpr =
  /** `%REG` */
  | { op: 'reg'; reg: RegName }
  /** `$stack`: the stack pointer itself */
  | { op: 'stackp' }
  /** `$stackN`: the N-th 32-bit word from the stack pointer */
  | { op: 'stack'; n: number }
  /** `$argN` (N >= 1): cdecl, the N-th word above the return address at function entry (K26/K27) */
  | { op: 'arg'; n: number }
  /** `$retval` */
  | { op: 'retval' }
  /** `$comm` */
  | { op: 'comm' }
  /** `\IMM` immediate value (u32) */
  | { op: 'imm'; value: number }
  /** `\"STR"` immediate string */
  | { op: 'str'; value: string }
  /** `@ADDR` or `@SYM[+|-offs]`: memory at a fixed address (resolved) */
  | { op: 'mem'; addr: number; symbol?: string; offset?: number }
  /** `+|-OFFS(FETCHARG)`: memory at inner + offset (`+u`/`-u`: user-space variant, `user` set) */
  | { op: 'deref'; offset: number; inner: FetchExpr; user?: boolean };

/** `b<width>@<offset>/<container bits>` */
export interface Bitfield {
  width: number;
  offset: number;
  size: 8 | 16 | 32 | 64;
}

export interface FetchArg {
  /** Given (`NAME=`) or generated (`argN`, N = 1-based position) name. */
  name: string;
  /** The argument as written after `NAME=`, type included (Linux's `parg->comm`). */
  comm: string;
  expr: FetchExpr;
  /** Storage and print type; a bitfield has its container's `uN` type. */
  type: FetchTypeName;
  bitfield?: Bitfield;
  /** Offset of the argument's first character in the spec text. */
  pos: number;
}

export interface ProbeSpec {
  /** A probe kind's name (kinds.ts registry: 'kprobe', 'kretprobe', 'jprobe', ...) or 'remove'. */
  kind: string;
  group: string;
  event: string;
  /** `-:EVENT` without a group: Linux matches the event in any group (group is then the default). */
  anyGroup?: boolean;
  symbol?: string;
  offset: number;
  /** Resolved probe address (0 for `remove`). */
  addr: number;
  /** 0 = default (K6). */
  maxactive: number;
  /** `PATH:...` probes (uprobe_events): the executable's path as written, and its engine image. */
  path?: string;
  image?: number;
  /** `PATH:0xOFFSET`: the file offset as written (addr is where it is loaded). */
  fileOffset?: number;
  /** jprobes: the handler function's name and address. */
  handler?: string;
  handlerAddr?: number;
  args: FetchArg[];
  text: string;
}

export interface SpecContext {
  /**
   * `PATH:SYMBOL[+offs]` and `PATH:0xOFFSET` (uprobe_events forms): the executable the guest would
   * see at PATH, as a context of its own, or why it cannot be probed. Without it such lines are
   * FILE_NOT_FOUND.
   */
  openExecutable?(path: string): ExecutableContext | 'FILE_NOT_FOUND' | 'NO_REGULAR_FILE' | 'BAD_UPROBE_EXEC';
  lookupSymbol(name: string): number | undefined;
  isInsnBoundary(addr: number): boolean;
  /** When given, return probes on addresses for which it is false are BAD_RETPROBE and `$argN` on a
   *  kprobe at a raw address is allowed only where it is true. */
  isFunctionEntry?(addr: number): boolean;
}

/** Another executable's symbols, text and file layout (SpecContext.openExecutable). */
export interface ExecutableContext extends SpecContext {
  /** The engine's image id for the file. */
  image: number;
  /** Where a file offset is loaded, if it is in executable text. */
  addressOfOffset(offset: number): number | undefined;
}

/** Linux error names (trace_probe.h ERRORS) and their texts; the last ones are probelab's own. */
export const SPEC_ERROR_MESSAGES = {
  BAD_MAXACT: 'Invalid maxactive number',
  MAXACT_TOO_BIG: 'Maxactive is too big',
  MAXACT_NO_KPROBE: 'Maxactive is not for kprobe',
  BAD_PROBE_ADDR: 'Invalid probed address or symbol',
  BAD_RETPROBE: 'Retprobe address must be an function entry',
  BAD_ADDR_SUFFIX: 'Invalid probed address suffix',
  NO_GROUP_NAME: 'Group name is not specified',
  GROUP_TOO_LONG: 'Group name is too long',
  BAD_GROUP_NAME: 'Group name must follow the same rules as C identifiers',
  NO_EVENT_NAME: 'Event name is not specified',
  EVENT_TOO_LONG: 'Event name is too long',
  BAD_EVENT_NAME: 'Event name must follow the same rules as C identifiers',
  RETVAL_ON_PROBE: '$retval is not available on probe',
  BAD_STACK_NUM: 'Invalid stack number',
  BAD_ARG_NUM: 'Invalid argument number',
  BAD_VAR: 'Invalid $-valiable specified',
  BAD_REG_NAME: 'Invalid register name',
  BAD_MEM_ADDR: 'Invalid memory address',
  BAD_IMM: 'Invalid immediate value',
  IMMSTR_NO_CLOSE: "String is not closed with '\"'",
  FILE_ON_KPROBE: 'File offset is not available with kprobe',
  TOO_MANY_OPS: 'Dereference is too much nested',
  DEREF_NEED_BRACE: 'Dereference needs a brace',
  BAD_DEREF_OFFS: 'Invalid dereference offset',
  DEREF_OPEN_BRACE: 'Dereference brace is not closed',
  COMM_CANT_DEREF: '$comm can not be dereferenced',
  BAD_FETCH_ARG: 'Invalid fetch argument',
  BAD_TYPE: 'Unknown type is specified',
  BAD_STRING: 'String accepts only memory argument',
  BAD_SYMSTRING: "Symbol String doesn't accept data/userdata",
  BAD_BITFIELD: 'Invalid bitfield',
  ARG_NAME_TOO_LONG: 'Argument name is too long',
  NO_ARG_NAME: 'Argument name is not specified',
  BAD_ARG_NAME: 'Argument name must follow the same rules as C identifiers',
  USED_ARG_NAME: 'This argument name is already used',
  ARG_TOO_LONG: 'Argument expression is too long',
  NO_ARG_BODY: 'No argument expression',
  BAD_INSN_BNDRY: 'Probe point is not an instruction boundary',
  NOFENTRY_ARGS: '$arg* can be used only on function entry or exit',
  NEED_STRING_TYPE: '$comm and immediate-string only accepts string type',
  TOO_MANY_ARGS: 'Too many arguments are specified',
  FILE_NOT_FOUND: 'Failed to find the given file',
  NO_REGULAR_FILE: 'Not a regular file',
  BAD_UPROBE_OFFS: 'Invalid uprobe offset',
  BAD_PROBE_TYPE: "Probe definition must start with 'p', 'r', 'j' or '-'",
  BAD_REMOVE_CMD: "Removal must be '-:[GRP/]EVENT'",
  NO_JPROBE_HANDLER: 'A jprobe needs a handler function: j[:[GRP/]EVENT] SYMBOL HANDLER',
  BAD_JPROBE_HANDLER: 'Invalid jprobe handler symbol',
  JPROBE_NO_ARGS: 'A jprobe takes no fetch arguments (its handler reads them)',
  BAD_UPROBE_EXEC: 'Not a static i386 executable linked at fixed addresses',
} as const;

export type SpecErrorCode = keyof typeof SPEC_ERROR_MESSAGES;

export interface SpecError {
  code: SpecErrorCode;
  message: string;
  /** 0-based offset in the spec text. */
  pos: number;
}

export type ParseResult = { ok: true; spec: ProbeSpec } | { ok: false; error: SpecError };

export const DEFAULT_GROUP = 'probes';
export const MAX_EVENT_NAME_LEN = 64;
export const MAX_ARG_NAME_LEN = 32;
export const MAX_ARGSTR_LEN = 63;
export const MAX_TRACE_ARGS = 128;
/** PAGE_SIZE / sizeof(unsigned long) - 1 on i386. */
export const PARAM_MAX_STACK = 1023;
/** Fetch instructions per argument; the last slot is the END marker. */
export const FETCH_INSN_MAX = 16;

const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set([
  'common_type',
  'common_flags',
  'common_preempt_count',
  'common_pid',
  'common_tgid',
  '__probe_ip',
  '__probe_ret_ip',
  '__probe_func',
]);

const FETCH_TYPES: ReadonlySet<string> = new Set(Object.keys(FETCH_TYPE_SIZE));

class ParseFailure {
  constructor(readonly error: SpecError) {}
}

function fail(code: SpecErrorCode, pos: number): never {
  throw new ParseFailure({ code, message: SPEC_ERROR_MESSAGES[code], pos });
}

// ---- character classes and Linux's number parsers -------------------------------------------

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
function digitValue(c: string): number {
  if (isDigit(c)) return c.charCodeAt(0) - 48;
  const l = c.toLowerCase();
  if (l >= 'a' && l <= 'z') return l.charCodeAt(0) - 87;
  return 99;
}

/** C identifier rules (trace_probe.h is_good_name). */
export function isGoodName(name: string): boolean {
  if (name.length === 0) return false;
  const c0 = name.charAt(0);
  if (!isAlpha(c0) && c0 !== '_') return false;
  for (let i = 1; i < name.length; i++) {
    const c = name.charAt(i);
    if (!isAlpha(c) && !isDigit(c) && c !== '_') return false;
  }
  return true;
}

/** Group names: alphanumerics and '_' (is_good_system_name). */
function isGoodSystemName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charAt(i);
    if (!isAlpha(c) && !isDigit(c) && c !== '_') return false;
  }
  return true;
}

/** `_kstrtoull` from index i: the whole rest must be digits of the (auto-detected) base. */
function parseWhole(s: string, i: number, base: 0 | 10, max: number): number | undefined {
  let b: number = base;
  if (base === 0) {
    if (s.charAt(i) === '0' && s.charAt(i + 1).toLowerCase() === 'x' && digitValue(s.charAt(i + 2)) < 16) {
      b = 16;
      i += 2;
    } else b = s.charAt(i) === '0' ? 8 : 10;
  }
  if (i >= s.length) return undefined;
  let v = 0;
  for (; i < s.length; i++) {
    const d = digitValue(s.charAt(i));
    if (d >= b) return undefined;
    v = v * b + d;
    if (v > max) return undefined;
  }
  return v;
}

/** Linux kstrtoul/kstrtouint on a 32-bit kernel (optional leading '+'). */
export function kstrtoul(s: string, base: 0 | 10 = 0): number | undefined {
  return parseWhole(s, s.charAt(0) === '+' ? 1 : 0, base, 0xffffffff);
}

/** Linux kstrtol on a 32-bit kernel. */
export function kstrtol(s: string, base: 0 | 10 = 0): number | undefined {
  if (s.charAt(0) === '-') {
    const v = parseWhole(s, 1, base, 0x80000000);
    return v === undefined ? undefined : -v;
  }
  return parseWhole(s, s.charAt(0) === '+' ? 1 : 0, base, 0x7fffffff);
}

/** simple_strtoul(s + i, &end, 0): as many digits as there are. */
function simpleStrtoul(s: string, i: number): { value: number; end: number } {
  let b = 10;
  if (s.charAt(i) === '0' && s.charAt(i + 1).toLowerCase() === 'x' && digitValue(s.charAt(i + 2)) < 16) {
    b = 16;
    i += 2;
  } else if (s.charAt(i) === '0') b = 8;
  let v = 0;
  for (; i < s.length; i++) {
    const d = digitValue(s.charAt(i));
    if (d >= b) break;
    v = v * b + d;
  }
  return { value: v, end: i };
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

// ---- tokens ------------------------------------------------------------------------------------

interface Tok {
  s: string;
  pos: number;
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  const re = /[^ \t\n\v\f\r]+/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ s: m[0], pos: m.index });
  return out;
}

// ---- the parser --------------------------------------------------------------------------------

export function parseProbeSpec(text: string, ctx: SpecContext): ParseResult {
  try {
    return { ok: true, spec: parseOrThrow(text, ctx) };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: e.error };
    throw e;
  }
}

function parseOrThrow(text: string, ctx: SpecContext): ProbeSpec {
  // Like trace_parse_run_command: everything from '#' on is a comment.
  const hash = text.indexOf('#');
  const toks = tokenize(hash < 0 ? text : text.slice(0, hash));
  const t0 = toks[0];
  if (!t0) return fail('BAD_PROBE_TYPE', 0);
  const kindCh = t0.s.charAt(0);
  if (kindCh === '-') return parseRemove(text, toks, t0);
  // The first character names the kind (kinds.ts); the kind says which grammar follows.
  const desc = probeKindByPrefix(kindCh);
  if (!desc) return fail('BAD_PROBE_TYPE', t0.pos);
  if (desc.line === 'jprobe') return parseJprobe(text, toks, t0, ctx, desc.name);
  let isReturn = desc.line === 'return';

  // 1. MAXACTIVE (argv[0])
  const colon = t0.s.indexOf(':');
  const head = colon < 0 ? t0.s.slice(1) : t0.s.slice(1, colon);
  let maxactive = 0;
  if (head !== '') {
    if (!isReturn) fail('MAXACT_NO_KPROBE', t0.pos + 1);
    if (!isDigit(head.charAt(0)) || head.length > MAX_EVENT_NAME_LEN - 1) fail('BAD_MAXACT', t0.pos + 1);
    const v = kstrtoul(head, 0);
    if (v === undefined || v === 0) return fail('BAD_MAXACT', t0.pos + 1);
    if (v > MAXACTIVE_MAX) fail('MAXACT_TOO_BIG', t0.pos + 1);
    maxactive = v;
  }

  // 2. Probe address (argv[1])
  const t1 = toks[1];
  if (!t1) return fail('BAD_PROBE_ADDR', t0.pos + t0.s.length + 1);
  let symbol: string | undefined;
  let offset = 0;
  let addr: number;
  // The context addresses, symbols and boundaries are checked in: another executable for PATH:.
  let actx: SpecContext = ctx;
  let uprobe: { path: string; image: number; fileOffset?: number } | undefined;
  const ucolon = uprobeColon(t1.s);
  if (ucolon >= 0) {
    const r = parseUprobeAddress(t1, ucolon, ctx, isReturn);
    ({ symbol, offset, addr, isReturn } = r);
    actx = r.ctx;
    uprobe = { path: r.path, image: r.ctx.image, fileOffset: r.fileOffset };
  } else {
    const num = kstrtoul(t1.s, 0);
    if (num !== undefined) {
      addr = num;
      if (isReturn && ctx.isFunctionEntry?.(addr) === false) fail('BAD_RETPROBE', t1.pos);
    } else {
      let sym = t1.s;
      const pct = sym.indexOf('%');
      if (pct >= 0) {
        if (sym.slice(pct) !== '%return') fail('BAD_ADDR_SUFFIX', t1.pos + pct);
        sym = sym.slice(0, pct);
        isReturn = true;
      }
      const pm = sym.search(/[+-]/);
      if (pm >= 0) {
        const o = kstrtol(sym.slice(pm), 0);
        if (o === undefined || o < 0) return fail('BAD_PROBE_ADDR', t1.pos);
        offset = o;
        sym = sym.slice(0, pm);
      }
      const base = sym === '' ? undefined : ctx.lookupSymbol(sym);
      if (base === undefined) return fail('BAD_PROBE_ADDR', t1.pos);
      symbol = sym;
      addr = (base + offset) >>> 0;
      if (isReturn && (offset !== 0 || ctx.isFunctionEntry?.(addr) === false)) fail('BAD_RETPROBE', t1.pos);
    }
  }

  // 3. Event name (argv[0] after ':')
  const named = headEventName(t0, colon);
  const group = named.group ?? DEFAULT_GROUP;
  const event = named.event ?? defaultEventName(isReturn, symbol, offset, addr);

  // 4. Fetch arguments
  const argToks = toks.slice(2);
  if (argToks.length > MAX_TRACE_ARGS) fail('TOO_MANY_ARGS', argToks[0]?.pos ?? 0);
  const fentry =
    !isReturn &&
    (symbol !== undefined
      ? offset === 0 && actx.isFunctionEntry?.(addr) !== false
      : actx.isFunctionEntry?.(addr) === true);
  const flags: ArgFlags = { isReturn, fentry, ctx: actx };
  const args: FetchArg[] = [];
  argToks.forEach((t, i) => args.push(parseFetchArg(t, i, args, flags)));

  // 5. What register_kprobe checks
  if (!actx.isInsnBoundary(addr)) fail('BAD_INSN_BNDRY', t1.pos);

  const spec: ProbeSpec = {
    // `SYM%return` on an entry-probe line makes it a kretprobe, as in kprobe_events.
    kind: isReturn && desc.line !== 'return' ? 'kretprobe' : desc.name,
    group,
    event,
    offset,
    addr,
    maxactive,
    args,
    text,
  };
  if (symbol !== undefined) spec.symbol = symbol;
  if (uprobe) {
    spec.path = uprobe.path;
    spec.image = uprobe.image;
    if (uprobe.fileOffset !== undefined) spec.fileOffset = uprobe.fileOffset;
  }
  return spec;
}

/**
 * The ':' that separates PATH from the place in `PATH:SYMBOL[+offs]` / `PATH:0xOFFSET` (the last
 * one, as trace_uprobe.c's strrchr), or -1 for a kprobe address. A path has a '/' before it, which
 * tells it from a `MOD:SYM` kprobe symbol.
 */
function uprobeColon(s: string): number {
  const c = s.lastIndexOf(':');
  return c > 0 && s.slice(0, c).includes('/') ? c : -1;
}

/** The place of a `PATH:...` probe address token, checked in that executable's context. */
function parseUprobeAddress(
  t1: Tok,
  colon: number,
  ctx: SpecContext,
  isReturn: boolean,
): {
  path: string;
  ctx: ExecutableContext;
  symbol?: string;
  offset: number;
  addr: number;
  fileOffset?: number;
  isReturn: boolean;
} {
  const path = t1.s.slice(0, colon);
  const ex = ctx.openExecutable ? ctx.openExecutable(path) : 'FILE_NOT_FOUND';
  if (typeof ex === 'string') return fail(ex, t1.pos);
  let rest = t1.s.slice(colon + 1);
  const restPos = t1.pos + colon + 1;
  const pct = rest.indexOf('%');
  if (pct >= 0) {
    if (rest.slice(pct) !== '%return') fail('BAD_ADDR_SUFFIX', restPos + pct);
    rest = rest.slice(0, pct);
    isReturn = true;
  }
  if (isDigit(rest.charAt(0))) {
    const off = kstrtoul(rest, 0);
    const addr = off === undefined ? undefined : ex.addressOfOffset(off);
    if (off === undefined || addr === undefined) return fail('BAD_UPROBE_OFFS', restPos);
    if (isReturn && ex.isFunctionEntry?.(addr) === false) fail('BAD_RETPROBE', t1.pos);
    return { path, ctx: ex, offset: 0, addr, fileOffset: off, isReturn };
  }
  let sym = rest;
  let offset = 0;
  const pm = sym.search(/[+-]/);
  if (pm >= 0) {
    const o = kstrtol(sym.slice(pm), 0);
    if (o === undefined || o < 0) return fail('BAD_UPROBE_OFFS', restPos + pm);
    offset = o;
    sym = sym.slice(0, pm);
  }
  const base = isGoodName(sym) ? ex.lookupSymbol(sym) : undefined;
  if (base === undefined) return fail(sym === '' ? 'BAD_UPROBE_OFFS' : 'BAD_PROBE_ADDR', restPos);
  const addr = (base + offset) >>> 0;
  if (isReturn && (offset !== 0 || ex.isFunctionEntry?.(addr) === false)) fail('BAD_RETPROBE', t1.pos);
  return { path, ctx: ex, symbol: sym, offset, addr, isReturn };
}

function parseRemove(text: string, toks: Tok[], t0: Tok): ProbeSpec {
  if (t0.s.charAt(1) !== ':') fail('BAD_REMOVE_CMD', t0.pos + 1);
  const extra = toks[1];
  if (extra) fail('BAD_REMOVE_CMD', extra.pos);
  const n = parseEventName(t0.s.slice(2), t0.pos + 2, false);
  const spec: ProbeSpec = {
    kind: 'remove',
    group: n.group ?? DEFAULT_GROUP,
    event: n.event ?? '',
    offset: 0,
    addr: 0,
    maxactive: 0,
    args: [],
    text,
  };
  if (n.group === undefined) spec.anyGroup = true;
  return spec;
}

/** `j[:[GRP/]EVENT] SYMBOL HANDLER` (probelab's jprobe line). */
function parseJprobe(text: string, toks: Tok[], t0: Tok, ctx: SpecContext, kind: string): ProbeSpec {
  const colon = t0.s.indexOf(':');
  const head = colon < 0 ? t0.s.slice(1) : t0.s.slice(1, colon);
  if (head !== '') fail(isDigit(head.charAt(0)) ? 'MAXACT_NO_KPROBE' : 'BAD_PROBE_TYPE', t0.pos + 1);
  const t1 = toks[1];
  if (!t1) return fail('BAD_PROBE_ADDR', t0.pos + t0.s.length + 1);
  const addr = isGoodName(t1.s) ? ctx.lookupSymbol(t1.s) : undefined;
  if (addr === undefined || ctx.isFunctionEntry?.(addr) === false) return fail('BAD_PROBE_ADDR', t1.pos);
  const named = headEventName(t0, colon);
  const t2 = toks[2];
  if (!t2) return fail('NO_JPROBE_HANDLER', t1.pos + t1.s.length + 1);
  const handlerAddr = isGoodName(t2.s) ? ctx.lookupSymbol(t2.s) : undefined;
  if (handlerAddr === undefined) return fail('BAD_JPROBE_HANDLER', t2.pos);
  if (toks[3]) fail('JPROBE_NO_ARGS', toks[3].pos);
  return {
    kind,
    group: named.group ?? DEFAULT_GROUP,
    event: named.event ?? `j_${t1.s}_0`.slice(0, MAX_EVENT_NAME_LEN - 1),
    symbol: t1.s,
    offset: 0,
    addr: addr >>> 0,
    maxactive: 0,
    handler: t2.s,
    handlerAddr: handlerAddr >>> 0,
    args: [],
    text,
  };
}

/** The `[GRP/]EVENT` after the ':' of the first token, if there is one. */
function headEventName(t0: Tok, colon: number): { group?: string; event?: string } {
  return colon < 0 ? {} : parseEventName(t0.s.slice(colon + 1), t0.pos + colon + 1, true);
}

/** traceprobe_parse_event_name: `[GRP/]EVENT` starting at `pos` in the text. */
function parseEventName(s: string, pos: number, allowNoEvent: boolean): { group?: string; event?: string } {
  const slash = s.indexOf('/');
  let group: string | undefined;
  let ev = s;
  let evPos = pos;
  if (slash >= 0) {
    if (slash === 0) fail('NO_GROUP_NAME', pos);
    if (slash + 1 > MAX_EVENT_NAME_LEN) fail('GROUP_TOO_LONG', pos);
    group = s.slice(0, slash);
    if (!isGoodSystemName(group)) fail('BAD_GROUP_NAME', pos);
    ev = s.slice(slash + 1);
    evPos = pos + slash + 1;
  }
  if (ev.length === 0) {
    if (slash >= 0 && allowNoEvent) return group === undefined ? {} : { group };
    fail('NO_EVENT_NAME', evPos);
  }
  if (ev.length > MAX_EVENT_NAME_LEN) fail('EVENT_TOO_LONG', evPos);
  if (!isGoodName(ev)) fail('BAD_EVENT_NAME', evPos);
  return group === undefined ? { event: ev } : { group, event: ev };
}

/** `p_SYM_OFFS`, `r_SYM_OFFS`, `p_0xADDR` (snprintf into 64 bytes, then sanitize_event_name). */
export function defaultEventName(
  isReturn: boolean,
  symbol: string | undefined,
  offset: number,
  addr: number,
): string {
  const c = isReturn ? 'r' : 'p';
  const raw = symbol !== undefined ? `${c}_${symbol}_${offset}` : `${c}_0x${hex8(addr)}`;
  return raw.slice(0, MAX_EVENT_NAME_LEN - 1).replace(/[^A-Za-z0-9_]/g, '_');
}

interface ArgFlags {
  isReturn: boolean;
  /** Probe is a kprobe on a function entry ($argN readable from the stack). */
  fentry: boolean;
  ctx: SpecContext;
}

/** Index of the last fetch instruction used (code[FETCH_INSN_MAX - 1] is the END marker). */
interface OpState {
  idx: number;
}
const LAST_INSN = FETCH_INSN_MAX - 1;

function nextOp(st: OpState, pos: number): void {
  st.idx++;
  if (st.idx === LAST_INSN) fail('TOO_MANY_OPS', pos);
}

function findFetchType(t: string | undefined): FetchTypeName | undefined {
  if (t === undefined) return DEFAULT_FETCH_TYPE;
  if (t.charAt(0) === 'b') {
    const slash = t.indexOf('/');
    if (slash < 0) return undefined;
    switch (kstrtoul(t.slice(slash + 1), 0)) {
      case 8:
        return 'u8';
      case 16:
        return 'u16';
      case 32:
        return 'u32';
      case 64:
        return 'u64';
      default:
        return undefined;
    }
  }
  return FETCH_TYPES.has(t) ? (t as FetchTypeName) : undefined;
}

function parseBitfield(t: string, type: FetchTypeName): Bitfield | undefined {
  const bits = FETCH_TYPE_SIZE[type] * 8;
  const w = simpleStrtoul(t, 1);
  if (w.value === 0 || t.charAt(w.end) !== '@') return undefined;
  const o = simpleStrtoul(t, w.end + 1);
  if (o.end === w.end + 1 || t.charAt(o.end) !== '/') return undefined;
  if (bits < w.value + o.value) return undefined;
  return { width: w.value, offset: o.value, size: bits as Bitfield['size'] };
}

function parseFetchArg(tok: Tok, index: number, prev: readonly FetchArg[], f: ArgFlags): FetchArg {
  const s = tok.s;
  const p0 = tok.pos;
  const eq = s.indexOf('=');
  let name: string;
  let body: string;
  let bodyPos: number;
  if (eq >= 0) {
    if (eq > MAX_ARG_NAME_LEN) fail('ARG_NAME_TOO_LONG', p0);
    if (eq === 0) fail('NO_ARG_NAME', p0);
    name = s.slice(0, eq);
    body = s.slice(eq + 1);
    bodyPos = p0 + eq + 1;
  } else {
    name = `arg${index + 1}`;
    body = s;
    bodyPos = p0;
  }
  if (!isGoodName(name)) fail('BAD_ARG_NAME', p0);
  if (RESERVED_FIELD_NAMES.has(name) || prev.some((a) => a.name === name)) fail('USED_ARG_NAME', p0);
  if (body.length > MAX_ARGSTR_LEN) fail('ARG_TOO_LONG', bodyPos);
  if (body.length === 0) fail('NO_ARG_BODY', bodyPos);

  // parse_probe_arg_type
  const colon = body.indexOf(':');
  const exprText = colon < 0 ? body : body.slice(0, colon);
  const typeText = colon < 0 ? undefined : body.slice(colon + 1);
  const typePos = colon < 0 ? bodyPos : bodyPos + colon + 1;
  let type: FetchTypeName;
  if (exprText === '$comm' || exprText === '$COMM' || exprText.startsWith('\\"')) {
    if (typeText !== undefined && typeText !== 'string') fail('NEED_STRING_TYPE', typePos);
    type = 'string';
  } else {
    const t = findFetchType(typeText);
    if (t === undefined) return fail('BAD_TYPE', typePos);
    type = t;
  }

  const st: OpState = { idx: 0 };
  const expr = parseExpr(exprText, bodyPos, st, f);

  // Store operation checks
  const last = expr.op;
  if (type === 'string' || type === 'ustring') {
    if (last !== 'deref' && last !== 'mem' && last !== 'imm' && last !== 'comm' && last !== 'str') {
      fail('BAD_STRING', typePos);
    }
  } else if (type === 'symstr') {
    if (
      last !== 'reg' &&
      last !== 'stack' &&
      last !== 'retval' &&
      last !== 'arg' &&
      last !== 'deref' &&
      last !== 'mem'
    ) {
      fail('BAD_SYMSTRING', typePos);
    }
  }

  const arg: FetchArg = { name, comm: body, expr, type, pos: p0 };
  // Modify operation (bitfield): needs one more fetch instruction.
  if (typeText !== undefined && typeText.charAt(0) === 'b') {
    const bf = parseBitfield(typeText, type);
    if (!bf || st.idx + 1 >= LAST_INSN) fail('BAD_BITFIELD', typePos);
    arg.bitfield = bf;
  }
  return arg;
}

/** parse_probe_arg: `s` starts at text offset `off`. */
function parseExpr(s: string, off: number, st: OpState, f: ArgFlags): FetchExpr {
  switch (s.charAt(0)) {
    case '$':
      return parseVar(s, off, f);
    case '%': {
      const reg = lookupRegister(s.slice(1));
      if (reg === undefined) return fail('BAD_REG_NAME', off);
      return { op: 'reg', reg };
    }
    case '@': {
      if (isDigit(s.charAt(1))) {
        const a = kstrtoul(s.slice(1), 0);
        if (a === undefined) return fail('BAD_MEM_ADDR', off);
        nextOp(st, off);
        return { op: 'mem', addr: a };
      }
      if (s.charAt(1) === '+') return fail('FILE_ON_KPROBE', off);
      let sym = s.slice(1);
      let offset = 0;
      const pm = sym.search(/[+-]/);
      if (pm >= 0) {
        const o = kstrtol(sym.slice(pm), 0);
        if (o === undefined) return fail('BAD_MEM_ADDR', off);
        offset = o;
        sym = sym.slice(0, pm);
      }
      const base = sym === '' ? undefined : f.ctx.lookupSymbol(sym);
      if (base === undefined) return fail('BAD_MEM_ADDR', off);
      nextOp(st, off);
      nextOp(st, off);
      return { op: 'mem', addr: (base + offset) >>> 0, symbol: sym, offset };
    }
    case '+':
    case '-': {
      const sign = s.charAt(0);
      const user = s.charAt(1) === 'u';
      const paren = s.indexOf('(');
      if (paren < 0) return fail('DEREF_NEED_BRACE', off);
      const digits = s.slice(user ? 2 : 1, paren);
      const offset = kstrtol(sign === '-' ? '-' + digits : digits, 0);
      if (offset === undefined) return fail('BAD_DEREF_OFFS', off);
      const innerStart = paren + 1;
      const close = s.lastIndexOf(')');
      if (close < innerStart) return fail('DEREF_OPEN_BRACE', off + s.length);
      if (close !== s.length - 1) return fail('BAD_FETCH_ARG', off + close + 1);
      const innerPos = off + innerStart;
      const inner = parseExpr(s.slice(innerStart, close), innerPos, st, f);
      if (inner.op === 'comm' || inner.op === 'str') fail('COMM_CANT_DEREF', innerPos);
      nextOp(st, innerPos);
      return user ? { op: 'deref', offset, inner, user } : { op: 'deref', offset, inner };
    }
    case '\\': {
      if (s.charAt(1) === '"') {
        const str = s.slice(2);
        if (str.length === 0 || str.charAt(str.length - 1) !== '"')
          return fail('IMMSTR_NO_CLOSE', off + 2 + str.length);
        return { op: 'str', value: str.slice(0, -1) };
      }
      const imm = strToImmediate(s.slice(1));
      if (imm === undefined) return fail('BAD_IMM', off + 1);
      return { op: 'imm', value: imm >>> 0 };
    }
    default:
      return fail('BAD_FETCH_ARG', off);
  }
}

function strToImmediate(s: string): number | undefined {
  const c = s.charAt(0);
  if (isDigit(c)) return kstrtoul(s, 0);
  if (c === '-') return kstrtol(s, 0);
  if (c === '+') return kstrtol(s.slice(1), 0);
  return undefined;
}

/** parse_probe_vars */
function parseVar(s: string, off: number, f: ArgFlags): FetchExpr {
  const a = s.slice(1);
  if (a.startsWith('retval')) {
    if (!f.isReturn) fail('RETVAL_ON_PROBE', off);
    if (a !== 'retval') fail('BAD_VAR', off);
    return { op: 'retval' };
  }
  if (a.startsWith('stack')) {
    const rest = a.slice(5);
    if (rest === '') return { op: 'stackp' };
    if (!isDigit(rest.charAt(0))) return fail('BAD_VAR', off);
    const n = kstrtoul(rest, 10);
    if (n === undefined) return fail('BAD_VAR', off);
    if (n > PARAM_MAX_STACK) fail('BAD_STACK_NUM', off);
    return { op: 'stack', n };
  }
  if (a === 'comm' || a === 'COMM') return { op: 'comm' };
  if (a.startsWith('arg')) {
    const n = kstrtoul(a.slice(3), 10);
    if (n === undefined) return fail('BAD_VAR', off);
    if (n === 0 || n > PARAM_MAX_STACK) fail('BAD_ARG_NUM', off);
    // On a kprobe at a function entry it is read from the stack; on a return probe it is captured
    // at entry (K27); anywhere else the cdecl argument slots are not at a known place.
    if (!f.fentry && !f.isReturn) fail('NOFENTRY_ARGS', off);
    return { op: 'arg', n };
  }
  return fail('BAD_VAR', off);
}

// ---- output ------------------------------------------------------------------------------------

/** The `kprobe_events` listing line for a spec (trace_kprobe_show). */
export function formatProbeSpec(spec: ProbeSpec): string {
  if (spec.kind === 'remove') return spec.anyGroup ? `-:${spec.event}` : `-:${spec.group}/${spec.event}`;
  const d = probeKind(spec.kind);
  if (d.line === 'jprobe') return `${d.prefix}:${spec.group}/${spec.event} ${spec.symbol} ${spec.handler}`;
  let s = d.prefix;
  if (d.line === 'return' && spec.maxactive) s += String(spec.maxactive);
  s += `:${spec.group}/${spec.event}`;
  if (spec.path !== undefined) {
    // uprobe_events lists PATH:0xOFFSET; a symbol form prints back as written.
    s += ` ${spec.path}:`;
    if (spec.symbol === undefined) s += `0x${hex8(spec.fileOffset ?? spec.addr)}`;
    else s += spec.offset ? `${spec.symbol}+${spec.offset}` : spec.symbol;
  } else if (spec.symbol === undefined) s += ` 0x${hex8(spec.addr)}`;
  else if (spec.offset) s += ` ${spec.symbol}+${spec.offset}`;
  else s += ` ${spec.symbol}`;
  for (const a of spec.args) s += ` ${a.name}=${a.comm}`;
  return s;
}

const CMD_PREFIX = '  Command: ';

function displayLine(text: string): string {
  return text.replace(/[\t\n\v\f\r]/g, ' ').trimEnd();
}

/**
 * tracing/error_log layout (without the timestamp):
 *
 *     trace_kprobe: error: BAD_PROBE_ADDR: Invalid probed address or symbol
 *       Command: p non_exist_func
 *                  ^
 */
export function formatSpecError(text: string, err: SpecError): string {
  return [
    `trace_kprobe: error: ${err.code}: ${err.message}`,
    CMD_PREFIX + displayLine(text),
    ' '.repeat(CMD_PREFIX.length + err.pos) + '^',
  ].join('\n');
}

/** One line: `CODE: message: <spec with '^' inserted at the error position>` (selftest notation). */
export function formatSpecErrorLine(text: string, err: SpecError): string {
  const line = displayLine(text).padEnd(err.pos, ' ');
  return `${err.code}: ${err.message}: ${line.slice(0, err.pos)}^${line.slice(err.pos)}`;
}
