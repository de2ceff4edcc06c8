/**
 * `serve --ws PORT`: the host link over WebSocket, for browser pages (the playground's
 * "install on a device"). Every upgraded socket is a host link like a TCP connection: the
 * same frames ({@linkcode webSocketTransport}), the same token handshake, the same limits,
 * served by the same {@linkcode HostServer}.
 *
 * Browsers let any web page open a WebSocket to any address, the loopback included, so the
 * endpoint checks the `Origin` a browser sends: pages served from a loopback address, and
 * the origins given, may connect; clients that send no `Origin` (not a browser) may too.
 *
 * @module
 */

import { webSocketTransport } from "../../sdk/ws_transport.ts";
import type { HostLogLevel, HostServer } from "./host_server.ts";

/** Where and how {@linkcode listenWebSocket} listens. */
export interface WebSocketListenOptions {
  /** Address (default 127.0.0.1). */
  hostname?: string;
  /** Port; 0 picks a free one (default 8889). */
  port?: number;
  /** Serve `wss:` with this PEM certificate chain and key. */
  tls?: { cert: string; key: string };
  /**
   * Browser origins allowed besides loopback pages (`https://console.example.com`, or `*`
   * for any). Default: none.
   */
  origins?: readonly string[];
  /** Receives log lines: refused origins, plain HTTP requests. */
  log?: (level: HostLogLevel, message: string) => void;
}

/** A listening WebSocket endpoint. */
export interface WebSocketEndpoint {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** The URL a page connects to (`ws://127.0.0.1:PORT/`). */
  readonly url: string;
  /** Stops listening; the links it admitted close with the host server. */
  close(): Promise<void>;
}

/**
 * Whether a browser page from `origin` may open a host link: no origin (a client that is
 * not a browser), a page served from a loopback address, or one of `allowed` (`*`: any).
 *
 * @param origin the request's `Origin` header, or null
 * @param allowed origins allowed besides loopback ones
 * @returns whether to serve it
 *
 * @example Loopback pages may connect, other sites may not
 * ```ts
 * import assert from "node:assert/strict";
 * import { originAllowed } from "./ws_link.ts";
 * assert.equal(originAllowed("http://127.0.0.1:8000", []), true);
 * assert.equal(originAllowed("http://localhost:5173", []), true);
 * assert.equal(originAllowed("https://evil.example", []), false);
 * assert.equal(originAllowed("https://console.example", ["https://console.example"]), true);
 * assert.equal(originAllowed(null, []), true); // not a browser
 * ```
 */
export function originAllowed(origin: string | null, allowed: readonly string[]): boolean {
  if (origin === null) return true;
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (a file: page, a sandboxed frame) and anything else unreadable
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Listens for WebSocket upgrades and hands each socket to `server` as a host link (refused
 * like a TCP link past the server's `maxConnections`).
 *
 * @param server the host server that serves the links
 * @param options address, port, TLS, allowed origins and logging
 * @returns the endpoint
 *
 * @example A host client over WebSocket queries an app manager
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostService } from "../cli/serve_command.ts";
 * import { listenWebSocket } from "./ws_link.ts";
 * import { HostClient } from "../../sdk/host_client.ts";
 * import { webSocketTransport } from "../../sdk/ws_transport.ts";
 *
 * const service = await HostService.start({ listen: false, stdout: () => {} });
 * const endpoint = listenWebSocket(service.server, { port: 0 });
 * const client = new HostClient(webSocketTransport(new WebSocket(endpoint.url)));
 * const reply = await client.query();
 * assert.equal(reply.status, 69); // CONTENT_2_05
 * assert.equal(reply.container?.get("num")?.value, 0);
 * client.close();
 * await service.shutdown();
 * await endpoint.close();
 * ```
 */
export function listenWebSocket(
  server: HostServer,
  options: WebSocketListenOptions = {},
): WebSocketEndpoint {
  const allowed = options.origins ?? [];
  const log = options.log ?? (() => {});
  const http = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8889,
    ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    onListen() {},
    onError(error): Response {
      log("error", `WebSocket endpoint: ${String(error)}`);
      return new Response("Internal server error", { status: 500 });
    },
  }, function upgrade(request, info): Response {
    const remote = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(
        "This address serves the micro-runtime host link over WebSocket; connect with a " +
          "WebSocket client\n",
        { status: 426, headers: { upgrade: "websocket", "content-type": "text/plain" } },
      );
    }
    const origin = request.headers.get("origin");
    if (!originAllowed(origin, allowed)) {
      log("warn", `WebSocket host link refused ${remote}: origin "${origin}" is not allowed`);
      return new Response(
        `Forbidden: pages from "${origin}" may not reach this runtime's host link ` +
          `(serve --ws-origin ORIGIN allows one)\n`,
        { status: 403, headers: { "content-type": "text/plain" } },
      );
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    server.admit(webSocketTransport(socket), `ws ${remote}`);
    return response;
  });
  const addr = http.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    addr,
    url: `${options.tls ? "wss" : "ws"}://${host}:${addr.port}/`,
    async close(): Promise<void> {
      await http.shutdown();
    },
  };
}
