/**
 * The host side of an app manager, served over the host link: TCP (many hosts at once),
 * or a single stream pair such as stdio or a serial device.
 *
 * Each host request gets a server-wide message id on its way in, so responses go back to
 * the connection that asked with the mid it chose, even when two hosts pick the same one.
 * Event subscriptions are kept per connection: events go to the connections that
 * subscribed, and a connection's subscriptions end with it.
 *
 * @module
 */

import {
  DEFAULT_MAX_PAYLOAD,
  encodeFrame,
  type FrameEvent,
  FrameParser,
  HostMessageType,
  type HostTransport,
  LinkIo,
} from "../../sdk/host_link.ts";
import {
  Action,
  decodeRequest,
  encodeRequest,
  encodeResponse,
  FMT_ATTR_CONTAINER,
  ID_HOST,
  type Request,
  type Response,
  Status,
} from "../../sdk/packet.ts";
import { checkUrlStart } from "../framework/url.ts";
import { errorPayload } from "../framework/bus.ts";
import { ProtocolError } from "../../sdk/errors.ts";
import type { HostMessage } from "../framework/app_manager.ts";

/**
 * What a host server drives: an app manager's host side. {@linkcode AppManager} fits:
 * pass the server's {@linkcode HostServer.deliver} as the manager's `onHostMessage`.
 */
export interface HostServerTarget {
  /**
   * Takes a request from the host and routes it with sender ID_HOST; the response (and
   * later events) come back through {@linkcode HostServer.deliver}.
   *
   * @param request the request
   */
  fromHost(request: Request): void;
}

/** Severity of a server log line. */
export type HostLogLevel = "info" | "error" | "trace";

/** Options for {@linkcode HostServer}. */
export interface HostServerOptions {
  /** Largest frame payload accepted, in bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Bytes queued to one slow connection before it is dropped. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** How long a request may wait for its response before its route is forgotten. Default 10 min. */
  routeTtl?: number;
  /** Receives log lines (default: errors to stderr). */
  log?: (level: HostLogLevel, message: string) => void;
  /** Also produce trace lines (`sent N bytes to host`, connects); default false. */
  trace?: boolean;
}

interface _Route {
  conn: _Connection | undefined;
  mid: number;
  at: number;
}

class _Connection {
  readonly id: number;
  readonly label: string;
  readonly io: LinkIo;
  readonly parser: FrameParser;
  /** Event URLs this connection subscribed to. */
  readonly events = new Set<string>();
  closed = false;

  constructor(id: number, label: string, transport: HostTransport, maxPayload: number) {
    this.id = id;
    this.label = label;
    this.io = new LinkIo(transport);
    this.parser = new FrameParser({ maxPayload });
  }
}

/**
 * Serves an app manager's host side over the host link.
 *
 * @example Serve an app manager on a free loopback port and query it
 * ```ts
 * import assert from "node:assert/strict";
 * import { AppManager } from "../framework/app_manager.ts";
 * import { HostServer } from "./host_server.ts";
 * import { Runtime } from "../instance/runtime.ts";
 * import { HostClient } from "../../sdk/host_client.ts";
 *
 * let server: HostServer | undefined;
 * const manager = new AppManager(new Runtime(), { onHostMessage: (m) => server?.deliver(m) });
 * server = new HostServer(manager);
 * const { port } = server.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await HostClient.connect({ hostname: "127.0.0.1", port });
 * const reply = await client.query();
 * client.close();
 * await server.close();
 * manager.close();
 * assert.equal(reply.status, 69); // CONTENT_2_05
 * assert.equal(reply.container?.get("num")?.value, 0); // no apps installed
 * ```
 */
export class HostServer {
  readonly #target: HostServerTarget;
  readonly #maxPayload: number;
  readonly #maxQueued: number;
  readonly #routeTtl: number;
  readonly #log: (level: HostLogLevel, message: string) => void;
  readonly #trace: boolean;
  readonly #connections = new Set<_Connection>();
  readonly #loops = new Set<Promise<void>>();
  /** Server mid → the connection and mid it came with; insertion order = age. */
  readonly #routes = new Map<number, _Route>();
  /** Event URL → subscribed connections. */
  readonly #subs = new Map<string, Set<_Connection>>();
  #listener: Deno.Listener | undefined;
  #acceptLoop: Promise<void> | undefined;
  // Server mids live in the upper half, away from AppManager.request's 1, 2, 3…
  #nextMid = _MID_BASE;
  #nextConn = 1;
  #closing = false;

  /**
   * Creates a server; call {@linkcode HostServer.listen} or {@linkcode HostServer.serve}.
   *
   * @param target the app manager's host side
   * @param options limits and logging
   */
  constructor(target: HostServerTarget, options: HostServerOptions = {}) {
    this.#target = target;
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.#maxQueued = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.#routeTtl = options.routeTtl ?? 600_000;
    this.#trace = options.trace ?? false;
    this.#log = options.log ?? ((level, message) => {
      if (level === "error") console.error(message);
    });
  }

  /** The listening address, once {@linkcode HostServer.listen} was called. */
  get addr(): Deno.NetAddr | undefined {
    return this.#listener?.addr as Deno.NetAddr | undefined;
  }

  /** How many host links are open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Listens on TCP and serves every connection that arrives.
   *
   * @param options address and port (0 picks a free one); default 127.0.0.1:8888
   * @returns the bound address
   */
  listen(options: { hostname?: string; port?: number } = {}): Deno.NetAddr {
    if (this.#listener) throw new Error("Host server is already listening");
    const listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 8888,
      transport: "tcp",
    });
    this.#listener = listener;
    this.#acceptLoop = (async () => {
      try {
        for await (const conn of listener) {
          if (this.#closing) {
            conn.close();
            break;
          }
          try {
            conn.setNoDelay(true);
          } catch {
            // Not fatal: only latency.
          }
          const remote = conn.remoteAddr as Deno.NetAddr;
          void this.serve(conn, `${remote.hostname}:${remote.port}`);
        }
      } catch (error) {
        if (!this.#closing) this.#log("error", `Host link accept failed: ${String(error)}`);
      }
    })();
    return listener.addr as Deno.NetAddr;
  }

  /**
   * Serves one host link over a stream pair (a TCP connection, stdio, a serial device).
   *
   * @param transport the streams
   * @param label how logs name the link
   * @returns when the link has ended
   */
  serve(transport: HostTransport, label = "link"): Promise<void> {
    const conn = new _Connection(this.#nextConn++, label, transport, this.#maxPayload);
    conn.io.onWriteError = () => this.#drop(conn);
    this.#connections.add(conn);
    this.#log("trace", `host ${label} connected`);
    const loop = this.#readLoop(conn);
    this.#loops.add(loop);
    loop.finally(() => this.#loops.delete(loop));
    return loop;
  }

  /**
   * Stops listening, closes every link and waits for their loops to end. Routes and
   * subscriptions of the links are dropped; the app manager is left running.
   *
   * @returns when everything is closed
   */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    await this.#acceptLoop;
    for (const conn of [...this.#connections]) this.#drop(conn);
    await Promise.allSettled([...this.#loops]);
  }

  // ---- from the runtime ------------------------------------------------------------------

  /**
   * Takes a message the runtime addresses to the host: the app manager's `onHostMessage`.
   *
   * @param message a response or an event
   */
  deliver(message: HostMessage): void {
    if (message.kind === "response") this.deliverResponse(message.response);
    else this.deliverRequest(message.request);
  }

  /**
   * Sends an event to the connections subscribed to its URL.
   *
   * @param request the event
   */
  deliverRequest(request: Request): void {
    const conns = this.#subs.get(request.url);
    if (!conns || conns.size === 0) {
      this.#log("trace", `event ${request.url} has no host subscriber`);
      return;
    }
    const frame = encodeFrame(HostMessageType.REQUEST, encodeRequest(request));
    for (const conn of conns) this.#write(conn, frame);
  }

  /**
   * Sends a response to the connection whose request it answers, with that request's mid.
   *
   * @param response the response (its mid is the server-side one)
   */
  deliverResponse(response: Response): void {
    const route = this.#routes.get(response.mid >>> 0);
    if (!route) {
      this.#log("trace", `response mid ${response.mid} matches no host request; dropped`);
      return;
    }
    this.#routes.delete(response.mid >>> 0);
    if (!route.conn || route.conn.closed) return;
    this.#reply(route.conn, { ...response, mid: route.mid, receiver: ID_HOST });
  }

  // ---- per connection --------------------------------------------------------------------

  async #readLoop(conn: _Connection): Promise<void> {
    try {
      while (!conn.closed) {
        const chunk = await conn.io.read();
        if (chunk === null) break;
        for (const event of conn.parser.push(chunk)) this.#onFrame(conn, event);
      }
      if (conn.parser.midFrame) {
        this.#log("trace", `host ${conn.label} closed in the middle of a frame`);
      }
    } catch (error) {
      if (!conn.closed) this.#log("trace", `host ${conn.label} read failed: ${String(error)}`);
    } finally {
      this.#drop(conn);
    }
  }

  #onFrame(conn: _Connection, event: FrameEvent): void {
    if (event.kind === "oversize") {
      const message = `Request entity too large: ${event.length} bytes exceeds the limit of ` +
        `${this.#maxPayload}`;
      this.#replyMalformed(conn, event.head, Status.REQUEST_ENTITY_TOO_LARGE_4_13, message);
      return;
    }
    if (event.type !== HostMessageType.REQUEST && event.type !== HostMessageType.INSTALL) {
      // WAMR's wording.
      this.#log("error", `unexpected host msg type: ${event.type}`);
      return;
    }
    let request: Request;
    try {
      request = decodeRequest(event.payload);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#replyMalformed(conn, event.payload, Status.BAD_REQUEST_4_00, error.message);
      return;
    }
    if (event.type === HostMessageType.INSTALL && request.action !== Action.PUT) {
      this.#replyTo(conn, request.mid, Status.BAD_REQUEST_4_00, "Install message is not a PUT");
      return;
    }
    this.#dispatch(conn, request);
  }

  #dispatch(conn: _Connection | undefined, request: Request): void {
    const eventAt = checkUrlStart(request.url, "/event/");
    if (conn && eventAt > 0) {
      const url = request.url.slice(eventAt);
      if (request.action === Action.PUT) {
        let set = this.#subs.get(url);
        if (!set) this.#subs.set(url, set = new Set());
        set.add(conn);
        conn.events.add(url);
      } else if (request.action === Action.DELETE) {
        conn.events.delete(url);
        const set = this.#subs.get(url);
        set?.delete(conn);
        if (set && set.size > 0) {
          // Others still listen: keep the runtime's host subscription, answer as it would.
          this.#reply(conn, {
            status: Status.CONTENT_2_05,
            fmt: FMT_ATTR_CONTAINER,
            mid: request.mid,
            receiver: ID_HOST,
            payload: undefined,
          });
          return;
        }
        this.#subs.delete(url);
      }
    }
    const mid = this.#route(conn, request.mid);
    try {
      this.#target.fromHost({ ...request, mid, sender: ID_HOST });
    } catch (error) {
      // The runtime should answer everything itself; this keeps one bad request from
      // taking the link (or the process) down.
      this.#routes.delete(mid);
      this.#log("error", `Host request "${request.url}" failed: ${String(error)}`);
      if (conn) {
        this.#replyTo(
          conn,
          request.mid,
          Status.INTERNAL_SERVER_ERROR_5_00,
          `Handle request failed: ${(error as Error).message ?? String(error)}`,
        );
      }
    }
  }

  #route(conn: _Connection | undefined, mid: number): number {
    const now = Date.now();
    // Forget routes whose response never came (oldest first).
    for (const [key, route] of this.#routes) {
      if (now - route.at < this.#routeTtl) break;
      this.#routes.delete(key);
    }
    let id = this.#nextMid;
    while (this.#routes.has(id)) id = _nextMid(id);
    this.#nextMid = _nextMid(id);
    this.#routes.set(id, { conn, mid: mid >>> 0, at: now });
    return id;
  }

  #replyMalformed(conn: _Connection, bytes: Uint8Array, status: number, message: string): void {
    if (bytes.length < 8) {
      this.#log("error", `Dropped a message from host ${conn.label}: ${message}`);
      return;
    }
    const mid = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
    this.#log("error", `Host ${conn.label}, mid ${mid}: ${message}`);
    this.#replyTo(conn, mid, status, message);
  }

  #replyTo(conn: _Connection, mid: number, status: number, message: string): void {
    this.#reply(conn, {
      status,
      fmt: FMT_ATTR_CONTAINER,
      mid,
      receiver: ID_HOST,
      payload: errorPayload(message),
    });
  }

  #reply(conn: _Connection, response: Response): void {
    this.#write(conn, encodeFrame(HostMessageType.RESPONSE, encodeResponse(response)));
  }

  #write(conn: _Connection, frame: Uint8Array): void {
    if (conn.closed) return;
    if (conn.io.queuedBytes + frame.length > this.#maxQueued) {
      this.#log("error", `host ${conn.label} reads too slowly; closing its link`);
      this.#drop(conn);
      return;
    }
    if (this.#trace) this.#log("trace", `sent ${frame.length - 8} bytes to host`);
    conn.io.send(frame);
  }

  #drop(conn: _Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#connections.delete(conn);
    conn.io.close();
    for (const url of conn.events) {
      const set = this.#subs.get(url);
      set?.delete(conn);
      if (set && set.size === 0) {
        this.#subs.delete(url);
        if (!this.#closing) {
          // The last listener left: remove the runtime's host subscription too.
          this.#dispatch(undefined, {
            action: Action.DELETE,
            fmt: FMT_ATTR_CONTAINER,
            mid: 0,
            sender: ID_HOST,
            url: "/event/" + url,
            payload: undefined,
          });
        }
      }
    }
    conn.events.clear();
    this.#log("trace", `host ${conn.label} disconnected`);
  }
}

const _MID_BASE = 0x80000000;

function _nextMid(mid: number): number {
  return mid >= 0xffffffff ? _MID_BASE : mid + 1;
}
