import assert from "node:assert/strict";
import { runAppsCommand } from "../core/cli/apps_command.ts";
import { ManualClock } from "../sdk/clock.ts";
import base from "../natives/base/mod.ts";
import libc from "../natives/libc/mod.ts";
import { TIMER } from "./_apps.ts";
import { wat } from "./_wat.ts";
import { buildWasiC, wasiFrameworkApp } from "./_wasi_c.ts";

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
  assert.match(
    (await run(["a.wasm", "--deadline-ms", "soon"])).err,
    /Option --deadline-ms needs a non-negative integer, got "soon"/,
  );
  assert.match(
    (await run(["a.wasm", "--max-memory=64Q"])).err,
    /Option --max-memory needs a size \(bytes, or with K, M or G\), got "64Q"/,
  );
  const missing = await run(["/nonexistent/app.wasm"]);
  assert.equal(missing.status, 1);
  assert.match(missing.err, /Cannot read "\/nonexistent\/app.wasm": no such file/);
  const help = await run(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.out, /^Usage: deno run mod.ts apps/);
});

Deno.test("apps command: flags take =value or the next argument, anywhere among the files", async () => {
  const argv = ["--heap-size=4096", "a.wasm", "-v", "--timers", "2", "--duration", "10"];
  const { status, out } = await run(argv, { "a.wasm": PLAIN }, 10);
  assert.equal(status, 0);
  assert.match(out, /^Install WASM app success!\nWASM app 'a' started\n/);
  const cases: [string[], string][] = [
    [["a.wasm", "--duration"], "Missing value for --duration"],
    [["a.wasm", "--plugin="], "Option --plugin needs a module path or a built-in name"],
    [["a.wasm", "--timers=-1"], 'Option --timers needs a non-negative integer, got "-1"'],
    [["a.wasm", "-x"], 'Unknown option "-x"'],
  ];
  for (const [argv, message] of cases) {
    const r = await run(argv, { "a.wasm": PLAIN });
    assert.equal(r.err, `error: ${message}. Run "apps --help" for usage.\n`, argv.join(" "));
    assert.equal(r.status, 2);
  }
});

Deno.test("apps command: an app built with wasi-libc prints through WASI, a line at a time", async () => {
  // examples/timer/timer.c against wasi-libc: printf is wasi-libc's, writing with fd_write.
  const wasm = await buildWasiC(wasiFrameworkApp("examples/timer/timer.c"));
  const { status, out, err } = await run([wasm, "--duration", "2500"], {}, 2500);
  assert.equal(err, "");
  assert.equal(status, 0);
  assert.match(out, /WASM app '\d+' started\nTimer update 0\nTimer update 1\nApp instance main/);
});

// Imports a function no library provides: WAMR's default links it to a trapping stub.
const UNKNOWN = wat(`(module
  (import "env" "not_provided" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "on_init")))`);

Deno.test("apps command: --unknown-imports=error refuses an app with an import nothing provides", async () => {
  const refused = await run(["--unknown-imports=error", "odd.wasm", "--duration", "10"], {
    "odd.wasm": UNKNOWN,
  }, 10);
  assert.equal(refused.status, 1);
  assert.equal(
    refused.out,
    'Install WASM app failed: Cannot link import "env"."not_provided" (function (i32) -> ()): ' +
      "no native library, definition or registered instance provides it\n",
  );
  // Without the flag (and with =trap) the app installs and runs until it calls the import.
  for (const argv of [["odd.wasm"], ["odd.wasm", "--unknown-imports", "trap"]]) {
    const r = await run([...argv, "--duration", "10"], { "odd.wasm": UNKNOWN }, 10);
    assert.equal(r.status, 0);
    assert.match(
      r.out,
      /^warning: failed to link import function \(env, not_provided\)\nInstall WASM app success!\n/,
    );
  }
  const bad = await run(["odd.wasm", "--unknown-imports=stub"], { "odd.wasm": UNKNOWN });
  assert.equal(bad.status, 2);
  assert.equal(
    bad.err,
    'error: Invalid value for --unknown-imports: "stub" (expected trap or error). ' +
      'Run "apps --help" for usage.\n',
  );
  assert.match((await run(["--help"])).out, /--unknown-imports <how>/);
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

// ---- limits, in a real process -------------------------------------------------------------

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const limitsApp = (name: string) =>
  new URL(`../examples/limits/${name}.wasm`, import.meta.url).pathname;
const HEALTHY = new URL("../examples/request_handler/request_handler.wasm", import.meta.url)
  .pathname;

/** `deno run mod.ts apps …` with its output collected; `waitFor` awaits a pattern. */
function spawnApps(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "apps", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pumps = Promise.all([
    (async () => {
      for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) out += t;
    })(),
    new Response(child.stderr).text(),
  ]);
  return {
    child,
    get out() {
      return out;
    },
    async waitFor(pattern: RegExp): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern}: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async ended() {
      const status = await child.status;
      const [, err] = await pumps;
      return { status, err };
    },
  };
}

Deno.test({
  name: "apps command: looping apps are suspended and the run still ends on --duration",
  sanitizeResources: false,
  fn: async () => {
    const run = spawnApps([
      limitsApp("loop_timer"),
      limitsApp("loop_init"),
      limitsApp("loop_start"),
      HEALTHY,
      "--duration",
      "4000",
    ]);
    await run.waitFor(/WASM app 'request_handler' started\n/);
    const started = Date.now();
    const { status, err } = await run.ended();
    const took = Date.now() - started;
    assert.equal(status.code, 0, err);
    assert.ok(took < 4000 + 1500, `ended ${took} ms after the start, --duration 4000`);
    const out = run.out;
    assert.match(
      out,
      /WASM app 'loop_start' suspended: execution deadline exceeded in the start function\n/,
    );
    assert.match(out, /WASM app 'loop_init' suspended: execution deadline exceeded in on_init\n/);
    assert.match(
      out,
      /WASM app 'loop_timer' suspended: execution deadline exceeded 3 times in a row in on_timer_callback\n/,
    );
    assert.equal(out.split("Uninstall WASM app successful!").length - 1, 4);
    assert.equal(out.split("App instance main thread exit.").length - 1, 1, "only request_handler");
  },
});

Deno.test({
  name: "apps command: SIGINT ends the run while an app is looping",
  ignore: Deno.build.os === "windows",
  sanitizeResources: false,
  fn: async () => {
    const run = spawnApps([limitsApp("loop_timer"), HEALTHY]);
    await run.waitFor(/WASM app 'request_handler' started\n/);
    // The 10 ms timer's callback is spinning by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = Date.now();
    run.child.kill("SIGINT");
    const { status, err } = await run.ended();
    const took = Date.now() - sent;
    assert.equal(status.code, 0, err);
    assert.ok(took < 1500, `ended ${took} ms after SIGINT (deadline 1000 ms)`);
    assert.match(run.out, /Got exception running wasm code: execution deadline exceeded\n/);
    assert.match(run.out, /Uninstall WASM app successful!\n$/);
  },
});
