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
import { type OutputSink, writerSink, writeStderr } from "../../sdk/output.ts";
import { NativeRegistry } from "../link/registry.ts";

/** Options for a runtime. */
export interface RuntimeOptions {
  /** Native libraries to register, in order (later ones shadow earlier ones). */
  plugins?: NativeLibrary[];
  /** Where app output goes (default: `Deno.stdout`). */
  stdout?: OutputSink;
  /** Where runtime warnings go, one line each (default: `Deno.stderr`). */
  warn?: (message: string) => void;
  /** Trace every native call of every app to this sink, one line each (`--trace`). */
  trace?: (line: string) => void;
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

  /**
   * Creates a runtime and registers the given plugins.
   *
   * @param options plugins and output sinks
   */
  constructor(options: RuntimeOptions = {}) {
    for (const plugin of options.plugins ?? []) this.registry.register(plugin);
    this.stdout = options.stdout ?? writerSink(Deno.stdout);
    this.stdoutIsTerminal = options.stdout ? false : Deno.stdout.isTerminal();
    this.trace = options.trace;
    this.warn = options.warn ?? function warnToStderr(message: string): void {
      writeStderr(message + "\n");
    };
  }

  /**
   * Registers a native library for modules instantiated from now on.
   *
   * @param library the library (a plugin module's default export)
   * @returns this runtime
   */
  register(library: NativeLibrary): this {
    this.registry.register(library);
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
    if (url === undefined) return await Deno.readFile(source as string);
    if (url.protocol === "file:") return await Deno.readFile(url);
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
