/**
 * The linker: resolves every import of a module and builds the import object. What the
 * embedder defined (a {@linkcode Linker}: host values and registered instances' exports) comes
 * first, each checked against the import's type and limits; function imports then resolve
 * against the native registry. Signatures are checked against the import's wasm type here: among the
 * natives of the import's name the first whose signature matches is linked, and with none a
 * link error names the import, every signature tried with its library, and the import's type.
 * Modules with a `dylink.0` section (emscripten side modules) get their memory, table,
 * globals and GOT from {@linkcode SideModule}. Memories and tables nothing supplies are
 * created from the import's limits (one object for a name imported twice, meeting both), as
 * WAMR does, unless unknown imports are errors.
 *
 * @module
 */

import { formatFuncType, type Import } from "../module/binary.ts";
import { LinkError } from "../../sdk/errors.ts";
import type { AppModule } from "../module/module.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import { cachedCandidates, type NativeRegistry, registryGeneration } from "./registry.ts";
import { parseSignature, signatureMatches } from "../../sdk/signature.ts";
import {
  type InstanceImports,
  nativeFailure,
  planImports,
  type PlannedImport,
  type PlannedNative,
  unlinkedImport,
  wrapNative,
  type WrapperContext,
} from "./wrappers.ts";
import type { AppMemory } from "../../sdk/memory.ts";
import { traceNative, type TraceSink } from "./trace.ts";
import type { ResolvedNative } from "./registry.ts";
import { type Initializer, SideModule } from "./side_module.ts";
import { hasV128, liftArgs, liftFunction, lowerResults, v128Global } from "./v128.ts";
import type { Definition, ExternType, Linker, UnknownImports } from "./linker.ts";
import type { FuncType, Limits, ModuleInfo } from "../module/binary.ts";

/** Imported globals WAMR satisfies for emscripten-era modules (section 2.1, section 3.3). */
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
  /** The first imported memory (supplied, or created by the linker), if any. */
  readonly memory: WebAssembly.Memory | undefined;
  /** Whether that memory was supplied (it belongs to the embedder or another instance). */
  readonly memorySupplied: boolean;
  /** Libraries that provided at least one import, in first-use order. */
  readonly libraries: readonly NativeLibrary[];
  /** Function imports no library provides (they trap when called). */
  readonly unlinked: readonly { readonly module: string; readonly name: string }[];
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
  /** Supplied imports, searched in order before the native registry. */
  linkers?: readonly Linker[];
  /**
   * What a function import nothing provides becomes: `"trap"` (default, WAMR's behaviour) a
   * stub that traps when called, `"error"` a {@linkcode LinkError}; with `"error"` memories
   * and tables are no longer created from the import's own limits either.
   */
  unknownImports?: UnknownImports;
}

/**
 * Creates the context a native receives (its library, registered name and attachment are
 * `native`'s); supplied by the instance.
 */
export type ContextFactory = (native: ResolvedNative) => WrapperContext;

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
  options: LinkOptions = _NO_OPTIONS,
): LinkResult {
  // Most apps import only functions that natives provide: link them by the module's plan.
  if (module.info.dylink === undefined && !options.trace && !_defines(options.linkers)) {
    const plan = _planOf(module.info, registry);
    if (plan !== undefined && (plan.unlinked.length === 0 || options.unknownImports !== "error")) {
      return _linkPlanned(plan, makeContext);
    }
  }
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  const libraries: NativeLibrary[] = [];
  const unlinked: { module: string; name: string }[] = [];
  let memory: WebAssembly.Memory | undefined;
  let memorySupplied = false;
  let isAsync = false;
  const side = module.info.dylink ? new SideModule(module.info) : undefined;
  const linkers = options.linkers?.filter((l) => !l.empty) ?? [];
  const strict = options.unknownImports === "error";
  const limits = _mergedLimits(module.info.imports);
  const created = new Map<string, WebAssembly.Memory | WebAssembly.Table>();

  for (const imp of module.info.imports) {
    const ns = imports[imp.module] ??= {};
    const definition = linkers.length === 0 ? undefined : _defined(linkers, imp);
    if (definition) {
      const value = _supply(module, imp, definition);
      ns[imp.name] = value;
      if (imp.kind === "memory" && memory === undefined) {
        memory = value as WebAssembly.Memory;
        memorySupplied = true;
      }
      continue;
    }
    if (strict && !side && imp.kind !== "global") {
      const functions = imp.kind === "function" &&
        cachedCandidates(registry, imp.module, imp.name).length > 0;
      if (!functions) {
        throw new LinkError(
          `Cannot link import "${imp.module}"."${imp.name}" (${_importText(module, imp)}): ` +
            `no native library, definition or registered instance provides it`,
        );
      }
    }
    // Only memories and tables are created here; functions skip building the key.
    const key = imp.kind === "function" ? "" : `${imp.kind}\0${imp.module}\0${imp.name}`;
    const made = key === "" ? undefined : created.get(key);
    if (made) {
      ns[imp.name] = made;
      continue;
    }
    switch (imp.kind) {
      case "function": {
        const candidates = cachedCandidates(registry, imp.module, imp.name);
        if (candidates.length === 0) {
          unlinked.push({ module: imp.module, name: imp.name });
          ns[imp.name] = unlinkedImport(imp.module, imp.name);
          break;
        }
        const type = imp.type;
        const { found, label } = _choose(imp, candidates);
        if (!found || type === undefined) throw new LinkError(_mismatch(imp, candidates));
        if (!libraries.includes(found.library)) libraries.push(found.library);
        const ctx = makeContext(found);
        let fn = wrapNative(found.signature, found.symbol.impl, ctx, label, found.symbol.regions);
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
        const { shared, memory64 } = imp.type;
        if (memory64) {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": imported 64-bit memories are not supported`,
          );
        }
        const merged = limits.get(key) ?? imp.type;
        const min = side ? side.memoryPages(imp) : merged.min;
        const desc: WebAssembly.MemoryDescriptor = { initial: min, shared };
        if (merged.max !== undefined) desc.maximum = merged.max;
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
        let made: WebAssembly.Memory;
        try {
          made = new WebAssembly.Memory(desc);
        } catch (e) {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": cannot create its memory: ${
              (e as Error).message
            }`,
          );
        }
        memory ??= made;
        created.set(key, made);
        ns[imp.name] = made;
        break;
      }
      case "table": {
        const { element } = imp.type;
        const merged = limits.get(key) ?? imp.type.limits;
        if (element !== "funcref" && element !== "externref") {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": table of ${element} is not supported`,
          );
        }
        const desc = {
          element: element === "funcref" ? "anyfunc" : "externref",
          initial: side && element === "funcref" ? side.tableSlots(imp) : merged.min,
        } as WebAssembly.TableDescriptor;
        if (merged.max !== undefined) desc.maximum = merged.max;
        let table: WebAssembly.Table;
        try {
          table = new WebAssembly.Table(desc);
        } catch (e) {
          throw new LinkError(
            `Cannot link import "${imp.module}"."${imp.name}": cannot create its table: ${
              (e as Error).message
            }`,
          );
        }
        created.set(key, table);
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
            `Cannot link import "${imp.module}"."${imp.name}" (${_importText(module, imp)}): ` +
              `no definition or registered instance provides it`,
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
          `Cannot link import "${imp.module}"."${imp.name}" (${_importText(module, imp)}): ` +
            `no definition or registered instance provides it`,
        );
    }
  }
  side?.placeImportedFunctions(imports);
  return {
    imports,
    memory,
    memorySupplied,
    libraries,
    unlinked,
    async: isAsync,
    bind: (exports) => side?.bind(exports),
    initializers: side?.initializers() ?? [],
  };
}

const _NO_OPTIONS: LinkOptions = {};
const _NONE: readonly never[] = Object.freeze([]);

function _bindNothing(): void {}

/** Whether any of the linkers defines something. */
function _defines(linkers: readonly Linker[] | undefined): boolean {
  if (linkers === undefined) return false;
  for (const linker of linkers) if (!linker.empty) return true;
  return false;
}

/**
 * How every instance of a module links while its registry's libraries stay the same, for
 * modules whose imports are all functions, each one a native provides (or none: it traps).
 * Working this out once per module, not per instance, left each instance only its wrappers to
 * make. Modules importing anything else, async natives or mismatched ones link the long way.
 */
interface _Plan {
  /** The registry's libraries this plan was made for ({@linkcode registryGeneration}). */
  readonly generation: object;
  /** Libraries that provide at least one import, in first-use order. */
  readonly libraries: readonly NativeLibrary[];
  /** Imports nothing provides. */
  readonly unlinked: readonly { readonly module: string; readonly name: string }[];
  /** The natives linked imports link to, in import order (unlinked imports left out). */
  readonly found: readonly ResolvedNative[];
  /** Makes an instance's import object, its wrappers of `found` sharing one scope. */
  readonly imports: InstanceImports<ResolvedNative>;
}

/** A module that cannot link by a plan (for this registry generation). */
interface _NoPlan {
  readonly generation: object;
  readonly imports: undefined;
}

const _plans = new WeakMap<ModuleInfo, _Plan | _NoPlan>();

/** The module's plan for this registry as it is now, or undefined when it has none. */
function _planOf(info: ModuleInfo, registry: NativeRegistry): _Plan | undefined {
  const generation = registryGeneration(registry);
  let plan = _plans.get(info);
  if (plan?.generation !== generation) {
    plan = _newPlan(info.imports, registry, generation);
    _plans.set(info, plan);
  }
  return plan.imports === undefined ? undefined : plan;
}

function _newPlan(
  imports: readonly Import[],
  registry: NativeRegistry,
  generation: object,
): _Plan | _NoPlan {
  const none: _NoPlan = { generation, imports: undefined };
  const libraries: NativeLibrary[] = [];
  const unlinked: { module: string; name: string }[] = [];
  const found: ResolvedNative[] = [];
  const natives: PlannedNative[] = [];
  const planned: PlannedImport[] = [];
  for (const imp of imports) {
    if (imp.kind !== "function" || imp.type === undefined) return none;
    const { module, name } = imp;
    const candidates = cachedCandidates(registry, module, name);
    if (candidates.length === 0) {
      unlinked.push(Object.freeze({ module, name }));
      planned.push({ module, name, native: undefined, value: unlinkedImport(module, name) });
      continue;
    }
    const choice = _sharedChoice(imp, candidates);
    const linked = choice.found;
    if (linked === undefined || linked.symbol.async) return none;
    if (!libraries.includes(linked.library)) libraries.push(linked.library);
    const { symbol } = linked;
    const native = found.push(linked) - 1;
    natives.push({
      signature: linked.signature,
      impl: symbol.impl,
      label: choice.label,
      regions: symbol.regions,
    });
    planned.push(
      choice.lifted ? { module, name, native, lift: choice.type! } : { module, name, native },
    );
  }
  // Exact lengths: a module keeps its plan while it is loaded (pushing reserves slack).
  return {
    generation,
    libraries: Object.freeze(libraries.slice()),
    unlinked: unlinked.length === 0 ? _NONE : Object.freeze(unlinked.slice()),
    found: found.slice(),
    imports: planImports<ResolvedNative>(natives, planned),
  };
}

/**
 * Links one instance by its module's plan: a context and a wrapper for each import, the whole
 * import object made by one call.
 */
function _linkPlanned(plan: _Plan, makeContext: ContextFactory): LinkResult {
  return {
    imports: plan.imports(makeContext, plan.found),
    memory: undefined,
    memorySupplied: false,
    libraries: plan.libraries,
    unlinked: plan.unlinked,
    async: false,
    bind: _bindNothing,
    initializers: _NONE,
  };
}

/** The native an import of one type links to, and its label; `candidates` are its field's. */
interface _Choice {
  readonly candidates: readonly ResolvedNative[];
  readonly type: FuncType | undefined;
  readonly found: ResolvedNative | undefined;
  readonly label: string;
  /** Whether the type has a v128 (the wrapper then needs an adapter in front). */
  readonly lifted: boolean;
}

/**
 * Choices by candidate list (one list per registry, module and field, until the registry
 * changes): modules that import a field with the same type share one choice, so each module
 * keeps only its imports' entries in `_chosen` (~1.3 KiB less heap per idle app).
 */
const _choices = new WeakMap<readonly ResolvedNative[], _Choice[]>();

/** An import's choice, kept while its candidates (the registry) stay the same. */
const _chosen = new WeakMap<Import, _Choice>();

/** The first candidate whose signature fits the import's type; found once per module. */
function _choose(imp: Import, candidates: readonly ResolvedNative[]): _Choice {
  let chosen = _chosen.get(imp);
  if (chosen?.candidates !== candidates) {
    chosen = _sharedChoice(imp, candidates);
    _chosen.set(imp, chosen);
  }
  return chosen;
}

/** The choice for an import's candidates and type, shared by every module that has it. */
function _sharedChoice(imp: Import, candidates: readonly ResolvedNative[]): _Choice {
  const type = imp.kind === "function" ? imp.type : undefined;
  let shared = _choices.get(candidates);
  if (shared === undefined) _choices.set(candidates, shared = []);
  let chosen = shared.find((c) => _sameType(c.type, type));
  if (chosen === undefined) {
    const found = type && candidates.find((c) => signatureMatches(c.signature, type));
    const lifted = type !== undefined && hasV128(type);
    chosen = { candidates, type, found, label: `(${imp.module}, ${imp.name})`, lifted };
    shared.push(chosen);
  }
  return chosen;
}

function _sameType(a: FuncType | undefined, b: FuncType | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return _sameList(a.params, b.params) && _sameList(a.results, b.results);
}

function _sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
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

/**
 * Turns V8's link failure at instantiation (what the linker could not see: a host memory's
 * maximum, a host global's type) into a {@linkcode LinkError} naming the import and its type.
 *
 * @param error what instantiation threw
 * @param module the module being instantiated
 * @returns the link error, or `error` itself when it is not a `WebAssembly.LinkError`
 */
export function fromV8LinkError(error: unknown, module: AppModule): unknown {
  if (!(error instanceof WebAssembly.LinkError)) return error;
  const text = error.message.replace(/^WebAssembly\.\w+\(\): /, "");
  const at = /^Import #(\d+) "([^"]*)" "([^"]*)": (.*)$/s.exec(text);
  const imp = at ? module.info.imports[Number(at[1])] : undefined;
  if (!at || !imp) return new LinkError(`Cannot link: ${text}`, { cause: error });
  return new LinkError(
    `Cannot link import "${imp.module}"."${imp.name}" (${_importText(module, imp)}): ${at[4]}`,
    { cause: error },
  );
}

function _defined(linkers: readonly Linker[], imp: Import): Definition | undefined {
  for (const linker of linkers) {
    const definition = linker.get(imp.module, imp.name);
    if (definition) return definition;
  }
  return undefined;
}

/** The import's value from a definition, after checking it fits. */
function _supply(module: AppModule, imp: Import, definition: Definition): WebAssembly.ImportValue {
  const reason = _misfit(module, imp, definition);
  if (reason !== undefined) {
    throw new LinkError(
      `Cannot link import "${imp.module}"."${imp.name}" (${_importText(module, imp)}) to ` +
        `${definition.origin} (${_typeText(definition)}): ${reason}`,
    );
  }
  const { value } = definition;
  if (imp.kind === "global" && imp.type.type === "i64" && typeof value === "number") {
    return BigInt(value) as unknown as WebAssembly.ImportValue;
  }
  if (value instanceof Uint8Array) return v128Global(value);
  if (
    imp.kind === "function" && imp.type && hasV128(imp.type) &&
    definition.type.kind === "function" && definition.type.type === undefined
  ) {
    return liftFunction(imp.type, _hostV128(imp.type, value as (...args: unknown[]) => unknown));
  }
  return value as WebAssembly.ImportValue;
}

/** A host function of a v128 type, called by its adapter with halves, sees 16-byte arrays. */
function _hostV128(
  type: FuncType,
  fn: (...args: unknown[]) => unknown,
): (...args: never[]) => unknown {
  return function hostV128(...halves: unknown[]): unknown {
    return lowerResults(type, fn(...liftArgs(type, halves)));
  };
}

/** Why a definition cannot satisfy an import, or undefined when it fits. */
function _misfit(module: AppModule, imp: Import, definition: Definition): string | undefined {
  const have = definition.type;
  if (have.kind !== imp.kind) return `it is ${_article(have.kind)}, not ${_article(imp.kind)}`;
  const { value } = definition;
  switch (imp.kind) {
    case "function": {
      if (typeof value !== "function") return "it is not a function";
      const type = (have as { type: FuncType | undefined }).type;
      if (type && imp.type && !_sameFuncType(type, imp.type)) return "the types differ";
      return undefined;
    }
    case "memory": {
      const type = (have as Extract<ExternType, { kind: "memory" }>).type;
      const pages = _pages(value as WebAssembly.Memory);
      const shared = (value as WebAssembly.Memory).buffer instanceof SharedArrayBuffer;
      if (shared !== imp.type.shared) return shared ? "it is shared" : "it is not shared";
      if (type && type.memory64 !== imp.type.memory64) return "the index types differ";
      return _limitsMisfit(pages, type, imp.type, "page");
    }
    case "table": {
      const type = (have as Extract<ExternType, { kind: "table" }>).type;
      const length = (value as WebAssembly.Table).length;
      if (type && type.element !== imp.type.element) return `it holds ${type.element}`;
      return _limitsMisfit(length, type?.limits, imp.type.limits, "element");
    }
    case "global": {
      const type = (have as Extract<ExternType, { kind: "global" }>).type;
      if (value instanceof Uint8Array) {
        if (imp.type.mutable) return "a plain value can only be an immutable global";
        return imp.type.type === "v128"
          ? undefined
          : `16 bytes cannot be a global ${imp.type.type}`;
      }
      if (typeof value === "number" || typeof value === "bigint") {
        if (imp.type.mutable) return "a plain value can only be an immutable global";
        const numeric = typeof value === "number"
          ? ["i32", "f32", "f64"].includes(imp.type.type) ||
            (imp.type.type === "i64" && Number.isSafeInteger(value))
          : imp.type.type === "i64";
        return numeric ? undefined : `a ${typeof value} cannot be a global ${imp.type.type}`;
      }
      if (!type) return undefined;
      if (type.type !== imp.type.type) return "the value types differ";
      if (type.mutable !== imp.type.mutable) return "the mutability differs";
      return undefined;
    }
    case "tag": {
      const type = (have as Extract<ExternType, { kind: "tag" }>).type;
      const wanted = module.info.types[imp.typeIndex];
      if (type && wanted && !_sameFuncType(type, wanted)) return "the types differ";
      return undefined;
    }
  }
}

function _limitsMisfit(
  size: number,
  have: Limits | undefined,
  want: Limits,
  unit: string,
): string | undefined {
  if (size < want.min) {
    return `it has ${_count(size, unit)}, the import needs at least ${want.min}`;
  }
  if (want.max === undefined || have === undefined) return undefined;
  if (have.max === undefined) return `it has no maximum, the import needs at most ${want.max}`;
  if (have.max > want.max) {
    return `its maximum of ${have.max} is above the import's ${want.max}`;
  }
  return undefined;
}

/**
 * One set of limits per memory or table name a module imports: a name imported twice gets
 * one object meeting both imports (the largest minimum, the smallest maximum).
 */
function _mergedLimits(imports: readonly Import[]): Map<string, Limits> {
  const out = new Map<string, Limits>();
  for (const imp of imports) {
    if (imp.kind !== "memory" && imp.kind !== "table") continue;
    const key = `${imp.kind}\0${imp.module}\0${imp.name}`;
    const own = imp.kind === "memory" ? imp.type : imp.type.limits;
    const seen = out.get(key);
    if (!seen) {
      out.set(key, own);
      continue;
    }
    const min = Math.max(seen.min, own.min);
    const max = seen.max === undefined
      ? own.max
      : own.max === undefined
      ? seen.max
      : Math.min(seen.max, own.max);
    if ((max !== undefined && min > max) || seen.shared !== own.shared) {
      throw new LinkError(
        `Cannot link import "${imp.module}"."${imp.name}": it is imported twice with limits ` +
          `no one ${imp.kind} meets (${_limitsText(seen, "")} and ${_limitsText(own, "")})`,
      );
    }
    const merged: Limits = { ...seen, min };
    if (max !== undefined) merged.max = max;
    out.set(key, merged);
  }
  return out;
}

function _sameFuncType(a: FuncType, b: FuncType): boolean {
  return a.params.length === b.params.length && a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i]);
}

function _article(kind: string): string {
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
}

function _count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

function _limitsText(limits: Limits, unit: string): string {
  if (limits.max !== undefined) return `${limits.min} to ${limits.max}${unit ? ` ${unit}s` : ""}`;
  return `at least ${unit ? _count(limits.min, unit) : limits.min}`;
}

/** `memory of 1 to 2 pages`, with `shared` and `64-bit` in front when they apply. */
function _memoryText(limits: Limits): string {
  const prefix = `${limits.shared ? "shared " : ""}${limits.memory64 ? "64-bit " : ""}`;
  return `${prefix}memory of ${_limitsText(limits, "page")}`;
}

/** The import's type in words: `function (i32) -> i32`, `memory of 1 to 2 pages`. */
function _importText(module: AppModule, imp: Import): string {
  switch (imp.kind) {
    case "function":
      return imp.type ? `function ${formatFuncType(imp.type)}` : "function";
    case "memory":
      return _memoryText(imp.type);
    case "table":
      return `table of ${imp.type.element}, ${_limitsText(imp.type.limits, "element")}`;
    case "global":
      return `global ${imp.type.mutable ? "mut " : ""}${imp.type.type}`;
    case "tag": {
      const type = module.info.types[imp.typeIndex];
      return type ? `tag ${formatFuncType(type)}` : "tag";
    }
  }
}

/** A provider's type in words, as far as it is known, with a memory's or table's size now. */
function _typeText({ type, value }: Definition): string {
  switch (type.kind) {
    case "function":
      return type.type ? `function ${formatFuncType(type.type)}` : "a host function";
    case "memory": {
      const now = `${_count(_pages(value as WebAssembly.Memory), "page")} now`;
      return type.type ? `${_memoryText(type.type)}, ${now}` : `memory of ${now}`;
    }
    case "table": {
      const now = `${_count((value as WebAssembly.Table).length, "element")} now`;
      return type.type
        ? `table of ${type.type.element}, ${_limitsText(type.type.limits, "element")}, ${now}`
        : `table of ${now}`;
    }
    case "global":
      return type.type ? `global ${type.type.mutable ? "mut " : ""}${type.type.type}` : "global";
    case "tag":
      return type.type ? `tag ${formatFuncType(type.type)}` : "tag";
  }
}

function _pages(memory: WebAssembly.Memory): number {
  return memory.buffer.byteLength / 65536;
}
