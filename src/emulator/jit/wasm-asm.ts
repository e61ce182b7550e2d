// A minimal WebAssembly binary writer for the wasm compile tier: function bodies as byte lists with
// structured-control bookkeeping (branch depths by label), and a module of one imported memory,
// imported functions, internal functions and one exported function. Knows the encoding only; what
// the code means is wasm-unit.ts's business.

/** Value type i32 (the only one units keep in locals besides i64 temporaries). */
export const I32 = 0x7f;
export const I64 = 0x7e;

/** Opcodes used by the tier (names as in the spec's text format). */
export const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8u: 0x2d,
  i32Load16u: 0x2f,
  i32Store: 0x36,
  i32Store8: 0x3a,
  i32Store16: 0x3b,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i32Clz: 0x67,
  i32Ctz: 0x68,
  i32Popcnt: 0x69,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Mul: 0x7e,
  i64DivS: 0x7f,
  i64DivU: 0x80,
  i64RemS: 0x81,
  i64RemU: 0x82,
  i64Or: 0x84,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
} as const;

/** Block type of a structured instruction without a result. */
const VOID = 0x40;

/** A function body under construction. */
export class Body {
  bytes: number[] = [];
  /** Open structured instructions, innermost last (labels are numbered from here). */
  private labels: number[] = [];
  private nextLabel = 1;

  op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }

  uleb(v: number): this {
    uleb(this.bytes, v);
    return this;
  }

  sleb(v: number): this {
    v |= 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        this.bytes.push(byte);
        return this;
      }
      this.bytes.push(byte | 0x80);
    }
  }

  i32(v: number): this {
    return this.op(OP.i32Const).sleb(v);
  }

  get(l: number): this {
    return this.op(OP.localGet).uleb(l);
  }

  set(l: number): this {
    return this.op(OP.localSet).uleb(l);
  }

  tee(l: number): this {
    return this.op(OP.localTee).uleb(l);
  }

  call(f: number): this {
    return this.op(OP.call).uleb(f);
  }

  /** A memory instruction with its alignment hint and constant offset. */
  mem(op: number, offset: number): this {
    const align =
      op === OP.i32Load8u || op === OP.i32Store8 ? 0 : op === OP.i32Load16u || op === OP.i32Store16 ? 1 : 2;
    return this.op(op).uleb(align).uleb(offset);
  }

  /** Opens a block/loop/if (result i32 when `result`); returns its label for `br`. */
  open(op: number, result = false): number {
    this.op(op, result ? I32 : VOID);
    const l = this.nextLabel++;
    this.labels.push(l);
    return l;
  }

  else(): this {
    return this.op(OP.else);
  }

  end(): this {
    this.labels.pop();
    return this.op(OP.end);
  }

  /** How many structured instructions are open here. */
  get depth(): number {
    return this.labels.length;
  }

  /**
   * Drops byte ranges emitted earlier: `ranges` holds [start, end) pairs in increasing order, each a
   * stack-neutral sequence (wasm branches name enclosing labels, never byte offsets, so nothing else
   * moves in meaning).
   */
  omit(ranges: readonly number[]): void {
    if (ranges.length === 0) return;
    const out: number[] = [];
    let from = 0;
    for (let k = 0; k < ranges.length; k += 2) {
      for (let x = from; x < ranges[k]!; x++) out.push(this.bytes[x]!);
      from = ranges[k + 1]!;
    }
    for (let x = from; x < this.bytes.length; x++) out.push(this.bytes[x]!);
    this.bytes = out;
  }

  /** Branch to an open label. */
  br(label: number, op: number = OP.br): this {
    const k = this.labels.lastIndexOf(label);
    if (k < 0) throw new Error('wasm-asm: branch to a closed label');
    return this.op(op).uleb(this.labels.length - 1 - k);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface ImportedFunc {
  name: string;
  type: FuncType;
}

export interface Func {
  type: FuncType;
  /** Local types after the parameters. */
  locals: number[];
  body: Body;
}

function vec(out: number[], items: number[][]): void {
  uleb(out, items.length);
  for (const i of items) for (let k = 0; k < i.length; k++) out.push(i[k]!);
}

function uleb(out: number[], v: number): void {
  v >>>= 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function str(s: string): number[] {
  const out: number[] = [];
  uleb(out, s.length);
  for (let k = 0; k < s.length; k++) out.push(s.charCodeAt(k));
  return out;
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  for (let k = 0; k < content.length; k++) out.push(content[k]!);
}

/**
 * A module importing memory `m.mem`, with `table` a funcref table `m.tab` (for call_indirect), and
 * functions `m.<name>` (function indices 0..imports-1), defining `funcs` (indices after the imports)
 * and exporting the first of them as `run` (or the first ones under the names in `exports`). `types` are declared first, in order (call_indirect's
 * type indices).
 */
export function buildModule(
  imports: ImportedFunc[],
  funcs: Func[],
  opts: { table?: boolean; types?: FuncType[]; exports?: string[] } = {},
): Uint8Array<ArrayBuffer> {
  const types: FuncType[] = [];
  const key = (t: FuncType) => `${t.params.join(',')}:${t.results.join(',')}`;
  const typeIndex = (t: FuncType) => {
    const k = types.findIndex((u) => key(u) === key(t));
    if (k >= 0) return k;
    types.push(t);
    return types.length - 1;
  };
  for (const t of opts.types ?? []) typeIndex(t);
  for (const f of imports) typeIndex(f.type);
  for (const f of funcs) typeIndex(f.type);
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const typeSec: number[] = [];
  vec(
    typeSec,
    types.map((t) => {
      const b: number[] = [0x60];
      vec(
        b,
        t.params.map((p) => [p]),
      );
      vec(
        b,
        t.results.map((r) => [r]),
      );
      return b;
    }),
  );
  section(out, 1, typeSec);
  const importSec: number[] = [];
  const entries: number[][] = [[...str('m'), ...str('mem'), 0x02, 0x01, 0x01, 0x80, 0x80, 0x04]];
  // funcref, no maximum, at least one entry
  if (opts.table) entries.push([...str('m'), ...str('tab'), 0x01, 0x70, 0x00, 0x01]);
  for (const f of imports) {
    const e = [...str('m'), ...str(f.name), 0x00];
    uleb(e, typeIndex(f.type));
    entries.push(e);
  }
  vec(importSec, entries);
  section(out, 2, importSec);
  const funcSec: number[] = [];
  vec(
    funcSec,
    funcs.map((f) => {
      const e: number[] = [];
      uleb(e, typeIndex(f.type));
      return e;
    }),
  );
  section(out, 3, funcSec);
  const exportSec: number[] = [];
  vec(
    exportSec,
    (opts.exports ?? ['run']).map((name, k) => {
      const ex = [...str(name), 0x00];
      uleb(ex, imports.length + k);
      return ex;
    }),
  );
  section(out, 7, exportSec);
  // The code section is most of a module: its bodies are copied once, as typed arrays, into the
  // result (pushing them byte by byte through spreads took ~7% of a Lua run).
  const heads: number[][] = [];
  let codeLen = 0;
  for (const f of funcs) {
    const head: number[] = [];
    // Locals grouped by runs of one type.
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0]!++;
      else groups.push([1, t]);
    }
    const locals: number[] = [];
    uleb(locals, groups.length);
    for (const [n, t] of groups) {
      uleb(locals, n!);
      locals.push(t!);
    }
    uleb(head, locals.length + f.body.bytes.length + 1);
    head.push(...locals);
    heads.push(head);
    codeLen += head.length + f.body.bytes.length + 1;
  }
  const count: number[] = [];
  uleb(count, funcs.length);
  const sizeOfCode: number[] = [10];
  uleb(sizeOfCode, count.length + codeLen);
  const result = new Uint8Array(out.length + sizeOfCode.length + count.length + codeLen);
  let at = 0;
  const put = (b: ArrayLike<number>) => {
    result.set(b, at);
    at += b.length;
  };
  put(out);
  put(sizeOfCode);
  put(count);
  funcs.forEach((f, k) => {
    put(heads[k]!);
    put(f.body.bytes);
    result[at++] = OP.end;
  });
  return result;
}
