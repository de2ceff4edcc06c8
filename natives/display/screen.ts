/**
 * A display's frames on a screen that takes RGBA pixels: a page's `<canvas>` (through
 * `ImageData`), a test's buffer, a window. The view presents the frame buffer once the code
 * that changed it is done (in a microtask), so an app that flushes many rectangles per tick
 * shows one frame per tick, and a page reads the same pixels the PNG snapshot holds.
 *
 * @module
 */

import type { PixelSource } from "./png.ts";

/** Where a {@linkcode ScreenView} presents frames. */
export interface ScreenSink {
  /**
   * Shows a frame.
   *
   * @param rgba width × height pixels, row-major, 4 bytes each (R, G, B, A), opaque unless
   *   the view keeps alpha; valid only during the call (the view reuses it)
   * @param width the frame's width in pixels
   * @param height the frame's height in pixels
   */
  present(rgba: Uint8ClampedArray, width: number, height: number): void;
}

/**
 * Converts `0xAARRGGBB` pixels to RGBA bytes, the layout of a canvas's `ImageData`.
 *
 * @param source the pixels
 * @param into where to write (width × height × 4 bytes); a new array when absent
 * @param keepAlpha keep each pixel's alpha (default false: opaque, as the PNG snapshot)
 * @returns the RGBA bytes
 *
 * @example One red pixel
 * ```ts
 * import assert from "node:assert/strict";
 * import { toRgba } from "./screen.ts";
 * const rgba = toRgba({ width: 1, height: 1, pixels: new Uint32Array([0x44ff0000]) });
 * assert.deepEqual([...rgba], [255, 0, 0, 255]);
 * ```
 */
export function toRgba(
  source: PixelSource,
  into: Uint8ClampedArray = new Uint8ClampedArray(source.width * source.height * 4),
  keepAlpha = false,
): Uint8ClampedArray {
  const { pixels } = source;
  const n = source.width * source.height;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const p = pixels[i]!;
    into[o] = (p >>> 16) & 0xff;
    into[o + 1] = (p >>> 8) & 0xff;
    into[o + 2] = p & 0xff;
    into[o + 3] = keepAlpha ? p >>> 24 : 255;
  }
  return into;
}

/**
 * Presents a frame buffer on a {@linkcode ScreenSink} after it changes: once per burst of
 * changes, in a microtask, or at once with {@linkcode ScreenView.present}.
 *
 * @example A change is presented once the drawing code is done
 * ```ts
 * import assert from "node:assert/strict";
 * import { Framebuffer } from "./framebuffer.ts";
 * import { ScreenView } from "./screen.ts";
 * const fb = new Framebuffer(2, 1);
 * const frames: number[][] = [];
 * const view = new ScreenView(fb, { present: (rgba) => frames.push([...rgba]) });
 * fb.fill(0, 0, 0, 0, 0xff0000ff);
 * view.invalidate();
 * fb.fill(1, 0, 1, 0, 0xff00ff00);
 * view.invalidate();
 * assert.equal(frames.length, 0);
 * await Promise.resolve();
 * assert.deepEqual(frames, [[0, 0, 255, 255, 0, 255, 0, 255]]);
 * ```
 */
export class ScreenView {
  readonly #source: PixelSource & { readonly version: number };
  readonly #sink: ScreenSink;
  readonly #keepAlpha: boolean;
  readonly #rgba: Uint8ClampedArray;
  #presented = -1;
  #queued = false;
  #closed = false;

  /**
   * Creates a view; the first frame is presented at the first change (or `present`).
   *
   * @param source the frame buffer (its `version` tells whether it changed)
   * @param sink where frames go
   * @param keepAlpha pass each pixel's alpha on (default false: opaque)
   */
  constructor(
    source: PixelSource & { readonly version: number },
    sink: ScreenSink,
    keepAlpha = false,
  ) {
    this.#source = source;
    this.#sink = sink;
    this.#keepAlpha = keepAlpha;
    this.#rgba = new Uint8ClampedArray(source.width * source.height * 4);
  }

  /** Notes a change: the frame is presented when the running code is done. */
  invalidate(): void {
    if (this.#queued || this.#closed) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (!this.#closed && this.#source.version !== this.#presented) this.present();
    });
  }

  /** Presents the current frame now. */
  present(): void {
    this.#presented = this.#source.version;
    toRgba(this.#source, this.#rgba, this.#keepAlpha);
    this.#sink.present(this.#rgba, this.#source.width, this.#source.height);
  }

  /** Presents the last frame if it was not, and stops. */
  close(): void {
    if (this.#closed) return;
    if (this.#source.version !== this.#presented) this.present();
    this.#closed = true;
  }
}
