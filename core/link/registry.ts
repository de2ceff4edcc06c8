/**
 * The native-symbol registry: libraries registered by module name; imports resolve by
 * module + field, also without a leading `_`; later registrations shadow earlier ones.
 *
 * @module
 */

import type { NativeLibrary, NativeSymbol } from "../../sdk/native.ts";
import { parseSignature, type Signature } from "../../sdk/signature.ts";

/** A resolved import: the symbol, its library and the name it was registered under. */
export interface ResolvedNative {
  /** The library that provides it. */
  readonly library: NativeLibrary;
  /** The registered name (may differ from the import by a leading `_`). */
  readonly name: string;
  /** The symbol declaration. */
  readonly symbol: NativeSymbol;
  /** Its parsed signature. */
  readonly signature: Signature;
}

/** Native libraries available to apps. */
export class NativeRegistry {
  /** Newest first, so later registrations shadow earlier ones. */
  readonly #libraries: NativeLibrary[] = [];

  /**
   * Registers a library; its symbols shadow same-named ones registered before.
   *
   * @param library the library to add
   */
  register(library: NativeLibrary): void {
    for (const [name, symbol] of Object.entries(library.symbols)) {
      try {
        parseSignature(symbol.signature);
      } catch (e) {
        throw new TypeError(
          `Native library "${library.name}": symbol "${name}": ${(e as Error).message}`,
        );
      }
    }
    this.#libraries.unshift(library);
  }

  /**
   * Removes a library registered before.
   *
   * @param library the same object that was registered
   * @returns whether it was found
   */
  unregister(library: NativeLibrary): boolean {
    const i = this.#libraries.indexOf(library);
    if (i >= 0) this.#libraries.splice(i, 1);
    return i >= 0;
  }

  /** Registered libraries, oldest first. */
  get libraries(): readonly NativeLibrary[] {
    return [...this.#libraries].reverse();
  }

  /**
   * Finds the native for an import: the exact field first, then the field without a
   * leading `_`, newest library first.
   *
   * @param module the import's module name
   * @param field the import's field name
   * @returns the resolved native, or undefined
   */
  resolve(module: string, field: string): ResolvedNative | undefined {
    const bare = field.startsWith("_") ? field.slice(1) : undefined;
    for (const library of this.#libraries) {
      if (library.module !== module) continue;
      const found = _own(library, field) ?? (bare === undefined ? undefined : _own(library, bare));
      if (found) return found;
    }
    return undefined;
  }
}

function _own(library: NativeLibrary, name: string): ResolvedNative | undefined {
  if (!Object.hasOwn(library.symbols, name)) return undefined;
  const symbol = library.symbols[name]!;
  return { library, name, symbol, signature: parseSignature(symbol.signature) };
}
