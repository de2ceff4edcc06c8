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

import { denoFs } from "./deno_fs.ts";
import {
  createWasiLibrary as createLibrary,
  type WasiLibrary,
  type WasiOptions,
} from "./library.ts";

export {
  WASI_MODULE,
  type WasiConfigureOptions,
  type WasiLibrary,
  type WasiOptions,
} from "./library.ts";
export { MemoryFs } from "./memory_fs.ts";
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

/**
 * Creates a WASI library with its own command line, environment, preopened directories,
 * stdio, file system and clocks, on Deno's file system unless `fs` says otherwise. Each app
 * that imports a WASI function gets its own descriptors, set up when the app instance is
 * created.
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
  return createLibrary({ fs: denoFs, ...options });
}

/** The WASI library with default options: no preopens, no arguments but the app's name. */
const wasi: WasiLibrary = createWasiLibrary();
export default wasi;
