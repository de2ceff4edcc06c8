/**
 * The fleet console's relay: one {@linkcode FleetClient} to the broker, shared by every open
 * page. It pushes the broker's state, each device's retained status, events and the progress
 * of operations to the pages (`protocol.ts`), and carries out what they ask. A page's bad
 * input or a broker that refuses the credentials is answered with a message; the relay goes on.
 *
 * @module
 */

import {
  FleetClient,
  type FleetDevice,
  type FleetEvent,
  type FleetResult,
  parseDevicePattern,
} from "../../../core/host_link/fleet_client.ts";
import { Action, FMT_ATTR_CONTAINER } from "../../../sdk/packet.ts";
import { encode, formatHostToolJSON, fromJSON, toJSON } from "../../../sdk/attr_container.ts";
import type { HostResponse } from "../../../sdk/host_client.ts";
import type {
  BrokerView,
  DeviceView,
  PageMessage,
  ProgressView,
  RelayMessage,
  SubscriptionView,
} from "./protocol.ts";

/** The broker the relay connects to. */
export interface RelayOptions {
  /** `mqtt://HOST:PORT` or `mqtts://HOST:PORT`. */
  url: string;
  /** User name at the broker. */
  username?: string;
  /** Password at the broker. */
  password?: string;
  /** PEM certificates to trust for `mqtts://`. */
  ca?: string[];
  /** The devices' topic prefix (default `mr`). */
  prefix?: string;
  /** Milliseconds each device has to answer (default 10,000). */
  timeout?: number;
  /** The clock of the events' rate limit, in milliseconds (default `performance.now`). */
  now?: () => number;
}

/** Events forwarded to the pages each second at most; the rest are counted as dropped. */
export const EVENTS_PER_SECOND = 200;
/** The largest module a page may upload. */
export const MAX_UPLOAD = 16 * 1024 * 1024;

const _ACTIONS = { GET: Action.GET, POST: Action.POST, PUT: Action.PUT, DELETE: Action.DELETE };

interface _Subscription {
  view: SubscriptionView;
  stop: (() => Promise<void>) | undefined;
}

/** The relay between the console's pages and the broker. */
export class FleetRelay {
  #options: RelayOptions;
  #broker: BrokerView;
  #fleet: FleetClient | undefined;
  #unlisten: (() => void)[] = [];
  #attempt = 0;
  #closed = false;
  readonly #pages = new Set<(message: RelayMessage) => void>();
  readonly #subscriptions = new Map<number, _Subscription>();
  #nextSubscription = 1;
  #eventWindow = 0;
  #eventsInWindow = 0;
  #dropped = 0;

  /**
   * Creates the relay; {@linkcode FleetRelay.connect} starts the broker link.
   *
   * @param options the broker and credentials
   */
  constructor(options: RelayOptions) {
    this.#options = options;
    this.#broker = this.#view("connecting");
  }

  /** The broker link's state now. */
  get broker(): BrokerView {
    return this.#broker;
  }

  /**
   * Connects to the broker (closing the link it had), with new settings when given. A refusal
   * is reported to the pages and returned, not thrown.
   *
   * @param options replaces the URL, credentials or prefix
   * @returns the broker's state after the attempt
   */
  async connect(options: Partial<RelayOptions> = {}): Promise<BrokerView> {
    const attempt = ++this.#attempt;
    this.#options = { ...this.#options, ...options };
    await this.#drop();
    this.#setBroker(this.#view("connecting"));
    this.#broadcast({ type: "devices", devices: [] });
    const o = this.#options;
    let fleet: FleetClient;
    try {
      fleet = await FleetClient.connect({
        url: o.url,
        ...(o.username ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.ca !== undefined ? { ca: o.ca } : {}),
        ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
        timeout: o.timeout ?? 10_000,
      });
    } catch (error) {
      if (attempt === this.#attempt) {
        this.#setBroker(this.#view("failed", (error as Error).message));
      }
      return this.#broker;
    }
    if (attempt !== this.#attempt || this.#closed) {
      await fleet.close();
      return this.#broker;
    }
    this.#fleet = fleet;
    this.#unlisten = [
      fleet.onDevice((device) => this.#broadcast({ type: "device", device: _device(device) })),
      fleet.onConnection((up) => this.#setBroker(this.#view(up ? "connected" : "reconnecting"))),
    ];
    this.#broadcast({ type: "devices", devices: fleet.devices().map(_device) });
    for (const subscription of this.#subscriptions.values()) {
      const failure = await this.#listen(subscription);
      if (failure) this.#broadcast({ type: "failed", message: failure });
    }
    this.#setBroker(this.#view("connected"));
    return this.#broker;
  }

  /**
   * Adds a page: it gets the state now, then every change.
   *
   * @param send delivers a message to the page
   * @returns a function that removes the page
   */
  attach(send: (message: RelayMessage) => void): () => void {
    send({ type: "broker", broker: this.#broker });
    send({ type: "devices", devices: this.#fleet?.devices().map(_device) ?? [] });
    send({ type: "subscriptions", subscriptions: this.#subscriptionViews() });
    this.#pages.add(send);
    return () => this.#pages.delete(send);
  }

  /**
   * Carries out a page's message. Bad input is answered with a `failed` message to that page.
   *
   * @param text the message as the page sent it (JSON)
   * @param reply sends to that page only
   * @returns when the operation is over
   */
  async handle(text: string, reply: (message: RelayMessage) => void): Promise<void> {
    let message: PageMessage;
    try {
      message = JSON.parse(text);
      if (typeof message !== "object" || message === null || typeof message.type !== "string") {
        throw new TypeError("not an object with a type");
      }
    } catch (error) {
      reply({ type: "failed", message: `Malformed message: ${(error as Error).message}` });
      return;
    }
    const op = "op" in message && typeof message.op === "string" ? message.op : undefined;
    try {
      await this.#handle(message, reply);
    } catch (error) {
      reply({ type: "failed", ...(op !== undefined ? { op } : {}), message: _message(error) });
    }
  }

  /** Closes the broker link; pages are told nothing more. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#attempt++;
    this.#pages.clear();
    await this.#drop();
  }

  async #handle(message: PageMessage, reply: (message: RelayMessage) => void): Promise<void> {
    switch (message.type) {
      case "connect": {
        const url = _string(message.url, "broker URL").trim();
        if (!/^mqtts?:\/\/[^/]+/.test(url)) {
          throw new RangeError(
            `Invalid broker URL "${url}": expected mqtt://HOST:PORT or mqtts://HOST:PORT`,
          );
        }
        const change: Partial<RelayOptions> = {
          url,
          username: _string(message.username ?? "", "user name"),
          prefix: _string(message.prefix || "mr", "prefix"),
        };
        // An empty password field keeps the password the relay has (from its file).
        if (message.password) change.password = _string(message.password, "password");
        await this.connect(change);
        return;
      }
      case "install": {
        const name = _appName(message.name);
        const file = _string(message.file ?? "upload", "file name");
        const wasm = _base64(_string(message.wasm, "module"));
        if (wasm.length > MAX_UPLOAD) {
          throw new RangeError(
            `"${file}" is ${wasm.length} bytes: the console uploads at most ${MAX_UPLOAD} bytes`,
          );
        }
        if (!(wasm[0] === 0 && wasm[1] === 0x61 && wasm[2] === 0x73 && wasm[3] === 0x6d)) {
          throw new TypeError(
            `"${file}" is not a WebAssembly module (it does not begin with "\\0asm"): ` +
              `nothing was sent`,
          );
        }
        const devices = _devices(message.devices);
        const fleet = this.#need();
        reply({ type: "started", op: message.op, what: `install "${name}"`, devices });
        await fleet.install(devices, name, wasm, {
          onProgress: (result, done, total) =>
            reply({ type: "progress", op: message.op, result: _progress(result), done, total }),
        });
        return;
      }
      case "uninstall": {
        const name = _appName(message.name);
        const devices = _devices(message.devices);
        const fleet = this.#need();
        reply({ type: "started", op: message.op, what: `uninstall "${name}"`, devices });
        await fleet.uninstall(devices, name, {
          onProgress: (result, done, total) =>
            reply({ type: "progress", op: message.op, result: _progress(result), done, total }),
        });
        return;
      }
      case "request": {
        const device = _devices([message.device])[0]!;
        const action = _ACTIONS[message.method];
        if (action === undefined) {
          throw new RangeError(`Unknown method "${message.method}": use GET, POST, PUT or DELETE`);
        }
        const url = _string(message.url, "URL").trim();
        if (!url.startsWith("/")) {
          throw new RangeError(`Invalid URL "${url}": it must begin with /`);
        }
        let payload: Uint8Array | undefined;
        const text = _string(message.payload ?? "", "payload").trim();
        if (text !== "") {
          try {
            payload = encode(fromJSON(JSON.parse(text)));
          } catch (error) {
            throw new TypeError(`The payload is not a JSON object: ${(error as Error).message}`);
          }
        }
        const response = await this.#need().request(device, {
          action,
          url,
          fmt: FMT_ATTR_CONTAINER,
          ...(payload ? { payload } : {}),
        });
        reply({
          type: "response",
          op: message.op,
          device,
          status: response.status,
          body: _body(response),
        });
        return;
      }
      case "subscribe": {
        const url = _string(message.url, "event URL").trim();
        const devices = _string(message.devices || "+", "devices").trim();
        parseDevicePattern(devices);
        const subscription: _Subscription = {
          view: { id: this.#nextSubscription++, url, devices },
          stop: undefined,
        };
        if (this.#fleet) {
          const failure = await this.#listen(subscription);
          if (failure) throw new Error(failure);
        }
        this.#subscriptions.set(subscription.view.id, subscription);
        this.#broadcast({ type: "subscriptions", subscriptions: this.#subscriptionViews() });
        return;
      }
      case "unsubscribe": {
        const subscription = this.#subscriptions.get(message.id);
        if (!subscription) throw new RangeError(`No event subscription ${message.id}`);
        this.#subscriptions.delete(message.id);
        await subscription.stop?.();
        this.#broadcast({ type: "subscriptions", subscriptions: this.#subscriptionViews() });
        return;
      }
      default:
        throw new TypeError(`Unknown message type "${(message as { type: string }).type}"`);
    }
  }

  /** Subscribes through the current link; returns why not, if it failed. */
  async #listen(subscription: _Subscription): Promise<string | undefined> {
    const fleet = this.#fleet;
    if (!fleet) return undefined;
    try {
      subscription.stop = await fleet.subscribeEvents(
        subscription.view.url,
        (event) => this.#onEvent(event),
        { devices: subscription.view.devices },
      );
      return undefined;
    } catch (error) {
      subscription.stop = undefined;
      return `Cannot subscribe to "${subscription.view.url}": ${_message(error)}`;
    }
  }

  #onEvent(event: FleetEvent): void {
    const second = Math.floor((this.#options.now?.() ?? performance.now()) / 1000);
    if (second !== this.#eventWindow) {
      if (this.#dropped > 0) {
        this.#broadcast({
          type: "failed",
          message: `${this.#dropped} events not shown (over ${EVENTS_PER_SECOND} a second)`,
        });
      }
      this.#eventWindow = second;
      this.#eventsInWindow = 0;
      this.#dropped = 0;
    }
    if (++this.#eventsInWindow > EVENTS_PER_SECOND) {
      this.#dropped++;
      return;
    }
    const container = event.container;
    // One line per event in the log: compact JSON rather than host_tool's indented form.
    const text = container
      ? JSON.stringify(toJSON(container))
      : `${event.payload.length} bytes${_printable(event.payload)}`;
    this.#broadcast({ type: "event", device: event.device, url: event.url, fmt: event.fmt, text });
  }

  #need(): FleetClient {
    if (!this.#fleet) {
      throw new Error(
        `Not connected to the MQTT broker ${_safeUrl(this.#options.url)}: connect first`,
      );
    }
    return this.#fleet;
  }

  async #drop(): Promise<void> {
    const fleet = this.#fleet;
    this.#fleet = undefined;
    for (const stop of this.#unlisten.splice(0)) stop();
    for (const subscription of this.#subscriptions.values()) subscription.stop = undefined;
    await fleet?.close();
  }

  #view(state: BrokerView["state"], message?: string): BrokerView {
    const o = this.#options;
    return {
      state,
      url: _safeUrl(o.url),
      username: o.username ?? "",
      prefix: o.prefix ?? "mr",
      hasPassword: o.password !== undefined,
      ...(message !== undefined ? { message } : {}),
    };
  }

  #setBroker(broker: BrokerView): void {
    this.#broker = broker;
    this.#broadcast({ type: "broker", broker });
  }

  #subscriptionViews(): SubscriptionView[] {
    return [...this.#subscriptions.values()].map((s) => s.view);
  }

  #broadcast(message: RelayMessage): void {
    for (const send of this.#pages) send(message);
  }
}

function _device(device: FleetDevice): DeviceView {
  return {
    id: device.id,
    online: device.online,
    changedAt: device.changedAt,
    ...(device.status ? { status: device.status } : {}),
  };
}

function _progress(result: FleetResult): ProgressView {
  return {
    device: result.device,
    outcome: result.outcome,
    ...(result.response ? { status: result.response.status } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
    ms: Math.round(result.ms),
  };
}

/** A response's payload as text: its container as host_tool prints it, or its size. */
function _body(response: HostResponse): string {
  if (response.container) return formatHostToolJSON(response.container);
  const payload = response.payload;
  return payload && payload.length > 0 ? `${payload.length} bytes${_printable(payload)}` : "";
}

/** `: "text"` when the bytes are short printable UTF-8, else nothing. */
function _printable(bytes: Uint8Array): string {
  if (bytes.length > 200) return "";
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  return /^[\x20-\x7e\n\t]*$/.test(text) ? `: ${JSON.stringify(text)}` : "";
}

function _string(value: unknown, what: string): string {
  if (typeof value !== "string") throw new TypeError(`The ${what} is missing`);
  return value;
}

function _appName(value: unknown): string {
  const name = _string(value, "app name").trim();
  if (name === "" || /[\s&?=#/]/.test(name)) {
    throw new RangeError(
      `Invalid app name "${name}": give a name without spaces, "&", "?", "=", "#" or "/"`,
    );
  }
  return name;
}

function _devices(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RangeError("No device selected: tick one or more devices first");
  }
  const ids = value.map((id) => _string(id, "device id"));
  for (const id of parseDevicePattern(ids)) {
    if (id === "+" || id === "#") throw new RangeError(`Invalid device id "${id}"`);
  }
  return [...new Set(ids)].sort();
}

function _base64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new TypeError("The upload is not base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function _message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The broker's URL without a password written into it. */
function _safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//");
}
