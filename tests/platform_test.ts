import assert from "node:assert/strict";
import { Runtime } from "../core/instance/runtime.ts";
import libc from "../natives/libc/mod.ts";
import { createDisplayLibrary, getFramebuffer } from "../natives/display/mod.ts";
import sensor from "../natives/sensor/mod.ts";
import { type Platform, platform, type PlatformOutput, setPlatform } from "../sdk/platform.ts";
import { writeStderr } from "../sdk/output.ts";
import { defaultPlatform as webPlatform } from "../sdk/platform_web.ts";
import { wat } from "./_wat.ts";

const HELLO = new URL("../examples/hello/hello.wasm", import.meta.url);

/** An output that keeps what it gets, as a terminal of 40×12 cells or not. */
function capture(terminal = false): PlatformOutput & { text(): string } {
  const chunks: Uint8Array[] = [];
  return {
    write: (bytes) => void chunks.push(bytes.slice()),
    isTerminal: () => terminal,
    size: () => terminal ? { columns: 40, rows: 12 } : undefined,
    text: () => chunks.map((c) => new TextDecoder().decode(c)).join(""),
  };
}

/** A platform with captured streams and files from a map; nothing reaches Deno. */
function fake(files: Record<string, string> = {}, terminal = false) {
  const stdout = capture(terminal);
  const stderr = capture();
  const read = (path: string | URL): string => {
    const text = files[String(path)];
    if (text === undefined) throw new Error(`no file "${String(path)}" in the fake platform`);
    return text;
  };
  const unrefd: unknown[] = [];
  const fakePlatform: Platform = {
    name: "fake",
    stdin: { readSync: () => 0, isTerminal: () => false },
    stdout,
    stderr,
    readFile: (path) => Promise.resolve(new TextEncoder().encode(read(path))),
    readTextFileSync: read,
    connect: () => Promise.reject(new Error("no sockets here")),
    unrefTimer: (timer) => void unrefd.push(timer),
  };
  return { platform: fakePlatform, stdout, stderr, unrefd };
}

async function withPlatform<T>(next: Platform, fn: () => Promise<T> | T): Promise<T> {
  const previous = setPlatform(next);
  try {
    return await fn();
  } finally {
    setPlatform(previous);
  }
}

Deno.test("platform: Deno's is the default under Deno, and setPlatform returns the one it replaced", () => {
  const deno = platform();
  assert.equal(deno.name, "deno");
  const { platform: other } = fake();
  assert.equal(setPlatform(other), deno);
  assert.equal(platform(), other);
  assert.equal(setPlatform(deno), other);
});

Deno.test("platform: a runtime without sinks writes app output and warnings through it", async () => {
  const f = fake();
  const bytes = await Deno.readFile(HELLO);
  await withPlatform(f.platform, async () => {
    const runtime = new Runtime({ plugins: [libc] });
    const app = await runtime.instantiate(await runtime.load(bytes));
    app.callMain(["hello.wasm"]);
    app.stdout.flush();
    app.free();
    runtime.warn("careful");
    writeStderr("direct\n");
  });
  assert.match(f.stdout.text(), /^Hello world!\n[^]*argc=1 argv0=hello\.wasm\n$/);
  assert.equal(f.stderr.text(), "careful\ndirect\n");
});

Deno.test("platform: a runtime loads a module by path through its readFile", async () => {
  const source = await Deno.readFile(HELLO);
  const f = fake();
  f.platform.readFile = (path) =>
    path === "/apps/hello.wasm" ? Promise.resolve(source) : Promise.reject(new Error("nope"));
  const module = await withPlatform(f.platform, () => new Runtime().load("/apps/hello.wasm"));
  assert.equal(module.name, "hello.wasm");
  await assert.rejects(
    withPlatform(f.platform, () => new Runtime().load("/apps/other.wasm")),
    /Cannot read module "\/apps\/other\.wasm": nope/,
  );
});

Deno.test("platform: the display's terminal view draws on its stdout when that is a terminal", async () => {
  const f = fake({ "/clicks.json": `[{ "at": 0, "x": 1, "y": 2, "pressed": true }]` }, true);
  await withPlatform(f.platform, async () => {
    const display = createDisplayLibrary({ width: 8, height: 4, clock: () => 0 })
      .configure({ input: "/clicks.json" });
    const runtime = new Runtime({ plugins: [display], stdout: () => {} });
    const app = await runtime.instantiate(
      await runtime.load(wat(`(module
        (import "env" "display_fill" (func $fill (param i32 i32 i32 i32 i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "\\ff\\00\\00\\ff")
        (func (export "draw") (call $fill (i32.const 0) (i32.const 0) (i32.const 7)
          (i32.const 3) (i32.const 16))))`)),
      { heapSize: 0 },
    );
    assert.ok(display.state(app)!.view, "a terminal: the view is on");
    assert.equal(display.state(app)!.input.pending, 1, "the script came through readTextFileSync");
    app.call("draw");
    assert.equal(getFramebuffer(app, display)!.pixel(0, 0), 0xff0000ff);
    app.free();
  });
  assert.ok(f.stdout.text().startsWith("\x1b[2J"), "cleared and drawn on the platform's stdout");
});

Deno.test("platform: the sensor's CSV file is read through it", async () => {
  const f = fake({ "/data.csv": "temp\n21.5\n" });
  const lib = await withPlatform(
    f.platform,
    () => sensor.configure!({ driver: "csv", file: "/data.csv", name: "room" }),
  );
  assert.equal(lib.name, "sensor");
  assert.throws(
    () => sensor.configure!({ driver: "csv", file: "/missing.csv" }),
    /No such file|not found|\/missing\.csv/i,
  );
});

Deno.test("platform: the web platform takes Node.js's files where process.getBuiltinModule is", () => {
  // Deno provides Node.js's `process` with `getBuiltinModule`, so the bundle's platform picks
  // its Node.js branch here, as it does under Node.js (tests/bundle_test.ts runs it there).
  assert.equal(webPlatform.name, "node");
  assert.equal(typeof webPlatform.stdout.isTerminal(), "boolean");
  assert.throws(() => webPlatform.readTextFileSync("/no/such/file"), /ENOENT|no such file/i);
});
