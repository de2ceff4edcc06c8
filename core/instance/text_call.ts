/**
 * Calls an export with arguments given as text and formats what it returns, the way iwasm's
 * `-f` and REPL do: integers by `strtoul` rules (hex, octal), floats by `strtod` (with `nan`
 * and `inf`), results as `0x2:i32`. Shared by the CLI and the browser build.
 *
 * @module
 */

import { TrapError } from "../../sdk/errors.ts";
import { formatG7 } from "../../sdk/c_format.ts";
import type { FuncType } from "../module/binary.ts";
import type { AppInstance, WasmValue } from "./instance.ts";

/** Parses one `-f`/REPL argument per the parameter's wasm type (strtoul/strtod rules). */
function _parseArg(text: string, type: string, index: number): WasmValue {
  if (text === "") throw new TrapError(`invalid input argument ${index}`);
  const bad = () => new TrapError(`invalid input argument ${index}: ${text}`);
  if (type === "i32" || type === "i64") {
    const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
    if (!m) throw bad();
    const digits = m[2]!;
    let v = /^0[xX]/.test(digits)
      ? BigInt(digits)
      : digits.length > 1 && digits[0] === "0"
      ? BigInt("0o" + digits.slice(1))
      : BigInt(digits);
    if (m[1] === "-") v = -v;
    return type === "i32" ? Number(BigInt.asIntN(32, v)) : BigInt.asIntN(64, v);
  }
  if (type === "f32" || type === "f64") {
    const nan = /^([+-]?)nan(?::(0x[0-9a-fA-F]+))?$/i.exec(text);
    if (nan) {
      if (nan[2] === undefined) return nan[1] === "-" ? -NaN : NaN;
      // A NaN with a payload can only be passed as bits; JS numbers canonicalise NaNs.
      return NaN;
    }
    const inf = /^([+-]?)inf(inity)?$/i.exec(text);
    if (inf) return inf[1] === "-" ? -Infinity : Infinity;
    const v = /^[+-]?0[xX]/.test(text) ? _hexFloat(text) : Number(text.trim());
    if (Number.isNaN(v) || text.trim() === "") throw bad();
    return type === "f32" ? Math.fround(v) : v;
  }
  throw new TrapError(`invalid input argument ${index}: ${type} parameters are not supported`);
}

function _hexFloat(text: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return NaN;
  const frac = m[3] ?? "";
  const mantissa = parseInt((m[2] || "0") + frac, 16);
  const v = mantissa * 2 ** (Number(m[4] ?? 0) - 4 * frac.length);
  return m[1] === "-" ? -v : v;
}

/**
 * Formats results like iwasm: `0x2:i32`, `0xc:i64`, `3:f32`, `2.5:f64`, comma-separated.
 *
 * @param type the function's type
 * @param result what the call returned
 * @returns the line to print (without newline)
 */
export function formatResults(type: FuncType, result: WasmValue): string {
  const values = type.results.length > 1 ? result as WasmValue[] : [result];
  return type.results.map((t, i) => {
    const v = values[i];
    switch (t) {
      case "i32":
        return `0x${((v as number) >>> 0).toString(16)}:i32`;
      case "i64":
        return `0x${BigInt.asUintN(64, v as bigint).toString(16)}:i64`;
      case "f32":
      case "f64":
        return `${formatG7(v as number)}:${t}`;
      default:
        return v === null ? `ref.null:${t}` : `ref:${t}`;
    }
  }).join(",");
}

/**
 * Calls an export with text arguments and formats the result (`-f` and the REPL).
 *
 * @param app the instance
 * @param name export name
 * @param args argument texts
 * @returns the formatted result line
 * @throws {TrapError} for unknown functions, bad arguments and traps
 */
export async function callWithTextArgs(
  app: AppInstance,
  name: string,
  args: readonly string[],
): Promise<string> {
  const type = app.functionType(name);
  if (!type || typeof app.exports[name] !== "function") {
    throw new TrapError(`lookup function ${name} failed`);
  }
  if (args.length !== type.params.length) throw new TrapError("invalid input argument count");
  const values = args.map((a, i) => _parseArg(a, type.params[i]!, i));
  return formatResults(type, await app.callAsync(name, ...values));
}
