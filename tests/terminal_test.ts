import assert from "node:assert/strict";
import { renderHalfBlocks, TerminalView } from "../natives/display/terminal.ts";
import { Framebuffer } from "../natives/display/framebuffer.ts";

const RED = 0xffff0000;
const GREEN = 0xff00ff00;
const BLUE = 0xff0000ff;

Deno.test("terminal: renderHalfBlocks downscales to fit and pairs rows as fg/bg", () => {
  const fb = new Framebuffer(320, 240);
  fb.fill(0, 0, 319, 119, RED);
  fb.fill(0, 120, 319, 239, BLUE);
  const text = renderHalfBlocks(fb, 80, 30);
  const lines = text.slice(3).trimEnd().split("\n");
  assert.ok(text.startsWith("\x1b[H"));
  assert.equal(lines.length, 30); // 240 rows / 4 per pixel / 2 per cell
  for (const line of lines) assert.equal([...line].filter((c) => c === "▀").length, 80);
  assert.ok(lines[0]!.startsWith("\x1b[38;2;255;0;0m\x1b[48;2;255;0;0m▀"));
  assert.ok(lines[29]!.startsWith("\x1b[38;2;0;0;255m\x1b[48;2;0;0;255m▀"));
  // Colors are only re-sent when they change.
  assert.equal(lines[0]!.split("\x1b[38;2").length, 2);
  // A small image is not enlarged.
  assert.equal(renderHalfBlocks(new Framebuffer(2, 2), 80, 30).split("▀").length, 3);
});

Deno.test("terminal: TerminalView draws only changed frames", () => {
  const fb = new Framebuffer(2, 2);
  const writes: string[] = [];
  const view = new TerminalView(fb, {
    writeSync: (d) => writes.push(new TextDecoder().decode(d)),
    size: () => ({ columns: 10, rows: 5 }),
  }, 0);
  view.invalidate();
  assert.equal(writes.length, 0, "the initial fill is not drawn");
  fb.fill(0, 0, 1, 1, RED);
  view.invalidate();
  view.invalidate();
  assert.equal(writes.length, 1, "an unchanged frame is not redrawn");
  assert.ok(writes[0]!.startsWith("\x1b[2J\x1b[H"), "the first frame clears the screen");
  fb.fill(0, 0, 1, 1, GREEN);
  view.invalidate();
  assert.equal(writes.length, 2);
  assert.ok(writes[1]!.startsWith("\x1b[H\x1b[38;2;0;255;0m"));
  view.close();
  assert.equal(writes.length, 2);
});
