/**
 * `proc_exit` as an exception: it unwinds the app's stack back to whoever called into it.
 *
 * @module
 */

import { TrapError } from "../../sdk/errors.ts";

/**
 * Thrown out of an app's call when the app calls `proc_exit`: the app has ended and `code`
 * is its exit status, for the runtime or CLI to turn into the process exit status (as iwasm
 * and wasmtime do). It is a `TrapError` so that it passes unchanged through every native
 * boundary; the message is WAMR's exception text for the same event.
 *
 * @example Telling an exit from a trap
 * ```ts
 * import assert from "node:assert/strict";
 * import { WasiExit } from "./exit.ts";
 * const exit = new WasiExit(3);
 * assert.equal(exit.code, 3);
 * assert.equal(exit.message, "wasi proc exit");
 * ```
 */
export class WasiExit extends TrapError {
  /** Always `"WasiExit"`. */
  override name = "WasiExit";
  /** The exit status the app asked for (an unsigned 32-bit value). */
  readonly code: number;

  /**
   * Records an exit status.
   *
   * @param code the status passed to `proc_exit`
   */
  constructor(code: number) {
    super("wasi proc exit");
    this.code = code >>> 0;
  }
}
