/**
 * How an app manager drains its queues with the real clock: soon, but never starving I/O.
 *
 * @module
 */

/**
 * A queue-drain scheduler for a server: a microtask when the manager wakes up, so a host
 * request is handled in the same turn it arrived in (a 0 ms timer costs 1-2 ms in Deno,
 * which capped a link at a few hundred round trips per second). After 64 drains chained
 * from inside drains it takes a 0 ms timer instead, so apps that keep each other busy
 * cannot starve socket I/O.
 *
 * @returns the `schedule` option of an app manager
 *
 * @example A drain runs in the same turn
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastSchedule } from "./schedule.ts";
 * const schedule = fastSchedule();
 * let ran = false;
 * schedule(() => ran = true);
 * assert.equal(ran, false); // not run synchronously
 * await Promise.resolve();
 * assert.equal(ran, true);
 * ```
 */
export function fastSchedule(): (drain: () => void) => void {
  let running = false;
  let chain = 0;
  const run = (drain: () => void) => {
    running = true;
    try {
      drain();
    } finally {
      running = false;
    }
  };
  return function schedule(drain: () => void): void {
    // Woken from inside a drain: the same chain of microtasks, with no I/O in between.
    chain = running ? chain + 1 : 0;
    if (chain >= 64) {
      chain = 0;
      setTimeout(() => run(drain), 0);
    } else {
      queueMicrotask(() => run(drain));
    }
  };
}

/** Most ms of back-to-back I/O yields before one is a real 0 ms timer. */
const _TIMER_EVERY_MS = 50;
const _ONE_BYTE = new Uint8Array(1);

/**
 * Runs a drain once the process has looked at its sockets: how an app manager yields between
 * slices of a long drain, so the host link's frames are read and its responses written while
 * an app keeps its queue full.
 *
 * Deno polls sockets only while its event loop waits for something. A 0 ms timer waits at
 * least 1 ms (2 ms measured, 4 ms once nested), which would idle a busy server a third of
 * the time at 1 ms slices; `setImmediate` and `MessageChannel` never wait, and sockets starve
 * behind them (a loopback echo took 300 ms and more). A SHA-256 of one byte is finished on
 * another thread: the loop waits about 8 us for it and polls the sockets meanwhile (echo p50
 * 1.9 ms behind 5 ms slices, measured on Deno 2.9.6). In case a runtime ever finishes it
 * without waiting, after 50 ms of drains each yielding to the next, one yield is a real 0 ms
 * timer. Without `crypto.subtle`, every yield is.
 *
 * @returns a scheduler: call it with the drain to run after I/O
 *
 * @example The drain runs later, not synchronously
 * ```ts
 * import assert from "node:assert/strict";
 * import { afterIoSchedule } from "./schedule.ts";
 * const afterIo = afterIoSchedule();
 * const { promise, resolve } = Promise.withResolvers<void>();
 * let ran = false;
 * afterIo(() => {
 *   ran = true;
 *   resolve();
 * });
 * assert.equal(ran, false);
 * await promise;
 * assert.equal(ran, true);
 * ```
 */
export function afterIoSchedule(): (drain: () => void) => void {
  const subtle = globalThis.crypto?.subtle;
  /** Inside a drain this scheduler started: a yield asked for now continues a chain. */
  let inChain = false;
  let chainStart = 0;
  const run = (drain: () => void) => {
    inChain = true;
    try {
      drain();
    } finally {
      inChain = false;
    }
  };
  return function afterIo(drain: () => void): void {
    const now = performance.now();
    if (!inChain) chainStart = now;
    if (!subtle || now - chainStart >= _TIMER_EVERY_MS) {
      chainStart = now;
      setTimeout(() => run(drain), 0);
      return;
    }
    subtle.digest("SHA-256", _ONE_BYTE).then(() => run(drain), () => run(drain));
  };
}
