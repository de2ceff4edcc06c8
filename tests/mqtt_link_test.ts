// The MQTT link (core/host_link/mqtt_link.ts) end to end: real `serve` processes, Debian's
// Mosquitto with auth and an ACL, and an operator client on MQTT.js.
import assert from "node:assert/strict";
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { example, serve, type ServeProcess } from "./_serve.ts";
import { type Mosquitto, startMosquitto } from "./_mosquitto.ts";
import {
  Action,
  decodeResponse,
  encodeRequest,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  type Response,
} from "../sdk/packet.ts";
import { AttrContainer, decode, encode } from "../sdk/attr_container.ts";
import { CLANG, clangArgs, SDK_SOURCES } from "../sdk/c/build.ts";
import { selfSignedCertificate } from "./_tls.ts";
import { ManualClock } from "../sdk/clock.ts";
import { HostService, runServe } from "../core/cli/serve_command.ts";
import { FleetClient, queryRequest } from "../core/host_link/fleet_client.ts";
import { wat } from "./_wat.ts";

const DEVICE = "dev1";
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;
const REQUEST_HANDLER = example("request_handler/request_handler");

/** An operator on the broker: sends request packets to a device and reads what comes back. */
class Operator {
  readonly client: MqttClient;
  readonly responses: { response: Response; correlation: string | undefined }[] = [];
  readonly statuses: Record<string, unknown>[] = [];
  /** Events seen on `…/ev/…` topics the operator subscribed to. */
  readonly events: { topic: string; payload: Uint8Array; fmt: string | undefined }[] = [];
  #changed: (() => void)[] = [];
  #next = 1;

  constructor(client: MqttClient, device: string) {
    this.client = client;
    client.on("message", (topic, payload, packet) => {
      if (topic === `mr/${device}/res`) {
        const data = packet.properties?.correlationData;
        this.responses.push({
          response: decodeResponse(new Uint8Array(payload)),
          correlation: data ? new TextDecoder().decode(data) : undefined,
        });
      } else if (topic === `mr/${device}/status`) {
        this.statuses.push(JSON.parse(new TextDecoder().decode(payload)));
      } else if (topic.includes("/ev/")) {
        const fmt = packet.properties?.userProperties?.fmt;
        this.events.push({
          topic,
          payload: new Uint8Array(payload),
          fmt: Array.isArray(fmt) ? fmt[0] : fmt,
        });
      }
      this.#changed.splice(0).forEach((f) => f());
    });
  }

  static async connect(
    broker: Mosquitto,
    device = DEVICE,
    options: IClientOptions = { reconnectPeriod: 0 },
  ): Promise<Operator> {
    const client = await connectAsync(broker.url, {
      protocolVersion: 5,
      username: broker.operator.username,
      password: broker.operator.password,
      ...options,
    });
    const operator = new Operator(client, device);
    await client.subscribeAsync([`mr/${device}/res`, `mr/${device}/status`], { qos: 1 });
    return operator;
  }

  /** Publishes raw bytes on the device's `req` topic with a fresh correlation id. */
  async publish(
    bytes: Uint8Array,
    device = DEVICE,
    userProperties?: Record<string, string>,
  ): Promise<string> {
    const correlation = `c${this.#next++}`;
    await this.client.publishAsync(`mr/${device}/req`, bytes as never, {
      qos: 1,
      properties: {
        correlationData: new TextEncoder().encode(correlation) as never,
        ...(userProperties ? { userProperties } : {}),
      },
    });
    return correlation;
  }

  /** Waits for the response that carries a correlation id. */
  async answer(correlation: string): Promise<Response> {
    return (await this.until(() => this.responses.find((r) => r.correlation === correlation)))
      .response;
  }

  /** Sends a request packet and waits for the response that carries its correlation data. */
  async ask(
    url: string,
    action: number,
    mid: number,
    payload?: Uint8Array,
    fmt = 0,
  ): Promise<Response> {
    const correlation = await this.publish(
      encodeRequest({ action, fmt, mid, sender: 0, url, payload }),
    );
    return (await this.until(() => this.responses.find((r) => r.correlation === correlation)))
      .response;
  }

  /** Resolves with `find()`'s first defined result (fails after 15 s). */
  async until<T>(find: () => T | undefined, within = 15_000): Promise<T> {
    const deadline = Date.now() + within;
    while (true) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`Timed out; statuses ${JSON.stringify(this.statuses)}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#changed.push(resolve);
        timer = setTimeout(resolve, deadline - Date.now());
      });
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

async function passwordFile(password: string): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "mqtt_password_" });
  await Deno.writeTextFile(file, password + "\n");
  return file;
}

function deviceArgs(broker: Mosquitto, passwordPath: string): string[] {
  return [
    "--mqtt",
    broker.url,
    "--device-id",
    DEVICE,
    "--mqtt-username",
    DEVICE,
    "--mqtt-password-file",
    passwordPath,
  ];
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name:
    "mqtt_link: serve --mqtt installs, queries and answers requests through Mosquitto, with a retained status and a last will",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const device = await serve(deviceArgs(broker, password));
    const operators: Operator[] = [];
    try {
      await device.waitFor(/MQTT link connected to mqtt:\/\/127\.0\.0\.1:\d+ as mr\/dev1/);
      const operator = await Operator.connect(broker);
      operators.push(operator);

      // The retained status is there for a subscriber that comes later.
      const first = await operator.until(() => operator.statuses.find((s) => s.state));
      assert.equal(first.device, DEVICE);
      assert.equal(first.state, "online");
      assert.match(String(first.runtime), /^micro-runtime \d+\.\d+\.\d+$/);
      assert.deepEqual(first.apps, []);

      const install = await operator.ask(
        "/applet?name=request_handler",
        Action.PUT,
        7,
        REQUEST_HANDLER,
        FMT_APP_RAW_BINARY,
      );
      assert.equal(install.status, 65); // CREATED_2_01
      assert.equal(install.mid, 7);

      // The same install again (what a QoS 1 redelivery looks like): answered the same,
      // installed once.
      const again = await operator.ask(
        "/applet?name=request_handler",
        Action.PUT,
        8,
        REQUEST_HANDLER,
        FMT_APP_RAW_BINARY,
      );
      assert.equal(again.status, 65);
      assert.equal(again.mid, 8);

      const query = await operator.ask("/applet", Action.GET, 9);
      assert.equal(query.status, 69); // CONTENT_2_05
      const listing = decode(query.payload!);
      assert.equal(listing.get("num")?.value, 1);
      assert.equal(listing.get("applet1")?.value, "request_handler");
      assert.equal(device.out.match(/Install WASM app success!/g)?.length, 1, device.out);
      assert.match(device.out, /MQTT install of "request_handler" repeated with the same content/);

      const reply = await operator.ask("/app/request_handler/url1", Action.GET, 10);
      assert.equal(reply.status, 69);
      assert.equal(reply.mid, 10);
      assert.equal(decode(reply.payload!).get("key1")?.value, "value1");

      // A different app under the same name is not mistaken for a redelivery.
      const other = await operator.ask(
        "/applet?name=request_handler",
        Action.PUT,
        11,
        example("event_publisher/event_publisher"),
        FMT_APP_RAW_BINARY,
      );
      assert.equal(other.status, 160); // INTERNAL_SERVER_ERROR_5_00: the name is taken

      // The status was republished with the app, its content hash and its memory.
      const hash = await sha256(REQUEST_HANDLER);
      const withApp = await operator.until(() =>
        operator.statuses.find((s) => Array.isArray(s.apps) && s.apps.length === 1)
      );
      const app = (withApp.apps as Record<string, unknown>[])[0]!;
      assert.deepEqual([app.name, app.status, app.hash], ["request_handler", "running", hash]);
      assert.ok(Number(app.memory) >= 65536, JSON.stringify(app));
      assert.deepEqual(withApp.suspended, []);
      assert.ok((withApp.memory as { rss: number }).rss > 0);

      // A latecomer reads the retained status with the app in it.
      const latecomer = await Operator.connect(broker);
      operators.push(latecomer);
      const retained = await latecomer.until(() => latecomer.statuses[0]);
      assert.equal((retained.apps as { hash: string }[])[0]?.hash, hash);

      // The device dies without a word: the broker publishes its last will.
      await device.stop("SIGKILL");
      const gone = await operator.until(() => operator.statuses.find((s) => s.state === "offline"));
      assert.deepEqual(gone, { device: DEVICE, state: "offline" });
    } finally {
      for (const operator of operators) await operator.close();
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
    }
  },
});

Deno.test({
  name:
    "mqtt_link: bad packets, oversize packets and event subscriptions get error answers, and SIGTERM publishes offline",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const device = await serve([...deviceArgs(broker, password), "--max-payload", "4096"]);
    let operator: Operator | undefined;
    try {
      await device.waitFor(/MQTT link connected/);
      operator = await Operator.connect(broker);
      const op = operator;

      // A packet of version 9: the mid is still read, so the answer reaches its asker.
      const bad = new Uint8Array(16);
      const view = new DataView(bad.buffer);
      view.setUint8(0, 9);
      view.setUint32(4, 4242);
      const badCorrelation = await op.publish(bad);
      const badReply = await op.until(() =>
        op.responses.find((r) => r.correlation === badCorrelation)
      );
      assert.equal(badReply.response.status, 128); // BAD_REQUEST_4_00
      assert.equal(badReply.response.mid, 4242);
      assert.match(String(decode(badReply.response.payload!).get("error message")?.value), /9/);

      const big = await op.ask(
        "/applet?name=big",
        Action.PUT,
        5,
        new Uint8Array(8192),
        FMT_APP_RAW_BINARY,
      );
      assert.equal(big.status, 141); // REQUEST_ENTITY_TOO_LARGE_4_13
      assert.equal(big.mid, 5);

      const event = await op.ask("/event/alert/overheat", Action.PUT, 6);
      assert.equal(event.status, 161); // NOT_IMPLEMENTED_5_01
      assert.equal(
        decode(event.payload!).get("error message")?.value,
        "Event subscriptions over MQTT are topics: the device bridges none (serve --mqtt-events)",
      );

      // Still serving: a query answers.
      assert.equal((await op.ask("/applet", Action.GET, 7)).status, 69);

      // A clean stop sends no last will: the device says offline itself.
      assert.equal((await device.stop("SIGTERM")).code, 0, device.err);
      const gone = await op.until(() => op.statuses.find((s) => s.state === "offline"));
      assert.deepEqual(gone, { device: DEVICE, state: "offline" });
    } finally {
      await operator?.close();
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
    }
  },
});

Deno.test({
  name:
    "mqtt_link: wrong broker credentials print one clear error and serve keeps serving its TCP link",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile("not-the-password");
    const device = await serve(deviceArgs(broker, password));
    try {
      const deadline = Date.now() + 15_000;
      while (!/refused device/.test(device.err) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const client = await device.connect();
      const reply = await client.query();
      assert.equal(reply.status, 69);
      // Past the 2 s retry of other failures: still one line, and one attempt at the broker.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const lines = device.err.split("\n").filter((line) => /MQTT/.test(line));
      assert.equal(lines.length, 1, device.err);
      assert.match(
        lines[0]!,
        /^MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ refused device "dev1": .*Not authorized \(reason 135\); check --mqtt-username and --mqtt-password-file/,
      );
      assert.doesNotMatch(device.err, /not-the-password/);
      // After a refusal the device retries only every 30 s (not every 2): one attempt so far.
      assert.equal(broker.log().match(/not authorised/g)?.length, 1, broker.log());
    } finally {
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
    }
  },
});

Deno.test("serve: --mqtt needs --device-id, and MQTT flags need --mqtt", async () => {
  const errors: string[] = [];
  const stderr = (text: string) => errors.push(text);
  assert.equal(await runServe(["--mqtt", "mqtt://127.0.0.1:1883"], { stderr }), 2);
  assert.equal(await runServe(["--device-id", "d"], { stderr }), 2);
  assert.equal(
    await runServe(["--mqtt", "http://127.0.0.1", "--device-id", "d"], { stderr }),
    2,
  );
  assert.equal(
    await runServe(["--mqtt", "mqtt://127.0.0.1:1883", "--device-id", "a/#"], { stderr }),
    2,
  );
  assert.deepEqual(errors, [
    "serve: Give --device-id with --mqtt. Run with --help for usage.\n",
    "serve: --device-id, --mqtt-prefix, --mqtt-username and --mqtt-password-file need --mqtt. " +
    "Run with --help for usage.\n",
    'serve: Invalid value for --mqtt: "http://127.0.0.1" (expected mqtt://HOST:PORT or ' +
    "mqtts://HOST:PORT). Run with --help for usage.\n",
    'serve: Invalid value for --device-id: "a/#" (expected a topic level without "/", "+" or ' +
    '"#"). Run with --help for usage.\n',
  ]);
});

Deno.test("serve: --mqtt-events takes event URLs and prefixes; TLS files need --mqtt and go in pairs", async () => {
  const errors: string[] = [];
  const stderr = (text: string) => errors.push(text);
  const mqtt = ["--mqtt", "mqtt://127.0.0.1:1883", "--device-id", "d"];
  assert.equal(await runServe([...mqtt, "--mqtt-events", "alert/,sensor/#"], { stderr }), 2);
  assert.equal(await runServe([...mqtt, "--mqtt-events", "alert/,,x"], { stderr }), 2);
  assert.equal(await runServe(["--mqtt-events", "alert/"], { stderr }), 2);
  assert.equal(await runServe(["--mqtt-ca", "ca.pem"], { stderr }), 2);
  assert.equal(await runServe([...mqtt, "--mqtt-cert", "c.pem"], { stderr }), 2);
  assert.equal(
    await runServe([...mqtt, "--mqtt-ca", "/nonexistent/ca.pem"], { stderr }),
    1,
  );
  assert.deepEqual(errors.slice(0, 5), [
    'serve: Invalid value for --mqtt-events: "alert/,sensor/#" (expected event URLs or prefixes ' +
    'ending in "/", comma-separated, without "+" or "#"). Run with --help for usage.\n',
    'serve: Invalid value for --mqtt-events: "alert/,,x" (expected event URLs or prefixes ' +
    'ending in "/", comma-separated, without "+" or "#"). Run with --help for usage.\n',
    "serve: --mqtt-events, --mqtt-ca, --mqtt-cert and --mqtt-key need --mqtt. " +
    "Run with --help for usage.\n",
    "serve: --mqtt-events, --mqtt-ca, --mqtt-cert and --mqtt-key need --mqtt. " +
    "Run with --help for usage.\n",
    "serve: Give --mqtt-cert and --mqtt-key together. Run with --help for usage.\n",
  ]);
  assert.match(errors[5]!, /Cannot read --mqtt-ca "\/nonexistent\/ca\.pem"/);
});

Deno.test({
  name:
    "mqtt_link: an install of the bytes an app already runs answers 65 without installing; after an uninstall they install again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE, "dev2"]);
    const lines: string[] = [];
    const logs: string[] = [];
    const service = await HostService.start({
      listen: false,
      stdout: (bytes) => lines.push(new TextDecoder().decode(bytes)),
      // Installed by another way than MQTT: --app, the TCP link or the state directory.
      apps: [{ name: "request_handler", bytes: REQUEST_HANDLER }],
      mqtt: {
        url: broker.url,
        deviceId: DEVICE,
        username: DEVICE,
        password: broker.devices[DEVICE]!.password,
        log: (level, message) => logs.push(`${level}: ${message}`),
      },
    });
    let operator: Operator | undefined;
    let intruder: MqttClient | undefined;
    try {
      operator = await Operator.connect(broker);
      const op = operator;
      await op.until(() => op.statuses.find((s) => Array.isArray(s.apps) && s.apps.length === 1));
      const installs = () => lines.join("").match(/Install WASM app success!/g)?.length ?? 0;
      assert.equal(installs(), 1);

      const same = await op.ask(
        "/applet?name=request_handler",
        Action.PUT,
        1,
        REQUEST_HANDLER,
        FMT_APP_RAW_BINARY,
      );
      assert.deepEqual([same.status, same.mid, installs()], [65, 1, 1]);

      // Two copies at once (the second before the first is answered): one install.
      const [a, b] = await Promise.all([
        op.ask("/applet?name=twin", Action.PUT, 2, REQUEST_HANDLER, FMT_APP_RAW_BINARY),
        op.ask("/applet?name=twin", Action.PUT, 3, REQUEST_HANDLER, FMT_APP_RAW_BINARY),
      ]);
      assert.deepEqual([a.status, a.mid, b.status, b.mid], [65, 2, 65, 3]);
      assert.equal(installs(), 2);

      assert.equal((await op.ask("/applet?name=twin", Action.DELETE, 4)).status, 66);
      const back = await op.ask(
        "/applet?name=twin",
        Action.PUT,
        5,
        REQUEST_HANDLER,
        FMT_APP_RAW_BINARY,
      );
      assert.equal(back.status, 65);
      assert.equal(installs(), 3);
      assert.equal(service.manager.apps.length, 2);

      // The broker's ACL keeps a device to its own topics.
      intruder = await connectAsync(broker.url, {
        protocolVersion: 5,
        username: "dev2",
        password: broker.devices.dev2!.password,
        reconnectPeriod: 0,
      });
      const overheard: string[] = [];
      intruder.on("message", (topic) => overheard.push(topic));
      await intruder.subscribeAsync(`mr/${DEVICE}/req`, { qos: 1 });
      await assert.rejects(
        intruder.publishAsync(
          `mr/${DEVICE}/req`,
          encodeRequest({
            action: Action.DELETE,
            fmt: 0,
            mid: 99,
            sender: 0,
            url: "/applet?name=twin",
            payload: undefined,
          }) as never,
          { qos: 1 },
        ),
        /Not authorized/, // PUBACK reason 135
      );
      // Answered after the intruder's publish was taken: the device never saw that one.
      assert.equal((await op.ask("/applet", Action.GET, 6)).status, 69);
      assert.deepEqual(op.responses.map((r) => r.response.mid), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(overheard, []);
      assert.equal(service.manager.apps.length, 2);
      assert.ok(logs.some((line) => /^info: MQTT link connected/.test(line)), logs.join("\n"));
      assert.ok(!logs.some((line) => /^error/.test(line)), logs.join("\n"));
    } finally {
      await intruder?.endAsync(true);
      await operator?.close();
      await service.shutdown();
      await broker.stop();
    }
  },
});

Deno.test({
  name:
    "mqtt_link: a device restarted with --state-dir republishes its apps, and an install sent again after the crash installs nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const stateDir = await Deno.makeTempDir({ prefix: "mqtt_state_" });
    const args = [...deviceArgs(broker, password), "--state-dir", stateDir];
    let device = await serve(args);
    let operator: Operator | undefined;
    try {
      await device.waitFor(/MQTT link connected/);
      operator = await Operator.connect(broker);
      const op = operator;
      const install = () =>
        op.ask("/applet?name=request_handler", Action.PUT, 1, REQUEST_HANDLER, FMT_APP_RAW_BINARY);
      assert.equal((await install()).status, 65);
      await device.stop("SIGKILL");
      await op.until(() => op.statuses.find((s) => s.state === "offline"));
      // Only statuses of the restarted device count (the killed one may have died before
      // publishing the status with the app).
      const seen = op.statuses.length;

      device = await serve(args);
      await device.waitFor(/MQTT link connected/);
      const back = await op.until(() =>
        op.statuses.slice(seen).find((s) => s.state === "online" && Array.isArray(s.apps))
      );
      assert.equal((back.apps as { name: string }[])[0]?.name, "request_handler");
      // What the operator's retry after the crash looks like: the same bytes under the name.
      const again = await install();
      assert.equal(again.status, 65);
      // Once: the state directory's restore, before the link was up.
      assert.equal(device.out.match(/Install WASM app success!/g)?.length, 1, device.out);
      assert.equal((await op.ask("/app/request_handler/url1", Action.GET, 2)).status, 69);
    } finally {
      await operator?.close();
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

/** Resolves once `find()` returns true (fails after `within` ms with `what`). */
async function until(find: () => boolean, what: () => string, within = 15_000): Promise<void> {
  const deadline = Date.now() + within;
  while (!find()) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const OVERHEAT = new AttrContainer("event").setString("warning", "temperature is over high");

Deno.test({
  name:
    "mqtt_link: events of allowed URLs go out on <prefix>/<id>/ev/<url> with their format, come in to subscribed apps once, and nothing else crosses",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE, "dev2"]);
    const lines: string[] = [];
    const logs: string[] = [];
    const service = await HostService.start({
      listen: false,
      stdout: (bytes) => lines.push(new TextDecoder().decode(bytes)),
      apps: [{ name: "event_subscriber", bytes: example("event_subscriber/event_subscriber") }],
      mqtt: {
        url: broker.url,
        deviceId: DEVICE,
        username: DEVICE,
        password: broker.devices[DEVICE]!.password,
        events: ["alert/", "sensor/temp"],
        maxPayload: 4096,
        log: (level, message) => logs.push(`${level}: ${message}`),
      },
    });
    let operator: Operator | undefined;
    try {
      operator = await Operator.connect(broker);
      const op = operator;
      // No Local: the operator's own publishes below are not in `op.events`.
      await op.client.subscribeAsync("mr/+/ev/#", { qos: 1, nl: true });
      // The status is published after the device's subscriptions: they are in place.
      const status = await op.until(() => op.statuses.find((s) => s.state === "online"));
      assert.deepEqual(status.events, ["alert/", "sensor/temp"]);
      const handled = () =>
        lines.join("").match(/### user over heat event handler called/g)?.length ?? 0;
      const fromBroker = (device: string, url: string, payload: Uint8Array, fmt?: string) =>
        op.client.publishAsync(`mr/${device}/ev/${url}`, payload as never, {
          qos: 1,
          ...(fmt !== undefined ? { properties: { userProperties: { fmt } } } : {}),
        });

      // Another device's event reaches the subscribed app, payload and format intact.
      await fromBroker("dev2", "alert/overheat", encode(OVERHEAT), String(FMT_ATTR_CONTAINER));
      await until(() => handled() === 1, () => lines.join(""));
      await until(() => /temperature is over high/.test(lines.join("")), () => lines.join(""));

      // One that claims to come from this device is not taken (a device does not hear itself),
      // nor one too big; the next good one is.
      await fromBroker(DEVICE, "alert/overheat", encode(OVERHEAT), "99");
      await fromBroker("dev2", "alert/overheat", new Uint8Array(8192), "98");
      await fromBroker("dev2", "alert/overheat", new Uint8Array(0));
      await until(() => handled() === 2, () => lines.join(""));
      assert.ok(
        logs.includes(
          'error: MQTT event "alert/overheat" from device "dev2" dropped: 8192 bytes exceeds the ' +
            "limit of 4096",
        ),
        logs.join("\n"),
      );

      // Events published on the device (here by the host, as apps do): only allowed URLs go
      // out, in order, with their format; the local subscriber gets its event once.
      const publish = (url: string, fmt: number, payload?: Uint8Array) =>
        service.manager.fromHost({ action: Action.EVENT, fmt, mid: 0, sender: 0, url, payload });
      publish("private/x", FMT_APP_RAW_BINARY, new Uint8Array([1]));
      publish("sensor/temp2", FMT_APP_RAW_BINARY, new Uint8Array([2]));
      publish("sensor/temp", FMT_APP_RAW_BINARY, new Uint8Array([3]));
      publish("alert", FMT_APP_RAW_BINARY, new Uint8Array([4]));
      publish("alert/overheat", FMT_ATTR_CONTAINER, encode(OVERHEAT));
      await op.until(() => op.events.length >= 2 ? true : undefined);
      // A device event after them: had anything else gone out, it would be here by now.
      await fromBroker("dev2", "alert/overheat", new Uint8Array(0));
      await until(() => handled() === 4, () => lines.join(""));
      assert.deepEqual(
        op.events.filter((e) => e.topic.startsWith(`mr/${DEVICE}/`)).map((e) => [
          e.topic,
          e.fmt,
          e.payload.length,
        ]),
        [
          [`mr/${DEVICE}/ev/sensor/temp`, "98", 1],
          [`mr/${DEVICE}/ev/alert/overheat`, "99", encode(OVERHEAT).length],
        ],
      );
      assert.equal(
        decode(
          op.events.find((e) => e.topic.endsWith("alert/overheat") && e.fmt === "99")!
            .payload,
        ).get("warning")?.value,
        "temperature is over high",
      );
      assert.ok(
        !logs.some((line) => /^error: MQTT (subscribe|broker)/.test(line)),
        logs.join("\n"),
      );
    } finally {
      await operator?.close();
      await service.shutdown();
      await broker.stop();
    }
  },
});

Deno.test({
  name:
    "mqtt_link: an app on one serve process publishes an event that an app on another gets through the broker",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto(["devA", "devB"]);
    const files: string[] = [];
    const devices: ServeProcess[] = [];
    try {
      for (const [id, app] of [["devB", "event_subscriber"], ["devA", "event_publisher"]]) {
        const password = await passwordFile(broker.devices[id!]!.password);
        files.push(password);
        devices.push(
          await serve([
            "--mqtt",
            broker.url,
            "--device-id",
            id!,
            "--mqtt-username",
            id!,
            "--mqtt-password-file",
            password,
            "--mqtt-events",
            "alert/",
            "--app",
            `${app}=${EXAMPLES}${app}/${app}.wasm`,
          ]),
        );
        await devices.at(-1)!.waitFor(/MQTT link connected .*events "alert\/" bridged/);
      }
      // event_publisher publishes alert/overheat every second; event_subscriber dumps it.
      const subscriber = devices[0]!;
      await subscriber.waitFor(/### user over heat event handler called/);
      await subscriber.waitFor(/temperature is over high/);
      assert.doesNotMatch(subscriber.err + devices[1]!.err, /MQTT/);
    } finally {
      for (const device of devices) await device.stop();
      await broker.stop();
      for (const file of files) await Deno.remove(file);
    }
  },
});

/** Builds tests/fixtures/event_flood.c with the SDK's flags. */
async function eventFlood(): Promise<string> {
  const output = await Deno.makeTempFile({ prefix: "event_flood_", suffix: ".wasm" });
  const args = clangArgs({
    dir: "../tests/fixtures",
    name: "event_flood",
    main: false,
    functions: [],
    extraImports: [],
    sdkSources: SDK_SOURCES,
  });
  const { success, stderr } = await new Deno.Command(CLANG, {
    args: [...args, "-o", output],
    cwd: new URL("..", import.meta.url).pathname,
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  return output;
}

Deno.test({
  name:
    "mqtt_link: an app flooding events gets 10,000 a second out, the rest dropped with collapsing lines, and the device keeps answering",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const flood = await eventFlood();
    let operator: Operator | undefined;
    const device = await serve([
      ...deviceArgs(broker, password),
      "--mqtt-events",
      "alert/",
      "--app",
      `request_handler=${EXAMPLES}request_handler/request_handler.wasm`,
    ]);
    try {
      await device.waitFor(/MQTT link connected/);
      operator = await Operator.connect(broker);
      const op = operator;
      await op.client.subscribeAsync(`mr/${DEVICE}/ev/#`, { qos: 0 });
      const client = await device.connect();
      const install = await client.install("flood", Deno.readFileSync(flood));
      assert.equal(install.status, 65);
      const started = Date.now();
      await until(
        () => /not sent: more than 10000 events a second/.test(device.err),
        () => device.err,
      );
      // While it floods, the device answers over MQTT and over TCP.
      for (let mid = 1; mid <= 3; mid++) {
        const reply = await op.ask("/app/request_handler/url1", Action.GET, mid);
        assert.equal(reply.status, 69);
        assert.equal((await client.request("/app/request_handler/url1", Action.GET)).status, 69);
      }
      await until(
        () => /… repeated \d+ times: MQTT event "alert\/flood" not sent/.test(device.err),
        () => device.err,
      );
      const seconds = (Date.now() - started) / 1000;
      const sent = op.events.length;
      assert.ok(sent > 0 && sent <= 10_000 * (Math.ceil(seconds) + 1), `${sent} in ${seconds} s`);
      assert.ok(
        op.events.every((e) => e.topic === `mr/${DEVICE}/ev/alert/flood` && e.fmt === "98"),
      );
      // Collapsed: a few lines a second, not one per dropped event.
      const dropLines = device.err.split("\n").filter((line) => /not sent/.test(line)).length;
      assert.ok(dropLines <= 12 * (Math.ceil(seconds) + 1), `${dropLines} lines in ${seconds} s`);
      assert.equal((await client.uninstall("flood")).status, 66);
    } finally {
      await operator?.close();
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
      await Deno.remove(flood);
    }
  },
});

Deno.test({
  name:
    "mqtt_link: a broker restart is survived: an install published while it is down lands once, and the status is republished",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const device = await serve(deviceArgs(broker, password));
    let operator: Operator | undefined;
    try {
      await device.waitFor(/MQTT link connected/);
      // A persistent session on the operator's side too: its queued publish and the answer
      // to it survive the restart.
      operator = await Operator.connect(broker, DEVICE, {
        clientId: `operator-${crypto.randomUUID()}`,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
        reconnectPeriod: 200,
      });
      const op = operator;
      await op.until(() => op.statuses.find((s) => s.state === "online"));
      let sent: Promise<string> | undefined;
      await broker.restart(async () => {
        await until(() => /MQTT link to .* lost; reconnecting/.test(device.err), () => device.err);
        const before = op.statuses.length;
        // Published while the broker is down: MQTT.js keeps it and sends it on reconnect.
        sent = op.publish(encodeRequest({
          action: Action.PUT,
          fmt: FMT_APP_RAW_BINARY,
          mid: 31,
          sender: 0,
          url: "/applet?name=request_handler",
          payload: REQUEST_HANDLER,
        }));
        return before;
      });
      const install = await op.answer(await sent!);
      assert.deepEqual([install.status, install.mid], [65, 31]);
      assert.equal(device.out.match(/MQTT link connected/g)?.length, 2, device.out);
      // The status after the reconnect, with the app.
      await op.until(() =>
        op.statuses.find((s) =>
          s.state === "online" &&
          (s.apps as { name: string }[]).some((a) => a.name === "request_handler")
        )
      );
      assert.equal((await op.ask("/app/request_handler/url1", Action.GET, 32)).status, 69);
      // Twice over (a redelivery after the restart) would still install once.
      assert.equal(device.out.match(/Install WASM app success!/g)?.length, 1, device.out);
      assert.deepEqual(
        op.responses.map((r) => r.response.mid),
        [31, 32],
      );
    } finally {
      await operator?.close();
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
    }
  },
});

Deno.test({
  name:
    "mqtt_link: mqtts with --mqtt-ca and a client certificate connects; without the CA one clear TLS error line and TCP still serves",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await selfSignedCertificate();
    const clientCert = await selfSignedCertificate();
    const broker = await startMosquitto([DEVICE], {
      tls: {
        certFile: server.certFile,
        keyFile: server.keyFile,
        clientCaFile: clientCert.certFile,
      },
    });
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const tlsArgs = [
      "--mqtt",
      broker.tlsUrl!,
      "--device-id",
      DEVICE,
      "--mqtt-username",
      DEVICE,
      "--mqtt-password-file",
      password,
      "--mqtt-cert",
      clientCert.certFile,
      "--mqtt-key",
      clientCert.keyFile,
    ];
    const devices: ServeProcess[] = [];
    let operator: Operator | undefined;
    try {
      const trusted = await serve([...tlsArgs, "--mqtt-ca", server.certFile]);
      devices.push(trusted);
      await trusted.waitFor(/MQTT link connected to mqtts:\/\/127\.0\.0\.1:\d+ as mr\/dev1/);
      operator = await Operator.connect(broker);
      const reply = await operator.ask("/applet", Action.GET, 41);
      assert.deepEqual([reply.status, reply.mid], [69, 41]);
      await trusted.stop();

      const untrusted = await serve(tlsArgs);
      devices.push(untrusted);
      await until(() => /failed TLS/.test(untrusted.err), () => untrusted.err);
      assert.equal((await (await untrusted.connect()).query()).status, 69);
      const lines = untrusted.err.split("\n").filter((line) => /MQTT/.test(line));
      assert.equal(lines.length, 1, untrusted.err);
      assert.match(
        lines[0]!,
        /^MQTT broker mqtts:\/\/127\.0\.0\.1:\d+ failed TLS with device "dev1": self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); check --mqtt-ca, --mqtt-cert and --mqtt-key \(retrying every 30 s; other links are still served\)$/,
      );
    } finally {
      await operator?.close();
      for (const device of devices) await device.stop();
      await broker.stop();
      await Deno.remove(password);
      for (const cert of [server, clientCert]) await Deno.remove(cert.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "mqtt_link: garbage, a truncated packet, a request for another device and an oversize install get clear answers; the installed app stays and serves",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const password = await passwordFile(broker.devices[DEVICE]!.password);
    const limit = REQUEST_HANDLER.length + 1024;
    const device = await serve([...deviceArgs(broker, password), "--max-payload", String(limit)]);
    let operator: Operator | undefined;
    try {
      await device.waitFor(/MQTT link connected/);
      operator = await Operator.connect(broker);
      const op = operator;
      const installPacket = (mid: number, name: string, payload = REQUEST_HANDLER) =>
        encodeRequest({
          action: Action.PUT,
          fmt: FMT_APP_RAW_BINARY,
          mid,
          sender: 0,
          url: `/applet?name=${name}`,
          payload,
        });
      const errorOf = (response: Response) =>
        String(decode(response.payload!).get("error message")?.value);
      assert.equal(
        (await op.answer(await op.publish(installPacket(1, "request_handler")))).status,
        65,
      );

      // Five bytes: no mid to answer to; logged.
      await op.publish(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00]));
      // An install cut short: the mid is there, so it is answered.
      const truncated = await op.answer(await op.publish(installPacket(2, "cut").subarray(0, 40)));
      assert.deepEqual([truncated.status, truncated.mid], [128, 2]); // BAD_REQUEST_4_00
      // Meant for another device (a misrouted topic, a wrong fleet pattern): nothing done.
      for (
        const [mid, packet] of [
          [3, installPacket(3, "intruder")],
          [
            4,
            encodeRequest({
              action: Action.DELETE,
              fmt: 0,
              mid: 4,
              sender: 0,
              url: "/applet?name=request_handler",
              payload: undefined,
            }),
          ],
        ] as const
      ) {
        const wrong = await op.answer(await op.publish(packet, DEVICE, { device: "dev9" }));
        assert.deepEqual([wrong.status, wrong.mid], [128, mid]);
        assert.equal(
          errorOf(wrong),
          'Request for device "dev9" reached device "dev1" on mr/dev1/req; nothing done',
        );
      }
      const oversize = await op.answer(
        await op.publish(installPacket(5, "big", new Uint8Array(limit + 1))),
      );
      assert.deepEqual([oversize.status, oversize.mid], [141, 5]); // REQUEST_ENTITY_TOO_LARGE_4_13
      assert.match(errorOf(oversize), new RegExp(`exceeds the limit of ${limit}$`));
      // Naming this device is fine.
      const named = await op.answer(
        await op.publish(
          encodeRequest({
            action: Action.GET,
            fmt: 0,
            mid: 6,
            sender: 0,
            url: "/applet",
            payload: undefined,
          }),
          DEVICE,
          { device: DEVICE },
        ),
      );
      assert.equal(named.status, 69);
      const listing = decode(named.payload!);
      assert.deepEqual([listing.get("num")?.value, listing.get("applet1")?.value], [
        1,
        "request_handler",
      ]);
      assert.equal((await op.ask("/app/request_handler/url1", Action.GET, 7)).status, 69);
      assert.equal(device.out.match(/Install WASM app success!/g)?.length, 1, device.out);
      assert.match(device.err, /MQTT request on mr\/dev1\/req: /);
      assert.match(device.err, /Request for device "dev9" reached device "dev1"/);
    } finally {
      await operator?.close();
      await device.stop();
      await broker.stop();
      await Deno.remove(password);
    }
  },
});

Deno.test({
  name:
    "mqtt_link: twelve devices in one process, each its own app manager and link, answer on their own topics and pass events among themselves",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ids = Array.from({ length: 12 }, (_, i) => `sim${i}`);
    const broker = await startMosquitto(ids);
    const outputs = new Map<string, string[]>();
    const services: HostService[] = [];
    let operator: MqttClient | undefined;
    try {
      for (const id of ids) {
        const lines: string[] = [];
        outputs.set(id, lines);
        services.push(
          await HostService.start({
            listen: false,
            stdout: (bytes) => lines.push(new TextDecoder().decode(bytes)),
            apps: [
              { name: `rh_${id}`, bytes: REQUEST_HANDLER },
              { name: "event_subscriber", bytes: example("event_subscriber/event_subscriber") },
            ],
            mqtt: {
              url: broker.url,
              deviceId: id,
              username: id,
              password: broker.devices[id]!.password,
              events: ["alert/"],
              log: () => {},
            },
          }),
        );
      }
      operator = await connectAsync(broker.url, {
        protocolVersion: 5,
        username: broker.operator.username,
        password: broker.operator.password,
        reconnectPeriod: 0,
      });
      const answers = new Map<string, Response>();
      const online = new Set<string>();
      operator.on("message", (topic, payload) => {
        const [, id, leaf] = topic.split("/");
        if (leaf === "res") answers.set(id!, decodeResponse(new Uint8Array(payload)));
        if (leaf === "status" && JSON.parse(new TextDecoder().decode(payload)).state === "online") {
          online.add(id!);
        }
      });
      await operator.subscribeAsync(["mr/+/res", "mr/+/status"], { qos: 1 });
      await until(() => online.size === ids.length, () => [...online].join());
      for (const [i, id] of ids.entries()) {
        await operator.publishAsync(
          `mr/${id}/req`,
          encodeRequest({
            action: Action.GET,
            fmt: 0,
            mid: 100 + i,
            sender: 0,
            url: "/applet",
            payload: undefined,
          }) as never,
          { qos: 1 },
        );
      }
      await until(() => answers.size === ids.length, () => [...answers.keys()].join());
      for (const [i, id] of ids.entries()) {
        const answer = answers.get(id)!;
        assert.equal(answer.mid, 100 + i);
        assert.equal(decode(answer.payload!).get("applet2")?.value, `rh_${id}`);
      }
      // One device's event reaches the subscriber on every device, its own once.
      services[0]!.manager.fromHost({
        action: Action.EVENT,
        fmt: FMT_APP_RAW_BINARY,
        mid: 0,
        sender: 0,
        url: "alert/overheat",
        payload: new Uint8Array([1]),
      });
      const heard = (id: string) =>
        outputs.get(id)!.join("").match(/### user over heat event handler called/g)?.length ?? 0;
      await until(() => ids.every((id) => heard(id) === 1), () => ids.map(heard).join());
      // Another device's next: an echo of the first would reach sim0 before it.
      services[1]!.manager.fromHost({
        action: Action.EVENT,
        fmt: FMT_APP_RAW_BINARY,
        mid: 0,
        sender: 0,
        url: "alert/overheat",
        payload: new Uint8Array([2]),
      });
      await until(() => ids.every((id) => heard(id) === 2), () => ids.map(heard).join());
      const managers = services.map((service) => service.manager);
      assert.ok(managers.every((manager) => Object.hasOwn(manager.bus, "publish")));
      for (const service of services.splice(0)) await service.shutdown();
      // Closed links hand the bus back as they found it.
      assert.ok(managers.every((manager) => !Object.hasOwn(manager.bus, "publish")));
    } finally {
      await operator?.endAsync(true);
      for (const service of services) await service.shutdown();
      await broker.stop();
    }
  },
});

Deno.test({
  name:
    "mqtt_link: maxEventRate counts events per second on the manager's clock; past it they are dropped and the line collapses; eventQos 1 sends at QoS 1",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto([DEVICE]);
    const clock = new ManualClock(1_000_000);
    const logs: string[] = [];
    const service = await HostService.start({
      listen: false,
      stdout: () => {},
      clock,
      mqtt: {
        url: broker.url,
        deviceId: DEVICE,
        username: DEVICE,
        password: broker.devices[DEVICE]!.password,
        events: ["alert/"],
        eventQos: 1,
        maxEventRate: 5,
        log: (level, message) => logs.push(`${level}: ${message}`),
      },
    });
    let operator: Operator | undefined;
    try {
      operator = await Operator.connect(broker);
      const op = operator;
      const qos: number[] = [];
      op.client.on("message", (_topic, _payload, packet) => qos.push(packet.qos));
      await op.client.subscribeAsync(`mr/${DEVICE}/ev/#`, { qos: 1 });
      await op.until(() => op.statuses.find((s) => s.state === "online"));
      let next = 0; // each event's payload: how many were published before it
      const publish = (n: number, url = "alert/tick") => {
        for (let i = 0; i < n; i++) {
          service.manager.fromHost({
            action: Action.EVENT,
            fmt: FMT_APP_RAW_BINARY,
            mid: 0,
            sender: 0,
            url,
            payload: new Uint8Array([next++]),
          });
        }
      };
      publish(20);
      await op.until(() => op.events.length >= 5 ? true : undefined);
      const dropped = 'warn: MQTT event "alert/tick" not sent: more than 5 events a second';
      // Ten lines in the window, then a count.
      assert.equal(logs.filter((line) => line === dropped).length, 10, logs.join("\n"));
      clock.advance(1000);
      assert.ok(logs.includes(`warn: … repeated 5 times: ${dropped.slice(6)}`), logs.join("\n"));
      publish(3);
      // One more in the next second: the broker keeps the order, so all before it are in.
      clock.advance(1000);
      publish(1, "alert/end");
      await op.until(() => op.events.some((e) => e.topic.endsWith("/alert/end")) || undefined);
      assert.deepEqual(
        op.events.map((e) => `${e.topic.slice(e.topic.lastIndexOf("/") + 1)} ${e.payload[0]}`),
        [
          "tick 0",
          "tick 1",
          "tick 2",
          "tick 3",
          "tick 4",
          "tick 20",
          "tick 21",
          "tick 22",
          "end 23",
        ],
      );
      assert.ok(qos.filter((_, i) => i > 0).every((q) => q === 1), JSON.stringify(qos));
    } finally {
      await operator?.close();
      await service.shutdown();
      await broker.stop();
    }
  },
});

/** Events the burst test sends from device A to device B. */
const BURST_EVENTS = 2000;

// send(ptr, len) posts the packet at ptr (an event) with wasm_post_request.
const BURST_PUBLISHER = wat(`(module
  (import "env" "wasm_post_request" (func $post (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "on_init"))
  (func (export "send") (param i32 i32) (call $post (local.get 0) (local.get 1))))`);

// Subscribes to burst/n; counts the events it gets and those that came in order (the payload,
// the packet's last 4 bytes, is the event's number), and spins a while on each so that a
// burst takes longer than a request's round trip.
const BURST_COUNTER = wat(`(module
  (import "env" "wasm_sub_event" (func $sub (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "burst/n\\00")
  (global $events (export "events") (mut i32) (i32.const 0))
  (global $inOrder (export "in_order") (mut i32) (i32.const 0))
  (func (export "on_init") (call $sub (i32.const 16)))
  (func (export "on_request") (param $ptr i32) (param $size i32) (local $i i32)
    (if (i32.eq
          (i32.load (i32.sub (i32.add (local.get $ptr) (local.get $size)) (i32.const 4)))
          (global.get $events))
      (then (global.set $inOrder (i32.add (global.get $inOrder) (i32.const 1)))))
    (global.set $events (i32.add (global.get $events) (i32.const 1)))
    (loop $spin
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spin (i32.lt_u (local.get $i) (i32.const 200000))))))`);

Deno.test({
  name:
    "mqtt_link: a burst of 2,000 QoS 1 events from device A reaches an app with WAMR's 50-message queue on device B, none lost and in order, and B answers requests meanwhile",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto(["devA", "devB"]);
    const logs: string[] = [];
    const output: string[] = [];
    const services: HostService[] = [];
    let fleet: FleetClient | undefined;
    try {
      for (
        const [id, name, bytes] of [
          ["devB", "counter", BURST_COUNTER],
          ["devA", "publisher", BURST_PUBLISHER],
        ] as const
      ) {
        services.push(
          await HostService.start({
            listen: false,
            stdout: (line) => output.push(`${id}: ${new TextDecoder().decode(line)}`),
            apps: [{ name, bytes }],
            mqtt: {
              url: broker.url,
              deviceId: id,
              username: id,
              password: broker.devices[id]!.password,
              events: ["burst/"],
              eventQos: 1,
              log: (level, message) => logs.push(`${id} ${level}: ${message}`),
            },
          }),
        );
      }
      const [deviceB, deviceA] = services.map((service) => service.manager);
      assert.equal(deviceB!.queueLength, 50);
      fleet = await FleetClient.connect({
        url: broker.url,
        username: broker.operator.username,
        password: broker.operator.password,
      });
      const operator = fleet;
      await until(
        () =>
          ["devA", "devB"].every((id) => operator.devices().some((d) => d.id === id && d.online)),
        () => JSON.stringify(operator.devices()),
      );
      const counter = deviceB!.get("counter")!.instance;
      const count = (name: string) => (counter.exports[name] as WebAssembly.Global).value as number;
      const publisher = deviceA!.get("publisher")!.instance;
      const packet = encodeRequest({
        action: Action.EVENT,
        fmt: FMT_APP_RAW_BINARY,
        mid: 1,
        sender: 0,
        url: "burst/n",
        payload: new Uint8Array(4),
      });
      const send = publisher.exports.send as (ptr: number, len: number) => void;
      const seq = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);

      // Device A's app publishes in bursts of 200, each far past B's queue, at most 600 ahead
      // of B's app: A's link sends no more than 1,000 unacknowledged, and the broker queues no
      // more than 1,000 for B (max_queued_messages), whose app is the slowest part.
      const asked: Promise<{ status: number; eventsThen: number }>[] = [];
      for (let sent = 0; sent < BURST_EVENTS;) {
        for (const end = sent + 200; sent < end; sent++) {
          seq.setUint32(packet.length - 4, sent, true);
          publisher.memory.write(4096, packet);
          send(4096, packet.length);
        }
        if (sent === 600) {
          // Mid-burst, B is asked for its apps over the broker.
          asked.push(
            operator.request("devB", queryRequest()).then((response) => ({
              status: response.status,
              eventsThen: count("events"),
            })),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
        await until(() => count("events") >= sent - 400, () => `${count("events")} of ${sent}`);
      }
      await until(
        () => count("events") >= BURST_EVENTS,
        () => `${count("events")} of ${BURST_EVENTS}; ${logs.join("\n")}`,
        60_000,
      );
      const [answer] = await Promise.all(asked);
      assert.equal(answer!.status, 69);
      assert.ok(answer!.eventsThen < BURST_EVENTS, `answered after all ${answer!.eventsThen}`);
      // A few more ms: an event past the burst would be a duplicate.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(count("events"), BURST_EVENTS);
      assert.equal(count("in_order"), BURST_EVENTS);
      assert.ok(!output.some((line) => /dropped/.test(line)), output.join(""));
      assert.ok(!logs.some((line) => /not sent|dropped/.test(line)), logs.join("\n"));
    } finally {
      await fleet?.close();
      for (const service of services) await service.shutdown();
      await broker.stop();
    }
  },
});
