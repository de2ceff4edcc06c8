/**
 * The linker: resolves every import of a module against the native registry and builds the
 * import object. Signatures are checked against the import's wasm type here, so a mismatch
 * is a link error naming the import, both types and the library.
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

  for (const imp of module.info.imports) {
    const ns = imports[imp.module] ??= {};
    switch (imp.kind) {
      case "function": {
        const found = registry.resolve(imp.module, imp.name);
        if (!found) {
          unlinked.push({ module: imp.module, name: imp.name });
          ns[imp.name] = unlinkedImport(imp.module, imp.name);
          break;
        }
        if (!imp.type || !signatureMatches(found.signature, imp.type)) {
          const type = imp.type ? formatFuncType(imp.type) : "a non-function type";
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": signature ` +
              `"${found.signature.text}" of library "${found.library.name}" does not match ${type}`,
          );
        }
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
        } else {
          ns[imp.name] = fn;
        }
        break;
      }
      case "memory": {
        const { min, max, shared, memory64 } = imp.type;
        if (memory64) {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": imported 64-bit memories are not supported`,
          );
        }
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
          initial: limits.min,
        } as WebAssembly.TableDescriptor;
        if (limits.max !== undefined) desc.maximum = limits.max;
        ns[imp.name] = new WebAssembly.Table(desc);
        break;
      }
      case "global": {
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
  return { imports, memory, libraries, unlinked, async: isAsync };
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
