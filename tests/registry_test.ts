import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native, overload } from "../sdk/native.ts";

function quietRuntime(): Runtime {
  return new Runtime({ stdout: () => {}, warn: () => {} });
}

Deno.test("registry: resolves without a leading '_', and later registrations shadow earlier ones", async () => {
  const first = defineNativeLibrary({ name: "a", symbols: { val: native("()i", () => 1) } });
  const second = defineNativeLibrary({ name: "b", symbols: { val: native("()i", () => 2) } });
  const runtime = quietRuntime().register(first).register(second);
  const module = await runtime.load(wat(`(module
    (import "env" "_val" (func $u (result i32)))
    (import "env" "val" (func $v (result i32)))
    (func (export "u") (result i32) call $u)
    (func (export "v") (result i32) call $v))`));
  const app = await runtime.instantiate(module);
  assert.equal(app.call("u"), 2);
  assert.equal(app.call("v"), 2);
  assert.equal(runtime.registry.resolve("env", "_val")?.name, "val");
  assert.equal(runtime.registry.resolve("other", "val"), undefined);
  runtime.registry.unregister(second);
  assert.equal(runtime.registry.resolve("env", "val")?.library.name, "a");
});

Deno.test("registry: candidates are every native of the name, newest library first, overloads in order", () => {
  const older = defineNativeLibrary({
    name: "older",
    symbols: { f: overload(native("(i)", () => {}), native("()", () => {})) },
  });
  const newer = defineNativeLibrary({
    name: "newer",
    symbols: { _f: native("(ii)i", () => 0), g: native("()", () => {}) },
  });
  const runtime = quietRuntime().register(older).register(newer);
  const registry = runtime.registry;
  const listed = (field: string) =>
    registry.candidates("env", field).map((c) => `${c.library.name}.${c.name}${c.signature.text}`);
  assert.deepEqual(listed("f"), ["older.f(i)", "older.f()"]);
  // The exact field first in each library; the bare name only where the exact one is missing.
  assert.deepEqual(listed("_f"), ["newer._f(ii)i", "older.f(i)", "older.f()"]);
  assert.deepEqual(listed("h"), []);
  const type = (params: string[], results: string[] = []) => ({ params, results });
  assert.equal(registry.resolve("env", "_f", type([]))?.signature.text, "()");
  assert.equal(registry.resolve("env", "_f", type(["i32", "i32"], ["i32"]))?.library, newer);
  assert.equal(registry.resolve("env", "_f", type(["f32"])), undefined);
  assert.equal(registry.resolve("env", "_f")?.library, newer, "without a type: the first");
});

Deno.test("registry: instances link against the libraries registered at the time, as they change", async () => {
  const first = defineNativeLibrary({ name: "a", symbols: { val: native("()i", () => 1) } });
  const second = defineNativeLibrary({ name: "b", symbols: { val: native("()i", () => 2) } });
  const runtime = quietRuntime().register(first);
  const module = await runtime.load(wat(`(module
    (import "env" "val" (func $v (result i32)))
    (func (export "v") (result i32) call $v))`));
  const values = async () => (await runtime.instantiate(module)).call("v");
  assert.equal(await values(), 1);
  runtime.register(second);
  assert.equal(await values(), 2, "a library registered after an instance shadows for the next");
  runtime.registry.unregister(second);
  assert.equal(await values(), 1, "and removing it restores the earlier one");
  runtime.registry.unregister(first);
  const unlinked = await runtime.instantiate(module);
  assert.deepEqual(unlinked.unlinked, [{ module: "env", name: "val" }]);
});
