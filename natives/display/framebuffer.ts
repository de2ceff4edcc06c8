/**
 * The display's frame buffer: 32-bit ARGB8888 pixels (`0xAARRGGBB`, LVGL's `lv_color_t` with
 * LV_COLOR_DEPTH 32), stored little-endian like the app's own colors so rows copy byte for byte.
 *
 * @module
 */

/** A clipped, non-empty rectangle with inclusive corners. */
export interface Rect {
  /** Left column. */
  readonly x1: number;
  /** Top row. */
  readonly y1: number;
  /** Right column (inclusive). */
  readonly x2: number;
  /** Bottom row (inclusive). */
  readonly y2: number;
}

/**
 * Checks a screen size: both sides integers from 1 to 4096.
 *
 * @param width width in pixels
 * @param height height in pixels
 * @throws {RangeError} naming the side that is out of range
 */
export function checkScreenSize(width: number, height: number): void {
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 4096) {
      throw new RangeError(`Display ${name} must be an integer from 1 to 4096, got ${value}`);
    }
  }
}

/**
 * A width × height frame buffer of ARGB8888 pixels.
 *
 * @example Fill a rectangle and read a pixel back
 * ```ts
 * import assert from "node:assert/strict";
 * import { Framebuffer } from "./framebuffer.ts";
 * const fb = new Framebuffer(4, 3);
 * fb.fill(1, 1, 2, 1, 0xff00ff00);
 * assert.equal(fb.pixel(2, 1), 0xff00ff00);
 * assert.equal(fb.pixel(0, 0), 0x44444444); // untouched: the power-on 0x44 bytes
 * ```
 */
export class Framebuffer {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The pixels, row-major, `0xAARRGGBB`. */
  readonly pixels: Uint32Array<ArrayBuffer>;
  /** The same memory as bytes (B, G, R, A per pixel). */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Bumped on every change, so views can tell whether to redraw. */
  version = 0;

  /**
   * Creates a screen filled with one byte.
   *
   * @param width width in pixels (1–4096)
   * @param height height in pixels (1–4096)
   * @param fillByte the byte every pixel starts with (the SDL simulator's 0x44)
   */
  constructor(width: number, height: number, fillByte = 0x44) {
    checkScreenSize(width, height);
    this.width = width;
    this.height = height;
    this.pixels = new Uint32Array(width * height);
    this.bytes = new Uint8Array(this.pixels.buffer);
    this.bytes.fill(fillByte);
  }

  /**
   * The pixel at (x, y).
   *
   * @param x column
   * @param y row
   * @returns `0xAARRGGBB` as an unsigned number, or undefined off screen
   */
  pixel(x: number, y: number): number | undefined {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return undefined;
    return this.pixels[y * this.width + x];
  }

  /**
   * Clips a rectangle with inclusive corners to the screen.
   *
   * @param x1 left
   * @param y1 top
   * @param x2 right (inclusive); below x1 means empty
   * @param y2 bottom (inclusive); below y1 means empty
   * @returns the visible part, or undefined when nothing is visible
   */
  clip(x1: number, y1: number, x2: number, y2: number): Rect | undefined {
    const cx1 = Math.max(x1, 0);
    const cy1 = Math.max(y1, 0);
    const cx2 = Math.min(x2, this.width - 1);
    const cy2 = Math.min(y2, this.height - 1);
    if (cx2 < cx1 || cy2 < cy1) return undefined;
    return { x1: cx1, y1: cy1, x2: cx2, y2: cy2 };
  }

  /**
   * Fills the visible part of a rectangle with one color.
   *
   * @param x1 left
   * @param y1 top
   * @param x2 right (inclusive)
   * @param y2 bottom (inclusive)
   * @param color `0xAARRGGBB`
   */
  fill(x1: number, y1: number, x2: number, y2: number, color: number): void {
    const r = this.clip(x1, y1, x2, y2);
    if (!r) return;
    for (let y = r.y1; y <= r.y2; y++) {
      const row = y * this.width;
      this.pixels.fill(color >>> 0, row + r.x1, row + r.x2 + 1);
    }
    this.version++;
  }

  /**
   * Copies the visible part of a source image covering the rectangle (x1, y1)–(x2, y2).
   * The source holds (x2 − x1 + 1) × (y2 − y1 + 1) pixels as bytes, row-major; rows and
   * columns that fall off screen are skipped, not squeezed.
   *
   * @param x1 left
   * @param y1 top
   * @param x2 right (inclusive)
   * @param y2 bottom (inclusive)
   * @param source at least 4 × w × h bytes (B, G, R, A per pixel)
   * @throws {RangeError} when the source is shorter than the rectangle
   */
  blit(x1: number, y1: number, x2: number, y2: number, source: Uint8Array): void {
    const w = x2 - x1 + 1;
    const h = y2 - y1 + 1;
    if (w <= 0 || h <= 0) return;
    if (source.length < w * h * 4) {
      throw new RangeError(`Source of ${source.length} bytes is shorter than ${w}×${h} pixels`);
    }
    const r = this.clip(x1, y1, x2, y2);
    if (!r) return;
    const rowBytes = (r.x2 - r.x1 + 1) * 4;
    for (let y = r.y1; y <= r.y2; y++) {
      const from = ((y - y1) * w + (r.x1 - x1)) * 4;
      this.bytes.set(source.subarray(from, from + rowBytes), (y * this.width + r.x1) * 4);
    }
    this.version++;
  }

  /**
   * A copy of the pixels, e.g. to compare frames.
   *
   * @returns a new array
   */
  snapshot(): Uint32Array<ArrayBuffer> {
    return this.pixels.slice();
  }
}
