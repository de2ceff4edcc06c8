/**
 * Native libraries: what a plugin module's default export is. A library has a module name
 * (usually `env`), symbols declared with WAMR signature strings, and optional per-app state.
 *
 * @module
 */

import type { AppMemory } from "./memory.ts";
import type { AppHeap } from "./heap.ts";
import type { AppFramework } from "./framework.ts";
import type { AppOutput } from "./output.ts";
import {
  type NativeRegions,
  parseSignature,
  type SignatureParams,
  type SignatureResult,
  signatureType,
} from "./signature.ts";

/**
 * What a plugin sees of an app: the runtime's app instance behind an interface, so the plugin
 * contract names nothing of the runtime's internals.
 */
export interface AppHandle {
  /** The app's name in messages. */
  readonly name: string;
  /** Its linear memory, with checked access. */
  readonly memory: AppMemory;
  /** Its heap. */
  readonly heap: AppHeap;
  /** Its buffered output. */
  readonly stdout: AppOutput;
  /** Environment variables for natives that read them. */
  readonly env: Readonly<Record<string, string>>;
  /** The app manager's handle for this app; undefined outside an app manager. */
  readonly framework: AppFramework | undefined;
  /**
   * Logs a runtime warning for this app (`warning: ...`).
   *
   * @param message the warning without the `warning: ` prefix
   */
  warn(message: string): void;
  /**
   * A library's per-app state (what its `setup` returned).
   *
   * @param library the library
   * @returns its state for this app, or undefined
   */
  stateOf<State>(library: NativeLibrary<State>): State | undefined;
}

/**
 * What every native receives first (WAMR's `exec_env`): the calling app, its memory and
 * heap, the library's per-app state and the symbol's attachment.
 */
export interface NativeContext<State = unknown> {
  /** The calling app instance. */
  readonly app: AppHandle;
  /** The app's linear memory with checked access. */
  readonly memory: AppMemory;
  /** The app heap: malloc, free, dup. */
  readonly heap: AppHeap;
  /** This library's state for the calling app (what `setup` returned). */
  readonly state: State;
  /** The symbol's attachment, as declared. */
  readonly attachment: unknown;
  /** The symbol's name as registered. */
  readonly symbol: string;
  /**
   * Stops the app with a trap carrying this message.
   *
   * @param message the exception text (printed as `Exception: <message>`)
   */
  trap(message: string): never;
}

/**
 * The implementation type for a signature literal; with `R` `"offsets"` each `*~` pair
 * arrives as two numbers (offset, length) instead of a view and its length.
 */
export type NativeImpl<S extends string, State = unknown, R extends NativeRegions = "views"> = (
  ctx: NativeContext<State>,
  ...args: SignatureParams<S, R>
) => SignatureResult<S>;

/** The implementation type of an async native (run through JSPI). */
export type AsyncNativeImpl<
  S extends string,
  State = unknown,
  R extends NativeRegions = "views",
> = (
  ctx: NativeContext<State>,
  ...args: SignatureParams<S, R>
) => Promise<SignatureResult<S>>;

/** A declared native symbol: its signature, implementation and attachment. */
export interface NativeSymbol<S extends string = string, State = unknown> {
  /** The WAMR signature string. */
  readonly signature: S;
  /** The implementation; parameter types follow the signature. */
  impl(ctx: NativeContext<State>, ...args: never[]): unknown;
  /** Passed to the native as `ctx.attachment`. */
  readonly attachment?: unknown;
  /** True when `impl` returns a promise; the import is then wrapped with JSPI. */
  readonly async?: boolean;
  /** How `--trace` decodes the arguments, when it differs from `signature`. */
  readonly traceAs?: string;
  /** How `*~` regions reach `impl` (see {@linkcode NativeSymbolOptions}); views when absent. */
  readonly regions?: NativeRegions;
  /**
   * More declarations of the same name with other wasm types (see {@linkcode overload}): an
   * import links to the one whose signature matches its type.
   */
  readonly overloads?: readonly NativeSymbol<string, State>[];
}

/** Options of one symbol. */
export interface NativeSymbolOptions<R extends NativeRegions = NativeRegions> {
  /** Passed to the native as `ctx.attachment`. */
  attachment?: unknown;
  /**
   * A signature with the same wasm types used only by `--trace` to decode arguments, for
   * natives that take pointers as `i` and check them by hand (e.g. `"($*)i"` for printf).
   */
  traceAs?: string;
  /**
   * How each `*~` region reaches the native (default `"views"`: a `Uint8Array` of exactly
   * the region). `"offsets"` passes the region's offset and length, already checked against
   * memory, for the native to read and write through `ctx.memory.u8`: no object per call,
   * for hot natives whose region moves from call to call. `*` and `$` are not affected.
   * That view is valid until the native does something that can grow memory (such as
   * `ctx.heap.malloc`, which may run the app's own allocator); after that it must take the
   * current view from `ctx.memory.refresh()` (growth detaches the old buffer: length 0).
   */
  regions?: R;
}

/**
 * Declares one native symbol; the implementation's parameter types are inferred from the
 * signature literal, so a wrong implementation does not type-check.
 *
 * @param signature WAMR signature string, e.g. `"(ii)i"`
 * @param impl the implementation, receiving the context first
 * @param options attachment, `--trace` signature, how `*~` regions arrive
 * @returns the symbol declaration
 * @throws {TypeError} when the signature is malformed
 *
 * @example Declare a native
 * ```ts
 * import assert from "node:assert/strict";
 * import { native } from "./native.ts";
 * const add = native("(ii)i", (_ctx, a, b) => a + b); // a and b are numbers
 * assert.equal(add.signature, "(ii)i");
 * // @ts-expect-error: a malformed signature does not type-check, and throws at run time
 * assert.throws(() => native("(ii", () => 0), /Invalid signature "\(ii": missing "\)"/);
 * ```
 *
 * @example A hot native taking its region as offsets
 * ```ts
 * import assert from "node:assert/strict";
 * import { native, type NativeContext } from "./native.ts";
 * import { AppMemory } from "./memory.ts";
 * // The wrapper checks [p, p + n) against memory first; the native reads ctx.memory.u8.
 * const sum = native("(*~)i", (ctx, p, n) => {
 *   const u8 = ctx.memory.u8; // until memory grows (ctx.heap.malloc): then ctx.memory.refresh()
 *   let total = 0;
 *   for (let i = p; i < p + n; i++) total += u8[i]!;
 *   return total;
 * }, { regions: "offsets" });
 * const memory = new AppMemory(new WebAssembly.Memory({ initial: 1 }));
 * memory.u8.set([1, 2, 3, 4], 100);
 * const ctx = { memory } as NativeContext; // as the runtime passes it, after its check
 * assert.equal(sum.impl(ctx, ...[100, 4] as never[]), 10);
 * // A view-typed implementation does not type-check with "offsets":
 * // @ts-expect-error: p is a number here, not a Uint8Array
 * native("(*~)i", (_ctx, view: Uint8Array) => view[0]!, { regions: "offsets" });
 * ```
 */
export function native<
  const S extends string,
  State = unknown,
  const R extends NativeRegions = "views",
>(
  signature: S,
  impl: NativeImpl<S, State, R>,
  options: NativeSymbolOptions<R> = {},
): NativeSymbol<S, State> {
  parseSignature(signature);
  if (options.traceAs !== undefined) parseSignature(options.traceAs);
  return {
    signature,
    impl: impl as NativeSymbol<S, State>["impl"],
    ...("attachment" in options ? { attachment: options.attachment } : {}),
    ...(options.traceAs === undefined ? {} : { traceAs: options.traceAs }),
    ...(options.regions === "offsets" ? { regions: "offsets" as const } : {}),
  };
}

/**
 * Declares an async native: the app is suspended (JSPI) until the promise settles.
 *
 * @param signature WAMR signature string
 * @param impl the async implementation
 * @param options attachment, `--trace` signature, how `*~` regions arrive (with `"offsets"`,
 *   take the view from `ctx.memory.refresh()` after every `await`: memory may have grown)
 * @returns the symbol declaration
 */
export function nativeAsync<
  const S extends string,
  State = unknown,
  const R extends NativeRegions = "views",
>(
  signature: S,
  impl: AsyncNativeImpl<S, State, R>,
  options: NativeSymbolOptions<R> = {},
): NativeSymbol<S, State> {
  return { ...native<S, State, R>(signature, impl as never, options), async: true };
}

/**
 * Declares one symbol name with several signatures, for a name toolchains import with
 * different types: C's `abort()`, WAMR's `abort(int)` and AssemblyScript's
 * `abort(message, file, line, column)`. Each app import links to the declaration whose
 * signature matches its wasm type; with none, linking fails naming every signature.
 *
 * @param first the primary declaration (what `signature` and `impl` of the result are)
 * @param more further declarations, each of a different wasm type
 * @returns the primary declaration carrying the others as `overloads`
 * @throws {TypeError} when two declarations have the same wasm type (an import could not
 *   choose between them)
 *
 * @example One name, two signatures
 * ```ts
 * import assert from "node:assert/strict";
 * import { native, overload } from "./native.ts";
 * const abort = overload(
 *   native("(i)", (ctx, code) => ctx.trap(`env.abort(${code})`)),
 *   native("(iiii)", (ctx, _msg, _file, line) => ctx.trap(`abort at line ${line}`)),
 * );
 * assert.equal(abort.signature, "(i)");
 * assert.deepEqual(abort.overloads?.map((s) => s.signature), ["(iiii)"]);
 * assert.throws(
 *   () => overload(native("(i)", () => {}), native("(*)", () => {})),
 *   /"\(i\)" and "\(\*\)" have the same wasm type \(i32\) -> \(\)/,
 * );
 * ```
 */
export function overload<State>(
  first: NativeSymbol<string, State>,
  ...more: NativeSymbol<string, State>[]
): NativeSymbol<string, State> {
  const all = [first, ...more].flatMap((s) => [s, ...(s.overloads ?? [])]);
  const seen = new Map<string, string>();
  for (const symbol of all) {
    const type = signatureType(parseSignature(symbol.signature));
    const results = type.results.length === 1 ? type.results[0] : `(${type.results.join(", ")})`;
    const key = `(${type.params.join(", ")}) -> ${results}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new TypeError(
        `Overloads "${other}" and "${symbol.signature}" have the same wasm type ${key}`,
      );
    }
    seen.set(key, symbol.signature);
  }
  const { overloads: _, ...primary } = first;
  return { ...primary, impl: first.impl, overloads: all.slice(1).map(_withoutOverloads) };
}

function _withoutOverloads<State>(
  symbol: NativeSymbol<string, State>,
): NativeSymbol<string, State> {
  if (symbol.overloads === undefined) return symbol;
  const { overloads: _, ...rest } = symbol;
  return { ...rest, impl: symbol.impl };
}

/** The `native` function bound to a library's state type. */
export type NativeFactory<State> = <
  const S extends string,
  const R extends NativeRegions = "views",
>(
  signature: S,
  impl: NativeImpl<S, State, R>,
  options?: NativeSymbolOptions<R>,
) => NativeSymbol<S, State>;

/** The symbol table of a library. */
export type NativeSymbols<State> = Record<string, NativeSymbol<string, State>>;

/** A native library: the default export of a plugin module. */
export interface NativeLibrary<State = unknown> {
  /** The library's name, used in messages and `--trace` (e.g. `"libc"`). */
  readonly name: string;
  /** The wasm import module its symbols resolve (default `"env"`). */
  readonly module: string;
  /** The symbols by import name. */
  readonly symbols: NativeSymbols<State>;
  /** Creates the per-app state when an app instance is created. */
  setup?(app: AppHandle): State;
  /** Releases the per-app state when the app instance is freed. */
  dispose?(state: State, app: AppHandle): void;
  /** The options this library was configured with (configurable libraries only). */
  readonly options?: Readonly<PluginOptions>;
  /**
   * A copy of the library with some options changed (configurable libraries only).
   * Values given as text (from the command line) are converted to the option's type.
   */
  configure?(options: Record<string, PluginOptionValue>): NativeLibrary<State>;
}

/** One plugin option value. */
export type PluginOptionValue = string | number | boolean;

/** Plugin options: names and values, defaults declared by the library. */
export type PluginOptions = Record<string, PluginOptionValue>;

/** What `defineNativeLibrary` takes. */
export interface NativeLibraryDefinition<State> {
  /** The library's name, used in messages and `--trace`. */
  name: string;
  /** The wasm import module (default `"env"`). */
  module?: string;
  /** Creates per-app state. */
  setup?: (app: AppHandle) => State;
  /** Releases per-app state. */
  dispose?: (state: State, app: AppHandle) => void;
  /** The symbols, or a function building them with a `native` typed for this state. */
  symbols: NativeSymbols<State> | ((native: NativeFactory<State>) => NativeSymbols<State>);
}

/**
 * Defines a native library; every signature is parsed now, so a bad one fails at load.
 *
 * @param def name, module, setup/dispose and symbols
 * @returns the library, ready to register
 *
 * @example A library with per-app state
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineNativeLibrary } from "./native.ts";
 * const counter = defineNativeLibrary({
 *   name: "counter",
 *   setup: () => ({ count: 0 }),
 *   symbols: (native) => ({
 *     counter_next: native("()i", (ctx) => ++ctx.state.count), // ctx.state is { count }
 *   }),
 * });
 * assert.equal(counter.module, "env"); // the default import module
 * assert.equal(counter.symbols.counter_next?.signature, "()i");
 * export default counter;
 * ```
 */
export function defineNativeLibrary<State = undefined>(
  def: NativeLibraryDefinition<State>,
): NativeLibrary<State> {
  const symbols = typeof def.symbols === "function"
    ? def.symbols(native as NativeFactory<State>)
    : def.symbols;
  for (const [name, symbol] of Object.entries(symbols)) {
    try {
      parseSignature(symbol.signature);
      for (const more of symbol.overloads ?? []) parseSignature(more.signature);
    } catch (e) {
      throw new TypeError(
        `Native library "${def.name}": symbol "${name}": ${(e as Error).message}`,
      );
    }
  }
  return {
    name: def.name,
    module: def.module ?? "env",
    symbols,
    ...(def.setup ? { setup: def.setup } : {}),
    ...(def.dispose ? { dispose: def.dispose } : {}),
  };
}

/**
 * Whether a value looks like a native library (used to check plugin modules).
 *
 * @param value a plugin module's default export
 * @returns true for a library object
 */
export function isNativeLibrary(value: unknown): value is NativeLibrary {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.module === "string" &&
    typeof v.symbols === "object" && v.symbols !== null;
}

/**
 * Defines a library that takes options (from code with `configure`, from the command line
 * with `--plugin NAME,key=value,...`). Unknown option names and values of the wrong type
 * are rejected with an error naming the library.
 *
 * @param defaults every option with its default value (its type is the option's type)
 * @param build builds the library definition for a set of options
 * @returns the library with the defaults applied; `configure` makes variants
 *
 * @example A configurable library
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineConfigurableLibrary } from "./native.ts";
 * const screen = defineConfigurableLibrary({ width: 320, height: 240 }, (o) => ({
 *   name: "screen",
 *   symbols: (native) => ({ screen_width: native("()i", () => o.width) }),
 * }));
 * const wide = screen.configure!({ width: "480" }); // text, as from the command line
 * assert.deepEqual(wide.options, { width: 480, height: 240 });
 * assert.throws(() => screen.configure!({ depth: 3 }), /unknown option "depth"/);
 * ```
 */
export function defineConfigurableLibrary<O extends PluginOptions, State = undefined>(
  defaults: O,
  build: (options: O) => NativeLibraryDefinition<State>,
): NativeLibrary<State> {
  const make = (options: O): NativeLibrary<State> => {
    const library = defineNativeLibrary(build(options));
    return {
      ...library,
      options: Object.freeze({ ...options }),
      configure(changes: Record<string, PluginOptionValue>): NativeLibrary<State> {
        const next: Record<string, PluginOptionValue> = { ...options };
        for (const [key, raw] of Object.entries(changes)) {
          if (!Object.hasOwn(defaults, key)) {
            throw new TypeError(
              `Plugin "${library.name}": unknown option "${key}" ` +
                `(options: ${Object.keys(defaults).join(", ") || "none"})`,
            );
          }
          next[key] = _coerce(library.name, key, raw, defaults[key]!);
        }
        return make(next as O);
      },
    };
  };
  return make(defaults);
}

function _coerce(
  library: string,
  key: string,
  raw: PluginOptionValue,
  like: PluginOptionValue,
): PluginOptionValue {
  if (typeof like === "number") {
    const n = typeof raw === "number" ? raw : Number(raw);
    if (typeof raw === "boolean" || raw === "" || !Number.isFinite(n)) {
      throw new TypeError(`Plugin "${library}": option "${key}" must be a number, got "${raw}"`);
    }
    return n;
  }
  if (typeof like === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new TypeError(`Plugin "${library}": option "${key}" must be true or false, got "${raw}"`);
  }
  return String(raw);
}
