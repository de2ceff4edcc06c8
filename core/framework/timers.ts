/**
 * Per-app timers with the semantics of WAMR's `runtime_timer.c`: a fixed number of timers
 * per app, ids counting up from 1, periodic timers re-armed after each expiry, one-shot
 * timers going idle. Expiry only reports the id; the app manager turns it into a queued
 * `on_timer_callback(id)`.
 *
 * @module
 */

import { type Clock, realClock, type TimerHandle } from "../../sdk/clock.ts";

/** What `create` returns when the app has no timer left (WAMR's `(uint32)-1`). */
export const TIMER_ID_INVALID = 0xffffffff;
/** Timers per app unless the install says otherwise (`DEFAULT_TIMERS_PER_APP`). */
export const DEFAULT_TIMERS_PER_APP = 20;
/** The most timers an app may ask for (`MAX_TIMERS_PER_APP`). */
export const MAX_TIMERS_PER_APP = 30;

/** A timer's state, as {@linkcode AppTimers.get} reports it. */
export interface TimerInfo {
  /** The id the app holds. */
  readonly id: number;
  /** Milliseconds between arming and expiry. */
  readonly interval: number;
  /** Re-armed after each expiry. */
  readonly periodic: boolean;
  /** Armed (true) or idle (false). */
  readonly active: boolean;
  /** When it expires next (clock time), or undefined when idle. */
  readonly expiry: number | undefined;
}

interface _Timer {
  id: number;
  interval: number;
  periodic: boolean;
  /** Armed: it expires at `expiry`. */
  active: boolean;
  /** Meaningless while idle; always a number, so storing one allocates nothing. */
  expiry: number;
  /**
   * The clock's timer, which may outlive a cancel or a restart (see `#arm`), or undefined.
   * It fires at `handleAt`, never after `expiry` while the timer is active.
   */
  handle: TimerHandle | undefined;
  handleAt: number;
  /** What the clock calls: made once, as apps re-arm a timer per request they send. */
  fire: () => void;
}

/**
 * One app's timer table.
 *
 * @example A periodic timer under a manual clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock } from "../../sdk/clock.ts";
 * import { AppTimers } from "./timers.ts";
 * const clock = new ManualClock();
 * const fired: number[] = [];
 * const timers = new AppTimers(clock, (id) => fired.push(id));
 * const id = timers.create(1000, true, true);
 * clock.advance(3000);
 * assert.equal(id, 1);
 * assert.deepEqual(fired, [1, 1, 1]);
 * timers.destroyAll();
 * ```
 */
export class AppTimers {
  /** How many timers the app may hold at once. */
  readonly limit: number;
  readonly #clock: Clock;
  readonly #onExpire: (id: number) => void;
  /** Made with the first timer: most apps have none (an idle app's memory counts). */
  #timers: Map<number, _Timer> = _NO_TIMERS;
  #lastId = 0;

  /**
   * Creates an empty table.
   *
   * @param clock where time and timers come from
   * @param onExpire called with the id each time a timer expires
   * @param limit timers the app may hold (default 20, clamped to 0..30)
   */
  constructor(clock: Clock, onExpire: (id: number) => void, limit = DEFAULT_TIMERS_PER_APP) {
    this.#clock = clock;
    this.#onExpire = onExpire;
    this.limit = Math.max(0, Math.min(MAX_TIMERS_PER_APP, Math.trunc(limit) || 0));
  }

  /** Number of timers the app holds (active or idle). */
  get size(): number {
    return this.#timers.size;
  }

  /**
   * Creates a timer (`wasm_create_timer`).
   *
   * @param interval milliseconds (negative counts as 0)
   * @param periodic re-arm after each expiry
   * @param autoStart arm now; otherwise it starts idle until `restart`
   * @returns the new id (>= 1), or {@linkcode TIMER_ID_INVALID} when the limit is reached
   */
  create(interval: number, periodic: boolean, autoStart: boolean): number {
    if (this.#timers.size >= this.limit) return TIMER_ID_INVALID;
    // Ids wrap like WAMR's u32 counter (which then hands out 0); skip any still held.
    let id = this.#lastId;
    do id = _nextId(id); while (this.#timers.has(id));
    this.#lastId = id;
    const timer: _Timer = {
      id,
      interval: _ms(interval),
      periodic,
      active: false,
      expiry: 0,
      handle: undefined,
      handleAt: 0,
      fire: () => this.#expire(timer),
    };
    if (this.#timers === _NO_TIMERS) this.#timers = new Map();
    this.#timers.set(id, timer);
    if (autoStart) this.#arm(timer);
    return id;
  }

  /**
   * Stops a timer; it stays allocated, idle (`wasm_timer_cancel`).
   *
   * @param id the timer
   * @returns true when it was active (WAMR's `sys_timer_cancel`)
   */
  cancel(id: number): boolean {
    const timer = this.#timers.get(id >>> 0);
    if (!timer) return false;
    const wasActive = timer.active;
    this.#disarm(timer);
    return wasActive;
  }

  /**
   * Re-arms a timer from now (`wasm_timer_restart`).
   *
   * @param id the timer
   * @param interval the new interval, used only when > 0
   * @returns false when there is no such timer
   */
  restart(id: number, interval: number): boolean {
    const timer = this.#timers.get(id >>> 0);
    if (!timer) return false;
    this.#disarm(timer);
    if (interval > 0) timer.interval = _ms(interval);
    this.#arm(timer);
    return true;
  }

  /**
   * Frees a timer (`wasm_timer_destroy`); its slot can be reused.
   *
   * @param id the timer
   * @returns false when there is no such timer
   */
  destroy(id: number): boolean {
    const timer = this.#timers.get(id >>> 0);
    if (!timer) return false;
    this.#clear(timer);
    this.#timers.delete(timer.id);
    return true;
  }

  /** Frees every timer (uninstall). */
  destroyAll(): void {
    for (const timer of this.#timers.values()) this.#clear(timer);
    this.#timers.clear();
  }

  /**
   * A timer's state.
   *
   * @param id the timer
   * @returns its state, or undefined when there is no such timer
   */
  get(id: number): TimerInfo | undefined {
    const t = this.#timers.get(id >>> 0);
    if (!t) return undefined;
    return {
      id: t.id,
      interval: t.interval,
      periodic: t.periodic,
      active: t.active,
      expiry: t.active ? t.expiry : undefined,
    };
  }

  /** Every timer's state, by id. */
  list(): TimerInfo[] {
    return [...this.#timers.keys()].sort((a, b) => a - b).map((id) => this.get(id)!);
  }

  // Apps re-arm and cancel a timer per request (the C SDK's request timeout), and a clock
  // timer costs ~1.4 KB of JS heap to set and clear. So a cancelled timer's clock timer is
  // left to fire (unreferenced, so it keeps no process alive) and a restart takes it over
  // when it fires no later than the new expiry; when it fires early it is set again for
  // what is left. A clock timer is set at most once per interval.
  #arm(timer: _Timer): void {
    // A periodic timer of 0 ms would fire forever within one instant: 1 ms is its floor.
    const delay = timer.periodic ? Math.max(1, timer.interval) : timer.interval;
    const expiry = this.#clock.now() + delay;
    timer.active = true;
    timer.expiry = expiry;
    if (timer.handle !== undefined) {
      if (timer.handleAt <= expiry) {
        this.#ref(timer.handle, true);
        return;
      }
      this.#clock.clearTimer(timer.handle);
    }
    timer.handle = this.#clock.setTimer(delay, timer.fire);
    timer.handleAt = expiry;
  }

  /** Idle; its clock timer stays, to be taken over by the next restart. */
  #disarm(timer: _Timer): void {
    timer.active = false;
    if (timer.handle !== undefined) this.#ref(timer.handle, false);
  }

  /** Idle, and its clock timer cleared. */
  #clear(timer: _Timer): void {
    this.#disarm(timer);
    if (timer.handle !== undefined) this.#clock.clearTimer(timer.handle);
    timer.handle = undefined;
  }

  /** Lets a real clock timer keep the process alive, or not. */
  #ref(handle: TimerHandle, ref: boolean): void {
    if (this.#clock !== realClock || _deno === undefined) return;
    if (ref) _deno.refTimer?.(handle as number);
    else _deno.unrefTimer?.(handle as number);
  }

  #expire(timer: _Timer): void {
    timer.handle = undefined;
    if (!timer.active) return;
    const expiry = timer.expiry;
    if (expiry > timer.handleAt) {
      // Restarted since its clock timer was set: wait for the rest.
      timer.handle = this.#clock.setTimer(expiry - this.#clock.now(), timer.fire);
      timer.handleAt = expiry;
      return;
    }
    timer.active = false;
    // WAMR posts the expiry first and re-arms after, from the time it handles the expiry.
    if (timer.periodic) this.#arm(timer);
    this.#onExpire(timer.id);
  }
}

/** The table of every app without timers; nothing is ever added to it. */
const _NO_TIMERS: Map<number, _Timer> = new Map();

/** Deno's timer references, where there are (not in a browser). */
const _deno = (globalThis as {
  Deno?: { refTimer?(id: number): void; unrefTimer?(id: number): void };
}).Deno;

function _ms(interval: number): number {
  return Math.max(0, Math.trunc(interval) || 0);
}

function _nextId(id: number): number {
  const next = (id + 1) >>> 0;
  return next === TIMER_ID_INVALID ? 0 : next;
}
