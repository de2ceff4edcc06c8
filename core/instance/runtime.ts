/**
 * The embedding API's entry point: a runtime holds the native registry and creates modules
 * and app instances (WAMR's `wasm_runtime_full_init` / `load` / `instantiate`).
 *
 * @module
 */

import { LoadError } from "../../sdk/errors.ts";
import {
  AppInstance,
  type InstanceHost,
  type InstanceOptions,
  loadInstrumentation,
} from "./instance.ts";
import { type AppModule, compileModule, compileModuleSync } from "../module/module.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import { type OutputSink, writeStderr } from "../../sdk/output.ts";
import { platform } from "../../sdk/platform.ts";
import { NativeRegistry } from "../link/registry.ts";
import {
  type ExternValue,
  type LinkableInstance,
  Linker,
  type UnknownImports,
} from "../link/linker.ts";

/** Options for a runtime. */
export interface RuntimeOptions {
  /** Native libraries to register, in order (later ones shadow earlier ones). */
  plugins?: NativeLibrary[];
  /** Where app output goes (default: the platform's standard output). */
  stdout?: OutputSink;
  /** Where runtime warnings go, one line each (default: the platform's standard error). */
  warn?: (message: string) => void;
  /** Trace every native call of every app to this sink, one line each (`--trace`). */
  trace?: (line: string) => void;
  /**
   * What a function import nothing provides becomes: `"trap"` (default, as WAMR) a stub that
   * traps when called, with a warning at instantiation; `"error"` a `LinkError` at
   * instantiation, and memories and tables are no longer created from the import's limits.
   */
  unknownImports?: UnknownImports;
}

/** Where a module's bytes come from. */
export type ModuleSource = Uint8Array | ArrayBuffer | string | URL;

/**
 * A runtime: register native libraries, load modules, create app instances.
 *
 * @example Run an exported function
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "./runtime.ts";
 * // (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127,
 *   3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11]);
 * const runtime = new Runtime();
 * const app = await runtime.instantiate(await runtime.load(bytes));
 * assert.equal(app.call("add", 2, 3), 5);
 * app.free();
 * ```
 */
export class Runtime implements InstanceHost {
  /** Registered native libraries. */
  readonly registry: NativeRegistry = new NativeRegistry();
  /** Default sink for app output. */
  readonly stdout: OutputSink;
  /** Whether the default sink is a terminal (output is then line-buffered). */
  readonly stdoutIsTerminal: boolean;
  /** Default sink for warnings. */
  readonly warn: (message: string) => void;
  /** Default sink for traces; undefined when tracing is off. */
  readonly trace: ((line: string) => void) | undefined;
  /** Values and instances supplied for imports ({@linkcode define}, {@linkcode register}). */
  readonly linker: Linker = new Linker();
  /** What a function import nothing provides becomes. */
  readonly unknownImports: UnknownImports;

  /**
   * Creates a runtime and registers the given plugins.
   *
   * @param options plugins and output sinks
   */
  constructor(options: RuntimeOptions = {}) {
    for (const plugin of options.plugins ?? []) this.registry.register(plugin);
    const { stdout } = platform();
    this.stdout = options.stdout ?? function writeStdout(bytes: Uint8Array): void {
      stdout.write(bytes);
    };
    this.stdoutIsTerminal = options.stdout ? false : stdout.isTerminal();
    this.trace = options.trace;
    this.unknownImports = options.unknownImports ?? "trap";
    this.warn = options.warn ?? function warnToStderr(message: string): void {
      writeStderr(message + "\n");
    };
  }

  /**
   * Registers an instance under a module name, Wasmtime-style: modules instantiated from now
   * on import its exports as `module`.`export` -- the same memory, table, global and tag
   * objects, and direct calls into its functions -- each checked against the import's type.
   * The exports are taken as they are now; a later `register` or `define` of the same name
   * replaces one. Free it after its importers: freeing disposes its native libraries' state,
   * which calls into its functions may still use.
   *
   * @param module the module name importers use
   * @param instance the instance whose exports to supply
   * @returns this runtime
   *
   * @example One instance's memory and function serve another
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "../../mod.ts";
   * // (module (memory (export "mem") 1) (func (export "inc") (param i32) (result i32)
   * //   local.get 0 i32.const 1 i32.add))
   * const lib = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2,
   *   1, 0, 5, 3, 1, 0, 1, 7, 13, 2, 3, 109, 101, 109, 2, 0, 3, 105, 110, 99, 0, 0, 10, 9, 1, 7,
   *   0, 32, 0, 65, 1, 106, 11]);
   * // (module (import "lib" "mem" (memory 1)) (import "lib" "inc" (func (param i32) (result i32)))
   * //   (func (export "run") (result i32) i32.const 0 i32.const 41 i32.store
   * //     i32.const 0 i32.load call 0))
   * const app = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 10, 2, 96, 1, 127, 1, 127, 96, 0,
   *   1, 127, 2, 22, 2, 3, 108, 105, 98, 3, 109, 101, 109, 2, 0, 1, 3, 108, 105, 98, 3, 105, 110,
   *   99, 0, 0, 3, 2, 1, 1, 7, 7, 1, 3, 114, 117, 110, 0, 1, 10, 18, 1, 16, 0, 65, 0, 65, 41, 54,
   *   2, 0, 65, 0, 40, 2, 0, 16, 0, 11]);
   * const runtime = new Runtime();
   * const provider = await runtime.instantiate(await runtime.load(lib), { heapSize: 0 });
   * runtime.register("lib", provider);
   * const user = await runtime.instantiate(await runtime.load(app));
   * assert.equal(user.call("run"), 42);
   * assert.equal(provider.memory.i32(0), 41); // one memory, seen by both
   * user.free();
   * provider.free();
   * ```
   */
  register(module: string, instance: LinkableInstance): this;
  // The library form last: `Parameters<Runtime["register"]>` reads the last overload.
  /**
   * Registers a native library for modules instantiated from now on.
   *
   * @param library the library (a plugin module's default export)
   * @returns this runtime
   */
  register(library: NativeLibrary): this;
  register(what: NativeLibrary | string, instance?: LinkableInstance): this {
    if (typeof what === "string") {
      if (!instance) throw new TypeError(`Cannot register "${what}": no instance given`);
      this.linker.instance(what, instance);
    } else {
      this.registry.register(what);
    }
    return this;
  }

  /**
   * Supplies one import for modules instantiated from now on: a `WebAssembly.Memory`,
   * `Table`, `Global` or `Tag`, a host function (called with the wasm arguments, v128 ones as
   * 16-byte arrays; several results returned as an array), or a number, bigint or 16 bytes
   * (v128) for an immutable global. Definitions come after an instance's own `imports` and
   * before native libraries; a later one of the same name replaces the earlier. Each is
   * checked against the import's type and limits when a module imports it.
   *
   * @param module the import's module name
   * @param name the import's field name
   * @param value what the import gets
   * @returns this runtime
   * @throws {TypeError} when the value cannot be an import
   *
   * @example Supply a memory and a global
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "../../mod.ts";
   * // (module (import "env" "memory" (memory 1 2)) (import "env" "base" (global i32))
   * //   (func (export "peek") (result i32) global.get 0 i32.load))
   * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 2, 28,
   *   2, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 1, 1, 2, 3, 101, 110, 118, 4, 98,
   *   97, 115, 101, 3, 127, 0, 3, 2, 1, 0, 7, 8, 1, 4, 112, 101, 101, 107, 0, 0, 10, 9, 1, 7, 0,
   *   35, 0, 40, 2, 0, 11]);
   * const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
   * new DataView(memory.buffer).setInt32(8, 1234, true);
   * const runtime = new Runtime().define("env", "memory", memory).define("env", "base", 8);
   * const app = await runtime.instantiate(await runtime.load(bytes));
   * assert.equal(app.call("peek"), 1234);
   * assert.equal(app.memory.memory, memory);
   * app.free();
   * ```
   */
  define(module: string, name: string, value: ExternValue): this {
    this.linker.define(module, name, value);
    return this;
  }

  /**
   * Reads and compiles a module from bytes, a file path or a URL (`file:`, `http:`, `https:`).
   *
   * @param source the bytes or where to read them
   * @param name the module's name in messages (default: the file name)
   * @returns the compiled module, reusable for many instances
   * @throws {LoadError} for malformed or invalid binaries and unreadable sources
   */
  async load(source: ModuleSource, name?: string): Promise<AppModule> {
    const bytes = await readSource(source);
    return await compileModule(bytes, name ?? sourceName(source));
  }

  /**
   * Compiles a module from bytes synchronously.
   *
   * @param bytes the binary
   * @param name the module's name in messages
   * @returns the compiled module
   * @throws {LoadError} for malformed or invalid binaries
   */
  loadSync(bytes: Uint8Array, name = "module"): AppModule {
    return compileModuleSync(bytes, name);
  }

  /**
   * Links and instantiates a module: imports resolved against the registered libraries,
   * app heap appended, library state set up, `__post_instantiate`/`_initialize` run.
   *
   * @param module a loaded module
   * @param options heap size, name, output
   * @returns the app instance
   * @throws {LinkError} on a signature mismatch or an unsatisfiable import
   * @throws {TrapError} when the start function traps
   */
  instantiate(module: AppModule, options: InstanceOptions = {}): Promise<AppInstance> {
    return AppInstance.create(module, this, options);
  }

  /**
   * Loads the rewriter that compiles execution limits into apps, so `instantiateSync` (and
   * an `AppManager`'s installs) can take `limits`. `instantiate` loads it by itself; apps
   * without limits never need it.
   *
   * @returns this runtime
   */
  async loadInstrumentation(): Promise<this> {
    await loadInstrumentation();
    return this;
  }

  /**
   * Synchronous `instantiate`.
   *
   * @param module a loaded module
   * @param options heap size, name, output
   * @returns the app instance
   */
  instantiateSync(module: AppModule, options: InstanceOptions = {}): AppInstance {
    return AppInstance.createSync(module, this, options);
  }
}

function sourceName(source: ModuleSource): string {
  if (typeof source === "string" || source instanceof URL) {
    const path = typeof source === "string" ? source : source.pathname;
    return path.slice(path.lastIndexOf("/") + 1) || "module";
  }
  return "module";
}

/**
 * Reads a module's bytes from wherever they are.
 *
 * @param source bytes, a path or a URL
 * @returns the bytes
 * @throws {LoadError} when the source cannot be read
 */
export async function readSource(source: ModuleSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const url = source instanceof URL
    ? source
    : /^(https?|file):/.test(source)
    ? new URL(source)
    : undefined;
  try {
    if (url === undefined) return await platform().readFile(source as string);
    if (url.protocol === "file:") return await platform().readFile(url);
    const response = await fetch(url);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw new LoadError(`Cannot read module "${String(source)}": ${(e as Error).message}`);
  }
}
