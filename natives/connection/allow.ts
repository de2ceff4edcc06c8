/**
 * The operator's list of what apps may connect to (`--allow-connect=HOST:PORT,…`): network
 * endpoints as `HOST:PORT` (`[::1]:7777` for IPv6) and serial devices by path (`/dev/ttyUSB0`,
 * `COM3`). Addresses are matched as written, without name resolution, so an allowed
 * `127.0.0.1:7777` does not allow `localhost:7777`.
 *
 * @module
 */

/** One allowed network endpoint. */
export interface AllowedEndpoint {
  /** The host as written, without IPv6 brackets. */
  readonly host: string;
  /** The port, 1 to 65535. */
  readonly port: number;
}

/** What apps may reach: endpoints for TCP and UDP, device paths for UART. */
export interface AllowList {
  /** Endpoints TCP connections and UDP datagrams may go to (and UDP ones come from). */
  readonly endpoints: readonly AllowedEndpoint[];
  /** Serial devices, by path as written. */
  readonly devices: readonly string[];
}

/** The empty list: nothing is reachable (the default). */
export const NOTHING_ALLOWED: AllowList = Object.freeze({ endpoints: [], devices: [] });

/**
 * Reads `--allow-connect` values: entries separated by commas (or `;` and spaces, which fit
 * inside a plugin option).
 *
 * @param text e.g. `"127.0.0.1:7777,[::1]:9000,/dev/ttyUSB0"`
 * @returns the list
 * @throws {TypeError} naming the first entry that is neither `HOST:PORT` nor a device path
 *
 * @example Endpoints and a device
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAllowList } from "./allow.ts";
 * const list = parseAllowList("127.0.0.1:7777, [::1]:9000;/dev/ttyUSB0");
 * assert.deepEqual(list.endpoints, [
 *   { host: "127.0.0.1", port: 7777 },
 *   { host: "::1", port: 9000 },
 * ]);
 * assert.deepEqual(list.devices, ["/dev/ttyUSB0"]);
 * assert.throws(() => parseAllowList("example.com"), /"example.com" is not HOST:PORT/);
 * ```
 */
export function parseAllowList(text: string): AllowList {
  const endpoints: AllowedEndpoint[] = [];
  const devices: string[] = [];
  for (const entry of text.split(/[,; ]+/)) {
    if (entry === "") continue;
    if (entry.startsWith("/") || /^COM\d+$/i.test(entry)) {
      devices.push(entry);
      continue;
    }
    const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new TypeError(
        `Invalid --allow-connect entry "${entry}" is not HOST:PORT (port 1 to 65535) ` +
          `or a device path`,
      );
    }
    endpoints.push({ host: (m[1] ?? m[2])!, port });
  }
  return { endpoints, devices };
}

/**
 * Whether an app may reach `host:port`.
 *
 * @param list the operator's list
 * @param host the host as the app wrote it (IPv6 without brackets)
 * @param port the port
 * @returns true when the list names exactly this endpoint
 */
export function allowsEndpoint(list: AllowList, host: string, port: number): boolean {
  return list.endpoints.some((e) => e.host === host && e.port === port);
}

/**
 * Whether an app may open a serial device.
 *
 * @param list the operator's list
 * @param device the device path as the app wrote it
 * @returns true when the list names it
 */
export function allowsDevice(list: AllowList, device: string): boolean {
  return list.devices.includes(device);
}

/**
 * The address a UDP socket binds to: loopback when every allowed endpoint is on loopback, so
 * an operator who allows only local peers opens no port to the network; IPv6 when every
 * allowed endpoint is IPv6.
 *
 * @param list the operator's list
 * @returns `"127.0.0.1"`, `"0.0.0.0"`, `"::1"` or `"::"`
 *
 * @example Loopback peers keep the socket off the network
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAllowList, udpBindAddress } from "./allow.ts";
 * assert.equal(udpBindAddress(parseAllowList("127.0.0.1:9000")), "127.0.0.1");
 * assert.equal(udpBindAddress(parseAllowList("127.0.0.1:9000,192.0.2.1:9000")), "0.0.0.0");
 * assert.equal(udpBindAddress(parseAllowList("[::1]:9000")), "::1");
 * ```
 */
export function udpBindAddress(list: AllowList): string {
  const hosts = list.endpoints.map((e) => e.host);
  const v6 = hosts.length > 0 && hosts.every((h) => h.includes(":"));
  const local = hosts.every((h) => /^127\./.test(h) || h === "localhost" || h === "::1");
  if (v6) return local ? "::1" : "::";
  return local ? "127.0.0.1" : "0.0.0.0";
}

/**
 * An endpoint as `--allow-connect` writes it.
 *
 * @param host the host
 * @param port the port
 * @returns `host:port`, or `[host]:port` for IPv6
 */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
