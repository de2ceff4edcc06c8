/**
 * The host link's token handshake (micro-runtime's; WAMR has none): a runtime that holds a
 * shared secret challenges every new link, and serves no other frame until the host has
 * proved it holds the same secret. The secret never crosses the link: each side sends an
 * HMAC-SHA-256 over both sides' random nonces.
 *
 * All four messages travel in frames of type {@linkcode HostMessageType.AUTH} (256), whose
 * payload starts with the message kind:
 *
 * | kind | direction | payload after the kind byte |
 * | --- | --- | --- |
 * | 1 challenge | runtime -> host, as soon as the link opens | version (1), server nonce (32) |
 * | 2 proof | host -> runtime | client nonce (32), HMAC(token, "...client" || server nonce || client nonce) |
 * | 3 accept | runtime -> host | HMAC(token, "...server" || server nonce || client nonce) |
 * | 4 refuse | runtime -> host, then it closes | reason code, UTF-8 message |
 *
 * The accept frame proves the runtime holds the token too, so a host sends nothing else
 * (an app, a request) to an impostor. A runtime without a token sends no byte of this:
 * WAMR's host_tool and runtime see the link they know.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { encodeFrame, HostMessageType } from "./host_link.ts";

/** Version of the handshake, the challenge's second byte. */
export const AUTH_VERSION = 1;
/** Bytes of each nonce and of each HMAC-SHA-256. */
export const AUTH_NONCE_SIZE = 32;

/** The kinds of authentication message, the first payload byte. */
export const AuthKind = {
  CHALLENGE: 1,
  PROOF: 2,
  ACCEPT: 3,
  REFUSE: 4,
} as const;

/** Why a runtime refused a link, the refuse message's code. */
export const RefuseReason = {
  /** The proof did not match: the host holds another token. */
  WRONG_TOKEN: 1,
  /** The runtime serves as many links as it may (`--max-connections`). */
  BUSY: 2,
  /** No proof arrived in time. */
  TIMEOUT: 3,
  /** Something other than a proof arrived first. */
  NOT_AUTHENTICATED: 4,
} as const;

/** A decoded authentication message. */
export type AuthMessage =
  | { kind: typeof AuthKind.CHALLENGE; version: number; nonce: Uint8Array }
  | { kind: typeof AuthKind.PROOF; nonce: Uint8Array; mac: Uint8Array }
  | { kind: typeof AuthKind.ACCEPT; mac: Uint8Array }
  | { kind: typeof AuthKind.REFUSE; reason: number; message: string };

const _CLIENT_LABEL = new TextEncoder().encode("micro-runtime host link auth v1: client");
const _SERVER_LABEL = new TextEncoder().encode("micro-runtime host link auth v1: server");

/**
 * Makes the HMAC key of a shared token. Import it once; every handshake reuses it.
 *
 * @param token the secret, as text (UTF-8) or bytes; must not be empty
 * @returns the key for {@linkcode proveClient} and the other proofs
 * @throws {RangeError} when the token is empty
 */
export async function importAuthKey(token: string | Uint8Array): Promise<CryptoKey> {
  const bytes = typeof token === "string" ? new TextEncoder().encode(token) : token;
  if (bytes.length === 0) throw new RangeError("The host link token is empty");
  return await crypto.subtle.importKey(
    "raw",
    bytes as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/**
 * A fresh random nonce.
 *
 * @returns {@linkcode AUTH_NONCE_SIZE} random bytes
 */
export function authNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(AUTH_NONCE_SIZE));
}

function _message(label: Uint8Array, server: Uint8Array, client: Uint8Array): Uint8Array {
  const out = new Uint8Array(label.length + server.length + client.length);
  out.set(label);
  out.set(server, label.length);
  out.set(client, label.length + server.length);
  return out;
}

async function _sign(key: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", key, message as Uint8Array<ArrayBuffer>),
  );
}

async function _verify(key: CryptoKey, mac: Uint8Array, message: Uint8Array): Promise<boolean> {
  // crypto.subtle.verify compares in constant time.
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac as Uint8Array<ArrayBuffer>,
    message as Uint8Array<ArrayBuffer>,
  );
}

/**
 * The host's proof: HMAC over the client label and both nonces.
 *
 * @param key the token's key
 * @param serverNonce the challenge's nonce
 * @param clientNonce the host's own fresh nonce
 * @returns the 32-byte MAC
 */
export function proveClient(
  key: CryptoKey,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Promise<Uint8Array> {
  return _sign(key, _message(_CLIENT_LABEL, serverNonce, clientNonce));
}

/**
 * Checks a host's proof.
 *
 * @param key the token's key
 * @param serverNonce the nonce this runtime sent
 * @param clientNonce the nonce in the proof
 * @param mac the MAC in the proof
 * @returns whether the host holds the token
 */
export function checkClient(
  key: CryptoKey,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
  mac: Uint8Array,
): Promise<boolean> {
  return _verify(key, mac, _message(_CLIENT_LABEL, serverNonce, clientNonce));
}

/**
 * The runtime's proof, sent in the accept message.
 *
 * @param key the token's key
 * @param serverNonce the challenge's nonce
 * @param clientNonce the proof's nonce
 * @returns the 32-byte MAC
 */
export function proveServer(
  key: CryptoKey,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Promise<Uint8Array> {
  return _sign(key, _message(_SERVER_LABEL, serverNonce, clientNonce));
}

/**
 * Checks the runtime's proof in an accept message.
 *
 * @param key the token's key
 * @param serverNonce the challenge's nonce
 * @param clientNonce the nonce this host sent
 * @param mac the accept message's MAC
 * @returns whether the runtime holds the token
 */
export function checkServer(
  key: CryptoKey,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
  mac: Uint8Array,
): Promise<boolean> {
  return _verify(key, mac, _message(_SERVER_LABEL, serverNonce, clientNonce));
}

/**
 * Frames an authentication message.
 *
 * @param message the message
 * @returns the frame (type {@linkcode HostMessageType.AUTH})
 *
 * @example A challenge frame and its decoding
 * ```ts
 * import assert from "node:assert/strict";
 * import { AuthKind, authNonce, decodeAuth, encodeAuth } from "./host_auth.ts";
 * const nonce = authNonce();
 * const frame = encodeAuth({ kind: AuthKind.CHALLENGE, version: 1, nonce });
 * assert.deepEqual([...frame.subarray(0, 10)], [0x12, 0x34, 1, 0, 0, 0, 0, 34, 1, 1]);
 * assert.deepEqual(decodeAuth(frame.subarray(8)), { kind: AuthKind.CHALLENGE, version: 1, nonce });
 * ```
 */
export function encodeAuth(message: AuthMessage): Uint8Array {
  let payload: Uint8Array;
  switch (message.kind) {
    case AuthKind.CHALLENGE:
      payload = new Uint8Array([AuthKind.CHALLENGE, message.version, ...message.nonce]);
      break;
    case AuthKind.PROOF:
      payload = new Uint8Array([AuthKind.PROOF, ...message.nonce, ...message.mac]);
      break;
    case AuthKind.ACCEPT:
      payload = new Uint8Array([AuthKind.ACCEPT, ...message.mac]);
      break;
    case AuthKind.REFUSE:
      payload = new Uint8Array([
        AuthKind.REFUSE,
        message.reason,
        ...new TextEncoder().encode(message.message),
      ]);
      break;
  }
  return encodeFrame(HostMessageType.AUTH, payload);
}

/**
 * Reads an authentication message from a frame's payload.
 *
 * @param payload the payload of a type-256 frame
 * @returns the message
 * @throws {ProtocolError} when the kind is unknown or the length does not fit it
 */
export function decodeAuth(payload: Uint8Array): AuthMessage {
  const n = AUTH_NONCE_SIZE;
  const kind = payload[0];
  const fits = (size: number) => {
    if (payload.length !== size) {
      throw new ProtocolError(
        `Authentication message of kind ${kind} has ${payload.length} bytes, expected ${size}`,
      );
    }
  };
  switch (kind) {
    case AuthKind.CHALLENGE:
      fits(2 + n);
      return { kind, version: payload[1]!, nonce: payload.slice(2) };
    case AuthKind.PROOF:
      fits(1 + 2 * n);
      return { kind, nonce: payload.slice(1, 1 + n), mac: payload.slice(1 + n) };
    case AuthKind.ACCEPT:
      fits(1 + n);
      return { kind, mac: payload.slice(1) };
    case AuthKind.REFUSE:
      if (payload.length < 2) fits(2);
      return {
        kind,
        reason: payload[1]!,
        message: new TextDecoder().decode(payload.subarray(2)),
      };
    default:
      throw new ProtocolError(`Unknown authentication message kind ${String(kind)}`);
  }
}
