/**
 * micro-runtime: run small, untrusted WebAssembly apps beside your own code, give them
 * vendor APIs through declarative native libraries, and manage them at run time — the
 * WebAssembly Micro Runtime (WAMR) app platform, Deno-first.
 *
 * As a command: `deno run --allow-read mod.ts [options] app.wasm [args...]` (see `--help`).
 *
 * @example Embed the runtime with the libc natives and a vendor library
 * ```ts
 * import { defineNativeLibrary, libc, Runtime } from "./mod.ts";
 *
 * const vendor = defineNativeLibrary({
 *   name: "vendor",
 *   symbols: (native) => ({
 *     test_add: native("(ii)i", (_ctx, a, b) => a + b),
 *   }),
 * });
 * const runtime = new Runtime({ plugins: [libc, vendor] });
 * const module = await runtime.load(new URL("./examples/hello/hello.wasm", import.meta.url));
 * const app = await runtime.instantiate(module, { heapSize: 16 * 1024 });
 * app.callMain(["hello.wasm"]);
 * app.free();
 * ```
 *
 * @module
 */

export { type ModuleSource, readSource, Runtime, type RuntimeOptions } from "./core/runtime.ts";
export {
  AppInstance,
  DEFAULT_HEAP_SIZE,
  type InstanceOptions,
  type WasmValue,
} from "./core/instance.ts";
export type { AppModule } from "./core/module.ts";
export { NativeRegistry, type ResolvedNative } from "./core/registry.ts";
export type { FuncType, ModuleInfo } from "./core/binary.ts";
export { formatResults, loadPlugin, runCli, USAGE, VERSION } from "./core/cli.ts";
export * from "./sdk/mod.ts";
export { default as libc } from "./natives/libc/mod.ts";
export { default as base } from "./natives/base/mod.ts";
export {
  AppManager,
  AppManagerError,
  type AppManagerEventMap,
  type AppManagerOptions,
  DEFAULT_MAX_APPS,
  DEFAULT_QUEUE_LENGTH,
  type HostMessage,
  type HostRequest,
  type HostRequestOptions,
  InstalledApp,
  type InstallOptions,
} from "./core/app_manager.ts";
export {
  type BusEndpoint,
  errorPayload,
  type LogLevel,
  MessageBus,
  type MessageBusOptions,
  type ResourceEntry,
  type ResourceHandler,
} from "./core/bus.ts";
export { type Clock, ManualClock, realClock, type TimerHandle } from "./core/clock.ts";
export {
  AppTimers,
  DEFAULT_TIMERS_PER_APP,
  MAX_TIMERS_PER_APP,
  TIMER_ID_INVALID,
  type TimerInfo,
} from "./core/timers.ts";
export { APPS_USAGE, type AppsCommandOptions, runAppsCommand } from "./core/apps_command.ts";
export type { OutputSink } from "./core/output.ts";

import libc from "./natives/libc/mod.ts";

if (import.meta.main) {
  const { runCli } = await import("./core/cli.ts");
  Deno.exit(await runCli(Deno.args, { builtins: { libc } }));
}
