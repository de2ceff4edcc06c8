// The fleet's topic tree (core/host_link/mqtt_topics.ts): what devices, operators and the console
// build and take apart.
import assert from "node:assert/strict";
import {
  checkMqttEventPrefix,
  checkMqttLevel,
  mqttDeviceTopic,
  mqttEventAllowed,
  mqttEventFilter,
  mqttEventFormat,
  mqttEventTopic,
  parseMqttTopic,
} from "../core/host_link/mqtt_topics.ts";

Deno.test("mqtt_topics: a multi-level prefix builds and parses back", () => {
  const prefix = "acme/site-1/mr";
  for (const leaf of ["req", "res", "status"] as const) {
    const topic = mqttDeviceTopic(prefix, "dev-7", leaf);
    assert.equal(topic, `acme/site-1/mr/dev-7/${leaf}`);
    assert.deepEqual(parseMqttTopic(prefix, topic), { deviceId: "dev-7", leaf });
  }
  const event = mqttEventTopic(prefix, "dev-7", "alert/zone/3");
  assert.equal(event, "acme/site-1/mr/dev-7/ev/alert/zone/3");
  assert.deepEqual(parseMqttTopic(prefix, event), {
    deviceId: "dev-7",
    leaf: "ev",
    url: "alert/zone/3",
  });
});

Deno.test("mqtt_topics: topics outside the tree parse to undefined", () => {
  for (
    const topic of [
      "mr",
      "mr/",
      "mr//req",
      "mr/dev1",
      "mr/dev1/",
      "mr/dev1/req/extra",
      "mr/dev1/ev",
      "mr/dev1/ev/",
      "mrx/dev1/req",
      "other/dev1/status",
    ]
  ) {
    assert.equal(parseMqttTopic("mr", topic), undefined, topic);
  }
});

Deno.test("mqtt_topics: event URLs with MQTT wildcards or NUL are refused, as prefixes", () => {
  for (const url of ["", "a/+/b", "alert/#", "a\0b"]) {
    assert.throws(() => mqttEventTopic("mr", "d", url), RangeError, JSON.stringify(url));
    assert.throws(() => checkMqttEventPrefix(url), /Invalid MQTT event prefix/);
    assert.throws(() => mqttEventFilter("mr", url), RangeError);
  }
  // A leading or doubled "/" is a legal (empty) topic level.
  assert.equal(mqttEventTopic("mr", "d", "/x//y"), "mr/d/ev//x//y");
  assert.deepEqual(parseMqttTopic("mr", "mr/d/ev//x//y"), {
    deviceId: "d",
    leaf: "ev",
    url: "/x//y",
  });
});

Deno.test("mqtt_topics: a prefix ending in / allows what is under it, any other one URL", () => {
  const allowed = ["alert/", "sensor/temp"];
  assert.deepEqual(
    ["alert/overheat", "alert/a/b", "alert/", "alert", "alerts/x", "sensor/temp", "sensor/temp/x"]
      .map((url) => mqttEventAllowed(allowed, url)),
    [true, true, false, false, false, true, false],
  );
  assert.deepEqual(allowed.map((a) => mqttEventFilter("mr", a)), [
    "mr/+/ev/alert/#",
    "mr/+/ev/sensor/temp",
  ]);
  assert.equal(mqttEventAllowed([], "alert/overheat"), false);
});

Deno.test("mqtt_topics: an event's format comes from its fmt property, raw binary otherwise", () => {
  assert.equal(mqttEventFormat({ fmt: "99" }), 99);
  assert.equal(mqttEventFormat({ fmt: ["0", "99"] }), 0);
  assert.equal(mqttEventFormat({ other: "1" }), 98);
  for (const bad of ["256", "-1", "9x", "", "1234"]) {
    assert.equal(mqttEventFormat({ fmt: bad }), 98);
  }
});

Deno.test("mqtt_topics: a level given by a user is one non-empty level without wildcards", () => {
  assert.equal(checkMqttLevel("device id", "kitchen.sensor-2"), "kitchen.sensor-2");
  for (const bad of ["", "a/b", "+", "#", "x#", "a\0"]) {
    assert.throws(
      () => checkMqttLevel("device id", bad),
      (error: Error) =>
        error instanceof RangeError &&
        error.message ===
          `Invalid MQTT device id "${bad}": it must be a non-empty topic level without "/", "+" or "#"`,
    );
  }
});
