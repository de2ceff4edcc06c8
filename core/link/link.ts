/**
 * The linker: resolves every import of a module against the native registry and builds the
 * import object. Signatures are checked against the import's wasm type here: among the
 * natives of the import's name the first whose signature matches is linked, and with none a
 * link error names the import, every signature tried with its library, and the import's type.
 * Modules with a `dylink.0` section (emscripten side modules) get their memory, table,
 * globals and GOT from {@linkcode SideModule}.
 *
 * @module
 */

import { formatFuncType, type Import } from "../module/binary.ts";
import { LinkError } from "../../sdk/errors.ts";
import type { AppModule } from "../module/module.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import type { NativeRegistry } from "./registry.ts";
import { parseSignature, signatureMatches } from "../../sdk/signature.ts";
import { nativeFailure, unlinkedImport, wrapNative, type WrapperContext } from "./wrappers.ts";
import type { AppMemory } from "../../sdk/memory.ts";
import { traceNative, type TraceSink } from "./trace.ts";
import type { ResolvedNative } from "./registry.ts";
import { type Initializer, SideModule } from "./side_module.ts";
import { hasV128, liftFunction } from "./v128.ts";

/** Imported globals WAMR satisfies for emscripten-era modules (§2.1, §3.3). */
const _KNOWN_GLOBALS: Record<string, number> = {
  "env.memoryBase": 0,
  "env.__memory_base": 0,
  "env.tableBase": 0,
  "env.__table_base": 0,
  "env.STACKTOP": 0,
  "env.STACK_MAX": 0,
  "env.ABORT": 0,
  "env.DYNAMICTOP_PTR": 0,
  "env.tempDoublePtr": 0,
  "global.NaN": NaN,
  "global.Infinity": Infinity,
};

/** What linking produced. */
export interface LinkResult {
  /** The import object for `WebAssembly.Instance`. */
  readonly imports: WebAssembly.Imports;
  /** A memory the linker created for an imported memory, if any. */
  readonly memory: WebAssembly.Memory | undefined;
  /** Libraries that provided at least one import, in first-use order. */
  readonly libraries: NativeLibrary[];
  /** Function imports no library provides (they trap when called). */
  readonly unlinked: { module: string; name: string }[];
  /** Whether any linked native is async (exports must then be wrapped with `promising`). */
  readonly async: boolean;
  /**
   * Finishes linking once the instance exists, before any app code other than a start
   * function runs: fills what needs the exports (a side module's GOT and table slots).
   */
  readonly bind: (exports: Readonly<Record<string, unknown>>) => void;
  /** Exports to call after `bind`, in order (a side module's relocations, constructors). */
  readonly initializers: readonly Initializer[];
}

/** Optional linking behaviour. */
export interface LinkOptions {
  /** Trace every native call to this sink. */
  trace?: TraceSink;
  /** The app's memory once it exists (for decoding traced strings). */
  memoryOf?: () => AppMemory | undefined;
  /** Most 64 KiB pages an imported memory the linker creates may grow to. */
  maxMemoryPages?: number;
}

/** Creates the context a native receives; supplied by the instance. */
export type ContextFactory = (
  library: NativeLibrary,
  symbol: string,
  attachment: unknown,
) => WrapperContext;

/**
 * Resolves a module's imports.
 *
 * @param module the compiled module
 * @param registry where natives are looked up
 * @param makeContext creates each native's context
 * @returns the import object and what was linked
 * @throws {LinkError} on a signature mismatch or an import that cannot be satisfied
 */
export function linkImports(
  module: AppModule,
  registry: NativeRegistry,
  makeContext: ContextFactory,
  options: LinkOptions = {},
): LinkResult {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  const libraries: NativeLibrary[] = [];
  const unlinked: { module: string; name: string }[] = [];
  let memory: WebAssembly.Memory | undefined;
  let isAsync = false;
  const side = module.info.dylink ? new SideModule(module.info) : undefined;

  for (const imp of module.info.imports) {
    const ns = imports[imp.module] ??= {};
    switch (imp.kind) {
      case "function": {
        const candidates = registry.candidates(imp.module, imp.name);
        if (candidates.length === 0) {
          unlinked.push({ module: imp.module, name: imp.name });
          ns[imp.name] = unlinkedImport(imp.module, imp.name);
          break;
        }
        const type = imp.type;
        const found = type && candidates.find((c) => signatureMatches(c.signature, type));
        if (!found) throw new LinkError(_mismatch(imp, candidates));
        if (!libraries.includes(found.library)) libraries.push(found.library);
        const ctx = makeContext(found.library, found.name, found.symbol.attachment);
        const label = `(${imp.module}, ${imp.name})`;
        let fn = wrapNative(found.signature, found.symbol.impl, ctx, label);
        if (found.symbol.async) fn = _asyncFailures(fn, label);
        if (options.trace) {
          const name = `${found.library.name}.${found.name}`;
          const shown = found.symbol.traceAs
            ? parseSignature(found.symbol.traceAs)
            : found.signature;
          fn = traceNative(fn, shown, name, options.memoryOf ?? (() => undefined), options.trace);
        }
        if (found.symbol.async) {
          isAsync = true;
          ns[imp.name] = _suspending(fn, imp);
        } else if (hasV128(type)) {
          ns[imp.name] = liftFunction(type, fn);
        } else {
          ns[imp.name] = fn;
        }
        break;
      }
      case "memory": {
        const { max, shared, memory64 } = imp.type;
        if (memory64) {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": imported 64-bit memories are not supported`,
          );
        }
        const min = side ? side.memoryPages(imp) : imp.type.min;
        const desc: WebAssembly.MemoryDescriptor = { initial: min, shared };
        if (max !== undefined) desc.maximum = max;
        else if (shared) desc.maximum = 65536;
        const cap = options.maxMemoryPages;
        if (cap !== undefined) {
          if (min > cap) {
            throw new LinkError(
              `Cannot link import "${imp.module}"."${imp.name}": the memory starts at ${min} pages, more than the ${cap}-page memory limit`,
            );
          }
          desc.maximum = Math.min(desc.maximum ?? cap, cap);
        }
        memory = new WebAssembly.Memory(desc);
        ns[imp.name] = memory;
        break;
      }
      case "table": {
        const { element, limits } = imp.type;
        if (element !== "funcref" && element !== "externref") {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": table of ${element} is not supported`,
          );
        }
        const desc = {
          element: element === "funcref" ? "anyfunc" : "externref",
          initial: side && element === "funcref" ? side.tableSlots(imp) : limits.min,
        } as WebAssembly.TableDescriptor;
        if (limits.max !== undefined) desc.maximum = limits.max;
        const table = new WebAssembly.Table(desc);
        if (side && element === "funcref") side.useTable(table);
        ns[imp.name] = table;
        break;
      }
      case "global": {
        const sideGlobal = side?.global(imp);
        if (sideGlobal) {
          ns[imp.name] = sideGlobal;
          break;
        }
        const key = `${imp.module}.${imp.name}`;
        const value = _KNOWN_GLOBALS[key];
        const { type, mutable } = imp.type;
        if (value === undefined || !["i32", "f64", "f32"].includes(type)) {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": no global ${type} of that name`,
          );
        }
        ns[imp.name] = new WebAssembly.Global(
          { value: type as "i32" | "f32" | "f64", mutable },
          value,
        );
        break;
      }
      case "tag":
        throw new LinkError(
          `Cannot link import "${imp.module}"."${imp.name}": imported tags are not supported`,
        );
    }
  }
  side?.placeImportedFunctions(imports);
  return {
    imports,
    memory,
    libraries,
    unlinked,
    async: isAsync,
    bind: (exports) => side?.bind(exports),
    initializers: side?.initializers() ?? [],
  };
}

/**
 * The message for an import no candidate's signature fits: `signature "(i)i" of library "vendor"
 * does not match (i32, i32) -> i32`, or with several candidates every signature, grouped by
 * library in the order they were tried.
 */
function _mismatch(imp: Import, candidates: readonly ResolvedNative[]): string {
  const type = imp.kind === "function" && imp.type
    ? formatFuncType(imp.type)
    : "a non-function type";
  const groups: { library: NativeLibrary; signatures: string[] }[] = [];
  for (const c of candidates) {
    const group = groups.at(-1);
    const text = `"${c.signature.text}"`;
    if (group?.library === c.library) group.signatures.push(text);
    else groups.push({ library: c.library, signatures: [text] });
  }
  const listed = groups.map((g) => `${g.signatures.join(", ")} of library "${g.library.name}"`);
  const what = candidates.length === 1
    ? `signature ${listed[0]} does not match`
    : `signatures ${listed.join(", ")} do not match`;
  return `Cannot link import "${imp.module}"."${imp.name}": ${what} ${type}`;
}

type _SuspendingCtor = new (fn: (...args: never[]) => unknown) => WebAssembly.ImportValue;

function _suspending(fn: (...args: never[]) => unknown, imp: Import): WebAssembly.ImportValue {
  const Suspending = (WebAssembly as unknown as { Suspending?: _SuspendingCtor }).Suspending;
  if (!Suspending) {
    throw new LinkError(
      `Cannot link import "${imp.module}"."${imp.name}": async natives need JSPI ` +
        `(WebAssembly.Suspending), which this engine lacks`,
    );
  }
  return new Suspending(fn);
}

/** Async natives reject instead of throwing: give rejections the same trap as throws. */
function _asyncFailures(
  fn: (...args: never[]) => unknown,
  label: string,
): (...args: never[]) => unknown {
  const fail = nativeFailure(label);
  return function asyncNative(...args: never[]): unknown {
    return Promise.resolve(fn(...args)).catch(fail);
  };
}
