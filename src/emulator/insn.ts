// Instruction information and disassembly from the opcode table: length, control-transfer kind and
// mnemonic of the instruction at the start of a byte string (probes, tests, crash reports). Never
// throws: bytes that are not a valid instruction (or are cut short) give { invalid: true, length: 0 }.

import {
  controlKind,
  Decoded,
  decodeInsn,
  EA_A16,
  EA_NONE,
  OP_GP,
  OP_UD,
  PFX_O16,
  PFX_REP,
  PFX_REPNE,
} from './decoder.js';
import { mnemonicOf, OPCODES, type ControlKind } from './opcodes.js';
import { prefixClass, sseEntry, type SseEntry } from './sse-ops.js';

export interface InsnInfo {
  /** Present (and true) only for bytes that are not a valid instruction; length is then 0. */
  invalid?: true;
  length: number;
  kind: ControlKind;
  mnemonic: string;
  /** Intel-syntax text, e.g. "add dword [ebp-0x8], eax". */
  text: string;
}

const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?', '?'];
const OUT_OF_BYTES = new Error('truncated');
const INVALID: InsnInfo = Object.freeze({
  invalid: true,
  length: 0,
  kind: 'seq',
  mnemonic: '(bad)',
  text: '(bad)',
});

export function instructionInfo(bytes: Uint8Array, addr = 0): InsnInfo {
  const d = new Decoded();
  try {
    decodeInsn(
      (a) => {
        const i = (a - addr) >>> 0;
        if (i >= bytes.length) throw OUT_OF_BYTES;
        return bytes[i]!;
      },
      addr >>> 0,
      d,
    );
  } catch {
    return INVALID;
  }
  if (d.op === OP_UD || d.op === OP_GP) return INVALID;
  const mnemonic = mnemonicFor(d);
  return { length: d.len, kind: controlKind(d), mnemonic, text: disassemble(d, addr) };
}

/** The SSE table's entry for a decoded SSE-row instruction (the decoder has checked it exists). */
function sseOf(d: Decoded): SseEntry | null {
  if (!OPCODES[d.op]!.sse) return null;
  return sseEntry(
    d.op,
    prefixClass((d.pfx & PFX_REPNE) !== 0, (d.pfx & PFX_REP) !== 0, (d.pfx & PFX_O16) !== 0),
    d.modrm,
  );
}

function mnemonicFor(d: Decoded): string {
  const sse = sseOf(d);
  if (sse) return sse.name;
  const reg = (d.modrm >> 3) & 7;
  let m = mnemonicOf(d.op, reg);
  if (d.op === 0x90 && d.pfx & PFX_REP) return 'pause';
  if (d.op === 0x11e && d.modrm === 0xfb && d.pfx & PFX_REP) return 'endbr32';
  if (d.op >= 0xd8 && d.op <= 0xdf) m = `fpu${(d.op - 0xd8).toString()}/${reg}`;
  if (d.pfx & PFX_O16) {
    if (m === 'cwde') return 'cbw';
    if (m === 'cdq') return 'cwd';
    if (m.endsWith('sd') && /^(movs|cmps|stos|lods|scas|ins|outs)d$/.test(m)) return m.slice(0, -1) + 'w';
  }
  return m;
}

function hex(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function memOperand(d: Decoded, size: string): string {
  const base = d.ea & 15;
  const index = (d.ea >> 4) & 15;
  const scale = (d.ea >> 8) & 3;
  const regs = d.ea & EA_A16 ? R16 : R32;
  const parts: string[] = [];
  if (base !== EA_NONE) parts.push(regs[base]!);
  if (index !== EA_NONE) parts.push(scale ? `${regs[index]}*${1 << scale}` : regs[index]!);
  let s = parts.join('+');
  if (d.disp || parts.length === 0)
    s += parts.length ? (d.disp < 0 ? hex(d.disp) : `+${hex(d.disp)}`) : hex(d.disp >>> 0);
  const seg = (d.pfx >> 8) & 7;
  const segText = seg ? `${SREG[seg - 1]}:` : '';
  return `${size ? size + ' ' : ''}${segText}[${s}]`;
}

function disassemble(d: Decoded, addr: number): string {
  const row = OPCODES[d.op]!;
  const o16 = (d.pfx & PFX_O16) !== 0;
  const regs = o16 ? R16 : R32;
  const vsize = o16 ? 'word' : 'dword';
  const rm = d.modrm & 7;
  const reg = (d.modrm >> 3) & 7;
  const isReg = d.modrm >= 0xc0;
  const ops: string[] = [];
  const operands = sseOf(d)?.operands ?? row.operands;
  for (const f of operands ? operands.split(',') : []) {
    switch (f) {
      case 'Vx':
        ops.push(`xmm${reg}`);
        break;
      case 'Wx':
      case 'Wq':
      case 'Wd':
      case 'Ux':
        ops.push(isReg ? `xmm${rm}` : memOperand(d, f === 'Wx' ? 'xmmword' : f === 'Wq' ? 'qword' : 'dword'));
        break;
      case 'Mx':
      case 'Mq':
      case 'Md':
        ops.push(memOperand(d, f === 'Mx' ? 'xmmword' : f === 'Mq' ? 'qword' : 'dword'));
        break;
      case 'Ed':
        ops.push(isReg ? R32[rm]! : memOperand(d, 'dword'));
        break;
      case 'Gd':
        ops.push(R32[reg]!);
        break;
      case 'Eb':
        ops.push(isReg ? R8[rm]! : memOperand(d, 'byte'));
        break;
      case 'Ev':
        ops.push(isReg ? regs[rm]! : memOperand(d, vsize));
        break;
      case 'Ew':
        ops.push(isReg ? R16[rm]! : memOperand(d, 'word'));
        break;
      case 'M':
        ops.push(memOperand(d, ''));
        break;
      case 'F':
        ops.push(isReg ? `st(${rm})` : memOperand(d, ''));
        break;
      case 'Gb':
        ops.push(R8[reg]!);
        break;
      case 'Gv':
        ops.push(regs[reg]!);
        break;
      case 'Gw':
        ops.push(R16[reg]!);
        break;
      case 'Sw':
        ops.push(SREG[reg]!);
        break;
      case 'Zv':
        ops.push(regs[d.op & 7]!);
        break;
      case 'Zb':
        ops.push(R8[d.op & 7]!);
        break;
      case 'AL':
        ops.push('al');
        break;
      case 'eAX':
        ops.push(regs[0]!);
        break;
      case 'CL':
        ops.push('cl');
        break;
      case 'DX':
        ops.push('dx');
        break;
      case '1':
        ops.push('1');
        break;
      case 'Ib':
      case 'Iw':
      case 'Iv':
        ops.push(hex(d.imm));
        break;
      case 'Jb':
      case 'Jv':
        ops.push(hex((addr + d.len + d.imm) >>> 0));
        break;
      case 'Ob':
      case 'Ov':
        ops.push(`[${hex(d.imm >>> 0)}]`);
        break;
      case 'Ap':
        ops.push(`${hex(d.imm2)}:${hex(d.imm >>> 0)}`);
        break;
      default:
        ops.push(f);
    }
  }
  if (d.op === 0xc8) ops.push(hex(d.imm2));
  let prefix = '';
  if (d.pfx & PFX_REP && OPCODES[d.op]!.name.match(/^(movs|stos|lods|cmps|scas|ins|outs)/))
    prefix = d.op === 0xa6 || d.op === 0xa7 || d.op === 0xae || d.op === 0xaf ? 'repe ' : 'rep ';
  if (d.pfx & PFX_REPNE && prefix === '' && OPCODES[d.op]!.name.match(/^(cmps|scas)/)) prefix = 'repne ';
  if (d.pfx & 16) prefix = 'lock ' + prefix;
  return `${prefix}${mnemonicFor(d)}${ops.length ? ' ' + ops.join(', ') : ''}`;
}
