/**
 * Execution limits for untrusted apps: a wall-clock deadline per entry into the app, fuel,
 * a memory cap and a stack limit, with the trap messages each one raises.
 *
 * Deadlines and fuel are compiled into the app at load time (see `instrument.ts`): JS timers
 * cannot fire while wasm runs on the same thread, so the app must check for itself.
 *
 * @module
 */

/** Trap message when an entry into the app runs past its deadline. */
export const DEADLINE_EXCEEDED = "execution deadline exceeded";
/** Trap message when the app's fuel is spent (wasmtime's wording). */
export const FUEL_EXHAUSTED = "all fuel consumed";
/** Trap message when the call depth passes the bound derived from the stack size (iwasm's). */
export const STACK_OVERFLOW = "wasm operand stack overflow";
/** Trap message when the C shadow stack (`__stack_pointer`) runs out (iwasm's). */
export const AUX_STACK_OVERFLOW = "wasm auxiliary stack overflow";

/** Limits for one app instance. Every field is off when absent. */
export interface AppLimits {
  /**
   * Wall-clock budget in milliseconds for each entry into the app (each export call,
   * `main`, each framework callback, the start function and `_initialize`). The app is
   * stopped with the trap `execution deadline exceeded`. 0 turns the check off for now
   * while keeping the instrumentation, so the deadline can be set again later.
   */
  deadlineMs?: number;
  /**
   * Fuel: about one unit per instruction executed, charged per block; the trap
   * `all fuel consumed` when it is spent. Deterministic: the same app and input consume the
   * same fuel.
   */
  fuel?: number;
  /**
   * Most bytes the app's linear memory may reach (rounded down to 64 KiB pages). Beyond it
   * `memory.grow` returns -1, so the app's `malloc` fails cleanly.
   */
  maxMemory?: number;
  /**
   * The wasm stack in bytes, as iwasm's `--stack-size`: bounds the call depth (trap
   * `wasm operand stack overflow`). Also turns on the C shadow-stack check (trap
   * `wasm auxiliary stack overflow`).
   */
  stackSize?: number;
}
