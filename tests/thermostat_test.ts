import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Runtime } from "../core/instance/runtime.ts";
import libc from "../natives/libc/mod.ts";
import thermostat from "../examples/thermostat/plugin.ts";
import { wat } from "./_wat.ts";

const ROOT = new URL("../", import.meta.url);
const APP = "examples/thermostat/thermostat_app.wasm";

const EXPECTED = `target: 21.5 C
reading 1: 18.5 C
reading 2: 19.0 C
reading 3: 19.5 C
reading 4: 20.0 C
reading 5: 20.5 C
living room: 20.5 C (19 chars)
truncated: "living " of 19
`;

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: fileURLToPath(ROOT),
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code,
    out: new TextDecoder().decode(stdout),
    err: new TextDecoder().decode(stderr),
  };
}

// Serves the repository over HTTP on loopback, like a vendor's static host.
function serveRepo(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(new URL("." + path, ROOT));
      const type = path.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

Deno.test("thermostat: the CLI loads the vendor plugin by path and runs the app", async () => {
  const { code, out, err } = await runCli([
    "run",
    "--allow-read",
    "mod.ts",
    "--plugin",
    "./examples/thermostat/plugin.ts",
    APP,
  ]);
  assert.equal(code, 0, err);
  assert.equal(out, EXPECTED);
});

Deno.test("thermostat: the CLI loads the vendor plugin by URL", async () => {
  const server = serveRepo();
  const origin = `127.0.0.1:${server.addr.port}`;
  try {
    const { code, out, err } = await runCli([
      "run",
      "--no-lock",
      "--allow-read",
      `--allow-import=${origin}`,
      "mod.ts",
      "--plugin",
      `http://${origin}/examples/thermostat/plugin.ts`,
      APP,
    ]);
    assert.equal(code, 0, err);
    assert.equal(out, EXPECTED);
  } finally {
    await server.shutdown();
  }
});

Deno.test("thermostat: without the plugin the app's natives are missing", async () => {
  const { out, err } = await runCli(["run", "--allow-read", "mod.ts", APP]);
  assert.match(err, /failed to link import function \(env, thermo_get\)/);
  assert.doesNotMatch(out, /reading 1/);
});

Deno.test("thermostat: each app has its own room, and labels follow snprintf", async () => {
  const runtime = new Runtime({ plugins: [libc, thermostat], stdout: () => {} });
  const module = await runtime.load(wat(`(module
    (import "env" "thermo_get" (func $get (result i32)))
    (import "env" "thermo_set_target" (func $set (param i32)))
    (import "env" "thermo_label" (func $label (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "hall\\00")
    (func (export "get") (result i32) call $get)
    (func (export "set") (param i32) local.get 0 call $set)
    (func (export "label") (param i32 i32) (result i32)
      i32.const 0 local.get 0 local.get 1 call $label))`));
  const a = await runtime.instantiate(module, { heapSize: 0 });
  const b = await runtime.instantiate(module, { heapSize: 0 });
  const text = (app: typeof a, len: number) =>
    new TextDecoder().decode(new Uint8Array(app.memory.memory.buffer, 64, len));

  a.call("set", 190);
  assert.deepEqual([a.call("get"), a.call("get"), a.call("get"), a.call("get")], [
    185,
    190,
    190,
    190,
  ]);
  assert.equal(b.call("get"), 180, "b's room did not move");
  b.call("set", -12);
  for (let i = 0; i < 40; i++) b.call("get");
  assert.equal(b.call("get"), -12);

  assert.equal(a.call("label", 0, 0), "hall: 19.0 C".length, "NULL, 0 asks for the length");
  assert.equal(a.call("label", 64, 13), 12);
  assert.equal(text(a, 13), "hall: 19.0 C\0");
  new Uint8Array(a.memory.memory.buffer).fill(0x7e, 64, 80);
  assert.equal(a.call("label", 64, 5), 12);
  assert.equal(text(a, 6), "hall\0~", "truncated, NUL-terminated, nothing past the buffer");
  assert.equal(b.call("label", 64, 32), 12);
  assert.equal(text(b, 14), "hall: -1.2 C\0\0");
  assert.throws(() => a.call("label", 65530, 16), /out of bounds memory access/);
  a.free();
  b.free();
});
