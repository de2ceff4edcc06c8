// Test helper: builds C with wasi-libc at test time (clang-19 --target=wasm32-wasi; Debian's
// clang finds the wasi-libc sysroot by itself), once per set of sources and flags in a test
// run, into a temp dir removed at exit. Each source is compiled with -O2 and the link runs
// apart without -O: clang-19 runs a wasm-opt found on PATH only when it links with -O, so the
// binary is the same whether binaryen is installed or not.

import { SDK_SOURCES } from "../sdk/c/build.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const _decoder = new TextDecoder();

/** How to build. */
export interface WasiBuild {
  /** C sources, relative to the repository root. */
  sources: readonly string[];
  /** Extra compile flags (`-I sdk/c/include`). */
  cflags?: readonly string[];
  /** Extra link flags (`-mexec-model=reactor`, `-Wl,--export=malloc`). */
  ldflags?: readonly string[];
}

let _dir: string | undefined;
const _built = new Map<string, Promise<string>>();

async function _clang(args: string[]): Promise<void> {
  const out = await new Deno.Command("clang-19", { args, cwd: ROOT, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`clang-19 ${args.join(" ")} failed:\n${_decoder.decode(out.stderr)}`);
  }
}

/**
 * Builds a WASI program once per test run.
 *
 * @param build the sources and flags
 * @returns the path of the `.wasm`
 */
export function buildWasiC(build: WasiBuild): Promise<string> {
  const key = JSON.stringify(build);
  let built = _built.get(key);
  if (built) return built;
  built = (async () => {
    if (_dir === undefined) {
      const dir = _dir = await Deno.makeTempDir({ prefix: "wasi_c_" });
      globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    }
    const name = `${_dir}/${_built.size}`;
    const objects = await Promise.all(build.sources.map(async (source, i) => {
      const object = `${name}_${i}.o`;
      await _clang([
        "--target=wasm32-wasi",
        "-O2",
        ...(build.cflags ?? []),
        "-c",
        source,
        "-o",
        object,
      ]);
      return object;
    }));
    await _clang([
      "--target=wasm32-wasi",
      ...objects,
      ...(build.ldflags ?? []),
      "-o",
      `${name}.wasm`,
    ]);
    return `${name}.wasm`;
  })();
  _built.set(key, built);
  return built;
}

/** The C program of tests/wasi_test.ts: copy, echo, exit N, escape… (see its header). */
export const WASI_DEMO: WasiBuild = { sources: ["tests/fixtures/wasi_demo.c"] };

/** An event-driven app built with wasi-libc instead of the libc natives (a reactor). */
export function wasiFrameworkApp(source: string): WasiBuild {
  return {
    sources: [source, ...SDK_SOURCES],
    cflags: ["-I", "sdk/c/include"],
    // The framework's natives stay imports; malloc and free are exported so the app manager
    // can hand the app its requests (a WASI app gets no runtime heap).
    ldflags: [
      "-mexec-model=reactor",
      "-Wl,--allow-undefined",
      "-Wl,--export=malloc",
      "-Wl,--export=free",
    ],
  };
}
