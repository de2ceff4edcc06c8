// The linker's per-module plan (core/link/link.ts): modules whose imports are all natives link by
// choices made once per module and registry generation. Each test instantiates the same module
// more than once, so the second instance takes the plan made by the first.
import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary, native } from "../sdk/native.ts";
import type { NativeContext } from "../sdk/native.ts";
import { LinkError, TrapError } from "../sdk/errors.ts";

const ANSWER = wat(`(module
  (import "env" "answer" (func $answer (result i32)))
  (func (export "run") (result i32) call $answer))`);

function answering(name: string, value: number) {
  return defineNativeLibrary({
    name,
    symbols: { answer: native("()i", () => value) },
  });
}

Deno.test("link plan: a library registered later shadows the earlier native for new instances", () => {
  const runtime = new Runtime({ stdout: () => {}, plugins: [answering("old", 1)] });
  const module = runtime.loadSync(ANSWER);
  const first = runtime.instantiateSync(module, { heapSize: 0 });
  const again = runtime.instantiateSync(module, { heapSize: 0 });
  assert.deepEqual([first.call("run"), again.call("run")], [1, 1]);
  const newer = answering("new", 2);
  runtime.register(newer);
  const after = runtime.instantiateSync(module, { heapSize: 0 });
  assert.equal(after.call("run"), 2);
  assert.equal(first.call("run"), 1, "an existing instance keeps its native");
  runtime.registry.unregister(newer);
  assert.equal(runtime.instantiateSync(module, { heapSize: 0 }).call("run"), 1);
  for (const app of [first, again, after]) app.free();
});

Deno.test("link plan: a native's context has its library, registered name, attachment and state", () => {
  const seen: NativeContext<{ id: number }>[] = [];
  let apps = 0;
  const lib = defineNativeLibrary({
    name: "ctxlib",
    setup: () => ({ id: ++apps }),
    symbols: {
      peek: native("()i", (ctx: NativeContext<{ id: number }>) => {
        seen.push(ctx);
        return ctx.state.id;
      }, { attachment: "tag" }),
    },
  });
  const runtime = new Runtime({ stdout: () => {}, plugins: [lib] });
  // The import's leading `_` is dropped to find the registered name.
  const module = runtime.loadSync(wat(`(module
    (import "env" "_peek" (func $peek (result i32)))
    (func (export "run") (result i32) call $peek))`));
  const a = runtime.instantiateSync(module, { heapSize: 0 });
  const b = runtime.instantiateSync(module, { heapSize: 0 });
  assert.deepEqual([a.call("run"), b.call("run")], [1, 2]);
  const [ca, cb] = seen;
  assert.ok(ca && cb);
  assert.equal(ca.app, a);
  assert.equal(cb.app, b);
  for (const ctx of [ca, cb]) {
    assert.equal((ctx as unknown as { library: unknown }).library, lib);
    assert.equal(ctx.symbol, "peek");
    assert.equal(ctx.attachment, "tag");
    assert.equal(ctx.memory, ctx.app === a ? a.memory : b.memory);
  }
  assert.deepEqual(b.stateOf(lib), { id: 2 });
  a.free();
  b.free();
});

Deno.test("link plan: unknownImports 'error' refuses a module an earlier instance linked with a stub", () => {
  const warnings: string[] = [];
  const runtime = new Runtime({ stdout: () => {}, warn: (m) => warnings.push(m) });
  const module = runtime.loadSync(ANSWER);
  const stubbed = runtime.instantiateSync(module, { heapSize: 0 });
  assert.deepEqual(stubbed.unlinked, [{ module: "env", name: "answer" }]);
  assert.deepEqual(warnings, ["warning: failed to link import function (env, answer)"]);
  assert.throws(() => stubbed.call("run"), TrapError);
  assert.throws(
    () => runtime.instantiateSync(module, { heapSize: 0, unknownImports: "error" }),
    (e: unknown) => e instanceof LinkError && /"env"\."answer"/.test(e.message),
  );
  const again = runtime.instantiateSync(module, { heapSize: 0 });
  assert.deepEqual(again.unlinked, [{ module: "env", name: "answer" }]);
  assert.equal(warnings.length, 2);
  stubbed.free();
  again.free();
});

Deno.test("link plan: libraries are set up in first-use order and disposed in reverse", () => {
  const events: string[] = [];
  const library = (name: string) =>
    defineNativeLibrary({
      name,
      setup: () => {
        events.push(`setup ${name}`);
        return name;
      },
      dispose: (state, app) => {
        events.push(`dispose ${state} (stateOf: ${app.stateOf(first)})`);
      },
      symbols: { [`${name}_f`]: native("()i", () => 0) },
    });
  const first = library("one");
  const second = library("two");
  const runtime = new Runtime({ stdout: () => {}, plugins: [first, second] });
  const module = runtime.loadSync(wat(`(module
    (import "env" "two_f" (func (result i32)))
    (import "env" "one_f" (func (result i32)))
    (import "env" "two_f" (func (result i32))))`));
  for (let i = 0; i < 2; i++) {
    events.length = 0;
    const app = runtime.instantiateSync(module, { heapSize: 0 });
    assert.equal(app.stateOf(second), "two");
    app.free();
    assert.equal(app.stateOf(first), undefined);
    assert.deepEqual(events, [
      "setup two",
      "setup one",
      "dispose one (stateOf: one)",
      "dispose two (stateOf: one)",
    ]);
  }
});

Deno.test("link plan: odd field names, a field imported twice, an unlinked import and a v128 native", () => {
  const warnings: string[] = [];
  const lib = defineNativeLibrary({
    name: "odd",
    symbols: {
      ["__proto__"]: native("()i", () => 1),
      constructor: native("()i", () => 2),
      'a b"c': native("()i", () => 3),
      flip: native("(V)i", (_ctx, v) => v[15]!),
    },
  });
  const runtime = new Runtime({ stdout: () => {}, warn: (m) => warnings.push(m), plugins: [lib] });
  const module = runtime.loadSync(wat(`(module
    (import "env" "__proto__" (func $p (result i32)))
    (import "env" "constructor" (func $c (result i32)))
    (import "env" "a b\\"c" (func $q (result i32)))
    (import "env" "missing" (func $m (result i32)))
    (import "env" "constructor" (func $c2 (result i32)))
    (import "env" "flip" (func $f (param v128) (result i32)))
    (func (export "run") (result i32)
      (i32.add (i32.add (i32.mul (call $p) (i32.const 1000)) (i32.mul (call $c) (i32.const 100)))
        (i32.add (i32.mul (call $q) (i32.const 10)) (call $c2))))
    (func (export "lane") (result i32)
      (call $f (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)))
    (func (export "miss") (result i32) call $m))`));
  for (let i = 0; i < 2; i++) {
    const app = runtime.instantiateSync(module, { heapSize: 0 });
    assert.equal(app.call("run"), 1232);
    assert.equal(app.call("lane"), 16);
    assert.throws(
      () => app.call("miss"),
      (e: unknown) =>
        e instanceof TrapError &&
        e.message === "failed to call unlinked import function (env, missing)",
    );
    app.free();
  }
  assert.deepEqual(warnings, [
    "warning: failed to link import function (env, missing)",
    "warning: failed to link import function (env, missing)",
  ]);
});
