/**
 * Turns whatever an app's call threw into a `TrapError` with WAMR's wording.
 *
 * @module
 */

import { OUT_OF_BOUNDS, TrapError } from "../../sdk/errors.ts";

/** WAMR's text for a table access out of bounds (`table.get`, `table.set`, segments). */
const _TABLE_OOB = "out of bounds table access";

/** What an exception thrown by `throw` and caught by nothing becomes. */
export const UNCAUGHT_EXCEPTION = "uncaught wasm exception";

// V8's trap texts -> WAMR's exception texts.
const _V8_TO_WAMR: [RegExp, string][] = [
  [/^unreachable/, "unreachable"],
  [/memory access out of bounds/, OUT_OF_BOUNDS],
  [/divide by zero|remainder by zero/, "integer divide by zero"],
  [/divide result unrepresentable|integer overflow/, "integer overflow"],
  // V8 says the same for NaN (WAMR: "invalid conversion to integer") and for a value out of
  // range; the operand is gone by then, so the commoner case wins.
  [/float unrepresentable in integer range/, "integer overflow"],
  [/signature mismatch/, "indirect call type mismatch"],
  [/^null function/, "uninitialized element"],
  [/invalid index into function table/, "undefined element"],
  [/table index is out of bounds/, _TABLE_OOB],
  [
    /table (access|size) out of bounds|table out of bounds|element segment out of bounds/,
    "out of bounds table access",
  ],
  [/data segment (\d+ )?(is )?out of bounds/, OUT_OF_BOUNDS],
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

const _Exception = (WebAssembly as unknown as { Exception?: abstract new () => object })
  .Exception;

/**
 * Converts anything thrown out of wasm into a `TrapError`.
 *
 * @param error what the call threw
 * @param bytes the binary that ran, to tell a `call_indirect` past the table's end (WAMR:
 *   `undefined element`) from other table accesses (`out of bounds table access`), which V8
 *   words alike; without it such a trap in a call is taken for a `call_indirect`
 * @returns the trap to report
 */
export function toTrap(error: unknown, bytes?: Uint8Array): TrapError {
  if (error instanceof TrapError) return error;
  if (error instanceof WebAssembly.RuntimeError) {
    let message = wamrTrapMessage(error.message) ?? error.message;
    if (message === _TABLE_OOB && _isIndirectCall(error, bytes)) message = "undefined element";
    return new TrapError(message, { cause: error });
  }
  if (_Exception && error instanceof _Exception) {
    return new TrapError(UNCAUGHT_EXCEPTION, { cause: error });
  }
  if (error instanceof RangeError && /call stack size/i.test(error.message)) {
    return new TrapError("wasm operand stack overflow", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TrapError(message, { cause: error });
}

/** Whether the trapping instruction (its byte offset is in V8's stack trace) is an indirect call. */
function _isIndirectCall(error: Error, bytes: Uint8Array | undefined): boolean {
  const at = /wasm-function\[\d+\]:0x([0-9a-f]+)/.exec(error.stack ?? "");
  if (!at) return false; // at instantiation: an element segment
  if (!bytes) return true; // the binary that ran is unknown: the commoner case in C apps
  const opcode = bytes[parseInt(at[1]!, 16)];
  return opcode === 0x11 || opcode === 0x13; // call_indirect, return_call_indirect
}
