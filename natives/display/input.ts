/**
 * Scripted pointer input for `display_input_read`: a timeline of touch/pointer states that
 * the app reads in order, so a run with the same script and clock is the same every time.
 *
 * Script files are JSON arrays: `[{ "at": 300, "x": 160, "y": 125, "pressed": true }, …]`,
 * `at` in milliseconds of app time.
 *
 * @module
 */

import { platform } from "../../sdk/platform.ts";

/** One pointer state change. */
export interface PointerAction {
  /** When it happens, in milliseconds of app time. */
  readonly at: number;
  /** Column. */
  readonly x: number;
  /** Row. */
  readonly y: number;
  /** Whether the pointer is down (touching). */
  readonly pressed: boolean;
}

/** What one read returns: the pointer state and whether more due events are queued. */
export interface PointerReading {
  /** Column of the last delivered event. */
  readonly x: number;
  /** Row of the last delivered event. */
  readonly y: number;
  /** Whether the pointer is down. */
  readonly pressed: boolean;
  /** True when another event is already due (LVGL's "more data to read"). */
  readonly more: boolean;
}

/**
 * A queue of pointer actions consumed in time order. Each read delivers the next due action,
 * so a press and release that fall between two reads are both seen; with nothing due, the
 * last state repeats.
 *
 * @example Two events due at once are read one after the other
 * ```ts
 * import assert from "node:assert/strict";
 * import { PointerInput } from "./input.ts";
 * const input = new PointerInput([
 *   { at: 10, x: 5, y: 6, pressed: true },
 *   { at: 20, x: 5, y: 6, pressed: false },
 * ]);
 * assert.deepEqual(input.read(5), { x: 0, y: 0, pressed: false, more: false });
 * assert.deepEqual(input.read(25), { x: 5, y: 6, pressed: true, more: true });
 * assert.deepEqual(input.read(25), { x: 5, y: 6, pressed: false, more: false });
 * ```
 */
export class PointerInput {
  readonly #events: PointerAction[] = [];
  #next = 0;
  #current: PointerAction = { at: 0, x: 0, y: 0, pressed: false };

  /**
   * Creates a pointer with a script.
   *
   * @param events initial script, in any order
   */
  constructor(events: readonly PointerAction[] = []) {
    this.push(...events);
  }

  /**
   * Queues actions. An action whose time has already been read past is delivered next.
   *
   * @param events the actions
   */
  push(...events: PointerAction[]): void {
    for (const event of events) {
      _validate(event, "Pointer action");
      let i = this.#events.length;
      while (i > this.#next && this.#events[i - 1]!.at > event.at) i--;
      this.#events.splice(i, 0, { ...event });
    }
  }

  /** How many queued actions have not been read. */
  get pending(): number {
    return this.#events.length - this.#next;
  }

  /**
   * Reads the pointer at a time: the next due action, else the last state.
   *
   * @param now milliseconds of app time
   * @returns position, pressed, and whether more actions are due
   */
  read(now: number): PointerReading {
    const next = this.#events[this.#next];
    if (next !== undefined && next.at <= now) {
      this.#current = next;
      this.#next++;
    }
    const after = this.#events[this.#next];
    const { x, y, pressed } = this.#current;
    return { x, y, pressed, more: after !== undefined && after.at <= now };
  }
}

function _validate(event: unknown, where: string): asserts event is PointerAction {
  if (typeof event !== "object" || event === null) {
    throw new TypeError(`${where} must be an object, got ${JSON.stringify(event)}`);
  }
  const e = event as Record<string, unknown>;
  for (const key of ["at", "x", "y"]) {
    if (typeof e[key] !== "number" || !Number.isFinite(e[key])) {
      throw new TypeError(`${where} needs a number "${key}", got ${JSON.stringify(event)}`);
    }
  }
  if (typeof e.pressed !== "boolean") {
    throw new TypeError(`${where} needs a boolean "pressed", got ${JSON.stringify(event)}`);
  }
}

/**
 * Parses an input script.
 *
 * @param text JSON: an array of `{ at, x, y, pressed }`
 * @param source name used in error messages
 * @returns the actions
 * @throws {SyntaxError} for bad JSON
 * @throws {TypeError} for a badly shaped action
 */
export function parseInputScript(text: string, source = "input script"): PointerAction[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw new TypeError(`Input script "${source}" is not a JSON array`);
  return value.map((event, i) => {
    _validate(event, `Input script "${source}" entry ${i}`);
    return { at: event.at, x: event.x, y: event.y, pressed: event.pressed };
  });
}

/**
 * Reads and parses an input script file.
 *
 * @param path the JSON file
 * @returns the actions
 */
export async function loadInputScript(path: string | URL): Promise<PointerAction[]> {
  const text = new TextDecoder().decode(await platform().readFile(path));
  return parseInputScript(text, String(path));
}
