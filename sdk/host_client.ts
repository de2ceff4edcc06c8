/**
 * A programmatic host for a micro-runtime (or WAMR) app manager: install, uninstall and
 * query apps, send requests and subscribe to events over the host link, with the same
 * packets WAMR's `host_tool` sends. Over TLS when asked, and proving a shared token when
 * the runtime asks for one (`sdk/host_auth.ts`).
 *
 * @module
 */

import {
  DEFAULT_MAX_PAYLOAD,
  encodeFrame,
  FrameParser,
  HostMessageType,
  type HostTransport,
  LinkIo,
} from "./host_link.ts";
import {
  AUTH_VERSION,
  AuthKind,
  authNonce,
  checkServer,
  decodeAuth,
  encodeAuth,
  importAuthKey,
  proveClient,
  RefuseReason,
} from "./host_auth.ts";
import {
  Action,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
} from "./packet.ts";
import { AttrContainer, decode, encodeLikeWamr } from "./attr_container.ts";
import { platform } from "./platform.ts";

export type { HostTransport };

/** Options for {@linkcode HostClient}. */
export interface HostClientOptions {
  /** Milliseconds to wait for each response. Default 5000 (host_tool's `-t` default). */
  timeout?: number;
  /** Largest frame payload accepted from the runtime. Default 1 MiB. */
  maxPayload?: number;
  /**
   * The runtime's shared token (`serve --token-file`). When given, the client answers the
   * runtime's challenge and sends nothing else until the runtime has proved it holds the
   * token too; the token itself never crosses the link.
   */
  token?: string | Uint8Array;
}

/** Where {@linkcode HostClient.connect} connects. */
export interface HostConnectOptions extends HostClientOptions {
  /** Server address. Default `127.0.0.1`. */
  hostname?: string;
  /** Server port. Default 8888. */
  port?: number;
  /** Connect over TLS (`serve --tls-cert`), checking the certificate against `hostname`. */
  tls?: boolean;
  /** PEM certificates to trust besides the system's (a self-signed runtime's); implies `tls`. */
  caCerts?: string[];
}

/**
 * The runtime would not serve this host: it asks for a token the client does not have, the
 * token does not match, or the handshake went wrong.
 */
export class HostAuthError extends Error {
  /** The runtime's reason code (`RefuseReason` in `sdk/host_auth.ts`); 0 when the client gave up. */
  readonly reason: number;

  /**
   * Creates the error.
   *
   * @param message what failed, as the runtime or the client said it
   * @param reason the runtime's reason code, 0 when the client gave up
   */
  constructor(message: string, reason = 0) {
    super(message);
    this.name = "HostAuthError";
    this.reason = reason;
  }
}

/** A response from the runtime. */
export interface HostResponse {
  /** Status code (65 created, 66 deleted, 69 content, 160 error...). */
  status: number;
  /** Payload format (99 attr_container). */
  fmt: number;
  /** The request's message id. */
  mid: number;
  /** Raw payload bytes, `undefined` when there are none. */
  payload: Uint8Array | undefined;
  /** The payload decoded, when fmt is 99 and it decodes. */
  container: AttrContainer | undefined;
}

/** An event the runtime sent to the host. */
export interface HostEvent {
  /** Event URL as published (`alert/overheat`). */
  url: string;
  /** Payload format. */
  fmt: number;
  /** Message id chosen by the publisher. */
  mid: number;
  /** Raw payload bytes, `undefined` when there are none. */
  payload: Uint8Array | undefined;
  /** The payload decoded, when fmt is 99 and it decodes. */
  container: AttrContainer | undefined;
}

/** Receives events. */
export type HostEventListener = (event: HostEvent) => void;

/** Install options, appended to the URL as host_tool does (`&type=`, `&heap=`, ...). */
export interface HostInstallOptions {
  /** Module type: `wasm` (the runtime's default), `jeff`, `wasmlib`. */
  type?: string;
  /** App heap size in bytes. */
  heap?: number;
  /** Number of timers. */
  timers?: number;
  /** Watchdog interval in milliseconds (sent as `wd`). */
  watchdog?: number;
  /** Deadline in ms of each callback into the app; 0 turns it off (micro-runtime only). */
  deadline?: number;
  /** Memory cap in bytes; 0 means none (micro-runtime only). */
  memory?: number;
}

/** Options for a single request. */
export interface ClientRequestOptions {
  /** Payload format. Default 99 for containers and for no payload, 0 for raw bytes. */
  fmt?: number;
  /** Milliseconds to wait. Default: the client's timeout. */
  timeout?: number;
}

/** Request methods by name, as host_tool's `-A` takes them. */
export type ActionName = "GET" | "PUT" | "POST" | "DELETE";

/**
 * Lets the process exit while only this timer is pending: Deno's `unrefTimer`, Node's
 * `unref`; nothing in a page. Keeps the client free of Deno APIs, so pages bundle it.
 */
function _unref(timer: ReturnType<typeof setTimeout>): void {
  const deno = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno;
  if (deno?.unrefTimer) deno.unrefTimer(timer as unknown as number);
  else (timer as unknown as { unref?(): void }).unref?.();
}

/**
 * Deno's error class of that name (`Deno.errors.TimedOut`...), which callers test for with
 * `instanceof`; outside Deno an `Error` with the same name.
 */
function _linkError(
  kind: "ConnectionReset" | "TimedOut" | "ConnectionRefused",
  message: string,
): Error {
  const errors = (globalThis as { Deno?: { errors?: Record<string, new (m: string) => Error> } })
    .Deno?.errors;
  const Class = errors?.[kind];
  if (Class) return new Class(message);
  const error = new Error(message);
  error.name = kind;
  return error;
}

/** Adds `container`, decoded on first read: most callers only look at the status. */
function _withContainer<T extends { fmt: number; payload: Uint8Array | undefined }>(
  message: T,
): T & { container: AttrContainer | undefined } {
  let decoded: AttrContainer | undefined | null = null;
  return Object.defineProperty(message, "container", {
    enumerable: true,
    get(): AttrContainer | undefined {
      if (decoded === null) decoded = _decodeContainer(message.fmt, message.payload);
      return decoded;
    },
  }) as T & { container: AttrContainer | undefined };
}

function _decodeContainer(fmt: number, payload: Uint8Array | undefined): AttrContainer | undefined {
  if (fmt !== FMT_ATTR_CONTAINER || payload === undefined) return undefined;
  try {
    return decode(payload);
  } catch {
    return undefined;
  }
}

/**
 * The URL host_tool's `-s` subscribes with: `/event` + url when url starts with `/`, else
 * `/event/` + url.
 *
 * @param url the event URL as the user wrote it
 * @returns the request URL
 *
 * @example The URL `-s /alert/overheat` sends
 * ```ts
 * import assert from "node:assert/strict";
 * import { subscribeUrl } from "./host_client.ts";
 * assert.equal(subscribeUrl("/alert/overheat"), "/event/alert/overheat");
 * assert.equal(subscribeUrl("alert/overheat"), "/event/alert/overheat");
 * ```
 */
export function subscribeUrl(url: string): string {
  return url.startsWith("/") ? "/event" + url : "/event/" + url;
}

/**
 * The event URL the runtime registers for a subscription made with `url`: the part after
 * `/event/` of {@linkcode subscribeUrl}, so `/alert/overheat` becomes `alert/overheat`.
 *
 * @param url the event URL as the user wrote it
 * @returns the URL events will carry
 *
 * @example The URL events of a subscription carry
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventKey } from "./host_client.ts";
 * assert.equal(eventKey("/alert/overheat"), "alert/overheat");
 * ```
 */
export function eventKey(url: string): string {
  return url.startsWith("/") ? url.slice(1) : url;
}

/**
 * Builds the install URL host_tool sends: `/applet?name=N[&type=T][&heap=H][&timers=M][&wd=W]`,
 * plus micro-runtime's limits (`&deadline=MS`, `&memory=BYTES`).
 *
 * @param name app name
 * @param options install options
 * @returns the URL
 *
 * @example An install URL with a heap size
 * ```ts
 * import assert from "node:assert/strict";
 * import { installUrl } from "./host_client.ts";
 * assert.equal(installUrl("a", { heap: 8192 }), "/applet?name=a&heap=8192");
 * ```
 */
export function installUrl(name: string, options: HostInstallOptions = {}): string {
  let url = `/applet?name=${name}`;
  if (options.type !== undefined) url += `&type=${options.type}`;
  if (options.heap !== undefined) url += `&heap=${options.heap}`;
  if (options.timers !== undefined) url += `&timers=${options.timers}`;
  if (options.watchdog !== undefined) url += `&wd=${options.watchdog}`;
  if (options.deadline !== undefined) url += `&deadline=${options.deadline}`;
  if (options.memory !== undefined) url += `&memory=${options.memory}`;
  return url;
}

function _randomMid(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

interface _Pending {
  resolve: (response: HostResponse) => void;
  reject: (error: Error) => void;
  deadline: number;
  timeout: number;
}

/**
 * A connection to a runtime's host link. Requests are correlated with their responses by
 * message id; events go to the listeners subscribed to their URL and to
 * {@linkcode HostClient.onEvent} listeners.
 *
 * @example Query the apps of a runtime served on a free loopback port
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostClient } from "./host_client.ts";
 * import { HostService } from "../core/cli/serve_command.ts";
 *
 * const service = await HostService.start({ port: 0, stdout: () => {} });
 * const client = await HostClient.connect({ hostname: "127.0.0.1", port: service.addr!.port });
 * const res = await client.query();
 * client.close();
 * await service.shutdown();
 * assert.equal(res.status, 69); // CONTENT_2_05
 * assert.equal(res.container?.get("num")?.value, 0); // no apps installed
 * ```
 */
export class HostClient {
  /** Milliseconds to wait for each response. */
  readonly timeout: number;
  #io: LinkIo;
  #parser: FrameParser;
  #pending = new Map<number, _Pending>();
  #listeners = new Map<string, Set<HostEventListener>>();
  #anyListeners = new Set<HostEventListener>();
  #responseListeners = new Set<(response: HostResponse) => void>();
  #nextMid = _randomMid();
  #closed = false;
  #done: Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = 0;
  /** The token's key, when the client authenticates. */
  #key: Promise<CryptoKey> | undefined;
  /** Frames sent before the handshake ended; undefined once the link is open. */
  #held: Uint8Array[] | undefined;
  #ready = Promise.withResolvers<void>();
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #serverNonce: Uint8Array | undefined;
  #clientNonce: Uint8Array | undefined;
  /** Why the link failed, for the requests that fail with it. */
  #failure: Error | undefined;

  /**
   * Runs the link over any byte stream pair. {@linkcode HostClient.connect} is the TCP
   * shortcut.
   *
   * @param transport the streams
   * @param options timeout, payload limit and token
   * @throws {RangeError} when the token is empty
   */
  constructor(transport: HostTransport, options: HostClientOptions = {}) {
    this.timeout = options.timeout ?? 5000;
    this.#io = new LinkIo(transport);
    this.#io.onWriteError = () => this.close();
    this.#parser = new FrameParser({ maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD });
    // Awaited through `ready`; this keeps an unawaited failure from being unhandled.
    this.#ready.promise.catch(() => {});
    const token = options.token;
    if (token === undefined) {
      this.#ready.resolve();
    } else {
      if (token.length === 0) throw new RangeError("The host link token is empty");
      this.#key = importAuthKey(token);
      this.#held = [];
      this.#authTimer = setTimeout(() => {
        this.#fail(
          new HostAuthError(
            `No authentication challenge from the runtime within ${this.timeout} ms: ` +
              `it asks for no token, or it speaks TLS`,
          ),
        );
      }, this.timeout);
      _unref(this.#authTimer);
    }
    this.#done = this.#readLoop();
  }

  /**
   * Resolves once the link is ready for requests: at once without a token, after the
   * handshake with one. Rejects with a {@linkcode HostAuthError} when the runtime refuses the
   * token or asks for one the client lacks. Requests sent before need not wait for it: they
   * go out when it resolves and fail with its error.
   */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /**
   * Connects over TCP.
   *
   * @param options address, port (default 127.0.0.1:8888), timeout
   * @returns the connected client
   *
   * @example Connect and close
   * ```ts
   * import assert from "node:assert/strict";
   * import { HostClient } from "./host_client.ts";
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // a runtime's place
   * const client = await HostClient.connect({ port: listener.addr.port });
   * const conn = await listener.accept();
   * client.close();
   * assert.equal(await conn.read(new Uint8Array(8)), null); // closed, having sent nothing
   * conn.close();
   * listener.close();
   * ```
   */
  static async connect(options: HostConnectOptions = {}): Promise<HostClient> {
    // Through the platform: Deno's sockets (TLS handshake done there, so an untrusted
    // certificate fails here with the reason); the browser build has none and says so.
    const conn = await platform().connect({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 8888,
      ...(options.tls || options.caCerts ? { tls: true } : {}),
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    });
    const client = new HostClient(conn, options);
    try {
      await client.ready;
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Resolves when the connection has ended (closed by either side). */
  get closed(): Promise<void> {
    return this.#done;
  }

  /**
   * Installs an app: a type-4 frame carrying PUT `/applet?name=...` with fmt 98 and the
   * module bytes, as host_tool sends it.
   *
   * @param name app name
   * @param wasm the module bytes
   * @param options heap, timers, watchdog, type, and the response timeout
   * @returns the response (65 on success, 160 with an error message otherwise)
   */
  install(
    name: string,
    wasm: Uint8Array,
    options: HostInstallOptions & { timeout?: number } = {},
  ): Promise<HostResponse> {
    return this.send(
      HostMessageType.INSTALL,
      Action.PUT,
      installUrl(name, options),
      FMT_APP_RAW_BINARY,
      wasm,
      options.timeout,
    );
  }

  /**
   * Starts a suspended (or stopped) app again: POST `/applet?name=N&action=resume`, a
   * micro-runtime extension (WAMR answers it 160 "invalid action").
   *
   * @param name app name
   * @param options the response timeout
   * @returns the response (68 on success, 160 with an error message otherwise)
   */
  resume(name: string, options: { timeout?: number } = {}): Promise<HostResponse> {
    return this.send(
      HostMessageType.REQUEST,
      Action.POST,
      `/applet?name=${name}&action=resume`,
      FMT_ATTR_CONTAINER,
      undefined,
      options.timeout,
    );
  }

  /**
   * Uninstalls an app: DELETE `/applet?name=N[&type=T]`.
   *
   * @param name app name
   * @param options module type
   * @returns the response (66 on success)
   */
  uninstall(
    name: string,
    options: { type?: string; timeout?: number } = {},
  ): Promise<HostResponse> {
    const url = `/applet?name=${name}` +
      (options.type !== undefined ? `&type=${options.type}` : "");
    return this.send(
      HostMessageType.REQUEST,
      Action.DELETE,
      url,
      FMT_ATTR_CONTAINER,
      undefined,
      options.timeout,
    );
  }

  /**
   * Queries all apps, or one by name: GET `/applet[?name=N]`.
   *
   * @param name app name; all apps when omitted
   * @returns the response (69 with an "Applets Info" container)
   */
  query(name?: string): Promise<HostResponse> {
    const url = name === undefined ? "/applet" : `/applet?name=${name}`;
    return this.send(HostMessageType.REQUEST, Action.GET, url, FMT_ATTR_CONTAINER, undefined);
  }

  /**
   * Sends a request to the runtime: an app resource, `/app/<name>/...`, or the manager.
   *
   * @param url the request URL
   * @param action method name or action code
   * @param payload an attr_container (sent as a C app would hold it, fmt 99) or raw bytes
   * @param options fmt and timeout
   * @returns the response
   */
  request(
    url: string,
    action: ActionName | number,
    payload?: AttrContainer | Uint8Array,
    options: ClientRequestOptions = {},
  ): Promise<HostResponse> {
    const code = typeof action === "number" ? action : Action[action];
    if (code === undefined) throw new TypeError(`Unknown action "${String(action)}"`);
    let bytes: Uint8Array | undefined;
    let fmt = options.fmt;
    if (payload instanceof AttrContainer) {
      bytes = encodeLikeWamr(payload);
      fmt ??= FMT_ATTR_CONTAINER;
    } else {
      bytes = payload;
      fmt ??= payload === undefined ? FMT_ATTR_CONTAINER : 0;
    }
    return this.send(HostMessageType.REQUEST, code, url, fmt, bytes, options.timeout);
  }

  /**
   * Subscribes to an event (PUT `/event/<url>`) and delivers it to `listener`. The runtime
   * registers the URL without a leading `/`, and events carry that form.
   *
   * @param url event URL, with or without the leading `/`
   * @param listener called for each event
   * @returns the response (69)
   */
  async subscribe(url: string, listener: HostEventListener): Promise<HostResponse> {
    const key = eventKey(url);
    let set = this.#listeners.get(key);
    if (!set) this.#listeners.set(key, set = new Set());
    set.add(listener);
    try {
      return await this.request(subscribeUrl(url), Action.PUT);
    } catch (error) {
      set.delete(listener);
      throw error;
    }
  }

  /**
   * Unsubscribes (DELETE `/event/<url>`) and drops the URL's listeners. Unlike host_tool's
   * `-d`, a leading `/` is not doubled, so the subscription is really removed.
   *
   * @param url event URL as given to {@linkcode HostClient.subscribe}
   * @returns the response (69)
   */
  unsubscribe(url: string): Promise<HostResponse> {
    this.#listeners.delete(eventKey(url));
    return this.request(subscribeUrl(url), Action.DELETE);
  }

  /**
   * Receives every event, subscribed through this client or not.
   *
   * @param listener called for each event
   * @returns a function that removes the listener
   */
  onEvent(listener: HostEventListener): () => void {
    this.#anyListeners.add(listener);
    return () => this.#anyListeners.delete(listener);
  }

  /**
   * Sees every response to a request of this client, synchronously and in arrival order
   * with the events (the returned promises resolve a little later).
   *
   * @param listener called for each response
   * @returns a function that removes the listener
   */
  onResponse(listener: (response: HostResponse) => void): () => void {
    this.#responseListeners.add(listener);
    return () => this.#responseListeners.delete(listener);
  }

  /**
   * Sends a request packet in a frame of the given type and waits for its response. The
   * lowest-level call; the others build their packets with it.
   *
   * @param type frame type (2 request, 4 install)
   * @param action action code
   * @param url request URL
   * @param fmt payload format
   * @param payload payload bytes
   * @param timeout milliseconds to wait; default the client's timeout
   * @param mid message id; default the next one of this client
   * @returns the response
   * @throws {Deno.errors.TimedOut} when no response arrives in time
   * @throws {Deno.errors.ConnectionReset} when the connection ends first
   */
  send(
    type: number,
    action: number,
    url: string,
    fmt: number,
    payload: Uint8Array | undefined,
    timeout: number = this.timeout,
    mid?: number,
  ): Promise<HostResponse> {
    if (this.#closed) {
      return Promise.reject(this.#failure ?? _linkError("ConnectionReset", "Client is closed"));
    }
    const id = mid ?? this.#allocMid();
    const packet = encodeRequest({ action, fmt, mid: id, sender: 0, url, payload });
    const { promise, resolve, reject } = Promise.withResolvers<HostResponse>();
    const deadline = performance.now() + timeout;
    this.#pending.set(id, { resolve, reject, deadline, timeout });
    this.#arm(deadline);
    const frame = encodeFrame(type, packet);
    if (this.#held) this.#held.push(frame);
    else this.#io.send(frame);
    return promise;
  }

  // One timer per client, armed for the earliest deadline: a timer per request cost more
  // than the rest of a round trip.
  #arm(deadline: number): void {
    if (this.#timer !== undefined && this.#timerAt <= deadline) return;
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()));
    // Pending requests alone must not keep a process alive; the connection does that.
    _unref(this.#timer);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const [mid, entry] of this.#pending) {
      if (entry.deadline <= now) {
        this.#pending.delete(mid);
        entry.reject(
          _linkError("TimedOut", `No response to mid ${mid} within ${entry.timeout} ms`),
        );
      } else next = Math.min(next, entry.deadline);
    }
    if (next < Infinity) this.#arm(next);
  }

  /**
   * Writes raw bytes to the link, for tests and tools that need to send something malformed.
   *
   * @param bytes the bytes, sent as they are, after anything sent before
   */
  sendRaw(bytes: Uint8Array): void {
    this.#io.send(bytes);
  }

  /** Closes the connection; pending requests fail with `ConnectionReset`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#io.close();
    this.#failPending("Client closed");
  }

  /** Ends the link for `error`: the handshake and every pending request fail with it. */
  #fail(error: Error): void {
    this.#failure ??= error;
    this.close();
  }

  #allocMid(): number {
    let mid = this.#nextMid;
    while (this.#pending.has(mid)) mid = (mid + 1) >>> 0;
    this.#nextMid = (mid + 1) >>> 0;
    return mid;
  }

  #failPending(why: string): void {
    this.#disarm();
    clearTimeout(this.#authTimer);
    this.#held = undefined;
    const failure = this.#failure;
    this.#ready.reject(
      failure ?? _linkError("ConnectionReset", `${why} before the link was ready`),
    );
    for (const [mid, entry] of this.#pending) {
      entry.reject(
        failure ?? _linkError("ConnectionReset", `${why} before the response to mid ${mid}`),
      );
    }
    this.#pending.clear();
  }

  /** One message of the token handshake. */
  async #onAuth(payload: Uint8Array): Promise<void> {
    let message;
    try {
      message = decodeAuth(payload);
    } catch (error) {
      this.#fail(new HostAuthError(`Bad authentication message: ${(error as Error).message}`));
      return;
    }
    if (message.kind === AuthKind.REFUSE) {
      this.#fail(
        message.reason === RefuseReason.BUSY
          ? _linkError("ConnectionRefused", message.message)
          : new HostAuthError(message.message, message.reason),
      );
      return;
    }
    const key = this.#key;
    if (!key) {
      this.#fail(
        new HostAuthError(
          "The runtime asks for a token: give it with --token-file FILE or MICRO_RUNTIME_TOKEN " +
            "(HostClient: the token option)",
        ),
      );
      return;
    }
    if (message.kind === AuthKind.CHALLENGE && this.#clientNonce === undefined) {
      if (message.version !== AUTH_VERSION) {
        this.#fail(
          new HostAuthError(`The runtime speaks authentication version ${message.version}, not 1`),
        );
        return;
      }
      const clientNonce = authNonce();
      this.#serverNonce = message.nonce;
      this.#clientNonce = clientNonce;
      const mac = await proveClient(await key, message.nonce, clientNonce);
      if (!this.#closed) {
        this.#io.send(encodeAuth({ kind: AuthKind.PROOF, nonce: clientNonce, mac }));
      }
    } else if (message.kind === AuthKind.ACCEPT && this.#clientNonce && this.#held) {
      const ok = await checkServer(await key, this.#serverNonce!, this.#clientNonce, message.mac);
      if (this.#closed) return;
      if (!ok) {
        this.#fail(
          new HostAuthError("The runtime's proof does not match the token: it does not hold it"),
        );
        return;
      }
      clearTimeout(this.#authTimer);
      const held = this.#held;
      this.#held = undefined;
      for (const frame of held) this.#io.send(frame);
      this.#ready.resolve();
    } else {
      this.#fail(new HostAuthError(`Unexpected authentication message of kind ${message.kind}`));
    }
  }

  async #readLoop(): Promise<void> {
    try {
      while (true) {
        const chunk = await this.#io.read();
        if (chunk === null) break;
        for (const event of this.#parser.push(chunk)) {
          if (event.kind === "frame") this.#onFrame(event.type, event.payload);
        }
      }
    } catch {
      // A reset or a local close ends the loop like EOF does.
    } finally {
      this.#closed = true;
      this.#failPending("Connection closed");
    }
  }

  #onFrame(type: number, payload: Uint8Array): void {
    if (type === HostMessageType.AUTH) {
      void this.#onAuth(payload);
    } else if (type === HostMessageType.RESPONSE) {
      let res;
      try {
        res = decodeResponse(payload);
      } catch {
        return;
      }
      const entry = this.#pending.get(res.mid);
      // host_tool ignores responses whose mid is not the one it sent; so does this.
      if (!entry) return;
      // The deadline timer stays armed when nothing is pending: it fires once, finds nothing
      // and stops, which is cheaper than clearing and setting one per request.
      this.#pending.delete(res.mid);
      const response = _withContainer({
        status: res.status,
        fmt: res.fmt,
        mid: res.mid,
        payload: res.payload,
      });
      for (const listener of this.#responseListeners) listener(response);
      entry.resolve(response);
    } else if (type === HostMessageType.REQUEST) {
      let req;
      try {
        req = decodeRequest(payload);
      } catch {
        return;
      }
      const event = _withContainer({
        url: req.url,
        fmt: req.fmt,
        mid: req.mid,
        payload: req.payload,
      });
      for (const listener of this.#anyListeners) listener(event);
      for (const listener of this.#listeners.get(req.url) ?? []) listener(event);
    }
  }
}
