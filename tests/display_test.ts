import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { TrapError } from "../sdk/errors.ts";
import type { AppInstance } from "../core/instance/instance.ts";
import {
  createDisplayLibrary,
  type DisplayLibrary,
  type DisplayOptions,
  type Framebuffer,
  getFramebuffer,
} from "../natives/display/mod.ts";

const PAGE = 65536;
const RED = 0xffff0000;
const GREEN = 0xff00ff00;
const BLUE = 0xff0000ff;
const GREY = 0x44444444;

// Every display native, exported by a thin wrapper, plus call_indirect through a table that
// holds the imports themselves (what LVGL's driver structures compile to).
const APP = `(module
  (import "env" "display_init" (func $init))
  (import "env" "display_flush" (func $flush (param i32 i32 i32 i32 i32)))
  (import "env" "display_fill" (func $fill (param i32 i32 i32 i32 i32)))
  (import "env" "display_map" (func $map (param i32 i32 i32 i32 i32)))
  (import "env" "display_vdb_write" (func $vdb (param i32 i32 i32 i32 i32 i32)))
  (import "env" "display_input_read" (func $read (param i32) (result i32)))
  (import "env" "time_get_ms" (func $time (result i32)))
  (type $rect (func (param i32 i32 i32 i32 i32)))
  (type $input (func (param i32) (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) $fill $map $flush $read)
  (memory (export "memory") 1)
  (func (export "init") call $init)
  (func (export "flush") (param i32 i32 i32 i32 i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $flush)
  (func (export "fill") (param i32 i32 i32 i32 i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $fill)
  (func (export "map") (param i32 i32 i32 i32 i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $map)
  (func (export "vdb") (param i32 i32 i32 i32 i32 i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 call $vdb)
  (func (export "read") (param i32) (result i32) local.get 0 call $read)
  (func (export "time") (result i32) call $time)
  (func (export "rect_indirect") (param $slot i32) (param i32 i32 i32 i32 i32)
    local.get 1 local.get 2 local.get 3 local.get 4 local.get 5
    local.get $slot call_indirect (type $rect))
  (func (export "read_indirect") (param i32) (result i32)
    local.get 0 i32.const 3 call_indirect (type $input))
)`;

interface Harness {
  app: AppInstance;
  display: DisplayLibrary;
  fb: Framebuffer;
  setTime(ms: number): void;
  /** Little-endian u32 colors into app memory at addr. */
  poke(addr: number, ...colors: number[]): void;
  view(): DataView;
}

async function harness(options: DisplayOptions = {}): Promise<Harness> {
  let now = 0;
  const display = createDisplayLibrary({
    width: 8,
    height: 6,
    clock: () => now,
    terminal: false,
    ...options,
  });
  const runtime = new Runtime({ plugins: [display], stdout: () => {}, warn: () => {} });
  const app = await runtime.instantiate(await runtime.load(wat(APP)), { heapSize: 0 });
  const fb = getFramebuffer(app, display);
  assert.ok(fb, "the app has a framebuffer");
  const view = () => new DataView(app.memory.memory.buffer);
  return {
    app,
    display,
    fb,
    setTime: (ms) => {
      now = ms;
    },
    poke(addr, ...colors) {
      colors.forEach((c, i) => view().setUint32(addr + 4 * i, c, true));
    },
    view,
  };
}

function assertTrap(fn: () => unknown, message = "out of bounds memory access"): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrapError, `expected TrapError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

function row(fb: Framebuffer, y: number): number[] {
  return [...fb.pixels.subarray(y * fb.width, (y + 1) * fb.width)];
}

Deno.test("display: a new screen is 320x240 of 0x44 bytes by default", async () => {
  const display = createDisplayLibrary({ terminal: false });
  const runtime = new Runtime({ plugins: [display], stdout: () => {} });
  const app = await runtime.instantiate(await runtime.load(wat(APP)), { heapSize: 0 });
  const fb = getFramebuffer(app, display)!;
  assert.deepEqual([fb.width, fb.height, fb.pixels.length], [320, 240, 320 * 240]);
  assert.ok(fb.bytes.every((b) => b === 0x44));
  app.call("init");
  assert.ok(fb.bytes.every((b) => b === 0x44), "display_init draws nothing");
  app.free();
});

Deno.test("display: display_fill fills the clipped rectangle with the color at the pointer", async () => {
  const { app, fb, poke } = await harness();
  poke(16, GREEN);
  app.call("fill", 1, 1, 3, 2, 16);
  assert.deepEqual(row(fb, 0), Array(8).fill(GREY));
  assert.deepEqual(row(fb, 1), [GREY, GREEN, GREEN, GREEN, GREY, GREY, GREY, GREY]);
  assert.deepEqual(row(fb, 2), [GREY, GREEN, GREEN, GREEN, GREY, GREY, GREY, GREY]);
  assert.deepEqual(row(fb, 3), Array(8).fill(GREY));

  // Negative and oversized corners clip; inverted corners draw nothing.
  poke(16, RED);
  app.call("fill", -5, 4, 100, 100, 16);
  assert.deepEqual(row(fb, 4), Array(8).fill(RED));
  assert.deepEqual(row(fb, 5), Array(8).fill(RED));
  const before = fb.snapshot();
  app.call("fill", 3, 0, 2, 5, 16);
  app.call("fill", 0, 3, 7, 2, 16);
  app.call("fill", 8, 0, 20, 5, 16);
  assert.deepEqual(fb.pixels, before);
  app.free();
});

Deno.test("display: display_flush copies w*h colors and clips with the source stride kept", async () => {
  const { app, fb, poke } = await harness();
  // A 3x2 image at (1, 1): rows [R G B] and [B G R].
  poke(64, RED, GREEN, BLUE, BLUE, GREEN, RED);
  app.call("flush", 1, 1, 3, 2, 64);
  assert.deepEqual(row(fb, 1).slice(0, 5), [GREY, RED, GREEN, BLUE, GREY]);
  assert.deepEqual(row(fb, 2).slice(0, 5), [GREY, BLUE, GREEN, RED, GREY]);

  // The same image at (-1, 5): only column 1..2 of the first row is visible.
  app.call("flush", -1, 5, 1, 6, 64);
  assert.deepEqual(row(fb, 5).slice(0, 3), [GREEN, BLUE, GREY]);
  app.free();
});

Deno.test("display: display_map copies a color array into the clipped rectangle", async () => {
  const { app, fb, poke } = await harness();
  poke(128, RED, GREEN, BLUE, RED);
  app.call("map", 6, 4, 9, 4, 128); // 4 wide, the last two columns off screen
  assert.deepEqual(row(fb, 4).slice(5), [GREY, RED, GREEN]);
  app.call("map", 0, -1, 1, 0, 128); // 2x2, the first row off screen
  assert.deepEqual(row(fb, 0).slice(0, 3), [BLUE, RED, GREY]);
  app.free();
});

Deno.test("display: display_vdb_write stores the color in the app's buffer, not the screen", async () => {
  const { app, fb, poke, view } = await harness();
  poke(16, BLUE);
  const before = fb.snapshot();
  app.call("vdb", 1024, 10, 3, 2, 16, 255); // buf + 4*3 + 4*2*10
  assert.equal(view().getUint32(1024 + 12 + 80, true), BLUE);
  assert.equal(view().getUint32(1024 + 8 + 80, true), 0);
  assert.deepEqual(fb.pixels, before);
  app.free();
});

Deno.test("display: display_input_read writes lv_indev_data_t and keeps user_data", async () => {
  const { app, display, setTime, view } = await harness();
  view().setUint32(204, 0xdeadbeef, true);
  assert.equal(app.call("read", 200), 0);
  assert.deepEqual(
    [view().getInt16(200, true), view().getInt16(202, true), view().getUint8(208)],
    [0, 0, 0],
  );
  display.state(app)!.input.push(
    { at: 10, x: 5, y: -3, pressed: true },
    { at: 12, x: 6, y: 4, pressed: false },
  );
  setTime(9);
  assert.equal(app.call("read", 200), 0, "nothing due yet");
  assert.equal(view().getUint8(208), 0);
  setTime(20);
  assert.equal(app.call("read", 200), 1, "a second action is due: read again");
  assert.deepEqual(
    [view().getInt16(200, true), view().getInt16(202, true), view().getUint8(208)],
    [5, -3, 1],
  );
  assert.equal(app.call("read_indirect", 200), 0);
  assert.deepEqual(
    [view().getInt16(200, true), view().getInt16(202, true), view().getUint8(208)],
    [6, 4, 0],
  );
  assert.equal(view().getUint32(204, true), 0xdeadbeef);
  app.free();
});

Deno.test("display: time_get_ms is the clock truncated to 32 bits", async () => {
  const { app, setTime } = await harness();
  setTime(2 ** 32 + 1234);
  assert.equal(app.call("time"), 1234);
  setTime(2 ** 31 + 1);
  assert.equal(app.call("time"), -(2 ** 31) + 1);
  app.free();
});

Deno.test("display: input script times count from the clock's value when the app starts", async () => {
  let now = 5000;
  const display = createDisplayLibrary({
    clock: () => now,
    terminal: false,
    input: [{ at: 100, x: 1, y: 2, pressed: true }],
  });
  const runtime = new Runtime({ plugins: [display], stdout: () => {} });
  const app = await runtime.instantiate(await runtime.load(wat(APP)), { heapSize: 0 });
  const data = () => new DataView(app.memory.memory.buffer).getUint8(8);
  now = 5099;
  app.call("read", 0);
  assert.equal(data(), 0);
  now = 5100;
  app.call("read", 0);
  assert.equal(data(), 1);
  app.free();
});

Deno.test("display: every native traps on a region past the end, with the screen unchanged", async () => {
  const { app, fb, poke, view } = await harness();
  poke(PAGE - 8, RED, GREEN);
  const before = fb.snapshot();
  const memoryBefore = new Uint8Array(app.memory.memory.buffer).slice();

  // flush/map: 2x2 = 16 bytes from 8 bytes before the end. WAMR checks only 1-4 of them.
  assertTrap(() => app.call("flush", 0, 0, 1, 1, PAGE - 8));
  assertTrap(() => app.call("map", 0, 0, 1, 1, PAGE - 8));
  assertTrap(() => app.call("flush", 0, 0, 0, 2, PAGE - 8)); // 1x3
  // Fully off-screen areas still name a source that must be app memory.
  assertTrap(() => app.call("flush", 100, 100, 101, 101, PAGE - 8));
  // A huge area overflows any memory.
  assertTrap(() => app.call("map", 0, 0, 0x7fffffff, 0x7fffffff, 0));
  assertTrap(() => app.call("flush", -0x80000000, 0, 0x7fffffff, 0, 0));
  // fill: the color is 4 bytes.
  assertTrap(() => app.call("fill", 0, 0, 7, 5, PAGE - 2));
  assertTrap(() => app.call("fill", 0, 0, 7, 5, PAGE));
  // vdb_write: the color, and the target computed from buf, x, y and buf_w.
  assertTrap(() => app.call("vdb", 0, 10, 0, 0, PAGE - 3, 255));
  assertTrap(() => app.call("vdb", PAGE - 4, 10, 1, 0, 16, 255));
  assertTrap(() => app.call("vdb", 0, 1000, 0, 17, 16, 255));
  assertTrap(() => app.call("vdb", 16, 10, -5, 0, 16, 255));
  assertTrap(() => app.call("vdb", 0, 0x7fff, 0x7fff, 0x7fff, 16, 255));
  // input_read: all 12 bytes of the struct.
  assertTrap(() => app.call("read", PAGE - 11));
  assertTrap(() => app.call("read", PAGE - 1));
  assertTrap(() => app.call("read", -1));

  assert.deepEqual(fb.pixels, before);
  assert.deepEqual(new Uint8Array(app.memory.memory.buffer), memoryBefore);

  // The exact fits work.
  app.call("flush", 0, 0, 1, 0, PAGE - 8);
  assert.deepEqual(row(fb, 0).slice(0, 3), [RED, GREEN, GREY]);
  app.call("vdb", PAGE - 8, 1, 1, 0, PAGE - 8, 255);
  assert.equal(view().getUint32(PAGE - 4, true), RED);
  assert.equal(app.call("read", PAGE - 12), 0);
  app.free();
});

Deno.test("display: imports called through the app's table draw and trap like direct calls", async () => {
  const { app, fb, poke } = await harness();
  poke(16, BLUE, RED);
  app.call("rect_indirect", 0, 0, 0, 7, 0, 16); // slot 0: display_fill
  assert.deepEqual(row(fb, 0), Array(8).fill(BLUE));
  app.call("rect_indirect", 1, 0, 1, 1, 1, 16); // slot 1: display_map
  assert.deepEqual(row(fb, 1).slice(0, 3), [BLUE, RED, GREY]);
  app.call("rect_indirect", 2, 6, 2, 7, 2, 16); // slot 2: display_flush
  assert.deepEqual(row(fb, 2).slice(5), [GREY, BLUE, RED]);
  const before = fb.snapshot();
  assertTrap(() => app.call("rect_indirect", 2, 0, 0, 3, 3, PAGE - 16));
  assert.deepEqual(fb.pixels, before);
  app.free();
});

Deno.test("display: each app has its own screen and pointer, released when freed", async () => {
  const views: string[] = [];
  const sink = {
    writeSync: (data: Uint8Array) => {
      views.push(new TextDecoder().decode(data));
      return data.length;
    },
    size: () => ({ columns: 80, rows: 25 }),
  };
  const display = createDisplayLibrary({ width: 4, height: 2, terminal: sink, clock: () => 0 });
  const runtime = new Runtime({ plugins: [display], stdout: () => {} });
  const module = await runtime.load(wat(APP));
  const a = await runtime.instantiate(module, { heapSize: 0 });
  const b = await runtime.instantiate(module, { heapSize: 0 });
  new DataView(a.memory.memory.buffer).setUint32(0, RED, true);
  a.call("fill", 0, 0, 3, 1, 0);
  assert.deepEqual([...getFramebuffer(a, display)!.pixels], Array(8).fill(RED));
  assert.deepEqual([...getFramebuffer(b, display)!.pixels], Array(8).fill(GREY));
  assert.notEqual(display.state(a)!.input, display.state(b)!.input);
  assert.equal(views.length, 1, "the first change draws at once");
  assert.ok(views[0]!.includes("\x1b[38;2;255;0;0m\x1b[48;2;255;0;0m▀▀▀▀"), views[0]);
  a.free();
  b.free();
  assert.equal(display.state(a), undefined);
  // a's last frame was already drawn; b never drew, so freeing it draws nothing.
  assert.equal(views.length, 1);
});

Deno.test("display: configure takes command-line text options and rejects unknown ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/clicks.json`;
    await Deno.writeTextFile(script, `[{ "at": 0, "x": 3, "y": 4, "pressed": true }]`);
    const base = createDisplayLibrary({ terminal: false, clock: () => 0 });
    const small = base.configure({ width: "16", height: "9", fillByte: "0", input: script });
    assert.deepEqual([small.width, small.height], [16, 9]);
    assert.equal(small.options.width, 16);
    assert.equal(small.options.terminal, "false");
    const runtime = new Runtime({ plugins: [small], stdout: () => {} });
    const app = await runtime.instantiate(await runtime.load(wat(APP)), { heapSize: 0 });
    assert.ok(getFramebuffer(app, small)!.bytes.every((b) => b === 0));
    app.call("read", 0);
    assert.deepEqual(
      [...new Uint8Array(app.memory.memory.buffer, 0, 9)],
      [3, 0, 4, 0, 0, 0, 0, 0, 1],
    );
    app.free();
    assert.throws(() => base.configure({ depth: "16" }), /unknown option "depth"/);
    assert.throws(() => base.configure({ width: "wide" }), /"width" must be an integer/);
    assert.throws(() => base.configure({ width: "0" }), RangeError);
    assert.throws(() => base.configure({ terminal: "maybe" }), /auto, true or false/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
