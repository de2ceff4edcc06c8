/**
 * Request and response packets as WAMR's app manager, apps and host_tool exchange them:
 * big-endian fixed parts (18 and 16 bytes), then the URL and payload.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { decodeUtf8 } from "./memory.ts";

/** The only packet version. */
export const PACKET_VERSION = 1;
/** Size of a request's fixed part. */
export const REQUEST_FIXED_SIZE = 18;
/** Size of a response's fixed part. */
export const RESPONSE_FIXED_SIZE = 16;

/**
 * Request actions (CoAP method codes).
 *
 * @example Action codes
 * ```ts
 * import assert from "node:assert/strict";
 * import { Action } from "./packet.ts";
 * assert.equal(Action.EVENT, 6);
 * ```
 */
export const Action = {
  GET: 1,
  POST: 2,
  PUT: 3,
  DELETE: 4,
  EVENT: 6,
} as const;

/**
 * Response status codes (CoAP class * 32 + detail) under WAMR's names.
 *
 * @example Status codes
 * ```ts
 * import assert from "node:assert/strict";
 * import { Status } from "./packet.ts";
 * assert.equal(Status.CONTENT_2_05, 69); // (2 << 5) | 5
 * assert.equal(Status.INTERNAL_SERVER_ERROR_5_00, 160); // 5 << 5
 * ```
 */
export const Status = {
  NO_ERROR: 0,
  CREATED_2_01: 65,
  DELETED_2_02: 66,
  VALID_2_03: 67,
  CHANGED_2_04: 68,
  CONTENT_2_05: 69,
  CONTINUE_2_31: 95,
  BAD_REQUEST_4_00: 128,
  UNAUTHORIZED_4_01: 129,
  BAD_OPTION_4_02: 130,
  FORBIDDEN_4_03: 131,
  NOT_FOUND_4_04: 132,
  METHOD_NOT_ALLOWED_4_05: 133,
  NOT_ACCEPTABLE_4_06: 134,
  PRECONDITION_FAILED_4_12: 140,
  REQUEST_ENTITY_TOO_LARGE_4_13: 141,
  UNSUPPORTED_MEDIA_TYPE_4_15: 143,
  INTERNAL_SERVER_ERROR_5_00: 160,
  NOT_IMPLEMENTED_5_01: 161,
  BAD_GATEWAY_5_02: 162,
  SERVICE_UNAVAILABLE_5_03: 163,
  GATEWAY_TIMEOUT_5_04: 164,
  PROXYING_NOT_SUPPORTED_5_05: 165,
  MEMORY_ALLOCATION_ERROR: 192,
  PACKET_SERIALIZATION_ERROR: 193,
  MANUAL_RESPONSE: 194,
  PING_RESPONSE: 195,
} as const;

/** Payload format: an attr_container. */
export const FMT_ATTR_CONTAINER = 99;
/** Payload format: raw bytes (an app binary on install). */
export const FMT_APP_RAW_BINARY = 98;

/** Sender/receiver id of the host (-3). */
export const ID_HOST = 0xfffffffd;
/** Sender/receiver id of the app manager (-2). */
export const ID_APP_MGR = 0xfffffffe;
/** No sender/receiver (-1). */
export const ID_NONE = 0xffffffff;

/** A request packet. Ids are unsigned 32-bit when decoded. */
export interface Request {
  /** Always 1 when present. */
  version?: 1;
  /** Action code, see {@linkcode Action}. */
  action: number;
  /** Payload format (u16). */
  fmt: number;
  /** Message id (u32), echoed in the response. */
  mid: number;
  /** Sender id (u32; -3 is accepted for ID_HOST). */
  sender: number;
  /** URL without its NUL. */
  url: string;
  /** Payload bytes, `undefined` when there are none. */
  payload: Uint8Array | undefined;
}

/** A response packet. */
export interface Response {
  /** Always 1 when present. */
  version?: 1;
  /** Status code, see {@linkcode Status}. */
  status: number;
  /** Payload format (u16). */
  fmt: number;
  /** The request's message id (u32). */
  mid: number;
  /** Receiver id (u32): the request's sender. */
  receiver: number;
  /** Payload bytes, `undefined` when there are none. */
  payload: Uint8Array | undefined;
}

const _encoder = new TextEncoder();

function _checkField(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Field ${name} ${String(value)} is out of range (${min}..${max})`);
  }
  return value;
}

function _checkVersion(kind: string, version: number | undefined): void {
  if (version !== undefined && version !== PACKET_VERSION) {
    throw new RangeError(`${kind} version ${String(version)} is not 1`);
  }
}

/**
 * Encodes a request: version, action, fmt, mid, sender, url_len (including the NUL),
 * payload_len, the URL and its NUL, the payload.
 *
 * @param request the request; `mid` and `sender` may be unsigned or signed 32-bit
 * @returns the packet bytes
 * @throws {TypeError} when the URL contains a NUL
 * @throws {RangeError} when a field does not fit its width
 *
 * @example The query host_tool sends
 * ```ts
 * import assert from "node:assert/strict";
 * import { Action, encodeRequest, FMT_ATTR_CONTAINER } from "./packet.ts";
 * const bytes = encodeRequest({
 *   action: Action.GET, fmt: FMT_ATTR_CONTAINER, mid: 1, sender: 0, url: "/applet", payload: undefined,
 * });
 * assert.deepEqual(
 *   [...bytes.subarray(0, 18)],
 *   // version, action, fmt (u16), mid (u32), sender (u32), url_len (u16), payload_len (u32)
 *   [1, 1, 0, 99, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0],
 * );
 * assert.equal(new TextDecoder().decode(bytes.subarray(18)), "/applet\0");
 * ```
 */
export function encodeRequest(request: Request): Uint8Array {
  const out = new Uint8Array(requestSize(request));
  writeRequest(request, out, 0);
  return out;
}

/**
 * The size {@linkcode encodeRequest} would make a request's packet, with the same checks and
 * errors, without encoding it: so the packet can be written straight where it goes.
 *
 * @param request the request
 * @returns the packet size in bytes
 * @throws {TypeError} when the URL contains a NUL
 * @throws {RangeError} when a field does not fit its width
 *
 * @example Fixed part, URL and NUL, payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestSize } from "./packet.ts";
 * const size = requestSize({
 *   action: 1, fmt: 0, mid: 1, sender: 0, url: "/x", payload: new Uint8Array(4),
 * });
 * assert.equal(size, 18 + 3 + 4);
 * ```
 */
export function requestSize(request: Request): number {
  const size = REQUEST_FIXED_SIZE + _urlLength(request) + _payloadLength(request.payload);
  _checkRequestFields(request);
  return size;
}

/** The checks of the request fields after the URL and payload, in the order they are written. */
function _checkRequestFields(request: Request): void {
  _checkField("action", request.action, 0, 0xff);
  _checkField("fmt", request.fmt, 0, 0xffff);
  _checkField("mid", request.mid, -0x80000000, 0xffffffff);
  _checkField("sender", request.sender, -0x80000000, 0xffffffff);
}

/**
 * Writes a request's packet, as {@linkcode encodeRequest} encodes it, into `out` at `at`
 * (an app's memory, a reused buffer): no buffer of its own.
 *
 * @param request the request
 * @param out where to write; it must hold {@linkcode requestSize} bytes from `at`
 * @param at the offset of the first byte
 * @returns the number of bytes written
 * @throws {TypeError} when the URL contains a NUL
 * @throws {RangeError} when a field does not fit its width, or the packet does not fit `out`
 *
 * @example Into a larger buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRequest, writeRequest } from "./packet.ts";
 * const request = { action: 2, fmt: 0, mid: 9, sender: 1, url: "/a", payload: undefined };
 * const out = new Uint8Array(64);
 * const n = writeRequest(request, out, 8);
 * assert.deepEqual(out.subarray(8, 8 + n), encodeRequest(request));
 * ```
 */
export function writeRequest(request: Request, out: Uint8Array, at: number): number {
  const urlLen = _urlLength(request);
  const payload = request.payload;
  const payloadLen = _payloadLength(payload);
  const size = REQUEST_FIXED_SIZE + urlLen + payloadLen;
  _checkRequestFields(request);
  _checkRoom(out, at, size);
  out[at] = PACKET_VERSION;
  out[at + 1] = request.action;
  _putU16(out, at + 2, request.fmt);
  _putU32(out, at + 4, request.mid);
  _putU32(out, at + 8, request.sender);
  _putU16(out, at + 12, urlLen);
  _putU32(out, at + 14, payloadLen);
  const url = request.url;
  const urlAt = at + REQUEST_FIXED_SIZE;
  if (urlLen === url.length + 1) {
    // All ASCII (_urlLength counted one byte per character).
    for (let i = 0; i < url.length; i++) out[urlAt + i] = url.charCodeAt(i);
  } else {
    // Encoded apart: encodeInto may refuse a view of shared memory.
    out.set(_encoder.encode(url), urlAt);
  }
  out[urlAt + urlLen - 1] = 0;
  if (payload !== undefined && payloadLen > 0) out.set(payload, urlAt + urlLen);
  return size;
}

/** The request checks on the URL, then its length in bytes with the NUL (url_len). */
function _urlLength(request: Request): number {
  _checkVersion("Request", request.version);
  const url = request.url;
  if (typeof url !== "string") throw new TypeError("Request url must be a string");
  let ascii = true;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0) throw new TypeError(`Request url "${url}" contains a NUL character`);
    if (c >= 0x80) ascii = false;
  }
  const bytes = ascii ? url.length : _encoder.encode(url).length;
  return _checkField("url_len", bytes + 1, 1, 0xffff);
}

function _payloadLength(payload: Uint8Array | undefined): number {
  return payload === undefined ? 0 : _checkField("payload_len", payload.length, 0, 0xffffffff);
}

function _checkRoom(out: Uint8Array, at: number, size: number): void {
  if (!(at >= 0) || at + size > out.length) {
    throw new RangeError(
      `Packet of ${size} bytes does not fit at offset ${at} of ${out.length} bytes`,
    );
  }
}

function _putU16(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value;
}

function _putU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

function _u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function _u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>>
    0;
}

/** The last ASCII URL decoded: apps send to a few URLs over and over. */
let _lastUrl = "";

/** Decodes a URL, reusing the last one when the bytes match it (ASCII only). */
function _decodeUrl(bytes: Uint8Array, start: number, end: number): string {
  const last = _lastUrl;
  if (last.length === end - start) {
    let i = 0;
    while (i < last.length && last.charCodeAt(i) === bytes[start + i]) i++;
    if (i === last.length) return last;
  }
  const url = decodeUtf8(bytes, start, end);
  // As many characters as bytes means ASCII (other characters take two or more bytes, and
  // an invalid byte becomes U+FFFD, which equals no byte): equal char codes, equal bytes.
  if (url.length === end - start && url.length <= 64) _lastUrl = url;
  return url;
}

function _fail(kind: string, rule: string): never {
  throw new ProtocolError(`${kind} packet: ${rule}`);
}

/** The checks both packet kinds open with: version, room for the fixed part. */
function _fixedPart(kind: string, bytes: Uint8Array, fixedSize: number): void {
  if (bytes.length >= 1 && bytes[0] !== PACKET_VERSION) _fail(kind, `version ${bytes[0]} is not 1`);
  if (bytes.length < fixedSize) {
    _fail(kind, `size ${bytes.length} is less than the fixed part of ${fixedSize} bytes`);
  }
}

/**
 * Decodes a request with WAMR's `unpack_request` rules, each failure a
 * {@linkcode ProtocolError} naming the rule: version 1; size at least 18 and exactly
 * 18 + url_len + payload_len; url_len at least 1; the last URL byte 0.
 *
 * The URL ends at its first NUL, as WAMR reads it as a C string: bytes after an earlier NUL
 * are ignored. It is decoded as UTF-8 (invalid bytes become U+FFFD). The payload is a
 * zero-copy view into `bytes`, or `undefined` when payload_len is 0.
 *
 * @param bytes the packet (without the host-link header)
 * @returns the request
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRequest, encodeRequest } from "./packet.ts";
 * const req = decodeRequest(encodeRequest({
 *   action: 3, fmt: 0, mid: 7, sender: -3, url: "/x", payload: undefined,
 * }));
 * assert.equal(req.url, "/x");
 * assert.equal(req.sender, 0xfffffffd); // ids decode unsigned
 * ```
 */
export function decodeRequest(bytes: Uint8Array): Request {
  const urlEnd = _checkRequest(bytes);
  const start = REQUEST_FIXED_SIZE + _u16(bytes, 12);
  const payloadLen = _u32(bytes, 14);
  return {
    action: bytes[1]!,
    fmt: _u16(bytes, 2),
    mid: _u32(bytes, 4),
    sender: _u32(bytes, 8),
    url: _decodeUrl(bytes, REQUEST_FIXED_SIZE, urlEnd),
    payload: payloadLen === 0 ? undefined : bytes.subarray(start, start + payloadLen),
  };
}

/**
 * @internal {@linkcode decodeRequest} into an object of the caller's, for a caller that hands
 * the request on at once to something that copies what it keeps (the base natives: an object
 * per message sent was an allocation per message). Its payload view is kept when it already
 * shows the same bytes of the same buffer.
 *
 * @param bytes the packet
 * @param into the request to overwrite
 * @returns `into`
 */
export function decodeRequestInto(bytes: Uint8Array, into: Request): Request {
  const urlEnd = _checkRequest(bytes);
  const start = REQUEST_FIXED_SIZE + _u16(bytes, 12);
  const payloadLen = _u32(bytes, 14);
  into.action = bytes[1]!;
  into.fmt = _u16(bytes, 2);
  into.mid = _u32(bytes, 4);
  into.sender = _u32(bytes, 8);
  into.url = _decodeUrl(bytes, REQUEST_FIXED_SIZE, urlEnd);
  into.payload = _payloadView(bytes, start, payloadLen, into.payload);
  return into;
}

/** `bytes.subarray(start, start + length)`, or `old` when it is that view; undefined for none. */
function _payloadView(
  bytes: Uint8Array,
  start: number,
  length: number,
  old: Uint8Array | undefined,
): Uint8Array | undefined {
  if (length === 0) return undefined;
  if (
    old !== undefined && old.length === length && old.buffer === bytes.buffer &&
    old.byteOffset === bytes.byteOffset + start
  ) {
    return old;
  }
  return bytes.subarray(start, start + length);
}

/** WAMR's `unpack_request` checks; returns where the URL ends (its first NUL). */
function _checkRequest(bytes: Uint8Array): number {
  const kind = "Request";
  _fixedPart(kind, bytes, REQUEST_FIXED_SIZE);
  const urlLen = _u16(bytes, 12);
  const payloadLen = _u32(bytes, 14);
  if (bytes.length !== REQUEST_FIXED_SIZE + urlLen + payloadLen) {
    _fail(
      kind,
      `size ${bytes.length} does not match ${REQUEST_FIXED_SIZE} + url_len ${urlLen} + payload_len ${payloadLen}`,
    );
  }
  if (urlLen === 0) _fail(kind, "url_len 0 leaves no room for the URL's NUL");
  const start = REQUEST_FIXED_SIZE + urlLen;
  if (bytes[start - 1] !== 0) {
    _fail(kind, `last URL byte at offset ${start - 1} is not 0`);
  }
  let urlEnd = REQUEST_FIXED_SIZE;
  while (bytes[urlEnd] !== 0) urlEnd++;
  return urlEnd;
}

/**
 * Encodes a response: version, status, fmt, mid, receiver, payload_len, the payload.
 *
 * @param response the response; `mid` and `receiver` may be unsigned or signed 32-bit
 * @returns the packet bytes
 * @throws {RangeError} when a field does not fit its width
 *
 * @example An empty "created" reply to the host
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeResponse, ID_HOST, Status } from "./packet.ts";
 * const bytes = encodeResponse({
 *   status: Status.CREATED_2_01, fmt: 0, mid: 1, receiver: ID_HOST, payload: undefined,
 * });
 * // version, status, fmt (u16), mid (u32), receiver (u32), payload_len (u32)
 * assert.deepEqual([...bytes], [1, 65, 0, 0, 0, 0, 0, 1, 255, 255, 255, 253, 0, 0, 0, 0]);
 * ```
 */
export function encodeResponse(response: Response): Uint8Array {
  const out = new Uint8Array(responseSize(response));
  writeResponse(response, out, 0);
  return out;
}

/**
 * The size {@linkcode encodeResponse} would make a response's packet, with the same checks.
 *
 * @param response the response
 * @returns the packet size in bytes
 * @throws {RangeError} when the version is not 1 or the payload is too long
 *
 * @example Fixed part and payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { responseSize } from "./packet.ts";
 * assert.equal(
 *   responseSize({ status: 69, fmt: 0, mid: 1, receiver: 1, payload: new Uint8Array(3) }),
 *   19,
 * );
 * ```
 */
export function responseSize(response: Response): number {
  _checkVersion("Response", response.version);
  const size = RESPONSE_FIXED_SIZE + _payloadLength(response.payload);
  _checkField("status", response.status, 0, 0xff);
  _checkField("fmt", response.fmt, 0, 0xffff);
  _checkField("mid", response.mid, -0x80000000, 0xffffffff);
  _checkField("receiver", response.receiver, -0x80000000, 0xffffffff);
  return size;
}

/**
 * Writes a response's packet, as {@linkcode encodeResponse} encodes it, into `out` at `at`.
 *
 * @param response the response
 * @param out where to write; it must hold {@linkcode responseSize} bytes from `at`
 * @param at the offset of the first byte
 * @returns the number of bytes written
 * @throws {RangeError} when a field does not fit its width, or the packet does not fit `out`
 *
 * @example Into a larger buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeResponse, writeResponse } from "./packet.ts";
 * const response = { status: 69, fmt: 0, mid: 9, receiver: 1, payload: new Uint8Array([7]) };
 * const out = new Uint8Array(32);
 * const n = writeResponse(response, out, 4);
 * assert.deepEqual(out.subarray(4, 4 + n), encodeResponse(response));
 * ```
 */
export function writeResponse(response: Response, out: Uint8Array, at: number): number {
  const size = responseSize(response);
  const payload = response.payload;
  _checkRoom(out, at, size);
  out[at] = PACKET_VERSION;
  out[at + 1] = response.status;
  _putU16(out, at + 2, response.fmt);
  _putU32(out, at + 4, response.mid);
  _putU32(out, at + 8, response.receiver);
  _putU32(out, at + 12, size - RESPONSE_FIXED_SIZE);
  if (payload !== undefined && payload.length > 0) out.set(payload, at + RESPONSE_FIXED_SIZE);
  return size;
}

/**
 * Decodes a response with WAMR's `unpack_response` rules: version 1; size at least 16 and
 * exactly 16 + payload_len. The payload is a zero-copy view into `bytes`, or `undefined`
 * when payload_len is 0.
 *
 * @param bytes the packet (without the host-link header)
 * @returns the response
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeResponse, encodeResponse } from "./packet.ts";
 * const res = decodeResponse(encodeResponse({
 *   status: 69, fmt: 99, mid: 5, receiver: 1, payload: new Uint8Array([1, 2]),
 * }));
 * assert.deepEqual(res, {
 *   status: 69, fmt: 99, mid: 5, receiver: 1, payload: new Uint8Array([1, 2]),
 * });
 * ```
 */
export function decodeResponse(bytes: Uint8Array): Response {
  const payloadLen = _checkResponse(bytes);
  return {
    status: bytes[1]!,
    fmt: _u16(bytes, 2),
    mid: _u32(bytes, 4),
    receiver: _u32(bytes, 8),
    payload: payloadLen === 0 ? undefined : bytes.subarray(RESPONSE_FIXED_SIZE),
  };
}

/**
 * @internal {@linkcode decodeResponse} into an object of the caller's, as
 * {@linkcode decodeRequestInto} does for requests.
 *
 * @param bytes the packet
 * @param into the response to overwrite
 * @returns `into`
 */
export function decodeResponseInto(bytes: Uint8Array, into: Response): Response {
  const payloadLen = _checkResponse(bytes);
  into.status = bytes[1]!;
  into.fmt = _u16(bytes, 2);
  into.mid = _u32(bytes, 4);
  into.receiver = _u32(bytes, 8);
  into.payload = _payloadView(bytes, RESPONSE_FIXED_SIZE, payloadLen, into.payload);
  return into;
}

/** WAMR's `unpack_response` checks; returns payload_len. */
function _checkResponse(bytes: Uint8Array): number {
  const kind = "Response";
  _fixedPart(kind, bytes, RESPONSE_FIXED_SIZE);
  const payloadLen = _u32(bytes, 12);
  if (bytes.length !== RESPONSE_FIXED_SIZE + payloadLen) {
    _fail(
      kind,
      `size ${bytes.length} does not match ${RESPONSE_FIXED_SIZE} + payload_len ${payloadLen}`,
    );
  }
  return payloadLen;
}
