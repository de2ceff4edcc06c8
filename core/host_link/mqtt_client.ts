/**
 * The part of MQTT.js (npm `mqtt`, version {@linkcode MQTT_PACKAGE}) the MQTT link and the
 * fleet client use, declared here, and the one function that loads the package.
 *
 * Why not `import("mqtt")` and its types: Deno builds the graph of `deno run mod.ts` through
 * every literal dynamic import, so a literal one made every start-up resolve MQTT.js and its
 * dependencies in the npm cache (~1 ms, MQTT or not; issue 17), and a type-only import left
 * behind made `deno doc --lint mod.ts` resolve MQTT.js's types through `@types/node` (82
 * warnings). The package is loaded through a variable specifier instead, and its types are
 * the narrow ones below; `tests/mqtt_client_test.ts` type-checks them against the package's
 * own `.d.ts` and checks that the version matches deno.json's "mqtt" import.
 *
 * @module
 */

import type { Buffer } from "node:buffer";

/**
 * The npm package and version loaded, as a full specifier: it needs no import map, so it also
 * works when this module is imported from a URL. deno.json's "mqtt" import (for tests and
 * benches) names the same version.
 */
export const MQTT_PACKAGE = "npm:mqtt@5.16.0";

/** MQTT quality of service. */
export type MqttQos = 0 | 1 | 2;

/** MQTT 5 user properties: a name may appear more than once. */
export type MqttUserProperties = Record<string, string | string[]>;

/** The MQTT 5 properties of a publish packet that the links read or set. */
export interface MqttPublishProperties {
  /** Echoed by a response to correlate it with its request. */
  correlationData?: Buffer;
  userProperties?: MqttUserProperties;
  /** Which subscriptions a message came through (set by the broker). */
  subscriptionIdentifier?: number | number[];
}

/** A message from the broker. */
export interface MqttPublishPacket {
  topic: string;
  payload: string | Buffer;
  properties?: MqttPublishProperties;
}

/** Options of one publish. */
export interface MqttPublishOptions {
  qos: MqttQos;
  retain?: boolean;
  properties?: Pick<MqttPublishProperties, "correlationData" | "userProperties">;
}

/** Options of one subscription. */
export interface MqttSubscribeOptions {
  qos: MqttQos;
  /** No Local: the broker does not send the client's own messages back (MQTT 5). */
  nl?: boolean;
  properties?: { subscriptionIdentifier?: number };
}

/** What the broker granted for one topic filter: a QoS, or a reason code of 128 and up. */
export interface MqttSubscriptionGrant {
  topic: string;
  qos: number;
}

/** The client options the links pass to {@linkcode MqttModule.connect}. */
export interface MqttClientOptions {
  protocolVersion?: 4 | 5;
  clientId?: string;
  clean?: boolean;
  /** Whether the client subscribes again by itself after a reconnect. */
  resubscribe?: boolean;
  /** Milliseconds between reconnects; 0 for none. */
  reconnectPeriod?: number;
  connectTimeout?: number;
  /** Whether QoS 0 messages published while offline are queued. */
  queueQoSZero?: boolean;
  username?: string;
  password?: string;
  /** PEM: trusted CA certificates, a client certificate and its key. */
  ca?: string | string[];
  cert?: string;
  key?: string;
  properties?: { sessionExpiryInterval?: number };
  will?: { topic: string; payload: string | Buffer; qos?: MqttQos; retain?: boolean };
}

/** Tells the client a message was taken (an error, if any, goes to its "error" event). */
export type MqttDone = (error?: Error) => void;

/** Called when a published packet was sent (QoS 0) or acknowledged, or failed (`error` set). */
export type MqttSent = (error?: Error | null) => void;

/**
 * An error the client reports: `code` is the broker's reason code (a number) or Node's
 * socket or TLS error code (a string).
 */
export type MqttError = Error & { code?: unknown };

/** The client's events the links listen to. */
export interface MqttClientEvents {
  (event: "connect" | "offline" | "close", listener: () => void): unknown;
  (event: "error", listener: (error: MqttError) => void): unknown;
  (
    event: "message",
    listener: (topic: string, payload: Buffer, packet: MqttPublishPacket) => void,
  ): unknown;
}

/** A connected (or connecting, or reconnecting) MQTT.js client. */
export interface MqttClient {
  /** Whether the client is connected to the broker now. */
  readonly connected: boolean;
  /** The options in use: the reconnect period may change while the client runs. */
  readonly options: { reconnectPeriod?: number };
  /** The socket to the broker, when there is one (a Node stream). */
  readonly stream:
    | { readonly writableLength?: number; setNoDelay?: (noDelay?: boolean) => unknown }
    | undefined;
  on: MqttClientEvents;
  once: MqttClientEvents;
  off: MqttClientEvents;
  /**
   * Takes each message from the broker; the client acknowledges it (QoS 1) and reads the next
   * one when `done` is called. Replacing it takes messages before the "message" event. (A
   * method, so the drift test checks MQTT.js's packet against ours, not the other way round.)
   */
  handleMessage(packet: MqttPublishPacket, done: MqttDone): void;
  publish: (
    topic: string,
    message: string | Buffer,
    options: MqttPublishOptions,
    sent?: MqttSent,
  ) => unknown;
  publishAsync: (
    topic: string,
    message: string | Buffer,
    options: MqttPublishOptions,
  ) => Promise<unknown>;
  subscribe: (
    topics: Record<string, MqttSubscribeOptions>,
    done: (error: Error | null, granted?: MqttSubscriptionGrant[]) => void,
  ) => unknown;
  subscribeAsync: (
    topics: string | string[],
    options: MqttSubscribeOptions,
  ) => Promise<MqttSubscriptionGrant[]>;
  unsubscribeAsync: (topics: string | string[]) => Promise<unknown>;
  /** Closes the connection (`force`: without waiting for acknowledgements); no reconnects. */
  end: (force: boolean) => unknown;
  endAsync: (force: boolean) => Promise<void>;
}

/** The package's entry point as the links use it. */
export interface MqttModule {
  /** Starts a client: it connects, and reconnects, in the background. */
  connect: (url: string, options: MqttClientOptions) => MqttClient;
}

/**
 * Loads MQTT.js (once; later calls return the same module).
 *
 * @returns the package, as the links use it
 */
export function loadMqtt(): Promise<MqttModule> {
  // A variable specifier keeps the package out of the graph Deno builds at start-up.
  const specifier: string = MQTT_PACKAGE;
  return import(specifier);
}
