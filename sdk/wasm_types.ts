/**
 * WebAssembly types as the reader reports them and signature strings are checked against.
 *
 * @module
 */

/** A value type as text: `"i32"`, `"funcref"`, `"anyref"`, `"(ref null 3)"`, `"(ref func)"`. */
export type ValType = string;

/** A function signature. */
export interface FuncType {
  /** Parameter types, in order. */
  params: ValType[];
  /** Result types, in order (more than one with multi-value). */
  results: ValType[];
}

/** The one-byte binary encodings of the value types that have one (numbers, v128, the two
 * reference shorthands). */
export const VALTYPE_BYTES: Readonly<Record<string, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
};
