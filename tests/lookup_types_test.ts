// Type-level test: `deno test` type-checks this file, so each correct call below must pass
// `deno check` with the types a typed lookup infers, and each wrong one must fail it.
import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import type { ExportFunction } from "../core/instance/instance.ts";

type _Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
function typeIs<A, B>(_proof: _Equal<A, B>): void {}

Deno.test("lookup types: the callable's type follows the signature literal", async () => {
  typeIs<ExportFunction<"(ii)i">, (a: number, b: number) => number>(true);
  typeIs<ExportFunction<"(I)I">, (a: bigint | number) => bigint>(true);
  typeIs<ExportFunction<"(*~$)">, (p: number, n: number, s: number) => undefined>(true);
  typeIs<ExportFunction<"(V)iV">, (v: Uint8Array) => [number, Uint8Array]>(true);
  typeIs<ExportFunction<"(r)r">, (r: unknown) => unknown>(true);

  const runtime = new Runtime({ stdout: () => {} });
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1))))`)),
  );
  const add = app.lookup("add", "(ii)i");
  assert.ok(add);
  const sum: number = add(2, 3);
  assert.equal(sum, 5);
  // @ts-expect-error: two numbers, not a string
  assert.throws(() => add("2", 3), TypeError);
  // @ts-expect-error: the result is a number
  const _wrong: string = add(1, 1);
  // Without a signature: any wasm values in, a wasm value out.
  const loose = app.lookup("add")!;
  assert.equal(loose(1, 2), 3);
  app.free();
});
