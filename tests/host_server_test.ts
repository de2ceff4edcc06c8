import assert from "node:assert/strict";
import { HostService, type HostServiceOptions } from "../core/cli/serve_command.ts";
import { HostServer } from "../core/host_link/host_server.ts";
import { AuthKind, decodeAuth, RefuseReason } from "../sdk/host_auth.ts";
import { selfSignedCertificate } from "./_tls.ts";
import { ManualClock } from "../sdk/clock.ts";
import { encodeFrame, FrameParser, HostMessageType } from "../sdk/host_link.ts";
import {
  Action,
  decodeResponse,
  encodeRequest,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  type Response,
  Status,
} from "../sdk/packet.ts";
import { HostAuthError, HostClient, type HostEvent } from "../sdk/host_client.ts";
import { decode } from "../sdk/attr_container.ts";
import { MANIFEST_FILE, RUNNING_FILE } from "../core/host_link/app_store.ts";
import { wat } from "./_wat.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
const example = (name: string, file = name) =>
  Deno.readFileSync(new URL(`${name}/${file}.wasm`, EXAMPLES));

const REQUEST_HANDLER = example("request_handler");
const EVENT_PUBLISHER = example("event_publisher");

/** An app that prints from on_init and on_destroy, nothing else. */
const QUIET = wat(`(module
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bye from on_destroy\\00")
  (data (i32.const 64) "hello from on_init\\00")
  (func (export "on_init") (drop (call $puts (i32.const 64))))
  (func (export "on_destroy") (drop (call $puts (i32.const 16)))))`);

interface Harness {
  service: HostService;
  port: number;
  output: () => string;
  errors: string[];
  warnings: string[];
  clock: ManualClock;
  client(options?: { token?: string; timeout?: number }): Promise<HostClient>;
  close(): Promise<void>;
}

async function start(
  options: Pick<
    HostServiceOptions,
    | "stateDir"
    | "maxPayload"
    | "maxApps"
    | "deadlineMs"
    | "maxMemory"
    | "maxTotalMemory"
    | "maxConnections"
    | "idleTimeout"
    | "token"
    | "tls"
  > = {},
): Promise<Harness> {
  let out = "";
  const errors: string[] = [];
  const warnings: string[] = [];
  const clock = new ManualClock();
  const service = await HostService.start({
    port: 0,
    stdout: (b) => out += new TextDecoder().decode(b),
    log: (level, message) => {
      if (level === "error") errors.push(message);
      if (level === "warn") warnings.push(message);
    },
    clock,
    ...options,
  });
  const port = service.addr!.port;
  const clients: HostClient[] = [];
  return {
    service,
    port,
    output: () => out,
    errors,
    warnings,
    clock,
    async client(options = {}) {
      const c = await HostClient.connect({
        hostname: "127.0.0.1",
        port,
        timeout: 2000,
        ...options,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await service.shutdown();
    },
  };
}

/** A raw TCP connection reading frames. */
async function raw(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const parser = new FrameParser({ maxPayload: 8 * 1024 * 1024 });
  const queue: Response[] = [];
  const waiters: (() => void)[] = [];
  let ended = false;
  const loop = (async () => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const e of parser.push(buf.subarray(0, n))) {
          if (e.kind === "frame" && e.type === HostMessageType.RESPONSE) {
            queue.push(decodeResponse(e.payload.slice()));
          }
        }
        waiters.splice(0).forEach((w) => w());
      }
    } catch {
      // Reset by the server.
    }
    ended = true;
    waiters.splice(0).forEach((w) => w());
  })();
  return {
    async write(bytes: Uint8Array) {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    },
    /** The next response, or undefined if the connection ends or 2 s pass. */
    async next(): Promise<Response | undefined> {
      const deadline = Date.now() + 2000;
      while (queue.length === 0 && !ended && Date.now() < deadline) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          timer = setTimeout(resolve, deadline - Date.now());
        });
        clearTimeout(timer);
      }
      return queue.shift();
    },
    get ended() {
      return ended;
    },
    async close() {
      try {
        conn.close();
      } catch {
        // Closed by the server.
      }
      await loop;
    },
  };
}

function query(mid: number, url = "/applet"): Uint8Array {
  return encodeFrame(
    2,
    encodeRequest({ action: Action.GET, fmt: 99, mid, sender: 0, url, payload: undefined }),
  );
}

function errorMessage(r: { payload: Uint8Array | undefined }): unknown {
  return decode(r.payload!).get("error message")?.value;
}

async function appNames(client: HostClient): Promise<string[]> {
  const r = await client.query();
  const c = r.container!;
  const n = c.get("num")!.value as number;
  return Array.from({ length: n }, (_, i) => c.get(`applet${i + 1}`)!.value as string);
}

Deno.test("host server: install, query, request by /app/<name>/ and by prefix, uninstall", async () => {
  const h = await start();
  const client = await h.client();
  assert.equal((await client.install("request_handler", REQUEST_HANDLER)).status, 65);
  const all = await client.query();
  assert.equal(all.status, 69);
  assert.deepEqual(Object.fromEntries(all.container!.entries()), {
    num: { type: "int", value: 1 },
    applet1: { type: "string", value: "request_handler" },
    heap1: { type: "int", value: 8192 },
  });
  const one = await client.query("request_handler");
  assert.equal(one.container!.get("name")?.value, "request_handler");
  for (const url of ["/app/request_handler/url1", "/url1"]) {
    const r = await client.request(url, "GET");
    assert.equal(r.status, 69, url);
    assert.equal(r.container?.get("key1")?.value, "value1");
  }
  assert.equal((await client.request("/url2", "DELETE")).status, 66);
  const missing = await client.request("/app/nosuch/x", "GET");
  assert.equal(missing.status, 160);
  assert.equal(
    missing.container?.get("error message")?.value,
    "Send request to applet failed: invalid applet name",
  );
  assert.equal((await client.uninstall("request_handler")).status, 66);
  assert.deepEqual(await appNames(client), []);
  assert.match(h.output(), /Install WASM app success!\n/);
  assert.match(h.output(), /Uninstall WASM app successful!\n/);
  await h.close();
});

Deno.test("host server: a request that matches no route gets NOT_FOUND_4_04", async () => {
  const h = await start();
  const client = await h.client();
  const r = await client.request("/nomatch", "GET");
  assert.equal(r.status, Status.NOT_FOUND_4_04);
  await h.close();
});

Deno.test("host server: WAMR's /applet errors come back with status 160 and their message", async () => {
  const h = await start({ maxApps: 1 });
  const client = await h.client();
  assert.equal((await client.install("a", QUIET)).status, 65);
  const dup = await client.install("b", QUIET);
  assert.deepEqual([dup.status, errorMessage(dup)], [
    160,
    "Install Applet failed: exceed max app installations.",
  ]);
  const q = await client.query("nosuch");
  assert.deepEqual([q.status, errorMessage(q)], [
    160,
    "Query Applet failed: the app is not found.",
  ]);
  const u = await client.uninstall("nosuch");
  assert.deepEqual([u.status, errorMessage(u)], [160, "Uninstall WASM app failed: no app found."]);
  await h.close();
});

Deno.test("host server: an install as a type-2 request works too", async () => {
  const h = await start();
  const client = await h.client();
  const r = await client.send(
    HostMessageType.REQUEST,
    Action.PUT,
    "/applet?name=quiet&heap=4096",
    FMT_APP_RAW_BINARY,
    QUIET,
  );
  assert.equal(r.status, 65);
  assert.equal((await client.query("quiet")).container?.get("heap")?.value, 4096);
  assert.match(h.output(), /hello from on_init/);
  await h.close();
});

Deno.test("host server: a malformed wasm install gets 160 and leaves the others installed", async () => {
  const h = await start();
  const client = await h.client();
  await client.install("quiet", QUIET);
  for (const bytes of [new Uint8Array([1, 2, 3]), QUIET.slice(0, QUIET.length - 3)]) {
    const r = await client.install("bad", bytes);
    assert.equal(r.status, 160);
    assert.match(String(errorMessage(r)), /^Install WASM app failed: /);
  }
  assert.deepEqual(await appNames(client), ["quiet"]);
  await h.close();
});

Deno.test("host server: events reach only the connections that subscribed", async () => {
  const h = await start();
  const a = await h.client();
  const b = await h.client();
  const c = await h.client();
  await a.install("event_publisher", EVENT_PUBLISHER);
  const got = { a: [] as HostEvent[], b: [] as HostEvent[], c: [] as HostEvent[] };
  assert.equal((await a.subscribe("/alert/overheat", (e) => got.a.push(e))).status, 69);
  assert.equal((await b.subscribe("alert/overheat", (e) => got.b.push(e))).status, 69);
  c.onEvent((e) => got.c.push(e));
  const arrived = Promise.withResolvers<void>();
  let seen = 0;
  const count = () => ++seen === 2 && arrived.resolve();
  a.onEvent(count);
  b.onEvent(count);
  h.clock.advance(1000);
  await arrived.promise;
  assert.equal(got.a.length, 1);
  assert.equal(got.b.length, 1);
  assert.equal(got.a[0]!.url, "alert/overheat");
  assert.equal(got.a[0]!.container?.get("warning")?.value, "temperature is over high");
  // b leaves: a still gets the next one.
  assert.equal((await b.unsubscribe("/alert/overheat")).status, 69);
  const next = Promise.withResolvers<void>();
  a.onEvent(() => next.resolve());
  h.clock.advance(1000);
  await next.promise;
  // Round trip on b and c so any event in flight to them would have arrived.
  await b.query();
  await c.query();
  assert.equal(got.a.length, 2);
  assert.equal(got.b.length, 1);
  assert.equal(got.c.length, 0);
  await h.close();
});

Deno.test("host server: a closed connection's subscriptions end with it", async () => {
  const h = await start();
  const a = await h.client();
  await a.install("event_publisher", EVENT_PUBLISHER);
  await a.subscribe("alert/overheat", () => {});
  assert.deepEqual(h.service.manager.bus.subscribers("alert/overheat").length, 1);
  a.close();
  const b = await h.client();
  // The server noticed the close once b's request is answered after it.
  for (let i = 0; i < 20 && h.service.manager.bus.subscribers("alert/overheat").length > 0; i++) {
    await b.query();
  }
  assert.deepEqual(h.service.manager.bus.subscribers("alert/overheat"), []);
  await h.close();
});

Deno.test("host server: two connections using the same mid each get their own response", async () => {
  const h = await start();
  const setup = await h.client();
  await setup.install("request_handler", REQUEST_HANDLER);
  const x = await raw(h.port);
  const y = await raw(h.port);
  await x.write(query(42, "/applet?name=request_handler"));
  await y.write(query(42, "/applet?name=nosuch"));
  const rx = (await x.next())!;
  const ry = (await y.next())!;
  assert.deepEqual([rx.mid, rx.status], [42, 69]);
  assert.deepEqual([ry.mid, ry.status], [42, 160]);
  await x.close();
  await y.close();
  await h.close();
});

Deno.test("host server: random bytes, wrong leading bytes and truncated frames break nothing", async () => {
  const h = await start();
  const good = await h.client();
  await good.install("quiet", QUIET);
  const noisy = await raw(h.port);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16 & 0xff;
  // Random bytes without 0x12 are skipped; the next frame on the same link is answered.
  await noisy.write(Uint8Array.from({ length: 10000 }, () => {
    const b = rand();
    return b === 0x12 ? 0 : b;
  }));
  await noisy.write(new Uint8Array([0x12, 0x35, 0x34, 0x12]));
  await noisy.write(query(1));
  assert.equal((await noisy.next())?.mid, 1);
  // Fully random bytes may leave the link inside a frame; the server must keep going.
  const wild = await raw(h.port);
  await wild.write(Uint8Array.from({ length: 50000 }, rand));
  await wild.close();
  // A truncated frame, then the client goes away mid-frame.
  const cut = await raw(h.port);
  await cut.write(query(5).subarray(0, 13));
  await cut.close();
  assert.equal((await good.query("quiet")).status, 69);
  assert.deepEqual(await appNames(good), ["quiet"]);
  await noisy.close();
  await h.close();
});

Deno.test("host server: a 2 MiB payload gets 141 and the link stays in sync", async () => {
  const h = await start();
  const conn = await raw(h.port);
  const big = encodeRequest({
    action: Action.PUT,
    fmt: FMT_APP_RAW_BINARY,
    mid: 77,
    sender: 0,
    url: "/applet?name=big",
    payload: new Uint8Array(2 * 1024 * 1024).fill(0x12),
  });
  await conn.write(encodeFrame(HostMessageType.INSTALL, big));
  await conn.write(query(78));
  const r1 = (await conn.next())!;
  assert.deepEqual([r1.mid, r1.status], [77, Status.REQUEST_ENTITY_TOO_LARGE_4_13]);
  assert.match(String(errorMessage(r1)), /2097\d+ bytes exceeds the limit of 1048576/);
  const r2 = (await conn.next())!;
  assert.deepEqual([r2.mid, r2.status], [78, 69]);
  assert.equal(h.service.manager.apps.length, 0);
  await conn.close();
  await h.close();
});

Deno.test("host server: --max-payload raises the limit", async () => {
  const h = await start({ maxPayload: 4 * 1024 * 1024 });
  const client = await h.client();
  const r = await client.request("/nomatch", "PUT", new Uint8Array(2 * 1024 * 1024));
  assert.equal(r.status, Status.NOT_FOUND_4_04);
  await h.close();
});

Deno.test("host server: packets whose lengths lie get 400 with their mid", async () => {
  const h = await start();
  const conn = await raw(h.port);
  const packet = encodeRequest({
    action: Action.GET,
    fmt: 99,
    mid: 0x01020304,
    sender: 0,
    url: "/applet",
    payload: new Uint8Array([1, 2, 3]),
  });
  const lying = packet.slice();
  new DataView(lying.buffer).setUint32(14, 1000); // payload_len says 1000
  await conn.write(encodeFrame(2, lying));
  const noNul = packet.slice();
  noNul[18 + 7] = 0x41; // the URL's NUL
  new DataView(noNul.buffer).setUint32(4, 9);
  await conn.write(encodeFrame(2, noNul));
  const badVersion = packet.slice();
  badVersion[0] = 2;
  new DataView(badVersion.buffer).setUint32(4, 10);
  await conn.write(encodeFrame(2, badVersion));
  // Too short to hold a mid: logged and dropped, no reply.
  await conn.write(encodeFrame(2, new Uint8Array([1, 1, 0])));
  // A type the runtime does not handle: logged and dropped.
  await conn.write(encodeFrame(3, packet));
  await conn.write(query(11));
  const replies = [await conn.next(), await conn.next(), await conn.next(), await conn.next()];
  assert.deepEqual(replies.map((r) => [r?.mid, r?.status]), [
    [0x01020304, 128],
    [9, 128],
    [10, 128],
    [11, 69],
  ]);
  assert.match(
    String(errorMessage(replies[0]!)),
    /does not match 18 \+ url_len 8 \+ payload_len 1000/,
  );
  assert.ok(h.errors.some((e) => e === "unexpected host msg type: 3"));
  assert.ok(h.errors.some((e) => /Dropped a message/.test(e)));
  await conn.close();
  await h.close();
});

Deno.test("host server: a type-4 frame that is not a PUT gets 400", async () => {
  const h = await start();
  const client = await h.client();
  const r = await client.send(HostMessageType.INSTALL, Action.GET, "/applet", 98, QUIET);
  assert.equal(r.status, 128);
  await h.close();
});

Deno.test("host server: --state-dir keeps installs across restarts, written atomically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let h = await start({ stateDir: dir });
    let client = await h.client();
    await client.install("request_handler", REQUEST_HANDLER, { heap: 16384 });
    await client.install("quiet", QUIET);
    await client.install("gone", QUIET);
    await client.uninstall("gone");
    await h.close();
    assert.match(h.output(), /bye from on_destroy/);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/${MANIFEST_FILE}`));
    assert.deepEqual(manifest.apps.map((a: { name: string }) => a.name), [
      "request_handler",
      "quiet",
    ]);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, [MANIFEST_FILE, "quiet.wasm", "request_handler.wasm", RUNNING_FILE]);

    // A crash mid-install leaves a temp file or an unlisted module: neither becomes an app.
    await Deno.writeFile(`${dir}/.half.wasm.123.tmp`, QUIET.subarray(0, 10));
    await Deno.writeFile(`${dir}/orphan.wasm`, QUIET);
    h = await start({ stateDir: dir });
    client = await h.client();
    assert.deepEqual(await appNames(client), ["quiet", "request_handler"]);
    assert.equal((await client.query("request_handler")).container?.get("heap")?.value, 16384);
    assert.equal((await client.request("/url1", "GET")).status, 69);
    await h.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host server: a stored app whose module went missing is dropped with a log line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let h = await start({ stateDir: dir });
    const client = await h.client();
    await client.install("a", QUIET);
    await client.install("b", QUIET);
    await h.close();
    await Deno.remove(`${dir}/a.wasm`);
    h = await start({ stateDir: dir });
    assert.deepEqual(h.service.manager.apps.map((a) => a.name), ["b"]);
    assert.ok(h.errors.some((e) => /cannot restore app "a"/.test(e)));
    await h.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host server: app names that are not file names are escaped in the state dir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let h = await start({ stateDir: dir });
    await (await h.client()).install("../x y", QUIET);
    await h.close();
    assert.ok([...Deno.readDirSync(dir)].some((e) => e.name === "%2e.%2fx%20y.wasm"));
    h = await start({ stateDir: dir });
    assert.deepEqual(h.service.manager.apps.map((a) => a.name), ["../x y"]);
    await h.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host server: the link also runs over a plain stream pair (stdio, serial)", async () => {
  let out = "";
  const service = await HostService.start({
    listen: false,
    stdout: (b) => out += new TextDecoder().decode(b),
  });
  const toServer = new TransformStream<Uint8Array, Uint8Array>();
  const toClient = new TransformStream<Uint8Array, Uint8Array>();
  const served = service.serve(
    { readable: toServer.readable, writable: toClient.writable },
    "pipe",
  );
  const client = new HostClient({ readable: toClient.readable, writable: toServer.writable });
  assert.equal((await client.install("quiet", QUIET)).status, 65);
  assert.equal((await client.query()).container?.get("num")?.value, 1);
  client.close();
  await served;
  await service.shutdown();
  assert.match(out, /App Manager started\.\n/);
  assert.match(out, /bye from on_destroy/);
});

Deno.test("host server: shutdown closes client links and runs every on_destroy", async () => {
  const h = await start();
  const client = await h.client();
  await client.install("quiet", QUIET);
  await h.service.shutdown();
  await client.closed;
  await assert.rejects(client.query(), Deno.errors.ConnectionReset);
  assert.match(h.output(), /App instance main thread exit\.\nbye from on_destroy/);
  await h.close();
});

Deno.test("host server: an fmt-99 request payload reaches the app intact", async () => {
  const h = await start();
  const client = await h.client();
  await client.install("request_handler", REQUEST_HANDLER);
  const r = await client.request("/url1", "POST", new Uint8Array(0), { fmt: FMT_ATTR_CONTAINER });
  assert.equal(r.status, 69);
  await h.close();
});

/** on_init spins forever: only a deadline stops it. */
const SPIN_INIT = wat(`(module
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bye from on_destroy\\00")
  (func (export "on_init") (loop $l (br $l)))
  (func (export "on_destroy") (drop (call $puts (i32.const 16)))))`);

Deno.test("host server: serve's limits: apps get a 1000 ms deadline and a 64 MiB cap by default", async () => {
  const h = await start();
  const client = await h.client();
  await client.install("quiet", QUIET);
  await client.install("own", QUIET, { deadline: 0, memory: 2 * 1024 * 1024 });
  const quiet = h.service.manager.get("quiet")!;
  const own = h.service.manager.get("own")!;
  assert.deepEqual([quiet.deadlineMs, quiet.maxMemory], [1000, 64 * 1024 * 1024]);
  assert.deepEqual([own.deadlineMs, own.maxMemory], [0, 2 * 1024 * 1024]);
  assert.equal(quiet.instance.memoryLimit, 64 * 1024 * 1024);
  await h.close();
});

Deno.test("host server: a looping on_init is suspended, listed with its reason, and resumed on request", async () => {
  const h = await start({ deadlineMs: 50 });
  const client = await h.client();
  assert.equal((await client.install("spin", SPIN_INIT)).status, 65);
  await client.install("quiet", QUIET);
  const all = await client.query();
  assert.deepEqual(all.container!.entries().map(([k, v]) => `${k}=${v.value}`), [
    "num=2",
    "applet1=quiet",
    "heap1=8192",
    "applet2=spin",
    "heap2=8192",
    "status2=suspended",
    "reason2=execution deadline exceeded in on_init",
  ]);
  assert.match(h.output(), /WASM app 'spin' suspended: execution deadline exceeded in on_init\n/);
  const resumed = await client.resume("spin");
  assert.equal(resumed.status, 68, "resumed: its on_init runs (and overruns) after the reply");
  const again = await client.query("spin");
  assert.equal(again.container!.get("status")?.value, "suspended");
  assert.equal(
    (await client.resume("quiet")).container?.get("error message")?.value,
    "Resume WASM app failed: the app is running.",
  );
  await h.close();
  assert.doesNotMatch(
    h.output(),
    /bye from on_destroy\nbye from on_destroy/,
    "no on_destroy into spin",
  );
});

Deno.test("host server: an install past --max-total-memory gets 160 with the sums", async () => {
  const MiB = 1024 * 1024;
  const h = await start({ maxMemory: 8 * MiB, maxTotalMemory: 20 * MiB });
  const client = await h.client();
  assert.equal((await client.install("a", QUIET)).status, 65);
  assert.equal((await client.install("b", QUIET)).status, 65);
  const refused = await client.install("c", QUIET);
  assert.deepEqual([refused.status, errorMessage(refused)], [
    160,
    "Install WASM app failed: its memory cap of 8 MiB would bring the installed apps' caps " +
    "to 24 MiB, over the budget of 20 MiB",
  ]);
  assert.equal((await client.install("c", QUIET, { memory: 4 * MiB })).status, 65);
  assert.deepEqual(await appNames(client), ["c", "b", "a"]);
  await h.close();
});

Deno.test("host server: --state-dir keeps a suspension across restarts; the app is not started at restore", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let h = await start({ stateDir: dir, deadlineMs: 50 });
    let client = await h.client();
    await client.install("spin", SPIN_INIT);
    await h.close();
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/${MANIFEST_FILE}`));
    assert.equal(manifest.apps[0].suspended, "execution deadline exceeded in on_init");
    h = await start({ stateDir: dir, deadlineMs: 50 });
    client = await h.client();
    const spin = (await client.query("spin")).container!;
    assert.deepEqual([spin.get("status")?.value, spin.get("reason")?.value], [
      "suspended",
      "execution deadline exceeded in on_init",
    ]);
    assert.doesNotMatch(h.output(), /Got exception/, "not started again at restore");
    await h.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- issue 13: a bounded, authenticated link ------------------------------------------------

/** An app that takes every request and never answers it. */
const SILENT = wat(`(module
  (memory (export "memory") 1)
  (func (export "on_init"))
  (func (export "on_request") (param i32 i32)))`);

/** Resolves with `promise`, or fails after 10 s naming `what`. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting until ${what}`)), 10_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` (the server notices closes on its own turn); fails after 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface RawFrame {
  type: number;
  payload: Uint8Array;
}

/** A raw TCP connection recording every frame it receives, of any type. */
async function frames(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const parser = new FrameParser({ maxPayload: 8 * 1024 * 1024 });
  const got: RawFrame[] = [];
  let bytes = 0;
  let ended = false;
  const loop = (async () => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        bytes += n;
        for (const e of parser.push(buf.subarray(0, n))) {
          if (e.kind === "frame") got.push({ type: e.type, payload: e.payload.slice() });
        }
      }
    } catch {
      // Reset by the server.
    }
    ended = true;
  })();
  return {
    got,
    get bytes() {
      return bytes;
    },
    /** Resolves once the server has closed the connection; fails after 10 s. */
    async ended() {
      await until(() => ended, "the server closes the link");
      await loop;
    },
    async write(data: Uint8Array) {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    /** Resolves once `n` frames arrived (or the link ended); fails after 10 s. */
    async waitFrames(n: number): Promise<RawFrame[]> {
      await until(() => got.length >= n || ended, `${n} frames arrive`);
      return got;
    },
    async close() {
      try {
        conn.close();
      } catch {
        // Closed by the server.
      }
      await loop;
    },
  };
}

function responseOf(frame: RawFrame | undefined): Response {
  assert.equal(frame?.type, HostMessageType.RESPONSE);
  return decodeResponse(frame.payload);
}

Deno.test("host server: a link's requests in flight are forgotten the moment it closes", async () => {
  const h = await start();
  const setup = await h.client();
  await setup.install("silent", SILENT);
  const server = h.service.server;
  const leaving = await h.client();
  const unanswered = Array.from(
    { length: 10 },
    () => leaving.request("/app/silent/x", "GET", undefined, { timeout: 60_000 }).catch((e) => e),
  );
  await until(() => server.inFlight === 10, "10 requests are in flight");
  leaving.close();
  for (const r of await Promise.all(unanswered)) {
    assert.ok(r instanceof Deno.errors.ConnectionReset);
  }
  await until(() => server.connectionCount === 1, "the server notices the close");
  assert.equal(server.inFlight, 0, "routes are dropped with the link, not after 10 minutes");
  assert.equal((await setup.query()).status, 69);
  await h.close();
});

Deno.test("host server: links past --max-connections get 5.03 on their first request; one log line per burst", async () => {
  const h = await start({ maxConnections: 2 });
  const a = await h.client();
  const b = await h.client();
  assert.equal((await a.query()).status, 69);
  assert.equal((await b.query()).status, 69);
  const refused = [await frames(h.port), await frames(h.port)];
  for (const [i, x] of refused.entries()) {
    await x.write(query(70 + i));
    const [frame] = await x.waitFrames(1);
    const r = responseOf(frame);
    assert.deepEqual([r.mid, r.status], [70 + i, Status.SERVICE_UNAVAILABLE_5_03]);
    assert.equal(
      errorMessage(r),
      "Too many host links open (the limit is 2); try again later",
    );
    await x.ended();
  }
  assert.equal(
    h.errors.filter((e) => /^Host link refused /.test(e)).length,
    1,
    h.errors.join("\n"),
  );
  assert.match(h.errors.find((e) => /refused/.test(e))!, /2 links open, the limit is 2/);
  // A slot frees: the next link is served.
  a.close();
  await until(() => h.service.server.connectionCount === 1, "the server notices the close");
  const c = await h.client();
  assert.equal((await c.query()).status, 69);
  assert.ok(h.warnings.includes("Host link admitting links again after refusing 2 (limit 2)"));
  await h.close();
});

Deno.test("host server: an idle link is closed after --idle-timeout; one waiting for a response is not", async () => {
  const h = await start({ idleTimeout: 1000 });
  const idle = await h.client();
  await idle.install("silent", SILENT);
  const waiting = await h.client();
  const unanswered = waiting.request("/app/silent/x", "GET", undefined, { timeout: 60_000 })
    .catch((e) => e);
  await until(() => h.service.server.inFlight === 1, "the request is in flight");
  h.clock.advance(999);
  assert.equal(h.service.server.connectionCount, 2);
  h.clock.advance(1000);
  await within(idle.closed, "the idle link closes");
  assert.equal(h.service.server.connectionCount, 1);
  await assert.rejects(idle.query(), Deno.errors.ConnectionReset);
  assert.equal((await waiting.query()).status, 69, "still served");
  waiting.close();
  assert.ok((await unanswered) instanceof Deno.errors.ConnectionReset);
  await h.close();
});

Deno.test("host server: a link may have maxInFlight requests waiting; the next gets 5.03", async () => {
  const server = new HostServer({ fromHost() {} }, { maxInFlight: 2, log: () => {} });
  const { port } = server.listen({ port: 0 });
  const client = await HostClient.connect({ port, timeout: 60_000 });
  const waiting = [1, 2].map(() => client.request("/x", "GET").catch((e) => e));
  const third = await client.request("/x", "GET");
  assert.equal(third.status, Status.SERVICE_UNAVAILABLE_5_03);
  assert.equal(
    errorMessage(third),
    "Too many requests in flight on this link: 2 wait for responses",
  );
  client.close();
  await Promise.all(waiting);
  await server.close();
});

Deno.test("host server: no token, no handshake: the first bytes a host gets are its response", async () => {
  const h = await start();
  const x = await frames(h.port);
  await x.write(query(3));
  const [frame] = await x.waitFrames(1);
  assert.deepEqual([responseOf(frame).mid, responseOf(frame).status], [3, 69]);
  assert.equal(x.bytes, 8 + frame!.payload.length, "nothing but the response");
  await x.close();
  await h.close();
});

Deno.test("host server: with a token, the link opens with a challenge and a host proving the token is served", async () => {
  const h = await start({ token: "s3cret" });
  const x = await frames(h.port);
  const [challenge] = await x.waitFrames(1);
  assert.equal(challenge!.type, HostMessageType.AUTH);
  const message = decodeAuth(challenge!.payload);
  assert.equal(message.kind, AuthKind.CHALLENGE);
  assert.equal(challenge!.payload.length, 34);
  await x.close();
  const client = await h.client({ token: "s3cret" });
  assert.equal((await client.install("quiet", QUIET)).status, 65);
  assert.equal((await client.query()).container?.get("applet1")?.value, "quiet");
  assert.deepEqual(h.errors, []);
  await h.close();
});

Deno.test("host server: a wrong token gets one refuse message and a close, logged once", async () => {
  const h = await start({ token: "s3cret" });
  await assert.rejects(h.client({ token: "guess" }), (e) => {
    assert.ok(e instanceof HostAuthError);
    assert.equal(e.message, "Authentication failed: the token does not match this runtime's");
    assert.equal(e.reason, RefuseReason.WRONG_TOKEN);
    return true;
  });
  await until(() => h.service.server.connectionCount === 0, "the link is closed");
  assert.equal(h.errors.length, 1);
  assert.match(
    h.errors[0]!,
    /^Host 127\.0\.0\.1:\d+: Authentication failed: the token does not match this runtime's; closing its link$/,
  );
  await h.close();
});

Deno.test("host server: a request before the proof (WAMR's host_tool) gets 129 with the reason, then a close", async () => {
  const h = await start({ token: "s3cret" });
  const x = await frames(h.port);
  await x.write(query(5));
  await x.ended();
  assert.deepEqual(x.got.map((f) => f.type), [HostMessageType.AUTH, HostMessageType.RESPONSE]);
  const r = responseOf(x.got[1]);
  assert.deepEqual([r.mid, r.status], [5, Status.UNAUTHORIZED_4_01]);
  assert.match(String(errorMessage(r)), /^Unauthorized: this runtime serves only hosts that prove/);
  assert.equal(h.service.manager.apps.length, 0);
  await h.close();
});

Deno.test("host server: a link that proves nothing within 10 s is refused and closed", async () => {
  const h = await start({ token: "s3cret" });
  const x = await frames(h.port);
  await x.waitFrames(1);
  h.clock.advance(10_000);
  await x.ended();
  const refuse = decodeAuth(x.got[1]!.payload);
  assert.deepEqual(refuse, {
    kind: AuthKind.REFUSE,
    reason: RefuseReason.TIMEOUT,
    message: "Authentication failed: no proof of the token within 10000 ms",
  });
  await h.close();
});

Deno.test("host client: a runtime asking for a token the client lacks fails the request clearly", async () => {
  const h = await start({ token: "s3cret" });
  const client = await h.client();
  await assert.rejects(client.query(), {
    name: "HostAuthError",
    message:
      "The runtime asks for a token: give it with --token-file FILE or MICRO_RUNTIME_TOKEN " +
      "(HostClient: the token option)",
  });
  await h.close();
});

Deno.test("host server: TLS with a token: a host trusting the certificate is served; others are not", async () => {
  const tls = await selfSignedCertificate();
  try {
    const h = await start({ token: "s3cret", tls: { cert: tls.cert, key: tls.key } });
    const options = { port: h.port, token: "s3cret", timeout: 5000 };
    const client = await HostClient.connect({ ...options, caCerts: [tls.cert] });
    assert.equal((await client.query()).status, 69);
    client.close();
    await assert.rejects(
      HostClient.connect({ ...options, tls: true }),
      /invalid peer certificate: UnknownIssuer/,
    );
    // Plain TCP to a TLS port: the handshake never happens, so neither does a request.
    const plain = await HostClient.connect({ port: h.port, timeout: 5000 });
    await assert.rejects(plain.query(), Deno.errors.ConnectionReset);
    plain.close();
    await h.close();
  } finally {
    await Deno.remove(tls.dir, { recursive: true });
  }
});
