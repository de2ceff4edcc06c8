/**
 * WAMR native signature strings (`"(i*~$)i"`): parsing, checking against wasm import
 * types, and the TypeScript types a native's implementation gets from the literal.
 *
 * Letters: `i` i32, `I` i64, `f` f32, `F` f64, `r` externref, `*` app pointer,
 * `~` byte length of the preceding `*`, `$` NUL-terminated string; the results follow `)`.
 * Beyond WAMR's letters: `V` v128 (16 bytes, a `Uint8Array`), `R` funcref (a wasm function
 * or null), and several result letters for multi-value functions (returned as an array).
 *
 * @module
 */

import type { AppPtr } from "./memory.ts";
import type { FuncType } from "./wasm_types.ts";

/** One parameter or result letter of a signature string. */
export type SigChar = "i" | "I" | "f" | "F" | "r" | "V" | "R" | "*" | "~" | "$";

/** A parsed signature string. */
export interface Signature {
  /** The signature exactly as declared, e.g. `"(i*~)i"`. */
  readonly text: string;
  /** One letter per wasm parameter. */
  readonly params: readonly SigChar[];
  /** The result letter when there is exactly one, else undefined (void or multi-value). */
  readonly result: SigChar | undefined;
  /** Every result letter, in order (empty for a void function). */
  readonly results: readonly SigChar[];
}

const PARAM_CHARS = new Set<string>(["i", "I", "f", "F", "r", "V", "R", "*", "~", "$"]);
const RESULT_CHARS = new Set<string>(["i", "I", "f", "F", "r", "V", "R"]);
const WASM_TYPE: Record<SigChar, string> = {
  i: "i32",
  I: "i64",
  f: "f32",
  F: "f64",
  r: "externref",
  V: "v128",
  R: "funcref",
  "*": "i32",
  "~": "i32",
  $: "i32",
};

const _parsed = new Map<string, Signature>();

/**
 * Parses a WAMR signature string, rejecting malformed ones.
 *
 * @param text the signature, e.g. `"($*~)i"`
 * @returns the parsed signature (cached: equal texts give the same object)
 * @throws {TypeError} when the text is not a valid signature
 *
 * @example Parse a signature
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSignature } from "./signature.ts";
 * const sig = parseSignature("(i*~)i");
 * assert.deepEqual(sig.params, ["i", "*", "~"]);
 * assert.equal(sig.result, "i");
 * assert.throws(() => parseSignature("ii"), /must start with "\("/);
 * ```
 */
export function parseSignature(text: string): Signature {
  const cached = _parsed.get(text);
  if (cached) return cached;
  if (typeof text !== "string" || text[0] !== "(") {
    throw new TypeError(`Invalid signature "${text}": must start with "("`);
  }
  const close = text.indexOf(")");
  if (close < 0) throw new TypeError(`Invalid signature "${text}": missing ")"`);
  const params: SigChar[] = [];
  for (let i = 1; i < close; i++) {
    const c = text[i]!;
    if (!PARAM_CHARS.has(c)) {
      throw new TypeError(`Invalid signature "${text}": unknown parameter type "${c}"`);
    }
    if (c === "~" && params[params.length - 1] !== "*") {
      throw new TypeError(`Invalid signature "${text}": "~" must follow "*"`);
    }
    params.push(c as SigChar);
  }
  const results = [...text.slice(close + 1)] as SigChar[];
  for (const c of results) {
    if (!RESULT_CHARS.has(c)) {
      throw new TypeError(`Invalid signature "${text}": invalid result type "${c}"`);
    }
  }
  const sig: Signature = {
    text,
    params,
    result: results.length === 1 ? results[0] : undefined,
    results,
  };
  _parsed.set(text, sig);
  return sig;
}

/**
 * Whether a signature matches a wasm function type exactly, in both directions.
 *
 * @param sig the parsed signature
 * @param type the import's wasm type
 * @returns true when every parameter and the result correspond
 */
export function signatureMatches(sig: Signature, type: FuncType): boolean {
  if (sig.params.length !== type.params.length) return false;
  for (let i = 0; i < sig.params.length; i++) {
    if (WASM_TYPE[sig.params[i]!] !== type.params[i]) return false;
  }
  if (sig.results.length !== type.results.length) return false;
  return sig.results.every((c, i) => WASM_TYPE[c] === type.results[i]);
}

/**
 * The wasm function type a signature stands for.
 *
 * @param sig the parsed signature
 * @returns its parameter and result types
 */
export function signatureType(sig: Signature): FuncType {
  return {
    params: sig.params.map((c) => WASM_TYPE[c]),
    results: sig.results.map((c) => WASM_TYPE[c]),
  };
}

// ---- Types inferred from a signature literal --------------------------------------------

/** The type one parameter letter arrives as. */
export type SignatureParamType<C extends string> = C extends "i" | "f" | "F" | "~" ? number
  : C extends "I" ? bigint
  : C extends "r" ? unknown
  : C extends "V" ? Uint8Array
  : C extends "R" ? WasmFuncRef
  : C extends "*" ? AppPtr
  : C extends "$" ? string
  : never;

/**
 * How a `*~` region reaches a native: `"views"` (the default) as a `Uint8Array` of exactly
 * the region plus its length; `"offsets"` as the region's checked offset and length, to read
 * through `ctx.memory.u8` (no object per call, for hot natives whose region moves).
 */
export type NativeRegions = "views" | "offsets";

/** The parameter tuple for the letters of a signature (without the parentheses). */
export type SignatureParamTuple<S extends string, R extends NativeRegions = "views"> = S extends
  `*~${infer Rest}`
  ? [R extends "offsets" ? number : Uint8Array, number, ...SignatureParamTuple<Rest, R>]
  : S extends `${infer C}${infer Rest}` ? [SignatureParamType<C>, ...SignatureParamTuple<Rest, R>]
  : [];

/** The parameter types a native receives (after its context) for a signature literal. */
export type SignatureParams<S extends string, R extends NativeRegions = "views"> = S extends
  `(${infer P})${string}` ? SignatureParamTuple<P, R>
  : never;

/** A funcref value: an exported wasm function, or null. */
export type WasmFuncRef = ((...args: never[]) => unknown) | null;

/** The type one result letter stands for. */
export type SignatureValueType<C extends string> = C extends "i" | "f" | "F" ? number
  : C extends "I" ? bigint
  : C extends "r" ? unknown
  : C extends "V" ? Uint8Array
  : C extends "R" ? WasmFuncRef
  : never;

/** The tuple of types for several result letters. */
export type SignatureValueTuple<S extends string> = S extends `${infer C}${infer Rest}`
  ? [SignatureValueType<C>, ...SignatureValueTuple<Rest>]
  : [];

/** The union of the letters in a string of result letters. */
export type SignatureLetters<S extends string> = S extends `${infer C}${infer Rest}`
  ? C | SignatureLetters<Rest>
  : never;

/**
 * The result type a native returns for a signature literal: void, one value, or an array
 * for several results (typed loosely: TypeScript cannot infer a tuple from an array literal
 * while it still infers the signature).
 */
export type SignatureResult<S extends string> = S extends `(${string})${infer R}`
  ? R extends "" ? void
  : R extends `${infer C}${infer Rest}` ? Rest extends "" ? SignatureValueType<C>
    : readonly SignatureValueType<SignatureLetters<R>>[]
  : never
  : never;
