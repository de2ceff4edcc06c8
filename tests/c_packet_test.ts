// The C SDK's packets (sdk/c/src/packet.c, what apps send and receive) against the TypeScript
// codec (sdk/packet.ts, what the runtime and host tools use): the same fields give the same
// bytes in both directions, and both refuse the same malformed packets.
import assert from "node:assert/strict";
import {
  Action,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  ID_APP_MGR,
  ID_HOST,
  ID_NONE,
  type Request,
  type Response,
  Status,
} from "../sdk/packet.ts";
import { AttrContainer, encodeLikeWamr } from "../sdk/attr_container.ts";
import { ProtocolError } from "../sdk/errors.ts";
import { buildCApp, type CApp, loadCApp } from "./_c_app.ts";

const SOURCES = ["tests/fixtures/c_packet.c", "sdk/c/src/packet.c"];

// Built once for all tests; each test gets a fresh instance.
const wasm = await buildCApp(SOURCES);

function test(name: string, fn: (app: CApp) => void | Promise<void>): void {
  Deno.test({
    name: `c packet: ${name}`,
    async fn() {
      await fn(await loadCApp(wasm));
    },
  });
}

const _encoder = new TextEncoder();

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

const REQUESTS: readonly (Request & { label: string })[] = [
  {
    label: "host_tool's query of /applet",
    action: Action.GET,
    fmt: FMT_ATTR_CONTAINER,
    mid: 1,
    sender: 0,
    url: "/applet",
    payload: undefined,
  },
  {
    label: "a PUT from the host with an attr_container",
    action: Action.PUT,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0x12345678,
    sender: ID_HOST,
    url: "/app/request_handler/url1",
    payload: encodeLikeWamr(new AttrContainer("request").setInt("n", 42).setString("k", "v")),
  },
  {
    label: "an event with the largest mid",
    action: Action.EVENT,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0xffffffff,
    sender: 7,
    url: "alert/overheat",
    payload: encodeLikeWamr(new AttrContainer("event").setString("warning", "hot")),
  },
  {
    label: "an install: raw binary payload longer than 255 bytes",
    action: Action.POST,
    fmt: FMT_APP_RAW_BINARY,
    mid: 2,
    sender: ID_HOST,
    url: "/applet?name=timer&type=wasm&heap=8192",
    payload: bytes(300, 1),
  },
  {
    label: "an empty URL and the widest fmt and action",
    action: 0xff,
    fmt: 0xffff,
    mid: 0,
    sender: ID_APP_MGR,
    url: "",
    payload: Uint8Array.of(0),
  },
  {
    label: "a UTF-8 URL",
    action: Action.DELETE,
    fmt: 0,
    mid: 77,
    sender: ID_NONE,
    url: "/capteurs/température/°C",
    payload: undefined,
  },
  {
    label: "a URL longer than 255 bytes",
    action: Action.GET,
    fmt: 0,
    mid: 0x80000000,
    sender: 0x7fffffff,
    url: `/long/${"x".repeat(400)}`,
    payload: bytes(70_000, 3),
  },
];

const RESPONSES: readonly (Response & { label: string })[] = [
  {
    label: "an empty 2.01 to the host",
    status: Status.CREATED_2_01,
    fmt: 0,
    mid: 1,
    receiver: ID_HOST,
    payload: undefined,
  },
  {
    label: "a 2.05 with an attr_container",
    status: Status.CONTENT_2_05,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0x01020304,
    receiver: 3,
    payload: encodeLikeWamr(new AttrContainer("room").setDouble("temperature", 20.5)),
  },
  {
    label: "a 4.04 with the largest ids",
    status: Status.NOT_FOUND_4_04,
    fmt: 0,
    mid: 0xfffffffe,
    receiver: ID_NONE,
    payload: Uint8Array.of(0xff),
  },
  {
    label: "a 5.00 with a payload longer than 65535 bytes",
    status: Status.INTERNAL_SERVER_ERROR_5_00,
    fmt: FMT_APP_RAW_BINARY,
    mid: 9,
    receiver: ID_APP_MGR,
    payload: bytes(70_000, 5),
  },
];

// Copies a NUL-terminated string into the app.
function putString(app: CApp, text: string): number {
  return app.put(Uint8Array.from([..._encoder.encode(text), 0]));
}

// The packet the fixture last built.
function lastPacket(app: CApp): Uint8Array {
  return app.read(app.call("packet_ptr"), app.call("packet_size"));
}

// pack_request in C with the request's fields.
function packInC(app: CApp, r: Request): Uint8Array {
  const payload = r.payload ?? new Uint8Array(0);
  const ok = app.call(
    "pack_req",
    r.action,
    r.fmt,
    r.mid,
    r.sender,
    putString(app, r.url),
    payload.length === 0 ? 0 : app.put(payload),
    payload.length,
  );
  assert.equal(ok, 1, "pack_request returned NULL");
  return lastPacket(app);
}

function packResponseInC(app: CApp, r: Response): Uint8Array {
  const payload = r.payload ?? new Uint8Array(0);
  const ok = app.call(
    "pack_resp",
    r.status,
    r.fmt,
    r.mid,
    r.receiver,
    payload.length === 0 ? 0 : app.put(payload),
    payload.length,
  );
  assert.equal(ok, 1, "pack_response returned NULL");
  return lastPacket(app);
}

// unpack_request in C; the fields it read, or undefined when it refused the packet.
function unpackInC(app: CApp, packet: Uint8Array): Request | undefined {
  if (app.call("unpack_req", app.put(packet), packet.length) !== 1) return undefined;
  const length = app.call("req_payload_len");
  return {
    action: app.call("req_action"),
    fmt: app.call("req_fmt"),
    mid: app.call("req_mid") >>> 0,
    sender: app.call("req_sender") >>> 0,
    url: app.cstring(app.call("req_url")),
    payload: length === 0 ? undefined : app.read(app.call("req_payload"), length),
  };
}

function unpackResponseInC(app: CApp, packet: Uint8Array): Response | undefined {
  if (app.call("unpack_resp", app.put(packet), packet.length) !== 1) return undefined;
  const length = app.call("resp_payload_len");
  return {
    status: app.call("resp_status"),
    fmt: app.call("resp_fmt"),
    mid: app.call("resp_mid") >>> 0,
    receiver: app.call("resp_receiver") >>> 0,
    payload: length === 0 ? undefined : app.read(app.call("resp_payload"), length),
  };
}

// The fields as the decoders return them: ids unsigned, no empty payload, no label.
function requestFields(r: Request): Request {
  return {
    action: r.action,
    fmt: r.fmt,
    mid: r.mid >>> 0,
    sender: r.sender >>> 0,
    url: r.url,
    payload: r.payload?.length ? r.payload.slice() : undefined,
  };
}

function responseFields(r: Response): Response {
  return {
    status: r.status,
    fmt: r.fmt,
    mid: r.mid >>> 0,
    receiver: r.receiver >>> 0,
    payload: r.payload?.length ? r.payload.slice() : undefined,
  };
}

// A decoded packet with its payload copied out of the packet (a view, for the decoders).
function detached<T extends { payload: Uint8Array | undefined }>(decoded: T): T {
  return { ...decoded, payload: decoded.payload?.slice() };
}

test("pack_request gives encodeRequest's bytes", (app) => {
  for (const request of REQUESTS) {
    assert.deepEqual(packInC(app, request), encodeRequest(request), request.label);
  }
});

test("unpack_request reads encodeRequest's packets field for field", (app) => {
  for (const request of REQUESTS) {
    assert.deepEqual(unpackInC(app, encodeRequest(request)), requestFields(request), request.label);
  }
});

test("decodeRequest reads pack_request's packets field for field", (app) => {
  for (const request of REQUESTS) {
    assert.deepEqual(
      detached(decodeRequest(packInC(app, request))),
      requestFields(request),
      request.label,
    );
  }
});

test("pack_response gives encodeResponse's bytes", (app) => {
  for (const response of RESPONSES) {
    assert.deepEqual(packResponseInC(app, response), encodeResponse(response), response.label);
  }
});

test("unpack_response reads encodeResponse's packets field for field", (app) => {
  for (const response of RESPONSES) {
    assert.deepEqual(
      unpackResponseInC(app, encodeResponse(response)),
      responseFields(response),
      response.label,
    );
  }
});

test("decodeResponse reads pack_response's packets field for field", (app) => {
  for (const response of RESPONSES) {
    assert.deepEqual(
      detached(decodeResponse(packResponseInC(app, response))),
      responseFields(response),
      response.label,
    );
  }
});

test("a request unpacked and packed again in C is the same bytes", (app) => {
  for (const request of REQUESTS) {
    const packet = encodeRequest(request);
    assert.equal(app.call("repack_req", app.put(packet), packet.length), 1, request.label);
    assert.deepEqual(lastPacket(app), packet, request.label);
  }
});

test("an app's answer keeps the request's mid and goes to its sender", (app) => {
  const request = REQUESTS[1]!;
  const packet = encodeRequest(request);
  const payload = encodeLikeWamr(new AttrContainer("reply").setInt("ok", 1));
  const ok = app.call(
    "answer_req",
    app.put(packet),
    packet.length,
    Status.CHANGED_2_04,
    FMT_ATTR_CONTAINER,
    app.put(payload),
    payload.length,
  );
  assert.equal(ok, 1);
  assert.deepEqual(
    lastPacket(app),
    encodeResponse({
      status: Status.CHANGED_2_04,
      fmt: FMT_ATTR_CONTAINER,
      mid: request.mid,
      receiver: request.sender,
      payload,
    }),
  );
});

test("an early NUL ends the URL for both", (app) => {
  const packet = encodeRequest({ ...REQUESTS[0]!, url: "/ab" });
  packet[18 + 2] = 0; // "/a\0\0"
  assert.equal(unpackInC(app, packet)?.url, "/a");
  assert.equal(decodeRequest(packet).url, "/a");
});

// Each malformed packet: both refuse it, C by returning NULL, TypeScript with a ProtocolError.
function malformedRequests(): [string, Uint8Array][] {
  const good = encodeRequest(REQUESTS[1]!);
  const withByte = (at: number, value: number): Uint8Array => {
    const copy = good.slice();
    copy[at] = value;
    return copy;
  };
  const urlLenZero = good.slice();
  new DataView(urlLenZero.buffer).setUint16(12, 0);
  new DataView(urlLenZero.buffer).setUint32(14, good.length - 18);
  const hugePayload = good.slice();
  // 18 + url_len + 0xffffffff wraps to less than the size in 32 bits.
  new DataView(hugePayload.buffer).setUint32(14, 0xffffffff);
  const urlLen = new DataView(good.buffer).getUint16(12);
  return [
    ["version 2", withByte(0, 2)],
    ["shorter than the fixed part", good.subarray(0, 17)],
    ["one byte too many", Uint8Array.from([...good, 0])],
    ["one byte too few", good.subarray(0, good.length - 1)],
    ["url_len 0", urlLenZero],
    ["URL without its NUL", withByte(18 + urlLen - 1, 0x41)],
    ["payload_len that wraps", hugePayload],
  ];
}

test("both refuse the same malformed requests", (app) => {
  for (const [label, packet] of malformedRequests()) {
    assert.equal(unpackInC(app, packet), undefined, `C accepted: ${label}`);
    assert.throws(() => decodeRequest(packet), ProtocolError, `TypeScript accepted: ${label}`);
  }
});

test("both refuse the same malformed responses", (app) => {
  const good = encodeResponse(RESPONSES[1]!);
  const version = good.slice();
  version[0] = 0;
  const hugePayload = good.slice();
  new DataView(hugePayload.buffer).setUint32(12, 0xffffffff);
  const cases: [string, Uint8Array][] = [
    ["version 0", version],
    ["shorter than the fixed part", good.subarray(0, 15)],
    ["one byte too many", Uint8Array.from([...good, 0])],
    ["one byte too few", good.subarray(0, good.length - 1)],
    ["payload_len that wraps", hugePayload],
  ];
  for (const [label, packet] of cases) {
    assert.equal(unpackResponseInC(app, packet), undefined, `C accepted: ${label}`);
    assert.throws(() => decodeResponse(packet), ProtocolError, `TypeScript accepted: ${label}`);
  }
});
