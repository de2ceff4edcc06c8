/**
 * The host side of an instrumented app: hands out budget slices to the checks the rewriter
 * compiled in, and stops the app when its deadline passes or its fuel is spent.
 *
 * The budget global counts instruction units down; when it goes negative the app calls
 * `tick`. With fuel on, `tick` adds what the slice used to the fuel consumed and traps once
 * it passes the fuel given; with a deadline, it reads the clock and traps once the deadline
 * has passed. Slices are sized so ticks come about once a millisecond: reading the clock
 * costs nothing that matters at that rate, and an app is stopped within a few milliseconds
 * of its deadline.
 *
 * @module
 */

import { TrapError } from "../../sdk/errors.ts";
import {
  AUX_STACK_OVERFLOW,
  BUDGET_EXPORT,
  DEADLINE_EXCEEDED,
  DEPTH_EXPORT,
  FUEL_EXHAUSTED,
  type LimitsImports,
  STACK_OVERFLOW,
  TRAP_AUX_STACK,
} from "./limits.ts";

/** Largest slice handed out: the budget global is an i32. */
const _MAX_SLICE = 1 << 30;
/** First slice, before the speed of the app is known. */
const _FIRST_SLICE = 10_000;
/** Ticks aim to come this often (ms). */
const _TICK_MS = 1;

/** Reads a clock in milliseconds; `performance.now` by default. */
export type Now = () => number;

/** The governor of one app instance. */
export class Governor {
  /** Deadline for each entry in ms; 0 = none. */
  deadlineMs: number;
  readonly #now: Now;
  /** Fuel left at the start of the current slice; undefined when fuel is off. */
  #fuel: number | undefined;
  /** Units handed out with the current slice. */
  #given = 0;
  #slice = _FIRST_SLICE;
  #lastTick = 0;
  #deadline = Infinity;
  #nesting = 0;
  #budget: WebAssembly.Global | undefined;
  #depth: WebAssembly.Global | undefined;
  /** Set once the app was stopped: every check then throws this again. */
  #stopped: string | undefined;

  /**
   * Creates a governor.
   *
   * @param deadlineMs deadline per entry in ms (0 = none)
   * @param fuel fuel to start with, or undefined for no fuel metering
   * @param now the clock (default `performance.now`)
   */
  constructor(deadlineMs: number, fuel: number | undefined, now: Now = () => performance.now()) {
    this.deadlineMs = deadlineMs;
    this.#fuel = fuel;
    this.#now = now;
  }

  /** The functions the instrumented module imports. */
  imports(): LimitsImports {
    return {
      tick: (budget: number): number => this.#tick(budget),
      trap: (code: number): void => {
        throw new TrapError(code === TRAP_AUX_STACK ? AUX_STACK_OVERFLOW : STACK_OVERFLOW);
      },
    };
  }

  /**
   * Takes the instance's budget and depth globals once it exists.
   *
   * @param exports the raw exports of the instrumented instance
   */
  attach(exports: Record<string, unknown>): void {
    const budget = exports[BUDGET_EXPORT];
    const depth = exports[DEPTH_EXPORT];
    if (budget instanceof WebAssembly.Global) this.#budget = budget;
    if (depth instanceof WebAssembly.Global) this.#depth = depth;
  }

  /** Fuel left, or undefined when fuel is off. */
  get fuel(): number | undefined {
    if (this.#fuel === undefined) return undefined;
    const used = this.#budget ? this.#given - Number(this.#budget.value) : 0;
    return Math.max(0, this.#fuel - used);
  }

  /**
   * Sets the fuel left (undefined is not allowed once fuel metering is compiled in).
   *
   * @param value fuel units
   */
  set fuel(value: number) {
    this.#settle();
    this.#fuel = value;
    if (this.#stopped === FUEL_EXHAUSTED) this.#stopped = undefined;
  }

  /** Starts an entry into the app: the outermost one resets the deadline and the depth. */
  enter(): void {
    if (this.#nesting++ > 0) return;
    if (this.#stopped === DEADLINE_EXCEEDED) this.#stopped = undefined;
    this.#settle();
    const now = this.#now();
    this.#lastTick = now;
    this.#deadline = this.deadlineMs > 0 ? now + this.deadlineMs : Infinity;
    if (this.#depth) this.#depth.value = 0;
  }

  /** Ends an entry. */
  exit(): void {
    if (this.#nesting > 0) this.#nesting--;
  }

  /** Accounts for the current slice and makes the next check tick at once. */
  #settle(): void {
    if (!this.#budget) return;
    const left = Number(this.#budget.value);
    if (this.#fuel !== undefined) this.#fuel = Math.max(0, this.#fuel - (this.#given - left));
    this.#given = 0;
    this.#budget.value = 0;
  }

  #stop(message: string): never {
    this.#stopped = message;
    throw new TrapError(message);
  }

  #tick(budget: number): number {
    if (this.#stopped !== undefined) throw new TrapError(this.#stopped);
    let slice = this.#slice;
    if (this.#fuel !== undefined) {
      this.#fuel -= this.#given - budget;
      if (this.#fuel < 0) {
        this.#fuel = 0;
        this.#stop(FUEL_EXHAUSTED);
      }
    }
    if (this.#deadline !== Infinity) {
      const now = this.#now();
      if (now >= this.#deadline) this.#stop(DEADLINE_EXCEEDED);
      // Aim for a tick per millisecond: double a slice that ended too soon, quarter a long one.
      const elapsed = now - this.#lastTick;
      if (elapsed < _TICK_MS / 2) slice = Math.min(_MAX_SLICE, slice * 2);
      else if (elapsed > _TICK_MS * 4) slice = Math.max(100, slice >> 2);
      this.#slice = slice;
      this.#lastTick = now;
    } else {
      slice = _MAX_SLICE;
    }
    if (this.#fuel !== undefined) slice = Math.min(slice, this.#fuel);
    this.#given = slice;
    return slice;
  }
}
