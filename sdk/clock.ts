/**
 * The clock every part of the app framework reads and schedules through: timers, the
 * queue scheduler and request timeouts. Inject a {@linkcode ManualClock} and tests run
 * without sleeping.
 *
 * @module
 */

/** An opaque handle returned by {@linkcode Clock.setTimer}. */
export type TimerHandle = unknown;

/** Time and one-shot timers, in milliseconds. */
export interface Clock {
  /**
   * Monotonic milliseconds since an arbitrary origin.
   *
   * @returns the current time
   */
  now(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now (0 or less: as soon as possible).
   *
   * @param ms the delay
   * @param fn what to call
   * @returns a handle for {@linkcode Clock.clearTimer}
   */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /**
   * Cancels a timer; unknown or already fired handles are ignored.
   *
   * @param handle what `setTimer` returned
   */
  clearTimer(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and `setTimeout`.
 *
 * @example Schedule a callback, cancel another
 * ```ts
 * import assert from "node:assert/strict";
 * import { realClock } from "./clock.ts";
 * const fired: string[] = [];
 * realClock.clearTimer(realClock.setTimer(1, () => fired.push("cancelled")));
 * const start = realClock.now();
 * await new Promise<void>((resolve) => realClock.setTimer(5, resolve));
 * fired.push("due");
 * assert.deepEqual(fired, ["due"]);
 * assert.ok(realClock.now() >= start, "monotonic");
 * ```
 */
export const realClock: Clock = {
  now(): number {
    return performance.now();
  },
  setTimer(ms: number, fn: () => void): TimerHandle {
    // setTimeout treats delays beyond 2^31 - 1 ms as 0.
    return setTimeout(fn, Math.min(0x7fffffff, Math.max(0, ms)));
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface _Pending {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every timer that falls due, in
 * time order (ties in the order they were set), with `now()` reading each timer's due time
 * while it runs, and includes timers that callbacks set along the way.
 *
 * @example Fire timers without sleeping
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock();
 * const fired: number[] = [];
 * clock.setTimer(20, () => fired.push(clock.now()));
 * clock.setTimer(10, () => {
 *   fired.push(clock.now());
 *   clock.setTimer(5, () => fired.push(clock.now()));
 * });
 * clock.advance(30);
 * assert.deepEqual(fired, [10, 15, 20]); // including the timer set at 10
 * assert.equal(clock.now(), 30);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #pending = new Map<unknown, _Pending>();

  /**
   * Creates a clock standing still at `start`.
   *
   * @param start the initial time in milliseconds (default 0)
   */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): number {
    const handle = ++this.#seq;
    this.#pending.set(handle, { due: this.#now + Math.max(0, ms), seq: handle, fn });
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#pending.delete(handle);
  }

  /** Number of timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Moves time forward by `ms`, firing what falls due on the way.
   *
   * @param ms how far to move (0 fires what is due now)
   * @returns the number of timers fired
   * @throws {RangeError} when `ms` is negative or not finite
   */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Cannot advance a clock by ${ms} ms`);
    }
    const target = this.#now + ms;
    let fired = 0;
    for (;;) {
      let next: [unknown, _Pending] | undefined;
      for (const entry of this.#pending) {
        const p = entry[1];
        if (p.due > target) continue;
        if (!next || p.due < next[1].due || (p.due === next[1].due && p.seq < next[1].seq)) {
          next = entry;
        }
      }
      if (!next) break;
      this.#pending.delete(next[0]);
      this.#now = next[1].due;
      fired++;
      next[1].fn();
    }
    this.#now = target;
    return fired;
  }
}
