/**
 * The app manager: installs apps into one runtime, gives each a FIFO event queue and a timer
 * table, runs one callback into wasm at a time, and routes requests, responses and events
 * through a {@linkcode MessageBus} -- WAMR's app framework, in-process and transport-free.
 *
 * Console lines follow WAMR's (`Install WASM app success!`, `WASM app '<name>' started`,
 * `Got exception running wasm code: <msg>`, ...); its chattier trace lines (`Send request to
 * app <name> success.`, ...) print only with `verbose`. Every line is also a "log" event.
 *
 * Apps may run under limits: a wall-clock deadline for each callback and a memory cap, both
 * compiled into the app at load time. An app whose callbacks run past the deadline
 * {@linkcode DEADLINE_STRIKES} times in a row (or once in `on_init` or its start function,
 * which cannot be retried) is suspended: it stays installed, holds no instance, timers,
 * resources or subscriptions, and starts again only when resumed or reinstalled. WAMR's
 * watchdog for the same job is compiled out.
 *
 * Fairness: queues are served one message each in turn, in slices of
 * {@linkcode DRAIN_SLICE_MS} with the host link's sockets read between them, so an app that
 * floods its own queue slows nobody else down; repeated console lines are collapsed. A
 * response counts only when it answers a request routed to the app that sends it.
 *
 * This file schedules: queues, drains, callbacks under deadlines, install and uninstall. The
 * per-app object is {@linkcode InstalledApp} (`installed_app.ts`); the `/applet` management
 * protocol is `applet.ts`, which works on the manager through a small interface.
 *
 * @module
 */

import { afterIoSchedule, fastSchedule } from "./schedule.ts";
import { formatByteSize } from "../../sdk/byte_size.ts";
import type { AppMessage } from "../../sdk/framework.ts";
import { type LogLevel, MessageBus } from "./bus.ts";
import { type Clock, realClock, type TimerHandle } from "../../sdk/clock.ts";
import { TrapError } from "../../sdk/errors.ts";
import type { AppInstance } from "../instance/instance.ts";
import { type AppLimits, DEADLINE_EXCEEDED } from "../instance/limits.ts";
import type { AppModule } from "../module/module.ts";
import type { OutputSink } from "../../sdk/output.ts";
import {
  Action,
  ID_APP_MGR,
  ID_HOST,
  type Request,
  requestSize,
  type Response,
  responseSize,
  Status,
  writeRequest,
  writeResponse,
} from "../../sdk/packet.ts";
import type { Runtime } from "../instance/runtime.ts";
import { AppManagerError, handleApplet } from "./applet.ts";
import {
  type AppHooks,
  InstalledApp,
  type InstallOptions,
  installSettings,
  type QueuedMessage,
} from "./installed_app.ts";
import { checkUrlStart, parseAppUrl } from "./url.ts";
import { LogCollapser } from "./log_collapse.ts";
import { MessageQueue } from "./message_queue.ts";

export { AppManagerError } from "./applet.ts";
export {
  type AppStatus,
  DEADLINE_STRIKES,
  DEFAULT_APP_HEAP_SIZE,
  DEFAULT_WATCHDOG_MS,
  InstalledApp,
  type InstallOptions,
  MAX_APP_HEAP_SIZE,
  MIN_APP_HEAP_SIZE,
} from "./installed_app.ts";

/** Apps installed at once unless configured: well above WAMR's 3. */
export const DEFAULT_MAX_APPS = 16;
/** Messages an app's queue holds (`DEFAULT_QUEUE_LENGTH`). */
export const DEFAULT_QUEUE_LENGTH = 50;
/** Sender-side timeout of {@linkcode AppManager.request}: the app library's 5 s. */
export const DEFAULT_REQUEST_TIMEOUT = 5000;
/**
 * Deadline in ms of each callback under `serve` and `apps` unless told otherwise (a plain
 * app manager has none unless given one).
 */
export const DEFAULT_DEADLINE_MS = 1000;
/** Memory cap of each app under `serve` and `apps` unless told otherwise: 64 MiB. */
export const DEFAULT_MAX_MEMORY = 64 * 1024 * 1024;
/** What {@linkcode AppMonitor} and suspension reasons call an app's instantiation. */
export const START_FUNCTION = "the start function";

const _MAX_NAME_BYTES = 127;
const _encoder = new TextEncoder();
const _ID_LIMIT = 0xfffffff0;
/**
 * Longest stretch in ms the scheduler runs queued messages before it lets I/O in (the host
 * link's frames, timers): an app that keeps its own queue full gets its turn in each pass
 * like every other app, and the link gets a turn at least this often.
 */
export const DRAIN_SLICE_MS = 1;

/** A message for the host: a response to a host request, or an event it subscribed to. */
export type HostMessage =
  | { kind: "response"; response: Response }
  | { kind: "event"; request: Request };

/** Options for an app manager. */
export interface AppManagerOptions {
  /** Time, timers and timeouts (default: the real clock). */
  clock?: Clock;
  /** Apps installed at once (default 16; WAMR allows 3). */
  maxApps?: number;
  /** Messages each app's queue holds (default 50). */
  queueLength?: number;
  /**
   * Receives responses and events addressed to the host that {@linkcode AppManager.request}
   * and {@linkcode AppManager.subscribe} did not claim (the host link sends them on).
   */
  onHostMessage?: (message: HostMessage) => void;
  /** Console and app output (default: the runtime's stdout). */
  stdout?: OutputSink;
  /** Also print WAMR's trace lines (default false). */
  verbose?: boolean;
  /**
   * How `/app/<name>/<rest>` splits: `"af"` (default) ends the name at the first `/`, as
   * the app framework does; `"seed"` at the last `/`, as the 2019 app manager did.
   */
  appUrl?: "af" | "seed";
  /**
   * Runs the queue drain later (default: a 0 ms timer on an injected clock, so a
   * `ManualClock` drains inside `advance`; with the real clock, `fastSchedule`).
   */
  schedule?: (drain: () => void) => void;
  /** Default timeout of {@linkcode AppManager.request} in ms (default 5000). */
  requestTimeout?: number;
  /**
   * Wall-clock budget in ms for each callback into an app, its start function included,
   * unless its install says otherwise (default: none; `serve` and `apps` use 1000). An app
   * is suspended after {@linkcode DEADLINE_STRIKES} overruns in a row.
   */
  deadlineMs?: number;
  /** Most bytes each app's memory may reach unless its install says otherwise (default: no cap). */
  maxMemory?: number;
  /**
   * Most bytes all installed apps' memory caps may add up to (default: no budget). An install
   * that would pass it, or that has no cap, is refused.
   */
  maxTotalMemory?: number;
}

/**
 * Told before and after the manager runs code of an app (a callback or its instantiation),
 * so a state directory can tell which app was running when the process stopped.
 */
export interface AppMonitor {
  /**
   * Code of an app is about to run.
   *
   * @param app the app
   * @param what the callback (`on_init`, `on_request`, ...) or {@linkcode START_FUNCTION}
   */
  enter(app: InstalledApp, what: string): void;
  /**
   * That code returned or trapped (calls nest: the last `enter` is left first).
   *
   * @param app the app
   */
  exit(app: InstalledApp): void;
}

/**
 * Makes installs durable: {@linkcode AppManager.installKept} hands it each app it has loaded
 * and instantiated but not installed yet, and installs the app only once the promise
 * resolves, so an acknowledged install is one that survives a crash.
 */
export interface AppKeeper {
  /**
   * Stores an app about to be installed (its module and install options; a suspended one
   * with its reason).
   *
   * @param app the app, with its name, module and settings; not installed yet
   * @returns resolves once the app is stored for good; rejects to refuse the install
   */
  keep(app: InstalledApp): Promise<void>;
}

/** A request the embedder sends as the host. */
export interface HostRequest {
  /** The URL, e.g. `/app/request_handler/url1` or `/applet`. */
  url: string;
  /** The action (default GET). */
  action?: number;
  /** The payload format (default 0). */
  fmt?: number;
  /** The payload. */
  payload?: Uint8Array;
}

/** Options for {@linkcode AppManager.request}. */
export interface HostRequestOptions {
  /** Milliseconds to wait for the response (default: the manager's, 5000). */
  timeout?: number;
}

/** Events an app manager dispatches, by type. */
export interface AppManagerEventMap {
  /** An app was installed (before its `on_init` runs). */
  install: CustomEvent<{ app: InstalledApp }>;
  /** An app was uninstalled. */
  uninstall: CustomEvent<{ app: InstalledApp }>;
  /** A callback trapped; the app keeps running (except after a trap in `on_init`). */
  trap: CustomEvent<{ app: InstalledApp; callback: string; error: TrapError }>;
  /** An app was suspended (its reason is `app.reason`). */
  suspend: CustomEvent<{ app: InstalledApp }>;
  /** A suspended or stopped app was resumed (before its `on_init` runs). */
  resume: CustomEvent<{ app: InstalledApp }>;
  /** A console line, printed or not. */
  log: CustomEvent<{ level: LogLevel; message: string; app: InstalledApp | undefined }>;
}

interface _Current {
  app: InstalledApp;
  request: Request | undefined;
  answered: boolean;
}

const _MANAGER = Symbol("app manager queue");

/**
 * Runs installed apps: WAMR's app manager without threads or sockets.
 *
 * @example Install an app and ask it something as the host
 * ```ts
 * import assert from "node:assert/strict";
 * import { AppManager, ManualClock, Runtime } from "../../mod.ts";
 * // (module (memory (export "memory") 1) (func (export "on_init")))
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0,
 *   5, 3, 1, 0, 1, 7, 20, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 7, 111, 110, 95, 105,
 *   110, 105, 116, 0, 0, 10, 4, 1, 2, 0, 11]);
 * const clock = new ManualClock();
 * const lines: string[] = [];
 * const manager = new AppManager(new Runtime(), {
 *   clock,
 *   stdout: (b) => lines.push(new TextDecoder().decode(b)),
 * });
 * manager.install("demo", bytes);
 * const reply = manager.request({ url: "/applet", action: 1 });
 * clock.advance(0);
 * assert.equal((await reply).status, 69); // CONTENT_2_05
 * assert.match(lines.join(""), /WASM app 'demo' started/);
 * manager.close();
 * ```
 */
export class AppManager extends EventTarget {
  /** The runtime apps are instantiated in. */
  readonly runtime: Runtime;
  /** The clock behind timers, scheduling and timeouts. */
  readonly clock: Clock;
  /** The routing tables. */
  readonly bus: MessageBus;
  /** Apps installed at once. */
  readonly maxApps: number;
  /** Messages each queue holds. */
  readonly queueLength: number;
  /** Default deadline in ms for each callback; 0 when off. */
  readonly deadlineMs: number;
  /** Default memory cap of an install, in bytes; undefined when uncapped. */
  readonly maxMemory: number | undefined;
  /** Most bytes all installed apps' memory caps may add up to; undefined when unlimited. */
  readonly maxTotalMemory: number | undefined;
  /**
   * Told whenever code of an app runs (a state directory's crash marker); undefined by
   * default, and then it costs nothing.
   */
  monitor: AppMonitor | undefined;
  /**
   * Stores each app {@linkcode AppManager.installKept} installs (the `/applet` protocol's
   * installs) before it is installed and acknowledged (a state directory's store);
   * undefined by default, and then installs are acknowledged at once.
   */
  keeper: AppKeeper | undefined;

  readonly #apps = new Map<string, InstalledApp>();
  /** Apps a keeper is storing, by name: not installed yet, their names and ids held. */
  readonly #pendingInstalls = new Map<string, InstalledApp>();
  readonly #byId = new Map<number, InstalledApp>();
  readonly #stdout: OutputSink;
  readonly #verbose: boolean;
  readonly #appUrl: "af" | "seed";
  readonly #schedule: (drain: () => void) => void;
  /** Runs a drain once sockets were looked at (`afterIoSchedule`; a timer on an injected clock). */
  readonly #afterIo: (drain: () => void) => void;
  readonly #requestTimeout: number;
  readonly #onHostMessage: ((message: HostMessage) => void) | undefined;
  readonly #hooks: AppHooks;
  readonly #managerQueue = new MessageQueue<Request>();
  /**
   * Queues with messages waiting, in the order they became ready: an array kept at its size,
   * as a Set that goes from empty to one entry and back allocates each time.
   */
  readonly #ready: (InstalledApp | typeof _MANAGER | undefined)[] = [];
  #readyCount = 0;
  /** What `#runRequest` and `#runResponse` run under (one at a time). */
  readonly #messageCurrent: _Current = {
    app: undefined as unknown as InstalledApp,
    request: undefined,
    answered: false,
  };
  readonly #pairArgs = [0, 0];
  /** Request and response queue entries that ran, for the next messages (a few). */
  readonly #spareRequestEntries: _RequestEntry[] = [];
  readonly #spareResponseEntries: _ResponseEntry[] = [];
  /** The manager's request and response records that are free, for the next sends. */
  readonly #spareRequests: (Request & _Record)[] = [];
  readonly #spareResponses: (Response & _Record)[] = [];
  /** The record the bus is handing on, and how many app queue entries hold it. */
  #sending: Request | Response | undefined;
  #sendingHeld = 0;
  /** The queues one pass of a drain serves (a drain never runs inside another). */
  readonly #pass: (InstalledApp | undefined)[] = [];
  readonly #pending = new Map<number, (response: Response) => void>();
  readonly #pendingTimers = new Map<number, { handle: TimerHandle; reject: (e: Error) => void }>();
  readonly #hostListeners = new Map<string, Set<(event: Request) => void>>();
  readonly #hostLinkEvents = new Set<string>();
  readonly #repeats: LogCollapser<LogLevel>;
  /** Who listens for "log": no event is built for a line while nobody does. */
  readonly #logListeners = new Set<unknown>();
  #lastId = 0;
  #lastMid = 0;
  #current: _Current | undefined;
  #draining = false;
  #scheduled = false;
  /** A callback ran past its deadline in this drain. */
  #overran = false;
  /** The message of the last trap a callback raised (not the error: its stack pins the app). */
  #trap = "";
  #closed = false;
  /** Who waits in {@linkcode AppManager.nextDrain}: settled as the next drain ends. */
  #drainWaiters: (() => void)[] = [];

  /**
   * Creates a manager with no apps; `/app/`, `/applet` and `/event/` are registered first.
   *
   * @param runtime the runtime apps run in (register the `base` plugin in it)
   * @param options clock, limits, host callback, output
   */
  constructor(runtime: Runtime, options: AppManagerOptions = {}) {
    super();
    this.runtime = runtime;
    this.clock = options.clock ?? realClock;
    this.maxApps = options.maxApps ?? DEFAULT_MAX_APPS;
    this.queueLength = options.queueLength ?? DEFAULT_QUEUE_LENGTH;
    this.deadlineMs = Math.max(0, Math.trunc(options.deadlineMs ?? 0) || 0);
    this.maxMemory = options.maxMemory ? options.maxMemory : undefined;
    this.maxTotalMemory = options.maxTotalMemory;
    this.#stdout = options.stdout ?? runtime.stdout;
    this.#verbose = options.verbose ?? false;
    this.#appUrl = options.appUrl ?? "af";
    this.#requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.#onHostMessage = options.onHostMessage;
    const clock = this.clock;
    // With an injected clock, drains are timers on it (a ManualClock drains inside
    // advance); with the real one, a microtask (a 0 ms timer costs about 2 ms per message).
    this.#schedule = options.schedule ??
      (options.clock
        ? function scheduleOnClock(drain: () => void): void {
          clock.setTimer(0, drain);
        }
        : fastSchedule());
    // A drain that yields lets sockets in first; on an injected clock (tests) it is a timer
    // on that clock like every drain.
    this.#afterIo = options.clock && !options.schedule
      ? function afterIoOnClock(drain: () => void): void {
        clock.setTimer(0, drain);
      }
      : afterIoSchedule();
    this.#repeats = new LogCollapser<LogLevel>({
      clock,
      print: (level, line, repeats) => this.#print(level, line, repeats),
    });
    this.bus = new MessageBus({ log: (level, message) => this.#log(level, message) });
    this.#hooks = {
      clock: this.clock,
      bus: this.bus,
      postRequest: (app, request) => this.#postFromApp(app, request),
      sendResponse: (app, response) => this.#responseFromApp(app, response),
      post: (app, message) => this.#postMessage(app, message),
      log: (level, message, app) => this.#log(level, message, app),
      deliverRequest: (app, request) => this.#deliverRequest(app, request),
      deliverResponse: (app, response) => this.#deliverResponse(app, response),
      timerExpired: (app, id) => this.#timerExpired(app, id),
    };
    this.bus.attach(ID_HOST, {
      deliverRequest: (event) => this.#toHostEvent(event),
      deliverResponse: (response) => this.#toHostResponse(response),
    });
    // WAMR's app manager registers these three first, so apps cannot take them over.
    this.bus.registerResource("/app/", ID_APP_MGR, (r) => this.#targeted(r));
    this.bus.registerResource("/applet", ID_APP_MGR, (r) => this.#queueForManager(r));
    this.bus.registerResource("/event/", ID_APP_MGR, (r) => this.#queueForManager(r));
  }

  // ---- typed events ----------------------------------------------------------------------

  /**
   * Listens for "install", "uninstall", "trap" or "log".
   *
   * @param type the event type
   * @param listener receives the event
   * @param options as for `EventTarget`
   */
  override addEventListener<K extends keyof AppManagerEventMap>(
    type: K,
    listener: (event: AppManagerEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens for any event type.
   *
   * @param type the event type
   * @param listener the listener
   * @param options as for `EventTarget`
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens for any event type.
   *
   * @param type the event type
   * @param listener receives the event
   * @param options as for `EventTarget`
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null | ((event: never) => void),
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (type === "log" && listener) this.#logListeners.add(listener);
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /**
   * Stops listening.
   *
   * @param type the event type
   * @param listener the listener passed to `addEventListener`
   * @param options as for `EventTarget`
   */
  override removeEventListener<K extends keyof AppManagerEventMap>(
    type: K,
    listener: (event: AppManagerEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Stops listening for any event type.
   *
   * @param type the event type
   * @param listener the listener
   * @param options as for `EventTarget`
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Stops listening for any event type.
   *
   * @param type the event type
   * @param listener the listener passed to `addEventListener`
   * @param options as for `EventTarget`
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null | ((event: never) => void),
    options?: boolean | EventListenerOptions,
  ): void {
    if (type === "log") this.#logListeners.delete(listener);
    super.removeEventListener(
      type,
      listener as EventListenerOrEventListenerObject | null,
      options,
    );
  }

  #emit<K extends keyof AppManagerEventMap>(
    type: K,
    detail: AppManagerEventMap[K]["detail"],
  ): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---- apps ------------------------------------------------------------------------------

  /** Installed apps, most recently installed first (the order WAMR's query lists). */
  get apps(): InstalledApp[] {
    return [...this.#apps.values()].reverse();
  }

  /**
   * An installed app by name or id.
   *
   * @param nameOrId the app's name or id
   * @returns the app, or undefined
   */
  get(nameOrId: string | number): InstalledApp | undefined {
    return typeof nameOrId === "number" ? this.#byId.get(nameOrId >>> 0) : this.#apps.get(nameOrId);
  }

  /**
   * Installs an app: loads and instantiates it (heap appended, limits compiled in), gives it
   * an id, a queue and timers, prints `Install WASM app success!` and
   * `WASM app '<name>' started`, and calls its `on_init` (`_on_init`) -- at once, or from its
   * queue when called inside a callback. An app whose start function runs past its deadline
   * is installed suspended. The {@linkcode AppManager.keeper} is not waited for: see
   * {@linkcode AppManager.installKept}.
   *
   * @param name the app's name (1 to 127 bytes, unique)
   * @param source a loaded module or the wasm bytes
   * @param options heap size, timers, watchdog interval, deadline, memory cap
   * @returns the installed app
   * @throws {AppManagerError} with WAMR's reply text (`Install WASM app failed: ...`)
   */
  install(
    name: string,
    source: AppModule | Uint8Array,
    options: InstallOptions = {},
  ): InstalledApp {
    const { app, started } = this.#load(name, source, options);
    this.#add(app, started);
    return app;
  }

  /**
   * Installs an app once the {@linkcode AppManager.keeper} has stored it, as the `/applet`
   * protocol does: the app is loaded and instantiated at once (its name, id and memory cap
   * held for it meanwhile), then installed and started when the keeper's promise resolves,
   * or freed when it rejects. Other work goes on while the keeper writes. Without a keeper,
   * the same as {@linkcode AppManager.install}.
   *
   * @param name the app's name (1 to 127 bytes, unique)
   * @param source a loaded module or the wasm bytes
   * @param options heap size, timers, watchdog interval, deadline, memory cap
   * @returns the installed app, or with a keeper a promise of it; a failed store rejects it
   *   with an {@linkcode AppManagerError} (`Install WASM app failed: cannot store it: ...`)
   * @throws {AppManagerError} when the app cannot be installed at all, as `install` throws
   */
  installKept(
    name: string,
    source: AppModule | Uint8Array,
    options: InstallOptions = {},
  ): InstalledApp | Promise<InstalledApp> {
    const keeper = this.keeper;
    if (!keeper) return this.install(name, source, options);
    const { app, started } = this.#load(name, source, options);
    this.#pendingInstalls.set(name, app);
    const settle = () => {
      this.#pendingInstalls.delete(name);
      if (!this.#closed) return;
      app.live?.free();
      app.live = undefined;
      throw new AppManagerError("App manager is closed");
    };
    let kept: Promise<void>;
    try {
      kept = keeper.keep(app);
    } catch (e) {
      kept = Promise.reject(e);
    }
    return kept.then(
      () => {
        settle();
        this.#add(app, started);
        return app;
      },
      (e) => {
        app.live?.free();
        app.live = undefined;
        app.state = "uninstalled";
        settle();
        return this.#fail(
          `Install WASM app failed: cannot store it: ${(e as Error)?.message ?? String(e)}`,
        );
      },
    );
  }

  /** Checks an install, loads the module and instantiates it; nothing is installed yet. */
  #load(
    name: string,
    source: AppModule | Uint8Array,
    options: InstallOptions,
  ): { app: InstalledApp; started: true | string } {
    this.#assertOpen();
    if (this.#apps.size + this.#pendingInstalls.size >= this.maxApps) {
      this.#fail("Install Applet failed: exceed max app installations.", true);
    }
    if (name === "" || _encoder.encode(name).length > _MAX_NAME_BYTES) {
      this.#fail("Install WASM app failed: invalid app name.");
    }
    if (this.#apps.has(name) || this.#pendingInstalls.has(name)) {
      this.#fail("Install WASM app failed: app already installed.");
    }
    const settings = installSettings(options, {
      deadlineMs: this.deadlineMs,
      maxMemory: this.maxMemory,
    });
    this.#checkBudget(settings.maxMemory);
    let module: AppModule;
    try {
      module = source instanceof Uint8Array ? this.#loadBytes(source, name) : source;
    } catch (e) {
      this.#fail(`Install WASM app failed: ${(e as Error).message}`);
    }
    const app = new InstalledApp(this.#hooks, this.#allocateId(), name, module, settings);
    const started = options.suspended === undefined
      ? this.#instantiate(app, "Install WASM app failed")
      : options.suspended;
    // A keeper stores the suspension with the app.
    if (started !== true) {
      app.state = "suspended";
      app.why = started;
    }
    return { app, started };
  }

  /**
   * The module of an installed app with the same bytes, or a new load: apps installed many
   * times (a fleet's apps, serve's) share one read module and its compiled variants instead
   * of holding a copy each (~14 KiB of JS heap per app for request_handler). Each app's
   * module record carries its own name.
   */
  #loadBytes(bytes: Uint8Array, name: string): AppModule {
    for (const apps of [this.#apps, this.#pendingInstalls]) {
      for (const app of apps.values()) {
        const { module } = app;
        if (_sameBytes(module.bytes, bytes)) {
          return module.name === name ? module : { ...module, name };
        }
      }
    }
    return this.runtime.loadSync(bytes, name);
  }

  /** Installs a loaded app: it gets its id, queue and routes, then runs (or is suspended). */
  #add(app: InstalledApp, started: true | string): void {
    this.#apps.set(app.name, app);
    this.#byId.set(app.id, app);
    this.bus.attach(app.id, app);
    this.#log("info", "Install WASM app success!");
    this.#emit("install", { app });
    if (started !== true) this.#suspend(app, started);
    else this.#startSoon(app);
  }

  /**
   * Starts a suspended or stopped app again: instantiates it afresh (a suspended app kept
   * only its module), prints `Resume WASM app success!` and runs `on_init` as an install does.
   *
   * @param name the app's name
   * @returns the app; suspended again if its start function overran its deadline once more
   * @throws {AppManagerError} when there is no such app, it is running, or it no longer
   *   instantiates (`Resume WASM app failed: ...`)
   */
  resume(name: string): InstalledApp {
    this.#assertOpen();
    const app = this.#apps.get(name);
    if (!app) this.#fail("Resume WASM app failed: no app found.");
    if (app.running) this.#fail("Resume WASM app failed: the app is running.");
    // A stopped app may still hold what its failed on_init registered.
    app.release();
    const started = this.#instantiate(app, "Resume WASM app failed");
    if (started !== true) {
      this.#suspend(app, started);
      return app;
    }
    app.state = "running";
    app.why = undefined;
    app.strikes = 0;
    this.#log("info", "Resume WASM app success!");
    this.#emit("resume", { app });
    this.#startSoon(app);
    return app;
  }

  /**
   * Uninstalls an app: prints `App instance main thread exit.`, calls `on_destroy` (unless
   * the app is stopped or suspended), replies SERVICE_UNAVAILABLE to requests still queued
   * for it, removes its resources, subscriptions and timers, frees and lets go of the
   * instance and prints `Uninstall WASM app successful!`.
   *
   * @param name the app's name
   * @returns false when no such app is installed
   * @throws {Error} when called from inside one of that app's own callbacks
   */
  uninstall(name: string): boolean {
    const app = this.#apps.get(name);
    if (!app) return false;
    if (app.depth > 0) {
      throw new Error(`Cannot uninstall app "${name}" from inside its own callback`);
    }
    const wasRunning = app.running;
    app.state = "uninstalled";
    if (wasRunning) {
      this.#log("info", "App instance main thread exit.", app);
      this.#invoke(app, "on_destroy", [], "WASM");
    }
    this.#dropQueue(app, "it was uninstalled");
    app.timers.destroyAll();
    this.bus.detach(app.id);
    app.live?.free();
    app.live = undefined;
    this.#apps.delete(name);
    this.#byId.delete(app.id);
    this.#log("info", "Uninstall WASM app successful!");
    this.#emit("uninstall", { app });
    return true;
  }

  /**
   * Uninstalls every app (newest first), rejects pending host requests and stops scheduling.
   */
  close(): void {
    if (this.#closed) return;
    for (const app of this.apps) this.uninstall(app.name);
    this.#closed = true;
    for (const [mid, { handle, reject }] of this.#pendingTimers) {
      this.clock.clearTimer(handle);
      reject(new Error("App manager closed before the response arrived"));
      this.#pending.delete(mid);
    }
    this.#pendingTimers.clear();
    this.#managerQueue.takeAll();
    this.#ready.fill(undefined);
    this.#readyCount = 0;
    this.#repeats.close();
    this.#settleDrainWaiters();
  }

  // ---- the host side ---------------------------------------------------------------------

  /**
   * Takes a request from the host (the host link calls this): the sender becomes ID_HOST
   * whatever it was, and the reply reaches `onHostMessage` (or a pending `request`).
   *
   * @param request the request as received
   */
  fromHost(request: Request): void {
    this.bus.send({ ...request, sender: ID_HOST });
  }

  /**
   * Sends a request as the host and waits for its response.
   *
   * @param request URL, action, format and payload
   * @param options the timeout
   * @returns the response (errors arrive as responses with status 128 or more)
   * @throws {DOMException} `TimeoutError` when no response arrives in time
   */
  request(request: HostRequest, options: HostRequestOptions = {}): Promise<Response> {
    if (this.#closed) return Promise.reject(new Error("App manager is closed"));
    const mid = this.#lastMid = (this.#lastMid + 1) >>> 0 || 1;
    const timeout = options.timeout ?? this.#requestTimeout;
    const action = request.action ?? Action.GET;
    return new Promise<Response>((resolve, reject) => {
      const handle = this.clock.setTimer(timeout, () => {
        this.#pending.delete(mid);
        this.#pendingTimers.delete(mid);
        reject(
          new DOMException(
            `Request ${action} "${request.url}" got no response within ${timeout} ms`,
            "TimeoutError",
          ),
        );
      });
      this.#pendingTimers.set(mid, { handle, reject });
      this.#pending.set(mid, (response) => {
        this.clock.clearTimer(handle);
        this.#pendingTimers.delete(mid);
        resolve(response);
      });
      this.fromHost({
        action,
        fmt: request.fmt ?? 0,
        mid,
        sender: ID_HOST,
        url: request.url,
        payload: request.payload,
      });
    });
  }

  /**
   * Subscribes the host to an event URL.
   *
   * @param url the exact event URL (`alert/overheat`)
   * @param listener receives each event
   * @returns a function that unsubscribes
   */
  subscribe(url: string, listener: (event: Request) => void): () => void {
    let listeners = this.#hostListeners.get(url);
    if (!listeners) this.#hostListeners.set(url, listeners = new Set());
    listeners.add(listener);
    this.bus.subscribe(url, ID_HOST);
    return () => {
      listeners.delete(listener);
      if (listeners.size > 0) return;
      this.#hostListeners.delete(url);
      if (!this.#hostLinkEvents.has(url)) this.bus.unsubscribe(url, ID_HOST);
    };
  }

  #toHostEvent(event: Request): void {
    for (const listener of [...(this.#hostListeners.get(event.url) ?? [])]) {
      this.#safely(() => listener(event));
    }
    if (this.#hostLinkEvents.has(event.url) || !this.#hostListeners.has(event.url)) {
      this.#toHostMessage({ kind: "event", request: event });
    }
  }

  #toHostResponse(response: Response): void {
    const waiter = this.#pending.get(response.mid);
    if (waiter && response.receiver >>> 0 === ID_HOST) {
      this.#pending.delete(response.mid);
      waiter(response);
      return;
    }
    this.#toHostMessage({ kind: "response", response });
  }

  #toHostMessage(message: HostMessage): void {
    if (this.#onHostMessage) this.#safely(() => this.#onHostMessage!(message));
    else if (message.kind === "response") {
      this.#log("trace", `Response mid ${message.response.mid} for the host dropped: no host`);
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log("error", `Host callback failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  // ---- routing ---------------------------------------------------------------------------

  #targeted(request: Request): void {
    const target = parseAppUrl(request.url, { era: this.#appUrl });
    if (!target) {
      this.bus.replyError(
        request,
        Status.NOT_FOUND_4_04,
        `Send request to applet failed: no "/" after the applet name in "${request.url}"`,
      );
      return;
    }
    if (this.#tracing) this.#log("trace", `Send request to applet: ${target.name}`);
    const app = this.#apps.get(target.name);
    if (!app) {
      this.bus.replyError(
        request,
        Status.INTERNAL_SERVER_ERROR_5_00,
        "Send request to applet failed: invalid applet name",
      );
      return;
    }
    this.#deliverRequest(app, { ...request, url: target.rest });
  }

  #deliverRequest(app: InstalledApp, request: Request): void {
    const entry = this.#spareRequestEntries.pop() ?? { kind: "request", request };
    entry.request = request;
    const why = this.#enqueue(app, entry);
    if (why !== undefined) this.#recycle(entry);
    else this.#held(request);
    if (why === undefined) {
      // Only this app may answer it (events have no answer).
      if (request.action !== Action.EVENT) app.expectAnswer(request.sender, request.mid);
      if (this.#tracing) this.#log("trace", `Send request to app ${app.name} success.`);
    } else if (request.action !== Action.EVENT) {
      this.bus.replyError(
        request,
        Status.SERVICE_UNAVAILABLE_5_03,
        `Send request to app "${app.name}" failed: ${why}`,
      );
    } else {
      this.#log("error", `Event "${request.url}" for app "${app.name}" dropped: ${why}`, app);
    }
  }

  #deliverResponse(app: InstalledApp, response: Response): void {
    const entry = this.#spareResponseEntries.pop() ?? { kind: "response", response };
    entry.response = response;
    const why = this.#enqueue(app, entry);
    if (why === undefined) this.#held(response);
    else {
      this.#recycle(entry);
      // No mid in the line: an app that floods its own queue gets thousands of these a
      // second, and identical lines collapse.
      this.#log("error", `Response for app "${app.name}" dropped: ${why}`, app);
    }
  }

  #timerExpired(app: InstalledApp, id: number): void {
    const why = this.#enqueue(app, { kind: "timer", id });
    if (why !== undefined) {
      this.#log("error", `Timer ${id} event for app "${app.name}" dropped: ${why}`, app);
    }
  }

  #postMessage(app: InstalledApp, message: AppMessage): boolean {
    const why = this.#enqueue(app, { kind: "post", message });
    if (why === undefined) return true;
    const label = message.label ?? message.callback;
    this.#log("error", `Message ${label} for app "${app.name}" dropped: ${why}`, app);
    return false;
  }

  #postFromApp(app: InstalledApp, request: Request): void {
    // The manager's own record: the caller's object stays as it was. The payload is copied
    // out of app memory.
    const record = this.#spareRequests.pop() ?? _newRecord({
      action: 0,
      fmt: 0,
      mid: 0,
      sender: 0,
      url: "",
      payload: undefined,
    });
    record.action = request.action;
    record.fmt = request.fmt;
    record.mid = request.mid;
    record.sender = app.id;
    record.url = request.url;
    record.payload = _copyPayload(request.payload, record);
    const outer = this.#sending;
    const outerHeld = this.#sendingHeld;
    const handedOn = this.bus.deliveries;
    const plain = this.#plainBus();
    // The send holds it too, so a drain run meanwhile cannot free it.
    record[_HOLDERS] = 1;
    this.#sending = record;
    this.#sendingHeld = 0;
    try {
      this.bus.send(record);
    } finally {
      const held = this.#sendingHeld;
      this.#sending = outer;
      this.#sendingHeld = outerHeld;
      const counted = plain && this.#plainBus();
      this.#sent(record, counted ? this.bus.deliveries - handedOn : -1, held, this.#spareRequests);
    }
  }

  /**
   * Settles a record the bus handed on `handedOn` times (-1: unknown), `held` of them into an
   * app's queue: when that was all, it is reused once they all ran; when it went anywhere
   * else too (the host, a handler, or a reply sent meanwhile), it is left alone for good.
   */
  #sent<T extends _Record>(record: T, handedOn: number, held: number, spare: T[]): void {
    if (held !== handedOn) record[_HOLDERS] = -Infinity;
    else this.#release(record as unknown as Request, spare);
  }

  /**
   * Whether the bus routes as `MessageBus` does, so its count of hand-offs is all of them: a
   * link that wraps `publish` to see every event (the MQTT link) keeps what it sees.
   */
  #plainBus(): boolean {
    const bus = this.bus;
    return bus.send === _BUS_SEND && bus.publish === _BUS_PUBLISH && bus.respond === _BUS_RESPOND;
  }

  /** Counts a queue entry holding the record being sent, if that is what `message` is. */
  #held(message: Request | Response): void {
    if (message !== this.#sending) return;
    (message as unknown as _Record)[_HOLDERS]++;
    this.#sendingHeld++;
  }

  /** A holder of a record let go of it: the record is reused after the last one. */
  #release<T extends _Record>(message: Request | Response, spare: T[]): void {
    const record = message as unknown as Partial<_Record>;
    if (record[_HOLDERS] === undefined || --record[_HOLDERS] !== 0) return;
    if (spare.length < _SPARE_RECORDS) spare.push(record as T);
  }

  #responseFromApp(app: InstalledApp, response: Response): boolean {
    // A response must answer a request routed to this app: any app could otherwise answer
    // the host's requests to another app (or another app's) by guessing their mids.
    if (!app.answer(response.receiver, response.mid)) {
      if (app.countDropped()) {
        this.#log(
          "error",
          `Response mid ${response.mid} from app "${app.name}" dropped: it answers no request ` +
            `routed to the app (its later ones are dropped without a line)`,
          app,
        );
      }
      return false;
    }
    // Its sender left (an app uninstalled meanwhile): the bus would hand it to the host link,
    // which routes responses by mid alone.
    if (response.receiver >>> 0 !== ID_HOST && !this.bus.endpoint(response.receiver)) {
      this.#log(
        "trace",
        `Response mid ${response.mid} from app "${app.name}" dropped: no receiver`,
      );
      return false;
    }
    const current = this.#current;
    if (
      current?.app === app && current.request && current.request.mid === response.mid &&
      current.request.sender >>> 0 === response.receiver >>> 0
    ) {
      current.answered = true;
    }
    const record = this.#spareResponses.pop() ??
      _newRecord({ status: 0, fmt: 0, mid: 0, receiver: 0, payload: undefined });
    record.status = response.status;
    record.fmt = response.fmt;
    record.mid = response.mid;
    record.receiver = response.receiver;
    record.payload = _copyPayload(response.payload, record);
    const outer = this.#sending;
    const outerHeld = this.#sendingHeld;
    const handedOn = this.bus.deliveries;
    const plain = this.#plainBus();
    record[_HOLDERS] = 1;
    this.#sending = record;
    this.#sendingHeld = 0;
    try {
      return this.bus.respond(record);
    } finally {
      const held = this.#sendingHeld;
      this.#sending = outer;
      this.#sendingHeld = outerHeld;
      const counted = plain && this.#plainBus();
      this.#sent(record, counted ? this.bus.deliveries - handedOn : -1, held, this.#spareResponses);
    }
  }

  /** Queues a message; returns why it could not be queued. */
  #enqueue(app: InstalledApp, msg: QueuedMessage): string | undefined {
    if (!app.running) {
      return app.state === "suspended" ? `it is suspended (${app.why})` : "it is not running";
    }
    if (app.queue.length >= this.queueLength) {
      return `its queue is full (${this.queueLength} messages)`;
    }
    app.queue.push(msg);
    this.#markReady(app);
    return undefined;
  }

  #queueForManager(request: Request): void {
    if (this.#managerQueue.length >= this.queueLength) {
      this.bus.replyError(
        request,
        Status.SERVICE_UNAVAILABLE_5_03,
        `App manager busy: its queue is full (${this.queueLength} messages)`,
      );
      return;
    }
    this.#managerQueue.push(request);
    this.#markReady(_MANAGER);
  }

  // ---- scheduling ------------------------------------------------------------------------

  #markReady(owner: InstalledApp | typeof _MANAGER): void {
    if (!this.#isReady(owner)) this.#ready[this.#readyCount++] = owner;
    this.#wake();
  }

  #isReady(owner: InstalledApp | typeof _MANAGER): boolean {
    const ready = this.#ready;
    for (let i = 0; i < this.#readyCount; i++) if (ready[i] === owner) return true;
    return false;
  }

  /** Takes a queue off the ready list, keeping the others' order. */
  #unready(owner: InstalledApp | typeof _MANAGER): void {
    const ready = this.#ready;
    const count = this.#readyCount;
    let i = 0;
    while (i < count && ready[i] !== owner) i++;
    if (i === count) return;
    for (; i < count - 1; i++) ready[i] = ready[i + 1];
    ready[count - 1] = undefined;
    this.#readyCount = count - 1;
  }

  #wake(): void {
    if (this.#scheduled || this.#draining || this.#closed) return;
    this.#scheduled = true;
    this.#schedule(this.#scheduledDrain);
  }

  /**
   * What a wake schedules: made once, as a closure made in `#wake` would cost a context
   * allocation at every call (V8 makes it on entry, before the early return).
   */
  readonly #scheduledDrain = (): void => {
    this.#scheduled = false;
    this.#drain(Infinity, DRAIN_SLICE_MS);
  };

  /**
   * Waits for the scheduler to run queued messages: for a link that stopped reading its
   * socket while an app's queue was full (backpressure) and looks again for room.
   *
   * @returns resolves when the next drain ends (at once when no message waits), or when the
   *   manager closes
   */
  nextDrain(): Promise<void> {
    if (this.#readyCount === 0 || this.#closed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#drainWaiters.push(resolve);
    return promise;
  }

  #settleDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Messages waiting in all queues (the manager's included). */
  get queued(): number {
    let n = this.#managerQueue.length;
    for (const app of this.#apps.values()) n += app.queue.length;
    return n;
  }

  /**
   * Runs queued messages now, one per queue in turn (the app manager's queue first), until
   * all are empty or `limit` ran. Stops early after a callback ran past its deadline, and
   * drains again once I/O had its turn, so the host link is served between a looping app's
   * callbacks.
   * The scheduler drains the same way, but for at most {@linkcode DRAIN_SLICE_MS} at a time;
   * tests may call this directly.
   *
   * @param limit most messages to run (default: all, including ones queued meanwhile)
   * @returns the number run; 0 when called from inside a callback
   */
  runPending(limit = Infinity): number {
    return this.#drain(limit, Infinity);
  }

  /**
   * Runs queued messages in passes, one message of each queue per pass, until they are all
   * empty, `limit` ran or `sliceMs` passed; then yields to I/O if work is left over (the
   * host link's frames are read then, and go into their queues for the next pass).
   */
  #drain(limit: number, sliceMs: number): number {
    if (this.#draining || this.#current) return 0;
    this.#draining = true;
    this.#overran = false;
    // Wall time, whatever the clock: this bounds how long the process does not read sockets.
    const until = sliceMs === Infinity ? Infinity : performance.now() + sliceMs;
    let sliced = false;
    let n = 0;
    try {
      while (n < limit && this.#readyCount > 0 && !this.#overran && !sliced) {
        if (this.#isReady(_MANAGER)) {
          const request = this.#managerQueue.shift();
          if (this.#managerQueue.length === 0) this.#unready(_MANAGER);
          if (request) {
            n++;
            this.#handleManagerRequest(request);
          }
        }
        // A copy, as running changes the list; reused, as a drain may run per message.
        const pass = this.#pass;
        let passCount = 0;
        for (let i = 0; i < this.#readyCount; i++) {
          const owner = this.#ready[i];
          if (owner !== _MANAGER) pass[passCount++] = owner;
        }
        for (let i = 0; i < passCount; i++) {
          const owner = pass[i]!;
          pass[i] = undefined;
          if (n >= limit || this.#overran) break;
          const msg = owner.queue.shift();
          if (owner.queue.length === 0) this.#unready(owner);
          if (msg) {
            n++;
            this.#run(owner, msg);
            this.#recycle(msg, true);
          }
          if (until !== Infinity && performance.now() >= until) {
            sliced = true;
            break;
          }
        }
      }
    } finally {
      // A loop: Array.prototype.fill allocated at every drain.
      const pass = this.#pass;
      for (let i = 0; i < pass.length; i++) pass[i] = undefined;
      this.#draining = false;
      if (this.#drainWaiters.length > 0) this.#settleDrainWaiters();
    }
    if (this.#readyCount > 0) {
      if (this.#overran || sliced) this.#wakeAfterIo();
      else this.#wake();
    }
    this.#overran = false;
    return n;
  }

  /** Drains once sockets and due timers had their turn. */
  #wakeAfterIo(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    this.#afterIo(this.#scheduledDrain);
  }

  // ---- callbacks -------------------------------------------------------------------------

  /** Runs `on_init` now, or from the app's queue when inside a callback or a drain. */
  #startSoon(app: InstalledApp): void {
    if (this.#current || this.#draining) {
      app.queue.unshift({ kind: "init" });
      this.#markReady(app);
    } else {
      this.#start(app);
    }
  }

  #start(app: InstalledApp): void {
    this.#log("info", `WASM app '${app.name}' started`, app);
    const result = this.#invoke(app, "on_init", [], "WASM");
    // Suspended: on_init ran past its deadline (and on_destroy is not called into it).
    if (result === "ok" || !app.running) return;
    app.state = "stopped";
    app.timers.destroyAll();
    this.#dropQueue(app, "it is not running");
    if (result === "missing") {
      app.why = "it exports no on_init";
      this.#log("error", "Cannot find function on_init().", app);
      return;
    }
    app.why = `on_init trapped: ${this.#trap}`;
    // WAMR calls on_destroy after a trap in on_init, then the app's thread ends.
    this.#invoke(app, "on_destroy", [], "WASM");
  }

  /**
   * Instantiates an app's module with its limits.
   *
   * @returns true, or the reason to suspend the app when its start function overran
   */
  #instantiate(app: InstalledApp, failure: string): true | string {
    const limits: AppLimits = {};
    if (app.deadlineMs > 0) limits.deadlineMs = app.deadlineMs;
    if (app.maxMemory !== undefined) limits.maxMemory = app.maxMemory;
    const monitor = this.monitor;
    monitor?.enter(app, START_FUNCTION);
    try {
      app.live = this.runtime.instantiateSync(app.module, {
        name: app.name,
        heapSize: _heapSize(app),
        stdout: this.#stdout,
        lineBuffered: false,
        warn: (message) => this.#log("error", message, app),
        framework: app,
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
      });
      return true;
    } catch (e) {
      if (e instanceof TrapError && e.message === DEADLINE_EXCEEDED) {
        this.#log("error", `Got exception running WASM code: ${e.message}`, app);
        return `${DEADLINE_EXCEEDED} in ${START_FUNCTION}`;
      }
      return this.#fail(`${failure}: ${(e as Error).message}`);
    } finally {
      monitor?.exit(app);
    }
  }

  /**
   * Stops an app for good until it is resumed: no on_destroy (it may be the code that
   * runs away), its queue dropped, its timers, resources and subscriptions removed, its
   * instance freed and let go of so its memory is released.
   */
  #suspend(app: InstalledApp, reason: string): void {
    app.state = "suspended";
    app.why = reason;
    app.strikes = 0;
    this.#log("error", `WASM app '${app.name}' suspended: ${reason}`, app);
    this.#dropQueue(app, `it is suspended (${reason})`);
    app.release();
    this.#emit("suspend", { app });
  }

  /** Empties an app's queue, answering the requests in it with SERVICE_UNAVAILABLE. */
  #dropQueue(app: InstalledApp, why: string): void {
    this.#unready(app);
    for (const msg of app.queue.takeAll()) {
      if (msg.kind === "request" && msg.request.action !== Action.EVENT) {
        app.answer(msg.request.sender, msg.request.mid);
        this.bus.replyError(
          msg.request,
          Status.SERVICE_UNAVAILABLE_5_03,
          `Send request to app "${app.name}" failed: ${why}`,
        );
      }
    }
  }

  /** Counts a callback that ran past its deadline, or resets the count when one did not. */
  #strike(app: InstalledApp, callback: string, overran: boolean): void {
    if (!overran) {
      app.strikes = 0;
      return;
    }
    // A drain yields to I/O after an overrun, so a looping app cannot starve the host link.
    this.#overran = true;
    const reason = app.strike(callback);
    if (reason !== undefined) this.#suspend(app, reason);
  }

  #run(app: InstalledApp, msg: QueuedMessage): void {
    switch (msg.kind) {
      case "init":
        this.#start(app);
        return;
      case "request":
        this.#runRequest(app, msg.request);
        return;
      case "response":
        this.#runResponse(app, msg.response);
        return;
      case "timer":
        if (msg.id === 0) return;
        if (this.#invoke(app, "on_timer_callback", [msg.id], "wasm") === "missing") {
          this.#log("error", "Cannot find function _on_timer_callback", app);
        }
        return;
      case "post":
        this.#runPost(app, msg.message);
        return;
    }
  }

  #runRequest(app: InstalledApp, request: Request): void {
    if (this.#tracing) {
      this.#log(
        "trace",
        `App ${app.name} got request, url ${request.url}, action ${request.action}`,
      );
    }
    const isEvent = request.action === Action.EVENT;
    if (!_exportName(app.instance, "on_request")) {
      if (isEvent) this.#log("error", "Cannot find function onRequest", app);
      else {
        app.answer(request.sender, request.mid);
        this.bus.replyError(
          request,
          Status.NOT_IMPLEMENTED_5_01,
          `Send request to app "${app.name}" failed: it exports no on_request`,
        );
      }
      return;
    }
    const size = requestSize(request);
    // Reused: messages run one at a time, from drains, which never nest.
    const current = this.#messageCurrent;
    const instance = app.instance;
    // The packet is written straight into the app's heap: no buffer of its own.
    const ptr = this.#heapCopy(app, instance, size);
    let result: "ok" | "missing" | "trap" | "nomem" = "nomem";
    if (ptr !== 0) {
      writeRequest(request, instance.memory.u8, ptr);
      current.app = app;
      current.request = isEvent ? undefined : request;
      current.answered = false;
      try {
        result = this.#invoke(app, "on_request", this.#pair(ptr, size), "wasm", current);
      } finally {
        this.#releaseCurrent();
        this.#heapFree(app, instance, ptr);
      }
    }
    if (result === "nomem") {
      const why = `its heap cannot hold the ${size}-byte packet`;
      if (isEvent) {
        this.#log("error", `Event "${request.url}" for app "${app.name}" dropped: ${why}`);
      } else {
        app.answer(request.sender, request.mid);
        this.bus.replyError(
          request,
          Status.REQUEST_ENTITY_TOO_LARGE_4_13,
          `Send request to app "${app.name}" failed: ${why}`,
        );
      }
    } else if (result === "trap" && !isEvent && !current.answered) {
      app.answer(request.sender, request.mid);
      this.bus.replyError(
        request,
        Status.INTERNAL_SERVER_ERROR_5_00,
        `App "${app.name}" failed handling the request: it trapped`,
      );
    } else if (result === "ok" && this.#tracing) {
      this.#log("trace", "Wasm app process request success.", app);
    }
  }

  #runResponse(app: InstalledApp, response: Response): void {
    if (this.#tracing) {
      this.#log("trace", `App ${app.name} got response_t,status ${response.status}`, app);
    }
    if (!_exportName(app.instance, "on_response")) {
      this.#log("error", "Cannot find function on_response", app);
      return;
    }
    const size = responseSize(response);
    const current = this.#messageCurrent;
    const instance = app.instance;
    const ptr = this.#heapCopy(app, instance, size);
    let result: "ok" | "missing" | "trap" | "nomem" = "nomem";
    if (ptr !== 0) {
      writeResponse(response, instance.memory.u8, ptr);
      try {
        current.app = app;
        current.request = undefined;
        current.answered = false;
        result = this.#invoke(app, "on_response", this.#pair(ptr, size), "wasm", current);
      } finally {
        this.#releaseCurrent();
        this.#heapFree(app, instance, ptr);
      }
    }
    if (result === "nomem") {
      this.#log(
        "error",
        `Response mid ${response.mid} for app "${app.name}" dropped: its heap cannot hold ` +
          `the ${size}-byte packet`,
        app,
      );
    } else if (result === "ok" && this.#tracing) {
      this.#log("trace", "Wasm app process response success.", app);
    }
  }

  #runPost(app: InstalledApp, message: AppMessage): void {
    const label = message.label ?? message.callback;
    if (!_exportName(app.instance, message.callback)) {
      this.#log("error", `Cannot find function ${message.callback}`, app);
      return;
    }
    const args = [...(message.args ?? [])];
    if (!message.payload) {
      this.#invoke(app, message.callback, args, "wasm");
      return;
    }
    const payload = message.payload;
    const result = this.#withCopy(
      app,
      payload,
      (ptr) => this.#invoke(app, message.callback, [...args, ptr, payload.length], "wasm"),
    );
    if (result === "nomem") {
      this.#log(
        "error",
        `Message ${label} for app "${app.name}" dropped: its heap cannot hold ${payload.length} bytes`,
        app,
      );
    }
  }

  /**
   * Keeps a request or response entry that left its queue for the next message, without
   * what it carried (a new entry per message was an allocation per message).
   */
  #recycle(msg: QueuedMessage, ran = false): void {
    if (msg.kind === "request") {
      if (ran) this.#release(msg.request, this.#spareRequests);
      msg.request = undefined as unknown as Request;
      if (this.#spareRequestEntries.length < _SPARE_ENTRIES) this.#spareRequestEntries.push(msg);
    } else if (msg.kind === "response") {
      if (ran) this.#release(msg.response, this.#spareResponses);
      msg.response = undefined as unknown as Response;
      if (this.#spareResponseEntries.length < _SPARE_ENTRIES) {
        this.#spareResponseEntries.push(msg);
      }
    }
  }

  /** Lets go of the app and request the reused `_Current` held. */
  #releaseCurrent(): void {
    this.#messageCurrent.app = undefined as unknown as InstalledApp;
    this.#messageCurrent.request = undefined;
  }

  /** `[ptr, size]` for a callback: one array, as `AppInstance.call` copies its arguments. */
  #pair(ptr: number, size: number): number[] {
    const pair = this.#pairArgs;
    pair[0] = ptr;
    pair[1] = size;
    return pair;
  }

  /** Copies bytes into the app heap for one call and frees them after. */
  #withCopy(
    app: InstalledApp,
    bytes: Uint8Array,
    call: (ptr: number) => "ok" | "missing" | "trap",
  ): "ok" | "missing" | "trap" | "nomem" {
    const instance = app.instance;
    const ptr = this.#heapCopy(app, instance, bytes.length);
    if (ptr === 0) return "nomem";
    instance.memory.u8.set(bytes, ptr);
    try {
      return call(ptr);
    } finally {
      this.#heapFree(app, instance, ptr);
    }
  }

  /**
   * Room for `size` bytes in the app heap for one call, or 0 (a failure is logged); the
   * memory views are current for writing them.
   */
  #heapCopy(app: InstalledApp, instance: AppInstance, size: number): number {
    try {
      const ptr = instance.heap.malloc(size);
      if (ptr !== 0) instance.memory.check(ptr, size);
      return ptr;
    } catch (e) {
      this.#log("error", `Got exception running wasm code: ${(e as Error).message}`, app);
      return 0;
    }
  }

  /** Frees what {@linkcode AppManager.#heapCopy} took, once the call returned. */
  #heapFree(app: InstalledApp, instance: AppInstance, ptr: number): void {
    // Not after an uninstall or a suspension from inside the call.
    if (instance.freed) return;
    try {
      instance.heap.free(ptr);
    } catch (e) {
      this.#log("error", `Got exception running wasm code: ${(e as Error).message}`, app);
    }
  }

  /**
   * Calls a callback export (`_name` or `name`); traps are printed and reported, deadline
   * overruns counted (the app is suspended after too many).
   */
  #invoke(
    app: InstalledApp,
    callback: string,
    args: number[],
    word: "wasm" | "WASM",
    current: _Current = { app, request: undefined, answered: false },
  ): "ok" | "missing" | "trap" {
    const instance = app.live;
    const name = instance && _exportName(instance, callback);
    if (!instance || !name) return "missing";
    const outer = this.#current;
    const monitor = this.monitor;
    this.#current = current;
    app.depth++;
    monitor?.enter(app, callback);
    let result: "ok" | "trap" = "ok";
    let overran = false;
    try {
      instance.callNumbers(name, args);
    } catch (e) {
      const error = e instanceof TrapError ? e : new TrapError(String((e as Error)?.message ?? e));
      result = "trap";
      overran = error.message === DEADLINE_EXCEEDED;
      this.#trap = error.message;
      this.#log("error", `Got exception running ${word} code: ${error.message}`, app);
      this.#emit("trap", { app, callback, error });
    } finally {
      monitor?.exit(app);
      app.depth--;
      this.#current = outer;
      instance.stdout.flush();
    }
    if (callback !== "on_destroy" && app.depth === 0) this.#strike(app, callback, overran);
    return result;
  }

  // ---- /applet and /event/ ---------------------------------------------------------------

  #handleManagerRequest(request: Request): void {
    if (handleApplet(this, request, (line) => this.#log("trace", line))) return;
    const event = checkUrlStart(request.url, "/event/");
    if (event > 0) this.#handleEventRequest(request, _cut(request.url.slice(event), 255));
  }

  #handleEventRequest(request: Request, url: string): void {
    const subscriber = request.sender >>> 0;
    let ok = false;
    if (request.action === Action.PUT) {
      ok = this.bus.subscribe(url, subscriber);
      if (ok && subscriber === ID_HOST) this.#hostLinkEvents.add(url);
    } else if (request.action === Action.DELETE) {
      if (subscriber === ID_HOST) {
        this.#hostLinkEvents.delete(url);
        ok = this.#hostListeners.has(url) || this.bus.unsubscribe(url, subscriber);
      } else ok = this.bus.unsubscribe(url, subscriber);
    }
    if (!ok) {
      this.bus.replyError(
        request,
        Status.INTERNAL_SERVER_ERROR_5_00,
        "Handle event request failed.",
      );
      return;
    }
    this.bus.reply(request, Status.CONTENT_2_05);
  }

  // ---- helpers ---------------------------------------------------------------------------

  #allocateId(): number {
    let id = this.#lastId;
    do {
      id = id + 1 >= _ID_LIMIT ? 1 : id + 1;
    } while (this.#byId.has(id) || this.#pendingIds().has(id));
    return this.#lastId = id;
  }

  #pendingIds(): Set<number> {
    return new Set([...this.#pendingInstalls.values()].map((app) => app.id));
  }

  /** Refuses an install whose memory cap would take the apps' caps past the budget. */
  #checkBudget(cap: number | undefined): void {
    const budget = this.maxTotalMemory;
    if (budget === undefined) return;
    if (cap === undefined) {
      this.#fail(
        `Install WASM app failed: it has no memory cap, and the apps' memory budget is ` +
          `${formatByteSize(budget)}`,
        true,
      );
    }
    let total = cap;
    for (const app of this.#apps.values()) total += app.maxMemory ?? 0;
    for (const app of this.#pendingInstalls.values()) total += app.maxMemory ?? 0;
    if (total > budget) {
      this.#fail(
        `Install WASM app failed: its memory cap of ${
          formatByteSize(cap)
        } would bring the installed ` +
          `apps' caps to ${formatByteSize(total)}, over the budget of ${formatByteSize(budget)}`,
        true,
      );
    }
  }

  #fail(message: string, limit = false): never {
    this.#log("error", message);
    throw new AppManagerError(message, { limit });
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("App manager is closed");
  }

  /** Whether a trace line goes anywhere: hot paths build none otherwise. */
  get #tracing(): boolean {
    return this.#verbose || this.#logListeners.size > 0;
  }

  #log(level: LogLevel, message: string, app?: InstalledApp): void {
    // A line printed moments ago is counted instead, and neither printed nor dispatched.
    if ((level !== "trace" || this.#verbose) && !this.#repeats.line(level, message)) return;
    if (this.#logListeners.size > 0) this.#emit("log", { level, message, app });
  }

  /** Writes a console line; the summary of a line's repeats is also a "log" event. */
  #print(level: LogLevel, line: string, repeats: number): void {
    this.#current?.app.live?.stdout.flush();
    this.#stdout(_encoder.encode(line + "\n"));
    if (repeats > 0 && this.#logListeners.size > 0) {
      this.#emit("log", { level, message: line, app: undefined });
    }
  }
}

function _sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The export a callback resolves to: `_name` first, then `name` (AF's lookup order). */
function _exportName(instance: AppInstance, callback: string): string | undefined {
  const exports = instance.exports;
  const underscored = _underscored(callback);
  if (typeof exports[underscored] === "function") return underscored;
  if (typeof exports[callback] === "function") return callback;
  return undefined;
}

/** `_name` for each callback name seen (a few), built once rather than per message. */
const _UNDERSCORED = new Map<string, string>();

function _underscored(callback: string): string {
  let name = _UNDERSCORED.get(callback);
  if (name === undefined) {
    name = `_${callback}`;
    // Posted messages may name any export: keep only the first few.
    if (_UNDERSCORED.size < 64) _UNDERSCORED.set(callback, name);
  }
  return name;
}

/**
 * The app heap an install gets: what it asked for, and none by default for an app built with
 * wasi-libc (it imports WASI): its own malloc may claim memory up to the current end at its
 * first call, pages appended for a runtime heap included. Such an app exports `malloc` and
 * `free` to receive requests.
 */
function _heapSize(app: InstalledApp): number {
  if (app.options.heapSize !== undefined) return app.heapSize;
  const wasi = app.module.info.imports.some((i) => i.module.startsWith("wasi_"));
  return wasi ? 0 : app.heapSize;
}

type _RequestEntry = Extract<QueuedMessage, { kind: "request" }>;
type _ResponseEntry = Extract<QueuedMessage, { kind: "response" }>;

/** Queue entries kept for reuse, of each kind. */
const _SPARE_ENTRIES = 16;

/** Records kept for reuse, of each kind. */
const _SPARE_RECORDS = 64;
const _BUS_SEND = MessageBus.prototype.send;
const _BUS_PUBLISH = MessageBus.prototype.publish;
const _BUS_RESPOND = MessageBus.prototype.respond;
/** Payloads up to this many bytes are copied into their record's own store. */
const _SMALL_PAYLOAD = 256;

/**
 * Hidden on the manager's request and response records (plain objects otherwise, as they
 * may reach the host): how many queue entries hold it, -Infinity once it went elsewhere too.
 */
const _HOLDERS = Symbol("holders");
/** Hidden on a record: its store for small payloads. */
const _STORE = Symbol("store");

interface _Record {
  [_HOLDERS]: number;
  readonly [_STORE]: Uint8Array;
  payload: Uint8Array | undefined;
}

/**
 * A record the manager sends instead of an object per message (with a payload buffer or a
 * view of a shared one, an allocation per message): reused once every app queue it went
 * into ran it, never when it went anywhere else.
 */
function _newRecord<T extends Request | Response>(fields: T): T & _Record {
  Object.defineProperty(fields, _HOLDERS, { value: 0, writable: true });
  Object.defineProperty(fields, _STORE, { value: new Uint8Array(_SMALL_PAYLOAD) });
  return fields as T & _Record;
}

/**
 * A copy of a payload an app sent, out of its memory: a small one into the record's own
 * store (the record's last view of it is reused when it has the same length), a large one
 * into its own buffer.
 */
function _copyPayload(payload: Uint8Array | undefined, record: _Record): Uint8Array | undefined {
  if (payload === undefined) return undefined;
  const size = payload.length;
  if (size === 0 || size > _SMALL_PAYLOAD) return payload.slice();
  const store = record[_STORE];
  const old = record.payload;
  const copy = old !== undefined && old.length === size && old.buffer === store.buffer
    ? old
    : store.subarray(0, size);
  copy.set(payload);
  return copy;
}

/** At most `max` UTF-8 bytes of `text` (`strncpy` into a 256-byte buffer). */
function _cut(text: string, max: number): string {
  const bytes = _encoder.encode(text);
  return bytes.length <= max ? text : new TextDecoder().decode(bytes.subarray(0, max));
}
