// The fleet client (core/host_link/fleet_client.ts) against Debian's Mosquitto (auth + ACL)
// and devices in this process: each an AppManager served by an MqttLink, as `serve --mqtt`
// runs them.
import assert from "node:assert/strict";
import { AppManager } from "../core/framework/app_manager.ts";
import { fastSchedule } from "../core/framework/schedule.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { MqttLink } from "../core/host_link/mqtt_link.ts";
import {
  FleetClient,
  FleetConnectError,
  type FleetDevice,
  type FleetEvent,
  type FleetResult,
  FleetTimeoutError,
  matchDevice,
  parseDevicePattern,
} from "../core/host_link/fleet_client.ts";
import { Action } from "../sdk/packet.ts";
import { AttrContainer, encodeLikeWamr } from "../sdk/attr_container.ts";
import base from "../natives/base/mod.ts";
import libc from "../natives/libc/mod.ts";
import { example } from "./_serve.ts";
import { type Mosquitto, startMosquitto } from "./_mosquitto.ts";

const REQUEST_HANDLER = example("request_handler/request_handler");

/** A device in this process: an app manager and its MQTT link. */
interface SimDevice {
  manager: AppManager;
  link: MqttLink;
  close(): Promise<void>;
}

async function simDevice(broker: Mosquitto, id: string): Promise<SimDevice> {
  const manager = new AppManager(new Runtime({ plugins: [libc, base], stdout: () => {} }), {
    schedule: fastSchedule(),
    stdout: () => {},
  });
  const link = await MqttLink.start(manager, {
    url: broker.url,
    deviceId: id,
    username: id,
    password: broker.devices[id]!.password,
    runtimeVersion: "micro-runtime test",
    log: () => {},
  });
  return {
    manager,
    link,
    async close() {
      await link.close();
      manager.close();
    },
  };
}

async function operator(broker: Mosquitto, extra: { timeout?: number } = {}): Promise<FleetClient> {
  return await FleetClient.connect({
    url: broker.url,
    username: broker.operator.username,
    password: broker.operator.password,
    ...extra,
  });
}

Deno.test("fleet_client: device patterns are a device id, + or #, or a list of them", () => {
  assert.deepEqual(parseDevicePattern("+"), ["+"]);
  assert.deepEqual(parseDevicePattern("a,b"), ["a", "b"]);
  assert.throws(() => parseDevicePattern("dev+"), /Invalid device pattern "dev\+"/);
  assert.throws(() => parseDevicePattern("a,,b"), /Invalid device pattern ""/);
  assert.throws(() => parseDevicePattern("a/b"), RangeError);
  assert.equal(matchDevice("#", "x"), true);
  assert.equal(matchDevice("x", "xy"), false);
  assert.equal(matchDevice(["a", "b"], "c"), false);
});

Deno.test({
  name:
    "fleet_client: lists devices from their retained status, installs to all with progress, queries and requests each, and sees a device leave",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto(["dev1", "dev2", "dev3"]);
    const devices = [await simDevice(broker, "dev1"), await simDevice(broker, "dev2")];
    let fleet: FleetClient | undefined;
    try {
      // The devices' statuses are retained: an operator that comes later sees them at once.
      for (const device of devices) {
        while (!device.link.connected) await new Promise((r) => setTimeout(r, 10));
      }
      const watcher = await operator(broker);
      await watcher.waitForDevice("dev1");
      await watcher.waitForDevice("dev2");
      await watcher.close();
      fleet = await operator(broker);
      assert.deepEqual(fleet.devices().map((d) => [d.id, d.online]), [
        ["dev1", true],
        ["dev2", true],
      ]);
      assert.deepEqual(fleet.device("dev1")?.status?.apps, []);
      assert.equal(fleet.device("dev1")?.status?.runtime, "micro-runtime test");

      const changes: FleetDevice[] = [];
      fleet.onDevice((d) => changes.push(d));
      const progress: [string, number, number][] = [];
      const results = await fleet.install("+", "request_handler", REQUEST_HANDLER, {
        onProgress: (result, done, total) => progress.push([result.device, done, total]),
      });
      assert.deepEqual(
        results.map((r) => [r.device, r.outcome, r.response?.status]),
        [["dev1", "ok", 65], ["dev2", "ok", 65]],
      );
      assert.deepEqual(progress.map(([, done, total]) => [done, total]), [[1, 2], [2, 2]]);
      assert.deepEqual(progress.map(([d]) => d).sort(), ["dev1", "dev2"]);
      for (const device of devices) {
        assert.equal(device.manager.get("request_handler")?.name, "request_handler");
      }

      // Each device republishes its status with the app.
      for (const id of ["dev1", "dev2"]) {
        const seen = await fleet.waitForDevice(id, (d) => d.status?.apps.length === 1);
        assert.equal(seen.status!.apps[0]!.name, "request_handler");
      }
      assert.ok(changes.some((d) => d.id === "dev1" && d.status?.apps.length === 1));

      const queries = await fleet.query("dev2");
      assert.equal(queries.length, 1);
      assert.equal(queries[0]!.response?.status, 69);
      assert.equal(queries[0]!.response?.container?.get("applet1")?.value, "request_handler");

      // A request to an app on each device, one by one and across the fleet.
      const one = await fleet.request("dev1", {
        action: Action.GET,
        url: "/app/request_handler/url1",
      });
      assert.equal(one.status, 69);
      assert.equal(one.container?.get("key1")?.value, "value1");
      const across = await fleet.fanOut(["dev1", "dev2"], {
        action: Action.GET,
        url: "/app/request_handler/url1",
      });
      assert.deepEqual(across.map((r) => r.response?.container?.get("key1")?.value), [
        "value1",
        "value1",
      ]);

      // A failed install is "failed" with the device's message; another name is not taken.
      const failed = await fleet.install("dev1", "bad", new Uint8Array([1, 2, 3]));
      assert.equal(failed[0]!.outcome, "failed");
      assert.equal(failed[0]!.response?.status, 160);
      assert.match(failed[0]!.error!, /Install WASM app failed/);

      // A literal id never seen is reported, not waited for.
      const unknown = await fleet.query("dev3");
      assert.deepEqual(unknown.map((r) => [r.device, r.outcome]), [["dev3", "offline"]]);
      assert.match(unknown[0]!.error!, /unknown device/);

      // A device that leaves says so on its status topic; the apps it had stay known.
      await devices[1]!.close();
      const gone = await fleet.waitForDevice("dev2", (d) => !d.online);
      assert.equal(gone.status?.apps[0]?.name, "request_handler");
      const skipped: FleetResult[] = await fleet.uninstall("+", "request_handler");
      assert.deepEqual(skipped.map((r) => [r.device, r.outcome, r.response?.status]), [
        ["dev1", "ok", 66],
        ["dev2", "offline", undefined],
      ]);
      assert.equal(devices[0]!.manager.get("request_handler"), undefined);
    } finally {
      await fleet?.close();
      for (const device of devices) await device.close();
      await broker.stop();
    }
  },
});

Deno.test({
  name:
    "fleet_client: a HostClient to one device through the broker installs, queries, subscribes to its events and times out as over TCP",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto(["dev1"]);
    const device = await simDevice(broker, "dev1");
    let fleet: FleetClient | undefined;
    try {
      fleet = await operator(broker, { timeout: 400 });
      await fleet.waitForDevice("dev1", undefined, 10_000);
      const client = fleet.hostClient("dev1", { timeout: 10_000 });
      const seen: number[] = [];
      client.onResponse((r) => seen.push(r.status));
      assert.equal((await client.install("request_handler", REQUEST_HANDLER)).status, 65);
      const query = await client.query();
      assert.equal(query.container?.get("num")?.value, 1);
      const reply = await client.request("/app/request_handler/url1", "GET");
      assert.equal(reply.container?.get("key1")?.value, "value1");
      assert.deepEqual(seen, [65, 69, 69]);

      // A subscription through it is the broker's, to this device's events only.
      const heard: string[] = [];
      const subscribed = await client.subscribe("alert/x", (e) => {
        heard.push(`${e.url} ${e.fmt} ${[...e.payload!]}`);
      });
      assert.equal(subscribed.status, 69);
      // dev2's event goes first through the same connection: heard before dev1's, if at all.
      await fleet.publishEvent("alert/x", new Uint8Array([4]), { as: "dev2", fmt: 98 });
      await fleet.publishEvent("alert/x", new Uint8Array([1, 2, 3]), { as: "dev1", fmt: 98 });
      while (heard.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(heard, ["alert/x 98 1,2,3"]);
      assert.equal((await client.unsubscribe("alert/x")).status, 69);
      // The unsubscription went before this event: the next response comes after it.
      await fleet.publishEvent("alert/x", new Uint8Array([5]), { as: "dev1", fmt: 98 });
      assert.equal((await client.query()).status, 69);
      assert.equal(heard.length, 1);
      client.close();

      // Nobody serves "ghost": both kinds of request time out with their own errors.
      const ghost = fleet.hostClient("ghost", { timeout: 300 });
      await assert.rejects(ghost.query(), Deno.errors.TimedOut);
      ghost.close();
      await assert.rejects(
        fleet.request("ghost", { action: Action.GET, url: "/applet" }),
        (error: Error) =>
          error instanceof FleetTimeoutError &&
          /No response from device "ghost" within 400 ms/.test(error.message),
      );

      // Closing fails what still waits, at once.
      const waiting = fleet.request("ghost", { action: Action.GET, url: "/applet" }, {
        timeout: 60_000,
      });
      const failed = assert.rejects(
        waiting,
        /The fleet client closed before the response from device "ghost"/,
      );
      await fleet.close();
      await failed;
    } finally {
      await fleet?.close();
      await device.close();
      await broker.stop();
    }
  },
});

Deno.test({
  name: "fleet_client: wrong credentials and an unreachable broker fail the connect clearly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([]);
    try {
      await assert.rejects(
        FleetClient.connect({ url: broker.url, username: "operator", password: "wrong" }),
        (error: Error) =>
          error instanceof FleetConnectError && error.reason === 135 &&
          /MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ refused the operator: Connection refused: Not authorized \(reason 135\)/
            .test(
              error.message,
            ),
      );
    } finally {
      await broker.stop();
    }
    // The broker is gone: its port refuses connections.
    await assert.rejects(
      FleetClient.connect({ url: broker.url, username: "operator", password: "x" }),
      (error: Error) =>
        error instanceof FleetConnectError &&
        /Cannot connect to the MQTT broker mqtt:\/\/127\.0\.0\.1:\d+/.test(error.message),
    );
  },
});

Deno.test({
  name:
    "fleet_client: events on <prefix>/<id>/ev/<url> reach the listeners whose URL prefix and devices match, until removed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([]);
    let listener: FleetClient | undefined;
    let sender: FleetClient | undefined;
    try {
      listener = await operator(broker);
      sender = await operator(broker);
      const all: FleetEvent[] = [];
      const fromDev2: FleetEvent[] = [];
      const exact: FleetEvent[] = [];
      const stopAll = await listener.subscribeEvents("alert/", (e) => all.push(e));
      await listener.subscribeEvents("alert/", (e) => fromDev2.push(e), { devices: "dev2" });
      await listener.subscribeEvents("alert/overheat", (e) => exact.push(e));

      const reading = encodeLikeWamr(new AttrContainer("").setInt("temp", 91));
      await sender.publishEvent("alert/overheat", reading, { as: "dev1" });
      await sender.publishEvent("alert/door", new Uint8Array([1, 2]), { as: "dev2", fmt: 98 });
      await sender.publishEvent("other/x", new Uint8Array([3]), { as: "dev1" });
      await listener.sync();

      assert.deepEqual(all.map((e) => [e.device, e.url, e.fmt]), [
        ["dev1", "alert/overheat", 99],
        ["dev2", "alert/door", 98],
      ]);
      assert.equal(all[0]!.container?.get("temp")?.value, 91);
      assert.deepEqual([...all[1]!.payload], [1, 2]);
      assert.equal(all[1]!.container, undefined);
      assert.deepEqual(fromDev2.map((e) => e.url), ["alert/door"]);
      assert.deepEqual(exact.map((e) => e.device), ["dev1"]);

      await stopAll();
      await sender.publishEvent("alert/overheat", reading, { as: "dev2" });
      await listener.sync();
      assert.equal(all.length, 2);
      assert.equal(exact.length, 2);
      assert.equal(fromDev2.length, 2);
      await assert.rejects(listener.subscribeEvents("alert/#", () => {}), RangeError);
    } finally {
      await listener?.close();
      await sender?.close();
      await broker.stop();
    }
  },
});
