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

async function valuesApp() {
  const runtime = new Runtime({ stdout: () => {}, warn: () => {} });
  const module = await runtime.load(wat(`(module
    (func $seven (export "seven") (result i32) i32.const 7)
    (func (export "swap") (param v128) (result v128)
      (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get 0) (local.get 0)))
    (func (export "split") (param v128 i64) (result i32 v128 i64)
      (i32x4.extract_lane 3 (local.get 0)) (local.get 0) (i64.add (local.get 1) (i64.const 1)))
    (func (export "id_ref") (param externref) (result externref) local.get 0)
    (func (export "call_ref") (param funcref) (result i32)
      (table.set (i32.const 0) (local.get 0))
      (call_indirect (result i32) (i32.const 0)))
    (func (export "get_ref") (result funcref) ref.func $seven)
    (func (export "pair") (param i64) (result i64 f64) (local.get 0) (f64.const 0.5))
    (table 1 funcref)
    (elem declare func $seven))`));
  return await runtime.instantiate(module, { heapSize: 0 });
}

Deno.test("instance: call passes v128 as 16 bytes, and several results as an array", async () => {
  const app = await valuesApp();
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  assert.deepEqual(app.call("swap", bytes), bytes.slice().reverse());
  const [lane, same, next] = app.call("split", bytes, 41) as [number, Uint8Array, bigint];
  assert.equal(lane, 0x100f0e0d);
  assert.deepEqual(same, bytes);
  assert.equal(next, 42n);
  assert.deepEqual(app.call("pair", 2n), [2n, 0.5]);
  app.free();
});

Deno.test("instance: externref and funcref values pass through call", async () => {
  const app = await valuesApp();
  const thing = { id: 1 };
  assert.equal(app.call("id_ref", thing), thing);
  assert.equal(app.call("id_ref", null), null);
  const seven = app.call("get_ref");
  assert.equal(typeof seven, "function");
  assert.equal(app.call("call_ref", seven), 7);
  app.free();
});

Deno.test("instance: host-side misuse of call is a TypeError naming the export", async () => {
  const app = await valuesApp();
  assert.throws(
    () => app.call("swap", new Uint8Array(4)),
    {
      name: "TypeError",
      message: 'Argument 1 of export "swap" must be a 16-byte Uint8Array (v128), got 4 bytes',
    },
  );
  assert.throws(
    () => app.call("pair", "2"),
    {
      name: "TypeError",
      message: 'Argument 1 of export "pair" must be a bigint or an integer (i64), got "2"',
    },
  );
  // A JS function is not a wasm function: V8 refuses it at the boundary, before wasm runs.
  assert.throws(() => app.call("call_ref", () => 7), (e: unknown) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /^Cannot call export "call_ref": /);
    return true;
  });
  app.free();
});

Deno.test("instance: a typed lookup calls like call, v128 and several results included", async () => {
  const app = await valuesApp();
  const swap = app.lookup("swap", "(V)V")!;
  const split = app.lookup("split", "(VI)iVI")!;
  const bytes = new Uint8Array(16).fill(3);
  assert.deepEqual(swap(bytes), bytes);
  const [lane, v, n] = split(bytes, 1);
  assert.equal(lane, 0x03030303);
  assert.deepEqual(v, bytes);
  assert.equal(n, 2n);
  assert.throws(
    () => app.lookup("swap", "(i)i"),
    /Export "swap" does not match signature "\(i\)i"/,
  );
  assert.equal(app.lookup("missing", "()"), undefined);
  app.free();
});
