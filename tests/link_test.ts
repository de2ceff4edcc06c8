import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import { LinkError, TrapError } from "../sdk/errors.ts";

function quietRuntime(warnings: string[] = []): Runtime {
  return new Runtime({ stdout: () => {}, warn: (m) => warnings.push(m) });
}

function assertTrap(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrapError, `expected TrapError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("link: a signature mismatch is a link error naming import, types and library", async () => {
  const lib = defineNativeLibrary({
    name: "vendor",
    symbols: { foo: native("(i)i", (_c, a) => a) },
  });
  const runtime = quietRuntime().register(lib);
  const module = await runtime.load(wat(`(module
    (import "env" "foo" (func (param i32 i32) (result i32))))`));
  await assert.rejects(() => runtime.instantiate(module), (e: unknown) => {
    assert.ok(e instanceof LinkError);
    assert.equal(
      e.message,
      `Cannot link import "env"."foo": signature "(i)i" of library "vendor" does not match (i32, i32) -> i32`,
    );
    return true;
  });
});

Deno.test("link: unresolved imports warn at instantiation and trap when called", async () => {
  const warnings: string[] = [];
  const runtime = quietRuntime(warnings);
  const module = await runtime.load(wat(`(module
    (import "env" "foo_missing" (func $m (param i32) (result i32)))
    (func (export "ok") (result i32) i32.const 3)
    (func (export "call") (result i32) i32.const 1 call $m))`));
  const app = await runtime.instantiate(module);
  assert.deepEqual(warnings, ["warning: failed to link import function (env, foo_missing)"]);
  assert.deepEqual(app.unlinked, [{ module: "env", name: "foo_missing" }]);
  assert.equal(app.call("ok"), 3);
  assertTrap(() => app.call("call"), "failed to call unlinked import function (env, foo_missing)");
});

Deno.test("link: imported memory, table and emscripten globals are created", async () => {
  const runtime = quietRuntime();
  const module = await runtime.load(wat(`(module
    (import "env" "memory" (memory 1 4))
    (import "env" "table" (table 2 funcref))
    (import "env" "__memory_base" (global $mb i32))
    (import "global" "NaN" (global $nan f64))
    (func (export "mb") (result i32) global.get $mb)
    (func (export "nan") (result f64) global.get $nan)
    (func (export "size") (result i32) memory.size))`));
  const app = await runtime.instantiate(module, { heapSize: 65536 });
  assert.equal(app.call("mb"), 0);
  assert.ok(Number.isNaN(app.call("nan")));
  assert.equal(app.call("size"), 2, "one page appended for the heap");
  assert.equal(app.heap.base, 65536);

  const bad = await runtime.load(wat(`(module (import "env" "nope" (global i32)))`));
  await assert.rejects(() => runtime.instantiate(bad), LinkError);
});
