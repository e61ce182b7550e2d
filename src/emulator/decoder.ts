// Decodes i386 instructions (32-bit protected mode) into flat fields, driven by the opcode table.
// Guarantees: decoding never throws a host error; bytes that do not form a valid instruction decode
// as OP_UD (raise #UD) and an instruction longer than 15 bytes as OP_GP; a fetch from a non-executable
// page surfaces as the memory's PageFault to the caller. The same routine serves the block cache
// (decode separate from execute) and the instruction-info API used by probes, tests and the disassembler.

import {
  IMM_B,
  IMM_ENTER,
  IMM_FAR,
  IMM_GRP3,
  IMM_MOFFS,
  IMM_NONE,
  IMM_V,
  IMM_W,
  OPCODES,
  type ControlKind,
} from './opcodes.js';
import { prefixClass, sseEntry } from './sse-ops.js';

/** Pseudo-ops beyond the 512 table rows. */
export const OP_UD = 0x200;
export const OP_GP = 0x201;

/** Prefix bits in `pfx`. */
export const PFX_O16 = 1;
export const PFX_A16 = 2;
export const PFX_REP = 4;
export const PFX_REPNE = 8;
export const PFX_LOCK = 16;
/** Segment override (1 = es, 2 = cs, 3 = ss, 4 = ds, 5 = fs, 6 = gs) in bits 8..10. */
export const PFX_SEG_SHIFT = 8;

/** Packed effective-address descriptor: base (bits 0-3, 8 = none), index (4-7), scale (8-9), a16 (10), seg (12-14). */
export const enum EA {
  None = 8,
  A16 = 1 << 10,
}
export const EA_NONE = EA.None;
export const EA_A16 = EA.A16;

/** One decoded instruction (the decoder's output record; the cache copies it into typed arrays). */
export class Decoded {
  op = 0;
  pfx = 0;
  modrm = 0;
  ea = 0;
  disp = 0;
  imm = 0;
  imm2 = 0;
  len = 0;
  /** Prefix byte count (so resume_execution can find the opcode). */
  npfx = 0;
}

export type ByteSource = (addr: number) => number;

const A16_BASE = [3, 3, 5, 5, 6, 7, 5, 3]; // bx+si, bx+di, bp+si, bp+di, si, di, bp, bx
const A16_INDEX = [6, 7, 6, 7, EA_NONE, EA_NONE, EA_NONE, EA_NONE];

/**
 * Decodes the instruction at `addr` into `out`, reading bytes with `fetch` (which may throw a
 * PageFault). Returns `out`.
 */
export function decodeInsn(fetch: ByteSource, addr: number, out: Decoded): Decoded {
  let p = addr;
  let pfx = 0;
  let b: number;
  let npfx = 0;
  for (;;) {
    if (p - addr >= 15) return bad(out, OP_GP, 15, npfx);
    b = fetch(p >>> 0);
    p++;
    switch (b) {
      case 0x66:
        pfx |= PFX_O16;
        break;
      case 0x67:
        pfx |= PFX_A16;
        break;
      case 0xf3:
        pfx = (pfx & ~PFX_REPNE) | PFX_REP;
        break;
      case 0xf2:
        pfx = (pfx & ~PFX_REP) | PFX_REPNE;
        break;
      case 0xf0:
        pfx |= PFX_LOCK;
        break;
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        // es, cs, ss, ds (bits 3-4 of the byte) are overrides 1..4.
        pfx = (pfx & 0xf8ff) | ((((b >> 3) & 3) + 1) << PFX_SEG_SHIFT);
        break;
      case 0x64:
      case 0x65:
        // fs, gs are overrides 5 and 6.
        pfx = (pfx & 0xf8ff) | ((b - 0x5f) << PFX_SEG_SHIFT);
        break;
      default:
        npfx = p - 1 - addr;
        return decodeBody(fetch, addr, p, b, pfx, npfx, out);
    }
  }
}

/** An undecodable instruction: `op` is OP_UD or OP_GP, every operand field zero. */
function bad(out: Decoded, op: number, len: number, npfx: number): Decoded {
  out.op = op;
  out.pfx = out.modrm = out.ea = out.disp = out.imm = out.imm2 = 0;
  out.len = len;
  out.npfx = npfx;
  return out;
}

function decodeBody(
  fetch: ByteSource,
  addr: number,
  p: number,
  first: number,
  pfx: number,
  npfx: number,
  out: Decoded,
): Decoded {
  let op = first;
  if (first === 0x0f) {
    if (p - addr >= 15) return bad(out, OP_GP, 15, npfx);
    op = 0x100 | fetch(p >>> 0);
    p++;
    // Three-byte escapes (0f 38 / 0f 3a): consume the third opcode byte so lengths stay right.
    if (op === 0x138 || op === 0x13a) {
      fetch(p >>> 0);
      p++;
    }
  }
  const row = OPCODES[op]!;
  let modrm = 0;
  let ea = EA_NONE | (EA_NONE << 4);
  let disp = 0;
  const seg = (pfx >> PFX_SEG_SHIFT) & 7;
  if (row.modrm) {
    modrm = fetch(p >>> 0);
    p++;
    // mov to/from control and debug registers ignore mod: always the register form (SDM).
    const mod = op >= 0x120 && op <= 0x123 ? 3 : modrm >> 6;
    const rm = modrm & 7;
    if (mod !== 3) {
      if (pfx & PFX_A16) {
        ea = EA_A16;
        if (mod === 0 && rm === 6) {
          disp = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
          p += 2;
          ea |= EA_NONE | (EA_NONE << 4);
        } else {
          ea |= A16_BASE[rm]! | (A16_INDEX[rm]! << 4);
          if (mod === 1) {
            disp = (fetch(p >>> 0) << 24) >> 24;
            p++;
          } else if (mod === 2) {
            disp = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
            p += 2;
          }
        }
      } else {
        let base = rm;
        let index: number = EA_NONE;
        let scale = 0;
        if (rm === 4) {
          const sib = fetch(p >>> 0);
          p++;
          scale = sib >> 6;
          index = (sib >> 3) & 7;
          if (index === 4) index = EA_NONE;
          base = sib & 7;
          if (base === 5 && mod === 0) {
            base = EA_NONE;
            disp = read32(fetch, p);
            p += 4;
          }
        } else if (rm === 5 && mod === 0) {
          base = EA_NONE;
          disp = read32(fetch, p);
          p += 4;
        }
        if (mod === 1) {
          disp = (fetch(p >>> 0) << 24) >> 24;
          p++;
        } else if (mod === 2) {
          disp = read32(fetch, p);
          p += 4;
        }
        ea = base | (index << 4) | (scale << 8);
      }
    }
  }
  // Only fs and gs have non-zero bases in this flat machine; lea computes an offset, no address.
  if ((seg === 5 || seg === 6) && op !== 0x8d) ea |= seg << 12;
  out.pfx = pfx;
  out.modrm = modrm;
  out.ea = ea;
  out.disp = disp;
  let imm = 0;
  let imm2 = 0;
  const o16 = (pfx & PFX_O16) !== 0;
  let immKind = row.imm;
  if (immKind === IMM_GRP3) immKind = ((modrm >> 3) & 7) < 2 ? (op === 0xf6 ? IMM_B : IMM_V) : IMM_NONE;
  switch (immKind) {
    case IMM_NONE:
      break;
    case IMM_B:
      imm = (fetch(p >>> 0) << 24) >> 24;
      p++;
      break;
    case IMM_W:
      imm = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
      p += 2;
      break;
    case IMM_V:
      if (o16) {
        imm = ((fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8)) << 16) >> 16;
        p += 2;
      } else {
        imm = read32(fetch, p);
        p += 4;
      }
      break;
    case IMM_ENTER:
      imm = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
      imm2 = fetch((p + 2) >>> 0);
      p += 3;
      break;
    case IMM_FAR:
      if (o16) {
        imm = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
        p += 2;
      } else {
        imm = read32(fetch, p);
        p += 4;
      }
      imm2 = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
      p += 2;
      break;
    case IMM_MOFFS:
      if (pfx & PFX_A16) {
        imm = fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8);
        p += 2;
      } else {
        imm = read32(fetch, p);
        p += 4;
      }
      break;
  }
  const len = p - addr;
  if (len > 15) return bad(out, OP_GP, 15, npfx);
  out.op = isInvalid(op, modrm, pfx) ? OP_UD : op;
  out.imm = imm;
  out.imm2 = imm2;
  out.len = len;
  out.npfx = npfx;
  return out;
}

function read32(fetch: ByteSource, p: number): number {
  return (
    fetch(p >>> 0) | (fetch((p + 1) >>> 0) << 8) | (fetch((p + 2) >>> 0) << 16) | (fetch((p + 3) >>> 0) << 24)
  );
}

/** Encodings that raise #UD on this CPU even though their length is well defined (see the table's columns). */
function isInvalid(op: number, modrm: number, pfx: number): boolean {
  const row = OPCODES[op]!;
  if (row.invalid) return true;
  if (row.sse)
    return (
      (pfx & PFX_LOCK) !== 0 ||
      sseEntry(
        op,
        prefixClass((pfx & PFX_REPNE) !== 0, (pfx & PFX_REP) !== 0, (pfx & PFX_O16) !== 0),
        modrm,
      ) === null
    );
  if (!row.modrm) return (pfx & PFX_LOCK) !== 0;
  const reg = (modrm >> 3) & 7;
  const isMem = modrm < 0xc0;
  if (pfx & PFX_LOCK && (!isMem || ((row.lockRegs >> reg) & 1) === 0)) return true;
  if (((row.regMask >> reg) & 1) === 0) return true;
  if (!isMem && (row.memRegs >> reg) & 1) return true;
  // mov Ew,Sw / mov Sw,Ew: only six segment registers, and CS cannot be loaded.
  if (op === 0x8c || op === 0x8e) return reg > 5 || (op === 0x8e && reg === 1);
  return false;
}

/** Control-transfer classification of a decoded instruction (for probes' resume_execution). */
export function controlKind(d: Decoded): ControlKind {
  if (d.op >= 0x200) return 'seq';
  const k = OPCODES[d.op]!.control[(d.modrm >> 3) & 7]!;
  // int $0x80 is the system call; any other vector is a plain software interrupt.
  if (k === 'int' && (d.imm & 0xff) === 0x80) return 'syscall';
  return k;
}
