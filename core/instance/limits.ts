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

// The names an instrumented module shares with its host (see `instrument.ts`). They live
// here, not beside the rewriter, so the runtime can load the rewriter only when an app asks
// for a limit.

/** Import module of the host functions an instrumented module calls. */
export const LIMITS_MODULE = "__mr";
/** Export name of the budget global (i32: units left in the current slice). */
export const BUDGET_EXPORT = "__mr_budget";
/** Export name of the depth global (i32: estimated stack bytes in use). */
export const DEPTH_EXPORT = "__mr_depth";
/** Export name given to a memory the module defines but does not export. */
export const MEMORY_EXPORT = "__mr_memory";

/** Codes the instrumented module passes to the host's `trap`. */
export const TRAP_STACK = 1;
/** Shadow stack ran out. */
export const TRAP_AUX_STACK = 2;

/** The functions an instrumented module imports from {@linkcode LIMITS_MODULE}. */
export interface LimitsImports {
  /** Called with the (negative) budget when it runs out; returns the next slice or throws. */
  tick(budget: number): number;
  /** Throws the trap for `code`. */
  trap(code: number): void;
}
