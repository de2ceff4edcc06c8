/**
 * What an embedder supplies for imports besides native libraries: single values defined by
 * module and name (a memory, table, global, tag or host function), and every export of an
 * instance registered under a module name, Wasmtime-style. The linker checks each against
 * the import's type and limits (see `link.ts`); what JS cannot tell about a host object (a
 * memory's maximum, a global's type) V8 checks at instantiation, and that failure comes out
 * as the same {@linkcode LinkError}.
 *
 * @module
 */

import {
  functionType,
  type FuncType,
  type GlobalType,
  type Limits,
  type ModuleInfo,
  type TableType,
} from "../module/binary.ts";
import type { AppModule } from "../module/module.ts";

/**
 * A `WebAssembly.Tag` (exception handling), which TypeScript's library types lack: any object,
 * checked to be a tag when defined.
 */
export type WasmTag = object;

/**
 * A value an import can be given: a wasm object, a host function, or an immutable global's
 * value (a number, a bigint for i64, 16 bytes for v128).
 */
export type ExternValue =
  | WebAssembly.Memory
  | WebAssembly.Table
  | WebAssembly.Global
  | WasmTag
  | ((...args: never[]) => unknown)
  | number
  | bigint
  | Uint8Array;

/**
 * A provider's declared type, as far as it is known (a memory's or table's current size is
 * read from the object when an import is checked: it may have grown since).
 */
export type ExternType =
  | { kind: "function"; type: FuncType | undefined }
  | { kind: "memory"; type: Limits | undefined }
  | { kind: "table"; type: TableType | undefined }
  | { kind: "global"; type: GlobalType | undefined }
  | { kind: "tag"; type: FuncType | undefined };

/** One supplied value, with what is known of its type and where it comes from. */
export interface Definition {
  /** The value placed in the import object. */
  readonly value: ExternValue;
  /** Its type: exact for an instance's exports, partial for host objects. */
  readonly type: ExternType;
  /** Who provides it, for messages: `export "mem" of instance "lib"`. */
  readonly origin: string;
}

/** What `instance` needs of an instance: its module (for types), exports and name. */
export interface LinkableInstance {
  /** The module it was created from. */
  readonly module: AppModule;
  /** The instantiated module: its raw exports are what importers get. */
  readonly instance: WebAssembly.Instance;
  /** Its name, for messages. */
  readonly name: string;
}

/**
 * What an import nothing provides becomes: with `"trap"` (WAMR's way, the default) a function
 * is a stub that traps when called, after a warning at instantiation, and a memory or table is
 * created from the import's own limits; with `"error"` either is a {@linkcode LinkError} at
 * instantiation. Globals nothing provides (but emscripten's `env.__memory_base` and its kin,
 * which read 0) and tags are link errors either way.
 */
export type UnknownImports = "trap" | "error";

const _Tag = (WebAssembly as unknown as { Tag?: abstract new (...args: never[]) => object }).Tag;

/**
 * Imports supplied by the embedder, by module and name. Every `Runtime` has one
 * (`runtime.linker`, filled by `runtime.define` and `runtime.register`), searched after an
 * instance's own `imports` and before native libraries.
 *
 * @example Share one memory between two instances
 * ```ts
 * import assert from "node:assert/strict";
 * import { Linker } from "./linker.ts";
 * const linker = new Linker();
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
 * linker.define("env", "memory", memory);
 * assert.equal(linker.get("env", "memory")?.value, memory);
 * assert.equal(linker.get("env", "memory")?.type.kind, "memory");
 * assert.throws(() => linker.define("env", "x", "text" as never), TypeError);
 * ```
 */
export class Linker {
  readonly #modules = new Map<string, Map<string, Definition>>();

  /**
   * Supplies one import: a memory, table, global or tag object, a host function (called
   * with the wasm arguments; v128 ones as 16-byte arrays), or a number, bigint or 16 bytes
   * for an immutable global. A later definition of the same name replaces the earlier one.
   *
   * @param module the import's module name
   * @param name the import's field name
   * @param value what the import gets
   * @returns this linker
   * @throws {TypeError} when the value cannot be an import
   */
  define(module: string, name: string, value: ExternValue): this {
    this.#set(module, name, {
      value,
      type: _hostType(value, module, name),
      origin: `the definition of "${module}"."${name}"`,
    });
    return this;
  }

  /**
   * Supplies every export of an instance under a module name: modules instantiated later
   * import them as `module`.`export` (the same memory, table, global and tag objects, and
   * calls straight into the instance's functions). The exports are taken now; each replaces
   * an earlier definition of the same name.
   *
   * @param module the module name importers use
   * @param app the instance
   * @returns this linker
   */
  instance(module: string, app: LinkableInstance): this {
    const info = app.module.info;
    const exports = app.instance.exports as Record<string, unknown>;
    for (const exp of info.exports) {
      const value = exports[exp.name] as ExternValue | undefined;
      if (value === undefined) continue;
      const type = _exportType(info, exp.kind, exp.index);
      const origin = `export "${exp.name}" of instance "${app.name}"`;
      this.#set(module, exp.name, { value, type, origin });
    }
    return this;
  }

  /**
   * The definition for an import.
   *
   * @param module the import's module name
   * @param name the import's field name
   * @returns the definition, or undefined
   */
  get(module: string, name: string): Definition | undefined {
    return this.#modules.get(module)?.get(name);
  }

  /** Whether anything is defined (the linker skips the lookups when not). */
  get empty(): boolean {
    return this.#modules.size === 0;
  }

  #set(module: string, name: string, definition: Definition): void {
    let names = this.#modules.get(module);
    if (!names) this.#modules.set(module, names = new Map());
    names.set(name, definition);
  }
}

/**
 * Definitions from a plain import object (`{ env: { memory } }`), for one instantiation.
 *
 * @param imports the object
 * @returns a linker holding them
 * @throws {TypeError} when a value cannot be an import
 */
export function linkerFrom(imports: Record<string, Record<string, ExternValue>>): Linker {
  const linker = new Linker();
  for (const [module, names] of Object.entries(imports)) {
    for (const [name, value] of Object.entries(names)) linker.define(module, name, value);
  }
  return linker;
}

function _hostType(value: unknown, module: string, name: string): ExternType {
  if (value instanceof WebAssembly.Memory) {
    return { kind: "memory", type: undefined };
  }
  if (value instanceof WebAssembly.Table) {
    return { kind: "table", type: undefined };
  }
  // A global object's type and mutability cannot be read from JS: V8 checks them.
  if (value instanceof WebAssembly.Global) return { kind: "global", type: undefined };
  if (_Tag && value instanceof _Tag) return { kind: "tag", type: undefined };
  if (typeof value === "function") return { kind: "function", type: undefined };
  if (typeof value === "number") return { kind: "global", type: undefined };
  if (typeof value === "bigint") return { kind: "global", type: { type: "i64", mutable: false } };
  if (value instanceof Uint8Array && value.length === 16) {
    return { kind: "global", type: { type: "v128", mutable: false } };
  }
  throw new TypeError(
    `Cannot define "${module}"."${name}": expected a WebAssembly.Memory, Table, Global or ` +
      `Tag, a function, a number, a bigint or 16 bytes, got ${_describe(value)}`,
  );
}

function _exportType(
  info: ModuleInfo,
  kind: "function" | "table" | "memory" | "global" | "tag",
  index: number,
): ExternType {
  const imported = info.imports.filter((i) => i.kind === kind);
  switch (kind) {
    case "function":
      return { kind, type: functionType(info, index) };
    case "memory": {
      const imp = imported[index];
      const type = imp?.kind === "memory" ? imp.type : info.memories[index - imported.length];
      return { kind, type };
    }
    case "table": {
      const imp = imported[index];
      const type = imp?.kind === "table" ? imp.type : info.tables[index - imported.length];
      return { kind, type };
    }
    case "global": {
      const imp = imported[index];
      const type = imp?.kind === "global" ? imp.type : info.globals[index - imported.length];
      return { kind, type };
    }
    case "tag": {
      const imp = imported[index];
      const typeIndex = imp?.kind === "tag" ? imp.typeIndex : info.tags[index - imported.length];
      return { kind, type: typeIndex === undefined ? undefined : info.types[typeIndex] };
    }
  }
}

function _describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return typeof value;
}
