/**
 * v128 values across the JS boundary. V8 refuses v128 in any function JS calls or that calls
 * JS, so a function whose type has one is bridged by a small adapter module: each v128 travels
 * as two i64 halves (low lane first) and is rebuilt on the other side. JS sees a v128 as a
 * 16-byte `Uint8Array` (little-endian, as in linear memory).
 *
 * Adapters are compiled once per type and direction; each bridged function costs one tiny
 * instance. Functions without v128 never come here.
 *
 * @module
 */

import { formatFuncType, type FuncType } from "../module/binary.ts";
import { VALTYPE_BYTES } from "../../sdk/wasm_types.ts";

/** Whether a function type needs an adapter to be called from or to call JS. */
export function hasV128(type: FuncType): boolean {
  return type.params.includes("v128") || type.results.includes("v128");
}

/** The type with each v128 replaced by two i64 halves. */
export function loweredType(type: FuncType): FuncType {
  const lower = (types: string[]) => types.flatMap((t) => t === "v128" ? ["i64", "i64"] : [t]);
  return { params: lower(type.params), results: lower(type.results) };
}

/**
 * The two i64 halves of a v128 given as 16 bytes.
 *
 * @param value a 16-byte `Uint8Array`
 * @returns the low and high halves
 * @throws {TypeError} when the value is not 16 bytes
 */
export function v128ToHalves(value: unknown): [bigint, bigint] {
  if (!(value instanceof Uint8Array) || value.length !== 16) {
    throw new TypeError(`A v128 value must be a 16-byte Uint8Array, got ${_describe(value)}`);
  }
  const view = new DataView(value.buffer, value.byteOffset, 16);
  return [view.getBigInt64(0, true), view.getBigInt64(8, true)];
}

/**
 * The 16 bytes of a v128 given as two i64 halves.
 *
 * @param lo the low half (lanes 0..7 as bytes)
 * @param hi the high half
 * @returns a fresh 16-byte array
 */
export function v128FromHalves(lo: bigint, hi: bigint): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, lo, true);
  view.setBigInt64(8, hi, true);
  return bytes;
}

/**
 * Arguments for a lowered function: each v128 argument split into its halves.
 *
 * @param type the real type
 * @param args the arguments, v128 ones as 16-byte arrays
 * @returns the arguments for the lowered type
 */
export function lowerArgs(type: FuncType, args: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  type.params.forEach((t, i) => {
    if (t === "v128") out.push(...v128ToHalves(args[i]));
    else out.push(args[i]);
  });
  return out;
}

/**
 * The results of a lowered call as the real type's: halves rebuilt into 16-byte arrays; one
 * value, or an array for several.
 *
 * @param type the real type
 * @param lowered what the lowered function returned
 * @returns the result(s)
 */
export function liftResults(type: FuncType, lowered: unknown): unknown {
  const flat = loweredType(type).results.length > 1 ? lowered as unknown[] : [lowered];
  const out: unknown[] = [];
  let at = 0;
  for (const t of type.results) {
    if (t === "v128") {
      out.push(v128FromHalves(flat[at] as bigint, flat[at + 1] as bigint));
      at += 2;
    } else {
      out.push(flat[at++]);
    }
  }
  return type.results.length === 1 ? out[0] : out.length === 0 ? undefined : out;
}

/**
 * What a host function of type `type` is called with, from the halves an adapter passes.
 *
 * @param type the real type
 * @param halves the lowered arguments
 * @returns the arguments, v128 ones as 16-byte arrays
 */
export function liftArgs(type: FuncType, halves: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  for (const t of type.params) {
    if (t === "v128") {
      out.push(v128FromHalves(halves[at] as bigint, halves[at + 1] as bigint));
      at += 2;
    } else {
      out.push(halves[at++]);
    }
  }
  return out;
}

/**
 * What an adapter gets back from a host function of type `type`: v128 results split into
 * halves; one value, or an array for several.
 *
 * @param type the real type
 * @param result what the host function returned (an array for several results)
 * @returns the lowered result(s)
 */
export function lowerResults(type: FuncType, result: unknown): unknown {
  const values = type.results.length === 1 ? [result] : [...result as Iterable<unknown>];
  const out: unknown[] = [];
  type.results.forEach((t, i) => {
    if (t === "v128") out.push(...v128ToHalves(values[i]));
    else out.push(values[i]);
  });
  return out.length === 1 ? out[0] : out;
}

/**
 * A wasm function of type `type` that calls `lowered` (a JS function of the lowered type):
 * what an import with v128 parameters or results is given.
 *
 * @param type the import's type
 * @param lowered the JS function taking and returning halves
 * @returns a wasm function with exactly the import's type
 */
export function liftFunction(
  type: FuncType,
  lowered: (...args: never[]) => unknown,
): (...args: never[]) => unknown {
  return _bridge("lift", type, lowered);
}

/**
 * A function of the lowered type that calls `fn` (a wasm function of type `type`): what JS
 * calls instead of an export with v128 parameters or results.
 *
 * @param type the export's type
 * @param fn the exported wasm function
 * @returns a wasm function JS can call with halves
 */
export function lowerFunction(
  type: FuncType,
  fn: (...args: never[]) => unknown,
): (...args: never[]) => unknown {
  return _bridge("lower", type, fn);
}

/**
 * An immutable v128 global holding these 16 bytes: JS cannot create one
 * (`new WebAssembly.Global({ value: "v128" })` throws), so a one-global module does.
 *
 * @param value a 16-byte `Uint8Array`
 * @returns the global, for an import of an immutable v128 global
 * @throws {TypeError} when the value is not 16 bytes
 */
export function v128Global(value: unknown): WebAssembly.Global {
  v128ToHalves(value);
  const init = [_SIMD, 0x0c, ...(value as Uint8Array), 0x0b]; // v128.const, end
  const bytes = new Uint8Array([
    ..._HEADER,
    ..._section(6, [1, VALTYPE_BYTES.v128!, 0, ...init]),
    ..._section(7, [1, 1, 0x67, 0x03, 0]), // export "g" global 0
  ]);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return instance.exports.g as WebAssembly.Global;
}

type _Direction = "lift" | "lower";

const _adapters = new Map<string, WebAssembly.Module>();

function _bridge(
  direction: _Direction,
  type: FuncType,
  target: (...args: never[]) => unknown,
): (...args: never[]) => unknown {
  const key = `${direction} ${formatFuncType(type)}`;
  let module = _adapters.get(key);
  if (module === undefined) {
    module = new WebAssembly.Module(_adapterBytes(direction, type) as Uint8Array<ArrayBuffer>);
    _adapters.set(key, module);
  }
  const instance = new WebAssembly.Instance(module, { h: { f: target } });
  return instance.exports.f as (...args: never[]) => unknown;
}

function _u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function _valType(t: string): number {
  const byte = VALTYPE_BYTES[t];
  if (byte === undefined) throw new TypeError(`Cannot pass a value of type ${t} through JS`);
  return byte;
}

function _funcType(type: FuncType): number[] {
  return [
    0x60,
    ..._u32(type.params.length),
    ...type.params.map(_valType),
    ..._u32(type.results.length),
    ...type.results.map(_valType),
  ];
}

function _section(id: number, body: number[]): number[] {
  return [id, ..._u32(body.length), ...body];
}

const _HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const _SIMD = 0xfd;
const _I64X2_SPLAT = [_SIMD, 0x12];
const _I64X2_EXTRACT_LANE = [_SIMD, 0x1d];
const _I64X2_REPLACE_LANE = [_SIMD, 0x1e];
const _LOCAL_GET = 0x20;
const _LOCAL_SET = 0x21;

/**
 * The adapter: imports `h.f` (the inner function) and exports `f` (the outer one). `lift`:
 * inner lowered, outer real; `lower`: inner real, outer lowered.
 */
function _adapterBytes(direction: _Direction, type: FuncType): Uint8Array {
  const lowered = loweredType(type);
  const [inner, outer] = direction === "lift" ? [lowered, type] : [type, lowered];
  const code: number[] = [];
  // Arguments: outer parameters onto the stack in the inner function's form.
  if (direction === "lift") {
    type.params.forEach((t, i) => {
      if (t === "v128") {
        code.push(_LOCAL_GET, ..._u32(i), ..._I64X2_EXTRACT_LANE, 0);
        code.push(_LOCAL_GET, ..._u32(i), ..._I64X2_EXTRACT_LANE, 1);
      } else {
        code.push(_LOCAL_GET, ..._u32(i));
      }
    });
  } else {
    let at = 0;
    for (const t of type.params) {
      if (t === "v128") {
        code.push(_LOCAL_GET, ..._u32(at), ..._I64X2_SPLAT);
        code.push(_LOCAL_GET, ..._u32(at + 1), ..._I64X2_REPLACE_LANE, 1);
        at += 2;
      } else {
        code.push(_LOCAL_GET, ..._u32(at++));
      }
    }
  }
  code.push(0x10, 0); // call the import
  // Results: the inner results into temporaries (last first), then out in the outer form.
  const temps = inner.results;
  const first = outer.params.length;
  for (let k = temps.length - 1; k >= 0; k--) code.push(_LOCAL_SET, ..._u32(first + k));
  if (direction === "lift") {
    let at = 0;
    for (const t of type.results) {
      if (t === "v128") {
        code.push(_LOCAL_GET, ..._u32(first + at), ..._I64X2_SPLAT);
        code.push(_LOCAL_GET, ..._u32(first + at + 1), ..._I64X2_REPLACE_LANE, 1);
        at += 2;
      } else {
        code.push(_LOCAL_GET, ..._u32(first + at++));
      }
    }
  } else {
    type.results.forEach((t, k) => {
      if (t === "v128") {
        code.push(_LOCAL_GET, ..._u32(first + k), ..._I64X2_EXTRACT_LANE, 0);
        code.push(_LOCAL_GET, ..._u32(first + k), ..._I64X2_EXTRACT_LANE, 1);
      } else {
        code.push(_LOCAL_GET, ..._u32(first + k));
      }
    });
  }
  code.push(0x0b);
  const locals = [..._u32(temps.length), ...temps.flatMap((t) => [1, _valType(t)])];
  const body = [...locals, ...code];
  const name = (s: string) => [..._u32(s.length), ...new TextEncoder().encode(s)];
  return new Uint8Array([
    ..._HEADER,
    ..._section(1, [2, ..._funcType(inner), ..._funcType(outer)]),
    ..._section(2, [1, ...name("h"), ...name("f"), 0x00, 0]),
    ..._section(3, [1, 1]),
    ..._section(7, [1, ...name("f"), 0x00, 1]),
    ..._section(10, [1, ..._u32(body.length), ...body]),
  ]);
}

function _describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return value === null ? "null" : typeof value;
}
