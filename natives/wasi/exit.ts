/**
 * `proc_exit` as an exception: it unwinds the app's stack back to whoever called into it.
 *
 * @module
 */

import { AppExit } from "../../sdk/errors.ts";

/**
 * Thrown out of an app's call when the app calls `proc_exit`: the app has ended and `code`
 * is its exit status, for the runtime or CLI to turn into the process exit status (as iwasm
 * and wasmtime do). It is an `AppExit` (a `TrapError`), so it passes unchanged through every
 * native boundary and `callMain` returns its code; the message is WAMR's exception text for
 * the same event.
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
export class WasiExit extends AppExit {
  /** Always `"WasiExit"`. */
  override name = "WasiExit";

  /**
   * Records an exit status.
   *
   * @param code the status passed to `proc_exit`
   */
  constructor(code: number) {
    super(code, "wasi proc exit");
  }
}
