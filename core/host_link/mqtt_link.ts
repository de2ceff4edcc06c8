/**
 * The app manager reached through an MQTT broker: the host link for fleets.
 *
 * One device, one topic tree under `<prefix>/<device-id>/` (`mqtt_topics.ts` builds and parses
 * it):
 *
 * - `req` (in, QoS 1): a request packet, byte for byte what the TCP link carries in a request
 *   or install frame (`sdk/packet.ts`): installs, uninstalls, queries and app requests, with
 *   the same status codes; an MQTT 5 user property `device` naming another device gets 4.00;
 * - `res` (out, QoS 1): the response packet, its mid the request's, and with MQTT 5 the
 *   request's correlation data echoed;
 * - `status` (out, retained): JSON with the apps (name, status, content hash, memory), the
 *   suspended ones, the process's memory and the runtime's version, republished on each
 *   change and each reconnect; the broker publishes `{"state":"offline"}` there as the link's
 *   last will;
 * - `ev/<event url>` (out, QoS 0 by default): the events published on this device (by an app's
 *   `api_publish_event` or a host) whose URL the operator allows, the payload as is, its
 *   format in the user property `fmt`; and in, from `<prefix>/+/ev/<allowed>`: other devices'
 *   events, published here as the host, so the apps subscribed to them get them.
 *
 * Packets rather than JSON: the packet codec is the one both links share, a 30 KB install
 * travels as 30 KB (base64 would add a third), and the mid inside correlates over MQTT 3.1.1
 * too.
 *
 * Installs are idempotent by content hash: a redelivered install (QoS 1 delivers at least
 * once) of the same bytes under the name of an installed app answers as the first did and
 * installs nothing. The session is persistent (MQTT 5 session expiry of a day), so requests
 * published while the device or the broker is away are delivered when both are back.
 *
 * Events out are bounded: past {@linkcode MqttLinkOptions.maxEventRate} a second, or while the
 * socket holds {@linkcode MAX_UNSENT_EVENT_BYTES} unsent, or while the broker is away, an
 * event is dropped with a log line that collapses when repeated, so an app flooding events
 * costs its device a counter, not its memory or its other links.
 *
 * Events in wait for room: while an app subscribed to one has three quarters of its queue
 * full (WAMR's queue holds 50), the link stops reading from the broker until the app catches
 * up, as the connection plugin does with sockets, so a burst arrives at the app's pace instead
 * of overflowing its queue. At QoS 1 the broker holds the rest for the device (up to its
 * `max_queued_messages`); at QoS 0 it drops what its queue for the device cannot hold.
 * Requests share the connection: one that arrives behind such a burst waits for the events
 * ahead of it to be queued.
 *
 * Links keep no state outside their object: many can run in one process, one per app manager.
 * MQTT.js is loaded only when a link starts.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { AppManager, InstalledApp } from "../framework/app_manager.ts";
import { DEFAULT_MAX_PAYLOAD } from "../../sdk/host_link.ts";
import { errorPayload, type MessageBus } from "../framework/bus.ts";
import { LogCollapser } from "../framework/log_collapse.ts";
import { checkUrlStart, findKeyValue } from "../framework/url.ts";
import {
  Action,
  decodeRequest,
  encodeResponse,
  FMT_ATTR_CONTAINER,
  ID_HOST,
  type Request,
  type Response,
  Status,
} from "../../sdk/packet.ts";
import { ProtocolError } from "../../sdk/errors.ts";
import type { HostLogLevel } from "./host_server.ts";
import {
  checkMqttEventPrefix,
  checkMqttLevel,
  DEFAULT_MQTT_PREFIX,
  MQTT_DEVICE_PROPERTY,
  MQTT_FORMAT_PROPERTY,
  mqttDeviceTopic,
  mqttEventAllowed,
  mqttEventFilter,
  mqttEventFormat,
  mqttEventTopic,
  parseMqttTopic,
} from "./mqtt_topics.ts";
import {
  loadMqtt,
  type MqttClient,
  type MqttClientOptions,
  type MqttError,
  type MqttPublishPacket,
  type MqttSubscribeOptions,
} from "./mqtt_client.ts";

export {
  checkMqttEventPrefix,
  checkMqttLevel,
  DEFAULT_MQTT_PREFIX,
  MQTT_DEVICE_PROPERTY,
  MQTT_EVENT_LEVEL,
  MQTT_FORMAT_PROPERTY,
  mqttDeviceTopic,
  mqttEventAllowed,
  mqttEventFilter,
  mqttEventFormat,
  mqttEventTopic,
  type MqttLeaf,
  type MqttTopic,
  parseMqttTopic,
} from "./mqtt_topics.ts";

/** Milliseconds a request over MQTT may wait for its response by default (as the TCP link). */
export const DEFAULT_MQTT_REQUEST_TIMEOUT = 600_000;
/** Events a second a device sends to the broker by default; more are dropped. */
export const DEFAULT_MQTT_EVENT_RATE = 10_000;
/** Bytes the socket to the broker may hold unsent before events are dropped. */
export const MAX_UNSENT_EVENT_BYTES = 1 << 20;
/**
 * Share of an app's queue that events from the broker may fill; the rest stays for its
 * timers, responses and requests.
 */
const _EVENT_QUEUE_SHARE = 0.75;
/** QoS 1 events sent and not yet acknowledged before more are dropped. */
const _MAX_EVENTS_IN_FLIGHT = 1000;
const _EMPTY = new Uint8Array(0);
/** Milliseconds between reconnects by default, and after the broker refused the credentials. */
const _RECONNECT_MS = 2000;
const _REFUSED_RECONNECT_MS = 30_000;
/** Longest an install's PUBACK waits for its answer. */
const _ACK_WAIT_MS = 10_000;

/** Options for {@linkcode MqttLink.start}. */
export interface MqttLinkOptions {
  /** The broker, `mqtt://HOST:PORT` or `mqtts://HOST:PORT`. */
  url: string;
  /** This device's id: one topic level, no `/`, `+` or `#`. */
  deviceId: string;
  /** The first topic level (default {@linkcode DEFAULT_MQTT_PREFIX}). */
  prefix?: string;
  /** User name at the broker. */
  username?: string;
  /** Password at the broker. */
  password?: string;
  /** What the status message calls the runtime, e.g. `micro-runtime 0.1.0`. */
  runtimeVersion?: string;
  /**
   * Trusted CA certificates (PEM) for `mqtts://`, instead of the system's; a broker with a
   * private CA needs it.
   */
  ca?: string;
  /** A client certificate (PEM) for brokers that ask for one, with {@linkcode key}. */
  cert?: string;
  /** The client certificate's private key (PEM). */
  key?: string;
  /**
   * Event URLs bridged both ways (default none): an entry ending in `/` allows every URL
   * under it (`alert/`), any other entry exactly that URL.
   */
  events?: readonly string[];
  /**
   * QoS of events sent and received (default 0: events, like WAMR's, may be dropped). QoS 1
   * costs an acknowledgement per event, and Mosquitto keeps 20 unacknowledged and at most
   * `max_queued_messages` (1,000) more per subscriber, dropping the rest: a publisher must not
   * run further ahead of the slowest device. 18,000–28,000 events a second device to device on
   * loopback so paced, against 17,000–66,000 at QoS 0 (bench/README.md, Fleets).
   */
  eventQos?: 0 | 1;
  /** Most events a second this device sends; more are dropped (default 10,000). */
  maxEventRate?: number;
  /** Largest request packet or event accepted, in bytes (default 1 MiB, as the TCP link). */
  maxPayload?: number;
  /** Milliseconds a request waits for its response (default 10 min). */
  requestTimeout?: number;
  /** Receives log lines: "info" for (re)connects, "error" for refusals and bad packets. */
  log?: (level: HostLogLevel, message: string) => void;
}

/** One app in the status message. */
export interface MqttAppStatus {
  /** Its name. */
  name: string;
  /** Its id. */
  id: number;
  /** `running`, `stopped` or `suspended`. */
  status: string;
  /** Why it is stopped or suspended. */
  reason?: string;
  /** SHA-256 of its module, hex: the version of an app. */
  hash: string;
  /** Bytes of linear memory it has now (0 when it holds no instance). */
  memory: number;
}

/** The retained status message of a device. */
export interface MqttDeviceStatus {
  /** The device id. */
  device: string;
  /** `online`; the last will says `offline`. */
  state: "online" | "offline";
  /** The runtime's version. */
  runtime: string;
  /** Installed apps, most recent first. */
  apps: MqttAppStatus[];
  /** Names of the suspended apps. */
  suspended: string[];
  /** The event URLs (prefixes ending in `/`, or exact) bridged with the broker. */
  events: string[];
  /** The process's memory: resident set and JS heap, in bytes. */
  memory: { rss: number; heapUsed: number };
  /** When this message was made (ISO 8601). */
  at: string;
}

/**
 * A device's link to an MQTT broker: serves the app manager's host side on its topics.
 * Start it with {@linkcode MqttLink.start}; it connects (and reconnects) in the background.
 */
export class MqttLink {
  /** `<prefix>/<device-id>`, the root of this device's topics. */
  readonly root: string;
  readonly #manager: AppManager;
  readonly #client: MqttClient;
  readonly #options: MqttLinkOptions;
  readonly #log: (level: HostLogLevel, message: string) => void;
  readonly #maxPayload: number;
  readonly #requestTimeout: number;
  /** Content hash of each installed app's module, by app. */
  readonly #hashes = new WeakMap<InstalledApp, Promise<string>>();
  /** What the install of each name over this link answered, with the bytes' hash. */
  readonly #installs = new Map<string, { hash: string; answer: Promise<Response> }>();
  readonly #unlisten: () => void;
  readonly #prefix: string;
  readonly #reqTopic: string;
  readonly #events: readonly string[];
  readonly #eventQos: 0 | 1;
  readonly #maxEventRate: number;
  /** Dropped events' lines, collapsed when repeated. */
  readonly #repeats: LogCollapser<HostLogLevel>;
  /** An event from the broker is being published here: not one to send back. */
  #injecting = false;
  /** Start of the current second of events sent, and how many were sent in it. */
  #rateAt = -Infinity;
  #rateSent = 0;
  #eventsInFlight = 0;
  /** Requests are taken in order: an install's hash is async, the request after it waits. */
  #chain: Promise<void> = Promise.resolve();
  #statusQueued = false;
  #lastError = "";
  #closed = false;

  private constructor(manager: AppManager, client: MqttClient, options: MqttLinkOptions) {
    this.#manager = manager;
    this.#client = client;
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_MQTT_PREFIX;
    this.root = `${this.#prefix}/${options.deviceId}`;
    this.#reqTopic = mqttDeviceTopic(this.#prefix, options.deviceId, "req");
    this.#events = [...(options.events ?? [])];
    this.#eventQos = options.eventQos ?? 0;
    this.#maxEventRate = options.maxEventRate ?? DEFAULT_MQTT_EVENT_RATE;
    this.#log = options.log ?? ((level, message) => {
      if (level === "error" || level === "warn") console.error(message);
    });
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.#requestTimeout = options.requestTimeout ?? DEFAULT_MQTT_REQUEST_TIMEOUT;
    this.#repeats = new LogCollapser<HostLogLevel>({
      clock: manager.clock,
      print: (level, line) => this.#log(level, line),
    });
    for (const app of manager.apps) this.#hashOf(app);
    const changed = (event: CustomEvent<{ app: InstalledApp }>) => {
      const app = event.detail.app;
      if (event.type === "install") this.#hashOf(app);
      if (event.type === "uninstall") this.#installs.delete(app.name);
      this.#queueStatus();
    };
    const types = ["install", "uninstall", "suspend", "resume"] as const;
    for (const type of types) manager.addEventListener(type, changed);
    const untap = this.#events.length > 0 ? this.#tapEvents(manager.bus) : () => {};
    this.#unlisten = () => {
      for (const type of types) manager.removeEventListener(type, changed);
      untap();
    };
    client.on("connect", () => this.#onConnect());
    // Taking a message here rather than on "message" lets the PUBACK wait for it: MQTT.js
    // acknowledges when the callback is called, and reads nothing more from the broker meanwhile.
    client.handleMessage = (packet, done) => {
      if (packet.topic !== this.#reqTopic) {
        const waiting = this.#onEvent(packet);
        if (waiting) waiting.then(() => done(), () => done());
        else done();
        return;
      }
      this.#onRequest(packet).then(() => done(), () => done());
    };
    client.on("error", (error) => this.#onError(error));
    client.on("offline", () => {
      if (!this.#closed && this.#lastError === "") {
        this.#lastError = "offline";
        this.#log("warn", `MQTT link to ${_safeUrl(options.url)} lost; reconnecting`);
      }
    });
  }

  /**
   * Connects a device to a broker and serves its topics; the connection (and every reconnect)
   * happens in the background, so the device serves its other links meanwhile.
   *
   * @param manager the app manager
   * @param options broker, device id, credentials
   * @returns the link
   * @throws {RangeError} when the device id or prefix cannot be a topic level
   */
  static async start(manager: AppManager, options: MqttLinkOptions): Promise<MqttLink> {
    checkMqttLevel("device id", options.deviceId);
    for (const level of (options.prefix ?? DEFAULT_MQTT_PREFIX).split("/")) {
      checkMqttLevel("topic prefix", level);
    }
    for (const allowed of options.events ?? []) checkMqttEventPrefix(allowed);
    const { connect } = await loadMqtt();
    const root = `${options.prefix ?? DEFAULT_MQTT_PREFIX}/${options.deviceId}`;
    const clientOptions: MqttClientOptions = {
      protocolVersion: 5,
      clientId: `micro-runtime-${options.deviceId}`,
      // A persistent session: requests published while the device is away wait at the broker.
      clean: false,
      properties: { sessionExpiryInterval: 86_400 },
      reconnectPeriod: _RECONNECT_MS,
      connectTimeout: 10_000,
      // Events made while the broker is away are dropped (and counted), not hoarded.
      queueQoSZero: false,
      will: {
        topic: `${root}/status`,
        payload: _offline(options.deviceId),
        qos: 1,
        retain: true,
      },
    };
    if (options.username !== undefined) clientOptions.username = options.username;
    if (options.password !== undefined) clientOptions.password = options.password;
    if (options.ca !== undefined) clientOptions.ca = options.ca;
    if (options.cert !== undefined) clientOptions.cert = options.cert;
    if (options.key !== undefined) clientOptions.key = options.key;
    return new MqttLink(manager, connect(options.url, clientOptions), options);
  }

  /** Whether the link is connected to the broker now. */
  get connected(): boolean {
    return this.#client.connected;
  }

  /**
   * Publishes `offline` on the status topic (a clean disconnect sends no last will), then
   * disconnects and stops reconnecting.
   *
   * @returns when the client has ended
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten();
    this.#repeats.close();
    if (this.#client.connected) {
      try {
        await this.#client.publishAsync(`${this.root}/status`, _offline(this.#options.deviceId), {
          qos: 1,
          retain: true,
        });
      } catch {
        // The broker went away meanwhile: its last will says the same.
      }
    }
    await this.#client.endAsync(true);
  }

  // ---- connection ------------------------------------------------------------------------

  #onConnect(): void {
    this.#client.options.reconnectPeriod = _RECONNECT_MS;
    this.#lastError = "";
    const topics: Record<string, MqttSubscribeOptions> = { [this.#reqTopic]: { qos: 1 } };
    for (const allowed of this.#events) {
      // No Local: the broker does not send this device's own events back.
      topics[mqttEventFilter(this.#prefix, allowed)] = { qos: this.#eventQos, nl: true };
    }
    this.#client.subscribe(topics, (error, granted) => {
      if (error) {
        this.#log("error", `MQTT subscribe failed: ${error.message}`);
        return;
      }
      for (const { topic, qos } of granted ?? []) {
        if (qos >= 128) {
          this.#log(
            "error",
            `MQTT broker refused the subscription to ${topic} (reason ${qos}); check its ACL`,
          );
        }
      }
    });
    const events = this.#events.length > 0
      ? `, events ${this.#events.map((e) => `"${e}"`).join(", ")} bridged`
      : "";
    this.#log(
      "info",
      `MQTT link connected to ${_safeUrl(this.#options.url)} as ${this.root} ` +
        `(requests on ${this.#reqTopic}${events})`,
    );
    this.#statusQueued = false;
    void this.#publishStatus();
  }

  #onError(error: MqttError): void {
    const code = typeof error.code === "number" ? error.code : undefined;
    // MQTT 5: 134 bad user name or password, 135 not authorized; MQTT 3.1.1: 4 and 5.
    const refused = code === 134 || code === 135 || code === 4 || code === 5;
    // Node's TLS codes: DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, ERR_SSL_…, ERR_TLS_….
    const tls = typeof error.code === "string" && /CERT|SSL|TLS/.test(error.code)
      ? error.code
      : undefined;
    const url = _safeUrl(this.#options.url);
    const slow = `retrying every ${_REFUSED_RECONNECT_MS / 1000} s; other links are still served`;
    const message = refused
      ? `MQTT broker ${url} refused device "${this.#options.deviceId}": ${error.message} ` +
        `(reason ${code}); check --mqtt-username and --mqtt-password-file (${slow})`
      : tls !== undefined
      ? `MQTT broker ${url} failed TLS with device "${this.#options.deviceId}": ` +
        `${error.message} (${tls}); check --mqtt-ca, --mqtt-cert and --mqtt-key (${slow})`
      : `MQTT link to ${url} failed: ${error.message}; ` +
        `retrying every ${_RECONNECT_MS / 1000} s (other links are still served)`;
    if (refused || tls !== undefined) {
      this.#client.options.reconnectPeriod = _REFUSED_RECONNECT_MS;
    }
    // One line per kind of failure, not one per retry.
    if (message === this.#lastError) return;
    this.#lastError = message;
    this.#log("error", message);
  }

  // ---- requests --------------------------------------------------------------------------

  /**
   * Takes one message; resolves when it may be acknowledged. A request is acknowledged once it
   * is passed on, an install once it is answered (stored, with a state directory), so one lost
   * to a crash before that is delivered again, and then recognized by its hash. A slow install
   * is acknowledged after {@linkcode _ACK_WAIT_MS} at the latest: the broker's other messages
   * wait until then.
   */
  async #onRequest(packet: MqttPublishPacket): Promise<void> {
    if (this.#closed) return;
    const payload = _bytes(packet.payload);
    const correlation = packet.properties?.correlationData;
    const meant = packet.properties?.userProperties?.[MQTT_DEVICE_PROPERTY];
    const device = Array.isArray(meant) ? meant[0] : meant;
    const taken = this.#chain.then(() => this.#take(payload, correlation, device));
    this.#chain = taken.then(() => {}, (error) => {
      this.#log("error", `MQTT request failed: ${(error as Error).message ?? String(error)}`);
    });
    const answered = (await taken.catch(() => undefined))?.answered;
    if (!answered) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      answered,
      new Promise<void>((resolve) => timer = setTimeout(resolve, _ACK_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }

  /**
   * Handles one request; returns the answer to wait for before acknowledging (installs), in
   * an object so that the caller, not this function, waits for it.
   */
  async #take(
    bytes: Uint8Array,
    correlation: Uint8Array | undefined,
    device: string | undefined,
  ): Promise<{ answered: Promise<unknown> } | undefined> {
    if (bytes.length > this.#maxPayload) {
      this.#replyMalformed(
        bytes,
        correlation,
        Status.REQUEST_ENTITY_TOO_LARGE_4_13,
        `Request entity too large: ${bytes.length} bytes exceeds the limit of ${this.#maxPayload}`,
      );
      return;
    }
    let request: Request;
    try {
      request = decodeRequest(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#replyMalformed(bytes, correlation, Status.BAD_REQUEST_4_00, error.message);
      return;
    }
    if (device !== undefined && device !== this.#options.deviceId) {
      const message = `Request for device "${device}" reached device ` +
        `"${this.#options.deviceId}" on ${this.#reqTopic}; nothing done`;
      this.#log("error", `MQTT request mid ${request.mid}: ${message}`);
      this.#replyError(request.mid, correlation, Status.BAD_REQUEST_4_00, message);
      return;
    }
    if (checkUrlStart(request.url, "/event/") > 0) {
      const how = this.#events.length > 0
        ? `subscribe to ${mqttEventFilter(this.#prefix, this.#events[0]!, this.#options.deviceId)}`
        : "the device bridges none (serve --mqtt-events)";
      this.#replyError(
        request.mid,
        correlation,
        Status.NOT_IMPLEMENTED_5_01,
        `Event subscriptions over MQTT are topics: ${how}`,
      );
      return;
    }
    const applet = checkUrlStart(request.url, "/applet");
    const name = applet > 0 ? findKeyValue(request.url.slice(applet), "name", "&", 128) : undefined;
    if (request.action !== Action.PUT || name === undefined || name === "") {
      this.#forward(request, correlation);
      return;
    }
    const hash = await _sha256(request.payload ?? new Uint8Array());
    const installed = this.#manager.get(name);
    const first = this.#installs.get(name);
    if (first?.hash === hash) {
      // Redelivered (or sent twice): the same bytes under the same name, pending or done.
      this.#log(
        "info",
        `MQTT install of "${name}" repeated with the same content; answered as before`,
      );
      return {
        answered: first.answer.then((answer) => this.#reply(request.mid, correlation, answer)),
      };
    }
    if (installed && installed.state !== "uninstalled" && await this.#hashOf(installed) === hash) {
      // Installed by another link or restored from the state directory: already there.
      this.#reply(request.mid, correlation, {
        status: Status.CREATED_2_01,
        fmt: FMT_ATTR_CONTAINER,
        mid: request.mid,
        receiver: ID_HOST,
        payload: undefined,
      });
      return;
    }
    const answer = this.#forward(request, correlation);
    // Another app holds the name: the manager refuses it, and the holder's record stays.
    if (installed) return { answered: answer };
    this.#installs.set(name, { hash, answer });
    const answered = answer.then((response) => {
      if (response.status !== Status.CREATED_2_01 && this.#installs.get(name)?.answer === answer) {
        this.#installs.delete(name);
      }
    });
    return { answered };
  }

  /** Sends a request to the manager; its response goes to `res`. */
  #forward(request: Request, correlation: Uint8Array | undefined): Promise<Response> {
    const answer = this.#manager.request({
      url: request.url,
      action: request.action,
      fmt: request.fmt,
      ...(request.payload ? { payload: request.payload } : {}),
    }, { timeout: this.#requestTimeout }).catch((error): Response => {
      const message = (error as Error).message ?? String(error);
      this.#log("error", `MQTT request "${request.url}" got no response: ${message}`);
      return {
        status: Status.GATEWAY_TIMEOUT_5_04,
        fmt: FMT_ATTR_CONTAINER,
        mid: request.mid,
        receiver: ID_HOST,
        payload: errorPayload(message),
      };
    });
    void answer.then((response) => this.#reply(request.mid, correlation, response));
    return answer;
  }

  #replyMalformed(
    bytes: Uint8Array,
    correlation: Uint8Array | undefined,
    status: number,
    message: string,
  ): void {
    this.#log("error", `MQTT request on ${this.root}/req: ${message}`);
    if (bytes.length < 8) return;
    const mid = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
    this.#replyError(mid, correlation, status, message);
  }

  #replyError(
    mid: number,
    correlation: Uint8Array | undefined,
    status: number,
    message: string,
  ): void {
    this.#reply(mid, correlation, {
      status,
      fmt: FMT_ATTR_CONTAINER,
      mid,
      receiver: ID_HOST,
      payload: errorPayload(message),
    });
  }

  #reply(mid: number, correlation: Uint8Array | undefined, response: Response): void {
    if (this.#closed) return;
    const bytes = encodeResponse({ ...response, mid, receiver: ID_HOST });
    this.#client.publish(`${this.root}/res`, _buffer(bytes), {
      qos: 1,
      ...(correlation ? { properties: { correlationData: _buffer(correlation) } } : {}),
    });
  }

  // ---- events ----------------------------------------------------------------------------

  /**
   * Sees every event published on the manager's bus, whoever publishes it. The bus has no
   * listener for events no one here subscribes to, so the link wraps its `publish` (the one
   * door every event goes through) and restores it on close.
   */
  #tapEvents(bus: MessageBus): () => void {
    const own = Object.hasOwn(bus, "publish");
    const publish = bus.publish;
    const sendEvent = (event: Request) => this.#sendEvent(event);
    const tapped = function publishAndBridge(event: Request): number {
      sendEvent(event);
      return publish.call(bus, event);
    };
    bus.publish = tapped;
    return () => {
      if (bus.publish !== tapped) return;
      if (own) bus.publish = publish;
      else delete (bus as { publish?: unknown }).publish;
    };
  }

  #sendEvent(event: Request): void {
    if (this.#injecting || this.#closed || !mqttEventAllowed(this.#events, event.url)) return;
    let why: string | undefined;
    const now = this.#manager.clock.now();
    if (now - this.#rateAt >= 1000) {
      this.#rateAt = now;
      this.#rateSent = 0;
    }
    const unsent = this.#client.stream?.writableLength ?? 0;
    if (!this.#client.connected) why = "the broker is not connected";
    else if (this.#rateSent >= this.#maxEventRate) {
      why = `more than ${this.#maxEventRate} events a second`;
    } else if (unsent > MAX_UNSENT_EVENT_BYTES) {
      why = `${unsent} bytes wait to be sent to the broker`;
    } else if (this.#eventsInFlight >= _MAX_EVENTS_IN_FLIGHT) {
      why = `${_MAX_EVENTS_IN_FLIGHT} events wait for the broker's acknowledgement`;
    }
    let topic = "";
    if (why === undefined) {
      try {
        topic = mqttEventTopic(this.#prefix, this.#options.deviceId, event.url);
      } catch (error) {
        why = (error as Error).message;
      }
    }
    if (why !== undefined) {
      this.#repeats.line("warn", `MQTT event "${event.url}" not sent: ${why}`);
      return;
    }
    this.#rateSent++;
    const properties = { userProperties: { [MQTT_FORMAT_PROPERTY]: String(event.fmt) } };
    const payload = _buffer(event.payload ?? _EMPTY);
    if (this.#eventQos === 0) {
      this.#client.publish(topic, payload, { qos: 0, properties });
      return;
    }
    this.#eventsInFlight++;
    this.#client.publish(topic, payload, { qos: 1, properties }, () => this.#eventsInFlight--);
  }

  /**
   * An event from the broker: published here as the host, for the apps subscribed to it.
   * When one of their queues is {@linkcode _EVENT_QUEUE_SHARE} full, the event waits for room
   * and so does the broker: MQTT.js reads no more of the socket until the promise returned
   * settles, so a burst is taken at the apps' pace instead of overflowing their queues (at
   * QoS 1 the broker holds what follows; at QoS 0 it may drop when its queue for this device
   * is full).
   *
   * @returns a promise while the event waits for room
   */
  #onEvent(packet: MqttPublishPacket): Promise<void> | undefined {
    if (this.#closed) return;
    const topic = parseMqttTopic(this.#prefix, packet.topic);
    if (
      topic?.leaf !== "ev" || topic.deviceId === this.#options.deviceId ||
      !mqttEventAllowed(this.#events, topic.url)
    ) {
      return;
    }
    const payload = _bytes(packet.payload);
    if (payload.length > this.#maxPayload) {
      this.#repeats.line(
        "error",
        `MQTT event "${topic.url}" from device "${topic.deviceId}" dropped: ` +
          `${payload.length} bytes exceeds the limit of ${this.#maxPayload}`,
      );
      return;
    }
    const event: Request = {
      action: Action.EVENT,
      fmt: mqttEventFormat(packet.properties?.userProperties),
      mid: 0,
      sender: ID_HOST,
      url: topic.url,
      // MQTT.js may hand out a view of a larger buffer that it reuses.
      payload: payload.length > 0 ? payload.slice() : undefined,
    };
    if (this.#hasRoom(event.url)) {
      this.#inject(event);
      return;
    }
    return this.#injectWhenRoom(event);
  }

  async #injectWhenRoom(event: Request): Promise<void> {
    while (!this.#closed && !this.#hasRoom(event.url)) await this.#manager.nextDrain();
    if (!this.#closed) this.#inject(event);
  }

  /** Whether every running app subscribed to `url` has room in its queue for an event. */
  #hasRoom(url: string): boolean {
    const manager = this.#manager;
    const limit = Math.max(1, Math.floor(manager.queueLength * _EVENT_QUEUE_SHARE));
    for (const id of manager.bus.subscribers(url)) {
      const app = manager.get(id);
      if (app !== undefined && app.running && app.queued >= limit) return false;
    }
    return true;
  }

  #inject(event: Request): void {
    this.#injecting = true;
    try {
      this.#manager.fromHost(event);
    } finally {
      this.#injecting = false;
    }
  }

  // ---- status ----------------------------------------------------------------------------

  #hashOf(app: InstalledApp): Promise<string> {
    let hash = this.#hashes.get(app);
    if (!hash) this.#hashes.set(app, hash = _sha256(app.module.bytes));
    return hash;
  }

  /** Republishes the status once the current burst of changes is over. */
  #queueStatus(): void {
    if (this.#statusQueued || this.#closed) return;
    this.#statusQueued = true;
    queueMicrotask(() => {
      if (!this.#statusQueued) return;
      this.#statusQueued = false;
      void this.#publishStatus();
    });
  }

  /**
   * The status message as it stands.
   *
   * @returns the status
   */
  async status(): Promise<MqttDeviceStatus> {
    const apps = this.#manager.apps;
    const hashes = await Promise.all(apps.map((app) => this.#hashOf(app)));
    const memory = Deno.memoryUsage();
    return {
      device: this.#options.deviceId,
      state: "online",
      runtime: this.#options.runtimeVersion ?? "micro-runtime",
      apps: apps.map((app, i): MqttAppStatus => ({
        name: app.name,
        id: app.id,
        status: app.state,
        ...(app.reason !== undefined ? { reason: app.reason } : {}),
        hash: hashes[i]!,
        memory: app.live?.memory?.size ?? 0,
      })),
      suspended: apps.filter((app) => app.state === "suspended").map((app) => app.name),
      events: [...this.#events],
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      at: new Date().toISOString(),
    };
  }

  async #publishStatus(): Promise<void> {
    if (this.#closed || !this.#client.connected) return;
    const status = JSON.stringify(await this.status());
    if (this.#closed) return;
    this.#client.publish(`${this.root}/status`, status, { qos: 1, retain: true });
  }
}

/** A message's payload as bytes (no copy). */
function _bytes(payload: string | Buffer): Uint8Array {
  return typeof payload === "string"
    ? new TextEncoder().encode(payload)
    : new Uint8Array(payload.buffer, payload.byteOffset, payload.length);
}

/** The same bytes as the Buffer MQTT.js's types ask for (no copy). */
function _buffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function _offline(deviceId: string): string {
  return JSON.stringify({ device: deviceId, state: "offline" });
}

async function _sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The broker's URL without a password written into it. */
function _safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//");
}
