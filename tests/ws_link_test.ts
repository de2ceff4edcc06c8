// `serve --ws`: the host link over WebSocket (core/host_link/ws_link.ts, sdk/ws_transport.ts),
// against real serve processes on loopback, checked through the TCP link and `host -q`.
import assert from "node:assert/strict";
import { example, serve, type ServeProcess } from "./_serve.ts";
import { HostAuthError, HostClient } from "../sdk/host_client.ts";
import { webSocketTransport } from "../sdk/ws_transport.ts";
import { originAllowed } from "../core/host_link/ws_link.ts";
import { HostService } from "../core/cli/serve_command.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

async function wsUrl(server: ServeProcess): Promise<string> {
  const m = await server.waitFor(/serving the host link over WebSocket on (ws:\/\/\S+)/);
  return m[1]!;
}

function wsClient(url: string, options: { token?: string; timeout?: number } = {}): HostClient {
  return new HostClient(webSocketTransport(new WebSocket(url)), { timeout: 10_000, ...options });
}

async function host(port: number, ...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "host", "-P", String(port), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

/** Waits (up to 10 s) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !check();) {
    assert.ok(Date.now() < deadline, "Timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends a raw HTTP/1.1 request; returns the head and the body (by its content-length). */
async function rawHttp(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n; (n = await conn.read(buf)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (text.length >= end + 4 + length) break;
  }
  conn.close();
  return text;
}

Deno.test({
  name: "ws link: an app installed through serve --ws answers requests, publishes events, " +
    "and is listed by host -q over TCP",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await serve(["--ws", "0"]);
    try {
      const url = await wsUrl(server);
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
      const client = wsClient(url);
      const installed = await client.install("handler", example("request_handler/request_handler"));
      assert.equal(installed.status, 65, "CREATED_2_01");
      const reply = await client.request("/app/handler/url1", "GET");
      assert.equal(reply.status, 69);
      assert.equal(reply.container?.get("key1")?.value, "value1");
      await server.waitFor(/### user resource 1 handler called/);

      assert.equal(
        (await client.install("pub", example("event_publisher/event_publisher"))).status,
        65,
      );
      const { promise: event, resolve } = Promise.withResolvers<string>();
      const sub = await client.subscribe("alert/overheat", (e) => {
        resolve(String(e.container?.get("warning")?.value));
      });
      assert.equal(sub.status, 69);
      assert.equal(await event, "temperature is over high");

      const listed = await host(server.port, "-q");
      assert.equal(listed.code, 69, listed.err);
      assert.match(listed.out, /"applet\d":\s*"handler"/);
      assert.match(listed.out, /"applet\d":\s*"pub"/);

      assert.equal((await client.uninstall("handler")).status, 66);
      const after = await host(server.port, "-q");
      assert.doesNotMatch(after.out, /"handler"/);
      client.close();
      await client.closed;
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "ws link: with --token-file a WebSocket host must prove the token, as over TCP",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/token`, "ws-s3cret\n");
    const server = await serve(["--ws", "0", "--token-file", `${dir}/token`]);
    try {
      const url = await wsUrl(server);
      const good = wsClient(url, { token: "ws-s3cret" });
      await good.ready;
      assert.equal((await good.query()).status, 69);
      good.close();

      const wrong = wsClient(url, { token: "guess" });
      await assert.rejects(
        wrong.ready,
        (e: unknown) =>
          e instanceof HostAuthError &&
          e.message === "Authentication failed: the token does not match this runtime's",
      );
      wrong.close();

      // No token: the challenge tells the client what is missing.
      const none = wsClient(url);
      await assert.rejects(none.query(), /The runtime asks for a token: give it with/);
      none.close();
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ws link: plain HTTP gets 426, a foreign browser origin 403, a text message closes " +
    "the socket with 1003, and serving goes on",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await serve(["--ws", "0", "--ws-origin", "https://console.example"]);
    try {
      const url = await wsUrl(server);
      const port = Number(new URL(url).port);
      const plain = await rawHttp(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.match(plain, /^HTTP\/1\.1 426 /);
      assert.match(plain, /serves the micro-runtime host link over WebSocket/);

      const upgrade = (origin: string) =>
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `Sec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`;
      const foreign = await rawHttp(port, upgrade("https://evil.example"));
      assert.match(foreign, /^HTTP\/1\.1 403 /);
      assert.match(foreign, /pages from "https:\/\/evil\.example" may not reach/);
      await until(() => /origin "https:\/\/evil\.example" is not allowed/.test(server.err));
      const allowed = await rawHttp(port, upgrade("https://console.example"));
      assert.match(allowed, /^HTTP\/1\.1 101 /);
      const loopback = await rawHttp(port, upgrade("http://127.0.0.1:8000"));
      assert.match(loopback, /^HTTP\/1\.1 101 /);

      const socket = new WebSocket(url);
      const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
      socket.onopen = () => socket.send("GET /applet");
      assert.equal((await closed).code, 1003);

      const client = wsClient(url);
      assert.equal((await client.query()).status, 69);
      client.close();
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "ws link: a WebSocket link past --max-connections gets a 5.03 answer with the reason",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await serve(["--ws", "0", "--max-connections", "1"]);
    try {
      const url = await wsUrl(server);
      const first = wsClient(url);
      assert.equal((await first.query()).status, 69);
      const second = wsClient(url);
      const busy = await second.query();
      assert.equal(busy.status, 163, "SERVICE_UNAVAILABLE_5_03");
      assert.match(
        String(busy.container?.get("error")?.value ?? new TextDecoder().decode(busy.payload)),
        /Too many host links open \(the limit is 1\)/,
      );
      first.close();
      second.close();
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "ws link: the page's link fails clearly when serve goes away mid-session",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await serve(["--ws", "0"]);
    const url = await wsUrl(server);
    const client = wsClient(url);
    assert.equal((await client.query()).status, 69);
    await server.stop();
    await client.closed;
    await assert.rejects(client.query(), /Client is closed|closed|reset/i);
    // A new link to the address that is gone is refused before it opens.
    const transport = webSocketTransport(new WebSocket(url));
    await assert.rejects(transport.opened, /The WebSocket closed before it opened/);
  },
});

Deno.test("ws link: serve --ws usage errors are one line and status 2", async () => {
  for (
    const [args, message] of [
      [["--stdio", "--ws", "0"], "serve: --ws serves beside TCP: not with --stdio or --serial"],
      [["--ws-origin", "https://a.example"], "serve: --ws-origin needs --ws"],
      [["--ws", "70000"], 'serve: Invalid value for --ws: "70000"'],
    ] as const
  ) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MOD, "serve", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 2);
    assert.ok(
      new TextDecoder().decode(stderr).startsWith(message),
      new TextDecoder().decode(stderr),
    );
  }
});

Deno.test("ws link: originAllowed refuses look-alike and opaque origins", () => {
  assert.equal(originAllowed("http://127.0.0.1.evil.example", []), false);
  assert.equal(originAllowed("http://localhost.evil.example:80", []), false);
  assert.equal(originAllowed("null", []), false);
  assert.equal(originAllowed("http://[::1]:9000", []), true);
  assert.equal(originAllowed("https://any.example", ["*"]), true);
});

Deno.test({
  name: "ws link: HostService with ws: shutdown closes the endpoint and its links",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const service = await HostService.start({ port: 0, ws: { port: 0 }, stdout: () => {} });
    const client = wsClient(service.ws!.url);
    assert.equal((await client.query()).status, 69);
    await service.shutdown();
    await client.closed;
    const transport = webSocketTransport(new WebSocket(service.ws!.url));
    await assert.rejects(transport.opened);
  },
});
