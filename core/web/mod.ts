/**
 * The browser build's entry point: the portable runtime, app framework, wire formats and
 * built-in plugins, with no Deno API on their path. `deno task bundle` bundles this module
 * into one ES module (`examples/web/dist/micro-runtime.js`) that runs in a web page and in
 * Node.js ≥ 20; standard streams and files come from `sdk/platform_web.ts` there (see
 * {@linkcode platform}), and pages pass their own output sinks, display screens and files.
 *
 * WASI apps run over an in-memory file system ({@linkcode MemoryFs}): `createWasiLibrary`
 * here defaults to an empty one, and {@linkcode runApp} gives a WASI app its command line.
 *
 * What it leaves out is what needs a host: the CLI, the TCP/TLS host link server, durable
 * installs on disk and MQTT; `HostClient.connect` (TCP) says so, and a page reaches a
 * runtime with `new HostClient(webSocketTransport(socket))` (`serve --ws PORT`).
 *
 * @example Run hello through libc, with its output in a string
 * ```ts
 * import assert from "node:assert/strict";
 * import { libc, Runtime } from "./mod.ts";
 * let out = "";
 * const runtime = new Runtime({
 *   plugins: [libc],
 *   stdout: (bytes) => out += new TextDecoder().decode(bytes),
 * });
 * const bytes = await Deno.readFile(new URL("../../examples/hello/hello.wasm", import.meta.url));
 * const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 16 * 1024 });
 * assert.equal(app.callMain(["hello.wasm"]), 0);
 * app.free();
 * assert.match(out, /^Hello world!\n/);
 * ```
 *
 * @module
 */

// The runtime.
export {
  type ModuleSource,
  readSource,
  Runtime,
  type RuntimeOptions,
} from "../instance/runtime.ts";
export {
  AppInstance,
  DEFAULT_HEAP_SIZE,
  type InstanceHost,
  type InstanceOptions,
  type WasmValue,
} from "../instance/instance.ts";
export type { AppModule } from "../module/module.ts";
export {
  type AppLimits,
  AUX_STACK_OVERFLOW,
  DEADLINE_EXCEEDED,
  FUEL_EXHAUSTED,
  STACK_OVERFLOW,
} from "../instance/limits.ts";
export { NativeRegistry, type ResolvedNative } from "../link/registry.ts";
export { formatFuncType, type ModuleInfo, readModule } from "../module/binary.ts";
export { callWithTextArgs, formatResults } from "../instance/text_call.ts";
export { runApp, type RunOptions } from "./run.ts";

// The app framework.
export {
  AppManager,
  AppManagerError,
  type AppManagerEventMap,
  type AppManagerOptions,
  type AppStatus,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_APPS,
  type HostMessage,
  type HostRequest,
  type HostRequestOptions,
  InstalledApp,
  type InstallOptions,
} from "../framework/app_manager.ts";
export { fastSchedule } from "../framework/schedule.ts";
export { type LogLevel, MessageBus, type MessageBusOptions } from "../framework/bus.ts";
export { AppTimers, TIMER_ID_INVALID, type TimerInfo } from "../framework/timers.ts";

// The plugin contract, errors, output, clocks and the platform.
export {
  type AppHandle,
  defineConfigurableLibrary,
  defineNativeLibrary,
  native,
  nativeAsync,
  type NativeContext,
  type NativeLibrary,
  type PluginOptionValue,
} from "../../sdk/native.ts";
export { parseSignature } from "../../sdk/signature.ts";
export { AppMemory, AppPtr, decodeUtf8, encodeUtf8 } from "../../sdk/memory.ts";
export {
  AppExit,
  LinkError,
  LoadError,
  OUT_OF_BOUNDS,
  ProtocolError,
  TrapError,
} from "../../sdk/errors.ts";
export { AppOutput, coalescingSink, type OutputSink } from "../../sdk/output.ts";
export { type Clock, ManualClock, realClock, type TimerHandle } from "../../sdk/clock.ts";
export {
  type Platform,
  platform,
  type PlatformConnectOptions,
  type PlatformInput,
  type PlatformOutput,
  setPlatform,
} from "../../sdk/platform.ts";

// The wire: packets, attr_container payloads, host-link frames (for a WebSocket link).
export {
  Action,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  ID_APP_MGR,
  ID_HOST,
  type Request,
  type Response,
  Status,
} from "../../sdk/packet.ts";
export {
  AttrContainer,
  decode as decodeAttrContainer,
  encode as encodeAttrContainer,
  formatHostToolJSON,
  fromJSON as attrContainerFromJSON,
  toJSON as attrContainerToJSON,
} from "../../sdk/attr_container.ts";
export {
  DEFAULT_MAX_PAYLOAD,
  encodeFrame,
  type Frame,
  type FrameEvent,
  FrameParser,
  HostMessageType,
} from "../../sdk/host_link.ts";

// The host link's client, over a WebSocket to \`serve --ws\` (pages open no TCP connections).
export {
  HostAuthError,
  HostClient,
  type HostClientOptions,
  type HostEvent,
  type HostInstallOptions,
  type HostResponse,
  type HostTransport,
} from "../../sdk/host_client.ts";
export {
  type WebSocketTransport,
  webSocketTransport,
  type WebSocketTransportOptions,
} from "../../sdk/ws_transport.ts";

// The built-in plugins.
export { default as libc } from "../../natives/libc/mod.ts";
export { default as base } from "../../natives/base/mod.ts";
export {
  createSensorLibrary,
  csvSensor,
  default as sensor,
  type SensorDriver,
  type SensorListener,
  type SensorSample,
  sineSensor,
  testSensor,
  watchSensor,
} from "../../natives/sensor/mod.ts";
export {
  createDisplayLibrary,
  default as display,
  type DisplayLibrary,
  type DisplayOptions,
  type DisplayState,
  encodePng,
  Framebuffer,
  getFramebuffer,
  parseInputScript,
  type PointerAction,
  PointerInput,
  type ScreenSink,
  ScreenView,
  toRgba,
} from "../../natives/display/mod.ts";
export {
  createWasiLibrary,
  WASI_MODULE,
  type WasiLibrary,
  type WasiOptions,
} from "../../natives/wasi/library.ts";
export { MemoryFs } from "../../natives/wasi/memory_fs.ts";
export { WasiExit } from "../../natives/wasi/exit.ts";
export type { WasiFs } from "../../natives/wasi/fs.ts";

// Types the exports above mention, for typed pages (`deno check`, editors).
export type { AppFramework, AppMessage } from "../../sdk/framework.ts";
export type { AppHeap } from "../../sdk/heap.ts";
export type { AppKeeper, AppMonitor } from "../framework/app_manager.ts";
export type {
  AsyncNativeImpl,
  NativeFactory,
  NativeImpl,
  NativeLibraryDefinition,
  NativeSymbol,
  NativeSymbolOptions,
  NativeSymbols,
  PluginOptions,
} from "../../sdk/native.ts";
export type {
  AttrEra,
  AttrJSONValue,
  AttrValue,
  EncodeOptions,
  EraOptions,
} from "../../sdk/attr_container.ts";
export type { BusEndpoint, ResourceEntry, ResourceHandler } from "../framework/bus.ts";
export type { CoalescingSink } from "../../sdk/output.ts";
export type {
  CodeBody,
  DataSegment,
  DylinkInfo,
  Export,
  GlobalType,
  Import,
  ImportDesc,
  Limits,
  SectionInfo,
  TableType,
  TypeKind,
} from "../module/binary.ts";
export type {
  ExportArgTuple,
  ExportArgType,
  ExportFunction,
  ExportParams,
  ExportResult,
} from "../instance/instance.ts";
export type {
  Definition,
  ExternType,
  ExternValue,
  LinkableInstance,
  Linker,
  UnknownImports,
  WasmTag,
} from "../link/linker.ts";
export type { FuncType, ValType } from "../../sdk/wasm_types.ts";
export type { ConnTransport, OversizeFrame, StreamTransport } from "../../sdk/host_link.ts";
export type { PixelSource, PngOptions } from "../../natives/display/png.ts";
export type { PointerReading } from "../../natives/display/input.ts";
export type { Rect } from "../../natives/display/framebuffer.ts";
export type {
  NativeRegions,
  SigChar,
  Signature,
  SignatureLetters,
  SignatureParams,
  SignatureParamTuple,
  SignatureParamType,
  SignatureResult,
  SignatureValueTuple,
  SignatureValueType,
  WasmFuncRef,
} from "../../sdk/signature.ts";
export type { TerminalSink } from "../../natives/display/terminal.ts";
export type { WasiClock } from "../../natives/wasi/clock.ts";
export type { WasiConfigureOptions } from "../../natives/wasi/library.ts";
export type {
  WasiDirEntry,
  WasiFile,
  WasiOpenOptions,
  WasiStat,
  WasiTimes,
} from "../../natives/wasi/fs.ts";
export type { WasiPreopen, WasiSettings } from "../../natives/wasi/state.ts";
export type { FdEntry, WasiReader, WasiWriter } from "../../natives/wasi/fd_table.ts";
export { TerminalView } from "../../natives/display/terminal.ts";
export { WasiState } from "../../natives/wasi/state.ts";
export type { ActionName, ClientRequestOptions, HostEventListener } from "../../sdk/host_client.ts";
export { Filetype, type FiletypeValue } from "../../natives/wasi/constants.ts";
export { FdTable } from "../../natives/wasi/fd_table.ts";
