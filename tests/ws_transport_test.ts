// sdk/ws_transport.ts: the host link's bytes over a WebSocket, with a scripted socket for the
// states a real one reaches only by chance, and a real loopback socket for the bytes.
import assert from "node:assert/strict";
import { webSocketTransport } from "../sdk/ws_transport.ts";
import { encodeFrame, FrameParser, LinkIo } from "../sdk/host_link.ts";
import { ProtocolError } from "../sdk/errors.ts";

/** A WebSocket whose state, buffer and events the test sets. */
class ScriptedSocket extends EventTarget {
  readyState: number = WebSocket.CONNECTING;
  bufferedAmount = 0;
  binaryType = "blob";
  readonly sent: Uint8Array[] = [];
  closedWith: number | undefined;

  send(data: Uint8Array): void {
    this.sent.push(data.slice());
    this.bufferedAmount += data.length;
  }

  close(code = 1005): void {
    this.closedWith ??= code;
  }

  open(): void {
    this.readyState = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  receive(data: ArrayBuffer | string): void {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  end(code: number, reason = ""): void {
    this.readyState = WebSocket.CLOSED;
    this.dispatchEvent(new CloseEvent("close", { code, reason }));
  }
}

function scripted(highWaterMark?: number) {
  const socket = new ScriptedSocket();
  const transport = webSocketTransport(
    socket as unknown as WebSocket,
    highWaterMark === undefined ? {} : { highWaterMark },
  );
  return { socket, transport };
}

Deno.test("ws transport: writes wait for the socket to open, then go out in order", async () => {
  const { socket, transport } = scripted();
  assert.equal(socket.binaryType, "arraybuffer");
  const writer = transport.writable.getWriter();
  const first = writer.write(new Uint8Array([1, 2]));
  const second = writer.write(new Uint8Array([3]));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(socket.sent.length, 0, "nothing is sent before the socket opens");
  socket.open();
  await Promise.all([first, second]);
  assert.deepEqual(socket.sent, [new Uint8Array([1, 2]), new Uint8Array([3])]);
});

Deno.test("ws transport: a write past the high-water mark waits until the buffer drains", async () => {
  const { socket, transport } = scripted(4);
  socket.open();
  const writer = transport.writable.getWriter();
  let done = false;
  const write = writer.write(new Uint8Array(8)).then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(done, false, "8 bytes buffered > 4: the write waits");
  socket.bufferedAmount = 0; // the socket sent them
  await write;
  assert.equal(done, true);
});

Deno.test("ws transport: opened rejects when the socket closes before it opens", async () => {
  const { socket, transport } = scripted();
  socket.end(1006);
  await assert.rejects(transport.opened, /The WebSocket closed before it opened \(code 1006\)/);
  const reader = transport.readable.getReader();
  assert.deepEqual(await reader.read(), { done: true, value: undefined });
});

Deno.test("ws transport: a write after the socket closed fails with its code and reason", async () => {
  const { socket, transport } = scripted();
  socket.open();
  socket.end(1011, "server error");
  const writer = transport.writable.getWriter();
  await assert.rejects(
    writer.write(new Uint8Array([1])),
    /The WebSocket is closed \(code 1011: server error\)/,
  );
});

Deno.test("ws transport: a text message fails the read side and closes the socket 1003", async () => {
  const { socket, transport } = scripted();
  socket.open();
  const reader = transport.readable.getReader();
  socket.receive(new Uint8Array([0x12, 0x34]).buffer);
  assert.deepEqual((await reader.read()).value, new Uint8Array([0x12, 0x34]));
  socket.receive("GET /applet");
  await assert.rejects(
    reader.read(),
    (e: unknown) => e instanceof ProtocolError && /carries binary frames/.test(e.message),
  );
  assert.equal(socket.closedWith, 1003);
});

Deno.test("ws transport: close and cancel close the socket normally", async () => {
  const { socket, transport } = scripted();
  socket.open();
  await transport.readable.cancel();
  assert.equal(socket.closedWith, 1000);
  const other = scripted();
  other.socket.open();
  other.transport.close();
  assert.equal(other.socket.closedWith, 1000);
});

Deno.test({
  name: "ws transport: frames split across messages, and several in one, parse on a real socket",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const frames = [
      encodeFrame(2, new Uint8Array(3000).fill(7)),
      encodeFrame(3, new Uint8Array([1])),
      encodeFrame(2, new Uint8Array(0)),
    ];
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      stream.set(f, at);
      at += f.length;
    }
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onopen = () => {
        // Cut mid-header, mid-payload, and two frames in the last message.
        for (const [from, to] of [[0, 5], [5, 1500], [1500, stream.length]]) {
          socket.send(stream.slice(from, to));
        }
      };
      return response;
    });
    const io = new LinkIo(webSocketTransport(new WebSocket(`ws://127.0.0.1:${server.addr.port}/`)));
    const parser = new FrameParser();
    const got: { type: number; length: number }[] = [];
    while (got.length < 3) {
      const chunk = await io.read();
      assert.notEqual(chunk, null);
      for (const e of parser.push(chunk!)) {
        if (e.kind === "frame") got.push({ type: e.type, length: e.payload.length });
      }
    }
    assert.deepEqual(got, [
      { type: 2, length: 3000 },
      { type: 3, length: 1 },
      { type: 2, length: 0 },
    ]);
    io.close();
    await server.shutdown();
  },
});
