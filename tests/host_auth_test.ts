import assert from "node:assert/strict";
import {
  AuthKind,
  authNonce,
  checkClient,
  checkServer,
  decodeAuth,
  encodeAuth,
  importAuthKey,
  proveClient,
  proveServer,
  RefuseReason,
} from "../sdk/host_auth.ts";
import { FrameParser, HostMessageType } from "../sdk/host_link.ts";
import { ProtocolError } from "../sdk/errors.ts";

/** The payload of a frame, checking its type. */
function payloadOf(frame: Uint8Array): Uint8Array {
  const [event] = new FrameParser().push(frame);
  assert.equal(event?.kind, "frame");
  assert.equal(event.type, HostMessageType.AUTH);
  return event.payload;
}

Deno.test("host auth: the four messages survive a frame round trip", () => {
  const nonce = authNonce();
  const mac = authNonce();
  for (
    const message of [
      { kind: AuthKind.CHALLENGE, version: 1, nonce },
      { kind: AuthKind.PROOF, nonce, mac },
      { kind: AuthKind.ACCEPT, mac },
      { kind: AuthKind.REFUSE, reason: RefuseReason.WRONG_TOKEN, message: "Nein — wrong token" },
    ] as const
  ) {
    assert.deepEqual(decodeAuth(payloadOf(encodeAuth(message))), message);
  }
  assert.equal(payloadOf(encodeAuth({ kind: AuthKind.PROOF, nonce, mac })).length, 65);
});

Deno.test("host auth: malformed messages are protocol errors naming what is wrong", () => {
  assert.throws(() => decodeAuth(new Uint8Array([9])), {
    name: "ProtocolError",
    message: "Unknown authentication message kind 9",
  });
  assert.throws(() => decodeAuth(new Uint8Array(0)), ProtocolError);
  assert.throws(() => decodeAuth(new Uint8Array([AuthKind.PROOF, 1, 2])), {
    message: "Authentication message of kind 2 has 3 bytes, expected 65",
  });
  assert.throws(() => decodeAuth(new Uint8Array([AuthKind.REFUSE])), ProtocolError);
});

Deno.test("host auth: a proof checks only with the same token, both nonces and its own side", async () => {
  const key = await importAuthKey("s3cret");
  const other = await importAuthKey(new TextEncoder().encode("s3cret!"));
  const server = authNonce();
  const client = authNonce();
  const proof = await proveClient(key, server, client);
  assert.equal(proof.length, 32);
  assert.equal(await checkClient(key, server, client, proof), true);
  assert.equal(await checkClient(other, server, client, proof), false, "another token");
  assert.equal(await checkClient(key, authNonce(), client, proof), false, "a replayed proof");
  assert.equal(await checkClient(key, server, authNonce(), proof), false);
  // The runtime's proof is not the host's: neither can be reflected as the other.
  assert.equal(await checkServer(key, server, client, proof), false);
  assert.equal(
    await checkServer(key, server, client, await proveServer(key, server, client)),
    true,
  );
});

Deno.test("host auth: an empty token is refused", async () => {
  await assert.rejects(importAuthKey(""), { name: "RangeError" });
});
