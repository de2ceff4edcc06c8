// Test helper: Debian's Mosquitto on a free loopback port with a generated config — no anonymous
// clients, a password file made with mosquitto_passwd, an ACL that keeps each device to its own
// topics under the prefix and lets the operator reach all of them — stopped by `stop`.

/** The broker's users. */
export interface BrokerUser {
  readonly username: string;
  readonly password: string;
}

/** A running broker. */
export interface Mosquitto {
  /** `mqtt://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Allowed everywhere under the prefix. */
  readonly operator: BrokerUser;
  /** Each device's user, by device id: its username is the id. */
  readonly devices: Readonly<Record<string, BrokerUser>>;
  /** What the broker printed so far. */
  readonly log: () => string;
  /** Stops the broker and removes its files. */
  stop(): Promise<void>;
}

const _MOSQUITTO = "/usr/sbin/mosquitto";

/**
 * Starts Mosquitto for `deviceIds` under `prefix` and waits until it accepts connections.
 *
 * @param deviceIds the devices to make users for
 * @param prefix the topic prefix (default `mr`)
 * @returns the broker
 */
export async function startMosquitto(deviceIds: string[], prefix = "mr"): Promise<Mosquitto> {
  const dir = await Deno.makeTempDir({ prefix: "mosquitto_" });
  // When run as root, Mosquitto drops to its own user, which must still read these files.
  await Deno.chmod(dir, 0o755);
  const operator = { username: "operator", password: `op-${crypto.randomUUID()}` };
  const devices: Record<string, BrokerUser> = {};
  for (const id of deviceIds) {
    devices[id] = { username: id, password: `dev-${crypto.randomUUID()}` };
  }
  const passwd = `${dir}/passwd`;
  await Deno.writeTextFile(passwd, "");
  for (const user of [operator, ...Object.values(devices)]) {
    const { success, stderr } = await new Deno.Command("mosquitto_passwd", {
      args: ["-b", passwd, user.username, user.password],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`mosquitto_passwd failed: ${new TextDecoder().decode(stderr)}`);
  }
  const acl = [`user ${operator.username}`, `topic readwrite ${prefix}/#`, ""];
  for (const id of deviceIds) {
    acl.push(
      `user ${id}`,
      `topic read ${prefix}/${id}/req`,
      `topic write ${prefix}/${id}/res`,
      `topic write ${prefix}/${id}/status`,
      "",
    );
  }
  await Deno.writeTextFile(`${dir}/acl`, acl.join("\n"));
  const port = _freePort();
  await Deno.writeTextFile(
    `${dir}/mosquitto.conf`,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${passwd}`,
      `acl_file ${dir}/acl`,
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "",
    ].join("\n"),
  );
  for (const file of ["passwd", "acl", "mosquitto.conf"]) await Deno.chmod(`${dir}/${file}`, 0o644);
  const child = new Deno.Command(_MOSQUITTO, {
    args: ["-c", `${dir}/mosquitto.conf`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const pumps = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) log += chunk;
  }));
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Exited already.
    }
    await child.status;
    await pumps;
    await Deno.remove(dir, { recursive: true });
  };
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Mosquitto did not start on port ${port}: ${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, operator, devices, log: () => log, stop };
}

function _freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
