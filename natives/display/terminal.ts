/**
 * A live view of the frame buffer in a terminal: each character cell shows two pixels as an
 * upper half block ("▀") with a 24-bit foreground (top) and background (bottom) color,
 * downscaled to fit. Used only when stdout is a terminal.
 *
 * @module
 */

import { platform } from "../../sdk/platform.ts";
import type { PixelSource } from "./png.ts";

const _ESC = "\x1b[";

/**
 * Renders pixels as ANSI half-block text that fits `columns` × `rows` cells, starting with a
 * cursor-home sequence so successive frames overwrite each other.
 *
 * @param source the pixels
 * @param columns cells across (at least 1)
 * @param rows cell rows (each shows two pixel rows)
 * @returns the text to write
 *
 * @example A 2×2 image fits one row of two cells
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderHalfBlocks } from "./terminal.ts";
 * const text = renderHalfBlocks(
 *   { width: 2, height: 2, pixels: Uint32Array.of(0xffff0000, 0xff00ff00, 0xff0000ff, 0) },
 *   80,
 *   24,
 * );
 * // Home, then one row of two cells: the top pixel as foreground, the bottom one as background.
 * assert.equal(
 *   text,
 *   "\x1b[H" + "\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m▀" + "\x1b[38;2;0;255;0m\x1b[48;2;0;0;0m▀" +
 *     "\x1b[0m\n",
 * );
 * ```
 */
export function renderHalfBlocks(source: PixelSource, columns: number, rows: number): string {
  const { width, height, pixels } = source;
  const scale = Math.max(width / Math.max(columns, 1), height / Math.max(rows * 2, 1), 1);
  const outW = Math.max(1, Math.floor(width / scale));
  const outH = Math.max(1, Math.floor(height / scale));
  const sample = (ox: number, oy: number): number => {
    const x = Math.min(width - 1, Math.floor((ox + 0.5) * scale));
    const y = Math.min(height - 1, Math.floor((oy + 0.5) * scale));
    return pixels[y * width + x]! & 0xffffff;
  };
  const rgb = (c: number): string => `${(c >>> 16) & 0xff};${(c >>> 8) & 0xff};${c & 0xff}`;
  const lines: string[] = [];
  for (let oy = 0; oy < outH; oy += 2) {
    let line = "";
    let fg = -1;
    let bg = -1;
    for (let ox = 0; ox < outW; ox++) {
      const top = sample(ox, oy);
      const bottom = oy + 1 < outH ? sample(ox, oy + 1) : 0;
      if (top !== fg) line += `${_ESC}38;2;${rgb(top)}m`;
      if (bottom !== bg) line += `${_ESC}48;2;${rgb(bottom)}m`;
      fg = top;
      bg = bottom;
      line += "▀";
    }
    lines.push(line + `${_ESC}0m`);
  }
  return `${_ESC}H` + lines.join("\n") + "\n";
}

/** Where a terminal view writes, and how big the terminal is. */
export interface TerminalSink {
  /** Writes bytes synchronously (e.g. `Deno.stdout`). */
  writeSync(data: Uint8Array): number;
  /** The terminal size in cells (e.g. `Deno.consoleSize`). */
  size(): { columns: number; rows: number };
}

/**
 * Redraws a frame buffer in a terminal at most every `interval` ms after it changes.
 * Timers are unref'd, so a view never keeps the process alive.
 */
export class TerminalView {
  readonly #source: PixelSource & { readonly version: number };
  readonly #sink: TerminalSink;
  readonly #interval: number;
  #drawn: number;
  #lastDraw = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cleared = false;

  /**
   * Creates a view; nothing is drawn until the frame buffer changes.
   *
   * @param source the frame buffer (its `version` tells whether it changed)
   * @param sink where to write
   * @param interval minimum milliseconds between frames (default 50)
   */
  constructor(
    source: PixelSource & { readonly version: number },
    sink: TerminalSink,
    interval = 50,
  ) {
    this.#source = source;
    this.#sink = sink;
    this.#interval = interval;
    // The initial fill is not worth a frame; the first drawing is.
    this.#drawn = source.version;
  }

  /** Notes a change: draws now, or schedules a draw when one was just made. */
  invalidate(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#lastDraw + this.#interval - performance.now();
    if (wait <= 0) {
      this.draw();
      return;
    }
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.draw();
    }, wait);
    platform().unrefTimer(timer);
    this.#timer = timer;
  }

  /** Draws the current frame if it changed since the last one. */
  draw(): void {
    if (this.#source.version === this.#drawn) return;
    this.#drawn = this.#source.version;
    this.#lastDraw = performance.now();
    const { columns, rows } = this.#sink.size();
    const prefix = this.#cleared ? "" : `${_ESC}2J`;
    this.#cleared = true;
    const text = prefix + renderHalfBlocks(this.#source, columns, Math.max(rows - 1, 1));
    this.#sink.writeSync(new TextEncoder().encode(text));
  }

  /** Draws the last frame and stops. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.draw();
  }
}
