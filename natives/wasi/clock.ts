/**
 * The clocks WASI apps read and the sleep `poll_oneoff` does, behind an interface so tests
 * inject a manual clock instead of sleeping.
 *
 * @module
 */

/** Time sources in nanoseconds, and a blocking sleep. */
export interface WasiClock {
  /** Wall-clock time: nanoseconds since 1970-01-01 UTC. */
  realtime(): bigint;
  /** Nanoseconds since an arbitrary origin; never goes back. */
  monotonic(): bigint;
  /**
   * CPU time of the process in nanoseconds. Deno has no API for it without `node:process`,
   * so the default counts monotonic time since the runtime started, an upper bound.
   */
  cputime(): bigint;
  /** Resolution of every clock in nanoseconds. */
  readonly resolution: bigint;
  /**
   * Blocks the calling thread (the app waits in `poll_oneoff`).
   *
   * @param ns how long
   */
  sleep(ns: bigint): void;
}

function _ns(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

const _origin = performance.now();
let _sleeper: Int32Array | undefined;

/**
 * The real clocks: `performance.timeOrigin + performance.now()` for wall time,
 * `performance.now()` for monotonic time, and `Atomics.wait` to sleep.
 *
 * @example Monotonic time moves forward
 * ```ts
 * import assert from "node:assert/strict";
 * import { realWasiClock } from "./clock.ts";
 * const a = realWasiClock.monotonic();
 * realWasiClock.sleep(1_000_000n);
 * assert.ok(realWasiClock.monotonic() - a >= 1_000_000n);
 * ```
 */
export const realWasiClock: WasiClock = {
  realtime: () => _ns(performance.timeOrigin + performance.now()),
  monotonic: () => _ns(performance.now()),
  cputime: () => _ns(performance.now() - _origin),
  resolution: 1000n,
  sleep(ns: bigint): void {
    if (ns <= 0n) return;
    _sleeper ??= new Int32Array(new SharedArrayBuffer(4));
    // Atomics.wait returns early only if notified; nothing notifies this word.
    const until = performance.now() + Number(ns) / 1e6;
    for (let left = Number(ns) / 1e6; left > 0; left = until - performance.now()) {
      Atomics.wait(_sleeper, 0, 0, left);
    }
  },
};
