// The connection plugin's event path: 64-byte round trips from a TCP server to an app that
// echoes what arrives back on its connection (on_connection_data -> wasm_send_on_connection),
// against the same round trips to a plain Deno echo loop. Loopback, one process.
import { AppManager } from "../core/framework/app_manager.ts";
import { Runtime } from "../core/instance/runtime.ts";
import base from "../natives/base/mod.ts";
import { createConnectionLibrary } from "../natives/connection/mod.ts";
import { AttrContainer, encodeAttrContainer } from "../sdk/mod.ts";
import { wat } from "../tests/_wat.ts";

// open(ptr, len) opens "TCP" with the attr_container at ptr; echoes every event back.
const ECHO_APP = wat(`(module
  (import "env" "wasm_open_connection" (func $open (param i32 i32 i32) (result i32)))
  (import "env" "wasm_send_on_connection" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "TCP\\00")
  (func (export "on_init"))
  (func (export "open") (param i32 i32) (result i32)
    (call $open (i32.const 16) (local.get 0) (local.get 1)))
  (func (export "on_connection_data") (param $handle i32) (param $buf i32) (param $len i32)
    (if (local.get $len)
      (then (drop (call $send (local.get $handle) (local.get $buf) (local.get $len)))))))`);

const PAYLOAD = new Uint8Array(64).fill(7);

async function roundTrip(conn: Deno.Conn, buffer: Uint8Array): Promise<void> {
  await conn.write(PAYLOAD);
  for (let got = 0; got < PAYLOAD.length;) {
    const n = await conn.read(buffer.subarray(got));
    if (n === null) throw new Error("The echo closed the connection");
    got += n;
  }
}

/** A server whose first client is the echo, and the connection to it. */
async function serverFor(connect: (port: number) => void | Promise<void>): Promise<Deno.Conn> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  await connect((listener.addr as Deno.NetAddr).port);
  const conn = await accepted;
  listener.close();
  conn.setNoDelay(true);
  return conn;
}

// The app: installed under a manager on the real clock, its connection allowed to the server.
let manager: AppManager | undefined;
const throughApp = await serverFor((port) => {
  const runtime = new Runtime({
    plugins: [base, createConnectionLibrary({ allow: `127.0.0.1:${port}` })],
    stdout: () => {},
  });
  manager = new AppManager(runtime, { stdout: () => {} });
  const app = manager.install("echo", ECHO_APP);
  manager.runPending();
  const args = encodeAttrContainer(
    new AttrContainer("").setString("address", "127.0.0.1").setInt("port", port),
  );
  app.instance.memory.write(1024, args);
  if (app.instance.call("open", 1024, args.length) === -1) throw new Error("open failed");
});

// The baseline: the same echo as a plain read/write loop.
const raw = await serverFor(async (port) => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  (async () => {
    const buffer = new Uint8Array(256);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      await conn.write(buffer.subarray(0, n));
    }
  })();
});

const buffer = new Uint8Array(PAYLOAD.length);

Deno.bench("64-byte TCP round trip, raw Deno echo", {
  group: "connection",
  baseline: true,
}, async () => {
  await roundTrip(raw, buffer);
});

Deno.bench("64-byte TCP round trip through an app's connection", {
  group: "connection",
}, async () => {
  await roundTrip(throughApp, buffer);
});

globalThis.addEventListener("unload", () => {
  manager?.close();
  raw.close();
  throughApp.close();
});
