// The opcode table: one row per one-byte opcode (0x000-0x0ff) and two-byte 0x0f opcode (0x100-0x1ff).
// It is the single description of the instruction set: the decoder takes operand and immediate layout,
// validity (per /reg field, register-or-memory form, LOCK) and block ends from it; the executor's handler
// id is the row index; the disassembler takes mnemonics and operand formats; the probe engine's
// control-transfer class is the `control` column (per /reg field for groups). What cannot be a column is
// said where it lives: int $0x80 vs int n (immediate-dependent, decoder.controlKind), the segment-register
// forms of mov (0x8c/0x8e, operand-dependent, decoder.isInvalid) and the SSE/SSE2 rows, whose meaning and
// validity depend on the mandatory prefix (none/66/F3/F2): sse-ops.ts holds that second-level table.

/** Immediate layouts. */
export const IMM_NONE = 0;
export const IMM_B = 1; // imm8
export const IMM_V = 2; // imm16 or imm32 by operand size
export const IMM_W = 3; // imm16
export const IMM_ENTER = 4; // imm16, imm8
export const IMM_FAR = 5; // offset (16/32 by operand size) + selector16
export const IMM_MOFFS = 6; // moffs (16/32 by address size)
export const IMM_GRP3 = 7; // F6/F7: imm only for /0 and /1 (test)

/** How an instruction transfers control; the probe engine's resume_execution keys off this. */
export type ControlKind =
  | 'seq'
  | 'jmp_rel'
  | 'jcc_rel'
  | 'loop'
  | 'call_rel'
  | 'call_ind'
  | 'jmp_ind'
  | 'call_far'
  | 'jmp_far'
  | 'ret'
  | 'ret_imm'
  | 'lret'
  | 'lret_imm'
  | 'int3'
  | 'int'
  | 'into'
  | 'int1'
  | 'iret'
  | 'pushf'
  | 'popf'
  | 'cli'
  | 'sti'
  | 'hlt'
  | 'syscall';

export interface OpcodeRow {
  /** Mnemonic, or for groups the eight /reg mnemonics separated by '|'. */
  name: string;
  /** Operand format for the disassembler, e.g. 'Ev,Gv'. */
  operands: string;
  modrm: boolean;
  imm: number;
  /** Ends a decoded block (control transfer, syscall, trap or anything that changes EIP specially). */
  ends: boolean;
  /** #UD in this machine (invalid, or an SSE/MMX extension the CPUID does not advertise). */
  invalid: boolean;
  /** /reg values (bit r) with which LOCK is allowed (memory destination only); 0 = never. */
  lockRegs: number;
  /** /reg values (bit r) that are valid; derived from the group mnemonics ('' = invalid). */
  regMask: number;
  /** /reg values (bit r) whose register form (mod = 3) is invalid. */
  memRegs: number;
  /** Control-transfer class, per /reg field (8 entries; all equal for non-groups). */
  control: readonly ControlKind[];
  /** Decoded by the SSE table (sse-ops.ts): mnemonic and validity depend on the mandatory prefix. */
  sse: boolean;
}

import { SSE_ROWS } from './sse-ops.js';

const rows: OpcodeRow[] = new Array<OpcodeRow>(512);

function def(
  op: number,
  name: string,
  operands = '',
  opts: {
    m?: boolean;
    imm?: number;
    ends?: boolean;
    bad?: boolean;
    /** LOCK allowed: true for every /reg, or a /reg bit mask. */
    lock?: boolean | number;
    /** Register form invalid: true for every /reg, or a /reg bit mask. */
    mem?: boolean | number;
    ctl?: ControlKind | readonly ControlKind[];
    sse?: boolean;
  } = {},
): void {
  const ctl = opts.ctl ?? 'seq';
  const group = name.includes('|') ? name.split('|') : null;
  rows[op] = {
    name,
    operands,
    modrm: opts.m ?? false,
    imm: opts.imm ?? IMM_NONE,
    ends: opts.ends ?? false,
    invalid: opts.bad ?? false,
    lockRegs: mask(opts.lock),
    regMask: group ? group.reduce((acc, n, r) => (n ? acc | (1 << r) : acc), 0) : 0xff,
    memRegs: mask(opts.mem),
    control: typeof ctl === 'string' ? new Array<ControlKind>(8).fill(ctl) : ctl,
    sse: opts.sse ?? false,
  };
}

function mask(v: boolean | number | undefined): number {
  return v === true ? 0xff : typeof v === 'number' ? v : 0;
}

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

for (let i = 0; i < 8; i++) {
  const b = i * 8;
  const n = ALU[i]!;
  const lock = n !== 'cmp';
  def(b, n, 'Eb,Gb', { m: true, lock });
  def(b + 1, n, 'Ev,Gv', { m: true, lock });
  def(b + 2, n, 'Gb,Eb', { m: true });
  def(b + 3, n, 'Gv,Ev', { m: true });
  def(b + 4, n, 'AL,Ib', { imm: IMM_B });
  def(b + 5, n, 'eAX,Iv', { imm: IMM_V });
}
def(0x06, 'push', 'ES');
def(0x07, 'pop', 'ES');
def(0x0e, 'push', 'CS');
def(0x16, 'push', 'SS');
def(0x17, 'pop', 'SS');
def(0x1e, 'push', 'DS');
def(0x1f, 'pop', 'DS');
def(0x26, 'es', '', { bad: true });
def(0x27, 'daa');
def(0x2e, 'cs', '', { bad: true });
def(0x2f, 'das');
def(0x36, 'ss', '', { bad: true });
def(0x37, 'aaa');
def(0x3e, 'ds', '', { bad: true });
def(0x3f, 'aas');
for (let r = 0; r < 8; r++) {
  def(0x40 + r, 'inc', 'Zv');
  def(0x48 + r, 'dec', 'Zv');
  def(0x50 + r, 'push', 'Zv');
  def(0x58 + r, 'pop', 'Zv');
  def(0x90 + r, r === 0 ? 'nop' : 'xchg', r === 0 ? '' : 'Zv,eAX');
  def(0xb0 + r, 'mov', 'Zb,Ib', { imm: IMM_B });
  def(0xb8 + r, 'mov', 'Zv,Iv', { imm: IMM_V });
}
def(0x60, 'pusha');
def(0x61, 'popa');
def(0x62, 'bound', 'Gv,M', { m: true, mem: true });
def(0x63, 'arpl', 'Ew,Gw', { m: true });
def(0x64, 'fs', '', { bad: true });
def(0x65, 'gs', '', { bad: true });
def(0x66, 'data16', '', { bad: true });
def(0x67, 'addr16', '', { bad: true });
def(0x68, 'push', 'Iv', { imm: IMM_V });
def(0x69, 'imul', 'Gv,Ev,Iv', { m: true, imm: IMM_V });
def(0x6a, 'push', 'Ib', { imm: IMM_B });
def(0x6b, 'imul', 'Gv,Ev,Ib', { m: true, imm: IMM_B });
def(0x6c, 'insb', '', { ends: true });
def(0x6d, 'insd', '', { ends: true });
def(0x6e, 'outsb', '', { ends: true });
def(0x6f, 'outsd', '', { ends: true });
for (let c = 0; c < 16; c++) {
  def(0x70 + c, 'j' + CC[c], 'Jb', { imm: IMM_B, ends: true, ctl: 'jcc_rel' });
  def(0x180 + c, 'j' + CC[c], 'Jv', { imm: IMM_V, ends: true, ctl: 'jcc_rel' });
  def(0x140 + c, 'cmov' + CC[c], 'Gv,Ev', { m: true });
  def(0x190 + c, 'set' + CC[c], 'Eb', { m: true });
}
def(0x80, ALU.join('|'), 'Eb,Ib', { m: true, imm: IMM_B, lock: true });
def(0x81, ALU.join('|'), 'Ev,Iv', { m: true, imm: IMM_V, lock: true });
def(0x82, ALU.join('|'), 'Eb,Ib', { m: true, imm: IMM_B, lock: true });
def(0x83, ALU.join('|'), 'Ev,Ib', { m: true, imm: IMM_B, lock: true });
def(0x84, 'test', 'Eb,Gb', { m: true });
def(0x85, 'test', 'Ev,Gv', { m: true });
def(0x86, 'xchg', 'Eb,Gb', { m: true, lock: true });
def(0x87, 'xchg', 'Ev,Gv', { m: true, lock: true });
def(0x88, 'mov', 'Eb,Gb', { m: true });
def(0x89, 'mov', 'Ev,Gv', { m: true });
def(0x8a, 'mov', 'Gb,Eb', { m: true });
def(0x8b, 'mov', 'Gv,Ev', { m: true });
def(0x8c, 'mov', 'Ew,Sw', { m: true });
def(0x8d, 'lea', 'Gv,M', { m: true, mem: true });
def(0x8e, 'mov', 'Sw,Ew', { m: true });
def(0x8f, 'pop|||||||', 'Ev', { m: true });
def(0x98, 'cwde');
def(0x99, 'cdq');
def(0x9a, 'lcall', 'Ap', { imm: IMM_FAR, ends: true, ctl: 'call_far' });
def(0x9b, 'fwait');
def(0x9c, 'pushf', '', { ctl: 'pushf' });
def(0x9d, 'popf', '', { ends: true, ctl: 'popf' });
def(0x9e, 'sahf');
def(0x9f, 'lahf');
def(0xa0, 'mov', 'AL,Ob', { imm: IMM_MOFFS });
def(0xa1, 'mov', 'eAX,Ov', { imm: IMM_MOFFS });
def(0xa2, 'mov', 'Ob,AL', { imm: IMM_MOFFS });
def(0xa3, 'mov', 'Ov,eAX', { imm: IMM_MOFFS });
def(0xa4, 'movsb');
def(0xa5, 'movsd');
def(0xa6, 'cmpsb');
def(0xa7, 'cmpsd');
def(0xa8, 'test', 'AL,Ib', { imm: IMM_B });
def(0xa9, 'test', 'eAX,Iv', { imm: IMM_V });
def(0xaa, 'stosb');
def(0xab, 'stosd');
def(0xac, 'lodsb');
def(0xad, 'lodsd');
def(0xae, 'scasb');
def(0xaf, 'scasd');
const SHIFTS = 'rol|ror|rcl|rcr|shl|shr|sal|sar';
def(0xc0, SHIFTS, 'Eb,Ib', { m: true, imm: IMM_B });
def(0xc1, SHIFTS, 'Ev,Ib', { m: true, imm: IMM_B });
def(0xc2, 'ret', 'Iw', { imm: IMM_W, ends: true, ctl: 'ret_imm' });
def(0xc3, 'ret', '', { ends: true, ctl: 'ret' });
def(0xc4, 'les', 'Gv,M', { m: true, mem: true });
def(0xc5, 'lds', 'Gv,M', { m: true, mem: true });
def(0xc6, 'mov|||||||', 'Eb,Ib', { m: true, imm: IMM_B });
def(0xc7, 'mov|||||||', 'Ev,Iv', { m: true, imm: IMM_V });
def(0xc8, 'enter', 'Iw,Ib', { imm: IMM_ENTER });
def(0xc9, 'leave');
def(0xca, 'lret', 'Iw', { imm: IMM_W, ends: true, ctl: 'lret_imm' });
def(0xcb, 'lret', '', { ends: true, ctl: 'lret' });
def(0xcc, 'int3', '', { ends: true, ctl: 'int3' });
def(0xcd, 'int', 'Ib', { imm: IMM_B, ends: true, ctl: 'int' });
def(0xce, 'into', '', { ends: true, ctl: 'into' });
def(0xcf, 'iret', '', { ends: true, ctl: 'iret' });
def(0xd0, SHIFTS, 'Eb,1', { m: true });
def(0xd1, SHIFTS, 'Ev,1', { m: true });
def(0xd2, SHIFTS, 'Eb,CL', { m: true });
def(0xd3, SHIFTS, 'Ev,CL', { m: true });
def(0xd4, 'aam', 'Ib', { imm: IMM_B });
def(0xd5, 'aad', 'Ib', { imm: IMM_B });
def(0xd6, 'salc');
def(0xd7, 'xlat');
for (let f = 0xd8; f <= 0xdf; f++) def(f, 'fpu', 'F', { m: true });
def(0xe0, 'loopne', 'Jb', { imm: IMM_B, ends: true, ctl: 'loop' });
def(0xe1, 'loope', 'Jb', { imm: IMM_B, ends: true, ctl: 'loop' });
def(0xe2, 'loop', 'Jb', { imm: IMM_B, ends: true, ctl: 'loop' });
def(0xe3, 'jecxz', 'Jb', { imm: IMM_B, ends: true, ctl: 'loop' });
def(0xe4, 'in', 'AL,Ib', { imm: IMM_B, ends: true });
def(0xe5, 'in', 'eAX,Ib', { imm: IMM_B, ends: true });
def(0xe6, 'out', 'Ib,AL', { imm: IMM_B, ends: true });
def(0xe7, 'out', 'Ib,eAX', { imm: IMM_B, ends: true });
def(0xe8, 'call', 'Jv', { imm: IMM_V, ends: true, ctl: 'call_rel' });
def(0xe9, 'jmp', 'Jv', { imm: IMM_V, ends: true, ctl: 'jmp_rel' });
def(0xea, 'ljmp', 'Ap', { imm: IMM_FAR, ends: true, ctl: 'jmp_far' });
def(0xeb, 'jmp', 'Jb', { imm: IMM_B, ends: true, ctl: 'jmp_rel' });
def(0xec, 'in', 'AL,DX', { ends: true });
def(0xed, 'in', 'eAX,DX', { ends: true });
def(0xee, 'out', 'DX,AL', { ends: true });
def(0xef, 'out', 'DX,eAX', { ends: true });
def(0xf0, 'lock', '', { bad: true });
def(0xf1, 'int1', '', { ends: true, ctl: 'int1' });
def(0xf2, 'repne', '', { bad: true });
def(0xf3, 'rep', '', { bad: true });
def(0xf4, 'hlt', '', { ends: true, ctl: 'hlt' });
def(0xf5, 'cmc');
def(0xf6, 'test|test|not|neg|mul|imul|div|idiv', 'Eb', { m: true, imm: IMM_GRP3, lock: 0x0c });
def(0xf7, 'test|test|not|neg|mul|imul|div|idiv', 'Ev', { m: true, imm: IMM_GRP3, lock: 0x0c });
def(0xf8, 'clc');
def(0xf9, 'stc');
def(0xfa, 'cli', '', { ends: true, ctl: 'cli' });
def(0xfb, 'sti', '', { ends: true, ctl: 'sti' });
def(0xfc, 'cld');
def(0xfd, 'std');
def(0xfe, 'inc|dec||||||', 'Eb', { m: true, lock: 0x03 });
def(0xff, 'inc|dec|call|lcall|jmp|ljmp|push|', 'Ev', {
  m: true,
  lock: 0x03,
  mem: (1 << 3) | (1 << 5),
  ends: true,
  ctl: ['seq', 'seq', 'call_ind', 'call_far', 'jmp_ind', 'jmp_far', 'seq', 'seq'],
});

// ---- two-byte opcodes (0x0f xx) ----
for (let i = 0x100; i < 0x200; i++) if (!rows[i]) def(i, '(bad)', '', { bad: true });
def(0x100, 'sldt|str|lldt|ltr|verr|verw||', 'Ew', { m: true });
def(0x101, 'sgdt|sidt|lgdt|lidt|smsw||lmsw|invlpg', 'M', { m: true, mem: 0xaf });
def(0x102, 'lar', 'Gv,Ew', { m: true });
def(0x103, 'lsl', 'Gv,Ew', { m: true });
def(0x105, 'syscall', '', { bad: true });
def(0x106, 'clts', '', { ends: true });
def(0x108, 'invd', '', { ends: true });
def(0x109, 'wbinvd', '', { ends: true });
def(0x10b, 'ud2', '', { bad: true });
def(0x10d, 'nop', 'Ev', { m: true });
for (let i = 0x110; i <= 0x117; i++) def(i, 'sse', 'Ev', { m: true, bad: true });
for (let i = 0x118; i <= 0x11f; i++) def(i, 'nop', 'Ev', { m: true });
for (let i = 0x120; i <= 0x123; i++) def(i, 'mov', 'Rd,Cd', { m: true, ends: true });
for (let i = 0x128; i <= 0x12f; i++) def(i, 'sse', 'Ev', { m: true, bad: true });
def(0x130, 'wrmsr', '', { ends: true });
def(0x131, 'rdtsc');
def(0x132, 'rdmsr', '', { ends: true });
def(0x133, 'rdpmc', '', { ends: true });
def(0x134, 'sysenter', '', { bad: true });
def(0x135, 'sysexit', '', { bad: true });
def(0x138, 'sse38', 'Ev', { m: true, bad: true });
def(0x13a, 'sse3a', 'Ev', { m: true, imm: IMM_B, bad: true });
for (let i = 0x150; i <= 0x17f; i++)
  def(i, 'mmx', 'Ev', { m: true, bad: true, imm: i >= 0x170 && i <= 0x173 ? IMM_B : 0 });
def(0x177, 'emms', '', { bad: true });
def(0x1a0, 'push', 'FS');
def(0x1a1, 'pop', 'FS');
def(0x1a2, 'cpuid');
def(0x1a3, 'bt', 'Ev,Gv', { m: true });
def(0x1a4, 'shld', 'Ev,Gv,Ib', { m: true, imm: IMM_B });
def(0x1a5, 'shld', 'Ev,Gv,CL', { m: true });
def(0x1a8, 'push', 'GS');
def(0x1a9, 'pop', 'GS');
def(0x1aa, 'rsm', '', { bad: true });
def(0x1ab, 'bts', 'Ev,Gv', { m: true, lock: true });
def(0x1ac, 'shrd', 'Ev,Gv,Ib', { m: true, imm: IMM_B });
def(0x1ad, 'shrd', 'Ev,Gv,CL', { m: true });
def(0x1ae, 'fxsave|fxrstor|ldmxcsr|stmxcsr|xsave|lfence|mfence|sfence', 'M', { m: true, bad: true });
def(0x1af, 'imul', 'Gv,Ev', { m: true });
def(0x1b0, 'cmpxchg', 'Eb,Gb', { m: true, lock: true });
def(0x1b1, 'cmpxchg', 'Ev,Gv', { m: true, lock: true });
def(0x1b2, 'lss', 'Gv,M', { m: true, mem: true });
def(0x1b3, 'btr', 'Ev,Gv', { m: true, lock: true });
def(0x1b4, 'lfs', 'Gv,M', { m: true, mem: true });
def(0x1b5, 'lgs', 'Gv,M', { m: true, mem: true });
def(0x1b6, 'movzb', 'Gv,Eb', { m: true });
def(0x1b7, 'movzw', 'Gv,Ew', { m: true });
def(0x1b8, 'popcnt', 'Gv,Ev', { m: true, bad: true });
def(0x1b9, 'ud1', 'Gv,Ev', { m: true, bad: true });
def(0x1ba, '||||bt|bts|btr|btc', 'Ev,Ib', { m: true, imm: IMM_B, lock: 0xe0 });
def(0x1bb, 'btc', 'Ev,Gv', { m: true, lock: true });
def(0x1bc, 'bsf', 'Gv,Ev', { m: true });
def(0x1bd, 'bsr', 'Gv,Ev', { m: true });
def(0x1be, 'movsb', 'Gv,Eb', { m: true });
def(0x1bf, 'movsw', 'Gv,Ew', { m: true });
def(0x1c0, 'xadd', 'Eb,Gb', { m: true, lock: true });
def(0x1c1, 'xadd', 'Ev,Gv', { m: true, lock: true });
def(0x1c2, 'sse', 'Ev', { m: true, imm: IMM_B, bad: true });
def(0x1c3, 'movnti', 'M,Gv', { m: true, bad: true });
def(0x1c4, 'sse', 'Ev', { m: true, imm: IMM_B, bad: true });
def(0x1c5, 'sse', 'Ev', { m: true, imm: IMM_B, bad: true });
def(0x1c6, 'sse', 'Ev', { m: true, imm: IMM_B, bad: true });
def(0x1c7, '|cmpxchg8b||||||', 'M', { m: true, lock: true, mem: true });
for (let r = 0; r < 8; r++) def(0x1c8 + r, 'bswap', 'Zv');
for (let i = 0x1d0; i <= 0x1ff; i++) def(i, 'mmx', 'Ev', { m: true, bad: true });
for (let i = 0; i < 512; i++) if (!rows[i]) def(i, '(bad)', '', { bad: true });
// Rows with SSE/SSE2 forms: sse-ops.ts says, per mandatory prefix, which instruction each is.
for (const op of SSE_ROWS) rows[op] = { ...rows[op]!, modrm: true, invalid: false, sse: true, regMask: 0xff };

export const OPCODES: readonly OpcodeRow[] = rows;

/** The mnemonic of row `op` for modrm reg field `reg` (groups resolved). */
export function mnemonicOf(op: number, reg: number): string {
  const name = rows[op]!.name;
  if (!name.includes('|')) return name;
  return name.split('|')[reg] || '(bad)';
}
