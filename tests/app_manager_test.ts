import assert from "node:assert/strict";
import { AppManagerError } from "../core/app_manager.ts";
import type { BuiltinHeap } from "../core/heap.ts";
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  ID_HOST,
  type Request,
} from "../core/packet.ts";
import { AttrContainer, decode, encode } from "../sdk/attr_container.ts";
import { CLIENT, harness, SERVER, TIMER } from "./_apps.ts";

const errorOf = (payload: Uint8Array | undefined) => decode(payload!).get("error message")?.value;

/** Writes a packet into an app's memory at 4096 and calls its `send` export. */
function post(
  h: ReturnType<typeof harness>,
  name: string,
  request: Omit<Request, "sender"> & { sender?: number },
) {
  const app = h.manager.get(name)!;
  const bytes = encodeRequest({ sender: 0, ...request });
  app.instance.memory.write(4096, bytes);
  app.instance.call("send", 4096, bytes.length);
}

Deno.test("app manager: install prints WAMR's lines and runs on_init", () => {
  const h = harness();
  const app = h.manager.install("server", SERVER);
  assert.equal(app.id, 1);
  assert.equal(app.heapSize, 8192);
  assert.equal(h.output(), "Install WASM app success!\nWASM app 'server' started\n");
  assert.deepEqual(app.resources, ["/shared", "/echo"]);
  assert.equal(h.manager.install("client", CLIENT).id, 2);
});

Deno.test("app manager: install errors carry WAMR's messages", () => {
  const h = harness({ maxApps: 2 });
  h.manager.install("a", CLIENT);
  assert.throws(
    () => h.manager.install("a", CLIENT),
    new AppManagerError("Install WASM app failed: app already installed."),
  );
  assert.throws(
    () => h.manager.install("", CLIENT),
    new AppManagerError("Install WASM app failed: invalid app name."),
  );
  assert.throws(
    () => h.manager.install("bad", new Uint8Array([1, 2, 3, 4])),
    (e) => e instanceof AppManagerError && e.message.startsWith("Install WASM app failed: "),
  );
  h.manager.install("b", CLIENT);
  assert.throws(
    () => h.manager.install("c", CLIENT),
    new AppManagerError("Install Applet failed: exceed max app installations."),
  );
  assert.match(h.output(), /Install WASM app failed: app already installed\.\n/);
});

Deno.test("app manager: uninstall calls on_destroy and prints WAMR's lines in order", () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const before = h.output().length;
  assert.equal(h.manager.uninstall("server"), true);
  assert.deepEqual(h.probes, ["server:-1"]);
  assert.equal(
    h.output().slice(before),
    "App instance main thread exit.\nUninstall WASM app successful!\n",
  );
  assert.equal(h.manager.uninstall("server"), false);
});

Deno.test("app manager: uninstall removes resources, subscriptions and timers", async () => {
  const h = harness();
  const server = h.manager.install("server", SERVER);
  const timer = h.manager.install("timer", TIMER);
  timer.instance.call("create", 100, 1, 1);
  server.subscribeEvent("alert/overheat");
  h.manager.uninstall("server");
  h.manager.uninstall("timer");
  assert.deepEqual(h.manager.bus.resources().map((r) => r.url), ["/event/", "/applet", "/app/"]);
  assert.deepEqual(h.manager.bus.subscribers("alert/overheat"), []);
  assert.equal(h.clock.pending, 0);
  const reply = h.manager.request({ url: "/echo" });
  const res = await reply;
  assert.equal(res.status, 132);
});

Deno.test("bus: '/app/<name>/<rest>' delivers <rest> to the named app", async () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const reply = h.manager.request({ url: "/app/server/url1/x", action: 3 });
  h.clock.advance(0);
  assert.equal((await reply).status, 69);
  assert.equal(decodeRequest(h.packets[0]!.bytes).url, "url1/x");
});

Deno.test("bus: '/app/<name>/...' with a seed-era split ends the name at the last '/'", async () => {
  const h = harness({ appUrl: "seed" });
  h.manager.install("server", SERVER);
  const reply = h.manager.request({ url: "/app/server/x", action: 1 });
  h.clock.advance(0);
  assert.equal((await reply).status, 69);
  assert.equal(decodeRequest(h.packets[0]!.bytes).url, "x");
});

Deno.test("bus: an unknown applet name replies 160 'Send request to applet failed: invalid applet name'", async () => {
  const h = harness();
  const res = await h.manager.request({ url: "/app/nosuch/url1" });
  assert.equal(res.status, 160);
  assert.equal(errorOf(res.payload), "Send request to applet failed: invalid applet name");
  assert.match(h.output(), /Send request to applet failed: invalid applet name\n/);
});

Deno.test("bus: app-registered prefixes get the request with its full URL and sender ID_HOST", async () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const reply = h.manager.request({
    url: "/echo/a?b=c",
    action: 2,
    fmt: 99,
    payload: new Uint8Array([5, 6]),
  });
  h.clock.advance(0);
  const res = await reply;
  assert.equal(res.status, 69);
  assert.equal(res.receiver, ID_HOST);
  assert.deepEqual(res.payload, new Uint8Array([5, 6]));
  const seen = decodeRequest(h.packets[0]!.bytes);
  assert.equal(seen.url, "/echo/a?b=c");
  assert.equal(seen.sender, ID_HOST);
  assert.equal(seen.action, 2);
  assert.equal(seen.fmt, 99);
});

Deno.test("bus: an app cannot take a URL another app registered exactly", () => {
  const h = harness();
  h.manager.install("server", SERVER);
  h.manager.install("server2", SERVER);
  assert.deepEqual(h.manager.get("server2")!.resources, []);
  assert.match(h.output(), /Register resource "\/echo" failed: it is already registered\n/);
});

Deno.test("app manager: app-to-app responses are correlated by mid and reach on_response", () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const client = h.manager.install("client", CLIENT);
  post(h, "client", {
    action: 1,
    fmt: 0,
    mid: 77,
    url: "/app/server/ping",
    payload: new Uint8Array([1, 2, 3]),
  });
  h.manager.runPending();
  const seen = decodeRequest(h.packets[0]!.bytes);
  assert.equal(seen.sender, client.id, "the sender is overwritten with the caller's id");
  const res = decodeResponse(h.packets[1]!.bytes);
  assert.equal(h.packets[1]!.app, "client");
  assert.equal(res.mid, 77);
  assert.equal(res.status, 69);
  assert.equal(res.receiver, client.id);
  assert.deepEqual(res.payload, new Uint8Array([1, 2, 3]));
});

Deno.test("app manager: a request from an app with no route gets NOT_FOUND_4_04 in on_response", () => {
  const h = harness();
  h.manager.install("client", CLIENT);
  post(h, "client", { action: 1, fmt: 0, mid: 5, url: "/nowhere", payload: undefined });
  h.manager.runPending();
  const res = decodeResponse(h.packets[0]!.bytes);
  assert.equal(res.status, 132);
  assert.equal(res.mid, 5);
  assert.equal(errorOf(res.payload), 'Send request failed: no resource matches url "/nowhere"');
});

Deno.test("app manager: the host's request times out through the clock", async () => {
  const h = harness();
  const client = h.manager.install("client", CLIENT);
  client.instance.memory.write(8192, new TextEncoder().encode("/silent\0"));
  client.instance.call("register", 8192);
  const reply = h.manager.request({ url: "/silent" }, { timeout: 1500 });
  h.clock.advance(1499);
  let settled = false;
  reply.then(() => settled = true, () => settled = true);
  await Promise.resolve();
  assert.equal(settled, false);
  h.clock.advance(1);
  await assert.rejects(reply, (e) => e instanceof DOMException && e.name === "TimeoutError");
});

Deno.test("app manager: a trapping callback leaves other apps and the same app serving", async () => {
  const h = harness();
  const traps: string[] = [];
  h.manager.addEventListener(
    "trap",
    (e) => traps.push(`${e.detail.app.name}:${e.detail.error.message}`),
  );
  h.manager.install("server", SERVER);
  h.manager.install("timer", TIMER);
  const bad = h.manager.request({ url: "/echo", action: 4 });
  h.clock.advance(0);
  const res = await bad;
  assert.equal(res.status, 160);
  assert.equal(errorOf(res.payload), 'App "server" failed handling the request: it trapped');
  assert.deepEqual(traps, ["server:unreachable"]);
  assert.match(h.output(), /Got exception running wasm code: unreachable\n/);
  const good = h.manager.request({ url: "/echo", action: 1 });
  h.clock.advance(0);
  assert.equal((await good).status, 69);
  h.manager.get("timer")!.instance.call("create", 10, 0, 1);
  h.clock.advance(10);
  assert.deepEqual(h.probes, ["timer:1@10"]);
});

Deno.test("app manager: a full queue replies SERVICE_UNAVAILABLE_5_03 and logs why", async () => {
  const h = harness({ queueLength: 2 });
  h.manager.install("server", SERVER);
  const replies = [1, 2, 3].map(() => h.manager.request({ url: "/echo" }));
  const third = await replies[2]!;
  assert.equal(third.status, 163);
  assert.equal(
    errorOf(third.payload),
    'Send request to app "server" failed: its queue is full (2 messages)',
  );
  assert.match(h.output(), /its queue is full \(2 messages\)\n/);
  h.clock.advance(0);
  assert.deepEqual((await Promise.all(replies.slice(0, 2))).map((r) => r.status), [69, 69]);
});

Deno.test("app manager: packets are copied into the app heap and freed after the callback", async () => {
  const h = harness();
  const server = h.manager.install("server", SERVER);
  const heap = server.instance.heap as BuiltinHeap;
  const before = heap.used;
  const reply = h.manager.request({ url: "/echo", payload: new Uint8Array(1000).fill(7) });
  h.clock.advance(0);
  assert.equal((await reply).payload?.length, 1000);
  assert.equal(heap.used, before);
  const trapped = h.manager.request({ url: "/echo", action: 4 });
  h.clock.advance(0);
  await trapped;
  assert.equal(heap.used, before, "freed after a trap too");
});

Deno.test("app manager: a packet larger than the app heap gets REQUEST_ENTITY_TOO_LARGE_4_13", async () => {
  const h = harness();
  h.manager.install("server", SERVER, { heapSize: 512 });
  const reply = h.manager.request({ url: "/echo", payload: new Uint8Array(1000) });
  h.clock.advance(0);
  const res = await reply;
  assert.equal(res.status, 141);
  assert.equal(
    errorOf(res.payload),
    'Send request to app "server" failed: its heap cannot hold the 1024-byte packet',
  );
});

Deno.test("app manager: events reach app and host subscribers by exact URL", () => {
  const h = harness();
  const publisher = h.manager.install("publisher", CLIENT);
  const subscriber = h.manager.install("subscriber", CLIENT);
  subscriber.instance.memory.write(8192, new TextEncoder().encode("alert/overheat\0"));
  subscriber.instance.call("subscribe", 8192);
  const hostEvents: Request[] = [];
  const stop = h.manager.subscribe("alert/overheat", (e) => hostEvents.push(e));
  const payload = encode(new AttrContainer("event").setString("warning", "hot"));
  post(h, "publisher", { action: 6, fmt: 99, mid: 1, url: "alert/overheat", payload });
  post(h, "publisher", { action: 6, fmt: 99, mid: 2, url: "alert/other", payload });
  h.manager.runPending();
  assert.equal(h.packets.length, 1);
  const seen = decodeRequest(h.packets[0]!.bytes);
  assert.equal(h.packets[0]!.app, "subscriber");
  assert.equal(seen.action, 6);
  assert.equal(seen.sender, publisher.id);
  assert.equal(decode(seen.payload!).get("warning")?.value, "hot");
  assert.equal(hostEvents.length, 1);
  assert.equal(hostEvents[0]!.url, "alert/overheat");
  stop();
  assert.deepEqual(h.manager.bus.subscribers("alert/overheat"), [subscriber.id]);
});

Deno.test("app manager: '/event/<url>' PUT and DELETE subscribe the host and reply 69", async () => {
  const events: string[] = [];
  const h = harness({ onHostMessage: (m) => m.kind === "event" && events.push(m.request.url) });
  h.manager.install("publisher", CLIENT);
  const put = h.manager.request({ url: "/event/alert/overheat", action: 3 });
  h.clock.advance(0);
  assert.equal((await put).status, 69);
  assert.deepEqual(h.manager.bus.subscribers("alert/overheat"), [ID_HOST]);
  post(h, "publisher", { action: 6, fmt: 0, mid: 1, url: "alert/overheat", payload: undefined });
  h.manager.runPending();
  assert.deepEqual(events, ["alert/overheat"]);
  const bad = h.manager.request({ url: "/event/alert/overheat", action: 1 });
  h.clock.advance(0);
  const res = await bad;
  assert.equal(res.status, 160);
  assert.equal(errorOf(res.payload), "Handle event request failed.");
  const del = h.manager.request({ url: "/event/alert/overheat", action: 4 });
  h.clock.advance(0);
  assert.equal((await del).status, 69);
  assert.deepEqual(h.manager.bus.subscribers("alert/overheat"), []);
});

Deno.test("app manager: '/applet' PUT installs, GET lists newest first, DELETE uninstalls", async () => {
  const h = harness();
  const ask = async (url: string, action: number, payload?: Uint8Array) => {
    const reply = h.manager.request({ url, action, ...(payload ? { payload } : {}) });
    h.clock.advance(0);
    return await reply;
  };
  assert.equal((await ask("/applet?name=first&heap=16384", 3, CLIENT)).status, 65);
  assert.equal((await ask("/applet?name=second", 3, SERVER)).status, 65);
  assert.deepEqual(h.manager.get("second")!.resources, ["/shared", "/echo"], "on_init ran");
  assert.deepEqual(h.probes, []);
  const all = await ask("/applet", 1);
  assert.equal(all.status, 69);
  assert.equal(all.fmt, 99);
  const info = decode(all.payload!);
  assert.equal(info.tag, "Applets Info");
  assert.deepEqual(
    info.entries().map(([k, v]) => `${k}=${v.value}`),
    ["num=2", "applet1=second", "heap1=8192", "applet2=first", "heap2=16384"],
  );
  const one = decode((await ask("/applet?name=first", 1)).payload!);
  assert.deepEqual(one.entries().map(([k, v]) => `${k}=${v.value}`), ["name=first", "heap=16384"]);
  const missing = await ask("/applet?name=nosuch", 1);
  assert.equal(errorOf(missing.payload), "Query Applet failed: the app is not found.");
  assert.equal((await ask("/applet?name=second", 4)).status, 66);
  assert.deepEqual(h.probes, ["second:-1"]);
  const gone = await ask("/applet?name=second", 4);
  assert.equal(errorOf(gone.payload), "Uninstall WASM app failed: no app found.");
  assert.equal(
    errorOf((await ask("/applet", 4)).payload),
    "Uninstall WASM app failed: invalid app name.",
  );
});

Deno.test("app manager: '/applet' errors use WAMR's wording", async () => {
  const h = harness({ maxApps: 2 });
  h.manager.install("first", CLIENT);
  const ask = async (url: string, action: number, payload?: Uint8Array) => {
    const reply = h.manager.request({ url, action, ...(payload ? { payload } : {}) });
    h.clock.advance(0);
    const res = await reply;
    assert.equal(res.status, 160);
    return errorOf(res.payload);
  };
  assert.equal(await ask("/applet?name=x", 3), "Install Applet failed: invalid payload.");
  assert.equal(await ask("/applet?name=", 3, CLIENT), "Install WASM app failed: invalid app name.");
  assert.equal(await ask("/applet?type=java", 1), "Applet Management failed: invalid module type.");
  assert.equal(await ask("/applet", 2), "Invalid request of applet: invalid action");
  assert.equal(
    await ask("/applet?name=first", 3, CLIENT),
    "Install WASM app failed: app already installed.",
  );
  h.manager.install("only", CLIENT);
  assert.equal(
    await ask("/applet?name=y", 3, CLIENT),
    "Install Applet failed: exceed max app installations.",
  );
});

Deno.test("app manager: the empty query is WAMR's 121-byte 'Applets Info' container", async () => {
  const h = harness();
  const reply = h.manager.request({ url: "/applet", action: 1 });
  h.clock.advance(0);
  const res = await reply;
  assert.equal(res.payload?.length, 121);
  assert.equal(res.payload![2], 119);
});

Deno.test("app manager: on_init that traps runs on_destroy and stops the app", async () => {
  const h = harness();
  const { wat } = await import("./_wat.ts");
  const bytes = wat(`(module
    (import "env" "probe" (func $probe (param i32)))
    (memory (export "memory") 1)
    (func (export "_on_init") unreachable)
    (func (export "on_destroy") (call $probe (i32.const 9))))`);
  const app = h.manager.install("crash", bytes);
  assert.equal(app.running, false);
  assert.deepEqual(h.probes, ["crash:9"]);
  assert.match(
    h.output(),
    /WASM app 'crash' started\nGot exception running WASM code: unreachable\n/,
  );
  h.manager.uninstall("crash");
  assert.deepEqual(h.probes, ["crash:9"], "on_destroy does not run twice");
});

Deno.test("app manager: plugins post messages that call an export with a heap copy", () => {
  const h = harness();
  const app = h.manager.install("client", CLIENT);
  assert.equal(app.post({ callback: "on_request", payload: new Uint8Array([9, 8, 7]) }), true);
  assert.equal(h.manager.queued, 1);
  h.clock.advance(0);
  assert.deepEqual(h.packets[0]!.bytes, new Uint8Array([9, 8, 7]));
});

Deno.test("app manager: close uninstalls every app newest first", () => {
  const h = harness();
  const order: string[] = [];
  h.manager.addEventListener("uninstall", (e) => order.push(e.detail.app.name));
  h.manager.install("a", SERVER);
  h.manager.install("b", CLIENT);
  h.manager.close();
  assert.deepEqual(order, ["b", "a"]);
  assert.deepEqual(h.manager.apps, []);
});
