// `native(sig, impl, { regions: "offsets" })`: '*~' regions reach the native as checked
// offsets and lengths (no view per call), read through ctx.memory.u8. Real wasm apps.
import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native, nativeAsync, type NativeSymbols } from "../sdk/native.ts";
import { TrapError } from "../sdk/errors.ts";
import type { AppPtr } from "../sdk/memory.ts";

async function appWith(symbols: NativeSymbols<undefined>, body: string, heapSize = 0) {
  const runtime = new Runtime({ stdout: () => {}, warn: () => {} });
  runtime.register(defineNativeLibrary({ name: "regions", symbols }));
  return await runtime.instantiate(await runtime.load(wat(`(module ${body})`)), { heapSize });
}

function assertTrap(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrapError, `expected TrapError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

const REGION_BODY = `
  (import "env" "region" (func $region (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "region") (param i32 i32) (result i32) local.get 0 local.get 1 call $region)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)`;

/** A `(*~)i` native in the offsets form that records what it got and sums the bytes. */
function summing() {
  const calls: [number, number, number][] = [];
  const region = native("(*~)i", (ctx, p, n) => {
    const u8 = ctx.memory.u8;
    calls.push([p, n, u8.length]);
    let sum = 0;
    for (let i = p; i < p + n; i++) sum += u8[i]!;
    return sum;
  }, { regions: "offsets" });
  return { region, calls };
}

Deno.test("native regions: 'offsets' passes the checked offset and length, bytes via ctx.memory.u8", async () => {
  const { region, calls } = summing();
  const app = await appWith({ region }, REGION_BODY);
  for (const [addr, byte] of [[100, 1], [101, 2], [102, 3], [103, 40]]) {
    app.call("poke", addr, byte);
  }
  assert.equal(app.call("region", 100, 4), 46);
  assert.equal(app.call("region", 101, 2), 5, "a region that moves is read where it now is");
  assert.equal(app.call("region", 0, 0), 0, "a NULL pointer with length 0 passes");
  assert.deepEqual(calls, [[100, 4, 65536], [101, 2, 65536], [0, 0, 65536]]);
});

Deno.test("native regions: 'offsets' natives write through ctx.memory.u8 into the app", async () => {
  const fill = native("(*~i)", (ctx, p, n, byte) => {
    ctx.memory.u8.fill(byte, p, p + n);
  }, { regions: "offsets" });
  const app = await appWith(
    { fill },
    `(import "env" "fill" (func $fill (param i32 i32 i32)))
    (memory (export "memory") 1)
    (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 call $fill)
    (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)`,
  );
  app.call("fill", 200, 3, 0x7a);
  assert.deepEqual([199, 200, 201, 202, 203].map((a) => app.call("peek", a)), [
    0,
    0x7a,
    0x7a,
    0x7a,
    0,
  ]);
});

Deno.test("native regions: an out-of-bounds region traps before the native runs", async () => {
  const { region, calls } = summing();
  const app = await appWith({ region }, REGION_BODY);
  assertTrap(() => app.call("region", 65536 - 4, 5), "out of bounds memory access");
  assertTrap(() => app.call("region", 65537, 0), "out of bounds memory access");
  assertTrap(() => app.call("region", -1, 1), "out of bounds memory access");
  assertTrap(() => app.call("region", 0, -1), "out of bounds memory access");
  assertTrap(() => app.call("region", 70000, 4), "out of bounds memory access");
  assert.deepEqual(calls, [], "the native was never called");
  assert.equal(app.call("region", 8, 1), 0, "the app keeps running after a trap");
});

Deno.test("native regions: a region at the exact end of memory passes", async () => {
  const { region, calls } = summing();
  const app = await appWith({ region }, REGION_BODY);
  app.call("poke", 65535, 9);
  app.call("poke", 65532, 1);
  assert.equal(app.call("region", 65532, 4), 10, "ending at the last byte");
  assert.equal(app.call("region", 65536, 0), 0, "empty, just past the last byte");
  assert.deepEqual(calls, [[65532, 4, 65536], [65536, 0, 65536]]);
});

Deno.test("native regions: after the app grows memory the native sees the new buffer", async () => {
  const buffers: ArrayBufferLike[] = [];
  const region = native("(*~)i", (ctx, p, n) => {
    buffers.push(ctx.memory.u8.buffer);
    return ctx.memory.u8[p]! + ctx.memory.u8[p + n - 1]!;
  }, { regions: "offsets" });
  const app = await appWith({ region }, REGION_BODY);
  app.call("poke", 100, 3);
  app.call("poke", 103, 4);
  assert.equal(app.call("region", 100, 4), 7);
  const before = app.memory.memory.buffer;
  assert.equal(app.call("grow", 1), 1);
  assert.equal(app.call("region", 100, 4), 7, "a region inside the old size, after growth");
  assert.notEqual(buffers[1], before, "not the detached buffer");
  assert.equal(buffers[1], app.memory.memory.buffer);
  app.call("poke", 131071, 5);
  app.call("poke", 131068, 6);
  assert.equal(app.call("region", 131068, 4), 11, "the grown part is reachable");
  assert.equal(app.call("grow", 1), 2);
  assert.equal(app.call("region", 196604, 4), 0, "a region only the grown memory holds");
  assert.equal(buffers[3], app.memory.memory.buffer);
});

Deno.test("native regions: a native that mallocs takes the view again from ctx.memory.refresh()", async () => {
  // The app's own malloc grows memory by a page per call, as sbrk-based allocators do.
  const copy = native("(*~)i", (ctx, p, n) => {
    const before = ctx.memory.u8;
    const q = ctx.heap.malloc(n);
    assert.equal(before.length, 0, "the app's malloc grew memory: the old view is detached");
    const u8 = ctx.memory.refresh();
    u8.copyWithin(q, p, p + n);
    return q;
  }, { regions: "offsets" });
  const app = await appWith(
    { copy },
    `(import "env" "copy" (func $copy (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "malloc") (param i32) (result i32)
      (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))
    (func (export "free") (param i32))
    (func (export "copy") (param i32 i32) (result i32) local.get 0 local.get 1 call $copy)
    (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)
    (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)`,
  );
  assert.equal(app.heap.kind, "app");
  for (let i = 0; i < 5; i++) app.call("poke", 300 + i, 0x61 + i);
  const q = app.call("copy", 300, 5) as number;
  assert.equal(q, 65536);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => app.call("peek", q + i)), [
    0x61,
    0x62,
    0x63,
    0x64,
    0x65,
  ]);
});

Deno.test("native regions: every '*~' pair is offsets; '*', '$' and 'i' arrive as before", async () => {
  const seen: unknown[] = [];
  const mixed = native("($*~*i*~)i", (ctx, s, p1, n1, ptr: AppPtr, k, p2, n2) => {
    seen.push(s, p1, n1, ptr.addr, ptr.u8(), k, p2, n2);
    return ctx.memory.u8[p1]! + ctx.memory.u8[p2 + n2 - 1]!;
  }, { regions: "offsets" });
  const app = await appWith(
    { mixed },
    `(import "env" "mixed" (func $mixed (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hi\\00")
    (data (i32.const 32) "\\05\\06\\07")
    (data (i32.const 48) "\\0a\\0b\\0c\\0d")
    (func (export "go") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
      local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 local.get 6
      call $mixed)`,
  );
  assert.equal(app.call("go", 16, 32, 3, 33, -1, 48, 4), 5 + 0x0d);
  assert.deepEqual(seen, ["hi", 32, 3, 33, 6, -1, 48, 4]);
  seen.length = 0;
  assertTrap(() => app.call("go", 16, 32, 3, 33, 0, 65534, 4), "out of bounds memory access");
  assert.deepEqual(seen, [], "a bad second region also traps before the native runs");
});

Deno.test("native regions: --trace shows an 'offsets' region as it shows a view", async () => {
  const lines: string[] = [];
  const greet = native("($*~)i", (ctx, name, p, n) => name.length + ctx.memory.u8[p]! + n, {
    regions: "offsets",
  });
  const runtime = new Runtime({ stdout: () => {}, warn: () => {}, trace: (l) => lines.push(l) });
  runtime.register(defineNativeLibrary({ name: "vendor", symbols: { greet } }));
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module
    (import "env" "greet" (func $g (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 8) "bob\\00")
    (data (i32.const 32) "\\05")
    (func (export "ok") (result i32) i32.const 8 i32.const 32 i32.const 4 call $g)
    (func (export "bad") (result i32) i32.const 8 i32.const 65535 i32.const 4 call $g))`)),
    { heapSize: 0 },
  );
  assert.equal(app.call("ok"), 3 + 5 + 4);
  assertTrap(() => app.call("bad"), "out of bounds memory access");
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\[trace\] vendor\.greet\("bob", 0x20\[4\]\) -> 12 \(/);
  assert.match(
    lines[1]!,
    /^\[trace\] vendor\.greet\("bob", 0xffff\[4\]\) trapped: out of bounds memory access \(/,
  );
});

Deno.test("native regions: an async native takes 'offsets' and reads memory after await", async () => {
  const later = nativeAsync("(*~)i", async (ctx, p, n) => {
    await new Promise((r) => setTimeout(r, 1));
    const u8 = ctx.memory.refresh(); // memory may have grown while the app was suspended
    return u8[p]! + u8[p + n - 1]!;
  }, { regions: "offsets" });
  const app = await appWith(
    { later },
    `(import "env" "later" (func $later (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 40) "\\03\\00\\00\\04")
    (func (export "later") (param i32 i32) (result i32) local.get 0 local.get 1 call $later)`,
  );
  assert.equal(await app.callAsync("later", 40, 4), 7);
  await assert.rejects(() => app.callAsync("later", 65535, 2), (e: unknown) => {
    assert.ok(e instanceof TrapError);
    assert.equal(e.message, "out of bounds memory access");
    return true;
  });
});

Deno.test("native regions: the default form still passes a view of exactly the region", async () => {
  const views: Uint8Array[] = [];
  const region = native("(*~)i", (_ctx, view, n) => {
    views.push(view);
    return view.length + n;
  });
  const offsets = summing();
  const app = await appWith({ region }, REGION_BODY);
  const raw = await appWith({ region: offsets.region }, REGION_BODY);
  assert.equal(app.call("region", 100, 4), 8);
  assert.ok(views[0] instanceof Uint8Array);
  assert.equal(views[0]!.byteOffset, 100);
  assert.equal(views[0]!.length, 4);
  assert.equal(raw.call("region", 100, 4), 0, "the offsets form beside it in the same process");
  assert.deepEqual(offsets.calls, [[100, 4, 65536]]);
});

Deno.test("native regions: one implementation declared in both forms links each as declared", async () => {
  const got: unknown[] = [];
  const impl = (_ctx: unknown, region: unknown, n: number) => {
    got.push(region);
    return n;
  };
  const asOffsets = native("(*~)i", impl as never, { regions: "offsets" });
  const asView = native("(*~)i", impl as never);
  assert.equal(asOffsets.regions, "offsets");
  assert.equal(asView.regions, undefined);
  const offsets = await appWith({ region: asOffsets }, REGION_BODY);
  const views = await appWith({ region: asView }, REGION_BODY);
  for (let i = 0; i < 2; i++) {
    assert.equal(offsets.call("region", 100, 4), 4);
    assert.equal(views.call("region", 100, 4), 4);
  }
  assert.deepEqual(got.map((r) => r instanceof Uint8Array ? `view ${r.byteOffset}` : r), [
    100,
    "view 100",
    100,
    "view 100",
  ]);
});

Deno.test("native regions: the implementation's types follow the option", () => {
  const ok = native("(*~i)i", (_ctx, p, n, k) => p + n + k, { regions: "offsets" });
  assert.equal(ok.signature, "(*~i)i");
  // @ts-expect-error: with "offsets" the region is a number, not a Uint8Array
  native("(*~)i", (_ctx, view: Uint8Array, n) => view.length + n, { regions: "offsets" });
  // @ts-expect-error: without it the region is a view, not a number
  native("(*~)i", (_ctx, p: number, n) => p + n);
  defineNativeLibrary({
    name: "typed",
    symbols: (native) => ({
      // @ts-expect-error: the library's `native` follows the option too
      bad: native("(*~)i", (_ctx, view) => view.length, { regions: "offsets" }),
    }),
  });
});
