// Fairness (issue 13, finding 6): the host's round trip to request_handler in a real `serve`
// process on loopback, with the other apps idle and while examples/limits/storm floods its
// own queue (every request it gets posts two more; its queue stays full), and while
// examples/limits/forger runs (a request always waiting, 64 forged responses per turn).
// Before the fix, a storm took round trips to 1–30 s and uninstalling it 3 s.
//
// Prints p50/p99/max of 1,000 round trips per case at load time; the Deno.bench cases give
// the usual table (the storm is installed for the second one).
// `deno bench --allow-all bench/app_fairness_bench.ts`
import { connectWhenUp, startServe } from "./_serve.ts";

const ROOT = new URL("../", import.meta.url);
const example = (path: string) => Deno.readFileSync(new URL(`examples/${path}.wasm`, ROOT));

const { child: server, port } = startServe([]);
const client = await connectWhenUp(port, { timeout: 60_000 });
globalThis.addEventListener("unload", () => {
  client.close();
  server.kill("SIGTERM");
});

async function roundTrip(): Promise<void> {
  const r = await client.request("/url1", "GET");
  if (r.status !== 69) throw new Error(`GET /url1: status ${r.status}`);
}

async function summary(label: string, n = 1000): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await roundTrip();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(n - 1, Math.floor(n * q))]!.toFixed(2);
  console.log(
    `${label}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${times[n - 1]!.toFixed(1)} ms`,
  );
}

async function timed(label: string, fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await fn();
  console.log(`${label}: ${(performance.now() - t0).toFixed(1)} ms`);
}

await client.install("request_handler", example("request_handler/request_handler"));
await summary("host round trip, other apps idle");
for (const name of ["storm", "forger"]) {
  await client.install(name, example(`limits/${name}`));
  await summary(`host round trip while ${name} runs`);
  await timed(`uninstall ${name}`, () => client.uninstall(name));
}

Deno.bench("GET /url1, other apps idle", { group: "round trip", baseline: true }, roundTrip);

let storming = false;
Deno.bench("GET /url1 while storm floods its queue", { group: "round trip" }, async () => {
  if (!storming) {
    storming = true;
    await client.install("storm", example("limits/storm"));
  }
  await roundTrip();
});
