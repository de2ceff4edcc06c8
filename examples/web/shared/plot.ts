/// <reference lib="dom" />
/**
 * A small live line chart on a canvas: named series of (time, value) points, the last
 * `window` milliseconds shown, the value axis fitted to what is visible. Enough for a few
 * sensors at a reading a second; no chart library needed.
 *
 * @module
 */

import { h } from "./dom.ts";

const _COLORS = ["#2e86c1", "#d35400", "#27ae60", "#8e44ad", "#c0392b", "#16a085"];

/** A live chart. */
export class LivePlot {
  /** The canvas (`data-role="plot"`). */
  readonly canvas: HTMLCanvasElement;
  readonly #series = new Map<string, { t: number[]; v: number[]; color: string }>();
  readonly #window: number;
  readonly #maxPoints: number;
  #frame = 0;

  /**
   * Creates an empty chart.
   *
   * @param options pixel size, time window in ms (default 30 000), points kept per series
   */
  constructor(
    options: { width?: number; height?: number; window?: number; maxPoints?: number } = {},
  ) {
    this.canvas = h("canvas", {
      class: "plot",
      "data-role": "plot",
      width: options.width ?? 480,
      height: options.height ?? 200,
    });
    this.#window = options.window ?? 30_000;
    this.#maxPoints = options.maxPoints ?? 2000;
  }

  /**
   * Adds a point and redraws on the next animation frame.
   *
   * @param name the series (a sensor and key: `sensor_test1 value`)
   * @param time when, in ms
   * @param value the reading
   */
  add(name: string, time: number, value: number): void {
    let series = this.#series.get(name);
    if (!series) {
      series = { t: [], v: [], color: _COLORS[this.#series.size % _COLORS.length]! };
      this.#series.set(name, series);
    }
    series.t.push(time);
    series.v.push(value);
    if (series.t.length > this.#maxPoints) {
      series.t.shift();
      series.v.shift();
    }
    this.#frame ||= requestAnimationFrame(() => {
      this.#frame = 0;
      this.draw();
    });
  }

  /** Points per series, for tests and tooltips. */
  get counts(): Record<string, number> {
    return Object.fromEntries([...this.#series].map(([name, s]) => [name, s.t.length]));
  }

  /** Drops every series. */
  clear(): void {
    this.#series.clear();
    this.draw();
  }

  /** Draws now. */
  draw(): void {
    const c = this.canvas.getContext("2d")!;
    const { width, height } = this.canvas;
    c.clearRect(0, 0, width, height);
    const left = 44, right = width - 8, top = 8, bottom = height - 20;
    let tMax = -Infinity;
    for (const s of this.#series.values()) tMax = Math.max(tMax, s.t.at(-1) ?? -Infinity);
    if (!Number.isFinite(tMax)) return;
    // The first readings fill the width; later the last `window` ms scroll by.
    let tFirst = Infinity;
    for (const s of this.#series.values()) tFirst = Math.min(tFirst, s.t[0] ?? Infinity);
    const tMin = Math.max(tMax - this.#window, tFirst);
    const span = Math.max(tMax - tMin, 1);
    let vMin = Infinity, vMax = -Infinity;
    for (const s of this.#series.values()) {
      s.t.forEach((t, i) => {
        if (t < tMin) return;
        vMin = Math.min(vMin, s.v[i]!);
        vMax = Math.max(vMax, s.v[i]!);
      });
    }
    if (vMin === vMax) [vMin, vMax] = [vMin - 1, vMax + 1];
    const pad = (vMax - vMin) * 0.05; // lines at the extremes stay off the frame
    [vMin, vMax] = [vMin - pad, vMax + pad];
    const x = (t: number) => left + ((t - tMin) / span) * (right - left);
    const y = (v: number) => bottom - ((v - vMin) / (vMax - vMin)) * (bottom - top);
    c.strokeStyle = "#bbb";
    c.fillStyle = "#555";
    c.font = "11px sans-serif";
    c.strokeRect(left, top, right - left, bottom - top);
    c.fillText(vMax.toPrecision(4), 2, top + 8);
    c.fillText(vMin.toPrecision(4), 2, bottom);
    c.fillText(`last ${(span / 1000).toFixed(span < 10_000 ? 1 : 0)} s`, left, height - 5);
    let legend = right;
    for (const [name, s] of [...this.#series].reverse()) {
      legend -= c.measureText(name).width + 18;
      c.fillStyle = s.color;
      c.fillRect(legend, height - 13, 10, 8);
      c.fillText(name, legend + 13, height - 5);
      c.strokeStyle = s.color;
      c.lineWidth = 1.5;
      c.beginPath();
      let started = false;
      s.t.forEach((t, i) => {
        if (t < tMin) return;
        if (started) c.lineTo(x(t), y(s.v[i]!));
        else c.moveTo(x(t), y(s.v[i]!));
        started = true;
      });
      c.stroke();
    }
  }
}
