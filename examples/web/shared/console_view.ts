/// <reference lib="dom" />
/**
 * A console panel: app output as it comes (partial lines included), standard error in its
 * own colour, and the page's own notes (`info`, `error`) between them.
 *
 * @module
 */

import { h } from "./dom.ts";

/** Which stream a piece of text came from. */
export type ConsoleStream = "stdout" | "stderr" | "info" | "error";

/** Bytes of text kept; older output is dropped from the top. */
const _MAX_CHARS = 200_000;

/** A console panel. */
export class ConsoleView {
  /** The panel's element (`<pre class="console">`). */
  readonly element: HTMLPreElement;
  readonly #decoders = new Map<ConsoleStream, TextDecoder>();
  #chars = 0;

  /**
   * Creates an empty console.
   *
   * @param label accessible name of the panel
   */
  constructor(label = "Console") {
    this.element = h("pre", { class: "console", "data-role": "console" });
    this.element.setAttribute("aria-label", label);
    this.element.setAttribute("aria-live", "polite");
  }

  /**
   * Appends text or bytes (UTF-8, decoded across chunk boundaries).
   *
   * @param stream where it came from
   * @param data the text or bytes
   */
  write(stream: ConsoleStream, data: string | Uint8Array): void {
    let text: string;
    if (typeof data === "string") text = data;
    else {
      let decoder = this.#decoders.get(stream);
      if (!decoder) this.#decoders.set(stream, decoder = new TextDecoder());
      text = decoder.decode(data, { stream: true });
    }
    if (text === "") return;
    const last = this.element.lastElementChild as HTMLElement | null;
    if (last && last.dataset.stream === stream) last.textContent += text;
    else this.element.append(h("span", { class: stream, "data-stream": stream }, text));
    this.#chars += text.length;
    while (this.#chars > _MAX_CHARS && this.element.firstElementChild) {
      this.#chars -= this.element.firstElementChild.textContent?.length ?? 0;
      this.element.firstElementChild.remove();
    }
    this.element.scrollTop = this.element.scrollHeight;
  }

  /**
   * Appends a line of the page's own (a status or an error), on a line of its own.
   *
   * @param stream `info` or `error`
   * @param line the text, without a newline
   */
  note(stream: "info" | "error", line: string): void {
    const text = this.element.textContent ?? "";
    this.write(stream, (text === "" || text.endsWith("\n") ? "" : "\n") + line + "\n");
  }

  /** Everything shown, as text. */
  get text(): string {
    return this.element.textContent ?? "";
  }

  /** Empties the console. */
  clear(): void {
    this.element.replaceChildren();
    this.#decoders.clear();
    this.#chars = 0;
  }
}
