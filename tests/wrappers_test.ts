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

Deno.test("wrappers: a '*~' view is kept for the same region and remade after growth", async () => {
  const views: Uint8Array[] = [];
  const lib = defineNativeLibrary({
    name: "keep",
    symbols: {
      region: native("(*~)i", (_ctx, view) => {
        views.push(view);
        return view[0]! + view[view.length - 1]!;
      }),
    },
  });
  const app = await appWith(
    lib,
    `(import "env" "region" (func $region (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "region") (param i32 i32) (result i32) local.get 0 local.get 1 call $region)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)`,
  );
  app.call("poke", 100, 3);
  app.call("poke", 103, 4);
  assert.equal(app.call("region", 100, 4), 7);
  assert.equal(app.call("region", 100, 4), 7);
  assert.equal(app.call("region", 100, 4), 7);
  assert.equal(views[2], views[1], "the same region again hands out the view kept");
  app.call("poke", 100, 10);
  assert.equal(app.call("region", 100, 4), 14, "the kept view sees the app's later writes");
  assert.equal(views[3], views[1]);
  assert.equal(app.call("region", 101, 3), 4);
  assert.notEqual(views[4], views[1], "another region gets its own view");
  assert.equal(app.call("region", 101, 3), 4);
  assert.equal(app.call("grow", 1), 1);
  assert.equal(views[5]!.length, 0, "growth detached the old buffer");
  assert.equal(app.call("region", 101, 3), 4, "after growth the same region is viewed anew");
  assert.equal(views[6]!.length, 3);
  assert.equal(views[6]!.buffer, app.memory.memory.buffer);
  assert.equal(app.call("region", 70000, 1), 0, "and the grown part is reachable");
});

Deno.test("wrappers: instances of one module each see their own memory and context", async () => {
  const lib = defineNativeLibrary({
    name: "own",
    symbols: {
      first: native("(*~)i", (ctx, view) => view[0]! * 1000 + ctx.memory.u8.length / 65536),
    },
  });
  const runtime = quietRuntime().register(lib);
  const module = await runtime.load(wat(`(module
    (import "env" "first" (func $first (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "first") (result i32) i32.const 8 i32.const 1 call $first)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8))`));
  const a = await runtime.instantiate(module, { heapSize: 0 });
  const b = await runtime.instantiate(module, { heapSize: 0 });
  a.call("poke", 8, 1);
  b.call("poke", 8, 2);
  b.call("grow", 2);
  assert.equal(a.call("first"), 1001);
  assert.equal(b.call("first"), 2003);
  assert.equal(a.call("first"), 1001);
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

Deno.test("wrappers: 'V' arrives as 16 bytes and a returned v128 goes back whole", async () => {
  const seen: Uint8Array[] = [];
  const lib = defineNativeLibrary({
    name: "t",
    symbols: {
      // Reverses the 16 bytes: a lane mix-up between the halves would show.
      flip: native("(Vi)V", (_ctx, v, k) => {
        seen.push(v);
        return v.map((_, j) => v[15 - j]! + k);
      }),
    },
  });
  const app = await appWith(
    lib,
    `(import "env" "flip" (func $flip (param v128 i32) (result v128)))
     (func (export "run") (result i32)
       (i8x16.extract_lane_u 15
         (call $flip (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16) (i32.const 100))))
     (func (export "first") (result i32)
       (i8x16.extract_lane_u 0
         (call $flip (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16) (i32.const 0))))`,
  );
  assert.equal(app.call("run"), 101);
  assert.equal(app.call("first"), 16);
  assert.deepEqual([...seen[0]!], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  app.free();
});

Deno.test("wrappers: a native returning a wrong v128 traps naming it", async () => {
  const lib = defineNativeLibrary({
    name: "t",
    symbols: { bad: native("()V", () => new Uint8Array(4)) },
  });
  const app = await appWith(
    lib,
    `(import "env" "bad" (func $bad (result v128)))
     (func (export "run") (drop (call $bad)))`,
  );
  assertTrap(
    () => app.call("run"),
    "native function (env, bad) failed: A v128 value must be a 16-byte Uint8Array, got 4 bytes",
  );
  app.free();
});

Deno.test("wrappers: several results come back from an array, v128 among them", async () => {
  const lib = defineNativeLibrary({
    name: "t",
    symbols: {
      divmod: native("(ii)ii", (_ctx, a, b) => [Math.trunc(a / b), a % b]),
      mixed: native("(I)VIf", (_ctx, x) => [new Uint8Array(16).fill(7), x + 1n, 0.5]),
    },
  });
  const app = await appWith(
    lib,
    `(import "env" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
     (import "env" "mixed" (func $mixed (param i64) (result v128 i64 f32)))
     (func (export "run") (result i32)
       (i32.sub (call $divmod (i32.const 17) (i32.const 5))))
     (func (export "mix") (result i32) (local $f f32) (local $i i64)
       (call $mixed (i64.const 41))
       (local.set $f) (local.set $i)
       (i8x16.extract_lane_u 9)
       (i32.add (i32.wrap_i64 (local.get $i)))
       (i32.add (i32.trunc_f32_s (f32.mul (local.get $f) (f32.const 2)))))`,
  );
  assert.equal(app.call("run"), 1); // 3 - 2
  assert.equal(app.call("mix"), 7 + 42 + 1);
  app.free();
});

Deno.test("wrappers: 'R' passes funcrefs both ways", async () => {
  let kept: unknown;
  const lib = defineNativeLibrary({
    name: "t",
    symbols: {
      keep: native("(R)", (_ctx, f) => {
        kept = f;
      }),
      give: native("()R", () => kept as ((...args: never[]) => unknown) | null),
    },
  });
  const app = await appWith(
    lib,
    `(import "env" "keep" (func $keep (param funcref)))
     (import "env" "give" (func $give (result funcref)))
     (type $t (func (result i32)))
     (table 1 funcref)
     (func $seven (result i32) i32.const 7)
     (elem declare func $seven)
     (func (export "run") (result i32)
       (call $keep (ref.func $seven))
       (table.set (i32.const 0) (call $give))
       (call_indirect (type $t) (i32.const 0)))`,
  );
  assert.equal(app.call("run"), 7);
  assert.equal(typeof kept, "function");
  app.free();
});
