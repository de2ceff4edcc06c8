/**
 * The app framework as natives see it: what an installed app can ask of the app manager
 * (resources, requests, responses, events, timers) and how a vendor plugin posts its own
 * events into an app's queue. An app instance running under an app manager carries one in
 * `app.framework`; a plain `Runtime` instance has none.
 *
 * @example A vendor native posting a reading to the calling app's queue
 * ```ts
 * import assert from "node:assert/strict";
 * import type { AppMessage } from "./framework.ts";
 * import { defineNativeLibrary, type NativeContext } from "./mod.ts";
 *
 * function thermoSample(ctx: NativeContext, sensor: number): number {
 *   const framework = ctx.app.framework;
 *   if (!framework) return 0;
 *   const reading = new Uint8Array([21, 5]);
 *   // The app gets on_sensor_event(sensor, ptr, 2) later, from its own queue.
 *   return framework.post({ callback: "on_sensor_event", args: [sensor], payload: reading })
 *     ? 1
 *     : 0;
 * }
 * const thermo = defineNativeLibrary({
 *   name: "thermo",
 *   symbols: (native) => ({ thermo_sample: native("(i)i", thermoSample) }),
 * });
 * export default thermo;
 *
 * // Under an app manager `ctx.app.framework` is the app's; a stand-in here records the post.
 * const posted: AppMessage[] = [];
 * const framework = { post: (message: AppMessage) => posted.push(message) > 0 };
 * assert.equal(thermoSample({ app: { framework } } as unknown as NativeContext, 7), 1);
 * assert.deepEqual(posted, [
 *   { callback: "on_sensor_event", args: [7], payload: new Uint8Array([21, 5]) },
 * ]);
 * ```
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { Request, Response } from "./packet.ts";

export type { Clock, TimerHandle } from "./clock.ts";
export {
  Action,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  ID_APP_MGR,
  ID_HOST,
  ID_NONE,
  type Request,
  type Response,
  Status,
} from "./packet.ts";

/**
 * A message a plugin posts into an app's queue. When its turn comes the manager looks up
 * the callback export (`name`, then `_name`), copies `payload` (if any) into the app heap,
 * calls `callback(...args, ptr, length)` and frees the copy. A trap is reported like any
 * other callback's; the app keeps running.
 */
export interface AppMessage {
  /** The export to call, e.g. `"on_sensor_event"` (`_on_sensor_event` also found). */
  callback: string;
  /** Leading i32 arguments. */
  args?: readonly number[];
  /** Bytes copied into the app heap; pointer and length are appended to the arguments. */
  payload?: Uint8Array;
  /** Shown in log lines (default: the callback name). */
  label?: string;
}

/** What an installed app's natives can ask of the app manager. */
export interface AppFramework {
  /** The app's id (1, 2, ...), used as sender and receiver in packets. */
  readonly id: number;
  /** The app's installed name. */
  readonly name: string;
  /** The manager's clock (for plugins that sample or poll). */
  readonly clock: Clock;

  /**
   * Registers a URL prefix for this app (`wasm_register_resource`): requests whose URL
   * starts with it (WAMR's `check_url_start`) are queued to its `on_request`.
   *
   * @param url the prefix, at most 256 bytes
   * @returns false when the app already has 16, the URL is too long, or anyone registered
   *   exactly this URL before
   */
  registerResource(url: string): boolean;
  /**
   * Subscribes this app to events published with exactly this URL (`wasm_sub_event`).
   *
   * @param url the event URL, e.g. `"alert/overheat"`
   * @returns false for an empty URL
   */
  subscribeEvent(url: string): boolean;
  /**
   * Sends a request (or publishes an event when the action is EVENT) as this app
   * (`wasm_post_request`). The sender is overwritten with this app's id; the payload is
   * copied, so the caller may pass a view of app memory.
   *
   * @param request the decoded request
   */
  postRequest(request: Request): void;
  /**
   * Routes a response (`wasm_response_send`): to the app whose id is the receiver, otherwise
   * to the host. The payload is copied.
   *
   * @param response the decoded response
   * @returns true when it was routed
   */
  sendResponse(response: Response): boolean;
  /**
   * Creates a timer (`wasm_create_timer`).
   *
   * @param interval milliseconds
   * @param periodic re-arm after each expiry
   * @param autoStart arm now
   * @returns the id, or 0xFFFFFFFF when the app's timers are used up
   */
  createTimer(interval: number, periodic: boolean, autoStart: boolean): number;
  /**
   * Stops a timer; it becomes idle (`wasm_timer_cancel`).
   *
   * @param id the timer
   * @returns true when it was active
   */
  cancelTimer(id: number): boolean;
  /**
   * Re-arms a timer (`wasm_timer_restart`).
   *
   * @param id the timer
   * @param interval the new interval, used only when > 0
   * @returns false when there is no such timer
   */
  restartTimer(id: number, interval: number): boolean;
  /**
   * Frees a timer (`wasm_timer_destroy`).
   *
   * @param id the timer
   * @returns false when there is no such timer
   */
  destroyTimer(id: number): boolean;
  /**
   * Milliseconds of the manager's clock, wrapped to u32 (`wasm_get_sys_tick_ms`).
   *
   * @returns the tick count
   */
  tickMs(): number;
  /**
   * Queues a plugin message for this app (see {@linkcode AppMessage}).
   *
   * @param message callback, arguments and payload
   * @returns false when the queue is full or the app is not running (the reason is logged)
   */
  post(message: AppMessage): boolean;
  /**
   * Writes a line to the manager's console and its "log" event, after the app's pending
   * output.
   *
   * @param message the line without its newline
   */
  log(message: string): void;
}
