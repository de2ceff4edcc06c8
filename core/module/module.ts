/**
 * Loading an app: our reader checks the binary's structure, then V8 validates and compiles it.
 * The code section's bodies are left to V8 and read only when asked for, or when V8 rejects
 * the binary: structural damage is then named first, in WAMR's words, as if every section had
 * been read before compiling.
 *
 * Every failure, ours or V8's, comes out as a {@linkcode LoadError}.
 *
 * @module
 */

import { type ModuleInfo, readModule, readValidModule } from "./binary.ts";
import { LoadError } from "../../sdk/errors.ts";

/** A read and compiled app module. */
export interface AppModule {
  /** What the reader learned from the binary. */
  readonly info: ModuleInfo;
  /** The compiled module, ready to instantiate. */
  readonly module: WebAssembly.Module;
  /** The binary it was compiled from. */
  readonly bytes: Uint8Array;
  /** The app's name: the one given, else the name section's module name, else `"module"`. */
  readonly name: string;
}

/**
 * Turns V8's `CompileError` (or an out-of-memory `RangeError`) into a `LoadError`. A function
 * that fails validation is named in our words: `function #3 "foo" is invalid: <V8's reason>`,
 * with its index in the function index space (imports first), its name when the module's
 * name section has one, and the byte offset of the fault.
 *
 * @param error what compiling threw
 * @param info what the reader learned, for function names
 * @returns the load error, or `error` itself when it is something else
 */
export function toLoadError(error: unknown, info?: ModuleInfo): unknown {
  if (!(error instanceof WebAssembly.CompileError || error instanceof RangeError)) return error;
  // V8 writes "WebAssembly.compile(): <reason> @+<offset>".
  let message = error.message.replace(/^WebAssembly\.\w+\(\): /, "");
  const at = /\s*@\+(\d+)$/.exec(message);
  if (at !== null) message = message.slice(0, at.index);
  const func = /^Compiling function #(\d+)(?::"((?:[^"\\]|\\.)*)")? failed: /.exec(message);
  if (func !== null) {
    const index = Number(func[1]);
    const name = info?.names.functions.get(index) ?? func[2];
    const named = name === undefined ? "" : ` "${name}"`;
    message = `function #${index}${named} is invalid: ${message.slice(func[0].length)}`;
  }
  return at === null ? new LoadError(message) : new LoadError(message, Number(at[1]));
}

function _appModule(
  info: ModuleInfo,
  module: WebAssembly.Module,
  bytes: Uint8Array,
  name: string | undefined,
): AppModule {
  return { info, module, bytes, name: name ?? info.names.module ?? "module" };
}

/**
 * Reads then compiles a WebAssembly binary.
 *
 * @param bytes the binary
 * @param name the app's name; defaults to the name section's module name, else `"module"`
 * @returns the read and compiled module
 * @throws {LoadError} when the binary is malformed (our reader) or invalid (V8); V8's reason
 *   loses its `WebAssembly.compile(): ` prefix and its `@+N` suffix becomes the offset
 *
 * @example Compile an empty module
 * ```ts
 * import { compileModule } from "./module.ts";
 * import assert from "node:assert/strict";
 *
 * const app = await compileModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), "empty");
 * assert.equal(app.name, "empty");
 * ```
 */
export async function compileModule(bytes: Uint8Array, name?: string): Promise<AppModule> {
  const info = readValidModule(bytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    // Our reader's verdict on the sections it left to V8 comes first, in WAMR's words.
    throw toLoadError(error, readModule(bytes));
  }
  return _appModule(info, module, bytes, name);
}

/**
 * Reads then compiles a WebAssembly binary synchronously, with `new WebAssembly.Module`.
 *
 * @param bytes the binary
 * @param name the app's name; defaults to the name section's module name, else `"module"`
 * @returns the read and compiled module
 * @throws {LoadError} when the binary is malformed or invalid, as {@linkcode compileModule}
 */
export function compileModuleSync(bytes: Uint8Array, name?: string): AppModule {
  const info = readValidModule(bytes);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw toLoadError(error, readModule(bytes));
  }
  return _appModule(info, module, bytes, name);
}
