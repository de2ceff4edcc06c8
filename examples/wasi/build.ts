/**
 * The build of the WASI examples: one program, `wasi_app`, written in C, C++, Rust and
 * AssemblyScript and built with every WASI toolchain Debian ships (clang-19 with wasi-libc and
 * libc++, rustc 1.63, emscripten 3.1.6) and with AssemblyScript from npm. Each module is
 * committed next to its source as `examples/wasi/<dir>/wasi_app.wasm`.
 *
 * ```sh
 * deno task build:wasi                  # write examples/wasi/<dir>/wasi_app.wasm
 * deno task build:wasi --out-dir DIR    # write DIR/<dir>/wasi_app.wasm instead
 * deno task build:wasi --check          # rebuild in a temp dir, compare with committed
 * deno task build:wasi rust c           # only these examples
 * ```
 *
 * Rebuilds are byte-identical: every command runs from `examples/wasi/` with relative source
 * paths, symbol names and producers are stripped, and clang-19 links without `-O` so that it
 * never runs a `wasm-opt` found on `PATH` (emscripten's binaryen puts one there).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";

/** One build of `wasi_app`: a toolchain, its source and the commands that make the module. */
export interface WasiExample {
  /** Folder under `examples/wasi/` that holds the module, e.g. `rust`. */
  readonly dir: string;
  /** The toolchain, as the README's table names it. */
  readonly toolchain: string;
  /** The source, relative to `examples/wasi/`. */
  readonly source: string;
  /** Debian packages the build needs (AssemblyScript comes from npm through Deno). */
  readonly packages: readonly string[];
  /**
   * The commands, run in order from `examples/wasi/`.
   *
   * @param output where the module goes (absolute)
   * @param scratch a private directory for intermediate files (absolute)
   * @returns each command as program and arguments
   */
  commands(output: string, scratch: string): string[][];
}

/** The AssemblyScript compiler, pinned; Deno fetches it from npm on first use. */
export const ASSEMBLYSCRIPT = "npm:assemblyscript@0.28.20/asc";

/** Debian's rustc 1.63, named by path: a rustup `rustc` earlier on `PATH` is another compiler. */
export const RUSTC = "/usr/bin/rustc";

const _C_FLAGS = ["--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Werror"];

// Compile with -O2, link without -O: clang-19 runs wasm-opt from PATH after an optimizing
// link, and its --no-wasm-opt drops the link step altogether.
function _clang(
  compiler: string,
  source: string,
  extra: readonly string[],
): WasiExample["commands"] {
  return function clangCommands(output, scratch) {
    const object = join(scratch, "wasi_app.o");
    return [
      [compiler, ..._C_FLAGS, ...extra, "-c", source, "-o", object],
      [compiler, "--target=wasm32-wasi", "-Wl,--strip-all", object, "-o", output],
    ];
  };
}

/** Every build, in the order of the README's table. */
export const WASI_EXAMPLES: readonly WasiExample[] = [
  {
    dir: "c",
    toolchain: "C: clang-19 with wasi-libc",
    source: "c/wasi_app.c",
    packages: ["clang-19", "lld-19", "wasi-libc", "libclang-rt-19-dev-wasm32"],
    commands: _clang("clang-19", "c/wasi_app.c", []),
  },
  {
    dir: "cpp",
    toolchain: "C++: clang++-19 with libc++ and wasi-libc",
    source: "cpp/wasi_app.cpp",
    packages: [
      "clang-19",
      "lld-19",
      "wasi-libc",
      "libclang-rt-19-dev-wasm32",
      "libc++-19-dev-wasm32",
    ],
    // Debian's wasm32 libc++ and libc++abi are built without exceptions.
    commands: _clang("clang++-19", "cpp/wasi_app.cpp", ["-fno-exceptions"]),
  },
  {
    dir: "rust",
    toolchain: "Rust 1.63: rustc --target wasm32-wasi",
    source: "rust/wasi_app.rs",
    packages: ["rustc", "libstd-rust-dev-wasm32", "lld-14"],
    commands: (output) => [[
      RUSTC,
      "--edition=2021",
      "--target=wasm32-wasi",
      "-C",
      "opt-level=2",
      "-C",
      "strip=symbols",
      "rust/wasi_app.rs",
      "-o",
      output,
    ]],
  },
  {
    dir: "assemblyscript",
    toolchain: "AssemblyScript 0.28 (npm)",
    source: "assemblyscript/wasi_app.ts",
    packages: [],
    // --exportStart makes the top-level code the WASI `_start`; abort stays the default
    // `env.abort`, as in every AssemblyScript build that does not replace it.
    commands: (output) => [[
      Deno.execPath(),
      "run",
      "--no-lock",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      ASSEMBLYSCRIPT,
      "assemblyscript/wasi_app.ts",
      "-O2",
      "--exportStart",
      "_start",
      "-o",
      output,
    ]],
  },
  {
    dir: "emscripten",
    toolchain: "C: emscripten 3.1.6, standalone WASI",
    source: "c/wasi_app.c",
    packages: ["emscripten"],
    // The program calls path_open, fd_prestat_* and random_get itself (see the source);
    // emcc 3.1.6 knows them only from its JavaScript library, so it must be told that
    // imports with no JavaScript behind them are fine.
    commands: (output) => [[
      "emcc",
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-sSTANDALONE_WASM",
      "-sERROR_ON_UNDEFINED_SYMBOLS=0",
      "c/wasi_app.c",
      "-o",
      output,
    ]],
  },
];

const _HERE = fileURLToPath(new URL(".", import.meta.url));

/**
 * The path of an example's committed module.
 *
 * @param example the example
 * @returns its absolute path, `examples/wasi/<dir>/wasi_app.wasm`
 */
export function wasiWasmPath(example: WasiExample): string {
  return join(_HERE, example.dir, "wasi_app.wasm");
}

/**
 * The commands of one build as a shell would show them, with `OUT` for the output.
 *
 * @param example the example
 * @returns one line per command
 */
export function commandLines(example: WasiExample): string[] {
  return example.commands("OUT", "TMP").map((command) =>
    command.map((word) => word === Deno.execPath() ? "deno" : word).join(" ")
  );
}

/**
 * Builds one example.
 *
 * @param example the example
 * @param output where to write the module (absolute)
 * @throws {Error} naming the command, its status and its output when a command fails
 */
export async function buildWasiExample(example: WasiExample, output: string): Promise<void> {
  await Deno.mkdir(dirname(output), { recursive: true });
  const scratch = await Deno.makeTempDir({ prefix: `wasi_example_${example.dir}_` });
  try {
    for (const [program, ...args] of example.commands(output, scratch)) {
      let result: Deno.CommandOutput;
      try {
        result = await new Deno.Command(program!, {
          args,
          cwd: _HERE,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error(
            `Cannot build "${example.source}" for ${example.dir}: "${program}" is not installed ` +
              `(Debian packages: ${example.packages.join(" ")})`,
          );
        }
        throw error;
      }
      if (!result.success) {
        const decoder = new TextDecoder();
        throw new Error(
          `Cannot build "${example.source}" for ${example.dir}: ${program} exited with code ${result.code}\n` +
            decoder.decode(result.stdout) + decoder.decode(result.stderr),
        );
      }
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  // Linkers mark their output executable; a module is data.
  await Deno.chmod(output, 0o644);
}

/**
 * Builds examples, all at once.
 *
 * @param examples which ones; default all of {@linkcode WASI_EXAMPLES}
 * @param outDir where to write `<dir>/wasi_app.wasm`; default next to each source
 * @returns the absolute paths written, in the order of `examples`
 */
export async function buildWasiExamples(
  examples: readonly WasiExample[] = WASI_EXAMPLES,
  outDir?: string,
): Promise<string[]> {
  const outputs = examples.map((example) =>
    outDir === undefined ? wasiWasmPath(example) : join(outDir, example.dir, "wasi_app.wasm")
  );
  await Promise.all(examples.map((example, i) => buildWasiExample(example, outputs[i]!)));
  return outputs;
}

function _sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Rebuilds one example into a temporary directory and compares it with the committed module.
 *
 * @param example the example
 * @returns a line saying how they differ, or undefined when they are the same bytes
 */
export async function checkWasiExample(example: WasiExample): Promise<string | undefined> {
  const name = relative(Deno.cwd(), wasiWasmPath(example));
  const tempDir = await Deno.makeTempDir({ prefix: "micro_runtime_wasi_examples_" });
  try {
    const [rebuilt] = await buildWasiExamples([example], tempDir);
    const fresh = await Deno.readFile(rebuilt!);
    let committed: Uint8Array;
    try {
      committed = await Deno.readFile(wasiWasmPath(example));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return `${name}: not committed`;
      throw error;
    }
    if (_sameBytes(committed, fresh)) return undefined;
    return `${name}: differs from a rebuild (${committed.length} bytes committed, ${fresh.length} rebuilt)`;
  } finally {
    await Deno.remove(tempDir, { recursive: true });
  }
}

const _USAGE = `Usage: deno task build:wasi [--out-dir DIR] [--check] [DIR...]

  --out-dir DIR  write DIR/<example>/wasi_app.wasm instead of next to each source
  --check        rebuild into a temp dir and compare with the committed .wasm files
  DIR...         only these examples (${WASI_EXAMPLES.map((e) => e.dir).join(", ")})`;

async function _main(args: readonly string[]): Promise<number> {
  let outDir: string | undefined;
  let check = false;
  const chosen: WasiExample[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--check") {
      check = true;
    } else if (arg === "--out-dir" || arg.startsWith("--out-dir=")) {
      const value = arg === "--out-dir" ? args[++i] : arg.slice("--out-dir=".length);
      if (value === undefined || value === "") {
        console.error(`error: "--out-dir" needs a directory\n\n${_USAGE}`);
        return 2;
      }
      outDir = value;
    } else if (arg === "--help" || arg === "-h") {
      console.log(_USAGE);
      return 0;
    } else {
      const example = WASI_EXAMPLES.find((e) => e.dir === arg);
      if (example === undefined) {
        console.error(`error: unknown argument "${arg}"\n\n${_USAGE}`);
        return 2;
      }
      chosen.push(example);
    }
  }
  const examples = chosen.length > 0 ? chosen : WASI_EXAMPLES;
  try {
    if (check) {
      const differences = (await Promise.all(examples.map(checkWasiExample)))
        .filter((line) => line !== undefined);
      if (differences.length > 0) {
        console.error("The committed WASI examples do not match a rebuild:");
        for (const line of differences) console.error(`  ${line}`);
        console.error("Run `deno task build:wasi` and commit the result.");
        return 1;
      }
      console.log(`All ${examples.length} WASI examples match a rebuild.`);
      return 0;
    }
    const written = await buildWasiExamples(examples, outDir);
    for (const path of written) console.log(`built ${relative(Deno.cwd(), path)}`);
    return 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}
