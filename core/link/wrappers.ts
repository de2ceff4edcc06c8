/**
 * Per-signature import wrappers: the hot path between an app and its natives.
 *
 * For each signature text the wrapper's source is generated once (straight-line code, no
 * per-call loops over parameter kinds); each native gets its own factory from it, made once and
 * reused by every instance, and each linked import its own closure from that factory. Modules
 * linked by a plan get one generated function per module instead, whose call per instance makes
 * the whole import object, its wrappers closures over one scope ({@linkcode planImports}).
 * Pointer arguments are checked against a cached view, refreshed only when a check fails
 * (growth detaches a non-shared buffer, so its stale view has length 0). A `*~` region's view
 * is kept and handed out again while the same region comes with the same memory view (a view
 * per call cost ~14 ns). A native declared with `regions: "offsets"` gets each checked region
 * as its offset and length instead, and reads `ctx.memory.u8` (the view just checked): no
 * object per call even when the region moves. A failed check traps before the native runs;
 * anything a native throws becomes a trap naming it.
 * A `V` (v128) parameter arrives as two i64 halves and reaches the native as 16 bytes; `V`
 * results go back as halves (the linker puts a v128 adapter in front, see `v128.ts`), and
 * several results as an array.
 *
 * @module
 */

import { TrapError, trapOutOfBounds } from "../../sdk/errors.ts";
import { AppPtr, decodeUtf8 } from "../../sdk/memory.ts";
import type { NativeRegions, Signature } from "../../sdk/signature.ts";
import type { FuncType } from "../module/binary.ts";
import type { NativeContext } from "../../sdk/native.ts";
import { liftFunction, v128FromHalves, v128ToHalves } from "./v128.ts";

/** What a wrapper needs from its native's context. */
export type WrapperContext = NativeContext<unknown>;

/** Turns a native's exception into a trap that names the native. */
export type NativeFailure = (error: unknown) => never;

type _Factory = (
  impl: (...args: unknown[]) => unknown,
  ctx: WrapperContext,
  label: string,
  ...scope: typeof _SCOPE_VALUES
) => (...args: never[]) => unknown;

// What every generated wrapper source names besides its own: the names, and the values passed
// for them, side by side (a wrapper's factory and a module's plan function both take them).
const _SCOPE_NAMES = ["fail", "oob", "AppPtr", "decode", "v128In", "v128Out"] as const;
const _SCOPE_VALUES = [
  _nativeFailed,
  trapOutOfBounds,
  AppPtr,
  decodeUtf8,
  v128FromHalves,
  v128ToHalves,
] as const;

/** Whether a native takes the `*~` regions of `sig` as offsets (see `NativeSymbolOptions`). */
function _offsets(sig: Signature, regions: NativeRegions | undefined): boolean {
  return regions === "offsets" && sig.params.includes("~");
}

/**
 * Generates the body of a wrapper for one signature; `offsets` passes `*~` as two numbers.
 * `s` suffixes the names the wrapper shares with its scope (`impl`, `ctx`, `label`, its views).
 */
function _wrapperSource(sig: Signature, offsets: boolean, s = ""): string {
  const { state, fn } = _wrapperParts(sig, offsets, s);
  return `${state}\nreturn ${fn};`;
}

/**
 * A wrapper's scope variables and its function expression; an `arrow` function is smaller (no
 * prototype slot: 8 B an import an instance keeps) and takes its name from its property.
 */
function _wrapperParts(
  sig: Signature,
  offsets: boolean,
  s: string,
  arrow = false,
): { state: string; fn: string } {
  const n = sig.params.length;
  const params = sig.params.flatMap((c, i) => c === "V" ? [`a${i}`, `b${i}`] : [`a${i}`]);
  const checks: string[] = [];
  const args: string[] = [`ctx${s}`];
  const state: string[] = [];
  let usesMemory = false;
  for (let i = 0; i < n; i++) {
    const c = sig.params[i];
    if (c === "*" && sig.params[i + 1] === "~" && offsets) {
      // The check leaves `m.u8` covering the region: the native reads it there.
      usesMemory = true;
      checks.push(
        `const p${i} = a${i} >>> 0, n${i} = a${i + 1} >>> 0;`,
        `if (p${i} + n${i} > u8.length) { u8 = m.refresh(); if (p${i} + n${i} > u8.length) oob(); }`,
      );
      args.push(`p${i}`, `n${i}`);
      i++;
    } else if (c === "*" && sig.params[i + 1] === "~") {
      usesMemory = true;
      checks.push(
        `const p${i} = a${i} >>> 0, n${i} = a${i + 1} >>> 0;`,
        `if (p${i} + n${i} > u8.length) { u8 = m.refresh(); if (p${i} + n${i} > u8.length) oob(); }`,
        // The view is kept from the second call with the same region and memory view (a new
        // memory view means the buffer may have been replaced); regions that move every call
        // store no view, which would cost an old-to-new write barrier each time.
        `let w${i};`,
        `if (p${i} === vp${i}${s} && n${i} === vn${i}${s} && u8 === vu${i}${s}) {`,
        `  w${i} = v${i}${s} ??= new Uint8Array(u8.buffer, p${i}, n${i});`,
        `} else {`,
        `  w${i} = new Uint8Array(u8.buffer, p${i}, n${i}); vp${i}${s} = p${i}; vn${i}${s} = n${i};`,
        `  if (v${i}${s} !== undefined) v${i}${s} = undefined;`,
        `  if (vu${i}${s} !== u8) vu${i}${s} = u8;`,
        `}`,
      );
      state.push(`let v${i}${s}, vu${i}${s}, vp${i}${s} = -1, vn${i}${s} = -1;`);
      args.push(`w${i}`, `n${i}`);
      i++;
    } else if (c === "*") {
      usesMemory = true;
      checks.push(
        `const p${i} = a${i} >>> 0;`,
        `if (p${i} >= u8.length) { u8 = m.refresh(); if (p${i} >= u8.length) oob(); }`,
      );
      args.push(`new AppPtr(m, p${i})`);
    } else if (c === "$") {
      usesMemory = true;
      checks.push(
        `const p${i} = a${i} >>> 0;`,
        `if (p${i} >= u8.length) { u8 = m.refresh(); if (p${i} >= u8.length) oob(); }`,
        `const e${i} = u8.indexOf(0, p${i}); if (e${i} < 0) oob();`,
      );
      args.push(`decode(u8, p${i}, e${i})`);
    } else if (c === "V") {
      args.push(`v128In(a${i}, b${i})`);
    } else {
      args.push(`a${i}`);
    }
  }
  const prologue = usesMemory ? `const m = ctx${s}.memory; let u8 = m.u8;\n` : "";
  const call = `impl${s}(${args.join(", ")})`;
  return {
    state: state.join("\n"),
    fn: `${arrow ? "" : "function native"}(${params.join(", ")}) ${arrow ? "=> " : ""}{
${prologue}${checks.join("\n")}
try { ${_resultSource(sig, call)} } catch (e) { fail(e, label${s}); }
}`,
  };
}

/** Returns the call's result; v128 results as their halves (flattened among several). */
function _resultSource(sig: Signature, call: string): string {
  if (!sig.results.includes("V")) return `return ${call};`;
  if (sig.results.length === 1) return `return v128Out(${call});`;
  const parts = sig.results.map((c, k) => c === "V" ? `...v128Out(r[${k}])` : `r[${k}]`);
  return `const r = ${call}; return [${parts.join(", ")}];`;
}

// Keyed by signature text, prefixed for the offsets form.
const _sources = new Map<string, string>();
const _factories = new WeakMap<object, Map<string, _Factory>>();

// One factory per native implementation, not per import per instance: `new Function` cost
// ~1.1 us an import at every instantiation. Not one per signature either: separate factories
// give each native's wrappers their own feedback, so the call to `impl` stays monomorphic
// even when many natives share a signature; every instance's wrappers of one native share it.
// An implementation's factories are keyed by signature text and regions form.
function _factory(sig: Signature, impl: object, offsets: boolean): _Factory {
  let bySignature = _factories.get(impl);
  if (bySignature === undefined) _factories.set(impl, bySignature = new Map());
  const key = offsets ? `offsets ${sig.text}` : sig.text;
  let factory = bySignature.get(key);
  if (factory === undefined) bySignature.set(key, factory = _newFactory(sig, offsets, key));
  return factory;
}

// The source is generated once per signature and form; V8 caches the compile by source text.
function _newFactory(sig: Signature, offsets: boolean, key: string): _Factory {
  let source = _sources.get(key);
  if (source === undefined) {
    source = _wrapperSource(sig, offsets);
    _sources.set(key, source);
  }
  return new Function("impl", "ctx", "label", ..._SCOPE_NAMES, source) as _Factory;
}

/**
 * What a native's exception becomes: traps pass through, anything else is a trap naming
 * the native (`native function (env, foo) failed: <message>`).
 *
 * @param label `(module, name)` of the native
 * @returns a function that always throws the trap
 */
export function nativeFailure(label: string): NativeFailure {
  return function nativeFailed(error: unknown): never {
    _nativeFailed(error, label);
  };
}

// Shared by every wrapper, which passes its label: no closure per import per instance.
function _nativeFailed(error: unknown, label: string): never {
  if (error instanceof TrapError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new TrapError(`native function ${label} failed: ${message}`, { cause: error });
}

/**
 * Builds the import function for one native.
 *
 * @param sig the native's parsed signature
 * @param impl the implementation (receives the context first)
 * @param ctx the context passed to it
 * @param label `(module, name)` text used when the native throws
 * @param regions how `*~` regions reach `impl` (the symbol's `regions`; views when undefined)
 * @returns the function to place in the import object
 */
export function wrapNative(
  sig: Signature,
  impl: (...args: never[]) => unknown,
  ctx: WrapperContext,
  label: string,
  regions?: NativeRegions,
): (...args: never[]) => unknown {
  return _factory(sig, impl, _offsets(sig, regions))(
    impl as (...args: unknown[]) => unknown,
    ctx,
    label,
    ..._SCOPE_VALUES,
  );
}

/** One native a module's imports link to, for {@linkcode planImports}. */
export interface PlannedNative {
  readonly signature: Signature;
  readonly impl: (...args: never[]) => unknown;
  /** `(module, name)` text used when the native throws. */
  readonly label: string;
  /** How `*~` regions reach `impl` (the symbol's `regions`; views when undefined). */
  readonly regions: NativeRegions | undefined;
}

/** One import of a module linked by a plan, for {@linkcode planImports}. */
export interface PlannedImport {
  readonly module: string;
  readonly name: string;
  /** The index of its native, or undefined for an import that takes `value`. */
  readonly native: number | undefined;
  /** What the import takes when no native provides it (the same for every instance). */
  readonly value?: unknown;
  /** The import's type when it has a v128: its wrapper is lifted to it. */
  readonly lift?: FuncType;
}

/**
 * Makes an instance's import object: each native's wrapper with the context made for its
 * entry of `found` (`makeContext` is called once per native, in order).
 */
export type InstanceImports<T> = (
  makeContext: (found: T) => WrapperContext,
  found: readonly T[],
) => Record<string, Record<string, WebAssembly.ImportValue>>;

/**
 * A module's import object, made by one generated function: one `new Function` per module
 * (made once), whose call per instance returns the whole import object as one literal, every
 * wrapper a closure over one scope (the instance's contexts and views), where
 * {@linkcode wrapNative} makes a scope per import. Each import keeps its own function literal,
 * so its call to the native stays monomorphic.
 *
 * @param natives the natives the module's imports link to, in import order
 * @param imports the module's imports, each naming its native or its value
 * @returns the function making an instance's import object
 */
export function planImports<T>(
  natives: readonly PlannedNative[],
  imports: readonly PlannedImport[],
): InstanceImports<T> {
  const states: string[] = [];
  const fns: string[] = [];
  const contexts: string[] = [];
  for (let k = 0; k < natives.length; k++) {
    const { signature, regions } = natives[k]!;
    const { state, fn } = _wrapperParts(signature, _offsets(signature, regions), `_${k}`, true);
    if (state !== "") states.push(state);
    fns.push(fn);
    contexts.push(`ctx_${k} = mk(f[${k}])`);
  }
  // Grouped by module name; a name imported twice takes its last import, as assignment would.
  const modules = new Map<string, string[]>();
  for (let i = 0; i < imports.length; i++) {
    const { module, name, native, lift } = imports[i]!;
    let value = native === undefined ? `x[${i}]` : fns[native]!;
    if (native !== undefined && lift !== undefined) value = `lift(x[${i}], ${value})`;
    let fields = modules.get(module);
    if (fields === undefined) modules.set(module, fields = []);
    fields.push(`${_key(name)}: ${value}`);
  }
  const object = [...modules].map(([module, fields]) =>
    `${_key(module)}: {\n${fields.join(",\n")}\n}`
  );
  const names = natives.map((_, k) => `impl_${k} = impls[${k}], label_${k} = labels[${k}]`);
  const source = `${names.length === 0 ? "" : `const ${names.join(",\n")};`}
return function instance(mk, f) {
${contexts.length === 0 ? "" : `const ${contexts.join(",\n")};`}
${states.join("\n")}
return {${object.join(",\n")}};
};`;
  const factory = new Function("impls", "labels", "x", "lift", ..._SCOPE_NAMES, source);
  return factory(
    natives.map((n) => n.impl),
    natives.map((n) => n.label),
    imports.map((imp) => imp.native === undefined ? imp.value : imp.lift),
    liftFunction,
    ..._SCOPE_VALUES,
  ) as InstanceImports<T>;
}

/** A property name for an object literal; `__proto__` computed, so it stays an own property. */
function _key(name: string): string {
  const text = JSON.stringify(name);
  return name === "__proto__" ? `[${text}]` : text;
}

/**
 * The stand-in for an import no library provides: calling it traps (WAMR HEAD behaviour).
 *
 * @param module the import's module name
 * @param field the import's field name
 * @returns a function that always traps
 */
export function unlinkedImport(module: string, field: string): () => never {
  return function unlinked(): never {
    throw new TrapError(`failed to call unlinked import function (${module}, ${field})`);
  };
}
