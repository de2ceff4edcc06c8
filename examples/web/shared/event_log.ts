/// <reference lib="dom" />
/**
 * A live log of events and requests: one row per entry, with the time since the log
 * started, a kind and the text; the newest at the bottom, at most `limit` rows.
 *
 * @module
 */

import { h } from "./dom.ts";

/** A log panel. */
export class EventLog {
  /** The panel's element (`<ol class="event-log">`). */
  readonly element: HTMLOListElement;
  readonly #limit: number;
  #start = performance.now();

  /**
   * Creates an empty log.
   *
   * @param limit rows kept (default 500)
   */
  constructor(limit = 500) {
    this.#limit = limit;
    this.element = h("ol", { class: "event-log", "data-role": "event-log" });
  }

  /**
   * Adds a row.
   *
   * @param kind a short tag (`request`, `event`, `response`, `error`…), also its CSS class
   * @param text what happened
   */
  add(kind: string, text: string): void {
    const seconds = ((performance.now() - this.#start) / 1000).toFixed(3);
    this.element.append(
      h(
        "li",
        { class: `entry ${kind}`, "data-kind": kind },
        h("time", {}, seconds),
        h("b", {}, kind),
        h("span", {}, text),
      ),
    );
    while (this.element.childElementCount > this.#limit) this.element.firstElementChild!.remove();
    this.element.scrollTop = this.element.scrollHeight;
  }

  /** The rows' texts, oldest first. */
  get entries(): string[] {
    return [...this.element.querySelectorAll("li > span")].map((s) => s.textContent ?? "");
  }

  /** Empties the log and restarts its clock. */
  clear(): void {
    this.element.replaceChildren();
    this.#start = performance.now();
  }
}
