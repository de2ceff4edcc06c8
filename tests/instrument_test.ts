import assert from "node:assert/strict";
import { readModule } from "../core/module/binary.ts";
import { TrapError } from "../sdk/errors.ts";
import { instrumentModule, MEMORY_EXPORT } from "../core/instance/instrument.ts";
import {
  AUX_STACK_OVERFLOW,
  DEADLINE_EXCEEDED,
  FUEL_EXHAUSTED,
  STACK_OVERFLOW,
} from "../core/instance/limits.ts";
import type { AppLimits } from "../core/instance/limits.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { wat } from "./_wat.ts";

const runtime = new Runtime({ stdout: () => {} });

async function load(source: string, limits: AppLimits) {
  const module = await runtime.load(wat(source), "t");
  return await runtime.instantiate(module, { limits, heapSize: 0 });
}

/** Every branch shape the loop wrapping relabels, with results the raw module agrees with. */
const BRANCHES = `(module
  (memory (export "memory") 1)
  (func $count (export "count") (param $n i32) (result i32) (local $i i32)
    (block $b (loop $l
      (br_if $b (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $i))
  (func (export "nested") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
    (block $out
      (loop $outer
        (local.set $j (i32.const 0))
        (loop $inner
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          ;; leaves both loops from the inner one
          (br_if $out (i32.eq (local.get $s) (i32.const 1000)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $outer (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $s))
  (func (export "table") (param $k i32) (result i32) (local $i i32)
    (block $two (block $one (block $zero
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 10)))
        (br_table $zero $one $two $l (local.get $k))))
      (return (i32.const 100)))
      (return (i32.add (local.get $i) (i32.const 200))))
    (i32.const 300))
  (func (export "valued") (param $n i32) (result i32)
    (loop $l (result i32)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0)))
      (i32.const 7)))
  (func (export "early") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eq (local.get $i) (local.get $n)) (then (return (i32.mul (local.get $i) (i32.const 3)))))
      (br $l))
    (i32.const -1))
  (func $pair (export "pair") (param $n i32) (result i32 i64)
    (loop $l (br_if $l (i32.gt_s (local.tee $n (i32.sub (local.get $n) (i32.const 1))) (i32.const 0))))
    (i32.const 1) (i64.const 2))
  (func (export "calls") (param $n i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (call $count (i32.const 3))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
  (func (export "spin") (loop $l (br $l)))
  (func $rec (export "rec") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (i32.const 1))))))`;

const CALLS: [string, number[], unknown][] = [
  ["count", [1000], 1000],
  ["nested", [10], 100],
  ["nested", [50], 1000],
  ["table", [0], 100],
  ["table", [1], 210],
  ["table", [2], 300],
  ["valued", [5], 7],
  ["early", [4], 12],
  ["pair", [3], [1, 2n]],
  ["calls", [4], 12],
  ["rec", [50], 50],
];

for (
  const [label, limits] of [
    ["deadline", { deadlineMs: 1000 }],
    ["fuel", { fuel: 1e9 }],
    ["stack", { stackSize: 1 << 20 }],
    ["all", { deadlineMs: 1000, fuel: 1e9, stackSize: 1 << 20, maxMemory: 1 << 20 }],
  ] as const
) {
  Deno.test(`instrument: ${label} mode keeps every branch shape's result`, async () => {
    const raw = await load(BRANCHES, {});
    const app = await load(BRANCHES, limits);
    for (const [name, args, expected] of CALLS) {
      assert.deepEqual(raw.call(name, ...args), expected, `raw ${name}(${args})`);
      assert.deepEqual(app.call(name, ...args), expected, `${label} ${name}(${args})`);
    }
  });
}

Deno.test("instrument: a spinning loop stops with the deadline trap soon after the deadline", async () => {
  const app = await load(BRANCHES, { deadlineMs: 50 });
  const start = performance.now();
  assert.throws(
    () => app.call("spin"),
    (e) => e instanceof TrapError && e.message === DEADLINE_EXCEEDED,
  );
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 50 && elapsed < 100, `stopped after ${elapsed} ms`);
  // The next entry gets a fresh deadline and runs normally.
  assert.equal(app.call("count", 10), 10);
});

Deno.test("instrument: deadlineMs can be changed per call and 0 turns it off", async () => {
  const app = await load(BRANCHES, { deadlineMs: 0 });
  assert.equal(app.deadlineMs, 0);
  assert.equal(app.call("count", 1_000_000), 1_000_000);
  app.deadlineMs = 20;
  assert.throws(() => app.call("spin"), { message: DEADLINE_EXCEEDED });
  const plain = await load(BRANCHES, {});
  assert.throws(() => {
    plain.deadlineMs = 10;
  }, RangeError);
});

Deno.test("instrument: fuel is deterministic and runs out with wasmtime's trap", async () => {
  const used: number[] = [];
  for (let run = 0; run < 3; run++) {
    const app = await load(BRANCHES, { fuel: 1_000_000 });
    assert.equal(app.call("nested", 30), 900);
    used.push(1_000_000 - app.fuel!);
  }
  assert.equal(new Set(used).size, 1, `fuel used: ${used}`);
  assert.ok(used[0]! > 900 * 5, `a 900-iteration loop used only ${used[0]} units`);

  const app = await load(BRANCHES, { fuel: 5000 });
  assert.throws(() => app.call("spin"), { message: FUEL_EXHAUSTED });
  assert.equal(app.fuel, 0);
  assert.throws(() => app.call("count", 10), { message: FUEL_EXHAUSTED });
  app.fuel = 1000;
  assert.equal(app.call("count", 10), 10);
});

Deno.test("instrument: fuel stops at the same point on every run", async () => {
  const counts: number[] = [];
  for (let run = 0; run < 3; run++) {
    const source = `(module (global $g (export "g") (mut i32) (i32.const 0))
      (func (export "spin") (loop $l (global.set $g (i32.add (global.get $g) (i32.const 1))) (br $l))))`;
    const app = await load(source, { fuel: 123_457 });
    assert.throws(() => app.call("spin"), { message: FUEL_EXHAUSTED });
    counts.push((app.exports.g as WebAssembly.Global).value as number);
  }
  assert.equal(new Set(counts).size, 1, `iterations: ${counts}`);
});

Deno.test("instrument: a start function that loops is stopped at instantiation", async () => {
  const source = `(module (func $s (loop $l (br $l))) (start $s))`;
  const module = await runtime.load(wat(source), "start");
  const start = performance.now();
  await assert.rejects(
    runtime.instantiate(module, { limits: { deadlineMs: 30 } }),
    { message: DEADLINE_EXCEEDED },
  );
  assert.throws(
    () => runtime.instantiateSync(module, { limits: { deadlineMs: 30 } }),
    { message: DEADLINE_EXCEEDED },
  );
  assert.ok(performance.now() - start < 500);
});

Deno.test("instrument: recursion past the stack size traps with iwasm's message", async () => {
  const app = await load(BRANCHES, { stackSize: 16 * 1024 });
  assert.equal(app.call("rec", 100), 100);
  assert.throws(() => app.call("rec", 10_000), { message: STACK_OVERFLOW });
  // The depth starts from zero again at the next entry.
  assert.equal(app.call("rec", 100), 100);
});

Deno.test("instrument: the shadow stack pointer below the data end traps", async () => {
  // clang's layout: __stack_pointer first, data below the stack, __data_end exported.
  const source = `(module
    (memory (export "memory") 1)
    (global $sp (mut i32) (i32.const 9216))
    (global (export "__data_end") i32 (i32.const 1040))
    (func $down (export "down") (param $n i32) (param $frame i32) (result i32)
      (global.set $sp (i32.sub (global.get $sp) (local.get $frame)))
      (if (result i32) (i32.eqz (local.get $n))
        (then (i32.const 0))
        (else (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $frame))))
      (global.set $sp (i32.add (global.get $sp) (local.get $frame)))))`;
  const app = await load(source, { stackSize: 1 << 20 });
  assert.equal(app.call("down", 6, 1024), 0);
  assert.throws(() => app.call("down", 9, 1024), { message: AUX_STACK_OVERFLOW });
});

Deno.test("instrument: memory.grow past the cap returns -1", async () => {
  const source = `(module (memory 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;
  const app = await load(source, { maxMemory: 3 * 65536 + 100 });
  assert.equal(app.memoryLimit, 3 * 65536);
  assert.equal(app.call("grow", 2), 1);
  assert.equal(app.call("grow", 1), -1);
  assert.equal(app.memory.memory.buffer.byteLength, 3 * 65536);
});

Deno.test("instrument: a memory larger than the cap at start is a load error", async () => {
  const module = await runtime.load(wat(`(module (memory 4))`), "big");
  await assert.rejects(
    runtime.instantiate(module, { limits: { maxMemory: 65536 } }),
    /the app's memory starts at 4 pages, more than the 1-page memory limit/,
  );
});

Deno.test("instrument: a defined memory that is not exported is exported for natives", () => {
  const bytes = wat(`(module (memory 1) (func (export "f")))`);
  const out = instrumentModule(bytes, readModule(bytes), { meter: true });
  const info = readModule(out);
  assert.ok(info.exports.some((e) => e.name === MEMORY_EXPORT && e.kind === "memory"));
});

Deno.test("instrument: function indices move past the added imports everywhere", async () => {
  const source = `(module
    (import "env" "probe" (func $probe (param i32)))
    (table 2 funcref)
    (elem (i32.const 0) $a $b)
    (global $fr funcref (ref.func $b))
    (func $a (result i32) (i32.const 11))
    (func $b (result i32) (i32.const 22))
    (func (export "via_table") (param i32) (result i32)
      (call_indirect (result i32) (local.get 0)))
    (func (export "direct") (result i32) (i32.add (call $a) (call $b)))
    (func $init (call $probe (i32.const 5)))
    (start $init))`;
  const seen: number[] = [];
  const module = await runtime.load(wat(source), "idx");
  const local = new Runtime({ stdout: () => {} });
  local.register(defineNativeLibrary({
    name: "probe",
    symbols: { probe: native("(i)", (_ctx, v) => void seen.push(v)) },
  }));
  const app = await local.instantiate(module, { limits: { deadlineMs: 1000 } });
  assert.deepEqual(seen, [5]);
  assert.equal(app.call("via_table", 0), 11);
  assert.equal(app.call("via_table", 1), 22);
  assert.equal(app.call("direct"), 33);
});

Deno.test("instrument: SIMD, bulk memory, tail calls and exceptions pass through", async () => {
  const source = `(module
    (memory 1)
    (tag $e (param i32))
    (func $tail (param i32) (result i32) (local.get 0))
    (func (export "simd") (result i32)
      (i32x4.extract_lane 2 (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i32x4 10 20 30 40))))
    (func (export "bulk") (result i32)
      (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
      (memory.copy (i32.const 100) (i32.const 0) (i32.const 16))
      (i32.load8_u (i32.const 115)))
    (func (export "tail") (result i32) (return_call $tail (i32.const 9)))
    (func (export "catch") (result i32) (local $i i32)
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
      (try (result i32)
        (do (throw $e (i32.const 42)))
        (catch $e))))`;
  const app = await load(source, { deadlineMs: 1000, stackSize: 1 << 20 });
  assert.equal(app.call("simd"), 33);
  assert.equal(app.call("bulk"), 7);
  assert.equal(app.call("tail"), 9);
  assert.equal(app.call("catch"), 42);
});

Deno.test("instrument: uninstrumented apps are not rewritten", async () => {
  const module = await runtime.load(wat(BRANCHES), "plain");
  const app = await runtime.instantiate(module, { heapSize: 0 });
  assert.equal(app.instance.exports.__mr_budget, undefined);
  assert.equal(app.fuel, undefined);
  assert.equal(app.memoryLimit, undefined);
});

Deno.test("instrument: an unknown opcode is a load error naming it", () => {
  // (module (func)) with the body's `end` replaced by 0xff 0x0b.
  const bytes = new Uint8Array([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    4,
    1,
    96,
    0,
    0,
    3,
    2,
    1,
    0,
    10,
    5,
    1,
    3,
    0,
    0xff,
    0x0b,
  ]);
  assert.throws(
    () => instrumentModule(bytes, readModule(bytes), { meter: true }),
    /cannot instrument: unknown opcode 0xff/,
  );
});

Deno.test("instrument: a counted loop that rewinds its counter is still stopped", async () => {
  // Shaped like clang's counted loops (i = 0 … i += 1; i != 100), but the body resets i, and
  // another one branches back from the middle: neither may lose its check.
  const source = `(module
    (func (export "rewind") (local $i i32) (local $n i32)
      (local.set $i (i32.const 0))
      (loop $l
        (if (i32.eq (local.get $i) (i32.const 50)) (then (local.set $i (i32.const 0))))
        (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100)))))
    (func (export "back") (local $i i32)
      (local.set $i (i32.const 0))
      (loop $l
        (br_if $l (i32.eq (local.get $i) (i32.const 5)))
        (local.get $i) (i32.const 1) (i32.add) (local.tee $i) (i32.const 100) (i32.ne) (br_if $l)))
    (func (export "counted") (result i32) (local $i i32) (local $s i32)
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $s (i32.add (local.get $s) (local.get $i)))
        (local.get $i) (i32.const 1) (i32.add) (local.tee $i) (i32.const 100) (i32.ne) (br_if $l))
      (local.get $s)))`;
  const app = await load(source, { deadlineMs: 30, fuel: 1e12 });
  assert.throws(() => app.call("rewind"), { message: DEADLINE_EXCEEDED });
  assert.throws(() => app.call("back"), { message: DEADLINE_EXCEEDED });
  const before = app.fuel!;
  assert.equal(app.call("counted"), 4950);
  // Its 100 iterations are charged up front, as if each were checked.
  assert.ok(before - app.fuel! >= 100 * 8, `charged ${before - app.fuel!}`);
});

Deno.test("instrument: an app's own malloc runs under the deadline too", async () => {
  const source = `(module (memory (export "memory") 1)
    (func (export "malloc") (param i32) (result i32) (loop $l (br $l)) (i32.const 0))
    (func (export "free") (param i32)))`;
  const app = await load(source, { deadlineMs: 30 });
  assert.equal(app.heap.kind, "app");
  const start = performance.now();
  assert.throws(() => app.heap.malloc(16), { message: DEADLINE_EXCEEDED });
  assert.ok(performance.now() - start < 500);
});
