import assert from "node:assert/strict";
import {
  Action,
  decodeRequest,
  decodeRequestInto,
  decodeResponse,
  decodeResponseInto,
  encodeRequest,
  encodeResponse,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  ID_APP_MGR,
  ID_HOST,
  ID_NONE,
  type Request,
  REQUEST_FIXED_SIZE,
  requestSize,
  RESPONSE_FIXED_SIZE,
  responseSize,
  Status,
  writeRequest,
  writeResponse,
} from "../sdk/packet.ts";
import { ProtocolError } from "../sdk/errors.ts";
import {
  AttrContainer,
  decode,
  encodeLikeWamr,
  formatHostToolJSON,
} from "../sdk/attr_container.ts";

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

const QUERY = new Uint8Array([
  ...hex("01 01 0063 11223344 00000000 0008 00000000"),
  ...new TextEncoder().encode("/applet\0"),
]);

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("packet: constants carry WAMR's values", () => {
  assert.deepEqual(Action, { GET: 1, POST: 2, PUT: 3, DELETE: 4, EVENT: 6 });
  assert.equal(Status.NO_ERROR, 0);
  assert.equal(Status.CREATED_2_01, 65);
  assert.equal(Status.DELETED_2_02, 66);
  assert.equal(Status.CONTENT_2_05, 69);
  assert.equal(Status.CONTINUE_2_31, 95);
  assert.equal(Status.NOT_ACCEPTABLE_4_06, 134);
  assert.equal(Status.PRECONDITION_FAILED_4_12, 140);
  assert.equal(Status.UNSUPPORTED_MEDIA_TYPE_4_15, 143);
  assert.equal(Status.INTERNAL_SERVER_ERROR_5_00, 160);
  assert.equal(Status.PROXYING_NOT_SUPPORTED_5_05, 165);
  assert.equal(Status.MEMORY_ALLOCATION_ERROR, 192);
  assert.equal(Status.PING_RESPONSE, 195);
  assert.equal(Object.keys(Status).length, 27);
  assert.equal(FMT_ATTR_CONTAINER, 99);
  assert.equal(FMT_APP_RAW_BINARY, 98);
  assert.equal(ID_HOST, 0xfffffffd);
  assert.equal(ID_APP_MGR, 0xfffffffe);
  assert.equal(ID_NONE, 0xffffffff);
  assert.equal(REQUEST_FIXED_SIZE, 18);
  assert.equal(RESPONSE_FIXED_SIZE, 16);
});

Deno.test("packet: decodes the captured query request", () => {
  assert.equal(QUERY.length, 0x1a);
  assert.deepEqual(decodeRequest(QUERY), {
    action: Action.GET,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0x11223344,
    sender: 0,
    url: "/applet",
    payload: undefined,
  });
});

Deno.test("packet: encodes the captured query request byte for byte", () => {
  const req: Request = {
    action: Action.GET,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0x11223344,
    sender: 0,
    url: "/applet",
    payload: undefined,
  };
  assert.deepEqual(encodeRequest(req), QUERY);
  assert.deepEqual(encodeRequest({ ...req, version: 1, payload: new Uint8Array(0) }), QUERY);
});

Deno.test("packet: decodes the captured query response and its container", () => {
  const container = encodeLikeWamr(new AttrContainer("Applets Info").setInt("num", 0));
  const bytes = new Uint8Array([
    ...hex("01 45 0063 11223344 fffffffd 00000079"),
    ...container,
  ]);
  const res = decodeResponse(bytes);
  assert.equal(res.status, Status.CONTENT_2_05);
  assert.equal(res.fmt, FMT_ATTR_CONTAINER);
  assert.equal(res.mid, 0x11223344);
  assert.equal(res.receiver, ID_HOST);
  assert.equal(res.payload?.length, 121);
  assert.deepEqual(res.payload, container);
  assert.equal(formatHostToolJSON(decode(res.payload!)), '{\n\t"num":\t0\n}');
  assert.deepEqual(
    encodeResponse({ ...res, receiver: -3 }),
    bytes,
  );
});

Deno.test("packet: request round trip with payload and signed ids", () => {
  const payload = new Uint8Array([1, 2, 3, 4, 5]);
  const bytes = encodeRequest({
    action: Action.PUT,
    fmt: FMT_APP_RAW_BINARY,
    mid: -1,
    sender: -3,
    url: "/applet?name=héllo",
    payload,
  });
  const req = decodeRequest(bytes);
  assert.equal(req.mid, 0xffffffff);
  assert.equal(req.sender, ID_HOST);
  assert.equal(req.url, "/applet?name=héllo");
  assert.deepEqual(req.payload, payload);
});

Deno.test("packet: decoded payloads are zero-copy views", () => {
  const bytes = encodeRequest({
    action: 2,
    fmt: 0,
    mid: 1,
    sender: 1,
    url: "/u",
    payload: new Uint8Array([9, 8]),
  });
  const req = decodeRequest(bytes);
  assert.equal(req.payload?.buffer, bytes.buffer);
  assert.equal(req.payload?.byteOffset, 18 + 3);
  const res = decodeResponse(encodeResponse({
    status: 69,
    fmt: 0,
    mid: 1,
    receiver: 1,
    payload: new Uint8Array([7]),
  }));
  assert.deepEqual(res.payload, new Uint8Array([7]));
});

Deno.test("packet: decodes from a subarray at a non-zero offset", () => {
  const framed = new Uint8Array(8 + QUERY.length);
  framed.set(QUERY, 8);
  assert.equal(decodeRequest(framed.subarray(8)).url, "/applet");
});

Deno.test("packet: the URL ends at its first NUL, like WAMR's C string", () => {
  const bytes = QUERY.slice();
  bytes[18 + 4] = 0; // "/app\0t\0"
  assert.equal(decodeRequest(bytes).url, "/app");
});

Deno.test("packet: rejects a request with version other than 1", () => {
  const bytes = QUERY.slice();
  bytes[0] = 2;
  rejects(() => decodeRequest(bytes), "Request packet: version 2 is not 1");
});

Deno.test("packet: rejects a request shorter than the fixed part", () => {
  rejects(
    () => decodeRequest(QUERY.subarray(0, 17)),
    "Request packet: size 17 is less than the fixed part of 18 bytes",
  );
  rejects(
    () => decodeRequest(new Uint8Array(0)),
    "Request packet: size 0 is less than the fixed part of 18 bytes",
  );
});

Deno.test("packet: rejects url_len that runs past the end", () => {
  const bytes = new Uint8Array(30);
  bytes.set(hex("01 01 0000 00000001 00000000 0008 00000005"));
  rejects(
    () => decodeRequest(bytes),
    "Request packet: size 30 does not match 18 + url_len 8 + payload_len 5",
  );
});

Deno.test("packet: rejects a request with trailing bytes", () => {
  rejects(
    () => decodeRequest(new Uint8Array([...QUERY, 0])),
    "Request packet: size 27 does not match 18 + url_len 8 + payload_len 0",
  );
});

Deno.test("packet: rejects url_len 0", () => {
  rejects(
    () => decodeRequest(hex("01 01 0000 00000001 00000000 0000 00000000")),
    "Request packet: url_len 0 leaves no room for the URL's NUL",
  );
});

Deno.test("packet: rejects a URL whose last byte is not 0", () => {
  const bytes = QUERY.slice();
  bytes[25] = 0x41;
  rejects(() => decodeRequest(bytes), "Request packet: last URL byte at offset 25 is not 0");
});

Deno.test("packet: rejects a response with version other than 1", () => {
  rejects(
    () => decodeResponse(hex("00 45 0000 00000001 00000001 00000000")),
    "Response packet: version 0 is not 1",
  );
});

Deno.test("packet: rejects a response shorter than the fixed part", () => {
  rejects(
    () => decodeResponse(hex("01 45 0000 00000001 00000001 0000")),
    "Response packet: size 14 is less than the fixed part of 16 bytes",
  );
});

Deno.test("packet: rejects a response whose payload_len does not match", () => {
  rejects(
    () => decodeResponse(hex("01 45 0000 00000001 00000001 00000002 aa")),
    "Response packet: size 17 does not match 16 + payload_len 2",
  );
});

Deno.test("packet: encode checks field widths and the URL", () => {
  const base: Request = { action: 1, fmt: 0, mid: 0, sender: 0, url: "/", payload: undefined };
  assert.throws(() => encodeRequest({ ...base, action: 256 }), /Field action 256 is out of range/);
  assert.throws(() => encodeRequest({ ...base, fmt: 65536 }), RangeError);
  assert.throws(() => encodeRequest({ ...base, mid: 2 ** 32 }), RangeError);
  assert.throws(() => encodeRequest({ ...base, sender: 1.5 }), RangeError);
  assert.throws(() => encodeRequest({ ...base, url: "/a\0b" }), TypeError);
  assert.throws(() => encodeRequest({ ...base, url: "x".repeat(65535) }), /url_len 65536/);
  assert.equal(encodeRequest({ ...base, url: "x".repeat(65534) }).length, 18 + 65535);
  assert.throws(
    () => encodeResponse({ status: 300, fmt: 0, mid: 0, receiver: 0, payload: undefined }),
    RangeError,
  );
});

Deno.test("packet: writeRequest writes what encodeRequest encodes, at an offset, shared memory too", () => {
  for (const url of ["/a", "/é/x", "/日本", "/\ud800/lone surrogate"]) {
    const request: Request = {
      action: Action.PUT,
      fmt: 0xffff,
      mid: -1,
      sender: ID_HOST,
      url,
      payload: new Uint8Array([9, 8, 7]),
    };
    const encoded = encodeRequest(request);
    assert.equal(requestSize(request), encoded.length);
    for (const out of [new Uint8Array(128), new Uint8Array(new SharedArrayBuffer(128))]) {
      out.fill(0xaa);
      assert.equal(writeRequest(request, out, 5), encoded.length);
      assert.deepEqual(out.slice(5, 5 + encoded.length), encoded);
      assert.equal(out[4], 0xaa, "nothing before the offset");
      assert.equal(out[5 + encoded.length], 0xaa, "nothing after the packet");
    }
  }
});

Deno.test("packet: writeResponse writes what encodeResponse encodes; sizes match", () => {
  const response = { status: 69, fmt: 99, mid: 0xffffffff, receiver: -3, payload: undefined };
  const encoded = encodeResponse(response);
  assert.equal(responseSize(response), RESPONSE_FIXED_SIZE);
  const out = new Uint8Array(40).fill(0xaa);
  assert.equal(writeResponse(response, out, 20), RESPONSE_FIXED_SIZE);
  assert.deepEqual(out.slice(20, 36), encoded);
  assert.equal(out[36], 0xaa);
});

Deno.test("packet: sizes check every field first, and a short buffer is refused untouched", () => {
  assert.throws(
    () => requestSize({ action: 256, fmt: 0, mid: 1, sender: 0, url: "/x", payload: undefined }),
    new RangeError("Field action 256 is out of range (0..255)"),
  );
  assert.throws(
    () => requestSize({ action: 1, fmt: 0, mid: 1, sender: 0, url: "/\0", payload: undefined }),
    new TypeError('Request url "/\0" contains a NUL character'),
  );
  assert.throws(
    () => responseSize({ status: 69, fmt: 0, mid: 1, receiver: 2 ** 32, payload: undefined }),
    new RangeError("Field receiver 4294967296 is out of range (-2147483648..4294967295)"),
  );
  const out = new Uint8Array(20);
  const request = { action: 1, fmt: 0, mid: 1, sender: 0, url: "/x", payload: undefined };
  assert.throws(
    () => writeRequest(request, out, 0),
    new RangeError("Packet of 21 bytes does not fit at offset 0 of 20 bytes"),
  );
  assert.deepEqual(out, new Uint8Array(20), "nothing written");
});

Deno.test("packet: URLs decode right whatever was decoded before (the URL cache)", () => {
  const urls = ["/abc", "/abd", "/abc", "/é", "/\u00c3", "/abc", "", "/abc"];
  for (const url of urls) {
    const bytes = encodeRequest({ action: 1, fmt: 0, mid: 1, sender: 0, url, payload: undefined });
    assert.equal(decodeRequest(bytes).url, url);
  }
  // An invalid byte decodes to U+FFFD, never to a cached URL of the same length.
  const invalid = encodeRequest({
    action: 1,
    fmt: 0,
    mid: 1,
    sender: 0,
    url: "/a",
    payload: undefined,
  });
  invalid[19] = 0xc3;
  assert.equal(decodeRequest(invalid).url, "/\ufffd");
  assert.equal(decodeRequest(encodeRequest({ ...decodeRequest(QUERY), url: "/a" })).url, "/a");
});

Deno.test("packet: decodeRequestInto and decodeResponseInto decode as the others do, keep a payload view of the same bytes, and make a new one once memory grew", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  const request = encodeRequest({
    action: Action.POST,
    fmt: 0,
    mid: 7,
    sender: 3,
    url: "/echo",
    payload: new Uint8Array([1, 2, 3]),
  });
  new Uint8Array(memory.buffer).set(request, 100);
  const into = { action: 0, fmt: 0, mid: 0, sender: 0, url: "", payload: undefined };
  const view = () => new Uint8Array(memory.buffer, 100, request.length);
  assert.deepEqual(decodeRequestInto(view(), into), decodeRequest(request));
  const payload = into.payload;
  assert.equal(decodeRequestInto(view(), into).payload, payload, "the same view");
  memory.grow(1); // detaches the old buffer
  assert.notEqual(decodeRequestInto(view(), into).payload, payload);
  assert.deepEqual(into, decodeRequest(request));
  // No payload, then an error that leaves the object as it was.
  const empty = encodeRequest({
    action: 1,
    fmt: 0,
    mid: 1,
    sender: 0,
    url: "/x",
    payload: undefined,
  });
  assert.equal(decodeRequestInto(empty, into).payload, undefined);
  assert.throws(() => decodeRequestInto(empty.subarray(0, 10), into), ProtocolError);
  assert.deepEqual(into, decodeRequest(empty));

  const response = encodeResponse({
    status: Status.CONTENT_2_05,
    fmt: 99,
    mid: 5,
    receiver: 1,
    payload: new Uint8Array([9]),
  });
  const res = { status: 0, fmt: 0, mid: 0, receiver: 0, payload: undefined };
  assert.deepEqual(decodeResponseInto(response, res), decodeResponse(response));
  const resPayload = res.payload;
  assert.equal(decodeResponseInto(response, res).payload, resPayload);
  assert.throws(() => decodeResponseInto(response.subarray(0, 16), res), ProtocolError);
});
