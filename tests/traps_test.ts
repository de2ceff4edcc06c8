import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { TrapError } from "../sdk/errors.ts";
import { toTrap, UNCAUGHT_EXCEPTION, wamrTrapMessage } from "../core/instance/traps.ts";

function quietRuntime(): Runtime {
  return new Runtime({ stdout: () => {}, warn: () => {} });
}

function assertTrap(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrapError, `expected TrapError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

async function trapsApp() {
  const runtime = quietRuntime();
  return await runtime.instantiate(
    await runtime.load(wat(`(module
      (type $t (func))
      (table $tab 2 funcref)
      (tag $e (param i32))
      (func $f)
      (elem (i32.const 0) func $f)
      (func (export "indirect_oob") (call_indirect (type $t) (i32.const 5)))
      (func (export "indirect_null") (call_indirect (type $t) (i32.const 1)))
      (func (export "table_get") (drop (table.get $tab (i32.const 5))))
      (func (export "table_set") (table.set $tab (i32.const 2) (ref.null func)))
      (func (export "table_fill") (table.fill $tab (i32.const 1) (ref.null func) (i32.const 5)))
      (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
      (func (export "throw") (throw $e (i32.const 3))))`)),
    { heapSize: 0 },
  );
}

Deno.test("traps: a table access out of bounds is 'out of bounds table access'", async () => {
  const app = await trapsApp();
  for (const name of ["table_get", "table_set", "table_fill"]) {
    assertTrap(() => app.call(name), "out of bounds table access");
  }
  app.free();
});

Deno.test("traps: call_indirect past the table keeps WAMR's 'undefined element'", async () => {
  const app = await trapsApp();
  assertTrap(() => app.call("indirect_oob"), "undefined element");
  assertTrap(() => app.call("indirect_null"), "uninitialized element");
  app.free();
});

Deno.test("traps: float-to-int overflow is 'integer overflow', and so is NaN (V8 words both alike)", async () => {
  const app = await trapsApp();
  assertTrap(() => app.call("trunc", 1e30), "integer overflow");
  assertTrap(() => app.call("trunc", -Infinity), "integer overflow");
  // WAMR says "invalid conversion to integer" here; the README's "For WAMR users" says why not us.
  assertTrap(() => app.call("trunc", NaN), "integer overflow");
  assert.equal(app.call("trunc", -2.5), -2);
  app.free();
});

Deno.test("traps: an uncaught wasm exception reads 'uncaught wasm exception'", async () => {
  const app = await trapsApp();
  assertTrap(() => app.call("throw"), UNCAUGHT_EXCEPTION);
  assert.equal(UNCAUGHT_EXCEPTION, "uncaught wasm exception");
  app.free();
});

Deno.test("traps: a data segment out of bounds at instantiation is a trap in WAMR's words", async () => {
  const runtime = quietRuntime();
  const module = await runtime.load(wat(`(module (memory 1) (data (i32.const 65535) "ab"))`));
  await assert.rejects(runtime.instantiate(module), (e: unknown) => {
    assert.ok(e instanceof TrapError, `expected TrapError, got ${e}`);
    assert.equal(e.message, "out of bounds memory access");
    return true;
  });
  assert.throws(() => runtime.instantiateSync(module), {
    name: "TrapError",
    message: "out of bounds memory access",
  });
});

Deno.test("traps: an element segment out of bounds at instantiation is a table trap", async () => {
  const runtime = quietRuntime();
  const module = await runtime.load(
    wat(`(module (table 1 funcref) (func) (elem (i32.const 1) func 0))`),
  );
  await assert.rejects(runtime.instantiate(module), {
    name: "TrapError",
    message: "out of bounds table access",
  });
});

Deno.test("traps: V8's texts map to WAMR's, and unknown ones pass through", () => {
  assert.equal(wamrTrapMessage("memory access out of bounds"), "out of bounds memory access");
  assert.equal(
    wamrTrapMessage("WebAssembly.Instance(): data segment 0 is out of bounds (offset 1)"),
    "out of bounds memory access",
  );
  assert.equal(wamrTrapMessage("float unrepresentable in integer range"), "integer overflow");
  assert.equal(wamrTrapMessage("something new"), undefined);
  const trap = toTrap(new WebAssembly.RuntimeError("something new"));
  assert.equal(trap.message, "something new");
  assert.ok(trap.cause instanceof WebAssembly.RuntimeError);
});
