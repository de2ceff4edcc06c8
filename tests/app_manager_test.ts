import assert from "node:assert/strict";
import { AppManagerError } from "../core/framework/app_manager.ts";
import { MAX_UNANSWERED } from "../core/framework/installed_app.ts";
import type { BuiltinHeap } from "../core/instance/app_heap.ts";
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  ID_HOST,
  type Request,
  type Response,
} from "../sdk/packet.ts";
import { AttrContainer, decode, encode } from "../sdk/attr_container.ts";
import { CLIENT, GROWER, harness, SERVER, SPIN_START, TIMER } from "./_apps.ts";
import { wat } from "./_wat.ts";
import { example, serve } from "./_serve.ts";

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

Deno.test("app manager: apps installed from the same bytes share one description, each with its name", () => {
  const h = harness();
  const a = h.manager.install("a", SERVER.slice());
  const b = h.manager.install("b", SERVER.slice());
  assert.deepEqual([a.module.name, b.module.name], ["a", "b"]);
  assert.deepEqual([a.instance.name, b.instance.name], ["a", "b"]);
  assert.equal(a.module.info, b.module.info, "one reading of the bytes");
  assert.deepEqual([a.state, b.state], ["running", "running"]);
  h.manager.uninstall("a");
  assert.equal(h.manager.install("c", SERVER).module.info, b.module.info);
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
    new AppManagerError("Install Applet failed: exceed max app installations.", { limit: true }),
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

Deno.test("app manager: '/app/<name>/<rest>' delivers <rest> to the named app", async () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const reply = h.manager.request({ url: "/app/server/url1/x", action: 3 });
  h.clock.advance(0);
  assert.equal((await reply).status, 69);
  assert.equal(decodeRequest(h.packets[0]!.bytes).url, "url1/x");
});

Deno.test("app manager: '/app/<name>/...' with a seed-era split ends the name at the last '/'", async () => {
  const h = harness({ appUrl: "seed" });
  h.manager.install("server", SERVER);
  const reply = h.manager.request({ url: "/app/server/x", action: 1 });
  h.clock.advance(0);
  assert.equal((await reply).status, 69);
  assert.equal(decodeRequest(h.packets[0]!.bytes).url, "x");
});

Deno.test("app manager: an unknown applet name replies 160 'Send request to applet failed: invalid applet name'", async () => {
  const h = harness();
  const res = await h.manager.request({ url: "/app/nosuch/url1" });
  assert.equal(res.status, 160);
  assert.equal(errorOf(res.payload), "Send request to applet failed: invalid applet name");
  assert.match(h.output(), /Send request to applet failed: invalid applet name\n/);
});

Deno.test("app manager: app-registered prefixes get the request with its full URL and sender ID_HOST", async () => {
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

Deno.test("app manager: an app cannot take a URL another app registered exactly", () => {
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

Deno.test("app manager: nextDrain resolves at once when nothing waits, else only after the next drain ran the queue", async () => {
  const h = harness();
  h.manager.install("server", SERVER);
  await h.manager.nextDrain(); // nothing queued: settled without a drain
  const reply = h.manager.request({ url: "/echo" });
  assert.equal(h.manager.queued, 1);
  let drained = false;
  const waiting = h.manager.nextDrain().then(() => drained = true);
  await Promise.resolve();
  assert.equal(drained, false, "settled before any drain ran");
  h.clock.advance(0);
  await waiting;
  assert.equal(h.manager.queued, 0);
  assert.equal((await reply).status, 69);
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

Deno.test("app manager: a payload is copied when sent: the app's later writes and sends do not change it", () => {
  const h = harness();
  h.manager.install("publisher", CLIENT);
  const subscriber = h.manager.install("subscriber", CLIENT);
  subscriber.instance.memory.write(8192, new TextEncoder().encode("bench/e\0"));
  subscriber.instance.call("subscribe", 8192);
  const hostEvents: Request[] = [];
  h.manager.subscribe("bench/e", (e) => hostEvents.push(e));
  // Enough payloads, small and large, to fill several of the chunks small copies share.
  const sizes = [1, 64, 255, 256, 257, 300, 8].flatMap((n) => Array(40).fill(n) as number[]);
  for (const [i, size] of sizes.entries()) {
    const payload = new Uint8Array(size).fill(i & 0xff);
    post(h, "publisher", { action: 6, fmt: 0, mid: i, url: "bench/e", payload });
    // Each post rewrites the same app memory: what was sent must not change with it.
    if (i % 40 === 39) h.manager.runPending();
  }
  h.manager.runPending();
  assert.equal(hostEvents.length, sizes.length);
  for (const [i, event] of hostEvents.entries()) {
    assert.equal(event.mid, i);
    assert.deepEqual(event.payload, new Uint8Array(sizes[i]!).fill(i & 0xff));
  }
  assert.equal(h.packets.length, sizes.length);
  for (const [i, packet] of h.packets.entries()) {
    assert.deepEqual(decodeRequest(packet.bytes).payload, new Uint8Array(sizes[i]!).fill(i & 0xff));
  }
});

Deno.test("app manager: messages between apps keep their payloads while the manager reuses its records: events to two apps, many queued at once, and responses", () => {
  const h = harness();
  h.manager.install("server", SERVER);
  h.manager.install("publisher", CLIENT);
  const subscribers = ["a", "b"].map((name) => h.manager.install(name, CLIENT));
  for (const app of subscribers) {
    app.instance.memory.write(8192, new TextEncoder().encode("bench/e\0"));
    app.instance.call("subscribe", 8192);
  }
  // Sizes around the records' 256-byte store, so stores and views are reused and replaced;
  // up to 50 events wait in each queue at once (DEFAULT_QUEUE_LENGTH), so many records are out.
  const sizes = [1, 64, 64, 256, 257, 8, 0].flatMap((n) => Array(30).fill(n) as number[]);
  const sent: Uint8Array[] = [];
  for (const [i, size] of sizes.entries()) {
    const payload = size === 0 ? undefined : new Uint8Array(size).fill(i & 0xff);
    sent.push(payload ?? new Uint8Array());
    post(h, "publisher", { action: 6, fmt: 0, mid: i, url: "bench/e", payload });
    if (i % 45 === 44) h.manager.runPending();
  }
  h.manager.runPending();
  for (const name of ["a", "b"]) {
    const got = h.packets.filter((p) => p.app === name).map((p) => decodeRequest(p.bytes));
    assert.deepEqual(got.map((r) => r.mid), sizes.map((_, i) => i), name);
    for (const [i, r] of got.entries()) {
      assert.deepEqual(r.payload ?? new Uint8Array(), sent[i], `${name}: event ${i}`);
    }
  }
  // The publisher asks the server, which answers with the request's payload.
  h.packets.length = 0;
  const asked = sent.slice(0, 120);
  for (const [i, payload] of asked.entries()) {
    post(h, "publisher", { action: 2, fmt: 0, mid: 1000 + i, url: "/echo", payload });
    if (i % 40 === 39) h.manager.runPending();
  }
  h.manager.runPending();
  const requests = h.packets.filter((p) => p.app === "server").map((p) => decodeRequest(p.bytes));
  const responses = h.packets.filter((p) => p.app === "publisher").map((p) =>
    decodeResponse(p.bytes)
  );
  assert.equal(requests.length, asked.length);
  assert.equal(responses.length, asked.length);
  for (const [i, payload] of asked.entries()) {
    assert.equal(requests[i]!.mid, 1000 + i);
    assert.deepEqual(requests[i]!.payload ?? new Uint8Array(), payload, `request ${i}`);
    assert.equal(responses[i]!.mid, 1000 + i);
    assert.deepEqual(responses[i]!.payload ?? new Uint8Array(), payload, `response ${i}`);
  }
});

Deno.test("app manager: events seen by a wrapper of the bus's publish keep their payloads (the MQTT link's tap)", () => {
  const h = harness();
  h.manager.install("publisher", CLIENT);
  const bus = h.manager.bus;
  const publish = bus.publish;
  const seen: Request[] = [];
  bus.publish = (event) => (seen.push(event), publish.call(bus, event));
  for (let i = 0; i < 100; i++) {
    const payload = new Uint8Array(8).fill(i);
    post(h, "publisher", { action: 6, fmt: 0, mid: i, url: "nobody/listens", payload });
  }
  h.manager.runPending();
  assert.equal(seen.length, 100);
  for (const [i, event] of seen.entries()) {
    assert.equal(event.mid, i);
    assert.deepEqual(event.payload, new Uint8Array(8).fill(i));
  }
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

// ---- limits: deadlines, suspension, resume, memory ---------------------------------------

/**
 * `work(n)` spins forever when n is 1 and probes n otherwise; on_init registers /spin and
 * subscribes to "alert"; `timer()` starts a periodic timer; on_destroy probes -1.
 */
const SPINNER = wat(`(module
  (import "env" "wasm_register_resource" (func $reg (param i32)))
  (import "env" "wasm_sub_event" (func $sub (param i32)))
  (import "env" "wasm_create_timer" (func $create (param i32 i32 i32) (result i32)))
  (import "env" "probe" (func $probe (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "/spin\\00")
  (data (i32.const 32) "alert\\00")
  (func (export "on_init") (call $reg (i32.const 16)) (call $sub (i32.const 32)))
  (func (export "work") (param $n i32)
    (if (i32.eq (local.get $n) (i32.const 1)) (then (loop $l (br $l))))
    (call $probe (local.get $n)))
  (func (export "timer") (drop (call $create (i32.const 1000) (i32.const 1) (i32.const 1))))
  (func (export "on_destroy") (call $probe (i32.const -1))))`);

/** on_init spins forever. */
const SPIN_INIT = wat(`(module
  (import "env" "probe" (func $probe (param i32)))
  (memory (export "memory") 1)
  (func (export "on_init") (loop $l (br $l)))
  (func (export "on_destroy") (call $probe (i32.const -1))))`);

const SPIN_DEADLINE = 20;

/** Runs queued messages until none is left (a drain stops after each overrun). */
function drain(h: ReturnType<typeof harness>): void {
  for (let i = 0; i < 100 && h.manager.queued > 0; i++) h.manager.runPending();
}

Deno.test("app manager: 3 callbacks in a row past the deadline suspend the app, without on_destroy", async () => {
  const h = harness({ deadlineMs: SPIN_DEADLINE });
  const suspended: string[] = [];
  h.manager.addEventListener("suspend", (e) => suspended.push(e.detail.app.reason ?? ""));
  const app = h.manager.install("spinner", SPINNER);
  app.instance.call("timer");
  assert.deepEqual([app.resources, app.subscriptions, app.timers.size], [["/spin"], ["alert"], 1]);
  for (const n of [1, 1, 1, 0]) app.post({ callback: "work", args: [n] });
  const queued = h.manager.request({ url: "/spin" });
  drain(h);
  const reason = "execution deadline exceeded 3 times in a row in work";
  assert.deepEqual([app.status, app.reason, suspended], ["suspended", reason, [reason]]);
  assert.equal(
    h.output().split("Got exception running wasm code: execution deadline exceeded\n").length - 1,
    3,
  );
  assert.match(h.output(), new RegExp(`WASM app 'spinner' suspended: ${reason}\n`));
  const res = await queued;
  assert.equal(res.status, 163);
  assert.equal(
    errorOf(res.payload),
    `Send request to app "spinner" failed: it is suspended (${reason})`,
  );
  assert.deepEqual(h.probes, [], "neither the dropped work(0) nor on_destroy ran");
  assert.deepEqual([app.resources, app.subscriptions, app.timers.size], [[], [], 0]);
  assert.throws(() => app.instance, /App "spinner" has no instance: it is suspended/);
  const later = await h.manager.request({ url: "/app/spinner/x" });
  assert.equal(
    errorOf(later.payload),
    `Send request to app "spinner" failed: it is suspended (${reason})`,
  );
  const before = h.output().length;
  assert.equal(h.manager.uninstall("spinner"), true);
  assert.equal(h.output().slice(before), "Uninstall WASM app successful!\n");
  assert.deepEqual(h.probes, []);
});

Deno.test("app manager: a callback within its deadline resets the overrun count", () => {
  const h = harness({ deadlineMs: SPIN_DEADLINE });
  const app = h.manager.install("spinner", SPINNER);
  for (const n of [1, 1, 0, 1, 1, 2]) app.post({ callback: "work", args: [n] });
  drain(h);
  assert.equal(app.status, "running");
  assert.deepEqual(h.probes, ["spinner:0", "spinner:2"]);
});

Deno.test("app manager: one overrun in on_init suspends the app: on_init cannot be retried", () => {
  const h = harness({ deadlineMs: SPIN_DEADLINE });
  const app = h.manager.install("init", SPIN_INIT);
  assert.deepEqual([app.status, app.reason], [
    "suspended",
    "execution deadline exceeded in on_init",
  ]);
  assert.deepEqual(h.probes, [], "no on_destroy into a runaway app");
  assert.match(
    h.output(),
    /WASM app 'init' started\nGot exception running WASM code: execution deadline exceeded\nWASM app 'init' suspended: execution deadline exceeded in on_init\n/,
  );
});

Deno.test("app manager: a start function past its deadline installs the app suspended", () => {
  const h = harness({ deadlineMs: SPIN_DEADLINE });
  const app = h.manager.install("start", SPIN_START);
  assert.deepEqual(
    [app.status, app.reason],
    ["suspended", "execution deadline exceeded in the start function"],
  );
  assert.deepEqual(h.manager.apps.map((a) => a.name), ["start"]);
  assert.deepEqual(h.probes, []);
  assert.match(h.output(), /Install WASM app success!\nWASM app 'start' suspended: /);
});

Deno.test("app manager: without a deadline the app is not instrumented for one", () => {
  const h = harness();
  const app = h.manager.install("grower", GROWER);
  assert.equal(app.deadlineMs, 0);
  assert.equal(app.instance.deadlineMs, 0);
  assert.throws(() => app.instance.deadlineMs = 5, RangeError);
});

Deno.test("app manager: resume instantiates a suspended app afresh and runs on_init", () => {
  const h = harness({ deadlineMs: SPIN_DEADLINE });
  const app = h.manager.install("spinner", SPINNER);
  for (let i = 0; i < 3; i++) app.post({ callback: "work", args: [1] });
  drain(h);
  assert.equal(app.status, "suspended");
  const resumed: string[] = [];
  h.manager.addEventListener("resume", (e) => resumed.push(e.detail.app.name));
  const before = h.output().length;
  assert.equal(h.manager.resume("spinner"), app);
  assert.deepEqual([app.status, app.reason, resumed], ["running", undefined, ["spinner"]]);
  assert.equal(h.output().slice(before), "Resume WASM app success!\nWASM app 'spinner' started\n");
  assert.deepEqual(app.resources, ["/spin"], "on_init ran in the new instance");
  app.post({ callback: "work", args: [5] });
  drain(h);
  assert.deepEqual(h.probes, ["spinner:5"]);
  assert.throws(
    () => h.manager.resume("spinner"),
    new AppManagerError("Resume WASM app failed: the app is running."),
  );
  assert.throws(
    () => h.manager.resume("nosuch"),
    new AppManagerError("Resume WASM app failed: no app found."),
  );
});

Deno.test("app manager: an install may come suspended: loaded, not instantiated, until resumed", () => {
  const h = harness();
  const app = h.manager.install("later", GROWER, { suspended: "was running on_init" });
  assert.deepEqual([app.status, app.reason], ["suspended", "was running on_init"]);
  assert.throws(() => app.instance, /no instance/);
  assert.deepEqual(h.probes, []);
  assert.match(h.output(), /WASM app 'later' suspended: was running on_init\n/);
  h.manager.resume("later");
  assert.deepEqual(h.probes, ["later:1"]);
});

Deno.test("app manager: an install whose memory cap would pass the budget is refused", () => {
  const MiB = 1024 * 1024;
  const h = harness({ maxMemory: 4 * MiB, maxTotalMemory: 10 * MiB });
  h.manager.install("a", GROWER);
  h.manager.install("b", GROWER);
  assert.throws(
    () => h.manager.install("c", GROWER),
    new AppManagerError(
      "Install WASM app failed: its memory cap of 4 MiB would bring the installed apps' caps " +
        "to 12 MiB, over the budget of 10 MiB",
      { limit: true },
    ),
  );
  assert.throws(
    () => h.manager.install("c", GROWER, { maxMemory: 0 }),
    new AppManagerError(
      "Install WASM app failed: it has no memory cap, and the apps' memory budget is 10 MiB",
      { limit: true },
    ),
  );
  assert.equal(h.manager.install("c", GROWER, { maxMemory: 2 * MiB }).maxMemory, 2 * MiB);
  h.manager.uninstall("a");
  assert.equal(h.manager.install("d", GROWER).status, "running", "uninstall gave its share back");
  assert.deepEqual(h.manager.apps.map((a) => a.name), ["d", "c", "b"]);
});

Deno.test("app manager: uninstall and suspension let go of the instance, so its memory is collected", async () => {
  // In a child with --expose-gc: a WeakRef to each app's memory must clear after gc().
  const script = `
    import { AppManager } from "${new URL("../core/framework/app_manager.ts", import.meta.url)}";
    import { Runtime } from "${new URL("../core/instance/runtime.ts", import.meta.url)}";
    import base from "${new URL("../natives/base/mod.ts", import.meta.url)}";
    const bytes = Uint8Array.from(${JSON.stringify(Array.from(SPINNER))});
    const runtime = await new Runtime({ plugins: [base] }).loadInstrumentation();
    const manager = new AppManager(runtime, {
      deadlineMs: 20,
      stdout: () => {},
    });
    const gone = manager.install("gone", bytes);
    const stuck = manager.install("stuck", bytes);
    const refs = [gone, stuck].map((app) => new WeakRef(app.instance.memory.memory));
    manager.uninstall("gone");
    for (let i = 0; i < 3; i++) stuck.post({ callback: "work", args: [1] });
    while (manager.queued > 0) manager.runPending();
    await new Promise((resolve) => setTimeout(resolve, 10));
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    globalThis.gc();
    console.log(stuck.status, refs.map((r) => r.deref() === undefined).join());
    manager.close();
    Deno.exit(0);
  `;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(out, "suspended true,true\n");
});

Deno.test({
  name:
    "app manager: with the real clock, looping C apps are stopped and a healthy app keeps answering",
  sanitizeResources: false,
  fn: async () => {
    const { default: libc } = await import("../natives/libc/mod.ts");
    const { default: base } = await import("../natives/base/mod.ts");
    const { Runtime } = await import("../core/instance/runtime.ts");
    const { AppManager } = await import("../core/framework/app_manager.ts");
    const example = (path: string) =>
      Deno.readFileSync(new URL(`../examples/${path}.wasm`, import.meta.url));
    let out = "";
    const manager = new AppManager(new Runtime({ plugins: [libc, base] }), {
      deadlineMs: 200,
      stdout: (b) => out += new TextDecoder().decode(b),
    });
    const healthy = () => manager.request({ url: "/url1", action: 1 });
    manager.install("request_handler", example("request_handler/request_handler"));
    for (const name of ["loop_init", "loop_start", "loop_timer", "loop_request"]) {
      const t0 = performance.now();
      manager.install(name, example(`limits/${name}`));
      const query = await manager.request({ url: "/applet", action: 1 });
      assert.equal(query.status, 69);
      assert.ok(performance.now() - t0 < 2000, `${name}: query within 2 s of the install`);
      assert.equal((await healthy()).status, 69, `${name}: request_handler answers`);
    }
    const ok = () => manager.request({ url: "/app/loop_request/ok" });
    const answer = await ok();
    assert.deepEqual([answer.status, new TextDecoder().decode(answer.payload)], [69, "ok"]);
    for (let i = 0; i < 3; i++) {
      assert.equal((await manager.request({ url: "/spin" })).status, 160);
      assert.equal((await healthy()).status, 69, "request_handler answers between spins");
    }
    assert.equal((await ok()).status, 163, "suspended after three /spin in a row");
    const deadline = Date.now() + 5000;
    while (manager.get("loop_timer")!.running && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      manager.apps.map((a) => `${a.name}: ${a.status}, ${a.reason}`),
      [
        "loop_request: suspended, execution deadline exceeded 3 times in a row in on_request",
        "loop_timer: suspended, execution deadline exceeded 3 times in a row in on_timer_callback",
        "loop_start: suspended, execution deadline exceeded in the start function",
        "loop_init: suspended, execution deadline exceeded in on_init",
        "request_handler: running, undefined",
      ],
    );
    assert.equal((await healthy()).status, 69);
    assert.match(out, /loop_init: spinning\n/);
    assert.doesNotMatch(out, /loop_start: on_init reached/);
    const t0 = performance.now();
    manager.close();
    assert.ok(performance.now() - t0 < 100, "close does not call into the suspended apps");
  },
});

// ---- responses are bound to the app a request was routed to ----------------------------------

/** Writes a response packet into an app's memory at 4096 and calls its `respond` export. */
function respond(h: ReturnType<typeof harness>, name: string, response: Response): unknown {
  const app = h.manager.get(name)!;
  const bytes = encodeResponse(response);
  app.instance.memory.write(4096, bytes);
  return app.instance.call("respond", 4096, bytes.length);
}

const forged = (mid: number, receiver: number): Response => ({
  status: 69,
  fmt: 0,
  mid,
  receiver,
  payload: new TextEncoder().encode("forged"),
});

Deno.test("app manager: a response from an app the host's request was not routed to is dropped, logged once", async () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const forger = h.manager.install("forger", CLIENT);
  const reply = h.manager.request({ url: "/echo", payload: new Uint8Array([7]) });
  // The request (mid 1) waits in server's queue; the forger guesses its mid and the next.
  assert.equal(respond(h, "forger", forged(1, ID_HOST)), 0);
  assert.equal(respond(h, "forger", forged(2, ID_HOST)), 0);
  h.clock.advance(0);
  const res = await reply;
  assert.deepEqual([res.status, res.payload], [69, new Uint8Array([7])], "the real answer");
  assert.equal(forger.droppedResponses, 2);
  const lines = h.output().split("\n").filter((l) => l.includes("dropped"));
  assert.deepEqual(lines, [
    'Response mid 1 from app "forger" dropped: it answers no request routed to the app ' +
    "(its later ones are dropped without a line)",
  ]);
});

Deno.test("app manager: an app cannot answer another app's request to a third", () => {
  const h = harness();
  h.manager.install("server", SERVER);
  const client = h.manager.install("client", CLIENT);
  const forger = h.manager.install("forger", CLIENT);
  post(h, "client", { action: 1, fmt: 0, mid: 77, url: "/echo", payload: new Uint8Array([1]) });
  assert.equal(respond(h, "forger", forged(77, client.id)), 0);
  h.manager.runPending();
  const answers = h.packets.filter((p) => p.app === "client").map((p) => decodeResponse(p.bytes));
  assert.deepEqual(answers.map((r) => [r.mid, r.status, r.payload]), [[
    77,
    69,
    new Uint8Array([1]),
  ]]);
  assert.equal(forger.droppedResponses, 1);
});

Deno.test("app manager: an app may answer a request routed to it later, from another call, once", async () => {
  const h = harness();
  const app = h.manager.install("later", CLIENT);
  app.instance.memory.write(64, new TextEncoder().encode("/later\0"));
  app.instance.call("register", 64);
  const reply = h.manager.request({ url: "/later" });
  h.clock.advance(0);
  const request = decodeRequest(h.packets[0]!.bytes);
  const answer = {
    status: 68,
    fmt: 0,
    mid: request.mid,
    receiver: request.sender,
    payload: undefined,
  };
  assert.equal(respond(h, "later", answer), 1);
  assert.equal((await reply).status, 68);
  assert.equal(respond(h, "later", answer), 0, "a second answer to the same request is dropped");
  assert.equal(app.droppedResponses, 1);
});

/** on_init posts a request to its own /storm; each /storm request posts two more. */
const STORM = wat(`(module
  (import "env" "wasm_register_resource" (func $reg (param i32)))
  (import "env" "wasm_post_request" (func $post (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "/storm\\00")
  (data (i32.const 64) "\\01\\02\\00\\00\\00\\00\\00\\01\\00\\00\\00\\00\\00\\07\\00\\00\\00\\00/storm\\00")
  (func (export "on_init") (call $reg (i32.const 16)) (call $post (i32.const 64) (i32.const 25)))
  (func (export "on_request") (param i32 i32)
    (call $post (i32.const 64) (i32.const 25))
    (call $post (i32.const 64) (i32.const 25))))`);

Deno.test("app manager: an app that floods its own queue gets one turn a pass like the others; its lines collapse", async () => {
  const h = harness();
  const storm = h.manager.install("storm", STORM);
  h.manager.install("server", SERVER);
  // Drains by hand only: a clock advance would run the never-ending drain.
  h.manager.runPending(400);
  assert.equal(storm.queued, 50, "its queue stays full");
  const reply = h.manager.request({ url: "/echo", payload: new Uint8Array([9]) });
  assert.equal(h.manager.runPending(2), 2, "one pass: storm, then server");
  assert.deepEqual((await reply).payload, new Uint8Array([9]));
  const full = 'Send request to app "storm" failed: its queue is full (50 messages)';
  const dropped = 'Response for app "storm" dropped: its queue is full (50 messages)';
  const count = (line: string) => h.output().split("\n").filter((l) => l === line).length;
  assert.deepEqual([count(full), count(dropped)], [10, 10], "ten of each, then counted");
  h.manager.uninstall("storm");
  h.clock.advance(1000);
  const repeats = [...h.output().matchAll(/^… repeated (\d+) times: (.*)$/gm)];
  const counted = new Map(repeats.map((m) => [m[2], Number(m[1])]));
  assert.ok(counted.get(full)! > 300, `${counted.get(full)} repeats counted`);
  assert.ok(counted.get(dropped)! > 300, `${counted.get(dropped)} repeats counted`);
  assert.ok(h.output().length < 10_000, `${h.output().length} bytes of output`);
});

// ---- the same, in a real `serve` process over loopback ----------------------------------------

Deno.test({
  name:
    "app manager (serve process): with forger running, 10 of 10 host requests get request_handler's answer",
  sanitizeResources: false,
  fn: async () => {
    const server = await serve();
    try {
      const client = await server.connect();
      assert.equal(
        (await client.install("request_handler", example("request_handler/request_handler")))
          .status,
        65,
      );
      assert.equal((await client.install("forger", example("limits/forger"))).status, 65);
      for (let i = 0; i < 10; i++) {
        const r = await client.request("/url1", "GET");
        assert.equal(r.status, 69, `request ${i}`);
        assert.equal(r.container?.get("key1")?.value, "value1", `request ${i}`);
      }
      assert.equal((await client.uninstall("forger")).status, 66);
      await server.waitFor(/Uninstall WASM app successful!\n/);
      const drops = server.out.match(/Response mid \d+ from app "forger" dropped: .*\n/g) ?? [];
      assert.equal(drops.length, 1, server.out.slice(-2000));
      assert.equal((await server.stop()).code, 0);
    } finally {
      await server.stop("SIGKILL");
    }
  },
});

Deno.test({
  name:
    "app manager (serve process): a storm app leaves the link and request_handler served, uninstalls at once, collapses its lines",
  sanitizeResources: false,
  fn: async () => {
    const server = await serve();
    try {
      const client = await server.connect();
      await client.install("request_handler", example("request_handler/request_handler"));
      const before = server.bytes;
      assert.equal((await client.install("storm", example("limits/storm"))).status, 65);
      const started = Date.now();
      const times: number[] = [];
      // At least 2 s, so the repeats of a line are counted and printed at least once.
      while (Date.now() - started < 2000 || times.length < 100) {
        const t0 = performance.now();
        const r = await client.request("/url1", "GET");
        times.push(performance.now() - t0);
        assert.equal(r.status, 69);
      }
      times.sort((a, b) => a - b);
      const p99 = times[Math.floor(times.length * 0.99)]!;
      // The target is p99 < 50 ms (bench/app_fairness_bench.ts); a loaded machine gets slack.
      assert.ok(p99 < 1000, `p99 ${p99.toFixed(1)} ms over ${times.length} round trips`);
      const storm = (await client.query("storm")).container!;
      assert.equal(storm.get("status"), undefined, "still running");
      const t0 = Date.now();
      assert.equal((await client.uninstall("storm")).status, 66);
      assert.ok(Date.now() - t0 < 5000, `uninstall took ${Date.now() - t0} ms`);
      await server.waitFor(
        /^… repeated \d+ times: Send request to app "storm" failed: its queue is full \(50 messages\)$/m,
      );
      const seconds = (Date.now() - started) / 1000;
      // Not counting the line request_handler prints for each request.
      const own = times.length * "[resp] ### user resource 1 handler called\n".length;
      const rate = (server.bytes - before - own) / seconds;
      // Before: 235–393 MB a minute; now about 10 lines and a count a second per line.
      assert.ok(rate < 20_000, `${Math.round(rate)} bytes of log a second`);
      assert.equal((await server.stop()).code, 0);
    } finally {
      await server.stop("SIGKILL");
    }
  },
});

Deno.test("app manager: past 1024 unanswered requests, the oldest may no longer be answered", () => {
  const h = harness();
  const app = h.manager.install("later", CLIENT);
  app.instance.memory.write(64, new TextEncoder().encode("/later\0"));
  app.instance.call("register", 64);
  for (let i = 0; i <= MAX_UNANSWERED; i++) {
    h.manager.request({ url: "/later" }).catch(() => {});
    h.manager.runPending();
  }
  const answer = (mid: number) => ({
    status: 69,
    fmt: 0,
    mid,
    receiver: ID_HOST,
    payload: undefined,
  });
  assert.equal(respond(h, "later", answer(1)), 0, "the oldest was let go");
  assert.equal(respond(h, "later", answer(2)), 1);
  assert.equal(respond(h, "later", answer(MAX_UNANSWERED + 1)), 1);
  h.manager.close();
});
