/**
 * WAMR's `/applet` management protocol: install (PUT, the wasm in the payload), uninstall
 * (DELETE), query (GET, an attr_container reply) and resume (POST `action=resume`) over
 * request packets, with the query string read as WAMR reads it (`name=`, `type=`, `heap=`,
 * `timers=`, `wd=`, plus our `deadline=` and `memory=`) and WAMR's reply texts.
 *
 * It works on any {@linkcode AppletManager}; the app manager hands it the `/applet` requests
 * it dequeues.
 *
 * @module
 */

import { AttrContainer, dump, encodeLikeWamr } from "../../sdk/attr_container.ts";
import { Action, FMT_ATTR_CONTAINER, type Request, Status } from "../../sdk/packet.ts";
import { errorPayload, type MessageBus } from "./bus.ts";
import type { InstalledApp, InstallOptions } from "./installed_app.ts";
import { checkUrlStart, findKeyValue } from "./url.ts";

/** Thrown by `AppManager.install` (and `resume`) with WAMR's reply text. */
export class AppManagerError extends Error {
  /** Always `"AppManagerError"`. */
  override name = "AppManagerError";
  /**
   * True when the manager's own limits refused the install (apps at once, memory budget):
   * the app itself may be fine, and may install once there is room.
   */
  readonly limit: boolean;

  /**
   * Creates the error.
   *
   * @param message WAMR's reply text
   * @param options whether a limit of the manager refused it (default false)
   */
  constructor(message: string, options: { limit?: boolean } = {}) {
    super(message);
    this.limit = options.limit ?? false;
  }
}

/**
 * What the `/applet` protocol needs of an app manager (`AppManager` has all of it). `install`
 * and `resume` throw {@linkcode AppManagerError} with the reply text when they fail.
 */
export interface AppletManager {
  /** Where replies go. */
  readonly bus: MessageBus;
  /** Apps installed at once. */
  readonly maxApps: number;
  /** Installed apps, most recently installed first (the order a query lists). */
  readonly apps: readonly InstalledApp[];
  /** An installed app by name. */
  get(name: string): InstalledApp | undefined;
  /**
   * Installs an app, or promises to once it is stored: the install is acknowledged when it
   * settles (`AppManager.installKept`).
   */
  installKept(
    name: string,
    bytes: Uint8Array,
    options: InstallOptions,
  ): InstalledApp | Promise<InstalledApp>;
  /** Uninstalls an app; false when there is none of that name. */
  uninstall(name: string): boolean;
  /** Starts a suspended or stopped app again. */
  resume(name: string): InstalledApp;
}

/**
 * Answers a request to `/applet` (any query after it), or leaves a request to another URL
 * alone.
 *
 * @param manager the app manager the request acts on
 * @param request the request, from the host or an app
 * @param trace receives WAMR's trace lines (the query's reply, dumped)
 * @returns false when the URL is not `/applet`'s
 */
export function handleApplet(
  manager: AppletManager,
  request: Request,
  trace: (line: string) => void,
): boolean {
  const start = checkUrlStart(request.url, "/applet");
  if (start <= 0) return false;
  const query = request.url.slice(start);
  const bus = manager.bus;
  const type = findKeyValue(query, "type", "&", 16) ?? "";
  if (type !== "" && type !== "wasm" && type !== "jeff" && type !== "wasmlib") {
    bus.replyError(
      request,
      Status.INTERNAL_SERVER_ERROR_5_00,
      "Applet Management failed: invalid module type.",
    );
    return true;
  }
  if (
    type !== "" && type !== "wasm" &&
    (request.action === Action.PUT || request.action === Action.DELETE)
  ) {
    bus.replyError(
      request,
      Status.NOT_IMPLEMENTED_5_01,
      `Applet Management failed: module type "${type}" is not supported`,
    );
    return true;
  }
  const name = findKeyValue(query, "name", "&", 128) ?? "";
  switch (request.action) {
    case Action.PUT:
      _install(manager, request, query, name);
      return true;
    case Action.DELETE:
      if (name === "") {
        bus.replyError(
          request,
          Status.INTERNAL_SERVER_ERROR_5_00,
          "Uninstall WASM app failed: invalid app name.",
        );
      } else if (!manager.get(name)) {
        bus.replyError(
          request,
          Status.INTERNAL_SERVER_ERROR_5_00,
          "Uninstall WASM app failed: no app found.",
        );
      } else {
        manager.uninstall(name);
        bus.reply(request, Status.DELETED_2_02);
      }
      return true;
    case Action.GET:
      _query(manager, request, name, trace);
      return true;
    case Action.POST:
      if (findKeyValue(query, "action", "&", 16) === "resume") {
        _resume(manager, request, name);
        return true;
      }
      bus.replyError(
        request,
        Status.INTERNAL_SERVER_ERROR_5_00,
        "Invalid request of applet: invalid action",
      );
      return true;
    default:
      bus.replyError(
        request,
        Status.INTERNAL_SERVER_ERROR_5_00,
        "Invalid request of applet: invalid action",
      );
      return true;
  }
}

/**
 * The install options an `/applet` query string names, read with C's `atoi` as WAMR reads
 * them: `heap=`, `timers=`, `wd=`, and our `deadline=` (ms, 0 turns it off) and `memory=`
 * (bytes).
 *
 * @example Read heap and deadline from an install URL's query
 * ```ts
 * import assert from "node:assert/strict";
 * import { installOptionsFromQuery } from "./applet.ts";
 *
 * assert.deepEqual(installOptionsFromQuery("name=a&heap=8192&deadline=50"), {
 *   heapSize: 8192,
 *   deadlineMs: 50,
 * });
 * ```
 *
 * @param query the query after `/applet?`
 * @returns the options it names (none for keys it leaves out or leaves empty)
 */
export function installOptionsFromQuery(query: string): InstallOptions {
  const options: InstallOptions = {};
  const heap = findKeyValue(query, "heap", "&", 11);
  if (heap) options.heapSize = _atoi(heap);
  const timers = findKeyValue(query, "timers", "&", 11);
  if (timers) options.timers = _atoi(timers);
  const wd = findKeyValue(query, "wd", "&", 11);
  if (wd) options.watchdogMs = _atoi(wd);
  const deadline = findKeyValue(query, "deadline", "&", 11);
  if (deadline) options.deadlineMs = Math.max(0, _atoi(deadline));
  const memory = findKeyValue(query, "memory", "&", 16);
  if (memory) options.maxMemory = _atou(memory);
  return options;
}

function _install(manager: AppletManager, request: Request, query: string, name: string): void {
  const bus = manager.bus;
  if (manager.apps.length >= manager.maxApps) {
    bus.replyError(
      request,
      Status.INTERNAL_SERVER_ERROR_5_00,
      "Install Applet failed: exceed max app installations.",
    );
    return;
  }
  if (!request.payload) {
    bus.replyError(
      request,
      Status.INTERNAL_SERVER_ERROR_5_00,
      "Install Applet failed: invalid payload.",
    );
    return;
  }
  const notWasm = _fileFormatError(request.payload);
  if (notWasm !== undefined) {
    bus.replyError(request, Status.INTERNAL_SERVER_ERROR_5_00, notWasm);
    return;
  }
  let installed: InstalledApp | Promise<InstalledApp>;
  try {
    installed = manager.installKept(name, request.payload, installOptionsFromQuery(query));
  } catch (e) {
    if (!(e instanceof AppManagerError)) throw e;
    // install logged the message already.
    bus.reply(request, Status.INTERNAL_SERVER_ERROR_5_00, errorPayload(e.message));
    return;
  }
  if (!(installed instanceof Promise)) {
    bus.reply(request, Status.CREATED_2_01);
    return;
  }
  // Acknowledged only once the app is stored; the queues are served meanwhile.
  installed.then(
    () => bus.reply(request, Status.CREATED_2_01),
    (e) => {
      const message = e instanceof AppManagerError
        ? e.message
        : `Install WASM app failed: ${(e as Error)?.message ?? String(e)}`;
      bus.reply(request, Status.INTERNAL_SERVER_ERROR_5_00, errorPayload(message));
    },
  );
}

/**
 * WAMR's app manager checks an install's first 8 bytes as they arrive, before loading
 * anything: the magic (`\0asm`), then the version (1). Its replies, word for word.
 */
function _fileFormatError(bytes: Uint8Array): string | undefined {
  if (
    bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 ||
    bytes[3] !== 0x6d
  ) {
    return "Install WASM app failed: invalid file format.";
  }
  if (bytes.length < 8 || bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    return "Install WASM app failed: invalid WASM version.";
  }
  return undefined;
}

function _resume(manager: AppletManager, request: Request, name: string): void {
  const bus = manager.bus;
  if (name === "") {
    bus.replyError(
      request,
      Status.INTERNAL_SERVER_ERROR_5_00,
      "Resume WASM app failed: invalid app name.",
    );
    return;
  }
  let app: InstalledApp;
  try {
    app = manager.resume(name);
  } catch (e) {
    if (!(e instanceof AppManagerError)) throw e;
    bus.reply(request, Status.INTERNAL_SERVER_ERROR_5_00, errorPayload(e.message));
    return;
  }
  if (app.status === "suspended") {
    bus.replyError(
      request,
      Status.INTERNAL_SERVER_ERROR_5_00,
      `Resume WASM app failed: ${app.reason}`,
    );
    return;
  }
  bus.reply(request, Status.CHANGED_2_04);
}

function _query(
  manager: AppletManager,
  request: Request,
  name: string,
  trace: (line: string) => void,
): void {
  const info = new AttrContainer("Applets Info");
  // Running apps are listed exactly as WAMR lists them; others add their status and why.
  if (name === "") {
    const apps = manager.apps;
    info.setInt("num", apps.length);
    apps.forEach((app, i) => {
      info.setString(`applet${i + 1}`, app.name);
      info.setInt(`heap${i + 1}`, app.heapSize);
      if (!app.running) {
        info.setString(`status${i + 1}`, app.status);
        info.setString(`reason${i + 1}`, app.reason ?? "");
      }
    });
  } else {
    const app = manager.get(name);
    if (!app) {
      manager.bus.replyError(
        request,
        Status.INTERNAL_SERVER_ERROR_5_00,
        "Query Applet failed: the app is not found.",
      );
      return;
    }
    info.setString("name", app.name).setInt("heap", app.heapSize);
    if (!app.running) info.setString("status", app.status).setString("reason", app.reason ?? "");
  }
  manager.bus.reply(request, Status.CONTENT_2_05, encodeLikeWamr(info), FMT_ATTR_CONTAINER);
  trace("Query Applets success!");
  trace(dump(info).replace(/\n$/, ""));
}

/** C's `atoi`: leading spaces, a sign, digits; anything else ends it (0 when none). */
function _atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number.parseInt(m[1]!, 10) | 0 : 0;
}

/** Leading decimal digits as a non-negative number (0 when none): a memory size. */
function _atou(text: string): number {
  const m = /^\s*\+?(\d+)/.exec(text);
  return m ? Number(m[1]!) : 0;
}
