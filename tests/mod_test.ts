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
    "Linker",
    "UNCAUGHT_EXCEPTION",
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

const ROOT = new URL("../", import.meta.url);

const TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".wasm": "application/wasm",
  ".js": "text/javascript",
};

/** Serves the repository over HTTP on loopback, like a static host would. */
function serveRepo() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(new URL("." + path, ROOT));
      const ext = path.slice(path.lastIndexOf("."));
      return new Response(body, {
        headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return server;
}

Deno.test("mod: imports by URL from a loopback server with a fresh DENO_DIR and no config", async () => {
  const server = serveRepo();
  const base = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/main.ts`;
    await Deno.writeTextFile(
      script,
      `import { libc, Runtime } from "${base}/mod.ts";
const runtime = new Runtime({ plugins: [libc] });
const app = await runtime.instantiate(await runtime.load("${base}/examples/hello/hello.wasm"));
app.callMain(["hello.wasm", "by-url"]);
app.free();
`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        `--allow-import=127.0.0.1:${server.addr.port}`,
        `--allow-net=127.0.0.1:${server.addr.port}`,
        script,
      ],
      cwd: dir,
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.match(
      out,
      /^Hello world!\nbuf ptr: 0x[0-9a-f]{8}\nbuf: 1234\nargc=2 argv0=hello\.wasm\nargv1=by-url\n$/,
    );

    // The CLI itself, run from the URL.
    const wasm = `${dir}/fib.wasm`;
    await Deno.copyFile(new URL("examples/fib/fib.wasm", ROOT), wasm);
    const cli = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        `--allow-import=127.0.0.1:${server.addr.port}`,
        "--allow-read",
        `${base}/mod.ts`,
        "-f",
        "fib",
        wasm,
        "10",
      ],
      cwd: dir,
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
    }).output();
    assert.equal(new TextDecoder().decode(cli.stdout), "0x37:i32\n");
    assert.equal(cli.code, 0);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
