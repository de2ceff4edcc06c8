// Host link load test on loopback: a `deno run mod.ts serve` process (its own core) driven
// by HostClients in this process. Round trips per second = iterations/s × requests per
// iteration: 1 for one connection; 16 for sixteen connections with one request in flight
// each (a barrier every round); 160 for sixteen connections each looping 10 round trips;
// 48 for sixteen connections with three pipelined requests each (an app queue holds 50).
import { HostClient } from "../sdk/host_client.ts";
import { connectWhenUp, startServe } from "./_serve.ts";

const ROOT = new URL("../", import.meta.url);
const HANDLER = new URL("examples/request_handler/request_handler.wasm", ROOT).pathname;

/** (module (memory (export "memory") 1) (func (export "on_init"))): the smallest app. */
const SMALL_APP = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  1,
  0,
  0,
  0,
  1,
  4,
  1,
  0x60,
  0,
  0,
  3,
  2,
  1,
  0,
  5,
  3,
  1,
  0,
  1,
  7,
  0x14,
  2,
  6,
  ...new TextEncoder().encode("memory"),
  2,
  0,
  7,
  ...new TextEncoder().encode("on_init"),
  0,
  0,
  0x0a,
  4,
  1,
  2,
  0,
  0x0b,
]); // deno-fmt-ignore

const { child: server, port } = startServe([
  "--max-apps",
  "1000000",
  "--app",
  `request_handler=${HANDLER}`,
]);
await (await connectWhenUp(port)).close();

const one = await HostClient.connect({ port });
const many = await Promise.all(Array.from({ length: 16 }, () => HostClient.connect({ port })));
const installer = await HostClient.connect({ port });

globalThis.addEventListener("unload", () => {
  for (const c of [one, installer, ...many]) c.close();
  server.kill("SIGTERM");
});

async function roundTrip(client: HostClient, url: string): Promise<void> {
  const r = await client.request(url, "GET");
  if (r.status !== 69) throw new Error(`GET ${url}: status ${r.status}`);
}

Deno.bench(
  "1 connection: GET /url1 (app round trip)",
  { group: "app", baseline: true },
  async () => {
    await roundTrip(one, "/url1");
  },
);
Deno.bench("16 connections: 16 × GET /url1 in flight", { group: "app" }, async () => {
  await Promise.all(many.map((c) => roundTrip(c, "/url1")));
});

// A load test: each of 16 connections runs its own loop of 10 round trips, one request in
// flight at a time, so the connections only meet every 10 (160 round trips per iteration).
async function loop(client: HostClient, url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await roundTrip(client, url);
}
Deno.bench("16 connections, each looping 10 × GET /url1 (160 round trips)", {
  group: "app",
}, async () => {
  await Promise.all(many.map((c) => loop(c, "/url1", 10)));
});

Deno.bench("16 connections × 3 pipelined: 48 × GET /url1 in flight", { group: "app" }, async () => {
  await Promise.all(many.flatMap((c) => [1, 2, 3].map(() => roundTrip(c, "/url1"))));
});

Deno.bench("1 connection: query /applet (manager round trip)", {
  group: "manager",
  baseline: true,
}, async () => {
  await roundTrip(one, "/applet?name=request_handler");
});
Deno.bench("16 connections: 16 × query /applet in flight", { group: "manager" }, async () => {
  await Promise.all(many.map((c) => roundTrip(c, "/applet?name=request_handler")));
});

let installs = 0;
Deno.bench(
  "install a 51-byte app (type 4 frame)",
  { group: "install", n: 1000, warmup: 50 },
  async () => {
    const r = await installer.install(`small${installs++}`, SMALL_APP);
    if (r.status !== 65) throw new Error(`install: status ${r.status}`);
  },
);
