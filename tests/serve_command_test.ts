import assert from "node:assert/strict";
import { HostService, runServe } from "../core/cli/serve_command.ts";
import { decode, toJSON } from "../sdk/attr_container.ts";
import { ExportedHeap } from "../core/instance/app_heap.ts";
import { buildWasiC, wasiFrameworkApp } from "./_wasi_c.ts";
import { wat } from "./_wat.ts";
import { serve as serveProcess } from "./_serve.ts";

/** Runs `serve` in-process up to its first answer; every case here ends before listening. */
async function serve(argv: string[]) {
  const decoder = new TextDecoder();
  let out = "";
  let err = "";
  const status = await runServe(argv, {
    stdout: (b) => out += decoder.decode(b),
    stderr: (t) => err += t,
  });
  return { status, out, err };
}

Deno.test("serve command: --help prints the usage and exits 0", async () => {
  const { status, out, err } = await serve(["--port=0", "-h"]);
  assert.equal(status, 0);
  assert.match(out, /^Usage: deno run mod\.ts serve \[options\]\n/);
  assert.equal(err, "");
});

Deno.test("serve command: wrong flags give one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [["--bogus"], 'Unknown option "--bogus"'],
    [["app.wasm"], 'Unknown option "app.wasm"'],
    [["--port"], "Missing value for --port"],
    [["--port", "70000"], 'Invalid value for --port: "70000" (expected a number)'],
    [["--max-apps=x"], 'Invalid value for --max-apps: "x" (expected a number)'],
    [
      ["--max-memory=lots"],
      'Invalid value for --max-memory: "lots" (expected bytes, or a number with K, M or G)',
    ],
    [["--app", "timer.wasm"], 'Invalid value for --app: "timer.wasm" (expected NAME=FILE)'],
    [["--stdio", "--serial=/dev/null"], "Choose one of --stdio and --serial"],
  ];
  for (const [argv, message] of cases) {
    const { status, out, err } = await serve(argv);
    assert.equal(err, `serve: ${message}. Run with --help for usage.\n`, argv.join(" "));
    assert.equal(out, "");
    assert.equal(status, 2);
  }
});

Deno.test("serve command: an app built with wasi-libc answers requests through its own malloc", async () => {
  // examples/request_handler against wasi-libc, exporting malloc and free: a WASI app gets no
  // runtime heap, so the app manager copies each request into the app's own allocation.
  const wasm = await buildWasiC(wasiFrameworkApp("examples/request_handler/request_handler.c"));
  let out = "";
  const service = await HostService.start({
    listen: false,
    apps: [{ name: "handler", bytes: await Deno.readFile(wasm) }],
    stdout: (bytes) => out += new TextDecoder().decode(bytes),
  });
  try {
    const app = service.manager.apps.find((a) => a.name === "handler")!;
    assert.ok(app.instance.heap instanceof ExportedHeap);
    const response = await service.manager.request({ url: "/url1", action: 1 });
    assert.equal(response.status, 69);
    assert.deepEqual(toJSON(decode(response.payload!)), { key1: "value1", key2: "value2" });
    assert.equal((await service.manager.request({ url: "/url2", action: 1 })).status, 66);
    assert.match(out, /\[resp\] ### user resource 1 handler called\n### user resource 2/);
  } finally {
    await service.shutdown();
  }
});

Deno.test("serve command: a WASI app that exports no malloc gets no runtime heap pages", async () => {
  // wasi-libc's malloc may claim memory up to the end at its first call: pages appended for a
  // runtime heap would be handed out twice.
  const bytes = wat(`(module
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "on_init")))`);
  const service = await HostService.start({
    listen: false,
    apps: [{ name: "wasi", bytes }, {
      name: "plain",
      bytes: wat(`(module
      (memory (export "memory") 1) (func (export "on_init")))`),
    }],
    stdout: () => {},
  });
  try {
    const pages = (name: string) =>
      service.manager.apps.find((a) => a.name === name)!.instance.memory.memory.buffer.byteLength /
      65536;
    assert.equal(pages("wasi"), 1);
    assert.equal(pages("plain"), 2); // the default 8 KiB heap, in a page of its own
  } finally {
    await service.shutdown();
  }
});

Deno.test("serve command: the link's flags are checked: limits, TLS pairs, token files", async () => {
  const cases: [string[], string][] = [
    [["--max-connections=0"], 'Invalid value for --max-connections: "0" (expected 1 or more)'],
    [["--idle-timeout=soon"], 'Invalid value for --idle-timeout: "soon" (expected a number)'],
    [["--tls-cert=c.pem"], "Give both --tls-cert and --tls-key"],
    [["--tls-key=k.pem"], "Give both --tls-cert and --tls-key"],
    [
      ["--stdio", "--tls-cert=c.pem", "--tls-key=k.pem"],
      "TLS serves TCP links: not with --stdio or --serial",
    ],
  ];
  for (const [argv, message] of cases) {
    const { status, err } = await serve(argv);
    assert.equal(err, `serve: ${message}. Run with --help for usage.\n`, argv.join(" "));
    assert.equal(status, 2);
  }
  const missing = await serve(["--port=0", "--token-file=/nonexistent/token"]);
  assert.equal(missing.status, 1);
  assert.match(missing.err, /^serve: Cannot read the token file "\/nonexistent\/token": /);
});

// Imports a function no library provides: WAMR's default links it to a trapping stub.
const UNKNOWN_IMPORT = wat(`(module
  (import "env" "not_provided" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "on_init")))`);
const LINK_ERROR = 'Cannot link import "env"."not_provided" (function (i32) -> ()): ' +
  "no native library, definition or registered instance provides it";

Deno.test("serve command: --unknown-imports=error refuses an install over the link, and installs nothing", async () => {
  const process = await serveProcess(["--unknown-imports=error"]);
  try {
    const client = await process.connect();
    const refused = await client.install("odd", UNKNOWN_IMPORT);
    assert.equal(refused.status, 160);
    assert.equal(
      refused.container?.get("error message")?.value,
      `Install WASM app failed: ${LINK_ERROR}`,
    );
    assert.equal((await client.query()).container?.get("num")?.value, 0);
    // An app whose imports are all provided still installs.
    const plain = wat(`(module (memory (export "memory") 1) (func (export "on_init")))`);
    assert.equal((await client.install("plain", plain)).status, 65);
    assert.equal((await client.query()).container?.get("num")?.value, 1);
  } finally {
    await process.stop();
  }
});

Deno.test("serve command: --unknown-imports is checked, and an --app it refuses stops start-up", async () => {
  const bad = await serve(["--unknown-imports=stub"]);
  assert.equal(
    bad.err,
    'serve: Invalid value for --unknown-imports: "stub" (expected trap or error). ' +
      "Run with --help for usage.\n",
  );
  assert.equal(bad.status, 2);
  const file = await Deno.makeTempFile({ suffix: ".wasm" });
  try {
    await Deno.writeFile(file, UNKNOWN_IMPORT);
    const refused = await serve(["--port=0", "--unknown-imports=error", `--app=odd=${file}`]);
    assert.equal(refused.status, 1);
    assert.equal(refused.err, `serve: Install WASM app failed: ${LINK_ERROR}\n`);
    assert.match((await serve(["--help"])).out, /--unknown-imports <how>/);
  } finally {
    await Deno.remove(file);
  }
});
