/**
 * The topic tree of fleets on an MQTT broker, shared by devices (`serve --mqtt`), operators
 * (`host --mqtt`) and the console. It imports nothing, so a browser page can use it too.
 *
 * Under a prefix (`mr` by default, one or more levels), each device owns `<prefix>/<id>/`:
 *
 * | topic                     | who publishes | QoS      | payload                              |
 * | ------------------------- | ------------- | -------- | ------------------------------------ |
 * | `<prefix>/<id>/req`       | operators     | 1        | a request packet (`sdk/packet.ts`)   |
 * | `<prefix>/<id>/res`       | the device    | 1        | the response packet, the same mid    |
 * | `<prefix>/<id>/status`    | the device    | 1, kept  | JSON status; last will `offline`     |
 * | `<prefix>/<id>/ev/<url>`  | the device    | 0 or 1   | an event's bytes, format in `fmt`    |
 *
 * Requests may carry two MQTT 5 user properties: `device`, the id the sender meant (a device
 * answers 4.00 to a request naming another), and the response echoes the request's
 * correlation data. An event's payload format (`FMT_ATTR_CONTAINER` 99, `FMT_APP_RAW_BINARY`
 * 98) travels in the user property `fmt`; without it an event is raw binary, so any MQTT
 * client can publish one. A device subscribes to `<prefix>/+/ev/<allowed>` for the event URLs
 * its operator allows, so an ACL that lets each device write only `<prefix>/<its id>/#` and
 * read `<prefix>/+/ev/#` keeps a device from speaking for another.
 *
 * @module
 */

/** The topic prefix by default: topics are `mr/<device-id>/req`, `…/res`, `…/status`. */
export const DEFAULT_MQTT_PREFIX = "mr";
/** The MQTT 5 user property naming the device a request is for. */
export const MQTT_DEVICE_PROPERTY = "device";
/** The MQTT 5 user property holding an event's payload format, in decimal. */
export const MQTT_FORMAT_PROPERTY = "fmt";
/** The topic level under a device's root where its events go. */
export const MQTT_EVENT_LEVEL = "ev";

/** The leaves of a device's topic tree, besides events. */
export type MqttLeaf = "req" | "res" | "status";

/** A topic of the tree, taken apart by {@linkcode parseMqttTopic}. */
export type MqttTopic =
  | { deviceId: string; leaf: MqttLeaf }
  | { deviceId: string; leaf: "ev"; url: string };

/**
 * The topic of one of a device's leaves. Give `+` as the device to make a filter over all.
 *
 * @param prefix the topic prefix
 * @param deviceId the device id, or `+`
 * @param leaf `req`, `res` or `status`
 * @returns e.g. `mr/dev1/req`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mqttDeviceTopic } from "./mqtt_topics.ts";
 * assert.equal(mqttDeviceTopic("mr", "dev1", "req"), "mr/dev1/req");
 * assert.equal(mqttDeviceTopic("acme/mr", "+", "status"), "acme/mr/+/status");
 * ```
 */
export function mqttDeviceTopic(prefix: string, deviceId: string, leaf: MqttLeaf): string {
  return `${prefix}/${deviceId}/${leaf}`;
}

/**
 * The topic a device publishes an event on.
 *
 * @param prefix the topic prefix
 * @param deviceId the publishing device
 * @param url the event URL, e.g. `alert/overheat`
 * @returns e.g. `mr/dev1/ev/alert/overheat`
 * @throws {RangeError} when the URL cannot be an MQTT topic's end (empty, `+`, `#`, NUL)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mqttEventTopic } from "./mqtt_topics.ts";
 * assert.equal(mqttEventTopic("mr", "dev1", "alert/overheat"), "mr/dev1/ev/alert/overheat");
 * assert.throws(() => mqttEventTopic("mr", "dev1", "alert/#"), RangeError);
 * ```
 */
export function mqttEventTopic(prefix: string, deviceId: string, url: string): string {
  if (!_eventUrlFits(url)) {
    throw new RangeError(
      `Event URL "${url}" cannot be an MQTT topic: it must be non-empty, without "+", "#" or NUL`,
    );
  }
  return `${prefix}/${deviceId}/${MQTT_EVENT_LEVEL}/${url}`;
}

/**
 * Checks an allowed event URL prefix: one ending in `/` allows every URL under it
 * (`alert/` allows `alert/overheat`), any other exactly that URL.
 *
 * @param allowed the operator's entry
 * @returns the entry
 * @throws {RangeError} when it is empty or holds `+`, `#` or NUL
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMqttEventPrefix } from "./mqtt_topics.ts";
 * assert.equal(checkMqttEventPrefix("alert/"), "alert/");
 * assert.throws(() => checkMqttEventPrefix("alert/#"), /Invalid MQTT event prefix "alert\/#"/);
 * ```
 */
export function checkMqttEventPrefix(allowed: string): string {
  if (!_eventUrlFits(allowed)) {
    throw new RangeError(
      `Invalid MQTT event prefix "${allowed}": it must be non-empty, without "+", "#" or NUL`,
    );
  }
  return allowed;
}

/**
 * The subscription filter for the events of an allowed URL prefix, from every device (or one).
 *
 * @param prefix the topic prefix
 * @param allowed an event URL prefix ending in `/`, or one exact event URL
 * @param deviceId the publishing device, `+` (default) for all
 * @returns e.g. `mr/+/ev/alert/#`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mqttEventFilter } from "./mqtt_topics.ts";
 * assert.equal(mqttEventFilter("mr", "alert/"), "mr/+/ev/alert/#");
 * assert.equal(mqttEventFilter("mr", "alert/overheat", "dev2"), "mr/dev2/ev/alert/overheat");
 * ```
 */
export function mqttEventFilter(prefix: string, allowed: string, deviceId = "+"): string {
  checkMqttEventPrefix(allowed);
  return `${prefix}/${deviceId}/${MQTT_EVENT_LEVEL}/${allowed}${allowed.endsWith("/") ? "#" : ""}`;
}

/**
 * Whether an event URL is one the allowed prefixes let through. `alert/#` also matches the
 * topic `…/ev/alert`, so a device checks this on what arrives, not only on what it sends.
 *
 * @param allowed event URL prefixes ending in `/`, or exact event URLs
 * @param url the event URL
 * @returns whether it is bridged
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mqttEventAllowed } from "./mqtt_topics.ts";
 * assert.equal(mqttEventAllowed(["alert/"], "alert/overheat"), true);
 * assert.equal(mqttEventAllowed(["alert/"], "alert"), false);
 * assert.equal(mqttEventAllowed(["sensor/temp"], "sensor/temp"), true);
 * assert.equal(mqttEventAllowed(["sensor/temp"], "sensor/temp2"), false);
 * ```
 */
export function mqttEventAllowed(allowed: readonly string[], url: string): boolean {
  for (const entry of allowed) {
    if (entry.endsWith("/") ? url.startsWith(entry) && url.length > entry.length : url === entry) {
      return true;
    }
  }
  return false;
}

/**
 * Takes a topic of the tree apart.
 *
 * @param prefix the topic prefix
 * @param topic a topic a message arrived on
 * @returns the device and leaf (and an event's URL), or undefined for a topic outside the tree
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMqttTopic } from "./mqtt_topics.ts";
 * assert.deepEqual(parseMqttTopic("mr", "mr/dev1/status"), { deviceId: "dev1", leaf: "status" });
 * assert.deepEqual(parseMqttTopic("mr", "mr/dev1/ev/alert/overheat"), {
 *   deviceId: "dev1",
 *   leaf: "ev",
 *   url: "alert/overheat",
 * });
 * assert.equal(parseMqttTopic("mr", "other/dev1/req"), undefined);
 * ```
 */
export function parseMqttTopic(prefix: string, topic: string): MqttTopic | undefined {
  if (!topic.startsWith(prefix + "/")) return undefined;
  const rest = topic.slice(prefix.length + 1);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const deviceId = rest.slice(0, slash);
  const leaf = rest.slice(slash + 1);
  if (leaf === "req" || leaf === "res" || leaf === "status") return { deviceId, leaf };
  if (leaf.startsWith(MQTT_EVENT_LEVEL + "/") && leaf.length > MQTT_EVENT_LEVEL.length + 1) {
    return { deviceId, leaf: "ev", url: leaf.slice(MQTT_EVENT_LEVEL.length + 1) };
  }
  return undefined;
}

/**
 * An event's payload format from its MQTT 5 user properties: the `fmt` property, else raw
 * binary (what a publisher that is not a device sends).
 *
 * @param userProperties the message's user properties
 * @returns the format, 0–255
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mqttEventFormat } from "./mqtt_topics.ts";
 * assert.equal(mqttEventFormat({ fmt: "99" }), 99);
 * assert.equal(mqttEventFormat(undefined), 98);
 * assert.equal(mqttEventFormat({ fmt: "lots" }), 98);
 * ```
 */
export function mqttEventFormat(
  userProperties: Record<string, string | string[]> | undefined,
): number {
  const value = userProperties?.[MQTT_FORMAT_PROPERTY];
  const text = Array.isArray(value) ? value[0] : value;
  const fmt = text !== undefined && /^\d{1,3}$/.test(text) ? Number(text) : -1;
  // FMT_APP_RAW_BINARY (sdk/packet.ts), written out: this file imports nothing.
  return fmt >= 0 && fmt <= 255 ? fmt : 98;
}

/**
 * Checks one topic level a user gives (a device id, a level of the prefix).
 *
 * @param what what it is, for the message
 * @param level the level
 * @returns the level
 * @throws {RangeError} when it is empty or holds `/`, `+`, `#` or NUL
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMqttLevel } from "./mqtt_topics.ts";
 * assert.equal(checkMqttLevel("device id", "dev1"), "dev1");
 * assert.throws(() => checkMqttLevel("device id", "a/b"), /Invalid MQTT device id "a\/b"/);
 * ```
 */
export function checkMqttLevel(what: string, level: string): string {
  if (level === "" || /[/+#\0]/.test(level)) {
    throw new RangeError(
      `Invalid MQTT ${what} "${level}": it must be a non-empty topic level without "/", "+" or "#"`,
    );
  }
  return level;
}

function _eventUrlFits(url: string): boolean {
  return url !== "" && !/[+#\0]/.test(url);
}
