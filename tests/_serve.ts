// Test helper: a real `deno run mod.ts serve` process on 127.0.0.1, a free port, its output
// collected (only the head and tail of stdout are kept, with a byte count), and HostClients to it.
import { HostClient } from "../sdk/host_client.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

/** An example module's bytes, e.g. `example("limits/storm")`. */
export function example(path: string): Uint8Array {
  return Deno.readFileSync(`${EXAMPLES}${path}.wasm`);
}

/** A running `serve`. */
export interface ServeProcess {
  readonly child: Deno.ChildProcess;
  /** The port it listens on. */
  readonly port: number;
  /** The first 64 KiB of stdout and the last 64 KiB after that. */
  readonly out: string;
  /** stderr. */
  readonly err: string;
  /** Bytes written to stdout and stderr so far. */
  readonly bytes: number;
  /** A host link to it (closed by `stop`). */
  connect(timeout?: number): Promise<HostClient>;
  /** Resolves once stdout shows `pattern` (fails after `within` ms). */
  waitFor(pattern: RegExp, within?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (SIGTERM by default), waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const _KEEP = 64 * 1024;

/**
 * Starts `serve --port 0` with more arguments and waits until it listens.
 *
 * @param args arguments after `serve --port 0`
 * @returns the process
 */
export async function serve(args: string[] = []): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "serve", "--port", "0", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let head = "";
  let tail = "";
  let err = "";
  let bytes = 0;
  const changed: (() => void)[] = [];
  const pump = async (
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    add: (t: string) => void,
  ) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      bytes += chunk.length;
      add(chunk);
      changed.splice(0).forEach((f) => f());
    }
  };
  const pumps = Promise.all([
    pump(child.stdout, (t) => {
      if (head.length < _KEEP) head += t;
      else tail = (tail + t).slice(-_KEEP);
    }),
    pump(child.stderr, (t) => err += t),
  ]);
  const clients: HostClient[] = [];
  const process: ServeProcess = {
    child,
    port: 0,
    get out() {
      return head + tail;
    },
    get err() {
      return err;
    },
    get bytes() {
      return bytes;
    },
    async connect(timeout = 30_000) {
      const client = await HostClient.connect({ hostname: "127.0.0.1", port: this.port, timeout });
      clients.push(client);
      return client;
    },
    async waitFor(pattern: RegExp, within = 30_000): Promise<RegExpMatchArray> {
      const deadline = Date.now() + within;
      while (true) {
        const m = (head + tail).match(pattern);
        if (m) return m;
        if (Date.now() > deadline) {
          throw new Error(`Timed out waiting for ${pattern}: ${head}${tail}${err}`);
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          changed.push(resolve);
          timer = setTimeout(resolve, deadline - Date.now());
        });
        clearTimeout(timer);
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
      for (const client of clients.splice(0)) client.close();
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
      const status = await child.status;
      await pumps;
      return status;
    },
  };
  const port = Number((await process.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  Object.defineProperty(process, "port", { value: port });
  return process;
}
