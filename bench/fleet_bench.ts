// Fleets (issue 14): N simulated devices in this one process through the embedding API — each an
// AppManager with its own Runtime, served by an MqttLink to Debian's Mosquitto (auth + ACL)
// started here — and one operator (FleetClient). No socket per device beyond its MQTT one.
//
// Prints at load time: the install fan-out to all N devices (target < 5 s for 200) next to the
// same installs sent one device at a time, events per second from an app on one device to an
// app on another through the broker (target ≥ 10,000/s) next to two bare MQTT.js clients, and
// the memory an idle device costs. The Deno.bench groups give the same comparisons as ratios.
//
// The broker sends each packet at once (set_tcp_nodelay, tests/_mosquitto.ts's default):
// otherwise every round trip waits some 40 ms on Nagle's algorithm and delayed ACKs.
// FLEET_DEVICES=N changes the fleet's size (default 200), FLEET_QUEUE the app queues of the two
// event devices (default 50, WAMR's), FLEET_BURST the events the publisher posts between yields
// (default 200), FLEET_QOS the events' QoS (default 0; at 1 the publisher stays at most 500
// events ahead of the subscriber, within its link's 1,000 unacknowledged and the broker's 1,000
// queued), FLEET_WORK the loop iterations the subscribing app spins per event (default 0: a
// slower app makes the broker drop at QoS 0 once its queue for the device is full).
import assert from "node:assert/strict";
import { connectAsync, type MqttClient } from "mqtt";
import { Buffer } from "node:buffer";
import { AppManager } from "../core/framework/app_manager.ts";
import type { InstalledApp } from "../core/framework/installed_app.ts";
import { fastSchedule } from "../core/framework/schedule.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { MqttLink } from "../core/host_link/mqtt_link.ts";
import { FleetClient, installRequest } from "../core/host_link/fleet_client.ts";
import base from "../natives/base/mod.ts";
import libc from "../natives/libc/mod.ts";
import { encodeRequest } from "../sdk/packet.ts";
import { startMosquitto } from "../tests/_mosquitto.ts";
import { wat } from "../tests/_wat.ts";

const N = Number(Deno.env.get("FLEET_DEVICES") ?? 200);
const APP = Deno.readFileSync(
  new URL("../examples/request_handler/request_handler.wasm", import.meta.url),
);
const EVENT_URL = "bench/event";
const PAYLOAD = new Uint8Array(64).fill(7);
/** Messages each app's queue holds on the two event devices (WAMR's default: 50). */
const QUEUE = Number(Deno.env.get("FLEET_QUEUE") ?? 50);
/** Events the publishing app posts between two yields to the event loop. */
const BURST = Number(Deno.env.get("FLEET_BURST") ?? 200);
const QOS = Number(Deno.env.get("FLEET_QOS") ?? 0) === 1 ? 1 : 0;
const WORK = Number(Deno.env.get("FLEET_WORK") ?? 0);

// send(ptr, len) posts a packet (an event here); counts the events it receives in a global, and
// spins WORK iterations on each.
const EVENT_APP = wat(`(module
  (import "env" "wasm_post_request" (func $post (param i32 i32)))
  (import "env" "wasm_sub_event" (func $sub (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${EVENT_URL}\\00")
  (global $events (export "events") (mut i32) (i32.const 0))
  (func (export "on_init") (call $sub (i32.const 16)))
  (func (export "send") (param i32 i32) (call $post (local.get 0) (local.get 1)))
  (func (export "on_request") (param i32 i32) (local $i i32)
    (global.set $events (i32.add (global.get $events) (i32.const 1)))
    (block $done (loop $spin
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${WORK})))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $spin)))))`);

const ids = Array.from({ length: N }, (_, i) => `dev${String(i).padStart(4, "0")}`);
const broker = await startMosquitto(ids);

interface SimDevice {
  manager: AppManager;
  link: MqttLink;
}

async function simDevice(id: string, events?: string[]): Promise<SimDevice> {
  const manager = new AppManager(new Runtime({ plugins: [libc, base], stdout: () => {} }), {
    schedule: fastSchedule(),
    stdout: () => {},
    ...(events ? { queueLength: QUEUE } : {}),
  });
  const link = await MqttLink.start(manager, {
    url: broker.url,
    deviceId: id,
    username: id,
    password: broker.devices[id]!.password,
    log: Deno.env.get("FLEET_LOG")
      ? (level, message) => console.error(id, level, message)
      : () => {},
    // The default cap (10,000 events a second per device) would measure the cap, not the path.
    ...(events ? { events, maxEventRate: 1e9, eventQos: QOS } : {}),
  });
  return { manager, link };
}

async function until(check: () => boolean, within = 60_000): Promise<void> {
  const deadline = Date.now() + within;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---- the fleet, and what an idle device costs ------------------------------------------------

const before = Deno.memoryUsage();
const devices: SimDevice[] = [];
for (let i = 0; i < N; i++) {
  // The first two bridge events: one publishes, the other subscribes.
  devices.push(await simDevice(ids[i]!, i < 2 ? [`${EVENT_URL}`] : undefined));
}
await until(() => devices.every((d) => d.link.connected));
await new Promise((resolve) => setTimeout(resolve, 1000));
const after = Deno.memoryUsage();
const perDevice = {
  rss: (after.rss - before.rss) / N,
  heap: (after.heapUsed - before.heapUsed) / N,
};

const fleet = await FleetClient.connect({
  url: broker.url,
  username: broker.operator.username,
  password: broker.operator.password,
  timeout: 60_000,
});
await until(() => fleet.devices().filter((d) => d.online).length === N);

let round = 0;

/** Installs one app on every device at once; returns the wall time in ms. */
async function fanOut(): Promise<number> {
  const name = `app${round++}`;
  const start = performance.now();
  const results = await fleet.install("+", name, APP);
  const ms = performance.now() - start;
  assert.equal(results.filter((r) => r.outcome === "ok").length, N);
  await fleet.uninstall("+", name);
  return ms;
}

/** The same installs, one device after the other. */
async function sequential(): Promise<number> {
  const name = `app${round++}`;
  const start = performance.now();
  for (const id of ids) {
    const response = await fleet.request(id, installRequest(name, APP));
    assert.equal(response.status, 65);
  }
  const ms = performance.now() - start;
  await fleet.uninstall("+", name);
  return ms;
}

// ---- events, device to device, and two bare clients -------------------------------------------

const publisher = devices[0]!.manager.install("publisher", EVENT_APP);
const subscriber = devices[1]!.manager.install("subscriber", EVENT_APP);
const eventPacket = encodeRequest({
  action: 6,
  fmt: 0,
  mid: 1,
  sender: 0,
  url: EVENT_URL,
  payload: PAYLOAD,
});
publisher.instance.memory.write(4096, eventPacket);
const publish = publisher.instance.exports.send as (ptr: number, len: number) => void;
const received = (app: InstalledApp) => (app.instance.exports.events as WebAssembly.Global).value;

/**
 * Sends `count` events in bursts (a yield between bursts lets the sockets move), at most `lead`
 * ahead of the receiver, waits until no more arrive; returns events delivered per second and
 * how many were lost.
 */
async function burst(
  count: number,
  send: () => void,
  delivered: () => number,
  lead = Infinity,
): Promise<{ rate: number; lost: number }> {
  const first = delivered();
  const start = performance.now();
  for (let sent = 0; sent < count; sent += BURST) {
    for (let i = 0; i < BURST; i++) send();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // No progress for 500 ms: the rest was lost, wait no more.
    for (let at = performance.now(), was = delivered(); sent + BURST - (was - first) > lead;) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (delivered() !== was) [was, at] = [delivered(), performance.now()];
      else if (performance.now() - at > 500) break;
    }
  }
  let last = -1;
  let lastAt = performance.now();
  while (delivered() - first < count) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (delivered() !== last) {
      last = delivered();
      lastAt = performance.now();
    } else if (performance.now() - lastAt > 500) break;
  }
  const got = delivered() - first;
  return { rate: got / ((lastAt - start) / 1000), lost: count - got };
}

/** Each run of device events: rate and losses, for the summary at the end. */
const deviceRuns: { rate: number; lost: number }[] = [];
const deviceEvents = async () => {
  const run = await burst(
    20_000,
    () => publish(4096, eventPacket.length),
    () => received(subscriber),
    QOS === 1 ? 500 : Infinity,
  );
  deviceRuns.push(run);
  return run;
};

const raw: { pub: MqttClient; sub: MqttClient; count: number } = await (async () => {
  const options = {
    protocolVersion: 5 as const,
    username: broker.operator.username,
    password: broker.operator.password,
  };
  const pub = await connectAsync(broker.url, options);
  const sub = await connectAsync(broker.url, options);
  const state = { pub, sub, count: 0 };
  sub.on("message", () => state.count++);
  // Only the bare publisher's topic: the device runs are not also sent here.
  await sub.subscribeAsync(`mr/raw/ev/${EVENT_URL}`, { qos: 0 });
  return state;
})();
const rawPayload = Buffer.from(PAYLOAD);
const rawEvents = () =>
  burst(
    20_000,
    () =>
      raw.pub.publish(`mr/raw/ev/${EVENT_URL}`, rawPayload, {
        qos: 0,
        properties: { userProperties: { fmt: "0" } },
      }),
    () => raw.count,
  );

// ---- figures at load time --------------------------------------------------------------------

const fan = await fanOut();
const seq = await sequential();
const dev = await deviceEvents();
const bare = await rawEvents();
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
console.log(
  [
    `fleet of ${N} simulated devices (request_handler.wasm, ${APP.length} bytes):`,
    `  install fan-out to all: ${fan.toFixed(0)} ms (target < 5000 ms); one device at a time: ` +
    `${seq.toFixed(0)} ms (${(seq / fan).toFixed(1)}x slower)`,
    `  events device -> device through the broker: ${dev.rate.toFixed(0)}/s ` +
    `(target >= 10,000/s; ${dev.lost} of 20,000 lost at QoS ${QOS}, app queues of ${QUEUE}` +
    `${WORK > 0 ? `, ${WORK} iterations per event` : ""}); ` +
    `two bare MQTT.js clients: ${bare.rate.toFixed(0)}/s (${bare.lost} lost; device path ` +
    `${(dev.rate / bare.rate).toFixed(2)}x)`,
    `  an idle device: ${(perDevice.rss / 1024).toFixed(0)} KiB of RSS, ` +
    `${(perDevice.heap / 1024).toFixed(0)} KiB of JS heap (process: ${mib(after.rss)} MiB RSS)`,
  ].join("\n"),
);

Deno.bench({
  name: `fleet: install fan-out to ${N} devices`,
  group: "fleet install",
  n: 3,
  warmup: 0,
  async fn(b) {
    const name = `app${round++}`;
    b.start();
    const results = await fleet.install("+", name, APP);
    b.end();
    assert.equal(results.filter((r) => r.outcome === "ok").length, N);
    await fleet.uninstall("+", name);
  },
});

Deno.bench({
  name: `fleet: the same installs one device at a time`,
  group: "fleet install",
  baseline: true,
  n: 3,
  warmup: 0,
  async fn(b) {
    const name = `app${round++}`;
    b.start();
    for (const id of ids) await fleet.request(id, installRequest(name, APP));
    b.end();
    await fleet.uninstall("+", name);
  },
});

Deno.bench({
  name: "fleet: 20,000 events app → broker → app on another device",
  group: "fleet events",
  n: 3,
  warmup: 0,
  async fn() {
    await deviceEvents();
  },
});

Deno.bench({
  name: "fleet: 20,000 messages between two bare MQTT.js clients",
  group: "fleet events",
  baseline: true,
  n: 3,
  warmup: 0,
  async fn() {
    await rawEvents();
  },
});

// The last bench (deno bench runs benches outside groups first) closes everything, so the
// process can end.
let closed = false;
Deno.bench({
  name: "fleet: close",
  group: "fleet end",
  n: 1,
  warmup: 0,
  async fn() {
    if (closed) return;
    closed = true;
    console.log(
      `device -> device runs: ${deviceRuns.map((r) => r.rate.toFixed(0)).join(", ")} events/s; ` +
        `lost ${deviceRuns.map((r) => r.lost).join(", ")} of 20,000`,
    );
    await fleet.close();
    await raw.pub.endAsync(true);
    await raw.sub.endAsync(true);
    for (const device of devices) {
      await device.link.close();
      device.manager.close();
    }
    await broker.stop().catch(() => {});
  },
});
