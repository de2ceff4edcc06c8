/// <reference lib="dom" />
/**
 * What the playground runs, apart from the page: a command app's run (`runApp`, the CLI's
 * lines), a display app's live or replayed screen, and several framework apps under one
 * app manager with sensors. Each session reports through callbacks, so the page decides
 * where output, frames, log lines and readings go.
 *
 * @module
 */

import {
  AppManager,
  AppManagerError,
  type AppModule,
  base,
  createDisplayLibrary,
  createSensorLibrary,
  createWasiLibrary,
  type DisplayLibrary,
  fastSchedule,
  libc,
  type MemoryFs,
  type ModuleInfo,
  type OutputSink,
  type PointerAction,
  readModule,
  runApp,
  Runtime,
  type ScreenSink,
  sineSensor,
  TrapError,
  watchSensor,
} from "../../../core/web/mod.ts";
import type { PointerState } from "../shared/screen.ts";

/** How the playground runs an app. */
export type AppKind = "display" | "framework" | "command";

/**
 * Tells how to run a module: it draws (display natives), it is event-driven (the app
 * framework's natives, or `on_init`), or it is a command (`main`, `_start`, `-f`).
 *
 * @param info the module's imports and exports
 * @returns the kind
 */
export function appKind(info: ModuleInfo): AppKind {
  if (info.imports.some((i) => i.module === "env" && i.name.startsWith("display_"))) {
    return "display";
  }
  if (
    info.imports.some((i) => i.module === "env" && i.name.startsWith("wasm_")) ||
    info.exports.some((e) => e.kind === "function" && e.name === "on_init")
  ) {
    return "framework";
  }
  return "command";
}

/**
 * Reads a module's imports and exports, or says why it is not one.
 *
 * @param bytes the file
 * @returns the info, or the CLI's load failure line
 */
export function inspect(bytes: Uint8Array): { info: ModuleInfo } | { error: string } {
  try {
    return { info: readModule(bytes) };
  } catch (error) {
    return { error: `WASM module load failed: ${(error as Error).message}` };
  }
}

/** What a command run takes. */
export interface CommandRun {
  /** `argv[0]` (the path a terminal user would type). */
  name: string;
  /** The arguments after it, or the `-f` call's arguments. */
  args: string[];
  /** The export to call with `args` (`-f`), or undefined for `main`/`_start`. */
  function?: string;
  /** Milliseconds the call may run (0: no deadline). */
  deadlineMs: number;
  /** App output and result lines. */
  stdout: OutputSink;
  /** Warnings (unresolved imports), and a WASI app's standard error. */
  stderr: OutputSink;
  /**
   * What a WASI app sees as its directory `data` (the in-memory file system's `/data`); its
   * changes stay for the next run.
   */
  fs: MemoryFs;
}

/** The directory a WASI app gets, by the name it sees it under (`data/in.txt`). */
export const WASI_DIR = "data";

/**
 * Runs a command app as `deno run mod.ts [-f F] app.wasm args…` would.
 *
 * @param bytes the module
 * @param run argv, `-f`, deadline and output
 * @returns the exit status
 */
export function runCommand(bytes: Uint8Array, run: CommandRun): Promise<number> {
  return runApp(bytes, {
    name: run.name,
    args: run.args,
    ...(run.function !== undefined ? { function: run.function } : {}),
    plugins: [libc],
    wasi: createWasiLibrary({
      fs: run.fs,
      preopens: [{ guest: WASI_DIR, host: `/${WASI_DIR}` }],
      stderr: {
        writeSync(bytes: Uint8Array): number {
          run.stderr(bytes.slice());
          return bytes.length;
        },
      },
    }),
    stdout: run.stdout,
    stderr: run.stderr,
    ...(run.deadlineMs > 0 ? { limits: { deadlineMs: run.deadlineMs } } : {}),
  });
}

/** Where a display session's frames and output go. */
export interface DisplaySink {
  /** The screen the display plugin presents each changed frame on (a canvas). */
  screen: ScreenSink;
  /** App output and the exception line of a trap. */
  stdout: OutputSink;
}

/**
 * A display app on a screen: `gui_init`, then `gui_tick(now)` every 10 ms of app time, as
 * the littlevgl sample's timer (and `examples/gui/run.ts`) drive it.
 */
export class DisplaySession {
  readonly #runtime: Runtime;
  readonly #display: DisplayLibrary;
  readonly #sink: DisplaySink;
  #app: ReturnType<Runtime["instantiateSync"]> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(runtime: Runtime, display: DisplayLibrary, sink: DisplaySink) {
    this.#runtime = runtime;
    this.#display = display;
    this.#sink = sink;
  }

  /**
   * Starts the app live: app time is real time, the pointer comes from {@linkcode pointer}.
   *
   * @param module the loaded module
   * @param sink where frames and output go
   * @returns the running session, or undefined when it trapped at start (reported)
   */
  static live(module: AppModule, sink: DisplaySink): DisplaySession | undefined {
    const start = performance.now();
    const session = DisplaySession.#create(() => performance.now() - start, [], sink);
    if (!session.#start(module)) return undefined;
    session.#timer = setInterval(() => session.#tick(performance.now() - start), 10);
    return session;
  }

  /**
   * Replays a pointer script on app time, ticking every 10 ms up to `until` without waiting,
   * as `examples/gui/run.ts --fast` does, then shows the last frame.
   *
   * @param module the loaded module
   * @param script the pointer actions (times from app start)
   * @param until the last tick's app time in ms
   * @param sink where frames and output go
   */
  static replay(
    module: AppModule,
    script: readonly PointerAction[],
    until: number,
    sink: DisplaySink,
  ): void {
    let now = 0;
    const session = DisplaySession.#create(() => now, script, sink);
    if (!session.#start(module)) return;
    for (; now <= until; now += 10) {
      if (!session.#tick(now)) return;
    }
    // Freeing the app closes its screen, which presents the last frame first.
    session.stop();
  }

  static #create(
    clock: () => number,
    input: readonly PointerAction[],
    sink: DisplaySink,
  ): DisplaySession {
    const display = createDisplayLibrary({ clock, input, terminal: false, screen: sink.screen });
    const runtime = new Runtime({ plugins: [libc, display], stdout: sink.stdout });
    return new DisplaySession(runtime, display, sink);
  }

  /**
   * Moves the pointer (live sessions).
   *
   * @param state where it is and whether it is pressed
   */
  pointer(state: PointerState): void {
    const app = this.#app;
    if (app) this.#display.state(app)?.pointer(state.x, state.y, state.pressed);
  }

  /** Stops ticking and frees the app. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#app?.free();
    this.#app = undefined;
  }

  /** Whether the app still runs. */
  get running(): boolean {
    return this.#app !== undefined;
  }

  #start(module: AppModule): boolean {
    try {
      this.#app = this.#runtime.instantiateSync(module);
      if ("gui_init" in this.#app.exports) this.#app.call("gui_init");
      return true;
    } catch (error) {
      this.#trap(error);
      return false;
    }
  }

  #tick(now: number): boolean {
    const app = this.#app;
    if (!app) return false;
    try {
      app.call("gui_tick", Math.trunc(now));
    } catch (error) {
      this.#trap(error);
      return false;
    }
    return true;
  }

  #trap(error: unknown): void {
    this.#app?.stdout.flush();
    const message = error instanceof TrapError
      ? `Exception: ${error.message}`
      : `WASM module instantiate failed: ${(error as Error).message}`;
    this.#sink.stdout(new TextEncoder().encode(message + "\n"));
    this.stop();
  }
}

/** Callbacks of a framework session. */
export interface FrameworkSink {
  /** App output and the manager's console lines. */
  stdout: OutputSink;
  /** Every log line of the manager (requests, events, installs, traps), with its level. */
  log(level: string, message: string): void;
  /** A sensor reading: each numeric key of it. */
  reading(sensor: string, key: string, time: number, value: number): void;
}

/**
 * Several framework apps under one app manager, with libc, base (requests, events,
 * timers) and two sine-wave sensors named as the sensor example opens them.
 */
export class FrameworkSession {
  /** The app manager. */
  readonly manager: AppManager;

  /**
   * Starts the manager.
   *
   * @param sink where output, log lines and readings go
   * @param options each callback's deadline in ms (the manager suspends an app that overruns)
   */
  constructor(sink: FrameworkSink, options: { deadlineMs: number }) {
    const drivers = [
      sineSensor({ name: "sensor_test1", period: 8000, amplitude: 5, offset: 20 }),
      sineSensor({ name: "sensor_test2", period: 5000, amplitude: 2, offset: 24 }),
    ].map((driver) =>
      watchSensor(driver, (reading) => {
        // Measurements (doubles, floats), not counters such as the reading's time.
        for (const [key, attr] of reading.reading.entries()) {
          if (attr.type === "double" || attr.type === "float") {
            sink.reading(reading.name, key, reading.time, attr.value);
          }
        }
      })
    );
    const runtime = new Runtime({
      plugins: [libc, base, createSensorLibrary(drivers)],
      stdout: sink.stdout,
    });
    this.manager = new AppManager(runtime, {
      stdout: sink.stdout,
      schedule: fastSchedule(),
      deadlineMs: options.deadlineMs,
    });
    this.manager.addEventListener("log", (event) => {
      sink.log(event.detail.level, event.detail.message);
    });
  }

  /**
   * Installs an app; its `on_init` runs.
   *
   * @param name the app's name
   * @param bytes the module
   * @returns undefined, or why the install failed (the manager's message)
   */
  install(name: string, bytes: Uint8Array): string | undefined {
    try {
      this.manager.install(name, bytes);
      return undefined;
    } catch (error) {
      if (error instanceof AppManagerError) return error.message;
      throw error;
    }
  }

  /** Uninstalls every app (each `on_destroy` runs) and closes the manager. */
  stop(): void {
    for (const app of [...this.manager.apps]) {
      try {
        this.manager.uninstall(app.name);
      } catch {
        // Already gone.
      }
    }
    this.manager.close();
  }
}
