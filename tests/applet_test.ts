// The /applet management protocol (core/framework/applet.ts), driven through an app manager.
import assert from "node:assert/strict";
import { decode } from "../sdk/attr_container.ts";
import { CLIENT, GROWER, harness, SERVER, SPIN_START } from "./_apps.ts";
import { wat } from "./_wat.ts";

const SPIN_DEADLINE = 20;

const errorOf = (payload: Uint8Array | undefined) => decode(payload!).get("error message")?.value;

function entries(payload: Uint8Array | undefined): string[] {
  return decode(payload!).entries().map(([k, v]) => `${k}=${v.value}`);
}

Deno.test("applet: '/applet' PUT installs, GET lists newest first, DELETE uninstalls", async () => {
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

Deno.test("applet: '/applet' errors use WAMR's wording", async () => {
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

Deno.test("applet: a file that is not wasm gets WAMR's replies before anything is loaded", async () => {
  const h = harness();
  const ask = async (payload: Uint8Array) => {
    const reply = h.manager.request({ url: "/applet?name=junk", action: 3, payload });
    h.clock.advance(0);
    const res = await reply;
    assert.equal(res.status, 160);
    return errorOf(res.payload);
  };
  const invalid = "Install WASM app failed: invalid file format.";
  assert.equal(await ask(new TextEncoder().encode("#!/bin/sh\necho not wasm\n")), invalid);
  assert.equal(await ask(new Uint8Array([0, 0x61, 0x73])), invalid, "shorter than the magic");
  assert.equal(
    await ask(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])),
    "Install WASM app failed: invalid WASM version.",
  );
  assert.equal(h.manager.apps.length, 0);
  assert.match(
    String(await ask(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]))),
    /^Install WASM app failed: (?!invalid file format)/,
    "a bad module past the header still gets the loader's reason",
  );
});

Deno.test("applet: the empty query is WAMR's 121-byte 'Applets Info' container", async () => {
  const h = harness();
  const reply = h.manager.request({ url: "/applet", action: 1 });
  h.clock.advance(0);
  const res = await reply;
  assert.equal(res.payload?.length, 121);
  assert.equal(res.payload![2], 119);
});

Deno.test("applet: '/applet' POST action=resume restarts an app; the query shows who is not running", async () => {
  const h = harness({ deadlineMs: SPIN_DEADLINE });
  const ask = async (url: string, action: number, payload?: Uint8Array) => {
    const reply = h.manager.request({ url, action, ...(payload ? { payload } : {}) });
    for (let i = 0; i < 10; i++) h.clock.advance(0);
    return await reply;
  };
  const crash = wat(`(module (memory (export "memory") 1) (func (export "on_init") unreachable))`);
  assert.equal((await ask("/applet?name=crash", 3, crash)).status, 65);
  assert.equal((await ask("/applet?name=start", 3, SPIN_START)).status, 65);
  assert.equal((await ask("/applet?name=fine", 3, GROWER)).status, 65);
  assert.deepEqual(entries((await ask("/applet", 1)).payload), [
    "num=3",
    "applet1=fine",
    "heap1=8192",
    "applet2=start",
    "heap2=8192",
    "status2=suspended",
    "reason2=execution deadline exceeded in the start function",
    "applet3=crash",
    "heap3=8192",
    "status3=stopped",
    "reason3=on_init trapped: unreachable",
  ]);
  assert.deepEqual(entries((await ask("/applet?name=crash", 1)).payload), [
    "name=crash",
    "heap=8192",
    "status=stopped",
    "reason=on_init trapped: unreachable",
  ]);
  const again = await ask("/applet?name=start&action=resume", 2);
  assert.deepEqual([again.status, errorOf(again.payload)], [
    160,
    "Resume WASM app failed: execution deadline exceeded in the start function",
  ]);
  assert.equal(
    errorOf((await ask("/applet?name=fine&action=resume", 2)).payload),
    "Resume WASM app failed: the app is running.",
  );
  assert.equal(
    errorOf((await ask("/applet?name=nosuch&action=resume", 2)).payload),
    "Resume WASM app failed: no app found.",
  );
  assert.equal(
    errorOf((await ask("/applet?action=resume", 2)).payload),
    "Resume WASM app failed: invalid app name.",
  );
  assert.equal(
    errorOf((await ask("/applet?name=fine&action=jump", 2)).payload),
    "Invalid request of applet: invalid action",
  );
  // A stopped app resumes too (and here traps in on_init again).
  assert.equal((await ask("/applet?name=crash&action=resume", 2)).status, 68);
  assert.equal(h.manager.get("crash")!.status, "stopped");
  h.manager.close();
});

Deno.test("applet: '/applet' deadline and memory options set the app's limits", async () => {
  const h = harness({ deadlineMs: 1000, maxMemory: 16 * 65536 });
  const ask = async (url: string) => {
    const reply = h.manager.request({ url, action: 3, payload: GROWER });
    h.clock.advance(0);
    return await reply;
  };
  assert.equal((await ask("/applet?name=a")).status, 65);
  assert.equal((await ask("/applet?name=b&deadline=0&memory=262144")).status, 65);
  const a = h.manager.get("a")!;
  const b = h.manager.get("b")!;
  assert.deepEqual([a.deadlineMs, a.maxMemory], [1000, 16 * 65536]);
  assert.deepEqual([b.deadlineMs, b.maxMemory], [0, 262144]);
  assert.equal(b.instance.memoryLimit, 262144);
  // One page of its own and one of app heap: two more fit under four pages, a third does not.
  assert.equal(b.instance.call("grow", 2), 2);
  assert.equal(b.instance.call("grow", 1), -1);
  assert.equal(b.status, "running");
});
