// Host link load test on loopback (issue 13), against real `serve` processes:
//
// 1. Churn: 20,000 connections, each sending a request that is never answered (an app that
//    takes requests and never responds) and closing at once, 200 at a time (the default
//    --max-connections of 256 refuses a few when the server sees closes late; they are
//    counted). The server's RSS, measured with `ps`: fresh, after a first churn of 20,000
//    (V8 grows its heap to the allocation rate: that growth is the same for any number of
//    links), and after a second churn of 20,000, whose growth is what closed links keep (before
//    the fix, 20,000 took RSS from 48 to 705 MiB: each kept its routes and its read buffer).
// 2. Round trips: 16 connections with one request in flight each, with the token off and on
//    (the handshake costs once per connection, nothing per request).
//
// Prints a summary line per figure at load time; the Deno.bench cases give the usual table.
// `deno bench --allow-all bench/host_link_load_bench.ts`
import { HostClient } from "../sdk/host_client.ts";
import { encodeFrame } from "../sdk/host_link.ts";
import { encodeRequest } from "../sdk/packet.ts";
import { connectWhenUp, startServe } from "./_serve.ts";

const ROOT = new URL("../", import.meta.url);
const HANDLER = new URL("examples/request_handler/request_handler.wasm", ROOT).pathname;
const TOKEN = "c0ffee4b1d2a3e5f";
const MiB = 1024 * 1024;

/** (module (memory (export "memory") 1) (func (export "on_init"))
 *  (func (export "on_request") (param i32 i32))): takes every request, answers none. */
const SILENT = new Uint8Array([
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  9,
  2,
  96,
  0,
  0,
  96,
  2,
  127,
  127,
  0,
  3,
  3,
  2,
  0,
  1,
  5,
  3,
  1,
  0,
  1,
  7,
  33,
  3,
  6,
  109,
  101,
  109,
  111,
  114,
  121,
  2,
  0,
  7,
  111,
  110,
  95,
  105,
  110,
  105,
  116,
  0,
  0,
  10,
  111,
  110,
  95,
  114,
  101,
  113,
  117,
  101,
  115,
  116,
  0,
  1,
  10,
  7,
  2,
  2,
  0,
  11,
  2,
  0,
  11,
]); // deno-fmt-ignore

const dir = await Deno.makeTempDir({ prefix: "host_link_load_" });
await Deno.writeFile(`${dir}/silent.wasm`, SILENT);
await Deno.writeTextFile(`${dir}/token`, TOKEN + "\n");

/** A `serve` process on a free port with request_handler and the silent app installed. */
async function startServer(extra: string[]) {
  const { child, port } = startServe(
    ["--app", `request_handler=${HANDLER}`, "--app", `silent=${dir}/silent.wasm`, ...extra],
    "piped",
  );
  let log = "";
  void (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
  })();
  const token = extra.includes("--token-file") ? TOKEN : undefined;
  (await connectWhenUp(port, token ? { token } : {})).close();
  return {
    child,
    port,
    token,
    /** Links refused so far, from the server's log. */
    refused(): number {
      const ended = [...log.matchAll(/after refusing (\d+)/g)].map((m) => Number(m[1]));
      const open = (log.match(/Host link refused /g)?.length ?? 0) - ended.length;
      return ended.reduce((a, b) => a + b, 0) + open;
    },
  };
}

async function rss(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] })
    .output();
  return Number(new TextDecoder().decode(stdout).trim()) * 1024;
}

const open = await startServer([]);
const secured = await startServer(["--token-file", `${dir}/token`]);

// ---- 1. churn ----------------------------------------------------------------------------------

const silentRequest = encodeFrame(
  2,
  encodeRequest({
    action: 1,
    fmt: 99,
    mid: 1,
    sender: 0,
    url: "/app/silent/x",
    payload: undefined,
  }),
);

/** Opens `count` links `batch` at a time, each sending an unanswered request, then closing. */
async function churn(port: number, count: number, batch: number): Promise<void> {
  const control = await HostClient.connect({ port });
  for (let done = 0; done < count; done += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - done) }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(silentRequest);
      conn.close();
    }));
    // A round trip gives the server turns to see the closes before the next batch.
    await control.query();
  }
  control.close();
}

const fresh = await rss(open.child.pid);
await churn(open.port, 20_000, 200);
await new Promise((resolve) => setTimeout(resolve, 2000));
const before = await rss(open.child.pid);
const refusedBefore = open.refused();
const churnStart = performance.now();
await churn(open.port, 20_000, 200);
const churnMs = performance.now() - churnStart;
await new Promise((resolve) => setTimeout(resolve, 2000));
const after = await rss(open.child.pid);
const growth = (after - before) / MiB;
const mib = (bytes: number) => (bytes / MiB).toFixed(0);
console.log(
  `churn: 20,000 links with a request in flight opened and closed in ${
    (churnMs / 1000).toFixed(1)
  } s (${open.refused() - refusedBefore} refused as over the limit); server RSS fresh ` +
    `${mib(fresh)} MiB, after a first 20,000 ${mib(before)} MiB, after a second 20,000 ` +
    `${mib(after)} MiB (growth ${growth.toFixed(1)} MiB; target < 50: ${
      growth < 50 ? "met" : "NOT MET"
    })`,
);

// ---- 2. round trips, token off and on ----------------------------------------------------------

async function sixteen(server: { port: number; token: string | undefined }) {
  return await Promise.all(
    Array.from(
      { length: 16 },
      () =>
        HostClient.connect({ port: server.port, ...(server.token ? { token: server.token } : {}) }),
    ),
  );
}
const plain = await sixteen(open);
const authed = await sixteen(secured);

async function round(clients: HostClient[]): Promise<void> {
  await Promise.all(clients.map(async (c) => {
    const r = await c.request("/url1", "GET");
    if (r.status !== 69) throw new Error(`GET /url1: status ${r.status}`);
  }));
}

/** Round trips per second over `ms`, 16 per round. */
async function rate(clients: HostClient[], ms: number): Promise<number> {
  for (let i = 0; i < 200; i++) await round(clients);
  let rounds = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await round(clients);
    rounds++;
  }
  return (rounds * 16) / ((performance.now() - start) / 1000);
}

// Alternate, so a busy neighbour on a shared machine weighs on both alike.
const rates = { off: [] as number[], on: [] as number[] };
for (let i = 0; i < 3; i++) {
  rates.off.push(await rate(plain, 1000));
  rates.on.push(await rate(authed, 1000));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = median(rates.off);
const on = median(rates.on);
console.log(
  `16 links × one request in flight: token off ${off.toFixed(0)}/s, token on ${on.toFixed(0)}/s ` +
    `(on/off ${(on / off).toFixed(2)}; target ≥ 20,000/s with the token: ${
      on >= 20_000 ? "met" : "NOT MET"
    })`,
);

globalThis.addEventListener("unload", () => {
  for (const c of [...plain, ...authed]) c.close();
  open.child.kill("SIGTERM");
  secured.child.kill("SIGTERM");
  Deno.removeSync(dir, { recursive: true });
});

Deno.bench("16 links × GET /url1 in flight, token off", {
  group: "token",
  baseline: true,
}, async () => {
  await round(plain);
});
Deno.bench("16 links × GET /url1 in flight, token on", { group: "token" }, async () => {
  await round(authed);
});
Deno.bench("connect, handshake, query, close: token off", {
  group: "connect",
  baseline: true,
}, async () => {
  const c = await HostClient.connect({ port: open.port });
  await c.query();
  c.close();
});
Deno.bench("connect, handshake, query, close: token on", { group: "connect" }, async () => {
  const c = await HostClient.connect({ port: secured.port, token: TOKEN });
  await c.query();
  c.close();
});
