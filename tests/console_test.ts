// The fleet console (examples/web/console/) in Debian's Chromium, end to end on loopback with
// real processes: Debian's Mosquitto (auth + ACL), two `deno run mod.ts serve --mqtt` devices
// and `deno task console`'s server, started with a wrong password and fixed from the page.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { launchChromium } from "./_chromium.ts";
import { serve, type ServeProcess } from "./_serve.ts";
import { type Mosquitto, startMosquitto } from "./_mosquitto.ts";
import { FleetRelay } from "../examples/web/console/relay.ts";
import { startConsoleServer } from "../examples/web/console/serve.ts";
import type { RelayMessage } from "../examples/web/console/protocol.ts";
import { mqttEventFilter } from "../core/host_link/mqtt_topics.ts";
import { FleetClient } from "../core/host_link/fleet_client.ts";

const CONSOLE = new URL("../examples/web/console/serve.ts", import.meta.url).pathname;
const PUBLISHER = new URL("../examples/event_publisher/event_publisher.wasm", import.meta.url)
  .pathname;

/** What the functions evaluated in the page use of it (tests type-check without the DOM lib). */
interface PageNode {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
}
declare const document: {
  body: PageNode;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): Iterable<PageNode>;
};

/** A running `deno task console` process. */
interface ConsoleProcess {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the console's server as `deno task console` does, on a free port. */
async function startConsole(args: string[]): Promise<ConsoleProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      "--allow-net",
      CONSOLE,
      "--port",
      "0",
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const pumps = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
  }));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (url === undefined) {
    url = /fleet console on (http:\/\/127\.0\.0\.1:\d+\/console\/)/.exec(output)?.[1];
    if (url) break;
    if (Date.now() > deadline) throw new Error(`The console did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await pumps;
    },
  };
}

async function secretFile(secret: string): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "console_secret_" });
  await Deno.writeTextFile(file, secret + "\n");
  return file;
}

async function device(broker: Mosquitto, id: string, more: string[] = []): Promise<ServeProcess> {
  const password = await secretFile(broker.devices[id]!.password);
  const process = await serve([
    "--mqtt",
    broker.url,
    "--device-id",
    id,
    "--mqtt-username",
    id,
    "--mqtt-password-file",
    password,
    ...more,
  ]);
  await process.waitFor(new RegExp(`MQTT link connected to .* as mr/${id} `));
  await Deno.remove(password);
  return process;
}

/** The text of the elements matching `selector`. */
function texts(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

/** The app names listed in a device's row. */
function apps(page: Page, id: string): Promise<string[]> {
  return page.locator(`tr[data-device="${id}"] li[data-app]`).evaluateAll((nodes) =>
    nodes.map((n) => (n as unknown as PageNode).dataset.app ?? "")
  );
}

Deno.test({
  name:
    "console: in Chromium, a refused password is shown and fixed from the page; both devices online; an upload installs on both with progress; live events; a request; a non-wasm upload refused; a broker restart survived; uninstall; a killed device goes offline",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "console_" });
    const broker = await startMosquitto(["dev1", "dev2"], { noDelay: true });
    const wrong = await secretFile("not-the-password");
    const started: { stop(): Promise<unknown> }[] = [];
    try {
      const dev1 = await device(broker, "dev1", ["--mqtt-events", "alert/"]);
      started.push(dev1);
      const dev2 = await device(broker, "dev2");
      started.push(dev2);
      const web = await startConsole([
        "--mqtt",
        broker.url,
        "--mqtt-username",
        broker.operator.username,
        "--mqtt-password-file",
        wrong,
      ]);
      started.push(web);
      await using browser = await launchChromium({ dir });
      const page = await browser.newPage();
      await page.goto(web.url);
      await page.waitForFunction(() => document.body.dataset.ready === "true").catch((error) => {
        throw new Error(
          `The page did not get the relay's state: ${error.message}\n` +
            `page: ${browser.console.join("\n")}\n${browser.errors.join("\n")}\n` +
            `server: ${web.output()}`,
        );
      });

      // The refused password: a clear message in the page; the server goes on serving.
      const state = page.locator("[data-role=broker-state]");
      await page.waitForSelector("[data-role=broker-state][data-state=failed]");
      assert.match(
        await state.innerText(),
        /^MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ refused the operator: .*(Bad User Name or Password|Not authorized).* \(reason 13[45]\)$/,
      );
      assert.equal(await page.locator("tr[data-device]").count(), 0);
      await browser.screenshot(page, "refused");
      assert.match(web.output(), /console: MQTT broker .* refused the operator/);

      // The right password typed into the page: connected, both devices online.
      await page.fill("[data-role=broker-password]", broker.operator.password);
      await page.click("[data-role=broker-connect]");
      await page.waitForSelector("[data-role=broker-state][data-state=connected]");
      assert.equal(
        await state.innerText(),
        `connected to ${broker.url} as ${broker.operator.username}`,
      );
      await page.waitForSelector('tr[data-device="dev2"][data-online="true"]');
      await page.waitForSelector('tr[data-device="dev1"][data-online="true"]');
      assert.deepEqual(await texts(page, "tr[data-device] [data-role=state]"), [
        "online",
        "online",
      ]);
      assert.equal(
        await page.locator("[data-role=device-summary]").innerText(),
        "2 devices, 2 online",
      );
      for (const id of ["dev1", "dev2"]) {
        assert.match(
          await page.locator(`tr[data-device="${id}"] [data-role=memory]`).innerText(),
          /^rss \d+\.\d MiB, heap \d+\.\d MiB$/,
        );
        assert.deepEqual(await apps(page, id), []);
      }

      // Live events: subscribed to alert/ from every device.
      await page.fill("[data-role=event-url]", "alert/");
      await page.click("[data-role=event-subscribe]");
      await page.waitForSelector('[data-subscription="alert/"]');

      // A file that is not WebAssembly: refused with a clear message, nothing sent.
      await page.click('tr[data-device="dev1"] [data-role=select]');
      await page.click('tr[data-device="dev2"] [data-role=select]');
      assert.equal(await page.locator("[data-role=install-targets]").innerText(), "to dev1, dev2");
      await page.setInputFiles("[data-role=install-file]", {
        name: "notes.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("hello, not a module\n"),
      });
      assert.equal(await page.inputValue("[data-role=install-name]"), "notes");
      await page.click("[data-role=install-send]");
      const message = page.locator("[data-role=install-message]");
      await page.waitForFunction(() =>
        (document.querySelector("[data-role=install-message]")?.textContent ?? "") !== ""
      );
      assert.equal(
        await message.innerText(),
        '"notes.txt" is not a WebAssembly module (it does not begin with "\\0asm"): nothing was sent',
      );
      assert.equal(await page.locator("[data-op]").count(), 0);
      await browser.screenshot(page, "not_wasm");

      // The real upload, to both selected devices: a progress row each, then the app listed
      // in each device's row from its retained status.
      await page.setInputFiles("[data-role=install-file]", PUBLISHER);
      assert.equal(await page.inputValue("[data-role=install-name]"), "event_publisher");
      assert.match(
        await page.locator("[data-role=install-chosen]").innerText(),
        /^event_publisher\.wasm \(\d+\.\d KiB\)$/,
      );
      await page.fill("[data-role=install-name]", "publisher");
      await page.click("[data-role=install-send]");
      await page.waitForSelector('[data-op] li[data-device="dev2"][data-outcome="ok"]');
      await page.waitForSelector('[data-op] li[data-device="dev1"][data-outcome="ok"]');
      const rows = await texts(page, "[data-op] li[data-device]");
      assert.equal(rows.length, 2);
      assert.match(rows[0]!, /^dev1 65 \(2\.01 Created\) \(\d+ ms\)$/);
      assert.match(rows[1]!, /^dev2 65 \(2\.01 Created\) \(\d+ ms\)$/);
      assert.equal(await page.locator("[data-op] [data-role=count]").innerText(), "2/2");
      assert.equal(
        await page.locator("[data-op] progress").evaluate((p) =>
          (p as unknown as { value: number }).value
        ),
        2,
      );
      await page.waitForSelector('tr[data-device="dev1"] li[data-app="publisher"]');
      await page.waitForSelector('tr[data-device="dev2"] li[data-app="publisher"]');
      assert.deepEqual(await apps(page, "dev1"), ["publisher"]);
      assert.deepEqual(await apps(page, "dev2"), ["publisher"]);
      assert.equal(await page.locator("[data-role=install-message]").innerText(), "");

      // The app on dev1 publishes alert/overheat each second, bridged by --mqtt-events; dev2
      // does not bridge it, so only dev1's arrive.
      await page.waitForFunction(() =>
        [...document.querySelectorAll("[data-role=event-log] li[data-kind=event] span")]
          .some((s) => (s.textContent ?? "").startsWith("dev1 alert/overheat"))
      );
      const eventLines = await texts(page, "[data-role=event-log] li[data-kind=event] span");
      assert.equal(
        eventLines[0],
        'dev1 alert/overheat {"warning":"temperature is over high"}',
      );
      assert.ok(eventLines.every((line) => line.startsWith("dev1 ")), eventLines.join("\n"));

      // The request box: dev2's app, queried by name.
      await page.selectOption("[data-role=request-device]", "dev2");
      await page.selectOption("[data-role=request-method]", "GET");
      await page.fill("[data-role=request-url]", "/applet?name=publisher");
      await page.click("[data-role=request-send]");
      await page.waitForFunction(() =>
        (document.querySelector("[data-role=response]")?.textContent ?? "").startsWith("dev2: ")
      );
      const answer = await page.locator("[data-role=response]").innerText();
      assert.match(answer, /^dev2: 69 \(2\.05 Content\)\n\{.*"name":\s*"publisher"/s);
      await browser.screenshot(page, "installed");

      // The broker restarts: the relay reconnects and subscribes again, and events flow again.
      const eventCount = () =>
        page.evaluate(() =>
          [...document.querySelectorAll("[data-role=event-log] li[data-kind=event]")].length
        );
      await broker.restart();
      await page.waitForFunction(() =>
        [...document.querySelectorAll("[data-role=activity] li[data-kind=link] span")]
          .some((s) => (s.textContent ?? "").startsWith("reconnecting to mqtt://127.0.0.1:"))
      ).catch(async (error) => {
        await browser.screenshot(page, "restart");
        throw new Error(
          `The page did not see the relay reconnecting: ${error.message}\nactivity:\n` +
            (await texts(page, "[data-role=activity] li")).join("\n") + `\nserver: ${web.output()}`,
        );
      });
      await page.waitForSelector("[data-role=broker-state][data-state=connected]");
      const afterRestart = await eventCount();
      await page.waitForFunction(
        (n) =>
          [...document.querySelectorAll("[data-role=event-log] li[data-kind=event]")].length > n,
        afterRestart,
      );
      await page.waitForSelector('tr[data-device="dev2"][data-online="true"]');
      assert.deepEqual(await apps(page, "dev2"), ["publisher"]);

      // Uninstall from dev2 only.
      await page.click('tr[data-device="dev2"] li[data-app="publisher"] [data-role=uninstall]');
      await page.waitForSelector('tr[data-device="dev2"] li.empty');
      assert.deepEqual(await apps(page, "dev2"), []);
      assert.deepEqual(await apps(page, "dev1"), ["publisher"]);
      await page.waitForSelector('[data-op] li[data-device="dev2"][data-outcome="ok"]');
      assert.match(
        (await texts(page, "[data-op]:first-child li[data-device]"))[0]!,
        /^dev2 66 \(2\.02 Deleted\) \(\d+ ms\)$/,
      );

      // dev2 killed: its last will marks it offline, its last apps stay shown.
      await dev2.stop("SIGKILL");
      await page.waitForSelector('tr[data-device="dev2"][data-online="false"]');
      assert.equal(
        await page.locator('tr[data-device="dev2"] [data-role=state]').innerText(),
        "offline",
      );
      assert.equal(
        await page.locator("[data-role=device-summary]").innerText(),
        "2 devices, 1 online",
      );
      assert.equal(
        await page.locator('tr[data-device="dev1"] [data-role=state]').innerText(),
        "online",
      );

      // An install to the offline device is reported per device, and the console keeps working.
      await page.click('tr[data-device="dev1"] [data-role=select]');
      assert.equal(await page.locator("[data-role=install-targets]").innerText(), "to dev2");
      await page.click("[data-role=install-send]");
      await page.waitForSelector('[data-op] li[data-device="dev2"][data-outcome="offline"]');
      assert.equal(
        (await texts(page, "[data-op]:first-child li[data-device]"))[0],
        "dev2 offline (nothing sent)",
      );
      await browser.screenshot(page, "offline");
      assert.deepEqual(browser.errors, []);
    } finally {
      for (const process of started.reverse()) await process.stop();
      await broker.stop();
      await Deno.remove(wrong);
    }
  },
});

/** A page's view of the relay: every message it got, and a way to wait for one. */
function fakePage(relay: FleetRelay) {
  const messages: RelayMessage[] = [];
  const waiting: (() => void)[] = [];
  const detach = relay.attach((message) => {
    messages.push(message);
    waiting.splice(0).forEach((f) => f());
  });
  return {
    messages,
    detach,
    /** Sends a message as the page would (JSON text) and returns the replies to it. */
    async send(message: unknown): Promise<RelayMessage[]> {
      const replies: RelayMessage[] = [];
      await relay.handle(
        typeof message === "string" ? message : JSON.stringify(message),
        (reply) => replies.push(reply),
      );
      return replies;
    },
  };
}

Deno.test({
  name:
    "console relay: bad input from a page gets a clear message and changes nothing; an unreachable broker and a foreign page are refused; events past 200 a second are counted, then reported",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = await startMosquitto(["dev1"], { noDelay: true });
    const dev1 = await device(broker, "dev1");
    const closedPort = (() => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      listener.close();
      return (listener.addr as Deno.NetAddr).port;
    })();
    // The events' clock: the first 250 events in one second, the next one a second later.
    let clockCalls = 0;
    const relay = new FleetRelay({
      url: `mqtt://127.0.0.1:${closedPort}`,
      now: () => ++clockCalls > 250 ? 1000 : 0,
    });
    const page = fakePage(relay);
    try {
      // Nothing listening: the reason, and operations refused until connected.
      const down = await relay.connect();
      assert.equal(down.state, "failed");
      assert.match(
        down.message!,
        new RegExp(
          `^Cannot connect to the MQTT broker mqtt://127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`,
        ),
      );
      assert.deepEqual(
        await page.send({ type: "uninstall", op: "u1", devices: ["dev1"], name: "x" }),
        [
          {
            type: "failed",
            op: "u1",
            message:
              `Not connected to the MQTT broker mqtt://127.0.0.1:${closedPort}: connect first`,
          },
        ],
      );

      // Connected from the page's form, with the operator's credentials.
      assert.deepEqual(
        await page.send({
          type: "connect",
          url: broker.url,
          username: broker.operator.username,
          password: broker.operator.password,
          prefix: "",
        }),
        [],
      );
      assert.equal(relay.broker.state, "connected");
      assert.equal(relay.broker.prefix, "mr");
      const devices = page.messages.filter((m) => m.type === "devices").at(-1);
      assert.deepEqual(
        devices?.type === "devices" ? devices.devices.map((d) => [d.id, d.online]) : [],
        [["dev1", true]],
      );

      const failed = async (message: unknown) => {
        const replies = await page.send(message);
        assert.equal(replies.length, 1, JSON.stringify(replies));
        assert.equal(replies[0]!.type, "failed");
        return (replies[0] as { message: string }).message;
      };
      const wasm = btoa(String.fromCharCode(...Deno.readFileSync(PUBLISHER)));
      assert.equal(
        await failed("{oops"),
        `Malformed message: ${
          (() => {
            try {
              JSON.parse("{oops");
            } catch (error) {
              return (error as Error).message;
            }
          })()
        }`,
      );
      assert.equal(await failed({ type: "reboot" }), 'Unknown message type "reboot"');
      assert.equal(
        await failed({
          type: "install",
          op: "i1",
          devices: ["dev1"],
          name: "a b",
          file: "p.wasm",
          wasm,
        }),
        'Invalid app name "a b": give a name without spaces, "&", "?", "=", "#" or "/"',
      );
      assert.equal(
        await failed({ type: "install", op: "i2", devices: [], name: "p", file: "p.wasm", wasm }),
        "No device selected: tick one or more devices first",
      );
      assert.equal(
        await failed({
          type: "install",
          op: "i3",
          devices: ["dev/1"],
          name: "p",
          file: "p.wasm",
          wasm,
        }),
        'Invalid device pattern "dev/1": use a device id, "+" or "#" (a list separated by ",")',
      );
      assert.equal(
        await failed({
          type: "install",
          op: "i4",
          devices: ["dev1"],
          name: "p",
          file: "p.wasm",
          wasm: "*",
        }),
        "The upload is not base64",
      );
      assert.equal(
        await failed({
          type: "request",
          op: "r1",
          device: "dev1",
          method: "PATCH",
          url: "/x",
          payload: "",
        }),
        'Unknown method "PATCH": use GET, POST, PUT or DELETE',
      );
      assert.match(
        await failed({
          type: "request",
          op: "r2",
          device: "dev1",
          method: "POST",
          url: "/x",
          payload: "[1",
        }),
        /^The payload is not a JSON object: /,
      );
      assert.equal(
        await failed({ type: "subscribe", url: "alert/#", devices: "+" }),
        (() => {
          try {
            mqttEventFilter("mr", "alert/#", "+");
          } catch (error) {
            return `Cannot subscribe to "alert/#": ${(error as Error).message}`;
          }
          return "no error";
        })(),
      );
      assert.equal(await failed({ type: "unsubscribe", id: 99 }), "No event subscription 99");
      assert.match(
        await failed({ type: "connect", url: "http://x", username: "", prefix: "mr" }),
        /^Invalid broker URL "http:\/\/x": expected mqtt:\/\/HOST:PORT or mqtts:\/\/HOST:PORT$/,
      );
      // None of that touched the link or the device.
      assert.equal(relay.broker.state, "connected");
      const query = await page.send({
        type: "request",
        op: "r3",
        device: "dev1",
        method: "GET",
        url: "/applet",
        payload: "",
      });
      assert.equal(query.length, 1);
      assert.equal(query[0]!.type, "response");
      assert.equal((query[0] as { status: number }).status, 69);

      // A burst of events: 200 a second reach the page, the rest are counted, then reported.
      assert.deepEqual(await page.send({ type: "subscribe", url: "burst/", devices: "sim" }), []);
      const publisher = await FleetClient.connect({
        url: broker.url,
        username: broker.operator.username,
        password: broker.operator.password,
      });
      try {
        // Published in order on one connection, so delivered in order.
        await Promise.all(
          Array.from(
            { length: 251 },
            (_, i) =>
              publisher.publishEvent("burst/n", new TextEncoder().encode(String(i)), {
                fmt: 98,
                as: "sim",
              }),
          ),
        );
        const deadline = Date.now() + 20_000;
        const burst = () =>
          page.messages.filter((m) =>
            m.type === "event" && m.url === "burst/n" ||
            m.type === "failed" && m.message.includes("events not shown")
          );
        while (burst().length < 202 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const seen = burst().map((m) =>
          m.type === "event" ? m.text : (m as { message: string }).message
        );
        assert.equal(seen.length, 202);
        assert.deepEqual(
          seen.slice(0, 200),
          Array.from({ length: 200 }, (_, i) => `${String(i).length} bytes: "${i}"`),
        );
        assert.deepEqual(seen.slice(200), [
          "50 events not shown (over 200 a second)",
          '3 bytes: "250"',
        ]);
      } finally {
        await publisher.close();
      }

      // A page of another origin cannot open the relay's socket; a same-origin one can.
      const web = await startConsoleServer({
        port: 0,
        url: broker.url,
        username: broker.operator.username,
        password: broker.operator.password,
      });
      try {
        assert.equal((await web.connected).state, "connected");
        const ws = web.url.replace("http:", "ws:") + "ws";
        const foreign = await fetch(web.url + "ws", {
          headers: { origin: "http://evil.example", upgrade: "websocket" },
        });
        assert.equal(foreign.status, 403);
        assert.equal(await foreign.text(), 'Forbidden origin "http://evil.example"\n');
        const socket = new WebSocket(ws);
        const first = await new Promise<RelayMessage>((resolve, reject) => {
          socket.onmessage = (event) => resolve(JSON.parse(event.data));
          socket.onerror = () => reject(new Error("The relay's socket failed"));
        });
        assert.equal(first.type, "broker");
        socket.close();
      } finally {
        await web.close();
      }
    } finally {
      page.detach();
      await relay.close();
      await dev1.stop();
      await broker.stop();
    }
  },
});

Deno.test("console: the command line's bad options are refused with exit status 2", async () => {
  const run = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", "--allow-run", "--allow-net", CONSOLE, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code, err: new TextDecoder().decode(stderr) };
  };
  assert.deepEqual(await run("--port=0", "--mqtt", "http://x"), {
    code: 2,
    err:
      'console: Invalid value for --mqtt: "http://x" (expected mqtt://HOST:PORT or mqtts://HOST:PORT)\n',
  });
  assert.deepEqual(await run("--port", "70000"), {
    code: 2,
    err: 'console: Invalid value for --port: "70000" (expected 0 to 65535)\n',
  });
  const missing = await run("--mqtt-password-file=/nonexistent/operator.password");
  assert.equal(missing.code, 2);
  assert.match(
    missing.err,
    /^console: Cannot read --mqtt-password-file "\/nonexistent\/operator\.password": /,
  );
  assert.deepEqual(await run("--mqtt"), { code: 2, err: "console: Missing value for --mqtt\n" });
});
