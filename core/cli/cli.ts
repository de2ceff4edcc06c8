/**
 * The command line, in the spirit of WAMR's iwasm:
 * `deno run mod.ts [options] app.wasm [args...]`.
 *
 * Kept free of `node:` imports: this is the path that runs every app, and start-up counts.
 *
 * @module
 */

import { AppExit, LinkError, LoadError, TrapError } from "../../sdk/errors.ts";
import type { AppInstance } from "../instance/instance.ts";
import { readSource, Runtime } from "../instance/runtime.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import type { AppModule } from "../module/module.ts";
import type { WasiLibrary } from "../../natives/wasi/mod.ts";
import { writerSink, writeStderr } from "../../sdk/output.ts";
import type { AppLimits } from "../instance/limits.ts";
import { builtinPlugin, type BuiltinPlugins, loadPlugin } from "./plugins.ts";
import {
  byteSize,
  count,
  type FlagValues,
  inlineFlag,
  listFlag,
  oneOf,
  readFlags,
  switchFlag,
  text,
  UsageError,
  valueFlag,
} from "./flags.ts";

export { builtinPlugin, type BuiltinPlugins, loadPlugin };

/** The product version printed by `--version`. */
export const VERSION = "0.1.0";

/** What the CLI needs from its embedder. */
export interface CliOptions {
  /** Built-in plugins by name (`--plugin sensor`); `libc` is always registered first. */
  builtins: BuiltinPlugins;
  /** Where app output goes (default `Deno.stdout`). */
  stdout?: (bytes: Uint8Array) => void;
  /** Where usage errors and warnings go (default `Deno.stderr`). */
  stderr?: (text: string) => void;
  /** Lines for `--repl` (default: standard input). */
  stdin?: AsyncIterable<string>;
}

/** iwasm-style usage text. */
export const USAGE = `Usage: deno run mod.ts [options] wasm_file [args...]
       deno run mod.ts apps|serve|host [options] ...   (each with --help)

Runs a WebAssembly app, like WAMR's iwasm. The libc natives are always available, and
WASI (wasi_snapshot_preview1) for apps that import it. wasm_file may be a path or an
http(s) URL, a binary or a text module (.wat, .wast). The entry point is _start (WASI
commands), else main, __main_argc_argv or _main.

Commands:
  apps a.wasm b.wasm ...   Run event-driven apps (on_init, timers, requests, events) together
  serve                    Run the app manager behind WAMR's host link (TCP, stdio, serial)
  host                     Install, query, request and subscribe, like WAMR's host_tool

Options:
  -f, --function <name>    Call the export <name> with the remaining arguments and print
                           its result (0x2:i32, 3:f32, ...) instead of running main
  --heap-size=<n>          App heap size in bytes (default 16384; 0 for WASI apps)
  --stack-size=<n>         Wasm stack in bytes: deeper calls trap "wasm operand stack
                           overflow", a C shadow stack that runs out traps "wasm
                           auxiliary stack overflow" (default: V8's own limit)
  --deadline-ms=<n>        Stop main or the -f call after n ms of wall-clock time
                           ("execution deadline exceeded"; default 0 = no deadline)
  --fuel=<n>               Run with n units of fuel, about one per instruction ("all
                           fuel consumed"), like wasmtime run --fuel (default: unmetered)
  --max-memory=<n>         Cap the app's linear memory at n bytes (64M, 1G...):
                           memory.grow past it returns -1 (default: the module's maximum)
  --repl                   Read "FUNC ARG..." lines and call the exports
  --plugin <spec>[,k=v...] Load a native library (repeatable): a path or URL of a module
                           whose default export is a native library, or a built-in name;
                           options follow the spec, comma-separated (display,width=480)
  --native-lib <spec>      The same as --plugin (WAMR's spelling)
  --trace                  Print every native call: library.symbol(args) -> result (time)
  --unknown-imports=<how>  trap: an import nothing provides traps when called, after a
                           warning (default, as iwasm); error: it fails the link
  --env=<k=v>              Set an environment variable for the app, WASI's environ
                           included (repeatable)
  --dir=<host>[::<guest>]  Give a WASI app a host directory, seen as <guest> (default: the
                           same name), like wasmtime (repeatable)
  --map-dir=<guest>::<host>
                           The same, written as iwasm does (repeatable)
  -v=<n>                   Log level 0-5 (default 2)
  --version                Print the version
  -h, --help               Print this help

Exit status: 0 when the app ran (main's return value is not the exit status, as in
iwasm), the status a WASI app gives proc_exit, 1 when it failed to load, link or run
("Exception: ..."), 2 for a wrong option or an unreadable file.

Permissions: --allow-read for the app and local plugins (--allow-read=app.wasm,DIR and
--allow-write=DIR scope a WASI app to its directories); --allow-net for apps and
--allow-import for plugins loaded from URLs.`;

const _count = count("a byte count");

/** The run command's flags; the app file and its arguments follow them. */
const _FLAGS = {
  function: valueFlag(["-f", "--function"], text),
  heapSize: valueFlag(["--heap-size"], _count),
  stackSize: valueFlag(["--stack-size"], _count),
  deadlineMs: valueFlag(["--deadline-ms"], _count),
  fuel: valueFlag(["--fuel"], _count),
  maxMemory: valueFlag(["--max-memory"], byteSize("bytes, e.g. 64M")),
  repl: switchFlag("--repl"),
  trace: switchFlag("--trace"),
  unknownImports: valueFlag(["--unknown-imports"], oneOf("trap", "error")),
  plugins: listFlag(["--plugin", "--native-lib"], text),
  dirs: listFlag(["--dir"], function hostDir(spec, name): string {
    const at = spec.indexOf("::");
    if (spec === "" || at === 0 || at === spec.length - 2) {
      throw new UsageError(`Invalid value for ${name}: "${spec}" (expected HOST[::GUEST])`);
    }
    return spec;
  }),
  mapDirs: listFlag(["--map-dir"], function guestHostDir(spec, name): string {
    const at = spec.indexOf("::");
    if (at <= 0 || at === spec.length - 2) {
      throw new UsageError(`Invalid value for ${name}: "${spec}" (expected GUEST::HOST)`);
    }
    return spec;
  }),
  env: listFlag(["--env"], function envPair(kv): [string, string] {
    const at = kv.indexOf("=");
    if (at <= 0) throw new UsageError(`Invalid value for --env: "${kv}" (expected k=v)`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
  verbose: inlineFlag(["-v"], function logLevel(level = "3"): number {
    if (!/^[0-5]$/.test(level)) throw new UsageError(`Invalid value for -v: "${level}"`);
    return Number(level);
  }, 2),
  help: switchFlag("-h", "--help"),
  version: switchFlag("--version"),
};

/** The limits the flags ask for; absent when none does (the app then runs as written). */
function _limits(args: FlagValues<typeof _FLAGS>): AppLimits | undefined {
  const limits: AppLimits = {};
  if (args.deadlineMs !== undefined && args.deadlineMs > 0) limits.deadlineMs = args.deadlineMs;
  if (args.fuel !== undefined) limits.fuel = args.fuel;
  if (args.maxMemory !== undefined) limits.maxMemory = args.maxMemory;
  return Object.keys(limits).length === 0 ? undefined : limits;
}

async function* _stdinLines(): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of Deno.stdin.readable) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
  if (pending) yield pending;
}

/**
 * Runs the command line and returns the exit status: 0 success, 1 app failure (load, link,
 * trap: printed as `Exception: ...` on stdout like iwasm), 2 usage error.
 *
 * @param argv the arguments after `mod.ts`
 * @param options built-in plugins and I/O
 * @returns the exit status
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  if (argv[0] === "serve") {
    return (await import("./serve_command.ts")).runServe(argv.slice(1), {
      ...options,
      version: VERSION,
    });
  }
  if (argv[0] === "apps") {
    return (await import("./apps_command.ts")).runAppsCommand(argv.slice(1), options);
  }
  if (argv[0] === "host") {
    const { runHostTool } = await import("./host_command.ts");
    return runHostTool(argv.slice(1), options.stderr ? { stderr: options.stderr } : {});
  }
  const encoder = new TextEncoder();
  const writeOut = options.stdout ?? writerSink(Deno.stdout);
  const writeErr = options.stderr ?? writeStderr;
  const print = (line: string) => writeOut(encoder.encode(line + "\n"));

  let args: FlagValues<typeof _FLAGS> & { file: string | undefined; args: string[] };
  try {
    const { flags, args: rest } = readFlags(_FLAGS, argv, { args: "stop" });
    args = { ...flags, file: rest[0], args: rest.slice(1) };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeErr(`error: ${e.message}. Run with --help for usage.\n`);
    return 2;
  }
  if (args.help) {
    print(USAGE);
    return 0;
  }
  if (args.version) {
    print(`micro-runtime ${VERSION} (deno ${Deno.version.deno}, v8 ${Deno.version.v8})`);
    return 0;
  }
  if (args.file === undefined) {
    writeErr("error: missing wasm_file. Run with --help for usage.\n");
    return 2;
  }

  let bytes: Uint8Array;
  try {
    bytes = await _readApp(args.file);
  } catch (e) {
    writeErr(`error: ${(e as Error).message}\n`);
    return 2;
  }

  const runtime = new Runtime({
    stdout: writeOut,
    warn: (message) => writeErr(message + "\n"),
    ...(args.trace ? { trace: (line: string) => writeErr(line + "\n") } : {}),
    ...(args.unknownImports ? { unknownImports: args.unknownImports } : {}),
  });
  const libc = await builtinPlugin(options.builtins, "libc");
  if (libc) runtime.register(libc);
  // `--plugin wasi,...` is configured with the command line below, once the app shows it
  // imports WASI.
  let wasi: NativeLibrary | undefined;
  try {
    for (const spec of args.plugins) {
      const lib = await loadPlugin(spec, options.builtins);
      if (lib.module === _WASI_MODULE) wasi = lib;
      else if (lib !== libc) runtime.register(lib);
    }
  } catch (e) {
    writeErr(`error: ${(e as Error).message}\n`);
    return 2;
  }

  let app: AppInstance | undefined;
  try {
    if (_limits(args) || args.stackSize !== undefined) await runtime.loadInstrumentation();
    const name = _appName(args.file);
    if (/\.(wat|wast)$/i.test(name)) {
      bytes = await (await _assembler()).assembleText(bytes, args.file);
    }
    const module = runtime.loadSync(bytes, name);
    if (_imports(module, _WASI_MODULE)) {
      runtime.register(
        await _wasiLibrary(args, [args.file, ...args.args], wasi, options.builtins),
      );
    } else {
      _wasiHints(module, args.file, args, writeErr);
    }
    app = runtime.instantiateSync(module, {
      ...(args.heapSize === undefined ? {} : { heapSize: args.heapSize }),
      ...(args.stackSize === undefined ? {} : { stackSize: args.stackSize }),
      ...(_limits(args) ? { limits: _limits(args)! } : {}),
      stdout: writeOut,
      lineBuffered: options.stdout ? false : Deno.stdout.isTerminal(),
      env: Object.fromEntries(args.env),
    });
    if (args.repl) return await _repl(app, options.stdin ?? _stdinLines(), print);
    if (args.function !== undefined) {
      // Loaded here: a plain run (`main`) does not need the text-argument parser.
      const { callWithTextArgs } = await import("../instance/text_call.ts");
      const line = await callWithTextArgs(app, args.function, args.args);
      app.stdout.flush();
      print(line);
    } else {
      if (app.entryPoint === undefined) _entryHint(app, args.file, writeErr);
      await app.callMainAsync([args.file, ...args.args]);
    }
    // main's return value is not the exit status (iwasm); an exit's status is.
    return app.exitCode ?? 0;
  } catch (e) {
    app?.stdout.flush();
    if (e instanceof AppExit) return e.code;
    if (e instanceof UsageError) {
      writeErr(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof LoadError) print(`WASM module load failed: ${e.message}`);
    else if (e instanceof LinkError) print(`WASM module instantiate failed: ${e.message}`);
    else if (e instanceof TrapError) print(`Exception: ${e.message}`);
    else throw e;
    return 1;
  } finally {
    app?.free();
  }
}

/** The import module of WASI preview 1 (natives/wasi's `WASI_MODULE`, not imported for it). */
const _WASI_MODULE = "wasi_snapshot_preview1";

/** An app's bytes from a path or an `http:`, `https:` or `file:` URL. */
async function _readApp(file: string): Promise<Uint8Array> {
  if (/^(https?|file):/i.test(file)) {
    try {
      return await readSource(new URL(file));
    } catch (e) {
      throw new Error((e as Error).message.replace(/^Cannot read module /, "Cannot read "));
    }
  }
  try {
    return await Deno.readFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new Error(`Cannot read "${file}": ${why}`);
  }
}

/** The text assembler, loaded only for `.wat` and `.wast` apps. */
async function _assembler(): Promise<typeof import("./wat.ts")> {
  try {
    return await import("./wat.ts");
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    throw new LoadError(`Cannot load the text assembler (npm:wabt): ${why}`);
  }
}

/** The app's file name: the last part of its path or URL path. */
function _appName(file: string): string {
  const path = /^(https?|file):/i.test(file) ? new URL(file).pathname : file;
  return path.slice(path.lastIndexOf("/") + 1) || "module";
}

function _imports(module: AppModule, name: string): boolean {
  return module.info.imports.some((i) => i.module === name);
}

/**
 * The WASI library for this run: `--plugin wasi,...` or the built-in (imported now, so apps
 * without WASI never load it), seeing the app's file and arguments, `--env`, `--dir` and
 * `--map-dir`.
 */
async function _wasiLibrary(
  args: FlagValues<typeof _FLAGS>,
  argv: string[],
  given: NativeLibrary | undefined,
  builtins: BuiltinPlugins,
): Promise<NativeLibrary> {
  const base = (given ?? await builtinPlugin(builtins, "wasi") ??
    (await import("../../natives/wasi/mod.ts")).default) as WasiLibrary;
  for (const spec of args.dirs) await _checkDir(spec.split("::")[0]!, "--dir", spec);
  for (const spec of args.mapDirs) {
    await _checkDir(spec.slice(spec.indexOf("::") + 2), "--map-dir", spec);
  }
  try {
    let wasi = base.configure({ args: argv });
    for (const [key, value] of args.env) wasi = wasi.configure({ env: `${key}=${value}` });
    for (const dir of args.dirs) wasi = wasi.configure({ dir });
    for (const mapdir of args.mapDirs) wasi = wasi.configure({ mapdir });
    return wasi;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A preopened directory must be one, and readable under Deno's permissions. */
async function _checkDir(host: string, flag: string, spec: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(host);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such directory" : (e as Error).message;
    throw new UsageError(`Cannot preopen "${host}" (${flag}=${spec}): ${why}`);
  }
  if (!info.isDirectory) {
    throw new UsageError(`Cannot preopen "${host}" (${flag}=${spec}): not a directory`);
  }
}

/** What a user of an app that does not import WASI preview 1 should know. */
function _wasiHints(
  module: AppModule,
  file: string,
  args: { dirs: string[]; mapDirs: string[] },
  writeErr: (text: string) => void,
): void {
  if (_imports(module, "wasi_unstable")) {
    writeErr(
      `hint: "${file}" imports "wasi_unstable" (WASI preview 0), which micro-runtime ` +
        `does not provide: rebuild it for "${_WASI_MODULE}" (--target=wasm32-wasi)\n`,
    );
  }
  if (args.dirs.length + args.mapDirs.length > 0) {
    writeErr(
      `warning: --dir and --map-dir give directories to WASI apps; "${file}" ` +
        `imports no "${_WASI_MODULE}" function\n`,
    );
  }
}

/** Why an app has no entry point, when its exports tell. */
function _entryHint(app: AppInstance, file: string, writeErr: (text: string) => void): void {
  const exported = (name: string) => typeof app.exports[name] === "function";
  if (exported("on_init") || exported("_on_init")) {
    writeErr(
      `hint: "${file}" is an event-driven app (it exports on_init): ` +
        `run it with "deno run mod.ts apps ${file}"\n`,
    );
  } else if (exported("_initialize")) {
    writeErr(
      `hint: "${file}" is a reactor (it exports _initialize, which has run): ` +
        `call its exports with "-f NAME"\n`,
    );
  }
}

async function _repl(
  app: AppInstance,
  lines: AsyncIterable<string>,
  print: (line: string) => void,
): Promise<number> {
  const { callWithTextArgs } = await import("../instance/text_call.ts");
  const encoder = new TextEncoder();
  const prompt = () => app.stdout.write(encoder.encode("webassembly> "));
  prompt();
  app.stdout.flush();
  for await (const raw of lines) {
    const words = raw.trim().split(/\s+/).filter((w) => w !== "");
    if (words[0] === "quit" || words[0] === "exit" || words[0] === "__exit__") break;
    if (words.length > 0) {
      try {
        const line = await callWithTextArgs(app, words[0]!, words.slice(1));
        app.stdout.flush();
        print(line);
      } catch (e) {
        app.stdout.flush();
        if (!(e instanceof TrapError)) throw e;
        print(`Exception: ${e.message}`);
      }
    }
    prompt();
    app.stdout.flush();
  }
  print("");
  return 0;
}
