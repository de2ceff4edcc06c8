/**
 * The plugin SDK: everything a vendor needs to write a native library for micro-runtime,
 * and nothing from the runtime's internals. The built-in plugins in `natives/` use only this.
 *
 * @example A vendor library in a few lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineNativeLibrary } from "./mod.ts";
 * const demo = defineNativeLibrary({
 *   name: "demo",
 *   symbols: (native) => ({
 *     test_add: native("(ii)i", (_ctx, a, b) => a + b),
 *     test_hello: native("($*~)i", (_ctx, name, buf) => {
 *       const msg = new TextEncoder().encode(`Hello ${name}!\0`);
 *       if (buf.length >= msg.length) buf.set(msg);
 *       return msg.length;
 *     }),
 *   }),
 * });
 * assert.deepEqual(Object.keys(demo.symbols), ["test_add", "test_hello"]);
 * assert.equal(demo.module, "env"); // what the app's imports name
 * export default demo;
 * ```
 *
 * @module
 */

export {
  type AppHandle,
  type AsyncNativeImpl,
  defineConfigurableLibrary,
  defineNativeLibrary,
  isNativeLibrary,
  native,
  nativeAsync,
  type NativeContext,
  type NativeFactory,
  type NativeImpl,
  type NativeLibrary,
  type NativeLibraryDefinition,
  type NativeSymbol,
  type NativeSymbolOptions,
  type NativeSymbols,
  overload,
  type PluginOptions,
} from "./native.ts";
export {
  type NativeRegions,
  parseSignature,
  type SigChar,
  type Signature,
  type SignatureLetters,
  type SignatureParams,
  type SignatureParamTuple,
  type SignatureParamType,
  type SignatureResult,
  type SignatureValueTuple,
  type SignatureValueType,
  type WasmFuncRef,
} from "./signature.ts";
export { AppMemory, AppPtr, decodeUtf8, encodeUtf8 } from "./memory.ts";
export { type AppHeap, HEAP_CORRUPTED } from "./heap.ts";
export { AppOutput } from "./output.ts";
export {
  type Platform,
  platform,
  type PlatformConnectOptions,
  type PlatformInput,
  type PlatformOutput,
  setPlatform,
} from "./platform.ts";
export {
  AppExit,
  LinkError,
  LoadError,
  OUT_OF_BOUNDS,
  ProtocolError,
  TrapError,
} from "./errors.ts";
export {
  type BinaryFloat,
  type CFormatFlags,
  decodeBinary128,
  decodeFloat64,
  type FloatConversion,
  formatFloat,
  formatFloatParts,
  formatG7,
  formatInt,
  formatIntParts,
  type IntConversion,
  type NumberParts,
  padNumber,
} from "./c_format.ts";

export type { PluginOptionValue } from "./native.ts";
export * from "./framework.ts";
export {
  ATTR_TYPE,
  AttrContainer,
  type AttrEra,
  type AttrJSONValue,
  type AttrType,
  type AttrValue,
  decode as decodeAttrContainer,
  dump as dumpAttrContainer,
  encode as encodeAttrContainer,
  encodeLikeWamr,
  type EncodeOptions,
  type EraOptions,
  formatHostToolJSON,
  fromJSON as attrContainerFromJSON,
  SEED_ATTR_TYPE,
  toJSON as attrContainerToJSON,
  type WamrEncodeOptions,
} from "./attr_container.ts";
export type { AppFramework, AppMessage, Clock, TimerHandle } from "./framework.ts";
export {
  type ActionName,
  type ClientRequestOptions,
  eventKey,
  HostAuthError,
  HostClient,
  type HostClientOptions,
  type HostConnectOptions,
  type HostEvent,
  type HostEventListener,
  type HostInstallOptions,
  type HostResponse,
  type HostTransport,
  installUrl,
  subscribeUrl,
} from "./host_client.ts";
export type { ConnTransport, StreamTransport } from "./host_link.ts";
