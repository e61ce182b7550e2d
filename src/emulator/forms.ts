// Instruction forms: the interpreter's handler id for a decoded instruction, chosen once at decode time
// from its opcode (with the operand-size mark), and for ModR/M instructions whether the operand is a
// register or memory. Guarantees: the ids are dense small integers (0..Form.Generic), so the
// interpreter's `switch` on them is a jump table (V8 builds one only for dense literal case labels; a
// switch on the raw opcode was a chain of up to 300 compares); Form.Generic covers everything else and
// runs the opcode-keyed executor exactly as before. A form never changes what an instruction does: it
// only picks the code path, which the lockstep, ALU and differential suites compare against qemu-i386.

/**
 * Handler ids (a const enum: the case labels compile to number literals). Grouped so the loop can
 * tell a form's needs from its id alone: memory-operand forms first (the loop computes their
 * effective address before dispatching), then the other forms that neither read nor set EIP (the loop
 * stores the fall-through EIP only when the block ends after one of them), then the rest.
 */
export const enum Form {
  MovEvGvM = 0, // 89 /r, memory destination
  MovGvEvM, // 8b /r, memory source
  Lea, // 8d
  AluEvGvM, // 01 09 11 19 21 29 31 39
  AluGvEvM, // 03 0b 13 1b 23 2b 33 3b
  AluEvIM, // 81, 83
  TestEvGvM, // 85
  AluEbIM, // 80, 82
  MovEbGbM, // 88
  MovGbEbM, // 8a
  MovEvIM, // c7
  MovEbIM, // c6
  MovzxBM, // 0f b6
  MovzxWM, // 0f b7
  MovsxBM, // 0f be
  MovsxWM, // 0f bf
  LastMem = MovsxWM,
  MovEvGvR, // the register forms of the above
  MovGvEvR,
  AluEvGvR,
  AluGvEvR,
  AluEvIR,
  TestEvGvR,
  AluEbIR,
  MovEbGbR,
  MovGbEbR,
  MovEvIR,
  PushR, // 50+r
  PopR, // 58+r
  IncDecR, // 40-4f
  MovRI, // b8+r
  MovzxB, // 0f b6 from a register
  MovzxW, // 0f b7 from a register
  AluAccI, // 04 0c .. 3c (al, imm8), 05 0d .. 3d (eax, imm32)
  AluEbGb, // 00 08 .. 38 (r/m8, r8), 02 0a .. 3a (r8, r/m8)
  TestEbGb, // 84
  TestAccI, // a8, a9
  Shift, // c0 c1 d0 d1 d2 d3
  Setcc, // 0f 90-9f
  Cmov, // 0f 40-4f
  PushI, // 68, 6a
  Imul, // 69, 6b, 0f af
  Movsx, // 0f be, 0f bf from a register
  Leave, // c9
  Cdq, // 99
  LastPlain = Cdq,
  Call, // e8
  Ret, // c3
  Jmp, // e9, eb
  Jcc, // 70-7f, 0f 80-8f
  Int, // cd
  Group3, // f6, f7
  Group45, // fe, ff
  StringOp, // a4-a7, aa-af
  Fpu, // d8-df
  /** Everything without a form of its own: the SSE, x87 and opcode-keyed paths. */
  Generic,
}

/** The form of an instruction: `op` is the code cache's handler op (0x400 set when 0x66-prefixed). */
export function formOf(op: number, modrm: number): Form {
  const reg = modrm >= 0xc0;
  if (op < 0x40) {
    switch (op & 7) {
      case 0:
      case 2:
        return Form.AluEbGb;
      case 1:
        return reg ? Form.AluEvGvR : Form.AluEvGvM;
      case 3:
        return reg ? Form.AluGvEvR : Form.AluGvEvM;
      case 4:
      case 5:
        return Form.AluAccI;
      default:
        return Form.Generic;
    }
  }
  if (op < 0x50) return Form.IncDecR;
  if (op < 0x58) return Form.PushR;
  if (op < 0x60) return Form.PopR;
  if (op >= 0x70 && op <= 0x7f) return Form.Jcc;
  if (op >= 0x180 && op <= 0x18f) return Form.Jcc;
  if (op >= 0x190 && op <= 0x19f) return Form.Setcc;
  if (op >= 0x140 && op <= 0x14f) return Form.Cmov;
  if (op >= 0xb8 && op <= 0xbf) return Form.MovRI;
  if (op >= 0xd8 && op <= 0xdf) return Form.Fpu;
  switch (op) {
    case 0x89:
      return reg ? Form.MovEvGvR : Form.MovEvGvM;
    case 0x8b:
      return reg ? Form.MovGvEvR : Form.MovGvEvM;
    case 0x8d:
      return Form.Lea;
    case 0xe8:
      return Form.Call;
    case 0xc3:
      return Form.Ret;
    case 0xe9:
    case 0xeb:
      return Form.Jmp;
    case 0x81:
    case 0x83:
      return reg ? Form.AluEvIR : Form.AluEvIM;
    case 0x85:
      return reg ? Form.TestEvGvR : Form.TestEvGvM;
    case 0x1b6:
      return reg ? Form.MovzxB : Form.MovzxBM;
    case 0x1b7:
      return reg ? Form.MovzxW : Form.MovzxWM;
    case 0xcd:
      return Form.Int;
    case 0x80:
    case 0x82:
      return reg ? Form.AluEbIR : Form.AluEbIM;
    case 0x88:
      return reg ? Form.MovEbGbR : Form.MovEbGbM;
    case 0x8a:
      return reg ? Form.MovGbEbR : Form.MovGbEbM;
    case 0xc7:
      return reg ? Form.MovEvIR : Form.MovEvIM;
    case 0xc6:
      return reg ? Form.Generic : Form.MovEbIM;
    case 0x84:
      return Form.TestEbGb;
    case 0xa8:
    case 0xa9:
      return Form.TestAccI;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return Form.Shift;
    case 0xf6:
    case 0xf7:
      return Form.Group3;
    case 0xfe:
    case 0xff:
      return Form.Group45;
    case 0x68:
    case 0x6a:
      return Form.PushI;
    case 0x69:
    case 0x6b:
    case 0x1af:
      return Form.Imul;
    case 0x1be:
      return reg ? Form.Movsx : Form.MovsxBM;
    case 0x1bf:
      return reg ? Form.Movsx : Form.MovsxWM;
    case 0xc9:
      return Form.Leave;
    case 0x99:
      return Form.Cdq;
    case 0xa4:
    case 0xa5:
    case 0xa6:
    case 0xa7:
    case 0xaa:
    case 0xab:
    case 0xac:
    case 0xad:
    case 0xae:
    case 0xaf:
      return Form.StringOp;
    default:
      return Form.Generic;
  }
}
