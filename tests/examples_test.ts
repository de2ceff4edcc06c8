import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  buildExamples,
  CONNECTION_NATIVES,
  EXAMPLES,
  expectedExports,
  FRAMEWORK_CALLBACKS,
  FRAMEWORK_NATIVES,
  SDK_SOURCES,
  SENSOR_NATIVES,
  sourcePath,
  wasmPath,
} from "../sdk/c/build.ts";
import { AttrContainer, decode, encodeLikeWamr } from "../sdk/attr_container.ts";
import { type CApp, loadCApp } from "./_c_app.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

// The libc natives an example may import (WAMR HEAD libc-builtin, as declared in sdk/c/include).
const LIBC_NATIVES = new Set([
  "printf",
  "sprintf",
  "snprintf",
  "vprintf",
  "vsprintf",
  "vsnprintf",
  "puts",
  "putchar",
  "malloc",
  "calloc",
  "realloc",
  "free",
  "atoi",
  "exit",
  "strtol",
  "strtoul",
  "abort",
  "memcmp",
  "memcpy",
  "memmove",
  "memset",
  "memchr",
  "strchr",
  "strcmp",
  "strncmp",
  "strcpy",
  "strncpy",
  "strlen",
  "strdup",
  "strncasecmp",
  "strspn",
  "strcspn",
  "strstr",
  "isupper",
  "isalpha",
  "isspace",
  "isgraph",
  "isprint",
  "isdigit",
  "isxdigit",
  "tolower",
  "toupper",
  "isalnum",
]);

function readExample(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const example = EXAMPLES.find((e) => e.name === name);
  if (example === undefined) throw new Error(`No example named "${name}"`);
  return Deno.readFile(join(ROOT, wasmPath(example)));
}

// An assert.throws validator: the error's class and part of its message.
function trapWith(
  type: new (...args: never[]) => Error,
  message: string,
): (error: unknown) => boolean {
  return function isExpected(error: unknown): boolean {
    return error instanceof type && error.message.includes(message);
  };
}

// The `env` functions a test does not care about; calling one is a test failure.
function unexpectedImports(module: WebAssembly.Module): Record<string, () => never> {
  const env: Record<string, () => never> = {};
  for (const { name } of WebAssembly.Module.imports(module)) {
    env[name] = function unexpected(): never {
      throw new Error(`Unexpected call of import "env"."${name}"`);
    };
  }
  return env;
}

Deno.test({
  name: "examples: committed .wasm match a rebuild",
  async fn() {
    const tempDir = await Deno.makeTempDir({ prefix: "examples_test_" });
    try {
      const rebuilt = await buildExamples(tempDir);
      assert.deepEqual(rebuilt.length, EXAMPLES.length);
      for (const [i, example] of EXAMPLES.entries()) {
        const committed = await Deno.readFile(join(ROOT, wasmPath(example)));
        const fresh = await Deno.readFile(rebuilt[i]!);
        assert.deepEqual(committed, fresh, `${wasmPath(example)} differs from a rebuild`);
      }
    } finally {
      await Deno.remove(tempDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "examples: printf expected.txt is what glibc prints for printf.c",
  async fn() {
    const tempDir = await Deno.makeTempDir({ prefix: "examples_test_" });
    try {
      const native = join(tempDir, "printf_native");
      const compiled = await new Deno.Command("clang-19", {
        args: [join(ROOT, "examples/printf/printf.c"), "-o", native],
        stderr: "piped",
      }).output();
      assert(compiled.success, new TextDecoder().decode(compiled.stderr));
      const run = await new Deno.Command(native, { stdout: "piped" }).output();
      assert(run.success);
      const expected = await Deno.readTextFile(join(ROOT, "examples/printf/expected.txt"));
      assert.deepEqual(new TextDecoder().decode(run.stdout), expected);
    } finally {
      await Deno.remove(tempDir, { recursive: true });
    }
  },
});

Deno.test("examples: every C source is a known example with its .wasm committed", async () => {
  const known = new Set(EXAMPLES.map(sourcePath));
  // Folders with a build of their own: emscripten/build.ts and wasi/build.ts (checked by
  // emscripten_test.ts and wasi_examples_test.ts).
  const ownBuild = new Set(["emscripten", "wasi"]);
  for await (const dir of Deno.readDir(join(ROOT, "examples"))) {
    if (!dir.isDirectory || ownBuild.has(dir.name)) continue;
    for await (const file of Deno.readDir(join(ROOT, "examples", dir.name))) {
      if (!file.name.endsWith(".c")) continue;
      const source = join("examples", dir.name, file.name);
      assert(known.has(source), `${source} is not listed in EXAMPLES in sdk/c/build.ts`);
    }
  }
  for (const example of EXAMPLES) {
    const bytes = await Deno.readFile(join(ROOT, wasmPath(example)));
    assert.deepEqual(
      [...bytes.subarray(0, 8)],
      [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
      wasmPath(example),
    );
  }
});

Deno.test("examples: each .wasm has the promised exports and only env imports", async () => {
  for (const example of EXAMPLES) {
    const where = wasmPath(example);
    const module = new WebAssembly.Module(await Deno.readFile(join(ROOT, where)));
    const exports = WebAssembly.Module.exports(module).map((e) => e.name).sort();
    assert.deepEqual(exports, expectedExports(example), where);

    const allowed = new Set([...LIBC_NATIVES, ...example.extraImports]);
    for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
      assert.deepEqual(`${from}.${kind}`, "env.function", `${where} imports ${from}.${name}`);
      assert(allowed.has(name), `${where} imports "${name}", which no native provides`);
    }
  }
});

Deno.test("examples: fib exports return what the CLI's -f tests expect", async () => {
  const module = new WebAssembly.Module(await readExample("fib"));
  const { exports } = new WebAssembly.Instance(module, { env: unexpectedImports(module) });
  const call = (name: string, ...args: (number | bigint)[]): unknown =>
    (exports[name] as (...a: (number | bigint)[]) => unknown)(...args);

  assert.deepEqual(call("fib", 24), 46368);
  assert.deepEqual(call("add", 2, 3), 5);
  assert.deepEqual(call("i64f", 5n, 2.5), 12n);
  assert.deepEqual(call("f32f", 2), 3);
  assert.deepEqual(call("f64f", 2), 3);
  assert.deepEqual(call("divz", 5), 2);
  assert.throws(
    () => call("divz", 0),
    trapWith(WebAssembly.RuntimeError, "divide by zero"),
  );
});

Deno.test("examples: traps exports each trap in the promised way", async () => {
  const module = new WebAssembly.Module(await readExample("traps"));
  let strlenArg = -1;
  const env = {
    ...unexpectedImports(module),
    strlen(ptr: number): number {
      strlenArg = ptr;
      return 0;
    },
  };
  const { exports } = new WebAssembly.Instance(module, { env });
  const call = (name: string, ...args: number[]): unknown =>
    (exports[name] as (...a: number[]) => unknown)(...args);
  const traps = (name: string, message: string, ...args: number[]): void => {
    assert.throws(
      () => call(name, ...args),
      trapWith(WebAssembly.RuntimeError, message),
    );
  };

  // V8's wording for each wasm trap; the runtime maps them to WAMR's.
  traps("unreachable_trap", "unreachable");
  traps("oob_load", "memory access out of bounds");
  traps("divz", "divide by zero", 0);
  assert.deepEqual(call("divz", 5), 2);
  traps("int_overflow", "divide result unrepresentable");
  traps("bad_convert", "float unrepresentable in integer range");
  traps("indirect_mismatch", "function signature mismatch");
  assert.throws(() => call("stack_overflow"), trapWith(RangeError, "call stack"));
  assert.throws(() => call("call_missing"), trapWith(Error, `"env"."foo_missing"`));

  // strlen_bad passes the last byte of memory, set to 'x': a checked strlen runs off the end.
  call("strlen_bad");
  const memory = new Uint8Array((exports.memory as WebAssembly.Memory).buffer);
  assert.deepEqual(strlenArg, memory.length - 1);
  assert.deepEqual(memory[strlenArg], "x".charCodeAt(0));
  assert.deepEqual(call("__main_argc_argv", 0, 0), 0);
});

Deno.test("examples: SDK_SOURCES lists every sdk/c/src/*.c, sorted", async () => {
  const onDisk: string[] = [];
  for await (const file of Deno.readDir(join(ROOT, "sdk/c/src"))) {
    if (file.name.endsWith(".c")) onDisk.push(`sdk/c/src/${file.name}`);
  }
  assert.deepEqual([...SDK_SOURCES], onDisk.sort());
});

// The framework natives each app-framework example imports: what its code can reach.
const FRAMEWORK_IMPORTS: Record<string, string[]> = {
  // Every app can answer a request for an unknown URL (4.04) and can own timers.
  timer: ["wasm_create_timer", "wasm_response_send", "wasm_timer_restart"],
  request_handler: ["wasm_register_resource", "wasm_response_send", "wasm_sub_event"],
  request_sender: ["wasm_create_timer", "wasm_post_request", "wasm_response_send"],
  event_publisher: ["wasm_create_timer", "wasm_post_request", "wasm_response_send"],
  event_subscriber: ["wasm_register_resource", "wasm_response_send", "wasm_sub_event"],
  room_temp_service: ["wasm_register_resource", "wasm_response_send", "wasm_sub_event"],
  room_temp_client: ["wasm_create_timer", "wasm_post_request", "wasm_response_send"],
  sensor: ["wasm_sensor_open", "wasm_sensor_config", "wasm_sensor_close", "wasm_response_send"],
  connection: [
    "wasm_open_connection",
    "wasm_send_on_connection",
    "wasm_close_connection",
    "wasm_register_resource",
    "wasm_create_timer",
    "wasm_response_send",
  ],
  loop_init: ["wasm_response_send"],
  loop_request: ["wasm_register_resource", "wasm_response_send"],
  loop_timer: ["wasm_create_timer", "wasm_response_send"],
  loop_start: ["wasm_response_send"],
  memory_hog: ["wasm_register_resource", "wasm_create_timer", "wasm_response_send"],
  storm: ["wasm_register_resource", "wasm_post_request", "wasm_response_send"],
  forger: ["wasm_register_resource", "wasm_post_request", "wasm_response_send"],
};

Deno.test("examples: app-framework apps export the callbacks and import framework natives", async () => {
  const framework = EXAMPLES.filter((e) => e.callbacks !== undefined);
  assert.deepEqual(framework.map((e) => e.name).sort(), Object.keys(FRAMEWORK_IMPORTS).sort());
  const natives = new Set([...FRAMEWORK_NATIVES, ...SENSOR_NATIVES, ...CONNECTION_NATIVES]);
  for (const example of framework) {
    const where = wasmPath(example);
    const module = new WebAssembly.Module(await Deno.readFile(join(ROOT, where)));
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    for (const name of FRAMEWORK_CALLBACKS) assert(exports.includes(name), `${where}: ${name}`);
    const imported = WebAssembly.Module.imports(module).map((i) => i.name);
    for (const name of FRAMEWORK_IMPORTS[example.name]!) {
      assert(imported.includes(name), `${where} should import "${name}"`);
    }
    for (const name of imported) {
      assert(LIBC_NATIVES.has(name) || natives.has(name), `${where} imports "${name}"`);
    }
  }
});

async function loadExample(name: string): Promise<CApp> {
  return await loadCApp(await readExample(name));
}

const ID_HOST = 0xfffffffd;

// A request packet (big-endian, 18-byte header, URL with its NUL, payload).
function requestPacket(
  action: number,
  url: string,
  mid: number,
  payload: Uint8Array = new Uint8Array(),
  fmt = 0,
  sender = ID_HOST,
): Uint8Array {
  const urlBytes = new TextEncoder().encode(`${url}\0`);
  const out = new Uint8Array(18 + urlBytes.length + payload.length);
  const view = new DataView(out.buffer);
  out[0] = 1;
  out[1] = action;
  view.setUint16(2, fmt);
  view.setUint32(4, mid);
  view.setUint32(8, sender);
  view.setUint16(12, urlBytes.length);
  view.setUint32(14, payload.length);
  out.set(urlBytes, 18);
  out.set(payload, 18 + urlBytes.length);
  return out;
}

function responsePacket(status: number, mid: number, payload: Uint8Array, fmt: number): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const view = new DataView(out.buffer);
  out[0] = 1;
  out[1] = status;
  view.setUint16(2, fmt);
  view.setUint32(4, mid);
  view.setUint32(8, 1);
  view.setUint32(12, payload.length);
  out.set(payload, 16);
  return out;
}

// The response header fields and payload of a packet the app sent.
function parseResponse(bytes: Uint8Array): [number, number, number, number, Uint8Array] {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.deepEqual(bytes[0], 1);
  assert.deepEqual(view.getUint32(12), bytes.length - 16);
  return [bytes[1]!, view.getUint16(2), view.getUint32(4), view.getUint32(8), bytes.subarray(16)];
}

function deliver(app: CApp, callback: string, packet: Uint8Array): void {
  app.call(callback, app.put(packet), packet.length);
}

function sent(app: CApp, name: string): Uint8Array[] {
  return app.calls.filter((c) => c.name === name).map((c) => c.bytes!);
}

Deno.test("examples: timer prints 'Timer update <n>' from 0 on each expiry", async () => {
  const app = await loadExample("timer");
  app.call("on_init");
  assert.deepEqual(app.calls.map((c) => [c.name, ...c.args]), [
    ["wasm_create_timer", 1000, 1, 0],
    ["wasm_timer_restart", 1, 1000],
  ]);
  for (let i = 0; i < 3; i++) app.call("on_timer_callback", 1);
  app.call("on_timer_callback", 99); // not its timer: ignored
  assert.deepEqual(app.takeOutput(), "Timer update 0\nTimer update 1\nTimer update 2\n");
});

Deno.test("examples: request_handler answers /url1 with key1/key2 and /url2 with 66", async () => {
  const app = await loadExample("request_handler");
  app.call("on_init");
  assert.deepEqual(app.calls.map((c) => c.text), ["/url1", "/url2"]);

  deliver(app, "on_request", requestPacket(1, "/url1", 7));
  assert.deepEqual(app.takeOutput(), "[resp] ### user resource 1 handler called\n");
  const [status, fmt, mid, receiver, payload] = parseResponse(sent(app, "wasm_response_send")[0]!);
  assert.deepEqual([status, fmt, mid, receiver], [69, 99, 7, ID_HOST]);
  // Tag "wasm app response payload" (26 with NUL): T = 6 + 26 + 100, as WAMR's 134 bytes.
  assert.deepEqual(payload.length, 134);
  const container = decode(payload);
  assert.deepEqual(container.tag, "wasm app response payload");
  assert.deepEqual(container.get("key1")?.value, "value1");
  assert.deepEqual(container.get("key2")?.value, "value2");

  deliver(app, "on_request", requestPacket(4, "/url2", 8));
  assert.deepEqual(app.takeOutput(), "### user resource 2 handler called\n");
  assert.deepEqual(parseResponse(sent(app, "wasm_response_send")[1]!).slice(0, 4), [
    66,
    0,
    8,
    ID_HOST,
  ]);

  // A URL nobody registered gets 4.04 (WAMR's library stays silent and the sender times out).
  deliver(app, "on_request", requestPacket(1, "/url1x", 9));
  assert.deepEqual(parseResponse(sent(app, "wasm_response_send")[2]!).slice(0, 3), [132, 0, 9]);
  assert.deepEqual(app.takeOutput(), "");
});

Deno.test("examples: request_sender prints the response, then the timeout of the other", async () => {
  const app = await loadExample("request_sender");
  app.now = 1000;
  app.call("on_init");
  const posted = sent(app, "wasm_post_request");
  // The app leaves sender 0; the runtime fills in its id.
  assert.deepEqual(posted, [
    requestPacket(3, "/app/request_handler/url1", 1, undefined, 0, 0),
    requestPacket(3, "url1", 2, undefined, 0, 0),
  ]);
  // One shared one-shot timer, armed once for 5000 ms.
  const timers = app.calls.filter((c) => c.name.includes("timer"));
  assert.deepEqual(timers.map((c) => [c.name, ...c.args]), [
    ["wasm_create_timer", 5000, 0, 0],
    ["wasm_timer_restart", 1, 5000],
  ]);

  const payload = encodeLikeWamr(new AttrContainer("wasm app response payload").setInt("n", 1));
  deliver(app, "on_response", responsePacket(69, 1, payload, 99));
  const lines = app.takeOutput().split("\n");
  assert.match(
    lines[0]!,
    /^\[req\] response handler called mid:1, status:69, fmt:99, payload:0x[0-9a-f]+, len:134, tag:a request to target app$/,
  );
  assert.deepEqual(lines.slice(1), [
    "[req] dump the response payload:",
    "Attribute container dump:",
    "Tag: wasm app response payload",
    "Attribute list:",
    "  key: n, type: int, value: 0x1",
    "",
    "",
  ]);

  app.now = 6000;
  app.call("on_timer_callback", 1);
  assert.deepEqual(app.takeOutput(), "[req] request timeout!\n");
  // A response after the timeout is dropped.
  deliver(app, "on_response", responsePacket(69, 2, new Uint8Array(), 0));
  assert.deepEqual(app.takeOutput(), "");
});

Deno.test("examples: event_publisher publishes alert/overheat every timer expiry", async () => {
  const app = await loadExample("event_publisher");
  app.call("on_init");
  app.call("on_timer_callback", 1);
  app.call("on_timer_callback", 1);
  const container = encodeLikeWamr(
    new AttrContainer("event").setString("warning", "temperature is over high"),
  );
  // Action 6 (event), fmt 99, a fresh mid each time.
  assert.deepEqual(sent(app, "wasm_post_request"), [
    requestPacket(6, "alert/overheat", 1, container, 99, 0),
    requestPacket(6, "alert/overheat", 2, container, 99, 0),
  ]);
});

Deno.test("examples: event_subscriber (wasm_app.h only) dumps each alert/overheat", async () => {
  const app = await loadExample("event_subscriber");
  app.call("on_init");
  assert.deepEqual(app.calls.map((c) => [c.name, c.text]), [["wasm_sub_event", "alert/overheat"]]);
  const payload = encodeLikeWamr(
    new AttrContainer("event").setString("warning", "temperature is over high"),
  );
  deliver(app, "on_request", requestPacket(6, "alert/overheat", 3, payload, 99));
  assert.deepEqual(
    app.takeOutput(),
    "### user over heat event handler called\nAttribute container dump:\nTag: event\n" +
      "Attribute list:\n  key: warning, type: string, value: temperature is over high\n\n",
  );
  // Events never get a response.
  assert.deepEqual(sent(app, "wasm_response_send"), []);
});

Deno.test("examples: room_temp service and client exchange readings", async () => {
  const service = await loadExample("room_temp_service");
  const client = await loadExample("room_temp_client");
  service.call("on_init");
  client.call("on_init");
  for (let i = 0; i < 2; i++) {
    client.call("on_timer_callback", 1);
    const request = sent(client, "wasm_post_request")[i]!;
    deliver(service, "on_request", request);
    const [status, fmt, mid, , payload] = parseResponse(sent(service, "wasm_response_send")[i]!);
    assert.deepEqual([status, fmt, mid], [69, 99, i + 1]);
    deliver(client, "on_response", responsePacket(status, mid, payload, fmt));
  }
  assert.deepEqual(
    client.takeOutput(),
    "[client] room temperature: 20.0\n[client] room temperature: 20.5\n",
  );
});

/** The URL of a request packet. */
function requestUrl(bytes: Uint8Array): string {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint16(12);
  return new TextDecoder().decode(bytes.subarray(18, 18 + length - 1));
}

Deno.test("examples: storm posts /storm at init and two more for each /storm it gets, answering none", async () => {
  const app = await loadExample("storm");
  app.call("on_init");
  assert.deepEqual(sent(app, "wasm_post_request").map(requestUrl), ["/storm"]);
  deliver(app, "on_request", requestPacket(2, "/storm", 1, new Uint8Array(), 0, 1));
  deliver(app, "on_request", requestPacket(2, "/storm", 2, new Uint8Array(), 0, 1));
  assert.deepEqual(sent(app, "wasm_post_request").map(requestUrl), Array(5).fill("/storm"));
  assert.deepEqual(sent(app, "wasm_response_send"), []);
  assert.equal(app.takeOutput(), "");
});

Deno.test("examples: forger answers 64 guessed host mids each time it runs, then posts /forge", async () => {
  const app = await loadExample("forger");
  app.call("on_init");
  assert.deepEqual(sent(app, "wasm_post_request").map(requestUrl), ["/forge"]);
  deliver(app, "on_request", requestPacket(2, "/forge", 1, new Uint8Array(), 0, 1));
  const forged = sent(app, "wasm_response_send").map(parseResponse);
  const link = Array.from({ length: 32 }, (_, i) => 0x80000000 + i);
  const manager = Array.from({ length: 32 }, (_, i) => 1 + i);
  assert.deepEqual(forged.map((r) => r[2]).sort(), [...link, ...manager].sort());
  for (const [status, fmt, , receiver, payload] of forged) {
    assert.deepEqual([status, fmt, receiver, new TextDecoder().decode(payload)], [
      69,
      0,
      ID_HOST,
      "forged",
    ]);
  }
  assert.deepEqual(sent(app, "wasm_post_request").map(requestUrl), ["/forge", "/forge"]);
});
