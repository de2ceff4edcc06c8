import assert from "node:assert/strict";
import { runAppsCommand } from "../core/apps_command.ts";
import { ManualClock } from "../core/clock.ts";
import base from "../natives/base/mod.ts";
import libc from "../natives/libc/mod.ts";
import { TIMER } from "./_apps.ts";
import { wat } from "./_wat.ts";

// Apps that need only the built-in plugins: on_init registers /hello; on_destroy prints.
const PLAIN = wat(`(module
  (import "env" "wasm_register_resource" (func $reg (param i32)))
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "/hello\\00")
  (data (i32.const 32) "bye\\00")
  (func (export "on_init") (call $reg (i32.const 16)))
  (func (export "on_destroy") (drop (call $puts (i32.const 32)))))`);

const decoder = new TextDecoder();
const builtins = { libc, base };

async function run(argv: string[], files: Record<string, Uint8Array> = {}, advance = 0) {
  const chunks: string[] = [];
  const errors: string[] = [];
  const clock = new ManualClock();
  const status = await runAppsCommand(argv, {
    builtins,
    clock,
    stdout: (b) => chunks.push(decoder.decode(b)),
    stderr: (t) => errors.push(t),
    signal: new AbortController().signal,
    readFile: (path) =>
      files[path] ? Promise.resolve(files[path]) : Deno.readFile(new URL(path, import.meta.url)),
    onStart: () => clock.advance(advance),
  });
  return { status, out: chunks.join(""), err: errors.join("") };
}

Deno.test("apps command: installs each file under its name and uninstalls all at the end", async () => {
  const { status, out } = await run(["dir/server.wasm", "client.wasm", "--duration", "100"], {
    "dir/server.wasm": PLAIN,
    "client.wasm": PLAIN,
  }, 100);
  assert.equal(status, 0);
  assert.equal(
    out,
    [
      "Install WASM app success!",
      "WASM app 'server' started",
      "Install WASM app success!",
      "WASM app 'client' started",
      'Register resource "/hello" failed: it is already registered',
      "App instance main thread exit.",
      "bye",
      "Uninstall WASM app successful!",
      "App instance main thread exit.",
      "bye",
      "Uninstall WASM app successful!",
      "",
    ].join("\n"),
  );
});

Deno.test("apps command: the abort signal stops the run like Ctrl-C", async () => {
  const controller = new AbortController();
  const clock = new ManualClock();
  const chunks: string[] = [];
  const status = await runAppsCommand(["timer.wasm"], {
    builtins,
    clock,
    stdout: (b) => chunks.push(decoder.decode(b)),
    signal: controller.signal,
    readFile: () => Promise.resolve(TIMER),
    onStart: (manager) => {
      assert.deepEqual(manager.apps.map((a) => a.name), ["timer"]);
      controller.abort();
    },
  });
  assert.equal(status, 0);
  assert.match(chunks.join(""), /Uninstall WASM app successful!\n$/);
});

Deno.test("apps command: usage errors exit 2, unreadable files exit 1", async () => {
  assert.equal((await run([])).status, 2);
  assert.equal((await run(["a.wasm", "--duration", "x"])).status, 2);
  assert.match((await run(["--bogus"])).err, /Unknown option "--bogus"/);
  const missing = await run(["/nonexistent/app.wasm"]);
  assert.equal(missing.status, 1);
  assert.match(missing.err, /Cannot read "\/nonexistent\/app.wasm": no such file/);
  const help = await run(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.out, /^Usage: deno run mod.ts apps/);
});

Deno.test("apps command: an install failure stops the apps already running", async () => {
  const { status, out } = await run(["a.wasm", "a.wasm"], { "a.wasm": PLAIN });
  assert.equal(status, 1);
  assert.match(
    out,
    /Install WASM app failed: app already installed\.\nApp instance main thread exit\./,
  );
});

Deno.test({
  name: "apps command: WAMR's five simple apps together print what WAMR's runtime printed",
  fn: async () => {
    const names = [
      "timer",
      "request_handler",
      "request_sender",
      "event_publisher",
      "event_subscriber",
    ];
    const { status, out } = await run(
      [...names.map((n) => `../examples/${n}/${n}.wasm`), "--duration", "3500"],
      {},
      3500,
    );
    assert.equal(status, 0);
    const lines = out.split("\n");
    assert.deepEqual(lines.filter((l) => l.startsWith("Timer update")), [
      "Timer update 0",
      "Timer update 1",
      "Timer update 2",
    ]);
    const responses = lines.filter((l) => l.startsWith("[req] response handler called"));
    assert.equal(responses.length, 2);
    assert.match(
      responses[0]!,
      /^\[req\] response handler called mid:1, status:69, fmt:99, payload:0x[0-9a-f]+, len:134, tag:a request to target app$/,
    );
    assert.match(responses[1]!, /mid:2, status:69, fmt:99, .*len:134, tag:a general request$/);
    assert.equal(lines.filter((l) => l === "[resp] ### user resource 1 handler called").length, 2);
    const event = [
      "### user over heat event handler called",
      "Attribute container dump:",
      "Tag: event",
      "Attribute list:",
      "  key: warning, type: string, value: temperature is over high",
      "",
    ].join("\n");
    assert.equal(out.split(event).length - 1, 3);
    assert.equal(lines.filter((l) => l === "Uninstall WASM app successful!").length, 5);
    assert.doesNotMatch(out, /exception|failed/i);
  },
});
