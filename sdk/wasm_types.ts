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
