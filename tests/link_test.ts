import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import { LinkError, TrapError } from "../sdk/errors.ts";
import type { AppPtr } from "../sdk/memory.ts";

function quietRuntime(warnings: string[] = []): Runtime {
  return new Runtime({ stdout: () => {}, warn: (m) => warnings.push(m) });
}

async function appWith(
  lib: ReturnType<typeof defineNativeLibrary>,
  body: string,
  warnings?: string[],
) {
  const runtime = quietRuntime(warnings).register(lib);
  const module = await runtime.load(wat(`(module ${body})`));
  return await runtime.instantiate(module, { heapSize: 0 });
}

function assertTrap(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrapError, `expected TrapError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("link: 'i I f F r' arrive as numbers, bigints and references", async () => {
  const seen: unknown[] = [];
  const lib = defineNativeLibrary({
    name: "t",
    symbols: {
      all: native("(iIfFr)F", (_ctx, i, I, f, F, r) => {
        seen.push(i, I, f, F, r);
        return i + Number(I) + f + F;
      }),
      big: native("(I)I", (_ctx, v) => v * 3n),
    },
  });
  const app = await appWith(
    lib,
    `
    (import "env" "all" (func $all (param i32 i64 f32 f64 externref) (result f64)))
    (import "env" "big" (func $big (param i64) (result i64)))
    (func (export "go") (param externref) (result f64)
      i32.const -7 i64.const 40 f32.const 1.5 f64.const 0.25 local.get 0 call $all)
    (func (export "big") (param i64) (result i64) local.get 0 call $big)`,
  );
  const ref = { token: 1 };
  assert.equal(app.call("go", ref), -7 + 40 + 1.5 + 0.25);
  assert.deepEqual(seen, [-7, 40n, 1.5, 0.25, ref]);
  assert.equal(app.call("big", 5n), 15n);
  assert.equal(app.call("big", 5), 15n, "numbers are accepted for i64 parameters");
});

const MEM_LIB = () => {
  const calls: string[] = [];
  const lib = defineNativeLibrary({
    name: "mem",
    symbols: {
      region: native("(*~)i", (_ctx, view, len) => {
        calls.push(`region ${view.length} ${len}`);
        view.fill(0x41);
        return view.byteOffset;
      }),
      str: native("($)i", (_ctx, s) => {
        calls.push(`str ${s}`);
        return s.length;
      }),
      one: native("(*)i", (_ctx, p: AppPtr) => {
        calls.push(`one ${p.addr}`);
        return p.u8();
      }),
      far: native("(*i)i", (_ctx, p: AppPtr, off) => p.u8(off)),
    },
  });
  return { lib, calls };
};

const MEM_BODY = `
  (import "env" "region" (func $region (param i32 i32) (result i32)))
  (import "env" "str" (func $str (param i32) (result i32)))
  (import "env" "one" (func $one (param i32) (result i32)))
  (import "env" "far" (func $far (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\\00")
  (func (export "region") (param i32 i32) (result i32) local.get 0 local.get 1 call $region)
  (func (export "str") (param i32) (result i32) local.get 0 call $str)
  (func (export "one") (param i32) (result i32) local.get 0 call $one)
  (func (export "far") (param i32 i32) (result i32) local.get 0 local.get 1 call $far)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)`;

Deno.test("link: '*~' gives a zero-copy view of exactly the region", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assert.equal(app.call("region", 100, 4), 100);
  assert.deepEqual([...app.memory.bytes(99, 6)], [0, 0x41, 0x41, 0x41, 0x41, 0]);
  assert.equal(app.call("region", 0, 0), 0, "a NULL pointer with length 0 passes");
  assert.equal(app.call("region", 65536 - 4, 4), 65532, "a region ending at the last byte");
  assert.equal(app.call("region", 65536, 0), 65536, "an empty region at the end");
  assert.deepEqual(calls, ["region 4 4", "region 0 0", "region 4 4", "region 0 0"]);
});

Deno.test("signature: '*~' pair traps on pointer past end, native not called", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assertTrap(() => app.call("region", 65536 - 4, 5), "out of bounds memory access");
  assertTrap(() => app.call("region", 65537, 0), "out of bounds memory access");
  assertTrap(() => app.call("region", -1, 1), "out of bounds memory access");
  assertTrap(() => app.call("region", 0, -1), "out of bounds memory access");
  assert.deepEqual(calls, []);
  assert.equal(app.call("region", 8, 1), 8, "the app keeps running after a trap");
});

Deno.test("signature: '$' decodes the string and traps when no NUL lies inside memory", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assert.equal(app.call("str", 16), 5);
  app.call("poke", 65535, 0x78);
  assertTrap(() => app.call("str", 65535), "out of bounds memory access");
  assertTrap(() => app.call("str", 65536), "out of bounds memory access");
  assertTrap(() => app.call("str", -16), "out of bounds memory access");
  assert.deepEqual(calls, ["str hello"]);
});

Deno.test("signature: lone '*' guarantees one byte and checks every further access", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assert.equal(app.call("one", 16), "h".charCodeAt(0));
  assert.equal(app.call("one", 65535), 0);
  assertTrap(() => app.call("one", 65536), "out of bounds memory access");
  assert.equal(app.call("far", 16, 1), "e".charCodeAt(0));
  assertTrap(() => app.call("far", 65535, 1), "out of bounds memory access");
  assert.deepEqual(calls, ["one 16", "one 65535"]);
});

Deno.test("link: cached views refresh after memory growth", async () => {
  const { lib } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assertTrap(() => app.call("region", 70000, 4), "out of bounds memory access");
  assert.equal(app.call("grow", 1), 1);
  assert.equal(app.call("region", 70000, 4), 70000);
  assert.equal(app.call("one", 131071), 0);
  app.call("poke", 131000, 0x61);
  assert.equal(app.call("str", 131000), 1);
});

Deno.test("link: a signature mismatch is a link error naming import, types and library", async () => {
  const lib = defineNativeLibrary({
    name: "vendor",
    symbols: { foo: native("(i)i", (_c, a) => a) },
  });
  const runtime = quietRuntime().register(lib);
  const module = await runtime.load(wat(`(module
    (import "env" "foo" (func (param i32 i32) (result i32))))`));
  await assert.rejects(() => runtime.instantiate(module), (e: unknown) => {
    assert.ok(e instanceof LinkError);
    assert.equal(
      e.message,
      `Cannot link import "env"."foo": signature "(i)i" of library "vendor" does not match (i32, i32) -> i32`,
    );
    return true;
  });
});

Deno.test("link: resolves without a leading '_', and later registrations shadow earlier ones", async () => {
  const first = defineNativeLibrary({ name: "a", symbols: { val: native("()i", () => 1) } });
  const second = defineNativeLibrary({ name: "b", symbols: { val: native("()i", () => 2) } });
  const runtime = quietRuntime().register(first).register(second);
  const module = await runtime.load(wat(`(module
    (import "env" "_val" (func $u (result i32)))
    (import "env" "val" (func $v (result i32)))
    (func (export "u") (result i32) call $u)
    (func (export "v") (result i32) call $v))`));
  const app = await runtime.instantiate(module);
  assert.equal(app.call("u"), 2);
  assert.equal(app.call("v"), 2);
  assert.equal(runtime.registry.resolve("env", "_val")?.name, "val");
  assert.equal(runtime.registry.resolve("other", "val"), undefined);
  runtime.registry.unregister(second);
  assert.equal(runtime.registry.resolve("env", "val")?.library.name, "a");
});

Deno.test("link: unresolved imports warn at instantiation and trap when called", async () => {
  const warnings: string[] = [];
  const runtime = quietRuntime(warnings);
  const module = await runtime.load(wat(`(module
    (import "env" "foo_missing" (func $m (param i32) (result i32)))
    (func (export "ok") (result i32) i32.const 3)
    (func (export "call") (result i32) i32.const 1 call $m))`));
  const app = await runtime.instantiate(module);
  assert.deepEqual(warnings, ["warning: failed to link import function (env, foo_missing)"]);
  assert.deepEqual(app.unlinked, [{ module: "env", name: "foo_missing" }]);
  assert.equal(app.call("ok"), 3);
  assertTrap(() => app.call("call"), "failed to call unlinked import function (env, foo_missing)");
});

Deno.test("link: an exception thrown by a native traps the app, never reaches the host raw", async () => {
  const lib = defineNativeLibrary({
    name: "bad",
    symbols: {
      boom: native("()", () => {
        throw new Error("sensor offline");
      }),
      trap: native("()", (ctx) => ctx.trap("custom fault")),
    },
  });
  const app = await appWith(
    lib,
    `
    (import "env" "boom" (func $boom))
    (import "env" "trap" (func $trap))
    (func (export "boom") call $boom)
    (func (export "trap") call $trap)`,
  );
  assertTrap(() => app.call("boom"), "native function (env, boom) failed: sensor offline");
  assertTrap(() => app.call("trap"), "custom fault");
});

Deno.test("link: imported memory, table and emscripten globals are created", async () => {
  const runtime = quietRuntime();
  const module = await runtime.load(wat(`(module
    (import "env" "memory" (memory 1 4))
    (import "env" "table" (table 2 funcref))
    (import "env" "__memory_base" (global $mb i32))
    (import "global" "NaN" (global $nan f64))
    (func (export "mb") (result i32) global.get $mb)
    (func (export "nan") (result f64) global.get $nan)
    (func (export "size") (result i32) memory.size))`));
  const app = await runtime.instantiate(module, { heapSize: 65536 });
  assert.equal(app.call("mb"), 0);
  assert.ok(Number.isNaN(app.call("nan")));
  assert.equal(app.call("size"), 2, "one page appended for the heap");
  assert.equal(app.heap.base, 65536);

  const bad = await runtime.load(wat(`(module (import "env" "nope" (global i32)))`));
  await assert.rejects(() => runtime.instantiate(bad), LinkError);
});

Deno.test("link: per-library state is set up per app and disposed at free", async () => {
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
