/**
 * Sizes on the command line: `67108864`, `64M`, `64MiB`, `1G` (binary multiples, as iwasm's
 * and wasmtime's users write them).
 *
 * @module
 */

const _UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Parses a byte count with an optional binary suffix: `K`, `M` or `G`, optionally followed
 * by `iB` or `B`, in any case.
 *
 * @param text the size, e.g. `64M`
 * @returns the bytes
 * @throws {RangeError} when the text is not such a size
 *
 * @example Sizes with and without a suffix
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseByteSize } from "./byte_size.ts";
 * assert.equal(parseByteSize("64M"), 64 * 1024 * 1024);
 * assert.equal(parseByteSize("1GiB"), 1024 ** 3);
 * assert.equal(parseByteSize("4096"), 4096);
 * ```
 */
export function parseByteSize(text: string): number {
  const m = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * _UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`Invalid size "${text}": expected bytes, or a number with K, M or G`);
  }
  return bytes;
}

/**
 * Formats a byte count the way {@linkcode parseByteSize} reads it, in the largest binary
 * unit that divides it.
 *
 * @param bytes the size
 * @returns e.g. `64 MiB`, `1 GiB`, `1000 bytes`
 *
 * @example Whole units and odd sizes
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatByteSize } from "./byte_size.ts";
 * assert.equal(formatByteSize(64 * 1024 * 1024), "64 MiB");
 * assert.equal(formatByteSize(1000), "1000 bytes");
 * ```
 */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes > 0 && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
