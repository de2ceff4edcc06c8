// Bench helper: a `serve` process on a free loopback port, and a client that connects once it
// listens. App output goes to /dev/null: the apps print a line per request, and draining that
// through a pipe would load both processes.
import { HostClient, type HostConnectOptions } from "../sdk/host_client.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

/** A running `serve`. */
export interface BenchServe {
  readonly child: Deno.ChildProcess;
  readonly port: number;
}

/**
 * Starts `deno run --allow-all mod.ts serve --port P …args` on a free port.
 *
 * @param args more `serve` arguments
 * @param stderr `"piped"` to read the server's log (default discarded)
 * @returns the process and its port
 */
export function startServe(args: string[], stderr: "piped" | "null" = "null"): BenchServe {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "serve", "--port", String(port), ...args],
    stdout: "null",
    stderr,
  }).spawn();
  return { child, port };
}

/**
 * Connects to a server that may still be starting: tries every 50 ms for 10 s.
 *
 * @param port the server's port
 * @param options more client options (token, timeout)
 * @returns the connected client
 */
export async function connectWhenUp(
  port: number,
  options: Omit<HostConnectOptions, "port"> = {},
): Promise<HostClient> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      return await HostClient.connect({ ...options, port });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`serve did not listen on port ${port} within 10 s`);
}
