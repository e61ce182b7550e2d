// The second-level opcode table of the SSE/SSE2 rows (opcodes.ts marks them `sse`): for a two-byte
// opcode, its mandatory prefix (none, 66, F3, F2) and, for the groups 0F 71-73 and 0F AE, the /reg
// field, which instruction it is: mnemonic, operand format for the disassembler, the feature level it
// needs (1 = SSE, 2 = SSE2) and whether its register and memory forms exist. Guarantees: an encoding
// absent here (MMX forms, SSE3 and later) decodes as #UD, so the decoder, the executor and the
// disassembler agree on what exists; whether the CPU model has the level is the executor's check.

/** Mandatory-prefix class of an SSE instruction. */
export const PC_NONE = 0;
export const PC_66 = 1;
export const PC_F3 = 2;
export const PC_F2 = 3;

/** Feature levels. */
export const LEVEL_SSE = 1;
export const LEVEL_SSE2 = 2;

export interface SseEntry {
  name: string;
  /**
   * Operands (Intel order): V xmm from reg, W xmm or memory from r/m (x 128, q 64, d 32 bits), U xmm
   * from r/m (register form only), M memory, G r32 from reg, E r32 or m32 (Ew: r32 or m16), R r32 from
   * r/m, Ib imm8.
   */
  operands: string;
  level: number;
  reg: boolean;
  mem: boolean;
}

const table = new Map<number, SseEntry | (SseEntry | null)[]>();

function key(op: number, pc: number): number {
  return (op << 2) | pc;
}

/** Which of the register (mod = 3) and memory forms exist. */
type Form = 'any' | 'reg' | 'mem';

function put(
  op: number,
  pc: number,
  name: string,
  operands: string,
  level: number,
  form: Form = 'any',
): void {
  table.set(key(op, pc), { name, operands, level, reg: form !== 'mem', mem: form !== 'reg' });
}

/**
 * The single (SSE) and double (SSE2) forms of one instruction: in `name`, '?' stands for s / d; in
 * `operands`, '*' for the scalar size d (32 bits) / q (64 bits). Packed forms have no prefix / 66,
 * scalar forms F3 / F2.
 */
function sd(op: number, pcs: number, pcd: number, name: string, operands: string, form: Form): void {
  put(op, pcs, name.replace('?', 's'), operands.replace('*', 'd'), LEVEL_SSE, form);
  put(op, pcd, name.replace('?', 'd'), operands.replace('*', 'q'), LEVEL_SSE2, form);
}
function psPd(op: number, name: string, operands: string, form: Form = 'any'): void {
  sd(op, PC_NONE, PC_66, name, operands, form);
}
function ssSd(op: number, name: string, operands: string): void {
  sd(op, PC_F3, PC_F2, name, operands, 'any');
}

/** ps / pd / ss / sd variants of one arithmetic op. */
function arith4(op: number, base: string, scalars = true): void {
  psPd(op, base + 'p?', 'Vx,Wx');
  if (scalars) ssSd(op, base + 's?', 'Vx,W*');
}

psPd(0x110, 'movup?', 'Vx,Wx');
ssSd(0x110, 'movs?', 'Vx,W*');
psPd(0x111, 'movup?', 'Wx,Vx');
ssSd(0x111, 'movs?', 'W*,Vx');
// 0F 12 / 0F 16 without prefix: movlps/movhps from memory, movhlps/movlhps between registers.
put(0x112, PC_NONE, 'movlps', 'Vx,Wq', LEVEL_SSE);
put(0x112, PC_66, 'movlpd', 'Vx,Mq', LEVEL_SSE2, 'mem');
psPd(0x113, 'movlp?', 'Mq,Vx', 'mem');
psPd(0x114, 'unpcklp?', 'Vx,Wx');
psPd(0x115, 'unpckhp?', 'Vx,Wx');
put(0x116, PC_NONE, 'movhps', 'Vx,Wq', LEVEL_SSE);
put(0x116, PC_66, 'movhpd', 'Vx,Mq', LEVEL_SSE2, 'mem');
psPd(0x117, 'movhp?', 'Mq,Vx', 'mem');
psPd(0x128, 'movap?', 'Vx,Wx');
psPd(0x129, 'movap?', 'Wx,Vx');
ssSd(0x12a, 'cvtsi2s?', 'Vx,Ed');
psPd(0x12b, 'movntp?', 'Mx,Vx', 'mem');
ssSd(0x12c, 'cvtts?2si', 'Gd,W*');
ssSd(0x12d, 'cvts?2si', 'Gd,W*');
psPd(0x12e, 'ucomis?', 'Vx,W*');
psPd(0x12f, 'comis?', 'Vx,W*');
psPd(0x150, 'movmskp?', 'Gd,Ux', 'reg');
arith4(0x151, 'sqrt');
// rsqrt and rcp exist in single precision only.
put(0x152, PC_NONE, 'rsqrtps', 'Vx,Wx', LEVEL_SSE);
put(0x152, PC_F3, 'rsqrtss', 'Vx,Wd', LEVEL_SSE);
put(0x153, PC_NONE, 'rcpps', 'Vx,Wx', LEVEL_SSE);
put(0x153, PC_F3, 'rcpss', 'Vx,Wd', LEVEL_SSE);
arith4(0x154, 'and', false);
arith4(0x155, 'andn', false);
arith4(0x156, 'or', false);
arith4(0x157, 'xor', false);
arith4(0x158, 'add');
arith4(0x159, 'mul');
put(0x15a, PC_NONE, 'cvtps2pd', 'Vx,Wq', LEVEL_SSE2);
put(0x15a, PC_66, 'cvtpd2ps', 'Vx,Wx', LEVEL_SSE2);
put(0x15a, PC_F3, 'cvtss2sd', 'Vx,Wd', LEVEL_SSE2);
put(0x15a, PC_F2, 'cvtsd2ss', 'Vx,Wq', LEVEL_SSE2);
put(0x15b, PC_NONE, 'cvtdq2ps', 'Vx,Wx', LEVEL_SSE2);
put(0x15b, PC_66, 'cvtps2dq', 'Vx,Wx', LEVEL_SSE2);
put(0x15b, PC_F3, 'cvttps2dq', 'Vx,Wx', LEVEL_SSE2);
arith4(0x15c, 'sub');
arith4(0x15d, 'min');
arith4(0x15e, 'div');
arith4(0x15f, 'max');
// The SSE2 integer instructions: the 66-prefixed forms of the MMX opcodes (the MMX forms are #UD here).
const INT66: [number, string][] = [
  [0x160, 'punpcklbw'],
  [0x161, 'punpcklwd'],
  [0x162, 'punpckldq'],
  [0x163, 'packsswb'],
  [0x164, 'pcmpgtb'],
  [0x165, 'pcmpgtw'],
  [0x166, 'pcmpgtd'],
  [0x167, 'packuswb'],
  [0x168, 'punpckhbw'],
  [0x169, 'punpckhwd'],
  [0x16a, 'punpckhdq'],
  [0x16b, 'packssdw'],
  [0x16c, 'punpcklqdq'],
  [0x16d, 'punpckhqdq'],
  [0x174, 'pcmpeqb'],
  [0x175, 'pcmpeqw'],
  [0x176, 'pcmpeqd'],
  [0x1d1, 'psrlw'],
  [0x1d2, 'psrld'],
  [0x1d3, 'psrlq'],
  [0x1d4, 'paddq'],
  [0x1d5, 'pmullw'],
  [0x1d8, 'psubusb'],
  [0x1d9, 'psubusw'],
  [0x1da, 'pminub'],
  [0x1db, 'pand'],
  [0x1dc, 'paddusb'],
  [0x1dd, 'paddusw'],
  [0x1de, 'pmaxub'],
  [0x1df, 'pandn'],
  [0x1e0, 'pavgb'],
  [0x1e1, 'psraw'],
  [0x1e2, 'psrad'],
  [0x1e3, 'pavgw'],
  [0x1e4, 'pmulhuw'],
  [0x1e5, 'pmulhw'],
  [0x1e8, 'psubsb'],
  [0x1e9, 'psubsw'],
  [0x1ea, 'pminsw'],
  [0x1eb, 'por'],
  [0x1ec, 'paddsb'],
  [0x1ed, 'paddsw'],
  [0x1ee, 'pmaxsw'],
  [0x1ef, 'pxor'],
  [0x1f1, 'psllw'],
  [0x1f2, 'pslld'],
  [0x1f3, 'psllq'],
  [0x1f4, 'pmuludq'],
  [0x1f5, 'pmaddwd'],
  [0x1f6, 'psadbw'],
  [0x1f8, 'psubb'],
  [0x1f9, 'psubw'],
  [0x1fa, 'psubd'],
  [0x1fb, 'psubq'],
  [0x1fc, 'paddb'],
  [0x1fd, 'paddw'],
  [0x1fe, 'paddd'],
];
for (const [op, name] of INT66) put(op, PC_66, name, 'Vx,Wx', LEVEL_SSE2);
put(0x16e, PC_66, 'movd', 'Vx,Ed', LEVEL_SSE2);
put(0x16f, PC_66, 'movdqa', 'Vx,Wx', LEVEL_SSE2);
put(0x16f, PC_F3, 'movdqu', 'Vx,Wx', LEVEL_SSE2);
put(0x170, PC_66, 'pshufd', 'Vx,Wx,Ib', LEVEL_SSE2);
put(0x170, PC_F3, 'pshufhw', 'Vx,Wx,Ib', LEVEL_SSE2);
put(0x170, PC_F2, 'pshuflw', 'Vx,Wx,Ib', LEVEL_SSE2);
put(0x17e, PC_66, 'movd', 'Ed,Vx', LEVEL_SSE2);
put(0x17e, PC_F3, 'movq', 'Vx,Wq', LEVEL_SSE2);
put(0x17f, PC_66, 'movdqa', 'Wx,Vx', LEVEL_SSE2);
put(0x17f, PC_F3, 'movdqu', 'Wx,Vx', LEVEL_SSE2);
psPd(0x1c2, 'cmpp?', 'Vx,Wx,Ib');
ssSd(0x1c2, 'cmps?', 'Vx,W*,Ib');
put(0x1c3, PC_NONE, 'movnti', 'Md,Gd', LEVEL_SSE2, 'mem');
put(0x1c4, PC_66, 'pinsrw', 'Vx,Ew,Ib', LEVEL_SSE2);
put(0x1c5, PC_66, 'pextrw', 'Gd,Ux,Ib', LEVEL_SSE2, 'reg');
psPd(0x1c6, 'shufp?', 'Vx,Wx,Ib');
put(0x1d6, PC_66, 'movq', 'Wq,Vx', LEVEL_SSE2);
put(0x1d7, PC_66, 'pmovmskb', 'Gd,Ux', LEVEL_SSE2, 'reg');
put(0x1e6, PC_66, 'cvttpd2dq', 'Vx,Wx', LEVEL_SSE2);
put(0x1e6, PC_F3, 'cvtdq2pd', 'Vx,Wq', LEVEL_SSE2);
put(0x1e6, PC_F2, 'cvtpd2dq', 'Vx,Wx', LEVEL_SSE2);
put(0x1e7, PC_66, 'movntdq', 'Mx,Vx', LEVEL_SSE2, 'mem');
put(0x1f7, PC_66, 'maskmovdqu', 'Vx,Ux', LEVEL_SSE2, 'reg');

function group(op: number, pc: number, rows: (SseEntry | null)[]): void {
  table.set(key(op, pc), rows);
}
function shiftRow(name: string): SseEntry {
  return { name, operands: 'Ux,Ib', level: LEVEL_SSE2, reg: true, mem: false };
}
const N = null;
group(0x171, PC_66, [N, N, shiftRow('psrlw'), N, shiftRow('psraw'), N, shiftRow('psllw'), N]);
group(0x172, PC_66, [N, N, shiftRow('psrld'), N, shiftRow('psrad'), N, shiftRow('pslld'), N]);
group(0x173, PC_66, [
  N,
  N,
  shiftRow('psrlq'),
  shiftRow('psrldq'),
  N,
  N,
  shiftRow('psllq'),
  shiftRow('pslldq'),
]);
const fence = (name: string, level: number): SseEntry => ({
  name,
  operands: '',
  level,
  reg: true,
  mem: false,
});
const memOp = (name: string, level: number): SseEntry => ({
  name,
  operands: 'M',
  level,
  reg: false,
  mem: true,
});
// 0F AE: fxsave/fxrstor/ldmxcsr/stmxcsr take memory; the register forms of /5../7 are the fences; clflush
// is /7's memory form. xsave & co. (/4../6 memory) need XSAVE, which no model has.
const AE: (SseEntry | null)[] = [
  memOp('fxsave', LEVEL_SSE),
  memOp('fxrstor', LEVEL_SSE),
  memOp('ldmxcsr', LEVEL_SSE),
  memOp('stmxcsr', LEVEL_SSE),
  N,
  fence('lfence', LEVEL_SSE2),
  fence('mfence', LEVEL_SSE2),
  N, // sfence (register form) and clflush (memory form) share /7: see sseEntry
];
group(0x1ae, PC_NONE, AE);
const SFENCE = fence('sfence', LEVEL_SSE);
const CLFLUSH = memOp('clflush', LEVEL_SSE2);

/** Opcode rows (0x100-0x1ff) that have at least one SSE form: the rows opcodes.ts marks `sse`. */
export const SSE_ROWS: ReadonlySet<number> = new Set([...table.keys()].map((k) => k >> 2));

/**
 * Feature level by ((op & 0xff) << 2) | prefix class, for the executor's per-instruction model check
 * (0: no such instruction). The 0F AE group mixes levels: use sseEntry for it.
 */
export const SSE_LEVEL = new Uint8Array(0x400);
for (const [k, e] of table) {
  const rows = Array.isArray(e) ? e : [e];
  SSE_LEVEL[k & 0x3ff] = Math.max(...rows.map((r) => r?.level ?? 0));
}

/** Prefix class from the decoder's prefix bits (F2/F3 win over 66, as the hardware decodes them). */
export function prefixClass(repne: boolean, rep: boolean, o16: boolean): number {
  return repne ? PC_F2 : rep ? PC_F3 : o16 ? PC_66 : PC_NONE;
}

/** The instruction for opcode row `op`, prefix class `pc` and ModRM byte, or null when it is #UD. */
export function sseEntry(op: number, pc: number, modrm: number): SseEntry | null {
  const isMem = modrm < 0xc0;
  let e: SseEntry | (SseEntry | null)[] | null | undefined = table.get(key(op, pc));
  if (e === undefined) return null;
  if (Array.isArray(e)) {
    const reg = (modrm >> 3) & 7;
    e = op === 0x1ae && reg === 7 ? (isMem ? CLFLUSH : SFENCE) : e[reg]!;
    if (!e) return null;
  }
  if (op === 0x112 && pc === PC_NONE && !isMem) return MOVHLPS;
  if (op === 0x116 && pc === PC_NONE && !isMem) return MOVLHPS;
  if (isMem ? !e.mem : !e.reg) return null;
  return e;
}
const MOVHLPS: SseEntry = { name: 'movhlps', operands: 'Vx,Ux', level: LEVEL_SSE, reg: true, mem: false };
const MOVLHPS: SseEntry = { name: 'movlhps', operands: 'Vx,Ux', level: LEVEL_SSE, reg: true, mem: false };
