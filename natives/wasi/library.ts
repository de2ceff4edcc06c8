/**
 * WASI preview 1 (`wasi_snapshot_preview1`) over any file system and streams: the library
 * behind `mod.ts` (which defaults to Deno's file system) and the browser build (which
 * defaults to an in-memory one, {@linkcode MemoryFs}). Standard input and error default to
 * the platform's (`sdk/platform.ts`).
 *
 * @module
 */

import type { AppHandle, NativeLibrary, PluginOptionValue } from "../../sdk/native.ts";
import { defineNativeLibrary } from "../../sdk/native.ts";
import { platform } from "../../sdk/platform.ts";
import { realWasiClock, type WasiClock } from "./clock.ts";
import type { WasiReader, WasiWriter } from "./fd_table.ts";
import { fdSymbols } from "./files.ts";
import type { WasiFs } from "./fs.ts";
import { MemoryFs } from "./memory_fs.ts";
import { pathSymbols } from "./paths.ts";
import { pollSymbols } from "./poll.ts";
import { processSymbols } from "./process.ts";
import { type WasiPreopen, type WasiSettings, WasiState } from "./state.ts";

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
  /** Standard input. Default: the platform's (`Deno.stdin` under Deno). */
  stdin?: WasiReader;
  /** Standard output. Default: the app's output, shared with libc's `printf`. */
  stdout?: WasiWriter;
  /** Standard error. Default: the platform's (`Deno.stderr` under Deno). */
  stderr?: WasiWriter;
  /**
   * The file system. Default: Deno's (`denoFs`) from `mod.ts`; a new, empty
   * {@linkcode MemoryFs} from this module (the browser build's).
   */
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
 * import { createWasiLibrary } from "./library.ts";
 * const wasi = createWasiLibrary({ args: ["app", "-v"], preopens: [{ guest: "/", host: "." }] });
 * assert.equal(wasi.module, "wasi_snapshot_preview1");
 * assert.equal(wasi.options.preopens, ".::/");
 * ```
 */
export function createWasiLibrary(options: WasiOptions = {}): WasiLibrary {
  // Kept in the options, so that `configure`d copies share the same files.
  const fs = options.fs ?? new MemoryFs();
  options = { ...options, fs };
  const settings: WasiSettings = {
    args: options.args,
    env: options.env,
    preopens: [...(options.preopens ?? [])],
    stdin: options.stdin ?? platform().stdin,
    stdout: options.stdout,
    stderr: options.stderr ?? _platformStderr,
    fs,
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

const _platformStderr: WasiWriter = {
  writeSync: function writeStderr(from: Uint8Array): number {
    platform().stderr.write(from);
    return from.length;
  },
  isTerminal: () => platform().stderr.isTerminal(),
};
