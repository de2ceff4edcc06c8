import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { TrapError } from "../sdk/errors.ts";
import { loadPlugin, runCli } from "../core/cli/cli.ts";
import {
  defineConfigurableLibrary,
  defineNativeLibrary,
  native,
  nativeAsync,
} from "../sdk/native.ts";
import libc from "../natives/libc/mod.ts";

const quiet = (trace?: (l: string) => void) =>
  new Runtime({ stdout: () => {}, warn: () => {}, ...(trace ? { trace } : {}) });

Deno.test("plugin: an async native suspends the app through JSPI", async () => {
  const lib = defineNativeLibrary({
    name: "slow",
    symbols: {
      fetch_value: nativeAsync("(i)i", async (_ctx, x) => {
        await new Promise((r) => setTimeout(r, 1));
        return x * 2;
      }),
      fail_later: nativeAsync("()i", async () => {
        await Promise.resolve();
        throw new Error("device gone");
      }),
      plain: native("(i)i", (_ctx, x) => x + 1),
    },
  });
  const runtime = quiet().register(lib);
  const module = await runtime.load(wat(`(module
    (import "env" "fetch_value" (func $f (param i32) (result i32)))
    (import "env" "fail_later" (func $g (result i32)))
    (import "env" "plain" (func $p (param i32) (result i32)))
    (func (export "run") (param i32) (result i32)
      local.get 0 call $f call $p local.get 0 call $f i32.add)
    (func (export "fail") (result i32) call $g))`));
  const app = await runtime.instantiate(module);
  assert.equal(app.async, true);
  assert.equal(await app.callAsync("run", 5), 21);
  await assert.rejects(() => app.callAsync("fail"), (e: unknown) => {
    assert.ok(e instanceof TrapError);
    assert.equal(e.message, "native function (env, fail_later) failed: device gone");
    return true;
  });
  assert.equal(await app.callAsync("run", 1), 5, "the app keeps serving after the trap");
});

Deno.test("plugin: apps without async natives keep synchronous exports", async () => {
  const runtime = quiet();
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module (func (export "f") (result i32) i32.const 7))`)),
  );
  assert.equal(app.async, false);
  assert.equal(app.call("f"), 7);
  assert.equal(await app.callAsync("f"), 7);
});

Deno.test("plugin: --trace prints library, symbol, decoded arguments, result or trap", async () => {
  const lines: string[] = [];
  const lib = defineNativeLibrary({
    name: "vendor",
    symbols: {
      greet: native("($*~)i", (_ctx, name, buf) => name.length + buf.length),
      big: native("(I)I", (_ctx, v) => v + 1n),
    },
  });
  const runtime = quiet((l) => lines.push(l)).register(lib);
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module
    (import "env" "greet" (func $g (param i32 i32 i32) (result i32)))
    (import "env" "big" (func $b (param i64) (result i64)))
    (memory (export "memory") 1)
    (data (i32.const 8) "bob\\00")
    (func (export "ok") (result i32) i32.const 8 i32.const 32 i32.const 4 call $g)
    (func (export "bad") (result i32) i32.const 8 i32.const 65535 i32.const 4 call $g)
    (func (export "big") (result i64) i64.const 41 call $b))`)),
    { heapSize: 0 },
  );
  assert.equal(app.call("ok"), 7);
  assert.throws(() => app.call("bad"), TrapError);
  assert.equal(app.call("big"), 42n);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\[trace\] vendor\.greet\("bob", 0x20\[4\]\) -> 7 \(\d+\.\dµs\)$/);
  assert.match(
    lines[1]!,
    /^\[trace\] vendor\.greet\("bob", 0xffff\[4\]\) trapped: out of bounds memory access \(/,
  );
  assert.match(lines[2]!, /^\[trace\] vendor\.big\(41n\) -> 42n \(/);
});

Deno.test("plugin: --trace from the CLI goes to stderr", async () => {
  let err = "";
  let out = "";
  const dec = new TextDecoder();
  const code = await runCli(["--trace", "examples/hello/hello.wasm"], {
    builtins: { libc },
    stdout: (b) => out += dec.decode(b),
    stderr: (t) => err += t,
  });
  assert.equal(code, 0);
  assert.match(out, /^Hello world!\n/);
  assert.match(err, /^\[trace\] libc\.puts\("Hello world!"\) -> 13 \(/m);
  assert.match(err, /^\[trace\] libc\.printf\("buf ptr: 0x%08x\\n", 0x[0-9a-f]+\) -> 20 \(/m);
  assert.match(err, /^\[trace\] libc\.malloc\(1024\) -> \d+ \(/m);
  assert.match(err, /^\[trace\] libc\.free\(0x[0-9a-f]+\) -> void \(/m);
});

const screen = defineConfigurableLibrary(
  { width: 320, height: 240, title: "lcd", on: true },
  (o) => ({
    name: "screen",
    symbols: (native) => ({
      screen_width: native("()i", () => o.width),
      screen_on: native("()i", () => o.on ? 1 : 0),
    }),
  }),
);

Deno.test("plugin: options from code and from the CLI syntax, type-checked", async () => {
  assert.deepEqual(screen.options, { width: 320, height: 240, title: "lcd", on: true });
  const wide = screen.configure!({ width: 480, on: "false" });
  assert.deepEqual(wide.options, { width: 480, height: 240, title: "lcd", on: false });
  const runtime = quiet().register(wide);
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module
    (import "env" "screen_width" (func $w (result i32)))
    (func (export "w") (result i32) call $w))`)),
  );
  assert.equal(app.call("w"), 480);

  const viaCli = await loadPlugin("screen,width=640,title=big", { screen });
  assert.deepEqual(viaCli.options, { width: 640, height: 240, title: "big", on: true });
  await assert.rejects(
    () => loadPlugin("screen,depth=3", { screen }),
    /^Error: Cannot load plugin "screen": Plugin "screen": unknown option "depth" \(options: width, height, title, on\)$/,
  );
  await assert.rejects(
    () => loadPlugin("screen,width=wide", { screen }),
    /option "width" must be a number, got "wide"/,
  );
  await assert.rejects(
    () => loadPlugin("screen,width", { screen }),
    /option "width" is not key=value/,
  );
  await assert.rejects(
    () => loadPlugin("libc,x=1", { libc }),
    /Cannot load plugin "libc": it takes no options/,
  );
});

Deno.test("plugin: a bad signature in a plugin is one error naming the library and symbol", () => {
  assert.throws(
    () =>
      defineNativeLibrary({
        name: "broken",
        symbols: { oops: { signature: "(ii", impl: () => 0 } },
      }),
    /^TypeError: Native library "broken": symbol "oops": Invalid signature "\(ii": missing "\)"$/,
  );
});
