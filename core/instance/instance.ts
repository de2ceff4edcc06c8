/**
 * App instances: a linked, instantiated module with its memory, app heap, output and
 * per-library state; calling exports, running `main(argc, argv)` and turning traps into
 * WAMR's messages.
 *
 * @module
 */

import { exportedFunctionType, type FuncType, type ModuleInfo } from "../module/binary.ts";
import { AppExit, TrapError } from "../../sdk/errors.ts";
import { type AppHeap, BuiltinHeap, ExportedHeap, NoHeap, placeHeap } from "./app_heap.ts";
import type { Governor } from "./governor.ts";
import type { InstrumentOptions } from "./instrument.ts";
import { type AppLimits, LIMITS_MODULE } from "./limits.ts";
import { fromV8LinkError, linkImports, type LinkOptions, type LinkResult } from "../link/link.ts";
import { type ExternValue, type Linker, linkerFrom, type UnknownImports } from "../link/linker.ts";
import { hasV128, liftResults, lowerArgs, lowerFunction } from "../link/v128.ts";
import { AppMemory, encodeUtf8 } from "../../sdk/memory.ts";
import type { AppModule } from "../module/module.ts";
import type { AppHandle, NativeContext, NativeLibrary } from "../../sdk/native.ts";
import { AppOutput, type OutputSink } from "../../sdk/output.ts";
import type { NativeRegistry, ResolvedNative } from "../link/registry.ts";
import {
  parseSignature,
  signatureMatches,
  type SignatureValueTuple,
  type SignatureValueType,
  type WasmFuncRef,
} from "../../sdk/signature.ts";
import { toTrap } from "./traps.ts";
import type { AppFramework } from "../../sdk/framework.ts";

/** Default app heap size: iwasm's 16 KiB. */
export const DEFAULT_HEAP_SIZE = 16 * 1024;

const PAGE = 65536;

/**
 * The entry points `callMain` looks for, in order: WASI commands' `_start` (taken only when
 * its type is `() -> ()`, as WAMR does), then C's `main` under its three export names.
 */
export const ENTRY_POINTS: readonly string[] = ["_start", "main", "__main_argc_argv", "_main"];

/** What `callMain` throws when a module exports none of {@linkcode ENTRY_POINTS} (iwasm's text). */
export const NO_ENTRY_POINT =
  "lookup the entry point symbol (like _start, main, _main, __main_argc_argv) failed";

/** A value an export takes or returns. */
export type WasmValue = number | bigint | unknown;

/** Options for creating an app instance. */
export interface InstanceOptions {
  /** App heap size in bytes (default 16 KiB; 0 for apps importing WASI). */
  heapSize?: number;
  /**
   * Requested wasm stack size in bytes (iwasm's `--stack-size`); the same as
   * `limits.stackSize`. Without it V8 sizes the stack and overflow still traps with
   * `wasm operand stack overflow`.
   */
  stackSize?: number;
  /**
   * Execution limits: deadline, fuel, memory cap, stack size. Any of them makes the runtime
   * compile an instrumented variant of the module (cached per module); without them the
   * app runs exactly as written.
   */
  limits?: AppLimits;
  /** Name used in messages (default: the module's name). */
  name?: string;
  /** Receives the app's output (default: the runtime's stdout). */
  stdout?: OutputSink;
  /** Flush app output at every newline (default: true when stdout is a terminal). */
  lineBuffered?: boolean;
  /** Receives runtime warnings for this app (default: the runtime's). */
  warn?: (message: string) => void;
  /** Environment variables visible to natives that read them. */
  env?: Record<string, string>;
  /** The app manager's handle for this app, when it runs under one (`app.framework`). */
  framework?: AppFramework;
  /** Trace every native call (`--trace`) to this sink (default: the runtime's, if any). */
  trace?: (line: string) => void;
  /**
   * Values for this instance's imports, by module and name, checked like the runtime's
   * definitions and searched before them: `{ env: { memory } }`.
   */
  imports?: Record<string, Record<string, ExternValue>>;
  /** What a function import nothing provides becomes (default: the runtime's, `"trap"`). */
  unknownImports?: UnknownImports;
}

/** What an instance needs from its runtime. */
export interface InstanceHost {
  /** Where natives are resolved. */
  readonly registry: NativeRegistry;
  /** Default output sink. */
  readonly stdout: OutputSink;
  /** Whether the default sink is a terminal. */
  readonly stdoutIsTerminal: boolean;
  /** Default warning sink. */
  readonly warn: (message: string) => void;
  /** Default trace sink; tracing is off when undefined. */
  readonly trace?: ((line: string) => void) | undefined;
  /** Values and instances supplied for imports (`runtime.define`, `runtime.register`). */
  readonly linker?: Linker | undefined;
  /** What a function import nothing provides becomes (default `"trap"`). */
  readonly unknownImports?: UnknownImports | undefined;
}

/** An instantiated app. */
export class AppInstance implements AppHandle {
  /** The module it was created from. */
  readonly module: AppModule;
  /** Name used in messages. */
  readonly name: string;
  /** Buffered app output. */
  readonly stdout: AppOutput;
  /** Environment variables for natives that read them. */
  readonly env: Readonly<Record<string, string>>;
  /** The app manager's handle for this app; undefined outside an app manager. */
  readonly framework: AppFramework | undefined;
  /** The WebAssembly instance (set once instantiated). */
  instance!: WebAssembly.Instance;
  // Fields, not getters made lazy: natives read them through their context on every call.
  /** Linear memory with checked access (set once instantiated). */
  memory!: AppMemory;
  /** The app heap (set once instantiated). */
  heap!: AppHeap;
  /** Function imports no library provided. */
  unlinked: readonly { readonly module: string; readonly name: string }[] = _NONE;
  /**
   * True when an async native is linked: exports are then wrapped with JSPI's `promising`,
   * so `call` and `callMain` return promises (use `callAsync` / `callMainAsync`).
   */
  async = false;
  /** The limits the app runs under. */
  readonly limits: Readonly<AppLimits>;
  #governor: Governor | undefined;
  readonly #warn: (message: string) => void;
  /** Libraries set up for this app, in first-use order, and their states, side by side. */
  #libraries: readonly NativeLibrary[] = _NONE;
  #states: readonly unknown[] = _NONE;
  #exports: Record<string, unknown> = _NO_EXPORTS;
  #freed = false;
  #exitCode: number | undefined;
  /** The binary that runs, which trap offsets point into; unknown under limits (rewritten). */
  #bytes: Uint8Array | undefined;
  /** Callable forms of exports whose type has a v128, built on first call. */
  #lowered: Map<string, (...args: never[]) => unknown> | undefined;

  /** Use `Runtime.instantiate`. */
  constructor(module: AppModule, host: InstanceHost, options: InstanceOptions = {}) {
    this.module = module;
    this.name = options.name ?? module.name;
    this.stdout = new AppOutput(
      options.stdout ?? host.stdout,
      options.lineBuffered ?? (options.stdout ? false : host.stdoutIsTerminal),
    );
    this.env = options.env ?? _NO_ENV;
    this.framework = options.framework;
    this.#warn = options.warn ?? host.warn;
    if (options.limits === undefined && options.stackSize === undefined) {
      this.limits = _NO_LIMITS;
    } else {
      const limits: AppLimits = { ...options.limits };
      if (options.stackSize !== undefined) limits.stackSize ??= options.stackSize;
      this.limits = limits;
    }
    this.#bytes = module.bytes;
  }

  /** Creates the governor the instrumented module reports to, once the rewriter is loaded. */
  #govern(variants: _Variants): void {
    const { deadlineMs, fuel, stackSize } = this.limits;
    if (deadlineMs !== undefined || fuel !== undefined || stackSize !== undefined) {
      this.#governor = new variants.Governor(deadlineMs ?? 0, fuel);
    }
  }

  /**
   * The wall-clock budget in ms for each following entry into the app (0 = none). Only
   * apps instantiated with `limits.deadlineMs` (even 0) carry the checks it needs.
   */
  get deadlineMs(): number {
    return this.#governor?.deadlineMs ?? 0;
  }

  /**
   * Sets the budget for each following entry.
   *
   * @throws {RangeError} when the app was not instantiated with a deadline
   */
  set deadlineMs(ms: number) {
    if (!this.#metered) {
      if (ms === 0) return;
      throw new RangeError(
        `App "${this.name}" was instantiated without a deadline: pass limits.deadlineMs`,
      );
    }
    this.#governor!.deadlineMs = ms;
  }

  /** Fuel left; undefined when the app was instantiated without `limits.fuel`. */
  get fuel(): number | undefined {
    return this.#governor?.fuel;
  }

  /**
   * Refuels the app: sets the fuel left (an app that ran out can run again).
   *
   * @throws {RangeError} when the app was not instantiated with fuel
   */
  set fuel(units: number) {
    if (this.limits.fuel === undefined) {
      throw new RangeError(`App "${this.name}" was instantiated without fuel: pass limits.fuel`);
    }
    this.#governor!.fuel = units;
  }

  /** The memory cap in bytes, or undefined when the memory is not capped. */
  get memoryLimit(): number | undefined {
    const max = this.limits.maxMemory;
    return max === undefined ? undefined : Math.floor(max / PAGE) * PAGE;
  }

  get #metered(): boolean {
    return this.limits.deadlineMs !== undefined || this.limits.fuel !== undefined;
  }

  /** What the rewriter must compile in for these limits, or undefined for nothing. */
  #instrumentOptions(): InstrumentOptions | undefined {
    if (this.limits === _NO_LIMITS) return undefined;
    const { maxMemory, stackSize } = this.limits;
    const options: InstrumentOptions = {};
    if (this.#metered) options.meter = true;
    if (stackSize !== undefined) {
      options.stackLimit = stackSize;
      options.shadowStack = true;
    }
    if (maxMemory !== undefined) options.maxMemoryPages = Math.floor(maxMemory / PAGE);
    return Object.keys(options).length === 0 ? undefined : options;
  }

  /**
   * Logs a runtime warning for this app (`warning: ...`).
   *
   * @param message the warning text without the `warning: ` prefix
   */
  warn(message: string): void {
    this.stdout.flush();
    this.#warn(`warning: ${message}`);
  }

  /**
   * A library's per-app state (what its `setup` returned).
   *
   * @param library the library
   * @returns its state for this app, or undefined
   */
  stateOf<State>(library: NativeLibrary<State>): State | undefined {
    const i = this.#libraries.indexOf(library as NativeLibrary);
    return (i < 0 ? undefined : this.#states[i]) as State | undefined;
  }

  /** A library's state for this app, set up at its first native. */
  #stateFor(library: NativeLibrary): unknown {
    const i = this.#libraries.indexOf(library);
    if (i >= 0) return this.#states[i];
    const state = library.setup?.(this);
    // Exact-size copies: a pushed-to empty array reserves 17 slots (~150 B an instance keeps),
    // and so does a spread (`[...a, x]`); `concat` allocates what it holds.
    this.#libraries = this.#libraries.concat([library]);
    this.#states = this.#states.concat([state]);
    return state;
  }

  /** The raw exports. */
  get exports(): Record<string, unknown> {
    return this.#exports;
  }

  /**
   * The status the app ended itself with (WASI's `proc_exit`, thrown as an `AppExit`), or
   * undefined while it has not. After an exit the app's own state is gone (its `atexit`
   * handlers ran): free the instance rather than call it again.
   */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /**
   * The export `callMain` runs: the first of {@linkcode ENTRY_POINTS} the app exports (a
   * `_start` only when its type is `() -> ()`), or undefined when there is none.
   */
  get entryPoint(): string | undefined {
    return ENTRY_POINTS.find((name) => {
      if (typeof this.#exports[name] !== "function") return false;
      if (name !== "_start") return true;
      const type = this.functionType(name);
      return type === undefined || (type.params.length === 0 && type.results.length === 0);
    });
  }

  /** Records an app's exit on its way out to the caller. */
  #trap(error: unknown): TrapError {
    const trap = toTrap(error, this.#bytes);
    if (trap instanceof AppExit) this.#exitCode ??= trap.code;
    return trap;
  }

  /** @internal Links, instantiates and sets up memory, heap and library state. */
  static async create(
    module: AppModule,
    host: InstanceHost,
    options: InstanceOptions = {},
  ): Promise<AppInstance> {
    const app = new AppInstance(module, host, options);
    const instrument = app.#instrumentOptions();
    let compiled = module;
    if (instrument) {
      await loadInstrumentation();
      app.#govern(_variants!);
      compiled = await _variants!.compileInstrumented(module, instrument);
      app.#bytes = undefined;
    }
    const link = app.#linkOrDispose(host, options);
    app.#governor?.enter();
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(compiled.module, link.imports)
        .catch((e: unknown) => app.#failed(e));
    } finally {
      app.#governor?.exit();
    }
    app.#finish(instance, link, options);
    return app;
  }

  /** @internal Synchronous `create`. */
  static createSync(
    module: AppModule,
    host: InstanceHost,
    options: InstanceOptions = {},
  ): AppInstance {
    const app: AppInstance = new AppInstance(module, host, options);
    const instrument = app.#instrumentOptions();
    let compiled = module;
    if (instrument) {
      if (!_variants) {
        throw new Error(
          "Cannot instantiate with limits synchronously before the rewriter is loaded: " +
            "await runtime.loadInstrumentation() once first, or use runtime.instantiate",
        );
      }
      app.#govern(_variants);
      compiled = _variants.compileInstrumentedSync(module, instrument);
      app.#bytes = undefined;
    }
    const link = app.#linkOrDispose(host, options);
    app.#governor?.enter();
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(compiled.module, link.imports);
    } catch (e) {
      app.#failed(e);
    } finally {
      app.#governor?.exit();
    }
    app.#finish(instance, link, options);
    return app;
  }

  /**
   * Instantiation failed: release library state. V8's link check becomes a `LinkError`; a
   * trap in the start function or a segment out of bounds a `TrapError`.
   */
  #failed(error: unknown): never {
    this.#disposeState();
    throw error instanceof WebAssembly.LinkError
      ? fromV8LinkError(error, this.module)
      : toTrap(error, this.#bytes);
  }

  #linkOrDispose(host: InstanceHost, options: InstanceOptions): LinkResult {
    try {
      return this.#link(host, options);
    } catch (e) {
      this.#disposeState();
      throw e;
    }
  }

  #link(host: InstanceHost, options: InstanceOptions): LinkResult {
    const trace = options.trace ?? host.trace;
    const unknownImports = options.unknownImports ?? host.unknownImports;
    const cap = this.limits.maxMemory;
    let linkOptions: LinkOptions | undefined;
    if (
      trace || options.imports || (host.linker && !host.linker.empty) || cap !== undefined ||
      unknownImports === "error"
    ) {
      linkOptions = trace ? { trace, memoryOf: () => this.memory } : {};
      const linkers: Linker[] = [];
      if (options.imports) linkers.push(linkerFrom(options.imports));
      if (host.linker) linkers.push(host.linker);
      if (linkers.length > 0) linkOptions.linkers = linkers;
      if (unknownImports) linkOptions.unknownImports = unknownImports;
      if (cap !== undefined) linkOptions.maxMemoryPages = Math.floor(cap / PAGE);
    }
    // Natives come mostly in runs of one library: its state is looked up once a run.
    let library: NativeLibrary | undefined;
    let state: unknown;
    const link = linkImports(this.module, host.registry, (native) => {
      if (native.library !== library) state = this.#stateFor(library = native.library);
      return new _Context(this, state, native);
    }, linkOptions);
    this.unlinked = link.unlinked;
    if (this.#governor) {
      (link.imports as Record<string, unknown>)[LIMITS_MODULE] = this.#governor.imports();
    }
    for (const { module, name } of link.unlinked) {
      this.warn(`failed to link import function (${module}, ${name})`);
    }
    return link;
  }

  #finish(instance: WebAssembly.Instance, link: LinkResult, options: InstanceOptions): void {
    const imported = link.memory;
    this.instance = instance;
    const raw = instance.exports as Record<string, unknown>;
    this.#governor?.attach(raw);
    const shape = _shapeOf(this.module.info);
    // The module's own exports are known; an instrumented variant's (bytes unknown) are not.
    const known = this.#bytes !== undefined;
    this.#exports = known && !shape.hidesExports ? raw : _appExports(raw);
    if (link.async) {
      this.async = true;
      this.#exports = _promisingExports(this.#exports);
    }
    const memory = imported ??
      (known && shape.memoryExport !== undefined
        ? raw[shape.memoryExport] as WebAssembly.Memory
        : _exportedMemory(raw));
    this.memory = new AppMemory(memory ?? _noMemory());
    const { usesWasi, initializers } = shape;
    // A supplied memory belongs to someone else: no heap is appended to it unless asked.
    const own = !usesWasi && !link.memorySupplied;
    const heapSize = memory ? options.heapSize ?? (own ? DEFAULT_HEAP_SIZE : 0) : 0;
    this.heap = this.#makeHeap(heapSize);
    link.bind(raw);
    for (const { name, args } of link.initializers) this.call(name, ...args);
    for (const init of initializers) {
      const fn = this.#exports[init];
      if (typeof fn === "function" && fn.length === 0) this.call(init);
    }
  }

  #makeHeap(heapSize: number): AppHeap {
    const exports = this.#exports;
    if (typeof exports.malloc === "function" && typeof exports.free === "function") {
      return new ExportedHeap(this.memory, this.#governedHeapExports());
    }
    const onFail = (size: number) => this.warn(`allocate ${size} bytes memory failed`);
    if (heapSize <= 0) return new NoHeap(onFail);
    const heapBase = this.instance.exports.__heap_base;
    const place = placeHeap(
      this.memory.memory,
      heapSize,
      heapBase instanceof WebAssembly.Global ? Number(heapBase.value) >>> 0 : undefined,
    );
    if (typeof place === "string") {
      this.warn(place);
      return new NoHeap(onFail);
    }
    this.memory.refresh();
    return new BuiltinHeap(this.memory, place.base, place.size, onFail);
  }

  /**
   * The app's own `malloc`, `free` and `realloc`, each call an entry into the app like any
   * other: the runtime calls them from natives and the app manager, and a looping allocator
   * must meet the same deadline.
   */
  #governedHeapExports(): WebAssembly.Exports {
    const governor = this.#governor;
    const raw = this.instance.exports;
    const bytes = this.#bytes;
    if (!governor) return raw;
    const out: WebAssembly.Exports = {};
    for (const name of ["malloc", "free", "realloc"]) {
      const fn = raw[name];
      if (typeof fn !== "function") continue;
      out[name] = function governedAllocator(...args: number[]): unknown {
        governor.enter();
        try {
          return (fn as (...a: number[]) => unknown)(...args);
        } catch (e) {
          throw toTrap(e, bytes);
        } finally {
          governor.exit();
        }
      };
    }
    return out;
  }

  /**
   * Finds an exported function, optionally checking it against a signature string. The
   * function returned calls the export as {@linkcode call} does (traps as `TrapError`, v128 as
   * 16 bytes, i64 also from numbers), and with a signature literal its type follows it:
   * `lookup("add", "(ii)i")` is `(a: number, b: number) => number`.
   *
   * @param name the export name
   * @param signature e.g. `"(ii)i"`; pointer letters count as i32, `V` is v128, `R` funcref,
   *   several result letters a multi-value result (an array)
   * @returns the function, or undefined when there is no such function export
   * @throws {TypeError} when the signature does not match the export's type
   *
   * @example A typed lookup
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "../../mod.ts";
   * // (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
   * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127,
   *   3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11]);
   * const runtime = new Runtime();
   * const app = await runtime.instantiate(await runtime.load(bytes));
   * const add = app.lookup("add", "(ii)i")!; // (a: number, b: number) => number
   * const sum: number = add(2, 3);
   * assert.equal(sum, 5);
   * assert.throws(() => app.lookup("add", "(i)i"), TypeError);
   * app.free();
   * ```
   */
  lookup<S extends string>(name: string, signature: S): ExportFunction<S> | undefined;
  /**
   * Finds an exported function without checking its type.
   *
   * @param name the export name
   * @returns the function, or undefined when there is no such function export
   */
  lookup(name: string): ((...args: WasmValue[]) => WasmValue) | undefined;
  lookup(name: string, signature?: string): ((...args: never[]) => unknown) | undefined {
    const fn = this.#exports[name];
    if (typeof fn !== "function") return undefined;
    if (signature !== undefined) {
      const type = this.functionType(name);
      if (!type || !signatureMatches(parseSignature(signature), type)) {
        throw new TypeError(
          `Export "${name}" does not match signature "${signature}"`,
        );
      }
    }
    const call = (...args: WasmValue[]) => this.call(name, ...args);
    Object.defineProperty(call, "name", { value: name });
    return call;
  }

  /**
   * The wasm type of an exported function.
   *
   * @param name export name
   * @returns its type, or undefined
   */
  functionType(name: string): FuncType | undefined {
    return exportedFunctionType(this.module.info, name);
  }

  /**
   * Calls an exported function. Traps become `TrapError` with WAMR's message; app output
   * is flushed before the trap reaches the caller.
   *
   * @param name export name
   * @param args numbers (i32, f32, f64) and bigints (i64); numbers are accepted for i64 too
   * @returns the result (an array for multiple results, undefined for none)
   * @throws {TrapError} when the app traps or the export does not exist
   */
  call(name: string, ...args: WasmValue[]): WasmValue {
    this.#assertLive();
    let fn = this.#exports[name];
    if (typeof fn !== "function") throw new TrapError(`lookup function ${name} failed`);
    const type = this.functionType(name);
    let lifted: FuncType | undefined;
    if (type) {
      args = _checkedArgs(name, type, args);
      if (hasV128(type)) {
        fn = this.#loweredExport(name, type);
        args = lowerArgs(type, args);
        lifted = type;
      }
    }
    const governor = this.#governor;
    governor?.enter();
    let pending = false;
    try {
      const result = (fn as (...a: unknown[]) => unknown)(...args);
      if (this.async && result instanceof Promise) {
        pending = true;
        return result.then(
          (value) => lifted ? liftResults(lifted, value) : value,
          (e: unknown) => {
            this.stdout.flush();
            throw this.#failure(e, name);
          },
        ).finally(() => governor?.exit());
      }
      return lifted ? liftResults(lifted, result) : result;
    } catch (e) {
      this.stdout.flush();
      throw this.#failure(e, name);
    } finally {
      if (!pending) governor?.exit();
    }
  }

  /**
   * @internal `call` for the app manager's callbacks, whose arguments are numbers: the same
   * result, traps and governor, without `call`'s argument copies, type lookup and closures
   * (an allocation per message). Exports that take an i64, v128 or funcref, or return a
   * v128, and async apps go through `call`.
   *
   * @param name export name
   * @param args the arguments (read, not kept)
   * @returns the result
   * @throws {TrapError} when the app traps or the export does not exist
   */
  callNumbers(name: string, args: readonly number[]): WasmValue {
    const fn = this.#exports[name];
    if (
      this.#freed || this.async || typeof fn !== "function" ||
      !_takesNumbers(this.module.info, name)
    ) {
      return this.call(name, ...args);
    }
    const governor = this.#governor;
    governor?.enter();
    try {
      const f = fn as (...a: number[]) => unknown;
      switch (args.length) {
        case 0:
          return f();
        case 1:
          return f(args[0]!);
        case 2:
          return f(args[0]!, args[1]!);
        default:
          return f(...args);
      }
    } catch (e) {
      this.stdout.flush();
      throw this.#failure(e, name);
    } finally {
      governor?.exit();
    }
  }

  /**
   * What a call's failure becomes: a `TypeError` V8 raised at the boundary, before any wasm
   * ran (an argument JS cannot convert), stays one; everything else is a trap.
   */
  #failure(error: unknown, name: string): Error {
    if (error instanceof TypeError && !/wasm-function\[/.test(error.stack ?? "")) {
      return new TypeError(`Cannot call export "${name}": ${error.message}`, { cause: error });
    }
    return this.#trap(error);
  }

  /** The export behind an adapter that takes and returns v128 values as halves. */
  #loweredExport(name: string, type: FuncType): (...args: never[]) => unknown {
    let fn = this.#lowered?.get(name);
    if (!fn) {
      const raw = this.instance.exports[name] as (...args: never[]) => unknown;
      fn = lowerFunction(type, raw);
      (this.#lowered ??= new Map()).set(name, fn);
    }
    return fn;
  }

  /**
   * Calls an export and awaits it: the way to call apps that link async natives.
   *
   * @param name export name
   * @param args as for `call`
   * @returns the result
   * @throws {TrapError} when the app traps
   */
  async callAsync(name: string, ...args: WasmValue[]): Promise<WasmValue> {
    return await this.call(name, ...args);
  }

  /**
   * Runs the app's entry point ({@linkcode entryPoint}): a WASI command's `_start()`, or
   * `main` (looked up as `main`, `__main_argc_argv`, then `_main`), called with no arguments
   * when it takes none and otherwise with WAMR's argv layout: the strings back to back,
   * padded to 4, then an array of their app offsets. A WASI command reads its arguments
   * from the WASI library instead (its `args` option).
   *
   * @param argv the arguments, argv[0] first (iwasm passes the wasm file path)
   * @returns main's return value (0 for a void main or a `_start` that returns), or the
   *   status the app exited with (WASI's `proc_exit`; also in {@linkcode exitCode})
   * @throws {TrapError} when the app traps, has no entry point ({@linkcode NO_ENTRY_POINT})
   *   or main has the wrong type
   *
   * @example A WASI-style command: `_start` exits with a status
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "../../mod.ts";
   * import { AppExit, defineNativeLibrary } from "../../sdk/mod.ts";
   * const exits = defineNativeLibrary({
   *   name: "exits",
   *   module: "wasi_snapshot_preview1",
   *   symbols: (native) => ({
   *     proc_exit: native("(i)", (_ctx, code) => {
   *       throw new AppExit(code, "wasi proc exit");
   *     }),
   *   }),
   * });
   * // (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
   * //   (func (export "_start") i32.const 7 call 0))
   * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 2, 96, 1, 127, 0, 96, 0,
   *   0, 2, 36, 1, 22, 119, 97, 115, 105, 95, 115, 110, 97, 112, 115, 104, 111, 116, 95, 112,
   *   114, 101, 118, 105, 101, 119, 49, 9, 112, 114, 111, 99, 95, 101, 120, 105, 116, 0, 0, 3,
   *   2, 1, 1, 7, 10, 1, 6, 95, 115, 116, 97, 114, 116, 0, 1, 10, 8, 1, 6, 0, 65, 7, 16, 0, 11]);
   * const runtime = new Runtime({ plugins: [exits] });
   * const app = await runtime.instantiate(await runtime.load(bytes));
   * assert.equal(app.entryPoint, "_start");
   * assert.equal(app.callMain(["app.wasm"]), 7);
   * assert.equal(app.exitCode, 7);
   * app.free();
   * ```
   */
  callMain(argv: readonly string[]): number {
    const { name, block, argc, argvAddr } = this.#prepareMain(argv);
    try {
      return Number((argc === undefined ? this.call(name) : this.call(name, argc, argvAddr)) ?? 0);
    } catch (e) {
      if (e instanceof AppExit) return e.code;
      throw e;
    } finally {
      this.#freeArgv(block);
    }
  }

  /**
   * `callMain` for apps that link async natives (also works for the others).
   *
   * @param argv the arguments, argv[0] first
   * @returns main's return value, or the status the app exited with
   */
  async callMainAsync(argv: readonly string[]): Promise<number> {
    const { name, block, argc, argvAddr } = this.#prepareMain(argv);
    try {
      const result = argc === undefined
        ? await this.call(name)
        : await this.call(name, argc, argvAddr);
      return Number(result ?? 0);
    } catch (e) {
      if (e instanceof AppExit) return e.code;
      throw e;
    } finally {
      this.#freeArgv(block);
    }
  }

  /** Frees main's argv block; a heap the app damaged must not hide main's own trap. */
  #freeArgv(block: number): void {
    if (block === 0 || this.#freed) return;
    try {
      this.heap.free(block);
    } catch (e) {
      this.warn(`cannot free main's arguments: ${(e as Error).message}`);
    }
  }

  #prepareMain(argv: readonly string[]) {
    this.#assertLive();
    const name = this.entryPoint;
    if (!name) throw new TrapError(NO_ENTRY_POINT);
    if (name === "_start") return { name, block: 0, argc: undefined, argvAddr: 0 };
    const type = this.functionType(name);
    const params = type?.params.join(",") ?? "";
    const results = type?.results.join(",") ?? "";
    if ((params !== "" && params !== "i32,i32") || (results !== "" && results !== "i32")) {
      throw new TrapError("invalid function type of main function");
    }
    if (params === "") return { name, block: 0, argc: undefined, argvAddr: 0 };

    const strings = argv.map((a) => encodeUtf8(a));
    const textSize = strings.reduce((n, s) => n + s.length + 1, 0);
    const padded = (textSize + 3) & ~3;
    const block = this.heap.malloc(padded + 4 * strings.length);
    if (block === 0) {
      this.stdout.flush();
      throw new TrapError("allocate memory failed");
    }
    let at = block;
    strings.forEach((s, i) => {
      this.memory.write(at, s);
      this.memory.setU8(at + s.length, 0);
      this.memory.setI32(block + padded + 4 * i, at);
      at += s.length + 1;
    });
    return { name, block, argc: strings.length, argvAddr: block + padded };
  }

  /** Flushes output and releases every library's per-app state; the instance is unusable after. */
  free(): void {
    if (this.#freed) return;
    this.stdout.flush();
    this.#freed = true;
    this.#disposeState();
  }

  /** Whether `free` was called. */
  get freed(): boolean {
    return this.#freed;
  }

  #disposeState(): void {
    const libraries = this.#libraries;
    const states = this.#states;
    if (libraries.length === 0) return;
    for (let i = libraries.length - 1; i >= 0; i--) {
      const library = libraries[i]!;
      try {
        library.dispose?.(states[i], this);
      } catch (e) {
        this.#warn(`warning: library "${library.name}" failed to dispose: ${(e as Error).message}`);
      }
    }
    this.#libraries = _NONE;
    this.#states = _NONE;
  }

  #assertLive(): void {
    if (this.#freed) throw new TrapError(`app "${this.name}" was freed`);
  }
}

/**
 * The per-(app, symbol) context a native receives first. Its library, name and attachment
 * are the linked native's, the same for every app: three fields, not five, in each import's
 * context (an instance keeps one per import).
 */
class _Context implements NativeContext<unknown> {
  readonly app: AppInstance;
  readonly state: unknown;
  readonly #native: ResolvedNative;

  constructor(app: AppInstance, state: unknown, native: ResolvedNative) {
    this.app = app;
    this.state = state;
    this.#native = native;
  }
  get library(): NativeLibrary {
    return this.#native.library;
  }
  get symbol(): string {
    return this.#native.name;
  }
  get attachment(): unknown {
    return this.#native.symbol.attachment;
  }
  get memory(): AppMemory {
    return this.app.memory;
  }
  get heap(): AppHeap {
    return this.app.heap;
  }
  trap(message: string): never {
    throw new TrapError(message);
  }
}

const _NONE: readonly never[] = Object.freeze([]);
/** The exports before instantiation. */
const _NO_EXPORTS: Record<string, unknown> = Object.freeze({});
const _NO_ENV: Readonly<Record<string, string>> = Object.freeze({});
const _NO_LIMITS: Readonly<AppLimits> = Object.freeze({});

/** What every instance of a module asks of its imports and exports, found once per module. */
interface _Shape {
  /** Whether it imports from a `wasi_*` module. */
  readonly usesWasi: boolean;
  /** Which of `__post_instantiate` and `_initialize` it exports as functions. */
  readonly initializers: readonly string[];
  /** Whether it exports a name the rewriter uses (`__mr_...`), which apps do not see. */
  readonly hidesExports: boolean;
  /** Its exported memory when it exports exactly one (else found among the exports). */
  readonly memoryExport: string | undefined;
}

const _shapes = new WeakMap<ModuleInfo, _Shape>();

function _shapeOf(info: ModuleInfo): _Shape {
  let shape = _shapes.get(info);
  if (shape === undefined) {
    const memories = info.exports.filter((e) => e.kind === "memory");
    shape = {
      usesWasi: info.imports.some((i) => i.module.startsWith("wasi_")),
      initializers: ["__post_instantiate", "_initialize"].filter((name) =>
        info.exports.some((e) => e.name === name && e.kind === "function")
      ),
      hidesExports: info.exports.some((e) => e.name.startsWith("__mr_")),
      memoryExport: memories.length === 1 ? memories[0]!.name : undefined,
    };
    _shapes.set(info, shape);
  }
  return shape;
}

/** Per module: whether each export `callNumbers` was asked for takes only numbers. */
const _numberExports = new WeakMap<ModuleInfo, Record<string, boolean>>();

/** Whether an export's params are all i32, f32 or f64 and no result is a v128. */
function _takesNumbers(info: ModuleInfo, name: string): boolean {
  // A plain object: a Map per module cost ~190 B of every idle app.
  let byName = _numberExports.get(info);
  if (byName === undefined) _numberExports.set(info, byName = {});
  let numbers = Object.hasOwn(byName, name) ? byName[name] : undefined;
  if (numbers === undefined) {
    const type = exportedFunctionType(info, name);
    numbers = type !== undefined && !type.results.includes("v128") &&
      type.params.every((t) => t === "i32" || t === "f32" || t === "f64");
    byName[name] = numbers;
  }
  return numbers;
}

let _empty: WebAssembly.Memory | undefined;

/**
 * The memory of apps that have none: empty and unable to grow, so one serves them all (a
 * memory each cost an address-space reservation per instance).
 */
function _noMemory(): WebAssembly.Memory {
  return _empty ??= new WebAssembly.Memory({ initial: 0, maximum: 0 });
}

type _Variants = typeof import("./variants.ts");
/** The rewriter and its compiled variants, loaded on first use. */
let _variants: _Variants | undefined;

/**
 * Loads the load-time rewriter that compiles execution limits into apps. Apps without limits
 * never need it, so it stays out of the start-up of `deno run mod.ts app.wasm` (it is a
 * tenth of the module graph); `instantiate` loads it by itself, `instantiateSync` needs it
 * loaded first.
 *
 * @returns when it is loaded
 */
export async function loadInstrumentation(): Promise<void> {
  _variants ??= await import("./variants.ts");
}

// ---- Types a typed `lookup` infers from a signature literal ------------------------------

/** The type one signature letter is passed as when calling an export. */
export type ExportArgType<C extends string> = C extends "i" | "f" | "F" | "*" | "~" | "$" ? number
  : C extends "I" ? bigint | number
  : C extends "r" ? unknown
  : C extends "V" ? Uint8Array
  : C extends "R" ? WasmFuncRef
  : never;

/** The argument tuple for the parameter letters of a signature (without parentheses). */
export type ExportArgTuple<S extends string> = S extends `${infer C}${infer Rest}`
  ? [ExportArgType<C>, ...ExportArgTuple<Rest>]
  : [];

/** The parameters of an export called through a signature literal. */
export type ExportParams<S extends string> = S extends `(${infer P})${string}` ? ExportArgTuple<P>
  : never;

/** The result of an export called through a signature literal (an array for several). */
export type ExportResult<S extends string> = S extends `(${string})${infer R}`
  ? R extends "" ? undefined
  : R extends `${infer C}${infer Rest}` ? Rest extends "" ? SignatureValueType<C>
    : SignatureValueTuple<R>
  : never
  : never;

/** The function a typed `lookup` returns: `ExportFunction<"(ii)i">` is `(number, number) => number`. */
export type ExportFunction<S extends string> = (...args: ExportParams<S>) => ExportResult<S>;

/** The arguments as V8 takes them: i64 numbers as bigints; a host-side mistake a `TypeError`. */
function _checkedArgs(name: string, type: FuncType, args: WasmValue[]): WasmValue[] {
  const out = args.slice();
  type.params.forEach((t, i) => {
    const a = args[i];
    const wrong = (what: string) =>
      new TypeError(
        `Argument ${i + 1} of export "${name}" must be ${what} (${t}), got ${_describe(a)}`,
      );
    switch (t) {
      case "i32":
      case "f32":
      case "f64":
        if (typeof a !== "number" && a !== undefined) throw wrong("a number");
        break;
      case "i64":
        if (typeof a === "number" && Number.isInteger(a)) out[i] = BigInt(a);
        else if (typeof a !== "bigint") throw wrong("a bigint or an integer");
        break;
      case "v128":
        if (!(a instanceof Uint8Array) || a.length !== 16) throw wrong("a 16-byte Uint8Array");
        break;
      case "funcref":
        if (a !== null && typeof a !== "function") throw wrong("a wasm function or null");
        break;
    }
  });
  return out;
}

function _describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return typeof value;
}

/** The first exported memory, in the exports' order. */
function _exportedMemory(raw: Record<string, unknown>): WebAssembly.Memory | undefined {
  return Object.values(raw).find((v) => v instanceof WebAssembly.Memory) as
    | WebAssembly.Memory
    | undefined;
}

/** The exports an app sees: the names the rewriter added (`__mr_...`) are left out. */
function _appExports(raw: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(raw).some((name) => name.startsWith("__mr_"))) return raw;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!name.startsWith("__mr_")) out[name] = value;
  }
  return out;
}

type _Promising = (fn: (...args: never[]) => unknown) => (...args: never[]) => Promise<unknown>;

/** Wraps every exported function with JSPI's `promising` so async natives can suspend. */
function _promisingExports(exports: Record<string, unknown>): Record<string, unknown> {
  const promising = (WebAssembly as unknown as { promising: _Promising }).promising;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(exports)) {
    out[name] = typeof value === "function"
      ? promising(value as (...args: never[]) => unknown)
      : value;
  }
  return out;
}
