import assert from "node:assert/strict";
import { wat as assemble } from "./_wat.ts";
import { compileModule, compileModuleSync } from "../core/module/module.ts";
import { LoadError } from "../sdk/errors.ts";

function wat(src: string): Uint8Array {
  return assemble(src, { names: true });
}

async function run(bytes: Uint8Array, name: string, ...args: unknown[]): Promise<unknown> {
  const app = await compileModule(bytes);
  const instance = await WebAssembly.instantiate(app.module, {});
  const fn = instance.exports[name] as (...a: unknown[]) => unknown;
  return fn(...args);
}

Deno.test("binary: compileModule reads and compiles an MVP module", async () => {
  const bytes = wat(`(module $adder
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))`);
  const app = await compileModule(bytes);
  assert.equal(app.name, "adder");
  assert.equal(app.bytes, bytes);
  assert.deepEqual(app.info.exports, [{ name: "add", kind: "function", index: 0 }]);
  assert.deepEqual(WebAssembly.Module.exports(app.module), [{ name: "add", kind: "function" }]);
  assert.equal(await run(bytes, "add", 2, 40), 42);
  assert.equal((await compileModule(bytes, "given")).name, "given");
});

Deno.test("binary: compileModule loads SIMD", async () => {
  const bytes = wat(`(module (func (export "f") (param i32) (result i32)
    local.get 0 i32x4.splat local.get 0 i32x4.splat i32x4.add i32x4.extract_lane 3))`);
  assert.equal(await run(bytes, "f", 21), 42);
});

Deno.test("binary: compileModule loads relaxed SIMD and extended-const", async () => {
  const bytes = wat(`(module
    (global $base i32 (i32.const 40))
    (global $g i32 (i32.add (global.get $base) (i32.const 2)))
    (func (export "g") (result i32) global.get $g)
    (func (export "r") (param i32) (result i32)
      local.get 0 i32x4.splat (v128.const i32x4 0 0 0 0) (v128.const i32x4 -1 -1 -1 -1)
      i32x4.relaxed_laneselect i32x4.extract_lane 0))`);
  const app = await compileModule(bytes);
  assert.equal(app.info.globals.length, 2);
  assert.equal(await run(bytes, "g"), 42);
  assert.equal(await run(bytes, "r", 7), 7);
});

Deno.test("binary: compileModule loads exceptions with a tag section", async () => {
  const bytes = wat(`(module
    (tag $oops (param i32))
    (func $throw (param i32) local.get 0 throw $oops)
    (func (export "f") (param i32) (result i32)
      (block $h (result i32)
        (try_table (catch $oops $h) local.get 0 call $throw)
        i32.const -1)))`);
  const app = await compileModule(bytes);
  assert.deepEqual(app.info.tags, [0]);
  assert.equal(await run(bytes, "f", 9), 9);
});

Deno.test("binary: compileModule loads tail calls", async () => {
  const bytes = wat(`(module
    (func $count (export "count") (param i32 i32) (result i32)
      local.get 0 i32.eqz
      if (result i32) local.get 1
      else local.get 0 i32.const 1 i32.sub local.get 1 i32.const 1 i32.add return_call $count
      end))`);
  assert.equal(await run(bytes, "count", 100000, 0), 100000);
});

Deno.test("binary: compileModule loads multi-memory and memory64", async () => {
  const bytes = wat(`(module
    (memory $a 1)
    (memory $b i64 1 2)
    (func (export "f") (result i32)
      (i32.store $a (i32.const 0) (i32.const 40))
      (i32.store $b (i64.const 8) (i32.const 2))
      (i32.add (i32.load $a (i32.const 0)) (i32.load $b (i64.const 8)))))`);
  const app = await compileModule(bytes);
  assert.deepEqual(app.info.memories, [
    { min: 1, shared: false, memory64: false },
    { min: 1, max: 2, shared: false, memory64: true },
  ]);
  assert.equal(await run(bytes, "f"), 42);
});

Deno.test("binary: compileModule loads a GC struct type", async () => {
  // wabt assembles struct types but not GC instructions, so the body is hand-encoded:
  // (type $point (struct (field i32) (field (mut i32))))
  // (func (export "f") (result i32)
  //   (struct.get $point 0 (struct.new $point (i32.const 42) (i32.const 0))))
  const bytes = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...[1, 11, 2, 0x5f, 2, 0x7f, 0, 0x7f, 1, 0x60, 0, 1, 0x7f],
    ...[3, 2, 1, 1],
    ...[7, 5, 1, 1, 0x66, 0, 0],
    ...[10, 15, 1, 13, 0, 0x41, 42, 0x41, 0, 0xfb, 0, 0, 0xfb, 2, 0, 0, 0x0b],
  ]);
  const app = await compileModule(bytes);
  assert.deepEqual(app.info.typeKinds, ["struct", "func"]);
  assert.equal(app.info.types[0], undefined);
  assert.equal(await run(bytes, "f"), 42);
  // and a struct type assembled by wabt
  const assembled = await compileModule(wat(`(module
    (type $point (struct (field $x i32) (field $y (mut i64))))
    (func (export "f") (result i32) (i32.const 42)))`));
  assert.deepEqual(assembled.info.typeKinds, ["struct", "func"]);
});

Deno.test("binary: V8 validation errors become LoadError with offset", async () => {
  // (func (result i32) i64.const 0): a type mismatch only validation finds
  const bytes = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...[1, 5, 1, 0x60, 0, 1, 0x7f],
    ...[3, 2, 1, 0],
    ...[10, 6, 1, 4, 0, 0x42, 0, 0x0b],
  ]);
  for (const compile of [compileModule, compileModuleSync]) {
    await assert.rejects(async () => await compile(bytes), (e: unknown) => {
      assert.ok(e instanceof LoadError);
      assert.match(e.reason, /^Compiling function #0 failed: type error/);
      assert.doesNotMatch(e.reason, /WebAssembly|@\+/);
      assert.equal(e.offset, 26);
      assert.match(e.message, /\(at byte offset 26\)$/);
      return true;
    });
  }
});

Deno.test("binary: reader errors come before V8", async () => {
  await assert.rejects(
    () => compileModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])),
    (e: unknown) => e instanceof LoadError && e.reason === "unknown binary version",
  );
});

Deno.test("binary: opaque sections are left to V8", async () => {
  // global initialised with local.get: the reader defers, V8 rejects
  const bytes = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...[6, 6, 1, 0x7f, 0, 0x20, 0, 0x0b],
  ]);
  await assert.rejects(() => compileModule(bytes), (e: unknown) => {
    assert.ok(e instanceof LoadError);
    assert.equal(typeof e.offset, "number");
    return true;
  });
});

Deno.test("binary: compileModuleSync compiles", () => {
  const app = compileModuleSync(wat(`(module (func (export "one") (result i32) i32.const 1))`));
  assert.equal(app.name, "module");
  const instance = new WebAssembly.Instance(app.module, {});
  assert.equal((instance.exports.one as () => number)(), 1);
});
