// Native-call cost: natives through the registry against hand-written raw imports doing
// the same work. Each iteration makes 1,000 calls from wasm, so per-call cost = time / 1000.
import { wat } from "../tests/_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";

const CALLS = 1000;
const source = `(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "sum" (func $sum (param i32 i32) (result i32)))
  (import "env" "len" (func $len (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello, world\\00")
  (func (export "add_loop") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $add (local.get $acc) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc)
  (func (export "sum_loop") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $sum (i32.const 64) (i32.const 16))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc)
  (func (export "len_loop") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $len (i32.const 64))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc))`;
const bytes = wat(source);

const lib = defineNativeLibrary({
  name: "bench",
  symbols: {
    add: native("(ii)i", (_ctx, a, b) => a + b),
    sum: native("(*~)i", (_ctx, view) => view[0]! + view[view.length - 1]!),
    len: native("($)i", (_ctx, s) => s.length),
  },
});
const runtime = new Runtime({ plugins: [lib], stdout: () => {} });

const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 0 });
const ours = app.exports as Record<string, (n: number) => number>;

// The raw baseline: what a careful hand-written import object would do.
let rawU8: Uint8Array = new Uint8Array(0);
const rawState: { memory?: WebAssembly.Memory } = {};
const rawDecoder = new TextDecoder();
const raw = (await WebAssembly.instantiate(bytes as BufferSource, {
  env: {
    add: (a: number, b: number) => a + b,
    sum: (p: number, n: number) => {
      if (rawU8.length === 0) rawU8 = new Uint8Array(rawState.memory!.buffer);
      const view = new Uint8Array(rawU8.buffer, p >>> 0, n >>> 0);
      return view[0]! + view[view.length - 1]!;
    },
    len: (p: number) => {
      if (rawU8.length === 0) rawU8 = new Uint8Array(rawState.memory!.buffer);
      const end = rawU8.indexOf(0, p);
      return rawDecoder.decode(rawU8.subarray(p, end)).length;
    },
  },
}) as WebAssembly.WebAssemblyInstantiatedSource).instance;
rawState.memory = raw.exports.memory as WebAssembly.Memory;
const theirs = raw.exports as Record<string, (n: number) => number>;

Deno.bench("(ii)i registry x1000", { group: "ii", baseline: false }, () => {
  ours.add_loop!(CALLS);
});
Deno.bench("(ii)i raw import x1000", { group: "ii", baseline: true }, () => {
  theirs.add_loop!(CALLS);
});
Deno.bench("(*~)i registry x1000", { group: "ptr" }, () => {
  ours.sum_loop!(CALLS);
});
Deno.bench("(*~)i raw import x1000", { group: "ptr", baseline: true }, () => {
  theirs.sum_loop!(CALLS);
});
Deno.bench("($)i registry x1000", { group: "str" }, () => {
  ours.len_loop!(CALLS);
});
Deno.bench("($)i raw import x1000", { group: "str", baseline: true }, () => {
  theirs.len_loop!(CALLS);
});

// Issue 17. A second module (its own tiering and feedback) for three more cases:
// - `(*~)i` against a raw import that indexes a cached whole-memory view (no view per call:
//   the floor), with the same region every call and with a region that moves every call,
//   in the default form (a view) and the opt-in raw form (`regions: "offsets"`);
// - eight `(ii)i` natives of one signature, each with its own implementation, called in turn:
//   whether wrappers that share a signature also share call-site feedback (and go
//   megamorphic) shows here, against eight raw closures.
const more = wat(`(module
  (import "env" "sum" (func $sum (param i32 i32) (result i32)))
  (import "env" "sum_offsets" (func $sum_offsets (param i32 i32) (result i32)))
  ${
  Array.from({ length: 8 }, (_, k) =>
    `(import "env" "add${k}" (func $add${k} (param i32 i32) (result i32)))`)
    .join("\n")
}
  (memory (export "memory") 1)
  (data (i32.const 64) "hello, world, hello, world")
  (func (export "sum_same") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $sum (i32.const 64) (i32.const 16))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc)
  (func (export "sum_moving") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc)
        (call $sum (i32.add (i32.const 64) (i32.and (local.get $n) (i32.const 7))) (i32.const 16))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc)
  (func (export "sum_offsets_same") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc)
        (call $sum_offsets (i32.const 64) (i32.const 16))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc)
  (func (export "sum_offsets_moving") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc)
        (call $sum_offsets
          (i32.add (i32.const 64) (i32.and (local.get $n) (i32.const 7))) (i32.const 16))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc)
  (func (export "add_shared") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      ${
  Array.from({ length: 8 }, (_, k) =>
    `(local.set $acc (call $add${k} (local.get $acc) (i32.const 1)))`)
    .join("\n")
}
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 8)))))
    local.get $acc))`);

const adders = Object.fromEntries(
  Array.from({ length: 8 }, (_, k) => [`add${k}`, (a: number, b: number) => a + b + k - k]),
);
const moreLib = defineNativeLibrary({
  name: "bench_more",
  symbols: {
    sum: native("(*~)i", (_ctx, view) => view[0]! + view[view.length - 1]!),
    sum_offsets: native("(*~)i", (ctx, p, n) => {
      const u8 = ctx.memory.u8;
      return u8[p]! + u8[p + n - 1]!;
    }, { regions: "offsets" }),
    ...Object.fromEntries(
      Object.entries(adders).map((
        [name, fn],
      ) => [name, native("(ii)i", (_ctx, a, b) => fn(a, b))]),
    ),
  },
});
const moreRuntime = new Runtime({ plugins: [moreLib], stdout: () => {} });
const moreApp = await moreRuntime.instantiate(await moreRuntime.load(more), { heapSize: 0 });
const oursMore = moreApp.exports as Record<string, (n: number) => number>;

// The floor: a view of the whole memory made once, remade only after growth detaches it.
let cached: Uint8Array = new Uint8Array(0);
const cachedState: { memory?: WebAssembly.Memory } = {};
const cachedSum = (p: number, n: number) => {
  if (cached.length === 0) cached = new Uint8Array(cachedState.memory!.buffer);
  return cached[p >>> 0]! + cached[(p >>> 0) + (n >>> 0) - 1]!;
};
const rawMore = (await WebAssembly.instantiate(more as BufferSource, {
  env: {
    sum: cachedSum,
    sum_offsets: cachedSum,
    ...adders,
  },
}) as WebAssembly.WebAssemblyInstantiatedSource).instance;
cachedState.memory = rawMore.exports.memory as WebAssembly.Memory;
const theirsMore = rawMore.exports as Record<string, (n: number) => number>;

Deno.bench("(*~)i same region, registry x1000", { group: "ptr floor" }, () => {
  oursMore.sum_same!(CALLS);
});
Deno.bench("(*~)i same region, registry offsets x1000", { group: "ptr floor" }, () => {
  oursMore.sum_offsets_same!(CALLS);
});
Deno.bench(
  "(*~)i same region, raw cached view x1000",
  { group: "ptr floor", baseline: true },
  () => {
    theirsMore.sum_same!(CALLS);
  },
);
Deno.bench("(*~)i moving region, registry x1000", { group: "ptr moving" }, () => {
  oursMore.sum_moving!(CALLS);
});
Deno.bench("(*~)i moving region, registry offsets x1000", { group: "ptr moving" }, () => {
  oursMore.sum_offsets_moving!(CALLS);
});
Deno.bench("(*~)i moving region, raw cached view x1000", {
  group: "ptr moving",
  baseline: true,
}, () => {
  theirsMore.sum_moving!(CALLS);
});
Deno.bench("(ii)i x8 natives of one signature, registry x1000", { group: "ii shared" }, () => {
  oursMore.add_shared!(CALLS);
});
Deno.bench("(ii)i x8 natives of one signature, raw x1000", {
  group: "ii shared",
  baseline: true,
}, () => {
  theirsMore.add_shared!(CALLS);
});
