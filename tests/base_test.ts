import assert from "node:assert/strict";
import { Runtime } from "../core/instance/runtime.ts";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "../sdk/packet.ts";
import base from "../natives/base/mod.ts";
import { CLIENT, harness, TIMER } from "./_apps.ts";

Deno.test("base: wasm_create_timer counts ids from 1 and returns 0xFFFFFFFF past the limit", () => {
  const h = harness();
  const app = h.manager.install("timer", TIMER, { timers: 2 });
  assert.equal(app.instance.call("create", 100, 0, 0), 1);
  assert.equal(app.instance.call("create", 100, 0, 0), 2);
  assert.equal(app.instance.call("create", 100, 0, 0), -1);
  app.instance.call("destroy", 1);
  assert.equal(app.instance.call("create", 100, 0, 0), 3);
});

Deno.test("base: install caps timers at 30", () => {
  const h = harness();
  const app = h.manager.install("timer", TIMER, { timers: 99 });
  const ids = Array.from({ length: 31 }, () => app.instance.call("create", 100, 0, 0));
  assert.equal(ids[29], 30);
  assert.equal(ids[30], -1);
});

Deno.test("base: a periodic timer calls on_timer_callback(id) each period", () => {
  const h = harness();
  const app = h.manager.install("timer", TIMER);
  const id = app.instance.call("create", 1000, 1, 0);
  app.instance.call("restart", id, 0);
  h.clock.advance(500);
  assert.deepEqual(h.probes, [], "restart(0) keeps the interval of 1000");
  h.clock.advance(3000);
  assert.deepEqual(h.probes, ["timer:1@1000", "timer:1@2000", "timer:1@3000"]);
});

Deno.test("base: one-shot, cancel, restart and both destroy spellings", () => {
  const h = harness();
  const app = h.manager.install("timer", TIMER);
  const once = app.instance.call("create", 100, 0, 1);
  const cancelled = app.instance.call("create", 50, 1, 1);
  const destroyed = app.instance.call("create", 70, 1, 1);
  const destoryed = app.instance.call("create", 80, 1, 1);
  app.instance.call("cancel", cancelled);
  app.instance.call("destroy", destroyed);
  app.instance.call("destory", destoryed);
  h.clock.advance(1000);
  assert.deepEqual(h.probes, [`timer:${once}@100`]);
  app.instance.call("restart", once, 250);
  h.clock.advance(1000);
  assert.deepEqual(h.probes, [`timer:${once}@100`, `timer:${once}@1250`]);
  assert.equal(app.timers.size, 2);
});

Deno.test("base: a trapping timer callback leaves the timer running", () => {
  const h = harness();
  const app = h.manager.install("timer", TIMER);
  for (let i = 1; i < 13; i++) app.instance.call("destroy", app.instance.call("create", 1, 0, 0));
  assert.equal(app.instance.call("create", 100, 1, 1), 13);
  h.clock.advance(200);
  assert.deepEqual(h.probes, ["timer:13@100", "timer:13@200"]);
  assert.equal(
    h.output().match(/Got exception running wasm code: unreachable\n/g)?.length,
    2,
  );
});

Deno.test("base: wasm_get_sys_tick_ms follows the clock and wraps at 2^32", () => {
  const h = harness();
  const app = h.manager.install("timer", TIMER);
  h.clock.advance(5000);
  assert.equal(app.instance.call("tick"), 5000);
  h.clock.advance(2 ** 32 - 5000 + 7);
  assert.equal(app.instance.call("tick"), 7);
});

Deno.test("base: a malformed packet is logged and ignored, never a crash", () => {
  const h = harness();
  const app = h.manager.install("client", CLIENT);
  const packet = encodeRequest({
    action: 1,
    fmt: 0,
    mid: 1,
    sender: 0,
    url: "/x",
    payload: undefined,
  });
  packet[0] = 2;
  app.instance.memory.write(4096, packet);
  app.instance.call("send", 4096, packet.length);
  app.instance.memory.write(4096, new Uint8Array([1, 69, 0]));
  assert.equal(app.instance.call("respond", 4096, 3), 0);
  h.manager.runPending();
  assert.match(
    h.output(),
    /wasm_post_request: ignored a malformed packet from app "client": Request packet: version 2 is not 1\n/,
  );
  assert.match(h.output(), /wasm_response_send: ignored a malformed packet from app "client": /);
  assert.equal(app.running, true);
});

Deno.test("base: wasm_response_send routes to the receiver app and returns 1", () => {
  const h = harness();
  const a = h.manager.install("a", CLIENT);
  const b = h.manager.install("b", CLIENT);
  a.instance.memory.write(64, new TextEncoder().encode("/x\0"));
  a.instance.call("register", 64);
  // b asks a; the response must answer that request (forged ones are dropped).
  const req = encodeRequest({
    action: 1,
    fmt: 0,
    mid: 3,
    sender: 0,
    url: "/x",
    payload: undefined,
  });
  b.instance.memory.write(4096, req);
  b.instance.call("send", 4096, req.length);
  h.manager.runPending();
  const routed = decodeRequest(h.packets[0]!.bytes);
  assert.equal(h.packets[0]!.app, "a");
  const res = encodeResponse({
    status: 68,
    fmt: 0,
    mid: routed.mid,
    receiver: routed.sender,
    payload: undefined,
  });
  a.instance.memory.write(4096, res);
  assert.equal(a.instance.call("respond", 4096, res.length), 1);
  h.manager.runPending();
  assert.equal(h.packets[1]!.app, "b");
  assert.equal(decodeResponse(h.packets[1]!.bytes).status, 68);
});

Deno.test("base: outside an app manager they fail with one warning", () => {
  const warnings: string[] = [];
  const probe = harness().runtime.registry.resolve("env", "probe2")!.library;
  const runtime = new Runtime({
    plugins: [base, probe],
    stdout: () => {},
    warn: (m) => warnings.push(m),
  });
  const app = runtime.instantiateSync(runtime.loadSync(TIMER));
  assert.equal(app.call("create", 10, 1, 1), -1);
  assert.equal(app.call("create", 10, 1, 1), -1);
  assert.equal(typeof app.call("tick"), "number");
  assert.deepEqual(warnings, [
    'warning: wasm_create_timer: app "module" is not running under an app manager',
  ]);
  app.free();
});
