/**
 * micro-runtime: run small, untrusted WebAssembly apps beside your own code, give them
 * vendor APIs through declarative native libraries, and manage them at run time -- the
 * WebAssembly Micro Runtime (WAMR) app platform, Deno-first.
 *
 * What it exports, by reader:
 * - embedders: {@linkcode Runtime}, {@linkcode AppInstance}, {@linkcode AppModule}, the
 *   {@linkcode Linker} for imports the host or another instance supplies, the error classes,
 *   {@linkcode AppLimits} and the messages of the traps they cause, and the module reader
 *   ({@linkcode readModule});
 * - plugin vendors: the native-library SDK (also `./sdk` on its own: the plugin contract,
 *   memory views, packets, attr_container) and the built-in {@linkcode libc} and
 *   {@linkcode base} (`./sensor`, `./connection` and `./display` are separate entry points);
 * - apps together: {@linkcode AppManager} with its options and events, the
 *   {@linkcode MessageBus}, timers and clocks ({@linkcode ManualClock} for tests);
 * - the host link: {@linkcode HostClient} for host tools; {@linkcode HostServer},
 *   {@linkcode HostService} and {@linkcode AppStore} to serve an app manager.
 *
 * As a command: `deno run --allow-read mod.ts [options] app.wasm [args...]` (see `--help`);
 * the command's own pieces are not exported.
 *
 * @example Embed the runtime with the libc natives and a vendor library
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineNativeLibrary, libc, Runtime } from "./mod.ts";
 *
 * const vendor = defineNativeLibrary({
 *   name: "vendor",
 *   symbols: (native) => ({
 *     test_add: native("(ii)i", (_ctx, a, b) => a + b),
 *   }),
 * });
 * let out = "";
 * const stdout = (bytes: Uint8Array) => out += new TextDecoder().decode(bytes);
 * const runtime = new Runtime({ plugins: [libc, vendor], stdout });
 * const module = await runtime.load(new URL("./examples/hello/hello.wasm", import.meta.url));
 * const app = await runtime.instantiate(module, { heapSize: 16 * 1024 });
 * assert.equal(app.callMain(["hello.wasm"]), 0); // main's return value
 * app.free();
 * assert.match(out, /^Hello world!\n/);
 * assert.match(out, /argc=1 argv0=hello.wasm\n$/);
 * ```
 *
 * @module
 */

export {
  type ModuleSource,
  readSource,
  Runtime,
  type RuntimeOptions,
} from "./core/instance/runtime.ts";
export {
  AppInstance,
  DEFAULT_HEAP_SIZE,
  type ExportArgTuple,
  type ExportArgType,
  type ExportFunction,
  type ExportParams,
  type ExportResult,
  type InstanceHost,
  type InstanceOptions,
  type WasmValue,
} from "./core/instance/instance.ts";
export {
  type Definition,
  type ExternType,
  type ExternValue,
  type LinkableInstance,
  Linker,
  type UnknownImports,
  type WasmTag,
} from "./core/link/linker.ts";
export { UNCAUGHT_EXCEPTION } from "./core/instance/traps.ts";
export type { AppModule } from "./core/module/module.ts";
export {
  type AppLimits,
  AUX_STACK_OVERFLOW,
  DEADLINE_EXCEEDED,
  FUEL_EXHAUSTED,
  STACK_OVERFLOW,
} from "./core/instance/limits.ts";
export { NativeRegistry, type ResolvedNative } from "./core/link/registry.ts";
export {
  type CodeBody,
  type DataSegment,
  type DylinkInfo,
  type Export,
  exportedFunctionType,
  formatFuncType,
  functionType,
  type FuncType,
  type GlobalType,
  type Import,
  type ImportDesc,
  type Limits,
  type ModuleInfo,
  readModule,
  type SectionInfo,
  type TableType,
  type TypeKind,
  type ValType,
} from "./core/module/binary.ts";
export * from "./sdk/mod.ts";
export { default as libc } from "./natives/libc/mod.ts";
export { default as base } from "./natives/base/mod.ts";
export {
  type AppKeeper,
  AppManager,
  AppManagerError,
  type AppManagerEventMap,
  type AppManagerOptions,
  type AppMonitor,
  type AppStatus,
  DEADLINE_STRIKES,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_APPS,
  DEFAULT_MAX_MEMORY,
  DEFAULT_QUEUE_LENGTH,
  type HostMessage,
  type HostRequest,
  type HostRequestOptions,
  InstalledApp,
  type InstallOptions,
  START_FUNCTION,
} from "./core/framework/app_manager.ts";
export { fastSchedule } from "./core/framework/schedule.ts";
export {
  type BusEndpoint,
  type LogLevel,
  MessageBus,
  type MessageBusOptions,
  type ResourceEntry,
  type ResourceHandler,
} from "./core/framework/bus.ts";
export { type Clock, ManualClock, realClock, type TimerHandle } from "./sdk/clock.ts";
export {
  AppTimers,
  DEFAULT_TIMERS_PER_APP,
  MAX_TIMERS_PER_APP,
  TIMER_ID_INVALID,
  type TimerInfo,
} from "./core/framework/timers.ts";
export type { CoalescingSink, OutputSink } from "./sdk/output.ts";
export {
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  type HostListenOptions,
  type HostLogLevel,
  HostServer,
  type HostServerOptions,
  type HostServerTarget,
} from "./core/host_link/host_server.ts";
export { HostService, type HostServiceOptions } from "./core/cli/host_service.ts";
export { AppStore, type StoredApp } from "./core/host_link/app_store.ts";
// Types only: MQTT.js loads when a link starts (`HostService.start({ mqtt })`, `serve --mqtt`).
export type {
  MqttAppStatus,
  MqttDeviceStatus,
  MqttLink,
  MqttLinkOptions,
} from "./core/host_link/mqtt_link.ts";
// Type only: the WebSocket link loads when `serve --ws` asks for it.
export type { WebSocketEndpoint } from "./core/host_link/ws_link.ts";

import libc from "./natives/libc/mod.ts";
// Static, though not re-exported: a dynamic import would cost the command ~1 ms of start-up.
import { runCli } from "./core/cli/cli.ts";

if (import.meta.main) {
  Deno.exit(
    await runCli(Deno.args, {
      builtins: {
        libc,
        base: async () => (await import("./natives/base/mod.ts")).default,
        sensor: async () => (await import("./natives/sensor/mod.ts")).default,
        connection: async () => (await import("./natives/connection/mod.ts")).default,
        display: async () => (await import("./natives/display/mod.ts")).default,
        wasi: async () => (await import("./natives/wasi/mod.ts")).default,
      },
    }),
  );
}
