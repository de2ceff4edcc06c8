import assert from "node:assert/strict";

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
