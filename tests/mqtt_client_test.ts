// core/host_link/mqtt_client.ts against MQTT.js itself: its narrow declarations type-check
// against the package's own .d.ts (deno check runs on this file), the loader loads the version
// deno.json imports, and a real Mosquitto shows the members the links read at run time.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as mqtt from "mqtt";
import {
  loadMqtt,
  MQTT_PACKAGE,
  type MqttClient,
  type MqttClientOptions,
  type MqttError,
  type MqttModule,
  type MqttPublishOptions,
  type MqttPublishPacket,
  type MqttSubscribeOptions,
  type MqttSubscriptionGrant,
} from "../core/host_link/mqtt_client.ts";
import { startMosquitto } from "./_mosquitto.ts";

/** `true` when a `From` can be used where a `To` is expected, else `false`. */
type Assignable<From, To> = [From] extends [To] ? true : false;

Deno.test("mqtt_client: the declarations fit MQTT.js's own types", () => {
  // The package as a whole: connect takes our options, and its client has every member we
  // declare, with signatures that accept what we pass and return what we expect.
  const narrowed: MqttModule = mqtt;
  // What we hand to MQTT.js is what it takes.
  const options: Assignable<MqttClientOptions, mqtt.IClientOptions> = true;
  const publish: Assignable<MqttPublishOptions, mqtt.IClientPublishOptions> = true;
  const subscribe: Assignable<MqttSubscribeOptions, mqtt.IClientSubscribeOptions> = true;
  const topics: Assignable<Record<string, MqttSubscribeOptions>, mqtt.ISubscriptionMap> = true;
  // What MQTT.js hands us is what we read.
  const packet: Assignable<mqtt.IPublishPacket, MqttPublishPacket> = true;
  const grant: Assignable<mqtt.ISubscriptionGrant, MqttSubscriptionGrant> = true;
  const handled: Assignable<
    Parameters<mqtt.MqttClient["handleMessage"]>,
    Parameters<MqttClient["handleMessage"]>
  > = true;
  const message: Assignable<
    Parameters<mqtt.OnMessageCallback>,
    [string, Buffer, MqttPublishPacket]
  > = true;
  const error: Assignable<Parameters<mqtt.OnErrorCallback>[0], MqttError> = true;
  const stream: Assignable<mqtt.MqttClient["stream"], MqttClient["stream"]> = true;
  // A declaration that does not fit is caught (the check itself can fail).
  const wrong: Assignable<{ qos: 3 }, mqtt.IClientPublishOptions> = false;
  assert.equal(typeof narrowed.connect, "function");
  assert.deepEqual(
    [options, publish, subscribe, topics, packet, grant, handled, message, error, stream, wrong],
    [true, true, true, true, true, true, true, true, true, true, false],
  );
});

Deno.test('mqtt_client: loadMqtt loads the version deno.json\'s "mqtt" import names', async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { imports: Record<string, string> };
  assert.equal(config.imports.mqtt, MQTT_PACKAGE);
  const loaded = await loadMqtt();
  // One package, one module instance: another version would be another module.
  assert.equal(loaded.connect, mqtt.connect);
  assert.equal(await loadMqtt(), loaded);
});

Deno.test("mqtt_client: a real broker fills in every member the links read", async () => {
  const broker = await startMosquitto(["dev1"]);
  const { connect } = await loadMqtt();
  const client = connect(broker.url, {
    protocolVersion: 5,
    clientId: "mqtt-client-test",
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    username: broker.operator.username,
    password: broker.operator.password,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    assert.equal(client.connected, true);
    assert.equal(client.options.reconnectPeriod, 0);
    // The MQTT link's back-pressure and the fleet client's TCP_NODELAY rely on these two.
    assert.equal(client.stream?.writableLength, 0);
    assert.equal(typeof client.stream?.setNoDelay, "function");

    const topic = "mr/dev1/ev/probe";
    const granted = await client.subscribeAsync(topic, {
      qos: 1,
      properties: { subscriptionIdentifier: 7 },
    });
    assert.deepEqual(granted.map(({ topic, qos }) => ({ topic, qos })), [{ topic, qos: 1 }]);

    const received = Promise.withResolvers<MqttPublishPacket>();
    client.handleMessage = (packet, done) => {
      received.resolve(packet);
      done();
    };
    await client.publishAsync(topic, Buffer.from([1, 2, 3]), {
      qos: 1,
      properties: {
        correlationData: Buffer.from("c-1"),
        userProperties: { fmt: "99" },
      },
    });
    const packet = await received.promise;
    assert.equal(packet.topic, topic);
    assert.deepEqual([...packet.payload as Buffer], [1, 2, 3]);
    assert.equal(Buffer.from(packet.properties?.correlationData ?? []).toString(), "c-1");
    assert.deepEqual({ ...packet.properties?.userProperties }, { fmt: "99" });
    assert.equal(packet.properties?.subscriptionIdentifier, 7);

    const acked = Promise.withResolvers<Error | null | undefined>();
    client.publish(topic, "", { qos: 1 }, (error) => acked.resolve(error));
    const error = await acked.promise;
    assert.ok(error === null || error === undefined, `publish failed: ${error}`);
    await client.unsubscribeAsync(topic);
  } finally {
    await client.endAsync(true);
    await broker.stop();
  }
  assert.equal(client.connected, false);
});
