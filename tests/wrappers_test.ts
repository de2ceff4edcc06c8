import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import { TrapError } from "../sdk/errors.ts";
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

Deno.test("wrappers: 'i I f F r' arrive as numbers, bigints and references", async () => {
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

Deno.test("wrappers: '*~' gives a zero-copy view of exactly the region", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assert.equal(app.call("region", 100, 4), 100);
  assert.deepEqual([...app.memory.bytes(99, 6)], [0, 0x41, 0x41, 0x41, 0x41, 0]);
  assert.equal(app.call("region", 0, 0), 0, "a NULL pointer with length 0 passes");
  assert.equal(app.call("region", 65536 - 4, 4), 65532, "a region ending at the last byte");
  assert.equal(app.call("region", 65536, 0), 65536, "an empty region at the end");
  assert.deepEqual(calls, ["region 4 4", "region 0 0", "region 4 4", "region 0 0"]);
});

Deno.test("wrappers: '*~' pair traps on pointer past end, native not called", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assertTrap(() => app.call("region", 65536 - 4, 5), "out of bounds memory access");
  assertTrap(() => app.call("region", 65537, 0), "out of bounds memory access");
  assertTrap(() => app.call("region", -1, 1), "out of bounds memory access");
  assertTrap(() => app.call("region", 0, -1), "out of bounds memory access");
  assert.deepEqual(calls, []);
  assert.equal(app.call("region", 8, 1), 8, "the app keeps running after a trap");
});

Deno.test("wrappers: '$' decodes the string and traps when no NUL lies inside memory", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assert.equal(app.call("str", 16), 5);
  app.call("poke", 65535, 0x78);
  assertTrap(() => app.call("str", 65535), "out of bounds memory access");
  assertTrap(() => app.call("str", 65536), "out of bounds memory access");
  assertTrap(() => app.call("str", -16), "out of bounds memory access");
  assert.deepEqual(calls, ["str hello"]);
});

Deno.test("wrappers: lone '*' guarantees one byte and checks every further access", async () => {
  const { lib, calls } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assert.equal(app.call("one", 16), "h".charCodeAt(0));
  assert.equal(app.call("one", 65535), 0);
  assertTrap(() => app.call("one", 65536), "out of bounds memory access");
  assert.equal(app.call("far", 16, 1), "e".charCodeAt(0));
  assertTrap(() => app.call("far", 65535, 1), "out of bounds memory access");
  assert.deepEqual(calls, ["one 16", "one 65535"]);
});

Deno.test("wrappers: cached views refresh after memory growth", async () => {
  const { lib } = MEM_LIB();
  const app = await appWith(lib, MEM_BODY);
  assertTrap(() => app.call("region", 70000, 4), "out of bounds memory access");
  assert.equal(app.call("grow", 1), 1);
  assert.equal(app.call("region", 70000, 4), 70000);
  assert.equal(app.call("one", 131071), 0);
  app.call("poke", 131000, 0x61);
  assert.equal(app.call("str", 131000), 1);
});

Deno.test("wrappers: an exception thrown by a native traps the app, never reaches the host raw", async () => {
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
