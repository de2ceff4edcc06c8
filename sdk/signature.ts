/**
 * WAMR native signature strings (`"(i*~$)i"`): parsing, checking against wasm import
 * types, and the TypeScript types a native's implementation gets from the literal.
 *
 * Letters: `i` i32, `I` i64, `f` f32, `F` f64, `r` externref, `*` app pointer,
 * `~` byte length of the preceding `*`, `$` NUL-terminated string; the result follows `)`.
 *
 * @module
 */

import type { AppPtr } from "./memory.ts";
import type { FuncType } from "./wasm_types.ts";

/** One parameter or result letter of a signature string. */
export type SigChar = "i" | "I" | "f" | "F" | "r" | "*" | "~" | "$";

/** A parsed signature string. */
export interface Signature {
  /** The signature exactly as declared, e.g. `"(i*~)i"`. */
  readonly text: string;
  /** One letter per wasm parameter. */
  readonly params: readonly SigChar[];
  /** The result letter, or undefined for a void function. */
  readonly result: SigChar | undefined;
}

const PARAM_CHARS = new Set<string>(["i", "I", "f", "F", "r", "*", "~", "$"]);
const RESULT_CHARS = new Set<string>(["i", "I", "f", "F", "r"]);
const WASM_TYPE: Record<SigChar, string> = {
  i: "i32",
  I: "i64",
  f: "f32",
  F: "f64",
  r: "externref",
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
  const rest = text.slice(close + 1);
  if (rest.length > 1) {
    throw new TypeError(`Invalid signature "${text}": more than one result type`);
  }
  if (rest.length === 1 && !RESULT_CHARS.has(rest)) {
    throw new TypeError(`Invalid signature "${text}": invalid result type "${rest}"`);
  }
  const sig: Signature = {
    text,
    params,
    result: rest.length === 1 ? rest as SigChar : undefined,
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
  if (sig.result === undefined) return type.results.length === 0;
  return type.results.length === 1 && WASM_TYPE[sig.result] === type.results[0];
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
    results: sig.result === undefined ? [] : [WASM_TYPE[sig.result]],
  };
}

// ---- Types inferred from a signature literal --------------------------------------------

/** The type one parameter letter arrives as. */
export type SignatureParamType<C extends string> = C extends "i" | "f" | "F" | "~" ? number
  : C extends "I" ? bigint
  : C extends "r" ? unknown
  : C extends "*" ? AppPtr
  : C extends "$" ? string
  : never;

// `*~` arrives as a view of exactly the region plus its length.
/** The parameter tuple for the letters of a signature (without the parentheses). */
export type SignatureParamTuple<S extends string> = S extends `*~${infer Rest}`
  ? [Uint8Array, number, ...SignatureParamTuple<Rest>]
  : S extends `${infer C}${infer Rest}` ? [SignatureParamType<C>, ...SignatureParamTuple<Rest>]
  : [];

/** The parameter types a native receives (after its context) for a signature literal. */
export type SignatureParams<S extends string> = S extends `(${infer P})${string}`
  ? SignatureParamTuple<P>
  : never;

/** The result type a native returns for a signature literal. */
export type SignatureResult<S extends string> = S extends `(${string})${infer R}`
  ? R extends "" ? void
  : R extends "i" | "f" | "F" ? number
  : R extends "I" ? bigint
  : R extends "r" ? unknown
  : never
  : never;
