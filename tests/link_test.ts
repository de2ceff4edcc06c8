import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native, overload } from "../sdk/native.ts";
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

/** A module importing `env.<name>` with the given WAT types and calling it (1, 2, …) from `run`. */
function importing(name: string, params: string, results = ""): Uint8Array {
  const args = params.split(" ").filter(Boolean).map((t, i) => `(${t}.const ${i + 1})`).join(" ");
  return wat(`(module
    (import "env" "${name}" (func $f (param ${params}) ${results ? `(result ${results})` : ""}))
    (func (export "run") ${results ? `(result ${results})` : ""} ${args} call $f))`);
}

Deno.test("link: an import links to the overload whose signature matches its wasm type", async () => {
  const lib = defineNativeLibrary({
    name: "vendor",
    symbols: (native) => ({
      foo: overload(
        native("(i)i", (_c, a) => a * 10),
        native("(ii)i", (_c, a, b) => a + b),
        native("(iii)", (ctx) => ctx.trap("three")),
      ),
    }),
  });
  const runtime = quietRuntime().register(lib);
  const one = await runtime.instantiate(await runtime.load(importing("foo", "i32", "i32")));
  assert.equal(one.call("run"), 10);
  const two = await runtime.instantiate(await runtime.load(importing("foo", "i32 i32", "i32")));
  assert.equal(two.call("run"), 3);
  const three = await runtime.instantiate(await runtime.load(importing("foo", "i32 i32 i32")));
  assertTrap(() => three.call("run"), "three");
});

Deno.test("link: among libraries, the newest native whose signature matches links", async () => {
  const older = defineNativeLibrary({
    name: "older",
    symbols: { foo: native("(i)i", (_c, a) => a + 100) },
  });
  const newer = defineNativeLibrary({
    name: "newer",
    symbols: { foo: native("(ii)i", (_c, a, b) => a * b) },
  });
  const same = defineNativeLibrary({
    name: "same",
    symbols: { foo: native("(i)i", (_c, a) => a + 200) },
  });
  const runtime = quietRuntime().register(older).register(newer);
  const app = await runtime.instantiate(await runtime.load(importing("foo", "i32", "i32")));
  assert.equal(app.call("run"), 101, "the newer library's foo has another type");
  runtime.register(same);
  const shadowed = await runtime.instantiate(await runtime.load(importing("foo", "i32", "i32")));
  assert.equal(shadowed.call("run"), 201, "a later registration of the same type shadows");
});

Deno.test("link: when no overload matches, the link error lists every signature with its library", async () => {
  const older = defineNativeLibrary({
    name: "older",
    symbols: { foo: overload(native("(i)", () => {}), native("()", () => {})) },
  });
  const newer = defineNativeLibrary({
    name: "newer",
    symbols: { foo: native("(ii)i", () => 0) },
  });
  const runtime = quietRuntime().register(older).register(newer);
  const module = await runtime.load(importing("foo", "f32"));
  await assert.rejects(() => runtime.instantiate(module), (e: unknown) => {
    assert.ok(e instanceof LinkError);
    assert.equal(
      e.message,
      `Cannot link import "env"."foo": signatures "(ii)i" of library "newer", "(i)", "()" of ` +
        `library "older" do not match (f32) -> ()`,
    );
    return true;
  });
});
