/**
 * The UDP driver: `wasm_open_connection("UDP", {"bind port"})` binds a socket,
 * `wasm_config_connection(handle, {address, port})` sets where sends go. Each datagram from
 * an allowed peer is one data event; datagrams from anyone else are dropped.
 *
 * Runs on `node:dgram` (Deno's own UDP sockets need `--unstable-net`), imported when the
 * first UDP connection opens.
 *
 * @module
 */

import { type Channel, type ChannelEvents, MAX_UNSENT } from "./channel.ts";

/**
 * The part of `node:dgram`'s socket this driver uses, declared here so that type-checking
 * the plugin does not pull Node's global types into the programs that load it.
 */
interface _Socket {
  bind(port: number, address: string, bound: () => void): void;
  send(bytes: Uint8Array, port: number, host: string, sent: () => void): void;
  close(): void;
  on(event: "message", listener: (message: Uint8Array, from: _Peer) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  off(event: "error", listener: (error: Error) => void): void;
}

interface _Peer {
  address: string;
  port: number;
}

interface _Dgram {
  createSocket(type: "udp4" | "udp6"): _Socket;
}

/** Where the socket binds and whom it hears. */
export interface UdpOptions {
  /** The local port (0: any). */
  readonly port: number;
  /** The local address. */
  readonly address: string;
  /**
   * Whether a datagram from this peer reaches the app.
   *
   * @param host the sender's address
   * @param port the sender's port
   */
  accepts(host: string, port: number): boolean;
}

/**
 * Binds a UDP socket in the background.
 *
 * @param options port, address and the filter on senders
 * @param events where datagrams go; a failed bind ends the channel with the reason
 * @returns the channel; sends fail until a destination is set
 */
export function openUdp(options: UdpOptions, events: ChannelEvents): Channel {
  let closed = false;
  let socket: _Socket | undefined;
  let destination: { host: string; port: number } | undefined;
  let unsent = 0;

  const dgram: Promise<_Dgram> = import("node:dgram");
  const bound = dgram.then(({ createSocket }) =>
    new Promise<_Socket>((resolve, reject) => {
      const s = createSocket(options.address.includes(":") ? "udp6" : "udp4");
      s.once("error", reject);
      s.bind(options.port, options.address, () => {
        s.off("error", reject);
        resolve(s);
      });
    })
  );
  bound.then(
    (s) => {
      if (closed) {
        s.close();
        return;
      }
      socket = s;
      s.on("message", (message, from) => {
        if (!closed && options.accepts(from.address, from.port)) {
          events.data(new Uint8Array(message));
        }
      });
      s.on("error", (e) => end(`socket failed: ${e.message}`));
    },
    (e: Error) => end(`cannot bind port ${options.port}: ${e.message}`),
  );

  function end(reason: string | undefined): void {
    if (closed) return;
    closed = true;
    socket?.close();
    events.ended(reason);
  }

  return {
    send(bytes: Uint8Array): number {
      if (closed || !destination || unsent + bytes.length > MAX_UNSENT) return -1;
      const copy = bytes.slice();
      const to = destination;
      unsent += copy.length;
      bound.then(
        (s) => {
          if (closed) {
            unsent -= copy.length;
            return;
          }
          try {
            s.send(copy, to.port, to.host, () => unsent -= copy.length);
          } catch (e) {
            unsent -= copy.length;
            end(`sending failed: ${(e as Error).message}`);
          }
        },
        () => unsent -= copy.length,
      );
      return copy.length;
    },
    destine(host: string, port: number): void {
      destination = { host, port };
    },
    close(): void {
      if (closed) return;
      closed = true;
      socket?.close();
    },
  };
}
