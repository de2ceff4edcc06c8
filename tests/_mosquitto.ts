// Test helper: Debian's Mosquitto on a free loopback port with a generated config — no anonymous
// clients, a password file made with mosquitto_passwd, an ACL that keeps each device to its own
// topics under the prefix (and lets it read every device's events) and lets the operator reach
// all of them, persistence on so `restart` keeps sessions and queued messages — stopped by
// `stop`. With a certificate it also listens with TLS, optionally asking for client
// certificates.

/** The broker's users. */
export interface BrokerUser {
  readonly username: string;
  readonly password: string;
}

/** PEM files for a TLS listener. */
export interface BrokerTls {
  /** The server's certificate and key. */
  certFile: string;
  keyFile: string;
  /** CA certificates client certificates must chain to; with it, a client must present one. */
  clientCaFile?: string;
}

/** Options for {@linkcode startMosquitto}. */
export interface MosquittoOptions {
  /** The topic prefix (default `mr`). */
  prefix?: string;
  /** Also listen with TLS on another free port. */
  tls?: BrokerTls;
  /**
   * Send each packet at once (`set_tcp_nodelay true`, default true): without it a request's
   * round trip waits some 40 ms on Nagle's algorithm and delayed ACKs (fleet_bench.ts), as
   * with a broker configured without it.
   */
  noDelay?: boolean;
}

/** A running broker. */
export interface Mosquitto {
  /** `mqtt://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** `mqtts://127.0.0.1:PORT` when started with `tls`. */
  readonly tlsUrl: string | undefined;
  /** Allowed everywhere under the prefix. */
  readonly operator: BrokerUser;
  /** Each device's user, by device id: its username is the id. */
  readonly devices: Readonly<Record<string, BrokerUser>>;
  /** What the broker printed so far (over restarts). */
  readonly log: () => string;
  /**
   * Stops the broker (SIGTERM: it saves its sessions and queued messages) and starts it again
   * on the same ports with the same files.
   *
   * @param whileDown runs while the broker is down
   */
  restart(whileDown?: () => unknown): Promise<void>;
  /** Stops the broker and removes its files. */
  stop(): Promise<void>;
}

const _MOSQUITTO = "/usr/sbin/mosquitto";

/**
 * Starts Mosquitto for `deviceIds` and waits until it accepts connections.
 *
 * @param deviceIds the devices to make users for
 * @param options the topic prefix (a string, for short), TLS
 * @returns the broker
 */
export async function startMosquitto(
  deviceIds: string[],
  options: string | MosquittoOptions = {},
): Promise<Mosquitto> {
  const { prefix = "mr", tls, noDelay = true } = typeof options === "string"
    ? { prefix: options }
    : options;
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
      `topic write ${prefix}/${id}/ev/#`,
      `topic read ${prefix}/+/ev/#`,
      "",
    );
  }
  await Deno.writeTextFile(`${dir}/acl`, acl.join("\n"));
  const port = _freePort();
  const tlsPort = tls ? _freePort() : undefined;
  const files = ["passwd", "acl", "mosquitto.conf"];
  const tlsLines: string[] = [];
  if (tls) {
    // Copies in the broker's directory: the originals may sit where its user cannot read.
    const copies = { cert: "tls_cert.pem", key: "tls_key.pem", ca: "tls_client_ca.pem" };
    await Deno.copyFile(tls.certFile, `${dir}/${copies.cert}`);
    await Deno.copyFile(tls.keyFile, `${dir}/${copies.key}`);
    files.push(copies.cert, copies.key);
    tlsLines.push(
      `listener ${tlsPort} 127.0.0.1`,
      `certfile ${dir}/${copies.cert}`,
      `keyfile ${dir}/${copies.key}`,
    );
    if (tls.clientCaFile) {
      await Deno.copyFile(tls.clientCaFile, `${dir}/${copies.ca}`);
      files.push(copies.ca);
      tlsLines.push(`cafile ${dir}/${copies.ca}`, "require_certificate true");
    }
  }
  await Deno.writeTextFile(
    `${dir}/mosquitto.conf`,
    [
      "allow_anonymous false",
      `password_file ${passwd}`,
      `acl_file ${dir}/acl`,
      "persistence true",
      `persistence_location ${dir}/data/`,
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      ...(noDelay ? ["set_tcp_nodelay true"] : []),
      `listener ${port} 127.0.0.1`,
      ...tlsLines,
      "",
    ].join("\n"),
  );
  for (const file of files) await Deno.chmod(`${dir}/${file}`, 0o644);
  // Its database is written by the broker's user, whoever runs the test.
  await Deno.mkdir(`${dir}/data`);
  await Deno.chmod(`${dir}/data`, 0o777);

  let log = "";
  let child: Deno.ChildProcess;
  let pumps: Promise<unknown>;
  const spawn = () => {
    child = new Deno.Command(_MOSQUITTO, {
      args: ["-c", `${dir}/mosquitto.conf`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    pumps = Promise.all([child.stdout, child.stderr].map(async (stream) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) log += chunk;
    }));
  };
  const kill = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Exited already.
    }
    await child.status;
    await pumps;
  };
  const stop = async () => {
    await kill();
    await Deno.remove(dir, { recursive: true });
  };
  const ready = async () => {
    const deadline = Date.now() + 10_000;
    for (const p of tlsPort === undefined ? [port] : [port, tlsPort]) {
      while (true) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: p })).close();
          break;
        } catch {
          if (Date.now() > deadline) {
            await stop();
            throw new Error(`Mosquitto did not start on port ${p}: ${log}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    }
  };
  spawn();
  await ready();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
    operator,
    devices,
    log: () => log,
    async restart(whileDown) {
      await kill();
      await whileDown?.();
      spawn();
      await ready();
    },
    stop,
  };
}

function _freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
