/// <reference lib="dom" />
/**
 * The fleet console's page: the broker link, the devices with their apps and memory (live
 * from their retained statuses), installs by upload to the selected devices with each one's
 * progress, uninstalls, a request box and live events. Everything goes through the relay's
 * WebSocket (`relay.ts`, `protocol.ts`); the UI pieces come from `../shared/`.
 *
 * @module
 */

import { field, h } from "../shared/dom.ts";
import { EventLog } from "../shared/event_log.ts";
import { statusText } from "../shared/device_panel.ts";
import type {
  BrokerView,
  DeviceView,
  PageMessage,
  RelayMessage,
  SubscriptionView,
} from "./protocol.ts";

const devices = new Map<string, DeviceView>();
const selected = new Set<string>();
let socket: WebSocket | undefined;
let nextOp = 1;

// The broker bar.
const brokerUrl = h("input", { size: 26, "data-role": "broker-url" });
const brokerUser = h("input", { size: 12, "data-role": "broker-username" });
const brokerPassword = h("input", { type: "password", size: 14, "data-role": "broker-password" });
const brokerPrefix = h("input", { size: 6, "data-role": "broker-prefix" });
const brokerState = h("span", { class: "broker-state", "data-role": "broker-state" }, "…");
const brokerPanel = h(
  "section",
  { class: "panel wide", "data-role": "broker" },
  h(
    "div",
    { class: "row" },
    field("broker", brokerUrl),
    field("user", brokerUser),
    field("password", brokerPassword),
    field("prefix", brokerPrefix),
    h("button", { onclick: connect, "data-role": "broker-connect" }, "Connect"),
    brokerState,
  ),
);

// The devices.
const summary = h("span", { class: "hint", "data-role": "device-summary" }, "no devices yet");
const selectAll = h("input", {
  type: "checkbox",
  "data-role": "select-all",
  onchange: () => {
    selected.clear();
    if (selectAll.checked) { for (const id of devices.keys()) selected.add(id); }
    renderDevices();
  },
});
const deviceRows = h("tbody", { "data-role": "device-rows" });
const devicesPanel = h(
  "section",
  { class: "panel wide", "data-role": "devices" },
  h("h2", {}, "Devices ", summary),
  h(
    "table",
    { class: "devices" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, selectAll),
        ...["device", "state", "apps", "memory", "runtime", "since"].map((t) => h("th", {}, t)),
      ),
    ),
    deviceRows,
  ),
);

// Install by upload.
const installFile = h("input", { type: "file", accept: ".wasm", "data-role": "install-file" });
const installName = h("input", { size: 16, "data-role": "install-name" });
const installTargets = h("span", { class: "hint", "data-role": "install-targets" });
const installMessage = h("span", { class: "message", "data-role": "install-message" });
const operations = h("ul", { class: "operations", "data-role": "operations" });
const installChosen = h("span", { "data-role": "install-chosen" }, "choose a .wasm…");
installFile.onchange = () => {
  const file = installFile.files?.[0];
  installChosen.textContent = file ? `${file.name} (${_bytes(file.size)})` : "choose a .wasm…";
  if (file) installName.value = file.name.replace(/\.[^.]*$/, "").replace(/[^\w.-]/g, "_");
};
const installPanel = h(
  "section",
  { class: "panel", "data-role": "install" },
  h("h2", {}, "Install"),
  h(
    "div",
    { class: "row" },
    h("label", { class: "file" }, installChosen, installFile),
    field("name", installName),
    h("button", { class: "primary", onclick: install, "data-role": "install-send" }, "Install"),
    installTargets,
  ),
  installMessage,
  operations,
);

// The request box.
const requestDevice = h("select", { "data-role": "request-device" });
const requestMethod = h(
  "select",
  { "data-role": "request-method" },
  ...["GET", "POST", "PUT", "DELETE"].map((m) => h("option", { value: m }, m)),
);
const requestUrl = h("input", { value: "/applet", size: 24, "data-role": "request-url" });
const requestPayload = h("input", {
  size: 22,
  placeholder: '{"key": "value"}',
  "data-role": "request-payload",
});
const response = h("pre", { class: "response", "data-role": "response" });
const requestPanel = h(
  "section",
  { class: "panel", "data-role": "request" },
  h("h2", {}, "Request"),
  h(
    "div",
    { class: "row" },
    requestDevice,
    requestMethod,
    requestUrl,
    requestPayload,
    h("button", { onclick: request, "data-role": "request-send" }, "Send"),
  ),
  response,
);

// Events.
const eventUrl = h("input", { value: "alert/", size: 18, "data-role": "event-url" });
const eventDevices = h("input", { value: "+", size: 10, "data-role": "event-devices" });
const subscriptionList = h("ul", { class: "apps", "data-role": "subscriptions" });
const events = new EventLog();
const eventsPanel = h(
  "section",
  { class: "panel", "data-role": "events" },
  h("h2", {}, "Live events"),
  h(
    "div",
    { class: "row" },
    field("URL or prefix/", eventUrl),
    field("devices", eventDevices),
    h("button", { onclick: subscribe, "data-role": "event-subscribe" }, "Subscribe"),
  ),
  subscriptionList,
  events.element,
);

// Everything else that happened: operations, responses, failures.
const activity = new EventLog();
activity.element.dataset.role = "activity";
const activityPanel = h(
  "section",
  { class: "panel", "data-role": "activity-panel" },
  h("h2", {}, "Activity"),
  activity.element,
);

document.querySelector("main")!.append(
  brokerPanel,
  devicesPanel,
  installPanel,
  requestPanel,
  eventsPanel,
  activityPanel,
);

function send(message: PageMessage): boolean {
  if (socket?.readyState !== WebSocket.OPEN) {
    activity.add("error", "The console's relay is not reachable: wait for it to come back");
    return false;
  }
  socket.send(JSON.stringify(message));
  return true;
}

function connect(): void {
  const password = brokerPassword.value;
  send({
    type: "connect",
    url: brokerUrl.value.trim(),
    username: brokerUser.value.trim(),
    ...(password !== "" ? { password } : {}),
    prefix: brokerPrefix.value.trim(),
  });
  brokerPassword.value = "";
}

async function install(): Promise<void> {
  installMessage.textContent = "";
  installMessage.classList.remove("error");
  const file = installFile.files?.[0];
  if (!file) return showInstallError("Choose a .wasm file to upload first");
  if (selected.size === 0) return showInstallError("No device selected: tick one or more first");
  const bytes = new Uint8Array(await file.arrayBuffer());
  const op = `op${nextOp++}`;
  send({
    type: "install",
    op,
    devices: [...selected],
    name: installName.value.trim(),
    file: file.name,
    wasm: _base64(bytes),
  });
}

function showInstallError(message: string): void {
  installMessage.textContent = message;
  installMessage.classList.add("error");
  activity.add("error", message);
}

function uninstall(device: string, name: string): void {
  send({ type: "uninstall", op: `op${nextOp++}`, devices: [device], name });
}

function request(): void {
  const device = requestDevice.value;
  if (device === "") {
    response.textContent = "No device to send to: none has reported yet";
    response.classList.add("error");
    return;
  }
  response.textContent = "waiting…";
  response.classList.remove("error");
  send({
    type: "request",
    op: `request${nextOp++}`,
    device,
    method: requestMethod.value as "GET" | "POST" | "PUT" | "DELETE",
    url: requestUrl.value,
    payload: requestPayload.value,
  });
}

function subscribe(): void {
  send({ type: "subscribe", url: eventUrl.value, devices: eventDevices.value });
}

function showBroker(broker: BrokerView): void {
  if (document.activeElement !== brokerUrl) brokerUrl.value = broker.url;
  if (document.activeElement !== brokerUser) brokerUser.value = broker.username;
  if (document.activeElement !== brokerPrefix) brokerPrefix.value = broker.prefix;
  brokerPassword.placeholder = broker.hasPassword ? "(unchanged)" : "";
  brokerState.className = `broker-state ${broker.state}`;
  brokerState.dataset.state = broker.state;
  brokerState.textContent = broker.state === "failed"
    ? broker.message ?? "failed"
    : broker.state === "connected"
    ? `connected to ${broker.url} as ${broker.username || "anonymous"}`
    : `${broker.state} to ${broker.url}…`;
  if (broker.state === "failed") activity.add("error", brokerState.textContent);
  else if (broker.state !== "connecting") activity.add("link", brokerState.textContent);
}

function showSubscriptions(list: SubscriptionView[]): void {
  subscriptionList.replaceChildren(
    ...list.map((s) =>
      h(
        "li",
        { "data-subscription": s.url },
        h("span", {}, `${s.url} from ${s.devices}`),
        h("button", {
          onclick: () => send({ type: "unsubscribe", id: s.id }),
          "data-role": "event-unsubscribe",
        }, "Unsubscribe"),
      )
    ),
  );
  if (list.length === 0) subscriptionList.append(h("li", { class: "empty" }, "no subscriptions"));
}

function renderDevices(): void {
  const list = [...devices.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  for (const id of selected) if (!devices.has(id)) selected.delete(id);
  deviceRows.replaceChildren(...list.map(deviceRow));
  renderSummary();
  const choice = requestDevice.value;
  requestDevice.replaceChildren(...list.map((d) => h("option", { value: d.id }, d.id)));
  if (list.length === 0) requestDevice.append(h("option", { value: "" }, "no devices"));
  if (devices.has(choice)) requestDevice.value = choice;
}

/** The counts, the select-all box and the install targets. */
function renderSummary(): void {
  const list = [...devices.values()];
  const online = list.filter((d) => d.online).length;
  summary.textContent = list.length === 0
    ? "no devices yet"
    : `${list.length} device${list.length === 1 ? "" : "s"}, ${online} online`;
  selectAll.checked = list.length > 0 && selected.size === list.length;
  installTargets.textContent = selected.size === 0
    ? "tick devices to install to"
    : `to ${[...selected].sort().join(", ")}`;
}

function deviceRow(device: DeviceView): HTMLTableRowElement {
  const status = device.status;
  const box = h("input", {
    type: "checkbox",
    checked: selected.has(device.id),
    "data-role": "select",
    onchange: () => {
      if (box.checked) selected.add(device.id);
      else selected.delete(device.id);
      renderSummary();
    },
  });
  const apps = h("ul", { class: "apps", "data-role": "apps" });
  for (const app of status?.apps ?? []) {
    apps.append(
      h(
        "li",
        { "data-app": app.name, "data-state": app.status },
        h("b", {}, app.name),
        ` ${app.status}${app.memory ? `, ${_bytes(app.memory)}` : ""}`,
        device.online &&
          h("button", {
            onclick: () => uninstall(device.id, app.name),
            "data-role": "uninstall",
          }, "Uninstall"),
      ),
    );
  }
  if (!status || status.apps.length === 0) apps.append(h("li", { class: "empty" }, "no apps"));
  const state = device.online ? "online" : "offline";
  return h(
    "tr",
    { class: state, "data-device": device.id, "data-online": String(device.online) },
    h("td", {}, box),
    h("td", {}, h("b", {}, device.id)),
    h("td", {}, h("span", { class: `state ${state}`, "data-role": "state" }, state)),
    h("td", {}, apps),
    h(
      "td",
      { "data-role": "memory" },
      status ? `rss ${_bytes(status.memory.rss)}, heap ${_bytes(status.memory.heapUsed)}` : "",
    ),
    h("td", {}, status?.runtime ?? ""),
    h("td", {}, new Date(device.changedAt).toLocaleTimeString()),
  );
}

function started(op: string, what: string, targets: string[]): void {
  const bar = h("progress", { max: targets.length, value: 0 });
  const rows = h(
    "ul",
    {},
    ...targets.map((id) => h("li", { "data-device": id, "data-outcome": "waiting" }, `${id} …`)),
  );
  operations.prepend(
    h(
      "li",
      { "data-op": op },
      h("b", {}, what),
      " ",
      bar,
      " ",
      h("span", { "data-role": "count" }, `0/${targets.length}`),
      rows,
    ),
  );
  activity.add("request", `${what} on ${targets.join(", ")}`);
}

function onMessage(message: RelayMessage): void {
  switch (message.type) {
    case "broker":
      showBroker(message.broker);
      break;
    case "devices":
      devices.clear();
      for (const device of message.devices) devices.set(device.id, device);
      renderDevices();
      break;
    case "device": {
      const before = devices.get(message.device.id);
      devices.set(message.device.id, message.device);
      if (before?.online !== message.device.online) {
        activity.add(
          message.device.online ? "link" : "error",
          `${message.device.id} is ${message.device.online ? "online" : "offline"}`,
        );
      }
      // A fleet's statuses come one device at a time: only that row is built again.
      const row = before &&
        deviceRows.querySelector(`tr[data-device="${CSS.escape(message.device.id)}"]`);
      if (row) {
        row.replaceWith(deviceRow(message.device));
        renderSummary();
      } else renderDevices();
      break;
    }
    case "subscriptions":
      showSubscriptions(message.subscriptions);
      break;
    case "event":
      events.add("event", `${message.device} ${message.url} ${message.text}`);
      break;
    case "started":
      started(message.op, message.what, message.devices);
      break;
    case "progress": {
      const block = operations.querySelector(`[data-op="${message.op}"]`);
      if (!block) break;
      const r = message.result;
      const row = block.querySelector(`li[data-device="${CSS.escape(r.device)}"]`);
      const status = r.status !== undefined ? statusText(r.status) : r.outcome;
      const why = r.error !== undefined && r.error !== r.outcome ? `: ${r.error}` : "";
      const when = r.outcome === "offline" ? "nothing sent" : `${r.ms} ms`;
      const text = `${r.device} ${status}${why} (${when})`;
      if (row instanceof HTMLElement) {
        row.dataset.outcome = r.outcome;
        row.textContent = text;
      }
      block.querySelector("progress")!.value = message.done;
      block.querySelector("[data-role=count]")!.textContent = `${message.done}/${message.total}`;
      activity.add(r.outcome === "ok" ? "response" : "error", text);
      break;
    }
    case "response": {
      const text = `${message.device}: ${statusText(message.status)}` +
        (message.body ? `\n${message.body}` : "");
      response.textContent = text;
      response.classList.toggle("error", message.status >= 128);
      activity.add(message.status < 128 ? "response" : "error", text);
      break;
    }
    case "failed":
      activity.add("error", message.message);
      if (message.op?.startsWith("request")) {
        response.textContent = message.message;
        response.classList.add("error");
      } else if (message.op !== undefined) {
        installMessage.textContent = message.message;
        installMessage.classList.add("error");
      }
      break;
  }
}

function open(): void {
  const ws = new WebSocket(`ws://${location.host}/console/ws`);
  ws.onmessage = (event) => {
    onMessage(JSON.parse(event.data as string) as RelayMessage);
    document.body.dataset.ready = "true";
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = undefined;
    document.body.dataset.ready = "false";
    brokerState.className = "broker-state failed";
    brokerState.textContent = "The console's relay went away: reconnecting…";
    setTimeout(open, 2000);
  };
  socket = ws;
}

function _bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function _base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

showSubscriptions([]);
renderDevices();
open();
