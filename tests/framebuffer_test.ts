import assert from "node:assert/strict";
import { Framebuffer } from "../natives/display/framebuffer.ts";
import { createDisplayLibrary } from "../natives/display/mod.ts";

Deno.test("framebuffer: Framebuffer rejects sizes outside 1..4096", () => {
  assert.throws(() => new Framebuffer(0, 10), /width must be an integer from 1 to 4096, got 0/);
  assert.throws(() => new Framebuffer(10, 4097), /height/);
  assert.throws(() => new Framebuffer(1.5, 10), RangeError);
  assert.throws(() => createDisplayLibrary({ height: -1 }), RangeError);
});
