/**
 * The platform on Deno's APIs: the default of `platform()`. The browser build replaces
 * this module with `platform_web.ts` (see `examples/web/build.ts`), which exports the same
 * name, so nothing of Deno's reaches a web page.
 *
 * Typed by shape rather than by importing `Platform`: `platform.ts` imports this module, and
 * its `let _current: Platform = defaultPlatform` checks the shape.
 *
 * @module
 */

function _output(stream: typeof Deno.stdout) {
  return {
    write: function writeAll(bytes: Uint8Array): void {
      let off = 0;
      while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
    },
    isTerminal: (): boolean => stream.isTerminal(),
    size: function consoleSize(): { columns: number; rows: number } | undefined {
      try {
        return Deno.consoleSize();
      } catch {
        return undefined; // not a terminal after all
      }
    },
  };
}

async function _connect(
  options: { hostname: string; port: number; tls?: boolean; caCerts?: string[] },
): Promise<Deno.Conn> {
  const { hostname, port } = options;
  if (!options.tls && !options.caCerts) {
    const tcp = await Deno.connect({ hostname, port });
    tcp.setNoDelay(true);
    return tcp;
  }
  const tls = await Deno.connectTls({
    hostname,
    port,
    ...(options.caCerts ? { caCerts: options.caCerts } : {}),
  });
  try {
    // Now, so a certificate the client does not trust fails here, with the reason.
    await tls.handshake();
  } catch (error) {
    tls.close();
    throw error;
  }
  return tls;
}

/** Deno's standard streams, files, sockets and timers. */
export const defaultPlatform = {
  name: "deno",
  stdin: Deno.stdin,
  stdout: _output(Deno.stdout),
  stderr: _output(Deno.stderr),
  readFile: (path: string | URL): Promise<Uint8Array> => Deno.readFile(path),
  readTextFileSync: (path: string): string => Deno.readTextFileSync(path),
  connect: _connect,
  unrefTimer: (timer: ReturnType<typeof setTimeout>): void => Deno.unrefTimer(Number(timer)),
};
