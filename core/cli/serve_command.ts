/**
 * `deno run mod.ts serve …`: a long-running app manager serving the host link over TCP
 * (many hosts at once), stdio or a serial device, like WAMR's `simple -s` runtime.
 *
 * @module
 */

import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_MEMORY } from "../framework/app_manager.ts";

export { fastSchedule } from "../framework/schedule.ts";
import { defaultPlugins, HostService, SERVE_MAX_APPS } from "./host_service.ts";

// What `mod.ts` exports lives in host_service.ts (so `mod.ts` does not load this command); these
// names stay importable from here.
export {
  defaultPlugins,
  HostService,
  type HostServiceOptions,
  SERVE_MAX_APPS,
} from "./host_service.ts";
import { DEFAULT_MAX_PAYLOAD } from "../../sdk/host_link.ts";
import { DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS } from "../host_link/host_server.ts";
import type { MqttLinkOptions } from "../host_link/mqtt_link.ts";
import { readToken, TOKEN_ENV } from "./link_security.ts";
import { parseAllowList } from "../../natives/connection/allow.ts";
import { coalescingSink, type OutputSink, writerSink, writeStderr } from "../../sdk/output.ts";
import { allowConnections, type BuiltinPlugins, loadPlugin } from "./plugins.ts";
import {
  byteSize,
  count,
  type FlagValues,
  listFlag,
  oneOf,
  readFlags,
  switchFlag,
  text,
  UsageError,
  valueFlag,
} from "./flags.ts";

/** Usage text of the `serve` subcommand. */
export const SERVE_USAGE = `Usage: deno run mod.ts serve [options]

Runs the app manager and serves WAMR's host link, so host tools can install, query and
uninstall apps, send them requests and subscribe to their events.

Options:
  --host <addr>          Address to listen on (default 127.0.0.1)
  --port <n>             TCP port (default 8888; 0 picks a free one)
  --stdio                Serve the link on stdin/stdout instead of TCP (app output goes to
                         stderr)
  --serial <device>      Serve the link on a serial device (or any file) instead of TCP
  --plugin <spec>        Load a native library (repeatable); libc, base, wasi, sensor and
                         connection are always loaded (WASI apps get no directories: --plugin
                         wasi,dir=HOST::GUEST; other sensors: --plugin sensor,driver=sine)
  --allow-connect <list> Let apps open connections to these HOST:PORT endpoints and serial
                         devices (comma-separated, repeatable; default: none)
  --app <name>=<file>    Install an app at start (repeatable)
  --heap-size <n>        App heap of --app installs (default 8192)
  --max-apps <n>         Apps installed at once (default ${SERVE_MAX_APPS})
  --max-payload <n>      Largest link message in bytes (default ${DEFAULT_MAX_PAYLOAD})
  --deadline-ms <n>      Wall-clock budget of each callback into an app (default
                         ${DEFAULT_DEADLINE_MS}; 0 turns it off). An app that overruns it 3 times in
                         a row, or once in on_init or its start function, is suspended
  --max-memory <size>    Memory cap of each app (default 64M; 0: none). Sizes take K, M, G
  --unknown-imports <how>
                         trap: an import nothing provides traps when called, after a warning
                         (default, as WAMR); error: the install is refused with the link error
  --max-total-memory <size>
                         Refuse installs whose memory caps would add up to more than this
  --state-dir <dir>      Keep installed apps in <dir> across restarts; an app that was
                         running when the process stopped comes back suspended
  --max-connections <n>  Host links served at once (default ${DEFAULT_MAX_CONNECTIONS}); the first
                         request of each link past it is answered 5.03, then the link closes
  --idle-timeout <s>     Close a link after <s> seconds with no frame either way and no
                         request in flight (default ${DEFAULT_IDLE_TIMEOUT / 1000}; 0: never)
  --token-file <file>    Serve only hosts that prove they hold the token in <file>
                         (challenge-response; the token never crosses the link). Default:
                         \$${TOKEN_ENV} when --allow-env lets serve read it
  --tls-cert <file>      Serve TLS with this PEM certificate chain (with --tls-key)
  --tls-key <file>       The certificate's PEM private key
  --ws <port>            Also serve the host link over WebSocket on this port (0 picks a free
                         one), for browser pages: same frames, same token, wss: with TLS
  --ws-origin <origin>   A browser origin allowed on --ws besides pages from loopback
                         addresses (repeatable; * allows any)
  --mqtt <url>           Also serve the host side through an MQTT broker (mqtt://HOST:PORT or
                         mqtts://HOST:PORT; needs --allow-env for MQTT.js): requests in on
                         <prefix>/<id>/req, responses out on …/res, a retained status on
                         …/status with "offline" as the last will
  --device-id <id>       This device's id on the broker (required with --mqtt)
  --mqtt-prefix <p>      First topic level(s) (default mr)
  --mqtt-username <u>    User name at the broker
  --mqtt-password-file <file>
                         The broker password, read from <file>
  --mqtt-events <list>   Bridge these event URLs with the broker (comma-separated; an entry
                         ending in / allows every URL under it): apps' events go out on
                         <prefix>/<id>/ev/<url>, other devices' come in to subscribed apps
  --mqtt-ca <file>       Trust this PEM CA certificate for mqtts:// instead of the system's
  --mqtt-cert <file>     A PEM client certificate for a broker that asks for one
  --mqtt-key <file>      The client certificate's PEM private key
  -v, --verbose          Print WAMR's trace lines and link activity
  -h, --help             Print this help

Installs may set their own limits: /applet?name=N&deadline=<ms>&memory=<bytes>. A suspended
app is listed by the query with its status and reason and starts again when reinstalled or
resumed (POST /applet?name=N&action=resume; host --resume N).

Listening on an address other machines can reach without both a token and TLS prints a
warning at start. A closed stdout or stderr never stops serving (its output is dropped).

SIGINT or SIGTERM shuts down cleanly: every running app's on_destroy runs, links close,
state is kept.`;

/**
 * A sink that survives its stream going away (a closed pipe): the first failed write calls
 * `gone` and later output is dropped, instead of an exception taking the server down.
 */
function _surviving(sink: OutputSink, gone: (error: unknown) => void): OutputSink {
  let open = true;
  return function writeWhileOpen(bytes: Uint8Array): void {
    if (!open) return;
    try {
      sink(bytes);
    } catch (error) {
      open = false;
      gone(error);
    }
  };
}

/** Writes text until the first failure (a closed stderr: there is nowhere left to say so). */
function _survivingText(write: (text: string) => void): (text: string) => void {
  let open = true;
  return function writeWhileOpen(text: string): void {
    if (!open) return;
    try {
      write(text);
    } catch {
      open = false;
    }
  };
}

/** What `serve` takes from the CLI. */
export interface ServeIO {
  /** Plugins `--plugin NAME` may name, besides libc and base. */
  builtins?: BuiltinPlugins;
  /** Console and app output (default: stdout; stderr under `--stdio`). */
  stdout?: OutputSink;
  /** Usage errors and link errors (default: stderr). */
  stderr?: (text: string) => void;
  /** The runtime's version, for the MQTT status message. */
  version?: string;
}

const _number = count("a number", Number.MAX_SAFE_INTEGER);
const _size = byteSize("bytes, or a number with K, M or G");

/** The serve command's flags; it takes no other arguments. */
const _FLAGS = {
  hostname: valueFlag(["--host"], text, "127.0.0.1"),
  port: valueFlag(["--port"], count("a number", 65535), 8888),
  stdio: switchFlag("--stdio"),
  serial: valueFlag(["--serial"], text),
  plugins: listFlag(["--plugin"], text),
  allowConnect: listFlag(["--allow-connect"], function allowList(list): string {
    try {
      parseAllowList(list);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return list;
  }),
  apps: listFlag(["--app"], function appSpec(spec): { name: string; file: string } {
    const at = spec.indexOf("=");
    if (at <= 0 || at === spec.length - 1) {
      throw new UsageError(`Invalid value for --app: "${spec}" (expected NAME=FILE)`);
    }
    return { name: spec.slice(0, at), file: spec.slice(at + 1) };
  }),
  heapSize: valueFlag(["--heap-size"], _number),
  maxApps: valueFlag(["--max-apps"], _number, SERVE_MAX_APPS),
  maxPayload: valueFlag(["--max-payload"], count("a number", 0xffffffff), DEFAULT_MAX_PAYLOAD),
  deadlineMs: valueFlag(["--deadline-ms"], _number, DEFAULT_DEADLINE_MS),
  maxMemory: valueFlag(["--max-memory"], _size, DEFAULT_MAX_MEMORY),
  maxTotalMemory: valueFlag(["--max-total-memory"], _size),
  unknownImports: valueFlag(["--unknown-imports"], oneOf("trap", "error")),
  stateDir: valueFlag(["--state-dir"], text),
  maxConnections: valueFlag(
    ["--max-connections"],
    function atLeastOne(value, name): number {
      const n = _number(value, name);
      if (n < 1) throw new UsageError(`Invalid value for ${name}: "${value}" (expected 1 or more)`);
      return n;
    },
    DEFAULT_MAX_CONNECTIONS,
  ),
  idleTimeout: valueFlag(["--idle-timeout"], _number, DEFAULT_IDLE_TIMEOUT / 1000),
  tokenFile: valueFlag(["--token-file"], text),
  tlsCert: valueFlag(["--tls-cert"], text),
  tlsKey: valueFlag(["--tls-key"], text),
  mqtt: valueFlag(["--mqtt"], function brokerUrl(value, name): string {
    if (!/^mqtts?:\/\/[^/]+/.test(value)) {
      throw new UsageError(
        `Invalid value for ${name}: "${value}" (expected mqtt://HOST:PORT or mqtts://HOST:PORT)`,
      );
    }
    return value;
  }),
  deviceId: valueFlag(["--device-id"], _topicLevel),
  mqttPrefix: valueFlag(["--mqtt-prefix"], function topicLevels(value, name): string {
    for (const level of value.split("/")) _topicLevel(level, name);
    return value;
  }),
  mqttUsername: valueFlag(["--mqtt-username"], text),
  mqttPasswordFile: valueFlag(["--mqtt-password-file"], text),
  ws: valueFlag(["--ws"], count("a number", 65535)),
  wsOrigins: listFlag(["--ws-origin"], text),
  mqttEvents: valueFlag(["--mqtt-events"], function eventPrefixes(value, name): string[] {
    const entries = value.split(",").map((entry) => entry.trim());
    for (const entry of entries) {
      if (entry === "" || /[+#\0]/.test(entry)) {
        throw new UsageError(
          `Invalid value for ${name}: "${value}" (expected event URLs or prefixes ending in "/", ` +
            `comma-separated, without "+" or "#")`,
        );
      }
    }
    return entries;
  }),
  mqttCa: valueFlag(["--mqtt-ca"], text),
  mqttCert: valueFlag(["--mqtt-cert"], text),
  mqttKey: valueFlag(["--mqtt-key"], text),
  verbose: switchFlag("-v", "--verbose"),
  help: switchFlag("-h", "--help"),
};

/** One MQTT topic level: not empty, no `/`, and no wildcard. */
function _topicLevel(value: string, name: string): string {
  if (value === "" || /[/+#\0]/.test(value)) {
    throw new UsageError(
      `Invalid value for ${name}: "${value}" (expected a topic level without "/", "+" or "#")`,
    );
  }
  return value;
}

function _parse(argv: readonly string[]): FlagValues<typeof _FLAGS> {
  const { flags } = readFlags(_FLAGS, argv, { args: "reject" });
  if (flags.stdio && flags.serial !== undefined) {
    throw new UsageError("Choose one of --stdio and --serial");
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError("Give both --tls-cert and --tls-key");
  }
  if (flags.tlsCert !== undefined && (flags.stdio || flags.serial !== undefined)) {
    throw new UsageError("TLS serves TCP links: not with --stdio or --serial");
  }
  if (flags.ws !== undefined && (flags.stdio || flags.serial !== undefined)) {
    throw new UsageError("--ws serves beside TCP: not with --stdio or --serial");
  }
  if (flags.wsOrigins.length > 0 && flags.ws === undefined) {
    throw new UsageError("--ws-origin needs --ws");
  }
  if (flags.mqtt !== undefined && flags.deviceId === undefined) {
    throw new UsageError("Give --device-id with --mqtt");
  }
  if (
    flags.mqtt === undefined &&
    (flags.deviceId ?? flags.mqttPrefix ?? flags.mqttUsername ?? flags.mqttPasswordFile) !==
      undefined
  ) {
    throw new UsageError(
      "--device-id, --mqtt-prefix, --mqtt-username and --mqtt-password-file need --mqtt",
    );
  }
  if (
    flags.mqtt === undefined &&
    (flags.mqttEvents ?? flags.mqttCa ?? flags.mqttCert ?? flags.mqttKey) !== undefined
  ) {
    throw new UsageError("--mqtt-events, --mqtt-ca, --mqtt-cert and --mqtt-key need --mqtt");
  }
  if ((flags.mqttCert === undefined) !== (flags.mqttKey === undefined)) {
    throw new UsageError("Give --mqtt-cert and --mqtt-key together");
  }
  return flags;
}

/** A password file's first line. */
function _readSecret(file: string, flag: string): string {
  let text;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    throw new Error(`Cannot read ${flag} "${file}": ${(error as Error).message}`);
  }
  const secret = text.split(/\r?\n/, 1)[0] ?? "";
  if (secret === "") throw new Error(`The ${flag} "${file}" is empty`);
  return secret;
}

function _readPem(file: string, flag: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    throw new Error(`Cannot read ${flag} "${file}": ${(error as Error).message}`);
  }
}

/**
 * Runs `serve` until SIGINT or SIGTERM (or the end of the stdio/serial link).
 *
 * @param argv the arguments after `serve`
 * @param options built-in plugins and output sinks (the CLI's options fit)
 * @returns the exit status: 0 after a clean shutdown, 1 when start-up fails, 2 for usage errors
 */
export async function runServe(argv: readonly string[], options: ServeIO = {}): Promise<number> {
  const encoder = new TextEncoder();
  const stderr = _survivingText(options.stderr ?? writeStderr);
  let args: FlagValues<typeof _FLAGS>;
  try {
    args = _parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr(`serve: ${e.message}. Run with --help for usage.\n`);
    return 2;
  }
  const linkOnStdio = args.stdio;
  // App output and console lines are gathered per event-loop turn: apps that print a line
  // per request would otherwise cost a write syscall per request.
  const streamName = linkOnStdio ? "stderr" : "stdout";
  const console_ = coalescingSink(
    _surviving(
      linkOnStdio ? writerSink(Deno.stderr) : options.stdout ?? writerSink(Deno.stdout),
      (error) =>
        stderr(
          `serve: ${streamName} is closed (${(error as Error).message ?? String(error)}); ` +
            `app output is dropped from now on\n`,
        ),
    ),
  );
  const say = (line: string) => console_(encoder.encode(line + "\n"));
  if (args.help) {
    say(SERVE_USAGE);
    console_.flush();
    return 0;
  }

  let service: HostService;
  try {
    const builtins: BuiltinPlugins = { ...options.builtins };
    const plugins = await defaultPlugins(builtins);
    // `--plugin wasi,dir=…` configures the built-in, not the apps' variant with no stdin.
    for (const p of plugins) if (p.name !== "wasi") builtins[p.name] ??= p;
    for (const spec of args.plugins) {
      // A library named like a default one replaces it (`--plugin wasi,dir=./data`).
      const library = await loadPlugin(spec, builtins);
      const same = plugins.findIndex((p) => p.name === library.name);
      if (same < 0) plugins.push(library);
      else plugins[same] = library;
    }
    allowConnections(plugins, args.allowConnect);
    const token = readToken(args.tokenFile);
    const tls = args.tlsCert === undefined ? undefined : {
      cert: _readPem(args.tlsCert, "--tls-cert"),
      key: _readPem(args.tlsKey!, "--tls-key"),
    };
    const mqtt: MqttLinkOptions | undefined = args.mqtt === undefined ? undefined : {
      url: args.mqtt,
      deviceId: args.deviceId!,
      ...(args.mqttPrefix !== undefined ? { prefix: args.mqttPrefix } : {}),
      ...(args.mqttUsername !== undefined ? { username: args.mqttUsername } : {}),
      ...(args.mqttPasswordFile !== undefined
        ? { password: _readSecret(args.mqttPasswordFile, "--mqtt-password-file") }
        : {}),
      ...(args.mqttEvents !== undefined ? { events: args.mqttEvents } : {}),
      ...(args.mqttCa !== undefined ? { ca: _readPem(args.mqttCa, "--mqtt-ca") } : {}),
      ...(args.mqttCert !== undefined
        ? {
          cert: _readPem(args.mqttCert, "--mqtt-cert"),
          key: _readPem(args.mqttKey!, "--mqtt-key"),
        }
        : {}),
      runtimeVersion: `micro-runtime ${options.version ?? "unknown"}`,
      maxPayload: args.maxPayload,
      // Connects and refusals are news on a device; the rest as the other links' lines.
      log: (level, message) => {
        if (level === "info") say(message);
        else if (level === "error" || level === "warn" || args.verbose) stderr(message + "\n");
      },
    };
    const apps = args.apps.map((a) => ({
      name: a.name,
      bytes: Deno.readFileSync(a.file),
      ...(args.heapSize !== undefined ? { heapSize: args.heapSize } : {}),
    }));
    service = await HostService.start({
      hostname: args.hostname,
      port: args.port,
      listen: !linkOnStdio && args.serial === undefined,
      plugins,
      apps,
      maxApps: args.maxApps,
      maxPayload: args.maxPayload,
      deadlineMs: args.deadlineMs,
      maxMemory: args.maxMemory,
      ...(args.maxTotalMemory !== undefined ? { maxTotalMemory: args.maxTotalMemory } : {}),
      ...(args.unknownImports !== undefined ? { unknownImports: args.unknownImports } : {}),
      ...(args.stateDir !== undefined ? { stateDir: args.stateDir } : {}),
      maxConnections: args.maxConnections,
      idleTimeout: args.idleTimeout * 1000,
      ...(token !== undefined ? { token } : {}),
      ...(tls !== undefined ? { tls } : {}),
      ...(mqtt !== undefined ? { mqtt } : {}),
      ...(args.ws !== undefined ? { ws: { port: args.ws, origins: args.wsOrigins } } : {}),
      stdout: console_,
      verbose: args.verbose,
      log: (level, message) => {
        if (level === "error" || level === "warn" || args.verbose) stderr(message + "\n");
      },
    });
  } catch (e) {
    console_.flush();
    stderr(`serve: ${(e as Error).message}\n`);
    return 1;
  }

  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => stop(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });

  if (service.addr) {
    say(`listening on ${service.addr.hostname}:${service.addr.port}`);
    if (service.ws) say(`serving the host link over WebSocket on ${service.ws.url}`);
  } else if (linkOnStdio) {
    say("serving the host link on stdin/stdout");
    service.serve({
      readable: Deno.stdin.readable,
      writable: Deno.stdout.writable,
    }, "stdio").then(() => stop("end of stdin"));
  } else {
    try {
      const file = await Deno.open(args.serial!, { read: true, write: true });
      say(`serving the host link on ${args.serial}`);
      service.serve(file, args.serial).then(() => stop(`end of ${args.serial}`));
    } catch (e) {
      stderr(`serve: Cannot open "${args.serial}": ${(e as Error).message}\n`);
      stop("error");
    }
  }

  const why = await stopped;
  if (args.verbose) stderr(`serve: shutting down (${why})\n`);
  for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  await service.shutdown();
  console_.flush();
  return why === "error" ? 1 : 0;
}
