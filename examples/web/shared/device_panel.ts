/// <reference lib="dom" />
/**
 * "Install on a device": a panel that connects to a running `serve --ws PORT` through a
 * WebSocket, with the same frames and token handshake as WAMR's TCP host link, and lists its
 * apps, installs the app given by the page, uninstalls, sends requests and subscribes to
 * events. Responses, events and failures go to its own log; a link that fails or a runtime
 * that goes away is reported there and the panel can connect again.
 *
 * @module
 */

import {
  type AttrContainer,
  attrContainerFromJSON as fromJSON,
  formatHostToolJSON,
  HostClient,
  type HostEvent,
  type HostResponse,
  webSocketTransport,
} from "../../../core/web/mod.ts";
import { field, h } from "./dom.ts";
import { EventLog } from "./event_log.ts";

/** The app a page offers for install. */
export interface InstallableApp {
  /** Its name on the device. */
  name: string;
  /** The module bytes. */
  bytes: Uint8Array;
}

/** Options of {@linkcode DevicePanel}. */
export interface DevicePanelOptions {
  /** The endpoint shown at first (default `ws://127.0.0.1:8889/`). */
  url?: string;
  /** The app to install when asked, or undefined when none is loaded. */
  app: () => InstallableApp | undefined;
  /** Milliseconds to wait for each response (default 5000). */
  timeout?: number;
}

/** Status names of WAMR's CoAP-style codes, for the log. */
const _STATUS: Record<number, string> = {
  65: "2.01 Created",
  66: "2.02 Deleted",
  67: "2.03 Valid",
  68: "2.04 Changed",
  69: "2.05 Content",
  128: "4.00 Bad Request",
  129: "4.01 Unauthorized",
  132: "4.04 Not Found",
  133: "4.05 Method Not Allowed",
  141: "4.13 Request Entity Too Large",
  160: "5.00 Internal Server Error",
  163: "5.03 Service Unavailable",
};

/** Describes a status code: `69 (2.05 Content)`. */
export function statusText(status: number): string {
  const name = _STATUS[status];
  return name ? `${status} (${name})` : String(status);
}

/** A device panel. */
export class DevicePanel {
  /** The panel's element (`data-role="device"`). */
  readonly element: HTMLElement;
  /** Responses, events and link errors. */
  readonly log: EventLog = new EventLog();
  readonly #options: DevicePanelOptions;
  readonly #url: HTMLInputElement;
  readonly #token: HTMLInputElement;
  readonly #status: HTMLElement;
  readonly #apps: HTMLElement;
  readonly #installName: HTMLInputElement;
  readonly #requestUrl: HTMLInputElement;
  readonly #action: HTMLSelectElement;
  readonly #payload: HTMLInputElement;
  readonly #eventUrl: HTMLInputElement;
  readonly #controls: HTMLFieldSetElement;
  #client: HostClient | undefined;

  /**
   * Builds the panel, disconnected.
   *
   * @param options the endpoint, the app to install and the response timeout
   */
  constructor(options: DevicePanelOptions) {
    this.#options = options;
    this.#url = h("input", {
      value: options.url ?? "ws://127.0.0.1:8889/",
      size: 28,
      "data-role": "device-url",
    });
    this.#token = h("input", { type: "password", size: 12, "data-role": "device-token" });
    this.#status = h("span", { class: "status", "data-role": "device-status" }, "not connected");
    this.#apps = h("ul", { class: "apps", "data-role": "device-apps" });
    this.#installName = h("input", { size: 14, "data-role": "install-name" });
    this.#requestUrl = h("input", { value: "/app/", size: 24, "data-role": "request-url" });
    this.#action = h(
      "select",
      { "data-role": "request-action" },
      ...["GET", "PUT", "POST", "DELETE"].map((a) => h("option", { value: a }, a)),
    );
    this.#payload = h("input", {
      size: 20,
      placeholder: '{"key": "value"}',
      "data-role": "request-payload",
    });
    this.#eventUrl = h("input", { value: "alert/overheat", size: 18, "data-role": "event-url" });
    this.#controls = h(
      "fieldset",
      { disabled: true, class: "device-controls" },
      h(
        "div",
        { class: "row" },
        h("button", { onclick: () => this.refresh(), "data-role": "device-refresh" }, "List apps"),
        field("name", this.#installName),
        h("button", { onclick: () => this.install(), "data-role": "device-install" }, "Install"),
      ),
      this.#apps,
      h(
        "div",
        { class: "row" },
        this.#action,
        this.#requestUrl,
        this.#payload,
        h("button", { onclick: () => this.request(), "data-role": "request-send" }, "Send"),
      ),
      h(
        "div",
        { class: "row" },
        field("event", this.#eventUrl),
        h(
          "button",
          { onclick: () => this.subscribe(), "data-role": "event-subscribe" },
          "Subscribe",
        ),
      ),
    );
    this.element = h(
      "section",
      { class: "panel device", "data-role": "device" },
      h("h2", {}, "Install on a device"),
      h(
        "div",
        { class: "row" },
        field("serve --ws at", this.#url),
        field("token", this.#token),
        h("button", { onclick: () => this.connect(), "data-role": "device-connect" }, "Connect"),
        h(
          "button",
          { onclick: () => this.disconnect(), "data-role": "device-disconnect" },
          "Disconnect",
        ),
      ),
      this.#status,
      this.#controls,
      this.log.element,
    );
  }

  /** Whether a link is open. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /**
   * Connects (closing an open link first) and lists the device's apps.
   *
   * @returns when connected and listed, or after reporting why not
   */
  async connect(): Promise<void> {
    this.disconnect();
    const url = this.#url.value.trim();
    this.#setStatus(`connecting to ${url}…`);
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.#fail(`Cannot connect to "${url}": ${(error as Error).message}`);
      return;
    }
    const transport = webSocketTransport(socket);
    const token = this.#token.value;
    const client = new HostClient(transport, {
      timeout: this.#options.timeout ?? 5000,
      ...(token !== "" ? { token } : {}),
    });
    try {
      await transport.opened;
      await client.ready;
    } catch (error) {
      client.close();
      this.#fail(
        `Cannot connect to "${url}": ${
          (error as Error).message.replace(/^The WebSocket/, "the WebSocket")
        }` +
          " (is serve --ws running there?)",
      );
      return;
    }
    this.#client = client;
    client.onEvent((event) => this.#onEvent(event));
    client.closed.then(() => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#controls.disabled = true;
      this.#fail(`The runtime at ${url} closed the link; connect again when it is back`);
    });
    this.#controls.disabled = false;
    this.#setStatus(`connected to ${url}`);
    this.log.add("link", `connected to ${url}`);
    await this.refresh();
  }

  /** Closes the link, if any. */
  disconnect(): void {
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    client.close();
    this.#controls.disabled = true;
    this.#apps.replaceChildren();
    this.#setStatus("not connected");
    this.log.add("link", "disconnected");
  }

  /** Queries the device's apps and lists them, each with an Uninstall button. */
  async refresh(): Promise<void> {
    const reply = await this.#call("query", (c) => c.query());
    if (!reply) return;
    const names = _appNames(reply.container);
    this.#apps.replaceChildren(
      ...names.map((name) =>
        h(
          "li",
          { "data-app": name },
          h("span", {}, name),
          h("button", {
            onclick: () => this.uninstall(name),
            "data-role": "device-uninstall",
          }, "Uninstall"),
        )
      ),
    );
    if (names.length === 0) this.#apps.append(h("li", { class: "empty" }, "no apps installed"));
  }

  /** Installs the page's app under the name in the name field (default: its own). */
  async install(): Promise<void> {
    const app = this.#options.app();
    if (!app) {
      this.log.add("error", "Load an app first: there is nothing to install");
      return;
    }
    const name = this.#installName.value.trim() || app.name;
    const reply = await this.#call(`install "${name}"`, (c) => c.install(name, app.bytes));
    if (reply) await this.refresh();
  }

  /**
   * Uninstalls an app.
   *
   * @param name the app
   */
  async uninstall(name: string): Promise<void> {
    const reply = await this.#call(`uninstall "${name}"`, (c) => c.uninstall(name));
    if (reply) await this.refresh();
  }

  /** Sends the request in the form. */
  async request(): Promise<void> {
    const url = this.#requestUrl.value.trim();
    const action = this.#action.value as "GET" | "PUT" | "POST" | "DELETE";
    let payload: AttrContainer | undefined;
    if (this.#payload.value.trim() !== "") {
      try {
        payload = fromJSON(JSON.parse(this.#payload.value));
      } catch (error) {
        this.log.add("error", `The payload is not a JSON object: ${(error as Error).message}`);
        return;
      }
    }
    await this.#call(`${action} ${url}`, (c) => c.request(url, action, payload));
  }

  /** Subscribes to the event in the form; its events go to the log. */
  async subscribe(): Promise<void> {
    const url = this.#eventUrl.value.trim();
    await this.#call(`subscribe ${url}`, (c) => c.subscribe(url, () => {}));
  }

  /**
   * Fills the name field (the page does it when an app is loaded).
   *
   * @param name the default install name
   */
  suggestName(name: string): void {
    this.#installName.value = name;
  }

  async #call(
    what: string,
    send: (client: HostClient) => Promise<HostResponse>,
  ): Promise<HostResponse | undefined> {
    const client = this.#client;
    if (!client) {
      this.log.add("error", `Not connected: connect to a runtime before "${what}"`);
      return undefined;
    }
    this.log.add("request", what);
    try {
      const reply = await send(client);
      const body = reply.container ? " " + formatHostToolJSON(reply.container) : "";
      const ok = reply.status >= 64 && reply.status < 128;
      this.log.add(ok ? "response" : "error", `${what}: ${statusText(reply.status)}${body}`);
      return ok ? reply : undefined;
    } catch (error) {
      this.log.add("error", `${what} failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  #onEvent(event: HostEvent): void {
    const body = event.container ? " " + formatHostToolJSON(event.container) : "";
    this.log.add("event", `${event.url}${body}`);
  }

  #setStatus(text: string): void {
    this.#status.textContent = text;
    this.#status.classList.remove("error");
  }

  #fail(message: string): void {
    this.#setStatus(message);
    this.#status.classList.add("error");
    this.log.add("error", message);
  }
}

/** The names in a query reply: `applet1`, `applet2`… */
function _appNames(container: AttrContainer | undefined): string[] {
  const names: string[] = [];
  const count = Number(container?.get("num")?.value ?? 0);
  for (let i = 1; i <= count; i++) {
    const name = container?.get(`applet${i}`)?.value;
    if (typeof name === "string") names.push(name);
  }
  return names;
}
