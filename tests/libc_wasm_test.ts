// Every libc native with a pointer parameter, called with bad pointers from real wasm:
// each call traps `out of bounds memory access`, no host exception, memory unchanged.
import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { TrapError } from "../sdk/errors.ts";
import { parseSignature, signatureType } from "../sdk/signature.ts";
import libc from "../natives/libc/mod.ts";
import { BAD_POINTER_CASES } from "./fixtures/libc_bad_pointers.ts";

Deno.test("libc: bad pointers from real wasm trap for every pointer native", async () => {
  const symbols = [...new Set(BAD_POINTER_CASES.map((c) => c.symbol))];
  const imports = symbols.map((name) => {
    const type = signatureType(parseSignature(libc.symbols[name]!.signature));
    const params = type.params.map((p) => `(param ${p})`).join(" ");
    const results = type.results.map((r) => `(result ${r})`).join(" ");
    return `(import "env" "${name}" (func $${name} ${params} ${results}))`;
  });
  // One export per case: push the constant arguments, call, drop any result.
  const exports = BAD_POINTER_CASES.map((c, i) => {
    const type = signatureType(parseSignature(libc.symbols[c.symbol]!.signature));
    const args = c.args.map((a) => `(i32.const ${a})`).join(" ");
    const drop = type.results.length ? "drop" : "";
    return `(func (export "case${i}") ${args} call $${c.symbol} ${drop})`;
  });
  const bytes = wat(`(module ${imports.join("\n")}
    (memory (export "memory") 1 1)
    ${exports.join("\n")})`);
  const warnings: string[] = [];
  const runtime = new Runtime({ plugins: [libc], stdout: () => {}, warn: (m) => warnings.push(m) });
  const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 0 });
  const before = app.memory.bytes(0, 65536).slice();
  BAD_POINTER_CASES.forEach((c, i) => {
    assert.throws(() => app.call(`case${i}`), (e: unknown) => {
      assert.ok(e instanceof TrapError, `${c.symbol}(${c.args}) threw ${e}`);
      assert.equal(e.message, "out of bounds memory access", `${c.symbol}(${c.args})`);
      return true;
    });
  });
  assert.deepEqual(app.memory.bytes(0, 65536), before, "no native wrote anything");
  assert.ok(BAD_POINTER_CASES.length >= 80);
  assert.deepEqual(warnings, []);
});
