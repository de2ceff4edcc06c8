/**
 * `deno run mod.ts host …`: WAMR's `host_tool`, with its options, its packets on the wire and
 * its output, plus `--json` for scripts.
 *
 * @module
 */

import { Action, FMT_APP_RAW_BINARY, FMT_ATTR_CONTAINER } from "../../sdk/packet.ts";
import { HostMessageType } from "../../sdk/host_link.ts";
import { writerSink, writeStderr } from "../../sdk/output.ts";
import {
  count,
  type FlagValues,
  inlineFlag,
  readFlags,
  switchFlag,
  text,
  UsageError,
  valueFlag,
} from "./flags.ts";
import { readToken, TOKEN_ENV } from "./link_security.ts";
import {
  HostAuthError,
  HostClient,
  type HostEvent,
  type HostResponse,
  installUrl,
  subscribeUrl,
} from "../../sdk/host_client.ts";
import {
  type AttrContainer,
  encodeLikeWamr,
  formatHostToolJSON,
  fromJSON,
  toJSON,
} from "../../sdk/attr_container.ts";

/** Usage text of the `host` subcommand. */
export const HOST_USAGE = `Usage: deno run mod.ts host <operation> [options]

Talks to a runtime's host link, like WAMR's host_tool.

Operations (exactly one):
  -i, --install <name> -f, --file <path>   Install an app
      [--type=<wasm|jeff>] [--heap=<n>] [--timers=<n>] [--watchdog=<ms>]
      [--deadline=<ms>] [--memory=<bytes>]  (micro-runtime's per-app limits)
  -u, --uninstall <name> [--type=<t>]      Uninstall an app
  --resume <name>                          Start a suspended app again (micro-runtime)
  -q, --query[=<name>]                     Query all apps, or one (attached: -qNAME)
  -r, --request <url> -A, --action <GET|PUT|POST|DELETE> [-p, --payload <json file>]
                                           Send a request
  -s, --register <url>                     Subscribe to an event
  -d, --deregister <url>                   Unsubscribe from an event

Options:
  -S, --address=<ip>       Server address (default 127.0.0.1)
  -P, --port=<n>           Server port (default 8888)
  -D, --uart_device=<dev>  Use a serial device instead of TCP
  -B, --baudrate=<n>       Accepted for compatibility; set the device's speed beforehand
  -t, --timeout=<ms>       Operation timeout (default 5000)
  -a, --alive=<ms>         Keep printing events for <ms> after the response (default 0)
  -o, --output=<file>      Also append the output to <file>
  -U, --udp=<port>         Also send the output over UDP to 127.0.0.1:<port>
  --json                   One JSON object per line instead of host_tool's text
  --tls                    Connect over TLS (serve --tls-cert), checking the certificate
  --ca=<file>              Also trust this PEM certificate (a self-signed runtime); implies --tls
  --token-file=<file>      Prove the runtime's token (serve --token-file); default
                           \$${TOKEN_ENV} when --allow-env lets host read it
  -h, --help               Print this help

Through an MQTT broker (serve --mqtt), instead of -S/-P:
  --mqtt=<url>             The broker, mqtt://HOST:PORT or mqtts://HOST:PORT
  --device=<id>            One device: the operations, options and output above
  --fleet=<pattern>        Every device matching <pattern> (an id, + or #, or a list
                           separated by ","): -i, -u, -q, --resume or -r; a progress bar on
                           stderr, then a table of device, status, time and result
  --mqtt-prefix=<p>        First topic level(s), as the devices' (default mr)
  --mqtt-username=<u>      User name at the broker
  --mqtt-password-file=<file>  The broker password, read from <file>
  --mqtt-ca=<file>         Also trust this PEM certificate for mqtts://

Exit status: the response status (65, 66, 69, 160…); 2 on timeout or a usage error;
255 when the connection, the token or a file fails. With --fleet: 0 when every device
answered 2.xx, 1 when some did not, 255 when no device matches or the broker refuses.`;

const _number = count("a number");

function _port(value: string, name: string): number {
  const port = _number(value, name);
  if (port > 65535) throw new UsageError("Port out of range");
  return port;
}

/**
 * host_tool's options, read getopt_long-style: the last value of a repeated option wins, and
 * other arguments are ignored, as getopt permutes them to the end (so `-q NAME` is "all").
 */
const _FLAGS = {
  install: valueFlag(["-i", "--install"], text),
  file: valueFlag(["-f", "--file"], text),
  uninstall: valueFlag(["-u", "--uninstall"], text),
  query: inlineFlag(["-q", "--query"], (name): string | true => name ?? true),
  request: valueFlag(["-r", "--request"], text),
  action: valueFlag(["-A", "--action"], text),
  payload: valueFlag(["-p", "--payload"], text),
  register: valueFlag(["-s", "--register"], text),
  deregister: valueFlag(["-d", "--deregister"], text),
  alive: valueFlag(["-a", "--alive"], _number, 0),
  timeout: valueFlag(["-t", "--timeout"], _number, 5000),
  address: valueFlag(["-S", "--address"], text, "127.0.0.1"),
  port: valueFlag(["-P", "--port"], _port, 8888),
  uartDevice: valueFlag(["-D", "--uart_device", "--uart"], text),
  baudrate: valueFlag(["-B", "--baudrate"], _number),
  output: valueFlag(["-o", "--output"], text),
  udp: valueFlag(["-U", "--udp"], _port),
  help: switchFlag("-h", "--help"),
  type: valueFlag(["--type"], text),
  heap: valueFlag(["--heap"], _number),
  timers: valueFlag(["--timers"], _number),
  watchdog: valueFlag(["--watchdog"], _number),
  deadline: valueFlag(["--deadline"], _number),
  memory: valueFlag(["--memory"], _number),
  resume: valueFlag(["--resume"], text),
  json: switchFlag("--json"),
  tls: switchFlag("--tls"),
  ca: valueFlag(["--ca"], text),
  tokenFile: valueFlag(["--token-file"], text),
  mqtt: valueFlag(["--mqtt"], text),
  mqttDevice: valueFlag(["--device"], text),
  fleet: valueFlag(["--fleet"], text),
  mqttPrefix: valueFlag(["--mqtt-prefix"], text),
  mqttUsername: valueFlag(["--mqtt-username"], text),
  mqttPasswordFile: valueFlag(["--mqtt-password-file"], text),
  mqttCa: valueFlag(["--mqtt-ca"], text),
};

type _Flags = FlagValues<typeof _FLAGS>;

const _MQTT_FLAGS = [
  "mqtt",
  "mqttDevice",
  "fleet",
  "mqttPrefix",
  "mqttUsername",
  "mqttPasswordFile",
  "mqttCa",
] as const;

/** What the tool sends: one request packet in one frame. */
interface _Operation {
  type: number;
  action: number;
  url: string;
  fmt: number;
  payload: Uint8Array | undefined;
  /** A file to read for the payload: the app (install) or a JSON file (`-p`). */
  file?: { path: string; json: boolean };
}

function _operation(opts: _Flags): _Operation {
  const ops =
    (["install", "uninstall", "resume", "query", "request", "register", "deregister"] as const)
      .filter((k) => opts[k] !== undefined);
  if (ops.length === 0) {
    throw new UsageError(
      "No operation given: use one of -i, -u, -q, -r, -s, -d, --resume (see --help)",
    );
  }
  if (ops.length > 1) {
    throw new UsageError(
      `Only one operation at a time: got ${ops.map((o) => "--" + o).join(", ")}`,
    );
  }
  const { type, heap, timers, watchdog, deadline, memory } = opts;
  switch (ops[0]) {
    case "install": {
      const name = opts.install!;
      const file = opts.file;
      if (file === undefined) throw new UsageError("Install needs the app file: -f <path>");
      const url = installUrl(name, {
        ...(type !== undefined ? { type } : {}),
        ...(heap !== undefined ? { heap } : {}),
        ...(timers !== undefined ? { timers } : {}),
        ...(watchdog !== undefined ? { watchdog } : {}),
        ...(deadline !== undefined ? { deadline } : {}),
        ...(memory !== undefined ? { memory } : {}),
      });
      return {
        type: HostMessageType.INSTALL,
        action: Action.PUT,
        url,
        fmt: FMT_APP_RAW_BINARY,
        payload: undefined,
        file: { path: file, json: false },
      };
    }
    case "uninstall": {
      const url = `/applet?name=${opts.uninstall!}` + (type !== undefined ? `&type=${type}` : "");
      return _req(Action.DELETE, url);
    }
    case "resume":
      return _req(Action.POST, `/applet?name=${opts.resume!}&action=resume`);
    case "query": {
      const name = opts.query;
      return _req(Action.GET, name === true ? "/applet" : `/applet?name=${name}`);
    }
    case "request": {
      const url = opts.request!;
      const method = opts.action;
      if (method === undefined) {
        throw new UsageError("Request needs a method: -A <GET|PUT|POST|DELETE>");
      }
      const code = (Action as Record<string, number>)[method.toUpperCase()];
      if (code === undefined || code === Action.EVENT) {
        throw new UsageError(`Invalid action "${method}" (expected GET, PUT, POST or DELETE)`);
      }
      const op = _req(code, url);
      if (opts.payload !== undefined) op.file = { path: opts.payload, json: true };
      return op;
    }
    case "register":
      return _req(Action.PUT, subscribeUrl(opts.register!));
    default:
      // host_tool always prefixes "/event/", so "-d /x" asks for "/event//x" (kept for parity).
      return _req(Action.DELETE, "/event/" + opts.deregister!);
  }
}

function _req(action: number, url: string): _Operation {
  return {
    type: HostMessageType.REQUEST,
    action,
    url,
    fmt: FMT_ATTR_CONTAINER,
    payload: undefined,
  };
}

/** I/O of the host tool, replaceable in tests. */
export interface HostToolIO {
  /** Where output goes (default `Deno.stdout`). */
  stdout?: (text: string) => void;
  /** Where errors go (default `Deno.stderr`). */
  stderr?: (text: string) => void;
}

function _payloadJSON(
  fmt: number,
  payload: Uint8Array | undefined,
  container: AttrContainer | undefined,
): unknown {
  if (payload === undefined) return null;
  if (fmt === FMT_ATTR_CONTAINER && container) return toJSON(container);
  let text = "";
  for (const b of payload) text += String.fromCharCode(b);
  return { base64: btoa(text) };
}

/**
 * Runs the host tool and returns its exit status.
 *
 * @param argv the arguments after `host`
 * @param io output sinks
 * @returns the response status; 2 on timeout or a usage error; 255 on other failures
 *
 * @example A usage error exits 2
 * ```ts
 * import assert from "node:assert/strict";
 * import { runHostTool } from "./host_command.ts";
 * let err = "";
 * const status = await runHostTool(["--bogus"], { stderr: (t) => err += t });
 * assert.equal(status, 2);
 * assert.match(err, /--bogus/);
 * ```
 */
export async function runHostTool(argv: readonly string[], io: HostToolIO = {}): Promise<number> {
  const encoder = new TextEncoder();
  const stderr = io.stderr ?? writeStderr;
  const writeStdout = writerSink(Deno.stdout);
  const stdout = io.stdout ?? ((t: string) => writeStdout(encoder.encode(t)));
  let opts: _Flags;
  let op: _Operation;
  try {
    opts = readFlags(_FLAGS, argv, { getopt: true }).flags;
    if (opts.help) {
      stdout(HOST_USAGE + "\n");
      return 0;
    }
    op = _operation(opts);
    // MQTT.js and the fleet client load only for a host that uses them.
    if (_MQTT_FLAGS.some((flag) => opts[flag] !== undefined)) {
      (await import("./host_fleet.ts")).checkMqttFlags(opts, op.url);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`host: ${error.message}\n`);
    return 2;
  }

  // Output sinks: stdout, plus -o (append) and -U (UDP datagrams), as host_tool does.
  const sinks: ((text: string) => void)[] = [stdout];
  const cleanups: (() => void)[] = [];
  const { output: outFile, udp } = opts;
  try {
    if (outFile !== undefined) {
      const file = Deno.openSync(outFile, { append: true, create: true });
      cleanups.push(() => file.close());
      sinks.push((t) => void file.writeSync(encoder.encode(t)));
    }
    if (udp !== undefined) {
      // A computed specifier: a literal one would bring Node's global types (where
      // setTimeout returns an object) into every module's type check.
      const specifier = "node:dgram";
      const dgram: _Dgram = await import(specifier);
      const socket = dgram.createSocket("udp4");
      cleanups.push(() => socket.close());
      const target = udp;
      sinks.push((t) => socket.send(encoder.encode(t), target, "127.0.0.1"));
    }
  } catch (error) {
    stderr(`host: Cannot open output: ${(error as Error).message}\n`);
    for (const c of cleanups) c();
    return 255;
  }
  const out = (t: string) => {
    for (const s of sinks) s(t);
  };

  try {
    return await _run(opts, op, out, stderr);
  } finally {
    for (const c of cleanups) c();
  }
}

async function _run(
  opts: _Flags,
  op: _Operation,
  out: (text: string) => void,
  stderr: (text: string) => void,
): Promise<number> {
  const { json, timeout, alive, port, address: hostname, uartDevice: device, tls, ca, tokenFile } =
    opts;
  let token: Uint8Array | undefined;
  let caCerts: string[] | undefined;
  try {
    token = readToken(tokenFile);
  } catch (error) {
    stderr(`host: ${(error as Error).message}\n`);
    return 255;
  }
  if (ca !== undefined) {
    try {
      caCerts = [Deno.readTextFileSync(ca)];
    } catch (error) {
      stderr(`host: Cannot read "${ca}": ${(error as Error).message}\n`);
      return 255;
    }
  }
  if (op.file) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(op.file.path);
    } catch (error) {
      stderr(`host: Cannot read "${op.file.path}": ${(error as Error).message}\n`);
      return 255;
    }
    if (op.file.json) {
      try {
        op.payload = encodeLikeWamr(fromJSON(JSON.parse(new TextDecoder().decode(bytes))));
      } catch (error) {
        stderr(`host: Invalid JSON payload in "${op.file.path}": ${(error as Error).message}\n`);
        return 255;
      }
    } else {
      op.payload = bytes;
    }
  }

  if (opts.fleet !== undefined) {
    const { runFleet } = await import("./host_fleet.ts");
    return await runFleet(opts, op, out, stderr);
  }
  let client: HostClient;
  let closeBroker = async () => {};
  try {
    const options = { timeout, ...(token ? { token } : {}) };
    if (opts.mqtt !== undefined) {
      const { connectDevice } = await import("./host_fleet.ts");
      ({ client, close: closeBroker } = await connectDevice(opts));
    } else if (device !== undefined) {
      const file = await Deno.open(device, { read: true, write: true });
      client = new HostClient(file, options);
      try {
        await client.ready;
      } catch (error) {
        client.close();
        throw error;
      }
    } else {
      client = await HostClient.connect({
        hostname,
        port,
        ...options,
        ...(tls ? { tls } : {}),
        ...(caCerts ? { caCerts } : {}),
      });
    }
  } catch (error) {
    if (error instanceof HostAuthError || opts.mqtt !== undefined) {
      stderr(`host: ${(error as Error).message}\n`);
      return 255;
    }
    const where = device ?? `${hostname}:${port}`;
    stderr(`host: Cannot connect to ${where}: ${(error as Error).message}\n`);
    return 255;
  }

  const printEvent = (e: HostEvent) => {
    if (json) {
      out(
        JSON.stringify({
          type: "event",
          url: e.url,
          fmt: e.fmt,
          mid: e.mid,
          payload: _payloadJSON(e.fmt, e.payload, e.container),
        }) + "\n",
      );
      return;
    }
    out(`\nreceived an event ${e.url}\n`);
    if (e.container) out(formatHostToolJSON(e.container));
  };
  const printResponse = (r: HostResponse) => {
    if (json) {
      out(
        JSON.stringify({
          type: "response",
          status: r.status,
          fmt: r.fmt,
          mid: r.mid,
          payload: _payloadJSON(r.fmt, r.payload, r.container),
        }) + "\n",
      );
      return;
    }
    out(`\nresponse status ${r.status}\n`);
    if (r.container) out(formatHostToolJSON(r.container));
  };
  client.onEvent(printEvent);
  // Printed from the read loop so responses and events keep their wire order.
  client.onResponse(printResponse);

  try {
    let response: HostResponse;
    try {
      response = await client.send(op.type, op.action, op.url, op.fmt, op.payload, timeout);
    } catch (error) {
      if (error instanceof Deno.errors.TimedOut) {
        out(json ? JSON.stringify({ type: "timeout" }) + "\n" : "operation timeout\n");
        return 2;
      }
      stderr(`host: ${(error as Error).message}\n`);
      return 255;
    }
    if (alive > 0) {
      // -a: keep the connection open for events; the wait is the feature, not a sync.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => timer = setTimeout(resolve, alive)),
        client.closed,
      ]);
      clearTimeout(timer);
    }
    return response.status;
  } finally {
    client.close();
    await closeBroker();
  }
}

/** The part of `node:dgram` the `-U` option uses. */
interface _Dgram {
  createSocket(type: "udp4"): {
    send(data: Uint8Array, port: number, address: string): void;
    close(): void;
  };
}
