/**
 * Turns whatever an app's call threw into a `TrapError` with WAMR's wording.
 *
 * @module
 */

import { OUT_OF_BOUNDS, TrapError } from "../../sdk/errors.ts";

// V8's trap texts → WAMR's exception texts.
const _V8_TO_WAMR: [RegExp, string][] = [
  [/^unreachable/, "unreachable"],
  [/memory access out of bounds/, OUT_OF_BOUNDS],
  [/divide by zero|remainder by zero/, "integer divide by zero"],
  [/divide result unrepresentable|integer overflow/, "integer overflow"],
  [/float unrepresentable in integer range/, "invalid conversion to integer"],
  [/signature mismatch/, "indirect call type mismatch"],
  [/^null function/, "uninitialized element"],
  [/table index is out of bounds|invalid index into function table/, "undefined element"],
  [
    /table (access|size) out of bounds|table out of bounds|element segment out of bounds/,
    "out of bounds table access",
  ],
  [/data segment out of bounds/, OUT_OF_BOUNDS],
  [/operation does not support unaligned accesses/, "unaligned atomic"],
];

/**
 * The WAMR exception text for a V8 trap message, or undefined if it is not a trap we know.
 *
 * @param message V8's `RuntimeError` message
 * @returns WAMR's wording
 */
export function wamrTrapMessage(message: string): string | undefined {
  for (const [pattern, wamr] of _V8_TO_WAMR) {
    if (pattern.test(message)) return wamr;
  }
  return undefined;
}

/**
 * Converts anything thrown out of wasm into a `TrapError`.
 *
 * @param error what the call threw
 * @returns the trap to report
 */
export function toTrap(error: unknown): TrapError {
  if (error instanceof TrapError) return error;
  if (error instanceof WebAssembly.RuntimeError) {
    return new TrapError(wamrTrapMessage(error.message) ?? error.message, { cause: error });
  }
  if (error instanceof RangeError && /call stack size/i.test(error.message)) {
    return new TrapError("wasm operand stack overflow", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TrapError(message, { cause: error });
}
