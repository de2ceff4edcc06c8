/**
 * WAMR's connection natives (`wasm_open_connection ($*~)i`, `wasm_close_connection (i)`,
 * `wasm_send_on_connection (i*~)i`, `wasm_config_connection (i*~)i`): apps open TCP client
 * connections, UDP sockets and serial lines by name (`"TCP"`, `"UDP"`, `"UART"`) with an
 * attr_container of arguments, send without blocking, and get what arrives through
 * `on_connection_data(handle, buf, len)` from their own queue; `buf` 0 and `len` 0 mean the
 * peer closed the connection.
 *
 * Apps reach only what the operator allows (`allow`, the CLI's `--allow-connect`): nothing
 * by default. A refused open returns 0xFFFFFFFF (a NULL connection in the app) and logs why.
 * Each connection belongs to the app that opened it and closes when the app goes away.
 *
 * Needs the app framework (apps installed in an `AppManager`, or run with `apps`/`serve`).
 *
 * @module
 */

import {
  type AppFramework,
  type AttrContainer,
  decodeAttrContainer,
  defineConfigurableLibrary,
  type NativeFactory,
  type NativeLibrary,
} from "../../sdk/mod.ts";
import {
  type AllowList,
  allowsDevice,
  allowsEndpoint,
  formatEndpoint,
  NOTHING_ALLOWED,
  parseAllowList,
  udpBindAddress,
} from "./allow.ts";
import type { Channel, ChannelEvents } from "./channel.ts";
import { openTcp } from "./tcp.ts";
import { openUdp } from "./udp.ts";
import { openUart } from "./uart.ts";

export { type AllowedEndpoint, type AllowList, NOTHING_ALLOWED, parseAllowList } from "./allow.ts";

/** WAMR's failure handle (0xFFFFFFFF as an i32). */
const INVALID = -1;

/** Connections one app may hold at once by default (WAMR's `MAX_CONNECTION_PER_APP`). */
export const DEFAULT_CONNECTIONS_PER_APP = 3;

/** Events queued for an app past which its streams are not read until it catches up. */
const _QUEUED_BEFORE_PAUSE = 16;

/** Options of {@linkcode createConnectionLibrary}. */
export interface ConnectionOptions {
  /** What apps may reach: a list, or `--allow-connect`'s text (default: nothing). */
  allow?: AllowList | string;
  /** Connections one app may hold at once (default {@linkcode DEFAULT_CONNECTIONS_PER_APP}). */
  maxPerApp?: number;
}

interface _Connection {
  readonly handle: number;
  /** For log lines: `TCP 127.0.0.1:7777`. */
  readonly label: string;
  channel: Channel | undefined;
}

/** Per-app state: the connections this app holds, by handle. */
interface _AppConnections {
  readonly framework: AppFramework | undefined;
  readonly open: Map<number, _Connection>;
}

/**
 * Creates a connection library with its own allow list and handles.
 *
 * @param options what apps may reach and how many connections each may hold
 * @returns the native library
 *
 * @example Allow one local server
 * ```ts
 * import assert from "node:assert/strict";
 * import { createConnectionLibrary } from "./mod.ts";
 * const lib = createConnectionLibrary({ allow: "127.0.0.1:7777" });
 * assert.equal(lib.name, "connection");
 * assert.equal(lib.symbols.wasm_open_connection?.signature, "($*~)i");
 * ```
 */
export function createConnectionLibrary(options: ConnectionOptions = {}): NativeLibrary {
  const allow = typeof options.allow === "string"
    ? parseAllowList(options.allow)
    : options.allow ?? NOTHING_ALLOWED;
  const max = options.maxPerApp ?? DEFAULT_CONNECTIONS_PER_APP;
  return defineConfigurableLibrary({}, () => _definition(allow, max));
}

function _definition(allow: AllowList, maxPerApp: number) {
  // Handles are unique across apps, from 1 up, never 0xFFFFFFFF (WAMR's numbering).
  let lastHandle = 0;
  const nextHandle = () => {
    lastHandle = lastHandle >= 0xfffffffe ? 1 : lastHandle + 1;
    return lastHandle;
  };

  function events(state: _AppConnections, conn: _Connection): ChannelEvents {
    const framework = state.framework!;
    const live = () => state.open.get(conn.handle) === conn;
    return {
      data(bytes: Uint8Array): void {
        if (!live()) return;
        framework.post({
          callback: "on_connection_data",
          args: [conn.handle],
          payload: bytes,
          label: `data on connection ${conn.handle}`,
        });
      },
      ended(reason: string | undefined): void {
        if (!live()) return;
        state.open.delete(conn.handle);
        if (reason !== undefined) {
          framework.log(
            `Connection ${conn.handle} (${conn.label}) of app "${framework.name}" ended: ${reason}`,
          );
        }
        framework.post({
          callback: "on_connection_data",
          args: [conn.handle, 0, 0],
          label: `disconnect of connection ${conn.handle}`,
        });
      },
      async room(): Promise<void> {
        // InstalledApp counts its queue; a framework that does not is never waited for.
        for (;;) {
          const queued = (framework as { readonly queued?: unknown }).queued;
          if (!live() || typeof queued !== "number" || queued < _QUEUED_BEFORE_PAUSE) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
    };
  }

  /** Opens the driver for `name`, or says why not. */
  function open(
    state: _AppConnections,
    name: string,
    args: AttrContainer,
    handle: number,
  ): _Connection | string {
    if (name === "TCP") {
      const host = args.getAsString("address");
      const port = _port(args, "port");
      if (host === undefined || port === undefined) {
        return 'TCP needs the string "address" and the number "port" (0 to 65535)';
      }
      const label = `TCP ${formatEndpoint(host, port)}`;
      if (!allowsEndpoint(allow, host, port)) return `${label} is not allowed (--allow-connect)`;
      const conn: _Connection = { handle, label, channel: undefined };
      state.open.set(handle, conn);
      conn.channel = openTcp(host, port, events(state, conn));
      return conn;
    }
    if (name === "UDP") {
      const port = _port(args, "bind port");
      if (port === undefined) return 'UDP needs the number "bind port" (0 to 65535)';
      const label = `UDP port ${port}`;
      if (allow.endpoints.length === 0) {
        return `${label}: no peer is allowed (--allow-connect)`;
      }
      const conn: _Connection = { handle, label, channel: undefined };
      state.open.set(handle, conn);
      conn.channel = openUdp({
        port,
        address: udpBindAddress(allow),
        accepts: (host, from) => allowsEndpoint(allow, host, from),
      }, events(state, conn));
      return conn;
    }
    if (name === "UART") {
      const device = args.getAsString("device");
      if (device === undefined || !args.has("baudrate")) {
        return 'UART needs the string "device" and the number "baudrate"';
      }
      const label = `UART ${device}`;
      if (!allowsDevice(allow, device)) return `${label} is not allowed (--allow-connect)`;
      const conn: _Connection = { handle, label, channel: undefined };
      state.open.set(handle, conn);
      conn.channel = openUart(device, events(state, conn));
      return conn;
    }
    return `unknown connection type "${name}" (TCP, UDP, UART)`;
  }

  function close(state: _AppConnections, handle: number): void {
    const conn = state.open.get(handle);
    if (!conn) return;
    state.open.delete(handle);
    conn.channel?.close();
  }

  return {
    name: "connection",
    setup: (app: { framework?: AppFramework | undefined }): _AppConnections => ({
      framework: app.framework,
      open: new Map<number, _Connection>(),
    }),
    dispose: (state: _AppConnections): void => {
      for (const handle of [...state.open.keys()]) close(state, handle);
    },
    symbols: (native: NativeFactory<_AppConnections>) => ({
      wasm_open_connection: native("($*~)i", (ctx, name, buf) => {
        const framework = ctx.state.framework;
        if (!framework) {
          ctx.app.warn(
            "wasm_open_connection: connections need the app framework (run with apps/serve)",
          );
          return INVALID;
        }
        const refuse = (why: string) => {
          framework.log(`wasm_open_connection: app "${framework.name}" gets no connection: ${why}`);
          return INVALID;
        };
        if (ctx.state.open.size >= maxPerApp) {
          return refuse(`it holds ${maxPerApp} already, the most an app may`);
        }
        let args: AttrContainer;
        try {
          args = decodeAttrContainer(buf);
        } catch (e) {
          return refuse(`its arguments are not an attr_container: ${(e as Error).message}`);
        }
        const opened = open(ctx.state, name, args, nextHandle());
        return typeof opened === "string" ? refuse(opened) : opened.handle | 0;
      }),
      wasm_close_connection: native("(i)", (ctx, handle) => {
        close(ctx.state, handle >>> 0);
      }),
      wasm_send_on_connection: native("(i*~)i", (ctx, handle, data) => {
        const conn = ctx.state.open.get(handle >>> 0);
        return conn?.channel ? conn.channel.send(data) : -1;
      }),
      wasm_config_connection: native("(i*~)i", (ctx, handle, buf) => {
        const conn = ctx.state.open.get(handle >>> 0);
        if (!conn?.channel?.destine) return 0;
        let cfg: AttrContainer;
        try {
          cfg = decodeAttrContainer(buf);
        } catch {
          return 0;
        }
        const host = cfg.getAsString("address");
        const port = _port(cfg, "port");
        if (host === undefined || port === undefined) return 0;
        if (!allowsEndpoint(allow, host, port)) {
          ctx.state.framework?.log(
            `wasm_config_connection: app "${ctx.state.framework.name}" may not send to ` +
              `${formatEndpoint(host, port)}: not allowed (--allow-connect)`,
          );
          return 0;
        }
        conn.channel.destine(host, port);
        return 1;
      }),
    }),
  };
}

/**
 * A port as any integer attribute holds it: WAMR's apps set a uint16 (or a short, read back as
 * its 16 bits), but an app that sets an int (where WAMR's loose getter would read 0) means the
 * same port.
 */
function _port(args: AttrContainer, key: string): number | undefined {
  const attr = args.get(key);
  if (attr?.type === "short") return attr.value & 0xffff;
  const n = typeof attr?.value === "bigint" ? Number(attr.value) : attr?.value;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

const _defaults = { allow: "", max: DEFAULT_CONNECTIONS_PER_APP };

/**
 * The built-in connection plugin (`--plugin connection`). Options: `allow`, what apps may
 * reach (`HOST:PORT` and device paths separated by `;`; the CLI's `--allow-connect` sets it;
 * default: nothing), and `max`, connections per app (default 3, as in WAMR).
 */
const connection: NativeLibrary = defineConfigurableLibrary(
  _defaults,
  (o) => _definition(parseAllowList(o.allow), o.max),
);

export default connection;
