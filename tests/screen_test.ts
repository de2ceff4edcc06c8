import assert from "node:assert/strict";
import { Runtime } from "../core/instance/runtime.ts";
import { Framebuffer } from "../natives/display/framebuffer.ts";
import { createDisplayLibrary, getFramebuffer } from "../natives/display/mod.ts";
import { type ScreenSink, ScreenView, toRgba } from "../natives/display/screen.ts";

const GUI = new URL("../examples/gui/gui.wasm", import.meta.url);

interface Frame {
  rgba: number[];
  width: number;
  height: number;
}

function recorder(): ScreenSink & { frames: Frame[] } {
  const frames: Frame[] = [];
  return {
    frames,
    present: (rgba, width, height) => void frames.push({ rgba: [...rgba], width, height }),
  };
}

async function sha256(bytes: ArrayLike<number>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", Uint8Array.from(bytes));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("screen: toRgba turns 0xAARRGGBB into opaque R, G, B, A bytes, alpha kept on request", () => {
  const source = { width: 2, height: 1, pixels: new Uint32Array([0x80112233, 0x00abcdef]) };
  assert.deepEqual([...toRgba(source)], [0x11, 0x22, 0x33, 255, 0xab, 0xcd, 0xef, 255]);
  const out = new Uint8ClampedArray(8);
  assert.equal(toRgba(source, out, true), out);
  assert.deepEqual([...out], [0x11, 0x22, 0x33, 0x80, 0xab, 0xcd, 0xef, 0]);
});

Deno.test("screen: a burst of changes is one frame, presented after the drawing code", async () => {
  const fb = new Framebuffer(3, 2, 0);
  const screen = recorder();
  const view = new ScreenView(fb, screen);
  for (let x = 0; x < 3; x++) {
    fb.fill(x, 0, x, 1, 0xff000000 | (x * 0x10));
    view.invalidate();
  }
  assert.equal(screen.frames.length, 0);
  await Promise.resolve();
  assert.equal(screen.frames.length, 1);
  assert.deepEqual([screen.frames[0]!.width, screen.frames[0]!.height], [3, 2]);
  assert.deepEqual(screen.frames[0]!.rgba.slice(0, 12), [
    0,
    0,
    0,
    255,
    0,
    0,
    16,
    255,
    0,
    0,
    32,
    255,
  ]);
  // Nothing changed: nothing presented.
  view.invalidate();
  await Promise.resolve();
  assert.equal(screen.frames.length, 1);
  // A change then close: the last frame is presented at once, and nothing after.
  fb.fill(0, 0, 0, 0, 0xffffffff);
  view.invalidate();
  view.close();
  assert.equal(screen.frames.length, 2);
  assert.deepEqual(screen.frames[1]!.rgba.slice(0, 4), [255, 255, 255, 255]);
  await Promise.resolve();
  fb.fill(0, 0, 0, 0, 0xff000000);
  view.invalidate();
  await Promise.resolve();
  assert.equal(screen.frames.length, 2);
});

Deno.test("screen: the GUI example's button pressed by a live pointer shows on the screen", async () => {
  let now = 0;
  const screen = recorder();
  const display = createDisplayLibrary({ clock: () => now, terminal: false, screen });
  const runtime = new Runtime({ plugins: [display], stdout: () => {} });
  const app = await runtime.instantiate(await runtime.load(GUI));
  try {
    const state = display.state(app)!;
    assert.ok(state.screen instanceof ScreenView);
    app.call("gui_init");
    const face = () => getFramebuffer(app, display)!.pixel(100, 100);
    for (; now <= 300; now += 10) app.call("gui_tick", now);
    const up = face();
    state.pointer(160.4, 124.6, true); // a canvas's fractional coordinates are rounded
    for (; now <= 600; now += 10) app.call("gui_tick", now);
    assert.equal(face(), 0xff1a5276, "the button's face, held down");
    assert.notEqual(face(), up);
    await Promise.resolve();
    const last = screen.frames.at(-1)!;
    assert.deepEqual([last.width, last.height], [320, 240]);
    const fb = getFramebuffer(app, display)!;
    // The screen shows exactly the frame buffer's pixels (as the PNG snapshot holds them).
    assert.equal(await sha256(last.rgba), await sha256(toRgba(fb)));
    const at = (100 * 320 + 100) * 4;
    assert.deepEqual(last.rgba.slice(at, at + 4), [0x1a, 0x52, 0x76, 255]);
    state.pointer(160, 125, false);
    for (; now <= 900; now += 10) app.call("gui_tick", now);
    assert.notEqual(face(), 0xff1a5276, "released");
  } finally {
    app.free();
  }
});
