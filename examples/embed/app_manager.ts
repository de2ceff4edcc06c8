/**
 * The app framework without a socket: an `AppManager` on a `ManualClock` runs WAMR-style C apps
 * (timers, resources, events) and the host drives time itself, so every timer fires exactly
 * when the clock is advanced past it, with no sleeping: the way to test apps.
 *
 * ```sh
 * deno run --allow-read examples/embed/app_manager.ts
 * ```
 *
 * @module
 */

import {
  Action,
  AppManager,
  attrContainerToJSON,
  base,
  decodeAttrContainer,
  libc,
  ManualClock,
  Runtime,
} from "../../mod.ts";

// Everything the apps and the manager print, one line at a time, marked as theirs.
let pending = "";
const decoder = new TextDecoder();
function printLines(bytes: Uint8Array): void {
  pending += decoder.decode(bytes, { stream: true });
  const lines = pending.split("\n");
  pending = lines.pop()!;
  for (const line of lines) console.log(`  | ${line}`);
}

const examples = new URL("../", import.meta.url);
const read = (path: string) => Deno.readFile(new URL(path, examples));

const clock = new ManualClock();
// base holds the app-framework natives (timers, requests, events); libc the C library.
const runtime = new Runtime({ plugins: [libc, base], stdout: printLines });
const manager = new AppManager(runtime, { clock });
manager.addEventListener("install", (event) => {
  console.log(`event: installed "${event.detail.app.name}" as app ${event.detail.app.id}`);
});

// timer.wasm's on_init starts a 1 s periodic timer that prints "Timer update <n>".
console.log("install timer");
manager.install("timer", await read("timer/timer.wasm"));
manager.runPending();
for (const ms of [999, 1, 2000]) {
  console.log(`advance ${ms} ms (now ${clock.now() + ms})`);
  clock.advance(ms);
}

// request_handler.wasm serves /url1 with an attr_container.
console.log("install request_handler");
manager.install("request_handler", await read("request_handler/request_handler.wasm"));
manager.runPending();
const reply = manager.request({ url: "/url1", action: Action.GET });
clock.advance(0); // deliver the request and the response
const response = await reply;
const container = decodeAttrContainer(response.payload!);
console.log(
  `GET /url1: status ${response.status}, "${container.tag}" ${
    JSON.stringify(attrContainerToJSON(container))
  }`,
);

// event_publisher.wasm publishes alert/overheat every second; the host subscribes to it.
console.log("install event_publisher");
manager.install("event_publisher", await read("event_publisher/event_publisher.wasm"));
manager.runPending();
const unsubscribe = manager.subscribe("alert/overheat", (event) => {
  const payload = attrContainerToJSON(decodeAttrContainer(event.payload!));
  console.log(`event at ${clock.now()} ms: ${event.url} ${JSON.stringify(payload)}`);
});
clock.advance(2000);
unsubscribe();

console.log(`apps: ${manager.apps.map((app) => `${app.name} (${app.status})`).join(", ")}`);
manager.uninstall("timer");
console.log("uninstalled timer; advance 5000 ms: no more timer updates");
clock.advance(5000);
console.log("close");
manager.close();
