/**
 * `deno run mod.ts host …`: WAMR's `host_tool`, with its options, its packets on the wire and
 * its output, plus `--json` for scripts.
 *
 * @module
 */

import { Action, FMT_APP_RAW_BINARY, FMT_ATTR_CONTAINER } from "../../sdk/packet.ts";
import { HostMessageType } from "../../sdk/host_link.ts";
import { writerSink } from "../../sdk/output.ts";
import {
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
  -h, --help               Print this help

Exit status: the response status (65, 66, 69, 160…); 2 on timeout or a usage error;
255 when the connection or a file fails.`;

interface _Spec {
  short?: string;
  long: string;
  arg: "none" | "required" | "optional";
}

const _SPECS: _Spec[] = [
  { short: "i", long: "install", arg: "required" },
  { short: "f", long: "file", arg: "required" },
  { short: "u", long: "uninstall", arg: "required" },
  { short: "q", long: "query", arg: "optional" },
  { short: "r", long: "request", arg: "required" },
  { short: "A", long: "action", arg: "required" },
  { short: "p", long: "payload", arg: "required" },
  { short: "s", long: "register", arg: "required" },
  { short: "d", long: "deregister", arg: "required" },
  { short: "a", long: "alive", arg: "required" },
  { short: "t", long: "timeout", arg: "required" },
  { short: "S", long: "address", arg: "required" },
  { short: "P", long: "port", arg: "required" },
  { short: "D", long: "uart_device", arg: "required" },
  { short: "B", long: "baudrate", arg: "required" },
  { short: "o", long: "output", arg: "required" },
  { short: "U", long: "udp", arg: "required" },
  { short: "h", long: "help", arg: "none" },
  { long: "type", arg: "required" },
  { long: "heap", arg: "required" },
  { long: "timers", arg: "required" },
  { long: "watchdog", arg: "required" },
  { long: "deadline", arg: "required" },
  { long: "memory", arg: "required" },
  { long: "resume", arg: "required" },
  { long: "json", arg: "none" },
  { long: "uart", arg: "required" },
];

class _UsageError extends Error {}

/** getopt_long-style parsing: the last value of a repeated option wins. */
function _getopt(argv: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = _SPECS.find((s) => s.long === name);
      if (!spec) throw new _UsageError(`Unknown option "--${name}"`);
      const key = spec.long === "uart" ? "uart_device" : spec.long;
      if (spec.arg === "none") {
        if (eq >= 0) throw new _UsageError(`Option "--${name}" takes no value`);
        out.set(key, true);
      } else if (eq >= 0) {
        out.set(key, arg.slice(eq + 1));
      } else if (spec.arg === "optional") {
        out.set(key, true);
      } else {
        const value = argv[++i];
        if (value === undefined) throw new _UsageError(`Option "--${name}" needs a value`);
        out.set(key, value);
      }
    } else if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j]!;
        const spec = _SPECS.find((s) => s.short === c);
        if (!spec) throw new _UsageError(`Unknown option "-${c}"`);
        if (spec.arg === "none") {
          out.set(spec.long, true);
          continue;
        }
        const attached = arg.slice(j + 1);
        if (attached !== "") out.set(spec.long, attached);
        else if (spec.arg === "optional") out.set(spec.long, true);
        else {
          const value = argv[++i];
          if (value === undefined) throw new _UsageError(`Option "-${c}" needs a value`);
          out.set(spec.long, value);
        }
        break;
      }
    } else {
      // getopt permutes non-options to the end; host_tool ignores them (so `-q NAME` is "all").
    }
  }
  return out;
}

function _int(opts: Map<string, string | true>, key: string): number | undefined {
  const v = opts.get(key);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) {
    throw new _UsageError(
      `Invalid value for --${key}: "${v === true ? "" : v}" (expected a number)`,
    );
  }
  return Number(v);
}

function _str(opts: Map<string, string | true>, key: string): string | undefined {
  const v = opts.get(key);
  return v === true ? undefined : v;
}

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

function _operation(opts: Map<string, string | true>): _Operation {
  const ops = ["install", "uninstall", "resume", "query", "request", "register", "deregister"]
    .filter((k) => opts.has(k));
  if (ops.length === 0) {
    throw new _UsageError(
      "No operation given: use one of -i, -u, -q, -r, -s, -d, --resume (see --help)",
    );
  }
  if (ops.length > 1) {
    throw new _UsageError(
      `Only one operation at a time: got ${ops.map((o) => "--" + o).join(", ")}`,
    );
  }
  const type = _str(opts, "type");
  switch (ops[0]) {
    case "install": {
      const name = _str(opts, "install")!;
      const file = _str(opts, "file");
      if (file === undefined) throw new _UsageError("Install needs the app file: -f <path>");
      const heap = _int(opts, "heap");
      const timers = _int(opts, "timers");
      const watchdog = _int(opts, "watchdog");
      const deadline = _int(opts, "deadline");
      const memory = _int(opts, "memory");
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
      const name = _str(opts, "uninstall")!;
      const url = `/applet?name=${name}` + (type !== undefined ? `&type=${type}` : "");
      return _req(Action.DELETE, url);
    }
    case "resume":
      return _req(Action.POST, `/applet?name=${_str(opts, "resume")!}&action=resume`);
    case "query": {
      const name = _str(opts, "query");
      return _req(Action.GET, name === undefined ? "/applet" : `/applet?name=${name}`);
    }
    case "request": {
      const url = _str(opts, "request")!;
      const method = _str(opts, "action");
      if (method === undefined) {
        throw new _UsageError("Request needs a method: -A <GET|PUT|POST|DELETE>");
      }
      const code = (Action as Record<string, number>)[method.toUpperCase()];
      if (code === undefined || code === Action.EVENT) {
        throw new _UsageError(`Invalid action "${method}" (expected GET, PUT, POST or DELETE)`);
      }
      const op = _req(code, url);
      const payload = _str(opts, "payload");
      if (payload !== undefined) op.file = { path: payload, json: true };
      return op;
    }
    case "register":
      return _req(Action.PUT, subscribeUrl(_str(opts, "register")!));
    default:
      // host_tool always prefixes "/event/", so "-d /x" asks for "/event//x" (kept for parity).
      return _req(Action.DELETE, "/event/" + _str(opts, "deregister")!);
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
  const stderr = io.stderr ?? ((t: string) => void Deno.stderr.writeSync(encoder.encode(t)));
  let opts: Map<string, string | true>;
  let op: _Operation;
  let json = false;
  let timeout: number;
  let alive: number;
  let port: number;
  let udp: number | undefined;
  try {
    opts = _getopt(argv);
    if (opts.has("help")) {
      (io.stdout ?? ((t: string) => void Deno.stdout.writeSync(encoder.encode(t))))(
        HOST_USAGE + "\n",
      );
      return 0;
    }
    json = opts.has("json");
    op = _operation(opts);
    timeout = _int(opts, "timeout") ?? 5000;
    alive = _int(opts, "alive") ?? 0;
    port = _int(opts, "port") ?? 8888;
    _int(opts, "baudrate");
    udp = _int(opts, "udp");
    if (port > 65535 || (udp !== undefined && udp > 65535)) {
      throw new _UsageError("Port out of range");
    }
  } catch (error) {
    if (error instanceof _UsageError) {
      stderr(`host: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const writeStdout = writerSink(Deno.stdout);
  // Output sinks: stdout, plus -o (append) and -U (UDP datagrams), as host_tool does.
  const sinks: ((text: string) => void)[] = [
    io.stdout ?? ((t: string) => writeStdout(encoder.encode(t))),
  ];
  const cleanups: (() => void)[] = [];
  const outFile = _str(opts, "output");
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
    return await _run(opts, op, { json, timeout, alive, port, out, stderr });
  } finally {
    for (const c of cleanups) c();
  }
}

interface _RunOptions {
  json: boolean;
  timeout: number;
  alive: number;
  port: number;
  out: (text: string) => void;
  stderr: (text: string) => void;
}

async function _run(
  opts: Map<string, string | true>,
  op: _Operation,
  { json, timeout, alive, port, out, stderr }: _RunOptions,
): Promise<number> {
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

  const hostname = _str(opts, "address") ?? "127.0.0.1";
  const device = _str(opts, "uart_device");
  let client: HostClient;
  try {
    if (device !== undefined) {
      const file = await Deno.open(device, { read: true, write: true });
      client = new HostClient(file, { timeout });
    } else {
      client = await HostClient.connect({ hostname, port, timeout });
    }
  } catch (error) {
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
  }
}

/** The part of `node:dgram` the `-U` option uses. */
interface _Dgram {
  createSocket(type: "udp4"): {
    send(data: Uint8Array, port: number, address: string): void;
    close(): void;
  };
}
