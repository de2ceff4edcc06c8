/**
 * WASI preview 1 (`wasi_snapshot_preview1`) on Deno's own APIs: command line, environment,
 * clocks, randomness, stdio, files and directories beneath preopened host directories,
 * `poll_oneoff`, and `proc_exit` as a {@linkcode WasiExit} carrying the exit status. Sockets
 * answer `notsup`.
 *
 * The app sees only the preopened directories: `..` above one, absolute paths and symbolic
 * links leading out are refused with `notcapable`, so Deno's permissions can be scoped to
 * them (`--allow-read=DIR --allow-write=DIR`). Writes to stdout share the app's output
 * buffer with libc's `printf`.
 *
 * @example Run a WASI command and read its exit status
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "../../mod.ts";
 * import wasi, { WasiExit } from "./mod.ts";
 *
 * // (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
 * //   (memory (export "memory") 1) (func (export "_start") i32.const 7 call 0))
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 2, 96, 1, 127, 0, 96, 0,
 *   0, 2, 36, 1, 22, 119, 97, 115, 105, 95, 115, 110, 97, 112, 115, 104, 111, 116, 95, 112,
 *   114, 101, 118, 105, 101, 119, 49, 9, 112, 114, 111, 99, 95, 101, 120, 105, 116, 0, 0, 3,
 *   2, 1, 1, 5, 3, 1, 0, 1, 7, 19, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 6, 95, 115,
 *   116, 97, 114, 116, 0, 1, 10, 8, 1, 6, 0, 65, 7, 16, 0, 11]);
 * const runtime = new Runtime({ plugins: [wasi.configure({ args: ["app"] })] });
 * const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 0 });
 * assert.throws(() => app.call("_start"), (e) => e instanceof WasiExit && e.code === 7);
 * app.free();
 * ```
 *
 * @module
 */

import type { AppHandle, NativeLibrary, PluginOptionValue } from "../../sdk/native.ts";
import { defineNativeLibrary } from "../../sdk/native.ts";
import { realWasiClock, type WasiClock } from "./clock.ts";
import { denoFs } from "./deno_fs.ts";
import type { WasiReader, WasiWriter } from "./fd_table.ts";
import { fdSymbols } from "./files.ts";
import type { WasiFs } from "./fs.ts";
import { pathSymbols } from "./paths.ts";
import { pollSymbols } from "./poll.ts";
import { processSymbols } from "./process.ts";
import { type WasiPreopen, type WasiSettings, WasiState } from "./state.ts";

export { WasiExit } from "./exit.ts";
export { denoFs, errnoOfDenoError } from "./deno_fs.ts";
export { realWasiClock, type WasiClock } from "./clock.ts";
export { type FdEntry, FdTable, MAX_FDS, type WasiReader, type WasiWriter } from "./fd_table.ts";
export {
  type WasiDirEntry,
  type WasiFile,
  type WasiFs,
  WasiFsError,
  type WasiOpenOptions,
  type WasiStat,
  type WasiTimes,
} from "./fs.ts";
export { errnoOf, type WasiPreopen, type WasiSettings, WasiState } from "./state.ts";
export {
  Clockid,
  Errno,
  type ErrnoValue,
  Eventtype,
  Fdflags,
  Filetype,
  type FiletypeValue,
  Fstflags,
  Lookupflags,
  Oflags,
  Rights,
  Whence,
} from "./constants.ts";
export { MAX_SYMLINK_HOPS } from "./sandbox.ts";

/** The wasm import module of every WASI preview 1 function. */
export const WASI_MODULE = "wasi_snapshot_preview1";

/** Options of a WASI library; every field has a default. */
export interface WasiOptions {
  /** The command line the app sees, program name first. Default: the app's name alone. */
  args?: readonly string[];
  /**
   * The environment the app sees. Default: the app instance's `env` (empty unless the
   * embedder gives one), never the host's own.
   */
  env?: Readonly<Record<string, string>>;
  /**
   * Host directories the app may use, as descriptors 3, 4, … in this order (wasmtime's
   * `--dir=HOST::GUEST`, iwasm's `--map-dir=GUEST::HOST`). Default none.
   */
  preopens?: readonly WasiPreopen[];
  /** Standard input. Default `Deno.stdin`. */
  stdin?: WasiReader;
  /** Standard output. Default: the app's output, shared with libc's `printf`. */
  stdout?: WasiWriter;
  /** Standard error. Default `Deno.stderr`. */
  stderr?: WasiWriter;
  /** The file system. Default {@linkcode denoFs}. */
  fs?: WasiFs;
  /** The clocks and the sleep of `poll_oneoff`. Default {@linkcode realWasiClock}. */
  clock?: WasiClock;
}

/** Option values `configure` takes: typed values from code, text from a command line. */
export type WasiConfigureOptions = WasiOptions | Record<string, PluginOptionValue>;

/** A WASI library: the natives, its options, and `configure` for variants. */
export interface WasiLibrary extends NativeLibrary<WasiState> {
  /** The options as plain values: `args` and `env` as JSON, `preopens` as `HOST::GUEST;…`. */
  readonly options: Readonly<Record<string, PluginOptionValue>>;
  /**
   * A copy of the library with some options changed. Values from code replace the old
   * ones; text from a command line (`--plugin wasi,dir=./data::/data,env=K=V`) is read as:
   * `args` split at spaces, `env` one `KEY=value` added, `dir` one `HOST[::GUEST]` preopen
   * added (wasmtime's `--dir`), `mapdir` one `GUEST::HOST` added (iwasm's `--map-dir`).
   *
   * @param changes option names and values
   * @returns the new library
   * @throws {TypeError} for an unknown option or a bad value
   */
  configure(changes: WasiConfigureOptions): WasiLibrary;
  /**
   * An app's WASI state.
   *
   * @param app an app instance linked against this library
   * @returns its state, or undefined when the app imports no WASI function
   */
  state(app: AppHandle): WasiState | undefined;
}

const _KEYS = [
  "args",
  "env",
  "preopens",
  "stdin",
  "stdout",
  "stderr",
  "fs",
  "clock",
  "dir",
  "mapdir",
];

function _preopen(spec: string, guestFirst: boolean): WasiPreopen {
  const at = spec.indexOf("::");
  if (at < 0) {
    if (guestFirst) {
      throw new TypeError(`Plugin "wasi": option "mapdir" must be GUEST::HOST, got "${spec}"`);
    }
    return { host: spec, guest: spec };
  }
  const [a, b] = [spec.slice(0, at), spec.slice(at + 2)];
  return guestFirst ? { guest: a, host: b } : { host: a, guest: b };
}

function _merge(options: WasiOptions, changes: WasiConfigureOptions): WasiOptions {
  const next: WasiOptions = { ...options };
  for (const [key, value] of Object.entries(changes)) {
    if (!_KEYS.includes(key)) {
      throw new TypeError(`Plugin "wasi": unknown option "${key}" (options: ${_KEYS.join(", ")})`);
    }
    if (value === undefined) continue;
    if (key === "dir" || key === "mapdir") {
      next.preopens = [...(next.preopens ?? []), _preopen(String(value), key === "mapdir")];
    } else if (key === "args" && typeof value !== "object") {
      next.args = String(value).split(/\s+/).filter((a) => a !== "");
    } else if (key === "env" && typeof value !== "object") {
      const text = String(value);
      const eq = text.indexOf("=");
      if (eq <= 0) {
        throw new TypeError(`Plugin "wasi": option "env" must be KEY=value, got "${text}"`);
      }
      next.env = { ...(next.env ?? {}), [text.slice(0, eq)]: text.slice(eq + 1) };
    } else if (typeof value !== "object" && key !== "args" && key !== "env") {
      throw new TypeError(`Plugin "wasi": option "${key}" cannot be given as text`);
    } else {
      (next as Record<string, unknown>)[key] = value;
    }
  }
  return next;
}

/**
 * Creates a WASI library with its own command line, environment, preopened directories,
 * stdio, file system and clocks. Each app that imports a WASI function gets its own
 * descriptors, set up when the app instance is created.
 *
 * @param options what the apps see; see {@linkcode WasiOptions}
 * @returns the library, to pass to `Runtime({ plugins })`
 *
 * @example A library with one preopened directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { createWasiLibrary } from "./mod.ts";
 * const wasi = createWasiLibrary({ args: ["app", "-v"], preopens: [{ guest: "/", host: "." }] });
 * assert.equal(wasi.module, "wasi_snapshot_preview1");
 * assert.equal(wasi.options.preopens, ".::/");
 * ```
 */
export function createWasiLibrary(options: WasiOptions = {}): WasiLibrary {
  const settings: WasiSettings = {
    args: options.args,
    env: options.env,
    preopens: [...(options.preopens ?? [])],
    stdin: options.stdin ?? Deno.stdin,
    stdout: options.stdout,
    stderr: options.stderr ?? Deno.stderr,
    fs: options.fs ?? denoFs,
    clock: options.clock ?? realWasiClock,
  };
  const base = defineNativeLibrary<WasiState>({
    name: "wasi",
    module: WASI_MODULE,
    setup: function setupWasi(app: AppHandle): WasiState {
      return new WasiState(settings, app);
    },
    dispose: function disposeWasi(state: WasiState): void {
      state.dispose();
    },
    symbols: (native) => ({
      ...processSymbols(native),
      ...fdSymbols(native),
      ...pathSymbols(native),
      ...pollSymbols(native),
    }),
  });
  const library: WasiLibrary = Object.assign(base, {
    options: Object.freeze({
      args: JSON.stringify(options.args ?? null),
      env: JSON.stringify(options.env ?? null),
      preopens: settings.preopens.map((p) => `${p.host}::${p.guest}`).join(";"),
    }),
    configure: function configureWasi(changes: WasiConfigureOptions): WasiLibrary {
      return createWasiLibrary(_merge(options, changes));
    },
    state: function wasiState(app: AppHandle): WasiState | undefined {
      return app.stateOf(library);
    },
  });
  return library;
}

/** The WASI library with default options: no preopens, no arguments but the app's name. */
const wasi: WasiLibrary = createWasiLibrary();
export default wasi;
