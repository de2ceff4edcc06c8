import assert from "node:assert/strict";
import { parseSignature, signatureMatches, signatureType } from "../sdk/signature.ts";
import { native } from "../sdk/native.ts";

Deno.test("signature: parses every letter", () => {
  const sig = parseSignature("(iIfFr*~$)i");
  assert.deepEqual(sig.params, ["i", "I", "f", "F", "r", "*", "~", "$"]);
  assert.equal(sig.result, "i");
  assert.deepEqual(signatureType(sig), {
    params: ["i32", "i64", "f32", "f64", "externref", "i32", "i32", "i32"],
    results: ["i32"],
  });
  for (const r of ["i", "I", "f", "F", "r"]) assert.equal(parseSignature(`()${r}`).result, r);
  assert.equal(parseSignature("()").result, undefined);
});

Deno.test("signature: rejects malformed strings with a message naming them", () => {
  const cases: [string, RegExp][] = [
    ["", /must start with "\("/],
    ["ii)i", /must start with "\("/],
    ["(ii", /missing "\)"/],
    ["(x)i", /unknown parameter type "x"/],
    ["(~)", /"~" must follow "\*"/],
    ["(i~)", /"~" must follow "\*"/],
    ["(*~~)", /"~" must follow "\*"/],
    ["(i)ix", /invalid result type "x"/],
    ["(i)*", /invalid result type "\*"/],
    ["(i)$", /invalid result type "\$"/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseSignature(text), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(`"${text}"`));
      return true;
    });
  }
});

Deno.test("signature: matching is exact in both directions", () => {
  const t = (params: string[], results: string[]) => ({ params, results });
  assert.ok(signatureMatches(parseSignature("(ii)i"), t(["i32", "i32"], ["i32"])));
  assert.ok(signatureMatches(parseSignature("(*~$)"), t(["i32", "i32", "i32"], [])));
  assert.ok(signatureMatches(parseSignature("(IfF)F"), t(["i64", "f32", "f64"], ["f64"])));
  assert.ok(!signatureMatches(parseSignature("(ii)i"), t(["i32"], ["i32"])));
  assert.ok(!signatureMatches(parseSignature("(i)"), t(["i32"], ["i32"])));
  assert.ok(!signatureMatches(parseSignature("(i)i"), t(["i32"], [])));
  assert.ok(!signatureMatches(parseSignature("(I)"), t(["i32"], [])));
  assert.ok(!signatureMatches(parseSignature("(f)"), t(["f64"], [])));
  assert.ok(!signatureMatches(parseSignature("()i"), t([], ["i32", "i32"])));
});

Deno.test("signature: native() rejects a bad signature at declaration", () => {
  assert.throws(() => native("(q)" as string, (() => 0) as never), /unknown parameter type "q"/);
});

// Type-level checks: these lines fail `deno check` unless the inference works.
Deno.test("signature: implementation types follow the literal", () => {
  const ok = native("(i*~$)i", (_ctx, n, view, len, text) => {
    const a: number = n;
    const b: Uint8Array = view;
    const c: number = len;
    const d: string = text;
    return a + b.length + c + d.length;
  });
  const big = native("(I)I", (_ctx, v) => v * 2n);
  const ptr = native("(*)", (_ctx, p) => {
    p.setU8(1);
  });
  // @ts-expect-error: "(ii)i" gives numbers, not strings
  native("(ii)i", (_ctx, a: string, b: number) => a.length + b);
  // @ts-expect-error: "(i)i" must return a number
  native("(i)i", (_ctx, a) => String(a));
  // @ts-expect-error: "$" is a string, not a number
  native("($)i", (_ctx, s: number) => s);
  // @ts-expect-error: "(I)" takes a bigint
  native("(I)", (_ctx, v: number) => v);
  assert.equal(ok.signature, "(i*~$)i");
  assert.equal(big.signature, "(I)I");
  assert.equal(ptr.signature, "(*)");
});

Deno.test("signature: v128, funcref and several results match their wasm types", () => {
  const sig = parseSignature("(VRi)iV");
  assert.deepEqual(sig.results, ["i", "V"]);
  assert.equal(sig.result, undefined);
  assert.ok(
    signatureMatches(sig, { params: ["v128", "funcref", "i32"], results: ["i32", "v128"] }),
  );
  assert.ok(!signatureMatches(sig, { params: ["v128", "funcref", "i32"], results: ["i32"] }));
  assert.ok(!signatureMatches(parseSignature("(R)"), { params: ["externref"], results: [] }));
});
