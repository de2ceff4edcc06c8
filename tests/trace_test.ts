import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { TrapError } from "../sdk/errors.ts";
import { runCli } from "../core/cli/cli.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import libc from "../natives/libc/mod.ts";

Deno.test("trace: prints library, symbol, decoded arguments, result or trap", async () => {
  const lines: string[] = [];
  const lib = defineNativeLibrary({
    name: "vendor",
    symbols: {
      greet: native("($*~)i", (_ctx, name, buf) => name.length + buf.length),
      big: native("(I)I", (_ctx, v) => v + 1n),
    },
  });
  const runtime = new Runtime({ stdout: () => {}, warn: () => {}, trace: (l) => lines.push(l) })
    .register(lib);
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module
    (import "env" "greet" (func $g (param i32 i32 i32) (result i32)))
    (import "env" "big" (func $b (param i64) (result i64)))
    (memory (export "memory") 1)
    (data (i32.const 8) "bob\\00")
    (func (export "ok") (result i32) i32.const 8 i32.const 32 i32.const 4 call $g)
    (func (export "bad") (result i32) i32.const 8 i32.const 65535 i32.const 4 call $g)
    (func (export "big") (result i64) i64.const 41 call $b))`)),
    { heapSize: 0 },
  );
  assert.equal(app.call("ok"), 7);
  assert.throws(() => app.call("bad"), TrapError);
  assert.equal(app.call("big"), 42n);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\[trace\] vendor\.greet\("bob", 0x20\[4\]\) -> 7 \(\d+\.\dµs\)$/);
  assert.match(
    lines[1]!,
    /^\[trace\] vendor\.greet\("bob", 0xffff\[4\]\) trapped: out of bounds memory access \(/,
  );
  assert.match(lines[2]!, /^\[trace\] vendor\.big\(41n\) -> 42n \(/);
});

Deno.test("trace: --trace from the CLI goes to stderr", async () => {
  let err = "";
  let out = "";
  const dec = new TextDecoder();
  const code = await runCli(["--trace", "examples/hello/hello.wasm"], {
    builtins: { libc },
    stdout: (b) => out += dec.decode(b),
    stderr: (t) => err += t,
  });
  assert.equal(code, 0);
  assert.match(out, /^Hello world!\n/);
  assert.match(err, /^\[trace\] libc\.puts\("Hello world!"\) -> 13 \(/m);
  assert.match(err, /^\[trace\] libc\.printf\("buf ptr: 0x%08x\\n", 0x[0-9a-f]+\) -> 20 \(/m);
  assert.match(err, /^\[trace\] libc\.malloc\(1024\) -> \d+ \(/m);
  assert.match(err, /^\[trace\] libc\.free\(0x[0-9a-f]+\) -> void \(/m);
});

Deno.test("trace: a v128 argument shows as its 16 bytes, several results as a list", async () => {
  const lines: string[] = [];
  const lib = defineNativeLibrary({
    name: "vendor",
    symbols: { lanes: native("(iV)iV", (_ctx, k, v) => [k, v]) },
  });
  const runtime = new Runtime({ stdout: () => {}, warn: () => {}, trace: (l) => lines.push(l) })
    .register(lib);
  const app = await runtime.instantiate(
    await runtime.load(wat(`(module
    (import "env" "lanes" (func $l (param i32 v128) (result i32 v128)))
    (func (export "run") (result i32)
      (drop (call $l (i32.const 3) (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)))))`)),
    { heapSize: 0 },
  );
  assert.equal(app.call("run"), 3);
  assert.equal(lines.length, 1);
  // The bytes in memory order are 01 … 10; as one 128-bit number, the last byte leads.
  assert.match(
    lines[0]!,
    /^\[trace\] vendor\.lanes\(3, v128\(0x100f0e0d0c0b0a090807060504030201\)\) -> \[3, v128\(0x100f0e0d0c0b0a090807060504030201\)\] \(/,
  );
});
