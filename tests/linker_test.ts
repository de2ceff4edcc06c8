import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime, type RuntimeOptions } from "../core/instance/runtime.ts";
import type { AppInstance, InstanceOptions } from "../core/instance/instance.ts";
import { Linker } from "../core/link/linker.ts";
import { LinkError } from "../sdk/errors.ts";

function quietRuntime(options: RuntimeOptions = {}, warnings: string[] = []): Runtime {
  return new Runtime({ stdout: () => {}, warn: (m) => warnings.push(m), ...options });
}

async function instantiate(
  runtime: Runtime,
  source: string,
  options: InstanceOptions = {},
): Promise<AppInstance> {
  const module = await runtime.load(wat(source), options.name);
  return await runtime.instantiate(module, { heapSize: 0, ...options });
}

/** Instantiation fails with our LinkError (never V8's) and exactly this message. */
async function assertLinkError(
  runtime: Runtime,
  source: string,
  message: string | RegExp,
  options: InstanceOptions = {},
): Promise<void> {
  await assert.rejects(instantiate(runtime, source, options), (e: unknown) => {
    assert.ok(e instanceof LinkError, `expected LinkError, got ${e}`);
    assert.ok(!(e instanceof WebAssembly.LinkError));
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

const PROVIDER = `(module
  (memory (export "mem") 1 4)
  (table (export "tab") 2 funcref)
  (global (export "counter") (mut i32) (i32.const 5))
  (global (export "answer") i64 (i64.const 42))
  (tag (export "oops") (param i32))
  (func $seven (result i32) i32.const 7)
  (elem (i32.const 1) func $seven)
  (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "read") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "counter_value") (result i32) global.get 0)
  (func (export "fail") (param i32) (throw 0 (local.get 0))))`;

async function withProvider(options: RuntimeOptions = {}) {
  const runtime = quietRuntime(options);
  const provider = await instantiate(runtime, PROVIDER, { name: "lib" });
  runtime.register("lib", provider);
  return { runtime, provider };
}

Deno.test("linker: a registered instance's memory is the importer's memory, both ways", async () => {
  const { runtime, provider } = await withProvider();
  const user = await instantiate(
    runtime,
    `(module (import "lib" "mem" (memory 1))
      (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))`,
  );
  assert.equal(user.memory.memory, provider.memory.memory);
  user.call("store", 16, 0x1234);
  assert.equal(provider.call("read", 16), 0x1234);
  provider.memory.setI32(32, 99);
  assert.equal(user.call("load", 32), 99);
  // No app heap is appended to a memory that belongs to another instance.
  assert.equal(provider.memory.memory.buffer.byteLength, 65536);
  user.free();
  provider.free();
});

Deno.test("linker: functions, tables, globals and tags of a registered instance", async () => {
  const { runtime, provider } = await withProvider();
  const user = await instantiate(
    runtime,
    `(module
      (import "lib" "inc" (func $inc (param i32) (result i32)))
      (import "lib" "tab" (table 2 funcref))
      (import "lib" "counter" (global $counter (mut i32)))
      (import "lib" "answer" (global $answer i64))
      (import "lib" "oops" (tag $oops (param i32)))
      (import "lib" "fail" (func $fail (param i32)))
      (type $ret (func (result i32)))
      (func (export "inc") (param i32) (result i32) (call $inc (local.get 0)))
      (func (export "indirect") (result i32) (call_indirect (type $ret) (i32.const 1)))
      (func (export "bump") (global.set $counter (i32.add (global.get $counter) (i32.const 10))))
      (func (export "answer") (result i64) global.get $answer)
      (func (export "catch") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $oops $h) (call $fail (local.get 0)))
          (i32.const -1))))`,
  );
  assert.equal(user.call("inc", 41), 42);
  assert.equal(user.call("indirect"), 7);
  user.call("bump");
  assert.equal(provider.call("counter_value"), 15);
  assert.equal(user.call("answer"), 42n);
  // The provider throws its tag; the importer catches it by the same tag.
  assert.equal(user.call("catch", 9), 9);
  user.free();
  provider.free();
});

Deno.test("linker: an instance's exports are checked against each import, naming both", async () => {
  const { runtime, provider } = await withProvider();
  const lib = (what: string) => `export "${what}" of instance "lib"`;
  await assertLinkError(
    runtime,
    `(module (import "lib" "inc" (func (param i32 i32) (result i32))))`,
    `Cannot link import "lib"."inc" (function (i32, i32) -> i32) to ${lib("inc")} ` +
      `(function (i32) -> i32): the types differ`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "mem" (memory 1 2)))`,
    `Cannot link import "lib"."mem" (memory of 1 to 2 pages) to ${lib("mem")} ` +
      `(memory of 1 to 4 pages, 1 page now): its maximum of 4 is above the import's 2`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "mem" (memory 3)))`,
    `Cannot link import "lib"."mem" (memory of at least 3 pages) to ${lib("mem")} ` +
      `(memory of 1 to 4 pages, 1 page now): it has 1 page, the import needs at least 3`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "tab" (table 1 externref)))`,
    `Cannot link import "lib"."tab" (table of externref, at least 1 element) to ${lib("tab")} ` +
      `(table of funcref, at least 2 elements, 2 elements now): it holds funcref`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "counter" (global i32)))`,
    `Cannot link import "lib"."counter" (global i32) to ${lib("counter")} (global mut i32): ` +
      `the mutability differs`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "answer" (global i32)))`,
    `Cannot link import "lib"."answer" (global i32) to ${lib("answer")} (global i64): ` +
      `the value types differ`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "oops" (tag (param i64))))`,
    `Cannot link import "lib"."oops" (tag (i64) -> ()) to ${lib("oops")} (tag (i32) -> ()): ` +
      `the types differ`,
  );
  await assertLinkError(
    runtime,
    `(module (import "lib" "mem" (func)))`,
    `Cannot link import "lib"."mem" (function () -> ()) to ${lib("mem")} ` +
      `(memory of 1 to 4 pages, 1 page now): it is a memory, not a function`,
  );
  provider.free();
});

Deno.test("linker: a memory is checked at its size when imported, not when registered", async () => {
  const { runtime, provider } = await withProvider();
  const source = `(module (import "lib" "mem" (memory 2)))`;
  await assertLinkError(runtime, source, /it has 1 page, the import needs at least 2$/);
  provider.memory.memory.grow(1);
  const user = await instantiate(runtime, source);
  assert.equal(user.memory.memory.buffer.byteLength, 2 * 65536);
  user.free();
  provider.free();
});

Deno.test("linker: a memory and a table of the same name are created apart", async () => {
  // Both cannot sit in one import object: V8's refusal still comes out as our LinkError.
  await assertLinkError(
    quietRuntime(),
    `(module (import "m" "x" (memory 1)) (import "m" "x" (table 100000 funcref)))`,
    /^Cannot link import "m"\."x" \(memory of at least 1 page\): /,
  );
});

Deno.test("linker: a memory the host defines is shared and checked", async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 3 });
  const runtime = quietRuntime().define("env", "memory", memory);
  const app = await instantiate(
    runtime,
    `(module (import "env" "memory" (memory 1 3))
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))`,
  );
  new DataView(memory.buffer).setInt32(100, -7, true);
  assert.equal(app.call("load", 100), -7);
  assert.equal(app.memory.memory, memory);
  app.free();
  await assertLinkError(
    runtime,
    `(module (import "env" "memory" (memory 2)))`,
    `Cannot link import "env"."memory" (memory of at least 2 pages) to the definition of ` +
      `"env"."memory" (memory of 1 page now): it has 1 page, the import needs at least 2`,
  );
  // JS cannot read a memory's maximum: V8 finds this one, and it still comes out as ours.
  await assertLinkError(
    runtime,
    `(module (import "env" "memory" (memory 1 2)))`,
    /^Cannot link import "env"\."memory" \(memory of 1 to 2 pages\): .*maximum/,
  );
  await assertLinkError(
    runtime,
    `(module (import "env" "memory" (memory 1 3 shared)))`,
    /^Cannot link import "env"\."memory" \(shared memory of 1 to 3 pages\) to the definition .*: it is not shared$/,
  );
});

Deno.test("linker: tables, globals and functions the host defines", async () => {
  const table = new WebAssembly.Table({ element: "externref", initial: 2 } as never);
  table.set(1, { hello: "world" } as never);
  const mutable = new WebAssembly.Global({ value: "i32", mutable: true }, 3);
  const calls: unknown[][] = [];
  const runtime = quietRuntime()
    .define("host", "table", table)
    .define("host", "g", mutable)
    .define("host", "pi", Math.PI)
    .define("host", "big", 1n << 40n)
    .define("host", "small64", 12) // a number for an i64 global becomes a bigint
    .define("host", "log", (...args: unknown[]) => {
      calls.push(args);
      return [args.length, 2.5];
    });
  const app = await instantiate(
    runtime,
    `(module
      (import "host" "table" (table 2 externref))
      (import "host" "g" (global $g (mut i32)))
      (import "host" "pi" (global $pi f64))
      (import "host" "big" (global $big i64))
      (import "host" "small64" (global $small i64))
      (import "host" "log" (func $log (param i32 i64) (result i32 f32)))
      (func (export "get") (param i32) (result externref) (table.get (local.get 0)))
      (func (export "set_g") (param i32) (global.set $g (local.get 0)))
      (func (export "pi") (result f64) global.get $pi)
      (func (export "sum64") (result i64) (i64.add (global.get $big) (global.get $small)))
      (func (export "log") (result i32 f32) (call $log (i32.const 1) (i64.const 2))))`,
  );
  assert.deepEqual(app.call("get", 1), { hello: "world" });
  app.call("set_g", 77);
  assert.equal(mutable.value, 77);
  assert.equal(app.call("pi"), Math.PI);
  assert.equal(app.call("sum64"), (1n << 40n) + 12n);
  assert.deepEqual(app.call("log"), [2, 2.5]);
  assert.deepEqual(calls, [[1, 2n]]);
  app.free();
  await assertLinkError(
    runtime,
    `(module (import "host" "pi" (global (mut f64))))`,
    `Cannot link import "host"."pi" (global mut f64) to the definition of "host"."pi" ` +
      `(global): a plain value can only be an immutable global`,
  );
  await assertLinkError(
    runtime,
    `(module (import "host" "g" (global i32)))`,
    /^Cannot link import "host"\."g" \(global i32\): .*mutability/,
  );
  await assertLinkError(
    runtime,
    `(module (import "host" "table" (table 3 externref)))`,
    `Cannot link import "host"."table" (table of externref, at least 3 elements) to the ` +
      `definition of "host"."table" (table of 2 elements now): it has 2 elements, the import ` +
      `needs at least 3`,
  );
  assert.throws(
    () => runtime.define("host", "bad", "text" as never),
    /Cannot define "host"\."bad": expected a WebAssembly\.Memory.*got string/,
  );
});

Deno.test("linker: 16 bytes the host defines are an immutable v128 global", async () => {
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => 16 - i);
  const runtime = quietRuntime().define("host", "v", bytes);
  const app = await instantiate(
    runtime,
    `(module (import "host" "v" (global $v v128))
      (func (export "v") (result v128) global.get $v))`,
  );
  assert.deepEqual(app.call("v"), bytes);
  app.free();
  await assertLinkError(
    runtime,
    `(module (import "host" "v" (global (mut v128))))`,
    `Cannot link import "host"."v" (global mut v128) to the definition of "host"."v" ` +
      `(global v128): a plain value can only be an immutable global`,
  );
  await assertLinkError(
    runtime,
    `(module (import "host" "v" (global i32)))`,
    `Cannot link import "host"."v" (global i32) to the definition of "host"."v" ` +
      `(global v128): 16 bytes cannot be a global i32`,
  );
  assert.throws(
    () => runtime.define("host", "short", new Uint8Array(4)),
    /expected .* 16 bytes, got 4 bytes$/,
  );
});

Deno.test("linker: a host function of a v128 type sees and returns 16 bytes", async () => {
  const runtime = quietRuntime().define(
    "host",
    "xor",
    (a: Uint8Array, b: Uint8Array, k: number) => a.map((x, i) => x ^ b[i]! ^ k),
  );
  const app = await instantiate(
    runtime,
    `(module (import "host" "xor" (func $xor (param v128 v128 i32) (result v128)))
      (func (export "run") (param v128 v128) (result v128)
        (call $xor (local.get 0) (local.get 1) (i32.const 0))))`,
  );
  const a = Uint8Array.from({ length: 16 }, (_, i) => i);
  const b = new Uint8Array(16).fill(0xf0);
  assert.deepEqual(app.call("run", a, b), a.map((x) => x ^ 0xf0));
  app.free();
});

Deno.test("linker: per-instance imports come before the runtime's definitions", async () => {
  const runtime = quietRuntime().define("env", "k", 1);
  const source = `(module (import "env" "k" (global i32))
    (func (export "k") (result i32) global.get 0))`;
  const own = await instantiate(runtime, source, { imports: { env: { k: 2 } } });
  const shared = await instantiate(runtime, source);
  assert.equal(own.call("k"), 2);
  assert.equal(shared.call("k"), 1);
  own.free();
  shared.free();
});

Deno.test("linker: definitions come before native libraries", async () => {
  const runtime = quietRuntime().define("env", "twice", (x: number) => 2 * x);
  const app = await instantiate(
    runtime,
    `(module (import "env" "twice" (func $t (param i32) (result i32)))
      (func (export "run") (result i32) (call $t (i32.const 21))))`,
  );
  assert.equal(app.call("run"), 42);
  app.free();
});

Deno.test("linker: unknown imports trap by default and are link errors when asked", async () => {
  const warnings: string[] = [];
  const source = `(module (import "env" "nope" (func $nope (param i32)))
    (func (export "run") (call $nope (i32.const 1))))`;
  const lenient = quietRuntime({}, warnings);
  const app = await instantiate(lenient, source);
  assert.deepEqual(warnings, ["warning: failed to link import function (env, nope)"]);
  assert.throws(() => app.call("run"), /failed to call unlinked import function \(env, nope\)/);
  app.free();

  const strict = quietRuntime({ unknownImports: "error" });
  const message = `Cannot link import "env"."nope" (function (i32) -> ()): ` +
    `no native library, definition or registered instance provides it`;
  await assertLinkError(strict, source, message);
  await assertLinkError(lenient, source, message, { unknownImports: "error" });
  await assertLinkError(
    strict,
    `(module (import "env" "memory" (memory 1)))`,
    `Cannot link import "env"."memory" (memory of at least 1 page): ` +
      `no native library, definition or registered instance provides it`,
  );
  await assertLinkError(
    lenient,
    `(module (import "env" "oops" (tag (param i32))))`,
    `Cannot link import "env"."oops" (tag (i32) -> ()): ` +
      `no definition or registered instance provides it`,
  );
});

Deno.test("linker: one memory name imported twice gets one memory meeting both", async () => {
  const runtime = quietRuntime();
  const app = await instantiate(
    runtime,
    `(module (import "m" "mem" (memory $a 1 2)) (import "m" "mem" (memory $b 2))
      (func (export "pages") (result i32 i32) (memory.size $a) (memory.size $b))
      (func (export "same") (result i32)
        (i32.store $a (i32.const 8) (i32.const 77)) (i32.load $b (i32.const 8))))`,
  );
  assert.deepEqual(app.call("pages"), [2, 2]);
  assert.equal(app.call("same"), 77);
  app.free();
  // Limits no one memory meets: our LinkError, never V8's raw one.
  await assertLinkError(
    runtime,
    `(module (import "m" "mem" (memory 1 1)) (import "m" "mem" (memory 2)))`,
    `Cannot link import "m"."mem": it is imported twice with limits no one memory meets ` +
      `(1 to 1 and at least 2)`,
  );
  // The same with a supplied memory: each import is checked against it.
  runtime.define("m", "mem", new WebAssembly.Memory({ initial: 1 }));
  await assertLinkError(
    runtime,
    `(module (import "m" "mem" (memory 1)) (import "m" "mem" (memory 2)))`,
    /^Cannot link import "m"\."mem" \(memory of at least 2 pages\) to the definition of "m"\."mem" \(memory of 1 page now\): it has 1 page, the import needs at least 2$/,
  );
});

Deno.test("linker: a Linker holds definitions and every export of an instance", async () => {
  const runtime = quietRuntime();
  const provider = await instantiate(runtime, PROVIDER, { name: "lib" });
  const linker = new Linker().instance("lib", provider);
  assert.deepEqual(
    ["mem", "tab", "counter", "answer", "oops", "inc"].map((n) => linker.get("lib", n)?.type.kind),
    ["memory", "table", "global", "global", "tag", "function"],
  );
  assert.equal(linker.get("lib", "mem")?.value, provider.memory.memory);
  assert.equal(linker.get("lib", "missing"), undefined);
  assert.equal(linker.get("lib", "mem")?.origin, `export "mem" of instance "lib"`);
  provider.free();
});
