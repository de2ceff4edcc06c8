// App framework throughput, in-process: app-to-app request/response round trips and event
// deliveries through the bus, the queues and the app heaps (two real wasm apps each).
import { AppManager } from "../core/framework/app_manager.ts";
import { ManualClock } from "../sdk/clock.ts";
import { encodeRequest } from "../sdk/packet.ts";
import { Runtime } from "../core/instance/runtime.ts";
import base from "../natives/base/mod.ts";
import { WAT_CLIENT as CLIENT, WAT_SERVER as SERVER } from "./_framework_apps.ts";

function setup() {
  const runtime = new Runtime({ plugins: [base], stdout: () => {} });
  const manager = new AppManager(runtime, { clock: new ManualClock(), schedule: () => {} });
  manager.install("server", SERVER);
  const client = manager.install("client", CLIENT);
  const subscriber = manager.install("subscriber", CLIENT);
  const payload = new Uint8Array(64).fill(1);
  const request = encodeRequest({ action: 1, fmt: 0, mid: 1, sender: 0, url: "/echo", payload });
  const targeted = encodeRequest({
    action: 1,
    fmt: 0,
    mid: 1,
    sender: 0,
    url: "/app/server/x",
    payload,
  });
  const event = encodeRequest({
    action: 6,
    fmt: 99,
    mid: 1,
    sender: 0,
    url: "bench/event",
    payload,
  });
  const at = { request: 4096, targeted: 8192, event: 12288 };
  client.instance.memory.write(at.request, request);
  client.instance.memory.write(at.targeted, targeted);
  client.instance.memory.write(at.event, event);
  const send = client.instance.exports.send as (ptr: number, len: number) => void;
  return { manager, send, subscriber, request, targeted, event, at };
}

const rr = setup();
Deno.bench("framework: app-to-app request/response round trip (resource URL)", () => {
  rr.send(rr.at.request, rr.request.length);
  rr.manager.runPending();
});

Deno.bench("framework: app-to-app round trip via /app/<name>/<rest>", () => {
  rr.send(rr.at.targeted, rr.targeted.length);
  rr.manager.runPending();
});

Deno.bench("framework: 40 pipelined round trips per drain", () => {
  for (let i = 0; i < 40; i++) rr.send(rr.at.request, rr.request.length);
  rr.manager.runPending();
});

const ev = setup();
Deno.bench("framework: event delivered to two app subscribers", () => {
  ev.send(ev.at.event, ev.event.length);
  ev.manager.runPending();
});

Deno.bench("framework: 20 events per drain, 40 deliveries", () => {
  for (let i = 0; i < 20; i++) ev.send(ev.at.event, ev.event.length);
  ev.manager.runPending();
});
