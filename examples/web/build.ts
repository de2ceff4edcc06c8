/**
 * The browser build (`deno task bundle`): bundles `core/web/mod.ts` with esbuild-wasm into one
 * minified ES module plus its source map, `examples/web/dist/micro-runtime.js` and
 * `micro-runtime.js.map`, for web pages and Node.js ≥ 20.
 *
 * The one platform-specific module of the runtime's graph, `sdk/platform_deno.ts`, is
 * swapped for `sdk/platform_web.ts` (the same export, `defaultPlatform`), the way a
 * package's `browser` field swaps files; the build then checks that the bundle names no
 * Deno API. Pages and tests call {@linkcode buildBundle}; the file is replaced atomically, so
 * concurrent builds never leave a torn bundle.
 *
 * @module
 */

import * as esbuild from "esbuild-wasm";

const ROOT = new URL("../../", import.meta.url);

/** The bundle's entry point. */
export const ENTRY: URL = new URL("core/web/mod.ts", ROOT);

/** Where the bundle goes. */
export const DIST: URL = new URL("examples/web/dist/", ROOT);

/** The bundle's file name in {@linkcode DIST}. */
export const BUNDLE_NAME = "micro-runtime.js";

/** Modules replaced in the browser build: Deno's implementation → the web one. */
const SWAPS: ReadonlyMap<string, string> = new Map([
  [_path(new URL("sdk/platform_deno.ts", ROOT)), _path(new URL("sdk/platform_web.ts", ROOT))],
]);

/** What a build wrote. */
export interface BundleResult {
  /** The bundle's file path. */
  path: string;
  /** The bundle's size in bytes (minified unless asked otherwise). */
  bytes: number;
  /** Its size gzip-compressed (`CompressionStream`, as a server would send it). */
  gzipBytes: number;
  /** The source map's file path (the bundle ends with a `sourceMappingURL` comment to it). */
  mapPath: string;
}

/** Options of {@linkcode buildBundle}. */
export interface BuildOptions {
  /** Output directory. Default {@linkcode DIST}. */
  outDir?: string | URL;
  /** Minify. Default true. */
  minify?: boolean;
}

function _path(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/**
 * The esbuild plugin that swaps Deno's platform for the web one: for any other page build
 * that bundles modules of `sdk/`, `core/` or `natives/` (the playground's script, a console).
 */
export const webPlatformPlugin: esbuild.Plugin = {
  name: "micro-runtime-web-platform",
  setup(build) {
    build.onResolve({ filter: /platform_deno\.ts$/ }, (args) => {
      const from = _path(new URL(args.path, `file://${args.resolveDir}/`));
      const to = SWAPS.get(from);
      return to ? { path: to } : undefined;
    });
  },
};

/**
 * Builds the bundle and its source map.
 *
 * @param options output directory, minification
 * @returns where the bundle is and how big
 * @throws {Error} when esbuild fails or the bundle still names a Deno API
 */
export function buildBundle(options: BuildOptions = {}): Promise<BundleResult> {
  // One build at a time in a process: each ends by stopping esbuild's shared service.
  const run = _last.then(() => _build(options));
  _last = run.catch(() => {});
  return run;
}

let _last: Promise<unknown> = Promise.resolve();

async function _build(options: BuildOptions): Promise<BundleResult> {
  const outDir = typeof options.outDir === "string"
    ? options.outDir.replace(/\/+$/, "")
    : _path(options.outDir ?? DIST).replace(/\/+$/, "");
  const path = `${outDir}/${BUNDLE_NAME}`;
  const mapPath = `${path}.map`;
  let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[] };
  try {
    result = await esbuild.build({
      entryPoints: [_path(ENTRY)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      minify: options.minify ?? true,
      sourcemap: "linked",
      sourceRoot: "",
      outfile: path,
      write: false,
      legalComments: "none",
      logLevel: "silent",
      plugins: [webPlatformPlugin],
    });
  } finally {
    await esbuild.stop();
  }
  const js = result.outputFiles.find((f) => f.path === path);
  const map = result.outputFiles.find((f) => f.path === mapPath);
  if (!js || !map) throw new Error(`esbuild wrote no "${BUNDLE_NAME}" with its map`);
  const deno = /\bDeno\./.exec(js.text);
  if (deno) {
    throw new Error(
      `The bundle names a Deno API at offset ${deno.index}: ` +
        `"${js.text.slice(Math.max(0, deno.index - 40), deno.index + 40)}"`,
    );
  }
  await Deno.mkdir(outDir, { recursive: true });
  // Temporary names, then rename: a page or test reading the bundle never sees half of it.
  const tmp = `${outDir}/.${BUNDLE_NAME}.${crypto.randomUUID()}`;
  await Deno.writeFile(`${tmp}.map`, map.contents);
  await Deno.writeFile(tmp, js.contents);
  await Deno.rename(`${tmp}.map`, mapPath);
  await Deno.rename(tmp, path);
  return { path, bytes: js.contents.length, gzipBytes: await gzipSize(js.contents), mapPath };
}

/**
 * The size of bytes once gzip-compressed, through `CompressionStream`, as a browser or a
 * server's `Content-Encoding: gzip` would see them.
 *
 * @param bytes what to compress
 * @returns the compressed size in bytes
 */
export async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

if (import.meta.main) {
  const { path, bytes, gzipBytes } = await buildBundle();
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${path}: ${kib(bytes)} minified, ${kib(gzipBytes)} minified + gzip`);
}
