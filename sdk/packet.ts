/**
 * Request and response packets as WAMR's app manager, apps and host_tool exchange them:
 * big-endian fixed parts (18 and 16 bytes), then the URL and payload.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

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
 * Response status codes (CoAP class × 32 + detail) under WAMR's names.
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

/** Sender/receiver id of the host (−3). */
export const ID_HOST = 0xfffffffd;
/** Sender/receiver id of the app manager (−2). */
export const ID_APP_MGR = 0xfffffffe;
/** No sender/receiver (−1). */
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
  /** Sender id (u32; −3 is accepted for ID_HOST). */
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
const _decoder = new TextDecoder();

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
  _checkVersion("Request", request.version);
  if (typeof request.url !== "string") throw new TypeError("Request url must be a string");
  if (request.url.includes("\0")) {
    throw new TypeError(`Request url "${request.url}" contains a NUL character`);
  }
  const url = _encoder.encode(request.url);
  const urlLen = _checkField("url_len", url.length + 1, 1, 0xffff);
  const payload = request.payload ?? new Uint8Array(0);
  _checkField("payload_len", payload.length, 0, 0xffffffff);
  const out = new Uint8Array(REQUEST_FIXED_SIZE + urlLen + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, PACKET_VERSION);
  view.setUint8(1, _checkField("action", request.action, 0, 0xff));
  view.setUint16(2, _checkField("fmt", request.fmt, 0, 0xffff));
  view.setUint32(4, _checkField("mid", request.mid, -0x80000000, 0xffffffff) >>> 0);
  view.setUint32(8, _checkField("sender", request.sender, -0x80000000, 0xffffffff) >>> 0);
  view.setUint16(12, urlLen);
  view.setUint32(14, payload.length);
  out.set(url, REQUEST_FIXED_SIZE);
  out.set(payload, REQUEST_FIXED_SIZE + urlLen);
  return out;
}

function _fail(kind: string, rule: string): never {
  throw new ProtocolError(`${kind} packet: ${rule}`);
}

/** The checks both packet kinds open with (version, room for the fixed part), then a view. */
function _fixedPart(kind: string, bytes: Uint8Array, fixedSize: number): DataView {
  if (bytes.length >= 1 && bytes[0] !== PACKET_VERSION) _fail(kind, `version ${bytes[0]} is not 1`);
  if (bytes.length < fixedSize) {
    _fail(kind, `size ${bytes.length} is less than the fixed part of ${fixedSize} bytes`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
  const kind = "Request";
  const view = _fixedPart(kind, bytes, REQUEST_FIXED_SIZE);
  const urlLen = view.getUint16(12);
  const payloadLen = view.getUint32(14);
  if (bytes.length !== REQUEST_FIXED_SIZE + urlLen + payloadLen) {
    _fail(
      kind,
      `size ${bytes.length} does not match ${REQUEST_FIXED_SIZE} + url_len ${urlLen} + payload_len ${payloadLen}`,
    );
  }
  if (urlLen === 0) _fail(kind, "url_len 0 leaves no room for the URL's NUL");
  const urlBytes = bytes.subarray(REQUEST_FIXED_SIZE, REQUEST_FIXED_SIZE + urlLen);
  if (urlBytes[urlLen - 1] !== 0) {
    _fail(kind, `last URL byte at offset ${REQUEST_FIXED_SIZE + urlLen - 1} is not 0`);
  }
  const start = REQUEST_FIXED_SIZE + urlLen;
  return {
    action: view.getUint8(1),
    fmt: view.getUint16(2),
    mid: view.getUint32(4),
    sender: view.getUint32(8),
    url: _decoder.decode(urlBytes.subarray(0, urlBytes.indexOf(0))),
    payload: payloadLen === 0 ? undefined : bytes.subarray(start, start + payloadLen),
  };
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
  _checkVersion("Response", response.version);
  const payload = response.payload ?? new Uint8Array(0);
  _checkField("payload_len", payload.length, 0, 0xffffffff);
  const out = new Uint8Array(RESPONSE_FIXED_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, PACKET_VERSION);
  view.setUint8(1, _checkField("status", response.status, 0, 0xff));
  view.setUint16(2, _checkField("fmt", response.fmt, 0, 0xffff));
  view.setUint32(4, _checkField("mid", response.mid, -0x80000000, 0xffffffff) >>> 0);
  view.setUint32(8, _checkField("receiver", response.receiver, -0x80000000, 0xffffffff) >>> 0);
  view.setUint32(12, payload.length);
  out.set(payload, RESPONSE_FIXED_SIZE);
  return out;
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
  const kind = "Response";
  const view = _fixedPart(kind, bytes, RESPONSE_FIXED_SIZE);
  const payloadLen = view.getUint32(12);
  if (bytes.length !== RESPONSE_FIXED_SIZE + payloadLen) {
    _fail(
      kind,
      `size ${bytes.length} does not match ${RESPONSE_FIXED_SIZE} + payload_len ${payloadLen}`,
    );
  }
  return {
    status: view.getUint8(1),
    fmt: view.getUint16(2),
    mid: view.getUint32(4),
    receiver: view.getUint32(8),
    payload: payloadLen === 0 ? undefined : bytes.subarray(RESPONSE_FIXED_SIZE),
  };
}
