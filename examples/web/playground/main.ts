/// <reference lib="dom" />
/**
 * The playground page: load an app (an example from the menu, or a `.wasm` file dropped or
 * picked), run it with its console, argv and `-f` calls, see its screen and sensors, run
 * framework apps together with a live log, then install it on a device running
 * `serve --ws`. Everything runs in the page, on the browser bundle (`/dist/micro-runtime.js`).
 *
 * Query parameters start it in a known state (used by the tests and the bench):
 * `?app=examples/hello/hello.wasm&args=1+2&f=divz&deadline=500&run=1&ws=ws://127.0.0.1:8889/`.
 *
 * @module
 */

import { MemoryFs, type PointerAction, Runtime } from "../../../core/web/mod.ts";
import { ConsoleView } from "../shared/console_view.ts";
import { DevicePanel } from "../shared/device_panel.ts";
import { append, field, h } from "../shared/dom.ts";
import { EventLog } from "../shared/event_log.ts";
import { LivePlot } from "../shared/plot.ts";
import { CanvasScreen } from "../shared/screen.ts";
import {
  type AppKind,
  appKind,
  DisplaySession,
  FrameworkSession,
  inspect,
  runCommand,
  WASI_DIR,
} from "./sessions.ts";

/** An app the page holds. */
interface LoadedApp {
  /** `argv[0]`: the example's repo path, or the file's name. */
  path: string;
  /** Install name: the file name without `.wasm`. */
  name: string;
  bytes: Uint8Array;
  kind: AppKind;
  exports: string[];
  /** The modules it imports from (`env`, `wasi_snapshot_preview1`). */
  imports: string[];
}

/** A finished or running command, for tests and the bench (`window.playground.runs`). */
interface RunRecord {
  app: string;
  /** `performance.now()` at the click (or load) that started it. */
  startedAt: number;
  /** `performance.now()` at its first output. */
  firstOutputAt?: number;
  endedAt?: number;
  status?: number;
}

/** Arguments and calls that show each example off. */
const PRESETS: Record<string, { args?: string; f?: string; about?: string }> = {
  "examples/fib/fib.wasm": { args: "30" },
  "examples/traps/traps.wasm": { f: "divz", args: "0" },
  "examples/limits/workloads.wasm": { f: "fib_run", args: "25" },
  "examples/limits/recursion.wasm": { f: "call_overflow", args: "1000000" },
  "examples/wasi/c/wasi_app.wasm": { args: "data/in.txt data/out.txt 3 hello" },
  "examples/wasi/cpp/wasi_app.wasm": { args: "data/in.txt data/out.txt 3 hello" },
  "examples/wasi/rust/wasi_app.wasm": { args: "data/in.txt data/out.txt 3 hello" },
};

/** The WASI apps' directory, in memory: `data/in.txt` to start with. */
const files = new MemoryFs();
files.writeFile(`/${WASI_DIR}/in.txt`, "Hello from the page's in-memory file system\n");

/** Framework apps that work as a group, installed in this order. */
const GROUPS: Record<string, string[]> = {
  "timer": ["examples/timer/timer.wasm"],
  "publisher + subscriber": [
    "examples/event_publisher/event_publisher.wasm",
    "examples/event_subscriber/event_subscriber.wasm",
  ],
  "request handler + sender": [
    "examples/request_handler/request_handler.wasm",
    "examples/request_sender/request_sender.wasm",
  ],
  "sensor": ["examples/sensor/sensor.wasm"],
  "room temperature service + client": [
    "examples/room_temp/room_temp_service.wasm",
    "examples/room_temp_client/room_temp_client.wasm",
  ],
};

const params = new URLSearchParams(location.search);

// ---- the pieces ------------------------------------------------------------------------

const output = new ConsoleView("App output");
const screen = new CanvasScreen();
const plot = new LivePlot({ width: 520, height: 180 });
const frameworkLog = new EventLog();
const device = new DevicePanel({
  url: params.get("ws") ?? "ws://127.0.0.1:8889/",
  app: () => current && { name: current.name, bytes: current.bytes },
});

const examples = h("select", { "data-role": "examples" }, h("option", { value: "" }, "Examples…"));
const picker = h("input", { type: "file", accept: ".wasm,application/wasm", "data-role": "file" });
const appInfo = h("p", { class: "app-info", "data-role": "app-info" }, "No app loaded");
const argsInput = h("input", { size: 24, "data-role": "args", placeholder: "arguments" });
const functionInput = h("input", { size: 14, "data-role": "function", placeholder: "main" });
const deadlineInput = h("input", {
  type: "number",
  min: "0",
  value: params.get("deadline") ?? "5000",
  size: 6,
  "data-role": "deadline",
});
const runButton = h("button", { class: "primary", "data-role": "run" }, "Run");
const stopButton = h("button", { "data-role": "stop", disabled: true }, "Stop");
const scriptInput = h("input", {
  value: "examples/gui/clicks.json",
  size: 26,
  "data-role": "script",
});
const untilInput = h("input", { type: "number", value: "2500", size: 6, "data-role": "until" });
const replayButton = h("button", { "data-role": "replay" }, "Replay script");
const screenPanel = h(
  "section",
  { class: "panel screen-panel", hidden: true, "data-role": "screen-panel" },
  h("h2", {}, "Screen"),
  screen.canvas,
  h(
    "div",
    { class: "row" },
    field("pointer script", scriptInput),
    field("until (ms)", untilInput),
    replayButton,
  ),
);
const plotPanel = h(
  "section",
  { class: "panel", hidden: true, "data-role": "plot-panel" },
  h("h2", {}, "Sensors"),
  plot.canvas,
);
const groupChecks = h("div", { class: "checks", "data-role": "group-apps" });
const groupButtons = h("div", { class: "row" });
const togetherButton = h("button", { "data-role": "run-together" }, "Run together");

let current: LoadedApp | undefined;
let display: DisplaySession | undefined;
let framework: FrameworkSession | undefined;
const runs: RunRecord[] = [];

/** What tests and the bench read. */
const api = {
  runs,
  screen,
  plot,
  device,
  output,
  frameworkLog,
  get app(): LoadedApp | undefined {
    return current;
  },
  get busy(): boolean {
    return display !== undefined || framework !== undefined;
  },
  ready: false,
};
(globalThis as unknown as { playground: typeof api }).playground = api;

// ---- loading ---------------------------------------------------------------------------

async function loadExampleList(): Promise<string[]> {
  const response = await fetch("/examples/index.json");
  const list = await response.json() as { path: string; about: string }[];
  for (const { path, about } of list) {
    examples.append(h("option", { value: path, title: about }, path.replace(/^examples\//, "")));
  }
  return list.map((e) => e.path);
}

async function loadExample(path: string): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    const response = await fetch(`/${path}`);
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    output.note("error", `Cannot fetch "${path}": ${(error as Error).message}`);
    return false;
  }
  const preset = PRESETS[path] ?? {};
  argsInput.value = preset.args ?? "";
  functionInput.value = preset.f ?? "";
  return use(path, bytes);
}

async function loadFile(file: File): Promise<boolean> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!_isWasm(bytes)) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    output.note(
      "error",
      `"${file.name}" is not a WebAssembly module: it does not start with \\0asm ` +
        `(its first bytes: ${head || "none, it is empty"})`,
    );
    return false;
  }
  argsInput.value = "";
  functionInput.value = "";
  examples.value = "";
  return use(file.name, bytes);
}

/** Makes an app the current one, once it reads as a module. */
function use(path: string, bytes: Uint8Array): boolean {
  const result = inspect(bytes);
  if ("error" in result) {
    output.note("error", result.error);
    return false;
  }
  stopSessions();
  const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.wasm$/, "");
  const exports = result.info.exports.filter((e) => e.kind === "function").map((e) => e.name);
  const imports = [...new Set(result.info.imports.map((i) => i.module))];
  current = { path, name, bytes, kind: appKind(result.info), exports, imports };
  device.suggestName(name);
  appInfo.replaceChildren(
    h("b", {}, path),
    ` — ${bytes.length.toLocaleString("en")} bytes — `,
    h("span", { "data-role": "app-kind" }, _kindText(current.kind)),
    exports.length ? ` — exports: ${exports.join(", ")}` : "",
  );
  screenPanel.hidden = current.kind !== "display";
  replayButton.disabled = current.kind !== "display";
  if (current.kind === "framework") _checkGroup([path]);
  return true;
}

function _kindText(kind: AppKind): string {
  return kind === "display"
    ? "display app (gui_init, gui_tick)"
    : kind === "framework"
    ? "framework app (on_init, events, requests)"
    : "command (main, _start or -f)";
}

function _isWasm(bytes: Uint8Array): boolean {
  return bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
}

// ---- running ---------------------------------------------------------------------------

async function run(): Promise<void> {
  const app = current;
  if (!app) {
    output.note("error", "Load an app first: pick an example or drop a .wasm file");
    return;
  }
  stopSessions();
  if (app.kind === "display") return startDisplay(app);
  if (app.kind === "framework") return startFramework([app]);
  const record: RunRecord = { app: app.path, startedAt: performance.now() };
  runs.push(record);
  const sink = (stream: "stdout" | "stderr") => (bytes: Uint8Array) => {
    record.firstOutputAt ??= performance.now();
    output.write(stream, bytes);
  };
  const f = functionInput.value.trim();
  const wasi = app.imports.includes("wasi_snapshot_preview1");
  runButton.disabled = true;
  try {
    // Let the page paint "running" before a long call blocks it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    record.status = await runCommand(app.bytes, {
      name: app.path,
      args: _words(argsInput.value),
      ...(f !== "" ? { function: f } : {}),
      deadlineMs: Number(deadlineInput.value) || 0,
      stdout: sink("stdout"),
      stderr: sink("stderr"),
      fs: files,
    });
  } catch (error) {
    record.status = -1;
    output.note("error", `The run failed: ${(error as Error).message}`);
  } finally {
    record.endedAt = performance.now();
    runButton.disabled = false;
  }
  output.note(
    "info",
    `— exit status ${record.status} after ${(record.endedAt - record.startedAt).toFixed(1)} ms`,
  );
  if (wasi) {
    const listing = files.readDir(`/${WASI_DIR}`)
      .map((e) => `${e.name} (${files.stat(`/${WASI_DIR}/${e.name}`).size} bytes)`);
    output.note("info", `— ${WASI_DIR}/ in memory: ${listing.join(", ") || "empty"}`);
  }
}

async function startDisplay(app: LoadedApp): Promise<void> {
  const module = await _module(app);
  if (!module) return;
  display = DisplaySession.live(module, {
    screen,
    stdout: (bytes) => output.write("stdout", bytes),
  });
  if (!display) return;
  screen.onPointer((state) => display?.pointer(state));
  stopButton.disabled = false;
  output.note("info", `— ${app.path} runs: click its button on the screen`);
}

async function replay(): Promise<void> {
  const app = current;
  if (!app || app.kind !== "display") return;
  stopSessions();
  let script: PointerAction[];
  try {
    const response = await fetch(`/${scriptInput.value.trim()}`);
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    script = await response.json();
  } catch (error) {
    output.note("error", `Cannot read the pointer script: ${(error as Error).message}`);
    return;
  }
  const module = await _module(app);
  if (!module) return;
  const until = Number(untilInput.value);
  try {
    DisplaySession.replay(module, script, until, {
      screen,
      stdout: (bytes) => output.write("stdout", bytes),
    });
  } catch (error) {
    output.note("error", `The replay failed: ${(error as Error).message}`);
    return;
  }
  output.note("info", `— replayed ${script.length} pointer actions up to ${until} ms`);
  screenPanel.dataset.replayed = String(until);
}

async function _module(app: LoadedApp) {
  try {
    return await new Runtime().load(app.bytes, app.name);
  } catch (error) {
    output.note("error", `WASM module load failed: ${(error as Error).message}`);
    return undefined;
  }
}

async function startFramework(apps: LoadedApp[]): Promise<void> {
  stopSessions();
  frameworkLog.clear();
  plot.clear();
  plotPanel.hidden = true;
  framework = new FrameworkSession({
    stdout: (bytes) => output.write("stdout", bytes),
    log: (level, message) => frameworkLog.add(level, message),
    reading: (sensor, key, time, value) => {
      plotPanel.hidden = false;
      plot.add(`${sensor} ${key}`, time, value);
    },
  }, { deadlineMs: Number(deadlineInput.value) || 0 });
  stopButton.disabled = false;
  for (const app of apps) {
    const failure = framework.install(app.name, app.bytes);
    if (failure) output.note("error", `${app.name}: ${failure}`);
  }
  await Promise.resolve();
}

async function runTogether(): Promise<void> {
  const chosen = [...groupChecks.querySelectorAll<HTMLInputElement>("input:checked")]
    .map((box) => box.value);
  if (chosen.length === 0) {
    output.note("error", "Tick the framework apps to run together");
    return;
  }
  const apps: LoadedApp[] = [];
  for (const path of chosen) {
    if (current?.path === path) {
      apps.push(current);
      continue;
    }
    const response = await fetch(`/${path}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.wasm$/, "");
    apps.push({ path, name, bytes, kind: "framework", exports: [], imports: [] });
  }
  await startFramework(apps);
}

function stopSessions(): void {
  screen.onPointer(undefined);
  display?.stop();
  display = undefined;
  framework?.stop();
  framework = undefined;
  stopButton.disabled = true;
}

function _words(text: string): string[] {
  return text.trim() === "" ? [] : text.trim().split(/\s+/);
}

function _checkGroup(paths: string[]): void {
  for (const box of groupChecks.querySelectorAll<HTMLInputElement>("input")) {
    box.checked = paths.includes(box.value);
  }
}

// ---- the page --------------------------------------------------------------------------

function layout(): void {
  runButton.onclick = () => void run();
  stopButton.onclick = () => {
    stopSessions();
    output.note("info", "— stopped");
  };
  replayButton.onclick = () => void replay();
  togetherButton.onclick = () => void runTogether();
  examples.onchange = () => {
    if (examples.value !== "") void loadExample(examples.value);
  };
  picker.onchange = () => {
    const file = picker.files?.[0];
    if (file) void loadFile(file);
    picker.value = "";
  };
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", () => document.body.classList.remove("dropping"));
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dropping");
    const file = event.dataTransfer?.files[0];
    if (file) void loadFile(file);
  });

  const main = document.querySelector("main")!;
  append(
    main,
    h(
      "section",
      { class: "panel app" },
      h("h2", {}, "App"),
      h(
        "div",
        { class: "row" },
        examples,
        h("span", {}, "or"),
        h("label", { class: "file" }, "open a .wasm file", picker),
        h("span", { class: "hint" }, "(or drop one anywhere on the page)"),
      ),
      appInfo,
      h(
        "div",
        { class: "row" },
        field("-f", functionInput),
        field("args", argsInput),
        field("deadline (ms)", deadlineInput),
        runButton,
        stopButton,
        h("button", { onclick: () => output.clear(), "data-role": "clear" }, "Clear"),
      ),
      output.element,
    ),
    screenPanel,
    plotPanel,
    h(
      "section",
      { class: "panel framework", "data-role": "framework" },
      h("h2", {}, "Framework apps together"),
      groupButtons,
      groupChecks,
      h("div", { class: "row" }, togetherButton),
      frameworkLog.element,
    ),
    device.element,
  );
}

function frameworkChoices(paths: string[]): void {
  const frameworkApps = paths.filter((p) =>
    Object.values(GROUPS).flat().includes(p) || p.startsWith("examples/limits/loop")
  );
  groupChecks.replaceChildren(
    ...frameworkApps.map((path) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: path }),
        path.replace(/^examples\//, ""),
      )
    ),
  );
  for (const [label, group] of Object.entries(GROUPS)) {
    groupButtons.append(
      h("button", {
        "data-group": label,
        onclick: () => {
          _checkGroup(group);
          void runTogether();
        },
      }, label),
    );
  }
}

async function start(): Promise<void> {
  layout();
  const paths = await loadExampleList();
  frameworkChoices(paths);
  const app = params.get("app");
  if (app !== null) {
    examples.value = app;
    if (await loadExample(app)) {
      if (params.has("args")) argsInput.value = params.get("args")!;
      if (params.has("f")) functionInput.value = params.get("f")!;
      if (params.get("run") === "1") await run();
    }
  }
  api.ready = true;
  document.body.dataset.ready = "true";
}

void start();
