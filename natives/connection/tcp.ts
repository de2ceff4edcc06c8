/**
 * The TCP client driver: `wasm_open_connection("TCP", {address, port})` connects with
 * `Deno.connect` (which needs `--allow-net` for the address).
 *
 * @module
 */

import type { Channel, ChannelEvents } from "./channel.ts";
import { openStreamChannel } from "./stream.ts";

/**
 * Connects to a TCP server in the background.
 *
 * @param host the server's address
 * @param port the server's port
 * @param events where data and the end go
 * @returns the channel; a failed connect ends it with the reason
 */
export function openTcp(host: string, port: number, events: ChannelEvents): Channel {
  return openStreamChannel(() => Deno.connect({ hostname: host, port }), events);
}
