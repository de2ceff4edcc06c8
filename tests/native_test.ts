import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { TrapError } from "../sdk/errors.ts";
import {
  defineConfigurableLibrary,
  defineNativeLibrary,
  native,
  nativeAsync,
} from "../sdk/native.ts";

const quiet = () => new Runtime({ stdout: () => {}, warn: () => {} });

Deno.test("native: an async native suspends the app through JSPI", async () => {
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

Deno.test("native: configure takes options from code or as text, type-checked", async () => {
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
  assert.throws(() => screen.configure!({ depth: 3 }), /unknown option "depth"/);
  assert.throws(() => screen.configure!({ on: "maybe" }), /"on" must be true or false/);
});

Deno.test("native: a bad signature in a library is one error naming the library and symbol", () => {
  assert.throws(
    () =>
      defineNativeLibrary({
        name: "broken",
        symbols: { oops: { signature: "(ii", impl: () => 0 } },
      }),
    /^TypeError: Native library "broken": symbol "oops": Invalid signature "\(ii": missing "\)"$/,
  );
});
