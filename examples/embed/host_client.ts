/**
 * A host tool in a few lines: start the runtime's `serve` as its own process on a free
 * loopback port, then drive it with `HostClient` over WAMR's host link: install apps, query
 * them, send a request to an app, subscribe to an app's events, uninstall, and stop the server
 * with SIGTERM (every app's `on_destroy` runs).
 *
 * ```sh
 * deno run --allow-read --allow-run --allow-net=127.0.0.1 examples/embed/host_client.ts
 * ```
 *
 * (The server runs as `deno run --allow-read --allow-net mod.ts serve --port 0`.)
 *
 * @module
 */

import { attrContainerToJSON, HostClient, type HostEvent } from "../../mod.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readFile(new URL(`examples/${path}`, root));

// Port 0: the server picks a free port and prints it.
const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-read", "--allow-net", "mod.ts", "serve", "--port", "0"],
  cwd: root,
  stdin: "null",
  stdout: "piped",
  stderr: "inherit",
}).spawn();

// The server's output, line by line: first its address, then whatever its apps print.
const serverLines: string[] = [];
const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
let partial = "";
async function nextLine(): Promise<string | undefined> {
  while (!partial.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) return undefined;
    partial += value;
  }
  const at = partial.indexOf("\n");
  const line = partial.slice(0, at);
  partial = partial.slice(at + 1);
  serverLines.push(line);
  return line;
}
let port: number | undefined;
for (let line = await nextLine(); line !== undefined; line = await nextLine()) {
  const match = /^listening on [\d.]+:(\d+)$/.exec(line);
  if (match) {
    port = Number(match[1]);
    break;
  }
}
if (port === undefined) throw new Error("serve exited before listening");
// Keep reading so the server never blocks on a full pipe.
const drained = (async function drain() {
  while (await nextLine() !== undefined);
})();

const client = await HostClient.connect({ port, timeout: 5000 });
try {
  const installed = await client.install(
    "request_handler",
    await read("request_handler/request_handler.wasm"),
  );
  console.log(`install request_handler: status ${installed.status}`);
  const publisher = await client.install(
    "event_publisher",
    await read("event_publisher/event_publisher.wasm"),
  );
  console.log(`install event_publisher: status ${publisher.status}`);

  const query = await client.query();
  console.log(
    `query: status ${query.status}, ${JSON.stringify(attrContainerToJSON(query.container!))}`,
  );

  // Requests reach an app's resources under /app/<name>/.
  const reply = await client.request("/app/request_handler/url1", "GET");
  console.log(
    `GET /app/request_handler/url1: status ${reply.status}, ${
      JSON.stringify(attrContainerToJSON(reply.container!))
    }`,
  );

  // event_publisher publishes alert/overheat every second.
  const event = Promise.withResolvers<HostEvent>();
  const subscribed = await client.subscribe("alert/overheat", event.resolve);
  console.log(`subscribe alert/overheat: status ${subscribed.status}`);
  const { url, container } = await event.promise;
  console.log(`event ${url}: ${JSON.stringify(attrContainerToJSON(container!))}`);
  await client.unsubscribe("alert/overheat");

  const removed = await client.uninstall("event_publisher");
  console.log(`uninstall event_publisher: status ${removed.status}`);
} finally {
  client.close();
  server.kill("SIGTERM");
}
const { code } = await server.status;
await drained;
console.log(`serve exited with code ${code}; it printed:`);
for (const line of serverLines) console.log(`  | ${line}`);
