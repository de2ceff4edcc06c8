/**
 * The host link over a WebSocket: each binary message carries link bytes (whole frames or
 * pieces of them, as over TCP), so the same frames, the same token handshake and the same
 * {@linkcode FrameParser} serve a browser page and `serve --ws`. Web APIs only: it runs in
 * a browser, in Deno (both ends) and in Node.js.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { StreamTransport } from "./host_link.ts";

/** Bytes a socket may buffer unsent before writes wait for it to drain. */
export const WS_HIGH_WATER_MARK = 1024 * 1024;

/** A {@linkcode StreamTransport} over a WebSocket, and when that socket opened. */
export interface WebSocketTransport extends StreamTransport {
  /**
   * Resolves once the socket is open; rejects when it closes first (a refused upgrade, an
   * unreachable address).
   */
  readonly opened: Promise<void>;
  /** Closes the socket. */
  close(): void;
}

/** Options of {@linkcode webSocketTransport}. */
export interface WebSocketTransportOptions {
  /**
   * Bytes buffered by the socket past which a write waits until it drains (default
   * {@linkcode WS_HIGH_WATER_MARK}), so a slow peer slows the writer instead of filling
   * memory, and the host server's per-link limit sees the backlog.
   */
  highWaterMark?: number;
}

/**
 * Runs a host link over a WebSocket, opening or open, on either end. Text messages are
 * not part of the link: one closes the socket (code 1003) and fails the read side.
 *
 * @param socket the socket (its `binaryType` is set to `"arraybuffer"`)
 * @param options the write backlog limit
 * @returns the transport, to hand to a `HostClient` or a host server
 *
 * @example Two ends of a link over a real loopback WebSocket
 * ```ts
 * import assert from "node:assert/strict";
 * import { webSocketTransport } from "./ws_transport.ts";
 * import { LinkIo } from "./host_link.ts";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   const io = new LinkIo(webSocketTransport(socket));
 *   (async () => {
 *     for (let chunk; (chunk = await io.read()) !== null;) io.send(chunk.slice()); // echo
 *   })();
 *   return response;
 * });
 * const client = webSocketTransport(new WebSocket(`ws://127.0.0.1:${server.addr.port}/`));
 * const io = new LinkIo(client);
 * io.send(new Uint8Array([0x12, 0x34, 0, 2, 0, 0, 0, 0]));
 * assert.deepEqual(await io.read(), new Uint8Array([0x12, 0x34, 0, 2, 0, 0, 0, 0]));
 * io.close();
 * await server.shutdown();
 * ```
 */
export function webSocketTransport(
  socket: WebSocket,
  options: WebSocketTransportOptions = {},
): WebSocketTransport {
  const highWaterMark = options.highWaterMark ?? WS_HIGH_WATER_MARK;
  socket.binaryType = "arraybuffer";
  const opened = Promise.withResolvers<void>();
  // Awaited by writes; a transport nobody writes to must not report an unhandled rejection.
  opened.promise.catch(() => {});
  if (socket.readyState === WebSocket.OPEN) opened.resolve();
  else if (socket.readyState !== WebSocket.CONNECTING) {
    opened.reject(new Error("The WebSocket is already closed"));
  }
  socket.addEventListener("open", () => opened.resolve());
  let closeCode = 0;
  let closeReason = "";
  const closed = Promise.withResolvers<void>();
  socket.addEventListener("close", function onClose(event: CloseEvent): void {
    closeCode = event.code;
    closeReason = event.reason;
    opened.reject(
      new Error(`The WebSocket closed before it opened (code ${event.code})`),
    );
    closed.resolve();
  });

  const readable = new ReadableStream<Uint8Array>({
    start(controller): void {
      let done = false;
      socket.addEventListener("message", function onMessage(event: MessageEvent): void {
        if (done) return;
        if (typeof event.data === "string") {
          done = true;
          controller.error(
            new ProtocolError("A text message came on the host link; it carries binary frames"),
          );
          socket.close(1003, "The host link carries binary messages only");
          return;
        }
        controller.enqueue(new Uint8Array(event.data as ArrayBuffer));
      });
      socket.addEventListener("close", function onEnd(): void {
        if (done) return;
        done = true;
        controller.close();
      });
    },
    cancel(): void {
      socket.close(1000);
    },
  });

  const writable = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      await opened.promise;
      if (socket.readyState !== WebSocket.OPEN) {
        throw new Error(`The WebSocket is closed (code ${closeCode}${_reason(closeReason)})`);
      }
      socket.send(chunk);
      // A WebSocket has no write completion: wait on its buffer instead.
      while (socket.bufferedAmount > highWaterMark && socket.readyState === WebSocket.OPEN) {
        await Promise.race([closed.promise, new Promise((r) => setTimeout(r, 5))]);
      }
    },
    close(): void {
      // No half-close in WebSocket: the close frame goes after the messages already sent.
      socket.close(1000);
    },
    abort(): void {
      socket.close(1000);
    },
  });

  return {
    readable,
    writable,
    opened: opened.promise,
    close(): void {
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
        socket.close(1000);
      }
    },
  };
}

function _reason(reason: string): string {
  return reason === "" ? "" : `: ${reason}`;
}
