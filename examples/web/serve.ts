/**
 * `deno task web`: the playground's web server on 127.0.0.1. It builds the browser bundle
 * (`examples/web/build.ts`) and the page's own script, then serves files from the repo:
 *
 * | path | what |
 * | --- | --- |
 * | `/playground/` | the playground page (`examples/web/playground/`) |
 * | `/playground/main.js` | the page's script, bundled from `playground/main.ts` at start |
 * | `/shared/…` | the reusable UI pieces' CSS (`examples/web/shared/`) |
 * | `/dist/micro-runtime.js` | the browser bundle and its source map |
 * | `/examples/index.json` | the example apps: path and what each does |
 * | `/examples/<dir>/<file>` | the example apps (`.wasm`) and their inputs (`.json`, `.c`) |
 *
 * The page's script imports the runtime from `core/web/mod.ts` in its source, for types;
 * the build points that import at `/dist/micro-runtime.js`, so the page runs the bundle.
 *
 * ```sh
 * deno task web                 # http://127.0.0.1:8000/playground/
 * deno task web --port 0        # any free port
 * ```
 *
 * @module
 */

import * as esbuild from "esbuild-wasm";
import { buildBundle, webPlatformPlugin } from "./build.ts";

const ROOT = new URL("../../", import.meta.url);
const WEB = new URL("./", import.meta.url);

/** Options of {@linkcode startWebServer}. */
export interface WebServerOptions {
  /** Port; 0 picks a free one (default 8000). */
  port?: number;
  /** Skip building the runtime bundle when `dist/` has one already (default false). */
  reuseBundle?: boolean;
}

/** A running playground server. */
export interface WebServer {
  /** The page's URL (`http://127.0.0.1:PORT/playground/`). */
  readonly url: string;
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Stops serving. */
  close(): Promise<void>;
}

const _TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".c": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".csv": "text/plain; charset=utf-8",
};

/**
 * Bundles the page's script (`playground/main.ts`) into one ES module whose runtime import
 * is the browser bundle at `/dist/micro-runtime.js`.
 *
 * @returns the script and its source map
 */
export async function buildPage(): Promise<{ js: Uint8Array; map: Uint8Array }> {
  const entry = _path(new URL("playground/main.ts", WEB));
  const runtimeEntry = _path(new URL("core/web/mod.ts", ROOT));
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    outfile: "/playground/main.js",
    write: false,
    logLevel: "silent",
    // As in the runtime bundle, Deno's platform module is swapped for the web one.
    plugins: [webPlatformPlugin, {
      name: "runtime-from-dist",
      setup(build) {
        build.onResolve({ filter: /web\/mod\.ts$/ }, (args) => {
          const path = _path(new URL(args.path, `file://${args.resolveDir}/`));
          return path === runtimeEntry
            ? { path: "/dist/micro-runtime.js", external: true }
            : undefined;
        });
      },
    }],
  }).finally(() => esbuild.stop());
  const js = result.outputFiles.find((f) => f.path.endsWith("main.js"));
  const map = result.outputFiles.find((f) => f.path.endsWith("main.js.map"));
  if (!js || !map) throw new Error("esbuild wrote no playground script");
  const deno = /\bDeno\.[a-z]/.exec(js.text);
  if (deno) {
    throw new Error(
      `The playground script names a Deno API: "${
        js.text.slice(deno.index - 40, deno.index + 40)
      }"`,
    );
  }
  return { js: js.contents, map: map.contents };
}

/**
 * The example apps the page's menu lists: every `examples/<dir>/<name>.wasm`, and the WASI
 * apps of `examples/wasi/{c,cpp,rust}/`, with the first line of their source's comment.
 *
 * @returns path (from the repo root) and description, sorted by path
 */
export async function listExamples(): Promise<{ path: string; about: string }[]> {
  const out: { path: string; about: string }[] = [];
  const dirs: string[] = [];
  for await (const dir of Deno.readDir(new URL("examples/", ROOT))) {
    if (dir.isDirectory && dir.name !== "web") dirs.push(dir.name);
  }
  // The WASI apps built by C, C++ and Rust, one folder deeper.
  dirs.push("wasi/c", "wasi/cpp", "wasi/rust");
  for (const dir of dirs) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(new URL(`examples/${dir}/`, ROOT)));
    } catch {
      continue;
    }
    for (const file of entries) {
      if (!file.name.endsWith(".wasm")) continue;
      const stem = file.name.slice(0, -".wasm".length);
      let about = "";
      for (const ext of [".c", ".cpp", ".rs"]) {
        try {
          const source = await Deno.readTextFile(new URL(`examples/${dir}/${stem}${ext}`, ROOT));
          about = /(?:\/\*+|\/\/)\s*\n?\s*\*?\s*(.+)/.exec(source)?.[1]
            ?.replace(/\s*\*\/.*$/, "").trim() ?? "";
          break;
        } catch {
          // No source of that language beside it.
        }
      }
      out.push({ path: `examples/${dir}/${file.name}`, about });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Builds the bundle and the page, then serves the playground on 127.0.0.1.
 *
 * @param options port and whether to reuse an existing bundle
 * @returns the server
 */
export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const dist = new URL("dist/micro-runtime.js", WEB);
  const haveBundle = await Deno.stat(dist).then(() => true, () => false);
  if (!(options.reuseBundle && haveBundle)) await buildBundle();
  const page = await buildPage();
  const examples = new TextEncoder().encode(JSON.stringify(await listExamples()));
  const http = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 8000,
    onListen() {},
  }, async function route(request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405 });
    }
    if (pathname === "/" || pathname === "/playground") {
      return Response.redirect(new URL("/playground/", request.url), 302);
    }
    if (pathname === "/playground/main.js") return _ok(page.js, ".js");
    if (pathname === "/playground/main.js.map") return _ok(page.map, ".map");
    if (pathname === "/examples/index.json") return _ok(examples, ".json");
    const file = _file(pathname);
    if (!file) return new Response(`Not found: ${pathname}\n`, { status: 404 });
    try {
      return _ok(await Deno.readFile(file.url), file.ext);
    } catch {
      return new Response(`Not found: ${pathname}\n`, { status: 404 });
    }
  });
  const addr = http.addr;
  return {
    url: `http://127.0.0.1:${addr.port}/playground/`,
    addr,
    close: () => http.shutdown(),
  };
}

/** The repo file a path names, when it is one the server serves. */
function _file(pathname: string): { url: URL; ext: string } | undefined {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (path.split("/").some((part) => part === ".." || part.startsWith("."))) return undefined;
  if (path.endsWith("/")) path += "index.html";
  const ext = /\.[a-z]+$/.exec(path)?.[0] ?? "";
  if (!(ext in _TYPES)) return undefined;
  for (const [prefix, dir] of _SERVED) {
    if (path.startsWith(prefix)) return { url: new URL(path.slice(prefix.length), dir), ext };
  }
  return undefined;
}

const _SERVED: readonly [string, URL][] = [
  ["/playground/", new URL("playground/", WEB)],
  ["/shared/", new URL("shared/", WEB)],
  ["/dist/", new URL("dist/", WEB)],
  ["/examples/", new URL("examples/", ROOT)],
];

function _ok(body: Uint8Array, ext: string): Response {
  return new Response(body as Uint8Array<ArrayBuffer>, {
    headers: {
      "content-type": _TYPES[ext] ?? "application/octet-stream",
      "cache-control": "no-store",
    },
  });
}

function _path(url: URL): string {
  return decodeURIComponent(url.pathname);
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--port");
  const port = at >= 0 ? Number(Deno.args[at + 1]) : 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: Invalid value for --port: "${Deno.args[at + 1]}" (expected 0 to 65535)`);
    Deno.exit(2);
  }
  const server = await startWebServer({ port, reuseBundle: Deno.args.includes("--reuse-bundle") });
  console.log(`playground on ${server.url}`);
}
