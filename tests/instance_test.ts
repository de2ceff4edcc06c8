import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary } from "../sdk/native.ts";
import { TrapError } from "../sdk/errors.ts";

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

Deno.test("instance: per-library state is set up per app and disposed at free", async () => {
  const events: string[] = [];
  let next = 0;
  const lib = defineNativeLibrary({
    name: "stateful",
    setup: () => {
      events.push("setup");
      return { id: ++next, count: 0 };
    },
    dispose: (state) => events.push(`dispose ${state.id}`),
    symbols: (native) => ({
      tick: native("()i", (ctx) => ctx.state.id * 100 + ++ctx.state.count),
    }),
  });
  const runtime = quietRuntime().register(lib);
  const module = await runtime.load(wat(`(module
    (import "env" "tick" (func $t (result i32)))
    (func (export "tick") (result i32) call $t))`));
  const a = await runtime.instantiate(module);
  const b = await runtime.instantiate(module);
  assert.equal(a.call("tick"), 101);
  assert.equal(a.call("tick"), 102);
  assert.equal(b.call("tick"), 201);
  a.free();
  b.free();
  a.free();
  assert.deepEqual(events, ["setup", "setup", "dispose 1", "dispose 2"]);
  assert.throws(() => a.call("tick"), TrapError);
});

Deno.test("instance: main's own trap is reported even when it damaged the heap", async () => {
  const warnings: string[] = [];
  const runtime = quietRuntime(warnings);
  // main overwrites the 8 bytes before argv (the argv block's header), then traps.
  const module = await runtime.load(wat(`(module
    (memory (export "memory") 1)
    (func (export "main") (param i32 i32) (result i32)
      (i64.store (i32.sub (local.get 1) (i32.const 16)) (i64.const -1))
      unreachable))`));
  const app = await runtime.instantiate(module);
  assertTrap(() => app.callMain(["app.wasm", "x"]), "unreachable");
  assert.deepEqual(warnings, ["warning: cannot free main's arguments: app heap corrupted"]);
});

Deno.test("instance: apps without async natives keep synchronous exports", async () => {
  const runtime = quietRuntime();
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module (func (export "f") (result i32) i32.const 7))`)),
  );
  assert.equal(app.async, false);
  assert.equal(app.call("f"), 7);
  assert.equal(await app.callAsync("f"), 7);
});
