/**
 * The C SDK's build: compiles C apps against `sdk/c` into WebAssembly with clang-19, the way
 * WAMR's docs build plain C programs: no libc is linked, every libc call stays an `env` import
 * that the runtime's natives satisfy. It knows the flags ({@linkcode COMMON_FLAGS}), the app
 * library ({@linkcode SDK_SOURCES}) and every example app under `examples/`.
 *
 * ```sh
 * deno task build:c                  # write examples/<dir>/<name>.wasm
 * deno task build:c --out-dir DIR    # write DIR/<dir>/<name>.wasm instead
 * deno task build:c --check          # rebuild in a temp dir, compare with committed
 * ```
 *
 * The output depends only on the sources and the compiler version: the name and producers
 * sections are stripped and clang is always run from the repository root with relative paths.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";

/** One example app: a C source in its own folder, built to a `.wasm` next to it. */
export interface Example {
  /** Folder under `examples/`, e.g. `native_lib`. */
  readonly dir: string;
  /** Base name of the C source and of the module: `<dir>/<name>.c` builds `<dir>/<name>.wasm`. */
  readonly name: string;
  /** Whether the app has `main(argc, argv)`, which clang-19 exports as `__main_argc_argv`. */
  readonly main: boolean;
  /** Functions exported for the CLI's `-f` option. */
  readonly functions: readonly string[];
  /** `env` imports beyond the libc natives: vendor natives, or ones left missing on purpose. */
  readonly extraImports: readonly string[];
  /**
   * SDK library sources compiled and linked in with the app, relative to the repository root.
   * App-framework apps use {@linkcode SDK_SOURCES}. Default: none.
   */
  readonly sdkSources?: readonly string[];
  /**
   * Callbacks the runtime calls, exported by the app. The SDK headers and sources mark them
   * with `export_name`, so they need no linker flag; they are listed to check the exports.
   * App-framework apps use {@linkcode FRAMEWORK_CALLBACKS}. Default: none.
   */
  readonly callbacks?: readonly string[];
  /**
   * Flags added after {@linkcode COMMON_FLAGS}; for the linker a later flag wins, so
   * `-Wl,--initial-memory=...` here replaces the common one. Default: none.
   */
  readonly extraFlags?: readonly string[];
}

/**
 * The app library every app-framework example is built with: requests, events, timers,
 * attr_container and packets. Kept sorted; `tests/examples_test.ts` checks it lists every
 * `sdk/c/src/*.c`.
 */
export const SDK_SOURCES: readonly string[] = [
  "sdk/c/src/app.c",
  "sdk/c/src/attr_container.c",
  "sdk/c/src/packet.c",
  "sdk/c/src/request.c",
  "sdk/c/src/timer.c",
];

/**
 * The callbacks an app-framework app exports: `on_init` and `on_destroy` from the app (the
 * declarations in `wasm_app.h` export them), the rest from the SDK library.
 */
export const FRAMEWORK_CALLBACKS: readonly string[] = [
  "on_init",
  "on_destroy",
  "on_request",
  "on_response",
  "on_timer_callback",
];

/** The app-framework natives (module `env`) the SDK library may import. */
export const FRAMEWORK_NATIVES: readonly string[] = [
  "wasm_register_resource",
  "wasm_post_request",
  "wasm_response_send",
  "wasm_sub_event",
  "wasm_create_timer",
  "wasm_timer_destroy",
  "wasm_timer_cancel",
  "wasm_timer_restart",
  "wasm_get_sys_tick_ms",
];

/** The sensor natives (module `env`) the SDK's sensor library imports. */
export const SENSOR_NATIVES: readonly string[] = [
  "wasm_sensor_open",
  "wasm_sensor_config",
  "wasm_sensor_config_with_attr_container",
  "wasm_sensor_close",
];

/** The connection natives (module `env`) the SDK's connection library imports. */
export const CONNECTION_NATIVES: readonly string[] = [
  "wasm_open_connection",
  "wasm_close_connection",
  "wasm_send_on_connection",
  "wasm_config_connection",
];

function _frameworkApp(dir: string, name: string): Example {
  return {
    dir,
    name,
    main: false,
    functions: [],
    extraImports: FRAMEWORK_NATIVES,
    sdkSources: SDK_SOURCES,
    callbacks: FRAMEWORK_CALLBACKS,
  };
}

/** Every example the build knows about, in build order. */
export const EXAMPLES: readonly Example[] = [
  { dir: "hello", name: "hello", main: true, functions: [], extraImports: [] },
  { dir: "printf", name: "printf", main: true, functions: [], extraImports: [] },
  {
    dir: "fib",
    name: "fib",
    main: true,
    functions: ["fib", "add", "i64f", "f32f", "f64f", "divz"],
    extraImports: [],
  },
  {
    dir: "traps",
    name: "traps",
    main: true,
    functions: [
      "unreachable_trap",
      "oob_load",
      "divz",
      "int_overflow",
      "bad_convert",
      "indirect_mismatch",
      "stack_overflow",
      "strlen_bad",
      "call_missing",
    ],
    extraImports: ["foo_missing"],
  },
  {
    dir: "native_lib",
    name: "test",
    main: true,
    functions: [],
    extraImports: ["test_add", "test_sqrt", "test_hello"],
  },
  _frameworkApp("timer", "timer"),
  _frameworkApp("request_handler", "request_handler"),
  _frameworkApp("request_sender", "request_sender"),
  _frameworkApp("event_publisher", "event_publisher"),
  _frameworkApp("event_subscriber", "event_subscriber"),
  _frameworkApp("room_temp", "room_temp_service"),
  _frameworkApp("room_temp_client", "room_temp_client"),
  {
    ..._frameworkApp("sensor", "sensor"),
    extraImports: [...FRAMEWORK_NATIVES, ...SENSOR_NATIVES],
    sdkSources: [...SDK_SOURCES, "sdk/c/src/sensor/sensor.c"],
    callbacks: [...FRAMEWORK_CALLBACKS, "on_sensor_event"],
  },
  {
    ..._frameworkApp("connection", "connection"),
    extraImports: [...FRAMEWORK_NATIVES, ...CONNECTION_NATIVES],
    sdkSources: [...SDK_SOURCES, "sdk/c/src/connection/connection.c"],
    callbacks: [...FRAMEWORK_CALLBACKS, "on_connection_data"],
  },
  {
    dir: "gui",
    name: "gui",
    main: false,
    functions: ["gui_init", "gui_tick"],
    extraImports: [
      "display_init",
      "display_flush",
      "display_fill",
      "display_map",
      "display_vdb_write",
      "display_input_read",
    ],
  },
  {
    dir: "thermostat",
    name: "thermostat_app",
    main: true,
    functions: [],
    extraImports: ["thermo_get", "thermo_set_target", "thermo_label"],
  },
  _frameworkApp("limits", "loop_init"),
  _frameworkApp("limits", "loop_request"),
  _frameworkApp("limits", "loop_timer"),
  {
    ..._frameworkApp("limits", "loop_start"),
    callbacks: [...FRAMEWORK_CALLBACKS, "_initialize"],
  },
  _frameworkApp("limits", "memory_hog"),
  _frameworkApp("limits", "storm"),
  _frameworkApp("limits", "forger"),
  {
    dir: "limits",
    name: "recursion",
    main: false,
    functions: ["shadow_overflow", "call_overflow"],
    extraImports: [],
  },
  {
    dir: "limits",
    name: "workloads",
    main: false,
    functions: ["sort_run", "sha256_run", "matmul_run", "recursion_run"],
    extraImports: [],
    // 1.3 MiB of static arrays: sort 512 KiB, sha256 64 KiB, matmul 3 x 256 KiB.
    extraFlags: ["-Wl,--initial-memory=2097152"],
  },
];

/** The compiler the examples are built and checked with. */
export const CLANG = "clang-19";

/** The command that installs the toolchain on Debian and Ubuntu. */
export const INSTALL_HINT =
  "apt-get update && apt-get install -y --no-install-recommends clang-19 lld-19 wabt";

/**
 * Flags shared by every example. Debian's clang-19 finds `wasm-ld-19` by itself; warnings do not
 * change the output and keep the sources honest.
 */
export const COMMON_FLAGS: readonly string[] = [
  "--target=wasm32",
  "-O2",
  "-nostdlib",
  "-Wall",
  "-Wextra",
  "-I",
  "sdk/c/include",
  "-Wl,--no-entry",
  "-Wl,--allow-undefined",
  "-Wl,--strip-all",
  "-Wl,--export=__heap_base",
  "-Wl,--export=__data_end",
  "-Wl,--initial-memory=65536",
  "-z",
  "stack-size=8192",
];

const _ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The names a built example exports: its memory, the heap and data markers, main, its `-f`
 * functions and its callbacks.
 *
 * @param example the example to describe
 * @returns export names, sorted
 */
export function expectedExports(example: Example): string[] {
  const names = [
    "memory",
    "__heap_base",
    "__data_end",
    ...example.functions,
    ...(example.callbacks ?? []),
  ];
  if (example.main) names.push("__main_argc_argv");
  return names.sort();
}

/**
 * The path of an example's C source, relative to the repository root.
 *
 * @param example the example
 * @returns e.g. `examples/native_lib/test.c`
 */
export function sourcePath(example: Example): string {
  return join("examples", example.dir, `${example.name}.c`);
}

/**
 * The path of an example's committed module, relative to the repository root.
 *
 * @param example the example
 * @returns e.g. `examples/native_lib/test.wasm`
 */
export function wasmPath(example: Example): string {
  return join("examples", example.dir, `${example.name}.wasm`);
}

/**
 * The full clang argument list for one example, minus the output path. SDK sources follow the
 * app's own source, so the link order, and with it the output, is fixed.
 *
 * @param example the example
 * @returns arguments to pass to clang-19, run from the repository root
 */
export function clangArgs(example: Example): string[] {
  const exports = example.functions.map((fn) => `-Wl,--export=${fn}`);
  if (example.main) exports.unshift("-Wl,--export=__main_argc_argv");
  return [
    ...COMMON_FLAGS,
    ...(example.extraFlags ?? []),
    ...exports,
    sourcePath(example),
    ...(example.sdkSources ?? []),
  ];
}

/**
 * Whether clang-19 can be started from `PATH`.
 *
 * @returns true when `clang-19 --version` runs and succeeds
 */
export async function clangAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(CLANG, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs clang from the repository root; returns its diagnostics. */
async function _clang(example: Example, args: readonly string[]): Promise<string> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(CLANG, {
      args: [...args],
      cwd: _ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot build the examples: "${CLANG}" is not on PATH; install it with: ${INSTALL_HINT}`,
      );
    }
    throw error;
  }
  const diagnostics = new TextDecoder().decode(result.stderr) +
    new TextDecoder().decode(result.stdout);
  if (!result.success) {
    throw new Error(
      `Cannot build "${
        sourcePath(example)
      }": ${CLANG} exited with code ${result.code}\n${diagnostics}`,
    );
  }
  return diagnostics;
}

/**
 * Compiles each source to an object, then links them: the same output as {@linkcode clangArgs}
 * in one step, except that clang runs binaryen's `wasm-opt` after a link whose command line has
 * an `-O` flag whenever one is on PATH, and the build must not depend on that.
 */
async function _compile(example: Example, output: string): Promise<void> {
  await Deno.mkdir(dirname(output), { recursive: true });
  const objects = await Deno.makeTempDir({ prefix: "micro_runtime_objects_" });
  try {
    const args = clangArgs(example);
    const sources = [sourcePath(example), ...(example.sdkSources ?? [])];
    const flags = args.slice(0, args.length - sources.length);
    const compile = flags.filter((_, i) => !_linkFlag(flags, i));
    const link = flags.filter((flag, i) => _linkFlag(flags, i) || flag === "--target=wasm32");
    const outputs = sources.map((_, i) => join(objects, `${i}.o`));
    const diagnostics = await Promise.all(
      sources.map((source, i) => _clang(example, [...compile, "-c", source, "-o", outputs[i]!])),
    );
    diagnostics.push(await _clang(example, [...link, ...outputs, "-o", output]));
    const text = diagnostics.join("");
    if (text.trim() !== "") console.error(text.trimEnd());
  } finally {
    await Deno.remove(objects, { recursive: true });
  }
  // wasm-ld marks its output executable; a module is data.
  await Deno.chmod(output, 0o644);
}

/** Whether `flags[i]` is for the linker: `-Wl,…`, `-nostdlib`, and `-z` with its value. */
function _linkFlag(flags: readonly string[], i: number): boolean {
  const flag = flags[i]!;
  return flag.startsWith("-Wl,") || flag === "-nostdlib" || flag === "-z" ||
    flags[i - 1] === "-z";
}

/**
 * Compiles every example.
 *
 * @param outDir where to write the modules, as `<outDir>/<dir>/<name>.wasm`; by default each
 *   module goes next to its source in `examples/`
 * @returns the absolute paths written, in {@linkcode EXAMPLES} order
 */
export async function buildExamples(outDir?: string): Promise<string[]> {
  const outputs = EXAMPLES.map((example) =>
    outDir === undefined
      ? join(_ROOT, wasmPath(example))
      : join(outDir, example.dir, `${example.name}.wasm`)
  );
  await Promise.all(EXAMPLES.map((example, i) => _compile(example, outputs[i]!)));
  return outputs;
}

async function _readOrUndefined(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function _sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/**
 * Rebuilds every example into a temporary directory and compares it with the committed module.
 *
 * @returns one line per committed module that is missing or differs; empty when all match
 */
export async function checkExamples(): Promise<string[]> {
  const tempDir = await Deno.makeTempDir({ prefix: "micro_runtime_examples_" });
  try {
    const rebuilt = await buildExamples(tempDir);
    const differences: string[] = [];
    for (const [i, example] of EXAMPLES.entries()) {
      const committed = await _readOrUndefined(join(_ROOT, wasmPath(example)));
      const fresh = await Deno.readFile(rebuilt[i]!);
      if (committed === undefined) {
        differences.push(`${wasmPath(example)}: not committed`);
      } else if (!_sameBytes(committed, fresh)) {
        differences.push(
          `${
            wasmPath(example)
          }: differs from a rebuild (${committed.length} bytes committed, ${fresh.length} rebuilt)`,
        );
      }
    }
    return differences;
  } finally {
    await Deno.remove(tempDir, { recursive: true });
  }
}

const _USAGE = `Usage: deno task build:c [--out-dir DIR] [--check]

  --out-dir DIR  write DIR/<example>/<name>.wasm instead of next to each source
  --check        rebuild into a temp dir and compare with the committed .wasm files`;

async function _main(args: readonly string[]): Promise<number> {
  let outDir: string | undefined;
  let check = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--check") {
      check = true;
    } else if (arg === "--out-dir") {
      const value = args[++i];
      if (value === undefined) {
        console.error(`error: "--out-dir" needs a directory\n\n${_USAGE}`);
        return 2;
      }
      outDir = value;
    } else if (arg.startsWith("--out-dir=")) {
      outDir = arg.slice("--out-dir=".length);
    } else if (arg === "--help" || arg === "-h") {
      console.log(_USAGE);
      return 0;
    } else {
      console.error(`error: unknown argument "${arg}"\n\n${_USAGE}`);
      return 2;
    }
  }

  if (!(await clangAvailable())) {
    console.error(`error: "${CLANG}" was not found on PATH; install it with:\n  ${INSTALL_HINT}`);
    return 1;
  }

  try {
    if (check) {
      const differences = await checkExamples();
      if (differences.length > 0) {
        console.error("The committed examples do not match a rebuild:");
        for (const line of differences) console.error(`  ${line}`);
        console.error("Run `deno task build:c` and commit the result.");
        return 1;
      }
      console.log(`All ${EXAMPLES.length} examples match a rebuild.`);
      return 0;
    }
    const written = await buildExamples(outDir);
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
