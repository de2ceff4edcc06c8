import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import {
  liftFunction,
  liftResults,
  loweredType,
  lowerFunction,
  v128FromHalves,
  v128ToHalves,
} from "../core/link/v128.ts";

Deno.test("v128: 16 bytes split into little-endian i64 halves and back", () => {
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);
  const [lo, hi] = v128ToHalves(bytes);
  assert.equal(lo, 0x0706050403020100n);
  assert.equal(hi, 0x0f0e0d0c0b0a0908n);
  assert.deepEqual(v128FromHalves(lo, hi), bytes);
  // A view into a larger buffer reads its own 16 bytes.
  const big = new Uint8Array(32).fill(0xff);
  assert.deepEqual(v128ToHalves(big.subarray(8, 24)), [-1n, -1n]);
  assert.throws(() => v128ToHalves([1, 2]), {
    name: "TypeError",
    message: "A v128 value must be a 16-byte Uint8Array, got object",
  });
});

Deno.test("v128: a lowered type has two i64 per v128", () => {
  assert.deepEqual(loweredType({ params: ["v128", "i32"], results: ["v128"] }), {
    params: ["i64", "i64", "i32"],
    results: ["i64", "i64"],
  });
});

Deno.test("v128: lowering an export and lifting a host function round-trip", () => {
  const type = { params: ["v128", "f32"], results: ["f32", "v128"] };
  // The host function works on halves; lifted, wasm sees it with the real type.
  const host = liftFunction(type, (lo: bigint, hi: bigint, f: number) => [f * 2, hi, lo]);
  const wasm = new WebAssembly.Instance(
    new WebAssembly.Module(
      wat(`(module (import "h" "f" (func $f (param v128 f32) (result f32 v128)))
      (func (export "f") (param v128 f32) (result f32 v128) (call $f (local.get 0) (local.get 1))))`) as Uint8Array<
        ArrayBuffer
      >,
    ),
    { h: { f: host } },
  ).exports.f as (...args: never[]) => unknown;
  // Lowered, JS can call the wasm function with halves.
  const callable = lowerFunction(type, wasm) as (...args: unknown[]) => unknown;
  const result = liftResults(type, callable(1n, 2n, 1.5)) as [number, Uint8Array];
  assert.equal(result[0], 3);
  assert.deepEqual(v128ToHalves(result[1]), [2n, 1n]);
});
