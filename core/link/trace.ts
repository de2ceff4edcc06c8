/**
 * `--trace`: one line per native call an app makes — library, symbol, decoded arguments,
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
  for (let i = 0; i < sig.params.length; i++) {
    const c = sig.params[i];
    const a = args[i];
    if (c === "*" && sig.params[i + 1] === "~") {
      parts.push(`0x${((a as number) >>> 0).toString(16)}[${(args[i + 1] as number) >>> 0}]`);
      i++;
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
    } else if (c === "r") {
      parts.push(a === null ? "null" : typeof a);
    } else {
      parts.push(String(a));
    }
  }
  return parts.join(", ");
}

function _formatResult(value: unknown): string {
  if (value === undefined) return "void";
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
    const took = () => `${((performance.now() - start) * 1000).toFixed(1)}µs`;
    try {
      const result = fn(...args);
      if (result instanceof Promise) {
        return result.then(
          (value) => {
            sink(`[trace] ${call} -> ${_formatResult(value)} (${took()}, async)`);
            return value;
          },
          (error) => {
            sink(`[trace] ${call} trapped: ${(error as Error).message} (${took()}, async)`);
            throw error;
          },
        );
      }
      sink(`[trace] ${call} -> ${_formatResult(result)} (${took()})`);
      return result;
    } catch (error) {
      sink(`[trace] ${call} trapped: ${(error as Error).message} (${took()})`);
      throw error;
    }
  };
}
