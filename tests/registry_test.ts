import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";

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
