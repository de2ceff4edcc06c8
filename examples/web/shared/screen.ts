/// <reference lib="dom" />
/**
 * A display plugin's screen on a `<canvas>`: the frame buffer (ARGB8888, one `u32` a pixel)
 * drawn at the app's resolution, one canvas pixel per screen pixel (CSS may scale it,
 * pixelated), and the mouse turned into pointer actions in screen coordinates.
 *
 * @module
 */

import { h } from "./dom.ts";

/** What a screen draws: the display plugin's `Framebuffer` fits. */
export interface PixelSource {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixels, row by row, each `0xAARRGGBB`. */
  readonly pixels: Uint32Array;
}

/** A pointer state in screen coordinates, as the display plugin's input reads it. */
export interface PointerState {
  /** Column, 0 at the left. */
  x: number;
  /** Row, 0 at the top. */
  y: number;
  /** Whether the button is down. */
  pressed: boolean;
}

/** A canvas showing an app's screen. */
export class CanvasScreen {
  /** The canvas (`data-role="screen"`). */
  readonly canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  #image: ImageData | undefined;
  #pressed = false;
  #listener: ((state: PointerState) => void) | undefined;

  /** Creates a blank canvas; its size follows the first frame drawn. */
  constructor() {
    this.canvas = h("canvas", { class: "screen", "data-role": "screen", width: 320, height: 240 });
    this.#context = this.canvas.getContext("2d", { willReadFrequently: true })!;
    this.canvas.addEventListener("pointerdown", (event) => {
      this.#pressed = true;
      this.canvas.setPointerCapture(event.pointerId);
      this.#report(event);
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (this.#pressed) this.#report(event);
    });
    const release = (event: PointerEvent) => {
      if (!this.#pressed) return;
      this.#pressed = false;
      this.#report(event);
    };
    this.canvas.addEventListener("pointerup", release);
    this.canvas.addEventListener("pointercancel", release);
  }

  /**
   * Calls `listener` with each pointer change over the canvas: press, drag, release.
   *
   * @param listener receives the state in screen pixels (clamped to the screen)
   */
  onPointer(listener: ((state: PointerState) => void) | undefined): void {
    this.#listener = listener;
  }

  /**
   * Draws a frame; the canvas takes the frame's size.
   *
   * @param frame the pixels
   */
  draw(frame: PixelSource): void {
    const { width, height, pixels } = frame;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    if (this.#image?.width !== width || this.#image.height !== height) {
      this.#image = this.#context.createImageData(width, height);
    }
    const rgba = this.#image.data;
    for (let i = 0, o = 0; i < pixels.length; i++, o += 4) {
      const p = pixels[i]!;
      rgba[o] = (p >>> 16) & 0xff;
      rgba[o + 1] = (p >>> 8) & 0xff;
      rgba[o + 2] = p & 0xff;
      rgba[o + 3] = p >>> 24;
    }
    this.#context.putImageData(this.#image, 0, 0);
  }

  /**
   * Shows RGBA pixels: the display plugin's screen sink (`createDisplayLibrary({ screen })`).
   *
   * @param rgba width × height pixels, 4 bytes each
   * @param width in pixels
   * @param height in pixels
   */
  present(rgba: Uint8ClampedArray, width: number, height: number): void {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.#context.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  }

  /**
   * The canvas's pixels as RGBA bytes, row by row (what a PNG of the screen decodes to).
   *
   * @returns the bytes
   */
  rgba(): Uint8ClampedArray {
    return this.#context.getImageData(0, 0, this.canvas.width, this.canvas.height).data;
  }

  /** Clears the canvas to the page's background. */
  clear(): void {
    this.#context.clearRect(0, 0, this.canvas.width, this.canvas.height);
  }

  #report(event: PointerEvent): void {
    const box = this.canvas.getBoundingClientRect();
    const x = Math.floor(((event.clientX - box.left) / box.width) * this.canvas.width);
    const y = Math.floor(((event.clientY - box.top) / box.height) * this.canvas.height);
    this.#listener?.({
      x: Math.min(Math.max(x, 0), this.canvas.width - 1),
      y: Math.min(Math.max(y, 0), this.canvas.height - 1),
      pressed: this.#pressed,
    });
  }
}
