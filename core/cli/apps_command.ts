/**
 * The `apps` subcommand: run several apps together in one runtime under an app manager,
 * each named after its file, printing what they print, until `--duration` ends or Ctrl-C
 * (both uninstall every app cleanly, so `on_destroy` runs).
 *
 * `deno run mod.ts apps a.wasm b.wasm … [--heap-size N] [--timers N] [--plugin P]
 * [--duration MS] [--deadline-ms MS] [--max-memory SIZE] [--allow-connect LIST]
 * [--unknown-imports trap|error] [--verbose]`
 *
 * @module
 */

import {
  allowConnections,
  builtinPlugin,
  type BuiltinPlugins,
  frameworkExtensions,
  frameworkWasi,
  loadPlugin,
} from "./plugins.ts";
import { readModule } from "../module/binary.ts";
import { parseAllowList } from "../../natives/connection/allow.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import {
  AppManager,
  AppManagerError,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_MEMORY,
} from "../framework/app_manager.ts";
import { parseByteSize } from "../../sdk/byte_size.ts";
import { type Clock, realClock } from "../../sdk/clock.ts";
import { type OutputSink, writerSink, writeStderr } from "../../sdk/output.ts";
import { Runtime } from "../instance/runtime.ts";
import {
  type FlagValues,
  listFlag,
  oneOf,
  readFlags,
  switchFlag,
  UsageError,
  valueFlag,
} from "./flags.ts";

/** Usage of the `apps` subcommand. */
export const APPS_USAGE = `Usage: deno run mod.ts apps [options] app.wasm [app.wasm ...]

Runs several apps together under the app manager, like WAMR's "simple" runtime without a
host link: each app is installed under its file name (without .wasm), its on_init runs,
then timers, requests and events flow until --duration ends or Ctrl-C, when every app is
uninstalled (on_destroy runs). The libc and base natives are always available, WAMR's
sensors and connections too (--plugin sensor,driver=sine replaces the test sensors), and
WASI for apps built with wasi-libc (no directories: --plugin wasi,dir=HOST::GUEST gives some).

Options:
  --heap-size <n>     App heap of each app in bytes (default 8192)
  --timers <n>        Timers each app may hold (default 20, at most 30)
  --plugin <spec>     Register a native library: a module path/URL or a built-in name
  --allow-connect <list>
                      Let apps open connections to these HOST:PORT endpoints and serial
                      devices (comma-separated, repeatable; default: none)
  --duration <ms>     Stop after this many milliseconds (default: run until Ctrl-C)
  --max-apps <n>      Apps installed at once (default 16)
  --deadline-ms <n>   Wall-clock budget of each callback into an app (default
                      ${DEFAULT_DEADLINE_MS}; 0 turns it off). An app that overruns it 3 times
                      in a row, or once in on_init or its start function, is suspended
  --max-memory <size> Memory cap of each app (default 64M; 0: none). Sizes take K, M, G
  --unknown-imports <how>
                      trap: an import nothing provides traps when called, after a warning
                      (default, as WAMR); error: the app is not installed
  -v, --verbose       Print the app manager's trace lines too
  -h, --help          Show this help`;

/** What `runAppsCommand` needs from its caller. */
export interface AppsCommandOptions {
  /** Built-in plugins by name; `libc` and `base` are always registered (imported if absent). */
  builtins: BuiltinPlugins;
  /** App output and console lines (default `Deno.stdout`). */
  stdout?: OutputSink;
  /** Usage errors (default `Deno.stderr`). */
  stderr?: (text: string) => void;
  /** The clock (default: the real one). */
  clock?: Clock;
  /** Stops the run like Ctrl-C does (default: SIGINT). */
  signal?: AbortSignal;
  /** Reads an app file (default `Deno.readFile`). */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Called once every app is installed. */
  onStart?: (manager: AppManager) => void;
}

function _integer(value: string, name: string): number {
  const n = Number(value);
  if (value === "" || !Number.isInteger(n) || n < 0) {
    throw new UsageError(`Option ${name} needs a non-negative integer, got "${value}"`);
  }
  return n;
}

/** The apps command's flags, anywhere among the app files. */
const _FLAGS = {
  heapSize: valueFlag(["--heap-size"], _integer),
  timers: valueFlag(["--timers"], _integer),
  maxApps: valueFlag(["--max-apps"], _integer),
  duration: valueFlag(["--duration"], _integer),
  deadlineMs: valueFlag(["--deadline-ms"], _integer),
  maxMemory: valueFlag(["--max-memory"], function size(value, name): number {
    try {
      return parseByteSize(value);
    } catch {
      throw new UsageError(
        `Option ${name} needs a size (bytes, or with K, M or G), got "${value}"`,
      );
    }
  }),
  allowConnect: listFlag(["--allow-connect"], function allowList(list): string {
    if (!list) throw new UsageError("Option --allow-connect needs HOST:PORT entries");
    try {
      parseAllowList(list);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return list;
  }),
  plugins: listFlag(["--plugin"], function pluginSpec(spec): string {
    if (!spec) throw new UsageError("Option --plugin needs a module path or a built-in name");
    return spec;
  }),
  unknownImports: valueFlag(["--unknown-imports"], oneOf("trap", "error")),
  verbose: switchFlag("-v", "--verbose"),
  help: switchFlag("-h", "--help"),
};

const _WASI_MODULE = "wasi_snapshot_preview1";

/** Whether a module imports WASI preview 1; a malformed one fails its install later. */
function _importsWasi(bytes: Uint8Array): boolean {
  try {
    return readModule(bytes).imports.some((i) => i.module === _WASI_MODULE);
  } catch {
    return false;
  }
}

/** The app name for a file: its base name without `.wasm`. */
function _appName(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  return base.endsWith(".wasm") ? base.slice(0, -5) : base;
}

/**
 * Runs the `apps` subcommand.
 *
 * @param argv the arguments after `apps`
 * @param options built-in plugins, I/O, clock and stop signal
 * @returns the exit status: 0 after a clean stop, 1 when an app cannot be read or installed,
 *   2 on a usage error
 *
 * @example Run the timer example for 3.5 s of a manual clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileURLToPath } from "node:url";
 * import { runAppsCommand } from "./apps_command.ts";
 * import { ManualClock } from "../../sdk/clock.ts";
 * import libc from "../../natives/libc/mod.ts";
 * import base from "../../natives/base/mod.ts";
 * const timer = fileURLToPath(new URL("../../examples/timer/timer.wasm", import.meta.url));
 * const clock = new ManualClock();
 * let out = "";
 * const status = await runAppsCommand([timer, "--duration", "3500"], {
 *   builtins: { libc, base },
 *   clock,
 *   stdout: (b) => out += new TextDecoder().decode(b),
 *   onStart: () => clock.advance(3500),
 * });
 * assert.equal(status, 0);
 * assert.match(out, /Timer update 0\nTimer update 1\nTimer update 2\n/);
 * ```
 */
export async function runAppsCommand(
  argv: readonly string[],
  options: AppsCommandOptions,
): Promise<number> {
  const encoder = new TextEncoder();
  const stdout = options.stdout ?? writerSink(Deno.stdout);
  const stderr = options.stderr ?? writeStderr;
  const print = (line: string) => stdout(encoder.encode(line + "\n"));

  let args: FlagValues<typeof _FLAGS> & { files: string[] };
  try {
    const { flags, args: files } = readFlags(_FLAGS, argv);
    args = { ...flags, files };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr(`error: ${e.message}. Run "apps --help" for usage.\n`);
    return 2;
  }
  if (args.help) {
    print(APPS_USAGE);
    return 0;
  }
  if (args.files.length === 0) {
    stderr('error: no app files given. Run "apps --help" for usage.\n');
    return 2;
  }
  const libc = await builtinPlugin(options.builtins, "libc") ??
    (await import("../../natives/libc/mod.ts")).default;
  const base = await builtinPlugin(options.builtins, "base") ??
    (await import("../../natives/base/mod.ts")).default;

  const runtime = new Runtime({
    plugins: [libc, base],
    stdout,
    ...(args.unknownImports ? { unknownImports: args.unknownImports } : {}),
  });
  await runtime.loadInstrumentation();
  const plugins: NativeLibrary[] = [];
  try {
    for (const spec of args.plugins) {
      const library = await loadPlugin(spec, options.builtins);
      if (library !== libc && library !== base) plugins.push(library);
    }
    // WAMR's runtime has these built in; a --plugin of the same name replaces one.
    for (const library of await frameworkExtensions(options.builtins)) {
      if (!plugins.some((p) => p.name === library.name)) plugins.push(library);
    }
    allowConnections(plugins, args.allowConnect);
  } catch (e) {
    stderr(`error: ${(e as Error).message}\n`);
    return 2;
  }

  const readFile = options.readFile ?? ((path: string) => Deno.readFile(path));
  const apps: { name: string; bytes: Uint8Array }[] = [];
  for (const file of args.files) {
    try {
      apps.push({ name: _appName(file), bytes: await readFile(file) });
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
      stderr(`error: Cannot read "${file}": ${why}\n`);
      return 1;
    }
  }
  // WASI is loaded only when an app imports it, and a --plugin of its own replaces it.
  if (
    apps.some((app) => _importsWasi(app.bytes)) &&
    !plugins.some((library) => library.module === _WASI_MODULE)
  ) {
    runtime.register(await frameworkWasi(options.builtins));
  }
  for (const library of plugins) runtime.register(library);

  const clock = options.clock ?? realClock;
  const manager = new AppManager(runtime, {
    clock,
    stdout,
    verbose: args.verbose,
    deadlineMs: args.deadlineMs ?? DEFAULT_DEADLINE_MS,
    maxMemory: args.maxMemory ?? DEFAULT_MAX_MEMORY,
    ...(args.maxApps === undefined ? {} : { maxApps: args.maxApps }),
  });
  let status = 0;
  for (const { name, bytes } of apps) {
    try {
      manager.install(name, bytes, {
        ...(args.heapSize === undefined ? {} : { heapSize: args.heapSize }),
        ...(args.timers === undefined ? {} : { timers: args.timers }),
      });
    } catch (e) {
      // The manager printed WAMR's line; stop the ones already running.
      if (!(e instanceof AppManagerError)) throw e;
      status = 1;
      break;
    }
  }

  if (status === 0) {
    await new Promise<void>((resolve) => {
      let done = false;
      const stop = () => {
        if (done) return;
        done = true;
        if (handle !== undefined) clock.clearTimer(handle);
        options.signal?.removeEventListener("abort", stop);
        if (sigint) Deno.removeSignalListener("SIGINT", stop);
        resolve();
      };
      const handle = args.duration === undefined ? undefined : clock.setTimer(args.duration, stop);
      const sigint = options.signal === undefined;
      if (options.signal?.aborted) stop();
      options.signal?.addEventListener("abort", stop);
      if (sigint) Deno.addSignalListener("SIGINT", stop);
      options.onStart?.(manager);
    });
  }
  manager.close();
  return status;
}
