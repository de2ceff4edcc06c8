/**
 * The error classes callers catch: load, link, trap and protocol errors.
 *
 * Each names the thing at fault. Trap messages keep WAMR's exact wording because apps
 * and tools print and parse them (`Exception: out of bounds memory access`).
 *
 * @module
 */

/** A malformed or invalid WebAssembly binary. */
export class LoadError extends Error {
  /** Always `"LoadError"`. */
  override name = "LoadError";
  /** The reason without the offset, e.g. `magic header not detected`. */
  readonly reason: string;
  /** Byte offset in the binary where reading failed, when known. */
  readonly offset: number | undefined;

  /**
   * Creates a load error; the message carries the offset when it is known.
   *
   * @param reason what is wrong, in WAMR's wording where WAMR has one
   * @param offset byte offset in the binary, when known
   */
  constructor(reason: string, offset?: number) {
    super(offset === undefined ? reason : `${reason} (at byte offset ${offset})`);
    this.reason = reason;
    this.offset = offset;
  }
}

/** An import that cannot be linked: missing non-function import, or a signature mismatch. */
export class LinkError extends Error {
  /** Always `"LinkError"`. */
  override name = "LinkError";
}

/**
 * A runtime fault inside an app: the app stops, the host goes on.
 *
 * `message` is WAMR's exception text without the `Exception: ` prefix.
 */
export class TrapError extends Error {
  /** Always `"TrapError"`. */
  override name = "TrapError";
}

/**
 * An app ended itself with an exit status (WASI's `proc_exit`): it unwinds the app's stack
 * like a trap, and whoever called into the app reads `code` instead of reporting a fault.
 * `callMain` returns the code, and the CLI makes it the process exit status, as iwasm and
 * wasmtime do.
 *
 * @example An exit is a trap with a status
 * ```ts
 * import assert from "node:assert/strict";
 * import { AppExit, TrapError } from "./errors.ts";
 * const exit = new AppExit(3, "wasi proc exit");
 * assert.ok(exit instanceof TrapError);
 * assert.equal(exit.code, 3);
 * ```
 */
export class AppExit extends TrapError {
  /** Always `"AppExit"` (subclasses name themselves). */
  override name = "AppExit";
  /** The exit status the app asked for (an unsigned 32-bit value). */
  readonly code: number;

  /**
   * Records an exit status.
   *
   * @param code the status the app passed
   * @param message WAMR's exception text for the event
   */
  constructor(code: number, message = "app exit") {
    super(message);
    this.code = code >>> 0;
  }
}

/** A malformed packet or frame from an app or a remote host. */
export class ProtocolError extends Error {
  /** Always `"ProtocolError"`. */
  override name = "ProtocolError";
}

/** WAMR's message for every failed bounds check. */
export const OUT_OF_BOUNDS = "out of bounds memory access";

/**
 * Throws the trap every failed pointer check raises.
 *
 * @returns never; always throws
 */
export function trapOutOfBounds(): never {
  throw new TrapError(OUT_OF_BOUNDS);
}
