import assert from "node:assert/strict";
import { wat as assemble } from "./_wat.ts";
import { compileModule, compileModuleSync } from "../core/module/module.ts";
import { LoadError } from "../sdk/errors.ts";
import { readModule } from "../core/module/binary.ts";

function wat(src: string): Uint8Array {
  return assemble(src, { names: true });
}

async function run(bytes: Uint8Array, name: string, ...args: unknown[]): Promise<unknown> {
  const app = await compileModule(bytes);
  const instance = await WebAssembly.instantiate(app.module, {});
  const fn = instance.exports[name] as (...a: unknown[]) => unknown;
  return fn(...args);
}

Deno.test("module: compileModule reads and compiles an MVP module", async () => {
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

Deno.test("module: compileModule loads SIMD", async () => {
  const bytes = wat(`(module (func (export "f") (param i32) (result i32)
    local.get 0 i32x4.splat local.get 0 i32x4.splat i32x4.add i32x4.extract_lane 3))`);
  assert.equal(await run(bytes, "f", 21), 42);
});

Deno.test("module: compileModule loads relaxed SIMD and extended-const", async () => {
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

Deno.test("module: compileModule loads exceptions with a tag section", async () => {
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

Deno.test("module: compileModule loads tail calls", async () => {
  const bytes = wat(`(module
    (func $count (export "count") (param i32 i32) (result i32)
      local.get 0 i32.eqz
      if (result i32) local.get 1
      else local.get 0 i32.const 1 i32.sub local.get 1 i32.const 1 i32.add return_call $count
      end))`);
  assert.equal(await run(bytes, "count", 100000, 0), 100000);
});

Deno.test("module: compileModule loads multi-memory and memory64", async () => {
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

Deno.test("module: compileModule loads a GC struct type", async () => {
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

Deno.test("module: V8 validation errors become LoadError with offset", async () => {
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
      assert.match(e.reason, /^function #0 is invalid: type error/);
      assert.doesNotMatch(e.reason, /WebAssembly|@\+/);
      assert.equal(e.offset, 26);
      assert.match(e.message, /\(at byte offset 26\)$/);
      return true;
    });
  }
});

Deno.test("module: reader errors come before V8", async () => {
  await assert.rejects(
    () => compileModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])),
    (e: unknown) => e instanceof LoadError && e.reason === "unknown binary version",
  );
});

Deno.test("module: opaque sections are left to V8", async () => {
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

Deno.test("module: compileModuleSync compiles", () => {
  const app = compileModuleSync(wat(`(module (func (export "one") (result i32) i32.const 1))`));
  assert.equal(app.name, "module");
  const instance = new WebAssembly.Instance(app.module, {});
  assert.equal((instance.exports.one as () => number)(), 1);
});

// Fuzzing: truncated and mutated modules, from wat sources, hand-encoded bytes and the examples.

const SOURCES = [
  `(module $demo
    (type $t0 (func (param i32 i32) (result i32)))
    (import "env" "add" (func $add (type $t0)))
    (import "env" "table" (table 2 10 funcref))
    (import "env" "mem" (memory 1 2))
    (import "env" "g" (global $g (mut i32)))
    (func $main (export "main") (local $x i32) (local i64 i64) nop)
    (func $sum (param $a i32) (param $b i32) (result i32) (local f32)
      local.get 0 local.get 1 call $add)
    (table $t 3 funcref)
    (global $h i64 (i64.const -5))
    (global f64 (f64.const 1.5))
    (export "sum" (func $sum))
    (export "h" (global $h))
    (start $main)
    (elem (i32.const 0) $main $sum)
    (elem func $sum)
    (data (i32.const 16) "hello")
    (data "pass"))`,
  `(module
    (memory 1)
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func (export "loop") (param i32) (result i32) (local i32)
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.load8_u (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
      (block $b (block $c (br_table $b $c $b (local.get 1))))
      (local.get 1))
    (data (i32.const 0) "\\01\\02\\03\\04"))`,
  `(module
    (func (export "simd") (param i32) (result i32)
      local.get 0 i32x4.splat (v128.const i32x4 1 2 3 4) i32x4.add i32x4.extract_lane 3)
    (global $base i32 (i32.const 40))
    (global $g i32 (i32.add (global.get $base) (i32.const 2))))`,
  `(module
    (tag $oops (param i32))
    (func $throw (param i32) local.get 0 throw $oops)
    (func (export "f") (param i32) (result i32)
      (block $h (result i32)
        (try_table (catch $oops $h) local.get 0 call $throw)
        i32.const -1))
    (func $count (param i32) (result i32)
      local.get 0 i32.eqz
      if (result i32) i32.const 0
      else local.get 0 i32.const 1 i32.sub return_call $count end))`,
  `(module
    (type $point (struct (field $x i32) (field $y (mut i64))))
    (memory $a 1)
    (memory $b i64 1 2)
    (table 4 externref)
    (func (export "f") (param externref) (result i32)
      (i32.store $a (i32.const 0) (i32.const 40))
      (i32.store $b (i64.const 8) (i32.const 2))
      (i32.add (i32.load $a (i32.const 0)) (i32.load $b (i64.const 8)))))`,
];

function section(id: number, body: number[]): number[] {
  return [id, body.length, ...body]; // every body here is under 128 bytes
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];

/** Hand-encoded modules for what wabt cannot write: GC bodies, element kinds, dylink.0. */
const RAW = [
  [
    ...HEADER,
    ...section(1, [2, 0x5f, 2, 0x7f, 0, 0x7f, 1, 0x60, 0, 1, 0x7f]),
    ...section(3, [1, 1]),
    ...section(7, [1, 1, 0x66, 0, 0]),
    ...section(10, [1, 13, 0, 0x41, 42, 0x41, 0, 0xfb, 0, 0, 0xfb, 2, 0, 0, 0x0b]),
  ],
  [
    ...HEADER,
    ...section(0, [8, 0x64, 0x79, 0x6c, 0x69, 0x6e, 0x6b, 0x2e, 0x30, 1, 4, 100, 2, 3, 0]),
    ...section(1, [1, 0x60, 0, 0]),
    ...section(3, [1, 0]),
    ...section(4, [2, 0x70, 0, 4, 0x70, 0, 4]),
    ...section(9, [
      8,
      ...[0x00, 0x41, 0, 0x0b, 1, 0, 0x01, 0x00, 1, 0, 0x02, 1, 0x41, 0, 0x0b, 0x00, 1, 0],
      ...[0x03, 0x00, 1, 0, 0x04, 0x41, 1, 0x0b, 1, 0xd2, 0, 0x0b],
      ...[0x05, 0x70, 2, 0xd2, 0, 0x0b, 0xd0, 0x70, 0x0b],
      ...[0x06, 1, 0x41, 1, 0x0b, 0x70, 1, 0xd0, 0x70, 0x0b, 0x07, 0x70, 1, 0xd2, 0, 0x0b],
    ]),
    ...section(10, [1, 2, 0, 0x0b]),
  ],
];

async function exampleModules(): Promise<Uint8Array[]> {
  const found: Uint8Array[] = [];
  async function walk(dir: URL): Promise<void> {
    try {
      for await (const entry of Deno.readDir(dir)) {
        const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
        if (entry.isDirectory) await walk(url);
        else if (entry.name.endsWith(".wasm")) found.push(await Deno.readFile(url));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  await walk(new URL("../examples/", import.meta.url));
  return found;
}

/** mulberry32: a small seeded PRNG so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  let out = Uint8Array.from(bytes);
  for (let edits = 1 + int(3); edits > 0; edits--) {
    // keep the header mostly intact so mutations reach the sections
    const at = out.length > 8 && random() < 0.95 ? 8 + int(out.length - 8) : int(out.length);
    switch (int(5)) {
      case 0:
        out[at] = int(256);
        break;
      case 1:
        out[at]! ^= 1 << int(8);
        break;
      case 2:
        out[at] = [0x00, 0x7f, 0x80, 0xff, 0x0b, 0x40][int(6)]!;
        break;
      case 3:
        out = new Uint8Array([...out.subarray(0, at), int(256), ...out.subarray(at)]);
        break;
      default:
        out = new Uint8Array([...out.subarray(0, at), ...out.subarray(at + 1)]);
    }
  }
  return out;
}

Deno.test("module: truncated and mutated modules fail only with LoadError", async () => {
  const modules = [
    ...SOURCES.map((src) => assemble(src)),
    wat(SOURCES[0]!),
    ...RAW.map((bytes) => new Uint8Array(bytes)),
    ...(await exampleModules()),
  ];
  for (const bytes of modules) await compileModule(bytes); // the originals all load

  let cases = 0;
  let loaded = 0;
  let rejected = 0;
  const check = async (bytes: Uint8Array) => {
    cases++;
    try {
      await compileModule(bytes);
      loaded++;
    } catch (e) {
      if (!(e instanceof LoadError)) {
        throw new Error(`Not a LoadError for bytes [${bytes.join(",")}]: ${e}`, { cause: e });
      }
      assert.equal(typeof e.reason, "string");
      rejected++;
    }
  };

  for (const bytes of modules) {
    for (let length = 0; length < bytes.length; length++) await check(bytes.subarray(0, length));
  }
  const random = prng(0x5eed);
  while (cases < 20_000) {
    await check(mutate(modules[Math.floor(random() * modules.length)]!, random));
  }
  assert.ok(cases >= 10_000, `only ${cases} cases`);
  assert.ok(loaded > 0 && rejected > 0, `loaded ${loaded}, rejected ${rejected}`);
});

Deno.test("module: an invalid function is named by index, name and byte offset", async () => {
  const bytes = assemble(
    `(module (import "env" "f" (func)) (func $ok) (func $broken (result i32) i64.const 1))`,
    { names: true },
  );
  for (const compile of [compileModule, compileModuleSync]) {
    await assert.rejects(async () => await compile(bytes), (e: unknown) => {
      assert.ok(e instanceof LoadError);
      assert.equal(
        e.reason,
        'function #2 "broken" is invalid: type error in fallthru[0] (expected i32, got i64)',
      );
      // V8 faults the body's final "end", where the result types meet.
      const body = readModule(bytes).codes[1]!;
      assert.equal(e.offset, body.offset + body.size - 1);
      assert.equal(bytes[e.offset!], 0x0b);
      assert.equal(e.message, `${e.reason} (at byte offset ${e.offset})`);
      return true;
    });
  }
});

Deno.test("module: code bodies read when asked for give what reading them at once gives", async () => {
  const bytes = wat(`(module
    (func (export "a") (param i32) (result i32) (local i64 f32) local.get 0)
    (func (export "b") (local v128) nop)
    (data "x"))`);
  const eager = readModule(bytes);
  for (const app of [await compileModule(bytes), compileModuleSync(bytes)]) {
    assert.deepEqual(app.info.codes, eager.codes);
    assert.deepEqual(app.info.sections, eager.sections);
    assert.deepEqual(app.info.functions, eager.functions);
    assert.deepEqual([...app.info.names.functions], [...eager.names.functions]);
  }
});

Deno.test("module: damage in the code bodies is named by the reader, first in byte order", async () => {
  const header = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  const type = [1, 4, 1, 0x60, 0, 0];
  const func = [3, 2, 1, 0];
  // One body whose size (9) runs past its 4-byte section; then a data section claiming 5
  // segments in no bytes, damage the reader would meet first if it skipped the bodies.
  const code = [10, 4, 1, 9, 0, 0x0b];
  const data = [11, 1, 5];
  for (
    const bytes of [[...header, ...type, ...func, ...code], [
      ...header,
      ...type,
      ...func,
      ...code,
      ...data,
    ]]
  ) {
    for (const compile of [compileModule, compileModuleSync]) {
      await assert.rejects(async () => await compile(new Uint8Array(bytes)), (e: unknown) => {
        assert.ok(e instanceof LoadError);
        assert.equal(e.reason, "unexpected end of section or function");
        assert.equal(e.offset, 22);
        return true;
      });
    }
  }
});
