// An SDK-defined native against the same native registered as a plain object (no SDK
// helpers). Both go through the same linker and wrappers; each runs in its own runtime with
// its own copy of the module, and the group runs alone in this file so no other instance
// of the same wasm shares tiering or call-site feedback with it.
import { wat } from "../tests/_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native, type NativeLibrary } from "../sdk/native.ts";

const CALLS = 1000;
const bytes = wat(`(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (func (export "add_loop") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $add (local.get $acc) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    local.get $acc))`);

async function loop(library: NativeLibrary): Promise<(n: number) => number> {
  const runtime = new Runtime({ plugins: [library], stdout: () => {} });
  const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 0 });
  return app.exports.add_loop as (n: number) => number;
}

const mode = Deno.env.get("SDK_BENCH") ?? "sdk";
const run = mode === "sdk"
  ? await loop(defineNativeLibrary({
    name: "sdk",
    symbols: { add: native("(ii)i", (_ctx, a, b) => a + b) },
  }))
  : await loop({
    name: "plain",
    module: "env",
    symbols: { add: { signature: "(ii)i", impl: (_ctx: unknown, a: number, b: number) => a + b } },
  } as unknown as NativeLibrary);

Deno.bench(`(ii)i ${mode === "sdk" ? "SDK-defined native" : "plain registry object"} x1000`, () => {
  run(CALLS);
});
