/**
 * The host side of an app manager, served over the host link: TCP (many hosts at once),
 * or a single stream pair such as stdio or a serial device.
 *
 * Each host request gets a server-wide message id on its way in, so responses go back to
 * the connection that asked with the mid it chose, even when two hosts pick the same one.
 * Event subscriptions are kept per connection: events go to the connections that
 * subscribed, and a connection's subscriptions end with it.
 *
 * Bounded for a device that serves for months: at most `maxConnections` links (the excess
 * refused with an answer), `maxInFlight` unanswered requests per link, idle links closed,
 * and everything a link holds (its routes, its subscriptions, its buffers) released the
 * moment it closes. A failed `accept` (out of file descriptors) is retried with backoff,
 * never the end of serving. With a token, a link is served only once the host has proved
 * it holds the token (`sdk/host_auth.ts`).
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
  AUTH_VERSION,
  AuthKind,
  authNonce,
  checkClient,
  decodeAuth,
  encodeAuth,
  importAuthKey,
  proveServer,
  RefuseReason,
} from "../../sdk/host_auth.ts";
import { type Clock, realClock, type TimerHandle } from "../../sdk/clock.ts";
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
export type HostLogLevel = "info" | "warn" | "error" | "trace";

/** Links served at once by default; `serve --max-connections`. */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Milliseconds without a frame either way after which a link with no request in flight is
 * closed, by default (10 min, the time a request may wait for its response); `serve
 * --idle-timeout`.
 */
export const DEFAULT_IDLE_TIMEOUT = 600_000;
/** Unanswered requests one link may have at once by default. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** Milliseconds a link has to prove the token by default. */
export const DEFAULT_AUTH_TIMEOUT = 10_000;

/** Options for {@linkcode HostServer}. */
export interface HostServerOptions {
  /** Largest frame payload accepted, in bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Bytes queued to one slow connection before it is dropped. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** How long a request may wait for its response before its route is forgotten. Default 10 min. */
  routeTtl?: number;
  /** Receives log lines (default: warnings and errors to stderr). */
  log?: (level: HostLogLevel, message: string) => void;
  /** Also produce trace lines (`sent N bytes to host`, connects); default false. */
  trace?: boolean;
  /**
   * Links served at once (default {@linkcode DEFAULT_MAX_CONNECTIONS}). Each one past it is
   * refused: its first request is answered `SERVICE_UNAVAILABLE_5_03` with the reason (and,
   * with a token, a refuse message comes first), then the link is closed.
   */
  maxConnections?: number;
  /**
   * Milliseconds after which a link with no frame either way and no request in flight is
   * closed (default {@linkcode DEFAULT_IDLE_TIMEOUT}, 10 min; 0: never).
   */
  idleTimeout?: number;
  /**
   * Unanswered requests one link may have at once (default {@linkcode DEFAULT_MAX_IN_FLIGHT});
   * more get `SERVICE_UNAVAILABLE_5_03`.
   */
  maxInFlight?: number;
  /**
   * A shared secret every link must prove it holds (HMAC challenge-response, see
   * `sdk/host_auth.ts`) before any other frame is served. Default: none, and then no byte
   * of the handshake is sent, so WAMR's host_tool talks as it always did.
   */
  token?: string | Uint8Array;
  /** Milliseconds a link has to prove the token (default {@linkcode DEFAULT_AUTH_TIMEOUT}). */
  authTimeout?: number;
  /** The clock of idle and authentication timeouts (default: the real one). */
  clock?: Clock;
}

/** Where and how {@linkcode HostServer.listen} listens. */
export interface HostListenOptions {
  /** Address (default 127.0.0.1). */
  hostname?: string;
  /** Port; 0 picks a free one (default 8888). */
  port?: number;
  /** Serve TLS with this certificate chain and private key, both PEM text. */
  tls?: { cert: string; key: string };
}

interface _Route {
  conn: _Connection | undefined;
  mid: number;
  at: number;
}

/**
 * `auth`: waiting for the token's proof; `open`: served; `busy`: refused for capacity, waiting
 * for the first request to answer it; `ending`: a last frame is on its way, nothing more is
 * read or served, the link closes when the peer does or at `endAt`.
 */
type _State = "auth" | "open" | "busy" | "ending";

class _Connection {
  readonly id: number;
  readonly label: string;
  readonly io: LinkIo;
  readonly parser: FrameParser;
  /** Event URLs this connection subscribed to. */
  readonly events = new Set<string>();
  /** Server mids of this connection's requests waiting for their responses. */
  readonly routes = new Set<number>();
  state: _State;
  closed = false;
  /** When a frame last went either way. */
  lastActive: number;
  readonly opened: number;
  /** When an `ending` or `busy` link is closed at the latest. */
  endAt = Infinity;
  /** The challenge's nonce, until the link is authenticated. */
  nonce: Uint8Array | undefined;

  constructor(
    id: number,
    label: string,
    transport: HostTransport,
    maxPayload: number,
    state: _State,
    now: number,
  ) {
    this.id = id;
    this.label = label;
    this.io = new LinkIo(transport);
    this.parser = new FrameParser({ maxPayload });
    this.state = state;
    this.lastActive = now;
    this.opened = now;
  }
}

/** How long a refused link may take to send the request its answer goes to. */
const _LINGER_MS = 2000;
/** Refused links waiting for their first request at once; past it they are closed bare. */
const _MAX_REFUSING = 64;
/** Longest pause between accept retries. */
const _MAX_ACCEPT_BACKOFF_MS = 1000;

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
  readonly #maxConnections: number;
  readonly #idleTimeout: number;
  readonly #maxInFlight: number;
  readonly #authTimeout: number;
  readonly #clock: Clock;
  readonly #log: (level: HostLogLevel, message: string) => void;
  readonly #trace: boolean;
  /** The token's HMAC key, when links must authenticate. */
  readonly #key: Promise<CryptoKey> | undefined;
  /** Links admitted (served, authenticating or ending). */
  readonly #connections = new Set<_Connection>();
  /** Links refused for capacity, on their way out. */
  readonly #refused = new Set<_Connection>();
  readonly #loops = new Set<Promise<void>>();
  /** Server mid -> the connection and mid it came with; insertion order = age. */
  readonly #routes = new Map<number, _Route>();
  /** Event URL -> subscribed connections. */
  readonly #subs = new Map<string, Set<_Connection>>();
  #listener: Deno.Listener | undefined;
  #acceptLoop: Promise<void> | undefined;
  #backoff: { wake(): void } | undefined;
  #sweepTimer: TimerHandle | undefined;
  #sweepEvery: number;
  /** Refusals since a link was last admitted, for one log line per burst. */
  #refusedInBurst = 0;
  // Server mids live in the upper half, away from AppManager.request's 1, 2, 3...
  #nextMid = _MID_BASE;
  #nextConn = 1;
  #closing = false;

  /**
   * Creates a server; call {@linkcode HostServer.listen} or {@linkcode HostServer.serve}.
   *
   * @param target the app manager's host side
   * @param options limits, the token and logging
   * @throws {RangeError} when a limit is not a positive count or the token is empty
   */
  constructor(target: HostServerTarget, options: HostServerOptions = {}) {
    this.#target = target;
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.#maxQueued = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.#routeTtl = options.routeTtl ?? 600_000;
    this.#maxConnections = _positive(
      "maxConnections",
      options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    );
    this.#idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
    this.#maxInFlight = _positive("maxInFlight", options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    this.#authTimeout = _positive("authTimeout", options.authTimeout ?? DEFAULT_AUTH_TIMEOUT);
    this.#clock = options.clock ?? realClock;
    this.#trace = options.trace ?? false;
    this.#log = options.log ?? ((level, message) => {
      if (level === "error" || level === "warn") console.error(message);
    });
    const token = options.token;
    if (token !== undefined && token.length === 0) {
      throw new RangeError("The host link token is empty");
    }
    this.#key = token === undefined ? undefined : importAuthKey(token);
    // Often enough that each timeout is kept to within a quarter of itself.
    const timeouts = [this.#idleTimeout, this.#authTimeout, _LINGER_MS].filter((t) => t > 0);
    this.#sweepEvery = Math.max(10, Math.min(1000, ...timeouts.map((t) => t / 4)));
  }

  /** The listening address, once {@linkcode HostServer.listen} was called. */
  get addr(): Deno.NetAddr | undefined {
    return this.#listener?.addr as Deno.NetAddr | undefined;
  }

  /** How many host links are open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** How many host requests wait for their responses, over all links. */
  get inFlight(): number {
    return this.#routes.size;
  }

  /** Whether links must prove a token. */
  get authenticates(): boolean {
    return this.#key !== undefined;
  }

  /**
   * Listens on TCP (or TLS) and serves every connection that arrives. A failed accept (out
   * of file descriptors, say) is logged once per burst and retried with backoff, so serving
   * goes on once descriptors are free again.
   *
   * @param options address, port (0 picks a free one) and TLS; default 127.0.0.1:8888
   * @returns the bound address
   */
  listen(options: HostListenOptions = {}): Deno.NetAddr {
    if (this.#listener) throw new Error("Host server is already listening");
    const address = { hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 8888 };
    const listener: Deno.Listener = options.tls
      ? Deno.listenTls({ ...address, cert: options.tls.cert, key: options.tls.key })
      : Deno.listen({ ...address, transport: "tcp" });
    this.#listener = listener;
    this.#acceptLoop = this.#accept(listener);
    return listener.addr as Deno.NetAddr;
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    let failures = 0;
    let delay = 0;
    while (!this.#closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#closing) break;
        if (error instanceof Deno.errors.BadResource) {
          this.#log("error", `Host link listener closed: ${String(error)}; no longer accepting`);
          break;
        }
        if (failures++ === 0) {
          this.#log(
            "error",
            `Host link accept failed: ${(error as Error).message ?? String(error)}; ` +
              `retrying with backoff (open links are still served)`,
          );
        }
        delay = Math.min(delay === 0 ? 10 : delay * 2, _MAX_ACCEPT_BACKOFF_MS);
        await this.#pause(delay);
        continue;
      }
      if (failures > 0) {
        this.#log("warn", `Host link accepting again after ${failures} failed accepts`);
        failures = 0;
        delay = 0;
      }
      if (this.#closing) {
        _closeQuietly(conn);
        break;
      }
      if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // Not fatal: only latency.
        }
      }
      const remote = conn.remoteAddr as Deno.NetAddr;
      const label = `${remote.hostname}:${remote.port}`;
      this.admit(conn, label);
    }
  }

  /**
   * Serves a link that arrived through a listener of the caller's (a WebSocket endpoint) as
   * one from {@linkcode HostServer.listen}: past `maxConnections` it is refused with an
   * answer instead of served.
   *
   * @param transport the link's streams
   * @param label how logs name the link
   */
  admit(transport: HostTransport, label: string): void {
    if (this.#connections.size >= this.#maxConnections) this.#refuseBusy(transport, label);
    else void this.serve(transport, label);
  }

  /** Waits `ms` on a real timer (the accept loop's backoff); {@linkcode close} cuts it short. */
  async #pause(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ms);
    this.#backoff = {
      wake(): void {
        clearTimeout(timer);
        resolve();
      },
    };
    await promise;
    this.#backoff = undefined;
  }

  /**
   * Serves one host link over a stream pair (a TCP connection, stdio, a serial device).
   * With a token, the link is challenged first and served once it proves the token.
   *
   * @param transport the streams
   * @param label how logs name the link
   * @returns when the link has ended
   */
  serve(transport: HostTransport, label = "link"): Promise<void> {
    if (this.#refusedInBurst > 0) {
      this.#log(
        "warn",
        `Host link admitting links again after refusing ${this.#refusedInBurst} ` +
          `(limit ${this.#maxConnections})`,
      );
      this.#refusedInBurst = 0;
    }
    const conn = this.#open(transport, label, this.#key ? "auth" : "open");
    this.#connections.add(conn);
    if (this.#trace) this.#log("trace", `host ${label} connected`);
    if (this.#key) {
      conn.nonce = authNonce();
      this.#write(
        conn,
        encodeAuth({ kind: AuthKind.CHALLENGE, version: AUTH_VERSION, nonce: conn.nonce }),
      );
    }
    return this.#run(conn);
  }

  #open(transport: HostTransport, label: string, state: _State): _Connection {
    const conn = new _Connection(
      this.#nextConn++,
      label,
      transport,
      state === "busy" ? 0 : this.#maxPayload,
      state,
      this.#clock.now(),
    );
    conn.io.onWriteError = () => this.#drop(conn);
    this.#armSweep();
    return conn;
  }

  #run(conn: _Connection): Promise<void> {
    const loop = this.#readLoop(conn);
    this.#loops.add(loop);
    loop.finally(() => this.#loops.delete(loop));
    return loop;
  }

  /**
   * A connection past `maxConnections`: WAMR's host_tool reconnects and finally prints
   * "operation timeout" when a link just closes, and ignores a response whose mid is not
   * its own, so the refusal waits (briefly) for the first request and answers it 5.03 with
   * the reason; a host with a token gets a refuse message at once.
   */
  #refuseBusy(transport: HostTransport, label: string): void {
    if (this.#refusedInBurst++ === 0) {
      this.#log(
        "error",
        `Host link refused ${label}: ${this.#connections.size} links open, the limit is ` +
          `${this.#maxConnections} (--max-connections); refusing until one closes`,
      );
    }
    if (this.#refused.size >= _MAX_REFUSING || this.#closing) {
      _closeQuietly(transport);
      return;
    }
    const conn = this.#open(transport, label, "busy");
    conn.endAt = this.#clock.now() + _LINGER_MS;
    this.#refused.add(conn);
    if (this.#key) {
      this.#write(
        conn,
        encodeAuth({
          kind: AuthKind.REFUSE,
          reason: RefuseReason.BUSY,
          message: this.#busyMessage(),
        }),
      );
    }
    void this.#run(conn);
  }

  #busyMessage(): string {
    return `Too many host links open (the limit is ${this.#maxConnections}); try again later`;
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
    this.#backoff?.wake();
    await this.#acceptLoop;
    for (const conn of [...this.#connections, ...this.#refused]) this.#drop(conn);
    if (this.#sweepTimer !== undefined) this.#clock.clearTimer(this.#sweepTimer);
    this.#sweepTimer = undefined;
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
   * A response to a link that has closed is dropped.
   *
   * @param response the response (its mid is the server-side one)
   */
  deliverResponse(response: Response): void {
    const key = response.mid >>> 0;
    const route = this.#routes.get(key);
    if (!route) {
      this.#log("trace", `response mid ${response.mid} matches no host request; dropped`);
      return;
    }
    this.#routes.delete(key);
    if (!route.conn || route.conn.closed) return;
    route.conn.routes.delete(key);
    this.#reply(route.conn, { ...response, mid: route.mid, receiver: ID_HOST });
  }

  // ---- per connection --------------------------------------------------------------------

  async #readLoop(conn: _Connection): Promise<void> {
    try {
      while (!conn.closed) {
        const chunk = await conn.io.read();
        if (chunk === null) break;
        conn.lastActive = this.#clock.now();
        for (const event of conn.parser.push(chunk)) {
          if (conn.state === "open") this.#onFrame(conn, event);
          else if (conn.state === "auth") await this.#onAuthFrame(conn, event);
          else if (conn.state === "busy") this.#onBusyFrame(conn, event);
          if (conn.closed) break;
        }
      }
      if (conn.parser.midFrame && conn.state === "open") {
        this.#log("trace", `host ${conn.label} closed in the middle of a frame`);
      }
    } catch (error) {
      if (!conn.closed) this.#log("trace", `host ${conn.label} read failed: ${String(error)}`);
    } finally {
      this.#drop(conn);
    }
  }

  /** A frame on a link that has not proved the token yet. */
  async #onAuthFrame(conn: _Connection, event: FrameEvent): Promise<void> {
    if (event.kind === "frame" && event.type === HostMessageType.AUTH) {
      let message;
      try {
        message = decodeAuth(event.payload);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        message = undefined;
      }
      if (message?.kind !== AuthKind.PROOF) {
        this.#refuseAuth(
          conn,
          RefuseReason.NOT_AUTHENTICATED,
          "Authentication failed: expected a proof of the token",
        );
        return;
      }
      const key = await this.#key!;
      const nonce = conn.nonce!;
      const ok = await checkClient(key, nonce, message.nonce, message.mac);
      if (conn.closed) return;
      if (!ok) {
        this.#refuseAuth(
          conn,
          RefuseReason.WRONG_TOKEN,
          "Authentication failed: the token does not match this runtime's",
        );
        return;
      }
      const mac = await proveServer(key, nonce, message.nonce);
      if (conn.closed) return;
      conn.state = "open";
      conn.nonce = undefined;
      this.#write(conn, encodeAuth({ kind: AuthKind.ACCEPT, mac }));
      if (this.#trace) this.#log("trace", `host ${conn.label} authenticated`);
      return;
    }
    // A request before any proof: WAMR's host_tool, or a host tool not given the token.
    const mid = _midOf(event);
    if (mid !== undefined && _isRequest(event.type)) {
      const message = "Unauthorized: this runtime serves only hosts that prove its token " +
        "(host --token-file FILE, or MICRO_RUNTIME_TOKEN)";
      this.#log("error", `Host ${conn.label} sent a request without the token; closing its link`);
      this.#replyTo(conn, mid, Status.UNAUTHORIZED_4_01, message);
      this.#end(conn);
      return;
    }
    this.#refuseAuth(
      conn,
      RefuseReason.NOT_AUTHENTICATED,
      `Authentication failed: a frame of type ${event.type} came before the proof`,
    );
  }

  /** Sends one refuse message and closes the link. */
  #refuseAuth(conn: _Connection, reason: number, message: string): void {
    this.#log("error", `Host ${conn.label}: ${message}; closing its link`);
    this.#write(conn, encodeAuth({ kind: AuthKind.REFUSE, reason, message }));
    this.#end(conn);
  }

  /** The first request of a link refused for capacity gets the reason. */
  #onBusyFrame(conn: _Connection, event: FrameEvent): void {
    const mid = _midOf(event);
    if (mid !== undefined && _isRequest(event.type)) {
      this.#replyTo(conn, mid, Status.SERVICE_UNAVAILABLE_5_03, this.#busyMessage());
    }
    this.#end(conn);
  }

  /** Lets the last frames go out, reads nothing more, and closes soon. */
  #end(conn: _Connection): void {
    if (conn.closed || conn.state === "ending") return;
    conn.state = "ending";
    conn.endAt = this.#clock.now() + _LINGER_MS;
    conn.io.end();
    this.#armSweep();
  }

  #onFrame(conn: _Connection, event: FrameEvent): void {
    if (event.kind === "oversize") {
      const message = `Request entity too large: ${event.length} bytes exceeds the limit of ` +
        `${this.#maxPayload}`;
      this.#replyMalformed(conn, event.head, Status.REQUEST_ENTITY_TOO_LARGE_4_13, message);
      return;
    }
    if (!_isRequest(event.type)) {
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
    if (conn && conn.routes.size >= this.#maxInFlight) {
      this.#replyTo(
        conn,
        request.mid,
        Status.SERVICE_UNAVAILABLE_5_03,
        `Too many requests in flight on this link: ${this.#maxInFlight} wait for responses`,
      );
      return;
    }
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
      conn?.routes.delete(mid);
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
      route.conn?.routes.delete(key);
    }
    let id = this.#nextMid;
    while (this.#routes.has(id)) id = _nextMid(id);
    this.#nextMid = _nextMid(id);
    this.#routes.set(id, { conn, mid: mid >>> 0, at: now });
    conn?.routes.add(id);
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
    conn.lastActive = this.#clock.now();
    conn.io.send(frame);
  }

  // ---- timeouts --------------------------------------------------------------------------

  #armSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closing) return;
    this.#sweepTimer = this.#clock.setTimer(this.#sweepEvery, () => {
      this.#sweepTimer = undefined;
      this.#sweep();
      if (this.#connections.size + this.#refused.size > 0) this.#armSweep();
    });
  }

  /** Closes links past their deadline: authentication, idleness, or a refusal's linger. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const conn of this.#refused) {
      if (now >= conn.endAt) this.#drop(conn);
    }
    for (const conn of this.#connections) {
      if (conn.state === "ending") {
        if (now >= conn.endAt) this.#drop(conn);
      } else if (conn.state === "auth") {
        if (now - conn.opened >= this.#authTimeout) {
          this.#refuseAuth(
            conn,
            RefuseReason.TIMEOUT,
            `Authentication failed: no proof of the token within ${this.#authTimeout} ms`,
          );
        }
      } else if (
        this.#idleTimeout > 0 && conn.routes.size === 0 &&
        now - conn.lastActive >= this.#idleTimeout
      ) {
        this.#log("trace", `host ${conn.label} idle for ${this.#idleTimeout} ms; closing its link`);
        this.#drop(conn);
      }
    }
  }

  /** Closes a link and releases everything it holds: routes, subscriptions, buffers. */
  #drop(conn: _Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#connections.delete(conn);
    this.#refused.delete(conn);
    conn.io.close();
    // Responses still on their way to this link are dropped when they come.
    for (const mid of conn.routes) this.#routes.delete(mid);
    conn.routes.clear();
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
    if (this.#trace) this.#log("trace", `host ${conn.label} disconnected`);
  }
}

const _MID_BASE = 0x80000000;

function _nextMid(mid: number): number {
  return mid >= 0xffffffff ? _MID_BASE : mid + 1;
}

function _isRequest(type: number): boolean {
  return type === HostMessageType.REQUEST || type === HostMessageType.INSTALL;
}

/** The mid of a request frame, when enough of it arrived to hold one. */
function _midOf(event: FrameEvent): number | undefined {
  const bytes = event.kind === "frame" ? event.payload : event.head;
  if (bytes.length < 8) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
}

function _positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Host server option ${name} must be a positive whole number, got ${value}`,
    );
  }
  return value;
}

function _closeQuietly(conn: HostTransport): void {
  try {
    conn.close?.();
  } catch {
    // Closed already.
  }
}
