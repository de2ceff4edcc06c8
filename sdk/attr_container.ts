/**
 * The attr_container codec: WAMR's little-endian key/value container that apps, the app
 * manager and host_tool exchange as payload format 99.
 *
 * Build a container with {@linkcode AttrContainer}, turn it into bytes with
 * {@linkcode encode} (compact) or {@linkcode encodeLikeWamr} (the exact bytes a C app would
 * send), read bytes back with {@linkcode decode}, and print it the way WAMR's
 * `attr_container_dump` ({@linkcode dump}) and host_tool ({@linkcode formatHostToolJSON}) do.
 *
 * Type codes were renumbered in WAMR `4cd88a96d` (2023). The current (AF/HEAD) codes are the
 * default; pass `{ era: "seed" }` to read or write the 2019 codes.
 *
 * @module
 */

import { formatFloat } from "./c_format.ts";
import { ProtocolError } from "./errors.ts";

/** Which type-code table to use: `"af"` (app framework and HEAD, the default) or `"seed"` (2019). */
export type AttrEra = "af" | "seed";

/**
 * The attribute types. `int8`, `int16` and `int32` are the same wire types as `byte`, `short`
 * and `int`, so they are not separate names here.
 */
export type AttrType =
  | "byte"
  | "short"
  | "int"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float"
  | "double"
  | "bool"
  | "string"
  | "bytearray";

/** A typed attribute value, as returned by {@linkcode AttrContainer.get}. */
export type AttrValue =
  | { type: "byte" | "short" | "int" | "uint8" | "uint16" | "uint32"; value: number }
  | { type: "int64" | "uint64"; value: bigint }
  | { type: "float" | "double"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "bytearray"; value: Uint8Array };

/**
 * AF/HEAD type codes, by WAMR's `ATTR_TYPE_*` names.
 *
 * @example Look up a code
 * ```ts
 * import assert from "node:assert/strict";
 * import { ATTR_TYPE } from "./attr_container.ts";
 * assert.equal(ATTR_TYPE.STRING, 13);
 * ```
 */
export const ATTR_TYPE = {
  BYTE: 0,
  INT8: 0,
  SHORT: 1,
  INT16: 1,
  INT: 2,
  INT32: 2,
  INT64: 3,
  UINT8: 4,
  UINT16: 5,
  UINT32: 6,
  UINT64: 7,
  FLOAT: 10,
  DOUBLE: 11,
  BOOLEAN: 12,
  STRING: 13,
  BYTEARRAY: 14,
} as const;

/**
 * Seed-era (2019) type codes. There is no UINT8, UINT32 or UINT64 in this era.
 *
 * @example Look up a code
 * ```ts
 * import assert from "node:assert/strict";
 * import { SEED_ATTR_TYPE } from "./attr_container.ts";
 * assert.equal(SEED_ATTR_TYPE.BYTE, 4);
 * ```
 */
export const SEED_ATTR_TYPE = {
  SHORT: 1,
  INT: 2,
  INT64: 3,
  BYTE: 4,
  UINT16: 5,
  FLOAT: 6,
  DOUBLE: 7,
  BOOLEAN: 8,
  STRING: 9,
  BYTEARRAY: 10,
} as const;

/** The read-only bit of the flags word, set by `attr_container_serialize`. */
export const ATTR_CONT_READONLY = 4;

/** Options that pick the type-code table. */
export interface EraOptions {
  /** Type-code table. Default `"af"`. */
  era?: AttrEra;
}

/** Options for {@linkcode encode}. */
export interface EncodeOptions extends EraOptions {
  /**
   * Zero bytes appended after the last attribute (counted in total_length). Default 0, or 1
   * for a container without attributes: WAMR's reader refuses a container whose total_length
   * ends right after attr_num.
   */
  slack?: number;
  /** Set the read-only flag (value 4), as `attr_container_serialize` does. Default false. */
  readOnly?: boolean;
}

/** Options for {@linkcode encodeLikeWamr}. */
export interface WamrEncodeOptions extends EraOptions {
  /** Set the read-only flag (value 4), as `attr_container_serialize` does. Default false. */
  readOnly?: boolean;
}

const _NAME_TO_KEY: Record<AttrType, keyof typeof ATTR_TYPE> = {
  byte: "BYTE",
  short: "SHORT",
  int: "INT",
  int64: "INT64",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  float: "FLOAT",
  double: "DOUBLE",
  bool: "BOOLEAN",
  string: "STRING",
  bytearray: "BYTEARRAY",
};

const _FIXED_SIZE: Partial<Record<AttrType, number>> = {
  byte: 1,
  short: 2,
  int: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  float: 4,
  double: 8,
  bool: 1,
};

function _codeOf(type: AttrType, era: AttrEra): number {
  const name = _NAME_TO_KEY[type];
  if (era === "af") return ATTR_TYPE[name];
  const code = (SEED_ATTR_TYPE as Record<string, number>)[name];
  if (code === undefined) {
    throw new RangeError(`Type "${type}" has no code in the seed era`);
  }
  return code;
}

function _typeOf(code: number, era: AttrEra): AttrType | undefined {
  const table: Record<string, number> = era === "af" ? ATTR_TYPE : SEED_ATTR_TYPE;
  for (const [type, key] of Object.entries(_NAME_TO_KEY) as [AttrType, string][]) {
    if (table[key] === code) return type;
  }
  return undefined;
}

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

function _utf8(text: string): Uint8Array {
  return _encoder.encode(text);
}

function _checkCString(what: string, text: string, allowEmpty: boolean): Uint8Array {
  if (typeof text !== "string") throw new TypeError(`${what} must be a string`);
  if (!allowEmpty && text.length === 0) throw new TypeError(`${what} must not be empty`);
  if (text.includes("\0")) throw new TypeError(`${what} "${text}" contains a NUL character`);
  const bytes = _utf8(text);
  if (bytes.length + 1 > 0xffff) {
    throw new RangeError(`${what} is ${bytes.length} bytes; at most 65534 fit a u16 length`);
  }
  return bytes;
}

function _checkInt(type: AttrType, value: number, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Value ${String(value)} is out of range for ${type} (${min}..${max})`);
  }
  return value;
}

function _checkBig(type: AttrType, value: bigint | number, bits: number, signed: boolean): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`Value ${value} for ${type} is not a safe integer; pass a bigint`);
  }
  if (typeof value !== "number" && typeof value !== "bigint") {
    throw new TypeError(`Value for ${type} must be a bigint or a number`);
  }
  const big = BigInt(value);
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (big < min || big > max) {
    throw new RangeError(`Value ${big} is out of range for ${type} (${min}..${max})`);
  }
  return big;
}

/** Raw value bytes as WAMR stores them (strings with their NUL, no length prefix). */
function _valueBytes(v: AttrValue): Uint8Array {
  const size = _FIXED_SIZE[v.type];
  if (size !== undefined) {
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    switch (v.type) {
      case "byte":
      case "uint8":
        view.setUint8(0, v.value & 0xff);
        break;
      case "short":
      case "uint16":
        view.setUint16(0, v.value & 0xffff, true);
        break;
      case "int":
      case "uint32":
        view.setUint32(0, v.value >>> 0, true);
        break;
      case "int64":
      case "uint64":
        view.setBigUint64(0, BigInt.asUintN(64, v.value), true);
        break;
      case "float":
        view.setFloat32(0, v.value, true);
        break;
      case "double":
        view.setFloat64(0, v.value, true);
        break;
      case "bool":
        view.setUint8(0, v.value ? 1 : 0);
        break;
    }
    return out;
  }
  if (v.type === "string") {
    const text = _utf8(v.value);
    const out = new Uint8Array(text.length + 1);
    out.set(text);
    return out;
  }
  return (v as { value: Uint8Array }).value;
}

/** Bytes of one attribute: key_len, key, NUL, type, value (with its length prefix). */
function _attrBytes(key: string, v: AttrValue, era: AttrEra): Uint8Array {
  const keyBytes = _utf8(key);
  const raw = _valueBytes(v);
  const prefix = v.type === "string" ? 2 : v.type === "bytearray" ? 4 : 0;
  const out = new Uint8Array(2 + keyBytes.length + 1 + 1 + prefix + raw.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, keyBytes.length + 1, true);
  out.set(keyBytes, 2);
  let p = 2 + keyBytes.length + 1;
  out[p++] = _codeOf(v.type, era);
  if (prefix === 2) view.setUint16(p, raw.length, true);
  if (prefix === 4) view.setUint32(p, raw.length, true);
  out.set(raw, p + prefix);
  return out;
}

function _attrLength(key: string, v: AttrValue): number {
  const keyLen = _utf8(key).length + 1;
  const size = _FIXED_SIZE[v.type];
  if (size !== undefined) return 2 + keyLen + 1 + size;
  if (v.type === "string") return 2 + keyLen + 1 + 2 + _utf8(v.value).length + 1;
  return 2 + keyLen + 1 + 4 + (v as { value: Uint8Array }).value.length;
}

/** Every set on each container, in order; {@linkcode encodeLikeWamr} replays it. */
const _histories = new WeakMap<AttrContainer, [string, AttrValue][]>();

function _copyValue(v: AttrValue): AttrValue {
  return v.type === "bytearray" ? { type: "bytearray", value: v.value.slice() } : { ...v };
}

/**
 * An attribute container: a tag and an ordered list of typed attributes.
 *
 * Setting an existing key follows WAMR's `attr_container_set_attr`: when the new attribute
 * has the same encoded size it is replaced in place; otherwise WAMR moves the later
 * attributes up and appends the new one, so the key moves to the end. Keeping that order
 * makes {@linkcode encodeLikeWamr}, {@linkcode dump} and {@linkcode formatHostToolJSON} list
 * attributes in the order a C app would see them.
 *
 * @example Build the app manager's query reply
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer } from "./attr_container.ts";
 * const c = new AttrContainer("Applets Info").setInt("num", 0);
 * assert.deepEqual(c.get("num"), { type: "int", value: 0 });
 * assert.equal(c.size, 1);
 * ```
 */
export class AttrContainer {
  /** The tag (no NUL; empty when the C side passed NULL or ""). */
  readonly tag: string;
  #attrs = new Map<string, AttrValue>();

  /**
   * Creates an empty container, like `attr_container_create(tag)`.
   *
   * @param tag the container tag, default `""`
   */
  constructor(tag = "") {
    _checkCString("Tag", tag, true);
    this.tag = tag;
    _histories.set(this, []);
  }

  /**
   * Sets `key` to a typed value, checking the value against its type's range.
   *
   * @param key non-empty key without NUL
   * @param value the typed value
   * @returns this container, for chaining
   */
  set(key: string, value: AttrValue): this {
    _checkCString("Key", key, false);
    const v = _normalize(value);
    const old = this.#attrs.get(key);
    if (old === undefined && this.#attrs.size >= 0xffff) {
      throw new RangeError(`Cannot add key "${key}": attr_num is a u16 and already 65535`);
    }
    if (old !== undefined && _attrLength(key, old) !== _attrLength(key, v)) {
      this.#attrs.delete(key);
    }
    this.#attrs.set(key, v);
    _histories.get(this)!.push([key, v]);
    return this;
  }

  /**
   * Sets an 8-bit signed value (`attr_container_set_byte`).
   *
   * @param key the key
   * @param value -128..127
   * @returns this
   */
  setByte(key: string, value: number): this {
    return this.set(key, { type: "byte", value });
  }
  /**
   * Same as {@linkcode AttrContainer.setByte} (`_set_int8`).
   *
   * @param key the key
   * @param value -128..127
   * @returns this
   */
  setInt8(key: string, value: number): this {
    return this.set(key, { type: "byte", value });
  }
  /**
   * Sets an 8-bit unsigned value (AF only).
   *
   * @param key the key
   * @param value 0..255
   * @returns this
   */
  setUint8(key: string, value: number): this {
    return this.set(key, { type: "uint8", value });
  }
  /**
   * Sets a 16-bit signed value.
   *
   * @param key the key
   * @param value -32768..32767
   * @returns this
   */
  setShort(key: string, value: number): this {
    return this.set(key, { type: "short", value });
  }
  /**
   * Same as {@linkcode AttrContainer.setShort}.
   *
   * @param key the key
   * @param value -32768..32767
   * @returns this
   */
  setInt16(key: string, value: number): this {
    return this.set(key, { type: "short", value });
  }
  /**
   * Sets a 16-bit unsigned value.
   *
   * @param key the key
   * @param value 0..65535
   * @returns this
   */
  setUint16(key: string, value: number): this {
    return this.set(key, { type: "uint16", value });
  }
  /**
   * Sets a 32-bit signed value.
   *
   * @param key the key
   * @param value a signed 32-bit integer
   * @returns this
   */
  setInt(key: string, value: number): this {
    return this.set(key, { type: "int", value });
  }
  /**
   * Same as {@linkcode AttrContainer.setInt}.
   *
   * @param key the key
   * @param value a signed 32-bit integer
   * @returns this
   */
  setInt32(key: string, value: number): this {
    return this.set(key, { type: "int", value });
  }
  /**
   * Sets a 32-bit unsigned value (AF only).
   *
   * @param key the key
   * @param value 0..2^32-1
   * @returns this
   */
  setUint32(key: string, value: number): this {
    return this.set(key, { type: "uint32", value });
  }
  /**
   * Sets a 64-bit signed value.
   *
   * @param key the key
   * @param value bigint, or a safe-integer number
   * @returns this
   */
  setInt64(key: string, value: bigint | number): this {
    return this.set(key, { type: "int64", value: _checkBig("int64", value, 64, true) });
  }
  /**
   * Sets a 64-bit unsigned value (AF only).
   *
   * @param key the key
   * @param value bigint, or a safe-integer number
   * @returns this
   */
  setUint64(key: string, value: bigint | number): this {
    return this.set(key, { type: "uint64", value: _checkBig("uint64", value, 64, false) });
  }
  /**
   * Sets a 32-bit float; the value is rounded with `Math.fround`.
   *
   * @param key the key
   * @param value any number
   * @returns this
   */
  setFloat(key: string, value: number): this {
    return this.set(key, { type: "float", value });
  }
  /**
   * Sets a 64-bit float.
   *
   * @param key the key
   * @param value any number
   * @returns this
   */
  setDouble(key: string, value: number): this {
    return this.set(key, { type: "double", value });
  }
  /**
   * Sets a boolean (stored as one byte, 0 or 1).
   *
   * @param key the key
   * @param value the flag
   * @returns this
   */
  setBool(key: string, value: boolean): this {
    return this.set(key, { type: "bool", value });
  }
  /**
   * Sets a string (UTF-8, stored with its NUL).
   *
   * @param key the key
   * @param value text without NUL, under 64 KiB
   * @returns this
   */
  setString(key: string, value: string): this {
    return this.set(key, { type: "string", value });
  }
  /**
   * Sets a byte array (the bytes are copied).
   *
   * @param key the key
   * @param value the bytes
   * @returns this
   */
  setBytearray(key: string, value: Uint8Array): this {
    return this.set(key, { type: "bytearray", value });
  }

  /**
   * The typed value of `key`.
   *
   * @param key the key
   * @returns `{ type, value }` (byte arrays are copies), or `undefined` when absent
   */
  get(key: string): AttrValue | undefined {
    const v = this.#attrs.get(key);
    return v === undefined ? undefined : _copyValue(v);
  }

  /**
   * Whether `key` is present (`attr_container_contain_key`).
   *
   * @param key the key
   * @returns true when present
   */
  has(key: string): boolean {
    return this.#attrs.has(key);
  }

  /**
   * The keys in container order.
   *
   * @returns the keys
   */
  keys(): string[] {
    return [...this.#attrs.keys()];
  }

  /**
   * The attributes in container order.
   *
   * @returns `[key, value]` pairs (byte arrays are copies)
   */
  entries(): [string, AttrValue][] {
    return [...this.#attrs].map(([k, v]) => [k, _copyValue(v)]);
  }

  /** The number of attributes (`attr_container_get_attr_num`). */
  get size(): number {
    return this.#attrs.size;
  }

  /**
   * The 8 bytes WAMR's getters see: the raw value bytes copied into a zeroed union, with
   * `size` the requested member's size. A fixed-size value wider than `size` gives all zeros
   * (WAMR's bounded copy refuses it and clears the destination); strings and byte arrays
   * copy at most `size` bytes.
   */
  #union(key: string, size: number): DataView | undefined {
    const v = this.#attrs.get(key);
    if (v === undefined) return undefined;
    const out = new Uint8Array(8);
    const raw = _valueBytes(v);
    const fixed = _FIXED_SIZE[v.type];
    if (fixed === undefined || fixed <= size) out.set(raw.subarray(0, size));
    return new DataView(out.buffer);
  }

  /**
   * Loose getters mirroring WAMR's `attr_container_get_as_*`: no numeric conversion, just the
   * stored bytes reinterpreted (see the class notes). A missing key gives 0 (or `0n`, `false`).
   *
   * @param key the key
   * @returns the value as a signed byte
   */
  getAsByte(key: string): number {
    return this.#union(key, 1)?.getInt8(0) ?? 0;
  }
  /**
   * Same as {@linkcode AttrContainer.getAsByte}.
   *
   * @param key the key
   * @returns signed byte
   */
  getAsInt8(key: string): number {
    return this.getAsByte(key);
  }
  /**
   * `(uint8_t)get_as_byte`.
   *
   * @param key the key
   * @returns unsigned byte
   */
  getAsUint8(key: string): number {
    return this.#union(key, 1)?.getUint8(0) ?? 0;
  }
  /**
   * `get_as_short`.
   *
   * @param key the key
   * @returns signed 16-bit value
   */
  getAsShort(key: string): number {
    return this.#union(key, 2)?.getInt16(0, true) ?? 0;
  }
  /**
   * Same as {@linkcode AttrContainer.getAsShort}.
   *
   * @param key the key
   * @returns signed 16-bit value
   */
  getAsInt16(key: string): number {
    return this.getAsShort(key);
  }
  /**
   * `(uint16_t)get_as_short`.
   *
   * @param key the key
   * @returns unsigned 16-bit value
   */
  getAsUint16(key: string): number {
    return this.#union(key, 2)?.getUint16(0, true) ?? 0;
  }
  /**
   * `get_as_int`.
   *
   * @param key the key
   * @returns signed 32-bit value
   */
  getAsInt(key: string): number {
    return this.#union(key, 4)?.getInt32(0, true) ?? 0;
  }
  /**
   * Same as {@linkcode AttrContainer.getAsInt}.
   *
   * @param key the key
   * @returns signed 32-bit value
   */
  getAsInt32(key: string): number {
    return this.getAsInt(key);
  }
  /**
   * `(uint32_t)get_as_int`.
   *
   * @param key the key
   * @returns unsigned 32-bit value
   */
  getAsUint32(key: string): number {
    return this.#union(key, 4)?.getUint32(0, true) ?? 0;
  }
  /**
   * `get_as_int64`.
   *
   * @param key the key
   * @returns signed 64-bit value
   */
  getAsInt64(key: string): bigint {
    return this.#union(key, 8)?.getBigInt64(0, true) ?? 0n;
  }
  /**
   * `(uint64_t)get_as_int64`.
   *
   * @param key the key
   * @returns unsigned 64-bit value
   */
  getAsUint64(key: string): bigint {
    return this.#union(key, 8)?.getBigUint64(0, true) ?? 0n;
  }
  /**
   * `get_as_float`.
   *
   * @param key the key
   * @returns the low 4 bytes as a float
   */
  getAsFloat(key: string): number {
    return this.#union(key, 4)?.getFloat32(0, true) ?? 0;
  }
  /**
   * `get_as_double`.
   *
   * @param key the key
   * @returns the 8 bytes as a double
   */
  getAsDouble(key: string): number {
    return this.#union(key, 8)?.getFloat64(0, true) ?? 0;
  }
  /**
   * `get_as_bool`.
   *
   * @param key the key
   * @returns whether the first byte is non-zero
   */
  getAsBool(key: string): boolean {
    return (this.#union(key, 1)?.getUint8(0) ?? 0) !== 0;
  }

  /**
   * `get_as_string`: WAMR returns a pointer to the value bytes whatever the type. Here: the
   * string itself, or for other types the value bytes up to the first NUL as UTF-8 (C would
   * read on past the value when there is none; this stops at its end).
   *
   * @param key the key
   * @returns the text, or `undefined` when the key is absent
   */
  getAsString(key: string): string | undefined {
    const v = this.#attrs.get(key);
    if (v === undefined) return undefined;
    if (v.type === "string") return v.value;
    const raw = _valueBytes(v);
    const nul = raw.indexOf(0);
    return _decoder.decode(nul < 0 ? raw : raw.subarray(0, nul));
  }

  /**
   * `get_as_bytearray`: the raw value bytes of any type (a string's include its NUL).
   *
   * @param key the key
   * @returns a copy of the bytes, or `undefined` when the key is absent
   */
  getAsBytearray(key: string): Uint8Array | undefined {
    const v = this.#attrs.get(key);
    return v === undefined ? undefined : _valueBytes(v).slice();
  }
}

function _normalize(value: AttrValue): AttrValue {
  switch (value.type) {
    case "byte":
      return { type: "byte", value: _checkInt("byte", value.value, -128, 127) };
    case "uint8":
      return { type: "uint8", value: _checkInt("uint8", value.value, 0, 255) };
    case "short":
      return { type: "short", value: _checkInt("short", value.value, -32768, 32767) };
    case "uint16":
      return { type: "uint16", value: _checkInt("uint16", value.value, 0, 65535) };
    case "int":
      return { type: "int", value: _checkInt("int", value.value, -0x80000000, 0x7fffffff) };
    case "uint32":
      return { type: "uint32", value: _checkInt("uint32", value.value, 0, 0xffffffff) };
    case "int64":
      return { type: "int64", value: _checkBig("int64", value.value, 64, true) };
    case "uint64":
      return { type: "uint64", value: _checkBig("uint64", value.value, 64, false) };
    case "float":
    case "double":
      if (typeof (value.value as unknown) !== "number") {
        throw new TypeError(`Value for ${value.type} must be a number`);
      }
      return {
        type: value.type,
        value: value.type === "float" ? Math.fround(value.value) : value.value,
      };
    case "bool":
      if (typeof (value.value as unknown) !== "boolean") {
        throw new TypeError("Value for bool must be a boolean");
      }
      return { type: "bool", value: value.value };
    case "string":
      _checkCString("String value", value.value, true);
      return { type: "string", value: value.value };
    case "bytearray":
      if (!((value.value as unknown) instanceof Uint8Array)) {
        throw new TypeError("Value for bytearray must be a Uint8Array");
      }
      if (value.value.length > 0xffffffff) {
        throw new RangeError(`Byte array of ${value.value.length} bytes exceeds the u32 length`);
      }
      return { type: "bytearray", value: value.value.slice() };
    default:
      throw new TypeError(`Unknown attribute type "${(value as { type: string }).type}"`);
  }
}

function _writeHeader(out: Uint8Array, tag: Uint8Array, flags: number, total: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(0, flags, true);
  view.setUint32(2, total, true);
  view.setUint16(6, tag.length + 1, true);
  out.set(tag, 8);
  return 8 + tag.length + 1;
}

/**
 * Encodes a container compactly: header, attributes in order, then `slack` zero bytes.
 * total_length covers everything from offset 2 to the end, so the result is `2 + T` bytes.
 *
 * @param container the container
 * @param options era, slack and read-only flag
 * @returns the bytes
 *
 * @example The query reply with WAMR's 87 spare bytes is 121 bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer, encode } from "./attr_container.ts";
 * const c = new AttrContainer("Applets Info").setInt("num", 0);
 * assert.equal(encode(c).length, 34);
 * assert.equal(encode(c, { slack: 87 }).length, 121);
 * ```
 */
export function encode(container: AttrContainer, options: EncodeOptions = {}): Uint8Array {
  const era = options.era ?? "af";
  const slack = options.slack ?? (container.size === 0 ? 1 : 0);
  if (!Number.isInteger(slack) || slack < 0) {
    throw new RangeError(`Slack ${slack} must be a non-negative integer`);
  }
  const tag = _utf8(container.tag);
  const attrs = container.entries().map(([k, v]) => _attrBytes(k, v, era));
  const attrsLength = attrs.reduce((n, a) => n + a.length, 0);
  const total = 4 + 2 + tag.length + 1 + 2 + attrsLength + slack;
  if (total > 0xffffffff) {
    throw new RangeError(`Container of ${total} bytes exceeds the u32 total_length`);
  }
  const out = new Uint8Array(2 + total);
  let p = _writeHeader(out, tag, options.readOnly ? ATTR_CONT_READONLY : 0, total);
  new DataView(out.buffer).setUint16(p, container.size, true);
  p += 2;
  for (const a of attrs) {
    out.set(a, p);
    p += a.length;
  }
  return out;
}

/** A byte-level replay of WAMR's create + set_* allocation rules. */
class _WamrBuffer {
  buf: Uint8Array;
  #attrStart: number;
  /** Keys and attribute lengths in buffer order. */
  #layout: { key: string; length: number }[] = [];

  constructor(tag: Uint8Array) {
    // attr_container_create reserves 100 bytes after the tag; attr_num lives in them.
    const total = 4 + 2 + tag.length + 1 + 100;
    this.buf = new Uint8Array(2 + total);
    this.#attrStart = _writeHeader(this.buf, tag, 0, total) + 2;
  }

  get #total(): number {
    return new DataView(this.buf.buffer).getUint32(2, true);
  }

  #grow(total: number): Uint8Array {
    // WAMR mallocs without clearing; zeros are the only reproducible choice.
    const next = new Uint8Array(2 + total);
    new DataView(next.buffer).setUint32(2, total, true);
    return next;
  }

  #incAttrNum(buf: Uint8Array): void {
    const view = new DataView(buf.buffer);
    const at = this.#attrStart - 2;
    view.setUint16(at, view.getUint16(at, true) + 1, true);
  }

  set(key: string, attr: Uint8Array): void {
    const attrEnd = this.#attrStart + this.#layout.reduce((n, a) => n + a.length, 0);
    const msgEnd = 2 + this.#total;
    const index = this.#layout.findIndex((a) => a.key === key);
    if (index < 0) {
      if (msgEnd - attrEnd >= attr.length) {
        this.buf.set(attr, attrEnd);
        this.#incAttrNum(this.buf);
      } else {
        const total = this.#total + attr.length + 100;
        const next = this.#grow(total);
        next.set(this.buf.subarray(0, attrEnd));
        new DataView(next.buffer).setUint32(2, total, true);
        next.set(attr, attrEnd);
        this.#incAttrNum(next);
        this.buf = next;
      }
      this.#layout.push({ key, length: attr.length });
      return;
    }
    const p = this.#attrStart + this.#layout.slice(0, index).reduce((n, a) => n + a.length, 0);
    const oldLength = this.#layout[index]!.length;
    const p1 = p + oldLength;
    if (oldLength === attr.length) {
      this.buf.set(attr, p);
      return;
    }
    if (oldLength + msgEnd - attrEnd >= attr.length) {
      // Bytes between the new and the old end stay as they were, as in WAMR.
      this.buf.copyWithin(p, p1, attrEnd);
      this.buf.set(attr, p + (attrEnd - p1));
    } else {
      const total = this.#total + attr.length + 100;
      const next = this.#grow(total);
      next.set(this.buf.subarray(0, p));
      next.set(this.buf.subarray(p1, attrEnd), p);
      next.set(attr, p + (attrEnd - p1));
      new DataView(next.buffer).setUint32(2, total, true);
      this.buf = next;
    }
    this.#layout.splice(index, 1);
    this.#layout.push({ key, length: attr.length });
  }
}

/**
 * Encodes a container byte for byte as a C app would hold it after
 * `attr_container_create(tag)` and the same sequence of `attr_container_set_*` calls: 100
 * spare bytes at creation, `T += attr_len + 100` whenever a set does not fit, stale bytes left
 * behind when a replaced attribute shrinks. The length is `attr_container_get_serialize_length`
 * (2 + T). Where WAMR re-allocates without clearing, these bytes are zero.
 *
 * @param container the container; its whole set history is replayed
 * @param options era and read-only flag
 * @returns the bytes
 *
 * @example The worked example: "Applets Info" with num=0 is 121 bytes, T = 119
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer, encodeLikeWamr } from "./attr_container.ts";
 * const bytes = encodeLikeWamr(new AttrContainer("Applets Info").setInt("num", 0));
 * assert.equal(bytes.length, 121);
 * assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(2, true), 119); // T
 * ```
 */
export function encodeLikeWamr(
  container: AttrContainer,
  options: WamrEncodeOptions = {},
): Uint8Array {
  const era = options.era ?? "af";
  const sim = new _WamrBuffer(_utf8(container.tag));
  for (const [key, value] of _histories.get(container)!) sim.set(key, _attrBytes(key, value, era));
  const out = sim.buf;
  if (options.readOnly) out[0] = ATTR_CONT_READONLY;
  return out;
}

function _fail(what: string, offset: number): never {
  throw new ProtocolError(`Attribute container: ${what} (at offset ${offset})`);
}

function _readCString(
  bytes: Uint8Array,
  start: number,
  length: number,
  what: string,
): string {
  const body = bytes.subarray(start, start + length);
  if (body[length - 1] !== 0) _fail(`${what} is not NUL-terminated`, start + length - 1);
  const nul = body.indexOf(0);
  if (nul !== length - 1) _fail(`${what} contains a NUL before its end`, start + nul);
  return _decoder.decode(body.subarray(0, length - 1));
}

/**
 * Decodes an attr_container.
 *
 * Checks every length against total_length T and rejects with a {@linkcode ProtocolError}
 * naming the fault and its byte offset: header or T running past the buffer, tag_len 0 or a
 * tag without its NUL, a container ending right at attr_num (WAMR's reader refuses it),
 * key_len 0, a key without its NUL or with an early one, an unknown type code for the era, a
 * value, string or byte array running past 2 + T, a string without its NUL, fewer attributes
 * than attr_num, or a duplicate key.
 *
 * Accepted on purpose: bytes after 2 + T (a payload may be longer; WAMR never reads past T),
 * any flags, non-zero slack (WAMR leaves stale bytes there), a bool byte other than 0/1 (true),
 * a string with an early NUL (cut there, as C reads it), invalid UTF-8 (replacement characters).
 *
 * @param bytes the container bytes
 * @param options the era of the type codes, default `"af"`
 * @returns the container
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer, decode, encode } from "./attr_container.ts";
 * const c = decode(encode(new AttrContainer("t").setString("k", "v")));
 * assert.equal(c.tag, "t");
 * assert.deepEqual(c.get("k"), { type: "string", value: "v" });
 * ```
 */
export function decode(bytes: Uint8Array, options: EraOptions = {}): AttrContainer {
  const era = options.era ?? "af";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) _fail(`header needs 8 bytes, buffer has ${bytes.length}`, 0);
  const total = view.getUint32(2, true);
  const end = 2 + total;
  if (end > bytes.length) {
    _fail(`total_length ${total} runs past the end of the ${bytes.length}-byte buffer`, 2);
  }
  const tagLen = view.getUint16(6, true);
  if (tagLen === 0) _fail("tag_len 0 leaves no room for the NUL", 6);
  if (8 + tagLen > end) _fail(`tag of tag_len ${tagLen} runs past total_length ${total}`, 8);
  const tag = _readCString(bytes, 8, tagLen, "tag");
  let p = 8 + tagLen;
  if (p + 2 > end) _fail(`attr_num runs past total_length ${total}`, p);
  const attrNum = view.getUint16(p, true);
  if (p + 2 === end) _fail("container ends right after attr_num; WAMR needs room after it", p);
  p += 2;
  const container = new AttrContainer(tag);
  for (let i = 0; i < attrNum; i++) {
    const at = p;
    const where = `attribute ${i + 1} of ${attrNum}`;
    if (p + 2 > end) _fail(`${where}: key_len runs past the end`, p);
    const keyLen = view.getUint16(p, true);
    if (keyLen === 0) _fail(`${where}: key_len 0`, p);
    p += 2;
    if (p + keyLen > end) _fail(`${where}: key of key_len ${keyLen} runs past the end`, p);
    const key = _readCString(bytes, p, keyLen, `${where}: key`);
    p += keyLen;
    if (p + 1 > end) _fail(`${where}: type byte runs past the end`, p);
    const code = bytes[p]!;
    const type = _typeOf(code, era);
    if (type === undefined) _fail(`${where}: unknown type code ${code} (${era} era)`, p);
    p += 1;
    let value: AttrValue;
    const size = _FIXED_SIZE[type];
    if (size !== undefined) {
      if (p + size > end) _fail(`${where}: ${type} value runs past the end`, p);
      value = _readFixed(type, view, p);
      p += size;
    } else if (type === "string") {
      if (p + 2 > end) _fail(`${where}: string length runs past the end`, p);
      const len = view.getUint16(p, true);
      if (len === 0) _fail(`${where}: string length 0 leaves no room for the NUL`, p);
      p += 2;
      if (p + len > end) _fail(`${where}: string of length ${len} runs past the end`, p);
      if (bytes[p + len - 1] !== 0) _fail(`${where}: string is not NUL-terminated`, p + len - 1);
      const body = bytes.subarray(p, p + len);
      value = { type: "string", value: _decoder.decode(body.subarray(0, body.indexOf(0))) };
      p += len;
    } else {
      if (p + 4 > end) _fail(`${where}: byte array length runs past the end`, p);
      const len = view.getUint32(p, true);
      p += 4;
      if (p + len > end) _fail(`${where}: byte array of length ${len} runs past the end`, p);
      value = { type: "bytearray", value: bytes.slice(p, p + len) };
      p += len;
    }
    if (container.has(key)) _fail(`${where}: duplicate key "${key}"`, at);
    container.set(key, value);
  }
  return container;
}

function _readFixed(type: AttrType, view: DataView, p: number): AttrValue {
  switch (type) {
    case "byte":
      return { type, value: view.getInt8(p) };
    case "uint8":
      return { type, value: view.getUint8(p) };
    case "short":
      return { type, value: view.getInt16(p, true) };
    case "uint16":
      return { type, value: view.getUint16(p, true) };
    case "int":
      return { type, value: view.getInt32(p, true) };
    case "uint32":
      return { type, value: view.getUint32(p, true) };
    case "int64":
      return { type, value: view.getBigInt64(p, true) };
    case "uint64":
      return { type, value: view.getBigUint64(p, true) };
    case "float":
      return { type, value: view.getFloat32(p, true) };
    case "double":
      return { type, value: view.getFloat64(p, true) };
    default:
      return { type: "bool", value: view.getUint8(p) !== 0 };
  }
}

/** A JSON-ready attribute value, see {@linkcode toJSON}. */
export type AttrJSONValue = number | string | boolean | number[];

/**
 * Converts a container to a plain object, keys in container order (JavaScript puts
 * integer-like keys first). Numbers stay numbers (a float widened to double; NaN and
 * infinities as they are); int64 and uint64 become numbers when they are safe integers and
 * decimal strings otherwise; byte arrays become arrays of 0-255.
 *
 * @param container the container
 * @returns the plain object
 *
 * @example To JSON text
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer, toJSON } from "./attr_container.ts";
 * const c = new AttrContainer().setInt64("big", 2n ** 60n).setBool("ok", true);
 * assert.deepEqual(toJSON(c), { big: "1152921504606846976", ok: true }); // int64 as text
 * ```
 */
export function toJSON(container: AttrContainer): Record<string, AttrJSONValue> {
  const out: Record<string, AttrJSONValue> = {};
  for (const [key, v] of container.entries()) {
    switch (v.type) {
      case "int64":
      case "uint64": {
        const n = Number(v.value);
        out[key] = Number.isSafeInteger(n) ? n : v.value.toString();
        break;
      }
      case "bytearray":
        out[key] = Array.from(v.value);
        break;
      default:
        out[key] = v.value;
    }
  }
  return out;
}

/** C's `(int8_t)double` as x86-64 compiles it: truncate to int32 (0x80000000 when out of range), keep the low byte. */
function _toInt8(d: number): number {
  const t = Math.trunc(d);
  const i32 = t >= -0x80000000 && t <= 0x7fffffff ? t : -0x80000000;
  return (i32 << 24) >> 24;
}

/**
 * Builds a container from a parsed JSON object with host_tool's `-p` rules: tag `""`;
 * numbers become DOUBLE, booleans BOOLEAN, strings STRING (cut at a NUL, as C sees them);
 * an array's leading numbers become a BYTEARRAY of `(int8_t)` values (no key when it starts
 * with a non-number); `null` and nested objects are skipped, as are empty keys (WAMR refuses
 * them). An empty array makes host_tool give up, so it throws here.
 *
 * @param json a parsed JSON object
 * @returns the container
 * @throws {TypeError} when `json` is not an object, or an array value is empty
 *
 * @example host_tool payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromJSON } from "./attr_container.ts";
 * const c = fromJSON({ n: 3, on: true, s: "x", a: [1, 255] });
 * assert.deepEqual(c.get("n"), { type: "double", value: 3 }); // every number is a double
 * assert.deepEqual(c.getAsBytearray("a"), new Uint8Array([1, 255]));
 * ```
 */
export function fromJSON(json: unknown): AttrContainer {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError("host_tool payload must be a JSON object");
  }
  const container = new AttrContainer("");
  for (const [rawKey, value] of Object.entries(json)) {
    const key = rawKey.split("\0")[0]!;
    if (key === "") continue;
    if (typeof value === "number") container.setDouble(key, value);
    else if (typeof value === "boolean") container.setBool(key, value);
    else if (typeof value === "string") container.setString(key, value.split("\0")[0]!);
    else if (Array.isArray(value)) {
      if (value.length === 0) {
        throw new TypeError(`Array for key "${key}" is empty; host_tool rejects the payload`);
      }
      const bytes: number[] = [];
      for (const item of value) {
        if (typeof item !== "number") break;
        bytes.push(_toInt8(item) & 0xff);
      }
      if (bytes.length > 0) container.setBytearray(key, Uint8Array.from(bytes));
    }
  }
  return container;
}

// ---- C number formatting: the two conversions WAMR's dump and cJSON print with ----

/**
 * C's `%.<precision>f` with glibc's exact round-half-even (`%f` is precision 6).
 *
 * @param x the number
 * @param precision digits after the point, default 6
 * @returns the text
 *
 * @example `%f` rounds ties to even on the exact binary value
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCFixed } from "./attr_container.ts";
 * assert.equal(formatCFixed(2.5e-7), "0.000000");
 * assert.equal(formatCFixed(0.5, 0), "0"); // ties to even, like glibc
 * ```
 */
export function formatCFixed(x: number, precision = 6): string {
  return formatFloat(x, "f", precision);
}

/**
 * C's `%1.<precision>g` (no `#` flag) with glibc's exact round-half-even.
 *
 * @param x the number
 * @param precision significant digits (0 counts as 1)
 * @returns the text
 *
 * @example `%1.15g` and `%1.17g`
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCGeneral } from "./attr_container.ts";
 * assert.equal(formatCGeneral(1e21, 15), "1e+21");
 * assert.equal(formatCGeneral(0.1, 17), "0.10000000000000001");
 * ```
 */
export function formatCGeneral(x: number, precision: number): string {
  // The field width of 1 never pads: every conversion prints at least one character.
  return formatFloat(x, "g", precision);
}

/** cJSON 1.7.10's number printing: `%1.15g`, or `%1.17g` when that does not read back. */
function _cjsonNumber(d: number): string {
  if (!Number.isFinite(d)) return "null";
  const short = formatCGeneral(d, 15);
  return Number(short) === d ? short : formatCGeneral(d, 17);
}

/** cJSON's string escaping: `"` `\` `\b` `\f` `\n` `\r` `\t`, other controls as `\u00xx`. */
function _cjsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c === 8) out += "\\b";
    else if (c === 12) out += "\\f";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c < 32) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/**
 * The text host_tool prints for an attr_container payload: cJSON 1.7.10's formatted output of
 * its `attr2json` conversion. Tab-indented, `"key":<tab>value`, no trailing newline; numbers
 * `%1.15g` (else `%1.17g`), NaN and infinities `null`; int64 converted to double; byte arrays
 * as signed bytes `[1, -1]` (host_tool reads them through `char`, signed on x86). The tag is
 * not printed. uint8/uint32/uint64 (AF-only types) print as their numbers; host_tool's
 * support for them is not established.
 *
 * @param container the container
 * @returns the JSON text
 *
 * @example The no-apps query reply
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer, formatHostToolJSON } from "./attr_container.ts";
 * const text = formatHostToolJSON(new AttrContainer("Applets Info").setInt("num", 0));
 * assert.equal(text, '{\n\t"num":\t0\n}'); // cJSON's tab-indented layout
 * ```
 */
export function formatHostToolJSON(container: AttrContainer): string {
  const lines = container.entries().map(([key, v]) => {
    let value: string;
    switch (v.type) {
      case "bool":
        value = v.value ? "true" : "false";
        break;
      case "string":
        value = _cjsonString(v.value);
        break;
      case "bytearray":
        value = "[" + Array.from(v.value, (b) => String((b << 24) >> 24)).join(", ") + "]";
        break;
      case "int64":
      case "uint64":
        value = _cjsonNumber(Number(v.value));
        break;
      default:
        value = _cjsonNumber(v.value);
    }
    return `\t${_cjsonString(key)}:\t${value}`;
  });
  return lines.length === 0 ? "{\n}" : `{\n${lines.join(",\n")}\n}`;
}

function _hex32(n: number): string {
  return (n >>> 0).toString(16);
}

/**
 * The exact text of WAMR's `attr_container_dump`, ending with an empty line. Type names as
 * WAMR prints them: byte, short, int, int64, uint8, uint16, uint32, float, double, bool,
 * string, byte array; AF prints uint64 values as `type: int64` too, and so does this. Byte
 * arrays show `length: %d`.
 *
 * @param container the container
 * @returns the dump text
 *
 * @example Dump a short
 * ```ts
 * import assert from "node:assert/strict";
 * import { AttrContainer, dump } from "./attr_container.ts";
 * const text = dump(new AttrContainer("t").setShort("s", -1));
 * assert.equal(
 *   text,
 *   "Attribute container dump:\nTag: t\nAttribute list:\n  key: s, type: short, value: 0xffff\n\n",
 * );
 * ```
 */
export function dump(container: AttrContainer): string {
  let out = `Attribute container dump:\nTag: ${container.tag}\nAttribute list:\n`;
  for (const [key, v] of container.entries()) {
    let rest: string;
    switch (v.type) {
      case "byte":
        rest = `type: byte, value: 0x${_hex32(v.value & 0xff)}`;
        break;
      case "short":
        rest = `type: short, value: 0x${_hex32(v.value & 0xffff)}`;
        break;
      case "int":
        rest = `type: int, value: 0x${_hex32(v.value)}`;
        break;
      case "uint8":
      case "uint16":
      case "uint32":
        rest = `type: ${v.type}, value: 0x${_hex32(v.value)}`;
        break;
      case "int64":
      case "uint64":
        rest = `type: int64, value: 0x${BigInt.asUintN(64, v.value).toString(16)}`;
        break;
      case "float":
      case "double":
        rest = `type: ${v.type}, value: ${formatCFixed(v.value)}`;
        break;
      case "bool":
        rest = `type: bool, value: 0x${v.value ? 1 : 0}`;
        break;
      case "string":
        rest = `type: string, value: ${v.value}`;
        break;
      case "bytearray":
        rest = `type: byte array, length: ${v.value.length | 0}`;
        break;
    }
    out += `  key: ${key}, ${rest}\n`;
  }
  return out + "\n";
}
