/**
 * The messages between the fleet console's page and its relay (`relay.ts`), JSON over one
 * WebSocket: the relay pushes the broker's state, the devices' statuses, events and the
 * progress of operations; the page asks for connects, installs, uninstalls, requests and event
 * subscriptions. Types only, so the page's bundle carries nothing of it.
 *
 * @module
 */

import type { MqttDeviceStatus } from "../../../core/host_link/mqtt_link.ts";

/** The relay's link to the broker. */
export interface BrokerView {
  /** `connecting`, `connected`, `reconnecting` (the link dropped) or `failed` (see message). */
  state: "connecting" | "connected" | "reconnecting" | "failed";
  /** The broker's URL. */
  url: string;
  /** The user name at the broker ("" when none). */
  username: string;
  /** The topic prefix. */
  prefix: string;
  /** Whether the relay holds a password (from --mqtt-password-file or the page). */
  hasPassword: boolean;
  /** Why the last connect failed, for `failed`. */
  message?: string;
}

/** A device as the page shows it. */
export interface DeviceView {
  id: string;
  online: boolean;
  /** Its last full status (kept while offline), if one was seen. */
  status?: MqttDeviceStatus;
  /** When the relay saw its state change (ms since the epoch). */
  changedAt: number;
}

/** One device's answer to an operation. */
export interface ProgressView {
  device: string;
  /** `ok`, `failed`, `timeout` or `offline`. */
  outcome: string;
  /** The response status, when the device answered. */
  status?: number;
  /** The response's error message, or why there was no answer. */
  error?: string;
  /** Milliseconds to the answer. */
  ms: number;
}

/** What the relay sends. */
export type RelayMessage =
  | { type: "broker"; broker: BrokerView }
  | { type: "devices"; devices: DeviceView[] }
  | { type: "device"; device: DeviceView }
  | { type: "subscriptions"; subscriptions: SubscriptionView[] }
  | { type: "event"; device: string; url: string; fmt: number; text: string }
  | { type: "started"; op: string; what: string; devices: string[] }
  | { type: "progress"; op: string; result: ProgressView; done: number; total: number }
  | { type: "response"; op: string; device: string; status: number; body: string }
  | { type: "failed"; op?: string; message: string };

/** An event subscription held by the relay. */
export interface SubscriptionView {
  id: number;
  /** An event URL, or a prefix ending in `/`. */
  url: string;
  /** The devices heard: a pattern as `host --fleet` takes it. */
  devices: string;
}

/** What the page sends. */
export type PageMessage =
  | { type: "connect"; url: string; username: string; password?: string; prefix: string }
  | { type: "install"; op: string; devices: string[]; name: string; file: string; wasm: string }
  | { type: "uninstall"; op: string; devices: string[]; name: string }
  | {
    type: "request";
    op: string;
    device: string;
    method: "GET" | "POST" | "PUT" | "DELETE";
    url: string;
    payload: string;
  }
  | { type: "subscribe"; url: string; devices: string }
  | { type: "unsubscribe"; id: number };
