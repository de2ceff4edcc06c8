// The connection plugin (natives/connection/) with a C app built against sdk/c, over real
// loopback sockets: a TCP echo server and a UDP peer started here on free ports.
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { COMMON_FLAGS, SDK_SOURCES } from "../sdk/c/build.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { AppManager } from "../core/framework/app_manager.ts";
import libc from "../natives/libc/mod.ts";
import base from "../natives/base/mod.ts";
import connection, { createConnectionLibrary, parseAllowList } from "../natives/connection/mod.ts";
import { serve } from "./_serve.ts";
import { wat } from "./_wat.ts";
import { AttrContainer, encodeAttrContainer } from "../sdk/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MOD = new URL("../mod.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

interface Ports {
  tcp: number;
  udpBind: number;
  udpPeer: number;
  refused: number;
  device?: string;
}

/** Builds tests/fixtures/connection_app.c for these ports. */
async function buildApp(ports: Ports): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await Deno.makeTempDir({ prefix: "connection_app_" });
  try {
    const out = `${dir}/app.wasm`;
    const { success, stderr } = await new Deno.Command("clang-19", {
      args: [
        ...COMMON_FLAGS,
        `-DTCP_PORT=${ports.tcp}`,
        `-DUDP_BIND=${ports.udpBind}`,
        `-DUDP_PEER=${ports.udpPeer}`,
        `-DREFUSED_PORT=${ports.refused}`,
        `-DDEVICE="${ports.device ?? ""}"`,
        "tests/fixtures/connection_app.c",
        ...SDK_SOURCES,
        "sdk/c/src/connection/connection.c",
        "-o",
        out,
      ],
      cwd: ROOT,
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`Cannot build connection_app.c\n${decoder.decode(stderr)}`);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A TCP server on a free loopback port: echoes (and optionally hangs up), records all; sends
 * `greeting` first when given.
 */
function tcpServer(options: { hangUp?: boolean; greeting?: Uint8Array } = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  let accepted = 0;
  let closedByPeer = 0;
  const conns = new Set<Deno.Conn>();
  const served = (async () => {
    for await (const conn of listener) {
      accepted++;
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(1024);
        try {
          if (options.greeting) await conn.write(options.greeting);
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) {
              closedByPeer++;
              break;
            }
            received.push(decoder.decode(buffer.subarray(0, n)));
            await conn.write(buffer.subarray(0, n));
            if (options.hangUp) break;
          }
        } catch {
          // Closed by stop().
        }
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    get accepted() {
      return accepted;
    },
    get closedByPeer() {
      return closedByPeer;
    },
    async stop() {
      listener.close();
      for (const conn of conns) conn.close();
      await served;
    },
  };
}

/** A UDP socket on a free loopback port that answers each datagram with `pong <text>`. */
async function udpPeer() {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const received: string[] = [];
  socket.on("message", (message, from) => {
    const text = decoder.decode(message);
    received.push(text);
    socket.send(`pong ${text}`, from.port, from.address);
  });
  return {
    port: socket.address().port,
    received,
    socket,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A UDP port that is free now (bound, then released). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Binds `port`, proving nobody holds it; resolves false when it is taken. */
async function canBind(port: number): Promise<boolean> {
  const socket: Socket = createSocket("udp4");
  const ok = await new Promise<boolean>((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return ok;
}

/** Waits until `read()` matches `pattern` (polling; fails after 10 s with what it saw). */
async function waitFor(read: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * An app manager on the real clock with libc, base and `library`, its output collected;
 * `schedule` replaces how it schedules its queue drains.
 */
function managerWith(library: typeof connection, schedule?: (drain: () => void) => void) {
  let out = "";
  const sink = (bytes: Uint8Array) => out += decoder.decode(bytes);
  const runtime = new Runtime({ plugins: [libc, base, library], stdout: sink, warn: () => {} });
  const manager = new AppManager(runtime, { stdout: sink, ...(schedule ? { schedule } : {}) });
  return { manager, output: () => out };
}

Deno.test("connection: a C app talks to a TCP echo server and a UDP peer; uninstall closes both", async () => {
  const echo = tcpServer();
  const forbidden = tcpServer();
  const peer = await udpPeer();
  const udpBind = await freeUdpPort();
  const ports = { tcp: echo.port, udpBind, udpPeer: peer.port, refused: forbidden.port };
  const app = await buildApp(ports);
  const { manager, output } = managerWith(createConnectionLibrary({
    allow: `127.0.0.1:${echo.port},127.0.0.1:${peer.port}`,
  }));
  try {
    manager.install("client", app);
    await waitFor(output, /tcp got 14 bytes: hello over tcp\n/);
    await waitFor(output, /udp got 19 bytes: pong hello over udp\n/);
    const out = output();
    assert.match(out, /tcp open: ok\ntcp sent 14\n/);
    assert.match(out, /udp open: ok\nudp sent before config -1\nudp config: 1\nudp sent 14\n/);
    assert.match(out, /refused open: NULL\n/);
    assert.match(out, /unknown open: NULL\n/);
    assert.match(
      out,
      new RegExp(
        `wasm_open_connection: app "client" gets no connection: TCP 127\\.0\\.0\\.1:${forbidden.port} ` +
          `is not allowed \\(--allow-connect\\)`,
      ),
    );
    assert.match(out, /unknown connection type "SCTP" \(TCP, UDP, UART\)/);
    assert.deepEqual(echo.received, ["hello over tcp"]);
    assert.deepEqual(peer.received, ["hello over udp"], "nothing went out before the config");
    assert.equal(forbidden.accepted, 0, "a refused address is never connected to");
    assert.equal(await canBind(udpBind), false, "the app holds its UDP port");

    manager.uninstall("client");
    await waitFor(() => String(echo.closedByPeer), /^1$/);
    assert.equal(await canBind(udpBind), true, "uninstall released the UDP port");
    assert.doesNotMatch(output(), /disconnected/, "a closed app gets no more events");
  } finally {
    manager.close();
    await echo.stop();
    await forbidden.stop();
    await peer.stop();
  }
});

Deno.test("connection: an app cannot send on or close another app's connection", async () => {
  const echo = tcpServer();
  const peer = await udpPeer();
  const app = await buildApp({ tcp: echo.port, udpBind: 1, udpPeer: peer.port, refused: 1 });
  const { manager, output } = managerWith(createConnectionLibrary({
    allow: `127.0.0.1:${echo.port}`,
  }));
  // Tries handle after handle of someone else's.
  const intruder = wat(`(module
    (import "env" "wasm_send_on_connection" (func $send (param i32 i32 i32) (result i32)))
    (import "env" "wasm_close_connection" (func $close (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "mine")
    (func (export "on_init"))
    (func (export "send_on") (param i32) (result i32)
      (call $send (local.get 0) (i32.const 16) (i32.const 4)))
    (func (export "close") (param i32) (call $close (local.get 0))))`);
  try {
    manager.install("client", app);
    await waitFor(output, /tcp got 14 bytes: hello over tcp\n/);
    const other = manager.install("intruder", intruder);
    manager.runPending();
    for (const handle of [1, 2, 3]) {
      assert.equal(other.instance.call("send_on", handle), -1, `handle ${handle}`);
      other.instance.call("close", handle);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(echo.received, ["hello over tcp"], "nothing sent on the client's behalf");
    assert.equal(echo.closedByPeer, 0, "the client's connection is still open");
    manager.uninstall("client");
    await waitFor(() => String(echo.closedByPeer), /^1$/);
  } finally {
    manager.close();
    await echo.stop();
    await peer.stop();
  }
});

Deno.test("connection: a port set as an int or a short is the same port (WAMR's getter would read 0)", async () => {
  const echo = tcpServer();
  const { manager, output } = managerWith(createConnectionLibrary({
    allow: `127.0.0.1:${echo.port}`,
  }));
  const opener = wat(`(module
    (import "env" "wasm_open_connection" (func $open (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "TCP\\00")
    (func (export "on_init"))
    (func (export "open") (param i32 i32) (result i32)
      (call $open (i32.const 16) (local.get 0) (local.get 1))))`);
  try {
    const app = manager.install("opener", opener).instance;
    const open = (args: AttrContainer) => {
      const bytes = encodeAttrContainer(args.setString("address", "127.0.0.1"));
      app.memory.write(1024, bytes);
      return app.call("open", 1024, bytes.length);
    };
    assert.notEqual(open(new AttrContainer("").setInt("port", echo.port)), -1);
    const short = echo.port > 32767 ? echo.port - 65536 : echo.port; // C's (short)port
    assert.notEqual(open(new AttrContainer("").setShort("port", short)), -1);
    assert.equal(open(new AttrContainer("").setString("port", String(echo.port))), -1);
    assert.match(output(), /TCP needs the string "address" and the number "port" \(0 to 65535\)/);
    await waitFor(() => String(echo.accepted), /^2$/);
  } finally {
    manager.close();
    await echo.stop();
  }
});

Deno.test("connection: the server hanging up is a disconnect event; a stranger's datagram is dropped", async () => {
  const echo = tcpServer({ hangUp: true });
  const peer = await udpPeer();
  const stranger = await udpPeer();
  const udpBind = await freeUdpPort();
  const app = await buildApp({ tcp: echo.port, udpBind, udpPeer: peer.port, refused: 1 });
  const { manager, output } = managerWith(createConnectionLibrary({
    allow: `127.0.0.1:${echo.port};127.0.0.1:${peer.port}`,
  }));
  try {
    manager.install("client", app);
    await waitFor(output, /tcp got 14 bytes: hello over tcp\n(.|\n)*tcp disconnected\n/);
    await waitFor(output, /udp got 19 bytes: pong hello over udp\n/);
    stranger.socket.send("from a stranger", udpBind, "127.0.0.1");
    peer.socket.send("from the peer", udpBind, "127.0.0.1");
    await waitFor(output, /udp got 13 bytes: from the peer\n/);
    assert.doesNotMatch(output(), /stranger/);
  } finally {
    manager.close();
    await echo.stop();
    await peer.stop();
    await stranger.stop();
  }
});

Deno.test("connection: a stream arrives in WAMR's 256-byte events, read no faster than the app takes them", async () => {
  // 64 KiB is 256 events, five times an app's queue: reading ahead of the app would drop data.
  const greeting = new Uint8Array(65536).map((_, i) => 97 + (i % 26));
  const echo = tcpServer({ greeting });
  const peer = await udpPeer();
  const app = await buildApp({ tcp: echo.port, udpBind: 1, udpPeer: peer.port, refused: 1 });
  // The queues drain only when the test says so: the app falls as far behind as it can.
  const { manager, output } = managerWith(
    createConnectionLibrary({ allow: `127.0.0.1:${echo.port}` }),
    () => {},
  );
  const sizes = () => [...output().matchAll(/tcp got (\d+) bytes/g)].map((m) => Number(m[1]));
  const total = () => sizes().reduce((n, size) => n + size, 0);
  try {
    const client = manager.install("client", app);
    manager.runPending(); // on_init
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(client.queued > 0 && client.queued <= 20, `${client.queued} events wait`);
    const deadline = Date.now() + 10_000;
    while (total() < 65536 + 14 && Date.now() < deadline) {
      manager.runPending();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(total(), 65536 + 14, "every byte arrived");
    const text = [...output().matchAll(/tcp got \d+ bytes: (.*)\n/g)].map((m) => m[1]).join("");
    assert.equal(text, decoder.decode(greeting) + "hello over tcp", "in order");
    assert.ok(sizes().every((n) => n <= 256), `event sizes ${sizes()}`);
    assert.doesNotMatch(output(), /dropped/);
  } finally {
    manager.close();
    await echo.stop();
    await peer.stop();
  }
});

Deno.test("connection: an allowed server that is not there gives a handle, then a disconnect and the reason", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const peer = await udpPeer();
  const app = await buildApp({ tcp: port, udpBind: 1, udpPeer: peer.port, refused: 1 });
  const { manager, output } = managerWith(createConnectionLibrary({ allow: `127.0.0.1:${port}` }));
  try {
    manager.install("client", app);
    await waitFor(output, /tcp disconnected\n/);
    assert.match(output(), /tcp open: ok\ntcp sent 14\n/, "the connect happens in the background");
    assert.match(
      output(),
      new RegExp(
        `Connection 1 \\(TCP 127\\.0\\.0\\.1:${port}\\) of app "client" ended: opening failed: `,
      ),
    );
  } finally {
    manager.close();
    await peer.stop();
  }
});

Deno.test("connection: nothing is reachable by default; each refusal is logged", async () => {
  const echo = tcpServer();
  const peer = await udpPeer();
  const app = await buildApp({
    tcp: echo.port,
    udpBind: await freeUdpPort(),
    udpPeer: peer.port,
    refused: echo.port,
  });
  const { manager, output } = managerWith(connection);
  try {
    manager.install("client", app);
    await waitFor(output, /on_init done\n/);
    const out = output();
    assert.match(out, /tcp open: NULL\n/);
    assert.match(out, /udp open: NULL\n/);
    assert.match(out, /gets no connection: UDP port \d+: no peer is allowed \(--allow-connect\)/);
    assert.equal(echo.accepted, 0);
  } finally {
    manager.close();
    await echo.stop();
    await peer.stop();
  }
});

Deno.test("connection: --allow-connect entries are HOST:PORT or device paths", () => {
  assert.deepEqual(parseAllowList("127.0.0.1:80,[::1]:81 /dev/ttyS0;COM3"), {
    endpoints: [{ host: "127.0.0.1", port: 80 }, { host: "::1", port: 81 }],
    devices: ["/dev/ttyS0", "COM3"],
  });
  for (const bad of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "a:b", "::1:80"]) {
    assert.throws(() => parseAllowList(bad), new RegExp(`"${bad.replace(/[.[\]]/g, "\\$&")}"`));
  }
  assert.throws(
    () => connection.configure!({ allow: "nohost" }),
    /Invalid --allow-connect entry "nohost" is not HOST:PORT/,
  );
});

Deno.test("connection: serve refuses a bad --allow-connect as a usage error", async () => {
  const { runServe } = await import("../core/cli/serve_command.ts");
  let err = "";
  const status = await runServe(["--port", "0", "--allow-connect=127.0.0.1:80,example.com"], {
    stderr: (t) => err += t,
    stdout: () => {},
  });
  assert.equal(status, 2);
  assert.match(err, /^serve: Invalid --allow-connect entry "example.com" is not HOST:PORT/);
});

Deno.test("connection: apps loads it by default; --allow-connect lets an app open a serial line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "connection_uart_" });
  const echo = tcpServer();
  const taken = await udpPeer();
  try {
    // A FIFO opened for reading and writing is a serial line with its wires looped back.
    const device = `${dir}/tty`;
    const made = await new Deno.Command("mkfifo", { args: [device] }).output();
    assert.ok(made.success, "mkfifo");
    const app = await buildApp({
      tcp: echo.port,
      udpBind: taken.port,
      udpPeer: 1,
      refused: 1,
      device,
    });
    await Deno.writeFile(`${dir}/client.wasm`, app);
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        MOD,
        "apps",
        `--allow-connect=127.0.0.1:${echo.port},${device}`,
        "--duration",
        "3000",
        `${dir}/client.wasm`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = decoder.decode(run.stdout);
    assert.equal(run.code, 0, out + decoder.decode(run.stderr));
    assert.match(out, /tcp got 14 bytes: hello over tcp\n/);
    assert.match(out, /uart open: ok\nuart sent 15\n/);
    assert.match(out, /uart got \d+ bytes: hello over uart\n/);
    assert.match(out, /udp config: 0\n/, "port 1 is not allowed");
    assert.match(out, /may not send to 127\.0\.0\.1:1: not allowed \(--allow-connect\)/);
    assert.match(out, /Connection \d+ \(UDP port \d+\) of app "client" ended: cannot bind port/);
    assert.match(out, /udp disconnected\n/, "a port in use ends the socket with an event");
    assert.deepEqual(echo.received, ["hello over tcp"]);

    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", MOD, "apps", "--allow-connect=nowhere", `${dir}/client.wasm`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
    assert.match(decoder.decode(bad.stderr), /Invalid --allow-connect entry "nowhere"/);
  } finally {
    await echo.stop();
    await taken.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connection: serve loads it by default; uninstall over the host link closes the app's connection", async () => {
  const echo = tcpServer();
  const app = await buildApp({ tcp: echo.port, udpBind: 1, udpPeer: 1, refused: 1 });
  const server = await serve([`--allow-connect=127.0.0.1:${echo.port}`]);
  try {
    const client = await server.connect();
    assert.equal((await client.install("client", app)).status, 65);
    await server.waitFor(/tcp got 14 bytes: hello over tcp\n/);
    assert.deepEqual(echo.received, ["hello over tcp"]);
    assert.equal((await client.uninstall("client")).status, 66);
    await waitFor(() => String(echo.closedByPeer), /^1$/);
  } finally {
    await server.stop();
    await echo.stop();
  }
});

Deno.test("connection: examples/connection without --allow-connect prints WAMR's failure line", async () => {
  const { runAppsCommand } = await import("../core/cli/apps_command.ts");
  const { ManualClock } = await import("../sdk/clock.ts");
  const clock = new ManualClock();
  const stop = new AbortController();
  let out = "";
  const status = await runAppsCommand(
    [new URL("../examples/connection/connection.wasm", import.meta.url).pathname],
    {
      builtins: { libc, base },
      clock,
      stdout: (b) => out += decoder.decode(b),
      signal: stop.signal,
      // Stops like Ctrl-C once on_init has run (the queues drain on real macrotasks).
      onStart: () => waitFor(() => out, /on_init|fail/).then(() => stop.abort()),
    },
  );
  assert.equal(status, 0, out);
  assert.match(
    out,
    /gets no connection: TCP 127\.0\.0\.1:7777 is not allowed \(--allow-connect\)\nconnect to server fail!\n/,
  );
});
