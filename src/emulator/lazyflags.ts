// Lazy-flag operation codes shared by the interpreter (cpu.ts) and the block compiler, whose generated
// code stores them into the CPU's lazy-flag fields: the arithmetic flags are derived from the last
// operation's operands and result only when something reads them.

export const LF_NONE = 0;
export const LF_ADD = 1;
export const LF_SUB = 2;
export const LF_LOGIC = 3;
export const LF_INC = 4;
export const LF_DEC = 5;
/** ZF/SF/PF from the result; CF, OF, AF from the concrete flags (shifts, multiplies). */
export const LF_RES = 6;
