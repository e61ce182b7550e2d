// Lazy-flag operation codes shared by the interpreter (cpu.ts) and the block compiler, whose generated
// code stores them into the CPU's lazy-flag fields: the arithmetic flags are derived from the last
// operation's operands and result only when something reads them.

/**
 * The codes as a const enum: its uses compile to number literals (V8 reads an imported `const` from
 * its module cell, with a TDZ check, on every use in the interpreter's hot paths).
 */
export const enum LF {
  None = 0,
  Add = 1,
  Sub = 2,
  Logic = 3,
  Inc = 4,
  Dec = 5,
  /** ZF/SF/PF from the result; CF, OF, AF from the concrete flags (shifts, multiplies). */
  Res = 6,
}

export const LF_NONE = LF.None;
export const LF_ADD = LF.Add;
export const LF_SUB = LF.Sub;
export const LF_LOGIC = LF.Logic;
export const LF_INC = LF.Inc;
export const LF_DEC = LF.Dec;
export const LF_RES = LF.Res;
