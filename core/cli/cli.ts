/**
 * The command line, in the spirit of WAMR's iwasm:
 * `deno run mod.ts [options] app.wasm [args...]`.
 *
 * Kept free of `node:` imports: this is the path that runs every app, and start-up counts.
 *
 * @module
 */

import { LinkError, LoadError, TrapError } from "../../sdk/errors.ts";
import type { AppInstance, WasmValue } from "../instance/instance.ts";
import { Runtime } from "../instance/runtime.ts";
import { writerSink, writeStderr } from "../../sdk/output.ts";
import { formatG7 } from "../../sdk/c_format.ts";
import type { FuncType } from "../module/binary.ts";
import type { AppLimits } from "../instance/limits.ts";
import { builtinPlugin, type BuiltinPlugins, loadPlugin } from "./plugins.ts";
import {
  byteSize,
  count,
  type FlagValues,
  inlineFlag,
  listFlag,
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

Runs a WebAssembly app, like WAMR's iwasm. The libc natives are always available.

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
  --trace                  Print every native call: library.symbol(args) -> result (time)
  --env=<k=v>              Set an environment variable for the app (repeatable)
  -v=<n>                   Log level 0-5 (default 2)
  --version                Print the version
  -h, --help               Print this help

Permissions: --allow-read for the app and local plugins; --allow-net or --allow-import
for plugins or apps loaded from URLs.`;

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
  plugins: listFlag(["--plugin"], text),
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

/** Parses one `-f`/REPL argument per the parameter's wasm type (strtoul/strtod rules). */
function _parseArg(text: string, type: string, index: number): WasmValue {
  if (text === "") throw new TrapError(`invalid input argument ${index}`);
  const bad = () => new TrapError(`invalid input argument ${index}: ${text}`);
  if (type === "i32" || type === "i64") {
    const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
    if (!m) throw bad();
    const digits = m[2]!;
    let v = /^0[xX]/.test(digits)
      ? BigInt(digits)
      : digits.length > 1 && digits[0] === "0"
      ? BigInt("0o" + digits.slice(1))
      : BigInt(digits);
    if (m[1] === "-") v = -v;
    return type === "i32" ? Number(BigInt.asIntN(32, v)) : BigInt.asIntN(64, v);
  }
  if (type === "f32" || type === "f64") {
    const nan = /^([+-]?)nan(?::(0x[0-9a-fA-F]+))?$/i.exec(text);
    if (nan) {
      if (nan[2] === undefined) return nan[1] === "-" ? -NaN : NaN;
      // A NaN with a payload can only be passed as bits; JS numbers canonicalise NaNs.
      return NaN;
    }
    const inf = /^([+-]?)inf(inity)?$/i.exec(text);
    if (inf) return inf[1] === "-" ? -Infinity : Infinity;
    const v = /^[+-]?0[xX]/.test(text) ? _hexFloat(text) : Number(text.trim());
    if (Number.isNaN(v) || text.trim() === "") throw bad();
    return type === "f32" ? Math.fround(v) : v;
  }
  throw new TrapError(`invalid input argument ${index}: ${type} parameters are not supported`);
}

function _hexFloat(text: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return NaN;
  const frac = m[3] ?? "";
  const mantissa = parseInt((m[2] || "0") + frac, 16);
  const v = mantissa * 2 ** (Number(m[4] ?? 0) - 4 * frac.length);
  return m[1] === "-" ? -v : v;
}

/**
 * Formats results like iwasm: `0x2:i32`, `0xc:i64`, `3:f32`, `2.5:f64`, comma-separated.
 *
 * @param type the function's type
 * @param result what the call returned
 * @returns the line to print (without newline)
 */
export function formatResults(type: FuncType, result: WasmValue): string {
  const values = type.results.length > 1 ? result as WasmValue[] : [result];
  return type.results.map((t, i) => {
    const v = values[i];
    switch (t) {
      case "i32":
        return `0x${((v as number) >>> 0).toString(16)}:i32`;
      case "i64":
        return `0x${BigInt.asUintN(64, v as bigint).toString(16)}:i64`;
      case "f32":
      case "f64":
        return `${formatG7(v as number)}:${t}`;
      default:
        return v === null ? `ref.null:${t}` : `ref:${t}`;
    }
  }).join(",");
}

/**
 * Calls an export with text arguments and formats the result (`-f` and the REPL).
 *
 * @param app the instance
 * @param name export name
 * @param args argument texts
 * @returns the formatted result line
 * @throws {TrapError} for unknown functions, bad arguments and traps
 */
export async function callWithTextArgs(
  app: AppInstance,
  name: string,
  args: readonly string[],
): Promise<string> {
  const type = app.functionType(name);
  if (!type || typeof app.exports[name] !== "function") {
    throw new TrapError(`lookup function ${name} failed`);
  }
  if (args.length !== type.params.length) throw new TrapError("invalid input argument count");
  const values = args.map((a, i) => _parseArg(a, type.params[i]!, i));
  return formatResults(type, await app.callAsync(name, ...values));
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
    return (await import("./serve_command.ts")).runServe(argv.slice(1), options);
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
    bytes = await Deno.readFile(args.file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    writeErr(`error: Cannot read "${args.file}": ${why}\n`);
    return 2;
  }

  const runtime = new Runtime({
    stdout: writeOut,
    warn: (message) => writeErr(message + "\n"),
    ...(args.trace ? { trace: (line: string) => writeErr(line + "\n") } : {}),
  });
  const libc = await builtinPlugin(options.builtins, "libc");
  if (libc) runtime.register(libc);
  try {
    for (const spec of args.plugins) {
      const lib = await loadPlugin(spec, options.builtins);
      if (lib !== libc) runtime.register(lib);
    }
  } catch (e) {
    writeErr(`error: ${(e as Error).message}\n`);
    return 2;
  }

  let app: AppInstance | undefined;
  try {
    if (_limits(args) || args.stackSize !== undefined) await runtime.loadInstrumentation();
    const module = runtime.loadSync(bytes, args.file.slice(args.file.lastIndexOf("/") + 1));
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
      const line = await callWithTextArgs(app, args.function, args.args);
      app.stdout.flush();
      print(line);
    } else {
      const entry = ["main", "__main_argc_argv", "_main"];
      if (!entry.some((n) => typeof app!.exports[n] === "function")) {
        const framework = ["on_init", "_on_init"].some((n) =>
          typeof app!.exports[n] === "function"
        );
        if (framework) {
          writeErr(
            `hint: "${args.file}" is an event-driven app (it exports on_init): ` +
              `run it with "deno run mod.ts apps ${args.file}"\n`,
          );
        }
      }
      await app.callMainAsync([args.file, ...args.args]);
    }
    return 0;
  } catch (e) {
    app?.stdout.flush();
    if (e instanceof LoadError) print(`WASM module load failed: ${e.message}`);
    else if (e instanceof LinkError) print(`WASM module instantiate failed: ${e.message}`);
    else if (e instanceof TrapError) print(`Exception: ${e.message}`);
    else throw e;
    return 1;
  } finally {
    app?.free();
  }
}

async function _repl(
  app: AppInstance,
  lines: AsyncIterable<string>,
  print: (line: string) => void,
): Promise<number> {
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
