/**
 * Runs an app the way `deno run mod.ts app.wasm` does, without the command line: its
 * `main`/`_start` with argv, or one export with text arguments (`-f`), printing the same
 * lines — `Exception: …` for a trap, `WASM module load failed: …` and
 * `WASM module instantiate failed: …` — to the given output, so a page shows what a
 * terminal would.
 *
 * @module
 */

import { AppExit, LinkError, LoadError, TrapError } from "../../sdk/errors.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import type { OutputSink } from "../../sdk/output.ts";
import type { AppInstance } from "../instance/instance.ts";
import type { AppLimits } from "../instance/limits.ts";
import { type ModuleSource, Runtime } from "../instance/runtime.ts";
import { callWithTextArgs } from "../instance/text_call.ts";
import libc from "../../natives/libc/mod.ts";
import type { WasiLibrary } from "../../natives/wasi/library.ts";

/** The import module of WASI preview 1. */
const WASI_MODULE = "wasi_snapshot_preview1";

/** Options of {@linkcode runApp}; every field has a default. */
export interface RunOptions {
  /** `argv[0]`, as a user would type the app's path. Default `"app.wasm"`. */
  name?: string;
  /** The arguments after it. Default none. */
  args?: readonly string[];
  /** Call this export with `args` as text and print its result (iwasm's `-f`). */
  function?: string;
  /** Native libraries, in order (later ones shadow earlier ones). Default: libc alone. */
  plugins?: readonly NativeLibrary[];
  /**
   * The WASI library, given the command line when the app imports WASI preview 1 (its
   * `configure({ args })` is called). Default none: such an app fails to link.
   */
  wasi?: WasiLibrary;
  /** Where app output and the result lines go. Default: the platform's standard output. */
  stdout?: OutputSink;
  /** Where warnings go. Default: the platform's standard error. */
  stderr?: OutputSink;
  /** App heap size in bytes (iwasm's `--heap-size`). Default: the runtime's. */
  heapSize?: number;
  /** Execution limits (deadline, fuel, memory). Default none. */
  limits?: AppLimits;
  /** Flush output at every newline (a console that shows lines as they come). Default true. */
  lineBuffered?: boolean;
}

/**
 * Loads, links and runs an app; prints what the CLI would print.
 *
 * @param source the app's bytes, or where to read them (a URL in a page)
 * @param options argv, `-f`, plugins, output and limits
 * @returns the exit status: the app's exit code (0 after `main` returns), 1 when it fails
 *
 * @example A trap prints WAMR's exception line
 * ```ts
 * import assert from "node:assert/strict";
 * import { runApp } from "./run.ts";
 * // (module (func (export "main") (result i32) unreachable))
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1,
 *   0, 7, 8, 1, 4, 109, 97, 105, 110, 0, 0, 10, 5, 1, 3, 0, 0, 11]);
 * let out = "";
 * const status = await runApp(bytes, { stdout: (b) => out += new TextDecoder().decode(b) });
 * assert.equal(status, 1);
 * assert.equal(out, "Exception: unreachable\n");
 * ```
 */
export async function runApp(source: ModuleSource, options: RunOptions = {}): Promise<number> {
  const encoder = new TextEncoder();
  const name = options.name ?? "app.wasm";
  const args = options.args ?? [];
  const runtime = new Runtime({
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.stderr ? { warn: (m: string) => options.stderr!(encoder.encode(m + "\n")) } : {}),
  });
  const print = (line: string) => runtime.stdout(encoder.encode(line + "\n"));
  for (const plugin of options.plugins ?? [libc]) runtime.register(plugin);
  let app: AppInstance | undefined;
  try {
    if (options.limits) await runtime.loadInstrumentation();
    const module = await runtime.load(source, name.slice(name.lastIndexOf("/") + 1));
    if (options.wasi && module.info.imports.some((i) => i.module === WASI_MODULE)) {
      runtime.register(options.wasi.configure({ args: [name, ...args] }));
    }
    app = runtime.instantiateSync(module, {
      ...(options.heapSize === undefined ? {} : { heapSize: options.heapSize }),
      ...(options.limits ? { limits: options.limits } : {}),
      lineBuffered: options.lineBuffered ?? true,
    });
    if (options.function !== undefined) {
      const line = await callWithTextArgs(app, options.function, args);
      app.stdout.flush();
      print(line);
    } else {
      await app.callMainAsync([name, ...args]);
    }
    return app.exitCode ?? 0;
  } catch (e) {
    app?.stdout.flush();
    if (e instanceof AppExit) return e.code;
    if (e instanceof LoadError) print(`WASM module load failed: ${e.message}`);
    else if (e instanceof LinkError) print(`WASM module instantiate failed: ${e.message}`);
    else if (e instanceof TrapError) print(`Exception: ${e.message}`);
    else throw e;
    return 1;
  } finally {
    app?.stdout.flush();
    app?.free();
  }
}
