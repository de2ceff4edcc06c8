import assert from "node:assert/strict";
import {
  encodeFrame,
  type FrameEvent,
  FrameParser,
  HostMessageType,
  LinkIo,
  OVERSIZE_HEAD_SIZE,
} from "../sdk/host_link.ts";
import {
  Action,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  FMT_ATTR_CONTAINER,
  ID_HOST,
} from "../sdk/packet.ts";
import { AttrContainer, decode, encodeLikeWamr } from "../sdk/attr_container.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16));
}

function frames(events: FrameEvent[]): [number, number[]][] {
  return events.map((e) => [e.type, e.kind === "frame" ? [...e.payload] : [-1]]);
}

Deno.test("host_link: encodeFrame writes 0x12 0x34, u16 type and u32 length big-endian", () => {
  const frame = encodeFrame(HostMessageType.INSTALL, new Uint8Array([9, 8, 7]));
  assert.deepStrictEqual([...frame], [0x12, 0x34, 0, 4, 0, 0, 0, 3, 9, 8, 7]);
  const big = encodeFrame(0x1234, new Uint8Array(0x10203));
  assert.deepStrictEqual([...big.subarray(0, 8)], [0x12, 0x34, 0x12, 0x34, 0, 1, 2, 3]);
});

Deno.test("host_link: encodeFrame refuses a type that does not fit u16", () => {
  assert.throws(() => encodeFrame(0x10000, new Uint8Array(0)), /65536/);
  assert.throws(() => encodeFrame(-1, new Uint8Array(0)), RangeError);
});

Deno.test("host_link: frames round trip through the parser", () => {
  const parser = new FrameParser();
  const payloads = [new Uint8Array([1]), new Uint8Array(300).fill(0x12), new Uint8Array([0x34])];
  const stream = new Uint8Array(payloads.reduce((n, p) => n + 8 + p.length, 0));
  let at = 0;
  payloads.forEach((p, i) => {
    stream.set(encodeFrame(i + 2, p), at);
    at += 8 + p.length;
  });
  assert.deepStrictEqual(frames(parser.push(stream)), payloads.map((p, i) => [i + 2, [...p]]));
  assert.deepStrictEqual(parser.skippedBytes, 0);
  assert.deepStrictEqual(parser.midFrame, false);
});

Deno.test("host_link: a zero-length payload completes a frame at once", () => {
  const parser = new FrameParser();
  assert.deepStrictEqual(frames(parser.push(encodeFrame(2, new Uint8Array(0)))), [[2, []]]);
  assert.deepStrictEqual(parser.midFrame, false);
});

Deno.test("host_link: frames split at every byte boundary parse the same", () => {
  const a = encodeFrame(
    2,
    encodeRequest({
      action: Action.GET,
      fmt: 99,
      mid: 7,
      sender: 0,
      url: "/applet",
      payload: undefined,
    }),
  );
  const b = encodeFrame(3, new Uint8Array(0));
  const stream = new Uint8Array([...a, ...b]);
  for (let cut = 0; cut <= stream.length; cut++) {
    for (let cut2 = cut; cut2 <= stream.length; cut2 += 5) {
      const parser = new FrameParser();
      const events = [
        ...parser.push(stream.subarray(0, cut)),
        ...parser.push(stream.subarray(cut, cut2)),
        ...parser.push(stream.subarray(cut2)),
      ];
      assert.deepStrictEqual(
        frames(events),
        [[2, [...a.subarray(8)]], [3, []]],
        `cuts ${cut}, ${cut2}`,
      );
    }
  }
  // And one byte at a time.
  const parser = new FrameParser();
  const events = [...stream].flatMap((byte) => parser.push(new Uint8Array([byte])));
  assert.deepStrictEqual(events.length, 2);
});

Deno.test("host_link: the parser skips garbage until 0x12 0x34", () => {
  const parser = new FrameParser();
  const frame = encodeFrame(2, new Uint8Array([5, 6]));
  const garbage = [0x00, 0x34, 0x12, 0x12, 0x00, 0x12, 0x12];
  const events = parser.push(new Uint8Array([...garbage, ...frame, 0xff, ...frame]));
  assert.deepStrictEqual(frames(events), [[2, [5, 6]], [2, [5, 6]]]);
  assert.deepStrictEqual(parser.skippedBytes, garbage.length + 1);
});

Deno.test("host_link: random garbage yields only bounded frames", () => {
  const parser = new FrameParser({ maxPayload: 4096 });
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16 & 0xff;
  let seen = 0;
  for (let round = 0; round < 2000; round++) {
    // Bias towards 0x12 0x34 so headers actually occur.
    const junk = Uint8Array.from({ length: 1 + rand() }, () => {
      const r = rand();
      return r < 40 ? 0x12 : r < 80 ? 0x34 : r < 120 ? 0 : rand();
    });
    for (const e of parser.push(junk)) {
      seen++;
      if (e.kind === "frame") assert.ok(e.payload.length <= 4096);
      else assert.ok(e.length > 4096 && e.head.length <= OVERSIZE_HEAD_SIZE);
    }
  }
  assert.ok(seen > 0);
});

Deno.test("host_link: garbage without 0x12 is skipped and the next frame parses", () => {
  const parser = new FrameParser();
  const junk = Uint8Array.from(
    { length: 5000 },
    (_, i) => (i * 7) % 256 === 0x12 ? 0 : (i * 7) % 256,
  );
  assert.deepStrictEqual(parser.push(junk), []);
  assert.deepStrictEqual(frames(parser.push(encodeFrame(2, new Uint8Array([42])))), [[2, [42]]]);
  assert.deepStrictEqual(parser.skippedBytes, 5000);
});

Deno.test("host_link: an oversize frame is reported once with its head and skipped", () => {
  const parser = new FrameParser({ maxPayload: 64 });
  const packet = encodeRequest({
    action: Action.PUT,
    fmt: 98,
    mid: 0xabcdef01,
    sender: 0,
    url: "/applet?name=big",
    payload: new Uint8Array(1000).fill(0x12),
  });
  const stream = new Uint8Array([
    ...encodeFrame(4, packet),
    ...encodeFrame(2, new Uint8Array([1, 2])),
  ]);
  const events: FrameEvent[] = [];
  for (let i = 0; i < stream.length; i += 37) {
    events.push(...parser.push(stream.subarray(i, i + 37)));
  }
  assert.deepStrictEqual(events.length, 2);
  const over = events[0]!;
  assert.deepStrictEqual(over.kind, "oversize");
  if (over.kind !== "oversize") return;
  assert.deepStrictEqual(over.type, 4);
  assert.deepStrictEqual(over.length, packet.length);
  assert.deepStrictEqual(over.head.length, OVERSIZE_HEAD_SIZE);
  assert.deepStrictEqual(new DataView(over.head.buffer).getUint32(4), 0xabcdef01);
  assert.deepStrictEqual(frames([events[1]!]), [[2, [1, 2]]]);
});

Deno.test("host_link: a 4 GiB announcement is skipped without buffering", () => {
  const parser = new FrameParser();
  const header = new Uint8Array([0x12, 0x34, 0, 2, 0xff, 0xff, 0xff, 0xff]);
  const events = parser.push(new Uint8Array([...header, ...new Uint8Array(100)]));
  assert.deepStrictEqual(events.length, 1);
  assert.deepStrictEqual(events[0]?.kind, "oversize");
  assert.deepStrictEqual(parser.midFrame, true);
});

Deno.test("host_link: the payload limit is configurable and exact", () => {
  const parser = new FrameParser({ maxPayload: 3 });
  const events = parser.push(
    new Uint8Array([
      ...encodeFrame(2, new Uint8Array(3)),
      ...encodeFrame(2, new Uint8Array(4)),
    ]),
  );
  assert.deepStrictEqual(events.map((e) => e.kind), ["frame", "oversize"]);
  assert.throws(() => new FrameParser({ maxPayload: -1 }), RangeError);
});

// §12 raw wire capture: the query host_tool sends with mid 0x11223344 and the 121-byte reply.
const CAPTURED_QUERY = hex(`
  1234 0002 0000001a
  01 01 0063 11223344 00000000 0008 00000000
  2f6170706c657400`);
const CAPTURED_REPLY_HEAD = hex(`
  1234 0003 00000089
  01 45 0063 11223344 fffffffd 00000079`);

function capturedReply(): Uint8Array {
  // The §6 worked example: flags, T = 119, tag "Applets Info", one int "num" = 0, zero slack.
  const container = hex(`
    0000 77000000 0d00 4170706c65747320496e666f00
    0100 0400 6e756d00 02 00000000`);
  const out = new Uint8Array(CAPTURED_REPLY_HEAD.length + 121);
  out.set(CAPTURED_REPLY_HEAD);
  out.set(container, CAPTURED_REPLY_HEAD.length);
  return out;
}

Deno.test("host_link: the captured query frame decodes as GET /applet with mid 0x11223344", () => {
  const events = new FrameParser().push(CAPTURED_QUERY);
  assert.deepStrictEqual(events.length, 1);
  const frame = events[0]!;
  assert.deepStrictEqual(frame.type, HostMessageType.REQUEST);
  if (frame.kind !== "frame") return;
  const req = decodeRequest(frame.payload);
  assert.deepStrictEqual(req, {
    action: Action.GET,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0x11223344,
    sender: 0,
    url: "/applet",
    payload: undefined,
  });
});

Deno.test("host_link: our encoder reproduces the captured query byte for byte", () => {
  const packet = encodeRequest({
    action: Action.GET,
    fmt: FMT_ATTR_CONTAINER,
    mid: 0x11223344,
    sender: 0,
    url: "/applet",
    payload: undefined,
  });
  assert.deepStrictEqual(encodeFrame(HostMessageType.REQUEST, packet), CAPTURED_QUERY);
});

Deno.test("host_link: the captured 121-byte reply decodes to num = 0 and re-encodes identically", () => {
  const bytes = capturedReply();
  const events = new FrameParser().push(bytes);
  const frame = events[0]!;
  assert.deepStrictEqual(frame.type, HostMessageType.RESPONSE);
  if (frame.kind !== "frame") return;
  const res = decodeResponse(frame.payload);
  assert.deepStrictEqual([res.status, res.fmt, res.mid, res.receiver], [
    69,
    99,
    0x11223344,
    ID_HOST,
  ]);
  assert.deepStrictEqual(res.payload?.length, 121);
  const container = decode(res.payload!);
  assert.deepStrictEqual(container.tag, "Applets Info");
  assert.deepStrictEqual(container.get("num"), { type: "int", value: 0 });
  assert.deepStrictEqual(
    encodeLikeWamr(new AttrContainer("Applets Info").setInt("num", 0)),
    res.payload,
  );
});

Deno.test("host_link: LinkIo over a connection reads a 1 MiB frame whole, its buffer growing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = new LinkIo(await listener.accept());
  const payload = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => i * 7);
  const sent = new LinkIo(client);
  sent.send(encodeFrame(2, payload));
  const parser = new FrameParser({ maxPayload: 2 * 1024 * 1024 });
  const sizes: number[] = [];
  let frame: Uint8Array | undefined;
  while (!frame) {
    const chunk = await server.read();
    assert.ok(chunk);
    sizes.push(chunk.length);
    for (const e of parser.push(chunk)) if (e.kind === "frame") frame = e.payload;
  }
  assert.deepEqual(frame, payload);
  assert.ok(sizes[0]! <= 4096, `the first read fits in 4 KiB, got ${sizes[0]}`);
  assert.ok(Math.max(...sizes) > 4096, `later reads grow: ${sizes.slice(0, 8)}`);
  sent.close();
  server.close();
  listener.close();
});

Deno.test("host_link: LinkIo.end sends what is queued, then the peer reads the end", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const io = new LinkIo(await listener.accept());
  io.send(encodeFrame(3, new Uint8Array([1, 2, 3])));
  io.end();
  io.send(encodeFrame(3, new Uint8Array([4]))); // ignored once ending
  const got: number[] = [];
  const buf = new Uint8Array(64);
  for (let n; (n = await client.read(buf)) !== null;) got.push(...buf.subarray(0, n));
  assert.deepEqual(got, [...encodeFrame(3, new Uint8Array([1, 2, 3]))]);
  // Still readable after ending: the peer may finish sending.
  await client.write(encodeFrame(2, new Uint8Array(0)));
  assert.deepEqual(await io.read(), encodeFrame(2, new Uint8Array(0)));
  client.close();
  io.close();
  listener.close();
});
