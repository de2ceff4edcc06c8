// examples/fleet/: the documented broker set-up works as written. make_certs.sh makes the CA and
// certificates, Mosquitto runs examples/fleet/mosquitto.conf (only its paths and port changed
// for a temporary directory on loopback) with examples/fleet/acl, and devices and an operator
// connect over TLS with client certificates; the ACL's patterns keep each device to its topics.
import assert from "node:assert/strict";
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";
import { HostService } from "../core/cli/serve_command.ts";
import { Action, decodeResponse, encodeRequest, FMT_APP_RAW_BINARY } from "../sdk/packet.ts";

const FLEET = new URL("../examples/fleet/", import.meta.url).pathname;
const SUBSCRIBER = Deno.readFileSync(
  new URL("../examples/event_subscriber/event_subscriber.wasm", import.meta.url),
);

/** The example's config with its paths in `dir` and its listener on `port` of 127.0.0.1. */
async function exampleConfig(dir: string, port: number): Promise<string> {
  const config = await Deno.readTextFile(`${FLEET}mosquitto.conf`);
  assert.match(config, /^listener 8883$/m);
  return config
    .replaceAll("/etc/mosquitto/fleet/", `${dir}/`)
    .replaceAll("/var/lib/mosquitto/", `${dir}/data/`)
    .replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`);
}

async function run(command: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command(command, {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  assert.ok(success, `${command} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

async function until(find: () => boolean, what: () => string, within = 15_000): Promise<void> {
  const deadline = Date.now() + within;
  while (!find()) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name:
    "fleet example: make_certs.sh, mosquitto.conf and acl run a TLS broker that needs client certificates and keeps devices to their topics",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fleet_example_" });
    // Mosquitto, started as root, reads its files as its own user.
    await Deno.chmod(dir, 0o755);
    const certs = `${dir}/certs`;
    await run("sh", [`${FLEET}make_certs.sh`, certs, "127.0.0.1", "dev1", "dev2", "operator"]);
    for (const file of ["ca.crt", "server.crt", "server.key"]) {
      await Deno.copyFile(`${certs}/${file}`, `${dir}/${file}`);
      await Deno.chmod(`${dir}/${file}`, 0o644);
    }
    await Deno.copyFile(`${FLEET}acl`, `${dir}/acl`);
    const passwords: Record<string, string> = {};
    await Deno.writeTextFile(`${dir}/passwd`, "");
    for (const user of ["operator", "dev1", "dev2"]) {
      passwords[user] = crypto.randomUUID();
      await run("mosquitto_passwd", ["-b", `${dir}/passwd`, user, passwords[user]!]);
    }
    await Deno.chmod(`${dir}/passwd`, 0o644);
    await Deno.mkdir(`${dir}/data`);
    await Deno.chmod(`${dir}/data`, 0o777);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await Deno.writeTextFile(`${dir}/mosquitto.conf`, await exampleConfig(dir, port));
    await Deno.chmod(`${dir}/mosquitto.conf`, 0o644);
    const broker = new Deno.Command("/usr/sbin/mosquitto", {
      args: ["-c", `${dir}/mosquitto.conf`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let brokerLog = "";
    const pump = (async () => {
      for await (const chunk of broker.stderr.pipeThrough(new TextDecoderStream())) {
        brokerLog += chunk;
      }
    })();
    const url = `mqtts://127.0.0.1:${port}`;
    const ca = await Deno.readTextFile(`${certs}/ca.crt`);
    const tlsFor = async (name: string) => ({
      ca,
      cert: await Deno.readTextFile(`${certs}/client-${name}.crt`),
      key: await Deno.readTextFile(`${certs}/client-${name}.key`),
    });
    const clients: MqttClient[] = [];
    const connect = async (name: string, options: IClientOptions = {}) => {
      const client = await connectAsync(url, {
        protocolVersion: 5,
        username: name,
        password: passwords[name]!,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...await tlsFor(name),
        ...options,
      });
      clients.push(client);
      return client;
    };
    const lines: string[] = [];
    let service: HostService | undefined;
    try {
      for (const deadline = Date.now() + 10_000;;) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`Mosquitto did not start: ${brokerLog}`);
          if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
      service = await HostService.start({
        listen: false,
        stdout: (bytes) => lines.push(new TextDecoder().decode(bytes)),
        apps: [{ name: "event_subscriber", bytes: SUBSCRIBER }],
        mqtt: {
          url,
          deviceId: "dev1",
          username: "dev1",
          password: passwords.dev1!,
          events: ["alert/"],
          ...await tlsFor("dev1"),
          log: () => {},
        },
      });
      const operator = await connect("operator");
      const statuses: string[] = [];
      const answers: number[] = [];
      operator.on("message", (topic, payload) => {
        if (topic === "mr/dev1/status") statuses.push(new TextDecoder().decode(payload));
        if (topic === "mr/dev1/res") answers.push(decodeResponse(new Uint8Array(payload)).status);
      });
      await operator.subscribeAsync(["mr/dev1/status", "mr/dev1/res"], { qos: 1 });
      await until(() => statuses.some((s) => s.includes('"online"')), () => brokerLog);
      await operator.publishAsync(
        "mr/dev1/req",
        encodeRequest({
          action: Action.GET,
          fmt: 0,
          mid: 1,
          sender: 0,
          url: "/applet",
          payload: undefined,
        }) as never,
        { qos: 1 },
      );
      await until(() => answers.length === 1, () => brokerLog);
      assert.deepEqual(answers, [69]);

      // dev2: its own events reach dev1's app; dev1's requests, status and events it may not
      // touch.
      const dev2 = await connect("dev2");
      const overheard: string[] = [];
      dev2.on("message", (topic) => overheard.push(topic));
      await dev2.subscribeAsync("mr/dev1/req", { qos: 1 });
      await dev2.publishAsync("mr/dev2/ev/alert/overheat", new Uint8Array([1]) as never, {
        qos: 1,
      });
      await until(
        () => /### user over heat event handler called/.test(lines.join("")),
        () => lines.join("") + brokerLog,
      );
      for (
        const topic of ["mr/dev1/status", "mr/dev1/res", "mr/dev1/ev/alert/overheat", "mr/dev1/req"]
      ) {
        await assert.rejects(
          dev2.publishAsync(topic, "forged", { qos: 1 }),
          /Not authorized/,
          topic,
        );
      }
      await operator.publishAsync(
        "mr/dev1/req",
        encodeRequest({
          action: Action.PUT,
          fmt: FMT_APP_RAW_BINARY,
          mid: 2,
          sender: 0,
          url: "/applet?name=nothing",
          payload: new Uint8Array([0]),
        }) as never,
        { qos: 1 },
      );
      await until(() => answers.length === 2, () => brokerLog);
      assert.deepEqual(overheard, []);
      assert.ok(!statuses.some((s) => s === "forged"));

      // The right password without a client certificate is not enough.
      await assert.rejects(
        connectAsync(url, {
          protocolVersion: 5,
          username: "dev2",
          password: passwords.dev2!,
          reconnectPeriod: 0,
          connectTimeout: 5000,
          ca,
        }),
      );
    } finally {
      for (const client of clients) await client.endAsync(true);
      await service?.shutdown();
      broker.kill("SIGTERM");
      await broker.status;
      await pump;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
