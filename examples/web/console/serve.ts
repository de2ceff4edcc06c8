/**
 * `deno task console`: the fleet console on 127.0.0.1. The page (`index.html`, `main.ts`,
 * bundled at start) talks over one WebSocket to the relay (`relay.ts`), which holds the
 * operator's connection to the MQTT broker.
 *
 * | path | what |
 * | --- | --- |
 * | `/console/` | the page |
 * | `/console/main.js` | its script, bundled from `main.ts` |
 * | `/console/console.css`, `/shared/ui.css` | its style, and the playground's shared one |
 * | `/console/ws` | the relay's WebSocket (same-origin pages only) |
 *
 * ```sh
 * deno task console --mqtt mqtt://127.0.0.1:1883 --mqtt-username operator \
 *   --mqtt-password-file operator.password           # http://127.0.0.1:8010/console/
 * deno task console --port 0 …                        # any free port
 * ```
 *
 * Options: `--mqtt URL` (default `mqtt://127.0.0.1:1883`), `--mqtt-username`,
 * `--mqtt-password-file`, `--mqtt-ca FILE` (PEM, for `mqtts://`), `--mqtt-prefix` (default
 * `mr`), `--port` (default 8010).
 *
 * @module
 */

import * as esbuild from "esbuild-wasm";
import { webPlatformPlugin } from "../build.ts";
import { FleetRelay, type RelayOptions } from "./relay.ts";
import type { BrokerView, RelayMessage } from "./protocol.ts";

const HERE = new URL("./", import.meta.url);
const SHARED = new URL("../shared/", import.meta.url);

/** Options of {@linkcode startConsoleServer}. */
export interface ConsoleServerOptions extends RelayOptions {
  /** Port; 0 picks a free one (default 8010). */
  port?: number;
}

/** A running console. */
export interface ConsoleServer {
  /** The page's URL (`http://127.0.0.1:PORT/console/`). */
  readonly url: string;
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** The relay to the broker. */
  readonly relay: FleetRelay;
  /** The first connect to the broker: its state after the attempt (`connected` or `failed`). */
  readonly connected: Promise<BrokerView>;
  /** Stops serving and closes the broker link. */
  close(): Promise<void>;
}

/**
 * Bundles the page's script (`main.ts`) into one ES module.
 *
 * @returns the script and its source map
 */
export async function buildConsolePage(): Promise<{ js: Uint8Array; map: Uint8Array }> {
  const result = await esbuild.build({
    entryPoints: [decodeURIComponent(new URL("main.ts", HERE).pathname)],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    outfile: "/console/main.js",
    write: false,
    logLevel: "silent",
    // The shared UI pieces reach `sdk/` modules that default to Deno's platform.
    plugins: [webPlatformPlugin],
  }).finally(() => esbuild.stop());
  const js = result.outputFiles.find((f) => f.path.endsWith("main.js"));
  const map = result.outputFiles.find((f) => f.path.endsWith("main.js.map"));
  if (!js || !map) throw new Error("esbuild wrote no console script");
  return { js: js.contents, map: map.contents };
}

/**
 * Builds the page, starts the relay's broker link in the background and serves the console.
 *
 * @param options the broker, credentials and port
 * @returns the server
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const page = await buildConsolePage();
  const files: Record<string, [Uint8Array, string]> = {
    "/console/": [await Deno.readFile(new URL("index.html", HERE)), "text/html; charset=utf-8"],
    "/console/console.css": [
      await Deno.readFile(new URL("console.css", HERE)),
      "text/css; charset=utf-8",
    ],
    "/shared/ui.css": [await Deno.readFile(new URL("ui.css", SHARED)), "text/css; charset=utf-8"],
    "/console/main.js": [page.js, "text/javascript; charset=utf-8"],
    "/console/main.js.map": [page.map, "application/json"],
  };
  const relay = new FleetRelay(options);
  const sockets = new Set<WebSocket>();
  const http = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 8010,
    onListen() {},
  }, function route(request): Response {
    const { pathname, host } = new URL(request.url);
    if (pathname === "/console/ws") {
      // Another site's page in the same browser must not drive the fleet.
      const origin = request.headers.get("origin");
      if (origin !== null && origin !== `http://${host}`) {
        return new Response(`Forbidden origin "${origin}"\n`, { status: 403 });
      }
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("Expected a WebSocket upgrade\n", { status: 426 });
      }
      const { socket, response } = Deno.upgradeWebSocket(request);
      _page(relay, socket, sockets);
      return response;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405 });
    }
    if (pathname === "/" || pathname === "/console") {
      return Response.redirect(new URL("/console/", request.url), 302);
    }
    const file = files[pathname];
    if (!file) return new Response(`Not found: ${pathname}\n`, { status: 404 });
    return new Response(file[0] as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": file[1], "cache-control": "no-store" },
    });
  });
  const connected = relay.connect();
  return {
    url: `http://127.0.0.1:${http.addr.port}/console/`,
    addr: http.addr,
    relay,
    connected,
    async close() {
      for (const socket of sockets) socket.close();
      await relay.close();
      await http.shutdown();
    },
  };
}

/** Joins a page's WebSocket to the relay. */
function _page(relay: FleetRelay, socket: WebSocket, sockets: Set<WebSocket>): void {
  const send = (message: RelayMessage) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  let detach: (() => void) | undefined;
  socket.onopen = () => {
    sockets.add(socket);
    detach = relay.attach(send);
  };
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") {
      send({ type: "failed", message: "Malformed message: expected JSON text" });
      return;
    }
    void relay.handle(event.data, send);
  };
  socket.onclose = () => {
    sockets.delete(socket);
    detach?.();
  };
  socket.onerror = () => {};
}

/** Parses the command line (`--flag value`); throws a usage message. */
function _parseArgs(args: string[]): ConsoleServerOptions {
  const values = new Map<string, string>();
  const known = [
    "--port",
    "--mqtt",
    "--mqtt-username",
    "--mqtt-password-file",
    "--mqtt-ca",
    "--mqtt-prefix",
  ];
  for (let i = 0; i < args.length; i++) {
    // `--flag value` or `--flag=value`, as host and serve take them.
    const [flag, inline] = args[i]!.split(/=(.*)/s) as [string, string | undefined];
    const value = inline ?? args[++i];
    if (!known.includes(flag)) {
      throw new Error(`Unknown option "${flag}" (expected ${known.join(", ")})`);
    }
    if (value === undefined) throw new Error(`Missing value for ${flag}`);
    values.set(flag, value);
  }
  const port = Number(values.get("--port") ?? 8010);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Invalid value for --port: "${values.get("--port")}" (expected 0 to 65535)`);
  }
  const url = values.get("--mqtt") ?? "mqtt://127.0.0.1:1883";
  if (!/^mqtts?:\/\/[^/]+/.test(url)) {
    throw new Error(
      `Invalid value for --mqtt: "${url}" (expected mqtt://HOST:PORT or mqtts://HOST:PORT)`,
    );
  }
  const read = (flag: string): string | undefined => {
    const file = values.get(flag);
    if (file === undefined) return undefined;
    try {
      return Deno.readTextFileSync(file);
    } catch (error) {
      throw new Error(`Cannot read ${flag} "${file}": ${(error as Error).message}`);
    }
  };
  const password = read("--mqtt-password-file")?.replace(/\r?\n$/, "");
  const ca = read("--mqtt-ca");
  const options: ConsoleServerOptions = { port, url };
  const username = values.get("--mqtt-username");
  const prefix = values.get("--mqtt-prefix");
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  if (ca !== undefined) options.ca = [ca];
  if (prefix !== undefined) options.prefix = prefix;
  return options;
}

if (import.meta.main) {
  let options: ConsoleServerOptions;
  try {
    options = _parseArgs(Deno.args);
  } catch (error) {
    console.error(`console: ${(error as Error).message}`);
    Deno.exit(2);
  }
  const server = await startConsoleServer(options);
  console.log(`fleet console on ${server.url} (broker ${server.relay.broker.url})`);
  const broker = await server.connected;
  if (broker.state === "failed") console.error(`console: ${broker.message}`);
  else console.log(`console: connected to ${broker.url}`);
}
