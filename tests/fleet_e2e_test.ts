// Fleets end to end (issue 14) with real processes on loopback: Debian's Mosquitto (auth + ACL),
// two `deno run mod.ts serve --mqtt` devices, and `deno run mod.ts host --mqtt …` as an
// operator would run it.
import assert from "node:assert/strict";
import { serve, type ServeProcess } from "./_serve.ts";
import { type Mosquitto, startMosquitto } from "./_mosquitto.ts";
import { FleetClient } from "../core/host_link/fleet_client.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const REQUEST_HANDLER = new URL("../examples/request_handler/request_handler.wasm", import.meta.url)
  .pathname;
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

interface HostRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run mod.ts host …` to the end. */
async function host(args: string[]): Promise<HostRun> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "host", ...args],
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

async function secretFile(secret: string): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "fleet_secret_" });
  await Deno.writeTextFile(file, secret + "\n");
  return file;
}

/** A fleet on loopback: the broker, its password files, and devices started on demand. */
class Fleet {
  readonly broker: Mosquitto;
  readonly operatorArgs: string[];
  readonly #files: string[];
  readonly devices = new Map<string, ServeProcess>();

  private constructor(broker: Mosquitto, operatorPassword: string, files: string[]) {
    this.broker = broker;
    this.#files = files;
    this.operatorArgs = [
      "--mqtt",
      broker.url,
      "--mqtt-username",
      broker.operator.username,
      "--mqtt-password-file",
      operatorPassword,
    ];
  }

  static async start(ids: string[]): Promise<Fleet> {
    const broker = await startMosquitto(ids, { noDelay: true });
    const operator = await secretFile(broker.operator.password);
    return new Fleet(broker, operator, [operator]);
  }

  /** Starts `serve --mqtt` for `id` (with `--state-dir DIR` when given, and more arguments). */
  async device(id: string, stateDir?: string, more: string[] = []): Promise<ServeProcess> {
    const password = await secretFile(this.broker.devices[id]!.password);
    this.#files.push(password);
    const device = await serve([
      "--mqtt",
      this.broker.url,
      "--device-id",
      id,
      "--mqtt-username",
      id,
      "--mqtt-password-file",
      password,
      ...(stateDir !== undefined ? ["--state-dir", stateDir] : []),
      ...more,
    ]);
    this.devices.set(id, device);
    await device.waitFor(new RegExp(`MQTT link connected to .* as mr/${id} `));
    // Its status is at the broker once it is online there, not when it says it connected.
    const watcher = await this.client();
    try {
      await watcher.waitForDevice(id);
    } finally {
      await watcher.close();
    }
    return device;
  }

  /** `host` with the operator's broker options. */
  host(args: string[]): Promise<HostRun> {
    return host([...this.operatorArgs, ...args]);
  }

  /** A fleet client as the operator. */
  client(): Promise<FleetClient> {
    return FleetClient.connect({
      url: this.broker.url,
      username: this.broker.operator.username,
      password: this.broker.operator.password,
      timeout: 20_000,
    });
  }

  async stop(): Promise<void> {
    for (const device of this.devices.values()) await device.stop();
    await this.broker.stop();
    for (const file of this.#files) await Deno.remove(file);
  }
}

/** The table's row for a device, split into its columns. */
function row(table: string, device: string): string[] {
  const line = table.split("\n").find((l) => l.startsWith(device + " "));
  assert.ok(line, `no row for ${device} in:\n${table}`);
  return line.split(/\s{2,}/);
}

Deno.test({
  name:
    "fleet e2e: host --fleet installs to two serve --mqtt devices with a progress bar and a table, --device queries each as the TCP host does, and requests go across",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fleet = await Fleet.start(["dev1", "dev2"]);
    try {
      const dev1 = await fleet.device("dev1");
      await fleet.device("dev2");

      const install = await fleet.host([
        "--fleet",
        "+",
        "-i",
        "request_handler",
        "-f",
        REQUEST_HANDLER,
      ]);
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stderr, /\[#{30}\] 2\/2 devices\n$/);
      assert.match(install.stdout, /^DEVICE {2}STATUS {2}TIME +RESULT\n/);
      for (const id of ["dev1", "dev2"]) {
        const [, status, time, result] = row(install.stdout, id);
        assert.equal(status, "65");
        assert.match(time!, /^\d+ ms$/);
        assert.equal(result, "created");
      }
      assert.match(install.stdout, /\n2 of 2 devices ok\n$/);

      // One device through the broker: the same output as the TCP host to the same device.
      const overMqtt = await fleet.host(["--device", "dev1", "-q"]);
      const overTcp = await host(["-P", String(dev1.port), "-q"]);
      assert.equal(overMqtt.code, 69, overMqtt.stderr);
      assert.equal(overTcp.code, 69);
      assert.equal(overMqtt.stdout, overTcp.stdout);
      assert.match(overMqtt.stdout, /"applet1":\s*"request_handler"/);
      const dev2 = await fleet.host(["--device", "dev2", "-q", "--json"]);
      assert.equal(dev2.code, 69);
      const listing = JSON.parse(dev2.stdout);
      assert.equal(listing.type, "response");
      assert.equal(listing.payload.applet1, "request_handler");

      // A request to the app on every device, for a script.
      const across = await fleet.host([
        "--fleet",
        "dev1,dev2",
        "-r",
        "/app/request_handler/url1",
        "-A",
        "GET",
        "--json",
      ]);
      assert.equal(across.code, 0, across.stderr);
      const lines = across.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => [l.type, l.device, l.outcome, l.status, l.payload?.key1]),
        [
          ["result", "dev1", "ok", 69, "value1"],
          ["result", "dev2", "ok", 69, "value1"],
          ["summary", undefined, undefined, undefined, undefined],
        ],
      );
      assert.deepEqual(lines[2], { type: "summary", devices: 2, ok: 2 });

      // A failure on one device is its row, and the exit status says some failed.
      const uninstall = await fleet.host(["--fleet", "+", "-u", "nothing_here"]);
      assert.equal(uninstall.code, 1);
      assert.match(row(uninstall.stdout, "dev1")[1]!, /^1\d\d$/);
      assert.match(uninstall.stdout, /\n0 of 2 devices ok\n$/);
    } finally {
      await fleet.stop();
    }
  },
});

Deno.test({
  name:
    "fleet e2e: a killed device shows offline (last will), comes back with its apps from --state-dir and republishes its status",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fleet = await Fleet.start(["dev1", "dev2"]);
    const stateDir = await Deno.makeTempDir({ prefix: "fleet_state_" });
    let watcher: FleetClient | undefined;
    try {
      await fleet.device("dev1");
      const dev2 = await fleet.device("dev2", stateDir);
      const install = await fleet.host([
        "--fleet",
        "+",
        "-i",
        "request_handler",
        "-f",
        REQUEST_HANDLER,
      ]);
      assert.equal(install.code, 0, install.stdout + install.stderr);

      watcher = await fleet.client();
      await dev2.stop("SIGKILL");
      // The broker notices the dead connection and publishes the last will.
      await watcher.waitForDevice("dev2", (d) => !d.online);

      const query = await fleet.host(["--fleet", "+", "-q"]);
      assert.equal(query.code, 1);
      assert.equal(row(query.stdout, "dev1")[1], "69");
      assert.deepEqual(row(query.stdout, "dev2"), ["dev2", "-", "-", "offline: not sent"]);
      assert.match(query.stdout, /\n1 of 2 devices ok\n$/);
      const one = await fleet.host(["--device", "dev2", "-q"]);
      assert.equal(one.code, 255);
      assert.match(one.stderr, /^host: Device "dev2" is offline \(mr\/dev2\/status says so/);

      await fleet.device("dev2", stateDir);
      const back = await watcher.waitForDevice(
        "dev2",
        (d) => d.online && d.status?.apps.length === 1,
        20_000,
      );
      assert.equal(back.status!.apps[0]!.name, "request_handler");
      const again = await fleet.host([
        "--device",
        "dev2",
        "-r",
        "/app/request_handler/url1",
        "-A",
        "GET",
      ]);
      assert.equal(again.code, 69, again.stderr);
      assert.match(again.stdout, /"key1":\s*"value1"/);
    } finally {
      await watcher?.close();
      await fleet.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "fleet e2e: host --mqtt reports wrong credentials, an unknown device, no matching device and a timeout clearly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fleet = await Fleet.start(["dev1"]);
    const wrong = await secretFile("not-the-password");
    try {
      const refused = await host([
        "--mqtt",
        fleet.broker.url,
        "--mqtt-username",
        "operator",
        "--mqtt-password-file",
        wrong,
        "--fleet",
        "+",
        "-q",
      ]);
      assert.equal(refused.code, 255);
      assert.match(
        refused.stderr,
        /^host: MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ refused the operator: Connection refused: Not authorized \(reason 135\); check --mqtt-username and --mqtt-password-file\n$/,
      );

      const none = await fleet.host(["--fleet", "+", "-q"]);
      assert.equal(none.code, 255);
      assert.match(none.stderr, /^host: No device matches "\+" at mqtt:\/\/127\.0\.0\.1:\d+/);
      const unknown = await fleet.host(["--device", "dev9", "-q"]);
      assert.equal(unknown.code, 255);
      assert.match(
        unknown.stderr,
        /^host: No device "dev9" at .*: nothing retained on mr\/dev9\/status\n$/,
      );

      // dev1 answers nothing while stopped: its request times out as over TCP.
      const dev1 = await fleet.device("dev1");
      dev1.child.kill("SIGSTOP");
      try {
        const slow = await fleet.host(["--device", "dev1", "-q", "-t", "500"]);
        assert.equal(slow.code, 2, slow.stderr);
        assert.equal(slow.stdout, "operation timeout\n");
        const slowFleet = await fleet.host(["--fleet", "dev1", "-q", "-t", "500"]);
        assert.equal(slowFleet.code, 1);
        assert.deepEqual(row(slowFleet.stdout, "dev1").slice(1, 2), ["-"]);
        assert.match(slowFleet.stdout, /timeout: no response within 500 ms/);
      } finally {
        dev1.child.kill("SIGCONT");
      }

      const usage = await fleet.host(["--fleet", "a/b", "-q"]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /Invalid value for --fleet: "a\/b"/);
      const both = await host(["--device", "dev1", "-q"]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /need --mqtt/);
    } finally {
      await Deno.remove(wrong);
      await fleet.stop();
    }
  },
});

Deno.test({
  name:
    "fleet e2e: an event an app publishes on device A reaches an app on device B and the operator, through the broker",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fleet = await Fleet.start(["dev1", "dev2"]);
    let watcher: FleetClient | undefined;
    try {
      const events = ["--mqtt-events", "alert/"];
      await fleet.device("dev1", undefined, events);
      const dev2 = await fleet.device("dev2", undefined, events);
      watcher = await fleet.client();
      const seen: string[] = [];
      await watcher.subscribeEvents("alert/", (e) => {
        seen.push(`${e.device} ${e.url} ${e.container?.get("warning")?.value}`);
      });

      const subscriber = await fleet.host([
        "--device",
        "dev2",
        "-i",
        "event_subscriber",
        "-f",
        `${EXAMPLES}event_subscriber/event_subscriber.wasm`,
      ]);
      assert.equal(subscriber.code, 65, subscriber.stderr);
      const publisher = await fleet.host([
        "--device",
        "dev1",
        "-i",
        "event_publisher",
        "-f",
        `${EXAMPLES}event_publisher/event_publisher.wasm`,
      ]);
      assert.equal(publisher.code, 65, publisher.stderr);

      // The publisher's timer fires each second; dev2's app prints what it gets.
      await dev2.waitFor(/### user over heat event handler called/);
      assert.match(dev2.out, /key: warning, type: string, value: temperature is over high/);
      while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(seen[0], "dev1 alert/overheat temperature is over high");

      // host -s through the broker prints the device's events as it does over TCP.
      const listen = await fleet.host(["--device", "dev1", "-s", "/alert/overheat", "-a", "2500"]);
      assert.equal(listen.code, 69, listen.stderr);
      assert.match(
        listen.stdout,
        /^\nresponse status 69\n\nreceived an event alert\/overheat\n\{\n\t"warning":\t"temperature is over high"\n\}\n/,
      );
    } finally {
      await watcher?.close();
      await fleet.stop();
    }
  },
});

Deno.test({
  name:
    "fleet e2e: a broker restart is survived by both sides: devices come back online, the operator resubscribes and a request made while it was down is answered",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fleet = await Fleet.start(["dev1", "dev2"]);
    let watcher: FleetClient | undefined;
    try {
      await fleet.device("dev1");
      await fleet.device("dev2");
      const install = await fleet.host([
        "--fleet",
        "+",
        "-i",
        "request_handler",
        "-f",
        REQUEST_HANDLER,
      ]);
      assert.equal(install.code, 0, install.stdout + install.stderr);
      watcher = await fleet.client();
      const links: boolean[] = [];
      watcher.onConnection((connected) => links.push(connected));

      let pending: Promise<unknown> | undefined;
      await fleet.broker.restart(async () => {
        while (watcher!.connected) await new Promise((resolve) => setTimeout(resolve, 20));
        // Made while the broker is down: held, and sent once the client has resubscribed.
        pending = watcher!.request("dev1", { action: 1, url: "/app/request_handler/url1" });
      });
      const answer = await pending as Awaited<ReturnType<FleetClient["request"]>>;
      assert.equal(answer.status, 69);
      assert.equal(answer.container?.get("key1")?.value, "value1");
      assert.deepEqual(links, [false, true]);

      // Both devices reconnect and publish their status again; host sees them with their apps.
      for (const id of ["dev1", "dev2"]) {
        const device = fleet.devices.get(id)!;
        await device.waitFor(/MQTT link connected to [^\n]*\n[^]*MQTT link connected to /);
      }
      const query = await fleet.host(["--fleet", "+", "-q", "--json"]);
      assert.equal(query.code, 0, query.stdout + query.stderr);
      const rows = query.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(
        rows.slice(0, 2).map((r) => [r.device, r.status, r.payload.applet1]),
        [["dev1", 69, "request_handler"], ["dev2", 69, "request_handler"]],
      );
    } finally {
      await watcher?.close();
      await fleet.stop();
    }
  },
});
