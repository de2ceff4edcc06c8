/**
 * `--trace`: one line per native call an app makes -- library, symbol, decoded arguments,
 * result or trap, duration. Tracing wraps the import function itself, so calls stopped by a
 * failed pointer check show up too.
 *
 * @module
 */

import type { AppMemory } from "../../sdk/memory.ts";
import type { Signature } from "../../sdk/signature.ts";

/** Receives one trace line per native call. */
export type TraceSink = (line: string) => void;

function _formatArgs(
  sig: Signature,
  args: readonly unknown[],
  memory: AppMemory | undefined,
): string {
  const parts: string[] = [];
  // `at` walks the wasm arguments: a v128 arrives as two (see v128.ts).
  for (let i = 0, at = 0; i < sig.params.length; i++, at++) {
    const c = sig.params[i];
    const a = args[at];
    if (c === "*" && sig.params[i + 1] === "~") {
      parts.push(`0x${((a as number) >>> 0).toString(16)}[${(args[at + 1] as number) >>> 0}]`);
      i++;
      at++;
    } else if (c === "*") {
      parts.push(`0x${((a as number) >>> 0).toString(16)}`);
    } else if (c === "$") {
      let text: string;
      try {
        text = JSON.stringify(memory!.cstring((a as number) >>> 0));
      } catch {
        text = `0x${((a as number) >>> 0).toString(16)} (bad string)`;
      }
      parts.push(text);
    } else if (c === "I") {
      parts.push(`${a}n`);
    } else if (c === "V") {
      parts.push(_v128(a, args[++at]));
    } else if (c === "r" || c === "R") {
      parts.push(a === null ? "null" : typeof a);
    } else {
      parts.push(String(a));
    }
  }
  return parts.join(", ");
}

/** A v128 from its halves as one 128-bit hex number (the last byte in memory leads). */
function _v128(lo: unknown, hi: unknown): string {
  return `v128(${_hex64(hi)}${_hex64(lo).slice(2)})`;
}

/** What a native returned, v128 results put back together from their halves. */
function _formatReturn(sig: Signature, value: unknown): string {
  if (!sig.results.includes("V")) return _formatResult(value);
  const flat = value as unknown[];
  const parts: string[] = [];
  for (let i = 0, at = 0; i < sig.results.length; i++, at++) {
    if (sig.results[i] === "V") parts.push(_v128(flat[at], flat[++at]));
    else parts.push(_formatResult(flat[at]));
  }
  return parts.length === 1 ? parts[0]! : `[${parts.join(", ")}]`;
}

function _hex64(half: unknown): string {
  return `0x${BigInt.asUintN(64, half as bigint).toString(16).padStart(16, "0")}`;
}

function _formatResult(value: unknown): string {
  if (value === undefined) return "void";
  if (Array.isArray(value)) return `[${value.map(_formatResult).join(", ")}]`;
  if (typeof value === "bigint") return `${value}n`;
  return typeof value === "number" ? String(value) : typeof value;
}

/**
 * Wraps an import function so each call is traced.
 *
 * @param fn the import function (raw wasm arguments)
 * @param sig the native's signature
 * @param label `libc.printf`-style name
 * @param memoryOf returns the app's memory, for decoding strings
 * @param sink where lines go
 * @returns the traced function
 */
export function traceNative(
  fn: (...args: never[]) => unknown,
  sig: Signature,
  label: string,
  memoryOf: () => AppMemory | undefined,
  sink: TraceSink,
): (...args: never[]) => unknown {
  return function traced(...args: never[]): unknown {
    const call = `${label}(${_formatArgs(sig, args, memoryOf())})`;
    const start = performance.now();
    const took = () => `${((performance.now() - start) * 1000).toFixed(1)}\u00b5s`;
    try {
      const result = fn(...args);
      if (result instanceof Promise) {
        return result.then(
          (value) => {
            sink(`[trace] ${call} -> ${_formatReturn(sig, value)} (${took()}, async)`);
            return value;
          },
          (error) => {
            sink(`[trace] ${call} trapped: ${(error as Error).message} (${took()}, async)`);
            throw error;
          },
        );
      }
      sink(`[trace] ${call} -> ${_formatReturn(sig, result)} (${took()})`);
      return result;
    } catch (error) {
      sink(`[trace] ${call} trapped: ${(error as Error).message} (${took()})`);
      throw error;
    }
  };
}
