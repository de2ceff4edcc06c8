import assert from "node:assert/strict";
import { ALL_FEATURES, wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { NULL_GUARD, SideModule, sideModuleLayout, STACK_TOP } from "../core/link/side_module.ts";
import { readModule } from "../core/module/binary.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import { LinkError } from "../sdk/errors.ts";
import libc from "../natives/libc/mod.ts";

const PAGE = 65536;

/** A `dylink.0` custom section (WASM_DYLINK_MEM_INFO only) as WAT, placed first. */
function dylink(memorySize: number, memoryAlign = 0, tableSize = 0, tableAlign = 0): string {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      const byte = n & 0x7f;
      n >>>= 7;
      out.push(n === 0 ? byte : byte | 0x80);
    } while (n !== 0);
    return out;
  };
  const info = [memorySize, memoryAlign, tableSize, tableAlign].flatMap(leb);
  const body = [1, ...leb(info.length), ...info];
  const text = body.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
  return `(@custom "dylink.0" (before type) "${text}")`;
}

/** Assembles a side module: WAT with a `dylink.0` section. */
function side(source: string): Uint8Array {
  return wat(source, { features: { ...ALL_FEATURES, annotations: true } });
}

function quietRuntime(...plugins: Parameters<Runtime["register"]>[0][]): Runtime {
  const runtime = new Runtime({ stdout: () => {}, warn: () => {} });
  for (const plugin of plugins) runtime.register(plugin);
  return runtime;
}

async function linkError(runtime: Runtime, bytes: Uint8Array, message: string): Promise<void> {
  const module = await runtime.load(bytes);
  await assert.rejects(() => runtime.instantiate(module), (e: unknown) => {
    assert.ok(e instanceof LinkError, `expected LinkError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("side_module: layout puts the stack in page 0 above a null guard, data from page 1", () => {
  const layout = sideModuleLayout(
    { memorySize: 70000, memoryAlign: 3, tableSize: 4, tableAlign: 0, needed: [] },
    2,
  );
  assert.deepEqual(layout, {
    stackLow: NULL_GUARD,
    stackTop: STACK_TOP,
    memoryBase: PAGE,
    pages: 3, // page 0, then 70000 bytes of data over two more
    tableBase: 1,
    tableSize: 1 + 4 + 2, // empty slot 0, the elements, one slot per GOT.func
  });
  const aligned = sideModuleLayout({
    memorySize: 0,
    memoryAlign: 17,
    tableSize: 1,
    tableAlign: 2,
    needed: [],
  });
  assert.equal(aligned.memoryBase, 2 * PAGE);
  assert.equal(aligned.tableBase, 4);
});

Deno.test("side_module: data lands at __memory_base, elements at __table_base, the stack pointer at the stack top", async () => {
  const bytes = side(`(module ${dylink(5, 0, 1)}
    (import "env" "memory" (memory 1))
    (import "env" "__indirect_function_table" (table 0 funcref))
    (import "env" "__memory_base" (global $mb i32))
    (import "env" "__table_base" (global $tb i32))
    (import "env" "__stack_pointer" (global $sp (mut i32)))
    (func $seven (result i32) i32.const 7)
    (elem (global.get $tb) func $seven)
    (data (global.get $mb) "hello")
    (func (export "mb") (result i32) global.get $mb)
    (func (export "tb") (result i32) global.get $tb)
    (func (export "sp") (result i32) global.get $sp)
    (func (export "pages") (result i32) memory.size)
    (func (export "call") (param i32) (result i32) local.get 0 call_indirect (result i32)))`);
  const runtime = quietRuntime();
  const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 16384 });
  assert.equal(app.call("mb"), PAGE);
  assert.equal(app.call("tb"), 1);
  assert.equal(app.call("sp"), STACK_TOP);
  assert.equal(app.call("call", 1), 7);
  assert.equal(new TextDecoder().decode(app.memory.bytes(PAGE, 5)), "hello");
  assert.equal(app.call("pages"), 3, "page 0 (stack), page 1 (data), one page of app heap");
  assert.equal(app.heap.base, 2 * PAGE);
  assert.throws(() => app.call("call", 0), /uninitialized element|null function/);
});

Deno.test("side_module: GOT.mem is __memory_base plus the exported offset; relocations run before constructors", async () => {
  // As wasm-ld writes it: `counter` at data offset 8, `ptr` (= &counter) at offset 12.
  const bytes = side(`(module ${dylink(16, 2)}
    (import "env" "memory" (memory 0))
    (import "env" "__memory_base" (global $mb i32))
    (import "env" "__stack_pointer" (global $sp (mut i32)))
    (import "GOT.mem" "counter" (global $got_counter (mut i32)))
    (global $counter i32 (i32.const 8))
    (global $ptr i32 (i32.const 12))
    (global $low (mut i32) (i32.const -1))
    (global $high (mut i32) (i32.const -1))
    (export "counter" (global $counter))
    (export "ptr" (global $ptr))
    (data (global.get $mb) "\\00\\00\\00\\00\\00\\00\\00\\00\\29\\00\\00\\00")
    (func (export "__set_stack_limits") (param i32 i32)
      local.get 0 global.set $high
      local.get 1 global.set $low)
    (func (export "__wasm_apply_data_relocs")
      global.get $mb global.get $got_counter i32.store offset=12)
    ;; a constructor that follows the relocated pointer: counter += 1
    (func (export "__wasm_call_ctors") (local i32)
      global.get $mb i32.load offset=12 local.tee 0
      local.get 0 i32.load i32.const 1 i32.add i32.store)
    (func (export "got") (result i32) global.get $got_counter)
    (func (export "read") (result i32) global.get $got_counter i32.load)
    (func (export "limits") (result i32 i32) global.get $high global.get $low))`);
  const runtime = quietRuntime();
  const app = await runtime.instantiate(await runtime.load(bytes));
  assert.equal(app.call("got"), PAGE + 8);
  assert.equal(app.memory.i32(PAGE + 12), PAGE + 8, "the pointer was relocated");
  assert.equal(app.call("read"), 42, "the constructor ran after the relocation");
  assert.deepEqual(app.call("limits"), [STACK_TOP, NULL_GUARD]);
});

Deno.test("side_module: GOT.func entries get table slots after the module's elements", async () => {
  const twice = defineNativeLibrary({
    name: "vendor",
    symbols: { twice: native("(i)i", (_ctx, x) => 2 * x) },
  });
  const bytes = side(`(module ${dylink(0, 0, 1)}
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (import "env" "memory" (memory 0))
    (import "env" "__indirect_function_table" (table 0 funcref))
    (import "env" "__table_base" (global $tb i32))
    (import "GOT.func" "thrice" (global $got_thrice (mut i32)))
    (import "GOT.func" "twice" (global $got_twice (mut i32)))
    (type $ii (func (param i32) (result i32)))
    (func $inc (type $ii) local.get 0 i32.const 1 i32.add)
    (func $thrice (export "thrice") (type $ii) local.get 0 i32.const 3 i32.mul)
    (elem (global.get $tb) func $inc)
    (func (export "slots") (result i32 i32) global.get $got_thrice global.get $got_twice)
    (func (export "via") (param i32 i32) (result i32)
      local.get 1 local.get 0 call_indirect (type $ii)))`);
  const runtime = quietRuntime(twice);
  const app = await runtime.instantiate(await runtime.load(bytes));
  assert.deepEqual(app.call("slots"), [2, 3], "slot 0 empty, 1 the element, then the GOT");
  assert.equal(app.call("via", 1, 5), 6);
  assert.equal(app.call("via", 2, 5), 15, "the module's own export");
  assert.equal(app.call("via", 3, 5), 10, "an imported native, put in the table");
});

Deno.test("side_module: a GOT entry the module cannot fill is a link error naming it", async () => {
  const runtime = quietRuntime();
  await linkError(
    runtime,
    side(`(module ${dylink(0)} (import "env" "memory" (memory 0))
      (import "GOT.mem" "stdout" (global (mut i32))))`),
    `Cannot link import "GOT.mem"."stdout": the module exports no data symbol "stdout", ` +
      `and a side module has no main module to provide it`,
  );
  await linkError(
    runtime,
    side(`(module ${dylink(0)} (import "env" "__indirect_function_table" (table 0 funcref))
      (import "GOT.func" "nothere" (global (mut i32))))`),
    `Cannot link import "GOT.func"."nothere": the module neither exports nor imports a function "nothere"`,
  );
  await linkError(
    runtime,
    side(`(module ${dylink(0)} (import "GOT.func" "f" (global (mut i32)))
      (func (export "f")))`),
    `Cannot link import "GOT.func"."f": the module imports no function table`,
  );
  await linkError(
    runtime,
    side(
      `(module ${
        dylink(0)
      } (import "GOT.mem" "x" (global i32)) (global (export "x") i32 (i32.const 0)))`,
    ),
    `Cannot link import "GOT.mem"."x": a GOT entry must be a mutable i32, not i32`,
  );
});

Deno.test("side_module: memory and table maximums below the layout's needs are link errors", async () => {
  const runtime = quietRuntime();
  await linkError(
    runtime,
    side(`(module ${dylink(100)} (import "env" "memory" (memory 1 1)))`),
    `Cannot link import "env"."memory": the side module needs 2 pages (stack, data), ` +
      `more than the import's maximum of 1`,
  );
  await linkError(
    runtime,
    side(`(module ${dylink(0, 0, 4)} (import "env" "table" (table 1 3 funcref)))`),
    `Cannot link import "env"."table": the side module needs 5 slots, more than the import's maximum of 3`,
  );
  await linkError(
    runtime,
    side(`(module ${dylink(0)} (import "env" "__stack_pointer" (global i32)))`),
    `Cannot link import "env"."__stack_pointer": must be a mutable i32, not i32`,
  );
});

Deno.test("side_module: without dylink.0, emscripten's env globals stay WAMR's zeros", async () => {
  const bytes = wat(`(module (import "env" "memory" (memory 1))
    (import "env" "__memory_base" (global $mb i32))
    (func (export "mb") (result i32) global.get $mb))`);
  const info = readModule(bytes);
  assert.equal(info.dylink, undefined);
  const runtime = quietRuntime();
  const app = await runtime.instantiate(await runtime.load(bytes));
  assert.equal(app.call("mb"), 0);
  await linkError(
    runtime,
    wat(`(module (import "env" "__stack_pointer" (global (mut i32))))`),
    `Cannot link import "env"."__stack_pointer" (global mut i32): ` +
      `no definition or registered instance provides it`,
  );
});

Deno.test("side_module: initializers are the exports the module has, in emscripten's order", () => {
  const info = readModule(side(`(module ${dylink(0)}
    (func (export "__wasm_call_ctors")) (func (export "__set_stack_limits") (param i32 i32))
    (func (export "__wasm_apply_data_relocs")))`));
  assert.deepEqual(new SideModule(info).initializers(), [
    { name: "__set_stack_limits", args: [STACK_TOP, NULL_GUARD] },
    { name: "__wasm_apply_data_relocs", args: [] },
    { name: "__wasm_call_ctors", args: [] },
  ]);
  const none = readModule(side(`(module ${dylink(0)} (func (export "main")))`));
  assert.deepEqual(new SideModule(none).initializers(), []);
});

Deno.test("side_module: emcc's stack check gets the stack's limits and traps past its low end", async () => {
  // What binaryen's STACK_OVERFLOW_CHECK=2 writes: every new stack pointer is compared with
  // the limits __set_stack_limits stored; here each call takes a 1 KiB frame.
  const bytes = side(`(module ${dylink(0)}
    (import "env" "__handle_stack_overflow" (func $overflow (param i32)))
    (import "env" "memory" (memory 0))
    (import "env" "__stack_pointer" (global $sp (mut i32)))
    (global $base (mut i32) (i32.const 0))
    (global $end (mut i32) (i32.const 0))
    (func (export "__set_stack_limits") (param i32 i32)
      local.get 0 global.set $base local.get 1 global.set $end)
    (func $recurse (export "recurse") (param $n i32) (result i32) (local $new i32)
      global.get $sp i32.const 1024 i32.sub local.tee $new
      global.get $base i32.gt_u local.get $new global.get $end i32.lt_u i32.or
      if local.get $new call $overflow end
      local.get $new global.set $sp
      local.get $n
      if (result i32) local.get $n i32.const 1 i32.sub call $recurse else global.get $sp end
      global.get $sp i32.const 1024 i32.add global.set $sp))`);
  const runtime = new Runtime({ plugins: [libc], stdout: () => {}, warn: () => {} });
  const app = await runtime.instantiate(await runtime.load(bytes));
  // 63 frames of 1 KiB fit between the stack top (64 KiB) and the null guard (1 KiB).
  assert.equal(app.call("recurse", 62), STACK_TOP - 63 * 1024);
  assert.throws(() => app.call("recurse", 63), {
    name: "TrapError",
    message: "wasm auxiliary stack overflow",
  });
});
