// The public API: what embedders, plugin vendors and host-tool authors import from mod.ts.
import assert from "node:assert/strict";
import * as api from "../mod.ts";

const exported = new Set(Object.keys(api));

Deno.test("mod: exports the embedding, plugin, framework and host-link API", () => {
  const expected = [
    // embedding
    "Runtime",
    "AppInstance",
    "readSource",
    "readModule",
    "NativeRegistry",
    "DEADLINE_EXCEEDED",
    "LoadError",
    "LinkError",
    "TrapError",
    "ProtocolError",
    // native libraries
    "defineNativeLibrary",
    "defineConfigurableLibrary",
    "AppMemory",
    "libc",
    "base",
    // apps together
    "AppManager",
    "AppManagerError",
    "InstalledApp",
    "MessageBus",
    "ManualClock",
    "realClock",
    "fastSchedule",
    "encodeRequest",
    "AttrContainer",
    // the host link
    "HostClient",
    "HostServer",
    "HostService",
    "AppStore",
  ];
  assert.deepEqual(expected.filter((name) => !exported.has(name)), []);
  assert.equal(typeof api.Runtime, "function");
  assert.equal(typeof api.HostService.start, "function");
});

Deno.test("mod: exports none of the CLI's internals or the link's framing", () => {
  const internal = [
    "runCli",
    "USAGE",
    "VERSION",
    "formatResults",
    "callWithTextArgs",
    "loadPlugin",
    "runAppsCommand",
    "APPS_USAGE",
    "runServe",
    "SERVE_USAGE",
    "defaultPlugins",
    "runHostTool",
    "HOST_USAGE",
    "FrameParser",
    "encodeFrame",
    "FRAME_HEADER_SIZE",
    "FRAME_LEADING",
    "OVERSIZE_HEAD_SIZE",
    "LinkIo",
    "errorPayload",
    "RunningMarker",
  ];
  assert.deepEqual(internal.filter((name) => exported.has(name)), []);
});

Deno.test("mod: the check task lints the docs of every entry point in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const lint = /deno doc --lint ([^&]+)/.exec(config.tasks.check)?.[1]?.trim().split(/\s+/);
  const entries = Object.values(config.exports as Record<string, string>)
    .map((path) => path.replace(/^\.\//, ""));
  assert.deepEqual(entries.filter((path) => !lint?.includes(path)), []);
});

Deno.test("mod: run as a script, it is the CLI", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "mod.ts", "examples/hello/hello.wasm"],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(code, 0);
  assert.match(new TextDecoder().decode(stdout), /^Hello world!\n/);
});
