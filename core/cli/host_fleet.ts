/**
 * `host --mqtt URL --device ID` and `host --mqtt URL --fleet PATTERN`: the host tool through an
 * MQTT broker (`core/host_link/fleet_client.ts`), loaded only when `--mqtt` is given.
 *
 * @module
 */

import { UsageError } from "./flags.ts";
import {
  FleetClient,
  type FleetClientOptions,
  FleetConnectError,
  type FleetResult,
  parseDevicePattern,
} from "../host_link/fleet_client.ts";
import type { HostClient, HostResponse } from "../../sdk/host_client.ts";
import { toJSON } from "../../sdk/attr_container.ts";
import { FMT_ATTR_CONTAINER } from "../../sdk/packet.ts";

/** The host command's flags this file reads. */
export interface HostMqttFlags {
  /** `--mqtt`: the broker. */
  mqtt: string | undefined;
  /** `--device`: one device id. */
  mqttDevice: string | undefined;
  /** `--fleet`: a device pattern. */
  fleet: string | undefined;
  /** `--mqtt-prefix`. */
  mqttPrefix: string | undefined;
  /** `--mqtt-username`. */
  mqttUsername: string | undefined;
  /** `--mqtt-password-file`. */
  mqttPasswordFile: string | undefined;
  /** `--mqtt-ca`. */
  mqttCa: string | undefined;
  /** `-t`: milliseconds to wait for each device. */
  timeout: number;
  /** `--json`. */
  json: boolean;
  /** TCP-only options, refused with `--mqtt`. */
  uartDevice: string | undefined;
  tls: boolean;
  ca: string | undefined;
  tokenFile: string | undefined;
  alive: number;
}

/** The request packet the operation sends. */
export interface HostMqttOperation {
  /** Action code. */
  action: number;
  /** Request URL. */
  url: string;
  /** Payload format. */
  fmt: number;
  /** Payload bytes. */
  payload: Uint8Array | undefined;
}

/**
 * Checks the MQTT options against each other and the operation.
 *
 * @param flags the host command's flags
 * @param url the operation's request URL
 * @throws {UsageError} when they do not go together
 */
export function checkMqttFlags(flags: HostMqttFlags, url: string): void {
  const { mqtt, mqttDevice, fleet } = flags;
  if (mqtt === undefined) {
    const given =
      (["mqttDevice", "fleet", "mqttPrefix", "mqttUsername", "mqttPasswordFile", "mqttCa"] as const)
        .filter((k) => flags[k] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        "--device, --fleet, --mqtt-prefix, --mqtt-username, --mqtt-password-file and " +
          "--mqtt-ca need --mqtt",
      );
    }
    return;
  }
  if (!/^mqtts?:\/\/[^/]+/.test(mqtt)) {
    throw new UsageError(
      `Invalid value for --mqtt: "${mqtt}" (expected mqtt://HOST:PORT or mqtts://HOST:PORT)`,
    );
  }
  if ((mqttDevice === undefined) === (fleet === undefined)) {
    throw new UsageError("With --mqtt give one of --device ID and --fleet PATTERN");
  }
  if (
    flags.uartDevice !== undefined || flags.tls || flags.ca !== undefined ||
    flags.tokenFile !== undefined
  ) {
    throw new UsageError(
      "--uart_device, --tls, --ca and --token-file are for the TCP link: with --mqtt use " +
        "--mqtt-ca and the broker's credentials",
    );
  }
  try {
    if (mqttDevice !== undefined) {
      const [id, more] = parseDevicePattern(mqttDevice);
      if (more !== undefined || id === "+" || id === "#") throw new RangeError("one device");
    } else parseDevicePattern(fleet!);
  } catch {
    throw new UsageError(
      mqttDevice !== undefined
        ? `Invalid value for --device: "${mqttDevice}" (expected one device id; --fleet takes patterns)`
        : `Invalid value for --fleet: "${fleet}" (expected device ids, "+" or "#", separated by ",")`,
    );
  }
  if (fleet !== undefined && url.startsWith("/event")) {
    throw new UsageError("-s and -d subscribe one host link: use --device, not --fleet");
  }
  if (fleet !== undefined && flags.alive > 0) {
    throw new UsageError("-a keeps one link open for events: use --device, not --fleet");
  }
}

/** The fleet client's options from the flags; the files they name are read here. */
function _options(flags: HostMqttFlags, devices: string): FleetClientOptions {
  const options: FleetClientOptions = { url: flags.mqtt!, devices, timeout: flags.timeout };
  if (flags.mqttPrefix !== undefined) options.prefix = flags.mqttPrefix;
  if (flags.mqttUsername !== undefined) options.username = flags.mqttUsername;
  if (flags.mqttPasswordFile !== undefined) {
    let text;
    try {
      text = Deno.readTextFileSync(flags.mqttPasswordFile);
    } catch (error) {
      throw new Error(
        `Cannot read --mqtt-password-file "${flags.mqttPasswordFile}": ${(error as Error).message}`,
      );
    }
    const password = text.split(/\r?\n/, 1)[0] ?? "";
    if (password === "") {
      throw new Error(`The --mqtt-password-file "${flags.mqttPasswordFile}" is empty`);
    }
    options.password = password;
  }
  if (flags.mqttCa !== undefined) {
    try {
      options.ca = [Deno.readTextFileSync(flags.mqttCa)];
    } catch (error) {
      throw new Error(`Cannot read --mqtt-ca "${flags.mqttCa}": ${(error as Error).message}`);
    }
  }
  return options;
}

async function _connect(flags: HostMqttFlags, devices: string): Promise<FleetClient> {
  try {
    return await FleetClient.connect(_options(flags, devices));
  } catch (error) {
    if (error instanceof FleetConnectError && error.reason !== 0) {
      throw new Error(`${error.message}; check --mqtt-username and --mqtt-password-file`);
    }
    throw error;
  }
}

/**
 * Connects to one device through the broker: a HostClient the host tool runs as over TCP.
 *
 * @param flags the host command's flags (`--mqtt`, `--device`, credentials, timeout)
 * @returns the client and a function that closes it and the broker connection
 * @throws {Error} when the broker refuses or cannot be reached, or the device is offline or unknown
 */
export async function connectDevice(
  flags: HostMqttFlags,
): Promise<{ client: HostClient; close: () => Promise<void> }> {
  const id = flags.mqttDevice!;
  const fleet = await _connect(flags, id);
  const device = fleet.device(id);
  const topic = `${fleet.prefix}/${id}/status`;
  if (device === undefined || !device.online) {
    await fleet.close();
    throw new Error(
      device === undefined
        ? `No device "${id}" at ${_safeUrl(flags.mqtt!)}: nothing retained on ${topic}`
        : `Device "${id}" is offline (${topic} says so, since ${
          new Date(device.changedAt).toISOString()
        } or before)`,
    );
  }
  const client = fleet.hostClient(id, { timeout: flags.timeout });
  return {
    client,
    async close() {
      client.close();
      await fleet.close();
    },
  };
}

/**
 * Runs one operation on every device matching `--fleet`: a progress bar on stderr while
 * waiting, then a table (or with `--json`, one line per device and a summary).
 *
 * @param flags the host command's flags
 * @param op the request packet's content
 * @param out where results go
 * @param stderr where the progress bar and errors go
 * @returns 0 when every device answered with a 2.xx status, 1 when some did not, 255 when
 *   the broker refuses or no device matches
 */
export async function runFleet(
  flags: HostMqttFlags,
  op: HostMqttOperation,
  out: (text: string) => void,
  stderr: (text: string) => void,
): Promise<number> {
  const pattern = flags.fleet!;
  let fleet: FleetClient;
  try {
    fleet = await _connect(flags, pattern);
  } catch (error) {
    stderr(`host: ${(error as Error).message}\n`);
    return 255;
  }
  try {
    const patterns = parseDevicePattern(pattern);
    const known = fleet.devices(patterns);
    const literal = patterns.filter((p) => p !== "+" && p !== "#");
    if (known.length === 0 && literal.length === 0) {
      stderr(
        `host: No device matches "${pattern}" at ${_safeUrl(flags.mqtt!)}: no status retained ` +
          `on ${fleet.prefix}/+/status\n`,
      );
      return 255;
    }
    let shown = 0;
    const results = await fleet.fanOut(patterns, {
      action: op.action,
      url: op.url,
      fmt: op.fmt,
      ...(op.payload !== undefined ? { payload: op.payload } : {}),
    }, {
      onProgress(_result, done, total) {
        // At most one redraw per percent: a bar for 10,000 devices is not 10,000 writes.
        if (done !== total && Math.floor((done * 100) / total) === shown) return;
        shown = Math.floor((done * 100) / total);
        stderr(`\r${progressBar(done, total)}` + (done === total ? "\n" : ""));
      },
    });
    const ok = results.filter((r) => r.outcome === "ok").length;
    if (flags.json) {
      for (const result of results) out(JSON.stringify(_resultJSON(result)) + "\n");
      out(JSON.stringify({ type: "summary", devices: results.length, ok }) + "\n");
    } else {
      out(formatFleetTable(results, flags.timeout));
      out(`${ok} of ${results.length} device${results.length === 1 ? "" : "s"} ok\n`);
    }
    return ok === results.length ? 0 : 1;
  } finally {
    await fleet.close();
  }
}

/**
 * A progress bar: `[#####---------------]  5/20 devices`.
 *
 * @param done how many are done
 * @param total how many there are
 * @param width the bar's width in characters
 * @returns the bar
 *
 * @example Half way
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressBar } from "./host_fleet.ts";
 * assert.equal(progressBar(1, 2, 10), "[#####-----] 1/2 devices");
 * ```
 */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const count = `${String(done).padStart(String(total).length)}/${total}`;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${count} devices`;
}

/** Short words for the status codes a fleet sees most. */
const _STATUS_WORDS: Record<number, string> = {
  65: "created",
  66: "deleted",
  67: "valid",
  68: "changed",
  69: "content",
};

/**
 * The per-device result table: device, status code, time and what came back (an error
 * message, a payload in short, or why nothing did).
 *
 * @param results the results
 * @param timeout the timeout the operation used, for the `timeout` rows
 * @returns the table, one line per device after a header
 *
 * @example Two devices
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatFleetTable } from "./host_fleet.ts";
 * const table = formatFleetTable([
 *   { device: "dev1", outcome: "timeout", error: "no", ms: 5000 },
 *   { device: "dev2", outcome: "offline", error: "offline", ms: 0 },
 * ], 5000);
 * assert.equal(table, [
 *   "DEVICE  STATUS  TIME     RESULT",
 *   "dev1    -       5000 ms  timeout: no response within 5000 ms",
 *   "dev2    -       -        offline: not sent",
 *   "",
 * ].join("\n"));
 * ```
 */
export function formatFleetTable(results: readonly FleetResult[], timeout: number): string {
  const rows = results.map((r) => [
    r.device,
    r.response ? String(r.response.status) : "-",
    r.outcome === "offline" ? "-" : `${Math.round(r.ms)} ms`,
    _resultText(r, timeout),
  ]);
  const header = ["DEVICE", "STATUS", "TIME", "RESULT"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ")
  ).join("\n") + "\n";
}

function _resultText(result: FleetResult, timeout: number): string {
  switch (result.outcome) {
    case "timeout":
      return `timeout: no response within ${timeout} ms`;
    case "offline":
      return result.error === "offline" ? "offline: not sent" : `${result.error}: not sent`;
  }
  const response = result.response;
  if (!response) return result.error ?? "failed";
  if (result.error !== undefined) return result.error;
  const word = _STATUS_WORDS[response.status];
  const payload = _payloadText(response);
  if (payload === undefined) return word ?? "no payload";
  return payload.length > 60 ? payload.slice(0, 59) + "…" : payload;
}

function _payloadText(response: HostResponse): string | undefined {
  if (response.payload === undefined) return undefined;
  if (response.container) return JSON.stringify(toJSON(response.container));
  return `${response.payload.length} bytes (fmt ${response.fmt})`;
}

function _resultJSON(result: FleetResult): Record<string, unknown> {
  const response = result.response;
  return {
    type: "result",
    device: result.device,
    outcome: result.outcome,
    status: response?.status ?? null,
    ms: Math.round(result.ms * 10) / 10,
    ...(result.error !== undefined ? { error: result.error } : {}),
    payload: response === undefined || response.payload === undefined
      ? null
      : response.fmt === FMT_ATTR_CONTAINER && response.container
      ? toJSON(response.container)
      : { base64: _base64(response.payload) },
  };
}

function _base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

/** The broker's URL without a password written into it. */
function _safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//");
}
