/**
 * The native-symbol registry: libraries registered by module name; imports resolve by
 * module + field, also without a leading `_`, and by wasm type: among the natives of that
 * name (newest library first, each symbol's overloads in declared order) the first whose
 * signature matches the import's type is taken, so later registrations shadow earlier ones of
 * the same type.
 *
 * @module
 */

import type { NativeLibrary, NativeSymbol } from "../../sdk/native.ts";
import type { FuncType } from "../../sdk/wasm_types.ts";
import { parseSignature, type Signature, signatureMatches } from "../../sdk/signature.ts";

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
        for (const more of symbol.overloads ?? []) parseSignature(more.signature);
      } catch (e) {
        throw new TypeError(
          `Native library "${library.name}": symbol "${name}": ${(e as Error).message}`,
        );
      }
    }
    this.#libraries.unshift(library);
    _candidates.delete(this);
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
    _candidates.delete(this);
    return i >= 0;
  }

  /** Registered libraries, oldest first. */
  get libraries(): readonly NativeLibrary[] {
    return [...this.#libraries].reverse();
  }

  /**
   * Finds the native for an import: among its {@linkcode candidates}, the first whose
   * signature matches `type`, or without a type the first.
   *
   * @param module the import's module name
   * @param field the import's field name
   * @param type the import's wasm type, to choose among overloads
   * @returns the resolved native, or undefined
   */
  resolve(module: string, field: string, type?: FuncType): ResolvedNative | undefined {
    const all = this.candidates(module, field);
    if (type === undefined) return all[0];
    return all.find((c) => signatureMatches(c.signature, type));
  }

  /**
   * Every native an import could link to, in the order they are tried: newest library first;
   * in each, the exact field, or when it has none the field without a leading `_`; each
   * symbol followed by its overloads.
   *
   * @param module the import's module name
   * @param field the import's field name
   * @returns the natives of that name (empty when no library provides it)
   */
  candidates(module: string, field: string): ResolvedNative[] {
    const bare = field.startsWith("_") ? field.slice(1) : undefined;
    const out: ResolvedNative[] = [];
    for (const library of this.#libraries) {
      if (library.module !== module) continue;
      const name = Object.hasOwn(library.symbols, field)
        ? field
        : bare !== undefined && Object.hasOwn(library.symbols, bare)
        ? bare
        : undefined;
      if (name === undefined) continue;
      const symbol = library.symbols[name]!;
      for (const declared of [symbol, ...(symbol.overloads ?? [])]) {
        out.push({
          library,
          name,
          symbol: declared,
          signature: parseSignature(declared.signature),
        });
      }
    }
    return out;
  }
}

/** Each registry's candidates by module and field, until a library is registered or removed. */
const _candidates = new WeakMap<
  NativeRegistry,
  Map<string, Map<string, readonly ResolvedNative[]>>
>();

/**
 * {@linkcode NativeRegistry.candidates}, kept per registry until its libraries change: the
 * linker asks for every import of every instance, and building the list each time (objects,
 * arrays, signature lookups) was a third of instantiating an app of 60 imports.
 *
 * @param registry the registry to search
 * @param module the import's module name
 * @param field the import's field name
 * @returns the natives of that name, shared: do not modify
 */
export function cachedCandidates(
  registry: NativeRegistry,
  module: string,
  field: string,
): readonly ResolvedNative[] {
  const byModule = registryGeneration(registry);
  let byField = byModule.get(module);
  if (byField === undefined) byModule.set(module, byField = new Map());
  let found = byField.get(field);
  if (found === undefined) byField.set(field, found = registry.candidates(module, field));
  return found;
}

/**
 * What identifies a registry's libraries as they are now: the same object until a library is
 * registered or removed, so anything worked out from its candidates can be kept against it.
 *
 * @param registry the registry
 * @returns an object that changes when the registry's libraries do
 */
export function registryGeneration(
  registry: NativeRegistry,
): Map<string, Map<string, readonly ResolvedNative[]>> {
  let byModule = _candidates.get(registry);
  if (byModule === undefined) _candidates.set(registry, byModule = new Map());
  return byModule;
}
