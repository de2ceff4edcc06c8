// Display natives: a full-screen flush (320x240x4 bytes, checked then copied row by row), a
// full-screen fill, 1,000 single-pixel vdb_writes from wasm, a GUI tick, and a PNG snapshot.
import { wat } from "../tests/_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { createDisplayLibrary, encodePng, getFramebuffer } from "../natives/display/mod.ts";

const source = `(module
  (import "env" "display_flush" (func $flush (param i32 i32 i32 i32 i32)))
  (import "env" "display_fill" (func $fill (param i32 i32 i32 i32 i32)))
  (import "env" "display_vdb_write" (func $vdb (param i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 6)
  (func (export "flush") i32.const 0 i32.const 0 i32.const 319 i32.const 239 i32.const 1024
    call $flush)
  (func (export "fill") i32.const 0 i32.const 0 i32.const 319 i32.const 239 i32.const 0
    call $fill)
  (func (export "vdb_loop") (param $n i32)
    (loop $l
      (call $vdb (i32.const 1024) (i32.const 320) (local.get $n) (i32.const 3) (i32.const 0)
        (i32.const 255))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))`;

let now = 0;
const display = createDisplayLibrary({ clock: () => now, terminal: false });
const runtime = new Runtime({ plugins: [display], stdout: () => {} });
const app = await runtime.instantiate(await runtime.load(wat(source)), { heapSize: 0 });
const gui = await runtime.instantiate(
  await runtime.load(new URL("../examples/gui/gui.wasm", import.meta.url)),
);
gui.call("gui_init");
const fb = getFramebuffer(app, display)!;

Deno.bench("display_flush 320x240", () => {
  app.call("flush");
});
Deno.bench("display_fill 320x240", () => {
  app.call("fill");
});
Deno.bench("display_vdb_write x1000", () => {
  app.call("vdb_loop", 1000);
});
Deno.bench("gui_tick with a counter redraw", () => {
  now += 1000;
  gui.call("gui_tick", now);
});
Deno.bench("encodePng 320x240", async () => {
  await encodePng(fb);
});
