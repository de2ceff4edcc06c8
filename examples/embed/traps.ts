/**
 * Traps: every way the traps example app can fault, each caught as a `TrapError` whose message
 * is WAMR's exception text, with the instance still usable afterwards; then the other error
 * classes an embedder catches: `LinkError` (a native whose signature does not match the
 * import) and `LoadError` (bytes that are not a module).
 *
 * ```sh
 * deno run --allow-read examples/embed/traps.ts
 * ```
 *
 * @module
 */

import { defineNativeLibrary, libc, LinkError, LoadError, Runtime, TrapError } from "../../mod.ts";

const runtime = new Runtime({
  plugins: [libc],
  // An import no library provides is a warning at instantiation, and a trap when called.
  warn: function showWarning(message) {
    console.log(`(${message})`);
  },
});
const module = await runtime.load(new URL("../traps/traps.wasm", import.meta.url));
const app = await runtime.instantiate(module);
const exports = [
  "unreachable_trap",
  "oob_load",
  "int_overflow",
  "bad_convert",
  "indirect_mismatch",
  "stack_overflow",
  "strlen_bad",
  "call_missing",
];
for (const name of exports) {
  try {
    app.call(name);
    console.log(`${name}: returned`);
  } catch (error) {
    if (!(error instanceof TrapError)) throw error;
    // What iwasm prints for the same trap.
    console.log(`${name}: Exception: ${error.message}`);
  }
}
// A trap ends the call, not the instance: the same app answers the next call.
console.log(`divz(5) after all that = ${app.call("divz", 5)}`);
try {
  app.call("divz", 0);
} catch (error) {
  if (!(error instanceof TrapError)) throw error;
  console.log(`divz(0): Exception: ${error.message}`);
}
app.free();

// A native library that declares foo_missing with the wrong signature: the app imports it as
// (i32) -> i32, so linking fails before any app code runs.
const wrong = defineNativeLibrary({
  name: "wrong",
  symbols: (native) => ({ foo_missing: native("(ii)i", (_ctx, a, b) => a + b) }),
});
try {
  await new Runtime({ plugins: [libc, wrong] }).instantiate(module);
} catch (error) {
  if (!(error instanceof LinkError)) throw error;
  console.log(`LinkError: ${error.message}`);
}

try {
  await runtime.load(new TextEncoder().encode("not wasm"));
} catch (error) {
  if (!(error instanceof LoadError)) throw error;
  console.log(`LoadError: ${error.message}`);
}
