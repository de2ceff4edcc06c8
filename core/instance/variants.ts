/**
 * Instrumented variants of a module: the rewriter's output compiled once per set of options
 * and cached on the module.
 *
 * @module
 */

import { type AppModule, toLoadError } from "../module/module.ts";
import type { ModuleInfo } from "../module/binary.ts";
import { instrumentModule, type InstrumentOptions } from "./instrument.ts";

export { Governor } from "./governor.ts";

/** Compiled variants of each module, by the instrumentation they carry. */
// Keyed by the module's description: copies of one loaded module (apps installed from the same
// bytes under their own names) share its variants.
const _variants = new WeakMap<ModuleInfo, Map<string, WebAssembly.Module>>();

function _variantKey(options: InstrumentOptions): string {
  return [options.meter, options.stackLimit, options.shadowStack, options.maxMemoryPages].join();
}

function _cached(module: AppModule, key: string, compiled: WebAssembly.Module): AppModule {
  let variants = _variants.get(module.info);
  if (!variants) _variants.set(module.info, variants = new Map());
  variants.set(key, compiled);
  return { ...module, module: compiled };
}

/**
 * The module rewritten with execution limits compiled in (see `instrument.ts`), compiled once
 * per set of options and cached. `info` and `bytes` stay those of the original, so linking
 * and messages see the app as it was written.
 *
 * @param module a loaded module
 * @param options what to compile in
 * @returns the instrumented module
 * @throws {LoadError} when the binary cannot be instrumented
 */
export async function compileInstrumented(
  module: AppModule,
  options: InstrumentOptions,
): Promise<AppModule> {
  const key = _variantKey(options);
  const known = _variants.get(module.info)?.get(key);
  if (known) return { ...module, module: known };
  const bytes = instrumentModule(module.bytes, module.info, options);
  try {
    return _cached(module, key, await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
  } catch (error) {
    throw toLoadError(error);
  }
}

/**
 * Synchronous {@linkcode compileInstrumented}.
 *
 * @param module a loaded module
 * @param options what to compile in
 * @returns the instrumented module
 * @throws {LoadError} when the binary cannot be instrumented
 */
export function compileInstrumentedSync(
  module: AppModule,
  options: InstrumentOptions,
): AppModule {
  const key = _variantKey(options);
  const known = _variants.get(module.info)?.get(key);
  if (known) return { ...module, module: known };
  const bytes = instrumentModule(module.bytes, module.info, options);
  try {
    return _cached(module, key, new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
  } catch (error) {
    throw toLoadError(error);
  }
}
