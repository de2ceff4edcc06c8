/**
 * WebAssembly text modules (`.wat`, `.wast`) assembled into binaries with wabt (npm). The CLI
 * imports this file only when it is given a text module, so running a `.wasm` never loads
 * the assembler.
 *
 * @module
 */

import { LoadError } from "../../sdk/errors.ts";

// Pinned here rather than through deno.json's import map (which has the same version for the
// tests), as a specifier Deno does not see before this file runs: the CLI also runs as
// `deno run https://…/mod.ts`, where no config file is read, and resolving an npm package costs
// every start-up about a millisecond when it is part of the module graph.
const _WABT = "npm:wabt@1.0.39";
type _WabtInit = typeof import("npm:wabt@1.0.39");

/** The proposals a text module may use: every one wabt assembles and V8 runs. */
export const WAT_FEATURES: Readonly<Record<string, boolean>> = {
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  simd: true,
  relaxed_simd: true,
  exceptions: true,
  tail_call: true,
  multi_memory: true,
  memory64: true,
  threads: true,
  gc: true,
  function_references: true,
  extended_const: true,
};

type _Wabt = Awaited<ReturnType<_WabtInit>>;
let _wabt: Promise<_Wabt> | undefined;

/**
 * wabt's report without its first line (`parseWat failed:`) and without the quoted source
 * and carets: one `file:line:column: error: …` line per error.
 */
function _errors(message: string): string {
  const lines = message.split("\n").filter((line) => /: error: /.test(line));
  return lines.length > 0 ? lines.join("\n") : message.trim();
}

/**
 * Assembles a text module (one `(module …)`, as `wat2wasm` takes it) into a binary.
 *
 * @param source the text, UTF-8
 * @param name the file name errors point into (`app.wat:3:7: error: …`)
 * @returns the binary
 * @throws {LoadError} naming the line and column of every syntax or validation error
 *
 * @example Assemble a function and run it
 * ```ts
 * import assert from "node:assert/strict";
 * import { assembleText } from "./wat.ts";
 * const text = '(module (func (export "add") (param i32 i32) (result i32) ' +
 *   "local.get 0 local.get 1 i32.add))";
 * const bytes = await assembleText(new TextEncoder().encode(text), "add.wat");
 * const { instance } = await WebAssembly.instantiate(bytes);
 * assert.equal((instance.exports.add as (a: number, b: number) => number)(2, 3), 5);
 * await assert.rejects(assembleText(new TextEncoder().encode("(module (func bogus))"), "x.wat"), {
 *   name: "LoadError",
 *   message: "x.wat:1:15: error: unexpected token bogus, expected ).",
 * });
 * ```
 */
export async function assembleText(
  source: Uint8Array,
  name: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const wabt = await (_wabt ??= import(_WABT).then((m: { default: _WabtInit }) => m.default()));
  let module: ReturnType<_Wabt["parseWat"]>;
  try {
    module = wabt.parseWat(name, source, WAT_FEATURES);
  } catch (e) {
    throw new LoadError(_errors((e as Error).message));
  }
  try {
    module.resolveNames();
    module.validate();
    return new Uint8Array(module.toBinary({}).buffer);
  } catch (e) {
    throw new LoadError(_errors((e as Error).message));
  } finally {
    module.destroy();
  }
}
