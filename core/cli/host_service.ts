/**
 * {@linkcode HostService}: an app manager served over the host link, what `serve` runs and what
 * embedders start in-process. Apart from the `serve` command (`serve_command.ts`: its flags,
 * usage text and console), so `mod.ts`, which exports this class, does not load the command.
 *
 * @module
 */

import {
  AppManager,
  type AppMonitor,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_MEMORY,
} from "../framework/app_manager.ts";
import { fastSchedule } from "../framework/schedule.ts";
import { AppStore } from "../host_link/app_store.ts";
import { DEFAULT_MAX_PAYLOAD, type HostTransport } from "../../sdk/host_link.ts";
import { type HostLogLevel, HostServer } from "../host_link/host_server.ts";
import type { MqttLink, MqttLinkOptions } from "../host_link/mqtt_link.ts";
import type { WebSocketEndpoint } from "../host_link/ws_link.ts";
import type { NativeLibrary } from "../../sdk/native.ts";
import type { CoalescingSink, OutputSink } from "../../sdk/output.ts";
import { Runtime } from "../instance/runtime.ts";
import type { UnknownImports } from "../link/linker.ts";
import type { Clock } from "../../sdk/clock.ts";
import { type BuiltinPlugins, frameworkExtensions, frameworkWasi } from "./plugins.ts";

/** Apps installed at once by default under `serve` (WAMR allows 3). */
export const SERVE_MAX_APPS = 64;

/** Settings of a {@linkcode HostService}. */
export interface HostServiceOptions {
  /** Listen address (default 127.0.0.1); ignored when `listen` is false. */
  hostname?: string;
  /** TCP port (default 8888; 0 picks one). */
  port?: number;
  /** Whether to listen on TCP (default true). */
  listen?: boolean;
  /**
   * Native libraries for the apps (default: what `serve` loads: libc, base, WASI, and the
   * sensor and connection plugins with no connection allowed).
   */
  plugins?: NativeLibrary[];
  /** Apps to install at start (not stored in the state directory). */
  apps?: { name: string; bytes: Uint8Array; heapSize?: number }[];
  /** Apps installed at once (default {@linkcode SERVE_MAX_APPS}). */
  maxApps?: number;
  /** Largest link payload (default 1 MiB). */
  maxPayload?: number;
  /** Deadline in ms of each callback into an app (default 1000; 0 turns it off). */
  deadlineMs?: number;
  /** Memory cap of each app in bytes (default 64 MiB; 0: none). */
  maxMemory?: number;
  /** Most bytes all apps' memory caps may add up to (default: no budget). */
  maxTotalMemory?: number;
  /** State directory; installs survive restarts when set. */
  stateDir?: string;
  /**
   * App output and console lines (default: stdout). A sink with a `flush` method (a
   * `coalescingSink`) is flushed before each callback into an app, so what happened is
   * written out before code that may block runs.
   */
  stdout?: OutputSink | CoalescingSink;
  /**
   * Log lines of the link, the state directory and the runtime's warnings (default:
   * warnings and errors to stderr).
   */
  log?: (level: HostLogLevel, message: string) => void;
  /** Host links served at once (default 256); the excess is refused with a 5.03 answer. */
  maxConnections?: number;
  /** Milliseconds after which an idle link is closed (default 600 000; 0: never). */
  idleTimeout?: number;
  /** A token every link must prove before it is served (default: none). */
  token?: string | Uint8Array;
  /** Serve TLS with this PEM certificate chain and key (TCP only). */
  tls?: { cert: string; key: string };
  /** Print WAMR's trace lines. */
  verbose?: boolean;
  /**
   * What an import nothing provides becomes: `"trap"` (default, as WAMR) a stub that traps
   * when called; `"error"` a link error, so the install is refused and nothing is installed.
   */
  unknownImports?: UnknownImports;
  /**
   * Also serve the host side through an MQTT broker (`core/host_link/mqtt_link.ts`, which
   * loads MQTT.js only then). Its log lines default to `log`.
   */
  mqtt?: MqttLinkOptions;
  /**
   * Also serve the host link over WebSocket (`core/host_link/ws_link.ts`, loaded only then)
   * on `hostname`, with `tls` when given: `port` (0 picks one) and the browser origins
   * allowed besides loopback pages.
   */
  ws?: { port: number; origins?: readonly string[] };
  /**
   * The clock of app timers (default: the real one). Queues still drain on real
   * macrotasks, so a `ManualClock` drives only timers.
   */
  clock?: Clock;
}

/**
 * An app manager served over the host link: what `serve` runs, usable in-process.
 *
 * @example Serve on a free port, then shut down
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostService } from "./host_service.ts";
 * const service = await HostService.start({ port: 0, stdout: () => {} });
 * assert.notEqual(service.addr?.port ?? 0, 0); // the system picked a port
 * await service.shutdown();
 * ```
 */
export class HostService {
  /** The app manager. */
  readonly manager: AppManager;
  /** The link server. */
  readonly server: HostServer;
  /** The state directory's store, when there is one. */
  readonly store: AppStore | undefined;
  /** The MQTT link, when there is one. */
  readonly mqtt: MqttLink | undefined;
  /** The WebSocket endpoint, when there is one. */
  readonly ws: WebSocketEndpoint | undefined;
  #down: Promise<void> | undefined;

  private constructor(
    manager: AppManager,
    server: HostServer,
    store: AppStore | undefined,
    mqtt: MqttLink | undefined,
    ws: WebSocketEndpoint | undefined,
  ) {
    this.manager = manager;
    this.server = server;
    this.store = store;
    this.mqtt = mqtt;
    this.ws = ws;
  }

  /** The TCP address, when listening. */
  get addr(): Deno.NetAddr | undefined {
    return this.server.addr;
  }

  /**
   * Creates the runtime and manager, installs `apps`, restores the state directory and
   * starts listening.
   *
   * @param options settings
   * @returns the running service
   */
  static async start(options: HostServiceOptions = {}): Promise<HostService> {
    const stdout = options.stdout;
    const log = options.log ?? ((level: HostLogLevel, message: string) => {
      if (level === "error" || level === "warn") console.error(message);
    });
    const runtime = new Runtime({
      plugins: options.plugins ?? await defaultPlugins(),
      ...(stdout ? { stdout } : {}),
      warn: (message) => log("warn", message),
      ...(options.unknownImports ? { unknownImports: options.unknownImports } : {}),
    });
    await runtime.loadInstrumentation();
    const manager = new AppManager(runtime, {
      maxApps: options.maxApps ?? SERVE_MAX_APPS,
      verbose: options.verbose ?? false,
      // Called only after start-up, once `server` exists.
      onHostMessage: (message) => server.deliver(message),
      schedule: fastSchedule(),
      deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS,
      maxMemory: options.maxMemory ?? DEFAULT_MAX_MEMORY,
      ...(options.maxTotalMemory !== undefined ? { maxTotalMemory: options.maxTotalMemory } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(stdout ? { stdout } : {}),
    });
    const server = new HostServer(manager, {
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      log,
      trace: options.verbose ?? false,
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      ...(options.idleTimeout !== undefined ? { idleTimeout: options.idleTimeout } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const flush = stdout && "flush" in stdout ? stdout.flush : undefined;
    if (flush) manager.monitor = _flushFirst(flush, manager.monitor);
    const write = stdout ?? runtime.stdout;
    write(new TextEncoder().encode("App Manager started.\n"));
    for (const app of options.apps ?? []) {
      manager.install(app.name, app.bytes, app.heapSize ? { heapSize: app.heapSize } : {});
    }
    let store: AppStore | undefined;
    if (options.stateDir !== undefined) {
      store = new AppStore(options.stateDir, (m) => log("error", m));
      store.restore(manager);
      store.attach(manager);
      // The store's marker replaced the monitor: flush before it too.
      if (flush) manager.monitor = _flushFirst(flush, manager.monitor);
    }
    if (options.listen ?? true) {
      const addr = server.listen({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 8888,
        ...(options.tls ? { tls: options.tls } : {}),
      });
      const { exposureWarning } = await import("./link_security.ts");
      const warning = exposureWarning(addr, {
        tls: options.tls !== undefined,
        token: options.token !== undefined,
      });
      if (warning) log("warn", warning);
    }
    let mqtt: MqttLink | undefined;
    if (options.mqtt) {
      const { MqttLink } = await import("../host_link/mqtt_link.ts");
      mqtt = await MqttLink.start(manager, { log, ...options.mqtt });
    }
    let ws: WebSocketEndpoint | undefined;
    if (options.ws) {
      const { listenWebSocket } = await import("../host_link/ws_link.ts");
      ws = listenWebSocket(server, {
        hostname: options.hostname ?? "127.0.0.1",
        port: options.ws.port,
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.ws.origins ? { origins: options.ws.origins } : {}),
        log,
      });
      const { exposureWarning } = await import("./link_security.ts");
      const warning = exposureWarning(ws.addr, {
        tls: options.tls !== undefined,
        token: options.token !== undefined,
      });
      if (warning) log("warn", warning);
    }
    return new HostService(manager, server, store, mqtt, ws);
  }

  /**
   * Serves one more link over a stream pair (stdio, a serial device).
   *
   * @param transport the streams
   * @param label how logs name it
   * @returns when the link ends
   */
  serve(transport: HostTransport, label?: string): Promise<void> {
    return this.server.serve(transport, label);
  }

  /**
   * Shuts down: stops following installs (the state directory keeps them), closes every
   * link, then uninstalls every app so each `on_destroy` runs.
   *
   * @returns when done; later calls return the same promise
   */
  shutdown(): Promise<void> {
    this.#down ??= (async () => {
      this.store?.detach();
      await this.mqtt?.close();
      await this.ws?.close();
      await this.server.close();
      this.manager.close();
    })();
    return this.#down;
  }
}

/**
 * Flushes gathered output before an app's code runs: a callback that never returns (no
 * deadline, a blocking native) would otherwise keep the lines before it from ever being
 * written, and a frozen server's log would end before what froze it.
 */
function _flushFirst(flush: () => void, inner: AppMonitor | undefined): AppMonitor {
  return {
    enter(app, what): void {
      flush();
      inner?.enter(app, what);
    },
    exit(app): void {
      inner?.exit(app);
    },
  };
}

/**
 * The plugins `serve` always loads: libc, base (requests, events, timers), WASI for apps
 * built with wasi-libc (no preopened directories, an empty standard input), and WAMR's
 * built-in extensions, sensors and connections (none reachable until `--allow-connect`).
 * Apps arrive over the link at any time, so all are loaded up front.
 *
 * @param builtins built-in plugins to take `wasi` from (default: imported)
 * @returns the libraries
 */
export async function defaultPlugins(builtins: BuiltinPlugins = {}): Promise<NativeLibrary[]> {
  const [{ default: libc }, { default: base }, wasi, extensions] = await Promise.all([
    import("../../natives/libc/mod.ts"),
    import("../../natives/base/mod.ts"),
    frameworkWasi(builtins),
    frameworkExtensions(builtins),
  ]);
  return [libc, base, wasi, ...extensions];
}
