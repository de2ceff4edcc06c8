/**
 * Builds `test.wasm`, the seed README's program as an emscripten side module, with Debian's
 * emcc 3.1.6 and the seed's command line (see README.md for what changed).
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run examples/emscripten/build.ts          # write test.wasm
 * deno run --allow-read --allow-write --allow-run examples/emscripten/build.ts --check  # compare
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** This example's folder. */
export const EXAMPLE_DIR: string = fileURLToPath(new URL(".", import.meta.url));

/**
 * The seed README's command line, plus `-ffile-prefix-map`: `-g` writes the build directory
 * into the DWARF sections, and mapping it to `.` keeps the output the same wherever it is built.
 *
 * @param output where to write the module
 * @param dir the folder holding `test.c`, where emcc runs
 * @returns emcc's arguments
 */
export function emccArgs(output: string, dir: string = EXAMPLE_DIR): string[] {
  return [
    "-g",
    "-O3",
    `-ffile-prefix-map=${dir.replace(/\/$/, "")}=.`,
    "test.c",
    ...[
      "-s",
      "WASM=1",
      "-s",
      "SIDE_MODULE=1",
      "-s",
      "ASSERTIONS=1",
      "-s",
      "STACK_OVERFLOW_CHECK=2",
    ],
    ...["-s", "TOTAL_MEMORY=65536", "-s", "TOTAL_STACK=4096"],
    "-o",
    output,
  ];
}

/**
 * Compiles `test.c` with emcc.
 *
 * @param output where to write the module (default: `test.wasm` beside the source)
 * @param dir the folder holding `test.c` (default: this example's)
 * @returns the path written
 * @throws {Error} when emcc is missing or fails, with its diagnostics
 */
export async function buildTest(
  output: string = join(EXAMPLE_DIR, "test.wasm"),
  dir: string = EXAMPLE_DIR,
): Promise<string> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("emcc", {
      args: emccArgs(output, dir),
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        'Cannot build: "emcc" is not on PATH; install it with: apt-get install emscripten',
      );
    }
    throw error;
  }
  if (!result.success) {
    const diagnostics = new TextDecoder().decode(result.stderr);
    throw new Error(`Cannot build test.c: emcc exited with code ${result.code}\n${diagnostics}`);
  }
  // emcc marks its output executable; a module is data.
  await Deno.chmod(output, 0o644);
  return output;
}

async function _main(args: readonly string[]): Promise<number> {
  if (args.length === 0) {
    console.log(await buildTest());
    return 0;
  }
  if (args.length !== 1 || args[0] !== "--check") {
    console.error("Usage: build.ts [--check]");
    return 2;
  }
  const dir = await Deno.makeTempDir({ prefix: "micro_runtime_emscripten_" });
  try {
    const fresh = await Deno.readFile(await buildTest(join(dir, "test.wasm")));
    const committed = await Deno.readFile(join(EXAMPLE_DIR, "test.wasm"));
    const same = fresh.length === committed.length && fresh.every((b, i) => b === committed[i]);
    if (!same) {
      console.error(
        `examples/emscripten/test.wasm differs from a rebuild (${committed.length} bytes committed, ${fresh.length} rebuilt)`,
      );
    }
    return same ? 0 : 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await _main(Deno.args));
