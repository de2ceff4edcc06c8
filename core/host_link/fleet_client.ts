/**
 * The operator's side of fleets: one connection to an MQTT broker that sees every device's
 * retained status, sends request packets to one device or to all devices matching a pattern,
 * and correlates the responses (the device side is `mqtt_link.ts`).
 *
 * ```
 * operator ──publish── <prefix>/<id>/req ──► device <id>   (request packets, QoS 1)
 * operator ◄─subscribe─ <prefix>/+/res    ◄── device <id>   (responses: same mid, correlation data)
 * operator ◄─subscribe─ <prefix>/+/status ◄── device <id>   (retained JSON; last will "offline")
 * operator ◄─subscribe─ <prefix>/+/ev/<url> ◄─ device <id>   (apps' events, subscribeEvents)
 * ```
 *
 * The topic names come from `mqtt_topics.ts`; the operator's broker user needs to read and
 * write `<prefix>/#` (it also makes a round trip on `<prefix>/_fleet/<client id>/sync`).
 *
 * A pattern names devices as an MQTT topic level does: a literal id, `+` or `#` (every device;
 * an id is one level); a list of them matches any. Only Deno-free web APIs besides MQTT.js and
 * its `Buffer`, so a relay for a web console can use it as it is. MQTT.js loads on connect.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  DEFAULT_MAX_PAYLOAD,
  encodeFrame,
  FrameParser,
  HostMessageType,
} from "../../sdk/host_link.ts";
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
  Status,
} from "../../sdk/packet.ts";
import {
  HostClient,
  type HostClientOptions,
  type HostInstallOptions,
  type HostResponse,
  installUrl,
} from "../../sdk/host_client.ts";
import { AttrContainer, decode, encodeLikeWamr } from "../../sdk/attr_container.ts";
import {
  loadMqtt,
  type MqttClient,
  type MqttClientOptions,
  type MqttError,
  type MqttPublishPacket,
  type MqttPublishProperties,
} from "./mqtt_client.ts";
import type { MqttDeviceStatus } from "./mqtt_link.ts";
import {
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

/** Milliseconds a fleet request waits for each device's response by default. */
export const DEFAULT_FLEET_TIMEOUT = 5000;
/** Milliseconds between reconnects to the broker by default, once the first connect worked. */
export const DEFAULT_FLEET_RECONNECT = 2000;

/** Options for {@linkcode FleetClient.connect}. */
export interface FleetClientOptions {
  /** The broker, `mqtt://HOST:PORT` or `mqtts://HOST:PORT`. */
  url: string;
  /** The first topic level(s), as the devices' `--mqtt-prefix` (default `mr`). */
  prefix?: string;
  /** User name at the broker. */
  username?: string;
  /** Password at the broker. */
  password?: string;
  /** PEM certificates to trust besides the system's, for `mqtts://` (a private CA). */
  ca?: string[];
  /** Devices whose status to track: a pattern or a list (default `+`, all). */
  devices?: string | string[];
  /** Milliseconds each request waits for its response (default 5000). */
  timeout?: number;
  /** Milliseconds between reconnects after the link drops; 0 gives up (default 2000). */
  reconnectPeriod?: number;
  /** Milliseconds the first connect may take (default 10,000). */
  connectTimeout?: number;
  /** The MQTT client id (default `mr-operator-` and a random suffix). */
  clientId?: string;
}

/** A device as the fleet client sees it. */
export interface FleetDevice {
  /** Its id, the topic level after the prefix. */
  readonly id: string;
  /** Whether its last status says online (the last will says offline). */
  readonly online: boolean;
  /** Its last full status (kept while it is offline: the apps it had), if one was seen. */
  readonly status: MqttDeviceStatus | undefined;
  /** When the client saw its state last change (ms since the epoch). */
  readonly changedAt: number;
}

/** A request packet's content, as {@linkcode FleetClient.request} sends it. */
export interface FleetRequest {
  /** Action code (`Action.GET` …). */
  action: number;
  /** Request URL (`/applet?name=…`, `/app/<name>/…`). */
  url: string;
  /** Payload format (default 99, attr_container). */
  fmt?: number;
  /** Payload bytes. */
  payload?: Uint8Array;
}

/** How one device answered a fleet operation. */
export interface FleetResult {
  /** The device. */
  device: string;
  /**
   * `ok` (a 2.xx status), `failed` (another status), `timeout` (no answer in time) or
   * `offline` (its status says offline, so nothing was sent).
   */
  outcome: "ok" | "failed" | "timeout" | "offline";
  /** The response, for `ok` and `failed`. */
  response?: HostResponse;
  /** What went wrong, for the other outcomes and for responses carrying an error message. */
  error?: string;
  /** Milliseconds from sending to the answer (0 when nothing was sent). */
  ms: number;
}

/** An app's event as a device bridged it to the broker (`<prefix>/<id>/ev/<url>`). */
export interface FleetEvent {
  /** The device that published it. */
  device: string;
  /** The event URL (`alert/overheat`). */
  url: string;
  /** Payload format (99 attr_container, 98 raw binary when the publisher gave none). */
  fmt: number;
  /** The payload bytes. */
  payload: Uint8Array;
  /** The payload decoded, when fmt is 99 and it decodes. */
  container: AttrContainer | undefined;
}

/** Options for a fleet operation. */
export interface FleetOperationOptions {
  /** Milliseconds to wait for each device (default: the client's timeout). */
  timeout?: number;
  /** Also send to devices whose status says offline: the broker keeps it for their return. */
  includeOffline?: boolean;
  /**
   * Called as each device answers (or is skipped or times out).
   *
   * @param result that device's result
   * @param done how many devices have a result now
   * @param total how many devices the operation addresses
   */
  onProgress?: (result: FleetResult, done: number, total: number) => void;
}

/** The broker refused the operator, or could not be reached. */
export class FleetConnectError extends Error {
  /** The broker's reason code (MQTT 5: 134 bad user name or password, 135 not authorized); 0 when none. */
  readonly reason: number;

  /**
   * Creates the error.
   *
   * @param message what failed
   * @param reason the broker's reason code, 0 when none
   */
  constructor(message: string, reason = 0) {
    super(message);
    this.name = "FleetConnectError";
    this.reason = reason;
  }
}

/** No response within the timeout. */
export class FleetTimeoutError extends Error {
  /**
   * Creates the error.
   *
   * @param message what timed out
   */
  constructor(message: string) {
    super(message);
    this.name = "FleetTimeoutError";
  }
}

/**
 * The request packet content of an install, as host_tool sends it (`PUT /applet?name=…`,
 * fmt 98, the module's bytes).
 *
 * @param name app name
 * @param wasm the module's bytes
 * @param options heap, timers, watchdog, type and micro-runtime's limits
 * @returns the request
 *
 * @example An install request
 * ```ts
 * import assert from "node:assert/strict";
 * import { installRequest } from "./fleet_client.ts";
 * const request = installRequest("hello", new Uint8Array([0, 97, 115, 109]), { heap: 8192 });
 * assert.equal(request.url, "/applet?name=hello&heap=8192");
 * assert.equal(request.fmt, 98);
 * ```
 */
export function installRequest(
  name: string,
  wasm: Uint8Array,
  options: HostInstallOptions = {},
): FleetRequest {
  return {
    action: Action.PUT,
    url: installUrl(name, options),
    fmt: FMT_APP_RAW_BINARY,
    payload: wasm,
  };
}

/**
 * The request packet content of an uninstall (`DELETE /applet?name=N[&type=T]`).
 *
 * @param name app name
 * @param type module type, when not the default
 * @returns the request
 */
export function uninstallRequest(name: string, type?: string): FleetRequest {
  return {
    action: Action.DELETE,
    url: `/applet?name=${name}` + (type !== undefined ? `&type=${type}` : ""),
  };
}

/**
 * The request packet content of a query of all apps or one (`GET /applet[?name=N]`).
 *
 * @param name app name; all apps when omitted
 * @returns the request
 */
export function queryRequest(name?: string): FleetRequest {
  return { action: Action.GET, url: name === undefined ? "/applet" : `/applet?name=${name}` };
}

/**
 * Whether a device id matches a pattern: a literal id, `+` or `#`, or a list of them.
 *
 * @param pattern the pattern(s)
 * @param id the device id
 * @returns whether it matches
 *
 * @example Patterns over device ids
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchDevice } from "./fleet_client.ts";
 * assert.equal(matchDevice("+", "dev1"), true);
 * assert.equal(matchDevice("dev2", "dev1"), false);
 * assert.equal(matchDevice(["dev2", "dev1"], "dev1"), true);
 * ```
 */
export function matchDevice(pattern: string | readonly string[], id: string): boolean {
  const patterns = typeof pattern === "string" ? [pattern] : pattern;
  return patterns.some((p) => p === "+" || p === "#" || p === id);
}

/**
 * Checks a device pattern and returns its parts.
 *
 * @param pattern a pattern, or several separated by commas
 * @returns the patterns
 * @throws {RangeError} when a part is empty or holds `/`, or a wildcard inside an id
 *
 * @example A list of devices
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDevicePattern } from "./fleet_client.ts";
 * assert.deepEqual(parseDevicePattern("dev1,dev2"), ["dev1", "dev2"]);
 * assert.throws(() => parseDevicePattern("dev/1"), RangeError);
 * ```
 */
export function parseDevicePattern(pattern: string | readonly string[]): string[] {
  const parts = typeof pattern === "string" ? pattern.split(",") : [...pattern];
  for (const part of parts) {
    if (part === "+" || part === "#") continue;
    if (part === "" || /[/+#\0]/.test(part)) {
      throw new RangeError(
        `Invalid device pattern "${part}": use a device id, "+" or "#" (a list separated by ",")`,
      );
    }
  }
  return parts;
}

/** A response's error message (`{"error message": …}`), if it carries one. */
function _errorMessage(response: HostResponse): string | undefined {
  const value = response.container?.get("error message")?.value;
  return typeof value === "string" ? value : undefined;
}

interface _EventListener {
  devices: string[];
  url: string;
  filters: string[];
  listener: (event: FleetEvent) => void;
}

interface _Route {
  device: string;
  /** Its key in the by-mid map. */
  byMid: string;
  deliver: (bytes: Uint8Array) => void;
  /** Fails the request when the client closes first. */
  fail?: (error: Error) => void;
}

/**
 * One operator's connection to a fleet through its broker. Devices appear as their retained
 * status arrives; {@linkcode FleetClient.onDevice} listeners hear of each change.
 *
 * @example Install to every device on a broker (needs a broker, devices and an app)
 * ```ts ignore
 * const fleet = await FleetClient.connect({ url: "mqtt://127.0.0.1:1883", username, password });
 * const results = await fleet.install("+", "hello", wasm, {
 *   onProgress: (result, done, total) => console.log(`${done}/${total} ${result.device}`),
 * });
 * await fleet.close();
 * ```
 */
export class FleetClient {
  /** The topic prefix. */
  readonly prefix: string;
  /** Milliseconds each request waits by default. */
  readonly timeout: number;
  readonly #client: MqttClient;
  readonly #devices = new Map<string, FleetDevice>();
  readonly #deviceListeners = new Set<(device: FleetDevice) => void>();
  readonly #connectionListeners = new Set<(connected: boolean) => void>();
  readonly #eventListeners = new Set<_EventListener>();
  /** Subscribed event filters: how many listeners use each, and its subscription identifier. */
  readonly #eventFilters = new Map<string, { count: number; id: number }>();
  /** The filters by subscription identifier: a broker sends one copy per matching filter. */
  readonly #filterById = new Map<number, string>();
  #nextSubscriptionId = 1;
  /** Requests awaiting a response, by correlation data. */
  readonly #routes = new Map<string, _Route>();
  /** The same requests by device and mid, for responses without correlation data (MQTT 3.1.1). */
  readonly #byMid = new Map<string, string>();
  readonly #tag = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  readonly #syncTopic: string;
  #seq = 0;
  #mid = crypto.getRandomValues(new Uint32Array(1))[0]!;
  #syncs: (() => void)[] = [];
  #closed = false;
  /** The status, response and sync topics, subscribed again after each reconnect. */
  #baseTopics: string[] = [];
  /** Requests published while the broker is away (or being resubscribed to), in order. */
  #held: (() => void)[] = [];
  #resubscribing = false;
  /** What the connection listeners were last told. */
  #up = true;

  private constructor(client: MqttClient, options: FleetClientOptions, clientId: string) {
    this.#client = client;
    this.prefix = options.prefix ?? DEFAULT_MQTT_PREFIX;
    this.timeout = options.timeout ?? DEFAULT_FLEET_TIMEOUT;
    this.#syncTopic = `${this.prefix}/_fleet/${clientId}/sync`;
    client.on("message", (topic, payload, packet) => this.#onMessage(topic, payload, packet));
  }

  /**
   * Connects to the broker, subscribes to the devices' statuses and responses, and resolves
   * once the retained statuses have arrived, so {@linkcode FleetClient.devices} lists every
   * device the broker knows.
   *
   * @param options broker, credentials, prefix, devices to track
   * @returns the client
   * @throws {FleetConnectError} when the broker refuses the credentials or cannot be reached
   * @throws {RangeError} when the prefix or the device pattern is malformed
   */
  static async connect(options: FleetClientOptions): Promise<FleetClient> {
    const prefix = options.prefix ?? DEFAULT_MQTT_PREFIX;
    for (const level of prefix.split("/")) checkMqttLevel("topic prefix", level);
    const tracked = parseDevicePattern(options.devices ?? "+");
    const { connect } = await loadMqtt();
    const clientId = options.clientId ??
      `mr-operator-${crypto.getRandomValues(new Uint32Array(2)).join("")}`;
    const clientOptions: MqttClientOptions = {
      protocolVersion: 5,
      clientId,
      clean: true,
      // Resubscribed here, before the requests held meanwhile go out: their responses must
      // find the subscription in place.
      resubscribe: false,
      // No retries until the first connect worked: a wrong password is reported, not retried.
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeout ?? 10_000,
    };
    if (options.username !== undefined) clientOptions.username = options.username;
    if (options.password !== undefined) clientOptions.password = options.password;
    if (options.ca !== undefined) clientOptions.ca = options.ca;
    const client = connect(options.url, clientOptions);
    const where = _safeUrl(options.url);
    // Listeners of the first connect only: MQTT.js's own listeners on these events stay.
    let onError: ((error: MqttError) => void) | undefined;
    let onClose: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        onError = (error) => {
          const code = typeof error.code === "number" ? error.code : 0;
          const refused = code === 134 || code === 135 || code === 4 || code === 5;
          reject(
            new FleetConnectError(
              refused
                ? `MQTT broker ${where} refused the operator: ${error.message} (reason ${code})`
                : `Cannot connect to the MQTT broker ${where}: ${error.message}`,
              code,
            ),
          );
        };
        onClose = () => {
          reject(
            new FleetConnectError(`Cannot connect to the MQTT broker ${where}: connection closed`),
          );
        };
        client.once("connect", () => resolve());
        client.on("error", onError);
        client.on("close", onClose);
      });
    } catch (error) {
      client.end(true);
      throw error;
    } finally {
      client.off("error", onError!);
      client.off("close", onClose!);
    }
    // Each request is one small packet waiting for its answer: Nagle's algorithm would hold it
    // back for the broker's delayed ACK (some 40 ms a round trip).
    _noDelay(client);
    client.on("connect", () => _noDelay(client));
    // Later failures are reconnected (and logged nowhere: onConnection listeners hear of them).
    client.on("error", () => {});
    client.options.reconnectPeriod = options.reconnectPeriod ?? DEFAULT_FLEET_RECONNECT;
    const fleet = new FleetClient(client, options, clientId);
    const topics = fleet.#baseTopics = [fleet.#syncTopic];
    for (const pattern of tracked) {
      const level = pattern === "#" ? "+" : pattern;
      topics.push(
        mqttDeviceTopic(prefix, level, "status"),
        mqttDeviceTopic(prefix, level, "res"),
      );
    }
    client.on("connect", () => void fleet.#reconnected());
    client.on("offline", () => fleet.#connectionChanged(false));
    try {
      const granted = await client.subscribeAsync(topics, { qos: 1 });
      const refused = granted.find((g) => g.qos > 2);
      if (refused) {
        throw new FleetConnectError(
          `MQTT broker ${where} refused the operator's subscription to "${refused.topic}" ` +
            `(reason ${refused.qos}): check the broker's ACL`,
          refused.qos,
        );
      }
      await fleet.sync();
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  /** Whether the client is connected to the broker now. */
  get connected(): boolean {
    return this.#client.connected;
  }

  /**
   * Resolves once everything the broker sent before now has been taken in (the retained
   * statuses after a subscription): a message to itself makes the round trip.
   *
   * @returns when the round trip is over
   */
  async sync(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#syncs.push(resolve);
    await this.#client.publishAsync(this.#syncTopic, "", { qos: 1 });
    await promise;
  }

  /**
   * The devices seen so far, sorted by id, optionally only those matching a pattern.
   *
   * @param pattern a device id, `+`, `#` or a list; all when omitted
   * @returns the devices
   */
  devices(pattern?: string | readonly string[]): FleetDevice[] {
    const all = [...this.#devices.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return pattern === undefined ? all : all.filter((d) => matchDevice(pattern, d.id));
  }

  /**
   * One device, if its status was seen.
   *
   * @param id the device id
   * @returns the device
   */
  device(id: string): FleetDevice | undefined {
    return this.#devices.get(id);
  }

  /**
   * Resolves once a device matches `predicate` (checked now and on each status change).
   *
   * @param id the device id
   * @param predicate what to wait for (default: online)
   * @param timeout milliseconds to wait (default: the client's timeout)
   * @returns the device
   * @throws {FleetTimeoutError} when it does not happen in time
   */
  waitForDevice(
    id: string,
    predicate: (device: FleetDevice) => boolean = (device) => device.online,
    timeout: number = this.timeout,
  ): Promise<FleetDevice> {
    const now = this.#devices.get(id);
    if (now && predicate(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const stop = this.onDevice((device) => {
        if (device.id !== id || !predicate(device)) return;
        clearTimeout(timer);
        stop();
        resolve(device);
      });
      const timer = setTimeout(() => {
        stop();
        reject(
          new FleetTimeoutError(
            `Device "${id}" did not reach the state waited for within ${timeout} ms`,
          ),
        );
      }, timeout);
    });
  }

  /**
   * Hears when the link to the broker drops (`false`; it reconnects by itself, and requests
   * made meanwhile wait for it) and when it is back and subscribed again (`true`).
   *
   * @param listener called with whether the client is connected now
   * @returns a function that removes the listener
   */
  onConnection(listener: (connected: boolean) => void): () => void {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  /**
   * Hears of every device status change: online, offline, apps installed or removed, a
   * device gone (its retained status cleared: `online` false, and no longer listed).
   *
   * @param listener called with the device as it is now
   * @returns a function that removes the listener
   */
  onDevice(listener: (device: FleetDevice) => void): () => void {
    this.#deviceListeners.add(listener);
    return () => this.#deviceListeners.delete(listener);
  }

  /**
   * Sends one request packet to one device and waits for its response.
   *
   * @param device the device id
   * @param request action, URL, format, payload
   * @param options the timeout (default: the client's)
   * @returns the response
   * @throws {FleetTimeoutError} when no response arrives in time
   */
  request(
    device: string,
    request: FleetRequest,
    options: { timeout?: number } = {},
  ): Promise<HostResponse> {
    const timeout = options.timeout ?? this.timeout;
    const mid = this.#mid = (this.#mid + 1) >>> 0;
    const packet = encodeRequest({
      action: request.action,
      fmt: request.fmt ?? FMT_ATTR_CONTAINER,
      mid,
      sender: 0,
      url: request.url,
      payload: request.payload,
    });
    return new Promise<HostResponse>((resolve, reject) => {
      // Answered asynchronously, so always after the timer below is set.
      const correlation = this.#publish(device, packet, mid, (bytes) => {
        clearTimeout(timer);
        let response;
        try {
          response = decodeResponse(bytes);
        } catch (error) {
          reject(error);
          return;
        }
        resolve(_withContainer(response));
      }, (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const timer = setTimeout(() => {
        this.#forget(correlation);
        reject(
          new FleetTimeoutError(`No response from device "${device}" within ${timeout} ms`),
        );
      }, timeout);
    });
  }

  /**
   * Sends one request to every device matching `pattern` and waits for all the answers.
   * Devices whose status says offline, and literal ids the client never saw, get nothing
   * (outcome `offline`) unless `includeOffline`.
   *
   * @param pattern a device id, `+`, `#` or a list
   * @param request the request, the same for every device
   * @param options timeout, offline devices, progress callback
   * @returns one result per device, sorted by device id
   */
  async fanOut(
    pattern: string | readonly string[],
    request: FleetRequest,
    options: FleetOperationOptions = {},
  ): Promise<FleetResult[]> {
    const patterns = parseDevicePattern(pattern);
    const ids = new Set(this.devices(patterns).map((d) => d.id));
    for (const p of patterns) if (p !== "+" && p !== "#") ids.add(p);
    const targets = [...ids].sort();
    let done = 0;
    const report = (result: FleetResult): FleetResult => {
      options.onProgress?.(result, ++done, targets.length);
      return result;
    };
    return await Promise.all(targets.map(async (id): Promise<FleetResult> => {
      const known = this.#devices.get(id);
      if (!options.includeOffline && (known === undefined || !known.online)) {
        await Promise.resolve();
        return report({
          device: id,
          outcome: "offline",
          error: known ? "offline" : "unknown device (no status seen)",
          ms: 0,
        });
      }
      const start = performance.now();
      try {
        const response = await this.request(id, request, {
          ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
        });
        const ms = performance.now() - start;
        const error = _errorMessage(response);
        return report({
          device: id,
          outcome: response.status < 128 ? "ok" : "failed",
          response,
          ...(error !== undefined ? { error } : {}),
          ms,
        });
      } catch (error) {
        return report({
          device: id,
          outcome: error instanceof FleetTimeoutError ? "timeout" : "failed",
          error: (error as Error).message,
          ms: performance.now() - start,
        });
      }
    }));
  }

  /**
   * Installs an app on every device matching `pattern`.
   *
   * @param pattern a device id, `+`, `#` or a list
   * @param name app name
   * @param wasm the module's bytes
   * @param options install options plus timeout, offline devices and progress
   * @returns one result per device (status 65 on success)
   */
  install(
    pattern: string | readonly string[],
    name: string,
    wasm: Uint8Array,
    options: HostInstallOptions & FleetOperationOptions = {},
  ): Promise<FleetResult[]> {
    return this.fanOut(pattern, installRequest(name, wasm, options), options);
  }

  /**
   * Uninstalls an app from every device matching `pattern`.
   *
   * @param pattern a device id, `+`, `#` or a list
   * @param name app name
   * @param options timeout, offline devices and progress
   * @returns one result per device (status 66 on success)
   */
  uninstall(
    pattern: string | readonly string[],
    name: string,
    options: FleetOperationOptions = {},
  ): Promise<FleetResult[]> {
    return this.fanOut(pattern, uninstallRequest(name), options);
  }

  /**
   * Queries the apps of every device matching `pattern` (all apps, or one by name).
   *
   * @param pattern a device id, `+`, `#` or a list
   * @param name app name; all apps when omitted
   * @param options timeout, offline devices and progress
   * @returns one result per device (status 69 with an "Applets Info" container)
   */
  query(
    pattern: string | readonly string[],
    name?: string,
    options: FleetOperationOptions = {},
  ): Promise<FleetResult[]> {
    return this.fanOut(pattern, queryRequest(name), options);
  }

  /**
   * A {@linkcode HostClient} to one device over this connection: everything `host` does over
   * TCP (installs, queries, requests, timeouts, response listeners) works through the broker.
   * Its event subscriptions (`subscribe`, `-s`) become the broker's subscriptions to that
   * device's events (`serve --mqtt-events`), delivered as over TCP. Closing it leaves this
   * connection open.
   *
   * @param device the device id
   * @param options timeout and payload limit (a token has no meaning here)
   * @returns the client
   */
  hostClient(device: string, options: Omit<HostClientOptions, "token"> = {}): HostClient {
    const toHost = new TransformStream<Uint8Array, Uint8Array>();
    const writer = toHost.writable.getWriter();
    const parser = new FrameParser({ maxPayload: Number.MAX_SAFE_INTEGER });
    const mine = new Set<string>();
    /** Event subscriptions made through this client, by event URL. */
    const subscriptions = new Map<string, Promise<() => Promise<void>>>();
    let open = true;
    const toClient = (type: number, bytes: Uint8Array) => {
      if (open) writer.write(encodeFrame(type, bytes)).catch(() => {});
    };
    const end = () => {
      if (!open) return;
      open = false;
      for (const correlation of mine) this.#forget(correlation);
      for (const stop of subscriptions.values()) void stop.then((f) => f(), () => {});
      subscriptions.clear();
      writer.close().catch(() => {});
    };
    const fromHost = new WritableStream<Uint8Array>({
      write: (chunk) => {
        for (const event of parser.push(chunk)) {
          if (event.kind !== "frame") continue;
          if (event.type !== HostMessageType.REQUEST && event.type !== HostMessageType.INSTALL) {
            continue;
          }
          const packet = event.payload;
          const mid = packet.length >= 8
            ? new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(4)
            : 0;
          if (this.#eventRequest(device, packet, subscriptions, toClient)) continue;
          const correlation = this.#publish(device, packet, mid, (bytes) => {
            mine.delete(correlation);
            toClient(HostMessageType.RESPONSE, bytes);
          });
          mine.add(correlation);
        }
      },
      close: end,
      abort: end,
    });
    return new HostClient({ readable: toHost.readable, writable: fromHost, close: end }, {
      maxPayload: DEFAULT_MAX_PAYLOAD,
      ...options,
    });
  }

  /**
   * Takes a host's `/event/<url>` subscription (PUT) or unsubscription (DELETE) here rather
   * than at the device: over MQTT an event is a topic, so the subscription is the broker's.
   * Events then reach the host as they do over TCP; the answer is 69, or 5.03 with a reason.
   *
   * @returns whether the packet was such a request
   */
  #eventRequest(
    device: string,
    packet: Uint8Array,
    subscriptions: Map<string, Promise<() => Promise<void>>>,
    toClient: (type: number, bytes: Uint8Array) => void,
  ): boolean {
    let request;
    try {
      request = decodeRequest(packet);
    } catch {
      return false;
    }
    if (!request.url.startsWith("/event/")) return false;
    if (request.action !== Action.PUT && request.action !== Action.DELETE) return false;
    // host_tool's -d asks for "/event//x" when given "/x": the same URL.
    const url = request.url.slice("/event/".length).replace(/^\/+/, "");
    const answer = (status: number, error?: string) => {
      toClient(
        HostMessageType.RESPONSE,
        encodeResponse({
          status,
          fmt: FMT_ATTR_CONTAINER,
          mid: request.mid,
          receiver: ID_HOST,
          payload: error === undefined ? undefined : encodeLikeWamr(
            new AttrContainer("").setString("error message", error),
          ),
        }),
      );
    };
    const previous = subscriptions.get(url);
    subscriptions.delete(url);
    void previous?.then((stop) => stop(), () => {});
    if (request.action === Action.DELETE) {
      answer(Status.CONTENT_2_05);
      return true;
    }
    const subscribed = this.subscribeEvents(url, (e) => {
      toClient(
        HostMessageType.REQUEST,
        encodeRequest({
          action: Action.EVENT,
          fmt: e.fmt,
          mid: 0,
          sender: ID_APP_MGR,
          url: e.url,
          payload: e.payload.length > 0 ? e.payload : undefined,
        }),
      );
    }, { devices: device });
    subscriptions.set(url, subscribed);
    subscribed.then(
      () => answer(Status.CONTENT_2_05),
      (error) => {
        subscriptions.delete(url);
        answer(
          Status.SERVICE_UNAVAILABLE_5_03,
          `Cannot subscribe to "${url}" on the broker: ${(error as Error).message}`,
        );
      },
    );
    return true;
  }

  /**
   * Receives the events devices bridge to the broker: an event URL, or every URL under a
   * prefix ending in `/` (`alert/`), from the devices matching `devices` (default all).
   *
   * @param url an event URL, or a prefix ending in `/`
   * @param listener called for each event
   * @param options the devices to hear (default `+`)
   * @returns a function that removes the listener (and the broker subscriptions it alone used)
   * @throws {RangeError} when the URL or the pattern cannot be a topic filter
   */
  async subscribeEvents(
    url: string,
    listener: (event: FleetEvent) => void,
    options: { devices?: string | readonly string[] } = {},
  ): Promise<() => Promise<void>> {
    const devices = parseDevicePattern(options.devices ?? "+");
    const filters = devices.map((d) => mqttEventFilter(this.prefix, url, d === "#" ? "+" : d));
    const entry: _EventListener = { devices, url, filters, listener };
    const fresh: { filter: string; id: number }[] = [];
    for (const filter of filters) {
      const known = this.#eventFilters.get(filter);
      if (known) known.count++;
      else {
        const id = this.#nextSubscriptionId++;
        this.#eventFilters.set(filter, { count: 1, id });
        this.#filterById.set(id, filter);
        fresh.push({ filter, id });
      }
    }
    this.#eventListeners.add(entry);
    try {
      for (const { filter, id } of fresh) {
        const granted = await this.#client.subscribeAsync(filter, {
          qos: 1,
          properties: { subscriptionIdentifier: id },
        });
        const refused = granted.find((g) => g.qos > 2);
        if (refused) {
          throw new FleetConnectError(
            `MQTT broker refused the subscription to "${refused.topic}" (reason ${refused.qos}): ` +
              `check the broker's ACL`,
            refused.qos,
          );
        }
      }
    } catch (error) {
      await this.#dropEvents(entry);
      throw error;
    }
    return () => this.#dropEvents(entry);
  }

  /**
   * Publishes an event to the devices that subscribed their apps to it, as if a device named
   * `as` had published it (default `operator`): devices take events from
   * `<prefix>/+/ev/<url>` for the URLs they allow.
   *
   * @param url the event URL (`alert/overheat`)
   * @param payload the payload: an attr_container's bytes (fmt 99) or raw bytes
   * @param options its format (default 99) and the sender's id in the topic
   * @returns when the broker has it (QoS 1)
   */
  async publishEvent(
    url: string,
    payload: Uint8Array,
    options: { fmt?: number; as?: string } = {},
  ): Promise<void> {
    const topic = mqttEventTopic(
      this.prefix,
      checkMqttLevel("device id", options.as ?? "operator"),
      url,
    );
    await this.#client.publishAsync(topic, _buffer(payload), {
      qos: 1,
      properties: {
        userProperties: { [MQTT_FORMAT_PROPERTY]: String(options.fmt ?? FMT_ATTR_CONTAINER) },
      },
    });
  }

  async #dropEvents(entry: _EventListener): Promise<void> {
    if (!this.#eventListeners.delete(entry)) return;
    const unused: string[] = [];
    for (const filter of entry.filters) {
      const known = this.#eventFilters.get(filter);
      if (!known) continue;
      if (--known.count > 0) continue;
      this.#eventFilters.delete(filter);
      this.#filterById.delete(known.id);
      unused.push(filter);
    }
    if (unused.length > 0 && !this.#closed) await this.#client.unsubscribeAsync(unused);
  }

  #onEvent(
    device: string,
    url: string,
    payload: Uint8Array,
    properties: MqttPublishProperties | undefined,
  ): void {
    // Which of this client's filters this copy came through, when the broker says (MQTT 5).
    const ids = properties?.subscriptionIdentifier;
    const through = ids === undefined ? undefined : new Set(
      (Array.isArray(ids) ? ids : [ids]).map((id) => this.#filterById.get(id)),
    );
    let event: FleetEvent | undefined;
    for (const entry of this.#eventListeners) {
      if (!mqttEventAllowed([entry.url], url)) continue;
      const first = entry.devices.findIndex((d) => matchDevice(d, device));
      if (first === -1) continue;
      // A listener whose filters overlap hears the copy of its first matching filter only.
      if (through && !through.has(entry.filters[first])) continue;
      event ??= _eventWithContainer({
        device,
        url,
        fmt: mqttEventFormat(properties?.userProperties),
        payload: new Uint8Array(payload),
      });
      entry.listener(event);
    }
  }

  /**
   * Disconnects; requests still waiting fail at once.
   *
   * @returns when the client has ended
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    this.#byMid.clear();
    this.#held = [];
    for (const route of routes) {
      route.fail?.(
        new Error(`The fleet client closed before the response from device "${route.device}"`),
      );
    }
    await this.#client.endAsync(true);
  }

  /** Publishes a request packet; returns its correlation data, routed to `deliver`. */
  #publish(
    device: string,
    packet: Uint8Array,
    mid: number,
    deliver: (bytes: Uint8Array) => void,
    fail?: (error: Error) => void,
  ): string {
    const correlation = `${this.#tag}.${(this.#seq++).toString(36)}`;
    const byMid = `${device}/${mid}`;
    this.#routes.set(correlation, {
      device,
      byMid,
      deliver: (bytes) => {
        this.#forget(correlation);
        deliver(bytes);
      },
      ...(fail ? { fail } : {}),
    });
    this.#byMid.set(byMid, correlation);
    const send = () => {
      this.#client.publish(mqttDeviceTopic(this.prefix, device, "req"), _buffer(packet), {
        qos: 1,
        properties: {
          correlationData: Buffer.from(correlation),
          // The device refuses a request meant for another (a misrouted or replayed one).
          userProperties: { [MQTT_DEVICE_PROPERTY]: device },
        },
      });
    };
    if (this.#client.connected && !this.#resubscribing) send();
    else this.#held.push(send);
    return correlation;
  }

  /** After a reconnect: subscribes again (a clean session forgot), then sends what waited. */
  async #reconnected(): Promise<void> {
    if (this.#closed || this.#baseTopics.length === 0 || this.#resubscribing) return;
    this.#resubscribing = true;
    try {
      await this.#client.subscribeAsync(this.#baseTopics, { qos: 1 });
      for (const [filter, { id }] of this.#eventFilters) {
        await this.#client.subscribeAsync(filter, {
          qos: 1,
          properties: { subscriptionIdentifier: id },
        });
      }
    } catch {
      // Lost again meanwhile: the next connect tries again.
      return;
    } finally {
      this.#resubscribing = false;
    }
    // Statuses changed while the broker was away; the retained ones came with the subscription.
    for (const send of this.#held.splice(0)) send();
    this.#connectionChanged(true);
  }

  #connectionChanged(connected: boolean): void {
    // One call per change: MQTT.js may report "offline" again on each failed reconnect.
    if (connected === this.#up) return;
    this.#up = connected;
    for (const listener of this.#connectionListeners) listener(connected);
  }

  #forget(correlation: string): void {
    const route = this.#routes.get(correlation);
    if (!route) return;
    this.#routes.delete(correlation);
    if (this.#byMid.get(route.byMid) === correlation) this.#byMid.delete(route.byMid);
  }

  #onMessage(topic: string, payload: Uint8Array, packet: MqttPublishPacket): void {
    if (topic === this.#syncTopic) {
      this.#syncs.shift()?.();
      return;
    }
    const parsed = parseMqttTopic(this.prefix, topic);
    if (parsed === undefined) return;
    const id = parsed.deviceId;
    if (parsed.leaf === "status") this.#onStatus(id, payload);
    else if (parsed.leaf === "res") {
      this.#onResponse(id, payload, packet.properties?.correlationData);
    } else if (parsed.leaf === "ev") {
      this.#onEvent(id, parsed.url, payload, packet.properties);
    }
  }

  #onResponse(device: string, payload: Uint8Array, correlationData: Uint8Array | undefined): void {
    let correlation: string | undefined;
    if (correlationData) {
      correlation = new TextDecoder().decode(correlationData);
    } else if (payload.length >= 8) {
      // Without MQTT 5 the mid inside the packet (bytes 4..8 of a response) correlates.
      const mid = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
        .getUint32(4);
      correlation = this.#byMid.get(`${device}/${mid}`);
    }
    const route = correlation === undefined ? undefined : this.#routes.get(correlation);
    // Another operator's response, or one that came after its timeout.
    if (!route || route.device !== device) return;
    route.deliver(new Uint8Array(payload));
  }

  #onStatus(id: string, payload: Uint8Array): void {
    const before = this.#devices.get(id);
    if (payload.length === 0) {
      // The retained status was cleared: the device is gone from the fleet.
      if (!before) return;
      this.#devices.delete(id);
      this.#changed({ ...before, online: false, changedAt: Date.now() });
      return;
    }
    let status: Partial<MqttDeviceStatus>;
    try {
      status = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (typeof status !== "object" || status === null) return;
    const online = status.state === "online";
    const device: FleetDevice = {
      id,
      online,
      status: online ? status as MqttDeviceStatus : before?.status,
      changedAt: Date.now(),
    };
    this.#devices.set(id, device);
    this.#changed(device);
  }

  #changed(device: FleetDevice): void {
    for (const listener of this.#deviceListeners) listener(device);
  }
}

function _eventWithContainer(event: Omit<FleetEvent, "container">): FleetEvent {
  let decoded: AttrContainer | undefined | null = null;
  return Object.defineProperty(event, "container", {
    enumerable: true,
    get(): AttrContainer | undefined {
      if (decoded === null) {
        decoded = undefined;
        if (event.fmt === FMT_ATTR_CONTAINER) {
          try {
            decoded = decode(event.payload);
          } catch {
            // Not a container after all.
          }
        }
      }
      return decoded;
    },
  }) as FleetEvent;
}

/** A decoded response with its container decoded on first read, as HostClient gives. */
function _withContainer(
  response: { status: number; fmt: number; mid: number; payload: Uint8Array | undefined },
): HostResponse {
  let decoded: AttrContainer | undefined | null = null;
  const result = {
    status: response.status,
    fmt: response.fmt,
    mid: response.mid,
    payload: response.payload,
  };
  return Object.defineProperty(result, "container", {
    enumerable: true,
    get(): AttrContainer | undefined {
      if (decoded === null) {
        decoded = undefined;
        if (result.fmt === FMT_ATTR_CONTAINER && result.payload !== undefined) {
          try {
            decoded = decode(result.payload);
          } catch {
            // Not a container after all: no container.
          }
        }
      }
      return decoded;
    },
  }) as HostResponse;
}

/** Sends each packet at once (TCP_NODELAY), on a TCP or TLS socket. */
function _noDelay(client: MqttClient): void {
  client.stream?.setNoDelay?.(true);
}

/** The same bytes as the Buffer MQTT.js's types ask for (no copy). */
function _buffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The broker's URL without a password written into it. */
function _safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//");
}
